--- `vbr configbackup show|set|run|export|apply`, and `vbr repl`.
-- @module vbr.cli.configbackup

local json = require "vbr.json"
local schedule_lib = require "vbr.schedule"
local plan = require "vbr.cli.plan"
local diff = require "vbr.cli.diff"
local progress = require "vbr.cli.progress"
local sessions = require "vbr.cli.sessions"
local EXIT = require("vbr.env").EXIT

local type, ipairs, tostring, io_open = type, ipairs, tostring, io.open
local format, concat, rep = string.format, table.concat, string.rep

local commands = {}

-- Reading the settings ------------------------------------------------------------

local function on_off(value)
  if value == true then return "on" end
  if value == false then return "off" end
  return "unknown"
end

-- 10.0 (cjson on Lua 5.4) -> "10"
local function number_text(value)
  if type(value) == "number" and value % 1 == 0 then return format("%d", value) end
  return tostring(value)
end

--- The schedule of settings in words, or why it cannot be read.
function commands.schedule_words(settings)
  if type(settings) ~= "table" or type(settings.schedule) ~= "table" then return "(none)" end
  local schedule, why = schedule_lib.from_api(settings.schedule)
  if not schedule then return "(cannot be read: " .. tostring(why) .. ")" end
  return schedule_lib.describe(schedule)
end

local function find_by_id(list, id)
  for _, item in ipairs(list or {}) do
    if item.id == id then return item end
  end
  return nil
end

local function repository_text(id, repositories)
  local found = find_by_id(repositories, id)
  if not found then return tostring(id) end
  return format("%s (%s, %s)", tostring(found.name), tostring(found.type), tostring(id))
end

local function encryption_text(encryption, passwords)
  if type(encryption) ~= "table" then return "unknown" end
  if encryption.isEnabled ~= true then return "off" end
  local found = find_by_id(passwords, encryption.passwordId)
  if found then
    return format("on, password '%s' (%s)", tostring(found.hint), tostring(found.id))
  end
  return "on, password " .. tostring(encryption.passwordId)
end

local function email_text(smtp)
  if type(smtp) ~= "table" or smtp.isEnabled ~= true then return "off" end
  local recipients = {}
  for i, address in ipairs(type(smtp.recipients) == "table" and smtp.recipients or {}) do
    recipients[i] = tostring(address)
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
-- @tparam[opt] table repositories list, to name the repository
-- @tparam[opt] table passwords list, to name the encryption password
function commands.settings_lines(settings, repositories, passwords)
  local notifications = type(settings.notifications) == "table" and settings.notifications or {}
  local last = type(settings.lastSuccessfulBackup) == "table" and settings.lastSuccessfulBackup
    or {}
  local rows = {
    { "Job", settings.isEnabled == true and "enabled" or "disabled" },
    { "Schedule", commands.schedule_words(settings) },
    { "Repository", repository_text(settings.backupRepositoryId, repositories) },
    { "Restore points", number_text(settings.restorePointsToKeep) },
    { "Encryption", encryption_text(settings.encryption, passwords) },
    { "SNMP traps", on_off(notifications.SNMPEnabled) },
    { "Email", email_text(notifications.SMTPSettings) },
    { "Last success", last.lastSuccessfulTime
      and (sessions.short_time(last.lastSuccessfulTime)
        .. (last.sessionId and (" (session " .. tostring(last.sessionId) .. ")") or ""))
      or "never" },
  }
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

function commands.show(ctx, args)
  local client, settings, code = connect_and_get(ctx)
  if not client then return code end
  if args.json then
    ctx.stdout:write(assert(json.encode_pretty(settings)))
    return EXIT.ok
  end
  -- The names are a courtesy: without the right to list them, ids are shown.
  local repositories = client:repositories()
  local passwords = client:encryption_passwords()
  ctx:say("Configuration backup")
  for _, line in ipairs(commands.settings_lines(settings, repositories, passwords)) do
    ctx:say("  " .. line)
  end
  return EXIT.ok
end

-- Changing the settings -------------------------------------------------------------

