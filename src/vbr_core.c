/*
 * vbr_core.c - the Lua binding: luaopen_vbr_core.
 *
 *   local core = require "vbr.core"
 *   local c = core.new{ url = "https://vbr:9419", username = "u", password = "p" }
 *   local res, err = c:request("GET", "/api/v1/configBackup", { query = {...} })
 *
 * A JSON answer is decoded with cjson into res.json, unless the options say
 * decode = false (the Lua layer decodes with vbr.json itself).
 *
 * Misuse (wrong types, unknown options, a closed client) raises; network,
 * TLS, HTTP, API, auth and decode failures return nil, err where err is a
 * table with the shared error metatable (see push_error).
 *
 * The step API lets another transport (nginx subrequests: vbr.nginx) drive
 * the same engine:
 *   local job = c:begin(method, path, opts)   -- or c:begin_login(), c:begin_logout()
 *   local step = job:next()                   -- first step
 *   step.action == "send":  {method, url, headers = {name = value}, body,
 *                            timeout, purpose, fresh_connection}
 *        answer with job:next{status = 200, headers = {...}, body = "..."}
 *        or job:next{error = "connect"|"reset"|"timeout"|"tls"|"too_large"|
 *                    "other", sent = true|false, message = "..."}
 *   step.action == "sleep": wait step.seconds, then job:next()
 *   step.action == "done":  step.response = {status, body, content_type, json}
 *                           (absent for login/logout jobs)
 *   step.action == "fail":  step.err is the error object
 * c:perform(step) executes a send step with this client's libcurl handle and
 * returns the response table job:next expects.
 *
 * Credentials shared between processes (nginx workers, see vbr.nginx):
 *   c:tokens() -> {generation = n [, access_token, refresh_token, expires_in,
 *                  lifetime, api_version]}: the secrets, for a shared store
 *   c:set_tokens(t | nil): take a pair another process obtained
 *   job:withdraw() -> step: instead of answering a login or refresh send
 *        step, say it was not sent because c:set_tokens gave newer ones
 *
 * Rule: no Lua function that can raise is called while libcurl is on the
 * stack, and C memory is owned by a userdata with __gc whenever Lua code
 * may raise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "compat.h"
#include "buf.h"
#include "engine.h"
#include "transport_curl.h"

#ifndef VBR_VERSION
#define VBR_VERSION "0.0.0-dev"
#endif

#define CLIENT_MT "vbr.core.client"
#define JOB_MT "vbr.core.job"
#define DEFAULT_PORT "9419"
#define MAX_PASSWORD_FILE 4096
#define MAX_OPTION_LENGTH 8192      /* string options but username, password */

static char error_mt_key;     /* registry keys: addresses are unique */
static char decode_key;

#if defined(__GNUC__) || defined(__clang__)
#define VBR_NORETURN __attribute__((noreturn))
#else
#define VBR_NORETURN
#endif

/* luaL_error in statement position: tells the compiler and the analyzers
 * that control never comes back. */
static VBR_NORETURN void raise_error(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_error(L);
    abort();   /* not reached: lua_error does not return */
}

typedef enum { PW_NONE, PW_STRING, PW_FUNCTION, PW_FILE } password_source;

typedef struct client {
    vbr_engine *engine;
    vbr_curl *curl;
    lua_State *L;              /* the thread currently calling in */
    password_source pw_source;
    char *password;            /* PW_STRING: secret copy */
    char *password_file;       /* PW_FILE */
    int password_ref;          /* PW_FUNCTION: registry reference */
    char *url;
    char *username;
    int closed;
} client;

typedef struct job_box {
    vbr_job *job;
    client *c;
    vbr_job_kind kind;
    int decode;                /* res.json for a JSON answer */
} job_box;

/* ------------------------------------------------------------ errors */

/* t[name] = value for the table on top (nothing when value is NULL). */
static void set_string(lua_State *L, const char *name, const char *value)
{
    if (value != NULL) {
        lua_pushstring(L, value);
        lua_setfield(L, -2, name);
    }
}

