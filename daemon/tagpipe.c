/* SPDX-License-Identifier: Apache-2.0 */
/* tagpipe: two SPSC rings between the caller's thread (A) and the tagging
 * thread (B).  A packs each event's head (record_event_head_write) into
 * the ring to_tag, with where the tagger's fragments are in it; late, junk
 * and corrupt records go the same way, packed whole, so that order is kept.
 * B tags, completes the record (record_event_finish) and passes every
 * message on in the ring tagged; A emits them.  A never sleeps on a full
 * to_tag without first emptying tagged, so neither side can wait on the
 * other for ever.  Wake-ups are batched: one per BATCH messages, and
 * whenever a side runs dry or the caller polls.  An event too big for the
 * rings is tagged by A once nothing is in flight (B is then idle, so its
 * tagger and encoder are A's for that moment). */
#include "tagpipe.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "tagger.h"

#define RING_BYTES      (16u << 20)
#define BATCH           256u

enum msg_kind {
        MSG_EVENT = 1,                  /* to_tag: a head to tag; tagged: the record */
        MSG_RECORD,                     /* a whole record that needs no tagging */
        MSG_HEAP,                       /* tagged: an event record too big for the ring */
        MSG_LOST,                       /* tagged: packing failed, the record is lost */
        MSG_END,
};

struct msg_hdr {
        uint16_t kind;
        uint16_t no_memory;             /* tagged: the tagger ran out of memory */
        uint32_t aux;                   /* to_tag: tag fragment offsets that follow;
                                         * tagged: the event's fired tags */
        uint64_t len;                   /* bytes of the record (or head) */
};

struct tagpipe {
        tagpipe_emit_fn emit;
        void *ctx;
        record_enc_t *enc;              /* A: the caller's */
        tagger_t *tagger;               /* B (or A when B is idle); NULL: no tagging */
        record_enc_t *enc_b;            /* B (or A when B is idle): packs events */
        ring_t *to_tag, *tagged;
        pthread_t thread;
        bool threaded;                  /* the thread runs */
        int error;                      /* A: first failure */
        uint64_t in_flight;             /* A: messages sent, not yet back */
        unsigned unnotified;            /* A: commits to to_tag since the last wake */
        uint8_t *scratch;               /* A without a thread: a packed record */
        size_t scratch_cap;
};

/* Where a message's record (or head) starts: after the header and the
 * tag fragment offsets, 8-aligned. */
static size_t s_body_at(uint32_t n_tag)
{
        return sizeof(struct msg_hdr) + (((size_t)n_tag * 4 + 7) & ~(size_t)7);
}

static void s_sleep_on(ring_t *r)
{
        if (ring_prepare_sleep(r)) {
                struct pollfd p = { ring_wake_fd(r), POLLIN, 0 };

                while (poll(&p, 1, -1) < 0 && errno == EINTR)
                        ;
                ring_clear_wake(r);
        }
}

static void s_fail(tagpipe_t *p, int err)
{
        if (!p->error)
                p->error = err;
}

/* ---- thread B ---- */

/* Passes a message on to A; an event record too big for the ring goes as
 * a heap copy (rare: a huge event's tag quantities). */
static void s_forward(tagpipe_t *p, struct msg_hdr h, const void *rec, unsigned *unnotified)
{
        size_t len = h.len, n;
        void *heap = NULL;
        uint8_t *m;

        if (h.kind == MSG_EVENT && sizeof(h) + len > ring_max_message(p->tagged)) {
                heap = malloc(len);
                if (heap) {
                        memcpy(heap, rec, len);
                        h.kind = MSG_HEAP;
                        rec = &heap;
                        len = sizeof(heap);
                } else {
                        h.kind = MSG_LOST;
                }
        }
        if (h.kind == MSG_LOST || h.kind == MSG_END)
                len = 0;
        n = sizeof(h) + len;
        while (!(m = ring_reserve(p->tagged, n))) {
                ring_notify(p->tagged);
                *unnotified = 0;
                ring_wait_room(p->tagged, n, -1);
        }
        memcpy(m, &h, sizeof(h));
        if (len)
                memcpy(m + sizeof(h), rec, len);
        ring_commit_quiet(p->tagged, n);
        if (++*unnotified >= BATCH || h.kind == MSG_END) {
                ring_notify(p->tagged);
                *unnotified = 0;
        }
}

