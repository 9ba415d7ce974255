--- Is the last configuration backup stale? The schedule says.
--
-- A fixed threshold (48 hours, 7 days) is wrong for every schedule but one:
-- too lax for a nightly job, too strict for a monthly one. The honest limit
-- is the newest run the schedule itself called for more than a grace period
-- ago: if no success came after it, the backup is stale (a newer run still in
-- its grace does not excuse an older one). A session running since that run
-- excuses it only when every run before it succeeded: one run may be in
-- flight, not a backlog.
--
-- Where the server's clock stands. The schedule's `localTime` is the
-- server's local time, and the API names no time zone. Its timestamps do
-- carry their UTC offset (`2026-03-29T22:00:31.5+02:00`), and the newest
-- one the server wrote (a session's creation or end, the last success) says
-- its offset now; across a daylight-saving change that is the offset after
-- it as soon as the server has written anything since (a busy server writes
-- sessions every hour). So:
--
-- * now, on the server's clock, is now (UTC) plus that newest offset;
-- * the last run due is found on that clock, with plain calendar arithmetic
--   (`vbr.schedule.next_runs`): months without the day are skipped, a
--   29 February comes in leap years only, "last day" is the 28th to 31st;
-- * the last success covers that run when the server's own clock, as its
--   timestamp reads, is at or after it: wall clock against wall clock, so a
--   run at 02:30 on the night the clocks go back is covered by a backup
--   stamped 02:30:40+02:00 whichever offset the server has now;
-- * a missed run is late once real time since it (its wall time less the
--   current offset) exceeds the grace period. If the offset changed between
--   that run and the server's newest timestamp, that time is off by the
--   change (an hour); the grace period is meant to be hours.
--
-- A server whose answers carry no offset at all is taken at the policy's
-- `utc_offset`, else at UTC, and the reason says so. Without a schedule
-- (off, or unreadable) the last success must be younger than `max_age`.
-- @module vbr.fleet.staleness

local schedule_lib = require "vbr.schedule"

local type, tonumber, ipairs = type, tonumber, ipairs
local floor, min, format, match, os_date = math.floor, math.min, string.format, string.match,
                                          os.date

local staleness = {}

-- Seconds from 1970-01-01 00:00 to a wall-clock date and time, with no zone:
-- Lua has no timegm, and os.time reads a table as the auditing machine's
-- local time, which is not the server's (H. Hinnant's days_from_civil).
local function wall_seconds(year, month, day, hour, minute, second)
  if month <= 2 then year = year - 1 end
  local era = floor(year / 400)
  local year_of_era = year - era * 400
  local day_of_year = floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1
  local days = era * 146097 + year_of_era * 365 + floor(year_of_era / 4)
    - floor(year_of_era / 100) + day_of_year - 719468
  return days * 86400 + hour * 3600 + minute * 60 + (second or 0)
end

-- The wall-clock table of such seconds (os.date's "!" is UTC: no zone again).
local function wall_of(seconds)
  return os_date("!*t", floor(seconds))
end

--- Reads a server timestamp (RFC 3339, as VBR writes them).
-- @treturn[1] table `{ wall = seconds on the server's clock, offset = minutes
--   or nil when the text has none, utc = seconds since the epoch or nil }`
-- @return[2] nil when the text is not a timestamp
function staleness.parse_time(text)
  if type(text) ~= "string" then return nil end
  local y, mo, d, h, mi, s, rest = match(text,
    "^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):?(%d?%d?)(.*)$")
  if not y then return nil end
  y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi),
                       tonumber(s) or 0
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 then return nil end
  rest = rest:gsub("^%.%d+", "")
  local offset
  if rest == "Z" or rest == "z" then
    offset = 0
  elseif rest ~= "" then
    local sign, oh, om = match(rest, "^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 60 + tonumber(om)) * (sign == "-" and -1 or 1)
  end
  local wall = wall_seconds(y, mo, d, h, mi, s)
  return { wall = wall, offset = offset, utc = offset and (wall - offset * 60) or nil }
end

--- The server's UTC offset now: that of its newest timestamp with one.
-- @tparam {string,...} texts timestamps the server wrote
-- @return minutes, or nil when none carries an offset
function staleness.current_offset(texts)
  local newest
  for _, text in ipairs(texts) do
    local t = staleness.parse_time(text)
    if t and t.utc and (not newest or t.utc > newest.utc) then newest = t end
  end
  return newest and newest.offset
end

local function stamp_seconds(stamp)      -- "YYYY-MM-DD HH:MM" of next_runs
  local y, mo, d, h, mi = match(stamp, "^(%d+)%-(%d+)%-(%d+) (%d+):(%d+)$")
  return wall_seconds(tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi))
end

local function from_table(seconds)
  local t = wall_of(seconds)
  return { year = t.year, month = t.month, day = t.day, hour = t.hour, min = t.min }
end

-- Months a monthly schedule may go without a run: day 29 of February only
-- runs every 4 years, 8 across a century that is not a leap year.
local MONTHS_BACK = 12 * 8 + 1

