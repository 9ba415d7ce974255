-- The child process of spec/memory_spec.lua: logs in with a password file,
-- makes calls (one of them refreshes the token), logs out, closes, collects
-- all garbage, then says so in the ready file and waits for the done file
-- while its memory is searched. A canary string stays alive meanwhile, so
-- that the search can show it finds what is there.
local vbr = require "vbr"
local core = require "vbr.core"

local url, ca_file, password_file, admin_url, canary_seed, ready, done = ...

local client = assert(vbr.connect {
  url = url, username = "admin", password_file = password_file, ca_file = ca_file,
})
assert(client.configbackup:get())
assert(client:server_info())
-- every access token expires: the next call is refused, refreshes, retries
assert(os.execute("curl -sS -o /dev/null -X POST '" .. admin_url .. "/admin/tokens/expire'"))
assert(client.configbackup:get())
assert(client:logout())
client:close()
client = nil -- luacheck: ignore 311 (the last reference goes before the collection)
collectgarbage("collect")
collectgarbage("collect")

local canary = canary_seed:rep(2)     -- made here, not a constant of the chunk
local file = assert(io.open(ready, "w"))
file:write(#canary)
file:close()
while not io.open(done) do core.sleep(0.05) end
io.write(#canary, "\n")
