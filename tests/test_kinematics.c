/* SPDX-License-Identifier: Apache-2.0 */
/* test_kinematics: each formula of kinematics.c against values worked out by
 * hand (in the comments) or against an identity that must hold exactly. */
#include <math.h>

#include "check.h"
#include "kinematics.h"

static int close_to(double a, double b, double tol)
{
        return fabs(a - b) <= tol;
}

/* Default beams: a = 41.5 mrad, sin a = 0.0414881, cos a = 0.9991390.
 * P = (11.006 * 0.0414881, 0, 3.002 * 0.9991390) = (0.456617, 0, 2.999415),
 * E = 11.006 (the electron mass moves |p| by 2e-8 only).
 * s = 121.132036 - 0.208499 - 8.996490 = 111.927047, sqrt(s) = 10.57956.
 * beta = -P/E = (-0.0414880, 0, -0.2725255). */
TEST(beams_default)
{
        struct physics_config cfg;
        struct kin_beams b;

        physics_config_default(&cfg);
        kin_beams_from_config(&b, &cfg);
        CHECK(close_to(b.sqrt_s, 10.5796, 1e-4));
        CHECK(close_to(b.beta.x, -0.04149, 1e-5));
        CHECK(b.beta.y == 0.0);
        CHECK(close_to(b.beta.z, -0.27253, 1e-5));
        CHECK(close_to(b.total.e, 11.006, 1e-12));
        /* both beams tilted to +x; HER along +z, LER along -z */
        CHECK(b.her.px > 0 && b.ler.px > 0 && b.her.pz > 0 && b.ler.pz < 0);
        /* |p|^2 + m_e^2 = E^2 */
        CHECK(close_to(kin_p4_m2(b.her), KIN_M_E * KIN_M_E, 1e-12));
}

TEST(boost_to_cms_and_back)
{
        struct kin_beams b;
        struct kin_p4 c, p = { 5.0, 1.0, -2.0, 3.5 }, q;

        kin_beams_init(&b, 7.004, 4.002, 83.0);
        /* the beams' sum is at rest in the CMS, with energy sqrt(s) */
        c = kin_to_cms(&b, b.total);
        CHECK(close_to(c.e, b.sqrt_s, 1e-12));
        CHECK(close_to(c.px, 0, 1e-12) && close_to(c.py, 0, 1e-12) &&
              close_to(c.pz, 0, 1e-12));
        /* the beams are back to back in the CMS, each with sqrt(s)/2 */
        c = kin_to_cms(&b, b.her);
        CHECK(close_to(c.e, b.sqrt_s / 2, 1e-9));
        /* round trip, and the mass is invariant */
        q = kin_from_cms(&b, kin_to_cms(&b, p));
        CHECK(close_to(q.e, p.e, 1e-12) && close_to(q.px, p.px, 1e-12) &&
              close_to(q.py, p.py, 1e-12) && close_to(q.pz, p.pz, 1e-12));
        CHECK(close_to(kin_p4_m2(kin_to_cms(&b, p)), kin_p4_m2(p), 1e-12));
        /* a zero boost changes nothing */
        q = kin_boost(p, (struct kin_v3){ 0, 0, 0 });
        CHECK(q.e == p.e && q.px == p.px);
}

/* A pair made in the CMS: mu1 = (3, 0, 0), mu2 = (0, 3, 0), E = sqrt(9 + m^2)
 * = 3.0018600 each.  Pair: E_q = 2E, |q|^2 = 18, m_q^2 = 4E^2 - 18 = 18 +
 * 4 m_mu^2 = 18.044655.  Recoil: s - 2 sqrt(s) E_q + m_q^2 = 111.927044 -
 * 4 * 10.5795578 * 3.0018600 + 18.044655 = 2.93829. */
