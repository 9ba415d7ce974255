-- vbr inside nginx: vbr.nginx's options, then the example gateway
-- (examples/openresty) in a real nginx (Debian's, with the lua module, 2
-- workers) against the simulator: concurrency, one refresh under load, a
-- failed refresh shared with its waiters, no [error] in the log. (The
-- engine's acquire and publish steps with canned answers: core_spec.)
local cjson = require "cjson"
local sim_lib = require "spec.support.sim"
local gateway_lib = require "spec.support.openresty_gateway"

-- A simulator, and the example gateway in front of it.
local function start_both(sim_options, gateway_options)
  local sim = sim_lib.start(sim_options or {})
  local ok, gateway = pcall(gateway_lib.start, sim, gateway_options)
  if not ok then sim:stop(); error(gateway, 0) end
  return sim, gateway
end

local function stop_both(sim, gateway)
  if gateway then gateway:stop() end
  if sim then sim:stop() end
end

local function all_ok(codes, n)
  assert.equal(n, #codes)
  for _, code in ipairs(codes) do assert.equal(200, code) end
end

local function shell(command)
  local pipe = assert(io.popen(command))
  local output = pipe:read("*a")
  pipe:close()
  return output
end

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
    -- the limits (timeout, max_response_size) come with each step, from the core
    assert.same({ location = "/_vbr", shared_dict = "vbr_tokens" }, nginx_options)
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

  setup(function() sim, gateway = start_both({ session_duration = 1 }, { workers = 2 }) end)
  teardown(function() stop_both(sim, gateway) end)

  local function token_stats()
    local status, body = gateway:request("GET", "/configbackup/tokens")
    assert.equal(200, status, body)
    return cjson.decode(body)
  end

  local function token_requests()
    return sim:counters().requests["POST /api/oauth2/token"] or 0
  end

  it("from a cold start, 50 concurrent requests on 2 workers log in once", function()
    local codes = gateway:parallel(50, "GET", "/configbackup")
    all_ok(codes, 50)
    -- counted before the stats' own request; when it is not 1, the message
    -- names every request VBR got and vbr's logins and refreshes
    local requests = sim:counters().requests
    local stats = token_stats()
    assert.equal(1, requests["POST /api/oauth2/token"] or 0,
      cjson.encode(requests) .. " " .. cjson.encode(stats))
    assert.same({ logins = 1, refreshes = 0 }, stats)
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

describe("a gateway at a cold start while VBR's token endpoint is slow", function()
  local sim, gateway

  -- The kernel spreads the connections over both workers (reuseport), and
  -- the access log names the worker and the time of each request.
  setup(function() sim, gateway = start_both({ record_requests = true }, { workers = 2,
    edit = function(conf)
      conf = conf:gsub("\n(%s*)listen ([^;\n]+);", "\n%1listen %2 reuseport;", 1)
      return (conf:gsub('\n(%s*)access_log ("[^"]*");', '\n%1log_format vbr_worker '
        .. '"$pid $request_time $status $uri";\n%1access_log %2 vbr_worker;', 1))
    end }) end)
  teardown(function() stop_both(sim, gateway) end)

  -- The grant of each token request VBR received, in order.
  local function grants()
    local list = {}
    for line in (io.open(sim.dir .. "/requests.jsonl") or io.open("/dev/null")):lines() do
      local request = cjson.decode(line)
      if request.path == "/api/oauth2/token" then
        list[#list + 1] = type(request.body) == "string"
          and (request.body:match("grant_type=([%w_]+)") or "?"):lower()
      end
    end
    return list
  end

  it("50 concurrent requests on 2 workers, all waiting for the one slow login", function()
    sim:fault { kind = "delay", ms = 1500, count = 10, method = "POST",
                path = "/api/oauth2/token" }
    local codes = gateway:parallel(50, "GET", "/configbackup")
    sim:clear_faults()
    all_ok(codes, 50)
    -- both workers had requests that waited out the login: both were
    -- waiting for it at once, not one after the other
    local waited, workers = {}, 0
    for pid, seconds in gateway:access_log():gmatch("(%d+) ([%d.]+) 200 /configbackup\n") do
      if tonumber(seconds) >= 1.4 then
        if not waited[pid] then workers = workers + 1 end
        waited[pid] = (waited[pid] or 0) + 1
      end
    end
    assert.equal(2, workers, cjson.encode(waited))
    assert.same({ "password" }, grants())
    local stats = cjson.decode(select(2, gateway:request("GET", "/configbackup/tokens")))
    assert.same({ logins = 1, refreshes = 0 }, stats)
  end)
end)

describe("a gateway that does not trust VBR's certificate", function()
  local sim, gateway

  setup(function() sim, gateway = start_both({}, { workers = 1, edit = function(conf)
      return (conf:gsub('proxy_ssl_trusted_certificate "[^"]*"',
        'proxy_ssl_trusted_certificate "/etc/ssl/certs/ca-certificates.crt"'))
    end }) end)
  teardown(function() stop_both(sim, gateway) end)

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

  setup(function() sim, gateway = start_both({}, { workers = 1, edit = function(conf)
      return (conf:gsub("\n%s*location = /_vbr {.-\n        }\n", "\n"))
    end }) end)
  teardown(function() stop_both(sim, gateway) end)

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

describe("a gateway whose VBR goes down while a refresh is due", function()
  local sim, gateway

  setup(function() sim, gateway = start_both({}, { workers = 2 }) end)
  teardown(function() stop_both(sim, gateway) end)

  local function token_requests()
    return sim:counters().requests["POST /api/oauth2/token"] or 0
  end

  it("fails 40 concurrent requests with the one failed refresh, then tries again", function()
    assert.equal(200, (gateway:request("GET", "/configbackup")))
    sim:reset_counters()
    sim:expire_tokens()
    -- the token endpoint closes every connection unanswered: VBR is down
    sim:fault { kind = "reset_before", method = "POST", path = "/api/oauth2/token", count = 1000 }
    local codes = gateway:parallel(40, "GET", "/configbackup")
    assert.equal(40, #codes)
    for _, code in ipairs(codes) do assert.equal(502, code) end
    -- one job refreshed, fell back to the password and retried (4 attempts,
    -- the default); the 39 that waited for it failed with its error, not
    -- with a retry cycle of their own
    assert.equal(1 + 4, token_requests())
    local status, body = gateway:request("GET", "/configbackup")
    assert.equal(502, status)
    assert.equal("network", cjson.decode(body).error.kind)
    -- the next request tries again: a refresh (in the worker that still has
    -- the refresh token) and 4 logins, or the logins only
    assert.is_true(token_requests() >= 1 + 4 + 4, token_requests())
    sim:clear_faults()
    assert.equal(200, (gateway:request("GET", "/configbackup")))
  end)
end)

describe("a gateway logging at debug level", function()
  local sim, gateway

  setup(function() sim, gateway = start_both({}, { workers = 1, edit = function(conf)
      return (conf:gsub('\nerror_log ("[^"]*") warn;', "\nerror_log %1 debug;"))
    end }) end)
  teardown(function() stop_both(sim, gateway) end)

  it("puts no password or token into an nginx variable", function()
    assert.equal(200, (gateway:request("GET", "/configbackup")))       -- a login
    sim:expire_tokens()
    assert.equal(200, (gateway:request("GET", "/configbackup")))       -- a refresh
    local log = gateway:error_log()
    local script_vars = {}
    for line in log:gmatch("[^\n]+") do
      if line:find("http script var", 1, true) then script_vars[#script_vars + 1] = line end
    end
    assert.is_true(#script_vars > 0, "no debug lines: nginx without --with-debug?")
    local password = sim.users.admin.password
    local encoded = password:gsub("[^%w%-._~]", function(c) return ("%%%02X"):format(c:byte()) end)
    for _, line in ipairs(script_vars) do
      assert.is_nil(line:find("Bearer", 1, true), line)
      assert.is_nil(line:find("token=", 1, true), line)
      assert.is_nil(line:find("password=", 1, true), line)
    end
    -- nor anywhere else in the log: the login form is the subrequest's body
    assert.is_nil(log:find(password, 1, true))
    assert.is_nil(log:find(encoded, 1, true))
  end)
end)

describe("a gateway whose worker cannot read the password file", function()
  local sim, gateway

  setup(function()
    sim, gateway = start_both({}, { workers = 1 })
    os.remove(gateway.prefix .. "/password")      -- the workers run as root here
  end)
  teardown(function() stop_both(sim, gateway) end)

  it("gets nil, err from vbr.connect and answers 500, nothing raised", function()
    local status, body = gateway:request("GET", "/configbackup")
    assert.equal(500, status, body)
    local err = cjson.decode(body).error
    assert.equal("invalid", err.kind)
    assert.matches("option 'password_file': cannot read", err.message, 1, true)
    assert.equal(0, sim:counters().total)
    assert.is_nil(gateway:error_log():find("lua entry thread aborted", 1, true))
  end)
end)
