/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark: the stream reader against the bare CRC-32C and the machine's
 * sequential-read bandwidth, over the same 256 MiB stream of 4 KiB fragments
 * in the same run, then the reader on its worst inputs against its rate on
 * those good fragments.  Prints figures and ratios; never fails on speed.
 * Targets (issue 3): reader >= 0.8 x CRC-32C and >= 0.6 x read bandwidth;
 * (issue 24) every worst input >= 0.1 x good fragments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crc32c.h"
#include "fragment.h"
#include "stream.h"
#include "../frag_build.h"

#define FRAG 4096u
#define PIECE (1u << 20)

static double s_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int s_count(void *ctx, const struct stream_item *it)
{
        uint64_t *n = ctx;
        n[it->kind == STREAM_FRAGMENT ? 0 : 1]++;
        return 0;
}

/* Best of `reps` runs of fn over the buffer, in GB/s. */
#define BEST(reps, ...)                                                      \
        ({                                                                   \
                double best_ = 1e30;                                         \
                for (int r_ = 0; r_ < (reps); r_++) {                        \
                        double t0_ = s_now();                                \
                        __VA_ARGS__;                                              \
                        double dt_ = s_now() - t0_;                          \
                        if (dt_ < best_)                                     \
                                best_ = dt_;                                 \
                }                                                            \
                best_;                                                       \
        })

/* ---- the reader's worst inputs ------------------------------------------ */

static uint64_t s_rng = 0x9E3779B97F4A7C15u;
static uint64_t s_rand(void)
{
        s_rng ^= s_rng << 13;
        s_rng ^= s_rng >> 7;
        s_rng ^= s_rng << 17;
        return s_rng;
}

static void s_random(uint8_t *buf, size_t len)
{
        for (size_t i = 0; i + 8 <= len; i += 8) {
                uint64_t r = s_rand();
                memcpy(buf + i, &r, 8);
        }
}

/* Headers back to back, each claiming a 1 MiB payload: no trailer ever. */
static void s_long_claims(uint8_t *buf, size_t len)
{
        struct frag_header h = { .version = 1, .payload_bytes = FRAG_MAX_PAYLOAD };
        for (size_t off = 0; off + FRAG_HEADER_BYTES <= len; off += FRAG_HEADER_BYTES) {
                h.trigger = (uint32_t)(off / FRAG_HEADER_BYTES);
                fb_header(buf + off, &h);
        }
}

/* The header magic in every word: a 4-byte item each. */
static void s_magic_words(uint8_t *buf, size_t len)
{
        for (size_t off = 0; off + 4 <= len; off += 4)
                fb_put32(buf + off, FRAG_MAGIC);
}

/* A fragment of one RAW block at out, with total bytes in all. */
static void s_raw_fragment(uint8_t *out, size_t total, uint32_t trigger)
{
        struct frag_header h = { .version = 1, .trigger = trigger,
                                 .payload_bytes = (uint32_t)(total - FRAG_OVERHEAD) };
        fb_block(out + FRAG_HEADER_BYTES, FRAG_BLOCK_RAW, 0, h.payload_bytes - 8);
        frag_encode(out, &h);
}

/* Corrupt 1 MiB fragments back to back: the CRC fails after the last byte. */
static void s_bad_crc(uint8_t *buf, size_t len)
{
        s_random(buf, len);
        for (size_t off = 0; off < len; off += 4)       /* no header magic inside */
                if (frag_le32(buf + off) == FRAG_MAGIC)
                        buf[off] ^= 1;
        for (size_t off = 0; off + FRAG_MAX_BYTES <= len; off += FRAG_MAX_BYTES) {
                s_raw_fragment(buf + off, FRAG_MAX_BYTES, (uint32_t)(off / FRAG_MAX_BYTES));
                buf[off + FRAG_MAX_BYTES - 8] ^= 1;
        }
}

