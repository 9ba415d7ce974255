/*
 * multi.c - libFuzzer harness: the multi transport (src/transport_multi.c)
 * with what servers answer, through the Lua binding: several clients, a
 * job queue per client, transfers ending in any order with any response or
 * transport error, retries' sleeps, cancels and clients closed while their
 * jobs are in flight.
 *
 * libcurl's multi handle and the easy transport are replaced here by fakes
 * (the multi transport's own logic is what is fuzzed; the easy transport's
 * callbacks have fuzz/transport.c): a transfer added to the fake multi ends
 * when the input says so, with a status, headers and a body taken from the
 * input, or with a libcurl error.  The input is one stream of bytes read by
 * both the fakes and the Lua driver (module fuzz_input).
 *
 * Invariants (abort): every job added is reported exactly once by m:poll,
 * or cancelled; an outcome is a response table or an error; no send step
 * carries CR, LF or NUL in its URL or a header value; m:poll's clients and
 * the fake multi agree on which handles are in it (none added twice, none
 * removed that was not in it); jobs end (a bounded number of polls).
 */
#include <stdarg.h>

#include "lua_host.h"
#include "../src/core.h"

/* ------------------------------------------------------------ the input */

static const unsigned char *input;
static size_t input_left;

static unsigned next_byte(void)
{
    if (input_left == 0)
        return 0;
    input_left--;
    return *input++;
}

static int lua_byte(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)next_byte());
    return 1;
}

static int lua_left(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)input_left);
    return 1;
}

static int open_fuzz_input(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, lua_byte);
    lua_setfield(L, -2, "byte");
    lua_pushcfunction(L, lua_left);
    lua_setfield(L, -2, "left");
    return 1;
}

/* ----------------------------------------- the easy transport, faked */

struct vbr_curl {
    int in_multi;
    int done;                  /* the fake multi has ended its transfer */
    void *private_data;
    char body[512];
    char content_type[64];
    char retry_after[16];
    char location[64];
    char message[32];
};

vbr_curl *vbr_curl_new(const vbr_curl_options *o, char *err, size_t errlen)
{
    vbr_curl *t = calloc(1, sizeof *t);
    (void)o;
    if (t == NULL)
        snprintf(err, errlen, "out of memory");
    return t;
}

void vbr_curl_free(vbr_curl *t);   /* below, with the multi's list */

static void check_clean(const char *what, const char *s)
{
    if (s != NULL && strpbrk(s, "\r\n") != NULL) {
        fprintf(stderr, "INVARIANT: %s holds CR or LF\n", what);
        abort();
    }
}

int vbr_curl_prepare(vbr_curl *t, const vbr_step *s, vbr_response *out)
{
    size_t i;
    check_clean("url", s->url);
    for (i = 0; i < s->nheaders; i++)
        check_clean("a header value", s->headers[i].value);
    if (next_byte() == 0xff) {            /* libcurl refusing the setup */
        memset(out, 0, sizeof *out);
        out->error = VBR_TE_OTHER;
        out->message = "cannot prepare the request";
        return -1;
    }
    t->done = 0;
    return 0;
}

CURL *vbr_curl_handle(vbr_curl *t)
{
    return (CURL *)(void *)t;
}

int vbr_curl_own_connections(vbr_curl *t, int fresh)
{
    (void)t;
    (void)fresh;
    return 0;
}

/* A response from the input: "<status byte><flags><len><body bytes>". */
static void fake_response(vbr_curl *t, CURLcode rc, vbr_response *out)
{
    static const int statuses[] = {200, 200, 200, 201, 204, 302, 400, 401,
                                   403, 404, 429, 500, 503, 504, 0, 200};
    static const char *const bodies[] = {
        ("{\"access_token\":\"a.b.c\",\"refresh_token\":\"r\",\"expires_in\":900,"
         "\"token_type\":\"bearer\"}"),
        "{\"errorCode\":\"NotImplemented\",\"message\":\"Supported versions: 1.1-rev0.\"}",
        "{\"isEnabled\":true}", "", "{", "{\"errorCode\":\"ExpiredToken\"}"};
    unsigned flags = next_byte(), n = next_byte() % sizeof t->body, i;
    memset(out, 0, sizeof *out);
    if (rc != CURLE_OK) {
        static const vbr_transport_error errors[] = {
            VBR_TE_CONNECT, VBR_TE_RESET, VBR_TE_TIMEOUT, VBR_TE_TLS,
            VBR_TE_TOO_LARGE, VBR_TE_OTHER};
        out->error = errors[flags % 6];
        out->sent = (flags >> 3) & 1;
        snprintf(t->message, sizeof t->message, "fake error %u", flags % 6);
        out->message = t->message;
        return;
    }
    out->status = statuses[flags % 16];
    if (out->status == 0)
        out->status = 200 + (int)(flags % 3);
    if (flags & 0x10) {
        snprintf(t->body, sizeof t->body, "%s", bodies[(flags >> 5) % 6]);
    } else {
        for (i = 0; i < n; i++)
            t->body[i] = (char)next_byte();
        t->body[n] = '\0';
    }
    out->body = t->body;
    out->body_len = (flags & 0x10) ? strlen(t->body) : n;
    snprintf(t->content_type, sizeof t->content_type, "%s",
             (flags & 0x80) ? "text/html" : "application/json");
    out->content_type = t->content_type;
    if (out->status == 429 || out->status == 503) {
        snprintf(t->retry_after, sizeof t->retry_after, "0");     /* no real waits */
        out->retry_after = t->retry_after;
    }
    if (out->status == 302) {
        snprintf(t->location, sizeof t->location, "https://elsewhere.example/x");
        out->location = t->location;
    }
}

