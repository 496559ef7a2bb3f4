/* SPDX-License-Identifier: Apache-2.0 */
/* sim_gen: processes -> particles.  Each process is built in the CMS as
 * simple phase space (sequential two-body splits), boosted to the lab and
 * given vertices: long-lived particles fly an exponential distance.  Good
 * for exercising the tagger, not for physics results.  No I/O. */
#include "gen.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define M_PI0           0.1349768
#define CTAU_TAU_CM     0.008711
#define CTAU_KS_CM      2.6844
#define CTAU_LAMBDA_CM  7.89
#define M_APRIME        6.0     /* idm: A' -> chi1 chi2 */
#define M_CHI1          1.5
#define M_CHI2          2.5
#define SIGMA_Z_IP_CM   0.035   /* luminous region length */
#define ECL_THETA_MIN   0.2164  /* 12.4 deg */
#define ECL_THETA_MAX   2.7053  /* 155 deg */

/* ---- four-vector building blocks ---- */

static struct kin_v3 s_scale(struct kin_v3 a, double k)
{
        return (struct kin_v3){ a.x * k, a.y * k, a.z * k };
}

static struct kin_v3 s_cross(struct kin_v3 a, struct kin_v3 b)
{
        return (struct kin_v3){ a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z,
                                a.x * b.y - a.y * b.x };
}

static struct kin_v3 s_unit(struct kin_v3 a)
{
        double n = kin_v3_norm(a);

        return n > 0.0 ? s_scale(a, 1.0 / n) : (struct kin_v3){ 0.0, 0.0, 1.0 };
}

static struct kin_p4 s_p4(struct kin_v3 dir, double p, double m)
{
        return (struct kin_p4){ sqrt(p * p + m * m), p * dir.x, p * dir.y, p * dir.z };
}

static struct kin_v3 s_dir(double cos_theta, double phi)
{
        double s = sqrt(fmax(0.0, 1.0 - cos_theta * cos_theta));

        return (struct kin_v3){ s * cos(phi), s * sin(phi), cos_theta };
}

static struct kin_v3 s_iso(struct sim_rng *r)
{
        double c = sim_rng_range(r, -1.0, 1.0);

        return s_dir(c, sim_rng_range(r, -SIM_PI, SIM_PI));
}

/* Direction at polar angle acos(cos_theta) from the electron beam axis. */
static struct kin_v3 s_dir_beam(const struct sim_gen *g, double cos_theta, double phi)
{
        struct kin_v3 a = g->axis_cms;
        struct kin_v3 u = s_unit(s_cross((struct kin_v3){ 0.0, 1.0, 0.0 }, a));
        struct kin_v3 v = s_cross(a, u);
        struct kin_v3 d = s_dir(cos_theta, phi);

        return kin_v3_add(kin_v3_add(s_scale(u, d.x), s_scale(v, d.y)), s_scale(a, d.z));
}

static double s_pstar(double m, double m1, double m2)
{
        double a = m * m - (m1 + m2) * (m1 + m2);
        double b = m * m - (m1 - m2) * (m1 - m2);

        return sqrt(fmax(0.0, a * b)) / (2.0 * m);
}

/* P -> (m1, m2) with daughter 1 along dir in P's rest frame. */
static void s_two_body_dir(struct kin_p4 p, double m1, double m2, struct kin_v3 dir,
                           struct kin_p4 *ret1, struct kin_p4 *ret2)
{
        double m = kin_p4_m(p);
        double q = s_pstar(m, m1, m2);
        struct kin_v3 beta = s_scale(kin_p4_p3(p), 1.0 / p.e);

        *ret1 = kin_boost(s_p4(dir, q, m1), beta);
        *ret2 = kin_boost(s_p4(s_scale(dir, -1.0), q, m2), beta);
}

static void s_two_body(struct sim_rng *r, struct kin_p4 p, double m1, double m2,
                       struct kin_p4 *ret1, struct kin_p4 *ret2)
{
        s_two_body_dir(p, m1, m2, s_iso(r), ret1, ret2);
}

