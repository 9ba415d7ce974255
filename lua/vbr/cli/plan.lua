--- New configuration backup settings, computed locally from the current ones
-- and what the user wants, without sending anything: the command line shows
-- the difference before it writes (or instead of writing, with --dry-run).
--
-- `vbr.configbackup` has the same pieces inside `set_schedule`,
-- `set_repository`, ... but each of those also sends its own GET and PUT.
-- @module vbr.cli.plan

local json = require "vbr.json"
local schedule_lib = require "vbr.schedule"

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local lower, concat, sort = string.lower, table.concat, table.sort

local plan = {}

--- A deep copy that keeps array marks and remembered nulls at every level.
function plan.copy(value)
  if type(value) ~= "table" or value == json.null then return value end
  local out = json.copy(value)
  for key, member in pairs(out) do out[key] = plan.copy(member) end
  return out
end

--- `changes` merged into a copy of `base`: objects member by member, arrays
-- and plain values replaced whole.
function plan.merge(base, changes)
  local out = plan.copy(base)
  for key, value in pairs(changes) do
    local current = out[key]
    if type(value) == "table" and not json.is_array(value) and value ~= json.null
        and type(current) == "table" and not json.is_array(current) then
      out[key] = plan.merge(current, value)
    else
      out[key] = plan.copy(value)
    end
  end
  return out
end

--- The item of `list` whose `id` is `wanted`, or whose `field` equals it
-- case-insensitively (the only one).
-- @return the item, or `nil` and a problem message
function plan.find(list, wanted, field, what)
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
function plan.can_hold_backup(repository)
  local kind = tostring(repository.type)
  if kind == "ExtendableRepository" or kind == "ScaleOut" or kind:find("External$") then
    return false, "repository '" .. tostring(repository.name) .. "' is of type " .. kind
      .. ", which cannot hold the configuration backup"
  end
  return true
end

--- A schedule from a template name (`nightly`) or a phrase (`weekdays at 22:00`).
-- @return a `vbr.schedule` table, or `nil` and a message
function plan.read_schedule(text)
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

--- The settings `current` becomes with `wanted` applied; nothing is sent
-- except the GETs of the repository and password lists when a name must be
-- resolved.
-- @tparam table client a connected client
-- @tparam table current the settings as read (`client.configbackup:get()`)
-- @tparam table wanted any of `enabled` (boolean), `retention` (number),
--   `schedule` (text or template name, or a `vbr.schedule` table),
--   `repository` (name or id), `encryption` (password hint or id, or
--   `"off"`), `snmp` (boolean), `email` (boolean), `email_to` (list of
--   addresses: custom recipients, and email on unless `email` is false)
-- @treturn[1] table the new settings (not yet checked by `configbackup:check`)
-- @treturn[1] table what was looked up: `repositories`, `passwords` (lists)
-- @return[2] nil, an error of kind `invalid` listing every problem found
function plan.apply(client, current, wanted)
  local settings = plan.copy(current)
  local problems, lookups = {}, {}
  local function problem(path, message)
    problems[#problems + 1] = { path = path, message = message }
  end

  if wanted.enabled ~= nil then settings.isEnabled = wanted.enabled end
  if wanted.retention ~= nil then settings.restorePointsToKeep = wanted.retention end

  if wanted.schedule ~= nil then
    local revision = client:revision().name
    local schedule, why = wanted.schedule, nil
    if type(schedule) == "string" then schedule, why = plan.read_schedule(schedule) end
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
    local found, why = plan.find(list, wanted.repository, "name", "repository")
    if found then
      local ok, refused = plan.can_hold_backup(found)
      if ok then
        settings.backupRepositoryId = found.id
      else
        problem("backupRepositoryId", refused)
      end
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
      local found, why = plan.find(list, wanted.encryption, "hint", "encryption password")
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
    smtp.recipients = json.array(plan.copy(wanted.email_to))
    smtp.settingsType = "Custom"
    smtp.isEnabled = true
  end
  if wanted.email ~= nil then smtp_of(settings).isEnabled = wanted.email end

  if #problems > 0 then
    -- Everything wrong at once: what the model says of the rest as well.
    local reported = {}
    for _, p in ipairs(problems) do reported[p.path] = true end
    local ok, more = client.configbackup:check(settings)
    if not ok and type(more) == "table" and type(more.problems) == "table" then
      for _, p in ipairs(more.problems) do
        if not reported[p.path] then problem(p.path, p.message) end
      end
    end
    sort(problems, function(a, b) return a.path < b.path end)
    return nil, client:invalid(problems, "PUT", "/api/v1/configBackup")
  end
  return settings, lookups
end

--- Checks that the repository and password that `new` names exist and may
-- be used, when they differ from `current` (for settings read from a file).
-- @treturn[1] table what was looked up: `repositories`, `passwords`
-- @return[2] nil, error (kind `invalid`, or what the lookup met)
function plan.check_references(client, current, new)
  local problems, lookups = {}, {}
  local function problem(path, message)
    problems[#problems + 1] = { path = path, message = message }
  end
  local repository_id = new.backupRepositoryId
  if type(repository_id) == "string" and repository_id ~= current.backupRepositoryId then
    local list, err = client:repositories()
    if not list then return nil, err end
    lookups.repositories = list
    local found
    for _, item in ipairs(list) do
      if item.id == repository_id then found = item end
    end
    if not found then
      problem("backupRepositoryId", "no repository has the id '" .. repository_id .. "'")
    else
      local ok, why = plan.can_hold_backup(found)
      if not ok then problem("backupRepositoryId", why) end
    end
  end
  local old_encryption = type(current.encryption) == "table" and current.encryption or {}
  local encryption = type(new.encryption) == "table" and new.encryption or {}
  if encryption.isEnabled == true and type(encryption.passwordId) == "string"
      and encryption.passwordId ~= old_encryption.passwordId then
    local list, err = client:encryption_passwords()
    if not list then return nil, err end
    lookups.passwords = list
    local found = false
    for _, item in ipairs(list) do
      if item.id == encryption.passwordId then found = true end
    end
    if not found then
      problem("encryption.passwordId", "no encryption password has the id '"
        .. encryption.passwordId .. "'")
    end
  end
  if #problems > 0 then return nil, client:invalid(problems, "PUT", "/api/v1/configBackup") end
  return lookups
end

return plan
