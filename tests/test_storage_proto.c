/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of storage_proto (channel v2): the data prefix and the control
 * messages round-trip, their bytes are the little-endian layout
 * storage_proto.h gives (what tests/fake_store.py and tests/test_store.py
 * pack with struct "<IIIIQ" and "<IIIIIIQ"), and every malformed message is
 * refused. */
#include <errno.h>

#include "check.h"
#include "storage_proto.h"

TEST(data_prefix_layout_and_round_trip)
{
        uint8_t msg[STORAGE_DATA_PREFIX + 3];
        const uint8_t *payload;
        size_t len;
        struct storage_data d = { .run = 0x01020304u, .session = 0xA1A2A3A4u,
                                  .sender = 0xB1B2B3B4u, .seq = 0x1122334455667788ull }, e;

        storage_data_prefix(msg, &d);
        memcpy(msg + STORAGE_DATA_PREFIX, "abc", 3);
        CHECK(!memcmp(msg, "DKS2", 4));
        CHECK(msg[4] == 0x04 && msg[7] == 0x01);
        CHECK(msg[8] == 0xA4 && msg[12] == 0xB4);
        CHECK(msg[16] == 0x88 && msg[23] == 0x11);
        REQUIRE_OK_ZERO(storage_data_parse(msg, sizeof msg, &e, &payload, &len));
        CHECK_EQ_U(e.run, d.run);
        CHECK_EQ_U(e.session, d.session);
        CHECK_EQ_U(e.sender, d.sender);
        CHECK_EQ_U(e.seq, d.seq);
        CHECK(payload == msg + STORAGE_DATA_PREFIX);
        CHECK_EQ_U(len, 3);
        storage_data_set_session(msg, 7);
        REQUIRE_OK_ZERO(storage_data_parse(msg, sizeof msg, &e, &payload, &len));
        CHECK_EQ_U(e.session, 7);
        CHECK_EQ_U(e.seq, d.seq);
}

TEST(data_refuses_short_or_wrong_magic)
{
        uint8_t msg[STORAGE_DATA_PREFIX + 4] = { 0 };
        const uint8_t *payload;
        size_t len;
        struct storage_data d = { .run = 1, .seq = 2 }, e;
        storage_data_prefix(msg, &d);
        CHECK_OK_ZERO(storage_data_parse(msg, STORAGE_DATA_PREFIX, &e, &payload, &len));
        CHECK_EQ_U(len, 0);
        CHECK_ERRNO(storage_data_parse(msg, STORAGE_DATA_PREFIX - 1, &e, &payload, &len),
                    -EBADMSG);
        msg[3] = 'M';                           /* version 1's "DKSM" */
        CHECK_ERRNO(storage_data_parse(msg, sizeof msg, &e, &payload, &len), -EBADMSG);
        uint8_t c[STORAGE_CTL_BYTES];
        storage_ctl_encode(c, &(struct storage_ctl){ .kind = STORAGE_ACK, .session = 1 });
        CHECK_ERRNO(storage_data_parse(c, sizeof c, &e, &payload, &len), -EBADMSG);
}

TEST(ctl_layout_and_round_trip_of_every_kind)
{
        for (unsigned k = STORAGE_HELLO; k <= STORAGE_KIND_MAX; k++) {
                struct storage_ctl a = { (enum storage_kind)k, k == STORAGE_HELLO ? 0 : 0x5E55u,
                                         0xA0B0C0D0u + k, 0x1234u, UINT64_MAX - k }, b;
                uint8_t buf[STORAGE_CTL_BYTES];
                memset(&b, 0, sizeof b);
                storage_ctl_encode(buf, &a);
                CHECK(!memcmp(buf, "DKSC", 4));
                CHECK(buf[4] == (uint8_t)k && buf[5] == 0);
                CHECK(buf[20] == 0 && buf[23] == 0);
                REQUIRE_OK_ZERO(storage_ctl_parse(buf, sizeof buf, &b));
                CHECK_EQ_U(b.kind, a.kind);
                CHECK_EQ_U(b.session, a.session);
                CHECK_EQ_U(b.run, a.run);
                CHECK_EQ_U(b.sender, a.sender);
                CHECK_EQ_U(b.seq, a.seq);
                CHECK(strcmp(storage_kind_name(a.kind), "?"));
        }
}

TEST(ctl_refuses_size_magic_kind_reserved_and_session)
{
        struct storage_ctl a = { .kind = STORAGE_ACK, .session = 9, .run = 3, .seq = 4 }, b;
        uint8_t buf[STORAGE_CTL_BYTES + 1];
        storage_ctl_encode(buf, &a);
        CHECK_ERRNO(storage_ctl_parse(buf, STORAGE_CTL_BYTES - 1, &b), -EBADMSG);
        CHECK_ERRNO(storage_ctl_parse(buf, STORAGE_CTL_BYTES + 1, &b), -EBADMSG);
        buf[20] = 1;                            /* reserved */
        CHECK_ERRNO(storage_ctl_parse(buf, STORAGE_CTL_BYTES, &b), -EBADMSG);
        buf[20] = 0;
        buf[4] = 0;                             /* kind 0 */
        CHECK_ERRNO(storage_ctl_parse(buf, STORAGE_CTL_BYTES, &b), -EBADMSG);
        buf[4] = STORAGE_KIND_MAX + 1;
        CHECK_ERRNO(storage_ctl_parse(buf, STORAGE_CTL_BYTES, &b), -EBADMSG);
        buf[4] = STORAGE_HELLO;                 /* a HELLO naming a session */
        CHECK_ERRNO(storage_ctl_parse(buf, STORAGE_CTL_BYTES, &b), -EBADMSG);
        buf[4] = STORAGE_ACK;
        memset(buf + 8, 0, 4);                  /* an ACK without one */
        CHECK_ERRNO(storage_ctl_parse(buf, STORAGE_CTL_BYTES, &b), -EBADMSG);
        buf[8] = 9;
        CHECK_OK_ZERO(storage_ctl_parse(buf, STORAGE_CTL_BYTES, &b));
}

TEST_MAIN()
