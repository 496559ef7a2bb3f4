/* SPDX-License-Identifier: Apache-2.0 */
/* frag_build: makes fragments for tests, good or broken in one chosen way. */
#ifndef DARKDAQ_TEST_FRAG_BUILD_H
#define DARKDAQ_TEST_FRAG_BUILD_H

#include <string.h>

#include "fragment.h"

static inline void fb_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void fb_put32(uint8_t *p, uint32_t v)
{
        fb_put16(p, (uint16_t)v);
        fb_put16(p + 2, (uint16_t)(v >> 16));
}

/* Appends a block header at p; returns the bytes written (8). */
static inline size_t fb_block(uint8_t *p, uint16_t type, uint16_t count, uint32_t bytes)
{
        fb_put16(p, type);
        fb_put16(p + 2, count);
        fb_put32(p + 4, bytes);
        return 8;
}

/* A good fragment at out: source, trigger, one TRACK block of n tracks and
 * one MUON block of one record.  Returns its size. */
static inline size_t fb_fragment(uint8_t *out, uint8_t source, uint32_t trigger, unsigned n)
{
        struct frag_header h = { .version = 1, .source_id = source, .trigger = trigger,
                                 .trigger_time = 1000u + trigger, .trigger_bits = 5 };
        uint8_t *p = out + FRAG_HEADER_BYTES;
        size_t len = 0;

        len += fb_block(p + len, FRAG_BLOCK_TRACK, (uint16_t)n, n * FRAG_TRACK_BYTES);
        for (unsigned i = 0; i < n; i++) {
                uint8_t *t = p + len;
                memset(t, 0, FRAG_TRACK_BYTES);
                fb_put32(t, 1000000 + i);
                t[20] = i & 1 ? 0xff : 1;
                fb_put16(t + 22, 20);
                len += FRAG_TRACK_BYTES;
        }
        len += fb_block(p + len, FRAG_BLOCK_MUON, 1, FRAG_MUON_BYTES);
        memset(p + len, 0, FRAG_MUON_BYTES);
        p[len + 8] = 5;
        len += FRAG_MUON_BYTES;
        h.payload_bytes = (uint32_t)len;
        return frag_encode(out, &h);
}

/* Writes only the 32 header bytes of h at out (for false or cut headers). */
static inline void fb_header(uint8_t *out, const struct frag_header *h)
{
        fb_put32(out, h->magic ? h->magic : FRAG_MAGIC);
        out[4] = h->version;
        out[5] = h->source_id;
        fb_put16(out + 6, h->flags);
        fb_put32(out + 8, h->trigger);
        fb_put32(out + 12, h->payload_bytes);
        fb_put32(out + 16, (uint32_t)h->trigger_time);
        fb_put32(out + 20, (uint32_t)(h->trigger_time >> 32));
        fb_put32(out + 24, h->trigger_bits);
        fb_put32(out + 28, h->reserved);
}

/* Recomputes the CRC after an edit of header or payload. */
static inline void fb_reseal(uint8_t *frag)
{
        struct frag_header h;
        frag_header_decode(frag, &h);
        frag_encode(frag, &h);
}

#endif
