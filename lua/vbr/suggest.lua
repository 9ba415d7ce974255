--- "Did you mean": the known word a mistyped one was most likely meant to be.
-- @internal vbr.suggest

local ipairs, min, max, floor, lower = ipairs, math.min, math.max, math.floor, string.lower

-- Steps (insertions, deletions, substitutions) from `a` to `b`: Levenshtein.
local function distance(a, b)
  local previous = {}
  for j = 0, #b do previous[j] = j end
  for i = 1, #a do
    local current, byte = { [0] = i }, a:byte(i)
    for j = 1, #b do
      local cost = byte == b:byte(j) and 0 or 1
      current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
    end
    previous = current
  end
  return previous[#b]
end

--- The candidate nearest to `word` (case-insensitive), when it is near enough
-- to be a typo: at most one edit in three letters, and never more than three.
-- Ties go to the first in alphabetical order, so the answer never depends on
-- the order of `candidates`.
-- @tparam string word what was given
-- @tparam {string,...} candidates what exists
-- @treturn string|nil
local function suggest(word, candidates)
  local wanted = lower(word)
  local limit = min(3, max(1, floor(#word / 3)))
  local best, best_distance
  for _, candidate in ipairs(candidates) do
    local d = distance(wanted, lower(candidate))
    if d <= limit and (not best_distance or d < best_distance
        or (d == best_distance and candidate < best)) then
      best, best_distance = candidate, d
    end
  end
  return best
end

return suggest
