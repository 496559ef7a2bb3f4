/* SPDX-License-Identifier: Apache-2.0 */
/* tags: daemon/physics/README.md s.4: the tags' names, and one function per tag, each
 * reading the reconstructed event and writing its own quantities.  Cuts are
 * inclusive windows except the vertex vetoes, as daemon/physics/README.md states; every
 * comparison is written so that a NaN fails it. */
#include "tags.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kinematics.h"
#include "reco.h"

static const char *const s_names[TAG_COUNT_] = {
        [TAG_ZPRIME_INVISIBLE] = "zprime_invisible",
        [TAG_MUMU_TAUTAU] = "mumu_tautau",
        [TAG_FOUR_MUON] = "four_muon",
        [TAG_TAU_1X3] = "tau_1x3",
        [TAG_DISPLACED_VERTEX] = "displaced_vertex",
        [TAG_MISSING_ENERGY] = "missing_energy",
        [TAG_IDM_DARK_HIGGS] = "idm_dark_higgs",
        [TAG_SINGLE_PHOTON] = "single_photon",
        [TAG_THREE_PHOTON] = "three_photon",
};

const char *tag_name(enum tag_id id)
{
        return (unsigned)id < TAG_COUNT_ ? s_names[id] : "unknown";
}

static bool s_in_barrel(const struct physics_config *cfg, double theta)
{
        return theta >= cfg->barrel_theta_min_rad && theta <= cfg->barrel_theta_max_rad;
}

static void s_sort_small(double *v, unsigned n)
{
        for (unsigned i = 1; i < n; i++) {
                double x = v[i];
                unsigned j = i;

                for (; j > 0 && v[j - 1] > x; j--)
                        v[j] = v[j - 1];
                v[j] = x;
        }
}

static double s_pair_mass(struct kin_p4 a, struct kin_p4 b)
{
        return kin_p4_m(kin_p4_add(a, b));
}

/* Exactly four good tracks, all prompt, charge_sum 0. */
static bool s_four_prompt(const struct reco *r)
{
        if (r->n_tracks != 4 || r->charge_sum != 0)
                return false;
        for (size_t i = 0; i < 4; i++)
                if (!r->tracks[i].prompt)
                        return false;
        return true;
}

static bool s_zprime(const struct reco *r, const struct physics_config *cfg,
                     const struct kin_beams *beams, struct tag_result *out)
{
        const struct reco_track *a, *b;
        struct kin_p4 rec;
        double m2, theta;

        if (r->n_tracks != 2)
                return false;
        a = &r->tracks[0];
        b = &r->tracks[1];
        if (!a->prompt || !b->prompt || !(a->q * b->q < 0) ||
            !a->muon || !b->muon)
                return false;
        if (r->n_photons != 0 || !(r->e_extra_gev < cfg->zprime_extra_max_gev))
                return false;
        rec = kin_p4_sub(kin_p4_sub(beams->total, a->p4), b->p4);
        theta = kin_p4_theta(rec);
        m2 = kin_p4_m2(rec);
        if (!s_in_barrel(cfg, theta) || !(m2 >= cfg->zprime_m2_min_gev2) ||
            !(m2 <= cfg->zprime_m2_max_gev2))
                return false;
        out->zprime.recoil_m2_gev2 = m2;
        out->zprime.recoil_theta_rad = theta;
        return true;
}

static bool s_mumu_tautau(const struct reco *r, const struct physics_config *cfg,
                          const struct kin_beams *beams, struct tag_result *out)
{
        unsigned n = 0;

        if (!s_four_prompt(r))
                return false;
        for (size_t i = 0; i < 4; i++) {
                for (size_t j = i + 1; j < 4; j++) {
                        const struct reco_track *a = &r->tracks[i], *b = &r->tracks[j];
                        double m;

                        if (!a->muon || !b->muon || !(a->q * b->q < 0))
                                continue;
                        m = sqrt(fmax(kin_p4_m2(kin_p4_sub(kin_p4_sub(beams->total, a->p4),
                                                           b->p4)), 0.0));
                        if (m >= cfg->mumutautau_mrec_min_gev && n < 4)
                                out->mumutautau.recoil_m_gev[n++] = m;
                }
        }
        s_sort_small(out->mumutautau.recoil_m_gev, n);
        out->mumutautau.n = n;
        return n > 0;
}

