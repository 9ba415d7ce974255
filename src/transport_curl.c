/*
 * transport_curl.c - the blocking libcurl transport.
 *
 * One easy handle per client: libcurl keeps the connection (and the TLS
 * session) alive between requests.  The callbacks only copy bytes into C
 * buffers, so nothing can raise a Lua error while libcurl is on the stack.
 */
#include "transport_curl.h"
#include "buf.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/ssl.h>

/* The header lines of a request: the step's, User-Agent, and the two that
 * keep libcurl from adding its own. */
#define MAX_LINES (VBR_MAX_HEADERS + 3)

struct vbr_curl {
    CURL *easy;
    CURLSH *share;         /* its own connection cache, in a multi handle */
    /* libcurl only reads the header list: the nodes and their lines are
     * ours, made anew for each request without an allocation, and wiped
     * once it is done (the Authorization line) */
    struct curl_slist *headers;
    struct curl_slist header_nodes[MAX_LINES];
    vbr_buf header_lines;  /* "Name: value\0" each */
    size_t line_at[MAX_LINES];   /* where each line starts in header_lines */
    /* The options as the last request left them, so that a request sets
     * only those that differ (a warm GET of the same URL sets none):
     * `known` 0 after a failed prepare, when all are set again */
    int known;
    int shape;             /* SHAPE_* of the method options */
    vbr_buf url;           /* CURLOPT_URL (libcurl keeps its own copy) */
    CURLU *uh;             /* the same parsed once (CURLOPT_CURLU), or NULL */
    long timeout_ms;
    long fresh;
    struct curl_slist *headers_opt;   /* CURLOPT_HTTPHEADER */
    int prereq_on;         /* before_request installed */
    int cleanse_on;        /* a kept connection may have the cleansing set */
    char *user_agent;      /* "User-Agent: ..." line, or NULL */
    int (*stop)(void);     /* vbr_curl_options.stop */
    int (*armed)(void);    /* vbr_curl_options.armed */
    int progress_on;       /* on_progress installed (NOPROGRESS 0) */
    size_t max_body;       /* of the step in progress */
    vbr_buf body;          /* wiped before reuse: token answers land here */
    int too_large;
    int out_of_memory;     /* ours, not libcurl's */
    int answered;          /* a status line came */
    int secret;            /* the transfer's body or answer is a secret */
    size_t request_bound;  /* where the Authorization line can be in the
                            * request libcurl writes: its request line,
                            * Host and own lines, then ours */
    char content_type[256];
    char retry_after[128];
    char location[512];
    char errbuf[CURL_ERROR_SIZE];
    char message[CURL_ERROR_SIZE + 64];
};

/* libcurl's own copies of what it sends and receives are wiped when it
 * frees them, as the core's are: small blocks whole (its request with the
 * Authorization line is one); of its large transfer buffers the first
 * wipe_prefix bytes, where it copies the request it sends over TLS (the
 * Authorization line again), and all of them for a transfer that carries a
 * secret in its body (a login or refresh form, a token answer) and at
 * cleanup.  Per thread, as libcurl frees in the thread that performs;
 * whole blocks outside a call's transfer. */
#define SMALL_BLOCK 8192
static __thread size_t wipe_prefix = (size_t)-1;

static void wiping_free(void *p)
{
    if (p != NULL) {
        size_t n = malloc_usable_size(p);
        vbr_wipe(p, n <= SMALL_BLOCK || n <= wipe_prefix ? n : wipe_prefix);
        free(p);
    }
}

static void *wiping_realloc(void *p, size_t n)
{
    size_t room;
    void *fresh;
    if (p == NULL)
        return malloc(n);
    room = malloc_usable_size(p);
    if (n <= room && n > 0)
        return p;
    if (n == 0 || (fresh = malloc(n)) == NULL) {
        if (n == 0)
            wiping_free(p);
        return NULL;
    }
    memcpy(fresh, p, room);
    wiping_free(p);
    return fresh;
}

/* OpenSSL keeps the plaintext of the last record it read until another one
 * overwrites it, and frees it as it is: for a token answer it cleanses it
 * right after the read (SSL_OP_CLEANSE_PLAINTEXT, set per connection just
 * before the request goes out, cleared for the other answers). */
