/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark: the whole replay pipeline on 1 M events from 4 sources (the
 * mix-clean reference events, renumbered over and over) written as per-board
 * raw files on tmpfs: the bare stream reader, reader + builder, and the full
 * replay into a run file on tmpfs as darkdaqd --replay does it
 * (tagpipe.h) without tagging, with tagging on the same thread, and with
 * the tagger on its own thread.  Prints events/s, MB/s and the ratios, all
 * measured in the same run; never fails on speed.  Targets: >= 1 M events/s
 * replayed (issue 4); tagging costs at most 30 % of the replay rate
 * (issue 5). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "replay.h"
#include "tagpipe.h"
#include "runfile.h"
#include "stream.h"
#include "tagger.h"

#define BOARDS 4
#define REF_EVENTS 500

static double s_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct grow { uint8_t *p; size_t n, cap; };

static void s_append(struct grow *g, const void *d, size_t n)
{
        if (g->n + n > g->cap) {
                g->cap = (g->n + n) * 2;
                g->p = realloc(g->p, g->cap);
                if (!g->p)
                        abort();
        }
        memcpy(g->p + g->n, d, n);
        g->n += n;
}

static int s_collect(void *ctx, const struct stream_item *it)
{
        if (it->kind == STREAM_FRAGMENT)
                s_append(ctx, it->data, it->bytes);
        return 0;
}

static int s_count(void *ctx, const struct stream_item *it)
{
        (*(uint64_t *)ctx) += it->kind == STREAM_FRAGMENT;
        return 0;
}

struct sink_ctx {
        runfile_writer_t *w;
        uint64_t events;
};

static void s_event(void *ctx, const struct built_event *ev)
{
        (void)ev;
        ((struct sink_ctx *)ctx)->events++;
}
static void s_late(void *ctx, const struct built_late *l) { (void)ctx; (void)l; }
static void s_junk(void *ctx, const struct built_junk *j) { (void)ctx; (void)j; }
static void s_corrupt(void *ctx, const struct built_corrupt *c) { (void)ctx; (void)c; }

enum mode { BUILD_ONLY, UNTAGGED, TAGGED_INLINE, TAGGED };

static void s_emit(void *ctx, const uint8_t *rec, size_t len, bool event, uint32_t fired)
{
        struct sink_ctx *c = ctx;

        (void)event;
        (void)fired;
        if (runfile_writer_write_packed(c->w, rec, len) < 0) {
                fprintf(stderr, "bench_pipeline: write failed\n");
                exit(1);
        }
        c->events++;
}

/* Replays paths as darkdaqd --replay does (tagpipe.h), or only builds
 * (BUILD_ONLY).  Returns seconds; *events gets the records written (or the
 * events built). */
static double s_replay(const char *const *paths, const char *out, enum mode mode,
                       uint64_t *events)
{
        struct physics_config pc;
        struct replay_options opt;
        struct sink_ctx c = { 0 };
        struct builder_sink sink = { &c, s_event, s_late, s_junk, s_corrupt };
        record_enc_t *enc = record_enc_new();
        tagpipe_t *tp = NULL;
        char err[256];

        physics_config_default(&pc);
        replay_options_default(&opt);
        double t0 = s_now();
        if (mode != BUILD_ONLY) {
                struct record_run_info info = { .run = 1 };
                struct runfile_writer_opts wo = { .path = out };
                struct tagpipe_options po = {
                        .physics = mode == UNTAGGED ? NULL : &pc,
                        .enc = enc,
                        .emit = s_emit,
                        .ctx = &c,
                        .no_thread = mode == TAGGED_INLINE,
                };
                if (runfile_writer_open(&c.w, &wo, record_run_header(enc, &info)) < 0) {
                        fprintf(stderr, "bench_pipeline: cannot write %s\n", out);
                        exit(1);
                }
                if (tagpipe_new(&tp, &po) < 0)
                        exit(1);
                sink = tagpipe_sink(tp);
        }
        if (replay_run(&opt, paths, BOARDS, &sink, NULL, err, sizeof err) < 0) {
                fprintf(stderr, "bench_pipeline: %s\n", err);
                exit(1);
        }
        if (tp) {
                struct record_totals tot = { .end_reason = "end of input" };
                tagpipe_flush(tp);
                if (tagpipe_error(tp) < 0)
                        exit(1);
                runfile_writer_close(c.w, record_trailer(enc, &tot));
        }
        double dt = s_now() - t0;
        tagpipe_free(tp);
        record_enc_free(enc);
        *events = c.events;
        return dt;
}

