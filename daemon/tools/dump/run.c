/* SPDX-License-Identifier: Apache-2.0 */
/* run: darkdaq-dump's printer of run files (proto/README.md s.1 and s.4): one
 * JSON object or one text line per record, then where and why the file
 * ends if it is not whole.  Reads through runfile's reader; prints only. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "record.h"
#include "runfile.h"

/* What the text summary and the end of file report need. */
struct dump_state {
        FILE *out;
        bool json;
        bool have_run;                  /* a run header has been seen */
        uint32_t run;                   /* from the last run header */
        bool last_was_trailer;          /* the last record read is a run trailer */
        uint64_t records, events, late, junk, corrupt, headers, trailers, unknown;
        uint64_t status[8];             /* events per darkdaq.Status */
        uint64_t tags[TAG_COUNT_];      /* events per tag */
};

/* ---- JSON ---------------------------------------------------------------- */

/* The shortest of %.15g, %.16g, %.17g that reads back as the same double,
 * so values round-trip exactly; integral values keep a ".0" to stay floats;
 * JSON has no NaN or infinity, so those print as null. */
static void s_double(FILE *out, double v)
{
        char buf[40];
        if (!isfinite(v)) {
                fputs("null", out);
                return;
        }
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(buf, sizeof buf, "%.*g", prec, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        fputs(buf, out);
        if (!strpbrk(buf, ".eE"))
                fputs(".0", out);
}

/* Length of the valid UTF-8 sequence at p[0..n), or 0. */
static size_t s_utf8_len(const unsigned char *p, size_t n)
{
        size_t len;
        uint32_t cp;
        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xC2 && p[0] <= 0xDF) {
                len = 2;
                cp = p[0] & 0x1F;
        } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
                len = 3;
                cp = p[0] & 0x0F;
        } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
                len = 4;
                cp = p[0] & 0x07;
        } else {
                return 0;
        }
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (p[i] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
                return 0;
        return len;
}

/* A JSON string; bytes that are not UTF-8 print as U+FFFD. */
static void s_string(FILE *out, const char *s)
{
        const unsigned char *p = (const unsigned char *)(s ? s : "");
        size_t n = strlen((const char *)p);
        fputc('"', out);
        while (n > 0) {
                size_t k = s_utf8_len(p, n);
                if (k == 0) {
                        fputs("\\ufffd", out);
                        k = 1;
                } else if (*p == '"' || *p == '\\') {
                        fputc('\\', out);
                        fputc(*p, out);
                } else if (*p == '\n') {
                        fputs("\\n", out);
                } else if (*p == '\t') {
                        fputs("\\t", out);
                } else if (*p == '\r') {
                        fputs("\\r", out);
                } else if (*p < 0x20 || *p == 0x7f) {
                        fprintf(out, "\\u%04x", *p);
                } else {
                        fwrite(p, 1, k, out);
                }
                p += k;
                n -= k;
        }
        fputc('"', out);
}

static void s_key(FILE *out, const char *key)
{
        fprintf(out, ",\"%s\":", key);
}

static void s_u32_list(FILE *out, const uint32_t *v, size_t n)
{
        fputc('[', out);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "%s%" PRIu32, i ? "," : "", v[i]);
        fputc(']', out);
}

static void s_double_list(FILE *out, const double *v, size_t n)
{
        fputc('[', out);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        fputc(',', out);
                s_double(out, v[i]);
        }
        fputc(']', out);
}

static void s_begin(struct dump_state *st, const char *type)
{
        fprintf(st->out, "{\"type\":\"%s\"", type);
        if (st->have_run)
                fprintf(st->out, ",\"run\":%" PRIu32, st->run);
}