static void set_bool(lua_State *L, const char *k, int v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

static void set_number(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void set_integer(lua_State *L, const char *k, long v)
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

static void push_error_fields(lua_State *L, const char *kind, int status,
                              const char *code, const char *message,
                              const char *method, const char *path,
                              int retryable, int outcome_unknown)
{
    lua_createtable(L, 0, 9);
    set_string(L, "kind", kind);
    if (status > 0)
        set_integer(L, "status", status);
    set_string(L, "code", code);
    set_string(L, "message", message);
    set_string(L, "method", method);
    set_string(L, "path", path);
    set_bool(L, "retryable", retryable);
    set_bool(L, "outcome_unknown", outcome_unknown);
    set_error_mt(L);
}

static void push_error(lua_State *L, const vbr_error *e)
{
    push_error_fields(L, vbr_error_kind_name(e->kind), e->status, e->code,
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
static int core_is_error(lua_State *L)
{
    lua_pushboolean(L, is_error_at(L, 1));
    return 1;
}

/* core.error(t): give a table the error metatable (for the Lua layer's own
 * errors, so every error the library returns looks the same). */
static int core_error(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    set_error_mt(L);
    return 1;
}

/* ------------------------------------------------------ JSON via cjson */

typedef struct decode_call {
    const char *json;
    size_t len;
    vbr_json_field *fields;
    size_t nfields;
} decode_call;

static void push_decoder(lua_State *L)
{
    lua_pushlightuserdata(L, &decode_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

/* Runs under lua_pcall: decode and copy the wanted top-level fields. */
static int decode_fields_protected(lua_State *L)
{
    decode_call *dc = lua_touserdata(L, 1);
    size_t i;
    push_decoder(L);
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

/* ------------------------------------------------------------ password */

static char *read_password_file(const char *path)
{
    char buf[MAX_PASSWORD_FILE + 1];
    size_t n;
    char *pw;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    n = fread(buf, 1, MAX_PASSWORD_FILE, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    pw = vbr_strndup(buf, n);
    vbr_wipe(buf, sizeof buf);
    return pw;
}

static const char *host_held_password(void *ud)
{
    const client *c = ud;
    return c->pw_source == PW_STRING ? c->password : NULL;
}

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
        pw = read_password_file(c->password_file);
        if (pw == NULL)
            *why = "cannot read password_file";
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
            pw = vbr_strndup(s, n);
        }
        lua_pop(L, 1);
        break;
    case PW_NONE:
    default:
        *why = "no password configured";
        break;
    }
    return pw;
}

/* ------------------------------------------------------------- options */

typedef struct options {
    const char *url;
    const char *username;
    const char *password;
    int password_fn;           /* stack index of a password function, or 0 */
    const char *password_file;
    const char *api_version;
    const char *ca_file;
    const char *ca_path;
    const char *pinned_public_key;
    const char *user_agent;
    int insecure;
    double connect_timeout;
    double timeout;
    double refresh_margin;
    double max_response_size;
    int retry_attempts;
    double retry_max_time;
    double retry_base_delay;
    double retry_max_delay;
} options;

static VBR_NORETURN void opt_error(lua_State *L, const char *name,
                                   const char *expect)
{
    raise_error(L, "vbr: option '%s' must be %s (got %s)", name, expect,
                      luaL_typename(L, -1));
}

/* Every string option ends up in C strings (a NUL would cut it short) and
 * all but the form-encoded username and password in request lines or
 * headers (CR or LF would inject one): refused, without echoing the value. */
static const char *opt_string(lua_State *L, const char *name)
{
    size_t len;
    const char *s;
    int form_encoded = strcmp(name, "username") == 0 ||
                       strcmp(name, "password") == 0;
    if (lua_type(L, -1) != LUA_TSTRING)
        opt_error(L, name, "a string");
    s = lua_tolstring(L, -1, &len);
    if (memchr(s, '\0', len) != NULL ||
        (!form_encoded && strpbrk(s, "\r\n") != NULL))
        raise_error(L, "vbr: option '%s' must not contain %s", name,
                    form_encoded ? "NUL" : "CR, LF or NUL");
    /* libcurl refuses longer URLs and headers as "out of memory" */
    if (!form_encoded && len > MAX_OPTION_LENGTH)
        raise_error(L, "vbr: option '%s' must be at most %d bytes long",
                    name, MAX_OPTION_LENGTH);
    return s;
}

static double opt_number(lua_State *L, const char *name, double min,
                         int strictly, const char *expect)
{
    double v;
    if (lua_type(L, -1) != LUA_TNUMBER)
        opt_error(L, name, expect);
    v = lua_tonumber(L, -1);
    if (v != v || (strictly ? v <= min : v < min))
        opt_error(L, name, expect);
    return v;
}

static double opt_integer(lua_State *L, const char *name, double min,
                          const char *expect)
{
    double v = opt_number(L, name, min, 0, expect);
    if (v != (double)(long long)v || v > 1e15)
        opt_error(L, name, expect);
    return v;
}

static void parse_retry(lua_State *L, options *o)
{
    if (!lua_istable(L, -1))
        opt_error(L, "retry", "a table");
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
        const char *k;
        if (lua_type(L, -2) != LUA_TSTRING)
            raise_error(L, "vbr: option 'retry' has a non-string key");
        k = lua_tostring(L, -2);
        if (strcmp(k, "attempts") == 0) {
            double n = opt_integer(L, "retry.attempts", 1,
                                   "an integer >= 1");
            if (n > 1000)
                opt_error(L, "retry.attempts", "an integer from 1 to 1000");
            o->retry_attempts = (int)n;
        } else if (strcmp(k, "max_time") == 0)
            o->retry_max_time = opt_number(L, "retry.max_time", 0, 0,
                                           "a number >= 0");
        else if (strcmp(k, "base_delay") == 0)
            o->retry_base_delay = opt_number(L, "retry.base_delay", 0, 0,
                                             "a number >= 0");
        else if (strcmp(k, "max_delay") == 0)
            o->retry_max_delay = opt_number(L, "retry.max_delay", 0, 0,
                                            "a number >= 0");
        else
            raise_error(L, "vbr: unknown option 'retry.%s' (known: attempts, "
                          "max_time, base_delay, max_delay)", k);
        lua_pop(L, 1);
    }
}

/* Validate the options table at index 1; strings stay owned by it, a
 * password function is put at index 2. */
static void parse_options(lua_State *L, options *o)
{
    memset(o, 0, sizeof *o);
    o->api_version = "1.1-rev0";
    o->connect_timeout = 10;
    o->timeout = 60;
    o->refresh_margin = 60;
    o->max_response_size = 16.0 * 1024 * 1024;
    o->retry_attempts = 4;
    o->retry_max_time = 30;
    o->retry_base_delay = 0.5;
    o->retry_max_delay = 8;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        const char *k;
        if (lua_type(L, -2) != LUA_TSTRING)
            raise_error(L, "vbr: options must have string keys");
        k = lua_tostring(L, -2);
        if (strcmp(k, "url") == 0)
            o->url = opt_string(L, k);
        else if (strcmp(k, "username") == 0)
            o->username = opt_string(L, k);
        else if (strcmp(k, "password") == 0) {
            if (lua_isfunction(L, -1)) {
                lua_pushvalue(L, -1);   /* keep it at the fixed slot 2 */
                lua_replace(L, 2);
                o->password_fn = 2;
            } else
                o->password = opt_string(L, k);
        } else if (strcmp(k, "password_file") == 0)
            o->password_file = opt_string(L, k);
        else if (strcmp(k, "api_version") == 0) {
            o->api_version = opt_string(L, k);
            if (strcmp(o->api_version, "auto") != 0 &&
                !vbr_revision_valid(o->api_version))
                raise_error(L, "vbr: option 'api_version' must be \"auto\" or "
                              "a revision like \"1.1-rev0\" (got \"%s\")",
                           o->api_version);
        } else if (strcmp(k, "ca_file") == 0)
            o->ca_file = opt_string(L, k);
        else if (strcmp(k, "ca_path") == 0)
            o->ca_path = opt_string(L, k);
        else if (strcmp(k, "pinned_public_key") == 0)
            o->pinned_public_key = opt_string(L, k);
        else if (strcmp(k, "user_agent") == 0)
            o->user_agent = opt_string(L, k);
        else if (strcmp(k, "insecure") == 0) {
            if (!lua_isboolean(L, -1))
                opt_error(L, k, "a boolean");
            o->insecure = lua_toboolean(L, -1);
        } else if (strcmp(k, "connect_timeout") == 0)
            o->connect_timeout = opt_number(L, k, 0, 1, "a number > 0");
        else if (strcmp(k, "timeout") == 0)
            o->timeout = opt_number(L, k, 0, 1, "a number > 0");
        else if (strcmp(k, "refresh_margin") == 0)
            o->refresh_margin = opt_number(L, k, 0, 0, "a number >= 0");
        else if (strcmp(k, "max_response_size") == 0)
            o->max_response_size = opt_integer(L, k, 1, "an integer >= 1");
        else if (strcmp(k, "retry") == 0)
            parse_retry(L, o);
        else
            raise_error(L, "vbr: unknown option '%s'", k);
        lua_pop(L, 1);
    }
    if (o->url == NULL)
        raise_error(L, "vbr: option 'url' is required");
    if (o->username == NULL)
        raise_error(L, "vbr: option 'username' is required");
    if (!!o->password + !!o->password_fn + !!o->password_file != 1)
        raise_error(L, "vbr: exactly one of 'password' (string or function) "
                      "and 'password_file' is required");
    if (o->retry_max_delay < o->retry_base_delay)
        raise_error(L, "vbr: option 'retry.max_delay' must be >= "
                      "'retry.base_delay'");
}

/* https://host[:port][/prefix] -> https://host:port[/prefix], pushed. */
static void push_normalised_url(lua_State *L, const char *url)
{
    const char *host, *end, *port;
    size_t len;
    if (strncmp(url, "https://", 8) != 0)
        raise_error(L, "vbr: option 'url' must start with https:// (got \"%s\")",
                   url);
    for (end = url; *end != '\0'; end++)
        if ((unsigned char)*end <= 0x20 || *end == 0x7f)
            raise_error(L, "vbr: option 'url' must not contain spaces or "
                           "control characters");
    host = url + 8;
    end = host + strcspn(host, "/?#");
    if (memchr(host, '@', (size_t)(end - host)) != NULL)
        raise_error(L, "vbr: option 'url' must not hold credentials "
                       "(user:password@); give username and password");
    if (end == host || strpbrk(url, "?#") != NULL)
        raise_error(L, "vbr: option 'url' must look like https://host[:port] "
                      "(got \"%s\")", url);
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        port = close && close + 1 < end && close[1] == ':' ? close + 1 : NULL;
    } else {
        port = memchr(host, ':', (size_t)(end - host));
    }
    len = strlen(end);
    while (len > 0 && end[len - 1] == '/')
        len--;
    lua_pushlstring(L, url, (size_t)(end - url));
    lua_pushstring(L, port ? "" : ":" DEFAULT_PORT);
    lua_pushlstring(L, end, len);
    lua_concat(L, 3);
}

/* -------------------------------------------------------------- client */

static client *check_client(lua_State *L, int open)
{
    client *c = luaL_checkudata(L, 1, CLIENT_MT);
    if (open && c->closed)
        raise_error(L, "vbr: client is closed");
    c->L = L;
    return c;
}

static void close_client(client *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    vbr_engine_close(c->engine);
    vbr_engine_release(c->engine);
    c->engine = NULL;
    vbr_curl_free(c->curl);
    c->curl = NULL;
    vbr_secret_free(c->password);
    c->password = NULL;
    free(c->password_file);
    c->password_file = NULL;
    if (c->password_ref != LUA_NOREF && c->L != NULL)
        luaL_unref(c->L, LUA_REGISTRYINDEX, c->password_ref);
    c->password_ref = LUA_NOREF;
    free(c->url);
    c->url = NULL;
    free(c->username);
    c->username = NULL;
}

static int client_close(lua_State *L)
{
    close_client(check_client(L, 0));
    return 0;
}

/* core.new(opts) */
static int core_new(lua_State *L)
{
    options o;
    client *c;
    vbr_config cfg;
    vbr_host host;
    vbr_curl_options co;
    char err[CURL_ERROR_SIZE + 64];
    int url_idx;

    lua_settop(L, 1);
    lua_pushnil(L);               /* slot 2: the password function */
    parse_options(L, &o);
    push_normalised_url(L, o.url);
    url_idx = lua_gettop(L);
    if (o.user_agent == NULL) {
        /* not curl_version(): it initialises libldap/libsasl just to print
         * their versions, memory valgrind then reports as lost */
        lua_pushfstring(L, "vbr/%s libcurl/%s", VBR_VERSION,
                        curl_version_info(CURLVERSION_NOW)->version);
        o.user_agent = lua_tostring(L, -1);
    }
    if (o.password_file != NULL) {
        FILE *f = fopen(o.password_file, "rb");
        if (f == NULL)
            return luaL_error(L, "vbr: option 'password_file': cannot open "
                                 "\"%s\": %s", o.password_file,
                              strerror(errno));
        fclose(f);
    }

    /* From here C memory is owned by the userdata, whose __gc frees it. */
    c = lua_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    c->password_ref = LUA_NOREF;
    c->closed = 1;                /* until fully built */
    luaL_getmetatable(L, CLIENT_MT);
    lua_setmetatable(L, -2);
    c->L = L;
    c->closed = 0;
    c->url = vbr_strdup(lua_tostring(L, url_idx));
    c->username = vbr_strdup(o.username);
    if (o.password != NULL) {
        c->pw_source = PW_STRING;
        c->password = vbr_strdup(o.password);
    } else if (o.password_file != NULL) {
        c->pw_source = PW_FILE;
        c->password_file = vbr_strdup(o.password_file);
    } else {
        c->pw_source = PW_FUNCTION;
        lua_pushvalue(L, o.password_fn);
        c->password_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }

    cfg.base_url = c->url;
    cfg.username = o.username;
    cfg.api_version = o.api_version;
    cfg.timeout = o.timeout;
    cfg.refresh_margin = o.refresh_margin;
    cfg.retry_attempts = o.retry_attempts;
    cfg.retry_max_time = o.retry_max_time;
    cfg.retry_base_delay = o.retry_base_delay;
    cfg.retry_max_delay = o.retry_max_delay;
    host.ud = c;
    host.json_fields = host_json_fields;
    host.password = host_password;
    host.held_password = host_held_password;
    co.ca_file = o.ca_file;
    co.ca_path = o.ca_path;
    co.pinned_public_key = o.pinned_public_key;
    co.insecure = o.insecure;
    co.connect_timeout = o.connect_timeout;
    co.max_response_size = (size_t)o.max_response_size;
    co.user_agent = o.user_agent;

    if (c->url == NULL || c->username == NULL ||
        (c->pw_source == PW_STRING && c->password == NULL) ||
        (c->pw_source == PW_FILE && c->password_file == NULL) ||
        (c->engine = vbr_engine_new(&cfg, &host)) == NULL)
        return luaL_error(L, "vbr: out of memory");
    c->curl = vbr_curl_new(&co, err, sizeof err);
    if (c->curl == NULL)
        return luaL_error(L, "vbr: %s", err);
    if (o.insecure)
        fprintf(stderr, "vbr: WARNING: TLS certificate verification is "
                        "disabled (insecure = true) for %s\n", c->url);
    return 1;
}

static int client_tostring(lua_State *L)
{
    client *c = check_client(L, 0);
    const char *v;
    if (c->closed) {
        lua_pushliteral(L, "vbr.core client (closed)");
        return 1;
    }
    v = vbr_engine_api_version(c->engine);
    lua_pushfstring(L, "vbr.core client (%s, user %s, api %s)", c->url,
                    c->username, v ? v : "auto");
    return 1;
}

static int client_api_version(lua_State *L)
{
    client *c = check_client(L, 1);
    const char *v = vbr_engine_api_version(c->engine);
    if (v == NULL)
        lua_pushnil(L);
    else
        lua_pushstring(L, v);
    return 1;
}

static int client_stats(lua_State *L)
{
    client *c = check_client(L, 1);
    vbr_stats s = vbr_engine_stats(c->engine);
    lua_createtable(L, 0, 4);
    set_integer(L, "requests", (long)s.requests);
    set_integer(L, "retries", (long)s.retries);
    set_integer(L, "logins", (long)s.logins);
    set_integer(L, "refreshes", (long)s.refreshes);
    return 1;
}

/* ---------------------------------------------------------- requests */

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE",
                                      "PATCH", NULL};

static int query_part_ok(lua_State *L, int idx)
{
    int t = lua_type(L, idx);
    return t == LUA_TSTRING || t == LUA_TNUMBER || t == LUA_TBOOLEAN;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Push the value of query[key], or its k-th element when it is an array. */
static void push_query_value(lua_State *L, int idx, const char *key, size_t k)
{
    lua_getfield(L, idx, key);
    if (lua_istable(L, -1)) {
        lua_rawgeti(L, -1, (int)k);
        lua_remove(L, -2);
    }
}

static void add_escaped(lua_State *L, luaL_Buffer *b, const char *s,
                        size_t n)
{
    char *esc = curl_easy_escape(NULL, s, (int)n);
    if (esc == NULL)
        raise_error(L, "vbr: out of memory");
    luaL_addstring(b, esc);
    curl_free(esc);
}

/* Encode the query table at idx (absolute) as k=v&k=v2, keys sorted, array
 * values repeating the key, and push the string. */
static void push_query(lua_State *L, int idx)
{
    luaL_Buffer b;
    const char **keys;
    size_t nkeys = 0, i;
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            raise_error(L, "vbr: query keys must be strings");
        if (strlen(lua_tostring(L, -2)) != compat_rawlen(L, -2))
            raise_error(L, "vbr: query keys must not contain NUL");
        if (!query_part_ok(L, -1)) {
            size_t k, n;
            if (!lua_istable(L, -1))
                raise_error(L, "vbr: query value '%s' must be a string, number,"
                              " boolean or an array of them",
                           lua_tostring(L, -2));
            n = compat_rawlen(L, -1);
            for (k = 1; k <= n; k++) {
                lua_rawgeti(L, -1, (int)k);
                if (!query_part_ok(L, -1))
                    raise_error(L, "vbr: query value '%s' has an element that "
                                  "is not a string, number or boolean",
                               lua_tostring(L, -3));
                lua_pop(L, 1);
            }
        }
        nkeys++;
        lua_pop(L, 1);
    }
    /* scratch space as a userdata: collected even if something raises */
    keys = lua_newuserdata(L, (nkeys ? nkeys : 1) * sizeof *keys);
    i = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        keys[i++] = lua_tostring(L, -2);   /* kept alive by the table */
        lua_pop(L, 1);
    }
    qsort(keys, nkeys, sizeof *keys, compare_keys);

    luaL_buffinit(L, &b);
    for (i = 0; i < nkeys; i++) {
        size_t k, n, len;
        lua_getfield(L, idx, keys[i]);
        n = lua_istable(L, -1) ? compat_rawlen(L, -1) : 1;
        lua_pop(L, 1);
        for (k = 1; k <= n; k++) {
            const char *s;
            char *val;
            /* luaL_Buffer wants a balanced stack between its calls, so the
             * value is escaped into C memory and popped before adding */
            push_query_value(L, idx, keys[i], k);
            if (lua_isboolean(L, -1)) {
                s = lua_toboolean(L, -1) ? "true" : "false";
                len = strlen(s);
            } else {
                s = lua_tolstring(L, -1, &len);
            }
            val = curl_easy_escape(NULL, s, (int)len);
            lua_pop(L, 1);
            if (val == NULL)
                raise_error(L, "vbr: out of memory");
            if (!first)
                luaL_addchar(&b, '&');
            first = 0;
            add_escaped(L, &b, keys[i], strlen(keys[i]));
            luaL_addchar(&b, '=');
            luaL_addstring(&b, val);
            curl_free(val);
        }
    }
    luaL_pushresult(&b);
    lua_remove(L, -2);   /* the scratch keys */
}

