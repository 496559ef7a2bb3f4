/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the event builder (its rules: daemon/builder.h): serial arithmetic across
 * the wrap, missing, duplicate, late and corrupt fragments, silent sources
 * on a fake clock, out-of-step sources, the open-event limits, byte
 * accounting, and per-board versus interleaved streams. */
#include <stdbool.h>

#include "builder.h"
#include "check.h"
#include "fragment.h"
#include "stream.h"

/* ---- what the sink saw ---------------------------------------------------- */

enum rec_kind { R_EVENT, R_LATE, R_JUNK, R_CORRUPT };

struct rec {
        enum rec_kind kind;
        uint32_t trigger;
        uint64_t time;
        uint32_t bits;
        uint32_t status;
        uint64_t sources, missing;
        size_t n_frags, n_tag;
        unsigned source;
        uint32_t stream;
        uint64_t offset;
        size_t bytes;
        uint32_t sum;                   /* a checksum of the bytes */
};

struct col {
        struct rec *r;
        size_t n, cap;
        uint64_t bytes;                 /* every byte handed out */
};

static uint32_t sum_bytes(const uint8_t *p, size_t n)
{
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 16777619u;
        return h;
}

static struct rec *col_add(struct col *c, enum rec_kind k)
{
        if (c->n == c->cap) {
                c->cap = c->cap ? 2 * c->cap : 64;
                c->r = realloc(c->r, c->cap * sizeof(*c->r));
        }
        struct rec *r = &c->r[c->n++];
        memset(r, 0, sizeof(*r));
        r->kind = k;
        return r;
}

static void on_event(void *ctx, const struct built_event *ev)
{
        struct col *c = ctx;
        struct rec *r = col_add(c, R_EVENT);
        r->trigger = ev->trigger;
        r->time = ev->time_ticks;
        r->bits = ev->trigger_bits;
        r->status = ev->status;
        r->sources = ev->sources;
        r->missing = ev->missing;
        r->n_frags = ev->n_frags;
        r->n_tag = ev->n_tag_frags;
        r->sum = 0;
        for (size_t i = 0; i < ev->n_frags; i++) {
                c->bytes += ev->frags[i].bytes;
                r->bytes += ev->frags[i].bytes;
                r->sum = r->sum * 31 + sum_bytes(ev->frags[i].data, ev->frags[i].bytes);
                if (i)  /* ascending source, then arrival */
                        CHECK(ev->frags[i - 1].source <= ev->frags[i].source);
        }
}

static void on_late(void *ctx, const struct built_late *l)
{
        struct col *c = ctx;
        struct rec *r = col_add(c, R_LATE);
        r->source = l->source;
        r->trigger = l->trigger;
        r->stream = l->stream;
        r->offset = l->offset;
        r->bytes = l->bytes;
        r->sum = sum_bytes(l->data, l->bytes);
        c->bytes += l->bytes;
}

static void on_junk(void *ctx, const struct built_junk *j)
{
        struct col *c = ctx;
        struct rec *r = col_add(c, R_JUNK);
        r->stream = j->stream;
        r->offset = j->offset;
        r->bytes = j->bytes;
        c->bytes += j->bytes;
        CHECK(j->reason && *j->reason);
}

static void on_corrupt(void *ctx, const struct built_corrupt *x)
{
        struct col *c = ctx;
        struct rec *r = col_add(c, R_CORRUPT);
        r->source = x->source;
        r->trigger = x->trigger;
        r->stream = x->stream;
        r->offset = x->offset;
        r->bytes = x->bytes;
        r->sum = sum_bytes(x->data, x->bytes);
        c->bytes += x->bytes;
}

static struct builder_sink sink_of(struct col *c)
{
        return (struct builder_sink){ c, on_event, on_late, on_junk, on_corrupt };
}

static size_t count(const struct col *c, enum rec_kind k)
{
        size_t n = 0;
        for (size_t i = 0; i < c->n; i++)
                n += c->r[i].kind == k;
        return n;
}

/* The i-th record of kind k, or NULL. */
static const struct rec *nth(const struct col *c, enum rec_kind k, size_t i)
{
        for (size_t j = 0; j < c->n; j++)
                if (c->r[j].kind == k && !i--)
                        return &c->r[j];
        return NULL;
}

static const struct rec *event_of(const struct col *c, uint32_t trigger)
{
        for (size_t j = 0; j < c->n; j++)
                if (c->r[j].kind == R_EVENT && c->r[j].trigger == trigger)
                        return &c->r[j];
        return NULL;
}

/* ---- making fragments and items ------------------------------------------- */

#define PAY 16                          /* one RAW block of 8 bytes */
#define FRAG (PAY + FRAG_OVERHEAD)

static size_t mkfrag(uint8_t *out, unsigned src, uint32_t trig, uint64_t time, uint16_t flags)
{
        struct frag_header h = {
                .version = 1, .source_id = (uint8_t)src, .flags = flags, .trigger = trig,
                .payload_bytes = PAY, .trigger_time = time, .trigger_bits = trig % 13 + 256,
        };
        uint8_t *p = out + FRAG_HEADER_BYTES;
        memset(p, 0, PAY);
        p[0] = 255;                     /* RAW, count 0, 8 bytes */
        p[4] = 8;
        p[8] = (uint8_t)src;
        memcpy(p + 9, &trig, 4);
        return frag_encode(out, &h);
}

static uint64_t time_of(uint32_t trig)
{
        return 1000000ull + (uint64_t)trig * 1000 + (trig * 37u) % 500;
}