TEST(recoil_mass_known_pair)
{
        struct kin_beams b;
        struct kin_p4 p[2];
        double e = sqrt(9.0 + KIN_M_MU * KIN_M_MU);
        double expect;

        kin_beams_init(&b, 7.004, 4.002, 83.0);
        p[0] = kin_from_cms(&b, kin_p4_from_p(3, 0, 0, KIN_M_MU));
        p[1] = kin_from_cms(&b, kin_p4_from_p(0, 3, 0, KIN_M_MU));
        expect = b.sqrt_s * b.sqrt_s - 2 * b.sqrt_s * 2 * e + 18 + 4 * KIN_M_MU * KIN_M_MU;
        CHECK(close_to(kin_recoil_m2(&b, p, 2), expect, 1e-9));
        CHECK(close_to(expect, 2.93829, 1e-5));
        /* recoil against nothing is s */
        CHECK(close_to(kin_recoil_m2(&b, p, 0), b.sqrt_s * b.sqrt_s, 1e-9));
}

TEST(masses_clamped)
{
        /* a spacelike vector has m2 < 0 and mass 0, never NaN */
        struct kin_p4 a = { 1.0, 2.0, 0, 0 };

        CHECK(kin_p4_m2(a) == -3.0);
        CHECK(kin_p4_m(a) == 0.0);
        CHECK(close_to(kin_p4_m(kin_p4_from_p(0.3, -0.4, 1.2, KIN_M_PI)), KIN_M_PI, 1e-12));
        CHECK(kin_acos(1.0000000000000002) == 0.0);
        CHECK(kin_acos(-1.5) == acos(-1.0));
}

TEST(theta_of_momentum)
{
        CHECK(close_to(kin_p4_theta((struct kin_p4){ 1, 1, 0, 0 }), M_PI / 2, 1e-15));
        CHECK(kin_p4_theta((struct kin_p4){ 1, 0, 0, 1 }) == 0.0);
        CHECK(close_to(kin_p4_theta((struct kin_p4){ 1, 0, 1, -1 }), 3 * M_PI / 4, 1e-15));
}

/* pt = 1 GeV in 1.5 T: rho = 1 / (0.299792458 * 1.5) * 100 = 222.376063 cm.
 * At r = 125: alpha = asin(125 / 444.752127) = asin(0.2810553) = 0.2848937.
 * pz = 0: z = 0, theta = pi/2; pz = 1: z = 2 rho alpha = 126.70708, theta =
 * atan2(125, 126.70708) = 0.778616. */
TEST(helix_crossing)
{
        struct kin_crossing c;

        CHECK(close_to(kin_helix_radius_cm(1.0, 1.5), 222.376063, 1e-6));
        REQUIRE(kin_helix_cross(1.0, 0.0, 0.3, +1, 1.5, 125.0, &c));
        CHECK(close_to(c.phi, 0.3 - 0.2848937, 1e-7));
        CHECK(close_to(c.theta, M_PI / 2, 1e-15));
        CHECK(c.z_cm == 0.0);
        REQUIRE(kin_helix_cross(1.0, 1.0, 0.3, -1, 1.5, 125.0, &c));
        CHECK(close_to(c.phi, 0.3 + 0.2848937, 1e-7));
        CHECK(close_to(c.z_cm, 126.70708, 1e-5));
        CHECK(close_to(c.theta, 0.778616, 1e-6));
        /* r = 2 rho is reached (alpha = pi/2); beyond it never */
        CHECK(kin_helix_cross(1.0, 0.0, 0.0, 1, 1.5, 2 * kin_helix_radius_cm(1.0, 1.5), &c));
        CHECK(close_to(c.phi, -M_PI / 2, 1e-12));
        CHECK(!kin_helix_cross(1.0, 0.0, 0.0, 1, 1.5, 500.0, &c));
        CHECK(!kin_helix_cross(0.0, 1.0, 0.0, 1, 1.5, 125.0, &c));
}

