-- GET/PUT /api/v1/configBackup and POST /api/v1/configBackup/backup.
-- The settings are stored neutral (days lower-case, localTime in seconds of
-- the day) and rendered in the casing and time format of each revision.
local json = require "vbrsim.json"
local util = require "vbrsim.util"
local http = require "vbrsim.http"
local schema = require "vbrsim.schema"
local state = require "vbrsim.state"
local inventory = require "vbrsim.inventory"
local sessions = require "vbrsim.sessions"

local configbackup = {}

local pairs, ipairs, tonumber = pairs, ipairs, tonumber
local floor, format = math.floor, string.format

local WEEK = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" }
local YEAR = { "January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December" }

local function array_of(list)
  local a = json.array()
  for i, v in ipairs(list) do a[i] = v end
  return a
end

local REPOSITORY_OF = { default = "repo_default", nas = "repo_nas", hardened = "repo_hardened" }

-- A fleet server's settings: its profile's (vbrsim.fleet) over the defaults.
local function profile_settings(settings, config)
  settings.isEnabled = config.isEnabled
  settings.backupRepositoryId = state.ids[REPOSITORY_OF[config.repository]]
  settings.restorePointsToKeep = config.restorePointsToKeep
  local schedule = config.schedule
  settings.schedule = json.object {
    isEnabled = schedule.isEnabled,
    daily = json.object(state.copy(schedule.daily)),
    monthly = json.object(state.copy(schedule.monthly)),
  }
  settings.schedule.daily.days = array_of(schedule.daily.days)
  settings.schedule.monthly.months = array_of(YEAR)
  if not config.encrypted then
    settings.encryption = json.object { isEnabled = false,
                                        passwordId = "00000000-0000-0000-0000-000000000000" }
  end
  if config.email then
    local smtp = settings.notifications.SMTPSettings
    smtp.isEnabled, smtp.settingsType = true, "Custom"
    smtp.recipients = array_of { "backup-team@example.com" }
  end
  return settings
end

local function default_settings()
  local settings = json.object {
    isEnabled = true,
    backupRepositoryId = state.ids.repo_default,
    restorePointsToKeep = 10,
    notifications = json.object {
      SNMPEnabled = false,
      SMTPSettings = json.object {
        isEnabled = false, settingsType = "Global", recipients = json.array(),
        subject = "[%JobResult%] %JobName% (%Time%)",
        notifyOnSuccess = true, notifyOnWarning = true, notifyOnError = true,
      },
    },
    schedule = json.object {
      isEnabled = true,
      daily = json.object {
        isEnabled = true, localTime = 10 * 3600, dailyKind = "Everyday", days = array_of(WEEK),
      },
      monthly = json.object {
        isEnabled = false, localTime = 22 * 3600,
        dayOfWeek = "saturday", dayNumberInMonth = "Fourth",
        dayOfMonth = 1, months = array_of(YEAR),
        isLastDayOfMonth = false,
      },
    },
    encryption = json.object { isEnabled = true, passwordId = state.ids.password_standard },
  }
  local profile = state.profile
  return profile and profile_settings(settings, profile.config) or settings
end

state.on_reset(function()
  state.config_backup = default_settings()
  state.last_put_body = nil
end)

---------------------------------------------------------------- localTime per revision