/* A feeder of hand-made items, tracking each stream's offset. */
struct feed {
        builder_t *b;
        uint64_t off[8];
        uint64_t now_ms;
};

static int add_kind(struct feed *f, uint32_t stream, unsigned src, uint32_t trig, uint64_t time,
                    uint16_t flags, enum stream_kind kind, bool crc_ok)
{
        uint8_t buf[FRAG];
        struct stream_item it = { 0 };
        size_t n = mkfrag(buf, src, trig, time, flags);
        if (kind == STREAM_BAD_FRAGMENT && !crc_ok)
                buf[FRAG_HEADER_BYTES + 12] ^= 0x10;   /* a flipped bit: CRC fails */
        it.kind = kind;
        it.offset = f->off[stream];
        it.data = buf;
        it.bytes = n;
        frag_header_decode(buf, &it.hdr);
        it.crc_ok = crc_ok;
        if (kind == STREAM_BAD_FRAGMENT)
                it.err.code = crc_ok ? FRAG_E_CHARGE : FRAG_E_CRC;
        f->off[stream] += n;
        return builder_add(f->b, stream, &it, f->now_ms);
}

static int add(struct feed *f, uint32_t stream, unsigned src, uint32_t trig)
{
        return add_kind(f, stream, src, trig, time_of(trig), 0, STREAM_FRAGMENT, true);
}

static void add_junk(struct feed *f, uint32_t stream, size_t bytes)
{
        uint8_t buf[64] = { 0 };
        struct stream_item it = { .kind = STREAM_JUNK, .offset = f->off[stream], .data = buf,
                                  .bytes = bytes };
        f->off[stream] += bytes;
        builder_add(f->b, stream, &it, f->now_ms);
}

static struct builder_config cfg_for(uint64_t expected)
{
        struct builder_config cfg;
        builder_config_default(&cfg);
        cfg.expected = expected;
        cfg.build_timeout_ms = 0;
        return cfg;
}

/* The builder's counters now, for a check on one of them. */
static struct builder_counters counters_of(const builder_t *b)
{
        struct builder_counters k;
        builder_get_counters(b, &k);
        return k;
}

static void check_bytes(const builder_t *b, const struct col *c)
{
        struct builder_counters k = counters_of(b);
        CHECK_EQ_U(k.bytes_in, k.bytes_out);
        CHECK_EQ_U(k.bytes_out, c->bytes);
        CHECK_EQ_U(builder_open_events(b), 0);
        CHECK_EQ_U(builder_open_bytes(b), 0);
}

/* ---- the tests ------------------------------------------------------------ */

TEST(wrap_around_2_32)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        struct feed f = { .b = builder_new(&cfg, &sink) };
        static const uint32_t trig[] = { 0xFFFFFFFDu, 0xFFFFFFFEu, 0xFFFFFFFFu, 0, 1, 2 };

        REQUIRE(f.b);
        for (size_t i = 0; i < 6; i++)
                add(&f, 0, 0, trig[i]);
        CHECK_EQ_U(count(&c, R_EVENT), 0);
        for (size_t i = 0; i < 6; i++)
                add(&f, 1, 1, trig[i]);
        /* Source 1 has moved past all but its last: 0 follows 0xFFFFFFFF. */
        CHECK_EQ_U(count(&c, R_EVENT), 5);
        builder_source_ended(f.b, 0);
        CHECK_EQ_U(count(&c, R_EVENT), 5);
        builder_source_ended(f.b, 1);
        REQUIRE(count(&c, R_EVENT) == 6);
        for (size_t i = 0; i < 6; i++) {
                const struct rec *r = nth(&c, R_EVENT, i);
                CHECK_EQ_U(r->trigger, trig[i]);
                CHECK_EQ_U(r->status, EV_COMPLETE);
                CHECK_EQ_U(r->sources, 0x3);
                CHECK_EQ_U(r->time, time_of(trig[i]));
        }
        CHECK_EQ_U(count(&c, R_LATE), 0);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

TEST(events_leave_in_ascending_order)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        struct feed f = { .b = builder_new(&cfg, &sink) };

        /* Source 1 runs ahead; source 0's earlier triggers open events
         * before the ones already open. */
        add(&f, 1, 1, 7);
        add(&f, 1, 1, 9);
        add(&f, 0, 0, 5);
        add(&f, 0, 0, 7);
        add(&f, 0, 0, 8);
        add(&f, 0, 0, 9);
        add(&f, 0, 0, 10);
        builder_flush(f.b);
        static const uint32_t want[] = { 5, 7, 8, 9, 10 };
        REQUIRE(count(&c, R_EVENT) == 5);
        for (size_t i = 0; i < 5; i++)
                CHECK_EQ_U(nth(&c, R_EVENT, i)->trigger, want[i]);
        CHECK_EQ_U(event_of(&c, 5)->missing, 0x2);
        CHECK_EQ_U(event_of(&c, 7)->status, EV_COMPLETE);
        CHECK_EQ_U(event_of(&c, 8)->missing, 0x2);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

TEST(missing_fragment)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x7);
        struct builder_sink sink = sink_of(&c);
        struct feed f = { .b = builder_new(&cfg, &sink) };

        for (uint32_t t = 1; t <= 6; t++)
                for (unsigned s = 0; s < 3; s++)
                        if (!(s == 2 && t == 4))
                                add(&f, s, s, t);
        /* Decided without waiting for the end: source 2 moved past 4. */
        const struct rec *r = event_of(&c, 4);
        REQUIRE(r);
        CHECK_EQ_U(r->status, EV_INCOMPLETE);
        CHECK_EQ_U(r->missing, 0x4);
        CHECK_EQ_U(r->sources, 0x3);
        CHECK_EQ_U(count(&c, R_EVENT), 5);
        builder_flush(f.b);
        CHECK_EQ_U(count(&c, R_EVENT), 6);
        CHECK_EQ_U(counters_of(f.b).incomplete, 1);
        CHECK_EQ_U(counters_of(f.b).per_source_missing[2], 1);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

