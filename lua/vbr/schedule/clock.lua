--- Times of day: reading every form the API revisions use, writing each.
-- Used by `vbr.schedule` and `vbr.model`.
--
-- Styles: `"12h"` (`10:00 PM`, 1.1), `"24h"` (`22:00`, 1.2 and 1.3-rev0),
-- `"24h_seconds"` (`22:00:00`, 1.3-rev1 on). The schedule table itself
-- always holds the `"24h"` form with two-digit hours (`"06:30"`).
-- @module vbr.schedule.clock

local type, tonumber, tostring, error = type, tonumber, tostring, error
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

--- Style of a time string (`"12h"`, `"24h"`, `"24h_seconds"`), or nil when
-- it is not a time.
local styles, styles_count = {}, 0     -- style_of's answers (false: none)

function clock.style_of(text)
  local style = styles[text]
  if style ~= nil then return style or nil end
  local hour, _, parsed = clock.parse(text)
  style = hour and parsed or false
  if type(text) == "string" then        -- every get() asks for the same few
    if styles_count >= 64 then styles, styles_count = {}, 0 end
    styles[text], styles_count = style, styles_count + 1
  end
  return style or nil
end

--- Writes a time in one style.
-- @tparam integer hour 0-23
-- @tparam integer minute 0-59
-- @tparam string style `"12h"`, `"24h"` or `"24h_seconds"`
function clock.format(hour, minute, style)
  if style == "24h" then return format("%02d:%02d", hour, minute) end
  if style == "24h_seconds" then return format("%02d:%02d:00", hour, minute) end
  if style == "12h" then
    -- .NET's en-US short time: no leading zero, 12 for noon and midnight.
    local twelve = hour % 12
    if twelve == 0 then twelve = 12 end
    return format("%d:%02d %s", twelve, minute, hour < 12 and "AM" or "PM")
  end
  error("vbr.schedule.clock.format: unknown time style " .. tostring(style), 2)
end

return clock