--- The most recent start a schedule called for, at or before a moment.
-- @tparam table schedule a `vbr.schedule` table
-- @tparam number wall the moment, as seconds on the server's clock (see `parse_time`)
-- @return seconds on the server's clock, or nil (an off schedule), or nil and a message
function staleness.last_run(schedule, wall)
  if schedule.kind == "off" then return nil end
  local target = floor(wall / 60) * 60
  local function latest(from, count)
    local runs, why = schedule_lib.next_runs(schedule, from_table(from), count)
    if not runs then return nil, why end
    local best
    for _, stamp in ipairs(runs) do
      local seconds = stamp_seconds(stamp)
      if seconds <= target then best = seconds end
    end
    return best
  end
  if schedule.kind == "daily" then
    -- at most a week between runs; next_runs lists those strictly after `from`
    return latest(target - 8 * 86400, 9)
  end
  local months = 2
  while true do
    -- from the last minute of the month `months` back, so its day 1 00:00 counts
    local t = wall_of(target)
    local year, month = t.year, t.month - months
    while month < 1 do month, year = month + 12, year - 1 end
    local found, why = latest(wall_seconds(year, month, 1, 0, 0) - 60, months + 1)
    if found or why then return found, why end
    if months >= MONTHS_BACK then return nil, "the schedule never runs" end
    months = min(months * 2, MONTHS_BACK)
  end
end

local function clock_text(seconds)
  return os_date("!%Y-%m-%d %H:%M", floor(seconds))
end

local function span(seconds)
  seconds = floor(seconds + 0.5)
  if seconds < 3600 then return format("%d min", floor(seconds / 60)) end
  if seconds < 2 * 86400 then return format("%.1f h", seconds / 3600) end
  return format("%.1f days", seconds / 86400)
end
staleness.span = span

--- The verdict on the last success.
-- @tparam table o `schedule` (a `vbr.schedule` table, or nil when there is
--   none to go by), `last_success` (the server's timestamp text, or nil),
--   `running_since` (the creation timestamp of a running session, or nil),
--   `now` (seconds since the epoch), `offset` (the server's minutes now),
--   `offset_assumed` (true when `offset` is a guess), `grace`, `max_age`
--   (seconds)
-- @treturn table `{ stale = boolean, reason = text, due = seconds on the
--   server's clock or nil, late = seconds past due + grace or nil }`
function staleness.evaluate(o)
  local offset = o.offset or 0
  local now_wall = o.now + offset * 60
  local zone = o.offset_assumed and format(" (server time taken as UTC%+d:%02d: its answers "
    .. "carry no UTC offset)", floor(offset / 60), offset % 60) or ""
  local last = o.last_success and staleness.parse_time(o.last_success)
  local last_text = last and (clock_text(last.wall) .. " server time") or "never"
  local schedule = o.schedule
  if not schedule or schedule.kind == "off" then
    if not last then return { stale = true, reason = "no successful backup on record" } end
    local age = last.utc and (o.now - last.utc) or (now_wall - last.wall)
    if age > o.max_age then
      return { stale = true, reason = format("the last success (%s) is %s old, above max_age %s "
        .. "(no schedule to go by)", last_text, span(age), span(o.max_age)) }
    end
    return { stale = false, reason = format("the last success (%s) is %s old (max_age %s, no "
      .. "schedule to go by)", last_text, span(age), span(o.max_age)) }
  end
  local due, why = staleness.last_run(schedule, now_wall)
  if not due then
    if why then return { stale = true, reason = "the schedule cannot be followed: " .. why } end
    return { stale = false, reason = "the schedule never called for a run" }
  end
  local function covered(run) return last and last.wall >= run end
  local due_text = clock_text(due) .. " server time"
  if covered(due) then
    return { stale = false, due = due, reason = format("the last success (%s) covers the run due "
      .. "%s%s", last_text, due_text, zone) }
  end
  local running = o.running_since and staleness.parse_time(o.running_since)
  local function in_progress(run)
    return { stale = false, due = run, reason = format("the run due %s server time is in "
      .. "progress since %s", clock_text(run), clock_text(running.wall)) }
  end
  local since_due = now_wall - due
  -- The run held against the last success: the newest one past its grace
  -- period. A newer run still in its grace excuses nothing older.
  local missed = due
  if since_due <= o.grace then missed = staleness.last_run(schedule, now_wall - o.grace) end
  if not missed or covered(missed) then
    if running and running.wall >= due then return in_progress(due) end
    return { stale = false, due = due, reason = format("the run due %s has not succeeded yet, "
      .. "%s ago (grace %s); last success %s%s", due_text, span(since_due), span(o.grace),
      last_text, zone) }
  end
  local missed_text = clock_text(missed) .. " server time"
  -- One run may be in flight: a session started since the missed run excuses
  -- it when every run before it succeeded.
  if running and running.wall >= missed then
    local before = staleness.last_run(schedule, missed - 60)
    if not before or covered(before) then return in_progress(missed) end
  end
  local since_missed = now_wall - missed
  return { stale = true, due = missed, late = since_missed - o.grace, reason = format(
    "no success since the run due %s, %s ago (grace %s); last success %s%s", missed_text,
    span(since_missed), span(o.grace), last_text, zone) }
end

staleness.wall_seconds = wall_seconds
staleness.clock_text = clock_text

return staleness
