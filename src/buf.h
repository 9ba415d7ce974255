/*
 * buf.h - a growable byte buffer and the secret-wiping helpers shared by the
 * engine and the transports.  Plain C, no Lua, no I/O.
 */
#ifndef VBR_BUF_H
#define VBR_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct vbr_buf {
    char *data;   /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
} vbr_buf;

/* Overwrite memory in a way the compiler may not optimise away.  Inline:
 * the wiping allocator calls it for each of the some 40 blocks libcurl
 * frees per request. */
static inline void vbr_wipe(void *p, size_t n)
{
#if defined(__GNUC__) || defined(__clang__)
    /* memset, kept by an empty asm that may read the memory: as sure as a
     * volatile loop, and a fast vectorised store (each request wipes its
     * header lines and the previous body). */
    if (p == NULL || n == 0)
        return;
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
#else
    /* explicit_bzero is not everywhere; a volatile store loop is portable
     * and cannot be elided as a dead store. */
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--)
        *v++ = 0;
#endif
}

/* Append n bytes; 0 on success, -1 when out of memory.  Growing copies into
 * a fresh block and wipes the old one, so secrets never linger in freed
 * memory. */
int vbr_buf_add(vbr_buf *b, const void *p, size_t n);
int vbr_buf_adds(vbr_buf *b, const char *s);
/* Append s URL-encoded (RFC 3986 unreserved characters kept, via libcurl). */
int vbr_buf_add_escaped(vbr_buf *b, const char *s, size_t n);
/* Wipe the contents and forget them, keeping the allocation for reuse. */
void vbr_buf_clear(vbr_buf *b);
/* Wipe and release. */
void vbr_buf_free(vbr_buf *b);

char *vbr_strdup(const char *s);
char *vbr_strndup(const char *s, size_t n);
/* Wipe a NUL-terminated string and free it (NULL is fine). */
void vbr_secret_free(char *s);

#endif
