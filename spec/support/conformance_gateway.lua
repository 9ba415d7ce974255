-- Spec helper, loaded inside nginx: one request of spec/transport_spec.lua
-- through the nginx transport, answered as JSON.
--
--   location = /conformance { content_by_lua_block { require("conformance_gateway").handle() } }
--   GET /conformance?method=POST&path=/api/v1/configBackup/backup
--   -> 200 {status, length} or 502 {err = {kind, status, message, ...}}
--
-- The client is the worker's, made at its first request with the spec's
-- options from the environment (VBR_URL, VBR_USERNAME, VBR_PASSWORD_FILE).
-- luacheck: globals ngx
local vbr = require "vbr"
local cjson = require "cjson"

local conformance = {}

-- The options every transport of the spec runs with.
conformance.OPTIONS = {
  timeout = 2,
  max_response_size = 1024 * 1024,   -- the cap's default, 16 MiB, is slow under valgrind
  retry = { attempts = 3, base_delay = 0.05, max_delay = 0.2, max_time = 20 },
}

local client

local function reply(value)
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(value))
end

-- The fields of an error the spec compares.
function conformance.error_fields(err)
  return {
    kind = err.kind, status = err.status, message = err.message,
    retryable = err.retryable, outcome_unknown = err.outcome_unknown,
  }
end

function conformance.handle()
  local args = ngx.req.get_uri_args()
  if not client then
    local options = {
      url = os.getenv("VBR_URL"), username = os.getenv("VBR_USERNAME"),
      password_file = os.getenv("VBR_PASSWORD_FILE"),
    }
    for key, value in pairs(conformance.OPTIONS) do options[key] = value end
    local made, err = vbr.connect(options)
    if not made then
      ngx.status = 502
      return reply { err = conformance.error_fields(err) }
    end
    if client then made:close() else client = made end
  end
  local res, err = client.transport:request(args.method, args.path, { decode = false })
  ngx.status = res and 200 or 502
  return reply {
    status = res and res.status, length = res and #res.body,
    err = err and conformance.error_fields(err),
  }
end

return conformance
