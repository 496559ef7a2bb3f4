/* SPDX-License-Identifier: Apache-2.0 */
/* model: histograms belong to one run.  The run boundary is taken from the
 * stream where it can be: once a status reply has shown the daemon not
 * running, the next event to arrive starts the new run (the status reply
 * that names the run comes up to one poll later, and the events in between
 * would otherwise be lost).  A run number that changes without a stop seen
 * in between resets when the status shows it. */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "darkdaq.pb-c.h"

static const struct {
        const char *name, *title, *unit;
        size_t nbins;
        double lo, hi;
} s_hdefs[MODEL_H_COUNT] = {
        [MODEL_H_ZPRIME] = { "zprime_recoil_m_gev", "zprime_invisible: recoil mass", "GeV",
                             80, 0, 8 },
        [MODEL_H_EMISS] = { "e_miss_gev", "E*miss (CMS), all events", "GeV", 130, -2, 11 },
        [MODEL_H_FOURMU] = { "four_muon_dimuon_m_gev", "four_muon: dimuon masses", "GeV",
                             110, 0, 11 },
        [MODEL_H_RXY] = { "displaced_r_xy_cm", "displaced_vertex: r_xy", "cm", 60, 0, 60 },
};

model_t *model_new(const char *control_ep, const char *monitor_ep)
{
        model_t *m = calloc(1, sizeof *m);

        if (!m)
                return NULL;
        pthread_mutex_init(&m->lock, NULL);
        snprintf(m->control_ep, sizeof m->control_ep, "%s", control_ep);
        snprintf(m->monitor_ep, sizeof m->monitor_ep, "%s", monitor_ep);
        for (int i = 0; i < MODEL_H_COUNT; i++)
                if (!(m->h[i] = histogram_new(s_hdefs[i].name, s_hdefs[i].title, s_hdefs[i].unit,
                                              s_hdefs[i].nbins, s_hdefs[i].lo, s_hdefs[i].hi)))
                        return model_free(m);
        return m;
}

model_t *model_free(model_t *m)
{
        if (!m)
                return NULL;
        for (int i = 0; i < MODEL_H_COUNT; i++)
                histogram_free(m->h[i]);
        json_free(m->status);
        sbuf_free(&m->status_text);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return NULL;
}

void model_lock(model_t *m)
{
        pthread_mutex_lock(&m->lock);
}

void model_unlock(model_t *m)
{
        pthread_mutex_unlock(&m->lock);
}

static void s_reset(model_t *m, uint64_t base)
{
        for (int i = 0; i < MODEL_H_COUNT; i++)
                histogram_reset(m->h[i]);
        m->events_seen = 0;
        m->seen_at_status = 0;
        m->events_base = base;
        m->resets++;
}

void model_reset_histograms(model_t *m)
{
        model_lock(m);
        s_reset(m, json_u64(json_path(m->status, "builder.events"), 0));
        model_unlock(m);
}

uint64_t model_events_counted(const model_t *m)
{
        uint64_t ev = json_u64(json_path(m->status, "builder.events"), 0);
        return ev > m->events_base ? ev - m->events_base : 0;
}

double model_sampled_fraction(const model_t *m)
{
        uint64_t n = model_events_counted(m);
        if (!n)
                return NAN;
        /* in flight: the daemon has counted events the stream has not brought yet */
        return m->seen_at_status >= n ? 1.0 : (double)m->seen_at_status / (double)n;
}

/* ---- status ---- */

static void s_alarm(model_t *m, const struct model_alarm *prev, size_t n_prev, const char *name,
                    uint64_t value)
{
        struct model_alarm *a;

        if (!value || m->n_alarms >= MODEL_MAX_ALARMS)
                return;
        a = &m->alarms[m->n_alarms++];
        snprintf(a->name, sizeof a->name, "%s", name);
        a->value = value;
        a->delta = value;
        for (size_t i = 0; i < n_prev; i++)
                if (!strcmp(prev[i].name, name)) {
                        a->delta = value > prev[i].value ? value - prev[i].value : 0;
                        break;
                }
}

