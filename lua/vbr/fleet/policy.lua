--- The policy a fleet audit checks against: which checks run, how severe a
-- failed one is, and the thresholds.
--
--     local policy = require "vbr.fleet.policy"
--     local p = assert(policy.read { retention = { min = 14 },
--                                    checks = { notifications = "off" } })
--     local q = assert(policy.load "/etc/vbr/policy.lua")   -- a file returning such a table
--
-- A user's policy lists only what differs from `policy.DEFAULT`; `read`
-- merges it, checks every field and names the wrong ones with the values
-- allowed. A policy file is Lua that returns the table; it runs with no
-- globals at all (no `os`, no `io`, no `require`), so it can describe but
-- not do.
-- @module vbr.fleet.policy

local type, pairs, ipairs, tostring, tonumber, load, setfenv, error =
      type, pairs, ipairs, tostring, tonumber, load, rawget(_G, "setfenv"), error
local format, match, concat, sort = string.format, string.match, table.concat, table.sort

local policy = {}

--- The checks, in the order reports list them, with what each one asks.
policy.CHECKS = {
  { id = "enabled", what = "the configuration backup job is enabled" },
  { id = "schedule", what = "its schedule is on" },
  { id = "encrypted", what = "the backup is encrypted (only then does it hold credentials)" },
  { id = "repository", what = "the target repository can hold it and is not on the backup server" },
  { id = "retention", what = "restore points kept within retention.min..retention.max" },
  { id = "notifications", what = "email or SNMP reports its result" },
  { id = "last_success", what = "the last success is not older than the last run the schedule "
      .. "called for (plus grace; max_age without a schedule)" },
  { id = "last_session", what = "the newest finished session succeeded" },
  { id = "running", what = "no session has been running longer than running_max" },
  { id = "analyzer", what = "the Security & Compliance Analyzer finds no configuration backup "
      .. "violation (1.2-rev1 and later)" },
}

local SEVERITIES = { critical = true, warning = true, off = true }
local UNREACHABLE = { unknown = true, critical = true, warning = true }

--- The default policy.
policy.DEFAULT = {
  checks = {
    enabled = "critical", schedule = "critical", encrypted = "critical",
    repository = "critical", retention = "warning", notifications = "warning",
    last_success = "critical", last_session = "warning", running = "warning",
    analyzer = "warning",
  },
  retention = { min = 7, max = 255 },   -- restore points
  grace = "2h",          -- a scheduled run may finish this late before it counts as missed
  max_age = "48h",       -- the last success's age limit when the schedule gives none
  running_max = "3h",    -- a session running longer is a finding
  unreachable = "unknown",   -- a server that cannot be audited: unknown | critical | warning
  utc_offset = false,    -- the servers' offset when their answers carry none ("+01:00")
  apply = false,         -- what `vbr fleet apply POLICY` sets: wishes as configbackup:plan takes
}

