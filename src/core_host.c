/*
 * core_host.c - the services the engine asks of its host (vbr_host): the
 * top-level fields of a JSON answer (json.c's scanner, in C: a token answer
 * never becomes a Lua string) and the password, from a string, a file or a
 * Lua function.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "json.h"

/* ---------------------------------------------------------------- password */

/* The password in a file (a final line break dropped), or NULL with *why. */
static char *read_password_file(const char *path, const char **why)
{
    char buf[CORE_MAX_CREDENTIAL + 2];
    size_t n;
    char *pw = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *why = "cannot read password_file";
        return NULL;
    }
    n = fread(buf, 1, CORE_MAX_CREDENTIAL + 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n > CORE_MAX_CREDENTIAL)
        *why = "password_file is longer than " CORE_STR(CORE_MAX_CREDENTIAL) " bytes";
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
    vbr_job *outer;
    char *pw = NULL;
    switch (c->pw_source) {
    case PW_STRING:
        pw = vbr_strdup(c->password);
        break;
    case PW_FILE:
        pw = read_password_file(c->password_file, why);
        break;
    case PW_FUNCTION:
        /* the job asking is a blocking call's, whose caller is still on
         * the C stack: set aside, so that a blocking call of the
         * function's own (or a close) takes it for no leftover */
        outer = c->blocking;
        c->blocking = NULL;
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
            else if (n > CORE_MAX_CREDENTIAL)
                *why = "the password function returned more "
                       "than " CORE_STR(CORE_MAX_CREDENTIAL) " bytes";
            else
                pw = vbr_strndup(s, n);
        }
        lua_pop(L, 1);
        c->L = L;
        vbr_job_free(c->blocking);   /* the function's own call raised */
        c->blocking = outer;
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
    host.json_fields = vbr_json_fields;   /* json.c: no Lua */
    host.password = host_password;
    host.held_password = host_held_password;
    return host;
}
