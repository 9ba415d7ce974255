-- Specs of the VBR simulator itself: HTTPS with the curl command line against
-- a real instance, checked against the OpenAPI documents and the handbook.
local sim = require "spec.support.sim"

-- The simulator's pure-Lua JSON codec and schema validator, loaded from its
-- tree: responses are checked against the revision's document with them.
package.path = "simulator/lua/?.lua;" .. package.path
local json = require "vbrsim.json"
local schema = require "vbrsim.schema"
local openapi = require "vbrsim.openapi"

local REVISIONS = { "1.1-rev0", "1.2-rev1", "1.3-rev0", "1.3-rev1", "1.3-rev2" }
local ADMIN, OPERATOR, VIEWER = sim.users.admin, sim.users.operator, sim.users.viewer
local DEFAULT_REPO = "88788f9e-d8f5-4eb4-bc4f-9b3f5403bcec"
local HARDENED_REPO = "3f8e6a52-1c0b-4d6e-9a77-5b2d8c4e9f10"
local SCALE_OUT_REPO = "5c3b2a19-8d7e-4f60-b1a2-c3d4e5f60718"
local EXTERNAL_REPO = "7e6d5c4b-3a29-4180-9f0e-1d2c3b4a5968"
local STANDARD_PASSWORD = "6ebbe3cc-8147-47b6-b77a-01eeb7965522"
local UNKNOWN_ID = "00000000-1111-4222-8333-444444444444"

local documents = assert(openapi.load("simulator/openapi"))

local shell = require "spec.support.shell"
local shell_quote, read_all, write_all = shell.quote, shell.read, shell.write

-- Runs a shell command; returns its output and exit code (portable across Lua versions).
local function run(command)
  local pipe = assert(io.popen(command .. " 2>&1; echo \"exit=$?\""))
  local output = pipe:read("*a")
  pipe:close()
  local text, code = output:match("^(.*)exit=(%d+)%s*$")
  return text, tonumber(code)
end

local scratch = run("mktemp -d"):gsub("%s+$", "")

local REPOSITORIES = "/api/v1/backupInfrastructure/repositories"
local TEMPLATES = {
  "/api/oauth2/token", "/api/oauth2/logout", "/api/v1/serverInfo", "/api/v1/configBackup",
  "/api/v1/configBackup/backup", "/api/v1/sessions", "/api/v1/sessions/{id}",
  "/api/v1/sessions/{id}/logs", "/api/v1/sessions/{id}/stop", "/api/v1/encryptionPasswords",
  REPOSITORIES,
}

local function template_of(path)
  path = path:gsub("%?.*$", "")
  for _, template in ipairs(TEMPLATES) do
    if path:match("^" .. template:gsub("{id}", "[^/]+") .. "$") then return template end
  end
  return nil
end

-- Every JSON answer must match the response schema its revision documents.
local function check_against_document(version, method, path, res)
  local document = documents.served_by[version]
  local template = template_of(path)
  if not (document and template and res.data ~= nil) then return end
  local op = document:operation(method, template)
  local answer = op and document:resolve(op.responses[tostring(res.status)])
  local content = answer and answer.content and answer.content["application/json"]
  if not content then return end
  local problem = schema.validate(document, content.schema, res.data, { strict = false })
  if problem then
    error(("%s %s (%s) answer %d does not match its schema: %s %s"):format(
      method, path, version, res.status, problem.path, problem.message), 2)
  end
end

local server

