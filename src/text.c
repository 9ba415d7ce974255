/*
 * text.c - scrubbing secrets out of text and escaping what a terminal would
 * act on (see text.h for the promise).
 *
 * Scrubbing matches the secret byte by byte, each byte in any of its
 * encodings, so that a secret echoed half percent-encoded and half raw (as
 * an encoder that escapes only some characters writes it) is found as well
 * as one in a single form.  The match is a breadth-first walk over (secret
 * bytes matched, text position) pairs, so an ambiguous text ("%25" is '%'
 * and "25", or an escaped '%') costs a few more pairs, never backtracking.
 *
 * A walk that fails costs the bytes it matched, so a text of near misses
 * (the secret's first n - 1 bytes, over and over, from a server that chose
 * its token) would cost text x secret.  Short misses cost at most
 * LONG_MISS bytes each; after LONG_MISSES long ones the rest of the text is
 * taken as the secret.  Nothing is ever shown that a full walk would have
 * scrubbed, and the cost stays linear in the text.
 */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ helpers */

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly `digits` hex digits at t[p..]: 1 and *value, or 0. */
static int hex_at(const char *t, size_t len, size_t p, int digits,
                  unsigned long *value)
{
    unsigned long v = 0;
    int i;
    if (p > len || len - p < (size_t)digits)
        return 0;
    for (i = 0; i < digits; i++) {
        int h = hex_value((unsigned char)t[p + (size_t)i]);
        if (h < 0)
            return 0;
        v = v * 16 + (unsigned long)h;
    }
    *value = v;
    return 1;
}

