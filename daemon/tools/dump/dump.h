/* SPDX-License-Identifier: Apache-2.0 */
/* dump: darkdaq-dump's printers, shared between its main.c (arguments, file
 * kinds, raw board streams) and run.c (run files, proto/README.md s.1 and s.4).
 * Printers write to the FILE given and report damage on stderr. */
#ifndef DARKDAQ_DUMP_H
#define DARKDAQ_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Whether the first n bytes of a file are those of a run file (the first
 * frame holds a run header); pass 4 KiB or more, or the whole file. */
bool dump_is_run_file(const uint8_t *head, size_t n);

/* Prints the run file at path, one record a line (JSON objects with json).
 * A file cut short or without a run trailer is printed to its last whole
 * frame, then said so on stderr with the offset and reason, and, with json,
 * in a last line {"type":"end","complete":false,"offset":N,"frames":K,
 * "reason":"..."}.  Damage the reader went past (a bad frame skipped, a seq
 * missing or read twice, a second header, an early trailer, a trailer's
 * count that differs) is said on stderr and, with json, as a line
 * {"type":"damage","file":...,"kind":...,"offset":N,"skipped":K,"reason":...}
 * where it was found.  Seqs are checked across the files of one run given
 * in turn.  Returns 0 if the file was read whole and sound, 1 if it was
 * read but damage was found (or it ends inside a frame), -errno if it
 * cannot be opened or read (message on stderr), as dump_raw_file() does. */
int dump_run_file(const char *path, FILE *out, bool json);

/* The same over len bytes at buf, named name in messages, reporting damage
 * on err (for the fuzzer and tests).  Returns 0, 1 (damage), or -ENOMEM. */
int dump_run_mem(const uint8_t *buf, size_t len, const char *name, FILE *out,
                 FILE *err, bool json);

/* The header line of --csv, then one row per event of the run file at path
 * (csv.c; the columns of the Python package's events()).  Damage is said
 * on stderr as dump_run_file() says it.  Returns 0, 1 (damage), or -errno when the file
 * cannot be read (message on stderr). */
void dump_csv_header(FILE *out);
int dump_csv_file(const char *path, FILE *out);

#endif
