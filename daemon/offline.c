/* SPDX-License-Identifier: Apache-2.0 */
/* offline: darkdaqd --replay end to end.  Wires replay.c's reader and
 * builder to the tagger's thread (tagpipe.c) and every record into one run
 * file (runfile.c), then prints the one-line summary; the offline
 * counterpart of live.c, and like it the one that reports. */
#include "offline.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "builder.h"
#include "clock.h"
#include "record.h"
#include "replay.h"
#include "runfile.h"
#include "tagger.h"
#include "tagpipe.h"

static void s_summary(const struct replay_summary *s, const record_enc_t *enc,
                      const char *out_path, uint64_t records)
{
        const struct builder_counters *k = &s->counters;
        struct record_counters rc;
        record_get_counters(enc, &rc);
        const uint64_t *tags = rc.tags;

        printf("darkdaqd: replayed %zu file%s, %" PRIu64 " bytes: %" PRIu64 " events (%" PRIu64
               " complete, %" PRIu64 " incomplete, %" PRIu64 " duplicate, %" PRIu64 " corrupt, %"
               PRIu64 " time_mismatch), %" PRIu64 " late, %" PRIu64 " junk (%" PRIu64 " bytes), %"
               PRIu64 " corrupt records; tags:", s->files, s->files == 1 ? "" : "s", s->bytes_read,
               k->events, k->complete, k->incomplete, k->duplicate, k->corrupt_events,
               k->time_mismatch, k->late, k->junk, k->junk_bytes, k->corrupt);
        for (unsigned t = 0; t < TAG_COUNT_; t++)
                printf(" %s=%" PRIu64, tag_name((enum tag_id)t), tags ? tags[t] : 0);
        printf("; %" PRIu64 " records in %s\n", records, out_path);
}

/* Where the replay's records go: the run file, in order. */
struct replay_out {
        runfile_writer_t *writer;
        int error;                      /* first write error, -errno */
        uint64_t records;
};

static void s_emit(void *ctx, const uint8_t *rec, size_t len, bool event, uint32_t fired)
{
        struct replay_out *o = ctx;
        int r;

        (void)event;
        (void)fired;
        if (o->error)
                return;
        r = runfile_writer_write_packed(o->writer, rec, len);
        if (r < 0)
                o->error = r;
        else
                o->records++;
}

int offline_run(const struct darkdaq_config *cfg, const char *const *paths, size_t n,
                const char *out_path, uint32_t run)
{
        struct replay_out ro = { 0 };
        tagpipe_t *tp = NULL;
        record_enc_t *enc = record_enc_new();
        struct replay_options opt;
        struct replay_summary sum;
        char err[512] = "";
        int status = 1, r, werr;

        replay_options_default(&opt);
        opt.builder = cfg->builder;
        opt.builder.build_timeout_ms = 0;       /* replay never waits on time */
        opt.expected_given = cfg->sources_given;

        if (!enc) {
                fprintf(stderr, "darkdaqd: out of memory\n");
                goto out;
        }
        struct record_run_info info = {
                .run = run,
                .start_time_ns = clock_real_ns(),
                .config_text = cfg->text ? cfg->text : "",
                .sources = cfg->sources_given ? cfg->builder.expected : 0,
        };
        /* The records are numbered as darkdaqd numbers those it sends a store:
         * sender [daemon] sender_id, seq from 0 (the run header). */
        struct runfile_writer_opts wo = { .path = out_path, .sender = cfg->daemon.sender_id };
        r = runfile_writer_open(&ro.writer, &wo, record_run_header(enc, &info));
        if (r < 0) {
                fprintf(stderr, "darkdaqd: %s: cannot write run file: %s\n", out_path,
                        strerror(-r));
                goto out;
        }
        /* events are tagged on a thread of their own (tagpipe.h) */
        struct tagpipe_options po = { .physics = &cfg->physics, .enc = enc, .emit = s_emit,
                                      .ctx = &ro };
        r = tagpipe_new(&tp, &po);
        if (r < 0) {
                fprintf(stderr, "darkdaqd: cannot start tagging: %s\n", strerror(-r));
                goto out;
        }
        struct builder_sink sink = tagpipe_sink(tp);
        r = replay_run(&opt, paths, n, &sink, &sum, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "darkdaqd: %s\n", err[0] ? err : strerror(-r));
                /* what was built so far is kept: the trailer says why it ends */
        }
        tagpipe_flush(tp);
        werr = ro.error ? ro.error : tagpipe_error(tp);
        for (size_t i = 0; r == 0 && i < sum.n_out_of_step; i++)
                fprintf(stderr, "darkdaqd: source %u is out of step: its fragment for trigger T "
                        "carries the time of trigger T%+" PRId32 ", from trigger %" PRIu32
                        "; events flagged time_mismatch, data not realigned\n",
                        sum.out_of_step[i].source, sum.out_of_step[i].offset,
                        sum.out_of_step[i].first_trigger);
        struct record_totals tot = {
                .counters = r == 0 ? &sum.counters : NULL,
                .oos = r == 0 ? sum.out_of_step : NULL,
                .n_oos = r == 0 ? sum.n_out_of_step : 0,
                .end_reason = r == 0 ? "end of input" : "input error",
                .end_time_ns = clock_real_ns(),
        };
        int rc = runfile_writer_close(ro.writer, record_trailer(enc, &tot));
        ro.writer = NULL;
        if (werr == 0 && rc < 0)
                werr = rc;
        if (werr) {
                fprintf(stderr, "darkdaqd: %s: writing the run file failed: %s\n", out_path,
                        strerror(-werr));
                goto out;
        }
        if (r < 0)
                goto out;
        /* header, the records, trailer */
        s_summary(&sum, enc, out_path, ro.records + 2);
        status = 0;
out:
        tagpipe_free(tp);
        runfile_writer_free(ro.writer);
        record_enc_free(enc);
        return status;
}