/* Each fired tag with its quantities, in the proto's (and tag_id's) order. */
static void s_json_tags(FILE *out, const Darkdaq__Tags *t)
{
        const char *sep = "";
        fputc('{', out);
        if (!t) {
                fputc('}', out);
                return;
        }
        if (t->zprime_invisible) {
                fprintf(out, "%s\"zprime_invisible\":{\"recoil_m2_gev2\":", sep);
                s_double(out, t->zprime_invisible->recoil_m2_gev2);
                fputs(",\"recoil_theta_rad\":", out);
                s_double(out, t->zprime_invisible->recoil_theta_rad);
                fputc('}', out);
                sep = ",";
        }
        if (t->mumu_tautau) {
                fprintf(out, "%s\"mumu_tautau\":{\"recoil_m_gev\":", sep);
                s_double_list(out, t->mumu_tautau->recoil_m_gev, t->mumu_tautau->n_recoil_m_gev);
                fputc('}', out);
                sep = ",";
        }
        if (t->four_muon) {
                fprintf(out, "%s\"four_muon\":{\"dimuon_m_gev\":", sep);
                s_double_list(out, t->four_muon->dimuon_m_gev, t->four_muon->n_dimuon_m_gev);
                fputc('}', out);
                sep = ",";
        }
        if (t->tau_1x3) {
                fprintf(out, "%s\"tau_1x3\":{\"lepton\":", sep);
                s_string(out, t->tau_1x3->lepton);
                fputs(",\"thrust\":", out);
                s_double(out, t->tau_1x3->thrust);
                fputs(",\"x_lepton\":", out);
                s_double(out, t->tau_1x3->x_lepton);
                fputc('}', out);
                sep = ",";
        }
        if (t->displaced_vertex) {
                const Darkdaq__DisplacedVertex *dv = t->displaced_vertex;
                fprintf(out, "%s\"displaced_vertex\":{\"candidates\":[", sep);
                for (size_t i = 0; i < dv->n_candidates; i++) {
                        const Darkdaq__DvCandidate *c = dv->candidates[i];
                        fputs(i ? ",{\"r_xy_cm\":" : "{\"r_xy_cm\":", out);
                        s_double(out, c->r_xy_cm);
                        fputs(",\"z_cm\":", out);
                        s_double(out, c->z_cm);
                        fputs(",\"doca_cm\":", out);
                        s_double(out, c->doca_cm);
                        fputs(",\"open_rad\":", out);
                        s_double(out, c->open_rad);
                        fputs(",\"m_pipi_gev\":", out);
                        s_double(out, c->m_pipi_gev);
                        fputs(",\"m_reduced_pipi_gev\":", out);
                        s_double(out, c->m_reduced_pipi_gev);
                        fprintf(out, ",\"points_to_ip\":%s}", c->points_to_ip ? "true" : "false");
                }
                fputs("]}", out);
                sep = ",";
        }
        if (t->missing_energy) {
                fprintf(out, "%s\"missing_energy\":{\"e_miss_gev\":", sep);
                s_double(out, t->missing_energy->e_miss_gev);
                fputs(",\"theta_miss_rad\":", out);
                s_double(out, t->missing_energy->theta_miss_rad);
                fputs(",\"m2_miss_gev2\":", out);
                s_double(out, t->missing_energy->m2_miss_gev2);
                fputc('}', out);
                sep = ",";
        }
        if (t->idm_dark_higgs) {
                fprintf(out, "%s\"idm_dark_higgs\":{}", sep);
                sep = ",";
        }
        if (t->single_photon) {
                fprintf(out, "%s\"single_photon\":{\"photon_e_gev\":", sep);
                s_double(out, t->single_photon->photon_e_gev);
                fputs(",\"recoil_m2_gev2\":", out);
                s_double(out, t->single_photon->recoil_m2_gev2);
                fputc('}', out);
                sep = ",";
        }
        if (t->three_photon) {
                fprintf(out, "%s\"three_photon\":{\"diphoton_m_gev\":", sep);
                s_double_list(out, t->three_photon->diphoton_m_gev,
                              t->three_photon->n_diphoton_m_gev);
                fputc('}', out);
        }
        fputc('}', out);
}

static bool s_incomplete(const Darkdaq__Event *ev)
{
        for (size_t i = 0; i < ev->n_status; i++)
                if (ev->status[i] == DARKDAQ__STATUS__STATUS_INCOMPLETE)
                        return true;
        return false;
}