TEST(angular_distance)
{
        CHECK(kin_angle(1.0, 0.5, 1.0, 0.5) == 0.0);
        CHECK(close_to(kin_angle(M_PI / 2, 0, M_PI / 2, M_PI / 2), M_PI / 2, 1e-15));
        CHECK(close_to(kin_angle(0.3, 0.1, M_PI - 0.3, 0.1 + M_PI), M_PI, 1e-7));
        /* (pi/2, 0) to (pi/2 - 0.05, 0): 0.05 */
        CHECK(close_to(kin_angle(M_PI / 2, 0, M_PI / 2 - 0.05, 0), 0.05, 1e-12));
        /* phi differing by 2 pi is the same direction */
        CHECK(close_to(kin_angle(1.0, 3.0, 1.0, 3.0 - 2 * M_PI), 0.0, 1e-7));
}

/* kin_sincos_near stays within 1e-15 of libm over |x| <= 8, at every
 * quadrant boundary, at the end points and at random points. */
TEST(sincos_near)
{
        static const double edges[] = { 0.0, M_PI / 4, M_PI / 2, 3 * M_PI / 4, M_PI,
                                         5 * M_PI / 4, 3 * M_PI / 2, 2 * M_PI, 5 * M_PI / 2,
                                         8.0 };
        double worst = 0.0;

        for (double x = -8.0; x <= 8.0; x += 3.3e-6) {
                double s, c;

                kin_sincos_near(x, &s, &c);
                worst = fmax(worst, fmax(fabs(s - sin(x)), fabs(c - cos(x))));
        }
        for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
                for (int sign = -1; sign <= 1; sign += 2) {
                        double x = sign * edges[i];

                        for (int k = 0; k < 40; k++) {
                                double s, c;

                                kin_sincos_near(x, &s, &c);
                                worst = fmax(worst, fmax(fabs(s - sin(x)), fabs(c - cos(x))));
                                x = nextafter(x, 100.0 * sign);
                        }
                }
        }
        /* random points, and the reduced argument's ends (x near odd
         * multiples of pi/4), where the minimax polynomials err most */
        for (unsigned long i = 0, st = 88172645463325252ul; i < 2000000; i++) {
                double x, s, c;

                st ^= st << 13;
                st ^= st >> 7;
                st ^= st << 17;
                x = (double)(st >> 11) / 9007199254740992.0 * 16.0 - 8.0;
                if (i & 1)
                        x = (2.0 * (double)(long)(x / (M_PI / 4) / 2.0) + 1.0) * (M_PI / 4) +
                            (x - trunc(x)) * 1e-6;
                if (fabs(x) > 8.0)
                        continue;
                kin_sincos_near(x, &s, &c);
                worst = fmax(worst, fmax(fabs(s - sin(x)), fabs(c - cos(x))));
        }
        CHECK(worst < 1e-15);
}

TEST(thrust_back_to_back)
{
        struct kin_v3 p[2] = { { 1, 2, 3 }, { -1, -2, -3 } }, axis;
        double t = kin_thrust(p, 2, &axis);

        CHECK(close_to(t, 1.0, 1e-15));
        /* the last vector is fixed +: the axis is along p[1] */
        CHECK(close_to(kin_v3_dot(axis, p[1]), sqrt(14.0), 1e-12));
}

TEST(thrust_three_vectors)
{
        /* (1,0,0), (-1,0,0), (0,1,0): best |sum| = |(-2, 1, 0)| (flip the
         * first) = sqrt 5; sum |p| = 3, T = sqrt(5)/3 = 0.745356 */
        struct kin_v3 p[3] = { { 1, 0, 0 }, { -1, 0, 0 }, { 0, 1, 0 } }, axis;

        CHECK(close_to(kin_thrust(p, 3, &axis), sqrt(5.0) / 3, 1e-15));
        CHECK(close_to(axis.x, -2 / sqrt(5.0), 1e-15) && close_to(axis.y, 1 / sqrt(5.0), 1e-15));
}

