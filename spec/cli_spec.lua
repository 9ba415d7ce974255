-- The vbr command end to end: cli.main in-process with captured streams,
-- against a simulator for everything that needs a server.
local cli = require "vbr.cli"
local json = require "vbr.json"
local sim = require "spec.support.sim"

local PUT = "PUT /api/v1/configBackup"
local START = "POST /api/v1/configBackup/backup"

-- A stream that keeps what is written.
local sink = require("spec.support.cli_run").sink

-- A stdin reading from a string.
local source = require("spec.support.cli_run").source

local secrets = {}      -- strings no output may contain

-- Runs `vbr` with argv and the environment `vars`; returns code, stdout, stderr.
local function vbr(argv, vars, options)
  options = options or {}
  local stdout, stderr = sink(), sink()
  local code = cli.main(argv, {
    stdout = stdout, stderr = stderr,
    stdin = source(options.stdin or ""),
    getenv = function(name) return (vars or {})[name] end,
    isatty = function(name) return options.tty == name end,
  })
  local out, err = stdout:text(), stderr:text()
  for _, secret in ipairs(secrets) do
    assert.is_nil(out:find(secret, 1, true), "stdout shows a secret")
    assert.is_nil(err:find(secret, 1, true), "stderr shows a secret")
  end
  return code, out, err
end

describe("vbr without a server", function()
  it("describes a schedule in words", function()
    local code, out, err = vbr { "schedule", "describe", "weekdays at 22:00" }
    assert.equal(0, code)
    assert.equal("Every weekday at 22:00\n", out)
    assert.equal("", err)
  end)

  it("takes a schedule in several words and template names", function()
    local code, out = vbr { "schedule", "describe", "mon,wed,fri", "at", "6:30" }
    assert.equal(0, code)
    assert.equal("Every Monday, Wednesday and Friday at 06:30\n", out)
    code, out = vbr { "schedule", "describe", "quarterly" }
    assert.equal(0, code)
    assert.matches("January, April, July and October at 01:00", out, 1, true)
  end)

  it("refuses a schedule it cannot read with exit code 5", function()
    local code, out, err = vbr { "schedule", "describe", "every blue moon" }
    assert.equal(5, code)
    assert.equal("", out)
    assert.matches("cannot read the schedule at position", err, 1, true)
  end)

  it("lists the next start times after a given time", function()
    local code, out = vbr { "schedule", "next", "weekdays at 22:00", "-n", "3",
                            "--from", "2026-01-01 23:00" }
    assert.equal(0, code)
    assert.equal("Every weekday at 22:00.\nThe next 3 starts (server local time):\n"
      .. "  2026-01-02 22:00  Friday\n  2026-01-05 22:00  Monday\n"
      .. "  2026-01-06 22:00  Tuesday\n", out)
  end)

  it("says an off schedule has no runs", function()
    local code, out = vbr { "schedule", "next", "off", "--from", "2026-01-01" }
    assert.equal(0, code)
    assert.matches("No automatic runs", out, 1, true)
  end)

  it("lists the templates", function()
    local code, out = vbr { "schedule", "templates" }
    assert.equal(0, code)
    for _, template in ipairs(require("vbr.schedule").templates()) do
      assert.matches("\n?" .. template.name:gsub("%-", "%%-") .. "%s+", out)
    end
  end)

  it("documents the exit codes and the environment in --help", function()
    local code, out, err = vbr { "--help" }
    assert.equal(0, code)
    assert.equal("", err)
    for _, row in ipairs(require("vbr.env").EXIT_MEANINGS) do
      assert.matches(string.format("\n  %-3d  %s\n", row[1], row[2]), out, 1, true)
    end
    for _, name in ipairs(require("vbr.env").VARIABLES) do assert.matches(name, out, 1, true) end
  end)

  it("exits 5 for a write refused before sending at an older API revision, 1 for a "
    .. "backup already running", function()
    local exit_code = require("vbr.env").exit_code
    local error_of = require("vbr.core").error
    -- the refusal of vbr.configbackup (err.older: what this revision lacks)
    assert.equal(5, exit_code(error_of { kind = "conflict", message = "older",
      older = { lacks = { "schedule.monthly.isLastDayOfMonth" } } }))
    -- the server's state refuses it (configbackup start)
    assert.equal(1, exit_code(error_of { kind = "conflict", message = "already running" }))
  end)

  it("shows the help of a subcommand", function()
    local code, out = vbr { "configbackup", "set", "--help" }
    assert.equal(0, code)
    assert.matches("Usage: vbr configbackup set", out, 1, true)
    assert.matches("--dry-run", out, 1, true)
  end)

  describe("refuses a bad command line with exit code 2", function()
    local cases = {
      { {}, "a command is required" },
      { { "--bogus" }, "unknown option '--bogus'" },
      { { "configbackup", "frobnicate" }, "unknown command 'frobnicate'" },
      { { "configbackup", "set", "--retention", "many" }, "--retention must be a whole number" },
      { { "configbackup", "set", "--enable", "--disable" }, "can not be used together" },
      { { "configbackup", "set", "--snmp", "maybe" }, "must be one of 'on', 'off'" },
      { { "configbackup", "set", "--email-to", "a@b.c,,d@e.f" }, "an empty address" },
      { { "configbackup", "run", "--timeout", "0" }, "--timeout must be a number of seconds" },
      { { "sessions", "show", "not-a-uuid" }, "a session id is a UUID" },
      { { "schedule", "next", "daily", "-n", "0" },
        "--count must be a whole number from 1 to 1000" },
      { { "schedule", "next", "daily", "--from", "tomorrow" }, "--from must be a local time" },
      -- No way to give a password on the command line.
      { { "--password", "secret", "configbackup", "show" }, "unknown option '--password'" },
    }
    for _, case in ipairs(cases) do
      it(table.concat(case[1], " "), function()
        local code, out, err = vbr(case[1])
        assert.equal(2, code)
        assert.equal("", out)
        assert.matches(case[2], err, 1, true)
        assert.matches("Run 'vbr[%w ]*%-%-help' for more", err)
      end)
    end
  end)

  it("asks for the connection settings that are missing (exit code 2)", function()
    local code, _, err = vbr({ "configbackup", "show" }, {})
    assert.equal(2, code)
    assert.matches("VBR_URL", err, 1, true)
    code, _, err = vbr({ "configbackup", "show" }, { VBR_URL = "https://127.0.0.1:9" })
    assert.equal(2, code)
    assert.matches("VBR_USERNAME", err, 1, true)
    code, _, err = vbr({ "configbackup", "show" },
      { VBR_URL = "https://127.0.0.1:9", VBR_USERNAME = "admin" })
    assert.equal(2, code)
    assert.matches("VBR_PASSWORD_FILE", err, 1, true)
  end)
end)

