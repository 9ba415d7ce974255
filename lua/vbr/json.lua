--- JSON that survives a round trip through Lua tables.
--
-- Decoding is the core's strict decoder (src/json.c, `core.json_decode`),
-- which makes these tables directly; encoding writes them back, with
-- lua-cjson escaping the strings. Debian's lua-cjson 2.1.0 alone cannot keep
-- `[]` and `{}` apart, turns `null` into a light userdata and writes numbers
-- with 14 significant digits, so:
--
-- * arrays carry `json.array_mt`, so an empty one is written back as `[]`;
-- * a `null` member becomes `nil` in the table and is remembered, so it is
--   written back as `null` unless the caller has set a value meanwhile;
-- * numbers are exact: integers as integers (Lua 5.3+), every number written
--   with the digits that read back as the same value.
--
-- Nothing is marked in-band: any string a server sends is written back as
-- it came. `null` inside an array stays `json.null`, since `nil` cannot sit
-- in a sequence.
-- @module vbr.json

local core = require "vbr.core"

local type, pairs, getmetatable, setmetatable = type, pairs, getmetatable, setmetatable
local floor = math.floor

local core_decode = core.json_decode

local json = {}

--- The value that stands for `null` inside arrays (cjson's).
json.null = core.json_null

--- Metatable of the tables that are JSON arrays.
json.array_mt = core.json_array_mt
local array_mt = json.array_mt

-- Keys whose value was `null`, per decoded object; weak, so they go with it.
local nulls_of = core.json_nulls

--- Marks `t` (default: a new table) as a JSON array and returns it.
function json.array(t)
  return setmetatable(t or {}, array_mt)
end

--- True when `t` is a table marked as a JSON array.
function json.is_array(t)
  return getmetatable(t) == array_mt
end

--- Remembers that member `key` of `object` is `null` on the wire.
function json.set_null(object, key)
  local keys = nulls_of[object]
  if not keys then
    keys = {}
    nulls_of[object] = keys
  end
  keys[key] = true
  object[key] = nil
end

--- True when member `key` of `object` was `null` and is still unset.
function json.is_null(object, key)
  local keys = nulls_of[object]
  return keys ~= nil and keys[key] == true and object[key] == nil
end

--- A deep copy of `value` that keeps array marks and remembered nulls at
-- every level; anything but a table comes back as it is. The one deep copy
-- of the library.
function json.copy(value)
  if type(value) ~= "table" then return value end
  local out = {}
  for key, member in pairs(value) do out[key] = json.copy(member) end
  local nulls = nulls_of[value]
  if nulls then
    local keys = {}
    for key in pairs(nulls) do keys[key] = true end
    nulls_of[out] = keys
  end
  return setmetatable(out, getmetatable(value))
end

--- True when `value` is a number without a fraction: JSON Schema's
-- `integer` (10.0 counts, as the API's own parser reads it). The one
-- integer test of the library.
function json.is_integer(value)
  return type(value) == "number" and value == floor(value) and value - 1 ~= value
end

--- Decodes JSON text; `nil, message` (naming the position) when it is not
-- valid JSON (RFC 8259).
function json.decode(text)
  if type(text) ~= "string" then
    return nil, "expected JSON text, got " .. type(text)
  end
  return core_decode(text)
end

-- The encoder, and lua-cjson that escapes its strings, load on first use
-- (vbr.json.encode): a process that only reads needs neither.
local encoder

--- Encodes a Lua value as JSON text; `nil, message` when it cannot be.
function json.encode(value)
  encoder = encoder or require "vbr.json.encode"
  return encoder.encode(value)
end

--- Encodes like `encode`, for people: indented, object keys sorted, short
-- arrays on one line, a final newline; stable, so files diff well.
function json.encode_pretty(value)
  encoder = encoder or require "vbr.json.encode"
  return encoder.encode_pretty(value)
end

return json
