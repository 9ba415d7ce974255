-- Small JSON codec that keeps what lua-cjson 2.1.0 loses: `[]` and `{}` stay
-- distinct (tables carry a kind metatable) and a number written with a
-- fraction or an exponent is remembered, so a schema can tell integer from
-- number the way a strict server does. Pure Lua (5.1 to 5.4, LuaJIT).
local json = {}

local byte, char, sub, find = string.byte, string.char, string.sub, string.find
local format = string.format
local concat, sort = table.concat, table.sort
local floor, huge, tonumber, tostring = math.floor, math.huge, tonumber, tostring
local type, pairs, ipairs, error = type, pairs, ipairs, error
local setmetatable, getmetatable = setmetatable, getmetatable

local ARRAY = { __jsonkind = "array" }
local OBJECT = { __jsonkind = "object" }

-- JSON null, distinct from a missing key.
json.null = setmetatable({}, { __tostring = function() return "null" end, __jsonkind = "null" })

function json.array(t) return setmetatable(t or {}, ARRAY) end
function json.object(t) return setmetatable(t or {}, OBJECT) end

function json.is_array(v)
  local mt = type(v) == "table" and getmetatable(v)
  return mt ~= nil and mt ~= false and mt.__jsonkind == "array"
end

function json.is_object(v)
  if type(v) ~= "table" or v == json.null then return false end
  local mt = getmetatable(v)
  return not mt or mt.__jsonkind == "object"
end

-- True when t[key] was written like `10.0` or `1e1` in the decoded text.
function json.written_as_float(t, key)
  local mt = getmetatable(t)
  return mt ~= nil and mt.floats ~= nil and mt.floats[key] == true
end

---------------------------------------------------------------- decoding

local escapes = {
  ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t",
}

