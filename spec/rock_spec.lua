-- The rock: every source file is in the rockspec, it installs with luarocks
-- (the README's command), and so does a release's source rock on Lua 5.1,
-- 5.3 and 5.4, with the reference and the nginx proxy location; the 5.1
-- rock serves the example gateway in nginx. One version string.
local shell = require "spec.support.shell"
local sim_lib = require "spec.support.sim"
local gateway_lib = require "spec.support.openresty_gateway"
local run, quote = shell.run, shell.quote

local function read(path)
  return assert(shell.read(path))
end

local function lines_of(command)
  local _, output = run(command)
  local list = {}
  for line in output:gmatch("[^\n]+") do list[#list + 1] = line end
  return list
end

local function temp_dir()
  local ok, path = run("mktemp -d \"${TMPDIR:-/tmp}/vbr-rock.XXXXXX\"")
  assert(ok, path)
  return (path:gsub("%s+$", ""))
end

local ROCKSPEC = "vbr-scm-1.rockspec"
local VERSION = read(ROCKSPEC):match('local vbr_version = "([^"]+)"')
local _, PWD = run("pwd")
PWD = PWD:gsub("%s+$", "")

-- What a fresh `luaX.Y` in another directory (so that it sees the tree and
-- the system's modules, not the working copy) prints for `code`, with the
-- tree's paths first.
local function in_tree(lua_version, tree, code)
  local share, lib = tree .. "/share/lua/" .. lua_version, tree .. "/lib/lua/" .. lua_version
  local script = "package.path = '" .. share .. "/?.lua;" .. share .. "/?/init.lua;' .. "
    .. "package.path package.cpath = '" .. lib .. "/?.so;' .. package.cpath " .. code
  local suffix = lua_version:gsub("%.", "_")
  return run("cd / && env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_" .. suffix .. " -u LUA_CPATH_"
    .. suffix .. " -u LUA_INIT lua" .. lua_version .. " -e " .. quote(script))
end

-- Runs the tree's `vbr` command, its paths from `luarocks path` as a user
-- of a tree of their own sets them, in another directory.
local function vbr_command(lua_version, tree, args, env)
  return run("eval \"$(luarocks --lua-version=" .. lua_version .. " --tree " .. quote(tree)
    .. " path)\" && cd / && " .. (env or "") .. " " .. quote(tree .. "/bin/vbr") .. " " .. args)
end

-- The installed module is the tree's, core included (the first file the
-- C path finds: 5.1 has no package.searchpath), and has our version.
local function assert_installed(lua_version, tree)
  local ok, version = in_tree(lua_version, tree, "local vbr = require 'vbr' "
    .. "local found for t in package.cpath:gmatch('[^;]+') do "
    .. "  local f = io.open((t:gsub('%?', 'vbr/core')), 'rb') "
    .. "  if f then f:close() found = found or t end end "
    .. "assert(found and found:find('" .. tree .. "', 1, true), found) "
    .. "io.write(vbr._VERSION)")
  assert(ok, version)
  assert.equal(VERSION, version)
  -- where the README's OpenResty section includes it from
  assert.equal(read("examples/openresty/vbr_proxy.conf"),
    read(tree .. "/share/lua/" .. lua_version .. "/vbr/vbr_proxy.conf"))
end

describe("the rockspec", function()
  local text = read(ROCKSPEC)

  it("lists every C source", function()
    for _, source in ipairs(lines_of("ls src/*.c src/loader/*.c")) do
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
    assert.matches("^%d+%.%d+%.%d+$", VERSION)
    assert.equal(VERSION, require("vbr.core")._VERSION)
    assert.equal(VERSION, require("vbr")._VERSION)
  end)
end)

describe("luarocks make (the README's install command)", function()
  it("installs a rock that a fresh lua5.4 can require, with the proxy location", function()
    local tree = temp_dir()
    finally(function() run("rm -rf " .. quote(tree)) end)
    local ok, output = run("luarocks --lua-version=5.4 make --deps-mode=none --tree "
      .. quote(tree) .. " " .. ROCKSPEC)
    assert(ok, output)
    assert_installed("5.4", tree)
  end)
end)

describe("a release", function()
  local work, repo, rock

  -- A git repository of the working copy's files (tracked and new ones, as
  -- they are now), tagged with `make tag`, and the source rock of the
  -- rockspec that `make rockspec` writes for it.
  lazy_setup(function()
    work = temp_dir()
    repo = work .. "/vbr"
    local identity = "GIT_AUTHOR_NAME=spec GIT_AUTHOR_EMAIL=spec@localhost "
      .. "GIT_COMMITTER_NAME=spec GIT_COMMITTER_EMAIL=spec@localhost "
    local ok, output = run("mkdir " .. quote(repo)
      .. " && git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -x -C "
      .. quote(repo) .. " && cd " .. quote(repo) .. " && git init -q && git add -A && "
      .. identity .. "git commit -q -m snapshot && " .. identity .. "make -s tag && "
      .. "make -s rockspec REPO_URL=" .. quote("git+file://" .. repo) .. " && cd .. && "
      .. "luarocks pack vbr/vbr-" .. VERSION .. "-1.rockspec")
    assert(ok, output)
    rock = work .. "/vbr-" .. VERSION .. "-1.src.rock"
  end)

  lazy_teardown(function()
    if work then run("rm -rf " .. quote(work)) end
  end)

  it("make rockspec writes a rockspec for the tag at REPO_URL", function()
    local text = read(repo .. "/vbr-" .. VERSION .. "-1.rockspec")
    assert.matches('\nversion = "' .. VERSION:gsub("%.", "%%.") .. '%-1"\n', text)
    assert.matches('url = "git%+file://' .. repo:gsub("%p", "%%%0") .. '",\n', text)
    assert.matches('tag = "v' .. VERSION:gsub("%.", "%%.") .. '",\n', text)
  end)

  it("make rockspec refuses a version the scm rockspec does not hold", function()
    local ok, output = run("cd " .. quote(repo) .. " && make -s rockspec VERSION=99.0.0")
    assert.is_false(ok)
    assert.matches("vbr-scm-1.rockspec says " .. VERSION, output, 1, true)
  end)

  it("the source rock holds the tagged tree and its reference", function()
    local ok, listing = run("unzip -l " .. quote(rock))
    assert(ok, listing)
    assert.matches(" vbr%-" .. VERSION:gsub("%.", "%%.") .. "%-1%.rockspec\n", listing)
    assert.matches(" [^\n]*/src/vbr_core%.c\n", listing)
    assert.matches(" [^\n]*/doc/reference/index%.html\n", listing)
  end)

  for _, lua_version in ipairs { "5.1", "5.3", "5.4" } do
    it("installs on Lua " .. lua_version .. " into a fresh tree, the command and the reference "
      .. "with it", function()
      local tree = temp_dir()
      finally(function() run("rm -rf " .. quote(tree)) end)
      local ok, output = run("luarocks --lua-version=" .. lua_version
        .. " install --deps-mode=none --tree " .. quote(tree) .. " " .. quote(rock))
      assert(ok, output)
      assert_installed(lua_version, tree)
      local ran, said = vbr_command(lua_version, tree, "--version")
      assert(ran, said)
      assert.equal("vbr " .. VERSION, (said:gsub("%s+$", "")))
      local doc = tree .. "/lib/luarocks/rocks-" .. lua_version .. "/vbr/" .. VERSION
        .. "-1/doc/reference/"
      assert.matches("vbr reference", read(doc .. "index.html"), 1, true)
      assert.truthy(shell.read(doc .. "modules/vbr.html"))
    end)
  end

  it("installed for 5.1, serves the example gateway in nginx (LuaJIT), and its command works",
    function()
      local tree = temp_dir()
      local sim, gateway
      finally(function()
        if gateway then gateway:stop() end
        if sim then sim:stop() end
        run("rm -rf " .. quote(tree))
      end)
      local ok, output = run("luarocks --lua-version=5.1 install --deps-mode=none --tree "
        .. quote(tree) .. " " .. quote(rock))
      assert(ok, output)
      sim = sim_lib.start()
      local share = tree .. "/share/lua/5.1/"
      gateway = gateway_lib.start(sim, {
        lua_path = share .. "?.lua;" .. share .. "?/init.lua;"
          .. PWD .. "/examples/openresty/?.lua",            -- the example's handlers
        lua_cpath = tree .. "/lib/lua/5.1/?.so",
        proxy_conf = share .. "vbr/vbr_proxy.conf",
      })
      local status, body = gateway:request("GET", "/configbackup")
      assert.equal(200, status, body)
      assert.matches('"restorePointsToKeep":10', body, 1, true)
      assert.same({}, gateway:error_lines())
      local password = tree .. "/password"
      shell.write(password, sim.users.admin.password)
      local ran, shown = vbr_command("5.1", tree, "configbackup show", "VBR_URL=" .. quote(sim.url)
        .. " VBR_CA_FILE=" .. quote(sim.ca_file) .. " VBR_USERNAME=admin VBR_PASSWORD_FILE="
        .. quote(password))
      assert(ran, shown)
      assert.matches("Restore points:%s+10\n", shown)
    end)
end)
