/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of live_metrics: every family of the catalogue is written, in order,
 * with its HELP and TYPE lines, even with nothing to sample; each kind of row
 * takes its samples from the right field (per source, per tag, per source
 * id, seconds from milliseconds, flags as 0/1, signed offsets). */
#include "check.h"
#include "live_metrics.h"

static size_t s_count(const char *text, const char *what)
{
        size_t n = 0;

        for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
                n++;
        return n;
}

static bool s_ends_with(const char *text, const char *end)
{
        size_t n = strlen(text), m = strlen(end);

        return n >= m && strcmp(text + n - m, end) == 0;
}

/* Is line (with its newline) in text? */
#define CHECK_LINE(text, line)                                               \
        do {                                                                 \
                if (!strstr((text), (line))) {                               \
                        fprintf(stderr, "%s:%d: no line \"%s\"\n",           \
                                __FILE__, __LINE__, (line));                 \
                        check_failed_now = 1;                                \
                }                                                            \
        } while (0)

TEST(empty_snapshot_has_every_family)
{
        static struct live_metrics_snapshot s;
        prom_t *p = prom_new();
        const char *text;

        REQUIRE(p);
        CHECK_EQ_U(live_metrics_render(p, &s), 0);
        CHECK_STR(prom_error_text(p), "");
        text = prom_text(p, NULL);
        CHECK(strncmp(text, "# HELP darkdaq_build_info ", 26) == 0);
        CHECK_LINE(text, "darkdaq_build_info{version=\"" DARKDAQ_VERSION "\"} 1\n");
        CHECK_LINE(text, "darkdaq_state{state=\"idle\"} 1\n");
        CHECK_LINE(text, "darkdaq_state{state=\"running\"} 0\n");
        /* no source configured: the family is there, without samples */
        CHECK_LINE(text, "# TYPE darkdaq_source_bytes_total counter\n"
                         "# HELP darkdaq_source_fragments_total ");
        CHECK_EQ_U(s_count(text, "darkdaq_tag_events_total{"), TAG_COUNT_);
        CHECK_EQ_U(s_count(text, "darkdaq_builder_source_fragments_total{"), 0);
        CHECK_EQ_U(s_count(text, "# HELP "), s_count(text, "# TYPE "));
        CHECK(s_ends_with(text, "# TYPE darkdaq_auth_refusals_total counter\n"
                                "darkdaq_auth_refusals_total 0\n"));
        prom_free(p);
}

