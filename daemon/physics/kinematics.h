/* SPDX-License-Identifier: Apache-2.0 */
/* kinematics: the formulas of daemon/physics/README.md s.1-s.4 as plain functions: four-
 * vectors, beams and the CMS boost, the helix crossing of a cylinder, angular
 * distance, masses, thrust and the two-track helix vertex.  Pure double
 * arithmetic and libm only; no state, no I/O, no allocation.  Every acos
 * clamps its argument to [-1, 1]; every mass takes sqrt(max(m2, 0)). */
#ifndef DARKDAQ_KINEMATICS_H
#define DARKDAQ_KINEMATICS_H

#include <stdbool.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "physics_config.h"

/* Masses in GeV/c^2 (daemon/physics/README.md s.1). */
#define KIN_M_E         0.00051099895
#define KIN_M_MU        0.1056583755
#define KIN_M_PI        0.13957039
#define KIN_M_K         0.493677
#define KIN_M_P         0.93827208816
#define KIN_M_TAU       1.77686
#define KIN_M_KS        0.497611
#define KIN_M_LAMBDA    1.115683
#define KIN_M_PHI       1.019461

/* pt [GeV/c] = KIN_C_LIGHT * B [T] * rho [m] */
#define KIN_C_LIGHT     0.299792458

#define KIN_PI          3.14159265358979323846

struct kin_v3 {
        double x, y, z;
};

struct kin_p4 {
        double e;                       /* GeV */
        double px, py, pz;              /* GeV/c */
};

/* The colliding beams in the lab, and the boost to their CMS. */
struct kin_beams {
        struct kin_p4 her;              /* electrons, tilted to +x from +z */
        struct kin_p4 ler;              /* positrons, tilted to +x from -z */
        struct kin_p4 total;            /* P_beams = her + ler */
        double sqrt_s;                  /* |P_beams|, GeV */
        struct kin_v3 beta;             /* lab -> CMS boost: -P/E */
};

/* Direction of a track where it crosses a cylinder. */
struct kin_crossing {
        double theta;                   /* rad, 0..pi */
        double phi;                     /* rad, phi0 - q*alpha (not folded) */
        double z_cm;                    /* z of the crossing, track from origin */
};

/* ---- vectors ---- */

/* The small vector functions are inline: the tagger calls them per track. */
static inline struct kin_v3 kin_v3_add(struct kin_v3 a, struct kin_v3 b)
{
        return (struct kin_v3){ a.x + b.x, a.y + b.y, a.z + b.z };
}

static inline struct kin_v3 kin_v3_sub(struct kin_v3 a, struct kin_v3 b)
{
        return (struct kin_v3){ a.x - b.x, a.y - b.y, a.z - b.z };
}

static inline double kin_v3_dot(struct kin_v3 a, struct kin_v3 b)
{
        return a.x * b.x + a.y * b.y + a.z * b.z;
}

static inline double kin_v3_norm(struct kin_v3 a)
{
        return sqrt(a.x * a.x + a.y * a.y + a.z * a.z);
}

static inline struct kin_p4 kin_p4_from_p(double px, double py, double pz, double m)
{
        double p2 = px * px + py * py + pz * pz;

        return (struct kin_p4){ sqrt(p2 + m * m), px, py, pz };
}

static inline struct kin_p4 kin_p4_add(struct kin_p4 a, struct kin_p4 b)
{
        return (struct kin_p4){ a.e + b.e, a.px + b.px, a.py + b.py, a.pz + b.pz };
}

static inline struct kin_p4 kin_p4_sub(struct kin_p4 a, struct kin_p4 b)
{
        return (struct kin_p4){ a.e - b.e, a.px - b.px, a.py - b.py, a.pz - b.pz };
}

static inline struct kin_v3 kin_p4_p3(struct kin_p4 a)
{
        return (struct kin_v3){ a.px, a.py, a.pz };
}