static bool s_four_muon(const struct reco *r, const struct physics_config *cfg,
                        const struct kin_beams *beams, struct tag_result *out)
{
        struct kin_p4 mu[4], sum = { 0, 0, 0, 0 };
        unsigned n_mu = 0, n = 0;

        if (!s_four_prompt(r))
                return false;
        for (size_t i = 0; i < 4; i++)
                n_mu += r->tracks[i].muon;
        if (n_mu < cfg->fourmu_min_muons)
                return false;
        for (size_t i = 0; i < r->n_photons; i++)
                if (r->photons[i].e_gev >= cfg->fourmu_photon_max_gev)
                        return false;
        if (!(r->e_extra_gev < cfg->fourmu_extra_max_gev))
                return false;
        for (size_t i = 0; i < 4; i++) {
                const struct reco_track *t = &r->tracks[i];

                mu[i] = kin_p4_from_p(t->px, t->py, t->pz, KIN_M_MU);
                sum = kin_p4_add(sum, mu[i]);
        }
        if (!(fabs(kin_p4_m(sum) - beams->sqrt_s) <= cfg->fourmu_sqrt_s_window_gev))
                return false;
        for (size_t i = 0; i < 4; i++)
                for (size_t j = i + 1; j < 4; j++)
                        if (r->tracks[i].q * r->tracks[j].q < 0 && n < 4)
                                out->fourmu.dimuon_m_gev[n++] = s_pair_mass(mu[i], mu[j]);
        s_sort_small(out->fourmu.dimuon_m_gev, n);
        out->fourmu.n = n;
        return true;
}

/* Inserts v (of magnitude mag) into the list of at most KIN_THRUST_MAX
 * largest, after any equal ones (a stable descending sort, cut). */
static void s_top_insert(struct kin_v3 *top, double *top_mag, size_t *n,
                         struct kin_v3 v, double mag)
{
        size_t k = *n;

        if (k == KIN_THRUST_MAX) {
                if (!(mag > top_mag[k - 1]))
                        return;
                k--;
        } else {
                (*n)++;
        }
        while (k > 0 && mag > top_mag[k - 1]) {
                top[k] = top[k - 1];
                top_mag[k] = top_mag[k - 1];
                k--;
        }
        top[k] = v;
        top_mag[k] = mag;
}

static bool s_tau_1x3(const struct reco *r, const struct kin_beams *beams,
                      struct tag_result *out)
{
        struct kin_v3 top[KIN_THRUST_MAX], axis, star[4], s3 = { 0, 0, 0 };
        struct kin_p4 cms[4], pi_sum = { 0, 0, 0, 0 };
        double top_mag[KIN_THRUST_MAX], thrust, e_lep;
        size_t n_top = 0, n_pos = 0, lep = 0;
        const struct reco_track *l;
        int q3 = 0;

        if (!s_four_prompt(r))
                return false;
        for (size_t i = 0; i < 4; i++) {
                cms[i] = kin_to_cms(beams, r->tracks[i].p4);
                star[i] = kin_p4_p3(cms[i]);
                s_top_insert(top, top_mag, &n_top, star[i], kin_v3_norm(star[i]));
        }
        for (size_t i = 0; i < r->n_photons; i++) {
                struct kin_v3 v = kin_p4_p3(kin_to_cms(beams, r->photons[i].p4));

                s_top_insert(top, top_mag, &n_top, v, kin_v3_norm(v));
        }
        thrust = kin_thrust(top, n_top, &axis);
        for (size_t i = 0; i < 4; i++)
                if (kin_v3_dot(star[i], axis) > 0)
                        n_pos++;
        if (n_pos != 1 && n_pos != 3)
                return false;
        for (size_t i = 0; i < 4; i++)
                if ((kin_v3_dot(star[i], axis) > 0) == (n_pos == 1))
                        lep = i;
        l = &r->tracks[lep];
        if (!l->electron && !l->muon)
                return false;
        for (size_t i = 0; i < 4; i++) {
                const struct reco_track *t = &r->tracks[i];

                if (i == lep)
                        continue;
                q3 += t->q;
                pi_sum = kin_p4_add(pi_sum, kin_p4_from_p(t->px, t->py, t->pz, KIN_M_PI));
                s3 = kin_v3_add(s3, star[i]);
        }
        if ((q3 != 1 && q3 != -1) || !(q3 * l->q < 0))
                return false;
        if (!(kin_p4_m(pi_sum) < KIN_M_TAU))
                return false;

