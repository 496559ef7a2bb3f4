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

static void s_events_by_status(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        static const char *const status[] = {
                "complete", "incomplete", "duplicate", "corrupt", "time_mismatch", "truncated",
                "busy_seen", "test_pattern",
        };
        const struct builder_counters *b = &s->bc;
        const uint64_t v[] = { b->complete, b->incomplete, b->duplicate, b->corrupt_events,
                               b->time_mismatch, b->truncated, b->busy_seen, b->test_pattern };

        (void)offset;
        _Static_assert(sizeof status / sizeof status[0] == sizeof v / sizeof v[0],
                       "one status name per flag count");
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
                prom_u64(p, v[i], "status", status[i], NULL);
}

static void s_forced_by(prom_t *p, const struct live_metrics_snapshot *s, size_t offset)
{
        (void)offset;
        prom_u64(p, s->bc.forced_by_events, "by", "events", NULL);
        prom_u64(p, s->bc.forced_by_bytes, "by", "bytes", NULL);
        prom_u64(p, s->bc.forced_by_timeout, "by", "timeout", NULL);
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

/* The builder's run counters say so in their help. */
#define IN_RUN(help)            help " In the run; resets at each start."

static const struct family s_families[] = {
        { "darkdaq_build_info", PROM_GAUGE, "The darkdaqd version running.",
          OWN(s_build_info) },
        { "darkdaq_state", PROM_GAUGE, "Run state: 1 for the state the daemon is in, 0 for the "
          "others.", OWN(s_state) },
        { "darkdaq_run", PROM_GAUGE, "The run going on, or the last one (0: none).",
          U64(run) },
        { "darkdaq_run_seconds", PROM_GAUGE, "Duration of that run so far.", SECONDS(run_ms) },
        { "darkdaq_run_records_total", PROM_COUNTER, "Records of that run (header, events, "
          "late, junk, corrupt, trailer); resets at each start.", U64(records) },

        /* per source, since configure */
        { "darkdaq_source_bytes_total", PROM_COUNTER,
          "Bytes read from the source's driver, since configure.", SOURCE_U64(c.bytes) },
        { "darkdaq_source_fragments_total", PROM_COUNTER,
          "Good fragments read, per source, since configure.", SOURCE_U64(c.fragments) },
        { "darkdaq_source_bad_total", PROM_COUNTER, "Bad or cut fragments and bad header "
          "magics read, per source, since configure.", SOURCE_U64(c.bad) },
        { "darkdaq_source_junk_total", PROM_COUNTER, "Junk runs (bytes that are no fragment), "
          "per source, since configure.", SOURCE_U64(c.junk) },
        { "darkdaq_source_junk_bytes_total", PROM_COUNTER,
          "Bytes in junk runs, per source, since configure.", SOURCE_U64(c.junk_bytes) },
        { "darkdaq_source_silences_total", PROM_COUNTER, "Times the source was silent for "
          "silence_warn_ms in a run, since configure.", SOURCE_U64(silences) },
        { "darkdaq_source_stalls_total", PROM_COUNTER, "Times the source's thread got no CPU "
          "for 250 ms while the core ran (its silence is then not judged), since configure.",
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
          "source, since configure.", SOURCE_SECONDS(c.busy_ms) },
        { "darkdaq_source_running", PROM_GAUGE, "1 while the source's thread runs.",
          SOURCE_FLAG(c.running) },

        /* the run's builder and tags: the figures its trailer carries */
        { "darkdaq_events_total", PROM_COUNTER, "Events built in the run, per status flag (an "
          "event may carry several); resets at each start.", OWN(s_events_by_status) },
        { "darkdaq_built_events_total", PROM_COUNTER, "Events built in the run; resets at each "
          "start.", U64(bc.events) },
        { "darkdaq_tag_events_total", PROM_COUNTER, "Events of the run that fired each tag; "
          "resets at each start.", TAG_U64(tags) },
        { "darkdaq_tag_rate_hz", PROM_GAUGE, "Events per second firing each tag, over the last "
          "second or so.", TAG_DOUBLE(tag_rate_hz) },
        { "darkdaq_event_rate_hz", PROM_GAUGE, "Events built per second, over the last second "
          "or so.", DOUBLE(ev_rate_hz) },
        { "darkdaq_builder_fragments_total", PROM_COUNTER,
          IN_RUN("Fragments given to the builder."), U64(bc.fragments) },
        { "darkdaq_builder_good_fragments_total", PROM_COUNTER,
          IN_RUN("Good fragments given to the builder."), U64(bc.good_fragments) },
        { "darkdaq_builder_late_total", PROM_COUNTER, IN_RUN("Late records: fragments for a "
          "trigger their source had moved past."), U64(bc.late) },
        { "darkdaq_builder_junk_total", PROM_COUNTER, IN_RUN("Junk records."), U64(bc.junk) },
        { "darkdaq_builder_junk_bytes_total", PROM_COUNTER, IN_RUN("Bytes in junk records."),
          U64(bc.junk_bytes) },
        { "darkdaq_builder_corrupt_records_total", PROM_COUNTER, IN_RUN("Corrupt records (CRC "
          "failed, header not trusted)."), U64(bc.corrupt) },
        { "darkdaq_builder_bytes_in_total", PROM_COUNTER, IN_RUN("Bytes given to the builder."),
          U64(bc.bytes_in) },
        { "darkdaq_builder_bytes_out_total", PROM_COUNTER, IN_RUN("Bytes handed on in events "
          "and records."), U64(bc.bytes_out) },
        { "darkdaq_builder_late_without_event_total", PROM_COUNTER, IN_RUN("Late fragments "
          "of a trigger decided without any fragment, which so has no event (its sources were "
          "silent past build_timeout_ms)."), U64(bc.late_without_event) },
        { "darkdaq_builder_out_of_step_total", PROM_COUNTER,
          IN_RUN("Out-of-step diagnoses made."), U64(bc.out_of_step) },
        { "darkdaq_builder_forced_total", PROM_COUNTER, "Events decided early to protect the "
          "daemon, by the limit that forced them (max_open_events, max_open_bytes, "
          "build_timeout_ms); resets at each start.", OWN(s_forced_by) },
        { "darkdaq_builder_source_fragments_total", PROM_COUNTER,
          "Fragments per source id in the run.", SOURCE_ID_U64(bc.per_source_fragments) },
        { "darkdaq_builder_source_late_total", PROM_COUNTER,
          "Late records per source id in the run.", SOURCE_ID_U64(bc.per_source_late) },
        { "darkdaq_builder_source_missing_total", PROM_COUNTER, "Events lacking a good "
          "fragment from the source id, in the run.", SOURCE_ID_U64(bc.per_source_missing) },
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
        { "darkdaq_monitor_sent_total", PROM_COUNTER, "Monitor messages sent.",
          U64(pc.monitor_sent) },
        { "darkdaq_monitor_dropped_total", PROM_COUNTER, "Monitor samples dropped at the "
          "high-water mark (a slow monitor never slows the daemon).", U64(pc.monitor_dropped) },
        { "darkdaq_auth_refusals_total", PROM_COUNTER, "Connections the ZAP handler refused (a "
          "CURVE key not allowed, or no CURVE where it is required).", U64(auth_refusals) },
};

int live_metrics_render(prom_t *p, const struct live_metrics_snapshot *s)
{
        for (size_t i = 0; i < sizeof s_families / sizeof s_families[0]; i++) {
                const struct family *f = &s_families[i];
                prom_family(p, f->name, f->type, f->help);
                f->samples(p, s, f->offset);
        }
        return 0;
}
