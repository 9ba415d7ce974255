-- Sets the schedule of the configuration backup from a phrase or a template.
--
--   lua5.4 examples/set_schedule.lua "weekdays at 22:00"
--   lua5.4 examples/set_schedule.lua "monthly on the last friday at 23:00"
--   lua5.4 examples/set_schedule.lua nightly          (a template; see below)
--   lua5.4 examples/set_schedule.lua                  (lists the templates)
--
-- Connection from VBR_URL, VBR_USERNAME, VBR_PASSWORD_FILE (or VBR_PASSWORD),
-- VBR_CA_FILE, VBR_API_VERSION (see vbr.env). Exit codes as the vbr command:
-- 0 saved, 1 refused by the server, 2 usage, 3 login refused, 4 network,
-- 5 schedule refused locally.
local vbr_env = require "vbr.env"
local schedule = require "vbr.schedule"

local text = arg and arg[1]
if not text then
  io.stderr:write("usage: set_schedule.lua SCHEDULE\n\nTemplates:\n")
  for _, template in ipairs(schedule.templates()) do
    io.stderr:write(string.format("  %-12s %s\n", template.name, template.description))
  end
  io.stderr:write('\nOr a phrase: "daily at 22:00", "mon,wed,fri 06:30", "off", ...\n')
  os.exit(vbr_env.EXIT.usage)
end

-- A template name, else a phrase: checked here, before logging in.
local wanted, why = schedule.template(text)
if not wanted then wanted, why = schedule.parse(text) end
if not wanted then
  io.stderr:write("set_schedule: ", why, "\n")
  os.exit(vbr_env.EXIT.invalid)
end

local function fail(step, err)
  io.stderr:write("set_schedule: ", step, ": ", tostring(err), "\n")
  os.exit(vbr_env.exit_code(err))
end

local client, err = vbr_env.connect()
if not client then fail("logging in", err) end

local function in_words(api_schedule)
  local parsed = schedule.from_api(api_schedule)
  return parsed and schedule.describe(parsed) or "(unreadable)"
end

local before
before, err = client.configbackup:get()
if not before then fail("reading the settings", err) end

-- set_schedule reads the settings again, renders the schedule in the
-- server's own style over them, checks the whole and PUTs it once.
local after
after, err = client.configbackup:set_schedule(wanted)
if not after then fail("saving the schedule", err) end

print("before: " .. in_words(before.schedule))
print("now:    " .. in_words(after.schedule))
client:logout()
client:close()