/* NOLINTBEGIN(bugprone-easily-swappable-parameters): libcurl's signature */
static int before_request(void *ud, char *primary_ip, char *local_ip,
                          int primary_port, int local_port)
/* NOLINTEND(bugprone-easily-swappable-parameters) */
{
    vbr_curl *t = ud;
    struct curl_tlssessioninfo *tls = NULL;
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
#ifdef SSL_OP_CLEANSE_PLAINTEXT
    if (curl_easy_getinfo(t->easy, CURLINFO_TLS_SSL_PTR, &tls) == CURLE_OK &&
        tls != NULL && tls->backend == CURLSSLBACKEND_OPENSSL &&
        tls->internals != NULL) {
        if (t->secret)
            SSL_set_options(tls->internals, SSL_OP_CLEANSE_PLAINTEXT);
        else
            SSL_clear_options(tls->internals, SSL_OP_CLEANSE_PLAINTEXT);
        /* cleared: later answers on this connection need no call here (a
         * new connection starts without the option) */
        t->cleanse_on = t->secret;
    }
#else
    (void)t;
    (void)tls;
#endif
    return CURL_PREREQFUNC_OK;
}

int vbr_curl_global_init(void)
{
    return curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wiping_free,
                                wiping_realloc, vbr_strdup, calloc) == CURLE_OK
               ? 0 : -1;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    vbr_curl *t = ud;
    size_t n = size * nmemb;
    if (t->body.len + n > t->max_body) {
        t->too_large = 1;
        return 0;          /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (vbr_buf_add(&t->body, data, n) != 0) {
        t->out_of_memory = 1;
        return 0;
    }
    return n;
}

/* Copy the value of "Name: value" if the line has that name. */
static void capture(const char *line, size_t n, const char *name,
                    char *out, size_t outlen)
{
    size_t k = strlen(name);
    const char *v, *end = line + n;
    if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return;
    v = line + k + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    /* the value ends at the first CR, LF or NUL (a hostile server's bytes
     * must not reach an error message as a line break) */
    for (k = 0; v + k < end && v[k] != '\r' && v[k] != '\n' && v[k] != '\0';)
        k++;
    end = v + k;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    k = (size_t)(end - v) < outlen ? (size_t)(end - v) : outlen - 1;
    memcpy(out, v, k);   /* cut to the room, as snprintf would */
    out[k] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
    vbr_curl *t = ud;
    size_t n = size * nmemb;
    if (n >= 5 && line[0] == 'H' && memcmp(line, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue, say): forget the old headers */
        t->content_type[0] = t->retry_after[0] = t->location[0] = '\0';
        t->answered = 1;
        return n;
    }
    /* by the first letter: one name compared per line, not three */
    switch (n > 0 ? line[0] | 0x20 : 0) {
    case 'c':
        capture(line, n, "Content-Type", t->content_type,
                sizeof t->content_type);
        break;
    case 'r':
        capture(line, n, "Retry-After", t->retry_after, sizeof t->retry_after);
        break;
    case 'l':
        capture(line, n, "Location", t->location, sizeof t->location);
        break;
    default:
        break;
    }
    return n;
}

/* Seconds as libcurl's milliseconds: 0 (none) for <= 0 or NaN, capped at a
 * year (a double beyond long's range would be undefined behaviour). */
static long millis(double seconds)
{
    if (!(seconds > 0))
        return 0;
    if (seconds > 365.0 * 86400)
        seconds = 365.0 * 86400;
    return (long)(seconds * 1000);
}

/* CURLOPT_XFERINFOFUNCTION: libcurl calls it often (at least once a second)
 * while a transfer runs; nonzero aborts it (CURLE_ABORTED_BY_CALLBACK). */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): libcurl's signature */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    const vbr_curl *t = ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return t->stop() ? 1 : 0;
}

