/* live_metrics: the /metrics text from a snapshot, family by family, in
 * the order the text shows it. */
#include "live_metrics.h"

#include <stdio.h>
#include <string.h>

/* The per-source figures of /metrics: every one a uint64_t of live_metrics_source. */
struct per_source_metric {
        const char *name;
        enum prom_type type;
        const char *help;
        size_t offset;                  /* of the uint64_t in struct live_metrics_source */
};

#define PS(field) offsetof(struct live_metrics_source, field)
static const struct per_source_metric per_source[] = {
        { "darkdaq_source_bytes_total", PROM_COUNTER,
          "Bytes read from the source's driver, since configure.", PS(c.bytes) },
        { "darkdaq_source_fragments_total", PROM_COUNTER,
          "Good fragments read, per source, since configure.", PS(c.fragments) },
        { "darkdaq_source_bad_total", PROM_COUNTER, "Bad or cut fragments and bad header "
          "magics read, per source, since configure.", PS(c.bad) },
        { "darkdaq_source_junk_total", PROM_COUNTER, "Junk runs (bytes that are no fragment), "
          "per source, since configure.", PS(c.junk) },
        { "darkdaq_source_junk_bytes_total", PROM_COUNTER,
          "Bytes in junk runs, per source, since configure.", PS(c.junk_bytes) },
        { "darkdaq_source_silences_total", PROM_COUNTER, "Times the source was silent for "
          "silence_warn_ms in a run, since configure.", PS(silences) },
        { "darkdaq_source_upstream_dropped_total", PROM_COUNTER, "Fragments the board dropped "
          "before the host (PCIe DROPPED): loss upstream.", PS(c.health.upstream_dropped) },
        { "darkdaq_source_reconnects_total", PROM_COUNTER,
          "Times the board came back after it left (USB hot-plug).", PS(c.health.reconnects) },
        { "darkdaq_source_unplugs_total", PROM_COUNTER, "Times the board left (USB unplug).",
          PS(c.health.unplugs) },
        { "darkdaq_source_driver_errors_total", PROM_COUNTER,
          "Transfer or request errors the driver saw.", PS(c.health.errors) },
        { "darkdaq_source_ring_waits_total", PROM_COUNTER,
          "Times the source's thread found its ring to the core full.", PS(c.ring_waits) },
        { "darkdaq_source_ring_occupancy_bytes", PROM_GAUGE,
          "Bytes waiting in the source's ring to the core.", PS(ring_used) },
        { "darkdaq_source_ring_capacity_bytes", PROM_GAUGE,
          "Size of the source's ring (0: not configured).", PS(ring_capacity) },
};
#undef PS

static const char *const s_status_flags[] = {
        "complete", "incomplete", "duplicate", "corrupt", "time_mismatch", "truncated",
        "busy_seen", "test_pattern",
};

