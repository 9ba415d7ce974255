--- Conversion between schedule tables and the API's ConfigBackupScheduleModel.
-- Internal to `vbr.schedule`; documented there.
-- @module vbr.schedule.api

local json = require "vbr.json"
local revision = require "vbr.revision"
local words = require "vbr.schedule.words"
local clock = require "vbr.schedule.clock"
local check = require "vbr.schedule.check"

local type, pairs, error, tostring = type, pairs, error, tostring
local getmetatable, setmetatable = getmetatable, setmetatable
local lower, format = string.lower, string.format
local copy, is_integer = json.copy, json.is_integer

local DAYS, MONTHS = words.DAYS, words.MONTHS
local index_of, capitalize = words.index_of, words.capitalize

local api = {}

-- Day-of-month the API gets with isLastDayOfMonth: the flag overrides it, and
-- 31 is the nearest meaning for a reader that ignores the flag.
local LAST_DAY_FILLER = 31

-- cjson decodes `null` to a light userdata; treat it as absent.
local function present(value)
  if type(value) == "userdata" then return nil end
  return value
end

local function day_name(index, day_case)
  local name = DAYS[index]
  if day_case == "capitalized" then return capitalize(name) end
  return name
end

-- A new list in calendar order with the metatable of the list it replaces.
local function ordered_list(names, order, spell, replaced)
  local wanted = {}
  for i = 1, #names do wanted[index_of(order, names[i])] = true end
  local list = {}
  for i = 1, #order do
    if wanted[i] then list[#list + 1] = spell(i) end
  end
  if type(replaced) == "table" then setmetatable(list, getmetatable(replaced)) end
  return list
end

local function all_days(day_case)
  local list = {}
  for i = 1, #DAYS do list[i] = day_name(i, day_case) end
  return list
end

local function all_months()
  local list = {}
  for i = 1, #MONTHS do list[i] = capitalize(MONTHS[i]) end
  return list
end

-- VBR's own defaults (the documents' example), for the half that is not used.
local function default_daily(facts)
  return {
    isEnabled = true,
    localTime = clock.format_api(10, 0),
    dailyKind = "Everyday",
    days = all_days(facts.day_case),
  }
end

local function default_monthly(facts)
  local monthly = {
    isEnabled = false,
    localTime = clock.format_api(22, 0),
    dayOfWeek = day_name(6, facts.day_case),
    dayNumberInMonth = "Fourth",
    dayOfMonth = 1,
    months = all_months(),
  }
  if facts.has_last_day_of_month then monthly.isLastDayOfMonth = false end
  return monthly
end

-- Fields of `base` (if a table) over `defaults`: what the server holds and
-- this module does not set stays as it is, a remembered null included.
local function merged(defaults, base)
  if type(base) ~= "table" then return defaults end
  local result = copy(base)
  for key, value in pairs(defaults) do
    if result[key] == nil and not json.is_null(result, key) then result[key] = value end
  end
  return result
end

local function daily_kind(days)
  if #days == 7 then return "Everyday" end
  if #days == 5 and not index_of(days, "saturday") and not index_of(days, "sunday") then
    return "WeekDays"
  end
  return "SelectedDays"
end

--- See `vbr.schedule.render`.
function api.render(schedule, revision_name, options)
  if type(schedule) ~= "table" then
    error("vbr.schedule.render: the schedule must be a table, got " .. type(schedule), 2)
  end
  if type(revision_name) ~= "string" then
    error("vbr.schedule.render: the revision must be a string, got " .. type(revision_name), 2)
  end
  if options ~= nil and type(options) ~= "table" then
    error("vbr.schedule.render: options must be a table, got " .. type(options), 2)
  end
  local like = options and options.like
  if like ~= nil and type(like) ~= "table" then
    error("vbr.schedule.render: options.like must be a table, got " .. type(like), 2)
  end
  local facts, err = revision.get(revision_name)
  if not facts then return nil, err end
  local ok, problems = check.validate(schedule, revision_name)
  if not ok then return nil, check.join(problems) end

  local out = like and copy(like) or {}
  out.isEnabled = schedule.kind ~= "off"
  out.daily = merged(default_daily(facts), like and like.daily)
  out.monthly = merged(default_monthly(facts), like and like.monthly)
  if schedule.kind == "off" then return out end

  local hour, minute = clock.parse_canonical(schedule.time)
  local time = clock.format_api(hour, minute)
  local daily, monthly = out.daily, out.monthly
  daily.isEnabled = schedule.kind == "daily"
  monthly.isEnabled = schedule.kind == "monthly"
  if schedule.kind == "daily" then
    daily.localTime = time
    daily.dailyKind = daily_kind(schedule.days)
    daily.days = ordered_list(schedule.days, DAYS, function(i)
      return day_name(i, facts.day_case)
    end, daily.days)
    return out
  end

  monthly.localTime = time
  monthly.months = ordered_list(schedule.months, MONTHS, function(i)
    return capitalize(MONTHS[i])
  end, monthly.months)
  local is_last_day = schedule.day == "last"
  if schedule.ordinal then
    monthly.dayNumberInMonth = capitalize(schedule.ordinal)
    monthly.dayOfWeek = day_name(index_of(DAYS, schedule.weekday), facts.day_case)
  else
    monthly.dayNumberInMonth = "OnDay"
    monthly.dayOfMonth = is_last_day and LAST_DAY_FILLER or schedule.day
  end
  -- Write the flag where the revision knows it (or the server sent it).
  if facts.has_last_day_of_month or present(monthly.isLastDayOfMonth) ~= nil then
    monthly.isLastDayOfMonth = is_last_day
  end
  return out
