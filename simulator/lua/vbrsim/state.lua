-- Everything the simulated servers remember. One nginx worker process, so this
-- module's tables are the whole state: no shared dict, no locking, and a
-- reset is a plain rebuild.
--
-- Each simulated server (one, or a fleet of them on their own ports) keeps
-- its own record: settings, tokens, sessions, faults, counters. `state.X`
-- reads and writes the record of the server the running request is for
-- (`state.use`), so the handlers, written for one server, serve a fleet
-- unchanged. A request that may yield (ngx.sleep, reading the body) binds
-- its server again afterwards: other requests run meanwhile.
local json = require "vbrsim.json"

local state = {}

local pairs, ipairs, type, tostring, format = pairs, ipairs, type, tostring, string.format
local setmetatable, getmetatable, rawset, tonumber = setmetatable, getmetatable, rawset, tonumber

-- Settings a test may change at start (vbrsim --set) or at run time (admin API).
local DEFAULT_SETTINGS = {
  token_lifetime = 900,                 -- access token, seconds
  refresh_token_lifetime = 14 * 86400,  -- refresh token, seconds
  session_duration = 3,                 -- a configuration backup runs this long, seconds
  snmp_configured = false,              -- the server has global SNMP settings
  encryption_passwords_present = true,  -- the server holds encryption passwords
  hardened_repository_present = true,   -- a hardened (immutable) Linux repository exists
  max_revision = "",                    -- newest x-api-version accepted ("" = newest document)
  build_version = "",                   -- serverInfo buildVersion ("" = build of max_revision)
  utc_offset_minutes = 60,              -- offset of the server's date-time text
  token_dates_with_offset = true,       -- false: .issued/.expires lack the offset, as seen
  strict_unknown_fields = true,         -- refuse body properties the revision's schema lacks
  backup_outcome = "auto",              -- auto | Success | Warning | Failed | ActionRequired
  extra_fields = json.object(),         -- extra top-level configBackup fields, as a newer server
  record_requests = false,              -- append each API request to DIR/requests.jsonl
  latency_ms = 0,                       -- every answer of the API waits this long first
}

local SETTING_CHOICES = {
  backup_outcome = { auto = true, Success = true, Warning = true, Failed = true,
                     ActionRequired = true },
}

-- Fixed identifiers, so specs and documentation can name them.
state.ids = {
  config_job = "f4f3c4b0-8d07-4c8e-9b4e-6f1d2a3b4c5d",
  installation = "b0e8e6c4-5a3d-4f2e-8c1b-9d7a6f5e4c3b",
  backup_server = "6745a759-2205-4cd2-b172-8ec8f7e60ef8",
  repo_default = "88788f9e-d8f5-4eb4-bc4f-9b3f5403bcec",
  repo_nas = "d4b5e196-f3ad-474c-99bc-dfef051dae07",
  repo_hardened = "3f8e6a52-1c0b-4d6e-9a77-5b2d8c4e9f10",
  repo_scale_out = "5c3b2a19-8d7e-4f60-b1a2-c3d4e5f60718",
  repo_external = "7e6d5c4b-3a29-4180-9f0e-1d2c3b4a5968",
  password_standard = "6ebbe3cc-8147-47b6-b77a-01eeb7965522",
  password_tech = "3261d360-1db7-4291-b1ed-360ef5b77175",
  password_config = "ebf6c20f-7126-4186-a1b8-24e6c541161c",
  smb_credentials = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d",
}

-- Default accounts (documented in simulator/README.md). The admin password
-- holds characters that must be URL-encoded in a form body.
state.users = {
  admin = { password = "Adm1n P@ss&w=rd%", role = "administrator" },
  operator = { password = "Op3rator+Pass", role = "operator" },
  viewer = { password = "V1ewer#Pass", role = "viewer" },
  ["mfa-user"] = { password = "Mfa-Pass1", role = "administrator", mfa = true },
}

local function copy(value)
  if type(value) ~= "table" or value == json.null then return value end
  local out = setmetatable({}, getmetatable(value))
  for k, v in pairs(value) do out[k] = copy(v) end
  return out
end
state.copy = copy

-- Checks and converts one setting; returns the value or nil, message.
function state.check_setting(name, value)
  local default = DEFAULT_SETTINGS[name]
  if default == nil then return nil, format("unknown setting '%s'", tostring(name)) end
  if type(default) == "table" then
    if not json.is_object(value) then return nil, name .. " must be a JSON object" end
    return copy(value)
  end
  if type(value) ~= type(default) then
    return nil, format("%s must be a %s", name, type(default))
  end
  if name == "utc_offset_minutes" then
    if value < -720 or value > 840 or value % 1 ~= 0 then
      return nil, name .. " must be whole minutes from -720 to 840"
    end
  elseif type(value) == "number" and value < 0 then
    return nil, name .. " must not be negative"
  end
  local choices = SETTING_CHOICES[name]
  if choices and not choices[value] then
    return nil, name .. " has no choice '" .. tostring(value) .. "'"
  end
  local served = state.registry and state.registry.served_by
  if name == "max_revision" and value ~= "" and not (served and served[value]) then
    return nil, "max_revision '" .. value .. "' is not a supported revision"
  end
  return value
