/* SPDX-License-Identifier: Apache-2.0 */
/* sbuf: doubling growth; the NUL after the text is always in the buffer. */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonstr.h"

char *sbuf_reserve(sbuf_t *b, size_t n)
{
        if (b->failed)
                return NULL;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *s = realloc(b->s, cap);
                if (!s) {
                        b->failed = true;
                        return NULL;
                }
                b->s = s;
                b->cap = cap;
        }
        return b->s + b->len;
}

void sbuf_commit(sbuf_t *b, size_t n)
{
        if (b->failed || !b->s)
                return;
        b->len += n;
        b->s[b->len] = '\0';
}

void sbuf_printf(sbuf_t *b, const char *fmt, ...)
{
        va_list ap;
        char small[256];

        va_start(ap, fmt);
        int n = vsnprintf(small, sizeof small, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        char *d = sbuf_reserve(b, (size_t)n);
        if (!d)
                return;
        if ((size_t)n < sizeof small) {
                memcpy(d, small, (size_t)n + 1);
        } else {
                va_start(ap, fmt);
                vsnprintf(d, (size_t)n + 1, fmt, ap);
                va_end(ap);
        }
        sbuf_commit(b, (size_t)n);
}

void sbuf_add(sbuf_t *b, const char *s, size_t n)
{
        char *d = sbuf_reserve(b, n);
        if (!d)
                return;
        memcpy(d, s, n);
        sbuf_commit(b, n);
}

void sbuf_json_str(sbuf_t *b, const char *s)
{
        size_t n = jsonstr_quote(NULL, 0, s);
        char *d = sbuf_reserve(b, n);   /* room for n and the NUL */

        if (!d)
                return;
        jsonstr_quote(d, n + 1, s);
        sbuf_commit(b, n);
}

void sbuf_clear(sbuf_t *b)
{
        b->len = 0;
        if (b->s)
                b->s[0] = '\0';
}

void sbuf_free(sbuf_t *b)
{
        free(b->s);
        memset(b, 0, sizeof *b);
}

const char *sbuf_text(const sbuf_t *b)
{
        return b->s ? b->s : "";
}