end

-- Reading ------------------------------------------------------------------

local function read_time(half, path)
  local time = present(half.localTime)
  if time == nil then return nil, path .. ".localTime: missing" end
  local hour, minute = clock.parse(time)
  if not hour then return nil, path .. ".localTime: " .. minute end
  return clock.format(hour, minute)
end

-- A list of names in any casing -> canonical names, refusing repeats.
local function read_names(list, path, allowed, what)
  if type(list) ~= "table" or #list == 0 then
    return nil, path .. ": expected a non-empty list of " .. what .. " names"
  end
  local names, seen = {}, {}
  for i = 1, #list do
    local item = present(list[i])
    local index = type(item) == "string" and index_of(allowed, lower(item))
    if not index then
      return nil, format("%s[%d]: unknown %s %s", path, i, what, tostring(item))
    end
    if seen[index] then
      return nil, format("%s[%d]: %s is listed twice", path, i, item)
    end
    seen[index] = true
  end
  for i = 1, #allowed do
    if seen[i] then names[#names + 1] = allowed[i] end
  end
  return names
end

local function read_enum(value, path, allowed)
  value = present(value)
  local index = type(value) == "string" and index_of(allowed, lower(value))
  if not index then
    return nil, path .. ": unknown value " .. tostring(value)
  end
  return allowed[index]
end

local function read_daily(daily)
  local time, err = read_time(daily, "daily")
  if not time then return nil, err end
  local kind
  kind, err = read_enum(daily.dailyKind, "daily.dailyKind",
    { "everyday", "weekdays", "selecteddays" })
  if not kind then return nil, err end
  local days
  if kind == "everyday" then
    days = { DAYS[1], DAYS[2], DAYS[3], DAYS[4], DAYS[5], DAYS[6], DAYS[7] }
  elseif kind == "weekdays" then
    days = { DAYS[1], DAYS[2], DAYS[3], DAYS[4], DAYS[5] }
  else
    days, err = read_names(present(daily.days), "daily.days", DAYS, "day")
    if not days then return nil, err end
  end
  return { kind = "daily", time = time, days = days }
end

local function read_monthly(monthly)
  local time, err = read_time(monthly, "monthly")
  if not time then return nil, err end
  local schedule = { kind = "monthly", time = time }
  local months = present(monthly.months)
  if months == nil then
    -- Not required by the schema; VBR's default is every month.
    months = MONTHS
  end
  schedule.months, err = read_names(months, "monthly.months", MONTHS, "month")
  if not schedule.months then return nil, err end

  local ordinal
  ordinal, err = read_enum(monthly.dayNumberInMonth, "monthly.dayNumberInMonth",
    { "first", "second", "third", "fourth", "last", "onday" })
  if not ordinal then return nil, err end
  if ordinal ~= "onday" then
    schedule.ordinal = ordinal
    schedule.weekday, err = read_enum(monthly.dayOfWeek, "monthly.dayOfWeek", DAYS)
    if not schedule.weekday then return nil, err end
  elseif present(monthly.isLastDayOfMonth) == true then
    schedule.day = "last"
  else
    local day = present(monthly.dayOfMonth)
    if not is_integer(day) or day < 1 or day > 31 then
      return nil, "monthly.dayOfMonth: expected a day 1-31, got " .. tostring(day)
    end
    schedule.day = day
  end
  return schedule
end

--- See `vbr.schedule.from_api`.
function api.from_api(api_schedule)
  if type(api_schedule) ~= "table" then
    error("vbr.schedule.from_api: expected the API's schedule table, got "
      .. type(api_schedule), 2)
  end
  local enabled = present(api_schedule.isEnabled)
  if type(enabled) ~= "boolean" then
    return nil, "isEnabled: expected true or false, got " .. tostring(enabled)
  end
  if not enabled then return { kind = "off" } end
  local daily, monthly = present(api_schedule.daily), present(api_schedule.monthly)
  daily = type(daily) == "table" and present(daily.isEnabled) == true and daily or nil
  monthly = type(monthly) == "table" and present(monthly.isEnabled) == true and monthly or nil
  if daily and monthly then
    return nil, "daily and monthly are both enabled; a schedule table holds one of them"
  end
  if daily then return read_daily(daily) end
  if monthly then return read_monthly(monthly) end
  -- Enabled with neither half enabled: the job never starts on its own.
  return { kind = "off" }
end

return api
