/*
 * buf.c - growable buffers that wipe what they release.
 */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

int vbr_buf_add(vbr_buf *b, const void *p, size_t n)
{
    if (n == 0 && b->data != NULL)
        return 0;
    if (b->data == NULL || b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *fresh;
        while (cap < b->len + n + 1) {
            if (cap > ((size_t)-1) / 2)
                return -1;
            cap *= 2;
        }
        fresh = malloc(cap);
        if (fresh == NULL)
            return -1;
        if (b->data != NULL) {
            memcpy(fresh, b->data, b->len);
            vbr_wipe(b->data, b->cap);
            free(b->data);
        }
        b->data = fresh;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int vbr_buf_adds(vbr_buf *b, const char *s)
{
    return vbr_buf_add(b, s, strlen(s));
}

int vbr_buf_add_escaped(vbr_buf *b, const char *s, size_t n)
{
    /* The handle argument of curl_easy_escape is ignored since 7.82. */
    char *esc;
    size_t len;
    int rc;
    if (n > (size_t)0x7fffffff)
        return -1;
    esc = curl_easy_escape(NULL, s, (int)n);
    if (esc == NULL)
        return -1;
    len = strlen(esc);
    rc = vbr_buf_add(b, esc, len);
    vbr_wipe(esc, len);   /* may hold a password */
    curl_free(esc);
    return rc;
}

void vbr_buf_clear(vbr_buf *b)
{
    if (b->data != NULL) {
        vbr_wipe(b->data, b->len);
        b->data[0] = '\0';
    }
    b->len = 0;
}

void vbr_buf_free(vbr_buf *b)
{
    if (b->data != NULL) {
        vbr_wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}

char *vbr_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *vbr_strdup(const char *s)
{
    return s == NULL ? NULL : vbr_strndup(s, strlen(s));
}

void vbr_secret_free(char *s)
{
    if (s != NULL) {
        vbr_wipe(s, strlen(s));
        free(s);
    }
}
