/*
 * text.h - what the core does to text before anyone may see it: secrets
 * scrubbed in every encoding a server or a proxy may echo them in, and
 * characters a terminal would act on escaped visibly.  Plain C, no Lua, no
 * I/O (the engine, the Lua binding and fuzz/text.c use it).
 */
#ifndef VBR_TEXT_H
#define VBR_TEXT_H

#include <stddef.h>

#include "buf.h"

/* Secrets shorter than this are not scrubbed: "***" for every "abc" would
 * mangle text and hide little. */
#define VBR_MIN_SECRET 4

/* What stands for a secret in scrubbed text. */
#define VBR_SCRUBBED "***"

/* Replace every occurrence of secret[0..secret_len) in text[0..*len) with
 * "***", in place, in each of these encodings, alone or mixed byte by byte:
 *   raw; percent-encoded (%xx in either case, %25xx, %uXXXX, '+' for a
 *   space); JSON/JavaScript escapes (\uXXXX, surrogate pairs, \/ \" \\ \'
 *   \b \f \n \r \t, \xXX); HTML/XML entities (&amp; &lt; &gt; &quot;
 *   &apos; &#NN; &#xHH;); quoted-printable (=XX);
 * and as base64 (standard and URL-safe alphabets, at each of the three
 * alignments inside longer base64, so the password inside an HTTP Basic
 * header or a base64 form is found; each form again in the encodings above;
 * also the base64 of the secret percent-encoded as vbr sends it in a login
 * form) and as hexadecimal (either case).  text has room for *len + 1 bytes; *len
 * is updated (text only shrinks) and a NUL written at text[*len].  Returns
 * the number of replacements.  Secrets shorter than VBR_MIN_SECRET are left
 * alone.  The cost is linear in the text: a text with more than 32 long
 * near misses of one form (its first 16 bytes or more, then a wrong one)
 * has the rest from the next such miss on replaced as the secret. */
size_t vbr_scrub(char *text, size_t *len, const char *secret,
                 size_t secret_len);

/* vbr_scrub for NUL-terminated text and secret (NULL secret: nothing). */
size_t vbr_scrub_str(char *text, const char *secret);

/* Append s[0..len) to b as printable text: printable ASCII and valid UTF-8
 * stay; CR, LF and tab become \r \n \t; other C0 controls, DEL, C1 controls,
 * line and paragraph separators, bidirectional controls, zero-width and BOM
 * characters become \u00XX / \uXXXX; bytes that are not valid UTF-8 become
 * \xXX.  A backslash stays as it is, so escaping twice changes nothing.
 * Returns 0, or -1 when out of memory. */
int vbr_escape(vbr_buf *b, const char *s, size_t len);

#endif