static void *s_thread(void *arg)
{
        tagpipe_t *p = arg;
        unsigned unnotified = 0;

        for (;;) {
                const uint8_t *m;
                struct msg_hdr h;
                size_t len;

                m = ring_peek(p->to_tag, &len);
                if (!m) {
                        if (unnotified) {
                                ring_notify(p->tagged);
                                unnotified = 0;
                        }
                        s_sleep_on(p->to_tag);
                        continue;
                }
                memcpy(&h, m, sizeof(h));
                if (h.kind == MSG_EVENT) {
                        const uint8_t *head = m + s_body_at(h.aux);
                        const uint8_t *frags[64];
                        struct tag_input in = { frags, h.aux };
                        struct tag_result res;
                        const uint8_t *rec;
                        size_t rec_len = 0;

                        for (uint32_t k = 0; k < h.aux; k++) {
                                uint32_t off;

                                memcpy(&off, m + sizeof(h) + 4 * (size_t)k, 4);
                                frags[k] = head + off;
                        }
                        bool no_memory = tagger_run(p->tagger, &in, &res) < 0;
                        rec = record_event_finish(p->enc_b, head, h.len, &res, &rec_len);
                        struct msg_hdr out = { rec ? MSG_EVENT : MSG_LOST, no_memory,
                                               res.fired, rec_len };
                        s_forward(p, out, rec, &unnotified);
                } else {
                        s_forward(p, h, m + sizeof(h), &unnotified);
                }
                ring_release(p->to_tag);
                if (h.kind == MSG_END)
                        return NULL;
        }
}

/* ---- thread A ---- */

static void s_emit_event(tagpipe_t *p, const uint8_t *rec, size_t len, uint32_t fired)
{
        record_count_fired(p->enc, fired);
        p->emit(p->ctx, rec, len, true, fired);
}

/* Emits every message B has passed back; with all, waits until nothing is
 * in flight. */
static void s_drain(tagpipe_t *p, bool all)
{
        for (;;) {
                const uint8_t *m;
                size_t len;

                while ((m = ring_peek(p->tagged, &len))) {
                        struct msg_hdr h;
                        void *heap;

                        memcpy(&h, m, sizeof(h));
                        if (h.no_memory)
                                s_fail(p, -ENOMEM);
                        switch (h.kind) {
                        case MSG_EVENT:
                                s_emit_event(p, m + sizeof(h), h.len, h.aux);
                                break;
                        case MSG_RECORD:
                                p->emit(p->ctx, m + sizeof(h), h.len, false, 0);
                                break;
                        case MSG_HEAP:
                                memcpy(&heap, m + sizeof(h), sizeof(heap));
                                s_emit_event(p, heap, h.len, h.aux);
                                free(heap);
                                break;
                        case MSG_LOST:
                                s_fail(p, -ENOMEM);
                                break;
                        default:
                                break;
                        }
                        ring_release(p->tagged);
                        p->in_flight--;
                }
                if (!all || p->in_flight == 0)
                        return;
                ring_notify(p->to_tag);
                p->unnotified = 0;
                s_sleep_on(p->tagged);
        }
}

/* Room for n bytes in to_tag, or NULL when a message of n bytes never
 * fits. */
static uint8_t *s_reserve(tagpipe_t *p, size_t n)
{
        uint8_t *m;

        if (n > ring_max_message(p->to_tag))
                return NULL;
        while (!(m = ring_reserve(p->to_tag, n))) {
                ring_notify(p->to_tag);
                p->unnotified = 0;
                s_drain(p, false);
                m = ring_reserve(p->to_tag, n);
                if (m)
                        break;
                s_sleep_on(p->tagged);
        }
        return m;
}

static void s_commit(tagpipe_t *p, size_t n)
{
        ring_commit_quiet(p->to_tag, n);
        p->in_flight++;
        if (++p->unnotified >= BATCH) {
                ring_notify(p->to_tag);
                p->unnotified = 0;
        }
        s_drain(p, false);
}

/* Tags, packs and emits ev on this thread (B, if any, is idle). */
static void s_event_here(tagpipe_t *p, const struct built_event *ev)
{
        struct tag_input in = { ev->tag_frags, ev->n_tag_frags };
        struct tag_result res;
        const uint8_t *rec;
        size_t len;

        if (p->threaded)
                s_drain(p, true);
        if (p->tagger && tagger_run(p->tagger, &in, &res) < 0)
                s_fail(p, -ENOMEM);
        rec = record_event_pack(p->enc_b, ev, p->tagger ? &res : NULL, &len);
        if (!rec) {
                s_fail(p, -ENOMEM);
                return;
        }
        s_emit_event(p, rec, len, p->tagger ? res.fired : 0);
}

static void s_event(void *ctx, const struct built_event *ev)
{
        tagpipe_t *p = ctx;
        size_t head_len, at;
        uint8_t *m;

        if (!p->threaded || ev->n_tag_frags > 64) {
                s_event_here(p, ev);
                return;
        }
        head_len = record_event_head_size(p->enc, ev);
        if (head_len == 0) {
                s_fail(p, -ENOMEM);
                return;
        }
        at = s_body_at((uint32_t)ev->n_tag_frags);
        m = s_reserve(p, at + head_len);
        if (!m) {
                s_event_here(p, ev);
                return;
        }
        memcpy(m, &(struct msg_hdr){ MSG_EVENT, 0, (uint32_t)ev->n_tag_frags, head_len },
               sizeof(struct msg_hdr));
        record_event_head_write(p->enc, ev, m + at,
                                (uint32_t *)(void *)(m + sizeof(struct msg_hdr)));
        s_commit(p, at + head_len);
}

