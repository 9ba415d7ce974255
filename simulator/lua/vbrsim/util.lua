-- Identifiers and date-time text used by the simulated server.
local util = {}

local random, floor, format = math.random, math.floor, string.format
local date, tonumber = os.date, tonumber

function util.uuid()
  local r = {}
  for i = 1, 16 do r[i] = random(0, 255) end
  r[7] = 0x40 + r[7] % 16        -- version 4
  r[9] = 0x80 + r[9] % 64        -- RFC 4122 variant
  return format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
    r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
    r[9], r[10], r[11], r[12], r[13], r[14], r[15], r[16])
end

function util.is_uuid(s)
  return type(s) == "string"
    and s:find("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") ~= nil
end

function util.random_token(bytes)
  local r = {}
  for i = 1, bytes do r[i] = format("%02x", random(0, 255)) end
  return table.concat(r)
end

-- Days from 1970-01-01 to a civil date (proleptic Gregorian), no time zone involved.
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- "2022-01-26T17:13:29.097+01:00" for epoch seconds, in the given UTC offset.
-- with_offset=false renders the local time without any zone (a VBR habit).
function util.format_datetime(epoch, offset_minutes, with_offset)
  offset_minutes = offset_minutes or 0
  local shifted = epoch + offset_minutes * 60
  local whole = floor(shifted)
  local millis = floor((shifted - whole) * 1000 + 0.5)
  if millis >= 1000 then whole, millis = whole + 1, 0 end
  local text = date("!%Y-%m-%dT%H:%M:%S", whole) .. format(".%03d", millis)
  if with_offset == false then return text end
  local sign = offset_minutes < 0 and "-" or "+"
  local abs = offset_minutes < 0 and -offset_minutes or offset_minutes
  return text .. format("%s%02d:%02d", sign, floor(abs / 60), abs % 60)
end

-- RFC 3339 date-time to epoch seconds; nil when the text is not one.
function util.parse_datetime(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest =
    s:match("^(%d%d%d%d)-(%d%d)-(%d%d)[Tt](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  h, mi, sec = tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then return nil end
  local fraction = 0
  local frac_digits, after = rest:match("^%.(%d+)(.*)$")
  if frac_digits then fraction, rest = tonumber("0." .. frac_digits), after end
  local offset = 0
  if rest ~= "Z" and rest ~= "z" then
    local sign, oh, om = rest:match("^([+-])(%d%d):(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 60 + tonumber(om)) * (sign == "-" and -1 or 1)
  end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec + fraction - offset * 60
end

return util
