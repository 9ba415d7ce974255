-- GET /api/v1/securityAnalyzer/bestPractices (1.2-rev1 on): the Security &
-- Compliance Analyzer's checklist. The configuration backup items follow the
-- server's own settings, so an audit can compare them; the others are fixed.
local json = require "vbrsim.json"
local http = require "vbrsim.http"
local schema = require "vbrsim.schema"
local state = require "vbrsim.state"

local analyzer = {}

local ipairs = ipairs

local function status(ok) return ok and "OK" or "Violation" end

-- The checklist: id, name, and the status now.
local ITEMS = {
  { id = "0b6f1c2e-7d4a-4e58-9a3b-2c1d0e9f8a71", name = "Configuration backup is enabled",
    status = function(cb) return status(cb.isEnabled) end },
  { id = "4c2a9e1b-5f3d-4b7a-8e6c-1d0f2a3b4c82",
    name = "Configuration backup encryption is enabled",
    status = function(cb) return status(cb.encryption.isEnabled) end },
  { id = "7e5d3c1a-9b2f-4d6e-a8c0-3f1e2d4c5b93",
    name = "Configuration backup is not stored on the backup server",
    status = function(cb) return status(cb.backupRepositoryId ~= state.ids.repo_default) end },
  { id = "1f8b6d34-9e02-47c5-a3d7-5b9c0e4f8a12",
    name = "Immutable backups are used for the backup repositories",
    status = function() return status(state.settings.hardened_repository_present) end },
  { id = "6a0c3e58-2b71-4d96-8f43-7c1e9a5d0b88",
    name = "Multi-factor authentication is enabled for all accounts",
    status = function() return "Violation" end,
    note = "Service accounts of the REST API cannot use MFA" },
  { id = "9d4e2f6a-1c3b-4a5d-b7e9-0f8a6c4d2e14",
    name = "Remote Desktop Service (TermService) is disabled",
    status = function() return "OK" end },
}

function analyzer.best_practices(req)
  local model = req.document:schema("BestPracticesComplianceModel")
  local items = json.array()
  for i, item in ipairs(ITEMS) do
    items[i] = schema.shape(req.document, model, {
      id = item.id, bestPractice = item.name, status = item.status(state.config_backup),
      note = item.note or "",
    })
  end
  return http.json(200, json.object { items = items })
end

return analyzer
