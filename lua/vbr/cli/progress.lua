--- Progress of a session: a bar redrawn in place on a terminal, one line per
-- change otherwise (a log file or a pipe must not fill with carriage returns).
--
--     [##############----------------]  45%  Working
-- @internal vbr.cli.progress

local type, tostring, setmetatable = type, tostring, setmetatable
local floor, max, min, format, rep = math.floor, math.max, math.min, string.format, string.rep

local WIDTH = 30

local Progress = {}
Progress.__index = Progress

local progress = {}

--- A progress display writing to `stream`.
-- @param stream anything with `:write`
-- @tparam boolean terminal whether `stream` is a terminal
function progress.new(stream, terminal)
  return setmetatable({ stream = stream, terminal = terminal, drawn = false }, Progress)
end

local function percent_of(session)
  local value = type(session.progressPercent) == "number" and session.progressPercent or 0
  if session.state == "Stopped" and value < 100 and session.result
      and type(session.result) == "table" and session.result.result == "Success" then
    value = 100
  end
  return max(0, min(100, floor(value)))
end

--- Shows the session's state and progress (`on_progress` of `session:wait`).
function Progress:update(session)
  local percent = percent_of(session)
  local state = require("vbr").printable(tostring(session.state or "?"))   -- server text
  if self.terminal then
    local filled = floor(percent * WIDTH / 100)
    self.stream:write(format("\r[%s%s] %3d%%  %-10s", rep("#", filled), rep("-", WIDTH - filled),
      percent, state))
    self.drawn = true
  else
    self.stream:write(format("%s %d%%\n", state, percent))
  end
  if self.stream.flush then self.stream:flush() end
end

--- Ends the bar's line, so that what follows starts on a fresh one.
function Progress:finish()
  if self.terminal and self.drawn then
    self.stream:write("\n")
    self.drawn = false
  end
end

return progress