/* P -> n bodies of masses m[]: invariant masses of the growing subsystems
 * from sorted uniforms, then two-body splits peeling off the last body. */
static void s_phase_space(struct sim_rng *r, struct kin_p4 p, unsigned n, const double *m,
                          struct kin_p4 *ret)
{
        double u[SIM_MAX_PARTICLES], sub[SIM_MAX_PARTICLES];
        double sum = 0.0, total = kin_p4_m(p), kinetic;
        struct kin_p4 rest = p;

        if (n == 1) {
                ret[0] = p;
                return;
        }
        for (unsigned i = 0; i < n; i++)
                sum += m[i];
        kinetic = fmax(0.0, total - sum);
        u[0] = 0.0;
        u[n - 1] = 1.0;
        for (unsigned i = 1; i + 1 < n; i++) {
                double x = sim_rng_uniform(r);
                unsigned j = i;

                while (j > 1 && u[j - 1] > x) {
                        u[j] = u[j - 1];
                        j--;
                }
                u[j] = x;
        }
        sum = 0.0;
        for (unsigned i = 0; i < n; i++) {
                sum += m[i];
                sub[i] = sum + u[i] * kinetic;
        }
        for (unsigned k = n - 1; k >= 1; k--)
                s_two_body(r, rest, sub[k - 1], m[k], &rest, &ret[k]);
        ret[0] = rest;
}

/* ---- the event ---- */

struct species {
        enum sim_kind kind;
        int charge;
        double mass;
        double ctau_cm;
};

static const struct species MU_MINUS = { SIM_MUON, -1, KIN_M_MU, 0 };
static const struct species MU_PLUS = { SIM_MUON, +1, KIN_M_MU, 0 };
static const struct species PI_MINUS = { SIM_PION, -1, KIN_M_PI, 0 };
static const struct species PI_PLUS = { SIM_PION, +1, KIN_M_PI, 0 };
static const struct species E_MINUS = { SIM_ELECTRON, -1, KIN_M_E, 0 };
static const struct species E_PLUS = { SIM_ELECTRON, +1, KIN_M_E, 0 };
static const struct species PHOTON = { SIM_PHOTON, 0, 0.0, 0 };
static const struct species NU = { SIM_INVISIBLE, 0, 0.0, 0 };

static struct species s_sp(enum sim_kind kind, int charge, double mass, double ctau_cm)
{
        return (struct species){ kind, charge, mass, ctau_cm };
}

static struct species s_charged(enum sim_kind kind, int charge)
{
        double m = kind == SIM_ELECTRON ? KIN_M_E : kind == SIM_MUON ? KIN_M_MU :
                   kind == SIM_KAON ? KIN_M_K : kind == SIM_PROTON ? KIN_M_P : KIN_M_PI;

        return s_sp(kind, charge, m, 0.0);
}

static int s_add(struct sim_event *ev, struct species sp, struct kin_p4 p, int parent)
{
        struct sim_particle *x;

        if (ev->n_part >= SIM_MAX_PARTICLES)
                return -1;      /* cannot happen with these processes */
        x = &ev->part[ev->n_part];
        *x = (struct sim_particle){ .kind = sp.kind, .charge = sp.charge,
                                    .mass_gev = sp.mass, .p = p, .parent = parent,
                                    .ctau_cm = sp.ctau_cm };
        return (int)ev->n_part++;
}

static void s_param(struct sim_event *ev, const char *key, double value)
{
        if (ev->n_params < SIM_MAX_PARAMS)
                ev->params[ev->n_params++] = (struct sim_param){ key, NULL, value };
}

static void s_param_str(struct sim_event *ev, const char *key, const char *str)
{
        if (ev->n_params < SIM_MAX_PARAMS)
                ev->params[ev->n_params++] = (struct sim_param){ key, str, 0.0 };
}

/* Phase space of p into n species, appended with the given parent; indices
 * of the new particles into idx (may be NULL). */
