--- The REST API revisions this library knows, and what differs between them.
--
-- A revision is the string sent in `x-api-version` (`"1.3-rev1"`). Each one
-- maps to a table of facts (see HANDBOOK section 3):
--
-- * `name`: the revision string itself;
-- * `day_case`: casing of `EDayOfWeek`: `"lower"` (`monday`) or
--   `"capitalized"` (`Monday`);
-- * `document`: the official OpenAPI document that describes it (1.1-rev1
--   and 1.1-rev2 have none of their own and speak as 1.1-rev0, 1.2-rev0 as
--   1.2-rev1: the core's revision table says so); `vbr.model.schemas` holds
--   its ConfigBackupModel;
-- * `vbr`: the first VBR version that speaks it (`"12.3.1"`);
-- * `has_last_day_of_month`: whether `ScheduleMonthlyModel` has
--   `isLastDayOfMonth`;
-- * `session_type_filter_is_array`: whether `GET /sessions` takes an array
--   in `typeFilter`.
--
-- The revisions and their documents are the core's (`vbr.core.all_revisions`,
-- the table the engine's "auto" picks from); their facts are here, but for
-- the login's grant type casing, which only the engine uses and knows.
-- @module vbr.revision

local core = require "vbr.core"

local type, pairs, error, tonumber, tostring, concat =
      type, pairs, error, tonumber, tostring, table.concat
local find, gmatch, max = string.find, string.gmatch, math.max

local revision = {}

local UP_TO_1_2 = {
  day_case = "lower", has_last_day_of_month = false, session_type_filter_is_array = false,
}
local V1_3_REV0 = {
  day_case = "lower", has_last_day_of_month = true, session_type_filter_is_array = true,
}
local V1_3_REV1 = {
  day_case = "capitalized", has_last_day_of_month = true, session_type_filter_is_array = true,
}

-- The facts of each revision, and the first VBR version speaking it.
local FACTS = {
  ["1.1-rev0"] = { UP_TO_1_2, "12.0" }, ["1.1-rev1"] = { UP_TO_1_2, "12.1" },
  ["1.1-rev2"] = { UP_TO_1_2, "12.2" },
  ["1.2-rev0"] = { UP_TO_1_2, "12.3.0" }, ["1.2-rev1"] = { UP_TO_1_2, "12.3.1" },
  ["1.3-rev0"] = { V1_3_REV0, "13.0.0" }, ["1.3-rev1"] = { V1_3_REV1, "13.0.1" },
  ["1.3-rev2"] = { V1_3_REV1, "13.1" },
}

-- Oldest first (the core lists them newest first): the order of
-- `revision.known()` and of error messages.
local facts_by_name, names, first_vbr, document_of = {}, {}, {}, {}
for i = #core.all_revisions, 1, -1 do
  local known = core.all_revisions[i]
  local row = FACTS[known.name] or error("vbr.revision: no facts of " .. known.name)
  facts_by_name[known.name], first_vbr[known.name] = row[1], row[2]
  document_of[known.name] = known.document
  names[#names + 1] = known.name
end

-- "12.3.1.1139" -> {12, 3, 1, 1139}, or nil.
local function version_numbers(text)
  if type(text) ~= "string" or not find(text, "^%d+[%d.]*$") then return nil end
  local numbers = {}
  for part in gmatch(text, "%d+") do numbers[#numbers + 1] = tonumber(part) end
  return numbers
end

-- Whether version `a` comes before `b` (missing parts count as 0).
local function version_before(a, b)
  for i = 1, max(#a, #b) do
    local x, y = a[i] or 0, b[i] or 0
    if x ~= y then return x < y end
  end
  return false
end

--- The oldest revision with `monthly.isLastDayOfMonth`.
revision.FIRST_WITH_LAST_DAY_OF_MONTH = "1.3-rev0"

--- The known revision strings, oldest first (a new list on every call).
-- @treturn {string,...}
function revision.known()
  local list = {}
  for i = 1, #names do list[i] = names[i] end
  return list
end

--- The facts of one revision.
-- @tparam string name a revision such as `"1.3-rev1"`
-- @treturn table a fresh copy of the facts (see the module comment), or
--   `nil` and a message listing the known revisions
function revision.get(name)
  if type(name) ~= "string" then
    error("vbr.revision.get: the revision must be a string, got " .. type(name), 2)
  end
  local facts = facts_by_name[name]
  if not facts then
    return nil, "unknown API revision '" .. name .. "' (known: "
      .. concat(names, ", ") .. ")"
  end
  local copy = { name = name, vbr = first_vbr[name], document = document_of[name] }
  for key, value in pairs(facts) do copy[key] = value end
  return copy
end

--- Whether revision `a` is older than revision `b` (both known).
function revision.older(a, b)
  local position = {}
  for i = 1, #names do position[names[i]] = i end
  if not position[a] or not position[b] then
    error("vbr.revision.older: unknown revision " .. tostring(position[a] and b or a), 2)
  end
  return position[a] < position[b]
end

--- The newest known revision a VBR build speaks, from the `buildVersion`
-- of its serverInfo (`"13.0.1.180"` -> `"1.3-rev1"`).
-- @treturn[1] string the revision
-- @treturn[1] boolean true when the build is newer than every VBR this
--   module knows (it may speak revisions newer than the one returned)
-- @return[2] nil when the text is no build number or older than VBR 12
function revision.of_build(build)
  local numbers = version_numbers(build)
  if not numbers then return nil end
  local found
  for i = 1, #names do
    if not version_before(numbers, version_numbers(first_vbr[names[i]])) then found = names[i] end
  end
  if not found then return nil end
  -- A newer release line than the newest known one (13.2 or 14 after 13.1).
  local newest = version_numbers(first_vbr[names[#names]])
  local line = { numbers[1], numbers[2] or 0 }
  return found, found == names[#names] and version_before(newest, line)
end

return revision
