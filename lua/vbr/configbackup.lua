--- The configuration backup of one server: read, check, change and run it.
--
-- Reached as `client.configbackup`. Settings are plain Lua tables with the
-- API's own field names (`restorePointsToKeep`, `schedule.daily.localTime`,
-- ...); JSON `null` reads as `nil`; arrays stay arrays, even empty ones;
-- fields this library does not know are kept and sent back unchanged.
--
-- Every method returns its result, or `nil` and an error (see `vbr`), and
-- checks its input before anything is sent.
-- @classmod vbr.configbackup

local json = require "vbr.json"
local model = require "vbr.model"
-- vbr.schedule is loaded on first use: get(), put() and start() need none
-- of it, and a short-lived process spends its start-up time compiling Lua
local schedule_lib = setmetatable({}, { __index = function(_, name)
  return require("vbr.schedule")[name]
end })
local session_lib = require "vbr.session"

local type, pairs, ipairs, tostring, setmetatable = type, pairs, ipairs, tostring, setmetatable
local lower, concat = string.lower, table.concat

local PATH = "/api/v1/configBackup"

local ConfigBackup = {}
ConfigBackup.__index = ConfigBackup

--- Made by `vbr.connect`; not called directly.
function ConfigBackup.new(client)
  return setmetatable({ client = client }, ConfigBackup)
end

--- The current settings.
-- @treturn table settings
function ConfigBackup:get()
  local settings, err = self.client:request("GET", PATH)
  if not settings then return nil, err end
  -- Written back in the style the server uses itself (HANDBOOK section 3).
  self.time_style = model.time_style_of(settings) or self.time_style
  return settings
end

--- Checks settings for this client's revision without sending anything.
-- @tparam table settings the whole settings table
-- @treturn[1] table the settings as they would be sent (casing and time
--   style of the revision)
-- @return[2] nil, error of kind `"invalid"` whose `problems` lists
--   `{path=, message=}`
function ConfigBackup:check(settings)
  if type(settings) ~= "table" then
    error("vbr: configbackup:check expects a settings table, got " .. type(settings), 2)
  end
  local out, problems = model.check(settings, self.client:revision(), self.time_style)
  if not out then return nil, self.client:invalid(problems, "PUT", PATH) end
  return out
end

--- Replaces the whole settings (the API has no partial update).
-- @tparam table settings all seven top-level fields
-- @treturn table the settings as the server now holds them
function ConfigBackup:put(settings)
  if type(settings) ~= "table" then
    error("vbr: configbackup:put expects a settings table, got " .. type(settings), 2)
  end
  local body, err = self:check(settings)
  if not body then return nil, err end
  return self.client:request("PUT", PATH, { body = body })
end

--- A deep copy that keeps array marks and remembered nulls at every level.
function ConfigBackup.copy(value)
  if type(value) ~= "table" or value == json.null then return value end
  local out = json.copy(value)
  for key, member in pairs(out) do out[key] = ConfigBackup.copy(member) end
  return out
end

--- `changes` merged into a copy of `base`: objects member by member, arrays
-- and everything else replaced whole.
function ConfigBackup.merge(base, changes)
  local out = ConfigBackup.copy(base)
  for key, value in pairs(changes) do
    local current = out[key]
    if type(value) == "table" and not json.is_array(value) and value ~= json.null
        and type(current) == "table" and not json.is_array(current) then
      out[key] = ConfigBackup.merge(current, value)
    else
      out[key] = ConfigBackup.copy(value)
    end
  end
  return out
end

--- Changes some settings: reads them, merges `changes` into them (objects
-- member by member, arrays replaced whole), checks and writes them back in
-- one PUT. Nothing is sent when the result would not be valid.
-- @tparam table changes e.g. `{ restorePointsToKeep = 30 }`
-- @treturn table the settings as the server now holds them
function ConfigBackup:edit(changes)
  if type(changes) ~= "table" then
    error("vbr: configbackup:edit expects a table of changes, got " .. type(changes), 2)
  end
  local current, err = self:get()
  if not current then return nil, err end
  return self:put(ConfigBackup.merge(current, changes))
end

