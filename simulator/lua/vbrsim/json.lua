-- JSON for the simulator: a thin adapter over Debian's lua-dkjson, which keeps
-- what lua-cjson 2.1.0 loses ([] and {} stay distinct through metatables, null
-- stays a value). dkjson runs without LPeg (require "dkjson" never loads it;
-- use_lpeg() is never called). Its plain scanner is lenient ([1 2], trailing
-- commas and comments pass), so a strict lua-cjson instance checks the syntax
-- first: a strict server refuses what the client should never send.
-- Works in nginx's LuaJIT and in the specs (Lua 5.1 to 5.4).
local dkjson = require "dkjson"
local cjson = require "cjson"

local json = {}

local type, pairs, next, pcall = type, pairs, next, pcall
local setmetatable, getmetatable = setmetatable, getmetatable
local sort = table.sort

local ARRAY = { __jsontype = "array" }
local OBJECT = { __jsontype = "object" }

-- JSON null, distinct from a missing key (dkjson writes it as null).
json.null = dkjson.null

function json.array(t) return setmetatable(t or {}, ARRAY) end
function json.object(t) return setmetatable(t or {}, OBJECT) end

function json.is_array(v)
  local mt = type(v) == "table" and getmetatable(v)
  return mt ~= nil and mt ~= false and mt.__jsontype == "array"
end

-- Decoded objects, json.object tables and plain tables are objects.
function json.is_object(v)
  if type(v) ~= "table" or v == json.null then return false end
  local mt = getmetatable(v)
  return not mt or mt.__jsontype == "object"
end

local strict = cjson.new()
strict.decode_invalid_numbers(false)  -- no hex, inf, nan, leading zeros
strict.decode_max_depth(64)

-- Returns the value, or nil and a message naming the character.
function json.decode(text)
  if type(text) ~= "string" then return nil, "no JSON text" end
  local ok, err = pcall(strict.decode, text)
  if not ok then return nil, err end
  local value, _, problem = dkjson.decode(text, 1, json.null, OBJECT, ARRAY)
  if problem then return nil, problem end
  return value
end

-- Every string key in the tree, for dkjson's keyorder: objects come out with
-- sorted keys, stable text that specs and diffs can rely on. A plain empty
-- table is marked an object (dkjson would write []), as is_object reads it.
-- dkjson writes a table whose keys are all positive integers (or a numeric
-- "n") as an array whatever its metatable; the simulator builds none.
local function collect_keys(t, found, visited)
  if visited[t] then return end
  visited[t] = true
  if getmetatable(t) == nil and next(t) == nil then setmetatable(t, OBJECT) end
  for k, v in pairs(t) do
    if type(k) == "string" then found[k] = true end
    if type(v) == "table" then collect_keys(v, found, visited) end
  end
end

-- dkjson's own error return is lost inside ordered objects: raise at once.
local function refuse(_, _, _, message)
  error("cannot encode as JSON: " .. message, 0)
end

-- Raises on values JSON cannot hold (functions, cycles). Numbers are written
-- as Lua's tostring does (14 significant digits under LuaJIT); NaN and
-- infinities become null.
function json.encode(value)
  local found, order = {}, {}
  if type(value) == "table" then collect_keys(value, found, {}) end
  for k in pairs(found) do order[#order + 1] = k end
  sort(order)
  return dkjson.encode(value, { keyorder = order, exception = refuse })
end

return json
