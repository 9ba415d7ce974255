/*
 * engine.c - libFuzzer harness: the engine alone (src/engine.c included, so
 * its static parsers are reached directly), driven through whole jobs with
 * fuzzed answers, plus Retry-After and redirect Location parsing on raw
 * bytes.  JSON fields come from src/json.c's extractor, as in the core.
 *
 * Input: byte 0 picks the job kind, method and api_version; bytes 1-2 are
 * the transport's answers to ACQUIRE steps, 3 bits each (0, 1, 6, 7 go
 * ahead; 2 newer credentials; 3 stale ones, already expired; 4 refused
 * ones, which the engine must refuse; 5 a failure to share), and bit 15
 * runs a second job at the same time as the first, one step each in turn,
 * with the grant of ACQUIRE held by one of them at a time (as vbr.nginx
 * does); then records "<status:2 bytes><flags:1><len:2><bytes>" answer each
 * send step: flags bit 0-2 = transport error (0 none), bit 3 = sent, bit
 * 4/5 = the bytes are Retry-After / Location instead of the body.
 *
 * Invariants (abort): a send step never has CR, LF or NUL in its URL or a
 * header value; a login, refresh or logout is sent only by the job holding
 * the grant, and a job holding it PUBLISHes before it ends; credentials
 * published are printable ASCII; a job answered with a failure to share
 * fails with it at once; refused credentials are refused; a failure's
 * message and code never hold the access or refresh token the engine
 * keeps, nor (for a login) the password; jobs always end.
 */
#include "../src/engine.c"
#include "json.h"

static const char PASSWORD[] = "Fuzz p@ss&=%w0rd";

static char *host_password(void *ud, const char **why)
{
    (void)ud;
    (void)why;
    return vbr_strdup(PASSWORD);
}

static void clean(const char *what, const char *s)
{
    if (s != NULL && strpbrk(s, "\r\n") != NULL) {
        fprintf(stderr, "INVARIANT: %s holds CR or LF\n", what);
        abort();
    }
}

static void holds_not(const char *text, const char *secret, const char *what)
{
    if (text != NULL && secret != NULL && strlen(secret) >= 4 &&
        strstr(text, secret) != NULL) {
        fprintf(stderr, "INVARIANT: error message holds the %s\n", what);
        abort();
    }
}

static void invariant(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "INVARIANT: %s\n", what);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* The fuzzed transport: the answers to send steps and ACQUIRE steps, the
 * grant, and what the last PUBLISH shared. */
typedef struct harness {
    const unsigned char *data;
    size_t size, pos;
    unsigned script;            /* ACQUIRE answers, 3 bits each */
    int acquires;
    int holder;                 /* the job holding the grant, or -1 */
    int counter;
    char newer[64];
    char published_access[VBR_MAX_TOKEN + 1];
    char published_refresh[VBR_MAX_TOKEN + 1];
    vbr_tokens published;
    int published_tokens;       /* 1: tokens, 0: a release, -1: a failure */
    vbr_error failure;
    char failure_message[1024];
} harness;

typedef struct driven {
    vbr_job *job;
    const vbr_step *step;
    int parked;                 /* ACQUIRE held back: another job holds */
    int steps;
} driven;

static void answer_send(harness *h, const vbr_step *s, vbr_response *r,
                        char *extra, size_t extra_len)
{
    const unsigned char *data = h->data;
    size_t n;
    unsigned char flags;
    memset(r, 0, sizeof *r);
    if (h->pos + 5 > h->size) {
        r->error = VBR_TE_RESET;
        r->sent = 1;
        return;
    }
    (void)s;
    r->status = (data[h->pos] << 8 | data[h->pos + 1]) % 600;
    flags = data[h->pos + 2];
    n = (size_t)(data[h->pos + 3] << 8 | data[h->pos + 4]);
    h->pos += 5;
    if (n > h->size - h->pos)
        n = h->size - h->pos;
    r->error = (vbr_transport_error)(flags & 7);
    if (r->error > VBR_TE_OTHER)
        r->error = VBR_TE_OTHER;
    r->sent = (flags >> 3) & 1;
    if (r->error != VBR_TE_NONE) {
        r->status = 0;
        r->message = "transport detail";
    } else if (flags & 0x30) {
        snprintf(extra, extra_len, "%.*s", (int)n,
                 (const char *)data + h->pos);
        if (flags & 0x10)
            r->retry_after = extra;
        else
            r->location = extra;
    } else {
        r->body = (const char *)data + h->pos;
        r->body_len = n;
        r->content_type = "application/json";
    }
    h->pos += n;
}

