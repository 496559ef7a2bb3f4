/* crc32c: CRC-32C by ISA-L (folding by carry-less multiplication), by the
 * SSE4.2 crc32 instruction (three interleaved chains joined by zero-shift
 * tables) or by slicing-by-8 tables.  Owns no state but the tables and the
 * choice, made once; does no I/O. */
#include "crc32c.h"

#include <isa-l/crc.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define POLY 0x82F63B78u        /* reflected Castagnoli polynomial */

static uint32_t table[8][256];

/* Shift tables for the hardware path: zeros[l][k][b] is the CRC state after
 * feeding blocks[l] zero bytes to a state whose byte k is b.  Several block
 * sizes keep the single-chain tail short for fragment-sized buffers (a
 * 1024-byte level measured 3x slower on 4 KiB fragments: the three loads of
 * one step then fall 1 KiB apart, which the load unit handles badly). */
static const size_t blocks[] = { 8192, 256, 64 };
#define N_LEVELS (sizeof blocks / sizeof blocks[0])
static uint32_t zeros[N_LEVELS][4][256];

/* Below this length the SSE4.2 chains beat ISA-L, whose folding kernels
 * pay a setup per call: on an AMD EPYC with VPCLMULQDQ, SSE4.2 is 1.3-1.5x
 * faster at 64 and 128 bytes, ISA-L 1.2-1.4x at 256 and 2-2.7x from 4 KiB
 * (bench_crc prints both at every size).  A fixed length, not a timing at
 * start-up: the choice then does not depend on how busy the machine was. */
#define ISAL_MIN_BYTES 256

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool have_hw;
static size_t isal_min = SIZE_MAX;
static char describe[64];       /* crc32c_describe() */

static uint32_t s_gf2_times(const uint32_t *mat, uint32_t vec)
{
        uint32_t sum = 0;
        for (; vec; vec >>= 1, mat++)
                if (vec & 1)
                        sum ^= *mat;
        return sum;
}

static void s_gf2_square(uint32_t *square, const uint32_t *mat)
{
        for (int n = 0; n < 32; n++)
                square[n] = s_gf2_times(mat, mat[n]);
}

/* Operator that applies len zero bytes to a CRC state (Mark Adler's method). */
static void s_zeros_op(uint32_t *even, size_t len)
{
        uint32_t odd[32];
        uint32_t row = 1;

        odd[0] = POLY;
        for (int n = 1; n < 32; n++) {
                odd[n] = row;
                row <<= 1;
        }
        s_gf2_square(even, odd);        /* 2 zero bits */
        s_gf2_square(odd, even);        /* 4 zero bits */
        do {
                s_gf2_square(even, odd);
                len >>= 1;
                if (len == 0)
                        return;
                s_gf2_square(odd, even);
                len >>= 1;
        } while (len);
        memcpy(even, odd, sizeof odd);
}

static void s_zeros_table(uint32_t table_out[4][256], size_t len)
{
        uint32_t op[32];

        s_zeros_op(op, len);
        for (uint32_t n = 0; n < 256; n++) {
                table_out[0][n] = s_gf2_times(op, n);
                table_out[1][n] = s_gf2_times(op, n << 8);
                table_out[2][n] = s_gf2_times(op, n << 16);
                table_out[3][n] = s_gf2_times(op, n << 24);
        }
}

static inline uint32_t s_shift(uint32_t shift[4][256], uint32_t crc)
{
        return shift[0][crc & 0xff] ^ shift[1][(crc >> 8) & 0xff] ^
               shift[2][(crc >> 16) & 0xff] ^ shift[3][crc >> 24];
}

static void s_init(void)
{
        for (uint32_t n = 0; n < 256; n++) {
                uint32_t c = n;
                for (int k = 0; k < 8; k++)
                        c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
                table[0][n] = c;
        }
        for (uint32_t n = 0; n < 256; n++) {
                uint32_t c = table[0][n];
                for (int k = 1; k < 8; k++) {
                        c = table[0][c & 0xff] ^ (c >> 8);
                        table[k][n] = c;
                }
        }
        for (size_t l = 0; l < N_LEVELS; l++)
                s_zeros_table(zeros[l], blocks[l]);
#if defined(__x86_64__) || defined(__i386__)
        __builtin_cpu_init();
        have_hw = __builtin_cpu_supports("sse4.2");
        /* ISA-L's x86 kernels fold with PCLMULQDQ; without it they are a
         * byte-at-a-time table, slower than slicing-by-8 */
        if (have_hw && __builtin_cpu_supports("pclmul"))
                isal_min = ISAL_MIN_BYTES;
#else
        isal_min = 0;           /* ISA-L's own kernels for this architecture */
#endif
        if (isal_min == 0)
                snprintf(describe, sizeof describe, "ISA-L");
        else if (isal_min == SIZE_MAX)
                snprintf(describe, sizeof describe, "%s", have_hw ? "SSE4.2" : "table");
        else
                snprintf(describe, sizeof describe, "ISA-L from %zu bytes, SSE4.2 below", isal_min);
}

