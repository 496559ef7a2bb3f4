/* SPDX-License-Identifier: Apache-2.0 */
/* test_tagger: every tag of daemon/physics/README.md s.4 firing on a crafted event, and not
 * firing one step (nextafter) past each cut edge: inclusive windows, strict
 * E_extra cuts and vetoes.  Edges are set from the quantity itself, computed
 * the way the tagger does, so that the tests check the comparison, not the
 * rounding. */
#include <math.h>

#include "check.h"
#include "kinematics.h"
#include "tagger.h"

#define MAX_REC 16

struct ev {
        struct frag_track t[MAX_REC];
        struct frag_cluster c[MAX_REC];
        struct frag_muon m[MAX_REC];
        size_t nt, nc, nm;
};

static struct tag_dv_candidate s_cand[64];
static size_t s_ncand;

static struct physics_config defaults(void)
{
        struct physics_config c;

        physics_config_default(&c);
        return c;
}

static struct kin_beams beams(void)
{
        struct kin_beams b;

        kin_beams_init(&b, 7.004, 4.002, 83.0);
        return b;
}

/* Runs a fresh tagger; copies the vertex candidates out before freeing it. */
static struct tag_result run(const struct physics_config *cfg, const struct ev *e)
{
        tagger_t *t = tagger_new(cfg);
        struct tag_result r;
        int rc = tagger_run_records(t, e->t, e->nt, e->c, e->nc, e->m, e->nm, &r);

        CHECK_OK_ZERO(rc);
        s_ncand = r.dv.n < 64 ? r.dv.n : 64;
        for (size_t i = 0; i < s_ncand; i++)
                s_cand[i] = r.dv.c[i];
        r.dv.c = s_cand;
        tagger_free(t);
        return r;
}

static bool fired(const struct tag_result *r, enum tag_id id)
{
        return r->fired & 1u << id;
}

static int32_t kev(double gev)
{
        return (int32_t)lround(gev * 1e6);
}

static void add_track(struct ev *e, struct kin_p4 lab, int q)
{
        e->t[e->nt++] = (struct frag_track){ kev(lab.px), kev(lab.py), kev(lab.pz), 0, 0,
                                             (int8_t)q, 200, 30 };
}

/* The track as the tagger decodes it. */
static void decoded(const struct frag_track *t, double *px, double *py, double *pz)
{
        *px = t->px_kev / 1e6;
        *py = t->py_kev / 1e6;
        *pz = t->pz_kev / 1e6;
}

/* A MUON record where track i crosses r_klm. */
static void add_muon_for(struct ev *e, size_t i)
{
        struct physics_config c = defaults();
        struct kin_crossing x;
        double px, py, pz;

        decoded(&e->t[i], &px, &py, &pz);
        REQUIRE(kin_helix_cross(hypot(px, py), pz, atan2(py, px), e->t[i].charge,
                                c.b_field_t, c.r_klm_cm, &x));
        e->m[e->nm++] = (struct frag_muon){ (int32_t)lround(x.theta * 1e6),
                                            (int32_t)lround(remainder(x.phi, 2 * M_PI) * 1e6),
                                            5, 1, 0 };
}

static void add_cluster(struct ev *e, uint32_t e_kev, double theta, double phi)
{
        e->c[e->nc++] = (struct frag_cluster){ e_kev, (int32_t)lround(theta * 1e6),
                                               (int32_t)lround(phi * 1e6), 0, 9 };
}

static struct kin_p4 mu_lab(double px, double py, double pz)
{
        return kin_p4_from_p(px, py, pz, KIN_M_MU);
}

/* mu+ (1.5, 2, 1), mu- (-2.5, -1, 2): recoil (1.457, -1.0, -0.0006), theta
 * ~ pi/2; E_rec = 11.006 - 2.6933 - 3.3544 = 4.958, m2 ~ 21.5. */
static struct ev zprime_event(void)
{
        struct ev e = { 0 };

        add_track(&e, mu_lab(1.5, 2.0, 1.0), +1);
        add_track(&e, mu_lab(-2.5, -1.0, 2.0), -1);
        add_muon_for(&e, 0);
        add_muon_for(&e, 1);
        return e;
}

