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

/* Sends one HELLO/ACK/FULL/RESUME message to the daemon. */
typedef void (*store_send_fn)(void *ctx, const struct storage_ack *a);

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

/* Handles one data message.  Returns 0 (written, or skipped as a
 * duplicate or out of order), -EAGAIN (a file had to be opened and the disk
 * is below min_free_bytes: nothing changed, offer the record again later),
 * or -EIO (a write failed, logged: the file is left as NAME.part; call
 * store_disk_ok() later and then say HELLO, so that the daemon sends again). */
int store_data(store_t *s, uint32_t run, uint64_t seq, const uint8_t *rec, size_t len,
               uint64_t now_ms);

/* Whether dir has min_free_bytes free (statvfs); *free_bytes gets the
 * amount (may be NULL). */
bool store_disk_ok(store_t *s, uint64_t *free_bytes);

/* Timers: ACKs due (fsync first), silence closes.  Returns the ms until
 * the next timer (-1: none). */
int store_tick(store_t *s, uint64_t now_ms);

/* Fsyncs every open file and ACKs what is on disk, now. */
void store_ack_now(store_t *s, uint64_t now_ms);

/* Sends HELLO: the daemon sends again every record not yet ACKed.  At
 * start, and by store_tick() (at most once a second) after records came
 * out of order. */
void store_hello(store_t *s, uint64_t now_ms);

/* Pausing (disk below its floor, or a write failed) fsyncs and ACKs what
 * is on disk and sends FULL; silence then closes no run.  Resuming sends
 * RESUME (HELLO after a failed write) and restarts the silence clocks. */
void store_set_paused(store_t *s, bool paused, uint64_t now_ms);

/* Closes every open file with a trailer whose end_reason is reason, and
 * ACKs.  Returns the number of files closed. */
int store_close_all(store_t *s, const char *reason, uint64_t now_ms);

struct store_counters {
        uint64_t runs_open;             /* runs with a file open now */
        uint64_t records_written;       /* records appended to run files since start */
};

/* What the store has done, for STATUS= and logs. */
void store_get_counters(const store_t *s, struct store_counters *ret);

/* Bytes written since the last store_disk_ok() call. */
uint64_t store_bytes_since_check(const store_t *s);

#endif