static void s_alarms(model_t *m)
{
        static const char *const builder[] = { "late", "corrupt", "corrupt_events", "junk",
                                               "time_mismatch", "truncated" };
        struct model_alarm prev[MODEL_MAX_ALARMS];
        size_t n_prev = m->n_alarms;
        const json_t *s = m->status;
        char name[80];

        memcpy(prev, m->alarms, n_prev * sizeof *prev);
        m->n_alarms = 0;
        s_alarm(m, prev, n_prev, "daemon in error", !strcmp(json_string(json_get(s, "state"), ""),
                                                           "error"));
        for (size_t i = 0; i < sizeof builder / sizeof *builder; i++) {
                snprintf(name, sizeof name, "builder.%s", builder[i]);
                s_alarm(m, prev, n_prev, name, json_u64(json_path(s, name), 0));
        }
        const json_t *oos = json_get(s, "out_of_step");
        s_alarm(m, prev, n_prev, "out_of_step sources", oos ? oos->n : 0);
        s_alarm(m, prev, n_prev, "monitor.dropped", json_u64(json_path(s, "monitor.dropped"), 0));
        s_alarm(m, prev, n_prev, "storage gone", json_bool(json_path(s, "storage.gone"), false));
        for (const json_t *x = json_get(s, "sources") ? json_get(s, "sources")->child : NULL; x;
             x = x->next) {
                const char *src = json_string(json_get(x, "name"), "?");
                snprintf(name, sizeof name, "source %.40s bad", src);
                s_alarm(m, prev, n_prev, name, json_u64(json_get(x, "bad"), 0));
                snprintf(name, sizeof name, "source %.40s junk", src);
                s_alarm(m, prev, n_prev, name, json_u64(json_get(x, "junk"), 0));
                snprintf(name, sizeof name, "source %.40s error", src);
                s_alarm(m, prev, n_prev, name, *json_string(json_get(x, "error"), "") != '\0');
                snprintf(name, sizeof name, "source %.40s unplugs", src);   /* a USB board left */
                s_alarm(m, prev, n_prev, name, json_u64(json_get(x, "unplugs"), 0));
        }
        s_alarm(m, prev, n_prev, "mon: unreadable records", m->bad_records);
}

static void s_rates(model_t *m, int64_t now_ms)
{
        const json_t *srcs = json_get(m->status, "sources");
        double dt = (double)(now_ms - m->last_status_ms) / 1000.0;
        size_t n = 0;

        for (const json_t *x = srcs ? srcs->child : NULL; x && n < MODEL_MAX_SOURCES; x = x->next) {
                struct model_source_rate *r = &m->rates[n];
                const char *name = json_string(json_get(x, "name"), "?");
                uint64_t f = json_u64(json_get(x, "fragments"), 0);
                uint64_t b = json_u64(json_get(x, "bytes"), 0);
                bool same = n < m->n_rates && !strcmp(r->name, name) && f >= r->fragments &&
                            b >= r->bytes && dt > 0;
                r->frag_hz = same ? (double)(f - r->fragments) / dt : 0;
                r->bytes_hz = same ? (double)(b - r->bytes) / dt : 0;
                snprintf(r->name, sizeof r->name, "%s", name);
                r->fragments = f;
                r->bytes = b;
                n++;
        }
        m->n_rates = n;
        m->last_status_ms = now_ms;
}

int model_on_status(model_t *m, const char *text, size_t len, int64_t now_ms)
{
        json_t *j = json_parse(text, len, NULL);

        if (!j || j->type != JSON_OBJECT) {
                json_free(j);
                return -EINVAL;
        }
        model_lock(m);
        json_free(m->status);
        m->status = j;
        sbuf_clear(&m->status_text);
        sbuf_add(&m->status_text, text, len);
        m->reachable = true;
        m->ever_answered = true;
        m->last_answer_ms = now_ms;
        m->replies++;

        uint32_t run = (uint32_t)json_u64(json_get(j, "run"), 0);
        bool running = !strcmp(json_string(json_get(j, "state"), ""), "running");
        if (!m->hist_run_known || run != m->hist_run) {
                if (!m->stream_reset)
                        s_reset(m, 0);
                m->hist_run = run;
                m->hist_run_known = true;
        }
        m->stream_reset = false;
        m->seen_at_status = m->events_seen;
        if (!running)
                m->armed = true;
        s_rates(m, now_ms);
        s_alarms(m);
        model_unlock(m);
        return 0;
}

void model_on_timeout(model_t *m)
{
        model_lock(m);
        m->reachable = false;
        m->timeouts++;
        model_unlock(m);
}