end

function state.setting_names()
  local names = {}
  for k in pairs(DEFAULT_SETTINGS) do names[#names + 1] = k end
  table.sort(names)
  return names
end

-- Start-time settings: defaults overridden by vbrsim --set values, then by a
-- server's own profile (a fleet's servers differ in revision, offset, ...).
local function start_settings(overrides, profile)
  local settings = copy(DEFAULT_SETTINGS)
  for _, source in ipairs { overrides or {}, profile and profile.settings or {} } do
    for name, value in pairs(source) do
      local checked, err = state.check_setting(name, value)
      if checked == nil then error("vbrsim: " .. err, 0) end
      settings[name] = checked
    end
  end
  return settings
end

-- servers: a list of {port =, profile =} (one without a profile: the classic
-- single server); none given: one classic server on no particular port.
-- Records are built when first used, so a fleet of 1,000 starts at once.
function state.init(registry, overrides, servers)
  rawset(state, "registry", registry)
  rawset(state, "overrides", overrides or {})
  rawset(state, "fleet_started_at", ngx and ngx.now() or os.time())
  rawset(state, "server_specs", servers or { {} })
  rawset(state, "records", {})
  rawset(state, "by_port", {})
  rawset(state, "by_name", {})
  for index, spec in ipairs(state.server_specs) do
    spec.index = index
    if spec.port then state.by_port[spec.port] = index end
    if spec.profile then state.by_name[spec.profile.name] = index end
    start_settings(state.overrides, spec.profile)   -- a bad setting stops the start
  end
  state.use(state.server(1))
end

-- The record of the index-th server, built (and reset) on first use.
function state.server(index)
  local record = state.records[index]
  if record then return record end
  local spec = state.server_specs[index]
  if not spec then return nil end
  record = { index = index, port = spec.port, profile = spec.profile,
             start_settings = start_settings(state.overrides, spec.profile) }
  state.records[index] = record
  local previous = state.current
  state.use(record)
  state.reset(state.fleet_started_at)
  if previous then state.use(previous) end
  return record
end

-- The record of the server listening on a port, or nil.
function state.server_on_port(port)
  local index = state.by_port[tonumber(port)]
  return index and state.server(index)
end

-- The record of a fleet server by its inventory name, or nil.
function state.server_named(name)
  local index = state.by_name[name]
  return index and state.server(index)
end

-- Makes `state.X` the given server's.
local bound = {}
function state.use(record)
  bound.__index, bound.__newindex = record, record
  rawset(state, "current", record)
  return record
end

-- Back to the state right after start (`at`: the start time; default now):
-- settings, tokens, sessions, faults, counters and the configuration backup
-- settings of the bound server.
function state.reset(at)
  state.started_at = at or (ngx and ngx.now() or os.time())
  state.settings = copy(state.start_settings)
  state.tokens = {}           -- access token -> {user, expires_at, refresh}
  state.refresh_tokens = {}   -- refresh token -> {user, expires_at, access}
  state.token_count = 0
  state.faults = {}
  state.counters = state.new_counters()
  state.usn = 0
  state.sessions = {}         -- in creation order
  state.sessions_by_id = {}
  state.issued = { access = {}, refresh = {} }   -- every token since (vbrsim.auth)
  for _, hook in ipairs(state.reset_hooks) do hook() end
end

function state.new_counters()
  return { requests = {}, routes = {}, unauthorized = {}, tls_handshakes = 0, connections = 0,
           total = 0 }
end

-- Client connections open at once over all servers, the admin API's own left
-- out (`admin`: its requests in progress), sampled as each request arrives.
state.connections = { peak = 0, admin = 0 }

function state.sample_connections(active)
  local open = (active or 0) - state.connections.admin
  if open > state.connections.peak then state.connections.peak = open end
  return open
end

-- Modules register how to rebuild their own part of the state.
state.reset_hooks = {}
function state.on_reset(hook)
  state.reset_hooks[#state.reset_hooks + 1] = hook
end

function state.next_usn()
  state.usn = state.usn + 1
  return state.usn
end

-- The newest revision this server accepts.
function state.max_revision()
  local wanted = state.settings.max_revision
  if wanted ~= "" then return wanted end
  local supported = state.registry.supported
  return supported[#supported]
end

-- From here on, keys not defined above belong to the bound server's record.
setmetatable(state, bound)

return state