bool crc32c_have_hw(void)
{
        pthread_once(&init_once, s_init);
        return have_hw;
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
        const unsigned char *p = buf;

        pthread_once(&init_once, s_init);
        crc = ~crc;
        while (len && ((uintptr_t)p & 7)) {
                crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
                len--;
        }
        while (len >= 8) {
                uint64_t w;
                memcpy(&w, p, 8);
                w ^= crc;       /* little-endian: the low 4 bytes meet the state */
                crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^
                      table[5][(w >> 16) & 0xff] ^ table[4][(w >> 24) & 0xff] ^
                      table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
                      table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
                p += 8;
                len -= 8;
        }
        while (len--)
                crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static inline uint64_t s_hw64(uint64_t crc, const unsigned char *p)
{
        uint64_t w;
        memcpy(&w, p, 8);
        return __builtin_ia32_crc32di(crc, w);
}

/* Three independent chains over adjacent blocks hide the instruction's
 * 3-cycle latency; the chains are joined by shifting the first two over the
 * zeros that follow them. */
__attribute__((target("sse4.2"), always_inline))
static inline uint32_t s_hw_blocks(uint32_t crc, const unsigned char **pp, size_t *lenp,
                            size_t block, uint32_t shift[4][256])
{
        const unsigned char *p = *pp;
        size_t len = *lenp;

        while (len >= 3 * block) {
                uint64_t c0 = crc, c1 = 0, c2 = 0;
                const unsigned char *end = p + block;
                do {
                        c0 = s_hw64(c0, p);
                        c1 = s_hw64(c1, p + block);
                        c2 = s_hw64(c2, p + 2 * block);
                        p += 8;
                } while (p < end);
                crc = s_shift(shift, (uint32_t)c0) ^ (uint32_t)c1;
                crc = s_shift(shift, crc) ^ (uint32_t)c2;
                p += 2 * block;
                len -= 3 * block;
        }
        *pp = p;
        *lenp = len;
        return crc;
}

__attribute__((target("sse4.2")))
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
        const unsigned char *p = buf;
        uint64_t c;

        pthread_once(&init_once, s_init);
        if (!have_hw)
                return crc32c_sw(crc, buf, len);
        crc = ~crc;
        while (len && ((uintptr_t)p & 7)) {
                crc = __builtin_ia32_crc32qi(crc, *p++);
                len--;
        }
        /* constant block sizes let the compiler unroll each level */
        crc = s_hw_blocks(crc, &p, &len, 8192, zeros[0]);
        crc = s_hw_blocks(crc, &p, &len, 256, zeros[1]);
        crc = s_hw_blocks(crc, &p, &len, 64, zeros[2]);
        c = crc;
        while (len >= 8) {
                c = s_hw64(c, p);
                p += 8;
                len -= 8;
        }
        crc = (uint32_t)c;
        while (len--)
                crc = __builtin_ia32_crc32qi(crc, *p++);
        return ~crc;
}
#else
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
        return crc32c_sw(crc, buf, len);
}
#endif

uint32_t crc32c_isal(uint32_t crc, const void *buf, size_t len)
{
        const unsigned char *p = buf;

        while (len) {
                int n = len > INT_MAX / 2 ? INT_MAX / 2 : (int)len;
                /* ISA-L takes and returns the register, not its complement;
                 * it only reads the buffer despite the prototype */
                crc = ~crc32_iscsi((unsigned char *)p, n, ~crc);
                p += n;
                len -= (size_t)n;
        }
        return crc;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
        pthread_once(&init_once, s_init);
        if (len >= isal_min)
                return crc32c_isal(crc, buf, len);
        return have_hw ? crc32c_hw(crc, buf, len) : crc32c_sw(crc, buf, len);
}

size_t crc32c_isal_min(void)
{
        pthread_once(&init_once, s_init);
        return isal_min;
}

const char *crc32c_describe(void)
{
        pthread_once(&init_once, s_init);
        return describe;
}
