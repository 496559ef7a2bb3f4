/* SPDX-License-Identifier: Apache-2.0 */
/* reco: daemon/physics/README.md s.3-s.3.  Matching decides "nearest track crossing
 * within the cut" from the dot products of unit vectors, which need no
 * trigonometry for a track crossing (cos(phi0 - q alpha) expands into px/pt,
 * py/pt and sin alpha = r/2rho); the dot product is daemon/physics/README.md's acos
 * argument to within ~1e-14.  Only when the best candidate is within
 * DOT_SLACK of the cut or of another candidate is daemon/physics/README.md's formula
 * evaluated exactly, so the result is the same as scanning every track with
 * it (tests/test_reco.c checks this).  Big events also look only at the
 * crossings within the cut in polar angle, found by binary search. */
#include "reco.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rounding slack of the window: acos near 1 loses up to ~1e-8 rad. */
#define WINDOW_SLACK_RAD 1e-6
/* Dot products this close to the cut or to each other are decided with
 * daemon/physics/README.md's formula.  Both the dot product and that formula's acos
 * argument are within ~1e-14 of the true cosine for angles of magnitude up
 * to DIR_MAX_RAD, so this leaves a margin of a thousand. */
#define DOT_SLACK 1e-11
/* Records with angles beyond this (never physical) are always decided
 * exactly: the rounding of phi1 - phi2 grows with their size. */
#define DIR_MAX_RAD 8.0
/* Cuts this close to 0 or pi are always decided exactly (cos is flat). */
#define CUT_MARGIN_RAD 1e-4
/* From this many crossings on, a polar-angle window is searched. */
#define WINDOW_MIN_XINGS 32

/* A crossing, with its unit vector; theta is set only in big events. */
struct reco_xing {
        double theta;
        double ux, uy, uz;
        uint32_t track;                 /* good-track index */
};

/* A MUON or CLUSTER record's direction, as daemon/physics/README.md reads it, and the
 * sines and cosines of its unit vector (kin_sincos_near) when fast. */
struct reco_dir {
        double theta, phi;
        double st, ct, sp, cp;
        bool fast;                      /* |angles| <= DIR_MAX_RAD */
};

/* One matching cut: the distance must be < rad. */
struct reco_cut {
        double rad;
        double cos_rad;
        bool fast;                      /* far enough from 0 and pi */
};

void reco_init(struct reco *r)
{
        memset(r, 0, sizeof(*r));
}

/* The crossing arrays live right after the tracks' allocation (see
 * reco_reserve): two struct reco_xing arrays of cap_tracks each. */
static struct reco_xing *s_xing(const struct reco *r, int which)
{
        if (!r->tracks)
                return NULL;
        return (struct reco_xing *)(void *)(r->tracks + r->cap_tracks) + which * r->cap_tracks;
}

void reco_release(struct reco *r)
{
        free(r->tracks);
        free(r->photons);
        free(r->cluster_match);
        reco_init(r);
}

int reco_reserve(struct reco *r, size_t n_tracks, size_t n_clusters)
{
        if (n_tracks > r->cap_tracks) {
                size_t cap = r->cap_tracks ? r->cap_tracks : 16;
                size_t bytes;
                void *p;

                while (cap < n_tracks)
                        cap *= 2;
                if (cap > SIZE_MAX / (sizeof(struct reco_track) + 2 * sizeof(struct reco_xing)))
                        return -ENOMEM;
                bytes = cap * (sizeof(struct reco_track) + 2 * sizeof(struct reco_xing));
                p = malloc(bytes);
                if (!p)
                        return -ENOMEM;
                free(r->tracks);
                r->tracks = p;
                r->cap_tracks = cap;
                r->n_tracks = 0;
        }
        if (n_clusters > r->cap_clusters) {
                size_t cap = r->cap_clusters ? r->cap_clusters : 16;
                void *m, *ph;

                while (cap < n_clusters)
                        cap *= 2;
                if (cap > SIZE_MAX / sizeof(struct reco_photon))
                        return -ENOMEM;
                m = malloc(cap * sizeof(int32_t));
                ph = malloc(cap * sizeof(struct reco_photon));
                if (!m || !ph) {
                        free(m);
                        free(ph);
                        return -ENOMEM;
                }
                free(r->cluster_match);
                free(r->photons);
                r->cluster_match = m;
                r->photons = ph;
                r->cap_clusters = cap;
                r->cap_photons = cap;
                r->n_photons = 0;
        }
        return 0;
}