TEST(silent_source_fake_clock)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        cfg.build_timeout_ms = 500;
        struct feed f = { .b = builder_new(&cfg, &sink), .now_ms = 1000 };

        add(&f, 0, 0, 1);
        add(&f, 1, 1, 1);
        add(&f, 0, 0, 2);
        add(&f, 0, 0, 3);
        f.now_ms = 1450;
        add(&f, 0, 0, 4);
        builder_tick(f.b, 1499);
        CHECK_EQ_U(count(&c, R_EVENT), 0);
        /* Source 1 silent for 500 ms counts as having moved past: events 1-3
         * go (source 0 moved past them), 4 waits for source 0. */
        builder_tick(f.b, 1500);
        CHECK_EQ_U(count(&c, R_EVENT), 3);
        CHECK_EQ_U(event_of(&c, 1)->status, EV_COMPLETE);
        CHECK_EQ_U(event_of(&c, 2)->missing, 0x2);
        CHECK_EQ_U(counters_of(f.b).forced_by_timeout, 3);
        CHECK_EQ_U(builder_open_events(f.b), 1);
        /* Source 1 wakes up: its fragment for a decided event is late; the
         * next one joins the open event. */
        f.now_ms = 1600;
        add(&f, 1, 1, 2);
        CHECK_EQ_U(count(&c, R_LATE), 1);
        CHECK_EQ_U(nth(&c, R_LATE, 0)->trigger, 2);
        add(&f, 1, 1, 4);
        builder_tick(f.b, 1700);
        CHECK_EQ_U(count(&c, R_EVENT), 3);
        builder_tick(f.b, 2100);        /* both silent now */
        REQUIRE(count(&c, R_EVENT) == 4);
        CHECK_EQ_U(event_of(&c, 4)->status, EV_COMPLETE);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

/* The daemon stopped (SIGSTOP, a starved core thread): its clock jumps
 * while fragments wait in the sources' rings.  The first item taken after
 * the jump must not decide later triggers by timeout before the waiting
 * fragments are taken: trigger 1, whose only fragment so far is still
 * waiting, would become late records and have no event at all. */
TEST(no_trigger_vanishes_when_the_clock_jumps)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x7);
        struct builder_sink sink = sink_of(&c);
        cfg.build_timeout_ms = 500;
        struct feed f = { .b = builder_new(&cfg, &sink), .now_ms = 1000 };

        add(&f, 0, 0, 2);               /* source 0 lost trigger 1 */
        f.now_ms = 3000;                /* 2 s later: the rings are full */
        add(&f, 0, 0, 3);
        CHECK_EQ_U(count(&c, R_EVENT), 0);
        add(&f, 1, 1, 1);
        add(&f, 2, 2, 1);
        add(&f, 1, 1, 2);
        add(&f, 2, 2, 2);
        add(&f, 1, 1, 3);
        add(&f, 2, 2, 3);
        builder_tick(f.b, 3000);
        builder_flush(f.b);
        REQUIRE(count(&c, R_EVENT) == 3);
        CHECK_EQ_U(event_of(&c, 1)->missing, 0x1);
        CHECK_EQ_U(event_of(&c, 2)->status, EV_COMPLETE);
        CHECK_EQ_U(event_of(&c, 3)->status, EV_COMPLETE);
        CHECK_EQ_U(count(&c, R_LATE), 0);
        CHECK_EQ_U(counters_of(f.b).forced_by_timeout, 0);
        CHECK_EQ_U(counters_of(f.b).late_without_event, 0);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

/* A board really silent past the timeout that then delivers a trigger no
 * event was made for: its fragment is a late record (events leave in
 * ascending order), counted apart from other late fragments. */
TEST(late_fragment_of_a_trigger_without_event_is_counted)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        cfg.build_timeout_ms = 500;
        struct feed f = { .b = builder_new(&cfg, &sink), .now_ms = 1000 };

        add(&f, 0, 0, 2);               /* source 0 lost trigger 1 */
        add(&f, 0, 0, 3);
        builder_tick(f.b, 1600);        /* source 1 silent since 1000 */
        CHECK_EQ_U(count(&c, R_EVENT), 2);
        CHECK_EQ_U(counters_of(f.b).forced_by_timeout, 2);
        CHECK_EQ_U(counters_of(f.b).per_source_timeouts[1], 2);
        CHECK_EQ_U(counters_of(f.b).per_source_timeouts[0], 1);  /* 3 waited on it */
        f.now_ms = 1700;
        add(&f, 1, 1, 1);               /* trigger 1 has no event */
        add(&f, 1, 1, 2);               /* trigger 2 has one */
        CHECK_EQ_U(count(&c, R_LATE), 2);
        CHECK_EQ_U(counters_of(f.b).late, 2);
        CHECK_EQ_U(counters_of(f.b).late_without_event, 1);
        CHECK_EQ_U(counters_of(f.b).per_source_late_without_event[1], 1);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

TEST(no_timeout_when_zero)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        struct feed f = { .b = builder_new(&cfg, &sink) };
        add(&f, 0, 0, 1);
        add(&f, 0, 0, 2);
        builder_tick(f.b, 1000000);
        CHECK_EQ_U(count(&c, R_EVENT), 0);
        builder_flush(f.b);
        CHECK_EQ_U(count(&c, R_EVENT), 2);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

