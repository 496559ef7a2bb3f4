/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark: tagger_run() over the 500 events of tests/data/mix-clean (the
 * four board files decoded once, the i-th fragment of each board being the
 * same trigger there), repeated for about a second; prints events/s.  Also
 * one worst-case-sized event: a 1 MiB fragment of tracks and one of
 * clusters.  Never fails on speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fragment.h"
#include "tagger.h"

#define BOARDS 4
#define MAX_EVENTS 4096

static double s_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint8_t *s_slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        uint8_t *b;
        long n;

        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        b = malloc((size_t)n + 1);
        if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
                free(b);
                b = NULL;
        }
        fclose(f);
        *len = (size_t)n;
        return b;
}

/* Good fragments of one board file, in order. */
static size_t s_fragments(const uint8_t *buf, size_t len, const uint8_t **out, size_t max)
{
        size_t off = 0, n = 0;

        while (off + FRAG_OVERHEAD <= len && n < max) {
                struct frag_header h;
                size_t fl;

                frag_header_decode(buf + off, &h);
                fl = FRAG_OVERHEAD + (size_t)h.payload_bytes;
                if (frag_header_check(&h, NULL) != FRAG_OK || off + fl > len ||
                    frag_check(buf + off, fl, &h, NULL, NULL, NULL) != FRAG_OK) {
                        off += 4;
                        continue;
                }
                if (!(h.flags & FRAG_TEST_PATTERN))
                        out[n++] = buf + off;
                off += fl;
        }
        return n;
}

static void s_big_event(tagger_t *t)
{
        size_t nt = (FRAG_MAX_PAYLOAD - 8) / FRAG_TRACK_BYTES;
        size_t nc = (FRAG_MAX_PAYLOAD - 8) / FRAG_CLUSTER_BYTES;
        struct frag_track *tr = calloc(nt, sizeof(*tr));
        struct frag_cluster *cl = calloc(nc, sizeof(*cl));
        struct tag_result r;
        uint64_t x = 1;
        double t0;

        if (!tr || !cl)
                goto out;
        for (size_t i = 0; i < nt; i++) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                tr[i] = (struct frag_track){ (int32_t)(x >> 44) - 500000, (int32_t)(x >> 24 & 0xfffff) - 500000,
                                             (int32_t)(x & 0x1fffff) - 1000000, (int32_t)(x >> 50) - 8000, 0,
                                             (x >> 63) ? 1 : -1, 100, 20 };
        }
        for (size_t i = 0; i < nc; i++) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                cl[i] = (struct frag_cluster){ (uint32_t)(x >> 44), (int32_t)((x >> 8) % 3141593),
                                               (int32_t)((x >> 30) % 6283185) - 3141592, 0, 1 };
        }
        t0 = s_now();
        tagger_run_records(t, tr, nt, cl, nc, NULL, 0, &r);
        printf("tagger: one 1 MiB track + 1 MiB cluster event (%zu tracks, %zu clusters): %.3f s%s\n",
               nt, nc, s_now() - t0, r.dv_skipped ? ", vertex search skipped" : "");
out:
        free(tr);
        free(cl);
}

int main(void)
{
        const char *dir = getenv("DARKDAQ_TEST_DATA") ? getenv("DARKDAQ_TEST_DATA") : "tests/data";
        static const uint8_t *frags[BOARDS][MAX_EVENTS];
        uint8_t *buf[BOARDS] = { 0 };
        size_t n[BOARDS], n_ev = MAX_EVENTS, runs = 0;
        struct physics_config cfg;
        tagger_t *t;
        double t0, dt;
        uint64_t fired = 0;

        for (int b = 0; b < BOARDS; b++) {
                char path[4096];
                size_t len;

                snprintf(path, sizeof(path), "%s/mix-clean/board-%d.raw", dir, b);
                buf[b] = s_slurp(path, &len);
                if (!buf[b]) {
                        printf("tagger: %s not readable, skipped\n", path);
                        return 0;
                }
                n[b] = s_fragments(buf[b], len, frags[b], MAX_EVENTS);
                if (n[b] < n_ev)
                        n_ev = n[b];
        }
        physics_config_default(&cfg);
        t = tagger_new(&cfg);
        if (!t)
                return 1;
        t0 = s_now();
        do {
                for (size_t e = 0; e < n_ev; e++) {
                        const uint8_t *ev[BOARDS];
                        struct tag_input in = { ev, BOARDS };
                        struct tag_result r;

                        for (int b = 0; b < BOARDS; b++)
                                ev[b] = frags[b][e];
                        tagger_run(t, &in, &r);
                        fired += r.fired != 0;
                }
                runs++;
                dt = s_now() - t0;
        } while (dt < 1.0);
        printf("tagger: %.0f events/s (mix-clean, %zu events x %zu runs, %.1f%% tagged)\n",
               (double)(n_ev * runs) / dt, n_ev, runs, 100.0 * (double)fired / (double)(n_ev * runs));
        s_big_event(t);
        tagger_free(t);
        for (int b = 0; b < BOARDS; b++)
                free(buf[b]);
        return 0;
}
