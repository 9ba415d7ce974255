-- The configuration backup as Lua tables, against the simulator over HTTPS.
local sim = require "spec.support.sim"
local connect_to = require "spec.support.connect"
local vbr = require "vbr"
local json = require "vbr.json"
local same_json = require "spec.support.json_equal"
local bad_settings = require "spec.support.bad_settings"
local revision_lib = require "vbr.revision"

local REPOSITORY = {
  default = "88788f9e-d8f5-4eb4-bc4f-9b3f5403bcec",
  nas = "d4b5e196-f3ad-474c-99bc-dfef051dae07",
  scale_out = "5c3b2a19-8d7e-4f60-b1a2-c3d4e5f60718",
}
local STANDARD_PASSWORD = "6ebbe3cc-8147-47b6-b77a-01eeb7965522"
local OTHER_PASSWORD = "3261d360-1db7-4291-b1ed-360ef5b77175"
local PUT = "PUT /api/v1/configBackup"
local START = "POST /api/v1/configBackup/backup"

local server

local function connect(revision, user)
  return connect_to(server, revision, user)
end

local function count(key)
  return server:counters().requests[key] or 0
end

-- Posts raw JSON to the admin API: cjson alone cannot write [] or null.
local function admin_raw(path, text)
  local command = "curl -sS --fail -H 'Content-Type: application/json' --data-binary @- '"
    .. server.admin_url .. path .. "' >/dev/null"
  local pipe = assert(io.popen(command, "w"))
  pipe:write(text)
  pipe:close()
end

lazy_setup(function()
  server = sim.start { session_duration = 0.6 }
end)

lazy_teardown(function()
  if server then server:stop() end
end)

before_each(function()
  server:reset()
end)

