--- Runs one task per item, each in its own coroutine, at most `concurrency`
-- at a time, and hands back the results in item order.
--
-- A task is ordinary sequential code. When its transport can wait for many
-- requests at once (`vbr.multi`), a request in flight yields the task's
-- coroutine, and so does a sleep; the runner then resumes whichever task
-- can go on. With a blocking transport a task never yields and the tasks
-- simply run one after the other: the same runner, driven sequentially.
--
-- What a task yields:
--
-- * `"wait", token`: its transport gave the `loop` a transfer; the runner
--   resumes the task with what `loop:wait` reports for that token;
-- * `"sleep", seconds`: resumed after that long (other tasks run meanwhile).
--
-- @module vbr.fleet.runner

local core = require "vbr.core"

local type, tostring, tonumber, error, ipairs, pairs =
      type, tostring, tonumber, error, ipairs, pairs
local sort = table.sort
local create, resume, status, yield = coroutine.create, coroutine.resume, coroutine.status,
                                      coroutine.yield
local traceback, huge, max, min, format = debug.traceback, math.huge, math.max, math.min,
                                          string.format

local runner = {}

-- Marks the values a task yields to the runner (and nothing else does).
local MARK = {}

--- Yields the running task until `loop:wait` reports `token` done.
-- @return what the loop reported for it
function runner.wait(token)
  return yield(MARK, "wait", token)
end

--- Sleeps inside a task: other tasks run meanwhile.
function runner.sleep(seconds)
  return yield(MARK, "sleep", seconds)
end

--- True inside a task of a runner driven by `loop` (so a wait for one of
-- its transfers, or a sleep, may yield to the runner).
function runner.yieldable(loop)
  local task = runner.current
  return task ~= nil and task.loop == loop and loop ~= nil and task.co == coroutine.running()
end

local function timeout_error(index, seconds)
  return core.error { kind = "timeout", retryable = false,
    message = format("the task of item %d passed its deadline of %gs", index, seconds) }
end

--- Runs `task(index, context)` for index = 1..count.
-- @tparam integer count how many items
-- @tparam function task returns a value, or `nil, err`; `context.close`, if
--   the task sets it, is called when the task is abandoned at its deadline
-- @tparam[opt] table options `concurrency` (default 16), `deadline` (seconds
--   per task, from its start; nil for none), `on_result(index, result, done,
--   count)`, `loop` (an event loop: `now()`, `wait(timeout)` -> list of
--   `{token, value}`, `cancel(token)`), `clock` (seconds, default
--   `vbr.core.monotonic`), `sleep` (without a loop, default `vbr.core.sleep`)
-- @treturn {table,...} per index `{ ok = true, value = v, seconds = s }` or
--   `{ ok = false, err = e, seconds = s }`
function runner.run(count, task, options)
  options = options or {}
  local concurrency = options.concurrency or 16
  if type(concurrency) ~= "number" or concurrency < 1 or concurrency % 1 ~= 0 then
    error("vbr.fleet: concurrency must be a whole number >= 1, got " .. tostring(concurrency), 2)
  end
  local deadline = options.deadline
  if deadline ~= nil and (type(deadline) ~= "number" or deadline <= 0) then
    error("vbr.fleet: deadline must be seconds > 0, got " .. tostring(deadline), 2)
  end
  local loop = options.loop
  local clock = options.clock or (loop and function() return loop:now() end) or core.monotonic
  local sleep = options.sleep or core.sleep
  local on_result = options.on_result

  local results, done, next_index = {}, 0, 1
  -- The running tasks in start order: their deadlines come in that order
  -- too (start + the same deadline), so the earliest is the first one.
  local active, head = {}, 1
  local waiting = {}        -- token -> task record
  local sleepers = {}       -- task record -> true, while it sleeps
  local running_count = 0

  local function finish(record, result)
    if record.finished then return end
    record.finished = true
    running_count = running_count - 1
    if record.token then waiting[record.token] = nil end
    sleepers[record] = nil
    -- its coroutine and client go now, though the record waits in `active`
    -- behind an older task still running
    record.co, record.context = nil, nil
    result.seconds = clock() - record.started
    results[record.index] = result
    done = done + 1
    if on_result then on_result(record.index, result, done, count) end
  end

  -- Resumes a task; returns when it yields to the runner or ends.
  local function step(record, ...)
    runner.current = record
    local ok, first, kind, argument = resume(record.co, ...)
    runner.current = nil
    -- a Ctrl-C (core.interrupt, in the command line) ends the run, not a task
    if not ok and core.interrupt and first == core.interrupt.ERROR then error(first, 0) end
    if not ok then
      return finish(record, { ok = false, err = core.error { kind = "internal",
        message = "the task raised: " .. traceback(record.co, tostring(first)) } })
    end
    if status(record.co) == "dead" then
      if first ~= nil then return finish(record, { ok = true, value = first }) end
      return finish(record, { ok = false, err = kind })
    end
    if first ~= MARK then
      return finish(record, { ok = false, err = core.error { kind = "internal", message =
        "a fleet task yielded from a coroutine of its own; call the client only from the "
        .. "task's own coroutine" } })
    end
    record.token, record.wake = nil, nil
    if kind == "wait" then
      if not loop then error("vbr.fleet: a task waited for a transfer without a loop", 0) end
      record.token = argument
      waiting[argument] = record
    else
      record.wake = clock() + max(0, tonumber(argument) or 0)
      sleepers[record] = true
    end
  end

  local function start(index)
    local record = { index = index, context = {}, loop = loop }
    record.co = create(function()
      return task(index, record.context)
    end)
    record.started = clock()
    record.deadline = deadline and (record.started + deadline) or huge
    active[#active + 1] = record
    running_count = running_count + 1
    step(record)
  end

  local function fill()
    while running_count < concurrency and next_index <= count do
      next_index = next_index + 1
      start(next_index - 1)
    end
  end

  -- The oldest task still running (the finished ones before it dropped).
  local function oldest()
    while active[head] and active[head].finished do
      active[head] = nil
      head = head + 1
    end
    return active[head]
  end

  -- The sleepers due now, in start order.
  local function due(now)
    local list = {}
    for record in pairs(sleepers) do
      if record.wake <= now then list[#list + 1] = record end
    end
    sort(list, function(a, b) return a.index < b.index end)
    return list
  end

  fill()
  while running_count > 0 do
    local first = oldest()
    local soonest = first and first.deadline or huge
    for record in pairs(sleepers) do soonest = min(soonest, record.wake) end
    local timeout = max(0, soonest - clock())
    if loop then
      local reported = loop:wait(timeout == huge and 1 or timeout)
      for i = 1, #reported do
        local record = waiting[reported[i][1]]
        if record then
          waiting[record.token] = nil
          record.token = nil
          step(record, reported[i][2])
        end
      end
    elseif timeout > 0 and timeout < huge then
      sleep(timeout)
    end
    local now = clock()
    for _, record in ipairs(due(now)) do
      if not record.finished then
        sleepers[record], record.wake = nil, nil
        step(record)
      end
    end
    first = oldest()
    while first and first.deadline <= now do
      if first.token and loop then loop:cancel(first.token) end
      local close = first.context.close
      if type(close) == "function" then close() end
      finish(first, { ok = false, err = timeout_error(first.index, deadline) })
      first = oldest()
    end
    fill()
  end
  return results
end

return runner
