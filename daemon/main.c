/* darkdaqd: the darkdaq daemon.  -c FILE alone: the live service (live.c:
 * sources -> builder -> tagger -> storage and monitor, run control on the
 * control socket).  --replay: the offline mode, which reads recorded raw
 * files through stream readers into the builder, tags every event, writes
 * everything (events, late, junk, corrupt records) to a run file, then
 * prints a one-line summary. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "clock.h"
#include "config.h"
#include "live.h"
#include "record.h"
#include "replay.h"
#include "tagpipe.h"
#include "runfile.h"
#include "tagger.h"

static void s_usage(FILE *out)
{
        fputs("usage: darkdaqd -c CONFIG\n"
              "       darkdaqd --replay FILE... -o RUNFILE [--run N] [-c CONFIG]\n"
              "       darkdaqd --print-config\n"
              "The darkdaq readout daemon.  With -c alone it is the live service: it reads\n"
              "the configured sources ([source.NAME]), builds and tags events, sends every\n"
              "record to darkdaq-store (storage socket, lossless) and samples to the\n"
              "monitor socket, and obeys darkdaq-ctl on the control socket (states idle,\n"
              "configured, running, error).  SIGTERM or SIGINT stop a run cleanly (trailer\n"
              "sent and confirmed by the store, within stop_timeout_ms), then it exits.\n"
              "It serves Prometheus metrics at http://[daemon]metrics/metrics, speaks the\n"
              "sd_notify protocol when NOTIFY_SOCKET is set (READY=1, STATUS=, WATCHDOG=1\n"
              "at half of WATCHDOG_USEC, STOPPING=1), and serves non-local control and\n"
              "storage endpoints only with CURVE keys ([auth]).\n"
              "--replay builds and tags events offline from\n"
              "recorded raw board streams (per-board files or interleaved ones), in the\n"
              "order interfaces.md section 1 fixes, and writes a run file.\n"
              "\n"
              "  -r, --replay        the remaining arguments are raw files to replay\n"
              "  -o, --output FILE   the run file to write (replaced if it exists)\n"
              "  -n, --run N         run number in the run file (default 0)\n"
              "  -c, --config FILE   INI configuration: [daemon], [source.NAME], [builder],\n"
              "                      [physics], [prescale], [auth]\n"
              "      --print-config  print every configuration key with its default\n"
              "  -h, --help          this text\n"
              "  -V, --version       the version\n"
              "\n"
              "Exit status: 0 done, 1 unreadable input or unwritable output, or (live) an\n"
              "endpoint that cannot be bound or a last trailer the store did not confirm\n"
              "(the message says which), 2 usage or a configuration that cannot be used\n"
              "(keys that cannot be read, a non-local endpoint without CURVE keys).\n",
              out);
}

static void s_summary(const struct replay_summary *s, const record_enc_t *enc,
                      const char *out_path, uint64_t records)
{
        const struct builder_counters *k = &s->counters;
        const uint64_t *tags = record_tag_counts(enc);

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

static int s_replay(char **files, size_t n, const char *out_path, uint32_t run,
                    const struct darkdaq_config *cfg)
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
        struct runfile_writer_opts wo = { .path = out_path };
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
        r = replay_run(&opt, (const char *const *)files, n, &sink, &sum, err, sizeof err);
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

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "replay", no_argument, NULL, 'r' },
                { "output", required_argument, NULL, 'o' },
                { "run", required_argument, NULL, 'n' },
                { "config", required_argument, NULL, 'c' },
                { "print-config", no_argument, NULL, 'P' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { 0 },
        };
        struct darkdaq_config cfg;
        const char *out_path = NULL, *cfg_path = NULL;
        bool replay = false;
        uint32_t run = 0;
        char err[512];
        int c, status;

        config_default(&cfg);
        while ((c = getopt_long(argc, argv, "ro:n:c:hV", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        replay = true;
                        break;
                case 'o':
                        out_path = optarg;
                        break;
                case 'n': {
                        char *end;
                        errno = 0;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (errno || *end || *optarg == '-' || v > UINT32_MAX) {
                                fprintf(stderr, "darkdaqd: --run: \"%s\" is not a run number "
                                        "(0..4294967295)\n", optarg);
                                return 2;
                        }
                        run = (uint32_t)v;
                        break;
                }
                case 'c':
                        cfg_path = optarg;
                        break;
                case 'P':
                        config_print_defaults(stdout);
                        return 0;
                case 'h':
                        s_usage(stdout);
                        return 0;
                case 'V':
                        printf("darkdaqd %s\n", DARKDAQ_VERSION);
                        return 0;
                default:
                        s_usage(stderr);
                        return 2;
                }
        }
        if (!replay) {
                if (!cfg_path || optind < argc) {
                        fputs(optind < argc ? "darkdaqd: unexpected arguments (raw files go "
                              "with --replay)\n" : "darkdaqd: -c CONFIG is needed for the live "
                              "service\n", stderr);
                        s_usage(stderr);
                        return 2;
                }
                if (config_load(&cfg, cfg_path, err, sizeof err) < 0) {
                        fprintf(stderr, "darkdaqd: %s\n", err);
                        config_clear(&cfg);
                        return 2;
                }
                live_t *l = NULL;
                int r = live_new(&l, &cfg, err, sizeof err);
                if (r < 0) {
                        fprintf(stderr, "darkdaqd: %s%s\n", err, r == -EPERM ?
                                " (configuration: see [auth] in darkdaqd --print-config)" : "");
                        config_clear(&cfg);
                        return r == -EPERM ? 2 : 1;
                }
                status = live_run(l);
                live_free(l);
                config_clear(&cfg);
                return status;
        }
        if (optind >= argc || !out_path) {
                fputs(optind >= argc ? "darkdaqd: --replay needs at least one raw file\n"
                                     : "darkdaqd: --replay needs -o RUNFILE\n", stderr);
                s_usage(stderr);
                return 2;
        }
        if (cfg_path && config_load(&cfg, cfg_path, err, sizeof err) < 0) {
                fprintf(stderr, "darkdaqd: %s\n", err);
                config_clear(&cfg);
                return 2;
        }
        status = s_replay(argv + optind, (size_t)(argc - optind), out_path, run, &cfg);
        config_clear(&cfg);
        return status;
}
