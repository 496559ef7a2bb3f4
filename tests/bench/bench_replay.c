/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark: builds 2^20 events from 4 sources of small fragments (sizes
 * like the reference data), in memory, through the stream reader and the
 * builder, read as a replay reads: one fragment from each source in turn.
 * Prints events/s, MB/s and the ratio to the bare stream reader on the same
 * bytes.  Never fails on speed. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "builder.h"
#include "fragment.h"
#include "stream.h"

#define N_SOURCES       4
#define BLOCK_EVENTS    65536u
#define N_BLOCKS        16u             /* 2^20 events in all */

struct board {
        uint8_t *buf;
        size_t len, cap, pos;
        stream_t *st;
};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void put_le16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

/* One fragment of board s for trigger t at out: tracks, clusters, muons or
 * raw data, as the reference boards send.  Returns its size. */
static size_t make_fragment(uint8_t *out, unsigned s, uint32_t t)
{
        static const uint16_t type[N_SOURCES] = { FRAG_BLOCK_TRACK, FRAG_BLOCK_CLUSTER,
                                                  FRAG_BLOCK_MUON, FRAG_BLOCK_RAW };
        static const uint16_t count[N_SOURCES] = { 2, 4, 2, 0 };
        static const uint32_t rec_bytes[N_SOURCES] = { 2 * 24, 4 * 16, 2 * 12, 64 };
        uint8_t *p = out + FRAG_HEADER_BYTES;
        struct frag_header h = {
                .version = 1, .source_id = (uint8_t)s, .trigger = t,
                .payload_bytes = FRAG_BLOCK_HEADER + rec_bytes[s],
                .trigger_time = 123456789ull + (uint64_t)t * 1000, .trigger_bits = 256 + t % 13,
        };
        put_le16(p, type[s]);
        put_le16(p + 2, count[s]);
        put_le32(p + 4, rec_bytes[s]);
        memset(p + 8, 0, rec_bytes[s]);
        for (uint32_t i = 0; i < rec_bytes[s]; i += 4)
                put_le32(p + 8 + i, t * 2654435761u + i);
        if (s == 0)
                for (int r = 0; r < 2; r++)
                        p[8 + r * 24 + 20] = r ? 0xFF : 0x01;  /* charge -1, +1 */
        if (s == 2)
                for (int r = 0; r < 2; r++)
                        put_le16(p + 8 + r * 12 + 10, 0);       /* reserved */
        return frag_encode(out, &h);
}

static void make_block(struct board *b, uint32_t first)
{
        for (unsigned s = 0; s < N_SOURCES; s++) {
                b[s].len = b[s].pos = 0;
                for (uint32_t i = 0; i < BLOCK_EVENTS; i++) {
                        if (b[s].len + 256 > b[s].cap) {
                                b[s].cap = b[s].cap ? 2 * b[s].cap : 1u << 20;
                                b[s].buf = realloc(b[s].buf, b[s].cap);
                        }
                        b[s].len += make_fragment(b[s].buf + b[s].len, s, first + i);
                }
        }
}

struct count_sink {
        uint64_t events, complete, bytes;
};

static void on_event(void *ctx, const struct built_event *ev)
{
        struct count_sink *c = ctx;
        c->events++;
        c->complete += !!(ev->status & EV_COMPLETE);
        for (size_t i = 0; i < ev->n_frags; i++)
                c->bytes += ev->frags[i].bytes;
}

struct feed_ctx {
        builder_t *b;
        uint32_t stream;
        bool pause;
        uint64_t items;
};

static int to_builder(void *ctx, const struct stream_item *it)
{
        struct feed_ctx *f = ctx;
        builder_add(f->b, f->stream, it, 0);
        return f->pause && (it->kind == STREAM_FRAGMENT || it->kind == STREAM_BAD_FRAGMENT);
}

static int count_items(void *ctx, const struct stream_item *it)
{
        struct feed_ctx *f = ctx;
        f->items += it->kind == STREAM_FRAGMENT;
        return 0;
}

int main(void)
{
        struct board boards[N_SOURCES] = { 0 };
        stream_t *bare[N_SOURCES];
        struct count_sink cs = { 0 };
        struct builder_sink sink = { .ctx = &cs, .event = on_event };
        struct builder_config cfg;
        struct feed_ctx bare_ctx = { 0 };
        double t_build = 0, t_bare = 0;
        uint64_t bytes = 0;

        builder_config_default(&cfg);
        cfg.expected = (1u << N_SOURCES) - 1;
        cfg.build_timeout_ms = 0;
        builder_t *b = builder_new(&cfg, &sink);
        for (unsigned s = 0; s < N_SOURCES; s++) {
                boards[s].st = stream_new();
                bare[s] = stream_new();
        }
        for (uint32_t blk = 0; blk < N_BLOCKS; blk++) {
                /* Triggers start below the wrap, to cross it on the way. */
                make_block(boards, 0xFFF80000u + blk * BLOCK_EVENTS);
                for (unsigned s = 0; s < N_SOURCES; s++)
                        bytes += boards[s].len;

                double t0 = now_s();
                for (unsigned s = 0; s < N_SOURCES; s++)
                        stream_feed(bare[s], boards[s].buf, boards[s].len, count_items, &bare_ctx,
                                    NULL);
                double t1 = now_s();
                for (bool more = true; more;) {
                        more = false;
                        for (unsigned s = 0; s < N_SOURCES; s++) {
                                struct board *bd = &boards[s];
                                struct feed_ctx f = { .b = b, .stream = s, .pause = true };
                                size_t used = 0;
                                if (bd->pos == bd->len)
                                        continue;
                                stream_feed(bd->st, bd->buf + bd->pos, bd->len - bd->pos,
                                            to_builder, &f, &used);
                                bd->pos += used;
                                more = true;
                        }
                }
                double t2 = now_s();
                t_bare += t1 - t0;
                t_build += t2 - t1;
        }
        double t0 = now_s();
        for (unsigned s = 0; s < N_SOURCES; s++) {
                struct feed_ctx f = { .b = b, .stream = s };
                stream_finish(boards[s].st, to_builder, &f);
                builder_source_ended(b, s);
        }
        builder_flush(b);
        t_build += now_s() - t0;

        struct builder_counters k;
        builder_get_counters(b, &k);
        double mb = (double)bytes / 1e6;
        printf("bench_replay: %" PRIu64 " events (%" PRIu64 " complete) from %u sources, %.1f MB, "
               "%.1f bytes/fragment\n", cs.events, cs.complete, N_SOURCES, mb,
               (double)bytes / (double)(N_BLOCKS * BLOCK_EVENTS * N_SOURCES));
        printf("  stream + builder: %.3f s  %.2f M events/s  %.0f MB/s\n", t_build,
               (double)cs.events / t_build / 1e6, mb / t_build);
        printf("  bare stream:      %.3f s  %.2f M fragments/s  %.0f MB/s\n", t_bare,
               (double)bare_ctx.items / t_bare / 1e6, mb / t_bare);
        printf("  ratio (builder path / bare stream rate): %.2f\n", t_bare / t_build);
        printf("  bytes in %" PRIu64 ", out %" PRIu64 "%s\n", k.bytes_in, k.bytes_out,
               k.bytes_in == k.bytes_out && k.bytes_in == bytes ? "" : "  MISMATCH");

        for (unsigned s = 0; s < N_SOURCES; s++) {
                stream_free(boards[s].st);
                stream_free(bare[s]);
                free(boards[s].buf);
        }
        builder_free(b);
        return 0;
}
