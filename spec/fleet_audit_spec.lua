-- vbr.fleet and `vbr fleet` against a simulated fleet over real HTTPS: the
-- audit against the servers' seeded profiles, every output format and exit
-- code, dead and hostile servers kept to themselves, apply and run.
local fleet_lib = require "vbr.fleet"
local inventory = require "vbr.inventory"
local report = require "vbr.fleet.report"
local cli = require "vbr.cli"
local json = require "vbr.json"
local sim = require "spec.support.sim"
local support = require "spec.support.fleet"
local shell = require "spec.support.shell"

local PUT = "PUT /api/v1/configBackup"
local START = "POST /api/v1/configBackup/backup"

-- The check that finds each problem a profile can have (simulator/README.md).
local FINDS = {
  disabled = "enabled", schedule_off = "schedule", unencrypted = "encrypted",
  local_repository = "repository", low_retention = "retention",
  no_notifications = "notifications", stale = "last_success", failed = "last_session",
  stuck = "running",
}
-- Checks another problem may fail too: the analyzer reports the job, its
-- encryption and its repository; a failed or stuck run leaves the last
-- success behind the schedule.
local ALSO = {
  disabled = { analyzer = true }, unencrypted = { analyzer = true },
  local_repository = { analyzer = true },
  failed = { last_success = true }, stuck = { last_success = true },
}

local function sink()
  local parts = {}
  return { write = function(self, ...)
             for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
             return self
           end,
           flush = function() end, text = function() return table.concat(parts) end }
end

local function vbr(argv, vars)
  local stdout, stderr = sink(), sink()
  local code = cli.main(argv, { stdout = stdout, stderr = stderr,
    getenv = function(name) return (vars or {})[name] end,
    isatty = function() return false end })
  local out, err = stdout:text(), stderr:text()
  assert.is_nil((out .. err):find(sim.users.admin.password, 1, true), "a password was shown")
  return code, out, err
end

local by_id = require("vbr.fleet.audit").checks_by_id