static void s_json_event(struct dump_state *st, const Darkdaq__Event *ev)
{
        FILE *out = st->out;
        s_begin(st, "event");
        fprintf(out, ",\"trigger\":%" PRIu32 ",\"time_ticks\":%" PRIu64
                ",\"trigger_bits\":%" PRIu32,
                ev->trigger, ev->time_ticks, ev->trigger_bits);
        s_key(out, "sources");
        s_u32_list(out, ev->sources, ev->n_sources);
        s_key(out, "status");
        fputc('[', out);
        for (size_t i = 0; i < ev->n_status; i++) {
                const char *name = record_status_name((unsigned)ev->status[i]);
                if (i)
                        fputc(',', out);
                if (name)
                        fprintf(out, "\"%s\"", name);
                else
                        fprintf(out, "\"status_%d\"", (int)ev->status[i]);
        }
        fputc(']', out);
        if (s_incomplete(ev) || ev->n_missing) {
                s_key(out, "missing");
                s_u32_list(out, ev->missing, ev->n_missing);
        }
        fprintf(out, ",\"n_tracks\":%" PRIu32 ",\"charge_sum\":%" PRId32
                ",\"n_photons\":%" PRIu32 ",\"e_extra_gev\":",
                ev->n_tracks, ev->charge_sum, ev->n_photons);
        s_double(out, ev->e_extra_gev);
        s_key(out, "e_miss_gev");
        s_double(out, ev->e_miss_gev);
        s_key(out, "tags");
        s_json_tags(out, ev->tags);
        fputs("}\n", out);
}

static void s_json_header(struct dump_state *st, const Darkdaq__RunHeader *h)
{
        FILE *out = st->out;
        s_begin(st, "run_header");
        fprintf(out, ",\"file_sequence\":%" PRIu32 ",\"start_time_ns\":%" PRIu64,
                h->file_sequence, h->start_time_ns);
        s_key(out, "software_version");
        s_string(out, h->software_version);
        s_key(out, "sources");
        s_u32_list(out, h->sources, h->n_sources);
        s_key(out, "config_hash");
        s_string(out, h->config_hash);
        s_key(out, "config_text");
        s_string(out, h->config_text);
        if (h->config_text_replaced)
                fprintf(out, ",\"config_text_replaced\":%" PRIu32, h->config_text_replaced);
        fputs("}\n", out);
}

static void s_json_trailer(struct dump_state *st, const Darkdaq__RunTrailer *t)
{
        FILE *out = st->out;
        s_begin(st, "run_trailer");
        fprintf(out, ",\"end_time_ns\":%" PRIu64, t->end_time_ns);
        s_key(out, "end_reason");
        s_string(out, t->end_reason);
        fprintf(out, ",\"continued\":%s,\"records_in_file\":%" PRIu64,
                t->continued ? "true" : "false", t->records_in_file);
        s_key(out, "counts");
        fputc('{', out);
        for (size_t i = 0; i < t->n_counts; i++) {
                if (i)
                        fputc(',', out);
                s_string(out, t->counts[i]->name);
                fprintf(out, ":%" PRIu64, t->counts[i]->value);
        }
        fputc('}', out);
        s_key(out, "out_of_step");
        fputc('[', out);
        for (size_t i = 0; i < t->n_out_of_step; i++) {
                const Darkdaq__OutOfStep *o = t->out_of_step[i];
                fprintf(out, "%s{\"source\":%" PRIu32 ",\"offset\":%" PRId32
                        ",\"first_trigger\":%" PRIu32 "}",
                        i ? "," : "", o->source, o->offset, o->first_trigger);
        }
        fputc(']', out);
        if (t->n_reloads) {
                s_key(out, "reloads");
                fputc('[', out);
                for (size_t i = 0; i < t->n_reloads; i++) {
                        const Darkdaq__Reload *r = t->reloads[i];
                        fprintf(out, "%s{\"time_ns\":%" PRIu64, i ? "," : "", r->time_ns);
                        s_key(out, "config_hash");
                        s_string(out, r->config_hash);
                        s_key(out, "changed");
                        s_string(out, r->changed);
                        fputc('}', out);
                }
                fputc(']', out);
        }
        fputs("}\n", out);
}

