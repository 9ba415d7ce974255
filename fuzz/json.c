/*
 * json.c - libFuzzer harness: the core's JSON decoder (src/json.c), both
 * faces: core's Lua tables (vbr_json_push) and the engine's field extractor
 * (vbr_json_fields), against lua-cjson 2.1.0 as the oracle.
 *
 * Input: JSON text, as is.  Both decoders get an exact-size copy with no
 * NUL after it, so that ASan sees any read past the end.
 *
 * Invariants (abort):
 * - what json.c accepts, cjson accepts (same depth limit, invalid numbers
 *   off), with the same tables, strings and numbers (an exact 64-bit integer
 *   where cjson has its rounded double); what cjson cannot express is
 *   compared through json.c's marks: every [] of the text (rewritten to a
 *   one-element array for cjson) is a marked empty table, every {} an
 *   unmarked one, every null member absent and remembered;
 * - what json.c refuses, cjson refuses too, or the refusal is one of cjson's
 *   liberties at the position json.c names (a raw control character in a
 *   string, a number outside the grammar, text after a NUL), checked apart
 *   from json.c and repaired, and the repaired text compared again;
 * - an error names a position inside the text (or just past it);
 * - the field extractor answers an object exactly when the decoder makes
 *   one, with the same strings (a string holding NUL absent) and numbers.
 */
#include <stdlib.h>
#include <string.h>

#include "lua_host.h"
#include "buf.h"
#include "json.h"

