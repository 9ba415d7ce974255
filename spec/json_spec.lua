local json = require "vbr.json"

local same_json = require "spec.support.json_equal"

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

  it("refuses strings that carry its internal mark", function()
    local text, err = json.encode({ s = "\0vbr:[]" })
    assert.is_nil(text)
    assert.matches("reserved", err)
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
