/* SPDX-License-Identifier: Apache-2.0 */
/* live_metrics: the /metrics catalogue as one table, s_families[], in the
 * order the text shows it.  Each row names a family, its type and help, and
 * the sampler that takes its samples out of the snapshot, most of them
 * reading one field (at the row's offset) of the snapshot or of each
 * source's entry. */
#include "live_metrics.h"

#include <stdio.h>

/* Writes the samples of one family: those of the field at offset (of the
 * snapshot, or of struct live_metrics_source for the per-source samplers),
 * or, for a sampler of its own, whatever it reads. */
typedef void (*sampler_fn)(prom_t *p, const struct live_metrics_snapshot *s, size_t offset);

struct family {
        const char *name;
        enum prom_type type;
        const char *help;
        sampler_fn samples;
        size_t offset;                  /* the sampler's argument */
};

static const void *s_at(const void *base, size_t offset)
{
        return (const char *)base + offset;
}

/* ---- one number ---------------------------------------------------------- */

static void s_u64(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        prom_u64(p, *(const uint64_t *)s_at(s, offset), NULL);
}

static void s_flag(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        prom_u64(p, *(const bool *)s_at(s, offset), NULL);
}

static void s_double(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        prom_double(p, *(const double *)s_at(s, offset), NULL);
}

/* A uint64_t of milliseconds, shown in seconds. */
static void s_seconds(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        prom_double(p, (double)*(const uint64_t *)s_at(s, offset) / 1000.0, NULL);
}

/* ---- one sample per configured source, {source="NAME"} ------------------- */

static void s_source_u64(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        for (size_t i = 0; i < s->n_sources; i++)
                prom_u64(p, *(const uint64_t *)s_at(&s->src[i], offset), "source",
                         s->src[i].name, NULL);
}

static void s_source_flag(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        for (size_t i = 0; i < s->n_sources; i++)
                prom_u64(p, *(const bool *)s_at(&s->src[i], offset), "source", s->src[i].name,
                         NULL);
}

const char *const live_link_names[LIVE_LINKS] = { "control", "storage", "monitor" };

#define LINKF(type, field)      FIELD(struct linkwatch_counters, type, field)

static void s_link_u64(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        for (size_t i = 0; i < LIVE_LINKS; i++)
                prom_u64(p, *(const uint64_t *)s_at(&s->links[i], offset), "channel",
                         live_link_names[i], NULL);
}

static void s_link_connected(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        (void)offset;
        for (size_t i = 0; i < LIVE_LINKS; i++)
                prom_u64(p, s->links[i].connected, "channel", live_link_names[i], NULL);
}

static void s_link_gone(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        (void)offset;
        for (size_t i = 0; i < LIVE_LINKS; i++)
                prom_u64(p, s->links[i].gone, "channel", live_link_names[i], NULL);
}

static void s_link_age(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        (void)offset;
        for (size_t i = 0; i < LIVE_LINKS; i++)
                prom_double(p, (double)s->links_age_ms[i] / 1000.0, "channel",
                            live_link_names[i], NULL);
}

/* The last peer of each channel that connected, as a label (an info family). */
static void s_link_peer(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        (void)offset;
        for (size_t i = 0; i < LIVE_LINKS; i++)
                if (s->links[i].peer[0])
                        prom_u64(p, 1, "channel", live_link_names[i], "peer", s->links[i].peer,
                                 NULL);
}

static void s_source_seconds(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        for (size_t i = 0; i < s->n_sources; i++)
                prom_double(p, (double)*(const uint64_t *)s_at(&s->src[i], offset) / 1000.0,
                            "source", s->src[i].name, NULL);
}

/* ---- one sample per tag, {tag="NAME"}: an array of TAG_COUNT_ ------------ */

static void s_tag_u64(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        const uint64_t *v = s_at(s, offset);

        for (unsigned t = 0; t < TAG_COUNT_; t++)
                prom_u64(p, v[t], "tag", tag_name((enum tag_id)t), NULL);
}

