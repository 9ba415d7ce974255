-- The fleet row of `make bench`: one audit of the first COUNT servers of a
-- simulated fleet's inventory, CONCURRENCY at a time, with the multi or
-- the blocking transport; prints one line of key=value results.
--
--   lua5.4 bench/fleet.lua INVENTORY COUNT CONCURRENCY multi|blocking
--
-- seconds: wall time of the audit; cpu: the CPU seconds this process used
-- meanwhile (user and system); hwm_kb: peak RSS (VmHWM); fds: the most file
-- descriptors open when a server finished; audited: servers with a verdict
-- (the others could not be audited: a failed row).
local inventory = require "vbr.inventory"
local fleet = require "vbr.fleet"
local core = require "vbr.core"

local path, count, concurrency, transport = arg[1], tonumber(arg[2]), tonumber(arg[3]), arg[4]
assert(path and count and concurrency and (transport == "multi" or transport == "blocking"),
  "usage: bench/fleet.lua INVENTORY COUNT CONCURRENCY multi|blocking")

local inv = assert(inventory.load(path))
assert(#inv.servers >= count, "the inventory has only " .. #inv.servers .. " servers")
for i = #inv.servers, count + 1, -1 do inv.servers[i] = nil end

-- Descriptors open now: /proc/self/fd/N exists for each (opening a socket's
-- fails with "No such device", a closed number's with "No such file").
local function open_fds()
  local n, misses, fd = 0, 0, 0
  while misses < 64 do
    local file, why = io.open("/proc/self/fd/" .. fd)
    if file then file:close() end
    if file or not why:find("No such file", 1, true) then
      n, misses = n + 1, 0
    else
      misses = misses + 1
    end
    fd = fd + 1
  end
  return n
end

local function hwm_kb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s*(%d+)")
    if kb then return tonumber(kb) end
  end
end

local f = assert(fleet.open(inv, { transport = transport }))
local fds, seen = 0, 0
local started, cpu_started = core.monotonic(), os.clock()
local report = assert(f:audit { concurrency = concurrency, deadline = 120,
  on_result = function()
    seen = seen + 1
    if seen % 10 == 1 then fds = math.max(fds, open_fds()) end
  end })
local seconds, cpu = core.monotonic() - started, os.clock() - cpu_started
local audited = 0
for _, server in ipairs(report.servers) do
  if not server.error then audited = audited + 1 end
end
print(string.format("servers=%d seconds=%.3f cpu=%.3f hwm_kb=%d fds=%d audited=%d", count,
  seconds, cpu, hwm_kb(), fds, audited))
