/*
 * engine.c - what to send next and what an answer means; no I/O (see
 * engine.h for the protocol a transport follows).
 *
 * Policy in one place:
 *  - every call needs an access token: log in with the password grant when
 *    there is none, refresh when it is about to expire (from expires_in) or
 *    after a 401, fall back to the password grant when a refresh is refused;
 *  - a login, refresh or logout is asked for first (ACQUIRE: a refresh
 *    token is single-use, so the transport lets one job at a time replace
 *    the credentials, or hands over newer ones), and its outcome is shared
 *    (PUBLISH: new credentials, or the failure the waiters fail with);
 *  - GET/PUT/DELETE are retried on connection failures, timeouts, 429, 502,
 *    503 and 504 with exponential backoff, jitter and Retry-After, bounded in
 *    attempts and in time; token requests likewise (a duplicate login only
 *    makes a spare token);
 *  - a POST is resent only when it certainly never reached the server
 *    (connect failure), or once after a 401 with a new token; a broken
 *    connection after sending is reported with outcome_unknown;
 *  - redirects are never followed (an Authorization header must not travel
 *    to another host), a 3xx is an error naming the target host;
 *  - api_version "auto" logs in with the newest known revision and, on
 *    400 NotImplemented, steps down to the newest revision the server lists
 *    in its message (or the next older known one when it lists none).
 */
#include "engine.h"
#include "buf.h"
#include "text.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>   /* curl_getdate: a pure date parser */

const vbr_revision vbr_revisions[] = {
    {"1.3-rev2", "1.3-rev2"}, {"1.3-rev1", "1.3-rev1"},
    {"1.3-rev0", "1.3-rev0"}, {"1.2-rev1", "1.2-rev1"},
    {"1.2-rev0", "1.2-rev1"}, {"1.1-rev2", "1.1-rev0"},
    {"1.1-rev1", "1.1-rev0"}, {"1.1-rev0", "1.1-rev0"}, {NULL, NULL}
};

#define TOKEN_PATH "/api/oauth2/token"
#define LOGOUT_PATH "/api/oauth2/logout"
#define DEFAULT_EXPIRES_IN 900.0    /* when a token answer omits expires_in */
#define MAX_MESSAGE 512             /* server messages kept in errors */
#define MAX_STALE_401S 3            /* resends after a 401 for old tokens */
#define MAX_ADOPTIONS 3             /* adopted credentials tried after a 401 */

struct vbr_engine {
    unsigned refs;                  /* the owner plus every live job */
    int closed;
    char *base_url;                 /* https://host:port[/prefix] */
    char *server;                   /* host as in the URL */
    int port;
    size_t prefix_len;              /* of base_url's "/prefix" */
    char *username;
    int auto_version;
    char *api_version;              /* NULL while auto is unresolved */
    double timeout;
    double refresh_margin;
    size_t max_response_size;
    int retry_attempts;
    double retry_max_time;
    double retry_base_delay;
    double retry_max_delay;
    vbr_host host;
    char *access_token;             /* secrets: wiped when dropped */
    char *refresh_token;
    int access_refused;             /* a 401 said so: kept only to name it
                                     * in ACQUIRE (the one to replace) */
    double expires_at;              /* vbr_now() seconds */
    double lifetime;
    unsigned long token_gen;        /* bumped whenever the token changes */
    uint64_t rng;
    vbr_stats stats;
};

typedef enum {
    JS_START, JS_SLEEPING, JS_ACQUIRING, JS_PUBLISHING, JS_WAIT_LOGIN,
    JS_WAIT_REFRESH, JS_WAIT_CALL, JS_WAIT_LOGOUT, JS_FINISHED
} job_state;

/* What follows a PUBLISH. */
typedef enum { THEN_CALL, THEN_DONE, THEN_FAIL } then_step;

struct vbr_job {
    vbr_engine *e;
    vbr_job_kind kind;
    job_state state;
    char *method;                   /* these three in text */
    char *path;
    char *query;
    vbr_buf text;                   /* method, NUL, path, NUL[, query, NUL] */
    char *body;
    size_t body_len;
    double timeout;
    int idempotent;
    double started;
    int failures;                   /* failed sends so far (retry budget) */
    int reauthed;                   /* a 401 already led to new credentials */
    int stale_401s;                 /* 401s for credentials replaced since */
    int adoptions;                  /* credentials taken from ACQUIRE */
    int refresh_refused;
    int holds;                      /* the grant of an ACQUIRE: PUBLISH it */
    vbr_purpose auth_purpose;       /* of the ACQUIRE or token request last */
    then_step then;                 /* after the PUBLISH */
    unsigned long gen_used;         /* token generation of the last call */
    size_t candidate;               /* auto: index in vbr_revisions */
    const char *req_method;         /* the request sent last (for errors) */
    const char *req_path;
    double sent_at;
    /* the current step and the memory it points into */
    vbr_step step;
    vbr_buf target;                 /* url, NUL, path, NUL, query */
    vbr_buf auth;                   /* "Bearer ..." */
    vbr_tokens tokens;              /* PUBLISH: copies of the engine's */
    char *access_copy;              /* ACQUIRE, PUBLISH: secrets, wiped */
    char *refresh_copy;
    vbr_buf form;                   /* token request body */
    char *password;                 /* of the login in flight: scrubbed from
                                     * the server's text, wiped with form */
    vbr_error err;
};

/* ---------------------------------------------------------------- helpers */

