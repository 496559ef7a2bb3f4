/* SPDX-License-Identifier: Apache-2.0 */
/* builder: joins stream items into events by trigger number (proto/README.md
 * s.1) and diagnoses sources that are out of step.  Owns the open events, in
 * a pool of reusable slots; must not do I/O, log, or read a clock. */
#include "builder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Out-of-step diagnosis: decided events remembered (a power of two), a
 * source's disagreeing fragments remembered, disagreeing events in a row
 * before an offset is looked for, the largest offset tried, and the
 * agreeing samples an offset needs (with none against it). */
#define OOS_HISTORY     512
#define OOS_SAMPLES     16
#define OOS_STREAK      4
#define OOS_MAX_OFFSET  16
#define OOS_MIN_MATCHES 3
#define EMITTED_WINDOW  4096    /* triggers back from the latest decided one */

struct fdesc {
        size_t at;                      /* offset of the bytes in the slot's buffer */
        uint32_t bytes;
        uint32_t stream;
        uint64_t offset;                /* in its stream */
        uint64_t time;                  /* trigger_time as read */
        uint32_t bits;                  /* trigger_bits as read */
        uint32_t seq;                   /* arrival order in the builder */
        uint16_t flags;
        uint8_t source;
        bool good;
};

struct slot {
        uint32_t trigger;
        uint32_t status;                /* EV_DUPLICATE, EV_CORRUPT so far */
        uint64_t sources;               /* bit s: some fragment from s */
        uint64_t good;                  /* bit s: a good fragment from s */
        uint8_t *buf;                   /* the fragments' bytes, arrival order */
        size_t len, cap;
        struct fdesc *fr;               /* one per fragment, arrival order */
        size_t n, fr_cap;
        struct slot *next_free;
};

struct src {
        uint64_t seen_ms;               /* last trusted fragment, caller's clock */
        uint32_t last;                  /* latest trigger delivered (moved past) */
        uint32_t last_joined;           /* trigger of the last fragment put in an event */
        bool has_last, has_joined;
        bool ended;                     /* builder_source_ended() */
        /* out of step */
        uint32_t streak;                /* decided events in a row it disagreed in */
        uint32_t streak_first;          /* trigger of the first of them */
        uint32_t samp_trigger[OOS_SAMPLES];     /* ring of its disagreeing fragments */
        uint64_t samp_time[OOS_SAMPLES];
        bool diagnosed;                 /* this streak's offset found */
};

struct hist {
        uint32_t trigger;
        bool valid;                     /* ref holds the majority time */
        uint64_t ref;
};

struct builder {
        struct builder_config cfg;
        struct builder_sink sink;
        struct builder_counters c;
        struct src src[64];
        uint8_t expected_ids[64];       /* the expected sources, ascending */
        unsigned n_expected;
        struct slot **open;             /* deque sorted by trigger, [head] oldest */
        size_t open_cap, open_head, open_n;     /* open_cap a power of two */
        uint64_t open_bytes;
        struct slot *free_slots;
        bool has_decided;
        uint32_t decided;               /* trigger of the latest decided event */
        /* bit T % EMITTED_WINDOW: trigger T became an event, for the
         * EMITTED_WINDOW triggers up to decided (a late fragment of a
         * trigger that has no event is counted on its own) */
        uint64_t emitted[EMITTED_WINDOW / 64];
        uint64_t timed_out;             /* s_decidable's silent sources */
        bool has_now;
        uint64_t now_ms;
        uint32_t seq;
        struct built_frag *out;         /* emission scratch */
        size_t out_cap;
        const uint8_t **tag;
        size_t tag_cap;
        struct hist hist[OOS_HISTORY];
        struct builder_out_of_step oos[64];
        size_t n_oos;
        char reason[160];
};

static const char *const s_status_names[EV_STATUS_COUNT] = {
        "complete", "incomplete", "duplicate", "corrupt",
        "time_mismatch", "truncated", "busy_seen", "test_pattern",
};