void model_unreachable_text(const model_t *m, int64_t now_ms, char *buf, size_t len)
{
        if (m->reachable)
                snprintf(buf, len, "%s", "");
        else if (m->ever_answered)
                snprintf(buf, len, "daemon unreachable at %s (last answer %" PRId64 " s ago)",
                         m->control_ep, (now_ms - m->last_answer_ms) / 1000);
        else
                snprintf(buf, len, "daemon unreachable at %s (no answer yet)", m->control_ep);
}

/* ---- monitor stream ---- */

static void s_fill(model_t *m, const Darkdaq__Event *ev)
{
        const Darkdaq__Tags *t = ev->tags;

        histogram_fill(m->h[MODEL_H_EMISS], ev->e_miss_gev);
        if (!t)
                return;
        if (t->zprime_invisible)
                histogram_fill(m->h[MODEL_H_ZPRIME],
                               sqrt(fmax(t->zprime_invisible->recoil_m2_gev2, 0)));
        if (t->four_muon)
                for (size_t i = 0; i < t->four_muon->n_dimuon_m_gev; i++)
                        histogram_fill(m->h[MODEL_H_FOURMU], t->four_muon->dimuon_m_gev[i]);
        if (t->displaced_vertex)
                for (size_t i = 0; i < t->displaced_vertex->n_candidates; i++)
                        histogram_fill(m->h[MODEL_H_RXY],
                                       t->displaced_vertex->candidates[i]->r_xy_cm);
}

void model_on_record(model_t *m, const char *topic, size_t topic_len, const void *rec,
                     size_t len)
{
        if (topic_len != 3 || memcmp(topic, "all", 3))
                return;
        Darkdaq__Record *r = darkdaq__record__unpack(NULL, len, rec);
        model_lock(m);
        m->records++;
        if (!r || r->body_case != DARKDAQ__RECORD__BODY_EVENT) {
                m->bad_records++;
        } else {
                if (m->armed) {
                        s_reset(m, 0);
                        m->armed = false;
                        m->stream_reset = true;
                }
                s_fill(m, r->event);
                m->events_seen++;
        }
        model_unlock(m);
        if (r)
                darkdaq__record__free_unpacked(r, NULL);
}

/* ---- bodies ---- */

static void s_num(sbuf_t *out, double v)
{
        if (isnan(v) || isinf(v))
                sbuf_printf(out, "null");
        else
                sbuf_printf(out, "%.6g", v);
}

void model_status_json(model_t *m, int64_t now_ms, sbuf_t *out)
{
        char msg[400];

        model_lock(m);
        model_unreachable_text(m, now_ms, msg, sizeof msg);
        sbuf_printf(out, "{\"mon\":{\"version\":\"%s\",\"control\":", DARKDAQ_VERSION);
        sbuf_json_str(out, m->control_ep);
        sbuf_printf(out, ",\"monitor\":");
        sbuf_json_str(out, m->monitor_ep);
        sbuf_printf(out, ",\"reachable\":%s,\"last_answer_s\":", m->reachable ? "true" : "false");
        if (m->ever_answered)
                s_num(out, (double)(now_ms - m->last_answer_ms) / 1000.0);
        else
                sbuf_printf(out, "null");
        sbuf_printf(out, ",\"unreachable\":");
        sbuf_json_str(out, msg);
        sbuf_printf(out, ",\"replies\":%" PRIu64 ",\"timeouts\":%" PRIu64 ",\"hist_run\":%" PRIu32
                    ",\"events_seen\":%" PRIu64 ",\"events_seen_at_status\":%" PRIu64
                    ",\"events_counted\":%" PRIu64 ",\"sampled_fraction\":", m->replies,
                    m->timeouts, m->hist_run, m->events_seen, m->seen_at_status,
                    model_events_counted(m));
        s_num(out, model_sampled_fraction(m));
        sbuf_printf(out, ",\"records\":%" PRIu64 ",\"bad_records\":%" PRIu64 ",\"message\":",
                    m->records, m->bad_records);
        sbuf_json_str(out, m->message);
        sbuf_printf(out, ",\"sources\":[");
        for (size_t i = 0; i < m->n_rates; i++) {
                sbuf_printf(out, "%s{\"name\":", i ? "," : "");
                sbuf_json_str(out, m->rates[i].name);
                sbuf_printf(out, ",\"fragments_hz\":%.1f,\"bytes_hz\":%.1f}", m->rates[i].frag_hz,
                            m->rates[i].bytes_hz);
        }
        sbuf_printf(out, "],\"alarms\":[");
        for (size_t i = 0; i < m->n_alarms; i++) {
                sbuf_printf(out, "%s{\"name\":", i ? "," : "");
                sbuf_json_str(out, m->alarms[i].name);
                sbuf_printf(out, ",\"value\":%" PRIu64 ",\"delta\":%" PRIu64 "}",
                            m->alarms[i].value, m->alarms[i].delta);
        }
        sbuf_printf(out, "]},\"daemon\":");
        if (m->status)
                sbuf_add(out, sbuf_text(&m->status_text), m->status_text.len);
        else
                sbuf_printf(out, "null");
        sbuf_printf(out, "}\n");
        model_unlock(m);
}

