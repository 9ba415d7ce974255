--- Connection settings from the environment, a profile of the inventory and
-- the command line, shared by the `vbr` command and the examples, and the
-- exit codes they use.
--
--     VBR_URL            https://vbr.example.com:9419
--     VBR_USERNAME       backupadmin (a local Windows account is .\user)
--     VBR_PASSWORD_FILE  a file holding the password (wins over VBR_PASSWORD)
--     VBR_PASSWORD       the password itself
--     VBR_API_VERSION    e.g. 1.3-rev1, or auto (default: the library's)
--     VBR_CA_FILE        PEM file of the CA (or the self-signed certificate)
--     VBR_INSECURE       1/true/yes: do not verify the server's certificate
--     VBR_PROFILE        a server of the inventory (see vbr.inventory): its
--                        settings, under the variables above
--     VBR_INVENTORY      the inventory file (default: see vbr.inventory)
--
--     local env = require "vbr.env"
--     local client, err = env.connect()
--     if not client then io.stderr:write(tostring(err), "\n") os.exit(env.exit_code(err)) end
--
-- A password is read from the environment, a file or the profile's secret
-- source, never from the command line, where other users of the machine
-- could see it.
-- @module vbr.env

local type, tostring, pcall, pairs, ipairs, setmetatable =
      type, tostring, pcall, pairs, ipairs, setmetatable
local lower, format = string.lower, string.format

local env = {}

--- Exit codes of the `vbr` command and of the examples.
env.EXIT = {
  ok = 0,
  refused = 1,      -- the API or server refused, or a session failed
  usage = 2,        -- bad command line or missing connection settings
  auth = 3,         -- the login was refused
  network = 4,      -- TLS, network or timeout of a request
  invalid = 5,      -- input refused locally, before anything was sent
  warning = 6,      -- with --strict: the session ended with a warning
  still_running = 7, -- a wait gave up: the session goes on
  drift = 8,        -- `configbackup diff`: the server differs from the file
  interrupted = 130, -- Ctrl-C (128 + SIGINT, as shells report it)
}

--- The exit codes with what they mean, in order (for help texts).
env.EXIT_MEANINGS = {
  { 0, "done" },
  { 1, "the server or API refused, or the backup session failed" },
  { 2, "usage: a bad command line, or missing connection settings" },
  { 3, "the login was refused" },
  { 4, "TLS, network or timeout" },
  { 5, "input refused locally, before anything was sent" },
  { 6, "with --strict: the session ended with a warning" },
  { 7, "the wait timed out; the session goes on on the server" },
  { 8, "configbackup diff: the server's settings differ from the file" },
  { 130, "interrupted (Ctrl-C)" },
}

--- The names of the variables read, in the order of the module comment.
env.VARIABLES = { "VBR_URL", "VBR_USERNAME", "VBR_PASSWORD_FILE", "VBR_PASSWORD",
                  "VBR_API_VERSION", "VBR_CA_FILE", "VBR_INSECURE", "VBR_PROFILE",
                  "VBR_INVENTORY" }

local EXIT_BY_KIND = {
  usage = env.EXIT.usage,
  auth = env.EXIT.auth,
  network = env.EXIT.network, tls = env.EXIT.network, timeout = env.EXIT.network,
  invalid = env.EXIT.invalid,
}

--- The exit code for an error of the library (see `vbr`): 3 for `auth`,
-- 4 for `network`, `tls` and `timeout`, 5 for `invalid` and for the
-- `conflict` of a write refused before sending because this client's API
-- revision is older than the server's (`err.older`, see
-- `vbr.configbackup`), 2 for `usage` (see `env.connect`), 1 otherwise.
function env.exit_code(err)
  local kind = type(err) == "table" and err.kind or nil
  if kind == "conflict" and err.older ~= nil then return env.EXIT.invalid end
  return EXIT_BY_KIND[kind] or env.EXIT.refused
end