const char *ev_status_name(unsigned bit)
{
        return bit < EV_STATUS_COUNT ? s_status_names[bit] : "?";
}

void builder_config_default(struct builder_config *cfg)
{
        *cfg = (struct builder_config){
                .expected = 0,
                .build_timeout_ms = 500,
                .max_open_events = 4096,
                .max_open_bytes = 256ull << 20,
                .time_tolerance_ticks = 0,
        };
}

/* RFC 1982 serial arithmetic: a comes after b. */
static inline bool s_later(uint32_t a, uint32_t b)
{
        uint32_t d = a - b;
        return d != 0 && d < 0x80000000u;
}

static inline uint64_t s_absdiff(uint64_t a, uint64_t b)
{
        return a > b ? a - b : b - a;
}

builder_t *builder_new(const struct builder_config *cfg, const struct builder_sink *sink)
{
        builder_t *b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        b->cfg = *cfg;
        if (sink)
                b->sink = *sink;
        for (unsigned s = 0; s < 64; s++)
                if (cfg->expected >> s & 1)
                        b->expected_ids[b->n_expected++] = (uint8_t)s;
        b->open_cap = 64;
        b->open = calloc(b->open_cap, sizeof(*b->open));
        if (!b->open)
                return builder_free(b);
        return b;
}

static void s_slot_free(struct slot *sl)
{
        free(sl->buf);
        free(sl->fr);
        free(sl);
}

builder_t *builder_free(builder_t *b)
{
        if (!b)
                return NULL;
        for (size_t i = 0; b->open && i < b->open_n; i++)
                s_slot_free(b->open[(b->open_head + i) & (b->open_cap - 1)]);
        while (b->free_slots) {
                struct slot *n = b->free_slots->next_free;
                s_slot_free(b->free_slots);
                b->free_slots = n;
        }
        free(b->open);
        free(b->out);
        free(b->tag);
        free(b);
        return NULL;
}

void builder_get_counters(const builder_t *b, struct builder_counters *ret)
{
        *ret = b->c;
}

size_t builder_out_of_step(const builder_t *b, const struct builder_out_of_step **ret)
{
        if (ret)
                *ret = b->oos;
        return b->n_oos;
}

size_t builder_open_events(const builder_t *b)
{
        return b->open_n;
}

uint64_t builder_open_bytes(const builder_t *b)
{
        return b->open_bytes;
}

/* ---- the open events: a deque sorted by trigger --------------------------- */

static inline struct slot *s_at(const builder_t *b, size_t i)
{
        return b->open[(b->open_head + i) & (b->open_cap - 1)];
}

/* Index of the open event for trigger t, or -1.  Triggers are kept ordered
 * by their distance from the oldest one, which is monotone along the deque. */
static long s_find(const builder_t *b, uint32_t t)
{
        if (!b->open_n)
                return -1;
        uint32_t front = s_at(b, 0)->trigger;
        uint32_t key = t - front;
        size_t lo = 0, hi = b->open_n;
        if (s_at(b, b->open_n - 1)->trigger == t)
                return (long)b->open_n - 1;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                uint32_t k = s_at(b, mid)->trigger - front;
                if (k < key)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < b->open_n && s_at(b, lo)->trigger == t)
                return (long)lo;
        return -1;
}

static int s_open_grow(builder_t *b)
{
        size_t cap = b->open_cap * 2;
        struct slot **p = malloc(cap * sizeof(*p));
        if (!p)
                return -1;
        for (size_t i = 0; i < b->open_n; i++)
                p[i] = s_at(b, i);
        free(b->open);
        b->open = p;
        b->open_cap = cap;
        b->open_head = 0;
        return 0;
}