double vbr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double random_unit(vbr_engine *e)
{
    /* xorshift64*: jitter only needs to decorrelate clients */
    uint64_t x = e->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    e->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* Digits at *p (at most 5, at most 65535), then the text `then`; -1 when
 * they are not there. */
static long revision_number(const char **p, const char *then)
{
    long n = 0;
    int digits = 0;
    while (isdigit((unsigned char)**p) && digits < 6) {
        n = n * 10 + (**p - '0');
        (*p)++;
        digits++;
    }
    if (digits == 0 || n > 65535 || strncmp(*p, then, strlen(then)) != 0)
        return -1;
    *p += strlen(then);
    return n;
}

/* "X.Y-revN" (no overflow: each number at most 65535). */
static int revision_parts(const char *s, long *major, long *minor, long *rev)
{
    if (s == NULL)
        return 0;
    *major = revision_number(&s, ".");
    *minor = *major < 0 ? -1 : revision_number(&s, "-rev");
    *rev = *minor < 0 ? -1 : revision_number(&s, "");
    return *rev >= 0 && *s == '\0';
}

int vbr_revision_valid(const char *s)
{
    long a, b, c;
    return revision_parts(s, &a, &b, &c);
}

/* A revision "auto" may settle on: checked against its own document. */
static int checked_revision(size_t i)
{
    return strcmp(vbr_revisions[i].name, vbr_revisions[i].document) == 0;
}

/* 1.3-rev1 renamed the grant types: Password / Refresh_token. */
static int capitalised_grants(const char *revision)
{
    long major = 0, minor = 0, rev = 0;
    if (!revision_parts(revision, &major, &minor, &rev))
        return 0;
    if (major != 1)
        return major > 1;
    if (minor != 3)
        return minor > 3;
    return rev >= 1;
}

static int is_idempotent(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "DELETE") == 0 || strcmp(method, "HEAD") == 0;
}

static int transient_status(int status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}

static int transient_transport(vbr_transport_error te)
{
    return te == VBR_TE_CONNECT || te == VBR_TE_RESET || te == VBR_TE_TIMEOUT;
}

const char *vbr_error_kind_name(vbr_error_kind kind)
{
    switch (kind) {
    case VBR_ERR_NETWORK: return "network";
    case VBR_ERR_TLS: return "tls";
    case VBR_ERR_TIMEOUT: return "timeout";
    case VBR_ERR_HTTP: return "http";
    case VBR_ERR_API: return "api";
    case VBR_ERR_AUTH: return "auth";
    case VBR_ERR_DECODE: return "decode";
    }
    return "unknown";
}

int vbr_error_kind_of(const char *name)
{
    int kind;
    for (kind = VBR_ERR_NETWORK; kind <= VBR_ERR_DECODE; kind++)
        if (strcmp(name, vbr_error_kind_name((vbr_error_kind)kind)) == 0)
            return kind;
    return -1;
}

const char *vbr_transport_error_name(vbr_transport_error te)
{
    switch (te) {
    case VBR_TE_NONE: return "none";
    case VBR_TE_CONNECT: return "connect";
    case VBR_TE_RESET: return "reset";
    case VBR_TE_TIMEOUT: return "timeout";
    case VBR_TE_TLS: return "tls";
    case VBR_TE_TOO_LARGE: return "too_large";
    case VBR_TE_OTHER: return "other";
    }
    return "other";
}

/* Seconds from a Retry-After value (delta-seconds or HTTP-date), -1 if none. */
static double retry_after_seconds(const char *value)
{
    const char *p = value;
    time_t when;
    if (value == NULL || *value == '\0')
        return -1;
    while (isdigit((unsigned char)*p))
        p++;
    if (p != value && *p == '\0')
        return strtod(value, NULL);
    when = curl_getdate(value, NULL);
    if (when == (time_t)-1)
        return -1;
    return when > time(NULL) ? (double)(when - time(NULL)) : 0.0;
}

/* ------------------------------------------------------------ the tokens */

static void drop_tokens(vbr_engine *e)
{
    vbr_secret_free(e->access_token);
    e->access_token = NULL;
    e->access_refused = 0;
    vbr_secret_free(e->refresh_token);
    e->refresh_token = NULL;
    e->token_gen++;
}

static int token_fresh(const vbr_engine *e, double now)
{
    double margin = e->refresh_margin;
    if (e->access_token == NULL || e->access_refused)
        return 0;
    /* a short-lived token must still be usable for half its life */
    if (margin > e->lifetime / 2)
        margin = e->lifetime / 2;
    return now < e->expires_at - margin;
}

/* A token goes into an Authorization header and a form: printable ASCII
 * without spaces only (RFC 6750 b64token is narrower still), so a hostile
 * answer cannot inject a header line; and not longer than VBR_MAX_TOKEN.
 * NULL when it will do, else what is wrong with it. */
static const char *token_problem(const char *s)
{
    size_t n;
    if (s == NULL || *s == '\0')
        return "an empty token";
    for (n = 0; s[n]; n++)
        if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
            return "a token that is not printable ASCII";
    if (n > VBR_MAX_TOKEN)
        return "a token longer than the 65536 bytes vbr accepts";
    return NULL;
}

/* Take copies of t's credentials as the engine's own (an "auto" engine
 * still unresolved adopts t->api_version).  0, or -1 (nothing changed)
 * when t is refused or memory ran out. */
static int set_tokens(vbr_engine *e, const vbr_tokens *t)
{
    char *access, *refresh = NULL, *version = NULL;
    int want_version = e->api_version == NULL && t->api_version != NULL;
    if (token_problem(t->access_token) != NULL ||
        (t->refresh_token != NULL && token_problem(t->refresh_token)) ||
        (t->api_version != NULL && !vbr_revision_valid(t->api_version)))
        return -1;
    access = vbr_strdup(t->access_token);
    if (t->refresh_token != NULL)
        refresh = vbr_strdup(t->refresh_token);
    if (want_version)
        version = vbr_strdup(t->api_version);
    if (access == NULL || (t->refresh_token != NULL && refresh == NULL) ||
        (want_version && version == NULL)) {
        vbr_secret_free(access);
        vbr_secret_free(refresh);
        free(version);
        return -1;
    }
    drop_tokens(e);
    if (version != NULL)
        e->api_version = version;    /* only "auto" is ever unresolved */
    e->access_token = access;
    e->refresh_token = refresh;
    e->lifetime = t->lifetime > 0 ? t->lifetime
                  : t->expires_in > 0 ? t->expires_in : DEFAULT_EXPIRES_IN;
    e->expires_at = vbr_now() + t->expires_in;
    return 0;
}

/* ------------------------------------------------------------ JSON fields */