static void s_json_record(struct dump_state *st, const Darkdaq__Record *rec)
{
        FILE *out = st->out;
        switch (rec->body_case) {
        case DARKDAQ__RECORD__BODY_RUN_HEADER:
                s_json_header(st, rec->run_header);
                break;
        case DARKDAQ__RECORD__BODY_EVENT:
                s_json_event(st, rec->event);
                break;
        case DARKDAQ__RECORD__BODY_LATE:
                s_begin(st, "late");
                fprintf(out, ",\"source\":%" PRIu32 ",\"trigger\":%" PRIu32 "}\n",
                        rec->late->source, rec->late->trigger);
                break;
        case DARKDAQ__RECORD__BODY_JUNK:
                s_begin(st, "junk");
                fprintf(out, ",\"stream\":%" PRIu32 ",\"offset\":%" PRIu64 ",\"bytes\":%zu",
                        rec->junk->stream, rec->junk->offset, rec->junk->raw.len);
                s_key(out, "reason");
                s_string(out, rec->junk->reason);
                fputs("}\n", out);
                break;
        case DARKDAQ__RECORD__BODY_CORRUPT:
                s_begin(st, "corrupt");
                fprintf(out, ",\"stream\":%" PRIu32 ",\"offset\":%" PRIu64 ",\"bytes\":%zu"
                        ",\"source\":%" PRIu32 ",\"trigger\":%" PRIu32,
                        rec->corrupt->stream, rec->corrupt->offset, rec->corrupt->raw.len,
                        rec->corrupt->source, rec->corrupt->trigger);
                s_key(out, "reason");
                s_string(out, rec->corrupt->reason);
                fputs("}\n", out);
                break;
        case DARKDAQ__RECORD__BODY_RUN_TRAILER:
                s_json_trailer(st, rec->run_trailer);
                break;
        default:
                /* A record type newer than this program. */
                s_begin(st, "unknown");
                fputs("}\n", out);
                break;
        }
}

/* ---- text ---------------------------------------------------------------- */

static void s_text_time(FILE *out, uint64_t ns)
{
        time_t sec = (time_t)(ns / 1000000000u);
        struct tm tm;
        char buf[32];
        if (gmtime_r(&sec, &tm) && strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm))
                fprintf(out, "%s.%09" PRIu64 "Z", buf, ns % 1000000000u);
        else
                fprintf(out, "%" PRIu64 " ns", ns);
}

static void s_text_ids(FILE *out, const uint32_t *v, size_t n)
{
        if (n == 0)
                fputs("none", out);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "%s%" PRIu32, i ? "," : "", v[i]);
}

static void s_text_doubles(FILE *out, const char *name, const double *v, size_t n)
{
        fprintf(out, " %s=", name);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "%s%.6g", i ? "," : "", v[i]);
}

static void s_text_tags(FILE *out, const Darkdaq__Tags *t)
{
        bool any = false;
        fputs(" tags:", out);
        if (t && t->zprime_invisible) {
                fprintf(out, " zprime_invisible(recoil_m2_gev2=%.6g recoil_theta_rad=%.6g)",
                        t->zprime_invisible->recoil_m2_gev2,
                        t->zprime_invisible->recoil_theta_rad);
                any = true;
        }
        if (t && t->mumu_tautau) {
                fputs(" mumu_tautau(", out);
                s_text_doubles(out, "recoil_m_gev", t->mumu_tautau->recoil_m_gev,
                               t->mumu_tautau->n_recoil_m_gev);
                fputc(')', out);
                any = true;
        }
        if (t && t->four_muon) {
                fputs(" four_muon(", out);
                s_text_doubles(out, "dimuon_m_gev", t->four_muon->dimuon_m_gev,
                               t->four_muon->n_dimuon_m_gev);
                fputc(')', out);
                any = true;
        }
        if (t && t->tau_1x3) {
                fprintf(out, " tau_1x3(lepton=%.8s thrust=%.6g x_lepton=%.6g)",
                        t->tau_1x3->lepton, t->tau_1x3->thrust, t->tau_1x3->x_lepton);
                any = true;
        }
        if (t && t->displaced_vertex) {
                fprintf(out, " displaced_vertex(%zu candidates:",
                        t->displaced_vertex->n_candidates);
                for (size_t i = 0; i < t->displaced_vertex->n_candidates; i++) {
                        const Darkdaq__DvCandidate *c = t->displaced_vertex->candidates[i];
                        fprintf(out, " [r_xy_cm=%.6g z_cm=%.6g doca_cm=%.6g open_rad=%.6g"
                                " m_pipi_gev=%.6g m_reduced_pipi_gev=%.6g points_to_ip=%s]",
                                c->r_xy_cm, c->z_cm, c->doca_cm, c->open_rad, c->m_pipi_gev,
                                c->m_reduced_pipi_gev, c->points_to_ip ? "yes" : "no");
                }
                fputc(')', out);
                any = true;
        }
        if (t && t->missing_energy) {
                fprintf(out, " missing_energy(e_miss_gev=%.6g theta_miss_rad=%.6g"
                        " m2_miss_gev2=%.6g)",
                        t->missing_energy->e_miss_gev, t->missing_energy->theta_miss_rad,
                        t->missing_energy->m2_miss_gev2);
                any = true;
        }
        if (t && t->idm_dark_higgs) {
                fputs(" idm_dark_higgs", out);
                any = true;
        }
        if (t && t->single_photon) {
                fprintf(out, " single_photon(photon_e_gev=%.6g recoil_m2_gev2=%.6g)",
                        t->single_photon->photon_e_gev, t->single_photon->recoil_m2_gev2);
                any = true;
        }
        if (t && t->three_photon) {
                fputs(" three_photon(", out);
                s_text_doubles(out, "diphoton_m_gev", t->three_photon->diphoton_m_gev,
                               t->three_photon->n_diphoton_m_gev);
                fputc(')', out);
                any = true;
        }
        if (!any)
                fputs(" none", out);
}