/* With no proxy set, libcurl reads six variables of the environment for
 * every request (no_proxy, NO_PROXY, https_proxy, HTTPS_PROXY, all_proxy,
 * ALL_PROXY: 2k instructions); when none of them is there as the client
 * is made, it is told there is no proxy instead: the same outcome without
 * the lookups.  With one of them, or http_proxy, there (even empty),
 * libcurl reads them per request as ever. */
static int proxy_in_environment(void)
{
    static const char *const names[] = {
        "no_proxy", "NO_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
        "ALL_PROXY", "http_proxy", "HTTP_PROXY", NULL};
    size_t i;
    for (i = 0; names[i] != NULL; i++)
        if (getenv(names[i]) != NULL)
            return 1;
    return 0;
}

#define SET(opt, val) \
    do { \
        if ((rc = curl_easy_setopt(t->easy, (opt), (val))) != CURLE_OK) \
            goto fail; \
    } while (0)

vbr_curl *vbr_curl_new(const vbr_curl_options *o, char *err, size_t errlen)
{
    vbr_curl *t = calloc(1, sizeof *t);
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (t == NULL || (t->easy = curl_easy_init()) == NULL)
        goto fail;
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, t->errbuf);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, (void *)t);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, (void *)t);
    /* never follow: Authorization must not travel to another host */
    SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "https");
#else
    SET(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    if (!proxy_in_environment()) {
        /* "" is no proxy, and no host excluded from one (a libcurl built
         * without proxies refuses both: nothing to look up then either) */
        curl_easy_setopt(t->easy, CURLOPT_PROXY, "");
        curl_easy_setopt(t->easy, CURLOPT_NOPROXY, "");
    }
    SET(CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
    if (o->ca_file != NULL)
        SET(CURLOPT_CAINFO, o->ca_file);
    /* the CA file given is the one trusted; without a CA directory libcurl
     * (7.87 and later) keeps the store it loaded from it for the next
     * connections of a multi handle: no file parsed per connection */
    if (o->ca_path != NULL || o->ca_file != NULL)
        SET(CURLOPT_CAPATH, o->ca_path);
    if (o->pinned_public_key != NULL)
        SET(CURLOPT_PINNEDPUBLICKEY, o->pinned_public_key);
    /* CURLOPT_PREREQFUNCTION: set by prepare while it is needed */
    SET(CURLOPT_PREREQDATA, (void *)t);
    if (o->connect_timeout > 0)
        SET(CURLOPT_CONNECTTIMEOUT_MS, millis(o->connect_timeout));
    if (o->stop != NULL) {
        /* NOPROGRESS 0 (on_progress called) set by prepare while armed */
        t->stop = o->stop;
        t->armed = o->armed;
        SET(CURLOPT_XFERINFOFUNCTION, on_progress);
        SET(CURLOPT_XFERINFODATA, (void *)t);
    }
    /* a header line of ours rather than CURLOPT_USERAGENT, which libcurl
     * formats anew with its printf for every request */
    if (o->user_agent != NULL) {
        vbr_buf line = {NULL, 0, 0};
        if (vbr_buf_adds(&line, "User-Agent: ") ||
            vbr_buf_adds(&line, o->user_agent)) {
            vbr_buf_free(&line);
            rc = CURLE_OUT_OF_MEMORY;
            goto fail;
        }
        t->user_agent = line.data;
    }
    return t;
fail:
    snprintf(err, errlen, "libcurl setup failed: %s", curl_easy_strerror(rc));
    vbr_curl_free(t);
    return NULL;
}

static void free_headers(vbr_curl *t)
{
    vbr_buf_clear(&t->header_lines);   /* Authorization */
    t->headers = NULL;
}

void vbr_curl_wipe_body(vbr_curl *t)
{
    vbr_buf_clear(&t->body);
}

void vbr_curl_free(vbr_curl *t)
{
    if (t == NULL)
        return;
    if (t->easy != NULL)
        curl_easy_cleanup(t->easy);     /* leaves a multi handle first */
    if (t->share != NULL)
        curl_share_cleanup(t->share);   /* closes its connection */
    curl_url_cleanup(t->uh);         /* after the handle that reads it */
    vbr_buf_free(&t->header_lines);
    vbr_buf_free(&t->url);
    vbr_buf_free(&t->body);
    free(t->user_agent);
    free(t);
}

/* Map a libcurl failure to the engine's vocabulary.  "sent" errs on the
 * side of yes: only failures before the request left count as unsent. */
static void classify(vbr_curl *t, CURLcode rc, vbr_response *out)
{
    long request_bytes = 0;
    curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_bytes);
    out->sent = 1;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        out->error = VBR_TE_CONNECT;
        out->sent = 0;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        out->error = VBR_TE_TIMEOUT;
        out->sent = request_bytes > 0;
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
        out->error = VBR_TE_TLS;
        out->sent = 0;
        break;
    case CURLE_SEND_ERROR:
        out->error = VBR_TE_RESET;
        out->sent = request_bytes > 0;
        break;
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        out->error = VBR_TE_RESET;
        break;
    case CURLE_WRITE_ERROR:
        out->error = t->too_large ? VBR_TE_TOO_LARGE : VBR_TE_OTHER;
        break;
    default:
        out->error = VBR_TE_OTHER;
        break;
    }
    if (out->error == VBR_TE_TOO_LARGE)
        snprintf(t->message, sizeof t->message,
                 "response body larger than max_response_size (%lu bytes)",
                 (unsigned long)t->max_body);
    else if (t->out_of_memory)
        snprintf(t->message, sizeof t->message, "out of memory");
    else if (rc == CURLE_OUT_OF_MEMORY && t->answered)
        /* libcurl's own limit, which it reports as out of memory */
        snprintf(t->message, sizeof t->message, "a response header line "
                 "longer than the %d bytes libcurl accepts",
                 CURL_MAX_HTTP_HEADER);
    else if (rc == CURLE_OUT_OF_MEMORY && request_bytes == 0)
        snprintf(t->message, sizeof t->message, "the request is larger than "
                 "libcurl accepts (a query of megabytes?)");
    else
        snprintf(t->message, sizeof t->message, "%s",
                 t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
    out->message = t->message;
}

