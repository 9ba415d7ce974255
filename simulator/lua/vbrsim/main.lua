-- Start-up: load the OpenAPI documents and the start settings, build the state.
-- Runs in init_by_lua (nginx master), so a bad document or setting stops the
-- start with a message instead of failing later per request.
local json = require "vbrsim.json"
local openapi = require "vbrsim.openapi"
local state = require "vbrsim.state"
local fleet = require "vbrsim.fleet"

local main = {}

-- settings file: one "name=value" per line; value is JSON, else a plain string.
local function read_settings(path)
  local overrides = {}
  local f = path and io.open(path, "r")
  if not f then return overrides end
  for line in f:lines() do
    local name, text = line:match("^%s*([%w_]+)%s*=(.*)$")
    if name then
      local value = json.decode(text)
      if value == nil then value = text end
      overrides[name] = value
    end
  end
  f:close()
  return overrides
end

local function write_file(path, text)
  local f, err = io.open(path, "w")
  if not f then error("vbrsim: cannot write " .. path .. ": " .. tostring(err), 0) end
  f:write(text)
  f:close()
end

-- options: openapi_dir, settings_file, port (the first HTTPS port), and for
-- a fleet servers (how many; 0: one classic server), seed, dir (where the
-- inventory file goes; dir/admin-password and dir/certs/ca.pem are vbrsim's).
function main.init(options)
  local registry, err = openapi.load(options.openapi_dir)
  if not registry then error("vbrsim: " .. err, 0) end
  -- Handlers register their reset hooks when loaded.
  require "vbrsim.router"
  require "vbrsim.admin"
  require("vbrsim.recorder").path = options.request_log
  local servers = { { port = options.port } }
  if (options.servers or 0) > 0 then
    servers = fleet.servers(options.servers, options.seed, options.port, registry,
                            ngx and ngx.now() or os.time())
    write_file(options.dir .. "/inventory", fleet.inventory_text(servers, {
      seed = options.seed, password_file = options.dir .. "/admin-password",
      ca_file = options.dir .. "/certs/ca.pem",
    }))
  end
  state.init(registry, read_settings(options.settings_file), servers)
end

function main.init_worker()
  math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
end

return main
