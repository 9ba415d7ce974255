--- vbr: the configuration backup of Veeam Backup & Replication, from Lua.
-- @module vbr

local core = require "vbr.core"

local vbr = {
  _VERSION = core._VERSION,
}

return vbr
