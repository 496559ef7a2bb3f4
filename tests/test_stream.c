/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the stream reader: each clause of proto/README.md s.1's rule for
 * deciding a region, splits at every byte position, bounded memory, and the
 * inputs that once made it slow (long claims, nested corrupt claims, long
 * junk in small feeds) decided as in one feed, with the CRCs it takes from
 * its running CRCs equal to those read from the bytes, and item data in any
 * pieces. */
#include "check.h"
#include "frag_build.h"
#include "crc32c.h"
#include "stream.h"

#define MAX_ITEMS 4096

struct got {
        size_t n;
        struct { enum stream_kind kind; uint64_t offset; size_t bytes; uint32_t trigger;
                 enum frag_err err; bool crc_ok; uint64_t value, expected; } it[MAX_ITEMS];
        size_t max_held;
        stream_t *s;
};

static int s_collect(void *ctx, const struct stream_item *item)
{
        struct got *g = ctx;
        if (g->n < MAX_ITEMS) {
                g->it[g->n].kind = item->kind;
                g->it[g->n].offset = item->offset;
                g->it[g->n].bytes = item->bytes;
                g->it[g->n].trigger = item->hdr.trigger;
                g->it[g->n].err = item->err.code;
                g->it[g->n].crc_ok = item->crc_ok;
                g->it[g->n].value = item->err.value;
                g->it[g->n].expected = item->err.expected;
        }
        g->n++;
        return 0;
}

/* Feeds buf in pieces of `piece` bytes (0: whole), then finishes. */
static struct got *s_read(const uint8_t *buf, size_t len, size_t piece)
{
        struct got *g = calloc(1, sizeof *g);
        stream_t *s = stream_new();
        size_t pos = 0;
        if (!piece)
                piece = len ? len : 1;
        while (pos < len) {
                size_t n = len - pos < piece ? len - pos : piece;
                stream_feed(s, buf + pos, n, s_collect, g, NULL);
                if (stream_held(s) > g->max_held)
                        g->max_held = stream_held(s);
                pos += n;
        }
        stream_finish(s, s_collect, g);
        stream_free(s);
        return g;
}

/* Every byte once, in order. */
static void s_check_accounting(const struct got *g, size_t len)
{
        uint64_t at = 0;
        for (size_t i = 0; i < g->n && i < MAX_ITEMS; i++) {
                CHECK_EQ_U(g->it[i].offset, at);
                at += g->it[i].bytes;
        }
        CHECK_EQ_U(at, len);
}

static bool s_same(const struct got *a, const struct got *b)
{
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n && i < MAX_ITEMS; i++)
                if (a->it[i].kind != b->it[i].kind || a->it[i].offset != b->it[i].offset ||
                    a->it[i].bytes != b->it[i].bytes || a->it[i].err != b->it[i].err ||
                    (a->it[i].err && (a->it[i].value != b->it[i].value ||
                                      a->it[i].expected != b->it[i].expected)))
                        return false;
        return true;
}

static uint8_t buf[1 << 16];

TEST(three_fragments_split_at_every_byte)
{
        size_t len = 0;
        len += fb_fragment(buf + len, 0, 1, 2);
        len += fb_fragment(buf + len, 1, 1, 0);
        len += fb_fragment(buf + len, 0, 2, 3);
        struct got *whole = s_read(buf, len, 0);
        REQUIRE(whole->n == 3);
        for (size_t i = 0; i < 3; i++)
                CHECK(whole->it[i].kind == STREAM_FRAGMENT);
        s_check_accounting(whole, len);
        int differ = 0;
        for (size_t cut = 1; cut < len; cut++) {
                struct got *g = calloc(1, sizeof *g);
                stream_t *s = stream_new();
                stream_feed(s, buf, cut, s_collect, g, NULL);
                stream_feed(s, buf + cut, len - cut, s_collect, g, NULL);
                stream_finish(s, s_collect, g);
                differ += !s_same(whole, g);
                stream_free(s);
                free(g);
        }
        CHECK_EQ_U(differ, 0);
        for (size_t piece = 1; piece <= 9; piece++) {
                struct got *g = s_read(buf, len, piece);
                CHECK(s_same(whole, g));
                free(g);
        }
        free(whole);
}

