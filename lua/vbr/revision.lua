--- The REST API revisions this library knows, and what differs between them.
--
-- A revision is the string sent in `x-api-version` (`"1.3-rev1"`). Each one
-- maps to a table of facts (see HANDBOOK section 3):
--
-- * `name`: the revision string itself;
-- * `day_case`: casing of `EDayOfWeek`: `"lower"` (`monday`) or
--   `"capitalized"` (`Monday`);
-- * `time_style`: how `localTime` is written: `"12h"` (`10:00 PM`),
--   `"24h"` (`22:00`) or `"24h_seconds"` (`22:00:00`);
-- * `has_last_day_of_month`: whether `ScheduleMonthlyModel` has
--   `isLastDayOfMonth`;
-- * `grant_type_case`: casing of `ELoginGrantType` (`"lower"`/`"capitalized"`);
-- * `session_job_id_field`: the `SessionModel` field naming the job
--   (`"activityId"` or `"jobId"`);
-- * `session_type_filter_is_array`: whether `GET /sessions` takes an array
--   in `typeFilter`.
--
-- 1.1-rev1 and 1.1-rev2 behave as 1.1-rev0, 1.2-rev0 as 1.2-rev1; the other
-- five were checked against their OpenAPI documents.
-- @module vbr.revision

local type, pairs, error, concat = type, pairs, error, table.concat

local revision = {}

local V1_1 = {
  day_case = "lower", time_style = "12h", has_last_day_of_month = false,
  grant_type_case = "lower", session_job_id_field = "activityId",
  session_type_filter_is_array = false,
}
local V1_2 = {
  day_case = "lower", time_style = "24h", has_last_day_of_month = false,
  grant_type_case = "lower", session_job_id_field = "jobId",
  session_type_filter_is_array = false,
}
local V1_3_REV0 = {
  day_case = "lower", time_style = "24h", has_last_day_of_month = true,
  grant_type_case = "lower", session_job_id_field = "jobId",
  session_type_filter_is_array = true,
}
local V1_3_REV1 = {
  day_case = "capitalized", time_style = "24h_seconds", has_last_day_of_month = true,
  grant_type_case = "capitalized", session_job_id_field = "jobId",
  session_type_filter_is_array = true,
}

-- Oldest first; the order of `revision.known()` and of error messages.
local KNOWN = {
  { "1.1-rev0", V1_1 }, { "1.1-rev1", V1_1 }, { "1.1-rev2", V1_1 },
  { "1.2-rev0", V1_2 }, { "1.2-rev1", V1_2 },
  { "1.3-rev0", V1_3_REV0 }, { "1.3-rev1", V1_3_REV1 }, { "1.3-rev2", V1_3_REV1 },
}

local facts_by_name, names = {}, {}
for i = 1, #KNOWN do
  facts_by_name[KNOWN[i][1]] = KNOWN[i][2]
  names[i] = KNOWN[i][1]
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
  local copy = { name = name }
  for key, value in pairs(facts) do copy[key] = value end
  return copy
end

return revision
