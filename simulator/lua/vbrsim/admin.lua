-- Admin API on its own plain-HTTP port, so that test plumbing never shows in
-- the client counters: reset, runtime settings, faults, counters, tokens.
local json = require "vbrsim.json"
local http = require "vbrsim.http"
local state = require "vbrsim.state"
local faults = require "vbrsim.faults"
local auth = require "vbrsim.auth"

local admin = {}

local ngx = ngx
local pairs, ipairs, pcall, error, tonumber = pairs, ipairs, pcall, error, tonumber

local function read_json()
  ngx.req.read_body()
  local text = ngx.req.get_body_data() or ""
  if text == "" then return json.object() end
  local value, err = json.decode(text)
  if value == nil then return nil, "body is not JSON: " .. err end
  return value
end

local function refuse(message)
  return http.json(400, json.object { error = message })
end

local function settings_view()
  local out = json.object()
  for _, name in ipairs(state.setting_names()) do out[name] = state.settings[name] end
  out.max_revision_effective = state.max_revision()
  return out
end

local function change_settings()
  local changes, err = read_json()
  if not changes then return refuse(err) end
  if not json.is_object(changes) then return refuse("settings must be a JSON object") end
  local checked = {}
  for name, value in pairs(changes) do
    local v, problem = state.check_setting(name, value)
    if v == nil then return refuse(problem) end
    checked[name] = v
  end
  for name, value in pairs(checked) do state.settings[name] = value end
  return http.json(200, settings_view())
end

local function add_faults()
  local body, err = read_json()
  if not body then return refuse(err) end
  local list = json.is_array(body) and body or { body }
  local rules = {}
  for i, rule in ipairs(list) do
    local checked, problem = faults.check(rule)
    if not checked then return refuse(problem) end
    rules[i] = checked
  end
  for _, rule in ipairs(rules) do faults.add(rule) end
  return http.json(200, json.object { pending = faults.pending() })
end

local function counters_view()
  local c = state.counters
  return json.object {
    requests = json.object(state.copy(c.requests)),
    routes = json.object(state.copy(c.routes)),
    unauthorized = json.object(state.copy(c.unauthorized)),
    total = c.total,
    connections = c.connections,
    tls_handshakes = c.tls_handshakes,
  }
end

local function state_view()
  local running = 0
  for _ in pairs(state.tokens) do running = running + 1 end
  local sessions = json.array()
  for i, s in ipairs(state.sessions) do
    sessions[i] = json.object { id = s.id, kind = s.kind, outcome = s.outcome, created = s.created,
                                stopped = s.stopped_at ~= nil }
  end
  return json.object {
    config_backup = state.config_backup,
    last_put_body = state.last_put_body or json.null,
    access_tokens = running,
    sessions = sessions,
    ids = json.object(state.copy(state.ids)),
  }
end

local ROUTES = {
  ["GET /admin/health"] = function()
    return http.json(200, json.object {
      ok = true, pid = ngx.worker.pid(),
      revisions = json.array(state.copy(state.registry.supported)),
    })
  end,
  ["POST /admin/reset"] = function()
    ngx.update_time()
    state.reset()
    return http.json(200, json.object { ok = true })
  end,
  ["GET /admin/config"] = function() return http.json(200, settings_view()) end,
  ["POST /admin/config"] = change_settings,
  ["PUT /admin/config"] = change_settings,
  ["GET /admin/faults"] = function()
    return http.json(200, json.object { pending = faults.pending() })
  end,
  ["POST /admin/faults"] = add_faults,
  ["DELETE /admin/faults"] = function()
    faults.clear()
    return http.json(200, json.object { pending = json.array() })
  end,
  ["GET /admin/counters"] = function() return http.json(200, counters_view()) end,
  ["DELETE /admin/counters"] = function()
    state.counters = state.new_counters()
    return http.json(200, counters_view())
  end,
  ["POST /admin/tokens/expire"] = function()
    ngx.update_time()
    return http.json(200, json.object { expired = auth.expire_all(ngx.now()) })
  end,
  ["GET /admin/state"] = function() return http.json(200, state_view()) end,
  ["GET /admin/tokens"] = function() return http.json(200, auth.issued()) end,
}

