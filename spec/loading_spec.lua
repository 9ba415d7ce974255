-- What a process loads: one that only reads the settings compiles no more
-- Lua than it needs (a cold start spends most of its time there, see
-- bench/README.md), and what it skipped still loads when it is used.
-- Each case is a fresh lua5.4 against a simulator.
local sim = require "spec.support.sim"
local shell = require "spec.support.shell"
local quote = shell.quote

-- Modules a settings reader must not load: the transport for nginx,
-- sessions, revision facts, the settings' model, schedules, the methods of
-- vbr.configbackup that write or run a backup, the JSON encoder and
-- lua-cjson (which only the encoder uses).
local NOT_FOR_GET = { "vbr.nginx", "vbr.session", "vbr.revision", "vbr.model", "vbr.schedule",
  "vbr.configbackup.write", "vbr.configbackup.run", "vbr.json.encode", "cjson" }

describe("a fresh process", function()
  local s

  lazy_setup(function() s = sim.start() end)
  lazy_teardown(function() if s then s:stop() end end)

  -- Runs `body` (Lua, with `client` connected) in a new lua5.4; returns
  -- the set of vbr modules (and cjson) loaded at its end.
  local function loaded_after(body)
    local script = table.concat({
      "local vbr = require 'vbr'",
      "local client = assert(vbr.connect { url = os.getenv('VBR_URL'), username = 'admin',",
      "  password = os.getenv('VBR_PASSWORD'), ca_file = os.getenv('VBR_CA_FILE') })",
      body,
      "client:close()",
      "for name in pairs(package.loaded) do",
      "  if name:find('^vbr') or name == 'cjson' then io.write(name, '\\n') end",
      "end",
    }, "\n")
    local ok, output = shell.run("env -u LUA_INIT -u LUA_INIT_5_4 VBR_URL=" .. quote(s.url)
      .. " VBR_CA_FILE=" .. quote(s.ca_file) .. " VBR_PASSWORD=" .. quote(s.users.admin.password)
      .. " LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;'"
      .. " lua5.4 -e " .. quote(script))
    assert(ok, output)
    local set = {}
    for name in output:gmatch("[^\n]+") do set[name] = true end
    return set
  end

  it("that connects and gets the settings loads no nginx, session, revision, model, "
    .. "schedule, configbackup writing or running, or JSON encoding code",
    function()
      local loaded = loaded_after("assert(client.configbackup:get())")
      assert.is_true(loaded["vbr"] and loaded["vbr.core"] and loaded["vbr.configbackup"])
      for _, name in ipairs(NOT_FOR_GET) do
        assert.is_nil(loaded[name], name .. " was loaded")
      end
    end)

  it("loads each of them when it is used", function()
    local loaded = loaded_after([[
      assert(client:sessions { limit = 1 })
      assert(client:revision())
      assert(client.configbackup:check(assert(client.configbackup:get())))
      assert(client.configbackup:running() ~= nil)
      assert(vbr.json.encode({ a = 1 }))
      assert(vbr.schedule.parse("daily at 22:00"))
    ]])
    for _, name in ipairs(NOT_FOR_GET) do
      if name ~= "vbr.nginx" then assert.is_true(loaded[name], name .. " was not loaded") end
    end
    assert.is_nil(loaded["vbr.nginx"])
  end)
end)

describe("vbr.configbackup", function()
  -- Its write and run parts load by method name: a method a part defines
  -- but the class does not name would be unreachable.
  it("reaches every method of its parts, and each is the part's own", function()
    local configbackup = require "vbr.configbackup"
    for _, part in ipairs { "vbr.configbackup.write", "vbr.configbackup.run" } do
      for name, method in pairs(require(part)) do
        assert.equal(method, configbackup[name], part .. "." .. name)
      end
    end
  end)

  it("looks up nothing else in them", function()
    assert.is_nil(require("vbr.configbackup").no_such_method)
  end)

  -- In this process the parts are loaded by now; in a fresh one the REPL
  -- must still complete and list the methods they hold, loading neither.
  it("has its later methods completed by the REPL before they load", function()
    local ok, output = shell.run("env -u LUA_INIT -u LUA_INIT_5_4"
      .. " LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;' lua5.4 -e "
      .. quote(table.concat({
        "local repl = require 'vbr.repl'",
        "local cb = require('vbr.configbackup').new({})",
        "io.write(table.concat(repl.complete('cb:s', { cb = cb }), ' '), '\\n')",
        "io.write(tostring(package.loaded['vbr.configbackup.write']), ' ',",
        "  tostring(package.loaded['vbr.configbackup.run']))",
      }, "\n")))
    assert(ok, output)
    assert.equal("cb:set_encryption cb:set_notifications cb:set_repository cb:set_retention "
      .. "cb:set_schedule cb:start\nnil nil", output)
  end)
end)

describe("vbr.core", function()
  -- vbr/core.so is the loader (src/loader/core.c): it opens the core from
  -- its own directory, never from elsewhere on the library path.
  it("opens vbr/core_impl.so beside it, and says so when it is missing", function()
    local _, dir = shell.run("mktemp -d \"${TMPDIR:-/tmp}/vbr-loader.XXXXXX\"")
    dir = dir:gsub("%s+$", "")
    local ok, output = shell.run("mkdir " .. quote(dir .. "/vbr")
      .. " && cp build/lua5.4/vbr/core.so " .. quote(dir .. "/vbr/")
      .. " && env -u LUA_INIT -u LUA_INIT_5_4 LUA_CPATH="
      .. quote(dir .. "/?.so;build/lua5.4/?.so") .. " lua5.4 -e "
      .. quote("local ok, err = pcall(require, 'vbr.core') io.write(tostring(ok), ' ', err)"))
    shell.run("rm -rf " .. quote(dir))
    assert(ok, output)
    assert.matches("^false vbr.core: " .. dir:gsub("%p", "%%%0") .. "/vbr/core_impl.so: ", output)
  end)
end)
