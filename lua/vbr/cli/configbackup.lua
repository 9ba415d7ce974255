--- `vbr configbackup show|set|run|export|apply|diff`.
-- @internal vbr.cli.configbackup

local json = require "vbr.json"
local pretty = require "vbr.pretty"
local configbackup = require "vbr.configbackup"
local diff = require "vbr.cli.diff"
local sessions = require "vbr.cli.sessions"
local EXIT = require("vbr.env").EXIT

local type, pairs, ipairs, tostring, tonumber, io_open, os_date =
      type, pairs, ipairs, tostring, tonumber, io.open, os.date
local format, concat, rep = string.format, table.concat, string.rep
local escape = pretty.escape

local commands = {}

-- Reading the settings ------------------------------------------------------------

local function on_off(value)
  if value == true then return "on" end
  if value == false then return "off" end
  return "unknown"
end

-- 10.0 (cjson on Lua 5.4) -> "10"
local function number_text(value)
  if json.is_integer(value) then return format("%d", value) end
  return escape(value)
end

local function schedule_of(settings)
  if type(settings) ~= "table" or type(settings.schedule) ~= "table" then return nil end
  return require("vbr.schedule").from_api(settings.schedule)
end

--- The schedule of settings in words, or why it cannot be read.
function commands.schedule_words(settings)
  if type(settings) ~= "table" or type(settings.schedule) ~= "table" then return "(none)" end
  local schedule, why = schedule_of(settings)
  if not schedule then return "(cannot be read: " .. escape(why) .. ")" end
  return require("vbr.schedule").describe(schedule)
end

-- The next start times of the settings' schedule (server local time).
local function next_runs(settings, count)
  local schedule = schedule_of(settings)
  if not schedule then return {} end
  local now = os_date("*t")
  return require("vbr.schedule").next_runs(schedule, { year = now.year, month = now.month,
    day = now.day, hour = now.hour, min = now.min }, count) or {}
end

local function find_by_id(list, id)
  for _, item in ipairs(list or {}) do
    if item.id == id then return item end
  end
  return nil
end

local function repository_text(id, repositories)
  local found = find_by_id(repositories, id)
  if not found then return escape(id) end
  return format("%s (%s, %s)", escape(found.name), escape(found.type), escape(id))
end

local function encryption_text(encryption, passwords)
  if type(encryption) ~= "table" then return "unknown" end
  if encryption.isEnabled ~= true then return "off" end
  local found = find_by_id(passwords, encryption.passwordId)
  if found then
    return format("on, password '%s' (%s)", escape(found.hint), escape(found.id))
  end
  return "on, password " .. escape(encryption.passwordId)
end

