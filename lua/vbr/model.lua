--- The configuration backup settings (`ConfigBackupModel`): what each field
-- must hold in each API revision.
--
-- `model.check` reads settings as a user or a server wrote them and returns
-- the copy to send: enum values in the revision's casing whatever casing
-- they came in, `localTime` in the revision's style (or the style the server
-- itself used), arrays marked as arrays, and every field this module does
-- not know left as it was. Every problem is reported with its field path,
-- so that nothing is sent while any is left.
-- @module vbr.model

local json = require "vbr.json"
local clock = require "vbr.schedule.clock"

local type, pairs, ipairs, tostring, floor = type, pairs, ipairs, tostring, math.floor
local lower, upper, find, format, concat =
      string.lower, string.upper, string.find, string.format, table.concat

local model = {}

local DAYS = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" }
local MONTHS = { "January", "February", "March", "April", "May", "June", "July",
                 "August", "September", "October", "November", "December" }

local BOOLEAN = { kind = "boolean" }
local UUID = { kind = "uuid" }
local TIME = { kind = "time" }
local DAY = { kind = "enum", values = DAYS, day_case = true }

local function enum(values) return { kind = "enum", values = values } end

local DAILY = {
  kind = "object",
  required = { "isEnabled" },
  fields = {
    isEnabled = BOOLEAN,
    localTime = TIME,
    dailyKind = enum { "Everyday", "WeekDays", "SelectedDays" },
    days = { kind = "array", items = DAY, unique = true },
  },
}

local MONTHLY = {
  kind = "object",
  required = { "isEnabled" },
  fields = {
    isEnabled = BOOLEAN,
    localTime = TIME,
    dayOfWeek = DAY,
    dayNumberInMonth = enum { "First", "Second", "Third", "Fourth", "Last", "OnDay" },
    dayOfMonth = { kind = "integer", min = 1, max = 31 },
    months = { kind = "array", items = enum(MONTHS), unique = true },
    isLastDayOfMonth = { kind = "boolean", needs = "has_last_day_of_month" },
  },
}

local SMTP = {
  kind = "object",
  required = { "isEnabled", "recipients", "settingsType", "subject",
               "notifyOnSuccess", "notifyOnWarning", "notifyOnError" },
  fields = {
    isEnabled = BOOLEAN,
    recipients = { kind = "array", items = { kind = "email" } },
    settingsType = enum { "Global", "Custom" },
    subject = { kind = "string" },
    notifyOnSuccess = BOOLEAN,
    notifyOnWarning = BOOLEAN,
    notifyOnError = BOOLEAN,
  },
}

--- The shape of `ConfigBackupModel`, common to every revision; the
-- differences are in `vbr.revision`.
model.CONFIG_BACKUP = {
  kind = "object",
  required = { "isEnabled", "backupRepositoryId", "restorePointsToKeep",
               "notifications", "schedule", "lastSuccessfulBackup", "encryption" },
  fields = {
    isEnabled = BOOLEAN,
    backupRepositoryId = UUID,
    -- The schema sets no bounds; VBR accepts 1 to 255.
    restorePointsToKeep = { kind = "integer", min = 1, max = 255 },
    notifications = {
      kind = "object",
      required = { "SNMPEnabled" },
      fields = { SNMPEnabled = BOOLEAN, SMTPSettings = SMTP },
    },
    schedule = {
      kind = "object",
      required = { "isEnabled" },
      fields = { isEnabled = BOOLEAN, daily = DAILY, monthly = MONTHLY },
    },
    lastSuccessfulBackup = {
      kind = "object",
      fields = { lastSuccessfulTime = { kind = "datetime" }, sessionId = UUID },
    },
    encryption = {
      kind = "object",
      required = { "isEnabled", "passwordId" },
      fields = { isEnabled = BOOLEAN, passwordId = UUID },
    },
  },
}

local function quoted_list(values)
  local out = {}
  for i, v in ipairs(values) do out[i] = "'" .. v .. "'" end
  return concat(out, ", ")
end

local function describe(value)
  if type(value) == "string" then return "'" .. value .. "'" end
  if type(value) == "table" then return json.is_array(value) and "an array" or "an object" end
  return tostring(value)
end

local function is_integer(value)
  return type(value) == "number" and value == floor(value)
    and value > -2147483649 and value < 2147483648
end

local function is_sequence(value)
  if type(value) ~= "table" then return false end
  if json.is_array(value) then return true end
  local count = 0
  for _ in pairs(value) do count = count + 1 end
  return count == #value
end

local UUID_PATTERN = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

--- True when `text` is a UUID in its 8-4-4-4-12 hexadecimal form.
function model.is_uuid(text)
  return type(text) == "string" and find(text, UUID_PATTERN) ~= nil
end

-- Checks one value against one field description; returns the value to send
-- (possibly re-cased or re-formatted) and adds problems to `problems`.
local check_value