/* ------------------------------------------------------------ jobs */

/* Check method, path, opts at first..first+2; may push the query string. */
static void check_vbr_call(lua_State *L, int first, vbr_call *a, int *decode)
{
    int i, opts = first + 2;
    size_t len;
    memset(a, 0, sizeof *a);
    *decode = 1;
    a->method = luaL_checkstring(L, first);
    for (i = 0; methods[i] != NULL; i++)
        if (strcmp(a->method, methods[i]) == 0)
            break;
    if (methods[i] == NULL)
        raise_error(L, "vbr: method must be one of GET, POST, PUT, DELETE, "
                      "PATCH (got '%s')", a->method);
    a->path = luaL_checklstring(L, first + 1, &len);
    if (a->path[0] != '/' || strpbrk(a->path, " \t\r\n") != NULL ||
        strlen(a->path) != len)
        raise_error(L, "vbr: path must start with / and hold no whitespace "
                      "or NUL (got '%s')", a->path);
    if (lua_isnoneornil(L, opts))
        return;
    luaL_checktype(L, opts, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, opts) != 0) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
                                                       : "?";
        if (strcmp(k, "body") == 0) {
            if (lua_type(L, -1) != LUA_TSTRING)
                raise_error(L, "vbr: request option 'body' must be a JSON "
                              "string (got %s)", luaL_typename(L, -1));
        } else if (strcmp(k, "timeout") == 0) {
            if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0))
                raise_error(L, "vbr: request option 'timeout' must be a "
                              "number > 0");
        } else if (strcmp(k, "query") == 0) {
            if (!lua_istable(L, -1))
                raise_error(L, "vbr: request option 'query' must be a table "
                              "(got %s)", luaL_typename(L, -1));
        } else if (strcmp(k, "decode") == 0) {
            if (!lua_isboolean(L, -1))
                raise_error(L, "vbr: request option 'decode' must be a "
                              "boolean (got %s)", luaL_typename(L, -1));
            *decode = lua_toboolean(L, -1);
        } else {
            raise_error(L, "vbr: unknown request option '%s' (known: query, "
                          "body, timeout, decode)", k);
        }
        lua_pop(L, 1);
    }
    lua_getfield(L, opts, "body");
    a->body = lua_tolstring(L, -1, &a->body_len);  /* held by opts */
    lua_pop(L, 1);
    lua_getfield(L, opts, "timeout");
    a->timeout = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : 0;
    lua_pop(L, 1);
    lua_getfield(L, opts, "query");
    if (lua_istable(L, -1)) {
        push_query(L, lua_gettop(L));
        lua_remove(L, -2);
        a->query = lua_tostring(L, -1);   /* left on the stack */
    } else {
        lua_pop(L, 1);
    }
}

