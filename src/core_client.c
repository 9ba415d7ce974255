/*
 * core_client.c - the client object (core.new, close, tostring, stats), its
 * requests driven to their end with the blocking libcurl transport
 * (c:request, c:call, c:login, c:logout: the job of the one in progress is
 * the client's, c->blocking), and what they share with the step API: call
 * arguments, jobs and response tables.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "core.h"
#include "interrupt.h"
#include "json.h"

#ifndef VBR_VERSION
#define VBR_VERSION "0.0.0-dev"
#endif


client *core_check_client(lua_State *L, int open)
{
    client *c = luaL_checkudata(L, 1, CLIENT_MT);
    if (open && core_client_closed(c))
        core_raise_error(L, "vbr: client is closed");
    c->L = L;
    return c;
}

/* Also frees a client that was not fully built (core.new raised). */
static void close_client(client *c)
{
    vbr_job_free(c->blocking);   /* left by a call that raised */
    c->blocking = NULL;
    vbr_job_free(c->spare);
    c->spare = NULL;
    if (c->engine != NULL) {
        vbr_engine_close(c->engine);
        vbr_engine_release(c->engine);
        c->engine = NULL;
    }
    vbr_curl_free(c->curl);
    c->curl = NULL;
    vbr_secret_free(c->password);
    c->password = NULL;
    free(c->password_file);
    c->password_file = NULL;
    if (c->password_ref != LUA_NOREF && c->L != NULL)
        luaL_unref(c->L, LUA_REGISTRYINDEX, c->password_ref);
    c->password_ref = LUA_NOREF;
    free(c->username);
    c->username = NULL;
}

int core_client_close(lua_State *L)
{
    close_client(core_check_client(L, 0));
    return 0;
}

/* nil, err (returns 2) for a file named in the options that cannot be
 * read, 0 when each can: not misuse, but input refused locally, before
 * anything is sent (a worker user without read access, a mistyped path),
 * rather than a failed login or handshake later. */
static int refuse_unreadable_files(lua_State *L, const options *o)
{
    const struct { const char *option, *path; } files[] = {
        {"password_file", o->password_file}, {"ca_file", o->ca_file}};
    size_t i;
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        FILE *f;
        int why;
        if (files[i].path == NULL)
            continue;
        f = fopen(files[i].path, "rb");
        if (f != NULL) {
            fclose(f);
            continue;
        }
        why = errno;
        lua_pushnil(L);
        lua_pushfstring(L, "cannot read %s: %s", files[i].path,
                        strerror(why));
        lua_pushfstring(L, "option '%s': %s", files[i].option,
                        lua_tostring(L, -1));
        core_push_error_fields(L, "invalid", 0, NULL, lua_tostring(L, -1),
                               NULL, NULL, 0, 0);
        lua_createtable(L, 1, 0);
        lua_createtable(L, 0, 2);
        core_set_string(L, "path", files[i].option);
        lua_pushvalue(L, -5);             /* the problem: "cannot read ..." */
        lua_setfield(L, -2, "message");
        lua_rawseti(L, -2, 1);
        lua_setfield(L, -2, "problems");
        lua_replace(L, -3);               /* nil, err, message */
        lua_pop(L, 1);
        return 2;
    }
    return 0;
}

/* core.new(opts [, "libcurl" | "steps"]) -> client | nil, err.  "steps": a
 * client that another transport drives through the step API only (no
 * libcurl handle; it answers ACQUIRE and PUBLISH itself). */
