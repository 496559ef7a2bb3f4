/* SPDX-License-Identifier: Apache-2.0 */
/* live: the core thread.  Items leave the rings in trigger order across
 * sources as far as it can tell: a stream more than LEAD_TRIGGERS ahead of
 * the slowest live stream waits (its ring fills, its thread blocks, its
 * board is throttled), so the builder's open events stay within bounds.  The
 * builder's clock stops while BUSY is asserted or the storage window is
 * full, so that throttling never looks like a silent source. */
#include "live.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <zmq.h>

#include "auth.h"
#include "builder.h"
#include "clock.h"
#include "control.h"
#include "live_metrics.h"
#include "metrics.h"
#include "notify.h"
#include "publish.h"
#include "record.h"
#include "runstate.h"
#include "sha256.h"
#include "source.h"
#include "spool.h"
#include "tagpipe.h"
#include "tags.h"

#define LOOP_TIMEOUT_MS         100     /* tick, silence and rate checks while running */
#define BATCH_ITEMS             1024    /* items per loop turn before sockets are served */
#define LOG_WINDOW_MS           10000
#define LOG_PER_WINDOW          30
#define REPLY_BYTES             (64u << 10)
#define SNAPSHOT_MS             100     /* the metrics snapshot is at most this old */
#define STATUS_NOTIFY_MS        1000    /* STATUS= while running, at most this often */
/* A gap longer than this between two steps of the core's loop (which wakes at
 * least every LOOP_TIMEOUT_MS while running) means the core did not run. */
#define CLOCK_MAX_STEP_MS       (2 * LOOP_TIMEOUT_MS + 50)
/* A source thread whose liveness stamp is this old got no CPU: stalled. */
#define STALL_MS                (2 * SOURCE_READ_TIMEOUT_MS + 50)
#define FORCED_LOG_MS           1000    /* forced decisions: a line per burst, at most this often */
#define RELOADS_MAX             16      /* reloads listed in one run's trailer */
#define RELOAD_TEXT_BYTES       768     /* what a reload changed, as logged and in the trailer */

struct stream_state {
        source_t *src;
        bool ended;                     /* END taken this run */
        bool has_trigger;               /* some good fragment taken this run */
        uint32_t last_trigger;          /* of the last good fragment taken */
        uint64_t last_take_ms;          /* builder clock of the last item taken */
        uint64_t ids;                   /* bit s: source id s seen in good fragments */
        bool silent;                    /* reported silent */
        uint64_t silences;
        uint64_t activity_seen_ms;      /* the source's last_activity_ms, as last seen */
        uint64_t activity_clock_ms;     /* the builder's clock when it changed */
        bool stalled;                   /* its thread got no CPU: reported stalled */
        uint64_t stalls;                /* times it was, since configure */
        uint64_t stalled_since_ms;
        uint64_t boards;                /* ids its driver says it plays (sim); 0: unknown */
};

/* A reload of the configuration during a run, for its trailer. */
struct reload {
        Darkdaq__Reload rec;
        char hash[SHA256_HEX_BYTES];
        char changed[RELOAD_TEXT_BYTES];
};

struct live {
        const struct darkdaq_config *cfg;       /* as loaded at start (run headers) */
        const char *cfg_path;           /* read again on SIGHUP; NULL: no reloads */
        uint32_t silence_warn_ms;       /* [daemon] silence_warn_ms, as last reloaded */
        uint32_t storage_warn_ms;       /* [daemon] storage_warn_ms, as last reloaded */
        bool storage_gone;              /* records held, no store taking them (s_check_storage) */
        uint64_t storage_gone_ms;       /* for how long, at the last check */
        uint64_t storage_logged_ms;     /* when it was last logged */
        uint64_t storage_alarms;        /* times it began, over the daemon's life */
        uint32_t prescale[TAG_COUNT_];  /* [prescale], as last reloaded */
        struct reload reloads[RELOADS_MAX];     /* during this run */
        Darkdaq__Reload *reload_ptrs[RELOADS_MAX];
        size_t n_reloads;
        void *zctx;
        auth_t *auth;                   /* CURVE keys and the ZAP thread */
        metrics_t *metrics;             /* GET /metrics; NULL: off */
        pthread_mutex_t snap_lock;      /* guards snap */
        bool snap_lock_init;
        struct live_metrics_snapshot snap;      /* written by the core under snap_lock */
        struct live_metrics_snapshot snap_render;       /* libmicrohttpd's thread only */
        uint64_t snap_at_ms;            /* when snap was last refreshed */
        uint64_t wd_interval_ms;        /* WATCHDOG=1 this often; 0: no watchdog */
        uint64_t wd_next_ms;            /* next WATCHDOG=1 due */
        uint64_t status_at_ms;          /* last STATUS= while running */
        bool notify_failed;             /* a notification failed (logged once) */
        uint64_t busy_total_ms, busy_since_ms;  /* BUSY over the daemon's life */
        void *ctl_sock;                 /* REP */
        linkwatch_t *ctl_link;          /* its connections: refusals, heartbeats */
        publish_t *pub;
        int sigfd;
        control_t ctl;
        struct stream_state st[CONFIG_MAX_SOURCES];
        size_t n_st;                    /* sources open (configured) */
        uint32_t lead_triggers;         /* how far a stream may run ahead */
        /* the run */
        builder_t *b;
        tagpipe_t *tp;                  /* the tagger, on its own thread */
        record_enc_t *enc;
        uint32_t run;
        uint64_t seq;                   /* next record's sequence number */
        uint64_t run_start_ms;
        int enc_error;                  /* first encoding failure of the run */
        /* The builder's clock (s_advance_clock): it runs only while silence
         * can be observed, so that sources time out for silence measured
         * where it happens, never for the core's or their threads' stall. */
        bool paused;                    /* BUSY or the storage window full */
        uint64_t refused_base;          /* the store's NAKs before this run began */
        uint64_t clock_ms;              /* the builder's clock */
        uint64_t clock_at_ms;           /* CLOCK_MONOTONIC of its last step */
        uint64_t core_ok_since_ms;      /* the core has run without a gap since */
        /* forced decisions, logged once per burst (s_log_forced) */
        struct builder_counters forced_logged;
        uint64_t forced_log_at_ms;
        bool busy;
        uint64_t oos_seen;
        /* rates over ~1 s windows */
        uint64_t rate_at_ms, rate_events, rate_tags[TAG_COUNT_];
        double ev_rate, tag_rate[TAG_COUNT_];
        /* log rate limit */
        uint64_t log_window_ms;
        unsigned log_lines;
        uint64_t log_suppressed;
        /* the last run's figures, for status after stop */
        bool have_last;
        struct builder_counters last_bc;
        uint64_t last_tags[TAG_COUNT_];
        uint64_t last_records, last_run_ms;
        struct builder_out_of_step last_oos[64];
        size_t last_n_oos;
        /* /metrics' _total counters: runs ended, sources closed, summed */
        struct builder_counters life_bc;
        uint64_t life_tags[TAG_COUNT_];
        uint64_t life_records;
        struct live_metrics_source src_life[CONFIG_MAX_SOURCES];        /* by config index */
        bool quit;
        int exit_status;
        char reply[REPLY_BYTES];
};

