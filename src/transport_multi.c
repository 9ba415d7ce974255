/*
 * transport_multi.c - the libcurl multi transport: the jobs of many clients
 * in flight at once in one thread, each client with its own easy handle and
 * connection, all driven by one multi handle.
 *
 *   local m = core.multi()
 *   local id = m:add(job)           -- a job of c:begin / begin_login / begin_logout
 *   local done = m:poll(seconds)    -- waits at most that long for progress
 *   -- done: a list of {id = n, response = {status, body, content_type}}
 *   --       or {id = n, err = error} for the jobs that ended
 *   m:cancel(id); m:count(); m:close()
 *
 * A Ctrl-C in core.interrupt's "raise" mode ends m:poll's wait, aborts the
 * transfers (the progress callback of transport_curl.c) and raises
 * core.interrupt.ERROR from m:poll.
 *
 * The jobs are driven here, in C, step by step, as the blocking transport
 * does (core_client.c): a SEND starts the client's easy handle in the multi,
 * a SLEEP (a retry's backoff) is a timer, and the engine gets each response
 * when its transfer ends.  A client runs one job at a time, its credentials
 * its own: ACQUIRE goes ahead at once, PUBLISH has nobody to tell (the
 * contract of src/engine.h).  So no step, and no secret in a step, passes
 * through Lua.  vbr_job_next is only called from m:add and m:poll, never
 * from a libcurl callback (the callbacks only copy bytes), so the host
 * services' Lua calls (protected) never run while libcurl is on the stack.
 *
 * A client runs one job at a time here (one easy handle): more jobs of one
 * client wait their turn, in the order they came.  A client closed while
 * its job is in flight ends that job (its easy handle leaves the multi as
 * it is freed), and those waiting.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <curl/curl.h>

#include "core.h"
#include "interrupt.h"

#define MULTI_MT "vbr.core.multi"

typedef struct transfer {
    struct transfer *next;
    lua_Integer id;
    int job_ref;               /* registry: the job userdata (it anchors the client) */
    job_box *jb;
    vbr_curl *curl;            /* the client's, while a SEND is in the multi */
    const vbr_step *step;      /* the job's current step */
    double wake;               /* SLEEP: vbr_now() seconds to go on at */
    vbr_response response;     /* the last one given to the job: a DONE
                                * step's response points to it */
    int queued;                /* waits for its client's job in progress */
} transfer;

typedef struct multi {
    CURLM *m;
    transfer *list;
    lua_Integer next_id;
    int ended;                 /* transfers whose job is DONE or FAIL */
    unsigned released;         /* jobs ended since the last trim */
} multi;

/* A fleet makes and drops a TLS connection per server: thousands of
 * OpenSSL contexts, between the Lua heap's long-lived blocks.  glibc keeps
 * the freed pages in the middle of its heap resident, so the process would
 * grow with the fleet instead of with the concurrency; every so many jobs
 * they go back to the system (a walk of the heap: cheap at this rate). */
#define TRIM_EVERY 256

