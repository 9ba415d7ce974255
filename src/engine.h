/*
 * engine.h - authentication, request and retry decisions for one VBR server,
 * with no I/O at all; and the contract of the transports that carry them out.
 *
 * The engine decides whether to log in, refresh, retry, re-login, negotiate
 * the API revision, or give up.  It never sends anything itself, never
 * sleeps, never waits for a lock, and calls its host only to decode JSON and
 * to fetch the password.  A transport drives a job step by step and does
 * what each step says, nothing else:
 *
 *     vbr_call call = {"GET", "/api/v1/configBackup", NULL, NULL, 0, 0};
 *     vbr_job *job = vbr_job_new(engine, VBR_JOB_CALL, &call);
 *     const vbr_step *step = vbr_job_next(job, NULL);
 *     while (step->action != VBR_DONE && step->action != VBR_FAIL) {
 *         switch (step->action) {
 *         case VBR_SEND:    perform the request; step = vbr_job_next(job, &r);
 *         case VBR_SLEEP:   wait step->seconds; step = vbr_job_next(job, NULL);
 *         case VBR_ACQUIRE: go ahead: step = vbr_job_next(job, NULL), or
 *                           vbr_job_adopt / vbr_job_fail_shared (below);
 *         case VBR_PUBLISH: share (or not); step = vbr_job_next(job, NULL);
 *         }
 *     }
 *     VBR_DONE: step->response is the answer (NULL for login and logout
 *     jobs); VBR_FAIL: step->error says why.
 *     vbr_job_free(job);
 *
 * The transports: libcurl easy (transport_curl.c, driven by core_client.c's
 * run_job), nginx subrequests (lua/vbr/nginx.lua, through the Lua step API
 * of core_step.c), and any other that follows this contract.
 *
 * SEND: perform one HTTP request.  Everything needed is in the step: method,
 *   scheme, host, port, path (with the URL's prefix) and query (encoded, or
 *   NULL) - or the same as one url -, headers (send exactly these, nothing
 *   of another request), body (NULL: none), timeout for the whole exchange
 *   and max_response_size (a longer body is VBR_TE_TOO_LARGE, not read on).
 *   Never follow a redirect: report the 3xx and its Location.  Answer with a
 *   vbr_response: the status, body and three headers; or, when no answer
 *   came, status 0 and the transport error (connect: nothing was sent;
 *   reset: the connection broke; timeout; tls; too_large; other) with
 *   `sent` saying whether the request may have reached the server (when in
 *   doubt, 1: the engine then never resends a POST).  `fresh_connection`
 *   asks not to reuse a kept-alive connection, because libcurl silently
 *   resends a request once on a reused connection found dead; a transport
 *   that never resends (nginx) may ignore it.
 * SLEEP: wait step->seconds (a retry's backoff), then vbr_job_next(job, NULL).
 * ACQUIRE: the job is about to log in, refresh or log out: a request that
 *   replaces the credentials, which must not run twice at once for one
 *   server and user (a refresh token is single-use).  step->access_token is
 *   the token the job means to replace (NULL: it has none).  The transport
 *   answers with one of
 *     vbr_job_next(job, NULL)      go ahead: the job now holds the grant;
 *     vbr_job_adopt(job, tokens)   newer credentials another job obtained
 *                                  meanwhile (from a shared store: their
 *                                  access token differs from
 *                                  step->access_token): the job takes them
 *                                  and plans again, without the grant;
 *     vbr_job_fail_shared(job, e)  the login or refresh this job waited for
 *                                  failed with e: this job fails with it at
 *                                  once (the next job tries again).
 *   A transport that runs one job per engine at a time, and shares nothing
 *   with other processes, goes ahead at once (libcurl easy, the multi
 *   transport with one job per client).  One that runs several jobs of one
 *   engine at once, or shares credentials (nginx workers), lets one job at
 *   a time hold the grant and answers the others when the holder PUBLISHes.
 *   step->lease is how long a grant may stay unpublished before the
 *   transport may presume its holder dead.
 * PUBLISH: ends a grant.  step->tokens are the new credentials (after a
 *   login or refresh; access_token NULL after a logout), or step->error the
 *   failure the waiters must share.  The transport stores them where the
 *   waiters and other processes find them, releases the grant, and goes on
 *   with vbr_job_next(job, NULL).  A job that holds a grant always PUBLISHes
 *   before it ends, unless it is freed first: a transport that abandons a
 *   job (vbr_job_free) releases its grant itself.
 *
 * Memory: a step and everything it points to belong to the job and stay
 * valid until the next call on that job (vbr_job_next, _adopt, _fail_shared,
 * _free).  What a transport passes in (a response, tokens, an error) is
 * borrowed for the duration of that call only.  Secrets in steps (the
 * Authorization header, a login form, tokens) are wiped by the engine when
 * the step is replaced; a transport wipes its own copies.
 *
 * Several jobs of one engine may be in flight at once; the engine itself
 * never blocks one for another (ACQUIRE leaves that to the transport).
 */
