/* SPDX-License-Identifier: Apache-2.0 */
/* sim_rng: the simulator's seeded pseudo-random numbers (xoshiro256**,
 * seeded through splitmix64).  Integer arithmetic only for the raw stream,
 * so a seed gives the same numbers on every machine; never rand(). */
#ifndef DARKDAQ_SIM_RNG_H
#define DARKDAQ_SIM_RNG_H

#include <stdint.h>

struct sim_rng {
        uint64_t s[4];                  /* xoshiro256** state, never all 0 */
};

/* Seeds r from (seed, stream): distinct streams of one seed are independent
 * sequences, so fault injection never shifts the physics stream. */
void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream);

/* Next 64 random bits. */
uint64_t sim_rng_u64(struct sim_rng *r);

/* Uniform in [0, 1), 53 random bits. */
double sim_rng_uniform(struct sim_rng *r);

/* Uniform in [lo, hi). */
double sim_rng_range(struct sim_rng *r, double lo, double hi);

/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);

/* Standard normal (Box-Muller, one value per call: the stream position
 * never depends on earlier calls). */
double sim_rng_gauss(struct sim_rng *r);

/* Exponential with mean 1. */
double sim_rng_exp(struct sim_rng *r);

#endif