--- The item of `list` whose `id` is `wanted`, or whose `field` equals it
-- case-insensitively (the only one).
-- @return the item, or `nil` and a problem message
function ConfigBackup.find(list, wanted, field, what)
  local matches = {}
  for _, item in ipairs(list) do
    if item.id == wanted then return item end
    if type(item[field]) == "string" and lower(item[field]) == lower(wanted) then
      matches[#matches + 1] = item
    end
  end
  if #matches == 1 then return matches[1] end
  if #matches > 1 then
    return nil, "'" .. wanted .. "' names more than one " .. what .. "; give its id instead"
  end
  local names = {}
  for i, item in ipairs(list) do names[i] = "'" .. tostring(item[field]) .. "'" end
  return nil, "no " .. what .. " named '" .. wanted .. "' (there are: "
    .. (#names > 0 and concat(names, ", ") or "none") .. ")"
end

--- Whether a repository may hold the configuration backup: VBR refuses
-- scale-out and external repositories.
-- @return true, or false and why
function ConfigBackup.can_hold_backup(repository)
  local kind = tostring(repository.type)
  if kind == "ExtendableRepository" or kind == "ScaleOut" or kind:find("External$") then
    return false, "repository '" .. tostring(repository.name) .. "' is of type " .. kind
      .. ", which cannot hold the configuration backup"
  end
  return true
end

--- Why a repository id is not in the list of repositories: the list holds
-- every repository that can hold the configuration backup, and none of the
-- scale-out and external ones (the API lists those elsewhere).
function ConfigBackup.unknown_repository_id(id)
  return "no repository that can hold the configuration backup has the id '" .. id
    .. "' (a scale-out or external repository cannot, and is not listed)"
end

--- A schedule from a template name (`nightly`) or a phrase (`weekdays at 22:00`).
-- @return a `vbr.schedule` table, or `nil` and a message
function ConfigBackup.read_schedule(text)
  for _, template in ipairs(schedule_lib.templates()) do
    if template.name == text then return schedule_lib.template(text) end
  end
  return schedule_lib.parse(text)
end

local DEFAULT_SUBJECT = "[%JobResult%] %JobName% (%Time%)"

-- The email settings to change; VBR's defaults when the server sent none.
local function smtp_of(settings)
  local notifications = settings.notifications
  if type(notifications) ~= "table" then
    notifications = { SNMPEnabled = false }
    settings.notifications = notifications
  end
  if type(notifications.SMTPSettings) ~= "table" then
    notifications.SMTPSettings = {
      isEnabled = false, settingsType = "Global", recipients = json.array(),
      subject = DEFAULT_SUBJECT,
      notifyOnSuccess = true, notifyOnWarning = true, notifyOnError = true,
    }
  end
  return notifications.SMTPSettings
end

local WANTED = { enabled = true, retention = true, schedule = true, repository = true,
                 encryption = true, snmp = true, email = true, email_to = true }

--- The settings `current` becomes with `wanted` applied, computed here:
-- nothing is sent but the GETs of the repository and password lists when a
-- name must be resolved. The result is not yet checked (`check` does that).
-- @tparam table current the settings as read (`get()`)
-- @tparam table wanted any of `enabled` (boolean), `retention` (number),
--   `schedule` (text, template name or `vbr.schedule` table), `repository`
--   (name or id), `encryption` (password hint or id, or `"off"`/`false`),
--   `snmp` (boolean), `email` (boolean), `email_to` (addresses: custom
--   recipients, and email on unless `email` is false)
-- @treturn[1] table the new settings
-- @treturn[1] table what was looked up: `repositories`, `passwords` (lists)
-- @return[2] nil, an error of kind `invalid` listing every problem found
function ConfigBackup:plan(current, wanted)
  if type(current) ~= "table" or type(wanted) ~= "table" then
    error("vbr: configbackup:plan expects the current settings and a table of wishes", 2)
  end
  for key in pairs(wanted) do
    if not WANTED[key] then
      error("vbr: configbackup:plan: unknown wish '" .. tostring(key) .. "'", 2)
    end
  end
  local client = self.client
  local settings = ConfigBackup.copy(current)
  local problems, lookups = {}, {}
  local function problem(path, message)
    problems[#problems + 1] = { path = path, message = message }
  end

  if wanted.enabled ~= nil then settings.isEnabled = wanted.enabled end
  if wanted.retention ~= nil then settings.restorePointsToKeep = wanted.retention end

  if wanted.schedule ~= nil then
    local revision = client:revision().name
    local schedule, why = wanted.schedule, nil
    if type(schedule) == "string" then schedule, why = ConfigBackup.read_schedule(schedule) end
    if schedule then
      local ok, found = schedule_lib.validate(schedule, revision)
      if ok then
        -- Over the server's own schedule: its style, its unknown fields.
        local rendered, render_why = schedule_lib.render(schedule, revision,
          { like = type(current.schedule) == "table" and current.schedule or nil })
        if rendered then settings.schedule = rendered else problem("schedule", render_why) end
      else
        for _, p in ipairs(found) do problem("schedule." .. p.path, p.message) end
      end
    else
      problem("schedule", why)
    end
  end

  if wanted.repository ~= nil then
    local list, err = client:repositories()
    if not list then return nil, err end
    lookups.repositories = list
    local found, why = ConfigBackup.find(list, wanted.repository, "name", "repository")
    if found then
      local ok, refused = ConfigBackup.can_hold_backup(found)
      if ok then
        settings.backupRepositoryId = found.id
      else
        problem("backupRepositoryId", refused)
      end
    elseif wanted.repository:find("^%x+%-%x+%-%x+%-%x+%-%x+$") then
      problem("backupRepositoryId", ConfigBackup.unknown_repository_id(wanted.repository)
        .. " " .. (why:match("%(there are: .*%)$") or ""))
    else
      problem("backupRepositoryId", why)
    end
  end

  if wanted.encryption ~= nil then
    if type(settings.encryption) ~= "table" then settings.encryption = {} end
    if wanted.encryption == "off" or wanted.encryption == false then
      settings.encryption.isEnabled = false      -- passwordId stays: the API requires one
    else
      local list, err = client:encryption_passwords()
      if not list then return nil, err end
      lookups.passwords = list
      local found, why = ConfigBackup.find(list, wanted.encryption, "hint", "encryption password")
      if found then
        settings.encryption.isEnabled = true
        settings.encryption.passwordId = found.id
      else
        problem("encryption.passwordId", why)
      end
    end
  end

  if wanted.snmp ~= nil then
    smtp_of(settings)                            -- makes sure notifications exists
    settings.notifications.SNMPEnabled = wanted.snmp
  end
  if wanted.email_to ~= nil then
    local smtp = smtp_of(settings)
    smtp.recipients = json.array(ConfigBackup.copy(wanted.email_to))
    smtp.settingsType = "Custom"
    smtp.isEnabled = true
  end
  if wanted.email ~= nil then smtp_of(settings).isEnabled = wanted.email end

  if #problems > 0 then
    -- Everything wrong at once: what the model says of the rest as well.
    local reported = {}
    for _, p in ipairs(problems) do reported[p.path] = true end
    local ok, more = self:check(settings)
    if not ok and type(more) == "table" and type(more.problems) == "table" then
      for _, p in ipairs(more.problems) do
        if not reported[p.path] then problem(p.path, p.message) end
      end
    end
    table.sort(problems, function(a, b) return a.path < b.path end)
    return nil, client:invalid(problems, "PUT", PATH)
  end
  return settings, lookups
end

--- Reads the settings, applies `wanted` (see `plan`), checks and writes
-- them in one PUT. Nothing is sent when anything is wrong.
-- @treturn table the settings as the server now holds them
function ConfigBackup:change(wanted)
  local current, err = self:get()
  if not current then return nil, err end
  local settings
  settings, err = self:plan(current, wanted)
  if not settings then return nil, err end
  return self:put(settings)
end

--- Turns the configuration backup job on.
function ConfigBackup:enable()
  return self:change { enabled = true }
end

--- Turns the configuration backup job off.
function ConfigBackup:disable()
  return self:change { enabled = false }
end

--- Sets how many restore points to keep (1 to 255).
function ConfigBackup:set_retention(count)
  if type(count) ~= "number" then
    error("vbr: set_retention expects a number of restore points, got " .. type(count), 2)
  end
  return self:change { retention = count }
end

--- Stores the configuration backup on another repository.
-- @tparam string repository its name or id, as listed by
--   `client:repositories()`; scale-out and external repositories are refused
function ConfigBackup:set_repository(repository)
  if type(repository) ~= "string" then
    error("vbr: set_repository expects a repository name or id, got " .. type(repository), 2)
  end
  return self:change { repository = repository }
end

--- Turns encryption on with a password, or off.
-- @param password the hint or id of an encryption password, as listed by
--   `client:encryption_passwords()`; or `false` (or `"off"`) to turn
--   encryption off (the password id is kept, the API requires one)
function ConfigBackup:set_encryption(password)
  if password ~= false and type(password) ~= "string" then
    error("vbr: set_encryption expects a password hint or id, or false, got "
      .. type(password), 2)
  end
  return self:change { encryption = password }
end

--- Sets the schedule.
-- @param schedule a `vbr.schedule` table, a template name (`"nightly"`) or
--   text that `vbr.schedule.parse` reads (`"weekdays at 22:00"`)
function ConfigBackup:set_schedule(schedule)
  if type(schedule) ~= "string" and type(schedule) ~= "table" then
    error("vbr: set_schedule expects a schedule table or text, got " .. type(schedule), 2)
  end
  return self:change { schedule = schedule }
end

--- Sets the notifications (SNMP and email), merged into the current ones.
-- @tparam table notifications e.g. `{ SNMPEnabled = false, SMTPSettings =
--   { isEnabled = true, settingsType = "Custom", recipients = {"a@b.c"} } }`
function ConfigBackup:set_notifications(notifications)
  if type(notifications) ~= "table" then
    error("vbr: set_notifications expects a table, got " .. type(notifications), 2)
  end
  return self:edit { notifications = notifications }
end

--- The configuration backup session that is running now, if any.
-- @treturn[1] vbr.session the running session
-- @treturn[2] false when none runs
-- @return[3] nil, error
function ConfigBackup:running()
  local list, err = session_lib.list(self.client, { type = "ConfigurationBackup", limit = 20 })
  if not list then return nil, err end
  for _, session in ipairs(list) do
    if session.state ~= "Stopped" then return session end
  end
  return false
end

--- Starts a configuration backup now.
-- @tparam[opt] table options `force = true` starts even when a session is
--   already running (what the server then does is undocumented)
-- @treturn vbr.session the new session; `session:wait()` follows it
-- @return[2] nil, err; when the answer was lost after sending
--   (`err.outcome_unknown`) the start is not sent again, and `err.session` is
--   the session it created, if the server shows one
function ConfigBackup:start(options)
  options = options or {}
  if type(options) ~= "table" then
    error("vbr: configbackup:start expects an options table, got " .. type(options), 2)
  end
  for key in pairs(options) do
    if key ~= "force" then error("vbr: configbackup:start: unknown option '" .. key .. "'", 2) end
  end
  -- The sessions before the start: a start whose outcome is unknown (the
  -- connection broke after sending) finds the one it created among the rest.
  local before, err = session_lib.list(self.client, { type = "ConfigurationBackup", limit = 20 })
  if not before then return nil, err end
  local known = {}
  for _, running in ipairs(before) do
    known[running.id] = true
    if running.state ~= "Stopped" and not options.force then
      return nil, self.client:new_error {
        kind = "conflict",
        method = "POST", path = PATH .. "/backup",
        message = "a configuration backup is already running (session " .. running.id
          .. ", " .. running.state .. "); wait for it, or pass force = true",
        session = running,
      }
    end
  end
  local model_table
  model_table, err = self.client:request("POST", PATH .. "/backup")
  if not model_table then
    -- Lost after sending, or accepted with an unreadable answer: never sent
    -- again, but if it did start, say so and hand over the session.
    if err.outcome_unknown or (err.kind == "decode" and (err.status or 0) < 300) then
      local after = session_lib.list(self.client, { type = "ConfigurationBackup", limit = 20 })
      for _, created in ipairs(after or {}) do
        if not known[created.id] then
          err.session = created
          err.message = err.message .. "; the backup did start: session " .. created.id
          break
        end
      end
    end
    return nil, err
  end
  return session_lib.wrap(self.client, model_table)
end

return ConfigBackup
