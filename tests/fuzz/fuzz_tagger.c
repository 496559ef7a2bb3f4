/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_tagger: arbitrary bytes become tracks, clusters and muons (any value
 * each field can hold, charges and angles included) for tagger_run_records;
 * aborts if any reported quantity is NaN or infinite.  Byte 0 picks the
 * default configuration or a loose one (every track good, huge match cones,
 * every track in the vertex search) to reach the degenerate paths. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tagger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_finite(double v)
{
        if (!isfinite(v))
                abort();
}

static void s_check(const struct tag_result *r)
{
        s_finite(r->e_extra_gev);
        s_finite(r->e_miss_gev);
        if (r->fired & 1u << TAG_ZPRIME_INVISIBLE) {
                s_finite(r->zprime.recoil_m2_gev2);
                s_finite(r->zprime.recoil_theta_rad);
        }
        if (r->fired & 1u << TAG_MUMU_TAUTAU) {
                if (r->mumutautau.n == 0 || r->mumutautau.n > 4)
                        abort();
                for (unsigned i = 0; i < r->mumutautau.n; i++)
                        s_finite(r->mumutautau.recoil_m_gev[i]);
        }
        if (r->fired & 1u << TAG_FOUR_MUON) {
                if (r->fourmu.n > 4)
                        abort();
                for (unsigned i = 0; i < r->fourmu.n; i++)
                        s_finite(r->fourmu.dimuon_m_gev[i]);
        }
        if (r->fired & 1u << TAG_TAU_1X3) {
                s_finite(r->tau1x3.thrust);
                s_finite(r->tau1x3.x_lepton);
                if (strcmp(r->tau1x3.lepton, "e") && strcmp(r->tau1x3.lepton, "mu"))
                        abort();
        }
        if (r->fired & 1u << TAG_DISPLACED_VERTEX) {
                if (r->dv.n == 0)
                        abort();
                for (size_t i = 0; i < r->dv.n; i++) {
                        const struct tag_dv_candidate *c = &r->dv.c[i];

                        s_finite(c->r_xy_cm);
                        s_finite(c->z_cm);
                        s_finite(c->doca_cm);
                        s_finite(c->open_rad);
                        s_finite(c->m_pipi_gev);
                        s_finite(c->m_reduced_pipi_gev);
                }
        }
        if (r->fired & 1u << TAG_MISSING_ENERGY) {
                s_finite(r->missing.e_miss_gev);
                s_finite(r->missing.theta_miss_rad);
                s_finite(r->missing.m2_miss_gev2);
        }
        if (r->fired & 1u << TAG_SINGLE_PHOTON) {
                s_finite(r->single_photon.photon_e_gev);
                s_finite(r->single_photon.recoil_m2_gev2);
        }
        if (r->fired & 1u << TAG_THREE_PHOTON)
                for (int i = 0; i < 3; i++)
                        s_finite(r->three_photon.diphoton_m_gev[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static tagger_t *tg[2];
        struct frag_track *t;
        struct frag_cluster *c;
        struct frag_muon *m;
        size_t nt = 0, nc = 0, nm = 0, i = 1;
        struct tag_result r;

        if (!tg[0]) {
                struct physics_config cfg;

                physics_config_default(&cfg);
                tg[0] = tagger_new(&cfg);
                cfg.track_min_pt_gev = 0;
                cfg.track_min_hits = 0;
                cfg.muon_min_layers = 0;
                cfg.muon_match_rad = 4;
                cfg.cluster_match_rad = 0.5;
                cfg.dv_track_d0_min_cm = 0;
                cfg.dv_doca_max_cm = 1e9;
                cfg.dv_rxy_min_cm = 0;
                cfg.dv_rxy_max_cm = 1e9;
                cfg.dv_max_turn_rad = 4;
                tg[1] = tagger_new(&cfg);
                if (!tg[0] || !tg[1])
                        abort();
        }
        if (size < 1)
                return 0;
        t = malloc((size / 24 + 1) * sizeof(*t));
        c = malloc((size / 16 + 1) * sizeof(*c));
        m = malloc((size / 12 + 1) * sizeof(*m));
        if (!t || !c || !m)
                abort();
        /* each record: one type byte, then the record's bytes */
        while (i < size) {
                uint8_t type = data[i++] % 3;
                size_t need = type == 0 ? 24 : type == 1 ? 16 : 12;

                if (size - i < need)
                        break;
                if (type == 0)
                        frag_track_decode(data + i, &t[nt++]);
                else if (type == 1)
                        frag_cluster_decode(data + i, &c[nc++]);
                else
                        frag_muon_decode(data + i, &m[nm++]);
                i += need;
        }
        if (tagger_run_records(tg[data[0] & 1], t, nt, c, nc, m, nm, &r) == 0)
                s_check(&r);
        free(t);
        free(c);
        free(m);
        return 0;
}
