--- `vbr sessions list|show|logs`, and the session log that `vbr configbackup
-- run` prints when a backup fails.
-- @module vbr.cli.sessions

local json = require "vbr.json"
local pretty = require "vbr.pretty"
local EXIT = require("vbr.env").EXIT

local type, pairs, ipairs, tostring, tonumber = type, pairs, ipairs, tostring, tonumber
local format, rep, max, concat, sort = string.format, string.rep, math.max, table.concat,
                                       table.sort

local commands = {}

--- "2026-01-21T10:00:35.033+01:00" -> "2026-01-21 10:00:35+01:00"; text
-- in another shape is shown as it is.
function commands.short_time(text)
  if type(text) ~= "string" then return "" end
  local date, time, zone = text:match("^(%d+%-%d+%-%d+)T(%d+:%d+:%d+)[%.%d]*(.*)$")
  if not date then return text end
  return date .. " " .. time .. zone
end

--- The session as a plain table (without its client), for printing.
function commands.plain(session)
  local out = {}
  for key, value in pairs(session) do
    if key ~= "client" then out[key] = value end
  end
  return out
end

local function outcome_of(session)
  return type(session.result) == "table" and tostring(session.result.result or "") or ""
end

-- Rows as columns, each as wide as its widest cell.
local function table_lines(rows)
  local widths = {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do widths[i] = max(widths[i] or 0, #cell) end
  end
  local lines = {}
  for r, row in ipairs(rows) do
    local cells = {}
    for i, cell in ipairs(row) do
      cells[i] = i < #row and (cell .. rep(" ", widths[i] - #cell)) or cell
    end
    lines[r] = concat(cells, "  ")
  end
  return lines
end

--- Lines for a session log: time, status, title (and description).
function commands.log_lines(records, indent)
  indent = indent or ""
  if #records == 0 then return { indent .. "(the log is empty)" } end
  -- Oldest first, so the log reads top to bottom (the server sends newest first).
  local ordered = {}
  for i, record in ipairs(records) do ordered[i] = { record = record, index = i } end
  sort(ordered, function(a, b)
    local at, bt = tostring(a.record.startTime or ""), tostring(b.record.startTime or "")
    if at ~= bt then return at < bt end
    local ai, bi = tonumber(a.record.id), tonumber(b.record.id)
    if ai and bi and ai ~= bi then return ai < bi end
    return a.index > b.index
  end)
  local rows = {}
  for i, entry in ipairs(ordered) do
    local record = entry.record
    local title = tostring(record.title or "")
    if type(record.description) == "string" and record.description ~= ""
        and record.description ~= title then
      title = title .. ": " .. record.description
    end
    rows[i] = { commands.short_time(record.startTime), tostring(record.status or ""), title }
  end
  local lines = table_lines(rows)
  for i, line in ipairs(lines) do lines[i] = indent .. line end
  return lines
end

local function write_json(ctx, value)
  local text, why = json.encode_pretty(value)
  if not text then
    ctx:tell("vbr: cannot write JSON: " .. tostring(why))
    return EXIT.refused
  end
  ctx.stdout:write(text)
  return EXIT.ok
end

function commands.list(ctx, args)
  local client, code = ctx:connect()
  if not client then return code end
  local filter = { limit = args.limit }
  if args.type ~= "any" then filter.type = args.type end
  local list, err = client:sessions(filter)
  if not list then return ctx:fail(err) end
  if args.json then
    local plain = json.array()
    for i, session in ipairs(list) do plain[i] = commands.plain(session) end
    return write_json(ctx, plain)
  end
  if #list == 0 then
    ctx:say("No sessions" .. (filter.type and (" of type " .. filter.type) or "") .. ".")
    return EXIT.ok
  end
  local any_type = filter.type == nil
  local rows = { { "ID", "CREATED", "STATE", "RESULT", "NAME" } }
  if any_type then table.insert(rows[1], 5, "TYPE") end
  for _, session in ipairs(list) do
    local state = tostring(session.state or "")
    if state ~= "Stopped" and type(session.progressPercent) == "number" then
      state = format("%s %d%%", state, session.progressPercent)
    end
    local row = { tostring(session.id), commands.short_time(session.creationTime), state,
      outcome_of(session), tostring(session.name or "") }
    if any_type then table.insert(row, 5, tostring(session.sessionType or "")) end
    rows[#rows + 1] = row
  end
  for _, line in ipairs(table_lines(rows)) do ctx:say(line) end
  return EXIT.ok
end

-- The session named on the command line, or nil and the exit code.
local function session_of(ctx, args)
  local client, code = ctx:connect()
  if not client then return nil, code end
  local session, err = client:session(args.id)
  if not session then return nil, ctx:fail(err) end
  return session
end

function commands.show(ctx, args)
  local session, code = session_of(ctx, args)
  if not session then return code end
  if args.json then return write_json(ctx, commands.plain(session)) end
  ctx:say(pretty.format(commands.plain(session)))
  return EXIT.ok
end

function commands.logs(ctx, args)
  local session, code = session_of(ctx, args)
  if not session then return code end
  local records, err = session:logs()
  if not records then return ctx:fail(err) end
  if args.json then return write_json(ctx, records) end
  ctx:say(format("Session %s (%s, %s%s):", tostring(session.id), tostring(session.name),
    tostring(session.state), outcome_of(session) ~= "" and (", " .. outcome_of(session)) or ""))
  for _, line in ipairs(commands.log_lines(records, "  ")) do ctx:say(line) end
  return EXIT.ok
end

return commands