static void s_text_event(FILE *out, const Darkdaq__Event *ev)
{
        size_t bytes = 0;
        for (size_t i = 0; i < ev->n_fragments; i++)
                bytes += ev->fragments[i]->raw.len;
        fprintf(out, "event   trigger %" PRIu32 " ", ev->trigger);
        for (size_t i = 0; i < ev->n_status; i++) {
                const char *name = record_status_name((unsigned)ev->status[i]);
                fprintf(out, "%s%s", i ? "," : "", name ? name : "?");
        }
        fputs(" sources ", out);
        s_text_ids(out, ev->sources, ev->n_sources);
        if (ev->n_missing) {
                fputs(" missing ", out);
                s_text_ids(out, ev->missing, ev->n_missing);
        }
        fprintf(out, " fragments %zu (%zu bytes) ticks %" PRIu64 " bits 0x%" PRIx32
                " tracks %" PRIu32 " charge %" PRId32 " photons %" PRIu32
                " e_extra %.6g GeV e_miss %.6g GeV",
                ev->n_fragments, bytes, ev->time_ticks, ev->trigger_bits, ev->n_tracks,
                ev->charge_sum, ev->n_photons, ev->e_extra_gev, ev->e_miss_gev);
        s_text_tags(out, ev->tags);
        fputc('\n', out);
}

