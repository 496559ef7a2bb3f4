/* dump: darkdaq-dump's printer of run files (interfaces.md s.3 and s.4). */
#ifndef DARKDAQ_DUMP_H
#define DARKDAQ_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* True when the first bytes of a file (head[0..n)) are a run file's: a first
 * frame that holds a run header. */
bool dump_is_run_file(const uint8_t *head, size_t n);

/* Prints the run file at path, as JSON lines or text.  Returns 0 when the
 * file was read (a cut at its end is reported, not an error), -errno when it
 * cannot be opened. */
int dump_run_file(const char *path, FILE *out, bool json);

#endif
