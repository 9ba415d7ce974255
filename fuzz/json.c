/*
 * json.c - libFuzzer harness: core.json_decode (src/json.c), the strict
 * decoder vbr.json tries before lua-cjson on everything a server sends.
 *
 * Input: JSON text, as is.
 *
 * Invariants (abort): whatever json_decode accepts, lua-cjson (with
 * vbr.json's depth limit) accepts too and reads the same top-level type;
 * accepted input never yields nil; the nulls table only ever names objects.
 */
#include "lua_host.h"

static const char DRIVER[] =
"local core = require 'vbr.core'\n"
"local cjson = require('cjson').new()\n"
"cjson.decode_max_depth(200)\n"
"local array_mt = {}\n"
"local function fail(m) error('INVARIANT: ' .. m, 0) end\n"
"local function kind(v)\n"
"  if v == cjson.null then return 'null' end\n"
"  local t = type(v)\n"
"  if t == 'table' then return (getmetatable(v) == array_mt or v[1] ~= nil) and 'array' or 'object' end\n"
"  return t\n"
"end\n"
"return function(input)\n"
"  local nulls = setmetatable({}, { __mode = 'k' })\n"
"  local value, accepted = core.json_decode(input, array_mt, cjson.null, nulls)\n"
"  if not accepted then return end\n"
"  if value == nil then fail('accepted without a value') end\n"
"  local ok, theirs = pcall(cjson.decode, input)\n"
"  if not ok then fail('json_decode accepted what cjson refuses: ' .. tostring(theirs)) end\n"
"  local mine, other = kind(value), kind(theirs)\n"
"  if mine == 'object' and other == 'array' and next(value) == nil then other = 'object' end\n"
"  if mine == 'array' and other == 'object' and next(theirs) == nil then other = 'array' end\n"
"  if mine ~= other then fail('top-level type ' .. mine .. ' vs cjson ' .. other) end\n"
"  for object in pairs(nulls) do\n"
"    if type(object) ~= 'table' or getmetatable(object) == array_mt then fail('nulls names a non-object') end\n"
"  end\n"
"end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_lua_init(DRIVER);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    fuzz_lua_run(data, size);
    return 0;
}
