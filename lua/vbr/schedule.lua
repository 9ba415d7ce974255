--- Schedules of the configuration backup job, independent of API revision.
--
-- A schedule is a plain table in one of three shapes (build it by hand, with
-- the builders below, from a template, from text with `parse`, or from the
-- server with `from_api`):
--
--     { kind = "off" }
--     { kind = "daily", time = "22:00",
--       days = { "monday", "wednesday", "friday" } }
--     { kind = "monthly", time = "22:00", ordinal = "fourth", weekday = "saturday",
--       months = { "january", ..., "december" } }
--     { kind = "monthly", time = "01:00", day = 1,      months = { ... } }
--     { kind = "monthly", time = "23:00", day = "last", months = { ... } }
--
-- * `time`: 24-hour `"HH:MM"` local server time, two-digit hour.
-- * `days`: the days a daily schedule runs, lower-case full names, each once,
--   at least one. Every day = all seven; weekdays = monday..friday (the API's
--   `Everyday`/`WeekDays`/`SelectedDays` follow from the list).
-- * `ordinal`: `"first"`, `"second"`, `"third"`, `"fourth"` or `"last"`,
--   with `weekday` a lower-case day name; or instead
-- * `day`: 1..31, or `"last"` for the last day of the month (API revision
--   1.3-rev0 and later only).
-- * `months`: the months a monthly schedule runs, lower-case full names, each
--   once, at least one (all twelve for every month).
--
-- Builders, `parse`, `from_api` and `template` return days and months in
-- calendar order (Monday first); hand-built lists may be in any order.
--
-- Day 29, 30 or 31 in a month without it: the run is skipped that month, as
-- VBR does (day 31 runs in January, March, May, July, August, October and
-- December only). Use `day = "last"` for month ends. A schedule whose day
-- occurs in none of its months is invalid.
--
-- Errors: bad user data gives `nil` and a message (`validate`: a list);
-- a wrong argument type (a number where a table belongs) raises.
-- @module vbr.schedule

local words = require "vbr.schedule.words"
local clock = require "vbr.schedule.clock"
local check = require "vbr.schedule.check"
local api = require "vbr.schedule.api"
local text = require "vbr.schedule.text"
local calendar = require "vbr.schedule.calendar"

local type, tostring = type, tostring
local format, lower, concat = string.format, string.lower, table.concat

local DAYS, MONTHS, ORDINALS = words.DAYS, words.MONTHS, words.ORDINALS

local schedule = {}

-- Builders -------------------------------------------------------------------

local function read_time(time)
  local hour, minute = clock.parse(time)
  if not hour then return nil, "time: " .. minute end
  return clock.format(hour, minute)
end

