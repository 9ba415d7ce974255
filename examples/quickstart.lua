-- Quickstart: log in, look at the configuration backup, give it a schedule
-- from a template, run a backup, follow it, and read its log.
--
--   export VBR_URL=https://vbr.example.com:9419 VBR_USERNAME=backupadmin
--   export VBR_PASSWORD_FILE=~/.vbr-password VBR_CA_FILE=vbr-ca.pem
--   lua5.4 examples/quickstart.lua [TEMPLATE]     (default: weeknights)
--
-- This changes the schedule of the server it talks to: try it on a test
-- server or the simulator first (`make demo` does that).
local vbr_env = require "vbr.env"
local vbr = require "vbr"

local schedule = vbr.schedule
local template_name = arg and arg[1] or "weeknights"

local function say(format, ...)
  io.write(string.format(format, ...), "\n")
  io.stdout:flush()
end

-- Every step either works or ends the script with the error and its exit code.
local function check(step, value, err)
  if value == nil then
    io.stderr:write(string.format("quickstart: %s failed: %s\n", step, tostring(err)))
    os.exit(vbr_env.exit_code(err))
  end
  return value
end

local function in_words(api_schedule)
  local parsed, why = schedule.from_api(api_schedule)
  return parsed and schedule.describe(parsed) or ("unreadable (" .. tostring(why) .. ")")
end

-- "2026-01-21T10:00:35.033+01:00" -> "2026-01-21 10:00:35"
local function short(time)
  if type(time) ~= "string" then return "never" end
  local date, clock = time:match("^(%d+%-%d+%-%d+)T(%d+:%d+:%d+)")
  return date and (date .. " " .. clock) or time
end

local function whole(number)            -- cjson gives floats on Lua 5.4: 10.0
  return string.format("%d", number)
end

-- The template first: a typo needs no server to be found.
local wanted, template_error = schedule.template(template_name)
if not wanted then
  io.stderr:write("quickstart: ", template_error, "\n")
  os.exit(vbr_env.EXIT.invalid)
end

-- 1. Log in ------------------------------------------------------------------------
say("1. Logging in")
local client = check("logging in", vbr_env.connect())
local info = check("reading the server info", client:server_info())
say("   %s, VBR build %s, API revision %s", tostring(info.name), tostring(info.buildVersion),
  client:revision().name)

-- 2. The settings as they are ----------------------------------------------------------
local cb = client.configbackup
local settings = check("reading the settings", cb:get())
local repositories = client:repositories() or {}
local repository_name = settings.backupRepositoryId
for _, repository in ipairs(repositories) do
  if repository.id == settings.backupRepositoryId then repository_name = repository.name end
end
say("")
say("2. The configuration backup now")
say("   job:            %s", settings.isEnabled and "enabled" or "disabled")
say("   schedule:       %s", in_words(settings.schedule))
say("   repository:     %s", tostring(repository_name))
say("   restore points: %s", whole(settings.restorePointsToKeep))
say("   encryption:     %s", settings.encryption.isEnabled and "on" or "off")
local last = settings.lastSuccessfulBackup or {}
say("   last success:   %s", short(last.lastSuccessfulTime))

-- 3. A schedule from a template ----------------------------------------------------------
say("")
say("3. Applying the schedule template '%s': %s", template_name, schedule.describe(wanted))
local saved = check("saving the schedule", cb:set_schedule(wanted))
say("   the server now has: %s", in_words(saved.schedule))

-- 4. Run a backup now ----------------------------------------------------------------------
say("")
say("4. Starting a configuration backup")
local session, err = cb:start()
if not session and err.kind == "conflict" then
  session = err.session                    -- one is running already: follow that one
  say("   one was already running; following it")
end
session = check("starting the backup", session, err)
say("   session %s", session.id)

-- 5. Follow it -------------------------------------------------------------------------------
say("")
say("5. Following the session")
local done
done, err = session:wait {
  timeout = 600,
  on_progress = function(s)
    say("   %-8s %3d%%", tostring(s.state), math.floor(tonumber(s.progressPercent) or 0))
  end,
}

-- 6. The result and the log -------------------------------------------------------------------
local finished = done or (err and err.session) or session
say("")
say("6. Result: %s%s", tostring(finished:outcome() or finished.state),
  finished.endTime and (", ended " .. short(finished.endTime)) or "")
local records = finished:logs() or {}
-- Oldest first, to read top to bottom.
table.sort(records, function(a, b) return tostring(a.startTime) < tostring(b.startTime) end)
say("   session log:")
for _, record in ipairs(records) do
  say("   %s  %-9s  %s", short(record.startTime):sub(12), tostring(record.status),
    tostring(record.title))
end

client:logout()
client:close()
if not done then
  io.stderr:write("quickstart: the backup did not succeed: ", tostring(err), "\n")
  os.exit(vbr_env.exit_code(err))
end
say("")
say("Done. Next: vbr configbackup show, or examples/audit.lua for a health check.")
