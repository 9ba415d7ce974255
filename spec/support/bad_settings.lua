-- Settings that must be refused before anything is sent, each with the
-- field path the refusal must name. `change(settings, revision)` spoils a
-- valid settings table in place.
local json = require "vbr.json"

local UUID = "d4b5e196-f3ad-474c-99bc-dfef051dae07"

return {
  { "isEnabled", function(s) s.isEnabled = "yes" end },
  { "isEnabled", function(s) s.isEnabled = nil end },
  { "backupRepositoryId", function(s) s.backupRepositoryId = "not-a-uuid" end },
  { "backupRepositoryId", function(s) s.backupRepositoryId = 42 end },
  { "backupRepositoryId", function(s) s.backupRepositoryId = UUID .. "0" end },
  { "restorePointsToKeep", function(s) s.restorePointsToKeep = 0 end },
  { "restorePointsToKeep", function(s) s.restorePointsToKeep = 256 end },
  { "restorePointsToKeep", function(s) s.restorePointsToKeep = 2.5 end },
  { "restorePointsToKeep", function(s) s.restorePointsToKeep = "10" end },
  { "restorePointsToKeep", function(s) s.restorePointsToKeep = -1 end },
  { "notifications", function(s) s.notifications = nil end },
  { "notifications", function(s) s.notifications = json.array { 1 } end },
  { "notifications.SNMPEnabled", function(s) s.notifications.SNMPEnabled = nil end },
  { "notifications.SMTPSettings.recipients",
    function(s) s.notifications.SMTPSettings.recipients = "admin@example.com" end },
  { "notifications.SMTPSettings.recipients[1]",
    function(s) s.notifications.SMTPSettings.recipients = { "not an address" } end },
  { "notifications.SMTPSettings.settingsType",
    function(s) s.notifications.SMTPSettings.settingsType = "Local" end },
  { "notifications.SMTPSettings.subject",
    function(s) s.notifications.SMTPSettings.subject = false end },
  { "notifications.SMTPSettings.recipients", function(s)
      local smtp = s.notifications.SMTPSettings
      smtp.isEnabled, smtp.settingsType, smtp.recipients = true, "Custom", {}
    end },
  { "schedule", function(s) s.schedule = "daily" end },
  { "schedule.isEnabled", function(s) s.schedule.isEnabled = nil end },
  { "schedule.daily.localTime", function(s) s.schedule.daily.localTime = "25:00" end },
  { "schedule.daily.localTime", function(s) s.schedule.daily.localTime = "10:61" end },
  { "schedule.daily.localTime", function(s) s.schedule.daily.localTime = "noon" end },
  { "schedule.daily.localTime", function(s) s.schedule.daily.localTime = "13:00 PM" end },
  { "schedule.daily.dailyKind", function(s) s.schedule.daily.dailyKind = "Weekly" end },
  { "schedule.daily.days[1]", function(s) s.schedule.daily.days = { "funday" } end },
  { "schedule.daily.days[2]", function(s) s.schedule.daily.days = { "monday", "Monday" } end },
  { "schedule.daily.days", function(s)
      s.schedule.daily.dailyKind, s.schedule.daily.days = "SelectedDays", {}
    end },
  { "schedule.daily.days", function(s) s.schedule.daily.days = { x = "monday" } end },
  { "schedule.monthly.dayOfMonth", function(s) s.schedule.monthly.dayOfMonth = 0 end },
  { "schedule.monthly.dayOfMonth", function(s) s.schedule.monthly.dayOfMonth = 32 end },
  { "schedule.monthly.dayNumberInMonth",
    function(s) s.schedule.monthly.dayNumberInMonth = "Fifth" end },
  { "schedule.monthly.dayOfWeek", function(s) s.schedule.monthly.dayOfWeek = "sun" end },
  { "schedule.monthly.months[1]", function(s) s.schedule.monthly.months = { "Smarch" } end },
  { "schedule.monthly.months[2]",
    function(s) s.schedule.monthly.months = { "January", "january" } end },
  { "schedule.monthly.dayOfWeek", function(s)
      local monthly = s.schedule.monthly
      monthly.isEnabled, monthly.dayNumberInMonth, monthly.dayOfWeek = true, "Last", nil
    end },
  { "schedule.monthly.isLastDayOfMonth",
    function(s, revision)
      s.schedule.monthly.isLastDayOfMonth = revision.has_last_day_of_month and "yes" or true
    end },
  { "lastSuccessfulBackup", function(s) s.lastSuccessfulBackup = nil end },
  { "lastSuccessfulBackup.sessionId",
    function(s) s.lastSuccessfulBackup.sessionId = "last-one" end },
  { "lastSuccessfulBackup.lastSuccessfulTime",
    function(s) s.lastSuccessfulBackup.lastSuccessfulTime = "yesterday" end },
  { "encryption", function(s) s.encryption = nil end },
  { "encryption.passwordId", function(s) s.encryption.passwordId = nil end },
  { "encryption.isEnabled", function(s) s.encryption.isEnabled = 1 end },
}
