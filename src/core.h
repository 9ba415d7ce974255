/*
 * core.h - what the files of the Lua binding (vbr.core) share: the client
 * and job userdata, and the helpers more than one of them calls.
 *
 *   core_error.c    error objects, their __tostring, the raise of misuse
 *   core_host.c     the engine's host services: JSON fields, the password
 *   core_options.c  core.new's options table, the URL
 *   core_client.c   the client, its blocking requests (libcurl)
 *   core_step.c     the step API another transport drives (vbr.nginx)
 *   vbr_core.c      module set-up: luaopen_vbr_core
 *   interrupt.c     core.interrupt: Ctrl-C for the command line and the REPL
 *
 * Rule: no Lua function that can raise is called while libcurl is on the
 * stack, and C memory is owned by a userdata with __gc whenever Lua code
 * may raise. A blocking call that a Ctrl-C ends raises core.interrupt.ERROR
 * (vbr_interrupt_check) once it holds nothing but what a __gc frees.
 */
#ifndef VBR_CORE_H
#define VBR_CORE_H

#include "compat.h"
#include "buf.h"
#include "engine.h"
#include "transport_curl.h"

#define CLIENT_MT "vbr.core.client"
#define JOB_MT "vbr.core.job"

#if defined(__GNUC__) || defined(__clang__)
#define VBR_NORETURN __attribute__((noreturn))
#else
#define VBR_NORETURN
#endif

typedef enum { PW_NONE, PW_STRING, PW_FUNCTION, PW_FILE } password_source;

typedef struct client {
    vbr_engine *engine;        /* NULL once closed */
    vbr_curl *curl;            /* NULL for a client driven by steps only */
    int steps;                 /* the caller answers ACQUIRE and PUBLISH */
    lua_State *L;              /* the thread currently calling in */
    password_source pw_source;
    char *password;            /* secret copy: given (PW_STRING), or the one the
                                * file or function gave last, kept to scrub
                                * it from every text until close */
    char *password_file;       /* PW_FILE */
    int password_ref;          /* PW_FUNCTION: registry reference */
    char *username;
    vbr_job *blocking;         /* the job of the blocking call in progress,
                                * owned here so that a raise cannot leak it */
    vbr_job *spare;            /* the last blocking call's, finished: the
                                * next one renews it (vbr_job_renew) */
} client;

static inline int core_client_closed(const client *c)
{
    return c->engine == NULL;
}

typedef struct job_box {
    vbr_job *job;
    client *c;
    int decode;                /* res.json for a JSON answer */
} job_box;

/* The longest username and password accepted, from any source: far above
 * what Windows allows (256 characters), and a bound on the cost of a long
 * near miss when a password is scrubbed from a text (text.c). */
#define CORE_MAX_CREDENTIAL 1024
#define CORE_STR_(x) #x
#define CORE_STR(x) CORE_STR_(x)      /* a number as a string literal */

/* core_error.c */
VBR_NORETURN void core_raise_error(lua_State *L, const char *fmt, ...);
void core_set_string(lua_State *L, const char *name, const char *value);
void core_set_bool(lua_State *L, const char *k, int v);
void core_set_number(lua_State *L, const char *k, double v);
void core_set_integer(lua_State *L, const char *k, long v);
void core_push_error_fields(lua_State *L, const char *kind, int status,
                            const char *code, const char *message,
                            const char *method, const char *path,
                            int retryable, int outcome_unknown);
/* An error of c's engine, its texts scrubbed of c's secrets. */
void core_push_error(lua_State *L, const client *c, const vbr_error *e);
int core_client_scrub(lua_State *L);
int core_is_error(lua_State *L);
int core_error(lua_State *L);
void core_open_errors(lua_State *L);
/* Remember the client userdata at idx (weakly), so that every text made fit
 * to be seen is scrubbed of its secrets while it is open. */
void core_track_client(lua_State *L, int idx);
/* Push s[0..len) with every open client's secrets scrubbed and what is not
 * printable escaped (text.h). */
void core_push_text(lua_State *L, const char *s, size_t len);
int core_printable(lua_State *L);

/* core_host.c */
vbr_host core_host(client *c);

/* core_options.c */
typedef struct options {
    const char *url;
    const char *username;
    const char *password;
    int password_fn;           /* stack index of a password function, or 0 */
    const char *password_file;
    const char *api_version;
    const char *ca_file;
    const char *ca_path;
    const char *pinned_public_key;
    const char *user_agent;
    int insecure;
    double connect_timeout;
    double timeout;
    double refresh_margin;
    double max_response_size;
    int retry_attempts;
    double retry_max_time;
    double retry_base_delay;
    double retry_max_delay;
} options;

typedef struct url_parts {
    const char *host;          /* as in the URL: "[::1]" keeps brackets */
    int port;
    const char *prefix;        /* "" or "/prefix" */
} url_parts;

void core_parse_options(lua_State *L, options *o);
void core_parse_url(lua_State *L, const char *url, url_parts *out);

/* core_client.c */
extern const char *const core_methods[];
extern const luaL_Reg core_client_methods[];
int core_new(lua_State *L);
int core_client_close(lua_State *L);
int core_client_tostring(lua_State *L);
client *core_check_client(lua_State *L, int open);
void core_check_call(lua_State *L, int first, vbr_call *a, int *decode);
job_box *core_new_job(lua_State *L, client *c, vbr_job_kind kind,
                      const vbr_call *a);
int core_job_close(lua_State *L);
int core_push_response(lua_State *L, const vbr_response *r,
                       const char *method, const char *path, int decode);
const vbr_step *core_answer_at_once(vbr_job *job, const vbr_step *s);
void core_sleep_seconds(double s);
int core_is_json(lua_State *L);

/* core_step.c */
extern const luaL_Reg core_step_methods[];
extern const luaL_Reg core_job_methods[];

/* transport_multi.c: core.multi, on the module table at the top */
void core_open_multi(lua_State *L);

#endif