TEST(thrust_tie_takes_first)
{
        /* (1,0,0), (0,1,0): assignments 0 -> (1,1), 1 -> (-1,1), both sqrt 2:
         * the first strictly largest, assignment 0, wins */
        struct kin_v3 p[2] = { { 1, 0, 0 }, { 0, 1, 0 } }, axis;

        CHECK(close_to(kin_thrust(p, 2, &axis), sqrt(2.0) / 2, 1e-15));
        CHECK(axis.x > 0 && axis.y > 0);
}

TEST(thrust_keeps_first_twelve)
{
        struct kin_v3 p[14], axis;

        for (int i = 0; i < 12; i++)
                p[i] = (struct kin_v3){ 1, 0, 0 };
        /* the 13th and 14th would change the sum: they are not used */
        p[12] = (struct kin_v3){ 0, 1, 0 };
        p[13] = (struct kin_v3){ 0, 1, 0 };
        CHECK(kin_thrust(p, 14, &axis) == 1.0);
        CHECK(axis.x == 1.0 && axis.y == 0.0);
        CHECK(kin_thrust(p, 0, &axis) == 0.0);
}

/* A circle of centre (cx, cy) and radius rho crafted directly as a helix
 * (q = +1, pz = 0, so z = z0 everywhere); the geometry tests use a turn cut
 * of 4 rad so that every point is reachable. */
static struct kin_helix circle(double cx, double cy, double rho, double z0)
{
        struct kin_helix h = { 0 };

        h.q = +1;
        h.rho_cm = rho;
        h.cx = cx;
        h.cy = cy;
        h.pt = 1.0;
        h.pz = 0.0;
        h.z0_cm = z0;
        h.phi0 = 0.0;
        return h;
}

static const struct kin_vertex_cuts loose = { 4.0, 1e9, 0.0, 1e9 };

TEST(vertex_circles_crossing)
{
        /* C1 = (0,0), C2 = (12,0), radii 10: h0 = 6, h = 8, points (6, +-8);
         * z equal: the + point (6, 8) is kept; r_xy 10, doca 0 */
        struct kin_helix a = circle(0, 0, 10, 1.0), b = circle(12, 0, 10, 1.0);
        struct kin_vertex v;

        REQUIRE(kin_helix_vertex(&a, &b, &loose, &v));
        CHECK(close_to(v.x_cm, 6, 1e-12) && close_to(v.y_cm, 8, 1e-12));
        CHECK(close_to(v.r_xy_cm, 10, 1e-12));
        CHECK(v.doca_cm == 0.0);
        CHECK(v.z_cm == 1.0);
}

TEST(vertex_circles_tangent)
{
        /* d = rho1 + rho2 exactly: crossing, h = 0, the single point (10, 0) */
        struct kin_helix a = circle(0, 0, 10, 0), b = circle(20, 0, 10, 0);
        struct kin_vertex v;

        REQUIRE(kin_helix_vertex(&a, &b, &loose, &v));
        CHECK(close_to(v.x_cm, 10, 1e-12) && close_to(v.y_cm, 0, 1e-12));
        CHECK(v.doca_cm == 0.0);
}

TEST(vertex_circles_apart)
{
        /* C2 = (25, 0): points (10, 0) and (15, 0), gap 5, vertex (12.5, 0);
         * z0 differ by 12: doca = sqrt(25 + 144) = 13 */
        struct kin_helix a = circle(0, 0, 10, 0), b = circle(25, 0, 10, 12);
        struct kin_vertex v;

        REQUIRE(kin_helix_vertex(&a, &b, &loose, &v));
        CHECK(close_to(v.x_cm, 12.5, 1e-12) && close_to(v.y_cm, 0, 1e-12));
        CHECK(close_to(v.doca_cm, 13, 1e-12));
        CHECK(close_to(v.z_cm, 6, 1e-12));
}

