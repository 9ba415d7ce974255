-- Secrets in memory (the libcurl transport): after logout(), close() and a
-- full garbage collection, no access token, refresh token or password (given
-- as a file) is left anywhere in the process's memory, in any form the core
-- or libcurl wrote it. A child process does the work; the spec reads its
-- memory through /proc and searches it for every token the simulator issued
-- (GET /admin/tokens) and for the password, as is and URL-encoded.
local sim = require "spec.support.sim"
local memory = require "spec.support.memory"
local shell = require "spec.support.shell"

local quote = shell.quote

local function url_encoded(s, hex)
  return (s:gsub("[^%w%-%._~]", function(c) return hex:format(c:byte()) end))
end

-- The interpreter running the spec, for the child (it loads the same core).
local interpreter = jit and "luajit" or "lua" .. _VERSION:match("%d+%.%d+")

describe("secrets in memory", function()
  local s, dir

  setup(function()
    s = sim.start {}
    dir = os.tmpname()
    os.remove(dir)
    assert(shell.run("mkdir -m 700 " .. quote(dir)))
  end)

  teardown(function()
    if s then s:stop() end
    if dir then shell.run("rm -rf " .. quote(dir)) end
  end)

  it("holds no token and no password after logout, close and a full collection", function()
    local password_file = dir .. "/password"
    shell.write(password_file, s.users.admin.password)
    local ready, done = dir .. "/ready", dir .. "/done"
    local canary_seed = ("canary-%d-"):format(os.time())
    local command = ("LUA_PATH=%s LUA_CPATH=%s %s spec/support/memory_child.lua"
      .. " %s %s %s %s %s %s %s > %s 2>&1 & echo $!"):format(quote(package.path),
      quote(package.cpath), interpreter,
      quote(s.url), quote(s.ca_file), quote(password_file), quote(s.admin_url),
      quote(canary_seed), quote(ready), quote(done), quote(dir .. "/child.log"))
    local pipe = assert(io.popen(command))
    local pid = assert(tonumber(pipe:read("*l")))
    pipe:close()
    local waited = 0
    while not shell.read(ready) do
      assert(shell.run("kill -0 " .. pid),
        "the child died: " .. tostring(shell.read(dir .. "/child.log")))
      assert(waited < 600, "the child is not ready after 60 s")
      shell.run("sleep 0.1")
      waited = waited + 1
    end

    local issued = s:admin("GET", "/admin/tokens")
    local password = s.users.admin.password
    local needles = {
      password = password,
      ["password URL-encoded"] = url_encoded(password, "%%%02X"),
      ["password URL-encoded, lower case"] = url_encoded(password, "%%%02x"),
      canary = canary_seed:rep(2),
    }
    for i, token in ipairs(issued.access) do needles["access token " .. i] = token end
    for i, token in ipairs(issued.refresh) do needles["refresh token " .. i] = token end
    local hits = memory.search(pid, needles)
    shell.write(done, "")

    assert.is_true(#issued.access >= 2 and #issued.refresh >= 2)   -- login, refresh
    local found = {}
    for _, hit in ipairs(hits) do
      if hit.name ~= "canary" then
        found[#found + 1] = ("%s at 0x%x (%s)"):format(hit.name, hit.address, hit.region)
      end
    end
    assert.is_true(#hits > #found, "the search does not even find the child's canary")
    assert.same({}, found)
  end)
end)