static int json_fields(vbr_engine *e, const char *body, size_t len,
                       vbr_json_field *f, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        f[i].str = NULL;
        f[i].num = 0;
        f[i].present = 0;
    }
    if (e->host.json_fields == NULL || body == NULL || len == 0)
        return -1;
    return e->host.json_fields(e->host.ud, body, len, f, n);
}

static void free_fields(vbr_json_field *f, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        vbr_secret_free(f[i].str);
        f[i].str = NULL;
    }
}

/* ---------------------------------------------------------------- engine */

vbr_engine *vbr_engine_new(const vbr_config *cfg, const vbr_host *host)
{
    vbr_engine *e = calloc(1, sizeof *e);
    vbr_buf url = {NULL, 0, 0};
    char port[16];
    struct timespec ts;
    if (e == NULL)
        return NULL;
    e->refs = 1;
    snprintf(port, sizeof port, ":%d", cfg->port);
    if (vbr_buf_adds(&url, "https://") || vbr_buf_adds(&url, cfg->host) ||
        vbr_buf_adds(&url, port) || vbr_buf_adds(&url, cfg->prefix)) {
        vbr_buf_free(&url);
        vbr_engine_release(e);
        return NULL;
    }
    e->base_url = url.data;
    e->prefix_len = strlen(cfg->prefix);
    e->server = vbr_strdup(cfg->host);
    e->port = cfg->port;
    e->username = vbr_strdup(cfg->username ? cfg->username : "");
    /* no revision named: "auto", the default the options document */
    e->auto_version = cfg->api_version == NULL ||
                      strcmp(cfg->api_version, "auto") == 0;
    if (!e->auto_version)
        e->api_version = vbr_strdup(cfg->api_version);
    if (e->server == NULL || e->username == NULL ||
        (!e->auto_version && e->api_version == NULL)) {
        vbr_engine_release(e);
        return NULL;
    }
    e->timeout = cfg->timeout;
    e->refresh_margin = cfg->refresh_margin;
    e->max_response_size = cfg->max_response_size;
    e->retry_attempts = cfg->retry_attempts < 1 ? 1 : cfg->retry_attempts;
    e->retry_max_time = cfg->retry_max_time;
    e->retry_base_delay = cfg->retry_base_delay;
    e->retry_max_delay = cfg->retry_max_delay;
    e->host = *host;
    clock_gettime(CLOCK_REALTIME, &ts);
    e->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
             (uint64_t)(uintptr_t)e;
    if (e->rng == 0)
        e->rng = 0x9E3779B97F4A7C15ULL;
    return e;
}

void vbr_engine_close(vbr_engine *e)
{
    if (e == NULL || e->closed)
        return;
    e->closed = 1;
    drop_tokens(e);
    /* the host may be gone after close: jobs still alive never call it */
    memset(&e->host, 0, sizeof e->host);
}

void vbr_engine_release(vbr_engine *e)
{
    if (e == NULL || --e->refs > 0)
        return;
    drop_tokens(e);
    free(e->base_url);
    free(e->server);
    free(e->username);
    free(e->api_version);
    free(e);
}

const char *vbr_engine_url(const vbr_engine *e)
{
    return e->base_url;
}

size_t vbr_engine_scrub(const vbr_engine *e, char *text, size_t *len)
{
    size_t found = 0;
    if (e->access_token != NULL)
        found += vbr_scrub(text, len, e->access_token, strlen(e->access_token));
    if (e->refresh_token != NULL)
        found += vbr_scrub(text, len, e->refresh_token,
                           strlen(e->refresh_token));
    return found;
}

const char *vbr_engine_api_version(const vbr_engine *e)
{
    return e->api_version;
}

vbr_stats vbr_engine_stats(const vbr_engine *e)
{
    return e->stats;
}

/* ------------------------------------------------------------------ jobs */

/* Point req_method/req_path at the request a purpose stands for. */
static void set_request(vbr_job *j, vbr_purpose purpose)
{
    switch (purpose) {
    case VBR_FOR_CALL:
        j->req_method = j->method;
        j->req_path = j->path;
        break;
    case VBR_FOR_LOGOUT:
        j->req_method = "POST";
        j->req_path = LOGOUT_PATH;
        break;
    case VBR_FOR_LOGIN:
    case VBR_FOR_REFRESH:
    default:
        j->req_method = "POST";
        j->req_path = TOKEN_PATH;
        break;
    }
}

/* Fill a zeroed job (its engine and buffers set) for kind and call: 0, or
 * -1 when out of memory. */
static int job_start(vbr_job *j, vbr_job_kind kind, const vbr_call *call)
{
    vbr_engine *e = j->e;
    j->kind = kind;
    j->state = JS_START;
    j->timeout = call && call->timeout > 0 ? call->timeout : e->timeout;
    j->started = vbr_now();
    if (kind == VBR_JOB_CALL) {
        const char *query = call->query && *call->query ? call->query : NULL;
        vbr_buf *t = &j->text;
        size_t path_at, query_at;
        t->len = 0;
        if (vbr_buf_add(t, call->method, strlen(call->method) + 1))
            return -1;
        path_at = t->len;
        if (vbr_buf_add(t, call->path, strlen(call->path) + 1))
            return -1;
        query_at = t->len;
        if (query != NULL && vbr_buf_add(t, query, strlen(query) + 1))
            return -1;
        j->method = t->data;
        j->path = t->data + path_at;
        j->query = query != NULL ? t->data + query_at : NULL;
        if (call->body != NULL) {
            j->body = vbr_strndup(call->body, call->body_len);
            if (j->body == NULL)
                return -1;
            j->body_len = call->body_len;
        }
        j->idempotent = is_idempotent(j->method);
    }
    set_request(j, kind == VBR_JOB_CALL ? VBR_FOR_CALL
                   : kind == VBR_JOB_LOGOUT ? VBR_FOR_LOGOUT : VBR_FOR_LOGIN);
    return 0;
}

vbr_job *vbr_job_new(vbr_engine *e, vbr_job_kind kind, const vbr_call *call)
{
    vbr_job *j;
    if (kind == VBR_JOB_CALL && call == NULL)
        return NULL;
    j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    j->e = e;
    e->refs++;
    if (job_start(j, kind, call) != 0) {
        vbr_job_free(j);
        return NULL;
    }
    return j;
}