static void s_format(sbuf_t *out, const histogram_t *h, bool csv, uint32_t run, double frac)
{
        size_t room = 4096;
        for (;;) {
                char *d = sbuf_reserve(out, room);
                if (!d)
                        return;
                size_t n = csv ? histogram_format_csv(h, run, frac, d, room + 1)
                               : histogram_format_json(h, frac, d, room + 1);
                if (n <= room) {
                        sbuf_commit(out, n);
                        return;
                }
                room = n;
        }
}

void model_histograms_json(model_t *m, sbuf_t *out)
{
        model_lock(m);
        double frac = model_sampled_fraction(m);
        sbuf_printf(out, "{\"run\":%" PRIu32 ",\"events_seen\":%" PRIu64
                    ",\"events_seen_at_status\":%" PRIu64 ",\"events_counted\":%" PRIu64
                    ",\"sampled_fraction\":", m->hist_run, m->events_seen, m->seen_at_status,
                    model_events_counted(m));
        s_num(out, frac);
        sbuf_printf(out, ",\"source\":\"monitor stream (topic all)\",\"histograms\":[");
        for (int i = 0; i < MODEL_H_COUNT; i++) {
                if (i)
                        sbuf_add(out, ",", 1);
                s_format(out, m->h[i], false, m->hist_run, frac);
        }
        sbuf_printf(out, "]}\n");
        model_unlock(m);
}

void model_histograms_csv(model_t *m, sbuf_t *out)
{
        model_lock(m);
        double frac = model_sampled_fraction(m);
        sbuf_printf(out, "%s", HISTOGRAM_CSV_HEADER);
        for (int i = 0; i < MODEL_H_COUNT; i++)
                s_format(out, m->h[i], true, m->hist_run, frac);
        model_unlock(m);
}

static int s_write_file(const char *path, const sbuf_t *body)
{
        char tmp[4200];
        int fd, r = 0;

        if (body->failed)
                return -ENOMEM;
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        for (size_t off = 0; off < body->len; ) {
                ssize_t n = write(fd, body->s + off, body->len - off);
                if (n < 0) {
                        r = -errno;
                        break;
                }
                off += (size_t)n;
        }
        if (close(fd) < 0 && !r)
                r = -errno;
        if (!r && rename(tmp, path) < 0)
                r = -errno;
        if (r)
                unlink(tmp);
        return r;
}

int model_export(model_t *m, const char *json_path, const char *csv_path)
{
        sbuf_t js = { 0 }, cs = { 0 };
        int r = 0;
        char msg[sizeof m->message];

        if (json_path)
                model_histograms_json(m, &js);
        if (csv_path)
                model_histograms_csv(m, &cs);
        if (json_path && (r = s_write_file(json_path, &js)) < 0)
                snprintf(msg, sizeof msg, "export to %.200s failed: %s", json_path, strerror(-r));
        else if (csv_path && (r = s_write_file(csv_path, &cs)) < 0)
                snprintf(msg, sizeof msg, "export to %.200s failed: %s", csv_path, strerror(-r));
        else
                snprintf(msg, sizeof msg, "exported histograms to %.140s%s%.140s",
                         json_path ? json_path : "", json_path && csv_path ? " and " : "",
                         csv_path ? csv_path : "");
        model_lock(m);
        snprintf(m->message, sizeof m->message, "%s", msg);
        model_unlock(m);
        sbuf_free(&js);
        sbuf_free(&cs);
        return r;
}