static void s_text_record(struct dump_state *st, const Darkdaq__Record *rec, uint64_t offset)
{
        FILE *out = st->out;
        switch (rec->body_case) {
        case DARKDAQ__RECORD__BODY_RUN_HEADER: {
                const Darkdaq__RunHeader *h = rec->run_header;
                fprintf(out, "header  run %" PRIu32 " file %03" PRIu32 " started ", h->run,
                        h->file_sequence);
                s_text_time(out, h->start_time_ns);
                fprintf(out, " version %.40s sources ", h->software_version);
                s_text_ids(out, h->sources, h->n_sources);
                fprintf(out, " config %zu bytes sha256 %.64s\n", strlen(h->config_text),
                        h->config_hash);
                break;
        }
        case DARKDAQ__RECORD__BODY_EVENT:
                s_text_event(out, rec->event);
                break;
        case DARKDAQ__RECORD__BODY_LATE:
                fprintf(out, "late    source %" PRIu32 " trigger %" PRIu32 " stream %" PRIu32
                        " offset %" PRIu64 " %zu bytes\n",
                        rec->late->source, rec->late->trigger, rec->late->stream,
                        rec->late->offset, rec->late->raw.len);
                break;
        case DARKDAQ__RECORD__BODY_JUNK:
                fprintf(out, "junk    stream %" PRIu32 " offset %" PRIu64 " %zu bytes: %s\n",
                        rec->junk->stream, rec->junk->offset, rec->junk->raw.len,
                        rec->junk->reason);
                break;
        case DARKDAQ__RECORD__BODY_CORRUPT:
                fprintf(out, "corrupt stream %" PRIu32 " offset %" PRIu64 " %zu bytes source %"
                        PRIu32 " trigger %" PRIu32 ": %s\n",
                        rec->corrupt->stream, rec->corrupt->offset, rec->corrupt->raw.len,
                        rec->corrupt->source, rec->corrupt->trigger, rec->corrupt->reason);
                break;
        case DARKDAQ__RECORD__BODY_RUN_TRAILER: {
                const Darkdaq__RunTrailer *t = rec->run_trailer;
                fputs("trailer ", out);
                s_text_time(out, t->end_time_ns);
                fprintf(out, " end reason \"%s\"%s, %" PRIu64 " records in file;",
                        t->end_reason, t->continued ? " (continued in the next file)" : "",
                        t->records_in_file);
                for (size_t i = 0; i < t->n_counts; i++)
                        fprintf(out, " %s=%" PRIu64, t->counts[i]->name, t->counts[i]->value);
                for (size_t i = 0; i < t->n_out_of_step; i++)
                        fprintf(out, "; source %" PRIu32 " out of step by %" PRId32
                                " from trigger %" PRIu32,
                                t->out_of_step[i]->source, t->out_of_step[i]->offset,
                                t->out_of_step[i]->first_trigger);
                for (size_t i = 0; i < t->n_reloads; i++) {
                        fputs("; reloaded ", out);
                        s_text_time(out, t->reloads[i]->time_ns);
                        fprintf(out, " sha256 %s: %s", t->reloads[i]->config_hash,
                                t->reloads[i]->changed);
                }
                fputc('\n', out);
                break;
        }
        default:
                fprintf(out, "unknown record at offset %" PRIu64 "\n", offset);
                break;
        }
}

static void s_text_summary(const struct dump_state *st)
{
        FILE *out = st->out;
        fprintf(out, "summary: %" PRIu64 " records: %" PRIu64 " events (", st->records,
                st->events);
        const char *sep = "";
        for (unsigned i = 0; i < 8; i++) {
                if (!st->status[i])
                        continue;
                fprintf(out, "%s%" PRIu64 " %s", sep, st->status[i], record_status_name(i));
                sep = ", ";
        }
        fprintf(out, "), %" PRIu64 " late, %" PRIu64 " junk, %" PRIu64 " corrupt, %" PRIu64
                " headers, %" PRIu64 " trailers",
                st->late, st->junk, st->corrupt, st->headers, st->trailers);
        if (st->unknown)
                fprintf(out, ", %" PRIu64 " unknown", st->unknown);
        fputs("; tags:", out);
        for (unsigned i = 0; i < TAG_COUNT_; i++)
                fprintf(out, " %s %" PRIu64, record_tag_name(i), st->tags[i]);
        fputc('\n', out);
}

/* ---- both ---------------------------------------------------------------- */

static void s_tally(struct dump_state *st, const Darkdaq__Record *rec)
{
        st->records++;
        st->last_was_trailer = rec->body_case == DARKDAQ__RECORD__BODY_RUN_TRAILER;
        switch (rec->body_case) {
        case DARKDAQ__RECORD__BODY_RUN_HEADER:
                st->headers++;
                st->have_run = true;
                st->run = rec->run_header->run;
                break;
        case DARKDAQ__RECORD__BODY_EVENT: {
                const Darkdaq__Event *ev = rec->event;
                st->events++;
                for (size_t i = 0; i < ev->n_status; i++)
                        if ((unsigned)ev->status[i] < 8)
                                st->status[ev->status[i]]++;
                const Darkdaq__Tags *t = ev->tags;
                if (t) {
                        const void *fired[TAG_COUNT_] = {
                                t->zprime_invisible, t->mumu_tautau, t->four_muon,
                                t->tau_1x3, t->displaced_vertex, t->missing_energy,
                                t->idm_dark_higgs, t->single_photon, t->three_photon,
                        };
                        for (unsigned i = 0; i < TAG_COUNT_; i++)
                                st->tags[i] += fired[i] != NULL;
                }
                break;
        }
        case DARKDAQ__RECORD__BODY_LATE:
                st->late++;
                break;
        case DARKDAQ__RECORD__BODY_JUNK:
                st->junk++;
                break;
        case DARKDAQ__RECORD__BODY_CORRUPT:
                st->corrupt++;
                break;
        case DARKDAQ__RECORD__BODY_RUN_TRAILER:
                st->trailers++;
                break;
        default:
                st->unknown++;
                break;
        }
}