TEST(duplicate)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        struct feed f = { .b = builder_new(&cfg, &sink) };
        add(&f, 0, 0, 1);
        add(&f, 0, 0, 2);
        add(&f, 1, 1, 1);
        add_junk(&f, 1, 12);            /* junk changes nothing */
        add(&f, 1, 1, 1);               /* a second copy: kept in the event */
        add(&f, 1, 1, 2);
        builder_flush(f.b);
        REQUIRE(count(&c, R_JUNK) == 1);
        CHECK_EQ_U(nth(&c, R_JUNK, 0)->stream, 1);
        CHECK_EQ_U(nth(&c, R_JUNK, 0)->offset, FRAG);
        CHECK_EQ_U(nth(&c, R_JUNK, 0)->bytes, 12);
        const struct rec *r = event_of(&c, 1);
        REQUIRE(r);
        CHECK_EQ_U(r->status, EV_COMPLETE | EV_DUPLICATE);
        CHECK_EQ_U(r->n_frags, 3);
        CHECK_EQ_U(r->n_tag, 2);
        CHECK_EQ_U(event_of(&c, 2)->status, EV_COMPLETE);
        CHECK_EQ_U(counters_of(f.b).duplicate, 1);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

TEST(late)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        struct feed f = { .b = builder_new(&cfg, &sink) };
        add(&f, 0, 0, 1);
        add(&f, 0, 0, 3);
        add(&f, 0, 0, 2);               /* source 0 moved past 2: late */
        add(&f, 1, 1, 1);
        add(&f, 1, 1, 2);
        add(&f, 1, 1, 3);
        builder_flush(f.b);
        REQUIRE(count(&c, R_LATE) == 1);
        const struct rec *l = nth(&c, R_LATE, 0);
        CHECK_EQ_U(l->source, 0);
        CHECK_EQ_U(l->trigger, 2);
        CHECK_EQ_U(l->bytes, FRAG);
        CHECK_EQ_U(l->offset, 2 * FRAG);
        CHECK_EQ_U(event_of(&c, 2)->missing, 0x1);
        CHECK_EQ_U(event_of(&c, 2)->sources, 0x2);
        CHECK_EQ_U(counters_of(f.b).per_source_late[0], 1);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

TEST(crc_error_delivered_as_next)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        struct feed f = { .b = builder_new(&cfg, &sink) };
        for (uint32_t t = 1; t <= 3; t++)
                add(&f, 0, 0, t);
        add(&f, 1, 1, 1);
        /* Trigger 2 is exactly one more than source 1's previous: joins. */
        add_kind(&f, 1, 1, 2, time_of(2), 0, STREAM_BAD_FRAGMENT, false);
        add(&f, 1, 1, 3);
        builder_flush(f.b);
        const struct rec *r = event_of(&c, 2);
        REQUIRE(r);
        CHECK_EQ_U(r->status, EV_INCOMPLETE | EV_CORRUPT);
        CHECK_EQ_U(r->sources, 0x3);
        CHECK_EQ_U(r->missing, 0x2);
        CHECK_EQ_U(r->n_frags, 2);
        CHECK_EQ_U(r->n_tag, 1);
        CHECK_EQ_U(count(&c, R_CORRUPT), 0);
        CHECK_EQ_U(event_of(&c, 3)->status, EV_COMPLETE);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

TEST(crc_error_becomes_corrupt_record)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        struct feed f = { .b = builder_new(&cfg, &sink) };
        /* A source's first fragment: nothing to be one more than. */
        add_kind(&f, 1, 1, 1, time_of(1), 0, STREAM_BAD_FRAGMENT, false);
        add(&f, 0, 0, 1);
        add(&f, 0, 0, 2);
        add(&f, 1, 1, 2);
        /* A flipped bit that would move source 1 far ahead. */
        add_kind(&f, 1, 1, 2 + (1u << 30), time_of(3), 0, STREAM_BAD_FRAGMENT, false);
        /* One that names a source nobody expects. */
        add_kind(&f, 1, 9, 3, time_of(3), 0, STREAM_BAD_FRAGMENT, false);
        add(&f, 1, 1, 3);
        add(&f, 0, 0, 3);
        builder_flush(f.b);
        REQUIRE(count(&c, R_CORRUPT) == 3);
        CHECK_EQ_U(nth(&c, R_CORRUPT, 0)->trigger, 1);
        CHECK_EQ_U(nth(&c, R_CORRUPT, 1)->trigger, 2 + (1u << 30));
        CHECK_EQ_U(nth(&c, R_CORRUPT, 2)->source, 9);
        CHECK_EQ_U(nth(&c, R_CORRUPT, 2)->offset, 3 * FRAG);
        /* Nothing else changed. */
        CHECK_EQ_U(count(&c, R_EVENT), 3);
        CHECK_EQ_U(event_of(&c, 1)->missing, 0x2);
        CHECK_EQ_U(event_of(&c, 1)->status, EV_INCOMPLETE);
        CHECK_EQ_U(event_of(&c, 2)->status, EV_COMPLETE);
        CHECK_EQ_U(event_of(&c, 3)->status, EV_COMPLETE);
        CHECK_EQ_U(count(&c, R_LATE), 0);
        CHECK_EQ_U(counters_of(f.b).corrupt, 3);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

