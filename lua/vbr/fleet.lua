--- Many VBR servers at once: run a function on every server of an
-- inventory, audit their configuration backup against a policy, align
-- their settings, start backups where the last one is stale.
--
--     local fleet = require "vbr.fleet"
--     local f = assert(fleet.open("/etc/vbr/inventory", { limit = "prod" }))
--     local results = f:run(function(client, server)
--       return client.configbackup:get()
--     end, { concurrency = 20, deadline = 60 })
--     for _, r in ipairs(results) do print(r.name, r.ok and "ok" or tostring(r.err)) end
--
--     local report = f:audit { policy = { retention = { min = 14 } } }
--     print(report.status, report.counts.critical)
--
-- Each server's work runs in its own coroutine with its own client (its own
-- connection, tokens, retries and timeouts); at most `concurrency` servers
-- are worked on at once, each within its `deadline`; results come back in
-- inventory order, `on_result` hears of each as it finishes. A server that
-- fails, refuses or hangs has its error in its result; the others go on.
-- The function is ordinary code: `configbackup:get()`, `edit()`, `start()`,
-- `session:wait()` work unchanged.
-- @module vbr.fleet

local inventory_lib = require "vbr.inventory"
local runner = require "vbr.fleet.runner"
local audit = require "vbr.fleet.audit"
local policy_lib = require "vbr.fleet.policy"
local configbackup = require "vbr.configbackup"
local json = require "vbr.json"
local diff = require "vbr.cli.diff"
local core = require "vbr.core"
local staleness = require "vbr.fleet.staleness"
local fleet_nginx = require "vbr.fleet.nginx"

local type, tostring, pairs, ipairs, pcall, setmetatable, error =
      type, tostring, pairs, ipairs, pcall, setmetatable, error
local min = math.min

local fleet = {}

local Fleet = {}
Fleet.__index = Fleet

local OPEN_OPTIONS = { limit = "string", getenv = "function", prompt = "function",
                       connect = "table", connector = "function", transport = "string",
                       nginx = "table" }
local TRANSPORTS = { multi = true, blocking = true }

local function check_options(options, known, what, level)
  if options == nil then return {} end
  if type(options) ~= "table" then
    error("vbr.fleet: " .. what .. " expects an options table, got " .. type(options), level + 1)
  end
  for key, value in pairs(options) do
    local wanted = known[key]
    if not wanted then
      error("vbr.fleet: " .. what .. ": unknown option '" .. tostring(key) .. "'", level + 1)
    end
    if wanted ~= "any" and type(value) ~= wanted then
      error("vbr.fleet: " .. what .. ": option '" .. key .. "' must be a " .. wanted .. ", got "
        .. type(value), level + 1)
    end
  end
  return options
end

