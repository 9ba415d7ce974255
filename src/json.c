/*
 * json.c - a strict JSON decoder (RFC 8259) for the core.
 *
 *   core.json_decode(text) -> value | nil, "why at character N"
 *
 * Makes vbr.json's tables directly, in one pass: arrays carry the array
 * metatable (empty ones too), an object member that is null is left out and
 * remembered in nulls[object] = {key = true} (a later duplicate of the key
 * decides), null in an array is json_null (cjson's null, a NULL light
 * userdata), and numbers are exact: an integer literal that fits 64 bits is
 * that integer, any other number is strtod's double, an integer on Lua 5.3+
 * when it is whole (math.tointeger's rule).  Nothing is marked in-band: a
 * string is always the string the server sent.
 *
 * What it accepts is what lua-cjson 2.1.0 accepts with the same depth limit,
 * less cjson's liberties (raw control characters in strings, numbers such as
 * "1." or "-.5" or "0x10", text after a NUL): fuzz/json.c checks both on
 * every input.  Like cjson it does not validate UTF-8 (bytes pass as they
 * are) and refuses lone surrogates; \u0000 is a NUL byte.
 *
 * The same scanner, without Lua, extracts the top-level members the engine
 * asks for (vbr_json_fields): a token answer never becomes a Lua string.
 */
#include "json.h"

#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "compat.h"

static char array_mt_key, nulls_key, cache_key, cache_strings_key;

/* Strings the decoder made lately, by a hash of their bytes: the same keys
 * and values come in every answer, and finding one here is several times
 * cheaper than lua_pushlstring's interning (which hashes every byte).  Only
 * short strings (Lua interns them anyway); one table per Lua state
 * (cache_strings_key) holds the strings, this array their bytes. */
#define CACHE_SLOTS 512              /* a power of two */
#define CACHE_LONGEST 40             /* LUAI_MAXSHORTLEN */
typedef struct cached {
    unsigned char len;               /* 0: empty slot */
    char text[CACHE_LONGEST];
} cached;

/* Values (array) or members (object) a level keeps on the Lua stack before
 * it makes its table: tables of up to this many are made at their final
 * size; 200 levels of them stay within Lua 5.1's 8,000 C stack slots. */
#define PENDING 16

typedef struct decoder {
    const char *start, *p, *end;
    const char *why;           /* the first error, or NULL */
    const char *at;            /* where it was found */
    lua_State *L;              /* NULL: validate (and extract fields) only */
    int array_mt, nulls, scratch, strings;   /* stack slots */
    cached *cache;
    char *buf;                 /* unescaped strings (the scratch userdata) */
    int depth;
    vbr_json_field *fields;    /* wanted members of the top-level object */
    size_t nfields;
} decoder;

static int value(decoder *d);

/* Fails at d->p (callers move it to what is wrong first). */
static int fail(decoder *d, const char *why)
{
    if (d->why == NULL) {
        d->why = why;
        d->at = d->p;
    }
    return 0;
}

static void skip_space(decoder *d)
{
    while (d->p < d->end &&
           (*d->p == ' ' || *d->p == '\n' || *d->p == '\r' || *d->p == '\t'))
        d->p++;
}

/* --------------------------------------------------------------- strings */

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

