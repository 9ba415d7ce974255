local json = require "vbr.json"

local same_json = require "spec.support.json_equal"
local dkjson = require "dkjson"
local cjson = require("cjson").new()
cjson.decode_max_depth(200)

describe("vbr.json", function()
  local cases = {
    { "empty array member", [[{"recipients":[]}]] },
    { "empty object member", [[{"extra":{}}]] },
    { "null member", [[{"endTime":null,"name":"x"}]] },
    { "nested empty arrays", [=[{"a":[[],[1],{"b":[]}]}]=] },
    { "null inside an array", [[{"a":[1,null,2]}]] },
    { "brackets inside strings", [=[{"s":"[] [ ] \"[]\"","t":"\\"}]=] },
    { "unicode and escapes", [[{"s":"caf\u00e9 \n \/ \\"}]] },
    { "booleans and numbers", [[{"t":true,"f":false,"i":10,"x":1.5,"neg":-3}]] },
    { "a top-level empty array", "[]" },
    { "an integer beyond 14 digits", [[{"big":12345678901234}]] },
  }
  for _, case in ipairs(cases) do
    it("round-trips " .. case[1], function()
      local value = assert(json.decode(case[2]))
      local text = assert(json.encode(value))
      local same, difference = same_json(case[2], text)
      assert(same, difference)
    end)
  end

  it("turns null members into nil and remembers them", function()
    local value = assert(json.decode([[{"endTime":null,"state":"Working"}]]))
    assert.is_nil(value.endTime)
    assert.is_true(json.is_null(value, "endTime"))
    assert.is_false(json.is_null(value, "state"))
    value.endTime = "2026-01-01T00:00:00Z"
    assert.is_false(json.is_null(value, "endTime"))
    assert.matches('"endTime":"2026%-01%-01T00:00:00Z"', json.encode(value))
  end)

  it("marks decoded arrays, even empty ones", function()
    local value = assert(json.decode([[{"a":[],"b":{},"c":[1]}]]))
    assert.is_true(json.is_array(value.a))
    assert.is_false(json.is_array(value.b))
    assert.is_true(json.is_array(value.c))
  end)

  it("writes an empty table marked as array as []", function()
    assert.equal('{"r":[]}', json.encode({ r = json.array() }))
    assert.equal('{"r":{}}', json.encode({ r = {} }))
  end)

  it("keeps integers of up to 15 digits exact", function()
    assert.equal('{"n":123456789012345}', json.encode({ n = 123456789012345 }))
  end)

  it("reports invalid JSON as nil and a message", function()
    for _, bad in ipairs({ "{", "[1,", '{"a":}', "<html>", "" }) do
      local value, err = json.decode(bad)
      assert.is_nil(value)
      assert.is_string(err)
    end
    assert.is_nil((json.decode(nil)))
  end)

  it("does not decode a document nested deeper than its limit", function()
    local deep = string.rep("[", 500) .. string.rep("]", 500)
    local value, err = json.decode(deep)
    assert.is_nil(value)
    assert.matches("nested", err)
  end)
end)

describe("spec.support.json_equal", function()
  it("tells [] from {}, null from absent, 1 from \"1\"", function()
    assert.is_false((same_json("[]", "{}")))
    assert.is_false((same_json('{"a":null}', "{}")))
    assert.is_false((same_json('{"a":1}', '{"a":"1"}')))
    assert.is_true((same_json('{"a":[1,{}],"b":null}', '{"b":null,"a":[1,{}]}')))
  end)
end)

describe("vbr.json.encode_pretty", function()
  it("says what encode says, indented, with sorted keys", function()
    local text = [[{"b":[],"a":{"z":null,"y":[1,2]},"u":"http://x/y","e":{}}]]
    local value = assert(json.decode(text))
    local pretty = assert(json.encode_pretty(value))
    local same, difference = same_json(text, pretty)
    assert(same, difference)
    assert.equal('{\n  "a": {\n    "y": [1, 2],\n    "z": null\n  },\n  "b": [],\n'
      .. '  "e": {},\n  "u": "http://x/y"\n}\n', pretty)
  end)

  it("puts long arrays one item a line", function()
    local long = json.array {}
    for i = 1, 30 do long[i] = "item" .. i end
    local pretty = assert(json.encode_pretty({ list = long }))
    assert.matches('\n    "item1",\n', pretty, 1, true)
  end)
end)

