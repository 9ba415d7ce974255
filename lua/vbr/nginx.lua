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
-- engine's step, through `ngx.ctx` and the `$vbr_*` variables that
-- `vbr_proxy.conf` defines with `nginx.proxy_var`; the client's own request
-- headers never reach VBR (`proxy_pass_request_headers off`).
--
-- The workers of one nginx share one token pair in a `lua_shared_dict`
-- (per server URL and user): a job takes the newest pair before it starts;
-- a login or refresh is sent only under a lock in the dict, by one worker,
-- while the others wait with `ngx.sleep` and take its result (a refresh
-- token is single-use, two refreshes with it would break each other).
-- @module vbr.nginx

-- luacheck: globals ngx

local type, pairs, tostring, tonumber, error, pcall, setmetatable, rawget =
      type, pairs, tostring, tonumber, error, pcall, setmetatable, rawget

local nginx = {}

--- Options of the `nginx` table of `vbr.connect`, with their defaults.
nginx.DEFAULTS = { location = "/_vbr", shared_dict = "vbr_tokens" }

-- Where the step travels from the transport to the proxy location.
local CTX_KEY = "vbr_step"
local LOCK_POLL = 0.02           -- seconds between looks at a held lock
local MAX_RESPONSE = 16 * 1024 * 1024

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

-- The step's headers and the variable carrying each to the proxy location.
local HEADER_VARS = {
  ["x-api-version"] = "api_version", Accept = "accept",
  Authorization = "authorization", ["Content-Type"] = "content_type",
}
local PROXY_VARS = { uri = true, host = true, ssl_name = true, body = true }
for _, name in pairs(HEADER_VARS) do PROXY_VARS[name] = true end

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
  result.max_response_size = options.max_response_size or MAX_RESPONSE
  result.timeout = options.timeout or 60
  return core_options, result
end

------------------------------------------------------------ the proxy side

--- The value of one `$vbr_*` variable of the proxy location, for
-- `set_by_lua_block $vbr_NAME { return require("vbr.nginx").proxy_var("NAME") }`:
-- `uri`, `host`, `ssl_name`, `body`, `api_version`, `authorization`,
-- `content_type`, `accept`. Empty outside a vbr subrequest.
function nginx.proxy_var(name)
  local step = ngx.ctx[CTX_KEY]
  if type(step) ~= "table" then return "" end
  if not PROXY_VARS[name] then
    error("vbr: unknown proxy variable '" .. tostring(name) .. "'", 2)
  end
  return step.vars[name] or ""
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

------------------------------------------------------------- the exchange

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
  local authority, uri = step.url:match("^https://([^/]+)(/.*)$")
  if not authority or (uri .. authority):find("[%c%s]") then
    error("vbr: internal error: unexpected step URL", 0)
  end
  local vars = {
    uri = uri, host = authority, body = step.body or "",
    ssl_name = authority:match("^%[(.-)%]") or authority:match("^[^:]+"),
  }
  for name, value in pairs(step.headers) do
    local var = HEADER_VARS[name]
    if not var then
      error("vbr: internal error: the nginx transport cannot send header " .. name, 0)
    end
    if value:find("[%c]") then error("vbr: internal error: control character in " .. name, 0) end
    vars[var] = value
  end
  local carried = { vars = vars }
  -- body = "": never forward the client's own request body to the location.
  -- step.fresh_connection is not needed: nginx does not resend a POST on a
  -- pooled connection found dead (libcurl does, hence the flag).
  local res = ngx.location.capture(self.location, {
    method = METHODS[step.method], body = "", ctx = { [CTX_KEY] = carried },
  })
  vars.body, vars.authorization = nil, nil
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
    if #res.body > self.max_response_size then
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

--------------------------------------------------------- shared credentials

-- A stored pair is a flat record of strings and numbers, kept as a query
-- string: gen, access_token, refresh_token, api_version, lifetime and
-- expires_at (ngx.now() seconds).
local NUMERIC = { gen = true, expires_at = true, lifetime = true }

local function decode_record(text)
  if type(text) ~= "string" then return nil end
  local record = {}
  for key, value in pairs(ngx.decode_args(text, 0)) do
    if type(value) == "string" then
      record[key] = NUMERIC[key] and tonumber(value) or value
    end
  end
  return record.gen and record or nil
end

-- The pair the dict holds, or nil.
function Transport:load()
  return decode_record(self.dict:get(self.key))
end

-- Takes a stored pair into the engine.
function Transport:import(record)
  if record.access_token then
    self.core:set_tokens {
      access_token = record.access_token, refresh_token = record.refresh_token,
      api_version = record.api_version, lifetime = record.lifetime,
      expires_in = record.expires_at - ngx.now(),
    }
  else
    self.core:set_tokens(nil)
  end
  self.gen = record.gen
end

