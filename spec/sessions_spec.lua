-- Sessions against the simulator, in every revision it serves: the filter of
-- client:sessions{...} checked and normalised before sending (enum casing,
-- lists where the revision has arrays, points in time, counts), refusals
-- that name the key and the allowed values with nothing sent, and wait()
-- knowing every state, 1.3-rev2's ActionRequired included.
local vbr = require "vbr"
local sim = require "spec.support.sim"

local REVISIONS = { "1.1-rev0", "1.2-rev1", "1.3-rev0", "1.3-rev1", "1.3-rev2" }
local HOUR = 3600

describe("sessions", function()
  local s

  setup(function() s = sim.start { session_duration = 1 } end)
  teardown(function() if s then s:stop() end end)
  before_each(function() s:reset() end)

  local function connect(revision)
    return assert(vbr.connect {
      url = s.url, ca_file = s.ca_file, username = "admin", password = s.users.admin.password,
      api_version = revision,
      retry = { base_delay = 0.01, max_delay = 0.05, attempts = 3, max_time = 20 },
    })
  end

  local function sent()
    return s:counters().requests["GET /api/v1/sessions"] or 0
  end

  -- The sessions of a filter, with the checks every accepted filter passes.
  local function list(client, filter)
    local before = sent()
    local found, err = client:sessions(filter)
    assert.is_nil(err and tostring(err))
    assert.equal(before + 1, sent())
    return found
  end

  -- A refusal before sending: kind invalid, the key named, nothing sent.
  local function refused(client, filter, key, says)
    local before = sent()
    local found, err = client:sessions(filter)
    assert.is_nil(found)
    assert.equal("invalid", err.kind, tostring(err))
    assert.equal(key, err.problems[1].path)
    assert.matches(says, err.problems[1].message, 1, true)
    assert.matches(key .. ": ", tostring(err), 1, true)
    assert.equal(before, sent())
    return err
  end

  local function types_of(found)
    local seen = {}
    for _, session in ipairs(found) do seen[session.sessionType] = true end
    return seen
  end

  for _, revision in ipairs(REVISIONS) do
    describe(revision, function()
      local client
      before_each(function() client = connect(revision) end)
      after_each(function() client:close() end)
      local arrays = revision >= "1.3-rev0"

      it("enum values in any casing, sent as the revision spells them", function()
        local found = list(client, { type = "configurationbackup" })
        assert.equal(1, #found)
        assert.equal("ConfigurationBackup", found[1].sessionType)
        assert.same({}, list(client, { state = "wORKING" }))
        assert.equal(4, #list(client, { state = "stopped" }))
        assert.equal(1, #list(client, { result = "FAILED" }))
        -- the backup job's type: "Job" in 1.1, "BackupJob" later; both names work
        local jobs = list(client, { type = "backupjob" })
        assert.equal(2, #jobs)
        assert.equal(revision == "1.1-rev0" and "Job" or "BackupJob", jobs[1].sessionType)
        assert.equal(2, #list(client, { type = "JOB" }))
      end)

      it("several types or results at once where the revision has arrays", function()
        local filter = { type = { "ConfigurationBackup", "infrastructure" } }
        if arrays then
          local found = list(client, filter)
          assert.equal(2, #found)
          assert.same({ ConfigurationBackup = true, Infrastructure = true }, types_of(found))
          assert.equal(4, #list(client, { result = { "success", "Failed" } }))
        else
          refused(client, filter, "type", "filters by one session type at a time")
          refused(client, { result = { "Success", "Failed" } }, "result",
            "filters by one session result at a time")
        end
        -- one value in a list is one value in every revision
        assert.equal(1, #list(client, { type = { "ConfigurationBackup" } }))
      end)

      it("unknown values: refused, naming the allowed ones", function()
        refused(client, { type = "ConfigBackup" }, "type", "(one of: ")
        refused(client, { type = { "nope" } }, "type", "'nope'")
        refused(client, { type = {} }, "type", "empty list")
        local err = refused(client, { state = "running" }, "state", "Working")
        assert.matches("'running' is not a session state of API revision " .. revision,
          err.problems[1].message, 1, true)
        refused(client, { result = "ok" }, "result", "None, Success, Warning, Failed")
        refused(client, { job_id = "../configBackup" }, "job_id", "must be a UUID")
        if revision == "1.3-rev2" then
          assert.same({}, list(client, { state = "actionrequired" }))
        else
          refused(client, { state = "ActionRequired" }, "state", "is not a session state")
        end
      end)

      it("points in time as os.time(), os.date('*t') or ISO 8601 text", function()
        -- the simulator's sessions were created 24, 5, 3 and 2 hours ago
        local four_hours_ago = os.time() - 4 * HOUR
        for _, value in ipairs {
          four_hours_ago,
          os.date("*t", four_hours_ago),
          os.date("%Y-%m-%dT%H:%M:%S", four_hours_ago),               -- local time
          os.date("%Y-%m-%d %H:%M", four_hours_ago),
          os.date("!%Y-%m-%dT%H:%M:%SZ", four_hours_ago),
          os.date("!%Y-%m-%dT%H:%M:%S.250z", four_hours_ago),
          os.date("!%Y-%m-%dT%H:%M:%S", four_hours_ago + 2 * HOUR) .. "+02:00",
          os.date("!%Y-%m-%dT%H:%M:%S", four_hours_ago - 5 * HOUR - 1800) .. "-0530",
        } do
          local found = list(client, { created_after = value })
          assert.equal(2, #found, tostring(value))
        end
        assert.equal(4, #list(client, { created_after = "2024-01-01" }))
        assert.equal(2, #list(client, { created_before = os.time() - 4 * HOUR }))
        assert.equal(4, #list(client, { ended_before = os.time() + HOUR,
                                        ended_after = os.time() - 48 * HOUR }))
        for _, bad in ipairs { "2024-13-01", "2023-02-29", "yesterday", "2024-01-01T25:00",
                               "2024-01-01T10", "20240101", "2024-01-01T10:00+2", -1, 1e300,
                               0 / 0 } do
          refused(client, { created_after = bad }, "created_after", "")
        end
        refused(client, { created_after = { year = 2024, month = 2, day = 30 } },
          "created_after", "is no date and time")
        refused(client, { created_after = { year = 2024, month = 1, day = 1.5 } },
          "created_after", "os.date('*t')")
      end)

      it("limit and skip: whole numbers from 0", function()
        assert.equal(2, #list(client, { limit = 2 }))
        assert.equal(3, #list(client, { skip = 1 }))
        assert.equal(1, #list(client, { limit = 1.0, skip = 3 }))
        for _, bad in ipairs { 2.5, -1, 2 ^ 31, math.huge } do
          refused(client, { limit = bad }, "limit", "whole number from 0 to 2147483647")
        end
        refused(client, { skip = -3 }, "skip", "whole number")
      end)

      it("every problem of a filter at once", function()
        local found, err = client:sessions { limit = -1, state = "x", type = "y" }
        assert.is_nil(found)
        assert.equal(3, #err.problems)
        assert.matches("^3 problems: limit: ", err.message)
      end)
    end)
  end

  it("a filter of the wrong type or an unknown key raises (misuse)", function()
    local client = connect("1.3-rev1")
    for _, filter in ipairs {
      { type = true }, { type = { 1 } }, { state = { "Working" } }, { limit = "5" },
      { created_after = true }, { name = 3 }, { job_id = false },
    } do
      local key = next(filter)
      assert.has_error(function() client:sessions(filter) end)
      local ok, message = pcall(client.sessions, client, filter)
      assert.is_false(ok)
      assert.matches("session filter '" .. key .. "' must be", message, 1, true)
    end
    local ok, message = pcall(client.sessions, client, { status = "Working" })
    assert.is_false(ok)
    assert.matches("unknown session filter 'status' (known: ", message, 1, true)
    assert.equal(0, sent())
    client:close()
  end)

  it("what running() and start() send is valid in every revision", function()
    for _, revision in ipairs(REVISIONS) do
      local client = connect(revision)
      assert.is_false(client.configbackup:running())
      client:close()
    end
  end)

  describe("a job that waits for a person (ActionRequired, 1.3-rev2)", function()
    before_each(function() s:config { backup_outcome = "ActionRequired" } end)

    it("ends wait() at once with its own error kind and the session", function()
      local client = connect("1.3-rev2")
      local session = assert(client.configbackup:start())
      local done, err = session:wait { interval = 0.2, max_interval = 0.3, timeout = 600 }
      assert.is_nil(done)
      assert.equal("action_required", err.kind, tostring(err))
      assert.equal(session, err.session)
      assert.equal("ActionRequired", err.session.state)
      assert.equal(1, tostring(err):find("vbr: action required: session " .. session.id
        .. " waits for a person to act in VBR", 1, true))
      -- the server still counts it as running; stopping it ends it
      assert.equal(session.id, assert(client.configbackup:running()).id)
      assert(session:stop())
      assert.equal("Stopped", session.state)
      assert.equal("Failed", session:outcome())
      assert.is_false(client.configbackup:running())
      client:close()
    end)

    it("older revisions have no word for it: the session shows Working", function()
      local client = connect("1.3-rev1")
      local session = assert(client.configbackup:start())
      local done, err = session:wait { interval = 0.2, max_interval = 0.3, timeout = 2 }
      assert.is_nil(done)
      assert.equal("timeout", err.kind)
      assert.equal("Working", err.session.state)
      assert(session:stop())
      client:close()
    end)
  end)
end)