describe("vbr.json numbers", function()
  it("reads whole numbers as integers where Lua has them", function()
    local value = assert(json.decode('{"n":10,"x":1.5,"a":[3]}'))
    assert.equal("10", tostring(value.n))
    assert.equal("3", tostring(value.a[1]))
    assert.equal(1.5, value.x)
  end)
end)

-- Strings a hostile or odd server may send, as JSON text and as the bytes
-- they stand for: in-band marks of earlier versions, every escape, surrogate
-- pairs, \u0000, raw bytes that are not UTF-8.
local STRANGE = {
  { [["\u0000vbr:[]"]], "\0vbr:[]" },
  { [["\u0000vbr:"]], "\0vbr:" },
  { [["\u0000vbr:123456789012345678"]], "\0vbr:123456789012345678" },
  { [["\"\u0000vbr:[]"]], '"\0vbr:[]' },
  { [["a\u0000b\u0000"]], "a\0b\0" },
  { [["\"\\\/\b\f\n\r\t"]], '"\\/\b\f\n\r\t' },
  { [["\u0001\u001F\u007f\u00e9\u20AC"]], "\1\31\127\195\169\226\130\172" },
  { [["\ud83d\ude00 \uD834\uDD1E"]], "\240\159\152\128 \240\157\132\158" },
  { '"caf\195\169 \255\254\192\128 raw"', "caf\195\169 \255\254\192\128 raw" },
  { [["[]"]], "[]" }, { [["{}"]], "{}" }, { [["null"]], "null" },
  { [["\\u0000"]], "\\u0000" }, { [[""]], "" },
}

describe("vbr.json with any string a server sends", function()
  -- The strange string as a key and as a value at every level.
  local function document(text)
    return ('{%s:%s,"level1":{%s:[%s,{%s:%s},[[%s]]],"other":%s},"list":[%s,{"k":%s}]}')
      :format(text, text, text, text, text, text, text, text, text, text)
  end

  local function check_levels(value, s)
    assert.equal(s, value[s])
    assert.equal(s, value.level1[s][1])
    assert.equal(s, value.level1[s][2][s])
    assert.equal(s, value.level1[s][3][1][1])
    assert.equal(s, value.level1.other)
    assert.equal(s, value.list[1])
    assert.equal(s, value.list[2].k)
  end

  for _, case in ipairs(STRANGE) do
    it("reads " .. case[1] .. " as its bytes and writes them back (GET, edit, PUT)", function()
      local text = document(case[1])
      local value = assert(json.decode(text))
      check_levels(value, case[2])
      value.changed = json.array()                  -- the edit
      local written = assert(json.encode(value))
      check_levels(assert(json.decode(written)), case[2])
      -- and as an independent decoder reads it
      local theirs = dkjson.decode(written, 1, nil)
      check_levels(theirs, case[2])
      assert.equal("array", getmetatable(theirs.changed).__jsontype)
      local pretty = assert(json.encode_pretty(value))
      check_levels(assert(json.decode(pretty)), case[2])
    end)
  end
end)

-- cjson's reading of `text` in vbr.json's terms, for comparison: integers
-- where math.tointeger makes them, null as json.null.
local function cjson_reading(text)
  local ok, value = pcall(cjson.decode, text)
  if not ok then return nil, value end
  local function normal(v)
    if type(v) == "number" then return math.tointeger and math.tointeger(v) or v end
    if type(v) ~= "table" then return v end
    local out = {}
    for k, x in pairs(v) do out[k] = normal(x) end
    return out
  end
  return normal(value)
