-- Spec helper: a logged-in vbr client of a simulator instance (sim.lua).
--
--   local connect = require "spec.support.connect"
--   local client = connect(server, "1.3-rev1")          -- admin; nil revision: "auto"
--   local viewer = connect(server, nil, "viewer")
local vbr = require "vbr"

return function(server, revision, user)
  local account = server.users[user or "admin"]
  return assert(vbr.connect {
    url = server.url, ca_file = server.ca_file, api_version = revision,
    username = account.username, password = account.password,
  })
end
