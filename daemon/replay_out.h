/* replay_out: where the replay's decided events and records go.  A builder
 * sink that writes every record to a run file in the order the builder
 * decided them, and tags the events on a thread of its own: the tagger is
 * the one costly stage, so the caller's thread goes on reading, building,
 * packing and writing meanwhile.  The run file's bytes are the same as
 * tagging inline.  It does no logging: errors come back from
 * replay_out_finish(). */
#ifndef DARKDAQ_REPLAY_OUT_H
#define DARKDAQ_REPLAY_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include "builder.h"
#include "physics_config.h"
#include "record.h"
#include "runfile.h"

typedef struct replay_out replay_out_t;

struct replay_out_options {
        const struct physics_config *physics;   /* NULL: events go untagged */
        runfile_writer_t *writer;       /* open, header written; the caller closes it */
        bool no_thread;                 /* tag on the caller's thread instead */
        size_t ring_bytes;              /* each of the two rings; 0: 16 MiB */
};

/* Starts the tagging thread (unless no_thread or no physics).  Returns 0,
 * -ENOMEM, or -errno from pthread_create. */
int replay_out_new(replay_out_t **ret, const struct replay_out_options *o);

/* The sink to give replay_run(); its callbacks run on the caller's thread. */
struct builder_sink replay_out_sink(replay_out_t *o);

/* Waits until every record handed to the sink is written, and stops the
 * thread.  Returns 0 or the first error: -ENOMEM (tagging or packing) or a
 * write error from the run file (-errno).  After an error, later records
 * are dropped, not written. */
int replay_out_finish(replay_out_t *o);

/* Records written so far. */
uint64_t replay_out_records(const replay_out_t *o);
/* The encoder that packed the events: its tag counts are what
 * record_trailer() and record_tag_counts() need.  Use after
 * replay_out_finish(). */
record_enc_t *replay_out_encoder(replay_out_t *o);

/* Stops the thread if replay_out_finish() was not called.  Accepts NULL;
 * returns NULL. */
replay_out_t *replay_out_free(replay_out_t *o);

#endif