/* A CRC-failed fragment with its trailer in place and no good fragment
 * inside spans its whole size, with its header. */
TEST(corrupt_fragment_spans_whole)
{
        size_t a = fb_fragment(buf, 0, 1, 2);
        buf[50] ^= 1;
        size_t len = a + fb_fragment(buf + a, 0, 2, 1);
        struct got *g = s_read(buf, len, 0);
        REQUIRE(g->n == 2);
        CHECK(g->it[0].kind == STREAM_BAD_FRAGMENT);
        CHECK_EQ_U(g->it[0].bytes, a);
        CHECK_EQ_U(g->it[0].err, FRAG_E_CRC);
        CHECK(!g->it[0].crc_ok);
        CHECK_EQ_U(g->it[0].trigger, 1);
        CHECK(g->it[1].kind == STREAM_FRAGMENT);
        free(g);

        /* content bad, CRC good: the header is trustworthy */
        a = fb_fragment(buf, 0, 1, 2);
        buf[32 + 8 + 20] = 3;
        fb_reseal(buf);
        g = s_read(buf, a, 0);
        REQUIRE(g->n == 1);
        CHECK(g->it[0].kind == STREAM_BAD_FRAGMENT);
        CHECK(g->it[0].crc_ok);
        CHECK_EQ_U(g->it[0].err, FRAG_E_CHARGE);
        free(g);
}

/* A header that claims a long payload, junk, then a real fragment whose
 * trailer sits where the long claim puts the first trailer: the good
 * fragment inside wins; the false header is 4 bytes, the junk a run. */
TEST(good_fragment_inside_a_corrupt_span_is_not_hidden)
{
        uint8_t inner[512];
        size_t n_in = fb_fragment(inner, 2, 9, 3);
        size_t junk = 24;
        struct frag_header h = { .magic = FRAG_MAGIC, .version = 1, .source_id = 1,
                                 .trigger = 8 };
        /* outer span = 32 + 32 (rest of false payload) ... ends with inner's trailer */
        h.payload_bytes = (uint32_t)(junk + n_in - 8);
        fb_header(buf, &h);
        memset(buf + 32, 0xA5, junk);
        memcpy(buf + 32 + junk, inner, n_in);
        size_t len = 32 + junk + n_in;
        CHECK_EQ_U(len, 32 + h.payload_bytes + 8);
        struct got *g = s_read(buf, len, 0);
        REQUIRE(g->n == 3);
        CHECK(g->it[0].kind == STREAM_BAD_MAGIC);
        CHECK_EQ_U(g->it[0].bytes, 4);
        CHECK_EQ_U(g->it[0].err, FRAG_E_CRC);
        CHECK(g->it[1].kind == STREAM_JUNK);
        CHECK_EQ_U(g->it[1].bytes, 28 + junk);
        CHECK(g->it[2].kind == STREAM_FRAGMENT);
        CHECK_EQ_U(g->it[2].offset, 32 + junk);
        s_check_accounting(g, len);
        free(g);
}

/* "Whether or not it also ends inside": the good fragment starts inside the
 * corrupt span and ends past it. */
TEST(good_fragment_starting_inside_and_ending_outside)
{
        size_t a = fb_fragment(buf, 0, 1, 4);   /* 32+8+96+8+12+8 = 164 */
        buf[40] ^= 1;                           /* corrupt: CRC */
        /* overwrite the last 60 bytes of a with the start of a good fragment
         * whose end lies beyond a's end */
        uint8_t good[512];
        size_t ng = fb_fragment(good, 1, 1, 2);
        size_t at = a - 60;
        at -= at % 4;
        /* keep a's trailer magic in place so that a looks like a fragment */
        memcpy(buf + at, good, ng);
        size_t len = at + ng;
        if (len < a)
                len = a;
        fb_put32(buf + a - 4, FRAG_END_MAGIC);
        /* good overwritten where a's trailer lies?  Only if it doesn't
         * change good: check that good is still intact */
        bool intact = memcmp(buf + at, good, ng) == 0;
        struct got *g = s_read(buf, len, 0);
        s_check_accounting(g, len);
        if (intact) {
                CHECK(g->it[0].kind == STREAM_BAD_MAGIC);
                bool found = false;
                for (size_t i = 0; i < g->n; i++)
                        found |= g->it[i].kind == STREAM_FRAGMENT && g->it[i].offset == at;
                CHECK(found);
        } else {
                CHECK(g->it[0].kind != STREAM_FRAGMENT);
        }
        free(g);
}

