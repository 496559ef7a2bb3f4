/* SPDX-License-Identifier: Apache-2.0 */
/* raw: darkdaq-dump's printer of raw board-interface streams. */
#ifndef DARKDAQ_DUMP_RAW_H
#define DARKDAQ_DUMP_RAW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Prints every item of the raw stream in the file at path: as JSON lines
 * (proto/README.md s.1) or as text with a summary.  Returns 0, or -errno when
 * the file cannot be read (the message, naming the file, is on stderr). */
int dump_raw_file(const char *path, FILE *out, bool json);

/* Whether the first limit bytes of the file at path hold a good fragment:
 * 1 yes, 0 no, -errno when it cannot be read. */
int dump_raw_probe(const char *path, uint64_t limit);

#endif
