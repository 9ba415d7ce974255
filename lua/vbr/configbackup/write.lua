--- The methods of `vbr.configbackup` that check and change the settings
-- (`older_revision`, `check`, `put`, `edit`, `plan`, `change`, `enable`,
-- `disable`, `set_*`) and the helpers they share (`merge`, `find`,
-- `can_hold_backup`, `unknown_repository_id`, `read_schedule`): loaded by
-- `vbr.configbackup` when one of them is first used, not required directly.
-- @submodule vbr.configbackup

local json = require "vbr.json"
local answer = require "vbr.answer"

-- vbr.schedule, vbr.model and vbr.revision are loaded on first use too.
local function on_first_use(name)
  return setmetatable({}, { __index = function(_, key) return require(name)[key] end })
end
local schedule_lib = on_first_use("vbr.schedule")
local model = on_first_use("vbr.model")
local revision_lib = on_first_use("vbr.revision")

local type, pairs, ipairs, tostring, error = type, pairs, ipairs, tostring, error
local lower, concat, sort = string.lower, table.concat, table.sort
local copy = json.copy

local PATH = "/api/v1/configBackup"

-- The methods, put into the class by vbr.configbackup.
local ConfigBackup = {}

local WRITE_OPTIONS = { allow_older = "boolean", force = "boolean", current = "table" }

-- The options of a write, checked (misuse raises at the caller's caller);
-- `current` only where the method reads nothing itself.
local function write_options(options, method, takes_current)
  if options == nil then return {} end
  if type(options) ~= "table" then
    error("vbr: configbackup:" .. method .. " expects an options table, got " .. type(options), 3)
  end
  for key, value in pairs(options) do
    if not WRITE_OPTIONS[key] or (key == "current" and not takes_current) then
      error("vbr: configbackup:" .. method .. ": unknown option '" .. tostring(key) .. "'", 3)
    end
    if type(value) ~= WRITE_OPTIONS[key] then
      error("vbr: configbackup:" .. method .. ": option '" .. key .. "' must be a "
        .. WRITE_OPTIONS[key], 3)
    end
  end
  return options
end

--- Whether this client speaks an older API revision than the server, so
-- that what only the newer revision shows (a last-day-of-month schedule,
-- say) would be lost or reset by a write. A client that negotiated its
-- revision (`api_version = "auto"`) never does; otherwise the first call
-- asks the server (one `GET /api/v1/serverInfo`, whose `buildVersion`
-- names the newest revision it speaks) and the answer is kept.
-- @treturn[1] boolean false when the client speaks the newest revision
--   of the server's (revisions without a document of their own count as
--   the one they speak as: 1.1-rev0 on VBR 12.2 is not older)
-- @treturn[2] table when it is older: `client`, `server` (revisions),
--   `build`, `lacks` (the fields the server's revision has and the
--   client's lacks, e.g. `{"schedule.monthly.isLastDayOfMonth"}`) and
--   `message`, a sentence for people
-- @return[3] nil, err when the server could not be asked
function ConfigBackup:older_revision()
  if self.older ~= nil then return self.older end
  if self.negotiated then
    self.older = false
    return false
  end
  local client = self.client
  local info, err = client:server_info()
  if not info then return nil, err end
  local build = type(info) == "table" and info.buildVersion or nil
  local newest = revision_lib.of_build(build)
  if not newest then
    return nil, client:new_error {
      kind = "decode", method = "GET", path = "/api/v1/serverInfo",
      message = "the server's buildVersion " .. (type(build) == "string" and ("'" .. build .. "'")
        or "is missing and") .. " names no VBR version this library knows, so it cannot tell "
        .. "whether " .. client:revision().name .. " is the newest revision the server speaks",
    }
  end
  local mine, theirs = client:revision(), assert(revision_lib.get(newest))
  if not revision_lib.older(mine.document, theirs.document) then
    self.older = false
    return false
  end
  local lacks = model.lacks(mine.name, newest)
  self.older = {
    client = mine.name, server = newest, build = build, lacks = lacks,
    message = "this client speaks API revision " .. mine.name .. ", older than the "
      .. newest .. " the server speaks (VBR " .. build .. "): "
      .. (#lacks > 0 and ("what " .. mine.name .. " cannot see (" .. concat(lacks, ", ")
        .. ") is not shown, and a write at " .. mine.name .. " would lose or reset it")
        or ("the documents give both the same configuration backup settings, so a write "
          .. "loses nothing they describe")),
  }
  return self.older
