/* SPDX-License-Identifier: Apache-2.0 */
/* sim_det: particles -> the records the boards send.  A charged particle
 * becomes a TRACK at its point of closest approach (helix model of
 * daemon/physics/README.md), a CLUSTER and, for a muon, a MUON record at the helix
 * crossing of r_ecl and r_klm; photons give CLUSTERs.  Smeared, quantised
 * to keV, um and urad.  Pure computation on a caller's rng. */
#ifndef DARKDAQ_SIM_DETECTOR_H
#define DARKDAQ_SIM_DETECTOR_H

#include <stdbool.h>

#include "physics_config.h"
#include "rng.h"
#include "sim.h"

#define SIM_TRIG_TWO_TRACKS     0x001u  /* >= 2 tracks of pt >= 0.1 GeV/c */
#define SIM_TRIG_ECL_SUM        0x002u  /* cluster energies sum to >= 1 GeV */
#define SIM_TRIG_ECL_HIGH       0x004u  /* one cluster >= 1 GeV */
#define SIM_TRIG_KLM            0x008u  /* a MUON record */
#define SIM_TRIG_ALWAYS         0x100u  /* set on every trigger */

struct sim_det {
        double b_field_t;
        double r_ecl_cm;
        double r_klm_cm;
        bool noise;                     /* add 0-2 low-energy noise clusters */
};

void sim_det_init(struct sim_det *d, const struct physics_config *cfg);

/* Fills *out with the records of ev (lab frame), in a shuffled order, and
 * the trigger bits they give. */
void sim_det_event(const struct sim_det *d, struct sim_rng *r, const struct sim_event *ev,
                   struct sim_records *out);

/* Helix parameters at the point of closest approach to the beam line of a
 * particle of charge q and lab momentum p produced at v (daemon/physics/README.md s.4's
 * model): direction phi0 there, signed d0 and z0 in cm. */
void sim_det_poca(double b_field_t, struct kin_p4 p, int q, struct kin_v3 v,
                  double *ret_phi0, double *ret_d0_cm, double *ret_z0_cm);

#endif
