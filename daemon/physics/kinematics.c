/* SPDX-License-Identifier: Apache-2.0 */
/* kinematics: daemon/physics/README.md's formulas as plain functions of doubles.  Written
 * in the order daemon/physics/README.md states them so that an independent implementation
 * of the page agrees to rounding; no -ffast-math, libm only. */
#include "kinematics.h"

#include <math.h>

struct kin_p4 kin_p4_massless(double e, double theta, double phi)
{
        double st = sin(theta);

        return (struct kin_p4){ e, e * st * cos(phi), e * st * sin(phi), e * cos(theta) };
}

double kin_p4_theta(struct kin_p4 a)
{
        return atan2(hypot(a.px, a.py), a.pz);
}

double kin_acos(double x)
{
        if (x > 1.0)
                x = 1.0;
        else if (x < -1.0)
                x = -1.0;
        else if (x != x)
                return x;
        return acos(x);
}

void kin_beams_init(struct kin_beams *ret, double e_her_gev, double e_ler_gev,
                    double crossing_angle_mrad)
{
        double a = crossing_angle_mrad * 1e-3 / 2.0;
        double p_her = sqrt(fmax(e_her_gev * e_her_gev - KIN_M_E * KIN_M_E, 0.0));
        double p_ler = sqrt(fmax(e_ler_gev * e_ler_gev - KIN_M_E * KIN_M_E, 0.0));

        ret->her = (struct kin_p4){ e_her_gev, p_her * sin(a), 0.0, p_her * cos(a) };
        ret->ler = (struct kin_p4){ e_ler_gev, p_ler * sin(a), 0.0, -p_ler * cos(a) };
        ret->total = kin_p4_add(ret->her, ret->ler);
        ret->sqrt_s = kin_p4_m(ret->total);
        if (ret->total.e > 0)
                ret->beta = (struct kin_v3){ -ret->total.px / ret->total.e,
                                             -ret->total.py / ret->total.e,
                                             -ret->total.pz / ret->total.e };
        else
                ret->beta = (struct kin_v3){ 0, 0, 0 };
}

void kin_beams_from_config(struct kin_beams *ret, const struct physics_config *cfg)
{
        kin_beams_init(ret, cfg->e_her_gev, cfg->e_ler_gev, cfg->crossing_angle_mrad);
}

struct kin_p4 kin_boost(struct kin_p4 p, struct kin_v3 b)
{
        double b2 = b.x * b.x + b.y * b.y + b.z * b.z;
        double bp = b.x * p.px + b.y * p.py + b.z * p.pz;
        double gamma, gamma2;

        if (!(b2 > 0.0) || !(b2 < 1.0))
                return p;
        gamma = 1.0 / sqrt(1.0 - b2);
        gamma2 = (gamma - 1.0) / b2;
        return (struct kin_p4){
                gamma * (p.e + bp),
                p.px + gamma2 * bp * b.x + gamma * b.x * p.e,
                p.py + gamma2 * bp * b.y + gamma * b.y * p.e,
                p.pz + gamma2 * bp * b.z + gamma * b.z * p.e,
        };
}

struct kin_p4 kin_to_cms(const struct kin_beams *b, struct kin_p4 p)
{
        return kin_boost(p, b->beta);
}

struct kin_p4 kin_from_cms(const struct kin_beams *b, struct kin_p4 p)
{
        return kin_boost(p, (struct kin_v3){ -b->beta.x, -b->beta.y, -b->beta.z });
}

double kin_recoil_m2(const struct kin_beams *b, const struct kin_p4 *p, size_t n)
{
        struct kin_p4 r = b->total;

        for (size_t i = 0; i < n; i++)
                r = kin_p4_sub(r, p[i]);
        return kin_p4_m2(r);
}

double kin_helix_radius_cm(double pt_gev, double b_field_t)
{
        return pt_gev / (KIN_C_LIGHT * b_field_t) * 100.0;
}

