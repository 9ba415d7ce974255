-- vbr.schedule: table-driven specs. Expected dates were checked against
-- Python's calendar module, expected API tables against the OpenAPI documents.

local schedule = require "vbr.schedule"
local revision = require "vbr.revision"
local clock = require "vbr.schedule.clock"
local json = require "vbr.json"

local ALL_DAYS = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" }
local WEEKDAYS = { "monday", "tuesday", "wednesday", "thursday", "friday" }
local ALL_MONTHS = {
  "january", "february", "march", "april", "may", "june",
  "july", "august", "september", "october", "november", "december",
}
local ALL_REVISIONS = revision.known()
local OLD_REVISIONS = { "1.1-rev0", "1.1-rev1", "1.1-rev2", "1.2-rev0", "1.2-rev1" }

local function daily(time, days) return { kind = "daily", time = time, days = days } end

local function capitalized(names)
  local list = {}
  for i, name in ipairs(names) do list[i] = name:sub(1, 1):upper() .. name:sub(2) end
  return list
end

-- The paths of a validation problem list, in order.
local function paths_of(problems)
  local paths = {}
  for i, problem in ipairs(problems) do paths[i] = problem.path end
  return paths
end

describe("vbr.schedule.clock", function()
  local readable = {
    { "22:00", 22, 0, "24h" }, { "06:30", 6, 30, "24h" }, { "6:30", 6, 30, "24h" },
    { "22:00:00", 22, 0, "24h_seconds" }, { "00:00:00", 0, 0, "24h_seconds" },
    { "10:00 PM", 22, 0, "12h" }, { "10:00 AM", 10, 0, "12h" }, { "12:00 AM", 0, 0, "12h" },
    { "12:30 PM", 12, 30, "12h" }, { "10 pm", 22, 0, "12h" }, { "7PM", 19, 0, "12h" },
    { "11:59:00 pm", 23, 59, "12h" }, { " 23:59 ", 23, 59, "24h" },
  }
  for _, case in ipairs(readable) do
    it("reads '" .. case[1] .. "'", function()
      local hour, minute, style = clock.parse(case[1])
      assert.same({ case[2], case[3], case[4] }, { hour, minute, style })
    end)
  end

  local unreadable = {
    { "25:00", "hour 25" }, { "24:00", "hour 24" }, { "22:60", "minute 60" },
    { "13:00 PM", "1%-12" }, { "0:30 AM", "1%-12" }, { "22", "not a time" },
    { "22:00:30", "whole minutes" }, { "ten", "not a time" }, { "", "not a time" },
  }
  for _, case in ipairs(unreadable) do
    it("refuses '" .. case[1] .. "'", function()
      local hour, err = clock.parse(case[1])
      assert.is_nil(hour)
      assert.matches(case[2], err)
    end)
  end

  local written = { { 22, 0, "22:00", "22:00:00" }, { 0, 5, "00:05", "00:05:00" },
                    { 9, 30, "09:30", "09:30:00" }, { 23, 59, "23:59", "23:59:00" } }
  for _, case in ipairs(written) do
    it("writes " .. case[1] .. ":" .. case[2] .. " as '" .. case[3] .. "' and, for the API, '"
      .. case[4] .. "'", function()
      assert.equal(case[3], clock.format(case[1], case[2]))
      assert.equal(case[4], clock.format_api(case[1], case[2]))
    end)
  end
end)

