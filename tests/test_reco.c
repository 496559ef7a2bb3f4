/* SPDX-License-Identifier: Apache-2.0 */
/* test_reco: good and prompt tracks, muon and cluster matching with their tie
 * rules and strict cuts, electrons, photons and E_extra (daemon/physics/README.md s.3-3),
 * and the polar-angle window of the matcher against a plain scan. */
#include <errno.h>
#include <math.h>

#include "check.h"
#include "kinematics.h"
#include "reco.h"

static struct physics_config s_cfg;
static struct kin_beams s_beams;

static void setup(void)
{
        physics_config_default(&s_cfg);
        kin_beams_from_config(&s_beams, &s_cfg);
}

static void reco_do(struct reco *r, const struct frag_track *t, size_t nt,
                    const struct frag_cluster *c, size_t nc, const struct frag_muon *m,
                    size_t nm)
{
        REQUIRE_OK_ZERO(reco_reserve(r, nt, nc));
        reco_run(r, &s_cfg, &s_beams, t, nt, c, nc, m, nm);
}

static struct frag_track trk(int32_t px, int32_t py, int32_t pz, int q)
{
        return (struct frag_track){ px, py, pz, 0, 0, (int8_t)q, 100, 20 };
}

/* The direction where t crosses radius r, in µrad. */
static void crossing(const struct frag_track *t, double r_cm, int32_t *th, int32_t *ph,
                     double *theta, double *phi)
{
        double px = t->px_kev / 1e6, py = t->py_kev / 1e6, pz = t->pz_kev / 1e6;
        struct kin_crossing x;

        if (!kin_helix_cross(hypot(px, py), pz, atan2(py, px), t->charge, s_cfg.b_field_t,
                             r_cm, &x))
                abort();
        *th = (int32_t)lround(x.theta * 1e6);
        *ph = (int32_t)lround(x.phi * 1e6);
        if (theta)
                *theta = x.theta;
        if (phi)
                *phi = x.phi;
}

TEST(good_and_prompt_tracks)
{
        struct reco r;
        struct frag_track t[5] = {
                trk(100000, 0, 0, 1),   /* pt exactly 0.1: good */
                trk(99999, 0, 0, -1),   /* below: not good */
                trk(60000, 80000, 0, 1), /* hypot 0.1 exactly: good */
                trk(500000, 0, 0, -1),
                trk(500000, 0, 0, -1),
        };

        setup();
        reco_init(&r);
        t[3].n_hits = 9;                /* too few hits */
        t[4].d0_um = -4999;             /* |d0| < 0.5: prompt */
        t[4].z0_um = 20000;             /* |z0| = 2: not prompt */
        reco_do(&r, t, 5, NULL, 0, NULL, 0);
        CHECK(r.n_tracks == 3 && r.n_bad_tracks == 2);
        CHECK(r.tracks[0].index == 0 && r.tracks[1].index == 2 && r.tracks[2].index == 4);
        CHECK_EQ_I(r.charge_sum, 1);
        CHECK(r.tracks[0].prompt && !r.tracks[2].prompt);
        t[4].z0_um = -19999;
        reco_do(&r, t, 5, NULL, 0, NULL, 0);
        CHECK(r.tracks[2].prompt);
        /* mass hypothesis: pion by default */
        CHECK(r.tracks[0].mass == KIN_M_PI);
        reco_release(&r);
}

TEST(muon_match_tie_and_cut)
{
        struct reco r;
        struct frag_track t[2] = { trk(1000000, 500000, 300000, 1),
                                   trk(1000000, 500000, 300000, 1) };
        struct frag_muon m = { 0, 0, 3, 0, 0 };
        double theta, phi, d;

        setup();
        reco_init(&r);
        crossing(&t[0], s_cfg.r_klm_cm, &m.theta_urad, &m.phi_urad, &theta, &phi);
        /* identical tracks: the tie goes to the lower index */
        reco_do(&r, t, 2, NULL, 0, &m, 1);
        CHECK(r.tracks[0].muon && !r.tracks[1].muon);
        CHECK(r.tracks[0].mass == KIN_M_MU);
        /* fewer than 3 layers: ignored */
        m.layers = 2;
        reco_do(&r, t, 2, NULL, 0, &m, 1);
        CHECK(!r.tracks[0].muon);
        /* the distance cut is strict */
        m.layers = 3;
        m.theta_urad += 50000;
        d = kin_angle(theta, phi, m.theta_urad / 1e6, m.phi_urad / 1e6);
        s_cfg.muon_match_rad = d;
        reco_do(&r, t, 1, NULL, 0, &m, 1);
        CHECK(!r.tracks[0].muon);
        s_cfg.muon_match_rad = nextafter(d, 1);
        reco_do(&r, t, 1, NULL, 0, &m, 1);
        CHECK(r.tracks[0].muon);
        reco_release(&r);
}

