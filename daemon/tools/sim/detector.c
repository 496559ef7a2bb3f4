/* SPDX-License-Identifier: Apache-2.0 */
/* sim_det: the detector response.  Resolutions are Belle II-like round
 * numbers; acceptances are the drift chamber's, calorimeter's and muon
 * system's polar ranges.  Owns smearing and quantisation, no I/O. */
#include "detector.h"

#include <math.h>

#define CDC_THETA_MIN   0.2967  /* 17 deg */
#define CDC_THETA_MAX   2.6180  /* 150 deg */
#define CDC_R_IN_CM     16.0
#define CDC_R_OUT_CM    113.0
#define CDC_MAX_HITS    56.0
#define TRACK_MIN_PT    0.05
#define ECL_THETA_MIN   0.2164  /* 12.4 deg */
#define ECL_THETA_MAX   2.7053  /* 155 deg */
#define KLM_THETA_MIN   0.40
#define KLM_THETA_MAX   2.70
#define MAX_VERTEX_R_CM 80.0    /* no track is found from a decay beyond this */

void sim_det_init(struct sim_det *d, const struct physics_config *cfg)
{
        d->b_field_t = cfg->b_field_t;
        d->r_ecl_cm = cfg->r_ecl_cm;
        d->r_klm_cm = cfg->r_klm_cm;
        d->noise = true;
}

static double s_fold(double a)
{
        while (a > SIM_PI)
                a -= 2.0 * SIM_PI;
        while (a <= -SIM_PI)
                a += 2.0 * SIM_PI;
        return a;
}

static int32_t s_q(double x, double unit)
{
        double v = round(x * unit);

        if (v > 2147483647.0)
                v = 2147483647.0;
        if (v < -2147483648.0)
                v = -2147483648.0;
        return (int32_t)v;
}

void sim_det_poca(double b_field_t, struct kin_p4 p, int q, struct kin_v3 v,
                  double *ret_phi0, double *ret_d0_cm, double *ret_z0_cm)
{
        double pt = hypot(p.px, p.py);
        double rho = kin_helix_radius_cm(pt, b_field_t);
        double phiv = atan2(p.py, p.px);
        /* centre: the position is C - q rho (sin phi, -cos phi) */
        double cx = v.x + q * rho * sin(phiv), cy = v.y - q * rho * cos(phiv);
        double c = hypot(cx, cy), phi0, alpha;

        if (!(c > 0.0)) {       /* circle centred on the beam line */
                *ret_phi0 = phiv;
                *ret_d0_cm = -q * rho;
                *ret_z0_cm = v.z;
                return;
        }
        phi0 = atan2(q * cx / c, -q * cy / c);
        alpha = s_fold(q * (phi0 - phiv));     /* turning from the POCA to v */
        *ret_phi0 = phi0;
        *ret_d0_cm = q * (c - rho);
        *ret_z0_cm = v.z - rho * alpha * p.pz / pt;
}

/* Calorimeter or muon-system direction, smeared and folded. */
static void s_direction(struct sim_rng *r, double theta, double phi, double sigma,
                        int32_t *ret_theta, int32_t *ret_phi)
{
        theta += sigma * sim_rng_gauss(r);
        phi = s_fold(phi + sigma * sim_rng_gauss(r));
        theta = fmin(fmax(theta, 0.0), SIM_PI);
        *ret_theta = s_q(theta, 1e6);
        *ret_phi = s_q(phi, 1e6);
}

static void s_cluster(const struct sim_det *d, struct sim_rng *r, struct sim_records *out,
                      double e_gev, double theta, double phi, double sigma_rad,
                      unsigned n_crystals)
{
        struct frag_cluster *c;

        (void)d;
        if (out->n_clusters >= SIM_MAX_CLUSTERS || !(e_gev > 0.0))
                return;
        c = &out->clusters[out->n_clusters++];
        c->energy_kev = (uint32_t)fmin(round(e_gev * 1e6), 4294967295.0);
        s_direction(r, theta, phi, sigma_rad, &c->theta_urad, &c->phi_urad);
        c->time_ns = (int16_t)lround(1.5 * sim_rng_gauss(r));
        c->n_crystals = (uint16_t)(n_crystals ? n_crystals : 1);
}

static void s_charged(const struct sim_det *d, struct sim_rng *r, const struct sim_particle *x,
                      struct sim_records *out)
{
        struct kin_p4 p = x->p;
        double pt = hypot(p.px, p.py), pmag = kin_p4_p(p);
        double theta = kin_p4_theta(p);
        double rv = hypot(x->v.x, x->v.y);
        double rho, r_out, r_in, hits, phi0, d0, z0;
        struct kin_crossing cr;