end

-- The list a check needs (`repositories` or `passwords`), read once per write.
local function lookup(self, lookups, name)
  if lookups[name] then return lookups[name] end
  local list, err
  if name == "repositories" then
    list, err = self.client:repositories()
  else
    list, err = self.client:encryption_passwords()
  end
  if not list then return nil, err end
  if type(list) ~= "table" then     -- server data: a wrong shape is an error, not a raise
    return nil, self.client:new_error {
      kind = "decode", method = "GET",
      path = name == "repositories" and "/api/v1/backupInfrastructure/repositories"
        or "/api/v1/encryptionPasswords",
      message = "the server's list of " .. name .. " is not a list",
    }
  end
  lookups[name] = list
  return list
end

local function by_id(list, id)
  for _, item in ipairs(list) do
    if type(item) == "table" and item.id == id then return item end
  end
  return nil
end

-- Whether the server makes encryption of the configuration backup
-- mandatory (HANDBOOK section 2: any encryption password, or a hardened
-- repository); returns the reason, false, or nil and an error.
local function encryption_mandatory(self, lookups)
  local passwords, err = lookup(self, lookups, "passwords")
  if not passwords then return nil, err end
  if #passwords > 0 then
    return #passwords .. " encryption password" .. (#passwords == 1 and "" or "s")
  end
  local repositories
  repositories, err = lookup(self, lookups, "repositories")
  if not repositories then return nil, err end
  for _, repository in ipairs(repositories) do
    if type(repository) == "table" and repository.type == "LinuxHardened" then
      return "a hardened repository ('" .. tostring(repository.name) .. "')"
    end
  end
  return false
end

-- The rules the server enforces only later (when a backup runs) or that
-- need its lists: checked here for what `settings` changes in `current`.
local function check_server_rules(self, current, settings, options, lookups, problem)
  local repository_id = settings.backupRepositoryId
  if type(repository_id) == "string" and repository_id ~= current.backupRepositoryId then
    local list, err = lookup(self, lookups, "repositories")
    if not list then return nil, err end
    local found = by_id(list, repository_id)
    if not found then
      problem("backupRepositoryId", ConfigBackup.unknown_repository_id(repository_id))
    else
      local ok, why = ConfigBackup.can_hold_backup(found)
      if not ok then problem("backupRepositoryId", why) end
    end
  end
  local before = type(current.encryption) == "table" and current.encryption or {}
  local after = type(settings.encryption) == "table" and settings.encryption or {}
  if after.isEnabled == true and type(after.passwordId) == "string"
      and (after.passwordId ~= before.passwordId or before.isEnabled ~= true) then
    local list, err = lookup(self, lookups, "passwords")
    if not list then return nil, err end
    if not by_id(list, after.passwordId) then
      problem("encryption.passwordId", "no encryption password has the id '"
        .. after.passwordId .. "'")
    end
  end
  if after.isEnabled == false and before.isEnabled == true and not options.force then
    local reason, err = encryption_mandatory(self, lookups)
    if reason == nil then return nil, err end
    if reason then
      problem("encryption.isEnabled", "encryption is mandatory on this server (it has "
        .. reason .. "): with it off the configuration backup would fail; keep it on, "
        .. "or pass force = true", true)
    end
  end
  return true
end