describe("vbr against the simulator", function()
  local s, vars, admin

  lazy_setup(function()
    s = sim.start { session_duration = 1 }
    admin = s.users.admin
    vars = {
      VBR_URL = s.url, VBR_CA_FILE = s.ca_file,
      VBR_USERNAME = admin.username, VBR_PASSWORD = admin.password,
      VBR_API_VERSION = "auto",
    }
    secrets = { admin.password, "Adm1n%20P%40ss", "eyJ", "Bearer" }
  end)

  lazy_teardown(function()
    secrets = {}
    if s then s:stop() end
  end)

  before_each(function() s:reset() end)

  local function count(name)
    return s:counters().requests[name] or 0
  end

  local function with(changes)
    local out = {}
    for key, value in pairs(vars) do out[key] = value end
    for key, value in pairs(changes) do out[key] = value or nil end
    return out
  end

  describe("configbackup show", function()
    it("shows the settings for people", function()
      local code, out, err = vbr({ "configbackup", "show" }, vars)
      assert.equal(0, code)
      assert.equal("", err)
      assert.matches("Job:%s+enabled", out)
      assert.matches("Schedule:%s+Every day at 10:00\n", out)
      assert.matches("Repository:%s+Default Backup Repository %(WinLocal, 88788f9e%-", out)
      assert.matches("Restore points:%s+10\n", out)
      assert.matches("Encryption:%s+on, password 'Standard Password'", out)
      assert.matches("SNMP traps:%s+off", out)
      assert.matches("Email:%s+off", out)
      assert.matches("Last success:%s+%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d", out)
    end)

    it("prints JSON with sorted keys (also as 'cb')", function()
      local code, out = vbr({ "cb", "show", "--json" }, vars)
      assert.equal(0, code)
      local settings = assert(json.decode(out)).settings
      assert.equal(10, settings.restorePointsToKeep)
      assert.is_true(json.is_array(settings.notifications.SMTPSettings.recipients))
      assert.is_true(out:find('"backupRepositoryId"', 1, true)
        < out:find('"encryption"', 1, true))
    end)
  end)

  describe("configbackup set", function()
    it("shows the diff and sends no PUT with --dry-run", function()
      local puts = count(PUT)
      local code, out, err = vbr({ "configbackup", "set", "--schedule", "weekdays at 22:00",
        "--retention", "14", "--repository", "nas repository", "--dry-run" }, vars)
      assert.equal(0, code, err)
      assert.matches("schedule, in words: Every day at 10:00 -> Every weekday at 22:00",
        out, 1, true)
      assert.matches("restorePointsToKeep: 10 -> 14", out, 1, true)
      assert.matches('schedule.daily.dailyKind: "Everyday" -> "WeekDays"', out, 1, true)
      assert.matches('schedule.daily.localTime: "10:00:00" -> "22:00:00"', out, 1, true)
      assert.matches("(Default Backup Repository) -> ", out, 1, true)
      assert.matches("(NAS Repository)", out, 1, true)
      assert.matches("Dry run: nothing was sent.", out, 1, true)
      assert.equal(puts, count(PUT))
      assert.equal(10, s:state().config_backup.restorePointsToKeep)
    end)

    it("saves the change with exactly one GET and one PUT", function()
      s:reset_counters()
      local code, out, err = vbr({ "configbackup", "set", "--schedule", "nightly",
        "--retention", "14", "--email-to", "ops@example.com,it@example.com" }, vars)
      assert.equal(0, code, err)
      assert.matches("Saved (", out, 1, true)
      assert.equal(1, count(PUT))
      assert.equal(1, count("GET /api/v1/configBackup"))
      code, out = vbr({ "configbackup", "show" }, vars)
      assert.equal(0, code)
      assert.matches("Schedule:%s+Every day at 22:00\n", out)
      assert.matches("Restore points:%s+14\n", out)
      assert.matches("Email:%s+on, to ops@example.com, it@example.com", out)
    end)

    it("turns the job and encryption off and on", function()
      local code = vbr({ "configbackup", "set", "--disable", "--encryption", "off", "--force" },
        vars)
      assert.equal(0, code)
      local _, out = vbr({ "configbackup", "show" }, vars)
      assert.matches("Job:%s+disabled", out)
      assert.matches("Encryption:%s+off", out)
      code = vbr({ "configbackup", "set", "--enable", "--encryption",
        "created by tech\\administrator" }, vars)
      assert.equal(0, code)
      _, out = vbr({ "configbackup", "show" }, vars)
      assert.matches("Job:%s+enabled", out)
      assert.matches("on, password 'Created by TECH\\Administrator'", out, 1, true)
    end)

    it("says so and sends nothing when nothing changes", function()
      local puts = count(PUT)
      local code, out = vbr({ "configbackup", "set", "--retention", "10" }, vars)
      assert.equal(0, code)
      assert.matches("No change", out, 1, true)
      assert.equal(puts, count(PUT))
    end)

    it("reports every local problem at once with exit code 5, sending no PUT", function()
      local puts = count(PUT)
      local code, out, err = vbr({ "configbackup", "set", "--retention", "300",
        "--repository", "nowhere", "--encryption", "no such hint" }, vars)
      assert.equal(5, code)
      assert.equal("", out)
      assert.matches("restorePointsToKeep: must be from 1 to 255, not 300", err, 1, true)
      assert.matches("backupRepositoryId: no repository named 'nowhere'", err, 1, true)
      assert.matches("encryption.passwordId: no encryption password named 'no such hint'",
        err, 1, true)
      assert.equal(puts, count(PUT))
    end)

    it("refuses an unreadable schedule before logging in", function()
      local before = s:counters().total
      local code, _, err = vbr({ "configbackup", "set", "--schedule", "now and then" }, vars)
      assert.equal(5, code)
      assert.matches("schedule: cannot read the schedule", err, 1, true)
      assert.equal(before, s:counters().total)
    end)

    it("asks for something to change", function()
      local code, _, err = vbr({ "configbackup", "set", "--dry-run" }, vars)
      assert.equal(2, code)
      assert.matches("nothing to change", err, 1, true)
    end)

    it("passes on the server's refusal with exit code 1", function()
      local code, out, err = vbr({ "configbackup", "set", "--snmp", "on" }, vars)
      assert.equal(1, code)
      assert.matches("notifications.SNMPEnabled: false -> true", out, 1, true)
      assert.matches("SNMP", err, 1, true)
      assert.equal(1, count(PUT))
    end)
  end)

  describe("configbackup export and apply", function()
    local file
    before_each(function() file = os.tmpname() end)
    after_each(function() os.remove(file) end)

    local shell = require "spec.support.shell"
    local write = shell.write

    local function read(path)
      return assert(shell.read(path))
    end

    it("writes the wanted state without lastSuccessfulBackup, and applies it back", function()
      local code, out = vbr({ "configbackup", "export", file }, vars)
      assert.equal(0, code)
      assert.matches("Wrote the configuration backup settings to", out, 1, true)
      local text = read(file)
      local exported = assert(json.decode(text))
      assert.is_nil(exported.lastSuccessfulBackup)
      assert.equal(10, exported.restorePointsToKeep)
      -- Applying the unchanged file changes nothing and sends nothing.
      local puts = count(PUT)
      code, out = vbr({ "configbackup", "apply", file }, vars)
      assert.equal(0, code)
      assert.matches("No change", out, 1, true)
      assert.equal(puts, count(PUT))
      -- An edited file: a diff, nothing sent on a dry run, one PUT after.
      write(file, (text:gsub('"restorePointsToKeep": 10', '"restorePointsToKeep": 21')))
      code, out = vbr({ "configbackup", "apply", file, "--dry-run" }, vars)
      assert.equal(0, code)
      assert.matches("restorePointsToKeep: 10 -> 21", out, 1, true)
      assert.equal(puts, count(PUT))
      code = vbr({ "configbackup", "apply", file }, vars)
      assert.equal(0, code)
      assert.equal(puts + 1, count(PUT))
      assert.equal(21, s:state().config_backup.restorePointsToKeep)
    end)

    it("exports to stdout and applies a partial file from stdin", function()
      local code, out = vbr({ "configbackup", "export", "-" }, vars)
      assert.equal(0, code)
      assert.equal(10, assert(json.decode(out)).restorePointsToKeep)
      code, out = vbr({ "configbackup", "apply", "-" }, vars,
        { stdin = '{"restorePointsToKeep": 12}' })
      assert.equal(0, code)
      assert.matches("restorePointsToKeep: 10 -> 12", out, 1, true)
    end)

    it("refuses a file that is not a settings object, or names an unknown repository", function()
      write(file, "[1, 2]")
      local code, _, err = vbr({ "configbackup", "apply", file }, vars)
      assert.equal(5, code)
      assert.matches("expected a JSON object", err, 1, true)
      write(file, "{ not json")
      code, _, err = vbr({ "configbackup", "apply", file }, vars)
      assert.equal(5, code)
      assert.matches("not valid JSON", err, 1, true)
      write(file, '{"backupRepositoryId": "5c3b2a19-8d7e-4f60-b1a2-c3d4e5f60718"}')
      code, _, err = vbr({ "configbackup", "apply", file }, vars)
      assert.equal(5, code)
      assert.matches("no repository that can hold the configuration backup has the id "
        .. "'5c3b2a19-8d7e-4f60-b1a2-c3d4e5f60718' (a scale-out or external repository cannot",
        err, 1, true)
      code, _, err = vbr({ "configbackup", "apply", file .. ".missing" }, vars)
      assert.equal(5, code)
      assert.matches("cannot read", err, 1, true)
      assert.equal(0, count(PUT))
    end)
  end)

  describe("configbackup run", function()
    it("starts a backup and returns at once without --wait", function()
      local code, out = vbr({ "configbackup", "run" }, vars)
      assert.equal(0, code)
      assert.matches("Started a configuration backup: session %x+%-", out)
      assert.equal(1, count(START))
    end)

    it("follows the session with plain lines when stderr is not a terminal", function()
      local code, out, err = vbr({ "configbackup", "run", "--wait" }, vars)
      assert.equal(0, code, err)
      assert.matches("Finished: Success.", out, 1, true)
      assert.matches("Stopped 100%\n", err, 1, true)
      assert.is_nil(err:find("\r", 1, true))
    end)

    it("draws a progress bar when stderr is a terminal", function()
      local code, _, err = vbr({ "configbackup", "run", "--wait" }, vars, { tty = "stderr" })
      assert.equal(0, code)
      assert.matches("\r[##############################] 100%  Stopped", err, 1, true)
    end)

    it("prints the session log when the backup fails (exit code 1)", function()
      s:config { backup_outcome = "Failed" }
      local code, out, err = vbr({ "configbackup", "run", "--wait" }, vars)
      assert.equal(1, code)
      assert.matches("ended Failed", err, 1, true)
      assert.matches("Session log:\n", out, 1, true)
      assert.matches("Failed", out, 1, true)
    end)

    it("refuses to start a second backup while one runs", function()
      s:config { session_duration = 30 }
      assert.equal(0, (vbr({ "configbackup", "run" }, vars)))
      local code, _, err = vbr({ "configbackup", "run" }, vars)
      assert.equal(1, code)
      assert.matches("already running", err, 1, true)
      assert.equal(1, count(START))
    end)
  end)

  describe("sessions", function()
    it("lists, shows and reads the log of a session", function()
      local code, out = vbr({ "configbackup", "run", "--wait" }, vars)
      assert.equal(0, code)
      local id = out:match("session (%x+%-[%x%-]+)")
      code, out = vbr({ "sessions", "list" }, vars)
      assert.equal(0, code)
      assert.matches("^ID%s+CREATED%s+STATE%s+RESULT%s+NAME\n", out)
      assert.matches(id .. "  ", out, 1, true)
      code, out = vbr({ "sessions", "show", id }, vars)
      assert.equal(0, code)
      assert.matches("state: Stopped", out, 1, true)
      assert.matches("progressPercent: 100\n", out, 1, true)
      code, out = vbr({ "sessions", "logs", id }, vars)
      assert.equal(0, code)
      assert.matches("Session " .. id, out, 1, true)
      code, out = vbr({ "sessions", "logs", id, "--json" }, vars)
      assert.equal(0, code)
      assert.is_true(#assert(json.decode(out)) > 0)
    end)

    it("passes on a 404 with exit code 1", function()
      local code, _, err = vbr({ "sessions", "show", "00000000-0000-0000-0000-000000000000" },
        vars)
      assert.equal(1, code)
      assert.matches("404", err, 1, true)
    end)
  end)

  describe("connection failures", function()
    it("exit code 3 when the login is refused, with a hint", function()
      local code, out, err = vbr({ "configbackup", "show" }, with { VBR_PASSWORD = "wrong" })
      assert.equal(3, code)
      assert.equal("", out)
      assert.matches("hint: check the user name and the password", err, 1, true)
    end)

    it("exit code 4 when the certificate cannot be verified", function()
      local code, _, err = vbr({ "configbackup", "show" }, with { VBR_CA_FILE = false })
      assert.equal(4, code)
      assert.matches("--ca-file", err, 1, true)
    end)

    it("exit code 4 when nothing listens", function()
      local code = vbr({ "configbackup", "show" }, with { VBR_URL = "https://127.0.0.1:1" })
      assert.equal(4, code)
    end)

    it("exit code 2 for a URL that is not https://, naming where it came from", function()
      local before = s:counters().total
      for _, url in ipairs { "http://127.0.0.1:9419", "ftp://x" } do
        local code, _, err = vbr({ "configbackup", "show" }, with { VBR_URL = url })
        assert.equal(2, code)
        assert.matches("VBR_URL: VBR's REST API is HTTPS only", err, 1, true)
        code, _, err = vbr({ "--url", url, "configbackup", "show" }, vars)
        assert.equal(2, code)
        assert.matches("--url: VBR's REST API is HTTPS only", err, 1, true)
      end
      assert.equal(before, s:counters().total)
    end)

    it("reads the password from a file (flag or environment)", function()
      local file = os.tmpname()
      local handle = assert(io.open(file, "w"))
      handle:write(admin.password, "\n")
      handle:close()
      local code = vbr({ "--password-file", file, "configbackup", "show" },
        with { VBR_PASSWORD = false })
      assert.equal(0, code)
      code = vbr({ "configbackup", "show" }, with { VBR_PASSWORD = false,
        VBR_PASSWORD_FILE = file })
      os.remove(file)
      assert.equal(0, code)
    end)

    it("exit code 1 when the role may not read the settings", function()
      local code, _, err = vbr({ "configbackup", "show" }, with {
        VBR_USERNAME = s.users.viewer.username, VBR_PASSWORD = s.users.viewer.password })
      assert.equal(1, code)
      assert.matches("403", err, 1, true)
    end)
  end)

  describe("--verbose", function()
    it("shows method, path and status of each request, and no secret", function()
      local code, _, err = vbr({ "--verbose", "configbackup", "set", "--retention", "15" }, vars)
      assert.equal(0, code)
      assert.matches("vbr: logged in to " .. s.url .. " as admin (API revision 1.3-rev2",
        err, 1, true)
      assert.matches("vbr: GET /api/v1/configBackup -> 200", err, 1, true)
      assert.matches("vbr: PUT /api/v1/configBackup -> 200", err, 1, true)
      assert.matches("vbr: POST /api/oauth2/logout -> ok", err, 1, true)
      -- vbr() itself checks that neither stream shows the password or a token.
    end)

    it("shows the status of a refused request", function()
      local code, _, err = vbr({ "-v", "configbackup", "set", "--snmp", "on" }, vars)
      assert.equal(1, code)
      assert.matches("vbr: PUT /api/v1/configBackup -> 400 (api)", err, 1, true)
    end)
  end)

  describe("scripting", function()
    it("--json on run and set: one JSON document on stdout, nothing else there", function()
      local code, out, err = vbr({ "--json", "configbackup", "set", "--retention", "12" }, vars)
      assert.equal(0, code, err)
      local report = assert(json.decode(out))
      assert.is_true(report.saved)
      assert.equal("restorePointsToKeep", report.changes[1].path)
      assert.equal(12, report.changes[1].new)
      code, out, err = vbr({ "configbackup", "run", "--wait", "--json" }, vars)
      assert.equal(0, code, err)
      local session = assert(json.decode(out))
      assert.equal("Stopped", session.state)
      assert.equal("Success", session.result.result)
      assert.matches("Started a configuration backup", err, 1, true)   -- notes go to stderr
      for _, argv in ipairs { { "sessions", "list" }, { "sessions", "show", "last" },
                              { "schedule", "templates" }, { "configbackup", "diff", "-" },
                              { "schedule", "describe", "nightly" }, { "--version" } } do
        table.insert(argv, 1, "--json")
        code, out, err = vbr(argv, vars, { stdin = "{}" })
        assert.equal(0, code, table.concat(argv, " ") .. ": " .. err)
        assert.is_table(json.decode(out), table.concat(argv, " "))
      end
    end)

    it("-q prints the result alone", function()
      local code, out = vbr({ "-q", "configbackup", "run" }, vars)
      assert.equal(0, code)
      assert.matches("^%x+%-[%x%-]+\n$", out)
      code, out = vbr({ "-q", "configbackup", "set", "--retention", "13" }, vars)
      assert.equal(0, code)
      assert.equal("", out)
    end)

    it("exit code 6 for a warning with --strict, 0 without", function()
      s:config { backup_outcome = "Warning" }
      local code, out = vbr({ "configbackup", "run", "--wait" }, vars)
      assert.equal(0, code)
      assert.matches("Finished: Warning.", out, 1, true)
      assert.matches("Session log:", out, 1, true)
      code = vbr({ "configbackup", "run", "--wait", "--strict" }, vars)
      assert.equal(6, code)
    end)

    it("exit code 7 when the wait times out: the session goes on", function()
      s:config { session_duration = 30 }
      local code, _, err = vbr({ "configbackup", "run", "--timeout", "1" }, vars)
      assert.equal(7, code)
      assert.matches("the session goes on; follow it with: vbr sessions wait ", err, 1, true)
    end)

    it("sessions wait and stop, by 'last' and by a unique prefix", function()
      s:config { session_duration = 30 }
      local code, out = vbr({ "configbackup", "run" }, vars)
      assert.equal(0, code)
      local id = out:match("session (%x+%-[%x%-]+)")
      code, out = vbr({ "--json", "sessions", "show", id:sub(1, 8) }, vars)
      assert.equal(0, code)
      assert.equal(id, assert(json.decode(out)).id)
      code, out = vbr({ "sessions", "stop", "last" }, vars)
      assert.equal(0, code)
      assert.matches("Asked the server to stop session " .. id, out, 1, true)
      local _, err
      code, _, err = vbr({ "sessions", "wait", id:sub(1, 6) }, vars)
      assert.equal(1, code)                         -- a stopped backup ends Failed
      assert.matches("stopped by", err, 1, true)
      code, _, err = vbr({ "sessions", "show", "ffffffff" }, vars)
      assert.equal(1, code)
      assert.matches("no session id starts with 'ffffffff'", err, 1, true)
    end)

    it("show has the next runs and the last session, a failed one said on stderr", function()
      s:config { backup_outcome = "Failed" }
      assert.equal(1, (vbr({ "configbackup", "run", "--wait" }, vars)))
      local code, out, err = vbr({ "configbackup", "show" }, vars)
      assert.equal(0, code)
      assert.matches("Next runs:%s+%d%d%d%d%-%d%d%-%d%d 10:00, ", out)
      assert.matches("Last session:%s+%d%d%d%d%-%d%d%-%d%d [%d:+]+ Failed", out)
      assert.matches("the last configuration backup failed; see: vbr sessions logs ", err, 1,
        true)
    end)

    it("diff: 0 when the server matches the file, 8 when it differs", function()
      local file = os.tmpname()
      finally(function() os.remove(file) end)
      assert.equal(0, (vbr({ "configbackup", "export", file }, vars)))
      local code, out = vbr({ "configbackup", "diff", file }, vars)
      assert.equal(0, code)
      assert.matches("No drift", out, 1, true)
      assert.equal(0, (vbr({ "configbackup", "set", "--retention", "20" }, vars)))
      local puts = count(PUT)
      code, out = vbr({ "configbackup", "diff", file }, vars)
      assert.equal(8, code)
      assert.matches("restorePointsToKeep: 20 -> 10", out, 1, true)
      assert.equal(puts, count(PUT))
    end)
  end)

  describe("messages", function()
    it("a running backup: the CLI's words, and --force stops it and starts anew", function()
      s:config { session_duration = 30 }
      assert.equal(0, (vbr({ "configbackup", "run" }, vars)))
      local code, _, err = vbr({ "configbackup", "run" }, vars)
      assert.equal(1, code)
      assert.matches("already running", err, 1, true)
      assert.matches("vbr configbackup run --force", err, 1, true)
      assert.is_nil(err:find("force = true", 1, true))
      s:config { session_duration = 1 }
      local out
      code, out, err = vbr({ "configbackup", "run", "--force", "--wait" }, vars)
      assert.equal(0, code, err)
      assert.matches("Stopping the running configuration backup first", out, 1, true)
      assert.matches("Finished: Success.", out, 1, true)
      assert.equal(2, count(START))
    end)

    it("a local refusal claims no request and says 'invalid input' once", function()
      local code, _, err = vbr({ "configbackup", "set", "--retention", "0" }, vars)
      assert.equal(5, code)
      assert.is_nil(err:find("PUT /api", 1, true))
      local client = assert(require("vbr").connect { url = s.url, ca_file = s.ca_file,
        username = admin.username, password = admin.password })
      local _, refused = client.configbackup:set_retention(0)
      client:close()
      assert.equal("vbr: invalid input: restorePointsToKeep: must be from 1 to 255, not 0",
        tostring(refused))
    end)

    it("a missing CA file or password file: refused locally (5), naming the flag", function()
      local before = s:counters().total
      local code, _, err = vbr({ "--ca-file", "/nonexistent/ca.pem", "configbackup", "show" },
        vars)
      assert.equal(5, code)
      assert.matches("--ca-file: cannot read /nonexistent/ca.pem", err, 1, true)
      code, _, err = vbr({ "configbackup", "show" }, with { VBR_CA_FILE = "/nonexistent/ca" })
      assert.equal(5, code)
      assert.matches("VBR_CA_FILE: cannot read", err, 1, true)
      code, _, err = vbr({ "--password-file", "/nonexistent/pw", "configbackup", "show" },
        with { VBR_PASSWORD = false })
      assert.equal(5, code)
      assert.matches("--password-file: cannot read /nonexistent/pw", err, 1, true)
      assert.equal(before, s:counters().total)
      local client, why = require("vbr").connect { url = s.url, username = "x", password = "y",
        ca_file = "/nonexistent/ca.pem" }
      assert.is_nil(client)
      assert.equal("invalid", why.kind)
      assert.matches("option 'ca_file'", why.message, 1, true)
    end)

    it("a certificate for another name and an unknown CA get different hints", function()
      local hint = cli.hint
      assert.matches("not for this host name", hint { kind = "tls",
        message = "SSL: no alternative certificate subject name matches target host name" })
      assert.matches("--ca-file", hint { kind = "tls",
        message = "SSL certificate problem: unable to get local issuer certificate" }, 1, true)
      local _, _, err = vbr({ "configbackup", "show" }, with { VBR_CA_FILE = false })
      assert.matches("--ca-file", err, 1, true)
    end)

    it("a scale-out repository given by id is named as such", function()
      local code, _, err = vbr({ "configbackup", "set", "--repository",
        "5c3b2a19-8d7e-4f60-b1a2-c3d4e5f60718" }, vars)
      assert.equal(5, code)
      assert.matches("a scale-out or external repository cannot", err, 1, true)
    end)
  end)

  describe("credentials", function()
    local dir
    before_each(function()
      dir = os.tmpname()
      os.remove(dir)
      os.execute("mkdir -p '" .. dir .. "'")
    end)
    after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

    it("--password-file - reads the password from standard input", function()
      local code = vbr({ "--password-file", "-", "configbackup", "show" },
        with { VBR_PASSWORD = false }, { stdin = admin.password .. "\n" })
      assert.equal(0, code)
    end)

    it("asks on a terminal when nothing gives a password, and says so elsewhere", function()
      local code, _, err = vbr({ "configbackup", "show" }, with { VBR_PASSWORD = false })
      assert.equal(2, code)
      assert.matches("vbr asks only on a terminal", err, 1, true)
      code, _, err = vbr({ "configbackup", "show" }, with { VBR_PASSWORD = false },
        { tty = "stdin", stdin = admin.password .. "\n" })
      assert.equal(0, code)
      assert.matches("Password for admin at " .. s.url .. ": ", err, 1, true)
    end)

    it("--profile and VBR_PROFILE take the inventory's settings; flags and VBR_* win", function()
      local inventory = dir .. "/inventory"
      local password = dir .. "/password"
      require("spec.support.shell").write(password, admin.password .. "\n")
      require("spec.support.shell").write(inventory, table.concat({
        "[defaults]", "username = admin", "password_file = " .. password,
        "ca_file = " .. s.ca_file, "api_version = 1.3-rev1",
        "[sim]", "url = " .. s.url,
        "[env-secret]", "url = " .. s.url, "password_env = SIM_PASSWORD",
        "[elsewhere]", "url = https://127.0.0.1:1", "" }, "\n"))
      local only = { VBR_INVENTORY = inventory }
      assert.equal(0, (vbr({ "--profile", "sim", "configbackup", "show" }, only)))
      assert.equal(0, (vbr({ "configbackup", "show" }, { VBR_INVENTORY = inventory,
        VBR_PROFILE = "sim" })))
      assert.equal(0, (vbr({ "--inventory", inventory, "--profile", "env-secret", "configbackup",
        "show" }, { SIM_PASSWORD = admin.password })))
      local code, _, err = vbr({ "--profile", "env-secret", "configbackup", "show" }, only)
      assert.equal(2, code)   -- the secret is read when the core asks: the login cannot start
      assert.matches("SIM_PASSWORD (password_env) is not set", err, 1, true)
      -- A variable wins over the profile: VBR_URL points at the simulator.
      assert.equal(0, (vbr({ "--profile", "elsewhere", "configbackup", "show" },
        { VBR_INVENTORY = inventory, VBR_URL = s.url })))
      assert.equal(4, (vbr({ "--profile", "elsewhere", "configbackup", "show" }, only)))
      code, _, err = vbr({ "--profile", "sym", "configbackup", "show" }, only)
      assert.equal(2, code)
      assert.matches("no server named 'sym'", err, 1, true)
      assert.matches("did you mean 'sim'", err, 1, true)
    end)
  end)

  describe("repl", function()
    it("on a terminal: evaluates expressions and statements, prints errors, goes on", function()
      local input = table.concat({
        "cb:get().restorePointsToKeep",
        "x = 1 +",
        "  41",
        "x",
        "error('boom')",
        "this is not lua",
        "cb:set_retention('many')",
        "vbr.schedule.describe(vbr.schedule.parse 'mon-fri at 22:00')",
        "client:session('00000000-0000-0000-0000-000000000000')",
        "help()",
        "exit()",
        "'never printed'",
      }, "\n")
      local code, out, err = vbr({ "repl" }, vars, { stdin = input, tty = "stdin" })
      assert.equal(0, code)
      assert.matches("vbr> 10\nvbr> >> vbr> 42\n", out, 1, true)
      assert.matches("Every weekday at 22:00\n", out, 1, true)
      assert.matches("nil\n", out, 1, true)
      assert.matches("404", out, 1, true)
      assert.matches("cb:get()", out, 1, true)
      assert.is_nil(out:find("never printed", 1, true))
      assert.matches("error: boom", err, 1, true)
      assert.matches("syntax error", err, 1, true)
      assert.matches("set_retention expects a number", err, 1, true)
    end)

    it("says what to type for a method called with a dot", function()
      local _, _, err = vbr({ "repl" }, vars, { stdin = "cb.get()\n", tty = "stdin" })
      assert.matches("hint: cb.get(...) calls a method without its object: type cb:get(...)",
        err, 1, true)
    end)

    it("has help(x) for every object in scope", function()
      local input = "help(client)\nhelp(cb)\ns = cb:start()\nhelp(s)\nhelp(vbr)\n"
        .. "help(vbr.schedule)\nhelp(vbr.json)\nhelp(print)\nhelp(42)\n"
      local code, out, err = vbr({ "repl" }, vars, { stdin = input })
      assert.equal(0, code, err)
      for _, expected in ipairs { "client: one logged-in VBR server", "client:sessions",
                                  "cb: the configuration backup", "cb:set_schedule",
                                  "a session: Backup Configuration Job", "s:wait",
                                  "vbr: the module", "vbr.schedule.parse", "fields: ",
                                  "encode", "a function", "a number: 42" } do
        assert.matches(expected, out, 1, true)
      end
    end)

    it("shows progress in s:wait()", function()
      local code, out, err = vbr({ "repl" }, vars,
        { stdin = "s = cb:start()\ns:wait():outcome()\n" })
      assert.equal(0, code, err)
      assert.matches("Stopped 100%\n", err, 1, true)
      assert.matches("Success\n", out, 1, true)
    end)

    it("a piped script stops at its first failure, with a non-zero exit code", function()
      local code, out, err = vbr({ "repl" }, vars,
        { stdin = "1 + 1\nerror('boom')\n'never printed'\n" })
      assert.equal(1, code)
      assert.matches("^2\n", out)
      assert.is_nil(out:find("never printed", 1, true))
      assert.matches("error: boom", err, 1, true)
      assert.matches("stopped at the first failure", err, 1, true)
      -- A call that returns nil, err fails the script with the error's exit code.
      code = vbr({ "repl" }, vars, { stdin = "cb:set_retention(500)\n'never printed'\n" })
      assert.equal(5, code)
      code = vbr({ "repl" }, vars, { stdin = "cb:set_retention(14)\n" })
      assert.equal(0, code)
      code = vbr({ "repl" }, vars, { stdin = "exit(3)\n" })
      assert.equal(3, code)
    end)

    it("completes names, fields and methods", function()
      local repl = require "vbr.repl"
      local scope = setmetatable({ cb = require("vbr.configbackup").new({}),
                                   vbr = { schedule = { parse = 1, describe = 2 } } },
                                 { __index = _G })
      assert.same({ "cb:set_encryption", "cb:set_notifications", "cb:set_repository",
                    "cb:set_retention", "cb:set_schedule" }, repl.complete("cb:set_", scope))
      assert.same({ "vbr.schedule.parse" }, repl.complete("vbr.schedule.pa", scope))
      assert.same({ "cb" }, repl.complete("cb", setmetatable({ cb = 1 }, {})))
      assert.same({ "print" }, repl.complete("prin", scope))
      assert.same({}, repl.complete("nothing.here", scope))
    end)
  end)
end)
