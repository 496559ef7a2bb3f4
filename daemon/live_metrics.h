/* SPDX-License-Identifier: Apache-2.0 */
/* live_metrics: darkdaqd's GET /metrics catalogue (proto/storage-channel.md): the
 * snapshot of every figure it shows, and one table of metric families that
 * renders it.  live.c fills the snapshot from its loop and owns the locking;
 * this module knows nothing of the loop.  Pure: no I/O, no locks, no clock.
 * Adding a metric is adding a field here (if the snapshot lacks it), a line
 * in live.c that fills it, and a row in live_metrics.c's table. */
#ifndef DARKDAQ_LIVE_METRICS_H
#define DARKDAQ_LIVE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder.h"
#include "config.h"
#include "control.h"
#include "linkwatch.h"
#include "prom.h"
#include "publish.h"
#include "source.h"
#include "tags.h"

/* What /metrics shows of one configured source. */
struct live_metrics_source {
        char name[CONFIG_NAME_MAX];     /* [source.NAME] */
        bool open;                      /* configured (the counters are live) */
        struct source_counters c;
        uint64_t silences;
        uint64_t stalls;                /* its thread got no CPU, since configure */
        bool stalled;                   /* ... and it does now */
        uint64_t ring_used, ring_capacity;      /* bytes */
};

/* A copy of every figure /metrics shows, each count a uint64_t as the
 * Prometheus text takes it.  Every _total is cumulative over the process's
 * life (a run shorter than the scrape interval still shows in rate());
 * the figures of one run are the darkdaq_run_* gauges, reset at start. */
/* The sockets between programs, in the order of live_link_names. */
enum { LIVE_LINK_CONTROL, LIVE_LINK_STORAGE, LIVE_LINK_MONITOR, LIVE_LINKS };
extern const char *const live_link_names[LIVE_LINKS];

struct live_metrics_snapshot {
        enum control_state state;
        uint64_t run;                   /* the run going on, or the last one */
        uint64_t run_ms;                /* its duration so far */
        size_t n_sources;
        struct live_metrics_source src[CONFIG_MAX_SOURCES];    /* over the life */
        bool have_builder;              /* a run is going on or took place */
        struct builder_counters bc;     /* every run's, summed over the life */
        uint64_t tags[TAG_COUNT_];      /* events per tag, over the life */
        uint64_t records_total;         /* records made, over the life */
        struct builder_counters run_bc; /* that run's: what its trailer carries */
        uint64_t run_tags[TAG_COUNT_];  /* that run's events per tag */
        double ev_rate_hz, tag_rate_hz[TAG_COUNT_];
        uint64_t open_events;
        uint64_t open_bytes, records;   /* records: of that run (next seq) */
        size_t n_oos;
        struct builder_out_of_step oos[64];
        bool busy;
        uint64_t busy_ms;               /* BUSY asserted, over the daemon's life */
        struct publish_counters pc;
        uint64_t storage_buffer_bytes;
        bool storage_gone;              /* records held, no store taking them */
        uint64_t storage_gone_ms;       /* for how long */
        uint64_t storage_alarms;        /* times that began, over the daemon's life */
        uint64_t auth_refusals;         /* over the daemon's life */
        struct linkwatch_counters links[LIVE_LINKS];    /* control, storage, monitor */
        uint64_t links_age_ms[LIVE_LINKS];      /* time since connected last changed */
};

/* sum += x, field by field: the counts of a run (or of a source closed at
 * reset) added to those over the process's life. */
void live_metrics_add_builder(struct builder_counters *sum, const struct builder_counters *x);
void live_metrics_add_source(struct live_metrics_source *sum, const struct live_metrics_source *x);

/* Writes every family of the catalogue into p, in the table's order: HELP
 * and TYPE lines, then the samples s gives (a per-source family has one
 * sample per source of s, possibly none).  Returns 0; a mistake in the
 * table or running out of memory shows in prom_error(p). */
int live_metrics_render(prom_t *p, const struct live_metrics_snapshot *s);

#endif
