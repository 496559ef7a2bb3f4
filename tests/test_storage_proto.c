/* Tests of storage_proto: the data prefix and the ack messages round-trip,
 * their bytes are the little-endian layout storage_proto.h gives (what
 * tests/fake_store.py and tests/test_store.py pack with struct "<IIQ" and
 * "<IIIIQ"), and every malformed message is refused. */
#include <errno.h>

#include "check.h"
#include "storage_proto.h"

TEST(data_prefix_layout_and_round_trip)
{
        uint8_t msg[STORAGE_DATA_PREFIX + 3];
        const uint8_t *payload;
        size_t len;
        uint32_t run;
        uint64_t seq;

        storage_data_prefix(msg, 0x01020304u, 0x1122334455667788ull);
        memcpy(msg + STORAGE_DATA_PREFIX, "abc", 3);
        CHECK(!memcmp(msg, "DKSM", 4));
        CHECK(msg[4] == 0x04 && msg[7] == 0x01);
        CHECK(msg[8] == 0x88 && msg[15] == 0x11);
        REQUIRE_OK_ZERO(storage_data_parse(msg, sizeof msg, &run, &seq, &payload, &len));
        CHECK_EQ_U(run, 0x01020304u);
        CHECK_EQ_U(seq, 0x1122334455667788ull);
        CHECK(payload == msg + STORAGE_DATA_PREFIX);
        CHECK_EQ_U(len, 3);
}

TEST(data_with_empty_record_parses)
{
        uint8_t msg[STORAGE_DATA_PREFIX];
        const uint8_t *payload;
        size_t len = 99;
        uint32_t run;
        uint64_t seq;
        storage_data_prefix(msg, 7, 0);
        CHECK_OK_ZERO(storage_data_parse(msg, sizeof msg, &run, &seq, &payload, &len));
        CHECK_EQ_U(len, 0);
        CHECK_EQ_U(run, 7);
}

TEST(data_refuses_short_or_wrong_magic)
{
        uint8_t msg[STORAGE_DATA_PREFIX + 4] = { 0 };
        const uint8_t *payload;
        size_t len;
        uint32_t run;
        uint64_t seq;
        storage_data_prefix(msg, 1, 2);
        CHECK_ERRNO(storage_data_parse(msg, STORAGE_DATA_PREFIX - 1, &run, &seq, &payload, &len),
                    -EBADMSG);
        CHECK_ERRNO(storage_data_parse(msg, 0, &run, &seq, &payload, &len), -EBADMSG);
        msg[0] = 'X';
        CHECK_ERRNO(storage_data_parse(msg, sizeof msg, &run, &seq, &payload, &len), -EBADMSG);
        /* an ack is not a data message */
        struct storage_ack a = { STORAGE_ACK, 1, 2 };
        uint8_t ack[STORAGE_ACK_BYTES];
        storage_ack_encode(ack, &a);
        CHECK_ERRNO(storage_data_parse(ack, sizeof ack, &run, &seq, &payload, &len), -EBADMSG);
}

TEST(ack_layout_and_round_trip_of_every_kind)
{
        static const enum storage_ack_kind kinds[] = { STORAGE_HELLO, STORAGE_ACK, STORAGE_FULL,
                                                       STORAGE_RESUME };
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
                struct storage_ack a = { kinds[i], 0xA0B0C0D0u + (uint32_t)i, UINT64_MAX - i }, b;
                uint8_t buf[STORAGE_ACK_BYTES];
                memset(&b, 0, sizeof b);
                storage_ack_encode(buf, &a);
                CHECK(!memcmp(buf, "DKSA", 4));
                CHECK(buf[4] == (uint8_t)kinds[i] && buf[5] == 0);
                CHECK(buf[12] == 0 && buf[13] == 0 && buf[14] == 0 && buf[15] == 0);
                REQUIRE_OK_ZERO(storage_ack_parse(buf, sizeof buf, &b));
                CHECK_EQ_U(b.kind, a.kind);
                CHECK_EQ_U(b.run, a.run);
                CHECK_EQ_U(b.seq, a.seq);
        }
}

TEST(ack_refuses_size_magic_kind_and_reserved)
{
        struct storage_ack a = { STORAGE_ACK, 3, 4 }, b;
        uint8_t buf[STORAGE_ACK_BYTES + 1];
        storage_ack_encode(buf, &a);
        CHECK_ERRNO(storage_ack_parse(buf, STORAGE_ACK_BYTES - 1, &b), -EBADMSG);
        CHECK_ERRNO(storage_ack_parse(buf, STORAGE_ACK_BYTES + 1, &b), -EBADMSG);
        buf[12] = 1;                            /* reserved */
        CHECK_ERRNO(storage_ack_parse(buf, STORAGE_ACK_BYTES, &b), -EBADMSG);
        buf[12] = 0;
        buf[4] = 0;                             /* kind 0 */
        CHECK_ERRNO(storage_ack_parse(buf, STORAGE_ACK_BYTES, &b), -EBADMSG);
        buf[4] = 5;                             /* kind 5 */
        CHECK_ERRNO(storage_ack_parse(buf, STORAGE_ACK_BYTES, &b), -EBADMSG);
        buf[4] = 2;
        buf[3] = 'M';                           /* data magic */
        CHECK_ERRNO(storage_ack_parse(buf, STORAGE_ACK_BYTES, &b), -EBADMSG);
        buf[3] = 'A';
        CHECK_OK_ZERO(storage_ack_parse(buf, STORAGE_ACK_BYTES, &b));
}

TEST_MAIN()