-- Shows what `new` changes in `current`, then saves it unless `dry_run`.
local function propose(ctx, client, current, new, lookups, dry_run)
  local body, err = client.configbackup:check(new)
  if not body then return ctx:fail(err) end
  local changes = diff.compare(current, body)
  if #changes == 0 then
    ctx:say("No change: the server already has these settings. Nothing was sent.")
    return EXIT.ok
  end
  ctx:say("Changes (old -> new):")
  local old_words, new_words = commands.schedule_words(current), commands.schedule_words(body)
  if old_words ~= new_words then
    ctx:say("  schedule, in words: " .. old_words .. " -> " .. new_words)
  end
  local function note(path, value)
    if path == "backupRepositoryId" then
      local found = find_by_id(lookups.repositories, value)
      return found and tostring(found.name)
    elseif path == "encryption.passwordId" then
      local found = find_by_id(lookups.passwords, value)
      return found and ("'" .. tostring(found.hint) .. "'")
    end
    return nil
  end
  for _, line in ipairs(diff.lines(changes, "  ", note)) do ctx:say(line) end
  if dry_run then
    ctx:say("Dry run: nothing was sent.")
    return EXIT.ok
  end
  local saved
  saved, err = client.configbackup:put(new)
  if not saved then return ctx:fail(err) end
  ctx:say(format("Saved (%d field%s changed).", #changes, #changes == 1 and "" or "s"))
  return EXIT.ok
end

local SET_FLAGS = { "schedule", "retention", "repository", "encryption", "enable", "disable",
                    "snmp", "email", "email_to" }

function commands.set(ctx, args)
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
    local schedule, why = plan.read_schedule(args.schedule)
    if not schedule then
      ctx:tell("vbr: refused before sending anything:")
      ctx:tell("  schedule: " .. why)
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
  local new, lookups = plan.apply(client, current, wanted)
  if not new then return ctx:fail(lookups) end
  return propose(ctx, client, current, new, lookups, args.dry_run)
end

local function read_file(ctx, path)
  local text
  if path == "-" then
    text = ctx.env.stdin:read("*a")
  else
    local file, why = io_open(path, "rb")
    if not file then return nil, why end
    text = file:read("*a")
    file:close()
  end
  return text
end

function commands.apply(ctx, args)
  local text, why = read_file(ctx, args.file)
  if not text then
    ctx:tell("vbr: cannot read " .. tostring(why))
    return EXIT.invalid
  end
  local wanted
  wanted, why = json.decode(text)
  if type(wanted) ~= "table" or json.is_array(wanted) then
    ctx:tell("vbr: " .. (args.file == "-" and "stdin" or args.file) .. ": "
      .. (wanted == nil and ("not valid JSON: " .. tostring(why))
        or "expected a JSON object of configuration backup settings"))
    return EXIT.invalid
  end
  local client, current, code = connect_and_get(ctx)
  if not client then return code end
  local new = plan.merge(current, wanted)
  new.lastSuccessfulBackup = plan.copy(current.lastSuccessfulBackup)   -- the server's, not ours
  local lookups, err = plan.check_references(client, current, new)
  if not lookups then return ctx:fail(err) end
  return propose(ctx, client, current, new, lookups, args.dry_run)
end

function commands.export(ctx, args)
  local client, settings, code = connect_and_get(ctx)
  if not client then return code end
  -- The wanted state: when the last backup ran is not part of it.
  settings.lastSuccessfulBackup = nil
  local text = assert(json.encode_pretty(settings))
  if args.file == "-" then
    ctx.stdout:write(text)
    return EXIT.ok
  end
  local file, why = io_open(args.file, "wb")
  if not file then
    ctx:tell("vbr: cannot write " .. tostring(why))
    return EXIT.invalid
  end
  file:write(text)
  file:close()
  ctx:say("Wrote the configuration backup settings to " .. args.file .. ".")
  ctx:say("Edit it, then: vbr configbackup apply " .. args.file .. " --dry-run")
  return EXIT.ok
end

-- Running a backup --------------------------------------------------------------------

local function print_log(ctx, session)
  local records, err = session:logs()
  if not records then
    ctx:tell("vbr: the session log cannot be read: " .. tostring(err))
    return
  end
  ctx:say("Session log:")
  for _, line in ipairs(sessions.log_lines(records, "  ")) do ctx:say(line) end
end

function commands.run(ctx, args)
  local client, code = ctx:connect()
  if not client then return code end
  local session, err = client.configbackup:start { force = args.force or nil }
  if not session then return ctx:fail(err) end
  ctx:say(format("Started a configuration backup: session %s.", tostring(session.id)))
  if not (args.wait or args.timeout) then
    ctx:say("Follow it with: vbr sessions show " .. tostring(session.id))
    return EXIT.ok
  end
  local bar = progress.new(ctx.stderr, ctx:isatty("stderr"))
  local done
  done, err = session:wait {
    timeout = args.timeout or 3600,
    on_progress = function(s) bar:update(s) end,
  }
  bar:finish()
  if not done then
    code = ctx:fail(err)
    if err.kind == "failed" then print_log(ctx, err.session or session) end
    if err.kind == "timeout" then
      ctx:tell("vbr: the session goes on; follow it with: vbr sessions show "
        .. tostring(session.id))
    end
    return code
  end
  local outcome = done:outcome()
  ctx:say(format("Finished: %s.", tostring(outcome)))
  if outcome == "Warning" then print_log(ctx, done) end
  return EXIT.ok
end

-- The REPL -------------------------------------------------------------------------------

function commands.repl(ctx)
  local client, code = ctx:connect()
  if not client then return code end
  return require("vbr.repl").run {
    client = client, stdin = ctx.env.stdin, stdout = ctx.stdout, stderr = ctx.stderr,
    interactive = ctx:isatty("stdin"),
  }
end

return commands