describe("vbr.schedule builders", function()
  local valid = {
    { "daily every day", function() return schedule.daily("22:00") end,
      daily("22:00", ALL_DAYS) },
    { "daily on weekdays, 12-hour input", function() return schedule.daily("10 PM", "weekdays") end,
      daily("22:00", WEEKDAYS) },
    { "daily on chosen days in any casing and order",
      function() return schedule.daily("6:30", { "FRI", "Monday", "wed" }) end,
      daily("06:30", { "monday", "wednesday", "friday" }) },
    { "daily with seconds input", function() return schedule.daily("22:00:00", { "sun" }) end,
      daily("22:00", { "sunday" }) },
    { "monthly fourth Saturday",
      function() return schedule.monthly_weekday("22:00", "Fourth", "SAT") end,
      { kind = "monthly", time = "22:00", ordinal = "fourth", weekday = "saturday",
        months = ALL_MONTHS } },
    { "monthly last Friday in some months",
      function() return schedule.monthly_weekday("23:00", "last", "friday", { "Dec", "jun" }) end,
      { kind = "monthly", time = "23:00", ordinal = "last", weekday = "friday",
        months = { "june", "december" } } },
    { "monthly on day 15", function() return schedule.monthly_day("09:00", 15) end,
      { kind = "monthly", time = "09:00", day = 15, months = ALL_MONTHS } },
    { "monthly on the last day", function() return schedule.monthly_day("23:00", "LAST") end,
      { kind = "monthly", time = "23:00", day = "last", months = ALL_MONTHS } },
    { "monthly on day 31 where some chosen months have it",
      function() return schedule.monthly_day("01:00", 31, { "february", "march" }) end,
      { kind = "monthly", time = "01:00", day = 31, months = { "february", "march" } } },
    { "off", function() return schedule.off() end, { kind = "off" } },
  }
  for _, case in ipairs(valid) do
    it("builds " .. case[1], function()
      local built, err = case[2]()
      assert.is_nil(err)
      assert.same(case[3], built)
    end)
  end

  local invalid = {
    { "25:00", function() return schedule.daily("25:00") end, "^time: hour 25" },
    { "a day 'funday'", function() return schedule.daily("10:00", { "mon", "funday" }) end,
      "^days%[2%]: unknown day 'funday'" },
    { "an empty day list", function() return schedule.daily("10:00", {}) end,
      "^days: the list is empty" },
    { "a day given twice", function() return schedule.daily("10:00", { "mon", "Monday" }) end,
      "^days%[2%]: 'Monday' is listed twice" },
    { "days as a word other than weekdays",
      function() return schedule.daily("10:00", "weekends") end,
      "^days: expected" },
    { "day 0", function() return schedule.monthly_day("10:00", 0) end, "^day: expected a day" },
    { "day 32", function() return schedule.monthly_day("10:00", 32) end, "^day: expected a day" },
    { "day 1.5", function() return schedule.monthly_day("10:00", 1.5) end, "^day: expected a day" },
    { "day 30 in February only",
      function() return schedule.monthly_day("10:00", 30, { "feb" }) end, "^day: day 30 never" },
    { "day 31 in 30-day months only",
      function() return schedule.monthly_day("10:00", 31, { "apr", "jun", "sep", "nov" }) end,
      "^day: day 31 never" },
    { "a fifth Monday", function() return schedule.monthly_weekday("10:00", "fifth", "mon") end,
      "^ordinal: expected first" },
    { "a weekday 'funday'",
      function() return schedule.monthly_weekday("10:00", "first", "funday") end,
      "^weekday: unknown day funday" },
    { "an unknown month", function() return schedule.monthly_day("10:00", 1, { "smarch" }) end,
      "^months%[1%]: unknown month 'smarch'" },
    { "a month given twice",
      function() return schedule.monthly_day("10:00", 1, { "jan", "JAN" }) end,
      "^months%[2%]: 'JAN' is listed twice" },
    { "an empty month list", function() return schedule.monthly_day("10:00", 1, {}) end,
      "^months: the list is empty" },
    { "a time with seconds", function() return schedule.daily("10:00:30") end, "whole minutes" },
    { "a time that is not a string", function() return schedule.daily(1000) end,
      "^time: expected" },
  }
  for _, case in ipairs(invalid) do
    it("refuses " .. case[1], function()
      local built, err = case[2]()
      assert.is_nil(built)
      assert.matches(case[3], err)
    end)
  end

  for i, day in ipairs(ALL_DAYS) do
    it("knows the day " .. day .. " by its three letters in upper case", function()
      assert.same(daily("10:00", { ALL_DAYS[i] }),
        schedule.daily("10:00", { day:sub(1, 3):upper() }))
    end)
  end
  for _, ordinal in ipairs({ "first", "second", "third", "fourth", "last" }) do
    it("knows the ordinal " .. ordinal, function()
      local built = assert(schedule.monthly_weekday("22:00", ordinal:upper(), "tue"))
      assert.equal(ordinal, built.ordinal)
    end)
  end
  for i, month in ipairs(ALL_MONTHS) do
    it("knows the month " .. month .. " as " .. month:sub(1, 3), function()
      local built = assert(schedule.monthly_day("22:00", 1, { month:sub(1, 3) }))
      assert.same({ ALL_MONTHS[i] }, built.months)
    end)
  end
end)

describe("vbr.schedule templates", function()
  it("lists each template with a description", function()
    local names = {}
    for i, template in ipairs(schedule.templates()) do
      names[i] = template.name
      assert.is_string(template.description)
    end
    assert.same({ "vbr-daily", "vbr-monthly", "nightly", "weeknights", "weekly", "month-end",
      "quarterly", "off" }, names)
  end)
  it("has VBR's defaults", function()
    assert.same(daily("10:00", ALL_DAYS), schedule.template("vbr-daily"))
    assert.same({ kind = "monthly", time = "22:00", ordinal = "fourth", weekday = "saturday",
      months = ALL_MONTHS }, schedule.template("vbr-monthly"))
  end)
  it("returns a new table each time", function()
    local first = schedule.template("nightly")
    first.days[1] = "sunday"
    assert.equal("monday", schedule.template("nightly").days[1])
  end)
  it("refuses an unknown name and lists the known ones", function()
    local template, err = schedule.template("hourly")
    assert.is_nil(template)
    assert.matches("unknown schedule template 'hourly' %(known: vbr%-daily, ", err)
  end)
end)

