/* SPDX-License-Identifier: Apache-2.0 */
/* tagger: reconstruction and the online tags of daemon/physics/README.md, for one built
 * event.  Pure computation: the same records and configuration give the same
 * result, bit for bit.  No I/O, no logging; no allocation once its scratch
 * space has grown to the largest event seen. */
#ifndef DARKDAQ_TAGGER_H
#define DARKDAQ_TAGGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fragment.h"
#include "physics_config.h"
#include "tags.h"

/* One event's input: the fragments the tagger reads (daemon/physics/README.md s.3: of each
 * source its first good fragment, ascending source_id, TEST_PATTERN ones
 * left out by the caller), each a whole fragment that passed frag_check(). */
struct tag_input {
        const uint8_t *const *frags;
        size_t n_frags;
};

typedef struct tagger tagger_t;

/* Creates a tagger with a copy of cfg.  Returns NULL on out of memory. */
tagger_t *tagger_new(const struct physics_config *cfg);
/* Accepts NULL.  Returns NULL. */
tagger_t *tagger_free(tagger_t *t);

/* Tags one event.  *out stays valid (dv candidates) until the next call.
 * Returns 0, or -ENOMEM if scratch space could not grow (out then holds the
 * event quantities of what fitted, no tags). */
int tagger_run(tagger_t *t, const struct tag_input *in, struct tag_result *out);

/* Same as tagger_run() on already-decoded records (for tests and fuzzing). */
int tagger_run_records(tagger_t *t,
                       const struct frag_track *tracks, size_t n_tracks,
                       const struct frag_cluster *clusters, size_t n_clusters,
                       const struct frag_muon *muons, size_t n_muons,
                       struct tag_result *out);

/* ---- darkdaq additions ---- */

/* Counters since tagger_new(). */
struct tagger_counters {
        uint64_t events;                /* tagger_run*() calls */
        uint64_t fired[TAG_COUNT_];     /* events per tag */
        uint64_t tracks;                /* track records read */
        uint64_t bad_tracks;            /* of those, not good */
        uint64_t dv_skipped;            /* events whose vertex search was skipped */
        uint64_t no_memory;             /* events tagged -ENOMEM */
};

void tagger_get_counters(const tagger_t *t, struct tagger_counters *ret);

/* The tagger's copy of its configuration. */
const struct physics_config *tagger_config(const tagger_t *t);

#endif