TEST(zprime_fires_and_edges)
{
        struct physics_config c = defaults();
        struct ev e = zprime_event();
        struct tag_result r = run(&c, &e);
        double m2, th;

        REQUIRE(fired(&r, TAG_ZPRIME_INVISIBLE));
        CHECK(r.n_tracks == 2 && r.charge_sum == 0 && r.n_photons == 0);
        m2 = r.zprime.recoil_m2_gev2;
        th = r.zprime.recoil_theta_rad;
        CHECK(fabs(m2 - 21.5) < 0.5);
        CHECK(fabs(th - M_PI / 2) < 0.01);
        /* M2 window inclusive at both ends */
        c.zprime_m2_max_gev2 = m2;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_ZPRIME_INVISIBLE));
        c.zprime_m2_max_gev2 = nextafter(m2, -INFINITY);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_ZPRIME_INVISIBLE));
        c = defaults();
        c.zprime_m2_min_gev2 = m2;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_ZPRIME_INVISIBLE));
        c.zprime_m2_min_gev2 = nextafter(m2, INFINITY);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_ZPRIME_INVISIBLE));
        /* barrel acceptance inclusive */
        c = defaults();
        c.barrel_theta_max_rad = th;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_ZPRIME_INVISIBLE));
        c.barrel_theta_max_rad = nextafter(th, 0);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_ZPRIME_INVISIBLE));
}

TEST(zprime_vetoes)
{
        struct physics_config c = defaults();
        struct ev e = zprime_event(), f;
        struct tag_result r;

        /* an unmatched 0.06 GeV cluster: E_extra = 0.06, no photon; the
         * E_extra cut is strict */
        add_cluster(&e, 60000, 0.3, 2.0);
        r = run(&c, &e);
        CHECK(r.e_extra_gev == 0.06 && r.n_photons == 0);
        CHECK(fired(&r, TAG_ZPRIME_INVISIBLE));
        c.zprime_extra_max_gev = 0.06;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_ZPRIME_INVISIBLE));
        /* a photon (>= 0.1 GeV, exactly at the threshold) vetoes */
        c = defaults();
        f = zprime_event();
        add_cluster(&f, 100000, 0.3, 2.0);
        r = run(&c, &f);
        CHECK(r.n_photons == 1 && !fired(&r, TAG_ZPRIME_INVISIBLE));
        /* one muon only */
        f = zprime_event();
        f.nm = 1;
        r = run(&c, &f);
        CHECK(!fired(&r, TAG_ZPRIME_INVISIBLE));
        /* same charges */
        f = zprime_event();
        f.t[1].charge = +1;
        r = run(&c, &f);
        CHECK(r.charge_sum == 2 && !fired(&r, TAG_ZPRIME_INVISIBLE));
        /* not prompt: |d0| = 0.5 cm is not < 0.5 */
        f = zprime_event();
        f.t[0].d0_um = 5000;
        r = run(&c, &f);
        CHECK(!fired(&r, TAG_ZPRIME_INVISIBLE));
        f.t[0].d0_um = 4999;
        r = run(&c, &f);
        CHECK(fired(&r, TAG_ZPRIME_INVISIBLE));
        /* a third good track */
        f = zprime_event();
        add_track(&f, kin_p4_from_p(0.3, 0.2, 0.1, KIN_M_PI), +1);
        r = run(&c, &f);
        CHECK(r.n_tracks == 3 && !fired(&r, TAG_ZPRIME_INVISIBLE));
        /* a third track that is not good (9 hits) changes nothing */
        f.t[2].n_hits = 9;
        r = run(&c, &f);
        CHECK(r.n_tracks == 2 && r.n_bad_tracks == 1 && fired(&r, TAG_ZPRIME_INVISIBLE));
}

