-- The configuration backup settings of the documentation's example, written
-- as a server of `revision` would send them: its casing, and `localTime` in
-- the style of its document's examples (which vbr reads, but does not write).
local json = require "vbr.json"
local revision_lib = require "vbr.revision"

local DAYS = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" }
local MONTHS = { "January", "February", "March", "April", "May", "June", "July",
                 "August", "September", "October", "November", "December" }
-- By document: the style of its examples.
local TIMES = {
  ["1.1-rev0"] = { "10:00 AM", "10:00 PM" },
  ["1.2-rev1"] = { "10:00", "22:00" },
  ["1.3-rev0"] = { "10:00", "22:00" },
  ["1.3-rev1"] = { "10:00:00", "22:00:00" },
  ["1.3-rev2"] = { "10:00:00", "22:00:00" },
}

return function(revision_name)
  local revision = assert(revision_lib.get(revision_name))
  local function day(name)
    return revision.day_case == "capitalized" and (name:gsub("^%l", string.upper)) or name
  end
  local days = json.array()
  for i, name in ipairs(DAYS) do days[i] = day(name) end
  local months = json.array()
  for i, name in ipairs(MONTHS) do months[i] = name end
  local times = TIMES[revision.document]
  local monthly = {
    dayOfWeek = day("saturday"), dayNumberInMonth = "Fourth", isEnabled = false,
    localTime = times[2], dayOfMonth = 1, months = months,
  }
  if revision.has_last_day_of_month then monthly.isLastDayOfMonth = false end
  return {
    isEnabled = true,
    backupRepositoryId = "d4b5e196-f3ad-474c-99bc-dfef051dae07",
    restorePointsToKeep = 10,
    notifications = {
      SNMPEnabled = false,
      SMTPSettings = {
        settingsType = "Custom", isEnabled = false, recipients = json.array(),
        subject = "[%JobResult%] %JobName% (%Time%)",
        notifyOnSuccess = true, notifyOnWarning = true, notifyOnError = true,
      },
    },
    schedule = {
      isEnabled = true,
      daily = { dailyKind = "Everyday", isEnabled = true, localTime = times[1], days = days },
      monthly = monthly,
    },
    lastSuccessfulBackup = {
      lastSuccessfulTime = "2022-01-21T10:00:35.033+01:00",
      sessionId = "a8f1b5ba-a6dc-416d-9b17-95e92c0d7e76",
    },
    encryption = { isEnabled = true, passwordId = "ebf6c20f-7126-4186-a1b8-24e6c541161c" },
  }
end
