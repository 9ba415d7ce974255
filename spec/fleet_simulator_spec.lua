-- The simulator's fleet mode (vbrsim start --servers N): independent servers
-- on their own 127.0.0.1 ports, seeded profiles, an inventory of them, the
-- per-server admin API, managed servers and the analyzer's best practices.
-- Checked with the curl command line, not with the library under test.
local sim = require "spec.support.sim"
local shell = require "spec.support.shell"

package.path = "simulator/lua/?.lua;" .. package.path
local json = require "vbrsim.json"
local schema = require "vbrsim.schema"
local openapi = require "vbrsim.openapi"

local documents = assert(openapi.load("simulator/openapi"))
local ADMIN = sim.users.admin
local quote = shell.quote

-- One HTTPS request with curl: {status, data (decoded JSON)}; checked
-- against the response schema of the revision asked for.
local function request(fleet, url, opts)
  local version = opts.version or "1.1-rev0"     -- every server speaks it
  local args = { "curl -sS --max-time 20 --cacert", quote(fleet.ca_file),
                 "-X", opts.method or "GET", "-H", quote("x-api-version: " .. version),
                 "-w '\\n%{http_code}'" }
  if opts.token then args[#args + 1] = "-H " .. quote("Authorization: Bearer " .. opts.token) end
  if opts.body then
    args[#args + 1] = "-H 'Content-Type: application/json' --data-binary " .. quote(opts.body)
  end
  for _, field in ipairs(opts.form or {}) do
    args[#args + 1] = "--data-urlencode " .. quote(field[1] .. "=" .. field[2])
  end
  args[#args + 1] = quote(url .. opts.path)
  local ok, output = shell.run(table.concat(args, " "))
  assert(ok, output)
  local body, status = output:match("^(.*)\n(%d%d%d)$")
  local res = { status = tonumber(status), body = body, data = json.decode(body) }
  local template = opts.path:gsub("%?.*$", ""):gsub("/[%x%-]+$", function(tail)
    return #tail == 37 and "/{id}" or tail
  end)
  local document = documents.served_by[version]
  local op = document:operation(opts.method or "GET", template)
  local answer = op and document:resolve(op.responses[tostring(res.status)])
  local content = answer and answer.content and answer.content["application/json"]
  if content and res.data ~= nil then
    local problem = schema.validate(document, content.schema, res.data, { strict = false })
    assert(problem == nil, problem and (opts.path .. " (" .. version .. "): " .. problem.path
      .. " " .. problem.message))
  end
  return res
end

local function login(fleet, url, version)
  local res = request(fleet, url, { method = "POST", path = "/api/oauth2/token", version = version,
    form = { { "grant_type", "password" }, { "username", ADMIN.username },
             { "password", ADMIN.password } } })
  assert.equal(200, res.status, res.body)
  return res.data.access_token
end

describe("the simulator's fleet mode", function()
  local fleet, view

  setup(function()
    fleet = sim.start { servers = 12, seed = 42, session_duration = 1 }
    view = fleet:fleet()
  end)
  teardown(function() fleet:stop() end)

  it("runs N servers on consecutive 127.0.0.1 ports and prints where its inventory is", function()
    assert.equal(12, fleet.servers)
    assert.equal(12, #view.servers)
    local first = tonumber(fleet.url:match(":(%d+)$"))
    for i, server in ipairs(view.servers) do
      assert.equal(string.format("vbr-%04d", i), server.name)
      assert.equal("https://127.0.0.1:" .. (first + i - 1), server.url)
    end
    local text = assert(shell.read(fleet.inventory))
    assert.matches("password_file = " .. fleet.password_file:gsub("%p", "%%%0"), text)
    assert.is_nil(text:find(ADMIN.password, 1, true))       -- never the secret itself
    assert.equal(ADMIN.password .. "\n", shell.read(fleet.password_file))
  end)

  it("writes an inventory vbr.inventory reads: every server, its url and tags", function()
    local inventory = require "vbr.inventory"
    local inv = assert(inventory.load(fleet.inventory))
    assert.equal(#view.servers, #inv.servers)
    for i, server in ipairs(inv.servers) do
      assert.equal(view.servers[i].name, server.name)
      assert.equal(view.servers[i].url, server.url)
      assert.same(view.servers[i].tags, server.tags)
      assert.equal("file", server.secret.kind)
    end
  end)

  it("draws the same fleet from the same seed, another from another seed", function()
    local function profiles(list)
      local out = {}
      for i, server in ipairs(list) do
        out[i] = { server.name, server.host, server.revision, table.concat(server.tags, ","),
                   table.concat(server.problems, ",") }
      end
      return out
    end
    local again = sim.start { servers = 12, seed = 42 }
    local other = sim.start { servers = 12, seed = 43 }
    finally(function() again:stop() other:stop() end)
    assert.same(profiles(view.servers), profiles(again:fleet().servers))
    assert.are_not.same(profiles(view.servers), profiles(other:fleet().servers))
  end)

  it("keeps each server's state, tokens, faults and counters apart", function()
    local one, two = view.servers[1], view.servers[2]
    fleet:on("*"):reset()
    finally(function() fleet:on("*"):reset() end)
    local token = login(fleet, one.url)
    assert.equal(401,
      request(fleet, two.url, { path = "/api/v1/serverInfo", token = token }).status)
    local settings = request(fleet, one.url, { path = "/api/v1/configBackup", token = token }).data
    settings.restorePointsToKeep = 99
    assert.equal(200, request(fleet, one.url, { method = "PUT", path = "/api/v1/configBackup",
      token = token, body = json.encode(settings) }).status)
    local token_two = login(fleet, two.url)
    assert.are_not.equal(99, request(fleet, two.url, { path = "/api/v1/configBackup",
      token = token_two }).data.restorePointsToKeep)
    fleet:on(two.name):fault { kind = "status", status = 503, path = "/api/v1/serverInfo" }
    assert.equal(200,
      request(fleet, one.url, { path = "/api/v1/serverInfo", token = token }).status)
    assert.equal(503, request(fleet, two.url, { path = "/api/v1/serverInfo",
      token = token_two }).status)
    -- one: login, GET, PUT, serverInfo; two: the foreign token, login, GET, serverInfo
    assert.equal(4, fleet:on(one.name):counters().total)
    assert.equal(4, fleet:on(two.name):counters().total)
    assert.equal(0, fleet:on(view.servers[3].name):counters().total)
    -- without a name, the admin API is the first server's, as for one server
    assert.equal(4, fleet:counters().total)
  end)

  it("tells each server's name, build and revision, and refuses newer revisions", function()
    for _, server in ipairs(view.servers) do
      local token = login(fleet, server.url, "1.1-rev0")
      local info = request(fleet, server.url, { path = "/api/v1/serverInfo", token = token,
                                                version = "1.1-rev0" }).data
      assert.equal(server.host, info.name)
      assert.equal(documents.builds[server.revision], info.buildVersion)
      local newest = documents.supported[#documents.supported]
      local refused = request(fleet, server.url, { method = "POST", path = "/api/oauth2/token",
        version = newest, form = { { "grant_type", "password" } } })
      if openapi.compare(server.revision, newest) then
        assert.equal(400, refused.status)
        assert.equal("NotImplemented", refused.data.errorCode)
      else
        assert.are_not.equal("NotImplemented", refused.data and refused.data.errorCode)
      end
    end
  end)

  it("gives each server the settings its profile's problems say", function()
    local repo_default = "88788f9e-d8f5-4eb4-bc4f-9b3f5403bcec"
    local seen = {}
    for _, server in ipairs(view.servers) do
      local has = {}
      for _, problem in ipairs(server.problems) do has[problem] = true; seen[problem] = true end
      local token = login(fleet, server.url, "1.1-rev0")
      local s = request(fleet, server.url, { path = "/api/v1/configBackup", token = token,
                                             version = "1.1-rev0" }).data
      assert.equal(not has.disabled, s.isEnabled)
      assert.equal(not has.schedule_off, s.schedule.isEnabled)
      assert.equal(not has.unencrypted, s.encryption.isEnabled)
      assert.equal(has.local_repository == true, s.backupRepositoryId == repo_default)
      assert.equal(has.low_retention == true, s.restorePointsToKeep < 7)
      assert.equal(not has.no_notifications, s.notifications.SMTPSettings.isEnabled)
      local sessions = request(fleet, server.url, { token = token, version = "1.1-rev0",
        path = "/api/v1/sessions?typeFilter=ConfigurationBackup&limit=1" }).data.data
      local newest = sessions[1]
      assert.equal(has.stuck == true, newest.state ~= "Stopped")
      assert.equal(has.failed == true, newest.result.result == "Failed")
    end
    assert.is_true(next(seen) ~= nil, "a fleet of 12 with seed 42 has no problem at all")
  end)

  it("serves the managed servers: the backup server under its own name", function()
    for _, version in ipairs { "1.1-rev0", "1.2-rev1", "1.3-rev0", "1.3-rev2" } do
      local server
      for _, candidate in ipairs(view.servers) do
        if not openapi.compare(candidate.revision, version) then server = candidate end
      end
      local token = login(fleet, server.url, version)
      local list = request(fleet, server.url, { token = token, version = version,
        path = "/api/v1/backupInfrastructure/managedServers" })
      assert.equal(200, list.status)
      local names = {}
      for _, item in ipairs(list.data.data) do
        local one = request(fleet, server.url, { token = token, version = version,
          path = "/api/v1/backupInfrastructure/managedServers/" .. item.id })
        assert.equal(item.name, one.data.name)
        names[item.type] = item.name
      end
      assert.equal(server.host, names.WindowsHost)
      assert.truthy(names.LinuxHost)
      local missing = request(fleet, server.url, { token = token, version = version,
        path = "/api/v1/backupInfrastructure/managedServers/00000000-1111-4222-8333-444444444444" })
      assert.equal(404, missing.status)
    end
  end)

  it("serves the analyzer's best practices from 1.2-rev1 on, following the settings", function()
    local server
    for _, candidate in ipairs(view.servers) do
      if not openapi.compare(candidate.revision, "1.2-rev1") then server = candidate end
    end
    fleet:on(server.name):reset()
    local old = login(fleet, server.url, "1.1-rev0")
    assert.equal(404, request(fleet, server.url, { token = old, version = "1.1-rev0",
      path = "/api/v1/securityAnalyzer/bestPractices" }).status)
    local token = login(fleet, server.url, "1.2-rev1")
    local function status_of(name)
      local items = request(fleet, server.url, { token = token, version = "1.2-rev1",
        path = "/api/v1/securityAnalyzer/bestPractices" }).data.items
      for _, item in ipairs(items) do
        if item.bestPractice == name then return item.status end
      end
    end
    local settings = request(fleet, server.url, { path = "/api/v1/configBackup", token = token,
                                                  version = "1.2-rev1" }).data
    local enabled = "Configuration backup is enabled"
    assert.equal(settings.isEnabled and "OK" or "Violation", status_of(enabled))
    settings.isEnabled = not settings.isEnabled
    assert.equal(200, request(fleet, server.url, { method = "PUT", path = "/api/v1/configBackup",
      token = token, version = "1.2-rev1", body = json.encode(settings) }).status)
    assert.equal(settings.isEnabled and "OK" or "Violation", status_of(enabled))
    fleet:on(server.name):reset()
  end)

  it("counts the client connections open at once over all servers", function()
    local urls = {}
    for i = 1, 3 do
      urls[i] = view.servers[i].url .. "/api/v1/serverInfo"
      -- each answer waits, so that the three connections are open together
      fleet:on(view.servers[i].name):fault { kind = "delay", ms = 400 }
    end
    fleet:reset_fleet_counters()
    -- one curl process, three connections held open at once by --parallel
    local ok, output = shell.run("curl -sS --parallel --parallel-immediate --cacert "
      .. quote(fleet.ca_file) .. " -H 'x-api-version: 1.3-rev2' -o /dev/null -o /dev/null "
      .. "-o /dev/null " .. quote(urls[1]) .. " " .. quote(urls[2]) .. " " .. quote(urls[3]))
    assert(ok, output)
    local counted = fleet:fleet()
    assert.equal(3, counted.totals.connections)
    assert.equal(3, counted.connections.peak)
    assert.equal(0, counted.connections.open)
  end)
end)
