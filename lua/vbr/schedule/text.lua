--- Schedules as English: `parse` reads a short phrase, `describe` writes one
-- sentence. Internal to `vbr.schedule`; both are documented there.
--
-- `parse` reads `describe`'s sentences too, so `parse(describe(s))` gives `s`.
-- @module vbr.schedule.text

local words = require "vbr.schedule.words"
local clock = require "vbr.schedule.clock"
local check = require "vbr.schedule.check"

local type, pairs, error, pcall, tonumber = type, pairs, error, pcall, tonumber
local getmetatable, setmetatable = getmetatable, setmetatable
local find, sub, lower, format = string.find, string.sub, string.lower, string.format
local concat, floor = table.concat, math.floor

local DAYS, MONTHS, ORDINALS = words.DAYS, words.MONTHS, words.ORDINALS
local index_of, capitalize = words.index_of, words.capitalize

local text = {}

-- Describing ----------------------------------------------------------------

-- "a", "a and b", "a, b and c"
local function join_english(items)
  if #items == 1 then return items[1] end
  return concat(items, ", ", 1, #items - 1) .. " and " .. items[#items]
end

-- Capitalized names of `names`, in the order of `order`.
local function in_order(names, order)
  local list = {}
  for i = 1, #order do
    if index_of(names, order[i]) then list[#list + 1] = capitalize(order[i]) end
  end
  return list
end

local function is_weekdays(days)
  return #days == 5 and not index_of(days, "saturday") and not index_of(days, "sunday")
end

--- See `vbr.schedule.describe`.
function text.describe(schedule)
  if type(schedule) ~= "table" then
    error("vbr.schedule.describe: the schedule must be a table, got " .. type(schedule), 2)
  end
  local ok, problems = check.validate(schedule)
  if not ok then return nil, check.join(problems) end
  if schedule.kind == "off" then return "Not scheduled" end
  local at = " at " .. schedule.time
  if schedule.kind == "daily" then
    local days = schedule.days
    if #days == 7 then return "Every day" .. at end
    if is_weekdays(days) then return "Every weekday" .. at end
    return "Every " .. join_english(in_order(days, DAYS)) .. at
  end
  local which
  if schedule.ordinal then
    which = "the " .. schedule.ordinal .. " " .. capitalize(schedule.weekday)
  elseif schedule.day == "last" then
    which = "the last day"
  else
    which = "day " .. schedule.day
  end
  local months = #schedule.months == 12 and "every month"
    or join_english(in_order(schedule.months, MONTHS))
  return "On " .. which .. " of " .. months .. at
end

-- Parsing -------------------------------------------------------------------

local OFF_WORDS = { off = true, disabled = true, never = true, none = true }
local ORDINAL_SUFFIXES = { st = true, nd = true, rd = true, th = true }
local LIST_SEPARATORS = { [","] = true, ["&"] = true, ["and"] = true }
local RANGE_WORDS = { ["-"] = true, ["to"] = true, ["through"] = true, ["thru"] = true }
local DAY_GROUPS = {
  weekday = { 1, 2, 3, 4, 5 }, weekdays = { 1, 2, 3, 4, 5 },
  weekend = { 6, 7 }, weekends = { 6, 7 },
}

local EXPECT_TIME = "a time such as 22:00 or 10 PM"
local EXPECT_DAY = "a day name (monday..sunday or mon..sun)"
local EXPECT_MONTH = "a month name (january..december or jan..dec)"
local EXPECT_MONTH_DAY = "which day of the month: 'the fourth saturday', "
  .. "'the last friday', 'the last day' or 'day 1'"
local EXPECT_PART = "a part of a schedule such as 'daily', 'monthly', 'every weekday', "
  .. "'mon,wed,fri', 'on the last friday', 'on day 1', 'at 22:00' or 'in jan,jul'"

-- Words, numbers (with colons: "22:00") and separators, with positions.
local function tokenize(input)
  local tokens, position = {}, 1
  while position <= #input do
    local first, last = find(input, "^%s+", position)
    if not first then
      local kind = "number"
      first, last = find(input, "^[%d:]+", position)
      if not first then kind = "word"; first, last = find(input, "^%a+", position) end
      if not first then kind = "separator"; first, last = find(input, "^[,&%-]", position) end
      if not first then return nil, position end
      local raw = sub(input, first, last)
      tokens[#tokens + 1] = { kind = kind, text = lower(raw), raw = raw, position = first }
    end
    position = last + 1
  end
  return tokens
end

local Parser = {}
Parser.__index = Parser

-- Raised inside the parser and caught by `text.parse`.
local ParseError = {}

local function fail_at(token, expected)
  local where = token and format("at position %d (%q)", token.position, token.raw)
    or "at the end"
  error(setmetatable({ message = "cannot read the schedule " .. where .. ": expected "
    .. expected }, ParseError), 0)
end

function Parser:fail(expected) fail_at(self.tokens[self.index], expected) end

function Parser:peek(ahead) return self.tokens[self.index + (ahead or 0)] end

function Parser:peek_text(ahead)
  local token = self:peek(ahead)
  return token and token.text
end

function Parser:take()
  local token = self.tokens[self.index]
  self.index = self.index + 1
  return token
end

-- Records one part of the schedule; each part may be given once.
function Parser:set(name, value, token, what)
  if self.parts[name] then
    fail_at(token, "no second " .. what .. " (one was given at position "
      .. self.parts[name].token.position .. ")")
  end
  self.parts[name] = { value = value, token = token }
end

function Parser:time()
  local token = self:peek()
  if token and (token.text == "noon" or token.text == "midnight") then
    self:take()
    return token.text == "noon" and "12:00" or "00:00"
  end
  if not token or token.kind ~= "number" then self:fail(EXPECT_TIME) end
  self:take()
  local written = token.raw
  local meridiem = self:peek_text()
  if meridiem == "am" or meridiem == "pm" then written = written .. " " .. self:take().raw end
  local hour, minute = clock.parse(written)
  if not hour then fail_at(token, EXPECT_TIME .. " (" .. minute .. ")") end
  return format("%02d:%02d", hour, minute)
end

-- A list like "mon, wed and fri", "mon-fri", "jan,apr,jul,oct": indexes into
-- `names`, found by `lookup`, each once, in the order written.
function Parser:name_list(lookup, names, expected, groups)
  local chosen, seen = {}, {}
  local function add(index, token)
    if seen[index] then fail_at(token, expected .. " not already in the list") end
    seen[index] = true
    chosen[#chosen + 1] = names[index]
  end
  while true do
    local token = self:peek()
    local group = token and groups and groups[token.text]
    local index = token and lookup(token.text)
    if group then
      self:take()
      for i = 1, #group do add(group[i], token) end
    elseif index then
      self:take()
      if RANGE_WORDS[self:peek_text() or ""] then
        self:take()
        local last_token = self:peek()
        local last = last_token and lookup(last_token.text)
        if not last then self:fail(expected) end
        self:take()
        -- Ranges may wrap: "fri-mon", "nov-feb".
        local count = (last - index) % #names
        for step = 0, count do add((index + step - 1) % #names + 1, token) end
      else
        add(index, token)
      end
    else
      self:fail(expected)
    end
    local next_text = self:peek_text()
    if next_text and LIST_SEPARATORS[next_text] then
      self:take()
    elseif not (next_text and (lookup(next_text) or (groups and groups[next_text]))) then
      return chosen
    end
  end
end

function Parser:days()
  local token = self:peek()
  self:set("days", self:name_list(words.day_index, DAYS, EXPECT_DAY, DAY_GROUPS),
    token, "list of days")
end

-- `token` is the word that began the list ("in", "of").
function Parser:months(token)
  self:set("months", self:name_list(words.month_index, MONTHS, EXPECT_MONTH),
    token, "list of months")
end

function Parser:is_day_start(ahead)
  local word = self:peek_text(ahead)
  return word ~= nil and (DAY_GROUPS[word] ~= nil or words.day_index(word) ~= nil)
end

-- "fourth saturday", "last friday", "last day", "day 1", "1st", "4th saturday"
function Parser:month_day()
  local token = self:peek()
  if not token then self:fail(EXPECT_MONTH_DAY) end
  local value
  if index_of(ORDINALS, token.text) then
    self:take()
    if token.text == "last" and self:peek_text() == "day" then
      self:take()
      value = { day = "last" }
    else
      local weekday = self:peek()
      local index = weekday and words.day_index(weekday.text)
      if not index then self:fail(EXPECT_DAY .. " after '" .. token.text .. "'") end
      self:take()
      value = { ordinal = token.text, weekday = DAYS[index] }
    end
  else
    local number_token = token
    if token.text == "day" then
      self:take()
      number_token = self:peek()
      if not number_token or number_token.kind ~= "number" then
        self:fail("a day of the month 1-31")
      end
    elseif token.kind ~= "number" then
      self:fail(EXPECT_MONTH_DAY)
    end
    self:take()
    local number = tonumber(number_token.text)
    if ORDINAL_SUFFIXES[self:peek_text() or ""] then self:take() end
    local weekday = self:peek()
    local weekday_index = weekday and token.text ~= "day" and words.day_index(weekday.text)
    if weekday_index then
      if not ORDINALS[number] or number > 4 then
        fail_at(number_token, "first..fourth or last before a day name")
      end
      self:take()
      value = { ordinal = ORDINALS[number], weekday = DAYS[weekday_index] }
    else
      if not number or number < 1 or number > 31 or number ~= floor(number) then
        fail_at(number_token, "a day of the month 1-31")
      end
      if self:peek_text() == "day" then self:take() end
      value = { day = number }
    end
  end
  self:set("month_day", value, token, "day of the month")
end

-- One part of the schedule, in any order.
function Parser:part()
  local token = self:peek()
  local word, after = token.text, self:peek_text(1)
  if token.kind == "number" then
    if ORDINAL_SUFFIXES[after or ""] then return self:month_day() end
    return self:set("time", self:time(), token, "time")
  elseif word == "at" then
    self:take()
    return self:set("time", self:time(), token, "time")
  elseif word == "noon" or word == "midnight" then
    return self:set("time", self:time(), token, "time")
  elseif word == "daily" or word == "everyday" then
    self:take()
    return self:set("frequency", "daily", token, "'daily' or 'monthly'")
  elseif word == "monthly" then
    self:take()
    return self:set("frequency", "monthly", token, "'daily' or 'monthly'")
  elseif word == "every" or word == "each" then
    if after == "day" or after == "month" then
      self:take(); self:take()
      return self:set("frequency", after == "day" and "daily" or "monthly", token,
        "'daily' or 'monthly'")
    end
    self:take()
    if not self:is_day_start() then
      self:fail("'day', 'month', 'weekday' or " .. EXPECT_DAY .. " after '" .. word .. "'")
    end
    return self:days()
  elseif word == "on" or word == "the" then
    self:take()
    if word == "on" and self:peek_text() == "the" then self:take() end
    if self:is_day_start() then return self:days() end
    return self:month_day()
  elseif word == "day" or index_of(ORDINALS, word) then
    return self:month_day()
  elseif self:is_day_start() then
    return self:days()
  elseif word == "in" or word == "during" then
    self:take()
    return self:months(token)
  elseif word == "of" then
    self:take()
    -- "of every month", "of the month": filler, not a list of months.
    local next_word = self:peek_text()
    if (next_word == "every" or next_word == "each" or next_word == "the")
      and self:peek_text(1) == "month" then
      self:take(); self:take()
      return
    end
    return self:months(token)
  end
  self:fail(EXPECT_PART)
end

function Parser:schedule()
  local first = self:peek()
  if not first then self:fail("a schedule such as 'daily at 22:00' or 'off'") end
  if OFF_WORDS[first.text] or (first.text == "not" and self:peek_text(1) == "scheduled") then
    self.index = self.index + (OFF_WORDS[first.text] and 1 or 2)
    if self:peek() then self:fail("nothing after '" .. first.raw .. "'") end
    return { kind = "off" }
  end
  while self:peek() do self:part() end

  local parts = self.parts
  local frequency = parts.frequency and parts.frequency.value
  local schedule
  if parts.month_day then
    if frequency == "daily" then
      fail_at(parts.month_day.token, "a day of the week: a daily schedule has no "
        .. "day of the month")
    end
    if parts.days then
      fail_at(parts.days.token, "no day names: this is a monthly schedule")
    end
    schedule = { kind = "monthly", months = parts.months and parts.months.value or MONTHS }
    for key, value in pairs(parts.month_day.value) do schedule[key] = value end
  elseif frequency == "monthly" then
    self:fail(EXPECT_MONTH_DAY)
  elseif not frequency and not parts.days then
    self:fail("'daily', 'every weekday', day names such as 'mon,wed,fri', or 'monthly'")
  else
    if parts.months then
      fail_at(parts.months.token, "no months: they only go with a monthly schedule")
    end
    schedule = { kind = "daily", days = parts.days and parts.days.value or DAYS }
  end
  if not parts.time then self:fail(EXPECT_TIME .. " (e.g. 'at 22:00')") end
  schedule.time = parts.time.value
  return schedule
end

-- Lists in calendar order, as fresh tables.
local function in_calendar_order(names, order)
  local list = {}
  for i = 1, #order do
    if index_of(names, order[i]) then list[#list + 1] = order[i] end
  end
  return list
end

--- See `vbr.schedule.parse`.
function text.parse(input)
  if type(input) ~= "string" then
    error("vbr.schedule.parse: expected a string, got " .. type(input), 2)
  end
  local tokens, bad_position = tokenize(input)
  if not tokens then
    return nil, format("cannot read the schedule at position %d (%q): expected a word, "
      .. "a number or a comma", bad_position, sub(input, bad_position, bad_position))
  end
  local parser = setmetatable({ tokens = tokens, index = 1, parts = {} }, Parser)
  local ok, result = pcall(parser.schedule, parser)
  if not ok then
    if getmetatable(result) == ParseError then return nil, result.message end
    error(result, 0)
  end
  if result.days then result.days = in_calendar_order(result.days, DAYS) end
  if result.months then result.months = in_calendar_order(result.months, MONTHS) end
  return result
end

return text
