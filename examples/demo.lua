-- `make demo`: starts a VBR simulator on 127.0.0.1, runs quickstart.lua
-- against it, and stops the simulator again; then a short fleet audit
-- (examples/fleet_audit.lua) of a simulated fleet of 8 servers. Run from the
-- repository root.
--
-- The password goes to quickstart.lua in a file (VBR_PASSWORD_FILE), as it
-- would on a real server: never on a command line.
local SIMULATOR = "simulator/vbrsim"
-- The examples run on this script's own interpreter (lua5.4 under make demo).
local LUA = arg and arg[-1] or "lua5.4"

local function quote(text)
  return "'" .. tostring(text):gsub("'", "'\\''") .. "'"
end

local function succeeded(ok, _, code)
  -- Lua 5.1 and LuaJIT: the wait status, the exit code times 256
  if type(ok) == "number" then return ok == 0, math.floor(ok / 256) end
  return ok == true, code
end

-- Starts the simulator with these arguments; its VBR_URL=... lines as a table.
local function start(arguments)
  local pipe = assert(io.popen(SIMULATOR .. " start " .. arguments .. " 2>&1"))
  local output = pipe:read("*a")
  pipe:close()
  local started = {}
  for key, value in output:gmatch("([%w_]+)=([^\n]*)") do started[key] = value end
  if not started.VBR_URL then
    io.stderr:write("demo: the simulator did not start:\n", output)
    os.exit(1)
  end
  return started
end

local sim = start("--session-duration 4")

local code = 1
local ok, why = pcall(function()
  local password_file = sim.VBRSIM_DIR .. "/demo-password"
  local file = assert(io.open(password_file, "w"))
  file:write("Adm1n P@ss&w=rd%")             -- the simulator's admin (simulator/README.md)
  file:close()
  print("A VBR simulator runs at " .. sim.VBR_URL .. "; user admin. Running " .. LUA
    .. " examples/quickstart.lua:")
  print("")
  local command = table.concat({
    "VBR_URL=" .. quote(sim.VBR_URL),
    "VBR_CA_FILE=" .. quote(sim.VBR_CA_FILE),
    "VBR_USERNAME=admin",
    "VBR_PASSWORD_FILE=" .. quote(password_file),
    "VBR_API_VERSION=auto",
    quote(LUA) .. " examples/quickstart.lua",
  }, " ")
  io.stdout:flush()
  local done, exit_code = succeeded(os.execute(command))
  code = done and 0 or (exit_code or 1)
end)
if not ok then io.stderr:write("demo: ", tostring(why), "\n") end
os.execute(SIMULATOR .. " stop " .. quote(sim.VBRSIM_PID) .. " >/dev/null 2>&1")
if code ~= 0 then os.exit(code) end

-- A fleet: 8 servers, some with their configuration backup set up wrong.
local fleet = start("--servers 8 --seed 48")
print("")
print("A simulated fleet of 8 VBR servers runs on 127.0.0.1 (inventory "
  .. fleet.VBRSIM_INVENTORY .. "); auditing it:")
print("")
ok, why = pcall(function()
  io.stdout:flush()                    -- our lines before the child's, through a pipe too
  local _, status = succeeded(os.execute(quote(LUA) .. " examples/fleet_audit.lua "
    .. quote(fleet.VBRSIM_INVENTORY) .. " 2>/dev/null"))
  print("")
  print(("The audit exited %d (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN): what a monitoring "
    .. "system reads."):format(status or -1))
end)
if not ok then
  io.stderr:write("demo: ", tostring(why), "\n")
  code = 1
end
os.execute(SIMULATOR .. " stop " .. quote(fleet.VBRSIM_PID) .. " >/dev/null 2>&1")
if code == 0 then
  print("")
  print("Next, the vbr command against a simulator of your own (README, Command line):")
  print("  eval \"$(simulator/vbrsim start)\"     # exports VBR_URL, VBR_USERNAME, ...")
  print("  bin/vbr configbackup show")
  print("  bin/vbr configbackup run --wait")
  print("  simulator/vbrsim stop \"$VBRSIM_PID\"")
  print("or against a fleet (README, Fleet):")
  print("  eval \"$(simulator/vbrsim start --servers 20)\"")
  print("  bin/vbr --inventory \"$VBRSIM_INVENTORY\" fleet audit")
  print("  simulator/vbrsim stop \"$VBRSIM_PID\"")
end
os.exit(code)