#ifndef VBR_ENGINE_H
#define VBR_ENGINE_H

#include <stddef.h>

#define VBR_MAX_HEADERS 6

typedef struct vbr_engine vbr_engine;
typedef struct vbr_job vbr_job;

typedef enum {
    VBR_SEND = 1, VBR_SLEEP, VBR_ACQUIRE, VBR_PUBLISH, VBR_DONE, VBR_FAIL
} vbr_action;

typedef enum {
    VBR_FOR_CALL = 0, VBR_FOR_LOGIN, VBR_FOR_REFRESH, VBR_FOR_LOGOUT
} vbr_purpose;

/* What went wrong below HTTP, as a transport reports it. */
typedef enum {
    VBR_TE_NONE = 0,
    VBR_TE_CONNECT,    /* could not connect (nothing sent) */
    VBR_TE_RESET,      /* connection broke */
    VBR_TE_TIMEOUT,
    VBR_TE_TLS,        /* handshake, verification or pinning failed */
    VBR_TE_TOO_LARGE,  /* body above the configured cap */
    VBR_TE_OTHER
} vbr_transport_error;

typedef enum {
    VBR_ERR_NETWORK = 0, VBR_ERR_TLS, VBR_ERR_TIMEOUT, VBR_ERR_HTTP,
    VBR_ERR_API, VBR_ERR_AUTH, VBR_ERR_DECODE
} vbr_error_kind;

/* A response (or transport failure) fed back to the engine.  All pointers are
 * borrowed for the duration of the vbr_job_next call only. */
typedef struct vbr_response {
    int status;                   /* HTTP status, 0 on transport error */
    vbr_transport_error error;
    int sent;                     /* the request may have reached the server */
    const char *message;          /* transport detail (no secrets), or NULL */
    const char *body;
    size_t body_len;
    const char *content_type;     /* header values, or NULL */
    const char *retry_after;
    const char *location;
} vbr_response;

typedef struct vbr_error {
    vbr_error_kind kind;
    int status;                   /* 0 when there was no HTTP answer */
    char *code;                   /* Veeam errorCode, or NULL */
    char *message;
    const char *method;
    const char *path;
    int retryable;
    int outcome_unknown;
} vbr_error;

typedef struct vbr_header {
    const char *name;
    const char *value;
} vbr_header;

/* Credentials, as PUBLISH shares them and vbr_job_adopt takes them.
 * Secrets: never log or print them. */
typedef struct vbr_tokens {
    const char *access_token;     /* NULL: none (after a logout) */
    const char *refresh_token;    /* NULL when there is none */
    double expires_in;            /* seconds left, <= 0 when expired */
    double lifetime;              /* seconds the server gave the token */
    const char *api_version;      /* NULL while "auto" is unresolved */
} vbr_tokens;

