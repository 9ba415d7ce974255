-- core.interrupt (src/interrupt.c): Ctrl-C as the command line and the REPL
-- take it. Each case runs a script in a child interpreter (the one running
-- the specs) that sends itself SIGINT, and prints what it saw; a case that
-- would wait forever is ended by `timeout` and fails.
local sim = require "spec.support.sim"
local shell = require "spec.support.shell"

local quote = shell.quote
local LUA = type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
-- `make asan` preloads libasan: the sanitized core, then
local BUILD = (os.getenv("LD_PRELOAD") or ""):find("asan", 1, true) and "asan" or LUA

-- What every script starts with: the core of the checkout, and
--   ctrl_c()           SIGINT to this process, handled (or held) when it returns
--   ctrl_c_later(s)    SIGINT to this process s seconds from now
local PRELUDE = [[
package.cpath = "build/]] .. BUILD .. [[/?.so;" .. package.cpath
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
local core = require "vbr.core"
local interrupt = core.interrupt
local function pid()
  local file = assert(io.open("/proc/self/stat"))
  local line = file:read("*l")
  file:close()
  return line:match("^%d+")
end
local function ctrl_c()
  local pipe = assert(io.popen("kill -INT " .. pid()))
  pipe:read("*a")
  pipe:close()
end
local function ctrl_c_later(seconds)
  os.execute("(sleep " .. seconds .. "; kill -INT " .. pid() .. ") >/dev/null 2>&1 &")
end
]]

-- Runs `script` after the prelude; `options.stdin`: a path for its input,
-- `options.env`: variable assignments. Returns true when it exits 0, and
-- its output.
local function run(script, options)
  options = options or {}
  local file = os.tmpname()
  shell.write(file, PRELUDE .. script)
  local ok, output = shell.run("env " .. (options.env or "") .. " timeout 120 " .. LUA .. " "
    .. quote(file) .. (options.stdin and (" <> " .. quote(options.stdin)) or ""))
  os.remove(file)
  return ok, output
end

