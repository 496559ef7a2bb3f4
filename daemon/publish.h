/* SPDX-License-Identifier: Apache-2.0 */
/* publish: the daemon's two outputs.  Storage: every record, lossless, over
 * a ZeroMQ ROUTER by the protocol of storage_proto.h (channel v2): one
 * store at a time holds a session; each record is held in a bounded window
 * until that session ACKs it, sent again from the oldest unacknowledged one
 * (the run's header first) on every new session, reconnection or silence,
 * held while the store says FULL; the window's fill decides BUSY.  What is
 * still held when darkdaqd exits goes to the spool (spool.h) and is held
 * again from it at the next start.  Monitor: a PUB
 * socket, topic = tag name or "all", sampled by the per-tag prescale, never
 * blocking (samples beyond the high-water mark are dropped and counted).
 * Samples go only to topics someone subscribed to.  Owns the three sockets;
 * knows nothing of events or run control. */
#ifndef DARKDAQ_PUBLISH_H
#define DARKDAQ_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "linkwatch.h"

typedef struct publish publish_t;

struct publish_counters {
        uint64_t records;               /* appended to the window */
        uint64_t sent;                  /* storage sends, re-sends included */
        uint64_t resent;                /* records sent again after a HELLO */
        uint64_t resent_on_connect;     /* ... after a connection's handshake */
        uint64_t resent_on_silence;     /* ... after no ACK for a while */
        uint64_t acked;                 /* records the store acknowledged */
        uint64_t held_records, held_bytes;      /* in the window now */
        uint64_t max_held_bytes;        /* the most ever held */
        uint64_t spilled;               /* records kept on the heap: no room in the window */
        uint64_t hellos, fulls;
        bool store_full;                /* FULL seen, no RESUME yet */
        uint32_t ack_run;               /* the last ACK */
        uint64_t ack_seq;
        bool ack_seen;
        uint64_t monitor_sent;          /* messages (topic + record) */
        uint64_t monitor_dropped;       /* samples not sent: high-water mark reached */
        uint64_t bad_acks;              /* acks that did not parse, or beyond/behind what was sent */
        uint64_t forged;                /* messages naming another session or from another connection */
        uint64_t refused_hellos;        /* HELLOs while another store held the session */
        uint64_t refused_msgs;          /* every message that counted for nothing */
        uint64_t refused_records;       /* records the store NAKed (unreadable) */
        uint64_t sessions;              /* sessions granted */
        uint32_t session;               /* the session now, 0: none */
        uint64_t spool_loaded;          /* records taken from the spool at start */
        uint64_t spool_held;            /* ... of them not yet acknowledged */
};

/* What a spool held or holds. */
struct publish_spool_info {
        uint64_t records;               /* records written / taken to be sent */
        uint64_t bytes;                 /* the spool file's size */
        uint32_t runs;                  /* the runs they belong to */
        uint32_t run_max;               /* the highest run number among them */
        uint64_t damaged;               /* load: damaged spans met */
        uint64_t not_sent;              /* load: good frames that cannot be sent */
        char kept[4300];                /* load: the copy of a spool not taken whole, or "" */
};

/* Binds storage (ROUTER) and monitor (XPUB) of d on zctx, ipc:// ones made
 * 0770; the storage socket goes through auth_apply_server(auth) first (auth
 * may be NULL: local endpoints only).  Returns 0 and *ret, or -errno with
 * err naming the socket and endpoint; -EPERM when auth refuses to serve an
 * endpoint (a configuration error). */
int publish_new(publish_t **ret, void *zctx, const struct daemon_config *d,
                const uint32_t *prescale, auth_t *auth, char *err, size_t errlen);
/* Closes the sockets (linger bounded).  Accepts NULL.  Returns NULL. */
publish_t *publish_free(publish_t *p);

/* ---- storage ---- */

/* Room for a packed record of len bytes as record seq of run: returns where
 * to write it (the protocol prefix is written here).  Never fails for lack of
 * room (a record that does not fit in the window is kept on the heap and
 * counted as spilled); NULL only on out of memory. */
uint8_t *publish_append(publish_t *p, uint32_t run, uint64_t seq, size_t len);
/* Keeps a copy of the open run's header (a packed Record, seq 0), sent
 * first in every new session; the headers of earlier runs stay kept (and
 * sent before it) while the window holds records of them.  Returns 0 or
 * -ENOMEM. */
