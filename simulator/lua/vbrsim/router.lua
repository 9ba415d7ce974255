-- The HTTPS API: counters, faults, x-api-version, routing, bearer and roles,
-- query checks, then the handler; the answer goes out last so "after" faults
-- can still drop or damage it.
local http = require "vbrsim.http"
local state = require "vbrsim.state"
local faults = require "vbrsim.faults"
local auth = require "vbrsim.auth"
local listing = require "vbrsim.listing"
local util = require "vbrsim.util"
local inventory = require "vbrsim.inventory"
local configbackup = require "vbrsim.configbackup"
local sessions = require "vbrsim.sessions"
local openapi = require "vbrsim.openapi"
local recorder = require "vbrsim.recorder"
local ssl = require "ngx.ssl"
local analyzer = require "vbrsim.analyzer"

local router = {}

local ngx = ngx
local ipairs, pairs, type, tostring, tonumber = ipairs, pairs, type, tostring, tonumber
local concat, floor, max = table.concat, math.floor, math.max

local ROUTES = {
  { method = "POST", template = "/api/oauth2/token", handler = auth.token, public = true },
  { method = "POST", template = "/api/oauth2/logout", handler = auth.logout },
  { method = "GET", template = "/api/v1/serverInfo", handler = inventory.server_info },
  { method = "GET", template = "/api/v1/configBackup", handler = configbackup.get },
  { method = "PUT", template = "/api/v1/configBackup", handler = configbackup.put },
  { method = "POST", template = "/api/v1/configBackup/backup", handler = configbackup.start },
  { method = "GET", template = "/api/v1/sessions", handler = sessions.list },
  { method = "GET", template = "/api/v1/sessions/{id}", handler = sessions.get },
  { method = "GET", template = "/api/v1/sessions/{id}/logs", handler = sessions.logs },
  { method = "POST", template = "/api/v1/sessions/{id}/stop", handler = sessions.stop },
  { method = "GET", template = "/api/v1/encryptionPasswords", handler = inventory.list_passwords },
  { method = "GET", template = "/api/v1/backupInfrastructure/repositories",
    handler = inventory.list_repositories },
  { method = "GET", template = "/api/v1/backupInfrastructure/managedServers",
    handler = inventory.list_managed_servers },
  { method = "GET", template = "/api/v1/backupInfrastructure/managedServers/{id}",
    handler = inventory.managed_server },
  { method = "GET", template = "/api/v1/securityAnalyzer/bestPractices",
    handler = analyzer.best_practices },
}
for _, route in ipairs(ROUTES) do
  route.pattern = "^" .. route.template:gsub("{id}", "([^/]+)") .. "$"
  route.has_id = route.template:find("{id}", 1, true) ~= nil
end

-- The route and its path parameters; or nil and whether the path exists at all.
local function match(method, path)
  local path_known = false
  for _, route in ipairs(ROUTES) do
    local capture = path:match(route.pattern)
    if capture then
      path_known = true
      if route.method == method then
        return route, { id = route.has_id and capture or nil }
      end
    end
  end
  return nil, path_known
end