TEST(cluster_match_nearest_and_tie)
{
        struct reco r;
        struct frag_track t[3] = { trk(1000000, 0, 200000, 1), trk(1000000, 0, 200000, 1),
                                   trk(900000, 100000, 250000, -1) };
        struct frag_cluster c[2] = { { 800000, 0, 0, 0, 5 }, { 500000, 0, 0, 0, 5 } };

        setup();
        reco_init(&r);
        crossing(&t[2], s_cfg.r_ecl_cm, &c[0].theta_urad, &c[0].phi_urad, NULL, NULL);
        crossing(&t[0], s_cfg.r_ecl_cm, &c[1].theta_urad, &c[1].phi_urad, NULL, NULL);
        reco_do(&r, t, 3, c, 2, NULL, 0);
        /* cluster 0 to its own track 2 (nearest); cluster 1 to track 0 (tie
         * with the identical track 1: the lower index) */
        CHECK(r.cluster_match[0] == 2 && r.cluster_match[1] == 0);
        CHECK(r.tracks[2].e_cl_gev == 0.8 && r.tracks[0].e_cl_gev == 0.5 &&
              r.tracks[1].e_cl_gev == 0.0);
        CHECK(r.n_photons == 0 && r.e_extra_gev == 0.0);
        reco_release(&r);
}

TEST(electron_eop_edge)
{
        struct reco r;
        struct frag_track t = trk(1000000, 300000, 400000, -1);
        struct frag_cluster c = { 900000, 0, 0, 0, 5 };
        double p = sqrt(1.0 + 0.09 + 0.16);

        setup();
        reco_init(&r);
        crossing(&t, s_cfg.r_ecl_cm, &c.theta_urad, &c.phi_urad, NULL, NULL);
        s_cfg.electron_eop_min = 0.9 / p;
        reco_do(&r, &t, 1, &c, 1, NULL, 0);
        CHECK(r.tracks[0].electron && r.tracks[0].mass == KIN_M_E);
        s_cfg.electron_eop_min = nextafter(0.9 / p, 1);
        reco_do(&r, &t, 1, &c, 1, NULL, 0);
        CHECK(!r.tracks[0].electron && r.tracks[0].mass == KIN_M_PI);
        reco_release(&r);
}

TEST(muon_is_never_electron)
{
        struct reco r;
        struct frag_track t = trk(1000000, 300000, 400000, 1);
        struct frag_cluster c = { 5000000, 0, 0, 0, 5 };
        struct frag_muon m = { 0, 0, 5, 0, 0 };

        setup();
        reco_init(&r);
        crossing(&t, s_cfg.r_ecl_cm, &c.theta_urad, &c.phi_urad, NULL, NULL);
        crossing(&t, s_cfg.r_klm_cm, &m.theta_urad, &m.phi_urad, NULL, NULL);
        reco_do(&r, &t, 1, &c, 1, &m, 1);
        CHECK(r.tracks[0].muon && !r.tracks[0].electron);
        reco_release(&r);
}