int publish_set_header(publish_t *p, uint32_t run, const uint8_t *rec, size_t len);
/* Sends what the window holds unsent to the session's store, as far as its
 * queue takes it; nothing without a session. */
void publish_flush(publish_t *p);
/* Takes every waiting message from the storage socket (HELLO, ACK, FULL,
 * RESUME, NAK; a message that is not its session's counts for nothing and
 * is counted) and the socket's connection events, sends again when no ACK
 * came for a while, and flushes.  Returns the number of messages. */
int publish_handle_acks(publish_t *p);
/* May the core take more input?  False when the window is within a margin of
 * storage_buffer_bytes: the core then stops taking from the rings. */
bool publish_can_take(const publish_t *p);
/* BUSY as the window wants it: on above busy_high_bytes or while the store
 * is FULL, off again below busy_low_bytes; in between it keeps its state. */
bool publish_busy(publish_t *p);
/* Has a session's store acknowledged record seq of run? */
bool publish_acked(const publish_t *p, uint32_t run, uint64_t seq);
/* Sockets for the core's zmq_poll: the storage ROUTER, both for POLLIN and
 * (when publish_has_unsent()) POLLOUT. */
void *publish_ack_socket(publish_t *p);
void *publish_storage_socket(publish_t *p);
bool publish_has_unsent(const publish_t *p);
/* Does the window hold records?  Then call publish_handle_acks() now and
 * then, even when no socket wakes the loop (re-send timer). */
bool publish_holds(const publish_t *p);
/* Does it hold records of run?  (A new run of that number would collide
 * with them in the store: (run, sender, seq) names one record.) */
bool publish_holds_run(const publish_t *p, uint32_t run);

/* ---- the spool (proto/storage-channel.md, "The spool") ---- */

/* At exit: writes every held record, in order, with the header of each run
 * they belong to, to dir/spool (temporary name, fsync, rename, fsync of
 * dir); with nothing held, removes dir/spool.  Returns 0 with *ret (what was
 * written), or -errno with err naming the file and the step that failed. */
int publish_spool_save(publish_t *p, const char *dir, struct publish_spool_info *ret, char *err,
                       size_t errlen);
/* At start, before any record: holds the records of dir/spool as
 * unacknowledged, each run's header kept to go first in every session.
 * Every frame is checked: damage and frames that cannot be sent are logged
 * (file, offset, why) and the file as it was kept as dir/spool.kept.N; the
 * good frames are held.  dir/spool is removed once the store has
 * acknowledged all its records (or at once if none can be sent).  Returns 0
 * with *ret (records 0: no spool), or -errno with err naming the file when
 * it cannot be read, copied or held (I/O, memory; never for its bytes). */
int publish_spool_load(publish_t *p, const char *dir, struct publish_spool_info *ret, char *err,
                       size_t errlen);

/* ---- monitor ---- */

/* Offers one event record (packed) with its fired tags (bit (1u << tag)):
 * sent under "all" and under each fired tag whose prescale count comes up,
 * if some subscriber's subscription takes that topic. */
void publish_monitor(publish_t *p, const uint8_t *rec, size_t len, uint32_t fired);
/* Replaces the per-tag prescales (TAG_COUNT_ entries, 0 taken as 1), as a
 * reload does; the counts already seen go on. */
void publish_set_prescale(publish_t *p, const uint32_t *prescale);
/* Takes the subscription messages waiting on the monitor socket (XPUB);
 * call it whenever that socket polls readable.  Returns how many. */
int publish_handle_subscriptions(publish_t *p);
void *publish_monitor_socket(publish_t *p);

void publish_get_counters(const publish_t *p, struct publish_counters *ret);

/* The watch of the storage (which 0) or monitor (1) socket, to poll. */
linkwatch_t *publish_link(publish_t *p, int which);
/* The storage and monitor sockets' connections (linkwatch.h). */
void publish_get_links(const publish_t *p, struct linkwatch_counters *storage,
                       struct linkwatch_counters *monitor);

/* How long (CLOCK_MONOTONIC ms, now_ms from clock_mono_ms()) records have
 * been held with no word from a store: since the window began to hold or
 * since the last session ended, with no session (*no_session); or since the
 * session's store last sent a valid message.  0 when nothing is held or the
 * store says FULL (an alarm of its own). */
uint64_t publish_storage_wait_ms(const publish_t *p, uint64_t now_ms, bool *no_session);

#endif