void vbr_curl_finish(vbr_curl *t, CURLcode rc, vbr_response *out)
{
    fake_response(t, rc, out);
}

void vbr_curl_perform(vbr_curl *t, const vbr_step *s, vbr_response *out)
{
    if (vbr_curl_prepare(t, s, out) == 0)
        fake_response(t, next_byte() & 1 ? CURLE_OK : CURLE_RECV_ERROR, out);
}

/* The easy transport's memory hygiene (transport_curl.c): nothing to do
 * for fake answers. */
int vbr_curl_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void vbr_curl_wipe_body(vbr_curl *t)
{
    (void)t;
}

/* ------------------------------------------------ libcurl multi, faked */

#define MAX_HANDLES 64

struct fake_multi {
    vbr_curl *handles[MAX_HANDLES];
    size_t n;
    CURLMsg msg;
};

static struct fake_multi *multis[8];

static void forget(struct fake_multi *m, const vbr_curl *t)
{
    size_t i;
    for (i = 0; i < m->n; i++) {
        if (m->handles[i] == t) {
            m->handles[i] = m->handles[--m->n];
            return;
        }
    }
}

void vbr_curl_free(vbr_curl *t)
{
    size_t i;
    if (t == NULL)
        return;
    for (i = 0; i < sizeof multis / sizeof *multis; i++)
        if (multis[i] != NULL)
            forget(multis[i], t);     /* libcurl's cleanup leaves the multi */
    free(t);
}

CURLM *curl_multi_init(void)
{
    size_t i;
    for (i = 0; i < sizeof multis / sizeof *multis; i++) {
        if (multis[i] == NULL) {
            multis[i] = calloc(1, sizeof *multis[i]);
            return (CURLM *)(void *)multis[i];
        }
    }
    return NULL;
}

CURLMcode curl_multi_cleanup(CURLM *handle)
{
    size_t i;
    for (i = 0; i < sizeof multis / sizeof *multis; i++)
        if ((void *)multis[i] == (void *)handle)
            multis[i] = NULL;
    free(handle);
    return CURLM_OK;
}

CURLMcode curl_multi_add_handle(CURLM *handle, CURL *easy)
{
    struct fake_multi *m = (struct fake_multi *)(void *)handle;
    vbr_curl *t = (vbr_curl *)(void *)easy;
    size_t i;
    for (i = 0; i < m->n; i++) {
        if (m->handles[i] == t) {
            fprintf(stderr, "INVARIANT: an easy handle added twice\n");
            abort();
        }
    }
    if (m->n == MAX_HANDLES)
        return CURLM_OUT_OF_MEMORY;
    m->handles[m->n++] = t;
    t->in_multi = 1;
    return CURLM_OK;
}

CURLMcode curl_multi_remove_handle(CURLM *handle, CURL *easy)
{
    struct fake_multi *m = (struct fake_multi *)(void *)handle;
    vbr_curl *t = (vbr_curl *)(void *)easy;
    size_t i;
    for (i = 0; i < m->n && m->handles[i] != t; i++)
        ;
    if (i == m->n) {
        fprintf(stderr, "INVARIANT: removed a handle not in the multi\n");
        abort();
    }
    forget(m, t);
    t->in_multi = 0;
    return CURLM_OK;
}

CURLMcode curl_multi_poll(CURLM *handle, struct curl_waitfd fds[], unsigned n,
                          int timeout_ms, int *ret)
{
    (void)handle;
    (void)fds;
    (void)n;
    (void)timeout_ms;
    if (ret != NULL)
        *ret = 0;
    return CURLM_OK;
}

/* Which transfers end now: one bit of input each. */
CURLMcode curl_multi_perform(CURLM *handle, int *running)
{
    struct fake_multi *m = (struct fake_multi *)(void *)handle;
    size_t i;
    for (i = 0; i < m->n; i++)
        if (input_left == 0 || (next_byte() & 1))     /* all end, at the last */
            m->handles[i]->done = 1;
    *running = (int)m->n;
    return CURLM_OK;
}