TEST(other_header_magic_is_4_bytes_and_scanning_goes_on)
{
        size_t a = fb_fragment(buf, 0, 1, 1);
        buf[4] = 7;     /* version */
        size_t len = a + fb_fragment(buf + a, 0, 2, 1);
        struct got *g = s_read(buf, len, 0);
        REQUIRE(g->n >= 3);
        CHECK(g->it[0].kind == STREAM_BAD_MAGIC);
        CHECK_EQ_U(g->it[0].bytes, 4);
        CHECK_EQ_U(g->it[0].err, FRAG_E_VERSION);
        CHECK(g->it[1].kind == STREAM_JUNK);
        CHECK_EQ_U(g->it[1].offset, 4);
        CHECK_EQ_U(g->it[1].bytes, a - 4);
        CHECK(g->it[2].kind == STREAM_FRAGMENT);
        s_check_accounting(g, len);
        free(g);

        /* trailer magic missing where payload_bytes puts it */
        a = fb_fragment(buf, 0, 1, 1);
        buf[a - 2] = 'X';
        g = s_read(buf, a, 0);
        REQUIRE(g->n == 2);
        CHECK(g->it[0].kind == STREAM_BAD_MAGIC);
        CHECK_EQ_U(g->it[0].err, FRAG_E_TRAILER_MAGIC);
        CHECK(g->it[1].kind == STREAM_JUNK);
        free(g);
}

TEST(cut_by_end_of_stream_spans_to_the_end)
{
        size_t a = fb_fragment(buf, 0, 1, 1);
        size_t b = fb_fragment(buf + a, 0, 2, 3);
        size_t len = a + b - 10;        /* not a multiple of 4: the tail is in the cut */
        struct got *g = s_read(buf, len, 0);
        REQUIRE(g->n == 2);
        CHECK(g->it[0].kind == STREAM_FRAGMENT);
        CHECK(g->it[1].kind == STREAM_CUT_FRAGMENT);
        CHECK_EQ_U(g->it[1].bytes, b - 10);
        CHECK_EQ_U(g->it[1].trigger, 2);
        CHECK_EQ_U(g->it[1].err, FRAG_E_CUT);
        free(g);

        /* ... unless a good fragment starts inside the cut span */
        struct frag_header h = { .magic = FRAG_MAGIC, .version = 1, .source_id = 1,
                                 .payload_bytes = 4096 };
        fb_header(buf, &h);
        memset(buf + 32, 0, 16);
        size_t c = fb_fragment(buf + 48, 2, 3, 1);
        len = 48 + c;
        g = s_read(buf, len, 0);
        REQUIRE(g->n == 3);
        CHECK(g->it[0].kind == STREAM_BAD_MAGIC);
        CHECK_EQ_U(g->it[0].err, FRAG_E_CUT);
        CHECK(g->it[1].kind == STREAM_JUNK);
        CHECK_EQ_U(g->it[1].bytes, 44);
        CHECK(g->it[2].kind == STREAM_FRAGMENT);
        free(g);
}

TEST(one_mib_claim_at_the_end_of_a_file)
{
        size_t a = fb_fragment(buf, 0, 1, 1);
        struct frag_header h = { .magic = FRAG_MAGIC, .version = 1, .source_id = 1,
                                 .payload_bytes = FRAG_MAX_PAYLOAD };
        fb_header(buf + a, &h);
        size_t len = a + 32 + 100;
        memset(buf + a + 32, 0x77, 100);
        for (size_t piece = 0; piece <= 7; piece += 7) {
                struct got *g = s_read(buf, len, piece);
                REQUIRE(g->n == 2);
                CHECK(g->it[0].kind == STREAM_FRAGMENT);
                CHECK(g->it[1].kind == STREAM_CUT_FRAGMENT);
                CHECK_EQ_U(g->it[1].bytes, 132);
                free(g);
        }
}