static void s_split(struct sim_event *ev, struct sim_rng *r, struct kin_p4 p, int parent,
                    unsigned n, const struct species *sp, int *idx)
{
        double m[SIM_MAX_PARTICLES];
        struct kin_p4 out[SIM_MAX_PARTICLES];

        for (unsigned i = 0; i < n; i++)
                m[i] = sp[i].mass;
        s_phase_space(r, p, n, m, out);
        for (unsigned i = 0; i < n; i++) {
                int k = s_add(ev, sp[i], out[i], parent);

                if (idx)
                        idx[i] = k;
        }
}

/* Decays particle i (already SIM_DECAYED) into n species. */
static void s_decay(struct sim_event *ev, struct sim_rng *r, int i, unsigned n,
                    const struct species *sp, int *idx)
{
        if (i >= 0)
                s_split(ev, r, ev->part[i].p, i, n, sp, idx);
}

static struct kin_p4 s_cms(const struct sim_gen *g)
{
        return (struct kin_p4){ g->beams.sqrt_s, 0.0, 0.0, 0.0 };
}

static double s_mass(const struct sim_gen *g, double def)
{
        return isnan(g->mass_gev) ? def : g->mass_gev;
}

/* tau (index t) -> one charged particle + neutrinos. */
static void s_tau_one_prong(struct sim_event *ev, struct sim_rng *r, int t)
{
        int q = ev->part[t].charge;
        double u = sim_rng_uniform(r);

        if (u < 0.3) {
                struct species sp[3] = { s_charged(SIM_ELECTRON, q), NU, NU };
                s_decay(ev, r, t, 3, sp, NULL);
        } else if (u < 0.6) {
                struct species sp[3] = { s_charged(SIM_MUON, q), NU, NU };
                s_decay(ev, r, t, 3, sp, NULL);
        } else {
                struct species sp[2] = { s_charged(SIM_PION, q), NU };
                s_decay(ev, r, t, 2, sp, NULL);
        }
}

static void s_gen_zprime(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        static const double masses[3] = { 1.0, 3.0, 6.0 };
        double m = s_mass(g, masses[sim_rng_below(r, 3)]);
        struct species sp[3] = { MU_MINUS, MU_PLUS, s_sp(SIM_INVISIBLE, 0, m, 0) };

        s_param(ev, "m", m);
        s_split(ev, r, s_cms(g), -1, 3, sp, NULL);
}

static void s_gen_mumu(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        double e = exp(sim_rng_range(r, log(0.2), log(3.0)));
        bool lost = sim_rng_uniform(r) < 0.5;
        struct kin_v3 dir;
        struct kin_p4 k, x, mu1, mu2;

        if (lost) {
                /* along either beam, outside every detector */
                double c = cos(sim_rng_range(r, 0.0, 0.03));

                dir = s_dir_beam(g, sim_rng_uniform(r) < 0.5 ? c : -c,
                                 sim_rng_range(r, -SIM_PI, SIM_PI));
        } else {
                /* at a large angle: in the calorimeter */
                for (int tries = 0; tries < 100; tries++) {
                        double th;

                        dir = s_iso(r);
                        th = kin_p4_theta(kin_from_cms(&g->beams, s_p4(dir, e, 0.0)));
                        if (th > ECL_THETA_MIN + 0.05 && th < ECL_THETA_MAX - 0.05)
                                break;
                }
        }
        k = s_p4(dir, e, 0.0);
        x = kin_p4_sub(s_cms(g), k);
        s_two_body(r, x, KIN_M_MU, KIN_M_MU, &mu1, &mu2);
        s_add(ev, MU_MINUS, mu1, -1);
        s_add(ev, MU_PLUS, mu2, -1);
        if (lost) {
                s_add(ev, NU, k, -1);
                s_param(ev, "lost_photon_gev", kin_from_cms(&g->beams, k).e);
        } else {
                s_add(ev, PHOTON, k, -1);
        }
}

