/*
 * vbr_core.c - the Lua binding: luaopen_vbr_core.
 *
 *   local core = require "vbr.core"
 *   local c = core.new{ url = "https://vbr:9419", username = "u", password = "p" }
 *   local res, err = c:request("GET", "/api/v1/configBackup", { query = {...} })
 *
 * A JSON answer is decoded into res.json (json.c: vbr.json's tables), unless
 * the options say decode = false (a transport of the Lua layer's, which
 * decodes the body itself).  core.json_decode(text) is that decoder
 * (vbr.json.decode).
 *
 *   local value, status = c:call("GET", "/api/v1/configBackup")
 *
 * is the request as vbr's Client:request wants it, and the one way the Lua
 * layer uses the core's own libcurl transport: the answer decoded whatever
 * its content type (true for an empty body) and the status, or nil, err (a
 * decode error worded as c:request's); no response table, no body string.
 * c:request stays the core's general call (status, content type, body).
 *
 * Misuse (wrong types, unknown options, a closed client) raises; network,
 * TLS, HTTP, API, auth and decode failures return nil, err where err is a
 * table with the shared error metatable (see push_error).
 *
 * The step API lets another transport (nginx subrequests: vbr.nginx) drive
 * the same engine; src/engine.h has the contract, in C terms:
 *   local c = core.new(options, "steps")      -- no libcurl handle
 *   local job = c:begin(method, path, opts)   -- or c:begin_login(), c:begin_logout()
 *   local step = job:next()                   -- first step
 *   step.action == "send":  {purpose, method, url, scheme, host, port, path,
 *                            query, headers = {name = value}, body, timeout,
 *                            max_response_size, fresh_connection}
 *        answer with job:next{status = 200, headers = {...}, body = "..."}
 *        or job:next{error = "connect"|"reset"|"timeout"|"tls"|"too_large"|
 *                    "other", sent = true|false, message = "..."}
 *   step.action == "sleep": wait step.seconds, then job:next()
 *   step.action == "acquire": {purpose, access_token, lease}: answer with
 *        job:next() (go ahead), job:next{tokens = {access_token,
 *        refresh_token, expires_in, lifetime, api_version}} (newer ones) or
 *        job:next{failure = err} (the login waited for failed)
 *   step.action == "publish": {purpose, tokens = {...} | err = err}: share
 *        them, release the grant, then job:next()
 *   step.action == "done":  step.response = {status, body, content_type, json}
 *                           (absent for login/logout jobs)
 *   step.action == "fail":  step.err is the error object
 * A client made without "steps" answers acquire and publish itself (one
 * process, one engine); its c:perform(step) executes a send step with its
 * libcurl handle and returns the response table job:next expects.
 *
 * src/core.h says which file of the binding holds what.
 */
#include <string.h>

#include <curl/curl.h>

#include "core.h"
#include "interrupt.h"
#include "json.h"

#ifndef VBR_VERSION
#define VBR_VERSION "0.0.0-dev"
#endif

/* core.monotonic() -> seconds of a clock that never jumps (for deadlines) */
static int core_monotonic(lua_State *L)
{
    lua_pushnumber(L, vbr_now());
    return 1;
}

/* core.sleep(seconds): blocks the process (not for use inside nginx); a
 * Ctrl-C in "raise" mode (core.interrupt) ends it with that error */
static int core_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0, 1, "seconds must be >= 0");
    core_sleep_seconds(s);
    vbr_interrupt_check(L);     /* it ended early for a Ctrl-C */
    return 0;
}

static const luaL_Reg module_functions[] = {
    {"new", core_new},
    {"is_error", core_is_error},
    {"error", core_error},
    {"is_json_type", core_is_json},
    {"printable", core_printable},
    {"monotonic", core_monotonic},
    {"sleep", core_sleep},
    {NULL, NULL}
};

/* A metatable with the methods of the lists m1 and m2 (m2 may be NULL). */
static void new_class(lua_State *L, const char *name, const luaL_Reg *m1,
                      const luaL_Reg *m2, lua_CFunction gc,
                      lua_CFunction tostring)
{
    luaL_newmetatable(L, name);
    lua_newtable(L);
    compat_setfuncs(L, m1);
    if (m2 != NULL)
        compat_setfuncs(L, m2);
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
    int i, n;

    if (vbr_curl_global_init() != 0)
        return luaL_error(L, "vbr: libcurl initialisation failed");
    new_class(L, CLIENT_MT, core_client_methods, core_step_methods,
              core_client_close, core_client_tostring);
    new_class(L, JOB_MT, core_job_methods, NULL, core_job_close, NULL);
    core_open_errors(L);

    lua_newtable(L);
    compat_setfuncs(L, module_functions);
    lua_pushliteral(L, VBR_VERSION);
    lua_setfield(L, -2, "_VERSION");
    /* the revisions table, newest first: every one vbr knows with the
     * document it was checked against (all_revisions), and those "auto"
     * settles on (revisions) */
    lua_newtable(L);
    lua_newtable(L);
    for (i = 0, n = 0; vbr_revisions[i].name != NULL; i++) {
        lua_createtable(L, 0, 2);
        core_set_string(L, "name", vbr_revisions[i].name);
        core_set_string(L, "document", vbr_revisions[i].document);
        lua_rawseti(L, -2, i + 1);
        if (strcmp(vbr_revisions[i].name, vbr_revisions[i].document) == 0) {
            lua_pushstring(L, vbr_revisions[i].name);
            lua_rawseti(L, -3, ++n);
        }
    }
    lua_setfield(L, -3, "all_revisions");
    lua_setfield(L, -2, "revisions");
    vbr_interrupt_open(L);         /* core.interrupt: Ctrl-C for the CLI (src/interrupt.c) */
    core_open_multi(L);            /* core.multi: many clients at once (src/transport_multi.c) */
    vbr_json_open(L);
    return 1;
}
