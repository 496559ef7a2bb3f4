/* SPDX-License-Identifier: Apache-2.0 */
/* test_publish: the storage window over real ZeroMQ sockets (inproc), with
 * this test as the store (a DEALER that says HELLO and takes the session).
 * Forged ACKs from another connection free nothing; a rogue connection is
 * sent nothing.  Every record arrives once, in order, with its
 * bytes, while acks keep up, while they lag so that the window runs to its
 * end and wraps, and while the store stops acking so that records spill to
 * the heap; held bytes come back to zero. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "check.h"
#include "config.h"
#include "publish.h"
#include "storage_proto.h"
#include "tagger.h"

struct store {
        void *data, *ack;               /* the same DEALER */
        uint32_t session;               /* from WELCOME */
        uint64_t next;                  /* seq expected next */
        uint64_t acked;                 /* records acked so far */
        uint64_t bad;                   /* out of order or wrong bytes */
};

static uint8_t pattern(uint64_t seq, size_t i)
{
        return (uint8_t)(seq * 131 + i * 7 + (i >> 8));
}

static size_t rec_len(uint64_t seq)
{
        /* 100 B .. 96 KiB, so that the 8 MiB window wraps in every way */
        uint64_t x = seq * 0x9E3779B97F4A7C15ull;

        return 100 + (size_t)(x >> 40) % (96u << 10);
}

/* Takes every data message waiting; with ack, acks every record received
 * that it has not acked yet.  Returns the number taken. */
static unsigned take(struct store *s, bool ack)
{
        unsigned n = 0;
        zmq_msg_t m;

        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, s->data, ZMQ_DONTWAIT) >= 0) {
                struct storage_data d;
                struct storage_ctl w;
                const uint8_t *pay;
                size_t len;
                if (storage_ctl_parse(zmq_msg_data(&m), zmq_msg_size(&m), &w) == 0 &&
                    w.kind == STORAGE_WELCOME) {
                        s->session = w.session;
                        continue;
                }
                bool ok = storage_data_parse(zmq_msg_data(&m), zmq_msg_size(&m), &d, &pay,
                                             &len) == 0 && d.run == 3 && d.seq == s->next &&
                          d.session == s->session && d.sender == 1 && len == rec_len(d.seq);
                uint64_t seq = d.seq;

                for (size_t i = 0; ok && i < len; i++)
                        ok = pay[i] == pattern(seq, i);
                s->bad += !ok;
                s->next = seq + 1;
                n++;
        }
        zmq_msg_close(&m);
        if (ack && s->next > s->acked) {
                uint8_t a[STORAGE_CTL_BYTES];

                s->acked = s->next;

                storage_ctl_encode(a, &(struct storage_ctl){ .kind = STORAGE_ACK,
                                                            .session = s->session, .run = 3,
                                                            .sender = 1, .seq = s->next - 1 });
                zmq_send(s->ack, a, sizeof a, 0);
        }
        return n;
}

/* Says HELLO and waits (bounded) for the WELCOME. */
static void hello(publish_t *p, struct store *s)
{
        uint8_t h[STORAGE_CTL_BYTES];
        storage_ctl_encode(h, &(struct storage_ctl){ .kind = STORAGE_HELLO });
        REQUIRE(zmq_send(s->ack, h, sizeof h, 0) == (int)sizeof h);
        for (int i = 0; i < 100 && !s->session; i++) {
                zmq_pollitem_t it = { publish_ack_socket(p), 0, ZMQ_POLLIN, 0 };
                zmq_poll(&it, 1, 100);
                publish_handle_acks(p);
                take(s, false);
        }
        REQUIRE(s->session != 0);
}

static void append(publish_t *p, uint64_t seq)
{
        size_t len = rec_len(seq);
        uint8_t *d = publish_append(p, 3, seq, len);

        REQUIRE(d);
        for (size_t i = 0; i < len; i++)
                d[i] = pattern(seq, i);
}

/* Until the store has every record up to want and the window is empty:
 * the store acks everything it takes; a bounded poll only catches hangs. */
