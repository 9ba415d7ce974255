--- The audit of one server's configuration backup against a policy.
--
-- `collect` reads what the checks need (serverInfo, the settings, the
-- repositories and the managed server of the target's host, the newest
-- sessions, and from 1.2-rev1 on the Security & Compliance Analyzer's
-- checklist): seven or eight requests, each failure kept with the check it
-- would have served. `evaluate` is pure: facts and a policy in, one verdict
-- per check out, so it can be tested without a server.
--
-- Everything the server sent is untrusted: a field of the wrong type makes
-- its check `unknown` with a reason, never an error.
-- @module vbr.fleet.audit

local schedule_lib = require "vbr.schedule"
local revision_lib = require "vbr.revision"
local configbackup = require "vbr.configbackup"
local policy_lib = require "vbr.fleet.policy"
local staleness = require "vbr.fleet.staleness"

local type, ipairs, tostring, pcall = type, ipairs, tostring, pcall
local format, lower, find, concat = string.format, string.lower, string.find, table.concat

local audit = {}

-- Server statuses, best first; `rank` orders them for "the worst one".
audit.STATUSES = { "ok", "warning", "critical", "unknown" }
local RANK = { ok = 0, unknown = 1, warning = 2, critical = 3 }

--- The worse of two statuses (critical > warning > unknown > ok).
function audit.worse(a, b)
  return RANK[b] > RANK[a] and b or a
end

local function is_uuid(value)
  return type(value) == "string"
    and find(value, "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$")
      ~= nil
end

local function analyzer_revision(name)
  local known = revision_lib.known()
  local position, first = nil, nil
  for i, revision in ipairs(known) do
    if revision == name then position = i end
    if revision == "1.2-rev1" then first = i end
  end
  return position ~= nil and position >= first
end

--- Reads the facts of one server (see the module comment).
-- @tparam table client a connected `vbr` client
-- @tparam[opt] function clock now in seconds since the epoch (`os.time`)
-- @treturn table facts: `info`, `settings`, `repositories`, `host`,
--   `sessions` (configuration backups, newest first), `newest` (the newest
--   session of any kind), `practices`, `revision`, `now`, and `errors`
--   (what could not be read, by fact)
function audit.collect(client, clock)
  local facts = { errors = {} }
  local function read(name, value, err)
    if value == nil then facts.errors[name] = err end
    facts[name] = value
    return value
  end
  read("info", client:server_info())
  local settings = read("settings", client.configbackup:get())
  local repositories = read("repositories", client:repositories())
  local target = type(settings) == "table" and settings.backupRepositoryId
  if type(repositories) == "table" then
    for _, repository in ipairs(repositories) do
      if type(repository) == "table" and repository.id == target then
        facts.repository = repository
      end
    end
  end
  local host_id = type(facts.repository) == "table" and facts.repository.hostId
  if is_uuid(host_id) then
    read("host", client:request("GET", "/api/v1/backupInfrastructure/managedServers/" .. host_id))
  end
  -- newest first: one running (if any) and the last finished are in three
  read("sessions", client:sessions { type = "ConfigurationBackup", limit = 3 })
  local newest = read("newest", client:sessions { limit = 1 })
  facts.newest = type(newest) == "table" and newest[1] or nil
  local ok, name = pcall(client.core.api_version, client.core)
  facts.revision = ok and name or nil
  if facts.revision and analyzer_revision(facts.revision) then
    read("practices", client:request("GET", "/api/v1/securityAnalyzer/bestPractices"))
  end
  facts.now = (clock or os.time)()
  return facts
end

-- Check results -------------------------------------------------------------

local function pass(reason) return { status = "pass", reason = reason } end
local function fail(reason) return { status = "fail", reason = reason } end
local function unknown(reason) return { status = "unknown", reason = reason } end

local function unread(facts, name, what)
  local err = facts.errors[name]
  return unknown(what .. " could not be read" .. (err and (": " .. tostring(err)) or ""))
