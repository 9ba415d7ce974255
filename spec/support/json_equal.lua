-- Compares JSON texts as values, with dkjson: an implementation independent
-- of cjson and of vbr.json, which tells `[]` from `{}` and keeps `null`.
local dkjson = require "dkjson"

local NULL = setmetatable({}, { __tostring = function() return "null" end })

local function kind(v)
  if type(v) ~= "table" or v == NULL then return type(v) end
  local mt = getmetatable(v)
  return mt and mt.__jsontype or "object"
end

local function equal(a, b, path)
  if kind(a) ~= kind(b) then
    return false, path .. ": " .. kind(a) .. " vs " .. kind(b)
  end
  if type(a) ~= "table" or a == NULL then
    if a == b then return true end
    return false, path .. ": " .. tostring(a) .. " vs " .. tostring(b)
  end
  for k, v in pairs(a) do
    local ok, why = equal(v, b[k], path .. "." .. tostring(k))
    if not ok then return false, why end
  end
  for k in pairs(b) do
    if a[k] == nil then return false, path .. "." .. tostring(k) .. ": missing on the left" end
  end
  return true
end

--- True when both texts hold the same JSON value; else false and the first
--- difference as "path: left vs right".
return function(text_a, text_b)
  local a, _, err_a = dkjson.decode(text_a, 1, NULL)
  local b, _, err_b = dkjson.decode(text_b, 1, NULL)
  if err_a or err_b then return false, "invalid JSON: " .. tostring(err_a or err_b) end
  return equal(a, b, "$")
end