TEST(missing_energy_edges)
{
        struct physics_config c = defaults();
        struct ev e = zprime_event();
        struct tag_result r = run(&c, &e);
        double em, th;

        REQUIRE(fired(&r, TAG_MISSING_ENERGY));
        em = r.missing.e_miss_gev;
        th = r.missing.theta_miss_rad;
        CHECK(em == r.e_miss_gev);
        CHECK(em > 4.0);
        /* P_miss is the zprime recoil here */
        CHECK(fabs(r.missing.m2_miss_gev2 - r.zprime.recoil_m2_gev2) < 1e-9);
        CHECK(th == r.zprime.recoil_theta_rad);
        c.missing_e_min_gev = em;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_MISSING_ENERGY));
        c.missing_e_min_gev = nextafter(em, INFINITY);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_MISSING_ENERGY));
        c = defaults();
        c.barrel_theta_min_rad = th;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_MISSING_ENERGY));
        c.barrel_theta_min_rad = nextafter(th, INFINITY);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_MISSING_ENERGY));
        /* an empty event never fires */
        e = (struct ev){ 0 };
        r = run(&c, &e);
        CHECK(r.fired == 0 && r.n_tracks == 0);
}

/* Two muons of the zprime event and two pions. */
static struct ev mumutautau_event(void)
{
        struct ev e = zprime_event();

        add_track(&e, kin_p4_from_p(0.5, -0.3, 0.2, KIN_M_PI), +1);
        add_track(&e, kin_p4_from_p(-0.2, -0.6, 0.1, KIN_M_PI), -1);
        return e;
}

TEST(mumu_tautau_edges)
{
        struct physics_config c = defaults();
        struct ev e = mumutautau_event();
        struct tag_result r = run(&c, &e);
        double m;

        REQUIRE(fired(&r, TAG_MUMU_TAUTAU));
        REQUIRE(r.mumutautau.n == 1);
        m = r.mumutautau.recoil_m_gev[0];
        CHECK(fabs(m * m - r.zprime.recoil_m2_gev2) < 1e-6 || fabs(m - 4.6) < 0.2);
        c.mumutautau_mrec_min_gev = m;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_MUMU_TAUTAU));
        c.mumutautau_mrec_min_gev = nextafter(m, INFINITY);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_MUMU_TAUTAU));
        /* charge_sum must be 0 */
        c = defaults();
        e.t[3].charge = +1;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_MUMU_TAUTAU));
        /* all four prompt: |z0| = 2 cm is not < 2 */
        e = mumutautau_event();
        e.t[2].z0_um = 20000;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_MUMU_TAUTAU));
}

/* Four muons in the CMS, two back-to-back pairs of sqrt(s)/4 each: the
 * four-muon mass is sqrt(s) (to the keV rounding). */
static struct ev four_muon_event(void)
{
        struct kin_beams b = beams();
        struct ev e = { 0 };
        double en = b.sqrt_s / 4, p = sqrt(en * en - KIN_M_MU * KIN_M_MU);
        struct kin_v3 d1 = { sin(1.2) * cos(0.3), sin(1.2) * sin(0.3), cos(1.2) };
        struct kin_v3 d3 = { sin(1.9) * cos(2.0), sin(1.9) * sin(2.0), cos(1.9) };

        add_track(&e, kin_from_cms(&b, mu_lab(p * d1.x, p * d1.y, p * d1.z)), +1);
        add_track(&e, kin_from_cms(&b, mu_lab(-p * d1.x, -p * d1.y, -p * d1.z)), -1);
        add_track(&e, kin_from_cms(&b, mu_lab(p * d3.x, p * d3.y, p * d3.z)), +1);
        add_track(&e, kin_from_cms(&b, mu_lab(-p * d3.x, -p * d3.y, -p * d3.z)), -1);
        for (size_t i = 0; i < 4; i++)
                add_muon_for(&e, i);
        return e;
}

/* |m(4 mu) - sqrt(s)| as the tagger computes it. */
static double four_muon_offset(const struct ev *e)
{
        struct kin_beams b = beams();
        struct kin_p4 sum = { 0, 0, 0, 0 };

        for (size_t i = 0; i < 4; i++) {
                double px, py, pz;

                decoded(&e->t[i], &px, &py, &pz);
                sum = kin_p4_add(sum, kin_p4_from_p(px, py, pz, KIN_M_MU));
        }
        return fabs(kin_p4_m(sum) - b.sqrt_s);
}

