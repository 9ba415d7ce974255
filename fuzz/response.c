/*
 * response.c - libFuzzer harness: what a server sends back, through the Lua
 * binding's step API (read_response, the engine, push_response with the
 * core's own JSON decoder, error objects and their __tostring), and the same
 * answers through c:call (run_job and push_answer: a request and its decoded
 * answer in one C call) with the easy transport faked here: its perform
 * answers with the frames the driver hands over (fuzz_answers).
 *
 * Input: frames separated by "\n===\n".  Frame 1 is "<method> <api_version>"
 * (e.g. "GET 1.3-rev1" or "POST auto").  Every further frame answers one send
 * step: "<status>\n<Header: value lines>\n\n<body>", or "ERR <kind> <0|1>
 * <message>" for a transport failure.  Missing frames answer "reset".
 *
 * Invariants (abort): no send step carries CR, LF or NUL in its URL or in a
 * header value, whatever the server answered (an access token taken from a
 * token answer goes into the Authorization header); an error never shows
 * the password, as given, form-encoded either way, JSON-escaped or in base64
 * (a server may echo the login form); tostring of errors and of the client,
 * err.message and err.code hold no control character (C0, DEL, C1), nor
 * does core.printable of the whole input, and printable twice is once;
 * c:scrub leaves no form of the password, and twice is once; c:call agrees
 * with c:request{decode = false} and core.json_decode on the same answers
 * (the same kind of error; a decode error exactly when the body does not
 * decode; true for an empty body), and its errors keep the same promises.
 */
#include "lua_host.h"
#include "../src/core.h"
#include "../src/buf.h"

/* ------------------------------------------------ the easy transport, faked */

/* The answers of the c:call runs: a Lua table of frames as the driver's
 * answer() makes them, read by the fake perform (reading raw fields of plain
 * tables raises nothing but out of memory). */
static int answers_ref = LUA_NOREF;
static int answers_next;

struct vbr_curl {
    vbr_buf body;
    char content_type[256];
    char location[512];
    char message[128];
};

vbr_curl *vbr_curl_new(const vbr_curl_options *o, char *err, size_t errlen)
{
    vbr_curl *t = calloc(1, sizeof *t);
    (void)o;
    if (t == NULL)
        snprintf(err, errlen, "out of memory");
    return t;
}

void vbr_curl_free(vbr_curl *t)
{
    if (t != NULL)
        vbr_buf_free(&t->body);
    free(t);
}

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
    (void)t;
    check_clean("url", s->url);
    for (i = 0; i < s->nheaders; i++)
        check_clean("a header value", s->headers[i].value);
    memset(out, 0, sizeof *out);
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