local function add(problems, path, message)
  problems[#problems + 1] = { path = path, message = message }
end

local checkers = {}

function checkers.boolean(_, value, path, problems)
  if type(value) ~= "boolean" then
    add(problems, path, "must be true or false, not " .. describe(value))
  end
  return value
end

function checkers.string(_, value, path, problems)
  if type(value) ~= "string" then
    add(problems, path, "must be a string, not " .. describe(value))
  elseif find(value, "%z") then
    add(problems, path, "must not contain a NUL character")
  end
  return value
end

function checkers.email(spec, value, path, problems)
  checkers.string(spec, value, path, problems)
  if type(value) == "string" and not find(value, "^[^%s@]+@[^%s@]+$") then
    add(problems, path, "must be an email address such as admin@example.com, not "
      .. describe(value))
  end
  return value
end

function checkers.uuid(_, value, path, problems)
  if not model.is_uuid(value) then
    add(problems, path, "must be a UUID such as 'd4b5e196-f3ad-474c-99bc-dfef051dae07', not "
      .. describe(value))
  end
  return value
end

function checkers.datetime(_, value, path, problems)
  if type(value) ~= "string"
      or not find(value, "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d") then
    add(problems, path, "must be a date and time such as '2026-01-21T10:00:35+01:00', not "
      .. describe(value))
  end
  return value
end

function checkers.integer(spec, value, path, problems)
  if not is_integer(value) then
    add(problems, path, "must be a whole number, not " .. describe(value))
  elseif value < spec.min or value > spec.max then
    add(problems, path, format("must be from %d to %d, not %s", spec.min, spec.max,
      tostring(value)))
  end
  return value
end

function checkers.enum(spec, value, path, problems, context)
  if type(value) == "string" then
    local wanted = lower(value)
    for _, allowed in ipairs(spec.values) do
      if lower(allowed) == wanted then
        if spec.day_case and context.revision.day_case == "capitalized" then
          return (allowed:gsub("^%l", upper))
        end
        return allowed
      end
    end
  end
  local shown = spec.values
  if spec.day_case and context.revision.day_case == "capitalized" then
    shown = {}
    for i, v in ipairs(spec.values) do shown[i] = v:gsub("^%l", upper) end
  end
  add(problems, path, "must be one of " .. quoted_list(shown) .. ", not " .. describe(value))
  return value
end

function checkers.time(_, value, path, problems, context)
  local hour, minute = clock.parse(value)
  if not hour then
    add(problems, path, "must be a time of day such as "
      .. clock.format(22, 0, context.time_style) .. ", not " .. describe(value))
    return value
  end
  return clock.format(hour, minute, context.time_style)
end

function checkers.array(spec, value, path, problems, context)
  if not is_sequence(value) then
    add(problems, path, "must be an array, not " .. describe(value))
    return value
  end
  local out, seen = json.array(), {}
  for i = 1, #value do
    local item = check_value(spec.items, value[i], path .. "[" .. i .. "]", problems, context)
    if spec.unique and type(item) == "string" then
      if seen[item] then
        add(problems, path .. "[" .. i .. "]", "repeats " .. describe(item))
      end
      seen[item] = true
    end
    out[i] = item
  end
  return out
end

function checkers.object(spec, value, path, problems, context)
  if type(value) ~= "table" or json.is_array(value) then
    add(problems, path, "must be an object, not " .. describe(value))
    return value
  end
  local prefix = path == "" and "" or path .. "."
  for _, name in ipairs(spec.required or {}) do
    if value[name] == nil then add(problems, prefix .. name, "is required") end
  end
  local out = json.copy(value)       -- keeps unknown fields and nulls
  for name, field in pairs(spec.fields) do
    local member = value[name]
    if member ~= nil then
      if field.needs and not context.revision[field.needs] then
        add(problems, prefix .. name, "needs API revision "
          .. context.first_with[field.needs] .. " or later (this client speaks "
          .. context.revision.name .. ")")
      else
        out[name] = check_value(field, member, prefix .. name, problems, context)
      end
    end
  end
  return out
end

function check_value(spec, value, path, problems, context)
  return checkers[spec.kind](spec, value, path, problems, context)
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
-- @tparam[opt] string time_style the style of `localTime` to write
--   (`"12h"`, `"24h"`, `"24h_seconds"`); default: the revision's
-- @treturn[1] table the settings to send
-- @treturn[2] nil
-- @treturn[2] {{path=,message=},...} the problems, in field order
function model.check(settings, revision, time_style)
  local problems = {}
  local context = {
    revision = revision,
    time_style = time_style or revision.time_style,
    first_with = { has_last_day_of_month = "1.3-rev0" },
  }
  local out = check_value(model.CONFIG_BACKUP, settings, "", problems, context)
  if type(settings) == "table" then check_rules(settings, problems) end
  if #problems > 0 then
    table.sort(problems, function(a, b) return a.path < b.path end)
    return nil, problems
  end
  return out
end

--- The style of `localTime` in settings read from a server, or nil.
function model.time_style_of(settings)
  local schedule = type(settings) == "table" and settings.schedule
  if type(schedule) ~= "table" then return nil end
  local half = schedule.daily            -- daily first, then monthly
  local style = type(half) == "table" and type(half.localTime) == "string"
    and clock.style_of(half.localTime)
  if style then return style end
  half = schedule.monthly
  return type(half) == "table" and type(half.localTime) == "string"
    and clock.style_of(half.localTime) or nil
end

return model
