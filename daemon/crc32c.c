/* SPDX-License-Identifier: Apache-2.0 */
/* crc32c: CRC-32C by ISA-L (folding by carry-less multiplication), by the
 * SSE4.2 crc32 instruction (three interleaved chains joined by zero-shift
 * tables) or by slicing-by-8 tables; and CRC arithmetic modulo the
 * polynomial for combining CRCs.  Owns no state but the tables and the
 * choice, made once; does no I/O. */
#include "crc32c.h"

#include <isa-l/crc.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

/* xpow[k][i] is x^(8 * i * 256^k) modulo the polynomial: shifting a CRC
 * over n < 2^24 zero bytes is three multiplications by entries of it.
 * xpow_clmul holds the same divided by x^32, which the carry-less multiply
 * and the crc32 instruction's reduction put back. */
static uint32_t xpow[3][256];
static uint32_t xpow_clmul[3][256];
static uint32_t x_2_24;                 /* x^(8 * 2^24) */
static uint32_t x_2_24_clmul;

/* Below this length the SSE4.2 chains beat ISA-L, whose folding kernels
 * pay a setup per call: on an AMD EPYC with VPCLMULQDQ, SSE4.2 is 1.3-1.5x
 * faster at 64 and 128 bytes, ISA-L 1.2-1.4x at 256 and 2-2.7x from 4 KiB
 * (bench_crc prints both at every size).  A fixed length, not a timing at
 * start-up: the choice then does not depend on how busy the machine was. */
#define ISAL_MIN_BYTES 256

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool ready;              /* s_init has run: skips pthread_once's call */
static bool have_hw;
static bool have_clmul;
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

/* a * b modulo the polynomial, both reflected (x^0 is bit 31). */
static uint32_t s_mulmod(uint32_t a, uint32_t b)
{
        uint32_t prod = 0;

        for (uint32_t m = 1u << 31; m; m >>= 1) {
                if (a & m)
                        prod ^= b;
                b = b & 1 ? (b >> 1) ^ POLY : b >> 1;
        }
        return prod;
}

static void s_init_xpow(void)
{
        uint32_t step = 1u << 23;       /* x^8 */
        /* x^-1 is (P(x) + 1) / x, P's low terms moved up one degree */
        uint32_t x_inv = (POLY << 1) | 1, x_inv32 = 1u << 31;

        for (int n = 0; n < 32; n++)
                x_inv32 = s_mulmod(x_inv32, x_inv);
        for (int k = 0; k < 3; k++) {
                xpow[k][0] = 1u << 31;
                for (int i = 1; i < 256; i++)
                        xpow[k][i] = s_mulmod(xpow[k][i - 1], step);
                step = s_mulmod(xpow[k][255], step);
        }
        x_2_24 = step;
        for (int k = 0; k < 3; k++)
                for (int i = 0; i < 256; i++)
                        xpow_clmul[k][i] = s_mulmod(xpow[k][i], x_inv32);
        x_2_24_clmul = s_mulmod(x_2_24, x_inv32);
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
        s_init_xpow();
#if defined(__x86_64__) || defined(__i386__)
        __builtin_cpu_init();
        have_hw = __builtin_cpu_supports("sse4.2");
        have_clmul = have_hw && __builtin_cpu_supports("pclmul");
        /* ISA-L's x86 kernels fold with PCLMULQDQ; without it they are a
         * byte-at-a-time table, slower than slicing-by-8 */
        if (have_clmul)
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
        __atomic_store_n(&ready, true, __ATOMIC_RELEASE);
}

static inline void s_ready(void)
{
        if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
                pthread_once(&init_once, s_init);
}

bool crc32c_have_hw(void)
{
        s_ready();
        return have_hw;
}

uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
        const unsigned char *p = buf;

        s_ready();
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

        s_ready();
        if (!have_hw)
                return crc32c_sw(crc, buf, len);
        crc = ~crc;
        /* aligning costs up to 7 single-byte steps: only long buffers,
         * whose chains would otherwise split cache lines, earn it back */
        while (len >= 64 && ((uintptr_t)p & 7)) {
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
        if (len >= 4) {
                uint32_t w;
                memcpy(&w, p, 4);
                crc = __builtin_ia32_crc32si(crc, w);
                p += 4;
                len -= 4;
        }
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
        s_ready();
        if (len >= isal_min)
                return crc32c_isal(crc, buf, len);
        return have_hw ? crc32c_hw(crc, buf, len) : crc32c_sw(crc, buf, len);
}

size_t crc32c_isal_min(void)
{
        s_ready();
        return isal_min;
}

const char *crc32c_describe(void)
{
        s_ready();
        return describe;
}

#if defined(__x86_64__)
/* a * b modulo the polynomial, b divided by x^32 beforehand: the carry-less
 * product, moved up one bit to fill 64, reduced by the crc32 instruction
 * (which multiplies by x^32 as it reduces). */
__attribute__((target("sse4.2,pclmul")))
static uint32_t s_mulmod_clmul(uint32_t a, uint32_t b_div_x32)
{
        __m128i prod = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)a),
                                            _mm_cvtsi32_si128((int)b_div_x32), 0);
        return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(prod) << 1);
}

/* crc times x^(8 len).  The power is multiplied up from the tables apart
 * from crc, so that only the last multiplication waits for crc. */
__attribute__((target("sse4.2,pclmul")))
static uint32_t s_shift_clmul(uint32_t crc, size_t len)
{
        for (; len >> 24; len -= (size_t)1 << 24)
                crc = s_mulmod_clmul(crc, x_2_24_clmul);
        uint32_t op = s_mulmod_clmul(xpow_clmul[0][len & 0xff], xpow_clmul[1][(len >> 8) & 0xff]);
        op = s_mulmod_clmul(op, xpow_clmul[2][len >> 16]);
        return s_mulmod_clmul(crc, op);
}
#endif

uint32_t crc32c_combine_sw(uint32_t crc_a, uint32_t crc_b, size_t len_b)
{
        s_ready();
        for (; len_b >> 24; len_b -= (size_t)1 << 24)
                crc_a = s_mulmod(crc_a, x_2_24);
        crc_a = s_mulmod(crc_a, xpow[0][len_b & 0xff]);
        crc_a = s_mulmod(crc_a, xpow[1][(len_b >> 8) & 0xff]);
        crc_a = s_mulmod(crc_a, xpow[2][len_b >> 16]);
        return crc_a ^ crc_b;
}

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, size_t len_b)
{
        s_ready();
#if defined(__x86_64__)
        if (have_clmul)
                return s_shift_clmul(crc_a, len_b) ^ crc_b;
#endif
        return crc32c_combine_sw(crc_a, crc_b, len_b);
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static void s_marks_hw(uint32_t crc, const unsigned char *p, size_t steps, uint32_t *out)
{
        uint64_t c = ~crc;

        for (size_t k = 0; k < steps; k++, p += CRC32C_MARK_BYTES) {
                c = s_hw64(c, p);
                c = s_hw64(c, p + 8);
                c = s_hw64(c, p + 16);
                c = s_hw64(c, p + 24);
                out[k] = ~(uint32_t)c;
        }
}
#endif

void crc32c_marks(uint32_t crc, const void *buf, size_t len, uint32_t *out)
{
        const unsigned char *p = buf;
        size_t steps = len / CRC32C_MARK_BYTES;

        s_ready();
#if defined(__x86_64__)
        if (have_hw) {
                s_marks_hw(crc, p, steps, out);
                return;
        }
#endif
        for (size_t k = 0; k < steps; k++, p += CRC32C_MARK_BYTES)
                out[k] = crc = crc32c_sw(crc, p, CRC32C_MARK_BYTES);
}
