-- The encoder of vbr.json (`json.encode`, `json.encode_pretty`), loaded by
-- it on first use with lua-cjson, which escapes the strings; not required
-- directly.

local cjson = require "cjson"
local core = require "vbr.core"

local type, pairs, next, getmetatable, error, pcall, tonumber, tostring =
      type, pairs, next, getmetatable, error, pcall, tonumber, tostring
local find, gsub, format = string.find, string.gsub, string.format
local concat, sort, rep = table.concat, table.sort, string.rep
local floor, huge, math_type = math.floor, math.huge, math.type

local codec = cjson.new()       -- private settings, whoever else uses cjson
local encode_string = codec.encode

local null = core.json_null
local array_mt = core.json_array_mt
local nulls_of = core.json_nulls

local encoder = {}

local MAX_DEPTH = 200          -- as the decoder's

-- A string as cjson writes it, but "/" for "\/" (escapes are read
-- pairwise, so that "\\/" stays).
local function write_string(s)
  local text = encode_string(s)
  if find(text, "\\/", 1, true) then
    text = gsub(text, "\\(.)", function(c) return c == "/" and "/" or "\\" .. c end)
  end
  return text
end

local FLOAT_FORMATS = { "%.14g", "%.15g", "%.16g", "%.17g" }

-- Whole numbers as digits (exact), others with the fewest digits that read
-- back as the same double.
local function write_number(n)
  if n ~= n or n == huge or n == -huge then
    error("cannot encode " .. tostring(n) .. ": JSON has no NaN or infinity", 0)
  end
  if math_type and math_type(n) == "integer" then return format("%d", n) end
  if n == floor(n) and n >= -2^63 and n < 2^63 then return format("%.0f", n) end
  local text
  for i = 1, #FLOAT_FORMATS do
    text = format(FLOAT_FORMATS[i], n)
    if tonumber(text) == n then break end
  end
  if find(text, ",", 1, true) then text = gsub(text, ",", ".") end   -- a locale's
  return text
end

-- The written key of a member: cjson's rule, strings and numbers only.
local function write_key(key)
  local kind = type(key)
  if kind == "string" then return write_string(key) end
  if kind == "number" then return '"' .. write_number(key) .. '"' end
  error("cannot encode a table key of type " .. kind, 0)
end

-- The length of `t` when it is written as an array, else nil: marked
-- tables, and (cjson's rule) unmarked ones with positive integer keys only
-- that are not excessively sparse.
local function array_length(t)
  if getmetatable(t) == array_mt then return #t end
  if next(t) == nil then return nil end
  local max, count = 0, 0
  for key in pairs(t) do
    if type(key) ~= "number" or key < 1 or key ~= floor(key) then return nil end
    if key > max then max = key end
    count = count + 1
  end
  if max > 10 and max > 2 * count then
    error("cannot encode an excessively sparse array", 0)
  end
  return max
end

-- Arrays of plain values up to this width stay on one line (pretty).
local FLAT_WIDTH = 72

local write

-- The members of `t` (remembered nulls too): written keys, and values by
-- written key; sorted when `sorted`.
local function members(t, sorted)
  local keys, values = {}, {}
  for key, value in pairs(t) do
    local text = write_key(key)
    keys[#keys + 1] = text
    values[text] = value
  end
  local nulls = nulls_of[t]
  if nulls then
    for key in pairs(nulls) do
      if t[key] == nil then
        local text = write_key(key)
        keys[#keys + 1] = text
        values[text] = null
      end
    end
  end
  if sorted then sort(keys) end
  return keys, values
end

local function write_table(t, out, depth, indent)
  if depth > MAX_DEPTH then
    error("cannot encode: nested deeper than " .. MAX_DEPTH .. " (a cycle?)", 0)
  end
  local length = array_length(t)
  local inner = indent and "\n" .. rep(indent, depth + 1)
  local close = indent and "\n" .. rep(indent, depth) or ""
  if length then
    if length == 0 then out[#out + 1] = "[]" return end
    if indent then                 -- plain values on one line when short
      local flat = {}
      for i = 1, length do
        local item = t[i]
        if type(item) == "table" then flat = nil break end
        local part = {}
        write(item == nil and null or item, part, depth + 1)
        flat[i] = part[1]
      end
      local line = flat and "[" .. concat(flat, ", ") .. "]"
      if line and #line <= FLAT_WIDTH then out[#out + 1] = line return end
    end
    out[#out + 1] = "["
    for i = 1, length do
      if i > 1 then out[#out + 1] = "," end
      if inner then out[#out + 1] = inner end
      local item = t[i]
      write(item == nil and null or item, out, depth + 1, indent)
    end
    out[#out + 1] = close .. "]"
    return
  end
  local keys, values = members(t, indent ~= nil)
  if #keys == 0 then out[#out + 1] = "{}" return end
  out[#out + 1] = "{"
  local colon = indent and ": " or ":"
  for i = 1, #keys do
    if i > 1 then out[#out + 1] = "," end
    if inner then out[#out + 1] = inner end
    out[#out + 1] = keys[i] .. colon
    write(values[keys[i]], out, depth + 1, indent)
  end
  out[#out + 1] = close .. "}"
end

-- Appends the text of `value` to `out`; `indent` (a string) for people.
write = function(value, out, depth, indent)
  local kind = type(value)
  if kind == "string" then
    out[#out + 1] = write_string(value)
  elseif kind == "number" then
    out[#out + 1] = write_number(value)
  elseif kind == "boolean" then
    out[#out + 1] = value and "true" or "false"
  elseif value == null then
    out[#out + 1] = "null"
  elseif kind == "table" then
    write_table(value, out, depth, indent)
  else
    error("cannot encode a value of type " .. kind, 0)
  end
end

local function encode(value, indent)
  local out = {}
  write(value, out, 0, indent)
  if indent then out[#out + 1] = "\n" end
  return concat(out)
end

-- A Ctrl-C raised while encoding (core.interrupt.ERROR, in the command line
-- or the REPL) is no encoding failure: it goes on up.
local interrupt = core.interrupt
local function failed(message)
  if interrupt and message == interrupt.ERROR then error(message, 0) end
  return nil, message
end

-- Encodes a Lua value as JSON text; `nil, message` when it cannot be.
function encoder.encode(value)
  local ok, text = pcall(encode, value)
  if not ok then return failed(text) end
  return text
end

-- Encodes like `encode`, for people: indented, object keys sorted, short
-- arrays on one line, a final newline; stable, so files diff well.
function encoder.encode_pretty(value)
  local ok, text = pcall(encode, value, "  ")
  if not ok then return failed(text) end
  return text
end

return encoder
