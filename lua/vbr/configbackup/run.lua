--- The methods of `vbr.configbackup` that run a backup (`running`,
-- `start`): loaded by `vbr.configbackup` when one of them is first used,
-- not required directly.
-- @submodule vbr.configbackup

local answer = require "vbr.answer"

-- vbr.session is loaded on first use.
local session_lib = setmetatable({}, { __index = function(_, key)
  return require("vbr.session")[key]
end })

local type, pairs, ipairs, error = type, pairs, ipairs, error

local PATH = "/api/v1/configBackup"

-- The methods, put into the class by vbr.configbackup.
local ConfigBackup = {}

-- The configuration backup sessions, newest first (a page: enough to see
-- the running one and the one a start just created).
local function backup_sessions(client)
  return session_lib.list(client, { type = "ConfigurationBackup", limit = 20 })
end

-- Whether a listed session runs: not stopped, and of the wanted type (a
-- server may list others despite the filter; they say nothing of this job).
local function runs(session)
  return session.state ~= "Stopped"
    and (session.sessionType == nil or session.sessionType == "ConfigurationBackup")
end

-- Why the session a start answered with is not the one it started (nil when
-- it is): following another one would report its end as this backup's.
local function not_this_start(session, known)
  -- (one still running may be named with force = true: it is this job's run)
  if known[session.id] == "Stopped" then
    return "the session it names (" .. session.id .. ") had ended before the start"
  end
  if session.sessionType ~= nil and session.sessionType ~= "ConfigurationBackup" then
    return "the session it names is of type " .. session.sessionType
      .. ", not ConfigurationBackup"
  end
  return nil
end

--- The configuration backup session that is running now, if any.
-- @treturn[1] vbr.session the running session
-- @treturn[2] false when none runs
-- @return[3] nil, error
function ConfigBackup:running()
  local list, err = backup_sessions(self.client)
  if not list then return nil, err end
  for _, session in ipairs(list) do
    if runs(session) then return session end
  end
  return false
end

--- Starts a configuration backup now.
-- @tparam[opt] table options `force = true` starts even when a session is
--   already running (what the server then does is undocumented)
-- @treturn vbr.session the new session; `session:wait()` follows it
-- @return[2] nil, err; when the answer was lost after sending, or came
--   without a usable session (`err.outcome_unknown`), the start is not sent
--   again, and `err.session` is the session it created, if the server shows
--   one
function ConfigBackup:start(options)
  options = options or {}
  if type(options) ~= "table" then
    error("vbr: configbackup:start expects an options table, got " .. type(options), 2)
  end
  for key in pairs(options) do
    if key ~= "force" then error("vbr: configbackup:start: unknown option '" .. key .. "'", 2) end
  end
  local client = self.client
  -- The sessions before the start: a start whose outcome is unknown (the
  -- connection broke after sending) finds the one it created among the rest.
  local before, err = backup_sessions(client)
  if not before then return nil, err end
  local known = {}
  for _, listed in ipairs(before) do
    known[listed.id] = listed.state
    if runs(listed) and not options.force then
      return nil, client:new_error {
        kind = "conflict",
        method = "POST", path = PATH .. "/backup",
        message = "a configuration backup is already running (session " .. listed.id
          .. ", " .. listed.state .. "); wait for it, or pass force = true",
        session = listed,
      }
    end
  end
  local started, session
  started, err = client:request("POST", PATH .. "/backup")
  if started then
    session, err = session_lib.wrap(client, started, "POST", PATH .. "/backup")
    local why = session and not_this_start(session, known)
    if session and not why then return session end
    if why then err = answer.unexpected(client, "POST", PATH .. "/backup", why) end
  end
  -- Lost after sending, or accepted with an unusable answer: never sent
  -- again, but if it did start, say so and hand over the session.
  if err.outcome_unknown or (err.kind == "decode" and (err.status or 200) < 300) then
    err.outcome_unknown = true
    local after = backup_sessions(client)
    for _, created in ipairs(after or {}) do
      if not known[created.id] then
        err.session = created
        err.message = err.message .. "; the backup did start: session " .. created.id
        break
      end
    end
  end
  return nil, err
end

return ConfigBackup
