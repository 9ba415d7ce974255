-- `make demo`: starts a VBR simulator on 127.0.0.1, runs quickstart.lua
-- against it, and stops the simulator again. Run from the repository root.
--
-- The password goes to quickstart.lua in a file (VBR_PASSWORD_FILE), as it
-- would on a real server: never on a command line.
local SIMULATOR = "simulator/vbrsim"

local function quote(text)
  return "'" .. tostring(text):gsub("'", "'\\''") .. "'"
end

local function succeeded(ok, _, code)
  if type(ok) == "number" then return ok == 0, ok end       -- Lua 5.1
  return ok == true, code
end

local pipe = assert(io.popen(SIMULATOR .. " start --session-duration 4 2>&1"))
local output = pipe:read("*a")
pipe:close()
local sim = {}
for key, value in output:gmatch("([%w_]+)=([^\n]*)") do sim[key] = value end
if not sim.VBR_URL then
  io.stderr:write("demo: the simulator did not start:\n", output)
  os.exit(1)
end

local code = 1
local ok, why = pcall(function()
  local password_file = sim.VBRSIM_DIR .. "/demo-password"
  local file = assert(io.open(password_file, "w"))
  file:write("Adm1n P@ss&w=rd%")             -- the simulator's admin (simulator/README.md)
  file:close()
  print("A VBR simulator runs at " .. sim.VBR_URL .. "; user admin.")
  print("")
  local command = table.concat({
    "VBR_URL=" .. quote(sim.VBR_URL),
    "VBR_CA_FILE=" .. quote(sim.VBR_CA_FILE),
    "VBR_USERNAME=admin",
    "VBR_PASSWORD_FILE=" .. quote(password_file),
    "VBR_API_VERSION=auto",
    "lua5.4 examples/quickstart.lua",
  }, " ")
  local done, exit_code = succeeded(os.execute(command))
  code = done and 0 or (exit_code or 1)
end)
if not ok then io.stderr:write("demo: ", tostring(why), "\n") end
os.execute(SIMULATOR .. " stop " .. quote(sim.VBRSIM_PID) .. " >/dev/null 2>&1")
if code == 0 then
  print("")
  print("Next, the vbr command against a simulator of your own (README, Command line):")
  print("  eval \"$(simulator/vbrsim start)\"     # exports VBR_URL, VBR_USERNAME, ...")
  print("  bin/vbr configbackup show")
  print("  bin/vbr configbackup run --wait")
  print("  simulator/vbrsim stop \"$VBRSIM_PID\"")
end
os.exit(code)
