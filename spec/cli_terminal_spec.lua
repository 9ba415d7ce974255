-- The vbr command at a real terminal (tmux): the password prompt without
-- echo, Ctrl-C during `run --wait`, and the REPL's line editing, Tab
-- completion, history and Ctrl-C. Each case waits for the screen to show
-- what it expects (bounded polls), and asserts on what is there.
local sim = require "spec.support.sim"
local shell = require "spec.support.shell"

local quote = shell.quote
local LUA = type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
local have_tmux = shell.run("command -v tmux")

-- A tmux server of this spec's own (a socket named after a unique temporary
-- file), so that sessions of other runs, on the same machine at the same
-- time, neither clash with nor are killed by ours. A session that does
-- nothing keeps it up between ours (a server exits with its last session,
-- and a session started meanwhile would reach the one going away).
local server
local function tmux(arguments)
  if not server then
    local file = os.tmpname()
    os.remove(file)
    server = "vbr-spec-" .. file:match("[^/]*$")
    assert(shell.run("tmux -L " .. quote(server) .. " new-session -d -s keeper 'sleep 3600'"))
  end
  return shell.run("tmux -L " .. quote(server) .. " " .. arguments)
end

-- How many times `text` is in `screen` (plain text).
local function count(screen, text)
  local n, at = 0, 1
  while true do
    local from, to = screen:find(text, at, true)
    if not from then return n end
    n, at = n + 1, to + 1
  end
end

local session_count = 0

-- A tmux session running `command`: :keys(...), :screen(), :count(text),
-- :wait_for(text, n), :step(keys, text).
local function terminal(command, vars)
  session_count = session_count + 1
  local name = "vbr-" .. session_count
  local assignments = {}
  for key, value in pairs(vars) do assignments[#assignments + 1] = key .. "=" .. quote(value) end
  table.sort(assignments)
  local line = "env -u LUA_PATH -u LUA_CPATH " .. table.concat(assignments, " ") .. " " .. LUA
    .. " bin/vbr " .. command .. "; echo \"exit=$?\"; sleep 600"
  assert(tmux("new-session -d -s " .. name .. " -x 150 -y 50 " .. quote(line)))
  local t = { name = name }
  function t:keys(...)
    local words = {}
    for i = 1, select("#", ...) do words[i] = quote((select(i, ...))) end
    assert(tmux("send-keys -t " .. self.name .. " " .. table.concat(words, " ")))
  end
  -- The whole pane, its history included, wrapped lines joined.
  function t:screen()
    local _, text = tmux("capture-pane -p -J -t " .. self.name .. " -S -")
    return text
  end
  function t:count(text) return count(self:screen(), text) end
  -- Polls the screen until it shows `text` at least `n` times (default 1; at
  -- most about 20 s); returns it.
  function t:wait_for(text, n)
    n = n or 1
    for _ = 1, 200 do
      local screen = self:screen()
      if count(screen, text) >= n then return screen end
      shell.run("sleep 0.1")
    end
    error("the screen never showed " .. text .. (n > 1 and (" " .. n .. " times") or "")
      .. ":\n" .. self:screen(), 2)
  end
  -- Types `keys` (a list of tmux key names), then waits for `text` to show
  -- once more than it did before: what was already there does not count.
  function t:step(keys, text)
    local before = self:count(text)
    self:keys((table.unpack or unpack)(keys))   -- luacheck: ignore unpack
    return self:wait_for(text, before + 1)
  end
  function t:close() tmux("kill-session -t " .. self.name) end
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
    if server then tmux("kill-server") end
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
    local PROMPT = "vbr> "
    t = terminal("repl", vars)
    t:wait_for(PROMPT)
    -- Each step waits for the next prompt before the next keys: Ctrl-C at the
    -- prompt must come while the REPL waits there.
    t:step({ "cb:set_ret", "Tab" }, "vbr> cb:set_retention")
    local prompts = t:count(PROMPT)
    t:step({ "(14)", "Enter" }, "restorePointsToKeep: 14")
    t:wait_for(PROMPT, prompts + 1)
    -- Ctrl-C cancels the line being typed; the prompt goes on.
    t:step({ "this line is cancelled" }, "vbr> this line is cancelled")
    prompts = t:count(PROMPT)
    t:step({ "C-c" }, "this line is cancelled^C")
    t:wait_for(PROMPT, prompts + 1)
    prompts = prompts + 1
    t:step({ "40 + 2", "Enter" }, "\n42\n")
    t:wait_for(PROMPT, prompts + 1)
    -- Ctrl-C stops a running call; the prompt goes on.
    t:step({ "s = cb:start(); s:wait()", "Enter" }, "%  ")    -- the progress bar is drawn
    prompts = t:count(PROMPT)
    t:step({ "C-c" }, "interrupted (Ctrl-C)")
    t:wait_for(PROMPT, prompts + 1)
    prompts = prompts + 1
    t:step({ "'still here'", "Enter" }, "\nstill here\n")
    t:wait_for(PROMPT, prompts + 1)
    local screen = t:step({ "exit()", "Enter" }, "exit=")
    assert.matches("exit=0", screen, 1, true)
    assert.is_nil(screen:find("internal error", 1, true))
    assert.is_nil(screen:find("interrupted!", 1, true))
    -- The cancelled line was not drawn again at the next prompt.
    assert.equal(1, count(screen, "this line is cancelled"))
    t:close()
    -- The history is kept between runs: Up shows the last line.
    t = terminal("repl", vars)
    t:wait_for(PROMPT)
    t:step({ "Up" }, "vbr> exit()")
    assert.matches("exit=0", t:step({ "Enter" }, "exit="), 1, true)
  end)
end)
