-- Prints the table of `make bench` from the files bench/run wrote.
--
--   lua5.4 bench/report.lua RESULTS_DIR RUNS
local cjson = require "cjson"

local dir, runs = arg[1], tonumber(arg[2])
local format, concat = string.format, table.concat

local function lines(name)
  local out = {}
  local file = io.open(dir .. "/" .. name, "r")
  if not file then return out end
  for line in file:lines() do out[#out + 1] = line end
  file:close()
  return out
end

local function split(line)
  local fields = {}
  for field in (line .. "|"):gmatch("([^|]*)|") do fields[#fields + 1] = field end
  return fields
end

local function median(values)
  local sorted = {}
  for i, v in ipairs(values) do sorted[i] = v end
  table.sort(sorted)
  local n = #sorted
  if n == 0 then return nil end
  if n % 2 == 1 then return sorted[(n + 1) / 2] end
  return (sorted[n / 2] + sorted[n / 2 + 1]) / 2
end

local function spread(values, mid)
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(values) do
    if v < lo then lo = v end
    if v > hi then hi = v end
  end
  return (hi - lo) / mid
end

-- 12345.6 -> "12,346"
local function thousands(x)
  local s = format("%.0f", x)
  repeat
    local n
    s, n = s:gsub("^(%d+)(%d%d%d)", "%1,%2")
  until n == 0
  return s
end

local function pct(x) return x and format("%.1f%%", x * 100) or "" end
local function ratio(x) return x and format("%.2fx", x) or "" end

-- warm rows, in the order of the first run
local order, rows = {}, {}
for _, line in ipairs(lines("warm.txt")) do
  local f = split(line)
  local id = f[2]
  if not rows[id] then
    order[#order + 1] = id
    rows[id] = { id = id, section = f[3], client = f[4], interp = f[5], rps = {}, hwm = {} }
  end
  local row = rows[id]
  row.rps[#row.rps + 1] = tonumber(f[6])
  row.hwm[#row.hwm + 1] = tonumber(f[7])
end
for _, id in ipairs(order) do
  local row = rows[id]
  row.median = median(row.rps)
  row.spread = spread(row.rps, row.median)
end

local out = {}
local function say(...) out[#out + 1] = concat({ ... }) end
local W = "%-52s %-10s %10s %7s %8s %9s %8s"

local machine = lines("machine.txt")[1] or ""
say(format("vbr bench: median of %d runs per warm row, warm-up 200 requests; %s", runs, machine))
local function warm_section(section, title, ceiling, cloop, vbr)
  local any = false
  for _, id in ipairs(order) do any = any or rows[id].section == section end
  if not any then return end                    -- not run (BENCH_ONLY)
  say("")
  say(title)
  say(format(W, "  client", "lua", "req/s", "spread", "vs wrk", "vs C loop", "vs vbr"))
  for _, id in ipairs(order) do
    local row = rows[id]
    if row.section == section then
      local m = row.median
      say(format(W, "  " .. row.client, row.interp, thousands(m), pct(row.spread),
        pct(rows[ceiling] and m / rows[ceiling].median),
        pct(rows[cloop] and m / rows[cloop].median),
        ratio(rows[vbr] and m / rows[vbr].median)))
    end
  end
end
warm_section("nginx", "Warm, fixed nginx: N sequential GETs, one kept-alive HTTPS connection, "
  .. "answers decoded (wrk, C loop: not decoded); vs vbr = vs vbr get() on lua5.4",
  "wrk", "cloop", "get54")
warm_section("simulator", "Warm, end to end against the simulator (simulator/vbrsim)",
  "simwrk", "simcloop", "simget54")

-- cold rows: the rounds' times of each command together (cold-N.json)
local cold = {}
for round = 1, math.huge do
  local file = io.open(dir .. "/cold-" .. round .. ".json", "r")
  if not file then break end
  local data = cjson.decode(file:read("a"))
  file:close()
  for _, r in ipairs(data.results) do
    local row = cold[r.command] or { times = {} }
    cold[r.command] = row
    for _, t in ipairs(r.times) do row.times[#row.times + 1] = t end
  end
end
for _, row in pairs(cold) do row.median = median(row.times) end
local instructions = {}
for _, line in ipairs(lines("cold-instructions.txt")) do
  local f = split(line)
  instructions[f[1]] = tonumber(f[2])
end
-- name, text, peer (the curl doing the same requests)
local cold_rows = {
  { "vbr", "vbr: lua5.4 bench/cold.lua (require, connect, get)", "curl" },
  { "curl", "curl command line: login --next get, one process", "curl" },
  { "cli", "vbr configbackup show (lua5.4; login, 4 GETs)", "curlcli" },
  { "curlcli", "curl command line: login --next the same 4 GETs", "curlcli" },
  { "python", "Python requests: bench/cold.py", "curl" },
}
local cold_runs = cold.vbr and #cold.vbr.times or 0
if cold_runs > 0 then
  say("")
  say(format("Cold: one process logs in, GETs, exits (wall time, median of %d in rounds; "
    .. "instructions: callgrind)", cold_runs))
  local C = "%-52s %10s %7s %8s %14s %8s"
  say(format(C, "  client", "ms", "spread", "vs curl", "instructions", "vs curl"))
  for _, row in ipairs(cold_rows) do
    local name, text, peer = row[1], row[2], row[3]
    local r = cold[name]
    if r then
      local m, n = r.median, instructions[name]
      say(format(C, "  " .. text, format("%.1f", m * 1000), pct(spread(r.times, m)),
        ratio(cold[peer] and m / cold[peer].median),
        n and (format("%.1fM", n / 1e6)) or "",
        ratio(n and instructions[peer] and n / instructions[peer])))
    end
  end
end

-- memory rows
local memory = {}
local mem_n, header
local M = "%-52s %-10s %12s %12s %10s"
for _, line in ipairs(lines("memory.txt")) do
  local f = split(line)
  local at = {}
  for n, hwm in f[5]:gmatch("at=(%d+) hwm_kb=(%d+)") do
    at[#at + 1] = { n = tonumber(n), hwm = tonumber(hwm) }
  end
  if #at == 2 then
    mem_n = mem_n or at[2].n
    if not header then
      header = true
      say("")
      say("Memory: peak RSS (VmHWM) of one process, fixed nginx")
      say(format(M, "  client", "lua", "after " .. thousands(at[1].n),
        "after " .. thousands(at[2].n), "growth"))
    end
    memory[f[2]] = at[2].hwm - at[1].hwm
    say(format(M, "  " .. f[3], f[4], thousands(at[1].hwm) .. " kB",
      thousands(at[2].hwm) .. " kB", thousands(at[2].hwm - at[1].hwm) .. " kB"))
  end
end

-- fleet rows (bench/fleet)
local fleet = { audit = {}, callgrind = {} }
for _, line in ipairs(lines("fleet.txt")) do
  local f = split(line)
  if f[2] == "audit" then
    local key = f[3] .. "|" .. f[4] .. "|" .. f[5]
    local row = fleet.audit[key] or { n = tonumber(f[3]), c = tonumber(f[4]), transport = f[5],
                                      seconds = {}, hwm = {}, fds = {}, requests = {},
                                      cpu = {}, sim_cpu = {} }
    fleet.audit[key] = row
    local values = {}
    for k, v in f[6]:gmatch("([%w_]+)=([%d.]+)") do values[k] = tonumber(v) end
    row.seconds[#row.seconds + 1] = values.seconds
    row.hwm[#row.hwm + 1] = values.hwm_kb
    row.fds[#row.fds + 1] = values.fds
    row.requests[#row.requests + 1] = values.requests
    row.cpu[#row.cpu + 1] = values.cpu
    row.sim_cpu[#row.sim_cpu + 1] = values.sim_cpu
    row.latency = values.latency_ms / 1000
    if values.load then
      fleet.load_low = math.min(fleet.load_low or math.huge, values.load)
      fleet.load_high = math.max(fleet.load_high or 0, values.load)
    end
  elseif f[2] == "callgrind" then
    fleet.callgrind[tonumber(f[3])] = tonumber(f[4])
  end
end
-- the multi rows by fleet size: the largest, and the smallest (the RSS base)
local concurrent, serial = {}, nil
for _, row in pairs(fleet.audit) do
  if row.transport == "blocking" then serial = row else concurrent[#concurrent + 1] = row end
end
table.sort(concurrent, function(a, b) return a.n < b.n end)
local big, small = concurrent[#concurrent], concurrent[1] ~= concurrent[#concurrent]
  and concurrent[1] or nil
local ideal, vs_ideal, vs_serial, rss_ratio, per_server
if big then
  say("")
  big.rt = median(big.requests) / big.n
  ideal = big.rt * big.latency * math.ceil(big.n / big.c)
  say(format("Fleet: an audit of a simulated fleet, every answer %d ms late (bench/fleet; "
    .. "median of %d runs)", big.latency * 1000, #big.seconds))
  local F = "%-50s %8s %9s %11s %5s %7s %7s"
  say(format(F, "  audit (round trips per server)", "seconds", "vs ideal", "peak RSS", "fds",
    "CPU", "sim CPU"))
  for _, row in ipairs { big, small, serial } do
    if row then
      local s = median(row.seconds)
      local rt = median(row.requests) / row.n
      local row_ideal = rt * row.latency * math.ceil(row.n / row.c)
      local how = row.transport == "blocking" and "one after the other"
        or format("%d at a time", row.c)
      say(format(F, format("  %s servers, %s (%.1f)", thousands(row.n), how, rt),
        format("%.2f", s), row.transport == "blocking" and "-" or ratio(s / row_ideal),
        thousands(median(row.hwm)) .. " kB", median(row.fds),
        #row.cpu > 0 and format("%.2f", median(row.cpu)) or "",
        #row.sim_cpu > 0 and format("%.2f", median(row.sim_cpu)) or ""))
    end
  end
  if fleet.load_low then
    say(format("  CPU: seconds of the client and of the simulator's worker during the audit; "
      .. "load average before each: %.2f to %.2f", fleet.load_low, fleet.load_high))
  end
  vs_ideal = median(big.seconds) / ideal
  if serial then vs_serial = median(serial.seconds) * (big.n / serial.n) / median(big.seconds) end
  if small then rss_ratio = median(big.hwm) / median(small.hwm) end
  if fleet.callgrind[50] and fleet.callgrind[100] then
    per_server = (fleet.callgrind[100] - fleet.callgrind[50]) / 50
    say(format("  instructions per server (callgrind, 100 servers less 50, over 50): %s",
      thousands(per_server)))
  end
end

-- targets
say("")
say("Targets")
local function target(text, value, ok)
  say(format("  %-62s %-22s %s", text, value, ok == nil and "n/a" or ok and "met" or "MISSED"))
end
local function share(a, b)
  if rows[a] and rows[b] then return rows[a].median / rows[b].median end
end
local s = share("get54", "cloop")
target("warm get() (lua5.4) >= 90% of the bare C loop", pct(s), s and s >= 0.90)
s = share("get51", "luacurl")
target("warm get() above lua-curl + cjson, both lua5.1", ratio(s), s and s > 1)
s = share("get54", "luacurl")
target("warm get() (lua5.4) above lua-curl + cjson (lua5.1)", ratio(s), s and s > 1)
local own, theirs = share("get51", "cloop"), share("luacurl", "cloopg")
if own and theirs then
  say(format("  %-62s %s", "  (each as a share of its own libcurl's C loop: vbr lua5.1,",
    pct(own) .. " of OpenSSL's; lua-curl, " .. pct(theirs) .. " of GnuTLS's)"))
end
s = cold.vbr and cold.curl and cold.vbr.median / cold.curl.median
target("cold start <= 1.15x the curl command line", ratio(s), s and s <= 1.15)
s = instructions.vbr and instructions.curl and instructions.vbr / instructions.curl
target("  the same in instructions (callgrind)", ratio(s), s and s <= 1.15)
s = memory.get54
target(format("RSS growth of get() from 1,000 to %s requests < 2 MB",
  thousands(mem_n or 0)), s and (thousands(s) .. " kB") or "", s and s < 2048)
if big then
  target(format("fleet audit of %s servers within 1.25x of the ideal (%.2f s)",
    thousands(big.n), ideal), ratio(vs_ideal), vs_ideal <= 1.25)
  target(format("  at least 100x faster than %d servers one after the other, scaled",
    serial and serial.n or 0), ratio(vs_serial), vs_serial and vs_serial >= 100)
  target(format("  peak RSS of %s servers within 10%% of %s at the same concurrency",
    thousands(big.n), small and thousands(small.n) or "?"), ratio(rss_ratio),
    rss_ratio and rss_ratio <= 1.10)
end

print(concat(out, "\n"))