static void settle(publish_t *p, struct store *s, uint64_t want)
{
        struct publish_counters c;
        int idle = 0;

        for (;;) {
                publish_flush(p);
                take(s, true);
                publish_handle_acks(p);
                publish_get_counters(p, &c);
                if (s->next == want && c.held_records == 0)
                        return;
                zmq_pollitem_t it[2] = { { s->data, 0, ZMQ_POLLIN, 0 },
                                         { publish_ack_socket(p), 0, ZMQ_POLLIN, 0 } };
                if (zmq_poll(it, 2, 10000) == 0 && ++idle > 1)
                        break;
        }
        CHECK(s->next == want && c.held_records == 0);
}

TEST(window_keeps_order_and_bytes_through_every_wrap)
{
        struct darkdaq_config cfg;
        uint32_t prescale[16];
        void *z = zmq_ctx_new();
        publish_t *p = NULL;
        struct store s = { 0 };
        struct publish_counters c;
        char err[256];
        uint64_t seq = 0;
        int hwm = 0;

        config_default(&cfg);
        strcpy(cfg.daemon.storage, "inproc://test-storage");
        strcpy(cfg.daemon.monitor, "inproc://test-monitor");
        cfg.daemon.storage_buffer_bytes = 8u << 20;
        cfg.daemon.busy_high_bytes = 6u << 20;
        cfg.daemon.busy_low_bytes = 2u << 20;
        for (int i = 0; i < 16; i++)
                prescale[i] = 1;
        REQUIRE_OK_ZERO(publish_new(&p, z, &cfg.daemon, prescale, NULL, err, sizeof err));
        s.data = s.ack = zmq_socket(z, ZMQ_DEALER);
        zmq_setsockopt(s.data, ZMQ_RCVHWM, &hwm, sizeof hwm);
        REQUIRE(zmq_connect(s.data, cfg.daemon.storage) == 0);
        hello(p, &s);

        /* acks keep up: a few records held at a time, ~50 MB through */
        for (int i = 0; i < 1000; i++) {
                append(p, seq++);
                publish_flush(p);
                if (i % 4 == 3)
                        settle(p, &s, seq);
        }
        settle(p, &s, seq);
        publish_get_counters(p, &c);
        CHECK_EQ_U(c.spilled, 0);

        /* acks lag by ~6 MB: the window runs to its end and wraps there */
        for (int i = 0; i < 1000; i++) {
                append(p, seq++);
                publish_flush(p);
                publish_get_counters(p, &c);
                if (c.held_bytes > (6u << 20))
                        settle(p, &s, seq);
        }
        settle(p, &s, seq);
        publish_get_counters(p, &c);
        CHECK_EQ_U(c.spilled, 0);

        /* the store takes but does not ack: past 8 MiB records spill */
        for (int i = 0; i < 300; i++) {
                append(p, seq++);
                publish_flush(p);
                take(&s, false);
        }
        publish_get_counters(p, &c);
        CHECK(c.spilled > 0 && c.held_bytes > (8u << 20));
        settle(p, &s, seq);
        CHECK(s.bad == 0 && s.next == 2300);
        publish_get_counters(p, &c);
        CHECK(c.held_bytes == 0 && c.acked == 2300);

        zmq_close(s.data);
        publish_free(p);
        zmq_ctx_term(z);
}

/* Receives the samples waiting on sub; counts those under topic. */
static unsigned samples(void *sub, const char *topic)
{
        unsigned n = 0;
        char t[64];
        int len;

        while ((len = zmq_recv(sub, t, sizeof t - 1, ZMQ_DONTWAIT)) >= 0) {
                uint8_t rec[64];
                int more = 0;
                size_t sz = sizeof more;

                t[len < (int)sizeof t - 1 ? len : (int)sizeof t - 1] = '\0';
                zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &sz);
                if (more && zmq_recv(sub, rec, sizeof rec, 0) == 3 && !strcmp(t, topic))
                        n++;
        }
        return n;
}

/* Waits (bounded, to catch a hang) until the daemon side has taken a
 * subscription message. */
static void await_subscription(publish_t *p)
{
        zmq_pollitem_t it = { publish_monitor_socket(p), 0, ZMQ_POLLIN, 0 };

        CHECK_EQ_I(zmq_poll(&it, 1, 10000), 1);
        CHECK(publish_handle_subscriptions(p) >= 1);
}

/* Samples go out only under topics someone subscribed to (prefixes, as
 * SUB sockets match), and stop when the subscription goes. */