/* The request body goes once the job has finished: nothing reads it then
 * (it may hold a secret, an encryption password, say). */
static void drop_body(vbr_job *j)
{
    if (j->body != NULL) {
        vbr_wipe(j->body, j->body_len);
        free(j->body);
        j->body = NULL;
    }
    j->body_len = 0;
}

static void clear_step(vbr_job *j)
{
    vbr_buf_clear(&j->target);
    vbr_buf_clear(&j->auth);
    vbr_buf_clear(&j->form);
    vbr_secret_free(j->password);
    j->password = NULL;
    vbr_secret_free(j->access_copy);
    j->access_copy = NULL;
    vbr_secret_free(j->refresh_copy);
    j->refresh_copy = NULL;
    memset(&j->step, 0, sizeof j->step);
}

void vbr_job_free(vbr_job *j)
{
    if (j == NULL)
        return;
    clear_step(j);
    vbr_buf_free(&j->target);
    vbr_buf_free(&j->auth);
    vbr_buf_free(&j->form);
    vbr_buf_free(&j->text);
    drop_body(j);
    free(j->err.code);
    free(j->err.message);
    vbr_engine_release(j->e);
    free(j);
}

vbr_job *vbr_job_renew(vbr_job *j, vbr_job_kind kind, const vbr_call *call)
{
    vbr_engine *e;
    vbr_buf target, auth, form, text;
    if (j == NULL)
        return NULL;
    e = j->e;
    if (j->state != JS_FINISHED || (kind == VBR_JOB_CALL && call == NULL)) {
        vbr_job *fresh;
        e->refs++;                       /* the engine outlives the old job */
        vbr_job_free(j);
        fresh = vbr_job_new(e, kind, call);
        vbr_engine_release(e);
        return fresh;
    }
    /* a finished job holds no secret (its step was cleared, its body
     * dropped), but clear again rather than rely on it */
    clear_step(j);
    drop_body(j);
    free(j->err.code);
    free(j->err.message);
    target = j->target;
    auth = j->auth;
    form = j->form;
    text = j->text;
    memset(j, 0, sizeof *j);
    j->e = e;                            /* its reference goes on */
    j->target = target;
    j->auth = auth;
    j->form = form;
    j->text = text;
    if (job_start(j, kind, call) != 0) {
        vbr_job_free(j);
        return NULL;
    }
    return j;
}

const vbr_step *vbr_job_step(const vbr_job *j)
{
    return j->state == JS_START ? NULL : &j->step;
}

/* --------------------------------------------------------- final steps */

static const vbr_step *publish(vbr_job *j, then_step then);

static const vbr_step *finish_done(vbr_job *j, const vbr_response *resp)
{
    clear_step(j);
    drop_body(j);
    j->state = JS_FINISHED;
    j->step.action = VBR_DONE;
    j->step.response = resp;
    return &j->step;
}

/* What a failure says.  The method and path are those of the request the
 * job sent last (or was about to send). */
typedef struct failure {
    int kind;               /* a vbr_error_kind, or AUTO_KIND */
    int status;
    const char *code;       /* Veeam errorCode */
    const char *text;
    const char *suffix;     /* appended to the text */
    int retryable;
    int outcome_unknown;
} failure;

#define AUTO_KIND (-1)      /* api when there is a Veeam errorCode, else http */

/* A copy of server text without the secrets, in any encoding (text.h),
 * scrubbed whole, then cut to max bytes (a cut first could leave a
 * secret's prefix), or NULL. */
static char *scrubbed(const vbr_job *j, const char *s, size_t max)
{
    char *out = vbr_strdup(s);
    if (out == NULL)
        return NULL;
    const char *held = j->e->host.held_password != NULL
                       ? j->e->host.held_password(j->e->host.ud) : NULL;
    vbr_scrub_str(out, j->password);    /* a server may echo the form */
    vbr_scrub_str(out, held);           /* ... or the password, any time */
    vbr_scrub_str(out, j->e->access_token);
    vbr_scrub_str(out, j->e->refresh_token);
    if (strlen(out) > max)
        out[max] = '\0';
    return out;
}

/* The FAIL step of the error in j->err. */
static const vbr_step *fail_step(vbr_job *j)
{
    clear_step(j);
    drop_body(j);
    j->state = JS_FINISHED;
    j->step.action = VBR_FAIL;
    j->step.error = &j->err;
    return &j->step;
}

static const vbr_step *finish_fail(vbr_job *j, const failure *f)
{
    char text[MAX_MESSAGE + 256];
    char *server = scrubbed(j, f->text ? f->text : "", MAX_MESSAGE);
    char *code = f->code ? scrubbed(j, f->code, 64) : NULL;
    snprintf(text, sizeof text, "%s%s", server ? server : "(out of memory)",
             f->suffix ? f->suffix : "");
    free(server);
    free(j->err.code);
    free(j->err.message);
    j->err.kind = f->kind != AUTO_KIND ? (vbr_error_kind)f->kind
                  : f->code ? VBR_ERR_API : VBR_ERR_HTTP;
    j->err.status = f->status;
    j->err.code = code;
    j->err.message = vbr_strdup(text);
    j->err.method = j->req_method;
    j->err.path = j->req_path;
    j->err.retryable = f->retryable;
    j->err.outcome_unknown = f->outcome_unknown;
    if (j->holds)
        return publish(j, THEN_FAIL);   /* the waiters fail with it too */
    return fail_step(j);
}

static const char *default_status_text(int status)
{
    switch (status) {
    case 400: return "bad request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not found";
    case 405: return "method not allowed";
    case 409: return "conflict";
    case 429: return "too many requests";
    case 500: return "internal server error";
    case 502: return "bad gateway";
    case 503: return "service unavailable";
    case 504: return "gateway timeout";
    default: return status >= 500 ? "server error" : "unexpected status";
    }
}

