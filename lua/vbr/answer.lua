--- What a server answered, checked before any of it is used.
--
-- Server data is untrusted input: a decoded answer of the wrong shape (an
-- array where an object belongs, an id that is no UUID) becomes an error of
-- kind `decode` naming what was expected, never a Lua error further on, and
-- never a path, a query or a decision.
-- @module vbr.answer

local json = require "vbr.json"

local type, ipairs, format = type, ipairs, string.format

local answer = {}

--- True for a decoded JSON object (not an array, not `null`).
local function is_object(value)
  return type(value) == "table" and value ~= json.null and not json.is_array(value)
end
answer.is_object = is_object

--- How a decoded value reads in an error: "an array", "a string", ... (never
-- the value itself: it is server text).
function answer.describe(value)
  if value == nil then return "nothing" end
  if value == json.null then return "null" end
  if value == true then return "true or an empty body" end   -- Client:request's empty body
  if value == false then return "false" end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return "a " .. type(value)
end

--- The error for an answer of the wrong shape.
-- @tparam table client the `vbr` client
-- @tparam string method the request's method
-- @tparam string path the request's path
-- @tparam string problem what is wrong, e.g. "expected a session, got an array"
function answer.unexpected(client, method, path, problem)
  return client:new_error {
    kind = "decode", method = method, path = path, retryable = false,
    outcome_unknown = false, message = "unexpected answer: " .. problem,
  }
end

--- The answer as a JSON object, or `nil, err`.
-- @tparam table client the `vbr` client
-- @tparam string method the request's method
-- @tparam string path the request's path
-- @param value the decoded answer
-- @tparam string what what the object is, for the error ("the settings")
function answer.object(client, method, path, value, what)
  if is_object(value) then return value end
  return nil, answer.unexpected(client, method, path,
    format("expected %s (a JSON object), got %s", what, answer.describe(value)))
end

--- The `data` array of a paged answer (`{data = [...], pagination = {...}}`),
-- each item checked, or `nil, err`.
-- @tparam table client the `vbr` client
-- @tparam string method the request's method
-- @tparam string path the request's path
-- @param value the decoded answer
-- @tparam string what the items, for the error ("sessions")
-- @tparam function item_problem returns nil for a good item, or what is wrong
--   with it ("its id is not a UUID")
function answer.list(client, method, path, value, what, item_problem)
  local problem
  if not answer.is_object(value) then
    problem = format("expected a list of %s (a JSON object with data), got %s", what,
      answer.describe(value))
  elseif not json.is_array(value.data) then
    problem = format("expected a list of %s: data is %s, not an array", what,
      answer.describe(value.data))
  else
    for i, item in ipairs(value.data) do
      local why = item_problem(item)
      if why then
        problem = format("item %d of the %s: %s", i, what, why)
        break
      end
    end
  end
  if problem then return nil, answer.unexpected(client, method, path, problem) end
  return value.data
end

return answer
