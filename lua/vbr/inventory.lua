--- The inventory: named VBR servers and where their passwords come from, in
-- one hand-written file shared by `vbr --profile NAME` and `vbr fleet ...`.
--
--     # vbr inventory
--     [defaults]                       # optional, first: for every server
--     username = backupadmin
--     password_file = /etc/vbr/password
--     ca_file = /etc/vbr/ca.pem
--
--     [vbr-paris]                      # a server: its name, [A-Za-z0-9._-]+
--     url = https://vbr-paris.example.com:9419
--     tags = prod, eu
--
--     local inventory = require "vbr.inventory"
--     local inv = assert(inventory.load(inventory.default_path()))
--     for _, server in ipairs(assert(inv:select("prod"))) do
--       local client = vbr.connect(assert(inventory.connect_options(server)))
--     end
--
-- Lines are `[name]` (a `#` or `;` comment may follow), `key = value` (the
-- value is the rest of the line, trimmed; in double quotes it keeps its
-- spaces), blank lines and comments (`#` or `;` first). Keys: `url`
-- (required for a server), `username`, one secret source (`password_file`,
-- `password_env`, `password_command`, `password_prompt = true`), `ca_file`,
-- `ca_path`, `pinned_public_key`, `insecure`, `api_version`, `timeout`,
-- `connect_timeout`, `tags` (comma-separated), `description`. A server's key
-- replaces the default's (its secret source replaces the default's source).
-- The password itself is never in the file.
--
-- Errors are `nil, err` with `err.kind == "invalid"`, `err.message` (one
-- line per problem: `FILE:LINE: entry 'x': field 'y': ...`) and
-- `err.problems` (`{path =, message =, line =, entry =, field =}`); every
-- problem of the file is reported at once. Pure Lua.
-- @module vbr.inventory

local revision = require "vbr.revision"

local type, tostring, tonumber, ipairs, pairs, setmetatable, error, pcall =
      type, tostring, tonumber, ipairs, pairs, setmetatable, error, pcall
local io_open, io_popen, os_getenv = io.open, io.popen, os.getenv
local concat, sort = table.concat, table.sort
local format = string.format

local inventory = {}

local NAME = "^[A-Za-z0-9._-]+$"
local SECRET_KEYS = { password_file = "file", password_env = "env",
                      password_command = "command", password_prompt = "prompt" }
local SECRET_LIST = "password_file, password_env, password_command or password_prompt = true"

-- Errors ------------------------------------------------------------------------

local Error = { __tostring = function(err) return err.message end }

local function new_error(problems)
  local lines = {}
  for i, problem in ipairs(problems) do lines[i] = problem.path .. ": " .. problem.message end
  return setmetatable({ kind = "invalid", problems = problems, message = concat(lines, "\n") },
    Error)
end

local function one_error(message)
  return setmetatable({ kind = "invalid", message = message,
    problems = { { path = "inventory", message = message } } }, Error)
end

-- "Did you mean" -----------------------------------------------------------------

--- The candidate nearest to `word`, when it is near enough to be a typo
-- (see `vbr.suggest`).
-- @tparam string word what was given
-- @tparam {string,...} candidates what exists
-- @treturn string|nil
inventory.suggest = require "vbr.suggest"

local function did_you_mean(word, candidates)
  local near = inventory.suggest(word, candidates)
  return near and (" (did you mean '" .. near .. "'?)") or ""
end

-- Values -----------------------------------------------------------------------------

local function boolean(text)
  if text == "true" then return true end
  if text == "false" then return false end
  return nil, "must be true or false, not '" .. text .. "'"
end

local function seconds(text)
  local number = tonumber(text)
  if not number or number <= 0 or number ~= number or number == math.huge then
    return nil, "must be a number of seconds above 0, not '" .. text .. "'"
  end
  return number
end

local function nonempty(text)
  if text == "" then return nil, "must not be empty" end
  return text