-- Before a job: the newest shared pair, when another worker stored one.
function Transport:sync()
  local record = self:load()
  if record and record.gen ~= self.gen then self:import(record) end
end

-- Stores the engine's credentials (new after a login or refresh, or none
-- after a logout) for every worker.
function Transport:store()
  local tokens = self.core:tokens()
  local gen, err = self.dict:incr(self.gen_key, 1, 0)
  if not gen then error("vbr: shared dict '" .. self.dict_name .. "': " .. tostring(err), 0) end
  local record = { gen = gen }
  if tokens.access_token then
    record.access_token = tokens.access_token
    record.refresh_token = tokens.refresh_token
    record.api_version = tokens.api_version
    record.lifetime = tokens.lifetime
    record.expires_at = ngx.now() + tokens.expires_in
  end
  local ok, why = self.dict:set(self.key, ngx.encode_args(record))
  if not ok then error("vbr: shared dict '" .. self.dict_name .. "': " .. tostring(why), 0) end
  self.gen = gen
end

local lock_serial = 0

-- Takes the login lock of this server and user for a login or refresh step
-- the engine built from its credentials of generation `built_with`.
-- Returns true when the job holds the lock (`held.owner`) and the step is
-- still the one to send; false when the credentials changed meanwhile: a
-- pair another worker stored (now imported), or one another job of this
-- worker imported while this one waited. The step is moot then: its
-- refresh token may be spent already.
function Transport:acquire(held, built_with)
  local dict = self.dict
  while true do
    if self.core:tokens().generation ~= built_with then return false end
    local record = self:load()
    if record and record.gen ~= self.gen then
      self:import(record)
      return false
    end
    lock_serial = lock_serial + 1
    local owner = ngx.worker.pid() .. ":" .. lock_serial
    local ok, err = dict:add(self.lock_key, owner, self.lock_ttl)
    if ok then
      held.owner = owner
      record = self:load()
      if record and record.gen ~= self.gen then
        self:release(held)
        self:import(record)
        return false
      end
      return true
    end
    if err ~= "exists" then
      error("vbr: shared dict '" .. self.dict_name .. "': " .. tostring(err), 0)
    end
    ngx.sleep(LOCK_POLL)    -- the lock expires by itself if its holder died
  end
end

function Transport:release(held)
  local owner = held.owner
  if owner then
    held.owner = nil
    if self.dict:get(self.lock_key) == owner then self.dict:delete(self.lock_key) end
  end
end

local PURPOSE_COUNTER = { login = "logins", refresh = "refreshes" }

-- Drives a job of the engine to its end: the done or fail step. The lock
-- is held from a login or refresh send step to the first step that is
-- neither (a refused refresh is followed by a login under the same lock).
function Transport:drive(job, held)
  self:sync()
  local step = job:next()
  while true do
    local action = step.action
    if action == "send" then
      local counter = PURPOSE_COUNTER[step.purpose]
      -- taken before anything yields: the credentials the step was built from
      local built_with = counter and self.core:tokens().generation
      if counter and not held.owner and not self:acquire(held, built_with) then
        step = job:withdraw()
      else
        step = job:next(self:exchange(step))
        if counter then
          local tokens = self.core:tokens()
          if tokens.generation ~= built_with and tokens.access_token then
            self:store()
            self.dict:incr(self.stats_prefix .. counter, 1, 0)
          end
        end
      end
    elseif action == "sleep" then
      ngx.sleep(step.seconds)
      step = job:next()
    else
      return step
    end
    if step.action ~= "send" or not PURPOSE_COUNTER[step.purpose] then self:release(held) end
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

--- Logs in with the password (shared with every worker).
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
  self:store()
  return true
end

--- Makes sure there are credentials: those another worker stored, else a
-- login.
function Transport:connect()
  check_phase(2)
  self:sync()
  local tokens = self.core:tokens()
  if tokens.refresh_token or (tokens.access_token and tokens.expires_in > 0) then
    return true
  end
  return self:login()
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
-- @tparam table client the `vbr` client (its `core` made with the options)
-- @tparam table options from `nginx.split_options`
-- @tparam string url the server's URL, username the user (the dict key)
-- @return true, or nil, err when no credentials could be obtained
function nginx.attach(client, options, url, username)
  local id = ngx.md5(tostring(url) .. "\0" .. tostring(username))
  local prefix = "vbr:" .. id .. ":"
  local transport = setmetatable({
    core = client.core,
    location = options.location,
    dict = ngx.shared[options.shared_dict],
    dict_name = options.shared_dict,
    key = prefix .. "pair",
    gen_key = prefix .. "gen",
    lock_key = prefix .. "lock",
    stats_prefix = prefix,
    lock_ttl = options.timeout * 2 + 5,
    max_response_size = options.max_response_size,
  }, Transport)
  client.transport = transport
  client.clock = ngx.now
  client.sleep = ngx.sleep
  return transport:connect()
end

nginx.Transport = Transport

return nginx
