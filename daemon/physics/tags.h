/* tags: the online tags of physics.md s.4, evaluated on a reconstructed
 * event.  Pure; the displaced-vertex candidate list grows and is reused. */
#ifndef DARKDAQ_TAGS_H
#define DARKDAQ_TAGS_H

#include <stddef.h>

#include "kinematics.h"
#include "physics_config.h"
#include "reco.h"
#include "tagger.h"

/* Growing storage for displaced-vertex candidates. */
struct tags_dv_store {
        struct tag_dv_candidate *c;
        size_t cap;
};

/* Fills out->fired and every fired tag's quantities (the event quantities
 * n_tracks ... e_miss_gev too).  Returns 0, or -ENOMEM if the candidate
 * list could not grow (out then holds the event quantities, no tags). */
int tags_evaluate(const struct reco *r, const struct physics_config *cfg,
                  const struct kin_beams *beams, struct tags_dv_store *dv,
                  struct tag_result *out);

/* The displaced-vertex candidates of r (physics.md s.4), in pair order, into
 * dv; *ret_n gets their number.  Returns 0, 1 when the search was skipped
 * because more than cfg->dv_max_tracks tracks take part (then *ret_n = 0),
 * or -ENOMEM. */
int tags_dv_search(const struct reco *r, const struct physics_config *cfg,
                   struct tags_dv_store *dv, size_t *ret_n);

#endif
