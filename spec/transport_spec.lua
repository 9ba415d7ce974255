-- The transport contract (src/engine.h), the same cases against every
-- transport: login, a refresh under load, a re-login, retries and
-- Retry-After, a POST never resent, timeouts, the size cap (the step's
-- max_response_size: 16 MiB by default, 1 MiB here), redirects refused.
-- Each transport runs against a simulator of its own.
--
-- Adding a transport is one entry in
-- TRANSPORTS: `start(sim)` returns an object with
--   request(method, path) -> { status = n, length = n } | { err = fields }
--   parallel(n, method, path) -> { 200 | 502, ... } (n requests at once)
--   stop()
-- made with the options of conformance.OPTIONS; errors as
-- conformance.error_fields gives them. A transport driven from a Lua
-- coroutine runs each request in one (`coroutine.wrap`) and `parallel`
-- starts n of them before waiting for any.
local vbr = require "vbr"
local cjson = require "cjson"
local sim_lib = require "spec.support.sim"
local gateway_lib = require "spec.support.openresty_gateway"
local conformance = require "spec.support.conformance_gateway"

local function options(sim)
  local t = { url = sim.url, ca_file = sim.ca_file, username = "admin",
              password = sim.users.admin.password }
  for key, value in pairs(conformance.OPTIONS) do t[key] = value end
  return t
end