typedef struct vbr_step {
    vbr_action action;
    /* VBR_SEND, VBR_ACQUIRE, VBR_PUBLISH */
    vbr_purpose purpose;
    /* VBR_SEND */
    const char *method;
    const char *scheme;           /* "https" */
    const char *host;             /* as in the URL: "[::1]" keeps brackets */
    int port;
    const char *path;             /* on the wire: the URL's prefix + path */
    const char *query;            /* encoded "a=b&c=d", or NULL */
    const char *url;              /* all of the above in one */
    vbr_header headers[VBR_MAX_HEADERS];
    size_t nheaders;
    const char *body;             /* NULL when there is none */
    size_t body_len;
    double timeout;               /* seconds for the whole exchange, 0 = none */
    size_t max_response_size;     /* bytes of body at most */
    int fresh_connection;         /* see SEND above */
    /* VBR_SLEEP */
    double seconds;
    /* VBR_ACQUIRE */
    const char *access_token;     /* the one the job means to replace */
    double lease;                 /* seconds a grant may stay unpublished */
    /* VBR_PUBLISH: tokens, or (VBR_FAIL too) error */
    const vbr_tokens *tokens;
    /* VBR_DONE (NULL for login and logout jobs) */
    const vbr_response *response;
    /* VBR_PUBLISH of a failure, VBR_FAIL */
    const vbr_error *error;
} vbr_step;

/* Host services.  Both may call into Lua; the engine invokes them only from
 * vbr_job_next, never from inside a transport. */
typedef struct vbr_json_field {
    const char *name;
    int want_number;              /* else a string */
    char *str;                    /* malloc'd by the host; the engine frees */
    double num;
    int present;
} vbr_json_field;

typedef struct vbr_host {
    void *ud;
    /* Decode a JSON object and fill the requested top-level fields.
     * Returns 0 for an object, -1 when json is not a JSON object. */
    int (*json_fields)(void *ud, const char *json, size_t len,
                       vbr_json_field *fields, size_t nfields);
    /* Return the password as a malloc'd string (the engine wipes and frees
     * it), or NULL with *why set to a static explanation. */
    char *(*password)(void *ud, const char **why);
    /* The password the host keeps (given, or the one fetched last), so
     * that server text of any answer is scrubbed of it; NULL (or no
     * function) when it keeps none. */
    const char *(*held_password)(void *ud);
} vbr_host;

typedef struct vbr_config {
    const char *host;             /* as in the URL ("[::1]" for IPv6) */
    int port;
    const char *prefix;           /* "" or "/prefix", no trailing / */
    const char *username;
    const char *api_version;      /* "X.Y-revN", or "auto" (also NULL) */
    double timeout;               /* per request, seconds, 0 = none */
    double refresh_margin;        /* refresh this long before expiry */
    size_t max_response_size;     /* bytes of body at most */
    int retry_attempts;           /* sends of one request, >= 1 */
    double retry_max_time;        /* seconds a job may spend retrying */
    double retry_base_delay;
    double retry_max_delay;
} vbr_config;

typedef struct vbr_stats {
    unsigned long requests;       /* HTTP requests handed to a transport */
    unsigned long retries;        /* resends decided by the retry policy */
    unsigned long logins;         /* successful password logins */
    unsigned long refreshes;      /* successful token refreshes */
} vbr_stats;

typedef enum { VBR_JOB_CALL = 0, VBR_JOB_LOGIN, VBR_JOB_LOGOUT } vbr_job_kind;

/* Every API revision vbr knows, newest first, with the one whose OpenAPI
 * document it was checked against: itself, or an older one of the same
 * version that behaves alike.  "auto" settles only on revisions checked
 * against their own document. */
typedef struct vbr_revision {
    const char *name;
    const char *document;
} vbr_revision;

extern const vbr_revision vbr_revisions[];    /* ends with {NULL, ...} */