/* Fail from an HTTP answer: status, errorCode and message from the body. */
static const vbr_step *fail_from_answer(vbr_job *j, const vbr_response *resp,
                                        failure f)
{
    vbr_json_field fields[2] = {{"errorCode", 0, NULL, 0, 0},
                                {"message", 0, NULL, 0, 0}};
    const vbr_step *step;
    json_fields(j->e, resp->body, resp->body_len, fields, 2);
    f.status = resp->status;
    f.code = fields[0].str;
    f.text = fields[1].str ? fields[1].str : default_status_text(resp->status);
    if (resp->body_len == 0 && resp->status == 401)
        f.text = "unauthorized (empty body)";
    step = finish_fail(j, &f);
    free_fields(fields, 2);
    return step;
}

/* Fail from a transport error; kind from the error unless f.kind says. */
static const vbr_step *fail_from_transport(vbr_job *j,
                                           const vbr_response *resp,
                                           failure f)
{
    char text[MAX_MESSAGE + 256];
    const char *what;
    int kind;
    switch (resp->error) {
    case VBR_TE_TLS: kind = VBR_ERR_TLS; what = "TLS failure"; break;
    case VBR_TE_TIMEOUT: kind = VBR_ERR_TIMEOUT; what = "timed out"; break;
    case VBR_TE_CONNECT: kind = VBR_ERR_NETWORK; what = "cannot connect"; break;
    case VBR_TE_RESET: kind = VBR_ERR_NETWORK; what = "connection lost"; break;
    case VBR_TE_TOO_LARGE: kind = VBR_ERR_HTTP; what = "response too large"; break;
    default: kind = VBR_ERR_NETWORK; what = "transport failure"; break;
    }
    snprintf(text, sizeof text, "%s%s%s%.*s", what,
             f.outcome_unknown ? " after the request was sent: the outcome is "
                                 "unknown, not resent" : "",
             resp->message ? (f.outcome_unknown ? " - " : ": ") : "",
             MAX_MESSAGE, resp->message ? resp->message : "");
    if (f.kind == AUTO_KIND)
        f.kind = kind;
    f.status = resp->status;
    f.text = text;
    return finish_fail(j, &f);
}

static const vbr_step *fail_closed(vbr_job *j)
{
    failure f = {VBR_ERR_NETWORK, 0, NULL, "client is closed", NULL, 0, 0};
    return finish_fail(j, &f);
}

/* ---------------------------------------------------------- send steps */

static const char *revision_for_send(const vbr_job *j)
{
    return j->e->api_version ? j->e->api_version
                             : vbr_revisions[j->candidate].name;
}

static void add_header(vbr_job *j, vbr_header h)
{
    if (j->step.nheaders < VBR_MAX_HEADERS)
        j->step.headers[j->step.nheaders++] = h;
}

static const vbr_step *fail_oom(vbr_job *j)
{
    failure f = {VBR_ERR_NETWORK, 0, NULL, "out of memory", NULL, 0, 0};
    return finish_fail(j, &f);
}

/* Fill the parts common to every request; returns 0 or -1 (no memory).
 * The target buffer holds the url, then the path on the wire, each
 * NUL-terminated; the query is the url's tail:
 * "https://h:9419/p/api/v1/x?a=b\0/p/api/v1/x\0". */
static int begin_send(vbr_job *j, vbr_purpose purpose)
{
    vbr_engine *e = j->e;
    vbr_buf *t = &j->target;
    const char *extra = purpose == VBR_FOR_CALL ? j->query : NULL;
    const char *prefix = e->base_url + strlen(e->base_url) - e->prefix_len;
    const char *own;                 /* a query of the path itself */
    size_t path_len, query_at, path_at;
    clear_step(j);
    set_request(j, purpose);
    if (purpose != VBR_FOR_CALL)
        j->auth_purpose = purpose;
    own = strchr(j->req_path, '?');
    path_len = own ? (size_t)(own - j->req_path) : strlen(j->req_path);
    if (vbr_buf_adds(t, e->base_url) ||
        vbr_buf_add(t, j->req_path, path_len))
        return -1;
    query_at = t->len + 1;
    if (own != NULL && vbr_buf_adds(t, own))
        return -1;
    if (extra != NULL &&
        (vbr_buf_adds(t, own ? "&" : "?") || vbr_buf_adds(t, extra)))
        return -1;
    path_at = t->len + 1;
    if (vbr_buf_add(t, "", 1) || vbr_buf_add(t, prefix, e->prefix_len) ||
        vbr_buf_add(t, j->req_path, path_len))
        return -1;
    j->step.url = t->data;
    j->step.path = t->data + path_at;
    j->step.query = own || extra ? t->data + query_at : NULL;
    j->step.action = VBR_SEND;
    j->step.purpose = purpose;
    j->step.method = j->req_method;
    j->step.scheme = "https";
    j->step.host = e->server;
    j->step.port = e->port;
    j->step.timeout = j->timeout;
    j->step.max_response_size = e->max_response_size;
    add_header(j, (vbr_header){"x-api-version", revision_for_send(j)});
    add_header(j, (vbr_header){"Accept", "application/json"});
    if (purpose != VBR_FOR_CALL)
        j->sent_at = vbr_now();      /* a token's lifetime counts from it */
    e->stats.requests++;
    return 0;
}