TEST(four_muon_edges)
{
        struct physics_config c = defaults();
        struct ev e = four_muon_event();
        struct tag_result r = run(&c, &e);
        struct kin_beams b = beams();
        double off = four_muon_offset(&e);

        REQUIRE(fired(&r, TAG_FOUR_MUON));
        CHECK(off < 1e-4);
        /* pairs (0,1), (0,3), (1,2), (2,3); (0,1) and (2,3) are back to
         * back in the CMS with sqrt(s)/2: mass sqrt(s)/2 */
        REQUIRE(r.fourmu.n == 4);
        CHECK(r.fourmu.dimuon_m_gev[0] <= r.fourmu.dimuon_m_gev[1] &&
              r.fourmu.dimuon_m_gev[1] <= r.fourmu.dimuon_m_gev[2] &&
              r.fourmu.dimuon_m_gev[2] <= r.fourmu.dimuon_m_gev[3]);
        CHECK(fabs(r.fourmu.dimuon_m_gev[0] - b.sqrt_s / 2) < 1e-4 ||
              fabs(r.fourmu.dimuon_m_gev[3] - b.sqrt_s / 2) < 1e-4);
        c.fourmu_sqrt_s_window_gev = off;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_FOUR_MUON));
        c.fourmu_sqrt_s_window_gev = nextafter(off, 0);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_FOUR_MUON));
        /* three muons are enough, two are not */
        c = defaults();
        e.nm = 3;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_FOUR_MUON));
        e.nm = 2;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_FOUR_MUON));
        /* a photon of 0.2 GeV vetoes; 0.199999 GeV does not */
        e = four_muon_event();
        add_cluster(&e, 200000, 0.2, -2.5);
        r = run(&c, &e);
        CHECK(r.n_photons == 1 && !fired(&r, TAG_FOUR_MUON));
        e.c[0].energy_kev = 199999;
        r = run(&c, &e);
        CHECK(r.n_photons == 1 && fired(&r, TAG_FOUR_MUON));
        /* E_extra strict */
        c.fourmu_extra_max_gev = 0.199999;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_FOUR_MUON));
}

/* tau_1x3: a mu- along +z in the CMS, three pions (+ - +) against it. */
static const double tau_p[4][3] = {
        { 0.8, 0.5, 3.0 }, { -0.2, 0.1, -1.5 }, { 0.1, -0.3, -1.2 }, { 0.05, 0.1, -0.9 },
};
static const int tau_q[4] = { -1, +1, -1, +1 };

static struct ev tau_event(void)
{
        struct kin_beams b = beams();
        struct ev e = { 0 };

        for (int i = 0; i < 4; i++)
                add_track(&e, kin_from_cms(&b, kin_p4_from_p(tau_p[i][0], tau_p[i][1],
                                                             tau_p[i][2],
                                                             i ? KIN_M_PI : KIN_M_MU)),
                          tau_q[i]);
        add_muon_for(&e, 0);
        return e;
}

TEST(tau_1x3_fires)
{
        struct physics_config c = defaults();
        struct kin_beams b = beams();
        struct ev e = tau_event();
        struct tag_result r = run(&c, &e);
        struct kin_p4 cms[4];
        struct kin_v3 s3 = { 0, 0, 0 };
        double e_tau = b.sqrt_s / 2, p_tau, n3, e_l;

        REQUIRE(fired(&r, TAG_TAU_1X3));
        CHECK_STR(r.tau1x3.lepton, "mu");
        CHECK(r.tau1x3.thrust > 0.5 && r.tau1x3.thrust <= 1.0);
        /* x = 2 E_l / m_tau with E_l = (E_tau E* - p_tau n.p*) / m_tau, n
         * along -(sum of the prongs' p*) */
        for (int i = 0; i < 4; i++) {
                double px, py, pz;

                decoded(&e.t[i], &px, &py, &pz);
                cms[i] = kin_to_cms(&b, kin_p4_from_p(px, py, pz, i ? KIN_M_PI : KIN_M_MU));
                if (i)
                        s3 = kin_v3_add(s3, kin_p4_p3(cms[i]));
        }
        p_tau = sqrt(e_tau * e_tau - KIN_M_TAU * KIN_M_TAU);
        n3 = kin_v3_norm(s3);
        e_l = (e_tau * cms[0].e +
               p_tau * (s3.x * cms[0].px + s3.y * cms[0].py + s3.z * cms[0].pz) / n3) /
              KIN_M_TAU;
        CHECK(fabs(r.tau1x3.x_lepton - 2 * e_l / KIN_M_TAU) < 1e-9);
}

