-- The OpenAPI documents are the contract: this module loads every
-- simulator/openapi/vbr-<revision>.json, tells which x-api-version values they
-- serve, and reads from them what differs per revision (operations, roles,
-- the localTime format of the examples).
local json = require "vbrsim.json"

local openapi = {}

local tonumber, ipairs, pairs, sort, format = tonumber, ipairs, pairs, table.sort, string.format

-- Builds that exist without a document of their own are served by the document
-- of the same version (handbook table). Builds are what serverInfo reports.
local KNOWN_REVISIONS = {
  { revision = "1.1-rev0", build = "12.0.0.1420" },
  { revision = "1.1-rev1", build = "12.1.2.172" },
  { revision = "1.1-rev2", build = "12.2.0.334" },
  { revision = "1.2-rev0", build = "12.3.0.310" },
  { revision = "1.2-rev1", build = "12.3.1.1139" },
  { revision = "1.3-rev0", build = "13.0.0.4967" },
  { revision = "1.3-rev1", build = "13.0.1.180" },
  { revision = "1.3-rev2", build = "13.1.0.1016" },
}

local function parse_revision(text)
  local major, minor, rev = tostring(text):match("^(%d+)%.(%d+)%-rev(%d+)$")
  if not major then return nil end
  return { major = tonumber(major), minor = tonumber(minor), rev = tonumber(rev) }
end

function openapi.compare(a, b)
  local x, y = parse_revision(a), parse_revision(b)
  if x.major ~= y.major then return x.major < y.major end
  if x.minor ~= y.minor then return x.minor < y.minor end
  return x.rev < y.rev
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("*a")
  f:close()
  return text
end

local function decode_document(text)
  -- cjson is much faster on 1 MB of schemas; the documents never rely on [] vs {}.
  local ok, cjson = pcall(require, "cjson")
  if ok then
    local decoded_ok, doc = pcall(cjson.decode, text)
    if decoded_ok then return doc end
    return nil, doc
  end
  return json.decode(text)
end

local function list_documents(dir)
  local pipe = assert(io.popen("ls -1 '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null"))
  local found = {}
  for name in pipe:lines() do
    local revision = name:match("^vbr%-(%d+%.%d+%-rev%d+)%.json$")
    if revision then found[#found + 1] = revision end
  end
  pipe:close()
  return found
end

-- "Available to: Backup Administrator, Backup Operator." -> set of our roles.
local ROLE_NAMES = {
  administrator = "Backup Administrator", operator = "Backup Operator", viewer = "Backup Viewer",
}

local function roles_from_description(description)
  local note = description and description:match("Available to%*%*&#58;%s*([^<]*)")
  if not note then return nil end
  local allowed = {}
  if note:find("^All") then
    for role in pairs(ROLE_NAMES) do allowed[role] = true end
    return allowed
  end
  for role, name in pairs(ROLE_NAMES) do
    if note:find(name, 1, true) then allowed[role] = true end
  end
  return allowed
end

-- The localTime shape the document's own examples use.
local function detect_time_format(text)
  local sample = text:match('"localTime"%s*:%s*"([^"]*)"')
  if not sample then return "HH:MM:SS" end
  if sample:find("^%d%d?:%d%d [AP]M$") then return "h:MM AM" end
  if sample:find("^%d%d:%d%d$") then return "HH:MM" end
  return "HH:MM:SS"
end

local Document = {}
Document.__index = Document

function Document:schema(name)
  return self.doc.components.schemas[name]
end

-- Operation object for a method and a path template, or nil.
function Document:operation(method, template)
  local item = self.doc.paths[template]
  return item and item[method:lower()]
end

function Document:resolve(node)
  while type(node) == "table" and node["$ref"] do
    local name = node["$ref"]:match("^#/components/schemas/(.+)$")
    local target = name and self.doc.components.schemas[name]
    if not target then
      local kind, pname = node["$ref"]:match("^#/components/(%w+)/(.+)$")
      target = kind and self.doc.components[kind] and self.doc.components[kind][pname]
    end
    node = target
  end
  return node
end

-- Query parameters of an operation: name -> schema (resolved).
function Document:query_parameters(method, template)
  local op = self:operation(method, template)
  local result = {}
  for _, p in ipairs(op and op.parameters or {}) do
    p = self:resolve(p)
    if p and p["in"] == "query" then result[p.name] = p.schema end
  end
  return result
end

local function load_document(dir, revision)
  local text, err = read_file(dir .. "/vbr-" .. revision .. ".json")
  if not text then return nil, err end
  local doc, derr = decode_document(text)
  if not doc then return nil, format("vbr-%s.json: %s", revision, tostring(derr)) end
  local d = setmetatable({ revision = revision, doc = doc, roles = {},
                           time_format = detect_time_format(text) }, Document)
  for template, item in pairs(doc.paths) do
    for method, op in pairs(item) do
      if type(op) == "table" and op.responses then
        d.roles[method:upper() .. " " .. template] = roles_from_description(op.description)
      end
    end
  end
  return d
end

-- Loads a folder; returns a registry {documents, served_by, supported, builds}.
function openapi.load(dir)
  local registry = { documents = {}, served_by = {}, builds = {}, supported = {} }
  local found = list_documents(dir)
  if #found == 0 then return nil, "no vbr-<revision>.json document in " .. dir end
  sort(found, openapi.compare)
  for _, revision in ipairs(found) do
    local d, err = load_document(dir, revision)
    if not d then return nil, err end
    registry.documents[revision] = d
    registry.served_by[revision] = d
  end
  -- Role notes appear from 1.3-rev0 on; older documents take the next newer notes.
  for i = #found, 1, -1 do
    local d = registry.documents[found[i]]
    local newer = found[i + 1] and registry.documents[found[i + 1]]
    if newer then
      for key, roles in pairs(newer.roles) do
        if d.roles[key] == nil and d:operation(key:match("^(%S+)"), key:match("^%S+ (.+)$")) then
          d.roles[key] = roles
        end
      end
    end
  end
  for _, known in ipairs(KNOWN_REVISIONS) do
    registry.builds[known.revision] = known.build
    if not registry.served_by[known.revision] then
      -- Nearest document of the same version: the closest lower rev, else higher.
      local want = parse_revision(known.revision)
      local best, best_distance
      for _, revision in ipairs(found) do
        local have = parse_revision(revision)
        if have.major == want.major and have.minor == want.minor then
          local distance = want.rev - have.rev
          distance = distance >= 0 and distance or 100 - distance
          if not best_distance or distance < best_distance then
            best, best_distance = revision, distance
          end
        end
      end
      if best then registry.served_by[known.revision] = registry.documents[best] end
    end
  end
  for revision in pairs(registry.served_by) do
    registry.supported[#registry.supported + 1] = revision
  end
  sort(registry.supported, openapi.compare)
  return registry
end

openapi.parse_revision = parse_revision

return openapi