-- The wishes `apply` may hold (those of vbr.configbackup's plan) and their types.
local WISHES = { enabled = { boolean = true }, retention = { number = true },
                 schedule = { string = true, table = true }, repository = { string = true },
                 encryption = { string = true, boolean = true }, snmp = { boolean = true },
                 email = { boolean = true }, email_to = { table = true } }

local UNITS = { s = 1, m = 60, h = 3600, d = 86400, w = 7 * 86400 }

--- Seconds of a duration: a number of seconds, or text such as `"90s"`,
-- `"15m"`, `"2h"`, `"1d"`, `"1w"`, `"1h30m"`.
-- @return seconds, or nil and a message
function policy.duration(value)
  if type(value) == "number" then
    if value >= 0 and value < math.huge then return value end
    return nil, "expected seconds >= 0, got " .. tostring(value)
  end
  if type(value) ~= "string" or not value:find("^%s*%d") then
    return nil, "expected a duration such as 90s, 15m, 2h, 1d or 1w, got " .. tostring(value)
  end
  local total, rest = 0, value:gsub("%s", "")
  while rest ~= "" do
    local number, unit, after = match(rest, "^(%d+%.?%d*)([smhdw])(.*)$")
    if not number then
      return nil, "expected a duration such as 90s, 15m, 2h, 1d or 1w, got " .. value
    end
    total, rest = total + tonumber(number) * UNITS[unit], after
  end
  return total
end

--- Minutes east of UTC of an offset: `"+01:00"`, `"-05:30"`, `"Z"`, or minutes.
-- @return minutes, or nil and a message
function policy.offset_minutes(value)
  if type(value) == "number" and value % 1 == 0 and value >= -720 and value <= 840 then
    return value
  end
  if value == "Z" or value == "z" then return 0 end
  local sign, hours, minutes = match(tostring(value), "^([+-])(%d%d):?(%d%d)$")
  if sign then
    local total = tonumber(hours) * 60 + tonumber(minutes)
    if total <= 840 then return sign == "-" and -total or total end
  end
  return nil, "expected an offset such as +01:00, -05:00 or Z, got " .. tostring(value)
end

local function names_of(set)
  local names = {}
  for name in pairs(set) do names[#names + 1] = name end
  sort(names)
  return concat(names, ", ")
end

local function copy(value)
  if type(value) ~= "table" then return value end
  local out = {}
  for key, member in pairs(value) do out[key] = copy(member) end
  return out
end

-- Merges `user` into a copy of the default; problems go to `add`.
local function merge(user, add)
  local result = copy(policy.DEFAULT)
  local known_checks = {}
  for _, check in ipairs(policy.CHECKS) do known_checks[check.id] = true end
  for key, value in pairs(user) do
    if key == "checks" then
      if type(value) ~= "table" then
        add("checks", "expected a table of check = severity")
      else
        for id, severity in pairs(value) do
          if not known_checks[id] then
            add("checks." .. tostring(id), "no such check (there are: " .. names_of(known_checks)
              .. ")")
          elseif not SEVERITIES[severity] then
            add("checks." .. id, "expected one of critical, warning, off; got "
              .. tostring(severity))
          else
            result.checks[id] = severity
          end
        end
      end
    elseif key == "retention" then
      if type(value) ~= "table" then
        add("retention", "expected a table { min =, max = }")
      else
        for bound, number in pairs(value) do
          if bound ~= "min" and bound ~= "max" then
            add("retention." .. tostring(bound), "no such field (there are: max, min)")
          elseif type(number) ~= "number" or number % 1 ~= 0 or number < 1 or number > 255 then
            add("retention." .. bound, "expected a whole number 1..255, got " .. tostring(number))
          else
            result.retention[bound] = number
          end
        end
      end
    elseif key == "grace" or key == "max_age" or key == "running_max" then
      local seconds, why = policy.duration(value)
      if not seconds then add(key, why) else result[key] = value end
    elseif key == "unreachable" then
      if not UNREACHABLE[value] then
        add(key, "expected one of " .. names_of(UNREACHABLE) .. ", got " .. tostring(value))
      else
        result[key] = value
      end
    elseif key == "apply" then
      if value ~= false and type(value) ~= "table" then
        add("apply", "expected a table of wishes (" .. names_of(WISHES) .. ")")
      else
        for wish, wanted in pairs(value or {}) do
          if not WISHES[wish] then
            add("apply." .. tostring(wish), "no such wish (there are: " .. names_of(WISHES) .. ")")
          elseif not WISHES[wish][type(wanted)] then
            add("apply." .. wish, "expected a " .. names_of(WISHES[wish]) .. ", got "
              .. type(wanted))
          end
        end
        result.apply = value
      end
    elseif key == "utc_offset" then
      if value ~= false then
        local minutes, why = policy.offset_minutes(value)
        if not minutes then add(key, why) end
      end
      result[key] = value
    else
      add(tostring(key), "no such field (there are: " .. names_of(policy.DEFAULT) .. ")")
    end
  end
  if result.retention.min > result.retention.max then
    add("retention", format("min (%d) is above max (%d)", result.retention.min,
      result.retention.max))
  end
  return result
end

local LOCAL_ERROR = { __tostring = function(err) return err.message end }

local function invalid(source, problems)
  local lines = {}
  for i, problem in ipairs(problems) do lines[i] = problem.path .. ": " .. problem.message end
  return setmetatable({ kind = "invalid", problems = problems,
    message = (source and (source .. ": ") or "") .. "policy: " .. concat(lines, "; ") },
    LOCAL_ERROR)
end

--- A complete policy from a user's table (nil: the default): every field
-- checked, durations in seconds added as `grace_seconds`, `max_age_seconds`
-- and `running_max_seconds`, the offset as `utc_offset_minutes`.
-- @treturn[1] table the policy
-- @return[2] nil, err (kind `invalid`, `problems` `{path=, message=}`)
function policy.read(user, source)
  if user ~= nil and type(user) ~= "table" then
    error("vbr.fleet.policy.read: expected a policy table, got " .. type(user), 2)
  end
  local problems = {}
  local result = merge(user or {}, function(path, message)
    problems[#problems + 1] = { path = path, message = message }
  end)
  if #problems > 0 then
    sort(problems, function(a, b) return a.path < b.path end)
    return nil, invalid(source, problems)
  end
  result.grace_seconds = policy.duration(result.grace)
  result.max_age_seconds = policy.duration(result.max_age)
  result.running_max_seconds = policy.duration(result.running_max)
  result.utc_offset_minutes = result.utc_offset and policy.offset_minutes(result.utc_offset)
    or nil
  return result
end

--- A policy from a Lua file that returns a policy table (run without globals).
-- @return the policy, or nil and an error naming the file
function policy.load(path)
  if type(path) ~= "string" then
    error("vbr.fleet.policy.load: expected a file name, got " .. type(path), 2)
  end
  local file, why = io.open(path, "rb")
  if not file then
    return nil, setmetatable({ kind = "invalid", message = "cannot read the policy: " .. why },
      LOCAL_ERROR)
  end
  local text = file:read("*a")
  file:close()
  local chunk, err
  if setfenv then                            -- Lua 5.1, LuaJIT
    if text:byte(1) == 27 then err = "a compiled chunk is not a policy" else
      chunk, err = load(function() local t = text; text = nil; return t end, "@" .. path)
      if chunk then setfenv(chunk, {}) end
    end
  else
    chunk, err = load(text, "@" .. path, "t", {})
  end
  local ok, value = false, err
  if chunk then ok, value = pcall(chunk) end
  if not ok or type(value) ~= "table" then
    return nil, setmetatable({ kind = "invalid", message = ok
      and (path .. ": a policy file must return a table, it returned " .. type(value))
      or tostring(value):gsub("^@", "") }, LOCAL_ERROR)
  end
  return policy.read(value, path)
end

--- A check's id is known.
function policy.is_check(id)
  for _, check in ipairs(policy.CHECKS) do
    if check.id == id then return true end
  end
  return false
end

return policy