TEST(tau_1x3_not)
{
        struct physics_config c = defaults();
        struct ev e = tau_event();
        struct tag_result r;

        /* the single track is neither e nor mu */
        e.nm = 0;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_TAU_1X3));
        /* an electron works: a cluster on its crossing with E/p >= 0.8 */
        {
                struct kin_crossing x;
                double px, py, pz;

                decoded(&e.t[0], &px, &py, &pz);
                REQUIRE(kin_helix_cross(hypot(px, py), pz, atan2(py, px), -1, c.b_field_t,
                                        c.r_ecl_cm, &x));
                add_cluster(&e, (uint32_t)(0.9 * sqrt(px * px + py * py + pz * pz) * 1e6),
                            x.theta, remainder(x.phi, 2 * M_PI));
                r = run(&c, &e);
                CHECK(fired(&r, TAG_TAU_1X3));
                CHECK_STR(r.tau1x3.lepton, "e");
        }
        /* one prong not prompt */
        e = tau_event();
        e.t[2].d0_um = -6000;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_TAU_1X3));
}

/* A track through vertex v (cm) moving along phi_v there: its helix
 * parameters at the point of closest approach (daemon/physics/README.md s.4's model). */
static void add_track_from_vertex(struct ev *e, struct kin_v3 v, double phi_v, double pt,
                                  double pz, int q)
{
        struct physics_config c = defaults();
        double rho = kin_helix_radius_cm(pt, c.b_field_t);
        /* X = C - q rho (sin phi, -cos phi)  =>  C = X + q rho (...) */
        double cx = v.x + q * rho * sin(phi_v), cy = v.y - q * rho * cos(phi_v);
        double cn = hypot(cx, cy);
        /* (sin phi0, -cos phi0) = q C/|C|, d0 = q (|C| - rho) */
        double phi0 = atan2(q * cx / cn, -q * cy / cn);
        double d0 = q * (cn - rho);
        double alpha = remainder(q * (phi0 - phi_v), 2 * M_PI);
        double z0 = v.z - rho * alpha * pz / pt;

        e->t[e->nt++] = (struct frag_track){ kev(pt * cos(phi0)), kev(pt * sin(phi0)), kev(pz),
                                             (int32_t)lround(d0 * 1e4),
                                             (int32_t)lround(z0 * 1e4), (int8_t)q, 200, 30 };
}

/* Vertex (3, 4, 1) cm, r_xy 5; two pions of pt 1 at +-0.3 rad from the
 * radial direction: pointing back to the IP, opening ~0.6, m ~ 0.6. */
static struct ev dv_event(void)
{
        struct ev e = { 0 };
        struct kin_v3 v = { 3, 4, 1 };
        double phi = atan2(4, 3);

        add_track_from_vertex(&e, v, phi + 0.3, 1.0, 0.2, +1);
        add_track_from_vertex(&e, v, phi - 0.3, 1.0, -0.1, -1);
        return e;
}

