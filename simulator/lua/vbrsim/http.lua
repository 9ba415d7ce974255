-- Responses as plain tables: handlers build them, the router sends them, so a
-- fault can still change or drop an answer after the request was processed.
local json = require "vbrsim.json"

local http = {}

-- {status, body (table -> JSON, string -> as is), content_type, headers}
function http.response(status, body, headers)
  return { status = status, body = body, headers = headers or {} }
end

function http.json(status, value)
  return http.response(status, value)
end

-- The Error model every documented failure uses.
function http.error(status, code, message, resource_id)
  local body = json.object { errorCode = code, message = message }
  if resource_id then body.resourceId = resource_id end
  return http.response(status, body)
end

-- A 400 naming the offending field path.
function http.bad_request(path, message)
  if path and path ~= "" then message = path .. ": " .. message end
  return http.error(400, "UnexpectedContent", message)
end

-- Encoded body text and content type of a response.
function http.render(response)
  local body = response.body
  if body == nil then return "", response.content_type end
  if type(body) == "string" then return body, response.content_type or "text/plain" end
  return json.encode(body), response.content_type or "application/json; charset=utf-8"
end

return http