static inline double kin_p4_p(struct kin_p4 a)
{
        return sqrt(a.px * a.px + a.py * a.py + a.pz * a.pz);
}

static inline double kin_p4_m2(struct kin_p4 a)
{
        return a.e * a.e - (a.px * a.px + a.py * a.py + a.pz * a.pz);
}

static inline double kin_p4_m(struct kin_p4 a)
{
        return sqrt(fmax(kin_p4_m2(a), 0.0));
}

/* Massless, energy e along (theta, phi). */
struct kin_p4 kin_p4_massless(double e, double theta, double phi);
/* Lab polar angle of the momentum: atan2(hypot(px, py), pz). */
double kin_p4_theta(struct kin_p4 a);

/* acos of x clamped to [-1, 1]. */
double kin_acos(double x);

/* ---- beams and frames ---- */

/* Beams of energies e_her, e_ler (electron mass), each tilted by half the
 * crossing angle.  Defaults give sqrt_s ~ 10.5796, beta ~ (-0.04149, 0,
 * -0.27253). */
void kin_beams_init(struct kin_beams *ret, double e_her_gev, double e_ler_gev,
                    double crossing_angle_mrad);
void kin_beams_from_config(struct kin_beams *ret, const struct physics_config *cfg);

/* Pure boost of p by velocity beta (|beta| < 1), as ROOT's Boost(beta): a
 * particle at rest before moves with velocity +beta after. */
struct kin_p4 kin_boost(struct kin_p4 p, struct kin_v3 beta);
/* Lab -> CMS and CMS -> lab. */
struct kin_p4 kin_to_cms(const struct kin_beams *b, struct kin_p4 p);
struct kin_p4 kin_from_cms(const struct kin_beams *b, struct kin_p4 p);

/* (P_beams - sum of p[0..n))^2, may be negative. */
double kin_recoil_m2(const struct kin_beams *b, const struct kin_p4 *p, size_t n);

/* ---- tracks ---- */

/* Helix radius in cm of transverse momentum pt in field b: pt/(0.2998 B)*100. */
double kin_helix_radius_cm(double pt_gev, double b_field_t);

/* Where a track of transverse momentum pt, longitudinal pz, azimuth phi0 and
 * charge q, started at the origin, crosses the cylinder of radius r_cm.
 * Returns false (ret untouched) when it never reaches it (r > 2 rho, or
 * pt not > 0). */
bool kin_helix_cross(double pt_gev, double pz_gev, double phi0, int charge,
                     double b_field_t, double r_cm, struct kin_crossing *ret);

/* sin and cos of x, |x| <= 8, each within 1e-15 of the true value but not
 * libm's rounding: for numbers that need only be near, such as the unit
 * vectors with which reco decides the clear cases of matching.  Inline and
 * branch-free: reco calls it twice per cluster and muon, on angles whose
 * quadrant is random.
 *
 * x = k pi/2 + r with |r| <= pi/4 (plus rounding): k pi/2 in two parts
 * (fdlibm's pio2_1, 33 bits, so k * PIO2_1 is exact, and its tail), then
 * fdlibm's minimax polynomials of __kernel_sin and __kernel_cos, whose
 * approximation error is below 2^-58 on [-pi/4, pi/4]; with the rounding of
 * the evaluation both stay within a few 1e-16 (tests/test_kinematics.c). */