static void s_gen_mumutautau(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        double m = s_mass(g, 5.0);
        struct species sp[3] = { MU_MINUS, MU_PLUS, s_sp(SIM_DECAYED, 0, m, 0) };
        struct species taus[2] = { s_sp(SIM_DECAYED, -1, KIN_M_TAU, CTAU_TAU_CM),
                                   s_sp(SIM_DECAYED, +1, KIN_M_TAU, CTAU_TAU_CM) };
        int idx[3], tau[2];

        s_param(ev, "m", m);
        s_split(ev, r, s_cms(g), -1, 3, sp, idx);
        s_decay(ev, r, idx[2], 2, taus, tau);
        s_tau_one_prong(ev, r, tau[0]);
        s_tau_one_prong(ev, r, tau[1]);
}

static void s_gen_fourmu(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        double m = s_mass(g, 2.0);
        struct species sp[3] = { MU_MINUS, MU_PLUS, s_sp(SIM_DECAYED, 0, m, 0) };
        struct species mus[2] = { MU_MINUS, MU_PLUS };
        int idx[3];

        s_param(ev, "m", m);
        s_split(ev, r, s_cms(g), -1, 3, sp, idx);
        s_decay(ev, r, idx[2], 2, mus, NULL);
}

static void s_gen_tau1x3(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        double alpha_m = s_mass(g, 0.5);
        bool with_alpha = sim_rng_uniform(r) < 0.5;
        bool muon = sim_rng_uniform(r) < 0.5;
        int sig_charge = sim_rng_uniform(r) < 0.5 ? -1 : +1;
        double c;
        struct kin_p4 t1, t2;
        int tau_sig, tau_tag;

        do      /* 1 + cos^2 theta */
                c = sim_rng_range(r, -1.0, 1.0);
        while (2.0 * sim_rng_uniform(r) > 1.0 + c * c);
        s_two_body_dir(s_cms(g), KIN_M_TAU, KIN_M_TAU,
                       s_dir_beam(g, c, sim_rng_range(r, -SIM_PI, SIM_PI)), &t1, &t2);
        tau_sig = s_add(ev, s_sp(SIM_DECAYED, sig_charge, KIN_M_TAU, CTAU_TAU_CM), t1, -1);
        tau_tag = s_add(ev, s_sp(SIM_DECAYED, -sig_charge, KIN_M_TAU, CTAU_TAU_CM), t2, -1);

        struct species lep = s_charged(muon ? SIM_MUON : SIM_ELECTRON, sig_charge);
        if (with_alpha) {
                struct species sp[2] = { lep, s_sp(SIM_INVISIBLE, 0, alpha_m, 0) };
                s_decay(ev, r, tau_sig, 2, sp, NULL);
                s_param(ev, "alpha_m", alpha_m);
        } else {
                struct species sp[3] = { lep, NU, NU };
                s_decay(ev, r, tau_sig, 3, sp, NULL);
        }
        s_param_str(ev, "lepton", muon ? "mu" : "e");

        int q = -sig_charge;
        struct species prongs[4] = { s_charged(SIM_PION, q), s_charged(SIM_PION, q),
                                     s_charged(SIM_PION, -q), NU };
        s_decay(ev, r, tau_tag, 4, prongs, NULL);
}

/* The long-lived particle (index s) -> mu+mu- or pi+pi-. */
static void s_decay_pair(struct sim_event *ev, struct sim_rng *r, int s)
{
        bool mu = sim_rng_uniform(r) < 0.5;
        struct species sp[2] = { mu ? MU_MINUS : PI_MINUS, mu ? MU_PLUS : PI_PLUS };

        s_decay(ev, r, s, 2, sp, NULL);
        s_param_str(ev, "daughters", mu ? "mu" : "pi");
}

static void s_add_pi0_decays(struct sim_event *ev, struct sim_rng *r, const int *idx,
                             unsigned from, unsigned to)
{
        static const struct species gg[2] = { { SIM_PHOTON, 0, 0.0, 0 },
                                              { SIM_PHOTON, 0, 0.0, 0 } };

        for (unsigned i = from; i < to; i++)
                s_decay(ev, r, idx[i], 2, gg, NULL);
}

