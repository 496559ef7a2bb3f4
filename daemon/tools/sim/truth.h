/* SPDX-License-Identifier: Apache-2.0 */
/* sim_truth: one line of truth.jsonl per trigger: the process, its true
 * parameters, the trigger number and the injected faults, in the layout of
 * the reference data ({"process": "zprime", "m": 3.0, "trigger": 1,
 * "faults": ["crc:0"]}).  Formatting only; the caller writes the line. */
#ifndef DARKDAQ_SIM_TRUTH_H
#define DARKDAQ_SIM_TRUTH_H

#include <stddef.h>
#include <stdint.h>

#include "sim.h"
#include "writer.h"

/* Formats the line (with its '\n') into buf.  Returns its length, or the
 * length it would need (>= size: truncated), as snprintf does. */
size_t sim_truth_format(char *buf, size_t size, const struct sim_event *ev, uint32_t trigger,
                        const struct sim_fault *faults, unsigned n_faults);

/* The shortest decimal text that reads back as x, with ".0" on integral
 * values (as Python's repr); "NaN"/"Infinity" are not JSON: null. */
const char *sim_truth_number(double x, char *buf, size_t size);

#endif