TEST(incomplete_header_and_odd_tail)
{
        size_t a = fb_fragment(buf, 0, 1, 1);
        fb_put32(buf + a, FRAG_MAGIC);
        memset(buf + a + 4, 0x33, 15);
        size_t len = a + 4 + 15;
        struct got *g = s_read(buf, len, 0);
        REQUIRE(g->n == 3);
        CHECK(g->it[1].kind == STREAM_BAD_MAGIC);
        CHECK_EQ_U(g->it[1].err, FRAG_E_HEADER_CUT);
        CHECK_EQ_U(g->it[1].bytes, 4);
        CHECK(g->it[2].kind == STREAM_JUNK);
        CHECK_EQ_U(g->it[2].bytes, 15);
        free(g);
}

TEST(magic_only_at_multiples_of_4)
{
        memset(buf, 0, 2);
        size_t a = fb_fragment(buf + 2, 0, 1, 1);       /* misaligned by 2 */
        struct got *g = s_read(buf, a + 2, 0);
        REQUIRE(g->n == 1);
        CHECK(g->it[0].kind == STREAM_JUNK);
        CHECK_EQ_U(g->it[0].bytes, a + 2);
        free(g);
}

TEST(empty_and_pure_junk)
{
        struct got *g = s_read(buf, 0, 0);
        CHECK_EQ_U(g->n, 0);
        free(g);
        memset(buf, 0x42, 10001);
        for (size_t piece = 0; piece <= 13; piece += 13) {
                g = s_read(buf, 10001, piece);
                REQUIRE(g->n == 1);
                CHECK(g->it[0].kind == STREAM_JUNK);
                CHECK_EQ_U(g->it[0].bytes, 10001);
                free(g);
        }
}

/* A header that claims 1 MiB followed by megabytes of junk and fragments:
 * the reader holds no more than one decision needs. */
TEST(memory_stays_bounded)
{
        size_t len = 12u << 20;
        uint8_t *big = malloc(len);
        REQUIRE(big);
        memset(big, 0x5C, len);
        struct frag_header h = { .magic = FRAG_MAGIC, .version = 1, .source_id = 1,
                                 .payload_bytes = FRAG_MAX_PAYLOAD };
        fb_header(big, &h);                             /* no trailer magic */
        size_t at = 5u << 20;
        size_t n = fb_fragment(big + at, 3, 4, 1);
        struct got *g = s_read(big, len, 65536);
        s_check_accounting(g, len);
        CHECK(g->max_held <= 2 * FRAG_MAX_BYTES + 8);
        CHECK(g->it[0].kind == STREAM_BAD_MAGIC);
        bool found = false;
        for (size_t i = 0; i < g->n && i < MAX_ITEMS; i++)
                found |= g->it[i].kind == STREAM_FRAGMENT && g->it[i].offset == at &&
                         g->it[i].bytes == n;
        CHECK(found);
        /* junk runs longer than the cap come in pieces, each at most the cap */
        for (size_t i = 0; i < g->n && i < MAX_ITEMS; i++)
                CHECK(g->it[i].bytes <= STREAM_MAX_JUNK_RUN);
        free(g);
        free(big);
}

/* ---- inputs that once made the reader slow ---- */

/* Every item's kind, offset, size and error, folded into one number, for
 * streams of more items than struct got keeps. */
struct digest {
        uint64_t n, hash, next;
        size_t max_held;
        bool in_order;
};

static int s_digest(void *ctx, const struct stream_item *item)
{
        struct digest *d = ctx;
        uint64_t v[5] = { item->kind, item->offset, item->bytes, item->err.code,
                          item->err.code ? item->err.value ^ item->err.expected << 1 : 0 };
        for (int k = 0; k < 5; k++)
                d->hash = (d->hash ^ v[k]) * 0x100000001B3u;
        d->in_order &= item->offset == d->next && item->bytes > 0;
        d->next += item->bytes;
        d->n++;
        return 0;
}