static int s_open_insert(builder_t *b, struct slot *sl)
{
        size_t mask;
        if (b->open_n == b->open_cap && s_open_grow(b) < 0)
                return -1;
        mask = b->open_cap - 1;
        if (!b->open_n || s_later(s_at(b, 0)->trigger, sl->trigger)) {
                b->open_head = (b->open_head - 1) & mask;
                b->open[b->open_head] = sl;
                b->open_n++;
                return 0;
        }
        uint32_t front = s_at(b, 0)->trigger;
        uint32_t key = sl->trigger - front;
        size_t pos = b->open_n;
        while (pos > 0 && (uint32_t)(s_at(b, pos - 1)->trigger - front) > key)
                pos--;
        for (size_t i = b->open_n; i > pos; i--)
                b->open[(b->open_head + i) & mask] = b->open[(b->open_head + i - 1) & mask];
        b->open[(b->open_head + pos) & mask] = sl;
        b->open_n++;
        return 0;
}

static struct slot *s_slot_get(builder_t *b, uint32_t trigger)
{
        struct slot *sl = b->free_slots;
        if (sl)
                b->free_slots = sl->next_free;
        else if (!(sl = calloc(1, sizeof(*sl))))
                return NULL;
        sl->trigger = trigger;
        sl->status = 0;
        sl->sources = sl->good = 0;
        sl->len = sl->n = 0;
        sl->next_free = NULL;
        return sl;
}

static void s_slot_put(builder_t *b, struct slot *sl)
{
        sl->next_free = b->free_slots;
        b->free_slots = sl;
}

/* ---- deciding ------------------------------------------------------------- */

/* Remembers the event's reference time (the one most of its sources carry)
 * and looks for the offset of each source that keeps disagreeing with it.
 * first_good[s]: source s's first good fragment in the event, or NULL. */
static void s_out_of_step(builder_t *b, const struct slot *sl, const struct fdesc *first_good[64])
{
        uint64_t tol = b->cfg.time_tolerance_ticks;
        uint8_t ids[64];
        unsigned n = 0;
        struct hist *h = &b->hist[sl->trigger & (OOS_HISTORY - 1)];

        for (uint64_t m = sl->good; m; m &= m - 1)
                ids[n++] = (uint8_t)__builtin_ctzll(m);
        h->trigger = sl->trigger;
        h->valid = false;
        if (!n)
                return;
        /* The time most sources carry is the event's reference. */
        unsigned best = 0, best_n = 0;
        for (unsigned i = 0; i < n; i++) {
                unsigned k = 0;
                for (unsigned j = 0; j < n; j++)
                        k += s_absdiff(first_good[ids[i]]->time, first_good[ids[j]]->time) <= tol;
                if (k > best_n) {
                        best_n = k;
                        best = i;
                }
        }
        if (2 * best_n <= n)
                return;
        h->valid = true;
        h->ref = first_good[ids[best]]->time;
        if (n < 3)
                return;
        for (unsigned i = 0; i < n; i++) {
                struct src *st = &b->src[ids[i]];
                uint64_t t = first_good[ids[i]]->time;
                if (s_absdiff(t, h->ref) <= tol) {
                        st->streak = 0;
                        st->diagnosed = false;
                        continue;
                }
                if (!st->streak)
                        st->streak_first = sl->trigger;
                st->samp_trigger[st->streak % OOS_SAMPLES] = sl->trigger;
                st->samp_time[st->streak % OOS_SAMPLES] = t;
                st->streak++;
                if (st->diagnosed || st->streak < OOS_STREAK)
                        continue;
                unsigned m = st->streak < OOS_SAMPLES ? st->streak : OOS_SAMPLES;
                for (int a = 1; a <= OOS_MAX_OFFSET && !st->diagnosed; a++) {
                        for (int sign = 1; sign >= -1; sign -= 2) {
                                int32_t k = a * sign;
                                unsigned good = 0, bad = 0;
                                for (unsigned j = 0; j < m; j++) {
                                        uint32_t tt = st->samp_trigger[j] + (uint32_t)k;
                                        const struct hist *r = &b->hist[tt & (OOS_HISTORY - 1)];
                                        if (r->trigger != tt || !r->valid)
                                                continue;
                                        if (s_absdiff(st->samp_time[j], r->ref) <= tol)
                                                good++;
                                        else
                                                bad++;
                                }
                                if (good >= OOS_MIN_MATCHES && !bad) {
                                        size_t e = 0;
                                        while (e < b->n_oos && b->oos[e].source != ids[i])
                                                e++;
                                        if (e == b->n_oos)
                                                b->n_oos++;
                                        b->oos[e] = (struct builder_out_of_step){
                                                .source = ids[i], .offset = k,
                                                .first_trigger = st->streak_first,
                                        };
                                        b->c.out_of_step++;
                                        st->diagnosed = true;
                                        break;
                                }
                        }
                }
        }
}

