/* SPDX-License-Identifier: Apache-2.0 */
/* jsonstr: a C string as a JSON string literal, for the programs that write
 * JSON by hand (control replies, histograms, darkdaq-dump, darkdaq-mon).
 * Pure: no allocation, no I/O. */
#ifndef DARKDAQ_JSONSTR_H
#define DARKDAQ_JSONSTR_H

#include <stddef.h>

/* Writes s (NULL: "") as a quoted JSON string to dst: '"' and '\\' get a
 * backslash, bytes below 0x20 become \u00XX, all else is copied.  Writes at
 * most cap bytes, NUL-terminated when cap > 0 (dst may be NULL when cap is
 * 0).  Returns the length of the whole literal, as snprintf() does. */
size_t jsonstr_quote(char *dst, size_t cap, const char *s);

#endif
