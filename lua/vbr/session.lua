--- Sessions: what a started job is doing, and how it ended.
--
-- A session is the API's `SessionModel` as a Lua table (`id`, `name`,
-- `sessionType`, `state`, `progressPercent`, `result`, `creationTime`,
-- `endTime`, ...), with methods. `jobId` is always there: revision 1.1
-- calls it `activityId` (kept as well). A member the server sends under the
-- name of a method (`wait`, `stop`, ...) or `client` is not copied. Texts
-- (of sessions and of their logs) are scrubbed of the password and the
-- tokens, as errors are.
--
-- Every session is checked when it is read: an object with a UUID `id` and
-- a string `state` (and `result`, `progressPercent`, `sessionType` of their
-- types when present); anything else is an error of kind `decode`, so no
-- server text steers a request path or a decision.
-- @module vbr.session

local json = require "vbr.json"
local model = require "vbr.model"
local answer = require "vbr.answer"
local sessions_query = require "vbr.sessions_query"

local type, pairs, ipairs, tostring, setmetatable, error =
      type, pairs, ipairs, tostring, setmetatable, error
local min, format = math.min, string.format

local Session = {}
Session.__index = Session

local session = {}

--- The metatable of session objects (their methods).
session.class = Session

local SESSIONS = "/api/v1/sessions"

local OPTIONAL_TYPES = { progressPercent = "number", sessionType = "string", name = "string" }

--- What is wrong with a decoded `SessionModel`, or nil when it can be used.
function session.problem(value)
  if not answer.is_object(value) then
    return "expected a session (a JSON object), got " .. answer.describe(value)
  end
  if not model.is_uuid(value.id) then
    return "the session's id is not a UUID (" .. answer.describe(value.id) .. ")"
  end
  if type(value.state) ~= "string" then
    return "the session's state is not a string (" .. answer.describe(value.state) .. ")"
  end
  for name, wanted in pairs(OPTIONAL_TYPES) do
    if value[name] ~= nil and type(value[name]) ~= wanted then
      return format("the session's %s is not a %s (%s)", name, wanted,
        answer.describe(value[name]))
    end
  end
  local result = value.result
  if result ~= nil then
    if not answer.is_object(result) then
      return "the session's result is not an object (" .. answer.describe(result) .. ")"
    end
    for _, name in ipairs { "result", "message" } do
      if result[name] ~= nil and type(result[name]) ~= "string" then
        return format("the session's result.%s is not a string (%s)", name,
          answer.describe(result[name]))
      end
    end
  end
  return nil
end

