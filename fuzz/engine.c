/*
 * engine.c - libFuzzer harness: the engine alone (src/engine.c included, so
 * its static parsers are reached directly), driven through whole jobs with
 * fuzzed answers, plus Retry-After and redirect Location parsing on raw
 * bytes.  JSON fields are decoded with lua-cjson, as the core does.
 *
 * Input: byte 0 picks the job kind, method and api_version; then records
 * "<status:2 bytes><flags:1><len:2><bytes>" answer each send step: flags
 * bit 0-2 = transport error (0 none), bit 3 = sent, bit 4/5 = the bytes are
 * Retry-After / Location instead of the body.
 *
 * Invariants (abort): a send step never has CR, LF or NUL in its URL or a
 * header value; a failure's message and code never hold the access or
 * refresh token the engine keeps, nor (for a login) the password; jobs
 * always end.
 */
#define FUZZ_NO_CORE
#include "../src/engine.c"
#include "lua_host.h"

static const char PASSWORD[] = "Fuzz p@ss&=%w0rd";

static int fields_protected(lua_State *L)
{
    vbr_json_field *f = lua_touserdata(L, 2);
    size_t n = (size_t)lua_tointeger(L, 3), i;
    size_t len;
    const char *text = lua_tolstring(L, 1, &len);
    lua_getglobal(L, "fuzz_decode");
    lua_pushlstring(L, text, len);
    lua_call(L, 1, 1);
    if (!lua_istable(L, -1))
        return luaL_error(L, "not an object");
    for (i = 0; i < n; i++) {
        lua_getfield(L, -1, f[i].name);
        if (f[i].want_number && lua_type(L, -1) == LUA_TNUMBER) {
            f[i].num = lua_tonumber(L, -1);
            f[i].present = 1;
        } else if (!f[i].want_number && lua_type(L, -1) == LUA_TSTRING) {
            size_t sl;
            const char *s = lua_tolstring(L, -1, &sl);
            if (memchr(s, '\0', sl) == NULL) {   /* as the core does */
                f[i].str = vbr_strndup(s, sl);
                f[i].present = 1;
            }
        }
        lua_pop(L, 1);
    }
    return 0;
}

static int host_fields(void *ud, const char *json, size_t len,
                       vbr_json_field *f, size_t n)
{
    lua_State *L = ud;
    int rc;
    lua_pushcfunction(L, fields_protected);
    lua_pushlstring(L, json, len);
    lua_pushlightuserdata(L, f);
    lua_pushinteger(L, (lua_Integer)n);
    rc = lua_pcall(L, 3, 0, 0);
    if (rc != 0)
        lua_pop(L, 1);
    return rc == 0 ? 0 : -1;
}

static char *host_password(void *ud, const char **why)
{
    (void)ud;
    (void)why;
    return vbr_strdup(PASSWORD);
}

static void clean(const char *what, const char *s)
{
    if (s != NULL && strpbrk(s, "\r\n") != NULL) {
        fprintf(stderr, "INVARIANT: %s holds CR or LF\n", what);
        abort();
    }
}