/* Where reports go while one file is printed. */
struct dump_report_ctx {
        struct dump_state *st;
        const char *name;
        FILE *err;
};

static const char *s_report_kind(enum runfile_report_kind k)
{
        switch (k) {
        case RUNFILE_REPORT_SKIPPED: return "skipped";
        case RUNFILE_REPORT_GAP: return "seq_gap";
        case RUNFILE_REPORT_DUPLICATE: return "duplicate";
        case RUNFILE_REPORT_RESYNC_SEQ: return "resync_seq";
        case RUNFILE_REPORT_SECOND_HEADER: return "second_header";
        case RUNFILE_REPORT_EARLY_TRAILER: return "early_trailer";
        case RUNFILE_REPORT_COUNT: return "count";
        }
        return "?";
}

static void s_on_report(void *ctx, const struct runfile_report *rep)
{
        struct dump_report_ctx *c = ctx;
        FILE *out = c->st->out;
        fprintf(c->err, "darkdaq-dump: %s: %s\n", c->name, rep->reason);
        if (c->st->json) {
                s_begin(c->st, "damage");
                s_key(out, "file");
                s_string(out, c->name);
                s_key(out, "kind");
                s_string(out, s_report_kind(rep->kind));
                fprintf(out, ",\"offset\":%" PRIu64 ",\"skipped\":%" PRIu64, rep->offset,
                        rep->skipped);
                s_key(out, "reason");
                s_string(out, rep->reason);
                fputs("}\n", out);
        } else {
                fprintf(out, "damage at byte %" PRIu64 ": %s\n", rep->offset, rep->reason);
        }
}

/* Seq expectations carried from one file to the next of the same run, so a
 * continuation file is checked against the file before it; and the events
 * read in the run's files, for its last trailer's count. */
static struct runfile_seqs s_seqs;
static bool s_seqs_used;
static uint32_t s_seqs_run;
static bool s_run_from_start;   /* the run's first file was read */
static uint64_t s_run_events;

/* Chooses r's seq table: the one carried over when its first record is a
 * run header of the run read last (peeked through a second reader over the
 * same image), a fresh one otherwise. */
static void s_pick_seqs(runfile_reader_t *r, const uint8_t *img, size_t len)
{
        runfile_reader_t *peek = runfile_reader_new_mem(img, len);
        const Darkdaq__Record *rec = NULL;
        bool same = false;
        uint32_t run = 0;
        if (peek && runfile_reader_next(peek, &rec, NULL) > 0 &&
            rec->body_case == DARKDAQ__RECORD__BODY_RUN_HEADER) {
                run = rec->run_header->run;
                same = s_seqs_used && run == s_seqs_run && rec->run_header->file_sequence > 0;
        }
        bool first = rec && !same && rec->body_case == DARKDAQ__RECORD__BODY_RUN_HEADER &&
                     rec->run_header->file_sequence == 0;
        runfile_reader_free(peek);
        if (!same) {
                memset(&s_seqs, 0, sizeof s_seqs);
                s_run_from_start = first;
                s_run_events = 0;
        }
        s_seqs_used = true;
        s_seqs_run = run;
        runfile_reader_set_seqs(r, &s_seqs);
}

/* The run's last trailer (the daemon's, not continued) against the events
 * read in all of the run's files, when its first file was read: reported
 * when its "events" count differs.  Returns 1 when reported. */
