/* Benchmark: the stream reader against the bare CRC-32C and the machine's
 * sequential-read bandwidth, over the same 256 MiB stream of 4 KiB fragments
 * in the same run.  Prints figures and ratios; never fails on speed.
 * Targets (issue 3): reader >= 0.8 x CRC-32C and >= 0.6 x read bandwidth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crc32c.h"
#include "fragment.h"
#include "stream.h"

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

int main(int argc, char **argv)
{
        size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
        size_t len = mib << 20;
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
        printf("stream of %zu MiB in %u-byte fragments, fed in %u KiB pieces; %s CRC-32C\n",
               mib, FRAG, PIECE >> 10, crc32c_have_hw() ? "SSE4.2" : "table");
        printf("  fragments decided     %llu good, %llu other\n",
               (unsigned long long)counts[0], (unsigned long long)counts[1]);
        printf("  read bandwidth (sum)  %6.2f GB/s\n", gb / t_read);
        printf("  crc32c per fragment   %6.2f GB/s\n", gb / t_crc);
        printf("  crc32c table path     %6.2f GB/s\n", gb / t_sw);
        printf("  stream reader         %6.2f GB/s\n", gb / t_stream);
        printf("  reader / crc32c       %6.2f   (target >= 0.8)\n", t_crc / t_stream);
        printf("  reader / read bw      %6.2f   (target >= 0.6)\n", t_read / t_stream);
        free(buf);
        return sink == 42 ? 1 : 0;
}
