local json = require "vbr.json"
local model = require "vbr.model"
local revision_lib = require "vbr.revision"
local example = require "spec.support.settings_example"
local bad_settings = require "spec.support.bad_settings"
local same_json = require "spec.support.json_equal"

local REVISIONS = { "1.1-rev0", "1.2-rev1", "1.3-rev0", "1.3-rev1", "1.3-rev2" }

describe("vbr.model.check", function()
  for _, name in ipairs(REVISIONS) do
    local revision = assert(revision_lib.get(name))

    it("passes the documented example unchanged in " .. name, function()
      local settings = example(name)
      local out, problems = model.check(settings, revision)
      assert.is_nil(problems)
      local same, difference = same_json(json.encode(settings), json.encode(out))
      assert(same, difference)
    end)

    it("writes enum values and times in the casing and style of " .. name, function()
      local settings = example(name)
      settings.schedule.daily.days = { "MONDAY", "tuesday", "Friday" }
      settings.schedule.daily.dailyKind = "selecteddays"
      settings.schedule.daily.localTime = "6:30 pm"
      settings.notifications.SMTPSettings.settingsType = "GLOBAL"
      local out = assert(model.check(settings, revision))
      local monday = revision.day_case == "capitalized" and "Monday" or "monday"
      assert.equal(monday, out.schedule.daily.days[1])
      assert.equal("SelectedDays", out.schedule.daily.dailyKind)
      assert.equal("Global", out.notifications.SMTPSettings.settingsType)
      local expected = { ["12h"] = "6:30 PM", ["24h"] = "18:30", ["24h_seconds"] = "18:30:00" }
      assert.equal(expected[revision.time_style], out.schedule.daily.localTime)
      assert.is_true(json.is_array(out.schedule.daily.days))
    end)

    for _, case in ipairs(bad_settings) do
      local path, spoil = case[1], case[2]
      it("refuses a bad " .. path .. " in " .. name, function()
        local settings = example(name)
        spoil(settings, revision)
        local out, problems = model.check(settings, revision)
        assert.is_nil(out)
        local paths = {}
        for _, problem in ipairs(problems) do
          paths[#paths + 1] = problem.path
          assert.is_string(problem.message)
        end
        assert.same({ path }, paths)
      end)
    end
  end

  it("mirrors the time style the server used, whatever the revision", function()
    local settings = example("1.3-rev2")
    local out = assert(model.check(settings, assert(revision_lib.get("1.3-rev2")), "24h"))
    assert.equal("10:00", out.schedule.daily.localTime)
    assert.equal("24h_seconds", model.time_style_of(settings))
  end)

  it("keeps fields it does not know, nulls and empty arrays", function()
    local text = json.encode(example("1.3-rev0")):gsub("^{", '{"futureField":{"a":[],"b":null},')
    local settings = assert(json.decode(text))
    local out = assert(model.check(settings, assert(revision_lib.get("1.3-rev0"))))
    local same, difference = same_json(text, json.encode(out))
    assert(same, difference)
  end)

  it("does not change the table it checks", function()
    local settings = example("1.3-rev2")
    settings.schedule.daily.days = { "MONDAY" }
    assert(model.check(settings, assert(revision_lib.get("1.3-rev2"))))
    assert.same({ "MONDAY" }, settings.schedule.daily.days)
  end)

  it("lists every problem at once, sorted by path", function()
    local settings = example("1.1-rev0")
    settings.restorePointsToKeep = 0
    settings.encryption.passwordId = "x"
    settings.schedule.daily.localTime = "25:00"
    local _, problems = model.check(settings, assert(revision_lib.get("1.1-rev0")))
    assert.same({ "encryption.passwordId", "restorePointsToKeep", "schedule.daily.localTime" },
      { problems[1].path, problems[2].path, problems[3].path })
    assert.matches("from 1 to 255", problems[2].message)
  end)

  it("names the allowed values of an enum", function()
    local settings = example("1.3-rev1")
    settings.schedule.monthly.dayOfWeek = "funday"
    local _, problems = model.check(settings, assert(revision_lib.get("1.3-rev1")))
    assert.matches("'Monday', 'Tuesday'", problems[1].message)
    assert.matches("'funday'", problems[1].message)
  end)
end)
