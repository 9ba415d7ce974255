--- Lua values as readable, indented trees (for the REPL, the command line
-- and the examples).
--
--     isEnabled: true
--     schedule:
--       daily:
--         days: [monday, tuesday]
--     recipients: []
--
-- Keys are sorted; arrays of plain values stay on one line; `json.null` is
-- written `null`; a table met twice is written `<cycle>` the second time.
-- @module vbr.pretty

local json = require "vbr.json"

local type, pairs, ipairs, next, tostring, getmetatable =
      type, pairs, ipairs, next, tostring, getmetatable
local sort, concat, rep, require = table.sort, table.concat, string.rep, require

local pretty = {}

--- Text safe for a terminal, as `vbr.printable` makes it: every open
-- client's password and tokens scrubbed, control characters (escape
-- sequences among them), C1 and bidirectional controls and bytes that are
-- not UTF-8 written visibly (`\n`, `\u001b`, `\xff`), so that server text
-- cannot move the cursor, retitle the window or hide what follows.
-- @param value any value; a string is escaped, anything else `tostring`ed first
-- @treturn string
function pretty.escape(value)
  -- the core on first use: `vbr --help` and `--version` run without it
  return require("vbr.core").printable(tostring(value))
end

local function scalar(value)
  if value == json.null then return "null" end
  if type(value) == "string" then
    local shown = pretty.escape(value)
    if shown ~= value or value == "" or value:find("^[%s]") or value:find("[%s]$") then
      return '"' .. shown:gsub('"', '\\"') .. '"'
    end
    return value
  end
  return tostring(value)
end

-- Objects that know how to print themselves (errors, clients) are leaves.
local function is_plain(value)
  if type(value) ~= "table" or value == json.null then return true end
  local mt = getmetatable(value)
  return mt ~= nil and mt.__tostring ~= nil
end

local function sorted_keys(t)
  local keys = {}
  for key in pairs(t) do keys[#keys + 1] = key end
  sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
    return type(a) < type(b)
  end)
  return keys
end

local function is_sequence(t)
  local n = #t
  for key in pairs(t) do
    if type(key) ~= "number" or key < 1 or key > n or key % 1 ~= 0 then return false end
  end
  return n > 0 or json.is_array(t)
end

local write

local function write_sequence(t, depth, out, seen)
  local all_plain = true
  for i = 1, #t do
    if not is_plain(t[i]) then all_plain = false break end
  end
  if all_plain then
    local items = {}
    for i = 1, #t do items[i] = scalar(t[i]) end
    return "[" .. concat(items, ", ") .. "]"
  end
  local indent = rep("  ", depth)
  for i = 1, #t do
    local item = t[i]
    if is_plain(item) then
      out[#out + 1] = indent .. "- " .. scalar(item)
    else
      out[#out + 1] = indent .. "-"
      write(item, depth + 1, out, seen)
    end
  end
  return nil
end

function write(t, depth, out, seen)
  if seen[t] then
    out[#out + 1] = rep("  ", depth) .. "<cycle>"
    return
  end
  seen[t] = true
  local indent = rep("  ", depth)
  local keys = sorted_keys(t)
  if #keys == 0 then
    out[#out + 1] = indent .. (json.is_array(t) and "[]" or "{}")
  end
  for _, key in ipairs(keys) do
    local value = t[key]
    local label = indent .. tostring(key) .. ":"
    if is_plain(value) then
      out[#out + 1] = label .. " " .. scalar(value)
    elseif next(value) == nil then
      out[#out + 1] = label .. (json.is_array(value) and " []" or " {}")
    elseif is_sequence(value) then
      local line_at = #out + 1
      out[line_at] = label
      local inline = write_sequence(value, depth + 1, out, seen)
      if inline then out[line_at] = label .. " " .. inline end
    else
      out[#out + 1] = label
      write(value, depth + 1, out, seen)
    end
  end
  seen[t] = nil
end

--- The value as text: a tree for tables, the value itself otherwise.
-- @param value any Lua value
-- @treturn string
function pretty.format(value)
  if is_plain(value) then return scalar(value) end
  local out = {}
  if is_sequence(value) then
    local inline = write_sequence(value, 0, out, {})
    if inline then return inline end
  else
    write(value, 0, out, {})
  end
  return concat(out, "\n")
end

return pretty