end

-- `mine` with arrays unmarked and remembered null members as json.null:
-- what cjson can express.
local nulls_of = require("vbr.core").json_nulls
local function as_cjson_would(value)
  if type(value) ~= "table" then return value end
  local out = {}
  for k, v in pairs(value) do out[k] = as_cjson_would(v) end
  for k in pairs(nulls_of[value] or {}) do
    if value[k] == nil then out[k] = json.null end
  end
  return out
end

describe("vbr.json against lua-cjson", function()
  local same_outcome = {
    { "a lone high surrogate", [=[["\ud800"]]=] },
    { "a lone low surrogate", [=[["\udc00x"]]=] },
    { "a high surrogate before a non-surrogate", [=[["\ud83d\u0041"]]=] },
    { "a surrogate pair", [=[["\ud83d\ude00"]]=] },
    { "\\u0000", [=[["\u0000", "a\u0000"]]=] },
    { "invalid UTF-8", '["\255", "\192\128", "\237\160\128", "\244\144\128\128"]' },
    { "a truncated \\u escape", [=[["\u12"]]=] },
    { "an unknown escape", [=[["\x41"]]=] },
    { "a raw NUL in a string", '["a\0b"]' },
    { "duplicate keys, the last wins", '{"a":1,"a":2,"b":{"c":[],"c":true}}' },
    { "duplicate keys with nulls", '{"a":1,"a":null,"b":null,"b":2,"c":null}' },
    { "200 levels", string.rep("[", 200) .. string.rep("]", 200) },
    { "201 levels", string.rep("[", 201) .. string.rep("]", 201) },
    { "201 levels of objects", string.rep('{"a":', 201) .. "1" .. string.rep("}", 201) },
    { "huge numbers", "[1e400, -1e400, 123456789012345678901234567890, 1e-400, 4.9e-324]" },
    { "a long number", "[" .. string.rep("9", 400) .. "." .. string.rep("1", 400) .. "]" },
    { "exponents", "[1E2, 1e+2, 1e-2, -0, -0.0, 0e5, 2.5E-3]" },
    { "trailing commas", "[1,]" }, { "an object's trailing comma", '{"a":1,}' },
    { "a missing value", '{"a":}' }, { "nothing", "" }, { "blanks only", " \t\n\r" },
    { "two values", "1 2" }, { "a bare word", "truex" },
    { "a non-string key", "{1:2}" },
  }
  for _, case in ipairs(same_outcome) do
    it("has cjson's outcome for " .. case[1], function()
      local mine, why = json.decode(case[2])
      local theirs, their_why = cjson_reading(case[2])
      if theirs == nil then
        assert.is_nil(mine, "cjson refuses it (" .. tostring(their_why) .. ")")
        assert.matches(" at character %d+$", why)
      else
        assert.is_not_nil(mine, why)
        assert.same(theirs, as_cjson_would(mine))
      end
    end)
  end

  -- cjson's liberties: all of them are outside RFC 8259, refused here
  local strict = {
    { "a raw control character in a string", '["a\1b"]', 4 },
    { "a raw tab in a string", '{"a":"x\ty"}', 8 },
    { "a leading zero", "[01]", 2 }, { "a leading plus", "[+1]", 2 },
    { "a bare fraction point", "[1.]", 2 }, { "a fraction without a whole part", "[-.5]", 2 },
    { "hexadecimal", "[0x10]", 2 }, { "infinity", "[inf]", 2 }, { "NaN", "[nan]", 2 },
    { "text after a NUL", "[1]\0 [", 4 },
  }
  for _, case in ipairs(strict) do
    it("refuses " .. case[1] .. ", which cjson accepts", function()
      assert.is_not_nil((cjson_reading(case[2])))
      local value, why = json.decode(case[2])
      assert.is_nil(value)
      assert.matches(" at character " .. case[3] .. "$", why)
    end)
  end

  it("names the position of what is wrong", function()
    for text, at in pairs {
      ["{"] = 2, ["[1,"] = 4, ['{"a":}'] = 6, ["<html>"] = 1, [""] = 1,
      ['{"a" 1}'] = 6, ['{"a":1 "b":2}'] = 8, ['["abc'] = 2, ['["\\q"]'] = 3,
      ["[1] x"] = 5, ["[tru]"] = 2, ['{"a":[1,2}'] = 10,
    } do
      local value, why = json.decode(text)
      assert.is_nil(value, text)
      assert.matches(" at character " .. at .. "$", why, nil, nil, text)
    end
  end)
end)

