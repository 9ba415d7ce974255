--- The libcurl multi transport: the requests of many clients in flight at
-- once in one process, each client with its own connection, tokens,
-- retries and timeouts.
--
--     local multi = require "vbr.multi"
--     local loop = multi.loop()
--     local client = assert(vbr.connect { url = ..., transport = loop })
--
-- A client on a loop is an ordinary client: inside a task of
-- `vbr.fleet.runner` (which is what `vbr.fleet` runs each server's work in)
-- a request yields the task while it is in flight, and `client.sleep` (a
-- session's `wait`) yields too, so the other tasks go on; outside a task
-- the request simply waits for its own answer. The C engine decides
-- everything, as with the blocking transport: the core's `core.multi` runs
-- the jobs (`src/transport_multi.c`), Lua only waits for their ends.
-- @module vbr.multi

local core = require "vbr.core"
local runner = require "vbr.fleet.runner"

local setmetatable, ipairs = setmetatable, ipairs

local multi = {}

local Loop = {}
Loop.__index = Loop

--- A new loop (one libcurl multi handle).
function multi.loop()
  return setmetatable({ handle = core.multi(), stash = {} }, Loop)
end

--- Seconds of the monotonic clock (the runner's clock).
function Loop:now()
  return core.monotonic()
end

--- Waits at most `timeout` seconds for jobs to end; returns `{id, outcome}`
-- pairs (`outcome.response` or `outcome.err`).
function Loop:wait(timeout)
  local out = self.stash
  self.stash = {}
  local ended = self.handle:poll(#out > 0 and 0 or timeout)
  for _, outcome in ipairs(ended) do out[#out + 1] = { outcome.id, outcome } end
  return out
end

--- Ends a job in flight (its outcome is not reported).
function Loop:cancel(id)
  self.handle:cancel(id)
end

--- Jobs in flight.
function Loop:count()
  return self.handle:count()
end

--- Ends every job in flight and frees the multi handle.
function Loop:close()
  self.handle:close()
end

-- Waits for one job's outcome: yields the task inside a runner, else polls
-- until it ends (keeping the others' outcomes for the next wait).
function Loop:run(job)
  local id = self.handle:add(job)
  if runner.yieldable(self) then return runner.wait(id) end
  while true do
    local ended = self.handle:poll(1)
    local mine
    for _, outcome in ipairs(ended) do
      if outcome.id == id then mine = outcome
      else self.stash[#self.stash + 1] = { outcome.id, outcome } end
    end
    if mine then return mine end
  end
end

local Transport = {}
Transport.__index = Transport

local function outcome_of(outcome)
  if outcome.err then return nil, outcome.err end
  return outcome.response
end

--- Sends one API request (the contract of `vbr.core`'s `request`).
function Transport:request(method, path, options)
  return outcome_of(self.loop:run(self.core:begin(method, path, options)))
end

--- Logs in with the password.
function Transport:login()
  return outcome_of(self.loop:run(self.core:begin_login()))
end

--- Logs out: the server forgets both tokens.
function Transport:logout()
  return outcome_of(self.loop:run(self.core:begin_logout()))
end

--- Puts a `vbr` client on this loop and logs it in (`vbr.connect` calls it
-- for the option `transport`): its requests and sleeps yield inside a task.
-- @return true, or nil, err when the login fails
function Loop:attach(client)
  client.transport = setmetatable({ core = client.core, loop = self }, Transport)
  client.sleep = function(seconds)
    if runner.yieldable(self) then return runner.sleep(seconds) end
    return core.sleep(seconds)
  end
  return client.transport:login()
end

return multi
