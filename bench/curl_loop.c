/*
 * curl_loop.c - the ceiling of a libcurl transport: N sequential GETs on one
 * reused easy handle (one kept-alive TLS connection), the body copied into a
 * growing buffer and not decoded.  Options are set once, before the loop.
 *
 *   curl_loop URL CA_FILE TOKEN API_VERSION WARMUP N
 *
 * Prints "rps=<requests per second> n=<N> hwm_kb=<peak RSS>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

typedef struct body {
    char *data;
    size_t len, cap;
} body;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    body *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *grown;
        while (cap < b->len + n)
            cap *= 2;
        grown = realloc(b->data, cap);
        if (grown == NULL)
            return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static int get(CURL *h, body *b)
{
    long status = 0;
    CURLcode rc;
    b->len = 0;
    rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        fprintf(stderr, "curl_loop: %s\n", curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200 || b->len == 0) {
        fprintf(stderr, "curl_loop: HTTP %ld, %zu bytes\n", status, b->len);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    CURL *h;
    struct curl_slist *headers = NULL;
    char auth[4096], version[128];
    body b = {NULL, 0, 0};
    long warmup, n, i;
    double t0, t1;

    if (argc != 7) {
        fprintf(stderr, "usage: curl_loop URL CA_FILE TOKEN API_VERSION WARMUP N\n");
        return 2;
    }
    warmup = atol(argv[5]);
    n = atol(argv[6]);
    if (n < 1) {
        fprintf(stderr, "curl_loop: N must be >= 1\n");
        return 2;
    }
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[3]);
    snprintf(version, sizeof version, "x-api-version: %s", argv[4]);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = curl_easy_init();
    headers = curl_slist_append(headers, auth);
    headers = curl_slist_append(headers, version);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (h == NULL || headers == NULL) {
        fprintf(stderr, "curl_loop: out of memory\n");
        return 1;
    }
    curl_easy_setopt(h, CURLOPT_URL, argv[1]);
    curl_easy_setopt(h, CURLOPT_CAINFO, argv[2]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, (void *)&b);

    for (i = 0; i < warmup; i++)
        if (get(h, &b) != 0)
            return 1;
    t0 = now();
    for (i = 0; i < n; i++)
        if (get(h, &b) != 0)
            return 1;
    t1 = now();
    printf("rps=%.1f n=%ld hwm_kb=%ld\n", (double)n / (t1 - t0), n, peak_rss_kb());

    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    free(b.data);
    return 0;
}
