/* tagger: reconstruction and the online tags of physics.md, for one built
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

/* "zprime_invisible", ... as physics.md names them. */
const char *tag_name(enum tag_id id);

struct tag_dv_candidate {
        double r_xy_cm, z_cm, doca_cm, open_rad;
        double m_pipi_gev, m_reduced_pipi_gev;
        bool points_to_ip;
};

/* What the tagger reports for one event (physics.md s.5).  The quantities of
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

        /* darkdaq additions (not in physics.md) */
        bool dv_skipped;                /* more than dv_max_tracks tracks took part in
                                         * the vertex search: it was not run */
        uint32_t n_bad_tracks;          /* tracks that were not good */
};

/* One event's input: the fragments the tagger reads (physics.md s.2: of each
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
