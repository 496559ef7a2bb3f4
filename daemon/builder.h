/* SPDX-License-Identifier: Apache-2.0 */
/* builder: joins fragments into events by trigger number, by the rules of
 * the rules set out below and in builder.c.  Pure: no I/O, no logging,
 * time comes in from the caller.
 * Everything that goes in comes out, once: as an event, a late record, a
 * junk record or a corrupt record.  Open events live in a pool that grows to
 * the limits and is then reused: no allocation per event in steady state. */
#ifndef DARKDAQ_BUILDER_H
#define DARKDAQ_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fragment.h"
#include "stream.h"

/* Event status bits, in the order of proto/README.md s.1 (and proto Status). */
enum ev_status {
        EV_COMPLETE      = 1u << 0,
        EV_INCOMPLETE    = 1u << 1,
        EV_DUPLICATE     = 1u << 2,
        EV_CORRUPT       = 1u << 3,
        EV_TIME_MISMATCH = 1u << 4,
        EV_TRUNCATED     = 1u << 5,
        EV_BUSY_SEEN     = 1u << 6,
        EV_TEST_PATTERN  = 1u << 7,
};
#define EV_STATUS_COUNT 8
/* "complete", "incomplete", ... for bit b. */
const char *ev_status_name(unsigned bit);

/* Past max_open_events or max_open_bytes (0: no limit) the oldest open
 * events are decided as they stand (complete only if they hold a good
 * fragment from every expected source, which is rare), counted in
 * forced_by_*; a fragment that comes later for a decided trigger is a late
 * record.  The pool of event slots grows to max_open_events + 1. */
struct builder_config {
        uint64_t expected;              /* bit s: source s is expected */
        uint32_t build_timeout_ms;      /* silent live source; 0: never */
        uint32_t max_open_events;       /* default 4096 */
        uint64_t max_open_bytes;        /* default 256 MiB */
        uint64_t time_tolerance_ticks;  /* default 0 */
};
void builder_config_default(struct builder_config *cfg);

/* One fragment of an event, in arrival order within its source. */
struct built_frag {
        const uint8_t *data;            /* whole fragment, verbatim */
        uint32_t bytes;
        uint8_t source;
        uint16_t flags;
        bool good;                      /* false: corrupt (bad CRC or content) */
        uint32_t stream;
        uint64_t offset;
};

struct built_event {
        uint32_t trigger;
        uint64_t time_ticks;
        uint32_t trigger_bits;
        uint32_t status;                /* enum ev_status bits */
        uint64_t sources;               /* bit s: some fragment from s */
        uint64_t missing;               /* expected sources with no good fragment */
        const struct built_frag *frags; /* ascending source, then arrival */
        size_t n_frags;
        /* For the tagger: each source's first good fragment, ascending
         * source, TEST_PATTERN ones left out. */
        const uint8_t *const *tag_frags;
        size_t n_tag_frags;
};

struct built_late {
        uint32_t stream;
        uint64_t offset;
        uint8_t source;
        uint32_t trigger;
        const uint8_t *data;
        uint32_t bytes;
};

struct built_junk {
        uint32_t stream;
        uint64_t offset;
        const uint8_t *data;
        size_t bytes;
        const char *reason;             /* for people */
};

struct built_corrupt {
        uint32_t stream;
        uint64_t offset;
        uint8_t source;                 /* as read */
        uint32_t trigger;               /* as read */
        const uint8_t *data;
        uint32_t bytes;
        const char *reason;
};

/* Where decided things go.  Pointers are valid during the call only.  The
 * callbacks must not call back into the builder. */
struct builder_sink {
        void *ctx;
        void (*event)(void *ctx, const struct built_event *ev);
        void (*late)(void *ctx, const struct built_late *late);
        void (*junk)(void *ctx, const struct built_junk *junk);
        void (*corrupt)(void *ctx, const struct built_corrupt *c);
};

/* A source found out of step: its trigger numbers are off by offset from the
 * others' (its fragment for trigger T carries the time of trigger T+offset),
 * from first_trigger on.  A board that misses one trigger and stays one
 * behind labels the next trigger's data with the missed number: offset +1
 * (tests/data/desync: source 2, offset +1, first_trigger 101).  A board that
 * invents a trigger runs ahead: offset -1.  The builder only reports this;
 * it never realigns data.  Found by a majority vote on trigger_time in each
 * decided event: after a source disagreed in 4 events in a row, offsets
 * +-1..16 are tried against the reference times of the events around. */
struct builder_out_of_step {
        uint8_t source;
        int32_t offset;
        uint32_t first_trigger;
};

/* Counters, all monotonic over the builder's life. */
struct builder_counters {
        uint64_t events, complete, incomplete, duplicate, corrupt_events;
        uint64_t time_mismatch, truncated, busy_seen, test_pattern;
        uint64_t fragments, good_fragments;
        uint64_t late, junk, junk_bytes, corrupt;       /* records */
        uint64_t forced_by_events, forced_by_bytes, forced_by_timeout;
        /* late fragments of a trigger decided without any fragment, so that
         * it has no event: its sources were silent past the timeout (or a
         * limit forced later events out) and then delivered it */
        uint64_t late_without_event;
        uint64_t bytes_in;              /* every byte given to the builder */
        uint64_t bytes_out;             /* every byte handed to the sink */
        uint64_t out_of_step;           /* diagnoses made (builder_out_of_step) */
        uint64_t per_source_fragments[64];
        uint64_t per_source_late[64];
        uint64_t per_source_missing[64];
        uint64_t per_source_late_without_event[64];
        uint64_t per_source_timeouts[64];       /* events decided without it by timeout */
};

typedef struct builder builder_t;

builder_t *builder_new(const struct builder_config *cfg, const struct builder_sink *sink);
builder_t *builder_free(builder_t *b);  /* accepts NULL, returns NULL */

/* Takes one item from the stream reader of input stream (index) stream, at
 * time now_ms (CLOCK_MONOTONIC; ignored when build_timeout_ms is 0).  The
 * item's bytes are copied if kept: the item need live only during the call.
 * Decided events and records go to the sink before it returns.  Returns 0,
 * or -ENOMEM (the item's bytes then went out as a corrupt record). */
int builder_add(builder_t *b, uint32_t stream, const struct stream_item *item,
                uint64_t now_ms);

/* Source s will deliver nothing more (end of its last replay file). */
void builder_source_ended(builder_t *b, unsigned source);

/* Lets time pass: decides events waiting on sources silent for
 * build_timeout_ms, measured on now_ms from each source's last item.  Only
 * here are timeouts applied (builder_add and builder_source_ended decide
 * only what every source has moved past): call it once the items that were
 * delivered up to now_ms have been added, so that no trigger whose
 * fragments were waiting is decided out of existence.  A live caller's
 * now_ms counts only time in which silence was observed (live.c). */
void builder_tick(builder_t *b, uint64_t now_ms);

/* End of run: decides every open event. */
void builder_flush(builder_t *b);

/* Copies the counters into *ret (a few hundred words: call it at status and
 * metrics time, not per item). */
void builder_get_counters(const builder_t *b, struct builder_counters *ret);

/* Sources found out of step so far (at most 64, one entry per source, the
 * latest diagnosis); returns how many.  counters.out_of_step grows by one at
 * each new diagnosis, so a caller can log it once. */
size_t builder_out_of_step(const builder_t *b, const struct builder_out_of_step **ret);

/* Open events and their bytes now (for status and metrics). */
size_t builder_open_events(const builder_t *b);
uint64_t builder_open_bytes(const builder_t *b);

#endif