TEST(displaced_vertex_fires)
{
        struct physics_config c = defaults();
        struct ev e = dv_event();
        struct tag_result r = run(&c, &e);

        REQUIRE(fired(&r, TAG_DISPLACED_VERTEX));
        REQUIRE(r.dv.n == 1);
        CHECK(fabs(r.dv.c[0].r_xy_cm - 5.0) < 1e-3);
        CHECK(fabs(r.dv.c[0].z_cm - 1.0) < 1e-3);
        CHECK(r.dv.c[0].doca_cm < 1e-3);
        /* 3D opening of (cos, sin, 0.2) and (cos, sin, -0.1) 0.6 apart */
        CHECK(fabs(r.dv.c[0].open_rad - acos((cos(0.6) - 0.02) / sqrt(1.04 * 1.01))) < 1e-3);
        CHECK(r.dv.c[0].points_to_ip);
        CHECK(fabs(r.dv.c[0].m_reduced_pipi_gev -
                   sqrt(r.dv.c[0].m_pipi_gev * r.dv.c[0].m_pipi_gev -
                        4 * KIN_M_PI * KIN_M_PI)) < 1e-9);
        CHECK(!r.dv_skipped);
        /* two tracks are not four: no idm */
        CHECK(!fired(&r, TAG_IDM_DARK_HIGGS));
}

TEST(displaced_vertex_edges)
{
        struct physics_config c = defaults();
        struct ev e = dv_event();
        struct tag_result r = run(&c, &e);
        struct tag_dv_candidate d;

        REQUIRE(r.dv.n == 1);
        d = r.dv.c[0];
        /* opening angle: an open interval */
        c.dv_open_min_rad = d.open_rad;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_DISPLACED_VERTEX));
        c.dv_open_min_rad = nextafter(d.open_rad, 0);
        r = run(&c, &e);
        CHECK(fired(&r, TAG_DISPLACED_VERTEX));
        c = defaults();
        c.dv_open_max_rad = d.open_rad;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_DISPLACED_VERTEX));
        /* doca and r_xy: inclusive */
        c = defaults();
        c.dv_doca_max_cm = d.doca_cm;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_DISPLACED_VERTEX));
        c.dv_doca_max_cm = nextafter(d.doca_cm, -1);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_DISPLACED_VERTEX));
        c = defaults();
        c.dv_rxy_min_cm = d.r_xy_cm;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_DISPLACED_VERTEX));
        c.dv_rxy_min_cm = nextafter(d.r_xy_cm, 100);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_DISPLACED_VERTEX));
        c = defaults();
        c.dv_rxy_max_cm = d.r_xy_cm;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_DISPLACED_VERTEX));
        c.dv_rxy_max_cm = nextafter(d.r_xy_cm, 0);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_DISPLACED_VERTEX));
        /* the K0S veto is strict: at exactly its width the pair stays */
        c = defaults();
        c.veto_ks_gev = fabs(d.m_pipi_gev - KIN_M_KS);
        r = run(&c, &e);
        CHECK(fired(&r, TAG_DISPLACED_VERTEX));
        c.veto_ks_gev = nextafter(fabs(d.m_pipi_gev - KIN_M_KS), 10);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_DISPLACED_VERTEX));
        /* wide Lambda and phi windows veto it too */
        c = defaults();
        c.veto_lambda_gev = 10;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_DISPLACED_VERTEX));
        c = defaults();
        c.veto_phi_gev = 10;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_DISPLACED_VERTEX));
        /* a pointing cut of 0 makes points_to_ip false, the tag stays */
        c = defaults();
        c.dv_pointing_max_rad = 0;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_DISPLACED_VERTEX) && !r.dv.c[0].points_to_ip);
        /* turning: a tiny max turn drops the points */
        c = defaults();
        c.dv_max_turn_rad = 1e-6;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_DISPLACED_VERTEX));
}

TEST(displaced_vertex_pairs)
{
        struct physics_config c = defaults();
        struct ev e = dv_event();
        struct tag_result r;

        /* same charges: no pair */
        e.t[1].charge = +1;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_DISPLACED_VERTEX));
        /* tracks near the beam line take no part */
        e = dv_event();
        c.dv_track_d0_min_cm = 100;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_DISPLACED_VERTEX));
        /* the guard: more tracks than dv_max_tracks skips the search */
        c = defaults();
        c.dv_max_tracks = 1;
        r = run(&c, &e);
        CHECK(r.dv_skipped && !fired(&r, TAG_DISPLACED_VERTEX));
        c.dv_max_tracks = 2;
        r = run(&c, &e);
        CHECK(!r.dv_skipped && fired(&r, TAG_DISPLACED_VERTEX));
}

