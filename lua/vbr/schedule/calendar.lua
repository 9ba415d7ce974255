--- Calendar arithmetic and the start times a schedule produces.
-- Internal to `vbr.schedule`; `next_runs` is documented there.
--
-- Pure proleptic Gregorian arithmetic on local wall-clock dates: no
-- `os.time`, so no time zone, no daylight saving and no 32-bit limits.
-- @module vbr.schedule.calendar

local json = require "vbr.json"
local words = require "vbr.schedule.words"
local clock = require "vbr.schedule.clock"
local check = require "vbr.schedule.check"

local is_integer = json.is_integer

local type, error, tostring, pcall, os_date = type, error, tostring, pcall, os.date
local floor, format = math.floor, string.format

local DAYS, MONTHS, ORDINALS, index_of = words.DAYS, words.MONTHS, words.ORDINALS, words.index_of

local calendar = {}

-- Give up after this many months: a validated schedule runs at least once in
-- 8 years (day 29 of February alone), so this only guards against bugs.
local MONTHS_TO_SEARCH = 12 * 400

-- Most start times one call lists; keeps a mistaken count from hanging.
local MAX_COUNT = 1000

function calendar.is_leap_year(year)
  return year % 4 == 0 and (year % 100 ~= 0 or year % 400 == 0)
end

local DAYS_IN_MONTH = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

function calendar.days_in_month(year, month)
  if month == 2 and calendar.is_leap_year(year) then return 29 end
  return DAYS_IN_MONTH[month]
end

-- Days since 1970-01-01 (H. Hinnant's days_from_civil).
local function day_number(year, month, day)
  if month <= 2 then year = year - 1 end
  local era = floor(year / 400)
  local year_of_era = year - era * 400
  local month_from_march = (month + 9) % 12
  local day_of_year = floor((153 * month_from_march + 2) / 5) + day - 1
  local day_of_era = year_of_era * 365 + floor(year_of_era / 4)
    - floor(year_of_era / 100) + day_of_year
  return era * 146097 + day_of_era - 719468
end

--- Day of the week, 1 = Monday .. 7 = Sunday.
function calendar.weekday(year, month, day)
  -- 1970-01-01 was a Thursday.
  return (day_number(year, month, day) + 3) % 7 + 1
end

-- The day of `year`-`month` a monthly schedule runs on, or nil when the month
-- lacks it (day 31 in a 30-day month: VBR skips such months).
local function monthly_run_day(schedule, year, month)
  local last = calendar.days_in_month(year, month)
  if schedule.day == "last" then return last end
  if schedule.day then
    if schedule.day <= last then return schedule.day end
    return nil
  end
  local weekday = index_of(DAYS, schedule.weekday)
  if schedule.ordinal == "last" then
    return last - (calendar.weekday(year, month, last) - weekday) % 7
  end
  local first = 1 + (weekday - calendar.weekday(year, month, 1)) % 7
  return first + 7 * (index_of(ORDINALS, schedule.ordinal) - 1)
end

-- `from` checked and completed (hour and min default to 0), or nil, message.
-- A number is an `os.time()` value, nil is now (both local time).
local function read_from(from)
  if from == nil or type(from) == "number" then
    local ok, point = pcall(os_date, "*t", from)
    if not ok or type(point) ~= "table" then
      return nil, "from: " .. tostring(from) .. " is no point in time os.date can read"
    end
    from = point
  end
  local year, month, day = from.year, from.month, from.day
  local hour, minute = from.hour or 0, from.min or 0
  if not is_integer(year) or year < 1 or year > 9999 then
    return nil, "from.year: expected 1-9999, got " .. tostring(year)
  end
  if not is_integer(month) or month < 1 or month > 12 then
    return nil, "from.month: expected 1-12, got " .. tostring(month)
  end
  if not is_integer(day) or day < 1 or day > calendar.days_in_month(year, month) then
    return nil, format("from.day: expected 1-%d for %04d-%02d, got %s",
      calendar.days_in_month(year, month), year, month, tostring(day))
  end
  if not is_integer(hour) or hour < 0 or hour > 23 then
    return nil, "from.hour: expected 0-23, got " .. tostring(hour)
  end
  if not is_integer(minute) or minute < 0 or minute > 59 then
    return nil, "from.min: expected 0-59, got " .. tostring(minute)
  end
  return { year = year, month = month, day = day, minutes = hour * 60 + minute }
end

local function stamp(year, month, day, hour, minute)
  return format("%04d-%02d-%02d %02d:%02d", year, month, day, hour, minute)
end

local function daily_runs(schedule, start, count, hour, minute)
  local runs = {}
  local on_day = {}
  for i = 1, #schedule.days do on_day[index_of(DAYS, schedule.days[i])] = true end
  local year, month, day = start.year, start.month, start.day
  -- Today counts only when the start time is still ahead.
  if hour * 60 + minute <= start.minutes then day = day + 1 end
  while #runs < count do
    if day > calendar.days_in_month(year, month) then
      day, month = 1, month + 1
      if month > 12 then month, year = 1, year + 1 end
    end
    if on_day[calendar.weekday(year, month, day)] then
      runs[#runs + 1] = stamp(year, month, day, hour, minute)
    end
    day = day + 1
  end
  return runs
end

local function monthly_runs(schedule, start, count, hour, minute)
  local runs = {}
  local in_month = {}
  for i = 1, #schedule.months do in_month[index_of(MONTHS, schedule.months[i])] = true end
  local year, month = start.year, start.month
  for _ = 1, MONTHS_TO_SEARCH do
    local day = in_month[month] and monthly_run_day(schedule, year, month)
    local is_after = day and (year ~= start.year or month ~= start.month or day > start.day
      or (day == start.day and hour * 60 + minute > start.minutes))
    if is_after then
      runs[#runs + 1] = stamp(year, month, day, hour, minute)
      if #runs == count then break end
    end
    month = month + 1
    if month > 12 then month, year = 1, year + 1 end
  end
  return runs
end

--- See `vbr.schedule.next_runs`.
function calendar.next_runs(schedule, from, count)
  if type(schedule) ~= "table" then
    error("vbr.schedule.next_runs: the schedule must be a table, got " .. type(schedule), 2)
  end
  if from ~= nil and type(from) ~= "table" and type(from) ~= "number" then
    error("vbr.schedule.next_runs: from must be an os.time() number, a table {year=, month=, "
      .. "day=, hour=, min=} such as os.date(\"*t\") gives, or nil for now, got "
      .. type(from), 2)
  end
  if type(count) ~= "number" then
    error("vbr.schedule.next_runs: the count must be a number, got " .. type(count), 2)
  end
  local ok, problems = check.validate(schedule)
  if not ok then return nil, check.join(problems) end
  local start, err = read_from(from)
  if not start then return nil, err end
  if not is_integer(count) or count < 1 or count > MAX_COUNT then
    return nil, "count: expected a whole number 1-" .. MAX_COUNT .. ", got " .. tostring(count)
  end
  if schedule.kind == "off" then return {} end
  local hour, minute = clock.parse_canonical(schedule.time)
  if schedule.kind == "daily" then
    return daily_runs(schedule, start, count, hour, minute)
  end
  return monthly_runs(schedule, start, count, hour, minute)
end

return calendar
