-- vbr inside nginx: the C core's token sharing (step API, canned answers),
-- vbr.nginx's options, then the example gateway (examples/openresty) in a
-- real nginx (Debian's, with the lua module, 2 workers) against the
-- simulator: concurrency, one refresh under load, no [error] in the log.
local core = require "vbr.core"
local cjson = require "cjson"
local sim_lib = require "spec.support.sim"
local gateway_lib = require "spec.support.openresty_gateway"

local JSON = { ["Content-Type"] = "application/json; charset=utf-8" }

local function token_answer(access, refresh, expires_in)
  return { status = 200, headers = JSON, body = cjson.encode {
    access_token = access, refresh_token = refresh, token_type = "bearer",
    expires_in = expires_in or 900 } }
end

local function offline()
  return core.new { url = "https://vbr.example", username = "svc", password = "Canned p@ss",
                    api_version = "auto" }
end

local function shell(command)
  local pipe = assert(io.popen(command))
  local output = pipe:read("*a")
  pipe:close()
  return output
end

describe("vbr.core credentials for several processes", function()
  it("tokens() gives the pair a login obtained; set_tokens() lets another client use it", function()
    local a, b = offline(), offline()
    assert.same({ generation = 0 }, a:tokens())
    local job = a:begin_login()
    assert.equal("login", job:next().purpose)
    assert.equal("done", job:next(token_answer("AT-1", "RT-1")).action)
    local t = a:tokens()
    assert.equal("AT-1", t.access_token)
    assert.equal("RT-1", t.refresh_token)
    assert.equal(900, t.lifetime)
    assert.is_true(t.expires_in > 899 and t.expires_in <= 900)
    assert.equal("1.3-rev2", t.api_version)
    assert.is_true(t.generation > 0)

    b:set_tokens(t)
    assert.equal("1.3-rev2", b:api_version())        -- "auto" adopts the revision
    local step = b:begin("GET", "/api/v1/serverInfo"):next()
    assert.equal("call", step.purpose)                 -- no login of its own
    assert.equal("Bearer AT-1", step.headers.Authorization)
    assert.equal(0, b:stats().logins)
    b:set_tokens(nil)
    assert.is_nil(b:tokens().access_token)
    a:close(); b:close()
  end)

  it("withdraw(): a refresh not sent because another process refreshed meanwhile", function()
    local c = offline()
    c:set_tokens { access_token = "AT-old", refresh_token = "RT-old", expires_in = -1,
                   lifetime = 900, api_version = "1.3-rev1" }
    local job = c:begin("GET", "/api/v1/configBackup")
    local refresh = job:next()
    assert.equal("refresh", refresh.purpose)
    assert.matches("refresh_token=RT%-old", refresh.body)
    local requests = c:stats().requests
    c:set_tokens { access_token = "AT-new", refresh_token = "RT-new", expires_in = 900 }
    local call = job:withdraw()
    assert.equal("call", call.purpose)
    assert.equal("Bearer AT-new", call.headers.Authorization)
    assert.equal(requests, c:stats().requests)        -- the withdrawn one is not counted twice
    assert.equal("done", job:next { status = 200, headers = JSON, body = "{}" }.action)
    assert.equal(0, c:stats().refreshes)
    assert.has_error(function() job:withdraw() end)
    c:close()
  end)

  it("withdraw() of a login job is done once credentials are there", function()
    local c = offline()
    local job = c:begin_login()
    job:next()
    c:set_tokens { access_token = "AT-x", expires_in = 900 }
    assert.equal("done", job:withdraw().action)
    local call = c:begin("GET", "/api/v1/serverInfo")
    assert.has_error(function() call:withdraw() end, "vbr: job:withdraw needs a pending login or "
      .. "refresh send step")
    c:close()
  end)

  it("set_tokens() refuses what cannot go into a header, without echoing it", function()
    local c = offline()
    local ok, err = pcall(c.set_tokens, c, { access_token = "AT\r\nX-Evil: 1", expires_in = 9 })
    assert.is_false(ok)
    assert.not_matches("Evil", tostring(err))
    assert.has_error(function() c:set_tokens { access_token = "AT" } end,
      "vbr: tokens need a numeric 'expires_in'")
    assert.has_error(function()
      c:set_tokens { access_token = "AT", expires_in = 9, api_version = "13" }
    end)
    assert.is_nil(c:tokens().access_token)
    c:close()
  end)
end)

describe("vbr.nginx options", function()
  local nginx = require "vbr.nginx"
  local base = { url = "https://vbr.example", username = "u", password = "p" }
  local function with(extra)
    local t = {}
    for k, v in pairs(base) do t[k] = v end
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end
  local saved
  local phase = "content"
  before_each(function()
    saved = rawget(_G, "ngx")
    phase = "content"
    rawset(_G, "ngx", { get_phase = function() return phase end, location = {},
                        shared = { vbr_tokens = {}, other = {} } })
  end)
  after_each(function() rawset(_G, "ngx", saved) end)

  it("outside nginx leaves the options alone, and refuses the nginx table", function()
    rawset(_G, "ngx", nil)
    local options = with()
    local core_options, nginx_options = nginx.split_options(options)
    assert.equal(options, core_options)
    assert.is_nil(nginx_options)
    assert.has_error(function() nginx.split_options(with { nginx = {} }) end,
      "vbr: option 'nginx' needs nginx with lua-nginx-module (OpenResty)")
    assert.has_error(function() require("vbr").connect(with { nginx = {} }) end,
      "vbr: option 'nginx' needs nginx with lua-nginx-module (OpenResty)")
  end)

  it("inside a request handler picks nginx, with defaults; nginx = false picks libcurl", function()
    local core_options, nginx_options = nginx.split_options(with { timeout = 20 })
    assert.is_nil(core_options.nginx)
    assert.same({ location = "/_vbr", shared_dict = "vbr_tokens", timeout = 20,
                  max_response_size = 16 * 1024 * 1024 }, nginx_options)
    local _, custom = nginx.split_options(with { nginx = { location = "/vbr-proxy",
                                                           shared_dict = "other" } })
    assert.equal("/vbr-proxy", custom.location)
    assert.equal("other", custom.shared_dict)
    local plain, none = nginx.split_options(with { nginx = false })
    assert.is_nil(none)
    assert.is_nil(plain.nginx)
    assert.equal("u", plain.username)
  end)

  it("refuses unknown keys, a missing shared dict and the libcurl-only TLS options", function()
    assert.has_error(function() nginx.split_options(with { nginx = { locaton = "/x" } }) end,
      "vbr: unknown option 'nginx.locaton' (known: location, shared_dict)")
    assert.has_error(function() nginx.split_options(with { nginx = { location = "x" } }) end,
      "vbr: option 'nginx.location' must start with / (got 'x')")
    assert.has_error(function() nginx.split_options(with { nginx = { shared_dict = "nope" } }) end,
      "vbr: nginx has no shared dict 'nope': add `lua_shared_dict nope 1m;` to the http block")
    assert.has_error(function() nginx.split_options(with { nginx = 3 }) end)
    assert.has_error(function() nginx.split_options(with { ca_file = "/etc/ca.pem" }) end,
      "vbr: option 'ca_file' does not apply inside nginx: set proxy_ssl_trusted_certificate "
      .. "in the location /_vbr (see README, OpenResty)")
    assert.has_error(function() nginx.split_options(with { insecure = true }) end)
  end)

  it("refuses phases where subrequests do not work", function()
    phase = "timer"
    local ok, err = pcall(nginx.split_options, with())
    assert.is_false(ok)
    assert.matches("not the 'timer' phase; pass nginx = false", err)
    local _, none = nginx.split_options(with { nginx = false })
    assert.is_nil(none)
  end)
end)

describe("the OpenResty gateway (examples/openresty) against the simulator", function()
  local sim, gateway

  setup(function()
    sim = sim_lib.start { session_duration = 1 }
    gateway = gateway_lib.start(sim, { workers = 2 })
  end)

  teardown(function()
    if gateway then gateway:stop() end
    if sim then sim:stop() end
  end)

  local function token_stats()
    local status, body = gateway:request("GET", "/configbackup/tokens")
    assert.equal(200, status, body)
    return cjson.decode(body)
  end

  local function token_requests()
    return sim:counters().requests["POST /api/oauth2/token"] or 0
  end

  local function all_ok(codes, n)
    assert.equal(n, #codes)
    for _, code in ipairs(codes) do assert.equal(200, code) end
  end

  it("from a cold start, 50 concurrent requests on 2 workers log in once", function()
    local codes = gateway:parallel(50, "GET", "/configbackup")
    all_ok(codes, 50)
    assert.equal(1, token_requests())
    assert.same({ logins = 1, refreshes = 0 }, token_stats())
  end)

  it("GET /configbackup: the settings and the last backup as JSON", function()
    local status, body = gateway:request("GET", "/configbackup")
    assert.equal(200, status, body)
    local answer = cjson.decode(body)
    assert.equal(true, answer.settings.isEnabled)
    assert.equal(10, answer.settings.restorePointsToKeep)
    assert.same({}, answer.settings.notifications.SMTPSettings.recipients)
    assert.matches("%[%]", body)                       -- an empty array stays one
    assert.equal("Success", answer.last.result)
    assert.equal(405, (gateway:request("POST", "/configbackup")))
  end)

  it("POST /configbackup/run starts a backup; ?wait follows it to the end", function()
    local status, body = gateway:request("POST", "/configbackup/run?wait=20")
    assert.equal(200, status, body)
    local session = cjson.decode(body).session
    assert.equal("Success", session.result)
    assert.equal("Stopped", session.state)
    local _, shown = gateway:request("GET", "/configbackup")
    assert.equal(session.id, cjson.decode(shown).last.id)
    status, body = gateway:request("POST", "/configbackup/run")
    assert.equal(202, status, body)
    assert.matches("^%x+%-", cjson.decode(body).session.id)
    status, body = gateway:request("POST", "/configbackup/run")   -- still running
    assert.equal(409, status, body)
    assert.equal("conflict", cjson.decode(body).error.kind)
    assert.equal(400, (gateway:request("POST", "/configbackup/run?wait=x")))
  end)

  it("pools its TLS connections to VBR", function()
    gateway:request("GET", "/configbackup")
    gateway:request("GET", "/configbackup")
    sim:reset_counters()
    for _ = 1, 20 do assert.equal(200, (gateway:request("GET", "/configbackup"))) end
    local counters = sim:counters()
    assert.equal(40, counters.total)
    assert.is_true(counters.tls_handshakes <= 2, counters.tls_handshakes .. " handshakes")
  end)

  it("sends VBR nothing of the client's own request", function()
    local status = gateway:request("GET", "/configbackup", {
      "User-Agent: leak-check-agent", "Referer: https://leak-check-referer/",
      "Authorization: Bearer leak-check-token", "x-api-version: 0.0-rev0",
    })
    assert.equal(200, status)
    shell("sleep 1.5")                                 -- the simulator's access log flushes
    local log = shell("cat '" .. sim.dir .. "/logs/access.log'")
    assert.matches("GET /api/v1/configBackup", log)
    assert.not_matches("leak%-check", log)
  end)

  it("50 concurrent requests while each VBR answer takes 200 ms finish in well under "
    .. "50 x 200 ms", function()
    sim:reset_counters()
    sim:fault { kind = "delay", ms = 200, count = 100 }   -- 2 answers per gateway request
    local codes, ms = gateway:parallel(50, "GET", "/configbackup")
    sim:clear_faults()
    print(("\nopenresty: 50 concurrent GET /configbackup (2 VBR answers each, 200 ms per "
      .. "answer): %d ms wall time; serially at least %d ms"):format(ms, 50 * 2 * 200))
    all_ok(codes, 50)
    assert.equal(100, sim:counters().total)
    assert.is_true(ms < 50 * 200 / 2, ms .. " ms")
  end)

  it("tokens expired at the server under concurrent load: exactly one refresh, no failure",
    function()
    local before = token_stats()
    sim:reset_counters()
    sim:expire_tokens()
    -- the 50 requests go out with the dead token together and meet 401 together
    sim:fault { kind = "delay", ms = 100, count = 50, method = "GET",
                path = "/api/v1/configBackup" }
    local codes = gateway:parallel(50, "GET", "/configbackup")
    sim:clear_faults()
    all_ok(codes, 50)
    local refreshes = token_requests()
    local after = token_stats()
    print(("\nopenresty: after expiry, 50 concurrent requests: %d token request(s) reached "
      .. "the simulator (refreshes %d, logins %d)"):format(refreshes,
      after.refreshes - before.refreshes, after.logins - before.logins))
    assert.equal(1, refreshes)
    assert.equal(before.refreshes + 1, after.refreshes)
    assert.equal(before.logins, after.logins)
  end)

  it("a token running out of lifetime under concurrent load: exactly one refresh", function()
    sim:config { token_lifetime = 6 }
    sim:expire_tokens()
    assert.equal(200, (gateway:request("GET", "/configbackup")))   -- now a 6 s token
    shell("sleep 3.5")                         -- less than half its life left: refresh due
    local before = token_stats()
    sim:reset_counters()
    local codes = gateway:parallel(50, "GET", "/configbackup")
    sim:config { token_lifetime = 900 }
    all_ok(codes, 50)
    assert.equal(1, token_requests())
    local after = token_stats()
    assert.equal(before.refreshes + 1, after.refreshes)
    assert.equal(before.logins, after.logins)
  end)

  it("a refused refresh under concurrent load: one password login takes over", function()
    local before = token_stats()
    sim:reset_counters()
    sim:fault { kind = "refuse_refresh", count = 1 }
    sim:expire_tokens()
    local codes = gateway:parallel(20, "GET", "/configbackup")
    all_ok(codes, 20)
    assert.equal(2, token_requests())          -- the refused refresh, then one login
    local after = token_stats()
    assert.equal(before.logins + 1, after.logins)
    assert.equal(before.refreshes, after.refreshes)
  end)

  it("leaves no [error] line in nginx's error log", function()
    assert.same({}, gateway:error_lines())
  end)
end)

describe("a gateway that does not trust VBR's certificate", function()
  local sim, gateway

  setup(function()
    sim = sim_lib.start {}
    gateway = gateway_lib.start(sim, { workers = 1, edit = function(conf)
      return (conf:gsub('proxy_ssl_trusted_certificate "[^"]*"',
        'proxy_ssl_trusted_certificate "/etc/ssl/certs/ca-certificates.crt"'))
    end })
  end)

  teardown(function()
    if gateway then gateway:stop() end
    if sim then sim:stop() end
  end)

  it("refuses to talk to it", function()
    local status, body = gateway:request("GET", "/configbackup")
    assert.equal(502, status, body)
    local err = cjson.decode(body).error
    assert.equal("network", err.kind)
    assert.matches("nginx could not connect, or the TLS handshake failed", err.message)
    assert.equal(0, sim:counters().total)
    assert.matches("upstream SSL certificate verify error", gateway:error_log())
  end)
end)

describe("a gateway without vbr's proxy location", function()
  local sim, gateway

  setup(function()
    sim = sim_lib.start {}
    gateway = gateway_lib.start(sim, { workers = 1, edit = function(conf)
      return (conf:gsub("\n%s*location = /_vbr {.-\n        }\n", "\n"))
    end })
  end)

  teardown(function()
    if gateway then gateway:stop() end
    if sim then sim:stop() end
  end)

  it("says so, and sends VBR nothing", function()
    local status, body = gateway:request("GET", "/configbackup")
    assert.equal(502, status, body)
    local err = cjson.decode(body).error
    assert.equal("network", err.kind)
    assert.matches("the location /_vbr is missing or is not vbr's proxy location", err.message)
    assert.equal(0, sim:counters().total)
    assert.matches("the location /_vbr is missing", gateway:error_log())
  end)
end)
