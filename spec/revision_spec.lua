-- vbr.revision: the facts of each known API revision (HANDBOOK section 3,
-- checked against the OpenAPI documents for the five documented ones).

local revision = require "vbr.revision"

describe("vbr.revision", function()
  -- { revision, day_case, time_style, has_last_day_of_month, grant_type_case,
  --   session_job_id_field, session_type_filter_is_array }
  local facts = {
    { "1.1-rev0", "lower", "12h", false, "lower", "activityId", false },
    { "1.1-rev1", "lower", "12h", false, "lower", "activityId", false },
    { "1.1-rev2", "lower", "12h", false, "lower", "activityId", false },
    { "1.2-rev0", "lower", "24h", false, "lower", "jobId", false },
    { "1.2-rev1", "lower", "24h", false, "lower", "jobId", false },
    { "1.3-rev0", "lower", "24h", true, "lower", "jobId", true },
    { "1.3-rev1", "capitalized", "24h_seconds", true, "capitalized", "jobId", true },
    { "1.3-rev2", "capitalized", "24h_seconds", true, "capitalized", "jobId", true },
  }
  for _, case in ipairs(facts) do
    it("knows " .. case[1], function()
      assert.same({
        name = case[1], day_case = case[2], time_style = case[3],
        has_last_day_of_month = case[4], grant_type_case = case[5],
        session_job_id_field = case[6], session_type_filter_is_array = case[7],
      }, revision.get(case[1]))
    end)
  end

  it("lists the known revisions oldest first", function()
    local names = {}
    for i, case in ipairs(facts) do names[i] = case[1] end
    assert.same(names, revision.known())
  end)

  it("hands out copies, so a caller cannot change the table", function()
    revision.get("1.3-rev2").day_case = "lower"
    assert.equal("capitalized", revision.get("1.3-rev2").day_case)
  end)

  for _, name in ipairs({ "1.3-rev3", "1.4-rev0", "1.3", "", "1.3-REV1" }) do
    it("refuses '" .. name .. "' and lists the known ones", function()
      local found, err = revision.get(name)
      assert.is_nil(found)
      assert.equal("unknown API revision '" .. name .. "' (known: 1.1-rev0, 1.1-rev1, "
        .. "1.1-rev2, 1.2-rev0, 1.2-rev1, 1.3-rev0, 1.3-rev1, 1.3-rev2)", err)
    end)
  end

  it("raises for a revision that is not a string", function()
    assert.has_error(function() revision.get(1.3) end,
      "vbr.revision.get: the revision must be a string, got number")
  end)
end)
