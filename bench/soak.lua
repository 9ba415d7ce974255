-- Soak: many requests through one client against a simulator whose access
-- tokens live 2 seconds, with a connection-breaking fault now and then.
-- Passes when no request fails, the resident set stays flat (within 2 MB of
-- its size after the first 1,000 requests) and the client used one TLS
-- connection plus one per injected connection fault.
--
--   make soak                      (100,000 requests)
--   SOAK_REQUESTS=20000 make soak
--
-- Not part of `make test`: it runs for minutes.
package.path = "./?.lua;lua/?.lua;lua/?/init.lua;" .. package.path
local core = require "vbr.core"
local sim = require "spec.support.sim"

local REQUESTS = tonumber(os.getenv("SOAK_REQUESTS") or "") or 100000
local FAULT_EVERY = 10000     -- a reset_before (GET retried on a new connection)
local RSS_SLACK_KB = 2048

local function rss_kb()
  local f = assert(io.open("/proc/self/status", "r"))
  local text = f:read("*a")
  f:close()
  return tonumber(text:match("VmRSS:%s*(%d+)"))
end

local s = sim.start { token_lifetime = 2 }
local ok, why = pcall(function()
  local c = core.new { url = s.url, ca_file = s.ca_file, username = "admin",
                       password = s.users.admin.password, api_version = "1.3-rev1",
                       retry = { base_delay = 0.01, max_delay = 0.1, attempts = 4, max_time = 20 } }
  s:reset_counters()
  local failures, faults, first_failure = 0, 0, nil
  local rss_1k, started = nil, core.monotonic()
  local paths = { "/api/v1/configBackup", "/api/v1/serverInfo" }
  for i = 1, REQUESTS do
    if i % FAULT_EVERY == FAULT_EVERY / 2 then
      s:fault { kind = "reset_before", method = "GET", path = paths[1] }
      faults = faults + 1
    end
    local res, err = c:request("GET", paths[i % 2 + 1])
    if not res or res.status ~= 200 then
      failures = failures + 1
      first_failure = first_failure or tostring(err)
    end
    if i == 1000 then
      collectgarbage()
      rss_1k = rss_kb()
    end
  end
  local elapsed = core.monotonic() - started
  collectgarbage()
  local rss_end = rss_kb()
  local counters = s:counters()
  local stats = c:stats()
  c:close()
  local handshakes_allowed = 1 + faults
  print(("soak: %d requests in %.1f s (%.0f/s), token lifetime 2 s"):format(
    REQUESTS, elapsed, REQUESTS / elapsed))
  print(("soak: failures %d%s"):format(failures,
    first_failure and (" (first: " .. first_failure .. ")") or ""))
  print(("soak: client stats: %d requests, %d retries, %d logins, %d refreshes"):format(
    stats.requests, stats.retries, stats.logins, stats.refreshes))
  print(("soak: RSS %d kB after 1,000 requests, %d kB at the end (%+d kB; allowed %d)"):format(
    rss_1k, rss_end, rss_end - rss_1k, RSS_SLACK_KB))
  print(("soak: simulator: %d requests, %d connections, %d TLS handshakes "
    .. "(%d connection faults injected: %d allowed)"):format(counters.total,
    counters.connections, counters.tls_handshakes, faults, handshakes_allowed))
  local passed = failures == 0 and rss_end - rss_1k <= RSS_SLACK_KB
    and counters.tls_handshakes <= handshakes_allowed
  print("soak: " .. (passed and "PASS" or "FAIL"))
  return passed
end)
s:stop()
if not ok then error(why, 0) end
os.exit(why and 0 or 1)
