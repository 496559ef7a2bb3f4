/* SPDX-License-Identifier: Apache-2.0 */
/* replay: the offline driver of darkdaqd --replay.  Reads recorded raw files
 * through the stream reader into the builder, in the order the event
 * builder's rules (builder.h) fix, so that a replay gives the same result
 * on any machine.  Does file I/O only; it neither logs nor interprets events (the sink does). */
#ifndef DARKDAQ_REPLAY_H
#define DARKDAQ_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder.h"

struct replay_options {
        /* Builder settings.  builder.expected is used only when
         * expected_given; otherwise it is every source id with a good
         * fragment anywhere in the files (a first pass).  Replay passes
         * now_ms = 0 throughout, so build_timeout_ms never acts. */
        struct builder_config builder;
        bool expected_given;
        size_t chunk_bytes;             /* read() size per file; default 256 KiB */
};
void replay_options_default(struct replay_options *opt);

struct replay_summary {
        size_t files;
        uint64_t bytes_read;            /* all files, both passes counted once */
        uint64_t expected;              /* the expected set used */
        struct builder_counters counters;       /* the builder's, at the end */
        struct builder_out_of_step out_of_step[64];
        size_t n_out_of_step;
};

/* Replays the n files at paths (command-line order; stream index = position)
 * into sink, and ends with builder_flush.  The files are read in turn, one
 * fragment from each; a file that carries a source an earlier, unfinished
 * file also carries waits until that file ends, so that each source is read
 * file by file in command-line order.  A source ends at the end of the last
 * file that carries it.  Returns 0 with *ret filled (ret may be NULL), or
 * -errno with a message naming the file in err (err may be NULL).  The
 * first pass reads every file before anything goes to the sink, so an
 * unreadable file fails with nothing built; a file that fails only in the
 * second pass leaves what was already given to the sink. */
int replay_run(const struct replay_options *opt, const char *const *paths, size_t n,
               const struct builder_sink *sink, struct replay_summary *ret,
               char *err, size_t errlen);

#endif
