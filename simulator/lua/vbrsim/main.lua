-- Start-up: load the OpenAPI documents and the start settings, build the state.
-- Runs in init_by_lua (nginx master), so a bad document or setting stops the
-- start with a message instead of failing later per request.
local json = require "vbrsim.json"
local openapi = require "vbrsim.openapi"
local state = require "vbrsim.state"

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

function main.init(options)
  local registry, err = openapi.load(options.openapi_dir)
  if not registry then error("vbrsim: " .. err, 0) end
  -- Handlers register their reset hooks when loaded.
  require "vbrsim.router"
  require "vbrsim.admin"
  require("vbrsim.recorder").path = options.request_log
  state.init(registry, read_settings(options.settings_file))
end

function main.init_worker()
  math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
end

return main
