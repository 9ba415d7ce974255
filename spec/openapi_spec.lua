-- Every request each public call sends, checked against the official
-- OpenAPI document of the revision it names, by a validator that is not the
-- simulator's: scripts/openapi-validate (Debian's python3-jsonschema over
-- simulator/openapi/*.json). The simulator records what it received
-- (record_requests); each case validates the lines it added.
local sim = require "spec.support.sim"
local connect_to = require "spec.support.connect"
local shell = require "spec.support.shell"
local revision_lib = require "vbr.revision"

local VALIDATOR = "scripts/openapi-validate"
local DOCUMENTS = "simulator/openapi"
local NAS = "d4b5e196-f3ad-474c-99bc-dfef051dae07"
local DEFAULT_REPOSITORY = "88788f9e-d8f5-4eb4-bc4f-9b3f5403bcec"

local server, log, seen

-- The violations scripts/openapi-validate finds in `text` (JSON lines), and
-- its summary line.
local function violations_in(text)
  local file = os.tmpname()
  shell.write(file, text)
  local ok, output = shell.run("/usr/bin/python3 " .. VALIDATOR .. " " .. DOCUMENTS .. " "
    .. shell.quote(file))
  os.remove(file)
  local found, summary = {}, nil
  for line in output:gmatch("[^\n]+") do
    if line:find("^openapi%-validate: ") then summary = line else found[#found + 1] = line end
  end
  assert(summary, "the validator did not run: " .. output)
  return found, summary, ok
end

-- The requests recorded since the last call, checked; fails listing every
-- violation. Returns how many requests there were.
local function assert_valid()
  local text = shell.read(log) or ""
  local new = text:sub(seen + 1)
  seen = #text
  local found, summary = violations_in(new)
  assert(#found == 0, #found .. " violations:\n" .. table.concat(found, "\n"))
  local count = tonumber(summary:match("(%d+) requests"))
  assert.is_true(count > 0, "nothing was recorded")
  return count, new
end

local function connect(revision, user)
  return connect_to(server, revision, user)
end

lazy_setup(function()
  server = sim.start { record_requests = true, session_duration = 0.2 }
  log = server.dir .. "/requests.jsonl"
end)

lazy_teardown(function()
  if server then server:stop() end
end)

before_each(function()
  server:reset()
  seen = #(shell.read(log) or "")
end)

describe("the validator", function()
  -- Requests the documents refuse, each with what must be said of it.
  local bad = {
    { '{"revision":"1.1-rev0","method":"PUT","path":"/api/v1/configBackup","query":"",'
      .. '"headers":{"content-type":"application/json","x-api-version":"1.1-rev0"},'
      .. '"body":"{\\"isEnabled\\":true}"}', "backupRepositoryId" },
    { '{"revision":"1.3-rev0","method":"GET","path":"/api/v1/sessions",'
      .. '"query":"colour=red","headers":{"x-api-version":"1.3-rev0"},"body":null}', "colour" },
    { '{"revision":"1.1-rev0","method":"GET","path":"/api/v1/sessions",'
      .. '"query":"typeFilter=ConfigurationBackup&typeFilter=Infrastructure",'
      .. '"headers":{"x-api-version":"1.1-rev0"},"body":null}', "one value" },
    { '{"revision":"1.3-rev1","method":"GET","path":"/api/v1/sessions",'
      .. '"query":"limit=2.5","headers":{"x-api-version":"1.3-rev1"},"body":null}', "integer" },
    { '{"revision":"1.3-rev1","method":"GET","path":"/api/v1/sessions",'
      .. '"query":"stateFilter=working","headers":{"x-api-version":"1.3-rev1"},"body":null}',
      "Working" },
    { '{"revision":"1.3-rev1","method":"POST","path":"/api/oauth2/token","query":"",'
      .. '"headers":{"content-type":"application/x-www-form-urlencoded",'
      .. '"x-api-version":"1.3-rev1"},"body":"grant_type=password&username=a&password=REDACTED"}',
      "grant_type" },
    { '{"revision":null,"method":"GET","path":"/api/v1/serverInfo","query":"",'
      .. '"headers":{},"body":null}', "x-api-version" },
    { '{"revision":"1.3-rev2","method":"GET","path":"/api/v1/nothing","query":"",'
      .. '"headers":{"x-api-version":"1.3-rev2"},"body":null}', "not in the document" },
    { '{"revision":"1.3-rev1","method":"GET","path":"/api/v1/sessions/42","query":"",'
      .. '"headers":{"x-api-version":"1.3-rev1"},"body":null}', "uuid" },
    { '{"revision":"1.3-rev1","method":"POST","path":"/api/v1/configBackup/backup","query":"",'
      .. '"headers":{"x-api-version":"1.3-rev1","content-type":"application/json"},'
      .. '"body":"{}"}', "takes none" },
  }

  it("finds each violation of a request the documents refuse", function()
    for _, case in ipairs(bad) do
      local found, _, ok = violations_in(case[1] .. "\n")
      assert.is_false(ok, case[2])
      assert.is_true(#found > 0, case[2])
      assert.matches(case[2], table.concat(found, "\n"), 1, true)
    end
  end)

  it("finds localTime in the 1.1-rev0 examples' style a violation of its own schema",
    function()
      local settings = '{"isEnabled":true,"backupRepositoryId":"' .. NAS .. '",'
        .. '"restorePointsToKeep":10,"notifications":{"SNMPEnabled":false},'
        .. '"schedule":{"isEnabled":true,"daily":{"isEnabled":true,"localTime":"%s"}},'
        .. '"lastSuccessfulBackup":{},"encryption":{"isEnabled":false,"passwordId":"'
        .. NAS .. '"}}'
      local function request(time)
        return '{"revision":"1.1-rev0","method":"PUT","path":"/api/v1/configBackup","query":"",'
          .. '"headers":{"content-type":"application/json","x-api-version":"1.1-rev0"},'
          .. '"body":' .. string.format("%q", settings:format(time)):gsub("\\\n", "\\n") .. '}\n'
      end
      local found = violations_in(request("10:00 PM"))
      assert.equal(1, #found)
      assert.matches("localTime", found[1], 1, true)
      assert.same({}, (violations_in(request("22:00:00"))))
    end)
end)

-- Every schedule kind, as the library writes it.
local SCHEDULES = {
  "daily at 22:00", "weekdays at 22:00", "mon,wed,fri 06:30",
  "monthly on the last friday at 23:00", "monthly on the second tuesday at 21:00",
  "monthly on day 15 at 01:00 in jan,apr,jul,oct", "monthly on the last day at 23:00", "off",
}

-- The revisions the simulator serves, and negotiation.
local REVISIONS = revision_lib.known()
REVISIONS[#REVISIONS + 1] = "auto"

for _, revision in ipairs(REVISIONS) do
  describe("requests in " .. revision, function()
    local client, cb, facts

    before_each(function()
      server:config { max_revision = revision == "auto" and "" or revision }
      client = connect(revision)
      cb = client.configbackup
      facts = client:revision()
    end)

    after_each(function()
      client:close()
    end)

    it("login, the lists, get, put, edit and every set_* are valid", function()
      assert(client:server_info())
      assert(client:repositories())
      assert(client:encryption_passwords())
      local settings = assert(cb:get())
      settings.schedule.daily.localTime = "9:30 pm"
      assert(cb:put(settings))
      assert(cb:edit { restorePointsToKeep = 21,
        notifications = { SMTPSettings = { subject = "[%JobResult%] config" } } })
      assert(cb:set_retention(30))
      assert(cb:disable())
      assert(cb:enable())
      assert(cb:set_repository("NAS Repository"))
      assert(cb:set_repository(DEFAULT_REPOSITORY))
      assert(cb:set_encryption("Created by TECH\\Administrator"))
      assert(cb:set_encryption(false, { force = true }))
      assert(cb:set_encryption("Standard Password"))
      assert(cb:set_notifications { SMTPSettings = { isEnabled = true, settingsType = "custom",
        recipients = { "ops@example.com", "it@example.com" } } })
      assert(cb:set_notifications { SMTPSettings = { isEnabled = false } })
      assert_valid()
    end)

    it("every schedule kind is valid", function()
      for _, text in ipairs(SCHEDULES) do
        if text:find("last day") and not facts.has_last_day_of_month then
          local ok, err = cb:set_schedule(text)       -- refused before sending
          assert.is_nil(ok)
          assert.equal("invalid", err.kind)
        else
          local saved, err = cb:set_schedule(text)
          assert(saved, text .. ": " .. tostring(err))
        end
      end
      assert_valid()
    end)

    it("start, the session, its refresh, logs and stop are valid", function()
      local session = assert(cb:start())
      assert(session:wait { interval = 0.05 })
      assert(session:refresh())
      assert(session:logs())
      assert(client:session(session.id))
      server:config { session_duration = 600 }
      local running = assert(cb:start())
      assert(running:stop())
      assert_valid()
    end)

    it("a token refresh, a re-login and the logout are valid", function()
      assert(cb:get())
      server:expire_tokens()
      assert(cb:get())                                -- refresh grant
      server:fault { kind = "refuse_refresh" }
      server:expire_tokens()
      assert(cb:get())                                -- refused refresh, password again
      assert(client:logout())
      local count, lines = assert_valid()
      assert.is_true(count >= 5)
      assert.matches('refresh_token=REDACTED', lines, 1, true)
    end)

    it("sessions with every filter, written as the API spells it, are valid", function()
      local session = assert(cb:start())
      assert(session:wait { interval = 0.05 })
      assert(client:sessions())
      assert(client:sessions { type = "ConfigurationBackup", limit = 5 })
      assert(client:sessions { skip = 1, limit = 2 })
      assert(client:sessions { state = "Stopped", result = "Success", name = "*Configuration*",
        job_id = session.jobId, created_after = "2024-01-01T00:00:00Z" })
      assert_valid()
    end)

    it("sessions filters as os.time(), os.date('*t'), ISO text, lists, any casing, are valid",
      function()
        local day_ago = os.time() - 86400
        assert(client:sessions { created_after = day_ago, ended_before = os.time() })
        assert(client:sessions { created_after = os.date("*t", day_ago), limit = 3.0 })
        assert(client:sessions { created_before = "2030-01-01", ended_after = "2024-01-01 10:00" })
        assert(client:sessions { created_after = "2024-01-01T10:00:00.5+0130" })
        assert(client:sessions { type = "configurationbackup", state = "stopped",
                                 result = "SUCCESS",
                                 job_id = ("f4f3c4b0-8d07-4c8e-9b4e-6f1d2a3b4c5d"):upper() })
        assert(client:sessions { type = { "ConfigurationBackup" }, result = { "success" } })
        if facts.session_type_filter_is_array then
          assert(client:sessions { type = { "configurationbackup", "backupjob" },
                                   result = { "success", "warning", "FAILED" } })
        end
        assert_valid()
      end)
  end)
end

describe("requests of a client older than the server, written anyway", function()
  it("are valid for the revision they name", function()
    local client = connect("1.1-rev0")
    assert(client.configbackup:set_retention(15, { allow_older = true }))
    assert(client.configbackup:set_schedule("weekdays at 22:00", { allow_older = true }))
    assert_valid()
    client:close()
  end)
end)