TEST(photons_and_extra)
{
        struct reco r;
        struct frag_cluster c[4] = {
                { 100000, 1500000, 0, 0, 1 },   /* 0.1: a photon and extra */
                { 99999, 1600000, 0, 0, 1 },    /* extra only */
                { 50000, 1700000, 0, 0, 1 },    /* extra: >= 0.05 */
                { 49999, 1800000, 0, 0, 1 },    /* neither */
        };

        setup();
        reco_init(&r);
        reco_do(&r, NULL, 0, c, 4, NULL, 0);
        CHECK(r.n_photons == 1 && r.photons[0].cluster == 0);
        CHECK(fabs(r.e_extra_gev - 0.249999) < 1e-15);
        CHECK(fabs(r.photons[0].p4.e - 0.1) < 1e-15);
        /* P_miss = P_beams - photon */
        CHECK(fabs(r.p_miss.e - (s_beams.total.e - 0.1)) < 1e-12);
        reco_release(&r);
}

/* daemon/physics/README.md's matching by a plain scan of every good track: the nearest
 * crossing at r_cm within cut, ties to the lower index. */
static int32_t scan_nearest(const struct reco *r, const struct frag_track *t, double r_cm,
                            double theta, double phi, double cut)
{
        double best = cut;
        int32_t want = -1;

        for (size_t k = 0; k < r->n_tracks; k++) {
                const struct frag_track *f = &t[r->tracks[k].index];
                double px = f->px_kev / 1e6, py = f->py_kev / 1e6, d;
                struct kin_crossing x;

                if (!kin_helix_cross(hypot(px, py), f->pz_kev / 1e6, atan2(py, px), f->charge,
                                     s_cfg.b_field_t, r_cm, &x))
                        continue;
                d = kin_angle(x.theta, x.phi, theta, phi);
                if (d < best) {
                        best = d;
                        want = (int32_t)k;
                }
        }
        return want;
}

/* The matcher (dot products, exact formula near ties and the cut, theta
 * window in big events) gives the same matches as scanning every track with
 * daemon/physics/README.md's formula: small and big events, exact duplicate tracks,
 * clusters at a crossing, near the cut, and anywhere. */
TEST(matching_equals_scan)
{
        static const size_t sizes[] = { 1, 2, 3, 5, 8, 31, 32, 33, 200 };
        struct reco r;
        static struct frag_track t[200];
        static struct frag_cluster c[300];
        uint64_t x = 12345;
        unsigned near_cut = 0, matched = 0;

        setup();
        reco_init(&r);
        for (int round = 0; round < 180; round++) {
                size_t nt = sizes[round % 9];

                for (size_t i = 0; i < nt; i++) {
                        x = x * 6364136223846793005ull + 1442695040888963407ull;
                        if (i > 0 && x % 7 == 0) {
                                t[i] = t[(x >> 40) % i];        /* an exact duplicate */
                                continue;
                        }
                        t[i] = trk((int32_t)((x >> 40) % 3000000) - 1500000,
                                   (int32_t)((x >> 20) % 3000000) - 1500000,
                                   (int32_t)((x >> 8) % 4000000) - 2000000, (x >> 63) ? 1 : -1);
                }
                for (int i = 0; i < 300; i++) {
                        x = x * 6364136223846793005ull + 1442695040888963407ull;
                        /* a third at a track's crossing, moved by up to 30 mrad
                         * in theta; a sixth moved by about the cut */
                        if (i % 3 == 0 || i % 6 == 1) {
                                const struct frag_track *k = &t[(x >> 33) % nt];
                                double px = k->px_kev / 1e6, py = k->py_kev / 1e6;
                                int32_t off = i % 3 == 0 ? (int32_t)((x >> 50) % 60000) - 30000
                                                         : 50000 + (int32_t)((x >> 50) % 3) - 1;
                                struct kin_crossing cr;

                                if (kin_helix_cross(hypot(px, py), k->pz_kev / 1e6,
                                                    atan2(py, px), k->charge, s_cfg.b_field_t,
                                                    s_cfg.r_ecl_cm, &cr)) {
                                        c[i] = (struct frag_cluster){
                                                100000, (int32_t)lround(cr.theta * 1e6) + off,
                                                (int32_t)lround(cr.phi * 1e6), 0, 1 };
                                        continue;
                                }
                        }
                        c[i] = (struct frag_cluster){ 100000, (int32_t)((x >> 30) % 3141593),
                                                      (int32_t)((x >> 10) % 6283185) - 3141592,
                                                      0, 1 };
                }
                reco_do(&r, t, nt, c, 300, NULL, 0);
                for (int i = 0; i < 300; i++) {
                        double th = c[i].theta_urad / 1e6, ph = c[i].phi_urad / 1e6;
                        int32_t want = scan_nearest(&r, t, s_cfg.r_ecl_cm, th, ph,
                                                    s_cfg.cluster_match_rad);

                        CHECK_EQ_I(r.cluster_match[i], want);
                        matched += want >= 0;
                        near_cut += i % 6 == 1;
                }
        }
        /* the cases were there */
        CHECK(matched > 10000 && near_cut > 5000);
        reco_release(&r);
}

