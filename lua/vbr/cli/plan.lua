--- New configuration backup settings, computed locally from the current ones
-- and what the user wants, without sending anything: the command line shows
-- the difference before it writes (or instead of writing, with --dry-run).
-- The computing is `vbr.configbackup`'s; this adds the checks of settings
-- read from a file.
-- @module vbr.cli.plan

local configbackup = require "vbr.configbackup"

local type, ipairs = type, ipairs

local plan = {
  copy = configbackup.copy,
  merge = configbackup.merge,
  read_schedule = configbackup.read_schedule,
}

--- The settings `current` becomes with `wanted` applied (see
-- `vbr.configbackup:plan`).
function plan.apply(client, current, wanted)
  return client.configbackup:plan(current, wanted)
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
      local ok, why = configbackup.can_hold_backup(found)
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
