--- Times of day: reading every form people and the API revisions use, and
-- writing the two this library writes. The one place for both.
-- Used by `vbr.schedule` and `vbr.model`.
--
-- Read: `"12h"` (`10:00 PM`, the 1.1 documents' examples), `"24h"`
-- (`22:00`, 1.2 and 1.3-rev0 examples), `"24h_seconds"` (`22:00:00`).
-- Written: the schedule table holds `"HH:MM"` (`format`); the API is sent
-- `"HH:MM:SS"` (`format_api`) in every revision, since every document's
-- schema declares `localTime` as `format: time` (README, revision notes).
-- @module vbr.schedule.clock

local type, tonumber = type, tonumber
local format, match, upper = string.format, string.match, string.upper

local clock = {}

local function in_range(hour, minute)
  if hour > 23 then return nil, "hour " .. hour .. " is out of range 0-23" end
  if minute > 59 then return nil, "minute " .. minute .. " is out of range 0-59" end
  return true
end

--- Reads a time in any style: `"22:00"`, `"6:30"`, `"22:00:00"`,
-- `"10:00 PM"`, `"10 pm"`, `"10:00:00 PM"`, `"10PM"`.
-- Seconds other than `00` are refused: VBR schedules whole minutes.
-- @treturn[1] integer hour 0-23
-- @treturn[1] integer minute 0-59
-- @treturn[1] string the style it was written in
-- @return[2] nil, message
function clock.parse(text)
  if type(text) ~= "string" then
    return nil, "expected a time such as 22:00 or 10:00 PM, got " .. type(text)
  end
  local digits, meridiem = match(text, "^%s*([%d:]+)%s*([AaPp][Mm])%s*$")
  if not digits then digits = match(text, "^%s*([%d:]+)%s*$") end
  if not digits then
    return nil, "'" .. text .. "' is not a time such as 22:00 or 10:00 PM"
  end
  local hour, minute, second = match(digits, "^(%d%d?):(%d%d):(%d%d)$")
  if not hour then hour, minute = match(digits, "^(%d%d?):(%d%d)$") end
  if not hour and meridiem then hour = match(digits, "^(%d%d?)$") end
  if not hour then
    return nil, "'" .. text .. "' is not a time such as 22:00 or 10:00 PM"
  end
  hour, minute = tonumber(hour), tonumber(minute or "0")
  if second and second ~= "00" then
    return nil, "'" .. text .. "' has seconds; VBR schedules whole minutes"
  end
  local style = second and "24h_seconds" or "24h"
  if meridiem then
    if hour < 1 or hour > 12 then
      return nil, "hour " .. hour .. " is out of range 1-12 for AM/PM"
    end
    -- 12 AM is midnight, 12 PM is noon.
    if hour == 12 then hour = 0 end
    if upper(meridiem) == "PM" then hour = hour + 12 end
    style = "12h"
  end
  local ok, err = in_range(hour, minute)
  if not ok then return nil, err end
  return hour, minute, style
end

--- Reads the schedule table's own form, strictly `"HH:MM"` (24-hour).
-- @treturn[1] integer hour
-- @treturn[1] integer minute
-- @return[2] nil, message
function clock.parse_canonical(text)
  if type(text) ~= "string" then
    return nil, "expected a string \"HH:MM\", got " .. type(text)
  end
  local hour, minute = match(text, "^(%d%d):(%d%d)$")
  if not hour then
    return nil, "'" .. text .. "' is not a 24-hour time \"HH:MM\" such as \"22:00\""
  end
  hour, minute = tonumber(hour), tonumber(minute)
  local ok, err = in_range(hour, minute)
  if not ok then return nil, err end
  return hour, minute
end

--- The schedule table's form of a time, `"HH:MM"` (`"06:30"`).
-- @tparam integer hour 0-23
-- @tparam integer minute 0-59
function clock.format(hour, minute)
  return format("%02d:%02d", hour, minute)
end

--- The API's form of a time, `"HH:MM:SS"` (`"06:30:00"`), for every revision.
-- @tparam integer hour 0-23
-- @tparam integer minute 0-59
function clock.format_api(hour, minute)
  return format("%02d:%02d:00", hour, minute)
end

return clock