static void s_log(live_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_log(live_t *l, const char *fmt, ...)
{
        uint64_t now = clock_mono_ms();
        va_list ap;

        if (now - l->log_window_ms >= LOG_WINDOW_MS) {
                if (l->log_suppressed)
                        fprintf(stderr, "darkdaqd: %" PRIu64 " log lines suppressed in the last "
                                "%u s\n", l->log_suppressed, LOG_WINDOW_MS / 1000);
                l->log_window_ms = now;
                l->log_lines = 0;
                l->log_suppressed = 0;
        }
        if (++l->log_lines > LOG_PER_WINDOW) {
                l->log_suppressed++;
                return;
        }
        fputs("darkdaqd: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static uint64_t s_bclock(const live_t *l, uint64_t now)
{
        (void)now;
        return l->clock_ms;
}

/* ---- the service manager (sd_notify) ----------------------------------- */

static void s_notified(live_t *l, int r, const char *what)
{
        if (r < 0 && !l->notify_failed) {
                l->notify_failed = true;
                s_log(l, "sd_notify: sending %s to $NOTIFY_SOCKET failed: %s; the service goes "
                      "on (later failures are not logged)", what, strerror(-r));
        }
}

/* Sends WATCHDOG=1 when due.  Returns the ms until the next one is due, or
 * -1 without a watchdog. */
static int s_watchdog(live_t *l, uint64_t now)
{
        if (!l->wd_interval_ms)
                return -1;
        if (now >= l->wd_next_ms) {
                s_notified(l, notify_watchdog(), "WATCHDOG=1");
                l->wd_next_ms = now + l->wd_interval_ms;
        }
        return (int)(l->wd_next_ms - now);
}

/* A poll timeout (ms, -1: none) cut to the next WATCHDOG=1, sending it first
 * if it is due: the loop never sleeps past it. */
static int s_poll_timeout(live_t *l, int timeout_ms)
{
        int wd = s_watchdog(l, clock_mono_ms());
        return wd >= 0 && (timeout_ms < 0 || wd < timeout_ms) ? wd : timeout_ms;
}

/* STATUS= for systemctl status: the state, and while running the events so far. */
static void s_notify_status(live_t *l, uint64_t now)
{
        struct builder_counters run_bc;
        const struct builder_counters *bc = &l->last_bc;
        int r = 0;

        if (l->b) {
                builder_get_counters(l->b, &run_bc);
                bc = &run_bc;
        }

        l->status_at_ms = now;
        switch (l->ctl.state) {
        case CONTROL_IDLE:
                r = notify_status("idle");
                break;
        case CONTROL_CONFIGURED:
                if (l->have_last)
                        r = notify_status("configured, %zu source%s; run %" PRIu32 " stopped: %"
                                          PRIu64 " events", l->n_st, l->n_st == 1 ? "" : "s",
                                          l->ctl.run, bc->events);
                else
                        r = notify_status("configured, %zu source%s", l->n_st,
                                          l->n_st == 1 ? "" : "s");
                break;
        case CONTROL_RUNNING:
                r = notify_status("running run %" PRIu32 ": %" PRIu64 " events, %.0f/s%s",
                                  l->ctl.run, bc->events, l->ev_rate, l->busy ? ", BUSY" : "");
                break;
        case CONTROL_ERROR:
                r = notify_status("error: %s", l->ctl.reason);
                break;
        }
        s_notified(l, r, "STATUS=");
}

/* ---- records ------------------------------------------------------------ */

static void s_put_record(live_t *l, const Darkdaq__Record *rec)
{
        if (!rec) {
                l->enc_error = l->enc_error ? l->enc_error : -ENOMEM;
                return;
        }
        size_t len = darkdaq__record__get_packed_size(rec);
        uint8_t *d = publish_append(l->pub, l->run, l->seq, len);
        if (!d) {
                l->enc_error = l->enc_error ? l->enc_error : -ENOMEM;
                return;
        }
        darkdaq__record__pack(rec, d);
        if (rec->body_case == DARKDAQ__RECORD__BODY_RUN_HEADER &&
            publish_set_header(l->pub, l->run, d, len) < 0)
                l->enc_error = l->enc_error ? l->enc_error : -ENOMEM;
        l->seq++;
}

/* Every record of the run but header and trailer, in the builder's order,
 * from the tagging thread (tagpipe.h). */
static void s_emit(void *ctx, const uint8_t *rec, size_t len, bool event, uint32_t fired)
{
        live_t *l = ctx;
        uint8_t *d = publish_append(l->pub, l->run, l->seq, len);

        if (!d) {
                l->enc_error = l->enc_error ? l->enc_error : -ENOMEM;
                return;
        }
        memcpy(d, rec, len);
        l->seq++;
        if (event)
                publish_monitor(l->pub, rec, len, fired);
}

/* Emits what the tagging thread has finished. */
static void s_collect(live_t *l)
{
        tagpipe_poll(l->tp);
        if (tagpipe_error(l->tp) && !l->enc_error)
                l->enc_error = tagpipe_error(l->tp);
}

/* ---- sources ---------------------------------------------------------- */

static void s_close_sources(live_t *l)
{
        uint64_t now = clock_mono_ms();
        for (size_t i = 0; i < l->n_st; i++) {
                struct live_metrics_source x = { .silences = l->st[i].silences,
                                                 .stalls = l->st[i].stalls };
                source_get_counters(l->st[i].src, now, &x.c);
                live_metrics_add_source(&l->src_life[i], &x);
                source_free(l->st[i].src);
        }
        memset(l->st, 0, sizeof l->st);
        l->n_st = 0;
}

static int s_configure(live_t *l, char *msg, size_t len)
{
        const struct darkdaq_config *cfg = l->cfg;
        char notes[520] = "";  /* "; " and the first note */
        size_t n_notes = 0;

        if (cfg->n_sources == 0) {
                snprintf(msg, len, "no [source.NAME] section in the configuration");
                return -EINVAL;
        }
        for (size_t i = 0; i < cfg->n_sources; i++) {
                struct stream_state *s = &l->st[i];
                int r = source_new(&s->src, &cfg->sources[i], (uint32_t)i, cfg->daemon.ring_bytes,
                                   msg, len);
                if (r < 0) {
                        s_close_sources(l);
                        return r;
                }
                if (msg[0]) {   /* the driver's note: a board not there yet */
                        s_log(l, "%s", msg);
                        if (!n_notes++)
                                snprintf(notes, sizeof notes, "; %s", msg);
                }
                s->boards = config_source_boards(&cfg->sources[i]);
                l->n_st = i + 1;
        }
        snprintf(msg, len, "configured %zu source%s%s%s", l->n_st, l->n_st == 1 ? "" : "s", notes,
                 n_notes > 1 ? " (and more: see the log)" : "");
        return 0;
}

/* Serial-arithmetic distance a - b (RFC 1982). */
static int32_t s_diff(uint32_t a, uint32_t b)
{
        return (int32_t)(a - b);
}

/* Is stream i too far ahead of the slowest stream that still delivers? */
static bool s_too_far_ahead(const live_t *l, size_t i, uint64_t bnow)
{
        const struct stream_state *s = &l->st[i];
        uint32_t timeout = l->cfg->builder.build_timeout_ms;

        if (!s->has_trigger)
                return false;
        for (size_t j = 0; j < l->n_st; j++) {
                const struct stream_state *o = &l->st[j];
                if (j == i || o->ended)
                        continue;
                /* a stream silent for build_timeout_ms no longer holds others back */
                if (timeout && bnow - o->last_take_ms >= timeout)
                        continue;
                if (!o->has_trigger || s_diff(s->last_trigger, o->last_trigger) >
                                       (int32_t)l->lead_triggers)
                        return true;
        }
        return false;
}

/* Source ids no stream still running will deliver: ended for the builder. */
static void s_stream_ended(live_t *l, size_t i)
{
        struct stream_state *s = &l->st[i];
        uint64_t ids = s->ids | s->boards;

        s->ended = true;
        for (size_t j = 0; j < l->n_st; j++)
                if (!l->st[j].ended)
                        ids &= ~l->st[j].ids;
        for (unsigned id = 0; id < 64; id++)
                if (ids >> id & 1)
                        builder_source_ended(l->b, id);
        const char *e = source_error(s->src);
        if (e[0]) {
                s_log(l, "source \"%s\" (%s): %s; its stream ends here, the run goes on",
                      source_name(s->src), source_driver_name(s->src), e);
        } else {
                s_log(l, "source \"%s\" (%s): end of its stream", source_name(s->src),
                      source_driver_name(s->src));
        }
}

/* Takes items from the rings into the builder.  Returns true if there may
 * be more to take right now (the batch ran out). */
static bool s_pump(live_t *l, uint64_t now)
{
        unsigned taken = 0;
        bool progress = true;
        uint64_t bnow = s_bclock(l, now);

        while (progress && taken < BATCH_ITEMS) {
                progress = false;
                for (size_t i = 0; i < l->n_st && taken < BATCH_ITEMS; i++) {
                        struct stream_state *s = &l->st[i];
                        size_t len;
                        if (s->ended || !publish_can_take(l->pub) || s_too_far_ahead(l, i, bnow))
                                continue;
                        const struct source_msg *m = ring_peek(source_ring(s->src), &len);
                        if (!m)
                                continue;
                        progress = true;
                        taken++;
                        s->last_take_ms = bnow;
                        if (m->kind == SOURCE_MSG_END) {
                                ring_release(source_ring(s->src));
                                s_stream_ended(l, i);
                                continue;
                        }
                        if (m->kind == SOURCE_MSG_NOTE) {
                                s_log(l, "source \"%s\" (%s): %.*s", source_name(s->src),
                                      source_driver_name(s->src), (int)m->item.bytes,
                                      (const char *)source_msg_data(m));
                                ring_release(source_ring(s->src));
                                continue;
                        }
                        struct stream_item it = m->item;
                        it.data = source_msg_data(m);
                        if (it.kind == STREAM_FRAGMENT) {
                                s->has_trigger = true;
                                s->last_trigger = it.hdr.trigger;
                                s->ids |= 1ull << it.hdr.source_id;
                        }
                        builder_add(l->b, (uint32_t)i, &it, bnow);
                        ring_release(source_ring(s->src));
                }
        }
        return taken >= BATCH_ITEMS;
}

/* ---- BUSY, silence, rates ---------------------------------------------- */

static void s_update_pause(live_t *l, uint64_t now)
{
        (void)now;
        l->paused = l->busy || !publish_can_take(l->pub);
}

static void s_update_busy(live_t *l, uint64_t now)
{
        bool want = publish_busy(l->pub);
        if (want != l->busy) {
                struct publish_counters pc;
                publish_get_counters(l->pub, &pc);
                for (size_t i = 0; i < l->n_st; i++)
                        source_busy(l->st[i].src, want);
                l->busy = want;
                if (want)
                        l->busy_since_ms = now;
                else
                        l->busy_total_ms += now - l->busy_since_ms;
                for (size_t i = 0; !want && i < l->n_st; i++)
                        l->st[i].activity_clock_ms = l->clock_ms;  /* throttled is not silent */
                if (want)
                        s_log(l, "BUSY asserted on every source: %" PRIu64 " bytes held for the "
                              "store (high mark %" PRIu64 ")%s", pc.held_bytes,
                              l->cfg->daemon.busy_high_bytes, pc.store_full ? ", store FULL" : "");
                else
                        s_log(l, "BUSY cleared: %" PRIu64 " bytes held (low mark %" PRIu64 ")",
                              pc.held_bytes, l->cfg->daemon.busy_low_bytes);
        }
        s_update_pause(l, now);
}

/* How long the source has been silent on the builder's clock: time in which
 * its thread ran and its driver had nothing, BUSY excluded. */
static uint64_t s_silent_ms(live_t *l, struct stream_state *s, const struct source_counters *c)
{
        if (c->last_activity_ms != s->activity_seen_ms) {
                s->activity_seen_ms = c->last_activity_ms;
                s->activity_clock_ms = l->clock_ms;
        }
        return l->clock_ms - s->activity_clock_ms;
}

static void s_check_silence(live_t *l, uint64_t now)
{
        for (size_t i = 0; i < l->n_st; i++) {
                struct stream_state *s = &l->st[i];
                struct source_counters c;
                if (s->ended || s->stalled)
                        continue;       /* a stalled thread says nothing of its board */
                source_get_counters(s->src, now, &c);
                uint64_t silent_ms = s_silent_ms(l, s, &c);
                bool silent = !l->busy && silent_ms >= l->silence_warn_ms;
                if (silent && !s->silent) {
                        s->silences++;
                        s_log(l, "source \"%s\" (%s): silent for %" PRIu64 " ms in run %" PRIu32,
                              source_name(s->src), source_driver_name(s->src), silent_ms, l->run);
                } else if (!silent && s->silent && !l->busy) {
                        s_log(l, "source \"%s\": sending again", source_name(s->src));
                }
                s->silent = silent;
        }
}

/* Records held with no store to take them (no session, or a session whose
 * store said nothing) for storage_warn_ms or longer: logged when it begins
 * and once per storage_warn_ms while it lasts, shown in status and /metrics,
 * cleared (and logged) when a store takes records again.  Runs in and out of
 * a run: records the store did not confirm stay held after a stop. */
static void s_check_storage(live_t *l, uint64_t now)
{
        bool no_session;
        uint64_t wait = publish_storage_wait_ms(l->pub, now, &no_session);
        bool gone = wait >= l->storage_warn_ms;
        struct publish_counters pc;

        if (gone && (!l->storage_gone || now - l->storage_logged_ms >= l->storage_warn_ms)) {
                publish_get_counters(l->pub, &pc);
                if (!l->storage_gone)
                        l->storage_alarms++;
                s_log(l, "storage: %s for %" PRIu64 " ms while %" PRIu64 " records (%" PRIu64
                      " bytes) are held; storage endpoint %s", no_session ? "no store has a "
                      "session" : "the session's store has said nothing", wait, pc.held_records,
                      pc.held_bytes, l->cfg->daemon.storage);
                l->storage_logged_ms = now;
        } else if (!gone && l->storage_gone) {
                publish_get_counters(l->pub, &pc);
                s_log(l, "storage: a store takes records again (session %08" PRIx32 ", %" PRIu64
                      " records held)", pc.session, pc.held_records);
        }
        l->storage_gone = gone;
        l->storage_gone_ms = gone ? wait : 0;
}

static void s_update_rates(live_t *l, uint64_t now)
{
        if (!l->b || now - l->rate_at_ms < 1000)
                return;
        double dt = (double)(now - l->rate_at_ms) / 1000.0;
        struct builder_counters bc;
        builder_get_counters(l->b, &bc);
        struct record_counters rc;
        record_get_counters(l->enc, &rc);
        const uint64_t *tc = rc.tags;
        l->ev_rate = (double)(bc.events - l->rate_events) / dt;
        l->rate_events = bc.events;
        for (unsigned t = 0; t < TAG_COUNT_; t++) {
                l->tag_rate[t] = (double)(tc[t] - l->rate_tags[t]) / dt;
                l->rate_tags[t] = tc[t];
        }
        l->rate_at_ms = now;
}

static void s_check_oos(live_t *l)
{
        struct builder_counters bc;
        builder_get_counters(l->b, &bc);
        if (bc.out_of_step == l->oos_seen)
                return;
        l->oos_seen = bc.out_of_step;
        const struct builder_out_of_step *oos;
        size_t n = builder_out_of_step(l->b, &oos);
        for (size_t i = 0; i < n; i++)
                s_log(l, "source %u is out of step: its fragment for trigger T carries the time "
                      "of trigger T%+" PRId32 ", from trigger %" PRIu32 "; events flagged "
                      "time_mismatch, data not realigned", oos[i].source, oos[i].offset,
                      oos[i].first_trigger);
}

/* ---- the builder's clock and forced decisions --------------------------- */

/* Steps the builder's clock to now.  It advances by the time since its last
 * step only when that time was observed: the core itself ran (no gap longer
 * than CLOCK_MAX_STEP_MS: a stopped process or a starved core thread), it
 * took every item the sources had put in their rings (drained), nothing
 * throttled the boards (paused), and every running source's thread ran
 * recently (its liveness stamp is younger than STALL_MS).  A source is
 * therefore silent only for time in which its own thread ran and its driver
 * had no bytes; a stopped or starved process never makes a board look
 * silent.  A thread whose stamp is older while the core itself runs is
 * reported stalled, distinct from a board that stopped. */
static void s_advance_clock(live_t *l, uint64_t now, bool drained)
{
        uint64_t dt = now > l->clock_at_ms ? now - l->clock_at_ms : 0;
        bool seen = drained && !l->paused && dt <= CLOCK_MAX_STEP_MS;

        l->clock_at_ms = now;
        if (dt > CLOCK_MAX_STEP_MS) {
                s_log(l, "the core thread did not run for %" PRIu64 " ms (process stopped or "
                      "starved): that time does not count as silence of any source", dt);
                l->core_ok_since_ms = now;
        }
        /* judge the threads only once the core has run for STALL_MS itself:
         * after a stop of the whole process they need a moment too */
        bool judge = now - l->core_ok_since_ms >= STALL_MS;
        for (size_t i = 0; i < l->n_st; i++) {
                struct stream_state *s = &l->st[i];
                if (s->ended)
                        continue;
                uint64_t alive = source_alive_ms(s->src);
                bool stale = now > alive && now - alive >= STALL_MS;
                if (stale)
                        seen = false;
                if (stale && judge && !s->stalled) {
                        s->stalled = true;
                        s->stalls++;
                        s->stalled_since_ms = alive;
                        s_log(l, "source \"%s\" (%s): stalled: its thread (or its board's "
                              "process on this host) got no CPU for %" PRIu64 " ms (host "
                              "overloaded?); no event is decided against it meanwhile",
                              source_name(s->src), source_driver_name(s->src), now - alive);
                } else if (!stale && s->stalled) {
                        s->stalled = false;
                        s_log(l, "source \"%s\": its thread runs again after %" PRIu64 " ms",
                              source_name(s->src), alive - s->stalled_since_ms);
                }
        }
        if (seen)
                l->clock_ms += dt;
}

/* The stream that carries source id, or NULL. */
static const struct stream_state *s_stream_of(const live_t *l, unsigned id)
{
        for (size_t i = 0; i < l->n_st; i++)
                if ((l->st[i].ids | l->st[i].boards) >> id & 1)
                        return &l->st[i];
        return NULL;
}

/* Appends to buf the sources whose per-source counter grew since logged. */
static void s_forced_sources(const live_t *l, const uint64_t *now_c, const uint64_t *was,
                             char *buf, size_t len)
{
        size_t n = 0;
        buf[0] = '\0';
        for (unsigned id = 0; id < 64 && n + 1 < len; id++) {
                if (now_c[id] == was[id])
                        continue;
                const struct stream_state *st = s_stream_of(l, id);
                int w = snprintf(buf + n, len - n, "%s%u%s%s%s (%" PRIu64 ")", n ? ", " : "", id,
                                 st ? " [" : "", st ? source_name(st->src) : "", st ? "]" : "",
                                 now_c[id] - was[id]);
                if (w < 0 || (size_t)w >= len - n)
                        break;
                n += (size_t)w;
        }
}

/* Says, at most once per FORCED_LOG_MS, how many events were decided without
 * waiting for every source since the last such line, and why. */
static void s_log_forced(live_t *l, uint64_t now, bool force)
{
        struct builder_counters now_c, *bc = &now_c;
        struct builder_counters *was = &l->forced_logged;
        char who[512];

        builder_get_counters(l->b, &now_c);

        if (bc->forced_by_timeout == was->forced_by_timeout &&
            bc->forced_by_events == was->forced_by_events &&
            bc->forced_by_bytes == was->forced_by_bytes &&
            bc->late_without_event == was->late_without_event)
                return;
        if (!force && now - l->forced_log_at_ms < FORCED_LOG_MS)
                return;
        if (bc->forced_by_timeout != was->forced_by_timeout) {
                s_forced_sources(l, bc->per_source_timeouts, was->per_source_timeouts, who,
                                 sizeof who);
                s_log(l, "%" PRIu64 " event%s decided without waiting for silent source%s %s: "
                      "silent for build_timeout_ms (%" PRIu32 " ms) while their threads ran",
                      bc->forced_by_timeout - was->forced_by_timeout,
                      bc->forced_by_timeout - was->forced_by_timeout == 1 ? "" : "s",
                      strchr(who, ',') ? "s" : "", who, l->cfg->builder.build_timeout_ms);
        }
        if (bc->forced_by_events != was->forced_by_events ||
            bc->forced_by_bytes != was->forced_by_bytes)
                s_log(l, "%" PRIu64 " event%s decided early: %" PRIu64 " by max_open_events "
                      "(%" PRIu32 "), %" PRIu64 " by max_open_bytes (%" PRIu64 ")",
                      bc->forced_by_events - was->forced_by_events + bc->forced_by_bytes -
                      was->forced_by_bytes,
                      bc->forced_by_events - was->forced_by_events + bc->forced_by_bytes -
                      was->forced_by_bytes == 1 ? "" : "s",
                      bc->forced_by_events - was->forced_by_events, l->cfg->builder.max_open_events,
                      bc->forced_by_bytes - was->forced_by_bytes, l->cfg->builder.max_open_bytes);
        if (bc->late_without_event != was->late_without_event) {
                s_forced_sources(l, bc->per_source_late_without_event,
                                 was->per_source_late_without_event, who, sizeof who);
                s_log(l, "%" PRIu64 " fragment%s of source%s %s came for triggers already decided "
                      "without any fragment, so those triggers have no event: kept as late "
                      "records (the source was silent past build_timeout_ms, then sent them)",
                      bc->late_without_event - was->late_without_event,
                      bc->late_without_event - was->late_without_event == 1 ? "" : "s",
                      strchr(who, ',') ? "s" : "", who);
        }
        *was = *bc;
        l->forced_log_at_ms = now;
}

/* ---- run start and stop ------------------------------------------------ */

static void s_free_run(live_t *l)
{
        l->b = builder_free(l->b);
        l->tp = tagpipe_free(l->tp);
        l->enc = record_enc_free(l->enc);
}

static int s_start(live_t *l, uint32_t run, char *msg, size_t len)
{
        const struct darkdaq_config *cfg = l->cfg;
        struct builder_config bc = cfg->builder;
        uint64_t now = clock_mono_ms();

        bc.expected = config_expected_sources(cfg);
        /* on disk before the header goes out: a restart never gives run twice */
        int sr = runstate_save(cfg->daemon.state_dir, run, msg, len);
        if (sr < 0)
                return sr;
        l->enc = record_enc_new();
        /* in flight between the threads: within publish_can_take()'s margin */
        size_t pipe_bytes = cfg->daemon.storage_buffer_bytes / 16;
        struct tagpipe_options po = {
                .physics = &cfg->physics, .enc = l->enc, .emit = s_emit, .ctx = l,
                .ring_bytes = pipe_bytes < 4096 ? 4096 : pipe_bytes > (1u << 20) ? 1u << 20
                                                                              : pipe_bytes,
        };
        int pr = l->enc ? tagpipe_new(&l->tp, &po) : -ENOMEM;
        if (pr == 0) {
                struct builder_sink sink = tagpipe_sink(l->tp);
                l->b = builder_new(&bc, &sink);
        }
        if (!l->b) {
                s_free_run(l);
                snprintf(msg, len, "run %" PRIu32 ": %s", run,
                         pr < 0 ? strerror(-pr) : "out of memory");
                return pr < 0 ? pr : -ENOMEM;
        }
        l->run = run;
        l->seq = 0;
        l->n_reloads = 0;
        l->enc_error = 0;
        l->oos_seen = 0;
        l->paused = false;
        l->clock_ms = 0;
        l->clock_at_ms = l->core_ok_since_ms = now;
        memset(&l->forced_logged, 0, sizeof l->forced_logged);
        l->forced_log_at_ms = 0;
        l->run_start_ms = l->rate_at_ms = now;
        l->rate_events = 0;
        l->ev_rate = 0;
        memset(l->rate_tags, 0, sizeof l->rate_tags);
        memset(l->tag_rate, 0, sizeof l->tag_rate);
        struct record_run_info info = {
                .run = run,
                .start_time_ns = clock_real_ns(),
                .config_text = cfg->text ? cfg->text : "",
                .sources = bc.expected,
        };
        struct publish_counters pc0;
        publish_get_counters(l->pub, &pc0);
        l->refused_base = pc0.refused_records;
        s_put_record(l, record_run_header(l->enc, &info));
        for (size_t i = 0; i < l->n_st; i++) {
                struct stream_state *s = &l->st[i];
                s->ended = s->has_trigger = s->silent = s->stalled = false;
                struct source_counters sc;
                source_get_counters(s->src, now, &sc);
                s->activity_clock_ms = 0;
                s->activity_seen_ms = sc.last_activity_ms;     /* the last run's */
                s->ids = 0;
                s->last_take_ms = s_bclock(l, now);
                int r = source_start(s->src, msg, len);
                if (r < 0) {
                        for (size_t j = 0; j < i; j++)
                                source_abort(l->st[j].src);
                        s_free_run(l);
                        return r;
                }
        }
        publish_flush(l->pub);
        snprintf(msg, len, "run %" PRIu32 " started with %zu source%s", run, l->n_st,
                 l->n_st == 1 ? "" : "s");
        s_log(l, "%s", msg);
        return 0;
}

/* Waits for acks or ring data up to wait_ms. */
static void s_wait(live_t *l, int wait_ms, bool rings)
{
        zmq_pollitem_t it[2 + CONFIG_MAX_SOURCES];
        int n = 0;

        wait_ms = s_poll_timeout(l, wait_ms);
        it[n++] = (zmq_pollitem_t){ publish_ack_socket(l->pub), 0, ZMQ_POLLIN, 0 };
        if (publish_has_unsent(l->pub))
                it[n++] = (zmq_pollitem_t){ publish_storage_socket(l->pub), 0, ZMQ_POLLOUT, 0 };
        for (size_t i = 0; rings && i < l->n_st; i++) {
                if (l->st[i].ended)
                        continue;
                if (!ring_prepare_sleep(source_ring(l->st[i].src)))
                        wait_ms = 0;
                it[n++] = (zmq_pollitem_t){ NULL, ring_wake_fd(source_ring(l->st[i].src)),
                                            ZMQ_POLLIN, 0 };
        }
        zmq_poll(it, n, wait_ms);
        for (size_t i = 0; rings && i < l->n_st; i++)
                if (!l->st[i].ended)
                        ring_clear_wake(source_ring(l->st[i].src));
}

static bool s_all_ended(const live_t *l)
{
        for (size_t i = 0; i < l->n_st; i++)
                if (!l->st[i].ended)
                        return false;
        return true;
}

/* Stops the run: RUN off, drain the sources, flush the builder, send the
 * trailer and wait for its ACK, all within stop_timeout_ms.  Returns 0 when
 * the store confirmed the trailer, -ETIMEDOUT if not (msg says which). */
static int s_stop(live_t *l, const char *reason, char *msg, size_t len, bool *confirmed)
{
        uint64_t t0 = clock_mono_ms(), deadline = t0 + l->cfg->daemon.stop_timeout_ms, now;
        size_t cut = 0;

        for (size_t i = 0; i < l->n_st; i++)
                source_stop(l->st[i].src);
        while (!s_all_ended(l) && (now = clock_mono_ms()) < deadline) {
                s_watchdog(l, now);
                publish_handle_acks(l->pub);
                s_update_busy(l, now);
                bool more = s_pump(l, now);
                s_collect(l);
                publish_flush(l->pub);
                if (!more)
                        s_wait(l, (int)(deadline - now < 50 ? deadline - now : 50),
                               publish_can_take(l->pub));
        }
        for (size_t i = 0; i < l->n_st; i++) {
                if (l->st[i].ended) {
                        source_join(l->st[i].src);
                        continue;
                }
                cut++;
                source_abort(l->st[i].src);
                s_log(l, "source \"%s\": did not end within stop_timeout_ms (%" PRIu32 " ms); "
                      "what it still held is not in run %" PRIu32, source_name(l->st[i].src),
                      l->cfg->daemon.stop_timeout_ms, l->run);
        }
        builder_flush(l->b);
        tagpipe_flush(l->tp);
        s_collect(l);
        const struct builder_out_of_step *oos;
        size_t n_oos = builder_out_of_step(l->b, &oos);
        struct builder_counters bc;
        builder_get_counters(l->b, &bc);
        struct record_totals tot = {
                .counters = &bc,
                .oos = oos,
                .n_oos = n_oos,
                .end_reason = reason,
                .end_time_ns = clock_real_ns(),
        };
        uint64_t trailer_seq = l->seq;
        struct publish_counters pc;
        publish_get_counters(l->pub, &pc);
        tot.refused_by_store = pc.refused_records - l->refused_base;
        Darkdaq__Record *tr = record_trailer(l->enc, &tot);
        /* every record of the run, for a store that keeps a run in one file
         * (a store that rotates files sets its own count per file) */
        if (tr && tr->run_trailer)
                tr->run_trailer->records_in_file = trailer_seq + 1;
        if (tr && tr->run_trailer && l->n_reloads) {
                for (size_t i = 0; i < l->n_reloads; i++)
                        l->reload_ptrs[i] = &l->reloads[i].rec;
                tr->run_trailer->n_reloads = l->n_reloads;
                tr->run_trailer->reloads = l->reload_ptrs;
        }
        s_put_record(l, tr);
        uint64_t events = bc.events;
        publish_flush(l->pub);
        while (!publish_acked(l->pub, l->run, trailer_seq) && (now = clock_mono_ms()) < deadline) {
                publish_handle_acks(l->pub);
                if (!publish_acked(l->pub, l->run, trailer_seq))
                        s_wait(l, (int)(deadline - now), false);
        }
        *confirmed = publish_acked(l->pub, l->run, trailer_seq);
        for (size_t i = 0; i < l->n_st; i++)
                source_busy(l->st[i].src, false);
        if (l->busy)
                l->busy_total_ms += clock_mono_ms() - l->busy_since_ms;
        l->busy = false;
        l->paused = false;
        snprintf(msg, len, "run %" PRIu32 " stopped (%s): %" PRIu64 " events, %" PRIu64
                 " records; %s%s", l->run, reason, events, trailer_seq + 1,
                 *confirmed ? "the store confirmed the trailer"
                            : "the store did NOT confirm the trailer within stop_timeout_ms "
                              "(records stay held and are sent again when it says HELLO; if "
                              "darkdaqd exits first, they are spooled to state_dir and sent "
                              "after its restart)",
                 cut ? "; some sources were cut off" : "");
        if (l->enc_error)
                s_log(l, "run %" PRIu32 ": some records could not be encoded: %s", l->run,
                      strerror(-l->enc_error));
        s_log(l, "%s", msg);
        l->have_last = true;
        l->last_bc = bc;
        struct record_counters rc;
        record_get_counters(l->enc, &rc);
        memcpy(l->last_tags, rc.tags, sizeof l->last_tags);
        l->last_records = l->seq;
        l->last_run_ms = clock_mono_ms() - l->run_start_ms;
        l->last_n_oos = n_oos < 64 ? n_oos : 64;
        memcpy(l->last_oos, oos, l->last_n_oos * sizeof *oos);
        live_metrics_add_builder(&l->life_bc, &bc);
        for (unsigned t = 0; t < TAG_COUNT_; t++)
                l->life_tags[t] += rc.tags[t];
        l->life_records += l->seq;
        s_free_run(l);
        return *confirmed ? 0 : -ETIMEDOUT;
}

/* ---- control ---------------------------------------------------------- */

/* The channels' connections, in live_link_names' order. */
static void s_links(live_t *l, uint64_t now, struct linkwatch_counters links[LIVE_LINKS],
                    uint64_t age_ms[LIVE_LINKS])
{
        linkwatch_get_counters(l->ctl_link, &links[LIVE_LINK_CONTROL]);
        publish_get_links(l->pub, &links[LIVE_LINK_STORAGE], &links[LIVE_LINK_MONITOR]);
        for (int i = 0; i < LIVE_LINKS; i++)
                age_ms[i] = links[i].since_ms && now > links[i].since_ms
                            ? now - links[i].since_ms : 0;
}

static void s_status(live_t *l, bool text, uint64_t now)
{
        struct control_source_status ss[CONFIG_MAX_SOURCES];
        struct publish_counters pc;
        struct builder_counters bc;
        struct record_counters rc;
        struct control_status s = { 0 };
        bool running = l->b != NULL;

        publish_get_counters(l->pub, &pc);
        for (size_t i = 0; i < l->n_st; i++) {
                const struct stream_state *st = &l->st[i];
                struct control_source_status *x = &ss[i];
                memset(x, 0, sizeof *x);
                x->name = source_name(st->src);
                x->driver = source_driver_name(st->src);
                source_get_counters(st->src, now, &x->c);
                uint64_t last = x->c.last_activity_ms > l->run_start_ms ? x->c.last_activity_ms
                                                                         : l->run_start_ms;
                x->silent_ms = running && !st->ended && now > last ? now - last : 0;
                x->silent = running && st->silent;
                x->ended = st->ended;
                x->silences = st->silences;
                x->stalled = running && st->stalled;
                x->stalls = st->stalls;
                x->error = st->ended ? source_error(st->src) : "";
        }
        s.sources = ss;
        s.n_sources = l->n_st;
        s.busy = l->busy;
        s.pub = &pc;
        s.storage_buffer_bytes = l->cfg->daemon.storage_buffer_bytes;
        s.storage_gone = l->storage_gone;
        s.storage_gone_ms = l->storage_gone_ms;
        struct linkwatch_counters links[LIVE_LINKS];
        uint64_t links_age_ms[LIVE_LINKS];
        s_links(l, now, links, links_age_ms);
        s.links = links;
        s.links_age_ms = links_age_ms;
        s.link_names = live_link_names;
        s.n_links = LIVE_LINKS;
        s.auth_keys = l->cfg->auth.server_key[0] != '\0';
        s.auth_clients = auth_allowed_count(l->auth);
        s.auth_refusals = auth_refusals(l->auth);
        if (running) {
                s.run_ms = now - l->run_start_ms;
                builder_get_counters(l->b, &bc);
                s.builder = &bc;
                s.open_events = builder_open_events(l->b);
                s.open_bytes = builder_open_bytes(l->b);
                record_get_counters(l->enc, &rc);
                s.tag_counts = rc.tags;
                memcpy(s.tag_rate_hz, l->tag_rate, sizeof s.tag_rate_hz);
                s.event_rate_hz = l->ev_rate;
                s.records = l->seq;
                s.n_oos = builder_out_of_step(l->b, &s.oos);
        } else if (l->have_last) {
                s.run_ms = l->last_run_ms;
                s.builder = &l->last_bc;
                s.tag_counts = l->last_tags;
                s.records = l->last_records;
                s.oos = l->last_oos;
                s.n_oos = l->last_n_oos;
        }
        if (text)
                control_status_text(&l->ctl, &s, l->reply, sizeof l->reply);
        else
                control_status_json(&l->ctl, &s, l->reply, sizeof l->reply);
}

static void s_reset(live_t *l, char *msg, size_t len)
{
        char m[512];
        bool confirmed = true;
        if (l->b)
                s_stop(l, "reset", m, sizeof m, &confirmed);
        s_close_sources(l);
        snprintf(msg, len, "reset: sources closed%s", confirmed ? "" : "; " "the store did not "
                 "confirm the last trailer");
}

/* Sends the reply in l->reply, counted on the control link. */
static void s_reply(live_t *l)
{
        size_t n = strlen(l->reply);
        if (zmq_send(l->ctl_sock, l->reply, n, 0) >= 0)
                linkwatch_count(l->ctl_link, true, n);
}

static void s_control(live_t *l)
{
        char req[CONTROL_MAX_REQUEST + 1], msg[512], extra[64];
        struct control_request rq;
        uint64_t now = clock_mono_ms();
        zmq_msg_t first;
        zmq_msg_init(&first);
        int n = zmq_msg_recv(&first, l->ctl_sock, ZMQ_DONTWAIT);
        uint32_t run = 0;
        int r = 0, more = 0;
        size_t parts = 1, more_len = sizeof more;

        if (n < 0) {
                zmq_msg_close(&first);
                return;
        }
        /* a request longer than the buffer is cut: the parser says so */
        size_t len = zmq_msg_size(&first) < sizeof req ? zmq_msg_size(&first) : sizeof req;
        memcpy(req, zmq_msg_data(&first), len);
        n = (int)len;
        linkwatch_count(l->ctl_link, false, zmq_msg_size(&first));
        const char *uid = zmq_msg_gets(&first, "User-Id");
        bool status_only = uid && !strncmp(uid, AUTH_STATUS_ONLY, strlen(AUTH_STATUS_ONLY));
        zmq_msg_close(&first);
        /* the rest of a multi-part request (ZeroMQ delivers the message
         * whole, so this does not wait): taken off and counted, never run */
        while (zmq_getsockopt(l->ctl_sock, ZMQ_RCVMORE, &more, &more_len) == 0 && more) {
                char scratch[64];
                if (zmq_recv(l->ctl_sock, scratch, sizeof scratch, ZMQ_DONTWAIT) < 0)
                        break;
                parts++;
        }
        /* a request longer than the buffer arrives truncated: say so */
        if (control_parse_parts(req, (size_t)n, parts, &rq, msg, sizeof msg) < 0) {
                char esc[600];
                size_t k = 0;
                for (const char *p = msg; *p && k + 3 < sizeof esc; p++) {
                        if (*p == '"' || *p == '\\')
                                esc[k++] = '\\';
                        esc[k++] = *p;
                }
                esc[k] = '\0';
                snprintf(l->reply, sizeof l->reply, "{\"ok\":false,\"state\":\"%s\",\"run\":%" PRIu32
                         ",\"message\":\"bad request: %s\"}", control_state_name(l->ctl.state),
                         l->ctl.run, esc);
                s_reply(l);
                return;
        }
        if (status_only && rq.cmd != CONTROL_STATUS) {
                snprintf(l->reply, sizeof l->reply, "{\"ok\":false,\"state\":\"%s\",\"run\":%"
                         PRIu32 ",\"message\":\"refused: %s from a monitor's key; a key in "
                         "[auth] monitor_clients may only ask for status\"}",
                         control_state_name(l->ctl.state), l->ctl.run, control_cmd_name(rq.cmd));
                s_log(l, "control: %s refused: the client's key is a monitor's (status only)",
                      control_cmd_name(rq.cmd));
                s_reply(l);
                return;
        }
        enum control_action a = control_decide(&l->ctl, &rq, &run, l->reply, sizeof l->reply);
        extra[0] = '\0';
        switch (a) {
        case CONTROL_NOTHING:
                break;
        case CONTROL_DO_STATUS:
                s_status(l, rq.text, now);
                break;
        case CONTROL_DO_CONFIGURE:
                r = s_configure(l, msg, sizeof msg);
                if (r < 0)
                        s_log(l, "configure failed: %s; state error until reset", msg);
                else
                        s_log(l, "%s", msg);
                control_done(&l->ctl, a, 0, r, msg, NULL, l->reply, sizeof l->reply);
                break;
        case CONTROL_DO_START:
                if (publish_holds_run(l->pub, run)) {
                        snprintf(msg, sizeof msg, "refused: records of run %" PRIu32 " are still "
                                 "held for the store (a new run %" PRIu32 " would collide with "
                                 "them); start another run number", run, run);
                        control_refuse(&l->ctl, rq.cmd, msg, l->reply, sizeof l->reply);
                        break;
                }
                r = s_start(l, run, msg, sizeof msg);
                if (r < 0)
                        s_log(l, "start of run %" PRIu32 " failed: %s; state error until reset",
                              run, msg);
                control_done(&l->ctl, a, run, r, msg, NULL, l->reply, sizeof l->reply);
                break;
        case CONTROL_DO_STOP: {
                bool confirmed;
                s_stop(l, "stop", msg, sizeof msg, &confirmed);
                snprintf(extra, sizeof extra, "\"store_confirmed\":%s",
                         confirmed ? "true" : "false");
                control_done(&l->ctl, a, l->ctl.run, 0, msg, extra, l->reply, sizeof l->reply);
                break;
        }
        case CONTROL_DO_RESET:
                s_reset(l, msg, sizeof msg);
                s_log(l, "%s", msg);
                control_done(&l->ctl, a, 0, 0, msg, NULL, l->reply, sizeof l->reply);
                break;
        }
        s_reply(l);
}

/* ---- metrics ------------------------------------------------------------- */

/* Refreshes the snapshot /metrics renders from: at most every SNAPSHOT_MS,
 * or now when forced (state changes, so that a scrape after a stop shows
 * exactly what the run's trailer carries). */
static void s_snapshot(live_t *l, uint64_t now, bool force)
{
        if (!force && (!l->metrics || now - l->snap_at_ms < SNAPSHOT_MS))
                return;
        l->snap_at_ms = now;
        pthread_mutex_lock(&l->snap_lock);
        struct live_metrics_snapshot *s = &l->snap;
        s->state = l->ctl.state;
        s->run = l->ctl.run;
        s->n_sources = l->cfg->n_sources;
        for (size_t i = 0; i < s->n_sources; i++) {
                struct live_metrics_source *x = &s->src[i];
                snprintf(x->name, sizeof x->name, "%s", l->cfg->sources[i].name);
                x->open = i < l->n_st;
                if (!x->open) {
                        memset(&x->c, 0, sizeof x->c);
                        x->silences = x->stalls = x->ring_used = x->ring_capacity = 0;
                        x->stalled = false;
                } else {
                        source_get_counters(l->st[i].src, now, &x->c);
                        x->silences = l->st[i].silences;
                        x->stalls = l->st[i].stalls;
                        x->stalled = l->b && l->st[i].stalled;
                        x->ring_used = ring_used(source_ring(l->st[i].src));
                        x->ring_capacity = ring_capacity(source_ring(l->st[i].src));
                }
                live_metrics_add_source(x, &l->src_life[i]);    /* sources closed before */
        }
        s->open_events = 0;
        s->open_bytes = 0;
        s->ev_rate_hz = 0;
        memset(s->tag_rate_hz, 0, sizeof s->tag_rate_hz);
        if (l->b) {
                const struct builder_out_of_step *oos;
                s->have_builder = true;
                builder_get_counters(l->b, &s->run_bc);
                struct record_counters rc;
                record_get_counters(l->enc, &rc);
                memcpy(s->run_tags, rc.tags, sizeof s->run_tags);
                s->open_events = builder_open_events(l->b);
                s->open_bytes = builder_open_bytes(l->b);
                s->records = l->seq;
                s->run_ms = now - l->run_start_ms;
                s->n_oos = builder_out_of_step(l->b, &oos);
                s->n_oos = s->n_oos < 64 ? s->n_oos : 64;
                memcpy(s->oos, oos, s->n_oos * sizeof *oos);
                s->ev_rate_hz = l->ev_rate;
                memcpy(s->tag_rate_hz, l->tag_rate, sizeof s->tag_rate_hz);
        } else if (l->have_last) {
                s->have_builder = true;
                s->run_bc = l->last_bc;
                memcpy(s->run_tags, l->last_tags, sizeof s->run_tags);
                s->records = l->last_records;
                s->run_ms = l->last_run_ms;
                s->n_oos = l->last_n_oos;
                memcpy(s->oos, l->last_oos, s->n_oos * sizeof *s->oos);
        } else {
                s->have_builder = false;
                memset(&s->run_bc, 0, sizeof s->run_bc);
                memset(s->run_tags, 0, sizeof s->run_tags);
                s->records = s->run_ms = 0;
                s->n_oos = 0;
        }
        /* the life's sums: runs ended, and the one going on */
        s->bc = l->life_bc;
        memcpy(s->tags, l->life_tags, sizeof s->tags);
        s->records_total = l->life_records;
        if (l->b) {
                live_metrics_add_builder(&s->bc, &s->run_bc);
                for (unsigned t = 0; t < TAG_COUNT_; t++)
                        s->tags[t] += s->run_tags[t];
                s->records_total += s->records;
        }
        s->busy = l->busy;
        s->busy_ms = l->busy_total_ms + (l->busy ? now - l->busy_since_ms : 0);
        publish_get_counters(l->pub, &s->pc);
        s->storage_buffer_bytes = l->cfg->daemon.storage_buffer_bytes;
        s->storage_gone = l->storage_gone;
        s->storage_gone_ms = l->storage_gone_ms;
        s->storage_alarms = l->storage_alarms;
        s_links(l, now, s->links, s->links_age_ms);
        pthread_mutex_unlock(&l->snap_lock);
}

/* libmicrohttpd's thread: renders its own copy of the snapshot. */
static int s_render(prom_t *p, void *ctx)
{
        live_t *l = ctx;
        struct live_metrics_snapshot *s = &l->snap_render;

        pthread_mutex_lock(&l->snap_lock);
        *s = l->snap;
        pthread_mutex_unlock(&l->snap_lock);
        /* read here, not in s_snapshot(): a refusal while idle shows at once */
        s->auth_refusals = auth_refusals(l->auth);
        return live_metrics_render(p, s);
}

/* ---- the spool ------------------------------------------------------------ */

/* At start: the records the last exit spooled are held again; run numbers
 * go on after theirs, whatever last_run says. */
static int s_spool_load(live_t *l, char *err, size_t errlen)
{
        struct publish_spool_info si;
        const char *dir = l->cfg->daemon.state_dir;
        int r = publish_spool_load(l->pub, dir, &si, err, errlen);
        if (r < 0)
                return r;
        if (!si.records) {
                if (si.damaged || si.not_sent)
                        s_log(l, "spool %s/%s: no record in it can be sent; removed (kept as %s)",
                              dir, SPOOL_FILE, si.kept);
                return 0;
        }
        s_log(l, "spool %s/%s: %" PRIu64 " record%s of %" PRIu32 " run%s (%" PRIu64 " bytes) "
              "held from the last exit%s; sent, in order, when a store accepts a session",
              dir, SPOOL_FILE, si.records, si.records == 1 ? "" : "s", si.runs,
              si.runs == 1 ? "" : "s", si.bytes, si.damaged || si.not_sent ? " (not all: see "
              "above)" : "");
        if (!l->ctl.had_run || si.run_max > l->ctl.run) {
                s_log(l, "spool: it holds run %" PRIu32 ", after the last run in %s/%s; start "
                      "goes on from there", si.run_max, dir, RUNSTATE_FILE);
                l->ctl.had_run = true;
                l->ctl.run = si.run_max;
        }
        return 0;
}

/* At exit: what the store has not acknowledged goes to the spool.  The exit
 * status is 1 when that was needed and failed. */
static void s_spool_save(live_t *l)
{
        struct publish_counters pc;
        struct publish_spool_info si;
        char err[4400];
        const char *dir = l->cfg->daemon.state_dir;

        publish_get_counters(l->pub, &pc);
        if (publish_spool_save(l->pub, dir, &si, err, sizeof err) < 0) {
                if (pc.held_records)
                        s_log(l, "cannot spool the %" PRIu64 " record%s the store has not "
                              "acknowledged: %s; they are lost", pc.held_records,
                              pc.held_records == 1 ? "" : "s", err);
                else
                        s_log(l, "%s", err);
                l->exit_status = 1;
                return;
        }
        if (si.records)
                s_log(l, "spooled %" PRIu64 " record%s of %" PRIu32 " run%s (%" PRIu64 " bytes) "
                      "that the store has not acknowledged to %s/%s (fsync'd); sent when a store "
                      "next accepts a session, after darkdaqd's restart", si.records,
                      si.records == 1 ? "" : "s", si.runs, si.runs == 1 ? "" : "s", si.bytes,
                      dir, SPOOL_FILE);
}

/* ---- the loop ----------------------------------------------------------- */

int live_new(live_t **ret, const struct darkdaq_config *cfg, char *err, size_t errlen)
{
        live_t *l = calloc(1, sizeof(*l));
        sigset_t mask;
        int r, linger = 0;

        if (!l)
                return -ENOMEM;
        l->cfg = cfg;
        l->sigfd = -1;
        l->silence_warn_ms = cfg->daemon.silence_warn_ms;
        l->storage_warn_ms = cfg->daemon.storage_warn_ms;
        memcpy(l->prescale, cfg->physics.prescale, sizeof l->prescale);
        control_init(&l->ctl);
        l->lead_triggers = cfg->builder.max_open_events / 2;
        if (l->lead_triggers == 0)
                l->lead_triggers = 1;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        /* before any thread (ZeroMQ's, ZAP, libmicrohttpd, sources) starts:
         * each inherits the mask, so only this thread's signalfd takes them */
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        l->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        l->zctx = zmq_ctx_new();
        if (l->sigfd < 0 || !l->zctx || pthread_mutex_init(&l->snap_lock, NULL) != 0) {
                snprintf(err, errlen, "cannot set up signals or ZeroMQ: %s", strerror(errno));
                live_free(l);
                return -EIO;
        }
        l->snap_lock_init = true;
        const struct auth_section *as = &cfg->auth;
        struct auth_config ac = {
                .server_key_file = as->server_key[0] ? as->server_key : NULL,
                .allowed_clients = as->allowed_clients[0] ? as->allowed_clients : NULL,
                .control_clients = as->control_clients[0] ? as->control_clients : NULL,
                .storage_clients = as->storage_clients[0] ? as->storage_clients : NULL,
                .monitor_clients = as->monitor_clients[0] ? as->monitor_clients : NULL,
                .require_curve = as->require_curve,
                .log_name = "darkdaqd",
        };
        /* Whatever the reason, [auth] cannot be used: a configuration
         * error, -EPERM by live_new's contract (darkdaqd exits 2). */
        if (auth_new(&l->auth, l->zctx, &ac, err, errlen) < 0) {
                live_free(l);
                return -EPERM;
        }
        l->ctl_sock = zmq_socket(l->zctx, ZMQ_REP);
        if (l->ctl_sock) {
                char aerr[256];
                linkwatch_heartbeat(l->ctl_sock, cfg->daemon.heartbeat_ms);
                r = auth_apply_server_role(l->auth, l->ctl_sock, cfg->daemon.control,
                                           AUTH_ROLE_CONTROL, aerr, sizeof aerr);
                if (r < 0) {
                        snprintf(err, errlen, "the control socket %s: %s", cfg->daemon.control,
                                 aerr);
                        live_free(l);
                        return r;
                }
        }
        if (!l->ctl_sock || zmq_bind(l->ctl_sock, cfg->daemon.control) < 0) {
                r = -zmq_errno();
                snprintf(err, errlen, "cannot bind the control socket to %s: %s",
                         cfg->daemon.control, zmq_strerror(-r));
                live_free(l);
                return r;
        }
        if ((r = auth_chmod_ipc(cfg->daemon.control)) < 0) {
                snprintf(err, errlen, "the control socket %s: cannot make it mode 0770 for the "
                         "service's group: %s", cfg->daemon.control, strerror(-r));
                live_free(l);
                return r;
        }
        zmq_setsockopt(l->ctl_sock, ZMQ_LINGER, &linger, sizeof linger);
        r = linkwatch_new(&l->ctl_link, l->zctx, l->ctl_sock, "darkdaqd", "control",
                          cfg->daemon.control, LINKWATCH_SERVER);
        if (r < 0) {
                snprintf(err, errlen, "the control socket %s: cannot monitor it: %s",
                         cfg->daemon.control, zmq_strerror(-r));
                live_free(l);
                return r;
        }
        r = publish_new(&l->pub, l->zctx, &cfg->daemon, cfg->physics.prescale, l->auth, err,
                        errlen);
        if (r < 0) {
                live_free(l);
                return r;
        }
        uint64_t now = clock_mono_ms();
        s_snapshot(l, now, true);
        if (cfg->daemon.metrics[0]) {
                r = metrics_new(&l->metrics, cfg->daemon.metrics, s_render, l, err, errlen);
                if (r < 0) {
                        live_free(l);
                        return r;
                }
        }
        uint32_t last_run;
        r = runstate_load(cfg->daemon.state_dir, &last_run, err, errlen);
        if (r < 0) {
                live_free(l);
                return r == -EPERM ? -EACCES : r;       /* -EPERM means [auth] here */
        }
        l->ctl.had_run = r > 0;
        l->ctl.run = r > 0 ? last_run : 0;
        if ((r = s_spool_load(l, err, errlen)) < 0) {
                live_free(l);
                return r == -EPERM ? -EACCES : r;
        }
        uint64_t wd_usec = notify_watchdog_usec();
        l->wd_interval_ms = wd_usec ? (wd_usec / 2000 ? wd_usec / 2000 : 1) : 0;
        l->wd_next_ms = now;
        *ret = l;
        return 0;
}

live_t *live_free(live_t *l)
{
        if (!l)
                return NULL;
        l->metrics = metrics_free(l->metrics);
        s_close_sources(l);
        s_free_run(l);
        l->pub = publish_free(l->pub);
        l->ctl_link = linkwatch_free(l->ctl_link);
        if (l->ctl_sock)
                zmq_close(l->ctl_sock);
        l->auth = auth_free(l->auth);
        if (l->zctx)
                zmq_ctx_term(l->zctx);
        if (l->sigfd >= 0)
                close(l->sigfd);
        if (l->snap_lock_init)
                pthread_mutex_destroy(&l->snap_lock);
        free(l);
        return NULL;
}

void live_set_config_path(live_t *l, const char *path)
{
        l->cfg_path = path;
}

/* Appends "sep what" to buf of len bytes, cut if it does not fit. */
static void s_append(char *buf, size_t len, const char *what)
{
        size_t n = strlen(buf);
        if (n + 1 < len)
                snprintf(buf + n, len - n, "%s%s", n ? ", " : "", what);
}

/* The sections and [daemon] keys of n that differ from o and that a reload
 * cannot change, into buf. */
static void s_needs_restart(const struct darkdaq_config *o, const struct darkdaq_config *n,
                            char *buf, size_t len)
{
        const struct daemon_config *a = &o->daemon, *b = &n->daemon;
        buf[0] = '\0';
#define S_STR(k) do { if (strcmp(a->k, b->k)) s_append(buf, len, "[daemon] " #k); } while (0)
#define S_NUM(k) do { if (a->k != b->k) s_append(buf, len, "[daemon] " #k); } while (0)
        S_STR(control); S_STR(monitor); S_STR(storage); S_STR(metrics);
        S_STR(state_dir); S_NUM(storage_buffer_bytes); S_NUM(busy_high_bytes);
        S_NUM(busy_low_bytes); S_NUM(stop_timeout_ms); S_NUM(monitor_hwm); S_NUM(ring_bytes);
        S_NUM(insecure);
#undef S_STR
#undef S_NUM
        if (o->n_sources != n->n_sources ||
            memcmp(o->sources, n->sources, o->n_sources * sizeof *o->sources))
                s_append(buf, len, "[source.*]");
        if (memcmp(&o->builder, &n->builder, sizeof o->builder) ||
            o->sources_given != n->sources_given)
                s_append(buf, len, "[builder]");
        struct physics_config po = o->physics, pn = n->physics;
        memset(po.prescale, 0, sizeof po.prescale);
        memset(pn.prescale, 0, sizeof pn.prescale);
        if (memcmp(&po, &pn, sizeof po))
                s_append(buf, len, "[physics]");
        /* the lists of client keys reload (auth_reload_clients) while CURVE
         * is in use; the server's key, and CURVE itself, need a restart */
        bool lists = strcmp(o->auth.allowed_clients, n->auth.allowed_clients) ||
                     strcmp(o->auth.control_clients, n->auth.control_clients) ||
                     strcmp(o->auth.storage_clients, n->auth.storage_clients) ||
                     strcmp(o->auth.monitor_clients, n->auth.monitor_clients);
        if (strcmp(o->auth.server_key, n->auth.server_key) ||
            o->auth.require_curve != n->auth.require_curve || (lists && !o->auth.server_key[0]))
                s_append(buf, len, "[auth]");
}

/* SIGHUP: reads the configuration file again and applies what can change
 * without touching a run ([prescale], silence_warn_ms); logs what changed,
 * what needs a restart and the file's SHA-256, and lists the reload in the
 * trailer of the run going on.  A file that cannot be used changes nothing. */
static void s_reload(live_t *l)
{
        struct darkdaq_config *n = malloc(sizeof *n);
        char err[512], changed[RELOAD_TEXT_BYTES] = "", restart[256], hash[SHA256_HEX_BYTES];

        if (!l->cfg_path || !n) {
                s_log(l, "SIGHUP: %s; nothing reloaded", n ? "no configuration file to read "
                      "again" : "out of memory");
                free(n);
                return;
        }
        config_default(n);
        if (config_load(n, l->cfg_path, err, sizeof err) < 0) {
                s_log(l, "SIGHUP: %s; the configuration in use stays as it was", err);
                config_clear(n);
                free(n);
                return;
        }
        sha256_hex(n->text, strlen(n->text), hash);
        if (n->daemon.silence_warn_ms != l->silence_warn_ms) {
                char w[96];
                snprintf(w, sizeof w, "silence_warn_ms %" PRIu32 " -> %" PRIu32,
                         l->silence_warn_ms, n->daemon.silence_warn_ms);
                s_append(changed, sizeof changed, w);
                l->silence_warn_ms = n->daemon.silence_warn_ms;
        }
        if (n->daemon.storage_warn_ms != l->storage_warn_ms) {
                char w[96];
                snprintf(w, sizeof w, "storage_warn_ms %" PRIu32 " -> %" PRIu32,
                         l->storage_warn_ms, n->daemon.storage_warn_ms);
                s_append(changed, sizeof changed, w);
                l->storage_warn_ms = n->daemon.storage_warn_ms;
        }
        for (unsigned t = 0; t < TAG_COUNT_; t++) {
                if (n->physics.prescale[t] == l->prescale[t])
                        continue;
                char w[96];
                snprintf(w, sizeof w, "prescale.%s %" PRIu32 " -> %" PRIu32, record_tag_name(t),
                         l->prescale[t], n->physics.prescale[t]);
                s_append(changed, sizeof changed, w);
                l->prescale[t] = n->physics.prescale[t];
        }
        publish_set_prescale(l->pub, l->prescale);
        if (!strcmp(l->cfg->auth.server_key, n->auth.server_key)) {
                const struct auth_section *as = &n->auth;
                struct auth_config ac = {
                        .allowed_clients = as->allowed_clients[0] ? as->allowed_clients : NULL,
                        .control_clients = as->control_clients[0] ? as->control_clients : NULL,
                        .storage_clients = as->storage_clients[0] ? as->storage_clients : NULL,
                        .monitor_clients = as->monitor_clients[0] ? as->monitor_clients : NULL,
                };
                char w[RELOAD_TEXT_BYTES / 2];
                int r = auth_reload_clients(l->auth, &ac, w, sizeof w);
                if (r < 0) {
                        char e[RELOAD_TEXT_BYTES / 2 + 64];
                        snprintf(e, sizeof e, "client keys NOT reloaded, those in force stay: %s", w);
                        s_append(changed, sizeof changed, e);
                } else if (r > 0) {
                        s_append(changed, sizeof changed, w);
                }
        }
        s_needs_restart(l->cfg, n, restart, sizeof restart);
        if (!changed[0])
                snprintf(changed, sizeof changed, "nothing that applies now changed");
        if (restart[0]) {
                size_t c = strlen(changed);
                snprintf(changed + c, sizeof changed - c, "; needs a restart, not applied: %s",
                         restart);
        }
        char run_note[160] = "";
        if (l->b)
                snprintf(run_note, sizeof run_note, "; run %" PRIu32 " goes on%s", l->run,
                         l->n_reloads < RELOADS_MAX ? ", the reload listed in its trailer" :
                         " (its trailer lists 16 reloads at most: not this one)");
        s_log(l, "SIGHUP: reloaded %s (sha256 %s): %s%s", l->cfg_path, hash, changed, run_note);
        if (l->b && l->n_reloads < RELOADS_MAX) {
                struct reload *r = &l->reloads[l->n_reloads++];
                darkdaq__reload__init(&r->rec);
                r->rec.time_ns = clock_real_ns();
                memcpy(r->hash, hash, sizeof r->hash);
                memcpy(r->changed, changed, sizeof r->changed);
                r->rec.config_hash = r->hash;
                r->rec.changed = r->changed;
        }
        config_clear(n);
        free(n);
}

static void s_signal(live_t *l)
{
        struct signalfd_siginfo si;
        char msg[512];

        if (read(l->sigfd, &si, sizeof si) != (ssize_t)sizeof si)
                return;
        if (si.ssi_signo == SIGHUP) {
                s_reload(l);
                return;
        }
        s_log(l, "signal %s: %s", strsignal((int)si.ssi_signo),
              l->b ? "stopping the run, then exiting" : "exiting");
        l->quit = true;
        s_notified(l, notify_stopping(), "STOPPING=1");
        if (l->b) {
                bool confirmed;
                s_stop(l, "signal", msg, sizeof msg, &confirmed);
                control_done(&l->ctl, CONTROL_DO_STOP, l->ctl.run, 0, msg, NULL, l->reply,
                             sizeof l->reply);
                /* unconfirmed records go to the spool at exit (s_spool_save) */
        }
}

int live_run(live_t *l)
{
        s_log(l, "%s ready: control %s, monitor %s, storage %s (sender %" PRIu32 "), %zu source%s "
              "configured in the file; state idle", DARKDAQ_VERSION, l->cfg->daemon.control,
              l->cfg->daemon.monitor, l->cfg->daemon.storage, l->cfg->daemon.sender_id,
              l->cfg->n_sources, l->cfg->n_sources == 1 ? "" : "s");
        const char *open_key, *open_ep = config_open_endpoint(l->cfg, &open_key);
        if (open_ep)
                s_log(l, "insecure = yes: %s %s is served without CURVE; every local user "
                      "can reach it", open_key, open_ep);
        if (l->metrics)
                s_log(l, "metrics at http://%s/metrics (port %u)", l->cfg->daemon.metrics,
                      (unsigned)metrics_port(l->metrics));
        if (l->wd_interval_ms)
                s_log(l, "watchdog: WATCHDOG=1 every %" PRIu64 " ms", l->wd_interval_ms);
        if (auth_allowed_count(l->auth))
                s_log(l, "auth: CURVE with %zu allowed client key%s%s", auth_allowed_count(l->auth),
                      auth_allowed_count(l->auth) == 1 ? "" : "s",
                      l->cfg->auth.require_curve ? ", required on local endpoints too" : "");
        s_notified(l, notify_ready(), "READY=1");
        s_notify_status(l, clock_mono_ms());
        while (!l->quit) {
                uint64_t now = clock_mono_ms();
                bool running = l->b != NULL, more = false;

                linkwatch_drain(l->ctl_link, now);
                publish_handle_acks(l->pub);
                publish_handle_subscriptions(l->pub);
                if (running) {
                        s_update_busy(l, now);
                        more = s_pump(l, now);
                        s_collect(l);
                        publish_flush(l->pub);
                        s_update_busy(l, now);
                        s_advance_clock(l, now, !more);
                        /* timeouts only once the rings are drained */
                        if (!l->paused && !more)
                                builder_tick(l->b, s_bclock(l, now));
                        s_log_forced(l, now, false);
                        s_collect(l);
                        publish_flush(l->pub);
                        s_check_oos(l);
                        s_check_silence(l, now);
                        s_update_rates(l, now);
                        if (now - l->status_at_ms >= STATUS_NOTIFY_MS)
                                s_notify_status(l, now);
                }
                s_check_storage(l, now);
                s_snapshot(l, now, false);

                zmq_pollitem_t it[9 + CONFIG_MAX_SOURCES];
                int n = 0, timeout = more ? 0 : running ? LOOP_TIMEOUT_MS : -1;
                it[n++] = (zmq_pollitem_t){ l->ctl_sock, 0, ZMQ_POLLIN, 0 };
                it[n++] = (zmq_pollitem_t){ NULL, l->sigfd, ZMQ_POLLIN, 0 };
                it[n++] = (zmq_pollitem_t){ publish_ack_socket(l->pub), 0, ZMQ_POLLIN, 0 };
                it[n++] = (zmq_pollitem_t){ publish_monitor_socket(l->pub), 0, ZMQ_POLLIN, 0 };
                it[n++] = (zmq_pollitem_t){ linkwatch_socket(l->ctl_link), 0, ZMQ_POLLIN, 0 };
                for (int k = 0; k < 2; k++)
                        it[n++] = (zmq_pollitem_t){ linkwatch_socket(publish_link(l->pub, k)), 0,
                                                    ZMQ_POLLIN, 0 };
                if (publish_has_unsent(l->pub))
                        it[n++] = (zmq_pollitem_t){ publish_storage_socket(l->pub), 0,
                                                    ZMQ_POLLOUT, 0 };
                bool rings = running && !more && publish_can_take(l->pub);
                uint64_t bnow = s_bclock(l, now);
                if (running) {
                        if (!tagpipe_prepare_sleep(l->tp))
                                timeout = 0;
                        it[n++] = (zmq_pollitem_t){ NULL, tagpipe_wake_fd(l->tp), ZMQ_POLLIN, 0 };
                }
                for (size_t i = 0; rings && i < l->n_st; i++) {
                        if (l->st[i].ended || s_too_far_ahead(l, i, bnow))
                                continue;
                        ring_t *rg = source_ring(l->st[i].src);
                        if (!ring_prepare_sleep(rg))
                                timeout = 0;
                        it[n++] = (zmq_pollitem_t){ NULL, ring_wake_fd(rg), ZMQ_POLLIN, 0 };
                }
                if ((publish_has_unsent(l->pub) || publish_holds(l->pub)) && timeout < 0)
                        timeout = LOOP_TIMEOUT_MS;
                if (zmq_poll(it, n, s_poll_timeout(l, timeout)) < 0 && zmq_errno() != EINTR) {
                        s_log(l, "zmq_poll: %s; exiting", zmq_strerror(zmq_errno()));
                        l->exit_status = 1;
                        break;
                }
                for (size_t i = 0; rings && i < l->n_st; i++)
                        if (!l->st[i].ended)
                                ring_clear_wake(source_ring(l->st[i].src));
                if (running)
                        tagpipe_clear_wake(l->tp);
                enum control_state was = l->ctl.state;
                uint32_t was_run = l->ctl.run;
                if (it[1].revents & ZMQ_POLLIN)
                        s_signal(l);
                else if (it[0].revents & ZMQ_POLLIN)
                        s_control(l);
                else
                        continue;
                now = clock_mono_ms();
                s_snapshot(l, now, true);
                if (l->ctl.state != was || l->ctl.run != was_run)
                        s_notify_status(l, now);
        }
        s_spool_save(l);
        s_log(l, "exiting");
        return l->exit_status;
}