TEST(idm_dark_higgs)
{
        struct physics_config c = defaults();
        struct ev e = dv_event();
        struct tag_result r;
        double em;

        add_track(&e, kin_p4_from_p(0.3, -0.2, 0.4, KIN_M_PI), +1);
        add_track(&e, kin_p4_from_p(-0.4, 0.1, 0.2, KIN_M_PI), -1);
        r = run(&c, &e);
        REQUIRE(fired(&r, TAG_IDM_DARK_HIGGS));
        CHECK(fired(&r, TAG_DISPLACED_VERTEX));
        em = r.e_miss_gev;
        c.idm_missing_e_min_gev = em;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_IDM_DARK_HIGGS));
        c.idm_missing_e_min_gev = nextafter(em, 100);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_IDM_DARK_HIGGS));
        /* the candidate must point to the IP */
        c = defaults();
        c.dv_pointing_max_rad = 0;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_IDM_DARK_HIGGS));
}

TEST(single_photon_edges)
{
        struct physics_config c = defaults();
        struct kin_beams b = beams();
        struct ev e = { 0 };
        struct tag_result r;
        struct kin_p4 g;
        double es;

        add_cluster(&e, 3000000, 1.5, 0.5);
        r = run(&c, &e);
        REQUIRE(fired(&r, TAG_SINGLE_PHOTON));
        g = kin_p4_massless(3.0, e.c[0].theta_urad / 1e6, e.c[0].phi_urad / 1e6);
        es = kin_to_cms(&b, g).e;
        CHECK(r.single_photon.photon_e_gev == es);
        CHECK(fabs(r.single_photon.recoil_m2_gev2 - kin_recoil_m2(&b, &g, 1)) < 1e-9);
        c.single_photon_min_gev = es;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_SINGLE_PHOTON));
        c.single_photon_min_gev = nextafter(es, 100);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_SINGLE_PHOTON));
        /* E_extra minus the photon: strict */
        c = defaults();
        add_cluster(&e, 90000, 2.5, -1.0);
        r = run(&c, &e);
        CHECK(r.n_photons == 1 && fired(&r, TAG_SINGLE_PHOTON));
        c.single_photon_extra_max_gev = r.e_extra_gev - 3.0;
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_SINGLE_PHOTON));
        c.single_photon_extra_max_gev = nextafter(r.e_extra_gev - 3.0, 1);
        r = run(&c, &e);
        CHECK(fired(&r, TAG_SINGLE_PHOTON));
        /* a bad track does not count; a good one does */
        c = defaults();
        add_track(&e, kin_p4_from_p(0.0999, 0, 0.3, KIN_M_PI), +1);
        r = run(&c, &e);
        CHECK(r.n_tracks == 0 && fired(&r, TAG_SINGLE_PHOTON));
        e.t[0].px_kev = 100000;
        r = run(&c, &e);
        CHECK(r.n_tracks == 1 && !fired(&r, TAG_SINGLE_PHOTON));
}

/* Three photons of sqrt(s)/3 at 120 degrees in the CMS. */
static struct ev three_photon_event(void)
{
        struct kin_beams b = beams();
        struct ev e = { 0 };
        double en = b.sqrt_s / 3;

        for (int i = 0; i < 3; i++) {
                double a = 0.4 + i * 2 * M_PI / 3;
                struct kin_p4 g = kin_from_cms(&b, (struct kin_p4){ en, en * cos(a) * 0.8,
                                                                    en * sin(a), en * cos(a) * 0.6 });

                add_cluster(&e, (uint32_t)lround(g.e * 1e6), kin_p4_theta(g), atan2(g.py, g.px));
        }
        return e;
}

static double photon_e_star(const struct frag_cluster *c)
{
        struct kin_beams b = beams();

        return kin_to_cms(&b, kin_p4_massless(c->energy_kev / 1e6, c->theta_urad / 1e6,
                                              c->phi_urad / 1e6)).e;
}