static void s_tag_double(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        const double *v = s_at(s, offset);

        for (unsigned t = 0; t < TAG_COUNT_; t++)
                prom_double(p, v[t], "tag", tag_name((enum tag_id)t), NULL);
}

/* ---- one sample per builder source id, {source_id="N"} ------------------- */

/* An array of 64 of the builder's per-source counts; a source id appears
 * (in all three such families alike) when any of its counts is not 0. */
static void s_source_id_u64(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        const struct builder_counters *b = &s->bc;
        const uint64_t *v = s_at(s, offset);
        char id[8];

        for (unsigned sid = 0; sid < 64; sid++) {
                if (!b->per_source_fragments[sid] && !b->per_source_late[sid] &&
                    !b->per_source_missing[sid])
                        continue;
                snprintf(id, sizeof id, "%u", sid);
                prom_u64(p, v[sid], "source_id", id, NULL);
        }
}

/* ---- samplers of their own (offset unused) ------------------------------- */

static void s_build_info(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        (void)s;
        (void)offset;
        prom_u64(p, 1, "version", DARKDAQ_VERSION, NULL);
}

static void s_state(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        (void)offset;
        for (enum control_state st = CONTROL_IDLE; st <= CONTROL_ERROR; st++)
                prom_u64(p, s->state == st, "state", control_state_name(st), NULL);
}

/* offset: of a struct builder_counters (the life's, or the run's) */
static void s_events_by_status(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        static const char *const status[] = {
                "complete", "incomplete", "duplicate", "corrupt", "time_mismatch", "truncated",
                "busy_seen", "test_pattern",
        };
        const struct builder_counters *b = s_at(s, offset);
        const uint64_t v[] = { b->complete, b->incomplete, b->duplicate, b->corrupt_events,
                               b->time_mismatch, b->truncated, b->busy_seen, b->test_pattern };

        _Static_assert(sizeof status / sizeof status[0] == sizeof v / sizeof v[0],
                       "one status name per flag count");
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
                prom_u64(p, v[i], "status", status[i], NULL);
}

static void s_forced_by(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        const struct builder_counters *b = s_at(s, offset);
        prom_u64(p, b->forced_by_events, "by", "events", NULL);
        prom_u64(p, b->forced_by_bytes, "by", "bytes", NULL);
        prom_u64(p, b->forced_by_timeout, "by", "timeout", NULL);
}

static void s_oos_offset(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        char id[8];

        (void)offset;
        for (size_t i = 0; i < s->n_oos; i++) {
                snprintf(id, sizeof id, "%u", s->oos[i].source);
                prom_i64(p, s->oos[i].offset, "source_id", id, NULL);
        }
}

static void s_oos_first_trigger(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        char id[8];

        (void)offset;
        for (size_t i = 0; i < s->n_oos; i++) {
                snprintf(id, sizeof id, "%u", s->oos[i].source);
                prom_u64(p, s->oos[i].first_trigger, "source_id", id, NULL);
        }
}

/* ---- the catalogue ------------------------------------------------------- */

/* The offset of a field of type `type` in struct `st`: a field of another
 * type (a bool read as a uint64_t) does not compile. */
#define FIELD(st, type, field)                                                  \
        (offsetof(st, field) +                                                  \
         0 * sizeof(char[_Generic(((st *)0)->field, type: 1, default: -1)]))
#define SNAP(type, field)       FIELD(struct live_metrics_snapshot, type, field)
#define SRC(type, field)        FIELD(struct live_metrics_source, type, field)

#define U64(field)              s_u64, SNAP(uint64_t, field)
#define FLAG(field)             s_flag, SNAP(bool, field)
#define DOUBLE(field)           s_double, SNAP(double, field)
#define SECONDS(field)          s_seconds, SNAP(uint64_t, field)
#define SOURCE_U64(field)       s_source_u64, SRC(uint64_t, field)
#define SOURCE_FLAG(field)      s_source_flag, SRC(bool, field)
#define SOURCE_SECONDS(field)   s_source_seconds, SRC(uint64_t, field)
#define TAG_U64(field)          s_tag_u64, SNAP(uint64_t *, field)
#define TAG_DOUBLE(field)       s_tag_double, SNAP(double *, field)
#define SOURCE_ID_U64(field)    s_source_id_u64, SNAP(uint64_t *, field)
#define OWN(sampler)            sampler, 0
#define LINK_U64(field)         s_link_u64, LINKF(uint64_t, field)
#define BUILDER(sampler, field) sampler, SNAP(struct builder_counters, field)