end

-- Each key's reader: the text of the value -> the value, or nil and why.
local READERS = {
  url = function(text)
    if text:find("^http://") then
      return nil, "must start with https:// (VBR's REST API is HTTPS only), not '" .. text .. "'"
    end
    local authority = text:match("^https://([^/?#]*)")
    if not authority or authority == "" then
      return nil, "must be https://host[:port], not '" .. text .. "'"
    end
    if authority:find("@", 1, true) then
      return nil, "must not hold a user name or password (give username and a secret source)"
    end
    return text
  end,
  username = nonempty,
  password_file = nonempty,
  password_env = function(text)
    if not text:find("^[A-Za-z_][A-Za-z0-9_]*$") then
      return nil, "must be the name of an environment variable, not '" .. text .. "'"
    end
    return text
  end,
  password_command = nonempty,
  password_prompt = function(text)
    if text ~= "true" then return nil, "must be true (or left out), not '" .. text .. "'" end
    return true
  end,
  ca_file = nonempty,
  ca_path = nonempty,
  pinned_public_key = function(text)
    for pin in (text .. ";"):gmatch("([^;]*);") do
      if not pin:match("^%s*sha256//[A-Za-z0-9+/]+=*%s*$") then
        return nil, "must be sha256//<base64> (several separated by ;), not '" .. text .. "'"
      end
    end
    return text
  end,
  insecure = boolean,
  api_version = function(text)
    if text == "auto" or revision.get(text) then return text end
    local known = revision.known()
    return nil, "must be auto or one of " .. concat(known, ", ") .. ", not '" .. text .. "'"
      .. did_you_mean(text, known)
  end,
  timeout = seconds,
  connect_timeout = seconds,
  tags = function(text)
    local tags, seen = {}, {}
    for tag in (text .. ","):gmatch("([^,]*),") do
      tag = tag:match("^%s*(.-)%s*$")
      if not tag:find(NAME) then
        return nil, "must be names of [A-Za-z0-9._-] separated by commas, not '" .. text .. "'"
      end
      if not seen[tag] then
        seen[tag] = true
        tags[#tags + 1] = tag
      end
    end
    return tags
  end,
  description = function(text) return text end,
}

local KEYS = {}
for key in pairs(READERS) do KEYS[#KEYS + 1] = key end
sort(KEYS)

-- The fields a server takes from [defaults] and gives to vbr.connect.
local CONNECT_FIELDS = { "url", "username", "ca_file", "ca_path", "pinned_public_key",
                         "insecure", "api_version", "timeout", "connect_timeout" }

-- Parsing ------------------------------------------------------------------------------

local Inventory = {}
Inventory.__index = Inventory

local function unquote(value)
  local inner = value:match('^"(.*)"$')
  if inner then return inner end
  return value
end

--- Reads the text of an inventory.
-- @tparam string text the file's contents
-- @tparam[opt] string source_name the name errors give it (default `"inventory"`)
-- @return an inventory (`servers`, `source`, `:server`, `:select`), or `nil, err`
function inventory.parse(text, source_name)
  if type(text) ~= "string" then
    error("vbr.inventory.parse expects the text as a string, got " .. type(text), 2)
  end
  source_name = source_name or "inventory"
  local problems = {}
  local function problem(line, entry, field, message)
    local path = format("%s:%d", source_name, line)
    if entry then path = path .. ": entry '" .. entry .. "'" end
    if field then path = path .. ": field '" .. field .. "'" end
    problems[#problems + 1] = { path = path, message = message, line = line, entry = entry,
                                field = field }
  end

  local sections, by_name = {}, {}
  local section                                  -- the one being read

  local function read_header(number, name, rest)
    name = name:match("^%s*(.-)%s*$")
    if rest ~= "" and not rest:find("^[#;]") then
      problem(number, name, nil, "unexpected text after [" .. name .. "]: '" .. rest .. "'")
    end
    if not name:find(NAME) then
      problem(number, name, nil, "a name is made of letters, digits, '.', '_' and '-'")
    end
    section = { name = name, line = number, values = {}, lines = {},
                defaults = name == "defaults" }
    if by_name[name] then
      problem(number, name, nil, format("defined twice (first on line %d)", by_name[name].line))
    elseif section.defaults and #sections > 0 then
      problem(number, name, nil, "[defaults] must come before every server")
    else
      by_name[name] = section
      sections[#sections + 1] = section
    end
  end

  local function read_value(number, line)
    local key, value = line:match("^%s*([^=]-)%s*=%s*(.-)%s*$")
    if not key then
      return problem(number, section and section.name, nil,
        "expected [name], key = value, a comment or a blank line, not '" .. line .. "'")
    elseif not section then
      return problem(number, nil, key,
        "a key outside any [section]; start with [defaults] or [name]")
    elseif key == "password" then
      return problem(number, section.name, key, "never the secret itself in the file: use "
        .. SECRET_LIST)
    elseif not READERS[key] then
      return problem(number, section.name, key, "unknown field" .. did_you_mean(key, KEYS)
        .. " (known: " .. concat(KEYS, ", ") .. ")")
    elseif section.lines[key] then
      return problem(number, section.name, key, format("given twice (first on line %d)",
        section.lines[key]))
    elseif key == "url" and section.defaults then
      return problem(number, section.name, key, "a url belongs to one server, not to [defaults]")
    end
    section.lines[key] = number
    local read, why = READERS[key](unquote(value))
    if read == nil then return problem(number, section.name, key, why) end
    section.values[key] = read
  end

  local number = 0
  for raw in (text:sub(-1) == "\n" and text or (text .. "\n")):gmatch("([^\n]*)\n") do
    number = number + 1
    local line = raw:gsub("\r$", "")
    local name, rest = line:match("^%s*%[([^%]]*)%]%s*(.-)$")
    if name then
      read_header(number, name, rest)
    elseif not (line:find("^%s*$") or line:find("^%s*[#;]")) then   -- blank, a comment
      read_value(number, line)
    end
  end

  -- One secret source per section; a server's replaces the defaults'.
  local function secret_of(entry)
    local found
    for key, kind in pairs(SECRET_KEYS) do
      if entry.values[key] ~= nil then
        if found then
          local first, second = found.key, key
          if entry.lines[second] < entry.lines[first] then first, second = second, first end
          problem(entry.lines[second], entry.name, second, "a second secret source ('"
            .. first .. "' is on line " .. entry.lines[first] .. "); give one of "
            .. SECRET_LIST)
        else
          found = { key = key, kind = kind, value = entry.values[key] }
        end
      end
    end
    return found and { kind = found.kind, value = found.kind ~= "prompt" and found.value or nil }
  end

  local defaults = by_name.defaults or { values = {}, lines = {} }
  local default_secret = secret_of(defaults)
  local servers = {}
  for _, entry in ipairs(sections) do
    if not entry.defaults then
      local values = entry.values
      local server = { name = entry.name, line = entry.line, source = source_name }
      for _, field in ipairs(CONNECT_FIELDS) do
        local value = values[field]
        if value == nil then value = defaults.values[field] end
        server[field] = value
      end
      server.tags = values.tags or defaults.values.tags or {}
      server.description = values.description or defaults.values.description
      server.secret = secret_of(entry) or default_secret
      if server.url == nil and not entry.lines.url then
        problem(entry.line, entry.name, "url", "missing: every server needs its "
          .. "url = https://host[:port]")
      end
      servers[#servers + 1] = server
    end
  end
  if #problems > 0 then
    sort(problems, function(a, b) return a.line < b.line end)
    return nil, new_error(problems)
  end
  return setmetatable({ servers = servers, source = source_name }, Inventory)
end

--- Reads an inventory file (see `inventory.parse`).
-- @tparam string path
-- @return an inventory, or `nil, err` (kind `invalid`)
function inventory.load(path)
  if type(path) ~= "string" then
    error("vbr.inventory.load expects a path, got " .. type(path), 2)
  end
  local file, why = io_open(path, "rb")
  if not file then return nil, one_error("cannot read the inventory: " .. tostring(why)) end
  local text = file:read("*a")
  file:close()
  if not text then return nil, one_error("cannot read the inventory " .. path) end
  return inventory.parse(text, path)
end

local function readable(path)
  local file = io_open(path, "rb")
  if not file then return false end
  file:close()
  return true
end

--- Where the inventory is: `$VBR_INVENTORY`, else the user's
-- (`$XDG_CONFIG_HOME/vbr/inventory`, by default `~/.config/vbr/inventory`)
-- when it exists, else `/etc/vbr/inventory` when it exists, else the user's.
-- @tparam[opt] function getenv `os.getenv` by default
-- @treturn string
function inventory.default_path(getenv)
  getenv = getenv or os_getenv
  local explicit = getenv("VBR_INVENTORY")
  if explicit and explicit ~= "" then return explicit end
  local config = getenv("XDG_CONFIG_HOME")
  if not config or config == "" then
    config = (getenv("HOME") or "") .. "/.config"
  end
  local user = config .. "/vbr/inventory"
  if readable(user) then return user end
  if readable("/etc/vbr/inventory") then return "/etc/vbr/inventory" end
  return user
end

-- Selecting ------------------------------------------------------------------------------

local function names_and_tags(self)
  local names, tags, seen = {}, {}, {}
  for _, server in ipairs(self.servers) do
    names[#names + 1] = server.name
    for _, tag in ipairs(server.tags) do
      if not seen[tag] then
        seen[tag] = true
        tags[#tags + 1] = tag
      end
    end
  end
  sort(tags)
  return names, tags
end

local function listed(list)
  return #list > 0 and concat(list, ", ") or "none"
end

--- The server of this name.
-- @treturn table|nil the server, or `nil, err` listing the names there are
function Inventory:server(name)
  if type(name) ~= "string" then
    error("inventory:server expects a name, got " .. type(name), 2)
  end
  for _, server in ipairs(self.servers) do
    if server.name == name then return server end
  end
  local names = names_and_tags(self)
  return nil, one_error(format("no server named '%s' in %s%s (servers: %s)", name, self.source,
    did_you_mean(name, names), listed(names)))
end

--- The servers a limit names: `nil` for all, else names and tags separated by
-- commas (their union, in file order).
-- @treturn table|nil an array of servers, or `nil, err` listing the names
--   and tags there are
function Inventory:select(limit)
  if limit ~= nil and type(limit) ~= "string" then
    error("inventory:select expects nil or a string, got " .. type(limit), 2)
  end
  local chosen = {}
  if limit == nil then
    for i, server in ipairs(self.servers) do chosen[i] = server end
    return chosen
  end
  local wanted = {}
  local names, tags = names_and_tags(self)
  local known = {}
  for _, word in ipairs(names) do known[word] = true end
  for _, word in ipairs(tags) do known[word] = true end
  for word in (limit .. ","):gmatch("([^,]*),") do
    word = word:match("^%s*(.-)%s*$")
    if word == "" then
      return nil, one_error("an empty name in the limit '" .. limit .. "'")
    end
    if not known[word] then
      local all = {}
      for _, item in ipairs(names) do all[#all + 1] = item end
      for _, item in ipairs(tags) do all[#all + 1] = item end
      return nil, one_error(format("no server or tag named '%s' in %s%s (servers: %s; tags: %s)",
        word, self.source, did_you_mean(word, all), listed(names), listed(tags)))
    end
    wanted[word] = true
  end
  for _, server in ipairs(self.servers) do
    local take = wanted[server.name]
    for _, tag in ipairs(server.tags) do take = take or wanted[tag] end
    if take then chosen[#chosen + 1] = server end
  end
  return chosen
end

-- Secrets --------------------------------------------------------------------------------

local function read_file(path)
  local file, why = io_open(path, "rb")
  if not file then return nil, "cannot read the password file: " .. tostring(why) end
  local text = file:read("*a") or ""
  file:close()
  text = text:gsub("[\r\n]+$", "")
  if text == "" then return nil, "the password file " .. path .. " is empty" end
  return text
end

-- The first line the command prints; its exit status is read from a marker
-- line, since pipe:close() hides it on Lua 5.1 and LuaJIT.
local function run_command(command)
  local pipe = io_popen("(" .. command .. "); echo \"vbr-exit=$?\"", "r")
  if not pipe then return nil, "the password command cannot be started" end
  local output = pipe:read("*a") or ""
  pipe:close()
  local body, status = output:match("^(.-)\n?vbr%-exit=(%d+)%s*$")
  if status ~= "0" then
    return nil, "the password command failed (exit status " .. tostring(status) .. ")"
  end
  local first = (body .. "\n"):match("^([^\n]*)\n"):gsub("\r$", "")
  if first == "" then return nil, "the password command printed nothing" end
  return first
end

--- Options for `vbr.connect` from a server of the inventory. Its `password`
-- is a function that reads the secret when the core asks for it (the file,
-- the environment variable, the first line the command prints, or the
-- prompt, asked once); the secret is never in the table nor in an error.
-- @tparam table server from `inv.servers`, `inv:server` or `inv:select`
-- @tparam[opt] table opts `getenv` (like `os.getenv`), `prompt`
--   (`prompt(text)` -> the password, or `nil, why`: for `password_prompt`,
--   and for a server without a secret source), `on_error` (called with the
--   reason, never the secret, when the secret cannot be read; the password
--   function then raises, and the login fails)
-- @treturn[1] table options (`url`, `username`, `password`, `ca_file`, ...)
-- @return[2] nil, err (kind `invalid`) when the server has no secret source
--   and no `prompt` was given
function inventory.connect_options(server, opts)
  if type(server) ~= "table" then
    error("vbr.inventory.connect_options expects a server table, got " .. type(server), 2)
  end
  opts = opts or {}
  local getenv = opts.getenv or os_getenv
  local secret = server.secret
  local where = format("%s:%d: entry '%s'", tostring(server.source), server.line or 0,
    tostring(server.name))
  if not secret then
    if not opts.prompt then
      return nil, one_error(where .. ": no secret source: give " .. SECRET_LIST)
    end
    secret = { kind = "prompt" }
  end
  local options = {}
  for _, field in ipairs(CONNECT_FIELDS) do options[field] = server[field] end

  local kind, value, prompt = secret.kind, secret.value, opts.prompt
  local asked                                   -- a prompt is answered once
  local function read()
    if kind == "file" then return read_file(value) end
    if kind == "env" then
      local text = getenv(value)
      if text == nil or text == "" then
        return nil, "the environment variable " .. value .. " (password_env) is not set"
      end
      return text
    end
    if kind == "command" then return run_command(value) end
    if asked then return asked end
    if not prompt then return nil, "password_prompt needs a terminal to ask on" end
    local ok, answer, why = pcall(prompt, format("Password for %s at %s: ",
      tostring(options.username or "?"), tostring(options.url)))
    if not ok then error(answer, 0) end       -- an interruption goes on up
    if type(answer) ~= "string" or answer == "" then
      return nil, why or "no password was given"
    end
    asked = answer
    return answer
  end
  options.password = function()
    local text, why = read()
    if text then return text end
    why = where .. ": " .. why
    if opts.on_error then opts.on_error(why) end
    error(why, 0)
  end
  return options
end

return inventory