static void trim(multi *mu)
{
    if (++mu->released < TRIM_EVERY)
        return;
    mu->released = 0;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

static multi *check_multi(lua_State *L, int open)
{
    multi *mu = luaL_checkudata(L, 1, MULTI_MT);
    if (open && mu->m == NULL)
        core_raise_error(L, "vbr: the multi transport is closed");
    return mu;
}

static int is_over(const transfer *t)
{
    return !t->queued && (t->step == NULL || t->step->action == VBR_DONE ||
                          t->step->action == VBR_FAIL);
}

/* A job of this client is in progress (started, not ended). */
static int client_busy(const multi *mu, const client *c)
{
    const transfer *t;
    for (t = mu->list; t != NULL; t = t->next)
        if (t->jb->c == c && !t->queued && !is_over(t))
            return 1;
    return 0;
}

/* The transfer of a client whose job can no longer go on. */
static void client_gone(transfer *t)
{
    t->curl = NULL;            /* freed with the client, out of the multi */
    t->step = NULL;
}

/* Carries out steps until one has to wait: a SEND in flight, a SLEEP, or
 * the end.  s is the step the job just returned. */
static void advance(multi *mu, transfer *t, const vbr_step *s)
{
    for (;;) {
        s = core_answer_at_once(t->jb->job, s);     /* one job per client */
        t->step = s;
        t->wake = 0;
        if (s == NULL || core_client_closed(t->jb->c))
            return client_gone(t);
        if (s->action == VBR_SEND) {
            vbr_curl *curl = t->jb->c->curl;
            vbr_response *r = &t->response;
            memset(r, 0, sizeof *r);
            if (vbr_curl_own_connections(curl, s->fresh_connection) == 0 &&
                vbr_curl_prepare(curl, s, r) == 0 &&
                curl_easy_setopt(vbr_curl_handle(curl), CURLOPT_PRIVATE,
                                 (void *)t) == CURLE_OK &&
                curl_multi_add_handle(mu->m, vbr_curl_handle(curl))
                    == CURLM_OK) {
                t->curl = curl;
                return;
            }
            if (r->error == VBR_TE_NONE) {
                memset(r, 0, sizeof *r);
                r->error = VBR_TE_OTHER;
                r->message = "libcurl refused the transfer (out of memory?)";
            }
            r->sent = 0;
            s = vbr_job_next(t->jb->job, r);
        } else if (s->action == VBR_SLEEP) {
            t->wake = vbr_now() + (s->seconds > 0 ? s->seconds : 0);
            return;
        } else {
            mu->ended++;
            return;
        }
    }
}

static void release(lua_State *L, multi *mu, transfer *t)
{
    transfer **p;
    for (p = &mu->list; *p != NULL; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    if (t->curl != NULL && !core_client_closed(t->jb->c))
        curl_multi_remove_handle(mu->m, vbr_curl_handle(t->curl));
    if (t->jb->job != NULL) {
        vbr_job_free(t->jb->job);
        t->jb->job = NULL;
    }
    luaL_unref(L, LUA_REGISTRYINDEX, t->job_ref);
    free(t);
    trim(mu);
}

/* m:add(job) -> id */
static int multi_add(lua_State *L)
{
    multi *mu = check_multi(L, 1);
    job_box *jb = luaL_checkudata(L, 2, JOB_MT);
    transfer *t, *other;
    if (jb->job == NULL)
        return luaL_error(L, "vbr: job is closed");
    if (core_client_closed(jb->c))
        return luaL_error(L, "vbr: client is closed");
    if (vbr_job_step(jb->job) != NULL)
        return luaL_error(L, "vbr: the multi transport takes a job that has not started");
    if (jb->c->curl == NULL)
        return luaL_error(L, "vbr: the multi transport needs a client with its libcurl "
                             "handle (core.new(options), not \"steps\")");
    for (other = mu->list; other != NULL; other = other->next)
        if (other->jb == jb)
            return luaL_error(L, "vbr: the job is in the multi transport already");
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return luaL_error(L, "vbr: out of memory");
    lua_pushvalue(L, 2);
    t->job_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    t->jb = jb;
    t->id = ++mu->next_id;
    t->next = mu->list;
    mu->list = t;
    if (client_busy(mu, jb->c)) {
        t->queued = 1;                       /* its turn comes in m:poll */
    } else {
        jb->c->L = L;
        advance(mu, t, vbr_job_next(jb->job, NULL));
    }
    lua_pushinteger(L, t->id);
    return 1;
}

static int in_set(client *const *set, size_t n, const client *c)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (set[i] == c)
            return 1;
    return 0;
}

/* Starts the oldest waiting job of each client that has none in progress
 * (a closed client's end at once): one walk from the oldest transfer to
 * the newest, the clients seen busy in a set. */
static void start_waiting(lua_State *L, multi *mu)
{
    transfer *t, **order;
    client **busy;
    size_t n = 0, nbusy = 0, i;
    int waiting = 0;
    for (t = mu->list; t != NULL; t = t->next) {
        n++;
        waiting |= t->queued;
    }
    if (!waiting)
        return;                               /* the common case: nothing waits */
    order = malloc(n * sizeof(transfer *));
    busy = malloc(n * sizeof(client *));
    if (order == NULL || busy == NULL) {
        free(order);
        free(busy);
        return;                               /* the next poll tries again */
    }
    for (t = mu->list, i = n; t != NULL; t = t->next)
        order[--i] = t;                       /* oldest first */
    for (i = 0; i < n; i++)
        if (!order[i]->queued && !is_over(order[i]) &&
            !in_set(busy, nbusy, order[i]->jb->c))
            busy[nbusy++] = order[i]->jb->c;
    for (i = 0; i < n; i++) {
        t = order[i];
        if (!t->queued || in_set(busy, nbusy, t->jb->c))
            continue;
        t->queued = 0;
        if (core_client_closed(t->jb->c)) {
            client_gone(t);
            mu->ended++;
            continue;
        }
        t->jb->c->L = L;
        advance(mu, t, vbr_job_next(t->jb->job, NULL));
        if (!is_over(t))
            busy[nbusy++] = t->jb->c;
    }
    free(order);
    free(busy);
}

/* Push {id =, response =} or {id =, err =} for an ended transfer. */
static void push_outcome(lua_State *L, const transfer *t)
{
    const vbr_step *s = t->step;
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, t->id);
    lua_setfield(L, -2, "id");
    if (s == NULL) {
        core_push_error_fields(L, "network", 0, NULL, "the client was closed "
                               "while its request was in flight", NULL, NULL,
                               0, 1);
        lua_setfield(L, -2, "err");
    } else if (s->action == VBR_FAIL) {
        core_push_error(L, t->jb->c, s->error);
        lua_setfield(L, -2, "err");
    } else if (s->response == NULL) {
        lua_pushboolean(L, 1);                 /* a login or logout job */
        lua_setfield(L, -2, "response");
    } else if (core_push_response(L, s->response, NULL, NULL, t->jb->decode)) {
        lua_setfield(L, -2, "response");
    } else {
        lua_setfield(L, -2, "err");            /* a JSON answer that did not decode */
    }
}

