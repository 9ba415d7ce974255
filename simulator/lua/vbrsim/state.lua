-- Everything the simulated server remembers. One nginx worker process, so this
-- module's tables are the whole state: no shared dict, no locking, and a
-- reset is a plain rebuild.
local json = require "vbrsim.json"

local state = {}

local pairs, ipairs, type, tostring, format = pairs, ipairs, type, tostring, string.format
local setmetatable, getmetatable = setmetatable, getmetatable

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
  backup_outcome = "auto",              -- auto | Success | Warning | Failed
  extra_fields = json.object(),         -- extra top-level configBackup fields, as a newer server
  record_requests = false,              -- append each API request to DIR/requests.jsonl
}

local SETTING_CHOICES = {
  backup_outcome = { auto = true, Success = true, Warning = true, Failed = true },
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
  if type(value) == "number" and value < 0 then return nil, name .. " must not be negative" end
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

-- Start-time settings: defaults overridden by vbrsim --set values.
function state.init(registry, overrides)
  state.registry = registry
  local settings = copy(DEFAULT_SETTINGS)
  for name, value in pairs(overrides or {}) do
    local checked, err = state.check_setting(name, value)
    if checked == nil then error("vbrsim: " .. err, 0) end
    settings[name] = checked
  end
  state.start_settings = settings
  state.reset()
end

-- Back to the state right after start: settings, tokens, sessions, faults,
-- counters and the configuration backup settings.
function state.reset()
  state.started_at = ngx and ngx.now() or os.time()
  state.settings = copy(state.start_settings)
  state.tokens = {}           -- access token -> {user, expires_at, refresh}
  state.refresh_tokens = {}   -- refresh token -> {user, expires_at, access}
  state.token_count = 0
  state.faults = {}
  state.counters = state.new_counters()
  state.usn = 0
  state.sessions = {}         -- in creation order
  state.sessions_by_id = {}
  for _, hook in ipairs(state.reset_hooks) do hook() end
end

function state.new_counters()
  return { requests = {}, routes = {}, tls_handshakes = 0, connections = 0, total = 0 }
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

return state
