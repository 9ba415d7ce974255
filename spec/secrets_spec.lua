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
    needles[#needles + 1] = { "a bearer header", "Bearer " }
    assert.is_true(#collected > 100)
    for _, item in ipairs(collected) do
      for _, needle in ipairs(needles) do
        if item.text:find(needle[2], 1, true) then
          error(("%s in %s: %q"):format(needle[1], item.what, item.text:sub(1, 300)), 0)
        end
      end
    end
  end)
end)
