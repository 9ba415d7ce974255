-- Specs of vbr.core, the C core: options, the engine through its step API
-- with canned answers (no server), then the libcurl transport against the
-- simulator over HTTPS, verifying with the simulator's CA.
local core = require "vbr.core"
local cjson = require "cjson"
local sim = require "spec.support.sim"

local JSON = { ["Content-Type"] = "application/json; charset=utf-8" }

-- Every error the suite sees, and every secret it used: the last spec checks
-- that no error string carries a secret.
local seen_errors = {}
local secrets = {}
for _, user in pairs(sim.users) do secrets[#secrets + 1] = user.password end

local function note(err)
  if err ~= nil then
    seen_errors[#seen_errors + 1] = tostring(err)
    if type(err) == "table" and err.message then seen_errors[#seen_errors + 1] = err.message end
  end
  return err
end

local function answer(status, body, headers)
  return { status = status, headers = headers or JSON, body = body }
end

local function token_answer(access, refresh, expires_in)
  secrets[#secrets + 1] = access
  if refresh then secrets[#secrets + 1] = refresh end
  return answer(200, cjson.encode { access_token = access, refresh_token = refresh,
                                     token_type = "bearer", expires_in = expires_in or 900 })
end

local function veeam_error(status, code, message, headers)
  local h = { ["Content-Type"] = JSON["Content-Type"] }
  for k, v in pairs(headers or {}) do h[k] = v end
  return answer(status, cjson.encode { errorCode = code, message = message }, h)
end

-- A client that is never connected: for the step API with canned answers.
local function offline(extra)
  local opts = { url = "https://vbr.example", username = "svc", password = "Canned p@ss&=%",
                 api_version = "1.1-rev0",
                 retry = { base_delay = 0.5, max_delay = 8, attempts = 4, max_time = 60 } }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return core.new(opts)
end

local function form(body)
  local out = {}
  for k, v in body:gmatch("([^&=]+)=([^&]*)") do
    out[k] = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  end
  return out
end

local function sleep(seconds)
  os.execute("sleep " .. seconds)
end

describe("vbr.core", function()
  it("has a version string and the known revisions, newest first", function()
    assert.is_string(core._VERSION)
    assert.matches("^%d+%.%d+%.%d+", core._VERSION)
    assert.same({ "1.3-rev2", "1.3-rev1", "1.3-rev0", "1.2-rev1", "1.1-rev0" }, core.revisions)
    -- every one known, with the document it was checked against (vbr.revision's list)
    local documents = {}
    for i, known in ipairs(core.all_revisions) do
      documents[i] = known.name .. "=" .. known.document
    end
    assert.same({ "1.3-rev2=1.3-rev2", "1.3-rev1=1.3-rev1", "1.3-rev0=1.3-rev0",
                  "1.2-rev1=1.2-rev1", "1.2-rev0=1.2-rev1", "1.1-rev2=1.1-rev0",
                  "1.1-rev1=1.1-rev0", "1.1-rev0=1.1-rev0" }, documents)
  end)

  it("tells a JSON content type, for the Lua layer too", function()
    for ct, json in pairs { ["application/json"] = true, ["application/json; charset=utf-8"] = true,
                            ["APPLICATION/PROBLEM+JSON"] = true, ["text/html"] = false,
                            ["text/plain; note=json"] = false, [""] = false } do
      assert.equal(json, core.is_json_type(ct), ct)
    end
    assert.is_false(core.is_json_type(nil))
  end)

  it("has a monotonic clock and a sleep", function()
    local before = core.monotonic()
    core.sleep(0.01)
    assert.is_true(core.monotonic() > before)
    assert.has_error(function() core.sleep(-1) end)
  end)

  describe("options", function()
    local base = { url = "https://vbr.example", username = "u", password = "p" }
    local function with(extra)
      local o = {}
      for k, v in pairs(base) do o[k] = v end
      for k, v in pairs(extra) do o[k] = v end
      return o
    end

    it("raise on an unknown key, naming it", function()
      assert.has_error(function() core.new(with { pasword = "x" }) end,
        "vbr: unknown option 'pasword'")
      assert.has_error(function() core.new(with { retry = { tries = 3 } }) end,
        "vbr: unknown option 'retry.tries' (known: attempts, max_time, base_delay, max_delay)")
    end)

    it("raise on a wrong type, naming the key", function()
      assert.has_error(function() core.new(with { timeout = "10" }) end,
        "vbr: option 'timeout' must be a number > 0 (got string)")
      assert.has_error(function() core.new(with { insecure = 1 }) end,
        "vbr: option 'insecure' must be a boolean (got number)")
      assert.has_error(function() core.new(with { retry = { attempts = 1.5 } }) end,
        "vbr: option 'retry.attempts' must be an integer >= 1 (got number)")
    end)

    it("name the allowed values of api_version", function()
      assert.has_error(function() core.new(with { api_version = "v1" }) end,
        'vbr: option \'api_version\' must be "auto" or a revision like "1.1-rev0" (got "v1")')
      -- numbers that overflow are no revision either
      for _, v in ipairs { "99999999999.1-rev1", "1.99999999999-rev1", "1.1-rev4294967297",
                           "65536.1-rev0" } do
        assert.has_error(function() core.new(with { api_version = v }) end,
          'vbr: option \'api_version\' must be "auto" or a revision like "1.1-rev0" (got "'
          .. v .. '")')
      end
      assert.equal("65535.1-rev0", core.new(with { api_version = "65535.1-rev0" }):api_version())
    end)

    it("refuse a port that is not 1..65535", function()
      for _, url in ipairs { "https://h:0", "https://h:65536", "https://h:x", "https://h:",
                             "https://h:99999999999", "https://[::1]x" } do
        assert.has_error(function() core.new(with { url = url }) end,
          'vbr: option \'url\' must look like https://host[:port] (got "' .. url .. '")')
      end
    end)

    it("require url, username and exactly one password source", function()
      assert.has_error(function() core.new { username = "u", password = "p" } end,
        "vbr: option 'url' is required")
      assert.has_error(function() core.new { url = "https://h", password = "p" } end,
        "vbr: option 'username' is required")
      assert.has_error(function() core.new { url = "https://h", username = "u" } end)
      assert.has_error(function()
        core.new(with { password_file = "/etc/hostname" })
      end)
      assert.has_error(function() core.new(with { password = false }) end)
    end)

    it("accept only https URLs without credentials", function()
      assert.has_error(function() core.new(with { url = "http://vbr.example" }) end)
      assert.has_error(function() core.new(with { url = "https://user:pw@vbr.example" }) end)
      assert.has_error(function() core.new(with { url = "https://vbr.example/?x=1" }) end)
    end)

    it("default the port to 9419 and keep an explicit one", function()
      assert.matches("https://vbr.example:9419,", tostring(core.new(base)), 1, true)
      assert.matches("https://vbr.example:443,",
        tostring(core.new(with { url = "https://vbr.example:443/" })), 1, true)
      assert.matches("https://[::1]:9419,",
        tostring(core.new(with { url = "https://[::1]" })), 1, true)
    end)

    it("refuse a password_file or ca_file that cannot be read with nil, err naming it", function()
      -- not misuse: the file exists for another user (an nginx worker's)
      local c, err = core.new { url = "https://h", username = "u",
                                password_file = "/nonexistent/pw" }
      assert.is_nil(c)
      assert.is_true(core.is_error(err))
      assert.equal("invalid", err.kind)
      assert.equal("option 'password_file': cannot read /nonexistent/pw: No such file or "
        .. "directory", err.message)
      assert.same({ { path = "password_file",
                      message = "cannot read /nonexistent/pw: No such file or directory" } },
        err.problems)
      c, err = core.new { url = "https://h", username = "u", password = "p",
                          ca_file = "/nonexistent/ca.pem" }
      assert.is_nil(c)
      assert.equal("option 'ca_file': cannot read /nonexistent/ca.pem: No such file or "
        .. "directory", err.message)
      assert.equal("ca_file", err.problems[1].path)
    end)

    it("default api_version to auto (negotiated at login)", function()
      assert.is_nil(core.new(base):api_version())
      assert.is_nil(core.new(with { api_version = "auto" }):api_version())
      assert.equal("1.1-rev0", core.new(with { api_version = "1.1-rev0" }):api_version())
    end)

    it("show url, user and api version in tostring, never the password", function()
      local c = core.new(with { password = "S3cret-pw" })
      local text = tostring(c)
      assert.equal("vbr.core client (https://vbr.example:9419, user u, api auto)", text)
      assert.is_nil(text:find("S3cret", 1, true))
    end)

    it("make close idempotent and further use a misuse", function()
      local c = core.new(base)
      c:close()
      c:close()
      assert.equal("vbr.core client (closed)", tostring(c))
      assert.has_error(function() c:request("GET", "/api/v1/serverInfo") end,
        "vbr: client is closed")
    end)

    it("check request arguments", function()
      local c = core.new(base)
      assert.has_error(function() c:request("FETCH", "/x") end,
        "vbr: method must be one of GET, POST, PUT, DELETE, PATCH (got 'FETCH')")
      assert.has_error(function() c:request("GET", "api/v1") end)
      assert.has_error(function() c:request("GET", "/x", { bogus = 1 }) end,
        "vbr: unknown request option 'bogus' (known: query, body, timeout, decode)")
      assert.has_error(function() c:request("GET", "/x", { decode = "no" }) end,
        "vbr: request option 'decode' must be a boolean (got string)")
      assert.has_error(function() c:request("PUT", "/x", { body = {} }) end)
      assert.has_error(function() c:request("GET", "/x", { query = { a = { {} } } }) end)
    end)

    if _VERSION == "Lua 5.4" then
      it("closes a to-be-closed client at the end of its scope", function()
        local chunk = assert(load([[
          local core = ...
          local kept
          do
            local c <close> = core.new { url = "https://h", username = "u", password = "p" }
            kept = c
          end
          return tostring(kept)
        ]]))
        assert.equal("vbr.core client (closed)", chunk(core))
      end)
    end
  end)

  describe("errors", function()
    it("share a metatable whose __tostring names kind, status, code and request", function()
      local err = core.error { kind = "api", status = 403, code = "AccessDenied", message = "no",
                               method = "GET", path = "/api/v1/configBackup" }
      assert.is_true(core.is_error(err))
      assert.is_false(core.is_error({}))
      assert.is_false(core.is_error("x"))
      assert.equal("vbr: API error 403 AccessDenied: no (GET /api/v1/configBackup)", tostring(err))
    end)

    it("c:scrub: every occurrence in one pass, the text between them kept", function()
      local c = offline()
      local text = ("Canned p@ss&=%" .. "x"):rep(20000)
      assert.equal(("***x"):rep(20000), c:scrub(text))
      c:close()
    end)

    it("c:scrub of near misses: after 32 long ones the rest is taken as the secret", function()
      -- a server that chose its token could answer the secret's first bytes
      -- over and over: each failed match costs what it matched, so without a
      -- bound these 4 MB would cost 4 MB x 1 KB
      local secret = ("a"):rep(1023) .. "b"
      local c = offline { password = secret }
      assert.equal(("a"):rep(32) .. "***", c:scrub(("a"):rep(4 * 1024 * 1024)))
      -- fewer long misses: shown, and the secret after them scrubbed
      assert.equal(("a"):rep(20) .. "*** end", c:scrub(("a"):rep(20) .. secret .. " end"))
      -- short misses (below 16 bytes) do not count, however many
      local short = ("a"):rep(15) .. "."
      assert.equal(short:rep(1000) .. "***", c:scrub(short:rep(1000) .. secret))
      c:close()
    end)
  end)

  describe("engine, driven through the step API with canned answers", function()
    it("logs in with the password grant first, every value URL-encoded", function()
      local c = offline()
      local job = c:begin("GET", "/api/v1/configBackup")
      local step = job:next()
      assert.equal("send", step.action)
      assert.equal("login", step.purpose)
      assert.equal("POST", step.method)
      assert.equal("https://vbr.example:9419/api/oauth2/token", step.url)
      assert.equal("1.1-rev0", step.headers["x-api-version"])
      assert.equal("application/x-www-form-urlencoded", step.headers["Content-Type"])
      assert.is_nil(step.headers.Authorization)
      assert.equal("grant_type=password&username=svc&password=Canned%20p%40ss%26%3D%25", step.body)
      assert.same({ grant_type = "password", username = "svc", password = "Canned p@ss&=%" },
        form(step.body))
    end)

    it("then sends the call with the bearer token and returns the decoded answer", function()
      local c = offline()
      local job = c:begin("PUT", "/api/v1/configBackup",
        { body = '{"isEnabled":true}', query = { b = { "x y", "z" }, a = 1 } })
      job:next()
      local step = job:next(token_answer("AT-1", "RT-1"))
      assert.equal("call", step.purpose)
      assert.equal("PUT", step.method)
      assert.equal("https://vbr.example:9419/api/v1/configBackup?a=1&b=x%20y&b=z", step.url)
      assert.equal("Bearer AT-1", step.headers.Authorization)
      assert.equal("application/json", step.headers["Content-Type"])
      assert.equal("application/json", step.headers.Accept)
      assert.equal('{"isEnabled":true}', step.body)
      local done = job:next(answer(200, '{"isEnabled":true,"list":[]}'))
      assert.equal("done", done.action)
      assert.equal(200, done.response.status)
      assert.equal('{"isEnabled":true,"list":[]}', done.response.body)
      assert.is_true(done.response.json.isEnabled)
      assert.same({ requests = 2, retries = 0, logins = 1, refreshes = 0 }, c:stats())
    end)

    it("writes the grant types in the casing of the revision", function()
      for revision, grant in pairs { ["1.1-rev0"] = "password", ["1.2-rev1"] = "password",
                                     ["1.3-rev0"] = "password", ["1.3-rev1"] = "Password",
                                     ["1.3-rev2"] = "Password" } do
        local c = offline { api_version = revision }
        local job = c:begin("GET", "/api/v1/serverInfo")
        local login = job:next()
        assert.equal(revision, login.headers["x-api-version"])
        assert.equal(grant, form(login.body).grant_type)
        job:next(token_answer("AT", "RT"))
        -- a 401 makes the engine refresh
        local refresh = job:next(veeam_error(401, "ExpiredToken", "expired"))
        assert.equal("refresh", refresh.purpose)
        assert.equal(grant == "password" and "refresh_token" or "Refresh_token",
          form(refresh.body).grant_type)
        assert.equal("RT", form(refresh.body).refresh_token)
      end
    end)

    it("refreshes on a 401 with an empty body and resends the call once", function()
      local c = offline()
      local job = c:begin("GET", "/api/v1/configBackup")
      job:next()
      job:next(token_answer("AT-1", "RT-1"))
      local refresh = job:next(answer(401, "", {}))
      assert.equal("refresh", refresh.purpose)
      local call = job:next(token_answer("AT-2", "RT-2"))
      assert.equal("Bearer AT-2", call.headers.Authorization)
      local again = job:next(answer(401, "", {}))
      assert.equal("fail", again.action)
      note(again.err)
      assert.equal("auth", again.err.kind)
      assert.equal(401, again.err.status)
      assert.same({ requests = 4, retries = 0, logins = 1, refreshes = 1 }, c:stats())
    end)

    it("logs in with the password again when the refresh is refused", function()
      local c = offline()
      local job = c:begin("GET", "/api/v1/configBackup")
      job:next()
      job:next(token_answer("AT-1", "RT-1"))
      job:next(veeam_error(401, "ExpiredToken", "expired"))
      local login = job:next(answer(401, "", {}))
      assert.equal("login", login.purpose)
      assert.equal("password", form(login.body).grant_type)
      local call = job:next(token_answer("AT-3", "RT-3"))
      assert.equal("Bearer AT-3", call.headers.Authorization)
      assert.equal("done", job:next(answer(200, "{}")).action)
      assert.same({ requests = 5, retries = 0, logins = 2, refreshes = 0 }, c:stats())
    end)

    it("refreshes ahead of expiry, from expires_in", function()
      local c = offline()
      local first = c:begin("GET", "/api/v1/serverInfo")
      first:next()
      -- a token that is stale at once: still used for the call it was made for
      local call = first:next(token_answer("AT-1", "RT-1", 1e-6))
      assert.equal("Bearer AT-1", call.headers.Authorization)
      assert.equal("done", first:next(answer(200, "{}")).action)
      local second = c:begin("GET", "/api/v1/serverInfo")
      local refresh = second:next()
      assert.equal("refresh", refresh.purpose)
      assert.equal("RT-1", form(refresh.body).refresh_token)
    end)

    it("fails a refused login with kind auth and the Veeam error", function()
      local c = offline()
      local job = c:begin_login()
      job:next()
      local step = job:next(veeam_error(401, "AccessDenied", "Authentication failed."))
      assert.equal("fail", step.action)
      note(step.err)
      assert.equal("auth", step.err.kind)
      assert.equal(401, step.err.status)
      assert.equal("AccessDenied", step.err.code)
      assert.equal("Authentication failed.", step.err.message)
      assert.equal("POST", step.err.method)
      assert.equal("/api/oauth2/token", step.err.path)
      assert.is_false(step.err.retryable)
    end)

    it("waits as long as Retry-After says for an idempotent call", function()
      local c = offline()
      local job = c:begin("GET", "/api/v1/configBackup")
      job:next()
      job:next(token_answer("AT", "RT"))
      local wait = job:next(veeam_error(503, "ServiceUnavailable", "busy",
        { ["Retry-After"] = "3" }))
      assert.equal("sleep", wait.action)
      assert.equal(3, wait.seconds)
      local again = job:next()
      assert.equal("call", again.purpose)
      assert.equal("Bearer AT", again.headers.Authorization)
      assert.equal(1, c:stats().retries)
    end)

    it("backs off exponentially with jitter, within base_delay and max_delay", function()
      local c = offline { retry = { attempts = 6, base_delay = 1, max_delay = 4, max_time = 100 } }
      local job = c:begin("GET", "/api/v1/configBackup")
      job:next()
      job:next(token_answer("AT", "RT"))
      local caps = { 1, 2, 4, 4, 4 }
      for i = 1, 5 do
        local wait = job:next(answer(502, "", {}))
        assert.equal("sleep", wait.action)
        assert.is_true(wait.seconds >= caps[i] / 2 and wait.seconds <= caps[i],
          ("retry %d waits %s"):format(i, wait.seconds))
        job:next()
      end
      local last = job:next(answer(502, "", {}))
      assert.equal("fail", last.action)
      note(last.err)
      assert.equal("http", last.err.kind)
      assert.equal(502, last.err.status)
      assert.is_true(last.err.retryable)
      assert.matches("gave up after 6 attempts", last.err.message, 1, true)
    end)

    it("gives up when Retry-After is beyond the retry time budget", function()
      local c = offline { retry = { attempts = 5, max_time = 2 } }
      local job = c:begin("GET", "/api/v1/configBackup")
      job:next()
      job:next(token_answer("AT", "RT"))
      local step = job:next(veeam_error(429, "ServiceUnavailable", "slow down",
        { ["Retry-After"] = "30" }))
      assert.equal("fail", step.action)
      note(step.err)
      assert.equal("api", step.err.kind)
      assert.equal("ServiceUnavailable", step.err.code)
      assert.is_true(step.err.retryable)
    end)

    it("never resends a POST the server may have processed", function()
      local c = offline()
      local job = c:begin("POST", "/api/v1/configBackup/backup")
      job:next()
      local call = job:next(token_answer("AT", "RT"))
      assert.is_true(call.fresh_connection)
      local step = job:next { error = "reset", sent = true, message = "Empty reply from server" }
      assert.equal("fail", step.action)
      note(step.err)
      assert.equal("network", step.err.kind)
      assert.is_true(step.err.outcome_unknown)
      assert.is_false(step.err.retryable)
      assert.matches("outcome is unknown", tostring(step.err), 1, true)

      job = c:begin("POST", "/api/v1/configBackup/backup")
      job:next()
      step = job:next(answer(504, "", {}))
      assert.equal("fail", step.action)
      assert.is_true(step.err.outcome_unknown)
    end)

    it("resends a POST that never left, and once after a 401 with new credentials", function()
      local c = offline()
      local job = c:begin("POST", "/api/v1/configBackup/backup")
      job:next()
      job:next(token_answer("AT-1", "RT-1"))
      assert.equal("sleep", job:next { error = "connect", sent = false }.action)
      assert.equal("call", job:next().purpose)
      local refresh = job:next(answer(401, "", {}))
      assert.equal("refresh", refresh.purpose)
      local call = job:next(token_answer("AT-2", "RT-2"))
      assert.equal("POST", call.method)
      assert.equal("Bearer AT-2", call.headers.Authorization)
      assert.equal("done", job:next(answer(200, "{}")).action)
    end)

    it("does not follow a redirect and names its target host", function()
      local c = offline()
      local job = c:begin("GET", "/api/v1/configBackup")
      job:next()
      job:next(token_answer("AT", "RT"))
      local step = job:next(answer(302, "", { Location = "https://elsewhere.example:8443/steal" }))
      assert.equal("fail", step.action)
      note(step.err)
      assert.equal("http", step.err.kind)
      assert.equal(302, step.err.status)
      assert.equal("redirect to elsewhere.example:8443 not followed", step.err.message)
    end)

    it("fails with kind decode when a JSON answer does not decode", function()
      local c = offline()
      local job = c:begin("GET", "/api/v1/configBackup")
      job:next()
      job:next(token_answer("AT", "RT"))
      local step = job:next(answer(200, '{"a": [1, 2'))
      assert.equal("fail", step.action)
      note(step.err)
      assert.equal("decode", step.err.kind)
    end)

    it("answers acquire and publish itself for a libcurl client: two jobs, two logins", function()
      -- one process, one job at a time: nobody to wait for or to tell
      local c = offline()
      local a = c:begin("GET", "/api/v1/serverInfo")
      local b = c:begin("GET", "/api/v1/configBackup")
      assert.equal("login", a:next().purpose)
      assert.equal("login", b:next().purpose)
      assert.equal("Bearer AT", a:next(token_answer("AT", "RT")).headers.Authorization)
      assert.equal("Bearer AT2", b:next(token_answer("AT2", "RT2")).headers.Authorization)
      assert.equal(2, c:stats().logins)
    end)

    it("negotiates api_version auto from the revisions the server lists", function()
      local c = offline { api_version = "auto" }
      local job = c:begin_login()
      local first = job:next()
      assert.equal("1.3-rev2", first.headers["x-api-version"])
      assert.equal("Password", form(first.body).grant_type)
      local second = job:next(veeam_error(400, "NotImplemented",
        "The specified API version is not supported. Supported versions: "
          .. "1.0-rev1, 1.1-rev0, 1.1-rev1, 1.2-rev0, 1.2-rev1."))
      assert.equal("1.2-rev1", second.headers["x-api-version"])
      assert.equal("password", form(second.body).grant_type)
      assert.equal("done", job:next(token_answer("AT", "RT")).action)
      assert.equal("1.2-rev1", c:api_version())
    end)

    it("steps down one known revision when the server lists none", function()
      local c = offline { api_version = "auto" }
      local job = c:begin_login()
      job:next()
      local second = job:next(veeam_error(400, "NotImplemented",
        "The specified API version is not supported."))
      assert.equal("1.3-rev1", second.headers["x-api-version"])
    end)

    it("fails with kind api when no revision is in common", function()
      local c = offline { api_version = "auto" }
      local job = c:begin_login()
      job:next()
      local step = job:next(veeam_error(400, "NotImplemented", "Supported versions: 1.0-rev0."))
      assert.equal("fail", step.action)
      note(step.err)
      assert.equal("api", step.err.kind)
      assert.equal("NotImplemented", step.err.code)
    end)

    it("logs out with the bearer token, and needs no request without one", function()
      local c = offline()
      assert.equal("done", c:begin_logout():next().action)
      local login = c:begin_login()
      login:next()
      login:next(token_answer("AT", "RT"))
      local job = c:begin_logout()
      local step = job:next()
      assert.equal("logout", step.purpose)
      assert.equal("https://vbr.example:9419/api/oauth2/logout", step.url)
      assert.equal("Bearer AT", step.headers.Authorization)
      assert.is_nil(step.body)
      assert.equal("done", job:next(answer(200, "{}")).action)
      assert.equal("login", c:begin("GET", "/api/v1/serverInfo"):next().purpose)
    end)

    it("survives the client closed or left to the collector between steps", function()
      -- a password given as a string is scrubbed from server text; close()
      -- must leave no hook to the client behind for the job still alive
      local c = offline()
      local job = c:begin("GET", "/api/v1/configBackup")
      job:next()
      c:close()
      local step = job:next(veeam_error(401, "AccessDenied", "bad password Canned p@ss&=%"))
      assert.equal("fail", step.action)
      assert.equal("client is closed", step.err.message)
      local orphan = offline():begin("GET", "/api/v1/serverInfo")   -- held by its job only
      collectgarbage("collect")
      collectgarbage("collect")
      assert.equal("login", orphan:next().purpose)
      assert.equal("call", orphan:next(token_answer("AT-o", "RT-o")).purpose)
    end)

    it("refuses a password function's answer with NUL, like the option", function()
      local c = offline { password = function() return "pw\0tail" end }
      local step = c:begin_login():next()
      assert.equal("fail", step.action)
      note(step.err)
      assert.equal("auth", step.err.kind)
      assert.equal("the password function returned a string with NUL", step.err.message)
    end)

    it("names the limit a token answer went beyond", function()
      local c = offline()
      local job = c:begin_login()
      job:next()
      local step = job:next(token_answer(("T"):rep(1024 * 1024), "RT"))
      assert.equal("fail", step.action)
      assert.equal("decode", step.err.kind)
      assert.equal("token answer with a token longer than the 65536 bytes vbr accepts",
        step.err.message)
      job = c:begin_login()
      job:next()
      assert.equal("done", job:next(token_answer(("T"):rep(65536), "RT")).action)
    end)

    it("raises on misuse of job:next", function()
      local c = offline()
      local job = c:begin("GET", "/api/v1/serverInfo")
      assert.has_error(function() job:next(answer(200, "{}")) end)
      job:next()
      assert.has_error(function() job:next() end)
      assert.has_error(function() job:next { status = "200" } end)
      assert.has_error(function() job:next { error = "exploded" } end)
      job:next(token_answer("AT", "RT"))
      job:next(answer(200, "{}"))
      assert.has_error(function() job:next() end, "vbr: job has already finished")
      c:close()
      assert.has_error(function() c:begin("GET", "/x") end, "vbr: client is closed")
    end)
  end)

  describe("engine, sharing credentials through acquire and publish steps", function()
    -- A "steps" client: the caller is the transport and answers every step
    -- (src/engine.h has the contract).
    local function shared(extra)
      local opts = { url = "https://vbr.example", username = "svc", password = "Canned p@ss&=%",
                     api_version = "1.1-rev0",
                     retry = { base_delay = 0.5, max_delay = 8, attempts = 4, max_time = 60 } }
      for k, v in pairs(extra or {}) do opts[k] = v end
      return core.new(opts, "steps")
    end

    local function tokens(access, refresh)
      return { access_token = access, refresh_token = refresh, expires_in = 900, lifetime = 900 }
    end

    it("asks before a login and publishes what it got, then sends the call", function()
      local c = shared()
      local job = c:begin("GET", "/api/v1/configBackup")
      local acquire = job:next()
      assert.same({ action = "acquire", purpose = "login", lease = 125 }, acquire)
      local login = job:next()                        -- go ahead
      assert.equal("send", login.action)
      assert.equal("login", login.purpose)
      local publish = job:next(token_answer("AT-1", "RT-1"))
      assert.equal("publish", publish.action)
      assert.equal("login", publish.purpose)
      assert.is_nil(publish.err)
      assert.equal("AT-1", publish.tokens.access_token)
      assert.equal("RT-1", publish.tokens.refresh_token)
      assert.equal(900, publish.tokens.lifetime)
      assert.is_true(publish.tokens.expires_in > 899 and publish.tokens.expires_in <= 900)
      assert.equal("1.1-rev0", publish.tokens.api_version)
      local call = job:next()
      assert.equal("call", call.purpose)
      assert.equal("Bearer AT-1", call.headers.Authorization)
      assert.equal("done", job:next(answer(200, "{}")).action)
      assert.same({ requests = 2, retries = 0, logins = 1, refreshes = 0 }, c:stats())
    end)

    it("puts into a send step every part of the request a transport needs", function()
      local c = shared { url = "https://[::1]:8443/vbr/", max_response_size = 4096, timeout = 7 }
      local job = c:begin("GET", "/api/v1/sessions?skip=0", { query = { limit = 5 } })
      job:next()
      job:next()
      job:next(token_answer("AT", "RT"))
      local call = job:next()
      assert.equal("https", call.scheme)
      assert.equal("[::1]", call.host)
      assert.equal(8443, call.port)
      assert.equal("/vbr/api/v1/sessions", call.path)
      assert.equal("skip=0&limit=5", call.query)
      assert.equal("https://[::1]:8443/vbr/api/v1/sessions?skip=0&limit=5", call.url)
      assert.equal(4096, call.max_response_size)
      assert.equal(7, call.timeout)
      local login = c:begin_login()
      login:next()
      local step = login:next()
      assert.equal("/vbr/api/oauth2/token", step.path)
      assert.is_nil(step.query)
      assert.equal(16 * 1024 * 1024, core.new { url = "https://h", username = "u", password = "p" }
        :begin_login():next().max_response_size)
    end)

    it("takes newer credentials instead of logging in", function()
      local c = shared { api_version = "auto" }
      local job = c:begin("GET", "/api/v1/serverInfo")
      job:next()
      local t = tokens("AT-9", "RT-9")
      t.api_version = "1.2-rev1"
      local call = job:next { tokens = t }
      assert.equal("call", call.purpose)
      assert.equal("Bearer AT-9", call.headers.Authorization)
      assert.equal("1.2-rev1", call.headers["x-api-version"])   -- "auto" adopts it too
      assert.equal("1.2-rev1", c:api_version())
      assert.same({ requests = 1, retries = 0, logins = 0, refreshes = 0 }, c:stats())
      local login = c:begin_login()
      login:next()
      assert.equal("done", login:next { tokens = tokens("AT-10") }.action)
    end)

    it("lets one job log in while another of the same engine waits for it", function()
      local c = shared()
      local a = c:begin("GET", "/api/v1/serverInfo")
      local b = c:begin("GET", "/api/v1/configBackup")
      assert.equal("acquire", a:next().action)
      assert.equal("acquire", b:next().action)       -- held back by the transport
      assert.equal("login", a:next().purpose)          -- a goes ahead
      local published = a:next(token_answer("AT", "RT")).tokens
      assert.equal("Bearer AT", a:next().headers.Authorization)
      local call = b:next { tokens = published }       -- b takes a's
      assert.equal("call", call.purpose)
      assert.equal("Bearer AT", call.headers.Authorization)
      assert.equal(1, c:stats().logins)
    end)

    it("names the token it means to replace; a refused refresh falls back under the same grant",
      function()
      local c = shared()
      local job = c:begin("GET", "/api/v1/configBackup")
      job:next()
      job:next { tokens = tokens("AT-1", "RT-1") }
      local acquire = job:next(veeam_error(401, "ExpiredToken", "expired"))
      assert.equal("acquire", acquire.action)
      assert.equal("refresh", acquire.purpose)
      assert.equal("AT-1", acquire.access_token)
      local refresh = job:next()
      assert.equal("RT-1", form(refresh.body).refresh_token)
      local login = job:next(answer(401, "", {}))      -- no new acquire
      assert.equal("login", login.purpose)
      local publish = job:next(token_answer("AT-2", "RT-2"))
      assert.equal("publish", publish.action)
      assert.equal("login", publish.purpose)
      assert.equal("AT-2", publish.tokens.access_token)
      assert.equal("Bearer AT-2", job:next().headers.Authorization)
    end)

    it("retries a login under the grant it holds", function()
      local c = shared()
      local job = c:begin_login()
      job:next()
      job:next()
      assert.equal("sleep", job:next(veeam_error(503, "ServiceUnavailable", "busy",
        { ["Retry-After"] = "0" })).action)
      assert.equal("login", job:next().purpose)       -- no second acquire
      assert.equal("publish", job:next(token_answer("AT", "RT")).action)
      assert.equal("done", job:next().action)
    end)

    it("publishes a failed login, for the jobs waiting for it, then fails", function()
      local c = shared()
      local job = c:begin_login()
      job:next()
      job:next()
      local publish = job:next(veeam_error(401, "AccessDenied", "Authentication failed."))
      assert.equal("publish", publish.action)
      assert.is_nil(publish.tokens)
      note(publish.err)
      assert.equal("auth", publish.err.kind)
      assert.equal("AccessDenied", publish.err.code)
      local fail = job:next()
      assert.equal("fail", fail.action)
      assert.same(publish.err, fail.err)
    end)

    it("fails a waiting job at once with the failure it waited for", function()
      local c = shared()
      local job = c:begin("GET", "/api/v1/configBackup")
      job:next()
      local shared_err = core.error { kind = "network", status = 502, retryable = true,
                                      message = "cannot connect", method = "POST",
                                      path = "/api/oauth2/token" }
      local fail = job:next { failure = shared_err }
      assert.equal("fail", fail.action)
      note(fail.err)
      assert.equal("network", fail.err.kind)
      assert.equal(502, fail.err.status)
      assert.equal("cannot connect", fail.err.message)
      assert.is_true(fail.err.retryable)
      assert.equal("POST", fail.err.method)
      assert.equal("/api/oauth2/token", fail.err.path)
      assert.equal(0, c:stats().requests)             -- nothing was sent
      local again = c:begin("GET", "/api/v1/configBackup")
      assert.equal("acquire", again:next().action)    -- the next job tries again
      assert.has_error(function() again:next { failure = { kind = "conflict" } } end)
    end)

    it("refuses credentials it cannot send, without echoing them, and still waits", function()
      local c = shared()
      local job = c:begin("GET", "/api/v1/configBackup")
      job:next()
      local ok, err = pcall(job.next, job, { tokens = { access_token = "AT\r\nX-Evil: 1",
                                                         expires_in = 9 } })
      assert.is_false(ok)
      assert.not_matches("Evil", tostring(err))
      assert.has_error(function() job:next { tokens = tokens(("A"):rep(65537)) } end)
      assert.has_error(function() job:next { tokens = { access_token = "AT" } } end,
        "vbr: tokens need a numeric 'expires_in'")
      local t = tokens("AT")
      t.api_version = "99999999999.1-rev1"
      assert.has_error(function() job:next { tokens = t } end)
      assert.equal("login", job:next().purpose)        -- go ahead, after all
    end)

    it("gives adopted credentials that are refused a new attempt of its own", function()
      local c = shared()
      local job = c:begin("POST", "/api/v1/configBackup/backup")
      job:next()
      job:next { tokens = tokens("AT-1", "RT-1") }
      job:next(answer(401, "", {}))                     -- refused: acquire
      local call = job:next { tokens = tokens("AT-2", "RT-2") }
      assert.equal("Bearer AT-2", call.headers.Authorization)
      local acquire = job:next(answer(401, "", {}))    -- dead too (a logout elsewhere)
      assert.equal("acquire", acquire.action)
      assert.equal("AT-2", acquire.access_token)
      assert.equal("RT-2", form(job:next().body).refresh_token)
    end)

    it("resends with the engine's newer credentials after a 401 for older ones", function()
      local c = shared()
      local a = c:begin("GET", "/api/v1/serverInfo")
      a:next()
      assert.equal("Bearer AT-1", a:next { tokens = tokens("AT-1", "RT-1") }.headers.Authorization)
      local b = c:begin("GET", "/api/v1/configBackup")
      assert.equal("Bearer AT-1", b:next().headers.Authorization)
      b:next(answer(401, "", {}))
      b:next { tokens = tokens("AT-2", "RT-2") }        -- b got newer ones meanwhile
      local again = a:next(answer(401, "", {}))        -- a's 401 was for AT-1
      assert.equal("call", again.purpose)
      assert.equal("Bearer AT-2", again.headers.Authorization)
    end)

    it("logs out under a grant and publishes that there are no credentials", function()
      local c = shared()
      assert.equal("done", c:begin_logout():next().action)   -- none: nothing to do
      local login = c:begin_login()
      login:next()
      login:next { tokens = tokens("AT", "RT") }
      local job = c:begin_logout()
      local acquire = job:next()
      assert.equal("logout", acquire.purpose)
      assert.equal("AT", acquire.access_token)
      assert.equal("Bearer AT", job:next().headers.Authorization)
      local publish = job:next(answer(200, "{}"))
      assert.equal("logout", publish.purpose)
      assert.is_nil(publish.tokens.access_token)
      assert.equal("done", job:next().action)
    end)

    it("releases a grant without sharing anything when the client closes under it", function()
      local c = shared()
      local job = c:begin_login()
      job:next()
      job:next()
      c:close()
      local publish = job:next(token_answer("AT", "RT"))
      assert.equal("publish", publish.action)
      assert.is_nil(publish.tokens)
      assert.is_nil(publish.err)
      local fail = job:next()
      assert.equal("fail", fail.action)
      assert.equal("client is closed", fail.err.message)
    end)

    it("has no blocking calls and no libcurl handle", function()
      local c = shared()
      local send = { action = "send", method = "GET", url = "https://h/", max_response_size = 10 }
      for _, call in ipairs { function() c:request("GET", "/x") end, function() c:login() end,
                              function() c:logout() end, function() c:perform(send) end } do
        assert.has_error(call, 'vbr: this client is driven through the step API only '
          .. '(core.new(options, "steps"))')
      end
      assert.has_error(function() core.new({ url = "https://h", username = "u", password = "p" },
        "curl") end)
    end)
  end)

  describe("against the simulator", function()
    local s

    setup(function() s = sim.start {} end)
    teardown(function() if s then s:stop() end end)
    before_each(function() s:reset() end)

    local NONE = {}   -- drops a default option

    local function client(extra)
      local opts = { url = s.url, ca_file = s.ca_file, username = "admin",
                     password = s.users.admin.password,
                     retry = { base_delay = 0.01, max_delay = 0.05, attempts = 4, max_time = 20 } }
      for k, v in pairs(extra or {}) do
        if v == NONE then opts[k] = nil else opts[k] = v end
      end
      return core.new(opts)
    end

    local function count(key)
      return s:counters().requests[key] or 0
    end

    it("logs in with a password that needs URL-encoding", function()
      local c = client()
      assert.is_true(c:login())
      assert.same({ requests = 1, retries = 0, logins = 1, refreshes = 0 }, c:stats())
      local res = assert(c:request("GET", "/api/v1/serverInfo"))
      assert.equal(200, res.status)
      assert.matches("^application/json", res.content_type)
      assert.is_string(res.json.vbrId or res.json.name)
      res = assert(c:request("GET", "/api/v1/serverInfo", { decode = false }))
      assert.is_nil(res.json)                  -- the Lua layer decodes it itself
      assert.matches('^{"', res.body)
      c:close()
    end)

    it("c:call answers with the decoded value and the status, as c:request's json", function()
      local c = client()
      local value, status = c:call("GET", "/api/v1/serverInfo")
      assert.equal(200, status)
      assert.same(assert(c:request("GET", "/api/v1/serverInfo")).json, value)
      assert.has_error(function() c:call("GET", "/api/v1/serverInfo", { decode = false }) end,
        "vbr: c:call always decodes (decode = false is c:request's)")
      local none, err = c:call("GET", "/api/v1/sessions/not-a-session")
      assert.is_nil(none)
      assert.is_string(err.kind)
      c:close()
      assert.has_error(function() c:call("GET", "/api/v1/serverInfo") end, "vbr: client is closed")
    end)

    it("logs in lazily on the first call, with a password function or file", function()
      local calls = 0
      local c = client { password = function()
        calls = calls + 1
        return s.users.admin.password
      end }
      assert(c:request("GET", "/api/v1/configBackup"))
      assert.equal(1, calls)
      c:close()
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write(s.users.admin.password, "\n")
      f:close()
      c = client { password = NONE, password_file = path }
      local ok, err = c:login()
      os.remove(path)
      assert.is_nil(note(err))
      assert.is_true(ok)
      c:close()
    end)

    it("returns an auth error for a refused login", function()
      local c = client { password = "not-the-password" }
      secrets[#secrets + 1] = "not-the-password"
      local res, err = c:request("GET", "/api/v1/configBackup")
      assert.is_nil(res)
      note(err)
      assert.is_true(core.is_error(err))
      assert.equal("auth", err.kind)
      assert.equal(401, err.status)
      assert.equal("AccessDenied", err.code)
      assert.equal("/api/oauth2/token", err.path)
      assert.equal(0, count("GET /api/v1/configBackup"))
    end)

    it("reports a failing password function without its message", function()
      local c = client { password = function() error("vault says: hunter2") end }
      local ok, err = c:login()
      assert.is_nil(ok)
      note(err)
      assert.equal("auth", err.kind)
      assert.is_nil(tostring(err):find("hunter2", 1, true))
    end)

    it("fails with a tls error against the wrong CA", function()
      local c = client { ca_file = "/etc/ssl/certs/ca-certificates.crt" }
      local ok, err = c:login()
      assert.is_nil(ok)
      note(err)
      assert.equal("tls", err.kind)
      assert.is_false(err.retryable)
      assert.equal(0, s:counters().total)
    end)

    it("pins the public key: the right pin works, a wrong one is a tls error", function()
      local good = client { pinned_public_key = s.pubkey }
      assert.is_true(good:login())
      local bad = client { pinned_public_key = "sha256//" .. ("A"):rep(43) .. "=" }
      local ok, err = bad:login()
      assert.is_nil(ok)
      note(err)
      assert.equal("tls", err.kind)
    end)

    it("skips verification only with insecure = true, and warns on stderr", function()
      local strict = client { ca_file = NONE }
      local ok, err = strict:login()
      assert.is_nil(ok)
      assert.equal("tls", note(err).kind)
      local lax = client { ca_file = NONE, insecure = true }
      assert.is_true(lax:login())

      local interpreter = arg and arg[-1]
      if interpreter then
        local script = os.tmpname()
        local f = assert(io.open(script, "w"))
        f:write(("require('vbr.core').new{url=%q, username='u', password='p', insecure=true}")
          :format(s.url))
        f:close()
        local pipe = io.popen(("LUA_CPATH=%q LUA_PATH=%q %s %s 2>&1"):format(
          package.cpath, package.path, interpreter, script))
        local output = pipe:read("*a")
        pipe:close()
        os.remove(script)
        assert.matches("vbr: WARNING: TLS certificate verification is disabled", output, 1, true)
      end
    end)

    it("refreshes after a 401 for an expired token, re-logs in when refused", function()
      local c = client()
      assert(c:request("GET", "/api/v1/configBackup"))
      s:expire_tokens()
      assert(c:request("GET", "/api/v1/configBackup"))
      assert.equal(1, c:stats().logins)
      assert.equal(1, c:stats().refreshes)

      s:expire_tokens()
      s:fault { kind = "refuse_refresh" }
      assert(c:request("GET", "/api/v1/configBackup"))
      s:expire_tokens()
      s:fault { kind = "refuse_refresh", empty_body = true }
      assert(c:request("GET", "/api/v1/configBackup"))
      local stats = c:stats()
      assert.equal(3, stats.logins)
      assert.equal(1, stats.refreshes)
      -- each expiry costs the call a 401 and a resend
      assert.equal(7, count("GET /api/v1/configBackup"))
    end)

    it("re-authenticates and resends on a 401 with an empty body, for a POST too", function()
      local c = client()
      assert(c:login())
      local sessions_before = #s:state().sessions
      s:fault { kind = "empty_401", method = "POST", path = "/api/v1/configBackup/backup" }
      local res, err = c:request("POST", "/api/v1/configBackup/backup")
      assert.is_nil(note(err))
      assert.equal(200, res.status)
      assert.equal("ConfigurationBackup", res.json.sessionType)
      assert.equal(2, count("POST /api/v1/configBackup/backup"))
      assert.equal(sessions_before + 1, #s:state().sessions)
    end)

    it("logs out: the tokens die and the next call logs in again", function()
      local c = client()
      assert(c:request("GET", "/api/v1/serverInfo"))
      assert.is_true(c:logout())
      assert.equal(1, count("POST /api/oauth2/logout"))
      assert.is_true(c:logout())   -- nothing to do: no second request
      assert.equal(1, count("POST /api/oauth2/logout"))
      assert(c:request("GET", "/api/v1/serverInfo"))
      assert.equal(2, c:stats().logins)
    end)

    local retryable_faults = {
      { kind = "status", status = 502 },
      { kind = "status", status = 503, retry_after = 0 },
      { kind = "status", status = 504 },
      { kind = "status", status = 429, retry_after = 0 },
      { kind = "html_error", status = 502 },
      { kind = "reset_before" },
      { kind = "reset_after" },
      { kind = "short_body" },
    }
    for _, method in ipairs { "GET", "PUT" } do
      for _, fault in ipairs(retryable_faults) do
        it(("recovers a %s from %s %s"):format(method, fault.kind, fault.status or ""), function()
          local c = client()
          local current = assert(c:request("GET", "/api/v1/configBackup"))
          local rule = { method = method, path = "/api/v1/configBackup", count = 2 }
          for k, v in pairs(fault) do rule[k] = v end
          s:fault(rule)
          local res, err = c:request(method, "/api/v1/configBackup",
            method == "PUT" and { body = current.body } or nil)
          assert.is_nil(note(err))
          assert.equal(200, res.status)
          assert.equal(3, count(method .. " /api/v1/configBackup") - (method == "GET" and 1 or 0))
        end)
      end
      it("recovers a " .. method .. " that timed out", function()
        local c = client { timeout = 0.5 }
        local current = assert(c:request("GET", "/api/v1/configBackup"))
        s:fault { kind = "delay", ms = 1500, method = method, path = "/api/v1/configBackup" }
        local res, err = c:request(method, "/api/v1/configBackup",
          method == "PUT" and { body = current.body } or nil)
        assert.is_nil(note(err))
        assert.equal(200, res.status)
        assert.equal(1, c:stats().retries)
      end)
    end

    it("gives up after the configured attempts with a retryable error", function()
      local c = client { retry = { attempts = 3, base_delay = 0.01, max_delay = 0.02 } }
      assert(c:login())
      s:fault { kind = "status", status = 503, retry_after = 0, count = 5,
                path = "/api/v1/configBackup" }
      local res, err = c:request("GET", "/api/v1/configBackup")
      assert.is_nil(res)
      note(err)
      assert.equal("api", err.kind)
      assert.equal(503, err.status)
      assert.equal("ServiceUnavailable", err.code)
      assert.is_true(err.retryable)
      assert.equal(3, count("GET /api/v1/configBackup"))
    end)

    it("never sends a POST twice when the connection breaks after it was read", function()
      local c = client()
      assert(c:request("GET", "/api/v1/configBackup"))   -- a kept-alive connection exists
      local sessions_before = #s:state().sessions
      s:fault { kind = "reset_after", method = "POST", path = "/api/v1/configBackup/backup" }
      local res, err = c:request("POST", "/api/v1/configBackup/backup")
      assert.is_nil(res)
      note(err)
      assert.equal("network", err.kind)
      assert.is_true(err.outcome_unknown)
      assert.is_false(err.retryable)
      assert.equal("POST", err.method)
      assert.equal("/api/v1/configBackup/backup", err.path)
      assert.matches("the outcome is unknown", tostring(err), 1, true)
      assert.equal(1, count("POST /api/v1/configBackup/backup"))
      -- the server did start it: that is why nothing may be resent
      assert.equal(sessions_before + 1, #s:state().sessions)
    end)

    it("does not resend a POST that timed out after sending", function()
      local c = client { timeout = 0.5 }
      assert(c:login())
      s:fault { kind = "delay", ms = 1500, method = "POST", path = "/api/v1/configBackup/backup" }
      local res, err = c:request("POST", "/api/v1/configBackup/backup")
      assert.is_nil(res)
      note(err)
      assert.equal("timeout", err.kind)
      assert.is_true(err.outcome_unknown)
      assert.equal(1, count("POST /api/v1/configBackup/backup"))
    end)

    it("returns API errors with status, code and message", function()
      local c = client { username = "viewer", password = s.users.viewer.password }
      local res, err = c:request("GET", "/api/v1/configBackup")
      assert.is_nil(res)
      note(err)
      assert.equal("api", err.kind)
      assert.equal(403, err.status)
      assert.equal("AccessDenied", err.code)
      assert.matches("^vbr: API error 403 AccessDenied: .+ %(GET /api/v1/configBackup%)$",
        tostring(err))
      local _, missing = client():request("GET",
        "/api/v1/sessions/00000000-0000-4000-8000-000000000000")
      note(missing)
      assert.equal(404, missing.status)
      assert.equal("NotFound", missing.code)
    end)

    it("sends query values URL-encoded, arrays as repeated keys", function()
      local c = client { api_version = "1.3-rev2" }
      local res, err = c:request("GET", "/api/v1/sessions",
        { query = { typeFilter = { "ConfigurationBackup" }, limit = 5, skip = 0 } })
      assert.is_nil(note(err))
      assert.equal(200, res.status)
      assert.is_table(res.json.data)
    end)

    it("fails with kind decode on a malformed JSON answer", function()
      local c = client()
      assert(c:login())
      s:fault { kind = "malformed_json", method = "GET", path = "/api/v1/configBackup" }
      local res, err = c:request("GET", "/api/v1/configBackup")
      assert.is_nil(res)
      note(err)
      assert.equal("decode", err.kind)
      assert.equal(200, err.status)
    end)

    it("caps the response size with a clear error", function()
      local c = client { max_response_size = 200 }   -- a token answer is larger
      local ok, err = c:login()
      assert.is_nil(ok)
      note(err)
      assert.equal("http", err.kind)
      assert.equal(200, err.status)
      assert.matches("larger than max_response_size (200 bytes)", err.message, 1, true)
    end)

    it("names libcurl's limit when a response header line is too long", function()
      local c = client()
      assert(c:login())
      s:fault { kind = "raw", status = 200, headers = { ["X-Long"] = ("a"):rep(110 * 1024) },
                body = "{}", path = "/api/v1/serverInfo" }
      local res, err = c:request("GET", "/api/v1/serverInfo")
      assert.is_nil(res)
      note(err)
      assert.equal("network", err.kind)
      assert.matches("a response header line longer than the 102400 bytes libcurl accepts",
        err.message, 1, true)
      assert.is_nil(err.message:find("Out of memory", 1, true))
    end)

    it("refuses a token answer beyond its limit, saying so", function()
      s:fault { kind = "raw", status = 200, path = "/api/oauth2/token",
                body = '{"expires_in":900,"access_token":"',
                parts = { { text = "A", count = 1024 * 1024 }, { text = '"}' } } }
      local ok, err = client():login()
      assert.is_nil(ok)
      note(err)
      assert.equal("decode", err.kind)
      assert.equal("token answer with a token longer than the 65536 bytes vbr accepts",
        err.message)
    end)

    it("negotiates api_version auto with an older server", function()
      s:config { max_revision = "1.2-rev1" }
      local c = client { api_version = "auto" }
      assert.is_nil(c:api_version())
      assert(c:request("GET", "/api/v1/configBackup"))
      assert.equal("1.2-rev1", c:api_version())
      assert.equal(2, count("POST /api/oauth2/token"))
      assert.matches("api 1.2-rev1", tostring(c), 1, true)
    end)

    it("settles on the newest revision of a current server", function()
      local c = client { api_version = "auto" }
      assert(c:login())
      assert.equal("1.3-rev2", c:api_version())
    end)

    it("runs 1,000 requests over one TLS connection", function()
      local c = client()
      s:reset_counters()
      for _ = 1, 1000 do
        local res, err = c:request("GET", "/api/v1/serverInfo")
        if not res then error(tostring(note(err))) end
      end
      local counters = s:counters()
      assert.equal(1001, counters.total)
      assert.equal(1, counters.connections)
      assert.equal(1, counters.tls_handshakes)
      assert.equal(1001, c:stats().requests)
    end)

    it("drives the step API with the client's own libcurl performer", function()
      local c = client()
      local job = c:begin("GET", "/api/v1/configBackup")
      local step = job:next()
      local purposes = {}
      while step.action == "send" do
        purposes[#purposes + 1] = step.purpose
        local response = c:perform(step)
        if step.purpose == "login" then
          local token = cjson.decode(response.body)
          secrets[#secrets + 1] = token.access_token
          secrets[#secrets + 1] = token.refresh_token
        end
        step = job:next(response)
      end
      assert.equal("done", step.action)
      assert.same({ "login", "call" }, purposes)
      assert.equal(200, step.response.status)
      assert.equal("88788f9e-d8f5-4eb4-bc4f-9b3f5403bcec", step.response.json.backupRepositoryId)
    end)

    it("does not wait for a step-API job that stalled while logging in", function()
      local c = client()
      local stalled = c:begin_login()
      assert.equal("login", stalled:next().purpose)   -- granted at once, never answered
      local res, err = c:request("GET", "/api/v1/serverInfo")
      assert.is_nil(note(err))
      assert.equal(200, res.status)
      stalled:close()
    end)

    describe("a password function called during a re-login", function()
      -- tokens dead at the server and the refresh refused: the next request
      -- logs in with the password again, calling the function
      local function relogin(on_relogin)
        local c, armed
        c = client { password = function()
          if armed then return on_relogin(c) end
          return s.users.admin.password
        end }
        assert(c:request("GET", "/api/v1/serverInfo"))
        armed = true
        s:expire_tokens()
        s:fault { kind = "refuse_refresh" }
        return c
      end

      it("may close the client: the request fails, nothing crashes", function()
        local c = relogin(function(self)
          self:close()
          return s.users.admin.password
        end)
        local res, err = c:request("GET", "/api/v1/configBackup")
        assert.is_nil(res)
        note(err)
        assert.equal("client is closed", err.message)
        assert.equal("vbr.core client (closed)", tostring(c))
        assert.has_error(function() c:request("GET", "/x") end, "vbr: client is closed")
      end)

      it("may collect garbage", function()
        local c = relogin(function()
          collectgarbage("collect")
          collectgarbage("collect")
          return s.users.admin.password
        end)
        assert.is_nil(select(2, c:request("GET", "/api/v1/configBackup")))
        assert.equal(2, c:stats().logins)
      end)

      it("may send a request with the same client, from a coroutine that is then collected",
        function()
        local depth, inner = 0, nil
        local c = relogin(function(self)
          depth = depth + 1
          if depth == 1 then
            coroutine.wrap(function() inner = { self:request("GET", "/api/v1/serverInfo") } end)()
            collectgarbage("collect")
          end
          return s.users.admin.password
        end)
        local res, err = c:request("GET", "/api/v1/configBackup")
        assert.is_nil(note(err))
        assert.equal(200, res.status)
        assert.is_true(res.json.isEnabled)            -- decoded after the nested call
        assert.equal(200, inner[1].status)
        assert.equal(2, depth)
      end)

      it("may raise: a login error without its message", function()
        local c = relogin(function() error("vault says: hunter2 " .. s.users.admin.password) end)
        local res, err = c:request("GET", "/api/v1/configBackup")
        assert.is_nil(res)
        note(err)
        assert.equal("auth", err.kind)
        assert.equal("the password function raised an error", err.message)
      end)
    end)

    it("reports a refused connection as a retryable network error", function()
      local c = core.new { url = "https://127.0.0.1:1", username = "u", password = "p",
                           retry = { attempts = 2, base_delay = 0.01, max_delay = 0.01 } }
      local ok, err = c:login()
      assert.is_nil(ok)
      note(err)
      assert.equal("network", err.kind)
      assert.is_true(err.retryable)
      assert.equal(1, c:stats().retries)
    end)
  end)

  describe("short-lived tokens", function()
    local s
    setup(function() s = sim.start { token_lifetime = 2 } end)
    teardown(function() if s then s:stop() end end)

    it("are refreshed ahead of expiry, transparently", function()
      local c = core.new { url = s.url, ca_file = s.ca_file, username = "admin",
                           password = s.users.admin.password }
      assert(c:request("GET", "/api/v1/serverInfo"))
      sleep(1.2)   -- past half the token's life: the engine refreshes first
      local res, err = c:request("GET", "/api/v1/serverInfo")
      assert.is_nil(note(err))
      assert.equal(200, res.status)
      local stats = c:stats()
      assert.equal(1, stats.logins)
      assert.equal(1, stats.refreshes)
      -- no 401 was needed: two calls, two token requests
      assert.equal(2, s:counters().requests["GET /api/v1/serverInfo"])
      assert.equal(2, s:counters().requests["POST /api/oauth2/token"])
    end)
  end)

  it("puts no password or token into any error string of this suite", function()
    assert.is_true(#seen_errors > 20)
    for _, text in ipairs(seen_errors) do
      for _, secret in ipairs(secrets) do
        assert.is_nil(text:find(secret, 1, true), ("secret found in %q"):format(text))
      end
      assert.is_nil(text:find("Bearer", 1, true))
    end
  end)
end)
