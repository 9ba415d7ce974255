--- `vbr sessions list|show|logs|wait|stop`, and what `vbr configbackup run`
-- shares with them: following a session to its end, and its log.
--
-- A session is named by its id, a unique prefix of it (as `sessions list`
-- shows them), or `last`: the newest configuration backup session.
-- @internal vbr.cli.sessions

local json = require "vbr.json"
local pretty = require "vbr.pretty"
local progress = require "vbr.cli.progress"
local EXIT = require("vbr.env").EXIT

local type, pairs, ipairs, tostring, tonumber, pcall, error =
      type, pairs, ipairs, tostring, tonumber, pcall, error
local format, rep, max, concat, sort = string.format, string.rep, math.max, table.concat,
                                       table.sort
local escape = pretty.escape

local commands = {}

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"
local CONFIG_BACKUP = "ConfigurationBackup"

--- "2026-01-21T10:00:35.033+01:00" -> "2026-01-21 10:00:35+01:00"; text
-- in another shape is shown as it is (escaped).
function commands.short_time(text)
  if type(text) ~= "string" then return "" end
  local date, time, zone = text:match("^(%d+%-%d+%-%d+)T(%d+:%d+:%d+)[%.%d]*(.*)$")
  if not date then return escape(text) end
  return date .. " " .. time .. escape(zone)
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
  return type(session.result) == "table" and escape(session.result.result or "") or ""
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
    rows[i] = { commands.short_time(record.startTime), escape(record.status or ""),
                escape(title) }
  end
  local lines = table_lines(rows)
  for i, line in ipairs(lines) do lines[i] = indent .. line end
  return lines
end

--- One line on a session: "2026-01-21 10:00:35+01:00 Failed: why (session id)".
function commands.summary(session)
  local message = type(session.result) == "table" and session.result.message or nil
  local state = session.state == "Stopped" and outcome_of(session) or escape(session.state or "?")
  return format("%s %s%s (session %s)", commands.short_time(session.endTime
      or session.creationTime), state,
    (type(message) == "string" and message ~= "") and (": " .. escape(message)) or "",
    escape(session.id))
end

--- The newest configuration backup session, `false` when there is none, or
-- `nil, err`.
function commands.latest(client)
  local list, err = client:sessions { type = CONFIG_BACKUP, limit = 1 }
  if not list then return nil, err end
  return list[1] or false
end

