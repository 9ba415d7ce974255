--- `vbr fleet audit|apply|run`: the configuration backup of every server of
-- an inventory at once (see `vbr.fleet`).
--
--     vbr fleet audit --limit prod --format nagios
--     vbr fleet apply wanted.json --dry-run
--     vbr fleet run --if-older-than 24h --wait
-- @module vbr.cli.fleet

local json = require "vbr.json"
local EXIT = require("vbr.env").EXIT

local type, tostring, ipairs, pairs, io_open = type, tostring, ipairs, pairs, io.open
local format, floor, concat = string.format, math.floor, table.concat

local commands = {}

local EPILOG = [[
Inventory: vbr --inventory FILE, else $VBR_INVENTORY, else $XDG_CONFIG_HOME/vbr/inventory
(~/.config/vbr/inventory), else /etc/vbr/inventory. --limit takes server names and
tags, comma-separated.]]

local AUDIT_EPILOG = [[
Checks (a policy file may set each one's severity, or turn it off):
%s

A policy file is Lua returning a table, with only what differs from the default:
  return { retention = { min = 14 }, grace = "4h", checks = { notifications = "off" } }
Fields: checks, retention {min, max}, grace (2h), max_age (48h, without a schedule),
running_max (3h), unreachable (unknown|critical|warning), utc_offset (when a server's
answers carry none), apply (what `vbr fleet apply POLICY` sets).

Exit codes of fleet audit (the monitoring-plugin convention, any --format):
  0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also a bad command line or inventory)]]

local function duration(what)
  return function(text)
    local seconds, why = require("vbr.fleet.policy").duration(text)
    if not seconds then return nil, what .. ": " .. why end
    return seconds
  end
end

local count_between = require("vbr.cli.sessions").whole_between

-- The fleet of the command line, or nil and the exit code (reported).
local function open(ctx, args, usage_code)
  local inventory = require "vbr.inventory"
  local path = args.inventory or inventory.default_path(ctx.env.getenv)
  local fleet, err = require("vbr.fleet").open(path, {
    limit = args.limit, getenv = ctx.env.getenv,
    -- password_prompt servers: asked on the terminal, once each
    prompt = function(question) return ctx:ask_password(question) end,
  })
  if not fleet then
    ctx:tell("vbr: " .. tostring(err):gsub("\n", "\nvbr: "))
    return nil, usage_code
  end
  if #fleet.servers == 0 then
    ctx:tell("vbr: no server in " .. tostring(path))
    return nil, usage_code
  end
  return fleet
end

-- "12/20 done" on a terminal, redrawn; nothing elsewhere (the report says it all).
local function counter(ctx, what)
  if not ctx:isatty("stderr") then return nil, function() end end
  return function(_, done, total)
    ctx.stderr:write(format("\r%s %d/%d", what, done, total))
  end, function() ctx.stderr:write("\r" .. (" "):rep(40) .. "\r") end
end

local function write_atomically(path, text)
  local temporary = path .. ".tmp"
  local file, why = io_open(temporary, "wb")
  if not file then return nil, why end
  local ok
  ok, why = file:write(text)
  file:close()
  if not ok then os.remove(temporary) return nil, why end
  ok, why = os.rename(temporary, path)
  if not ok then os.remove(temporary) return nil, why end
  return true
end

function commands.audit(ctx, args)
  local report = require "vbr.fleet.report"
  local fleet, code = open(ctx, args, report.EXIT.unknown)
  if not fleet then return code end
  local on_result, finish = counter(ctx, "audited")
  local result, err = fleet:audit {
    policy = args.policy, concurrency = args.concurrency, deadline = args.deadline,
    on_result = on_result,
  }
  finish()
  if not result then
    ctx:tell("vbr: " .. tostring(err))
    return report.EXIT.unknown
  end
  local text, exit_code
  if args.format == "json" or ctx.json then
    text = report.json(result)
  elseif args.format == "prometheus" then
    text = report.prometheus(result)
  elseif args.format == "nagios" then
    text, exit_code = report.plugin(result)
    text = text .. "\n"
  else
    text = concat(report.table_lines(result, args.all), "\n") .. "\n"
  end
  if args.output then
    local ok, why = write_atomically(args.output, text)
    if not ok then
      ctx:tell("vbr: cannot write the report: " .. tostring(why))
      return report.EXIT.unknown
    end
  else
    ctx.stdout:write(text)
  end
  return exit_code or report.EXIT[result.status]