int live_metrics_render(prom_t *p, const struct live_metrics_snapshot *s)
{
        const struct builder_counters *b = &s->bc;
        char id[8];

        prom_family(p, "darkdaq_build_info", PROM_GAUGE, "The darkdaqd version running.");
        prom_u64(p, 1, "version", DARKDAQ_VERSION, NULL);
        prom_family(p, "darkdaq_state", PROM_GAUGE, "Run state: 1 for the state the daemon "
                    "is in, 0 for the others.");
        for (enum control_state st = CONTROL_IDLE; st <= CONTROL_ERROR; st++)
                prom_u64(p, s->state == st, "state", control_state_name(st), NULL);
        prom_family(p, "darkdaq_run", PROM_GAUGE, "The run going on, or the last one (0: none).");
        prom_u64(p, s->run, NULL);
        prom_family(p, "darkdaq_run_seconds", PROM_GAUGE, "Duration of that run so far.");
        prom_double(p, (double)s->run_ms / 1000.0, NULL);
        prom_family(p, "darkdaq_run_records_total", PROM_COUNTER, "Records of that run "
                    "(header, events, late, junk, corrupt, trailer); resets at each start.");
        prom_u64(p, s->records, NULL);

        /* per source, since configure */
        for (size_t k = 0; k < sizeof per_source / sizeof per_source[0]; k++) {
                const struct per_source_metric *m = &per_source[k];
                prom_family(p, m->name, m->type, m->help);
                for (size_t i = 0; i < s->n_sources; i++) {
                        uint64_t v;
                        memcpy(&v, (const char *)&s->src[i] + m->offset, sizeof v);
                        prom_u64(p, v, "source", s->src[i].name, NULL);
                }
        }
        prom_family(p, "darkdaq_source_busy_seconds_total", PROM_COUNTER, "Time with BUSY "
                    "asserted on the source, since configure.");
        for (size_t i = 0; i < s->n_sources; i++)
                prom_double(p, (double)s->src[i].c.busy_ms / 1000.0, "source", s->src[i].name,
                            NULL);
        prom_family(p, "darkdaq_source_running", PROM_GAUGE, "1 while the source's thread runs.");
        for (size_t i = 0; i < s->n_sources; i++)
                prom_u64(p, s->src[i].c.running, "source", s->src[i].name, NULL);

        /* the run's builder: the figures its trailer carries */
        const uint64_t flags[] = { b->complete, b->incomplete, b->duplicate, b->corrupt_events,
                                   b->time_mismatch, b->truncated, b->busy_seen,
                                   b->test_pattern };
        prom_family(p, "darkdaq_events_total", PROM_COUNTER, "Events built in the run, per "
                    "status flag (an event may carry several); resets at each start.");
        for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
                prom_u64(p, flags[i], "status", s_status_flags[i], NULL);
        prom_family(p, "darkdaq_built_events_total", PROM_COUNTER, "Events built in the run; "
                    "resets at each start.");
        prom_u64(p, b->events, NULL);
        prom_family(p, "darkdaq_tag_events_total", PROM_COUNTER, "Events of the run that "
                    "fired each tag; resets at each start.");
        for (unsigned t = 0; t < TAG_COUNT_; t++)
                prom_u64(p, s->tags[t], "tag", tag_name((enum tag_id)t), NULL);
        prom_family(p, "darkdaq_tag_rate_hz", PROM_GAUGE, "Events per second firing each tag, "
                    "over the last second or so.");
        for (unsigned t = 0; t < TAG_COUNT_; t++)
                prom_double(p, s->tag_rate_hz[t], "tag", tag_name((enum tag_id)t), NULL);
        prom_family(p, "darkdaq_event_rate_hz", PROM_GAUGE, "Events built per second, over the "
                    "last second or so.");
        prom_double(p, s->ev_rate_hz, NULL);
        struct { const char *name, *help; uint64_t v; } bf[] = {
                { "darkdaq_builder_fragments_total", "Fragments given to the builder.",
                  b->fragments },
                { "darkdaq_builder_good_fragments_total", "Good fragments given to the builder.",
                  b->good_fragments },
                { "darkdaq_builder_late_total", "Late records: fragments for a trigger their "
                  "source had moved past.", b->late },
                { "darkdaq_builder_junk_total", "Junk records.", b->junk },
                { "darkdaq_builder_junk_bytes_total", "Bytes in junk records.", b->junk_bytes },
                { "darkdaq_builder_corrupt_records_total", "Corrupt records (CRC failed, header "
                  "not trusted).", b->corrupt },
                { "darkdaq_builder_bytes_in_total", "Bytes given to the builder.", b->bytes_in },
                { "darkdaq_builder_bytes_out_total", "Bytes handed on in events and records.",
                  b->bytes_out },
                { "darkdaq_builder_out_of_step_total", "Out-of-step diagnoses made.",
                  b->out_of_step },
        };
        for (size_t i = 0; i < sizeof bf / sizeof bf[0]; i++) {
                char help[160];
                snprintf(help, sizeof help, "%s In the run; resets at each start.", bf[i].help);
                prom_family(p, bf[i].name, PROM_COUNTER, help);
                prom_u64(p, bf[i].v, NULL);
        }
        prom_family(p, "darkdaq_builder_forced_total", PROM_COUNTER, "Events decided early to "
                    "protect the daemon, by the limit that forced them (max_open_events, "
                    "max_open_bytes, build_timeout_ms); resets at each start.");
        prom_u64(p, b->forced_by_events, "by", "events", NULL);
        prom_u64(p, b->forced_by_bytes, "by", "bytes", NULL);
        prom_u64(p, b->forced_by_timeout, "by", "timeout", NULL);
        static const char *const per_id[3][2] = {
                { "darkdaq_builder_source_fragments_total", "Fragments per source id in the run." },
                { "darkdaq_builder_source_late_total", "Late records per source id in the run." },
                { "darkdaq_builder_source_missing_total", "Events lacking a good fragment from "
                  "the source id, in the run." },
        };
        for (unsigned k = 0; k < 3; k++) {
                const uint64_t *a = k == 0 ? b->per_source_fragments :
                                    k == 1 ? b->per_source_late : b->per_source_missing;
                prom_family(p, per_id[k][0], PROM_COUNTER, per_id[k][1]);
                for (unsigned sid = 0; sid < 64; sid++) {
                        if (!b->per_source_fragments[sid] && !b->per_source_late[sid] &&
                            !b->per_source_missing[sid])
                                continue;
                        snprintf(id, sizeof id, "%u", sid);
                        prom_u64(p, a[sid], "source_id", id, NULL);
                }
        }
        prom_family(p, "darkdaq_builder_open_events", PROM_GAUGE, "Events waiting for "
                    "fragments.");
        prom_u64(p, s->open_events, NULL);
        prom_family(p, "darkdaq_builder_open_bytes", PROM_GAUGE, "Bytes of those events.");
        prom_u64(p, s->open_bytes, NULL);
        prom_family(p, "darkdaq_out_of_step_offset", PROM_GAUGE, "Sources found out of step: "
                    "the trigger-number offset that makes their times agree.");
        for (size_t i = 0; i < s->n_oos; i++) {
                snprintf(id, sizeof id, "%u", s->oos[i].source);
                prom_i64(p, s->oos[i].offset, "source_id", id, NULL);
        }
        prom_family(p, "darkdaq_out_of_step_first_trigger", PROM_GAUGE, "Sources found out of "
                    "step: the first trigger affected.");
        for (size_t i = 0; i < s->n_oos; i++) {
                snprintf(id, sizeof id, "%u", s->oos[i].source);
                prom_u64(p, s->oos[i].first_trigger, "source_id", id, NULL);
        }

        /* BUSY, storage, monitor, auth: over the daemon's life */
        prom_family(p, "darkdaq_busy", PROM_GAUGE, "1 while BUSY is asserted on every source.");
        prom_u64(p, s->busy, NULL);
        prom_family(p, "darkdaq_busy_seconds_total", PROM_COUNTER, "Time with BUSY asserted.");
        prom_double(p, (double)s->busy_ms / 1000.0, NULL);
        const struct publish_counters *pc = &s->pc;
        struct { const char *name; enum prom_type type; const char *help; uint64_t v; } sf[] = {
                { "darkdaq_storage_buffer_bytes", PROM_GAUGE, "Size of the storage window "
                  "(storage_buffer_bytes).", s->storage_buffer_bytes },
                { "darkdaq_storage_held_bytes", PROM_GAUGE, "Bytes of records held until the "
                  "store acknowledges them.", pc->held_bytes },
                { "darkdaq_storage_held_records", PROM_GAUGE, "Records held until the store "
                  "acknowledges them.", pc->held_records },
                { "darkdaq_storage_max_held_bytes", PROM_GAUGE, "The most bytes ever held.",
                  pc->max_held_bytes },
                { "darkdaq_storage_records_total", PROM_COUNTER, "Records put in the window.",
                  pc->records },
                { "darkdaq_storage_sent_total", PROM_COUNTER, "Records sent to the store, "
                  "re-sends included.", pc->sent },
                { "darkdaq_storage_resent_total", PROM_COUNTER, "Records sent again after the "
                  "store said HELLO.", pc->resent },
                { "darkdaq_storage_acked_total", PROM_COUNTER, "Records the store "
                  "acknowledged.", pc->acked },
                { "darkdaq_storage_spilled_total", PROM_COUNTER, "Records kept on the heap: no "
                  "room in the window.", pc->spilled },
                { "darkdaq_storage_hellos_total", PROM_COUNTER, "HELLOs from the store.",
                  pc->hellos },
                { "darkdaq_storage_store_full", PROM_GAUGE, "1 while the store says FULL.",
                  pc->store_full },
                { "darkdaq_monitor_sent_total", PROM_COUNTER, "Monitor messages sent.",
                  pc->monitor_sent },
                { "darkdaq_monitor_dropped_total", PROM_COUNTER, "Monitor samples dropped at the "
                  "high-water mark (a slow monitor never slows the daemon).",
                  pc->monitor_dropped },
                { "darkdaq_auth_refusals_total", PROM_COUNTER, "Connections the ZAP handler "
                  "refused (a CURVE key not allowed, or no CURVE where it is required).",
                  s->auth_refusals },
        };
        for (size_t i = 0; i < sizeof sf / sizeof sf[0]; i++) {
                prom_family(p, sf[i].name, sf[i].type, sf[i].help);
                prom_u64(p, sf[i].v, NULL);
        }
        return 0;
}