describe("core.interrupt", function()
  it("notes a Ctrl-C in note mode, once, and the process goes on", function()
    local ok, output = run [[
      print(interrupt.mode("note"))
      print(interrupt.pending())
      ctrl_c()
      print(interrupt.pending(), interrupt.pending())
      print(interrupt.mode("default"))
      print("still here")
    ]]
    assert.is_true(ok, output)
    assert.equal("default\nfalse\ntrue\tfalse\nnote\nstill here\n", output)
  end)

  it("raises in a loop of Lua code run by interrupt.run, and only there", function()
    local ok, output = run [[
      interrupt.mode("note")
      print(interrupt.run(function() ctrl_c(); while true do end end))
      print(interrupt.run(function() ctrl_c(); while true do end end,
        function(message) return "handled: " .. message end))
      -- afterwards the mode before (note): a Ctrl-C is only noted
      interrupt.pending()
      ctrl_c()
      for _ = 1, 100000 do end
      print(interrupt.pending(), "still here")
      -- a call that ends before any Ctrl-C gives its results
      print(interrupt.run(function(...) return 1, nil, 3 end))
    ]]
    assert.is_true(ok, output)
    assert.equal("false\tvbr: interrupted\nfalse\thandled: vbr: interrupted\n"
      .. "true\tstill here\ntrue\t1\tnil\t3\n", output)
  end)

  it("holds a Ctrl-C during interrupt.hold, and handles it when the call returns", function()
    local ok, output = run [[
      interrupt.mode("note")
      print(interrupt.hold(function(a, b)
        ctrl_c()
        return interrupt.pending(), a + b
      end, 1, 2))
      print(interrupt.pending())
      print(pcall(interrupt.hold, error, "raised in hold", 0))
    ]]
    assert.is_true(ok, output)
    assert.equal("false\t3\ntrue\nfalse\traised in hold\n", output)
  end)

  it("ends core.sleep at a Ctrl-C in raise mode", function()
    local ok, output = run [[
      interrupt.mode("note")
      print(interrupt.run(function()
        ctrl_c_later(1)
        core.sleep(3600)
        return "slept"
      end))
    ]]
    assert.is_true(ok, output)
    assert.equal("false\tvbr: interrupted\n", output)
  end)

  it("ends interrupt.wait_input at a Ctrl-C", function()
    -- stdin: a FIFO opened for reading and writing, which stays empty
    local fifo = os.tmpname()
    os.remove(fifo)
    assert(shell.run("mkfifo " .. quote(fifo)))
    local ok, output = run([[
      interrupt.mode("note")
      ctrl_c_later(1)
      print(interrupt.wait_input(0), interrupt.pending())
    ]], { stdin = fifo })
    os.remove(fifo)
    assert.is_true(ok, output)
    assert.equal("false\ttrue\n", output)
  end)

  it("finds the readline lua-readline loaded, and loads none", function()
    local home = os.tmpname()
    os.remove(home)
    assert(shell.run("mkdir -p " .. quote(home)))
    local ok, output = run([[
      local echoed = 0
      local function echo() echoed = echoed + 1 end
      -- Debian's lua5.x link readline, luajit does not: echo is called when found
      local found = interrupt.readline_cancel(echo)
      print(found == (echoed == 1))
      if pcall(require, "readline") then
        print(interrupt.readline_cancel(echo))
      else
        print("no lua-readline for " .. _VERSION)
      end
    ]], { env = "HOME=" .. quote(home) })  -- lua-readline reads its history there
    shell.run("rm -rf " .. quote(home))
    assert.is_true(ok, output)
    assert.equal("true\ntrue\n", output)
  end)

  describe("in a fleet run over the multi transport", function()
    local started

    lazy_setup(function()
      started = require("spec.support.fleet").start { servers = 3, seed = 48 }
    end)
    lazy_teardown(function() if started then started:stop() end end)

    it("ends the run from the loop's wait, not as one server's failure", function()
      started.sim:on("*"):reset()
      started.sim:on("*"):fault { kind = "delay", ms = 600000, path = "/api/v1/configBackup" }
      local ok, output = run([[
        local fleet = assert(require("vbr.fleet").open(]] .. quote(started.sim.inventory) .. [[))
        interrupt.mode("note")
        print(interrupt.run(function()
          ctrl_c_later(1)
          return fleet:run(function(client) return client.configbackup:get() end,
            { concurrency = 3, on_result = function(result) print(result.name, result.ok) end })
        end))
      ]])
      started.sim:on("*"):reset()
      assert.is_true(ok, output)
      assert.equal("false\tvbr: interrupted\n", output)
    end)

    it("ends the run from a task's own code, not as that task's failure", function()
      started.sim:on("*"):reset()
      local ok, output = run([[
        local fleet = assert(require("vbr.fleet").open(]] .. quote(started.sim.inventory) .. [[))
        interrupt.mode("note")
        print(interrupt.run(function()
          return fleet:run(function() ctrl_c(); while true do end end,
            { concurrency = 1, on_result = function(result) print(result.name, result.ok) end })
        end))
      ]])
      assert.is_true(ok, output)
      assert.equal("false\tvbr: interrupted\n", output)
    end)
  end)

  describe("with a request in flight", function()
    local s, dir

    lazy_setup(function()
      s = sim.start {}
      dir = os.tmpname()
      os.remove(dir)
      assert(shell.run("mkdir -p " .. quote(dir)))
      shell.write(dir .. "/password", s.users.admin.password .. "\n")
    end)
    lazy_teardown(function()
      if s then s:stop() end
      if dir then shell.run("rm -rf " .. quote(dir)) end
    end)

    before_each(function()
      s:reset()
      s:fault { kind = "delay", ms = 600000, count = 1, method = "GET",
                path = "/api/v1/configBackup" }
    end)

    it("aborts it at a Ctrl-C in raise mode, and the client goes on", function()
      local ok, output = run([[
        local vbr = require "vbr"
        local client = assert(vbr.connect { url = ]] .. quote(s.url) .. [[,
          username = "admin", password_file = ]] .. quote(dir .. "/password") .. [[,
          ca_file = ]] .. quote(s.ca_file) .. [[, api_version = "1.3-rev1", timeout = 3600 })
        interrupt.mode("note")
        print(interrupt.run(function()
          ctrl_c_later(1)
          return client.configbackup:get()
        end))
        -- the next call answers (the delay was for one request)
        print(assert(client.configbackup:get()).restorePointsToKeep)
        client:close()
      ]])
      assert.is_true(ok, output)
      assert.equal("false\tvbr: interrupted\n10\n", output)
    end)
  end)
end)