        e_lep = cms[lep].e;
        if (s3.x != 0 || s3.y != 0 || s3.z != 0) {
                double e_tau = beams->sqrt_s / 2.0;
                double p_tau = sqrt(fmax(e_tau * e_tau - KIN_M_TAU * KIN_M_TAU, 0.0));
                double s = kin_v3_norm(s3);
                double b = e_tau > 0 ? p_tau / e_tau : 0.0;
                /* tau velocity along -s3; its rest frame is reached by +b s3/|s3| */
                struct kin_v3 to_rest = { b * s3.x / s, b * s3.y / s, b * s3.z / s };

                e_lep = kin_boost(cms[lep], to_rest).e;
        }
        strcpy(out->tau1x3.lepton, l->muon ? "mu" : "e");
        out->tau1x3.thrust = thrust;
        out->tau1x3.x_lepton = 2.0 * e_lep / KIN_M_TAU;
        return true;
}

static bool s_grow(struct tags_dv_store *dv, size_t n)
{
        size_t cap;
        void *p;

        if (n <= dv->cap)
                return true;
        cap = dv->cap ? dv->cap : 8;
        while (cap < n)
                cap *= 2;
        p = realloc(dv->c, cap * sizeof(*dv->c));
        if (!p)
                return false;
        dv->c = p;
        dv->cap = cap;
        return true;
}

static bool s_dv_takes_part(const struct reco_track *t, const struct physics_config *cfg)
{
        return fabs(t->d0_cm) >= cfg->dv_track_d0_min_cm;
}

