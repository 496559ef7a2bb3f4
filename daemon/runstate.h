/* SPDX-License-Identifier: Apache-2.0 */
/* runstate: the last run number darkdaqd started, kept across restarts in
 * STATE_DIR/last_run (one decimal number and a newline), so that a restarted
 * daemon never gives a run number twice.  runstate_parse() is pure (tested
 * and fuzzed alone); load and save do the file I/O, save with fsync of the
 * file and of its directory before it returns. */
#ifndef DARKDAQ_RUNSTATE_H
#define DARKDAQ_RUNSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUNSTATE_FILE   "last_run"

/* Parses len bytes of a state file: a decimal run number 0..4294967295,
 * optionally followed by one newline, nothing else.  Returns 0 with *ret,
 * or -EINVAL. */
int runstate_parse(const char *text, size_t len, uint32_t *ret);

/* Reads dir/last_run, creating dir (one level, mode 0750) if it is missing.
 * Returns 1 with *ret_run, 0 when there is no state file yet (no run was
 * ever started here), or -errno with err naming the directory or file and
 * what is wrong with it. */
int runstate_load(const char *dir, uint32_t *ret_run, char *err, size_t errlen);

/* Records run as the last run started: writes dir/last_run.tmp, fsyncs it,
 * renames it over dir/last_run and fsyncs dir.  Returns 0, or -errno with
 * err naming the file and the step that failed (the old state is intact). */
int runstate_save(const char *dir, uint32_t run, char *err, size_t errlen);

#endif