static const vbr_step *send_token_request(vbr_job *j, int refresh)
{
    vbr_engine *e = j->e;
    int caps = capitalised_grants(revision_for_send(j));
    char *password = NULL;
    const char *why = "no password available";
    if (!refresh) {
        if (e->host.password != NULL)
            password = e->host.password(e->host.ud, &why);
        if (e->closed) {                 /* by the password function */
            vbr_secret_free(password);
            return fail_closed(j);
        }
        if (password == NULL) {
            failure f = {VBR_ERR_AUTH, 0, NULL, why, NULL, 0, 0};
            set_request(j, VBR_FOR_LOGIN);
            return finish_fail(j, &f);
        }
    }
    if (begin_send(j, refresh ? VBR_FOR_REFRESH : VBR_FOR_LOGIN) != 0) {
        vbr_secret_free(password);
        return fail_oom(j);
    }
    if (refresh) {
        if (vbr_buf_adds(&j->form, caps ? "grant_type=Refresh_token"
                                        : "grant_type=refresh_token") ||
            vbr_buf_adds(&j->form, "&refresh_token=") ||
            vbr_buf_add_escaped(&j->form, e->refresh_token,
                                strlen(e->refresh_token)))
            return fail_oom(j);
    } else {
        int bad = vbr_buf_adds(&j->form, caps ? "grant_type=Password"
                                              : "grant_type=password") ||
                  vbr_buf_adds(&j->form, "&username=") ||
                  vbr_buf_add_escaped(&j->form, e->username,
                                      strlen(e->username)) ||
                  vbr_buf_adds(&j->form, "&password=") ||
                  vbr_buf_add_escaped(&j->form, password, strlen(password));
        j->password = password;   /* wiped by clear_step */
        if (bad)
            return fail_oom(j);
    }
    add_header(j, (vbr_header){"Content-Type",
                               "application/x-www-form-urlencoded"});
    j->step.body = j->form.data;
    j->step.body_len = j->form.len;
    j->state = refresh ? JS_WAIT_REFRESH : JS_WAIT_LOGIN;
    return &j->step;
}

static const vbr_step *send_with_token(vbr_job *j, vbr_purpose purpose)
{
    vbr_engine *e = j->e;
    int call = purpose == VBR_FOR_CALL;
    if (begin_send(j, purpose) ||
        vbr_buf_adds(&j->auth, "Bearer ") ||
        vbr_buf_adds(&j->auth, e->access_token))
        return fail_oom(j);
    add_header(j, (vbr_header){"Authorization", j->auth.data});
    if (call && j->body != NULL) {
        add_header(j, (vbr_header){"Content-Type", "application/json"});
        j->step.body = j->body;
        j->step.body_len = j->body_len;
    }
    j->step.fresh_connection = call && !j->idempotent;
    j->gen_used = e->token_gen;
    j->state = call ? JS_WAIT_CALL : JS_WAIT_LOGOUT;
    return &j->step;
}

static const vbr_step *sleep_step(vbr_job *j, double seconds)
{
    clear_step(j);
    j->state = JS_SLEEPING;
    j->step.action = VBR_SLEEP;
    j->step.seconds = seconds < 0 ? 0 : seconds;
    return &j->step;
}

/* ------------------------------------------------ sharing credentials */

/* The credentials request the job would send now. */
static vbr_purpose auth_needed(const vbr_job *j)
{
    if (j->kind == VBR_JOB_LOGOUT)
        return VBR_FOR_LOGOUT;
    if (j->kind == VBR_JOB_CALL && j->e->refresh_token != NULL &&
        !j->refresh_refused)
        return VBR_FOR_REFRESH;
    return VBR_FOR_LOGIN;
}

/* Ask the transport before replacing the credentials. */
static const vbr_step *acquire(vbr_job *j)
{
    vbr_engine *e = j->e;
    vbr_purpose purpose = auth_needed(j);
    clear_step(j);
    set_request(j, purpose);
    j->auth_purpose = purpose;
    if (e->access_token != NULL &&
        (j->access_copy = vbr_strdup(e->access_token)) == NULL)
        return fail_oom(j);
    j->state = JS_ACQUIRING;
    j->step.action = VBR_ACQUIRE;
    j->step.purpose = purpose;
    j->step.access_token = j->access_copy;
    /* a refresh, then a login attempt, may take a timeout each */
    j->step.lease = (e->timeout > 0 ? e->timeout : 60.0) * 2 + 5;
    return &j->step;
}

/* End the grant: share the outcome, then go on with `then`. */
static const vbr_step *publish(vbr_job *j, then_step then)
{
    vbr_engine *e = j->e;
    int failed = then == THEN_FAIL;
    clear_step(j);
    j->holds = 0;
    j->then = then;
    j->state = JS_PUBLISHING;
    j->step.action = VBR_PUBLISH;
    j->step.purpose = j->auth_purpose;
    if (e->closed)
        return &j->step;                /* a release, nothing to share */
    if (failed && j->kind != VBR_JOB_LOGOUT) {
        j->step.error = &j->err;
        return &j->step;
    }
    /* new credentials, or none after a logout */
    memset(&j->tokens, 0, sizeof j->tokens);
    if (e->access_token != NULL && !e->access_refused) {
        j->access_copy = vbr_strdup(e->access_token);
        j->refresh_copy = vbr_strdup(e->refresh_token);
        if (j->access_copy == NULL ||
            (e->refresh_token != NULL && j->refresh_copy == NULL)) {
            /* out of memory: release without sharing */
            vbr_secret_free(j->access_copy);
            j->access_copy = NULL;
            return &j->step;
        }
        j->tokens.access_token = j->access_copy;
        j->tokens.refresh_token = j->refresh_copy;
        j->tokens.expires_in = e->expires_at - vbr_now();
        j->tokens.lifetime = e->lifetime;
    }
    j->tokens.api_version = e->api_version;
    j->step.tokens = &j->tokens;
    return &j->step;
}

/* The grant is ours: send what needs it. */
static const vbr_step *granted(vbr_job *j)
{
    vbr_purpose purpose = auth_needed(j);
    if (purpose != VBR_FOR_LOGOUT)
        return send_token_request(j, purpose == VBR_FOR_REFRESH);
    if (j->e->access_token == NULL)     /* dropped meanwhile */
        return publish(j, THEN_DONE);
    return send_with_token(j, VBR_FOR_LOGOUT);
}

/* ------------------------------------------------------------- planning */

/* Decide the next request from the engine's state (start, after a sleep,
 * after new credentials). */
static const vbr_step *plan(vbr_job *j)
{
    vbr_engine *e = j->e;
    if (j->holds)
        return granted(j);             /* a retry of the token request */
    switch (j->kind) {
    case VBR_JOB_LOGOUT:
        if (e->access_token == NULL || e->access_refused)
            return finish_done(j, NULL);
        return acquire(j);
    case VBR_JOB_LOGIN:
        return acquire(j);
    case VBR_JOB_CALL:
    default:
        if (token_fresh(e, vbr_now()))
            return send_with_token(j, VBR_FOR_CALL);
        return acquire(j);
    }
}

