--- vbr: the configuration backup of Veeam Backup & Replication, from Lua.
--
--     local vbr = require "vbr"
--     local client = assert(vbr.connect {
--       url = "https://vbr.example.com:9419",
--       username = "backupadmin", password_file = "/etc/vbr/password",
--       ca_file = "/etc/vbr/ca.pem",
--     })
--     local settings = assert(client.configbackup:get())
--     local session = assert(client.configbackup:start())
--     assert(session:wait { on_progress = print })
--     client:close()
--
-- Misuse (a wrong argument type, an unknown option) raises an error. Every
-- failure of the network, the server or the input returns `nil, err`, where
-- `err` is a table with `kind` (`network`, `tls`, `timeout`, `http`, `api`,
-- `auth`, `decode`, `invalid`, `conflict`, `failed`, `action_required`),
-- `status`, `code` (the API's errorCode), `message`, `method`, `path`,
-- `retryable`, and `problems` for `invalid`; `tostring(err)` reads well. Neither errors nor
-- `tostring` ever show a password or a token.
-- @module vbr

-- vbr.revision, vbr.session and vbr.nginx are required where they are
-- used: a short-lived process that reads the settings needs none of them,
-- and its start-up time goes mostly to compiling Lua.
local core = require "vbr.core"
local json = require "vbr.json"
local configbackup = require "vbr.configbackup"
local answer = require "vbr.answer"

local type, tostring, setmetatable, error, ipairs, pairs =
      type, tostring, setmetatable, error, ipairs, pairs
local concat = table.concat

local vbr = {
  _VERSION = core._VERSION,
  json = json,
}

--- One line of text fit for a terminal or a log: every secret of every open
-- client (its password, both tokens) scrubbed in any encoding a server may
-- echo it in, and everything but printable characters escaped visibly
-- (`\n`, `\u001b`, `\xff`, ...; a backslash stays, so twice is once).
-- `tostring(err)` and `tostring(client)` are made so already; the `vbr`
-- command passes every line it prints through it.
-- @function printable
-- @tparam string text
-- @treturn string
vbr.printable = core.printable

-- vbr.schedule is loaded when first used (a client that only reads and
-- writes settings never needs it): `vbr.schedule` works as before.
setmetatable(vbr, { __index = function(self, key)
  if key == "schedule" then
    local schedule = require "vbr.schedule"
    rawset(self, key, schedule)
    return schedule
  end
end })

local Client = {}
Client.__index = Client

--- Makes an error object (the same type as the core's).
-- @tparam table fields `kind`, `message`, and any of `status`, `code`,
--   `method`, `path`, `retryable`, `problems`, `session`
function Client:new_error(fields)
  return core.error(fields)
end

--- An error of kind `invalid` listing `problems` (`{path=, message=}`).
-- Nothing was sent: `method` and `path` (what would have been) are not part
-- of the error, and the message is the problems alone ("invalid input" is
-- the kind's own label).
function Client:invalid(problems, method, path)   -- luacheck: no unused args
  local lines = {}
  for i, problem in ipairs(problems) do
    lines[i] = problem.path .. ": " .. problem.message
  end
  return core.error {
    kind = "invalid", problems = problems,
    message = (#problems == 1 and "" or (#problems .. " problems: ")) .. concat(lines, "; "),
  }
end

-- A JSON content type, as the core tells it.
local is_json_type = core.is_json_type

--- Sends one request and decodes the answer.
-- @tparam string method `"GET"`, `"PUT"`, `"POST"`...
-- @tparam string path e.g. `"/api/v1/serverInfo"`
-- @tparam[opt] table options `query` (table of parameters), `body` (a Lua
--   value, sent as JSON)
-- @return the decoded answer (`true` when the server sent no body), or
--   `nil, err`
function Client:request(method, path, options)
  local transport, core_options = self.transport, nil
  if options then
    local body = options.body
    if body ~= nil then
      local text, why = json.encode(body)
      if not text then error("vbr: cannot encode the request body: " .. why, 2) end
      body = text
    end
    core_options = { query = options.query, body = body }
  end
  if not transport then
    -- the core's libcurl transport: request and decoding in one C call
    -- (c:call, the one way to it; the same decoder and error wording as below)
    local value, err = self.core:call(method, path, core_options)
    if value == nil then return nil, err end
    return value
  end
  -- decode = false: the answer is decoded once, here, with vbr.json
  local response, err = transport:request(method, path,
    { query = core_options and core_options.query, body = core_options and core_options.body,
      decode = false })
  if not response then return nil, err end
  if response.body == nil or response.body == "" then return true end
  local value, why = json.decode(response.body)
  if value == nil then
    if is_json_type(response.content_type) then     -- as the core words it
      return nil, core.error {
        kind = "decode", status = response.status, method = method, path = path,
        retryable = false, outcome_unknown = false,
        message = "invalid JSON in the response: " .. tostring(why),
      }
    end
    return nil, core.error {
      kind = "decode", status = response.status, method = method, path = path,
      message = "the answer is not valid JSON (" .. tostring(why) .. ")",
    }
  end
  return value
end

--- Facts of the API revision in use (see `vbr.revision`).
function Client:revision()
  local name = self.core:api_version()
  local facts = self.revision_cache
  if not facts or facts.name ~= name then
    local why
    facts, why = require("vbr.revision").get(name)
    if not facts then error("vbr: " .. why, 2) end
    self.revision_cache = facts
  end
  return facts
end

-- An item of a list whose `id` goes into later requests: an object with a
-- UUID id.
local function item_problem(item)
  if not answer.is_object(item) then return "expected an object, got " .. answer.describe(item) end
  if not require("vbr.model").is_uuid(item.id) then
    return "its id is not a UUID (" .. answer.describe(item.id) .. ")"
  end
  return nil
end

-- Lists `data` of a paged collection (the first 1,000 items), each an
-- object with a UUID id.
local function list(self, path, what)
  local result, err = self:request("GET", path, { query = { limit = "1000" } })
  if not result then return nil, err end
  return answer.list(self, "GET", path, result, what, item_problem)
end

--- The backup repositories (`id`, `name`, `type`, ...).
function Client:repositories()
  return list(self, "/api/v1/backupInfrastructure/repositories", "repositories")
end

--- The encryption passwords (`id`, `hint`, ...).
function Client:encryption_passwords()
  return list(self, "/api/v1/encryptionPasswords", "encryption passwords")
end

--- The server's `ServerInfoModel` (name, build, ...).
function Client:server_info()
  local path = "/api/v1/serverInfo"
  local info, err = self:request("GET", path)
  if not info then return nil, err end
  return answer.object(self, "GET", path, info, "the server's information")
end

--- Sessions, newest first; see `vbr.session.list` for the filter.
function Client:sessions(filter)
  if filter ~= nil and type(filter) ~= "table" then
    error("vbr: client:sessions expects a filter table, got " .. type(filter), 2)
  end
  return require("vbr.session").list(self, filter, 2)
end

--- One session by id: a UUID string (other text: `nil, err` of kind
-- `invalid`, nothing sent).
function Client:session(id)
  return require("vbr.session").get(self, id)
end

--- Logs in now (requests log in by themselves when needed).
function Client:login()
  return (self.transport or self.core):login()
end

--- Logs out: the server forgets both tokens.
function Client:logout()
  return (self.transport or self.core):logout()
end

--- Closes the connection and wipes the secrets; safe to call twice.
function Client:close()
  self.core:close()
end

Client.__close = Client.close

function Client:__tostring()
  return tostring(self.core)
end

--- Connects to a server and logs in.
-- @tparam table options `url` (`https://host[:port]`, port 9419 by
--   default), `username`, `password` (a string or a function returning it)
--   or `password_file` (username and password: at most 1024 bytes each),
--   `api_version` (default `"auto"`: the newest both sides speak, found at
--   login; or a revision such as `"1.3-rev1"`, see
--   `configbackup:older_revision`), `ca_file`, `ca_path`, `pinned_public_key`,
--   `insecure`, `connect_timeout`, `timeout`, `retry`, `max_response_size`,
--   `user_agent`; inside nginx `nginx = { location =, shared_dict = }` (or
--   `false` for the blocking libcurl transport), see `vbr.nginx`;
--   `transport`, a `vbr.multi` loop that carries the requests of many
--   clients at once
-- @treturn[1] table the client
-- @return[2] nil, err when the login fails
function vbr.connect(options)
  if type(options) ~= "table" then
    error("vbr.connect expects an options table, got " .. type(options), 2)
  end
  local transport = options.transport
  if transport ~= nil then
    if type(transport) ~= "table" or type(transport.attach) ~= "function" then
      error("vbr: option 'transport' must be a vbr.multi loop, got " .. type(transport), 2)
    end
    local rest = {}
    for key, value in pairs(options) do
      if key ~= "transport" then rest[key] = value end
    end
    options = rest
  end
  -- inside nginx the requests go through subrequests (vbr.nginx); where
  -- there is no `ngx` at all, and no `nginx` option, it cannot apply
  local core_options, nginx_options = options, nil
  if options.nginx ~= nil or rawget(_G, "ngx") ~= nil then
    core_options, nginx_options = require("vbr.nginx").split_options(options)
  end
  -- "steps": vbr.nginx carries every step, the core makes no libcurl handle
  local handle, refused = core.new(core_options, nginx_options and "steps" or "libcurl")
  if not handle then return nil, refused end   -- e.g. an unreadable ca_file
  -- transport: set by vbr.nginx; else the core's own libcurl one
  local self = setmetatable({ core = handle, clock = core.monotonic, sleep = core.sleep }, Client)
  self.configbackup = configbackup.new(self)
  local ok, err
  if nginx_options then
    ok, err = require("vbr.nginx").attach(self, nginx_options, options.url, options.username)
  elseif transport then
    ok, err = transport:attach(self)
  else
    ok, err = handle:login()
  end
  if not ok then
    handle:close()
    return nil, err
  end
  return self
end

return vbr