static const char DRIVER[] =
"local core = require 'vbr.core'\n"
"local cjson = require('cjson').new()\n"
"cjson.decode_max_depth(200)\n"
"cjson.decode_invalid_numbers(false)\n"
"local nulls_of, array_mt, null = core.json_nulls, core.json_array_mt, core.json_null\n"
"local find, sub, byte, format, match = string.find, string.sub, string.byte, string.format, string.match\n"
"local tointeger, mtype = math.tointeger, math.type\n"
"local SENTINEL = '\\0vbr-fuzz: an empty array'\n"
"local function fail(m) error('INVARIANT: ' .. m, 0) end\n"
"-- every [ ] outside strings becomes [SENTINEL], so that cjson tells it from {}\n"
"local function mark_empty_arrays(text)\n"
"  local parts, pos, copied = {}, 1, 1\n"
"  while true do\n"
"    local at = find(text, '[%[\"]', pos)\n"
"    if not at then break end\n"
"    if byte(text, at) == 34 then\n"
"      local scan = at + 1\n"
"      while true do\n"
"        local q = find(text, '[\"\\\\]', scan)\n"
"        if not q then return nil end\n"
"        if byte(text, q) == 92 then scan = q + 2 else pos = q + 1 break end\n"
"      end\n"
"    else\n"
"      local close = match(text, '^%[[ \\t\\r\\n]*()%]', at)\n"
"      if close then\n"
"        parts[#parts + 1] = sub(text, copied, at - 1)\n"
"        parts[#parts + 1] = '[\"\\\\u0000vbr-fuzz: an empty array\"]'\n"
"        copied = close + 1\n"
"      end\n"
"      pos = (close or at) + 1\n"
"    end\n"
"  end\n"
"  parts[#parts + 1] = sub(text, copied)\n"
"  return table.concat(parts)\n"
"end\n"
"local function same_number(m, t)\n"
"  if mtype(m) == 'integer' and mtype(t) == 'float' then\n"
"    return m + 0.0 == t or tointeger(t) == m\n"
"  end\n"
"  local ti = tointeger(t)\n"
"  if ti then t = ti end\n"
"  return m == t and mtype(m) == mtype(t)\n"
"end\n"
"local function same(m, t, path)\n"
"  if type(m) == 'table' then\n"
"    if type(t) ~= 'table' then fail(path .. ': a table vs cjson ' .. type(t)) end\n"
"    if getmetatable(m) == array_mt then\n"
"      if next(m) == nil then\n"
"        if not (t[1] == SENTINEL and next(t, 1) == nil) then fail(path .. ': [] not an empty array for cjson') end\n"
"        return\n"
"      end\n"
"      local n = 0\n"
"      for _ in pairs(t) do n = n + 1 end\n"
"      if n ~= #m or #t ~= #m then fail(path .. ': array of ' .. #m .. ' vs cjson ' .. n .. ' keys') end\n"
"      for i = 1, #m do same(m[i], t[i], path .. '[' .. i .. ']') end\n"
"      return\n"
"    end\n"
"    if getmetatable(m) ~= nil then fail(path .. ': an object with a metatable') end\n"
"    for k, v in pairs(t) do\n"
"      if type(k) ~= 'string' then fail(path .. ': object vs cjson array') end\n"
"      if v == cjson.null then\n"
"        if m[k] ~= nil or not (nulls_of[m] and nulls_of[m][k]) then fail(path .. '.' .. k .. ': null not remembered') end\n"
"      else\n"
"        same(m[k], v, path .. '.' .. k)\n"
"      end\n"
"    end\n"
"    for k in pairs(m) do if t[k] == nil then fail(path .. '.' .. tostring(k) .. ': not in cjson') end end\n"
"    for k in pairs(nulls_of[m] or {}) do\n"
"      if m[k] == nil and t[k] ~= cjson.null then fail(path .. '.' .. tostring(k) .. ': a null cjson lacks') end\n"
"    end\n"
"  elseif type(m) == 'number' then\n"
"    if type(t) ~= 'number' or not same_number(m, t) then fail(path .. ': ' .. tostring(m) .. ' vs cjson ' .. tostring(t)) end\n"
"  elseif m == null then\n"
"    if t ~= cjson.null then fail(path .. ': null vs cjson ' .. tostring(t)) end\n"
"  elseif m ~= t then\n"
"    fail(path .. ': ' .. format('%q', tostring(m)) .. ' vs cjson ' .. format('%q', tostring(t)))\n"
"  end\n"
"end\n"
"-- strict JSON number, checked apart from json.c\n"
"local function strict_number(s)\n"
"  local i = match(s, '^%-?()')\n"
"  local rest = sub(s, i)\n"
"  local int = match(rest, '^0') or match(rest, '^[1-9]%d*')\n"
"  if not int then return false end\n"
"  rest = sub(rest, #int + 1)\n"
"  local frac = match(rest, '^%.%d+') or ''\n"
"  rest = sub(rest, #frac + 1)\n"
"  local exp = match(rest, '^[eE][+-]?%d+') or ''\n"
"  return sub(rest, #exp + 1) == ''\n"
"end\n"
"local check\n"
"-- The fields the engine takes, against the decoder's table.\n"
"local function check_fields(input, value)\n"
"  local ok, f = json_fields(input)\n"
"  if (ok == 0) ~= (type(value) == 'table' and getmetatable(value) == nil) then\n"
"    fail('fields: ' .. ok .. ' for a ' .. type(value))\n"
"  end\n"
"  if ok ~= 0 then return end\n"
"  for name, want in pairs({ access_token = 'string', refresh_token = 'string', message = 'string',\n"
"                            expires_in = 'number' }) do\n"
"    local v = value[name]\n"
"    if type(v) ~= want or (want == 'string' and find(v, '%z')) then v = nil end\n"
"    if want == 'number' and v then v = v + 0.0 end\n"
"    if f[name] ~= v then fail('field ' .. name .. ': ' .. tostring(f[name]) .. ' vs ' .. tostring(v)) end\n"
"  end\n"
"end\n"
"check = function(input, repairs)\n"
"  if repairs > 8 then return end\n"
"  local mine, why = json_decode_exact(input)\n"
"  local ok, theirs = pcall(cjson.decode, mark_empty_arrays(input) or input)\n"
"  if mine ~= nil then\n"
"    if not ok then fail('accepted what cjson refuses: ' .. tostring(theirs)) end\n"
"    same(mine, theirs, '$')\n"
"    if repairs == 0 then check_fields(input, mine) end\n"
"    return\n"
"  end\n"
"  if repairs == 0 then check_fields(input, nil) end\n"
"  local at = tonumber(match(why, ' at character (%d+)$'))\n"
"  if not at or at < 1 or at > #input + 1 then fail('no position in ' .. why) end\n"
"  if not ok then return end\n"
"  -- cjson accepts more: it must be one of its liberties, at that position\n"
"  local c = byte(input, at)\n"
"  if c and c < 32 and find(why, '^control character') then\n"
"    local fixed = sub(input, 1, at - 1) .. format('\\\\u%04x', c) .. sub(input, at + 1)\n"
"    if not pcall(cjson.decode, fixed) then fail('refused a control character outside a string') end\n"
"    return check(fixed, repairs + 1)\n"
"  elseif c == 0 and find(why, '^text after the value') then\n"
"    return check(sub(input, 1, at - 1), repairs + 1)\n"
"  elseif find(why, '^invalid number') then\n"
"    local token = match(input, '^[%w%.%+%-]+', at) or ''\n"
"    if strict_number(token) then fail('refused a strict number ' .. token) end\n"
"    local tok, n = pcall(cjson.decode, token)\n"
"    if not tok or type(n) ~= 'number' or n ~= n then\n"
"      fail('refused a number cjson reads otherwise: ' .. format('%q', token))\n"
"    end\n"
"    local strict = n == math.huge and '1e999' or n == -math.huge and '-1e999' or format('%.17g', n)\n"
"    return check(sub(input, 1, at - 1) .. strict .. sub(input, at + #token), repairs + 1)\n"
"  end\n"
"  fail('refused what cjson accepts: ' .. why)\n"
"end\n"
"return function(input) check(input, 0) end\n";

