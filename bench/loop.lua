-- One warm loop of `make bench`: N sequential GETs of the configuration
-- backup over one kept-alive HTTPS connection, each answer decoded into Lua
-- tables, after WARMUP untimed ones.
--
--   lua bench/loop.lua KIND BASE_URL CA_FILE TOKEN API_VERSION WARMUP N [AT,AT...]
--
-- KIND: vbr-get (client.configbackup:get()), vbr-core (client.core:request,
-- the core alone, decoding with its C decoder into res.json), vbr-raw (the
-- core with decode = false: transport and engine only, like the C loop), lua-curl
-- (Debian's lua-curl + cjson), luasec (LuaSec + cjson, HTTP/1.1 by hand).
-- The vbr kinds log in themselves with the password in VBR_PASSWORD; the
-- others send TOKEN.
--
-- Prints "rps=<requests per second> n=<N> hwm_kb=<peak RSS>", and for each
-- AT (a request count) "at=<AT> hwm_kb=<peak RSS> rss_kb=<RSS>" when the
-- loop gets there.
local socket = require "socket"   -- gettime, the same clock for every kind

local PATH = "/api/v1/configBackup"

local kind, base_url, ca_file, token, api_version = arg[1], arg[2], arg[3], arg[4], arg[5]
local warmup, count = tonumber(arg[6]), tonumber(arg[7])
if not (kind and base_url and ca_file and token and api_version and warmup and count) then
  io.stderr:write("usage: loop.lua KIND BASE_URL CA_FILE TOKEN API_VERSION WARMUP N [AT,...]\n")
  os.exit(2)
end
local checkpoints = {}
for at in (arg[8] or ""):gmatch("%d+") do checkpoints[tonumber(at)] = true end

local function status_kb(name)
  local file = assert(io.open("/proc/self/status", "r"))
  local text = file:read("*a")
  file:close()
  return tonumber(text:match(name .. ":%s*(%d+)"))
end

-- Each maker returns a function doing one request; it returns the decoded
-- answer or raises.
local makers = {}

local function vbr_client()
  local vbr = require "vbr"
  return assert(vbr.connect {
    url = base_url, username = "admin", password = assert(os.getenv("VBR_PASSWORD")),
    ca_file = ca_file, api_version = api_version,
  })
end

function makers.vbr_get()
  local cb = vbr_client().configbackup
  return function()
    return assert(cb:get())
  end
end

function makers.vbr_core()
  local core = vbr_client().core
  return function()
    return assert(core:request("GET", PATH)).json
  end
end

function makers.vbr_raw()
  local core = vbr_client().core
  local options = { decode = false }
  return function()
    return assert(core:request("GET", PATH, options)).body
  end
end

function makers.lua_curl()
  local curl = require "curl"
  local cjson = require "cjson"
  local decode, concat = cjson.decode, table.concat
  local easy = curl.easy_init()
  local parts, n = {}, 0
  easy:setopt(curl.OPT_URL, base_url .. PATH)
  easy:setopt(curl.OPT_CAINFO, ca_file)
  easy:setopt(curl.OPT_HTTPHEADER, {
    "Authorization: Bearer " .. token, "x-api-version: " .. api_version,
    "Accept: application/json",
  })
  easy:setopt(curl.OPT_FAILONERROR, 1)       -- an HTTP error fails perform
  easy:setopt(curl.OPT_WRITEFUNCTION, function(data, len)
    n = n + 1
    parts[n] = data
    return len
  end)
  return function()
    n = 0
    local ok, why = easy:perform()
    if ok ~= 0 then error("lua-curl: " .. tostring(why)) end
    local body = n == 1 and parts[1] or concat(parts, "", 1, n)
    return decode(body)
  end
end

function makers.luasec()
  local ssl = require "ssl"
  local cjson = require "cjson"
  local decode, tonumber, lower = cjson.decode, tonumber, string.lower
  local host, port = base_url:match("^https://([^:/]+):(%d+)$")
  local tcp = assert(socket.tcp())
  assert(tcp:connect(host, tonumber(port)))
  tcp:setoption("tcp-nodelay", true)
  local conn = assert(ssl.wrap(tcp, {
    mode = "client", protocol = "any", verify = "peer", cafile = ca_file,
    options = { "all", "no_sslv2", "no_sslv3" },
  }))
  assert(conn:dohandshake())
  local request = "GET " .. PATH .. " HTTP/1.1\r\nHost: " .. host .. ":" .. port
    .. "\r\nAuthorization: Bearer " .. token .. "\r\nx-api-version: " .. api_version
    .. "\r\nAccept: application/json\r\n\r\n"
  return function()
    assert(conn:send(request))
    local line = assert(conn:receive("*l"))
    if not line:find("^HTTP/1%.1 200 ") then error("luasec: " .. line) end
    local length
    while true do
      line = assert(conn:receive("*l"))
      if line == "" then break end
      local name, value = line:match("^([^:]+):%s*(.-)%s*$")
      if name and lower(name) == "content-length" then length = tonumber(value) end
    end
    if not length then error("luasec: no Content-Length") end
    return decode((assert(conn:receive(length))))
  end
end

local maker = makers[kind:gsub("-", "_")]
if not maker then
  io.stderr:write("loop.lua: unknown kind '", kind, "'\n")
  os.exit(2)
end
local get = maker()
for _ = 1, warmup do get() end
local started = socket.gettime()
for i = 1, count do
  get()
  if checkpoints[i] then
    io.write(string.format("at=%d hwm_kb=%d rss_kb=%d\n", i, status_kb("VmHWM"),
      status_kb("VmRSS")))
  end
end
local elapsed = socket.gettime() - started
io.write(string.format("rps=%.1f n=%d hwm_kb=%d\n", count / elapsed, count, status_kb("VmHWM")))
