/* SPDX-License-Identifier: Apache-2.0 */
/* reco: from decoded records to particles and event quantities (daemon/physics/README.md
 * s.2-s.3): good and prompt tracks, muon and cluster matching, electrons,
 * photons, mass hypotheses, E_extra and the missing four-momentum.  Pure;
 * its arrays grow to the largest event seen and are reused. */
#ifndef DARKDAQ_RECO_H
#define DARKDAQ_RECO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fragment.h"
#include "kinematics.h"
#include "physics_config.h"

/* A good track. */
struct reco_track {
        uint32_t index;                 /* among all tracks of the event */
        int q;                          /* charge as recorded (+1/-1) */
        double px, py, pz;              /* GeV/c, lab */
        double pt, p;                   /* GeV/c */
        double d0_cm, z0_cm;
        bool prompt;
        bool muon;
        bool electron;
        double e_cl_gev;                /* matched clusters' energy */
        double mass;                    /* hypothesis: m_mu, m_e or m_pi */
        struct kin_p4 p4;               /* lab, with the mass hypothesis */
        bool at_ecl, at_klm;            /* reaches r_ecl / r_klm */
        double rho_cm;                  /* helix radius */
};

/* A photon: a cluster matched to no track, E >= photon_min_gev. */
struct reco_photon {
        uint32_t cluster;               /* index among the event's clusters */
        double e_gev;                   /* lab */
        struct kin_p4 p4;               /* lab, massless */
};

struct reco {
        /* results of the last reco_run() */
        struct reco_track *tracks;      /* good tracks, in index order */
        size_t n_tracks;
        size_t n_bad_tracks;            /* tracks that were not good */
        struct reco_photon *photons;    /* in cluster order */
        size_t n_photons;
        int32_t charge_sum;             /* over good tracks */
        double e_extra_gev;             /* lab */
        struct kin_p4 p_miss;           /* lab: P_beams - tracks - photons */
        struct kin_p4 p_miss_cms;       /* (theta_miss: the tags, when they need it) */

        /* scratch */
        bool fast_xings;                /* every charge +-1: dot products apply */
        bool cuts_cached;               /* the two below are set */
        double cut_rad[2], cut_cos[2];  /* muon, cluster: cos(rad) of the last run */
        size_t cap_tracks, cap_photons;
        int32_t *cluster_match;         /* per cluster: good track or -1 */
        size_t cap_clusters;
};

/* Zeroes r (no allocation until reco_reserve). */
void reco_init(struct reco *r);
/* Frees r's arrays; r is then as after reco_init. */
void reco_release(struct reco *r);

/* Makes room for events of up to n_tracks tracks and n_clusters clusters.
 * Returns 0 or -ENOMEM (capacity then unchanged). */
int reco_reserve(struct reco *r, size_t n_tracks, size_t n_clusters);

/* Reconstructs one event.  n_tracks and n_clusters must not exceed what
 * reco_reserve() made room for. */
void reco_run(struct reco *r, const struct physics_config *cfg,
              const struct kin_beams *beams,
              const struct frag_track *tracks, size_t n_tracks,
              const struct frag_cluster *clusters, size_t n_clusters,
              const struct frag_muon *muons, size_t n_muons);

#endif