/* Push a job userdata anchoring the client at index 1. */
static job_box *new_job(lua_State *L, client *c, vbr_job_kind kind,
                        const vbr_call *a)
{
    job_box *jb = lua_newuserdata(L, sizeof *jb);
    jb->job = NULL;
    jb->c = c;
    jb->kind = kind;
    jb->decode = 1;
    luaL_getmetatable(L, JOB_MT);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, 1);
    compat_setuservalue(L, -2);
    jb->job = vbr_job_new(c->engine, kind, a);
    if (jb->job == NULL)
        raise_error(L, "vbr: out of memory");
    return jb;
}

static int job_close(lua_State *L)
{
    job_box *jb = luaL_checkudata(L, 1, JOB_MT);
    vbr_job_free(jb->job);
    jb->job = NULL;
    return 0;
}

static void sleep_seconds(double s)
{
    struct timespec ts;
    if (!(s > 0))
        return;
    if (s > 1e9)           /* ~31 years; beyond, time_t may not hold it */
        s = 1e9;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Drive a job to its end with the libcurl transport. */
static const vbr_step *run_job(lua_State *L, client *c, job_box *jb,
                               vbr_response *r)
{
    const vbr_step *s;
    vbr_job_set_blocking(jb->job);
    s = vbr_job_next(jb->job, NULL);
    while (s != NULL && (s->action == VBR_SEND || s->action == VBR_SLEEP)) {
        if (s->action == VBR_SEND) {
            vbr_curl_perform(c->curl, s, r);
            s = vbr_job_next(jb->job, r);
        } else {
            sleep_seconds(s->seconds);
            s = vbr_job_next(jb->job, NULL);
        }
    }
    if (s == NULL)
        raise_error(L, "vbr: internal error: job ended without an outcome");
    return s;
}

static int is_json_type(const char *ct)
{
    size_t i;
    if (ct == NULL)
        return 0;
    for (i = 0; ct[i] != '\0' && ct[i] != ';'; i++)
        if (strncasecmp(ct + i, "json", 4) == 0)
            return 1;
    return 0;
}

/* Push {status, body, content_type, json}.  When a JSON body does not
 * decode, push a decode error instead and return 0. */
static int push_response(lua_State *L, const vbr_response *r,
                         const char *method, const char *path, int decode)
{
    lua_createtable(L, 0, 4);
    set_integer(L, "status", r->status);
    lua_pushlstring(L, r->body ? r->body : "", r->body_len);
    lua_setfield(L, -2, "body");
    set_string(L, "content_type", r->content_type);
    if (decode && r->body_len > 0 && is_json_type(r->content_type)) {
        push_decoder(L);
        lua_pushlstring(L, r->body, r->body_len);
        if (lua_pcall(L, 1, 1, 0) != 0) {
            const char *why = lua_tostring(L, -1);
            lua_pushfstring(L, "invalid JSON in the response: %s",
                            why ? why : "?");
            push_error_fields(L, "decode", r->status, NULL,
                              lua_tostring(L, -1), method, path, 0, 0);
            lua_replace(L, -4);
            lua_pop(L, 2);
            return 0;
        }
        lua_setfield(L, -2, "json");
    }
    return 1;
}

/* c:request(method, path [, opts]) -> res | nil, err */
static int client_request(lua_State *L)
{
    client *c = check_client(L, 1);
    vbr_call a;
    vbr_response r;
    job_box *jb;
    const vbr_step *s;
    int n, decode;
    check_vbr_call(L, 2, &a, &decode);
    jb = new_job(L, c, VBR_JOB_CALL, &a);
    s = run_job(L, c, jb, &r);
    if (s->action == VBR_FAIL) {
        lua_pushnil(L);
        push_error(L, s->error);
        n = 2;
    } else if (push_response(L, s->response, a.method, a.path, decode)) {
        n = 1;
    } else {
        lua_pushnil(L);
        lua_insert(L, -2);
        n = 2;
    }
    vbr_job_free(jb->job);
    jb->job = NULL;
    return n;
}

static int auth_job(lua_State *L, vbr_job_kind kind)
{
    client *c = check_client(L, 1);
    vbr_response r;
    job_box *jb = new_job(L, c, kind, NULL);
    const vbr_step *s = run_job(L, c, jb, &r);
    int ok = s->action == VBR_DONE;
    if (ok)
        lua_pushboolean(L, 1);
    else {
        lua_pushnil(L);
        push_error(L, s->error);
    }
    vbr_job_free(jb->job);
    jb->job = NULL;
    return ok ? 1 : 2;
}

/* c:login() -> true | nil, err (always a password login) */
static int client_login(lua_State *L)
{
    return auth_job(L, VBR_JOB_LOGIN);
}

/* c:logout() -> true | nil, err (true too when not logged in) */
static int client_logout(lua_State *L)
{
    return auth_job(L, VBR_JOB_LOGOUT);
}

/* ------------------------------------------------------- the step API */

static const char *purpose_name(vbr_purpose p)
{
    switch (p) {
    case VBR_FOR_LOGIN: return "login";
    case VBR_FOR_REFRESH: return "refresh";
    case VBR_FOR_LOGOUT: return "logout";
    case VBR_FOR_CALL:
    default: return "call";
    }
}

/* Push the value of t[name] without metamethods. */
static int rawfield(lua_State *L, int idx, const char *name)
{
    lua_pushstring(L, name);
    lua_rawget(L, idx);
    return lua_type(L, -1);
}

static const char *rawstring(lua_State *L, int idx, const char *name,
                             size_t *len, const char *what)
{
    const char *s = NULL;
    int t = rawfield(L, idx, name);
    if (t == LUA_TSTRING)
        s = lua_tolstring(L, -1, len);   /* held by the table */
    else if (t != LUA_TNIL)
        raise_error(L, "vbr: %s field '%s' must be a string (got %s)", what,
                   name, lua_typename(L, t));
    lua_pop(L, 1);
    return s;
}

static const char *const transport_errors[] = {
    "connect", "reset", "timeout", "tls", "too_large", "other", NULL
};
static const vbr_transport_error transport_error_codes[] = {
    VBR_TE_CONNECT, VBR_TE_RESET, VBR_TE_TIMEOUT, VBR_TE_TLS,
    VBR_TE_TOO_LARGE, VBR_TE_OTHER
};

/* Read a response table as job:next takes it. */
static void read_response(lua_State *L, int idx, vbr_response *r)
{
    const char *err;
    int t;
    memset(r, 0, sizeof *r);
    luaL_checktype(L, idx, LUA_TTABLE);
    err = rawstring(L, idx, "error", NULL, "response");
    if (rawfield(L, idx, "status") == LUA_TNUMBER) {
        /* out of int range is undefined behaviour: 0 is refused below */
        double status = lua_tonumber(L, -1);
        r->status = status >= 100 && status < 600 ? (int)status : 0;
    } else if (err == NULL)
        raise_error(L, "vbr: response needs a numeric 'status' or an 'error'");
    lua_pop(L, 1);
    if (err != NULL) {
        int i;
        for (i = 0; transport_errors[i] != NULL; i++)
            if (strcmp(err, transport_errors[i]) == 0)
                break;
        if (transport_errors[i] == NULL)
            raise_error(L, "vbr: response 'error' must be one of connect, "
                          "reset, timeout, tls, too_large, other (got '%s')",
                       err);
        r->error = transport_error_codes[i];
        t = rawfield(L, idx, "sent");
        r->sent = t == LUA_TNIL ? 1 : lua_toboolean(L, -1);  /* assume sent */
        lua_pop(L, 1);
        r->message = rawstring(L, idx, "message", NULL, "response");
        return;
    }
    if (r->status < 100 || r->status > 599)
        raise_error(L, "vbr: response 'status' must be 100..599");
    r->body = rawstring(L, idx, "body", &r->body_len, "response");
    t = rawfield(L, idx, "headers");
    if (t == LUA_TTABLE) {
        int h = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, h) != 0) {
            if (lua_type(L, -2) == LUA_TSTRING &&
                lua_type(L, -1) == LUA_TSTRING) {
                const char *k = lua_tostring(L, -2);
                const char *v = lua_tostring(L, -1);  /* held by headers */
                if (strcasecmp(k, "content-type") == 0)
                    r->content_type = v;
                else if (strcasecmp(k, "retry-after") == 0)
                    r->retry_after = v;
                else if (strcasecmp(k, "location") == 0)
                    r->location = v;
            }
            lua_pop(L, 1);
        }
    } else if (t != LUA_TNIL) {
        raise_error(L, "vbr: response 'headers' must be a table");
    }
    lua_pop(L, 1);
}