local TRUE_WORDS = { ["1"] = true, ["true"] = true, yes = true, on = true }
local FALSE_WORDS = { ["0"] = true, ["false"] = true, no = true, off = true, [""] = true }

local function read_flag(name, value)
  if value == nil then return false end
  local word = lower(value)
  if TRUE_WORDS[word] then return true end
  if FALSE_WORDS[word] then return false end
  return nil, name .. " must be 1 or 0 (true/false, yes/no), not '" .. value .. "'"
end

local function nonempty(value)
  if value == nil or value == "" then return nil end
  return value
end

-- Errors found before the library is reached.
local LOCAL_ERROR = { __tostring = function(err) return err.message end }

local function local_error(kind, message, problems)
  return setmetatable({ kind = kind, message = message, problems = problems }, LOCAL_ERROR)
end

-- Each setting: the flag that gives it, the variable, and the profile's field.
local SETTINGS = {
  { "url", "--url", "VBR_URL" },
  { "username", "--username", "VBR_USERNAME" },
  { "api_version", "--api-version", "VBR_API_VERSION" },
  { "ca_file", "--ca-file", "VBR_CA_FILE" },
}
-- Settings only a profile gives.
local PROFILE_ONLY = { "ca_path", "pinned_public_key", "timeout", "connect_timeout" }

-- The profile named by the flags or VBR_PROFILE, from the inventory.
local function profile_of(getenv, flags)
  local name = nonempty(flags.profile) or nonempty(getenv("VBR_PROFILE"))
  if not name then return nil end
  local inventory = require "vbr.inventory"
  local path = nonempty(flags.inventory) or inventory.default_path(getenv)
  local inv, err = inventory.load(path)
  if not inv then
    return nil, local_error("invalid", (flags.profile and "--profile " or "VBR_PROFILE=") .. name
      .. ": " .. err.message, err.problems)
  end
  local server
  server, err = inv:server(name)
  if not server then
    return nil, local_error("usage", (flags.profile and "--profile: " or "VBR_PROFILE: ")
      .. err.message)
  end
  return server
end