/* 1 when set_method sends a request body (POSTFIELDS), even an empty one. */
static int sends_body(const vbr_step *s)
{
    return strcmp(s->method, "HEAD") != 0 && strcmp(s->method, "DELETE") != 0 &&
           (s->body != NULL || strcmp(s->method, "GET") != 0);
}

/* What set_method leaves the handle doing: a method without a body is
 * set once for a run of its requests; one with a body every time (the
 * body is the step's). */
enum { SHAPE_UNKNOWN = 0, SHAPE_GET, SHAPE_HEAD, SHAPE_DELETE, SHAPE_BODY };

static int method_shape(const vbr_step *s)
{
    if (strcmp(s->method, "HEAD") == 0)
        return SHAPE_HEAD;
    if (strcmp(s->method, "DELETE") == 0)
        return SHAPE_DELETE;
    if (s->body == NULL && strcmp(s->method, "GET") == 0)
        return SHAPE_GET;
    return SHAPE_BODY;
}

static int set_method(vbr_curl *t, const vbr_step *s)
{
    CURL *h = t->easy;
    int bad = 0, shape = method_shape(s);
    if (t->known && shape == t->shape && shape != SHAPE_BODY)
        return 0;
    t->shape = SHAPE_UNKNOWN;
    /* reset what the previous request may have left behind */
    bad |= curl_easy_setopt(h, CURLOPT_NOBODY, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, (char *)NULL) != CURLE_OK;
    if (shape == SHAPE_HEAD) {
        bad |= curl_easy_setopt(h, CURLOPT_NOBODY, 1L) != CURLE_OK;
    } else if (shape != SHAPE_BODY) {
        bad |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;
    } else {
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                                (curl_off_t)s->body_len) != CURLE_OK;
        bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                                s->body ? s->body : "") != CURLE_OK;
    }
    if (shape != SHAPE_HEAD && strcmp(s->method, "GET") != 0 &&
        strcmp(s->method, "POST") != 0)
        bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, s->method) != CURLE_OK;
    if (!bad)
        t->shape = shape;
    return bad;
}

/* The options of a request that a run of alike ones shares: set when
 * they differ from the last request's. */