static inline void kin_sincos_near(double x, double *ret_sin, double *ret_cos)
{
        static const double PIO2_1 = 1.57079632673412561417e+00;
        static const double PIO2_1T = 6.07710050650619224932e-11;
        static const double ROUND = 6755399441055744.0;         /* 1.5 * 2^52 */
        static const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                            S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                            S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
        static const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                            C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                            C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
        double k = (x * 0.63661977236758134308 + ROUND) - ROUND;
        double r = (x - k * PIO2_1) - k * PIO2_1T;
        double z = r * r, z2 = z * z;
        /* Estrin's scheme: shorter dependency chains than Horner's. */
        double ps = (S1 + z * S2) + z2 * ((S3 + z * S4) + z2 * (S5 + z * S6));
        double pc = (C1 + z * C2) + z2 * ((C3 + z * C4) + z2 * (C5 + z * C6));
        double s = r + r * z * ps;
        double c = 1.0 - (0.5 * z - z2 * pc);
        uint64_t q = (uint64_t)(int64_t)k;
        uint64_t bs, bc, swap = -(q & 1), t;

        /* quadrant q: (sin, cos) = (s, c), (c, -s), (-s, -c), (-c, s) */
        memcpy(&bs, &s, sizeof(bs));
        memcpy(&bc, &c, sizeof(bc));
        t = (bs ^ bc) & swap;
        bs ^= t;
        bc ^= t;
        bs ^= (q >> 1 & 1) << 63;
        bc ^= ((q ^ q >> 1) & 1) << 63;
        memcpy(ret_sin, &bs, sizeof(bs));
        memcpy(ret_cos, &bc, sizeof(bc));
}

/* Angle between directions (theta1, phi1) and (theta2, phi2). */
double kin_angle(double theta1, double phi1, double theta2, double phi2);

/* ---- event shape ---- */

/* Thrust of p[0..n) as daemon/physics/README.md s.4 tau_1x3 defines it: the first min(n,
 * KIN_THRUST_MAX) vectors are used (the caller orders them by |p| descending),
 * the last used one's sign fixed +, the first strictly largest |sum +-p| over
 * the 2^(N-1) sign assignments in binary counting order (bit k flips p[k]).
 * Writes the unit axis to *ret_axis (may be NULL; (0,0,0) when the sum is 0)
 * and returns T in [0, 1] (0 when n == 0 or all vectors are 0). */
#define KIN_THRUST_MAX 12
double kin_thrust(const struct kin_v3 *p, size_t n, struct kin_v3 *ret_axis);

/* ---- the two-track vertex (daemon/physics/README.md s.4 displaced_vertex) ---- */

/* A track's helix in the transverse plane. */
struct kin_helix {
        double pt, pz;                  /* GeV/c */
        double phi0;                    /* direction at closest approach */
        double d0_cm, z0_cm;
        int q;                          /* +1 or -1 */
        double rho_cm;                  /* radius */
        double cx, cy;                  /* centre, cm */
};

/* Vertex cuts applied while choosing between the candidate points. */
struct kin_vertex_cuts {
        double max_turn_rad;            /* drop a point reached by |alpha| >= this */
        double doca_max_cm;             /* keep doca <= this */
        double rxy_min_cm, rxy_max_cm;  /* keep r_xy in [min, max] */
};

struct kin_vertex {
        double x_cm, y_cm, z_cm;        /* midpoint of the two points */
        double r_xy_cm;
        double doca_cm;                 /* sqrt(gap^2 + (z1 - z2)^2) */
        double phi1, phi2;              /* each track's direction at its point */
};

void kin_helix_init(struct kin_helix *ret, double px_gev, double py_gev, double pz_gev,
                    double d0_cm, double z0_cm, int charge, double b_field_t);

/* Point on the helix h turned by alpha (alpha > 0 forward): x, y, z. */
struct kin_v3 kin_helix_at(const struct kin_helix *h, double alpha);

/* Turning angle of the helix at point (x, y) on (or nearest to) its circle,
 * folded into (-pi, pi]; *ret_phi gets the direction there (may be NULL). */
double kin_helix_alpha(const struct kin_helix *h, double x, double y, double *ret_phi);

/* The vertex of two helices by circle intersection: crossing, apart or
 * nested circles; candidate points dropped by the cuts; of two, the smaller
 * |z1 - z2| (the + sign on a tie).  Returns false when there is none
 * (including coincident centres). */
bool kin_helix_vertex(const struct kin_helix *h1, const struct kin_helix *h2,
                      const struct kin_vertex_cuts *cuts, struct kin_vertex *ret);

#endif