/* Corrupt 1 MiB fragments, each holding a header every 48 bytes that claims
 * 1 MiB and never ends: each scan inside waits for a megabyte more. */
static void s_bad_crc_claims(uint8_t *buf, size_t len)
{
        struct frag_header claim = { .version = 1, .payload_bytes = FRAG_MAX_PAYLOAD };
        s_bad_crc(buf, len);
        for (size_t off = 0; off + FRAG_MAX_BYTES <= len; off += FRAG_MAX_BYTES) {
                for (size_t k = 48; k + FRAG_HEADER_BYTES + FRAG_OVERHEAD < FRAG_MAX_BYTES; k += 48)
                        fb_header(buf + off + k, &claim);
                s_raw_fragment(buf + off, FRAG_MAX_BYTES, (uint32_t)(off / FRAG_MAX_BYTES));
                buf[off + FRAG_MAX_BYTES - 8] ^= 1;
        }
}

/* Corrupt claims nested as densely as the format allows them to reach their
 * trailer: every 48 bytes a well-formed header claiming 1048568 bytes (its
 * CRC then falls 40 bytes into a later period and "DKEN" 44), one RAW block,
 * a CRC that fails.  Each header's span holds 21845 others to be tried. */
#define NEST 48u
#define NEST_PAYLOAD 1048568u
static void s_nest_fill(uint8_t *buf, size_t len)
{
        uint8_t period[NEST] = { 0 };
        struct frag_header h = { .version = 1, .payload_bytes = NEST_PAYLOAD };
        fb_header(period, &h);
        fb_block(period + FRAG_HEADER_BYTES, FRAG_BLOCK_RAW, 0, NEST_PAYLOAD - 8);
        fb_put32(period + 44, FRAG_END_MAGIC);  /* CRC field at 40 stays 0: wrong */
        size_t off;
        for (off = 0; off + NEST <= len; off += NEST)
                memcpy(buf + off, period, NEST);
        memset(buf + off, 0, len - off);
}

static void s_nested(uint8_t *buf, size_t len)
{
        s_nest_fill(buf, len);
}

/* The same with a good 4 KiB fragment ending every 256 KiB: each header up
 * to it has a good fragment inside and is a 4-byte item. */
static void s_nested_good(uint8_t *buf, size_t len)
{
        const size_t seg = 256u << 10, good = 4096;
        for (size_t off = 0; off + seg <= len; off += seg) {
                s_nest_fill(buf + off, seg - good);
                s_raw_fragment(buf + off + seg - good, good, (uint32_t)(off / seg));
        }
}

static const struct worst {
        const char *name;
        void (*make)(uint8_t *buf, size_t len);
} worst[] = {
        { "random bytes", s_random },
        { "1 MiB claims back to back", s_long_claims },
        { "header magic in every word", s_magic_words },
        { "corrupt 1 MiB fragments (CRC)", s_bad_crc },
        { "corrupt ones full of 1 MiB claims", s_bad_crc_claims },
        { "corrupt claims nested every 48 B", s_nested },
        { "nested claims around good ones", s_nested_good },
};

static size_t s_read_all(const uint8_t *buf, size_t len, size_t piece, uint64_t *counts)
{
        stream_t *s = stream_new();
        size_t most = 0;
        counts[0] = counts[1] = 0;
        for (size_t off = 0; off < len; off += piece) {
                stream_feed(s, buf + off, len - off < piece ? len - off : piece,
                            s_count, counts, NULL);
                if (stream_held(s) > most)
                        most = stream_held(s);
        }
        stream_finish(s, s_count, counts);
        stream_free(s);
        return most;
}

