/* replay_out: two SPSC rings between the caller's thread (A) and the
 * tagging thread (B).  A packs each event's head (record_event_head_write)
 * into the ring to_tag, with where the tagger's fragments are in it; late,
 * junk and corrupt records go the same way, packed whole, so that order is
 * kept.  B tags, completes the record (record_event_finish) and passes
 * every message on in the ring tagged; A writes them to the run file.  A
 * never sleeps on a full to_tag without first emptying tagged, so neither
 * side can wait on the other forever.  Wake-ups are batched (one per
 * BATCH messages, and whenever a side runs dry).  An event too big for
 * the rings is tagged and written by A once B has nothing in flight (B is
 * then idle, so its tagger and encoder are A's for that moment). */
#include "replay_out.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "tagger.h"

#define RING_BYTES      (16u << 20)
#define BATCH           32u

enum msg_kind {
        MSG_EVENT = 1,                  /* to_tag: head to tag; tagged: whole record */
        MSG_RECORD,                     /* a whole record that needs no tagging */
        MSG_HEAP,                       /* tagged: a whole record too big for the ring */
        MSG_FAILED,                     /* tagged: tagging or packing failed, -len */
        MSG_END,
};

struct msg_hdr {
        uint32_t kind;
        uint32_t n_tag;                 /* MSG_EVENT in to_tag: offsets that follow */
        uint64_t len;                   /* bytes of the record (or head) */
};

