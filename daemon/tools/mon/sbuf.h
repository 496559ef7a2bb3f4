/* SPDX-License-Identifier: Apache-2.0 */
/* sbuf: a growable, always NUL-terminated text buffer for the monitor's
 * screens and HTTP bodies.  Running out of memory is remembered and turns
 * later appends into no-ops; sbuf_failed() tells. */
#ifndef DARKDAQ_MON_SBUF_H
#define DARKDAQ_MON_SBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sbuf {
        char *s;                        /* the text, NUL-terminated (NULL before the first append) */
        size_t len;                     /* bytes of text */
        size_t cap;                     /* allocated */
        bool failed;                    /* an allocation failed: the text is incomplete */
} sbuf_t;

/* Appends printf-style. */
void sbuf_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends n bytes of s. */
void sbuf_add(sbuf_t *b, const char *s, size_t n);
/* Appends s as a JSON string (quoted, escaped). */
void sbuf_json_str(sbuf_t *b, const char *s);
/* Makes room for n more bytes; returns where they go (NULL on failure).
 * The caller writes and then calls sbuf_commit(b, n_written). */
char *sbuf_reserve(sbuf_t *b, size_t n);
void sbuf_commit(sbuf_t *b, size_t n);
/* Empties the text, keeps the memory. */
void sbuf_clear(sbuf_t *b);
/* Frees the memory; b is empty and usable again. */
void sbuf_free(sbuf_t *b);
/* The text ("" when empty). */
const char *sbuf_text(const sbuf_t *b);

#endif