describe("vbr.schedule.parse", function()
  local readable = {
    { "daily at 22:00", daily("22:00", ALL_DAYS) },
    { "Daily 22:00", daily("22:00", ALL_DAYS) },
    { "every day at 10:00 am", daily("10:00", ALL_DAYS) },
    { "everyday at noon", daily("12:00", ALL_DAYS) },
    { "every weekday at 10 PM", daily("22:00", WEEKDAYS) },
    { "weekdays at midnight", daily("00:00", WEEKDAYS) },
    { "daily on weekdays at 22:00", daily("22:00", WEEKDAYS) },
    { "mon,wed,fri 06:30", daily("06:30", { "monday", "wednesday", "friday" }) },
    { "Fri, Mon and WED at 6:30", daily("06:30", { "monday", "wednesday", "friday" }) },
    { "mon-fri at 22:00", daily("22:00", WEEKDAYS) },
    { "monday to thursday at 22:00",
      daily("22:00", { "monday", "tuesday", "wednesday", "thursday" }) },
    { "fri-mon at 3:00 pm", daily("15:00", { "monday", "friday", "saturday", "sunday" }) },
    { "every weekend at 08:00", daily("08:00", { "saturday", "sunday" }) },
    { "on sundays at 1:00", daily("01:00", { "sunday" }) },
    { "at 22:00 on tue & thu", daily("22:00", { "tuesday", "thursday" }) },
    { "monthly on the last friday at 23:00",
      { kind = "monthly", time = "23:00", ordinal = "last", weekday = "friday",
        months = ALL_MONTHS } },
    { "monthly on the fourth saturday at 22:00",
      { kind = "monthly", time = "22:00", ordinal = "fourth", weekday = "saturday",
        months = ALL_MONTHS } },
    { "monthly on the 2nd tue at 10 pm",
      { kind = "monthly", time = "22:00", ordinal = "second", weekday = "tuesday",
        months = ALL_MONTHS } },
    { "monthly on day 1 at 01:00 in jan,apr,jul,oct",
      { kind = "monthly", time = "01:00", day = 1,
        months = { "january", "april", "july", "october" } } },
    { "every month on the 15th at 9 am",
      { kind = "monthly", time = "09:00", day = 15, months = ALL_MONTHS } },
    { "monthly on the last day of the month at 23:00",
      { kind = "monthly", time = "23:00", day = "last", months = ALL_MONTHS } },
    { "monthly at 23:00 on the first monday in nov-feb",
      { kind = "monthly", time = "23:00", ordinal = "first", weekday = "monday",
        months = { "january", "february", "november", "december" } } },
    { "On day 31 of March and May at 22:00",
      { kind = "monthly", time = "22:00", day = 31, months = { "march", "may" } } },
    { "off", { kind = "off" } },
    { "Disabled", { kind = "off" } },
    { "never", { kind = "off" } },
    { "Not scheduled", { kind = "off" } },
  }
  for _, case in ipairs(readable) do
    it("reads '" .. case[1] .. "'", function()
      local parsed, err = schedule.parse(case[1])
      assert.is_nil(err)
      assert.same(case[2], parsed)
    end)
  end

  -- { text, where it stopped, what it expected }
  local unreadable = {
    { "daily at 25:00", 'at position 10 %("25:00"%)', "hour 25 is out of range" },
    { "funday at 10:00", 'at position 1 %("funday"%)', "expected a part of a schedule" },
    { "every funday at 10:00", 'at position 7 %("funday"%)', "expected 'day', 'month', 'weekday'" },
    { "mon,funday 10:00", 'at position 5 %("funday"%)', "expected a day name" },
    { "mon,mon 10:00", 'at position 5 %("mon"%)', "not already in the list" },
    { "mon-fri,wed 10:00", 'at position 9 %("wed"%)', "not already in the list" },
    { "monthly on day 0 at 10:00", 'at position 16 %("0"%)', "a day of the month 1%-31" },
    { "monthly on day 32 at 10:00", 'at position 16 %("32"%)', "a day of the month 1%-31" },
    { "monthly on the fifth friday at 10:00", 'at position 16 %("fifth"%)',
      "which day of the month" },
    { "monthly on the 5th friday at 10:00", 'at position 16 %("5"%)', "first..fourth or last" },
    { "monthly at 22:00", "at the end", "which day of the month" },
    { "daily at", "at the end", "a time such as 22:00" },
    { "daily", "at the end", "a time such as 22:00" },
    { "daily at 22", 'at position 10 %("22"%)', "not a time" },
    { "at 22:00", "at the end", "'daily', 'every weekday'" },
    { "daily at 22:00 at 23:00", 'at position 16 %("at"%)', "no second time %(one was given at "
      .. "position 7%)" },
    { "daily on day 1 at 10:00", 'at position 10 %("day"%)', "a daily schedule has no day" },
    { "mon at 10:00 in january", 'at position 14 %("in"%)', "they only go with a monthly" },
    { "monthly on the last friday at 23:00 in jan,smarch", 'at position 44 %("smarch"%)',
      "a month name" },
    { "off at 10:00", 'at position 5 %("at"%)', "nothing after 'off'" },
    { "daily @ 22:00", 'at position 7 %("@"%)', "a word, a number or a comma" },
    { "", "at the end", "a schedule such as" },
  }
  for _, case in ipairs(unreadable) do
    it("refuses '" .. case[1] .. "', saying where and what it expected", function()
      local parsed, err = schedule.parse(case[1])
      assert.is_nil(parsed)
      assert.matches("^cannot read the schedule " .. case[2] .. ": expected", err)
      assert.matches(case[3], err)
    end)
  end

  it("raises when given no string", function()
    assert.has_error(function() schedule.parse(nil) end,
      "vbr.schedule.parse: expected a string, got nil")
  end)

  for _, template in ipairs(schedule.templates()) do
    it("reads back describe's sentence for the " .. template.name .. " template", function()
      local original = schedule.template(template.name)
      assert.same(original, schedule.parse(assert(schedule.describe(original))))
    end)
  end
end)

