/* SPDX-License-Identifier: Apache-2.0 */
/* store: what darkdaq-store does with the records of the storage channel
 * (storage_proto.h), apart from the sockets: one state per run (its header,
 * the highest seq on disk, the open file), dedup of re-sent records, files
 * opened, rotated and closed with trailers, ACKs when due, silence closes,
 * and the recovery of files a killed store left as NAME.part.  Sends
 * through a callback; logs one line per significant event on stderr. */
#ifndef DARKDAQ_STORE_H
#define DARKDAQ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage_proto.h"
#include "store_config.h"

typedef struct store store_t;

/* Sends one HELLO/ACK/FULL/RESUME/NAK message to the daemon. */
typedef void (*store_send_fn)(void *ctx, const struct storage_ctl *c);

/* "darkdaq-store: " and the message, one line on stderr. */
void store_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens cfg->dir.  cfg is read as it is at each use, so that a reload can
 * change min_free_bytes, silence_close_ms and ack_interval_ms in place;
 * max_file_bytes and max_file_seconds are read as each file opens.
 * Returns 0 and *ret, or -errno (the directory cannot be
 * opened: a runtime failure for the caller to report). */
int store_new(store_t **ret, const struct store_config *cfg, store_send_fn send, void *ctx);

/* Closes nothing: call store_close_all() first.  Accepts NULL; returns NULL. */
store_t *store_free(store_t *s);

/* Renames every NAME.part left in dir to NAME (read to its last whole
 * frame, without a trailer), with its sidecar, and logs what it found. */
void store_recover(store_t *s);

/* Handles one message from the daemon: a WELCOME (the session it names
 * becomes ours) or a data message of our session (another session's, or one
 * whose sender is not the session's, is dropped and counted).  A record
 * that does not parse as a Record, or whose run does not fit, is not
 * written: it goes to the run's reject file run-NNNNNN.rejects and is NAKed.
 * A run's first file is opened only by its run header.  Returns 0 (written,
 * refused, or skipped as a duplicate or out of order), -EAGAIN (the
 * record, and closing or opening the file it goes to, would take the disk
 * below what store_disk_ok() wants: nothing changed, offer the record again
 * later), or -EIO (a write, fsync or close failed, logged: the file is cut
 * back to its last durable frame; pause, store_retry() once the disk check
 * passes, and resume: the daemon is asked to send again). */
int store_message(store_t *s, const uint8_t *msg, size_t len, uint64_t now_ms);

/* The connection to the daemon was made again (it may be a new daemon):
 * says HELLO; the WELCOME that answers it decides the session. */
void store_reconnected(store_t *s, uint64_t now_ms);

/* Has a WELCOME given us a session?  (A paused store still reads its
 * socket until one has, so that it can say FULL.) */
bool store_has_session(const store_t *s);

/* What the store refused or dropped so far. */
struct store_counters {
        uint64_t sessions;              /* WELCOMEs that gave a new session */
        uint64_t bad_messages;          /* neither a data message nor a WELCOME */
        uint64_t other_session;         /* data of another session, or before any */
        uint64_t other_sender;          /* data whose sender is not the session's */
        uint64_t rejected;              /* records NAKed and kept in a reject file */
        uint64_t headerless;            /* records of a run whose header was never seen */
        uint64_t header_conflicts;      /* different run headers for a run on disk */
        uint64_t runs_open;             /* runs with a file open now */
        uint64_t records_written;       /* records appended to run files since start */
};
/* What the store has done, for STATUS=, logs and tests. */
void store_get_counters(const store_t *s, struct store_counters *ret);

/* Whether dir has store_disk_wanted() bytes free (statvfs); *free_bytes
 * gets the amount (may be NULL). */
bool store_disk_ok(store_t *s, uint64_t *free_bytes);

/* What store_disk_ok() wants free: min_free_bytes and room to close the
 * open files, and while paused resume_margin_bytes more (hysteresis: one
 * FULL and one RESUME per fill and free). */
uint64_t store_disk_wanted(const store_t *s);

/* Is a file left by a write, fsync or close error still to be closed? */
bool store_has_broken(const store_t *s);

/* Closes the files that errors left (cut back to their last durable frame;
 * removed if only their header was): call while paused, before resuming.
 * Returns 0 when none is left, or the first -errno (logged). */
int store_retry(store_t *s, uint64_t now_ms);

/* Timers: ACKs due (fsync first), silence closes.  Returns the ms until
 * the next timer (-1: none). */
int store_tick(store_t *s, uint64_t now_ms);

/* Fsyncs every open file and ACKs what is on disk, now. */
void store_ack_now(store_t *s, uint64_t now_ms);

/* Sends HELLO: asks for a session (and the daemon sends again every record
 * not yet ACKed).  At start, and by store_tick() (at most once a second)
 * while no WELCOME came or after records came out of order. */
void store_hello(store_t *s, uint64_t now_ms);

/* Pausing (disk below its floor, or a write failed) fsyncs and ACKs what
 * is on disk and sends FULL; silence then closes no run.  Resuming sends
 * RESUME (after a HELLO when a write failed, so that the daemon sends again
 * what was lost) and restarts the silence clocks. */
void store_set_paused(store_t *s, bool paused, uint64_t now_ms);

/* Closes every open file with a trailer whose end_reason is reason, and
 * ACKs.  Returns the number of files closed. */
int store_close_all(store_t *s, const char *reason, uint64_t now_ms);

/* Bytes written since the last store_disk_ok() call. */
uint64_t store_bytes_since_check(const store_t *s);

#endif
