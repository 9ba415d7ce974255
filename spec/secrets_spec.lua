-- No secret leaks. Representative operations run end to end against one
-- simulator - library calls with and without every fault, the core's own
-- errors, tostring of clients, sessions and errors, the vbr command with
-- --verbose in child processes (and the insecure warning), the simulator's
-- own logs - and everything they produce is collected. Then the collection is
-- searched for every password (as given and URL-encoded) and for every access
-- and refresh token the simulator issued during the run (admin GET
-- /admin/tokens).
local vbr = require "vbr"
local core = require "vbr.core"
local sim = require "spec.support.sim"

-- Every string reachable from a value (tables followed, cycles cut).
local function strings_of(value, out, seen)
  out, seen = out or {}, seen or {}
  local kind = type(value)
  if kind == "string" then
    out[#out + 1] = value
  elseif kind == "table" and not seen[value] then
    seen[value] = true
    local mt = getmetatable(value)
    if type(mt) == "table" and mt.__tostring then out[#out + 1] = tostring(value) end
    for k, v in pairs(value) do
      strings_of(k, out, seen)
      strings_of(v, out, seen)
    end
  elseif value ~= nil then
    out[#out + 1] = tostring(value)
  end
  return out
end

local function escape(s, space)
  return (s:gsub("[^%w%-%._~]", function(c)
    if c == " " and space then return space end
    return ("%%%02X"):format(c:byte())
  end))
end

local shell = require "spec.support.shell"
local shell_quote = shell.quote

local function read_file(path)
  return shell.read(path) or ""
end

describe("secrets", function()
  local s
  local collected = {}        -- {what, text}
  local passwords = {}

  local function keep(what, ...)
    for i = 1, select("#", ...) do
      for _, text in ipairs(strings_of((select(i, ...)))) do
        collected[#collected + 1] = { what = what, text = text }
      end
    end
  end

  setup(function()
    s = sim.start { session_duration = 1 }
    for _, user in pairs(sim.users) do passwords[#passwords + 1] = user.password end
    passwords[#passwords + 1] = "Wr0ng p@ss&=%"
  end)
  teardown(function() if s then s:stop() end end)

  local function options(extra)
    local o = { url = s.url, ca_file = s.ca_file, username = "admin",
                password = s.users.admin.password, api_version = "1.3-rev1",
                retry = { base_delay = 0.01, max_delay = 0.02, attempts = 2, max_time = 10 } }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  it("runs the library end to end, failures included", function()
    local client = assert(vbr.connect(options()))
    keep("client", tostring(client), tostring(client.core))
    local cb = client.configbackup
    keep("get", cb:get())
    keep("edit", cb:edit { restorePointsToKeep = 12 })
    keep("check", cb:check { restorePointsToKeep = 0 })
    keep("set_encryption", cb:set_encryption("no such hint"))
    local session, err = cb:start()
    keep("start", session, err)
    keep("conflict", cb:start())
    keep("wait", session:wait { interval = 0.2 })
    keep("logs", session:logs())
    keep("sessions", client:sessions { limit = 3 })
    keep("tostring session", tostring(session))
    -- every fault kind, on a GET and on a start
    local kinds = {
      { kind = "status", status = 503, retry_after = 0 }, { kind = "status", status = 500 },
      { kind = "html_error" }, { kind = "empty_401" }, { kind = "reset_before" },
      { kind = "reset_after" }, { kind = "malformed_json" }, { kind = "truncated_json" },
      { kind = "short_body" },
      { kind = "raw", status = 302, headers = { Location = "https://elsewhere.example/" } },
      { kind = "raw", status = 400, body = '{"errorCode":"AccessDenied","message":"echo"}' },
    }
    for _, rule in ipairs(kinds) do
      for _, target in ipairs { { "GET", "/api/v1/configBackup" },
                                { "POST", "/api/v1/configBackup/backup" } } do
        local r = {}
        for k, v in pairs(rule) do r[k] = v end
        r.method, r.path = target[1], target[2]
        s:fault(r)
        if target[1] == "GET" then
          keep("get under " .. rule.kind, cb:get())
        else
          keep("start under " .. rule.kind, cb:start { force = true })
        end
        s:clear_faults()
      end
    end
    -- expired tokens, a refused refresh, a logout
    s:expire_tokens()
    keep("after expiry", cb:get())
    s:expire_tokens()
    s:fault { kind = "refuse_refresh", empty_body = true }
    keep("refused refresh", cb:get())
    keep("logout", client:logout())
    keep("after logout", cb:get())
    client:close()
    keep("closed client", tostring(client))
    -- refused logins, a failing password function, a timeout
    keep("wrong password", vbr.connect(options { password = "Wr0ng p@ss&=%" }))
    keep("viewer", select(2, pcall(function()
      local viewer = assert(vbr.connect(options { username = "viewer",
                                                  password = s.users.viewer.password }))
      return { viewer.configbackup:get() }
    end)))
    keep("password function", vbr.connect(options { password = function()
      error("vault said: " .. s.users.admin.password)
    end }))
    s:fault { kind = "trickle", method = "GET", path = "/api/v1/serverInfo", ms = 300 }
    local slow = assert(vbr.connect(options { timeout = 1, retry = { attempts = 1 } }))
    keep("timeout", slow:server_info())
    slow:close()
    assert.is_true(#collected > 50)
  end)

  it("runs the core directly, every fault kind", function()
    local c = core.new(options())
    keep("core", tostring(c), c:login())
    for _, rule in ipairs {
      { kind = "status", status = 429, retry_after = 0 }, { kind = "empty_401" },
      { kind = "reset_before" }, { kind = "reset_after" }, { kind = "malformed_json" },
      { kind = "short_body" }, { kind = "html_error", status = 504 },
    } do
      rule.method = "POST"
      rule.path = "/api/v1/sessions/00000000-0000-0000-0000-000000000000/stop"
      s:fault(rule)
      keep("core " .. rule.kind, c:request("POST", rule.path))
      s:clear_faults()
    end
    -- the step API hands tokens to the caller's transport by design (the
    -- send steps' headers); its errors must not
    local job = c:begin("GET", "/api/v1/serverInfo")
    local step = job:next()
    while step.action == "send" or step.action == "sleep" do
      step = step.action == "send" and job:next(c:perform(step)) or job:next()
    end
    keep("step result", step.response and step.response.json, step.err)
    keep("core logout", c:logout())
    c:close()
  end)

  it("runs the vbr command with --verbose in child processes", function()
    local interpreter = (arg and arg[-1]) or "lua5.4"
    local password_file = os.tmpname()
    local f = assert(io.open(password_file, "w"))
    f:write(s.users.admin.password, "\n")
    f:close()
    local wrong_file = os.tmpname()
    f = assert(io.open(wrong_file, "w"))
    f:write("Wr0ng p@ss&=%\n")
    f:close()
    local env = ("VBR_URL=%s VBR_USERNAME=admin VBR_CA_FILE=%s VBR_API_VERSION=1.3-rev1 "
      .. "LUA_PATH=%s LUA_CPATH=%s "):format(shell_quote(s.url), shell_quote(s.ca_file),
      shell_quote(package.path), shell_quote(package.cpath))
    local function run(password, args)
      local command = env .. "VBR_PASSWORD_FILE=" .. shell_quote(password) .. " "
        .. interpreter .. " bin/vbr --verbose " .. args .. " 2>&1"
      local pipe = assert(io.popen(command))
      local output = pipe:read("*a")
      pipe:close()
      keep("vbr " .. args, output)
      return output
    end
    assert.matches("GET /api/v1/configBackup", run(password_file, "configbackup show"), 1, true)
    run(password_file, "configbackup set --retention 14")
    run(password_file, "configbackup set --snmp on")
    run(password_file, "configbackup run --wait")
    run(password_file, "sessions list")
    run(wrong_file, "configbackup show")
    s:fault { kind = "reset_after", method = "POST", path = "/api/v1/configBackup/backup" }
    run(password_file, "configbackup run")
    s:fault { kind = "empty_401", count = 10 }
    run(password_file, "configbackup show")
    s:clear_faults()
    -- the insecure warning
    local pipe = assert(io.popen(("LUA_CPATH=%s %s -e %s 2>&1"):format(shell_quote(package.cpath),
      interpreter, shell_quote(("require('vbr.core').new{url=%q, username='admin', "
      .. "password=%q, insecure=true}"):format(s.url, s.users.admin.password)))))
    keep("insecure warning", pipe:read("*a"))
    pipe:close()
    os.remove(password_file)
    os.remove(wrong_file)
  end)

  describe("echoed in every encoding", function()
    local encodings = require "spec.support.encodings"
    local cli_run = require "spec.support.cli_run"

    local function plant(form) return "echo<" .. form .. ">end" end

    -- The tokens the simulator issued last: those of the client that logged
    -- in last.
    local function last_tokens()
      local issued = s:admin("GET", "/admin/tokens")
      return { access_token = issued.access[#issued.access],
               refresh_token = issued.refresh[#issued.refresh] }
    end

    -- Every byte-wise form of a secret is scrubbed whole, the text around it
    -- kept; in base64 forms none of the secret's stable characters is left.
    local function assert_scrubbed(clean, secret, what)
      for _, e in ipairs(encodings.byte_wise) do
        local text = clean(plant(e.encode(secret)))
        keep(what .. ", " .. e.name, text)
        assert.equal(plant("***"), text, what .. ", " .. e.name)
      end
      for _, e in ipairs(encodings.base64_forms) do
        local text = clean(plant(e.encode(secret)))
        keep(what .. ", " .. e.name, text)
        assert.matches("***", text, 1, true)
        for _, trace in ipairs(encodings.base64_traces(secret)) do
          assert.is_nil(encodings.unwrapped(text):find(trace, 1, true), what .. ", " .. e.name)
        end
      end
    end

    it("vbr.printable: the password of every source and both tokens", function()
      local admin = assert(vbr.connect(options()))
      local tokens = last_tokens()
      local operator = assert(vbr.connect(options { username = "operator",
        password = function() return s.users.operator.password end }))
      local file = os.tmpname()
      local f = assert(io.open(file, "w"))
      f:write(s.users.viewer.password, "\n")
      f:close()
      local viewer_options = options { username = "viewer" }
      viewer_options.password, viewer_options.password_file = nil, file
      local viewer = assert(vbr.connect(viewer_options))
      os.remove(file)
      for what, secret in pairs {
        ["the password given"] = s.users.admin.password,
        ["the password of a function"] = s.users.operator.password,
        ["the password of a file"] = s.users.viewer.password,
        ["the access token"] = tokens.access_token,
        ["the refresh token"] = tokens.refresh_token,
      } do
        assert_scrubbed(vbr.printable, secret, what)
      end
      -- what is not promised: a closed client's secrets are gone, also from
      -- the scrubber (the server forgot the tokens with the logout)
      admin:logout()
      admin:close()
      assert.equal(plant(tokens.access_token), vbr.printable(plant(tokens.access_token)))
      operator:close()
      viewer:close()
    end)

    it("a client's scrub: its own secrets in every encoding, no other client's", function()
      local admin = assert(vbr.connect(options()))
      local tokens = last_tokens()
      local operator = assert(vbr.connect(options { username = "operator",
        password = s.users.operator.password }))
      local function own(text) return admin.core:scrub(text) end
      for what, secret in pairs {
        ["its password"] = s.users.admin.password,
        ["its access token"] = tokens.access_token,
        ["its refresh token"] = tokens.refresh_token,
      } do
        assert_scrubbed(own, secret, what)
      end
      -- the operator's server was never sent the admin's secrets, and the
      -- reverse: each answer costs the scrub of one client, not of all open
      local text = plant(s.users.admin.password)
      assert.equal(text, operator.core:scrub(text))
      assert.equal(plant("***"), operator.core:scrub(plant(s.users.operator.password)))
      admin:close()
      operator:close()
    end)

    it("a login refusal echoing the form: every encoding scrubbed by the core", function()
      local password = s.users.admin.password
      for _, e in ipairs(encodings.byte_wise) do
        s:fault { kind = "raw", method = "POST", path = "/api/oauth2/token", status = 400,
                  body = require("cjson").encode { errorCode = "UnexpectedContent",
                    message = plant(e.encode(password)) } }
        local client, err = vbr.connect(options())
        assert.is_nil(client)
        keep("login refusal, " .. e.name, err)
        assert.matches(plant("***"), err.message, 1, true)
        assert.matches(plant("***"), tostring(err), 1, true)
      end
    end)

    it("errorCode and message echoing the bearer token: scrubbed", function()
      local client = assert(vbr.connect(options()))
      local token = last_tokens().access_token
      s:fault { kind = "raw", method = "GET", path = "/api/v1/configBackup", status = 403,
                body = require("cjson").encode { errorCode = token,
                  message = "Authorization: Bearer " .. token .. " refused" } }
      local settings, err = client.configbackup:get()
      assert.is_nil(settings)
      keep("bearer echo", err)
      assert.equal("***", err.code)
      assert.equal("Authorization: Bearer *** refused", err.message)
      client:close()
    end)

    -- No backup runs (earlier runs may: the simulator refuses a second one).
    local function idle()
      local client = assert(vbr.connect(options()))
      local running = client.configbackup:running()
      if running then assert(running:stop()) end
      client:close()
    end

    -- A failed session whose message echoes the password and the request's
    -- Authorization header (Bearer).
    local function echo_in_session()
      local password = s.users.admin.password
      local message = "Login as admin:" .. encodings.byte_wise[4].encode(password)
        .. " failed; Basic " .. encodings.base64("admin:" .. password)
        .. "; {authorization}"
      s:fault { kind = "patch", method = "GET", path = "/api/v1/sessions/*", count = 1000,
                set = { state = "Stopped", result = { result = "Failed", message = message } } }
      return message
    end

    local function assert_echo_scrubbed(text, what)
      keep(what, text)
      assert.matches("Login as admin:*** failed; Basic YWRtaW46***; Bearer ***", text, 1, true)
    end

    it("a failed session echoing them: the wait() error, the session, its log", function()
      idle()
      local client = assert(vbr.connect(options()))
      local session = assert(client.configbackup:start())
      echo_in_session()
      local done, err = session:wait { interval = 0.1, max_interval = 0.2, timeout = 60 }
      assert.is_nil(done)
      assert.equal("failed", err.kind)
      assert_echo_scrubbed(tostring(err), "wait error")
      assert_echo_scrubbed(err.message, "wait error message")
      assert_echo_scrubbed(err.session.result.message, "failed session")
      keep("failed session", err)
      assert(session:stop())          -- the server still runs it
      s:clear_faults()
      client:close()
    end)

    it("a failed session echoing them: nothing of them in the command's output", function()
      local password_file = os.tmpname()
      local f = assert(io.open(password_file, "w"))
      f:write(s.users.admin.password, "\n")
      f:close()
      local vars = { VBR_URL = s.url, VBR_USERNAME = "admin", VBR_CA_FILE = s.ca_file,
                     VBR_API_VERSION = "1.3-rev1", VBR_PASSWORD_FILE = password_file }
      idle()
      local message = echo_in_session()
      local code, out, err = cli_run({ "--verbose", "configbackup", "run", "--wait", "--force" },
        vars)
      assert.equal(1, code, err)
      assert_echo_scrubbed(out .. err, "vbr configbackup run --wait")
      local id = (out .. err):match("session (%x+%-[%x%-]+)")
      -- VBR_PASSWORD this time: a password from the environment is scrubbed too
      vars.VBR_PASSWORD_FILE, vars.VBR_PASSWORD = nil, s.users.admin.password
      s:clear_faults()                -- the log's rule first: the first that matches wins
      s:fault { kind = "patch", method = "GET", path = "/api/v1/sessions/" .. id .. "/logs",
                count = 10, set = { records = { { id = 1, status = "Failed", title = message,
                  startTime = "2026-01-21T10:00:35+01:00" } } } }
      echo_in_session()
      for _, argv in ipairs { { "sessions", "show", id }, { "sessions", "show", id, "--json" },
                              { "sessions", "logs", id } } do
        code, out, err = cli_run(argv, vars)
        assert.equal(0, code, err)
        assert_echo_scrubbed(out .. err, "vbr " .. table.concat(argv, " "))
      end
      -- settings are data (never scrubbed, they go back in a PUT): the
      -- command scrubs what it prints of them
      s:fault { kind = "patch", method = "GET", path = "/api/v1/configBackup",
                set = { note = message } }
      code, out, err = cli_run({ "configbackup", "show", "--json" }, vars)
      assert.equal(0, code, err)
      assert_echo_scrubbed(out, "vbr configbackup show --json")
      s:clear_faults()
      os.remove(password_file)
    end)

    it("the library reads no environment variable (vbr.env and the command do)", function()
      local getenv = os.getenv
      local asked = {}
      os.getenv = function(name) asked[#asked + 1] = name return getenv(name) end  -- luacheck: ignore
      local ok, why = pcall(function()
        local client = assert(vbr.connect(options()))
        assert(client.configbackup:get())
        assert(client:sessions { limit = 1 })
        client:close()
      end)
      os.getenv = getenv                                                         -- luacheck: ignore
      assert.is_true(ok, why)
      assert.same({}, asked)
    end)

    it("a url with credentials and another scheme: the scheme error shows no password",
      function()
        for _, url in ipairs { "http://admin:S3cr3t-Pw@vbr.example", "admin:S3cr3t-Pw@vbr.example",
                               "ftp://admin:S3cr3t-Pw@vbr.example:21/x?password=S3cr3t-Pw",
                               "https://vbr.example/?password=S3cr3t-Pw" } do
          local ok, message = pcall(vbr.connect, options { url = url })
          assert.is_false(ok)
          keep("url " .. url, message)
          assert.is_nil(message:find("S3cr3t", 1, true), message)
          assert.matches("option 'url' must", message, 1, true)
        end
      end)
  end)

  it("shows no password and no token anywhere", function()
    core.sleep(1.2)           -- the access log is flushed every second
    keep("simulator error.log", read_file(s.dir .. "/logs/error.log"))
    keep("simulator access.log", read_file(s.dir .. "/logs/access.log"))
    local issued = s:admin("GET", "/admin/tokens")
    assert.is_false(issued.truncated)
    assert.is_true(#issued.access > 10, "the run issued tokens")
    local needles = {}
    for _, password in ipairs(passwords) do
      needles[#needles + 1] = { "a password", password }
      needles[#needles + 1] = { "a URL-encoded password", escape(password) }
      needles[#needles + 1] = { "a form-encoded password", escape(password, "+") }
    end
    for _, list in ipairs { issued.access, issued.refresh } do
      for _, token in ipairs(list) do
        needles[#needles + 1] = { "a token", token }
        -- the random tail alone: a JWT's header part is the same for all
        needles[#needles + 1] = { "a token's tail", token:sub(-32) }
      end
    end
    needles[#needles + 1] = { "a bearer header", "Bearer [^*]", pattern = true }
    assert.is_true(#collected > 100)
    for _, item in ipairs(collected) do
      for _, needle in ipairs(needles) do
        if item.text:find(needle[2], 1, not needle.pattern) then
          error(("%s in %s: %q"):format(needle[1], item.what, item.text:sub(1, 300)), 0)
        end
      end
    end
  end)
end)