-- Loosely spelt names -> canonical names in calendar order, each once.
local function read_names(list, path, lookup, names, what)
  if type(list) ~= "table" then
    return nil, path .. ": expected a list of " .. what .. " names, got " .. type(list)
  end
  if #list == 0 then return nil, path .. ": the list is empty; name at least one " .. what end
  local chosen = {}
  for i = 1, #list do
    local index = lookup(list[i])
    if not index then
      return nil, format("%s[%d]: unknown %s '%s'", path, i, what, tostring(list[i]))
    end
    if chosen[index] then
      return nil, format("%s[%d]: '%s' is listed twice", path, i, tostring(list[i]))
    end
    chosen[index] = true
  end
  local result = {}
  for i = 1, #names do
    if chosen[i] then result[#result + 1] = names[i] end
  end
  return result
end

local function read_months(months)
  if months == nil then return read_names(MONTHS, "months", words.month_index, MONTHS, "month") end
  return read_names(months, "months", words.month_index, MONTHS, "month")
end

-- The built schedule, or nil and why validation refused it.
local function checked(built)
  local ok, problems = check.validate(built)
  if not ok then return nil, check.join(problems) end
  return built
end

--- A daily schedule.
-- @param time the start time in any style: `"22:00"`, `"10 PM"`, `"22:00:00"`
-- @param[opt] days `nil` for every day, `"weekdays"` for Monday to Friday, or
--   a list of day names in any casing, full or three-letter (`{"Mon", "fri"}`)
-- @treturn table a schedule, or `nil` and a message
function schedule.daily(time, days)
  local canonical_time, err = read_time(time)
  if not canonical_time then return nil, err end
  local day_list
  if days == nil then
    day_list, err = read_names(DAYS, "days", words.day_index, DAYS, "day")
  elseif days == "weekdays" then
    day_list = { DAYS[1], DAYS[2], DAYS[3], DAYS[4], DAYS[5] }
  elseif type(days) == "table" then
    day_list, err = read_names(days, "days", words.day_index, DAYS, "day")
  else
    return nil, "days: expected nothing (every day), \"weekdays\" or a list of day names, got "
      .. tostring(days)
  end
  if not day_list then return nil, err end
  return checked({ kind = "daily", time = canonical_time, days = day_list })
end

--- A monthly schedule on the first..fourth or last given weekday.
-- @param time the start time in any style
-- @param ordinal `"first"`, `"second"`, `"third"`, `"fourth"` or `"last"`, any casing
-- @param weekday a day name in any casing, full or three-letter
-- @param[opt] months a list of month names (any casing, full or three-letter);
--   `nil` for every month
-- @treturn table a schedule, or `nil` and a message
function schedule.monthly_weekday(time, ordinal, weekday, months)
  local canonical_time, err = read_time(time)
  if not canonical_time then return nil, err end
  local ordinal_index = type(ordinal) == "string" and words.index_of(ORDINALS, lower(ordinal))
  if not ordinal_index then
    return nil, "ordinal: expected first, second, third, fourth or last, got " .. tostring(ordinal)
  end
  local weekday_index = words.day_index(weekday)
  if not weekday_index then return nil, "weekday: unknown day " .. tostring(weekday) end
  local month_list
  month_list, err = read_months(months)
  if not month_list then return nil, err end
  return checked({ kind = "monthly", time = canonical_time, ordinal = ORDINALS[ordinal_index],
    weekday = DAYS[weekday_index], months = month_list })
end

--- A monthly schedule on a day of the month.
-- @param time the start time in any style
-- @param day 1..31, or `"last"` (any casing) for the last day of the month,
--   which needs API revision 1.3-rev0 or later. A month without the day is
--   skipped.
-- @param[opt] months a list of month names; `nil` for every month
-- @treturn table a schedule, or `nil` and a message
function schedule.monthly_day(time, day, months)
  local canonical_time, err = read_time(time)
  if not canonical_time then return nil, err end
  if type(day) == "string" and lower(day) == "last" then day = "last" end
  local month_list
  month_list, err = read_months(months)
  if not month_list then return nil, err end
  return checked({ kind = "monthly", time = canonical_time, day = day, months = month_list })
end

--- No automatic runs.
-- @treturn table `{ kind = "off" }`
function schedule.off()
  return { kind = "off" }
end

-- Templates -------------------------------------------------------------------

local TEMPLATES = {
  { name = "vbr-daily", description = "VBR's default: every day at 10:00",
    build = function() return schedule.daily("10:00") end },
  { name = "vbr-monthly",
    description = "VBR's monthly default: the fourth Saturday of every month at 22:00",
    build = function() return schedule.monthly_weekday("22:00", "fourth", "saturday") end },
  { name = "nightly", description = "every day at 22:00",
    build = function() return schedule.daily("22:00") end },
  { name = "weeknights", description = "Monday to Friday at 22:00",
    build = function() return schedule.daily("22:00", "weekdays") end },
  { name = "weekly", description = "every Saturday at 22:00",
    build = function() return schedule.daily("22:00", { "saturday" }) end },
  { name = "month-end",
    description = "the last day of every month at 23:00 (API revision 1.3-rev0 and later)",
    build = function() return schedule.monthly_day("23:00", "last") end },
  { name = "quarterly", description = "day 1 of January, April, July and October at 01:00",
    build = function()
      return schedule.monthly_day("01:00", 1, { "january", "april", "july", "october" })
    end },
  { name = "off", description = "no automatic runs",
    build = function() return schedule.off() end },
}

--- The named templates, in the order above: a list of `{name =, description =}`.
--
-- * `vbr-daily`: VBR's default, every day at 10:00
-- * `vbr-monthly`: VBR's monthly default, the fourth Saturday at 22:00
-- * `nightly`: every day at 22:00
-- * `weeknights`: Monday to Friday at 22:00
-- * `weekly`: every Saturday at 22:00
-- * `month-end`: the last day of every month at 23:00 (1.3-rev0 and later)
-- * `quarterly`: day 1 of January, April, July and October at 01:00
-- * `off`: no automatic runs
function schedule.templates()
  local list = {}
  for i = 1, #TEMPLATES do
    list[i] = { name = TEMPLATES[i].name, description = TEMPLATES[i].description }
  end
  return list
end

--- A new copy of a named template (see `templates`).
-- @tparam string name
-- @treturn table a schedule, or `nil` and a message listing the names
function schedule.template(name)
  local names = {}
  for i = 1, #TEMPLATES do
    if TEMPLATES[i].name == name then return TEMPLATES[i].build() end
    names[i] = TEMPLATES[i].name
  end
  return nil, "unknown schedule template '" .. tostring(name) .. "' (known: "
    .. concat(names, ", ") .. ")"
end

-- The rest -------------------------------------------------------------------------

--- Checks a schedule table, and with a revision also that the revision can
-- express it (`day = "last"` needs 1.3-rev0 or later).
-- @tparam table schedule
-- @tparam[opt] string revision e.g. `"1.3-rev1"`; an unknown one is a problem
--   at path `"revision"`
-- @return `true`, or `nil` and a list of `{path = "days[2]", message = "..."}`
-- @function validate
schedule.validate = check.validate

--- The API's `schedule` member (a complete ConfigBackupScheduleModel) for a
-- revision: its `EDayOfWeek` casing, its `localTime` style, and
-- `isLastDayOfMonth` where it exists. The half not in use gets VBR's defaults
-- (daily 10:00 every day; monthly 22:00 on the fourth Saturday, day 1, every
-- month), so a PUT validates. `{kind = "off"}` gives `isEnabled = false` with
-- those defaults, the daily half enabled as on a fresh install.
-- @tparam table schedule
-- @tparam string revision e.g. `"1.3-rev1"`
-- @tparam[opt] table options `like`: the server's own `schedule` table (from
--   a GET). The result then starts as a copy of it, so fields this module
--   does not know and the half not in use come back unchanged, and it is
--   written in that table's time style and day casing rather than the
--   revision's. Lists keep the metatable of the list they replace.
-- @treturn table the API table, or `nil` and a message
-- @function render
schedule.render = api.render

