-- Spec helper: shell commands and files, the same way in every spec.
local shell = {}

--- `s` quoted for a POSIX shell.
function shell.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Runs a shell command: true when it exits 0, and what it printed (stdout
-- and stderr). The exit status is read from the output, since LuaJIT's
-- pipe:close() hides it.
function shell.run(command)
  local pipe = assert(io.popen("(" .. command .. ") 2>&1; echo \"exit=$?\""))
  local output = pipe:read("*a")
  pipe:close()
  local text, code = output:match("^(.-)exit=(%d+)%s*$")
  return code == "0", text
end

--- The contents of a file, or nil when it cannot be read.
function shell.read(path)
  local file = io.open(path, "rb")
  if not file then return nil end
  local text = file:read("*a")
  file:close()
  return text
end

--- Writes a file whole.
function shell.write(path, text)
  local file = assert(io.open(path, "wb"))
  file:write(text)
  file:close()
end

return shell