TEST(bad_content_with_good_crc_joins)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        struct feed f = { .b = builder_new(&cfg, &sink) };
        add(&f, 0, 0, 5);
        /* Header trusted even as a source's first and for an unexpected one. */
        add_kind(&f, 1, 1, 5, time_of(5) + 99, FRAG_BUSY_SEEN, STREAM_BAD_FRAGMENT, true);
        add_kind(&f, 1, 7, 5, time_of(5), 0, STREAM_BAD_FRAGMENT, true);
        add(&f, 1, 1, 6);
        add(&f, 0, 0, 6);
        builder_flush(f.b);
        const struct rec *r = event_of(&c, 5);
        REQUIRE(r);
        /* busy_seen and time_mismatch look at good fragments only. */
        CHECK_EQ_U(r->status, EV_INCOMPLETE | EV_CORRUPT);
        CHECK_EQ_U(r->sources, 0x83);
        CHECK_EQ_U(r->missing, 0x2);
        CHECK_EQ_U(r->time, time_of(5));
        CHECK_EQ_U(event_of(&c, 6)->status, EV_COMPLETE);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

TEST(time_and_bits_from_lowest_good_source)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x7);
        struct builder_sink sink = sink_of(&c);
        struct feed f = { .b = builder_new(&cfg, &sink) };
        /* Event 1: source 0 corrupt only, source 1 good: from source 1. */
        add_kind(&f, 0, 0, 1, 111, 0, STREAM_BAD_FRAGMENT, true);
        add_kind(&f, 2, 2, 1, 222, 0, STREAM_FRAGMENT, true);
        add_kind(&f, 1, 1, 1, 333, FRAG_TRUNCATED, STREAM_FRAGMENT, true);
        /* Event 2: all corrupt: the first fragment of the lowest source. */
        add_kind(&f, 2, 2, 2, 444, 0, STREAM_BAD_FRAGMENT, true);
        add_kind(&f, 1, 1, 2, 555, 0, STREAM_BAD_FRAGMENT, true);
        add_kind(&f, 1, 1, 2, 666, 0, STREAM_BAD_FRAGMENT, true);
        builder_flush(f.b);
        const struct rec *r = event_of(&c, 1);
        REQUIRE(r);
        CHECK_EQ_U(r->time, 333);
        CHECK_EQ_U(r->status, EV_INCOMPLETE | EV_CORRUPT | EV_TIME_MISMATCH | EV_TRUNCATED);
        CHECK_EQ_U(r->missing, 0x1);
        r = event_of(&c, 2);
        REQUIRE(r);
        CHECK_EQ_U(r->time, 555);
        CHECK_EQ_U(r->status, EV_INCOMPLETE | EV_CORRUPT | EV_DUPLICATE);
        CHECK_EQ_U(r->missing, 0x7);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

TEST(time_tolerance)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        cfg.time_tolerance_ticks = 2;
        struct feed f = { .b = builder_new(&cfg, &sink) };
        add_kind(&f, 0, 0, 1, 100, 0, STREAM_FRAGMENT, true);
        add_kind(&f, 1, 1, 1, 102, 0, STREAM_FRAGMENT, true);
        add_kind(&f, 0, 0, 2, 200, 0, STREAM_FRAGMENT, true);
        add_kind(&f, 1, 1, 2, 203, 0, STREAM_FRAGMENT, true);
        builder_flush(f.b);
        CHECK_EQ_U(event_of(&c, 1)->status, EV_COMPLETE);
        CHECK_EQ_U(event_of(&c, 2)->status, EV_COMPLETE | EV_TIME_MISMATCH);
        builder_free(f.b);
        free(c.r);
}

/* Four boards, triggers 1..n; board 2's counter is off from trigger `from`
 * on: skip (it misses `from` and stays one behind) or invent. */
static void run_desync(bool skip, uint32_t n, uint32_t from, struct col *c, builder_t **ret)
{
        struct builder_config cfg = cfg_for(0xF);
        struct builder_sink sink = sink_of(c);
        struct feed f = { .b = builder_new(&cfg, &sink) };
        for (uint32_t t = 1; t <= n; t++) {
                for (unsigned s = 0; s < 4; s++) {
                        if (s != 2 || t < from) {
                                add(&f, s, s, t);
                                continue;
                        }
                        if (skip) {
                                if (t > from)   /* labelled t-1, time of t */
                                        add_kind(&f, s, s, t - 1, time_of(t), 0,
                                                 STREAM_FRAGMENT, true);
                        } else {
                                if (t == from)  /* an invented trigger */
                                        add_kind(&f, s, s, t, time_of(t) + 7, 0,
                                                 STREAM_FRAGMENT, true);
                                add_kind(&f, s, s, t + 1, time_of(t), 0, STREAM_FRAGMENT, true);
                        }
                }
        }
        for (unsigned s = 0; s < 4; s++)
                builder_source_ended(f.b, s);
        *ret = f.b;
}

TEST(board_skips_a_trigger_and_stays_behind)
{
        struct col c = { 0 };
        builder_t *b;
        run_desync(true, 60, 21, &c, &b);
        /* Nothing lost, nothing realigned. */
        REQUIRE(count(&c, R_EVENT) == 60);
        CHECK_EQ_U(count(&c, R_LATE) + count(&c, R_JUNK) + count(&c, R_CORRUPT), 0);
        for (uint32_t t = 1; t <= 60; t++) {
                const struct rec *r = event_of(&c, t);
                uint32_t want = t < 21 ? EV_COMPLETE : t < 60 ? EV_COMPLETE | EV_TIME_MISMATCH
                                                              : EV_INCOMPLETE;
                REQUIRE(r);
                CHECK_EQ_U(r->status, want);
                CHECK_EQ_U(r->time, time_of(t));      /* from source 0 */
        }
        CHECK_EQ_U(event_of(&c, 60)->missing, 0x4);
        const struct builder_out_of_step *o;
        REQUIRE(builder_out_of_step(b, &o) == 1);
        CHECK_EQ_U(o[0].source, 2);
        CHECK(o[0].offset == 1);
        CHECK_EQ_U(o[0].first_trigger, 21);
        CHECK_EQ_U(counters_of(b).out_of_step, 1);
        CHECK_EQ_U(counters_of(b).time_mismatch, 39);
        check_bytes(b, &c);
        builder_free(b);
        free(c.r);
}

