-- The vbr command at a real terminal (tmux): the password prompt without
-- echo, Ctrl-C during `run --wait`, and the REPL's line editing, Tab
-- completion, history and Ctrl-C. Each case waits for the screen to show
-- what it expects (bounded polls), and asserts on what is there.
local sim = require "spec.support.sim"
local shell = require "spec.support.shell"

local quote = shell.quote
local LUA = type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
local have_tmux = shell.run("command -v tmux")

local session_count = 0

-- A tmux session running `command`; :keys(...), :screen(), :wait_for(text).
local function terminal(command, vars)
  session_count = session_count + 1
  local name = "vbr-spec-" .. tostring(os.time()) .. "-" .. session_count
  local assignments = {}
  for key, value in pairs(vars) do assignments[#assignments + 1] = key .. "=" .. quote(value) end
  table.sort(assignments)
  local line = "env -u LUA_PATH -u LUA_CPATH " .. table.concat(assignments, " ") .. " " .. LUA
    .. " bin/vbr " .. command .. "; echo \"exit=$?\"; sleep 600"
  assert(shell.run("tmux new-session -d -s " .. name .. " -x 150 -y 50 " .. quote(line)))
  local t = { name = name }
  function t:keys(...)
    local words = {}
    for i = 1, select("#", ...) do words[i] = quote((select(i, ...))) end
    assert(shell.run("tmux send-keys -t " .. self.name .. " " .. table.concat(words, " ")))
  end
  function t:screen()
    local _, text = shell.run("tmux capture-pane -p -J -t " .. self.name .. " -S -200")
    return text
  end
  -- Polls the screen until it shows `text` (at most about 20 s); returns it.
  function t:wait_for(text)
    for _ = 1, 200 do
      local screen = self:screen()
      if screen:find(text, 1, true) then return screen end
      shell.run("sleep 0.1")
    end
    error("the screen never showed " .. text .. ":\n" .. self:screen(), 2)
  end
  function t:close() shell.run("tmux kill-session -t " .. self.name) end
  return t
end

local describe_tty = have_tmux and describe or pending

describe_tty("vbr at a terminal", function()
  local s, vars, admin, dir, t

  lazy_setup(function()
    s = sim.start { session_duration = 30 }
    admin = s.users.admin
    dir = os.tmpname()
    os.remove(dir)
    assert(shell.run("mkdir -p " .. quote(dir)))
    shell.write(dir .. "/password", admin.password .. "\n")
    vars = { VBR_URL = s.url, VBR_CA_FILE = s.ca_file, VBR_USERNAME = admin.username,
             VBR_PASSWORD_FILE = dir .. "/password", VBR_API_VERSION = "1.3-rev1",
             XDG_STATE_HOME = dir .. "/state", HOME = dir }
  end)
  lazy_teardown(function()
    if s then s:stop() end
    if dir then shell.run("rm -rf " .. quote(dir)) end
  end)
  before_each(function() s:reset() end)
  after_each(function() if t then t:close() end end)

  local function without(name)
    local copy = {}
    for key, value in pairs(vars) do copy[key] = value end
    copy[name] = nil
    return copy
  end

  it("asks for the password without echo when none is given", function()
    t = terminal("configbackup show", without("VBR_PASSWORD_FILE"))
    t:wait_for("Password for admin at " .. s.url .. ": ")
    t:keys(admin.password, "Enter")
    local screen = t:wait_for("exit=")
    assert.matches("Configuration backup", screen, 1, true)
    assert.matches("exit=0", screen, 1, true)
    assert.is_nil(screen:find(admin.password, 1, true))
  end)

  it("Ctrl-C during run --wait: stops waiting, the backup goes on, exit code 130", function()
    t = terminal("configbackup run --wait", vars)
    local screen = t:wait_for("Started a configuration backup: session ")
    local id = screen:match("session (%x+%-[%x%-]+)")
    t:wait_for("%  ")                                -- the progress bar is drawn
    t:keys("C-c")
    screen = t:wait_for("exit=")
    assert.matches("exit=130", screen, 1, true)
    assert.matches("stopped waiting (Ctrl-C); the backup goes on on the server: session " .. id,
      screen, 1, true)
    assert.matches("vbr sessions wait " .. id, screen, 1, true)
    assert.is_nil(screen:find("internal error", 1, true))
    assert.is_nil(screen:find("interrupted!", 1, true))
    -- Nothing asked the server to stop it.
    assert.is_nil(s:counters().routes["POST /api/v1/sessions/{id}/stop"])
    assert.equal(1, s:counters().routes["POST /api/v1/configBackup/backup"])
  end)

  it("the REPL: Tab completion, Ctrl-C on a line and on a call, history kept", function()
    t = terminal("repl", vars)
    t:wait_for("vbr> ")
    t:keys("cb:set_ret", "Tab")
    t:wait_for("vbr> cb:set_retention")
    t:keys("(14)", "Enter")
    t:wait_for("restorePointsToKeep: 14")
    -- Ctrl-C cancels the line being typed; the prompt goes on.
    t:keys("this line is cancelled")
    t:wait_for("vbr> this line is cancelled")
    t:keys("C-c")
    t:wait_for("this line is cancelled^C")
    t:keys("40 + 2", "Enter")
    t:wait_for("\n42")
    -- Ctrl-C stops a running call; the prompt goes on.
    t:keys("s = cb:start(); s:wait()", "Enter")
    t:wait_for("%  ")
    t:keys("C-c")
    t:wait_for("interrupted (Ctrl-C)")
    t:keys("'still here'", "Enter")
    t:wait_for("\nstill here")
    t:keys("exit()", "Enter")
    local screen = t:wait_for("exit=")
    assert.matches("exit=0", screen, 1, true)
    assert.is_nil(screen:find("internal error", 1, true))
    t:close()
    -- The history is kept between runs: Up shows the last line.
    t = terminal("repl", vars)
    t:wait_for("vbr> ")
    t:keys("Up")
    t:wait_for("vbr> exit()")
    t:keys("Enter")
    assert.matches("exit=0", t:wait_for("exit="), 1, true)
  end)
end)