-- The servers of the fleet: who they are, where, and what their profile
-- got wrong on purpose; the connections open at once over all of them.
local function fleet_view()
  local servers = json.array()
  local totals = { requests = 0, connections = 0, tls_handshakes = 0 }
  for index, spec in ipairs(state.server_specs) do
    local record = state.records[index]
    local profile = spec.profile or {}
    servers[index] = json.object {
      name = profile.name or "vbrsim", port = spec.port or json.null,
      url = spec.port and ("https://127.0.0.1:" .. spec.port) or json.null,
      host = profile.host or "vbrsim.local",
      revision = profile.settings and profile.settings.max_revision or json.null,
      tags = json.array(state.copy(profile.tags or {})),
      problems = json.array(state.copy(profile.problems or {})),
    }
    if record then
      local c = record.counters
      totals.requests = totals.requests + c.total
      totals.connections = totals.connections + c.connections
      totals.tls_handshakes = totals.tls_handshakes + c.tls_handshakes
    end
  end
  local open = state.sample_connections(tonumber(ngx.var.connections_active))
  return json.object {
    servers = servers, totals = json.object(totals),
    connections = json.object { open = open, peak = state.connections.peak },
  }
end

local FLEET_ROUTES = {
  ["GET /admin/fleet"] = function() return http.json(200, fleet_view()) end,
  ["DELETE /admin/fleet/counters"] = function()
    for index in ipairs(state.server_specs) do
      local record = state.records[index]
      if record then record.counters = state.new_counters() end
    end
    state.connections.peak = 0
    return http.json(200, fleet_view())
  end,
}

-- Runs an endpoint for one server, or for each ("*": POST and DELETE only).
local function for_servers(name, key)
  local handler = ROUTES[key]
  if not handler then return nil end
  if name ~= "*" then
    local record = state.server_named(name)
    if not record then
      return http.json(404, json.object { error = "no server named '" .. name .. "'" })
    end
    state.use(record)
    return handler()
  end
  if key:find("^GET ") then
    return refuse("GET is per server: /admin/servers/NAME/...; the fleet's is GET /admin/fleet")
  end
  local response
  for index in ipairs(state.server_specs) do
    state.use(state.server(index))
    response = handler()
    if response.status ~= 200 then return response end
  end
  return http.json(200, json.object { ok = true, servers = #state.server_specs })
end

local function route()
  -- the body first: reading it may yield, and so must happen before a
  -- server is bound (other requests bind theirs meanwhile)
  ngx.req.read_body()
  local method, uri = ngx.req.get_method(), ngx.var.uri
  local fleet_handler = FLEET_ROUTES[method .. " " .. uri]
  if fleet_handler then return fleet_handler() end
  local name, rest = uri:match("^/admin/servers/([^/]+)(/.+)$")
  if name then return for_servers(name, method .. " /admin" .. rest) end
  local handler = ROUTES[method .. " " .. uri]
  if not handler then return nil end
  state.use(state.server(1))      -- without a name: the first (the only) server
  return handler()
end

-- content_by_lua entry of the admin server.
function admin.handle()
  local connections = state.connections
  connections.admin = connections.admin + 1
  local ok, response = pcall(route)
  connections.admin = connections.admin - 1
  if not ok then error(response, 0) end
  response = response or http.json(404, json.object { error = "no such admin endpoint" })
  local body, content_type = http.render(response)
  ngx.status = response.status
  ngx.header["Content-Type"] = content_type
  ngx.header["Content-Length"] = #body
  ngx.print(body)
  return ngx.exit(response.status)
end

return admin
