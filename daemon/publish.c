/* publish: the storage window is a byte ring of storage_buffer_bytes (one
 * allocation) plus a circular index of its records; a record never wraps
 * (the ring skips to 0).  Records leave the window only when ACKed, in
 * order.  The monitor socket is an XPUB with ZMQ_XPUB_NODROP, so that a full
 * queue is an EAGAIN we can count instead of a silent drop, and so that we
 * see the subscriptions: a sample no one subscribed to is not sent at all
 * (ZeroMQ would copy it only to drop it, on the core thread). */
#include "publish.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <zmq.h>

#include "storage_proto.h"
#include "tags.h"

#define TAKE_MARGIN     (2u << 20)      /* room kept for what one input item may decide */
#define MAX_SUBS        64              /* distinct monitor subscriptions tracked */
#define SUB_BYTES       32              /* longer ones match none of our topics */

struct entry {
        uint64_t start;                 /* in the byte ring (absolute), if !spill */
        uint8_t *spill;                 /* heap copy when the ring had no room */
        uint32_t len;                   /* prefix + record */
        uint32_t run;
        uint64_t seq;
};

struct publish {
        void *storage, *ack, *monitor;  /* PUSH, PULL, XPUB */
        char subs[MAX_SUBS][SUB_BYTES]; /* the monitor's subscriptions (prefixes) */
        uint8_t sub_len[MAX_SUBS];
        unsigned n_subs;
        bool subs_overflow;             /* more than MAX_SUBS: send everything */
        uint8_t *buf;                   /* the byte ring */
        uint64_t cap;                   /* storage_buffer_bytes */
        uint64_t head, tail;            /* byte ring, absolute */
        struct entry *e;                /* index ring */
        uint64_t e_cap;                 /* power of two */
        uint64_t e_head, e_send, e_tail;        /* oldest unacked, next to send, end */
        uint64_t busy_high, busy_low;
        bool busy;
        uint32_t prescale[TAG_COUNT_];
        uint64_t tag_seen[TAG_COUNT_];  /* events offered per tag */
        struct publish_counters c;
};

static int s_bind(void **sock, void *zctx, int type, const char *what, const char *ep,
                  auth_t *auth, enum auth_role role, char *err, size_t errlen)
{
        char aerr[256];
        *sock = zmq_socket(zctx, type);
        if (*sock) {
                int r = auth_apply_server_role(auth, *sock, ep, role, aerr, sizeof aerr);
                if (r < 0) {
                        snprintf(err, errlen, "the %s socket %s: %s", what, ep, aerr);
                        return r;
                }
        }
        if (!*sock || zmq_bind(*sock, ep) < 0) {
                int e = zmq_errno();
                snprintf(err, errlen, "cannot bind the %s socket to %s: %s", what, ep,
                         zmq_strerror(e));
                return -e;
        }
        return 0;
}

