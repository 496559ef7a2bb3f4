/* SPDX-License-Identifier: Apache-2.0 */
/* sim: what the simulator's modules share: particle kinds, one generated
 * event (particles and truth parameters) and the detector records of one
 * trigger.  Plain data, no functions. */
#ifndef DARKDAQ_SIM_H
#define DARKDAQ_SIM_H

/* Same seed, same bytes: keep the compiler from fusing a*b+c into an FMA
 * on machines that have one (GCC contracts by default in gnu11 mode). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <stdbool.h>
#include <stdint.h>

#include "fragment.h"
#include "kinematics.h"

#define SIM_PI                  KIN_PI
#define SIM_MAX_PARTICLES       96
#define SIM_MAX_PARAMS          8
#define SIM_MAX_TRACKS          64
#define SIM_MAX_CLUSTERS        128
#define SIM_MAX_MUONS           64

/* What a final-state particle leaves in the detector. */
enum sim_kind {
        SIM_ELECTRON,           /* track, cluster E/p ~ 1 */
        SIM_MUON,               /* track, MIP cluster, MUON record */
        SIM_PION,               /* track, MIP or hadronic cluster */
        SIM_KAON,
        SIM_PROTON,
        SIM_PHOTON,             /* cluster */
        SIM_INVISIBLE,          /* nothing: neutrinos, Z', chi1, alpha */
        SIM_DECAYED,            /* decays into the particles that name it parent */
};

struct sim_particle {
        enum sim_kind kind;
        int charge;             /* -1, 0, +1 */
        double mass_gev;
        struct kin_p4 p;        /* CMS while generating, lab afterwards */
        struct kin_v3 v;        /* production vertex, lab, cm */
        struct kin_v3 end;      /* decay vertex of a SIM_DECAYED, lab, cm */
        int parent;             /* index in the event, -1 for a primary */
        double ctau_cm;         /* proper decay length of a SIM_DECAYED, 0 = at once */
};

/* One truth parameter: a number, or a string when str is not NULL. */
struct sim_param {
        const char *key;
        const char *str;
        double value;
};

struct sim_event {
        const char *process;    /* "zprime", ... */
        struct sim_param params[SIM_MAX_PARAMS];
        unsigned n_params;
        struct sim_particle part[SIM_MAX_PARTICLES];    /* parents before children */
        unsigned n_part;
};

/* One trigger's detector output, in the units of the records. */
struct sim_records {
        struct frag_track tracks[SIM_MAX_TRACKS];
        unsigned n_tracks;
        struct frag_cluster clusters[SIM_MAX_CLUSTERS];
        unsigned n_clusters;
        struct frag_muon muons[SIM_MAX_MUONS];
        unsigned n_muons;
        uint32_t trigger_bits;  /* level-1 pattern derived from the records */
};

#endif
