/* SPDX-License-Identifier: Apache-2.0 */
/* test_tagpipe: the tagging thread changes nothing in the run file.
 * Every reference directory is replayed with the tagger on the caller's
 * thread, on its own thread, and on its own thread through rings so small
 * that events wait for room, pass the ring size (tagged then on the
 * caller's thread) and come back too big for the ring (a heap copy): the
 * three run files must be the same bytes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fragment.h"
#include "physics_config.h"
#include "replay.h"
#include "runfile.h"
#include "tagger.h"
#include "tagpipe.h"

static const char *s_data(void)
{
        const char *d = getenv("DARKDAQ_TEST_DATA");

        return d ? d : "tests/data";
}

static uint8_t *slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        uint8_t *b = NULL;
        long n;

        if (!f)
                return NULL;
        if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
                b = malloc((size_t)n + 1);
                if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
                        free(b);
                        b = NULL;
                }
                *len = (size_t)n;
        }
        fclose(f);
        return b;
}

struct file_out {
        runfile_writer_t *w;
        long records;
        int error;
};

static void emit(void *ctx, const uint8_t *rec, size_t len, bool event, uint32_t fired)
{
        struct file_out *o = ctx;

        (void)event;
        (void)fired;
        if (runfile_writer_write_packed(o->w, rec, len) < 0)
                o->error = -1;
        o->records++;
}

/* Replays paths into out as darkdaqd --replay does, with a fixed header
 * and trailer time so that two runs can be compared byte for byte.
 * Returns the records emitted, or -1. */
static long replay_to(const char *const *paths, size_t n, const char *out, bool no_thread,
                      size_t ring_bytes)
{
        struct physics_config pc;
        struct replay_options opt;
        struct replay_summary sum;
        record_enc_t *enc = record_enc_new();
        struct file_out fo = { 0 };
        tagpipe_t *tp = NULL;
        char err[256];
        long records = -1;

        physics_config_default(&pc);
        replay_options_default(&opt);
        struct record_run_info info = { .run = 7, .start_time_ns = 1 };
        struct runfile_writer_opts wo = { .path = out };
        if (!enc || runfile_writer_open(&fo.w, &wo, record_run_header(enc, &info)) < 0)
                goto out;
        struct tagpipe_options po = { &pc, enc, emit, &fo, no_thread, ring_bytes };
        if (tagpipe_new(&tp, &po) < 0)
                goto out;
        struct builder_sink sink = tagpipe_sink(tp);
        if (replay_run(&opt, paths, n, &sink, &sum, err, sizeof err) < 0)
                goto out;
        tagpipe_flush(tp);
        if (tagpipe_error(tp) || fo.error)
                goto out;
        struct record_totals tot = { .counters = &sum.counters, .end_reason = "end of input",
                                     .end_time_ns = 2 };
        int rc = runfile_writer_close(fo.w, record_trailer(enc, &tot));
        fo.w = NULL;
        if (rc == 0)
                records = fo.records;
out:
        tagpipe_free(tp);
        runfile_writer_free(fo.w);
        record_enc_free(enc);
        return records;
}

static bool same_file(const char *a, const char *b)
{
        size_t na = 0, nb = 0;
        uint8_t *pa = slurp(a, &na), *pb = slurp(b, &nb);
        bool same = pa && pb && na == nb && memcmp(pa, pb, na) == 0;

        free(pa);
        free(pb);
        return same;
}

/* Replays the files three ways and checks they give the same bytes;
 * returns the records. */
static long three_ways(const char *const *paths, size_t n, const char *tag)
{
        char a[128], b[128], c[128];
        long ra, rb, rc;

        snprintf(a, sizeof a, "/tmp/darkdaq-test-ro-%d-%s-inline.dkr", (int)getpid(), tag);
        snprintf(b, sizeof b, "/tmp/darkdaq-test-ro-%d-%s-thread.dkr", (int)getpid(), tag);
        snprintf(c, sizeof c, "/tmp/darkdaq-test-ro-%d-%s-small.dkr", (int)getpid(), tag);
        ra = replay_to(paths, n, a, true, 0);
        rb = replay_to(paths, n, b, false, 0);
        rc = replay_to(paths, n, c, false, 4096);
        CHECK(ra > 0 && ra == rb && ra == rc);
        CHECK(same_file(a, b));
        CHECK(same_file(a, c));
        unlink(a);
        unlink(b);
        unlink(c);
        return ra;
}

TEST(reference_directories_same_bytes_on_a_thread)
{
        static const char *const dirs[] = { "mix-clean", "mix-faults", "desync", "wrap",
                                            "zprime-m3", "interleaved", "crafted" };

        for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
                char paths[4][512];
                const char *pp[4];
                size_t n = 0;

                for (int b = 0; b < 4; b++) {
                        snprintf(paths[n], sizeof paths[n], "%s/%s/board-%d.raw", s_data(),
                                 dirs[d], b);
                        if (access(paths[n], R_OK) == 0)
                                n++;
                }
                if (n == 0) {
                        snprintf(paths[0], sizeof paths[0], "%s/%s/%s", s_data(), dirs[d],
                                 strcmp(dirs[d], "crafted") ? "all.raw" : "content.raw");
                        n = 1;
                }
                for (size_t i = 0; i < n; i++)
                        pp[i] = paths[i];
                CHECK(three_ways(pp, n, dirs[d]) > 0);
        }
}

