-- Spec helper: the vbr command in-process (cli.main) with captured streams.
--
--   local run = require "spec.support.cli_run"
--   local code, out, err = run({ "sessions", "list" }, { VBR_URL = ..., ... })
--   local stream = run.sink()      -- a stream that keeps what is written: stream:text()
--   local stdin = run.source(text) -- a stdin reading from a string
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

-- A stdin reading from a string.
local function source(text)
  local pos = 1
  return {
    read = function(_, format)
      if pos > #text then return nil end
      if format == "*a" or format == "a" then
        local rest = text:sub(pos)
        pos = #text + 1
        return rest
      end
      local line_end = text:find("\n", pos, true) or (#text + 1)
      local line = text:sub(pos, line_end - 1)
      pos = line_end + 1
      return line
    end,
  }
end

-- Runs `vbr` with argv, the environment `vars` and `stdin` (text); returns
-- code, stdout, stderr.
local function run(argv, vars, stdin)
  local stdout, stderr = sink(), sink()
  local code = cli.main(argv, {
    stdout = stdout, stderr = stderr,
    stdin = source(stdin or ""),
    getenv = function(name) return (vars or {})[name] end,
    isatty = function() return false end,
  })
  return code, stdout:text(), stderr:text()
end

return setmetatable({ sink = sink, source = source },
  { __call = function(_, ...) return run(...) end })
