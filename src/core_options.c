/*
 * core_options.c - the options table of core.new, checked and turned into
 * C values; the server URL normalised.
 */
#include <ctype.h>
#include <string.h>

#include "core.h"

#define DEFAULT_PORT 9419
#define MAX_OPTION_LENGTH 8192      /* string options but the credentials */


static VBR_NORETURN void opt_error(lua_State *L, const char *name,
                                   const char *expect)
{
    core_raise_error(L, "vbr: option '%s' must be %s (got %s)", name, expect,
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
        core_raise_error(L, "vbr: option '%s' must not contain %s", name,
                    form_encoded ? "NUL" : "CR, LF or NUL");
    /* libcurl refuses longer URLs and headers as "out of memory" */
    if (len > (form_encoded ? CORE_MAX_CREDENTIAL : MAX_OPTION_LENGTH))
        core_raise_error(L, "vbr: option '%s' must be at most %d bytes long",
                    name, form_encoded ? CORE_MAX_CREDENTIAL : MAX_OPTION_LENGTH);
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
            core_raise_error(L, "vbr: option 'retry' has a non-string key");
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
            core_raise_error(L, "vbr: unknown option 'retry.%s' (known: attempts, "
                          "max_time, base_delay, max_delay)", k);
        lua_pop(L, 1);
    }
}

/* Validate the options table at index 1; strings stay owned by it, a
 * password function is put at index 2. */
void core_parse_options(lua_State *L, options *o)
{
    memset(o, 0, sizeof *o);
    o->api_version = "auto";
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
            core_raise_error(L, "vbr: options must have string keys");
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
                core_raise_error(L, "vbr: option 'api_version' must be \"auto\" or "
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
            core_raise_error(L, "vbr: unknown option '%s'", k);
        lua_pop(L, 1);
    }
    if (o->url == NULL)
        core_raise_error(L, "vbr: option 'url' is required");
    if (o->username == NULL)
        core_raise_error(L, "vbr: option 'username' is required");
    if (!!o->password + !!o->password_fn + !!o->password_file != 1)
        core_raise_error(L, "vbr: exactly one of 'password' (string or function) "
                      "and 'password_file' is required");
    if (o->retry_max_delay < o->retry_base_delay)
        core_raise_error(L, "vbr: option 'retry.max_delay' must be >= "
                      "'retry.base_delay'");
}

/* Check url (https://host[:port][/prefix]) and split it: host and prefix
 * are pushed (two strings the parts point into), the port defaults to
 * 9419. */
void core_parse_url(lua_State *L, const char *url, url_parts *out)
{
    const char *host, *end, *host_end, *port;
    size_t len;
    long number = 0;
    /* only the scheme is echoed: the rest may hold user:password@ */
    if (strncmp(url, "https://", 8) != 0) {
        len = strcspn(url, ":/@?#");
        if (len <= 16 && url[len] == ':') {
            lua_pushlstring(L, url, len);
            core_raise_error(L, "vbr: option 'url' must start with https:// "
                                "(got \"%s:...\")", lua_tostring(L, -1));
        }
        core_raise_error(L, "vbr: option 'url' must start with https://");
    }
    for (end = url; *end != '\0'; end++)
        if ((unsigned char)*end <= 0x20 || *end == 0x7f)
            core_raise_error(L, "vbr: option 'url' must not contain spaces or "
                           "control characters");
    host = url + 8;
    end = host + strcspn(host, "/?#");
    if (memchr(host, '@', (size_t)(end - host)) != NULL)
        core_raise_error(L, "vbr: option 'url' must not hold credentials "
                       "(user:password@); give username and password");
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        host_end = close ? close + 1 : host;
    } else {
        host_end = memchr(host, ':', (size_t)(end - host));
        if (host_end == NULL)
            host_end = end;
    }
    port = host_end < end && *host_end == ':' ? host_end + 1 : NULL;
    for (len = 0; port != NULL && port + len < end && len < 6; len++)
        number = isdigit((unsigned char)port[len])
                 ? number * 10 + (port[len] - '0') : -1;
    /* a query may hold a password=: not echoed */
    if (strpbrk(url, "?#") != NULL)
        core_raise_error(L, "vbr: option 'url' must look like "
                            "https://host[:port][/prefix], without a query "
                            "or fragment");
    if (host_end == host || (port == NULL && host_end != end) ||
        (port != NULL && (len == 0 || port + len != end || number < 1 ||
                          number > 65535)))
        core_raise_error(L, "vbr: option 'url' must look like https://host[:port] "
                      "(got \"%s\")", url);
    len = strlen(end);
    while (len > 0 && end[len - 1] == '/')
        len--;
    out->port = port ? (int)number : DEFAULT_PORT;
    lua_pushlstring(L, host, (size_t)(host_end - host));
    out->host = lua_tostring(L, -1);
    lua_pushlstring(L, end, len);
    out->prefix = lua_tostring(L, -1);
}
