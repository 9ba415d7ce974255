-- A small OpenAPI 3.0 schema validator and shaper, driven by one revision's
-- document. Values come from vbrsim.json so arrays and objects can be told
-- apart. Pure Lua: the specs load it too.
local json = require "vbrsim.json"
local util = require "vbrsim.util"

local schema = {}

local type, pairs, ipairs, next, tostring = type, pairs, ipairs, next, tostring
local floor, format, concat, sort = math.floor, string.format, table.concat, table.sort

local function join(path, key)
  if type(key) == "number" then return format("%s[%d]", path, key - 1) end
  if path == "" then return key end
  return path .. "." .. key
end

-- Properties and required names of a schema, allOf members included.
local function collect(document, node, properties, required)
  node = document:resolve(node)
  if type(node) ~= "table" then return end
  for name, sub in pairs(node.properties or {}) do properties[name] = properties[name] or sub end
  for _, name in ipairs(node.required or {}) do required[name] = true end
  for _, member in ipairs(node.allOf or {}) do collect(document, member, properties, required) end
end

-- The concrete member of a oneOf, chosen by its discriminator when it has one.
local function pick_variant(document, node, value)
  local disc = node.discriminator
  if disc and json.is_object(value) then
    local target = disc.mapping and disc.mapping[value[disc.propertyName]]
    if target then return document:resolve({ ["$ref"] = target }) end
  end
  return nil
end

local function type_of(node)
  if node.type then return node.type end
  if node.properties or node.allOf or node.required then return "object" end
  return nil
end

local INT32 = 2 ^ 31

local validate

local function fail(path, message)
  return { path = path == "" and "(body)" or path, message = message }
end

local function check_scalar(node, value, path, options)
  local kind = type_of(node)
  if kind == "string" then
    if type(value) ~= "string" then return fail(path, "must be a string") end
  elseif kind == "boolean" then
    if type(value) ~= "boolean" then return fail(path, "must be a boolean") end
  elseif kind == "integer" then
    -- By value: 10.0 is the integer 10 (the decoder keeps no number text).
    if type(value) ~= "number" or floor(value) ~= value then
      return fail(path, "must be an integer")
    end
    if node.format == "int32" and (value < -INT32 or value >= INT32) then
      return fail(path, "is out of the int32 range")
    end
  elseif kind == "number" then
    if type(value) ~= "number" then return fail(path, "must be a number") end
  end
  if node.enum then
    local found = false
    for _, allowed in ipairs(node.enum) do
      if allowed == value then found = true; break end
    end
    if not found then
      return fail(path, format("must be one of: %s", concat(node.enum, ", ")))
    end
  end
  if node.minimum and type(value) == "number" and value < node.minimum then
    return fail(path, format("must be at least %s", tostring(node.minimum)))
  end
  if node.maximum and type(value) == "number" and value > node.maximum then
    return fail(path, format("must be at most %s", tostring(node.maximum)))
  end
  if type(value) == "string" and node.format then
    local check = options.formats and options.formats[node.format]
    if check then
      local ok, why = check(value)
      if not ok then return fail(path, why or ("is not a valid " .. node.format)) end
    end
  end
  return nil
end

