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

    it("passes the documented example unchanged in " .. name .. ", but for HH:MM:SS", function()
      local settings = example(name)
      local out, problems = model.check(settings, revision)
      assert.is_nil(problems)
      settings.schedule.daily.localTime = "10:00:00"
      settings.schedule.monthly.localTime = "22:00:00"
      local same, difference = same_json(json.encode(settings), json.encode(out))
      assert(same, difference)
    end)

    it("writes enum values in the casing of " .. name .. " and times as HH:MM:SS", function()
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
      assert.equal("18:30:00", out.schedule.daily.localTime)
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

  it("writes HH:MM:SS whatever style the server or the user wrote", function()
    for _, written in ipairs { "10:00 AM", "10:00", "10:00:00", "10 am" } do
      local settings = example("1.1-rev0")
      settings.schedule.daily.localTime = written
      local out = assert(model.check(settings, assert(revision_lib.get("1.1-rev0"))))
      assert.equal("10:00:00", out.schedule.daily.localTime, written)
    end
  end)

  it("keeps fields it does not know when the server sent them, nulls and empty arrays",
    function()
      local text = json.encode(example("1.3-rev0"))
        :gsub("^{", '{"futureField":{"a":[],"b":null},')
      local settings = assert(json.decode(text))
      local server = assert(json.decode(text))
      local out = assert(model.check(settings, assert(revision_lib.get("1.3-rev0")), server))
      local same, difference = same_json(text:gsub("10:00\"", "10:00:00\"")
        :gsub("22:00\"", "22:00:00\""), json.encode(out))
      assert(same, difference)
    end)

  it("refuses a field neither the schema nor the server knows, saying what was meant",
    function()
      local settings = example("1.3-rev2")
      settings.restorePointsToKep = 12
      settings.schedule.daily.LocalTime = "22:00"
      settings.futureField = true
      local _, problems = model.check(settings, assert(revision_lib.get("1.3-rev2")),
        example("1.3-rev2"))
      assert.same({ "futureField", "restorePointsToKep", "schedule.daily.LocalTime" },
        { problems[1].path, problems[2].path, problems[3].path })
      assert.matches("not a field", problems[1].message)
      assert.not_matches("did you mean", problems[1].message)
      assert.matches("did you mean 'restorePointsToKeep'", problems[2].message, 1, true)
      assert.matches("did you mean 'schedule.daily.localTime'", problems[3].message, 1, true)
    end)

  it("names the revision that has a field the client's lacks", function()
    local settings = example("1.2-rev1")
    settings.schedule.monthly.isLastDayOfMonth = false
    local _, problems = model.check(settings, assert(revision_lib.get("1.2-rev1")))
    assert.equal("schedule.monthly.isLastDayOfMonth", problems[1].path)
    assert.matches("needs API revision 1.3-rev0 or later (this client speaks 1.2-rev1)",
      problems[1].message, 1, true)
  end)

  it("lists what an older revision lacks", function()
    assert.same({ "schedule.monthly.isLastDayOfMonth" }, model.lacks("1.1-rev0", "1.3-rev2"))
    assert.same({ "schedule.monthly.isLastDayOfMonth" }, model.lacks("1.2-rev1", "1.3-rev0"))
    assert.same({}, model.lacks("1.3-rev1", "1.3-rev2"))
    assert.same({}, model.lacks("1.3-rev2", "1.1-rev0"))
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

describe("vbr.model.schemas", function()
  it("is what scripts/gen-model-schemas makes of the official documents", function()
    local pipe = assert(io.popen("lua5.4 scripts/gen-model-schemas simulator/openapi"))
    local generated = pipe:read("*a")
    pipe:close()
    local file = assert(io.open("lua/vbr/model/schemas.lua", "rb"))
    local stored = file:read("*a")
    file:close()
    assert.is_true(#generated > 1000)
    assert.equal(generated, stored, "run scripts/gen-model-schemas > lua/vbr/model/schemas.lua")
  end)

  it("has each document's ConfigBackupModel with its seven required fields", function()
    local schemas = require "vbr.model.schemas"
    for _, name in ipairs(REVISIONS) do
      local root = schemas[name].ConfigBackupModel
      assert.equal(7, #root.required, name)
      assert.equal("ConfigBackupScheduleModel", root.properties.schedule.ref, name)
    end
  end)
end)