static void holds_not(const char *text, const char *secret, const char *what)
{
    if (text != NULL && secret != NULL && strlen(secret) >= 4 &&
        strstr(text, secret) != NULL) {
        fprintf(stderr, "INVARIANT: error message holds the %s\n", what);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_lua_init("local cjson = require 'cjson'\n"
                  "local codec = cjson.new()\n"
                  "codec.decode_max_depth(200)\n"
                  "fuzz_decode = codec.decode\n"
                  "return function() end\n");
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const char *const versions[] = {"1.1-rev0", "1.3-rev1", "auto",
                                           "1.3-rev2"};
    static const char *const methods[] = {"GET", "PUT", "POST", "DELETE"};
    vbr_config cfg;
    vbr_host host = {fuzz_L, host_fields, host_password, NULL};
    vbr_call call = {NULL, "/api/v1/configBackup", "a=b", NULL, 0, 0};
    vbr_engine *e;
    vbr_job *j;
    const vbr_step *s;
    size_t pos = 1;
    int steps, round;
    unsigned char sel;
    char *text;

    if (size < 1)
        return 0;
    sel = data[0];

    /* the raw parsers, on the whole input as a string */
    text = vbr_strndup((const char *)data + 1, size - 1);
    if (text != NULL) {
        char host_buf[256];
        double secs = retry_after_seconds(text);
        if (secs != secs)
            abort();   /* NaN would poison the backoff */
        redirect_host(text, host_buf, sizeof host_buf);
        if (strlen(host_buf) >= sizeof host_buf)
            abort();
        free(text);
    }

    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = "https://vbr.example:9419";
    cfg.username = ".\\svc user";
    cfg.api_version = versions[sel & 3];
    cfg.timeout = 30;
    cfg.refresh_margin = (sel & 0x40) ? 1e9 : 60;   /* force refreshes */
    cfg.retry_attempts = 3;
    cfg.retry_max_time = 1e6;
    e = vbr_engine_new(&cfg, &host);
    if (e == NULL)
        return 0;

    /* two jobs in a row on one engine: the second sees the tokens the
     * first one stored */
    for (round = 0; round < 2; round++) {
        call.method = methods[(sel >> 2) & 3];
        call.body = (sel & 0x10) ? "{\"x\":1}" : NULL;
        call.body_len = call.body ? strlen(call.body) : 0;
        j = vbr_job_new(e, round == 0 && (sel & 0x80) ? VBR_JOB_LOGIN
                           : round == 1 && (sel & 0x20) ? VBR_JOB_LOGOUT
                           : VBR_JOB_CALL, &call);
        if (j == NULL)
            break;
        s = vbr_job_next(j, NULL);
        for (steps = 0; s != NULL && steps < 200; steps++) {
            vbr_response r;
            char extra[1024];
            size_t n;
            unsigned char flags;
            if (s->action == VBR_SLEEP) {
                if (!(s->seconds >= 0))
                    abort();
                s = vbr_job_next(j, NULL);
                continue;
            }
            if (s->action != VBR_SEND)
                break;
            clean("url", s->url);
            for (n = 0; n < s->nheaders; n++)
                clean(s->headers[n].name, s->headers[n].value);
            memset(&r, 0, sizeof r);
            if (pos + 5 > size) {
                r.error = VBR_TE_RESET;
                r.sent = 1;
            } else {
                r.status = (data[pos] << 8 | data[pos + 1]) % 600;
                flags = data[pos + 2];
                n = (size_t)(data[pos + 3] << 8 | data[pos + 4]);
                pos += 5;
                if (n > size - pos)
                    n = size - pos;
                r.error = (vbr_transport_error)(flags & 7);
                if (r.error > VBR_TE_OTHER)
                    r.error = VBR_TE_OTHER;
                r.sent = (flags >> 3) & 1;
                if (r.error != VBR_TE_NONE) {
                    r.status = 0;
                    r.message = "transport detail";
                } else if (flags & 0x30) {
                    snprintf(extra, sizeof extra, "%.*s", (int)n,
                             (const char *)data + pos);
                    if (flags & 0x10)
                        r.retry_after = extra;
                    else
                        r.location = extra;
                } else {
                    r.body = (const char *)data + pos;
                    r.body_len = n;
                    r.content_type = "application/json";
                }
                pos += n;
            }
            s = vbr_job_next(j, &r);
        }
        if (s == NULL || (s->action != VBR_DONE && s->action != VBR_FAIL)) {
            fprintf(stderr, "INVARIANT: job did not end (%d steps)\n", steps);
            abort();
        }
        if (s->action == VBR_FAIL) {
            holds_not(s->error->message, e->access_token, "access token");
            holds_not(s->error->message, e->refresh_token, "refresh token");
            holds_not(s->error->code, e->access_token, "access token");
            holds_not(s->error->code, e->refresh_token, "refresh token");
            if (strcmp(s->error->path, TOKEN_PATH) == 0) {
                holds_not(s->error->message, PASSWORD, "password");
                holds_not(s->error->code, PASSWORD, "password");
            }
            if (s->error->code != NULL && strlen(s->error->code) > 64)
                abort();
        }
        vbr_job_free(j);
    }
    vbr_engine_close(e);
    vbr_engine_release(e);
    return 0;
}
