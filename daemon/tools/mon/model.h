/* SPDX-License-Identifier: Apache-2.0 */
/* model: what darkdaq-mon knows and shows.  The daemon's last status reply
 * (parsed), whether the daemon answers, per-source rates worked out between
 * replies, the alarms (counters that should stay zero and do not), and the
 * four histograms filled from the monitor stream, with the fraction of the
 * run's events they saw.  One mutex guards it all: the main thread feeds it,
 * the terminal view and the web thread read it.  No sockets here. */
#ifndef DARKDAQ_MON_MODEL_H
#define DARKDAQ_MON_MODEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "histogram.h"
#include "json.h"
#include "sbuf.h"

enum model_hist { MODEL_H_ZPRIME, MODEL_H_EMISS, MODEL_H_FOURMU, MODEL_H_RXY, MODEL_H_COUNT };

#define MODEL_MAX_SOURCES       64
#define MODEL_MAX_ALARMS        64

struct model_alarm {
        char name[80];                  /* "builder.late", "source board1 bad" */
        uint64_t value;                 /* now */
        uint64_t delta;                 /* since the previous status reply */
};

struct model_source_rate {
        char name[64];                  /* the source's name */
        uint64_t fragments, bytes;      /* at the previous reply */
        double frag_hz, bytes_hz;       /* between the last two replies */
};

typedef struct model {
        pthread_mutex_t lock;           /* guards everything below */
        char control_ep[256];           /* --control */
        char monitor_ep[256];           /* --monitor */
        char web_url[128];              /* "http://HOST:PORT/" or "" */
        char message[320];              /* last export result, for the status line */

        json_t *status;                 /* the last status reply, NULL before the first */
        sbuf_t status_text;             /* its text, as the daemon sent it */
        bool reachable;                 /* the last request was answered in time */
        bool ever_answered;
        int64_t last_answer_ms;         /* CLOCK_MONOTONIC of the last reply */
        int64_t last_status_ms;         /* of the reply before it (rates) */
        uint64_t replies, timeouts;     /* status requests answered, timed out */

        struct model_source_rate rates[MODEL_MAX_SOURCES];
        size_t n_rates;
        struct model_alarm alarms[MODEL_MAX_ALARMS];    /* counters > 0 that should be 0 */
        size_t n_alarms;

        histogram_t *h[MODEL_H_COUNT];  /* filled from the monitor stream */
        uint32_t hist_run;              /* the run they belong to */
        bool hist_run_known;
        uint64_t events_seen;           /* "all" events in them */
        uint64_t seen_at_status;        /* events_seen when the last status reply came */
        uint64_t events_base;           /* daemon's event count when they were reset by hand */
        bool armed;                     /* daemon seen not running: next event starts a run */
        bool stream_reset;              /* the stream started a run the status has not shown */
        uint64_t records, bad_records;  /* monitor messages taken, of them unreadable */
        uint64_t resets;                /* histogram resets, by hand or by run */
} model_t;

/* NULL on out of memory. */
model_t *model_new(const char *control_ep, const char *monitor_ep);
model_t *model_free(model_t *m);

void model_lock(model_t *m);
void model_unlock(model_t *m);

/* A status reply of len bytes at now_ms (CLOCK_MONOTONIC).  Returns 0, or
 * -EINVAL when it is not a JSON object (the model then keeps the old one). */
int model_on_status(model_t *m, const char *text, size_t len, int64_t now_ms);
/* A status request got no reply in time. */
void model_on_timeout(model_t *m);
/* One monitor message: topic and a packed darkdaq.Record.  Only "all" is
 * histogrammed (every event once). */
void model_on_record(model_t *m, const char *topic, size_t topic_len, const void *rec,
                     size_t len);
/* Empties the histograms (the `r` key). */
void model_reset_histograms(model_t *m);

/* Daemon's event count in this run (builder.events) minus the base. */
uint64_t model_events_counted(const model_t *m);
/* seen_at_status / events counted (both as of the last status reply), at
 * most 1; NaN when nothing was counted. */
double model_sampled_fraction(const model_t *m);
/* "daemon unreachable at EP (last answer N s ago)", or "" when reachable. */
void model_unreachable_text(const model_t *m, int64_t now_ms, char *buf, size_t len);

/* Bodies for the web page and the export files.  These lock the model. */
void model_status_json(model_t *m, int64_t now_ms, sbuf_t *out);
void model_histograms_json(model_t *m, sbuf_t *out);
void model_histograms_csv(model_t *m, sbuf_t *out);
/* Writes the histograms to json_path and/or csv_path (either may be NULL),
 * each through a temporary file and rename.  Returns 0 or -errno; the
 * model's message says what was written or what failed. */
int model_export(model_t *m, const char *json_path, const char *csv_path);

#endif
