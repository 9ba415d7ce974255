--- A Lua prompt with a connected client (`vbr repl`).
--
--     vbr> cb:get().restorePointsToKeep
--     10
--     vbr> s = cb:start()
--     vbr> s:wait()                -- draws the progress
--     vbr> help(s)
--
-- Each line is tried first as an expression (`return ` before it), then as a
-- statement; an unfinished statement continues on the next line. Results
-- are printed with `vbr.pretty`; errors are printed and the prompt goes on.
--
-- On a terminal with `lua-readline`: line editing, history kept between
-- runs (`$XDG_STATE_HOME/vbr/history`, by default
-- `~/.local/state/vbr/history`) and Tab completion of names, fields and
-- methods; without it, plain lines. Ctrl-C cancels the line being typed, or
-- the running call, and the prompt goes on; Ctrl-D or `exit()` leaves.
-- Input that is not a terminal (a piped script) stops at the first error,
-- or the first call that returns `nil, err`, with a non-zero exit code.
-- @internal vbr.repl

local pretty = require "vbr.pretty"
local json = require "vbr.json"
local progress = require "vbr.cli.progress"

local type, tostring, select, setmetatable, getmetatable, xpcall, load, pairs, ipairs, pcall,
      require, error, rawget =
      type, tostring, select, setmetatable, getmetatable, xpcall, load, pairs, ipairs, pcall,
      require, error, rawget
local concat, sort, format = table.concat, table.sort, string.format

local repl = {}

local INTRO = [[
In scope:
  client      the connected client           help(client)
  cb          client.configbackup            help(cb)
  vbr         the vbr module                 help(vbr), help(vbr.schedule)
Try:
  cb:get()                               the settings
  cb:set_schedule "weekdays at 22:00"    or a vbr.schedule table
  s = cb:start()   s:wait()              start a backup and follow it; help(s)
  client:sessions { limit = 5 }
Results print as trees; a failure prints as nil and the error. Tab completes
names and methods; Ctrl-C cancels the line or the running call.
exit() or Ctrl-D leaves.]]

-- One line per method: what help(x) says of each kind of object.
local CLIENT_HELP = {
  { "sessions { type =, state =, limit = }", "sessions, newest first" },
  { "session(id)", "one session" },
  { "repositories()", "the backup repositories" },
  { "encryption_passwords()", "the encryption passwords" },
  { "server_info()", "the server's name, build, ..." },
  { "revision()", "facts of the API revision in use" },
  { "request(method, path, { query =, body = })", "any REST call, decoded" },
  { "login()", "log in now (calls log in by themselves)" },
  { "logout()", "log out: both tokens die" },
  { "close()", "close the connection" },
}
local CONFIGBACKUP_HELP = {
  { "get()", "the settings, with the API's field names" },
  { "put(settings)", "replace them all (checked first)" },
  { "edit { field = value }", "GET, merge, check, one PUT" },
  { "check(settings)", "what would be sent, or every problem" },
  { "plan(current, wishes)", "the new settings, computed here" },
  { "change { retention =, schedule =, ... }", "plan and put" },
  { "enable()", "turn the job on" },
  { "disable()", "turn the job off" },
  { "set_retention(n)", "restore points to keep, 1 to 255" },
  { "set_repository(name_or_id)", "the target repository" },
  { "set_encryption(hint_or_id | false)", "the encryption password, or off" },
  { "set_schedule(text_or_schedule)", "e.g. \"weekdays at 22:00\"" },
  { "set_notifications { SNMPEnabled =, SMTPSettings = }", "SNMP and email" },
  { "running()", "the running session, or false" },
  { "start { force = }", "start a backup: a session (help(s))" },
}
local SESSION_HELP = {
  { "wait { timeout =, interval =, on_progress = }", "follow it to its end (shows progress)" },
  { "refresh()", "read it again" },
  { "finished()", "true once it stopped" },
  { "outcome()", "Success, Warning, Failed (nil while it runs)" },
  { "logs()", "its log records" },
  { "stop()", "ask the server to stop it" },
}
local VBR_HELP = {
  { "connect { url =, username =, password_file =, ... }", "another client" },
  { "schedule", "schedules in words: help(vbr.schedule)" },
  { "json", "JSON with null and [] kept: encode, decode, encode_pretty" },
  { "pretty", "pretty.format(value): the trees printed here" },
}
local SCHEDULE_HELP = {
  { "parse(text)", "a schedule from words (\"mon-fri at 22:00\")" },
  { "describe(schedule)", "a schedule in words" },
  { "next_runs(schedule, from, n)", "the next n start times" },
  { "templates()", "the named templates" },
  { "template(name)", "one of them" },
  { "validate(schedule, revision)", "every problem of a schedule" },
  { "render(schedule, revision)", "the API's schedule member" },
  { "from_api(member)", "a schedule from the API's member" },
}