static void push_step(lua_State *L, job_box *jb, const vbr_step *s)
{
    size_t i;
    lua_createtable(L, 0, 8);
    switch (s->action) {
    case VBR_SEND:
        set_string(L, "action", "send");
        set_string(L, "purpose", purpose_name(s->purpose));
        set_string(L, "method", s->method);
        set_string(L, "url", s->url);
        lua_createtable(L, 0, (int)s->nheaders);
        for (i = 0; i < s->nheaders; i++)
            set_string(L, s->headers[i].name, s->headers[i].value);
        lua_setfield(L, -2, "headers");
        if (s->body != NULL) {
            lua_pushlstring(L, s->body, s->body_len);
            lua_setfield(L, -2, "body");
        }
        if (s->timeout > 0)
            set_number(L, "timeout", s->timeout);
        set_bool(L, "fresh_connection", s->fresh_connection);
        break;
    case VBR_SLEEP:
        set_string(L, "action", "sleep");
        set_number(L, "seconds", s->seconds);
        break;
    case VBR_DONE:
        if (s->response != NULL && jb->kind == VBR_JOB_CALL) {
            if (push_response(L, s->response, NULL, NULL, jb->decode)) {
                lua_setfield(L, -2, "response");
                set_string(L, "action", "done");
            } else {
                lua_setfield(L, -2, "err");
                set_string(L, "action", "fail");
            }
        } else {
            set_string(L, "action", "done");
        }
        break;
    case VBR_FAIL:
    default:
        set_string(L, "action", "fail");
        push_error(L, s->error);
        lua_setfield(L, -2, "err");
        break;
    }
}