-- Revisions accepted now (max_revision may hide newer ones), cached per setting.
local supported_cache = {}
local function supported_list()
  local newest = state.max_revision()
  if supported_cache.newest ~= newest then
    local list = {}
    for _, revision in ipairs(state.registry.supported) do
      if not openapi.compare(newest, revision) then list[#list + 1] = revision end
    end
    supported_cache = { newest = newest, list = list, text = concat(list, ", ") }
  end
  return supported_cache
end

-- The document serving the request's x-api-version, or nil and a 400.
local function api_version(headers)
  local wanted = headers["x-api-version"]
  local supported = supported_list()
  local listed = " Supported versions: " .. supported.text .. "."
  if type(wanted) ~= "string" or wanted == "" then
    return nil, http.error(400, "NotImplemented", "The x-api-version header is required." .. listed)
  end
  for _, revision in ipairs(supported.list) do
    if revision == wanted then return state.registry.served_by[revision], wanted end
  end
  return nil, http.error(400, "NotImplemented",
    "The specified API version is not supported." .. listed)
end

local function read_body()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then return body end
  local file = ngx.req.get_body_file()
  if not file then return nil end
  local f = io.open(file, "rb")
  if not f then return nil end
  body = f:read("*a")
  f:close()
  return body
end

local function allowed(document, route, role)
  local roles = document.roles[route.method .. " " .. route.template]
  return roles == nil or roles[role] == true
end

local function process(server, method, path, now)
  local headers = ngx.req.get_headers(100)
  local document, revision_or_error = api_version(headers)
  if not document then return revision_or_error end
  local route, params = match(method, path)
  if not route then
    if params then
      return http.error(405, "MethodNotAllowed", method .. " is not allowed on " .. path .. ".")
    end
    return http.error(404, "NotFound", "The resource " .. path .. " was not found.")
  end
  if not document:operation(method, route.template) then
    return http.error(404, "NotFound",
      route.template .. " does not exist in revision " .. document.revision .. ".")
  end
  local key = method .. " " .. route.template
  state.counters.routes[key] = (state.counters.routes[key] or 0) + 1
  local req = { method = method, path = path, route = route, params = params, headers = headers,
                now = now, document = document, revision = revision_or_error }
  req.body = read_body()
  state.use(server)                     -- reading the body may have yielded
  if not route.public then
    local user, refusal = auth.authenticate(req)
    if not user then
      local refused = state.counters.unauthorized
      refused[key] = (refused[key] or 0) + 1
      return refusal
    end
    req.user = user
    if not allowed(document, route, user.role) then
      return http.error(403, "AccessDenied",
        "The user " .. user.name .. " does not have the rights for " .. key .. ".")
    end
  end
  if params.id and not util.is_uuid(params.id) then
    return http.bad_request("id", "must be a uuid")
  end
  local raw_args = ngx.req.get_uri_args(100)
  local args, problem = listing.parse_query(document, method, route.template, raw_args)
  if not args then return http.bad_request(nil, problem) end
  req.args = args
  return route.handler(req)
end

local function send(response)
  local body, content_type = http.render(response)
  ngx.status = response.status
  for name, value in pairs(response.headers) do ngx.header[name] = value end
  if content_type then ngx.header["Content-Type"] = content_type end
  ngx.header["Content-Length"] = #body
  -- Headers go out first so that nginx never swaps an empty error body for its own page.
  ngx.send_headers()
  if #body > 0 then ngx.print(body) end
  return ngx.exit(ngx.HTTP_OK)
end

-- A raw fault's answer: any status, headers and bytes (parts repeat text or
-- base64-decoded bytes, for huge, deeply nested or non-UTF-8 bodies).
local function raw_response(rule)
  local parts = { rule.body or "" }
  for _, part in ipairs(rule.parts or {}) do
    local text = part.base64 and ngx.decode_base64(part.base64) or part.text
    parts[#parts + 1] = text:rep(part.count or 1)
  end
  local headers = {}
  for name, value in pairs(rule.headers or {}) do headers[name] = value end
  local response = http.response(rule.status or 200, concat(parts), headers)
  response.content_type = rule.content_type or "application/json; charset=utf-8"
  return response
end

-- What a "before" fault answers instead of the server.
local function fault_response(rule)
  if rule.kind == "reset_before" then return nil end
  if rule.kind == "raw" then return raw_response(rule) end
  if rule.kind == "empty_401" then
    return http.response(401, nil, { ["WWW-Authenticate"] = "Bearer" })
  end
  if rule.kind == "html_error" then
    local status = rule.status or 502
    local page = ("<html><head><title>%d Error</title></head><body><h1>%d Error</h1>"
      .. "<p>The server encountered a temporary error.</p></body></html>"):format(status, status)
    local response = http.response(status, page)
    response.content_type = "text/html; charset=utf-8"
    return response
  end
  local status = rule.status
  local codes = { [503] = "ServiceUnavailable", [429] = "ServiceUnavailable" }
  local response = http.error(status, codes[status] or "UnknownError",
    rule.message or ("Simulated HTTP " .. status .. " answer."))
  local retry_after = rule.retry_after or ((status == 503 or status == 429) and 1 or nil)
  if retry_after then response.headers["Retry-After"] = tostring(floor(retry_after)) end
  return response
end

-- A copy of a patch value, "{authorization}" in its texts replaced by the
-- request's Authorization header (a server that echoes it).
local function echoed(value, authorization)
  if type(value) == "string" then
    return (value:gsub("{authorization}", function() return authorization end))
  end
  if type(value) ~= "table" then return value end
  local out = state.copy(value)
  for k, v in pairs(out) do out[k] = echoed(v, authorization) end
  return out
end

-- Replaces members of a processed JSON answer (of item `item` of its data
-- list, when given): hostile ids and texts in otherwise real answers.
local function patch(response, rule)
  local target = response.body
  if rule.item and type(target) == "table" and type(target.data) == "table" then
    target = target.data[rule.item]
  end
  if type(target) ~= "table" then return end
  local authorization = ngx.req.get_headers()["authorization"] or ""
  for name, value in pairs(rule.set) do target[name] = echoed(value, authorization) end
end

-- Damages the answer of a processed request; returns false when the
-- connection must be dropped instead.
local function damage(response, rule)
  if rule.kind == "reset_after" then return false end
  if rule.kind == "patch" then
    patch(response, rule)
    return true
  end
  if rule.kind == "malformed_json" then
    response.body = '{"errorCode": "UnknownError", "message": "unterminated,, }'
  elseif rule.kind == "truncated_json" then
    local body = http.render(response)
    response.body = body:sub(1, max(1, floor(#body / 2)))
  end
  response.content_type = "application/json; charset=utf-8"
  return true
end

-- Declares the full length, sends half, closes: the client sees a short read.
local function send_short(response)
  local body, content_type = http.render(response)
  ngx.status = response.status
  if content_type then ngx.header["Content-Type"] = content_type end
  ngx.header["Content-Length"] = #body + 16
  ngx.print(body:sub(1, floor(#body / 2)))
  ngx.flush(true)
  return ngx.exit(444)
end

-- Headers at once, then the body `bytes` at a time every `ms`: a server that
-- trickles, so only the client's total timeout ends the exchange.
local function send_trickle(response, rule)
  local body, content_type = http.render(response)
  ngx.status = response.status
  for name, value in pairs(response.headers) do ngx.header[name] = value end
  if content_type then ngx.header["Content-Type"] = content_type end
  ngx.header["Content-Length"] = #body
  ngx.send_headers()
  ngx.flush(true)
  local step = max(1, floor(rule.bytes or 1))
  for i = 1, #body, step do
    ngx.sleep((rule.ms or 200) / 1000)
    if not ngx.print(body:sub(i, i + step - 1)) or not ngx.flush(true) then
      return ngx.exit(444)
    end
  end
  return ngx.exit(ngx.HTTP_OK)
end

local function count(method, path)
  local counters = state.counters
  local key = method .. " " .. path
  counters.requests[key] = (counters.requests[key] or 0) + 1
  counters.total = counters.total + 1
  -- The first request of a connection: kept-alive reuse is not counted again.
  if tonumber(ngx.var.connection_requests) == 1 then
    counters.connections = counters.connections + 1
  end
end

-- The server a request (or a TLS handshake) is for: the one on its port.
function router.server(port)
  return state.use(state.server_on_port(port) or state.server(1))
end

-- content_by_lua entry of the HTTPS server.
function router.handle()
  ngx.update_time()
  local server = router.server(ngx.var.server_port)
  state.sample_connections(tonumber(ngx.var.connections_active))
  local method, path = ngx.req.get_method(), ngx.var.uri
  count(method, path)
  recorder.record(method, path)
  state.use(server)                     -- recording reads the body: it may yield
  -- latency (every answer) and a delay fault: other requests run meanwhile
  local wait = state.settings.latency_ms
  local delay = faults.take("delay", method, path)
  if delay then wait = wait + delay.ms end
  if wait > 0 then
    ngx.sleep(wait / 1000)
    state.use(server)
  end
  local fault = faults.take(faults.answer_kinds, method, path)
  if fault and faults.stage(fault) == "before" then
    local response = fault_response(fault)
    if not response then return ngx.exit(444) end
    return send(response)
  end
  ngx.update_time()
  local response = process(server, method, path, ngx.now())
  if fault then
    if fault.kind == "short_body" then return send_short(response) end
    if fault.kind == "trickle" then return send_trickle(response, fault) end
    if fault.kind == "raw_after" then return send(raw_response(fault)) end
    if not damage(response, fault) then return ngx.exit(444) end
  end
  return send(response)
end

-- ssl_certificate_by_lua entry: runs once per full TLS handshake.
function router.count_handshake()
  router.server(ssl.server_port())
  state.counters.tls_handshakes = state.counters.tls_handshakes + 1
end

return router