/* A second connection's HELLO, ACK, FULL and NAK count for nothing while
 * the session's store lives, and it is sent no record. */
TEST(forged_messages_from_another_connection_change_nothing)
{
        struct darkdaq_config cfg;
        uint32_t prescale[16];
        void *z = zmq_ctx_new();
        publish_t *p = NULL;
        struct store s = { 0 };
        struct publish_counters c;
        char err[256];
        uint8_t m[STORAGE_CTL_BYTES];

        config_default(&cfg);
        strcpy(cfg.daemon.storage, "inproc://test3-storage");
        strcpy(cfg.daemon.monitor, "inproc://test3-monitor");
        for (int i = 0; i < 16; i++)
                prescale[i] = 1;
        REQUIRE_OK_ZERO(publish_new(&p, z, &cfg.daemon, prescale, NULL, err, sizeof err));
        s.data = s.ack = zmq_socket(z, ZMQ_DEALER);
        REQUIRE(zmq_connect(s.data, cfg.daemon.storage) == 0);
        hello(p, &s);
        for (uint64_t q = 0; q < 10; q++)
                append(p, q);
        publish_flush(p);

        void *rogue = zmq_socket(z, ZMQ_DEALER);
        REQUIRE(zmq_connect(rogue, cfg.daemon.storage) == 0);
        static const enum storage_kind kinds[] = { STORAGE_HELLO, STORAGE_ACK, STORAGE_FULL,
                                                   STORAGE_NAK, STORAGE_ACK };
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
                struct storage_ctl f = { .kind = kinds[i], .run = 3, .sender = 1,
                                         .seq = i == 4 ? UINT64_MAX : 9,
                                         .session = kinds[i] == STORAGE_HELLO ? 0 : s.session };
                storage_ctl_encode(m, &f);
                REQUIRE(zmq_send(rogue, m, sizeof m, 0) == (int)sizeof m);
        }
        /* the real store, ACKing beyond what it was sent: refused too */
        storage_ctl_encode(m, &(struct storage_ctl){ .kind = STORAGE_ACK, .session = s.session,
                                                    .run = 3, .sender = 1, .seq = 10 });
        REQUIRE(zmq_send(s.ack, m, sizeof m, 0) == (int)sizeof m);
        for (int i = 0; i < 100; i++) {
                zmq_pollitem_t it = { publish_ack_socket(p), 0, ZMQ_POLLIN, 0 };
                zmq_poll(&it, 1, 100);
                publish_handle_acks(p);
                publish_get_counters(p, &c);
                if (c.refused_msgs == 6)
                        break;
        }
        publish_get_counters(p, &c);
        CHECK_EQ_U(c.refused_hellos, 1);
        CHECK_EQ_U(c.forged, 4);
        CHECK_EQ_U(c.bad_acks, 1);
        CHECK_EQ_U(c.held_records, 10);
        CHECK(!c.store_full && !publish_busy(p));
        CHECK_EQ_U(c.refused_records, 0);
        zmq_pollitem_t it = { rogue, 0, ZMQ_POLLIN, 0 };
        CHECK_EQ_I(zmq_poll(&it, 1, 0), 0);     /* the rogue got nothing */
        settle(p, &s, 10);
        zmq_close(rogue);
        zmq_close(s.data);
        publish_free(p);
        zmq_ctx_term(z);
}

/* The session's own store NAKs a record it could not read back: counted
 * once (refused_records, which the run trailer reports as
 * refused_by_store), nothing freed by it, the record still counted as held
 * until the store's ACK covers it; a NAK beyond what was sent is refused
 * and changes nothing. */