/* The text as an exact-size heap copy (no NUL after it). */
static char *exact_copy(lua_State *L, size_t *len)
{
    const char *text = luaL_checklstring(L, 1, len);
    char *copy = malloc(*len ? *len : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, text, *len);
    return copy;
}

/* json_decode_exact(text) -> value | nil, why */
static int decode_exact(lua_State *L)
{
    size_t len;
    char why[128], *copy = exact_copy(L, &len);
    int ok = vbr_json_push(L, copy, len, why, sizeof why);
    free(copy);
    if (ok)
        return 1;
    lua_pushnil(L);
    lua_pushstring(L, why);
    return 2;
}

/* json_fields(text) -> 0 | -1, {name = value} */
static int fields(lua_State *L)
{
    vbr_json_field f[4] = {{"access_token", 0, NULL, 0, 0},
                           {"refresh_token", 0, NULL, 0, 0},
                           {"message", 0, NULL, 0, 0},
                           {"expires_in", 1, NULL, 0, 0}};
    size_t len, i;
    char *copy = exact_copy(L, &len);
    int rc = vbr_json_fields(NULL, copy, len, f, 4);
    free(copy);
    lua_pushinteger(L, rc);
    lua_createtable(L, 0, 4);
    for (i = 0; i < 4; i++) {
        if (f[i].present && f[i].want_number)
            lua_pushnumber(L, f[i].num);
        else if (f[i].present)
            lua_pushstring(L, f[i].str);
        else if (f[i].str != NULL)
            abort();                     /* absent but allocated */
        else
            continue;
        lua_setfield(L, -2, f[i].name);
        vbr_secret_free(f[i].str);
    }
    return 2;
}

/* The driver's two natives. */
static void register_natives(lua_State *L)
{
    lua_register(L, "json_decode_exact", decode_exact);
    lua_register(L, "json_fields", fields);
}

FUZZ_LUA_ENTRY_POINTS_WITH(DRIVER, register_natives)
