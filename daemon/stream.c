/* SPDX-License-Identifier: Apache-2.0 */
/* stream: turns a byte stream, fed in pieces, into fragments, bad fragments
 * and junk by the rules of proto/README.md s.1.  Items are decided in place in
 * the caller's buffer until one straddles two feeds; from then on, until the
 * held bytes run out, they are decided in the reader's own buffer, which
 * each feed gives just the bytes the decisions need and which holds at most
 * what one decision needs (two maximal fragments, or one capped junk run).
 * Whatever the bytes, each is looked at a bounded number of times: the
 * reader remembers, by stream offset, which words hold no header magic and
 * which candidates are not good fragments, and takes the CRC of a candidate
 * from running CRCs of the stream instead of reading its megabyte again. */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

#define HOLD_MAX (STREAM_MAX_JUNK_RUN > 2 * FRAG_MAX_BYTES ? \
                  STREAM_MAX_JUNK_RUN + 8 : 2 * FRAG_MAX_BYTES + 8)

/* Once a round of taking bytes for the held ones has not been enough (a
 * chain of headers claiming more than is held, or a scan inside a corrupt
 * span reaching ever further), the feed is copied ahead this much at a time,
 * so that one pass decides many items or tries many candidates. */
#define BULK_COPY_BYTES (64u << 10)

/* Running CRCs kept, one per CRC32C_MARK_BYTES: a ring covering 4 MiB of
 * stream, more than the two fragments one decision can reach. */
#define MARK_SLOTS (1u << 17)
#define MARK_MASK (MARK_SLOTS - 1)
#define MARK_AHEAD 128          /* marks computed past the one asked for */

struct stream {
        uint8_t *hold;          /* undecided bytes: hold[head .. head + held) */
        size_t head;            /* decided bytes still in front of them */
        size_t held;            /* bytes undecided */
        size_t cap;             /* allocated size of hold */
        size_t staged;          /* then copies of the feed's next bytes, not yet
                                   taken (during one stream_feed only) */
        size_t need;            /* bytes from hold[head] the pending decision waits for */
        bool bulk;              /* a copy for the held bytes fell short */
        uint64_t base;          /* stream offset of hold[head] */
        uint64_t fed;           /* bytes fed so far */

        /* What earlier decisions learnt, by stream offset. */
        uint64_t nomagic_from;  /* no header magic at the multiples of 4 */
        uint64_t nomagic_to;    /*   in [nomagic_from, nomagic_to) */
        uint64_t clear_from;    /* no good fragment starts at the multiples */
        uint64_t clear_to;      /*   of 4 in [clear_from, clear_to) */
        bool good_at_clear_to;  /* and one starts at clear_to */
        uint64_t bad_body_off;  /* the last fragment found corrupt: where, */
        struct frag_error bad_body_err; /* why, */
        bool bad_body_crc_ok;   /* and whether its CRC matched */
        bool have_bad_body;

        /* Running CRCs: mark k is crc32c(0) of the stream's bytes
         * [mark_origin, mark_origin + (k + 1) * CRC32C_MARK_BYTES). */
        uint32_t *marks;        /* MARK_SLOTS of them, a ring by k */
        uint64_t mark_origin;   /* stream offset the running CRC starts at */
        uint64_t n_marks;       /* marks computed; 0: none since the origin */
};

enum { DECIDED, NEED_MORE };

stream_t *stream_new(void)
{
        return calloc(1, sizeof(struct stream));
}

stream_t *stream_free(stream_t *s)
{
        if (s) {
                free(s->marks);
                free(s->hold);
                free(s);
        }
        return NULL;
}

uint64_t stream_offset(const stream_t *s)
{
        return s->fed;
}

size_t stream_held(const stream_t *s)
{
        return s->held;
}

const char *stream_kind_name(enum stream_kind k)
{
        switch (k) {
        case STREAM_FRAGMENT:     return "fragment";
        case STREAM_BAD_FRAGMENT: return "bad fragment";
        case STREAM_CUT_FRAGMENT: return "cut fragment";
        case STREAM_BAD_MAGIC:    return "bad header";
        case STREAM_JUNK:         return "junk";
        }
        return "?";
}

/* The running CRC at mark position origin + j * CRC32C_MARK_BYTES. */
static uint32_t s_mark(const stream_t *s, uint64_t j)
{
        return j ? s->marks[(j - 1) & MARK_MASK] : 0;
}

