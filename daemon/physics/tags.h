/* SPDX-License-Identifier: Apache-2.0 */
/* tags: the online tags of daemon/physics/README.md s.4: their ids and names, what they
 * report for one event, and their evaluation on a reconstructed event.
 * Pure; the displaced-vertex candidate list grows and is reused.  Code that
 * needs only the ids, names or results includes this header, not tagger.h. */
#ifndef DARKDAQ_TAGS_H
#define DARKDAQ_TAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "physics_config.h"

struct kin_beams;                       /* kinematics.h */
struct reco;                            /* reco.h */

enum tag_id {
        TAG_ZPRIME_INVISIBLE,
        TAG_MUMU_TAUTAU,
        TAG_FOUR_MUON,
        TAG_TAU_1X3,
        TAG_DISPLACED_VERTEX,
        TAG_MISSING_ENERGY,
        TAG_IDM_DARK_HIGGS,
        TAG_SINGLE_PHOTON,
        TAG_THREE_PHOTON,
        TAG_COUNT_
};

/* "zprime_invisible", ... as daemon/physics/README.md names them. */
const char *tag_name(enum tag_id id);

struct tag_dv_candidate {
        double r_xy_cm, z_cm, doca_cm, open_rad;
        double m_pipi_gev, m_reduced_pipi_gev;
        bool points_to_ip;
};

/* What the tagger reports for one event (daemon/physics/README.md s.4).  The quantities of
 * a tag are meaningful only when its bit is set in fired. */
struct tag_result {
        uint32_t fired;                 /* bit (1u << enum tag_id) */
        uint32_t n_tracks;              /* good tracks */
        int32_t charge_sum;
        uint32_t n_photons;
        double e_extra_gev;             /* lab */
        double e_miss_gev;              /* CMS */

        struct { double recoil_m2_gev2, recoil_theta_rad; } zprime;
        struct { double recoil_m_gev[4]; unsigned n; } mumutautau;  /* ascending */
        struct { double dimuon_m_gev[4]; unsigned n; } fourmu;      /* ascending */
        struct { char lepton[3]; double thrust, x_lepton; } tau1x3; /* "e"/"mu" */
        struct { const struct tag_dv_candidate *c; size_t n; } dv;  /* tagger-owned */
        struct { double e_miss_gev, theta_miss_rad, m2_miss_gev2; } missing;
        struct { double photon_e_gev, recoil_m2_gev2; } single_photon;
        struct { double diphoton_m_gev[3]; } three_photon;          /* ascending */

        /* darkdaq additions (not in daemon/physics/README.md) */
        bool dv_skipped;                /* more than dv_max_tracks tracks took part in
                                         * the vertex search: it was not run */
        uint32_t n_bad_tracks;          /* tracks that were not good */
};

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

/* The displaced-vertex candidates of r (daemon/physics/README.md s.4), in pair order, into
 * dv; *ret_n gets their number.  Returns 0, 1 when the search was skipped
 * because more than cfg->dv_max_tracks tracks take part (then *ret_n = 0),
 * or -ENOMEM. */
int tags_dv_search(const struct reco *r, const struct physics_config *cfg,
                   struct tags_dv_store *dv, size_t *ret_n);

#endif