static bool s_xing_less(const struct reco_xing *a, const struct reco_xing *b)
{
        return a->theta < b->theta || (a->theta == b->theta && a->track < b->track);
}

static void s_sift(struct reco_xing *a, size_t root, size_t n)
{
        for (;;) {
                size_t c = 2 * root + 1;
                struct reco_xing t;

                if (c >= n)
                        return;
                if (c + 1 < n && s_xing_less(&a[c], &a[c + 1]))
                        c++;
                if (!s_xing_less(&a[root], &a[c]))
                        return;
                t = a[root];
                a[root] = a[c];
                a[c] = t;
                root = c;
        }
}

/* Heapsort: in place, no allocation (qsort may allocate). */
static void s_sort(struct reco_xing *a, size_t n)
{
        if (n < 2)
                return;
        for (size_t i = n / 2; i-- > 0;)
                s_sift(a, i, n);
        for (size_t end = n - 1; end > 0; end--) {
                struct reco_xing t = a[0];

                a[0] = a[end];
                a[end] = t;
                s_sift(a, 0, end);
        }
}

/* Big events: the polar angle of each crossing (to well within
 * WINDOW_SLACK_RAD), sorted. */
static void s_window_prepare(struct reco_xing *xs, size_t n)
{
        if (n < WINDOW_MIN_XINGS)
                return;
        for (size_t k = 0; k < n; k++)
                xs[k].theta = atan2(hypot(xs[k].ux, xs[k].uy), xs[k].uz);
        s_sort(xs, n);
}

static struct reco_dir s_dir(double theta, double phi)
{
        struct reco_dir d = { theta, phi, 0, 0, 0, 0,
                              fabs(theta) <= DIR_MAX_RAD && fabs(phi) <= DIR_MAX_RAD };

        if (d.fast) {
                kin_sincos_near(theta, &d.st, &d.ct);
                kin_sincos_near(phi, &d.sp, &d.cp);
        }
        return d;
}

/* The cut's cosine is kept from the last event: the configuration rarely
 * changes and cos() costs as much as matching a cluster.  A NaN rad never
 * compares equal and is recomputed (to the same NaN) every time. */
static struct reco_cut s_cut(struct reco *r, int which, double rad)
{
        if (!r->cuts_cached || r->cut_rad[which] != rad) {
                r->cut_rad[which] = rad;
                r->cut_cos[which] = cos(fmin(rad, KIN_PI));
        }
        return (struct reco_cut){ rad, r->cut_cos[which],
                                  rad >= CUT_MARGIN_RAD && rad <= KIN_PI - CUT_MARGIN_RAD };
}

/* Where track t crosses radius r_cm exactly as daemon/physics/README.md computes it. */
static bool s_exact_crossing(const struct reco_track *t, const struct physics_config *cfg,
                             bool use_klm, struct kin_crossing *ret)
{
        return kin_helix_cross(t->pt, t->pz, atan2(t->py, t->px), t->q, cfg->b_field_t,
                               use_klm ? cfg->r_klm_cm : cfg->r_ecl_cm, ret);
}

/* daemon/physics/README.md's decision over the crossings xs[lo..hi) (all tracks when xs
 * is NULL): the nearest within the cut, ties to the lower index. */
static int32_t s_nearest_exact(const struct reco *r, const struct physics_config *cfg,
                               const struct reco_xing *xs, size_t lo, size_t hi,
                               bool use_klm, const struct reco_dir *v, double cut)
{
        double best = cut;
        int32_t best_i = -1;

        for (size_t k = lo; k < hi; k++) {
                uint32_t i = xs ? xs[k].track : (uint32_t)k;
                const struct reco_track *t = &r->tracks[i];
                struct kin_crossing c;
                double d;

                if (!(use_klm ? t->at_klm : t->at_ecl) || !s_exact_crossing(t, cfg, use_klm, &c))
                        continue;
                d = kin_angle(c.theta, c.phi, v->theta, v->phi);
                if (d < best || (d == best && best_i >= 0 && (int32_t)i < best_i)) {
                        best = d;
                        best_i = (int32_t)i;
                }
        }
        return best_i;
}

/* The good track whose crossing (ecl or klm) is nearest to v, if nearer
 * than the cut; ties to the lower index.  Returns -1 for none. */
