--- JSON for people: `vbr.json` writes it (arrays, nulls and long integers
-- stay exact), this module re-indents that text with object keys sorted, so
-- an exported file is stable and diffs well.
--
--     {
--       "isEnabled": true,
--       "schedule": {
--         "daily": {
--           "days": ["monday", "tuesday"],
-- @module vbr.cli.json_pretty

local json = require "vbr.json"

local ipairs = ipairs
local byte, find, sub, match, gsub, rep = string.byte, string.find, string.sub, string.match,
                                          string.gsub, string.rep
local concat, sort = table.concat, table.sort

local json_pretty = {}

-- Longest array of plain values kept on one line.
local FLAT_WIDTH = 72

local QUOTE, BACKSLASH, OPEN_BRACE, OPEN_BRACKET = 34, 92, 123, 91

-- cjson writes "/" as "\/"; read escapes pairwise so that "\\/" stays.
local function unescape_slashes(text)
  return (gsub(text, "\\(.)", function(c) return c == "/" and "/" or "\\" .. c end))
end

-- Parses text that cjson wrote (valid JSON, no whitespace) into nodes that
-- keep every scalar as its original text.
local parse_value

local function parse_string(text, pos)
  local scan = pos + 1
  while true do
    local at = find(text, '["\\]', scan)
    if byte(text, at) == BACKSLASH then
      scan = at + 2
    else
      return unescape_slashes(sub(text, pos, at)), at + 1
    end
  end
end

local function parse_object(text, pos)
  local members = {}
  pos = pos + 1
  if sub(text, pos, pos) == "}" then return { members = members }, pos + 1 end
  while true do
    local key, value
    key, pos = parse_string(text, pos)
    value, pos = parse_value(text, pos + 1)          -- skip ':'
    members[#members + 1] = { key = key, value = value }
    local separator = sub(text, pos, pos)
    pos = pos + 1
    if separator == "}" then return { members = members }, pos end
  end
end

local function parse_array(text, pos)
  local items = {}
  pos = pos + 1
  if sub(text, pos, pos) == "]" then return { items = items }, pos + 1 end
  while true do
    items[#items + 1], pos = parse_value(text, pos)
    local separator = sub(text, pos, pos)
    pos = pos + 1
    if separator == "]" then return { items = items }, pos end
  end
end

function parse_value(text, pos)
  local first = byte(text, pos)
  if first == OPEN_BRACE then return parse_object(text, pos) end
  if first == OPEN_BRACKET then return parse_array(text, pos) end
  if first == QUOTE then
    local raw, after = parse_string(text, pos)
    return { raw = raw }, after
  end
  local raw = match(text, "^[^,%]}]+", pos)
  return { raw = raw }, pos + #raw
end

local write

local function is_flat(node)
  for _, item in ipairs(node.items) do
    if not item.raw then return false end
  end
  return true
end

function write(node, depth, out)
  if node.raw then
    out[#out + 1] = node.raw
  elseif node.items then
    if #node.items == 0 then out[#out + 1] = "[]" return end
    if is_flat(node) then                 -- ["monday", "friday"] on one line
      local raws = {}
      for i, item in ipairs(node.items) do raws[i] = item.raw end
      local line = "[" .. concat(raws, ", ") .. "]"
      if #line <= FLAT_WIDTH then out[#out + 1] = line return end
      -- Too long: fill lines, several values to a line.
      local inner, lines, current = rep("  ", depth + 1), {}, nil
      for _, raw in ipairs(raws) do
        if current and #current + 2 + #raw > FLAT_WIDTH then
          lines[#lines + 1] = current
          current = nil
        end
        current = current and (current .. ", " .. raw) or raw
      end
      lines[#lines + 1] = current
      out[#out + 1] = "[\n" .. inner .. concat(lines, ",\n" .. inner) .. "\n"
        .. rep("  ", depth) .. "]"
      return
    end
    local inner = rep("  ", depth + 1)
    out[#out + 1] = "[\n"
    for i, item in ipairs(node.items) do
      out[#out + 1] = inner
      write(item, depth + 1, out)
      out[#out + 1] = i < #node.items and ",\n" or "\n"
    end
    out[#out + 1] = rep("  ", depth) .. "]"
  else
    local members = node.members
    if #members == 0 then out[#out + 1] = "{}" return end
    sort(members, function(a, b) return a.key < b.key end)
    local inner = rep("  ", depth + 1)
    out[#out + 1] = "{\n"
    for i, member in ipairs(members) do
      out[#out + 1] = inner .. member.key .. ": "
      write(member.value, depth + 1, out)
      out[#out + 1] = i < #members and ",\n" or "\n"
    end
    out[#out + 1] = rep("  ", depth) .. "}"
  end
end

--- A Lua value as indented JSON with sorted keys and a final newline.
-- @return the text, or `nil` and why `vbr.json` could not encode the value
function json_pretty.encode(value)
  local text, why = json.encode(value)
  if not text then return nil, why end
  local out = {}
  write((parse_value(text, 1)), 0, out)
  out[#out + 1] = "\n"
  return concat(out)
end

return json_pretty