/* Wait and try again if the budget allows, else fail with the cause. */
static const vbr_step *retry_or_fail(vbr_job *j, const vbr_response *resp)
{
    vbr_engine *e = j->e;
    double delay = e->retry_base_delay, after;
    char suffix[64];
    failure f = {AUTO_KIND, 0, NULL, NULL, NULL, 1, 0};
    int i;
    if (j->failures + 1 < e->retry_attempts) {
        for (i = 0; i < j->failures && delay < e->retry_max_delay; i++)
            delay *= 2;
        if (delay > e->retry_max_delay)
            delay = e->retry_max_delay;
        delay = delay / 2 + random_unit(e) * delay / 2;
        after = retry_after_seconds(resp->retry_after);
        if (after > delay)
            delay = after;
        if (vbr_now() - j->started + delay <= e->retry_max_time) {
            j->failures++;
            e->stats.retries++;
            return sleep_step(j, delay);
        }
    }
    snprintf(suffix, sizeof suffix, " (gave up after %d attempt%s)",
             j->failures + 1, j->failures ? "s" : "");
    f.suffix = suffix;
    if (resp->error != VBR_TE_NONE)
        return fail_from_transport(j, resp, f);
    return fail_from_answer(j, resp, f);
}

/* --------------------------------------------------- answers to requests */

static int is_veeam_code(vbr_job *j, const vbr_response *resp,
                         const char *code)
{
    vbr_json_field f = {"errorCode", 0, NULL, 0, 0};
    int match;
    json_fields(j->e, resp->body, resp->body_len, &f, 1);
    match = f.str != NULL && strcmp(f.str, code) == 0;
    free_fields(&f, 1);
    return match;
}

/* auto: pick the next revision to try after NotImplemented; 0 if none. */
static int step_down_revision(vbr_job *j, const vbr_response *resp)
{
    vbr_json_field f = {"message", 0, NULL, 0, 0};
    const char *msg;
    size_t i;
    int listed;
    json_fields(j->e, resp->body, resp->body_len, &f, 1);
    msg = f.str ? f.str : "";
    listed = strstr(msg, "-rev") != NULL;
    for (i = j->candidate + 1; vbr_revisions[i].name != NULL; i++) {
        const char *name = vbr_revisions[i].name, *hit = msg;
        size_t n = strlen(name);
        int found = !listed;
        if (!checked_revision(i))
            continue;
        while (!found && (hit = strstr(hit, name)) != NULL) {
            found = !isdigit((unsigned char)hit[n]);
            hit += n;
        }
        if (found) {
            j->candidate = i;
            free_fields(&f, 1);
            return 1;
        }
    }
    free_fields(&f, 1);
    return 0;
}

static const vbr_step *on_token_answer(vbr_job *j, const vbr_response *resp,
                                       int refresh)
{
    vbr_engine *e = j->e;
    vbr_json_field f[3] = {{"access_token", 0, NULL, 0, 0},
                           {"refresh_token", 0, NULL, 0, 0},
                           {"expires_in", 1, NULL, 0, 0}};
    int ok = resp->error == VBR_TE_NONE && resp->status >= 200 &&
             resp->status < 300;
    const char *problem;

    if (refresh && !ok) {
        /* refused, expired, consumed or lost: the password grant decides */
        j->refresh_refused = 1;
        vbr_secret_free(e->refresh_token);
        e->refresh_token = NULL;
        return send_token_request(j, 0);
    }
    if (!ok) {
        /* a duplicate login only makes a spare token: retry like a GET */
        if (resp->error != VBR_TE_NONE) {
            if (transient_transport(resp->error))
                return retry_or_fail(j, resp);
            return fail_from_transport(j, resp, (failure){.kind = AUTO_KIND});
        }
        if (transient_status(resp->status))
            return retry_or_fail(j, resp);
        if (resp->status == 400 && is_veeam_code(j, resp, "NotImplemented")) {
            if (e->auto_version && e->api_version == NULL &&
                step_down_revision(j, resp))
                return send_token_request(j, 0);
            return fail_from_answer(j, resp, (failure){
                .kind = VBR_ERR_API,
                .suffix = e->auto_version ? " (no API revision in common)"
                                          : NULL});
        }
        return fail_from_answer(j, resp, (failure){.kind = VBR_ERR_AUTH});
    }

    if (json_fields(e, resp->body, resp->body_len, f, 3) != 0 ||
        f[0].str == NULL || f[0].str[0] == '\0') {
        failure bad = {VBR_ERR_DECODE, resp->status, NULL,
                       "token answer without access_token", NULL, 0, 0};
        free_fields(f, 3);
        return finish_fail(j, &bad);
    }
    problem = token_problem(f[0].str);
    if (problem == NULL && f[1].str && f[1].str[0])
        problem = token_problem(f[1].str);
    if (problem != NULL) {
        char text[128];
        failure bad = {VBR_ERR_DECODE, resp->status, NULL, text, NULL, 0, 0};
        snprintf(text, sizeof text, "token answer with %s", problem);
        free_fields(f, 3);
        return finish_fail(j, &bad);
    }
    drop_tokens(e);
    e->access_token = f[0].str;
    e->refresh_token = f[1].str && f[1].str[0] ? f[1].str : NULL;
    if (e->refresh_token == NULL)
        vbr_secret_free(f[1].str);
    f[0].str = f[1].str = NULL;
    e->lifetime = f[2].present && f[2].num > 0 ? f[2].num : DEFAULT_EXPIRES_IN;
    e->expires_at = j->sent_at + e->lifetime;
    if (e->api_version == NULL) {
        e->api_version = vbr_strdup(vbr_revisions[j->candidate].name);
        if (e->api_version == NULL)
            return fail_oom(j);
    }
    if (refresh)
        e->stats.refreshes++;
    else
        e->stats.logins++;
    /* then use what we just got even if the server made it very
     * short-lived: re-checking freshness could refresh forever */
    return publish(j, j->kind == VBR_JOB_LOGIN ? THEN_DONE : THEN_CALL);
}

