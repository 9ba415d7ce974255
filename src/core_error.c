/*
 * core_error.c - the error objects of vbr.core: one metatable for the
 * engine's errors and the Lua layer's own (core.error), with a __tostring
 * that reads well; and the raise of misuse.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static char error_mt_key;     /* registry key: its address is unique */

/* luaL_error in statement position: tells the compiler and the analyzers
 * that control never comes back. */
VBR_NORETURN void core_raise_error(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_error(L);
    abort();   /* not reached: lua_error does not return */
}


/* t[name] = value for the table on top (nothing when value is NULL). */
void core_set_string(lua_State *L, const char *name, const char *value)
{
    if (value != NULL) {
        lua_pushstring(L, value);
        lua_setfield(L, -2, name);
    }
}

void core_set_bool(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

void core_set_number(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

void core_set_integer(lua_State *L, const char *k, long v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

static void set_error_mt(lua_State *L)
{
    lua_pushlightuserdata(L, &error_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_setmetatable(L, -2);
}

void core_push_error_fields(lua_State *L, const char *kind, int status,
                            const char *code, const char *message,
                            const char *method, const char *path,
                            int retryable, int outcome_unknown)
{
    lua_createtable(L, 0, 9);
    core_set_string(L, "kind", kind);
    if (status > 0)
        core_set_integer(L, "status", status);
    core_set_string(L, "code", code);
    core_set_string(L, "message", message);
    core_set_string(L, "method", method);
    core_set_string(L, "path", path);
    core_set_bool(L, "retryable", retryable);
    core_set_bool(L, "outcome_unknown", outcome_unknown);
    set_error_mt(L);
}

void core_push_error(lua_State *L, const vbr_error *e)
{
    core_push_error_fields(L, vbr_error_kind_name(e->kind), e->status, e->code,
                      e->message, e->method, e->path, e->retryable,
                      e->outcome_unknown);
}

/* vbr: api error 403 AccessDenied: message (GET /api/v1/configBackup) */
/* How a kind reads in a message: the Lua layer's kinds are no "errors" of a
 * protocol, so "invalid error" would read oddly. */
static const char *kind_label(const char *kind)
{
    static const struct { const char *kind, *label; } labels[] = {
        {"invalid", "invalid input"},
        {"conflict", "conflict"},
        {"failed", "session failed"},
        {"timeout", "timeout"},
        {"network", "network error"},
        {"tls", "TLS error"},
        {"http", "HTTP error"},
        {"api", "API error"},
        {"auth", "login refused"},
        {"decode", "decode error"},
    };
    size_t i;
    for (i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp(kind, labels[i].kind) == 0)
            return labels[i].label;
    return kind;
}

static int error_tostring(lua_State *L)
{
    luaL_Buffer b;
    const char *s;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "kind");
    lua_getfield(L, 1, "status");
    lua_getfield(L, 1, "code");
    lua_getfield(L, 1, "message");
    lua_getfield(L, 1, "method");
    lua_getfield(L, 1, "path");
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "vbr: ");
    s = lua_tostring(L, 2);
    luaL_addstring(&b, kind_label(s ? s : "unknown"));
    if ((s = lua_tostring(L, 3)) != NULL) {
        luaL_addchar(&b, ' ');
        luaL_addstring(&b, s);
    }
    if ((s = lua_tostring(L, 4)) != NULL) {
        luaL_addchar(&b, ' ');
        luaL_addstring(&b, s);
    }
    if ((s = lua_tostring(L, 5)) != NULL && *s) {
        luaL_addstring(&b, ": ");
        luaL_addstring(&b, s);
    }
    if ((s = lua_tostring(L, 6)) != NULL) {
        luaL_addstring(&b, " (");
        luaL_addstring(&b, s);
        if ((s = lua_tostring(L, 7)) != NULL) {
            luaL_addchar(&b, ' ');
            luaL_addstring(&b, s);
        }
        luaL_addchar(&b, ')');
    }
    luaL_pushresult(&b);
    return 1;
}

static int is_error_at(lua_State *L, int idx)
{
    int same;
    if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
        return 0;
    lua_pushlightuserdata(L, &error_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same;
}

/* core.is_error(x) */
int core_is_error(lua_State *L)
{
    lua_pushboolean(L, is_error_at(L, 1));
    return 1;
}

/* core.error(t): give a table the error metatable (for the Lua layer's own
 * errors, so every error the library returns looks the same). */
int core_error(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    set_error_mt(L);
    return 1;
}

void core_open_errors(lua_State *L)
{
    lua_pushlightuserdata(L, &error_mt_key);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_rawset(L, LUA_REGISTRYINDEX);
}
