/* SPDX-License-Identifier: Apache-2.0 */
/* sim_gen: the physics processes.  Turns a process name (or a weighted mix)
 * into one event's particles: generated in the CMS as simple phase space,
 * boosted to the lab with the beams of daemon/physics/README.md, long-lived particles
 * flown to their decay vertex.  Pure computation on a caller's rng. */
#ifndef DARKDAQ_SIM_GEN_H
#define DARKDAQ_SIM_GEN_H

#include <stddef.h>

#include "physics_config.h"
#include "processes.h"
#include "rng.h"
#include "sim.h"

struct sim_gen {
        struct kin_beams beams;         /* lab beams and the CMS boost */
        struct kin_v3 axis_cms;         /* electron beam direction in the CMS */
        double weight[SIM_P_COUNT_];    /* relative weights of the processes drawn */
        double weight_sum;
        double mass_gev;                /* --mass, or NAN for each process's default */
        double ctau_cm;                 /* proper decay length of S and h' */
};

/* Sets up g for spec ("mix", a process name, or "name[:weight],..."), mass
 * (NAN for defaults) and ctau_cm (> 0), with the beams of cfg.  Returns 0,
 * or -EINVAL with a message for people in err (naming the process or value). */
int sim_gen_init(struct sim_gen *g, const struct physics_config *cfg, const char *spec,
                 double mass_gev, double ctau_cm, char *err, size_t err_size);

/* Generates one event into *ev (lab frame, vertices placed). */
void sim_gen_event(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev);

#endif
