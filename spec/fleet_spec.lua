-- vbr.fleet without servers: the policy, the staleness rule, the runner,
-- the checks on hand-made facts, and the report formats.
local policy = require "vbr.fleet.policy"
local staleness = require "vbr.fleet.staleness"
local runner = require "vbr.fleet.runner"
local audit = require "vbr.fleet.audit"
local report = require "vbr.fleet.report"
local schedule = require "vbr.schedule"
local json = require "vbr.json"
local shell = require "spec.support.shell"

local HOUR = 3600
local unpack_ = table.unpack or unpack       -- luacheck: compat

describe("vbr.fleet.policy", function()
  it("is the default policy when nothing is given, durations in seconds", function()
    local p = assert(policy.read())
    assert.equal("critical", p.checks.encrypted)
    assert.equal(7, p.retention.min)
    assert.equal(2 * HOUR, p.grace_seconds)
    assert.equal(48 * HOUR, p.max_age_seconds)
    assert.equal("unknown", p.unreachable)
  end)

  it("merges what a user changes and keeps the rest", function()
    local p = assert(policy.read { retention = { min = 14 }, grace = "1h30m",
                                   checks = { notifications = "off", running = "critical" } })
    assert.equal(14, p.retention.min)
    assert.equal(255, p.retention.max)
    assert.equal(5400, p.grace_seconds)
    assert.equal("off", p.checks.notifications)
    assert.equal("critical", p.checks.running)
    assert.equal("critical", p.checks.enabled)
    assert.equal("critical", policy.DEFAULT.checks.enabled)        -- the default is untouched
    assert.equal("warning", policy.DEFAULT.checks.running)
  end)

  it("names every wrong field and the values allowed", function()
    local p, err = policy.read { checks = { encrypted = "fatal", nosuch = "warning" },
      retention = { min = 0, least = 3 }, grace = "soon", unreachable = "maybe", color = 1,
      utc_offset = "+25:00", apply = { retention = "many", colour = true } }
    assert.is_nil(p)
    assert.equal("invalid", err.kind)
    local paths = {}
    for _, problem in ipairs(err.problems) do paths[problem.path] = problem.message end
    assert.matches("critical, warning, off", paths["checks.encrypted"])
    assert.matches("no such check", paths["checks.nosuch"])
    assert.matches("1..255", paths["retention.min"])
    assert.matches("no such field", paths["retention.least"])
    assert.matches("90s, 15m, 2h", paths.grace)
    assert.matches("critical, unknown, warning", paths.unreachable)
    assert.matches("no such field", paths.color)
    assert.matches("+01:00", paths.utc_offset, 1, true)
    assert.matches("number", paths["apply.retention"])
    assert.matches("no such wish", paths["apply.colour"])
    assert.is_nil(policy.read { retention = { min = 30, max = 10 } })
    assert.has_error(function() policy.read "critical" end)
  end)

  it("loads a policy file that can describe but not do (no globals)", function()
    local _, made = shell.run("mktemp -d")
    local dir = made:gsub("%s+$", "")
    finally(function() shell.run("rm -rf " .. shell.quote(dir)) end)
    shell.write(dir .. "/good.lua", 'return { grace = "4h", checks = { analyzer = "off" } }\n')
    local p = assert(policy.load(dir .. "/good.lua"))
    assert.equal(4 * HOUR, p.grace_seconds)
    assert.equal("off", p.checks.analyzer)
    shell.write(dir .. "/doing.lua", 'os.execute("touch ' .. dir .. '/done") return {}\n')
    local refused, err = policy.load(dir .. "/doing.lua")
    assert.is_nil(refused)
    assert.matches("doing%.lua", tostring(err))
    assert.is_nil(io.open(dir .. "/done"))
    shell.write(dir .. "/number.lua", "return 42\n")
    assert.matches("must return a table", tostring(select(2, policy.load(dir .. "/number.lua"))))
    assert.matches("cannot read", tostring(select(2, policy.load(dir .. "/missing.lua"))))
  end)

  it("reads durations and UTC offsets", function()
    assert.equal(90, policy.duration("90s"))
    assert.equal(86400 + 2 * HOUR, policy.duration("1d2h"))
    assert.equal(7 * 86400, policy.duration("1w"))
    assert.equal(30, policy.duration(30))
    assert.is_nil(policy.duration("2 days"))
    assert.is_nil(policy.duration(-1))
    assert.equal(60, policy.offset_minutes("+01:00"))
    assert.equal(-330, policy.offset_minutes("-05:30"))
    assert.equal(0, policy.offset_minutes("Z"))
    assert.is_nil(policy.offset_minutes("CET"))
  end)
end)