/* Hands a decided event to the sink (scratch space was reserved when its
 * fragments came in, so this cannot fail). */
static void s_emit(builder_t *b, struct slot *sl)
{
        const struct fdesc *first_good[64] = { 0 };
        uint64_t tmin = UINT64_MAX, tmax = 0;
        uint32_t status = sl->status;
        size_t n = sl->n, n_tag = 0;

        /* Ascending source, then arrival: insertion sort (few, nearly sorted). */
        for (size_t i = 1; i < n; i++) {
                struct fdesc x = sl->fr[i];
                size_t j = i;
                while (j > 0 && (sl->fr[j - 1].source > x.source ||
                                 (sl->fr[j - 1].source == x.source && sl->fr[j - 1].seq > x.seq))) {
                        sl->fr[j] = sl->fr[j - 1];
                        j--;
                }
                sl->fr[j] = x;
        }
        for (size_t i = 0; i < n; i++) {
                const struct fdesc *f = &sl->fr[i];
                b->out[i] = (struct built_frag){
                        .data = sl->buf + f->at, .bytes = f->bytes, .source = f->source,
                        .flags = f->flags, .good = f->good, .stream = f->stream,
                        .offset = f->offset,
                };
                if (!f->good)
                        continue;
                if (f->time < tmin)
                        tmin = f->time;
                if (f->time > tmax)
                        tmax = f->time;
                if (f->flags & FRAG_TRUNCATED)
                        status |= EV_TRUNCATED;
                if (f->flags & FRAG_BUSY_SEEN)
                        status |= EV_BUSY_SEEN;
                if (f->flags & FRAG_TEST_PATTERN)
                        status |= EV_TEST_PATTERN;
                if (!first_good[f->source]) {
                        first_good[f->source] = f;
                        if (!(f->flags & FRAG_TEST_PATTERN))
                                b->tag[n_tag++] = sl->buf + f->at;
                }
        }
        if (sl->good && tmax - tmin > b->cfg.time_tolerance_ticks)
                status |= EV_TIME_MISMATCH;

        struct built_event ev = {
                .trigger = sl->trigger,
                .sources = sl->sources,
                .missing = b->cfg.expected & ~sl->good,
                .frags = b->out,
                .n_frags = n,
                .tag_frags = b->tag,
                .n_tag_frags = n_tag,
        };
        status |= ev.missing ? EV_INCOMPLETE : EV_COMPLETE;
        ev.status = status;
        /* The first good fragment of the lowest source that has one, else
         * the first fragment of the lowest source. */
        const struct fdesc *pick = n ? &sl->fr[0] : NULL;
        for (size_t i = 0; i < n; i++)
                if (sl->fr[i].good) {
                        pick = &sl->fr[i];
                        break;
                }
        if (pick) {
                ev.time_ticks = pick->time;
                ev.trigger_bits = pick->bits;
        }

        b->c.events++;
        if (status & EV_COMPLETE)
                b->c.complete++;
        else
                b->c.incomplete++;
        b->c.duplicate += !!(status & EV_DUPLICATE);
        b->c.corrupt_events += !!(status & EV_CORRUPT);
        b->c.time_mismatch += !!(status & EV_TIME_MISMATCH);
        b->c.truncated += !!(status & EV_TRUNCATED);
        b->c.busy_seen += !!(status & EV_BUSY_SEEN);
        b->c.test_pattern += !!(status & EV_TEST_PATTERN);
        for (uint64_t m = ev.missing; m; m &= m - 1)
                b->c.per_source_missing[__builtin_ctzll(m)]++;
        s_out_of_step(b, sl, first_good);
        b->c.bytes_out += sl->len;
        if (b->sink.event)
                b->sink.event(b->sink.ctx, &ev);
}