/* Makes the marks reach stream offset off + upto (b holds the stream from
 * off, avail bytes).  Restarts them at off when they stop short of it: the
 * bytes in between are gone.  Returns 0 or -ENOMEM. */
static int s_marks_to(stream_t *s, const uint8_t *b, uint64_t off, size_t avail, size_t upto)
{
        uint64_t end = s->mark_origin + s->n_marks * CRC32C_MARK_BYTES;

        if (!s->marks) {
                s->marks = malloc(MARK_SLOTS * sizeof *s->marks);
                if (!s->marks)
                        return -ENOMEM;
                end = 0;
                s->n_marks = 0;
        }
        if (end < off || s->mark_origin > off) {
                s->mark_origin = end = off;
                s->n_marks = 0;
        }
        uint64_t want = (off + upto - s->mark_origin) / CRC32C_MARK_BYTES;
        if (want <= s->n_marks)
                return 0;
        uint64_t most = (off + avail - s->mark_origin) / CRC32C_MARK_BYTES;
        want = want + MARK_AHEAD < most ? want + MARK_AHEAD : most;
        while (s->n_marks < want) {
                uint64_t slot = s->n_marks & MARK_MASK;
                uint64_t steps = want - s->n_marks;
                if (steps > MARK_SLOTS - slot)
                        steps = MARK_SLOTS - slot;
                crc32c_marks(s_mark(s, s->n_marks), b + (end - off),
                             steps * CRC32C_MARK_BYTES, s->marks + slot);
                s->n_marks += steps;
                end += steps * CRC32C_MARK_BYTES;
        }
        return 0;
}

/* Do the marks already reach off + upto, from at most off? */
static bool s_marks_cover(const stream_t *s, uint64_t off, size_t upto)
{
        uint64_t end = s->mark_origin + s->n_marks * CRC32C_MARK_BYTES;
        return s->marks && s->mark_origin <= off && end >= off && end >= off + upto;
}

/* crc32c(0, b + q, e - q), e - q >= CRC32C_MARK_BYTES, from the marks (which
 * must reach off + e): the bytes from q to the next mark, that mark, and the
 * bytes from the last mark before e.  Reads at most 2 x 28 bytes. */
static uint32_t s_span_crc(const stream_t *s, const uint8_t *b, uint64_t off, size_t q,
                           size_t e)
{
        uint64_t from = off + q - s->mark_origin, to = off + e - s->mark_origin;
        uint64_t m = (from + CRC32C_MARK_BYTES - 1) / CRC32C_MARK_BYTES;       /* first mark at or after q */
        uint64_t f = to / CRC32C_MARK_BYTES;                                  /* last mark at or before e */
        size_t mq = (size_t)(m * CRC32C_MARK_BYTES - from);
        size_t fe = (size_t)(to - f * CRC32C_MARK_BYTES);
        uint32_t at_m = s_mark(s, m), at_e = s_mark(s, f);

        if (mq)
                at_m ^= crc32c(0, b + q, mq);
        if (fe)
                at_e = crc32c(at_e, b + e - fe, fe);
        return crc32c_combine(at_m, at_e, e - q - mq);
}

/* What a decision may look at: b[0..avail), the stream from offset off.
 * When the held bytes are short, more of the current feed may already be
 * copied behind them, up to reach: a decision that needs them takes just
 * what it needs, as the next round of the feed would have, so that a feed
 * takes the same bytes however many the reader copied ahead. */
struct window {
        const uint8_t *b;
        uint64_t off;
        size_t avail;           /* bytes the decision has */
        size_t reach;           /* bytes it may take (>= avail) */
        bool eof;               /* no bytes will follow reach */
};

/* Does the window hold n bytes, taking them from those within reach? */
static bool s_take(struct window *w, size_t n)
{
        if (n <= w->avail)
                return true;
        if (n > w->reach)
                return false;
        w->avail = n;
        return true;
}

/* Is candidate q (a multiple of 4 inside the window) a good fragment?
 * Returns 1 yes, 0 no, -1 more bytes needed (*need set), -ENOMEM. */