--- Opens an inventory and picks its servers.
-- @param[opt] source the inventory file's path (nil: `vbr.inventory.default_path()`), or an
--   inventory already loaded (`vbr.inventory.load`)
-- @tparam[opt] table options `limit` (names and tags, comma-separated: see
--   `inv:select`), `getenv`, `prompt` (for `password_prompt`: see
--   `vbr.inventory.connect_options`), `connect` (options added to every
--   server's `vbr.connect`, e.g. `{ timeout = 20 }`), `connector`
--   (`connector(options)` -> client, or nil, err: instead of `vbr.connect`),
--   `transport`: `"multi"` (the default: every server's requests in flight
--   at once, `vbr.multi`) or `"blocking"` (one server after the other);
--   inside nginx the servers' work runs on light threads with the nginx
--   transport, `nginx` being its options (`location`, `shared_dict`: see
--   `vbr.fleet.nginx`)
-- @treturn[1] table the fleet: `servers` (the chosen inventory entries), `inventory`
-- @return[2] nil, err (kind `invalid`: the file, or an unknown name or tag)
function fleet.open(source, options)
  options = check_options(options, OPEN_OPTIONS, "fleet.open", 2)
  if options.transport ~= nil and not TRANSPORTS[options.transport] then
    error("vbr.fleet.open: option 'transport' must be multi or blocking, got "
      .. options.transport, 2)
  end
  local inv, err
  if source == nil then source = inventory_lib.default_path(options.getenv) end
  if type(source) == "string" then
    inv, err = inventory_lib.load(source)
    if not inv then return nil, err end
  elseif type(source) == "table" and type(source.servers) == "table" then
    inv = source
  else
    error("vbr.fleet.open expects an inventory file name or a loaded inventory, got "
      .. type(source), 2)
  end
  local servers
  servers, err = inv:select(options.limit)
  if not servers then return nil, err end
  return setmetatable({ inventory = inv, servers = servers, options = options }, Fleet)
end

-- Whether a coroutine may yield inside pcall: not in PUC Lua 5.1 (LuaJIT
-- and 5.2 on may). A fact of the interpreter, not probed: inside nginx a
-- probing coroutine would yield the request's thread.
local YIELDS_ACROSS_PCALL = _VERSION ~= "Lua 5.1" or rawget(_G, "jit") ~= nil

local function options_without_transport(options)
  local out = {}
  for key, value in pairs(options) do
    if key ~= "transport" then out[key] = value end
  end
  return out
end

-- A client for one server, or nil, err; raises only on misuse by the caller.
function Fleet:connect(server, deadline, loop)
  local options, err = inventory_lib.connect_options(server, {
    getenv = self.options.getenv, prompt = self.options.prompt,
  })
  if not options then return nil, err end
  for key, value in pairs(self.options.connect or {}) do options[key] = value end
  options.transport = loop
  if fleet_nginx.inside() then
    options, err = fleet_nginx.connect_options(options, self.options.nginx, server.name)
    if not options then return nil, err end
  end
  if deadline then
    -- no single request may outlast the server's deadline
    options.timeout = min(options.timeout or deadline, deadline)
    options.connect_timeout = min(options.connect_timeout or deadline, deadline)
  end
  local connect = self.options.connector or require("vbr").connect
  -- vbr.connect raises on option values it cannot use (a malformed URL):
  -- that server's input, refused; the others go on. Lua 5.1 cannot yield
  -- across pcall, and the login yields: there the options are tried first
  -- on a handle that never connects.
  local ok, why
  if YIELDS_ACROSS_PCALL or not loop then
    local client
    ok, client, why = pcall(connect, options)
    if ok then return client, why end
    if core.interrupt and client == core.interrupt.ERROR then error(client, 0) end   -- Ctrl-C
    why = client
  else
    local handle
    ok, handle, why = pcall(core.new, options_without_transport(options))
    if ok and handle then
      handle:close()
      return connect(options)
    end
    if ok then return nil, why end              -- refused (an unreadable CA file)
    why = handle
  end
  return nil, core.error { kind = "invalid", retryable = false,
    message = server.name .. ": " .. tostring(why):gsub("^[^:]*%.lua:%d+: ", "") }
end

local RUN_OPTIONS = { concurrency = "number", deadline = "number", on_result = "function",
                      logout = "boolean" }

--- Runs `fn(client, server)` on every server of the fleet.
-- @tparam function fn called with a connected client and the inventory
--   entry; returns a value, or `nil, err`
-- @tparam[opt] table options `concurrency` (servers at once, default 16),
--   `deadline` (seconds per server, login included), `on_result(result,
--   done, total)` as each server finishes, `logout` (default true)
-- @treturn {table,...} in inventory order: `{ name =, server =, ok = true,
--   value =, seconds = }` or `{ name =, server =, ok = false, err =, seconds = }`
function Fleet:run(fn, options)
  if type(fn) ~= "function" then
    error("vbr.fleet: run expects a function(client, server), got " .. type(fn), 2)
  end
  return self:run_on(self.servers, fn, check_options(options, RUN_OPTIONS, "run", 2))
end

-- Fleet:run on a list of servers; fn also gets the server's index in it.
function Fleet:run_on(servers, fn, options)
  local inside_nginx = fleet_nginx.inside()
  local loop = not inside_nginx and self.options.transport ~= "blocking"
    and require("vbr.multi").loop() or nil
  local function task(index, context)
    local server = servers[index]
    local client, err = self:connect(server, options.deadline, loop)
    if not client then return nil, err end
    context.close = function() client:close() end
    local value, why = fn(client, server, index)
    if options.logout ~= false then client:logout() end
    client:close()
    if value == nil then return nil, why end
    return value
  end
  local function wrap(index, result)
    result.name, result.server = servers[index].name, servers[index]
    return result
  end
  local on_result = options.on_result
  local ok, results = pcall(inside_nginx and fleet_nginx.run or runner.run, #servers, task, {
    concurrency = options.concurrency, deadline = options.deadline, loop = loop,
    on_result = function(index, result, done, total)
      wrap(index, result)
      if on_result then on_result(result, done, total) end
    end,
  })
  if loop then loop:close() end
  if not ok then error(results, 0) end
  return results
end

