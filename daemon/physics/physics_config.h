/* SPDX-License-Identifier: Apache-2.0 */
/* physics_config: every cut and beam parameter of daemon/physics/README.md, with its
 * default, and the key = value setter the configuration loader uses.  Owns
 * names, defaults and parsing only; no I/O, no logging. */
#ifndef DARKDAQ_PHYSICS_CONFIG_H
#define DARKDAQ_PHYSICS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Number of tags (== TAG_COUNT_ of tagger.h, checked there). */
#define PHYSICS_N_TAGS 9

/* Field names are daemon/physics/README.md's configuration keys. */
struct physics_config {
        /* beams and detector (s.1, s.2) */
        double b_field_t;               /* solenoid field along +z */
        double e_her_gev;               /* electron beam energy */
        double e_ler_gev;               /* positron beam energy */
        double crossing_angle_mrad;     /* full angle; each beam tilted by half */
        double r_ecl_cm;                /* calorimeter radius */
        double r_klm_cm;                /* muon system radius */

        /* tracks, muons, clusters (s.2, s.3) */
        double track_min_pt_gev;        /* good track: pt >= this */
        unsigned track_min_hits;        /* good track: n_hits >= this */
        double prompt_d0_cm;            /* prompt: |d0| < this */
        double prompt_z0_cm;            /* prompt: |z0| < this */
        unsigned muon_min_layers;       /* MUON records with layers >= this match */
        double muon_match_rad;          /* muon-track distance < this */
        double cluster_match_rad;       /* cluster-track distance < this */
        double electron_eop_min;        /* electron: E_cl / |p| >= this */
        double photon_min_gev;          /* photon: unmatched cluster E >= this */
        double extra_cluster_min_gev;   /* E_extra counts clusters >= this */
        double barrel_theta_min_rad;    /* barrel acceptance, inclusive */
        double barrel_theta_max_rad;

        /* tags (s.4) */
        double zprime_extra_max_gev;
        double zprime_m2_min_gev2;
        double zprime_m2_max_gev2;
        double mumutautau_mrec_min_gev;
        unsigned fourmu_min_muons;
        double fourmu_photon_max_gev;   /* ours: the "0.2 GeV" photon veto */
        double fourmu_extra_max_gev;
        double fourmu_sqrt_s_window_gev;
        double dv_track_d0_min_cm;
        double dv_max_turn_rad;
        double dv_doca_max_cm;
        double dv_rxy_min_cm;
        double dv_rxy_max_cm;
        double dv_open_min_rad;
        double dv_open_max_rad;
        double veto_ks_gev;
        double veto_lambda_gev;
        double veto_phi_gev;
        double dv_pointing_max_rad;
        unsigned dv_max_tracks;         /* ours: skip the O(n^2) pair search above this */
        double missing_e_min_gev;
        double idm_missing_e_min_gev;
        double single_photon_min_gev;
        double single_photon_extra_max_gev; /* ours: the "0.2 GeV" E_extra cut */
        double three_photon_min_gev;    /* ours: the "0.25" per-photon E* cut */
        double three_photon_window_gev;

        /* monitor sampling (s.5): every prescale[tag]-th tagged event */
        uint32_t prescale[PHYSICS_N_TAGS];
};

enum physics_key_type {
        PHYSICS_KEY_DOUBLE,
        PHYSICS_KEY_UNSIGNED,
        PHYSICS_KEY_PRESCALE,           /* uint32_t >= 1 */
};

/* One configuration key, for the loader's documentation and --help. */
struct physics_config_key {
        const char *name;               /* e.g. "muon_match_rad", "prescale.four_muon" */
        enum physics_key_type type;
        size_t offset;                  /* of the field in struct physics_config */
        const char *unit;               /* "GeV", "rad", "" ... */
        const char *help;               /* one line; "(darkdaq addition)" for darkdaq's own keys */
        double min, max;                /* the values that are physics, inclusive */
};

/* Fills cfg with daemon/physics/README.md's defaults. */
void physics_config_default(struct physics_config *cfg);

/* Sets one key from its text value.  Returns 0; -ENOENT for an unknown key;
 * -EINVAL for a value that does not parse whole or is not finite (unsigned
 * keys take decimal integers, prescales >= 1); -ERANGE for one outside the
 * key's physical range [min, max].  cfg is left unchanged on error.  Doubles
 * also accept "pi", "pi/N" and "pi-X". */
int physics_config_set(struct physics_config *cfg, const char *key, const char *value);

/* The key of that name ("prescale.TAG" for prescales), or NULL. */
const struct physics_config_key *physics_config_find(const char *name);

/* Number of keys, and key i (0 <= i < count), in documentation order. */
size_t physics_config_key_count(void);
const struct physics_config_key *physics_config_key_at(size_t i);

/* Writes the value of key k in cfg as text that physics_config_set() reads
 * back to the same value (for doubles the shortest such form: 0.1, not
 * 0.10000000000000001).  Returns buf. */
const char *physics_config_format(const struct physics_config *cfg,
                                  const struct physics_config_key *k,
                                  char *buf, size_t size);

#endif
