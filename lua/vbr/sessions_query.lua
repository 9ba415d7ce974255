--- The query of `GET /api/v1/sessions`: a filter table checked and
-- normalised for the revision in use before anything is sent.
--
-- Internal to `vbr.session` (`client:sessions{...}`); the accepted filter is
-- documented there. Enum values (session types, states, results) are matched
-- in any casing and sent as the revision's document spells them; `type` and
-- `result` take a list where the revision has arrays (1.3-rev0 on); points in
-- time are `os.time()` numbers, `os.date("*t")` tables or ISO 8601 text.
-- @module vbr.sessions_query

local model = require "vbr.model"
local revision_lib = require "vbr.revision"

local type, pairs, ipairs, tostring, error, tonumber =
      type, pairs, ipairs, tostring, error, tonumber
local floor, huge = math.floor, math.huge
local concat, sort = table.concat, table.sort
local format, lower, match = string.format, string.lower, string.match
local os_time, os_date = os.time, os.date

local sessions_query = {}

-- ESessionType of each document, as the revision that added each value
-- (1.1-rev0 also has "Job", which 1.2-rev0 renamed "BackupJob").
local TYPES_ADDED = {
  { "1.1-rev0", { "Automation", "AzureApplianceDeploy", "ConfigurationBackup",
    "FirstClassDiskInstantRestore", "Infrastructure", "InfrastructureItemDeletion",
    "InstantRecovery", "QuickMigration", "RepositoryEvacuate", "RepositoryMaintenance",
    "RestoreVm" } },
  { "1.2-rev0", { "BackgroundOperation", "BackupJob", "CloudDirectorVAppRestore",
    "CloudDirectorVmRestore", "CommitFailback", "ConfigurationResynchronize", "DeleteBackup",
    "EntraIdRescanRepository", "EntraIdRestore", "Failback", "Failover", "FileLevelRestore",
    "FileServerSave", "FirstClassDiskQuickMigration", "LinuxFileLevelRestore",
    "MalwareDetection", "NasRestore", "PermanentFailover", "PlannedFailover",
    "PublishBackupContentViaMount", "ReplicaJob", "SecurityComplianceAnalyzer", "SureBackup",
    "SwitchReplicaToProduction", "UndoFailback", "UndoFailover", "UnstructuredDataBrowse",
    "UnstructuredDownloadMeta" } },
  { "1.3-rev0", { "AgentBackup", "AgentDiscovery", "AgentPolicy", "ApplianceUpdatesInstall",
    "ArchiveBackup", "ArchiveCopy", "ArchiveFreezing", "ArchiveRehydration", "ArchiveSync",
    "ArchiveTierDownload", "AzureInstantRecovery", "AzureInstantRecoveryMigration",
    "AzureInstantRecoveryMigrationUndo", "AzureInstantRecoveryMount",
    "AzureInstantRecoveryStart", "AzureInstantRecoveryStop", "AzureInstantRecoverySwitchover",
    "CheckpointRemoval", "CopyBackup", "DirectBackupSync", "EntraIdRestoreFromCopy",
    "FailoverPlan", "FailoverPlanTask", "FileBackupHealthCheck", "HostComponentsUpdate",
    "LogsExport", "OracleLogBackup", "PostgreSqlLogBackup", "PublishBackupContentViaNfs",
    "Retention", "RetrieveBackup", "SqlLogBackup", "TestCredentials",
    "UnstructuredDataBackupCopy", "VolumesDiscover" } },
  { "1.3-rev1", { "AgentOperationPurgeCache", "BackupCopyJob", "FileInstantRecovery",
    "FileInstantRecoveryMigration", "SureBackupContentScan" } },
  { "1.3-rev2", { "AdForestRestore", "AgentManagement", "AgentOperationActiveFull",
    "AgentOperationBackupNow", "AgentsRecoveryAppliancesManagement", "ApplicationLevelRestore",
    "BackupCacheSync", "BackupCopyJobParent", "DiskRestore", "EncryptionAnalysis",
    "EndpointBackup", "EndpointRestore", "EpAgentOperationStopBackup",
    "FileBackupArchiveRetrievalProlonging", "HaClusterEdit", "HaSwitchover", "IndexCollection",
    "InstantDiskRecovery", "IrisBackup", "PerVmCopyBackup", "PerVmMoveBackup",
    "PlatformBackupJob", "PlatformServiceJob", "PlatformSnapshotCopyJob", "PlatformSnapshotJob",
    "RestoreAgentVolumes", "RestoreRecoveryApplianceVolumes", "StorageDiscovery",
    "StorageMonitoring", "VeeamUpdaterSettingsSync" } },
}

