/* SPDX-License-Identifier: Apache-2.0 */
/* tagpipe: the tagger on a thread of its own, between the builder and
 * whatever takes the records (the run file in the replay, the storage and
 * monitor sockets in the daemon).  It is a builder sink: events are tagged
 * on the thread while the caller's thread goes on reading and building, and
 * every record (events, late, junk, corrupt) comes back to the caller's
 * emit callback, on the caller's thread, in the order the builder decided
 * it, with the bytes tagging inline would give.  No logging: failures are
 * kept for tagpipe_error(). */
#ifndef DARKDAQ_TAGPIPE_H
#define DARKDAQ_TAGPIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder.h"
#include "physics_config.h"
#include "record.h"

typedef struct tagpipe tagpipe_t;

/* One packed darkdaq.Record, valid during the call.  event: an event
 * record, whose fired tags (bit 1u << tag) are in fired. */
typedef void (*tagpipe_emit_fn)(void *ctx, const uint8_t *rec, size_t len, bool event,
                                uint32_t fired);

struct tagpipe_options {
        const struct physics_config *physics;   /* NULL: events go untagged */
        record_enc_t *enc;              /* the caller's: packs late, junk and corrupt
                                         * records, and counts the fired tags of the
                                         * events it emits (record_get_counters) */
        tagpipe_emit_fn emit;
        void *ctx;                      /* for emit */
        bool no_thread;                 /* tag on the caller's thread instead */
        size_t ring_bytes;              /* each of the two rings; 0: 16 MiB */
};

/* Starts the thread (unless no_thread or no physics).  Returns 0, -ENOMEM,
 * or -errno from pthread_create. */
int tagpipe_new(tagpipe_t **ret, const struct tagpipe_options *o);

/* The sink to give the builder (or replay_run()). */
struct builder_sink tagpipe_sink(tagpipe_t *p);

/* Emits the records the thread has finished and hands it what it has not
 * been told of; never waits.  A caller's loop calls it every turn. */
void tagpipe_poll(tagpipe_t *p);

/* For a loop that sleeps in poll(2) or zmq_poll(): the fd that becomes
 * readable when finished records wait (-1 without a thread).  Call
 * tagpipe_prepare_sleep() just before sleeping: false means records wait
 * now (do not sleep); after the poll, tagpipe_clear_wake(). */
int tagpipe_wake_fd(const tagpipe_t *p);
bool tagpipe_prepare_sleep(tagpipe_t *p);
void tagpipe_clear_wake(tagpipe_t *p);

/* Emits every record handed to the sink so far, waiting for the thread. */
void tagpipe_flush(tagpipe_t *p);

/* The first failure, or 0: -ENOMEM when the tagger ran out of memory (the
 * event was emitted with no tags) or a record could not be packed (that
 * record is lost). */
int tagpipe_error(const tagpipe_t *p);

/* Flushes and stops the thread.  Accepts NULL; returns NULL. */
tagpipe_t *tagpipe_free(tagpipe_t *p);

#endif