static int set_target(vbr_curl *t, const vbr_step *s)
{
    long timeout_ms = millis(s->timeout), fresh = s->fresh_connection ? 1L : 0L;
    size_t n = strlen(s->url);
    if (!t->known || t->url.len != n || memcmp(t->url.data, s->url, n) != 0) {
        t->url.len = 0;
        if (vbr_buf_add(&t->url, s->url, n) != 0 ||
            curl_easy_setopt(t->easy, CURLOPT_URL, s->url) != CURLE_OK) {
            vbr_buf_clear(&t->url);
            return 1;
        }
        /* libcurl parses CURLOPT_URL anew for every request (5k
         * instructions), a CURLOPT_CURLU handle it copies: parsed here
         * once for a run of requests to one URL; one it refuses is left
         * to libcurl's own parse, and error */
        if (t->uh == NULL)
            t->uh = curl_url();
        if (t->uh != NULL &&
            curl_url_set(t->uh, CURLUPART_URL, s->url, 0) == CURLUE_OK) {
            if (curl_easy_setopt(t->easy, CURLOPT_CURLU, t->uh) != CURLE_OK)
                return 1;
        } else if (curl_easy_setopt(t->easy, CURLOPT_CURLU, (CURLU *)NULL)
                       != CURLE_OK) {
            return 1;
        }
    }
    if (!t->known || t->headers_opt != t->headers) {
        if (curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers) != CURLE_OK)
            return 1;
        t->headers_opt = t->headers;
    }
    if (!t->known || t->timeout_ms != timeout_ms) {
        if (curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK)
            return 1;
        t->timeout_ms = timeout_ms;
    }
    if (!t->known || t->fresh != fresh) {
        if (curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, fresh) != CURLE_OK)
            return 1;
        t->fresh = fresh;
    }
    if (t->stop != NULL) {
        int on = t->armed == NULL || t->armed();
        if (!t->known || t->progress_on != on) {
            if (curl_easy_setopt(t->easy, CURLOPT_NOPROGRESS, on ? 0L : 1L)
                    != CURLE_OK)
                return 1;
            t->progress_on = on;
        }
    }
    /* the cleansing of a token answer's plaintext is set, and then
     * cleared, in before_request: called only while either is due */
    if (!t->known || t->prereq_on != (t->secret || t->cleanse_on)) {
        int on = t->secret || t->cleanse_on;
        if (curl_easy_setopt(t->easy, CURLOPT_PREREQFUNCTION,
                             on ? before_request : NULL) != CURLE_OK)
            return 1;
        t->prereq_on = on;
    }
    return 0;
}

/* One header line, "name: value" (value NULL: name is the whole line). */
static int add_line(vbr_curl *t, size_t *nlines, const char *name,
                    const char *value)
{
    vbr_buf *b = &t->header_lines;
    size_t at = b->len;
    if (*nlines == MAX_LINES ||
        vbr_buf_adds(b, name) ||
        (value != NULL && (vbr_buf_add(b, ": ", 2) ||
                           vbr_buf_add(b, value, strlen(value) + 1))) ||
        (value == NULL && vbr_buf_add(b, "", 1)))
        return 1;
    t->line_at[(*nlines)++] = at;
    return 0;
}

/* Links the nlines lines of header_lines into the list (once they are all
 * written: the buffer may move while it grows). */
static void link_lines(vbr_curl *t, size_t nlines)
{
    size_t i;
    t->headers = NULL;
    for (i = 0; i < nlines; i++) {
        t->header_nodes[i].data = t->header_lines.data + t->line_at[i];
        t->header_nodes[i].next = i + 1 < nlines ? &t->header_nodes[i + 1]
                                                 : NULL;
    }
    if (nlines > 0)
        t->headers = &t->header_nodes[0];
}

static int has_header(const vbr_step *s, const char *name)
{
    size_t i;
    for (i = 0; i < s->nheaders; i++)
        if ((s->headers[i].name[0] | 0x20) == (name[0] | 0x20) &&
            strcasecmp(s->headers[i].name, name) == 0)
            return 1;
    return 0;
}

