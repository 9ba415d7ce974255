/*
 * transport_curl.h - performs the engine's SEND steps with one libcurl easy
 * handle, so the TLS connection is kept alive and reused between requests.
 * Blocking; no Lua calls happen while libcurl is on the stack.
 */
#ifndef VBR_TRANSPORT_CURL_H
#define VBR_TRANSPORT_CURL_H

#include <stddef.h>

#include <curl/curl.h>

#include "engine.h"

typedef struct vbr_curl vbr_curl;

typedef struct vbr_curl_options {
    const char *ca_file;
    const char *ca_path;
    const char *pinned_public_key;   /* "sha256//..." */
    int insecure;                    /* skip peer and host verification */
    double connect_timeout;          /* seconds, 0 = libcurl default */
    const char *user_agent;
    int (*stop)(void);               /* nonzero: abort the transfer; or NULL.
                                      * Called from libcurl: must not touch Lua */
    int (*armed)(void);              /* zero while stop cannot become nonzero
                                      * (asked before each transfer: libcurl
                                      * calls no progress function then); or
                                      * NULL: always asked */
} vbr_curl_options;

/* curl_global_init, with an allocator that wipes what libcurl frees (when
 * vbr is the first in the process to initialise libcurl); -1 on failure. */
int vbr_curl_global_init(void);
/* NULL with a message in err when libcurl refuses the setup. */
vbr_curl *vbr_curl_new(const vbr_curl_options *opts, char *err, size_t errlen);
/* Closes the connection and wipes the buffers. */
void vbr_curl_free(vbr_curl *t);
/* Wipe the last answer now (a token answer, once the engine has read it). */
void vbr_curl_wipe_body(vbr_curl *t);
/* Perform one SEND step.  The response points into t and stays valid until
 * the next perform or free. */
void vbr_curl_perform(vbr_curl *t, const vbr_step *send, vbr_response *out);

/* The same in two halves, for a transport that runs the easy handle itself
 * (transport_multi.c): prepare sets the handle up for the step (0), or fills
 * out with the error (-1: nothing to run); finish reads the outcome of the
 * run that ended with rc into out, as vbr_curl_perform would have. */
int vbr_curl_prepare(vbr_curl *t, const vbr_step *send, vbr_response *out);
CURL *vbr_curl_handle(vbr_curl *t);
/* In a multi handle an easy handle's connection goes to the multi's pool,
 * where it outlives the client; this gives the handle a cache of its own
 * instead, closed with it; `fresh` closes what it holds first (a step that
 * asks for a new connection).  0, or -1 when libcurl refuses. */
int vbr_curl_own_connections(vbr_curl *t, int fresh);
void vbr_curl_finish(vbr_curl *t, CURLcode rc, vbr_response *out);

#endif