/* c:begin(method, path [, opts]) -> job */
static int client_begin(lua_State *L)
{
    client *c = check_client(L, 1);
    vbr_call a;
    int decode;
    check_vbr_call(L, 2, &a, &decode);
    new_job(L, c, VBR_JOB_CALL, &a)->decode = decode;
    return 1;
}

static int client_begin_login(lua_State *L)
{
    new_job(L, check_client(L, 1), VBR_JOB_LOGIN, NULL);
    return 1;
}

static int client_begin_logout(lua_State *L)
{
    new_job(L, check_client(L, 1), VBR_JOB_LOGOUT, NULL);
    return 1;
}

/* job:next([response]) -> step */
static int job_next(lua_State *L)
{
    job_box *jb = luaL_checkudata(L, 1, JOB_MT);
    vbr_response r;
    const vbr_step *s;
    int awaiting;
    if (jb->job == NULL)
        return luaL_error(L, "vbr: job is closed");
    if (jb->c->closed)
        return luaL_error(L, "vbr: client is closed");
    if (vbr_job_finished(jb->job))
        return luaL_error(L, "vbr: job has already finished");
    jb->c->L = L;
    awaiting = vbr_job_awaiting_response(jb->job);
    if (awaiting && lua_isnoneornil(L, 2))
        return luaL_error(L, "vbr: job:next needs the response to the last "
                             "send step");
    if (!awaiting && !lua_isnoneornil(L, 2))
        return luaL_error(L, "vbr: job:next takes no response at the start "
                             "or after a sleep");
    if (awaiting)
        read_response(L, 2, &r);
    s = vbr_job_next(jb->job, awaiting ? &r : NULL);
    if (s == NULL)
        return luaL_error(L, "vbr: internal error: job refused its input");
    push_step(L, jb, s);
    return 1;
}