        if (pt < TRACK_MIN_PT || rv > MAX_VERTEX_R_CM)
                return;
        rho = kin_helix_radius_cm(pt, d->b_field_t);
        sim_det_poca(d->b_field_t, p, x->charge, x->v, &phi0, &d0, &z0);

        /* the track */
        r_out = fmin(CDC_R_OUT_CM, 2.0 * rho);
        r_in = fmax(CDC_R_IN_CM, rv);
        hits = CDC_MAX_HITS * (r_out - r_in) / (CDC_R_OUT_CM - CDC_R_IN_CM)
               - (double)sim_rng_below(r, 6);
        if (theta >= CDC_THETA_MIN && theta <= CDC_THETA_MAX && hits >= 3.0 &&
            out->n_tracks < SIM_MAX_TRACKS) {
                /* measured where the track starts (its first hits), then
                 * extrapolated to the beam line as the fit would */
                struct frag_track *t = &out->tracks[out->n_tracks++];
                double rel = hypot(0.0011 * pt, 0.0025);
                double sang = 0.0004 + 0.0010 / pmag;
                double pt_m = pt * (1.0 + rel * sim_rng_gauss(r));
                double phi_m = atan2(p.py, p.px) + sang * sim_rng_gauss(r);
                double th_m = theta + sang * sim_rng_gauss(r);
                double dxy = (0.0010 + 0.0020 / pmag) * sim_rng_gauss(r);
                double dz = (0.0015 + 0.0025 / pmag) * sim_rng_gauss(r);
                struct kin_v3 v_m = { x->v.x + dxy * sin(phi_m), x->v.y - dxy * cos(phi_m),
                                      x->v.z + dz };
                struct kin_p4 p_m = kin_p4_from_p(pt_m * cos(phi_m), pt_m * sin(phi_m),
                                                  pt_m / tan(th_m), x->mass_gev);
                double phi0_m, d0_m, z0_m;
                double q = 255.0 - 2.0 * (CDC_MAX_HITS - hits) - (double)sim_rng_below(r, 30);

                sim_det_poca(d->b_field_t, p_m, x->charge, v_m, &phi0_m, &d0_m, &z0_m);
                t->px_kev = s_q(pt_m * cos(phi0_m), 1e6);
                t->py_kev = s_q(pt_m * sin(phi0_m), 1e6);
                t->pz_kev = s_q(p_m.pz, 1e6);
                t->d0_um = s_q(d0_m, 1e4);
                t->z0_um = s_q(z0_m, 1e4);
                t->charge = (int8_t)x->charge;
                t->quality = (uint8_t)fmin(fmax(q, 0.0), 255.0);
                t->n_hits = (uint16_t)hits;
        }

        /* the calorimeter, where the helix from the origin crosses r_ecl */
        if (kin_helix_cross(pt, p.pz, phi0, x->charge, d->b_field_t, d->r_ecl_cm, &cr) &&
            cr.theta >= ECL_THETA_MIN && cr.theta <= ECL_THETA_MAX) {
                double e;
                unsigned n;

                if (x->kind == SIM_ELECTRON) {
                        e = pmag * (0.96 + 0.025 * sim_rng_gauss(r));
                        n = 5 + (unsigned)fmin(e * 3.0, 30.0) + (unsigned)sim_rng_below(r, 4);
                } else if (x->kind == SIM_MUON || sim_rng_uniform(r) < 0.6) {
                        e = fmax(0.12, 0.19 + 0.02 * sim_rng_gauss(r));
                        n = 1 + (unsigned)sim_rng_below(r, 3);
                } else {
                        e = pmag * sim_rng_range(r, 0.15, 0.7);
                        n = 3 + (unsigned)sim_rng_below(r, 10);
                }
                s_cluster(d, r, out, e, cr.theta, cr.phi, 0.004, n);
        }

        /* the muon system: muons, and pions punching through at times */
        bool punch = x->kind == SIM_PION && pmag > 1.5 && sim_rng_uniform(r) < 0.01;
        if ((x->kind == SIM_MUON || punch) && pmag >= 0.6 &&
            kin_helix_cross(pt, p.pz, phi0, x->charge, d->b_field_t, d->r_klm_cm, &cr) &&
            cr.theta >= KLM_THETA_MIN && cr.theta <= KLM_THETA_MAX &&
            out->n_muons < SIM_MAX_MUONS) {
                struct frag_muon *m = &out->muons[out->n_muons++];
                double layers;

                if (punch)
                        layers = 3 + (double)sim_rng_below(r, 3);
                else if (pmag >= 1.0)
                        layers = fmin(14.0, 3.0 + floor((pmag - 1.0) * 3.0) +
                                            (double)sim_rng_below(r, 2));
                else
                        layers = 1 + (double)sim_rng_below(r, 2);
                s_direction(r, cr.theta, cr.phi, 0.01, &m->theta_urad, &m->phi_urad);
                m->layers = (uint8_t)layers;
                m->sector = (uint8_t)((unsigned)floor((s_fold(cr.phi) + SIM_PI) /
                                                      (2.0 * SIM_PI) * 8.0) % 8u +
                                      (cr.theta < 0.7854 || cr.theta > 2.2 ? 8u : 0u));
                m->reserved = 0;
        }
}

