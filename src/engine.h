/*
 * engine.h - authentication, request and retry decisions for one VBR server,
 * with no I/O at all.
 *
 * A transport (libcurl in transport_curl.c, nginx subrequests in
 * lua/vbr/nginx.lua through the Lua step API) drives a job step by step:
 *
 *     vbr_call call = {"GET", "/api/v1/configBackup", NULL, NULL, 0, 0};
 *     vbr_job *job = vbr_job_new(engine, VBR_JOB_CALL, &call);
 *     const vbr_step *step = vbr_job_next(job, NULL);
 *     for (;;) {
 *         switch (step->action) {
 *         case VBR_SEND:  perform the request, fill a vbr_response r;
 *                         step = vbr_job_next(job, &r); break;
 *         case VBR_SLEEP: wait step->seconds; step = vbr_job_next(job, NULL); break;
 *         case VBR_DONE:  step->response is the answer (it aliases the last
 *                         response passed in); stop.
 *         case VBR_FAIL:  step->error says why; stop.
 *         }
 *     }
 *     vbr_job_free(job);
 *
 * The engine decides whether to log in, refresh, retry, re-login, negotiate
 * the API revision, or give up.  It never sends anything itself, never
 * sleeps, and calls the host only to decode JSON and to fetch the password.
 * Several jobs of one engine may be in flight at once (nginx): logins and
 * refreshes are serialised by a lock inside the engine, the others wait with
 * short SLEEP steps, because a refresh token is single-use.
 */
#ifndef VBR_ENGINE_H
#define VBR_ENGINE_H

#include <stddef.h>

#define VBR_MAX_HEADERS 6

typedef struct vbr_engine vbr_engine;
typedef struct vbr_job vbr_job;

typedef enum { VBR_SEND = 1, VBR_SLEEP, VBR_DONE, VBR_FAIL } vbr_action;

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

typedef struct vbr_step {
    vbr_action action;
    /* VBR_SEND */
    vbr_purpose purpose;
    const char *method;
    const char *path;             /* without the query */
    const char *url;              /* full URL with query */
    vbr_header headers[VBR_MAX_HEADERS];
    size_t nheaders;
    const char *body;             /* NULL when there is none */
    size_t body_len;
    double timeout;               /* seconds for the whole exchange, 0 = none */
    /* libcurl silently resends a request once when a reused connection turns
     * out dead before any answer; for a POST that may already have been
     * processed, so a call that must never be sent twice asks for a new
     * connection. Transports without such a resend may ignore it. */
    int fresh_connection;
    /* VBR_SLEEP */
    double seconds;
    /* VBR_DONE (NULL for login and logout jobs) */
    const vbr_response *response;
    /* VBR_FAIL */
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
    /* The password when the host keeps it anyway (given as a string), so
     * that server text of any answer is scrubbed of it; NULL (or no
     * function) when it is fetched on demand only. */
    const char *(*held_password)(void *ud);
} vbr_host;

typedef struct vbr_config {
    const char *base_url;         /* https://host:port[/prefix], no trailing / */
    const char *username;
    const char *api_version;      /* "X.Y-revN" or "auto" */
    double timeout;               /* per request, seconds, 0 = none */
    double refresh_margin;        /* refresh this long before expiry */
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

/* Newest first: the revisions whose OpenAPI documents vbr was checked
 * against, and so the only ones "auto" will settle on. */
extern const char *const vbr_known_revisions[];

/* 1 if s looks like "X.Y-revN". */
int vbr_revision_valid(const char *s);

vbr_engine *vbr_engine_new(const vbr_config *cfg, const vbr_host *host);
/* Wipe the tokens and mark the engine closed; jobs still alive fail. */
void vbr_engine_close(vbr_engine *e);
/* Drop the caller's reference (frees when no job holds one either). */
void vbr_engine_release(vbr_engine *e);
/* The revision in use; NULL while "auto" has not been negotiated yet. */
const char *vbr_engine_api_version(const vbr_engine *e);
vbr_stats vbr_engine_stats(const vbr_engine *e);

/* The credentials of an engine, so that processes talking to one server as
 * one user (the workers of an nginx) can share them: a refresh token is
 * single-use, so only one of them may refresh, and the others take the
 * result.  Secrets: never log or print them. */
typedef struct vbr_tokens {
    const char *access_token;     /* NULL when the engine has none */
    const char *refresh_token;    /* NULL when there is none */
    double expires_in;            /* seconds left, <= 0 when expired */
    double lifetime;              /* seconds the server gave the token */
    const char *api_version;      /* NULL while "auto" is unresolved */
    unsigned long generation;     /* bumped whenever the tokens change */
} vbr_tokens;

/* Fill t with the engine's credentials (borrowed: valid until they change);
 * returns 1 when there is an access token, else 0. */
int vbr_engine_tokens(const vbr_engine *e, vbr_tokens *t);
/* Replace the engine's credentials with copies of t's (t NULL or without an
 * access token: drop them), as if it had obtained them itself; an "auto"
 * engine still unresolved adopts t->api_version.  Returns 0, or -1 when a
 * token is not printable ASCII, the revision is malformed or memory ran out
 * (the engine holds no credentials then). */
int vbr_engine_set_tokens(vbr_engine *e, const vbr_tokens *t);

/* Seconds of a monotonic clock. */
double vbr_now(void);

/* An API call: everything is copied by vbr_job_new. */
typedef struct vbr_call {
    const char *method;
    const char *path;             /* "/api/v1/..." */
    const char *query;            /* already encoded "a=b&c=d", or NULL */
    const char *body;             /* JSON text, or NULL */
    size_t body_len;
    double timeout;               /* <= 0: the engine default */
} vbr_call;

/* Create a job; call is needed for VBR_JOB_CALL only (login and logout jobs
 * take NULL).  Returns NULL when out of memory. */
vbr_job *vbr_job_new(vbr_engine *e, vbr_job_kind kind, const vbr_call *call);
/* Advance: pass NULL on the first call and after a SLEEP, the response after
 * a SEND.  Returns NULL on misuse (wrong input for the state, or the job has
 * already finished) - the caller should raise. */
const vbr_step *vbr_job_next(vbr_job *job, const vbr_response *resp);
/* The login or refresh the job's last SEND asked for was not sent, because
 * another process obtained credentials meanwhile and they were given with
 * vbr_engine_set_tokens: plan again with them (a login job is then done).
 * Returns the next step, or NULL when the job is not waiting for the answer
 * to a login or refresh. */
const vbr_step *vbr_job_withdraw(vbr_job *job);
/* Say the job is driven to its end without yielding (the blocking libcurl
 * loop): a login lock held by another job then means that job is stalled
 * (nothing else can run meanwhile), so this one takes the lock instead of
 * waiting for it. */
void vbr_job_set_blocking(vbr_job *job);
/* 1 when the last step returned was a SEND waiting for its response. */
int vbr_job_awaiting_response(const vbr_job *job);
int vbr_job_finished(const vbr_job *job);
void vbr_job_free(vbr_job *job);

const char *vbr_error_kind_name(vbr_error_kind kind);
const char *vbr_transport_error_name(vbr_transport_error te);

#endif
