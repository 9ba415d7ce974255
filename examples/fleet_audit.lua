-- Audits the configuration backup of every server of an inventory against a
-- policy, prints a line per server and the findings, and exits as a
-- monitoring plugin does: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
--
--   lua5.4 examples/fleet_audit.lua [INVENTORY [LIMIT]]
--
-- INVENTORY defaults to $VBR_INVENTORY, ~/.config/vbr/inventory or
-- /etc/vbr/inventory; LIMIT is server names and tags, comma-separated
-- ("prod", "vbr-paris,lab"). `vbr fleet audit` does the same with more
-- output formats (JSON, Prometheus, the plugin line).
local fleet = require "vbr.fleet"
local report = require "vbr.fleet.report"

-- Only what differs from the default policy (see vbr.fleet.policy).
local POLICY = {
  retention = { min = 7, max = 90 },   -- a week of daily runs at least
  grace = "2h",                        -- a scheduled run may end this late
  checks = { analyzer = "warning" },
}

local f, err = fleet.open(arg[1], { limit = arg[2] })
if not f then
  io.stderr:write("fleet_audit: ", tostring(err), "\n")
  os.exit(report.EXIT.unknown)
end

local result
result, err = f:audit {
  policy = POLICY, concurrency = 20, deadline = 60,
  on_result = function(server, done, total)
    io.stderr:write(string.format("[%d/%d] %s: %s\n", done, total, server.name, server.status))
  end,
}
if not result then
  io.stderr:write("fleet_audit: ", tostring(err), "\n")
  os.exit(report.EXIT.unknown)
end

-- The servers that need someone, worst first; every reason comes from the
-- server's answers, so it goes through report.safe before a terminal sees it.
print(report.counts_line(result))
for _, status in ipairs { "critical", "warning", "unknown" } do
  for _, server in ipairs(result.servers) do
    if server.status == status then
      print(string.format("%-10s %s", status:upper(), server.name))
      if server.error then print("    not audited: " .. report.safe(server.error)) end
      for _, check in ipairs(server.checks) do
        if check.status == "fail" or check.status == "unknown" then
          print(string.format("    %s: %s", check.id, report.safe(check.reason)))
        end
      end
    end
  end
end
os.exit(report.EXIT[result.status])