local AUDIT_OPTIONS = { policy = "any", concurrency = "number", deadline = "number",
                        on_result = "function", clock = "function" }

--- Audits every server against a policy (see `vbr.fleet.audit`).
-- @tparam[opt] table options `policy` (a table as `vbr.fleet.policy.read`
--   takes, a file name for `vbr.fleet.policy.load`, or nil: the default),
--   `concurrency`, `deadline`, `on_result(server_report, done, total)`,
--   `clock` (now, seconds since the epoch: default `os.time`)
-- @treturn[1] table the report: `status` (the worst: `ok`, `warning`,
--   `critical`, `unknown`), `counts` (servers per status), `servers` (in
--   inventory order: `name`, `description`, `tags`, `status`, `checks`,
--   `error`, `seconds`), `policy`, `started`, `seconds`
-- @return[2] nil, err when the policy is not valid
function Fleet:audit(options)
  options = check_options(options, AUDIT_OPTIONS, "audit", 2)
  local policy, err
  if type(options.policy) == "string" then
    policy, err = policy_lib.load(options.policy)
  elseif options.policy == nil or type(options.policy) == "table" then
    policy, err = policy_lib.read(options.policy)
  else
    error("vbr.fleet: audit: option 'policy' must be a table or a file name, got "
      .. type(options.policy), 2)
  end
  if not policy then return nil, err end
  local clock = options.clock or os.time
  local began = core.monotonic()
  local report = { policy = policy, started = clock(), servers = {}, status = "ok",
                   counts = { ok = 0, warning = 0, critical = 0, unknown = 0 } }
  local function entry(result)
    local verdict = result.ok and result.value or audit.unreachable(result.err, policy)
    local server = result.server
    verdict.name, verdict.description, verdict.tags = server.name, server.description, server.tags
    verdict.seconds = result.seconds
    return verdict
  end
  local on_result = options.on_result
  local shared = {}
  local results = self:run(function(client)
    return audit.evaluate(audit.collect(client, clock), policy, shared)
  end, {
    concurrency = options.concurrency, deadline = options.deadline,
    on_result = on_result and function(result, done, total)
      on_result(entry(result), done, total)
    end,
  })
  for i, result in ipairs(results) do
    local verdict = entry(result)
    report.servers[i] = verdict
    report.counts[verdict.status] = report.counts[verdict.status] + 1
    report.status = audit.worse(report.status, verdict.status)
  end
  report.seconds = core.monotonic() - began
  return report
end

-- Settings as `wanted` makes them from `current`: `wanted.settings` merged
-- (objects member by member, as `vbr configbackup apply` does), or
-- `wanted.wishes` as `configbackup:plan` takes them. Checked for the
-- server's revision; returns the body a PUT would send and the changes.
local function planned(client, wanted)
  local current, err = client.configbackup:get()
  if not current then return nil, err end
  local new
  if wanted.settings then
    new = configbackup.merge(current, wanted.settings)
    new.lastSuccessfulBackup = json.copy(current.lastSuccessfulBackup)   -- the server's
  else
    new, err = client.configbackup:plan(current, wanted.wishes)
    if not new then return nil, err end
  end
  local body
  body, err = client.configbackup:check(new, { current = current })
  if not body then return nil, err end
  -- against the current settings as a write would send them too, so that a
  -- time the server writes 18:00 and the revision's document 18:00:00 is
  -- no change
  local before = client.configbackup:check(current, { current = current }) or current
  return { new = new, current = current, changes = diff.compare(before, body) }
end

local function same_changes(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i].path ~= b[i].path or diff.show(a[i].old) ~= diff.show(b[i].old)
        or diff.show(a[i].new) ~= diff.show(b[i].new) then
      return false
    end
  end
  return true
end

local APPLY_OPTIONS = { concurrency = "number", deadline = "number", on_result = "function",
                        dry_run = "boolean", on_plan = "function" }