TEST(a_nak_from_the_session_counts_the_refused_record)
{
        struct darkdaq_config cfg;
        uint32_t prescale[16];
        void *z = zmq_ctx_new();
        publish_t *p = NULL;
        struct store s = { 0 };
        struct publish_counters c;
        char err[256];
        uint8_t m[STORAGE_CTL_BYTES];

        config_default(&cfg);
        strcpy(cfg.daemon.storage, "inproc://test4-storage");
        strcpy(cfg.daemon.monitor, "inproc://test4-monitor");
        for (int i = 0; i < 16; i++)
                prescale[i] = 1;
        REQUIRE_OK_ZERO(publish_new(&p, z, &cfg.daemon, prescale, NULL, err, sizeof err));
        s.data = s.ack = zmq_socket(z, ZMQ_DEALER);
        REQUIRE(zmq_connect(s.data, cfg.daemon.storage) == 0);
        hello(p, &s);
        for (uint64_t q = 0; q < 10; q++)
                append(p, q);
        publish_flush(p);
        for (int i = 0; i < 100 && s.next < 10; i++) {
                zmq_pollitem_t it = { s.data, 0, ZMQ_POLLIN, 0 };
                zmq_poll(&it, 1, 100);
                take(&s, false);
        }
        REQUIRE(s.next == 10);
        storage_ctl_encode(m, &(struct storage_ctl){ .kind = STORAGE_NAK, .session = s.session,
                                                    .run = 3, .sender = 1, .seq = 4 });
        REQUIRE(zmq_send(s.ack, m, sizeof m, 0) == (int)sizeof m);
        storage_ctl_encode(m, &(struct storage_ctl){ .kind = STORAGE_NAK, .session = s.session,
                                                    .run = 3, .sender = 1, .seq = 10 });
        REQUIRE(zmq_send(s.ack, m, sizeof m, 0) == (int)sizeof m);
        for (int i = 0; i < 100; i++) {
                zmq_pollitem_t it = { publish_ack_socket(p), 0, ZMQ_POLLIN, 0 };
                zmq_poll(&it, 1, 100);
                publish_handle_acks(p);
                publish_get_counters(p, &c);
                if (c.refused_records + c.refused_msgs >= 2)
                        break;
        }
        publish_get_counters(p, &c);
        CHECK_EQ_U(c.refused_records, 1);
        CHECK_EQ_U(c.refused_msgs, 1);
        CHECK_EQ_U(c.forged, 0);
        CHECK_EQ_U(c.held_records, 10);
        settle(p, &s, 10);
        publish_get_counters(p, &c);
        CHECK_EQ_U(c.refused_records, 1);
        zmq_close(s.data);
        publish_free(p);
        zmq_ctx_term(z);
}

TEST(monitor_sends_only_what_is_subscribed)
{
        struct darkdaq_config cfg;
        uint32_t prescale[16];
        void *z = zmq_ctx_new();
        publish_t *p = NULL;
        struct publish_counters c;
        char err[256];
        const uint8_t rec[3] = { 1, 2, 3 };
        const uint32_t fourmu = 1u << TAG_FOUR_MUON, mumu = 1u << TAG_MUMU_TAUTAU;

        config_default(&cfg);
        strcpy(cfg.daemon.storage, "inproc://test2-storage");
        strcpy(cfg.daemon.monitor, "inproc://test2-monitor");
        for (int i = 0; i < 16; i++)
                prescale[i] = 1;
        REQUIRE_OK_ZERO(publish_new(&p, z, &cfg.daemon, prescale, NULL, err, sizeof err));

        /* nobody listens: nothing is sent */
        publish_monitor(p, rec, 3, fourmu);
        publish_get_counters(p, &c);
        CHECK(c.monitor_sent == 0 && c.monitor_dropped == 0);

        void *sub = zmq_socket(z, ZMQ_SUB);
        REQUIRE(zmq_connect(sub, cfg.daemon.monitor) == 0);
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "four", 4);
        await_subscription(p);
        publish_monitor(p, rec, 3, fourmu | mumu);
        publish_monitor(p, rec, 3, mumu);
        publish_monitor(p, rec, 3, fourmu);
        publish_get_counters(p, &c);
        CHECK_EQ_U(c.monitor_sent, 2);          /* four_muon twice; no "all", no mumu */
        CHECK_EQ_U(samples(sub, "four_muon"), 2);

        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);     /* everything */
        await_subscription(p);
        publish_monitor(p, rec, 3, mumu);
        publish_get_counters(p, &c);
        CHECK_EQ_U(c.monitor_sent, 4);          /* "all" and mumu_tautau */

        zmq_setsockopt(sub, ZMQ_UNSUBSCRIBE, "", 0);
        await_subscription(p);
        zmq_setsockopt(sub, ZMQ_UNSUBSCRIBE, "four", 4);
        await_subscription(p);
        publish_monitor(p, rec, 3, fourmu | mumu);
        publish_get_counters(p, &c);
        CHECK_EQ_U(c.monitor_sent, 4);

        zmq_close(sub);
        publish_free(p);
        zmq_ctx_term(z);
}

