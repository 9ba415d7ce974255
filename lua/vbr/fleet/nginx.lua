--- vbr.fleet inside nginx (OpenResty, or Debian's nginx with its Lua
-- module): each server's work runs in a light thread (`ngx.thread.spawn`)
-- and talks to its server through the nginx transport (`vbr.nginx`), so a
-- gateway audits a fleet without blocking its worker.
--
-- The servers are reached through one proxy location whose `proxy_pass`
-- takes the host of each request's step:
--
--     location = /_vbr_fleet {
--         internal;
--         proxy_pass https://$vbr_host$vbr_uri;     # every server of the inventory
--         proxy_ssl_trusted_certificate /etc/vbr/ca.pem;
--         include /etc/nginx/snippets/vbr_proxy.conf;
--     }
--
-- and `fleet.open(path, { nginx = { location = "/_vbr_fleet" } })`. TLS
-- is the location's: an inventory's `ca_file`, `ca_path` and
-- `connect_timeout` give way to its `proxy_ssl_*` and `proxy_*_timeout`
-- directives; a server with `pinned_public_key` or `insecure` is refused
-- (nginx could not honour them). A name other than an IP address needs a
-- `resolver` in the http block. Deadlines bound every request of a server
-- (a light thread with a subrequest in flight cannot be killed).
-- @module vbr.fleet.nginx

-- luacheck: globals ngx

local nginx_lib = require "vbr.nginx"
local core = require "vbr.core"

local pairs, ipairs, tostring, min, unpack =
      pairs, ipairs, tostring, math.min, table.unpack or rawget(_G, "unpack")

local fleet_nginx = {}

-- Phases in which a handler may make subrequests.
local PHASES = { rewrite = true, access = true, content = true }

--- True in a handler of nginx that may run a fleet (subrequests work).
function fleet_nginx.inside()
  return nginx_lib.in_nginx() and PHASES[ngx.get_phase()] == true
end

-- What nginx itself decides, so an inventory's value gives way.
local LOCATION_DECIDES = { ca_file = true, ca_path = true, connect_timeout = true,
                           user_agent = true }

--- `vbr.connect` options for a server inside nginx: the location's TLS.
-- @return options, or nil and an error of kind `invalid`
function fleet_nginx.connect_options(options, nginx_options, name)
  for key in pairs(nginx_lib.CURL_ONLY) do
    if options[key] ~= nil and not LOCATION_DECIDES[key] then
      return nil, core.error { kind = "invalid", retryable = false,
        message = name .. ": " .. key .. " cannot apply inside nginx, where the proxy "
          .. "location's proxy_ssl_* directives decide (see vbr.fleet.nginx)" }
    end
    options[key] = nil
  end
  options.nginx = nginx_options or true
  return options
end

--- `vbr.fleet.runner.run` on light threads: the same arguments and results
-- (`deadline` is left to the requests' timeouts).
function fleet_nginx.run(count, task, options)
  local concurrency = options.concurrency or 16
  local on_result = options.on_result
  local results, done, next_index = {}, 0, 1
  local threads, index_of = {}, {}
  local function start(index)
    local thread = ngx.thread.spawn(function()
      local started = ngx.now()
      local ok, value, err = pcall(task, index, {})
      local seconds = ngx.now() - started
      if not ok then
        return index, { ok = false, seconds = seconds, err = core.error {
          kind = "internal", message = "the task raised: " .. tostring(value) } }
      end
      if value == nil then return index, { ok = false, err = err, seconds = seconds } end
      return index, { ok = true, value = value, seconds = seconds }
    end)
    threads[#threads + 1] = thread
    index_of[thread] = index
  end
  while next_index <= min(count, concurrency) do
    start(next_index)
    next_index = next_index + 1
  end
  while #threads > 0 do
    -- wait returns the first thread to end; its index says which it was
    local ok, index, result = ngx.thread.wait(unpack(threads))
    if not ok then error("vbr.fleet: a light thread failed: " .. tostring(index), 0) end
    for i, thread in ipairs(threads) do
      if index_of[thread] == index then
        table.remove(threads, i)
        index_of[thread] = nil
        break
      end
    end
    results[index] = result
    done = done + 1
    if on_result then on_result(index, result, done, count) end
    if next_index <= count then
      start(next_index)
      next_index = next_index + 1
    end
  end
  return results
end

return fleet_nginx
