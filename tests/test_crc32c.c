/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of crc32c: the check value, and the SSE4.2, ISA-L and table paths
 * against each other on random buffers of every length 0..4096 at every
 * alignment; combining and splitting CRCs; the running marks. */
#include <sys/mman.h>

#include "check.h"
#include "crc32c.h"

TEST(check_value)
{
        CHECK_EQ_U(crc32c_sw(0, "123456789", 9), 0xE3069283u);
        CHECK_EQ_U(crc32c(0, "123456789", 9), 0xE3069283u);
        if (crc32c_have_hw())
                CHECK_EQ_U(crc32c_hw(0, "123456789", 9), 0xE3069283u);
        CHECK_EQ_U(crc32c(0, "", 0), 0);
}

/* iSCSI test vectors (RFC 3720 B.4): 32 bytes of zeros and of 0xFF. */
TEST(rfc3720_vectors)
{
        unsigned char z[32] = { 0 }, f[32];
        memset(f, 0xff, sizeof f);
        CHECK_EQ_U(crc32c_sw(0, z, 32), 0x8A9136AAu);
        CHECK_EQ_U(crc32c_sw(0, f, 32), 0x62A8AB43u);
        CHECK_EQ_U(crc32c(0, z, 32), 0x8A9136AAu);
        CHECK_EQ_U(crc32c(0, f, 32), 0x62A8AB43u);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint8_t s_rand8(void)
{
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return (uint8_t)(rng_state >> 24);
}

TEST(hw_equals_sw_every_length_and_alignment)
{
        static uint8_t buf[4096 + 8];
        int bad = 0;

        for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = s_rand8();
        if (!crc32c_have_hw())
                printf("note: no SSE4.2 on this CPU; crc32c_hw falls back to the table\n");
        for (size_t len = 0; len <= 4096; len++)
                for (size_t a = 0; a < 8; a++)
                        if (crc32c_hw(0, buf + a, len) != crc32c_sw(0, buf + a, len))
                                bad++;
        CHECK_EQ_U(bad, 0);
}

TEST(isal_equals_sw_every_length_and_alignment)
{
        static uint8_t buf[4096 + 8];
        int bad = 0, bad_dispatch = 0;

        for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = s_rand8();
        CHECK_EQ_U(crc32c_isal(0, "123456789", 9), 0xE3069283u);
        for (size_t len = 0; len <= 4096; len++)
                for (size_t a = 0; a < 8; a++) {
                        uint32_t want = crc32c_sw(0x1234567u, buf + a, len);
                        bad += crc32c_isal(0x1234567u, buf + a, len) != want;
                        bad_dispatch += crc32c(0x1234567u, buf + a, len) != want;
                }
        CHECK_EQ_U(bad, 0);
        CHECK_EQ_U(bad_dispatch, 0);
}

/* ISA-L takes an int length: a buffer past 1 GiB goes in pieces.  Zero
 * pages cost no memory; the expected CRC is chained from two calls below
 * the split. */
TEST(isal_splits_long_buffers)
{
        size_t a = (1u << 30) - 4096, b = 8192;
        uint8_t *z = mmap(NULL, a + b, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(z != MAP_FAILED);
        uint32_t want = crc32c_isal(crc32c_isal(0, z, a), z + a, b);
        CHECK_EQ_U(crc32c_isal(0, z, a + b), want);
        CHECK_EQ_U(crc32c(0, z, a + b), want);
        munmap(z, a + b);
}

TEST(combine_joins_and_splits)
{
        static const size_t lens[] = { 0, 1, 3, 4, 31, 32, 255, 256, 257, 4096, 65535,
                                       65536, 1048608, (1u << 24) - 4, (1u << 24) + 5,
                                       (3u << 24) + 777 };
        size_t n = (3u << 24) + 800;
        uint8_t *buf = malloc(n);
        REQUIRE(buf);
        for (size_t i = 0; i < n; i++)
                buf[i] = s_rand8();
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
                size_t na = 13, nb = lens[i];
                uint32_t ca = crc32c(0, buf, na), cb = crc32c(0, buf + na, nb);
                uint32_t whole = crc32c(0, buf, na + nb);
                CHECK_EQ_U(crc32c_combine(ca, cb, nb), whole);
                CHECK_EQ_U(crc32c_combine_sw(ca, cb, nb), whole);
                CHECK_EQ_U(crc32c_combine(ca, whole, nb), cb);
                CHECK_EQ_U(crc32c_combine_sw(ca, whole, nb), cb);
        }
        free(buf);
}

TEST(marks_are_running_crcs)
{
        static uint8_t buf[4096 + 8];
        static uint32_t marks[4096 / CRC32C_MARK_BYTES];

        for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = s_rand8();
        for (size_t a = 0; a < 8; a++) {
                size_t len = 4096 - a * 5;
                int bad = 0;
                crc32c_marks(77, buf + a, len, marks);
                for (size_t k = 0; k < len / CRC32C_MARK_BYTES; k++)
                        bad += marks[k] != crc32c_sw(77, buf + a, (k + 1) * CRC32C_MARK_BYTES);
                CHECK_EQ_U(bad, 0);
        }
}

TEST(long_buffers_cross_interleave_blocks)
{
        size_t n = 3 * 8192 * 3 + 3 * 256 + 17;
        uint8_t *buf = malloc(n);
        REQUIRE(buf);
        for (size_t i = 0; i < n; i++)
                buf[i] = s_rand8();
        for (size_t len = n - 300; len <= n; len += 7)
                CHECK_EQ_U(crc32c_hw(0, buf + 1, len - 1), crc32c_sw(0, buf + 1, len - 1));
        free(buf);
}

TEST(chaining)
{
        const char *s = "123456789";
        for (size_t k = 0; k <= 9; k++)
                CHECK_EQ_U(crc32c(crc32c(0, s, k), s + k, 9 - k), 0xE3069283u);
}

TEST_MAIN()