-- Compiles a chunk: an expression first, so that `cb:get()` prints its value.
local function compile(source, env)
  local chunk = load("return " .. source, "=repl", "t", env)
  if chunk then return chunk end
  return load(source, "=repl", "t", env)
end

-- Lua 5.1's load takes no environment.
if not pcall(load, "return 1", "=probe", "t", {}) or _VERSION == "Lua 5.1" then
  local loadstring, setfenv = loadstring, setfenv        -- luacheck: globals loadstring setfenv
  compile = function(source, env)
    local chunk = loadstring("return " .. source, "=repl")
    local why
    if not chunk then chunk, why = loadstring(source, "=repl") end
    if not chunk then return nil, why end
    return setfenv(chunk, env)
  end
end

-- Every value, nils included (table.pack is not in Lua 5.1).
local function pack(...)
  return { n = select("#", ...), ... }
end

local function show(value)
  if type(value) == "table" or value == json.null then return pretty.format(value) end
  return pretty.escape(value)
end

-- The methods an object answers to: the functions of its metatable's
-- __index, and those a class loads on first use (the names its own
-- metatable's __later holds, as vbr.configbackup's does).
local function methods_of(value)
  local names, seen = {}, {}
  local function add(key)
    if type(key) == "string" and not key:find("^_") and not seen[key] then
      seen[key] = true
      names[#names + 1] = key
    end
  end
  local mt = getmetatable(value)
  local index = type(mt) == "table" and rawget(mt, "__index") or nil
  local depth = 0
  while type(index) == "table" and depth < 5 do
    for key, field in pairs(index) do
      if type(field) == "function" then add(key) end
    end
    local next_mt = getmetatable(index)
    local later = type(next_mt) == "table" and rawget(next_mt, "__later") or nil
    if type(later) == "table" then
      for key in pairs(later) do add(key) end
    end
    index = type(next_mt) == "table" and rawget(next_mt, "__index") or nil
    depth = depth + 1
  end
  sort(names)
  return names
end

--- The text of `help(x)`.
-- @param value anything in scope (nil: the overview)
-- @tparam table kinds `client`, `configbackup`, `session`, `vbr`, `schedule`
--   (one object or module of each kind, to recognise them)
function repl.help_text(value, kinds)
  local function listing(title, rows, call)
    local lines = { title }
    for _, row in ipairs(rows) do
      lines[#lines + 1] = format("  %s%-46s %s", call, row[1], row[2])
    end
    return concat(lines, "\n")
  end
  if value == nil then return INTRO end
  local mt = getmetatable(value)
  if kinds.client and mt and mt == getmetatable(kinds.client) then
    return listing("client: one logged-in VBR server (client.configbackup is cb: help(cb))",
      CLIENT_HELP, "client:")
  elseif kinds.configbackup and mt and mt == getmetatable(kinds.configbackup) then
    return listing("cb: the configuration backup of the server (every call returns its "
      .. "result, or nil, err)", CONFIGBACKUP_HELP, "cb:")
  elseif kinds.session_mt and mt == kinds.session_mt then
    return listing(format("a session: %s, %s (id %s)", pretty.escape(value.name),
      pretty.escape(value.state), pretty.escape(value.id)), SESSION_HELP, "s:")
  elseif value == kinds.vbr then
    return listing("vbr: the module", VBR_HELP, "vbr.")
  elseif value == kinds.schedule then
    return listing("vbr.schedule: schedules in words", SCHEDULE_HELP, "vbr.schedule.")
  elseif type(value) == "function" then
    return "a function: call it with (), methods with obj:name()"
  elseif type(value) == "table" then
    local methods = methods_of(value)
    local fields = {}
    for key in pairs(value) do fields[#fields + 1] = tostring(key) end
    sort(fields)
    local lines = {}
    if #methods > 0 then lines[#lines + 1] = "methods: :" .. concat(methods, "(), :") .. "()" end
    lines[#lines + 1] = "fields: " .. (#fields > 0 and pretty.escape(concat(fields, ", "))
      or "none")
    return concat(lines, "\n")
  end
  return format("a %s: %s", type(value), show(value))
end

-- "cb.get()" where cb is an object and get one of its methods: what to type.
local function dot_for_colon(source, scope)
  for name, method in source:gmatch("([%a_][%w_]*)%.([%a_][%w_]*)%s*[%(\"'{]") do
    local object = scope[name]
    if type(object) == "table" and getmetatable(object) ~= nil then
      for _, known in ipairs(methods_of(object)) do
        if known == method then
          return format("%s.%s(...) calls a method without its object: type %s:%s(...)",
            name, method, name, method)
        end
      end
    end
  end
  return nil
end

-- Tab completion: names in scope, fields after '.', methods after ':'.
local KEYWORDS = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
                   "if", "in", "local", "nil", "not", "or", "repeat", "return", "then",
                   "true", "until", "while" }

function repl.complete(word, scope)
  local head, separator, partial = word:match("^(.*)([%.:])([%w_]*)$")
  local candidates = {}
  if head then
    local value = scope
    for part in head:gmatch("[^%.:]+") do
      if type(value) ~= "table" then return {} end
      local ok, field = pcall(function() return value[part] end)
      if not ok then return {} end
      value = field
    end
    if type(value) ~= "table" then return {} end
    if separator == ":" then
      candidates = methods_of(value)
    else
      for key, field in pairs(value) do
        if type(key) == "string" and key:find("^[%a_][%w_]*$") and field ~= nil then
          candidates[#candidates + 1] = key
        end
      end
    end
    head = head .. separator
  else
    head, partial = "", word
    local seen = {}
    for _, source in ipairs { scope, _G } do
      for key in pairs(source) do
        if type(key) == "string" and not seen[key] then
          seen[key] = true
          candidates[#candidates + 1] = key
        end
      end
    end
    for _, keyword in ipairs(KEYWORDS) do candidates[#candidates + 1] = keyword end
  end
  local matches = {}
  for _, candidate in ipairs(candidates) do
    if candidate:sub(1, #partial) == partial then matches[#matches + 1] = head .. candidate end
  end
  sort(matches)
  return matches
end

-- Where the history is kept.
local function history_path(getenv)
  local state = getenv("XDG_STATE_HOME")
  if not state or state == "" then
    local home = getenv("HOME")
    if not home or home == "" then return nil end
    state = home .. "/.local/state"
  end
  return state .. "/vbr/history"
end

-- A line reader with lua-readline: editing, history, completion; Ctrl-C at
-- the prompt cancels the line. The prompt waits in interrupt.wait_input and
-- readline reads a key with SIGINT held (interrupt.hold), so every Ctrl-C is
-- ours, never readline's (its handler would keep one until the next key).
-- A cancelled line is ended with interrupt.readline_cancel before
-- lua-readline's handler_remove, which alone would restore the terminal
-- through a stream it has just closed (heap corruption, in lua-readline
-- 3.2); when that call finds no readline, the handler stays installed and
-- the next prompt installs it anew (lua-readline then leaks its stream on
-- the terminal, but corrupts nothing).
local function readline_reader(rl, interrupt, scope, stdout, history)
  if history then
    os.execute("mkdir -p '" .. history:gsub("/[^/]*$", ""):gsub("'", "'\\''") .. "'")
    rl.set_options { histfile = history, keeplines = 1000, completion = true }
  else
    rl.set_options { histfile = "", completion = true }
  end
  rl.set_readline_name("vbr")
  rl.set_complete_function(function(text, from, to)
    return repl.complete(text:sub(from, to), scope)
  end)
  if rl.set_completion_append_character then rl.set_completion_append_character("") end
  local reader = {}
  function reader.read(prompt)
    local line, done = nil, false
    rl.handler_install(prompt, function(text)
      line, done = text, true
      rl.handler_remove()
    end)
    while not done do
      if not interrupt.wait_input(0) then
        interrupt.pending()
        local function echo()
          stdout:write("^C\n")
          if stdout.flush then stdout:flush() end
        end
        if interrupt.readline_cancel(echo) then
          rl.handler_remove()
        else
          echo()
        end
        return nil, "cancelled"
      end
      interrupt.hold(rl.read_char)
    end
    if line and line:find("%S") then rl.add_history(line) end
    return line
  end
  function reader.close() if history then rl.save_history() end end
  return reader
end

-- Plain lines from a stream; on a terminal, Ctrl-C cancels the line.
local function plain_reader(stdin, stdout, interactive, interrupt)
  local reader = {}
  function reader.read(prompt)
    if interactive then
      stdout:write(prompt)
      if stdout.flush then stdout:flush() end
    end
    local line = stdin:read("*l")
    if line == nil and interrupt and interrupt.pending() then
      stdout:write("^C\n")
      return nil, "cancelled"
    end
    return line
  end
  function reader.close() end
  return reader
end

--- Runs the prompt until end of input or `exit()`.
-- @tparam table options `client`, and optionally `vbr` (default: `require
--   "vbr"`), `stdin`, `stdout`, `stderr` (default: the process's),
--   `interactive` (a person at a terminal: banner, prompts, line editing;
--   default true), `getenv` (for the history file), `readline` (`false`: plain
--   lines even on a terminal), `stderr_is_tty` (progress bar or lines)
-- @treturn integer the exit code: 0, or for a script that failed the exit
--   code of its error (1 for a Lua error)
function repl.run(options)
  local stdin = options.stdin or io.stdin
  local stdout = options.stdout or io.stdout
  local stderr = options.stderr or io.stderr
  local interactive = options.interactive ~= false
  local client = options.client
  local vbr = options.vbr or require "vbr"
  local exit_code_of = require("vbr.env").exit_code
  local ok_core, core = pcall(require, "vbr.core")
  local interrupt = ok_core and core.interrupt or nil
  local leaving, exit_code = false, 0

  -- print(...): its values may be server text, escaped as every line is
  local function out(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = pretty.escape((select(i, ...))) end
    stdout:write(concat(parts, "\t"), "\n")
  end
  local session_lib = require "vbr.session"
  local kinds = {
    client = client, configbackup = client and client.configbackup, vbr = vbr,
    schedule = vbr.schedule, session_mt = session_lib.class,
  }
  local scope = setmetatable({
    client = client,
    cb = client and client.configbackup,
    vbr = vbr,
    print = out,
    help = function(...)
      stdout:write(repl.help_text(select("#", ...) > 0 and (...) or nil, kinds), "\n")
    end,
    exit = function(code)
      leaving = true
      exit_code = type(code) == "number" and code or 0
    end,
  }, { __index = _G })
  scope.quit = scope.exit

  -- s:wait() without on_progress draws the progress here, as the command does.
  local Session = kinds.session_mt.__index
  local plain_wait = Session.wait
  Session.wait = function(self, wait_options)
    if wait_options and wait_options.on_progress then return plain_wait(self, wait_options) end
    local bar = progress.new(stderr, options.stderr_is_tty == true)
    local with = { on_progress = function(s) bar:update(s) end }
    for key, value in pairs(wait_options or {}) do with[key] = value end
    local results = pack(pcall(plain_wait, self, with))
    bar:finish()
    if not results[1] then error(results[2], 0) end
    return select(2, (table.unpack or unpack)(results, 1, results.n))   -- luacheck: ignore unpack
  end

  local rl
  if interactive and options.readline ~= false and interrupt then
    local found, module = pcall(require, "readline")
    if found then rl = module end
  end
  local reader = rl and readline_reader(rl, interrupt, scope, stdout,
      history_path(options.getenv or os.getenv))
    or plain_reader(stdin, stdout, interactive, interrupt)

  local function report(kind, message, source)
    stderr:write(kind, ": ", pretty.escape((tostring(message):gsub("^repl:%d+: ", ""))), "\n")
    local hint = source and dot_for_colon(source, scope)
    if hint then stderr:write("hint: ", hint, "\n") end
  end

  if interactive then
    stdout:write("vbr ", tostring(vbr._VERSION), ": ", tostring(client), "\n",
      "help() lists what is here; exit() or Ctrl-D leaves.\n")
  end
  local mode_before = interrupt and interrupt.mode("note")
  local pending = nil                      -- an unfinished statement
  while not leaving do
    local line, cancelled = reader.read(pending and ">> " or "vbr> ")
    if line == nil and cancelled then
      pending = nil
    elseif line == nil then
      if interactive then stdout:write("\n") end
      break
    else
      local source = pending and (pending .. "\n" .. line) or line
      if source:match("^%s*$") then
        pending = nil
      elseif source:match("^%s*exit%s*$") or source:match("^%s*quit%s*$") then
        break
      else
        local chunk, why = compile(source, scope)
        if not chunk and tostring(why):find("<eof>", 1, true) then
          pending = source                 -- wait for the rest of the statement
        else
          pending = nil
          if not chunk then
            report("syntax error", why)
            exit_code = 1
          else
            -- Ctrl-C raises in the chunk, and only there (interrupt.run).
            local results = pack((interrupt and interrupt.run or xpcall)(chunk, function(message)
              if interrupt and message == interrupt.ERROR then return message end
              return tostring(message)
            end))
            if interrupt then interrupt.pending() end
            if results[1] then
              for i = 2, results.n do stdout:write(show(results[i]), "\n") end
              local err = results[3]
              if results.n >= 3 and results[2] == nil and type(err) == "table" and err.kind then
                exit_code = exit_code_of(err)
              end
            elseif interrupt and results[2] == interrupt.ERROR then
              stderr:write("interrupted (Ctrl-C); a backup that was started goes on on the "
                .. "server\n")
              exit_code = 130
            else
              report("error", results[2], source)
              exit_code = 1
            end
          end
        end
      end
    end
    if interactive and not leaving then
      exit_code = 0                        -- a person reads the errors; the exit is clean
    elseif exit_code ~= 0 and not leaving then
      stderr:write("vbr repl: stopped at the first failure (input is not a terminal)\n")
      break
    end
  end
  if interrupt then interrupt.mode(mode_before) end
  Session.wait = plain_wait
  reader.close()
  return exit_code
end

return repl
