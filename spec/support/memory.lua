-- Spec helper: search the memory of another process (same user) for byte
-- strings, through /proc/<pid>/maps and /proc/<pid>/mem.
--
--   local memory = require "spec.support.memory"
--   local hits = memory.search(pid, { access = token, refresh = other })
--   -- {{name = "access", address = 0x..., region = "[heap]"}, ...}
local memory = {}

local CHUNK = 1024 * 1024
-- Larger mappings are ASan's shadow memory (terabytes, no data): skipped.
local LARGEST = 1024 * 1024 * 1024

-- The readable mappings: {from =, to =, name =}.
local function regions(pid)
  local list = {}
  for line in io.lines("/proc/" .. pid .. "/maps") do
    local from, to, perms, name = line:match("^(%x+)%-(%x+) (%S+) %S+ %S+ %S+%s*(.*)$")
    -- [vvar] and [vsyscall] cannot be read through mem
    if from and perms:sub(1, 1) == "r" and name ~= "[vvar]" and name ~= "[vsyscall]" then
      from, to = tonumber(from, 16), tonumber(to, 16)
      if to - from <= LARGEST then
        list[#list + 1] = { from = from, to = to, name = name }
      end
    end
  end
  return list
end

--- Every place in the process's readable memory where one of `needles`
-- (name -> byte string) occurs.
function memory.search(pid, needles)
  local longest = 0
  for _, needle in pairs(needles) do
    if #needle > longest then longest = #needle end
  end
  local hits = {}
  local mem = assert(io.open("/proc/" .. pid .. "/mem", "rb"))
  for _, region in ipairs(regions(pid)) do
    local at, tail = region.from, ""
    while at < region.to do
      local size = math.min(CHUNK, region.to - at)
      local chunk = mem:seek("set", at) and mem:read(size)
      if not chunk then break end               -- unreadable: a guard page
      local text = tail .. chunk
      local base = at - #tail
      for name, needle in pairs(needles) do
        local from = 1
        while true do
          local found = text:find(needle, from, true)
          if not found then break end
          -- a hit inside the overlap was found in the previous chunk
          if found + #needle - 1 > #tail then
            hits[#hits + 1] = { name = name, address = base + found - 1, region = region.name }
          end
          from = found + 1
        end
      end
      tail = text:sub(-(longest - 1))
      if longest <= 1 then tail = "" end
      at = at + #chunk
    end
  end
  mem:close()
  return hits
end

return memory