/* job:withdraw() -> step (the login or refresh asked for was not sent) */
static int job_withdraw(lua_State *L)
{
    job_box *jb = luaL_checkudata(L, 1, JOB_MT);
    const vbr_step *s;
    if (jb->job == NULL)
        return luaL_error(L, "vbr: job is closed");
    if (jb->c->closed)
        return luaL_error(L, "vbr: client is closed");
    jb->c->L = L;
    s = vbr_job_withdraw(jb->job);
    if (s == NULL)
        return luaL_error(L, "vbr: job:withdraw needs a pending login or "
                             "refresh send step");
    push_step(L, jb, s);
    return 1;
}

/* c:tokens() -> {generation [, access_token, refresh_token, expires_in,
 * lifetime, api_version]} (secrets: for a store shared by processes) */
static int client_tokens(lua_State *L)
{
    client *c = check_client(L, 1);
    vbr_tokens t;
    lua_createtable(L, 0, 6);
    if (vbr_engine_tokens(c->engine, &t)) {
        set_string(L, "access_token", t.access_token);
        set_string(L, "refresh_token", t.refresh_token);
        set_number(L, "expires_in", t.expires_in);
        set_number(L, "lifetime", t.lifetime);
    }
    set_string(L, "api_version", t.api_version);
    set_number(L, "generation", (double)t.generation);
    return 1;
}

/* c:set_tokens(t | nil): credentials another process obtained (fields as
 * c:tokens() gives them; access_token and expires_in required) */
