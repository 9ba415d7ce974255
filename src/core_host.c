/*
 * core_host.c - the services the engine asks of its host (vbr_host): the
 * top-level fields of a JSON answer (decoded with vbr.core's own cjson
 * instance) and the password, from a string, a file or a Lua function.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

#define MAX_PASSWORD_FILE 4096

static char decode_key;       /* registry key: its address is unique */


typedef struct decode_call {
    const char *json;
    size_t len;
    vbr_json_field *fields;
    size_t nfields;
} decode_call;

void core_push_decoder(lua_State *L)
{
    lua_pushlightuserdata(L, &decode_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

/* Runs under lua_pcall: decode and copy the wanted top-level fields. */
static int decode_fields_protected(lua_State *L)
{
    decode_call *dc = lua_touserdata(L, 1);
    size_t i;
    core_push_decoder(L);
    lua_pushlstring(L, dc->json, dc->len);
    lua_call(L, 1, 1);
    if (!lua_istable(L, -1))
        return luaL_error(L, "not a JSON object");
    for (i = 0; i < dc->nfields; i++) {
        vbr_json_field *f = &dc->fields[i];
        lua_getfield(L, -1, f->name);
        if (f->want_number && lua_type(L, -1) == LUA_TNUMBER) {
            f->num = lua_tonumber(L, -1);
            f->present = 1;
        } else if (!f->want_number && lua_type(L, -1) == LUA_TSTRING) {
            size_t n;
            const char *s = lua_tolstring(L, -1, &n);
            /* "\u0000" would cut a C string short: treated as absent */
            if (memchr(s, '\0', n) == NULL) {
                f->str = vbr_strndup(s, n);
                f->present = f->str != NULL;
            }
        }
        lua_pop(L, 1);
    }
    return 0;
}

static int host_json_fields(void *ud, const char *json, size_t len,
                            vbr_json_field *fields, size_t nfields)
{
    client *c = ud;
    lua_State *L = c->L;
    decode_call dc;
    int rc;
    dc.json = json;
    dc.len = len;
    dc.fields = fields;
    dc.nfields = nfields;
    lua_pushcfunction(L, decode_fields_protected);
    lua_pushlightuserdata(L, &dc);
    rc = lua_pcall(L, 1, 0, 0);
    if (rc != 0) {
        lua_pop(L, 1);     /* the message may quote the body: drop it */
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- password */

/* The password in a file (a final line break dropped), or NULL with *why. */
static char *read_password_file(const char *path, const char **why)
{
    char buf[MAX_PASSWORD_FILE + 2];
    size_t n;
    char *pw = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *why = "cannot read password_file";
        return NULL;
    }
    n = fread(buf, 1, MAX_PASSWORD_FILE + 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n > MAX_PASSWORD_FILE)
        *why = "password_file is longer than 4096 bytes";
    else if (memchr(buf, '\0', n) != NULL)
        *why = "password_file holds a NUL byte";
    else
        pw = vbr_strndup(buf, n);
    vbr_wipe(buf, sizeof buf);
    return pw;
}

static const char *host_held_password(void *ud)
{
    const client *c = ud;
    return c->password;
}

/* The password function may do anything with the client: close it (the
 * engine then fails the job), use it from another coroutine (which sets
 * c->L: restored here), raise (caught). */
static char *host_password(void *ud, const char **why)
{
    client *c = ud;
    lua_State *L = c->L;
    char *pw = NULL;
    switch (c->pw_source) {
    case PW_STRING:
        pw = vbr_strdup(c->password);
        break;
    case PW_FILE:
        pw = read_password_file(c->password_file, why);
        break;
    case PW_FUNCTION:
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->password_ref);
        if (lua_pcall(L, 0, 1, 0) != 0) {
            *why = "the password function raised an error";
        } else if (lua_type(L, -1) != LUA_TSTRING) {
            *why = "the password function did not return a string";
        } else {
            size_t n;
            const char *s = lua_tolstring(L, -1, &n);
            if (memchr(s, '\0', n) != NULL)   /* refused as the option is */
                *why = "the password function returned a string with NUL";
            else
                pw = vbr_strndup(s, n);
        }
        lua_pop(L, 1);
        c->L = L;
        break;
    case PW_NONE:
    default:
        *why = "no password configured";
        break;
    }
    if (pw != NULL && c->pw_source != PW_STRING && !core_client_closed(c)) {
        /* kept to scrub it from every text, as a given one is (not by a
         * client the function closed: close wiped what it held) */
        char *held = vbr_strdup(pw);
        if (held != NULL) {
            vbr_secret_free(c->password);
            c->password = held;
        }
    }
    return pw;
}


vbr_host core_host(client *c)
{
    vbr_host host;
    host.ud = c;
    host.json_fields = host_json_fields;
    host.password = host_password;
    host.held_password = host_held_password;
    return host;
}

/* our own cjson instance: settings made by others do not leak in */
void core_open_decoder(lua_State *L)
{
    lua_pushlightuserdata(L, &decode_key);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "new");
    if (lua_isfunction(L, -1)) {
        lua_call(L, 0, 1);
        lua_remove(L, -2);
        /* a hostile server's [[[[... is refused, as vbr.json does */
        lua_getfield(L, -1, "decode_max_depth");
        if (lua_isfunction(L, -1)) {
            lua_pushinteger(L, 200);
            lua_call(L, 1, 0);
        } else {
            lua_pop(L, 1);
        }
    } else {
        lua_pop(L, 1);
    }
    lua_getfield(L, -1, "decode");
    lua_remove(L, -2);
    if (!lua_isfunction(L, -1))
        core_raise_error(L, "vbr: cjson.decode not found");
    lua_rawset(L, LUA_REGISTRYINDEX);
}
