/* SPDX-License-Identifier: Apache-2.0 */
/* sim_rng: xoshiro256** (Blackman and Vigna, public domain algorithm)
 * seeded by splitmix64.  Owns the random stream; knows nothing of physics. */
#include "rng.h"

#include <math.h>

#include "sim.h"

static uint64_t s_splitmix64(uint64_t *x)
{
        uint64_t z = (*x += 0x9E3779B97F4A7C15ull);

        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
}

static inline uint64_t s_rotl(uint64_t x, int k)
{
        return (x << k) | (x >> (64 - k));
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
        uint64_t x = seed ^ s_splitmix64(&stream);

        for (int i = 0; i < 4; i++)
                r->s[i] = s_splitmix64(&x);
        if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
                r->s[0] = 1;
}

uint64_t sim_rng_u64(struct sim_rng *r)
{
        uint64_t *s = r->s;
        uint64_t result = s_rotl(s[1] * 5, 7) * 9;
        uint64_t t = s[1] << 17;

        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s_rotl(s[3], 45);
        return result;
}

double sim_rng_uniform(struct sim_rng *r)
{
        return (double)(sim_rng_u64(r) >> 11) * 0x1.0p-53;
}

double sim_rng_range(struct sim_rng *r, double lo, double hi)
{
        return lo + (hi - lo) * sim_rng_uniform(r);
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
        uint64_t limit = -n % n;        /* 2^64 mod n: reject below it */
        uint64_t x;

        do
                x = sim_rng_u64(r);
        while (x < limit);
        return x % n;
}

double sim_rng_gauss(struct sim_rng *r)
{
        double u1 = 1.0 - sim_rng_uniform(r);   /* (0, 1] */
        double u2 = sim_rng_uniform(r);

        return sqrt(-2.0 * log(u1)) * cos(2.0 * SIM_PI * u2);
}

double sim_rng_exp(struct sim_rng *r)
{
        return -log(1.0 - sim_rng_uniform(r));
}
