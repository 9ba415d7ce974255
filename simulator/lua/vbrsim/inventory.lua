-- What the simulated backup server has: repositories, encryption passwords and
-- its own identity. Records are neutral; each revision gets them through its
-- schema (vbrsim.schema.shape).
local json = require "vbrsim.json"
local util = require "vbrsim.util"
local http = require "vbrsim.http"
local schema = require "vbrsim.schema"
local state = require "vbrsim.state"
local listing = require "vbrsim.listing"

local inventory = {}

local ids = state.ids
local ipairs, pairs = ipairs, pairs

local function mount_server(host_id, linux)
  return {
    mountServerId = host_id,
    writeCacheFolder = linux and "/var/lib/veeam/IRCache/"
      or "C:\\ProgramData\\Veeam\\Backup\\IRCache\\",
    vPowerNFSEnabled = not linux,
    vPowerNFSPortSettings = { mountPort = 1063, vPowerNFSPort = 2049 },
  }
end

local ADVANCED = {
  alignDataBlocks = true, decompressBeforeStoring = false,
  rotatedDrives = false, perVmBackup = true,
}
local LINUX_HOST = "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f"

-- Listed by GET /backupInfrastructure/repositories.
local REPOSITORIES = {
  {
    id = ids.repo_default, name = "Default Backup Repository",
    description = "Created by Veeam Backup",
    type = "WinLocal", kind = "Das", hostId = ids.backup_server,
    repository = { path = "C:\\Backup", maxTaskCount = 4, readWriteRate = 0,
                   advancedSettings = ADVANCED },
    mount = mount_server(ids.backup_server, false),
  },
  {
    id = ids.repo_nas, name = "NAS Repository", description = "SMB share on the NAS",
    type = "Smb", kind = "Share",
    share = { sharePath = "\\\\nas01\\vbr", credentialsId = ids.smb_credentials,
              gatewayServer = { autoSelect = true, autoSelectEnabled = true } },
    repository = { maxTaskCount = 4, readWriteRate = 0, advancedSettings = ADVANCED },
    mount = mount_server(ids.backup_server, false),
  },
  {
    id = ids.repo_hardened, name = "Hardened Repository",
    description = "Immutable Linux repository",
    type = "LinuxHardened", kind = "Das", hostId = LINUX_HOST, hardened = true,
    repository = { path = "/mnt/veeam/immutable", maxTaskCount = 4, readWriteRate = 0,
                   useFastCloningOnXFSVolumes = true, makeRecentBackupsImmutableDays = 7 },
    mount = mount_server(LINUX_HOST, true),
  },
}

-- Exist on the server but not in that list (the real API has other endpoints
-- for them); neither may hold the configuration backup.
local UNLISTED = {
  { id = ids.repo_scale_out, name = "Scale-out Backup Repository 1", scale_out = true },
  { id = ids.repo_external, name = "Amazon S3 External Repository", external = true },
}

-- The third one is the passwordId of the documents' own configBackup examples.
local PASSWORDS = {
  { id = ids.password_standard, hint = "Standard Password", tag = "internal", days_ago = 40 },
  { id = ids.password_tech, hint = "Created by TECH\\Administrator", tag = "external",
    days_ago = 12 },
  { id = ids.password_config, hint = "Configuration backup", tag = "config", days_ago = 3 },
}

local function present(repo)
  return not repo.hardened or state.settings.hardened_repository_present
end

-- Any repository the server knows, listed or not; nil when unknown.
function inventory.repository(id)
  for _, list in ipairs { REPOSITORIES, UNLISTED } do
    for _, repo in ipairs(list) do
      if repo.id == id and present(repo) then return repo end
    end
  end
  return nil
end

function inventory.password(id)
  if not state.settings.encryption_passwords_present then return nil end
  for _, p in ipairs(PASSWORDS) do
    if p.id == id then return p end
  end
  return nil
end

-- Encryption of the configuration backup is mandatory when the server holds
-- encryption passwords or a hardened repository (handbook, section 2).
function inventory.encryption_mandatory()
  return state.settings.encryption_passwords_present or state.settings.hardened_repository_present
end

local function render_repository(document, repo)
  local model = document:schema("RepositoryModel")
  local target = model.discriminator and model.discriminator.mapping[repo.type]
  local variant = target and document:resolve({ ["$ref"] = target }) or model
  local properties = schema.members(document, variant)
  local record = {}
  for k, v in pairs(repo) do record[k] = v end
  record.uniqueId = repo.id:gsub("-", "")
  record.tag = repo.id:gsub("-", ""):upper()
  -- 1.3 wraps the mount server into per-OS settings.
  local mount_schema = properties.mountServer and document:resolve(properties.mountServer)
  local per_os = mount_schema and mount_schema.properties
    and mount_schema.properties.mountServerSettingsType
  if per_os then
    local os_name = repo.type:find("^Linux") and "Linux" or "Windows"
    record.mountServer = {
      mountServerSettingsType = schema.spelling(document, "EMountServerSettingsType", os_name),
      [os_name:lower()] = repo.mount,
    }
  else
    record.mountServer = repo.mount
  end
  return schema.shape(document, variant, record)
end