TEST(samples_come_from_their_fields)
{
        static struct live_metrics_snapshot s;
        prom_t *p = prom_new();
        const char *text;

        REQUIRE(p);
        s.state = CONTROL_RUNNING;
        s.run = 7;
        s.run_ms = 1500;
        s.n_sources = 2;
        snprintf(s.src[0].name, sizeof s.src[0].name, "klm");
        snprintf(s.src[1].name, sizeof s.src[1].name, "svd");
        s.src[0].c.fragments = 10;
        s.src[1].c.fragments = 20;
        s.src[0].c.running = true;
        s.src[0].c.busy_ms = 250;
        s.src[1].c.health.unplugs = 3;
        s.src[1].ring_capacity = 4096;
        s.bc.events = 99;
        s.bc.complete = 98;
        s.bc.corrupt_events = 1;
        s.bc.junk = 5;
        s.bc.forced_by_bytes = 2;
        s.bc.per_source_late[5] = 2;
        s.tags[TAG_FOUR_MUON] = 3;
        s.records = 12;
        s.records_total = 40;
        s.run_bc.events = 9;
        s.run_bc.incomplete = 2;
        s.run_tags[TAG_FOUR_MUON] = 1;
        s.tag_rate_hz[TAG_TAU_1X3] = 0.5;
        s.ev_rate_hz = 12.25;
        s.open_events = 4;
        s.n_oos = 1;
        s.oos[0] = (struct builder_out_of_step){ .source = 2, .offset = -1, .first_trigger = 101 };
        s.busy = true;
        s.busy_ms = 2000;
        s.pc.acked = 77;
        s.pc.spool_held = 12;
        s.storage_buffer_bytes = 1u << 20;
        s.auth_refusals = 4;

        CHECK_EQ_U(live_metrics_render(p, &s), 0);
        CHECK_STR(prom_error_text(p), "");
        text = prom_text(p, NULL);
        CHECK_LINE(text, "darkdaq_state{state=\"idle\"} 0\n");
        CHECK_LINE(text, "darkdaq_state{state=\"running\"} 1\n");
        CHECK_LINE(text, "\ndarkdaq_run 7\n");
        CHECK_LINE(text, "\ndarkdaq_run_seconds 1.5\n");
        /* one run's figures are gauges; the _total counters hold the life's */
        CHECK_LINE(text, "# TYPE darkdaq_run_records gauge\ndarkdaq_run_records 12\n");
        CHECK_LINE(text, "\ndarkdaq_run_built_events 9\n");
        CHECK_LINE(text, "darkdaq_run_events{status=\"incomplete\"} 2\n");
        CHECK_LINE(text, "darkdaq_run_tag_events{tag=\"four_muon\"} 1\n");
        CHECK_LINE(text, "# TYPE darkdaq_records_total counter\ndarkdaq_records_total 40\n");
        CHECK_EQ_U(s_count(text, "darkdaq_run_records_total"), 0);
        CHECK_LINE(text, "darkdaq_source_fragments_total{source=\"klm\"} 10\n"
                         "darkdaq_source_fragments_total{source=\"svd\"} 20\n");
        CHECK_LINE(text, "darkdaq_source_unplugs_total{source=\"svd\"} 3\n");
        CHECK_LINE(text, "darkdaq_source_ring_capacity_bytes{source=\"svd\"} 4096\n");
        CHECK_LINE(text, "darkdaq_source_busy_seconds_total{source=\"klm\"} 0.25\n");
        CHECK_LINE(text, "darkdaq_source_running{source=\"klm\"} 1\n"
                         "darkdaq_source_running{source=\"svd\"} 0\n");
        CHECK_LINE(text, "darkdaq_events_total{status=\"complete\"} 98\n");
        CHECK_LINE(text, "darkdaq_events_total{status=\"corrupt\"} 1\n");
        CHECK_LINE(text, "\ndarkdaq_built_events_total 99\n");
        CHECK_LINE(text, "darkdaq_tag_events_total{tag=\"four_muon\"} 3\n");
        CHECK_LINE(text, "darkdaq_tag_rate_hz{tag=\"tau_1x3\"} 0.5\n");
        CHECK_LINE(text, "\ndarkdaq_event_rate_hz 12.25\n");
        CHECK_LINE(text, "# HELP darkdaq_builder_junk_total Junk records. Over every run of "
                         "the process.\n# TYPE darkdaq_builder_junk_total counter\n"
                         "darkdaq_builder_junk_total 5\n");
        CHECK_LINE(text, "darkdaq_builder_forced_total{by=\"bytes\"} 2\n");
        /* a source id with any count shows in all three per-id families */
        CHECK_LINE(text, "darkdaq_builder_source_fragments_total{source_id=\"5\"} 0\n");
        CHECK_LINE(text, "darkdaq_builder_source_late_total{source_id=\"5\"} 2\n");
        CHECK_LINE(text, "darkdaq_builder_source_missing_total{source_id=\"5\"} 0\n");
        CHECK_EQ_U(s_count(text, "{source_id=\"4\"}"), 0);
        CHECK_LINE(text, "\ndarkdaq_builder_open_events 4\n");
        CHECK_LINE(text, "darkdaq_out_of_step_offset{source_id=\"2\"} -1\n");
        CHECK_LINE(text, "darkdaq_out_of_step_first_trigger{source_id=\"2\"} 101\n");
        CHECK_LINE(text, "\ndarkdaq_busy 1\n");
        CHECK_LINE(text, "\ndarkdaq_busy_seconds_total 2\n");
        CHECK_LINE(text, "\ndarkdaq_storage_buffer_bytes 1048576\n");
        CHECK_LINE(text, "\ndarkdaq_storage_acked_total 77\n");
        CHECK_LINE(text, "\ndarkdaq_storage_store_full 0\n");   /* false, busy true */
        CHECK_LINE(text, "\ndarkdaq_storage_spooled_records 12\n");
        CHECK_LINE(text, "\ndarkdaq_auth_refusals_total 4\n");
        prom_free(p);
}

/* Sums over the life: each counted field added, flags left alone. */
TEST(adding_a_run_and_a_closed_source)
{
        static struct builder_counters sum, run;
        struct live_metrics_source a = { .silences = 1 }, b = { .silences = 2, .stalls = 3 };
        sum.events = 5;
        sum.out_of_step = 1;
        run.events = 7;
        run.out_of_step = 2;
        run.bytes_in = 11;
        run.per_source_missing[63] = 4;
        live_metrics_add_builder(&sum, &run);
        live_metrics_add_builder(&sum, &run);
        CHECK_EQ_U(sum.events, 19);
        CHECK_EQ_U(sum.out_of_step, 5);
        CHECK_EQ_U(sum.bytes_in, 22);
        CHECK_EQ_U(sum.per_source_missing[63], 8);
        a.c.fragments = 10;
        b.c.fragments = 20;
        b.c.health.unplugs = 1;
        b.c.running = true;
        live_metrics_add_source(&a, &b);
        CHECK_EQ_U(a.c.fragments, 30);
        CHECK_EQ_U(a.c.health.unplugs, 1);
        CHECK_EQ_U(a.silences, 3);
        CHECK_EQ_U(a.stalls, 3);
        CHECK(!a.c.running);
}

TEST_MAIN()