TEST(three_photon_edges)
{
        struct physics_config c = defaults();
        struct kin_beams b = beams();
        struct ev e = three_photon_event();
        struct tag_result r = run(&c, &e);
        double sum = 0, min = 1e9, off;

        REQUIRE(fired(&r, TAG_THREE_PHOTON));
        /* Mercedes: each pair mass sqrt(3) E = sqrt(s)/sqrt(3) = 6.1081 */
        for (int i = 0; i < 3; i++)
                CHECK(fabs(r.three_photon.diphoton_m_gev[i] - b.sqrt_s / sqrt(3.0)) < 1e-4);
        CHECK(r.three_photon.diphoton_m_gev[0] <= r.three_photon.diphoton_m_gev[1] &&
              r.three_photon.diphoton_m_gev[1] <= r.three_photon.diphoton_m_gev[2]);
        for (int i = 0; i < 3; i++) {
                double es = photon_e_star(&e.c[i]);

                sum += es;
                min = es < min ? es : min;
        }
        off = fabs(sum - b.sqrt_s);
        c.three_photon_window_gev = off;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_THREE_PHOTON));
        c.three_photon_window_gev = nextafter(off, -1);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_THREE_PHOTON));
        c = defaults();
        c.three_photon_min_gev = min;
        r = run(&c, &e);
        CHECK(fired(&r, TAG_THREE_PHOTON));
        c.three_photon_min_gev = nextafter(min, 100);
        r = run(&c, &e);
        CHECK(!fired(&r, TAG_THREE_PHOTON));
        /* a fourth photon */
        c = defaults();
        add_cluster(&e, 150000, 0.1, 0.1);
        r = run(&c, &e);
        CHECK(r.n_photons == 4 && !fired(&r, TAG_THREE_PHOTON));
}

TEST(tag_names)
{
        CHECK_STR(tag_name(TAG_ZPRIME_INVISIBLE), "zprime_invisible");
        CHECK_STR(tag_name(TAG_MUMU_TAUTAU), "mumu_tautau");
        CHECK_STR(tag_name(TAG_FOUR_MUON), "four_muon");
        CHECK_STR(tag_name(TAG_TAU_1X3), "tau_1x3");
        CHECK_STR(tag_name(TAG_DISPLACED_VERTEX), "displaced_vertex");
        CHECK_STR(tag_name(TAG_MISSING_ENERGY), "missing_energy");
        CHECK_STR(tag_name(TAG_IDM_DARK_HIGGS), "idm_dark_higgs");
        CHECK_STR(tag_name(TAG_SINGLE_PHOTON), "single_photon");
        CHECK_STR(tag_name(TAG_THREE_PHOTON), "three_photon");
}

TEST(counters_and_reuse)
{
        struct physics_config c = defaults();
        tagger_t *t = tagger_new(&c);
        struct ev e = zprime_event(), big = { 0 };
        struct tagger_counters st;
        struct tag_result r1, r2;

        REQUIRE(t);
        for (int i = 0; i < MAX_REC; i++)
                add_track(&big, kin_p4_from_p(0.2 + i * 0.01, 0.1, 0.1, KIN_M_PI), i % 2 ? 1 : -1);
        CHECK_OK_ZERO(tagger_run_records(t, e.t, e.nt, e.c, e.nc, e.m, e.nm, &r1));
        CHECK_OK_ZERO(tagger_run_records(t, big.t, big.nt, NULL, 0, NULL, 0, &r2));
        CHECK_OK_ZERO(tagger_run_records(t, e.t, e.nt, e.c, e.nc, e.m, e.nm, &r2));
        /* the same event gives the same result after a bigger one */
        CHECK(r1.fired == r2.fired && r1.e_miss_gev == r2.e_miss_gev &&
              r1.zprime.recoil_m2_gev2 == r2.zprime.recoil_m2_gev2);
        tagger_get_counters(t, &st);
        CHECK_EQ_U(st.events, 3);
        CHECK_EQ_U(st.fired[TAG_ZPRIME_INVISIBLE], 2);
        CHECK_EQ_U(st.tracks, 2 + MAX_REC + 2);
        CHECK(tagger_config(t)->e_her_gev == 7.004);
        CHECK(tagger_free(t) == NULL);
        CHECK(tagger_free(NULL) == NULL);
}

TEST_MAIN()
