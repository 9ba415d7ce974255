-- Each example, run as its own process on each interpreter (Lua 5.4, 5.3,
-- 5.1, LuaJIT) against a simulator, with the connection in the environment
-- as a user would set it; and the demo (`make demo`) on each.
local sim = require "spec.support.sim"

local shell = require "spec.support.shell"
local quote = shell.quote

local function read(path)
  return shell.read(path) or ""
end

describe("examples", function()
  local s, password_file, vars

  lazy_setup(function()
    s = sim.start { session_duration = 1 }
    password_file = os.tmpname()
    local handle = assert(io.open(password_file, "w"))
    handle:write(s.users.admin.password, "\n")
    handle:close()
    vars = {
      VBR_URL = s.url, VBR_CA_FILE = s.ca_file, VBR_USERNAME = s.users.admin.username,
      VBR_PASSWORD_FILE = password_file, VBR_API_VERSION = "1.3-rev1",
      LUA_PATH = "./?.lua;lua/?.lua;lua/?/init.lua;;",
    }
  end)

  lazy_teardown(function()
    if password_file then os.remove(password_file) end
    if s then s:stop() end
  end)

  before_each(function() s:reset() end)

  -- Runs a Lua script of the repository with arguments on `lua` (with the
  -- core built for it); returns exit code, stdout, stderr.
  local function run(lua, script, args, extra)
    local assignments = { "LUA_CPATH=" .. quote("build/" .. lua .. "/?.so;;") }
    for key, value in pairs(vars) do assignments[#assignments + 1] = key .. "=" .. quote(value) end
    for key, value in pairs(extra or {}) do
      assignments[#assignments + 1] = key .. "=" .. quote(value)
    end
    local words = {}
    for i, word in ipairs(args or {}) do words[i] = quote(word) end
    local errors = os.tmpname()
    -- The exit code comes back on the last line: io.popen's close reports it
    -- differently in Lua 5.1, LuaJIT and 5.4.
    local command = "env -u VBR_PASSWORD " .. table.concat(assignments, " ")
      .. " " .. lua .. " " .. script .. " " .. table.concat(words, " ")
      .. " 2>" .. quote(errors) .. "; echo \"exit=$?\""
    local pipe = assert(io.popen(command))
    local output = pipe:read("*a")
    pipe:close()
    local err = read(errors)
    os.remove(errors)
    local out, code = output:match("^(.-)exit=(%d+)\n?$")
    assert.is_nil(out:find(s.users.admin.password, 1, true), "the password is shown")
    assert.is_nil(err:find(s.users.admin.password, 1, true), "the password is shown")
    return tonumber(code), out, err
  end

  -- Changes the settings with the vbr command (set-up, on Lua 5.4).
  local function vbr_set(args)
    local words = { "configbackup", "set" }
    for _, word in ipairs(args) do words[#words + 1] = word end
    local code, _, err = run("lua5.4", "bin/vbr", words)
    assert.equal(0, code, err)
  end

  for _, lua in ipairs { "lua5.4", "lua5.3", "lua5.1", "luajit" } do
    describe("on " .. lua, function()
      local function example(name, args, extra)
        return run(lua, "examples/" .. name, args, extra)
      end

      describe("quickstart.lua", function()
        it("logs in, sets a template schedule, runs a backup and shows its log", function()
          local code, out, err = example("quickstart.lua")
          assert.equal(0, code, err)
          assert.matches("1. Logging in\n   vbrsim", out, 1, true)
          assert.matches("API revision 1.3-rev1", out, 1, true)
          assert.matches("schedule:       Every day at 10:00", out, 1, true)
          assert.matches("restore points: 10\n", out, 1, true)
          assert.matches("3. Applying the schedule template 'weeknights': Every weekday at 22:00",
            out, 1, true)
          assert.matches("the server now has: Every weekday at 22:00", out, 1, true)
          assert.matches("Stopped%s+100%%", out)
          assert.matches("6. Result: Success", out, 1, true)
          assert.matches("session log:\n   %d%d:%d%d:%d%d  Succeeded", out)
          assert.equal("WeekDays", s:state().config_backup.schedule.daily.dailyKind)
        end)

        it("takes another template, and refuses an unknown one", function()
          local code, out = example("quickstart.lua", { "nightly" })
          assert.equal(0, code)
          assert.matches("the server now has: Every day at 22:00", out, 1, true)
          local _, err
          code, _, err = example("quickstart.lua", { "hourly" })
          assert.equal(5, code)
          assert.matches("unknown schedule template 'hourly'", err, 1, true)
        end)

        it("ends with exit code 3 when the login is refused", function()
          local wrong = os.tmpname()
          local handle = assert(io.open(wrong, "w"))
          handle:write("not the password")
          handle:close()
          local code, _, err = example("quickstart.lua", {}, { VBR_PASSWORD_FILE = wrong })
          os.remove(wrong)
          assert.equal(3, code)
          assert.matches("logging in failed", err, 1, true)
        end)
      end)

      describe("set_schedule.lua", function()
        it("sets a schedule from a phrase and shows before and after", function()
          local code, out, err = example("set_schedule.lua",
            { "monthly on the last friday at 23:00" })
          assert.equal(0, code, err)
          assert.equal("before: Every day at 10:00\nnow:    On the last Friday of every month at "
            .. "23:00\n", out)
        end)

        it("lists the templates without an argument (exit code 2)", function()
          local code, out, err = example("set_schedule.lua")
          assert.equal(2, code)
          assert.equal("", out)
          assert.matches("weeknights", err, 1, true)
        end)

        it("refuses a phrase it cannot read before logging in (exit code 5)", function()
          local before = s:counters().total
          local code, _, err = example("set_schedule.lua", { "whenever" })
          assert.equal(5, code)
          assert.matches("cannot read the schedule", err, 1, true)
          assert.equal(before, s:counters().total)
        end)
      end)

      describe("run_and_wait.lua", function()
        it("starts a backup and waits for its success", function()
          local code, out, err = example("run_and_wait.lua", { "120" })
          assert.equal(0, code, err)
          assert.matches("^started session %x+%-", out)
          assert.matches("result: Success\n$", out)
        end)

        it("prints the log and exits 1 when the backup fails", function()
          s:config { backup_outcome = "Failed" }
          local code, out, err = example("run_and_wait.lua")
          assert.equal(1, code)
          assert.matches("ended Failed", err, 1, true)
          assert.matches("session log:\n", out, 1, true)
        end)
      end)

      describe("audit.lua", function()
        it("finds the repository on the backup server and no notifications", function()
          local code, out = example("audit.lua")
          assert.equal(1, code)
          assert.matches("Audit of the configuration backup of vbrsim", out, 1, true)
          assert.matches("[ ok ] encryption is on (password 'Standard Password')", out, 1, true)
          assert.matches("[ ok ] 10 restore points are kept", out, 1, true)
          assert.matches("[FAIL] the repository 'Default Backup Repository' (WinLocal) is on the "
            .. "backup server itself", out, 1, true)
          assert.matches("[FAIL] no notifications", out, 1, true)
          assert.matches("2 of 6 checks failed.\n$", out)
        end)

        it("passes once the settings follow good practice", function()
          vbr_set { "--repository", "NAS Repository", "--email-to", "ops@example.com" }
          local code, out = example("audit.lua")
          assert.equal(0, code, out)
          assert.matches("All 6 checks passed.\n$", out)
        end)

        it("flags a short retention, encryption off, no schedule and a disabled job", function()
          vbr_set { "--retention", "3", "--encryption", "off", "--schedule", "off", "--disable",
            "--force" }
          local code, out = example("audit.lua")
          assert.equal(1, code)
          assert.matches("[FAIL] the job is disabled", out, 1, true)
          assert.matches("[FAIL] the schedule is off", out, 1, true)
          assert.matches("[FAIL] encryption is off", out, 1, true)
          assert.matches("[FAIL] 3 restore points are kept (at least 7 recommended)", out, 1, true)
          assert.matches("6 of 6 checks failed.\n$", out)
        end)
      end)

      describe("demo.lua", function()
        it("runs the quickstart and the fleet audit on the same Lua, each against a simulator "
          .. "of its own", function()
          local code, out, err = run(lua, "examples/demo.lua")
          assert.equal(0, code, err)
          assert.matches("A VBR simulator runs at https://127%.0%.0%.1:%d+", out)
          assert.matches("6. Result: Success", out, 1, true)
          assert.matches("Running " .. lua .. " examples/quickstart.lua:", out, 1, true)
          -- the seeded fleet has critical findings: the plugin's exit code 2, read on every Lua
          assert.matches("The audit exited 2 (0 OK", out, 1, true)
          assert.truthy(out:find("auditing it:", 1, true) < out:find("vbr%-0%d%d%d"),
            "the demo's lines come before the audit's")
        end)
      end)
    end)
  end
end)
