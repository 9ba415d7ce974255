-- The multi transport (vbr.multi, core.multi) under a fleet, over real HTTPS
-- against the simulator's fleet: the concurrency limit as the simulator
-- counts connections, one connection per client, dead, slow and hostile
-- servers kept to themselves, token refresh per server, sleeps and session
-- waits that yield, a POST never sent twice.
local vbr = require "vbr"
local multi = require "vbr.multi"
local runner = require "vbr.fleet.runner"
local fleet_lib = require "vbr.fleet"
local inventory = require "vbr.inventory"
local support = require "spec.support.fleet"
local shell = require "spec.support.shell"

local TOKEN = "POST /api/oauth2/token"
local START = "POST /api/v1/configBackup/backup"

describe("the multi transport", function()
  local started, fleet, view, dir

  setup(function()
    started = support.start { servers = 10, seed = 48, session_duration = 1 }
    fleet, view, dir = started.sim, started.view, started.dir
  end)
  teardown(function() started:stop() end)
  before_each(function()
    fleet:on("*"):reset()
    fleet:reset_fleet_counters()
  end)

  local function open(options)
    return assert(fleet_lib.open(fleet.inventory, options))
  end

  it("never has more connections open than the concurrency, one per client", function()
    fleet:on("*"):config { latency_ms = 30 }
    local results = open():run(function(client)
      for _ = 1, 3 do assert(client:server_info()) end
      return client.configbackup:get()
    end, { concurrency = 3 })
    for _, result in ipairs(results) do assert.is_true(result.ok, tostring(result.err)) end
    local counted = fleet:fleet()
    assert.is_true(counted.connections.peak <= 3, "peak " .. counted.connections.peak)
    assert.equal(3, counted.connections.peak)        -- and it did run three at once
    assert.equal(10, counted.totals.connections)     -- each client kept its one connection
    assert.equal(0, counted.connections.open)        -- and closed it
    for _, server in ipairs(view.servers) do
      assert.equal(1, fleet:on(server.name):counters().connections, server.name)
    end
  end)

  it("keeps a dead, a hung and a hostile server from the others", function()
    local text = assert(shell.read(fleet.inventory))
    shell.write(dir .. "/inventory", text .. "\n[vbr-dead]\nurl = https://127.0.0.1:9\n")
    local hung, hostile = view.servers[2].name, view.servers[3].name
    fleet:on(hung):fault { kind = "delay", ms = 600000, path = "/api/v1/configBackup" }
    fleet:on(hostile):fault { kind = "raw", count = 10, path = "/api/v1/serverInfo",
      body = '{"name": "\27]0;owned\7", "buildVersion": ' .. ("["):rep(5000) }
    local order = {}
    local f = assert(fleet_lib.open(dir .. "/inventory"))
    local results = f:run(function(client)
      local info, err = client:server_info()
      if not info then return nil, err end
      return assert(client.configbackup:get())
    end, { concurrency = 11, deadline = 10,
           on_result = function(result) order[#order + 1] = result.name end })
    local by_name = {}
    for _, result in ipairs(results) do by_name[result.name] = result end
    assert.equal("timeout", by_name[hung].err.kind)
    assert.equal("network", by_name["vbr-dead"].err.kind)
    assert.is_false(by_name[hostile].ok)
    local healthy = 0
    for _, server in ipairs(view.servers) do
      if server.name ~= hung and server.name ~= hostile then
        assert.is_true(by_name[server.name].ok, server.name .. ": "
          .. tostring(by_name[server.name].err))
        healthy = healthy + 1
      end
    end
    assert.equal(8, healthy)
    -- the hung server held up nobody: it ended last, at its deadline
    assert.equal(hung, order[#order])
    assert.equal(11, #order)
  end)

  it("refreshes each server's token on its own, while other servers wait", function()
    fleet:on("*"):config { token_lifetime = 2 }
    local results = open({ limit = "vbr-0001,vbr-0002,vbr-0003,vbr-0004" }):run(function(client)
      assert(client.configbackup:get())
      client.sleep(3)                   -- yields: the other servers run meanwhile
      assert(client.configbackup:get())
      return client.core:stats()
    end, { concurrency = 4 })
    for i = 1, 4 do
      assert.is_true(results[i].ok, tostring(results[i].err))
      -- one password login, then one refresh (the token had expired)
      assert.equal(1, results[i].value.logins, results[i].name)
      assert.equal(1, results[i].value.refreshes, results[i].name)
      local counters = fleet:on(view.servers[i].name):counters()
      assert.equal(2, counters.requests["GET /api/v1/configBackup"])
      assert.is_true(counters.requests[TOKEN] >= 2)
    end
  end)

  it("follows many sessions at once: session:wait yields", function()
    local events = {}
    local f = open { limit = "vbr-0001,vbr-0002,vbr-0004,vbr-0005" }
    local results = f:backup { wait = true, force = true, concurrency = 4,
      on_session = function(name, session)
        events[#events + 1] = { name = name, state = session.state }
      end }
    for i = 1, 4 do assert.is_true(results[i].ok, tostring(results[i].err)) end
    -- every session started before the first one was seen stopped
    local started_names, first_stop = {}, nil
    for i, event in ipairs(events) do
      if event.state == "Stopped" then first_stop = first_stop or i
      elseif not first_stop then started_names[event.name] = true end
    end
    local count = 0
    for _ in pairs(started_names) do count = count + 1 end
    assert.equal(4, count)
  end)

  it("never sends a start twice when its answer is lost", function()
    local name = view.servers[4].name
    fleet:on(name):fault { kind = "reset_after", method = "POST",
                           path = "/api/v1/configBackup/backup" }
    local results = open({ limit = name .. ",vbr-0001" }):backup { force = true }
    assert.equal(name, results[2].name)              -- inventory order
    assert.is_false(results[2].ok)
    assert.is_true(results[2].err.outcome_unknown)
    assert.is_true(results[1].ok, tostring(results[1].err))
    assert.equal(1, fleet:on(name):counters().requests[START])
  end)

  it("runs the requests of one client shared by many tasks one after the other", function()
    local inv = assert(inventory.load(fleet.inventory))
    local options = assert(inventory.connect_options(inv.servers[2]))
    local loop = multi.loop()
    options.transport = loop
    fleet:on(view.servers[2].name):config { token_lifetime = 1 }
    local client = assert(vbr.connect(options))
    fleet:reset_fleet_counters()
    client.sleep(1.5)                       -- outside a task: a plain sleep
    local results = runner.run(6, function()
      return client:server_info()
    end, { loop = loop, concurrency = 6 })
    for i = 1, 6 do assert.is_true(results[i].ok, tostring(results[i].err)) end
    local stats = client.core:stats()
    assert.equal(1, stats.refreshes)        -- the first one refreshed, the others used it
    local counters = fleet:on(view.servers[2].name):counters()
    assert.equal(6, counters.requests["GET /api/v1/serverInfo"])
    assert.equal(0, counters.connections)   -- all on the connection of its login
    client:close()
    loop:close()
  end)

  it("serves a client outside a fleet as well, and after it is closed refuses misuse", function()
    local inv = assert(inventory.load(fleet.inventory))
    local options = assert(inventory.connect_options(inv.servers[1]))
    local loop = multi.loop()
    options.transport = loop
    local client = assert(vbr.connect(options))
    assert.equal(view.servers[1].host, assert(client:server_info()).name)
    client.sleep(0)
    assert(client:logout())
    client:close()
    assert.has_error(function() client:server_info() end)
    assert.equal(0, loop:count())
    loop:close()
    loop:close()
    assert.has_error(function() vbr.connect { url = "https://127.0.0.1:9", username = "x",
                                                password = "y", transport = "fast" } end)
  end)
end)
