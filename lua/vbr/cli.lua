--- The `vbr` command: the configuration backup of a VBR server from a shell.
--
--     vbr configbackup show
--     vbr configbackup set --schedule "weekdays at 22:00" --retention 14 --dry-run
--     vbr configbackup run --wait
--     vbr schedule next "monthly on the last friday at 23:00" -n 3
--
-- `cli.main(argv, env)` runs one command and returns its exit code; it never
-- calls `os.exit` and writes only to the streams in `env`, so specs can run
-- it in-process. The exit codes are `vbr.env.EXIT` (listed in `vbr --help`).
--
-- Each command module (`vbr.cli.configbackup`, ...) has `define(add)`,
-- which declares its commands with `add(parent, spec, description, handler)`
-- (argparse commands, so the help, the completions and the man page come
-- from one source); `MODULES` below lists them.
-- @internal vbr.cli

local argparse = require "argparse"
local vbr_env = require "vbr.env"
local json = require "vbr.json"
local pretty = require "vbr.pretty"

local type, tostring, ipairs, pairs, setmetatable, xpcall, pcall, require =
      type, tostring, ipairs, pairs, setmetatable, xpcall, pcall, require
local format, floor, concat = string.format, math.floor, table.concat

local EXIT = vbr_env.EXIT

local cli = {}

-- The command modules, in the order of `vbr --help`.
local MODULES = { "vbr.cli.configbackup", "vbr.cli.sessions", "vbr.cli.schedule",
                  "vbr.cli.repl", "vbr.cli.docs", "vbr.cli.fleet" }

local function exit_code_lines()
  local lines = {}
  for i, row in ipairs(vbr_env.EXIT_MEANINGS) do lines[i] = format("  %-3d  %s", row[1], row[2]) end
  return concat(lines, "\n")
end

local EPILOG = [[
Connection (a flag wins over its variable, a variable over the profile):
  VBR_URL            https://vbr.example.com:9419
  VBR_USERNAME       a Backup Administrator (local Windows accounts: .\user)
  VBR_PASSWORD_FILE  a file holding the password (or VBR_PASSWORD: the password)
  VBR_API_VERSION    e.g. 1.3-rev1, or auto
  VBR_CA_FILE        the server's CA or self-signed certificate (PEM)
  VBR_INSECURE=1     do not verify the server's certificate (tests only)
  VBR_PROFILE        a server of the inventory: its url, user, secret source, CA...
  VBR_INVENTORY      the inventory (default ~/.config/vbr/inventory, else
                     /etc/vbr/inventory)
A password is never taken from the command line. On a terminal, vbr asks for
it when no other source gives one; --password-file - reads it from stdin.

Exit codes:
]] .. exit_code_lines()

-- Default streams and probes: the real process.
local function default_env()
  return {
    stdout = io.stdout, stderr = io.stderr, stdin = io.stdin,
    getenv = os.getenv,
    isatty = function(name)
      local fd = ({ stdin = 0, stdout = 1, stderr = 2 })[name]
      if not fd then return false end
      local ok, _, code = os.execute("test -t " .. fd)
      if type(ok) == "number" then return ok == 0 end      -- Lua 5.1
      return ok == true and (code == nil or code == 0)
    end,
    -- Turns the terminal's echo off (false) or on again (true).
    echo = function(on) os.execute(on and "stty echo 2>/dev/null" or "stty -echo 2>/dev/null") end,
  }
end

