--- A Lua prompt with a connected client (`vbr repl`).
--
--     vbr> cb:get().restorePointsToKeep
--     10
--     vbr> s = cb:start()
--     vbr> s:wait { on_progress = function(s) print(s.state, s.progressPercent) end }
--
-- Each line is tried first as an expression (`return ` before it), then as a
-- statement; an unfinished statement continues on the next line. Results
-- are printed with `vbr.pretty`; errors are printed and the prompt goes on.
-- Plain `io.read`: no readline needed (wrap it in `rlwrap` for history).
-- @module vbr.repl

local pretty = require "vbr.pretty"
local json = require "vbr.json"

local type, tostring, select, setmetatable, xpcall, load =
      type, tostring, select, setmetatable, xpcall, load
local concat = table.concat

local repl = {}

local HELP = [[
In scope:
  client      the connected client
  cb          client.configbackup
  vbr         the vbr module (vbr.schedule, vbr.json, vbr.pretty)
Try:
  cb:get()                               the settings
  cb:edit { restorePointsToKeep = 14 }   change some settings (GET, merge, PUT)
  cb:set_schedule "weekdays at 22:00"    or a vbr.schedule table
  cb:set_retention(14)   cb:set_repository "NAS"   cb:set_encryption "hint" / false
  cb:enable()   cb:disable()   cb:set_notifications { SNMPEnabled = false }
  s = cb:start()                         start a backup; then s:wait(), s:logs()
  client:sessions { type = "ConfigurationBackup", limit = 5 }
  client:repositories()   client:encryption_passwords()   client:server_info()
  vbr.schedule.describe(vbr.schedule.parse "mon-fri at 22:00")
  vbr.schedule.templates()
Results print as trees; a failure prints as nil and the error.
exit() or end of input (Ctrl-D) leaves.]]

-- Compiles a chunk: an expression first, so that `cb:get()` prints its value.
local function compile(source, env)
  local chunk = load("return " .. source, "=repl", "t", env)
  if chunk then return chunk end
  return load(source, "=repl", "t", env)
end

-- Lua 5.1's load takes no environment.
if not pcall(load, "return 1", "=probe", "t", {}) or _VERSION == "Lua 5.1" then
  local loadstring, setfenv = loadstring, setfenv        -- luacheck: globals loadstring setfenv
  compile = function(source, env)
    local chunk = loadstring("return " .. source, "=repl")
    local why
    if not chunk then chunk, why = loadstring(source, "=repl") end
    if not chunk then return nil, why end
    return setfenv(chunk, env)
  end
end

-- Every value, nils included (table.pack is not in Lua 5.1).
local function pack(...)
  return { n = select("#", ...), ... }
end

local function show(value)
  if type(value) == "table" or value == json.null then return pretty.format(value) end
  return tostring(value)
end

--- Runs the prompt until end of input or `exit()`.
-- @tparam table options `client`, and optionally `vbr` (default: `require
--   "vbr"`), `stdin`, `stdout`, `stderr` (default: the process's),
--   `interactive` (print the banner and prompts; default true)
-- @treturn integer 0
function repl.run(options)
  local stdin = options.stdin or io.stdin
  local stdout = options.stdout or io.stdout
  local stderr = options.stderr or io.stderr
  local interactive = options.interactive ~= false
  local client = options.client
  local vbr = options.vbr or require "vbr"
  local leaving = false

  local function out(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    stdout:write(concat(parts, "\t"), "\n")
  end
  local scope = setmetatable({
    client = client,
    cb = client and client.configbackup,
    vbr = vbr,
    print = out,
    help = function() stdout:write(HELP, "\n") end,
    exit = function() leaving = true end,
  }, { __index = _G })
  scope.quit = scope.exit

  if interactive then
    stdout:write("vbr ", tostring(vbr._VERSION), ": ", tostring(client), "\n",
      "help() lists what is here; exit() or Ctrl-D leaves.\n")
  end
  local pending = nil                      -- an unfinished statement
  while not leaving do
    if interactive then
      stdout:write(pending and ">> " or "vbr> ")
      if stdout.flush then stdout:flush() end
    end
    local line = stdin:read("*l")
    if line == nil then
      if interactive then stdout:write("\n") end
      break
    end
    local source = pending and (pending .. "\n" .. line) or line
    if source:match("^%s*$") then
      pending = nil
    elseif source:match("^%s*exit%s*$") or source:match("^%s*quit%s*$") then
      break
    else
      local chunk, why = compile(source, scope)
      if not chunk and tostring(why):find("<eof>", 1, true) then
        pending = source                   -- wait for the rest of the statement
      else
        pending = nil
        if not chunk then
          stderr:write("syntax error: ", (tostring(why):gsub("^repl:%d+: ", "")), "\n")
        else
          local results = pack(xpcall(chunk, tostring))
          if results[1] then
            for i = 2, results.n do out(show(results[i])) end
          else
            stderr:write("error: ", (tostring(results[2]):gsub("^repl:%d+: ", "")), "\n")
          end
        end
      end
    end
  end
  return 0
end

return repl