-- Each format: how to read it (-> seconds of the day) and how to write it.
local TIME_FORMATS = {
  ["h:MM AM"] = {
    example = "10:00 PM",
    parse = function(text)
      local h, m, half = text:match("^(%d%d?):(%d%d) ([AP]M)$")
      h, m = tonumber(h), tonumber(m)
      if not h or h < 1 or h > 12 or m > 59 then return nil end
      return ((h % 12) + (half == "PM" and 12 or 0)) * 3600 + m * 60
    end,
    write = function(seconds)
      local h, m = floor(seconds / 3600), floor(seconds % 3600 / 60)
      local shown = h % 12 == 0 and 12 or h % 12
      return format("%d:%02d %s", shown, m, h < 12 and "AM" or "PM")
    end,
  },
  ["HH:MM"] = {
    example = "22:00",
    parse = function(text)
      local h, m = text:match("^(%d%d):(%d%d)$")
      h, m = tonumber(h), tonumber(m)
      if not h or h > 23 or m > 59 then return nil end
      return h * 3600 + m * 60
    end,
    write = function(seconds)
      return format("%02d:%02d", floor(seconds / 3600), floor(seconds % 3600 / 60))
    end,
  },
  ["HH:MM:SS"] = {
    example = "22:00:00",
    parse = function(text)
      local h, m, s = text:match("^(%d%d):(%d%d):(%d%d)$")
      h, m, s = tonumber(h), tonumber(m), tonumber(s)
      if not h or h > 23 or m > 59 or s > 59 then return nil end
      return h * 3600 + m * 60 + s
    end,
    write = function(seconds)
      local h, m, s = floor(seconds / 3600), floor(seconds % 3600 / 60), floor(seconds % 60)
      return format("%02d:%02d:%02d", h, m, s)
    end,
  },
}

local function time_format(document)
  return TIME_FORMATS[document.time_format]
end

-- localTime as a revision reads it: its examples' style, or the schema's
-- own `format: time` (HH:MM:SS), which every revision declares.
local function parse_time(document, text)
  return time_format(document).parse(text) or TIME_FORMATS["HH:MM:SS"].parse(text)
end

-- Walks the day and time fields of a settings record, replacing each value.
local function convert_schedule(record, convert_day, convert_time)
  local schedule = record.schedule
  if not json.is_object(schedule) then return end
  for _, part in ipairs { "daily", "monthly" } do
    local p = schedule[part]
    if json.is_object(p) then
      if p.localTime ~= nil then p.localTime = convert_time(p.localTime) end
      if json.is_array(p.days) then
        for i, day in ipairs(p.days) do p.days[i] = convert_day(day) end
      end
      if p.dayOfWeek ~= nil then p.dayOfWeek = convert_day(p.dayOfWeek) end
    end
  end
end

function configbackup.last_successful_backup()
  local s = sessions.last_successful_config_backup(ngx.now())
  if not s then return json.object() end
  return json.object {
    lastSuccessfulTime = util.format_datetime(s.ended, state.settings.utc_offset_minutes),
    sessionId = s.id,
  }
end

-- The stored settings as the given revision writes them.
function configbackup.render(document)
  local record = state.copy(state.config_backup)
  local fmt = time_format(document)
  local function day_spelling(day) return schema.spelling(document, "EDayOfWeek", day) end
  convert_schedule(record, day_spelling, fmt.write)
  record.lastSuccessfulBackup = configbackup.last_successful_backup()
  local out = schema.shape(document, document:schema("ConfigBackupModel"), record)
  for name, value in pairs(state.settings.extra_fields) do out[name] = state.copy(value) end
  return out
end

-- GET /api/v1/configBackup
function configbackup.get(req)
  return http.json(200, configbackup.render(req.document))
end

-- Business rules the schema cannot express; nil or a 400 response.
local function check_rules(body)
  local repo = inventory.repository(body.backupRepositoryId)
  if not repo then
    return http.bad_request("backupRepositoryId",
      format("the backup repository %s does not exist", body.backupRepositoryId))
  end
  if repo.scale_out then
    return http.bad_request("backupRepositoryId",
      "a scale-out backup repository cannot be the target of the configuration backup")
  end
  if repo.external then
    return http.bad_request("backupRepositoryId",
      "an external repository cannot be the target of the configuration backup")
  end
  local points = body.restorePointsToKeep
  if points < 1 or points > 255 then
    return http.bad_request("restorePointsToKeep", "must be between 1 and 255")
  end
  if body.encryption.isEnabled and not inventory.password(body.encryption.passwordId) then
    return http.bad_request("encryption.passwordId",
      format("the encryption password %s does not exist", body.encryption.passwordId))
  end
  if body.notifications.SNMPEnabled and not state.settings.snmp_configured then
    return http.bad_request("notifications.SNMPEnabled",
      "SNMP traps cannot be enabled: the backup server has no global SNMP settings")
  end
  local monthly = body.schedule.monthly
  local day = json.is_object(monthly) and monthly.dayOfMonth
  if day and (day < 1 or day > 31) then
    return http.bad_request("schedule.monthly.dayOfMonth", "must be between 1 and 31")
  end
  return nil
