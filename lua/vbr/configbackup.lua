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
local schedule_lib = require "vbr.schedule"
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

-- Objects merge member by member; arrays and everything else replace.
local function merge(base, changes)
  local out = json.copy(base)
  for key, value in pairs(changes) do
    local current = base[key]
    if type(value) == "table" and not json.is_array(value)
        and type(current) == "table" and not json.is_array(current) then
      out[key] = merge(current, value)
    else
      out[key] = value
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
  return self:put(merge(current, changes))
end

--- Turns the configuration backup job on.
function ConfigBackup:enable()
  return self:edit { isEnabled = true }
end

--- Turns the configuration backup job off.
function ConfigBackup:disable()
  return self:edit { isEnabled = false }
end

--- Sets how many restore points to keep (1 to 255).
function ConfigBackup:set_retention(count)
  if type(count) ~= "number" then
    error("vbr: set_retention expects a number of restore points, got " .. type(count), 2)
  end
  return self:edit { restorePointsToKeep = count }
end

-- Finds the one item of `list` whose `id` is `wanted`, or whose `field`
-- equals it case-insensitively.
local function find_one(list, wanted, field, what, client)
  local by_name = {}
  for _, item in ipairs(list) do
    if item.id == wanted then return item end
    if type(item[field]) == "string" and lower(item[field]) == lower(wanted) then
      by_name[#by_name + 1] = item
    end
  end
  if #by_name == 1 then return by_name[1] end
  local names = {}
  for i, item in ipairs(list) do names[i] = "'" .. tostring(item[field]) .. "'" end
  if #by_name > 1 then
    return nil, client:invalid({ { path = what, message = "'" .. wanted
      .. "' names more than one; give the id instead" } })
  end
  return nil, client:invalid({ { path = what, message = "no " .. field .. " or id '"
    .. wanted .. "' (there are: " .. (#names > 0 and concat(names, ", ") or "none") .. ")" } })
end

-- Repository types that cannot hold the configuration backup.
local NOT_A_TARGET = { ExtendableRepository = true, ScaleOut = true }

--- Stores the configuration backup on another repository.
-- @tparam string repository its name or id, as listed by
--   `client:repositories()`; scale-out and external repositories are refused
function ConfigBackup:set_repository(repository)
  if type(repository) ~= "string" then
    error("vbr: set_repository expects a repository name or id, got " .. type(repository), 2)
  end
  local list, err = self.client:repositories()
  if not list then return nil, err end
  local found
  found, err = find_one(list, repository, "name", "backupRepositoryId", self.client)
  if not found then return nil, err end
  local kind = tostring(found.type)
  if NOT_A_TARGET[kind] or kind:find("External$") then
    return nil, self.client:invalid({ { path = "backupRepositoryId", message = "repository '"
      .. tostring(found.name) .. "' is of type " .. kind
      .. ", which cannot hold the configuration backup" } })
  end
  return self:edit { backupRepositoryId = found.id }
end

--- Turns encryption on with a password, or off.
-- @param password the hint or id of an encryption password, as listed by
--   `client:encryption_passwords()`; or `false` (or `"off"`) to turn
--   encryption off (the password id is kept, the API requires one)
function ConfigBackup:set_encryption(password)
  if password == false or password == "off" then
    return self:edit { encryption = { isEnabled = false } }
  end
  if type(password) ~= "string" then
    error("vbr: set_encryption expects a password hint or id, or false, got "
      .. type(password), 2)
  end
  local list, err = self.client:encryption_passwords()
  if not list then return nil, err end
  local found
  found, err = find_one(list, password, "hint", "encryption.passwordId", self.client)
  if not found then return nil, err end
  return self:edit { encryption = { isEnabled = true, passwordId = found.id } }
end

--- Sets the schedule.
-- @param schedule a `vbr.schedule` table, or text that `vbr.schedule.parse`
--   reads (`"weekdays at 22:00"`)
function ConfigBackup:set_schedule(schedule)
  if type(schedule) == "string" then
    local parsed, err = schedule_lib.parse(schedule)
    if not parsed then
      return nil, self.client:invalid({ { path = "schedule", message = err } })
    end
    schedule = parsed
  elseif type(schedule) ~= "table" then
    error("vbr: set_schedule expects a schedule table or text, got " .. type(schedule), 2)
  end
  local revision = self.client:revision()
  local ok, problems = schedule_lib.validate(schedule, revision.name)
  if not ok then
    for _, problem in ipairs(problems) do problem.path = "schedule." .. problem.path end
    return nil, self.client:invalid(problems)
  end
  local current, err = self:get()
  if not current then return nil, err end
  -- Rendered over the server's own schedule: its style, its unknown fields.
  local rendered, why = schedule_lib.render(schedule, revision.name, { like = current.schedule })
  if not rendered then
    return nil, self.client:invalid({ { path = "schedule", message = why } })
  end
  local settings = json.copy(current)
  settings.schedule = rendered
  return self:put(settings)
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
function ConfigBackup:start(options)
  options = options or {}
  if type(options) ~= "table" then
    error("vbr: configbackup:start expects an options table, got " .. type(options), 2)
  end
  for key in pairs(options) do
    if key ~= "force" then error("vbr: configbackup:start: unknown option '" .. key .. "'", 2) end
  end
  if not options.force then
    local running, err = self:running()
    if running == nil then return nil, err end
    if running then
      return nil, self.client:new_error {
        kind = "conflict",
        method = "POST", path = PATH .. "/backup",
        message = "a configuration backup is already running (session " .. running.id
          .. ", " .. running.state .. "); wait for it, or pass force = true",
        session = running,
      }
    end
  end
  local model_table, err = self.client:request("POST", PATH .. "/backup")
  if not model_table then return nil, err end
  return session_lib.wrap(self.client, model_table)
end

return ConfigBackup