struct replay_out {
        runfile_writer_t *writer;
        tagger_t *tagger;               /* NULL: no tagging */
        record_enc_t *enc_a;            /* A: heads, late, junk, corrupt */
        record_enc_t *enc_b;            /* B (or A when B is idle): events */
        ring_t *to_tag, *tagged;
        pthread_t thread;
        bool threaded;                  /* the thread was started */
        bool ended;                     /* A: MSG_END sent */
        int error;                      /* A: first error */
        uint64_t records;               /* A: written */
        uint64_t in_flight;             /* A: messages sent, not yet back */
        unsigned unnotified;            /* A: commits to to_tag since the last wake */
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

/* ---- thread B ---- */

/* Passes a record on to A; a record too big for the ring goes as a heap
 * copy (rare: a huge event's tag quantities). */
static void s_forward(replay_out_t *o, uint32_t kind, const void *rec, size_t len,
                      unsigned *unnotified)
{
        struct msg_hdr h = { kind, 0, len };
        void *heap = NULL;
        size_t n;
        uint8_t *p;

        if (kind != MSG_FAILED && kind != MSG_END &&
            sizeof(h) + len > ring_max_message(o->tagged)) {
                heap = malloc(len);
                if (heap) {
                        memcpy(heap, rec, len);
                        h.kind = MSG_HEAP;
                        rec = &heap;
                        len = sizeof(heap);
                } else {
                        h = (struct msg_hdr){ MSG_FAILED, 0, ENOMEM };
                        len = 0;
                }
        }
        n = sizeof(h) + (h.kind == MSG_FAILED || h.kind == MSG_END ? 0 : len);
        while (!(p = ring_reserve(o->tagged, n))) {
                ring_notify(o->tagged);
                *unnotified = 0;
                ring_wait_room(o->tagged, n, -1);
        }
        memcpy(p, &h, sizeof(h));
        if (n > sizeof(h))
                memcpy(p + sizeof(h), rec, len);
        ring_commit_quiet(o->tagged, n);
        if (++*unnotified >= BATCH || kind == MSG_END) {
                ring_notify(o->tagged);
                *unnotified = 0;
        }
}

static void *s_thread(void *arg)
{
        replay_out_t *o = arg;
        unsigned unnotified = 0;

        for (;;) {
                const uint8_t *m;
                struct msg_hdr h;
                size_t len;

                m = ring_peek(o->to_tag, &len);
                if (!m) {
                        if (unnotified) {
                                ring_notify(o->tagged);
                                unnotified = 0;
                        }
                        s_sleep_on(o->to_tag);
                        continue;
                }
                memcpy(&h, m, sizeof(h));
                if (h.kind == MSG_EVENT) {
                        const uint8_t *head = m + s_body_at(h.n_tag);
                        const uint8_t *frags[64];
                        struct tag_input in = { frags, h.n_tag };
                        struct tag_result res;
                        const uint8_t *rec = NULL;
                        size_t rec_len = 0;

                        for (uint32_t k = 0; k < h.n_tag; k++) {
                                uint32_t off;

                                memcpy(&off, m + sizeof(h) + 4 * (size_t)k, 4);
                                frags[k] = head + off;
                        }
                        if (tagger_run(o->tagger, &in, &res) == 0)
                                rec = record_event_finish(o->enc_b, head, h.len, &res,
                                                          &rec_len);
                        if (rec)
                                s_forward(o, MSG_EVENT, rec, rec_len, &unnotified);
                        else
                                s_forward(o, MSG_FAILED, NULL, ENOMEM, &unnotified);
                } else {
                        s_forward(o, h.kind, m + sizeof(h), h.len, &unnotified);
                }
                ring_release(o->to_tag);
                if (h.kind == MSG_END)
                        return NULL;
        }
}

/* ---- thread A ---- */

static void s_write(replay_out_t *o, const void *rec, size_t len)
{
        int r;

        if (o->error)
                return;
        r = runfile_writer_write_packed(o->writer, rec, len);
        if (r < 0)
                o->error = r;
        else
                o->records++;
}

/* Writes every record B has passed back; with all, waits until nothing is
 * in flight. */
static void s_drain(replay_out_t *o, bool all)
{
        for (;;) {
                const uint8_t *m;
                size_t len;

                while ((m = ring_peek(o->tagged, &len))) {
                        struct msg_hdr h;
                        void *heap;

                        memcpy(&h, m, sizeof(h));
                        switch (h.kind) {
                        case MSG_EVENT:
                        case MSG_RECORD:
                                s_write(o, m + sizeof(h), h.len);
                                break;
                        case MSG_HEAP:
                                memcpy(&heap, m + sizeof(h), sizeof(heap));
                                s_write(o, heap, h.len);        /* len: the record's */
                                free(heap);
                                break;
                        case MSG_FAILED:
                                if (!o->error)
                                        o->error = -(int)h.len;
                                break;
                        default:
                                break;
                        }
                        ring_release(o->tagged);
                        o->in_flight--;
                }
                if (!all || o->in_flight == 0)
                        return;
                ring_notify(o->to_tag);
                o->unnotified = 0;
                s_sleep_on(o->tagged);
        }
}

/* Room for n bytes in to_tag, or NULL when a message of n bytes never
 * fits. */
static uint8_t *s_reserve(replay_out_t *o, size_t n)
{
        uint8_t *p;

        if (n > ring_max_message(o->to_tag))
                return NULL;
        while (!(p = ring_reserve(o->to_tag, n))) {
                ring_notify(o->to_tag);
                o->unnotified = 0;
                s_drain(o, false);
                p = ring_reserve(o->to_tag, n);
                if (p)
                        break;
                s_sleep_on(o->tagged);
        }
        return p;
}

static void s_commit(replay_out_t *o, size_t n)
{
        ring_commit_quiet(o->to_tag, n);
        o->in_flight++;
        if (++o->unnotified >= BATCH) {
                ring_notify(o->to_tag);
                o->unnotified = 0;
        }
        s_drain(o, false);
}

/* Tags and writes ev on this thread (B, if any, is idle). */
static void s_event_here(replay_out_t *o, const struct built_event *ev)
{
        struct tag_input in = { ev->tag_frags, ev->n_tag_frags };
        struct tag_result res;
        const uint8_t *rec;
        size_t len;

        if (o->threaded)
                s_drain(o, true);
        if (o->error)
                return;
        if (o->tagger && tagger_run(o->tagger, &in, &res) < 0) {
                o->error = -ENOMEM;
                return;
        }
        rec = record_event_pack(o->enc_b, ev, o->tagger ? &res : NULL, &len);
        if (!rec) {
                o->error = -ENOMEM;
                return;
        }
        s_write(o, rec, len);
}

static void s_event(void *ctx, const struct built_event *ev)
{
        replay_out_t *o = ctx;
        size_t head_len, at;
        uint8_t *p;

        if (o->error)
                return;
        if (!o->threaded || ev->n_tag_frags > 64) {
                s_event_here(o, ev);
                return;
        }
        head_len = record_event_head_size(o->enc_a, ev);
        if (head_len == 0) {
                o->error = -ENOMEM;
                return;
        }
        at = s_body_at((uint32_t)ev->n_tag_frags);
        p = s_reserve(o, at + head_len);
        if (!p) {
                s_event_here(o, ev);
                return;
        }
        memcpy(p, &(struct msg_hdr){ MSG_EVENT, (uint32_t)ev->n_tag_frags, head_len },
               sizeof(struct msg_hdr));
        record_event_head_write(o->enc_a, ev, p + at, (uint32_t *)(void *)(p + sizeof(struct msg_hdr)));
        s_commit(o, at + head_len);
}

static void s_record(replay_out_t *o, const Darkdaq__Record *rec)
{
        size_t n;
        uint8_t *p;

        if (o->error)
                return;
        if (!rec) {
                o->error = -ENOMEM;
                return;
        }
        n = protobuf_c_message_get_packed_size(&rec->base);
        p = o->threaded ? s_reserve(o, sizeof(struct msg_hdr) + n) : NULL;
        if (!p) {
                int r;

                if (o->threaded)
                        s_drain(o, true);
                r = o->error ? 0 : runfile_writer_write(o->writer, rec);
                if (r < 0)
                        o->error = r;
                else if (!o->error)
                        o->records++;
                return;
        }
        memcpy(p, &(struct msg_hdr){ MSG_RECORD, 0, n }, sizeof(struct msg_hdr));
        protobuf_c_message_pack(&rec->base, p + sizeof(struct msg_hdr));
        s_commit(o, sizeof(struct msg_hdr) + n);
}

static void s_late(void *ctx, const struct built_late *l)
{
        replay_out_t *o = ctx;

        s_record(o, record_late(o->enc_a, l));
}

static void s_junk(void *ctx, const struct built_junk *j)
{
        replay_out_t *o = ctx;

        s_record(o, record_junk(o->enc_a, j));
}

static void s_corrupt(void *ctx, const struct built_corrupt *c)
{
        replay_out_t *o = ctx;

        s_record(o, record_corrupt(o->enc_a, c));
}

int replay_out_new(replay_out_t **ret, const struct replay_out_options *opt)
{
        replay_out_t *o = calloc(1, sizeof(*o));
        int r;

        if (!o)
                return -ENOMEM;
        o->writer = opt->writer;
        o->enc_a = record_enc_new();
        o->enc_b = record_enc_new();
        if (opt->physics)
                o->tagger = tagger_new(opt->physics);
        if (!o->enc_a || !o->enc_b || (opt->physics && !o->tagger)) {
                replay_out_free(o);
                return -ENOMEM;
        }
        if (o->tagger && !opt->no_thread) {
                size_t bytes = opt->ring_bytes ? opt->ring_bytes : RING_BYTES;

                o->to_tag = ring_new(bytes);
                o->tagged = ring_new(bytes);
                if (!o->to_tag || !o->tagged) {
                        replay_out_free(o);
                        return -ENOMEM;
                }
                r = pthread_create(&o->thread, NULL, s_thread, o);
                if (r) {
                        replay_out_free(o);
                        return -r;
                }
                o->threaded = true;
        }
        *ret = o;
        return 0;
}

struct builder_sink replay_out_sink(replay_out_t *o)
{
        return (struct builder_sink){ o, s_event, s_late, s_junk, s_corrupt };
}

int replay_out_finish(replay_out_t *o)
{
        if (o->threaded && !o->ended) {
                uint8_t *p = s_reserve(o, sizeof(struct msg_hdr));

                memcpy(p, &(struct msg_hdr){ MSG_END, 0, 0 }, sizeof(struct msg_hdr));
                ring_commit(o->to_tag, sizeof(struct msg_hdr));
                o->in_flight++;
                o->ended = true;
                s_drain(o, true);
                pthread_join(o->thread, NULL);
                o->threaded = false;
        }
        return o->error;
}

uint64_t replay_out_records(const replay_out_t *o)
{
        return o->records;
}

record_enc_t *replay_out_encoder(replay_out_t *o)
{
        return o->enc_b;
}

replay_out_t *replay_out_free(replay_out_t *o)
{
        if (!o)
                return NULL;
        replay_out_finish(o);
        ring_free(o->to_tag);
        ring_free(o->tagged);
        tagger_free(o->tagger);
        record_enc_free(o->enc_a);
        record_enc_free(o->enc_b);
        free(o);
        return NULL;
}