describe("vbr.schedule.validate", function()
  it("accepts a valid schedule with or without a revision", function()
    assert.is_true(schedule.validate(daily("22:00", { "friday", "monday" })))
    assert.is_true(schedule.validate(daily("22:00", WEEKDAYS), "1.1-rev0"))
  end)

  -- { what, schedule, revision, expected paths, a message pattern of the first }
  local invalid = {
    { "25:00", daily("25:00", ALL_DAYS), nil, { "time" }, "hour 25" },
    { "a 12-hour time", daily("10:00 PM", ALL_DAYS), nil, { "time" }, "24%-hour" },
    { "a one-digit hour", daily("6:30", ALL_DAYS), nil, { "time" }, "HH:MM" },
    { "a missing time", { kind = "daily", days = ALL_DAYS }, nil, { "time" }, "missing" },
    { "a day 'funday'", daily("10:00", { "monday", "funday" }), nil, { "days[2]" },
      'unknown day "funday"' },
    { "a capitalized day", daily("10:00", { "Monday" }), nil, { "days[1]" }, "lower case" },
    { "an empty day list", daily("10:00", {}), nil, { "days" }, "the list is empty" },
    { "duplicate days", daily("10:00", { "monday", "friday", "monday" }), nil, { "days[3]" },
      '"monday" is listed twice' },
    { "days that are not a list", daily("10:00", "weekdays"), nil, { "days" },
      "expected a list" },
    { "day 0", { kind = "monthly", time = "10:00", day = 0, months = ALL_MONTHS }, nil,
      { "day" }, "got 0" },
    { "day 32", { kind = "monthly", time = "10:00", day = 32, months = ALL_MONTHS }, nil,
      { "day" }, "got 32" },
    { "a day as a string", { kind = "monthly", time = "10:00", day = "1", months = ALL_MONTHS },
      nil, { "day" }, 'got "1"' },
    { "both day and ordinal",
      { kind = "monthly", time = "10:00", day = 1, ordinal = "first", weekday = "monday",
        months = ALL_MONTHS }, nil, { "day" }, "not both" },
    { "neither day nor ordinal", { kind = "monthly", time = "10:00", months = ALL_MONTHS }, nil,
      { "day" }, "needs day %(1%-31 or \"last\"%) or ordinal and weekday" },
    { "an ordinal without a weekday",
      { kind = "monthly", time = "10:00", ordinal = "first", months = ALL_MONTHS }, nil,
      { "weekday" }, "got nil" },
    { "a fifth ordinal",
      { kind = "monthly", time = "10:00", ordinal = "fifth", weekday = "monday",
        months = ALL_MONTHS }, nil, { "ordinal" }, 'got "fifth"' },
    { "an empty month list", { kind = "monthly", time = "10:00", day = 1, months = {} }, nil,
      { "months" }, "the list is empty" },
    { "a missing month list", { kind = "monthly", time = "10:00", day = 1 }, nil,
      { "months" }, "missing" },
    { "duplicate months",
      { kind = "monthly", time = "10:00", day = 1, months = { "june", "june" } }, nil,
      { "months[2]" }, "listed twice" },
    { "day 31 in February only",
      { kind = "monthly", time = "10:00", day = 31, months = { "february" } }, nil,
      { "day" }, "never occurs" },
    { "an unknown kind", { kind = "weekly" }, nil, { "kind" }, 'got "weekly"' },
    { "a misspelt field", { kind = "daily", time = "10:00", days = ALL_DAYS, day = { "monday" } },
      nil, { "day" }, "unknown field" },
    { "fields on an off schedule", { kind = "off", time = "10:00" }, nil, { "time" },
      "unknown field" },
    { "an unknown revision", daily("10:00", ALL_DAYS), "1.4-rev0", { "revision" },
      "known: 1%.1%-rev0, " },
    { "several problems at once", daily("24:00", { "moonday", "monday", "monday" }), nil,
      { "time", "days[1]", "days[3]" }, "hour 24" },
  }
  for _, revision_name in ipairs(OLD_REVISIONS) do
    invalid[#invalid + 1] = { "the last day on " .. revision_name,
      { kind = "monthly", time = "23:00", day = "last", months = ALL_MONTHS }, revision_name,
      { "day" }, "needs API revision 1%.3%-rev0 or later %(" .. revision_name:gsub("%-", "%%-") }
  end
  for _, case in ipairs(invalid) do
    it("reports " .. case[1], function()
      local ok, problems = schedule.validate(case[2], case[3])
      assert.is_nil(ok)
      assert.same(case[4], paths_of(problems))
      assert.matches(case[5], problems[1].message)
    end)
  end

  for _, revision_name in ipairs({ "1.3-rev0", "1.3-rev1", "1.3-rev2" }) do
    it("accepts the last day on " .. revision_name, function()
      assert.is_true(schedule.validate(schedule.template("month-end"), revision_name))
    end)
  end

  it("raises for a schedule that is not a table", function()
    assert.has_error(function() schedule.validate("daily at 22:00") end,
      "vbr.schedule.validate: the schedule must be a table, got string")
  end)
end)