/* Trigger t (later than every decided one) becomes an event: the triggers
 * skipped between the last decided one and t have none. */
static void s_mark_emitted(builder_t *b, uint32_t t)
{
        uint32_t gap = b->has_decided ? t - b->decided : EMITTED_WINDOW;
        if (gap >= EMITTED_WINDOW) {
                memset(b->emitted, 0, sizeof b->emitted);
        } else {
                for (uint32_t x = b->decided + 1; x != t; x++)
                        b->emitted[x / 64 % (EMITTED_WINDOW / 64)] &= ~(1ull << (x % 64));
        }
        b->emitted[t / 64 % (EMITTED_WINDOW / 64)] |= 1ull << (t % 64);
}

/* Did trigger t (not later than the last decided one) become an event?
 * True when t is too old to tell. */
static bool s_was_emitted(const builder_t *b, uint32_t t)
{
        if (!b->has_decided || b->decided - t >= EMITTED_WINDOW)
                return true;
        return b->emitted[t / 64 % (EMITTED_WINDOW / 64)] >> (t % 64) & 1;
}

/* Decides the oldest open event. */
static void s_decide_front(builder_t *b)
{
        struct slot *sl = s_at(b, 0);
        b->open_head = (b->open_head + 1) & (b->open_cap - 1);
        b->open_n--;
        b->open_bytes -= sl->len;
        s_mark_emitted(b, sl->trigger);
        b->has_decided = true;
        b->decided = sl->trigger;
        s_emit(b, sl);
        s_slot_put(b, sl);
}

/* Has every expected source moved past t, ended, or (live, with timeouts)
 * gone silent?  b->timed_out gets the silent ones. */
static bool s_decidable(builder_t *b, uint32_t t, bool timeouts, bool *by_timeout)
{
        *by_timeout = false;
        b->timed_out = 0;
        for (unsigned i = 0; i < b->n_expected; i++) {
                const struct src *st = &b->src[b->expected_ids[i]];
                if (st->ended || (st->has_last && s_later(st->last, t)))
                        continue;
                if (timeouts && b->cfg.build_timeout_ms && b->has_now &&
                    b->now_ms - st->seen_ms >= b->cfg.build_timeout_ms) {
                        *by_timeout = true;
                        b->timed_out |= 1ull << b->expected_ids[i];
                        continue;
                }
                return false;
        }
        return true;
}

/* Decides what is ready; with timeouts also what waits only on sources
 * silent for build_timeout_ms.  Only builder_tick() applies timeouts: the
 * caller calls it after it took every item its sources had delivered, so a
 * clock that jumped (a stopped process) cannot decide a later trigger while
 * an earlier one's fragments wait to be taken. */
static void s_decide_ready(builder_t *b, bool timeouts)
{
        bool by_timeout;
        while (b->open_n && s_decidable(b, s_at(b, 0)->trigger, timeouts, &by_timeout)) {
                if (by_timeout) {
                        b->c.forced_by_timeout++;
                        for (uint64_t m = b->timed_out; m; m &= m - 1)
                                b->c.per_source_timeouts[__builtin_ctzll(m)]++;
                }
                s_decide_front(b);
        }
        while (b->cfg.max_open_events && b->open_n > b->cfg.max_open_events) {
                b->c.forced_by_events++;
                s_decide_front(b);
        }
        while (b->cfg.max_open_bytes && b->open_n && b->open_bytes > b->cfg.max_open_bytes) {
                b->c.forced_by_bytes++;
                s_decide_front(b);
        }
}

