/*
 * core_error.c - the error objects of vbr.core: one metatable for the
 * engine's errors and the Lua layer's own (core.error), with a __tostring
 * that reads well; the raise of misuse; and text fit to be seen
 * (core.printable): every secret of every open client scrubbed, whoever
 * built the text, and what a terminal would act on escaped (src/text.c).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "text.h"

/* registry keys: their addresses are unique */
static char error_mt_key;
static char clients_key;      /* weak-keyed set of the client userdata */
static char scratch_mt_key;

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

/* ------------------------------------------------------------ text */

void core_track_client(lua_State *L, int idx)
{
    if (idx < 0)
        idx = lua_gettop(L) + idx + 1;
    lua_pushlightuserdata(L, &clients_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* The secrets of one open client scrubbed from text: the password (held
 * while the client is open, whatever its source) and both tokens. */
static void scrub_client(const client *c, char *text, size_t *len)
{
    if (core_client_closed(c))
        return;
    if (c->password != NULL)
        vbr_scrub(text, len, c->password, strlen(c->password));
    vbr_engine_scrub(c->engine, text, len);
}

static void scrub_all(lua_State *L, char *text, size_t *len)
{
    lua_pushlightuserdata(L, &clients_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        const client *c = lua_touserdata(L, -2);
        if (c != NULL)
            scrub_client(c, text, len);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Buffers owned by a userdata, so that a raise (out of memory) frees them;
 * wiped, since they may hold a secret before it is scrubbed. */
typedef struct scratch {
    vbr_buf copy;
    vbr_buf out;
} scratch;

static int scratch_gc(lua_State *L)
{
    scratch *sc = lua_touserdata(L, 1);
    vbr_buf_free(&sc->copy);
    vbr_buf_free(&sc->out);
    return 0;
}

/* Push s[0..len) scrubbed of the secrets of `only` (NULL: of every open
 * client), and escaped. */
static void push_clean(lua_State *L, const client *only, int escape,
                       const char *s, size_t len)
{
    scratch *sc = lua_newuserdata(L, sizeof *sc);
    memset(sc, 0, sizeof *sc);
    lua_pushlightuserdata(L, &scratch_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_setmetatable(L, -2);
    if (vbr_buf_add(&sc->copy, s, len))
        core_raise_error(L, "vbr: out of memory");
    if (only != NULL)
        scrub_client(only, sc->copy.data, &sc->copy.len);
    else
        scrub_all(L, sc->copy.data, &sc->copy.len);
    if (!escape) {
        lua_pushlstring(L, sc->copy.data, sc->copy.len);
    } else {
        if (vbr_escape(&sc->out, sc->copy.data, sc->copy.len))
            core_raise_error(L, "vbr: out of memory");
        lua_pushlstring(L, sc->out.data, sc->out.len);
    }
    vbr_buf_free(&sc->copy);
    vbr_buf_free(&sc->out);
    lua_remove(L, -2);
}

void core_push_text(lua_State *L, const char *s, size_t len)
{
    push_clean(L, NULL, 1, s, len);
}

/* t[name] = the text fit to be seen, for a string value of t at idx. */
static void clean_field(lua_State *L, int idx, const char *name)
{
    size_t len;
    const char *s;
    lua_getfield(L, idx, name);
    if (lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &len);
        core_push_text(L, s, len);
        lua_setfield(L, idx, name);
    }
    lua_pop(L, 1);
}

/* core.printable(text) -> the text with every secret of every open client
 * scrubbed and everything but printable characters escaped (one line). */
int core_printable(lua_State *L)
{
    size_t len;
    const char *s;
    luaL_checktype(L, 1, LUA_TSTRING);
    s = lua_tolstring(L, 1, &len);
    core_push_text(L, s, len);
    return 1;
}

/* c:scrub(text) -> the text with this client's secrets scrubbed, nothing
 * escaped: for what its own server answered (sessions), which can hold no
 * other client's secret, since that server was never sent one; core.scrub
 * would cost every open client's scrub for each string of a fleet. */
int core_client_scrub(lua_State *L)
{
    const client *c = core_check_client(L, 0);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    push_clean(L, c, 0, s, len);
    return 1;
}

/* ---------------------------------------------------------- errors */

static void set_error_mt(lua_State *L)
{
    lua_pushlightuserdata(L, &error_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_setmetatable(L, -2);
}

/* t[name] = value fit to be seen (scrubbed of the secrets of `only`, NULL:
 * of every open client), for the table on top. */
static void set_text(lua_State *L, const client *only, const char *name,
                     const char *value)
{
    if (value != NULL) {
        push_clean(L, only, 1, value, strlen(value));
        lua_setfield(L, -2, name);
    }
}

static void push_error_table(lua_State *L, const client *only,
                             const char *kind, int status, const char *code,
                             const char *message, const char *method,
                             const char *path, int retryable,
                             int outcome_unknown)
{
    lua_createtable(L, 0, 9);
    core_set_string(L, "kind", kind);
    if (status > 0)
        core_set_integer(L, "status", status);
    set_text(L, only, "code", code);
    set_text(L, only, "message", message);
    set_text(L, only, "method", method);
    set_text(L, only, "path", path);
    core_set_bool(L, "retryable", retryable);
    core_set_bool(L, "outcome_unknown", outcome_unknown);
    set_error_mt(L);
}

void core_push_error_fields(lua_State *L, const char *kind, int status,
                            const char *code, const char *message,
                            const char *method, const char *path,
                            int retryable, int outcome_unknown)
{
    push_error_table(L, NULL, kind, status, code, message, method, path,
                     retryable, outcome_unknown);
}

/* An error of c's engine: what its server said can hold c's secrets and no
 * other client's (see core_client_scrub). */
void core_push_error(lua_State *L, const client *c, const vbr_error *e)
{
    push_error_table(L, c, vbr_error_kind_name(e->kind), e->status, e->code,
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
        {"action_required", "action required"},
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
    size_t len;
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
    /* the fields may have changed since the error was made */
    s = lua_tolstring(L, -1, &len);
    core_push_text(L, s, len);
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
 * errors, so every error the library returns looks the same); its texts,
 * and those of its problems, made fit to be seen like the engine's. */
int core_error(lua_State *L)
{
    static const char *const fields[] = {"code", "message", "method", "path"};
    size_t i;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    for (i = 0; i < sizeof fields / sizeof fields[0]; i++)
        clean_field(L, 1, fields[i]);
    lua_getfield(L, 1, "problems");
    if (lua_istable(L, -1)) {
        int k;
        for (k = 1; lua_rawgeti(L, 2, k), lua_istable(L, -1); k++) {
            clean_field(L, 3, "path");
            clean_field(L, 3, "message");
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
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
    lua_pushlightuserdata(L, &clients_key);
    lua_createtable(L, 0, 1);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    lua_pushlightuserdata(L, &scratch_mt_key);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, scratch_gc);
    lua_setfield(L, -2, "__gc");
    lua_rawset(L, LUA_REGISTRYINDEX);
}