end

local function field(value, kind)
  return type(value) == kind and value or nil
end

local CHECKS = {}

function CHECKS.enabled(facts)
  local s = facts.settings
  if type(s) ~= "table" then return unread(facts, "settings", "the settings") end
  if s.isEnabled == true then return pass("the job is enabled") end
  if s.isEnabled == false then return fail("the job is disabled: no configuration backup runs") end
  return unknown("the server sent no isEnabled")
end

-- The schedule as a vbr.schedule table, or nil and why.
local function schedule_of(facts)
  local s = facts.settings
  if type(s) ~= "table" then return nil, "the settings could not be read" end
  if type(s.schedule) ~= "table" then return nil, "the server sent no schedule" end
  local ok, parsed, why = pcall(schedule_lib.from_api, s.schedule)
  if not ok or not parsed then return nil, "the schedule cannot be read: " .. tostring(why) end
  return parsed
end

function CHECKS.schedule(facts)
  local parsed, why = schedule_of(facts)
  if not parsed then return unknown(why) end
  if parsed.kind == "off" then
    return fail("the schedule is off: it runs only when started by hand")
  end
  return pass("scheduled: " .. schedule_lib.describe(parsed))
end

function CHECKS.encrypted(facts)
  local s = facts.settings
  if type(s) ~= "table" then return unread(facts, "settings", "the settings") end
  local encryption = field(s.encryption, "table")
  if encryption and encryption.isEnabled == true then return pass("encryption is on") end
  if encryption and encryption.isEnabled == false then
    return fail("encryption is off: the backup holds no credentials")
  end
  return unknown("the server sent no encryption.isEnabled")
end

-- Host names compared as VBR writes them: any case, and a short name
-- matches the same name with a domain ("VBR01" and "vbr01.corp.local").
local function same_host(a, b)
  if type(a) ~= "string" or type(b) ~= "string" or a == "" or b == "" then return false end
  a, b = lower(a), lower(b)
  return a == b or a:match("^[^.]+") == b or b:match("^[^.]+") == a
end

function CHECKS.repository(facts)
  local s = facts.settings
  if type(s) ~= "table" then return unread(facts, "settings", "the settings") end
  if type(facts.repositories) ~= "table" then
    return unread(facts, "repositories", "the repositories")
  end
  local repository = facts.repository
  if type(repository) ~= "table" then
    return fail("the target " .. tostring(s.backupRepositoryId)
      .. " is not among the server's repositories (scale-out and external ones cannot hold it)")
  end
  local name = tostring(repository.name)
  local holds, why = configbackup.can_hold_backup(repository)
  if not holds then return fail(why) end
  local host_id = repository.hostId
  if host_id == nil then
    return pass(format("'%s' (%s) is not on a host of the server", name, tostring(repository.type)))
  end
  local host = facts.host
  if type(host) ~= "table" then
    return unread(facts, "host", "the host of repository '" .. name .. "'")
  end
  local server_name = type(facts.info) == "table" and facts.info.name or nil
  if host.isBackupServer == true or same_host(host.name, server_name) then
    return fail(format("'%s' is on the backup server itself (%s): the backup dies with it",
      name, tostring(host.name)))
  end
  if type(server_name) ~= "string" then
    return unread(facts, "info", "the backup server's name")
  end
  return pass(format("'%s' (%s) is on %s, not on the backup server", name,
    tostring(repository.type), tostring(host.name)))
end

function CHECKS.retention(facts, policy)
  local s = facts.settings
  if type(s) ~= "table" then return unread(facts, "settings", "the settings") end
  local kept = s.restorePointsToKeep
  if type(kept) ~= "number" then return unknown("the server sent no restorePointsToKeep") end
  local bounds = policy.retention
  local text = format("%d restore points kept (policy %d..%d)", kept, bounds.min, bounds.max)
  if kept < bounds.min or kept > bounds.max then return fail(text) end
  return pass(text)