int main(int argc, char **argv)
{
        unsigned copies = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2000;
        const char *data = getenv("DARKDAQ_TEST_DATA") ? getenv("DARKDAQ_TEST_DATA") : "tests/data";
        const char *shm = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        char dir[256], paths[BOARDS][320], out[320];
        const char *pp[BOARDS];
        struct grow ref[BOARDS] = { 0 }, all[BOARDS] = { 0 };
        uint64_t total = 0;

        snprintf(dir, sizeof dir, "%s/darkdaq-bench-%d", shm, (int)getpid());
        if (mkdir(dir, 0700) < 0) {
                fprintf(stderr, "bench_pipeline: %s: %s\n", dir, strerror(errno));
                return 1;
        }
        for (int b = 0; b < BOARDS; b++) {
                char src[300];
                snprintf(src, sizeof src, "%s/mix-clean/board-%d.raw", data, b);
                FILE *f = fopen(src, "rb");
                if (!f) {
                        fprintf(stderr, "bench_pipeline: %s: %s (run from the source tree)\n", src,
                                strerror(errno));
                        return 1;
                }
                static uint8_t buf[1 << 20];
                size_t n = fread(buf, 1, sizeof buf, f);
                fclose(f);
                stream_t *s = stream_new();
                stream_feed(s, buf, n, s_collect, &ref[b], NULL);
                stream_finish(s, s_collect, &ref[b]);
                stream_free(s);
                /* renumber: copy k holds triggers k*500+1 .. k*500+500 */
                for (unsigned k = 0; k < copies; k++) {
                        size_t at = all[b].n;
                        s_append(&all[b], ref[b].p, ref[b].n);
                        for (size_t off = at; off < all[b].n;) {
                                struct frag_header h;
                                frag_header_decode(all[b].p + off, &h);
                                h.trigger += k * REF_EVENTS;
                                h.trigger_time += (uint64_t)k * 1000000u;
                                off += frag_encode(all[b].p + off, &h);
                        }
                }
                snprintf(paths[b], sizeof paths[b], "%s/board-%d.raw", dir, b);
                pp[b] = paths[b];
                int fd = open(paths[b], O_WRONLY | O_CREAT | O_TRUNC, 0600);
                if (fd < 0 || write(fd, all[b].p, all[b].n) != (ssize_t)all[b].n) {
                        fprintf(stderr, "bench_pipeline: cannot write %s\n", paths[b]);
                        return 1;
                }
                close(fd);
                total += all[b].n;
        }
        snprintf(out, sizeof out, "%s/run.dkr", dir);
        double mb = (double)total / 1e6;

        uint64_t frags = 0;
        double t_bare = s_now();
        for (int b = 0; b < BOARDS; b++) {
                stream_t *s = stream_new();
                stream_feed(s, all[b].p, all[b].n, s_count, &frags, NULL);
                stream_finish(s, s_count, &frags);
                stream_free(s);
        }
        t_bare = s_now() - t_bare;

        /* Each mode three times, interleaved, and the best kept: the first
         * write into tmpfs pages this machine has not used yet costs page
         * allocation, which is not the replay's (printed separately). */
        uint64_t ev_build, ev_file, ev_tag, ev_inline;
        double t_build = 1e9, t_file = 1e9, t_tag = 1e9, t_inline = 1e9, t;
        double t_cold = s_replay(pp, out, UNTAGGED, &ev_file);
        unlink(out);
        for (int rep = 0; rep < 3; rep++) {
                t = s_replay(pp, out, BUILD_ONLY, &ev_build);
                t_build = t < t_build ? t : t_build;
                t = s_replay(pp, out, UNTAGGED, &ev_file);
                t_file = t < t_file ? t : t_file;
                unlink(out);            /* freeing 0.5 GB of tmpfs is not the replay's cost */
                t = s_replay(pp, out, TAGGED_INLINE, &ev_inline);
                t_inline = t < t_inline ? t : t_inline;
                unlink(out);
                t = s_replay(pp, out, TAGGED, &ev_tag);
                t_tag = t < t_tag ? t : t_tag;
                if (rep < 2)
                        unlink(out);
        }
        struct stat st;
        stat(out, &st);

        double bare_ev = (double)frags / BOARDS / t_bare;
        printf("replay of %llu events from %d sources, %.1f MB of raw files and a %.1f MB run "
               "file on %s\n", (unsigned long long)ev_tag, BOARDS, mb, (double)st.st_size / 1e6,
               shm);
        printf("  bare stream reader (memory)    %8.2f M events/s %7.0f MB/s\n", bare_ev / 1e6,
               mb / t_bare);
        printf("  replay: read + build           %8.2f M events/s %7.0f MB/s\n",
               (double)ev_build / t_build / 1e6, mb / t_build);
        printf("  same, tmpfs pages never touched %7.2f M events/s (first write of the run)\n",
               (double)ev_file / t_cold / 1e6);
        printf("  replay to run file, no tagging %8.2f M events/s %7.0f MB/s\n",
               (double)ev_file / t_file / 1e6, mb / t_file);
        printf("  same, tagging on the same thread %6.2f M events/s %7.0f MB/s\n",
               (double)ev_inline / t_inline / 1e6, mb / t_inline);
        printf("  replay to run file, tagging    %8.2f M events/s %7.0f MB/s "
               "(darkdaqd: tagger on its own thread)\n", (double)ev_tag / t_tag / 1e6, mb / t_tag);
        printf("  full replay / bare reader      %8.2f\n", t_bare / t_tag);
        printf("  tagged / untagged, same thread %8.2f\n", t_file / t_inline);
        printf("  tagged / untagged replay rate  %8.2f   (target >= 0.70)\n", t_file / t_tag);
        printf("  full replay rate / 1 M ev/s    %8.2f   (target >= 1)\n",
               (double)ev_tag / t_tag / 1e6);
        for (int b = 0; b < BOARDS; b++)
                unlink(paths[b]);
        unlink(out);
        rmdir(dir);
        return ev_tag == (uint64_t)copies * REF_EVENTS + 0 && ev_inline == ev_tag ? 0 : 1;
}