-- What a write sends, everything checked: the revision, the fields, the
-- server's own rules. `current` is the server's settings (read if nil);
-- `lookups` collects the lists read. Returns the body, or nil and an error.
local function prepare(self, settings, options, current, lookups)
  local client = self.client
  if not options.allow_older then
    local older, err = self:older_revision()
    if older == nil then return nil, err end
    if older and #older.lacks > 0 then
      return nil, client:new_error {
        kind = "conflict", method = "PUT", path = PATH, older = older,
        message = older.message .. "; connect with api_version = \"auto\" (or \""
          .. older.server .. "\"), or pass allow_older = true to write at " .. older.client
          .. " anyway",
      }
    end
  end
  if not current then
    local err
    current, err = self:get()
    if not current then return nil, err end
  end
  local problems = {}
  -- forceable: what `force = true` overrides (the server would take it)
  local function problem(path, message, forceable)
    problems[#problems + 1] = { path = path, message = message, forceable = forceable }
  end
  local body, found = model.check(settings, client:revision(), current)
  for _, p in ipairs(found or {}) do problem(p.path, p.message) end
  if type(current) == "table" and type(settings) == "table" then
    local ok, err = check_server_rules(self, current, settings, options, lookups, problem)
    if not ok then return nil, err end
  end
  if #problems > 0 then
    sort(problems, function(a, b) return a.path < b.path end)
    return nil, client:invalid(problems, "PUT", PATH)
  end
  return body
end

--- Checks settings for this client's revision and this server without
-- writing anything: what a `put` would send. Reads what the checks need
-- (the settings, once per client the server's revision, and the
-- repositories or encryption passwords when those change).
-- @tparam table settings the whole settings table
-- @tparam[opt] table options as for `put` (`current` included)
-- @treturn[1] table the settings as they would be sent (the casing and
--   formats of the revision's document)
-- @treturn[1] table the lists read: `repositories`, `passwords` (each when read)
-- @return[2] nil, error of kind `invalid` whose `problems` lists
--   `{path=, message=}`, `conflict` for an older revision, or what reading met
function ConfigBackup:check(settings, options)
  if type(settings) ~= "table" then
    error("vbr: configbackup:check expects a settings table, got " .. type(settings), 2)
  end
  options = write_options(options, "check", true)
  local lookups = {}
  local body, err = prepare(self, settings, options, options.current, lookups)
  if not body then return nil, err end
  return body, lookups
end

-- Writes `settings` over `current` (the server's, or nil to read them).
local function write(self, settings, options, current, lookups)
  local body, err = prepare(self, settings, options, current, lookups or {})
  if not body then return nil, err end
  local stored
  stored, err = self.client:request("PUT", PATH, { body = body })
  if not stored then return nil, err end
  return answer.object(self.client, "PUT", PATH, stored, "the settings")
end

--- Replaces the whole settings (the API has no partial update). Reads the
-- current ones first (unless given): a field the revision's schema lacks is
-- sent only when the server has it itself, and the rules of the server are
-- checked against what changes.
-- @tparam table settings all seven top-level fields
-- @tparam[opt] table options `allow_older`, `force` (see the module), and
--   `current`: the settings as `get()` returned them, unchanged, when the
--   caller has them (saves a GET)
-- @treturn table the settings as the server now holds them
function ConfigBackup:put(settings, options)
  if type(settings) ~= "table" then
    error("vbr: configbackup:put expects a settings table, got " .. type(settings), 2)
  end
  options = write_options(options, "put", true)
  return write(self, settings, options, options.current)
end

--- `changes` merged into a copy of `base`: objects member by member, arrays
-- and everything else replaced whole.
function ConfigBackup.merge(base, changes)
  local out = copy(base)
  for key, value in pairs(changes) do
    local current = out[key]
    if type(value) == "table" and not json.is_array(value) and value ~= json.null
        and type(current) == "table" and not json.is_array(current) then
      out[key] = ConfigBackup.merge(current, value)
    else
      out[key] = copy(value)
    end
  end
  return out
end

--- Changes some settings: reads them, merges `changes` into them (objects
-- member by member, arrays replaced whole), checks and writes them back in
-- one PUT. Nothing is sent when the result would not be valid.
-- @tparam table changes e.g. `{ restorePointsToKeep = 30 }`
-- @tparam[opt] table options `allow_older`, `force` (see the module)
-- @treturn table the settings as the server now holds them
function ConfigBackup:edit(changes, options)
  if type(changes) ~= "table" then
    error("vbr: configbackup:edit expects a table of changes, got " .. type(changes), 2)
  end
  options = write_options(options, "edit")
  local current, err = self:get()
  if not current then return nil, err end
  return write(self, ConfigBackup.merge(current, changes), options, current)
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
  local settings = copy(current)
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
    smtp.recipients = json.array(copy(wanted.email_to))
    smtp.settingsType = "Custom"
    smtp.isEnabled = true
  end
  if wanted.email ~= nil then smtp_of(settings).isEnabled = wanted.email end

  if #problems > 0 then
    -- Everything wrong at once: what the model says of the rest as well.
    local reported = {}
    for _, p in ipairs(problems) do reported[p.path] = true end
    local ok, more = model.check(settings, client:revision(), current)
    if not ok then
      for _, p in ipairs(more) do
        if not reported[p.path] then problem(p.path, p.message) end
      end
    end
    sort(problems, function(a, b) return a.path < b.path end)
    return nil, client:invalid(problems, "PUT", PATH)
  end
  return settings, lookups
end

--- Reads the settings, applies `wanted` (see `plan`), checks and writes
-- them in one PUT. Nothing is sent when anything is wrong.
-- @tparam table wanted the changes, as `plan` takes them
-- @tparam[opt] table options `allow_older`, `force` (see the module)
-- @treturn table the settings as the server now holds them
function ConfigBackup:change(wanted, options)
  options = write_options(options, "change")
  local current, err = self:get()
  if not current then return nil, err end
  local settings, lookups = self:plan(current, wanted)
  if not settings then return nil, lookups end
  return write(self, settings, options, current, lookups)
end

--- Turns the configuration backup job on.
-- @tparam[opt] table options `allow_older`, `force` (see the module)
function ConfigBackup:enable(options)
  return self:change({ enabled = true }, write_options(options, "enable"))
end

--- Turns the configuration backup job off.
-- @tparam[opt] table options `allow_older`, `force` (see the module)
function ConfigBackup:disable(options)
  return self:change({ enabled = false }, write_options(options, "disable"))
end

--- Sets how many restore points to keep (1 to 255).
-- @tparam integer count
-- @tparam[opt] table options `allow_older`, `force` (see the module)
function ConfigBackup:set_retention(count, options)
  if type(count) ~= "number" then
    error("vbr: set_retention expects a number of restore points, got " .. type(count), 2)
  end
  return self:change({ retention = count }, write_options(options, "set_retention"))
end

--- Stores the configuration backup on another repository.
-- @tparam string repository its name or id, as listed by
--   `client:repositories()`; scale-out and external repositories are refused
-- @tparam[opt] table options `allow_older`, `force` (see the module)
function ConfigBackup:set_repository(repository, options)
  if type(repository) ~= "string" then
    error("vbr: set_repository expects a repository name or id, got " .. type(repository), 2)
  end
  return self:change({ repository = repository }, write_options(options, "set_repository"))
end

--- Turns encryption on with a password, or off.
-- @param password the hint or id of an encryption password, as listed by
--   `client:encryption_passwords()`; or `false` (or `"off"`) to turn
--   encryption off (the password id is kept, the API requires one). Off is
--   refused while the server makes encryption mandatory (it has encryption
--   passwords or a hardened repository: the next backup would fail) unless
--   `force = true`.
-- @tparam[opt] table options `allow_older`, `force` (see the module)
function ConfigBackup:set_encryption(password, options)
  if password ~= false and type(password) ~= "string" then
    error("vbr: set_encryption expects a password hint or id, or false, got "
      .. type(password), 2)
  end
  return self:change({ encryption = password }, write_options(options, "set_encryption"))
end

--- Sets the schedule.
-- @param schedule a `vbr.schedule` table, a template name (`"nightly"`) or
--   text that `vbr.schedule.parse` reads (`"weekdays at 22:00"`)
-- @tparam[opt] table options `allow_older`, `force` (see the module)
function ConfigBackup:set_schedule(schedule, options)
  if type(schedule) ~= "string" and type(schedule) ~= "table" then
    error("vbr: set_schedule expects a schedule table or text, got " .. type(schedule), 2)
  end
  return self:change({ schedule = schedule }, write_options(options, "set_schedule"))
end

--- Sets the notifications (SNMP and email), merged into the current ones.
-- @tparam table notifications e.g. `{ SNMPEnabled = false, SMTPSettings =
--   { isEnabled = true, settingsType = "Custom", recipients = {"a@b.c"} } }`
-- @tparam[opt] table options `allow_older`, `force` (see the module)
function ConfigBackup:set_notifications(notifications, options)
  if type(notifications) ~= "table" then
    error("vbr: set_notifications expects a table, got " .. type(notifications), 2)
  end
  return self:edit({ notifications = notifications }, write_options(options, "set_notifications"))
end

return ConfigBackup
