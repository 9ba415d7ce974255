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

-- A client of simulator `s` as admin on 1.3-rev1 with quick retries;
-- `extra` options win.
local function connect_to(s, extra)
  local opts = { url = s.url, ca_file = s.ca_file, username = "admin",
                 password = s.users.admin.password, api_version = "1.3-rev1",
                 retry = { base_delay = 0.01, max_delay = 0.05, attempts = 3, max_time = 20 } }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return vbr.connect(opts)
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

    local function connect(extra) return connect_to(s, extra) end

    local function raw(path, fields, method)
      local rule = { kind = "raw", method = method or "GET", path = path }
      for k, v in pairs(fields) do rule[k] = v end
      s:fault(rule)
    end

    it("a username or password over 1024 bytes: refused up front, nothing sent", function()
      for _, field in ipairs { "username", "password" } do
        s:reset()
        assert.has_error(function() connect { [field] = ("\r\n&="):rep(MB / 4) } end,
          "vbr: option '" .. field .. "' must be at most 1024 bytes long")
        assert.equal(0, s:counters().total)
      end
      -- 1024 bytes are still sent (and refused by the server as a wrong login)
      local client, err = connect { password = ("p"):rep(1024) }
      assert.is_nil(client)
      assert.equal("auth", err.kind)
      -- a password function or file past the bound: refused, not sent
      s:reset()
      client, err = connect { password = function() return ("p"):rep(1025) end }
      assert.is_nil(client)
      assert.matches("returned more than 1024 bytes", err.message, 1, true)
      local file = os.tmpname()
      local f = assert(io.open(file, "w"))
      f:write(("p"):rep(1025))
      f:close()
      client, err = vbr.connect { url = s.url, ca_file = s.ca_file, username = "admin",
                                  password_file = file }
      os.remove(file)
      assert.is_nil(client)
      assert.matches("password_file is longer than 1024 bytes", err.message, 1, true)
      assert.equal(0, s:counters().total)
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
  describe("a server steering requests or sending answers of the wrong shape", function()
    local s
    local HOSTILE_ID = "../configBackup/backup#"
    local OTHER_ID = "0b07fc07-8377-474b-a8ce-9b0a9b2a3a65"
    local START, CB, SESSIONS = "/api/v1/configBackup/backup", "/api/v1/configBackup",
                                "/api/v1/sessions"

    setup(function() s = sim.start { session_duration = 1 } end)
    teardown(function() if s then s:stop() end end)
    before_each(function() s:reset() end)

    local function connect() return assert(connect_to(s)) end

    local function fault(kind, method, path, fields)
      local rule = { kind = kind, method = method, path = path }
      for k, v in pairs(fields or {}) do rule[k] = v end
      s:fault(rule)
    end

    local function requests(key)
      return s:counters().requests[key] or 0
    end

    -- No request went anywhere the server's text pointed to, and the
    -- backup was started `posts` times.
    local function not_steered(posts)
      local counters = s:counters()
      for key in pairs(counters.requests) do
        assert.is_nil(key:find("configBackup/backup#", 1, true), key)
        assert.is_nil(key:find("..", 1, true), key)
      end
      assert.equal(0, requests("GET " .. CB))
      assert.equal(posts, requests("POST " .. START))
    end

    local function decode_error(err, says)
      assert.is_table(err, "expected an error")
      assert.equal("decode", err.kind, tostring(err))
      assert.matches("unexpected answer: ", err.message, 1, true)
      if says then assert.matches(says, err.message, 1, true) end
    end

    it("a started session whose id is a path: not followed, the start not resent", function()
      local client = connect()
      fault("patch", "POST", START, { set = { id = HOSTILE_ID } })
      local session, err = client.configbackup:start()
      assert.is_nil(session)
      decode_error(err, "the session's id is not a UUID")
      assert.is_true(err.outcome_unknown)
      -- the backup did start: the session the server lists is handed over
      assert.equal(s:state().sessions[5].id, err.session.id)
      assert.matches("the backup did start: session " .. err.session.id, err.message, 1, true)
      not_steered(1)
      client:close()
    end)

    it("a start answered with an old session or another job's: not followed", function()
      local client = connect()
      for _, case in ipairs {
        { { id = "yesterday's" }, "had ended before the start" },
        { { sessionType = "BackupJob" }, "is of type BackupJob, not ConfigurationBackup" },
      } do
        s:reset()
        if case[1].id then case[1].id = s:state().sessions[1].id end   -- the finished backup
        fault("patch", "POST", START, { set = case[1] })
        local session, err = client.configbackup:start()
        assert.is_nil(session)
        decode_error(err, case[2])
        assert.is_true(err.outcome_unknown)
        assert.equal(s:state().sessions[5].id, err.session.id)   -- the one it did start
        not_steered(1)
      end
      client:close()
    end)

    it("a poll answering another session or a path: wait() stops, nothing follows", function()
      local client = connect()
      for _, id in ipairs { HOSTILE_ID, OTHER_ID, 42 } do
        local session = assert(client.configbackup:start { force = true })
        fault("patch", "GET", SESSIONS .. "/*", { set = { id = id } })
        local done, err = session:wait { interval = 0.1, max_interval = 0.2, timeout = 60 }
        assert.is_nil(done)
        decode_error(err, id == OTHER_ID and "the server answered with another one"
          or "the session's id is not a UUID")
        assert.is_false(err.retryable)
        assert.not_equal(id, session.id)
        assert(session:stop())
      end
      not_steered(3)
      client:close()
    end)

    it("a session id the caller changed: refused before sending", function()
      local client = connect()
      local session = assert(client.configbackup:start())
      local total = s:counters().total
      for _, id in ipairs { HOSTILE_ID, "", 7 } do
        session.id = id
        for _, call in ipairs { "refresh", "logs", "stop", "wait" } do
          local ok, err = session[call](session)
          assert.is_nil(ok)
          assert.equal("invalid", err.kind, call)
          assert.equal("id", err.problems[1].path)
        end
      end
      assert.equal(total, s:counters().total)
      client:close()
    end)

    it("client:session(id): a non-UUID id is nil, err (it may come from a request)", function()
      local client = connect()
      local total = s:counters().total
      for _, id in ipairs { HOSTILE_ID, "", "f4f3c4b0-8d07-4c8e-9b4e-6f1d2a3b4c5", "x\r\ny" } do
        local session, err = client:session(id)
        assert.is_nil(session)
        assert.equal("invalid", err.kind)
        assert.matches("a session id is a UUID", tostring(err), 1, true)
      end
      assert.equal(total, s:counters().total)
      assert.has_error(function() client:session(42) end)
      assert.has_error(function() client:session() end)
      local found, err = client:session(OTHER_ID:upper())
      assert.is_nil(found)
      assert.equal(404, err.status)
      client:close()
    end)

    it("a listed session whose id is a path: the list, running() and start() refuse it",
      function()
        local client = connect()
        for _, call in ipairs { "sessions", "running", "start" } do
          fault("patch", "GET", SESSIONS, { item = 1, set = { id = HOSTILE_ID } })
          local result, err
          if call == "sessions" then
            result, err = client:sessions()
          else
            result, err = client.configbackup[call](client.configbackup)
          end
          assert.is_nil(result)
          decode_error(err, "item 1 of the sessions: the session's id is not a UUID")
        end
        not_steered(0)
        client:close()
      end)

    it("members named like a method or `client` do not shadow them", function()
      local client = connect()
      local session = assert(client.configbackup:start())
      fault("patch", "GET", SESSIONS .. "/*", { count = 50, set = {
        wait = 1, client = "x", refresh = true, stop = "now", logs = {}, outcome = "Success" } })
      local done, err = session:wait { interval = 0.2, max_interval = 0.3, timeout = 60 }
      assert.is_nil(err and tostring(err))
      assert.equal(client, done.client)
      assert.is_function(done.wait)
      assert.equal("Success", done:outcome())
      s:clear_faults()
      client:close()
    end)

    it("repositories and encryption passwords with ids that are no UUIDs", function()
      local client = connect()
      local cb = client.configbackup
      for _, case in ipairs {
        { "/api/v1/backupInfrastructure/repositories", "set_repository",
          "Default Backup Repository", "repositories" },
        { "/api/v1/encryptionPasswords", "set_encryption", "Standard Password",
          "encryption passwords" },
      } do
        local path, call, name, what = case[1], case[2], case[3], case[4]
        for _, set in ipairs { { id = HOSTILE_ID }, { id = 5 } } do
          fault("patch", "GET", path, { item = 1, set = set })
          local settings, err = cb[call](cb, name)
          assert.is_nil(settings)
          decode_error(err, "item 1 of the " .. what .. ": its id is not a UUID")
        end
        for _, body in ipairs { '{"data":{"a":1}}', '{"data":["x"]}', "[]", '"x"', "" } do
          fault("raw", "GET", path, { body = body })
          local settings, err = cb[call](cb, name)
          assert.is_nil(settings)
          decode_error(err, what)
        end
      end
      assert.equal(0, requests("PUT " .. CB))
      fault("raw", "GET", "/api/v1/serverInfo", { body = "[1]" })
      local info, err = client:server_info()
      assert.is_nil(info)
      decode_error(err, "expected the server's information (a JSON object), got an array")
      client:close()
    end)

    local NOT_A_SESSION = {
      { "", "true or an empty body" }, { '"started"', "got a string" }, { "[]", "an array" },
      { "{}", "id is not a UUID" }, { "null", "got null" }, { "true", "got true" },
      { "42", "got a number" },
      { '{"id":5,"state":"Working"}', "id is not a UUID (a number)" },
      { '{"id":"' .. OTHER_ID .. '"}', "state is not a string (nothing)" },
      { '{"id":"' .. OTHER_ID .. '","state":5}', "state is not a string (a number)" },
      { '{"id":"' .. OTHER_ID .. '","state":"Working","result":"x"}', "result is not an object" },
      { '{"id":"' .. OTHER_ID .. '","state":"Stopped","result":{"result":1}}',
        "result.result is not a string" },
      { '{"id":"' .. OTHER_ID .. '","state":"Working","progressPercent":"5"}',
        "progressPercent is not a number" },
    }

    it("a start answered with no usable session: nil, err; outcome unknown, never resent",
      function()
        local client = connect()
        for _, case in ipairs(NOT_A_SESSION) do
          for _, status in ipairs { 200, 201 } do
            s:reset()
            fault("raw", "POST", START, { status = status, body = case[1] })
            local session, err = client.configbackup:start()
            assert.is_nil(session)
            decode_error(err, case[2])
            assert.is_true(err.outcome_unknown)
            assert.is_nil(err.session)          -- the raw answer started nothing
            assert.equal(1, requests("POST " .. START))
          end
        end
        -- processed, then answered so: the session the start created is handed over
        s:reset()
        fault("raw_after", "POST", START, { body = "[]" })
        local session, err = client.configbackup:start()
        assert.is_nil(session)
        decode_error(err, "an array")
        assert.is_true(err.outcome_unknown)
        assert.equal(s:state().sessions[5].id, err.session.id)
        client:close()
      end)

    it("a poll answered with no usable session: wait() returns nil, err", function()
      local client = connect()
      for _, case in ipairs(NOT_A_SESSION) do
        local session = assert(client.configbackup:start { force = true })
        fault("raw", "GET", SESSIONS .. "/*", { body = case[1] })
        local done, err = session:wait { interval = 0.1, max_interval = 0.2, timeout = 60 }
        assert.is_nil(done)
        decode_error(err, case[2])
        assert(session:stop())
      end
      client:close()
    end)

    it("the list checked before a start, of the wrong shape: nothing started", function()
      local client = connect()
      for _, case in ipairs {
        { '{"data":[{"state":"Working"}]}', "item 1 of the sessions: the session's id" },
        { '{"data":[{"id":"' .. OTHER_ID .. '"}]}', "item 1 of the sessions: the session's state" },
        { "true", "got true" }, { "", "got true or an empty body" },
        { '{"data":{}}', "data is an object, not an array" },
        { '{"data":[null]}', "got null" }, { "[]", "got an array" },
        { '{"pagination":{}}', "data is nothing" }, { '{"data":"x"}', "data is a string" },
      } do
        fault("raw", "GET", SESSIONS, { body = case[1] })
        local session, err = client.configbackup:start()
        assert.is_nil(session)
        decode_error(err, case[2])
        assert.is_false(err.outcome_unknown)
      end
      assert.equal(0, requests("POST " .. START))
      client:close()
    end)

    it("settings that are no object: get() and edit() return nil, err, nothing is put",
      function()
        local client = connect()
        local cb = client.configbackup
        for _, body in ipairs { "[]", "[1,2]", '"x"', "42", "true", "null", "" } do
          fault("raw", "GET", CB, { body = body })
          local settings, err = cb:get()
          assert.is_nil(settings)
          decode_error(err, "expected the settings (a JSON object)")
          fault("raw", "GET", CB, { body = body })
          settings, err = cb:edit { restorePointsToKeep = 3 }
          assert.is_nil(settings)
          decode_error(err)
        end
        assert.equal(0, requests("PUT " .. CB))
        client:close()
      end)

    it("a session log of the wrong shape: nil, err", function()
      local client = connect()
      local session = assert(client.configbackup:start())
      for _, case in ipairs {
        { "[]", "expected a session log" }, { '"x"', "expected a session log" },
        { '{"records":{}}', "records are an object, not an array" },
        { '{"records":[1]}', "log record 1 is a number" },
      } do
        fault("raw", "GET", SESSIONS .. "/*", { body = case[1] })
        local records, err = session:logs()
        assert.is_nil(records)
        decode_error(err, case[2])
      end
      assert.is_table(assert(session:logs()))
      client:close()
    end)
  end)
  describe("control characters from a server", function()
    local s
    local cjson = require "cjson"
    local cli_run = require "spec.support.cli_run"
    -- what a terminal acts on: a screen clear, a window title, a fake line,
    -- CSI as a C1 control, a right-to-left override, a line separator
    local NASTY = "a\27[2J\27]0;owned\7b\r\nvbr: fake line\194\155c\226\128\174d\226\128\168e"

    setup(function() s = sim.start { session_duration = 1 } end)
    teardown(function() if s then s:stop() end end)
    before_each(function() s:reset() end)

    local function connect(extra) return connect_to(s, extra) end

    -- Printable text only: no C0 control (but a tab, print's separator) or
    -- DEL, no C1 control, no bidirectional control or line separator
    -- (lines: LF between them only).
    local function assert_printable(text, lines)
      for line in (lines and (text .. "\n") or text):gmatch(lines and "([^\n]*)\n" or ".+") do
        assert.is_nil(line:find("[%z\1-\8\10-\31\127]"), ("%q"):format(line))
        assert.is_nil(line:find("\194[\128-\159]"), ("%q"):format(line))
        assert.is_nil(line:find("\226\128[\168-\174]"), ("%q"):format(line))
      end
    end

    it("vbr.printable escapes them visibly, keeps UTF-8 and backslashes, twice is once",
      function()
        local text = "\0\1\t\n\r\27\127 \194\133\194\159 \226\128\168\226\128\169\226\128\174"
          .. "\226\129\166 \226\128\139\239\187\191 \243\160\128\129 \255\192\237\160\128 "
          .. "äé€𝄞 \\x1b"
        local shown = vbr.printable(text)
        assert.equal("\\u0000\\u0001\\t\\n\\r\\u001b\\u007f \\u0085\\u009f \\u2028\\u2029"
          .. "\\u202e\\u2066 \\u200b\\ufeff \\udb40\\udc01 \\xff\\xc0\\xed\\xa0\\x80 "
          .. "äé€𝄞 \\x1b", shown)
        assert.equal(shown, vbr.printable(shown))
        assert_printable(shown)
      end)

    it("errorCode and message: escaped in the error and in tostring", function()
      local client = assert(connect())
      s:fault { kind = "raw", method = "GET", path = "/api/v1/configBackup", status = 400,
                body = cjson.encode { errorCode = "Unexpected\27[31mContent\r\nX-Fake: 1",
                                      message = NASTY } }
      local settings, err = client.configbackup:get()
      assert.is_nil(settings)
      for _, text in ipairs { tostring(err), err.message, err.code } do assert_printable(text) end
      assert.equal("Unexpected\\u001b[31mContent\\r\\nX-Fake: 1", err.code)
      assert.matches("a\\u001b[2J\\u001b]0;owned\\u0007b\\r\\nvbr: fake line\\u009bc\\u202ed"
        .. "\\u2028e", tostring(err), 1, true)
      client:close()
    end)

    it("errors the library builds from server text: escaped too", function()
      local client = assert(connect())
      local session = assert(client.configbackup:start())
      -- a conflict naming the running session's state
      s:fault { kind = "patch", method = "GET", path = "/api/v1/sessions", item = 1,
                set = { state = "Working" .. NASTY } }
      local again, err = client.configbackup:start()
      assert.is_nil(again)
      assert.equal("conflict", err.kind)
      assert_printable(tostring(err))
      assert_printable(err.message)
      -- a failed session's message
      s:fault { kind = "patch", method = "GET", path = "/api/v1/sessions/*", count = 100,
                set = { state = "Stopped", result = { result = "Failed", message = NASTY } } }
      local done
      done, err = session:wait { interval = 0.1, max_interval = 0.2, timeout = 60 }
      assert.is_nil(done)
      assert.equal("failed", err.kind)
      assert_printable(tostring(err))
      assert_printable(err.message)
      assert.equal(NASTY, err.session.result.message)      -- the data is kept as it came
      s:clear_faults()
      client:close()
    end)

    it("a username with CR, LF and ESC: escaped in tostring(client)", function()
      local client = assert(connect())
      local c = require("vbr.core").new { url = s.url, username = ".\\svc\r\nX-Injected: 1\27[2J",
                                         password = "p", api_version = "1.1-rev0" }
      assert.equal("vbr.core client (" .. s.url .. ", user .\\svc\\r\\nX-Injected: 1\\u001b[2J, "
        .. "api 1.1-rev0)", tostring(c))
      c:close()
      assert_printable(tostring(client))
      client:close()
    end)

    it("the command's output: every line printable, whatever the server's texts", function()
      local vars = { VBR_URL = s.url, VBR_USERNAME = "admin", VBR_CA_FILE = s.ca_file,
                     VBR_API_VERSION = "1.3-rev1", VBR_PASSWORD = s.users.admin.password }
      s:fault { kind = "patch", method = "GET", path = "/api/v1/sessions", count = 10, item = 1,
                set = { name = NASTY, state = "Stopped" .. NASTY, sessionType = NASTY } }
      local id = s:state().sessions[1].id
      s:fault { kind = "patch", method = "GET", path = "/api/v1/sessions/" .. id, count = 10,
                set = { name = NASTY, result = { result = "Success", message = NASTY } } }
      for _, argv in ipairs { { "sessions", "list" }, { "sessions", "show", id },
                              { "sessions", "show", id, "--json" }, { "sessions", "logs", id },
                              { "--verbose", "sessions", "list", "--type", "any" } } do
        local code, out, err = cli_run(argv, vars)
        assert.equal(0, code, err)
        assert_printable(out, true)
        assert_printable(err, true)
        assert.matches("a\\u001b[2J", out, 1, true)    -- shown, escaped
      end
      -- the REPL: print(...), a value, a tree, an error
      local code, out, err = cli_run({ "repl" }, vars, "l = client:sessions()\n"
        .. "print(l[1].name, l[1].state)\nl[1].name\nl[1]\nerror(l[1].name)\n")
      assert.equal(1, code, err)           -- the script stops at its failure
      assert_printable(out, true)
      assert_printable(err, true)
      assert.matches("a\\u001b[2J", out, 1, true)
      assert.matches("a\\u001b[2J", err, 1, true)
      -- the progress bar (its own \r is the only one)
      local written = {}
      local bar = require("vbr.cli.progress").new({ write = function(_, ...)
        for i = 1, select("#", ...) do written[#written + 1] = (select(i, ...)) end
      end }, false)
      bar:update { state = NASTY, progressPercent = 5 }
      assert_printable(table.concat(written), true)
    end)

    it("vbr.pretty (the REPL's trees): strings escaped and quoted", function()
      local text = require("vbr.pretty").format { name = NASTY, list = { NASTY } }
      assert_printable(text, true)
      assert.matches('name: "a\\u001b[2J', text, 1, true)
    end)
  end)
end)