-- The backup job's type: "Job" in 1.1, "BackupJob" from 1.2-rev0; either
-- name is accepted and sent as the revision spells it.
local JOB_RENAMED_IN = "1.2-rev0"

-- ESessionState (the same in every document, plus 1.3-rev2's ActionRequired)
-- and ESessionResult (the same in every document).
local STATES = { "Stopped", "Starting", "Stopping", "Working", "Pausing", "Resuming",
                 "WaitingTape", "Idle", "Postprocessing", "WaitingRepository", "WaitingSlot" }
local ACTION_REQUIRED_FROM = "1.3-rev2"
local RESULTS = { "None", "Success", "Warning", "Failed" }

local INT32_MAX = 2147483647

-- Position of each known revision, oldest first.
local order = {}
for i, name in ipairs(revision_lib.known()) do order[name] = i end

local function at_least(name, oldest)
  return order[name] >= order[oldest]
end

-- { spelling, ... } of a revision, cached: { list = {...}, by_lower = {...} }
local enum_cache = {}

local function enum_of(values)
  local by_lower = {}
  for _, value in ipairs(values) do by_lower[lower(value)] = value end
  return { list = values, by_lower = by_lower }
end

local function enums(name)
  local cached = enum_cache[name]
  if cached then return cached end
  local types = {}
  for _, added in ipairs(TYPES_ADDED) do
    if at_least(name, added[1]) then
      for _, value in ipairs(added[2]) do types[#types + 1] = value end
    end
  end
  local job = at_least(name, JOB_RENAMED_IN) and "BackupJob" or "Job"
  if job == "Job" then types[#types + 1] = "Job" end
  sort(types)
  local states = {}
  for i, value in ipairs(STATES) do states[i] = value end
  if at_least(name, ACTION_REQUIRED_FROM) then states[#states + 1] = "ActionRequired" end
  cached = { type = enum_of(types), state = enum_of(states), result = enum_of(RESULTS) }
  -- the other name of the backup job's type reads as this revision's
  cached.type.by_lower[job == "Job" and "backupjob" or "job"] = job
  enum_cache[name] = cached
  return cached
end

--- The session states of a revision (its document's `ESessionState`).
-- @tparam string name a known revision
-- @treturn {string,...}
function sessions_query.states(name)
  return enums(name).state.list
end

local function problem(problems, path, message)
  problems[#problems + 1] = { path = path, message = message }
end

local function misuse(key, expected, value, level)
  error(format("vbr: session filter '%s' must be %s, got %s", key, expected, type(value)),
    level + 1)
end

-- A Lua sequence of at least one element, or nil.
local function is_list(value)
  if type(value) ~= "table" then return false end
  local count = 0
  for _ in pairs(value) do count = count + 1 end
  return count == #value
end

-- The revision's spelling of one enum value, or nil and a problem message.
local function enum_value(enum, value, what, revision)
  local spelled = enum.by_lower[lower(value)]
  if spelled then return spelled end
  return nil, format("'%s' is not a session %s of API revision %s (one of: %s)",
    value, what, revision, concat(enum.list, ", "))
end

-- typeFilter / resultFilter: one value, or a list where the revision has
-- arrays (both became arrays in 1.3-rev0, the revision fact says so of both).
local function enum_filter(key, value, enum, what, revision, arrays, problems, level)
  local values
  if type(value) == "string" then
    values = { value }
  elseif is_list(value) then
    values = value
    for _, item in ipairs(values) do
      if type(item) ~= "string" then misuse(key, "a string or a list of strings", item, level) end
    end
  else
    misuse(key, "a string or a list of strings", value, level)
  end
  if #values == 0 then
    problem(problems, key, "an empty list; give at least one session " .. what)
    return nil
  end
  if #values > 1 and not arrays then
    problem(problems, key, format("API revision %s filters by one session %s at a time "
      .. "(lists from 1.3-rev0 on), got %d", revision, what, #values))
    return nil
  end
  local out = {}
  for i, item in ipairs(values) do
    local spelled, why = enum_value(enum, item, what, revision)
    if not spelled then
      problem(problems, key, why)
      return nil
    end
    out[i] = spelled
  end
  return arrays and out or out[1]
end

local function is_integer(value)
  return type(value) == "number" and value == floor(value) and value > -huge and value < huge
end

-- Date fields checked (days of the month through os.time's round trip at
-- noon, which no daylight saving change moves to another day).
local function date_ok(year, month, day)
  if year < 1970 or year > 9999 or month < 1 or month > 12 or day < 1 or day > 31 then
    return false
  end
  local noon = os_time { year = year, month = month, day = day, hour = 12 }
  local back = noon and os_date("*t", noon)
  return back ~= nil and back.year == year and back.month == month and back.day == day
end

local function clock_ok(hour, minute, second)
  return hour >= 0 and hour <= 23 and minute >= 0 and minute <= 59 and second >= 0
    and second <= 60
end

local DATE_TIME_EXAMPLE = "an os.time() number, an os.date('*t') table or ISO 8601 text "
  .. "such as '2026-01-21', '2026-01-21T10:00' (local time), '2026-01-21T10:00:00Z' or "
  .. "'2026-01-21T10:00:00+01:00'"

local function utc_text(epoch)
  return os_date("!%Y-%m-%dT%H:%M:%SZ", epoch)
end

-- RFC 3339 text for one point in time, or nil and a problem message.
local function date_time(key, value, level)
  local kind = type(value)
  if kind == "number" then
    -- 1970..9999: what os.date can write on every platform
    if value ~= value or value < 0 or value > 253402300799 then
      return nil, "must be a point in time from 1970 to 9999, not " .. tostring(value)
    end
    return utc_text(floor(value))
  elseif kind == "table" then
    local year, month, day = value.year, value.month, value.day
    local hour, minute, second = value.hour or 0, value.min or 0, value.sec or 0
    for _, part in ipairs { year, month, day, hour, minute, second } do
      if not is_integer(part) then
        return nil, "must be a table as os.date('*t') makes it (year, month, day, hour, min, "
          .. "sec: whole numbers)"
      end
    end
    if not date_ok(year, month, day) or not clock_ok(hour, minute, second) then
      return nil, format("is no date and time: %d-%d-%d %d:%d:%d", year, month, day, hour,
        minute, second)
    end
    return utc_text(os_time { year = year, month = month, day = day, hour = hour, min = minute,
                              sec = second, isdst = value.isdst })
  elseif kind ~= "string" then
    misuse(key, DATE_TIME_EXAMPLE, value, level)
  end
  local y, mo, d, rest = match(value, "^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  local h, mi, s, zone = "0", "0", "0", ""
  if y and rest ~= "" then
    -- [T| ]HH:MM, then :SS and a fraction (dropped: the filter counts seconds)
    h, mi, zone = match(rest, "^[Tt ](%d%d):(%d%d)(.*)$")
    if not h then y = nil end
    local seconds, after = match(zone or "", "^:(%d%d)(.*)$")
    if seconds then
      s, zone = seconds, match(after, "^[%.,]%d+(.*)$") or after
    end
  end
  local sign, zone_hours, zone_minutes
  if y and zone ~= "" and zone ~= "Z" and zone ~= "z" then
    sign, zone_hours, zone_minutes = match(zone, "^([+-])(%d%d):?(%d%d)$")
    if not sign then
      sign, zone_hours = match(zone, "^([+-])(%d%d)$")
      zone_minutes = "00"
    end
    if not sign or tonumber(zone_hours) > 23 or tonumber(zone_minutes) > 59 then y = nil end
  end
  if not y then
    return nil, "must be " .. DATE_TIME_EXAMPLE .. ", not '" .. value .. "'"
  end
  local year, month, day = tonumber(y), tonumber(mo), tonumber(d)
  local hour, minute, second = tonumber(h), tonumber(mi), tonumber(s)
  if not date_ok(year, month, day) or not clock_ok(hour, minute, second) then
    return nil, "is no date and time: '" .. value .. "'"
  end
  if zone == "" then       -- local time, as ISO 8601 reads a time without a zone
    return utc_text(os_time { year = year, month = month, day = day, hour = hour, min = minute,
                              sec = second })
  end
  return format("%04d-%02d-%02dT%02d:%02d:%02d%s", year, month, day, hour, minute, second,
    sign and (sign .. zone_hours .. ":" .. zone_minutes) or "Z")
end

local function count(key, value, level)
  if type(value) ~= "number" then misuse(key, "a number", value, level) end
  if not is_integer(value) or value < 0 or value > INT32_MAX then
    return nil, format("must be a whole number from 0 to %d, not %s", INT32_MAX,
      tostring(value))
  end
  return format("%d", value)
end

-- filter key -> query parameter
local PARAMETERS = {
  type = "typeFilter", state = "stateFilter", result = "resultFilter", name = "nameFilter",
  job_id = "jobIdFilter", limit = "limit", skip = "skip",
  created_after = "createdAfterFilter", created_before = "createdBeforeFilter",
  ended_after = "endedAfterFilter", ended_before = "endedBeforeFilter",
}

local DATE_KEYS = { created_after = true, created_before = true, ended_after = true,
                    ended_before = true }

--- The query for a filter, newest first.
-- @tparam table filter see `vbr.session.list`
-- @tparam table revision the facts of the revision in use (`vbr.revision`)
-- @tparam number level the stack level to blame for misuse (wrong types,
--   unknown keys), as `error` counts it from the caller of `build`
-- @treturn[1] table query parameters (arrays for repeated ones)
-- @return[2] nil, problems (`{path=, message=}`, `path` the filter key)
function sessions_query.build(filter, revision, level)
  level = level + 1
  local name = revision.name
  local known = enums(name)
  local query = { orderColumn = "CreationTime", orderAsc = "false" }
  local problems = {}
  local keys = {}
  for key in pairs(filter) do
    if type(key) ~= "string" or not PARAMETERS[key] then
      local names = {}
      for known_key in pairs(PARAMETERS) do names[#names + 1] = known_key end
      sort(names)
      error(format("vbr: unknown session filter '%s' (known: %s)", tostring(key),
        concat(names, ", ")), level)
    end
    keys[#keys + 1] = key
  end
  sort(keys)
  for _, key in ipairs(keys) do
    local value, out, why = filter[key], nil, nil
    if key == "type" or key == "result" then
      out = enum_filter(key, value, known[key], key, name, revision.session_type_filter_is_array,
        problems, level + 1)
    elseif key == "state" then
      if type(value) ~= "string" then misuse(key, "a string", value, level) end
      out, why = enum_value(known.state, value, "state", name)
    elseif key == "name" then
      if type(value) ~= "string" then misuse(key, "a string", value, level) end
      out = value
    elseif key == "job_id" then
      if type(value) ~= "string" then misuse(key, "a string", value, level) end
      if model.is_uuid(value) then
        out = lower(value)
      else
        why = "must be a UUID such as 'f4f3c4b0-8d07-4c8e-9b4e-6f1d2a3b4c5d', not '"
          .. value .. "'"
      end
    elseif DATE_KEYS[key] then
      out, why = date_time(key, value, level + 1)
    else
      out, why = count(key, value, level + 1)
    end
    if why then problem(problems, key, why) end
    if out ~= nil then query[PARAMETERS[key]] = out end
  end
  if #problems > 0 then return nil, problems end
  return query
end

return sessions_query