for _, revision in ipairs { "1.1-rev0", "1.3-rev2" } do
  local facts = assert(revision_lib.get(revision))

  describe("configbackup in " .. revision, function()
    local client, cb

    before_each(function()
      server:config { max_revision = revision }    -- the newest it speaks: writes may go
      client = connect(revision)
      cb = client.configbackup
    end)

    after_each(function()
      client:close()
    end)

    it("get returns the settings as plain tables with the API's field names", function()
      local settings = assert(cb:get())
      assert.is_true(settings.isEnabled)
      assert.is_true(json.is_array(settings.schedule.daily.days))
      assert.is_true(json.is_array(settings.notifications.SMTPSettings.recipients))
      local monday = facts.day_case == "capitalized" and "Monday" or "monday"
      assert.equal(monday, settings.schedule.daily.days[1])
      assert.is_string(settings.backupRepositoryId)
    end)

    it("put replaces the settings and returns what the server holds", function()
      local settings = assert(cb:get())
      settings.restorePointsToKeep = 42
      settings.schedule.daily.localTime = "9:15 pm"    -- any style is rewritten
      local saved = assert(cb:put(settings))
      assert.equal(42, saved.restorePointsToKeep)
      local again = assert(cb:get())
      assert.equal(42, again.restorePointsToKeep)
      -- sent as the schema's format: time says, whatever the revision
      local state = server:state()
      assert.truthy(state.last_put_body:find('"localTime":"21:15:00"', 1, true))
      assert.equal(21 * 3600 + 15 * 60, state.config_backup.schedule.daily.localTime)
    end)

    it("edit merges objects, replaces arrays and keeps the rest", function()
      local before = assert(cb:get())
      local after = assert(cb:edit {
        restorePointsToKeep = 7,
        schedule = { daily = { dailyKind = "SelectedDays", days = { "Tuesday", "friday" } } },
      })
      assert.equal(7, after.restorePointsToKeep)
      assert.equal(2, #after.schedule.daily.days)
      assert.equal("SelectedDays", after.schedule.daily.dailyKind)
      assert.equal(before.schedule.daily.localTime, after.schedule.daily.localTime)
      assert.equal(before.encryption.passwordId, after.encryption.passwordId)
      assert.equal(1, count(PUT))
    end)

    it("disable and enable", function()
      assert.is_false(assert(cb:disable()).isEnabled)
      assert.is_false(assert(cb:get()).isEnabled)
      assert.is_true(assert(cb:enable()).isEnabled)
    end)

    it("set_retention", function()
      assert.equal(30, assert(cb:set_retention(30)).restorePointsToKeep)
      local ok, err = cb:set_retention(300)
      assert.is_nil(ok)
      assert.equal("invalid", err.kind)
      assert.equal("restorePointsToKeep", err.problems[1].path)
    end)

    it("set_repository by name (any casing) and by id", function()
      assert.equal(REPOSITORY.nas, assert(cb:set_repository("nas repository")).backupRepositoryId)
      assert.equal(REPOSITORY.default,
        assert(cb:set_repository(REPOSITORY.default)).backupRepositoryId)
    end)

    it("set_repository refuses unknown and scale-out repositories, sending nothing", function()
      for _, wanted in ipairs { "Tape Vault", REPOSITORY.scale_out } do
        local ok, err = cb:set_repository(wanted)
        assert.is_nil(ok)
        assert.equal("invalid", err.kind)
        assert.equal("backupRepositoryId", err.problems[1].path)
        assert.matches("Default Backup Repository", tostring(err), 1, true)
      end
      assert.equal(0, count(PUT))
    end)

    it("set_encryption by hint, by id, and off", function()
      local settings = assert(cb:set_encryption(OTHER_PASSWORD))
      assert.equal(OTHER_PASSWORD, settings.encryption.passwordId)
      settings = assert(cb:set_encryption("standard password"))
      assert.equal(STANDARD_PASSWORD, settings.encryption.passwordId)
      assert.is_true(settings.encryption.isEnabled)
      server:config { encryption_passwords_present = false, hardened_repository_present = false }
      settings = assert(cb:set_encryption(false))
      assert.is_false(settings.encryption.isEnabled)
      assert.equal(STANDARD_PASSWORD, settings.encryption.passwordId)
      local ok, err = cb:set_encryption("no such hint")
      assert.is_nil(ok)
      assert.equal("encryption.passwordId", err.problems[1].path)
    end)

    it("set_schedule from text and from a schedule table", function()
      local settings = assert(cb:set_schedule("weekdays at 22:30"))
      assert.equal("WeekDays", settings.schedule.daily.dailyKind)
      assert.equal("Every weekday at 22:30",
        vbr.schedule.describe(assert(vbr.schedule.from_api(settings.schedule))))
      settings = assert(cb:set_schedule(vbr.schedule.monthly_weekday("23:00", "last", "friday")))
      assert.is_true(settings.schedule.monthly.isEnabled)
      assert.equal("Last", settings.schedule.monthly.dayNumberInMonth)
    end)

    it("set_schedule refuses what the revision cannot express, sending nothing", function()
      local ok, err = cb:set_schedule("monthly on the last day at 23:00")
      if facts.has_last_day_of_month then
        assert.truthy(ok, tostring(err))
        assert.is_true(ok.schedule.monthly.isLastDayOfMonth)
      else
        assert.is_nil(ok)
        assert.equal("invalid", err.kind)
        assert.matches("1.3-rev0", tostring(err), 1, true)
        assert.equal(0, count(PUT))
      end
      ok, err = cb:set_schedule("every funday at 22:00")
      assert.is_nil(ok)
      assert.matches("funday", tostring(err))
    end)

    it("set_notifications merges into the current ones", function()
      local settings = assert(cb:set_notifications {
        SMTPSettings = { isEnabled = true, settingsType = "custom",
                         recipients = { "backup-team@example.com" } },
      })
      local smtp = settings.notifications.SMTPSettings
      assert.is_true(smtp.isEnabled)
      assert.equal("Custom", smtp.settingsType)
      assert.same({ "backup-team@example.com" }, { smtp.recipients[1] })
      local ok, err = cb:set_notifications { SNMPEnabled = true }
      assert.is_nil(ok)              -- the simulator has no global SNMP settings
      assert.equal("api", err.kind)
      assert.equal(400, err.status)
      assert.matches("SNMPEnabled", err.message)
    end)

    it("start returns a session that wait follows to Success", function()
      local session = assert(cb:start())
      assert.equal("ConfigurationBackup", session.sessionType)
      assert.is_string(session.jobId)
      local progress = {}
      local finished = assert(session:wait { interval = 0.1, on_progress = function(s)
        progress[#progress + 1] = s.state
      end })
      assert.equal("Stopped", finished.state)
      assert.equal("Success", finished:outcome())
      assert.is_string(finished.endTime)
      assert.equal("Stopped", progress[#progress])
      local settings = assert(cb:get())
      assert.equal(finished.id, settings.lastSuccessfulBackup.sessionId)
      assert.equal(1, count(START))
    end)

    it("start refuses while a configuration backup runs, unless forced", function()
      server:config { session_duration = 600 }   -- still running, however slow this run
      local first = assert(cb:start())
      local again, err = cb:start()
      assert.is_nil(again)
      assert.equal("conflict", err.kind)
      assert.matches(first.id, err.message, 1, true)
      assert.equal(1, count(START))
      local forced, forced_err = cb:start { force = true }
      assert.is_nil(forced)                  -- the simulator refuses a second run
      assert.equal(400, forced_err.status)
      assert.equal(2, count(START))
      assert(first:stop())
    end)

    it("set_encryption(false) is refused while encryption is mandatory, unless forced",
      function()
        local puts = count(PUT)
        local ok, err = cb:set_encryption(false)
        assert.is_nil(ok)
        assert.equal("invalid", err.kind)
        assert.equal("encryption.isEnabled", err.problems[1].path)
        assert.matches("mandatory", err.problems[1].message)
        assert.matches("encryption passwords", err.problems[1].message)
        server:config { encryption_passwords_present = false }   -- the hardened one remains
        ok, err = cb:set_encryption(false)
        assert.is_nil(ok)
        assert.matches("hardened repository", err.problems[1].message)
        assert.equal(puts, count(PUT))
        assert.is_false(assert(cb:set_encryption(false, { force = true })).encryption.isEnabled)
        -- already off: an unrelated change is not refused
        assert.equal(9, assert(cb:set_retention(9)).restorePointsToKeep)
      end)

    it("a failed session gives nil and the server's message", function()
      assert(cb:set_encryption(false, { force = true }))   -- mandatory here: the session fails
      local session = assert(cb:start())
      local ok, err = session:wait { interval = 0.1 }
      assert.is_nil(ok)
      assert.equal("failed", err.kind)
      assert.matches("ncrypt", err.message)
      assert.equal("Failed", err.session:outcome())
      local log = assert(session:logs())
      assert.is_true(#log > 0)
    end)

    it("wait gives up after its timeout", function()
      server:config { session_duration = 600 }
      local session = assert(cb:start())
      local ok, err = session:wait { timeout = 0.05, interval = 0.01 }
      assert.is_nil(ok)
      assert.equal("timeout", err.kind)
      assert(session:stop())
    end)

    it("session refresh, stop and logs", function()
      server:config { session_duration = 600 }
      local session = assert(cb:start())
      assert(session:stop())
      assert.equal("Stopped", session.state)
      assert.is_true(session.result.isCanceled)
      assert.equal(session.id, assert(client:session(session.id)).id)
      assert.is_table(assert(session:logs()))
      assert(session:refresh())
      assert.equal("Stopped", session.state)
    end)

    it("lists sessions by type, newest first", function()
      local started = assert(cb:start())
      local list = assert(client:sessions { type = "ConfigurationBackup" })
      assert.is_true(#list >= 2)
      assert.equal(started.id, list[1].id)
      for _, session in ipairs(list) do
        assert.equal("ConfigurationBackup", session.sessionType)
        assert.is_string(session.jobId)
      end
      assert(started:wait { interval = 0.1 })
    end)

    it("put refuses a field neither the schema nor the server knows, sending nothing",
      function()
        local settings = assert(cb:get())
        settings.restorePointsToKep = 12
        local ok, err = cb:put(settings)
        assert.is_nil(ok)
        assert.equal("invalid", err.kind)
        assert.equal("restorePointsToKep", err.problems[1].path)
        assert.matches("did you mean 'restorePointsToKeep'", tostring(err), 1, true)
        ok, err = cb:edit { schedule = { dayly = { isEnabled = true } } }
        assert.is_nil(ok)
        assert.matches("did you mean 'schedule.daily'", tostring(err), 1, true)
        assert.equal(0, count(PUT))
      end)

    it("put refuses a repository the server does not list, or cannot use", function()
      local settings = assert(cb:get())
      for _, id in ipairs { REPOSITORY.scale_out, "01234567-89ab-4cde-8f01-23456789abcd" } do
        settings.backupRepositoryId = id
        local ok, err = cb:put(settings)
        assert.is_nil(ok)
        assert.equal("backupRepositoryId", err.problems[1].path)
        assert.matches("scale%-out or external", err.problems[1].message)
      end
      assert.equal(0, count(PUT))
    end)

    it("a list of the server's in a wrong shape is an error, and nothing is sent", function()
      server:fault { kind = "raw", body = '{"data": 5}', method = "GET",
        path = "/api/v1/encryptionPasswords" }
      local ok, err = cb:set_encryption(false)
      assert.is_nil(ok)
      assert.equal("decode", err.kind)
      assert.matches("a list of encryption passwords", err.message, 1, true)
      assert.equal(0, count(PUT))
    end)

    it("misuse of the write options raises", function()
      assert.has_error(function() cb:set_retention(5, { allow_older = "yes" }) end)
      assert.has_error(function() cb:put({}, { dry_run = true }) end)
      assert.has_error(function() cb:enable(true) end)
    end)

    it("refuses bad input locally, listing every field path", function()
      local settings = assert(cb:get())
      settings.restorePointsToKeep = 0
      settings.schedule.daily.localTime = "25:00"
      local ok, err = cb:put(settings)
      assert.is_nil(ok)
      assert.equal("invalid", err.kind)
      assert.same({ "restorePointsToKeep", "schedule.daily.localTime" },
        { err.problems[1].path, err.problems[2].path })
      assert.matches("restorePointsToKeep", tostring(err))
      assert.equal(0, count(PUT))
    end)

    it("misuse raises", function()
      assert.has_error(function() cb:put("settings") end)
      assert.has_error(function() cb:edit(nil) end)
      assert.has_error(function() cb:start { wait = true } end)
      assert.has_error(function() client:sessions { kind = "x" } end)
    end)
  end)
end

describe("configbackup roles", function()
  it("a Backup Operator may start but not read the settings", function()
    local client = connect("1.3-rev2", "operator")
    local settings, err = client.configbackup:get()
    assert.is_nil(settings)
    assert.equal(403, err.status)
    assert.equal("AccessDenied", err.code)
    local session = assert(client.configbackup:start())
    assert(session:wait { interval = 0.1 })
    client:close()
  end)
end)

describe("configbackup round trip", function()
  -- The revisions of the documents in ../shared/openapi.
  for _, revision in ipairs { "1.1-rev0", "1.2-rev1", "1.3-rev0", "1.3-rev1", "1.3-rev2" } do
    it("sends back what it read in " .. revision .. ", times as HH:MM:SS", function()
      server:config { max_revision = revision }
      admin_raw("/admin/config", [[{"extra_fields":{"futureSettings":{"tags":[],
        "owner":null,"retries":3,"nested":{"list":[1,2],"empty":{}}}}}]])
      local client = connect(revision)
      local received = assert(client.core:request("GET", "/api/v1/configBackup")).body
      local settings = assert(client.configbackup:get())
      assert(client.configbackup:put(settings))
      local sent = server:state().last_put_body
      -- the one rewrite: 10:00 AM, 10:00 and 10:00:00 are all sent 10:00:00
      local expected = received:gsub('"localTime":"(%d+):(%d%d)([^"]*)"',
        function(hour, minute, rest)
          local half = rest:match("[AP]M")
          hour = half and (tonumber(hour) % 12 + (half == "PM" and 12 or 0)) or tonumber(hour)
          return ('"localTime":"%02d:%s:00"'):format(hour, minute)
        end)
      local same, difference = same_json(expected, sent)
      assert(same, difference)
      client:close()
    end)
  end
end)

describe("configbackup at an older revision than the server's", function()
  it("reads, says so, and refuses to write before sending unless allow_older", function()
    server:config { max_revision = "1.3-rev1" }
    local client = connect("1.1-rev0")
    local cb = client.configbackup
    assert(cb:get())
    local older = assert(cb:older_revision())
    assert.same({ "schedule.monthly.isLastDayOfMonth" }, older.lacks)
    assert.equal("1.1-rev0", older.client)
    assert.equal("1.3-rev1", older.server)
    assert.matches("1.3-rev1", older.message, 1, true)
    local ok, err = cb:set_retention(28)
    assert.is_nil(ok)
    assert.equal("conflict", err.kind)
    assert.matches("allow_older", err.message)
    assert.equal(older, err.older)
    ok, err = cb:put(assert(cb:get()))
    assert.is_nil(ok)
    assert.equal("conflict", err.kind)
    assert.equal(0, count(PUT))
    assert.equal(28, assert(cb:set_retention(28, { allow_older = true })).restorePointsToKeep)
    -- asked once per client
    assert.equal(1, count("GET /api/v1/serverInfo"))
    client:close()
  end)

  it("1.1-rev0 on a 12.2 server and the newest revision are not older", function()
    server:config { max_revision = "1.1-rev2" }
    local client = connect("1.1-rev0")
    assert.is_false(client.configbackup:older_revision())
    client:close()
    server:config { max_revision = "" }
    client = connect("1.3-rev2")
    assert.is_false(client.configbackup:older_revision())
    client:close()
  end)

  it("auto negotiates the newest both speak and asks nothing more", function()
    for _, newest in ipairs { "1.1-rev2", "1.2-rev1", "1.3-rev0", "1.3-rev1", "1.3-rev2" } do
      server:config { max_revision = newest }
      server:reset_counters()
      local client = connect()                       -- the default is "auto"
      local expected = newest == "1.1-rev2" and "1.1-rev0" or newest
      assert.equal(expected, client.core:api_version())
      assert.is_false(client.configbackup:older_revision())
      assert(client.configbackup:set_retention(11))
      assert.equal(0, count("GET /api/v1/serverInfo"))
      client:close()
    end
  end)

  it("an unreadable buildVersion is an error, not a guess", function()
    server:config { max_revision = "1.3-rev1", build_version = "unknown" }
    local client = connect("1.3-rev0")
    local ok, err = client.configbackup:set_retention(12)
    assert.is_nil(ok)
    assert.equal("decode", err.kind)
    assert.matches("buildVersion", err.message)
    assert.equal(0, count(PUT))
    client:close()
  end)
end)

describe("configbackup refuses bad input before sending", function()
  for _, revision in ipairs { "1.1-rev0", "1.3-rev2" } do
    it("(" .. #bad_settings .. " cases in " .. revision .. ")", function()
      local facts = assert(revision_lib.get(revision))
      server:config { max_revision = revision }
      local client = connect(revision)
      local before = count(PUT)
      for _, case in ipairs(bad_settings) do
        local settings = assert(client.configbackup:get())
        case[2](settings, facts)
        local ok, err = client.configbackup:put(settings)
        assert.is_nil(ok, case[1])
        assert.equal("invalid", err.kind)
        assert.equal(case[1], err.problems[1].path)
      end
      assert.equal(before, count(PUT))
      client:close()
    end)
  end
end)