/* The pair (a, b) as a candidate; false when it is not one. */
static bool s_dv_pair(const struct reco_track *a, const struct reco_track *b,
                      const struct physics_config *cfg, struct tag_dv_candidate *ret)
{
        struct kin_helix ha, hb;
        struct kin_vertex v;
        struct kin_vertex_cuts cuts = {
                .max_turn_rad = cfg->dv_max_turn_rad,
                .doca_max_cm = cfg->dv_doca_max_cm,
                .rxy_min_cm = cfg->dv_rxy_min_cm,
                .rxy_max_cm = cfg->dv_rxy_max_cm,
        };
        struct kin_v3 pa, pb;
        double open, m_pipi, m2_pipi, ptx, pty, ptm;

        kin_helix_init(&ha, a->px, a->py, a->pz, a->d0_cm, a->z0_cm, a->q, cfg->b_field_t);
        kin_helix_init(&hb, b->px, b->py, b->pz, b->d0_cm, b->z0_cm, b->q, cfg->b_field_t);
        if (!kin_helix_vertex(&ha, &hb, &cuts, &v))
                return false;
        pa = (struct kin_v3){ a->pt * cos(v.phi1), a->pt * sin(v.phi1), a->pz };
        pb = (struct kin_v3){ b->pt * cos(v.phi2), b->pt * sin(v.phi2), b->pz };
        open = kin_acos(kin_v3_dot(pa, pb) / (kin_v3_norm(pa) * kin_v3_norm(pb)));
        if (!(open > cfg->dv_open_min_rad && open < cfg->dv_open_max_rad))
                return false;
        m2_pipi = kin_p4_m2(kin_p4_add(kin_p4_from_p(pa.x, pa.y, pa.z, KIN_M_PI),
                                       kin_p4_from_p(pb.x, pb.y, pb.z, KIN_M_PI)));
        m_pipi = sqrt(fmax(m2_pipi, 0.0));
        if (fabs(m_pipi - KIN_M_KS) < cfg->veto_ks_gev)
                return false;
        if (fabs(s_pair_mass(kin_p4_from_p(pa.x, pa.y, pa.z, KIN_M_P),
                             kin_p4_from_p(pb.x, pb.y, pb.z, KIN_M_PI)) - KIN_M_LAMBDA) <
                    cfg->veto_lambda_gev ||
            fabs(s_pair_mass(kin_p4_from_p(pa.x, pa.y, pa.z, KIN_M_PI),
                             kin_p4_from_p(pb.x, pb.y, pb.z, KIN_M_P)) - KIN_M_LAMBDA) <
                    cfg->veto_lambda_gev)
                return false;
        if (fabs(s_pair_mass(kin_p4_from_p(pa.x, pa.y, pa.z, KIN_M_K),
                             kin_p4_from_p(pb.x, pb.y, pb.z, KIN_M_K)) - KIN_M_PHI) <
            cfg->veto_phi_gev)
                return false;
        ret->r_xy_cm = v.r_xy_cm;
        ret->z_cm = v.z_cm;
        ret->doca_cm = v.doca_cm;
        ret->open_rad = open;
        ret->m_pipi_gev = m_pipi;
        ret->m_reduced_pipi_gev = sqrt(fmax(m2_pipi - 4.0 * KIN_M_PI * KIN_M_PI, 0.0));
        ptx = pa.x + pb.x;
        pty = pa.y + pb.y;
        ptm = hypot(ptx, pty);
        ret->points_to_ip = ptm > 0 && v.r_xy_cm > 0 &&
                            kin_acos((v.x_cm * ptx + v.y_cm * pty) / (v.r_xy_cm * ptm)) <
                                    cfg->dv_pointing_max_rad;
        return true;
}

int tags_dv_search(const struct reco *r, const struct physics_config *cfg,
                   struct tags_dv_store *dv, size_t *ret_n)
{
        size_t n_part = 0, n = 0;

        *ret_n = 0;
        for (size_t i = 0; i < r->n_tracks; i++)
                n_part += s_dv_takes_part(&r->tracks[i], cfg);
        if (n_part > cfg->dv_max_tracks)
                return 1;
        for (size_t i = 0; i < r->n_tracks; i++) {
                const struct reco_track *a = &r->tracks[i];

                if (!s_dv_takes_part(a, cfg))
                        continue;
                for (size_t j = i + 1; j < r->n_tracks; j++) {
                        const struct reco_track *b = &r->tracks[j];
                        struct tag_dv_candidate c;

                        if (!s_dv_takes_part(b, cfg) || !(a->q * b->q < 0))
                                continue;
                        if (!s_dv_pair(a, b, cfg, &c))
                                continue;
                        if (!s_grow(dv, n + 1))
                                return -ENOMEM;
                        dv->c[n++] = c;
                }
        }
        *ret_n = n;
        return 0;
}

static bool s_missing_energy(const struct reco *r, const struct physics_config *cfg,
                             struct tag_result *out)
{
        double theta;

        if (r->n_tracks + r->n_photons == 0)
                return false;
        /* theta_miss only when the energy passes: atan2 and hypot cost. */
        if (!(r->p_miss_cms.e >= cfg->missing_e_min_gev))
                return false;
        theta = kin_p4_theta(r->p_miss);
        if (!s_in_barrel(cfg, theta))
                return false;
        out->missing.e_miss_gev = r->p_miss_cms.e;
        out->missing.theta_miss_rad = theta;
        out->missing.m2_miss_gev2 = kin_p4_m2(r->p_miss);
        return true;
}

