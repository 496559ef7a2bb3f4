/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark: CRC-32C by ISA-L against the SSE4.2 chains (and the table) over
 * one 256 MiB buffer, whole and in pieces of 64 B to 64 KiB, in the same run,
 * and which one crc32c() runs; the combine step and the running marks that the
 * stream reader uses on corrupt spans.  Prints figures; never fails on
 * speed.  Issue 24: the faster path at every size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crc32c.h"

static double s_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef uint32_t (*crc_fn)(uint32_t crc, const void *buf, size_t len);

static volatile uint32_t sink;

/* Best of reps passes of fn over len bytes of buf in pieces, in GB/s. */
static double s_rate(crc_fn fn, const uint8_t *buf, size_t len, size_t piece, int reps)
{
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
                uint32_t c = 0;
                double t0 = s_now();
                for (size_t off = 0; off + piece <= len; off += piece)
                        c ^= fn(0, buf + off, piece);
                double dt = s_now() - t0;
                sink ^= c;
                if (dt < best)
                        best = dt;
        }
        return (double)(len / piece * piece) / 1e9 / best;
}

int main(int argc, char **argv)
{
        size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
        size_t len = mib << 20;
        uint8_t *buf = aligned_alloc(64, len);
        static const size_t pieces[] = { 64, 128, 256, 512, 1024, 2048, 4096, 65536, 0 };

        if (!buf) {
                fprintf(stderr, "bench_crc: cannot allocate %zu MiB\n", mib);
                return 1;
        }
        for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)(i * 131 + (i >> 12));
        printf("crc32c runs: %s\n", crc32c_describe());
        printf("over %zu MiB in pieces of   SSE4.2    ISA-L  crc32c()   table   ISA-L/SSE4.2 (GB/s)\n",
               mib);
        for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
                size_t piece = pieces[k] ? pieces[k] : len;
                double hw = s_rate(crc32c_hw, buf, len, piece, 3);
                double isal = s_rate(crc32c_isal, buf, len, piece, 3);
                double any = s_rate(crc32c, buf, len, piece, 3);
                char name[32];
                if (piece >= 1u << 20)
                        snprintf(name, sizeof name, "%zu MiB", piece >> 20);
                else
                        snprintf(name, sizeof name, "%zu B", piece);
                printf("  %-24s %8.2f %8.2f %8.2f", name, hw, isal, any);
                if (piece == 4096 || piece == len)
                        printf(" %8.2f", s_rate(crc32c_sw, buf, len < (64u << 20) ? len : 64u << 20,
                                                piece < (64u << 20) ? piece : 64u << 20, 1));
                else
                        printf(" %8s", "");
                printf("   %5.2f\n", isal / hw);
        }

        /* what the reader pays per corrupt candidate: the combine over ~1 MiB */
        uint32_t marks[4096 / CRC32C_MARK_BYTES];
        double best = 1e30;
        for (int r = 0; r < 5; r++) {
                uint32_t c = 1;
                double t0 = s_now();
                for (size_t i = 0; i < 1000000; i++)
                        c = crc32c_combine(c, (uint32_t)i, 1048608 - (i & 1023) * 4);
                double dt = s_now() - t0;
                sink ^= c;
                best = dt < best ? dt : best;
        }
        printf("  crc32c_combine over ~1 MiB  %6.1f ns per call\n", best * 1e3);
        best = 1e30;
        for (int r = 0; r < 5; r++) {
                double t0 = s_now();
                for (size_t off = 0; off + 4096 <= (64u << 20); off += 4096)
                        crc32c_marks(0, buf + off, 4096, marks);
                double dt = s_now() - t0;
                sink ^= marks[7];
                best = dt < best ? dt : best;
        }
        printf("  crc32c_marks (every %d B)  %6.2f GB/s\n", CRC32C_MARK_BYTES,
               (double)(64u << 20) / 1e9 / best);
        free(buf);
        return 0;
}
