--- The configuration backup settings (`ConfigBackupModel`): what each field
-- must hold in each API revision.
--
-- The fields, their types, formats and enum values come from the official
-- OpenAPI document of the revision (`vbr.model.schemas`, generated from
-- them); the rules the server enforces beyond its schema are written here
-- (`LIMITS`, `check_rules`).
--
-- `model.check` reads settings as a user or a server wrote them and returns
-- the copy to send: enum values in the spelling of the revision's document
-- whatever casing they came in, `localTime` as `HH:MM:SS` whatever style it
-- came in, arrays marked as arrays. A field the revision's schema lacks is
-- kept when the server itself sent it (a newer server's field) and refused
-- otherwise, with the field it was probably meant to be. Every problem is
-- reported with its field path, so that nothing is sent while any is left.
-- @module vbr.model

local json = require "vbr.json"
local clock = require "vbr.schedule.clock"
local revision_lib = require "vbr.revision"
local schemas = require "vbr.model.schemas"
local suggest = require "vbr.suggest"

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local lower, find, format, concat, sort =
      string.lower, string.find, string.format, table.concat, table.sort
local is_integer, copy = json.is_integer, json.copy

local model = {}

local ROOT = "ConfigBackupModel"

-- What VBR enforces beyond its schema, by field path (`[]`: any item).
local LIMITS = {
  -- The schema sets no bounds; VBR accepts 1 to 255.
  restorePointsToKeep = { min = 1, max = 255 },
  ["schedule.monthly.dayOfMonth"] = { min = 1, max = 31 },
  ["notifications.SMTPSettings.recipients[]"] = { email = true },
}

local INT32 = { min = -2147483648, max = 2147483647 }

local UUID_PATTERN = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

--- True when `text` is a UUID in its 8-4-4-4-12 hexadecimal form.
function model.is_uuid(text)
  return type(text) == "string" and find(text, UUID_PATTERN) ~= nil
end

local function quoted_list(values)
  local out = {}
  for i, v in ipairs(values) do out[i] = "'" .. v .. "'" end
  return concat(out, ", ")
end

local function describe(value)
  if type(value) == "string" then return "'" .. value .. "'" end
  if value == json.null then return "null" end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return tostring(value)
end

local function is_sequence(value)
  if type(value) ~= "table" or value == json.null then return false end
  if json.is_array(value) then return true end
  local count = 0
  for _ in pairs(value) do count = count + 1 end
  return count == #value
end

-- A new list: `list` and then `item`.
local function appended(list, item)
  local out = {}
  for i = 1, #list do out[i] = list[i] end
  out[#list + 1] = item
  return out
end

local function is_object(value)
  return type(value) == "table" and not json.is_array(value)
end

-- The schema object a node stands for, references followed.
local function resolve(document, node)
  while node.ref do node = document[node.ref] end
  return node
end

-- The object schema at `names` (a list of property names from the root) in
-- a document, or nil when the document lacks it.
local function object_at(document, names)
  local node = resolve(document, document[ROOT])
  for _, name in ipairs(names) do
    local property = node.properties and node.properties[name]
    if not property then return nil end
    node = resolve(document, property)
    if node.type == "array" and node.items then node = resolve(document, node.items) end
  end
  return node
end

local function document_of(facts)
  local document = schemas[facts.document]
  if not document then
    error("vbr.model: no schema for document " .. tostring(facts.document), 3)
  end
  return document
end

-- The oldest known revision whose document has property `name` at `names`,
-- or nil.
local function first_revision_with(names, name)
  for _, revision in ipairs(revision_lib.known()) do
    local object = object_at(document_of(assert(revision_lib.get(revision))), names)
    if object and object.properties and object.properties[name] then return revision end
  end
  return nil
end

-- The known name `name` was most likely meant to be, or nil.
local function closest(name, properties)
  local names = {}
  for candidate in pairs(properties) do names[#names + 1] = candidate end
  return suggest(name, names)
end

local function add(problems, path, message)
  problems[#problems + 1] = { path = path, message = message }
end

local check_value

local function check_string(node, value, path, problems, context)
  if type(value) ~= "string" then
    add(problems, path, "must be a string, not " .. describe(value))
    return value
  end
  if find(value, "%z") then
    add(problems, path, "must not contain a NUL character")
    return value
  end
  if node.enum then
    local wanted = lower(value)
    for _, allowed in ipairs(node.enum) do
      if lower(allowed) == wanted then return allowed end
    end
    add(problems, path, "must be one of " .. quoted_list(node.enum) .. ", not " .. describe(value))
  elseif node.format == "uuid" then
    if not model.is_uuid(value) then
      add(problems, path, "must be a UUID such as 'd4b5e196-f3ad-474c-99bc-dfef051dae07', not "
        .. describe(value))
    end
  elseif node.format == "date-time" then
    if not find(value, "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d") then
      add(problems, path, "must be a date and time such as '2026-01-21T10:00:35+01:00', not "
        .. describe(value))
    end
  elseif node.format == "time" then
    -- Read in any style, written as the schema's format says (HH:MM:SS).
    local hour, minute = clock.parse(value)
    if not hour then
      add(problems, path, "must be a time of day such as '22:00:00' (or 22:00, 10:00 PM), not "
        .. describe(value))
      return value
    end
    return clock.format_api(hour, minute)
  end
  if context.limit and context.limit.email and not find(value, "^[^%s@]+@[^%s@]+$") then
    add(problems, path, "must be an email address such as admin@example.com, not "
      .. describe(value))
  end
  return value
end

local function check_integer(node, value, path, problems, context)
  local limit = context.limit or (node.format == "int32" and INT32) or nil
  if not is_integer(value) then
    add(problems, path, "must be a whole number, not " .. describe(value))
  elseif limit and (value < limit.min or value > limit.max) then
    add(problems, path, format("must be from %d to %d, not %s", limit.min, limit.max,
      tostring(value)))
  end
  return value
end

local function check_array(node, value, path, problems, context)
  if not is_sequence(value) then
    add(problems, path, "must be an array, not " .. describe(value))
    return value
  end
  local out, seen = json.array(), {}
  for i = 1, #value do
    local item_path = path .. "[" .. i .. "]"
    local item = check_value(node.items or {}, value[i], item_path, problems, context, "[]")
    if node.uniqueItems and type(item) == "string" then
      if seen[item] then add(problems, item_path, "repeats " .. describe(item)) end
      seen[item] = true
    end
    out[i] = item
  end
  return out
end

local function check_object(node, value, path, problems, context)
  if not is_object(value) or value == json.null then
    add(problems, path, "must be an object, not " .. describe(value))
    return value
  end
  local prefix = path == "" and "" or path .. "."
  for _, name in ipairs(node.required or {}) do
    if value[name] == nil then add(problems, prefix .. name, "is required") end
  end
  local properties = node.properties or {}
  local known = context.known
  local out = copy(value)        -- unknown members and nulls as they are
  local names = {}
  for name in pairs(value) do names[#names + 1] = name end
  sort(names, function(a, b) return tostring(a) < tostring(b) end)
  for _, name in ipairs(names) do
    local field_path = prefix .. tostring(name)
    if properties[name] then
      local inner_known = is_object(known) and known[name] or nil
      out[name] = check_value(properties[name], value[name], field_path, problems,
        context, name, inner_known)
    elseif not (is_object(known) and known[name] ~= nil) then
      -- Neither the schema nor the server's own settings have it.
      local first = type(name) == "string" and first_revision_with(context.names, name)
      if first and revision_lib.older(context.revision.name, first) then
        add(problems, field_path, "needs API revision " .. first
          .. " or later (this client speaks " .. context.revision.name .. ")")
      else
        local meant = type(name) == "string" and closest(name, properties)
        add(problems, field_path, "is not a field of the configuration backup settings in API "
          .. "revision " .. context.revision.name
          .. (meant and ("; did you mean '" .. prefix .. meant .. "'?") or ""))
      end
    end
  end
  return out
end

-- Checks one value against one schema node; returns the value to send
-- (possibly re-cased or re-formatted) and adds problems to `problems`.
-- `step` is the property name (or "[]" for an array item) that led here.
function check_value(node, value, path, problems, context, step, known)
  node = resolve(context.document, node)
  local names, limit_path = context.names, context.limit_path
  local inner = {
    document = context.document, revision = context.revision,
    names = names, known = known,
  }
  if step then
    inner.limit_path = limit_path == "" and step
      or (step == "[]" and limit_path .. step or limit_path .. "." .. step)
    if step ~= "[]" then inner.names = appended(names, step) end
  else
    inner.limit_path = limit_path
  end
  inner.limit = LIMITS[inner.limit_path]
  local kind = node.type or (node.properties and "object")
  if kind == "object" then return check_object(node, value, path, problems, inner) end
  if kind == "array" then return check_array(node, value, path, problems, inner) end
  if kind == "string" then return check_string(node, value, path, problems, inner) end
  if kind == "integer" then return check_integer(node, value, path, problems, inner) end
  if kind == "boolean" and type(value) ~= "boolean" then
    add(problems, path, "must be true or false, not " .. describe(value))
  elseif kind == "number" and type(value) ~= "number" then
    add(problems, path, "must be a number, not " .. describe(value))
  end
  return value
end

-- Rules between fields, which no single field can check.
local function check_rules(settings, problems)
  local schedule = type(settings.schedule) == "table" and settings.schedule or {}
  local daily, monthly = schedule.daily, schedule.monthly
  if type(daily) == "table" and daily.isEnabled == true then
    if daily.localTime == nil then
      add(problems, "schedule.daily.localTime", "is required when the daily schedule is on")
    end
    if type(daily.dailyKind) == "string" and lower(daily.dailyKind) == "selecteddays"
        and (type(daily.days) ~= "table" or #daily.days == 0) then
      add(problems, "schedule.daily.days", "must name at least one day when dailyKind is "
        .. "'SelectedDays'")
    end
  end
  if type(monthly) == "table" and monthly.isEnabled == true then
    if monthly.localTime == nil then
      add(problems, "schedule.monthly.localTime", "is required when the monthly schedule is on")
    end
    local number = type(monthly.dayNumberInMonth) == "string" and lower(monthly.dayNumberInMonth)
    if number == "onday" then
      if monthly.dayOfMonth == nil and monthly.isLastDayOfMonth ~= true then
        add(problems, "schedule.monthly.dayOfMonth",
          "is required when dayNumberInMonth is 'OnDay'")
      end
    elseif number and monthly.dayOfWeek == nil then
      add(problems, "schedule.monthly.dayOfWeek", "is required when dayNumberInMonth is '"
        .. monthly.dayNumberInMonth .. "'")
    end
    if type(monthly.months) == "table" and #monthly.months == 0 then
      add(problems, "schedule.monthly.months", "must name at least one month")
    end
  end
  local smtp = type(settings.notifications) == "table" and settings.notifications.SMTPSettings
  if type(smtp) == "table" and smtp.isEnabled == true
      and type(smtp.settingsType) == "string" and lower(smtp.settingsType) == "custom"
      and type(smtp.recipients) == "table" and #smtp.recipients == 0 then
    add(problems, "notifications.SMTPSettings.recipients",
      "must name at least one address when custom email notifications are on")
  end
end

--- Checks configuration backup settings for one revision.
-- @tparam table settings the settings, in the API's field names
-- @tparam table revision facts from `vbr.revision.get`
-- @tparam[opt] table known the settings as the server sent them (`get()`):
--   fields there that the revision's schema lacks are kept; without it,
--   every field the schema lacks is a problem
-- @treturn[1] table the settings to send
-- @treturn[2] nil
-- @treturn[2] {{path=,message=},...} the problems, sorted by path
function model.check(settings, revision, known)
  if type(revision) ~= "table" or type(revision.name) ~= "string" then
    error("vbr.model.check: the revision must be facts from vbr.revision.get", 2)
  end
  local problems = {}
  local document = document_of(revision)
  local context = { document = document, revision = revision, names = {}, limit_path = "" }
  local out = check_value(document[ROOT], settings, "", problems, context, nil, known)
  if type(settings) == "table" then check_rules(settings, problems) end
  if #problems > 0 then
    sort(problems, function(a, b) return a.path < b.path end)
    return nil, problems
  end
  return out
end

--- The fields of the configuration backup settings that revision `newer`
-- has and revision `older` lacks (`"schedule.monthly.isLastDayOfMonth"`),
-- sorted: what a PUT at `older` cannot carry.
-- @tparam string older a known revision
-- @tparam string newer a known revision
-- @treturn {string,...}
function model.lacks(older, newer)
  local old_document = document_of(assert(revision_lib.get(older)))
  local new_document = document_of(assert(revision_lib.get(newer)))
  local found = {}
  local function walk(node, names, path)
    node = resolve(new_document, node)
    if node.type == "array" and node.items then node = resolve(new_document, node.items) end
    if not node.properties then return end
    local old_object = object_at(old_document, names)
    for name, property in pairs(node.properties) do
      local field_path = path == "" and name or path .. "." .. name
      if not (old_object and old_object.properties and old_object.properties[name]) then
        found[#found + 1] = field_path
      else
        walk(property, appended(names, name), field_path)
      end
    end
  end
  walk(new_document[ROOT], {}, "")
  sort(found)
  return found
end

return model