static int s_candidate(stream_t *s, struct window *w, size_t q, size_t *need)
{
        const uint8_t *b = w->b;
        struct frag_header h;

        if (q + 4 > w->avail || frag_le32(b + q) != FRAG_MAGIC)
                return 0;
        if (!s_take(w, q + FRAG_HEADER_BYTES)) {
                if (w->eof)
                        return 0;
                *need = q + FRAG_HEADER_BYTES;
                return -1;
        }
        frag_header_decode(b + q, &h);
        if (frag_header_check(&h, NULL) != FRAG_OK)
                return 0;
        size_t total = (size_t)h.payload_bytes + FRAG_OVERHEAD;
        if (!s_take(w, q + total)) {
                if (w->eof)
                        return 0;
                *need = q + total;
                return -1;
        }
        if (frag_le32(b + q + total - 4) != FRAG_END_MAGIC)
                return 0;
        if (s_marks_to(s, b, w->off, w->avail, q + total - FRAG_TRAILER_BYTES) < 0)
                return -ENOMEM;
        if (s_span_crc(s, b, w->off, q, q + total - FRAG_TRAILER_BYTES) != frag_le32(b + q + total - 8))
                return 0;
        return frag_check_body(b + q, total, NULL, NULL, NULL) == FRAG_OK;
}

/* Is there a good fragment starting at a multiple of 4 in [4, span) of the
 * window?  Returns 1 yes, 0 no, -1 more bytes needed (*need set), -ENOMEM.
 * Each candidate is tried once: what the scan found holds for every later
 * span it overlaps. */
static int s_good_inside(stream_t *s, struct window *w, size_t span, size_t *need)
{
        uint64_t off = w->off, from = off + 4;
        size_t q;

        if (from < s->clear_from || from > s->clear_to) {
                s->clear_from = s->clear_to = from;
                s->good_at_clear_to = false;
        }
        if (s->good_at_clear_to)
                return s->clear_to < off + span;
        for (q = (size_t)(s->clear_to - off); q < span; q += 4) {
                if (q + 4 <= w->avail && frag_le32(w->b + q) != FRAG_MAGIC)
                        continue;
                int r = s_candidate(s, w, q, need);
                if (r) {
                        s->clear_to = off + q;
                        s->good_at_clear_to = r > 0;
                        return r < 0 ? r : 1;
                }
        }
        if (off + q > s->clear_to)
                s->clear_to = off + q;
        return 0;
}

static void s_item(struct stream_item *it, enum stream_kind kind, const uint8_t *b,
                   size_t bytes)
{
        it->kind = kind;
        it->data = b;
        it->bytes = bytes;
}

/* frag_check_body() of the whole fragment at b, reporting as it does, but
 * without the call where the trailer magic is missing (a header claiming
 * more than follows it), with the CRC from the marks where they already
 * cover the fragment (a span the scan has been through), and once only for
 * a corrupt one whose scan inside waits for more bytes. */
static enum frag_err s_check_body(stream_t *s, const uint8_t *b, uint64_t off, size_t total,
                                  struct stream_item *it)
{
        size_t crc_end = total - FRAG_TRAILER_BYTES;
        uint32_t end_magic = frag_le32(b + total - 4);
        enum frag_err e;

        if (end_magic != FRAG_END_MAGIC) {
                it->crc_ok = false;
                it->err = (struct frag_error){ FRAG_E_TRAILER_MAGIC, (uint32_t)(total - 4),
                                               end_magic, FRAG_END_MAGIC };
                return FRAG_E_TRAILER_MAGIC;
        }
        if (s->have_bad_body && s->bad_body_off == off) {
                it->err = s->bad_body_err;
                it->crc_ok = s->bad_body_crc_ok;
                return it->err.code;
        }
        uint32_t want = frag_le32(b + crc_end), got;
        if (s_marks_cover(s, off, crc_end) && want != (got = s_span_crc(s, b, off, 0, crc_end))) {
                it->crc_ok = false;
                it->err = (struct frag_error){ FRAG_E_CRC, (uint32_t)crc_end, want, got };
                e = FRAG_E_CRC;
        } else {
                e = frag_check_body(b, total, &it->info, &it->crc_ok, &it->err);
        }
        if (e != FRAG_OK) {
                s->have_bad_body = true;
                s->bad_body_off = off;
                s->bad_body_err = it->err;
                s->bad_body_crc_ok = it->crc_ok;
        }
        return e;
}

/* Decides the item at the start of the window, at a stream offset that is
 * a multiple of 4.  Returns DECIDED with *it filled, NEED_MORE with *need
 * the bytes from its start that the decision waits for, or -ENOMEM.  With
 * eof and nothing in the window there is nothing to decide: NEED_MORE. */
