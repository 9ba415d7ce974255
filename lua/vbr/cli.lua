--- The `vbr` command: the configuration backup of a VBR server from a shell.
--
--     vbr configbackup show
--     vbr configbackup set --schedule "weekdays at 22:00" --retention 14 --dry-run
--     vbr configbackup run --wait
--     vbr schedule next "monthly on the last friday at 23:00" -n 3
--
-- `cli.main(argv, env)` runs one command and returns its exit code; it never
-- calls `os.exit` and writes only to the streams in `env`, so specs can run
-- it in-process.
--
-- Exit codes (also in `vbr --help`, and `vbr.env.EXIT`):
--
-- * 0: done
-- * 1: the server or API refused, or the backup session failed
-- * 2: usage: a bad command line, or missing connection settings
-- * 3: the login was refused
-- * 4: TLS, network or timeout
-- * 5: input refused locally, before anything was sent
-- @module vbr.cli

local argparse = require "argparse"
local vbr_env = require "vbr.env"

local type, tostring, tonumber, ipairs, pairs, setmetatable, xpcall =
      type, tostring, tonumber, ipairs, pairs, setmetatable, xpcall
local format, floor = string.format, math.floor

local EXIT = vbr_env.EXIT

local cli = {}

local EPILOG = [[
Connection (flags win over the environment):
  VBR_URL            https://vbr.example.com:9419
  VBR_USERNAME       a Backup Administrator (local Windows accounts: .\user)
  VBR_PASSWORD_FILE  a file holding the password (or VBR_PASSWORD: the password)
  VBR_API_VERSION    e.g. 1.3-rev1, or auto
  VBR_CA_FILE        the server's CA or self-signed certificate (PEM)
  VBR_INSECURE=1     do not verify the server's certificate (tests only)
A password is never taken from the command line.

Exit codes:
  0  done
  1  the server or API refused, or the backup session failed
  2  usage: a bad command line, or missing connection settings
  3  the login was refused
  4  TLS, network or timeout
  5  input refused locally, before anything was sent]]

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
  }
end

-- Context: the streams, the parsed arguments, the connection --------------------

local Context = {}
Context.__index = Context

--- One line on stdout.
function Context:say(line)
  self.stdout:write(line or "", "\n")
end

--- One line on stderr.
function Context:tell(line)
  self.stderr:write(line, "\n")
end

--- A `--verbose` line on stderr.
function Context:trace(line)
  if self.verbose then self.stderr:write("vbr: ", line, "\n") end
end

function Context:isatty(name)
  return self.env.isatty ~= nil and self.env.isatty(name) == true
end

-- What to try when an error of this kind stops the command.
local HINTS = {
  auth = "check the user name and the password (VBR_USERNAME, VBR_PASSWORD_FILE); "
    .. "accounts with MFA cannot use the REST API",
  tls = "give the server's certificate with --ca-file or VBR_CA_FILE",
}

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
  if HINTS[err.kind] then self:tell("vbr: hint: " .. HINTS[err.kind]) end
  return vbr_env.exit_code(err)
end

--- A usage error: the message and a pointer to the help; exit code 2.
function Context:usage_error(message)
  self:tell("vbr: " .. message)
  self:tell("Run '" .. (self.command_path or "vbr") .. " --help' for more.")
  return EXIT.usage
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
        outcome = type(response) == "table" and tostring(response.status or "ok") or "ok"
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
  proxy.login = traced(function() return "POST /api/oauth2/token (log in)" end,
    function() return handle:login() end)
  proxy.logout = traced(function() return "POST /api/oauth2/logout" end,
    function() return handle:logout() end)
  client.core = proxy
end

--- The client, connected on first use with the flags and the environment.
-- @return the client, or `nil` and the exit code (the error is reported)
function Context:connect()
  if self.client then return self.client end
  local args = self.args
  local flags = {
    url = args.url, username = args.username, password_file = args.password_file,
    api_version = args.api_version, ca_file = args.ca_file, insecure = args.insecure or nil,
  }
  local client, err = vbr_env.connect(self.env.getenv, flags)
  if not client then return nil, self:fail(err) end
  self.client = client
  if self.verbose then
    local options = vbr_env.options(self.env.getenv, flags) or {}
    self:trace(format("logged in to %s as %s (API revision %s)",
      tostring(options.url):gsub("//[^/@]*@", "//"), tostring(options.username),
      tostring(client.core:api_version())))
    options.password = nil
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

local function whole_number(what)
  return function(text)
    local number = tonumber(text)
    if not number or number % 1 ~= 0 then
      return nil, format("%s must be a whole number, not '%s'", what, text)
    end
    return number
  end
end

