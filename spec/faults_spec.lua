-- The fault matrix: every fault the simulator injects, against the four
-- things a caller does - read the settings (get), change them (edit: GET then
-- PUT, the fault on the PUT), start a backup, and wait for it. Transient
-- faults are recovered for GET and PUT; a start is never sent twice (the
-- simulator's counters and sessions say so); a start whose answer is lost or
-- unusable is "outcome unknown", and then the error carries the session it
-- created.
local vbr = require "vbr"
local core = require "vbr.core"
local sim = require "spec.support.sim"

local CB = "/api/v1/configBackup"
local START = "/api/v1/configBackup/backup"
local POLL = "/api/v1/sessions/*"

-- What each operation is expected to do under a fault:
--   "ok"                  recovered, the operation succeeds
--   { kind = ... }        fails with that error kind (and the fields given)
-- start also says how many sessions the server created (`created`), how many
-- POSTs reached it (`posts`, default 1) and whether err.session is that one.
local CASES = {
  { name = "503 with Retry-After", rule = { kind = "status", status = 503, retry_after = 0 },
    get = "ok", put = "ok", wait = "ok",
    start = { kind = "api", status = 503, retryable = true, unknown = false, created = 0 } },
  { name = "429", rule = { kind = "status", status = 429, retry_after = 0 },
    get = "ok", put = "ok", wait = "ok",
    start = { kind = "api", status = 429, retryable = true, unknown = false, created = 0 } },
  { name = "502", rule = { kind = "status", status = 502 },
    get = "ok", put = "ok", wait = "ok",
    start = { kind = "api", status = 502, unknown = true, created = 0 } },
  { name = "504", rule = { kind = "status", status = 504 },
    get = "ok", put = "ok", wait = "ok",
    start = { kind = "api", status = 504, unknown = true, created = 0 } },
  { name = "500", rule = { kind = "status", status = 500 },
    get = { kind = "api", status = 500 }, put = { kind = "api", status = 500 },
    wait = { kind = "api", status = 500 },
    start = { kind = "api", status = 500, unknown = false, created = 0 } },
  { name = "an HTML 502 page", rule = { kind = "html_error", status = 502 },
    get = "ok", put = "ok", wait = "ok",
    start = { kind = "http", status = 502, unknown = true, created = 0 } },
  { name = "401 with an empty body", rule = { kind = "empty_401" },
    get = "ok", put = "ok", wait = "ok", start = { ok = true, posts = 2, created = 1 } },
  { name = "a connection closed before processing", rule = { kind = "reset_before" },
    get = "ok", put = "ok", wait = "ok",
    start = { kind = "network", unknown = true, created = 0 } },
  { name = "a connection closed after processing", rule = { kind = "reset_after" },
    get = "ok", put = "ok", wait = "ok",
    start = { kind = "network", unknown = true, created = 1, found = true } },
  { name = "a body shorter than its Content-Length", rule = { kind = "short_body" },
    get = "ok", put = "ok", wait = "ok",
    start = { kind = "network", unknown = true, created = 1, found = true } },
  { name = "malformed JSON", rule = { kind = "malformed_json" },
    get = { kind = "decode" }, put = { kind = "decode", stored = true },
    wait = { kind = "decode" },
    start = { kind = "decode", unknown = true, created = 1, found = true } },
  { name = "truncated JSON", rule = { kind = "truncated_json" },
    get = { kind = "decode" }, put = { kind = "decode", stored = true },
    wait = { kind = "decode" },
    start = { kind = "decode", unknown = true, created = 1, found = true } },
  { name = "a processed request answered with an array",
    rule = { kind = "raw_after", body = "[]" },
    get = { kind = "decode" }, put = { kind = "decode", stored = true },
    wait = { kind = "decode" },
    start = { kind = "decode", unknown = true, created = 1, found = true } },
  { name = "a processed request answered with an empty 200",
    rule = { kind = "raw_after", body = "" },
    get = { kind = "decode" }, put = { kind = "decode", stored = true },
    wait = { kind = "decode" },
    start = { kind = "decode", unknown = true, created = 1, found = true } },
  { name = "a redirect to another host",
    rule = { kind = "raw", status = 307, headers = { Location = "https://evil.example:8443/x" } },
    get = { kind = "http", status = 307, says = "evil.example:8443" },
    put = { kind = "http", status = 307, says = "evil.example:8443" },
    wait = { kind = "http", status = 307, says = "evil.example:8443" },
    start = { kind = "http", status = 307, unknown = false, created = 0,
              says = "evil.example:8443" } },
  { name = "an answer slower than the timeout", rule = { kind = "delay", ms = 3000 }, timeout = 2,
    get = "ok", put = "ok", wait = "ok",
    -- processed after the client gave up: the session appears later
    start = { kind = "timeout", unknown = true, created = 1, late = true } },
  { name = "an answer trickling in", rule = { kind = "trickle", ms = 250, bytes = 1 }, timeout = 2,
    get = "ok", put = "ok", wait = "ok",
    start = { kind = "timeout", unknown = true, created = 1, found = true } },
  { name = "a refused refresh of an expired token", rule = { kind = "refuse_refresh" },
    expire = true, any_path = true,
    get = "ok", put = "ok", wait = "ok", start = { ok = true, created = 1 } },
}

describe("fault matrix", function()
  local s, baseline

  setup(function()
    s = sim.start { session_duration = 1 }
    baseline = #s:state().sessions
  end)
  teardown(function() if s then s:stop() end end)
  before_each(function() s:reset() end)

  local function connect(case)
    return assert(vbr.connect {
      url = s.url, ca_file = s.ca_file, username = "admin", password = s.users.admin.password,
      timeout = case.timeout, api_version = "1.3-rev1",
      retry = { base_delay = 0.01, max_delay = 0.05, attempts = 4, max_time = 30 },
    })
  end

  local function inject(case, method, path)
    local rule = {}
    for k, v in pairs(case.rule) do rule[k] = v end
    if not case.any_path then
      rule.method, rule.path = method, path
    end
    if case.expire then s:expire_tokens() end
    s:fault(rule)
  end

  local function new_sessions()
    return #s:state().sessions - baseline
  end

  local function posts()
    return s:counters().requests["POST " .. START] or 0
  end

  local function expect_error(want, err)
    assert.is_table(err, "expected an error")
    assert.equal(want.kind, err.kind, tostring(err))
    if want.status then assert.equal(want.status, err.status, tostring(err)) end
    if want.says then assert.matches(want.says, tostring(err), 1, true) end
    if want.retryable ~= nil then assert.equal(want.retryable, err.retryable) end
  end

  for _, case in ipairs(CASES) do
    describe(case.name, function()
      it("get: " .. (case.get == "ok" and "recovered" or "a clear error"), function()
        local client = connect(case)
        inject(case, "GET", CB)
        local settings, err = client.configbackup:get()
        if case.get == "ok" then
          assert.is_nil(err and tostring(err))
          assert.equal(10, settings.restorePointsToKeep)
        else
          assert.is_nil(settings)
          expect_error(case.get, err)
        end
        assert.same({}, s:faults())    -- the fault was met
        client:close()
      end)

      it("edit: " .. (case.put == "ok" and "recovered, the change kept" or "a clear error"),
        function()
          local client = connect(case)
          inject(case, "PUT", CB)
          local settings, err = client.configbackup:edit { restorePointsToKeep = 42 }
          local stored = s:state().config_backup.restorePointsToKeep
          if case.put == "ok" then
            assert.is_nil(err and tostring(err))
            assert.equal(42, settings.restorePointsToKeep)
            assert.equal(42, stored)
          else
            assert.is_nil(settings)
            expect_error(case.put, err)
            assert.equal(case.put.stored and 42 or 10, stored)
          end
          assert.same({}, s:faults())
          client:close()
        end)

      local want = case.start
      it("start: " .. (want.ok and "recovered" or "never sent twice, "
          .. (want.unknown and "outcome unknown" or "a clear error")), function()
        local client = connect(case)
        inject(case, "POST", START)
        local session, err = client.configbackup:start()
        if want.late then core.sleep(1.5) end
        assert.equal(want.created, new_sessions())
        assert.equal(want.posts or 1, posts())
        if want.ok then
          assert.is_nil(err and tostring(err))
          assert.is_string(session.id)
        else
          assert.is_nil(session)
          expect_error(want, err)
          assert.equal(want.unknown, err.outcome_unknown == true, tostring(err))
          if want.found then
            assert.is_table(err.session, "the session the start created")
            assert.equal(s:state().sessions[baseline + 1].id, err.session.id)
            assert.equal("ConfigurationBackup", err.session.sessionType)
            assert.matches("the backup did start: session " .. err.session.id, tostring(err),
              1, true)
          elseif not want.late then
            assert.is_nil(err.session)
          end
        end
        assert.same({}, s:faults())
        client:close()
      end)

      it("wait: " .. (case.wait == "ok" and "recovered" or "a clear error"), function()
        local client = connect(case)
        local session = assert(client.configbackup:start())
        inject(case, "GET", POLL)
        local done, err = session:wait { interval = 0.2, max_interval = 0.3, timeout = 60 }
        if case.wait == "ok" then
          assert.is_nil(err and tostring(err))
          assert.equal("Success", done:outcome())
        else
          assert.is_nil(done)
          expect_error(case.wait, err)
        end
        assert.equal(1, new_sessions())
        assert.same({}, s:faults())
        client:close()
      end)
    end)
  end
end)