TEST(vertex_circles_nested)
{
        /* C1 = (0,0) rho 10, C2 = (2,0) rho 3: d = 2 < 7; sigma = +1: points
         * (10, 0) and (5, 0), gap 7 - 2 = 5, vertex (7.5, 0) */
        struct kin_helix a = circle(0, 0, 10, 0), b = circle(2, 0, 3, 0);
        struct kin_vertex v;

        REQUIRE(kin_helix_vertex(&a, &b, &loose, &v));
        CHECK(close_to(v.x_cm, 7.5, 1e-12) && close_to(v.y_cm, 0, 1e-12));
        CHECK(close_to(v.doca_cm, 5, 1e-12));
        /* swapped, sigma = -1 and u = (-1, 0): C1 - rho1 u = (5, 0) and
         * C2 - rho2 u = (10, 0), the same vertex */
        REQUIRE(kin_helix_vertex(&b, &a, &loose, &v));
        CHECK(close_to(v.x_cm, 7.5, 1e-12) && close_to(v.doca_cm, 5, 1e-12));
        /* same centre: no vertex */
        b = circle(0, 0, 3, 0);
        CHECK(!kin_helix_vertex(&a, &b, &loose, &v));
}

TEST(vertex_cuts_drop_points)
{
        struct kin_helix a = circle(0, 0, 10, 0), b = circle(12, 0, 10, 0);
        struct kin_vertex v;
        struct kin_vertex_cuts c = loose;

        /* r_xy = 10 for both crossing points: an r_xy window above drops both */
        c.rxy_min_cm = 10.5;
        CHECK(!kin_helix_vertex(&a, &b, &c, &v));
        /* inclusive at the edge */
        c.rxy_min_cm = 10.0 - 1e-12;
        CHECK(kin_helix_vertex(&a, &b, &c, &v));
        /* a doca cut: apart by 5 */
        b = circle(25, 0, 10, 0);
        c = loose;
        c.doca_max_cm = 5.0;
        CHECK(kin_helix_vertex(&a, &b, &c, &v));
        c.doca_max_cm = nextafter(5.0, 0);
        CHECK(!kin_helix_vertex(&a, &b, &c, &v));
}

TEST(helix_alpha_and_position)
{
        /* A real track: pt 1 GeV, phi0 = 0.4, q = -1, d0 = 0.1 cm, z0 = 0.5,
         * pz = 0.5: the point turned by 0.3 lies on the circle, is found
         * back at alpha 0.3, with direction phi0 - q alpha = 0.7 and z =
         * z0 + rho * 0.3 * 0.5 = 0.5 + 33.356 */
        struct kin_helix h;
        struct kin_v3 x;
        double phi;

        kin_helix_init(&h, cos(0.4), sin(0.4), 0.5, 0.1, 0.5, -1, 1.5);
        x = kin_helix_at(&h, 0.0);
        CHECK(close_to(x.x, 0.1 * sin(0.4), 1e-12) && close_to(x.y, -0.1 * cos(0.4), 1e-12));
        x = kin_helix_at(&h, 0.3);
        CHECK(close_to(hypot(x.x - h.cx, x.y - h.cy), h.rho_cm, 1e-9));
        CHECK(close_to(kin_helix_alpha(&h, x.x, x.y, &phi), 0.3, 1e-12));
        CHECK(close_to(phi, 0.7, 1e-12));
        CHECK(close_to(x.z, 0.5 + h.rho_cm * 0.15, 1e-9));
        /* backwards is negative, and folding keeps alpha in (-pi, pi] */
        x = kin_helix_at(&h, -0.2);
        CHECK(close_to(kin_helix_alpha(&h, x.x, x.y, NULL), -0.2, 1e-12));
        x = kin_helix_at(&h, 3.0);
        CHECK(close_to(kin_helix_alpha(&h, x.x, x.y, NULL), 3.0, 1e-12));
        x = kin_helix_at(&h, -3.5);
        CHECK(close_to(kin_helix_alpha(&h, x.x, x.y, NULL), 2 * M_PI - 3.5, 1e-12));
}

TEST_MAIN()