static int s_decide(stream_t *s, struct window *w, struct stream_item *it, size_t *need)
{
        const uint8_t *b = w->b;
        uint64_t off = w->off;
        struct frag_header *h = &it->hdr;
        size_t total;
        int inside;

        it->crc_ok = false;
        it->err.code = FRAG_OK;
        if (!s_take(w, 4)) {
                *need = 4;
                if (!w->eof || w->avail == 0)
                        return NEED_MORE;
                s_item(it, STREAM_JUNK, b, w->avail);
                return DECIDED;
        }
        size_t avail = w->avail;
        if (frag_le32(b) != FRAG_MAGIC) {
                /* junk takes no bytes from within reach: a feed that finds
                 * junk waiting takes all it brings */
                size_t i = 4;
                /* resume after the words an earlier look at this run passed */
                if (s->nomagic_from <= off + 4 && off + 4 < s->nomagic_to) {
                        i = (size_t)(s->nomagic_to - off);
                        if (i > (avail & ~(size_t)3))
                                i = avail & ~(size_t)3;
                }
                while (i + 4 <= avail && i < STREAM_MAX_JUNK_RUN && frag_le32(b + i) != FRAG_MAGIC)
                        i += 4;
                s->nomagic_from = off + 4;
                s->nomagic_to = off + i;
                if (i + 4 > avail && i < STREAM_MAX_JUNK_RUN) {
                        if (!w->eof) {
                                *need = avail + 4;
                                return NEED_MORE;
                        }
                        i = avail;      /* a short tail joins the run */
                }
                s_item(it, STREAM_JUNK, b, i);
                return DECIDED;
        }
        if (!s_take(w, FRAG_HEADER_BYTES)) {
                *need = FRAG_HEADER_BYTES;
                if (!w->eof)
                        return NEED_MORE;
                it->err = (struct frag_error){ FRAG_E_HEADER_CUT, 0, w->avail, FRAG_HEADER_BYTES };
                s_item(it, STREAM_BAD_MAGIC, b, 4);
                return DECIDED;
        }
        frag_header_decode(b, h);
        if (frag_header_check(h, &it->err) != FRAG_OK) {
                s_item(it, STREAM_BAD_MAGIC, b, 4);
                return DECIDED;
        }
        total = (size_t)h->payload_bytes + FRAG_OVERHEAD;
        if (!s_take(w, total)) {
                if (!w->eof) {
                        *need = total;
                        return NEED_MORE;
                }
                avail = w->avail;
                it->err = (struct frag_error){ FRAG_E_CUT, 0, avail, total };
                inside = s_good_inside(s, w, avail, need);
                if (inside < 0)
                        return inside;
                s_item(it, inside ? STREAM_BAD_MAGIC : STREAM_CUT_FRAGMENT, b,
                       inside ? 4 : avail);
                return DECIDED;
        }
        switch (s_check_body(s, b, off, total, it)) {
        case FRAG_OK:
                s_item(it, STREAM_FRAGMENT, b, total);
                return DECIDED;
        case FRAG_E_TRAILER_MAGIC:
                s_item(it, STREAM_BAD_MAGIC, b, 4);
                return DECIDED;
        default:
                break;
        }
        inside = s_good_inside(s, w, total, need);
        if (inside == -1)
                return NEED_MORE;
        if (inside < 0)
                return inside;
        s_item(it, inside ? STREAM_BAD_MAGIC : STREAM_BAD_FRAGMENT, b, inside ? 4 : total);
        return DECIDED;
}

/* Makes room in hold for want more bytes after the held and staged ones.
 * Those move to the front only when at least as many decided bytes lie
 * before them, and the buffer grows otherwise, so that a byte is moved at
 * most once on average however the decisions advance.  Returns 0 or -ENOMEM. */
static int s_room(stream_t *s, size_t want)
{
        size_t keep = s->held + s->staged, total = keep + want;

        if (s->head + total <= s->cap)
                return 0;
        if (s->head >= keep && total <= s->cap) {
                memmove(s->hold, s->hold + s->head, keep);
                s->head = 0;
                return 0;
        }
        size_t cap = 3 * total < 65536 ? 65536 : 3 * total;
        if (cap > 3 * HOLD_MAX)
                cap = total > 3 * HOLD_MAX ? total : 3 * HOLD_MAX;
        uint8_t *p = malloc(cap);
        if (!p)
                return -ENOMEM;
        if (keep)
                memcpy(p, s->hold + s->head, keep);
        free(s->hold);
        s->hold = p;
        s->cap = cap;
        s->head = 0;
        return 0;
}

