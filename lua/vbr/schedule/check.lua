--- Validation of schedule tables. Internal to `vbr.schedule`; the table shape
-- is documented in `vbr.schedule`.
-- @module vbr.schedule.check

local revision = require "vbr.revision"
local json = require "vbr.json"
local words = require "vbr.schedule.words"
local clock = require "vbr.schedule.clock"

local type, pairs, tostring, error = type, pairs, tostring, error
local sort, concat = table.sort, table.concat
local format = string.format

local is_integer = json.is_integer
local DAYS, MONTHS, ORDINALS, index_of = words.DAYS, words.MONTHS, words.ORDINALS, words.index_of

local check = {}

-- The fields each kind of schedule may have; anything else is a typo.
local FIELDS = {
  off = { kind = true },
  daily = { kind = true, time = true, days = true },
  monthly = { kind = true, time = true, months = true, ordinal = true, weekday = true, day = true },
}

-- Most days a month can have (February: 29, in leap years).
local LONGEST_MONTH = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local function show(value)
  if type(value) == "string" then return format("%q", value) end
  return tostring(value)
end

local function check_time(time, add)
  if time == nil then return add("time", "missing (a 24-hour \"HH:MM\" such as \"22:00\")") end
  local ok, err = clock.parse_canonical(time)
  if not ok then add("time", err) end
end

-- A non-empty list of distinct canonical names taken from `allowed`;
-- returns whether it is one.
local function check_names(list, path, allowed, what, add)
  if list == nil then add(path, "missing (a list of " .. what .. " names)"); return false end
  if type(list) ~= "table" then
    add(path, "expected a list of " .. what .. " names, got " .. type(list))
    return false
  end
  if #list == 0 then add(path, "the list is empty; name at least one " .. what); return false end
  local seen, ok = {}, true
  for i = 1, #list do
    local name = list[i]
    local item_path = path .. "[" .. i .. "]"
    if not index_of(allowed, name) then
      add(item_path, "unknown " .. what .. " " .. show(name) .. " (expected one of "
        .. allowed[1] .. ".." .. allowed[#allowed] .. ", lower case)")
      ok = false
    elseif seen[name] then
      add(item_path, show(name) .. " is listed twice")
      ok = false
    end
    seen[name] = true
  end
  return ok
end

local function check_monthly(schedule, revision_facts, add)
  local by_weekday = schedule.ordinal ~= nil or schedule.weekday ~= nil
  local day = schedule.day
  if by_weekday and day ~= nil then
    add("day", "give either day or ordinal and weekday, not both")
  elseif by_weekday then
    if not index_of(ORDINALS, schedule.ordinal) then
      add("ordinal", "expected one of " .. concat(ORDINALS, ", ") .. ", got "
        .. show(schedule.ordinal))
    end
    if not index_of(DAYS, schedule.weekday) then
      add("weekday", "expected one of monday..sunday (lower case), got "
        .. show(schedule.weekday))
    end
  elseif day == nil then
    add("day", "missing: a monthly schedule needs day (1-31 or \"last\") "
      .. "or ordinal and weekday")
  elseif day == "last" then
    if revision_facts and not revision_facts.has_last_day_of_month then
      add("day", "the last day of the month needs API revision "
        .. revision.FIRST_WITH_LAST_DAY_OF_MONTH .. " or later (" .. revision_facts.name
        .. " has no monthly.isLastDayOfMonth)")
    end
  elseif not is_integer(day) or day < 1 or day > 31 then
    add("day", "expected a day of the month 1-31 or \"last\", got " .. show(day))
  end
  local months_ok = check_names(schedule.months, "months", MONTHS, "month", add)
  -- VBR skips months that lack the day; refuse a schedule that never runs.
  if months_ok and is_integer(day) and day >= 29 and day <= 31 then
    for i = 1, #schedule.months do
      if day <= LONGEST_MONTH[index_of(MONTHS, schedule.months[i])] then return end
    end
    add("day", "day " .. day .. " never occurs in the chosen months, so the backup "
      .. "would never run")
  end
end

--- Checks a schedule table, and its fit with an API revision when one is given.
-- @tparam table schedule a schedule table (see `vbr.schedule`)
-- @tparam[opt] string revision_name e.g. `"1.2-rev1"`
-- @return `true`, or `nil` and a list of `{path = ..., message = ...}`
function check.validate(schedule, revision_name)
  if type(schedule) ~= "table" then
    error("vbr.schedule.validate: the schedule must be a table, got " .. type(schedule), 2)
  end
  if revision_name ~= nil and type(revision_name) ~= "string" then
    error("vbr.schedule.validate: the revision must be a string, got "
      .. type(revision_name), 2)
  end
  local problems = {}
  local function add(path, message)
    problems[#problems + 1] = { path = path, message = message }
  end
  local revision_facts
  if revision_name ~= nil then
    local err
    revision_facts, err = revision.get(revision_name)
    if not revision_facts then add("revision", err) end
  end

  local kind = schedule.kind
  local fields = FIELDS[kind]
  if not fields then
    add("kind", "expected \"daily\", \"monthly\" or \"off\", got " .. show(kind))
    return nil, problems
  end
  if kind == "daily" then
    check_time(schedule.time, add)
    check_names(schedule.days, "days", DAYS, "day", add)
  elseif kind == "monthly" then
    check_time(schedule.time, add)
    check_monthly(schedule, revision_facts, add)
  end
  local unknown = {}
  for key in pairs(schedule) do
    if not fields[key] then unknown[#unknown + 1] = tostring(key) end
  end
  sort(unknown)
  for i = 1, #unknown do
    add(unknown[i], "unknown field for a " .. kind .. " schedule")
  end

  if #problems > 0 then return nil, problems end
  return true
end

--- One line from a list of problems: `"path: message; path: message"`.
function check.join(problems)
  local parts = {}
  for i = 1, #problems do
    parts[i] = problems[i].path .. ": " .. problems[i].message
  end
  return concat(parts, "; ")
end

return check