/* The header of that name, any case, into out ("" when absent). */
static void header(lua_State *L, const char *name, char *out, size_t n)
{
    out[0] = '\0';
    lua_getfield(L, -1, "headers");
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
            if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING &&
                strcasecmp(lua_tostring(L, -2), name) == 0)
                snprintf(out, n, "%s", lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

/* The next frame, as read_response takes a step's answer; "reset" once the
 * frames are used up.  No Retry-After: c:call would really sleep (the step
 * API run reads it). */
static void answer_from_frames(vbr_curl *t, vbr_response *out)
{
    static const char *const errors[] = {"connect", "reset", "timeout", "tls",
                                         "too_large", "other"};
    lua_State *L = fuzz_L;
    const char *text;
    size_t len = 0, i;
    memset(out, 0, sizeof *out);
    lua_rawgeti(L, LUA_REGISTRYINDEX, answers_ref);
    lua_rawgeti(L, -1, ++answers_next);
    if (!lua_istable(L, -1)) {
        out->error = VBR_TE_RESET;
        out->sent = 1;
        lua_pop(L, 2);
        return;
    }
    lua_getfield(L, -1, "error");
    if (lua_type(L, -1) == LUA_TSTRING) {
        out->error = VBR_TE_OTHER;
        for (i = 0; i < sizeof errors / sizeof errors[0]; i++)
            if (strcmp(lua_tostring(L, -1), errors[i]) == 0)
                out->error = (vbr_transport_error)(VBR_TE_CONNECT + (int)i);
        lua_getfield(L, -2, "sent");
        out->sent = lua_toboolean(L, -1);
        lua_getfield(L, -3, "message");
        text = lua_tostring(L, -1);
        snprintf(t->message, sizeof t->message, "%s", text != NULL ? text : "");
        out->message = t->message;
        lua_pop(L, 5);
        return;
    }
    lua_pop(L, 1);
    lua_getfield(L, -1, "status");
    out->status = (int)lua_tointeger(L, -1);
    lua_getfield(L, -2, "body");
    text = lua_tolstring(L, -1, &len);
    vbr_buf_clear(&t->body);
    if (vbr_buf_add(&t->body, text != NULL ? text : "", text != NULL ? len : 0))
        abort();
    lua_pop(L, 2);
    out->body = t->body.data != NULL ? t->body.data : "";
    out->body_len = t->body.len;
    header(L, "Content-Type", t->content_type, sizeof t->content_type);
    out->content_type = t->content_type[0] ? t->content_type : NULL;
    header(L, "Location", t->location, sizeof t->location);
    out->location = t->location[0] ? t->location : NULL;
    lua_pop(L, 2);
}

void vbr_curl_finish(vbr_curl *t, CURLcode rc, vbr_response *out)
{
    (void)rc;
    answer_from_frames(t, out);
}

void vbr_curl_perform(vbr_curl *t, const vbr_step *s, vbr_response *out)
{
    if (vbr_curl_prepare(t, s, out) == 0)
        answer_from_frames(t, out);
}

int vbr_curl_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void vbr_curl_wipe_body(vbr_curl *t)
{
    vbr_buf_clear(&t->body);
}

/* fuzz_answers(frames): the answers of the next run, from the first */
static int fuzz_answers(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_unref(L, LUA_REGISTRYINDEX, answers_ref);
    lua_pushvalue(L, 1);
    answers_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    answers_next = 0;
    return 0;
}

static void setup(lua_State *L)
{
    lua_register(L, "fuzz_answers", fuzz_answers);
}

static const char DRIVER[] =
"local core = require 'vbr.core'\n"
"local find, sub, gmatch, match = string.find, string.sub, string.gmatch, string.match\n"
"local function split(s, sep)\n"
"  local out, pos = {}, 1\n"
"  while true do\n"
"    local a, b = find(s, sep, pos, true)\n"
"    if not a then out[#out + 1] = sub(s, pos); return out end\n"
"    out[#out + 1] = sub(s, pos, a - 1); pos = b + 1\n"
"  end\n"
"end\n"
"local function clean(what, v)\n"
"  if find(v, '[\\r\\n%z]') then error('INVARIANT: ' .. what .. ' holds CR, LF or NUL: ' .. ('%q'):format(v), 0) end\n"
"end\n"
"-- the password as given, as libcurl and .NET form-encode it, JSON-escaped\n"
"local FORMS = { 'P@ss w0rd&=%', 'P%40ss%20w0rd%26%3D%25', 'P%40ss+w0rd%26%3d%25',\n"
"  'P\\\\u0040ss w0rd\\\\u0026=%', 'UEBzcyB3MHJkJj0l' }\n"
"local function printable(what, v)\n"
"  if find(v, '[%z\\1-\\31\\127]') or find(v, '\\194[\\128-\\159]') then\n"
"    error('INVARIANT: ' .. what .. ' is not printable: ' .. ('%q'):format(v), 0)\n"
"  end\n"
"end\n"
"local function check(step)\n"
"  if step.action ~= 'send' then return end\n"
"  clean('url', step.url)\n"
"  for k, v in pairs(step.headers) do clean('header ' .. k, v) end\n"
"end\n"
"local function answer(frame)\n"
"  local kind, sent, msg = match(frame, '^ERR (%S+) (%d)%s?(.*)$')\n"
"  -- a transport's message is its own text (libcurl's), never the server's:\n"
"  -- it cannot hold the password, so the invariant below is not about it\n"
"  if kind then return { error = kind, sent = sent == '1', message = (msg:gsub('[%%@]', '_')) } end\n"
"  local head, body = match(frame, '^(.-)\\n\\n(.*)$')\n"
"  head = head or frame\n"
"  local status = tonumber(match(head, '^(%d+)')) or 200\n"
"  local headers = {}\n"
"  for name, value in gmatch(head, '\\n([^:\\n]+):%s*([^\\n]*)') do headers[name] = value end\n"
"  return { status = status, headers = headers, body = body }\n"
"end\n"
"return function(input)\n"
"  local frames = split(input, '\\n===\\n')\n"
"  local method, version = match(frames[1], '^(%u+) (%S+)')\n"
"  local c = core.new { url = 'https://vbr.example', username = 'svc',\n"
"    password = 'P@ss w0rd&=%', api_version = version or '1.1-rev0',\n"
"    retry = { attempts = 3, base_delay = 0, max_delay = 0, max_time = 3600 } }\n"
"  local job = c:begin(method or 'GET', '/api/v1/configBackup',\n"
"    method == 'PUT' and { body = '{\"a\":1}' } or nil)\n"
"  local step, i = job:next(), 2\n"
"  for _ = 1, 64 do\n"
"    check(step)\n"
"    if step.action == 'send' then\n"
"      local frame = frames[i]; i = i + 1\n"
"      step = job:next(frame and answer(frame) or { error = 'reset', sent = true })\n"
"    elseif step.action == 'sleep' then\n"
"      step = job:next()\n"
"    else break end\n"
"  end\n"
"  if step.action == 'fail' then\n"
"    local text = tostring(step.err)\n"
"    for _, form in ipairs(FORMS) do\n"
"      if find(text, form, 1, true) then error('INVARIANT: password in ' .. text, 0) end\n"
"    end\n"
"    printable('tostring(err)', text)\n"
"    printable('err.message', step.err.message or '')\n"
"    printable('err.code', step.err.code or '')\n"
"  end\n"
"  -- any server bytes through vbr.printable, while the client is open\n"
"  local shown = core.printable(input)\n"
"  printable('core.printable', shown)\n"
"  if core.printable(shown) ~= shown then error('INVARIANT: printable twice differs', 0) end\n"
"  -- and through the client's own scrub (its server's answers): no form\n"
"  -- of the password left, scrubbing twice is once\n"
"  local own = c:scrub(input)\n"
"  for _, form in ipairs(FORMS) do\n"
"    if find(own, form, 1, true) then error('INVARIANT: password in c:scrub', 0) end\n"
"  end\n"
"  if c:scrub(own) ~= own then error('INVARIANT: c:scrub twice differs', 0) end\n"
"  printable('tostring(client)', tostring(c)); c:stats(); job:close(); c:close()\n"
"  -- the same answers through c:call, and through c:request without decoding\n"
"  local answers = {}\n"
"  for k = 2, #frames do answers[#answers + 1] = answer(frames[k]) end\n"
"  local function run(f)\n"
"    local d = core.new { url = 'https://vbr.example', username = 'svc',\n"
"      password = 'P@ss w0rd&=%', api_version = version or '1.1-rev0',\n"
"      retry = { attempts = 3, base_delay = 0, max_delay = 0, max_time = 3600 } }\n"
"    fuzz_answers(answers)\n"
"    local a, b = f(d, method or 'GET', '/api/v1/configBackup',\n"
"      method == 'PUT' and { body = '{\"a\":1}' } or nil)\n"
"    d:close()\n"
"    return a, b\n"
"  end\n"
"  local value, got = run(function(d, ...) return d:call(...) end)\n"
"  local res, rerr = run(function(d, m, p, o)\n"
"    o = o or {}; o.decode = false; return d:request(m, p, o)\n"
"  end)\n"
"  if value ~= nil then\n"
"    if math.type(got) ~= 'integer' then error('INVARIANT: c:call gave no status', 0) end\n"
"    if not res then error('INVARIANT: c:call answered, c:request failed', 0) end\n"
"    if res.body == '' then\n"
"      if value ~= true then error('INVARIANT: an empty body is not true', 0) end\n"
"    elseif core.json_decode(res.body) == nil then\n"
"      error('INVARIANT: c:call decoded what json_decode refuses', 0)\n"
"    end\n"
"  else\n"
"    if getmetatable(got) == nil or type(got.kind) ~= 'string' then\n"
"      error('INVARIANT: c:call failed without an error object', 0)\n"
"    end\n"
"    -- the engine's own decode errors (a token answer, say) fail both\n"
"    if got.kind == 'decode' and res then\n"
"      if res.body == '' or core.json_decode(res.body) ~= nil then\n"
"        error('INVARIANT: a decode error for a body that decodes', 0)\n"
"      end\n"
"    elseif res or rerr.kind ~= got.kind then\n"
"      error('INVARIANT: c:call and c:request differ: ' .. tostring(got), 0)\n"
"    end\n"
"    local text = tostring(got)\n"
"    for _, form in ipairs(FORMS) do\n"
"      if find(text, form, 1, true) then error('INVARIANT: password in ' .. text, 0) end\n"
"    end\n"
"    printable('tostring(c:call err)', text)\n"
"    printable('c:call err.message', got.message or '')\n"
"  end\n"
"end\n";

FUZZ_LUA_ENTRY_POINTS_WITH(DRIVER, setup)