static int32_t s_nearest(const struct reco *r, const struct physics_config *cfg,
                         const struct reco_xing *xs, size_t n_xs, bool use_klm,
                         const struct reco_dir *v, const struct reco_cut *cut)
{
        size_t lo = 0, hi = n_xs, best_k = 0;
        double best_x = -INFINITY;
        bool ambiguous = false;
        double vx = v->st * v->cp, vy = v->st * v->sp, vz = v->ct;

        if (!(cut->rad > 0))
                return -1;
        if (n_xs >= WINDOW_MIN_XINGS) {
                double from = v->theta - cut->rad - WINDOW_SLACK_RAD;
                double to = v->theta + cut->rad + WINDOW_SLACK_RAD;

                /* Outside [0, pi] the window bound does not hold. */
                if (!(v->theta >= 0.0 && v->theta <= KIN_PI))
                        return s_nearest_exact(r, cfg, NULL, 0, r->n_tracks, use_klm, v,
                                               cut->rad);
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;

                        if (xs[mid].theta < from)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                for (hi = lo; hi < n_xs && xs[hi].theta <= to; hi++)
                        ;
        }
        for (size_t k = lo; k < hi; k++) {
                double x = xs[k].ux * vx + xs[k].uy * vy + xs[k].uz * vz;

                if (x > best_x) {
                        ambiguous = x - best_x <= DOT_SLACK;
                        best_x = x;
                        best_k = k;
                } else if (best_x - x <= DOT_SLACK) {
                        ambiguous = true;
                }
        }
        if (lo == hi)
                return -1;
        if (v->fast && cut->fast && r->fast_xings) {
                if (best_x < cut->cos_rad - DOT_SLACK)
                        return -1;
                if (best_x > cut->cos_rad + DOT_SLACK && !ambiguous)
                        return (int32_t)xs[best_k].track;
        }
        return s_nearest_exact(r, cfg, xs, lo, hi, use_klm, v, cut->rad);
}

/* Fills x for track t crossing r_cm: the unit vector to the crossing point
 * (r cos phi_c, r sin phi_c, z_c) / |..| with phi_c = phi0 - q alpha
 * expanded (sin alpha = r / 2rho; cos phi0, sin phi0 = px/pt, py/pt) and
 * z_c = 2 rho alpha pz / pt.  False when daemon/physics/README.md says the track never
 * gets there (r > 2 rho), decided exactly as kin_helix_cross() does. */
static bool s_cross(const struct reco_track *t, double rho, double inv_pt, double r_cm,
                    struct reco_xing *x)
{
        double s, alpha, z, ca, cphi, sphi, inv_h;

        if (!(t->pt > 0.0) || !(rho > 0.0) || !(r_cm <= 2.0 * rho))
                return false;
        s = fmin(r_cm * 0.5 / rho, 1.0);
        alpha = asin(s);
        z = 2.0 * rho * alpha * t->pz * inv_pt;
        ca = sqrt((1.0 - s) * (1.0 + s));
        cphi = t->px * inv_pt;
        sphi = t->py * inv_pt;
        inv_h = 1.0 / sqrt(r_cm * r_cm + z * z);
        x->theta = 0.0;
        x->ux = r_cm * (cphi * ca + t->q * sphi * s) * inv_h;
        x->uy = r_cm * (sphi * ca - t->q * cphi * s) * inv_h;
        x->uz = z * inv_h;
        return true;
}

/* Whether a track of helix radius rho reaches r_cm, decided as s_cross()
 * and kin_helix_cross() do. */
static bool s_reaches(double pt, double rho, double r_cm)
{
        return pt > 0.0 && rho > 0.0 && r_cm <= 2.0 * rho;
}

/* The crossings of r_cm into xs, for the good tracks that reach it (at);
 * returns their number.  Only for events with records to match: the
 * crossing costs an asin and two divisions per track. */
static size_t s_crossings(struct reco *r, double r_cm, bool use_klm, struct reco_xing *xs)
{
        size_t n = 0;

        for (size_t i = 0; i < r->n_tracks; i++) {
                const struct reco_track *t = &r->tracks[i];

                if (!(use_klm ? t->at_klm : t->at_ecl))
                        continue;
                s_cross(t, t->rho_cm, 1.0 / t->pt, r_cm, &xs[n]);
                xs[n++].track = (uint32_t)i;
        }
        s_window_prepare(xs, n);
        return n;
}