static void s_record(tagpipe_t *p, const Darkdaq__Record *rec)
{
        size_t n;
        uint8_t *m;

        if (!rec) {
                s_fail(p, -ENOMEM);
                return;
        }
        n = protobuf_c_message_get_packed_size(&rec->base);
        m = p->threaded ? s_reserve(p, sizeof(struct msg_hdr) + n) : NULL;
        if (m) {
                memcpy(m, &(struct msg_hdr){ MSG_RECORD, 0, 0, n }, sizeof(struct msg_hdr));
                protobuf_c_message_pack(&rec->base, m + sizeof(struct msg_hdr));
                s_commit(p, sizeof(struct msg_hdr) + n);
                return;
        }
        if (p->threaded)
                s_drain(p, true);
        if (n > p->scratch_cap) {
                uint8_t *s = realloc(p->scratch, n);

                if (!s) {
                        s_fail(p, -ENOMEM);
                        return;
                }
                p->scratch = s;
                p->scratch_cap = n;
        }
        protobuf_c_message_pack(&rec->base, p->scratch);
        p->emit(p->ctx, p->scratch, n, false, 0);
}

static void s_late(void *ctx, const struct built_late *l)
{
        tagpipe_t *p = ctx;

        s_record(p, record_late(p->enc, l));
}

static void s_junk(void *ctx, const struct built_junk *j)
{
        tagpipe_t *p = ctx;

        s_record(p, record_junk(p->enc, j));
}

static void s_corrupt(void *ctx, const struct built_corrupt *c)
{
        tagpipe_t *p = ctx;

        s_record(p, record_corrupt(p->enc, c));
}

int tagpipe_new(tagpipe_t **ret, const struct tagpipe_options *o)
{
        tagpipe_t *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        p->emit = o->emit;
        p->ctx = o->ctx;
        p->enc = o->enc;
        p->enc_b = record_enc_new();
        if (o->physics)
                p->tagger = tagger_new(o->physics);
        if (!p->enc_b || (o->physics && !p->tagger)) {
                tagpipe_free(p);
                return -ENOMEM;
        }
        if (p->tagger && !o->no_thread) {
                size_t bytes = o->ring_bytes ? o->ring_bytes : RING_BYTES;

                p->to_tag = ring_new(bytes);
                p->tagged = ring_new(bytes);
                if (!p->to_tag || !p->tagged) {
                        tagpipe_free(p);
                        return -ENOMEM;
                }
                sigset_t all, old;

                /* signals stay with the caller's thread (the daemon's signalfd) */
                sigfillset(&all);
                pthread_sigmask(SIG_BLOCK, &all, &old);
                r = pthread_create(&p->thread, NULL, s_thread, p);
                pthread_sigmask(SIG_SETMASK, &old, NULL);
                if (r) {
                        tagpipe_free(p);
                        return -r;
                }
                pthread_setname_np(p->thread, "darkdaq-tagger");   /* for top -H */
                p->threaded = true;
        }
        *ret = p;
        return 0;
}

struct builder_sink tagpipe_sink(tagpipe_t *p)
{
        return (struct builder_sink){ p, s_event, s_late, s_junk, s_corrupt };
}

void tagpipe_poll(tagpipe_t *p)
{
        if (!p->threaded)
                return;
        if (p->unnotified) {
                ring_notify(p->to_tag);
                p->unnotified = 0;
        }
        s_drain(p, false);
}

int tagpipe_wake_fd(const tagpipe_t *p)
{
        return p->threaded ? ring_wake_fd(p->tagged) : -1;
}

bool tagpipe_prepare_sleep(tagpipe_t *p)
{
        if (!p->threaded)
                return true;
        if (p->unnotified) {
                ring_notify(p->to_tag);
                p->unnotified = 0;
        }
        return ring_prepare_sleep(p->tagged);
}

void tagpipe_clear_wake(tagpipe_t *p)
{
        if (p->threaded)
                ring_clear_wake(p->tagged);
}

void tagpipe_flush(tagpipe_t *p)
{
        if (p->threaded)
                s_drain(p, true);
}

int tagpipe_error(const tagpipe_t *p)
{
        return p->error;
}

tagpipe_t *tagpipe_free(tagpipe_t *p)
{
        if (!p)
                return NULL;
        if (p->threaded) {
                uint8_t *m = s_reserve(p, sizeof(struct msg_hdr));

                memcpy(m, &(struct msg_hdr){ MSG_END, 0, 0, 0 }, sizeof(struct msg_hdr));
                ring_commit(p->to_tag, sizeof(struct msg_hdr));
                p->in_flight++;
                s_drain(p, true);
                pthread_join(p->thread, NULL);
        }
        ring_free(p->to_tag);
        ring_free(p->tagged);
        tagger_free(p->tagger);
        record_enc_free(p->enc_b);
        free(p->scratch);
        free(p);
        return NULL;
}