/* Takes n of the staged bytes into the held ones: the feed has used them. */
static void s_take_staged(stream_t *s, size_t n)
{
        s->held += n;
        s->staged -= n;
        s->fed += n;
}

/* Decides items from the held bytes (taking staged ones as decisions need
 * them); stops when they run out or the decision needs more (then s->need
 * says how many).  Returns 0, the callback's value, or -ENOMEM. */
static int s_drain_held(stream_t *s, bool eof, stream_cb cb, void *ctx)
{
        int r = 0;

        s->need = 0;
        while (s->held) {
                struct window w = { s->hold + s->head, s->base, s->held,
                                    s->held + s->staged, eof };
                struct stream_item it;
                size_t n;
                int d = s_decide(s, &w, &it, &n);
                s_take_staged(s, w.avail - s->held);
                if (d != DECIDED) {
                        if (d == NEED_MORE)
                                s->need = n;
                        else
                                r = d;
                        break;
                }
                it.offset = s->base;
                s->head += it.bytes;
                s->held -= it.bytes;
                s->base += it.bytes;
                r = cb(ctx, &it);
                if (r)
                        break;
        }
        if (!s->held && !s->staged)
                s->head = 0;
        return r;
}

int stream_feed(stream_t *s, const void *data, size_t len, stream_cb cb, void *ctx,
                size_t *used)
{
        const uint8_t *d = data;
        uint64_t d_off = s->fed;        /* stream offset of d[0] */
        size_t pos = 0;
        int r = 0;

        while (pos < len) {
                if (s->held) {
                        /* Held bytes wait for this feed: take what their
                         * decision needs (a junk run takes what there is),
                         * then decide from the held bytes.  Once a round
                         * has fallen short, copy ahead in bulk; decisions
                         * take from that copy only what they need. */
                        const uint8_t *h = s->hold + s->head;
                        bool junk = s->held >= 4 && frag_le32(h) != FRAG_MAGIC;
                        size_t want = junk ? len - pos : s->need > s->held ? s->need - s->held : 0;
                        if (want > len - pos)
                                want = len - pos;
                        if (s->held + want > HOLD_MAX)
                                want = HOLD_MAX - s->held;
                        size_t stage = want && s->bulk && want < BULK_COPY_BYTES ?
                                       BULK_COPY_BYTES : want;
                        if (stage > len - pos)
                                stage = len - pos;
                        if (s->held + stage > HOLD_MAX)
                                stage = HOLD_MAX - s->held;
                        if (stage > s->staged) {
                                if (s_room(s, stage - s->staged) < 0) {
                                        r = -ENOMEM;
                                        break;
                                }
                                memcpy(s->hold + s->head + s->held + s->staged,
                                       d + pos + s->staged, stage - s->staged);
                                s->staged = stage;
                        }
                        s_take_staged(s, want);
                        r = s_drain_held(s, false, cb, ctx);
                        pos = (size_t)(s->fed - d_off);
                        if (r)
                                break;
                        s->bulk = s->need != 0;
                        continue;
                }
                struct window w = { d + pos, s->fed, len - pos, len - pos, false };
                struct stream_item it;
                size_t need;
                int dec = s_decide(s, &w, &it, &need);
                if (dec == NEED_MORE) {
                        size_t rest = len - pos;
                        s->staged = 0;
                        if (s_room(s, rest) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        memcpy(s->hold + s->head, d + pos, rest);
                        s->held = rest;
                        s->need = need;
                        s->bulk = false;
                        s->base = s->fed;
                        s->fed += rest;
                        pos = len;
                        break;
                }
                if (dec != DECIDED) {
                        r = dec;
                        break;
                }
                it.offset = s->fed;
                pos += it.bytes;
                s->fed += it.bytes;
                r = cb(ctx, &it);
                if (r)
                        break;
        }
        s->staged = 0;          /* copies of this feed not taken: fed again later */
        if (used)
                *used = pos;
        return r;
}

int stream_finish(stream_t *s, stream_cb cb, void *ctx)
{
        int r = s_drain_held(s, true, cb, ctx);
        /* what was learnt at the end (candidates cut by it) holds only there */
        s->clear_from = s->clear_to = 0;
        s->good_at_clear_to = false;
        s->have_bad_body = false;
        return r;
}