static int s_gen_displaced(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        double m = s_mass(g, 1.0);
        unsigned n_pairs = 1 + (unsigned)sim_rng_below(r, 2);
        unsigned n_pi0 = (unsigned)sim_rng_below(r, 2);
        struct species sp[8];
        int idx[8];
        unsigned n = 0;

        sp[n++] = s_sp(SIM_DECAYED, 0, m, g->ctau_cm);
        for (unsigned i = 0; i < n_pairs; i++) {
                sp[n++] = PI_PLUS;
                sp[n++] = PI_MINUS;
        }
        for (unsigned i = 0; i < n_pi0; i++)
                sp[n++] = s_sp(SIM_DECAYED, 0, M_PI0, 0);
        s_param(ev, "m", m);
        s_split(ev, r, s_cms(g), -1, n, sp, idx);
        s_decay_pair(ev, r, idx[0]);
        s_add_pi0_decays(ev, r, idx, n - n_pi0, n);
        return idx[0];
}

static int s_gen_idm(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        double m = s_mass(g, 0.8);
        struct kin_p4 h, a;
        int hi, ai, chi[2];
        struct species chis[2] = { s_sp(SIM_INVISIBLE, 0, M_CHI1, 0),
                                   s_sp(SIM_DECAYED, 0, M_CHI2, 0) };
        struct species dec[3] = { s_sp(SIM_INVISIBLE, 0, M_CHI1, 0), E_MINUS, E_PLUS };

        s_param(ev, "m_hprime", m);
        s_two_body(r, s_cms(g), m, M_APRIME, &h, &a);
        hi = s_add(ev, s_sp(SIM_DECAYED, 0, m, g->ctau_cm), h, -1);
        ai = s_add(ev, s_sp(SIM_DECAYED, 0, M_APRIME, 0), a, -1);
        s_decay_pair(ev, r, hi);
        s_decay(ev, r, ai, 2, chis, chi);
        s_decay(ev, r, chi[1], 3, dec, NULL);
        return hi;
}

static void s_gen_single_photon(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        double m = s_mass(g, 2.0);
        struct kin_p4 k, a;

        s_param(ev, "m", m);
        s_two_body(r, s_cms(g), 0.0, m, &k, &a);
        s_add(ev, PHOTON, k, -1);
        s_add(ev, s_sp(SIM_INVISIBLE, 0, m, 0), a, -1);
}

static void s_gen_three_photon(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        double m = s_mass(g, 1.0);
        struct kin_p4 k, a;
        struct species gg[2] = { PHOTON, PHOTON };
        int ai;

        s_param(ev, "m", m);
        s_two_body(r, s_cms(g), 0.0, m, &k, &a);
        s_add(ev, PHOTON, k, -1);
        ai = s_add(ev, s_sp(SIM_DECAYED, 0, m, 0), a, -1);
        s_decay(ev, r, ai, 2, gg, NULL);
}

static void s_gen_bhabha(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        /* dsigma/dcos ~ 1/u^2, u = sin^2(theta/2), theta in [0.35, pi - 0.35] */
        double u1 = 0.5 * (1.0 - cos(0.35)), u2 = 0.5 * (1.0 + cos(0.35));
        double inv = 1.0 / u1 - sim_rng_uniform(r) * (1.0 / u1 - 1.0 / u2);
        double c = 1.0 - 2.0 / inv;
        struct kin_p4 e1, e2;

        s_two_body_dir(s_cms(g), KIN_M_E, KIN_M_E,
                       s_dir_beam(g, c, sim_rng_range(r, -SIM_PI, SIM_PI)), &e1, &e2);
        if (sim_rng_uniform(r) < 0.3) {
                /* a photon radiated close to one of them */
                struct kin_p4 *e = sim_rng_uniform(r) < 0.5 ? &e1 : &e2;
                double x = sim_rng_range(r, 0.02, 0.3);
                struct kin_v3 d = s_unit(kin_p4_p3(*e));
                struct kin_v3 kd = s_unit(kin_v3_add(d, s_scale(s_iso(r), 0.05 * sim_rng_uniform(r))));
                struct kin_p4 k = s_p4(kd, x * e->e, 0.0);
                struct kin_v3 rest = kin_v3_sub(kin_p4_p3(*e), kin_p4_p3(k));

                *e = kin_p4_from_p(rest.x, rest.y, rest.z, KIN_M_E);
                s_add(ev, PHOTON, k, -1);
        }
        s_add(ev, E_MINUS, e1, -1);
        s_add(ev, E_PLUS, e2, -1);
}

