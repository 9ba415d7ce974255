--- A small HTTP gateway to the configuration backup of one VBR server,
-- for nginx + lua-nginx-module (see nginx.conf and README, OpenResty).
--
--     GET  /configbackup          the settings and the last backup, as JSON
--     POST /configbackup/run      starts a backup: 202 and the session
--     POST /configbackup/run?wait=60
--                                 ... and waits up to 60 s: 200 when it
--                                 ended in Success or Warning
--     GET  /configbackup/tokens   how many logins and refreshes all
--                                 workers made (no secrets)
--
-- The connection settings come from the environment, which nginx passes on
-- with its `env` directive: VBR_URL, VBR_USERNAME, VBR_PASSWORD_FILE and
-- optionally VBR_API_VERSION. TLS trust is nginx's business (the proxy
-- location's proxy_ssl_trusted_certificate).

local vbr = require "vbr"
local json = require "vbr.json"

local gateway = {}

-- One client per worker, made at its first request: the token pair lives in
-- the shared dict, so a second worker does not log in again.
local client

local function connect()
  if client then return client end
  local api_version = os.getenv("VBR_API_VERSION")
  local made, err = vbr.connect {
    url = os.getenv("VBR_URL"),
    username = os.getenv("VBR_USERNAME"),
    password_file = os.getenv("VBR_PASSWORD_FILE"),
    api_version = api_version ~= "" and api_version or nil,
  }
  if not made then return nil, err end
  if client then made:close() else client = made end   -- two first requests at once
  return client
end

local function reply(status, value)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.say(json.encode(value))
  return ngx.exit(status)
end

local STATUS_OF_KIND = {
  invalid = 400, conflict = 409, timeout = 504, failed = 502,
  network = 502, tls = 502, auth = 502, api = 502, http = 502, decode = 502,
}

-- A library error as an answer; tostring(err) never shows a secret.
local function fail(err, status)
  return reply(status or STATUS_OF_KIND[err.kind] or 500, { error = {
    kind = err.kind, status = err.status, code = err.code, message = tostring(err),
  } })
end

-- No client: the gateway's own settings refused (a password file the
-- worker user cannot read, say) are this server's fault, not the caller's.
local function not_connected(err)
  return fail(err, err.kind == "invalid" and 500 or nil)
end

local function summary(session)
  if not session then return json.null end
  local result = type(session.result) == "table" and session.result or {}
  return {
    id = session.id, state = session.state, result = result.result or json.null,
    message = result.message or json.null, progressPercent = session.progressPercent,
    creationTime = session.creationTime, endTime = session.endTime or json.null,
  }
end

local function method_is(wanted)
  if ngx.req.get_method() == wanted then return true end
  ngx.header["Allow"] = wanted
  reply(405, { error = { kind = "usage", message = "use " .. wanted } })
  return false
end

--- GET /configbackup: `{settings = ..., last = {id, state, result, ...}}`.
function gateway.show()
  if not method_is("GET") then return end
  local c, err = connect()
  if not c then return not_connected(err) end
  local settings, serr = c.configbackup:get()
  if not settings then return fail(serr) end
  local sessions, lerr = c:sessions { type = "ConfigurationBackup", limit = 1 }
  if not sessions then return fail(lerr) end
  return reply(200, { settings = settings, last = summary(sessions[1]) })
end

--- POST /configbackup/run[?wait=SECONDS]
function gateway.run()
  if not method_is("POST") then return end
  local wait = ngx.var.arg_wait and tonumber(ngx.var.arg_wait)
  if ngx.var.arg_wait and not (wait and wait > 0 and wait <= 3600) then
    return reply(400, { error = { kind = "usage", message = "wait must be 1..3600 seconds" } })
  end
  local c, err = connect()
  if not c then return not_connected(err) end
  local session, serr = c.configbackup:start()
  if not session then return fail(serr) end
  if not wait then return reply(202, { session = summary(session) }) end
  local done, werr = session:wait { timeout = wait, interval = 0.5, max_interval = 2 }
  if not done then
    if werr.session then
      return reply(STATUS_OF_KIND[werr.kind] or 500,
        { session = summary(werr.session), error = { kind = werr.kind, message = tostring(werr) } })
    end
    return fail(werr)
  end
  return reply(200, { session = summary(done) })
end

--- GET /configbackup/tokens: logins and refreshes of all workers.
function gateway.tokens()
  if not method_is("GET") then return end
  local c, err = connect()
  if not c then return not_connected(err) end
  return reply(200, c.transport:stats())
end

return gateway
