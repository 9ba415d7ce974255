/*
 * text.c - libFuzzer harness for src/text.c: the scrubbing of secrets out of
 * server text and the escaping of what a terminal would act on.
 *
 * Input: byte 0 picks the secret's length (4..35), the next bytes are the
 * secret ('*' replaced), then one choice byte per secret byte picks its
 * encoding (raw, %XX in either case, %25XX, '+', \uXXXX, %uXXXX, \xXX,
 * &#NN;, &#xHH;, =XX, a short escape, or the whole secret as base64 at an
 * alignment inside longer base64); the rest is the text around it, cut in
 * two by its first byte.
 *
 * Invariants (abort): the encoded secret is found (at least one
 * replacement); the raw secret is not in the result; scrubbing never grows
 * the text and a second scrub finds nothing; escaped text holds no C0
 * control, DEL or byte outside valid UTF-8, and escaping it again changes
 * nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define CHECK(cond, what) do { if (!(cond)) { \
    fprintf(stderr, "INVARIANT: %s\n", what); abort(); } } while (0)

static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void add(vbr_buf *b, const char *s, size_t n)
{
    if (vbr_buf_add(b, s, n))
        abort();
}

static void addf(vbr_buf *b, const char *fmt, unsigned long v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, fmt, v);
    add(b, tmp, (size_t)n);
}

/* The UTF-8 sequence at s[0..n) (1-4 bytes) and its code point, or 0. */
static size_t utf8(const unsigned char *s, size_t n, unsigned long *cp)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
               : s[0] >= 0xe0 && s[0] <= 0xef ? 3
               : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0, i;
    unsigned long v;
    if (len == 0 || len > n)
        return 0;
    v = len == 1 ? s[0] : s[0] & (0x7f >> len);
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
        (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
        return 0;
    *cp = v;
    return len;
}

static void base64(vbr_buf *b, const unsigned char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 |
                     (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0u) |
                     (i + 2 < n ? (unsigned)s[i + 2] : 0u);
        char out[4];
        out[0] = B64[(v >> 18) & 63];
        out[1] = B64[(v >> 12) & 63];
        out[2] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        out[3] = i + 2 < n ? B64[v & 63] : '=';
        add(b, out, 4);
    }
}

/* The secret encoded byte by byte as the choices say. */
static void encode(vbr_buf *b, const unsigned char *s, size_t n,
                   const unsigned char *choice)
{
    size_t k = 0;
    if (choice[0] == 0xff) {            /* base64, inside other base64 */
        unsigned char whole[64];
        size_t before = choice[1] % 3;
        memset(whole, 'x', sizeof whole);
        memcpy(whole + before, s, n);
        base64(b, whole, before + n + 2);
        return;
    }
    while (k < n) {
        unsigned char c = s[k];
        unsigned long cp;
        size_t len = utf8(s + k, n - k, &cp);
        switch (choice[k] % 12) {
        case 1: addf(b, "%%%02lX", (unsigned long)c); break;
        case 2: addf(b, "%%%02lx", (unsigned long)c); break;
        case 3: addf(b, "%%25%02lX", (unsigned long)c); break;
        case 4: if (c == ' ') add(b, "+", 1); else add(b, (char *)&c, 1); break;
        case 5: case 6:
            if (len == 0) {
                addf(b, "\\x%02lx", (unsigned long)c);
                break;
            }
            if (cp > 0xffff) {
                addf(b, "\\u%04lX", 0xd800 + ((cp - 0x10000) >> 10));
                addf(b, "\\u%04lx", 0xdc00 + ((cp - 0x10000) & 0x3ff));
            } else {
                addf(b, choice[k] % 12 == 5 ? "\\u%04lx" : "%%u%04lX", cp);
            }
            k += len;
            continue;
        case 7: addf(b, "\\x%02lX", (unsigned long)c); break;
        case 8:
            if (len == 0) { addf(b, "%%%02lX", (unsigned long)c); break; }
            addf(b, "&#%lu;", cp);
            k += len;
            continue;
        case 9:
            if (len == 0) { addf(b, "%%%02lX", (unsigned long)c); break; }
            addf(b, "&#x%lX;", cp);
            k += len;
            continue;
        case 10: addf(b, "=%02lX", (unsigned long)c); break;
        case 11:
            if (c == '/') add(b, "\\/", 2);
            else if (c == '"') add(b, "\\\"", 2);
            else if (c == '\n') add(b, "\\n", 2);
            else if (c == '&') add(b, "&amp;", 5);
            else if (c == '<') add(b, "&lt;", 4);
            else add(b, (char *)&c, 1);
            break;
        default: add(b, (char *)&c, 1); break;
        }
        k++;
    }
}

static void check_escaped(const char *s, size_t len)
{
    vbr_buf again = {NULL, 0, 0};
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        unsigned long cp;
        size_t n;
        CHECK(c >= 0x20 && c != 0x7f, "a control character after escaping");
        n = utf8((const unsigned char *)s + i, len - i, &cp);
        CHECK(n > 0, "invalid UTF-8 after escaping");
        CHECK(!(cp >= 0x80 && cp <= 0x9f) && !(cp >= 0x202a && cp <= 0x202e),
              "a C1 or bidirectional control after escaping");
        i += n;
    }
    if (vbr_escape(&again, s, len))
        abort();
    CHECK(again.len == len && memcmp(again.data, s, len) == 0,
          "escaping twice changed the text");
    vbr_buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char secret[40], choice[40];
    size_t n, i, cut, len, found;
    vbr_buf text = {NULL, 0, 0}, escaped = {NULL, 0, 0};
    const uint8_t *rest;
    if (size < 1)
        return 0;
    n = 4 + data[0] % 32;
    if (size < 1 + 2 * n + 1)
        return 0;
    for (i = 0; i < n; i++) {
        secret[i] = data[1 + i] == '*' ? 'x' : data[1 + i];
        choice[i] = data[1 + n + i];
    }
    rest = data + 1 + 2 * n;
    size -= 1 + 2 * n;
    cut = rest[0] % size;
    add(&text, (const char *)rest + 1, cut > 0 ? cut - 1 : 0);
    encode(&text, secret, n, choice);
    add(&text, (const char *)rest + cut, size - cut);

    /* escaping any text */
    if (vbr_escape(&escaped, text.data, text.len))
        abort();
    check_escaped(escaped.data, escaped.len);

    /* scrubbing */
    len = text.len;
    found = vbr_scrub(text.data, &len, (const char *)secret, n);
    CHECK(len <= text.len, "scrubbing grew the text");
    CHECK(found >= 1, "an encoded secret was not found");
    for (i = 0; i + n <= len; i++)
        CHECK(memcmp(text.data + i, secret, n) != 0, "the raw secret is left");
    CHECK(vbr_scrub(text.data, &len, (const char *)secret, n) == 0,
          "a second scrub found more");
    vbr_buf_free(&text);
    vbr_buf_free(&escaped);
    return 0;
}