local function integer_between(low, high, what)
  local whole = whole_number(what)
  return function(text)
    local number, why = whole(text)
    if not number then return nil, why end
    if number < low or number > high then
      return nil, format("%s must be from %d to %d, not %s", what, low, high, text)
    end
    return number
  end
end

local function positive_number(what)
  return function(text)
    local number = tonumber(text)
    if not number or number <= 0 then
      return nil, format("%s must be a number of seconds above 0, not '%s'", what, text)
    end
    return number
  end
end

local function address_list(text)
  local list = {}
  for item in (text .. ","):gmatch("([^,]*),") do
    item = item:match("^%s*(.-)%s*$")
    if item == "" then return nil, "--email-to: an empty address in '" .. text .. "'" end
    list[#list + 1] = item
  end
  return list
end

local function session_id(text)
  if not text:find("^%x+%-[%x%-]+$") then
    return nil, "a session id is a UUID such as 2f0e8a4c-0a6c-4b1e-9c4e-3d2a1b0c9f8e, not '"
      .. text .. "'"
  end
  return text
end

-- Builds the parser. `state.help` is set to the command whose -h/--help was
-- given; `state.paths` maps each command to its words ("vbr configbackup set").
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
  local function sub(parent, spec, description)
    local command = parent:command(spec, description)
    local name = spec:match("^(%S+)")
    state.children[parent] = state.children[parent] or {}
    state.children[parent][name] = command
    for alias in spec:gmatch("%s(%S+)") do state.children[parent][alias] = command end
    return with_help(command, state.paths[parent] .. " " .. name)
  end

  local parser = argparse("vbr", "Manage the configuration backup of Veeam Backup & "
    .. "Replication servers through their REST API.")
    :epilog(EPILOG)
    :require_command(false)               -- so that a bare --version works
    :command_target("command")
    :help_max_width(100)
  with_help(parser, "vbr")
  parser:flag("--version", "Show the version and exit.")
  parser:group("Connection",
    parser:option("--url", "Server URL, https://host[:port] (default port 9419; env VBR_URL)."),
    parser:option("-u --username", "User name (env VBR_USERNAME)."):argname("<name>"),
    parser:option("--password-file", "File holding the password (env VBR_PASSWORD_FILE; "
      .. "or set VBR_PASSWORD)."):argname("<file>"),
    parser:option("--api-version", "API revision such as 1.3-rev1, or auto "
      .. "(env VBR_API_VERSION)."):argname("<revision>"),
    parser:option("--ca-file", "CA certificate (PEM) to verify the server (env VBR_CA_FILE).")
      :argname("<file>"),
    parser:flag("--insecure", "Do not verify the server's certificate (env VBR_INSECURE=1)."))
  parser:flag("-v --verbose", "Show each request's method, path and status on stderr "
    .. "(never a header, a password or a token).")

  -- configbackup
  local cb = sub(parser, "configbackup cb", "Show, change and run the configuration backup.")
    :command_target("action")
  local show = sub(cb, "show", "Show the settings, the schedule in words and the last backup.")
  show:flag("--json", "Print the settings as JSON, as the server sent them.")

  local set = sub(cb, "set", "Change some settings: shows the change, then saves it.")
  set:epilog([[
Examples:
  vbr configbackup set --schedule "weekdays at 22:00" --retention 14
  vbr configbackup set --schedule nightly --dry-run
  vbr configbackup set --encryption "config backup key" --email-to ops@example.com
  vbr configbackup set --disable

Schedules: a phrase ("daily at 22:00", "mon,wed,fri 06:30", "monthly on the last
friday at 23:00", "off") or a template (see 'vbr schedule templates').]])
  set:option("--schedule", "When to run: a phrase or a template name."):argname("<text>")
  -- The range (1 to 255) is the model's to check, with the other settings.
  set:option("--retention", "Restore points to keep (1 to 255).")
    :argname("<count>"):convert(whole_number("--retention"))
  set:option("--repository", "Backup repository, by name or id."):argname("<name|id>")
  set:option("--encryption", "Encryption password, by hint or id; or off.")
    :argname("<hint|id|off>")
  set:mutex(
    set:flag("--enable", "Turn the configuration backup job on."),
    set:flag("--disable", "Turn the configuration backup job off."))
  set:option("--snmp", "SNMP traps for the job (the server needs global SNMP settings).")
    :choices { "on", "off" }
  set:option("--email", "Email notifications.")
    :choices { "on", "off" }
  set:option("--email-to", "Send email to these addresses (comma-separated); "
    .. "turns email on unless --email off.")
    :argname("<a@b,c@d>"):convert(address_list)
  set:flag("--dry-run", "Show the change, send nothing.")

  local run = sub(cb, "run", "Start a configuration backup now.")
  run:flag("--wait", "Follow the session until it ends; print its log if it fails.")
  run:option("--timeout", "With --wait: give up after this many seconds (default 3600; "
    .. "implies --wait).")
    :argname("<seconds>"):convert(positive_number("--timeout"))
  run:flag("--force", "Start even when a configuration backup is already running.")

  local export = sub(cb, "export", "Write the settings to a JSON file (- for stdout).")
  export:argument("file", "The file to write.")

  local apply = sub(cb, "apply", "Change the settings to those of a JSON file (- for stdin).")
  apply:epilog("The file holds all the settings (as 'export' writes them) or only those to "
    .. "change; lastSuccessfulBackup is the server's and is ignored.")
  apply:argument("file", "The file to read.")
  apply:flag("--dry-run", "Show the change, send nothing.")

  -- sessions
  local sessions = sub(parser, "sessions", "List sessions and read their logs.")
    :command_target("action")
  local list = sub(sessions, "list", "Recent sessions, newest first.")
  list:option("--type", "Session type, or any.", "ConfigurationBackup")
  list:option("--limit", "How many (1 to 1000).", "20")
    :convert(integer_between(1, 1000, "--limit"))
  list:flag("--json", "Print JSON.")
  local session_show = sub(sessions, "show", "One session.")
  session_show:argument("id", "Session id."):convert(session_id)
  session_show:flag("--json", "Print JSON.")
  local logs = sub(sessions, "logs", "The log of one session.")
  logs:argument("id", "Session id."):convert(session_id)
  logs:flag("--json", "Print JSON.")

  -- schedule (no server needed)
  local schedule = sub(parser, "schedule", "Read and try schedules (no server needed).")
    :command_target("action")
  local describe = sub(schedule, "describe", "Read a schedule phrase and say it back.")
  describe:argument("text", "The schedule: a phrase or a template name."):args("+")
  local next_runs = sub(schedule, "next", "The next start times of a schedule.")
  next_runs:argument("text", "The schedule: a phrase or a template name."):args("+")
  next_runs:option("-n --count", "How many (1 to 1000).", "5")
    :convert(integer_between(1, 1000, "--count"))
  next_runs:option("--from", "Start after this local time, YYYY-MM-DD HH:MM (default: now).")
    :argname("<time>")
  sub(schedule, "templates", "The named schedule templates.")

  sub(parser, "repl", "A Lua prompt connected to the server (client, cb, vbr; help()).")
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

local COMMANDS = {
  configbackup = "vbr.cli.configbackup",
  sessions = "vbr.cli.sessions",
  schedule = "vbr.cli.schedule",
  repl = "vbr.cli.configbackup",
}

local function version_text()
  local ok, vbr = pcall(require, "vbr")
  return "vbr " .. (ok and tostring(vbr._VERSION) or "(the core vbr.core is not built)")
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
  ctx.verbose = result.verbose
  if result.version then
    ctx:say(version_text())
    return EXIT.ok
  end
  if not result.command then
    ctx:tell("vbr: a command is required")
    ctx:tell(parser:get_usage())
    ctx:tell("Run 'vbr --help' for more.")
    return EXIT.usage
  end
  ctx.command_path = "vbr " .. result.command .. (result.action and (" " .. result.action) or "")
  local commands = require(COMMANDS[result.command])
  local handler = result.command == "repl" and commands.repl or commands[result.action]
  return handler(ctx, result)
end

--- Runs the `vbr` command.
-- @tparam {string,...} argv the arguments, without the program name
-- @tparam[opt] table env `stdout`, `stderr`, `stdin` (file-like), `getenv`
--   (like `os.getenv`), `isatty` (`isatty("stderr")` -> boolean); any left
--   out is the process's own
-- @treturn integer the exit code
function cli.main(argv, env)
  local defaults = default_env()
  env = env or {}
  for key, value in pairs(defaults) do
    if env[key] == nil then env[key] = value end
  end
  local ctx = setmetatable({ env = env, stdout = env.stdout, stderr = env.stderr, args = {} },
    Context)
  local ok, code = xpcall(run, function(message)
    return ctx.verbose and debug.traceback(tostring(message), 2) or tostring(message)
  end, ctx, argv or {})
  if not ok then
    ctx:tell("vbr: internal error: " .. code)
    code = EXIT.refused
  end
  local closed, why = pcall(ctx.close, ctx)
  if not closed then ctx:trace("closing the connection failed: " .. tostring(why)) end
  if ctx.stdout.flush then ctx.stdout:flush() end
  return code
end

--- Connects from the environment as the command does (for the examples).
-- @see vbr.env.connect
cli.connect = vbr_env.connect

--- Exit codes by name (see the module comment).
cli.EXIT = EXIT

return cli
