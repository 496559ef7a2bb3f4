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

#include "linkwatch.h"
#include "spool.h"
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
        size_t hdr_next;                /* the next kept header to send before any record */
        uint64_t sent_hi;               /* window index past the last record sent in it */
        bool acked;                     /* an ACK came in it: */
        uint32_t ack_run;               /* ... the last one */
        uint64_t ack_seq;
};

/* A run's header, sent first in every session while the run is open or
 * records of it are held. */
struct kept_header {
        uint32_t run;
        uint8_t *msg;                   /* prefix (seq 0) + packed Record */
        size_t len, cap;
};

struct publish {
        void *storage, *monitor;        /* ROUTER, XPUB */
        linkwatch_t *storage_link;      /* the storage socket's connections */
        linkwatch_t *monitor_link;      /* the monitor socket's */
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
        struct kept_header *hdrs;       /* in the order the runs came: the open run's last */
        size_t n_hdrs, hdrs_cap;
        char *spool_dir;                /* while records from the spool are held: its directory */
        uint64_t spool_end;             /* window index past the last record from the spool */
        bool blocked;                   /* the last send found the peer's queue full */
        uint64_t last_progress_ms;      /* last valid ACK, or the last (re)send from the head */
        uint64_t held_since_ms;         /* when the window last went from empty to holding */
        uint64_t ses_ended_ms;          /* when the last session ended */
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
                  auth_t *auth, enum auth_role role, uint32_t heartbeat_ms, char *err,
                  size_t errlen)
{
        char aerr[256];
        *sock = zmq_socket(zctx, type);
        if (*sock) {
                linkwatch_heartbeat(*sock, heartbeat_ms);
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
                        AUTH_ROLE_STORAGE, d->heartbeat_ms, err, errlen)) < 0) {
                publish_free(p);
                return r;
        }
        /* a send to a connection that is gone fails (EHOSTUNREACH) instead
         * of vanishing: that is how a session's end is noticed */
        zmq_setsockopt(p->storage, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
        zmq_setsockopt(p->storage, ZMQ_SNDHWM, &big, sizeof big);
        zmq_setsockopt(p->storage, ZMQ_LINGER, &linger, sizeof linger);
        r = linkwatch_new(&p->storage_link, zctx, p->storage, "darkdaqd", "storage", d->storage,
                          LINKWATCH_SERVER | LINKWATCH_LOG_LINKS);
        if (r < 0) {
                snprintf(err, errlen, "the storage socket %s: cannot monitor it: %s",
                         d->storage, zmq_strerror(-r));
                publish_free(p);
                return r;
        }
        /* the monitor socket needs CURVE on a non-local endpoint too: the
         * events it samples are the experiment's data */
        p->monitor = zmq_socket(zctx, ZMQ_XPUB);
        if (p->monitor) {
                char aerr[256];
                zmq_setsockopt(p->monitor, ZMQ_SNDHWM, &hwm, sizeof hwm);
                zmq_setsockopt(p->monitor, ZMQ_XPUB_NODROP, &one, sizeof one);
                zmq_setsockopt(p->monitor, ZMQ_LINGER, &linger, sizeof linger);
                linkwatch_heartbeat(p->monitor, d->heartbeat_ms);
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
        r = linkwatch_new(&p->monitor_link, zctx, p->monitor, "darkdaqd", "monitor", d->monitor,
                          LINKWATCH_SERVER);
        if (r < 0) {
                snprintf(err, errlen, "the monitor socket %s: cannot monitor it: %s",
                         d->monitor, zmq_strerror(-r));
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
        p->storage_link = linkwatch_free(p->storage_link);
        p->monitor_link = linkwatch_free(p->monitor_link);
        if (p->storage)
                zmq_close(p->storage);
        if (p->monitor)
                zmq_close(p->monitor);
        for (uint64_t i = p->e_head; p->e && i < p->e_tail; i++)
                free(p->e[i & (p->e_cap - 1)].spill);
        free(p->e);
        for (size_t i = 0; i < p->n_hdrs; i++)
                free(p->hdrs[i].msg);
        free(p->hdrs);
        free(p->spool_dir);
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
                p->last_progress_ms = p->held_since_ms = s_now_ms();
        uint8_t *d = s_data(p, e);
        storage_data_prefix(d, &(struct storage_data){ .run = run, .sender = p->sender,
                                                       .seq = seq });
        return d + STORAGE_DATA_PREFIX;
}

/* Drops the headers of runs no longer held, the open run's (the last) kept:
 * runs are held in blocks, in the order their headers came, so a header
 * is needed only from the run at the window's head on. */
static void s_prune_headers(publish_t *p)
{
        size_t drop = 0;
        while (p->n_hdrs - drop > 1 &&
               (p->e_head == p->e_tail || s_entry(p, p->e_head)->run != p->hdrs[drop].run))
                free(p->hdrs[drop++].msg);
        if (!drop)
                return;
        p->n_hdrs -= drop;
        memmove(p->hdrs, p->hdrs + drop, p->n_hdrs * sizeof *p->hdrs);
        p->ses.hdr_next = p->ses.hdr_next > drop ? p->ses.hdr_next - drop : 0;
}

/* Records from the spool were acknowledged: counted; once none is held,
 * the spool file has done its work and goes. */
static void s_spool_progress(publish_t *p)
{
        char err[4400];
        if (p->e_head < p->spool_end) {
                p->c.spool_held = p->spool_end - p->e_head;
                return;
        }
        p->c.spool_held = 0;
        if (spool_remove(p->spool_dir, err, sizeof err) < 0)
                fprintf(stderr, "darkdaqd: storage: the store acknowledged all %" PRIu64 " records "
                        "from the spool, but %s; a restart sends them again (the store skips "
                        "them as duplicates)\n", p->c.spool_loaded, err);
        else
                fprintf(stderr, "darkdaqd: storage: the store acknowledged all %" PRIu64 " records "
                        "from the spool; %s/%s removed\n", p->c.spool_loaded, p->spool_dir,
                        SPOOL_FILE);
        free(p->spool_dir);
        p->spool_dir = NULL;
}

static int s_keep_header(publish_t *p, uint32_t run, const uint8_t *rec, size_t len)
{
        size_t need = STORAGE_DATA_PREFIX + len;
        struct kept_header *h = p->n_hdrs ? &p->hdrs[p->n_hdrs - 1] : NULL;
        if (!h || h->run != run) {
                if (p->n_hdrs == p->hdrs_cap) {
                        size_t n = p->hdrs_cap ? p->hdrs_cap * 2 : 4;
                        struct kept_header *a = realloc(p->hdrs, n * sizeof *a);
                        if (!a)
                                return -ENOMEM;
                        p->hdrs = a;
                        p->hdrs_cap = n;
                }
                uint8_t *m = malloc(need);
                if (!m)
                        return -ENOMEM;
                h = &p->hdrs[p->n_hdrs++];
                *h = (struct kept_header){ .run = run, .msg = m, .cap = need };
        } else if (need > h->cap) {
                uint8_t *m = realloc(h->msg, need);
                if (!m)
                        return -ENOMEM;
                h->msg = m;
                h->cap = need;
        }
        storage_data_prefix(h->msg, &(struct storage_data){ .run = run, .sender = p->sender,
                                                            .seq = 0 });
        memcpy(h->msg + STORAGE_DATA_PREFIX, rec, len);
        h->len = need;
        s_prune_headers(p);
        return 0;
}

int publish_set_header(publish_t *p, uint32_t run, const uint8_t *rec, size_t len)
{
        return s_keep_header(p, run, rec, len);
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
        linkwatch_count(p->storage_link, true, len);
        return 0;
}

static void s_end_session(publish_t *p, const char *why)
{
        if (!p->ses.id)
                return;
        fprintf(stderr, "darkdaqd: storage: session %08" PRIx32 " ended (%s); records stay held "
                "until a store says HELLO\n", p->ses.id, why);
        p->ses.id = 0;
        p->ses_ended_ms = s_now_ms();
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
        p->ses.hdr_next = 0;
        p->last_progress_ms = s_now_ms();
}

void publish_flush(publish_t *p)
{
        p->blocked = false;
        if (!p->ses.id || p->c.store_full)
                return;
        while (p->ses.hdr_next < p->n_hdrs) {
                struct kept_header *k = &p->hdrs[p->ses.hdr_next];
                /* skip it when the window's first record is that header anyway */
                const struct entry *h = p->e_head < p->e_tail ? s_entry(p, p->e_head) : NULL;
                bool in_window = h && p->e_send == p->e_head && h->run == k->run &&
                                 h->seq == 0;
                int r = in_window ? 0 : s_send_peer(p, k->msg, k->len, true);
                if (r == -EAGAIN) {
                        p->blocked = true;
                        return;
                }
                if (r == -EHOSTUNREACH) {
                        s_end_session(p, "its connection is gone");
                        return;
                }
                p->ses.hdr_next++;
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
        if (p->spool_dir)
                s_spool_progress(p);
        s_prune_headers(p);
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
 * session's store is sent again what it has not acknowledged; when the last
 * connection goes (closed, reset, or silent for three heartbeats: the peer
 * is gone), the session ends at once rather than at the next send. */
static void s_events(publish_t *p)
{
        unsigned what = linkwatch_drain(p->storage_link, s_now_ms());
        if ((what & LINKWATCH_ALL_GONE) && p->ses.id)
                s_end_session(p, "its connection is gone");
        if ((what & LINKWATCH_HANDSHAKE) && p->ses.id)
                s_resend(p, &p->c.resent_on_connect);
        linkwatch_drain(p->monitor_link, s_now_ms());
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
                linkwatch_count(p->storage_link, false, len > 0 ? (size_t)len : 0);
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
               (p->e_send < p->e_tail || p->ses.hdr_next < p->n_hdrs);
}

bool publish_holds(const publish_t *p)
{
        return p->e_head < p->e_tail;
}

bool publish_holds_run(const publish_t *p, uint32_t run)
{
        for (uint64_t i = p->e_head; i < p->e_tail; i++)
                if (s_entry(p, i)->run == run)
                        return true;
        return false;
}

/* ---- the spool -------------------------------------------------------------- */

static const struct kept_header *s_header_of(const publish_t *p, uint32_t run)
{
        for (size_t i = p->n_hdrs; i-- > 0;)
                if (p->hdrs[i].run == run)
                        return &p->hdrs[i];
        return NULL;
}

int publish_spool_save(publish_t *p, const char *dir, struct publish_spool_info *ret, char *err,
                       size_t errlen)
{
        spool_writer_t *w;
        bool in_run = false;
        uint32_t run = 0;
        int r;

        memset(ret, 0, sizeof *ret);
        if (p->e_head == p->e_tail)
                return spool_remove(dir, err, errlen);  /* nothing held: no spool either */
        if ((r = spool_writer_open(&w, dir, p->sender, err, errlen)) < 0)
                return r;
        for (uint64_t i = p->e_head; i < p->e_tail && r == 0; i++) {
                const struct entry *e = s_entry(p, i);
                const uint8_t *m = s_data(p, e);
                struct storage_data d = { .run = e->run, .sender = p->sender, .seq = e->seq };
                if (!in_run || e->run != run) {
                        /* each run's section opens with its header */
                        const struct kept_header *h = s_header_of(p, e->run);
                        if (h)
                                r = spool_writer_add(w, SPOOL_RUN_HEADER,
                                                     &(struct storage_data){ .run = e->run,
                                                                             .sender = p->sender },
                                                     h->msg + STORAGE_DATA_PREFIX,
                                                     h->len - STORAGE_DATA_PREFIX);
                        in_run = true;
                        run = e->run;
                        ret->runs++;
                        if (ret->runs == 1 || run > ret->run_max)
                                ret->run_max = run;
                }
                if (r == 0)
                        r = spool_writer_add(w, SPOOL_RECORD, &d, m + STORAGE_DATA_PREFIX,
                                             e->len - STORAGE_DATA_PREFIX);
                ret->records++;
        }
        int64_t n = spool_writer_commit(w, err, errlen);
        if (n < 0)
                return (int)n;
        ret->bytes = (uint64_t)n;
        return 0;
}

/* One line per stretch of frames that cannot be sent: (run, why). */
struct unsent {
        bool open;
        uint32_t run;
        enum spool_verdict why;
        uint64_t first_seq, last_seq, n, offset;
};

static void s_unsent_flush(struct unsent *u, const char *path)
{
        if (!u->open)
                return;
        fprintf(stderr, "darkdaqd: spool %s: run %" PRIu32 ": %" PRIu64 " frame(s), seq %" PRIu64
                "..%" PRIu64 " from offset %" PRIu64 ", not sent: %s\n", path, u->run, u->n,
                u->first_seq, u->last_seq, u->offset, spool_verdict_text(u->why));
        u->open = false;
}

static void s_unsent(struct unsent *u, const char *path, const struct spool_frame *f,
                     enum spool_verdict v)
{
        if (u->open && (u->run != f->d.run || u->why != v))
                s_unsent_flush(u, path);
        if (!u->open)
                *u = (struct unsent){ .open = true, .run = f->d.run, .why = v,
                                      .first_seq = f->d.seq, .offset = f->offset };
        u->last_seq = f->d.seq;
        u->n++;
}

#define DAMAGE_LOGGED   20      /* damaged spans named one by one, then only counted */

int publish_spool_load(publish_t *p, const char *dir, struct publish_spool_info *ret, char *err,
                       size_t errlen)
{
        char path[4200];
        uint8_t *buf;
        size_t len;
        struct spool_reader rd;
        struct spool_order ord;
        struct spool_frame f;
        struct spool_damage dmg;
        struct unsent u = { 0 };
        bool in_run = false;
        uint32_t run = 0;
        int r;

        memset(ret, 0, sizeof *ret);
        if (p->e_tail != p->e_head || p->spool_dir) {
                snprintf(err, errlen, "the spool is read only before any record is held");
                return -EBUSY;
        }
        if ((r = spool_read(dir, &buf, &len, err, errlen)) <= 0)
                return r;
        spool_path(dir, path, sizeof path);
        spool_reader_init(&rd, buf, len);
        spool_order_init(&ord, p->sender);
        r = 0;
        for (;;) {
                int k = spool_reader_next(&rd, &f, &dmg);
                if (k == 0)
                        break;
                if (k < 0) {
                        s_unsent_flush(&u, path);
                        if (ret->damaged++ < DAMAGE_LOGGED)
                                fprintf(stderr, "darkdaqd: spool %s: damaged at offset %" PRIu64
                                        ": %s; %" PRIu64 " byte(s) skipped, reading goes on at "
                                        "offset %" PRIu64 "%s\n", path, dmg.offset, dmg.why,
                                        dmg.resume - dmg.offset, dmg.resume,
                                        dmg.resume == len ? " (the end)" : "");
                        continue;
                }
                enum spool_verdict v = spool_order_take(&ord, &f);
                if (v != SPOOL_SEND) {
                        s_unsent(&u, path, &f, v);
                        ret->not_sent++;
                        continue;
                }
                s_unsent_flush(&u, path);
                if (f.kind == SPOOL_RUN_HEADER) {
                        r = s_keep_header(p, f.d.run, f.rec, f.rec_len);
                } else {
                        uint8_t *d = publish_append(p, f.d.run, f.d.seq, f.rec_len);
                        if (d)
                                memcpy(d, f.rec, f.rec_len);
                        else
                                r = -ENOMEM;
                        if (!in_run || run != f.d.run) {
                                in_run = true;
                                run = f.d.run;
                                ret->runs++;
                                if (ret->runs == 1 || run > ret->run_max)
                                        ret->run_max = run;
                        }
                        ret->records++;
                }
                if (r < 0)
                        break;
        }
        s_unsent_flush(&u, path);
        free(buf);
        ret->bytes = len;
        if (r < 0) {
                /* nothing half-loaded goes out: the file stays as it is */
                snprintf(err, errlen, "%s: cannot hold its records: %s", path, strerror(-r));
                return r;
        }
        if (ret->damaged > DAMAGE_LOGGED)
                fprintf(stderr, "darkdaqd: spool %s: %" PRIu64 " damaged spans in all\n", path,
                        ret->damaged);
        if (ret->damaged || ret->not_sent) {
                char kerr[4400];
                if (spool_keep(dir, ret->kept, sizeof ret->kept, kerr, sizeof kerr) < 0) {
                        /* without a copy, a new spool must not replace this one */
                        snprintf(err, errlen, "%s", kerr);
                        return -EIO;
                }
                fprintf(stderr, "darkdaqd: spool %s: the file as it was is kept as %s (nothing "
                        "is ever removed from it)\n", path, ret->kept);
        }
        if (!ret->records) {
                s_prune_headers(p);
                return spool_remove(dir, err, errlen);
        }
        p->spool_dir = strdup(dir);
        if (!p->spool_dir) {
                snprintf(err, errlen, "%s: out of memory", path);
                return -ENOMEM;
        }
        p->spool_end = p->e_tail;
        p->c.spool_loaded = p->c.spool_held = ret->records;
        s_prune_headers(p);
        return 0;
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
        linkwatch_count(p->monitor_link, true, strlen(topic) + len);
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

linkwatch_t *publish_link(publish_t *p, int which)
{
        return which == 0 ? p->storage_link : p->monitor_link;
}

void publish_get_links(const publish_t *p, struct linkwatch_counters *storage,
                       struct linkwatch_counters *monitor)
{
        linkwatch_get_counters(p->storage_link, storage);
        linkwatch_get_counters(p->monitor_link, monitor);
}

uint64_t publish_storage_wait_ms(const publish_t *p, uint64_t now_ms, bool *no_session)
{
        *no_session = p->ses.id == 0;
        if (p->e_head == p->e_tail || (p->ses.id && p->c.store_full))
                return 0;       /* nothing held, or a store that says why it waits */
        uint64_t since = p->held_since_ms;
        uint64_t last = p->ses.id ? p->ses.last_heard_ms : p->ses_ended_ms;
        if (last > since)
                since = last;
        return now_ms > since ? now_ms - since : 0;
}

void publish_get_counters(const publish_t *p, struct publish_counters *ret)
{
        *ret = p->c;
}