local function utf8_encode(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 0x40), 0x80 + cp % 0x40) end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 0x1000), 0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
  return char(0xF0 + floor(cp / 0x40000), 0x80 + floor(cp / 0x1000) % 0x40,
    0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local Decoder = {}
Decoder.__index = Decoder

function Decoder:fail(msg)
  error({ json_error = format("%s at character %d", msg, self.pos) }, 0)
end

function Decoder:skip_space()
  local _, last = find(self.text, "^[ \t\r\n]*", self.pos)
  self.pos = last + 1
end

function Decoder:string()
  local text, pos, parts = self.text, self.pos + 1, {}
  while true do
    local start, stop = find(text, '^[^"\\%c]+', pos)
    if start then
      parts[#parts + 1] = sub(text, start, stop)
      pos = stop + 1
    end
    local c = sub(text, pos, pos)
    if c == '"' then
      self.pos = pos + 1
      return concat(parts)
    elseif c == "\\" then
      local e = sub(text, pos + 1, pos + 1)
      if e == "u" then
        local hex = sub(text, pos + 2, pos + 5)
        local cp = #hex == 4 and find(hex, "^%x%x%x%x$") and tonumber(hex, 16)
        if not cp then self.pos = pos; self:fail("bad \\u escape") end
        pos = pos + 6
        if cp >= 0xD800 and cp <= 0xDBFF and sub(text, pos, pos + 1) == "\\u" then
          local low = tonumber(sub(text, pos + 2, pos + 5), 16)
          if low and low >= 0xDC00 and low <= 0xDFFF then
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (low - 0xDC00)
            pos = pos + 6
          end
        end
        parts[#parts + 1] = utf8_encode(cp)
      elseif escapes[e] then
        parts[#parts + 1] = escapes[e]
        pos = pos + 2
      else
        self.pos = pos; self:fail("bad escape")
      end
    else
      self.pos = pos
      self:fail(c == "" and "unterminated string" or "control character in string")
    end
  end
end

function Decoder:number()
  local text = self.text
  local start, stop = find(text, "^-?%d+", self.pos)
  if not start then self:fail("bad number") end
  if find(text, "^-?0%d", self.pos) then self:fail("leading zero in number") end
  local is_float = false
  local s2, e2 = find(text, "^%.%d+", stop + 1)
  if s2 then stop, is_float = e2, true end
  s2, e2 = find(text, "^[eE][-+]?%d+", stop + 1)
  if s2 then stop, is_float = e2, true end
  local value = tonumber(sub(text, start, stop))
  self.pos = stop + 1
  return value, is_float
end

function Decoder:value(depth)
  if depth > 64 then self:fail("nesting too deep") end
  self:skip_space()
  local text, pos = self.text, self.pos
  local c = sub(text, pos, pos)
  if c == "{" then return self:object(depth) end
  if c == "[" then return self:array(depth) end
  if c == '"' then return self:string() end
  if c == "-" or find(c, "^%d") then return self:number() end
  if sub(text, pos, pos + 3) == "true" then self.pos = pos + 4; return true end
  if sub(text, pos, pos + 4) == "false" then self.pos = pos + 5; return false end
  if sub(text, pos, pos + 3) == "null" then self.pos = pos + 4; return json.null end
  self:fail(c == "" and "unexpected end of text" or "unexpected character '" .. c .. "'")
end

-- Containers with float-written members get their own metatable listing them.
local function remember_float(t, key, base)
  local mt = getmetatable(t)
  if mt == base then
    mt = { __jsonkind = base.__jsonkind, floats = {} }
    setmetatable(t, mt)
  end
  mt.floats[key] = true
end

function Decoder:array(depth)
  local result, n = setmetatable({}, ARRAY), 0
  self.pos = self.pos + 1
  self:skip_space()
  if sub(self.text, self.pos, self.pos) == "]" then self.pos = self.pos + 1; return result end
  while true do
    local v, is_float = self:value(depth + 1)
    n = n + 1
    result[n] = v
    if is_float then remember_float(result, n, ARRAY) end
    self:skip_space()
    local c = sub(self.text, self.pos, self.pos)
    self.pos = self.pos + 1
    if c == "]" then return result end
    if c ~= "," then self.pos = self.pos - 1; self:fail("expected ',' or ']'") end
  end
end

function Decoder:object(depth)
  local result = setmetatable({}, OBJECT)
  self.pos = self.pos + 1
  self:skip_space()
  if sub(self.text, self.pos, self.pos) == "}" then self.pos = self.pos + 1; return result end
  while true do
    self:skip_space()
    if sub(self.text, self.pos, self.pos) ~= '"' then self:fail("expected a string key") end
    local key = self:string()
    self:skip_space()
    if sub(self.text, self.pos, self.pos) ~= ":" then self:fail("expected ':'") end
    self.pos = self.pos + 1
    local v, is_float = self:value(depth + 1)
    result[key] = v
    if is_float then remember_float(result, key, OBJECT) end
    self:skip_space()
    local c = sub(self.text, self.pos, self.pos)
    self.pos = self.pos + 1
    if c == "}" then return result end
    if c ~= "," then self.pos = self.pos - 1; self:fail("expected ',' or '}'") end
  end
end

-- Returns the value, or nil and a message.
function json.decode(text)
  if type(text) ~= "string" then return nil, "no JSON text" end
  local decoder = setmetatable({ text = text, pos = 1 }, Decoder)
  local ok, result = pcall(function()
    local v = decoder:value(0)
    decoder:skip_space()
    if decoder.pos <= #text then decoder:fail("trailing characters") end
    return v
  end)
  if ok then return result end
  if type(result) == "table" and result.json_error then return nil, result.json_error end
  error(result, 0)
end

---------------------------------------------------------------- encoding

local function escape_char(c)
  local known = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
  return known[c] or format("\\u%04x", byte(c))
end

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', escape_char) .. '"'
end

local function encode_number(n)
  if n ~= n or n == huge or n == -huge then error("cannot encode " .. tostring(n) .. " as JSON") end
  if floor(n) == n and n > -2 ^ 53 and n < 2 ^ 53 then return format("%d", n) end
  return format("%.17g", n)
end

local encode_value

local function encode_table(t, parts)
  if t == json.null then parts[#parts + 1] = "null"; return end
  if json.is_array(t) or (getmetatable(t) == nil and t[1] ~= nil) then
    parts[#parts + 1] = "["
    for i, v in ipairs(t) do
      if i > 1 then parts[#parts + 1] = "," end
      encode_value(v, parts)
    end
    parts[#parts + 1] = "]"
    return
  end
  -- Sorted keys: stable output that tests and diffs can rely on.
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  sort(keys)
  parts[#parts + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then parts[#parts + 1] = "," end
    parts[#parts + 1] = encode_string(k)
    parts[#parts + 1] = ":"
    local v = t[k]
    if v == nil then v = t[tonumber(k)] end
    encode_value(v, parts)
  end
  parts[#parts + 1] = "}"
end

encode_value = function(v, parts)
  local kind = type(v)
  if kind == "string" then parts[#parts + 1] = encode_string(v)
  elseif kind == "number" then parts[#parts + 1] = encode_number(v)
  elseif kind == "boolean" then parts[#parts + 1] = tostring(v)
  elseif kind == "table" then encode_table(v, parts)
  else error("cannot encode a " .. kind .. " as JSON") end
end

function json.encode(v)
  local parts = {}
  encode_value(v, parts)
  return concat(parts)
end

return json
