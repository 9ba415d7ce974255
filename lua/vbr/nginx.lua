--- The nginx transport: vbr inside nginx + lua-nginx-module (OpenResty,
-- or Debian's nginx with libnginx-mod-http-lua) without blocking the worker.
--
-- `vbr.connect` picks it by itself in a rewrite, access or content handler.
-- The C engine still decides everything (login, refresh, re-login, retries,
-- revision negotiation); this module only carries its send steps through a
-- subrequest to an internal location that `proxy_pass`es to VBR, so nginx
-- does the HTTP, the TLS verification and the connection pooling, and waits
-- with `ngx.sleep`:
--
--     lua_shared_dict vbr_tokens 1m;
--     upstream vbr_server { server vbr.example.com:9419; keepalive 16; }
--     location = /_vbr {
--         internal;
--         proxy_pass https://vbr_server$vbr_uri;
--         proxy_ssl_trusted_certificate /etc/vbr/ca.pem;
--         include vbr_proxy.conf;    # examples/openresty/vbr_proxy.conf
--     }
--
-- The location receives exactly the method, URI, headers and body of the
-- engine's step (`vbr_proxy.conf`): the URI, Host and TLS name through the
-- `$vbr_*` variables of `nginx.proxy_var`, the headers set on the
-- subrequest by `nginx.proxy_rewrite` (which drops the client's own), the
-- body as the subrequest's. No secret goes through an nginx variable
-- (nginx logs their values at `error_log ... debug`).
--
-- The workers of one nginx share one token pair in a `lua_shared_dict`
-- (per server URL and user), answering the engine's acquire and publish
-- steps (src/engine.h): a login, refresh or logout is sent by one job at a
-- time, under a lock in the dict (a refresh token is single-use); the jobs
-- waiting for it take its new pair, or fail at once with its error (the
-- next request then tries again).
-- @module vbr.nginx

-- luacheck: globals ngx

local type, pairs, tostring, tonumber, error, pcall, setmetatable, rawget =
      type, pairs, tostring, tonumber, error, pcall, setmetatable, rawget
local find, match = string.find, string.match

local nginx = {}

--- Options of the `nginx` table of `vbr.connect`, with their defaults.
nginx.DEFAULTS = { location = "/_vbr", shared_dict = "vbr_tokens" }

-- Where the step travels from the transport to the proxy location.
local CTX_KEY = "vbr_step"
local LOCK_POLL = 0.02           -- seconds between looks at a held lock
local FAILURE_TTL = 60           -- seconds a failure is kept for its waiters

-- Options only the libcurl transport has: inside nginx the location's
-- proxy_* directives decide, and silently ignoring TLS settings would hide
-- a mistake.
local CURL_ONLY = {
  ca_file = "proxy_ssl_trusted_certificate",
  ca_path = "proxy_ssl_trusted_certificate",
  insecure = "proxy_ssl_verify",
  pinned_public_key = "proxy_ssl_trusted_certificate",
  connect_timeout = "proxy_connect_timeout",
  user_agent = "proxy_set_header",
}

local SUBREQUEST_PHASES = { rewrite = true, access = true, content = true }

-- The headers a step may carry, set on the subrequest by proxy_rewrite.
local STEP_HEADERS = {
  ["x-api-version"] = true, Accept = true, Authorization = true, ["Content-Type"] = true,
}
-- What the proxy location's directives take from nginx variables.
local PROXY_VARS = { uri = true, host = true, ssl_name = true }
-- Request headers nginx's proxy module writes itself from the body.
local BODY_HEADERS = { ["content-length"] = true, ["transfer-encoding"] = true }

local function in_nginx()
  local ngx = rawget(_G, "ngx")
  return type(ngx) == "table" and type(ngx.get_phase) == "function"
    and type(ngx.location) == "table"
end

local function check_phase(level)
  local phase = ngx.get_phase()
  if not SUBREQUEST_PHASES[phase] then
    error("vbr: inside nginx, vbr needs a rewrite, access or content handler "
      .. "(it talks to VBR through subrequests), not the '" .. tostring(phase)
      .. "' phase; pass nginx = false to vbr.connect for the blocking libcurl "
      .. "transport", level + 1)
  end
end

--- Splits `vbr.connect`'s options: the core's, and the nginx transport's
-- (nil when the libcurl transport is to be used). Raises on misuse.
-- @tparam table options as given to `vbr.connect`
-- @treturn table the options for `vbr.core.new`
-- @treturn table|nil the nginx options, defaults filled in
function nginx.split_options(options)
  local wanted = options.nginx
  if wanted == nil and not in_nginx() then return options, nil end
  local core_options = {}
  for key, value in pairs(options) do
    if key ~= "nginx" then core_options[key] = value end
  end
  if wanted == false then return core_options, nil end
  if wanted ~= nil and wanted ~= true and type(wanted) ~= "table" then
    error("vbr: option 'nginx' must be a table, true or false (got " .. type(wanted) .. ")", 3)
  end
  if not in_nginx() then
    error("vbr: option 'nginx' needs nginx with lua-nginx-module (OpenResty)", 3)
  end
  check_phase(3)
  local result = {}
  for key, default in pairs(nginx.DEFAULTS) do result[key] = default end
  if type(wanted) == "table" then
    for key, value in pairs(wanted) do
      if nginx.DEFAULTS[key] == nil then
        error("vbr: unknown option 'nginx." .. tostring(key)
          .. "' (known: location, shared_dict)", 3)
      end
      if type(value) ~= "string" or value == "" then
        error("vbr: option 'nginx." .. key .. "' must be a non-empty string", 3)
      end
      result[key] = value
    end
  end
  if result.location:sub(1, 1) ~= "/" then
    error("vbr: option 'nginx.location' must start with / (got '" .. result.location .. "')", 3)
  end
  for key, directive in pairs(CURL_ONLY) do
    if options[key] ~= nil then
      error("vbr: option '" .. key .. "' does not apply inside nginx: set " .. directive
        .. " in the location " .. result.location .. " (see README, OpenResty)", 3)
    end
  end
  if not ngx.shared[result.shared_dict] then
    error("vbr: nginx has no shared dict '" .. result.shared_dict .. "': add `lua_shared_dict "
      .. result.shared_dict .. " 1m;` to the http block", 3)
  end
  return core_options, result
end

-- --------------------------------------------------------- the proxy side

--- The value of one `$vbr_*` variable of the proxy location, for
-- `set_by_lua_block $vbr_NAME { return require("vbr.nginx").proxy_var("NAME") }`:
-- `uri`, `host`, `ssl_name`. Empty outside a vbr subrequest.
function nginx.proxy_var(name)
  local step = ngx.ctx[CTX_KEY]
  if type(step) ~= "table" then return "" end
  if not PROXY_VARS[name] then
    error("vbr: unknown proxy variable '" .. tostring(name) .. "'", 2)
  end
  return step.vars[name] or ""
end

--- Makes the subrequest's headers exactly the step's, for
-- `rewrite_by_lua_block` of the proxy location (with
-- `proxy_pass_request_headers on`): the client's own are dropped, and the
-- Authorization header never becomes an nginx variable.
function nginx.proxy_rewrite()
  local step = ngx.ctx[CTX_KEY]
  if type(step) ~= "table" then return ngx.exit(ngx.HTTP_NOT_FOUND) end
  local req = ngx.req
  for name in pairs(req.get_headers(0, true)) do
    if not BODY_HEADERS[name:lower()] then req.clear_header(name) end
  end
  for name, value in pairs(step.headers) do req.set_header(name, value) end
end

--- Notes whether VBR itself answered, for `header_filter_by_lua_block`
-- of the proxy location (nginx answers 502 and 504 itself too).
function nginx.proxy_header_filter()
  local step = ngx.ctx[CTX_KEY]
  if type(step) ~= "table" then return end
  local var = ngx.var
  step.proxied = true
  step.upstream_status = var.upstream_status
  step.upstream_header_time = var.upstream_header_time
  step.upstream_connect_time = var.upstream_connect_time
end

-- ---------------------------------------------------------- the exchange

local METHODS

-- The last value of an $upstream_* list ("0.001, 0.002 : -").
local function last_value(list)
  if type(list) ~= "string" then return nil end
  return list:match("([^,:%s]+)%s*$")
end

local function header_value(headers, wanted)
  for name, value in pairs(headers or {}) do
    if type(name) == "string" and name:lower() == wanted then
      if type(value) == "table" then value = value[1] end
      return value
    end
  end
  return nil
end

local function misconfigured(location)
  return "nginx: the location " .. location .. " is missing or is not vbr's proxy location "
    .. "(proxy_pass to VBR and include vbr_proxy.conf: see README, OpenResty)"
end

local Transport = {}
Transport.__index = Transport

-- Carries one send step through the proxy location; returns the table
-- job:next takes.
function Transport:exchange(step)
  if not METHODS then
    METHODS = { GET = ngx.HTTP_GET, POST = ngx.HTTP_POST, PUT = ngx.HTTP_PUT,
                DELETE = ngx.HTTP_DELETE, PATCH = ngx.HTTP_PATCH }
  end
  local host, uri = step.host, step.path .. (step.query and "?" .. step.query or "")
  if find(uri .. host, "[%c%s]") then error("vbr: internal error: unexpected step URL", 0) end
  for name, value in pairs(step.headers) do
    if not STEP_HEADERS[name] then
      error("vbr: internal error: the nginx transport cannot send header " .. name, 0)
    end
    if find(value, "%c") then error("vbr: internal error: control character in " .. name, 0) end
  end
  local carried = {
    -- Host as HTTP writes it; the TLS name without an IPv6 literal's brackets
    vars = { uri = uri, host = host .. ":" .. step.port,
             ssl_name = match(host, "^%[(.*)%]$") or host },
    headers = step.headers,
  }
  -- The step's body, or "": never the client's own request body.
  -- step.fresh_connection is not needed: nginx does not resend a POST on a
  -- pooled connection found dead (libcurl does, hence the flag).
  local res = ngx.location.capture(self.location, {
    method = METHODS[step.method], body = step.body or "", ctx = { [CTX_KEY] = carried },
  })
  carried.headers = nil
  if not carried.proxied or carried.upstream_status == nil then
    if not self.warned then
      self.warned = true
      ngx.log(ngx.ERR, "vbr: ", misconfigured(self.location))
    end
    return { error = "other", sent = false, message = misconfigured(self.location) }
  end
  if tonumber(last_value(carried.upstream_header_time)) then
    -- VBR answered (whatever the status)
    if res.truncated then
      return { error = "reset", sent = true, message = "the answer was cut short" }
    end
    if #res.body > step.max_response_size then
      return { error = "too_large", sent = true }
    end
    return {
      status = res.status, body = res.body,
      headers = {
        ["content-type"] = header_value(res.header, "content-type"),
        ["retry-after"] = header_value(res.header, "retry-after"),
        location = header_value(res.header, "location"),
      },
    }
  end
  -- nginx answered itself: the upstream variables tell how far it got
  local connected = tonumber(last_value(carried.upstream_connect_time)) ~= nil
  if res.status == 504 then
    return { error = "timeout", sent = connected,
             message = "nginx gave up waiting (proxy_*_timeout of " .. self.location .. ")" }
  end
  if not connected then
    return { error = "connect", sent = false,
             message = "nginx could not connect, or the TLS handshake failed "
               .. "(nginx's error log says which)" }
  end
  return { error = "reset", sent = true,
           message = "nginx: the connection broke before an answer (status "
             .. tostring(res.status) .. ", see nginx's error log)" }
end

-- ------------------------------------------------------ shared credentials

-- The dict holds, per server and user (keys with the transport's prefix):
-- "pair", the newest credentials (access_token, refresh_token,
-- api_version, lifetime, expires_at in ngx.now() seconds) as a query
-- string, without access_token after a logout; "lock", the owner of the
-- grant, for the step's lease at most; "failed", the owner whose login or
-- refresh failed last and its error.
local function record_of(text)
  if type(text) ~= "string" then return nil end
  local record = {}
  for key, value in pairs(ngx.decode_args(text, 0)) do
    if type(value) == "string" then record[key] = value end
  end
  return record
end

local function store(self, key, record, ttl)
  local ok, why = self.dict:set(key, ngx.encode_args(record), ttl)
  if not ok then error("vbr: shared dict '" .. self.dict_name .. "': " .. tostring(why), 0) end
end

-- The stored pair when its access token is not `access_token` (the one a
-- job means to replace): newer, obtained by another job meanwhile.
function Transport:newer_than(access_token)
  local pair = record_of(self.dict:get(self.pair_key))
  if not pair or not pair.access_token or pair.access_token == access_token then return nil end
  return {
    access_token = pair.access_token, refresh_token = pair.refresh_token,
    api_version = pair.api_version, lifetime = tonumber(pair.lifetime),
    expires_in = (tonumber(pair.expires_at) or 0) - ngx.now(),
  }
end

-- The error the login or refresh of `owner` failed with, if it did.
function Transport:failure_of(owner)
  local failed = owner and record_of(self.dict:get(self.failed_key))
  if not failed or failed.owner ~= owner then return nil end
  return { kind = failed.kind, status = tonumber(failed.status), code = failed.code,
           message = failed.message, retryable = failed.retryable == "true" }
end

local lock_serial = 0

-- Answers an acquire step: newer credentials, the failure of the owner
-- this job waited for, or the lock (`held.owner`) and go ahead.
function Transport:acquire(job, step, held)
  local dict, waited_for = self.dict, nil
  while true do
    local newer = self:newer_than(step.access_token)
    if newer then return job:next { tokens = newer } end
    local failure = self:failure_of(waited_for)
    if failure then return job:next { failure = failure } end
    lock_serial = lock_serial + 1
    local owner = ngx.worker.pid() .. ":" .. lock_serial
    local ok, err = dict:add(self.lock_key, owner, step.lease)
    if ok then
      held.owner = owner
      -- published between the look and the lock: hand that over instead
      newer = self:newer_than(step.access_token)
      failure = not newer and self:failure_of(waited_for)
      if not (newer or failure) then return job:next() end
      self:release(held)
      return job:next(newer and { tokens = newer } or { failure = failure })
    end
    if err ~= "exists" then
      error("vbr: shared dict '" .. self.dict_name .. "': " .. tostring(err), 0)
    end
    waited_for = dict:get(self.lock_key) or waited_for
    ngx.sleep(LOCK_POLL)    -- the lock expires by itself if its holder died
  end
end

local PURPOSE_COUNTER = { login = "logins", refresh = "refreshes" }

-- Answers a publish step: stores the new pair (or none, after a logout),
-- or the failure for the jobs waiting for it; releases the lock.
function Transport:publish(step, held)
  local tokens, err = step.tokens, step.err
  if err then
    store(self, self.failed_key, {
      owner = held.owner, kind = err.kind, status = err.status, code = err.code,
      message = err.message, retryable = tostring(err.retryable == true),
    }, FAILURE_TTL)
  elseif tokens then
    store(self, self.pair_key, {
      access_token = tokens.access_token, refresh_token = tokens.refresh_token,
      api_version = tokens.api_version, lifetime = tokens.lifetime,
      expires_at = tokens.access_token and ngx.now() + tokens.expires_in or nil,
    })
    local counter = tokens.access_token and PURPOSE_COUNTER[step.purpose]
    if counter then self.dict:incr(self.stats_prefix .. counter, 1, 0) end
  end
  self:release(held)
end

function Transport:release(held)
  local owner = held.owner
  if owner then
    held.owner = nil
    if self.dict:get(self.lock_key) == owner then self.dict:delete(self.lock_key) end
  end
end

-- Drives a job of the engine to its end: the done or fail step.
function Transport:drive(job, held)
  local step = job:next()
  while true do
    local action = step.action
    if action == "send" then
      step = job:next(self:exchange(step))
    elseif action == "sleep" then
      ngx.sleep(step.seconds)
      step = job:next()
    elseif action == "acquire" then
      step = self:acquire(job, step, held)
    elseif action == "publish" then
      self:publish(step, held)
      step = job:next()
    else
      return step
    end
  end
end

-- Runs a job; releases the lock and the job whatever happens.
function Transport:run(job)
  local held = {}
  local ok, step = pcall(self.drive, self, job, held)
  self:release(held)
  job:close()
  if not ok then error(step, 0) end
  return step
end

--- Sends one API request (the same contract as `vbr.core`'s `request`).
function Transport:request(method, path, options)
  check_phase(2)
  local step = self:run(self.core:begin(method, path, options))
  if step.action == "done" then return step.response end
  return nil, step.err
end

--- Makes sure there are credentials: those another worker stored, else a
-- password login (shared with every worker).
function Transport:login()
  check_phase(2)
  local step = self:run(self.core:begin_login())
  if step.action == "done" then return true end
  return nil, step.err
end

--- Logs out; every worker then logs in again.
function Transport:logout()
  check_phase(2)
  local step = self:run(self.core:begin_logout())
  if step.action ~= "done" then return nil, step.err end
  return true
end

--- Counters of the shared dict: `logins` and `refreshes` sent by any
-- worker for this server and user (since nginx started).
function Transport:stats()
  return {
    logins = self.dict:get(self.stats_prefix .. "logins") or 0,
    refreshes = self.dict:get(self.stats_prefix .. "refreshes") or 0,
  }
end

--- Puts the nginx transport under a `vbr` client: requests go through
-- subrequests, `client.clock` and `client.sleep` become `ngx.now` and
-- `ngx.sleep`, and the credentials are those every worker shares.
-- @tparam table client the `vbr` client (its `core` made by
--   `vbr.core.new(options, "steps")`)
-- @tparam table options from `nginx.split_options`
-- @tparam string url the server's URL (with `username`, the dict key)
-- @tparam string username the user
-- @return true, or nil, err when no credentials could be obtained
function nginx.attach(client, options, url, username)
  local id = ngx.md5(tostring(url) .. "\0" .. tostring(username))
  local prefix = "vbr:" .. id .. ":"
  local transport = setmetatable({
    core = client.core,
    location = options.location,
    dict = ngx.shared[options.shared_dict],
    dict_name = options.shared_dict,
    pair_key = prefix .. "pair",
    lock_key = prefix .. "lock",
    failed_key = prefix .. "failed",
    stats_prefix = prefix,
  }, Transport)
  client.transport = transport
  client.clock = ngx.now
  client.sleep = ngx.sleep
  return transport:login()
end

nginx.Transport = Transport
-- for vbr.fleet, which picks its runner and options by them
nginx.in_nginx, nginx.CURL_ONLY = in_nginx, CURL_ONLY

return nginx
