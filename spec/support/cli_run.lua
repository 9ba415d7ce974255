-- Spec helper: the vbr command in-process (cli.main) with captured streams.
--
--   local run = require "spec.support.cli_run"
--   local code, out, err = run({ "sessions", "list" }, { VBR_URL = ..., ... })
--   local stream = run.sink()      -- a stream that keeps what is written: stream:text()
local cli = require "vbr.cli"

-- A stream that keeps what is written.
local function sink()
  local parts = {}
  return {
    write = function(self, ...)
      for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
      return self
    end,
    flush = function() end,
    text = function() return table.concat(parts) end,
  }
end

-- Runs `vbr` with argv and the environment `vars`; returns code, stdout, stderr.
local function run(argv, vars)
  local stdout, stderr = sink(), sink()
  local code = cli.main(argv, {
    stdout = stdout, stderr = stderr,
    stdin = { read = function() return nil end },
    getenv = function(name) return (vars or {})[name] end,
    isatty = function() return false end,
  })
  return code, stdout:text(), stderr:text()
end

return setmetatable({ sink = sink }, { __call = function(_, ...) return run(...) end })