static int client_set_tokens(lua_State *L)
{
    client *c = check_client(L, 1);
    vbr_tokens t;
    memset(&t, 0, sizeof t);
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        t.access_token = rawstring(L, 2, "access_token", NULL, "tokens");
        t.refresh_token = rawstring(L, 2, "refresh_token", NULL, "tokens");
        t.api_version = rawstring(L, 2, "api_version", NULL, "tokens");
        if (t.access_token == NULL)
            return luaL_error(L, "vbr: tokens need an 'access_token'");
        if (rawfield(L, 2, "expires_in") != LUA_TNUMBER)
            return luaL_error(L, "vbr: tokens need a numeric 'expires_in'");
        t.expires_in = lua_tonumber(L, -1);
        lua_pop(L, 1);
        if (rawfield(L, 2, "lifetime") == LUA_TNUMBER)
            t.lifetime = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    if (vbr_engine_set_tokens(c->engine, lua_isnoneornil(L, 2) ? NULL : &t))
        return luaL_error(L, "vbr: tokens refused: a token that is not "
                             "printable ASCII, a malformed api_version, or "
                             "out of memory");
    return 0;
}

/* c:perform(send_step) -> response table for job:next */
static int client_perform(lua_State *L)
{
    client *c = check_client(L, 1);
    vbr_step s;
    vbr_response r;
    const char *action;
    int t, m;
    memset(&s, 0, sizeof s);
    luaL_checktype(L, 2, LUA_TTABLE);
    action = rawstring(L, 2, "action", NULL, "step");
    if (action == NULL || strcmp(action, "send") != 0)
        return luaL_error(L, "vbr: perform takes a send step");
    s.method = rawstring(L, 2, "method", NULL, "step");
    s.url = rawstring(L, 2, "url", NULL, "step");
    s.body = rawstring(L, 2, "body", &s.body_len, "step");
    if (s.method == NULL || s.url == NULL)
        return luaL_error(L, "vbr: a send step needs method and url");
    for (m = 0; methods[m] != NULL; m++)
        if (strcmp(s.method, methods[m]) == 0)
            break;
    if (methods[m] == NULL)
        return luaL_error(L, "vbr: step method '%s' is not supported",
                          s.method);
    if (rawfield(L, 2, "timeout") == LUA_TNUMBER)
        s.timeout = lua_tonumber(L, -1);
    lua_pop(L, 1);
    rawfield(L, 2, "fresh_connection");
    s.fresh_connection = lua_toboolean(L, -1);
    lua_pop(L, 1);
    t = rawfield(L, 2, "headers");
    if (t == LUA_TTABLE) {
        int h = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, h) != 0) {
            if (lua_type(L, -2) != LUA_TSTRING ||
                lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "vbr: step headers must map strings to "
                                     "strings");
            if (s.nheaders == VBR_MAX_HEADERS)
                return luaL_error(L, "vbr: too many step headers");
            s.headers[s.nheaders].name = lua_tostring(L, -2);
            s.headers[s.nheaders].value = lua_tostring(L, -1);
            s.nheaders++;
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    s.action = VBR_SEND;

    vbr_curl_perform(c->curl, &s, &r);   /* no Lua inside */

    lua_createtable(L, 0, 4);
    if (r.error != VBR_TE_NONE) {
        set_string(L, "error", vbr_transport_error_name(r.error));
        set_bool(L, "sent", r.sent);
        set_string(L, "message", r.message);
        if (r.status > 0)
            set_integer(L, "status", r.status);
        return 1;
    }
    set_integer(L, "status", r.status);
    lua_pushlstring(L, r.body, r.body_len);
    lua_setfield(L, -2, "body");
    lua_createtable(L, 0, 3);
    set_string(L, "content-type", r.content_type);
    set_string(L, "retry-after", r.retry_after);
    set_string(L, "location", r.location);
    lua_setfield(L, -2, "headers");
    return 1;
}

/* -------------------------------------------------------------- module */

static const luaL_Reg client_methods[] = {
    {"request", client_request},
    {"login", client_login},
    {"logout", client_logout},
    {"close", client_close},
    {"api_version", client_api_version},
    {"stats", client_stats},
    {"begin", client_begin},
    {"begin_login", client_begin_login},
    {"begin_logout", client_begin_logout},
    {"perform", client_perform},
    {"tokens", client_tokens},
    {"set_tokens", client_set_tokens},
    {NULL, NULL}
};

static const luaL_Reg job_methods[] = {
    {"next", job_next},
    {"withdraw", job_withdraw},
    {"close", job_close},
    {NULL, NULL}
};

/* core.monotonic() -> seconds of a clock that never jumps (for deadlines) */
static int core_monotonic(lua_State *L)
{
    lua_pushnumber(L, vbr_now());
    return 1;
}

/* core.sleep(seconds): blocks the process (not for use inside nginx) */
static int core_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0, 1, "seconds must be >= 0");
    sleep_seconds(s);
    return 0;
}

static const luaL_Reg module_functions[] = {
    {"new", core_new},
    {"is_error", core_is_error},
    {"error", core_error},
    {"monotonic", core_monotonic},
    {"sleep", core_sleep},
    {NULL, NULL}
};

static void new_class(lua_State *L, const char *name, const luaL_Reg *m,
                      lua_CFunction gc, lua_CFunction tostring)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    compat_setfuncs(L, m);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__close");
#endif
    if (tostring != NULL) {
        lua_pushcfunction(L, tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pushliteral(L, "vbr.core");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

int luaopen_vbr_core(lua_State *L);

int luaopen_vbr_core(lua_State *L)
{
    int i;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    new_class(L, CLIENT_MT, client_methods, client_close, client_tostring);
    new_class(L, JOB_MT, job_methods, job_close, NULL);

    lua_pushlightuserdata(L, &error_mt_key);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_rawset(L, LUA_REGISTRYINDEX);

    /* our own cjson instance: settings made by others do not leak in */
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
        return luaL_error(L, "vbr: cjson.decode not found");
    lua_rawset(L, LUA_REGISTRYINDEX);

    lua_newtable(L);
    compat_setfuncs(L, module_functions);
    lua_pushliteral(L, VBR_VERSION);
    lua_setfield(L, -2, "_VERSION");
    lua_newtable(L);
    for (i = 0; vbr_known_revisions[i] != NULL; i++) {
        lua_pushstring(L, vbr_known_revisions[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "revisions");
    return 1;
}