/* 1 if s looks like "X.Y-revN" (each number at most 65535). */
int vbr_revision_valid(const char *s);

/* The longest token the engine takes (an Authorization header line must
 * stay well below what servers and libcurl accept). */
#define VBR_MAX_TOKEN 65536

/* NULL when out of memory. */
vbr_engine *vbr_engine_new(const vbr_config *cfg, const vbr_host *host);
/* Wipe the tokens, forget the host and mark the engine closed; jobs still
 * alive fail at their next step. */
void vbr_engine_close(vbr_engine *e);
/* Drop the caller's reference (frees when no job holds one either). */
void vbr_engine_release(vbr_engine *e);
/* "https://host:port[/prefix]" */
const char *vbr_engine_url(const vbr_engine *e);
/* Scrub text[0..*len) of the engine's tokens in any encoding (vbr_scrub of
 * text.h; room for *len + 1 bytes); returns the replacements.  The tokens
 * themselves never leave the engine this way. */
size_t vbr_engine_scrub(const vbr_engine *e, char *text, size_t *len);
/* The revision in use; NULL while "auto" has not been negotiated yet. */
const char *vbr_engine_api_version(const vbr_engine *e);
vbr_stats vbr_engine_stats(const vbr_engine *e);

/* Seconds of a monotonic clock. */
double vbr_now(void);

/* An API call: everything is copied by vbr_job_new. */
typedef struct vbr_call {
    const char *method;
    const char *path;             /* "/api/v1/...", may hold "?query" */
    const char *query;            /* already encoded "a=b&c=d", or NULL */
    const char *body;             /* JSON text, or NULL */
    size_t body_len;
    double timeout;               /* <= 0: the engine default */
} vbr_call;

/* Create a job; call is needed for VBR_JOB_CALL only (login and logout jobs
 * take NULL).  Returns NULL when out of memory. */
vbr_job *vbr_job_new(vbr_engine *e, vbr_job_kind kind, const vbr_call *call);
/* The same as vbr_job_free(job) then vbr_job_new(its engine, kind, call),
 * in the finished job's memory: its buffers are kept, so a client that
 * runs one job after another allocates nothing per request.  A job that
 * has not finished (VBR_DONE or VBR_FAIL) is freed and a new one made.
 * NULL when out of memory (job is freed then too). */
vbr_job *vbr_job_renew(vbr_job *job, vbr_job_kind kind, const vbr_call *call);
/* Advance: pass NULL at the start and after SLEEP, ACQUIRE (go ahead) and
 * PUBLISH, the response after SEND.  Returns NULL on misuse (wrong input
 * for the state, or the job has already finished): the caller should
 * raise. */
const vbr_step *vbr_job_next(vbr_job *job, const vbr_response *resp);
/* Answer ACQUIRE with newer credentials (copied; an access token is
 * required).  Returns the next step, or NULL on misuse: not after ACQUIRE,
 * or credentials the engine refuses (a token that is not printable ASCII
 * or longer than VBR_MAX_TOKEN, a malformed api_version) - the job is then
 * still waiting for its answer. */
const vbr_step *vbr_job_adopt(vbr_job *job, const vbr_tokens *t);
/* Answer ACQUIRE with the failure of the login or refresh the job waited
 * for: the job fails with a copy of it (kind, status, code, message,
 * retryable; the request is this job's token request).  NULL on misuse. */
const vbr_step *vbr_job_fail_shared(vbr_job *job, const vbr_error *err);
/* The last step returned, or NULL before the first. */
const vbr_step *vbr_job_step(const vbr_job *job);
void vbr_job_free(vbr_job *job);

const char *vbr_error_kind_name(vbr_error_kind kind);
/* The kind of a name vbr_error_kind_name gives; -1 for another. */
int vbr_error_kind_of(const char *name);
const char *vbr_transport_error_name(vbr_transport_error te);

#endif