static void s_photon(const struct sim_det *d, struct sim_rng *r, const struct sim_particle *x,
                     struct sim_records *out)
{
        struct kin_v3 v = x->v, dir = kin_p4_p3(x->p);
        double a = dir.x * dir.x + dir.y * dir.y;
        double b = v.x * dir.x + v.y * dir.y;
        double c = v.x * v.x + v.y * v.y - d->r_ecl_cm * d->r_ecl_cm;
        double t, z, theta, e, sigma;

        if (!(a > 0.0) || c >= 0.0 || x->p.e < 0.02)
                return;
        t = (-b + sqrt(b * b - a * c)) / a;     /* where the line meets r_ecl */
        z = v.z + t * dir.z;
        theta = atan2(d->r_ecl_cm, z);
        if (theta < ECL_THETA_MIN || theta > ECL_THETA_MAX)
                return;
        sigma = hypot(0.02 / sqrt(x->p.e), 0.012);
        e = x->p.e * (1.0 + sigma * sim_rng_gauss(r));
        s_cluster(d, r, out, e, theta, atan2(v.y + t * dir.y, v.x + t * dir.x),
                  hypot(0.003 / sqrt(x->p.e), 0.002),
                  4 + (unsigned)fmin(e * 4.0, 30.0) + (unsigned)sim_rng_below(r, 4));
}

#define S_SHUFFLE(r, arr, n)                                                    \
        do {                                                                    \
                for (unsigned i_ = (n); i_ > 1; i_--) {                         \
                        unsigned j_ = (unsigned)sim_rng_below((r), i_);         \
                        __typeof__((arr)[0]) t_ = (arr)[i_ - 1];                \
                        (arr)[i_ - 1] = (arr)[j_];                              \
                        (arr)[j_] = t_;                                         \
                }                                                               \
        } while (0)

void sim_det_event(const struct sim_det *d, struct sim_rng *r, const struct sim_event *ev,
                   struct sim_records *out)
{
        double e_sum = 0.0, e_max = 0.0;
        unsigned n_trk = 0;

        out->n_tracks = out->n_clusters = out->n_muons = 0;
        for (unsigned i = 0; i < ev->n_part; i++) {
                const struct sim_particle *x = &ev->part[i];

                if (x->kind == SIM_PHOTON)
                        s_photon(d, r, x, out);
                else if (x->kind != SIM_INVISIBLE && x->kind != SIM_DECAYED && x->charge)
                        s_charged(d, r, x, out);
        }
        if (d->noise) {
                unsigned n = (unsigned)sim_rng_below(r, 3);

                for (unsigned i = 0; i < n; i++)
                        s_cluster(d, r, out, sim_rng_range(r, 0.005, 0.045),
                                  sim_rng_range(r, ECL_THETA_MIN, ECL_THETA_MAX),
                                  sim_rng_range(r, -SIM_PI, SIM_PI), 0.0, 1);
        }
        S_SHUFFLE(r, out->tracks, out->n_tracks);
        S_SHUFFLE(r, out->clusters, out->n_clusters);
        S_SHUFFLE(r, out->muons, out->n_muons);

        for (unsigned i = 0; i < out->n_tracks; i++)
                if (hypot(out->tracks[i].px_kev, out->tracks[i].py_kev) >= 1e5)
                        n_trk++;
        for (unsigned i = 0; i < out->n_clusters; i++) {
                double e = out->clusters[i].energy_kev * 1e-6;

                e_sum += e;
                e_max = fmax(e_max, e);
        }
        out->trigger_bits = SIM_TRIG_ALWAYS | (n_trk >= 2 ? SIM_TRIG_TWO_TRACKS : 0) |
                            (e_sum >= 1.0 ? SIM_TRIG_ECL_SUM : 0) |
                            (e_max >= 1.0 ? SIM_TRIG_ECL_HIGH : 0) |
                            (out->n_muons ? SIM_TRIG_KLM : 0);
}
