/*
 * json.h - the core's strict JSON decoder (RFC 8259), see json.c: the
 * tables of vbr.json for Lua, and a field extractor for the engine that
 * never makes a Lua value (token answers stay in C memory).
 */
#ifndef VBR_JSON_H
#define VBR_JSON_H

#include <stddef.h>

#include <lua.h>

#include "engine.h"

#define VBR_JSON_MAX_DEPTH 200      /* arrays and objects, nested */

/* Once per Lua state (luaopen): the registry's array metatable and nulls
 * table, and core.json_decode, json_array_mt, json_nulls, json_null in the
 * module table on top of the stack. */
void vbr_json_open(lua_State *L);

/* Pushes the value of text[0..len), or returns 0 with a message ("... at
 * character N") in why and nothing pushed. */
int vbr_json_push(lua_State *L, const char *text, size_t len, char *why,
                  size_t whylen);

/* vbr_host.json_fields: the wanted top-level members of a JSON object
 * (strings as malloc'd copies, the engine wipes and frees them; a string
 * holding NUL counts as absent).  Returns 0 for an object, -1 when the text
 * is not one, or not valid JSON.  Calls no Lua; ud is unused. */
int vbr_json_fields(void *ud, const char *text, size_t len,
                    vbr_json_field *fields, size_t nfields);

#endif