local function outcome(res, err)
  if res then return { status = res.status, length = #res.body } end
  return { err = conformance.error_fields(err) }
end

local TRANSPORTS = {
  {
    name = "libcurl multi (vbr.multi, each request a task of vbr.fleet.runner)",
    start = function(sim)
      local multi = require "vbr.multi"
      local runner = require "vbr.fleet.runner"
      local loop = multi.loop()
      local client
      local function connect()
        if client then return end
        local o = options(sim)
        o.transport = loop
        client = assert(vbr.connect(o))
      end
      local t = {}
      function t.request(method, path)           -- outside a task: waits for its answer
        connect()
        return outcome(client.transport:request(method, path, { decode = false }))
      end
      function t.parallel(n, method, path)      -- n tasks, one client: its jobs take turns
        connect()
        local results = runner.run(n, function()
          local res, err = client.transport:request(method, path, { decode = false })
          return { code = res and 200 or 502, err = err }
        end, { loop = loop, concurrency = n })
        local codes = {}
        for i = 1, n do codes[i] = results[i].ok and results[i].value.code or 502 end
        return codes
      end
      function t.stop()
        if client then client:close() end
        loop:close()
      end
      return t
    end,
  },
  {
    name = "libcurl easy (the core's own)",
    start = function(sim)
      local client
      local t = {}
      function t.request(method, path)
        if not client then client = assert(vbr.connect(options(sim))) end
        return outcome(client.core:request(method, path, { decode = false }))
      end
      function t.parallel(n, method, path)      -- one process: one after the other
        local codes = {}
        for i = 1, n do codes[i] = t.request(method, path).err and 502 or 200 end
        return codes
      end
      function t.stop() if client then client:close() end end
      return t
    end,
  },
  {
    name = "nginx subrequests (vbr.nginx, 2 workers)",
    -- the worker that did not take the last new pair sends its old token
    -- once, or twice when a timed-out attempt carried it too
    stale_tokens = 2,
    start = function(sim)
      local support = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
      local gateway = gateway_lib.start(sim, { workers = 2, edit = function(conf)
        conf = conf:gsub('lua_package_path "', 'lua_package_path "' .. support .. "support/?.lua;")
        conf = conf:gsub("proxy_read_timeout %d+s;", "proxy_read_timeout "
          .. conformance.OPTIONS.timeout .. "s;")
        return (conf:gsub("\n        location = /healthz {", [[

        location = /conformance {
            content_by_lua_block { require("conformance_gateway").handle() }
        }
%0]]))
      end })
      local function target(method, path)
        return "/conformance?method=" .. method .. "&path=" .. path
      end
      local t = {}
      function t.request(method, path)
        local _, body = gateway:request("GET", target(method, path))
        return cjson.decode(body)
      end
      function t.parallel(n, method, path)
        return (gateway:parallel(n, "GET", target(method, path)))
      end
      function t.stop() gateway:stop() end
      return t
    end,
  },
}

for _, transport in ipairs(TRANSPORTS) do
  describe("the transport contract: " .. transport.name, function()
    local sim, t

    setup(function()
      sim = sim_lib.start { session_duration = 600 }
      local ok, started = pcall(transport.start, sim)
      if not ok then sim:stop(); error(started, 0) end
      t = started
    end)
    teardown(function()
      if t then t.stop() end
      if sim then sim:stop() end
    end)
    before_each(function()
      sim:clear_faults()
      sim:reset_counters()
    end)

    local function count(key)
      return sim:counters().requests[key] or 0
    end
    -- The requests for `key` that carried a current token. A gateway worker
    -- whose token another worker replaced meanwhile sends its old token
    -- (401), then takes the new pair: no retry, and bounded per request
    -- (transport.stale_tokens). POST counts stay raw: a POST is never resent.
    local function sent(key)
      local counters = sim:counters()
      local refused = counters.unauthorized[key] or 0
      assert.is_true(refused <= (transport.stale_tokens or 0),
        refused .. " requests refused with 401 for " .. key)
      return (counters.requests[key] or 0) - refused
    end

    it("logs in once, then sends the call", function()
      local r = t.request("GET", "/api/v1/serverInfo")
      assert.is_nil(r.err)
      assert.equal(200, r.status)
      assert.equal(1, count("POST /api/oauth2/token"))
      assert.equal(1, sent("GET /api/v1/serverInfo"))
    end)

    it("refreshes once for 20 requests meeting an expired token", function()
      sim:expire_tokens()
      local codes = t.parallel(20, "GET", "/api/v1/serverInfo")
      assert.same({ 200, 200, 200, 200, 200, 200, 200, 200, 200, 200,
                    200, 200, 200, 200, 200, 200, 200, 200, 200, 200 }, codes)
      assert.equal(1, count("POST /api/oauth2/token"))
    end)

    it("logs in with the password again when the refresh is refused", function()
      sim:expire_tokens()
      sim:fault { kind = "refuse_refresh" }
      local r = t.request("GET", "/api/v1/serverInfo")
      assert.is_nil(r.err)
      assert.equal(2, count("POST /api/oauth2/token"))
    end)

    it("retries a GET after 503 with Retry-After", function()
      sim:fault { kind = "status", status = 503, retry_after = 1, count = 2,
                  method = "GET", path = "/api/v1/serverInfo" }
      local r = t.request("GET", "/api/v1/serverInfo")
      assert.is_nil(r.err)
      assert.equal(3, sent("GET /api/v1/serverInfo"))
    end)

    it("never resends a POST that may have been processed", function()
      sim:fault { kind = "reset_after", method = "POST", path = "/api/v1/configBackup/backup" }
      local r = t.request("POST", "/api/v1/configBackup/backup")
      assert.equal("network", r.err.kind)
      assert.is_true(r.err.outcome_unknown)
      assert.is_false(r.err.retryable)
      assert.equal(1, count("POST /api/v1/configBackup/backup"))
    end)

    it("retries a GET that timed out, never a POST", function()
      sim:fault { kind = "delay", ms = 3000, method = "GET", path = "/api/v1/serverInfo" }
      local r = t.request("GET", "/api/v1/serverInfo")
      assert.is_nil(r.err)
      -- resent after the timeout; once more if that attempt also outlasted
      -- the 2 s (a loaded machine, under valgrind), never past the attempts
      local gets = sent("GET /api/v1/serverInfo")
      assert.is_true(gets >= 2 and gets <= conformance.OPTIONS.retry.attempts,
        gets .. " GETs for one request")
      sim:fault { kind = "delay", ms = 3000, method = "POST", path = "/api/v1/configBackup/backup" }
      r = t.request("POST", "/api/v1/configBackup/backup")
      assert.equal("timeout", r.err.kind)
      assert.is_true(r.err.outcome_unknown)
      assert.equal(1, count("POST /api/v1/configBackup/backup"))
    end)

    it("refuses an answer above the cap", function()
      local kib = conformance.OPTIONS.max_response_size / 1024
      sim:fault { kind = "raw", status = 200, path = "/api/v1/serverInfo", body = "{\"a\":\"",
                  parts = { { text = ("x"):rep(1024), count = kib + 1 }, { text = "\"}" } } }
      local r = t.request("GET", "/api/v1/serverInfo")
      assert.equal("http", r.err.kind)
      assert.matches("response too large", r.err.message, 1, true)
      assert.equal(1, sent("GET /api/v1/serverInfo"))
      assert.is_nil(t.request("GET", "/api/v1/serverInfo").err)   -- the next one is read again
    end)

    it("does not follow a redirect", function()
      sim:fault { kind = "raw", status = 302, path = "/api/v1/serverInfo",
                  headers = { Location = "https://evil.example:8443/steal" } }
      local r = t.request("GET", "/api/v1/serverInfo")
      assert.equal("http", r.err.kind)
      assert.equal(302, r.err.status)
      assert.equal("redirect to evil.example:8443 not followed", r.err.message)
      assert.equal(1, sent("GET /api/v1/serverInfo"))
    end)
  end)
end
