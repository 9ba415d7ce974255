--- JSON that survives a round trip through Lua tables.
--
-- Debian's lua-cjson 2.1.0 decodes `[]` and `{}` alike to an empty table,
-- turns `null` into the light userdata `cjson.null`, and writes numbers with
-- 14 significant digits. A GET-edit-PUT of the configuration backup must send
-- back what it received, so this module wraps cjson (which still does all
-- the parsing and writing) with three small repairs:
--
-- * arrays carry `json.array_mt`, so an empty one is written back as `[]`;
-- * a `null` member becomes `nil` in the table and is remembered, so it is
--   written back as `null` unless the caller has set a value meanwhile;
-- * integers too long for cjson's 14 digits are written exactly.
--
-- `null` inside an array stays `json.null`, since `nil` cannot sit in a
-- sequence.
-- @module vbr.json

local cjson = require "cjson"

local type, pairs, ipairs, next, getmetatable, setmetatable =
      type, pairs, ipairs, next, getmetatable, setmetatable
local find, match, sub, gsub, byte, format =
      string.find, string.match, string.sub, string.gsub, string.byte, string.format
local concat, sort, rep = table.concat, table.sort, string.rep
local floor, huge = math.floor, math.huge

local codec = cjson.new()       -- private settings, whoever else uses cjson
codec.decode_max_depth(200)
codec.encode_max_depth(200)

local json = {}

