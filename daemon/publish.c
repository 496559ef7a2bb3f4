/* SPDX-License-Identifier: Apache-2.0 */
/* publish: the storage window is a byte ring of storage_buffer_bytes (one
 * allocation) plus a circular index of its records; a record never wraps
 * (the ring skips to 0).  Records leave the window only when ACKed, in
 * order.  The monitor socket is an XPUB with ZMQ_XPUB_NODROP, so that a full
 * queue is an EAGAIN we can count instead of a silent drop, and so that we
 * see the subscriptions: a sample no one subscribed to is not sent at all
 * (ZeroMQ would copy it only to drop it, on the core thread). */
#include "publish.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "storage_proto.h"
#include "tags.h"

#define TAKE_MARGIN     (2u << 20)      /* room kept for what one input item may decide */
#define MAX_SUBS        64              /* distinct monitor subscriptions tracked */
#define SUB_BYTES       32              /* longer ones match none of our topics */

#define RESEND_MS       2000u           /* no ACK this long while records are held: send again */
#define LOG_EVERY_MS    1000u           /* refusals are logged at most this often */
#define ID_MAX          255             /* a ZeroMQ routing id */

struct entry {
        uint64_t start;                 /* in the byte ring (absolute), if !spill */
        uint8_t *spill;                 /* heap copy when the ring had no room */
        uint32_t len;                   /* prefix + record */
        uint32_t run;
        uint64_t seq;
};

/* The store that owns the channel now: its connection and its session. */
struct session {
        uint32_t id;                    /* 0: no session */
        uint8_t peer[ID_MAX];           /* the ROUTER identity of its connection */
        size_t peer_len;
        uint64_t last_heard_ms;         /* CLOCK_MONOTONIC: its last valid message */
        bool header_due;                /* send the open run's header before anything else */
        uint64_t sent_hi;               /* window index past the last record sent in it */
        bool acked;                     /* an ACK came in it: */
        uint32_t ack_run;               /* ... the last one */
        uint64_t ack_seq;
};

struct publish {
        void *storage, *monitor;        /* ROUTER, XPUB */
        void *events;                   /* PAIR: the storage socket's monitor events */
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
        uint32_t sender;                /* our sender id */
        struct session ses;
        uint32_t next_session;          /* the id the next session gets */
        uint8_t *hdr;                   /* the open run's header message (prefix + record) */
        size_t hdr_len, hdr_cap;
        uint32_t hdr_run;
        bool blocked;                   /* the last send found the peer's queue full */
        uint64_t last_progress_ms;      /* last valid ACK, or the last (re)send from the head */
        uint64_t refused_logged_ms;
        uint64_t refused_unlogged;
        uint64_t naks_logged_ms;
        uint64_t naks_unlogged;
        uint32_t prescale[TAG_COUNT_];
        uint64_t tag_seen[TAG_COUNT_];  /* events offered per tag */
        struct publish_counters c;
};

static uint64_t s_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

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
        int r = auth_chmod_ipc(ep);
        if (r < 0)
                snprintf(err, errlen, "the %s socket %s: cannot make it mode 0770 for the "
                         "service's group: %s", what, ep, strerror(-r));
        return r;
}