static void s_gen_qqbar(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        unsigned n_pairs = 1 + (unsigned)sim_rng_below(r, 5);
        unsigned n_pi0 = (unsigned)sim_rng_below(r, 4);
        double v0 = sim_rng_uniform(r);
        struct species sp[24];
        int idx[24];
        unsigned n = 0, first_pi0;
        int v0_index = -1;

        for (unsigned i = 0; i < n_pairs; i++) {
                enum sim_kind k = sim_rng_uniform(r) < 0.15 ? SIM_KAON : SIM_PION;

                sp[n++] = s_charged(k, +1);
                sp[n++] = s_charged(k, -1);
        }
        if (v0 < 0.3)
                sp[n++] = s_sp(SIM_DECAYED, 0, KIN_M_KS, CTAU_KS_CM);
        else if (v0 < 0.4)
                sp[n++] = s_sp(SIM_DECAYED, 0, KIN_M_LAMBDA, CTAU_LAMBDA_CM);
        if (v0 < 0.4)
                v0_index = (int)n - 1;
        first_pi0 = n;
        for (unsigned i = 0; i < n_pi0; i++)
                sp[n++] = s_sp(SIM_DECAYED, 0, M_PI0, 0);
        s_split(ev, r, s_cms(g), -1, n, sp, idx);
        if (v0_index >= 0) {
                int q = sim_rng_uniform(r) < 0.5 ? -1 : +1;
                struct species ks[2] = { PI_PLUS, PI_MINUS };
                struct species lam[2] = { s_charged(SIM_PROTON, q), s_charged(SIM_PION, -q) };

                s_decay(ev, r, idx[v0_index], 2, v0 < 0.3 ? ks : lam, NULL);
        }
        s_add_pi0_decays(ev, r, idx, first_pi0, n);
}

/* ---- set-up and the event loop ---- */

static bool s_mass_ok(unsigned id, double m, double sqrt_s, double *lo, double *hi)
{
        double mm = 2.0 * KIN_M_MU;

        switch (id) {
        case SIM_P_ZPRIME:       *lo = 0.0; *hi = sqrt_s - mm; break;
        case SIM_P_MUMUTAUTAU:   *lo = 2.0 * KIN_M_TAU; *hi = sqrt_s - mm; break;
        case SIM_P_FOURMU:       *lo = mm; *hi = sqrt_s - mm; break;
        case SIM_P_TAU1X3:       *lo = 0.0; *hi = KIN_M_TAU - KIN_M_MU; break;
        case SIM_P_DISPLACED:    *lo = 2.0 * KIN_M_PI; *hi = sqrt_s - 4.0 * KIN_M_PI - 1.0; break;
        case SIM_P_IDM:          *lo = 2.0 * KIN_M_PI; *hi = sqrt_s - M_APRIME - 0.5; break;
        case SIM_P_SINGLE_PHOTON: *lo = 0.0; *hi = sqrt_s - 0.5; break;
        case SIM_P_THREE_PHOTON: *lo = 0.0; *hi = sqrt_s - 0.5; break;
        default:                 return true;   /* takes no mass */
        }
        return m > *lo && m < *hi;
}

