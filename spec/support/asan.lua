-- Loaded first by every Lua interpreter of a `make asan` run (LUA_INIT).
--
-- lua5.4 is not instrumented, so libasan comes in with LD_PRELOAD, and
-- children would inherit it: curl then hangs, nginx and openssl would run
-- under a runtime they were not built for. So the commands a spec starts run
-- without it, except those that start a Lua interpreter: they load the
-- sanitized core and need it, and they load this file too, so their own
-- children go without it again.
-- luacheck: ignore 122 (io.popen and os.execute are wrapped on purpose)
local preload = os.getenv("LD_PRELOAD")
if not (preload and preload:find("asan", 1, true)) then return end

local function clean(command)
  if type(command) ~= "string" then return command end
  if command:find("lua5%.%d") or command:find("luajit") then return command end
  return "unset LD_PRELOAD; " .. command
end

local popen, execute = io.popen, os.execute
io.popen = function(command, ...) return popen(clean(command), ...) end
os.execute = function(command, ...)
  if command == nil then return execute() end
  return execute(clean(command), ...)
end