int core_new(lua_State *L)
{
    static const char *const transports[] = {"libcurl", "steps", NULL};
    options o;
    url_parts url;
    client *c;
    vbr_config cfg;
    vbr_host host;
    vbr_curl_options co;
    char err[CURL_ERROR_SIZE + 64];
    int steps = luaL_checkoption(L, 2, "libcurl", transports) == 1;

    lua_settop(L, 1);
    lua_pushnil(L);               /* slot 2: the password function */
    core_parse_options(L, &o);
    core_parse_url(L, o.url, &url);
    if (o.user_agent == NULL) {
        /* not curl_version(): it initialises libldap/libsasl just to print
         * their versions, memory valgrind then reports as lost */
        lua_pushfstring(L, "vbr/%s libcurl/%s", VBR_VERSION,
                        curl_version_info(CURLVERSION_NOW)->version);
        o.user_agent = lua_tostring(L, -1);
    }
    if (refuse_unreadable_files(L, &o))
        return 2;

    /* From here C memory is owned by the userdata, whose __gc frees it. */
    c = lua_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    c->password_ref = LUA_NOREF;
    luaL_getmetatable(L, CLIENT_MT);
    lua_setmetatable(L, -2);
    core_track_client(L, -1);
    c->L = L;
    c->steps = steps;
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

    cfg.host = url.host;
    cfg.port = url.port;
    cfg.prefix = url.prefix;
    cfg.username = o.username;
    cfg.api_version = o.api_version;
    cfg.timeout = o.timeout;
    cfg.refresh_margin = o.refresh_margin;
    cfg.max_response_size = (size_t)o.max_response_size;
    cfg.retry_attempts = o.retry_attempts;
    cfg.retry_max_time = o.retry_max_time;
    cfg.retry_base_delay = o.retry_base_delay;
    cfg.retry_max_delay = o.retry_max_delay;
    host = core_host(c);
    co.ca_file = o.ca_file;
    co.ca_path = o.ca_path;
    co.pinned_public_key = o.pinned_public_key;
    co.insecure = o.insecure;
    co.connect_timeout = o.connect_timeout;
    co.user_agent = o.user_agent;
    co.stop = vbr_interrupt_owed;      /* a Ctrl-C aborts the transfer */
    co.armed = vbr_interrupt_armed;    /* ... in "raise" mode only */

    if (c->username == NULL ||
        (c->pw_source == PW_STRING && c->password == NULL) ||
        (c->pw_source == PW_FILE && c->password_file == NULL) ||
        (c->engine = vbr_engine_new(&cfg, &host)) == NULL)
        return luaL_error(L, "vbr: out of memory");
    if (steps)
        return 1;
    c->curl = vbr_curl_new(&co, err, sizeof err);
    if (c->curl == NULL)
        return luaL_error(L, "vbr: %s", err);
    if (o.insecure)
        fprintf(stderr, "vbr: WARNING: TLS certificate verification is "
                        "disabled (insecure = true) for %s\n",
                vbr_engine_url(c->engine));
    return 1;
}

int core_client_tostring(lua_State *L)
{
    client *c = core_check_client(L, 0);
    const char *v;
    if (core_client_closed(c)) {
        lua_pushliteral(L, "vbr.core client (closed)");
        return 1;
    }
    v = vbr_engine_api_version(c->engine);
    lua_pushfstring(L, "vbr.core client (%s, user %s, api %s)",
                    vbr_engine_url(c->engine), c->username, v ? v : "auto");
    core_push_text(L, lua_tostring(L, -1), compat_rawlen(L, -1));
    return 1;
}

static int client_api_version(lua_State *L)
{
    client *c = core_check_client(L, 1);
    const char *v = vbr_engine_api_version(c->engine);
    if (v == NULL)
        lua_pushnil(L);
    else
        lua_pushstring(L, v);
    return 1;
}

static int client_stats(lua_State *L)
{
    client *c = core_check_client(L, 1);
    vbr_stats s = vbr_engine_stats(c->engine);
    lua_createtable(L, 0, 4);
    core_set_integer(L, "requests", (long)s.requests);
    core_set_integer(L, "retries", (long)s.retries);
    core_set_integer(L, "logins", (long)s.logins);
    core_set_integer(L, "refreshes", (long)s.refreshes);
    return 1;
}

/* ---------------------------------------------------------- requests */