-- One HTTPS request with curl. opts: method, path, version (x-api-version,
-- false for none), token, body (JSON text), form (list of {name, value}),
-- headers (list), server (another instance), url, extra (curl arguments).
-- Returns {status, headers, body, data (decoded JSON or nil), exit}.
local function request(opts)
  local method = opts.method or "GET"
  local target = opts.server or server
  local args = { "curl -sS --max-time 20 --cacert", shell_quote(target.ca_file), "-X", method,
                 "-D", shell_quote(scratch .. "/headers"), "-o", shell_quote(scratch .. "/body"),
                 "-w '%{http_code} %{time_total}'" }
  local version = opts.version
  if version == nil then version = "1.3-rev2" end
  if version then args[#args + 1] = "-H " .. shell_quote("x-api-version: " .. version) end
  if opts.token then
    args[#args + 1] = "-H " .. shell_quote("Authorization: Bearer " .. opts.token)
  end
  for _, header in ipairs(opts.headers or {}) do args[#args + 1] = "-H " .. shell_quote(header) end
  if opts.body then
    write_all(scratch .. "/request", opts.body)
    if not opts.no_content_type then args[#args + 1] = "-H 'Content-Type: application/json'" end
    args[#args + 1] = "--data-binary @" .. shell_quote(scratch .. "/request")
  end
  for _, field in ipairs(opts.form or {}) do
    args[#args + 1] = "--data-urlencode " .. shell_quote(field[1] .. "=" .. field[2])
  end
  for _, extra in ipairs(opts.extra or {}) do args[#args + 1] = extra end
  os.remove(scratch .. "/body")
  os.remove(scratch .. "/headers")
  args[#args + 1] = shell_quote((opts.url or target.url) .. opts.path)
  local output, code = run(table.concat(args, " "))
  local status, seconds = output:match("(%d%d%d) ([%d.]+)%s*$")
  local res = { status = tonumber(status), time = tonumber(seconds), exit = code,
                output = output, headers = {} }
  res.body = read_all(scratch .. "/body") or ""
  for name, value in (read_all(scratch .. "/headers") or ""):gmatch("([%w%-]+):%s*([^\r\n]*)") do
    res.headers[name:lower()] = value
  end
  if (res.headers["content-type"] or ""):find("application/json") then
    res.data = json.decode(res.body)
  end
  if version and res.exit == 0 and not opts.unchecked then
    check_against_document(version, method, opts.path, res)
  end
  return res
end

local function password_form(user, grant)
  return { { "grant_type", grant or "password" }, { "username", user.username },
           { "password", user.password } }
end

local function login(user, version, grant, target)
  local res = request { method = "POST", path = "/api/oauth2/token", version = version,
                        server = target, form = password_form(user, grant) }
  assert(res.status == 200, "login failed: " .. res.body)
  return res.data.access_token, res.data.refresh_token, res.data
end

local function refresh(token, grant)
  return request { method = "POST", path = "/api/oauth2/token",
                   form = { { "grant_type", grant or "refresh_token" },
                            { "refresh_token", token } } }
end

local function get_config(token, version)
  local res = request { path = "/api/v1/configBackup", token = token, version = version }
  assert(res.status == 200, res.body)
  return res.data, res.body
end

local function put_config(token, version, body)
  return request { method = "PUT", path = "/api/v1/configBackup", token = token, version = version,
                   body = type(body) == "string" and body or json.encode(body) }
end

local function error_of(res)
  return res.data and res.data.errorCode, res.data and res.data.message
end

local function sleep(seconds)
  run("sleep " .. seconds)
end

-- True while a pid runs (a zombie waiting for its reaper counts as gone).
local function running(pid)
  local status = read_all("/proc/" .. pid .. "/status")
  local state = status and status:match("State:%s*(%u)")
  return state ~= nil and state ~= "Z"
end

local function error_lines()
  local log = read_all(server.dir .. "/logs/error.log") or ""
  local found = {}
  for line in log:gmatch("[^\n]+") do
    local level = line:match("%[(%a+)%]")
    if level == "error" or level == "crit" or level == "alert" or level == "emerg" then
      found[#found + 1] = line
    end
  end
  return found
end

describe("VBR simulator", function()
  local admin_token

  lazy_setup(function()
    -- Short sessions keep the specs fast; specs that watch one run set a longer one.
    server = sim.start { session_duration = 0.3 }
  end)

  lazy_teardown(function()
    if server then server:stop() end
    run("rm -rf " .. shell_quote(scratch))
  end)

  before_each(function()
    server:reset()
    admin_token = login(ADMIN)
  end)

  after_each(function()
    assert.are.same({}, error_lines())
  end)

  ---------------------------------------------------------------- process and TLS
  describe("vbrsim", function()
    it("prints where it runs and runs as the pid it printed", function()
      assert.matches("^https://127%.0%.0%.1:%d+$", server.url)
      assert.matches("^http://127%.0%.0%.1:%d+$", server.admin_url)
      assert.is_number(server.pid)
      assert.is_true(running(server.pid))
      assert.equal("nginx", (read_all("/proc/" .. server.pid .. "/comm") or ""):match("^%S+"))
      assert.truthy(read_all(server.ca_file):find("BEGIN CERTIFICATE", 1, true))
    end)

    it("runs two instances side by side and stops one by pid, removing its directory", function()
      local other = sim.start { token_lifetime = 60 }
      finally(function() other:stop() end)
      assert.are_not.equal(server.url, other.url)
      assert.are_not.equal(server.dir, other.dir)
      local token = login(ADMIN, nil, nil, other)
      local res = request { server = other, path = "/api/v1/serverInfo", token = token }
      assert.equal(200, res.status)
      -- tokens are per instance
      assert.equal(401, request { path = "/api/v1/serverInfo", token = token }.status)
      other:stop()
      assert.is_false(running(other.pid))
      assert.is_nil(io.open(other.dir .. "/nginx.conf"))
      -- the first instance is untouched
      assert.equal(200, request { path = "/api/v1/serverInfo", token = admin_token }.status)
    end)

    it("refuses to start with an unknown or mistyped setting, leaving nothing behind", function()
      for _, options in ipairs { { no_such_setting = 1 }, { snmp_configured = "yes" } } do
        local ok, err = pcall(sim.start, options)
        assert.is_false(ok)
        assert.matches("vbrsim start failed", err)
      end
    end)

    it("refuses to stop a process that is not one of its instances", function()
      local output, code = run(shell_quote(sim.vbrsim) .. " stop 1")
      assert.are_not.equal(0, code)
      assert.matches("not a running vbrsim instance", output)
    end)

    it("serves HTTPS verified by the generated CA only, on 127.0.0.1 and localhost", function()
      local port = server.url:match(":(%d+)$")
      local url = shell_quote(server.url .. "/api/v1/serverInfo")
      local _, code = run("curl -sS -o /dev/null " .. url)
      assert.equal(60, code) -- peer certificate cannot be authenticated
      -- localhost pinned to 127.0.0.1: the name is checked, the address stays IPv4 loopback
      local pin_address = "--resolve " .. shell_quote("localhost:" .. port .. ":127.0.0.1")
      local res = request { url = "https://localhost:" .. port, path = "/api/v1/serverInfo",
                            token = admin_token, extra = { pin_address } }
      assert.equal(200, res.status)
      res = request { path = "/api/v1/serverInfo", token = admin_token,
                      extra = { "--pinnedpubkey " .. shell_quote(server.pubkey) } }
      assert.equal(200, res.status)
      local wrong_pin = "sha256//" .. ("A"):rep(43) .. "="
      res = request { path = "/api/v1/serverInfo", token = admin_token,
                      extra = { "--pinnedpubkey " .. shell_quote(wrong_pin) } }
      assert.equal(90, res.exit) -- SSL public key does not match pinned public key
    end)
  end)
  ---------------------------------------------------------------- documents and versions
  describe("OpenAPI documents", function()
    it("ships a copy equal to ../shared/openapi when that folder exists", function()
      local shared = io.open("../shared/openapi/vbr-1.1-rev0.json")
      if not shared then return pending("no ../shared/openapi here") end
      shared:close()
      local output, code = run("diff -r ../shared/openapi simulator/openapi")
      assert.equal(0, code, output)
    end)

    it("requires x-api-version on every call, the token endpoint included", function()
      local res = request { method = "POST", path = "/api/oauth2/token", version = false,
                            form = password_form(ADMIN) }
      assert.equal(400, res.status)
      assert.equal("NotImplemented", error_of(res))
      res = request { path = "/api/v1/configBackup", token = admin_token, version = false }
      assert.equal(400, res.status)
      assert.matches("x%-api%-version", res.data.message)
    end)

    it("refuses an unknown revision with the documented message and the supported list", function()
      local res = request { path = "/api/v1/configBackup", token = admin_token,
                            version = "1.4-rev0" }
      assert.equal(400, res.status)
      local code, message = error_of(res)
      assert.equal("NotImplemented", code)
      assert.equal("The specified API version is not supported. Supported versions: "
        .. "1.1-rev0, 1.1-rev1, 1.1-rev2, 1.2-rev0, 1.2-rev1, 1.3-rev0, 1.3-rev1, 1.3-rev2.",
        message)
    end)

    it("serves builds sharing a document (1.1-rev1/2 by 1.1-rev0, 1.2-rev0 by 1.2-rev1)", function()
      local data = get_config(admin_token, "1.1-rev2")
      assert.equal("10:00 AM", data.schedule.daily.localTime)
      data = get_config(admin_token, "1.1-rev1")
      assert.equal("10:00 AM", data.schedule.daily.localTime)
      data = get_config(admin_token, "1.2-rev0")
      assert.equal("10:00", data.schedule.daily.localTime)
    end)

    it("takes its revisions from the documents in its openapi folder", function()
      local dir = scratch .. "/openapi"
      run("mkdir -p " .. shell_quote(dir)
        .. " && cp simulator/openapi/vbr-1.1-rev0.json " .. shell_quote(dir)
        .. " && cp simulator/openapi/vbr-1.3-rev2.json "
        .. shell_quote(dir .. "/vbr-1.4-rev0.json"))
      local other = sim.start { openapi = dir }
      finally(function() other:stop() end)
      local token = login(ADMIN, "1.4-rev0", nil, other)
      local function status(version)
        return request { server = other, path = "/api/v1/configBackup", token = token,
                         version = version }
      end
      assert.equal(200, status("1.4-rev0").status)
      assert.equal(200, status("1.1-rev1").status)
      local res = status("1.3-rev2")
      assert.equal(400, res.status)
      assert.matches("Supported versions: 1.1%-rev0, 1.1%-rev1, 1.1%-rev2, 1.4%-rev0%.$",
                     res.data.message)
    end)

    it("can play an older server (max_revision) and reports its build", function()
      server:config { max_revision = "1.2-rev1" }
      local res = request { path = "/api/v1/configBackup", token = admin_token,
                            version = "1.3-rev0" }
      assert.equal(400, res.status)
      assert.matches("Supported versions: .*1%.2%-rev1%.$", res.data.message)
      res = request { path = "/api/v1/serverInfo", token = admin_token, version = "1.2-rev1" }
      assert.equal(200, res.status)
      assert.equal("12.3.1.1139", res.data.buildVersion)
    end)

    it("answers serverInfo in the shape of each revision", function()
      for _, version in ipairs(REVISIONS) do
        local res = request { path = "/api/v1/serverInfo", token = admin_token, version = version }
        assert.equal(200, res.status)
        assert.truthy(res.body:find('"patches":[]', 1, true))
      end
      local old = request { path = "/api/v1/serverInfo", token = admin_token,
                            version = "1.1-rev0" }.data
      assert.is_nil(old.platform)
      local new = request { path = "/api/v1/serverInfo", token = admin_token,
                            version = "1.3-rev0" }.data
      assert.equal("Windows", new.platform)
    end)

    it("answers 404 for paths a revision does not have and 405 for wrong methods", function()
      local res = request { path = "/api/v1/nothing", token = admin_token }
      assert.equal(404, res.status)
      assert.equal("NotFound", error_of(res))
      res = request { method = "DELETE", path = "/api/v1/configBackup", token = admin_token }
      assert.equal(405, res.status)
      assert.equal("MethodNotAllowed", error_of(res))
    end)
  end)

  ---------------------------------------------------------------- login
  describe("authentication", function()
    it("issues a TokenModel for the password grant, in either casing of grant_type", function()
      for _, grant in ipairs { "password", "Password" } do
        local _, _, data = login(ADMIN, "1.1-rev0", grant)
        assert.equal("bearer", data.token_type)
        assert.equal(900, data.expires_in)
        assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d+[+-]%d%d:%d%d$", data[".issued"])
        assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d+[+-]%d%d:%d%d$", data[".expires"])
        assert.are_not.equal(data.access_token, data.refresh_token)
      end
    end)

    it("can leave the UTC offset out of .issued and .expires, as some servers do", function()
      server:config { token_dates_with_offset = false }
      -- deliberately off the documented date-time format: no schema check here
      local res = request { method = "POST", path = "/api/oauth2/token", unchecked = true,
                            form = password_form(ADMIN) }
      assert.equal(200, res.status)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d+$", res.data[".issued"])
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d+$", res.data[".expires"])
    end)

    it("refuses wrong credentials with 401 and the Error model", function()
      for _, user in ipairs {
        { username = "admin", password = "wrong" },
        { username = "nobody", password = "x" },
        { username = "mfa-user", password = "Mfa-Pass1" },
      } do
        local res = request { method = "POST", path = "/api/oauth2/token",
                              form = password_form(user) }
        assert.equal(401, res.status)
        assert.equal("AccessDenied", error_of(res))
      end
    end)

    it("wants a form body and a known grant type", function()
      local res = request { method = "POST", path = "/api/oauth2/token",
                            body = '{"grant_type":"password","username":"admin"}' }
      assert.equal(400, res.status)
      res = request { method = "POST", path = "/api/oauth2/token",
                      form = { { "grant_type", "magic" } } }
      assert.equal(400, res.status)
      assert.matches("^grant_type:", res.data.message)
      res = request { method = "POST", path = "/api/oauth2/token",
                      form = { { "grant_type", "password" } } }
      assert.equal(400, res.status)
      assert.matches("^username:", res.data.message)
    end)

    it("uses the configured access-token lifetime and answers 401 ExpiredToken after it", function()
      -- 2 s: room for the first call on a busy machine; later than 2 s it must be expired
      server:config { token_lifetime = 2 }
      local token, _, data = login(ADMIN)
      assert.equal(2, data.expires_in)
      assert.equal(200, request { path = "/api/v1/sessions", token = token }.status)
      sleep(2.1)
      local res = request { path = "/api/v1/sessions", token = token }
      assert.equal(401, res.status)
      assert.equal("ExpiredToken", error_of(res))
    end)

    it("refuses unknown tokens and a missing Authorization header with 401", function()
      local res = request { path = "/api/v1/sessions", token = "not-a-token" }
      assert.equal(401, res.status)
      assert.equal("InvalidToken", error_of(res))
      res = request { path = "/api/v1/sessions" }
      assert.equal(401, res.status)
      assert.equal("AccessDenied", error_of(res))
    end)

    it("refreshes once: a refresh token is single-use", function()
      local _, refresh_token = login(ADMIN)
      local res = refresh(refresh_token)
      assert.equal(200, res.status)
      local config = request { path = "/api/v1/configBackup", token = res.data.access_token }
      assert.equal(200, config.status)
      -- the new refresh token works, with the other casing of the grant type
      assert.equal(200, refresh(res.data.refresh_token, "Refresh_token").status)
      -- the first one is spent
      res = refresh(refresh_token, "Refresh_token")
      assert.equal(401, res.status)
      assert.equal("InvalidToken", error_of(res))
    end)

    it("logs out: both tokens die", function()
      local token, refresh_token = login(ADMIN)
      local res = request { method = "POST", path = "/api/oauth2/logout", token = token }
      assert.equal(200, res.status)
      assert.equal(401, request { path = "/api/v1/configBackup", token = token }.status)
      assert.equal(401, refresh(refresh_token).status)
      -- other sessions of the same user live on
      assert.equal(200, request { path = "/api/v1/configBackup", token = admin_token }.status)
    end)

    it("expires every access token on the admin's word; refresh tokens still work", function()
      local token, refresh_token = login(OPERATOR)
      assert.equal(2, server:expire_tokens().expired)
      local res = request { path = "/api/v1/sessions", token = token }
      assert.equal(401, res.status)
      assert.equal("ExpiredToken", error_of(res))
      assert.equal(200, refresh(refresh_token).status)
    end)

    it("refuses the next refresh when told to, with an Error model or an empty body", function()
      local _, refresh_token = login(ADMIN)
      server:fault { kind = "refuse_refresh" }
      local res = refresh(refresh_token)
      assert.equal(401, res.status)
      assert.equal("InvalidToken", error_of(res))
      _, refresh_token = login(ADMIN)
      server:fault { kind = "refuse_refresh", empty_body = true }
      res = refresh(refresh_token)
      assert.equal(401, res.status)
      assert.equal("", res.body)
      -- a password login is not a refresh: the rule stays pending
      server:fault { kind = "refuse_refresh" }
      login(ADMIN)
      assert.equal(1, #server:faults())
    end)
  end)

  ---------------------------------------------------------------- roles
  describe("roles, as the documents' 'Available to' notes say", function()
    local cases = {
      -- method, path, version, {admin, operator, viewer}
      { "GET", "/api/v1/configBackup", "1.3-rev2", { 200, 403, 403 } },
      { "PUT", "/api/v1/configBackup", "1.3-rev2", { 200, 403, 403 } },
      { "GET", "/api/v1/serverInfo", "1.3-rev2", { 200, 403, 403 } },
      { "GET", "/api/v1/sessions", "1.3-rev2", { 200, 200, 200 } },
      { "GET", "/api/v1/backupInfrastructure/repositories", "1.3-rev2", { 200, 200, 200 } },
      { "GET", "/api/v1/encryptionPasswords", "1.3-rev2", { 200, 200, 403 } },
      { "GET", "/api/v1/encryptionPasswords", "1.3-rev0", { 200, 403, 403 } },
      { "GET", "/api/v1/configBackup", "1.1-rev0", { 200, 403, 403 } },
      { "POST", "/api/v1/configBackup/backup", "1.3-rev2", { 200, 200, 403 } },
    }
    for _, case in ipairs(cases) do
      local method, path, version, expected = case[1], case[2], case[3], case[4]
      local title = ("%s %s in %s: admin %d, operator %d, viewer %d"):format(
        method, path, version, expected[1], expected[2], expected[3])
      it(title, function()
        for i, user in ipairs { ADMIN, OPERATOR, VIEWER } do
          local token = login(user, version)
          local body
          if method == "PUT" then body = select(2, get_config(admin_token, version)) end
          local want = expected[i]
          local res = request { method = method, path = path, version = version, token = token,
                                body = body }
          assert.equal(want, res.status, user.username .. ": " .. res.body)
          if want == 403 then assert.equal("AccessDenied", error_of(res)) end
          if method == "POST" and res.status == 200 then
            request { method = "POST", path = "/api/v1/sessions/" .. res.data.id .. "/stop",
                      token = admin_token }
          end
        end
      end)
    end
  end)

  ---------------------------------------------------------------- configBackup
  describe("configBackup", function()
    local TIME = { ["1.1-rev0"] = "10:00 AM", ["1.2-rev1"] = "10:00", ["1.3-rev0"] = "10:00",
                   ["1.3-rev1"] = "10:00:00", ["1.3-rev2"] = "10:00:00" }
    local MONDAY = { ["1.1-rev0"] = "monday", ["1.2-rev1"] = "monday", ["1.3-rev0"] = "monday",
                     ["1.3-rev1"] = "Monday", ["1.3-rev2"] = "Monday" }

    for _, version in ipairs(REVISIONS) do
      it("GET renders the stored settings in " .. version .. "'s casing and time format", function()
        local data, text = get_config(admin_token, version)
        assert.equal(TIME[version], data.schedule.daily.localTime)
        assert.equal(MONDAY[version], data.schedule.daily.days[1])
        assert.equal("January", data.schedule.monthly.months[1])
        assert.equal(version < "1.3-rev0", data.schedule.monthly.isLastDayOfMonth == nil)
        assert.truthy(text:find('"recipients":[]', 1, true))
        assert.equal(DEFAULT_REPO, data.backupRepositoryId)
        assert.is_string(data.lastSuccessfulBackup.sessionId)
      end)

      it("PUT accepts " .. version .. "'s own GET answer back", function()
        local _, text = get_config(admin_token, version)
        local res = put_config(admin_token, version, text)
        assert.equal(200, res.status, res.body)
        assert.equal(text, res.body)
      end)
    end

    it("accepts each document's own PUT example (on a server with SNMP settings)", function()
      server:config { snmp_configured = true }
      for _, version in ipairs(REVISIONS) do
        -- decoded with vbrsim.json so that "recipients": [] stays an array
        local doc = json.decode(read_all("simulator/openapi/vbr-" .. version .. ".json"))
        local put = doc.paths["/api/v1/configBackup"].put
        local content = put.requestBody.content["application/json"]
        local example = content.example
        for _, ref in pairs(content.examples or {}) do
          example = doc.components.examples[ref["$ref"]:match("[^/]+$")].value
        end
        local res = put_config(admin_token, version, example)
        assert.equal(200, res.status, version .. ": " .. res.body)
        assert.equal(example.schedule.daily.localTime, res.data.schedule.daily.localTime)
      end
    end)

    it("stores neutral values: a 12-hour time written in 1.1-rev0 reads in every format", function()
      local data = get_config(admin_token, "1.1-rev0")
      data.schedule.daily.localTime = "9:30 PM"
      data.schedule.monthly.localTime = "12:05 AM"
      data.schedule.daily.days = json.array { "tuesday", "friday" }
      data.schedule.daily.dailyKind = "SelectedDays"
      assert.equal(200, put_config(admin_token, "1.1-rev0", data).status)
      local expected = {
        ["1.2-rev1"] = { "21:30", "00:05", "tuesday" },
        ["1.3-rev1"] = { "21:30:00", "00:05:00", "Tuesday" },
        ["1.1-rev0"] = { "9:30 PM", "12:05 AM", "tuesday" },
      }
      for version, want in pairs(expected) do
        local back = get_config(admin_token, version)
        assert.equal(want[1], back.schedule.daily.localTime)
        assert.equal(want[2], back.schedule.monthly.localTime)
        assert.equal(want[3], back.schedule.daily.days[1])
        assert.equal(2, #back.schedule.daily.days)
      end
      -- what the server received, kept verbatim for client specs
      assert.truthy(server:state().last_put_body:find('"9:30 PM"', 1, true))
    end)

    it("refuses each revision's localTime in another revision's format, naming it; "
      .. "takes the schema's HH:MM:SS in every revision", function()
      for _, version in ipairs(REVISIONS) do
        local data = get_config(admin_token, version)
        for _, time in ipairs { "10:00 AM", "10:00", "25:00" } do
          if time ~= TIME[version] then
            data.schedule.daily.localTime = time
            local res = put_config(admin_token, version, data)
            assert.equal(400, res.status)
            assert.matches("^schedule%.daily%.localTime:", res.data.message)
          end
        end
        data.schedule.daily.localTime = "21:45:00"
        local res = put_config(admin_token, version, data)
        assert.equal(200, res.status, version)
        assert.equal(21 * 3600 + 45 * 60, server:state().config_backup.schedule.daily.localTime)
      end
    end)

    it("refuses day names in another revision's casing", function()
      local data = get_config(admin_token, "1.1-rev0")
      data.schedule.daily.days[1] = "Monday"
      local res = put_config(admin_token, "1.1-rev0", data)
      assert.equal(400, res.status)
      assert.matches("^schedule%.daily%.days%[0%]:", res.data.message)
      data = get_config(admin_token, "1.3-rev1")
      data.schedule.monthly.dayOfWeek = "saturday"
      res = put_config(admin_token, "1.3-rev1", data)
      assert.equal(400, res.status)
      assert.matches("^schedule%.monthly%.dayOfWeek:", res.data.message)
    end)

    it("knows isLastDayOfMonth from 1.3-rev0 on only", function()
      for _, version in ipairs(REVISIONS) do
        local data = get_config(admin_token, version)
        data.schedule.monthly.isLastDayOfMonth = true
        local res = put_config(admin_token, version, data)
        if version < "1.3-rev0" then
          assert.equal(400, res.status)
          assert.matches("^schedule%.monthly%.isLastDayOfMonth:", res.data.message)
        else
          assert.equal(200, res.status, res.body)
          assert.is_true(res.data.schedule.monthly.isLastDayOfMonth)
        end
      end
    end)

    it("validates the body against ConfigBackupModel: required, types, arrays, uuids", function()
      local cases = {
        { "encryption", function(d) d.encryption = nil end },
        { "notifications.SNMPEnabled", function(d) d.notifications.SNMPEnabled = nil end },
        { "isEnabled", function(d) d.isEnabled = "yes" end },
        { "restorePointsToKeep", function(d) d.restorePointsToKeep = 7.5 end },
        { "notifications.SMTPSettings.recipients",
          function(d) d.notifications.SMTPSettings.recipients = json.object() end },
        { "schedule.daily.days", function(d) d.schedule.daily.days = "monday" end },
        { "backupRepositoryId", function(d) d.backupRepositoryId = "not-a-uuid" end },
        { "notifications.SMTPSettings.settingsType",
          function(d) d.notifications.SMTPSettings.settingsType = "global" end },
        { "schedule.monthly.months[1]", function(d) d.schedule.monthly.months[2] = "January" end },
        { "surprise", function(d) d.surprise = true end },
      }
      for _, case in ipairs(cases) do
        local data = get_config(admin_token, "1.3-rev2")
        case[2](data)
        local res = put_config(admin_token, "1.3-rev2", data)
        assert.equal(400, res.status, case[1])
        assert.equal("UnexpectedContent", error_of(res))
        assert.equal(case[1] .. ":", res.data.message:match("^%S+"), res.data.message)
      end
    end)

    it("refuses malformed JSON, naming where, and a body that is not application/json", function()
      for _, text in ipairs { '{"isEnabled": true,', '{"isEnabled": true,}', "[1 2]" } do
        local res = put_config(admin_token, "1.3-rev2", text)
        assert.equal(400, res.status, text)
        assert.equal("UnexpectedContent", error_of(res))
        assert.matches("^The request body is not valid JSON: .* at character %d+$",
                       res.data.message)
      end
      local _, text = get_config(admin_token, "1.3-rev2")
      local res = request { method = "PUT", path = "/api/v1/configBackup", token = admin_token,
                            body = text, no_content_type = true }
      assert.equal(400, res.status)
    end)

    it("takes numbers by value: 10.0 is the integer 10", function()
      local _, text = get_config(admin_token, "1.3-rev2")
      local float_text = text:gsub('"restorePointsToKeep":10', '"restorePointsToKeep":10.0')
      local res = put_config(admin_token, "1.3-rev2", float_text)
      assert.equal(200, res.status, res.body)
      assert.truthy(res.body:find('"restorePointsToKeep":10,', 1, true))
    end)

    it("applies the business rules: repository, restore points, password, SNMP", function()
      local cases = {
        { "backupRepositoryId", function(d) d.backupRepositoryId = UNKNOWN_ID end,
          "does not exist" },
        { "backupRepositoryId", function(d) d.backupRepositoryId = SCALE_OUT_REPO end,
          "scale%-out" },
        { "backupRepositoryId", function(d) d.backupRepositoryId = EXTERNAL_REPO end, "external" },
        { "restorePointsToKeep", function(d) d.restorePointsToKeep = 0 end, "between 1 and 255" },
        { "restorePointsToKeep", function(d) d.restorePointsToKeep = 256 end, "between 1 and 255" },
        { "encryption.passwordId", function(d) d.encryption.passwordId = UNKNOWN_ID end,
          "does not exist" },
        { "notifications.SNMPEnabled", function(d) d.notifications.SNMPEnabled = true end, "SNMP" },
      }
      for _, case in ipairs(cases) do
        local data = get_config(admin_token, "1.2-rev1")
        case[2](data)
        local res = put_config(admin_token, "1.2-rev1", data)
        assert.equal(400, res.status, case[1])
        assert.matches("^" .. case[1]:gsub("%.", "%%.") .. ":.*" .. case[3], res.data.message)
      end
    end)

    it("accepts the edges of the business rules", function()
      local accepted = {
        function(d) d.restorePointsToKeep = 1 end,
        function(d) d.restorePointsToKeep = 255 end,
        function(d) d.backupRepositoryId = HARDENED_REPO end,
        -- passwordId is required but not checked while encryption is off
        function(d) d.encryption = { isEnabled = false, passwordId = UNKNOWN_ID } end,
      }
      for _, change in ipairs(accepted) do
        local data = get_config(admin_token, "1.3-rev0")
        change(data)
        local res = put_config(admin_token, "1.3-rev0", data)
        assert.equal(200, res.status, res.body)
      end
      server:config { snmp_configured = true }
      local data = get_config(admin_token, "1.3-rev0")
      data.notifications.SNMPEnabled = true
      local res = put_config(admin_token, "1.3-rev0", data)
      assert.equal(200, res.status, res.body)
      assert.is_true(get_config(admin_token, "1.1-rev0").notifications.SNMPEnabled)
    end)

    it("can play a newer server: extra fields in GET are accepted back by PUT", function()
      server:config { extra_fields = { futureOption = { level = 3 } } }
      local data, text = get_config(admin_token, "1.3-rev2")
      assert.equal(3, data.futureOption.level)
      assert.equal(200, put_config(admin_token, "1.3-rev2", text).status)
      assert.truthy(server:state().last_put_body:find('"futureOption"', 1, true))
    end)
  end)

  ---------------------------------------------------------------- backup sessions
  describe("configuration backup sessions", function()
    local function start_backup(version, token)
      return request { method = "POST", path = "/api/v1/configBackup/backup", version = version,
                       token = token or admin_token }
    end

    local function session(id, version)
      return request { path = "/api/v1/sessions/" .. id, version = version,
                       token = admin_token }.data
    end

    it("starts with a SessionModel of the revision: activityId in 1.1, jobId later", function()
      for _, version in ipairs(REVISIONS) do
        server:reset()
        local res = start_backup(version, login(ADMIN, version))
        assert.equal(200, res.status, res.body)
        local s = res.data
        assert.equal("ConfigurationBackup", s.sessionType)
        assert.equal("Starting", s.state)
        assert.is_nil(s.endTime)
        assert.falsy(res.body:find('"endTime"', 1, true))
        if version == "1.1-rev0" then
          assert.is_string(s.activityId)
          assert.is_nil(s.jobId)
        else
          assert.is_string(s.jobId)
          assert.is_nil(s.activityId)
        end
      end
    end)

    it("runs Starting -> Working -> Stopped, progress rising, then lastSuccessfulBackup", function()
      -- Watched by polling, not by sleeps timed to land in a phase: a slow
      -- machine sees fewer polls, never a different order.
      server:config { session_duration = 2 }
      local before = get_config(admin_token).lastSuccessfulBackup
      local started = start_backup().data
      assert.equal("Starting", started.state)
      local rank = { Starting = 1, Working = 2, Stopped = 3 }
      local last, progress, checked_while_working = started, 0, false
      for _ = 1, 300 do
        local now = session(started.id)
        assert.is_true(rank[now.state] >= rank[last.state], last.state .. " -> " .. now.state)
        assert.is_true(now.progressPercent >= progress, "progress fell")
        last, progress = now, now.progressPercent
        if now.state == "Stopped" then break end
        assert.is_nil(now.endTime)
        assert.equal("None", now.result.result)
        if now.state == "Working" then
          assert.is_true(now.progressPercent > 0 and now.progressPercent < 100)
          -- lastSuccessfulBackup read while the run provably had not ended yet
          local current = get_config(admin_token).lastSuccessfulBackup
          if session(started.id).state == "Working" then
            assert.are_not.equal(started.id, current.sessionId)
            checked_while_working = true
          end
        end
        sleep(0.1)
      end
      assert.is_true(checked_while_working, "never saw the session Working")
      local done = last
      assert.equal("Stopped", done.state)
      assert.equal(100, done.progressPercent)
      assert.equal("Success", done.result.result)
      assert.is_false(done.result.isCanceled)
      assert.is_string(done.endTime)
      local after = get_config(admin_token).lastSuccessfulBackup
      assert.equal(started.id, after.sessionId)
      assert.are_not.equal(before.lastSuccessfulTime, after.lastSuccessfulTime)
    end)

    it("refuses a second start while one runs, naming the running session", function()
      server:config { session_duration = 600 }  -- still running however slow the next call
      local first = start_backup().data
      local res = start_backup()
      assert.equal(400, res.status)
      assert.equal(first.id, res.data.resourceId)
      assert.matches("already running", res.data.message)
    end)

    it("refuses to start while configuration backup is disabled", function()
      local data = get_config(admin_token)
      data.isEnabled = false
      assert.equal(200, put_config(admin_token, "1.3-rev2", data).status)
      local res = start_backup()
      assert.equal(400, res.status)
      assert.matches("disabled", res.data.message)
    end)

    it("fails the session when encryption is mandatory but off", function()
      local data = get_config(admin_token)
      data.encryption.isEnabled = false
      assert.equal(200, put_config(admin_token, "1.3-rev2", data).status)
      local started = start_backup().data
      sleep(0.4)
      local done = session(started.id)
      assert.equal("Stopped", done.state)
      assert.equal("Failed", done.result.result)
      assert.matches("mandatory", done.result.message)
      assert.are_not.equal(started.id, get_config(admin_token).lastSuccessfulBackup.sessionId)
    end)

    it("succeeds unencrypted when the server has no passwords nor hardened repository", function()
      server:config { encryption_passwords_present = false, hardened_repository_present = false }
      local data = get_config(admin_token)
      data.encryption.isEnabled = false
      assert.equal(200, put_config(admin_token, "1.3-rev2", data).status)
      local started = start_backup().data
      sleep(0.4)
      assert.equal("Success", session(started.id).result.result)
    end)

    it("can be told the outcome", function()
      server:config { backup_outcome = "Warning" }
      local started = start_backup().data
      sleep(0.4)
      assert.equal("Warning", session(started.id).result.result)
    end)

    it("stops a running session: Stopped, canceled; stopping again changes nothing", function()
      server:config { session_duration = 600 }  -- the stop always comes before the natural end
      local started = start_backup().data
      local stop_path = "/api/v1/sessions/" .. started.id .. "/stop"
      local res = request { method = "POST", path = stop_path, token = admin_token }
      assert.equal(200, res.status)
      local stopped = session(started.id)
      assert.equal("Stopped", stopped.state)
      assert.is_true(stopped.result.isCanceled)
      assert.is_string(stopped.endTime)
      res = request { method = "POST", path = stop_path, token = admin_token }
      assert.equal(200, res.status)
      assert.equal(stopped.endTime, session(started.id).endTime)
      -- a viewer may not stop sessions
      res = request { method = "POST", path = stop_path, token = login(VIEWER) }
      assert.equal(403, res.status)
    end)

    it("answers 404 for an unknown session and 400 for an id that is no uuid", function()
      local res = request { path = "/api/v1/sessions/" .. UNKNOWN_ID, token = admin_token }
      assert.equal(404, res.status)
      assert.equal("NotFound", error_of(res))
      res = request { path = "/api/v1/sessions/42/logs", token = admin_token }
      assert.equal(400, res.status)
    end)

    it("writes session logs, newest record first", function()
      local started = start_backup().data
      sleep(0.4)
      local res = request { path = "/api/v1/sessions/" .. started.id .. "/logs",
                            token = admin_token }
      assert.equal(200, res.status)
      assert.equal(3, res.data.totalRecords)
      assert.equal(3, res.data.records[1].id)
      assert.equal("Succeeded", res.data.records[1].status)
      assert.matches("^Job started", res.data.records[3].title)
    end)
  end)

  ---------------------------------------------------------------- lists
  describe("session list", function()
    local function list(query, version)
      local res = request { path = "/api/v1/sessions" .. query, version = version,
                            token = admin_token }
      return res, res.data
    end

    it("pages with skip and limit inside {data, pagination}", function()
      local _, all = list("")
      assert.equal(4, all.pagination.total)
      assert.equal(4, all.pagination.count)
      local _, page = list("?skip=1&limit=2")
      assert.equal(2, #page.data)
      assert.same({ total = 4, count = 2, skip = 1, limit = 2 }, {
        total = page.pagination.total, count = page.pagination.count,
        skip = page.pagination.skip, limit = page.pagination.limit })
      assert.equal(all.data[2].id, page.data[1].id)
      local res = list("?limit=0")
      assert.equal(400, res.status)
    end)

    it("filters by one typeFilter value in 1.1-rev0 and 1.2-rev1, in their type names", function()
      local _, jobs = list("?typeFilter=Job", "1.1-rev0")
      assert.equal(2, #jobs.data)
      assert.equal("Job", jobs.data[1].sessionType)
      local res = list("?typeFilter=BackupJob", "1.1-rev0")
      assert.equal(400, res.status)
      res = list("?typeFilter=Job&typeFilter=ConfigurationBackup", "1.2-rev1")
      assert.equal(400, res.status)
      assert.matches("^typeFilter:", res.data.message)
      local _, backups = list("?typeFilter=BackupJob", "1.2-rev1")
      assert.equal(2, #backups.data)
    end)

    it("filters by several typeFilter values from 1.3-rev0 on", function()
      local _, data = list("?typeFilter=BackupJob&typeFilter=ConfigurationBackup", "1.3-rev0")
      assert.equal(3, #data.data)
      for _, s in ipairs(data.data) do assert.are_not.equal("Infrastructure", s.sessionType) end
    end)

    it("filters by result, state, name and creation time, and orders", function()
      local _, failed = list("?resultFilter=Failed")
      assert.equal(1, #failed.data)
      local _, named = list("?nameFilter=*configuration*")
      assert.equal(1, #named.data)
      local _, by_name = list("?orderColumn=Name&orderAsc=true")
      assert.equal("Backup Configuration Job", by_name.data[1].name)
      local _, newest = list("")
      local after = newest.data[2].creationTime:gsub("%+", "%%2B")
      local _, recent = list("?createdAfterFilter=" .. after)
      assert.equal(1, #recent.data)
      assert.equal(newest.data[1].id, recent.data[1].id)
      local res = list("?stateFilter=Sleeping")
      assert.equal(400, res.status)
      res = list("?color=red")
      assert.equal(400, res.status)
    end)
  end)

  describe("repositories and encryption passwords", function()
    it("lists repositories, a hardened Linux one included, in each revision's shape", function()
      for _, version in ipairs(REVISIONS) do
        local res = request { path = REPOSITORIES, version = version, token = admin_token }
        assert.equal(200, res.status)
        local types = {}
        for _, repo in ipairs(res.data.data) do types[repo.type] = repo.id end
        assert.equal(DEFAULT_REPO, types.WinLocal)
        assert.equal(HARDENED_REPO, types.LinuxHardened)
        assert.is_nil(types.ExtendableRepository)
      end
    end)

    it("filters repositories by type, one value before 1.3-rev0", function()
      local res = request { path = REPOSITORIES .. "?typeFilter=LinuxHardened",
                            version = "1.1-rev0", token = admin_token }
      assert.equal(1, #res.data.data)
      res = request { path = REPOSITORIES .. "?typeFilter=Smb&typeFilter=WinLocal",
                      version = "1.3-rev1", token = admin_token }
      assert.equal(2, #res.data.data)
    end)

    it("drops the hardened repository and the passwords when configured without them", function()
      server:config { hardened_repository_present = false, encryption_passwords_present = false }
      local res = request { path = REPOSITORIES, token = admin_token }
      assert.equal(2, #res.data.data)
      res = request { path = "/api/v1/encryptionPasswords", token = admin_token }
      assert.truthy(res.body:find('"data":[]', 1, true))
      assert.equal(0, res.data.pagination.total)
    end)

    it("lists encryption passwords with pagination", function()
      local res = request { path = "/api/v1/encryptionPasswords?limit=1", token = admin_token }
      assert.equal(200, res.status)
      assert.equal(3, res.data.pagination.total)
      assert.equal(1, #res.data.data)
      local res_all = request { path = "/api/v1/encryptionPasswords", version = "1.1-rev0",
                                token = admin_token }
      local ids = {}
      for _, p in ipairs(res_all.data.data) do ids[p.id] = p.hint end
      assert.equal("Standard Password", ids[STANDARD_PASSWORD])
    end)
  end)

  ---------------------------------------------------------------- faults
  describe("fault injection", function()
    local function config_get(extra)
      return request { path = "/api/v1/configBackup", token = admin_token, extra = extra }
    end

    it("answers the next N requests with 500, only for the given method and path", function()
      server:fault { kind = "status", status = 500, count = 2,
                     method = "GET", path = "/api/v1/configBackup" }
      assert.equal(200, request { path = "/api/v1/sessions", token = admin_token }.status)
      for _ = 1, 2 do
        local res = config_get()
        assert.equal(500, res.status)
        assert.equal("UnknownError", error_of(res))
      end
      assert.equal(200, config_get().status)
      assert.same({}, server:faults())
    end)

    it("answers 503 and 429 with Retry-After", function()
      server:fault { { kind = "status", status = 503, retry_after = 7 },
                     { kind = "status", status = 429 } }
      local res = config_get()
      assert.equal(503, res.status)
      assert.equal("7", res.headers["retry-after"])
      assert.equal("ServiceUnavailable", error_of(res))
      res = config_get()
      assert.equal(429, res.status)
      assert.equal("1", res.headers["retry-after"])
    end)

    it("delays an answer", function()
      server:fault { kind = "delay", ms = 400 }
      local res = config_get()
      assert.equal(200, res.status)
      assert.is_true(res.time >= 0.4, "took " .. res.time)
      assert.same({}, server:faults())
    end)

    it("drops the connection before processing: nothing happens", function()
      server:fault { kind = "reset_before", method = "POST", path = "/api/v1/configBackup/backup" }
      local res = request { method = "POST", path = "/api/v1/configBackup/backup",
                            token = admin_token }
      assert.equal(52, res.exit) -- empty reply from server
      local list = request { path = "/api/v1/sessions?typeFilter=ConfigurationBackup",
                             token = admin_token }.data
      assert.equal(1, list.pagination.total)
    end)

    it("drops the connection after processing: the backup did start", function()
      -- a run far longer than the case: the new session is still running when listed
      server:config { session_duration = 600 }
      local before = request { path = "/api/v1/sessions?typeFilter=ConfigurationBackup",
                               token = admin_token }.data
      server:fault { kind = "reset_after", method = "POST", path = "/api/v1/configBackup/backup" }
      local res = request { method = "POST", path = "/api/v1/configBackup/backup",
                            token = admin_token }
      assert.equal(52, res.exit)
      local list = request { path = "/api/v1/sessions?typeFilter=ConfigurationBackup",
                             token = admin_token }.data
      assert.equal(before.pagination.total + 1, list.pagination.total)
      local newest = list.data[1]
      assert.are_not.equal(before.data[1].id, newest.id)
      -- Starting or Working depends on how fast the list came; either way it runs
      assert.is_true(newest.state == "Starting" or newest.state == "Working", newest.state)
      assert.is_nil(newest.endTime)
      -- and a second start is refused because of it
      local again = request { method = "POST", path = "/api/v1/configBackup/backup",
                              token = admin_token }
      assert.equal(400, again.status)
      assert.equal(newest.id, again.data.resourceId)
    end)

    it("sends malformed and truncated JSON, and a body shorter than announced", function()
      local whole = config_get().body
      server:fault { { kind = "malformed_json" }, { kind = "truncated_json" } }
      local res = config_get()
      assert.equal(200, res.status)
      assert.is_nil(json.decode(res.body))
      res = config_get()
      assert.equal(200, res.status)
      assert.is_nil(json.decode(res.body))
      assert.equal(whole:sub(1, #res.body), res.body)
      assert.is_true(#res.body < #whole)
      server:fault { kind = "short_body" }
      res = config_get()
      assert.equal(18, res.exit) -- partial file
    end)

    it("sends an HTML error page and a 401 with an empty body", function()
      server:fault { { kind = "html_error", status = 502 }, { kind = "empty_401" } }
      local res = config_get()
      assert.equal(502, res.status)
      assert.matches("^text/html", res.headers["content-type"])
      assert.matches("<html>", res.body)
      res = config_get()
      assert.equal(401, res.status)
      assert.equal("", res.body)
      assert.equal("0", res.headers["content-length"])
    end)

    it("refuses unknown fault kinds and options", function()
      assert.has_error(function() server:fault { kind = "gremlins" } end)
      assert.has_error(function()
        server:fault { kind = "status", status = 500, colour = "red" }
      end)
      assert.has_error(function() server:config { no_such_setting = 1 } end)
    end)
  end)

  ---------------------------------------------------------------- counters and reset
  describe("counters", function()
    it("counts requests per method and path, but not admin calls", function()
      server:reset_counters()
      request { path = "/api/v1/configBackup", token = admin_token }
      request { path = "/api/v1/configBackup", token = admin_token }
      request { method = "PUT", path = "/api/v1/configBackup", token = admin_token, body = "{}" }
      request { path = "/api/v1/configBackup", token = "not-a-token" }
      request { path = "/api/v1/configBackup" }
      server:config {}
      local c = server:counters()
      assert.equal(4, c.requests["GET /api/v1/configBackup"])
      assert.equal(1, c.requests["PUT /api/v1/configBackup"])
      assert.equal(5, c.total)
      -- the two refused with 401, of the routes they reached
      assert.same({ ["GET /api/v1/configBackup"] = 2 }, c.unauthorized)
      assert.equal(4, c.routes["GET /api/v1/configBackup"])
    end)

    it("counts TLS connections once, however many requests they carry", function()
      server:reset_counters()
      local url = server.url .. "/api/v1/sessions"
      local args = {}
      for i = 1, 5 do args[i] = shell_quote(url) end
      local _, code = run("curl -sS -o /dev/null --cacert " .. shell_quote(server.ca_file)
        .. " -H 'x-api-version: 1.3-rev2' -H "
        .. shell_quote("Authorization: Bearer " .. admin_token)
        .. " " .. table.concat(args, " "))
      assert.equal(0, code)
      request { path = "/api/v1/sessions", token = admin_token }
      local c = server:counters()
      assert.equal(6, c.requests["GET /api/v1/sessions"])
      assert.equal(2, c.tls_handshakes)
      assert.equal(2, c.connections)
    end)
  end)

  describe("keep-alive", function()
    it("serves 1000 requests over one TLS connection", function()
      server:reset_counters()
      local config = scratch .. "/urls.cfg"
      local lines = {}
      for i = 1, 1000 do
        lines[i] = ('url = "%s/api/v1/configBackup"\noutput = "/dev/null"'):format(server.url)
      end
      write_all(config, table.concat(lines, "\n") .. "\n")
      local _, code = run("curl -sS --fail --cacert " .. shell_quote(server.ca_file)
        .. " -H 'x-api-version: 1.3-rev2' -H "
        .. shell_quote("Authorization: Bearer " .. admin_token) .. " -K " .. shell_quote(config))
      assert.equal(0, code)
      local c = server:counters()
      assert.equal(1000, c.requests["GET /api/v1/configBackup"])
      assert.equal(1, c.connections)
      assert.equal(1, c.tls_handshakes)
    end)
  end)

  describe("reset", function()
    it("brings back settings, tokens, sessions, faults, counters and configBackup", function()
      local data = get_config(admin_token)
      data.restorePointsToKeep = 42
      put_config(admin_token, "1.3-rev2", data)
      server:config { token_lifetime = 5 }
      server:fault { kind = "status", status = 500, path = "/nowhere" }
      request { method = "POST", path = "/api/v1/configBackup/backup", token = admin_token }
      server:reset()
      assert.equal(900, server:config {}.token_lifetime)
      assert.same({}, server:faults())
      assert.equal(0, server:counters().total)
      assert.equal(401, request { path = "/api/v1/configBackup", token = admin_token }.status)
      local token = login(ADMIN)
      assert.equal(10, get_config(token).restorePointsToKeep)
      assert.equal(4, request { path = "/api/v1/sessions", token = token }.data.pagination.total)
    end)

    it("keeps the settings given at start as its defaults", function()
      local other = sim.start { token_lifetime = 33, snmp_configured = true }
      finally(function() other:stop() end)
      other:config { token_lifetime = 5 }
      other:reset()
      local settings = other:config {}
      assert.equal(33, settings.token_lifetime)
      assert.is_true(settings.snmp_configured)
    end)
  end)
end)

-- The simulator's JSON adapter (lua-dkjson, syntax checked by a strict
-- lua-cjson) keeps what lua-cjson 2.1.0 loses; checked here against cjson
-- where both must agree.
describe("vbrsim.json", function()
  local cjson = require "cjson"

  local function plain(value)
    if type(value) ~= "table" then return value end
    local out = {}
    for k, v in pairs(value) do out[k] = plain(v) end
    return out
  end

  it("tells [] from {} and writes objects with sorted keys", function()
    local v = json.decode('{"n":10,"list":[1,2.5],"b":{},"a":[],"o":{"z":true,"y":false}}')
    assert.is_true(json.is_array(v.a))
    assert.is_false(json.is_object(v.a))
    assert.is_true(json.is_object(v.b))
    assert.is_false(json.is_array(v.b))
    assert.is_true(json.is_array(v.list))
    assert.equal(10, v.n)
    assert.equal('{"a":[],"b":{},"list":[1,2.5],"n":10,"o":{"y":false,"z":true}}',
                 json.encode(v))
    -- built tables: marked ones as marked, a plain empty table is an object
    assert.equal('{"e":{},"l":[],"p":{}}',
                 json.encode { e = json.object(), l = json.array(), p = {} })
    assert.is_true(json.is_object({}))
  end)

  it("decodes a whole OpenAPI document as cjson does", function()
    local text = read_all("simulator/openapi/vbr-1.3-rev2.json")
    assert.same(plain(cjson.decode(text)), plain(json.decode(text)))
  end)

  it("decodes escapes and surrogate pairs, keeps null distinct", function()
    local v = json.decode('["\\u00e9\\n\\"", "\\ud83d\\ude00", null]')
    assert.equal("\195\169\n\"", v[1])
    assert.equal("\240\159\152\128", v[2])
    assert.equal(json.null, v[3])
    assert.equal('["\\n\\u0001",null]', json.encode(json.array { "\n\1", json.null }))
  end)

  it("returns nil and a message for text that is not strict JSON", function()
    for _, text in ipairs { "", "{", '{"a":1,}', "[1,]", "[1 2]", '{"a" 1}', "01", "0x10",
                            ".5", "NaN", '"\\x"', '"\\u12"', "nul", "{} x", "// c\n1",
                            ("["):rep(65) .. ("]"):rep(65) } do
      local v, err = json.decode(text)
      assert.is_nil(v, text)
      assert.is_string(err, text)
      assert.truthy(err:find("at character %d+$"), text .. ": " .. err)
    end
    assert.is_nil(json.decode(nil))
  end)

  it("raises on values JSON cannot hold", function()
    assert.has_error(function() json.encode { f = print } end,
                     "cannot encode as JSON: type 'function' is not supported by JSON.")
    local cycle = json.object()
    cycle.self = cycle
    assert.has_error(function() json.encode(cycle) end, "cannot encode as JSON: reference cycle")
  end)
end)
