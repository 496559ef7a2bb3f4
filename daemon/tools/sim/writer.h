/* SPDX-License-Identifier: Apache-2.0 */
/* sim_writer: records -> one fragment per board per trigger, written to
 * per-board sinks or to one interleaved sink, with the faults a real
 * readout shows injected at the configured rates (and reported, so the
 * truth file can say which fragment got which). */
#ifndef DARKDAQ_SIM_WRITER_H
#define DARKDAQ_SIM_WRITER_H

#include <stdint.h>

#include "sim.h"
#include "sink.h"

enum sim_fault_kind {
        SIM_FAULT_CRC,          /* one bit flipped in payload or CRC */
        SIM_FAULT_MISSING,      /* the board sent no fragment */
        SIM_FAULT_DUP,          /* the fragment twice, back to back */
        SIM_FAULT_LATE,         /* the fragment after the board's one LATE_BY triggers later */
        SIM_FAULT_JUNK,         /* 4..64 bytes of garbage (multiple of 4) before it */
        SIM_FAULT_TRUNC,        /* TRUNCATED flag set (payload left whole) */
        SIM_FAULT_BUSY,         /* BUSY_SEEN flag set */
        SIM_FAULT_DESYNC,       /* the board missed this trigger and stays one behind */
        SIM_FAULT_COUNT_
};

#define SIM_WRITER_LATE_BY      3
#define SIM_WRITER_MAX_BOARDS   64

struct sim_fault {
        uint8_t kind;           /* enum sim_fault_kind */
        uint8_t board;
};

struct sim_writer_config {
        unsigned n_boards;              /* 1..64: 0 tracks, 1 clusters, 2 muons, 3.. raw */
        uint32_t raw_bytes;             /* RAW block size of boards >= 3, multiple of 4 */
        double rate[SIM_FAULT_COUNT_];  /* per fragment probability; DESYNC unused */
        int desync_board;               /* -1 for none */
        uint64_t desync_at;             /* trigger index the board misses */
        uint64_t n_triggers;            /* how many will be written (late needs later ones) */
        uint64_t seed;                  /* for the fault, board-order and RAW streams */
};

typedef struct sim_writer sim_writer_t;

/* Short name of a fault as truth.jsonl writes it: "crc", "missing", "dup",
 * "late", "junk", "truncflag", "busy", "desync". */
const char *sim_fault_name(unsigned kind);

/* Creates a writer onto n_sinks sinks: n_boards of them (board b to sinks[b])
 * or 1 (every board interleaved, board order shuffled per trigger).  The
 * sinks stay the caller's.  Returns NULL on out of memory or a bad config. */
sim_writer_t *sim_writer_new(const struct sim_writer_config *cfg, sim_sink_t **sinks,
                             unsigned n_sinks);

/* Accepts NULL.  Returns NULL. */
sim_writer_t *sim_writer_free(sim_writer_t *w);

/* Writes trigger number `trigger` (index `index`, counting from 0) with
 * trigger time `time_ticks` and the records of rec.  Fills faults[] (room
 * for SIM_FAULT_COUNT_ * n_boards) and *n_faults with what was injected.
 * Returns 0, or -errno from a sink (sim_writer_failed() names it). */
int sim_writer_trigger(sim_writer_t *w, uint64_t index, uint32_t trigger, uint64_t time_ticks,
                       const struct sim_records *rec, struct sim_fault *faults,
                       unsigned *n_faults);

/* Writes the late fragments still held.  Returns 0 or -errno. */
int sim_writer_finish(sim_writer_t *w);

/* Name of the sink whose write failed, or NULL. */
const char *sim_writer_failed(const sim_writer_t *w);

#endif