-- Session data is for reading and printing, never sent back: its texts
-- (a result message may echo the password) are scrubbed of the secrets of
-- the client whose server sent them, in place (that server was sent no
-- other client's).
local function scrub(handle, value)
  for key, member in pairs(value) do
    if type(member) == "string" then
      value[key] = handle:scrub(member)
    elseif type(member) == "table" and member ~= json.null then
      scrub(handle, member)
    end
  end
  return value
end

-- Copies a checked model into the session object, replacing what it held.
local function fill(self, value)
  for key in pairs(self) do
    if key ~= "client" then self[key] = nil end
  end
  for key, member in pairs(scrub(self.client.core, value)) do
    if Session[key] == nil and key ~= "client" then self[key] = member end
  end
  if self.jobId == nil then self.jobId = value.activityId end
end

--- Wraps a `SessionModel` the server sent in answer to `method path`.
-- @treturn[1] vbr.session
-- @return[2] nil, error of kind `decode` when the model cannot be used
function session.wrap(client, value, method, path)
  local why = session.problem(value)
  if why then return nil, answer.unexpected(client, method, path, why) end
  local self = setmetatable({ client = client }, Session)
  fill(self, value)
  return self
end

-- The path of a session, or nil and an error: the id is checked at every
-- use (a caller may have changed it).
local function path_of(client, id, tail, method)
  if not model.is_uuid(id) then
    return nil, client:invalid({ {
      path = "id", message = "a session id is a UUID such as "
        .. "'f4f3c4b0-8d07-4c8e-9b4e-6f1d2a3b4c5d', not " .. answer.describe(id)
        .. (type(id) == "string" and (" '" .. id .. "'") or ""),
    } }, method, SESSIONS .. "/{id}" .. (tail or ""))
  end
  return SESSIONS .. "/" .. id .. (tail or "")
end

--- One session by id.
-- @tparam table client the `vbr` client
-- @tparam string id a UUID; other text is `nil, err` of kind `invalid`
--   (nothing is sent)
function session.get(client, id)
  if type(id) ~= "string" then
    error("vbr: a session id is a UUID string, got " .. type(id), 3)
  end
  local path, err = path_of(client, id, nil, "GET")
  if not path then return nil, err end
  local value
  value, err = client:request("GET", path)
  if not value then return nil, err end
  return session.wrap(client, value, "GET", path)
end

--- Sessions, newest first.
-- @tparam table client the `vbr` client
-- @tparam[opt] table filter, checked and normalised for the revision in use
--   before anything is sent (`nil, err` of kind `invalid` naming the key and
--   the allowed values):
--   `type` a session type (`"ConfigurationBackup"`, any casing) or, from
--   1.3-rev0 on, a list of them; `state`; `result` (a list from 1.3-rev0);
--   `name` (a pattern, `*` as wildcard); `job_id` (a UUID);
--   `created_after`, `created_before`, `ended_after`, `ended_before` (an
--   `os.time()` number, an `os.date("*t")` table or ISO 8601 text; without a
--   zone, local time); `limit`, `skip` (whole numbers >= 0)
-- @tparam[opt] number level the stack level to blame for misuse, counted
--   from the caller of `list` (default 1)
-- @treturn {vbr.session,...}
function session.list(client, filter, level)
  local query, problems = sessions_query.build(filter or {}, client:revision(), (level or 1) + 1)
  if not query then return nil, client:invalid(problems, "GET", SESSIONS) end
  local value, err = client:request("GET", SESSIONS, { query = query })
  if not value then return nil, err end
  local data
  data, err = answer.list(client, "GET", SESSIONS, value, "sessions", session.problem)
  if not data then return nil, err end
  local list = {}
  for i, item in ipairs(data) do
    list[i] = setmetatable({ client = client }, Session)
    fill(list[i], item)
  end
  return list
end

--- A session: the `SessionModel`'s fields, and these methods.
-- @type Session

--- Reads the session again from the server. An answer about another
-- session is an error (kind `decode`): the session is never swapped.
-- @treturn Session itself, updated
function Session:refresh()
  local client = self.client
  local path, err = path_of(client, self.id, nil, "GET")
  if not path then return nil, err end
  local value
  value, err = client:request("GET", path)
  if not value then return nil, err end
  local why = session.problem(value)
  if not why and value.id ~= self.id then
    why = "asked for session " .. self.id .. ", the server answered with another one"
  end
  if why then return nil, answer.unexpected(client, "GET", path, why) end
  fill(self, value)
  return self
end

--- True once the session has stopped.
function Session:finished()
  return self.state == "Stopped"
end

--- The session's result (`"None"`, `"Success"`, `"Warning"`, `"Failed"`),
-- or nil while it runs.
function Session:outcome()
  return type(self.result) == "table" and self.result.result or nil
end

local function log_problem(value)
  if not answer.is_object(value) then
    return "expected a session log (a JSON object), got " .. answer.describe(value)
  end
  local records = value.records
  if records == nil then return nil end
  if not json.is_array(records) then
    return "the log's records are " .. answer.describe(records) .. ", not an array"
  end
  for i, record in ipairs(records) do
    if not answer.is_object(record) then
      return format("log record %d is %s, not an object", i, answer.describe(record))
    end
  end
  return nil
end

--- The session log: an array of records (`title`, `status`, `startTime`...).
function Session:logs()
  local client = self.client
  local path, err = path_of(client, self.id, "/logs", "GET")
  if not path then return nil, err end
  local value
  value, err = client:request("GET", path)
  if not value then return nil, err end
  local why = log_problem(value)
  if why then return nil, answer.unexpected(client, "GET", path, why) end
  return value.records and scrub(client.core, value.records) or json.array()
end

--- Asks the server to stop the session (it answers with no session, so the
-- session is read again afterwards).
-- @treturn vbr.session itself, updated
function Session:stop()
  local path, err = path_of(self.client, self.id, "/stop", "POST")
  if not path then return nil, err end
  local ok
  ok, err = self.client:request("POST", path)
  if not ok then return nil, err end
  return self:refresh()
end

local WAIT_OPTIONS = { timeout = "number", interval = "number", max_interval = "number",
                       on_progress = "function" }

-- States in which a session does not go on by itself: a person must act
-- (1.3-rev2). A waiter stops at once.
local WAITS_FOR_A_PERSON = { ActionRequired = true }

--- Waits for the session to stop, polling with a growing interval.
-- @tparam[opt] table options `timeout` (seconds, default 3600), `interval`
--   (first pause, default 1), `max_interval` (default 15), `on_progress`
--   (called with the session after every poll that changed its state or
--   progress)
-- @treturn[1] vbr.session the stopped session, when it ended in Success or
--   Warning
-- @return[2] nil, error: kind `"failed"` (the server's message; the session
--   in `err.session`), `"action_required"` (the session waits for a person:
--   state `ActionRequired`, 1.3-rev2; the session in `err.session`; it goes
--   on once someone acts in VBR), `"timeout"`, or what polling met (a
--   `decode` error when the server answers with something that is not this
--   session)
function Session:wait(options)
  options = options or {}
  for key, value in pairs(options) do
    local wanted = WAIT_OPTIONS[key]
    if not wanted then error("vbr: session:wait: unknown option '" .. tostring(key) .. "'", 2) end
    if type(value) ~= wanted then
      error("vbr: session:wait: option '" .. key .. "' must be a " .. wanted, 2)
    end
  end
  local client = self.client
  local path, err = path_of(client, self.id, nil, "GET")
  if not path then return nil, err end
  local timeout = options.timeout or 3600
  local pause = options.interval or 1
  local max_pause = options.max_interval or 15
  local deadline = client.clock() + timeout
  local last_seen
  while true do
    local seen = tostring(self.state) .. "/" .. tostring(self.progressPercent)
    if options.on_progress and seen ~= last_seen then options.on_progress(self) end
    last_seen = seen
    if self:finished() then break end
    if WAITS_FOR_A_PERSON[self.state] then
      return nil, client:new_error {
        kind = "action_required", method = "GET", path = path,
        message = format("session %s waits for a person to act in VBR (state %s)",
          self.id, self.state),
        session = self,
      }
    end
    local left = deadline - client.clock()
    if left <= 0 then
      return nil, client:new_error {
        kind = "timeout", method = "GET", path = path,
        message = format("session %s still %s at %s%% after %gs", self.id,
          self.state, tostring(self.progressPercent or 0), timeout),
        session = self,
      }
    end
    client.sleep(min(pause, left))
    pause = min(pause * 1.5, max_pause)
    local ok
    ok, err = self:refresh()
    if not ok and not err.retryable then return nil, err end
  end
  local outcome = self:outcome()
  if outcome == "Success" or outcome == "Warning" then return self end
  local message = type(self.result) == "table" and self.result.message or nil
  return nil, client:new_error {
    kind = "failed", method = "GET", path = path,
    message = format("session %s ended %s%s", self.id,
      outcome or "without a result",
      (message and message ~= "") and (": " .. message) or ""),
    session = self,
  }
end

return session