static bool s_idm(const struct reco *r, const struct physics_config *cfg,
                  const struct tag_dv_candidate *c, size_t n_c)
{
        bool pointing = false;

        if (r->n_tracks != 4 || r->charge_sum != 0)
                return false;
        for (size_t i = 0; i < n_c; i++)
                pointing |= c[i].points_to_ip;
        return pointing && r->p_miss_cms.e >= cfg->idm_missing_e_min_gev;
}

static bool s_single_photon(const struct reco *r, const struct physics_config *cfg,
                            const struct kin_beams *beams, struct tag_result *out)
{
        const struct reco_photon *g;
        double e_star;

        if (r->n_tracks != 0 || r->n_photons != 1)
                return false;
        g = &r->photons[0];
        e_star = kin_to_cms(beams, g->p4).e;
        if (!(e_star >= cfg->single_photon_min_gev) ||
            !(r->e_extra_gev - g->e_gev < cfg->single_photon_extra_max_gev))
                return false;
        out->single_photon.photon_e_gev = e_star;
        out->single_photon.recoil_m2_gev2 = kin_p4_m2(kin_p4_sub(beams->total, g->p4));
        return true;
}

static bool s_three_photon(const struct reco *r, const struct physics_config *cfg,
                           const struct kin_beams *beams, struct tag_result *out)
{
        double sum = 0.0;
        const struct reco_photon *g = r->photons;

        if (r->n_tracks != 0 || r->n_photons != 3)
                return false;
        for (size_t i = 0; i < 3; i++) {
                double e_star = kin_to_cms(beams, g[i].p4).e;

                if (!(e_star >= cfg->three_photon_min_gev))
                        return false;
                sum += e_star;
        }
        if (!(fabs(sum - beams->sqrt_s) <= cfg->three_photon_window_gev))
                return false;
        out->three_photon.diphoton_m_gev[0] = s_pair_mass(g[0].p4, g[1].p4);
        out->three_photon.diphoton_m_gev[1] = s_pair_mass(g[0].p4, g[2].p4);
        out->three_photon.diphoton_m_gev[2] = s_pair_mass(g[1].p4, g[2].p4);
        s_sort_small(out->three_photon.diphoton_m_gev, 3);
        return true;
}

int tags_evaluate(const struct reco *r, const struct physics_config *cfg,
                  const struct kin_beams *beams, struct tags_dv_store *dv,
                  struct tag_result *out)
{
        uint32_t fired = 0;
        size_t n_dv = 0;
        int rc;

        memset(out, 0, sizeof(*out));
        out->n_tracks = (uint32_t)r->n_tracks;
        out->n_bad_tracks = (uint32_t)r->n_bad_tracks;
        out->charge_sum = r->charge_sum;
        out->n_photons = (uint32_t)r->n_photons;
        out->e_extra_gev = r->e_extra_gev;
        out->e_miss_gev = r->p_miss_cms.e;

        rc = tags_dv_search(r, cfg, dv, &n_dv);
        if (rc < 0)
                return rc;
        out->dv_skipped = rc == 1;
        out->dv.c = dv->c;
        out->dv.n = n_dv;

        if (s_zprime(r, cfg, beams, out))
                fired |= 1u << TAG_ZPRIME_INVISIBLE;
        if (s_mumu_tautau(r, cfg, beams, out))
                fired |= 1u << TAG_MUMU_TAUTAU;
        if (s_four_muon(r, cfg, beams, out))
                fired |= 1u << TAG_FOUR_MUON;
        if (s_tau_1x3(r, beams, out))
                fired |= 1u << TAG_TAU_1X3;
        if (n_dv > 0)
                fired |= 1u << TAG_DISPLACED_VERTEX;
        if (s_missing_energy(r, cfg, out))
                fired |= 1u << TAG_MISSING_ENERGY;
        if (s_idm(r, cfg, dv->c, n_dv))
                fired |= 1u << TAG_IDM_DARK_HIGGS;
        if (s_single_photon(r, cfg, beams, out))
                fired |= 1u << TAG_SINGLE_PHOTON;
        if (s_three_photon(r, cfg, beams, out))
                fired |= 1u << TAG_THREE_PHOTON;
        out->fired = fired;
        return 0;
}
