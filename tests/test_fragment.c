/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the fragment codec: one crafted fragment per rule of
 * "What makes a fragment bad", each with its own code; block iteration;
 * record decoding; unknown block types skipped and counted. */
#include "check.h"
#include "frag_build.h"
#include "fragment.h"

static uint8_t buf[4096];

static enum frag_err s_check(size_t len, bool *crc_ok)
{
        struct frag_error err;
        struct frag_info info;
        char msg[160];
        enum frag_err e = frag_check(buf, len, NULL, &info, crc_ok, &err);
        frag_error_format(&err, msg, sizeof msg);
        CHECK_EQ_U(e, err.code);
        CHECK(strlen(msg) > 0);
        return e;
}

TEST(good_fragment)
{
        size_t n = fb_fragment(buf, 3, 77, 2);
        bool crc_ok;
        struct frag_header h;
        struct frag_info info;
        CHECK_EQ_U(n, 32 + 8 + 48 + 8 + 12 + 8);
        CHECK_EQ_U(frag_check(buf, n, &h, &info, &crc_ok, NULL), FRAG_OK);
        CHECK(crc_ok);
        CHECK_EQ_U(h.source_id, 3);
        CHECK_EQ_U(h.trigger, 77);
        CHECK_EQ_U(h.trigger_time, 1077);
        CHECK_EQ_U(info.n_tracks, 2);
        CHECK_EQ_U(info.n_muons, 1);
        CHECK_EQ_U(info.n_blocks, 2);
}

/* Header rules: each breaks the header, checked before anything else. */
TEST(header_rules)
{
        struct { size_t at; uint32_t val; int width; enum frag_err want; } cases[] = {
                { 0, 0x52464B45, 4, FRAG_E_MAGIC },
                { 4, 7, 1, FRAG_E_VERSION },
                { 5, 64, 1, FRAG_E_SOURCE },
                { 12, 58, 4, FRAG_E_PAYLOAD_ALIGN },
                { 12, FRAG_MAX_PAYLOAD + 4, 4, FRAG_E_PAYLOAD_SIZE },
                { 28, 1, 4, FRAG_E_RESERVED },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                size_t n = fb_fragment(buf, 1, 5, 1);
                if (cases[i].width == 1)
                        buf[cases[i].at] = (uint8_t)cases[i].val;
                else
                        fb_put32(buf + cases[i].at, cases[i].val);
                CHECK_EQ_U(s_check(n, NULL), cases[i].want);
        }
}

TEST(payload_limit_is_inclusive)
{
        struct frag_header h = { .magic = FRAG_MAGIC, .version = 1, .payload_bytes = FRAG_MAX_PAYLOAD };
        CHECK_EQ_U(frag_header_check(&h, NULL), FRAG_OK);
        h.payload_bytes += 4;
        CHECK_EQ_U(frag_header_check(&h, NULL), FRAG_E_PAYLOAD_SIZE);
}

TEST(trailer_magic_and_crc)
{
        bool crc_ok = true;
        size_t n = fb_fragment(buf, 1, 5, 1);
        buf[n - 1] ^= 1;
        CHECK_EQ_U(s_check(n, &crc_ok), FRAG_E_TRAILER_MAGIC);
        CHECK(!crc_ok);
        n = fb_fragment(buf, 1, 5, 1);
        buf[40] ^= 0x10;        /* a payload bit */
        CHECK_EQ_U(s_check(n, &crc_ok), FRAG_E_CRC);
        CHECK(!crc_ok);
        n = fb_fragment(buf, 1, 5, 1);
        buf[n - 8] ^= 1;        /* the CRC itself */
        CHECK_EQ_U(s_check(n, &crc_ok), FRAG_E_CRC);
}