int vbr_curl_prepare(vbr_curl *t, const vbr_step *s, vbr_response *out)
{
    size_t i, nlines = 0;
    int bad = 0;

    memset(out, 0, sizeof *out);
    vbr_buf_clear(&t->body);
    if (vbr_buf_add(&t->body, "", 0) != 0)
        bad = 1;
    t->too_large = t->out_of_memory = t->answered = 0;
    t->secret = s->purpose != VBR_FOR_CALL;
    t->max_body = s->max_response_size;
    t->errbuf[0] = t->content_type[0] = t->retry_after[0] = '\0';
    t->location[0] = '\0';

    free_headers(t);
    for (i = 0; i < s->nheaders && !bad; i++)
        bad = add_line(t, &nlines, s->headers[i].name, s->headers[i].value);
    /* no "Expect: 100-continue" round trip for larger bodies, and no
     * Content-Type invented by libcurl for a POST without a body; a GET,
     * DELETE or HEAD (no body sent, see set_method) gets neither anyway,
     * and every custom header costs libcurl a scan per header it adds */
    if (t->user_agent != NULL && !has_header(s, "User-Agent"))
        bad = bad || add_line(t, &nlines, t->user_agent, NULL);
    if (sends_body(s)) {
        bad = bad || add_line(t, &nlines, "Expect:", NULL);
        if (!has_header(s, "Content-Type"))
            bad = bad || add_line(t, &nlines, "Content-Type:", NULL);
    }
    /* each line goes out with CRLF instead of its NUL */
    t->request_bound = 2 * strlen(s->url) + 512 + t->header_lines.len +
                       nlines;
    if (!bad)
        link_lines(t, nlines);
    bad = bad || set_method(t, s);
    bad = bad || set_target(t, s);
    if (bad) {
        t->known = 0;          /* all of them again next time */
        free_headers(t);
        curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
        out->error = VBR_TE_OTHER;
        out->sent = 0;
        out->message = "cannot prepare the request (out of memory?)";
        return -1;
    }
    t->known = 1;
    return 0;
}

CURL *vbr_curl_handle(vbr_curl *t)
{
    return t->easy;
}

int vbr_curl_own_connections(vbr_curl *t, int fresh)
{
    if (t->share != NULL && fresh) {
        /* a new connection is asked for: the kept one goes now, so that a
         * client never holds two */
        curl_easy_setopt(t->easy, CURLOPT_SHARE, (CURLSH *)NULL);
        curl_share_cleanup(t->share);
        t->share = NULL;
    }
    if (t->share != NULL)
        return 0;
    t->share = curl_share_init();
    if (t->share == NULL ||
        curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT)
            != CURLSHE_OK ||
        curl_easy_setopt(t->easy, CURLOPT_SHARE, t->share) != CURLE_OK) {
        if (t->share != NULL)
            curl_share_cleanup(t->share);
        t->share = NULL;
        return -1;
    }
    return 0;
}

void vbr_curl_finish(vbr_curl *t, CURLcode rc, vbr_response *out)
{
    long status = 0;
    /* wipe Authorization now; the list (our nodes, set as CURLOPT_HTTPHEADER
     * for the next request alike) points at the wiped lines, which libcurl
     * reads only while a transfer runs */
    vbr_buf_clear(&t->header_lines);

    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    out->status = (int)status;
    if (rc != CURLE_OK)
        classify(t, rc, out);
    out->body = t->body.data ? t->body.data : "";
    out->body_len = t->body.len;
    out->content_type = t->content_type[0] ? t->content_type : NULL;
    out->retry_after = t->retry_after[0] ? t->retry_after : NULL;
    out->location = t->location[0] ? t->location : NULL;
}

void vbr_curl_perform(vbr_curl *t, const vbr_step *s, vbr_response *out)
{
    CURLcode rc;
    if (vbr_curl_prepare(t, s, out) != 0)
        return;
    if (!t->secret)
        wipe_prefix = t->request_bound;
    rc = curl_easy_perform(t->easy);
    wipe_prefix = (size_t)-1;
    vbr_curl_finish(t, rc, out);
}
