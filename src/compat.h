/*
 * compat.h - the one place where Lua 5.1 (and LuaJIT 2.1), 5.2, 5.3 and 5.4
 * differ for vbr.core.  Everything else in src/ is written against the 5.2+
 * API as spelled below (compat_* names avoid clashing with the few 5.2
 * functions LuaJIT 2.1 already exports).
 */
#ifndef VBR_COMPAT_H
#define VBR_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502

/* Lua 5.1 / LuaJIT */
#define compat_rawlen(L, i) lua_objlen((L), (i))

static inline void compat_setfuncs(lua_State *L, const luaL_Reg *l)
{
    for (; l->name != NULL; l++) {
        lua_pushcfunction(L, l->func);
        lua_setfield(L, -2, l->name);
    }
}

/* 5.1 has environments instead of user values, and they must be tables:
 * the value is kept at [1] of a one-slot table (only ever read by the
 * garbage collector: it anchors the client a job belongs to). */
static inline void compat_setuservalue(lua_State *L, int idx)
{
    int ud = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    lua_createtable(L, 1, 0);
    lua_insert(L, -2);
    lua_rawseti(L, -2, 1);
    lua_setfenv(L, ud);
}

#else

#define compat_rawlen(L, i) lua_rawlen((L), (i))
#define compat_setfuncs(L, l) luaL_setfuncs((L), (l), 0)
#define compat_setuservalue(L, i) lua_setuservalue((L), (i))

#endif

#endif
