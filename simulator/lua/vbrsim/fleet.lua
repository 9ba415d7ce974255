-- A fleet of simulated servers (vbrsim start --servers N): N independent VBR
-- servers on consecutive 127.0.0.1 ports of one nginx, each with its own
-- profile drawn from a seed, so that a run with the same seed repeats:
-- name, build and revision, UTC offset, tags, and the settings and history
-- of its configuration backup, compliant or not in the ways `problems` lists.
local openapi = require "vbrsim.openapi"

local fleet = {}

local floor, max, format, concat = math.floor, math.max, string.format, table.concat
local ipairs = ipairs

-- Park-Miller "minimal standard" generator: exact in doubles (LuaJIT and
-- every Lua), independent of math.random (which the tokens use).
local function generator(seed)
  local x = floor(seed) % 2147483646 + 1
  return function(low, high)
    x = x * 16807 % 2147483647
    return low + x % (high - low + 1)
  end
end

local function pick(random, list)
  return list[random(1, #list)]
end

-- Revisions a fleet runs, newest most often (each must be served; the
-- first one served stands in for those that are not).
local REVISIONS = { "1.3-rev2", "1.3-rev2", "1.3-rev2", "1.3-rev1", "1.3-rev1", "1.3-rev0",
                    "1.2-rev1", "1.2-rev1", "1.2-rev0", "1.1-rev2", "1.1-rev0" }

-- UTC offsets of the sites, in minutes, and the region tag that goes with each.
local SITES = { { 0, "eu" }, { 60, "eu" }, { 120, "eu" }, { -300, "us" }, { -360, "us" },
                { -480, "us" }, { 330, "apac" }, { 540, "apac" }, { 600, "apac" } }

-- What a server may get wrong, each with its chance in percent. The names
-- are the audit's check ids where one check finds it (README of the simulator).
fleet.PROBLEMS = {
  { name = "disabled", percent = 6 },          -- the job is off
  { name = "schedule_off", percent = 6 },      -- runs only when started by hand
  { name = "unencrypted", percent = 8 },       -- the backup holds no credentials
  { name = "local_repository", percent = 8 },  -- kept on the backup server itself
  { name = "low_retention", percent = 6 },     -- 3 restore points
  { name = "no_notifications", percent = 8 },  -- nobody hears of a failure
  { name = "stale", percent = 8 },             -- the last success is 9 to 14 days old
  { name = "failed", percent = 6 },            -- the last run, 4 hours ago, failed
  { name = "stuck", percent = 4 },             -- a backup has been running for 5 hours
}

local DAYS = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" }

-- A schedule in the neutral form of vbrsim.configbackup (localTime in seconds).
local function schedule_of(random, revision, at_seconds)
  local kinds = { "everyday", "weekdays", "selected", "monthly_weekday", "monthly_day" }
  if not openapi.compare(revision, "1.3-rev0") then kinds[#kinds + 1] = "month_end" end
  local kind = at_seconds and "everyday" or pick(random, kinds)
  local time = at_seconds or (random(0, 23) * 3600 + random(0, 11) * 300)
  local daily = { isEnabled = false, localTime = time, dailyKind = "Everyday", days = DAYS }
  local monthly = { isEnabled = false, localTime = time, dayOfWeek = "saturday",
                    dayNumberInMonth = "Fourth", dayOfMonth = 1, isLastDayOfMonth = false }
  if kind == "everyday" then
    daily.isEnabled = true
  elseif kind == "weekdays" then
    daily.isEnabled, daily.dailyKind = true, "WeekDays"
    daily.days = { "monday", "tuesday", "wednesday", "thursday", "friday" }
  elseif kind == "selected" then
    daily.isEnabled, daily.dailyKind = true, "SelectedDays"
    daily.days = { "monday", "wednesday", "friday" }
  elseif kind == "monthly_weekday" then
    monthly.isEnabled = true
    monthly.dayOfWeek = pick(random, DAYS)
    monthly.dayNumberInMonth = pick(random, { "First", "Second", "Third", "Fourth", "Last" })
  elseif kind == "monthly_day" then
    monthly.isEnabled, monthly.dayNumberInMonth, monthly.dayOfMonth = true, "OnDay", random(1, 28)
  else
    monthly.isEnabled, monthly.dayNumberInMonth, monthly.isLastDayOfMonth = true, "OnDay", true
  end
  return { isEnabled = true, daily = daily, monthly = monthly }
end

-- The profile of the index-th server of a fleet.
local function profile(index, seed, supported, now)
  local random = generator(seed * 7919 + index * 104729)
  local name = format("vbr-%04d", index)
  local revision = pick(random, REVISIONS)
  if not supported[revision] then revision = pick(random, { "1.3-rev2", "1.1-rev0" }) end
  local site = pick(random, SITES)
  local offset = site[1]
  local problems, has = {}, {}
  for _, problem in ipairs(fleet.PROBLEMS) do
    if random(1, 100) <= problem.percent then
      problems[#problems + 1] = problem.name
      has[problem.name] = true
    end
  end
  local history = { last_success_age = random(10, 50) * 60 }
  local at_seconds
  if has.stale then
    history.last_success_age = random(9, 14) * 86400
  end
  if has.failed then
    history.failed_age = 4 * 3600
    history.last_success_age = max(history.last_success_age, 28 * 3600)
    -- scheduled daily at the local time of day the failed run started
    at_seconds = (floor(now) - history.failed_age + offset * 60) % 86400
    at_seconds = at_seconds - at_seconds % 60
  elseif has.stale then
    at_seconds = random(0, 23) * 3600
  end
  if has.stuck then
    -- running since before the schedule's last run; the last success is older
    history.running_for = 5 * 3600
    history.last_success_age = max(history.last_success_age, 30 * 3600)
  end
  local schedule = schedule_of(random, revision, at_seconds)
  if has.schedule_off then schedule.isEnabled = false end
  local host = name .. ".fleet.vbrsim.local"
  return {
    name = name,
    host = host,
    repository_host = "repo-" .. name:sub(5) .. ".fleet.vbrsim.local",
    installation = format("%08x-%04x-4%03x-8%03x-%012x", random(0, 2147483646),
      random(0, 65535), random(0, 4095), random(0, 4095), index),
    tags = { "sim", site[2], (random(1, 100) <= 80) and "prod" or "lab" },
    problems = problems,
    settings = {
      max_revision = revision,
      utc_offset_minutes = offset,
      -- an unencrypted job only runs where encryption is not mandatory
      encryption_passwords_present = not has.unencrypted,
      hardened_repository_present = not has.unencrypted,
    },
    config = {
      isEnabled = not has.disabled,
      schedule = schedule,
      encrypted = not has.unencrypted,
      repository = has.local_repository and "default"
        or (has.unencrypted and "nas" or pick(random, { "nas", "hardened" })),
      restorePointsToKeep = has.low_retention and 3 or pick(random, { 7, 10, 14, 30 }),
      email = not has.no_notifications,
    },
    history = history,
  }
end

-- The list of {port =, profile =} for vbrsim.state: count servers on ports
-- base_port, base_port + 1, ..., their profiles drawn from seed (`now`: the
-- start, which the history is relative to).
function fleet.servers(count, seed, base_port, registry, now)
  local supported = {}
  for _, revision in ipairs(registry.supported) do supported[revision] = true end
  local servers = {}
  for index = 1, count do
    servers[index] = { port = base_port + index - 1,
                       profile = profile(index, seed, supported, now) }
  end
  return servers
end

-- "+01:00" for 60.
local function offset_text(minutes)
  local sign = minutes < 0 and "-" or "+"
  minutes = minutes < 0 and -minutes or minutes
  return format("%s%02d:%02d", sign, floor(minutes / 60), minutes % 60)
end

-- The inventory file of the fleet (the format of vbr.inventory).
function fleet.inventory_text(servers, options)
  local lines = {
    "# vbr inventory of a simulated fleet: simulator/vbrsim start --servers "
      .. #servers .. " --seed " .. options.seed,
    "[defaults]",
    "username = admin",
    "password_file = " .. options.password_file,
    "ca_file = " .. options.ca_file,
    "api_version = auto",
  }
  for _, server in ipairs(servers) do
    local p = server.profile
    lines[#lines + 1] = ""
    lines[#lines + 1] = "[" .. p.name .. "]"
    lines[#lines + 1] = "url = https://127.0.0.1:" .. server.port
    lines[#lines + 1] = "tags = " .. concat(p.tags, ", ")
    lines[#lines + 1] = format("description = %s, revision %s, UTC%s", p.host,
      p.settings.max_revision, offset_text(p.settings.utc_offset_minutes))
  end
  return concat(lines, "\n") .. "\n"
end

return fleet
