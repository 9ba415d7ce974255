-- Change only what was asked: a one-field edit changes exactly that field
-- on the server, whatever it held (every schedule kind, notifications,
-- encryption, fields vbr does not know), for every revision the simulator
-- serves and with "auto". The server's stored state (neutral: days lower
-- case, times in seconds) is compared before and after. A client older
-- than the server is refused before it writes what it cannot carry.
local json = require "vbr.json"
local cli = require "vbr.cli"
local sim = require "spec.support.sim"
local connect = require "spec.support.connect"
local revision_lib = require "vbr.revision"
local vbr_schedule = require "vbr.schedule"

local server
local PUT = "PUT /api/v1/configBackup"
local FUTURE = { futureSettings = { tier = "gold", retries = 3 } }

-- The paths where `a` and `b` differ ("schedule.monthly.dayOfMonth").
local function differences(a, b, path, out)
  out = out or {}
  if type(a) == "table" and type(b) == "table" then
    local keys = {}
    for k in pairs(a) do keys[k] = true end
    for k in pairs(b) do keys[k] = true end
    for k in pairs(keys) do
      local inner = path and (path .. "." .. tostring(k)) or tostring(k)
      differences(a[k], b[k], inner, out)
    end
  elseif a ~= b then
    out[#out + 1] = path or "(whole)"
  end
  table.sort(out)
  return out
end

local function stored()
  return server:state().config_backup
end

local function count(key)
  return server:counters().requests[key] or 0
end

-- The server's settings as it sends them, before any change (reset).
local function baseline(client)
  return assert(client.core:request("GET", "/api/v1/configBackup")).body
end

-- Puts `mutate(settings)` of the `start` settings (baseline's) on the server
-- as raw JSON, past vbr's model: what a server of that revision holds (days
-- in its casing, from its own GET).
local function hold(client, mutate, start)
  local settings = assert(json.decode(start or baseline(client)))
  for name in pairs(FUTURE) do settings[name] = nil end
  mutate(settings, settings.schedule.daily.days)
  assert(client.core:request("PUT", "/api/v1/configBackup",
    { body = assert(json.encode(settings)) }))
end

-- Starting states: every schedule kind, and notifications and encryption
-- set otherwise than by default. `days` are the server's seven, in its casing.
local STATES = {
  { "daily, every day", function() end },
  { "daily, weekdays", function(s, days)
      s.schedule.daily.dailyKind = "WeekDays"
      s.schedule.daily.days = json.array { days[1], days[2], days[3], days[4], days[5] }
    end },
  { "daily, selected days", function(s, days)
      s.schedule.daily.dailyKind = "SelectedDays"
      s.schedule.daily.days = json.array { days[1], days[3], days[5] }
      s.schedule.daily.localTime = "06:30:00"
    end },
  { "monthly, the last Friday", function(s, days)
      s.schedule.daily.isEnabled = false
      local monthly = s.schedule.monthly
      monthly.isEnabled, monthly.dayNumberInMonth, monthly.dayOfWeek = true, "Last", days[5]
      monthly.localTime = "23:00:00"
    end },
  { "monthly, day 15 of four months", function(s)
      s.schedule.daily.isEnabled = false
      local monthly = s.schedule.monthly
      monthly.isEnabled, monthly.dayNumberInMonth, monthly.dayOfMonth = true, "OnDay", 15
      monthly.months = json.array { "January", "April", "July", "October" }
    end },
  { "monthly, the last day of the month", function(s)
      s.schedule.daily.isEnabled = false
      local monthly = s.schedule.monthly
      monthly.isEnabled, monthly.dayNumberInMonth, monthly.dayOfMonth = true, "OnDay", 31
      monthly.isLastDayOfMonth = true
    end, needs_last_day = true },
  { "no schedule", function(s) s.schedule.isEnabled = false end },
  { "custom email to two addresses", function(s)
      local smtp = s.notifications.SMTPSettings
      smtp.isEnabled, smtp.settingsType = true, "Custom"
      smtp.recipients = json.array { "ops@example.com", "it@example.com" }
      smtp.notifyOnSuccess = false
    end },
  { "encryption off", function(s) s.encryption.isEnabled = false end },
}

-- One-field edits: the call, and the one path of the stored state it changes.
local EDITS = {
  { "set_retention", function(cb) return cb:set_retention(28) end, "restorePointsToKeep" },
  { "disable", function(cb) return cb:disable() end, "isEnabled" },
  { "the email subject", function(cb)
      return cb:set_notifications { SMTPSettings = { subject = "%JobResult%: config backup" } }
    end, "notifications.SMTPSettings.subject" },
  { "the schedule's time", function(cb, settings)
      local half = settings.schedule.monthly.isEnabled and "monthly" or "daily"
      return cb:edit { schedule = { [half] = { localTime = "05:45" } } }
    end, function(settings)
      return "schedule." .. (settings.schedule.monthly.isEnabled and "monthly" or "daily")
        .. ".localTime"
    end },
  -- The same schedule at another time, through vbr.schedule (render over
  -- the server's own table).
  { "set_schedule, another time", function(cb, settings)
      local wanted = assert(vbr_schedule.from_api(settings.schedule))
      if wanted.kind ~= "off" then wanted.time = "05:45" end
      return cb:set_schedule(wanted)
    end, function(settings)
      if not settings.schedule.isEnabled then return nil end
      return "schedule." .. (settings.schedule.monthly.isEnabled and "monthly" or "daily")
        .. ".localTime"
    end },
}

lazy_setup(function()
  server = sim.start { session_duration = 0.2, extra_fields = FUTURE }
end)

lazy_teardown(function()
  if server then server:stop() end
end)

before_each(function()
  server:reset()
end)

local REVISIONS = revision_lib.known()
REVISIONS[#REVISIONS + 1] = "auto"

for _, revision in ipairs(REVISIONS) do
  describe("a one-field edit in " .. revision, function()
    for _, state in ipairs(STATES) do
      local facts = revision ~= "auto" and assert(revision_lib.get(revision))
      if not (state.needs_last_day and facts and not facts.has_last_day_of_month) then
        it("over " .. state[1] .. " changes exactly that field", function()
          server:config { max_revision = revision == "auto" and "" or revision }
          local client = connect(server, revision)
          local cb = client.configbackup
          local start = baseline(client)
          for _, edit in ipairs(EDITS) do
            hold(client, state[2], start)
            local before = stored()
            local settings = assert(cb:get())
            local saved, err = edit[2](cb, settings)
            assert(saved, edit[1] .. ": " .. tostring(err))
            local expected = edit[3]
            if type(expected) == "function" then expected = expected(settings) end
            assert.same({ expected }, differences(before, stored()), edit[1])
            -- what vbr does not know went back as it came
            local sent = assert(json.decode(server:state().last_put_body))
            assert.same(FUTURE.futureSettings, sent.futureSettings)
          end
          client:close()
        end)
      end
    end
  end)
end

describe("encryption set to another password", function()
  it("changes the password id only", function()
    local client = connect(server)
    local before = stored()
    assert(client.configbackup:set_encryption("Created by TECH\\Administrator"))
    assert.same({ "encryption.passwordId" }, differences(before, stored()))
    client:close()
  end)
end)

describe("a client older than the server", function()
  -- A 13.0.1 server holding the last day of the month; its stored state.
  local function server_with_last_day()
    server:config { max_revision = "1.3-rev1" }
    local newest = connect(server, "1.3-rev1")
    hold(newest, STATES[6][2])
    newest:close()
    return stored()
  end

  it("is refused before it writes over the last day of the month, and says why", function()
    local before = server_with_last_day()
    local client = connect(server, "1.1-rev0")
    local cb = client.configbackup
    local puts = count(PUT)
    -- 1.1-rev0 cannot see the flag: it reads day 31
    assert.equal(31, assert(cb:get()).schedule.monthly.dayOfMonth)
    local older = assert(cb:older_revision())
    assert.same({ "schedule.monthly.isLastDayOfMonth" }, older.lacks)
    for _, call in ipairs {
      function() return cb:set_retention(28) end,
      function() return cb:edit { restorePointsToKeep = 28 } end,
      function() return cb:put(assert(cb:get())) end,
      function() return cb:set_schedule("weekdays at 22:00") end,
    } do
      local ok, err = call()
      assert.is_nil(ok)
      assert.equal("conflict", err.kind)
      assert.matches("isLastDayOfMonth", err.message, 1, true)
    end
    assert.equal(puts, count(PUT))
    assert.same({}, differences(before, stored()))
    client:close()
  end)

  it("in the command line: show says so, set asks for --force", function()
    local before = server_with_last_day()
    local function vbr(argv)
      local out, err = {}, {}
      local function sink(parts)
        return { write = function(self, ...)
          for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
          return self
        end, flush = function() end }
      end
      local vars = { VBR_URL = server.url, VBR_USERNAME = "admin",
        VBR_PASSWORD = server.users.admin.password, VBR_CA_FILE = server.ca_file,
        VBR_API_VERSION = "1.1-rev0" }
      local code = cli.main(argv, {
        stdout = sink(out), stderr = sink(err), stdin = { read = function() return nil end },
        getenv = function(name) return vars[name] end, isatty = function() return false end,
      })
      return code, table.concat(out), table.concat(err)
    end
    local code, out, err = vbr { "configbackup", "show" }
    assert.equal(0, code)
    assert.matches("Schedule:", out, 1, true)
    assert.matches("older than the 1.3-rev1", err, 1, true)
    local puts = count(PUT)
    code, out, err = vbr { "configbackup", "set", "--retention", "28" }
    assert.equal(5, code)              -- input refused locally: nothing was sent
    assert.equal(puts, count(PUT))
    assert.matches("isLastDayOfMonth", err, 1, true)
    assert.matches("--force", err, 1, true)
    assert.not_matches("Saved", out, 1, true)
    assert.same({}, differences(before, stored()))
    code, out = vbr { "configbackup", "set", "--retention", "28", "--dry-run" }
    assert.equal(0, code)
    assert.matches("needs --force", out, 1, true)
    code, out, err = vbr { "configbackup", "set", "--retention", "28", "--force" }
    assert.equal(0, code, err)
    assert.matches("Saved", out, 1, true)
    assert.equal(28, stored().restorePointsToKeep)
  end)
end)