--- The value that stands for `null` inside arrays (cjson's).
json.null = codec.null

--- Metatable of the tables that are JSON arrays.
json.array_mt = { __name = "vbr.json.array" }
local array_mt = json.array_mt

-- Keys whose value was `null`, per decoded object; weak, so they go with it.
local nulls_of = setmetatable({}, { __mode = "k" })

-- A JSON string that stands in for what cjson cannot express; it starts with
-- NUL, which no VBR value contains (cjson writes it as \u0000).
local MARK = "\0vbr:"
local EMPTY_ARRAY = MARK .. "[]"
local WRITTEN_MARK = '"\\u0000vbr:'

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

-- Replaces every `[]` outside strings with the EMPTY_ARRAY mark; cjson would
-- otherwise make it indistinguishable from `{}`.
local function mark_empty_arrays(text)
  if not find(text, "%[%s*%]") then return text end
  local parts, n, copied = {}, 0, 1
  local pos = 1
  while true do
    local at = find(text, '[%["]', pos)
    if not at then break end
    if byte(text, at) == 34 then                 -- skip a string
      local scan = at + 1
      while true do
        local q = find(text, '["\\]', scan)
        if not q then return text end            -- unterminated: cjson says so
        if byte(text, q) == 92 then
          scan = q + 2
        else
          pos = q + 1
          break
        end
      end
    else
      local close = match(text, "^%[%s*()%]", at)
      if close then
        parts[n + 1] = sub(text, copied, at - 1)
        parts[n + 2] = '"\\u0000vbr:[]"'
        n = n + 2
        copied = close + 1
      end
      pos = (close or at) + 1
    end
  end
  parts[n + 1] = sub(text, copied)
  return concat(parts)
end

-- cjson 2.1.0 reads every number as a float; on Lua 5.3+ whole numbers
-- become integers again, so that 10 prints as 10, not 10.0.
local tointeger = math.tointeger or function(n) return n end

-- True when `text` holds `open` ("[" or "{"), blanks, and its closing
-- bracket, anywhere (in strings too); plain finds are much faster than one
-- unanchored pattern.
local function has_empty(text, open, empty_pattern)
  local at = find(text, open, 1, true)
  while at do
    if find(text, empty_pattern, at) then return true end
    at = find(text, open, at + 1, true)
  end
  return false
end

local null = codec.null

-- Marks arrays, turns object nulls into remembered nils, restores empty
-- arrays and integers; in place. With `empty_is_array` (the text had no
-- `{}`), every empty table is an empty array.
local function restore(value, empty_is_array)
  if value[1] ~= nil then                        -- cjson arrays are dense
    for i = 1, #value do
      local item = value[i]
      local kind = type(item)
      if kind == "table" then
        restore(item, empty_is_array)
      elseif kind == "number" then
        value[i] = tointeger(item) or item
      elseif item == EMPTY_ARRAY then
        value[i] = setmetatable({}, array_mt)
      end
    end
    return setmetatable(value, array_mt)
  end
  if empty_is_array and next(value) == nil then return setmetatable(value, array_mt) end
  for key, member in pairs(value) do
    local kind = type(member)
    if kind == "table" then
      restore(member, empty_is_array)
    elseif kind == "number" then
      value[key] = tointeger(member) or member
    elseif member == null then
      json.set_null(value, key)
    elseif member == EMPTY_ARRAY then
      value[key] = setmetatable({}, array_mt)
    end
  end
  return value
end

--- Decodes JSON text; `nil, message` when it is not valid JSON.
function json.decode(text)
  if type(text) ~= "string" then
    return nil, "expected JSON text, got " .. type(text)
  end
  -- Only text with both an empty array and an empty object needs the
  -- scanner that tells them apart; otherwise every empty table cjson makes
  -- is of the one kind the text has.
  local empty_is_array = has_empty(text, "[", "^%[%s*%]")
  if empty_is_array and has_empty(text, "{", "^{%s*}") then
    text = mark_empty_arrays(text)
    empty_is_array = false
  end
  local ok, value = pcall(codec.decode, text)
  if not ok then return nil, value end
  if type(value) == "table" then return restore(value, empty_is_array) end
  if value == EMPTY_ARRAY then return setmetatable({}, array_mt) end
  if type(value) == "number" then return tointeger(value) or value end
  return value
end

-- A copy of `value` that cjson writes faithfully: marks for empty arrays and
-- long integers, `null` for remembered nulls.
local function prepare(value)
  local kind = type(value)
  if kind == "number" then
    if value == floor(value) and (value >= 1e14 or value <= -1e14)
        and value < huge and value > -huge then
      return MARK .. format("%.0f", value)
    end
    return value
  elseif kind == "string" then
    if sub(value, 1, #MARK) == MARK then
      error("string value begins with a reserved NUL mark", 0)
    end
    return value
  elseif kind ~= "table" then
    return value
  end
  local copy = {}
  if getmetatable(value) == array_mt then
    if value[1] == nil and next(value) == nil then return EMPTY_ARRAY end
    for i = 1, #value do copy[i] = prepare(value[i]) end
    return copy
  end
  for key, member in pairs(value) do copy[key] = prepare(member) end
  local nulls = nulls_of[value]
  if nulls then
    for key in pairs(nulls) do
      if value[key] == nil then copy[key] = codec.null end
    end
  end
  return copy
end

local function encode_prepared(value)
  return codec.encode(prepare(value))
end

--- Encodes a Lua value as JSON text; `nil, message` when it cannot be.
function json.encode(value)
  local ok, text = pcall(encode_prepared, value)
  if not ok then return nil, text end
  if find(text, WRITTEN_MARK, 1, true) then
    text = gsub(text, '"\\u0000vbr:([^"]*)"', "%1")
  end
  return text
end

-- A scalar of a prepared value, as cjson writes it, marks resolved and
-- "\/" written "/" (escapes are read pairwise so that "\\/" stays).
local function write_scalar(value)
  local text = codec.encode(value)
  if find(text, WRITTEN_MARK, 1, true) then
    return (gsub(text, '^"\\u0000vbr:(.*)"$', "%1"))
  end
  if find(text, "\\/") then
    text = gsub(text, "\\(.)", function(c) return c == "/" and "/" or "\\" .. c end)
  end
  return text
end

-- Arrays of plain values up to this width stay on one line.
local FLAT_WIDTH = 72

local function write_pretty(value, depth, out)
  if type(value) ~= "table" then
    out[#out + 1] = write_scalar(value)
    return
  end
  local inner = rep("  ", depth + 1)
  if value[1] ~= nil then                         -- an array (prepare kept it dense)
    local flat = {}
    for i = 1, #value do
      if type(value[i]) == "table" then flat = nil break end
      flat[i] = write_scalar(value[i])
    end
    local line = flat and "[" .. concat(flat, ", ") .. "]"
    if line and #line <= FLAT_WIDTH then
      out[#out + 1] = line
      return
    end
    out[#out + 1] = "[\n"
    for i = 1, #value do
      out[#out + 1] = inner
      write_pretty(value[i], depth + 1, out)
      out[#out + 1] = i < #value and ",\n" or "\n"
    end
    out[#out + 1] = rep("  ", depth) .. "]"
    return
  end
  local keys = {}
  for key in pairs(value) do keys[#keys + 1] = key end
  if #keys == 0 then
    out[#out + 1] = "{}"
    return
  end
  sort(keys)
  out[#out + 1] = "{\n"
  for i, key in ipairs(keys) do
    out[#out + 1] = inner .. write_scalar(key) .. ": "
    write_pretty(value[key], depth + 1, out)
    out[#out + 1] = i < #keys and ",\n" or "\n"
  end
  out[#out + 1] = rep("  ", depth) .. "}"
end

local function encode_pretty_prepared(value)
  local out = {}
  write_pretty(prepare(value), 0, out)
  out[#out + 1] = "\n"
  return concat(out)
end

--- Encodes like `encode`, for people: indented, object keys sorted, short
-- arrays on one line, a final newline; stable, so files diff well.
function json.encode_pretty(value)
  local ok, text = pcall(encode_pretty_prepared, value)
  if not ok then return nil, text end
  return text
end

return json