void reco_run(struct reco *r, const struct physics_config *cfg,
              const struct kin_beams *beams,
              const struct frag_track *tracks, size_t n_tracks,
              const struct frag_cluster *clusters, size_t n_clusters,
              const struct frag_muon *muons, size_t n_muons)
{
        struct reco_xing *ecl = s_xing(r, 0), *klm = s_xing(r, 1);
        size_t n_ecl = 0, n_klm = 0;
        struct reco_cut muon_cut, cluster_cut;

        r->fast_xings = true;
        r->n_tracks = 0;
        r->n_bad_tracks = 0;
        r->n_photons = 0;
        r->charge_sum = 0;
        r->e_extra_gev = 0.0;

        for (size_t i = 0; i < n_tracks; i++) {
                const struct frag_track *f = &tracks[i];
                struct reco_track *t = &r->tracks[r->n_tracks];
                double px = f->px_kev / 1e6, py = f->py_kev / 1e6, pz = f->pz_kev / 1e6;
                double pt = hypot(px, py), rho;

                if (!(pt >= cfg->track_min_pt_gev) || f->n_hits < cfg->track_min_hits) {
                        r->n_bad_tracks++;
                        continue;
                }
                memset(t, 0, sizeof(*t));
                t->index = (uint32_t)i;
                t->q = f->charge;
                t->px = px;
                t->py = py;
                t->pz = pz;
                t->pt = pt;
                t->p = sqrt(px * px + py * py + pz * pz);
                t->d0_cm = f->d0_um / 1e4;
                t->z0_cm = f->z0_um / 1e4;
                t->prompt = fabs(t->d0_cm) < cfg->prompt_d0_cm &&
                            fabs(t->z0_cm) < cfg->prompt_z0_cm;
                rho = kin_helix_radius_cm(pt, cfg->b_field_t);
                t->rho_cm = rho;
                t->at_ecl = s_reaches(pt, rho, cfg->r_ecl_cm);
                t->at_klm = s_reaches(pt, rho, cfg->r_klm_cm);
                if (t->q != 1 && t->q != -1)
                        r->fast_xings = false;
                r->charge_sum += t->q;
                r->n_tracks++;
        }
        /* The crossings only when there is something to match them to. */
        for (size_t i = 0; i < n_muons; i++) {
                if (muons[i].layers >= cfg->muon_min_layers) {
                        n_klm = s_crossings(r, cfg->r_klm_cm, true, klm);
                        break;
                }
        }
        if (n_clusters > 0)
                n_ecl = s_crossings(r, cfg->r_ecl_cm, false, ecl);
        muon_cut = s_cut(r, 0, cfg->muon_match_rad);
        cluster_cut = s_cut(r, 1, cfg->cluster_match_rad);
        r->cuts_cached = true;

        for (size_t i = 0; i < n_muons; i++) {
                struct reco_dir dir;
                int32_t k;

                if (muons[i].layers < cfg->muon_min_layers)
                        continue;
                dir = s_dir(muons[i].theta_urad / 1e6, muons[i].phi_urad / 1e6);
                k = s_nearest(r, cfg, klm, n_klm, true, &dir, &muon_cut);
                if (k >= 0)
                        r->tracks[k].muon = true;
        }

        for (size_t i = 0; i < n_clusters; i++) {
                double e = clusters[i].energy_kev / 1e6;
                struct reco_dir dir = s_dir(clusters[i].theta_urad / 1e6,
                                            clusters[i].phi_urad / 1e6);
                int32_t k = s_nearest(r, cfg, ecl, n_ecl, false, &dir, &cluster_cut);

                r->cluster_match[i] = k;
                if (k >= 0) {
                        r->tracks[k].e_cl_gev += e;
                        continue;
                }
                if (e >= cfg->extra_cluster_min_gev)
                        r->e_extra_gev += e;
                if (e >= cfg->photon_min_gev) {
                        struct reco_photon *g = &r->photons[r->n_photons++];

                        g->cluster = (uint32_t)i;
                        g->e_gev = e;
                        g->p4 = kin_p4_massless(e, dir.theta, dir.phi);
                }
        }

        r->p_miss = beams->total;
        for (size_t i = 0; i < r->n_tracks; i++) {
                struct reco_track *t = &r->tracks[i];

                t->electron = !t->muon && t->p > 0 &&
                              t->e_cl_gev / t->p >= cfg->electron_eop_min;
                t->mass = t->muon ? KIN_M_MU : t->electron ? KIN_M_E : KIN_M_PI;
                t->p4 = kin_p4_from_p(t->px, t->py, t->pz, t->mass);
                r->p_miss = kin_p4_sub(r->p_miss, t->p4);
        }
        for (size_t i = 0; i < r->n_photons; i++)
                r->p_miss = kin_p4_sub(r->p_miss, r->photons[i].p4);
        r->p_miss_cms = kin_to_cms(beams, r->p_miss);
}
