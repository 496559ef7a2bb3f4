/* SPDX-License-Identifier: Apache-2.0 */
/* clock: the two clocks every darkdaq program reads, as integers.
 * CLOCK_MONOTONIC for intervals, timeouts, deadlines and rates; CLOCK_REALTIME
 * only for the wall-clock times a run file records.  Header only, no state. */
#ifndef DARKDAQ_CLOCK_H
#define DARKDAQ_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds: for intervals and deadlines, never a date. */
static inline uint64_t clock_mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in milliseconds, rounded down (clock_mono_ns() / 10^6). */
static inline uint64_t clock_mono_ms(void)
{
        return clock_mono_ns() / 1000000u;
}

/* CLOCK_REALTIME in nanoseconds since the epoch: the start_time_ns and
 * end_time_ns of run headers and trailers; it may step, so never an interval. */
static inline uint64_t clock_real_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
