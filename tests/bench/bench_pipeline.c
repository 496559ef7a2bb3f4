/* Benchmark: the whole replay pipeline on 1 M events from 4 sources (the
 * mix-clean reference events, renumbered over and over) written as per-board
 * raw files on tmpfs: the bare stream reader, reader + builder, the full
 * replay into a run file on tmpfs without tagging and with it.  Prints
 * events/s, MB/s and the ratios, all measured in the same run; never fails
 * on speed.  Targets: >= 1 M events/s replayed on one core (issue 4);
 * tagging costs at most 30 % of the replay rate (issue 5). */
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
        tagger_t *tagger;               /* NULL: no tagging */
        record_enc_t *enc;
        runfile_writer_t *w;
        uint64_t events;
};

static void s_event(void *ctx, const struct built_event *ev)
{
        struct sink_ctx *c = ctx;
        struct tag_result res;
        memset(&res, 0, sizeof res);
        if (c->tagger) {
                struct tag_input in = { ev->tag_frags, ev->n_tag_frags };
                tagger_run(c->tagger, &in, &res);
        }
        c->events++;
        if (c->w) {
                size_t len;
                const uint8_t *rec = record_event_pack(c->enc, ev, &res, &len);
                runfile_writer_write_packed(c->w, rec, len);
        }
}
static void s_late(void *ctx, const struct built_late *l) { (void)ctx; (void)l; }
static void s_junk(void *ctx, const struct built_junk *j) { (void)ctx; (void)j; }
static void s_corrupt(void *ctx, const struct built_corrupt *c) { (void)ctx; (void)c; }

/* Replays paths; with_file writes a run file, with_tag tags.  Returns s. */
static double s_replay(const char *const *paths, const char *out, bool with_file,
                       bool with_tag, uint64_t *events)
{
        struct physics_config pc;
        struct sink_ctx c = { 0 };
        struct replay_options opt;
        physics_config_default(&pc);
        replay_options_default(&opt);
        c.enc = record_enc_new();
        if (with_tag)
                c.tagger = tagger_new(&pc);
        double t0 = s_now();
        if (with_file) {
                struct record_run_info info = { .run = 1 };
                struct runfile_writer_opts wo = { .path = out };
                if (runfile_writer_open(&c.w, &wo, record_run_header(c.enc, &info)) < 0) {
                        fprintf(stderr, "bench_pipeline: cannot write %s\n", out);
                        exit(1);
                }
        }
        struct builder_sink sink = { &c, s_event, s_late, s_junk, s_corrupt };
        char err[256];
        if (replay_run(&opt, paths, BOARDS, &sink, NULL, err, sizeof err) < 0) {
                fprintf(stderr, "bench_pipeline: %s\n", err);
                exit(1);
        }
        if (c.w) {
                struct record_totals tot = { .end_reason = "end of input" };
                runfile_writer_close(c.w, record_trailer(c.enc, &tot));
        }
        double dt = s_now() - t0;
        tagger_free(c.tagger);
        record_enc_free(c.enc);
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

        uint64_t ev_build, ev_file, ev_tag;
        double t_build = s_replay(pp, out, false, false, &ev_build);
        double t_cold = s_replay(pp, out, true, false, &ev_file);
        unlink(out);
        double t_file = s_replay(pp, out, true, false, &ev_file);
        unlink(out);            /* freeing 0.5 GB of tmpfs is not the replay's cost */
        double t_tag = s_replay(pp, out, true, true, &ev_tag);
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
        printf("  replay to run file, tagging    %8.2f M events/s %7.0f MB/s\n",
               (double)ev_tag / t_tag / 1e6, mb / t_tag);
        printf("  full replay / bare reader      %8.2f\n", t_bare / t_tag);
        printf("  tagged / untagged replay rate  %8.2f   (target >= 0.70)\n", t_file / t_tag);
        printf("  full replay rate / 1 M ev/s    %8.2f   (target >= 1)\n",
               (double)ev_tag / t_tag / 1e6);
        for (int b = 0; b < BOARDS; b++)
                unlink(paths[b]);
        unlink(out);
        rmdir(dir);
        return ev_tag == (uint64_t)copies * REF_EVENTS ? 0 : 1;
}
