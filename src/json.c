/*
 * json.c - a strict JSON decoder producing vbr.json's tables directly.
 *
 *   core.json_decode(text, array_mt, null, nulls) -> value, true
 *                                                 | nil, false
 *
 * Gives what vbr.json.decode gets from lua-cjson plus its repairs, in one
 * pass and without rehashing (every table is created at its final size):
 * arrays carry array_mt (empty ones too), an object member that is null is
 * left out and remembered in nulls[object] = {key = true}, null in an array
 * is `null`, and whole numbers are integers on Lua 5.3+ (what math.tointeger
 * makes of cjson's float).  It declines (nil, false) whatever is not strict
 * RFC 8259 JSON, or nests deeper than vbr.json allows, or holds an escape
 * whose cjson reading is an edge case (\u0000, surrogates): the caller then
 * lets cjson decide, so results and error messages stay cjson's.
 */
#include "json.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"

#define MAX_DEPTH 200          /* vbr.json's codec.decode_max_depth */

typedef struct decoder {
    lua_State *L;
    const char *p, *end;
    int array_mt, null, nulls;  /* stack indexes of the arguments */
    int depth;
    char *scratch;              /* unescaped strings (a userdata) */
} decoder;

static int value(decoder *d);

static void skip_space(decoder *d)
{
    while (d->p < d->end &&
           (*d->p == ' ' || *d->p == '\n' || *d->p == '\r' || *d->p == '\t'))
        d->p++;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* The bytes that end a run of plain string text: the quote, the backslash
 * and the control characters (NUL too: a Lua string ends with one). */
#define C4(c) c, c, c, c
#define C16(c) C4(c), C4(c), C4(c), C4(c)
static const unsigned char string_stop[256] = {
    C16(1), C16(1),                              /* 0x00-0x1f */
    0, 0, 1, C4(0), C4(0), C4(0), 0,             /* 0x20-0x2f: '"' */
    C16(0), C16(0),                              /* 0x30-0x4f */
    C4(0), C4(0), C4(0), 1, 0, 0, 0,             /* 0x50-0x5f: '\\' */
};

/* A string at d->p (the opening quote): pushed. */
static int string(decoder *d)
{
    const char *start = ++d->p, *p = start;
    char *out;
    while (!string_stop[(unsigned char)*p])      /* stops at the final NUL */
        p++;
    if (p < d->end && *p == '"') {         /* the usual case: no escapes */
        lua_pushlstring(d->L, start, (size_t)(p - start));
        d->p = p + 1;
        return 1;
    }
    if (d->scratch == NULL) {   /* unescaped text is never longer */
        d->scratch = lua_newuserdata(d->L, (size_t)(d->end - start) + 1);
        lua_replace(d->L, d->nulls + 1);   /* its slot, kept alive */
    }
    memcpy(d->scratch, start, (size_t)(p - start));
    out = d->scratch + (p - start);
    while (p < d->end && *p != '"') {
        unsigned char c = (unsigned char)*p;
        unsigned code;
        if (c < 0x20)
            return 0;                      /* cjson keeps raw controls */
        if (c != '\\') {
            *out++ = (char)c;
            p++;
            continue;
        }
        if (d->end - p < 2)
            return 0;
        switch (p[1]) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '/': *out++ = '/'; break;
        case 'b': *out++ = '\b'; break;
        case 'f': *out++ = '\f'; break;
        case 'n': *out++ = '\n'; break;
        case 'r': *out++ = '\r'; break;
        case 't': *out++ = '\t'; break;
        case 'u':
            if (d->end - p < 6 || !hex4(p + 2, &code) || code == 0 ||
                (code >= 0xD800 && code <= 0xDFFF))
                return 0;
            if (code < 0x80) {
                *out++ = (char)code;
            } else if (code < 0x800) {
                *out++ = (char)(0xC0 | (code >> 6));
                *out++ = (char)(0x80 | (code & 0x3F));
            } else {
                *out++ = (char)(0xE0 | (code >> 12));
                *out++ = (char)(0x80 | ((code >> 6) & 0x3F));
                *out++ = (char)(0x80 | (code & 0x3F));
            }
            p += 4;
            break;
        default:
            return 0;
        }
        p += 2;
    }
    if (p >= d->end)
        return 0;
    lua_pushlstring(d->L, d->scratch, (size_t)(out - d->scratch));
    d->p = p + 1;
    return 1;
}