TEST(board_invents_a_trigger)
{
        struct col c = { 0 };
        builder_t *b;
        run_desync(false, 60, 21, &c, &b);
        REQUIRE(count(&c, R_EVENT) == 61);
        CHECK_EQ_U(event_of(&c, 20)->status, EV_COMPLETE);
        CHECK_EQ_U(event_of(&c, 21)->status, EV_COMPLETE | EV_TIME_MISMATCH);
        CHECK_EQ_U(event_of(&c, 61)->sources, 0x4);
        const struct builder_out_of_step *o;
        REQUIRE(builder_out_of_step(b, &o) == 1);
        CHECK_EQ_U(o[0].source, 2);
        CHECK(o[0].offset == -1);
        CHECK_EQ_U(o[0].first_trigger, 21);
        check_bytes(b, &c);
        builder_free(b);
        free(c.r);
}

TEST(max_open_events)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        cfg.max_open_events = 4;
        struct feed f = { .b = builder_new(&cfg, &sink) };
        for (uint32_t t = 1; t <= 10; t++) {
                add(&f, 0, 0, t);
                CHECK(builder_open_events(f.b) <= 4);
        }
        /* Source 1 silent: the oldest events were decided, incomplete. */
        CHECK_EQ_U(count(&c, R_EVENT), 6);
        CHECK_EQ_U(counters_of(f.b).forced_by_events, 6);
        CHECK_EQ_U(event_of(&c, 1)->status, EV_INCOMPLETE);
        CHECK_EQ_U(event_of(&c, 1)->missing, 0x2);
        /* Its fragment for a decided event is late; later ones join. */
        add(&f, 1, 1, 3);
        CHECK_EQ_U(count(&c, R_LATE), 1);
        for (uint32_t t = 7; t <= 10; t++)
                add(&f, 1, 1, t);
        builder_flush(f.b);
        CHECK_EQ_U(count(&c, R_EVENT), 10);
        CHECK_EQ_U(event_of(&c, 7)->status, EV_COMPLETE);
        CHECK_EQ_U(event_of(&c, 10)->status, EV_COMPLETE);
        for (size_t i = 1; i < count(&c, R_EVENT); i++)
                CHECK(nth(&c, R_EVENT, i)->trigger > nth(&c, R_EVENT, i - 1)->trigger);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

TEST(max_open_bytes)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x3);
        struct builder_sink sink = sink_of(&c);
        cfg.max_open_bytes = 3 * FRAG;
        struct feed f = { .b = builder_new(&cfg, &sink) };
        for (uint32_t t = 1; t <= 10; t++) {
                add(&f, 0, 0, t);
                CHECK(builder_open_bytes(f.b) <= 3 * FRAG);
        }
        CHECK_EQ_U(count(&c, R_EVENT), 7);
        CHECK_EQ_U(counters_of(f.b).forced_by_bytes, 7);
        add(&f, 1, 1, 7);
        CHECK_EQ_U(count(&c, R_LATE), 1);
        add(&f, 1, 1, 8);
        builder_flush(f.b);
        CHECK_EQ_U(count(&c, R_EVENT), 10);
        CHECK_EQ_U(event_of(&c, 8)->status, EV_COMPLETE);
        CHECK_EQ_U(event_of(&c, 9)->missing, 0x2);
        check_bytes(f.b, &c);
        builder_free(f.b);
        free(c.r);
}

/* ---- through the stream reader -------------------------------------------- */

struct sfeed {
        builder_t *b;
        uint32_t stream;
};

static int s_to_builder(void *ctx, const struct stream_item *it)
{
        struct sfeed *sf = ctx;
        return builder_add(sf->b, sf->stream, it, 0);
}

TEST(junk_between_fragments)
{
        struct col c = { 0 };
        struct builder_config cfg = cfg_for(0x1);
        struct builder_sink sink = sink_of(&c);
        builder_t *b = builder_new(&cfg, &sink);
        uint8_t buf[4 * FRAG + 64];
        size_t n = 0;
        n += mkfrag(buf + n, 0, 1, time_of(1), 0);
        memset(buf + n, 0xAB, 12);
        n += 12;
        n += mkfrag(buf + n, 0, 2, time_of(2), 0);
        memcpy(buf + n, "DKFRxxxx", 8);         /* a false header */
        n += 8;
        n += mkfrag(buf + n, 0, 3, time_of(3), 0);
        memcpy(buf + n, "tail!", 5);
        n += 5;
        stream_t *st = stream_new();
        struct sfeed sf = { b, 0 };
        /* In pieces, as a USB transfer would split it. */
        for (size_t i = 0; i < n; i += 7)
                CHECK_OK_ZERO(stream_feed(st, buf + i, n - i < 7 ? n - i : 7, s_to_builder, &sf, NULL));
        stream_finish(st, s_to_builder, &sf);
        builder_source_ended(b, 0);
        CHECK_EQ_U(count(&c, R_EVENT), 3);
        for (uint32_t t = 1; t <= 3; t++)
                CHECK_EQ_U(event_of(&c, t)->status, EV_COMPLETE);
        REQUIRE(count(&c, R_JUNK) == 4);
        CHECK_EQ_U(nth(&c, R_JUNK, 0)->offset, FRAG);
        CHECK_EQ_U(nth(&c, R_JUNK, 0)->bytes, 12);
        CHECK_EQ_U(nth(&c, R_JUNK, 1)->offset, 2 * FRAG + 12);
        CHECK_EQ_U(nth(&c, R_JUNK, 1)->bytes, 4);
        CHECK_EQ_U(nth(&c, R_JUNK, 2)->bytes, 4);
        CHECK_EQ_U(nth(&c, R_JUNK, 3)->offset, 3 * FRAG + 20);
        CHECK_EQ_U(nth(&c, R_JUNK, 3)->bytes, 5);
        CHECK_EQ_U(counters_of(b).bytes_in, n);
        check_bytes(b, &c);
        stream_free(st);
        builder_free(b);
        free(c.r);
}

