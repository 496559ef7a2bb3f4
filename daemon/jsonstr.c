/* SPDX-License-Identifier: Apache-2.0 */
/* jsonstr: jsonstr_quote(), counting like snprintf(). */
#include "jsonstr.h"

#include <stdio.h>

/* Appends the n bytes of b at *at when they fit before cap - 1. */
static void s_emit(char *dst, size_t cap, size_t *at, const char *b, size_t n)
{
        for (size_t i = 0; i < n; i++, (*at)++)
                if (*at + 1 < cap)
                        dst[*at] = b[i];
}

size_t jsonstr_quote(char *dst, size_t cap, const char *s)
{
        size_t at = 0;

        s_emit(dst, cap, &at, "\"", 1);
        for (; s && *s; s++) {
                unsigned char ch = (unsigned char)*s;
                char esc[8];

                if (ch == '"' || ch == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char)ch;
                        s_emit(dst, cap, &at, esc, 2);
                } else if (ch < 0x20) {
                        snprintf(esc, sizeof esc, "\\u%04x", ch);
                        s_emit(dst, cap, &at, esc, 6);
                } else {
                        s_emit(dst, cap, &at, (const char *)&ch, 1);
                }
        }
        s_emit(dst, cap, &at, "\"", 1);
        if (cap)
                dst[at < cap ? at : cap - 1] = '\0';
        return at;
}