describe("vbr.json numbers, exact", function()
  it("keeps 64-bit integers exact, and other numbers as strtod reads them", function()
    local value = assert(json.decode(
      "[9007199254740993, -9223372036854775808, 9223372036854775807, 9223372036854775808,"
      .. " 1e400, 0.1, 1.5e3, -0]"))
    if math.type then
      assert.equal(9007199254740993, value[1])
      assert.equal(math.mininteger, value[2])
      assert.equal(math.maxinteger, value[3])
      assert.equal("float", math.type(value[4]))
      assert.equal("integer", math.type(value[7]))
      assert.equal("integer", math.type(value[8]))
    end
    assert.equal(2^63, value[4])
    assert.equal(math.huge, value[5])
    assert.equal(0.1, value[6])
    assert.equal(1500, value[7])
  end)

  it("writes every number back as the same number", function()
    local text = "[9007199254740993,-9223372036854775808,9223372036854775807,"
      .. "0.1,1.5,123456789012345,1e+300,2.5e-300,0.30000000000000004,-0]"
    local value = assert(json.decode(text))
    local again = assert(json.decode(assert(json.encode(value))))
    for i = 1, #value do
      assert.equal(value[i], again[i])
      if math.type then assert.equal(math.type(value[i]), math.type(again[i])) end
    end
    assert.equal("[123456789012345,0.1]", json.encode(json.array { 123456789012345, 0.1 }))
  end)

  it("refuses to write NaN and infinities", function()
    for _, n in ipairs { 0 / 0, math.huge, -math.huge } do
      local text, why = json.encode({ n = n })
      assert.is_nil(text)
      assert.matches("NaN or infinity", why)
    end
  end)
end)

describe("configbackup:edit() with strange strings from the server", function()
  local sim = require "spec.support.sim"
  local shell = require "spec.support.shell"
  local vbr = require "vbr"
  local s

  setup(function() s = sim.start {} end)
  teardown(function() if s then s:stop() end end)

  it("sends every string back as the server sent it, keys too, at every level", function()
    local values, n = {}, 0
    for _, case in ipairs(STRANGE) do
      if not case[2]:find("[\128-\255]") then   -- the simulator's JSON is UTF-8 only
        n = n + 1
        local t = case[1]
        values[n] = ('%s:{%s:[%s,{"k":%s},[]],"s":%s}'):format(t, t, t, t, t)
      end
    end
    -- fields a newer server adds (the simulator's extra_fields), posted as text
    local extra = "{" .. table.concat(values, ",") .. "}"
    assert(shell.run("curl -sS -f -X POST -H 'Content-Type: application/json' --data-binary "
      .. shell.quote('{"extra_fields":' .. extra .. "}") .. " "
      .. shell.quote(s.admin_url .. "/admin/config")))
    local client = assert(vbr.connect {
      url = s.url, username = "admin", password = s.users.admin.password, ca_file = s.ca_file,
    })
    assert(client.configbackup:edit { restorePointsToKeep = 17 })
    client:close()

    local put = dkjson.decode(s:state().last_put_body, 1, json.null)
    assert.equal(17, put.restorePointsToKeep)
    local sent = {}
    for key in pairs(dkjson.decode(extra)) do sent[key] = put[key] end
    local same, difference = same_json(extra, dkjson.encode(sent))
    assert(same, difference)
  end)
end)
