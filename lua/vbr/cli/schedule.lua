--- `vbr schedule describe|next|templates`: schedules without a server.
-- @module vbr.cli.schedule

local schedule_lib = require "vbr.schedule"
local plan = require "vbr.cli.plan"
local EXIT = require("vbr.env").EXIT

local ipairs, tonumber, os_date, os_time = ipairs, tonumber, os.date, os.time
local format, rep, concat = string.format, string.rep, table.concat

local commands = {}

-- The schedule the words name, or nil and the exit code (error reported).
local function read(ctx, words)
  local text = concat(words, " ")
  local schedule, why = plan.read_schedule(text)
  if not schedule then
    ctx:tell("vbr: " .. why)
    return nil, EXIT.invalid
  end
  return schedule
end

function commands.describe(ctx, args)
  local schedule, code = read(ctx, args.text)
  if not schedule then return code end
  ctx:say(schedule_lib.describe(schedule))
  return EXIT.ok
end

-- "2026-01-31 22:00" -> {year=, month=, day=, hour=, min=}
local function read_from(text)
  local year, month, day, hour, minute =
    text:match("^(%d%d%d%d)%-(%d%d?)%-(%d%d?)[ T](%d%d?):(%d%d)$")
  if not year then
    year, month, day = text:match("^(%d%d%d%d)%-(%d%d?)%-(%d%d?)$")
    hour, minute = "0", "0"
  end
  if not year then return nil end
  return { year = tonumber(year), month = tonumber(month), day = tonumber(day),
           hour = tonumber(hour), min = tonumber(minute) }
end

-- "Friday" for "2026-01-02 ..." (noon, so no time zone shift changes the day).
local function weekday_of(stamp)
  local year, month, day = stamp:match("^(%d+)%-(%d+)%-(%d+)")
  return os_date("%A", os_time { year = tonumber(year), month = tonumber(month),
    day = tonumber(day), hour = 12 })
end

commands["next"] = function(ctx, args)
  local from
  if args.from then
    from = read_from(args.from)
    if not from then
      return ctx:usage_error("--from must be a local time such as 2026-01-31 22:00, not '"
        .. args.from .. "'")
    end
  else
    local now = os_date("*t")
    from = { year = now.year, month = now.month, day = now.day, hour = now.hour, min = now.min }
  end
  local schedule, code = read(ctx, args.text)
  if not schedule then return code end
  local runs, why = schedule_lib.next_runs(schedule, from, args.count)
  if not runs then
    ctx:tell("vbr: " .. why)
    return EXIT.invalid
  end
  ctx:say(schedule_lib.describe(schedule) .. ".")
  if #runs == 0 then
    ctx:say("No automatic runs.")
    return EXIT.ok
  end
  ctx:say(format("The next %s (server local time):",
    #runs == 1 and "start" or (#runs .. " starts")))
  for _, stamp in ipairs(runs) do
    ctx:say(format("  %s  %s", stamp, weekday_of(stamp)))
  end
  return EXIT.ok
end

function commands.templates(ctx)
  local list = schedule_lib.templates()
  local width = 0
  for _, template in ipairs(list) do
    if #template.name > width then width = #template.name end
  end
  for _, template in ipairs(list) do
    ctx:say(template.name .. rep(" ", width - #template.name + 2) .. template.description)
  end
  ctx:say("")
  ctx:say("Use one with: vbr configbackup set --schedule NAME")
  return EXIT.ok
end

return commands