static void s_set_now(builder_t *b, uint64_t now_ms)
{
        if (!b->has_now) {
                for (unsigned s = 0; s < 64; s++)
                        b->src[s].seen_ms = now_ms;
                b->has_now = true;
        }
        if (now_ms > b->now_ms)
                b->now_ms = now_ms;
}

/* ---- taking items --------------------------------------------------------- */

static void s_late(builder_t *b, uint32_t stream, const struct stream_item *it)
{
        struct built_late l = {
                .stream = stream, .offset = it->offset, .source = it->hdr.source_id,
                .trigger = it->hdr.trigger, .data = it->data, .bytes = (uint32_t)it->bytes,
        };
        b->c.late++;
        b->c.per_source_late[it->hdr.source_id]++;
        b->c.bytes_out += it->bytes;
        if (b->sink.late)
                b->sink.late(b->sink.ctx, &l);
}

static void s_junk(builder_t *b, uint32_t stream, const struct stream_item *it)
{
        struct built_junk j = {
                .stream = stream, .offset = it->offset, .data = it->data, .bytes = it->bytes,
                .reason = it->kind == STREAM_JUNK ? "no header magic"
                        : frag_error_format(&it->err, b->reason, sizeof(b->reason)),
        };
        b->c.junk++;
        b->c.junk_bytes += it->bytes;
        b->c.bytes_out += it->bytes;
        if (b->sink.junk)
                b->sink.junk(b->sink.ctx, &j);
}

static void s_corrupt(builder_t *b, uint32_t stream, const struct stream_item *it)
{
        struct built_corrupt c = {
                .stream = stream, .offset = it->offset, .source = it->hdr.source_id,
                .trigger = it->hdr.trigger, .data = it->data, .bytes = (uint32_t)it->bytes,
                .reason = it->err.code == FRAG_OK ? "no memory to build its event"
                        : frag_error_format(&it->err, b->reason, sizeof(b->reason)),
        };
        b->c.corrupt++;
        b->c.bytes_out += it->bytes;
        if (b->sink.corrupt)
                b->sink.corrupt(b->sink.ctx, &c);
}

/* Makes the array at *pp (a pointer to any object pointer) hold want
 * elements of elem bytes, doubling from first. */
static int s_reserve(void *pp, size_t *cap, size_t want, size_t elem, size_t first)
{
        void *p, *q;
        size_t c;

        if (want <= *cap)
                return 0;
        c = *cap ? *cap : first;
        while (c < want)
                c *= 2;
        memcpy(&p, pp, sizeof(p));
        if (!(q = realloc(p, c * elem)))
                return -1;
        memcpy(pp, &q, sizeof(q));
        *cap = c;
        return 0;
}

