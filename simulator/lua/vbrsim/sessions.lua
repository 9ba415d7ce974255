-- Sessions: a configuration backup session goes Starting -> Working -> Stopped
-- over session_duration seconds. Nothing ticks: state, progress and result are
-- derived from the timestamps whenever a session is looked at.
local json = require "vbrsim.json"
local util = require "vbrsim.util"
local http = require "vbrsim.http"
local schema = require "vbrsim.schema"
local state = require "vbrsim.state"
local listing = require "vbrsim.listing"

local sessions = {}

local ipairs, floor, min, format = ipairs, math.floor, math.min, string.format

local STARTING_SHARE = 0.1   -- first tenth of the run is "Starting"

-- Neutral session kinds whose name changed between revisions.
local TYPE_SPELLINGS = { BackupJob = { "BackupJob", "Job" } }

local function add(session)
  state.sessions[#state.sessions + 1] = session
  state.sessions_by_id[session.id] = session
  return session
end

local function new_session(fields)
  fields.id = fields.id or util.uuid()
  fields.usn = state.next_usn() * 3
  return add(fields)
end

local function config_session(created, run_time, outcome, message)
  return new_session { name = "Backup Configuration Job", kind = "ConfigurationBackup",
    job_id = state.ids.config_job, created = created, run_time = run_time, outcome = outcome,
    message = message, initiated_by = "Scheduler" }
end

local SUCCESS = "Configuration backup completed successfully."

-- A fleet server's configuration backups, as its profile's history says
-- (vbrsim.fleet): the last success, a failed last run, one still running.
local function profile_history(now, history)
  config_session(now - history.last_success_age - 86400, 31, "Success", SUCCESS)
  config_session(now - history.last_success_age, 34, "Success", SUCCESS)
  if history.failed_age then
    config_session(now - history.failed_age, 20, "Failed",
      "Unable to connect to the backup repository: the network path was not found.")
  end
  if history.running_for then
    config_session(now - history.running_for, 86400, "Success", SUCCESS)
  end
end

-- A few finished sessions, so lists, filters and lastSuccessfulBackup have data.
state.on_reset(function()
  local now = state.started_at
  local backup_job = "c05dfa57-f59a-4e90-8065-b7f5d3276406"
  local profile = state.profile
  if profile then
    profile_history(now, profile.history)
  else
    config_session(now - 86400, 34, "Success", SUCCESS)
  end
  new_session { name = "Infrastructure Item Saving", kind = "Infrastructure", job_id = util.uuid(),
    created = now - 5 * 3600, run_time = 12, outcome = "Success", message = "Success",
    initiated_by = "admin" }
  new_session { name = "Backup Job 1", kind = "BackupJob", job_id = backup_job,
    created = now - 3 * 3600, run_time = 86, outcome = "Failed",
    message = "Creating synthetic full backup (22% done)", initiated_by = "Scheduler" }
  new_session { name = "Backup Job 1", kind = "BackupJob", job_id = backup_job,
    created = now - 2 * 3600, run_time = 301, outcome = "Success", message = "Success",
    initiated_by = "Scheduler" }
end)

-- What a session looks like at a moment: state, progress, end time, result.
local function phase(session, now)
  local natural_end = session.created + session.run_time
  local stop = session.stopped_at
  -- a session waiting for a person has no natural end: a stop ends it
  local waits = session.outcome == "ActionRequired"
  if stop and (stop < natural_end or waits) then
    if now >= stop then
      local progress = floor(100 * (stop - session.created) / session.run_time)
      return { state = "Stopped", progress = min(progress, 99), ended = stop, result = "Failed",
               message = "Job has been stopped by " .. session.stopped_by .. ".",
               canceled = true, step = 2 }
    end
  end
  if now >= natural_end and waits then
    -- the job waits for a person until someone stops it (1.3-rev2's state;
    -- older revisions have no word for it and show it still working)
    return { state = "ActionRequired", progress = 99, result = "None", message = "",
             canceled = false, step = 2 }
  end
  if now >= natural_end then
    return { state = "Stopped", progress = 100, ended = natural_end, result = session.outcome,
             message = session.message, canceled = false, step = 2 }
  end
  local elapsed = now - session.created
  if elapsed < session.run_time * STARTING_SHARE then
    return { state = "Starting", progress = 0, result = "None", message = "",
             canceled = false, step = 0 }
  end
  return { state = "Working", progress = min(floor(100 * elapsed / session.run_time), 99),
           result = "None", message = "", canceled = false, step = 1 }
end

local function type_spelling(document, kind)
  local enum = document:schema("ESessionType").enum
  for _, candidate in ipairs(TYPE_SPELLINGS[kind] or { kind }) do
    for _, value in ipairs(enum) do
      if value == candidate then return value end
    end
  end
  return kind
end

-- A state the revision's document lacks (ActionRequired before 1.3-rev2)
-- reads as Working.
local function state_spelling(document, name)
  for _, value in ipairs(document:schema("ESessionState").enum) do
    if value == name then return name end
  end
  return "Working"
end

local function datetime(epoch)
  return util.format_datetime(epoch, state.settings.utc_offset_minutes)
end

-- SessionModel of the revision (activityId in 1.1, jobId later; endTime absent while running).
function sessions.render(document, session, now)
  local p = phase(session, now)
  return schema.shape(document, document:schema("SessionModel"), {
    id = session.id,
    name = session.name,
    jobId = session.job_id,
    activityId = session.job_id,
    sessionType = type_spelling(document, session.kind),
    creationTime = datetime(session.created),
    endTime = p.ended and datetime(p.ended) or nil,
    state = state_spelling(document, p.state),
    progressPercent = p.progress,
    result = { result = p.result, message = p.message, isCanceled = p.canceled },
    usn = session.usn + p.step,
    initiatedBy = session.initiated_by,
  })
end

function sessions.running_config_backup(now)
  for i = #state.sessions, 1, -1 do
    local s = state.sessions[i]
    if s.kind == "ConfigurationBackup" and phase(s, now).state ~= "Stopped" then return s end
  end
  return nil
end

-- The configuration backup session that most recently ended with Success.
function sessions.last_successful_config_backup(now)
  local best
  for _, s in ipairs(state.sessions) do
    if s.kind == "ConfigurationBackup" then
      local p = phase(s, now)
      if p.state == "Stopped" and p.result == "Success" and (not best or p.ended > best.ended) then
        best = { id = s.id, ended = p.ended }
      end
    end
  end
  return best
end

function sessions.start_config_backup(now, username, outcome, message)
  return new_session { name = "Backup Configuration Job", kind = "ConfigurationBackup",
    job_id = state.ids.config_job, created = now, run_time = state.settings.session_duration,
    outcome = outcome, message = message, initiated_by = username }
end

local ORDER_KEYS = {
  Name = function(v) return v.record.name end,
  SessionType = function(v) return v.record.sessionType end,
  CreationTime = function(v) return v.session.created end,
  EndTime = function(v) return v.phase.ended end,
  State = function(v) return v.record.state end,
  Result = function(v) return v.record.result and v.record.result.result end,
}

-- True when the moment lies strictly between the given date-time bounds (each optional).
local function within(moment, after, before)
  if not after and not before then return true end
  if not moment then return false end
  if after and moment <= util.parse_datetime(after) then return false end
  if before and moment >= util.parse_datetime(before) then return false end
  return true
end

local function keep(view, args, types, results)
  local record, p = view.record, view.phase
  if types and not types[record.sessionType] then return false end
  if results and not results[p.result] then return false end
  if args.stateFilter and record.state ~= args.stateFilter then return false end
  if args.jobIdFilter and view.session.job_id ~= args.jobIdFilter then return false end
  if args.nameFilter and not listing.name_matches(args.nameFilter, record.name) then
    return false
  end
  return within(view.session.created, args.createdAfterFilter, args.createdBeforeFilter)
    and within(p.ended, args.endedAfterFilter, args.endedBeforeFilter)
end

-- GET /api/v1/sessions: newest first unless orderColumn/orderAsc say otherwise.
function sessions.list(req)
  local args, document, now = req.args, req.document, req.now
  local types, results = listing.set_of(args.typeFilter), listing.set_of(args.resultFilter)
  local views = {}
  for _, s in ipairs(state.sessions) do
    local view = { session = s, phase = phase(s, now), record = sessions.render(document, s, now) }
    if keep(view, args, types, results) then views[#views + 1] = view end
  end
  listing.sort_by(views, ORDER_KEYS[args.orderColumn or "CreationTime"], not args.orderAsc)
  local records = {}
  for i, view in ipairs(views) do records[i] = view.record end
  return http.json(200, listing.page(records, args))
end

local function find(req)
  local session = state.sessions_by_id[req.params.id]
  if not session then
    return nil, http.error(404, "NotFound",
      format("Session %s was not found.", req.params.id), req.params.id)
  end
  return session
end

-- GET /api/v1/sessions/{id}
function sessions.get(req)
  local session, missing = find(req)
  if not session then return missing end
  return http.json(200, sessions.render(req.document, session, req.now))
end

local LOG_STATUS = { Success = "Succeeded", Warning = "Warning", Failed = "Failed" }

-- GET /api/v1/sessions/{id}/logs: newest record first, as in the documents.
function sessions.logs(req)
  local session, missing = find(req)
  if not session then return missing end
  local p = phase(session, req.now)
  local started = session.created
  local working_from = started + session.run_time * STARTING_SHARE
  local lines = { { status = "Succeeded", start = started, update = started,
                    title = "Job started at " .. os.date("!%Y-%m-%d %H:%M:%S", floor(started)) } }
  if p.state ~= "Starting" then
    lines[#lines + 1] = { status = p.state == "Stopped" and "Succeeded" or "None",
                          start = working_from, update = p.ended or req.now,
                          title = "Backing up configuration database" }
  end
  if p.state == "Stopped" then
    local status = p.canceled and "Warning" or LOG_STATUS[p.result]
    lines[#lines + 1] = { status = status, start = p.ended, update = p.ended, title = p.message }
  end
  local records = json.array()
  local model = req.document:schema("SessionLogRecordModel")
  for i = #lines, 1, -1 do
    local line = lines[i]
    records[#records + 1] = schema.shape(req.document, model, {
      id = i, status = line.status, title = line.title, description = "",
      startTime = datetime(line.start), updateTime = datetime(line.update),
    })
  end
  return http.json(200, json.object { totalRecords = #records, records = records })
end

-- POST /api/v1/sessions/{id}/stop: a running session stops at once, canceled;
-- stopping a stopped session changes nothing (the documents list no 400 here).
function sessions.stop(req)
  local session, missing = find(req)
  if not session then return missing end
  if phase(session, req.now).state ~= "Stopped" then
    session.stopped_at = req.now
    session.stopped_by = req.user.name
  end
  return http.json(200, json.object())
end

return sessions