/* The builder's counters, summed over every run, say so in their help. */
#define IN_RUNS(help)           help " Over every run of the process."

static const struct family s_families[] = {
        { "darkdaq_build_info", PROM_GAUGE, "The darkdaqd version running.",
          OWN(s_build_info) },
        { "darkdaq_state", PROM_GAUGE, "Run state: 1 for the state the daemon is in, 0 for the "
          "others.", OWN(s_state) },
        { "darkdaq_run", PROM_GAUGE, "The run going on, or the last one (0: none).",
          U64(run) },
        { "darkdaq_run_seconds", PROM_GAUGE, "Duration of that run so far.", SECONDS(run_ms) },
        { "darkdaq_run_records", PROM_GAUGE, "Records of that run (header, events, late, "
          "junk, corrupt, trailer); 0 at each start.", U64(records) },
        { "darkdaq_run_built_events", PROM_GAUGE, "Events built in that run; 0 at each start.",
          U64(run_bc.events) },
        { "darkdaq_run_events", PROM_GAUGE, "Events of that run per status flag; 0 at each "
          "start.", BUILDER(s_events_by_status, run_bc) },
        { "darkdaq_run_tag_events", PROM_GAUGE, "Events of that run that fired each tag; 0 "
          "at each start.", TAG_U64(run_tags) },
        { "darkdaq_records_total", PROM_COUNTER, "Records made, over every run.",
          U64(records_total) },

        /* per source, over the process's life (configure and reset included) */
        { "darkdaq_source_bytes_total", PROM_COUNTER,
          "Bytes read from the source's driver.", SOURCE_U64(c.bytes) },
        { "darkdaq_source_fragments_total", PROM_COUNTER,
          "Good fragments read, per source.", SOURCE_U64(c.fragments) },
        { "darkdaq_source_bad_total", PROM_COUNTER, "Bad or cut fragments and bad header "
          "magics read, per source.", SOURCE_U64(c.bad) },
        { "darkdaq_source_junk_total", PROM_COUNTER, "Junk runs (bytes that are no fragment), "
          "per source.", SOURCE_U64(c.junk) },
        { "darkdaq_source_junk_bytes_total", PROM_COUNTER,
          "Bytes in junk runs, per source.", SOURCE_U64(c.junk_bytes) },
        { "darkdaq_source_silences_total", PROM_COUNTER, "Times the source was silent for "
          "silence_warn_ms in a run.", SOURCE_U64(silences) },
        { "darkdaq_source_stalls_total", PROM_COUNTER, "Times the source's thread got no CPU "
          "for 250 ms while the core ran (its silence is then not judged).",
          SOURCE_U64(stalls) },
        { "darkdaq_source_stalled", PROM_GAUGE, "1 while the source's thread is stalled.",
          SOURCE_FLAG(stalled) },
        { "darkdaq_source_upstream_dropped_total", PROM_COUNTER, "Fragments the board dropped "
          "before the host (PCIe DROPPED): loss upstream.",
          SOURCE_U64(c.health.upstream_dropped) },
        { "darkdaq_source_reconnects_total", PROM_COUNTER,
          "Times the board came back after it left (USB hot-plug).",
          SOURCE_U64(c.health.reconnects) },
        { "darkdaq_source_unplugs_total", PROM_COUNTER, "Times the board left (USB unplug).",
          SOURCE_U64(c.health.unplugs) },
        { "darkdaq_source_driver_errors_total", PROM_COUNTER,
          "Transfer or request errors the driver saw.", SOURCE_U64(c.health.errors) },
        { "darkdaq_source_ring_waits_total", PROM_COUNTER,
          "Times the source's thread found its ring to the core full.",
          SOURCE_U64(c.ring_waits) },
        { "darkdaq_source_ring_occupancy_bytes", PROM_GAUGE,
          "Bytes waiting in the source's ring to the core.", SOURCE_U64(ring_used) },
        { "darkdaq_source_ring_capacity_bytes", PROM_GAUGE,
          "Size of the source's ring (0: not configured).", SOURCE_U64(ring_capacity) },
        { "darkdaq_source_busy_seconds_total", PROM_COUNTER, "Time with BUSY asserted on the "
          "source.", SOURCE_SECONDS(c.busy_ms) },
        { "darkdaq_source_running", PROM_GAUGE, "1 while the source's thread runs.",
          SOURCE_FLAG(c.running) },

        /* the builder and tags, summed over every run (the darkdaq_run_* gauges
         * above and status hold one run's figures, as its trailer does) */
        { "darkdaq_events_total", PROM_COUNTER, "Events built, per status flag (an event may "
          "carry several), over every run.", BUILDER(s_events_by_status, bc) },
        { "darkdaq_built_events_total", PROM_COUNTER, "Events built, over every run.",
          U64(bc.events) },
        { "darkdaq_tag_events_total", PROM_COUNTER, "Events that fired each tag, over every "
          "run.", TAG_U64(tags) },
        { "darkdaq_tag_rate_hz", PROM_GAUGE, "Events per second firing each tag, over the last "
          "second or so.", TAG_DOUBLE(tag_rate_hz) },
        { "darkdaq_event_rate_hz", PROM_GAUGE, "Events built per second, over the last second "
          "or so.", DOUBLE(ev_rate_hz) },
        { "darkdaq_builder_fragments_total", PROM_COUNTER,
          IN_RUNS("Fragments given to the builder."), U64(bc.fragments) },
        { "darkdaq_builder_good_fragments_total", PROM_COUNTER,
          IN_RUNS("Good fragments given to the builder."), U64(bc.good_fragments) },
        { "darkdaq_builder_late_total", PROM_COUNTER, IN_RUNS("Late records: fragments for a "
          "trigger their source had moved past."), U64(bc.late) },
        { "darkdaq_builder_junk_total", PROM_COUNTER, IN_RUNS("Junk records."), U64(bc.junk) },
        { "darkdaq_builder_junk_bytes_total", PROM_COUNTER, IN_RUNS("Bytes in junk records."),
          U64(bc.junk_bytes) },
        { "darkdaq_builder_corrupt_records_total", PROM_COUNTER, IN_RUNS("Corrupt records (CRC "
          "failed, header not trusted)."), U64(bc.corrupt) },
        { "darkdaq_builder_bytes_in_total", PROM_COUNTER, IN_RUNS("Bytes given to the builder."),
          U64(bc.bytes_in) },
        { "darkdaq_builder_bytes_out_total", PROM_COUNTER, IN_RUNS("Bytes handed on in events "
          "and records."), U64(bc.bytes_out) },
        { "darkdaq_builder_late_without_event_total", PROM_COUNTER, IN_RUNS("Late fragments "
          "of a trigger decided without any fragment, which so has no event (its sources were "
          "silent past build_timeout_ms)."), U64(bc.late_without_event) },
        { "darkdaq_builder_out_of_step_total", PROM_COUNTER,
          IN_RUNS("Out-of-step diagnoses made."), U64(bc.out_of_step) },
        { "darkdaq_builder_forced_total", PROM_COUNTER, "Events decided early to protect the "
          "daemon, by the limit that forced them (max_open_events, max_open_bytes, "
          "build_timeout_ms), over every run.", BUILDER(s_forced_by, bc) },
        { "darkdaq_builder_source_fragments_total", PROM_COUNTER,
          IN_RUNS("Fragments per source id."), SOURCE_ID_U64(bc.per_source_fragments) },
        { "darkdaq_builder_source_late_total", PROM_COUNTER,
          IN_RUNS("Late records per source id."), SOURCE_ID_U64(bc.per_source_late) },
        { "darkdaq_builder_source_missing_total", PROM_COUNTER, IN_RUNS("Events lacking a "
          "good fragment from the source id."), SOURCE_ID_U64(bc.per_source_missing) },
        { "darkdaq_builder_open_events", PROM_GAUGE, "Events waiting for fragments.",
          U64(open_events) },
        { "darkdaq_builder_open_bytes", PROM_GAUGE, "Bytes of those events.", U64(open_bytes) },
        { "darkdaq_out_of_step_offset", PROM_GAUGE, "Sources found out of step: the "
          "trigger-number offset that makes their times agree.", OWN(s_oos_offset) },
        { "darkdaq_out_of_step_first_trigger", PROM_GAUGE, "Sources found out of step: the "
          "first trigger affected.", OWN(s_oos_first_trigger) },

        /* BUSY, storage, monitor, auth: over the daemon's life */
        { "darkdaq_busy", PROM_GAUGE, "1 while BUSY is asserted on every source.", FLAG(busy) },
        { "darkdaq_busy_seconds_total", PROM_COUNTER, "Time with BUSY asserted.",
          SECONDS(busy_ms) },
        { "darkdaq_storage_buffer_bytes", PROM_GAUGE, "Size of the storage window "
          "(storage_buffer_bytes).", U64(storage_buffer_bytes) },
        { "darkdaq_storage_held_bytes", PROM_GAUGE, "Bytes of records held until the store "
          "acknowledges them.", U64(pc.held_bytes) },
        { "darkdaq_storage_held_records", PROM_GAUGE, "Records held until the store "
          "acknowledges them.", U64(pc.held_records) },
        { "darkdaq_storage_max_held_bytes", PROM_GAUGE, "The most bytes ever held.",
          U64(pc.max_held_bytes) },
        { "darkdaq_storage_records_total", PROM_COUNTER, "Records put in the window.",
          U64(pc.records) },
        { "darkdaq_storage_sent_total", PROM_COUNTER, "Records sent to the store, re-sends "
          "included.", U64(pc.sent) },
        { "darkdaq_storage_resent_total", PROM_COUNTER, "Records sent again after the store "
          "said HELLO.", U64(pc.resent) },
        { "darkdaq_storage_acked_total", PROM_COUNTER, "Records the store acknowledged.",
          U64(pc.acked) },
        { "darkdaq_storage_spilled_total", PROM_COUNTER, "Records kept on the heap: no room in "
          "the window.", U64(pc.spilled) },
        { "darkdaq_storage_hellos_total", PROM_COUNTER, "HELLOs from the store.",
          U64(pc.hellos) },
        { "darkdaq_storage_store_full", PROM_GAUGE, "1 while the store says FULL.",
          FLAG(pc.store_full) },
        { "darkdaq_storage_gone", PROM_GAUGE, "1 while records have been held for "
          "storage_warn_ms or longer with no store taking them (no session, or a silent "
          "store).", FLAG(storage_gone) },
        { "darkdaq_storage_gone_seconds", PROM_GAUGE, "For how long, while it lasts; 0 "
          "otherwise.", SECONDS(storage_gone_ms) },
        { "darkdaq_storage_gone_total", PROM_COUNTER, "Times records began to wait for "
          "storage_warn_ms with no store taking them.", U64(storage_alarms) },
        { "darkdaq_storage_spooled_records", PROM_GAUGE, "Records held from the spool (the "
          "last exit's unacknowledged ones) that the store has not yet acknowledged.",
          U64(pc.spool_held) },
        { "darkdaq_monitor_sent_total", PROM_COUNTER, "Monitor messages sent.",
          U64(pc.monitor_sent) },
        { "darkdaq_monitor_dropped_total", PROM_COUNTER, "Monitor samples dropped at the "
          "high-water mark (a slow monitor never slows the daemon).", U64(pc.monitor_dropped) },
        { "darkdaq_link_connected", PROM_GAUGE, "Connections up now on the channel (handshake "
          "done).", OWN(s_link_connected) },
        { "darkdaq_link_gone", PROM_GAUGE, "1 while the channel had a peer and has none (closed, "
          "reset, or silent for 3 heartbeats).", OWN(s_link_gone) },
        { "darkdaq_link_state_seconds", PROM_GAUGE, "Time since the channel's connections last "
          "changed.", OWN(s_link_age) },
        { "darkdaq_link_peer_info", PROM_GAUGE, "The channel's last peer to connect "
          "(getpeername), as a label.", OWN(s_link_peer) },
        { "darkdaq_link_connections_total", PROM_COUNTER, "Connections made on the channel.",
          LINK_U64(connections) },
        { "darkdaq_link_disconnects_total", PROM_COUNTER, "Connections lost on the channel, "
          "after their handshake.", LINK_U64(disconnects) },
        { "darkdaq_link_refused_auth_total", PROM_COUNTER, "Handshakes refused: a client key not "
          "allowed on the channel.", LINK_U64(refused_auth) },
        { "darkdaq_link_refused_protocol_total", PROM_COUNTER, "Handshakes failed otherwise: "
          "the client has a wrong server key, or no CURVE.", LINK_U64(refused_protocol) },
        { "darkdaq_link_messages_in_total", PROM_COUNTER, "Messages taken from the channel.",
          LINK_U64(msgs_in) },
        { "darkdaq_link_bytes_in_total", PROM_COUNTER, "Their bytes.", LINK_U64(bytes_in) },
        { "darkdaq_link_messages_out_total", PROM_COUNTER, "Messages sent on the channel.",
          LINK_U64(msgs_out) },
        { "darkdaq_link_bytes_out_total", PROM_COUNTER, "Their bytes.", LINK_U64(bytes_out) },
        { "darkdaq_auth_refusals_total", PROM_COUNTER, "Connections the ZAP handler refused (a "
          "CURVE key not allowed, or no CURVE where it is required).", U64(auth_refusals) },
};