static long wait_millis(const multi *mu, double timeout)
{
    const transfer *t;
    double now = vbr_now(), wait = timeout > 0 ? timeout : 0;
    if (mu->ended > 0)
        return 0;
    for (t = mu->list; t != NULL; t = t->next) {
        if (t->wake > 0 && t->wake - now < wait)
            wait = t->wake - now > 0 ? t->wake - now : 0;
        if (core_client_closed(t->jb->c))
            wait = 0;
    }
    if (wait > 3600)
        wait = 3600;
    return (long)(wait * 1000 + 0.999);
}

/* m:poll(seconds) -> list of outcomes (see the head of the file) */
static int multi_poll(lua_State *L)
{
    multi *mu = check_multi(L, 1);
    double timeout = luaL_optnumber(L, 2, 0);
    int running = 0, queued, n = 0;
    CURLMsg *msg;
    transfer *t, *next;
    double now;

    vbr_interrupt_check(L);    /* a Ctrl-C in "raise" mode (src/interrupt.c) */
    if (curl_multi_poll(mu->m, NULL, 0, (int)wait_millis(mu, timeout), NULL)
            != CURLM_OK ||
        curl_multi_perform(mu->m, &running) != CURLM_OK)
        return luaL_error(L, "vbr: libcurl's multi handle failed");
    /* ended transfers: their responses to the engine (no libcurl frame is
     * on the stack here) */
    while ((msg = curl_multi_info_read(mu->m, &queued)) != NULL) {
        char *private_data = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &private_data);
        t = (transfer *)(void *)private_data;
        if (t == NULL || t->curl == NULL || core_client_closed(t->jb->c))
            continue;          /* a closed client's handle left on its own */
        curl_multi_remove_handle(mu->m, msg->easy_handle);
        vbr_curl_finish(t->curl, msg->data.result, &t->response);
        t->curl = NULL;
        t->jb->c->L = L;
        advance(mu, t, vbr_job_next(t->jb->job, &t->response));
    }
    now = vbr_now();
    for (t = mu->list; t != NULL; t = t->next) {
        if (t->queued) {
            continue;
        } else if (core_client_closed(t->jb->c) && !is_over(t)) {
            client_gone(t);
            mu->ended++;
        } else if (t->wake > 0 && t->wake <= now) {
            t->jb->c->L = L;
            advance(mu, t, vbr_job_next(t->jb->job, NULL));
        }
    }
    /* a Ctrl-C ended the wait and aborted the transfers (their progress
     * callback): raised now, the jobs that ended are reported by a next
     * poll, if any */
    vbr_interrupt_check(L);
    /* the outcomes first: a DONE step's body is in its client's buffer,
     * which the client's next job fills anew */
    lua_newtable(L);
    for (t = mu->list; t != NULL; t = next) {
        next = t->next;
        if (is_over(t)) {
            push_outcome(L, t);
            lua_rawseti(L, -2, ++n);
            release(L, mu, t);
        }
    }
    mu->ended = 0;
    start_waiting(L, mu);
    return 1;
}

/* m:cancel(id): the job ends unreported; true when it was in flight */
static int multi_cancel(lua_State *L)
{
    multi *mu = check_multi(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    transfer *t;
    for (t = mu->list; t != NULL; t = t->next) {
        if (t->id == id) {
            if (is_over(t))
                mu->ended--;
            release(L, mu, t);
            lua_pushboolean(L, 1);
            return 1;
        }
    }
    lua_pushboolean(L, 0);
    return 1;
}

/* m:count() -> jobs in flight */
static int multi_count(lua_State *L)
{
    multi *mu = check_multi(L, 1);
    const transfer *t;
    lua_Integer n = 0;
    for (t = mu->list; t != NULL; t = t->next)
        n++;
    lua_pushinteger(L, n);
    return 1;
}

/* m:close(): every job in flight ends; safe to call twice (also __gc) */
static int multi_close(lua_State *L)
{
    multi *mu = check_multi(L, 0);
    while (mu->list != NULL)
        release(L, mu, mu->list);
    if (mu->m != NULL)
        curl_multi_cleanup(mu->m);
    mu->m = NULL;
    return 0;
}

/* core.multi() */
static int multi_new(lua_State *L)
{
    multi *mu = lua_newuserdata(L, sizeof *mu);
    memset(mu, 0, sizeof *mu);
    luaL_getmetatable(L, MULTI_MT);
    lua_setmetatable(L, -2);
    mu->m = curl_multi_init();
    if (mu->m == NULL)
        return luaL_error(L, "vbr: libcurl could not make a multi handle");
    return 1;
}

static const luaL_Reg multi_methods[] = {
    {"add", multi_add},
    {"poll", multi_poll},
    {"cancel", multi_cancel},
    {"count", multi_count},
    {"close", multi_close},
    {NULL, NULL}
};

void core_open_multi(lua_State *L)
{
    luaL_newmetatable(L, MULTI_MT);
    lua_newtable(L);
    compat_setfuncs(L, multi_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, multi_close);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "vbr.core");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    lua_pushcfunction(L, multi_new);
    lua_setfield(L, -2, "multi");
}
