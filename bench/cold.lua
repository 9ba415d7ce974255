-- The cold row of `make bench`: one process that loads vbr, logs in, gets
-- the configuration backup settings and exits.
--
--   VBR_PASSWORD=... lua5.4 bench/cold.lua BASE_URL CA_FILE API_VERSION
local vbr = require "vbr"

local client = assert(vbr.connect {
  url = arg[1], username = "admin", password = assert(os.getenv("VBR_PASSWORD")),
  ca_file = arg[2], api_version = arg[3],
})
assert(client.configbackup:get())
client:close()