--- Aligns the settings of every server: first what would change on each
-- (nothing written), then the writes, concurrently. A server whose
-- settings changed between the two is left alone; one that refuses does
-- not stop the others.
-- @tparam table wanted `{ settings = table }` (merged into each server's
--   settings) or `{ wishes = table }` (see `vbr.configbackup:plan`: names of
--   repositories and passwords are looked up on each server)
-- @tparam[opt] table options `dry_run` (stop after the plans), `on_plan(result,
--   done, total)` as each plan is known, `on_result(result, done, total)` as
--   each write ends, `concurrency`, `deadline`
-- @treturn {table,...} the plans: per server `ok`, `value` (`changes`: a
--   list of `{path=, old=, new=}`, empty when nothing changes), `err`
-- @treturn[opt] {table,...} the writes (absent for a dry run): per server
--   with changes `ok`, `value` (`changes` written), `err`; `skipped = true`
--   for servers without changes or whose plan failed
function Fleet:apply(wanted, options)
  if type(wanted) ~= "table"
      or (type(wanted.settings) == "table") == (type(wanted.wishes) == "table") then
    error("vbr.fleet: apply expects { settings = table } or { wishes = table }", 2)
  end
  options = check_options(options, APPLY_OPTIONS, "apply", 2)
  local plans = self:run(function(client)
    local plan, err = planned(client, wanted)
    if not plan then return nil, err end
    return { changes = plan.changes }
  end, { concurrency = options.concurrency, deadline = options.deadline,
         on_result = options.on_plan })
  if options.dry_run then return plans end
  local writes = {}
  local indexes = {}
  for i, plan in ipairs(plans) do
    if plan.ok and #plan.value.changes > 0 then
      indexes[#indexes + 1] = i
    else
      writes[i] = { name = plan.name, server = plan.server, ok = plan.ok, skipped = true,
                    err = plan.err }
    end
  end
  local servers = {}
  for j, i in ipairs(indexes) do servers[j] = self.servers[i] end
  local results = self:run_on(servers, function(client, _, j)
    local before = plans[indexes[j]].value.changes
    local plan, err = planned(client, wanted)
    if not plan then return nil, err end
    if not same_changes(before, plan.changes) then
      return nil, core.error { kind = "conflict", retryable = false,
        message = "the settings changed since the dry run; nothing was written (run again)" }
    end
    local saved
    saved, err = client.configbackup:put(plan.new, { current = plan.current })
    if not saved then return nil, err end
    return { changes = plan.changes }
  end, { concurrency = options.concurrency, deadline = options.deadline,
         on_result = options.on_result })
  for j, i in ipairs(indexes) do writes[i] = results[j] end
  return plans, writes
end

local BACKUP_OPTIONS = { if_older_than = "number", wait = "boolean", timeout = "number",
                         force = "boolean", concurrency = "number", deadline = "number",
                         on_result = "function", on_session = "function", clock = "function" }

-- A session as a plain table: its client stays out of the results.
local function session_view(session)
  return { id = session.id, state = session.state, progress = session.progressPercent,
           outcome = session.outcome and session:outcome() or nil }
end

--- Starts a configuration backup on every server, or only where the last
-- success is older than `if_older_than`; with `wait`, follows each session
-- to its end.
-- @tparam[opt] table options `if_older_than` (seconds), `wait`, `timeout`
--   (seconds a wait may take, default 3600), `force` (start even when one
--   runs), `on_session(name, session)` after every poll of a session (a
--   plain table: `id`, `state`, `progress`, `outcome`), `on_result`,
--   `concurrency`, `deadline`, `clock` (now, seconds since the epoch)
-- @treturn {table,...} per server `ok`, `err`, and `value`: `{ skipped =
--   true, reason = }`, or `{ session = { id, state, progress, outcome } }`
function Fleet:backup(options)
  options = check_options(options, BACKUP_OPTIONS, "backup", 2)
  local clock = options.clock or os.time
  return self:run(function(client, server)
    local cb = client.configbackup
    if options.if_older_than then
      local settings, err = cb:get()
      if not settings then return nil, err end
      local last = type(settings.lastSuccessfulBackup) == "table"
        and staleness.parse_time(settings.lastSuccessfulBackup.lastSuccessfulTime)
      if last then
        -- without an offset in the text, its wall time is taken as UTC
        local age = clock() - (last.utc or last.wall)
        if age < options.if_older_than then
          return { skipped = true, reason = "the last success is " .. staleness.span(age)
            .. " old, younger than " .. staleness.span(options.if_older_than) }
        end
      end
    end
    local session, err = cb:start { force = options.force }
    if not session then return nil, err end
    local on_session = options.on_session
    if on_session then on_session(server.name, session_view(session)) end
    if not options.wait then return { session = session_view(session) } end
    local done
    done, err = session:wait { timeout = options.timeout or 3600, on_progress = on_session
      and function(s) on_session(server.name, session_view(s)) end }
    if not done then
      if err.session then err.session = session_view(err.session) end
      return nil, err
    end
    return { session = session_view(done) }
  end, { concurrency = options.concurrency, deadline = options.deadline,
         on_result = options.on_result })
end

fleet.Fleet = Fleet

return fleet