CURLMsg *curl_multi_info_read(CURLM *handle, int *queued)
{
    struct fake_multi *m = (struct fake_multi *)(void *)handle;
    size_t i;
    *queued = 0;
    for (i = 0; i < m->n; i++) {
        vbr_curl *t = m->handles[i];
        if (t->done) {
            t->done = 0;
            m->msg.msg = CURLMSG_DONE;
            m->msg.easy_handle = (CURL *)(void *)t;
            m->msg.data.result = (next_byte() % 4) ? CURLE_OK : CURLE_RECV_ERROR;
            return &m->msg;
        }
    }
    return NULL;
}

#undef curl_easy_setopt
#undef curl_easy_getinfo
CURLcode curl_easy_setopt(CURL *easy, CURLoption option, ...)
{
    vbr_curl *t = (vbr_curl *)(void *)easy;
    va_list ap;
    va_start(ap, option);
    if (option == CURLOPT_PRIVATE)
        t->private_data = va_arg(ap, void *);
    va_end(ap);
    return CURLE_OK;
}

CURLcode curl_easy_getinfo(CURL *easy, CURLINFO info, ...)
{
    vbr_curl *t = (vbr_curl *)(void *)easy;
    va_list ap;
    va_start(ap, info);
    if (info == CURLINFO_PRIVATE)
        *va_arg(ap, char **) = t->private_data;
    va_end(ap);
    return CURLE_OK;
}

/* ------------------------------------------------------- the driver */

static const char DRIVER[] =
"local core = require 'vbr.core'\n"
"local PATHS = { '/api/v1/serverInfo', '/api/v1/configBackup', '/api/v1/sessions' }\n"
"local METHODS = { 'GET', 'GET', 'PUT', 'POST' }\n"
"return function()\n"
"  local input = require 'fuzz_input'\n"
"  local m = core.multi()\n"
"  local clients, jobs, pending, reported = {}, {}, {}, {}\n"
"  for i = 1, input.byte() % 4 + 1 do\n"
"    clients[i] = assert(core.new { url = 'https://vbr' .. i .. '.example', username = 'u',\n"
"      password = 'P@ss w0rd', api_version = (input.byte() % 2 == 0) and 'auto' or '1.3-rev1',\n"
"      retry = { attempts = 2, base_delay = 0, max_delay = 0, max_time = 5 } })\n"
"  end\n"
"  for round = 1, 200 do\n"
"    if input.left() == 0 and next(pending) == nil then break end\n"
"    local what = input.byte() % 8\n"
"    local c = clients[input.byte() % #clients + 1]\n"
"    if what <= 2 and pcall(tostring, c) then\n"
"      local ok, job = pcall(function()\n"
"        if what == 0 then return c:begin_login() end\n"
"        local method = METHODS[input.byte() % #METHODS + 1]\n"
"        return c:begin(method, PATHS[input.byte() % #PATHS + 1],\n"
"          { decode = input.byte() % 2 == 0, body = method == 'PUT' and '{}' or nil })\n"
"      end)\n"
"      if ok then\n"
"        local added, id = pcall(m.add, m, job)\n"
"        if added then pending[id] = true end\n"
"      end\n"
"    elseif what == 3 then\n"
"      local id = next(pending)\n"
"      if id and m:cancel(id) then pending[id] = nil end\n"
"    elseif what == 4 and input.byte() % 8 == 0 then\n"
"      c:close()\n"
"    else\n"
"      for _, outcome in ipairs(m:poll(0)) do\n"
"        if not pending[outcome.id] or reported[outcome.id] then\n"
"          error('INVARIANT: job ' .. tostring(outcome.id) .. ' reported twice or unknown', 0)\n"
"        end\n"
"        if (outcome.response == nil) == (outcome.err == nil) then\n"
"          error('INVARIANT: an outcome is a response or an error', 0)\n"
"        end\n"
"        if outcome.err then tostring(outcome.err) end\n"
"        pending[outcome.id], reported[outcome.id] = nil, true\n"
"      end\n"
"    end\n"
"  end\n"
"  -- what is left ends: every transfer finishes once the input is spent\n"
"  for _ = 1, 400 do\n"
"    if next(pending) == nil then break end\n"
"    for _, outcome in ipairs(m:poll(0)) do\n"
"      if not pending[outcome.id] then error('INVARIANT: job reported twice', 0) end\n"
"      pending[outcome.id] = nil\n"
"    end\n"
"  end\n"
"  if next(pending) then error('INVARIANT: a job never ended', 0) end\n"
"  m:close()\n"
"  for _, c in ipairs(clients) do c:close() end\n"
"end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_lua_init(DRIVER);
    luaL_getsubtable(fuzz_L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(fuzz_L, open_fuzz_input);
    lua_setfield(fuzz_L, -2, "fuzz_input");
    lua_pop(fuzz_L, 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    input = data;
    input_left = size;
    fuzz_lua_run(data, size);
    return 0;
}
