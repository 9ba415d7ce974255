/*
 * core_step.c - the step API: another transport (nginx subrequests,
 * vbr.nginx) drives the engine's jobs step by step, the contract of
 * src/engine.h in Lua terms (see vbr_core.c's head).
 */
#include <string.h>
#include <strings.h>

#include "core.h"
#include "interrupt.h"


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
        core_raise_error(L, "vbr: %s field '%s' must be a string (got %s)", what,
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
        core_raise_error(L, "vbr: response needs a numeric 'status' or an 'error'");
    lua_pop(L, 1);
    if (err != NULL) {
        int i;
        for (i = 0; transport_errors[i] != NULL; i++)
            if (strcmp(err, transport_errors[i]) == 0)
                break;
        if (transport_errors[i] == NULL)
            core_raise_error(L, "vbr: response 'error' must be one of connect, "
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
        core_raise_error(L, "vbr: response 'status' must be 100..599");
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
        core_raise_error(L, "vbr: response 'headers' must be a table");
    }
    lua_pop(L, 1);
}

/* The credentials of a PUBLISH step, as job:next{tokens = ...} takes them. */
static void push_tokens(lua_State *L, const vbr_tokens *t)
{
    lua_createtable(L, 0, 5);
    core_set_string(L, "access_token", t->access_token);
    core_set_string(L, "refresh_token", t->refresh_token);
    if (t->access_token != NULL) {
        core_set_number(L, "expires_in", t->expires_in);
        core_set_number(L, "lifetime", t->lifetime);
    }
    core_set_string(L, "api_version", t->api_version);
}

static void push_step(lua_State *L, job_box *jb, const vbr_step *s)
{
    size_t i;
    lua_createtable(L, 0, 14);
    switch (s->action) {
    case VBR_SEND:
        core_set_string(L, "action", "send");
        core_set_string(L, "purpose", purpose_name(s->purpose));
        core_set_string(L, "method", s->method);
        core_set_string(L, "url", s->url);
        core_set_string(L, "scheme", s->scheme);
        core_set_string(L, "host", s->host);
        core_set_integer(L, "port", s->port);
        core_set_string(L, "path", s->path);
        core_set_string(L, "query", s->query);
        lua_createtable(L, 0, (int)s->nheaders);
        for (i = 0; i < s->nheaders; i++)
            core_set_string(L, s->headers[i].name, s->headers[i].value);
        lua_setfield(L, -2, "headers");
        if (s->body != NULL) {
            lua_pushlstring(L, s->body, s->body_len);
            lua_setfield(L, -2, "body");
        }
        if (s->timeout > 0)
            core_set_number(L, "timeout", s->timeout);
        core_set_number(L, "max_response_size", (double)s->max_response_size);
        core_set_bool(L, "fresh_connection", s->fresh_connection);
        break;
    case VBR_SLEEP:
        core_set_string(L, "action", "sleep");
        core_set_number(L, "seconds", s->seconds);
        break;
    case VBR_ACQUIRE:
        core_set_string(L, "action", "acquire");
        core_set_string(L, "purpose", purpose_name(s->purpose));
        core_set_string(L, "access_token", s->access_token);
        core_set_number(L, "lease", s->lease);
        break;
    case VBR_PUBLISH:
        core_set_string(L, "action", "publish");
        core_set_string(L, "purpose", purpose_name(s->purpose));
        if (s->tokens != NULL) {
            push_tokens(L, s->tokens);
            lua_setfield(L, -2, "tokens");
        }
        if (s->error != NULL) {
            core_push_error(L, jb->c, s->error);
            lua_setfield(L, -2, "err");
        }
        break;
    case VBR_DONE:
        if (s->response != NULL) {
            if (core_push_response(L, s->response, NULL, NULL, jb->decode)) {
                lua_setfield(L, -2, "response");
                core_set_string(L, "action", "done");
            } else {
                lua_setfield(L, -2, "err");
                core_set_string(L, "action", "fail");
            }
        } else {
            core_set_string(L, "action", "done");
        }
        break;
    case VBR_FAIL:
    default:
        core_set_string(L, "action", "fail");
        core_push_error(L, jb->c, s->error);
        lua_setfield(L, -2, "err");
        break;
    }
}

/* c:begin(method, path [, opts]) -> job */
static int client_begin(lua_State *L)
{
    client *c = core_check_client(L, 1);
    vbr_call a;
    int decode;
    core_check_call(L, 2, &a, &decode);
    core_new_job(L, c, VBR_JOB_CALL, &a)->decode = decode;
    return 1;
}

static int client_begin_login(lua_State *L)
{
    core_new_job(L, core_check_client(L, 1), VBR_JOB_LOGIN, NULL);
    return 1;
}

static int client_begin_logout(lua_State *L)
{
    core_new_job(L, core_check_client(L, 1), VBR_JOB_LOGOUT, NULL);
    return 1;
}

/* Read {access_token, refresh_token, expires_in, lifetime, api_version}
 * at idx (the strings stay held by the table). */
static void read_tokens(lua_State *L, int idx, vbr_tokens *t)
{
    memset(t, 0, sizeof *t);
    luaL_checktype(L, idx, LUA_TTABLE);
    t->access_token = rawstring(L, idx, "access_token", NULL, "tokens");
    t->refresh_token = rawstring(L, idx, "refresh_token", NULL, "tokens");
    t->api_version = rawstring(L, idx, "api_version", NULL, "tokens");
    if (t->access_token == NULL)
        core_raise_error(L, "vbr: tokens need an 'access_token'");
    if (rawfield(L, idx, "expires_in") != LUA_TNUMBER)
        core_raise_error(L, "vbr: tokens need a numeric 'expires_in'");
    t->expires_in = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (rawfield(L, idx, "lifetime") == LUA_TNUMBER)
        t->lifetime = lua_tonumber(L, -1);
    lua_pop(L, 1);
}

/* Read an error table (as a PUBLISH step's err) at idx. */
static void read_error(lua_State *L, int idx, vbr_error *e)
{
    const char *kind;
    int k;
    memset(e, 0, sizeof *e);
    luaL_checktype(L, idx, LUA_TTABLE);
    kind = rawstring(L, idx, "kind", NULL, "failure");
    k = kind ? vbr_error_kind_of(kind) : -1;
    if (k < 0)
        core_raise_error(L, "vbr: failure 'kind' must be one the engine gives "
                            "(network, tls, timeout, http, api, auth, decode)");
    e->kind = (vbr_error_kind)k;
    if (rawfield(L, idx, "status") == LUA_TNUMBER) {
        double status = lua_tonumber(L, -1);
        e->status = status >= 100 && status < 600 ? (int)status : 0;
    }
    lua_pop(L, 1);
    /* the engine copies them; held by the table meanwhile */
    e->code = (char *)rawstring(L, idx, "code", NULL, "failure");
    e->message = (char *)rawstring(L, idx, "message", NULL, "failure");
    rawfield(L, idx, "retryable");
    e->retryable = lua_toboolean(L, -1);
    lua_pop(L, 1);
}

/* Answer an ACQUIRE step: nothing (go ahead), {tokens = t} or
 * {failure = err}. */
static const vbr_step *answer_acquire(lua_State *L, job_box *jb, int idx)
{
    const vbr_step *s;
    vbr_error e;
    if (lua_isnoneornil(L, idx))
        return vbr_job_next(jb->job, NULL);
    luaL_checktype(L, idx, LUA_TTABLE);
    if (rawfield(L, idx, "tokens") != LUA_TNIL) {
        vbr_tokens t;
        read_tokens(L, lua_gettop(L), &t);
        s = vbr_job_adopt(jb->job, &t);
        if (s == NULL)
            core_raise_error(L, "vbr: tokens refused: a token that is not "
                                "printable ASCII or longer than %d bytes, a "
                                "malformed api_version, or out of memory",
                             VBR_MAX_TOKEN);
        lua_pop(L, 1);
        return s;
    }
    lua_pop(L, 1);
    if (rawfield(L, idx, "failure") == LUA_TNIL)
        core_raise_error(L, "vbr: the answer to an acquire step is nothing, "
                            "{tokens = ...} or {failure = err}");
    read_error(L, lua_gettop(L), &e);
    s = vbr_job_fail_shared(jb->job, &e);
    lua_pop(L, 1);
    return s;
}

/* job:next([answer]) -> step: the answer to the last step (the response to
 * a send, what acquire decided; nothing at the start and after others). */
static int job_next(lua_State *L)
{
    job_box *jb = luaL_checkudata(L, 1, JOB_MT);
    const vbr_step *last, *s;
    vbr_response r;             /* a done step's response points into it */
    if (jb->job == NULL)
        return luaL_error(L, "vbr: job is closed");
    last = vbr_job_step(jb->job);
    if (last != NULL && (last->action == VBR_DONE || last->action == VBR_FAIL))
        return luaL_error(L, "vbr: job has already finished");
    jb->c->L = L;
    if (last != NULL && last->action == VBR_SEND) {
        if (lua_isnoneornil(L, 2))
            return luaL_error(L, "vbr: job:next needs the response to the "
                                 "last send step");
        read_response(L, 2, &r);
        s = vbr_job_next(jb->job, &r);
    } else if (last != NULL && last->action == VBR_ACQUIRE) {
        s = answer_acquire(L, jb, 2);
    } else {
        if (!lua_isnoneornil(L, 2))
            return luaL_error(L, "vbr: job:next takes no answer at the start "
                                 "or after a sleep or publish step");
        s = vbr_job_next(jb->job, NULL);
    }
    if (!jb->c->steps)
        s = core_answer_at_once(jb->job, s);
    if (s == NULL)
        return luaL_error(L, "vbr: internal error: job refused its input");
    push_step(L, jb, s);
    return 1;
}

/* c:perform(send_step) -> response table for job:next */
static int client_perform(lua_State *L)
{
    client *c = core_check_client(L, 1);
    vbr_step s;
    vbr_response r;
    const char *action;
    int t, m;
    if (c->curl == NULL)
        return luaL_error(L, "vbr: this client is driven through the step "
                             "API only (core.new(options, \"steps\"))");
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
    for (m = 0; core_methods[m] != NULL; m++)
        if (strcmp(s.method, core_methods[m]) == 0)
            break;
    if (core_methods[m] == NULL)
        return luaL_error(L, "vbr: step method '%s' is not supported",
                          s.method);
    if (rawfield(L, 2, "timeout") == LUA_TNUMBER)
        s.timeout = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (rawfield(L, 2, "max_response_size") != LUA_TNUMBER ||
        !(lua_tonumber(L, -1) >= 1))
        return luaL_error(L, "vbr: a send step needs a max_response_size");
    s.max_response_size = lua_tonumber(L, -1) < 1e15
                          ? (size_t)lua_tonumber(L, -1) : (size_t)1e15;
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
    vbr_interrupt_check(L);              /* the transfer was aborted for it */

    lua_createtable(L, 0, 4);
    if (r.error != VBR_TE_NONE) {
        core_set_string(L, "error", vbr_transport_error_name(r.error));
        core_set_bool(L, "sent", r.sent);
        core_set_string(L, "message", r.message);
        if (r.status > 0)
            core_set_integer(L, "status", r.status);
        return 1;
    }
    core_set_integer(L, "status", r.status);
    lua_pushlstring(L, r.body, r.body_len);
    lua_setfield(L, -2, "body");
    lua_createtable(L, 0, 3);
    core_set_string(L, "content-type", r.content_type);
    core_set_string(L, "retry-after", r.retry_after);
    core_set_string(L, "location", r.location);
    lua_setfield(L, -2, "headers");
    return 1;
}

const luaL_Reg core_step_methods[] = {
    {"begin", client_begin},
    {"begin_login", client_begin_login},
    {"begin_logout", client_begin_logout},
    {"perform", client_perform},
    {NULL, NULL}
};

const luaL_Reg core_job_methods[] = {
    {"next", job_next},
    {"close", core_job_close},
    {NULL, NULL}
};