int sim_gen_init(struct sim_gen *g, const struct physics_config *cfg, const char *spec,
                 double mass_gev, double ctau_cm, char *err, size_t err_size)
{
        memset(g, 0, sizeof(*g));
        kin_beams_init(&g->beams, cfg->e_her_gev, cfg->e_ler_gev, cfg->crossing_angle_mrad);
        g->axis_cms = s_unit(kin_p4_p3(kin_to_cms(&g->beams, g->beams.her)));
        g->mass_gev = mass_gev;
        g->ctau_cm = ctau_cm;
        int r = sim_process_parse(spec, g->weight, err, err_size);
        if (r < 0)
                return r;
        for (unsigned id = 0; id < SIM_P_COUNT_; id++) {
                double lo, hi;

                g->weight_sum += g->weight[id];
                if (g->weight[id] > 0.0 && !isnan(mass_gev) &&
                    !s_mass_ok(id, mass_gev, g->beams.sqrt_s, &lo, &hi)) {
                        snprintf(err, err_size, "--mass %g: %s needs %.4g < m < %.4g",
                                 mass_gev, sim_process_name(id), lo, hi);
                        return -EINVAL;
                }
        }
        return 0;
}

static unsigned s_pick(const struct sim_gen *g, struct sim_rng *r)
{
        double x = sim_rng_uniform(r) * g->weight_sum;
        unsigned last = 0;

        for (unsigned id = 0; id < SIM_P_COUNT_; id++) {
                if (!(g->weight[id] > 0.0))
                        continue;
                last = id;
                if (x < g->weight[id])
                        return id;
                x -= g->weight[id];
        }
        return last;
}

/* CMS -> lab, then vertices: primaries at the interaction point, each
 * long-lived particle flies |p|/m * ctau * Exp(1) along its momentum. */
static void s_to_lab(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        struct kin_v3 ip = { 0.0, 0.0, SIGMA_Z_IP_CM * sim_rng_gauss(r) };

        for (unsigned i = 0; i < ev->n_part; i++) {
                struct sim_particle *x = &ev->part[i];

                x->p = kin_from_cms(&g->beams, x->p);
                x->v = x->parent >= 0 ? ev->part[x->parent].end : ip;
                x->end = x->v;
                if (x->kind == SIM_DECAYED && x->ctau_cm > 0.0 && x->mass_gev > 0.0) {
                        double p = kin_p4_p(x->p);
                        double len = p / x->mass_gev * x->ctau_cm * sim_rng_exp(r);

                        if (p > 0.0)
                                x->end = kin_v3_add(x->v, s_scale(kin_p4_p3(x->p), len / p));
                }
        }
}

void sim_gen_event(const struct sim_gen *g, struct sim_rng *r, struct sim_event *ev)
{
        unsigned id = s_pick(g, r);
        int vtx = -1;

        ev->process = sim_process_name(id);
        ev->n_params = 0;
        ev->n_part = 0;
        switch (id) {
        case SIM_P_ZPRIME:        s_gen_zprime(g, r, ev); break;
        case SIM_P_MUMU:          s_gen_mumu(g, r, ev); break;
        case SIM_P_MUMUTAUTAU:    s_gen_mumutautau(g, r, ev); break;
        case SIM_P_FOURMU:        s_gen_fourmu(g, r, ev); break;
        case SIM_P_TAU1X3:        s_gen_tau1x3(g, r, ev); break;
        case SIM_P_DISPLACED:     vtx = s_gen_displaced(g, r, ev); break;
        case SIM_P_IDM:           vtx = s_gen_idm(g, r, ev); break;
        case SIM_P_SINGLE_PHOTON: s_gen_single_photon(g, r, ev); break;
        case SIM_P_THREE_PHOTON:  s_gen_three_photon(g, r, ev); break;
        case SIM_P_BHABHA:        s_gen_bhabha(g, r, ev); break;
        default:                  s_gen_qqbar(g, r, ev); break;
        }
        s_to_lab(g, r, ev);
        if (vtx >= 0) {
                struct kin_v3 e = ev->part[vtx].end;

                s_param(ev, "r_xy_cm", hypot(e.x, e.y));
                s_param(ev, "z_cm", e.z);
                s_param(ev, "x_cm", e.x);
                s_param(ev, "y_cm", e.y);
        }
}