describe("the staleness rule", function()
  -- now: seconds since the epoch (the UTC time in the comment); offset: the
  -- server's now, in minutes; every expectation is worked out by hand.
  local function verdict(text_or_table, last, now, offset, o)
    o = o or {}
    local s = type(text_or_table) == "table" and text_or_table
      or assert(schedule.parse(text_or_table))
    return staleness.evaluate { schedule = s, last_success = last, now = now, offset = offset,
      grace = o.grace or 2 * HOUR, max_age = o.max_age or 48 * HOUR,
      running_since = o.running_since, offset_assumed = o.assumed }
  end

  -- The verdict must be `stale`, with the run due at `due` {y, m, d, h, min}
  -- on the server's clock.
  local function expect(stale, due, ...)
    local v = verdict(...)
    assert.equal(stale, v.stale, v.reason)
    if due then assert.equal(staleness.wall_seconds(unpack_(due)), v.due, v.reason) end
    return v
  end

  it("daily: the run due last, across the end of a month (February 2026)", function()
    -- 2026-03-01 20:30Z = 21:30 at +01:00: today's 22:00 is still ahead
    expect(false, { 2026, 2, 28, 22, 0 }, "daily at 22:00", "2026-02-28T22:00:40.1+01:00",
      1772397000, 60)
    -- 2026-03-01 23:30Z = 00:30 on 2 March: the run of 1 March 22:00 is 2.5 h late
    local v = expect(true, { 2026, 3, 1, 22, 0 }, "daily at 22:00", "2026-02-28T22:00:40+01:00",
      1772407800, 60)
    assert.matches("2026%-03%-01 22:00", v.reason)
    expect(false, nil, "daily at 22:00", "2026-02-28T22:00:40+01:00", 1772407800, 60,
      { grace = 3 * HOUR })
  end)

  it("week days: Monday morning looks back to Friday's run", function()
    -- 2026-03-02 09:00Z = Monday 10:00 at +01:00
    expect(false, { 2026, 2, 27, 22, 0 }, "weekdays at 22:00", "2026-02-27T22:05:00+01:00",
      1772442000, 60)
    expect(true, { 2026, 2, 27, 22, 0 }, "weekdays at 22:00", "2026-02-26T22:05:00+01:00",
      1772442000, 60)
  end)

  it("selected days: three days without a run are not stale when none was due", function()
    -- 2026-03-02 09:00Z = Monday 04:00 at -05:00, before Monday's 06:30: Friday's is due
    expect(false, { 2026, 2, 27, 6, 30 }, "mon,wed,fri 06:30", "2026-02-27T06:31:00-05:00",
      1772442000, -300)
  end)

  it("day N: months without the day are skipped", function()
    -- 2026-04-30 23:10Z = 1 May 01:10 at +02:00; April has no 31st: 31 March is due
    expect(false, { 2026, 3, 31, 1, 0 }, "monthly on day 31 at 01:00",
      "2026-03-31T01:00:50+02:00", 1777590600, 120)
    expect(true, { 2026, 3, 31, 1, 0 }, "monthly on day 31 at 01:00",
      "2026-01-31T01:00:50+01:00", 1777590600, 120)
  end)

  it("day 29 of February: leap years only, back over three years", function()
    local leap_day = { kind = "monthly", time = "01:00", day = 29, months = { "february" } }
    -- 2027-03-10 09:00Z: the last 29 February was in 2024
    expect(false, { 2024, 2, 29, 1, 0 }, leap_day, "2024-02-29T01:00:30+01:00", 1804669200, 60)
    -- 2028-03-01 09:00Z: 2028 is a leap year, and its 29 February had no run
    expect(true, { 2028, 2, 29, 1, 0 }, leap_day, "2024-02-29T01:00:30+01:00", 1835514000, 60)
  end)

  it("last day of the month: 29 February in a leap year, 28 otherwise", function()
    -- 2024-02-29 23:30Z = 1 March 00:30 at +01:00: the run of 29 Feb 23:00 is 1.5 h old
    local v = expect(false, { 2024, 2, 29, 23, 0 }, "monthly on the last day at 23:00",
      "2024-01-31T23:00:40+01:00", 1709249400, 60)
    assert.matches("not succeeded yet", v.reason)
    -- 2023-03-01 01:00Z = 02:00 at +01:00: 28 Feb 23:00 was 3 h ago
    expect(true, { 2023, 2, 28, 23, 0 }, "monthly on the last day at 23:00",
      "2023-01-31T23:01:00+01:00", 1677632400, 60)
  end)

  it("a weekday of the month: the last Friday, the first Monday", function()
    -- 2026-04-01 08:00Z: the last Friday of March 2026 is the 27th
    expect(false, { 2026, 3, 27, 23, 0 }, "monthly on the last friday at 23:00",
      "2026-03-27T23:00:30+01:00", 1775030400, 120)
    expect(true, { 2026, 3, 27, 23, 0 }, "monthly on the last friday at 23:00",
      "2026-02-27T23:00:30+01:00", 1775030400, 120)
    -- 2026-03-02 09:00Z = 10:00 at +01:00 on the first Monday: its 07:00 run is 3 h late
    expect(true, { 2026, 3, 2, 7, 0 }, "monthly on the first monday at 07:00",
      "2026-02-02T07:00:30+01:00", 1772442000, 60)
  end)

  it("across the new year, far east of UTC", function()
    -- 2026-12-31 23:30Z = 1 January 2027 09:30 at +10:00
    expect(false, { 2026, 12, 31, 22, 0 }, "daily at 22:00", "2026-12-31T22:00:30+10:00",
      1798759800, 600)
  end)

  it("daylight saving starts: the server's offset now, not the last success's", function()
    -- Paris, 29 March 2026: 02:00 CET becomes 03:00 CEST; the server's newest
    -- timestamp is after the change, so its offset now is +02:00
    local offset = staleness.current_offset { "2026-03-28T22:00:40+01:00",
                                              "2026-03-29T21:00:05+02:00" }
    assert.equal(120, offset)
    -- 20:30Z = 22:30 CEST: the 22:00 run is half an hour old
    expect(false, { 2026, 3, 29, 22, 0 }, "daily at 22:00", "2026-03-28T22:00:40+01:00",
      1774816200, offset)
    -- 22:30Z = 00:30 CEST: 2.5 h past the 22:00 run (at +01:00 it would seem 1.5 h)
    expect(true, { 2026, 3, 29, 22, 0 }, "daily at 22:00", "2026-03-28T22:00:40+01:00",
      1774823400, offset)
  end)

  it("daylight saving ends: a run in the repeated hour is covered", function()
    -- Paris, 25 October 2026: 03:00 CEST becomes 02:00 CET; the 02:30 run
    -- ran the first time round (00:30Z); at 12:00 CET it covers the run due
    local offset = staleness.current_offset { "2026-10-25T02:30:40+02:00",
                                              "2026-10-25T10:00:00+01:00" }
    assert.equal(60, offset)
    expect(false, { 2026, 10, 25, 2, 30 }, "daily at 02:30", "2026-10-25T02:30:40+02:00",
      1792926000, offset)
  end)

  it("daylight saving in the US: Sunday's run before the change covers Sunday", function()
    -- New York, 8 March 2026, 02:00 EST becomes 03:00 EDT; 9 March 04:30Z = 00:30 EDT
    local offset = staleness.current_offset { "2026-03-08T01:30:20-05:00",
                                              "2026-03-09T00:10:00-04:00" }
    assert.equal(-240, offset)
    expect(false, { 2026, 3, 8, 1, 30 }, "daily at 01:30", "2026-03-08T01:30:20-05:00",
      1773030600, offset)
  end)

  it("no schedule: max_age, measured in real time", function()
    local off = { kind = "off" }
    -- 2026-02-28T09:00Z to 2026-03-01T20:30Z: 35.5 h; to 2026-03-02T09:00Z: 48 h
    expect(false, nil, off, "2026-02-28T10:00:00+01:00", 1772397000, 60)
    expect(true, nil, off, "2026-02-28T10:00:00+01:00", 1772442000, 60, { max_age = 47 * HOUR })
    expect(true, nil, off, nil, 1772442000, 60)
  end)

  it("a run in progress since the due time is not stale; none ever is", function()
    local v = expect(false, nil, "daily at 22:00", "2026-02-28T22:00:40+01:00", 1772407800, 60,
      { running_since = "2026-03-01T22:00:05+01:00" })
    assert.matches("in progress", v.reason)
    v = expect(true, nil, "daily at 22:00", nil, 1772407800, 60)
    assert.matches("never", v.reason)
  end)

  it("a run still in its grace does not excuse the one before it", function()
    -- 2026-03-01 21:30Z = 22:30 at +01:00: the 22:00 run is half an hour old,
    -- and the run of 28 February had no success either
    local v = expect(true, { 2026, 2, 28, 22, 0 }, "daily at 22:00",
      "2026-02-27T22:00:40+01:00", 1772400600, 60)
    assert.matches("no success since the run due 2026%-02%-28 22:00", v.reason)
    v = expect(false, { 2026, 3, 1, 22, 0 }, "daily at 22:00", "2026-02-28T22:00:40+01:00",
      1772400600, 60)
    assert.matches("not succeeded yet", v.reason)
    -- Monday 2 March 22:30 (21:30Z): Friday's run is the one before Monday's
    expect(true, { 2026, 2, 27, 22, 0 }, "weekdays at 22:00", "2026-02-26T22:05:00+01:00",
      1772487000, 60)
  end)

  it("a session in progress excuses one run, not a backlog", function()
    -- 2026-03-01 23:30Z = 00:30 on 2 March: running since the 1 March run,
    -- but the run of 28 February never succeeded
    local v = expect(true, { 2026, 3, 1, 22, 0 }, "daily at 22:00",
      "2026-02-27T22:00:40+01:00", 1772407800, 60,
      { running_since = "2026-03-01T22:00:05+01:00" })
    assert.matches("no success since", v.reason)
    -- 21:30Z = 22:30: the newest run is in its grace and in progress, the
    -- one before it succeeded
    v = expect(false, { 2026, 3, 1, 22, 0 }, "daily at 22:00", "2026-02-28T22:00:40+01:00",
      1772400600, 60, { running_since = "2026-03-01T22:00:05+01:00" })
    assert.matches("in progress", v.reason)
  end)

  it("a success days older than every gap is stale at every hour of the week", function()
    -- the schedules of the simulated fleet; 9 days is more than any of their
    -- gaps plus the grace, whatever the time of day the audit runs at
    local start = 1772397000                    -- 2026-03-01 20:30Z, a Sunday
    for _, text in ipairs { "daily at 02:00", "weekdays at 22:00", "mon,wed,fri 06:30",
                            "daily at 23:55" } do
      for step = 0, 7 * 24 * 4 do
        local now = start + step * 900
        local last = os.date("!%Y-%m-%dT%H:%M:%S+01:00", now + 3600 - 9 * 86400)
        local v = verdict(text, last, now, 60)
        assert.is_true(v.stale, text .. " at " .. os.date("!%Y-%m-%d %H:%M", now) .. "Z: "
          .. v.reason)
        -- and one minute after the run now held against it, it is current
        local fresh = os.date("!%Y-%m-%dT%H:%M:%S+01:00", v.due + 60)
        assert.is_false(verdict(text, fresh, now, 60).stale, text .. " fresh at "
          .. os.date("!%Y-%m-%d %H:%M", now))
      end
    end
  end)

  it("says so when the server's offset is a guess", function()
    local v = expect(false, nil, "daily at 22:00", "2026-02-28T22:00:40", 1772397000, 0,
      { assumed = true })
    assert.matches("taken as UTC%+0:00", v.reason)
  end)

  it("reads VBR's timestamps and refuses what is none", function()
    local t = staleness.parse_time("2026-03-29T22:00:31.5+02:00")
    assert.equal(120, t.offset)
    assert.equal(t.wall - 7200, t.utc)
    assert.equal(0, staleness.parse_time("2026-03-29T22:00:31Z").offset)
    assert.is_nil(staleness.parse_time("2026-03-29T22:00:31").offset)
    for _, bad in ipairs { "yesterday", "2026-13-01T00:00:00Z", "2026-03-29T22:00:31+2", 42 } do
      assert.is_nil(staleness.parse_time(bad))
    end
  end)
end)

