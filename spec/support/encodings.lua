-- Spec helper: the forms in which a server, a proxy or a framework may echo a
-- secret (an ASCII one: the \u and &# forms below are per byte), each a
-- function of the secret, so specs can plant every one of them in server
-- text and look for it afterwards.
--
--   local encodings = require "spec.support.encodings"
--   for _, e in ipairs(encodings.byte_wise) do ... e.name, e.encode(secret) ... end
--   encodings.base64("admin:" .. password)
local encodings = {}

local byte, char, format, gsub, concat = string.byte, string.char, string.format, string.gsub,
                                         table.concat

--- Text with %XX decoded and \/ unescaped: where base64 traces are looked
-- for (a base64 form may itself be percent-encoded or JSON-escaped).
function encodings.unwrapped(text)
  return (gsub(gsub(text, "%%(%x%x)", function(h) return char(tonumber(h, 16)) end), "\\/", "/"))
end

local function each_byte(s, f)
  return (gsub(s, ".", function(c) return f(c, byte(c)) end))
end

local function unreserved(c) return c:find("^[%w%-%._~]$") ~= nil end
local function alnum(c) return c:find("^%w$") ~= nil end

local function percent(s, hex, space)
  return each_byte(s, function(c, b)
    if unreserved(c) then return c end
    if c == " " and space then return space end
    return format(hex, b)
  end)
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

--- Standard base64 with padding.
function encodings.base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local d = {}
    for k = 1, 4 do
      local index = math.floor(v / 64 ^ (4 - k)) % 64
      d[k] = B64:sub(index + 1, index + 1)
    end
    if not b then d[3] = "=" end
    if not c then d[4] = "=" end
    out[#out + 1] = concat(d)
  end
  return concat(out)
end

--- Forms that encode the secret byte by byte: once scrubbed, nothing of
-- them is left ("<form>" becomes "<***>").
encodings.byte_wise = {
  { name = "raw", encode = function(s) return s end },
  { name = "percent-encoded, upper case (libcurl, RFC 3986)",
    encode = function(s) return percent(s, "%%%02X") end },
  { name = "percent-encoded, lower case", encode = function(s) return percent(s, "%%%02x") end },
  { name = "form-encoded with + (.NET HttpUtility: lower case)",
    encode = function(s) return percent(s, "%%%02x", "+") end },
  { name = "form-encoded with +, upper case",
    encode = function(s) return percent(s, "%%%02X", "+") end },
  { name = "every byte percent-encoded",
    encode = function(s) return each_byte(s, function(_, b) return format("%%%02X", b) end) end },
  { name = "percent-encoded twice",
    encode = function(s) return (gsub(percent(s, "%%%02X"), "%%", "%%25")) end },
  { name = "%uXXXX (IIS)",
    encode = function(s) return each_byte(s, function(_, b) return format("%%u%04X", b) end) end },
  { name = "JSON \\u00xx for every byte",
    encode = function(s) return each_byte(s, function(_, b) return format("\\u%04x", b) end) end },
  { name = "JSON \\u00XX for all but letters and digits (System.Text.Json)",
    encode = function(s)
      return each_byte(s, function(c, b) return alnum(c) and c or format("\\u%04X", b) end)
    end },
  { name = "JSON short escapes (\\/ \\\" \\\\)",
    encode = function(s)
      return each_byte(s, function(c)
        if c == "/" or c == '"' or c == "\\" then return "\\" .. c end
        return c
      end)
    end },
  { name = "JavaScript \\xXX",
    encode = function(s)
      return each_byte(s, function(c, b) return alnum(c) and c or format("\\x%02X", b) end)
    end },
  { name = "HTML named and decimal entities",
    encode = function(s)
      local named = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }
      return each_byte(s, function(c, b)
        if named[c] then return named[c] end
        return alnum(c) and c or format("&#%d;", b)
      end)
    end },
  { name = "HTML hexadecimal entities",
    encode = function(s) return each_byte(s, function(_, b) return format("&#x%x;", b) end) end },
  { name = "quoted-printable", encode = function(s)
      return each_byte(s, function(c, b) return alnum(c) and c or format("=%02X", b) end)
    end },
  { name = "mixed: raw, %xx and \\u00XX in turn", encode = function(s)
      local i = 0
      return each_byte(s, function(c, b)
        i = i + 1
        if i % 3 == 1 then return c end
        if i % 3 == 2 then return format("%%%02x", b) end
        return format("\\u%04X", b)
      end)
    end },
  { name = "hexadecimal, lower case", encode = function(s)
      return each_byte(s, function(_, b) return format("%02x", b) end)
    end },
  { name = "hexadecimal, upper case", encode = function(s)
      return each_byte(s, function(_, b) return format("%02X", b) end)
    end },
}

--- Forms inside base64, where the secret's neighbours change the first and
-- last characters: scrubbed, none of `base64_traces` is left.
encodings.base64_forms = {
  { name = "base64", encode = function(s) return encodings.base64(s) end },
  { name = "base64url without padding", encode = function(s)
      return (gsub(gsub(encodings.base64(s), "=", ""), "[+/]", { ["+"] = "-", ["/"] = "_" }))
    end },
  { name = "an HTTP Basic header", encode = function(s, user)
      return "Authorization: Basic " .. encodings.base64((user or "admin") .. ":" .. s)
    end },
  { name = "a base64 login form", encode = function(s, user)
      return encodings.base64("grant_type=password&username=" .. (user or "admin")
        .. "&password=" .. percent(s, "%%%02X"))
    end },
  { name = "base64, then percent-encoded", encode = function(s)
      return percent(encodings.base64("x" .. s), "%%%02X")
    end },
  { name = "base64 with JSON \\/", encode = function(s)
      return (gsub(encodings.base64("xy" .. s), "/", "\\/"))
    end },
}

--- The secret base64-encoded at each of the three alignments inside longer
-- base64 text (the characters that depend on the secret alone): what a
-- scrubbed text must not contain.
function encodings.base64_traces(s)
  local traces = {}
  for offset = 0, 2 do
    local text = encodings.base64(("\0"):rep(offset) .. s)
    -- characters fully inside the secret's bits
    local first = math.floor((8 * offset + 5) / 6) + 1
    local last = math.floor(8 * (offset + #s) / 6)
    traces[#traces + 1] = text:sub(first, last)
  end
  return traces
end

return encodings
