-- Query parameters read the way the revision's document declares them, and
-- the {data, pagination} envelope of every list endpoint.
local json = require "vbrsim.json"
local util = require "vbrsim.util"

local listing = {}

local pairs, ipairs, type, tonumber = pairs, ipairs, type, tonumber
local min, format, sort, concat = math.min, string.format, table.sort, table.concat

local function convert(document, name, node, text)
  node = document:resolve(node) or {}
  local kind = node.type or "string"
  if kind == "integer" then
    local n = text:find("^%-?%d+$") and tonumber(text)
    if not n then return nil, format("%s: must be an integer", name) end
    return n
  elseif kind == "boolean" then
    if text == "true" then return true end
    if text == "false" then return false end
    return nil, format("%s: must be true or false", name)
  end
  if node.enum then
    for _, allowed in ipairs(node.enum) do
      if allowed == text then return text end
    end
    return nil, format("%s: must be one of: %s", name, concat(node.enum, ", "))
  end
  if node.format == "uuid" and not util.is_uuid(text) then
    return nil, name .. ": must be a uuid"
  end
  if node.format == "date-time" and not util.parse_datetime(text) then
    return nil, name .. ": must be a date-time"
  end
  return text
end

-- Checks raw query args (from ngx.req.get_uri_args) against the operation's
-- query parameters. Array parameters come as repeated names. Unknown names are
-- refused: a client must only send what its revision defines.
function listing.parse_query(document, method, template, raw)
  local declared = document:query_parameters(method, template)
  local args = {}
  local names = {}
  for name in pairs(raw) do names[#names + 1] = name end
  sort(names)
  for _, name in ipairs(names) do
    local value = raw[name]
    local node = declared[name] and document:resolve(declared[name])
    if not node then
      return nil, format("%s: is not a query parameter of %s %s in this revision",
                         name, method, template)
    end
    if value == true then return nil, name .. ": needs a value" end
    if node.type == "array" then
      local list = {}
      for i, text in ipairs(type(value) == "table" and value or { value }) do
        if text == true then return nil, name .. ": needs a value" end
        local v, err = convert(document, name, node.items, text)
        if v == nil then return nil, err end
        list[i] = v
      end
      args[name] = list
    else
      if type(value) == "table" then
        return nil, name .. ": takes a single value in this revision"
      end
      local v, err = convert(document, name, node, value)
      if v == nil then return nil, err end
      args[name] = v
    end
  end
  if args.skip and args.skip < 0 then return nil, "skip: must not be negative" end
  if args.limit and args.limit < 1 then return nil, "limit: must be at least 1" end
  return args
end

-- "*backup*" style patterns, case-insensitive, over the given text.
function listing.name_matches(pattern, text)
  local escaped = pattern:lower():gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0")
  local lua_pattern = "^" .. escaped:gsub("%*", ".*") .. "$"
  return (text or ""):lower():find(lua_pattern) ~= nil
end

-- A one-value-or-array filter as a set.
function listing.set_of(value)
  if value == nil then return nil end
  local set = {}
  for _, v in ipairs(type(value) == "table" and value or { value }) do set[v] = true end
  return set
end

-- Applies skip/limit and wraps items into {data, pagination}.
function listing.page(items, args)
  local skip, limit = args.skip or 0, args.limit or 200
  local data = json.array()
  for i = skip + 1, min(#items, skip + limit) do data[#data + 1] = items[i] end
  return json.object {
    data = data,
    pagination = json.object { total = #items, count = #data, skip = skip, limit = limit },
  }
end

-- Sorts records by a key function; ascending unless descending is true.
function listing.sort_by(items, key, descending)
  sort(items, function(a, b)
    local x, y = key(a), key(b)
    if x == y then return false end
    if x == nil then return not descending end
    if y == nil then return descending end
    if descending then return x > y end
    return x < y
  end)
  return items
end


return listing