static struct digest s_digest_read(const uint8_t *b, size_t len, size_t piece)
{
        struct digest d = { .hash = 0xCBF29CE484222325u, .in_order = true };
        stream_t *s = stream_new();
        for (size_t pos = 0; pos < len; pos += piece) {
                stream_feed(s, b + pos, len - pos < piece ? len - pos : piece, s_digest, &d, NULL);
                if (stream_held(s) > d.max_held)
                        d.max_held = stream_held(s);
        }
        stream_finish(s, s_digest, &d);
        stream_free(s);
        return d;
}

/* Headers back to back, each claiming 1 MiB and never ending: one 4-byte
 * item and one 28-byte junk run each, however the stream is fed. */
TEST(long_claims_back_to_back_in_any_pieces)
{
        size_t len = 3u << 20;
        uint8_t *big = malloc(len);
        REQUIRE(big);
        struct frag_header h = { .version = 1, .payload_bytes = FRAG_MAX_PAYLOAD };
        for (size_t off = 0; off < len; off += FRAG_HEADER_BYTES) {
                h.trigger = (uint32_t)off;
                fb_header(big + off, &h);
        }
        struct digest whole = s_digest_read(big, len, len);
        CHECK(whole.in_order);
        CHECK_EQ_U(whole.next, len);
        /* two items per header up to the first whose claim runs past the
         * end, which spans to it, cut */
        CHECK_EQ_U(whole.n, 2 * ((len - FRAG_MAX_BYTES) / FRAG_HEADER_BYTES + 1) + 1);
        static const size_t pieces[] = { 4096, 65536, 1u << 20, 3000017 };
        for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
                struct digest d = s_digest_read(big, len, pieces[k]);
                CHECK_EQ_U(d.hash, whole.hash);
                CHECK(d.max_held <= 2 * FRAG_MAX_BYTES + 8);
        }
        free(big);
}

/* Random bytes: junk runs of the cap, the same in 4 KiB feeds as in one. */
TEST(long_junk_in_small_pieces)
{
        size_t len = 3u << 20;
        uint8_t *big = malloc(len);
        uint64_t x = 0x9E3779B97F4A7C15u;
        REQUIRE(big);
        for (size_t i = 0; i < len; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                big[i] = (uint8_t)(x >> 32);
        }
        for (size_t off = 0; off < len; off += 4)
                if (frag_le32(big + off) == FRAG_MAGIC)
                        big[off] ^= 1;
        struct digest whole = s_digest_read(big, len, len);
        CHECK_EQ_U(whole.n, 3);
        struct digest d = s_digest_read(big, len, 4096);
        CHECK_EQ_U(d.hash, whole.hash);
        free(big);
}

/* Corrupt claims nested every 48 bytes (each header's trailer magic in
 * place 61 periods on, its CRC wrong), around a good fragment: the headers
 * whose span holds it are 4-byte items; the reader's CRC of each corrupt
 * claim, most taken from its running CRCs, is the one the bytes give; and
 * pieces decide as one feed. */
