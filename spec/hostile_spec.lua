-- Hostile input: what a careless caller or a broken or hostile server hands
-- over. CR/LF, NUL and 1 MB strings in the options; non-UTF-8; huge and
-- deeply nested JSON; tokens that would inject a header; a server that
-- trickles bytes; redirects. Each gives a clear error or a correct encoding,
-- never a header injection or a crash.
local vbr = require "vbr"
local core = require "vbr.core"
local sim = require "spec.support.sim"

local MB = 1024 * 1024

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function form(body)
  local out = {}
  for k, v in body:gmatch("([^&=]+)=([^&]*)") do out[k] = unescape(v) end
  return out
end

-- No CR, LF or NUL in a send step's URL and header values.
local function assert_clean_step(step)
  assert.equal("send", step.action)
  assert.is_nil(step.url:find("[\r\n%z ]"), ("url %q"):format(step.url))
  for name, value in pairs(step.headers) do
    assert.is_nil(value:find("[\r\n%z]"), ("header %s %q"):format(name, value))
  end
end

describe("hostile input", function()
  describe("options and arguments", function()
    local base = { url = "https://vbr.example", username = "u", password = "p" }
    local function with(extra)
      local o = {}
      for k, v in pairs(base) do o[k] = v end
      for k, v in pairs(extra) do o[k] = v end
      return o
    end

    for _, name in ipairs { "url", "user_agent", "ca_file", "ca_path", "pinned_public_key",
                            "api_version", "password_file" } do
      for _, bad in ipairs { "\r\nX-Injected: 1", "\n", "\0" } do
        it(("refuse %q in %s, naming the option and not the value"):format(bad, name), function()
          local value = (name == "url" and "https://vbr.example" or "x") .. bad
          local ok, err = pcall(core.new, with { [name] = value })
          assert.is_false(ok)
          assert.matches("option '" .. name .. "'", err, 1, true)
          assert.is_nil(err:find("Injected", 1, true))
        end)
      end
    end

    it("refuse NUL in username and password (a C string would cut them short)", function()
      for _, name in ipairs { "username", "password" } do
        local ok, err = pcall(core.new, with { [name] = "abc\0def" })
        assert.is_false(ok)
        assert.equal("vbr: option '" .. name .. "' must not contain NUL", err)
      end
    end)

    it("refuse credentials in the url without echoing them", function()
      local ok, err = pcall(core.new, with { url = "https://admin:S3cr3t@vbr.example" })
      assert.is_false(ok)
      assert.is_nil(err:find("S3cr3t", 1, true))
      assert.matches("must not hold credentials", err, 1, true)
    end)

    it("refuse spaces and control characters in the url", function()
      for _, url in ipairs { "https://vbr example", "https://vbr.example/\tx", "https://\127x" } do
        assert.has_error(function() core.new(with { url = url }) end,
          "vbr: option 'url' must not contain spaces or control characters")
      end
    end)

    it("form-encode CR, LF, '&', '=' and non-UTF-8 in username and password", function()
      local user, password = ".\\svc\r\nX-Injected: 1&grant_type=x", "p\r\n=&%\255\254 +"
      local c = core.new(with { username = user, password = password, api_version = "1.1-rev0" })
      local step = c:begin_login():next()
      assert_clean_step(step)
      assert.is_nil(step.body:find("[\r\n]"))
      local sent = form(step.body)
      assert.equal(user, sent.username)
      assert.equal(password, sent.password)
      assert.equal("password", sent.grant_type)
      c:close()
    end)

    it("encode CR, LF, NUL and non-UTF-8 in query values; refuse them in paths and keys", function()
      local c = core.new(base)
      local job = c:begin("GET", "/api/v1/sessions", { query = { nameFilter = "a\r\nb\0c\255" } })
      job:next()
      local step = job:next { status = 200, headers = { ["Content-Type"] = "application/json" },
                              body = '{"access_token":"tok","expires_in":900}' }
      assert_clean_step(step)
      assert.matches("nameFilter=a%0D%0Ab%00c%FF", step.url, 1, true)
      assert.has_error(function() c:begin("GET", "/x\0y") end)
      assert.has_error(function() c:begin("GET", "/x\r\nHost: evil") end)
      assert.has_error(function() c:begin("GET", "/x", { query = { ["a\0b"] = "1" } }) end,
        "vbr: query keys must not contain NUL")
      c:close()
    end)

    it("bound the retry options so that no overflow follows", function()
      assert.has_error(function() core.new(with { retry = { attempts = 1e12 } }) end,
        "vbr: option 'retry.attempts' must be an integer from 1 to 1000 (got number)")
      local c = core.new(with { timeout = 1e300, connect_timeout = 1e300 })
      assert.is_string(tostring(c))
      c:close()
    end)

    it("refuse a step-API status out of range, however large", function()
      local c = core.new(base)
      local job = c:begin_login()
      job:next()
      assert.has_error(function() job:next { status = 1e300 } end,
        "vbr: response 'status' must be 100..599")
      c:close()
    end)
  end)

  describe("against the simulator", function()
    local s, other

    setup(function()
      s = sim.start {}
      other = sim.start {}
    end)
    teardown(function()
      if s then s:stop() end
      if other then other:stop() end
    end)
    before_each(function()
      s:reset()
      other:reset()
    end)

    local function connect(extra)
      local opts = { url = s.url, ca_file = s.ca_file, username = "admin",
                     password = s.users.admin.password, api_version = "1.3-rev1",
                     retry = { base_delay = 0.01, max_delay = 0.05, attempts = 3, max_time = 20 } }
      for k, v in pairs(extra or {}) do opts[k] = v end
      return vbr.connect(opts)
    end

    local function raw(path, fields, method)
      local rule = { kind = "raw", method = method or "GET", path = path }
      for k, v in pairs(fields) do rule[k] = v end
      s:fault(rule)
    end

    it("1 MB username or password: refused by the server (413), nothing else sent", function()
      for _, field in ipairs { "username", "password" } do
        s:reset()
        local client, err = connect { [field] = ("\r\n&="):rep(MB / 4) }
        assert.is_nil(client)
        assert.equal("auth", err.kind)
        assert.equal(413, err.status)
        assert.is_true(s:counters().total <= 1)   -- nginx refuses before counting
      end
    end)

    it("1 MB user agent, URL or CA file: refused up front, naming the option", function()
      for name, value in pairs { user_agent = ("x"):rep(MB), url = s.url .. "/" .. ("a"):rep(MB),
                                 ca_file = ("/x"):rep(MB / 2) } do
        assert.has_error(function() connect { [name] = value } end,
          "vbr: option '" .. name .. "' must be at most 8192 bytes long")
      end
    end)

    it("a non-UTF-8 password: sent byte for byte, refused as a wrong password", function()
      local client, err = connect { password = "\255\254\253 Adm1n" }
      assert.is_nil(client)
      assert.equal("auth", err.kind)
      assert.equal("AccessDenied", err.code)
    end)

    it("a token that would inject a header: a decode error, the token never sent", function()
      raw("/api/oauth2/token", { method = "POST",
        body = '{"access_token":"abc\\r\\nX-Injected: 1","refresh_token":"r","expires_in":900}' })
      local client, err = connect()
      assert.is_nil(client)
      assert.equal("decode", err.kind)
      assert.matches("not printable ASCII", err.message, 1, true)
      assert.equal(1, s:counters().total)
    end)

    it("a token holding NUL: a decode error", function()
      raw("/api/oauth2/token",
        { method = "POST", body = '{"access_token":"ab\\u0000cd","expires_in":9}' })
      local client, err = connect()
      assert.is_nil(client)
      assert.equal("decode", err.kind)
    end)

    it("a login refusal that echoes the password: the password is scrubbed", function()
      local password = s.users.admin.password
      raw("/api/oauth2/token", { method = "POST", status = 400, body =
        '{"errorCode":"UnexpectedContent","message":"bad form: password=' .. password
        .. ' or Adm1n%20P%40ss%26w%3Drd%25"}' })
      local client, err = connect()
      assert.is_nil(client)
      local text = tostring(err)
      assert.is_nil(text:find(password, 1, true), text)
      assert.is_nil(text:find("Adm1n%20P%40ss%26w%3Drd%25", 1, true), text)
      assert.matches("bad form: password=*** or ***", text, 1, true)
    end)

    it("a 1 MB JSON string decodes; a body above max_response_size is refused", function()
      local client = assert(connect { max_response_size = 2 * MB })
      raw("/api/v1/serverInfo", { parts = { { text = '{"name":"' }, { text = "n", count = MB },
                                            { text = '"}' } } })
      local info, err = client:server_info()
      assert.is_nil(err and tostring(err))
      assert.equal(MB, #info.name)
      raw("/api/v1/serverInfo", { parts = { { text = '{"name":"' }, { text = "n", count = 3 * MB },
                                            { text = '"}' } } })
      info, err = client:server_info()
      assert.is_nil(info)
      assert.equal("http", err.kind)
      assert.matches("response too large", err.message, 1, true)
      client:close()
    end)

    it("deeply nested JSON: a decode error, no crash; 150 levels still decode", function()
      local client = assert(connect())
      raw("/api/v1/configBackup", { parts = { { text = "[", count = 100000 },
                                              { text = "]", count = 100000 } } })
      local settings, err = client.configbackup:get()
      assert.is_nil(settings)
      assert.equal("decode", err.kind)
      raw("/api/v1/configBackup", { parts = { { text = '{"a":', count = 150 }, { text = "1" },
                                              { text = "}", count = 150 } } })
      settings, err = client.configbackup:get()
      assert.is_nil(err and tostring(err))
      assert.is_table(settings.a)
      client:close()
    end)

    it("non-UTF-8 in an error answer: a readable error, bytes kept", function()
      local client = assert(connect())
      raw("/api/v1/configBackup", { status = 400, parts = {
        { text = '{"errorCode":"UnexpectedContent","message":"bad ' },
        { base64 = "/+7twyg=" },                -- ff fe ed c3 28
        { text = '"}' } } })
      local settings, err = client.configbackup:get()
      assert.is_nil(settings)
      assert.is_true(core.is_error(err))
      assert.equal(400, err.status)
      assert.is_string(tostring(err))
      client:close()
    end)

    it("garbage and huge Retry-After values: retried within the budget", function()
      local client = assert(connect())
      raw("/api/v1/configBackup", { status = 503, headers = { ["Retry-After"] = "soon\255" },
                                    body = '{"errorCode":"ServiceUnavailable","message":"x"}' })
      assert(client.configbackup:get())
      raw("/api/v1/configBackup", { status = 503, headers = { ["Retry-After"] = "99999999999999" },
                                    body = '{"errorCode":"ServiceUnavailable","message":"x"}' })
      local settings, err = client.configbackup:get()
      assert.is_nil(settings)
      assert.is_true(err.retryable)
      assert.matches("gave up after 1 attempt", err.message, 1, true)
      client:close()
    end)

    it("a server that trickles bytes: the total timeout ends the request", function()
      local client = assert(connect { timeout = 1, retry = { attempts = 1 } })
      s:fault { kind = "trickle", method = "GET", path = "/api/v1/configBackup", ms = 200 }
      local settings, err = client.configbackup:get()
      assert.is_nil(settings)
      assert.equal("timeout", err.kind)
      client:close()
    end)

    for _, status in ipairs { 301, 302, 307, 308 } do
      it(status .. " to another host: an error naming it, no Authorization leaves", function()
        local client = assert(connect())
        local target = other.url .. "/api/v1/configBackup"
        raw("/api/v1/configBackup", { status = status, headers = { Location = target } })
        local settings, err = client.configbackup:get()
        assert.is_nil(settings)
        assert.equal("http", err.kind)
        assert.equal(status, err.status)
        assert.matches("redirect to " .. other.url:match("//([^/]+)") .. " not followed",
          tostring(err), 1, true)
        assert.equal(0, other:counters().total)
        assert.equal(1, s:counters().requests["GET /api/v1/configBackup"])
        client:close()
      end)
    end
  end)
end)