describe("vbr.schedule.render", function()
  -- The documents' example of a default schedule, per revision, with the
  -- times as their schemas' format: time says (the examples write 10:00 AM
  -- in 1.1-rev0 and 10:00 in 1.2-rev1 and 1.3-rev0).
  local example = {
    ["1.1-rev0"] = { "lower", "10:00:00", "22:00:00", false },
    ["1.2-rev1"] = { "lower", "10:00:00", "22:00:00", false },
    ["1.3-rev0"] = { "lower", "10:00:00", "22:00:00", true },
    ["1.3-rev1"] = { "capitalized", "10:00:00", "22:00:00", true },
    ["1.3-rev2"] = { "capitalized", "10:00:00", "22:00:00", true },
  }
  for _, revision_name in ipairs({ "1.1-rev0", "1.2-rev1", "1.3-rev0", "1.3-rev1", "1.3-rev2" }) do
    it("writes VBR's default schedule as the " .. revision_name .. " schema says", function()
      local facts = example[revision_name]
      local day_case, daily_time, monthly_time, has_flag = facts[1], facts[2], facts[3], facts[4]
      local days = day_case == "lower" and ALL_DAYS or capitalized(ALL_DAYS)
      local expected = {
        isEnabled = true,
        daily = { isEnabled = true, dailyKind = "Everyday", localTime = daily_time, days = days },
        monthly = { isEnabled = false, localTime = monthly_time, dayOfWeek = days[6],
          dayNumberInMonth = "Fourth", dayOfMonth = 1, months = capitalized(ALL_MONTHS) },
      }
      if has_flag then expected.monthly.isLastDayOfMonth = false end
      assert.same(expected, schedule.render(schedule.template("vbr-daily"), revision_name))
    end)
  end

  -- { schedule, revision, path into the result, expected value }
  local fields = {
    { daily("22:00", WEEKDAYS), "1.1-rev0", { "daily", "dailyKind" }, "WeekDays" },
    { daily("22:00", { "monday", "friday" }), "1.3-rev2", { "daily", "dailyKind" },
      "SelectedDays" },
    { daily("22:00", { "friday", "monday" }), "1.3-rev2", { "daily", "days" },
      { "Monday", "Friday" } },
    { daily("22:00", { "friday", "monday" }), "1.2-rev0", { "daily", "days" },
      { "monday", "friday" } },
    { daily("00:30", ALL_DAYS), "1.1-rev2", { "daily", "localTime" }, "00:30:00" },
    { daily("13:05", ALL_DAYS), "1.1-rev1", { "daily", "localTime" }, "13:05:00" },
    { daily("13:05", ALL_DAYS), "1.2-rev1", { "daily", "localTime" }, "13:05:00" },
    { daily("13:05", ALL_DAYS), "1.3-rev1", { "daily", "localTime" }, "13:05:00" },
    { daily("13:05", ALL_DAYS), "1.3-rev1", { "monthly", "isEnabled" }, false },
    { schedule.template("month-end"), "1.3-rev0", { "monthly", "isLastDayOfMonth" }, true },
    { schedule.template("month-end"), "1.3-rev0", { "monthly", "dayNumberInMonth" }, "OnDay" },
    { schedule.template("month-end"), "1.3-rev1", { "daily", "isEnabled" }, false },
    { schedule.template("quarterly"), "1.2-rev1", { "monthly", "dayOfMonth" }, 1 },
    { schedule.template("quarterly"), "1.2-rev1", { "monthly", "isLastDayOfMonth" }, nil },
    { schedule.template("quarterly"), "1.3-rev2", { "monthly", "isLastDayOfMonth" }, false },
    { schedule.template("quarterly"), "1.3-rev2", { "monthly", "months" },
      { "January", "April", "July", "October" } },
    { schedule.parse("monthly on the last sunday at 23:00"), "1.3-rev1",
      { "monthly", "dayOfWeek" }, "Sunday" },
    { schedule.parse("monthly on the last sunday at 23:00"), "1.3-rev0",
      { "monthly", "dayNumberInMonth" }, "Last" },
    { schedule.parse("monthly on the first monday at 11 pm"), "1.1-rev0",
      { "monthly", "localTime" }, "23:00:00" },
    { schedule.off(), "1.3-rev2", { "isEnabled" }, false },
    { schedule.off(), "1.3-rev2", { "daily", "localTime" }, "10:00:00" },
  }
  for i, case in ipairs(fields) do
    it("writes " .. table.concat(case[3], ".") .. " for " .. case[2] .. " (case " .. i .. ")",
      function()
        local value = assert(schedule.render(case[1], case[2]))
        for _, key in ipairs(case[3]) do value = value[key] end
        assert.same(case[4], value)
      end)
  end

  it("refuses the last day for an old revision", function()
    local rendered, err = schedule.render(schedule.template("month-end"), "1.2-rev1")
    assert.is_nil(rendered)
    assert.matches("^day: the last day of the month needs API revision 1%.3%-rev0", err)
  end)

  it("refuses an unknown revision, listing the known ones", function()
    local rendered, err = schedule.render(schedule.template("nightly"), "1.3-rev3")
    assert.is_nil(rendered)
    assert.equal("unknown API revision '1.3-rev3' (known: 1.1-rev0, 1.1-rev1, 1.1-rev2, "
      .. "1.2-rev0, 1.2-rev1, 1.3-rev0, 1.3-rev1, 1.3-rev2)", err)
  end)

  it("raises for a revision that is not a string", function()
    assert.has_error(function() schedule.render(schedule.off(), 13) end,
      "vbr.schedule.render: the revision must be a string, got number")
  end)

  for _, revision_name in ipairs(ALL_REVISIONS) do
    for _, template in ipairs(schedule.templates()) do
      local original = schedule.template(template.name)
      local expressible = not (original.day == "last"
        and not revision.get(revision_name).has_last_day_of_month)
      if expressible then
        it("round-trips " .. template.name .. " through " .. revision_name, function()
          local rendered = assert(schedule.render(original, revision_name))
          assert.same(original, schedule.from_api(rendered))
        end)
      end
    end
  end

  describe("like a server's own table", function()
    local server = {
      isEnabled = true,
      futureField = { keep = "me" },
      daily = { isEnabled = true, dailyKind = "Everyday", localTime = "10:00 PM",
        days = setmetatable({ "Monday" }, { __name = "array" }), futureDailyField = 1 },
      monthly = { isEnabled = false, localTime = "11:00 PM", dayOfWeek = "Sunday",
        dayNumberInMonth = "Last", dayOfMonth = 5, months = { "May" } },
    }

    it("writes the time and days it sets as the revision's schema says, not in the "
      .. "server's style", function()
      local rendered = assert(schedule.render(daily("06:30", { "monday", "friday" }),
        "1.3-rev0", { like = server }))
      assert.equal("06:30:00", rendered.daily.localTime)
      assert.same({ "monday", "friday" }, rendered.daily.days)
    end)

    it("keeps a null the server sent in the half not in use", function()
      local like = assert(json.decode('{"isEnabled":true,"daily":{"isEnabled":true,'
        .. '"localTime":"22:00","dailyKind":"Everyday","days":["monday"]},'
        .. '"monthly":{"isEnabled":false,"dayOfWeek":null}}'))
      local rendered = assert(schedule.render(daily("06:30", WEEKDAYS), "1.3-rev0",
        { like = like }))
      assert.is_nil(rendered.monthly.dayOfWeek)
      assert.matches('"dayOfWeek":null', json.encode(rendered), 1, true)
    end)

    it("keeps fields it does not know and the half not in use", function()
      local rendered = assert(schedule.render(daily("06:30", WEEKDAYS), "1.3-rev2",
        { like = server }))
      assert.same({ keep = "me" }, rendered.futureField)
      assert.equal(1, rendered.daily.futureDailyField)
      assert.same({ isEnabled = false, localTime = "11:00 PM", dayOfWeek = "Sunday",
        dayNumberInMonth = "Last", dayOfMonth = 5, months = { "May" }, isLastDayOfMonth = false },
        rendered.monthly)
    end)

    it("keeps the metatable of the lists it replaces and leaves the server's table alone",
      function()
        local rendered = assert(schedule.render(daily("06:30", WEEKDAYS), "1.3-rev2",
          { like = server }))
        assert.equal(getmetatable(server.daily.days), getmetatable(rendered.daily.days))
        assert.same({ "Monday" }, server.daily.days)
        assert.equal("10:00 PM", server.daily.localTime)
      end)

    it("only switches scheduling off when the schedule is off", function()
      local rendered = assert(schedule.render(schedule.off(), "1.3-rev2", { like = server }))
      assert.is_false(rendered.isEnabled)
      assert.equal("10:00 PM", rendered.daily.localTime)
      assert.same({ "May" }, rendered.monthly.months)
    end)
  end)