bool kin_helix_cross(double pt_gev, double pz_gev, double phi0, int charge,
                     double b_field_t, double r_cm, struct kin_crossing *ret)
{
        double rho = kin_helix_radius_cm(pt_gev, b_field_t);
        double alpha, z;

        if (!(pt_gev > 0.0) || !(rho > 0.0) || !(r_cm <= 2.0 * rho))
                return false;
        alpha = asin(r_cm / (2.0 * rho));
        z = 2.0 * rho * alpha * pz_gev / pt_gev;
        ret->phi = phi0 - charge * alpha;
        ret->z_cm = z;
        ret->theta = atan2(r_cm, z);
        return true;
}

double kin_angle(double theta1, double phi1, double theta2, double phi2)
{
        return kin_acos(sin(theta1) * sin(theta2) * cos(phi1 - phi2) +
                        cos(theta1) * cos(theta2));
}

double kin_thrust(const struct kin_v3 *p, size_t n, struct kin_v3 *ret_axis)
{
        struct kin_v3 best_sum = { 0, 0, 0 };
        double best = -1.0, total = 0.0;
        unsigned long n_assign;

        if (n > KIN_THRUST_MAX)
                n = KIN_THRUST_MAX;
        if (ret_axis)
                *ret_axis = (struct kin_v3){ 0, 0, 0 };
        if (n == 0)
                return 0.0;
        for (size_t k = 0; k < n; k++)
                total += kin_v3_norm(p[k]);
        n_assign = 1ul << (n - 1);
        for (unsigned long m = 0; m < n_assign; m++) {
                struct kin_v3 s = { 0, 0, 0 };
                double mag;

                for (size_t k = 0; k < n; k++) {
                        if (k < n - 1 && (m >> k & 1ul))
                                s = kin_v3_sub(s, p[k]);
                        else
                                s = kin_v3_add(s, p[k]);
                }
                mag = kin_v3_norm(s);
                if (mag > best) {
                        best = mag;
                        best_sum = s;
                }
        }
        if (!(best > 0.0) || !(total > 0.0))
                return 0.0;
        if (ret_axis)
                *ret_axis = (struct kin_v3){ best_sum.x / best, best_sum.y / best,
                                             best_sum.z / best };
        return best / total;
}

void kin_helix_init(struct kin_helix *ret, double px_gev, double py_gev, double pz_gev,
                    double d0_cm, double z0_cm, int charge, double b_field_t)
{
        ret->pt = hypot(px_gev, py_gev);
        ret->pz = pz_gev;
        ret->phi0 = atan2(py_gev, px_gev);
        ret->d0_cm = d0_cm;
        ret->z0_cm = z0_cm;
        ret->q = charge >= 0 ? 1 : -1;
        ret->rho_cm = kin_helix_radius_cm(ret->pt, b_field_t);
        ret->cx = (d0_cm + ret->q * ret->rho_cm) * sin(ret->phi0);
        ret->cy = (d0_cm + ret->q * ret->rho_cm) * -cos(ret->phi0);
}

struct kin_v3 kin_helix_at(const struct kin_helix *h, double alpha)
{
        double phi = h->phi0 - h->q * alpha;
        double z = h->pt > 0 ? h->z0_cm + h->rho_cm * alpha * h->pz / h->pt : h->z0_cm;

        return (struct kin_v3){ h->cx - h->q * h->rho_cm * sin(phi),
                                h->cy - h->q * h->rho_cm * -cos(phi), z };
}

static double s_fold(double a)
{
        while (a > KIN_PI)
                a -= 2.0 * KIN_PI;
        while (a <= -KIN_PI)
                a += 2.0 * KIN_PI;
        return a;
}

double kin_helix_alpha(const struct kin_helix *h, double x, double y, double *ret_phi)
{
        double s = -h->q * h->rho_cm;
        double wx = (x - h->cx) / s, wy = (y - h->cy) / s;
        double phi = atan2(wx, -wy);

        if (ret_phi)
                *ret_phi = phi;
        return s_fold(h->q * (h->phi0 - phi));
}

