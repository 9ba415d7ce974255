-- The vbr command from a checkout on each Lua the project supports: a
-- representative set of commands run as a user runs them (bin/vbr under
-- lua5.4, lua5.3, lua5.1 and luajit); cli_spec.lua covers the rest in-process.
local sim = require "spec.support.sim"
local shell = require "spec.support.shell"
local json = require "vbr.json"

local quote = shell.quote

describe("bin/vbr on every Lua", function()
  local s, dir, prefix

  lazy_setup(function()
    s = sim.start { session_duration = 1 }
    dir = os.tmpname()
    os.remove(dir)
    assert(shell.run("mkdir -p " .. quote(dir)))
    shell.write(dir .. "/password", s.users.admin.password .. "\n")
    prefix = "env -u LUA_PATH -u LUA_CPATH VBR_URL=" .. quote(s.url) .. " VBR_CA_FILE="
      .. quote(s.ca_file) .. " VBR_USERNAME=admin VBR_PASSWORD_FILE=" .. quote(dir .. "/password")
      .. " VBR_API_VERSION=1.3-rev1 "
  end)
  lazy_teardown(function()
    if s then s:stop() end
    if dir then shell.run("rm -rf " .. quote(dir)) end
  end)

  for _, lua in ipairs { "lua5.4", "lua5.3", "lua5.1", "luajit" } do
    describe(lua, function()
      local function vbr(args, stdin)
        local ok, output = shell.run((stdin and ("printf '%s' " .. quote(stdin) .. " | ") or "")
          .. prefix .. lua .. " bin/vbr " .. args)
        return ok, output
      end

      it("shows the help and reads schedules", function()
        local ok, output = vbr("--help")
        assert.is_true(ok, output)
        assert.matches("Exit codes:", output, 1, true)
        ok, output = vbr("--json schedule next 'weekdays at 22:00' -n 2 --from 2026-01-01")
        assert.is_true(ok, output)
        assert.same({ "2026-01-01 22:00", "2026-01-02 22:00" }, json.decode(output).runs)
      end)

      it("shows, changes and runs the configuration backup", function()
        s:reset()
        local ok, output = vbr("configbackup show")
        assert.is_true(ok, output)
        assert.matches("Restore points:%s+10\n", output)
        ok, output = vbr("configbackup set --retention 11")
        assert.is_true(ok, output)
        assert.matches("restorePointsToKeep: 10 -> 11", output, 1, true)
        ok, output = vbr("configbackup run --wait")
        assert.is_true(ok, output)
        assert.matches("Finished: Success.", output, 1, true)
        ok, output = vbr("configbackup set --retention 300")
        assert.is_false(ok)
        assert.matches("must be from 1 to 255", output, 1, true)
        assert.is_nil(output:find("internal error", 1, true))
      end)

      it("runs a piped REPL script", function()
        local ok, output = vbr("repl", "cb:get().restorePointsToKeep * 2\n")
        assert.is_true(ok, output)
        assert.matches("^%d+\n", output)
        ok, output = vbr("repl", "error('boom')\n")
        assert.is_false(ok)
        assert.matches("error: boom", output, 1, true)
      end)
    end)
  end
end)
