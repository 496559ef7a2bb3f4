/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the builder behind the stream reader: the input is cut into up to
 * four streams, fed one fragment at a time in turn, under small max_open
 * limits and a clock that jumps; whatever happens, every byte given to the
 * builder comes out exactly once (events, late, junk, corrupt). */
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "stream.h"

struct sink_ctx { uint64_t bytes; uint64_t events; };

static void s_event(void *ctx, const struct built_event *ev)
{
        struct sink_ctx *c = ctx;
        for (size_t i = 0; i < ev->n_frags; i++)
                c->bytes += ev->frags[i].bytes;
        for (size_t i = 0; i < ev->n_tag_frags; i++)
                if (frag_check(ev->tag_frags[i], (size_t)frag_le32(ev->tag_frags[i] + 12) +
                               FRAG_OVERHEAD, NULL, NULL, NULL, NULL) != FRAG_OK)
                        abort();
        c->events++;
}
static void s_late(void *ctx, const struct built_late *l) { ((struct sink_ctx *)ctx)->bytes += l->bytes; }
static void s_junk(void *ctx, const struct built_junk *j) { ((struct sink_ctx *)ctx)->bytes += j->bytes; }
static void s_corrupt(void *ctx, const struct built_corrupt *c) { ((struct sink_ctx *)ctx)->bytes += c->bytes; }

struct feed { builder_t *b; uint32_t stream; uint64_t now; };

static int s_item(void *ctx, const struct stream_item *it)
{
        struct feed *f = ctx;
        builder_add(f->b, f->stream, it, f->now);
        return it->kind == STREAM_FRAGMENT;     /* pause after each fragment */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 4)
                return 0;
        struct builder_config cfg;
        builder_config_default(&cfg);
        cfg.expected = data[0] | (uint64_t)data[1] << 8;
        cfg.max_open_events = 1 + data[2] % 8;
        cfg.max_open_bytes = FRAG_MAX_BYTES;
        cfg.build_timeout_ms = data[3] & 1 ? 50 : 0;
        unsigned n_streams = 1 + (data[3] >> 1) % 4;
        data += 4;
        size -= 4;

        struct sink_ctx sc = { 0, 0 };
        struct builder_sink sink = { &sc, s_event, s_late, s_junk, s_corrupt };
        builder_t *b = builder_new(&cfg, &sink);
        if (!b)
                return 0;
        stream_t *st[4];
        size_t pos[4], end[4];
        for (unsigned i = 0; i < n_streams; i++) {
                st[i] = stream_new();
                pos[i] = size * i / n_streams;
                end[i] = size * (i + 1) / n_streams;
        }
        struct feed f = { b, 0, 0 };
        bool more = true;
        while (more) {
                more = false;
                for (unsigned i = 0; i < n_streams; i++) {
                        if (pos[i] >= end[i])
                                continue;
                        size_t used = 0;
                        f.stream = i;
                        f.now += 7;
                        stream_feed(st[i], data + pos[i], end[i] - pos[i], s_item, &f, &used);
                        pos[i] += used;
                        if (pos[i] >= end[i])
                                while (stream_finish(st[i], s_item, &f))
                                        ;
                        more = true;
                        builder_tick(b, f.now);
                }
        }
        builder_flush(b);
        struct builder_counters k;
        builder_get_counters(b, &k);
        if (k.bytes_in != size || k.bytes_out != size || sc.bytes != size)
                abort();
        for (unsigned i = 0; i < n_streams; i++)
                stream_free(st[i]);
        builder_free(b);
        return 0;
}