--- Reads the API's `schedule` member from any revision: any casing, any
-- `localTime` style (`10:00 PM`, `22:00`, `22:00:00`), cjson nulls as absent.
-- `isEnabled = false`, or neither half enabled, reads as `{kind = "off"}`;
-- both halves enabled is refused (a schedule table holds one). Missing
-- `monthly.months` means every month. `from_api(render(s, rev))` equals `s`
-- for any schedule built by this module.
-- @tparam table api_schedule
-- @treturn table a schedule, or `nil` and a message naming the field
-- @function from_api
schedule.from_api = api.from_api

--- One English sentence, without a final period: "Every weekday at 22:00",
-- "On the last Friday of January and July at 23:00", "Not scheduled".
-- @tparam table schedule
-- @treturn string or `nil` and a message
-- @function describe
schedule.describe = text.describe

--- Reads a schedule from a short English phrase, in any casing:
-- "daily at 22:00", "every weekday at 10 PM", "mon,wed,fri 06:30",
-- "mon-fri at 22:00", "monthly on the last friday at 23:00",
-- "monthly on day 1 at 01:00 in jan,apr,jul,oct", "off", and every sentence
-- `describe` writes. Times: `22:00`, `6:30`, `10 PM`, `10:30 am`, `noon`,
-- `midnight`.
-- @tparam string phrase
-- @treturn table a schedule, or `nil` and a message saying at which position
--   it stopped understanding and what it expected there
-- @function parse
schedule.parse = text.parse

--- The next start times of a schedule, strictly after `from`.
-- Local server time, plain calendar arithmetic (no time zones, no daylight
-- saving). Months without the chosen day are skipped (see the module comment).
-- @tparam table schedule
-- @param[opt] from the point in time, local: an `os.time()` number, a table
--   `{year =, month =, day =, hour =, min =}` (hour and min default to 0;
--   what `os.date("*t")` returns will do), or nil for now; a start exactly
--   at `from` is not included, so passing the last result back continues the
--   series
-- @tparam integer count how many, 1..1000
-- @treturn {string,...} start times as `"YYYY-MM-DD HH:MM"` (empty for an off
--   schedule), or `nil` and a message
-- @function next_runs
schedule.next_runs = calendar.next_runs

return schedule
