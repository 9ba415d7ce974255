--- Names of days, months and ordinals, and loose lookups for what users type.
-- Internal to `vbr.schedule`.
-- @module vbr.schedule.words

local type, ipairs, lower, upper, sub = type, ipairs, string.lower, string.upper, string.sub

local words = {}

--- Day names in the schedule table, Monday first (index 1 = Monday).
words.DAYS = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" }

--- Month names in the schedule table (index = month number).
words.MONTHS = {
  "january", "february", "march", "april", "may", "june",
  "july", "august", "september", "october", "november", "december",
}

--- Which occurrence of a weekday in a month (the API's `dayNumberInMonth`).
words.ORDINALS = { "first", "second", "third", "fourth", "last" }

--- Position of `value` in `list`, or nil.
function words.index_of(list, value)
  for i = 1, #list do
    if list[i] == value then return i end
  end
  return nil
end

--- `"monday"` -> `"Monday"`.
function words.capitalize(name)
  return upper(sub(name, 1, 1)) .. sub(name, 2)
end

-- Loose spellings: any casing, the full name, its plural ("mondays") and the
-- three-letter form ("mon"). Months: full and three-letter ("sep").
local day_by_spelling, month_by_spelling = {}, {}
for i, name in ipairs(words.DAYS) do
  day_by_spelling[name] = i
  day_by_spelling[name .. "s"] = i
  day_by_spelling[sub(name, 1, 3)] = i
end
for i, name in ipairs(words.MONTHS) do
  month_by_spelling[name] = i
  month_by_spelling[sub(name, 1, 3)] = i
end

--- Day number (1 = Monday) of a loosely spelt day name, or nil.
function words.day_index(spelling)
  if type(spelling) ~= "string" then return nil end
  return day_by_spelling[lower(spelling)]
end

--- Month number of a loosely spelt month name, or nil.
function words.month_index(spelling)
  if type(spelling) ~= "string" then return nil end
  return month_by_spelling[lower(spelling)]
end

return words
