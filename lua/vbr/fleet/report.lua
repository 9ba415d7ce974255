--- A fleet audit's report, written for people and for machines: a readable
-- table, JSON, a Prometheus text file (node_exporter's textfile collector),
-- and the monitoring-plugin convention of Nagios, Icinga and Checkmk (one
-- summary line, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
--
-- Text that came from a server (messages, names) is shown with its control
-- characters escaped and cut at `MAX_TEXT`, so a hostile server cannot move
-- the cursor, hide a line or fill the screen.
-- @module vbr.fleet.report

local json = require "vbr.json"
local escape = require("vbr.pretty").escape
local policy_lib = require "vbr.fleet.policy"

local type, tostring, ipairs = type, tostring, ipairs
local format, upper, concat, max, min = string.format, string.upper, table.concat, math.max,
                                       math.min
local os_date = os.date

local report = {}

--- Exit codes of the monitoring-plugin convention, by status.
report.EXIT = { ok = 0, warning = 1, critical = 2, unknown = 3 }

local MAX_TEXT = 300

--- Server text made safe for a terminal (`vbr.pretty.escape`), and at most
-- `MAX_TEXT` bytes: a hostile server's message must not fill the screen.
function report.safe(text)
  text = tostring(text)
  if #text > MAX_TEXT then text = text:sub(1, MAX_TEXT) .. "..." end
  return escape(text)
end
local safe = report.safe

local function status_word(status) return upper(status) end

local function failed_ids(server)
  local ids = {}
  for _, check in ipairs(server.checks or {}) do
    if check.status == "fail" or check.status == "unknown" then ids[#ids + 1] = check.id end
  end
  return ids
end

--- One line: "12 servers: 5 critical, 2 warning, 0 unknown, 5 ok".
function report.counts_line(r)
  local c = r.counts
  return format("%d server%s: %d critical, %d warning, %d unknown, %d ok", #r.servers,
    #r.servers == 1 and "" or "s", c.critical, c.warning, c.unknown, c.ok)
end

--- The readable table: a line per server, then the findings of each server
-- that is not OK (with `verbose`, every check of every server).
-- @treturn {string,...} lines
function report.table_lines(r, verbose)
  local lines = { format("Configuration backup audit, %s (%.1f s)", report.counts_line(r),
    r.seconds or 0), "" }
  local width = #"SERVER"
  for _, server in ipairs(r.servers) do width = max(width, #server.name) end
  lines[#lines + 1] = format("  %-" .. width .. "s  %-8s  %s", "SERVER", "STATUS", "FINDINGS")
  for _, server in ipairs(r.servers) do
    local findings = server.error and "not audited" or concat(failed_ids(server), ", ")
    lines[#lines + 1] = format("  %-" .. width .. "s  %-8s  %s", server.name,
      status_word(server.status), findings):gsub("%s+$", "")
  end
  for _, server in ipairs(r.servers) do
    if verbose or server.status ~= "ok" then
      lines[#lines + 1] = ""
      lines[#lines + 1] = format("%s (%s)%s", server.name, status_word(server.status),
        server.description and ("  " .. safe(server.description)) or "")
      if server.error then
        lines[#lines + 1] = "  not audited: " .. safe(server.error)
      end
      for _, check in ipairs(server.checks or {}) do
        if verbose or check.status == "fail" or check.status == "unknown" then
          local mark = check.status == "fail" and upper(check.severity)
            or (check.status == "unknown" and "UNKNOWN" or check.status)
          lines[#lines + 1] = format("  %-10s %s: %s", "[" .. mark .. "]", check.id,
            safe(check.reason))
        end
      end
    end
  end
  return lines
end

-- The report as plain tables (no metatables but json's arrays).
local function plain(r)
  local servers = json.array()
  for i, server in ipairs(r.servers) do
    local checks = json.array()
    for j, check in ipairs(server.checks or {}) do
      checks[j] = { id = check.id, status = check.status, severity = check.severity,
                    reason = tostring(check.reason) }
    end
    servers[i] = {
      name = server.name, status = server.status, description = server.description,
      tags = json.array(server.tags or {}), checks = checks,
      error = server.error and tostring(server.error) or nil,
      last_success = server.last_success, seconds = server.seconds,
    }
  end
  return {
    status = r.status, counts = r.counts, servers = servers, seconds = r.seconds,
    started = os_date("!%Y-%m-%dT%H:%M:%SZ", r.started),
    exit_code = report.EXIT[r.status],
  }
end

--- The report as JSON text (pretty, ending in a newline).
function report.json(r)
  return (json.encode_pretty(plain(r)))
end

-- A Prometheus label value: backslash, quote and line breaks escaped.
local function label(value)
  return (tostring(value):gsub("[\\\"\n]", { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }))
end

--- The report in the Prometheus text format (for node_exporter's textfile
-- collector: write it to a `.prom` file, atomically).
function report.prometheus(r)
  local out = {}
  local function metric(name, help, kind)
    out[#out + 1] = "# HELP " .. name .. " " .. help
    out[#out + 1] = "# TYPE " .. name .. " " .. kind
  end
  local function sample(name, labels, value)
    local parts = {}
    for i = 1, #labels, 2 do
      parts[#parts + 1] = labels[i] .. '="' .. label(labels[i + 1]) .. '"'
    end
    out[#out + 1] = name .. (#parts > 0 and ("{" .. concat(parts, ",") .. "}") or "") .. " "
      .. (type(value) == "number" and format("%.17g", value) or tostring(value))
  end
  metric("vbr_configbackup_status", "Audit status of the server's configuration backup: "
    .. "0 ok, 1 warning, 2 critical, 3 unknown.", "gauge")
  for _, server in ipairs(r.servers) do
    sample("vbr_configbackup_status", { "server", server.name }, report.EXIT[server.status])
  end
  metric("vbr_configbackup_up", "1 when the server could be audited, 0 when not.", "gauge")
  for _, server in ipairs(r.servers) do
    sample("vbr_configbackup_up", { "server", server.name }, server.error and 0 or 1)
  end
  metric("vbr_configbackup_check_ok", "1 when the check passed, 0 when it failed "
    .. "(checks that could not tell are left out).", "gauge")
  for _, server in ipairs(r.servers) do
    for _, check in ipairs(server.checks or {}) do
      if check.status == "pass" or check.status == "fail" then
        sample("vbr_configbackup_check_ok", { "server", server.name, "check", check.id,
          "severity", check.severity }, check.status == "pass" and 1 or 0)
      end
    end
  end
  metric("vbr_configbackup_last_success_timestamp_seconds",
    "When the last successful configuration backup ended (Unix time).", "gauge")
  for _, server in ipairs(r.servers) do
    if type(server.last_success) == "number" then
      sample("vbr_configbackup_last_success_timestamp_seconds", { "server", server.name },
        server.last_success)
    end
  end
  metric("vbr_fleet_audit_servers", "Servers of the audit by status.", "gauge")
  for _, status in ipairs { "ok", "warning", "critical", "unknown" } do
    sample("vbr_fleet_audit_servers", { "status", status }, r.counts[status])
  end
  metric("vbr_fleet_audit_timestamp_seconds", "When the audit started (Unix time).", "gauge")
  sample("vbr_fleet_audit_timestamp_seconds", {}, r.started)
  metric("vbr_fleet_audit_duration_seconds", "How long the audit took.", "gauge")
  sample("vbr_fleet_audit_duration_seconds", {}, r.seconds or 0)
  return concat(out, "\n") .. "\n"
end

local MAX_NAMED = 10

--- The monitoring-plugin line: `VBR CONFIGBACKUP CRITICAL - ... | perfdata`,
-- and the exit code that goes with it.
-- @treturn string the line (no newline)
-- @treturn integer 0, 1, 2 or 3
function report.plugin(r)
  local named = {}
  for _, wanted in ipairs { "critical", "warning", "unknown" } do
    for _, server in ipairs(r.servers) do
      if server.status == wanted then
        local ids = server.error and "not audited" or concat(failed_ids(server), ",")
        named[#named + 1] = server.name .. " " .. status_word(wanted) .. " (" .. ids .. ")"
      end
    end
  end
  local listed = ""
  if #named > 0 then
    local shown = {}
    for i = 1, min(#named, MAX_NAMED) do shown[i] = named[i] end
    listed = ": " .. concat(shown, ", ")
      .. (#named > MAX_NAMED and format(" and %d more", #named - MAX_NAMED) or "")
  end
  local c = r.counts
  local line = format("VBR CONFIGBACKUP %s - %s%s | critical=%d warning=%d unknown=%d ok=%d",
    status_word(r.status), report.counts_line(r), listed, c.critical, c.warning, c.unknown, c.ok)
  return line, report.EXIT[r.status]
end

--- What each check asks (for `--help` and the README), as lines.
function report.check_lines()
  local lines = {}
  for i, check in ipairs(policy_lib.CHECKS) do
    lines[i] = format("  %-14s %s (default %s)", check.id, check.what,
      policy_lib.DEFAULT.checks[check.id])
  end
  return lines
end


return report
