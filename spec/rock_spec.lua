-- The rock: every source file is in the rockspec, it installs with luarocks,
-- and the installed module loads in a fresh interpreter; one version string.
local shell = require "spec.support.shell"
local run = shell.run

local function read(path)
  return assert(shell.read(path))
end

local function lines_of(command)
  local _, output = run(command)
  local list = {}
  for line in output:gmatch("[^\n]+") do list[#list + 1] = line end
  return list
end

local ROCKSPEC = "vbr-scm-1.rockspec"

describe("the rockspec", function()
  local text = read(ROCKSPEC)

  it("lists every C source", function()
    for _, source in ipairs(lines_of("ls src/*.c")) do
      assert.truthy(text:find('"' .. source .. '"', 1, true), source .. " missing")
    end
  end)

  it("lists every Lua module under its module name", function()
    for _, path in ipairs(lines_of("cd lua && find vbr -name '*.lua' | sort")) do
      local name = path:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
      local entry = '["' .. name .. '"] = "lua/' .. path .. '"'
      assert.truthy(text:find(entry, 1, true), entry .. " missing")
    end
  end)

  it("defines the version that the core and vbr._VERSION report", function()
    local version = text:match('local vbr_version = "([^"]+)"')
    assert.matches("^%d+%.%d+%.%d+$", version)
    assert.equal(version, require("vbr.core")._VERSION)
    assert.equal(version, require("vbr")._VERSION)
  end)
end)

describe("luarocks make", function()
  it("installs a rock that a fresh lua5.4 can require", function()
    local tree = os.tmpname()
    os.remove(tree)
    finally(function() os.execute("rm -rf '" .. tree .. "'") end)
    local ok, output = run("luarocks --lua-version=5.4 make --deps-mode=none --tree '"
      .. tree .. "' " .. ROCKSPEC)
    assert(ok, output)
    -- A fresh process in another directory, so that it sees the installed
    -- tree and the system's modules, not the working copy.
    local script = "package.path = '" .. tree .. "/share/lua/5.4/?.lua;" .. tree
      .. "/share/lua/5.4/?/init.lua;' .. package.path "
      .. "package.cpath = '" .. tree .. "/lib/lua/5.4/?.so;' .. package.cpath "
      .. "local vbr = require 'vbr' "
      .. "assert(package.searchpath('vbr.core', package.cpath):find('" .. tree .. "', 1, true)) "
      .. "io.write(vbr._VERSION)"
    local loaded, version = run("cd / && env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 "
      .. "-u LUA_CPATH_5_4 lua5.4 -e \"" .. script .. "\"")
    assert(loaded, version)
    assert.equal(require("vbr")._VERSION, version)
  end)
end)