static size_t utf8(unsigned code, char *out)
{
    if (code < 0x80) {
        out[0] = (char)code;
        return 1;
    }
    if (code < 0x800) {
        out[0] = (char)(0xC0 | (code >> 6));
        out[1] = (char)(0x80 | (code & 0x3F));
        return 2;
    }
    if (code < 0x10000) {
        out[0] = (char)(0xE0 | (code >> 12));
        out[1] = (char)(0x80 | ((code >> 6) & 0x3F));
        out[2] = (char)(0x80 | (code & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (code >> 18));
    out[1] = (char)(0x80 | ((code >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((code >> 6) & 0x3F));
    out[3] = (char)(0x80 | (code & 0x3F));
    return 4;
}

/* The bytes that end a run of plain string text: the quote, the backslash
 * and the control characters. */
#define C4(c) c, c, c, c
#define C16(c) C4(c), C4(c), C4(c), C4(c)
static const unsigned char string_stop[256] = {
    C16(1), C16(1),                              /* 0x00-0x1f */
    0, 0, 1, C4(0), C4(0), C4(0), 0,             /* 0x20-0x2f: '"' */
    C16(0), C16(0),                              /* 0x30-0x4f */
    C4(0), C4(0), C4(0), 1, 0, 0, 0,             /* 0x50-0x5f: '\\' */
};

static const char *plain_run(const char *p, const char *end)
{
    while (p < end && !string_stop[(unsigned char)*p])
        p++;
    return p;
}
/* The string at d->p (its opening quote): validated, d->p moved past it;
 * *len is its length unescaped, and its bytes go to out unless out is NULL
 * (room needed: at most the length of the rest of the text). */
static int scan_string(decoder *d, char *out, size_t *len)
{
    const char *open = d->p, *p = d->p + 1, *end = d->end;
    size_t n = 0;
    for (;;) {
        const char *run = p;
        char bytes[4];
        size_t k = 1;
        unsigned code, low;
        p = plain_run(p, end);
        if (out != NULL)
            memcpy(out + n, run, (size_t)(p - run));
        n += (size_t)(p - run);
        if (p >= end) {
            d->p = open;
            return fail(d, "unterminated string");
        }
        if (*p == '"')
            break;
        if (*p != '\\') {
            d->p = p;
            return fail(d, "control character in a string");
        }
        if (end - p < 2) {
            d->p = open;
            return fail(d, "unterminated string");
        }
        switch (p[1]) {
        case '"': bytes[0] = '"'; break;
        case '\\': bytes[0] = '\\'; break;
        case '/': bytes[0] = '/'; break;
        case 'b': bytes[0] = '\b'; break;
        case 'f': bytes[0] = '\f'; break;
        case 'n': bytes[0] = '\n'; break;
        case 'r': bytes[0] = '\r'; break;
        case 't': bytes[0] = '\t'; break;
        case 'u':
            if (end - p < 6 || !hex4(p + 2, &code)) {
                d->p = p;
                return fail(d, "invalid \\u escape");
            }
            if (code >= 0xDC00 && code <= 0xDFFF) {
                d->p = p;
                return fail(d, "lone low surrogate");
            }
            if (code >= 0xD800 && code <= 0xDBFF) {
                if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
                    !hex4(p + 8, &low) || low < 0xDC00 || low > 0xDFFF) {
                    d->p = p;
                    return fail(d, "high surrogate without a low one");
                }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                p += 6;
            }
            k = utf8(code, bytes);
            p += 4;
            break;
        default:
            d->p = p;
            return fail(d, "invalid escape");
        }
        if (out != NULL)
            memcpy(out + n, bytes, k);
        n += k;
        p += 2;
    }
    d->p = p + 1;
    *len = n;
    return 1;
}

/* memcmp(a, b, n) == 0 for the cache's 1 to CACHE_LONGEST bytes, inline:
 * words loaded within [0, n) of each (the last one overlapping), where a
 * memcmp call cost more than the compare for strings of a few bytes. */
static int same_text(const char *a, const char *b, size_t n)
{
    uint64_t x, y;
    uint32_t p, q, r, s;
    size_t i;
    if (n >= 8) {
        for (i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return 0;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        memcpy(&p, a, 4);
        memcpy(&q, b, 4);
        memcpy(&r, a + n - 4, 4);
        memcpy(&s, b + n - 4, 4);
        return p == q && r == s;
    }
    for (i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* Pushes text[0..n), through the cache when it is short. */
static void push_text(decoder *d, const char *text, size_t n)
{
    unsigned slot;
    cached *c;
    if (n == 0 || n > CACHE_LONGEST) {
        lua_pushlstring(d->L, text, n);
        return;
    }
    slot = (unsigned)n * 0x9E3779B1u ^ (unsigned char)text[0] ^
           (unsigned)(unsigned char)text[n - 1] << 8 ^
           (unsigned)(unsigned char)text[n / 2] << 16 ^
           (unsigned)(unsigned char)text[n / 3] << 24;
    slot = (slot ^ slot >> 15 ^ slot >> 23) & (CACHE_SLOTS - 1);
    c = &d->cache[slot];
    if (c->len == n && same_text(c->text, text, n)) {
        lua_rawgeti(d->L, d->strings, (int)slot + 1);
        return;
    }
    lua_pushlstring(d->L, text, n);
    lua_pushvalue(d->L, -1);
    lua_rawseti(d->L, d->strings, (int)slot + 1);
    c->len = (unsigned char)n;
    memcpy(c->text, text, n);
}

/* A string at d->p: pushed (or only validated). */
static int string(decoder *d)
{
    const char *start = d->p + 1, *p = plain_run(start, d->end);
    size_t n;
    if (p < d->end && *p == '"') {          /* the usual case: no escapes */
        if (d->L != NULL)
            push_text(d, start, (size_t)(p - start));
        d->p = p + 1;
        return 1;
    }
    if (d->L == NULL)
        return scan_string(d, NULL, &n);
    if (d->buf == NULL) {       /* unescaped text is never longer */
        d->buf = lua_newuserdata(d->L, (size_t)(d->end - d->p));
        lua_replace(d->L, d->scratch);
    }
    if (!scan_string(d, d->buf, &n))
        return 0;
    lua_pushlstring(d->L, d->buf, n);
    return 1;
}

/* --------------------------------------------------------------- numbers */

typedef struct number {
    int integer;               /* an integer literal that fits 64 bits */
    long long i;
    double d;
} number;

static int is_digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

static const char *digits(const char *p, const char *end)
{
    while (is_digit(p, end))
        p++;
    return p;
}

/* strtod of text[0..n), whatever the locale's decimal point (as cjson). */
static int to_double(decoder *d, const char *text, size_t n, double *out)
{
    char small[64], *stop, *dot;
    char *copy = n < sizeof small ? small : malloc(n + 1);
    char point = localeconv()->decimal_point[0];
    int ok;
    if (copy == NULL) {
        d->p = text;
        return fail(d, "out of memory");
    }
    memcpy(copy, text, n);
    copy[n] = '\0';
    if (point != '.' && (dot = memchr(copy, '.', n)) != NULL)
        *dot = point;
    *out = strtod(copy, &stop);
    ok = stop == copy + n;
    if (copy != small)
        free(copy);
    if (ok)
        return 1;
    d->p = text;
    return fail(d, "number unreadable in this locale");
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at d->p, not followed by
 * what would make it another token ("01", "1.5.2" and "0x10" are refused
 * whole, at their first character). */
static int scan_number(decoder *d, number *out)
{
    const char *start = d->p, *p = d->p, *end = d->end, *first;
    int negative = 0, whole = 1;
    if (*p == '-') {
        negative = 1;
        p++;
    }
    first = p;
    if (p < end && *p == '0')
        p++;
    else if (is_digit(p, end))
        p = digits(p, end);
    else
        return fail(d, "invalid number");   /* d->p is at its start still */
    if (p < end && *p == '.') {
        whole = 0;
        if (!is_digit(++p, end))
            return fail(d, "invalid number");
        p = digits(p, end);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        whole = 0;
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(p, end))
            return fail(d, "invalid number");
        p = digits(p, end);
    }
    if (p < end && (*p == '.' || *p == '+' || *p == '-' ||
                    (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' &&
                                                 (*p | 0x20) <= 'z')))
        return fail(d, "invalid number");
    d->p = p;
    if (whole) {
        unsigned long long v = 0, limit = negative ? 9223372036854775808ULL
                                                   : 9223372036854775807ULL;
        const char *q;
        for (q = first; q < p; q++) {
            unsigned digit = (unsigned)(*q - '0');
            if (v > (limit - digit) / 10)
                break;
            v = v * 10 + digit;
        }
        if (q == p) {
            out->integer = 1;
            out->i = !negative ? (long long)v
                     : v == 0 ? 0 : -(long long)(v - 1) - 1;
            out->d = (double)out->i;
            return 1;
        }
    }
    out->integer = 0;
    return to_double(d, start, (size_t)(p - start), &out->d);
}

static void push_number(lua_State *L, const number *n)
{
#if LUA_VERSION_NUM >= 503
    if (n->integer)
        lua_pushinteger(L, (lua_Integer)n->i);
    else if (n->d >= -9223372036854775808.0 && n->d < 9223372036854775808.0 &&
             (double)(lua_Integer)n->d == n->d)
        lua_pushinteger(L, (lua_Integer)n->d);  /* math.tointeger's rule */
    else
        lua_pushnumber(L, (lua_Number)n->d);
#else
    lua_pushnumber(L, (lua_Number)n->d);
#endif
}

/* ------------------------------------------------------- arrays, objects */

/* At an opening bracket: 1 when items follow, 0 when the closing one does
 * (moved past it), -1 on failure. */
static int enter(decoder *d, char close)
{
    if (++d->depth > VBR_JSON_MAX_DEPTH)
        return fail(d, "nested deeper than 200") - 1;
    /* a level's pending values and a nested value's first pushes */
    if (d->L != NULL && !lua_checkstack(d->L, 2 * PENDING + 8))
        return fail(d, "out of Lua stack") - 1;
    d->p++;
    skip_space(d);
    if (d->p < d->end && *d->p == close) {
        d->p++;
        return 0;
    }
    return 1;
}

/* After an element or member: 1 at ',' (and moves past it), 0 at the
 * closing bracket (likewise), -1 otherwise. */
static int next_item(decoder *d, char close, const char *expected)
{
    skip_space(d);
    if (d->p < d->end && *d->p == ',') {
        d->p++;
        skip_space(d);
        return 1;
    }
    if (d->p < d->end && *d->p == close) {
        d->p++;
        return 0;
    }
    return fail(d, expected) - 1;
}

static void mark_array(decoder *d, int t)
{
    lua_pushvalue(d->L, d->array_mt);
    lua_setmetatable(d->L, t);
}

/* The values above base become the array, left at base. */
static int array(decoder *d)
{
    lua_State *L = d->L;
    int base = L != NULL ? lua_gettop(L) + 1 : 0, n = 0, t = 0, more, i;
    if ((more = enter(d, ']')) < 0)
        return 0;
    while (more) {
        if (!value(d))
            return 0;
        n++;
        if (t != 0) {
            lua_rawseti(L, t, n);
        } else if (L != NULL && n > PENDING) {  /* a long one: made now */
            lua_createtable(L, 2 * n, 0);
            lua_insert(L, base);
            t = base;
            for (i = n; i >= 1; i--)
                lua_rawseti(L, t, i);
        }
        if ((more = next_item(d, ']', "expected ',' or ']'")) < 0)
            return 0;
    }
    if (L != NULL && t == 0) {
        lua_createtable(L, n, 0);
        lua_insert(L, base);
        t = base;
        for (i = n; i >= 1; i--)
            lua_rawseti(L, t, i);
    }
    if (L != NULL)
        mark_array(d, t);
    d->depth--;
    return 1;
}

/* nulls[t], made when absent: left on top. */
static void push_null_keys(decoder *d, int t)
{
    lua_State *L = d->L;
    lua_pushvalue(L, t);
    lua_rawget(L, d->nulls);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, t);
        lua_pushvalue(L, -2);
        lua_rawset(L, d->nulls);
    }
}

/* t[key] = value for the key and value on top (both popped).  A null is
 * left out and remembered; a later duplicate of its key forgets it. */
static void set_member(decoder *d, int t, int *nulls_seen)
{
    lua_State *L = d->L;
    if (lua_type(L, -1) == LUA_TLIGHTUSERDATA) {     /* null */
        lua_pop(L, 1);
        push_null_keys(d, t);
        lua_pushvalue(L, -2);
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);                           /* keys[key] = true */
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawset(L, t);                            /* t[key] = nil */
        *nulls_seen = 1;
        return;
    }
    if (*nulls_seen) {
        push_null_keys(d, t);
        lua_pushvalue(L, -3);
        lua_pushnil(L);
        lua_rawset(L, -3);                           /* keys[key] = nil */
        lua_pop(L, 1);
    }
    lua_rawset(L, t);
}

/* The pairs above t go into t, in order. */
static void set_pending(decoder *d, int t, int *nulls_seen)
{
    int i, pairs = (lua_gettop(d->L) - t) / 2;
    for (i = 0; i < pairs; i++) {
        lua_pushvalue(d->L, t + 1 + 2 * i);
        lua_pushvalue(d->L, t + 2 + 2 * i);
        set_member(d, t, nulls_seen);
    }
    lua_settop(d->L, t);
}

/* The wanted field named by the key at d->p (its quote), or NULL; the key
 * is scanned either way. */
static vbr_json_field *wanted(decoder *d)
{
    char key[64];
    const char *quote = d->p;
    size_t n, i;
    if (!scan_string(d, NULL, &n))
        return NULL;
    if (n >= sizeof key)
        return NULL;
    d->p = quote;
    scan_string(d, key, &n);
    for (i = 0; i < d->nfields; i++)
        if (strlen(d->fields[i].name) == n &&
            memcmp(d->fields[i].name, key, n) == 0)
            return &d->fields[i];
    return NULL;
}

/* The value of a wanted member at d->p: taken when of the wanted type (a
 * string holding NUL counts as absent), else skipped; the last duplicate
 * decides. */
static int take(decoder *d, vbr_json_field *f)
{
    const char *at = d->p;
    size_t n;
    number num;
    vbr_secret_free(f->str);
    f->str = NULL;
    f->present = 0;
    if (!f->want_number && *at == '"') {
        if (!scan_string(d, NULL, &n))
            return 0;
        if ((f->str = malloc(n + 1)) == NULL) {
            d->p = at;
            return fail(d, "out of memory");
        }
        d->p = at;
        scan_string(d, f->str, &n);
        f->str[n] = '\0';
        if (memchr(f->str, '\0', n) != NULL) {
            vbr_secret_free(f->str);
            f->str = NULL;
        }
        f->present = f->str != NULL;
        return 1;
    }
    if (f->want_number && (*at == '-' || (*at >= '0' && *at <= '9'))) {
        if (!scan_number(d, &num))
            return 0;
        f->num = num.d;
        f->present = 1;
        return 1;
    }
    return value(d);
}

/* The members above base become the object, left at base. */
static int object(decoder *d)
{
    lua_State *L = d->L;
    int base = L != NULL ? lua_gettop(L) + 1 : 0, n = 0, t = 0, more;
    int nulls_seen = 0, extract = d->fields != NULL && d->depth == 0;
    if ((more = enter(d, '}')) < 0)
        return 0;
    while (more) {
        vbr_json_field *f = NULL;
        if (d->p >= d->end || *d->p != '"')
            return fail(d, "expected a string key");
        if (extract ? (f = wanted(d), d->why != NULL) : !string(d))
            return 0;
        skip_space(d);
        if (d->p >= d->end || *d->p != ':')
            return fail(d, "expected ':'");
        d->p++;
        skip_space(d);
        if (d->p >= d->end)
            return fail(d, "expected a value");
        if (!(f != NULL ? take(d, f) : value(d)))
            return 0;
        n++;
        if (t != 0) {
            set_member(d, t, &nulls_seen);
        } else if (L != NULL && n > PENDING) {  /* a big one: made now */
            lua_createtable(L, 0, 2 * n);
            lua_insert(L, base);
            t = base;
            set_pending(d, t, &nulls_seen);
        }
        if ((more = next_item(d, '}', "expected ',' or '}'")) < 0)
            return 0;
    }
    if (L != NULL && t == 0) {
        lua_createtable(L, 0, n);
        lua_insert(L, base);
        set_pending(d, base, &nulls_seen);
    }
    d->depth--;
    return 1;
}

/* true, false or null at d->p: pushed (or only validated). */
static int literal(decoder *d, const char *word, size_t n)
{
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0)
        return fail(d, "expected a value");
    d->p += n;
    if (d->L != NULL && word[0] == 'n')
        lua_pushlightuserdata(d->L, NULL);
    else if (d->L != NULL)
        lua_pushboolean(d->L, word[0] == 't');
    return 1;
}

/* A value at d->p: pushed (or only validated). */
static int value(decoder *d)
{
    number num;
    if (d->p >= d->end)
        return fail(d, "expected a value");
    switch (*d->p) {
    case '{': return object(d);
    case '[': return array(d);
    case '"': return string(d);
    case 't': return literal(d, "true", 4);
    case 'f': return literal(d, "false", 5);
    case 'n': return literal(d, "null", 4);
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        if (!scan_number(d, &num))
            return 0;
        if (d->L != NULL)
            push_number(d->L, &num);
        return 1;
    default:
        return fail(d, "expected a value");
    }
}

/* The whole text is one value (with blanks around it). */
static int document(decoder *d, const char *text, size_t len)
{
    d->start = d->p = text;
    d->end = text + len;
    d->why = d->at = NULL;
    d->buf = NULL;
    d->depth = 0;
    skip_space(d);
    if (!value(d))
        return 0;
    skip_space(d);
    return d->p == d->end ? 1 : fail(d, "text after the value");
}

/* ------------------------------------------------------------------- Lua */

static void push_registry(lua_State *L, void *key)
{
    lua_pushlightuserdata(L, key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

int vbr_json_push(lua_State *L, const char *text, size_t len, char *why,
                  size_t whylen)
{
    decoder d;
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 5 + 2 * PENDING + 8)) {
        snprintf(why, whylen, "out of Lua stack");
        return 0;
    }
    push_registry(L, &array_mt_key);
    push_registry(L, &nulls_key);
    push_registry(L, &cache_strings_key);
    push_registry(L, &cache_key);
    d.cache = lua_touserdata(L, -1);
    lua_pushnil(L);                          /* the scratch slot */
    d.L = L;
    d.array_mt = top + 1;
    d.nulls = top + 2;
    d.strings = top + 3;
    d.scratch = top + 5;
    d.fields = NULL;
    d.nfields = 0;
    if (document(&d, text, len)) {
        lua_replace(L, top + 1);
        lua_settop(L, top + 1);
        return 1;
    }
    snprintf(why, whylen, "%s at character %lu", d.why,
             (unsigned long)(d.at - d.start) + 1);
    lua_settop(L, top);
    return 0;
}

/* core.json_decode(text) -> value | nil, message */
static int core_json_decode(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    char why[128];
    if (vbr_json_push(L, text, len, why, sizeof why))
        return 1;
    lua_pushnil(L);
    lua_pushstring(L, why);
    return 2;
}

/* registry[key], made by make when absent; left on top. */
static void registry_table(lua_State *L, void *key, const char *name,
                           const char *value)
{
    push_registry(L, key);
    if (!lua_isnil(L, -1))
        return;
    lua_pop(L, 1);
    lua_newtable(L);
    if (name != NULL) {
        lua_pushstring(L, value);
        lua_setfield(L, -2, name);
    }
    lua_pushlightuserdata(L, key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void vbr_json_open(lua_State *L)
{
    registry_table(L, &array_mt_key, "__name", "vbr.json.array");
    lua_setfield(L, -2, "json_array_mt");
    /* weak keys: what is remembered of an object goes with it */
    registry_table(L, &nulls_key, NULL, NULL);
    if (lua_getmetatable(L, -1) == 0) {
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
    } else {
        lua_pop(L, 1);
    }
    lua_setfield(L, -2, "json_nulls");
    registry_table(L, &cache_strings_key, NULL, NULL);
    lua_pop(L, 1);
    push_registry(L, &cache_key);
    if (lua_isnil(L, -1)) {
        lua_pushlightuserdata(L, &cache_key);
        memset(lua_newuserdata(L, CACHE_SLOTS * sizeof(cached)), 0,
               CACHE_SLOTS * sizeof(cached));
        lua_rawset(L, LUA_REGISTRYINDEX);
    }
    lua_pop(L, 1);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "json_null");
    lua_pushcfunction(L, core_json_decode);
    lua_setfield(L, -2, "json_decode");
}

/* ---------------------------------------------------------------- fields */

int vbr_json_fields(void *ud, const char *text, size_t len,
                    vbr_json_field *fields, size_t nfields)
{
    decoder d;
    size_t i;
    (void)ud;
    memset(&d, 0, sizeof d);
    d.fields = fields;
    d.nfields = nfields;
    d.start = d.p = text;
    d.end = text + len;
    skip_space(&d);
    if (d.p < d.end && *d.p == '{' && document(&d, text, len))
        return 0;
    for (i = 0; i < nfields; i++) {    /* nothing of a wrong document */
        vbr_secret_free(fields[i].str);
        fields[i].str = NULL;
        fields[i].present = 0;
    }
    return -1;
}
