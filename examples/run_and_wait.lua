-- Starts a configuration backup and waits for it to end.
--
--   lua5.4 examples/run_and_wait.lua [TIMEOUT_SECONDS]     (default 3600)
--
-- Prints the session's progress, then its result; on failure the session
-- log too. Connection from the VBR_* variables (see vbr.env). Exit codes:
-- 0 success (or warning), 1 refused or the session failed, 3 login refused,
-- 4 network or timeout.
local vbr_env = require "vbr.env"

local timeout = tonumber(arg and arg[1] or "3600")
if not timeout or timeout <= 0 then
  io.stderr:write("usage: run_and_wait.lua [TIMEOUT_SECONDS]\n")
  os.exit(vbr_env.EXIT.usage)
end

local function fail(step, err)
  io.stderr:write("run_and_wait: ", step, ": ", tostring(err), "\n")
  os.exit(vbr_env.exit_code(err))
end

local client, err = vbr_env.connect()
if not client then fail("logging in", err) end

local session
session, err = client.configbackup:start()
if not session then fail("starting the backup", err) end
print("started session " .. session.id)

local done
done, err = session:wait {
  timeout = timeout,
  on_progress = function(s)
    local percent = math.floor(tonumber(s.progressPercent) or 0)
    print(string.format("%-8s %3d%%", tostring(s.state), percent))
  end,
}
if done then
  print("result: " .. tostring(done:outcome()))
  client:logout()
  client:close()
  os.exit(vbr_env.EXIT.ok)
end

-- Failed or timed out: say why, and show what the server logged.
io.stderr:write("run_and_wait: ", tostring(err), "\n")
if err.kind == "failed" then
  local records = err.session:logs() or {}
  table.sort(records, function(a, b) return tostring(a.startTime) < tostring(b.startTime) end)
  print("session log:")
  for _, record in ipairs(records) do
    print(string.format("  %-9s %s", tostring(record.status), tostring(record.title)))
  end
end
client:logout()
client:close()
os.exit(vbr_env.exit_code(err))
