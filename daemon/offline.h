/* SPDX-License-Identifier: Apache-2.0 */
/* offline: darkdaqd --replay end to end: recorded raw files through the
 * stream readers and the builder (replay.h), the tagger on its own thread
 * (tagpipe.h), every record into one run file, and a one-line summary.  The
 * offline counterpart of live.h; like it, it reports on stdout and stderr. */
#ifndef DARKDAQ_OFFLINE_H
#define DARKDAQ_OFFLINE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Replays the n raw files at paths (command-line order) with cfg's
 * [builder] settings, its expected sources if [builder] sources is given
 * (else every source found) and its [physics], into a run file at out_path
 * (replaced) with run number run; the header carries cfg's text.  An input
 * error still closes the run file, with what was built so far and
 * end_reason "input error".  Reports each failure and each out-of-step
 * source on stderr, and the summary on stdout, as "darkdaqd: " lines.
 * Returns the exit status: 0 done, 1 an unreadable input or a run file that
 * could not be written. */
int offline_run(const struct darkdaq_config *cfg, const char *const *paths, size_t n,
                const char *out_path, uint32_t run);

#endif
