--- The configuration backup of one server: read, check, change and run it.
--
-- Reached as `client.configbackup`. Settings are plain Lua tables with the
-- API's own field names (`restorePointsToKeep`, `schedule.daily.localTime`,
-- ...); JSON `null` reads as `nil`; arrays stay arrays, even empty ones;
-- fields this library does not know are kept and sent back unchanged.
--
-- Every method returns its result, or `nil` and an error (see `vbr`), and
-- checks its input before anything is sent. The methods that write (`put`,
-- `edit`, `change`, `enable`, `disable`, `set_*`) take an optional last
-- argument, a table of options:
--
-- * `allow_older = true`: write even though this client speaks an older API
--   revision than the server whose settings have fields this revision lacks
--   (see `older_revision`): a write would lose or reset them, so it is
--   refused otherwise, with kind `conflict`, before anything is sent (an
--   older revision with the same fields writes, and `older_revision` says
--   so);
-- * `force = true`: write settings that the server would take but that
--   cannot work, such as encryption turned off while the server has
--   encryption passwords (the next backup would fail); refused otherwise,
--   with kind `invalid`.
-- @classmod vbr.configbackup

local answer = require "vbr.answer"

local pairs, ipairs, setmetatable, rawget, rawset = pairs, ipairs, setmetatable, rawget, rawset

local PATH = "/api/v1/configBackup"

local ConfigBackup = {}
ConfigBackup.__index = ConfigBackup

-- Only `new` and `get` are compiled with the class: a short-lived process
-- that reads the settings spends its start-up compiling Lua, and the rest
-- is most of the code. The methods that check and write
-- (vbr.configbackup.write) and those that run a backup
-- (vbr.configbackup.run) load when one of them is first looked up, each
-- part the methods this table names (the class's metatable keeps it as
-- __later: the REPL completes and lists those names before they load).
local LATER = {}
for _, name in ipairs { "older_revision", "check", "put", "merge", "edit", "find",
    "can_hold_backup", "unknown_repository_id", "read_schedule", "plan", "change",
    "enable", "disable", "set_retention", "set_repository", "set_encryption",
    "set_schedule", "set_notifications" } do
  LATER[name] = "vbr.configbackup.write"
end
LATER.running, LATER.start = "vbr.configbackup.run", "vbr.configbackup.run"

setmetatable(ConfigBackup, { __later = LATER, __index = function(class, key)
  local part = LATER[key]
  if part == nil then return nil end
  local methods = require(part)
  for name, where in pairs(LATER) do
    if where == part then rawset(class, name, methods[name]) end
  end
  return rawget(class, key)
end })

--- Made by `vbr.connect` before it logs in; not called directly.
function ConfigBackup.new(client)
  -- Before the login an "auto" client has no revision yet: it negotiates.
  local core = client.core
  return setmetatable({ client = client, negotiated = core ~= nil and core:api_version() == nil },
    ConfigBackup)
end

--- The current settings.
-- @treturn table settings
function ConfigBackup:get()
  local settings, err = self.client:request("GET", PATH)
  if not settings then return nil, err end
  return answer.object(self.client, "GET", PATH, settings, "the settings")
end

return ConfigBackup