/* A cluster whose distance to two different tracks is the same to the
 * last bit goes to the lower index, and one at exactly the cut distance is
 * not matched: decided by daemon/physics/README.md's formula, not by dot products. */
TEST(matching_exact_ties_and_cut)
{
        struct reco r;
        /* mirror images in phi about the x axis, same charge sign flipped so
         * that the crossings mirror too */
        struct frag_track t[2] = { trk(1000000, 300000, 100000, 1),
                                   trk(1000000, -300000, 100000, -1) };
        struct frag_cluster c = { 500000, 0, 0, 0, 5 };
        int32_t th;
        double theta, phi, d0, d1;

        setup();
        reco_init(&r);
        crossing(&t[0], s_cfg.r_ecl_cm, &th, &c.phi_urad, &theta, &phi);
        c.theta_urad = th;
        c.phi_urad = 0;
        d0 = kin_angle(theta, phi, th / 1e6, 0.0);
        crossing(&t[1], s_cfg.r_ecl_cm, &th, &c.phi_urad, &theta, &phi);
        d1 = kin_angle(theta, phi, th / 1e6, 0.0);
        c.phi_urad = 0;
        REQUIRE(d0 == d1 && d0 < s_cfg.cluster_match_rad);
        reco_do(&r, t, 2, &c, 1, NULL, 0);
        CHECK_EQ_I(r.cluster_match[0], 0);
        /* the cut exactly at the distance: strict, so no match */
        s_cfg.cluster_match_rad = d0;
        reco_do(&r, t, 2, &c, 1, NULL, 0);
        CHECK_EQ_I(r.cluster_match[0], -1);
        s_cfg.cluster_match_rad = nextafter(d0, 1);
        reco_do(&r, t, 2, &c, 1, NULL, 0);
        CHECK_EQ_I(r.cluster_match[0], 0);
        reco_release(&r);
}

/* With the cut set to exactly the nearest track's distance nothing
 * matches (the cut is strict), one step above it the nearest does: the
 * decision at the cut is daemon/physics/README.md's, to the last bit, however the dot
 * products round. */
TEST(matching_cut_is_strict_to_the_bit)
{
        struct reco r;
        struct frag_track t[3];
        struct frag_cluster c = { 500000, 0, 0, 0, 5 };
        uint64_t x = 777;
        unsigned tried = 0;

        setup();
        reco_init(&r);
        for (int round = 0; round < 3000; round++) {
                double d = INFINITY, th, ph;
                int32_t want = -1, ith, iph;

                for (int i = 0; i < 3; i++) {
                        x = x * 6364136223846793005ull + 1442695040888963407ull;
                        t[i] = trk((int32_t)((x >> 40) % 3000000) - 1500000,
                                   (int32_t)((x >> 20) % 3000000) - 1500000,
                                   (int32_t)((x >> 8) % 4000000) - 2000000, (x >> 63) ? 1 : -1);
                        t[i].px_kev += t[i].px_kev >= 0 ? 400000 : -400000;   /* reaches r_ecl */
                }
                crossing(&t[round % 3], s_cfg.r_ecl_cm, &ith, &iph, NULL, NULL);
                c.theta_urad = ith + (int32_t)(x >> 52) - 2048;
                c.phi_urad = iph + (int32_t)((x >> 40) & 4095) - 2048;
                th = c.theta_urad / 1e6;
                ph = c.phi_urad / 1e6;
                s_cfg.cluster_match_rad = KIN_PI;
                reco_do(&r, t, 3, &c, 1, NULL, 0);
                for (size_t k = 0; k < r.n_tracks; k++) {
                        const struct frag_track *f = &t[r.tracks[k].index];
                        double px = f->px_kev / 1e6, py = f->py_kev / 1e6;
                        struct kin_crossing cr;
                        double dk;

                        REQUIRE(kin_helix_cross(hypot(px, py), f->pz_kev / 1e6, atan2(py, px),
                                                f->charge, s_cfg.b_field_t, s_cfg.r_ecl_cm,
                                                &cr));
                        dk = kin_angle(cr.theta, cr.phi, th, ph);
                        if (dk < d) {
                                d = dk;
                                want = (int32_t)k;
                        }
                }
                if (!(d > 2e-4))
                        continue;    /* nearer, the cut is decided exactly anyway */
                tried++;
                s_cfg.cluster_match_rad = d;
                reco_do(&r, t, 3, &c, 1, NULL, 0);
                CHECK_EQ_I(r.cluster_match[0], -1);
                s_cfg.cluster_match_rad = nextafter(d, 1);
                reco_do(&r, t, 3, &c, 1, NULL, 0);
                CHECK_EQ_I(r.cluster_match[0], want);
        }
        CHECK(tried > 2500);
        reco_release(&r);
}