/* ---- the spool ---- */

static void s_fill_run(publish_t *p, uint32_t run, uint64_t seq, bool header)
{
        size_t len = run == 3 ? rec_len(seq) : 50 + seq;
        uint8_t *d = publish_append(p, run, seq, len);
        REQUIRE(d);
        for (size_t i = 0; i < len; i++)
                d[i] = run == 3 ? pattern(seq, i) : (uint8_t)(run * 11 + seq + i);
        if (header)
                CHECK_OK_ZERO(publish_set_header(p, run, d, len));
}

static bool s_bytes_ok(uint32_t run, uint64_t seq, const uint8_t *pay, size_t len)
{
        if (len != (run == 3 ? rec_len(seq) : 50 + seq))
                return false;
        for (size_t i = 0; i < len; i++)
                if (pay[i] != (run == 3 ? pattern(seq, i) : (uint8_t)(run * 11 + seq + i)))
                        return false;
        return true;
}

static void s_ack(struct store *s, uint32_t run, uint64_t seq)
{
        uint8_t a[STORAGE_CTL_BYTES];
        storage_ctl_encode(a, &(struct storage_ctl){ .kind = STORAGE_ACK, .session = s->session,
                                                    .run = run, .sender = 1, .seq = seq });
        zmq_send(s->ack, a, sizeof a, 0);
}

/* What the window held when one daemon went (records of run 3 from 100,
 * all of run 4) is held again by the next from the spool: each run's
 * header first, then every record in order with its bytes; once the store
 * has acknowledged them all, the spool file is gone. */