#if LUA_VERSION_NUM >= 503
/* math.tointeger of cjson's float: an integer when exactly one */
static void push_number(lua_State *L, double v)
{
    if (v >= -9223372036854775808.0 && v < 9223372036854775808.0 &&
        (double)(lua_Integer)v == v)
        lua_pushinteger(L, (lua_Integer)v);
    else
        lua_pushnumber(L, (lua_Number)v);
}
#else
static void push_number(lua_State *L, double v)
{
    lua_pushnumber(L, (lua_Number)v);
}
#endif

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at d->p: pushed. */
static int number(decoder *d)
{
    const char *start = d->p, *p = d->p, *digits;
    int whole = 1, negative = 0;
    if (*p == '-') {
        negative = 1;
        p++;
    }
    digits = p;
    if (p < d->end && *p == '0')
        p++;
    else if (p < d->end && *p >= '1' && *p <= '9')
        while (p < d->end && *p >= '0' && *p <= '9')
            p++;
    else
        return 0;
    if (p < d->end && *p == '.') {
        whole = 0;
        if (++p >= d->end || *p < '0' || *p > '9')
            return 0;
        while (p < d->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < d->end && (*p == 'e' || *p == 'E')) {
        whole = 0;
        if (++p < d->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= d->end || *p < '0' || *p > '9')
            return 0;
        while (p < d->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (whole && p - digits <= 15 && !(negative && p - digits == 1 &&
                                        *digits == '0')) {
        /* exact as a double, so what cjson's strtod gives too */
        long long v = 0;
        const char *q;
        for (q = digits; q < p; q++)
            v = v * 10 + (*q - '0');
        push_number(d->L, (double)(negative ? -v : v));
    } else {
        /* the text ends with NUL (a Lua string), so strtod stops in it */
        char *stop;
        double v;
        if (!whole && *localeconv()->decimal_point != '.')
            return 0;
        v = strtod(start, &stop);
        if (stop != p)
            return 0;
        push_number(d->L, v);
    }
    d->p = p;
    return 1;
}

static int literal(decoder *d, const char *word, size_t n)
{
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0)
        return 0;
    d->p += n;
    return 1;
}

static int array(decoder *d)
{
    lua_State *L = d->L;
    int base = lua_gettop(L) + 1, n = 0, i;
    if (++d->depth > MAX_DEPTH)
        return 0;
    d->p++;
    skip_space(d);
    if (d->p < d->end && *d->p == ']') {
        d->p++;
    } else {
        for (;;) {
            /* room for 16 elements and a nested value's first pushes */
            if (((n & 15) == 0 && !lua_checkstack(L, 20)) || !value(d))
                return 0;
            n++;
            skip_space(d);
            if (d->p < d->end && *d->p == ',') {
                d->p++;
                skip_space(d);
                continue;
            }
            if (d->p < d->end && *d->p == ']') {
                d->p++;
                break;
            }
            return 0;
        }
    }
    /* the n values above base become the array, left at base */
    if (n == 0)
        lua_pushnil(L);            /* the slot the array replaces */
    lua_createtable(L, n, 0);
    for (i = n; i >= 1; i--) {
        lua_pushvalue(L, base + i - 1);
        lua_rawseti(L, -2, i);
    }
    lua_pushvalue(L, d->array_mt);
    lua_setmetatable(L, -2);
    lua_replace(L, base);
    lua_settop(L, base);
    d->depth--;
    return 1;
}

/* The object on top, its key/value pairs from base up: members whose final
 * value is null are left out and remembered in nulls. */
static int remember_nulls(decoder *d, int base)
{
    lua_State *L = d->L;
    int t = lua_gettop(L), n = (t - base) / 2, i, keys = 0;
    if (!lua_checkstack(L, 4))
        return 0;
    for (i = 0; i < n; i++) {
        int still_null;
        if (!lua_rawequal(L, base + 2 * i + 1, d->null))
            continue;
        lua_pushvalue(L, base + 2 * i);       /* a later duplicate may */
        lua_rawget(L, t);                     /* have replaced it */
        still_null = lua_rawequal(L, -1, d->null);
        lua_pop(L, 1);
        if (!still_null)
            continue;
        if (keys == 0) {
            lua_newtable(L);
            keys = lua_gettop(L);
            lua_pushvalue(L, t);
            lua_pushvalue(L, keys);
            lua_rawset(L, d->nulls);
        }
        lua_pushvalue(L, base + 2 * i);
        lua_pushboolean(L, 1);
        lua_rawset(L, keys);
        lua_pushvalue(L, base + 2 * i);
        lua_pushnil(L);
        lua_rawset(L, t);
    }
    if (keys != 0)
        lua_remove(L, keys);
    return 1;
}

static int object(decoder *d)
{
    lua_State *L = d->L;
    int base = lua_gettop(L) + 1, n = 0, nulls = 0, i, t;
    if (++d->depth > MAX_DEPTH)
        return 0;
    d->p++;
    skip_space(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
    } else {
        for (;;) {
            int got;
            /* room for 8 members and a nested value's first pushes */
            if (((n & 7) == 0 && !lua_checkstack(L, 20)) || d->p >= d->end ||
                *d->p != '"' || !string(d))
                return 0;
            skip_space(d);
            if (d->p >= d->end || *d->p != ':')
                return 0;
            d->p++;
            skip_space(d);
            if ((got = value(d)) == 0)
                return 0;
            nulls |= got == 2;
            n++;
            skip_space(d);
            if (d->p < d->end && *d->p == ',') {
                d->p++;
                skip_space(d);
                continue;
            }
            if (d->p < d->end && *d->p == '}') {
                d->p++;
                break;
            }
            return 0;
        }
    }
    if (n == 0) {
        lua_newtable(L);
        d->depth--;
        return 1;
    }
    lua_createtable(L, 0, n);
    t = lua_gettop(L);
    for (i = 0; i < n; i++) {
        lua_pushvalue(L, base + 2 * i);
        lua_pushvalue(L, base + 2 * i + 1);
        lua_rawset(L, t);
    }
    if (nulls && !remember_nulls(d, base))
        return 0;
    lua_replace(L, base);
    lua_settop(L, base);
    d->depth--;
    return 1;
}

/* A value at d->p: pushed; returns 2 for null, 1 for others, 0 when
 * declined. */
static int value(decoder *d)
{
    if (d->p >= d->end)
        return 0;
    switch (*d->p) {
    case '{': return object(d);
    case '[': return array(d);
    case '"': return string(d);
    case 't':
        if (!literal(d, "true", 4))
            return 0;
        lua_pushboolean(d->L, 1);
        return 1;
    case 'f':
        if (!literal(d, "false", 5))
            return 0;
        lua_pushboolean(d->L, 0);
        return 1;
    case 'n':
        if (!literal(d, "null", 4))
            return 0;
        lua_pushvalue(d->L, d->null);
        return 2;
    default:
        return number(d);
    }
}

int vbr_json_decode(lua_State *L)
{
    decoder d;
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checkany(L, 3);
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_settop(L, 5);                       /* 5: the scratch slot */
    d.L = L;
    d.p = text;
    d.end = text + len;
    d.array_mt = 2;
    d.null = 3;
    d.nulls = 4;
    d.depth = 0;
    d.scratch = NULL;
    skip_space(&d);
    if (value(&d)) {
        skip_space(&d);
        if (d.p == d.end) {
            lua_pushboolean(L, 1);
            return 2;
        }
    }
    lua_settop(L, 5);
    lua_pushnil(L);
    lua_pushboolean(L, 0);
    return 2;
}
