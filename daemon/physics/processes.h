/* SPDX-License-Identifier: Apache-2.0 */
/* processes: the names of the physics processes darkdaq-sim generates and
 * the parser of a process list ("mix", a name, or "name[:weight],...").
 * Shared by the simulator and by the sim driver, which checks a source's
 * `process` key when the configuration loads rather than when the run
 * starts.  Pure: no I/O, no allocation. */
#ifndef DARKDAQ_PROCESSES_H
#define DARKDAQ_PROCESSES_H

#include <stddef.h>

enum sim_process_id {
        SIM_P_ZPRIME,
        SIM_P_MUMU,
        SIM_P_MUMUTAUTAU,
        SIM_P_FOURMU,
        SIM_P_TAU1X3,
        SIM_P_DISPLACED,
        SIM_P_IDM,
        SIM_P_SINGLE_PHOTON,
        SIM_P_THREE_PHOTON,
        SIM_P_BHABHA,
        SIM_P_QQBAR,
        SIM_P_COUNT_
};

/* Name of a process, as --process takes it; NULL past the end. */
const char *sim_process_name(unsigned id);

/* Default weight of a process in "mix" (weights need not sum to 1). */
double sim_process_mix_weight(unsigned id);

/* One line describing a process and its parameters, for --help. */
const char *sim_process_help(unsigned id);

/* Adds the weights spec selects to weight[] (zeroed by the caller): "mix"
 * adds every process's mix weight, "name" adds 1, "name:w" adds w (finite,
 * >= 0).  Returns 0, or -EINVAL with a message for people in err naming the
 * token ("--process: unknown process \"x\""), also when spec selects no
 * process or is over 511 characters. */
int sim_process_parse(const char *spec, double weight[SIM_P_COUNT_], char *err,
                      size_t err_size);

#endif