describe("a fleet audit over HTTPS", function()
  local started, fleet, view, dir

  setup(function()
    -- seed 48: the 12 servers have each problem at least once, and 3 have none
    started = support.start { servers = 12, seed = 48, session_duration = 1 }
    fleet, view, dir = started.sim, started.view, started.dir
  end)
  teardown(function() started:stop() end)

  it("finds on every server what its profile got wrong, and nothing else", function()
    local f = assert(fleet_lib.open(fleet.inventory))
    local r = assert(f:audit { concurrency = 4 })
    assert.equal(12, #r.servers)
    local kinds = {}
    for i, server in ipairs(r.servers) do
      local profile = view.servers[i]
      assert.equal(profile.name, server.name)
      local expected, allowed = {}, {}
      for _, problem in ipairs(profile.problems) do
        expected[FINDS[problem]] = true
        allowed[FINDS[problem]] = true
        for id in pairs(ALSO[problem] or {}) do allowed[id] = true end
        kinds[problem] = true
      end
      local checks = by_id(server)
      for id in pairs(expected) do
        assert.equal("fail", checks[id].status,
          server.name .. " " .. id .. ": " .. checks[id].reason)
      end
      for _, check in ipairs(server.checks) do
        assert.is_true(check.status == "pass" or check.status == "skip" or allowed[check.id],
          server.name .. " " .. check.id .. " " .. check.status .. ": " .. check.reason)
      end
      if #profile.problems == 0 then assert.equal("ok", server.status, server.name) end
    end
    for problem in pairs(FINDS) do assert.is_true(kinds[problem], "no server is " .. problem) end
    local worst = r.counts.critical > 0 and "critical" or (r.counts.warning > 0 and "warning")
      or "ok"
    assert.equal(worst, r.status)
  end)

  it("prints every format, with the monitoring-plugin exit codes", function()
    local code, out = vbr { "fleet", "audit", "--inventory", fleet.inventory, "--format", "nagios" }
    local line = out:match("^([^\n]*)\n$")
    assert.truthy(line, "one line: " .. out)
    local status = line:match("^VBR CONFIGBACKUP (%u+) %- ")
    assert.equal(report.EXIT[status:lower()], code)
    assert.equal(code, (vbr { "fleet", "audit", "--inventory", fleet.inventory }))
    local _, text = vbr { "fleet", "audit", "--inventory", fleet.inventory, "--format", "json" }
    local decoded = assert(json.decode(text))
    assert.equal(code, decoded.exit_code)
    assert.equal(12, #decoded.servers)
    local prom = dir .. "/fleet.prom"
    assert.equal(code, (vbr { "fleet", "audit", "--inventory", fleet.inventory, "--format",
                              "prometheus", "-o", prom }))
    local written = assert(shell.read(prom))
    assert.matches('vbr_configbackup_status{server="vbr%-0012"} %d', written)
    assert.is_nil(io.open(prom .. ".tmp"))
    -- only the servers asked for, by name and by tag
    local _, one = vbr { "fleet", "audit", "--inventory", fleet.inventory, "--limit", "vbr-0003",
                         "--format", "json" }
    assert.equal(1, #json.decode(one).servers)
    -- the default location: $VBR_INVENTORY
    local via_env = vbr({ "fleet", "audit", "--format", "nagios" },
                        { VBR_INVENTORY = fleet.inventory })
    assert.equal(code, via_env)
  end)

  it("has an example script that audits and exits as a plugin does", function()
    local ok, out = shell.run("LUA_PATH='lua/?.lua;lua/?/init.lua;;' "
      .. "LUA_CPATH='build/lua5.4/?.so;;' lua5.4 examples/fleet_audit.lua "
      .. shell.quote(fleet.inventory) .. " 2>/dev/null; echo \"code=$?\"")
    assert.is_true(ok)
    local code = tonumber(out:match("code=(%d+)"))
    local r = assert(assert(fleet_lib.open(fleet.inventory)):audit())
    assert.equal(report.EXIT[r.status], code)
    assert.matches(report.counts_line(r), out, 1, true)
    for _, server in ipairs(r.servers) do
      if server.status ~= "ok" then assert.matches(server.name, out, 1, true) end
    end
    assert.is_nil(out:find(sim.users.admin.password, 1, true))
  end)

  it("says UNKNOWN (3) for an inventory it cannot use", function()
    local code, _, err = vbr { "fleet", "audit", "--inventory", dir .. "/none" }
    assert.equal(3, code)
    assert.matches("none", err)
    code, _, err = vbr { "fleet", "audit", "--inventory", fleet.inventory, "--limit", "mars" }
    assert.equal(3, code)
    assert.matches("mars", err)
  end)

  it("keeps a dead and a hostile server to themselves", function()
    local text = assert(shell.read(fleet.inventory))
    -- nothing listens on port 9 of 127.0.0.1
    text = text .. "\n[vbr-dead]\nurl = https://127.0.0.1:9\n"
    local path = dir .. "/with_dead"
    shell.write(path, text)
    local hostile = view.servers[2]
    fleet:on(hostile.name):fault { kind = "raw", count = 5, path = "/api/v1/configBackup",
      body = '{"isEnabled": "\27[2J\27]0;pwned\7", "schedule": [1, 2], "encryption": null}' }
    finally(function() fleet:on(hostile.name):clear_faults() end)
    local f = assert(fleet_lib.open(path, { limit = "vbr-0001,vbr-0002,vbr-0003,vbr-dead" }))
    local r = assert(f:audit { concurrency = 4, deadline = 20 })
    local servers = {}
    for _, server in ipairs(r.servers) do servers[server.name] = server end
    assert.equal("unknown", servers["vbr-dead"].status)
    assert.truthy(servers["vbr-dead"].error)
    assert.equal("network", servers["vbr-dead"].error.kind)
    local checks = by_id(servers[hostile.name])
    assert.equal("unknown", checks.enabled.status)
    assert.equal("unknown", checks.schedule.status)
    assert.equal("unknown", checks.encrypted.status)
    local lines = table.concat(report.table_lines(r, true), "\n")
    assert.is_nil(lines:find("\27", 1, true))
    for _, name in ipairs { "vbr-0001", "vbr-0003" } do
      assert.is_nil(servers[name].error, name)
      assert.are_not.equal(0, #servers[name].checks)
    end
  end)

  it("applies settings: the changes first, then the writes; a refusal stops no other", function()
    fleet:on("*"):reset()
    finally(function() fleet:on("*"):reset() end)
    local wanted = dir .. "/wanted.json"
    shell.write(wanted, '{"restorePointsToKeep": 21}')
    local limit = "vbr-0001,vbr-0002,vbr-0003"
    fleet:reset_fleet_counters()
    local code, out = vbr { "fleet", "apply", wanted, "--inventory", fleet.inventory,
                            "--limit", limit, "--dry-run" }
    assert.equal(0, code, out)
    assert.matches("vbr%-0002: 1 change\n  restorePointsToKeep: %d+ %-> 21", out)
    assert.matches("Dry run: nothing was written", out)
    for i = 1, 3 do assert.is_nil(fleet:on(view.servers[i].name):counters().requests[PUT]) end
    fleet:on("vbr-0002"):fault { kind = "status", status = 400, method = "PUT",
      path = "/api/v1/configBackup", message = "restorePointsToKeep: refused by policy" }
    code, out = vbr { "fleet", "apply", wanted, "--inventory", fleet.inventory, "--limit", limit }
    assert.equal(1, code, out)
    assert.matches("vbr%-0001: saved", out)
    assert.matches("vbr%-0002: not saved: .*refused by policy", out)
    assert.matches("vbr%-0003: saved", out)
    for _, name in ipairs { "vbr-0001", "vbr-0002", "vbr-0003" } do
      assert.equal(1, fleet:on(name):counters().requests[PUT], name)
    end
    code, out = vbr { "fleet", "apply", wanted, "--inventory", fleet.inventory, "--limit",
                      "vbr-0001" }
    assert.equal(0, code)
    assert.matches("vbr%-0001: no change", out)
  end)

  it("applies a policy's wishes: names looked up on each server", function()
    fleet:on("*"):reset()
    finally(function() fleet:on("*"):reset() end)
    local path = dir .. "/policy.lua"
    shell.write(path, 'return { apply = { retention = 30, email_to = { "ops@example.com" } } }')
    local f = assert(fleet_lib.open(fleet.inventory, { limit = "vbr-0004,vbr-0005" }))
    local wishes = assert(require("vbr.fleet.policy").load(path)).apply
    local plans, writes = f:apply { wishes = wishes }
    for i = 1, 2 do
      assert.is_true(plans[i].ok, tostring(plans[i].err))
      assert.is_true(writes[i].ok or writes[i].skipped, tostring(writes[i].err))
    end
    local again = f:apply({ wishes = wishes }, { dry_run = true })
    for i = 1, 2 do assert.same({}, again[i].value.changes) end
  end)

  it("starts backups only where the last success is stale, and follows them", function()
    fleet:on("*"):reset()
    finally(function() fleet:on("*"):reset() end)
    local stale
    for _, server in ipairs(view.servers) do
      for _, problem in ipairs(server.problems) do
        if problem == "stale" then stale = stale or server end
      end
    end
    assert.truthy(stale, "the seed has no stale server")
    local fresh = view.servers[1].name == stale.name and view.servers[2] or view.servers[1]
    local limit = stale.name .. "," .. fresh.name
    local code, out = vbr { "fleet", "run", "--inventory", fleet.inventory, "--limit", limit,
                            "--if-older-than", "7d", "--wait" }
    assert.equal(0, code, out)
    assert.matches(stale.name .. ": Success", out, 1, true)
    assert.matches(fresh.name .. ": skipped: the last success is", out, 1, true)
    assert.equal(1, fleet:on(stale.name):counters().requests[START])
    assert.is_nil(fleet:on(fresh.name):counters().requests[START])
  end)

  it("never sends a start twice, even when the answer is lost", function()
    fleet:on("*"):reset()
    finally(function() fleet:on("*"):reset() end)
    local name = view.servers[3].name
    fleet:on(name):fault { kind = "reset_after", method = "POST",
                           path = "/api/v1/configBackup/backup" }
    local f = assert(fleet_lib.open(fleet.inventory, { limit = name .. ",vbr-0004" }))
    local results = f:backup { force = true }
    assert.is_false(results[1].ok)
    assert.is_true(results[1].err.outcome_unknown)
    assert.is_true(results[2].ok, tostring(results[2].err))
    assert.equal(1, fleet:on(name):counters().requests[START])
  end)

  it("sends only requests the official documents allow, on every server's revision", function()
    fleet:on("*"):reset()
    fleet:on("*"):config { record_requests = true }
    finally(function() fleet:on("*"):config { record_requests = false } end)
    local log = fleet.dir .. "/requests.jsonl"
    local before = #(shell.read(log) or "")
    local f = assert(fleet_lib.open(fleet.inventory))
    assert(f:audit { concurrency = 6 })
    f:apply({ wishes = { retention = 30 } }, { dry_run = true })
    f:backup { if_older_than = 86400 * 365 }
    local text = assert(shell.read(log)):sub(before + 1)
    local file = dir .. "/fleet-requests.jsonl"
    shell.write(file, text)
    local ok, output = shell.run("/usr/bin/python3 scripts/openapi-validate simulator/openapi "
      .. shell.quote(file))
    assert.is_true(ok, output)
    local count = tonumber(output:match("(%d+) requests"))
    assert.is_true(count > 12 * 9, output)
    -- the fleet's own paths were among them
    assert.truthy(text:find("/api/v1/backupInfrastructure/managedServers/", 1, true))
    assert.truthy(text:find("/api/v1/securityAnalyzer/bestPractices", 1, true))
  end)

  it("opens an inventory already loaded, and refuses misuse", function()
    local inv = assert(inventory.load(fleet.inventory))
    local f = assert(fleet_lib.open(inv, { limit = "sim" }))
    assert.equal(12, #f.servers)
    assert.has_error(function() fleet_lib.open(inv, { concurrency = 3 }) end)
    assert.has_error(function() f:run("not a function") end)
    assert.has_error(function() f:audit { policy = 42 } end)
    local _, err = f:audit { policy = { checks = { nosuch = "warning" } } }
    assert.equal("invalid", err.kind)
  end)
end)
