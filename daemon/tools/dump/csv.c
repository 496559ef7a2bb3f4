/* SPDX-License-Identifier: Apache-2.0 */
/* csv: darkdaq-dump --csv, one CSV row per event of run files, with the
 * columns (names, order and meaning) of the Python package's events():
 * proto/darkdaq/columns.c lists the same columns, and the tests hold the
 * two equal.  Prints only; damage is reported as the JSON printer does. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "runfile.h"

static const char s_header[] =
        "run,trigger,time_ticks,trigger_bits,complete,incomplete,duplicate,corrupt,"
        "time_mismatch,truncated,busy_seen,test_pattern,n_sources,n_missing,n_fragments,"
        "n_tracks,charge_sum,n_photons,e_extra_gev,e_miss_gev,"
        "zprime_invisible,zprime_invisible_recoil_m2_gev2,zprime_invisible_recoil_m_gev,"
        "zprime_invisible_recoil_theta_rad,mumu_tautau,mumu_tautau_n,four_muon,four_muon_n,"
        "tau_1x3,tau_1x3_lepton,tau_1x3_thrust,tau_1x3_x_lepton,"
        "displaced_vertex,displaced_vertex_n,missing_energy,missing_energy_e_miss_gev,"
        "missing_energy_theta_miss_rad,missing_energy_m2_miss_gev2,idm_dark_higgs,"
        "single_photon,single_photon_photon_e_gev,single_photon_recoil_m2_gev2,"
        "single_photon_recoil_m_gev,three_photon,three_photon_n\n";

/* ",value": the shortest %.Ng that reads back as v; NaN as "nan". */
static void s_double(FILE *out, double v)
{
        char buf[40];
        if (isnan(v)) {
                fputs(",nan", out);
                return;
        }
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(buf, sizeof buf, "%.*g", prec, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        fprintf(out, ",%s", buf);
}

static double s_mass(double m2)
{
        return isnan(m2) ? m2 : sqrt(m2 > 0 ? m2 : 0);
}

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void s_text(FILE *out, const char *s)
{
        fputc(',', out);
        if (!strpbrk(s, ",\"\r\n")) {
                fputs(s, out);
                return;
        }
        fputc('"', out);
        for (; *s; s++) {
                if (*s == '"')
                        fputc('"', out);
                fputc(*s, out);
        }
        fputc('"', out);
}

static void s_row(FILE *out, uint32_t run, const Darkdaq__Event *ev)
{
        bool status[8] = { false };
        for (size_t i = 0; i < ev->n_status; i++)
                if ((unsigned)ev->status[i] < 8)
                        status[ev->status[i]] = true;
        fprintf(out, "%" PRIu32 ",%" PRIu32 ",%" PRIu64 ",%" PRIu32, run, ev->trigger,
                ev->time_ticks, ev->trigger_bits);
        for (unsigned i = 0; i < 8; i++)
                fprintf(out, ",%d", status[i]);
        fprintf(out, ",%zu,%zu,%zu,%" PRIu32 ",%" PRId32 ",%" PRIu32, ev->n_sources,
                ev->n_missing, ev->n_fragments, ev->n_tracks, ev->charge_sum, ev->n_photons);
        s_double(out, ev->e_extra_gev);
        s_double(out, ev->e_miss_gev);

        const Darkdaq__Tags *t = ev->tags;
        const Darkdaq__ZprimeInvisible *z = t ? t->zprime_invisible : NULL;
        fprintf(out, ",%d", z != NULL);
        s_double(out, z ? z->recoil_m2_gev2 : NAN);
        s_double(out, s_mass(z ? z->recoil_m2_gev2 : NAN));
        s_double(out, z ? z->recoil_theta_rad : NAN);
        const Darkdaq__MumuTautau *mm = t ? t->mumu_tautau : NULL;
        fprintf(out, ",%d,%zu", mm != NULL, mm ? mm->n_recoil_m_gev : 0);
        const Darkdaq__FourMuon *fm = t ? t->four_muon : NULL;
        fprintf(out, ",%d,%zu", fm != NULL, fm ? fm->n_dimuon_m_gev : 0);
        const Darkdaq__Tau1x3 *tau = t ? t->tau_1x3 : NULL;
        fprintf(out, ",%d", tau != NULL);
        s_text(out, tau && tau->lepton ? tau->lepton : "");
        s_double(out, tau ? tau->thrust : NAN);
        s_double(out, tau ? tau->x_lepton : NAN);
        const Darkdaq__DisplacedVertex *dv = t ? t->displaced_vertex : NULL;
        fprintf(out, ",%d,%zu", dv != NULL, dv ? dv->n_candidates : 0);
        const Darkdaq__MissingEnergy *me = t ? t->missing_energy : NULL;
        fprintf(out, ",%d", me != NULL);
        s_double(out, me ? me->e_miss_gev : NAN);
        s_double(out, me ? me->theta_miss_rad : NAN);
        s_double(out, me ? me->m2_miss_gev2 : NAN);
        fprintf(out, ",%d", t && t->idm_dark_higgs);
        const Darkdaq__SinglePhoton *sp = t ? t->single_photon : NULL;
        fprintf(out, ",%d", sp != NULL);
        s_double(out, sp ? sp->photon_e_gev : NAN);
        s_double(out, sp ? sp->recoil_m2_gev2 : NAN);
        s_double(out, s_mass(sp ? sp->recoil_m2_gev2 : NAN));
        const Darkdaq__ThreePhoton *tp = t ? t->three_photon : NULL;
        fprintf(out, ",%d,%zu\n", tp != NULL, tp ? tp->n_diphoton_m_gev : 0);
}

static void s_on_report(void *ctx, const struct runfile_report *rep)
{
        fprintf(stderr, "darkdaq-dump: %s: %s\n", (const char *)ctx, rep->reason);
}

void dump_csv_header(FILE *out)
{
        fputs(s_header, out);
}

int dump_csv_file(const char *path, FILE *out)
{
        runfile_reader_t *r;
        const Darkdaq__Record *rec;
        uint64_t offset;
        uint32_t run = 0;
        bool last_was_trailer = false;
        int e = runfile_reader_open(&r, path);
        if (e < 0) {
                fprintf(stderr, "darkdaq-dump: %s: cannot read: %s\n", path, strerror(-e));
                return e;
        }
        runfile_reader_set_report(r, s_on_report, (void *)path);
        while (runfile_reader_next(r, &rec, &offset) > 0) {
                last_was_trailer = rec->body_case == DARKDAQ__RECORD__BODY_RUN_TRAILER;
                if (rec->body_case == DARKDAQ__RECORD__BODY_RUN_HEADER)
                        run = rec->run_header->run;
                else if (rec->body_case == DARKDAQ__RECORD__BODY_EVENT)
                        s_row(out, run, rec->event);
        }
        const struct runfile_stop *stop = runfile_reader_stop(r);
        if (stop->kind != RUNFILE_END || !last_was_trailer)
                fprintf(stderr, "darkdaq-dump: %s: %s; read %" PRIu64 " whole frames, up to byte %"
                        PRIu64 " of %" PRIu64 "\n", path,
                        stop->kind != RUNFILE_END ? stop->reason : "no run trailer",
                        stop->frame, stop->offset, runfile_reader_size(r));
        int damaged = runfile_reader_reports(r) > 0 || stop->kind != RUNFILE_END;
        runfile_reader_free(r);
        return damaged;
}