--- Options for `vbr.connect` from the flags, the environment and a profile,
-- in that order: a flag wins over its variable, a variable over the profile.
-- @tparam[opt] function getenv `os.getenv` by default
-- @tparam[opt] table flags any of `url`, `username`, `password_file` (`-`:
--   the first line of `stdin`), `api_version`, `ca_file`, `insecure`,
--   `profile`, `inventory` (from a command line); these win
-- @tparam[opt] table io `stdin` (for `password_file = "-"`), `prompt`
--   (`prompt(text)` -> the password, or `nil, why`: asked when no password
--   is given anywhere else)
-- @treturn[1] table options
-- @treturn[1] table where each option came from (`sources.url ==
--   "--url"`, `"VBR_URL"` or `"profile 'x' (FILE:LINE)"`), for messages
-- @return[2] nil, err: `kind` `usage` (a setting is missing or malformed)
--   or `invalid` (the inventory is), a `message` naming the flag or variable
function env.options(getenv, flags, io)
  getenv = getenv or os.getenv
  flags = flags or {}
  io = io or {}
  local profile, err = profile_of(getenv, flags)
  if err then return nil, err end
  local profile_name = profile and format("profile '%s' (%s:%d)", profile.name, profile.source,
    profile.line)
  local options, sources = {}, {}
  local function take(name, value, source)
    if options[name] == nil and value ~= nil then
      options[name], sources[name] = value, source
    end
  end
  for _, setting in ipairs(SETTINGS) do
    local name, flag, variable = setting[1], setting[2], setting[3]
    take(name, nonempty(flags[name]), flag)
    take(name, nonempty(getenv(variable)), variable)
    take(name, profile and profile[name], profile_name)
  end
  for _, name in ipairs(PROFILE_ONLY) do take(name, profile and profile[name], profile_name) end

  if not options.url then
    return nil, local_error("usage", "no server: pass --url or --profile, or set VBR_URL "
      .. "(e.g. https://vbr.example.com:9419)")
  end
  if not options.url:find("^https://") then
    return nil, local_error("usage", format("%s: VBR's REST API is HTTPS only: give "
      .. "https://host[:port], not '%s'", sources.url, options.url))
  end
  if not options.username then
    return nil, local_error("usage", "no user name: pass --username, or set VBR_USERNAME")
  end

  if flags.insecure then
    options.insecure, sources.insecure = true, "--insecure"
  else
    local insecure, why = read_flag("VBR_INSECURE", getenv("VBR_INSECURE"))
    if insecure == nil then return nil, local_error("usage", why) end
    if insecure then
      options.insecure, sources.insecure = true, "VBR_INSECURE"
    elseif profile and profile.insecure ~= nil then
      options.insecure, sources.insecure = profile.insecure, profile_name
    end
  end

  -- The password: a flag, a variable, the profile's source, a prompt.
  local password_file = nonempty(flags.password_file)
  sources.password = "--password-file"
  if not password_file then
    password_file = nonempty(getenv("VBR_PASSWORD_FILE"))
    sources.password = "VBR_PASSWORD_FILE"
  end
  if password_file == "-" then
    local line = io.stdin and io.stdin:read("*l")
    line = line and line:gsub("\r$", "")
    if not line or line == "" then
      return nil, local_error("usage", sources.password .. " -: no password on standard input")
    end
    options.password = line
  elseif password_file then
    options.password_file = password_file
  elseif nonempty(getenv("VBR_PASSWORD")) then
    options.password, sources.password = getenv("VBR_PASSWORD"), "VBR_PASSWORD"
  elseif profile and profile.secret and profile.secret.kind ~= "prompt" then
    -- read when the core asks; a prompt is asked now, before connecting
    local from_profile = require("vbr.inventory").connect_options(profile, { getenv = getenv,
      on_error = io.on_secret_error })
    options.password, sources.password = from_profile.password, profile_name
  elseif io.prompt then
    local password, why = io.prompt(format("Password for %s at %s: ", options.username,
      options.url))
    if not password then return nil, local_error("usage", why) end
    options.password, sources.password = password, "the prompt"
  else
    return nil, local_error("usage", "no password: pass --password-file (- reads standard "
      .. "input) or --profile, or set VBR_PASSWORD_FILE (or VBR_PASSWORD)")
  end
  sources.password_file = sources.password
  return options, sources
end

-- "option 'password_file'" in a message of the library -> the flag, variable
-- or profile that gave it.
local function with_sources(message, sources)
  return (message:gsub("option '([%w_]+)'", function(name)
    return sources[name] or ("option '" .. name .. "'")
  end))
end

--- Connects with `env.options(getenv, flags, io)`.
-- @treturn[1] table a logged-in client (see `vbr.connect`)
-- @treturn[1] table where each option came from (see `env.options`)
-- @treturn[1] table the settings used, but the secret: `url`, `username`
-- @return[2] nil, err: the library's error (its `message` naming the flag
--   or variable instead of the option), or a table with `kind = "usage"` or
--   `"invalid"` and a `message` when settings are missing or malformed
function env.connect(getenv, flags, io)
  local options, sources = env.options(getenv, flags, io)
  if not options then return nil, sources end
  local vbr = require "vbr"
  -- vbr.connect raises on option values it cannot use: input refused
  -- locally, not a crash.
  local ok, client, err = pcall(vbr.connect, options)
  local settings = { url = options.url, username = options.username }
  for key in pairs(options) do options[key] = nil end   -- drop our copy of the password
  if not ok then
    local message = tostring(client):gsub("^[^:]*%.lua:%d+: ", "")
    return nil, local_error("invalid", with_sources(message, sources))
  end
  if not client and type(err) == "table" and type(err.message) == "string" then
    err.message = with_sources(err.message, sources)
    for _, problem in ipairs(type(err.problems) == "table" and err.problems or {}) do
      problem.path = sources[problem.path] or problem.path   -- the flag, not the option
    end
  end
  if not client then return nil, err end
  return client, sources, settings
end

return env