/* Answer an ACQUIRE of job `me` as the script says. */
static const vbr_step *answer_acquire(harness *h, driven *d, int me)
{
    unsigned choice = (h->script >> (3 * (h->acquires % 5))) & 7;
    vbr_tokens t;
    const vbr_step *s;
    h->acquires++;
    memset(&t, 0, sizeof t);
    t.lifetime = 900;
    switch (choice) {
    case 2:
    case 3:
        snprintf(h->newer, sizeof h->newer, "Newer-%d.token", ++h->counter);
        t.access_token = h->newer;
        t.refresh_token = "Newer.refresh";
        t.expires_in = choice == 2 ? 900 : -5;   /* 3: stale */
        s = vbr_job_adopt(d->job, &t);
        invariant(s != NULL, "credentials refused that will do");
        return s;
    case 4:
        t.access_token = h->counter & 1 ? "Bad\r\nX-Evil: 1" : "";
        t.expires_in = 900;
        invariant(vbr_job_adopt(d->job, &t) == NULL,
                  "credentials taken that cannot be sent");
        break;                               /* still waiting: go ahead */
    case 5: {
        vbr_error e;
        memset(&e, 0, sizeof e);
        e.kind = VBR_ERR_NETWORK;
        e.status = 502;
        e.message = (char *)"shared: cannot connect";
        s = vbr_job_fail_shared(d->job, &e);
        invariant(s != NULL && s->action == VBR_FAIL &&
                  s->error->kind == VBR_ERR_NETWORK,
                  "a shared failure did not fail the job at once");
        return s;
    }
    default:
        break;
    }
    h->holder = me;
    return vbr_job_next(d->job, NULL);
}

/* Remember what a PUBLISH shares, check it, release the grant. */
static void take_publish(harness *h, const vbr_step *s, int me)
{
    invariant(h->holder == me, "PUBLISH without the grant");
    h->holder = -1;
    h->published_tokens = 0;
    if (s->error != NULL) {
        h->published_tokens = -1;
        h->failure = *s->error;
        snprintf(h->failure_message, sizeof h->failure_message, "%s",
                 s->error->message ? s->error->message : "");
        h->failure.message = h->failure_message;
        h->failure.code = NULL;
    } else if (s->tokens != NULL && s->tokens->access_token != NULL) {
        invariant(token_problem(s->tokens->access_token) == NULL &&
                  (s->tokens->refresh_token == NULL ||
                   token_problem(s->tokens->refresh_token) == NULL),
                  "published a token that cannot be sent");
        snprintf(h->published_access, sizeof h->published_access, "%s",
                 s->tokens->access_token);
        snprintf(h->published_refresh, sizeof h->published_refresh, "%s",
                 s->tokens->refresh_token ? s->tokens->refresh_token : "");
        h->published = *s->tokens;
        h->published.access_token = h->published_access;
        h->published.refresh_token =
            s->tokens->refresh_token ? h->published_refresh : NULL;
        h->published.api_version = NULL;
        h->published_tokens = 1;
    }
}

/* A parked job, once the holder published: its outcome, or the grant. */
static const vbr_step *wake(harness *h, driven *d, int me)
{
    d->parked = 0;
    if (h->published_tokens == 1) {
        const vbr_step *s = vbr_job_adopt(d->job, &h->published);
        invariant(s != NULL, "published credentials refused");
        return s;
    }
    if (h->published_tokens == -1) {
        const vbr_step *s = vbr_job_fail_shared(d->job, &h->failure);
        invariant(s != NULL && s->action == VBR_FAIL &&
                  s->error->kind == h->failure.kind,
                  "a waiter did not fail with the failure it waited for");
        return s;
    }
    h->holder = me;
    return vbr_job_next(d->job, NULL);
}

/* One step of job `me`; 0 when it has ended. */
static int advance(harness *h, driven *jobs, int me)
{
    driven *d = &jobs[me];
    const vbr_step *s = d->step;
    vbr_response r;
    char extra[1024];
    size_t n;
    if (s == NULL || s->action == VBR_DONE || s->action == VBR_FAIL)
        return 0;
    if (d->parked && h->holder != -1)
        return 1;                            /* waits for the holder */
    if (++d->steps > 200) {
        fprintf(stderr, "INVARIANT: job did not end (%d steps)\n", d->steps);
        abort();
    }
    switch (s->action) {
    case VBR_SLEEP:
        invariant(s->seconds >= 0, "a sleep of no time");
        d->step = vbr_job_next(d->job, NULL);
        break;
    case VBR_ACQUIRE:
        if (d->parked)
            d->step = wake(h, d, me);
        else if (h->holder != -1 && h->holder != me)
            d->parked = 1;
        else
            d->step = answer_acquire(h, d, me);
        break;
    case VBR_PUBLISH:
        take_publish(h, s, me);
        d->step = vbr_job_next(d->job, NULL);
        break;
    case VBR_SEND:
    default:
        clean("url", s->url);
        for (n = 0; n < s->nheaders; n++)
            clean(s->headers[n].name, s->headers[n].value);
        invariant(s->purpose == VBR_FOR_CALL || h->holder == me,
                  "credentials requested without the grant");
        answer_send(h, s, &r, extra, sizeof extra);
        d->step = vbr_job_next(d->job, &r);
        break;
    }
    s = d->step;
    invariant(s != NULL, "the engine refused its input");
    if (s->action == VBR_DONE || s->action == VBR_FAIL)
        invariant(h->holder != me, "a job ended holding the grant");
    return 1;
}