-- Ctrl-C (vbr.core's core.interrupt), when the core is built.
local function interrupt_control()
  local ok, core = pcall(require, "vbr.core")
  return ok and type(core.interrupt) == "table" and core.interrupt or nil
end

-- Context: the streams, the parsed arguments, the connection --------------------

local Context = {}
Context.__index = Context

-- Every line the command writes may hold server text: each goes through
-- vbr.printable (pretty.escape), which scrubs the password and the tokens
-- of every open client, whoever built the line, and escapes what the
-- composing code did not (it escapes server text where it puts it in, so
-- the line feeds left are the command's own).
local function write_lines(stream, prefix, text)
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    stream:write(prefix, pretty.escape(line), "\n")
  end
end

--- One line of the command's result on stdout.
function Context:say(line)
  write_lines(self.stdout, "", line or "")
end

--- A line that tells what happens (started, saved, ...): on stdout, on stderr
-- with --json (stdout holds the JSON document alone), not at all with --quiet.
function Context:info(line)
  if self.quiet then return end
  write_lines(self.json and self.stderr or self.stdout, "", line or "")
end

--- One line on stderr.
function Context:tell(line)
  write_lines(self.stderr, "", line)
end

--- A `--verbose` line on stderr.
function Context:trace(line)
  if self.verbose then write_lines(self.stderr, "vbr: ", line) end
end

function Context:isatty(name)
  return self.env.isatty ~= nil and self.env.isatty(name) == true
end

--- Writes one JSON document on stdout; returns `code` (or 0).
function Context:write_json(value, code)
  local text, why = json.encode_pretty(value)
  if not text then
    self:tell("vbr: cannot write JSON: " .. tostring(why))
    return EXIT.refused
  end
  write_lines(self.stdout, "", (text:gsub("\n$", "")))
  return code or EXIT.ok
end

--- Server text made safe for the terminal (see `vbr.pretty.escape`).
Context.safe = function(_, value) return pretty.escape(value) end

-- What to try when an error of this kind stops the command.
local function hint_of(err)
  if err.kind == "auth" then
    return "check the user name and the password (--username, --password-file, --profile); "
      .. "accounts with MFA cannot use the REST API"
  end
  if err.kind == "tls" then
    local message = tostring(err.message):lower()
    if message:find("host ?name") or message:find("subject") or message:find("alternative") then
      return "the certificate is not for this host name: give the name it holds in --url "
        .. "(or VBR_URL)"
    end
    return "give the server's CA or its self-signed certificate with --ca-file (or "
      .. "VBR_CA_FILE), or pin its key in a profile (pinned_public_key)"
  end
  return nil
end

--- Reports an error on stderr; returns the exit code that goes with it.
-- @param err an error of the library (`kind`, `message`, `problems`), or text
function Context:fail(err)
  if type(err) ~= "table" then
    self:tell("vbr: " .. tostring(err))
    return EXIT.refused
  end
  local problems = err.problems
  if err.kind == "invalid" and type(problems) == "table" and #problems > 0 then
    self:tell("vbr: refused before sending anything:")
    for _, problem in ipairs(problems) do
      self:tell("  " .. tostring(problem.path) .. ": " .. tostring(problem.message))
    end
  else
    self:tell("vbr: " .. (tostring(err):gsub("^vbr: ", "")))   -- the core's text has it
  end
  local hint = hint_of(err)
  if hint then self:tell("vbr: hint: " .. hint) end
  return vbr_env.exit_code(err)
end

--- A usage error: the message and a pointer to the help; exit code 2.
function Context:usage_error(message)
  self:tell("vbr: " .. message)
  self:tell("Run '" .. (self.command_path or "vbr") .. " --help' for more.")
  return EXIT.usage
end

--- Asks for a password on the terminal, without echo.
-- @return the password, or `nil, why` when there is no terminal to ask on
function Context:ask_password(question)
  if not self:isatty("stdin") then
    return nil, "no password: pass --password-file (- reads standard input) or --profile, "
      .. "or set VBR_PASSWORD_FILE (or VBR_PASSWORD); vbr asks only on a terminal"
  end
  -- Ctrl-C is only noted while the echo is off (nothing may skip turning it
  -- back on), and raised after.
  local interrupt = interrupt_control()
  local mode_before = interrupt and interrupt.mode("note")
  self.stderr:write(question)
  if self.stderr.flush then self.stderr:flush() end
  local echo = self.env.echo
  if echo then echo(false) end
  local ok, line = pcall(self.env.stdin.read, self.env.stdin, "*l")
  if echo then echo(true) end
  self.stderr:write("\n")
  if interrupt then interrupt.mode(mode_before) end
  if not ok then error(line, 0) end
  if line == nil and interrupt and interrupt.pending() then error(interrupt.ERROR, 0) end
  if line == nil or line == "" then return nil, "no password was given" end
  return line
end

-- Makes `--verbose` show every request of the client: method, path, status
-- and time. The core has no hook for this, so its handle is wrapped.
local function trace_requests(ctx, client)
  local handle = client.core
  local clock = type(client.clock) == "function" and client.clock or nil
  local proxy = setmetatable({}, {
    __index = function(_, name)
      local value = handle[name]
      if type(value) ~= "function" then return value end
      return function(_, ...) return value(handle, ...) end
    end,
    __tostring = function() return tostring(handle) end,
  })
  local function traced(what, call)
    return function(_, method, path, options)
      local started = clock and clock()
      local response, err = call(method, path, options)
      local outcome
      if response then
        -- c:call answers with the decoded value and the status
        outcome = type(err) == "number" and tostring(err)
          or type(response) == "table" and tostring(response.status or "ok") or "ok"
      elseif type(err) == "table" and err.status and err.status ~= 0 then
        outcome = tostring(err.status) .. " (" .. tostring(err.kind) .. ")"
      else
        outcome = "failed (" .. tostring(type(err) == "table" and err.kind or err) .. ")"
      end
      ctx:trace(format("%s -> %s", what(method, path), outcome)
        .. (started and format(" (%d ms)", floor((clock() - started) * 1000 + 0.5)) or ""))
      return response, err
    end
  end
  proxy.request = traced(function(method, path) return method .. " " .. path end,
    function(method, path, options) return handle:request(method, path, options) end)
  proxy.call = traced(function(method, path) return method .. " " .. path end,
    function(method, path, options) return handle:call(method, path, options) end)
  proxy.login = traced(function() return "POST /api/oauth2/token (log in)" end,
    function() return handle:login() end)
  proxy.logout = traced(function() return "POST /api/oauth2/logout" end,
    function() return handle:logout() end)
  client.core = proxy
end

--- The client, connected on first use with the flags, the environment and
-- the profile.
-- @return the client, or `nil` and the exit code (the error is reported)
function Context:connect()
  if self.client then return self.client end
  local args = self.args
  local flags = {
    url = args.url, username = args.username, password_file = args.password_file,
    api_version = args.api_version, ca_file = args.ca_file, insecure = args.insecure or nil,
    profile = args.profile, inventory = args.inventory,
  }
  local secret_error
  local client, sources, settings = vbr_env.connect(self.env.getenv, flags, {
    stdin = self.env.stdin,
    prompt = function(question) return self:ask_password(question) end,
    on_secret_error = function(why) secret_error = why end,
  })
  if not client then
    local err = sources
    if secret_error then err = secret_error end       -- the core only says "raised an error"
    local interrupt = interrupt_control()
    if interrupt and interrupt.pending() then error(interrupt.ERROR, 0) end
    if type(err) == "table" and err.kind == "usage" then
      return nil, self:usage_error(err.message)
    end
    if type(err) ~= "table" then
      self:tell("vbr: " .. tostring(err))
      return nil, EXIT.usage
    end
    return nil, self:fail(err)
  end
  self.client = client
  if self.verbose then
    self:trace(format("logged in to %s as %s (API revision %s; the server from %s)",
      pretty.escape(settings.url), pretty.escape(settings.username),
      tostring(client.core:api_version()), tostring(sources.url)))
    trace_requests(self, client)
  end
  return client
end

--- Logs out and closes the connection, if one was made.
function Context:close()
  local client = self.client
  if not client then return end
  self.client = nil
  client:logout()          -- a failed logout changes nothing for the user
  client:close()
end

-- The command line ---------------------------------------------------------------

-- Builds the parser. `state.help` is set to the command whose -h/--help was
-- given; `state.paths` maps each command to its words ("vbr configbackup set");
-- `state.handlers` each command to its function.
local function build_parser(state)
  local function with_help(command, words)
    state.paths[command] = words
    command:add_help(false)
    command:flag("-h --help", "Show this help and exit."):action(function()
      state.help = state.help or command
    end)
    return command
  end
  state.children = {}
  state.handlers = {}
  local function add(parent, spec, description, handler)
    local command = parent:command(spec, description)
    local name = spec:match("^(%S+)")
    state.children[parent] = state.children[parent] or {}
    state.children[parent][name] = command
    for alias in spec:gmatch("%s(%S+)") do state.children[parent][alias] = command end
    state.handlers[command] = handler
    local words = state.paths[parent] .. " " .. name
    command:target(words)          -- a key no option has: result["vbr configbackup set"]
    return with_help(command, words)
  end

  local parser = argparse("vbr", "Manage the configuration backup of Veeam Backup & "
    .. "Replication servers through their REST API.")
    :epilog(EPILOG)
    :require_command(false)               -- so that a bare --version works
    :help_max_width(100)
  state.parser = parser
  with_help(parser, "vbr")
  parser:flag("--version", "Show the version and exit.")
  parser:group("Connection",
    parser:option("--url", "Server URL, https://host[:port] (default port 9419; env VBR_URL)."),
    parser:option("-u --username", "User name (env VBR_USERNAME)."):argname("<name>"),
    parser:option("--password-file", "File holding the password; - reads it from standard "
      .. "input (env VBR_PASSWORD_FILE; or set VBR_PASSWORD)."):argname("<file>"),
    parser:option("--api-version", "API revision such as 1.3-rev1, or auto "
      .. "(env VBR_API_VERSION)."):argname("<revision>"),
    parser:option("--ca-file", "CA certificate (PEM) to verify the server (env VBR_CA_FILE).")
      :argname("<file>"),
    parser:flag("--insecure", "Do not verify the server's certificate (env VBR_INSECURE=1)."),
    parser:option("--profile", "Take the connection settings of this server of the "
      .. "inventory (env VBR_PROFILE).")
      :argname("<name>"),
    parser:option("--inventory", "The inventory file (env VBR_INVENTORY; default "
      .. "~/.config/vbr/inventory, else /etc/vbr/inventory).")
      :argname("<file>"))
  parser:group("Output",
    parser:flag("--json", "Print the result as one JSON document on stdout, and nothing "
      .. "else there."),
    parser:flag("-q --quiet", "Print only the result and errors: no progress, no notes."),
    parser:flag("-v --verbose", "Show each request's method, path and status on stderr "
      .. "(never a header, a password or a token)."))

  for _, name in ipairs(MODULES) do require(name).define(add, parser) end
  return parser
end

-- The command path the words of argv reach ("vbr configbackup set"), for the
-- usage shown with a parse error.
local function reached_command(state, parser, argv)
  local current = parser
  for _, word in ipairs(argv) do
    local children = state.children[current]
    if not children then break end
    if children[word] then current = children[word] end
  end
  return current
end

local function version_text()
  local ok, vbr = pcall(require, "vbr")
  return "vbr " .. (ok and tostring(vbr._VERSION) or "(the core vbr.core is not built)")
end

--- The parser of the `vbr` command (for the completions and the man page).
-- @treturn table the argparse parser, and its state (`paths`: each command's words)
function cli.parser()
  local state = { paths = {} }
  return build_parser(state), state
end

-- The command that the parsed arguments name, deepest first.
local function chosen_handler(state, parser, result)
  local current = parser
  while true do
    local next_command
    for _, command in ipairs(current._commands or {}) do
      if result[state.paths[command]] then next_command = command end
    end
    if not next_command then break end
    current = next_command
  end
  return state.handlers[current], state.paths[current], current
end

local function run(ctx, argv)
  local state = { paths = {} }
  local parser = build_parser(state)
  local ok, result = parser:pparse(argv)
  if state.help then
    ctx.stdout:write(state.help:get_help(), "\n")
    return EXIT.ok
  end
  if not ok then
    local command = reached_command(state, parser, argv)
    ctx:tell("vbr: " .. result)
    ctx:tell(command:get_usage())
    ctx:tell("Run '" .. state.paths[command] .. " --help' for more.")
    return EXIT.usage
  end
  ctx.args = result
  ctx.verbose, ctx.quiet, ctx.json = result.verbose, result.quiet, result.json
  ctx.parser = parser
  if result.version then
    if ctx.json then return ctx:write_json { version = version_text():match("^vbr (.*)$") } end
    ctx:say(version_text())
    return EXIT.ok
  end
  local handler, words, command = chosen_handler(state, parser, result)
  if not handler then
    ctx:tell("vbr: " .. (command == parser and "a command is required"
      or ("'" .. words .. "' needs a command")))
    ctx:tell(command:get_usage())
    ctx:tell("Run '" .. words .. " --help' for more.")
    return EXIT.usage
  end
  ctx.command_path = words
  return handler(ctx, result)
end

--- Runs the `vbr` command.
-- @tparam {string,...} argv the arguments, without the program name
-- @tparam[opt] table env `stdout`, `stderr`, `stdin` (file-like), `getenv`
--   (like `os.getenv`), `isatty` (`isatty("stderr")` -> boolean), `echo`
--   (`echo(false)` turns the terminal's echo off); any left out is the
--   process's own
-- @treturn integer the exit code
function cli.main(argv, env)
  local defaults = default_env()
  env = env or {}
  for key, value in pairs(defaults) do
    if env[key] == nil then env[key] = value end
  end
  -- Lines in the order they happen when stdout and stderr share a file.
  if env.stdout == io.stdout then io.stdout:setvbuf("line") end
  local ctx = setmetatable({ env = env, stdout = env.stdout, stderr = env.stderr, args = {} },
    Context)
  -- Ctrl-C raises interrupt.ERROR in the command (interrupt.run: and only
  -- there); it is only noted while the connection is closed.
  local interrupt = interrupt_control()
  local mode_before = interrupt and interrupt.mode("note")
  -- Lua 5.1's xpcall passes no arguments: a closure does.
  local ok, code = (interrupt and interrupt.run or xpcall)(function()
    return run(ctx, argv or {})
  end, function(message)
    if interrupt and message == interrupt.ERROR then return message end
    return ctx.verbose and debug.traceback(tostring(message), 2) or tostring(message)
  end)
  if not ok and interrupt and code == interrupt.ERROR then
    ctx:tell("vbr: interrupted")
    code = EXIT.interrupted
  elseif not ok then
    ctx:tell("vbr: internal error: " .. code)
    code = EXIT.refused
  end
  local closed, why = pcall(ctx.close, ctx)
  if not closed then ctx:trace("closing the connection failed: " .. tostring(why)) end
  if ctx.stdout.flush then ctx.stdout:flush() end
  if interrupt then
    if interrupt.pending() and code == EXIT.ok then code = EXIT.interrupted end
    interrupt.mode(mode_before)
  end
  return code
end

--- Connects from the environment as the command does (for the examples).
-- @function connect
-- @see vbr.env.connect
cli.connect = vbr_env.connect

--- The hint shown after an error of the library, or nil (for the specs).
cli.hint = hint_of

--- Exit codes by name (see `vbr.env.EXIT`).
cli.EXIT = EXIT

return cli
