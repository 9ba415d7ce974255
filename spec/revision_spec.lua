-- vbr.revision: the facts of each known API revision (HANDBOOK section 3,
-- checked against the OpenAPI documents for the five documented ones).

local revision = require "vbr.revision"
local schemas = require "vbr.model.schemas"

describe("vbr.revision", function()
  -- { revision, document, first VBR, day_case, has_last_day_of_month,
  --   session_type_filter_is_array }
  local facts = {
    { "1.1-rev0", "1.1-rev0", "12.0", "lower", false, false },
    { "1.1-rev1", "1.1-rev0", "12.1", "lower", false, false },
    { "1.1-rev2", "1.1-rev0", "12.2", "lower", false, false },
    { "1.2-rev0", "1.2-rev1", "12.3.0", "lower", false, false },
    { "1.2-rev1", "1.2-rev1", "12.3.1", "lower", false, false },
    { "1.3-rev0", "1.3-rev0", "13.0.0", "lower", true, true },
    { "1.3-rev1", "1.3-rev1", "13.0.1", "capitalized", true, true },
    { "1.3-rev2", "1.3-rev2", "13.1", "capitalized", true, true },
  }
  for _, case in ipairs(facts) do
    it("knows " .. case[1], function()
      assert.same({
        name = case[1], document = case[2], vbr = case[3], day_case = case[4],
        has_last_day_of_month = case[5], session_type_filter_is_array = case[6],
      }, revision.get(case[1]))
    end)
  end

  -- The facts that are about the configuration backup model, against the
  -- model the documents define (vbr.model.schemas, generated from them).
  for _, case in ipairs(facts) do
    it("agrees with the document of " .. case[1], function()
      local document = assert(schemas[case[2]], "no schema for " .. case[2])
      local monday = document.EDayOfWeek.enum[1]
      assert.equal(case[4], monday == "monday" and "lower" or "capitalized")
      assert.equal(case[5], document.ScheduleMonthlyModel.properties.isLastDayOfMonth ~= nil)
    end)
  end

  it("tells the newest revision of a VBR build", function()
    local cases = {
      { "12.0.0.1420", "1.1-rev0", false }, { "12.1.2.172", "1.1-rev1", false },
      { "12.2.0.334", "1.1-rev2", false }, { "12.3.0.310", "1.2-rev0", false },
      { "12.3.1.1139", "1.2-rev1", false }, { "12.3.2.3617", "1.2-rev1", false },
      { "13.0.0.4967", "1.3-rev0", false }, { "13.0.1.180", "1.3-rev1", false },
      { "13.1.0.1016", "1.3-rev2", false }, { "13.2.0.100", "1.3-rev2", true },
      { "14.0.0.1", "1.3-rev2", true },
    }
    for _, case in ipairs(cases) do
      local found, newer = revision.of_build(case[1])
      assert.same({ case[2], case[3] }, { found, newer }, case[1])
    end
    for _, bad in ipairs { "11.0.1.1261", "", "13.x", "latest" } do
      assert.is_nil(revision.of_build(bad), bad)
    end
    assert.is_nil(revision.of_build(nil))
    assert.is_nil(revision.of_build(13))
  end)

  it("orders revisions", function()
    assert.is_true(revision.older("1.1-rev0", "1.3-rev1"))
    assert.is_false(revision.older("1.3-rev1", "1.3-rev1"))
    assert.is_false(revision.older("1.3-rev2", "1.2-rev1"))
    assert.has_error(function() revision.older("1.4-rev0", "1.3-rev1") end)
  end)

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