-- GET /api/v1/backupInfrastructure/repositories
function inventory.list_repositories(req)
  local args, document = req.args, req.document
  local types = listing.set_of(args.typeFilter)
  local items = {}
  for _, repo in ipairs(REPOSITORIES) do
    if present(repo)
      and (not types or types[repo.type])
      and (not args.nameFilter or listing.name_matches(args.nameFilter, repo.name))
      and (not args.hostIdFilter or repo.hostId == args.hostIdFilter)
      and (not args.pathFilter or listing.name_matches(args.pathFilter, repo.repository.path)) then
      items[#items + 1] = repo
    end
  end
  local column = args.orderColumn or "Name"
  local key = column == "Type" and function(r) return r.type end
    or column == "Description" and function(r) return r.description end
    or function(r) return r.name end
  listing.sort_by(items, key, args.orderAsc == false)
  local rendered = {}
  for i, repo in ipairs(items) do rendered[i] = render_repository(document, repo) end
  return http.json(200, listing.page(rendered, args))
end

-- GET /api/v1/encryptionPasswords
function inventory.list_passwords(req)
  local args, document = req.args, req.document
  local items = {}
  if state.settings.encryption_passwords_present then
    for _, p in ipairs(PASSWORDS) do
      if not args.hintFilter or listing.name_matches(args.hintFilter, p.hint) then
        items[#items + 1] = p
      end
    end
  end
  local column = args.orderColumn or "Hint"
  local key = function(p) return p.hint end
  if column == "ModificationTime" then key = function(p) return -p.days_ago end end
  listing.sort_by(items, key, args.orderAsc == false)
  local model = document:schema("EncryptionPasswordModel")
  local rendered = {}
  for i, p in ipairs(items) do
    rendered[i] = schema.shape(document, model, {
      id = p.id, hint = p.hint, tag = p.tag, uniqueId = p.id:gsub("-", ""), isImported = false,
      modificationTime = util.format_datetime(state.started_at - p.days_ago * 86400,
                                              state.settings.utc_offset_minutes),
    })
  end
  return http.json(200, listing.page(rendered, args))
end

-- Who this server is: its DNS name (serverInfo.name, the name of its own
-- managed server) and installation id; a fleet server's come from its profile.
function inventory.identity()
  local profile = state.profile
  return {
    name = profile and profile.host or "vbrsim.local",
    installation = profile and profile.installation or ids.installation,
    repository_host = profile and profile.repository_host or "linux-repo01.vbrsim.local",
  }
end

-- Managed servers: the backup server itself (the host of the default
-- repository) and the Linux host of the hardened repository.
local function managed_servers()
  local identity = inventory.identity()
  return {
    { id = ids.backup_server, name = identity.name, description = "Backup server",
      type = "WindowsHost", status = "Available", credentialsId = ids.smb_credentials,
      credentialsStorageType = "Permanent", isBackupServer = true,
      networkSettings = { portRangeStart = 2500, portRangeEnd = 3300 } },
    { id = LINUX_HOST, name = identity.repository_host,
      description = "Host of the hardened repository", type = "LinuxHost", status = "Available",
      credentialsId = ids.smb_credentials, credentialsStorageType = "Permanent",
      isBackupServer = false,
      sshSettings = { sshTimeOutMs = 20000, portRangeStart = 2500, portRangeEnd = 3300,
                      managementPort = 6162 } },
  }
end

local function render_managed_server(document, server)
  local model = document:schema("ManagedServerModel")
  local target = model.discriminator and model.discriminator.mapping[server.type]
  return schema.shape(document, target and document:resolve({ ["$ref"] = target }) or model,
                      server)
end

-- GET /api/v1/backupInfrastructure/managedServers
function inventory.list_managed_servers(req)
  local args, document = req.args, req.document
  local types = listing.set_of(args.typeFilter)
  local items = {}
  for _, server in ipairs(managed_servers()) do
    if (not types or types[server.type])
        and (not args.nameFilter or listing.name_matches(args.nameFilter, server.name)) then
      items[#items + 1] = server
    end
  end
  local column = args.orderColumn or "Name"
  local field = ({ Type = "type", Description = "description", Status = "status" })[column]
    or "name"
  listing.sort_by(items, function(server) return server[field] end, args.orderAsc == false)
  local rendered = {}
  for i, server in ipairs(items) do rendered[i] = render_managed_server(document, server) end
  return http.json(200, listing.page(rendered, args))
end

-- GET /api/v1/backupInfrastructure/managedServers/{id}
function inventory.managed_server(req)
  for _, server in ipairs(managed_servers()) do
    if server.id == req.params.id then
      return http.json(200, render_managed_server(req.document, server))
    end
  end
  return http.error(404, "NotFound",
    "Managed server " .. req.params.id .. " was not found.", req.params.id)
end

function inventory.build_version()
  local s = state.settings
  if s.build_version ~= "" then return s.build_version end
  return state.registry.builds[state.max_revision()] or "13.1.0.0"
end

-- GET /api/v1/serverInfo
function inventory.server_info(req)
  local document = req.document
  -- 1.1-rev0 requires "vbrInstallationId" but names the property "vbrId": send both there.
  local identity = inventory.identity()
  return http.json(200, schema.shape(document, document:schema("ServerInfoModel"), {
    vbrId = identity.installation,
    vbrInstallationId = identity.installation,
    name = identity.name,
    buildVersion = inventory.build_version(),
    patches = json.array(),
    databaseVendor = "PostgreSQL",
    sqlServerEdition = "",
    sqlServerVersion = "15.8",
    databaseSchemaVersion = "2025",
    databaseContentVersion = "1100",
    veeamRegistration = { isRegistered = false },
    platform = "Windows",
  }))
end

return inventory
