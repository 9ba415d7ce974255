-- With the setting record_requests on, every API request is appended to
-- requests.jsonl in the instance directory as one JSON line (revision,
-- method, path, query, headers, body), as the server received it, so that
-- specs can check requests with a validator of their own. Secrets never
-- reach the file: the bearer token and the form's password and
-- refresh_token become "REDACTED" (still strings, as sent).
local json = require "vbrsim.json"
local state = require "vbrsim.state"

local recorder = {}

local ngx = ngx
local pairs, io_open = pairs, io.open

-- Set by vbrsim.main from the nginx configuration.
recorder.path = nil

local SECRET_FIELDS = { password = true, refresh_token = true }

local function redact_form(body)
  return (body:gsub("([^&=]+)=([^&]*)", function(name, value)
    local key = ngx.unescape_uri(name:gsub("+", " "))
    if SECRET_FIELDS[key] then return name .. "=REDACTED" end
    return name .. "=" .. value
  end))
end

function recorder.record(method, path)
  if not (state.settings.record_requests and recorder.path) then return end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  local file_name = not body and ngx.req.get_body_file()
  if file_name then
    local f = io_open(file_name, "rb")
    body = f and f:read("*a")
    if f then f:close() end
  end
  local headers = json.object()
  for name, value in pairs(ngx.req.get_headers(100)) do
    if name == "authorization" then
      value = (type(value) == "string" and value:match("^(%S+)") or "?") .. " REDACTED"
    end
    headers[name] = value
  end
  if body and (headers["content-type"] or ""):find("x-www-form-urlencoded", 1, true) then
    body = redact_form(body)
  end
  local line = json.encode(json.object {
    revision = headers["x-api-version"] or json.null,
    method = method, path = path,
    query = ngx.var.args or "",
    headers = headers,
    body = body or json.null,
  })
  local file = io_open(recorder.path, "a")
  if file then
    file:write(line, "\n")
    file:close()
  end
end

return recorder
