--- Sessions: what a started job is doing, and how it ended.
--
-- A session is the API's `SessionModel` as a Lua table (`id`, `name`,
-- `sessionType`, `state`, `progressPercent`, `result`, `creationTime`,
-- `endTime`, ...), with methods. `jobId` is always there: revision 1.1
-- calls it `activityId` (kept as well).
-- @module vbr.session

local json = require "vbr.json"

local type, pairs, ipairs, tostring, setmetatable, error =
      type, pairs, ipairs, tostring, setmetatable, error
local min, format = math.min, string.format

local Session = {}
Session.__index = Session

local session = {}

-- Copies `model` into the session object, replacing what it held.
local function fill(self, model)
  for key in pairs(self) do
    if key ~= "client" then self[key] = nil end
  end
  for key, value in pairs(model) do self[key] = value end
  if self.jobId == nil then self.jobId = model.activityId end
end

--- Wraps a `SessionModel` table read from the server.
function session.wrap(client, model)
  local self = setmetatable({ client = client }, Session)
  fill(self, model)
  return self
end

--- One session by id.
function session.get(client, id)
  if type(id) ~= "string" or not id:find("^[%x%-]+$") then
    error("vbr: a session id is a UUID string, got " .. tostring(id), 2)
  end
  local model, err = client:request("GET", "/api/v1/sessions/" .. id)
  if not model then return nil, err end
  return session.wrap(client, model)
end

local LIST_OPTIONS = {
  type = "typeFilter", state = "stateFilter", result = "resultFilter",
  name = "nameFilter", limit = "limit", skip = "skip",
  created_after = "createdAfterFilter", job_id = "jobIdFilter",
}

--- Sessions, newest first.
-- @tparam table client the `vbr` client
-- @tparam[opt] table filter `type` (e.g. `"ConfigurationBackup"`), `state`,
--   `result`, `name`, `job_id`, `created_after`, `limit`, `skip`
-- @treturn {vbr.session,...}
function session.list(client, filter)
  filter = filter or {}
  local query = { orderColumn = "CreationTime", orderAsc = "false" }
  for key, value in pairs(filter) do
    local name = LIST_OPTIONS[key]
    if not name then
      error("vbr: unknown session filter '" .. tostring(key) .. "'", 3)
    end
    query[name] = tostring(value)
  end
  -- typeFilter (and resultFilter) became arrays in 1.3-rev0; one value is
  -- written the same way in both forms, typeFilter=ConfigurationBackup.
  local result, err = client:request("GET", "/api/v1/sessions", { query = query })
  if not result then return nil, err end
  local list = {}
  for i, model in ipairs(result.data or {}) do list[i] = session.wrap(client, model) end
  return list
end

--- A session: the `SessionModel`'s fields, and these methods.
-- @type Session

--- Reads the session again from the server.
-- @treturn Session itself, updated
function Session:refresh()
  local model, err = self.client:request("GET", "/api/v1/sessions/" .. self.id)
  if not model then return nil, err end
  fill(self, model)
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

--- The session log: an array of records (`title`, `status`, `startTime`...).
function Session:logs()
  local log, err = self.client:request("GET", "/api/v1/sessions/" .. self.id .. "/logs")
  if not log then return nil, err end
  return log.records or json.array()
end

--- Asks the server to stop the session (it answers with no session, so the
-- session is read again afterwards).
-- @treturn vbr.session itself, updated
function Session:stop()
  local ok, err = self.client:request("POST", "/api/v1/sessions/" .. self.id .. "/stop")
  if not ok then return nil, err end
  return self:refresh()
end

local WAIT_OPTIONS = { timeout = "number", interval = "number", max_interval = "number",
                       on_progress = "function" }

--- Waits for the session to stop, polling with a growing interval.
-- @tparam[opt] table options `timeout` (seconds, default 3600), `interval`
--   (first pause, default 1), `max_interval` (default 15), `on_progress`
--   (called with the session after every poll that changed its state or
--   progress)
-- @treturn[1] vbr.session the stopped session, when it ended in Success or
--   Warning
-- @return[2] nil, error: kind `"failed"` (the server's message; the session
--   in `err.session`), `"timeout"`, or what polling met
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
    local left = deadline - client.clock()
    if left <= 0 then
      return nil, client:new_error {
        kind = "timeout", method = "GET", path = "/api/v1/sessions/" .. self.id,
        message = format("session %s still %s at %s%% after %gs", self.id,
          tostring(self.state), tostring(self.progressPercent or 0), timeout),
        session = self,
      }
    end
    client.sleep(min(pause, left))
    pause = min(pause * 1.5, max_pause)
    local ok, err = self:refresh()
    if not ok and not err.retryable then return nil, err end
  end
  local outcome = self:outcome()
  if outcome == "Success" or outcome == "Warning" then return self end
  local message = type(self.result) == "table" and self.result.message or nil
  return nil, client:new_error {
    kind = "failed", method = "GET", path = "/api/v1/sessions/" .. self.id,
    message = format("session %s ended %s%s", self.id, tostring(outcome),
      (message and message ~= "") and (": " .. message) or ""),
    session = self,
  }
end

return session
