/*
 * json.h - core.json_decode: strict JSON straight into vbr.json's tables
 * (see json.c).
 */
#ifndef VBR_JSON_H
#define VBR_JSON_H

#include <lua.h>

/* core.json_decode(text, array_mt, null, nulls) -> value, true | nil, false */
int vbr_json_decode(lua_State *L);

#endif
