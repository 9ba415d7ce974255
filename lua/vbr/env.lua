--- Connection settings from the environment, shared by the `vbr` command and
-- the examples, and the exit codes they use.
--
--     VBR_URL            https://vbr.example.com:9419
--     VBR_USERNAME       backupadmin (a local Windows account is .\user)
--     VBR_PASSWORD_FILE  a file holding the password (wins over VBR_PASSWORD)
--     VBR_PASSWORD       the password itself
--     VBR_API_VERSION    e.g. 1.3-rev1, or auto (default: the library's)
--     VBR_CA_FILE        PEM file of the CA (or the self-signed certificate)
--     VBR_INSECURE       1/true/yes: do not verify the server's certificate
--
--     local env = require "vbr.env"
--     local client, err = env.connect()
--     if not client then io.stderr:write(tostring(err), "\n") os.exit(env.exit_code(err)) end
--
-- A password is read from the environment or a file, never from the
-- command line, where other users of the machine could see it.
-- @module vbr.env

local type, tostring, pcall, pairs, setmetatable = type, tostring, pcall, pairs, setmetatable
local lower = string.lower

local env = {}

--- Exit codes of the `vbr` command and of the examples.
env.EXIT = {
  ok = 0,
  refused = 1,   -- the API or server refused, or a session failed
  usage = 2,     -- bad command line or missing connection settings
  auth = 3,      -- the login was refused
  network = 4,   -- TLS, network or timeout
  invalid = 5,   -- input refused locally, before anything was sent
}

--- The names of the variables read, in the order of the module comment.
env.VARIABLES = { "VBR_URL", "VBR_USERNAME", "VBR_PASSWORD_FILE", "VBR_PASSWORD",
                  "VBR_API_VERSION", "VBR_CA_FILE", "VBR_INSECURE" }

local EXIT_BY_KIND = {
  usage = env.EXIT.usage,
  auth = env.EXIT.auth,
  network = env.EXIT.network, tls = env.EXIT.network, timeout = env.EXIT.network,
  invalid = env.EXIT.invalid,
}

--- The exit code for an error of the library (see `vbr`): 3 for `auth`,
-- 4 for `network`, `tls` and `timeout`, 5 for `invalid`, 2 for `usage` (see
-- `env.connect`), 1 otherwise.
function env.exit_code(err)
  local kind = type(err) == "table" and err.kind or nil
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

--- Options for `vbr.connect` from the environment, overridden by `flags`.
-- @tparam[opt] function getenv `os.getenv` by default
-- @tparam[opt] table flags any of `url`, `username`, `password_file`,
--   `api_version`, `ca_file`, `insecure` (from a command line); these win
-- @treturn[1] table options
-- @return[2] nil, a message naming what is missing (for the user)
function env.options(getenv, flags)
  getenv = getenv or os.getenv
  flags = flags or {}
  local options = {
    url = nonempty(flags.url) or nonempty(getenv("VBR_URL")),
    username = nonempty(flags.username) or nonempty(getenv("VBR_USERNAME")),
    api_version = nonempty(flags.api_version) or nonempty(getenv("VBR_API_VERSION")),
    ca_file = nonempty(flags.ca_file) or nonempty(getenv("VBR_CA_FILE")),
  }
  if not options.url then
    return nil, "no server: set VBR_URL or pass --url (e.g. https://vbr.example.com:9419)"
  end
  if not options.username then
    return nil, "no user name: set VBR_USERNAME or pass --username"
  end
  local password_file = nonempty(flags.password_file) or nonempty(getenv("VBR_PASSWORD_FILE"))
  if password_file then
    options.password_file = password_file
  else
    local password = nonempty(getenv("VBR_PASSWORD"))
    if not password then
      return nil, "no password: set VBR_PASSWORD_FILE (or VBR_PASSWORD), or pass --password-file"
    end
    options.password = password
  end
  if flags.insecure then
    options.insecure = true
  else
    local insecure, why = read_flag("VBR_INSECURE", getenv("VBR_INSECURE"))
    if insecure == nil then return nil, why end
    if insecure then options.insecure = true end
  end
  return options
end

-- Errors found before the library is reached.
local LOCAL_ERROR = { __tostring = function(err) return err.message end }

--- Connects with `env.options(getenv, flags)`.
-- @treturn[1] table a logged-in client (see `vbr.connect`)
-- @return[2] nil, err: the library's error, or a table with `kind = "usage"`
--   and a `message` when settings are missing or malformed
function env.connect(getenv, flags)
  local options, why = env.options(getenv, flags)
  if not options then
    return nil, setmetatable({ kind = "usage", message = why }, LOCAL_ERROR)
  end
  local vbr = require "vbr"
  -- vbr.connect raises on option values it cannot use (a URL without
  -- https://, a missing CA file): input refused locally, not a crash.
  local ok, client, err = pcall(vbr.connect, options)
  for key in pairs(options) do options[key] = nil end   -- drop our copy of the password
  if not ok then
    local message = tostring(client):gsub("^[^:]*%.lua:%d+: ", "")
    return nil, setmetatable({ kind = "invalid", message = message }, LOCAL_ERROR)
  end
  return client, err
end

return env