/* mix-clean with board 3's RAW block resized per trigger, 0 to 2.8 KB:
 * through 4 KiB rings (messages of at most 2040 bytes) some events fit,
 * some come back bigger than the ring (their tag fields added), and some
 * never fit. */
TEST(events_bigger_than_the_ring)
{
        char dir[] = "/tmp/darkdaq-test-ro-XXXXXX", paths[4][128];
        const char *pp[4];
        size_t len = 0, off = 0, out_len = 0;
        uint8_t *in, *out;
        unsigned big = 0, near = 0;
        FILE *f;

        REQUIRE(mkdtemp(dir));
        for (int b = 0; b < 3; b++) {
                char src[512];
                uint8_t *raw;
                size_t n;

                snprintf(src, sizeof src, "%s/mix-clean/board-%d.raw", s_data(), b);
                raw = slurp(src, &n);
                REQUIRE(raw);
                snprintf(paths[b], sizeof paths[b], "%s/board-%d.raw", dir, b);
                f = fopen(paths[b], "wb");
                REQUIRE(f && fwrite(raw, 1, n, f) == n && fclose(f) == 0);
                free(raw);
        }
        {
                char src[512];

                snprintf(src, sizeof src, "%s/mix-clean/board-3.raw", s_data());
                in = slurp(src, &len);
                REQUIRE(in);
        }
        out = malloc(len * 40 + (1 << 20));
        REQUIRE(out);
        while (off + FRAG_OVERHEAD <= len) {
                struct frag_header h;
                uint32_t raw_bytes;
                uint8_t *p = out + out_len;

                frag_header_decode(in + off, &h);
                off += FRAG_OVERHEAD + h.payload_bytes;
                raw_bytes = (h.trigger * 1156u) % 2800u & ~3u;
                big += raw_bytes > 2040;
                near += raw_bytes > 1700 && raw_bytes <= 2040;
                p[32] = 255;            /* RAW: type 255, count 0, block_bytes */
                p[33] = 0;
                p[34] = p[35] = 0;
                memcpy(p + 36, &raw_bytes, 4);
                memset(p + 40, (int)(h.trigger & 0xff), raw_bytes);
                h.payload_bytes = 8 + raw_bytes;
                out_len += frag_encode(p, &h);
        }
        snprintf(paths[3], sizeof paths[3], "%s/board-3.raw", dir);
        f = fopen(paths[3], "wb");
        REQUIRE(f && fwrite(out, 1, out_len, f) == out_len && fclose(f) == 0);
        CHECK(big > 50 && near > 50);
        for (int b = 0; b < 4; b++)
                pp[b] = paths[b];
        CHECK_EQ_I(three_ways(pp, 4, "big"), 500);
        for (int b = 0; b < 4; b++)
                unlink(paths[b]);
        rmdir(dir);
        free(in);
        free(out);
}

struct counter {
        long records, events;
        uint64_t fired_mumu;
};

static void count(void *ctx, const uint8_t *rec, size_t len, bool event, uint32_t fired)
{
        struct counter *c = ctx;

        (void)rec;
        (void)len;
        c->records++;
        c->events += event;
        c->fired_mumu += (fired >> TAG_MUMU_TAUTAU) & 1;
}

/* A loop that only polls, as the daemon's does, gets every record without
 * tagpipe_flush(): the thread wakes the fd when it runs dry, and the
 * fired tags come with each event. */
TEST(records_arrive_by_polling)
{
        struct physics_config pc;
        struct replay_options opt;
        record_enc_t *enc = record_enc_new();
        struct counter c = { 0 };
        tagpipe_t *tp = NULL;
        char paths[4][512], err[256];
        const char *pp[4];
        int waits = 0;

        physics_config_default(&pc);
        replay_options_default(&opt);
        for (int b = 0; b < 4; b++) {
                snprintf(paths[b], sizeof paths[b], "%s/mix-clean/board-%d.raw", s_data(), b);
                pp[b] = paths[b];
        }
        struct tagpipe_options po = { .physics = &pc, .enc = enc, .emit = count, .ctx = &c };
        REQUIRE(enc);
        REQUIRE_OK_ZERO(tagpipe_new(&tp, &po));
        REQUIRE(tagpipe_wake_fd(tp) >= 0);
        struct builder_sink sink = tagpipe_sink(tp);
        REQUIRE_OK_ZERO(replay_run(&opt, pp, 4, &sink, NULL, err, sizeof err));
        while (c.records < 500 && waits < 1000) {
                tagpipe_poll(tp);
                if (c.records < 500 && tagpipe_prepare_sleep(tp)) {
                        struct pollfd fd = { tagpipe_wake_fd(tp), POLLIN, 0 };

                        /* the bound only catches a lost wake-up */
                        if (poll(&fd, 1, 10000) == 0)
                                break;
                        waits++;
                }
                tagpipe_clear_wake(tp);
        }
        CHECK(c.records == 500 && c.events == 500);
        /* tests/data/mix-clean/expected.jsonl has 44 mumu_tautau events */
        struct record_counters rc;
        record_get_counters(enc, &rc);
        CHECK(c.fired_mumu == rc.tags[TAG_MUMU_TAUTAU] && c.fired_mumu == 44);
        tagpipe_free(tp);
        record_enc_free(enc);
}

TEST_MAIN()
