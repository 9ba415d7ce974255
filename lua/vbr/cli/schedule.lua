--- `vbr schedule describe|next|templates`: schedules without a server.
-- @internal vbr.cli.schedule

local schedule_lib = require "vbr.schedule"
local configbackup = require "vbr.configbackup"
local json = require "vbr.json"
local EXIT = require("vbr.env").EXIT

local ipairs, tonumber, os_date, os_time = ipairs, tonumber, os.date, os.time
local format, rep, concat = string.format, string.rep, table.concat

local commands = {}

-- The schedule the words name, or nil and the exit code (error reported).
local function read(ctx, words)
  local text = concat(words, " ")
  local schedule, why = configbackup.read_schedule(text)
  if not schedule then
    ctx:tell("vbr: " .. why)
    return nil, EXIT.invalid
  end
  return schedule
end

local function describe(ctx, args)
  local schedule, code = read(ctx, args.text)
  if not schedule then return code end
  if ctx.json then
    return ctx:write_json { description = schedule_lib.describe(schedule), schedule = schedule }
  end
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

local function next_runs(ctx, args)
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
  if ctx.json then
    return ctx:write_json { description = schedule_lib.describe(schedule),
      runs = json.array(runs) }
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

local function templates(ctx)
  local list = schedule_lib.templates()
  if ctx.json then return ctx:write_json(json.array(list)) end
  local width = 0
  for _, template in ipairs(list) do
    if #template.name > width then width = #template.name end
  end
  for _, template in ipairs(list) do
    ctx:say(template.name .. rep(" ", width - #template.name + 2) .. template.description)
  end
  ctx:info("")
  ctx:info("Use one with: vbr configbackup set --schedule NAME")
  return EXIT.ok
end

function commands.define(add, parser)
  local schedule = add(parser, "schedule", "Read and try schedules (no server needed).")
  add(schedule, "describe", "Read a schedule phrase and say it back.", describe)
    :argument("text", "The schedule: a phrase or a template name."):args("+")
  local next_command = add(schedule, "next", "The next start times of a schedule.", next_runs)
  next_command:argument("text", "The schedule: a phrase or a template name."):args("+")
  next_command:option("-n --count", "How many (1 to 1000).", "5")
    :convert(require("vbr.cli.sessions").whole_between(1, 1000, "--count"))
  next_command:option("--from", "Start after this local time, YYYY-MM-DD HH:MM (default: "
    .. "now).")
    :argname("<time>")
  add(schedule, "templates", "The named schedule templates.", templates)
end

return commands
