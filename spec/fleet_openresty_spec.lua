-- vbr.fleet inside nginx (Debian's nginx with the Lua module, as OpenResty):
-- the same audit as from a script, each server on a light thread with the
-- nginx transport, through one proxy location that takes each step's host.
local fleet_lib = require "vbr.fleet"
local cjson = require "cjson"
local support = require "spec.support.fleet"
local gateway_lib = require "spec.support.openresty_gateway"
local shell = require "spec.support.shell"

describe("a fleet audit inside nginx", function()
  local started, fleet, gateway

  setup(function()
    started = support.start { servers = 6, seed = 48 }
    fleet = started.sim
    -- nginx checks a certificate's DNS name, not an IP address: the servers
    -- are named localhost here, and a map sends each request to 127.0.0.1
    local inventory = started.dir .. "/inventory"
    shell.write(inventory, (assert(shell.read(fleet.inventory))
      :gsub("https://127%.0%.0%.1:", "https://localhost:")))
    gateway = gateway_lib.start(fleet, { workers = 2, edit = function(conf)
      local proxy_conf = conf:match('include "([^"]*vbr_proxy%.conf)"')
      local locations = table.concat({
        "",
        "        location = /_vbr_fleet {",
        "            internal;",
        "            proxy_pass https://$vbr_address$vbr_uri;",
        '            proxy_ssl_trusted_certificate "' .. fleet.ca_file .. '";',
        "            proxy_read_timeout 30s;",
        '            include "' .. proxy_conf .. '";',
        "        }",
        "        location = /fleet {",
        "            content_by_lua_block {",
        '                local f = assert(require("vbr.fleet").open("' .. inventory .. '",',
        '                  { nginx = { location = "/_vbr_fleet" } }))',
        "                local c = tonumber(ngx.var.arg_c)",
        "                local report = assert(f:audit { concurrency = c })",
        '                ngx.print(require("vbr.fleet.report").json(report))',
        "            }",
        "        }",
      }, "\n")
      conf = conf:gsub("\n    server {", "\n    map $vbr_host $vbr_address {\n"
        .. "        ~^localhost:(?<port>[0-9]+)$ 127.0.0.1:$port;\n    }%0", 1)
      return (conf:gsub("\n        location = /healthz {", function(head)
        return locations .. head
      end))
    end })
  end)
  teardown(function()
    if gateway then gateway:stop() end
    started:stop()
  end)

  it("gives the verdicts the libcurl fleet gives, on light threads", function()
    fleet:reset_fleet_counters()
    local status, body = gateway:request("GET", "/fleet?c=3")
    assert.equal(200, status, body .. table.concat(gateway:error_lines(), "\n"))
    local inside = cjson.decode(body)
    local counted = fleet:fleet()
    local outside = assert(assert(fleet_lib.open(fleet.inventory)):audit())
    assert.equal(#outside.servers, #inside.servers)
    for i, server in ipairs(outside.servers) do
      assert.equal(server.name, inside.servers[i].name)
      assert.equal(server.status, inside.servers[i].status, server.name)
      for j, check in ipairs(server.checks) do
        assert.equal(check.status, inside.servers[i].checks[j].status,
          server.name .. " " .. check.id)
      end
    end
    -- three light threads at once, each with its request in flight
    assert.is_true(counted.connections.peak <= 3, "peak " .. counted.connections.peak)
    assert.is_true(counted.connections.peak >= 2, "peak " .. counted.connections.peak)
    assert.same({}, gateway:error_lines())
  end)
end)
