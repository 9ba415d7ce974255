-- OAuth2 password and refresh grants, logout, bearer checks and roles.
local json = require "vbrsim.json"
local util = require "vbrsim.util"
local http = require "vbrsim.http"
local state = require "vbrsim.state"
local faults = require "vbrsim.faults"

local auth = {}

local pairs, format, floor = pairs, string.format, math.floor

-- VBR accepts the grant type in the casing of any revision (1.3-rev1 lists "Password").
local GRANT_TYPES = {
  password = "password", Password = "password",
  refresh_token = "refresh_token", Refresh_token = "refresh_token",
}
local UNSIMULATED_GRANTS = {
  authorization_code = true, Authorization_code = true, vbr_token = true, Vbr_token = true,
}

local PRUNE_EVERY = 5000

-- Every token issued since the last reset (admin GET /admin/tokens), so that
-- specs can look for them where no secret may appear; the first MAX_ISSUED.
local MAX_ISSUED = 50000

function auth.issued()
  local issued = state.issued
  return json.object { access = json.array(issued.access), refresh = json.array(issued.refresh),
                       truncated = #issued.access >= MAX_ISSUED }
end

local function base64url(text)
  return (ngx.encode_base64(text):gsub("+", "-"):gsub("/", "_"):gsub("=", ""))
end

-- Opaque to clients, but shaped like the JWT a real server returns.
local function new_access_token(username, now, expires_at)
  local header = base64url('{"alg":"RS512","typ":"JWT"}')
  local claims = '{"unique_name":"%s","nbf":%d,"exp":%d,"iat":%d,"aud":"access","jti":"%s"}'
  local payload = base64url(format(claims, username, floor(now), floor(expires_at), floor(now),
                                   util.uuid()))
  return header .. "." .. payload .. "." .. base64url(util.random_token(48))
end

local function prune(now)
  for token, record in pairs(state.tokens) do
    if record.expires_at <= now then state.tokens[token] = nil end
  end
  for token, record in pairs(state.refresh_tokens) do
    if record.expires_at <= now then state.refresh_tokens[token] = nil end
  end
end

local function datetime(epoch)
  local s = state.settings
  return util.format_datetime(epoch, s.utc_offset_minutes, s.token_dates_with_offset)
end

local function issue(username, short_term_refresh, now)
  state.token_count = state.token_count + 1
  if state.token_count % PRUNE_EVERY == 0 then prune(now) end
  local lifetime = state.settings.token_lifetime
  local refresh_lifetime = state.settings.refresh_token_lifetime
  if short_term_refresh then refresh_lifetime = lifetime + 15 * 60 end
  local access = new_access_token(username, now, now + lifetime)
  local refresh = util.random_token(32)
  local issued = state.issued
  if #issued.access < MAX_ISSUED then
    issued.access[#issued.access + 1] = access
    issued.refresh[#issued.refresh + 1] = refresh
  end
  state.tokens[access] = { user = username, expires_at = now + lifetime, refresh = refresh }
  state.refresh_tokens[refresh] = { user = username, access = access,
                                    expires_at = now + refresh_lifetime }
  return http.json(200, json.object {
    access_token = access,
    token_type = "bearer",
    refresh_token = refresh,
    expires_in = floor(lifetime),
    [".issued"] = datetime(now),
    [".expires"] = datetime(now + lifetime),
  })
end

local function password_grant(form, now)
  local username, password = form.username, form.password
  if type(username) ~= "string" or username == "" then
    return http.bad_request("username", "is required for the password grant")
  end
  if type(password) ~= "string" then
    return http.bad_request("password", "is required for the password grant")
  end
  local user = state.users[username]
  if not user or user.password ~= password then
    return http.error(401, "AccessDenied",
      "Authentication failed: the user name or password is incorrect.")
  end
  if user.mfa then
    return http.error(401, "AccessDenied",
      "Accounts with multi-factor authentication cannot use the REST API.")
  end
  return issue(username, form.use_short_term_refresh == "true", now)
end

local function refresh_grant(form, now)
  local token = form.refresh_token
  if type(token) ~= "string" or token == "" then
    return http.bad_request("refresh_token", "is required for the refresh_token grant")
  end
  local refusal = faults.take("refuse_refresh", "POST", "/api/oauth2/token")
  if refusal then
    state.refresh_tokens[token] = nil
    if refusal.empty_body then return http.response(401, nil) end
    return http.error(401, "InvalidToken", "The refresh token has been revoked.")
  end
  local record = state.refresh_tokens[token]
  if not record then
    return http.error(401, "InvalidToken", "The refresh token is invalid or has already been used.")
  end
  -- Single use: whatever happens next, this token is spent.
  state.refresh_tokens[token] = nil
  if record.expires_at <= now then
    return http.error(401, "ExpiredToken", "The refresh token has expired.")
  end
  return issue(record.user, form.use_short_term_refresh == "true", now)
end

-- POST /api/oauth2/token (form body, no bearer).
function auth.token(req)
  local content_type = req.headers["content-type"] or ""
  if not content_type:lower():find("^application/x%-www%-form%-urlencoded") then
    return http.bad_request(nil,
      "The token request body must be application/x-www-form-urlencoded.")
  end
  local form = ngx.decode_args(req.body or "", 100)
  for k, v in pairs(form) do
    if type(v) == "table" then return http.bad_request(k, "is given more than once") end
  end
  local grant = form.grant_type
  if type(grant) ~= "string" then return http.bad_request("grant_type", "is required") end
  if GRANT_TYPES[grant] == "password" then return password_grant(form, req.now) end
  if GRANT_TYPES[grant] == "refresh_token" then return refresh_grant(form, req.now) end
  if UNSIMULATED_GRANTS[grant] then
    return http.bad_request("grant_type", grant .. " is not simulated")
  end
  return http.bad_request("grant_type",
    "must be one of: password, refresh_token, authorization_code, vbr_token")
end

-- The user behind the bearer token, or nil and a 401 response.
function auth.authenticate(req)
  local header = req.headers["authorization"]
  if type(header) ~= "string" then
    return nil, http.error(401, "AccessDenied", "The Authorization header is missing.")
  end
  local token = header:match("^[Bb][Ee][Aa][Rr][Ee][Rr]%s+(%S+)%s*$")
  local record = token and state.tokens[token]
  if not record then
    return nil, http.error(401, "InvalidToken", "The access token is invalid.")
  end
  if record.expires_at <= req.now then
    return nil, http.error(401, "ExpiredToken", "The access token has expired.")
  end
  return { name = record.user, role = state.users[record.user].role, token = token }
end

-- POST /api/oauth2/logout: both tokens of the pair die.
function auth.logout(req)
  local record = state.tokens[req.user.token]
  if record then state.refresh_tokens[record.refresh] = nil end
  state.tokens[req.user.token] = nil
  return http.json(200, json.object())
end

-- Admin: every access token expires now; refresh tokens stay usable.
function auth.expire_all(now)
  local n = 0
  for _, record in pairs(state.tokens) do
    record.expires_at = now
    n = n + 1
  end
  return n
end

return auth