end)

describe("vbr.schedule.from_api", function()
  local function monthly_api(fields)
    local monthly = { isEnabled = true, localTime = "22:00", dayOfWeek = "saturday",
      dayNumberInMonth = "Fourth", dayOfMonth = 1, months = { "January" } }
    for key, value in pairs(fields) do monthly[key] = value end
    return { isEnabled = true, daily = { isEnabled = false }, monthly = monthly }
  end
  -- cjson decodes null to a light userdata; any userdata stands in for it.
  local null = io.stdout

  local readable = {
    { "a 1.1 daily table",
      { isEnabled = true, daily = { isEnabled = true, dailyKind = "Everyday",
        localTime = "10:00 PM", days = { "monday" } } },
      daily("22:00", ALL_DAYS) },
    { "WeekDays regardless of the days sent",
      { isEnabled = true, daily = { isEnabled = true, dailyKind = "WeekDays",
        localTime = "22:00:00", days = { "Sunday" } } },
      daily("22:00", WEEKDAYS) },
    { "SelectedDays in any casing",
      { isEnabled = true, daily = { isEnabled = true, dailyKind = "selectedDays",
        localTime = "06:30", days = { "FRIDAY", "Monday" } } },
      daily("06:30", { "monday", "friday" }) },
    { "SelectedDays naming all seven days",
      { isEnabled = true, daily = { isEnabled = true, dailyKind = "SelectedDays",
        localTime = "06:30", days = capitalized(ALL_DAYS) } },
      daily("06:30", ALL_DAYS) },
    { "a monthly ordinal", monthly_api({}),
      { kind = "monthly", time = "22:00", ordinal = "fourth", weekday = "saturday",
        months = { "january" } } },
    { "OnDay", monthly_api({ dayNumberInMonth = "OnDay", dayOfMonth = 31 }),
      { kind = "monthly", time = "22:00", day = 31, months = { "january" } } },
    { "the last day of the month", monthly_api({ dayNumberInMonth = "onday",
      isLastDayOfMonth = true, dayOfMonth = 1 }),
      { kind = "monthly", time = "22:00", day = "last", months = { "january" } } },
    { "isLastDayOfMonth beside a weekday ordinal (it overrides dayOfMonth only)",
      monthly_api({ isLastDayOfMonth = true, dayNumberInMonth = "Second" }),
      { kind = "monthly", time = "22:00", ordinal = "second", weekday = "saturday",
        months = { "january" } } },
    { "missing months as every month", monthly_api({ months = null }),
      { kind = "monthly", time = "22:00", ordinal = "fourth", weekday = "saturday",
        months = ALL_MONTHS } },
    { "a disabled schedule", { isEnabled = false, daily = { isEnabled = true } },
      { kind = "off" } },
    { "an enabled schedule with neither half on",
      { isEnabled = true, daily = { isEnabled = false }, monthly = null }, { kind = "off" } },
  }
  for _, ordinal in ipairs({ "First", "Second", "Third", "Fourth", "Last" }) do
    readable[#readable + 1] = { "dayNumberInMonth " .. ordinal,
      monthly_api({ dayNumberInMonth = ordinal, dayOfWeek = "Tuesday" }),
      { kind = "monthly", time = "22:00", ordinal = ordinal:lower(), weekday = "tuesday",
        months = { "january" } } }
  end
  for _, case in ipairs(readable) do
    it("reads " .. case[1], function()
      local read, err = schedule.from_api(case[2])
      assert.is_nil(err)
      assert.same(case[3], read)
    end)
  end

  local unreadable = {
    { "a missing isEnabled", { daily = {} }, "^isEnabled: expected true or false" },
    { "both halves enabled",
      { isEnabled = true, daily = { isEnabled = true }, monthly = { isEnabled = true } },
      "both enabled" },
    { "a bad time", { isEnabled = true, daily = { isEnabled = true, dailyKind = "Everyday",
      localTime = "25:00" } }, "^daily%.localTime: hour 25" },
    { "a missing time", { isEnabled = true, daily = { isEnabled = true, dailyKind = "Everyday" } },
      "^daily%.localTime: missing" },
    { "an unknown dailyKind", { isEnabled = true, daily = { isEnabled = true,
      dailyKind = "Hourly", localTime = "22:00" } }, "^daily%.dailyKind: unknown value Hourly" },
    { "an unknown day", { isEnabled = true, daily = { isEnabled = true,
      dailyKind = "SelectedDays", localTime = "22:00", days = { "Funday" } } },
      "^daily%.days%[1%]: unknown day Funday" },
    { "an empty day list", { isEnabled = true, daily = { isEnabled = true,
      dailyKind = "SelectedDays", localTime = "22:00", days = {} } }, "^daily%.days: expected" },
    { "a day twice", { isEnabled = true, daily = { isEnabled = true,
      dailyKind = "SelectedDays", localTime = "22:00", days = { "monday", "Monday" } } },
      "^daily%.days%[2%]: Monday is listed twice" },
    { "day 0", monthly_api({ dayNumberInMonth = "OnDay", dayOfMonth = 0 }),
      "^monthly%.dayOfMonth: expected a day 1%-31, got 0" },
    { "a missing dayOfWeek", monthly_api({ dayOfWeek = null }),
      "^monthly%.dayOfWeek: unknown value" },
    { "an unknown month", monthly_api({ months = { "Smarch" } }),
      "^monthly%.months%[1%]: unknown month Smarch" },
  }
  for _, case in ipairs(unreadable) do
    it("refuses " .. case[1], function()
      local read, err = schedule.from_api(case[2])
      assert.is_nil(read)
      assert.matches(case[3], err)
    end)
  end
end)