describe("vbr.fleet.runner", function()
  -- A loop of make-believe transfers: each finishes after its `ticks` waits.
  local function fake_loop()
    local loop = { time = 0, pending = {}, started = 0, open = 0, peak = 0, cancelled = 0 }
    function loop:now() return self.time end
    function loop:start(ticks, value)
      local token = {}
      self.pending[token] = { ticks = ticks, value = value }
      self.open = self.open + 1
      self.peak = math.max(self.peak, self.open)
      return token
    end
    function loop:wait(timeout)
      local done = {}
      self.time = self.time + math.min(timeout, 1)
      for token, transfer in pairs(self.pending) do
        transfer.ticks = transfer.ticks - 1
        if transfer.ticks <= 0 then
          done[#done + 1] = { token, transfer.value }
          self.pending[token] = nil
          self.open = self.open - 1
        end
      end
      return done
    end
    function loop:cancel(token)
      if self.pending[token] then
        self.pending[token] = nil
        self.open = self.open - 1
        self.cancelled = self.cancelled + 1
      end
    end
    return loop
  end

  it("runs every task, at most `concurrency` at once, results in item order", function()
    local loop = fake_loop()
    local finished = {}
    local results = runner.run(10, function(index)
      -- later items finish first
      local a = runner.wait(loop:start(11 - index, "a" .. index))
      local b = runner.wait(loop:start(1, "b" .. index))
      return a .. b
    end, { concurrency = 3, loop = loop,
           on_result = function(index, _, done, total)
             finished[#finished + 1] = index
             assert.equal(10, total)
             assert.equal(#finished, done)
           end })
    assert.equal(3, loop.peak)
    for i = 1, 10 do
      assert.is_true(results[i].ok)
      assert.equal("a" .. i .. "b" .. i, results[i].value)
    end
    assert.equal(10, #finished)
    assert.are_not.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, finished)   -- as they finished
  end)

  it("keeps a failed, a raising and a hung task to themselves", function()
    local loop = fake_loop()
    local closed = {}
    local results = runner.run(4, function(index, context)
      context.close = function() closed[#closed + 1] = index end
      if index == 1 then return nil, "refused" end
      if index == 2 then error("a bug in the task") end
      if index == 3 then return runner.wait(loop:start(1e9, "never")) end
      runner.sleep(5)
      return "fine"
    end, { concurrency = 4, loop = loop, deadline = 30 })
    assert.same({ false, false, false, true },
      { results[1].ok, results[2].ok, results[3].ok, results[4].ok })
    assert.equal("refused", results[1].err)
    assert.matches("a bug in the task", results[2].err.message)
    assert.equal("timeout", results[3].err.kind)
    assert.equal("fine", results[4].value)
    assert.equal(1, loop.cancelled)
    assert.same({ 3 }, closed)
  end)

  it("runs tasks one after the other without a loop", function()
    local order = {}
    local results = runner.run(3, function(index)
      order[#order + 1] = "start " .. index
      order[#order + 1] = "end " .. index
      return index * 2
    end, { concurrency = 8 })
    assert.same({ "start 1", "end 1", "start 2", "end 2", "start 3", "end 3" }, order)
    assert.same({ 2, 4, 6 }, { results[1].value, results[2].value, results[3].value })
  end)

  it("refuses a yield from a coroutine of the task's own", function()
    local results = runner.run(1, function()
      local co = coroutine.wrap(function() runner.sleep(1) end)
      co()
      return true
    end, { loop = fake_loop() })
    -- the inner coroutine swallowed the runner's yield: the task goes on
    assert.is_true(results[1].ok)
    local outer = runner.run(1, function() coroutine.yield("mine") end, { loop = fake_loop() })
    assert.is_false(outer[1].ok)
    assert.matches("coroutine of its own", outer[1].err.message)
  end)

  it("refuses a bad concurrency or deadline", function()
    assert.has_error(function() runner.run(1, function() end, { concurrency = 0 }) end)
    assert.has_error(function() runner.run(1, function() end, { deadline = -1 }) end)
  end)
end)

describe("the checks", function()
  local default = assert(policy.read())
  local NOW = 1772442000            -- 2026-03-02 09:00Z

  -- Facts of a compliant server; `change` edits them.
  local function facts(change)
    local f = {
      errors = {}, now = NOW, revision = "1.3-rev2",
      info = { name = "vbr01.corp.example" },
      settings = {
        isEnabled = true, backupRepositoryId = "r1", restorePointsToKeep = 14,
        encryption = { isEnabled = true, passwordId = "p1" },
        notifications = { SNMPEnabled = false, SMTPSettings = { isEnabled = true } },
        schedule = { isEnabled = true, daily = { isEnabled = true, localTime = "22:00:00",
          dailyKind = "Everyday", days = json.array { "Monday", "Tuesday", "Wednesday",
          "Thursday", "Friday", "Saturday", "Sunday" } }, monthly = { isEnabled = false } },
        lastSuccessfulBackup = { lastSuccessfulTime = "2026-03-01T22:00:40+01:00" },
      },
      repositories = { { id = "r1", name = "Hardened", type = "LinuxHardened",
                         hostId = "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f" } },
      host = { name = "repo01.corp.example", isBackupServer = false },
      sessions = { { state = "Stopped", creationTime = "2026-03-01T22:00:05+01:00",
                     endTime = "2026-03-01T22:00:40+01:00",
                     result = { result = "Success", message = "" } } },
      practices = { items = { { bestPractice = "Configuration backup is enabled",
                                status = "OK" } } },
    }
    f.repository = f.repositories[1]
    if change then change(f) end
    return f
  end

  local by_id = audit.checks_by_id

  it("passes a compliant server", function()
    local verdict = audit.evaluate(facts(), default)
    assert.equal("ok", verdict.status)
    for _, check in ipairs(verdict.checks) do
      assert.equal("pass", check.status, check.id .. ": " .. check.reason)
    end
    assert.equal(#policy.CHECKS, #verdict.checks)
  end)

  it("fails each problem with the policy's severity and a reason", function()
    local cases = {
      { "enabled", function(f) f.settings.isEnabled = false end, "disabled" },
      { "schedule", function(f) f.settings.schedule.isEnabled = false end, "off" },
      { "encrypted", function(f) f.settings.encryption.isEnabled = false end, "no credentials" },
      { "repository", function(f) f.host.name = "VBR01" end, "backup server itself" },
      { "repository", function(f) f.repository.type = "ScaleOut" end, "cannot hold" },
      { "repository", function(f) f.repository = nil end, "not among" },
      { "retention", function(f) f.settings.restorePointsToKeep = 3 end, "7..255" },
      { "notifications", function(f) f.settings.notifications.SMTPSettings.isEnabled = false end,
        "nobody" },
      { "last_success", function(f)
          f.settings.lastSuccessfulBackup.lastSuccessfulTime = "2026-02-20T22:00:40+01:00"
        end, "no success since" },
      { "last_session", function(f) f.sessions[1].result.result = "Failed" end, "Failed" },
      { "running", function(f)
          table.insert(f.sessions, 1, { state = "Working",
                                        creationTime = "2026-03-02T03:00:00+01:00" })
        end, "Working for 7.0 h" },
      { "analyzer", function(f) f.practices.items[1].status = "Violation" end, "reports" },
    }
    for _, case in ipairs(cases) do
      local verdict = audit.evaluate(facts(case[2]), default)
      local check = by_id(verdict)[case[1]]
      assert.equal("fail", check.status, case[1] .. ": " .. check.reason)
      assert.matches(case[3], check.reason, 1, true)
      assert.equal(default.checks[case[1]], verdict.status, case[1])
    end
  end)

  it("turns a wrong shape from the server into unknown, never an error", function()
    local verdict = audit.evaluate(facts(function(f)
      f.settings.isEnabled = "yes"
      f.settings.schedule = 42
      f.settings.encryption = "on"
      f.settings.restorePointsToKeep = {}
      f.settings.notifications = json.null
      f.settings.lastSuccessfulBackup = { lastSuccessfulTime = "last tuesday" }
      f.sessions = { "not a session", { state = {} } }
      f.practices = { items = "none" }
    end), default)
    assert.equal("unknown", verdict.status)
    local checks = by_id(verdict)
    for _, id in ipairs { "enabled", "schedule", "encrypted", "retention", "notifications",
                          "last_success", "analyzer" } do
      assert.equal("unknown", checks[id].status, id)
    end
    local unread = audit.evaluate({ errors = { settings = "HTTP 403" }, now = NOW }, default)
    assert.equal("unknown", by_id(unread).enabled.status)
    assert.matches("403", by_id(unread).enabled.reason)
  end)

  it("skips the analyzer before 1.2-rev1 and leaves out checks turned off", function()
    local verdict = audit.evaluate(facts(function(f) f.revision = "1.1-rev0" end), default)
    assert.equal("skip", by_id(verdict).analyzer.status)
    local quiet = assert(policy.read { checks = { analyzer = "off", retention = "off" } })
    verdict = audit.evaluate(facts(function(f) f.settings.restorePointsToKeep = 1 end), quiet)
    assert.equal("ok", verdict.status)
    assert.is_nil(by_id(verdict).retention)
    assert.equal(#policy.CHECKS - 2, #verdict.checks)
  end)
end)

describe("the report formats", function()
  local function sample()
    local p = assert(policy.read())
    local servers = {
      { name = "vbr-a", status = "ok", checks = { { id = "enabled", status = "pass",
        severity = "critical", reason = "the job is enabled" } }, last_success = 1772400000 },
      { name = "vbr-b", status = "critical", description = "Paris", checks = {
        { id = "encrypted", status = "fail", severity = "critical", reason = "encryption is off" },
        { id = "last_session", status = "fail", severity = "warning",
          reason = "ended Failed: \27[2Jgone\nfake line" } } },
      { name = "vbr-c", status = "unknown", error = "timeout after 20 s", checks = {} },
    }
    return { servers = servers, status = "critical", started = 1772442000, seconds = 1.5,
             counts = { ok = 1, warning = 0, critical = 1, unknown = 1 }, policy = p }
  end

  it("tables: a line per server, then the findings, server text escaped", function()
    local text = table.concat(report.table_lines(sample()), "\n")
    assert.matches("3 servers: 1 critical, 0 warning, 1 unknown, 1 ok", text)
    assert.matches("vbr%-b%s+CRITICAL%s+encrypted, last_session", text)
    assert.matches("%[CRITICAL%] encrypted: encryption is off", text)
    assert.matches("not audited: timeout", text)
    assert.is_nil(text:find("\27", 1, true))
    assert.matches("\\u001b[2Jgone\\nfake line", text, 1, true)
    assert.is_nil(text:find("vbr-a (OK)", 1, true))          -- passing servers stay short
    local verbose = table.concat(report.table_lines(sample(), true), "\n")
    assert.truthy(verbose:find("vbr-a (OK)", 1, true))
  end)

  it("JSON: the whole report, with the exit code", function()
    local decoded = assert(json.decode(report.json(sample())))
    assert.equal("critical", decoded.status)
    assert.equal(2, decoded.exit_code)
    assert.equal("2026-03-02T09:00:00Z", decoded.started)
    assert.equal("vbr-b", decoded.servers[2].name)
    assert.equal("encrypted", decoded.servers[2].checks[1].id)
    assert.equal("timeout after 20 s", decoded.servers[3].error)
  end)

  it("Prometheus: every line a comment or a sample, labels escaped", function()
    local r = sample()
    r.servers[1].name = 'odd"name\\x'
    local text = report.prometheus(r)
    local samples = {}
    for line in text:gmatch("[^\n]+") do
      if not line:find("^# HELP %S+ .+$") and not line:find("^# TYPE %S+ gauge$") then
        local name, labels, value = line:match('^([%a_:][%w_:]*)(%b{}) (%S+)$')
        if not name then name, value = line:match("^([%a_:][%w_:]*) (%S+)$") end
        assert.truthy(name, "not a sample line: " .. line)
        assert.truthy(tonumber(value), line)
        samples[#samples + 1] = { name = name, labels = labels or "", value = tonumber(value) }
      end
    end
    local function find(name, label)
      for _, s in ipairs(samples) do
        if s.name == name and s.labels:find(label, 1, true) then return s.value end
      end
    end
    assert.equal(2, find("vbr_configbackup_status", 'server="vbr-b"'))
    assert.equal(0, find("vbr_configbackup_up", 'server="vbr-c"'))
    assert.equal(0, find("vbr_configbackup_check_ok", 'check="encrypted"'))
    assert.equal(1772400000, find("vbr_configbackup_last_success_timestamp_seconds",
      'server="odd\\"name\\\\x"'))
    assert.equal(1, find("vbr_fleet_audit_servers", 'status="unknown"'))
  end)

  it("the monitoring-plugin convention: one line, exit 0 to 3", function()
    local line, code = report.plugin(sample())
    assert.equal(2, code)
    assert.is_nil(line:find("\n", 1, true))
    assert.matches("^VBR CONFIGBACKUP CRITICAL %- ", line)
    assert.matches("vbr%-b CRITICAL %(encrypted,last_session%)", line)
    assert.matches("vbr%-c UNKNOWN %(not audited%)", line)
    assert.matches("| critical=1 warning=0 unknown=1 ok=1$", line)
    for status, want in pairs { ok = 0, warning = 1, critical = 2, unknown = 3 } do
      local r = sample()
      r.status = status
      assert.equal(want, select(2, report.plugin(r)))
    end
  end)
end)