int publish_new(publish_t **ret, void *zctx, const struct daemon_config *d,
                const uint32_t *prescale, auth_t *auth, char *err, size_t errlen)
{
        publish_t *p = calloc(1, sizeof(*p));
        int r, one = 1, hwm = (int)d->monitor_hwm, linger = 0, big = 100000;

        if (!p)
                return -ENOMEM;
        p->cap = d->storage_buffer_bytes;
        p->busy_high = d->busy_high_bytes;
        p->busy_low = d->busy_low_bytes;
        p->e_cap = 1024;
        /* Committed now (MAP_POPULATE): a run must not pay a page fault and
         * the zeroing of a fresh page every 4 KiB of records (a third of the
         * core thread's time in a first run), and a host without the memory
         * should say so at start, not mid-run. */
        p->buf = mmap(NULL, p->cap, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p->buf == MAP_FAILED)
                p->buf = NULL;
        p->e = malloc(p->e_cap * sizeof(*p->e));
        for (unsigned t = 0; t < TAG_COUNT_; t++)
                p->prescale[t] = prescale[t] ? prescale[t] : 1;
        if (!p->buf || !p->e) {
                snprintf(err, errlen, "storage window of %llu bytes: out of memory",
                         (unsigned long long)p->cap);
                publish_free(p);
                return -ENOMEM;
        }
        if ((r = s_bind(&p->storage, zctx, ZMQ_PUSH, "storage", d->storage, auth,
                        AUTH_ROLE_STORAGE, err, errlen)) < 0 ||
            (r = s_bind(&p->ack, zctx, ZMQ_PULL, "storage_ack", d->storage_ack, auth,
                        AUTH_ROLE_STORAGE, err, errlen)) < 0) {
                publish_free(p);
                return r;
        }
        /* queue only to a connected store: otherwise records wait in the window */
        zmq_setsockopt(p->storage, ZMQ_IMMEDIATE, &one, sizeof one);
        zmq_setsockopt(p->storage, ZMQ_SNDHWM, &big, sizeof big);
        zmq_setsockopt(p->storage, ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt(p->ack, ZMQ_LINGER, &linger, sizeof linger);
        /* the monitor socket needs CURVE on a non-local endpoint too: the
         * events it samples are the experiment's data */
        p->monitor = zmq_socket(zctx, ZMQ_XPUB);
        if (p->monitor) {
                char aerr[256];
                zmq_setsockopt(p->monitor, ZMQ_SNDHWM, &hwm, sizeof hwm);
                zmq_setsockopt(p->monitor, ZMQ_XPUB_NODROP, &one, sizeof one);
                zmq_setsockopt(p->monitor, ZMQ_LINGER, &linger, sizeof linger);
                r = auth_apply_server_role(auth, p->monitor, d->monitor, AUTH_ROLE_MONITOR, aerr,
                                           sizeof aerr);
                if (r < 0) {
                        snprintf(err, errlen, "the monitor socket %s: %s", d->monitor, aerr);
                        publish_free(p);
                        return r;
                }
        }
        if (!p->monitor || zmq_bind(p->monitor, d->monitor) < 0) {
                r = -zmq_errno();
                snprintf(err, errlen, "cannot bind the monitor socket to %s: %s", d->monitor,
                         zmq_strerror(-r));
                publish_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

publish_t *publish_free(publish_t *p)
{
        if (!p)
                return NULL;
        if (p->storage)
                zmq_close(p->storage);
        if (p->ack)
                zmq_close(p->ack);
        if (p->monitor)
                zmq_close(p->monitor);
        for (uint64_t i = p->e_head; p->e && i < p->e_tail; i++)
                free(p->e[i & (p->e_cap - 1)].spill);
        free(p->e);
        if (p->buf)
                munmap(p->buf, p->cap);
        free(p);
        return NULL;
}

static struct entry *s_entry(const publish_t *p, uint64_t i)
{
        return &p->e[i & (p->e_cap - 1)];
}

static uint8_t *s_data(const publish_t *p, const struct entry *e)
{
        return e->spill ? e->spill : p->buf + (e->start % p->cap);
}

/* Doubles the index ring (rare: only when the window holds more records
 * than ever before). */
static int s_grow_index(publish_t *p)
{
        uint64_t n = p->e_cap * 2;
        struct entry *e = malloc(n * sizeof(*e));
        if (!e)
                return -ENOMEM;
        for (uint64_t i = p->e_head; i < p->e_tail; i++)
                e[i & (n - 1)] = *s_entry(p, i);
        free(p->e);
        p->e = e;
        p->e_cap = n;
        return 0;
}

uint8_t *publish_append(publish_t *p, uint32_t run, uint64_t seq, size_t len)
{
        uint64_t need = STORAGE_DATA_PREFIX + len;
        uint64_t pos = p->tail % p->cap, at = p->tail;
        struct entry *e;

        if (p->e_tail - p->e_head == p->e_cap && s_grow_index(p) < 0)
                return NULL;
        e = s_entry(p, p->e_tail);
        memset(e, 0, sizeof *e);
        if (pos + need > p->cap)
                at += p->cap - pos;
        if (at + need - p->head > p->cap) {
                e->spill = malloc(need);
                if (!e->spill)
                        return NULL;
                p->c.spilled++;
        } else {
                e->start = at;
                p->tail = at + need;
        }
        e->len = (uint32_t)need;
        e->run = run;
        e->seq = seq;
        p->e_tail++;
        p->c.records++;
        p->c.held_records++;
        p->c.held_bytes += need;
        if (p->c.held_bytes > p->c.max_held_bytes)
                p->c.max_held_bytes = p->c.held_bytes;
        uint8_t *d = s_data(p, e);
        storage_data_prefix(d, run, seq);
        return d + STORAGE_DATA_PREFIX;
}

void publish_flush(publish_t *p)
{
        while (!p->c.store_full && p->e_send < p->e_tail) {
                const struct entry *e = s_entry(p, p->e_send);
                if (zmq_send(p->storage, s_data(p, e), e->len, ZMQ_DONTWAIT) < 0)
                        break;          /* EAGAIN: no store, or its queue is full */
                p->e_send++;
                p->c.sent++;
        }
}

static void s_ack(publish_t *p, uint32_t run, uint64_t seq)
{
        while (p->e_head < p->e_tail) {
                struct entry *e = s_entry(p, p->e_head);
                if (e->run != run || e->seq > seq)
                        break;
                if (e->spill) {
                        free(e->spill);
                        e->spill = NULL;
                } else {
                        p->head = e->start + e->len;
                }
                p->c.held_bytes -= e->len;
                p->c.held_records--;
                p->c.acked++;
                p->e_head++;
        }
        if (p->e_head == p->e_tail)
                p->head = p->tail;
        if (p->e_send < p->e_head)
                p->e_send = p->e_head;
        p->c.ack_run = run;
        p->c.ack_seq = seq;
        p->c.ack_seen = true;
}

int publish_handle_acks(publish_t *p)
{
        uint8_t msg[64];
        int n = 0;

        for (;;) {
                int len = zmq_recv(p->ack, msg, sizeof msg, ZMQ_DONTWAIT);
                struct storage_ack a;
                if (len < 0)
                        break;
                n++;
                if (storage_ack_parse(msg, (size_t)len, &a) < 0) {
                        p->c.bad_acks++;
                        continue;
                }
                switch (a.kind) {
                case STORAGE_HELLO:
                        p->c.hellos++;
                        p->c.resent += p->e_send - p->e_head;
                        p->e_send = p->e_head;
                        p->c.store_full = false;
                        break;
                case STORAGE_ACK:
                        s_ack(p, a.run, a.seq);
                        break;
                case STORAGE_FULL:
                        p->c.fulls++;
                        p->c.store_full = true;
                        break;
                case STORAGE_RESUME:
                        p->c.store_full = false;
                        break;
                }
        }
        publish_flush(p);
        return n;
}

bool publish_can_take(const publish_t *p)
{
        uint64_t margin = p->cap / 8 < TAKE_MARGIN ? p->cap / 8 : TAKE_MARGIN;
        return p->c.held_bytes + margin <= p->cap;
}

bool publish_busy(publish_t *p)
{
        if (p->c.store_full || p->c.held_bytes > p->busy_high)
                p->busy = true;
        else if (p->c.held_bytes < p->busy_low)
                p->busy = false;
        return p->busy;
}

bool publish_acked(const publish_t *p, uint32_t run, uint64_t seq)
{
        return p->c.ack_seen && p->c.ack_run == run && p->c.ack_seq >= seq;
}

void *publish_ack_socket(publish_t *p)
{
        return p->ack;
}

void *publish_storage_socket(publish_t *p)
{
        return p->storage;
}

bool publish_has_unsent(const publish_t *p)
{
        return !p->c.store_full && p->e_send < p->e_tail;
}

/* Does a subscription take topic?  SUB subscriptions are prefixes. */
static bool s_wanted(const publish_t *p, const char *topic, size_t topic_len)
{
        if (p->subs_overflow)
                return true;
        for (unsigned i = 0; i < p->n_subs; i++)
                if (p->sub_len[i] <= topic_len && !memcmp(p->subs[i], topic, p->sub_len[i]))
                        return true;
        return false;
}

void publish_set_prescale(publish_t *p, const uint32_t *prescale)
{
        for (unsigned t = 0; t < TAG_COUNT_; t++)
                p->prescale[t] = prescale[t] ? prescale[t] : 1;
}

int publish_handle_subscriptions(publish_t *p)
{
        uint8_t m[1 + SUB_BYTES + 1];
        int n = 0, len;

        while ((len = zmq_recv(p->monitor, m, sizeof m, ZMQ_DONTWAIT)) >= 0) {
                size_t tl = (size_t)len > sizeof m ? sizeof m - 1 : (size_t)len - 1;
                unsigned i;

                n++;
                if (len < 1 || m[0] > 1 || tl >= SUB_BYTES)
                        continue;       /* not a subscription, or longer than any topic */
                for (i = 0; i < p->n_subs; i++)
                        if (p->sub_len[i] == tl && !memcmp(p->subs[i], m + 1, tl))
                                break;
                if (m[0] == 1 && i == p->n_subs) {
                        if (p->n_subs == MAX_SUBS) {
                                p->subs_overflow = true;
                                continue;
                        }
                        memcpy(p->subs[p->n_subs], m + 1, tl);
                        p->sub_len[p->n_subs++] = (uint8_t)tl;
                } else if (m[0] == 0 && i < p->n_subs) {
                        p->n_subs--;
                        memcpy(p->subs[i], p->subs[p->n_subs], SUB_BYTES);
                        p->sub_len[i] = p->sub_len[p->n_subs];
                }
        }
        return n;
}

void *publish_monitor_socket(publish_t *p)
{
        return p->monitor;
}

static void s_sample(publish_t *p, const char *topic, const uint8_t *rec, size_t len)
{
        if (!s_wanted(p, topic, strlen(topic)))
                return;
        if (zmq_send(p->monitor, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
                p->c.monitor_dropped++;
                return;
        }
        zmq_send(p->monitor, rec, len, ZMQ_DONTWAIT);   /* the HWM counts whole messages */
        p->c.monitor_sent++;
}

void publish_monitor(publish_t *p, const uint8_t *rec, size_t len, uint32_t fired)
{
        s_sample(p, "all", rec, len);
        for (unsigned t = 0; fired && t < TAG_COUNT_; t++) {
                if (!(fired >> t & 1))
                        continue;
                if (p->tag_seen[t]++ % p->prescale[t] == 0)
                        s_sample(p, tag_name((enum tag_id)t), rec, len);
        }
}

void publish_get_counters(const publish_t *p, struct publish_counters *ret)
{
        *ret = p->c;
}