static int s_check_run_events(struct dump_report_ctx *rc, const Darkdaq__RunTrailer *t,
                              uint64_t offset)
{
        const Darkdaq__Count *events = NULL;
        if (!t || t->continued || !s_run_from_start)
                return 0;
        for (size_t i = 0; i < t->n_counts; i++) {
                if (!strcmp(t->counts[i]->name, "closed_by_store"))
                        return 0;       /* the store's: the daemon's counts are not here */
                if (!strcmp(t->counts[i]->name, "events"))
                        events = t->counts[i];
        }
        if (!events || events->value == s_run_events)
                return 0;
        struct runfile_report rep = { .kind = RUNFILE_REPORT_COUNT, .offset = offset };
        snprintf(rep.reason, sizeof rep.reason, "run trailer at byte %" PRIu64 " counts %"
                 PRIu64 " events in the run, %" PRIu64 " read in its files", offset,
                 events->value, s_run_events);
        s_on_report(rc, &rep);
        return 1;
}

/* Prints every record; returns 1 when damage was found, else 0. */
static int s_dump(runfile_reader_t *r, const char *name, FILE *out, FILE *err, bool json)
{
        struct dump_state st = { .out = out, .json = json };
        struct dump_report_ctx rc = { .st = &st, .name = name, .err = err };
        const Darkdaq__Record *rec;
        uint64_t offset;

        runfile_reader_set_report(r, s_on_report, &rc);
        if (!json)
                fprintf(out, "%s: run file, %" PRIu64 " bytes\n", name,
                        runfile_reader_size(r));
        uint64_t own_reports = 0;
        while (runfile_reader_next(r, &rec, &offset) > 0) {
                s_tally(&st, rec);
                if (json)
                        s_json_record(&st, rec);
                else
                        s_text_record(&st, rec, offset);
                if (rec->body_case == DARKDAQ__RECORD__BODY_EVENT)
                        s_run_events++;
                if (rec->body_case == DARKDAQ__RECORD__BODY_RUN_TRAILER)
                        own_reports += s_check_run_events(&rc, rec->run_trailer, offset);
        }
        const struct runfile_stop *stop = runfile_reader_stop(r);
        bool complete = stop->kind == RUNFILE_END && st.last_was_trailer;
        int damaged = runfile_reader_reports(r) > 0 || own_reports > 0 ||
                      stop->kind != RUNFILE_END;
        char reason[192];
        if (stop->kind != RUNFILE_END)
                snprintf(reason, sizeof reason, "%s", stop->reason);
        else
                snprintf(reason, sizeof reason, "no run trailer after %" PRIu64 " frames",
                         stop->frame);
        if (!json)
                s_text_summary(&st);
        if (complete)
                return damaged;
        fprintf(err, "darkdaq-dump: %s: %s; read %" PRIu64 " whole frames, up to byte %"
                PRIu64 " of %" PRIu64 "\n",
                name, reason, stop->frame, stop->offset, runfile_reader_size(r));
        if (json) {
                s_begin(&st, "end");
                fprintf(out, ",\"complete\":false,\"offset\":%" PRIu64 ",\"frames\":%" PRIu64,
                        stop->offset, stop->frame);
                s_key(out, "reason");
                s_string(out, reason);
                fputs("}\n", out);
        } else {
                fprintf(out, "end: incomplete at byte %" PRIu64 " (frame %" PRIu64 "): %s\n",
                        stop->offset, stop->frame, reason);
        }
        return damaged;
}

bool dump_is_run_file(const uint8_t *head, size_t n)
{
        return runfile_is_run_file(head, n);
}

int dump_run_mem(const uint8_t *buf, size_t len, const char *name, FILE *out,
                 FILE *err, bool json)
{
        runfile_reader_t *r = runfile_reader_new_mem(buf, len);
        if (!r) {
                fprintf(err, "darkdaq-dump: %s: out of memory\n", name);
                return -ENOMEM;
        }
        s_pick_seqs(r, buf, len);
        int d = s_dump(r, name, out, err, json);
        runfile_reader_free(r);
        return d;
}

int dump_run_file(const char *path, FILE *out, bool json)
{
        runfile_reader_t *r;
        int e = runfile_reader_open(&r, path);
        if (e < 0) {
                fprintf(stderr, "darkdaq-dump: %s: cannot read: %s\n", path, strerror(-e));
                return e;
        }
        s_pick_seqs(r, runfile_reader_data(r), runfile_reader_size(r));
        int d = s_dump(r, path, out, stderr, json);
        runfile_reader_free(r);
        return d;
}