end

function CHECKS.notifications(facts)
  local s = facts.settings
  if type(s) ~= "table" then return unread(facts, "settings", "the settings") end
  local notifications = field(s.notifications, "table")
  if not notifications then return unknown("the server sent no notifications") end
  local smtp = field(notifications.SMTPSettings, "table") or {}
  local channels = {}
  if smtp.isEnabled == true then channels[#channels + 1] = "email" end
  if notifications.SNMPEnabled == true then channels[#channels + 1] = "SNMP" end
  if #channels == 0 then return fail("no notifications: nobody hears of a failed backup") end
  return pass("notifications by " .. concat(channels, " and "))
end

-- Configuration backup sessions as read, running first when one runs.
local function sessions_of(facts)
  local list = facts.sessions
  if type(list) ~= "table" then return nil end
  local finished, running = nil, nil
  for _, session in ipairs(list) do
    if type(session) == "table" then
      if session.state == "Stopped" then
        finished = finished or session
      elseif type(session.state) == "string" then
        running = running or session
      end
    end
  end
  return finished, running
end

-- The server's offset now: its newest timestamp's, or the policy's, or UTC.
local function offset_of(facts, policy)
  local texts = {}
  local function add(text) if type(text) == "string" then texts[#texts + 1] = text end end
  local s = facts.settings
  if type(s) == "table" and type(s.lastSuccessfulBackup) == "table" then
    add(s.lastSuccessfulBackup.lastSuccessfulTime)
  end
  -- the newest sessions, configuration backup and any: the newest times
  local first = type(facts.sessions) == "table" and facts.sessions[1]
  if type(first) == "table" then
    add(first.creationTime)
    add(first.endTime)
  end
  if type(facts.newest) == "table" then
    add(facts.newest.creationTime)
    add(facts.newest.endTime)
  end
  local offset = staleness.current_offset(texts)
  if offset then return offset, false end
  return policy.utc_offset_minutes or 0, true
end

function CHECKS.last_success(facts, policy)
  local s = facts.settings
  if type(s) ~= "table" then return unread(facts, "settings", "the settings") end
  local last = type(s.lastSuccessfulBackup) == "table" and s.lastSuccessfulBackup or {}
  local last_time = field(last.lastSuccessfulTime, "string")
  local last_parsed = last_time and staleness.parse_time(last_time)
  if last_time and not last_parsed then
    return unknown("the last success's time is not a timestamp")
  end
  local parsed = schedule_of(facts)
  local _, running = sessions_of(facts)
  local offset, assumed = offset_of(facts, policy)
  local verdict = staleness.evaluate {
    schedule = parsed, last_success = last_time,
    running_since = running and field(running.creationTime, "string") or nil,
    now = facts.now, offset = offset, offset_assumed = assumed,
    grace = policy.grace_seconds, max_age = policy.max_age_seconds,
  }
  local result = verdict.stale and fail(verdict.reason) or pass(verdict.reason)
  return result, last_parsed and last_parsed.utc or nil
end

function CHECKS.last_session(facts)
  if type(facts.sessions) ~= "table" then return unread(facts, "sessions", "the sessions") end
  local finished = sessions_of(facts)
  if not finished then return pass("no finished configuration backup session on record") end
  local result = type(finished.result) == "table" and finished.result or {}
  local outcome, message = field(result.result, "string"), field(result.message, "string")
  local when = field(finished.endTime, "string") or field(finished.creationTime, "string") or "?"
  local text = format("the last session (%s) ended %s%s", when, tostring(outcome),
    (message and message ~= "") and (": " .. message) or "")
  if outcome == "Success" then return pass(text) end
  if outcome == "Warning" or outcome == "Failed" then return fail(text) end
  return unknown(text)
end

function CHECKS.running(facts, policy)
  if type(facts.sessions) ~= "table" then return unread(facts, "sessions", "the sessions") end
  local _, running = sessions_of(facts)
  if not running then return pass("no configuration backup is running") end
  local started = staleness.parse_time(running.creationTime)
  if not (started and started.utc) then
    return unknown("a session is " .. tostring(running.state) .. " since an unreadable time")
  end
  local age = facts.now - started.utc
  local text = format("a session has been %s for %s (running_max %s)", tostring(running.state),
    staleness.span(age), staleness.span(policy.running_max_seconds))
  if age > policy.running_max_seconds then return fail(text) end
  return pass(text)
end

function CHECKS.analyzer(facts)
  if not (facts.revision and analyzer_revision(facts.revision)) then
    return { status = "skip", reason = "the API revision in use, " .. tostring(facts.revision)
      .. ", has no Security & Compliance Analyzer (1.2-rev1 and later)" }
  end
  local result = facts.practices
  if type(result) ~= "table" then return unread(facts, "practices", "the analyzer's checklist") end
  if type(result.items) ~= "table" then return unknown("the analyzer sent no items") end
  local violations, undecided, seen = {}, {}, 0
  for _, item in ipairs(result.items) do
    local name = type(item) == "table" and field(item.bestPractice, "string")
    if name and find(lower(name), "configuration backup", 1, true) then
      seen = seen + 1
      if item.status == "Violation" then
        violations[#violations + 1] = name
      elseif item.status == "UnableToCheck" or item.status == "Analyzing" then
        undecided[#undecided + 1] = name .. " (" .. item.status .. ")"
      end
    end
  end
  if #violations > 0 then
    return fail("the analyzer reports a violation of: " .. concat(violations, "; "))
  end
  if #undecided > 0 then
    return unknown("the analyzer has no answer yet: " .. concat(undecided, "; "))
  end
  return pass(format("the analyzer's %d configuration backup item%s pass", seen,
    seen == 1 and "" or "s"))
end

--- The verdict on one server.
-- @tparam table facts from `collect`
-- @tparam table policy from `vbr.fleet.policy.read`
-- @tparam[opt] table shared a table kept across the servers of one audit:
--   equal check records are then one record, shared (most checks of most
--   servers read alike: a fleet's report stays small)
-- @treturn table `{ status = "ok"|"warning"|"critical"|"unknown",
--   last_success = Unix time or nil, checks = { {id=, status = "pass"|"fail"|
--   "unknown"|"skip", severity=, reason=}, ... } }` (checks in policy order,
--   those turned off left out; treat them as read-only)
function audit.evaluate(facts, policy, shared)
  local verdict = { status = "ok", checks = {} }
  for _, check in ipairs(policy_lib.CHECKS) do
    local severity = policy.checks[check.id]
    if severity ~= "off" then
      local result, last_success = CHECKS[check.id](facts, policy)
      local record = { id = check.id, status = result.status, severity = severity,
                       reason = result.reason }
      if shared then
        local key = check.id .. "\0" .. record.status .. "\0" .. severity .. "\0" .. record.reason
        record = shared[key] or record
        shared[key] = record
      end
      verdict.checks[#verdict.checks + 1] = record
      if record.status == "fail" then
        verdict.status = audit.worse(verdict.status, severity)
      elseif record.status == "unknown" then
        verdict.status = audit.worse(verdict.status, "unknown")
      end
      if last_success then verdict.last_success = last_success end
    end
  end
  return verdict
end

--- The checks of a verdict by id.
-- @treturn table id -> `{id=, status=, severity=, reason=}`
function audit.checks_by_id(verdict)
  local out = {}
  for _, check in ipairs(verdict.checks or {}) do out[check.id] = check end
  return out
end

--- The verdict on a server that could not be audited.
function audit.unreachable(err, policy)
  return { status = policy.unreachable, error = err, checks = {},
           reason = "not audited: " .. tostring(err) }
end

return audit