#define NEST_PERIOD 48
#define NEST_PAYLOAD 2888       /* 32 + 2888 == 40 (mod 48): CRC at 40, "DKEN" at 44 */
TEST(nested_corrupt_claims_around_a_good_fragment)
{
        uint8_t period[NEST_PERIOD] = { 0 };
        struct frag_header h = { .version = 1, .payload_bytes = NEST_PAYLOAD };
        fb_header(period, &h);
        fb_block(period + FRAG_HEADER_BYTES, FRAG_BLOCK_RAW, 0, NEST_PAYLOAD - 8);
        fb_put32(period + 44, FRAG_END_MAGIC);
        size_t len = 0, good_at = 0, good_bytes = 480;  /* a multiple of the period */
        for (int part = 0; part < 3; part++) {
                for (int k = 0; k < 100; k++, len += NEST_PERIOD)
                        memcpy(buf + len, period, NEST_PERIOD);
                if (part == 1) {
                        struct frag_header g = { .version = 1, .trigger = 77,
                                                 .payload_bytes = (uint32_t)good_bytes - FRAG_OVERHEAD };
                        memset(buf + len, 0, good_bytes);
                        fb_block(buf + len + FRAG_HEADER_BYTES, FRAG_BLOCK_RAW, 0, g.payload_bytes - 8);
                        frag_encode(buf + len, &g);
                        good_at = len;
                        len += good_bytes;
                }
        }
        struct got *whole = s_read(buf, len, 0);
        s_check_accounting(whole, len);
        size_t total = NEST_PAYLOAD + FRAG_OVERHEAD, spans = 0, before_good = 0;
        bool found = false;
        for (size_t i = 0; i < whole->n; i++) {
                uint64_t off = whole->it[i].offset;
                found |= whole->it[i].kind == STREAM_FRAGMENT && off == good_at;
                if (whole->it[i].err != FRAG_E_CRC)
                        continue;
                CHECK(off + total <= len);
                CHECK_EQ_U(whole->it[i].value, frag_le32(buf + off + total - 8));
                CHECK_EQ_U(whole->it[i].expected, crc32c(0, buf + off, total - 8));
                if (whole->it[i].kind == STREAM_BAD_FRAGMENT)
                        spans++;
                else if (off < good_at && off + total > good_at)
                        before_good++;
        }
        CHECK(found);
        CHECK_EQ_U(spans, 4);           /* 0, 2928, 5856 and the first after the good one */
        CHECK_EQ_U(before_good, (good_at - 3 * total) / NEST_PERIOD);
        static const size_t pieces[] = { 1, 5, 48, 1000, 4096 };
        for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
                struct got *g = s_read(buf, len, pieces[k]);
                CHECK(s_same(whole, g));
                free(g);
        }
        free(whole);
}

/* Item data are the stream's bytes, whether the item is handed out from
 * the feed or from the reader's own buffer (copied ahead, moved, grown). */
struct bytes_ctx {
        const uint8_t *stream;
        size_t items, wrong;
};

static int s_bytes(void *ctx, const struct stream_item *item)
{
        struct bytes_ctx *c = ctx;
        c->items++;
        c->wrong += memcmp(item->data, c->stream + item->offset, item->bytes) != 0;
        return 0;
}

TEST(items_carry_the_stream_bytes_in_any_pieces)
{
        size_t len = 0;
        for (uint32_t t = 0; t < 40; t++) {
                len += fb_fragment(buf + len, (uint8_t)(t % 4), t, t % 7);
                memset(buf + len, 0x33, 4 * (t % 5));
                len += 4 * (t % 5);
                if (t % 9 == 0) {
                        struct frag_header h = { .version = 1, .payload_bytes = 4000 };
                        fb_header(buf + len, &h);
                        len += FRAG_HEADER_BYTES;
                }
        }
        for (size_t piece = 1; piece <= 1200; piece += 97) {
                struct bytes_ctx c = { .stream = buf };
                stream_t *s = stream_new();
                for (size_t pos = 0; pos < len; pos += piece) {
                        size_t n = len - pos < piece ? len - pos : piece;
                        uint8_t *copy = malloc(n);
                        REQUIRE(copy);
                        memcpy(copy, buf + pos, n);
                        stream_feed(s, copy, n, s_bytes, &c, NULL);
                        memset(copy, 0xEE, n);  /* the reader must not keep pointing here */
                        free(copy);
                }
                stream_finish(s, s_bytes, &c);
                stream_free(s);
                CHECK_EQ_U(c.wrong, 0);
                CHECK(c.items > 80);
        }
}

struct pause_ctx { int seen; };
static int s_pause(void *ctx, const struct stream_item *item)
{
        struct pause_ctx *p = ctx;
        (void)item;
        p->seen++;
        return 1;
}

TEST(callback_can_pause_the_feed)
{
        size_t len = 0;
        for (uint32_t t = 1; t <= 5; t++)
                len += fb_fragment(buf + len, 0, t, 1);
        stream_t *s = stream_new();
        struct pause_ctx p = { 0 };
        size_t pos = 0, used;
        int calls = 0;
        while (pos < len && calls < 100) {
                int r = stream_feed(s, buf + pos, len - pos, s_pause, &p, &used);
                CHECK(r == 1 || used == len - pos);
                pos += used;
                calls++;
        }
        stream_finish(s, s_pause, &p);
        CHECK_EQ_U(p.seen, 5);
        CHECK_EQ_U(stream_offset(s), len);
        stream_free(s);
}

TEST_MAIN()
