-- Spec helper: start, drive and stop a VBR simulator instance.
--
--   local sim = require "spec.support.sim"
--   local s = sim.start { token_lifetime = 5, session_duration = 1 }
--   -- s.url, s.ca_file, s.pubkey, s.admin_url, s.pid, s.dir, s.users.admin.username ...
--   s:fault { kind = "status", status = 503, retry_after = 2,
--             method = "GET", path = "/api/v1/configBackup" }
--   local counters = s:counters()
--   s:reset(); s:stop()
--
-- It talks to the admin port with the curl command line, never with the
-- library under test. Works with Lua 5.1 to 5.4 and LuaJIT.
local cjson = require "cjson"

local sim = {}

-- Default accounts of the simulator (simulator/README.md).
sim.users = {
  admin = { username = "admin", password = "Adm1n P@ss&w=rd%", role = "Backup Administrator" },
  operator = { username = "operator", password = "Op3rator+Pass", role = "Backup Operator" },
  viewer = { username = "viewer", password = "V1ewer#Pass", role = "Backup Viewer" },
}

local shell = require "spec.support.shell"
local shell_quote = shell.quote

local function repo_root()
  local source = debug.getinfo(1, "S").source
  local file = source:sub(1, 1) == "@" and source:sub(2) or "spec/support/sim.lua"
  local root = file:gsub("[^/]*$", ""):gsub("spec/support/$", "")
  if root == "" then root = "./" end
  return root
end

sim.vbrsim = repo_root() .. "simulator/vbrsim"

local run = shell.run

local Instance = {}
Instance.__index = Instance

local FLAGS = { token_lifetime = "--token-lifetime", session_duration = "--session-duration",
                port = "--port", admin_port = "--admin-port", dir = "--dir", openapi = "--openapi",
                servers = "--servers", seed = "--seed" }

-- Starts an instance. Options: token_lifetime, session_duration, port,
-- admin_port, dir, openapi, servers and seed (a fleet); any other key is a
-- simulator setting (vbrsim --set).
function sim.start(options)
  local args = {}
  local names = {}
  for name in pairs(options or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local value = options[name]
    if FLAGS[name] then
      args[#args + 1] = FLAGS[name] .. " " .. shell_quote(value)
    else
      args[#args + 1] = "--set " .. shell_quote(name .. "=" .. cjson.encode(value))
    end
  end
  local ok, output = run(shell_quote(sim.vbrsim) .. " start " .. table.concat(args, " "))
  local fields = {}
  for key, value in output:gmatch("([%w_]+)=([^\n]*)") do fields[key] = value end
  if not ok or not fields.VBR_URL then error("vbrsim start failed: " .. output, 2) end
  return setmetatable({
    url = fields.VBR_URL,
    ca_file = fields.VBR_CA_FILE,
    pubkey = fields.VBR_PUBKEY_SHA256,
    admin_url = fields.VBRSIM_ADMIN,
    pid = tonumber(fields.VBRSIM_PID),
    dir = fields.VBRSIM_DIR,
    users = sim.users,
    servers = tonumber(fields.VBRSIM_SERVERS),           -- a fleet's
    inventory = fields.VBRSIM_INVENTORY,
    password_file = fields.VBR_PASSWORD_FILE,
  }, Instance)
end

-- One admin call; returns the decoded JSON answer, raises on failure.
function Instance:admin(method, path, body)
  local command = "curl -sS --max-time 10 -X " .. method .. " -w '\\n%{http_code}' "
  if body ~= nil then
    command = command .. "-H 'Content-Type: application/json' --data-binary "
      .. shell_quote(cjson.encode(body)) .. " "
  end
  local ok, output = run(command .. shell_quote(self.admin_url .. path))
  local text, status = output:match("^(.*)\n(%d%d%d)$")
  if not ok or status ~= "200" then
    error(("vbrsim admin %s %s failed: %s"):format(method, path, output), 2)
  end
  return cjson.decode(text)
end

-- Back to the start state: settings, tokens, sessions, faults, counters, configBackup.
function Instance:reset() return self:admin("POST", "/admin/reset") end

-- Changes runtime settings; returns all settings.
function Instance:config(settings) return self:admin("POST", "/admin/config", settings) end

-- Adds one fault rule, or a list of them; returns the pending rules.
function Instance:fault(rule) return self:admin("POST", "/admin/faults", rule) end

-- The fault rules still pending, with their remaining counts.
function Instance:faults() return self:admin("GET", "/admin/faults").pending end

function Instance:clear_faults() return self:admin("DELETE", "/admin/faults") end

-- {requests = {["GET /api/v1/configBackup"] = n}, routes = {...},
--  unauthorized = {...} (routes refused with 401), total, connections, tls_handshakes}
function Instance:counters() return self:admin("GET", "/admin/counters") end

function Instance:reset_counters() return self:admin("DELETE", "/admin/counters") end

-- Every access token expires now (refresh tokens stay usable).
function Instance:expire_tokens() return self:admin("POST", "/admin/tokens/expire") end

-- Stored configBackup (neutral), last accepted PUT body text, sessions, fixed ids.
function Instance:state() return self:admin("GET", "/admin/state") end

-- A fleet: {servers = [{name, url, port, host, revision, tags, problems}],
--  totals = {requests, connections, tls_handshakes}, connections = {open, peak}}
function Instance:fleet() return self:admin("GET", "/admin/fleet") end

-- Back to zero: every server's counters and the peak of open connections.
function Instance:reset_fleet_counters() return self:admin("DELETE", "/admin/fleet/counters") end

-- The admin API of one server of a fleet by name ("*": every server, for
-- the calls that change something): fault, config, counters, reset ...
local View = setmetatable({}, { __index = Instance })   -- no __gc: a view stops nothing
View.__index = View

function View:admin(method, path, body)
  return self.instance:admin(method, self.prefix .. path:gsub("^/admin", ""), body)
end

function Instance:on(name)
  return setmetatable({ instance = self, prefix = "/admin/servers/" .. name }, View)
end

-- Stops the instance by pid and removes its directory. Idempotent.
function Instance:stop()
  if self.stopped then return true end
  local ok, output = run(shell_quote(sim.vbrsim) .. " stop " .. tostring(self.pid))
  if not ok then error("vbrsim stop failed: " .. output, 2) end
  self.stopped = true
  return true
end

-- A spec that dies before stop() still stops its instance when the Lua state
-- closes (Lua 5.2+; LuaJIT ignores __gc on tables).
Instance.__gc = function(self)
  if not self.stopped then pcall(self.stop, self) end
end

return sim