static void check_failure(const vbr_engine *e, const vbr_step *s)
{
    if (s->action != VBR_FAIL)
        return;
    holds_not(s->error->message, e->access_token, "access token");
    holds_not(s->error->message, e->refresh_token, "refresh token");
    holds_not(s->error->code, e->access_token, "access token");
    holds_not(s->error->code, e->refresh_token, "refresh token");
    if (strcmp(s->error->path, TOKEN_PATH) == 0) {
        holds_not(s->error->message, PASSWORD, "password");
        holds_not(s->error->code, PASSWORD, "password");
    }
    invariant(s->error->code == NULL || strlen(s->error->code) <= 64,
              "an error code longer than 64 bytes");
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const char *const versions[] = {"1.1-rev0", "1.3-rev1", "auto",
                                           "1.3-rev2"};
    static const char *const methods[] = {"GET", "PUT", "POST", "DELETE"};
    vbr_config cfg;
    vbr_host host = {NULL, vbr_json_fields, host_password, NULL};
    vbr_call call = {NULL, "/api/v1/configBackup", "a=b", NULL, 0, 0};
    vbr_call other = {"GET", "/api/v1/serverInfo", NULL, NULL, 0, 0};
    vbr_engine *e;
    harness h;
    driven jobs[2];
    int round, concurrent, i;
    unsigned char sel;
    char *text;

    if (size < 3)
        return 0;
    sel = data[0];

    /* the raw parsers, on the whole input as a string */
    text = vbr_strndup((const char *)data + 1, size - 1);
    if (text != NULL) {
        char host_buf[256];
        double secs = retry_after_seconds(text);
        if (secs != secs)
            abort();   /* NaN would poison the backoff */
        redirect_host(text, host_buf, sizeof host_buf);
        if (strlen(host_buf) >= sizeof host_buf)
            abort();
        vbr_revision_valid(text);
        free(text);
    }

    memset(&cfg, 0, sizeof cfg);
    cfg.host = "vbr.example";
    cfg.port = 9419;
    cfg.prefix = "";
    cfg.username = ".\\svc user";
    cfg.api_version = versions[sel & 3];
    cfg.timeout = 30;
    cfg.refresh_margin = (sel & 0x40) ? 1e9 : 60;   /* force refreshes */
    cfg.max_response_size = 1 << 20;
    cfg.retry_attempts = 3;
    cfg.retry_max_time = 1e6;
    e = vbr_engine_new(&cfg, &host);
    if (e == NULL)
        return 0;

    memset(&h, 0, sizeof h);
    h.data = data;
    h.size = size;
    h.pos = 3;
    h.script = (unsigned)(data[1] << 8 | data[2]) & 0x7fff;
    h.holder = -1;
    concurrent = (data[1] << 8 | data[2]) & 0x8000;

    /* two rounds on one engine: the second sees the tokens the first
     * stored; in the first, a second job runs alongside if asked */
    for (round = 0; round < 2; round++) {
        memset(jobs, 0, sizeof jobs);
        call.method = methods[(sel >> 2) & 3];
        call.body = (sel & 0x10) ? "{\"x\":1}" : NULL;
        call.body_len = call.body ? strlen(call.body) : 0;
        /* a login first, a logout second: each round a call otherwise */
        jobs[0].job = vbr_job_new(e, round == 0 ? ((sel & 0x80) ? VBR_JOB_LOGIN : VBR_JOB_CALL)
                                                : ((sel & 0x20) ? VBR_JOB_LOGOUT : VBR_JOB_CALL),
                                  &call);
        if (round == 0 && concurrent)
            jobs[1].job = vbr_job_new(e, VBR_JOB_CALL, &other);
        for (i = 0; i < 2; i++)
            if (jobs[i].job != NULL)
                jobs[i].step = vbr_job_next(jobs[i].job, NULL);
        while (advance(&h, jobs, 0) | advance(&h, jobs, 1))
            ;
        for (i = 0; i < 2; i++) {
            if (jobs[i].job == NULL)
                continue;
            invariant(jobs[i].step != NULL &&
                      (jobs[i].step->action == VBR_DONE ||
                       jobs[i].step->action == VBR_FAIL), "a job did not end");
            check_failure(e, jobs[i].step);
            vbr_job_free(jobs[i].job);
        }
    }
    vbr_engine_close(e);
    vbr_engine_release(e);
    return 0;
}