/* The length (1-4) of the valid UTF-8 sequence at s[0..n) and its code
 * point, or 0 (overlong forms, surrogates and values above U+10FFFF are not
 * valid). */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned long *cp)
{
    unsigned long v;
    size_t len, i;
    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        v = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        v = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        v = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
        (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
        return 0;
    *cp = v;
    return len;
}

/* ------------------------------------------------------------ matching */

#define RING 5          /* one encoding covers at most 4 secret bytes */
#define BUCKET 64       /* text positions kept per count of bytes matched */
#define LONGEST 12      /* text bytes one secret byte may take (&#x0000000A;) */
#define LONG_MISS 16    /* secret bytes a failed walk matched to count as long */
#define LONG_MISSES 32  /* long misses a pass allows before it takes the rest */

typedef struct matcher {
    const unsigned char *secret;
    size_t n;
    const char *text;
    size_t len;
    size_t k;           /* secret bytes matched by the reading expanded now */
    size_t reached;     /* secret bytes the last walk matched at most */
    size_t pos[RING][BUCKET];
    int count[RING];
    int overflow;       /* a reading was dropped: the walk is not exhaustive */
} matcher;

/* The reading expanded now goes on to text position `at`, `used` more
 * secret bytes matched. */
static void reach(matcher *m, int used, const char *at)
{
    size_t k = m->k + (size_t)used, q = (size_t)(at - m->text);
    int r = (int)(k % RING), i;
    if (k > m->n)
        return;
    for (i = 0; i < m->count[r]; i++)
        if (m->pos[r][i] == q)
            return;
    if (m->count[r] < BUCKET)
        m->pos[r][m->count[r]++] = q;
    else
        m->overflow = 1;
}

/* How many secret bytes from m->k on spell code point cp (0: none): one
 * byte for ASCII, else the UTF-8 sequence of cp. */
static int spells(const matcher *m, unsigned long cp)
{
    unsigned long found;
    size_t len;
    if (cp < 0x80)
        return m->secret[m->k] == cp ? 1 : 0;
    len = utf8_decode(m->secret + m->k, m->n - m->k, &found);
    return len > 1 && found == cp ? (int)len : 0;
}

/* A code point as \uXXXX or %uXXXX at text p (a surrogate pair above
 * U+FFFF, each half with the same two-byte prefix). */
static void expand_u_escape(matcher *m, size_t p)
{
    unsigned long v, low;
    size_t end = p + 6;
    int got;
    if (!hex_at(m->text, m->len, p + 2, 4, &v))
        return;
    if (v >= 0xd800 && v <= 0xdbff) {
        const char *t = m->text;
        if (end + 2 > m->len || t[end] != t[p] || t[end + 1] != t[p + 1] ||
            !hex_at(t, m->len, end + 2, 4, &low) || low < 0xdc00 || low > 0xdfff)
            return;
        v = 0x10000 + ((v - 0xd800) << 10) + (low - 0xdc00);
        end += 6;
    }
    if ((got = spells(m, v)) > 0)
        reach(m, got, m->text + end);
}

/* &#NN; or &#xHH; at text p. */
static void expand_numeric_entity(matcher *m, size_t p)
{
    const char *t = m->text;
    size_t q = p + 2, start;
    unsigned long v = 0;
    int hex = q < m->len && (t[q] == 'x' || t[q] == 'X');
    int got;
    if (hex)
        q++;
    start = q;
    while (q < m->len && q - start < 8) {
        int d = hex ? hex_value((unsigned char)t[q])
                    : (t[q] >= '0' && t[q] <= '9' ? t[q] - '0' : -1);
        if (d < 0)
            break;
        v = v * (hex ? 16 : 10) + (unsigned long)d;
        q++;
    }
    if (q == start || q >= m->len || t[q] != ';')
        return;
    if ((got = spells(m, v)) > 0)
        reach(m, got, m->text + q + 1);
}

static const struct { const char *name; char c; } entities[] = {
    {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'},
    {"&apos;", '\''},
};

/* A backslash escape's character (\n is LF ...), or -1. */
static int short_escape(char c)
{
    switch (c) {
    case '/': case '"': case '\\': case '\'': return c;
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return -1;
    }
}

/* Every encoding of the secret bytes from m->k on that starts at text p. */
static void expand(matcher *m, size_t p)
{
    const char *t = m->text;
    unsigned char b = m->secret[m->k];
    unsigned long v;
    size_t i;
    if (p >= m->len)
        return;
    if ((unsigned char)t[p] == b || (t[p] == '+' && b == ' '))
        reach(m, 1, t + p + 1);
    switch (t[p]) {
    case '%':
        if (hex_at(t, m->len, p + 1, 2, &v) && v == b)
            reach(m, 1, t + p + 3);
        if (p + 3 <= m->len && t[p + 1] == '2' && t[p + 2] == '5' &&
            hex_at(t, m->len, p + 3, 2, &v) && v == b)
            reach(m, 1, t + p + 5);
        if (p + 1 < m->len && (t[p + 1] == 'u' || t[p + 1] == 'U'))
            expand_u_escape(m, p);
        break;
    case '=':
        if (hex_at(t, m->len, p + 1, 2, &v) && v == b)
            reach(m, 1, t + p + 3);
        break;
    case '\\':
        if (p + 1 >= m->len)
            break;
        if (t[p + 1] == 'u')
            expand_u_escape(m, p);
        else if (t[p + 1] == 'x' && hex_at(t, m->len, p + 2, 2, &v) && v == b)
            reach(m, 1, t + p + 4);
        else if (short_escape(t[p + 1]) == b)
            reach(m, 1, t + p + 2);
        break;
    case '&':
        for (i = 0; i < sizeof entities / sizeof entities[0]; i++) {
            size_t n = strlen(entities[i].name);
            if (entities[i].c == (char)b && m->len - p >= n &&
                strncasecmp(t + p, entities[i].name, n) == 0)
                reach(m, 1, t + p + n);
        }
        if (p + 1 < m->len && t[p + 1] == '#')
            expand_numeric_entity(m, p);
        break;
    default:
        break;
    }
}

/* The end of the longest encoding of the whole secret starting at text s,
 * or 0 (an encoding is never empty, so 0 cannot be an end).  A text so
 * ambiguous that more than BUCKET readings coexist is not searched to the
 * end: everything the secret could span from s is taken instead. */
static size_t match_at(matcher *m, size_t s)
{
    size_t k, best = 0;
    int r, i, alive;
    memset(m->count, 0, sizeof m->count);
    m->overflow = 0;
    m->k = 0;
    reach(m, 0, m->text + s);
    for (k = 0; k < m->n; k++) {
        r = (int)(k % RING);
        m->k = k;
        for (i = 0; i < m->count[r]; i++)
            expand(m, m->pos[r][i]);
        m->count[r] = 0;
        for (alive = 0, i = 0; i < RING; i++)
            alive += m->count[i];
        if (!alive)
            break;
    }
    m->reached = k;
    if (m->overflow)
        return m->len - s < LONGEST * m->n ? m->len : s + LONGEST * m->n;
    if (k < m->n)
        return 0;
    r = (int)(m->n % RING);
    for (i = 0; i < m->count[r]; i++)
        if (m->pos[r][i] > best)
            best = m->pos[r][i];
    return best;
}

/* Can an encoding of a secret starting with byte b start with text byte c? */
static int may_start(char c, unsigned char b)
{
    return (unsigned char)c == b || c == '%' || c == '+' || c == '=' ||
           c == '\\' || c == '&';
}

/* One pass of the matcher for one form of the secret.  The text is read at
 * s and written at w <= s: each match is replaced as the pass goes, so many
 * matches cost one pass, not a move of the rest each. */
static size_t scrub_form(char *text, size_t *len, const unsigned char *form,
                         size_t n)
{
    /* on the stack: it holds text positions, never secret bytes (nothing
     * to wipe, no allocation per form) */
    matcher mm, *m = &mm;
    size_t s = 0, w = 0, found = 0, long_misses = 0;
    if (n < VBR_MIN_SECRET || n > *len)   /* no encoding is shorter */
        return 0;
    memset(m, 0, sizeof *m);
    m->secret = form;
    m->n = n;
    m->text = text;
    m->len = *len;
    while (s < m->len) {
        size_t end = 0;
        if (may_start(text[s], form[0])) {
            end = match_at(m, s);
            if (end == 0 && m->reached >= LONG_MISS &&
                ++long_misses > LONG_MISSES)
                end = m->len;
        }
        if (end == 0) {
            text[w++] = text[s++];
            continue;
        }
        /* w <= s and end >= s + 4 (a secret byte takes a text byte at
         * least, a long miss 16): the marker overwrites matched text only */
        text[w] = text[w + 1] = text[w + 2] = '*';   /* VBR_SCRUBBED */
        w += 3;
        s = end;
        found++;
    }
    *len = w;
    return found;
}

/* ------------------------------------------------------ derived forms */

static const char B64_STANDARD[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64_URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Byte i of `offset` zero bytes followed by s[0..n). */
static unsigned byte_at(const unsigned char *s, size_t n, size_t offset,
                        size_t i)
{
    return i < offset || i - offset >= n ? 0u : s[i - offset];
}

/* The base64 characters of (offset zero bytes + s) that depend on s alone:
 * what the secret looks like wherever it sits inside longer base64 text at
 * that alignment.  Writes them to out (room for 4 * n / 3 + 4); returns
 * their number. */
static size_t base64_core(const unsigned char *s, size_t n, size_t offset,
                          const char *alphabet, char *out)
{
    size_t first = (8 * offset + 5) / 6, last = 8 * (offset + n) / 6, j;
    size_t count = 0;
    for (j = first; j < last; j++) {
        size_t bit = 6 * j, i = bit / 8, shift = bit % 8;
        unsigned pair = byte_at(s, n, offset, i) << 8 |
                        byte_at(s, n, offset, i + 1);
        out[count++] = alphabet[(pair >> (10 - shift)) & 0x3f];
    }
    return count;
}

/* Standard base64 with padding. */
static size_t base64_full(const unsigned char *s, size_t n, char *out)
{
    size_t i, count = 0;
    for (i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 |
                     (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0u) |
                     (i + 2 < n ? (unsigned)s[i + 2] : 0u);
        out[count++] = B64_STANDARD[(v >> 18) & 0x3f];
        out[count++] = B64_STANDARD[(v >> 12) & 0x3f];
        out[count++] = (char)(i + 1 < n ? B64_STANDARD[(v >> 6) & 0x3f] : '=');
        out[count++] = (char)(i + 2 < n ? B64_STANDARD[v & 0x3f] : '=');
    }
    return count;
}

static size_t hex_form(const unsigned char *s, size_t n, const char *digits,
                       char *out)
{
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[s[i] >> 4];
        out[2 * i + 1] = digits[s[i] & 0x0f];
    }
    return 2 * n;
}

/* The base64 forms of the secret as vbr sends it in a form (percent-
 * encoded, libcurl's way): a proxy that echoes the request body in base64. */
static size_t scrub_sent_form(char *text, size_t *len, const char *secret,
                              size_t n)
{
    vbr_buf sent = {NULL, 0, 0};
    size_t found = 0, offset, f;
    char *form;
    if (vbr_buf_add_escaped(&sent, secret, n) || sent.len == n) {
        vbr_buf_free(&sent);                /* nothing escaped: done above */
        return 0;
    }
    form = malloc(2 * sent.len + 8);
    if (form != NULL) {
        for (offset = 0; offset < 3; offset++) {
            f = base64_core((const unsigned char *)sent.data, sent.len, offset,
                            B64_STANDARD, form);
            found += scrub_form(text, len, (unsigned char *)form, f);
        }
        vbr_wipe(form, 2 * sent.len + 8);
        free(form);
    }
    vbr_buf_free(&sent);
    return found;
}

size_t vbr_scrub(char *text, size_t *len, const char *secret,
                 size_t secret_len)
{
    const unsigned char *s = (const unsigned char *)secret;
    size_t n = secret_len, found, room, offset, f;
    char *form;
    const char *alphabets[2];
    alphabets[0] = B64_STANDARD;
    alphabets[1] = B64_URL;
    if (text == NULL || secret == NULL || n < VBR_MIN_SECRET || n > *len) {
        if (text != NULL)
            text[*len] = '\0';
        return 0;
    }
    found = scrub_form(text, len, s, n);
    found += scrub_sent_form(text, len, secret, n);
    room = 2 * n + 8;                   /* hex is the longest form */
    form = malloc(room);
    if (form != NULL) {
        f = base64_full(s, n, form);
        found += scrub_form(text, len, (unsigned char *)form, f);
        for (offset = 0; offset < 3; offset++) {
            int a;
            for (a = 0; a < 2; a++) {
                f = base64_core(s, n, offset, alphabets[a], form);
                found += scrub_form(text, len, (unsigned char *)form, f);
            }
        }
        f = hex_form(s, n, "0123456789abcdef", form);
        found += scrub_form(text, len, (unsigned char *)form, f);
        f = hex_form(s, n, "0123456789ABCDEF", form);
        found += scrub_form(text, len, (unsigned char *)form, f);
        vbr_wipe(form, room);
        free(form);
    }
    text[*len] = '\0';
    return found;
}

size_t vbr_scrub_str(char *text, const char *secret)
{
    size_t len;
    if (text == NULL || secret == NULL)
        return 0;
    len = strlen(text);
    return vbr_scrub(text, &len, secret, strlen(secret));
}

/* ------------------------------------------------------------ escaping */

/* Code points a terminal or a reader does not show as themselves: C1
 * controls, invisible and bidirectional formatting, line and paragraph
 * separators, the BOM, interlinear annotations and tag characters. */
static int invisible(unsigned long cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x180e ||
           (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff ||
           (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0xe0000 && cp <= 0xe007f);
}

int vbr_escape(vbr_buf *b, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    char esc[16];
    if (vbr_buf_add(b, "", 0))          /* an empty text is still a text */
        return -1;
    while (i < len) {
        size_t run = i, n;
        unsigned long cp;
        while (run < len && u[run] >= 0x20 && u[run] < 0x7f)
            run++;
        if (run > i && vbr_buf_add(b, s + i, run - i))
            return -1;
        if ((i = run) >= len)
            break;
        if (u[i] == '\n' || u[i] == '\r' || u[i] == '\t') {
            esc[0] = '\\';
            esc[1] = (char)(u[i] == '\n' ? 'n' : u[i] == '\r' ? 'r' : 't');
            n = 2;
            i++;
        } else if (u[i] < 0x80) {       /* other C0 controls and DEL */
            n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", u[i]);
            i++;
        } else if ((n = utf8_decode(u + i, len - i, &cp)) == 0) {
            n = (size_t)snprintf(esc, sizeof esc, "\\x%02x", u[i]);
            i++;
        } else if (!invisible(cp)) {
            if (vbr_buf_add(b, s + i, n))
                return -1;
            i += n;
            continue;
        } else {
            i += n;
            if (cp > 0xffff)            /* a surrogate pair, as JSON has it */
                n = (size_t)snprintf(esc, sizeof esc, "\\u%04lx\\u%04lx",
                                     0xd800 + ((cp - 0x10000) >> 10),
                                     0xdc00 + ((cp - 0x10000) & 0x3ff));
            else
                n = (size_t)snprintf(esc, sizeof esc, "\\u%04lx", cp);
        }
        if (vbr_buf_add(b, esc, n))
            return -1;
    }
    return 0;
}
