/* SPDX-License-Identifier: Apache-2.0 */
/* source: one configured source = a driver + a thread + a stream reader + a
 * ring to the core thread.  The thread reads bytes from the driver, cuts them
 * into stream items (good, bad and cut fragments, bad magics, junk: every
 * byte once) and copies each item, header fields and bytes, into the ring;
 * when the ring is full it waits, which is the back-pressure on the driver.
 * It never builds events and never logs (errors come back with the END
 * message). */
#ifndef DARKDAQ_SOURCE_H
#define DARKDAQ_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "driver.h"
#include "ring.h"
#include "stream.h"

enum source_msg_kind {
        SOURCE_MSG_ITEM = 1,            /* a stream item; its bytes follow */
        SOURCE_MSG_END = 2,             /* the stream ended (or failed: source_error) */
        SOURCE_MSG_NOTE = 3,            /* a line from the driver for the log; item.bytes
                                           bytes of text follow, no NUL */
};

/* One ring message: this header, then item.bytes bytes (item.data is not
 * set: it points right after the header, see source_msg_data()). */
struct source_msg {
        uint32_t kind;                  /* enum source_msg_kind */
        uint32_t reserved;
        struct stream_item item;        /* SOURCE_MSG_ITEM */
};

static inline const uint8_t *source_msg_data(const struct source_msg *m)
{
        return (const uint8_t *)(m + 1);
}

/* The source thread's longest wait in the driver or for room in the ring. */
#define SOURCE_READ_TIMEOUT_MS  100

/* Counters of one source: monotonic since source_new() unless named. */
struct source_counters {
        uint64_t bytes;                 /* read from the driver */
        uint64_t fragments;             /* good fragments */
        uint64_t bad;                   /* bad or cut fragments, bad magics */
        uint64_t junk;                  /* junk runs */
        uint64_t junk_bytes;
        uint64_t ring_waits;            /* times the thread found the ring full */
        uint64_t busy_ms;               /* time with BUSY asserted */
        uint64_t last_activity_ms;      /* CLOCK_MONOTONIC of the last bytes; 0: none */
        bool busy;                      /* BUSY asserted now */
        bool running;                   /* the thread runs */
        uint64_t resets;                /* streams broken by the driver (unplugs) */
        struct driver_health health;    /* the driver's, as of its last read */
};

typedef struct source source_t;

/* Opens cfg's driver (found by name) for stream index `index`, with a ring
 * of ring_bytes.  Returns 0 and *ret (err then holds the driver's note for
 * the log, "source \"NAME\" (DRIVER): ...", or ""), or -errno with err
 * filled ("source \"NAME\": ..."). */
int source_new(source_t **ret, const struct source_config *cfg, uint32_t index,
               size_t ring_bytes, char *err, size_t errlen);
/* Aborts and joins the thread if it runs, closes the driver.  Accepts NULL.
 * Returns NULL. */
source_t *source_free(source_t *s);

/* RUN on: starts the driver and the thread with a fresh stream reader
 * (offsets from 0).  Returns 0 or -errno with err filled. */
int source_start(source_t *s, char *err, size_t errlen);
/* RUN off: the driver stops; the thread passes on what is still in flight,
 * then an END message, and exits. */
void source_stop(source_t *s);
/* Makes the thread exit now, even with a full ring (reset, exit), and joins
 * it.  What it had not passed on is lost: only for giving up a run. */
void source_abort(source_t *s);
/* Joins a thread that has sent END.  Call after the core took that END. */
void source_join(source_t *s);

/* BUSY on/off on the driver (the core thread). */
void source_busy(source_t *s, bool on);

ring_t *source_ring(source_t *s);
const char *source_name(const source_t *s);
const char *source_driver_name(const source_t *s);
/* The error that ended the stream ("" if it ended normally); valid after the
 * core took END. */
const char *source_error(const source_t *s);

void source_get_counters(const source_t *s, uint64_t now_ms, struct source_counters *ret);

/* The thread's liveness stamp (CLOCK_MONOTONIC ms): when it last returned
 * from the driver (with bytes or after a read that timed out: the board had
 * nothing) or waited for room in the ring.  It is at most about
 * SOURCE_READ_TIMEOUT_MS old while the thread runs; older means the thread
 * itself got no CPU (or the whole process was stopped), so the board's
 * silence cannot be judged.  Items the thread took before its stamp are in
 * the ring (acquire). */
uint64_t source_alive_ms(const source_t *s);

#endif