static const char *redirect_host(const char *location, char *out, size_t n)
{
    const char *start, *end;
    if (location == NULL || (start = strstr(location, "://")) == NULL)
        return "the same host";
    start += 3;
    end = start + strcspn(start, "/?#");
    snprintf(out, n, "%.*s", (int)(end - start), start);
    return out;
}

static const vbr_step *on_call_answer(vbr_job *j, const vbr_response *resp)
{
    vbr_engine *e = j->e;
    if (resp->error != VBR_TE_NONE) {
        int may_resend = j->idempotent || !resp->sent;
        if (transient_transport(resp->error) && may_resend)
            return retry_or_fail(j, resp);
        return fail_from_transport(j, resp, (failure){
            .kind = AUTO_KIND, .outcome_unknown = !may_resend});
    }
    if (resp->status == 401 && e->token_gen != j->gen_used &&
        j->stale_401s < MAX_STALE_401S) {
        /* refused before processing, but the engine has other credentials
         * by now (another job got or adopted them): a resend with those is
         * no re-authentication of this job's */
        j->stale_401s++;
        return plan(j);
    }
    if (resp->status == 401 && !j->reauthed) {
        /* the token was refused before processing: new credentials and one
         * resend, for a POST too */
        j->reauthed = 1;
        if (e->token_gen == j->gen_used)
            e->access_refused = 1;     /* named in ACQUIRE as the one to go */
        return plan(j);
    }
    if (resp->status >= 200 && resp->status < 300)
        return finish_done(j, resp);
    if (resp->status >= 300 && resp->status < 400) {
        char host[256], text[400];
        failure f = {VBR_ERR_HTTP, resp->status, NULL, text, NULL, 0, 0};
        snprintf(text, sizeof text, "redirect to %s not followed",
                 redirect_host(resp->location, host, sizeof host));
        return finish_fail(j, &f);
    }
    if (transient_status(resp->status)) {
        if (j->idempotent)
            return retry_or_fail(j, resp);
        /* 429 and 503 refuse before processing; a gateway error may not */
        return fail_from_answer(j, resp, (failure){
            .kind = AUTO_KIND,
            .retryable = resp->status == 429 || resp->status == 503,
            .outcome_unknown = resp->status == 502 || resp->status == 504});
    }
    return fail_from_answer(j, resp, (failure){
        .kind = resp->status == 401 ? VBR_ERR_AUTH : AUTO_KIND});
}

static const vbr_step *on_logout_answer(vbr_job *j, const vbr_response *resp)
{
    /* whatever the server says, these tokens are not to be used again; the
     * PUBLISH that follows says so */
    drop_tokens(j->e);
    if (resp->error != VBR_TE_NONE)
        return fail_from_transport(j, resp, (failure){.kind = AUTO_KIND});
    if ((resp->status >= 200 && resp->status < 300) || resp->status == 401)
        return publish(j, THEN_DONE);
    return fail_from_answer(j, resp, (failure){.kind = AUTO_KIND});
}


/* After a PUBLISH: what it was published before. */
static const vbr_step *after_publish(vbr_job *j)
{
    switch (j->then) {
    case THEN_CALL:
        return send_with_token(j, VBR_FOR_CALL);
    case THEN_DONE:
        return finish_done(j, NULL);
    case THEN_FAIL:
    default:
        return fail_step(j);
    }
}

static int awaits_response(const vbr_job *j)
{
    return j->state == JS_WAIT_LOGIN || j->state == JS_WAIT_REFRESH ||
           j->state == JS_WAIT_CALL || j->state == JS_WAIT_LOGOUT;
}

const vbr_step *vbr_job_next(vbr_job *j, const vbr_response *resp)
{
    if (j == NULL || j->state == JS_FINISHED)
        return NULL;
    if (awaits_response(j) != (resp != NULL))
        return NULL;
    if (j->state == JS_PUBLISHING)
        return after_publish(j);       /* even when closed: the FAIL step */
    if (j->e->closed)
        return fail_closed(j);
    switch (j->state) {
    case JS_WAIT_LOGIN:
        return on_token_answer(j, resp, 0);
    case JS_WAIT_REFRESH:
        return on_token_answer(j, resp, 1);
    case JS_WAIT_CALL:
        return on_call_answer(j, resp);
    case JS_WAIT_LOGOUT:
        return on_logout_answer(j, resp);
    case JS_ACQUIRING:
        j->holds = 1;
        return granted(j);
    case JS_START:
    case JS_SLEEPING:
    default:
        return plan(j);
    }
}

const vbr_step *vbr_job_adopt(vbr_job *j, const vbr_tokens *t)
{
    if (j == NULL || j->state != JS_ACQUIRING || t == NULL)
        return NULL;
    if (j->e->closed)
        return fail_closed(j);
    if (set_tokens(j->e, t) != 0)
        return NULL;
    if (++j->adoptions > MAX_ADOPTIONS) {
        /* a store that keeps handing over dead credentials */
        failure f = {VBR_ERR_AUTH, 0, NULL, "the credentials other jobs "
                     "obtained kept being expired or refused", NULL, 0, 0};
        return finish_fail(j, &f);
    }
    /* credentials another job obtained may be dead too (a logout, an
     * expiry at the server): a 401 for them gets this job's own attempt */
    j->reauthed = 0;
    if (j->kind == VBR_JOB_LOGIN)
        return finish_done(j, NULL);   /* credentials are there */
    return plan(j);
}

const vbr_step *vbr_job_fail_shared(vbr_job *j, const vbr_error *err)
{
    failure f = {0, 0, NULL, NULL, NULL, 0, 0};
    if (j == NULL || j->state != JS_ACQUIRING || err == NULL ||
        (int)err->kind < VBR_ERR_NETWORK || err->kind > VBR_ERR_DECODE)
        return NULL;
    f.kind = (int)err->kind;
    f.status = err->status >= 100 && err->status <= 599 ? err->status : 0;
    f.code = err->code;
    f.text = err->message;
    f.retryable = err->retryable;
    return finish_fail(j, &f);
}
