-- Spec helper: the example gateway (examples/openresty) in a real nginx,
-- in front of a simulator instance.
--
--   local gateway = require "spec.support.openresty_gateway"
--   local g = gateway.start(sim_instance, { workers = 2 })
--   local status, body = g:request("GET", "/configbackup")
--   local codes, ms = g:parallel(50, "GET", "/configbackup")
--   g:error_lines(); g:stop()
--
-- nginx is Debian's /usr/sbin/nginx with the lua module, as the simulator
-- uses it; the vbr core is build/luajit/vbr/core.so (make build). The
-- gateway's nginx.conf is the example's, placeholders filled in; `edit`
-- may change it further (a function from text to text).
local gateway = {}

local NGINX = "/usr/sbin/nginx"

local shell = require "spec.support.shell"
local shell_quote, run, read, write = shell.quote, shell.run, shell.read, shell.write

local function repo_root()
  local source = debug.getinfo(1, "S").source
  local file = source:sub(1, 1) == "@" and source:sub(2) or "spec/support/openresty_gateway.lua"
  local root = file:gsub("[^/]*$", ""):gsub("spec/support/$", "")
  if root == "" or root == "./" then
    local _, pwd = run("pwd")
    root = pwd:gsub("%s+$", "") .. "/"
  end
  return root
end

local function plain(s) return (s:gsub("%%", "%%%%")) end

local Instance = {}
Instance.__index = Instance

-- Starts nginx with the example's configuration. Options: workers (2),
-- username, password, api_version, edit (function(conf) -> conf), and
-- where vbr is: lua_path (the working copy's lua/ and the example's
-- handlers), lua_cpath (build/luajit/?.so), proxy_conf (the example's).
function gateway.start(sim, options)
  options = options or {}
  local root = repo_root()
  local example = root .. "examples/openresty/"
  local _, prefix = run("mktemp -d \"${TMPDIR:-/tmp}/vbr-openresty.XXXXXX\"")
  prefix = prefix:gsub("%s+$", "")
  assert(run("mkdir -p " .. shell_quote(prefix .. "/logs") .. " " .. shell_quote(prefix .. "/tmp")))
  local user = sim.users.admin
  write(prefix .. "/password", options.password or user.password)
  local address = sim.url:match("^https://([^/]+)")
  local values = {
    PREFIX = prefix,
    VBR_ADDRESS = address,
    VBR_CA_FILE = sim.ca_file,
    LUA_PATH = options.lua_path
      or (root .. "lua/?.lua;" .. root .. "lua/?/init.lua;" .. example .. "?.lua"),
    LUA_CPATH = options.lua_cpath or (root .. "build/luajit/?.so"),
    PROXY_CONF = options.proxy_conf or (example .. "vbr_proxy.conf"),
  }
  local template = assert(read(example .. "nginx.conf"))
  local _, uid = run("id -u")
  local env = table.concat({
    "VBR_URL=" .. shell_quote("https://localhost:" .. address:match(":(%d+)$")),
    "VBR_USERNAME=" .. shell_quote(options.username or user.username),
    "VBR_PASSWORD_FILE=" .. shell_quote(prefix .. "/password"),
    "VBR_API_VERSION=" .. shell_quote(options.api_version or ""),
  }, " ")
  for _ = 1, 20 do
    local port = math.random(20000, 59999)
    values.LISTEN = "127.0.0.1:" .. port
    local conf = template:gsub("@([%u_]+)@", values)
    for line in conf:gmatch("[^\n]+") do
      assert(not line:find("^%s*[^#]*@[%u_]+@"), "placeholder left: " .. line)
    end
    conf = conf:gsub("\nworker_processes %d+;", plain("\nworker_processes "
      .. (options.workers or 2) .. ";"))
    -- workers must read the instance files; as root, keep them root
    if uid:match("^0%s") then conf = "user root;\n" .. conf end
    if options.edit then conf = options.edit(conf) end
    write(prefix .. "/nginx.conf", conf)
    local ok, output = run("env " .. env .. " " .. NGINX .. " -p " .. shell_quote(prefix)
      .. " -c " .. shell_quote(prefix .. "/nginx.conf") .. " -e "
      .. shell_quote(prefix .. "/logs/error.log") .. " </dev/null")
    if ok then
      local self = setmetatable({ prefix = prefix, url = "http://" .. values.LISTEN }, Instance)
      for _ = 1, 250 do
        local pid = tonumber(read(prefix .. "/nginx.pid") or "")
        local health = shell_quote(self.url .. "/healthz")
        if pid and run("curl -fs -o /dev/null --max-time 1 " .. health) then
          self.pid = pid
          return self
        end
        run("sleep 0.02")
      end
      self:stop()
      error("the gateway's nginx did not come up: " .. tostring(read(prefix .. "/logs/error.log")))
    end
    if not (output .. (read(prefix .. "/logs/error.log") or "")):find("Address already in use") then
      run("rm -rf " .. shell_quote(prefix))
      error("the gateway's nginx did not start: " .. output)
    end
    write(prefix .. "/logs/error.log", "")
  end
  error("the gateway's nginx found no free port")
end

-- One request with the curl command line: status, body.
function Instance:request(method, path, headers)
  local command = "curl -sS --max-time 30 -X " .. method .. " -w '\\n%{http_code}' "
  for _, header in ipairs(headers or {}) do
    command = command .. "-H " .. shell_quote(header) .. " "
  end
  local _, output = run(command .. shell_quote(self.url .. path))
  local body, status = output:match("^(.*)\n(%d%d%d)$")
  return tonumber(status), body or output
end

-- n requests at once (curl --parallel): the status codes, and the wall
-- time of the whole batch in milliseconds.
function Instance:parallel(n, method, path)
  local config = self.prefix .. "/parallel.curl"
  local lines = {}
  for i = 1, n do
    lines[i] = ('url = "%s"\noutput = "/dev/null"\nrequest = "%s"'):format(self.url .. path, method)
  end
  write(config, table.concat(lines, "\n") .. "\n")
  local _, output = run("s=$(date +%s%N); curl -sS --max-time 60 --parallel --parallel-immediate "
    .. "--parallel-max " .. n .. " -w '%{http_code}\\n' -K " .. shell_quote(config)
    .. "; e=$(date +%s%N); echo \"ms=$(( (e - s) / 1000000 ))\"")
  local codes = {}
  for line in output:gmatch("[^\n]+") do
    if line:match("^%d%d%d$") then codes[#codes + 1] = tonumber(line) end
  end
  return codes, tonumber(output:match("ms=(%d+)")), output
end

-- The lines of nginx's error log that hold "[error]" (or worse).
function Instance:error_lines()
  local lines = {}
  for line in (read(self.prefix .. "/logs/error.log") or ""):gmatch("[^\n]+") do
    if line:find("%[error%]") or line:find("%[crit%]") or line:find("%[alert%]")
      or line:find("%[emerg%]") then
      lines[#lines + 1] = line
    end
  end
  return lines
end

function Instance:error_log()
  return read(self.prefix .. "/logs/error.log") or ""
end

function Instance:access_log()
  return read(self.prefix .. "/logs/access.log") or ""
end

-- Stops nginx by its pid (and waits for it), removes the prefix.
function Instance:stop()
  if self.stopped then return end
  self.stopped = true
  if self.pid then
    run("kill -QUIT " .. self.pid .. "; for i in $(seq 1 250); do kill -0 " .. self.pid
      .. " 2>/dev/null || break; sleep 0.02; done; kill -KILL " .. self.pid .. " 2>/dev/null")
  end
  run("rm -rf " .. shell_quote(self.prefix))
end

return gateway