void live_metrics_add_builder(struct builder_counters *sum, const struct builder_counters *x)
{
        uint64_t *const f[] = {
                &sum->events, &sum->complete, &sum->incomplete, &sum->duplicate,
                &sum->corrupt_events, &sum->time_mismatch, &sum->truncated, &sum->busy_seen,
                &sum->test_pattern, &sum->fragments, &sum->good_fragments, &sum->late,
                &sum->junk, &sum->junk_bytes, &sum->corrupt, &sum->forced_by_events,
                &sum->forced_by_bytes, &sum->forced_by_timeout, &sum->late_without_event,
                &sum->bytes_in, &sum->bytes_out, &sum->out_of_step,
        };
        /* the same fields of x, at the same offsets */
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
                *f[i] += *(const uint64_t *)((const char *)x + ((char *)f[i] - (char *)sum));
        for (unsigned sid = 0; sid < 64; sid++) {
                sum->per_source_fragments[sid] += x->per_source_fragments[sid];
                sum->per_source_late[sid] += x->per_source_late[sid];
                sum->per_source_missing[sid] += x->per_source_missing[sid];
                sum->per_source_late_without_event[sid] += x->per_source_late_without_event[sid];
                sum->per_source_timeouts[sid] += x->per_source_timeouts[sid];
        }
}

void live_metrics_add_source(struct live_metrics_source *sum, const struct live_metrics_source *x)
{
        struct source_counters *a = &sum->c;
        const struct source_counters *b = &x->c;
        a->bytes += b->bytes;
        a->fragments += b->fragments;
        a->bad += b->bad;
        a->junk += b->junk;
        a->junk_bytes += b->junk_bytes;
        a->ring_waits += b->ring_waits;
        a->busy_ms += b->busy_ms;
        a->resets += b->resets;
        a->health.reconnects += b->health.reconnects;
        a->health.unplugs += b->health.unplugs;
        a->health.errors += b->health.errors;
        a->health.upstream_dropped += b->health.upstream_dropped;
        sum->silences += x->silences;
        sum->stalls += x->stalls;
}

int live_metrics_render(prom_t *p, const struct live_metrics_snapshot *s)
{
        for (size_t i = 0; i < sizeof s_families / sizeof s_families[0]; i++) {
                const struct family *f = &s_families[i];
                prom_family(p, f->name, f->type, f->help);
                f->samples(p, s, f->offset);
        }
        return 0;
}