/* A fragment whose header is trusted, from its source's stream. */
static int s_deliver(builder_t *b, uint32_t stream, const struct stream_item *it, bool good)
{
        const struct frag_header *h = &it->hdr;
        struct src *st = &b->src[h->source_id];
        uint32_t t = h->trigger;
        uint64_t bit = 1ull << h->source_id;

        if (st->has_last && s_later(st->last, t)) {
                s_late(b, stream, it);
                return 0;
        }
        if (b->has_decided && !s_later(t, b->decided)) {
                /* Its event was decided early (a limit or a timeout). */
                st->last = t;
                st->has_last = true;
                if (!s_was_emitted(b, t)) {
                        /* ...and without it: the trigger has no event */
                        b->c.late_without_event++;
                        b->c.per_source_late_without_event[h->source_id]++;
                }
                s_late(b, stream, it);
                return 0;
        }
        long i = s_find(b, t);
        struct slot *sl;
        if (i >= 0) {
                sl = s_at(b, (size_t)i);
        } else {
                if (!(sl = s_slot_get(b, t)))
                        return -1;
                if (s_open_insert(b, sl) < 0) {
                        s_slot_put(b, sl);
                        return -1;
                }
        }
        if (s_reserve(&sl->buf, &sl->cap, sl->len + it->bytes, 1, 4096) < 0 ||
            s_reserve(&sl->fr, &sl->fr_cap, sl->n + 1, sizeof(*sl->fr), 8) < 0 ||
            s_reserve(&b->out, &b->out_cap, sl->n + 1, sizeof(*b->out), 16) < 0 ||
            s_reserve(&b->tag, &b->tag_cap, sl->n + 1, sizeof(*b->tag), 16) < 0) {
                if (!sl->n) {
                        /* Undo the empty event just opened: it is the one at t. */
                        long k = s_find(b, t);
                        size_t mask = b->open_cap - 1;
                        for (size_t j = (size_t)k; j + 1 < b->open_n; j++)
                                b->open[(b->open_head + j) & mask] =
                                        b->open[(b->open_head + j + 1) & mask];
                        b->open_n--;
                        s_slot_put(b, sl);
                }
                return -1;
        }
        if (sl->sources & bit)
                sl->status |= EV_DUPLICATE;
        if (!good)
                sl->status |= EV_CORRUPT;
        sl->sources |= bit;
        if (good)
                sl->good |= bit;
        memcpy(sl->buf + sl->len, it->data, it->bytes);
        sl->fr[sl->n++] = (struct fdesc){
                .at = sl->len, .bytes = (uint32_t)it->bytes, .stream = stream,
                .offset = it->offset, .time = h->trigger_time, .bits = h->trigger_bits,
                .seq = b->seq++, .flags = h->flags, .source = h->source_id, .good = good,
        };
        sl->len += it->bytes;
        b->open_bytes += it->bytes;
        st->last = t;
        st->has_last = true;
        st->last_joined = t;
        st->has_joined = true;
        return 0;
}

int builder_add(builder_t *b, uint32_t stream, const struct stream_item *item, uint64_t now_ms)
{
        const struct frag_header *h = &item->hdr;
        int r = 0;

        s_set_now(b, now_ms);
        b->c.bytes_in += item->bytes;
        switch (item->kind) {
        case STREAM_FRAGMENT:
        case STREAM_BAD_FRAGMENT: {
                bool good = item->kind == STREAM_FRAGMENT;
                struct src *st = &b->src[h->source_id];
                b->c.fragments++;
                if (good)
                        b->c.good_fragments++;
                if (!good && !item->crc_ok &&
                    !((b->cfg.expected >> h->source_id & 1) && st->has_joined &&
                      h->trigger == st->last_joined + 1)) {
                        s_corrupt(b, stream, item);
                        break;
                }
                b->c.per_source_fragments[h->source_id]++;
                st->seen_ms = b->now_ms;
                if (s_deliver(b, stream, item, good) < 0) {
                        /* Out of memory: the bytes still go out, as corrupt. */
                        s_corrupt(b, stream, item);
                        r = -ENOMEM;
                }
                break;
        }
        case STREAM_CUT_FRAGMENT:
        case STREAM_BAD_MAGIC:
        case STREAM_JUNK:
                s_junk(b, stream, item);
                break;
        }
        s_decide_ready(b, false);
        return r;
}

void builder_source_ended(builder_t *b, unsigned source)
{
        if (source < 64)
                b->src[source].ended = true;
        s_decide_ready(b, false);
}

void builder_tick(builder_t *b, uint64_t now_ms)
{
        s_set_now(b, now_ms);
        s_decide_ready(b, true);
}

void builder_flush(builder_t *b)
{
        while (b->open_n)
                s_decide_front(b);
}