/* A small deterministic generator. */
static uint32_t rnd(uint64_t *s)
{
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        return (uint32_t)(*s >> 33);
}

struct gen {
        uint8_t *data[4];               /* per-board streams */
        size_t len[4];
        uint8_t *all;                   /* the same, interleaved */
        size_t all_len;
};

static void put(uint8_t **p, size_t *len, const void *src, size_t n)
{
        *p = realloc(*p, *len + n);
        memcpy(*p + *len, src, n);
        *len += n;
}

/* Per board: fragments with missing, duplicate, late and CRC-flipped ones
 * and junk; interleaved in a random order that keeps each board's. */
static void gen_streams(struct gen *g, uint32_t n, uint32_t first, uint64_t seed)
{
        struct { uint8_t *p; size_t len; } item[4][4096];
        size_t n_item[4] = { 0 }, next[4] = { 0 };
        memset(g, 0, sizeof(*g));
        for (unsigned s = 0; s < 4; s++) {
                uint32_t back = 0;
                for (uint32_t i = 0; i < n; i++) {
                        uint32_t t = first + i, r = rnd(&seed) % 100;
                        uint8_t buf[FRAG];
                        size_t k;
                        if (r < 4)
                                continue;                       /* missing */
                        k = mkfrag(buf, s, t, time_of(t), r < 8 ? FRAG_BUSY_SEEN : 0);
                        if (r >= 8 && r < 11)
                                buf[FRAG_HEADER_BYTES + 12] ^= 1;       /* crc */
                        for (int copy = 0; copy < (r >= 11 && r < 14 ? 2 : 1); copy++) {
                                uint8_t *p = malloc(FRAG);
                                memcpy(p, buf, k);
                                item[s][n_item[s]].p = p;
                                item[s][n_item[s]++].len = k;
                        }
                        if (r >= 14 && r < 17 && back) {        /* late */
                                uint8_t *p = malloc(FRAG);
                                item[s][n_item[s]].len = mkfrag(p, s, back, time_of(back), 0);
                                item[s][n_item[s]++].p = p;
                        }
                        if (r >= 17 && r < 20) {                /* junk */
                                uint8_t *p = malloc(FRAG);
                                memset(p, 0x5A, 24);
                                item[s][n_item[s]].p = p;
                                item[s][n_item[s]++].len = 4 * (1 + r % 6);
                        }
                        back = t - 1 - rnd(&seed) % 3;
                }
        }
        for (;;) {
                unsigned live[4], nl = 0;
                for (unsigned s = 0; s < 4; s++)
                        if (next[s] < n_item[s])
                                live[nl++] = s;
                if (!nl)
                        break;
                unsigned s = live[rnd(&seed) % nl];
                size_t i = next[s]++;
                put(&g->data[s], &g->len[s], item[s][i].p, item[s][i].len);
                put(&g->all, &g->all_len, item[s][i].p, item[s][i].len);
                free(item[s][i].p);
        }
}

static void gen_free(struct gen *g)
{
        for (unsigned s = 0; s < 4; s++)
                free(g->data[s]);
        free(g->all);
}

/* Good-fragment sources of the streams (the replay's first pass). */
static int scan_cb(void *ctx, const struct stream_item *it)
{
        if (it->kind == STREAM_FRAGMENT)
                *(uint64_t *)ctx |= 1ull << it->hdr.source_id;
        return 0;
}

static builder_t *build_streams(uint8_t *const *data, const size_t *len, unsigned n,
                                struct col *c, uint64_t *expected)
{
        stream_t *st[4];
        *expected = 0;
        for (unsigned i = 0; i < n; i++) {
                stream_t *s = stream_new();
                stream_feed(s, data[i], len[i], scan_cb, expected, NULL);
                stream_finish(s, scan_cb, expected);
                stream_free(s);
        }
        struct builder_config cfg = cfg_for(*expected);
        struct builder_sink sink = sink_of(c);
        builder_t *b = builder_new(&cfg, &sink);
        size_t pos[4] = { 0 };
        for (unsigned i = 0; i < n; i++)
                st[i] = stream_new();
        /* Round robin in pieces of 100 bytes. */
        for (bool more = true; more;) {
                more = false;
                for (unsigned i = 0; i < n; i++) {
                        struct sfeed sf = { b, i };
                        size_t k = len[i] - pos[i] < 100 ? len[i] - pos[i] : 100;
                        if (!k)
                                continue;
                        stream_feed(st[i], data[i] + pos[i], k, s_to_builder, &sf, NULL);
                        pos[i] += k;
                        more = true;
                }
        }
        for (unsigned i = 0; i < n; i++) {
                struct sfeed sf = { b, i };
                stream_finish(st[i], s_to_builder, &sf);
                stream_free(st[i]);
        }
        for (unsigned s = 0; s < 64; s++)
                if (*expected >> s & 1)
                        builder_source_ended(b, s);
        return b;
}

