-- Audits the configuration backup of a server against good practice and
-- prints one line per check. Exit code 0 when every check passes, 1 when any
-- fails (and, as the vbr command, 3 login refused, 4 network or TLS).
--
--   lua5.4 examples/audit.lua
--
-- The checks:
--
-- * the job is enabled and scheduled (a backup nobody starts is no backup);
-- * encryption is on: only an encrypted configuration backup holds the
--   credentials, and VBR requires it once the server has encryption
--   passwords or a hardened repository;
-- * at least MIN_RESTORE_POINTS restore points are kept (a week of daily runs);
-- * the repository is not on the backup server itself, where it would be
--   lost with the server it is meant to rebuild. The API names a
--   repository's host only by id, so the rule is a heuristic: VBR's
--   installer creates "Default Backup Repository" on the backup server, so
--   that repository, and any other local-disk repository (WinLocal,
--   LinuxLocal) with the same hostId, counts as on the backup server; so
--   does a local-disk repository whose description or path names the server
--   (serverInfo.name).
-- * someone hears of failures: email or SNMP notifications are on.
--
-- Connection from VBR_URL, VBR_USERNAME, VBR_PASSWORD_FILE (or VBR_PASSWORD),
-- VBR_CA_FILE, VBR_API_VERSION (see vbr.env).
local vbr_env = require "vbr.env"
local schedule = require "vbr.schedule"

local MIN_RESTORE_POINTS = 7
local LOCAL_DISK = { WinLocal = true, LinuxLocal = true }
local DEFAULT_REPOSITORY = "Default Backup Repository"

local function fail(step, err)
  io.stderr:write("audit: ", step, ": ", tostring(err), "\n")
  os.exit(vbr_env.exit_code(err))
end

local client, err = vbr_env.connect()
if not client then fail("logging in", err) end
local settings
settings, err = client.configbackup:get()
if not settings then fail("reading the settings", err) end
local info = client:server_info() or {}
local repositories = client:repositories() or {}
local passwords = client:encryption_passwords() or {}

local function by_id(list, id)
  for _, item in ipairs(list) do
    if item.id == id then return item end
  end
  return nil
end

local results = {}
local function check(ok, message)
  results[#results + 1] = { ok = ok, message = message }
end

-- The job and its schedule.
check(settings.isEnabled == true, settings.isEnabled == true and "the job is enabled"
  or "the job is disabled: no configuration backup runs")
local parsed, why = schedule.from_api(settings.schedule or {})
if not parsed then
  check(false, "the schedule cannot be read: " .. tostring(why))
elseif parsed.kind == "off" then
  check(false, "the schedule is off: backups run only when started by hand")
else
  check(true, "the schedule is on: " .. schedule.describe(parsed))
end

-- Encryption.
local encryption = settings.encryption or {}
if encryption.isEnabled == true then
  local password = by_id(passwords, encryption.passwordId)
  check(true, "encryption is on" .. (password and (" (password '" .. password.hint .. "')") or ""))
else
  check(false, "encryption is off: the backup holds no credentials, and VBR refuses to run "
    .. "it unencrypted once the server has encryption passwords")
end

-- Restore points.
local kept = tonumber(settings.restorePointsToKeep) or 0
check(kept >= MIN_RESTORE_POINTS, string.format("%d restore points are kept (at least %d "
  .. "recommended)", kept, MIN_RESTORE_POINTS))

-- Where the backup goes.
local repository = by_id(repositories, settings.backupRepositoryId)
if not repository then
  check(false, "the repository " .. tostring(settings.backupRepositoryId)
    .. " is not in the server's list of repositories")
else
  local on_server = false
  if LOCAL_DISK[repository.type] then
    local default
    for _, item in ipairs(repositories) do
      if item.name == DEFAULT_REPOSITORY and LOCAL_DISK[item.type] then default = item end
    end
    local server_name = type(info.name) == "string" and info.name:lower() or nil
    local function names_server(text)
      return server_name ~= nil and type(text) == "string"
        and text:lower():find(server_name, 1, true) ~= nil
    end
    local settings_of = type(repository.repository) == "table" and repository.repository or {}
    on_server = repository == default
      or (default ~= nil and default.hostId ~= nil and repository.hostId == default.hostId)
      or names_server(repository.description) or names_server(settings_of.path)
  end
  if on_server then
    check(false, string.format("the repository '%s' (%s) is on the backup server itself: "
      .. "a backup there is lost with the server; use another host or a NAS",
      repository.name, repository.type))
  else
    check(true, string.format("the repository '%s' (%s) is not on the backup server",
      repository.name, repository.type))
  end
end

-- Notifications.
local notifications = settings.notifications or {}
local smtp = notifications.SMTPSettings or {}
local channels = {}
if smtp.isEnabled == true then channels[#channels + 1] = "email" end
if notifications.SNMPEnabled == true then channels[#channels + 1] = "SNMP" end
check(#channels > 0, #channels > 0 and ("notifications are on (" .. table.concat(channels, ", ")
  .. ")") or "no notifications: neither email nor SNMP reports a failed backup")

client:logout()
client:close()

-- The report.
local failed = 0
print(string.format("Audit of the configuration backup of %s", tostring(info.name or "the server")))
for _, result in ipairs(results) do
  if not result.ok then failed = failed + 1 end
  print(string.format("  [%s] %s", result.ok and " ok " or "FAIL", result.message))
end
if failed == 0 then
  print("All " .. #results .. " checks passed.")
  os.exit(0)
end
print(string.format("%d of %d checks failed.", failed, #results))
os.exit(1)