local function check_object(document, node, value, path, options)
  local properties, required = {}, {}
  collect(document, node, properties, required)
  local names = {}
  for name in pairs(required) do names[#names + 1] = name end
  sort(names)
  for _, name in ipairs(names) do
    if value[name] == nil then return fail(join(path, name), "is required") end
  end
  local extra = node.additionalProperties
  if extra == nil then extra = not options.strict end
  local allowed_extra = path == "" and options.extra_top_level or nil
  local keys = {}
  for k in pairs(value) do keys[#keys + 1] = k end
  sort(keys)
  for _, k in ipairs(keys) do
    local sub = properties[k]
    if sub then
      local err = validate(document, sub, value[k], join(path, k), options)
      if err then return err end
    elseif type(extra) == "table" then
      local err = validate(document, extra, value[k], join(path, k), options)
      if err then return err end
    elseif extra == false and not (allowed_extra and allowed_extra[k]) then
      local owner = options.revision or "this revision"
      return fail(join(path, k), "is not a property of " .. owner .. "'s schema")
    end
  end
  return nil
end

local function check_array(document, node, value, path, options)
  local seen = {}
  for i, item in ipairs(value) do
    local err = validate(document, node.items or {}, item, join(path, i), options)
    if err then return err end
    if node.uniqueItems and type(item) ~= "table" then
      if seen[item] then return fail(join(path, i), "duplicates an earlier item") end
      seen[item] = true
    end
  end
  return nil
end

validate = function(document, node, value, path, options)
  node = document:resolve(node)
  if type(node) ~= "table" then return nil end
  if value == json.null then
    if node.nullable then return nil end
    return fail(path, "must not be null")
  end
  for _, member in ipairs(node.allOf or {}) do
    local resolved = document:resolve(member)
    -- allOf members are checked as parts; the whole object's keys are checked below.
    if resolved and (resolved.enum or resolved.format) then
      local err = check_scalar(resolved, value, path, options)
      if err then return err end
    end
  end
  if node.oneOf then
    local variant = pick_variant(document, node, value)
    if variant then return validate(document, variant, value, path, options) end
  end
  local kind = type_of(node)
  if kind == "object" then
    if not json.is_object(value) then return fail(path, "must be an object") end
    return check_object(document, node, value, path, options)
  elseif kind == "array" then
    if not json.is_array(value) then return fail(path, "must be an array") end
    return check_array(document, node, value, path, options)
  end
  return check_scalar(node, value, path, options)
end

local function default_formats()
  return {
    uuid = function(v) return util.is_uuid(v), "is not a valid uuid" end,
    ["date-time"] = function(v)
      return util.parse_datetime(v) ~= nil, "is not a valid date-time"
    end,
  }
end

-- Validates value against a schema of the document. options: strict (extra
-- properties refused where the schema does not say), formats (name -> check),
-- extra_top_level (set of extra names allowed at the top), revision.
-- Returns nil when valid, else {path=, message=}.
function schema.validate(document, node, value, options)
  options = options or {}
  local formats = default_formats()
  for name, check in pairs(options.formats or {}) do formats[name] = check end
  options.formats = formats
  return validate(document, node, value, "", options)
end

-- Copy of value keeping only what the schema knows (properties and required
-- names), arrays marked as arrays. Lets one neutral record feed every revision.
local function shape(document, node, value)
  node = document:resolve(node)
  if type(node) ~= "table" or type(value) ~= "table" or value == json.null then return value end
  if node.oneOf then
    local variant = pick_variant(document, node, value)
    if variant then return shape(document, variant, value) end
  end
  local kind = type_of(node)
  if kind == "array" or json.is_array(value) then
    local out = json.array()
    for i, item in ipairs(value) do out[i] = shape(document, node.items or {}, item) end
    return out
  end
  local properties, required = {}, {}
  collect(document, node, properties, required)
  if next(properties) == nil and next(required) == nil then return value end
  local out = json.object()
  for k, v in pairs(value) do
    if properties[k] then
      out[k] = shape(document, properties[k], v)
    elseif required[k] then
      out[k] = v
    end
  end
  return out
end

function schema.shape(document, node, value)
  return shape(document, node, value)
end

-- The document's spelling of an enum value given in any casing (EDayOfWeek:
-- monday in 1.1-rev0, Monday in 1.3-rev1); the value itself when not listed.
function schema.spelling(document, enum_name, value)
  local node = document:schema(enum_name)
  local wanted = value:lower()
  for _, candidate in ipairs(node and node.enum or {}) do
    if candidate:lower() == wanted then return candidate end
  end
  return value
end

-- Properties (name -> schema) and required names (set) of a schema, allOf included.
function schema.members(document, node)
  local properties, required = {}, {}
  collect(document, node, properties, required)
  return properties, required
end

return schema