end

-- Schema check of a PUT body against the revision's ConfigBackupModel.
function configbackup.validate(document, body)
  local fmt = time_format(document)
  local extra = {}
  for name in pairs(state.settings.extra_fields) do extra[name] = true end
  return schema.validate(document, document:schema("ConfigBackupModel"), body, {
    strict = state.settings.strict_unknown_fields,
    extra_top_level = extra,
    revision = document.revision,
    formats = {
      time = function(text)
        return parse_time(document, text) ~= nil,
          format('must be a time written like "%s" or "HH:MM:SS" in revision %s', fmt.example,
            document.revision)
      end,
    },
  })
end

-- PUT /api/v1/configBackup: the whole model, validated, then stored neutral.
function configbackup.put(req)
  local content_type = (req.headers["content-type"] or ""):lower()
  if not content_type:find("^application/json") then
    return http.bad_request(nil, "The request body must be application/json.")
  end
  local body, err = json.decode(req.body or "")
  if body == nil then
    return http.bad_request(nil, "The request body is not valid JSON: " .. err)
  end
  local problem = configbackup.validate(req.document, body)
  if problem then return http.bad_request(problem.path, problem.message) end
  local refusal = check_rules(body)
  if refusal then return refusal end
  local record = state.copy(body)
  record.lastSuccessfulBackup = nil      -- read-only: the server keeps its own
  for name in pairs(state.settings.extra_fields) do record[name] = nil end
  convert_schedule(record, string.lower, function(text) return parse_time(req.document, text) end)
  state.config_backup = record
  state.last_put_body = req.body
  return http.json(200, configbackup.render(req.document))
end

-- Why a backup started now would fail, or nil.
local function failure_reason(settings)
  local repo = inventory.repository(settings.backupRepositoryId)
  if not repo then return "The backup repository of the configuration backup no longer exists." end
  if settings.encryption.isEnabled then
    if not inventory.password(settings.encryption.passwordId) then
      return "The encryption password of the configuration backup no longer exists."
    end
  elseif inventory.encryption_mandatory() then
    return "Configuration backup encryption is mandatory: the backup server has encryption "
      .. "passwords or a hardened repository. Enable encryption for the configuration backup job."
  end
  return nil
end

local SUCCESS_MESSAGE = "Configuration backup completed successfully."

-- POST /api/v1/configBackup/backup
function configbackup.start(req)
  local running = sessions.running_config_backup(req.now)
  if running then
    return http.error(400, "UnknownError",
      "The configuration backup job is already running.", running.id)
  end
  if not state.config_backup.isEnabled then
    return http.error(400, "UnknownError",
      "Configuration backup is disabled. Enable it before starting a backup.")
  end
  local outcome, message = state.settings.backup_outcome, SUCCESS_MESSAGE
  if outcome == "auto" then
    local reason = failure_reason(state.config_backup)
    outcome, message = reason and "Failed" or "Success", reason or SUCCESS_MESSAGE
  elseif outcome == "ActionRequired" then
    message = ""
  elseif outcome ~= "Success" then
    message = "Simulated " .. outcome:lower() .. " result."
  end
  local session = sessions.start_config_backup(req.now, req.user.name, outcome, message)
  return http.json(200, sessions.render(req.document, session, req.now))
end

return configbackup