/* Content rules: the CRC is good (resealed), the content is not. */
TEST(content_rules)
{
        bool crc_ok = false;
        size_t n;

        n = fb_fragment(buf, 1, 5, 1);
        fb_put16(buf + 6, 0x0008);
        fb_reseal(buf);
        CHECK_EQ_U(s_check(n, &crc_ok), FRAG_E_FLAGS);
        CHECK(crc_ok);

        n = fb_fragment(buf, 1, 5, 1);
        buf[32 + 8 + 20] = 2;   /* charge of the first track */
        fb_reseal(buf);
        CHECK_EQ_U(s_check(n, &crc_ok), FRAG_E_CHARGE);
        CHECK(crc_ok);

        n = fb_fragment(buf, 1, 5, 1);
        buf[32 + 8 + 20] = 0;
        fb_reseal(buf);
        CHECK_EQ_U(s_check(n, NULL), FRAG_E_CHARGE);

        n = fb_fragment(buf, 1, 5, 1);
        fb_put16(buf + 32 + 8 + 24 + 8 + 10, 1);        /* MUON reserved */
        fb_reseal(buf);
        CHECK_EQ_U(s_check(n, NULL), FRAG_E_MUON_RESERVED);

        n = fb_fragment(buf, 1, 5, 1);
        fb_put32(buf + 32 + 4, 28);                     /* TRACK block_bytes != 1 x 24 */
        fb_reseal(buf);
        CHECK_EQ_U(s_check(n, NULL), FRAG_E_BLOCK_SIZE);

        n = fb_fragment(buf, 1, 5, 1);
        fb_put32(buf + 32 + 4, 26);                     /* not a multiple of 4 */
        fb_reseal(buf);
        CHECK_EQ_U(s_check(n, NULL), FRAG_E_BLOCK_ALIGN);

        n = fb_fragment(buf, 1, 5, 1);
        fb_put32(buf + 32 + 4, 4000);                   /* runs past the payload */
        fb_reseal(buf);
        CHECK_EQ_U(s_check(n, NULL), FRAG_E_BLOCK_OVERRUN);

        /* RAW block with a non-zero count */
        struct frag_header h = { .version = 1, .source_id = 3, .trigger = 9, .payload_bytes = 16 };
        fb_block(buf + 32, FRAG_BLOCK_RAW, 2, 8);
        memset(buf + 40, 0xAB, 8);
        n = frag_encode(buf, &h);
        CHECK_EQ_U(s_check(n, NULL), FRAG_E_RAW_COUNT);

        /* a block header cut by the payload's end: 4 bytes of payload */
        h.payload_bytes = 4;
        fb_put32(buf + 32, 1);
        n = frag_encode(buf, &h);
        CHECK_EQ_U(s_check(n, NULL), FRAG_E_BLOCK_CUT);
}

TEST(unknown_block_types_are_skipped_and_counted)
{
        struct frag_header h = { .version = 1, .source_id = 1, .trigger = 9 };
        struct frag_info info;
        size_t len = 0;
        uint8_t *p = buf + 32;

        len += fb_block(p + len, 77, 3, 8);
        memset(p + len, 0x5A, 8);
        len += 8;
        len += fb_block(p + len, FRAG_BLOCK_CLUSTER, 0, 0);
        len += fb_block(p + len, FRAG_BLOCK_RAW, 0, 12);
        memset(p + len, 0x11, 12);
        len += 12;
        h.payload_bytes = (uint32_t)len;
        size_t n = frag_encode(buf, &h);
        REQUIRE(frag_check(buf, n, NULL, &info, NULL, NULL) == FRAG_OK);
        CHECK_EQ_U(info.n_unknown_blocks, 1);
        CHECK_EQ_U(info.n_blocks, 3);
        CHECK_EQ_U(info.raw_bytes, 12);
        CHECK_EQ_U(info.n_clusters, 0);

        struct frag_block_iter it;
        struct frag_block b;
        uint16_t types[4];
        unsigned k = 0;
        frag_blocks_begin(&it, buf);
        while (frag_blocks_next(&it, &b) && k < 4)
                types[k++] = b.type;
        CHECK_EQ_U(k, 3);
        CHECK_EQ_U(types[0], 77);
        CHECK_EQ_U(types[1], FRAG_BLOCK_CLUSTER);
        CHECK_EQ_U(types[2], FRAG_BLOCK_RAW);
}

TEST(record_decoding_in_place)
{
        size_t n = fb_fragment(buf, 0, 1, 2);
        struct frag_block_iter it;
        struct frag_block b;
        struct frag_track t;
        struct frag_muon m;
        REQUIRE(frag_check(buf, n, NULL, NULL, NULL, NULL) == FRAG_OK);
        frag_blocks_begin(&it, buf);
        REQUIRE(frag_blocks_next(&it, &b));
        CHECK_EQ_U(b.type, FRAG_BLOCK_TRACK);
        CHECK(b.records == buf + 40);   /* no copy */
        frag_track_decode(b.records + FRAG_TRACK_BYTES, &t);
        CHECK_EQ_U(t.px_kev, 1000001);
        CHECK_EQ_I(t.charge, -1);
        CHECK_EQ_U(t.n_hits, 20);
        REQUIRE(frag_blocks_next(&it, &b));
        frag_muon_decode(b.records, &m);
        CHECK_EQ_U(m.layers, 5);
        CHECK(!frag_blocks_next(&it, &b));
}

TEST(every_error_has_a_message_and_name)
{
        for (int e = 0; e < FRAG_E_COUNT_; e++) {
                struct frag_error err = { (enum frag_err)e, 40, 7, 1 };
                char msg[160];
                CHECK(strlen(frag_error_format(&err, msg, sizeof msg)) > 1);
                CHECK(strcmp(frag_err_name((enum frag_err)e), "unknown") != 0);
        }
        struct frag_error v = { FRAG_E_VERSION, 4, 7, 1 };
        char msg[160];
        CHECK_STR(frag_error_format(&v, msg, sizeof msg), "version 7, expected 1");
}

TEST_MAIN()