describe("vbr.schedule.describe", function()
  local sentences = {
    { daily("22:00", ALL_DAYS), "Every day at 22:00" },
    { daily("22:00", WEEKDAYS), "Every weekday at 22:00" },
    { daily("06:30", { "friday", "monday", "wednesday" }),
      "Every Monday, Wednesday and Friday at 06:30" },
    { daily("06:30", { "sunday", "saturday" }), "Every Saturday and Sunday at 06:30" },
    { daily("06:30", { "tuesday" }), "Every Tuesday at 06:30" },
    { schedule.template("vbr-monthly"), "On the fourth Saturday of every month at 22:00" },
    { schedule.parse("monthly on the last friday at 23:00 in oct,jan"),
      "On the last Friday of January and October at 23:00" },
    { schedule.template("quarterly"), "On day 1 of January, April, July and October at 01:00" },
    { schedule.template("month-end"), "On the last day of every month at 23:00" },
    { schedule.off(), "Not scheduled" },
  }
  for _, case in ipairs(sentences) do
    it("says '" .. case[2] .. "'", function()
      assert.equal(case[2], schedule.describe(case[1]))
    end)
  end

  it("refuses an invalid schedule", function()
    local sentence, err = schedule.describe(daily("25:00", ALL_DAYS))
    assert.is_nil(sentence)
    assert.matches("^time: hour 25", err)
  end)
end)