static void s_worst(size_t len, double good_gbs)
{
        uint8_t *buf = aligned_alloc(64, len);
        static const size_t pieces[] = { PIECE, 64u << 10 };
        if (!buf) {
                fprintf(stderr, "bench_stream: cannot allocate %zu MiB\n", len >> 20);
                return;
        }
        printf("worst inputs, %zu MiB each; ratio to good fragments (target >= 0.1)\n",
               len >> 20);
        for (size_t w = 0; w < sizeof worst / sizeof worst[0]; w++) {
                worst[w].make(buf, len);
                for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
                        uint64_t counts[2];
                        size_t most = 0;
                        double t = BEST(3, { most = s_read_all(buf, len, pieces[k], counts); });
                        double gbs = (double)len / 1e9 / t;
                        printf("  %-34s %4zu KiB pieces %7.3f GB/s  %5.3f  (%llu items, held <= %zu)\n",
                               worst[w].name, pieces[k] >> 10, gbs, gbs / good_gbs,
                               (unsigned long long)(counts[0] + counts[1]), most);
                }
        }
        free(buf);
}

int main(int argc, char **argv)
{
        size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
        size_t len = mib << 20;
        size_t worst_mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
        uint8_t *buf = aligned_alloc(64, len);
        volatile uint64_t sink = 0;

        if (!buf) {
                fprintf(stderr, "bench_stream: cannot allocate %zu MiB\n", mib);
                return 1;
        }
        for (size_t off = 0; off + FRAG <= len; off += FRAG) {
                struct frag_header h = { .version = 1, .source_id = (uint8_t)(off / FRAG % 4),
                                         .trigger = (uint32_t)(off / FRAG / 4),
                                         .payload_bytes = FRAG - FRAG_OVERHEAD };
                uint8_t *p = buf + off + FRAG_HEADER_BYTES;
                p[0] = FRAG_BLOCK_RAW; p[1] = 0; p[2] = 0; p[3] = 0;
                uint32_t rb = h.payload_bytes - 8;
                memcpy(p + 4, &rb, 4);
                for (uint32_t i = 8; i < h.payload_bytes; i++)
                        p[i] = (uint8_t)(i * 31 + off);
                frag_encode(buf + off, &h);
        }

        double t_read = BEST(5, {
                const uint64_t *w = (const uint64_t *)buf;
                uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (size_t i = 0; i < len / 8; i += 4) {
                        s0 += w[i]; s1 += w[i + 1]; s2 += w[i + 2]; s3 += w[i + 3];
                }
                sink += s0 + s1 + s2 + s3;
        });
        double t_crc = BEST(5, {
                for (size_t off = 0; off < len; off += FRAG)
                        sink += crc32c(0, buf + off, FRAG - 8);
        });
        double t_sw = BEST(1, { sink += crc32c_sw(0, buf, len); });
        uint64_t counts[2] = { 0, 0 };
        double t_stream = BEST(5, {
                stream_t *s = stream_new();
                counts[0] = counts[1] = 0;
                for (size_t off = 0; off < len; off += PIECE)
                        stream_feed(s, buf + off, len - off < PIECE ? len - off : PIECE,
                                    s_count, counts, NULL);
                stream_finish(s, s_count, counts);
                stream_free(s);
        });
        double gb = (double)len / 1e9;
        printf("stream of %zu MiB in %u-byte fragments, fed in %u KiB pieces; CRC-32C by %s\n",
               mib, FRAG, PIECE >> 10, crc32c_describe());
        printf("  fragments decided     %llu good, %llu other\n",
               (unsigned long long)counts[0], (unsigned long long)counts[1]);
        printf("  read bandwidth (sum)  %6.2f GB/s\n", gb / t_read);
        printf("  crc32c per fragment   %6.2f GB/s\n", gb / t_crc);
        printf("  crc32c table path     %6.2f GB/s\n", gb / t_sw);
        printf("  stream reader         %6.2f GB/s\n", gb / t_stream);
        printf("  reader / crc32c       %6.2f   (target >= 0.8)\n", t_crc / t_stream);
        printf("  reader / read bw      %6.2f   (target >= 0.6)\n", t_read / t_stream);
        free(buf);
        if (worst_mib)
                s_worst(worst_mib << 20, gb / t_stream);
        return sink == 42 ? 1 : 0;
}