int publish_new(publish_t **ret, void *zctx, const struct daemon_config *d,
                const uint32_t *prescale, auth_t *auth, char *err, size_t errlen)
{
        publish_t *p = calloc(1, sizeof(*p));
        int r, one = 1, hwm = (int)d->monitor_hwm, linger = 0, big = 100000;
        char mon[64];

        if (!p)
                return -ENOMEM;
        p->cap = d->storage_buffer_bytes;
        p->busy_high = d->busy_high_bytes;
        p->busy_low = d->busy_low_bytes;
        p->sender = d->sender_id;
        /* session ids differ across daemon restarts, so that a store never
         * takes a new daemon's records for an old session's */
        p->next_session = (uint32_t)(s_now_ms() * 2654435761u) ^ (uint32_t)getpid();
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
        if ((r = s_bind(&p->storage, zctx, ZMQ_ROUTER, "storage", d->storage, auth,
                        AUTH_ROLE_STORAGE, err, errlen)) < 0) {
                publish_free(p);
                return r;
        }
        /* a send to a connection that is gone fails (EHOSTUNREACH) instead
         * of vanishing: that is how a session's end is noticed */
        zmq_setsockopt(p->storage, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
        zmq_setsockopt(p->storage, ZMQ_SNDHWM, &big, sizeof big);
        zmq_setsockopt(p->storage, ZMQ_LINGER, &linger, sizeof linger);
        snprintf(mon, sizeof mon, "inproc://darkdaq-storage-events-%p", (void *)p);
        p->events = zmq_socket(zctx, ZMQ_PAIR);
        if (!p->events ||
            zmq_socket_monitor(p->storage, mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < 0 ||
            zmq_connect(p->events, mon) < 0) {
                r = -zmq_errno();
                snprintf(err, errlen, "the storage socket %s: cannot monitor it: %s",
                         d->storage, zmq_strerror(-r));
                publish_free(p);
                return r;
        }
        zmq_setsockopt(p->events, ZMQ_LINGER, &linger, sizeof linger);
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
        if ((r = auth_chmod_ipc(d->monitor)) < 0) {
                snprintf(err, errlen, "the monitor socket %s: cannot make it mode 0770 for the "
                         "service's group: %s", d->monitor, strerror(-r));
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
        if (p->storage) {
                zmq_socket_monitor(p->storage, NULL, 0);
                zmq_close(p->storage);
        }
        if (p->events)
                zmq_close(p->events);
        if (p->monitor)
                zmq_close(p->monitor);
        for (uint64_t i = p->e_head; p->e && i < p->e_tail; i++)
                free(p->e[i & (p->e_cap - 1)].spill);
        free(p->e);
        free(p->hdr);
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
        if (p->e_head + 1 == p->e_tail)
                p->last_progress_ms = s_now_ms();
        uint8_t *d = s_data(p, e);
        storage_data_prefix(d, &(struct storage_data){ .run = run, .sender = p->sender,
                                                       .seq = seq });
        return d + STORAGE_DATA_PREFIX;
}

int publish_set_header(publish_t *p, uint32_t run, const uint8_t *rec, size_t len)
{
        size_t need = STORAGE_DATA_PREFIX + len;
        if (need > p->hdr_cap) {
                uint8_t *h = realloc(p->hdr, need);
                if (!h)
                        return -ENOMEM;
                p->hdr = h;
                p->hdr_cap = need;
        }
        storage_data_prefix(p->hdr, &(struct storage_data){ .run = run, .sender = p->sender,
                                                            .seq = 0 });
        memcpy(p->hdr + STORAGE_DATA_PREFIX, rec, len);
        p->hdr_len = need;
        p->hdr_run = run;
        return 0;
}

/* Sends one message to the session's connection.  Returns 0, -EAGAIN (its
 * queue is full) or -EHOSTUNREACH (the connection is gone). */
static int s_send_peer(publish_t *p, uint8_t *msg, size_t len, bool data)
{
        if (data)
                storage_data_set_session(msg, p->ses.id);
        if (zmq_send(p->storage, p->ses.peer, p->ses.peer_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
                return -zmq_errno();
        if (zmq_send(p->storage, msg, len, ZMQ_DONTWAIT) < 0)
                return -zmq_errno();
        return 0;
}

static void s_end_session(publish_t *p, const char *why)
{
        if (!p->ses.id)
                return;
        fprintf(stderr, "darkdaqd: storage: session %08" PRIx32 " ended (%s); records stay held "
                "until a store says HELLO\n", p->ses.id, why);
        p->ses.id = 0;
        p->c.session = 0;
        p->c.store_full = false;
        p->e_send = p->e_head;
}

static int s_welcome(publish_t *p)
{
        uint8_t m[STORAGE_CTL_BYTES];
        storage_ctl_encode(m, &(struct storage_ctl){ .kind = STORAGE_WELCOME,
                                                    .session = p->ses.id, .sender = p->sender });
        return s_send_peer(p, m, sizeof m, false);
}

/* Sends again from the oldest unacknowledged record, the header first. */
static void s_resend(publish_t *p, uint64_t *counter)
{
        *counter += p->e_send - p->e_head;
        p->e_send = p->e_head;
        p->ses.header_due = p->hdr_len > 0;
        p->last_progress_ms = s_now_ms();
}

void publish_flush(publish_t *p)
{
        p->blocked = false;
        if (!p->ses.id || p->c.store_full)
                return;
        if (p->ses.header_due) {
                /* skip it when the window's first record is that header anyway */
                const struct entry *h = p->e_head < p->e_tail ? s_entry(p, p->e_head) : NULL;
                bool in_window = h && p->e_send == p->e_head && h->run == p->hdr_run &&
                                 h->seq == 0;
                int r = in_window ? 0 : s_send_peer(p, p->hdr, p->hdr_len, true);
                if (r == -EAGAIN) {
                        p->blocked = true;
                        return;
                }
                if (r == -EHOSTUNREACH) {
                        s_end_session(p, "its connection is gone");
                        return;
                }
                p->ses.header_due = false;
                if (!in_window)
                        p->c.sent++;
        }
        while (p->e_send < p->e_tail) {
                struct entry *e = s_entry(p, p->e_send);
                int r = s_send_peer(p, s_data(p, e), e->len, true);
                if (r == -EAGAIN) {
                        p->blocked = true;
                        break;
                }
                if (r == -EHOSTUNREACH) {
                        s_end_session(p, "its connection is gone");
                        break;
                }
                p->e_send++;
                p->c.sent++;
        }
        if (p->ses.sent_hi < p->e_send)
                p->ses.sent_hi = p->e_send;
}

/* A message that counts for nothing: counted, logged at most once a second. */
static void s_refuse(publish_t *p, const char *what, const struct storage_ctl *c)
{
        uint64_t now = s_now_ms();
        p->c.refused_msgs++;
        p->refused_unlogged++;
        if (now - p->refused_logged_ms < LOG_EVERY_MS)
                return;
        fprintf(stderr, "darkdaqd: storage: refused %" PRIu64 " message(s); the last: %s %s "
                "(session %08" PRIx32 ", run %" PRIu32 ", seq %" PRIu64 "); nothing changed\n",
                p->refused_unlogged, c ? storage_kind_name(c->kind) : "message", what,
                c ? c->session : 0, c ? c->run : 0, c ? c->seq : 0);
        p->refused_unlogged = 0;
        p->refused_logged_ms = now;
}

/* The highest seq of run sent in this session among held records, or none
 * (false). */
static bool s_sent_max(const publish_t *p, uint32_t run, uint64_t *ret)
{
        bool any = false;
        for (uint64_t i = p->ses.sent_hi; i-- > p->e_head;) {
                const struct entry *e = s_entry(p, i);
                if (e->run == run) {
                        *ret = e->seq;
                        any = true;
                        break;
                }
        }
        return any;
}

static void s_ack(publish_t *p, const struct storage_ctl *c)
{
        uint64_t top;
        if (p->ses.acked && c->run == p->ses.ack_run && c->seq < p->ses.ack_seq) {
                s_refuse(p, "going backwards", c);
                p->c.bad_acks++;
                return;
        }
        if (p->c.ack_seen && c->run == p->c.ack_run && c->seq <= p->c.ack_seq) {
                p->ses.acked = true;    /* a new session's first word: nothing new */
                p->ses.ack_run = c->run;
                p->ses.ack_seq = c->seq;
                return;
        }
        if (!s_sent_max(p, c->run, &top) || c->seq > top) {
                s_refuse(p, "beyond what this session was sent", c);
                p->c.bad_acks++;
                return;
        }
        while (p->e_head < p->e_tail) {
                struct entry *e = s_entry(p, p->e_head);
                if (e->run != c->run || e->seq > c->seq)
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
        if (p->ses.sent_hi < p->e_head)
                p->ses.sent_hi = p->e_head;
        p->c.ack_run = c->run;
        p->c.ack_seq = c->seq;
        p->c.ack_seen = true;
        p->ses.acked = true;
        p->ses.ack_run = c->run;
        p->ses.ack_seq = c->seq;
        p->last_progress_ms = s_now_ms();
}

static void s_nak(publish_t *p, const struct storage_ctl *c)
{
        uint64_t top, now = s_now_ms();
        if (!s_sent_max(p, c->run, &top) || c->seq > top) {
                s_refuse(p, "beyond what this session was sent", c);
                return;
        }
        p->c.refused_records++;
        p->naks_unlogged++;
        if (now - p->naks_logged_ms < LOG_EVERY_MS)
                return;
        fprintf(stderr, "darkdaqd: storage: the store refused %" PRIu64 " record(s) as "
                "unreadable (the last: run %" PRIu32 " seq %" PRIu64 "); it keeps them in the "
                "run's reject file, not in the run file\n", p->naks_unlogged, c->run, c->seq);
        p->naks_unlogged = 0;
        p->naks_logged_ms = now;
}

/* HELLO from peer: a session for it, unless another live store has one. */
static void s_hello(publish_t *p, const uint8_t *peer, size_t peer_len)
{
        bool same = p->ses.id && peer_len == p->ses.peer_len &&
                    !memcmp(peer, p->ses.peer, peer_len);
        if (p->ses.id && !same) {
                /* the owner keeps its session while its connection lives */
                if (s_welcome(p) != -EHOSTUNREACH) {
                        p->c.refused_hellos++;
                        s_refuse(p, "from another connection while a store holds the session",
                                 &(struct storage_ctl){ .kind = STORAGE_HELLO });
                        return;
                }
                s_end_session(p, "its connection is gone");
        }
        p->c.hellos++;
        if (!same) {
                if (!++p->next_session)
                        p->next_session++;
                p->ses.id = p->next_session;
                memcpy(p->ses.peer, peer, peer_len);
                p->ses.peer_len = peer_len;
                p->ses.sent_hi = p->e_head;
                p->ses.acked = false;
                p->c.sessions++;
                p->c.session = p->ses.id;
        }
        p->c.store_full = false;
        p->ses.last_heard_ms = s_now_ms();
        s_resend(p, &p->c.resent);
        if (s_welcome(p) == -EHOSTUNREACH)
                s_end_session(p, "its connection is gone");
}

static void s_handle(publish_t *p, const uint8_t *peer, size_t peer_len, const uint8_t *msg,
                     size_t len)
{
        struct storage_ctl c;
        if (storage_ctl_parse(msg, len, &c) < 0) {
                p->c.bad_acks++;
                s_refuse(p, "that does not parse", NULL);
                return;
        }
        if (c.kind == STORAGE_HELLO) {
                s_hello(p, peer, peer_len);
                return;
        }
        if (!p->ses.id || c.session != p->ses.id || peer_len != p->ses.peer_len ||
            memcmp(peer, p->ses.peer, peer_len) || c.kind == STORAGE_WELCOME ||
            (c.kind != STORAGE_FULL && c.kind != STORAGE_RESUME && c.sender != p->sender)) {
                p->c.forged++;
                s_refuse(p, "not from the session's store", &c);
                return;
        }
        p->ses.last_heard_ms = s_now_ms();
        switch (c.kind) {
        case STORAGE_ACK:
                s_ack(p, &c);
                break;
        case STORAGE_NAK:
                s_nak(p, &c);
                break;
        case STORAGE_FULL:
                p->c.fulls++;
                p->c.store_full = true;
                break;
        case STORAGE_RESUME:
                p->c.store_full = false;
                break;
        default:
                break;
        }
}

/* Connection events: on every handshake (a store came or came back), the
 * session's store is sent again what it has not acknowledged. */
static void s_events(publish_t *p)
{
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, p->events, ZMQ_DONTWAIT) >= 0) {
                bool first = zmq_msg_more(&m);
                if (first && p->ses.id)
                        s_resend(p, &p->c.resent_on_connect);
                while (zmq_msg_more(&m) && zmq_msg_recv(&m, p->events, ZMQ_DONTWAIT) >= 0)
                        ;
        }
        zmq_msg_close(&m);
}

int publish_handle_acks(publish_t *p)
{
        uint8_t peer[ID_MAX], msg[64];
        int n = 0;

        s_events(p);
        for (;;) {
                int pl = zmq_recv(p->storage, peer, sizeof peer, ZMQ_DONTWAIT), more = 0;
                size_t ms = sizeof more;
                if (pl < 0)
                        break;
                zmq_getsockopt(p->storage, ZMQ_RCVMORE, &more, &ms);
                int len = more ? zmq_recv(p->storage, msg, sizeof msg, ZMQ_DONTWAIT) : -1;
                for (;;) {      /* the rest of a message longer than it should be */
                        zmq_getsockopt(p->storage, ZMQ_RCVMORE, &more, &ms);
                        if (!more)
                                break;
                        zmq_recv(p->storage, msg, 0, ZMQ_DONTWAIT);
                        len = -1;
                }
                n++;
                if (len < 0 || (size_t)len > sizeof msg || (size_t)pl > sizeof peer) {
                        p->c.bad_acks++;
                        s_refuse(p, "that does not parse", NULL);
                        continue;
                }
                s_handle(p, peer, (size_t)pl, msg, (size_t)len);
        }
        uint64_t now = s_now_ms();
        if (p->ses.id && !p->c.store_full && p->e_head < p->e_send &&
            now - p->last_progress_ms >= RESEND_MS)
                s_resend(p, &p->c.resent_on_silence);
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
        return p->storage;
}

void *publish_storage_socket(publish_t *p)
{
        return p->storage;
}

bool publish_has_unsent(const publish_t *p)
{
        return p->ses.id && !p->c.store_full && !p->blocked &&
               (p->e_send < p->e_tail || p->ses.header_due);
}

bool publish_holds(const publish_t *p)
{
        return p->e_head < p->e_tail;
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