describe("vbr.schedule.next_runs", function()
  -- { what, phrase, from, count, expected }
  local cases = {
    { "daily later the same day", "daily at 22:00",
      { year = 2026, month = 3, day = 10, hour = 21, min = 59 }, 2,
      { "2026-03-10 22:00", "2026-03-11 22:00" } },
    { "daily, not at the very minute of from", "daily at 22:00",
      { year = 2026, month = 3, day = 10, hour = 22, min = 0 }, 1, { "2026-03-11 22:00" } },
    { "daily across a month end", "daily at 01:00",
      { year = 2026, month = 4, day = 30, hour = 2 }, 2,
      { "2026-05-01 01:00", "2026-05-02 01:00" } },
    { "daily across a year end", "daily at 23:30",
      { year = 2025, month = 12, day = 31, hour = 23, min = 30 }, 2,
      { "2026-01-01 23:30", "2026-01-02 23:30" } },
    { "weekdays across a year end and a weekend", "every weekday at 22:00",
      { year = 2027, month = 12, day = 30, hour = 23 }, 3,
      { "2027-12-31 22:00", "2028-01-03 22:00", "2028-01-04 22:00" } },
    { "daily through a leap day", "daily at 00:00",
      { year = 2028, month = 2, day = 28, hour = 12 }, 2,
      { "2028-02-29 00:00", "2028-03-01 00:00" } },
    { "a Tuesday only in a leap February", "every tue at 10:00",
      { year = 2028, month = 2, day = 23 }, 2, { "2028-02-29 10:00", "2028-03-07 10:00" } },
    { "the fourth Saturday across a year end", "monthly on the fourth saturday at 22:00",
      { year = 2025, month = 12, day = 1 }, 4,
      { "2025-12-27 22:00", "2026-01-24 22:00", "2026-02-28 22:00", "2026-03-28 22:00" } },
    { "the fourth Saturday, after this month's", "monthly on the fourth saturday at 22:00",
      { year = 2025, month = 12, day = 27, hour = 22, min = 1 }, 1, { "2026-01-24 22:00" } },
    { "the last Friday across a year end", "monthly on the last friday at 23:00",
      { year = 2026, month = 12, day = 1 }, 3,
      { "2026-12-25 23:00", "2027-01-29 23:00", "2027-02-26 23:00" } },
    { "the last Friday of a leap February", "monthly on the last fri at 23:00 in feb",
      { year = 2028, month = 1, day = 1 }, 1, { "2028-02-25 23:00" } },
    { "the first Monday", "monthly on the first monday at 08:00",
      { year = 2025, month = 8, day = 31 }, 3,
      { "2025-09-01 08:00", "2025-10-06 08:00", "2025-11-03 08:00" } },
    { "the second Tuesday", "monthly on the second tuesday at 08:00",
      { year = 2026, month = 3, day = 1 }, 1, { "2026-03-10 08:00" } },
    { "the third Wednesday", "monthly on the third wed at 08:00",
      { year = 2026, month = 3, day = 1 }, 1, { "2026-03-18 08:00" } },
    { "day 31, skipping the months without it", "monthly on day 31 at 23:00",
      { year = 2026, month = 1, day = 31, hour = 23, min = 30 }, 4,
      { "2026-03-31 23:00", "2026-05-31 23:00", "2026-07-31 23:00", "2026-08-31 23:00" } },
    { "day 30, skipping February", "monthly on day 30 at 23:00",
      { year = 2026, month = 1, day = 31 }, 2, { "2026-03-30 23:00", "2026-04-30 23:00" } },
    { "the last day in a leap year and not", "monthly on the last day at 23:00 in feb",
      { year = 2027, month = 1, day = 1 }, 2, { "2027-02-28 23:00", "2028-02-29 23:00" } },
    { "the last day of 30- and 31-day months", "monthly on the last day at 23:00",
      { year = 2026, month = 4, day = 1 }, 3,
      { "2026-04-30 23:00", "2026-05-31 23:00", "2026-06-30 23:00" } },
    { "day 29 of February: leap years only, 2100 not one", "monthly on day 29 at 12:00 in feb",
      { year = 2096, month = 3, day = 1 }, 2, { "2104-02-29 12:00", "2108-02-29 12:00" } },
    { "the months filter across a year end", "monthly on day 1 at 01:00 in jan,apr,jul,oct",
      { year = 2026, month = 10, day = 1, hour = 1 }, 3,
      { "2027-01-01 01:00", "2027-04-01 01:00", "2027-07-01 01:00" } },
    { "a single month, year after year", "monthly on day 15 at 12:00 in june",
      { year = 2026, month = 6, day = 15, hour = 12, min = 1 }, 2,
      { "2027-06-15 12:00", "2028-06-15 12:00" } },
    { "a from of the year 2000 (a leap year)", "daily at 06:00 on tue",
      { year = 2000, month = 2, day = 28 }, 1, { "2000-02-29 06:00" } },
  }
  for _, case in ipairs(cases) do
    it("lists " .. case[1], function()
      local runs, err = schedule.next_runs(assert(schedule.parse(case[2])), case[3], case[4])
      assert.is_nil(err)
      assert.same(case[5], runs)
    end)
  end

  it("continues the series from its own last result", function()
    local weekly = assert(schedule.parse("every saturday at 22:00"))
    local first = schedule.next_runs(weekly, { year = 2026, month = 1, day = 1 }, 2)
    local year, month, day, hour, min = first[2]:match("^(%d+)-(%d+)-(%d+) (%d+):(%d+)$")
    local after = schedule.next_runs(weekly, { year = tonumber(year), month = tonumber(month),
      day = tonumber(day), hour = tonumber(hour), min = tonumber(min) }, 1)
    assert.same({ "2026-01-03 22:00", "2026-01-10 22:00" }, first)
    assert.same({ "2026-01-17 22:00" }, after)
  end)

  it("lists nothing for an off schedule", function()
    assert.same({}, schedule.next_runs(schedule.off(), { year = 2026, month = 1, day = 1 }, 3))
  end)

  local refused = {
    { "from on 31 April", daily("10:00", ALL_DAYS), { year = 2026, month = 4, day = 31 }, 1,
      "^from%.day: expected 1%-30 for 2026%-04" },
    { "from on 29 February of a common year", daily("10:00", ALL_DAYS),
      { year = 2027, month = 2, day = 29 }, 1, "^from%.day: expected 1%-28" },
    { "from at hour 24", daily("10:00", ALL_DAYS),
      { year = 2027, month = 2, day = 1, hour = 24 }, 1, "^from%.hour" },
    { "from without a month", daily("10:00", ALL_DAYS), { year = 2027, day = 1 }, 1,
      "^from%.month" },
    { "a count of 0", daily("10:00", ALL_DAYS), { year = 2027, month = 1, day = 1 }, 0,
      "^count: expected a whole number 1%-1000" },
    { "an invalid schedule", daily("10:00", {}), { year = 2027, month = 1, day = 1 }, 1,
      "^days: the list is empty" },
  }
  for _, case in ipairs(refused) do
    it("refuses " .. case[1], function()
      local runs, err = schedule.next_runs(case[2], case[3], case[4])
      assert.is_nil(runs)
      assert.matches(case[5], err)
    end)
  end

  it("raises when from is neither a table, a number nor nil", function()
    assert.has_error(function() schedule.next_runs(schedule.off(), "2026-01-01", 1) end)
    assert.has_error(function() schedule.next_runs(schedule.off(), true, 1) end)
  end)

  it("takes an os.time() number and an os.date(\"*t\") table as local time", function()
    local nightly = daily("22:00", ALL_DAYS)
    local point = os.time { year = 2026, month = 3, day = 14, hour = 21, min = 59, sec = 30 }
    assert.same({ "2026-03-14 22:00", "2026-03-15 22:00" }, schedule.next_runs(nightly, point, 2))
    assert.same({ "2026-03-14 22:00" }, schedule.next_runs(nightly, os.date("*t", point), 1))
    local later = os.date("*t", point + 60)          -- 22:00:30 is past today's start
    assert.same({ "2026-03-15 22:00" }, schedule.next_runs(nightly, later, 1))
    local runs, err = schedule.next_runs(nightly, 1e300, 1)
    assert.is_nil(runs)
    assert.matches("^from: ", err)
  end)

  it("defaults from to now", function()
    -- the next midnight is tomorrow's (the day may turn while the spec runs)
    local function midnight_after(time)
      local day = os.date("*t", time + 86400)
      return ("%04d-%02d-%02d 00:00"):format(day.year, day.month, day.day)
    end
    local before = os.time()
    local runs = assert(schedule.next_runs(daily("00:00", ALL_DAYS), nil, 1))
    local after = os.time()
    assert.is_truthy(runs[1] == midnight_after(before) or runs[1] == midnight_after(after))
  end)
end)