struct s_point {
        double x1, y1, x2, y2;          /* the point on each track */
        double gap;
};

/* Fills *v from one candidate pair of points; false if a cut drops it. */
static bool s_try_point(const struct kin_helix *h1, const struct kin_helix *h2,
                        const struct kin_vertex_cuts *cuts, const struct s_point *pt,
                        struct kin_vertex *v, double *ret_dz)
{
        double phi1, phi2, a1, a2, z1, z2, dz;

        a1 = kin_helix_alpha(h1, pt->x1, pt->y1, &phi1);
        a2 = kin_helix_alpha(h2, pt->x2, pt->y2, &phi2);
        if (!(fabs(a1) < cuts->max_turn_rad) || !(fabs(a2) < cuts->max_turn_rad))
                return false;
        z1 = h1->z0_cm + h1->rho_cm * a1 * h1->pz / h1->pt;
        z2 = h2->z0_cm + h2->rho_cm * a2 * h2->pz / h2->pt;
        dz = z1 - z2;
        v->x_cm = (pt->x1 + pt->x2) / 2.0;
        v->y_cm = (pt->y1 + pt->y2) / 2.0;
        v->z_cm = (z1 + z2) / 2.0;
        v->r_xy_cm = hypot(v->x_cm, v->y_cm);
        v->doca_cm = sqrt(pt->gap * pt->gap + dz * dz);
        v->phi1 = phi1;
        v->phi2 = phi2;
        *ret_dz = fabs(dz);
        return v->doca_cm <= cuts->doca_max_cm && v->r_xy_cm >= cuts->rxy_min_cm &&
               v->r_xy_cm <= cuts->rxy_max_cm;
}

bool kin_helix_vertex(const struct kin_helix *h1, const struct kin_helix *h2,
                      const struct kin_vertex_cuts *cuts, struct kin_vertex *ret)
{
        double r1 = h1->rho_cm, r2 = h2->rho_cm;
        double dx = h2->cx - h1->cx, dy = h2->cy - h1->cy;
        double d = hypot(dx, dy);
        double ux, uy;
        struct s_point pts[2];
        int n_pts;
        struct kin_vertex best, v;
        double best_dz = 0, dz;
        bool found = false;

        if (!(d > 0.0) || !(h1->pt > 0.0) || !(h2->pt > 0.0) || !isfinite(d))
                return false;
        ux = dx / d;
        uy = dy / d;
        if (fabs(r1 - r2) <= d && d <= r1 + r2) {
                double h0 = (r1 * r1 - r2 * r2 + d * d) / (2.0 * d);
                double h = sqrt(fmax(r1 * r1 - h0 * h0, 0.0));
                double bx = h1->cx + h0 * ux, by = h1->cy + h0 * uy;

                pts[0] = (struct s_point){ bx + h * -uy, by + h * ux,
                                           bx + h * -uy, by + h * ux, 0.0 };
                pts[1] = (struct s_point){ bx - h * -uy, by - h * ux,
                                           bx - h * -uy, by - h * ux, 0.0 };
                n_pts = 2;
        } else if (d > r1 + r2) {
                pts[0] = (struct s_point){ h1->cx + r1 * ux, h1->cy + r1 * uy,
                                           h2->cx - r2 * ux, h2->cy - r2 * uy,
                                           d - r1 - r2 };
                n_pts = 1;
        } else {
                double sg = r1 >= r2 ? 1.0 : -1.0;

                pts[0] = (struct s_point){ h1->cx + sg * r1 * ux, h1->cy + sg * r1 * uy,
                                           h2->cx + sg * r2 * ux, h2->cy + sg * r2 * uy,
                                           fabs(r1 - r2) - d };
                n_pts = 1;
        }
        for (int i = 0; i < n_pts; i++) {
                if (!s_try_point(h1, h2, cuts, &pts[i], &v, &dz))
                        continue;
                if (!found || dz < best_dz) {
                        best = v;
                        best_dz = dz;
                        found = true;
                }
        }
        if (found)
                *ret = best;
        return found;
}