static int cmp_rec(const void *a, const void *b)
{
        const struct rec *x = a, *y = b;
        if (x->kind != y->kind)
                return x->kind < y->kind ? -1 : 1;
        if (x->source != y->source)
                return x->source < y->source ? -1 : 1;
        if (x->trigger != y->trigger)
                return x->trigger < y->trigger ? -1 : 1;
        if (x->sum != y->sum)
                return x->sum < y->sum ? -1 : 1;
        return 0;
}

static void check_same_events(uint32_t first, uint64_t seed)
{
        struct gen g;
        struct col a = { 0 }, b1 = { 0 };
        uint64_t ea, eb;
        gen_streams(&g, 300, first, seed);
        builder_t *ba = build_streams(g.data, g.len, 4, &a, &ea);
        builder_t *bb = build_streams(&g.all, &g.all_len, 1, &b1, &eb);
        CHECK_EQ_U(ea, 0xF);
        CHECK_EQ_U(eb, 0xF);
        /* Events: the same, in the same order. */
        REQUIRE(count(&a, R_EVENT) == count(&b1, R_EVENT));
        CHECK(count(&a, R_EVENT) >= 300);
        size_t flags_seen = 0;
        for (size_t i = 0; i < count(&a, R_EVENT); i++) {
                const struct rec *x = nth(&a, R_EVENT, i), *y = nth(&b1, R_EVENT, i);
                CHECK_EQ_U(x->trigger, y->trigger);
                CHECK_EQ_U(x->status, y->status);
                CHECK_EQ_U(x->sources, y->sources);
                CHECK_EQ_U(x->missing, y->missing);
                CHECK_EQ_U(x->time, y->time);
                CHECK_EQ_U(x->bits, y->bits);
                CHECK_EQ_U(x->n_frags, y->n_frags);
                CHECK_EQ_U(x->sum, y->sum);
                flags_seen |= x->status;
        }
        CHECK(flags_seen & EV_INCOMPLETE);
        CHECK(flags_seen & EV_DUPLICATE);
        CHECK(flags_seen & EV_CORRUPT);
        CHECK(flags_seen & EV_BUSY_SEEN);
        /* Late and corrupt records: the same sets (offsets differ). */
        size_t na = 0, nb = 0;
        for (size_t i = 0; i < a.n; i++)
                if (a.r[i].kind == R_LATE || a.r[i].kind == R_CORRUPT)
                        a.r[na++] = a.r[i];
        for (size_t i = 0; i < b1.n; i++)
                if (b1.r[i].kind == R_LATE || b1.r[i].kind == R_CORRUPT)
                        b1.r[nb++] = b1.r[i];
        REQUIRE(na == nb);
        CHECK(na > 0);
        qsort(a.r, na, sizeof(*a.r), cmp_rec);
        qsort(b1.r, nb, sizeof(*b1.r), cmp_rec);
        for (size_t i = 0; i < na; i++)
                CHECK(cmp_rec(&a.r[i], &b1.r[i]) == 0);
        /* Junk: the same bytes, and every byte once. */
        CHECK_EQ_U(counters_of(ba).junk_bytes, counters_of(bb).junk_bytes);
        CHECK(counters_of(ba).junk > 0);
        CHECK(counters_of(ba).late > 0);
        CHECK_EQ_U(counters_of(ba).bytes_in, g.all_len);
        CHECK_EQ_U(counters_of(bb).bytes_in, g.all_len);
        CHECK_EQ_U(counters_of(ba).bytes_out, g.all_len);
        CHECK_EQ_U(counters_of(bb).bytes_out, g.all_len);
        CHECK_EQ_U(a.bytes, g.all_len);
        CHECK_EQ_U(b1.bytes, g.all_len);
        builder_free(ba);
        builder_free(bb);
        free(a.r);
        free(b1.r);
        gen_free(&g);
}

TEST(per_board_and_interleaved_give_the_same_events)
{
        check_same_events(1, 1);
        check_same_events(1, 42);
        check_same_events(0xFFFFFF00u, 7);      /* across the wrap */
}

TEST(bytes_in_equals_bytes_out_with_limits)
{
        /* With tight limits the result may differ, but nothing is lost. */
        struct gen g;
        gen_streams(&g, 300, 0xFFFFFF80u, 99);
        struct builder_config cfg = cfg_for(0xF);
        struct col c = { 0 };
        struct builder_sink sink = sink_of(&c);
        cfg.max_open_events = 3;
        cfg.max_open_bytes = 5 * FRAG;
        builder_t *b = builder_new(&cfg, &sink);
        stream_t *st = stream_new();
        struct sfeed sf = { b, 0 };
        stream_feed(st, g.all, g.all_len, s_to_builder, &sf, NULL);
        stream_finish(st, s_to_builder, &sf);
        builder_flush(b);
        CHECK_EQ_U(c.bytes, g.all_len);
        check_bytes(b, &c);
        CHECK(counters_of(b).forced_by_events + counters_of(b).forced_by_bytes > 0);
        stream_free(st);
        builder_free(b);
        free(c.r);
        gen_free(&g);
}

TEST(status_names)
{
        CHECK_STR(ev_status_name(0), "complete");
        CHECK_STR(ev_status_name(4), "time_mismatch");
        CHECK_STR(ev_status_name(7), "test_pattern");
}

TEST_MAIN()