-- The session the text names: an id, a unique prefix of one, or "last".
-- Returns the session, or nil and the exit code (the error reported).
local function resolve(ctx, client, text)
  if text:find(UUID) then
    local session, err = client:session(text)
    if not session then return nil, ctx:fail(err) end
    return session
  end
  if text == "last" then
    local session, err = commands.latest(client)
    if session == nil then return nil, ctx:fail(err) end
    if not session then
      ctx:tell("vbr: 'last': there is no configuration backup session yet")
      return nil, EXIT.refused
    end
    return session
  end
  local list, err = client:sessions { limit = 1000 }
  if not list then return nil, ctx:fail(err) end
  local matches = {}
  local prefix = text:lower()
  for _, session in ipairs(list) do
    if type(session.id) == "string" and session.id:lower():sub(1, #prefix) == prefix then
      matches[#matches + 1] = session
    end
  end
  if #matches == 1 then return matches[1] end
  if #matches == 0 then
    ctx:tell(format("vbr: no session id starts with '%s' (among the %d newest sessions)",
      text, #list))
  else
    local ids = {}
    for i, session in ipairs(matches) do ids[i] = escape(session.id) end
    ctx:tell(format("vbr: '%s' is the start of %d session ids; give more of one: %s", text,
      #matches, concat(ids, ", ")))
  end
  return nil, EXIT.refused
end

-- The session named on the command line, or nil and the exit code.
local function session_of(ctx, args)
  local client, code = ctx:connect()
  if not client then return nil, code end
  return resolve(ctx, client, args.id)
end

--- Prints the session log (for a failed or warned session).
function commands.print_log(ctx, session)
  local records, err = session:logs()
  if not records then
    ctx:tell("vbr: the session log cannot be read: " .. tostring(err))
    return
  end
  local say = ctx.json and function(line) ctx:tell(line) end or function(line) ctx:say(line) end
  say("Session log:")
  for _, line in ipairs(commands.log_lines(records, "  ")) do say(line) end
end

local function follow_hint(id)
  return "vbr sessions wait " .. escape(id) .. " (or stop it: vbr sessions stop "
    .. escape(id) .. ")"
end

--- Follows a session to its end: progress on stderr, the outcome, the log
-- when it failed or warned. Ctrl-C stops the waiting, not the session.
-- @param ctx the command's context
-- @tparam vbr.session session the session to follow
-- @tparam table args `timeout` (seconds, default 3600), `strict` (a warning
--   gives exit code 6)
-- @treturn integer the exit code
function commands.follow(ctx, session, args)
  local interrupt = require("vbr.core").interrupt
  local bar = progress.new(ctx.stderr, ctx:isatty("stderr"))
  local ok, done, err = pcall(session.wait, session, {
    timeout = args.timeout or 3600,
    on_progress = function(s) if not ctx.quiet then bar:update(s) end end,
  })
  bar:finish()
  if not ok then
    if done ~= interrupt.ERROR then error(done, 0) end
    ctx:tell("vbr: stopped waiting (Ctrl-C); the backup goes on on the server: session "
      .. escape(session.id))
    ctx:tell("vbr: follow it with: " .. follow_hint(session.id))
    return EXIT.interrupted
  end
  local code
  if done then
    local outcome = done:outcome()
    code = (outcome == "Warning" and args.strict) and EXIT.warning or EXIT.ok
    if not ctx.json then ctx:say(format("Finished: %s.", escape(outcome))) end
    if outcome == "Warning" then commands.print_log(ctx, done) end
  elseif err.kind == "failed" then
    code = ctx:fail(err)
    commands.print_log(ctx, err.session or session)
    done = err.session or session
  elseif err.kind == "timeout" and err.session then
    ctx:tell("vbr: " .. (tostring(err):gsub("^vbr: ", "")))
    ctx:tell("vbr: the session goes on; follow it with: " .. follow_hint(session.id))
    code, done = EXIT.still_running, err.session
  else
    return ctx:fail(err)
  end
  if ctx.json then return ctx:write_json(commands.plain(done), code) end
  return code
end

-- The commands ------------------------------------------------------------------------

local function list(ctx, args)
  local client, code = ctx:connect()
  if not client then return code end
  local filter = { limit = args.limit }
  if args.type ~= "any" then filter.type = args.type end
  local found, err = client:sessions(filter)
  if not found then return ctx:fail(err) end
  if ctx.json then
    local plain = json.array()
    for i, session in ipairs(found) do plain[i] = commands.plain(session) end
    return ctx:write_json(plain)
  end
  if #found == 0 then
    ctx:info("No sessions" .. (filter.type and (" of type " .. filter.type) or "") .. ".")
    return EXIT.ok
  end
  local any_type = filter.type == nil
  local rows = { { "ID", "CREATED", "STATE", "RESULT", "NAME" } }
  if any_type then table.insert(rows[1], 5, "TYPE") end
  for _, session in ipairs(found) do
    local state = escape(session.state or "")
    if state ~= "Stopped" and type(session.progressPercent) == "number" then
      state = format("%s %d%%", state, session.progressPercent)
    end
    local row = { escape(session.id), commands.short_time(session.creationTime), state,
      outcome_of(session), escape(session.name or "") }
    if any_type then table.insert(row, 5, escape(session.sessionType or "")) end
    rows[#rows + 1] = row
  end
  for _, line in ipairs(table_lines(rows)) do ctx:say(line) end
  return EXIT.ok
end

local function show(ctx, args)
  local session, code = session_of(ctx, args)
  if not session then return code end
  if ctx.json then return ctx:write_json(commands.plain(session)) end
  ctx:say(pretty.format(commands.plain(session)))
  return EXIT.ok
end

local function logs(ctx, args)
  local session, code = session_of(ctx, args)
  if not session then return code end
  local records, err = session:logs()
  if not records then return ctx:fail(err) end
  if ctx.json then return ctx:write_json(records) end
  ctx:say(format("Session %s (%s, %s%s):", escape(session.id), escape(session.name),
    escape(session.state), outcome_of(session) ~= "" and (", " .. outcome_of(session)) or ""))
  for _, line in ipairs(commands.log_lines(records, "  ")) do ctx:say(line) end
  return EXIT.ok
end

local function wait(ctx, args)
  local session, code = session_of(ctx, args)
  if not session then return code end
  ctx:info("Waiting for session " .. escape(session.id) .. " (" .. escape(session.name) .. ").")
  return commands.follow(ctx, session, args)
end

local function stop(ctx, args)
  local session, code = session_of(ctx, args)
  if not session then return code end
  if session.state == "Stopped" then
    ctx:info("Session " .. escape(session.id) .. " has already stopped: " .. outcome_of(session)
      .. ".")
    if ctx.json then return ctx:write_json(commands.plain(session)) end
    return EXIT.ok
  end
  local stopped, err = session:stop()
  if not stopped then return ctx:fail(err) end
  if ctx.json then return ctx:write_json(commands.plain(stopped)) end
  ctx:info("Asked the server to stop session " .. escape(session.id) .. "; it is now "
    .. escape(stopped.state) .. (stopped.state == "Stopped" and (" (" .. outcome_of(stopped)
      .. ")") or "") .. ".")
  return EXIT.ok
end

-- The command line -----------------------------------------------------------------------

local function whole_between(low, high, what)
  return function(text)
    local number = tonumber(text)
    if not number or number % 1 ~= 0 or number < low or number > high then
      return nil, format("%s must be a whole number from %d to %d, not '%s'", what, low, high,
        text)
    end
    return number
  end
end
commands.whole_between = whole_between

--- The converter of a `--timeout` in seconds.
function commands.seconds(text)
  local number = tonumber(text)
  if not number or number <= 0 or number ~= number or number == math.huge then
    return nil, "--timeout must be a number of seconds above 0, not '" .. text .. "'"
  end
  return number
end

local function session_id(text)
  if text ~= "last" and not text:find("^[%x%-]+$") then
    return nil, "a session id is a UUID such as 2f0e8a4c-0a6c-4b1e-9c4e-3d2a1b0c9f8e, a "
      .. "unique start of one, or last; not '" .. text .. "'"
  end
  return text
end

local ID_HELP = "Session id, a unique start of one (as 'sessions list' shows), or last (the "
  .. "newest configuration backup session)."

--- The `--timeout` and `--strict` options of a command that waits.
function commands.wait_options(command)
  command:option("--timeout", "Give up waiting after this many seconds (default 3600; the "
    .. "session goes on, exit code 7).")
    :argname("<seconds>"):convert(commands.seconds)
  command:flag("--strict", "Exit with code 6 when the session ends with a warning.")
end

function commands.define(add, parser)
  local sessions = add(parser, "sessions", "List, follow and stop sessions, read their logs.")
  local list_command = add(sessions, "list", "Recent sessions, newest first.", list)
  list_command:option("--type", "Session type, or any.", CONFIG_BACKUP)
  list_command:option("--limit", "How many (1 to 1000).", "20")
    :convert(whole_between(1, 1000, "--limit"))
  add(sessions, "show", "One session.", show):argument("id", ID_HELP):convert(session_id)
  add(sessions, "logs", "The log of one session.", logs):argument("id", ID_HELP)
    :convert(session_id)
  local wait_command = add(sessions, "wait", "Follow a session until it ends; print its log "
    .. "if it failed or warned. Ctrl-C stops the waiting, not the session.", wait)
  wait_command:argument("id", ID_HELP):convert(session_id)
  commands.wait_options(wait_command)
  add(sessions, "stop", "Ask the server to stop a running session.", stop)
    :argument("id", ID_HELP):convert(session_id)
end

return commands
