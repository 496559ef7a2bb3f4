/* stream: turns a byte stream, fed in pieces, into fragments, bad fragments
 * and junk by the rules of interfaces.md s.3.  Items are decided in place in
 * the caller's buffer; only the bytes of an item that straddles two feeds are
 * copied into the reader's own buffer, which holds at most what one decision
 * needs (two maximal fragments, or one capped junk run). */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HOLD_MAX (STREAM_MAX_JUNK_RUN > 2 * FRAG_MAX_BYTES ? \
                  STREAM_MAX_JUNK_RUN + 8 : 2 * FRAG_MAX_BYTES + 8)

struct stream {
        uint8_t *hold;          /* bytes of the undecided item(s) */
        size_t held;            /* bytes in hold */
        size_t cap;             /* allocated size of hold */
        uint64_t base;          /* stream offset of hold[0] */
        uint64_t fed;           /* bytes fed so far */
};

enum { DECIDED, NEED_MORE };

stream_t *stream_new(void)
{
        return calloc(1, sizeof(struct stream));
}

stream_t *stream_free(stream_t *s)
{
        if (s) {
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

/* Is there a good fragment starting at a multiple of 4 in [4, span) of b?
 * Returns 1 yes, 0 no, -1 more bytes needed (*need set). */
static int s_good_inside(const uint8_t *b, size_t span, size_t avail, bool eof, size_t *need)
{
        for (size_t q = 4; q < span; q += 4) {
                struct frag_header h;
                if (q + 4 > avail)
                        break;
                if (frag_le32(b + q) != FRAG_MAGIC)
                        continue;
                if (avail - q < FRAG_HEADER_BYTES) {
                        if (eof)
                                continue;
                        *need = q + FRAG_HEADER_BYTES;
                        return -1;
                }
                frag_header_decode(b + q, &h);
                if (frag_header_check(&h, NULL) != FRAG_OK)
                        continue;
                size_t total = (size_t)h.payload_bytes + FRAG_OVERHEAD;
                if (avail - q < total) {
                        if (eof)
                                continue;
                        *need = q + total;
                        return -1;
                }
                if (frag_check_body(b + q, total, NULL, NULL, NULL) == FRAG_OK)
                        return 1;
        }
        return 0;
}

static void s_item(struct stream_item *it, enum stream_kind kind, const uint8_t *b,
                   size_t bytes)
{
        it->kind = kind;
        it->data = b;
        it->bytes = bytes;
}

/* Decides the item at the start of b[0..avail), a position that is a multiple
 * of 4 from the stream's start.  Returns DECIDED with *it filled, or
 * NEED_MORE with *need the bytes from b that the decision waits for.  With
 * eof and avail == 0 there is nothing to decide: returns NEED_MORE. */
static int s_decide(const uint8_t *b, size_t avail, bool eof, struct stream_item *it,
                    size_t *need)
{
        struct frag_header *h = &it->hdr;
        size_t total;
        int inside;

        it->crc_ok = false;
        it->err.code = FRAG_OK;
        if (avail < 4) {
                *need = 4;
                if (!eof || avail == 0)
                        return NEED_MORE;
                s_item(it, STREAM_JUNK, b, avail);
                return DECIDED;
        }
        if (frag_le32(b) != FRAG_MAGIC) {
                size_t i = 4;
                while (i + 4 <= avail && i < STREAM_MAX_JUNK_RUN && frag_le32(b + i) != FRAG_MAGIC)
                        i += 4;
                if (i + 4 > avail && i < STREAM_MAX_JUNK_RUN) {
                        if (!eof) {
                                *need = avail + 4;
                                return NEED_MORE;
                        }
                        i = avail;      /* a short tail joins the run */
                }
                s_item(it, STREAM_JUNK, b, i);
                return DECIDED;
        }
        if (avail < FRAG_HEADER_BYTES) {
                *need = FRAG_HEADER_BYTES;
                if (!eof)
                        return NEED_MORE;
                it->err = (struct frag_error){ FRAG_E_HEADER_CUT, 0, avail, FRAG_HEADER_BYTES };
                s_item(it, STREAM_BAD_MAGIC, b, 4);
                return DECIDED;
        }
        frag_header_decode(b, h);
        if (frag_header_check(h, &it->err) != FRAG_OK) {
                s_item(it, STREAM_BAD_MAGIC, b, 4);
                return DECIDED;
        }
        total = (size_t)h->payload_bytes + FRAG_OVERHEAD;
        if (avail < total) {
                if (!eof) {
                        *need = total;
                        return NEED_MORE;
                }
                it->err = (struct frag_error){ FRAG_E_CUT, 0, avail, total };
                inside = s_good_inside(b, avail, avail, true, need);
                s_item(it, inside ? STREAM_BAD_MAGIC : STREAM_CUT_FRAGMENT, b,
                       inside ? 4 : avail);
                return DECIDED;
        }
        switch (frag_check_body(b, total, &it->info, &it->crc_ok, &it->err)) {
        case FRAG_OK:
                s_item(it, STREAM_FRAGMENT, b, total);
                return DECIDED;
        case FRAG_E_TRAILER_MAGIC:
                s_item(it, STREAM_BAD_MAGIC, b, 4);
                return DECIDED;
        default:
                break;
        }
        inside = s_good_inside(b, total, avail, eof, need);
        if (inside < 0)
                return NEED_MORE;
        s_item(it, inside ? STREAM_BAD_MAGIC : STREAM_BAD_FRAGMENT, b, inside ? 4 : total);
        return DECIDED;
}

static int s_reserve(stream_t *s, size_t want)
{
        if (want <= s->cap)
                return 0;
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < want)
                cap *= 2;
        uint8_t *p = realloc(s->hold, cap);
        if (!p)
                return -ENOMEM;
        s->hold = p;
        s->cap = cap;
        return 0;
}

/* Decides items from the held bytes; stops when they run out or the
 * decision needs more.  Returns 0, or the callback's value. */
static int s_drain_held(stream_t *s, bool eof, stream_cb cb, void *ctx, size_t *need)
{
        size_t pos = 0;
        int r = 0;

        *need = 0;
        while (pos < s->held) {
                struct stream_item it;
                size_t n;
                if (s_decide(s->hold + pos, s->held - pos, eof, &it, &n) == NEED_MORE) {
                        *need = n;
                        break;
                }
                it.offset = s->base + pos;
                pos += it.bytes;
                r = cb(ctx, &it);
                if (r)
                        break;
        }
        if (pos) {
                memmove(s->hold, s->hold + pos, s->held - pos);
                s->held -= pos;
                s->base += pos;
        }
        return r;
}

int stream_feed(stream_t *s, const void *data, size_t len, stream_cb cb, void *ctx,
                size_t *used)
{
        const uint8_t *d = data;
        size_t pos = 0;
        int r = 0;

        while (pos < len) {
                if (s->held) {
                        /* An item straddles the previous feed: copy just the
                         * bytes its decision needs (a junk run takes what
                         * there is), then decide from the held bytes. */
                        size_t need;
                        bool junk = s->held >= 4 && frag_le32(s->hold) != FRAG_MAGIC;
                        size_t want = junk ? len - pos : 0;
                        if (!junk) {
                                struct stream_item it;
                                if (s_decide(s->hold, s->held, false, &it, &need) == NEED_MORE)
                                        want = need > s->held ? need - s->held : 4;
                        }
                        if (want > len - pos)
                                want = len - pos;
                        if (s->held + want > HOLD_MAX)
                                want = HOLD_MAX - s->held;
                        if (s_reserve(s, s->held + want) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        memcpy(s->hold + s->held, d + pos, want);
                        s->held += want;
                        pos += want;
                        s->fed += want;
                        r = s_drain_held(s, false, cb, ctx, &need);
                        if (r)
                                break;
                        continue;
                }
                struct stream_item it;
                size_t need;
                if (s_decide(d + pos, len - pos, false, &it, &need) == NEED_MORE) {
                        size_t rest = len - pos;
                        if (s_reserve(s, rest) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        memcpy(s->hold, d + pos, rest);
                        s->held = rest;
                        s->base = s->fed;
                        s->fed += rest;
                        pos = len;
                        break;
                }
                it.offset = s->fed;
                pos += it.bytes;
                s->fed += it.bytes;
                r = cb(ctx, &it);
                if (r)
                        break;
        }
        if (used)
                *used = pos;
        return r;
}

int stream_finish(stream_t *s, stream_cb cb, void *ctx)
{
        size_t need;
        return s_drain_held(s, true, cb, ctx, &need);
}
