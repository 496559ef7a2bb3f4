/* SPDX-License-Identifier: Apache-2.0 */
/* config_scan: the pre-scan of an INI file before libinih reads it.  It
 * finds what libinih cannot see or would read silently wrong (a NUL byte, a
 * line libinih would split, a duplicate key or section, text after "]", a
 * comment after a value, a section without keys) and hands libinih a text it
 * cannot misread: comment lines blanked (so a long one is read whole and
 * ignored), leading whitespace removed (no continuation lines), line numbers
 * kept.  Pure: no I/O, no logging. */
#ifndef DARKDAQ_CONFIG_SCAN_H
#define DARKDAQ_CONFIG_SCAN_H

#include <stddef.h>

/* The longest line outside comments, without its newline: libinih
 * (INI_MAX_LINE 200) splits anything longer into two lines. */
#define CONFIG_SCAN_MAX_LINE    198
/* The largest file taken. */
#define CONFIG_SCAN_MAX_BYTES   (4u << 20)

typedef struct config_scan config_scan_t;

/* Scans len bytes of untrusted text (NULs included).  Returns 0 and *ret, or
 * -EINVAL with the line (from 1) in *ret_line and a message without the line
 * in err ("key \"stop_timeout_ms\" set twice in [daemon] (first on line 3)"),
 * or -ENOMEM. */
int config_scan_new(config_scan_t **ret, const char *text, size_t len, unsigned *ret_line,
                    char *err, size_t errlen);
/* Accepts NULL; returns NULL. */
config_scan_t *config_scan_free(config_scan_t *s);

/* The text libinih should parse (a C string, same line numbers). */
const char *config_scan_text(const config_scan_t *s);
/* The line of key in section, of [section] itself with key NULL, or 0 if the
 * file does not have it. */
unsigned config_scan_line(const config_scan_t *s, const char *section, const char *key);
/* The number of lines of the file. */
unsigned config_scan_lines(const config_scan_t *s);

#endif