TEST(config_set_and_format)
{
        struct physics_config c;
        char buf[64];
        size_t n = physics_config_key_count();

        physics_config_default(&c);
        CHECK(c.dv_max_turn_rad == M_PI / 2);
        CHECK_EQ_U(c.prescale[3], 1);
        CHECK_OK_ZERO(physics_config_set(&c, "muon_match_rad", "0.2"));
        CHECK(c.muon_match_rad == 0.2);
        CHECK_OK_ZERO(physics_config_set(&c, "dv_max_turn_rad", "pi/4"));
        CHECK(c.dv_max_turn_rad == M_PI / 4);
        CHECK_OK_ZERO(physics_config_set(&c, "dv_open_max_rad", "pi-0.2"));
        CHECK(c.dv_open_max_rad == M_PI - 0.2);
        CHECK_OK_ZERO(physics_config_set(&c, "track_min_hits", "12"));
        CHECK_EQ_U(c.track_min_hits, 12);
        CHECK_OK_ZERO(physics_config_set(&c, "prescale.four_muon", "10"));
        CHECK_EQ_U(c.prescale[2], 10);
        CHECK_ERRNO(physics_config_set(&c, "prescale.four_muon", "0"), -EINVAL);
        CHECK_ERRNO(physics_config_set(&c, "no_such_key", "1"), -ENOENT);
        CHECK_ERRNO(physics_config_set(&c, "prescale.nope", "1"), -ENOENT);
        CHECK_ERRNO(physics_config_set(&c, "b_field_t", "1.5T"), -EINVAL);
        CHECK_ERRNO(physics_config_set(&c, "b_field_t", ""), -EINVAL);
        CHECK_ERRNO(physics_config_set(&c, "b_field_t", "nan"), -EINVAL);
        CHECK_ERRNO(physics_config_set(&c, "b_field_t", "inf"), -EINVAL);
        CHECK_ERRNO(physics_config_set(&c, "track_min_hits", "-1"), -EINVAL);
        CHECK_ERRNO(physics_config_set(&c, "track_min_hits", "1.5"), -EINVAL);
        CHECK(c.b_field_t == 1.5 && c.track_min_hits == 12);
        /* every key formats to text that sets it back to the same value */
        REQUIRE(n > 40);
        for (size_t i = 0; i < n; i++) {
                const struct physics_config_key *k = physics_config_key_at(i);
                struct physics_config d;

                physics_config_default(&d);
                memset(&d, 0, sizeof(d));
                CHECK_OK_ZERO(physics_config_set(&d, k->name,
                                                 physics_config_format(&c, k, buf, sizeof(buf))));
                CHECK(memcmp((char *)&d + k->offset, (char *)&c + k->offset,
                             k->type == PHYSICS_KEY_DOUBLE ? sizeof(double) : sizeof(uint32_t)) == 0);
        }
        CHECK(physics_config_key_at(n) == NULL);
}

TEST_MAIN()