end

-- What `vbr fleet apply FILE` wants: settings from JSON, or a policy's `apply`.
local function read_wanted(path)
  local file, why = io_open(path, "rb")
  if not file then return nil, "cannot read " .. tostring(why) end
  local text = file:read("*a")
  file:close()
  if text:find("^%s*{") then
    local settings, err = json.decode(text)
    if type(settings) ~= "table" or json.is_array(settings) then
      return nil, path .. ": " .. (settings == nil and ("not valid JSON: " .. tostring(err))
        or "expected a JSON object of configuration backup settings")
    end
    settings.lastSuccessfulBackup = nil          -- the server's, not ours
    return { settings = settings }
  end
  local policy, err = require("vbr.fleet.policy").load(path)
  if not policy then return nil, tostring(err) end
  if not policy.apply then return nil, path .. ": the policy has no `apply` table" end
  return { wishes = policy.apply }
end

local function error_line(err)
  return (tostring(err):gsub("^vbr: ", ""))
end

function commands.apply(ctx, args)
  local safe = require("vbr.fleet.report").safe
  local diff = require "vbr.cli.diff"
  local wanted, why = read_wanted(args.file)
  if not wanted then
    ctx:tell("vbr: " .. why)
    return EXIT.invalid
  end
  local fleet, code = open(ctx, args, EXIT.usage)
  if not fleet then return code end
  local failed, changing = 0, 0
  ctx:say("Changes (old -> new), server by server:")
  local plans, writes = fleet:apply(wanted, {
    dry_run = args.dry_run, concurrency = args.concurrency, deadline = args.deadline,
  })
  for _, plan in ipairs(plans) do
    if not plan.ok then
      failed = failed + 1
      ctx:say(format("%s: refused before writing: %s", plan.name, safe(error_line(plan.err))))
    elseif #plan.value.changes == 0 then
      ctx:say(plan.name .. ": no change")
    else
      changing = changing + 1
      ctx:say(format("%s: %d change%s", plan.name, #plan.value.changes,
        #plan.value.changes == 1 and "" or "s"))
      for _, line in ipairs(diff.lines(plan.value.changes, "  ")) do ctx:say(safe(line)) end
    end
  end
  if args.dry_run then
    ctx:say(format("Dry run: nothing was written (%d server%s would change, %d refused).",
      changing, changing == 1 and "" or "s", failed))
    return failed > 0 and EXIT.refused or EXIT.ok
  end
  local saved = 0
  ctx:say("Writes:")
  for _, write in ipairs(writes) do
    if not write.skipped then
      if write.ok then
        saved = saved + 1
        ctx:say(write.name .. ": saved")
      else
        failed = failed + 1
        ctx:say(write.name .. ": not saved: " .. safe(error_line(write.err)))
      end
    end
  end
  ctx:say(format("%d server%s saved, %d refused or failed, %d unchanged.", saved,
    saved == 1 and "" or "s", failed, #plans - saved - failed))
  return failed > 0 and EXIT.refused or EXIT.ok
end

-- One progress display for many sessions: on a terminal one line redrawn,
-- elsewhere a line per session as it ends (the report follows).
local function sessions_display(ctx, total)
  local terminal = ctx:isatty("stderr")
  local seen, running, finished = {}, 0, 0
  local percent = {}
  local function draw()
    if not terminal then return end
    local sum, n = 0, 0
    for _, p in pairs(percent) do sum, n = sum + p, n + 1 end
    ctx.stderr:write(format("\r%d/%d done, %d running (%d%% on average)   ", finished, total,
      running, n > 0 and floor(sum / n) or 0))
  end
  return {
    session = function(name, session)
      if not seen[name] then seen[name] = true; running = running + 1 end
      if session.state == "Stopped" then
        percent[name] = nil
      else
        percent[name] = type(session.progress) == "number" and session.progress or 0
      end
      draw()
    end,
    result = function(result)
      if seen[result.name] then running = running - 1 end
      percent[result.name] = nil
      finished = finished + 1
      draw()
    end,
    finish = function() if terminal then ctx.stderr:write("\n") end end,
  }
end

function commands.run(ctx, args)
  local safe = require("vbr.fleet.report").safe
  local fleet, code = open(ctx, args, EXIT.usage)
  if not fleet then return code end
  local wait = args.wait or args.timeout ~= nil
  local display = sessions_display(ctx, #fleet.servers)
  local results = fleet:backup {
    if_older_than = args.if_older_than, wait = wait, timeout = args.timeout,
    force = args.force or nil, concurrency = args.concurrency, deadline = args.deadline,
    on_session = display.session, on_result = display.result,
  }
  display.finish()
  local counts = { started = 0, skipped = 0, failed = 0, succeeded = 0 }
  for _, result in ipairs(results) do
    local value = result.value
    if not result.ok then
      counts.failed = counts.failed + 1
      ctx:say(result.name .. ": " .. safe(error_line(result.err)))
    elseif value.skipped then
      counts.skipped = counts.skipped + 1
      ctx:say(result.name .. ": skipped: " .. value.reason)
    elseif wait then
      counts.succeeded = counts.succeeded + 1
      ctx:say(format("%s: %s (session %s)", result.name, tostring(value.session.outcome),
        safe(value.session.id)))
    else
      counts.started = counts.started + 1
      ctx:say(format("%s: started, session %s", result.name, safe(value.session.id)))
    end
  end
  ctx:say(format("%d server%s: %d %s, %d skipped, %d failed or refused.", #results,
    #results == 1 and "" or "s", wait and counts.succeeded or counts.started,
    wait and "succeeded" or "started", counts.skipped, counts.failed))
  return counts.failed > 0 and EXIT.refused or EXIT.ok
end

--- Adds `vbr fleet` and its commands (`add` as vbr.cli gives it).
function commands.define(add, parser)
  local fleet = add(parser, "fleet", "Audit, align and back up many servers of an inventory.")
  local function common(command)
    command:option("--limit", "Only these servers: names and tags, comma-separated.")
      :argname("<tag|name>")
    command:option("--concurrency", "Servers worked on at once (1 to 1000).", "16")
      :convert(count_between(1, 1000, "--concurrency"))
    command:option("--deadline", "Time each server may take, e.g. 90s, 5m.")
      :argname("<time>"):convert(duration("--deadline"))
    command:epilog(EPILOG)
    return command
  end
  local audit = common(add(fleet, "audit", "Check every server's configuration backup "
    .. "against a policy.", commands.audit))
  audit:option("--policy", "A policy file (Lua returning a table); default: the default policy.")
    :argname("<file>")
  audit:option("--format", "Output: table, json (also --json), prometheus, nagios.", "table")
    :choices { "table", "json", "prometheus", "nagios" }
  audit:option("-o --output", "Write the report to this file (atomically) instead of stdout.")
    :argname("<file>")
  audit:flag("--all", "With --format table: every check of every server, passed ones too.")
  audit:epilog(EPILOG .. "\n\n" .. AUDIT_EPILOG:format(
    concat(require("vbr.fleet.report").check_lines(), "\n")))
  local apply = common(add(fleet, "apply", "Change the settings of every server: the "
    .. "changes per server first, then the writes.", commands.apply))
  apply:argument("file", "Settings as JSON (all or only those to change), or a policy file "
    .. "whose `apply` lists what to set (enabled, retention, schedule, repository, "
    .. "encryption, snmp, email, email_to).")
  apply:flag("--dry-run", "Show the changes, write nothing.")
  local run = common(add(fleet, "run", "Start a configuration backup on every server.",
    commands.run))
  run:option("--if-older-than", "Only where the last success is older than this (24h, 7d).")
    :argname("<time>"):convert(duration("--if-older-than"))
  run:flag("--wait", "Follow every session to its end, with one progress display.")
  run:option("--timeout", "With --wait: give up on a session after this long (default 1h).")
    :argname("<time>"):convert(duration("--timeout"))
  run:flag("--force", "Start even where a configuration backup is already running.")
end

return commands
