--- What a change of settings changes, field by field.
--
--     restorePointsToKeep: 10 -> 14
--     schedule.daily.days: ["monday", "friday"] -> ["saturday"]
--     notifications.SMTPSettings: (none) -> ...   (objects are walked instead)
--
-- Objects are compared member by member; arrays and plain values as wholes.
-- @internal vbr.cli.diff

local json = require "vbr.json"

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local sort, concat = table.sort, table.concat

local diff = {}

local function is_object(value)
  return type(value) == "table" and value ~= json.null and not json.is_array(value)
end

local function encode(value)
  local text = json.encode(value)
  return text or tostring(value)
end

--- A value as the diff shows it: JSON, with a space after each comma of an
-- array; `(none)` for an absent value.
function diff.show(value)
  if value == nil then return "(none)" end
  if json.is_array(value) then
    local items = {}
    for i, item in ipairs(value) do items[i] = encode(item) end
    return "[" .. concat(items, ", ") .. "]"
  end
  return encode(value)
end

local function walk(old, new, path, out)
  if is_object(old) or is_object(new) then
    if (old ~= nil and not is_object(old)) or (new ~= nil and not is_object(new)) then
      out[#out + 1] = { path = path, old = old, new = new }   -- an object replaced by a value
      return
    end
    local keys, seen = {}, {}
    for _, side in ipairs { old or {}, new or {} } do
      for key in pairs(side) do
        if not seen[key] then
          seen[key] = true
          keys[#keys + 1] = key
        end
      end
    end
    sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, key in ipairs(keys) do
      walk(old and old[key], new and new[key], path == "" and tostring(key)
        or (path .. "." .. tostring(key)), out)
    end
  elseif old == nil or new == nil or encode(old) ~= encode(new) then
    if not (old == nil and new == nil) then
      out[#out + 1] = { path = path, old = old, new = new }
    end
  end
end

--- The changes between two settings tables.
-- @treturn {{path=,old=,new=},...} sorted by path; empty when equal
function diff.compare(old, new)
  local out = {}
  walk(old, new, "", out)
  return out
end

--- Lines for the changes: `path: old -> new`, each indented by `indent`.
-- @tparam table changes from `diff.compare`
-- @tparam[opt] string indent before each line (two spaces)
-- @tparam[opt] function note `note(path, value)` may return a few words to
--   show after a value (a repository's name after its id)
function diff.lines(changes, indent, note)
  indent = indent or "  "
  local lines = {}
  for i, change in ipairs(changes) do
    local function side(value)
      local text = diff.show(value)
      local extra = note and value ~= nil and note(change.path, value)
      return extra and (text .. " (" .. extra .. ")") or text
    end
    lines[i] = indent .. change.path .. ": " .. side(change.old) .. " -> " .. side(change.new)
  end
  return lines
end

return diff
