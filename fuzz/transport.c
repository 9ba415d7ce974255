/*
 * transport.c - libFuzzer harness: the libcurl transport's callbacks on what
 * the server sends (src/transport_curl.c included, so the static header and
 * body callbacks are reached directly): header lines (Content-Type,
 * Retry-After, Location, status lines resetting them) and body chunks
 * against the response-size cap.
 *
 * Input: byte 0 = cap (in 16-byte units, 0 = 1 MiB); then records
 * "<kind:1><len:2><bytes>": kind even = a header line, odd = a body chunk.
 *
 * Invariants (abort): captured values stay NUL-terminated within their
 * buffers and hold no CR or LF; the body never exceeds the cap and
 * the cap is reported exactly when it was crossed; a status line marks the
 * response as answered (libcurl's header limit is named after it).
 */
#include "../src/transport_curl.c"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void bounded(const char *buf, size_t cap)
{
    size_t n = strnlen(buf, cap);
    if (n == cap)
        abort();
    if (strpbrk(buf, "\r\n") != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    vbr_curl t;
    size_t pos = 1, total = 0;
    int crossed = 0;
    if (size < 1)
        return 0;
    memset(&t, 0, sizeof t);
    t.max_body = data[0] ? (size_t)data[0] * 16 : 1024 * 1024;
    while (pos + 3 <= size) {
        unsigned char kind = data[pos];
        size_t n = (size_t)(data[pos + 1] << 8 | data[pos + 2]);
        char *chunk;
        pos += 3;
        if (n > size - pos)
            n = size - pos;
        /* libcurl hands over memory it owns, not NUL-terminated: copy to an
         * exact-size block so ASan sees any over-read */
        chunk = malloc(n ? n : 1);
        if (chunk == NULL)
            break;
        memcpy(chunk, data + pos, n);
        pos += n;
        if (kind & 1) {
            size_t took;
            if (t.too_large) {
                free(chunk);
                continue;
            }
            took = on_body(chunk, 1, n, &t);
            if (took == n)
                total += n;
            else if (took != 0)
                abort();
            if (total + (took == n ? 0 : n) > t.max_body)
                crossed = 1;
            if (t.body.len > t.max_body || t.body.len != total)
                abort();
        } else {
            /* libcurl hands over one line at a time, ending at its LF */
            char *lf = memchr(chunk, '\n', n);
            if (lf != NULL)
                n = (size_t)(lf - chunk) + 1;
            if (on_header(chunk, 1, n, &t) != n)
                abort();
            if (n >= 5 && memcmp(chunk, "HTTP/", 5) == 0 && !t.answered)
                abort();
            bounded(t.content_type, sizeof t.content_type);
            bounded(t.retry_after, sizeof t.retry_after);
            bounded(t.location, sizeof t.location);
        }
        free(chunk);
    }
    if (t.too_large != crossed)
        abort();
    vbr_buf_free(&t.body);
    return 0;
}