local function email_text(smtp)
  if type(smtp) ~= "table" or smtp.isEnabled ~= true then return "off" end
  local recipients = {}
  for i, address in ipairs(type(smtp.recipients) == "table" and smtp.recipients or {}) do
    recipients[i] = escape(address)
  end
  local on = {}
  if smtp.notifyOnSuccess then on[#on + 1] = "success" end
  if smtp.notifyOnWarning then on[#on + 1] = "warning" end
  if smtp.notifyOnError then on[#on + 1] = "error" end
  local to = #recipients > 0 and ("to " .. concat(recipients, ", "))
    or (tostring(smtp.settingsType) == "Global" and "to the global recipients" or "to nobody")
  return format("on, %s (on %s)", to, #on > 0 and concat(on, ", ") or "nothing")
end

--- Lines describing the settings for people.
-- @tparam table settings as read from the server
-- @tparam[opt] table extra `repositories`, `passwords` (lists, to name them),
--   `next_runs` (start times), `last_session` (a session, or `false` for none)
function commands.settings_lines(settings, extra)
  extra = extra or {}
  local notifications = type(settings.notifications) == "table" and settings.notifications or {}
  local last = type(settings.lastSuccessfulBackup) == "table" and settings.lastSuccessfulBackup
    or {}
  local rows = {
    { "Job", settings.isEnabled == true and "enabled" or "disabled" },
    { "Schedule", commands.schedule_words(settings) },
    { "Repository", repository_text(settings.backupRepositoryId, extra.repositories) },
    { "Restore points", number_text(settings.restorePointsToKeep) },
    { "Encryption", encryption_text(settings.encryption, extra.passwords) },
    { "SNMP traps", on_off(notifications.SNMPEnabled) },
    { "Email", email_text(notifications.SMTPSettings) },
    { "Last success", last.lastSuccessfulTime
      and (sessions.short_time(last.lastSuccessfulTime)
        .. (last.sessionId and (" (session " .. escape(last.sessionId) .. ")") or ""))
      or "never" },
  }
  if extra.last_session ~= nil then
    rows[#rows + 1] = { "Last session", extra.last_session
      and sessions.summary(extra.last_session) or "none" }
  end
  if extra.next_runs then
    rows[#rows + 1] = { "Next runs", #extra.next_runs > 0 and concat(extra.next_runs, ", ")
      or (settings.isEnabled == true and "none" or "none (the job is disabled)") }
    if #extra.next_runs > 0 and settings.isEnabled ~= true then
      rows[#rows][2] = rows[#rows][2] .. " (if enabled)"
    end
  end
  local lines = {}
  for i, row in ipairs(rows) do
    lines[i] = row[1] .. ":" .. rep(" ", 16 - #row[1]) .. row[2]
  end
  return lines
end

local function connect_and_get(ctx)
  local client, code = ctx:connect()
  if not client then return nil, nil, code end
  local settings, err = client.configbackup:get()
  if not settings then return nil, nil, ctx:fail(err) end
  return client, settings
end

-- Notes on stderr when the client speaks an older revision than the server
-- (not with --quiet); returns what `older_revision` said.
local function note_older(ctx, client)
  local older = client.configbackup:older_revision()
  if older and not ctx.quiet then ctx:tell("vbr: note: " .. escape(older.message) .. ".") end
  return older
end

local function show(ctx)
  local client, settings, code = connect_and_get(ctx)
  if not client then return code end
  note_older(ctx, client)
  local last, err = sessions.latest(client)
  if last == nil then return ctx:fail(err) end
  local runs = next_runs(settings, 3)
  if ctx.json then
    return ctx:write_json { settings = settings, nextRuns = json.array(runs),
      lastSession = last and sessions.plain(last) or json.null }
  end
  -- The names are a courtesy: without the right to list them, ids are shown.
  local extra = { repositories = client:repositories(), passwords = client:encryption_passwords(),
                  next_runs = runs, last_session = last }
  ctx:say("Configuration backup")
  for _, line in ipairs(commands.settings_lines(settings, extra)) do ctx:say("  " .. line) end
  if last and last.state == "Stopped" and last:outcome() == "Failed" then
    ctx:tell("vbr: the last configuration backup failed; see: vbr sessions logs "
      .. escape(last.id))
  end
  return EXIT.ok
end

-- Changing the settings -------------------------------------------------------------

-- Says when --force would override a refusal: an older revision, or rules
-- the server would take but that cannot work.
local function hint_force(ctx, err)
  local forceable = err.kind == "conflict" and err.older ~= nil
  if err.kind == "invalid" and type(err.problems) == "table" and #err.problems > 0 then
    forceable = true
    for _, problem in ipairs(err.problems) do forceable = forceable and problem.forceable end
  end
  if forceable then ctx:tell("vbr: add --force to write anyway") end
end

-- The changes from `current` to what `new` sends, the body and the lists
-- the checks read, or nil and the exit code (the refusal reported). The
-- library checks what a write would (`options`: allow_older, force).
local function changes_of(ctx, client, current, new, options)
  local check_options = { current = current }
  for key, value in pairs(options or {}) do check_options[key] = value end
  local body, read = client.configbackup:check(new, check_options)
  if not body then
    local code = ctx:fail(read)
    hint_force(ctx, read)
    return nil, nil, code
  end
  return diff.compare(current, body), body, read
end

local function print_changes(ctx, current, body, changes, lookups)
  ctx:say("Changes (old -> new):")
  local old_words, new_words = commands.schedule_words(current), commands.schedule_words(body)
  if old_words ~= new_words then
    ctx:say("  schedule, in words: " .. old_words .. " -> " .. new_words)
  end
  local function note(path, value)
    if path == "backupRepositoryId" then
      local found = find_by_id(lookups.repositories, value)
      return found and escape(found.name)
    elseif path == "encryption.passwordId" then
      local found = find_by_id(lookups.passwords, value)
      return found and ("'" .. escape(found.hint) .. "'")
    end
    return nil
  end
  for _, line in ipairs(diff.lines(changes, "  ", note)) do ctx:say(escape(line)) end
end

local function changes_json(changes)
  local out = json.array()
  for i, change in ipairs(changes) do
    out[i] = { path = change.path, old = change.old == nil and json.null or change.old,
               new = change.new == nil and json.null or change.new }
  end
  return out
end

-- Shows what `new` changes in `current`, then saves it unless --dry-run;
-- --force writes what the library refuses but the server would take.
local function propose(ctx, client, current, new, lookups, args)
  local dry_run, force = args.dry_run, args.force or nil
  local older = note_older(ctx, client)
  local changes, body, read = changes_of(ctx, client, current, new,
    { allow_older = force or (dry_run and true) or nil, force = force })
  if not changes then return read end
  for name, list in pairs(read) do lookups[name] = lookups[name] or list end
  local report = { changes = changes_json(changes), dryRun = dry_run == true, saved = false }
  if #changes == 0 then
    if ctx.json then return ctx:write_json(report) end
    ctx:info("No change: the server already has these settings. Nothing was sent.")
    return EXIT.ok
  end
  if not ctx.json and not ctx.quiet then print_changes(ctx, current, body, changes, lookups) end
  if dry_run then
    if ctx.json then return ctx:write_json(report) end
    ctx:info("Dry run: nothing was sent." .. ((older and #older.lacks > 0 and not force)
      and " Saving at this older revision needs --force." or ""))
    return EXIT.ok
  end
  local saved, err = client.configbackup:put(new, { current = current, allow_older = force,
    force = force })
  if not saved then
    local code = ctx:fail(err)
    hint_force(ctx, err)
    return code
  end
  report.saved = true
  if ctx.json then return ctx:write_json(report) end
  ctx:info(format("Saved (%d field%s changed).", #changes, #changes == 1 and "" or "s"))
  return EXIT.ok
end

local SET_FLAGS = { "schedule", "retention", "repository", "encryption", "enable", "disable",
                    "snmp", "email", "email_to" }

local function set(ctx, args)
  local given = false
  for _, name in ipairs(SET_FLAGS) do
    if args[name] ~= nil and args[name] ~= false then given = true end
  end
  if not given then
    return ctx:usage_error("configbackup set: nothing to change; give at least one of "
      .. "--schedule, --retention, --repository, --encryption, --enable, --disable, --snmp, "
      .. "--email, --email-to")
  end
  -- A schedule that cannot be read needs no server to say so.
  if args.schedule then
    local schedule, why = configbackup.read_schedule(args.schedule)
    if not schedule then
      ctx:tell("vbr: refused before sending anything:")
      ctx:tell("  --schedule: " .. why)
      return EXIT.invalid
    end
  end
  local wanted = {
    schedule = args.schedule,
    retention = args.retention,
    repository = args.repository,
    encryption = args.encryption,
    email_to = args.email_to,
  }
  if args.enable then wanted.enabled = true elseif args.disable then wanted.enabled = false end
  if args.snmp then wanted.snmp = args.snmp == "on" end
  if args.email then wanted.email = args.email == "on" end

  local client, current, code = connect_and_get(ctx)
  if not client then return code end
  local new, lookups = client.configbackup:plan(current, wanted)
  if not new then return ctx:fail(lookups) end
  return propose(ctx, client, current, new, lookups, args)
end

local function read_file(ctx, path)
  if path == "-" then return ctx.env.stdin:read("*a") or "" end
  local file, why = io_open(path, "rb")
  if not file then return nil, why end
  local text = file:read("*a")
  file:close()
  return text
end

-- The wanted settings of a JSON file, or nil and the exit code.
local function read_wanted(ctx, path)
  local text, why = read_file(ctx, path)
  if not text then
    ctx:tell("vbr: cannot read " .. tostring(why))
    return nil, EXIT.invalid
  end
  local wanted
  wanted, why = json.decode(text)
  if type(wanted) ~= "table" or json.is_array(wanted) then
    ctx:tell("vbr: " .. (path == "-" and "stdin" or path) .. ": "
      .. (wanted == nil and ("not valid JSON: " .. tostring(why))
        or "expected a JSON object of configuration backup settings"))
    return nil, EXIT.invalid
  end
  return wanted
end

-- The server's settings and those with the file's applied: client, current,
-- new (checked by the library when proposed or compared); or nil and the
-- exit code.
local function file_against_server(ctx, path)
  local wanted, code = read_wanted(ctx, path)
  if not wanted then return nil, code end
  local client, current
  client, current, code = connect_and_get(ctx)
  if not client then return nil, code end
  local new = configbackup.merge(current, wanted)
  new.lastSuccessfulBackup = json.copy(current.lastSuccessfulBackup)   -- the server's
  return client, current, new
end

local function apply(ctx, args)
  local client, current, new = file_against_server(ctx, args.file)
  if not client then return current end
  return propose(ctx, client, current, new, {}, args)
end

local function compare(ctx, args)
  local client, current, new = file_against_server(ctx, args.file)
  if not client then return current end
  -- nothing is written: what only a write would refuse is no reason to stop
  local changes, body, lookups = changes_of(ctx, client, current, new,
    { allow_older = true, force = true })
  if not changes then return lookups end
  local code = #changes == 0 and EXIT.ok or EXIT.drift
  if ctx.json then return ctx:write_json({ changes = changes_json(changes) }, code) end
  if #changes == 0 then
    ctx:info("No drift: the server has the settings of " .. args.file .. ".")
    return code
  end
  if not ctx.quiet then print_changes(ctx, current, body, changes, lookups) end
  ctx:info(format("Drift: %d field%s differ%s; 'vbr configbackup apply %s' makes the server "
    .. "match the file.", #changes, #changes == 1 and "" or "s", #changes == 1 and "s" or "",
    args.file))
  return code
end

local function export(ctx, args)
  local client, settings, code = connect_and_get(ctx)
  if not client then return code end
  -- The wanted state: when the last backup ran is not part of it.
  settings.lastSuccessfulBackup = nil
  local text = assert(json.encode_pretty(settings))
  if args.file == "-" then
    ctx:say((text:gsub("\n$", "")))         -- printed: through vbr.printable as every line
    return EXIT.ok
  end
  local file, why = io_open(args.file, "wb")
  if not file then
    ctx:tell("vbr: cannot write " .. tostring(why))
    return EXIT.invalid
  end
  file:write(text)
  file:close()
  if ctx.json then return ctx:write_json { written = args.file } end
  ctx:info("Wrote the configuration backup settings to " .. args.file .. ".")
  ctx:info("Edit it, then: vbr configbackup apply " .. args.file .. " --dry-run")
  return EXIT.ok
end

-- Running a backup --------------------------------------------------------------------

-- With --force: stops the running configuration backup and waits for it to
-- stop, so that the new one can start (VBR refuses a second one).
local function stop_running(ctx, running)
  ctx:info("Stopping the running configuration backup first (--force): session "
    .. escape(running.id) .. ".")
  local stopped, err = running:stop()
  if not stopped then return nil, ctx:fail(err) end
  local done
  done, err = running:wait { timeout = 120 }
  if not done and err.kind ~= "failed" then return nil, ctx:fail(err) end   -- stopped = Failed
  return true
end

local function run(ctx, args)
  local client, code = ctx:connect()
  if not client then return code end
  local cb = client.configbackup
  if args.force then
    local running, err = cb:running()
    if running == nil then return ctx:fail(err) end
    if running then
      local ok
      ok, code = stop_running(ctx, running)
      if not ok then return code end
    end
  end
  local session, err = cb:start()
  if not session then
    if err.kind == "conflict" and err.session then
      local id = escape(err.session.id)
      ctx:tell(format("vbr: a configuration backup is already running (session %s, %s).", id,
        escape(err.session.state)))
      ctx:tell("vbr: wait for it: vbr sessions wait " .. id .. "; or stop it and start anew: "
        .. "vbr configbackup run --force")
      return EXIT.refused
    end
    return ctx:fail(err)
  end
  if not (args.wait or args.timeout) then
    if ctx.json then return ctx:write_json(sessions.plain(session)) end
    if ctx.quiet then
      ctx:say(escape(session.id))
    else
      ctx:say(format("Started a configuration backup: session %s.", escape(session.id)))
      ctx:say("Follow it with: vbr sessions wait " .. escape(session.id))
    end
    return EXIT.ok
  end
  ctx:info(format("Started a configuration backup: session %s.", escape(session.id)))
  return sessions.follow(ctx, session, args)
end

-- The command line -----------------------------------------------------------------------

local function address_list(text)
  local list = {}
  for item in (text .. ","):gmatch("([^,]*),") do
    item = item:match("^%s*(.-)%s*$")
    if item == "" then return nil, "--email-to: an empty address in '" .. text .. "'" end
    list[#list + 1] = item
  end
  return list
end

local function whole_number(text)
  local number = tonumber(text)
  if not number or number % 1 ~= 0 then
    return nil, "--retention must be a whole number, not '" .. text .. "'"
  end
  return number
end

local FORCE_HELP = "Write even at an older API revision than the server's, or settings that "
  .. "cannot work (encryption off while it is mandatory)."

function commands.define(add, parser)
  local cb = add(parser, "configbackup cb", "Show, change, compare and run the configuration "
    .. "backup.")
  add(cb, "show", "Show the settings, the schedule in words, the next runs and the last "
    .. "session.", show)

  local set_command = add(cb, "set", "Change some settings: shows the change, then saves it.",
    set)
  set_command:epilog([[
Examples:
  vbr configbackup set --schedule "weekdays at 22:00" --retention 14
  vbr configbackup set --schedule nightly --dry-run
  vbr configbackup set --encryption "config backup key" --email-to ops@example.com
  vbr configbackup set --disable

Schedules: a phrase ("daily at 22:00", "mon,wed,fri 06:30", "monthly on the last
friday at 23:00", "off") or a template (see 'vbr schedule templates').]])
  set_command:option("--schedule", "When to run: a phrase or a template name.")
    :argname("<text>")
  -- The range (1 to 255) is the model's to check, with the other settings.
  set_command:option("--retention", "Restore points to keep (1 to 255).")
    :argname("<count>"):convert(whole_number)
  set_command:option("--repository", "Backup repository, by name or id (not a scale-out or "
    .. "external one).")
    :argname("<name|id>")
  set_command:option("--encryption", "Encryption password, by hint or id; or off.")
    :argname("<hint|id|off>")
  set_command:mutex(
    set_command:flag("--enable", "Turn the configuration backup job on."),
    set_command:flag("--disable", "Turn the configuration backup job off."))
  set_command:option("--snmp", "SNMP traps for the job (the server needs global SNMP "
    .. "settings).")
    :choices { "on", "off" }
  set_command:option("--email", "Email notifications.")
    :choices { "on", "off" }
  set_command:option("--email-to", "Send email to these addresses (comma-separated); "
    .. "turns email on unless --email off.")
    :argname("<a@b,c@d>"):convert(address_list)
  set_command:flag("--dry-run", "Show the change, send nothing.")
  set_command:flag("--force", FORCE_HELP)

  local run_command = add(cb, "run", "Start a configuration backup now.", run)
  run_command:flag("--wait", "Follow the session until it ends; print its log if it failed "
    .. "or warned. Ctrl-C stops the waiting, not the backup.")
  sessions.wait_options(run_command)
  run_command:flag("--force", "When a configuration backup is running, stop it first, then "
    .. "start a new one (VBR runs one at a time).")

  add(cb, "export", "Write the settings to a JSON file (- for stdout).", export)
    :argument("file", "The file to write.")

  local apply_command = add(cb, "apply", "Change the settings to those of a JSON file (- for "
    .. "stdin).", apply)
  apply_command:epilog("The file holds all the settings (as 'export' writes them) or only "
    .. "those to change; lastSuccessfulBackup is the server's and is ignored.")
  apply_command:argument("file", "The file to read.")
  apply_command:flag("--dry-run", "Show the change, send nothing.")
  apply_command:flag("--force", FORCE_HELP)

  local diff_command = add(cb, "diff", "Compare the server's settings with a JSON file (- for "
    .. "stdin); exit code 0 when they match, 8 when they differ.", compare)
  diff_command:epilog("Like 'apply --dry-run', for drift checks in scripts and CI: "
    .. "0 no drift, 8 drift, 1 to 5 an error (see 'vbr --help').")
  diff_command:argument("file", "The wanted settings (as 'export' writes them, or a part).")
end

return commands