TEST(the_spool_holds_what_was_not_acknowledged_across_a_restart)
{
        struct darkdaq_config cfg;
        uint32_t prescale[16];
        void *z = zmq_ctx_new();
        publish_t *p = NULL;
        struct store s = { 0 };
        struct publish_counters c;
        struct publish_spool_info si;
        char err[4400], dir[256], path[400];
        int hwm = 0;

        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/publish-spool-XXXXXX", t && *t ? t : "/tmp");
        REQUIRE(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/spool", dir);
        config_default(&cfg);
        strcpy(cfg.daemon.storage, "inproc://test4-storage");
        strcpy(cfg.daemon.monitor, "inproc://test4-monitor");
        cfg.daemon.storage_buffer_bytes = 8u << 20;
        cfg.daemon.busy_high_bytes = 6u << 20;
        cfg.daemon.busy_low_bytes = 2u << 20;
        for (int i = 0; i < 16; i++)
                prescale[i] = 1;
        REQUIRE_OK_ZERO(publish_new(&p, z, &cfg.daemon, prescale, NULL, err, sizeof err));
        /* nothing held: no spool, and none read */
        CHECK_OK_ZERO(publish_spool_load(p, dir, &si, err, sizeof err));
        CHECK_EQ_U(si.records, 0);
        s.data = s.ack = zmq_socket(z, ZMQ_DEALER);
        zmq_setsockopt(s.data, ZMQ_RCVHWM, &hwm, sizeof hwm);
        REQUIRE(zmq_connect(s.data, cfg.daemon.storage) == 0);
        hello(p, &s);
        s_fill_run(p, 3, 0, true);
        for (uint64_t q = 1; q < 100; q++)
                append(p, q);
        settle(p, &s, 100);
        for (uint64_t q = 100; q < 300; q++)    /* past 8 MiB: some spill */
                append(p, q);
        s_fill_run(p, 4, 0, true);
        for (uint64_t q = 1; q < 10; q++)
                s_fill_run(p, 4, q, false);
        publish_get_counters(p, &c);
        CHECK(c.spilled > 0 && c.held_records == 210);
        CHECK(publish_holds_run(p, 3) && publish_holds_run(p, 4) && !publish_holds_run(p, 5));
        CHECK_OK_ZERO(publish_spool_save(p, dir, &si, err, sizeof err));
        CHECK(si.records == 210 && si.runs == 2 && si.run_max == 4 && si.bytes > (8u << 20));
        struct stat st;
        CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == si.bytes);
        zmq_close(s.data);
        p = publish_free(p);

        /* the next daemon */
        strcpy(cfg.daemon.storage, "inproc://test5-storage");
        strcpy(cfg.daemon.monitor, "inproc://test5-monitor");
        REQUIRE_OK_ZERO(publish_new(&p, z, &cfg.daemon, prescale, NULL, err, sizeof err));
        CHECK_OK_ZERO(publish_spool_load(p, dir, &si, err, sizeof err));
        CHECK(si.records == 210 && si.runs == 2 && si.run_max == 4 && !si.damaged &&
              !si.not_sent && !si.kept[0]);
        publish_get_counters(p, &c);
        CHECK(c.spool_loaded == 210 && c.spool_held == 210 && c.held_records == 210);
        CHECK(publish_holds_run(p, 3) && publish_holds_run(p, 4));
        CHECK_ERRNO(publish_spool_load(p, dir, &si, err, sizeof err), -EBUSY);
        memset(&s, 0, sizeof s);
        s.data = s.ack = zmq_socket(z, ZMQ_DEALER);
        zmq_setsockopt(s.data, ZMQ_RCVHWM, &hwm, sizeof hwm);
        REQUIRE(zmq_connect(s.data, cfg.daemon.storage) == 0);
        hello(p, &s);

        /* the order expected: the headers of 3 and 4, 3's 100..299, 4's 0..9 */
        uint32_t want_run[212];
        uint64_t want_seq[212];
        unsigned n = 0, got = 0, bad = 0;
        want_run[n] = 3, want_seq[n++] = 0;
        want_run[n] = 4, want_seq[n++] = 0;
        for (uint64_t q = 100; q < 300; q++)
                want_run[n] = 3, want_seq[n++] = q;
        for (uint64_t q = 0; q < 10; q++)
                want_run[n] = 4, want_seq[n++] = q;
        for (int idle = 0; got < n && idle < 50;) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                publish_handle_acks(p);
                while (got < n && zmq_msg_recv(&m, s.data, ZMQ_DONTWAIT) >= 0) {
                        struct storage_data d;
                        const uint8_t *pay;
                        size_t len;
                        if (storage_data_parse(zmq_msg_data(&m), zmq_msg_size(&m), &d, &pay,
                                               &len) < 0)
                                continue;       /* a WELCOME */
                        bad += d.run != want_run[got] || d.seq != want_seq[got] ||
                               d.session != s.session || d.sender != 1 ||
                               !s_bytes_ok(d.run, d.seq, pay, len);
                        got++;
                }
                zmq_msg_close(&m);
                zmq_pollitem_t it = { s.data, 0, ZMQ_POLLIN, 0 };
                if (got < n && zmq_poll(&it, 1, 100) == 0)
                        idle++;
        }
        CHECK_EQ_U(got, n);
        CHECK_EQ_U(bad, 0);
        s_ack(&s, 3, 299);
        for (int i = 0; i < 100; i++) {
                zmq_pollitem_t it = { publish_ack_socket(p), 0, ZMQ_POLLIN, 0 };
                zmq_poll(&it, 1, 100);
                publish_handle_acks(p);
                publish_get_counters(p, &c);
                if (c.spool_held == 10)
                        break;
        }
        CHECK_EQ_U(c.spool_held, 10);
        CHECK(access(path, F_OK) == 0);         /* not before all of it is acknowledged */
        s_ack(&s, 4, 9);
        for (int i = 0; i < 100; i++) {
                zmq_pollitem_t it = { publish_ack_socket(p), 0, ZMQ_POLLIN, 0 };
                zmq_poll(&it, 1, 100);
                publish_handle_acks(p);
                publish_get_counters(p, &c);
                if (c.spool_held == 0)
                        break;
        }
        CHECK(c.spool_held == 0 && c.held_records == 0);
        CHECK(access(path, F_OK) < 0);
        CHECK(!publish_holds_run(p, 3) && !publish_holds_run(p, 4));
        /* nothing held at the next exit: no spool */
        CHECK_OK_ZERO(publish_spool_save(p, dir, &si, err, sizeof err));
        CHECK(si.records == 0 && access(path, F_OK) < 0);
        zmq_close(s.data);
        publish_free(p);
        zmq_ctx_term(z);
        rmdir(dir);
}

TEST_MAIN()