const char *const core_methods[] = {"GET", "POST", "PUT", "DELETE",
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
        core_raise_error(L, "vbr: out of memory");
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
            core_raise_error(L, "vbr: query keys must be strings");
        if (strlen(lua_tostring(L, -2)) != compat_rawlen(L, -2))
            core_raise_error(L, "vbr: query keys must not contain NUL");
        if (!query_part_ok(L, -1)) {
            size_t k, n;
            if (!lua_istable(L, -1))
                core_raise_error(L, "vbr: query value '%s' must be a string, number,"
                              " boolean or an array of them",
                           lua_tostring(L, -2));
            n = compat_rawlen(L, -1);
            for (k = 1; k <= n; k++) {
                lua_rawgeti(L, -1, (int)k);
                if (!query_part_ok(L, -1))
                    core_raise_error(L, "vbr: query value '%s' has an element that "
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
                core_raise_error(L, "vbr: out of memory");
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
void core_check_call(lua_State *L, int first, vbr_call *a, int *decode)
{
    int i, opts = first + 2;
    size_t len;
    memset(a, 0, sizeof *a);
    *decode = 1;
    a->method = luaL_checkstring(L, first);
    for (i = 0; core_methods[i] != NULL; i++)
        if (strcmp(a->method, core_methods[i]) == 0)
            break;
    if (core_methods[i] == NULL)
        core_raise_error(L, "vbr: method must be one of GET, POST, PUT, DELETE, "
                      "PATCH (got '%s')", a->method);
    a->path = luaL_checklstring(L, first + 1, &len);
    if (a->path[0] != '/' || strpbrk(a->path, " \t\r\n") != NULL ||
        strlen(a->path) != len)
        core_raise_error(L, "vbr: path must start with / and hold no whitespace "
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
                core_raise_error(L, "vbr: request option 'body' must be a JSON "
                              "string (got %s)", luaL_typename(L, -1));
        } else if (strcmp(k, "timeout") == 0) {
            if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0))
                core_raise_error(L, "vbr: request option 'timeout' must be a "
                              "number > 0");
        } else if (strcmp(k, "query") == 0) {
            if (!lua_istable(L, -1))
                core_raise_error(L, "vbr: request option 'query' must be a table "
                              "(got %s)", luaL_typename(L, -1));
        } else if (strcmp(k, "decode") == 0) {
            if (!lua_isboolean(L, -1))
                core_raise_error(L, "vbr: request option 'decode' must be a "
                              "boolean (got %s)", luaL_typename(L, -1));
            *decode = lua_toboolean(L, -1);
        } else {
            core_raise_error(L, "vbr: unknown request option '%s' (known: query, "
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
job_box *core_new_job(lua_State *L, client *c, vbr_job_kind kind,
                      const vbr_call *a)
{
    job_box *jb = lua_newuserdata(L, sizeof *jb);
    jb->job = NULL;
    jb->c = c;
    jb->decode = 1;
    luaL_getmetatable(L, JOB_MT);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, 1);
    compat_setuservalue(L, -2);
    jb->job = vbr_job_new(c->engine, kind, a);
    if (jb->job == NULL)
        core_raise_error(L, "vbr: out of memory");
    return jb;
}

int core_job_close(lua_State *L)
{
    job_box *jb = luaL_checkudata(L, 1, JOB_MT);
    vbr_job_free(jb->job);
    jb->job = NULL;
    return 0;
}

/* Ends early for a Ctrl-C in "raise" mode (src/interrupt.c). */
void core_sleep_seconds(double s)
{
    vbr_interrupt_sleep(s);
}

/* One process, one job of this engine at a time: ACQUIRE goes ahead at
 * once and PUBLISH has nobody to tell (the step API of a libcurl client
 * answers them so too). */
const vbr_step *core_answer_at_once(vbr_job *job, const vbr_step *s)
{
    while (s != NULL &&
           (s->action == VBR_ACQUIRE || s->action == VBR_PUBLISH))
        s = vbr_job_next(job, NULL);
    return s;
}

/* The job of a blocking call, held by the client rather than by a job
 * userdata (whose collection costs more than the rest of the binding's
 * work); a call of the password function's own is no leftover
 * (core_host.c sets the caller's aside meanwhile). */
static vbr_job *begin_blocking(lua_State *L, client *c, vbr_job_kind kind,
                               const vbr_call *a)
{
    vbr_job_free(c->blocking);   /* left by a call that raised */
    if (c->spare != NULL) {
        /* the last call's job, renewed: no allocation per request */
        c->blocking = vbr_job_renew(c->spare, kind, a);
        c->spare = NULL;
    } else {
        c->blocking = vbr_job_new(c->engine, kind, a);
    }
    if (c->blocking == NULL)
        core_raise_error(L, "vbr: out of memory");
    return c->blocking;
}

/* The finished job is kept for the next call (a finished job holds no
 * secret: its steps cleared, its request body dropped); one dropped by an
 * interrupt, or left while a nested call holds the spare, is freed. */
static void end_blocking(client *c)
{
    const vbr_step *s = c->blocking != NULL ? vbr_job_step(c->blocking)
                                            : NULL;
    if (c->spare == NULL && s != NULL &&
        (s->action == VBR_DONE || s->action == VBR_FAIL))
        c->spare = c->blocking;
    else
        vbr_job_free(c->blocking);
    c->blocking = NULL;
}

/* A Ctrl-C in "raise" mode: the job is dropped (as a step driver may drop
 * one) and core.interrupt.ERROR raised; the response r points into the
 * transport, so nothing else is held. */
static void stop_if_interrupted(lua_State *L, client *c)
{
    if (!vbr_interrupt_owed())
        return;
    end_blocking(c);
    vbr_interrupt_check(L);
}

/* Drive a job to its end with the libcurl transport. */
static const vbr_step *run_job(lua_State *L, client *c, vbr_job *job,
                               vbr_response *r)
{
    const vbr_step *s = vbr_job_next(job, NULL);
    for (;;) {
        s = core_answer_at_once(job, s);
        if (s == NULL || (s->action != VBR_SEND && s->action != VBR_SLEEP))
            break;
        if (s->action == VBR_SLEEP) {
            core_sleep_seconds(s->seconds);
            stop_if_interrupted(L, c);
            s = vbr_job_next(job, NULL);
        } else if (c->curl != NULL) {
            int token_answer = s->purpose == VBR_FOR_LOGIN ||
                               s->purpose == VBR_FOR_REFRESH;
            vbr_curl_perform(c->curl, s, r);   /* aborted by a Ctrl-C */
            if (token_answer && vbr_interrupt_owed())
                vbr_curl_wipe_body(c->curl);   /* not read by the engine then */
            stop_if_interrupted(L, c);
            s = vbr_job_next(job, r);
            /* read by the engine, not needed again (a callback inside
             * vbr_job_next may have closed the client: freed, wiped) */
            if (token_answer && c->curl != NULL)
                vbr_curl_wipe_body(c->curl);
        } else {
            /* closed by a callback (the password function): the engine
             * fails the job whatever the answer */
            memset(r, 0, sizeof *r);
            r->error = VBR_TE_OTHER;
            s = vbr_job_next(job, r);
        }
    }
    if (s == NULL)
        core_raise_error(L, "vbr: internal error: job ended without an outcome");
    return s;
}

/* The blocking calls need the libcurl handle a "steps" client lacks. */
static client *check_blocking_client(lua_State *L)
{
    client *c = core_check_client(L, 1);
    if (c->curl == NULL)
        core_raise_error(L, "vbr: this client is driven through the step API "
                            "only (core.new(options, \"steps\"))");
    return c;
}

/* The one test of a JSON media type (core.is_json_type for the Lua layer):
 * "json" in the type before its parameters, any case. */
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

/* core.is_json_type(content_type) -> boolean */
int core_is_json(lua_State *L)
{
    lua_pushboolean(L, is_json_type(luaL_optstring(L, 1, NULL)));
    return 1;
}

/* Push {status, body, content_type, json}.  When a JSON body does not
 * decode, push a decode error instead and return 0. */
int core_push_response(lua_State *L, const vbr_response *r,
                       const char *method, const char *path, int decode)
{
    lua_createtable(L, 0, 4);
    core_set_integer(L, "status", r->status);
    lua_pushlstring(L, r->body ? r->body : "", r->body_len);
    lua_setfield(L, -2, "body");
    core_set_string(L, "content_type", r->content_type);
    if (decode && r->body_len > 0 && is_json_type(r->content_type)) {
        char why[128];
        if (!vbr_json_push(L, r->body, r->body_len, why, sizeof why)) {
            lua_pushfstring(L, "invalid JSON in the response: %s", why);
            core_push_error_fields(L, "decode", r->status, NULL,
                              lua_tostring(L, -1), method, path, 0, 0);
            lua_replace(L, -3);
            lua_pop(L, 1);
            return 0;
        }
        lua_setfield(L, -2, "json");
    }
    return 1;
}

/* The answer as vbr's Client:request gives it: decoded whatever its content
 * type (true for an empty body), and the status; or a decode error (the
 * wording of the core's for a JSON type) and 0. */
static int push_answer(lua_State *L, const vbr_response *r,
                       const char *method, const char *path)
{
    char why[128];
    if (r->body_len == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (vbr_json_push(L, r->body, r->body_len, why, sizeof why))
        return 1;
    if (is_json_type(r->content_type)) {
        lua_pushfstring(L, "invalid JSON in the response: %s", why);
        core_push_error_fields(L, "decode", r->status, NULL,
                               lua_tostring(L, -1), method, path, 0, 0);
    } else {
        lua_pushfstring(L, "the answer is not valid JSON (%s)", why);
        core_push_error_fields(L, "decode", r->status, NULL,
                               lua_tostring(L, -1), method, path, 0, 0);
        /* a body that claimed no JSON type: nothing said either way */
        lua_pushnil(L);
        lua_setfield(L, -2, "retryable");
        lua_pushnil(L);
        lua_setfield(L, -2, "outcome_unknown");
    }
    lua_replace(L, -2);
    return 0;
}

/* A blocking request. as_value: the answer decoded (push_answer) and its
 * status, the way vbr's Client:request wants them (c:call: no response
 * table, no body string); else the response table (c:request). */
static int blocking_request(lua_State *L, int as_value)
{
    client *c = check_blocking_client(L);
    vbr_call a;
    vbr_response r;
    const vbr_step *s;
    int n = 2, decode;
    core_check_call(L, 2, &a, &decode);
    if (as_value && !decode)
        core_raise_error(L, "vbr: c:call always decodes (decode = false is "
                            "c:request's)");
    s = run_job(L, c, begin_blocking(L, c, VBR_JOB_CALL, &a), &r);
    if (s->action == VBR_FAIL) {
        lua_pushnil(L);
        core_push_error(L, c, s->error);
    } else if (as_value ? push_answer(L, s->response, a.method, a.path)
                        : core_push_response(L, s->response, a.method, a.path,
                                             decode)) {
        if (as_value)
            lua_pushinteger(L, s->response->status);
        else
            n = 1;
    } else {
        lua_pushnil(L);
        lua_insert(L, -2);
    }
    end_blocking(c);
    return n;
}

/* c:call(method, path [, opts]) -> value, status | nil, err */
static int client_call(lua_State *L)
{
    return blocking_request(L, 1);
}

/* c:request(method, path [, opts]) -> res | nil, err */
static int client_request(lua_State *L)
{
    return blocking_request(L, 0);
}

static int auth_job(lua_State *L, vbr_job_kind kind)
{
    client *c = check_blocking_client(L);
    vbr_response r;
    const vbr_step *s = run_job(L, c, begin_blocking(L, c, kind, NULL), &r);
    int ok = s->action == VBR_DONE;
    if (ok)
        lua_pushboolean(L, 1);
    else {
        lua_pushnil(L);
        core_push_error(L, c, s->error);
    }
    end_blocking(c);
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


const luaL_Reg core_client_methods[] = {
    {"request", client_request},
    {"scrub", core_client_scrub},
    {"call", client_call},
    {"login", client_login},
    {"logout", client_logout},
    {"close", core_client_close},
    {"api_version", client_api_version},
    {"stats", client_stats},
    {NULL, NULL}
};
