/* reco: physics.md s.2-s.3.  Matching looks for the nearest track crossing
 * only among crossings within the cut in polar angle (the angular distance
 * is never less than the difference of polar angles), found by binary search
 * in crossings sorted by theta, and skips those whose unit vectors' dot
 * product is clearly below cos(cut), so that big events do not cost n*m
 * trigonometric evaluations; the result is the same as scanning every track
 * with physics.md's formula (tests/test_reco.c checks it). */
#include "reco.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rounding slack of the window: acos near 1 loses up to ~1e-8 rad. */
#define WINDOW_SLACK_RAD 1e-6
/* Rounding slack of the dot-product prefilter (errors are ~1e-16). */
#define DOT_SLACK 1e-9

/* A crossing sorted by polar angle, with its unit vector: the angular
 * distance's acos argument is mathematically their dot product, so a dot
 * product well below cos(cut) rules a pair out without trigonometry. */
struct reco_xing {
        double theta;
        double ux, uy, uz;
        uint32_t track;                 /* good-track index */
};

static struct reco_xing s_make_xing(const struct kin_crossing *c, size_t track)
{
        double st = sin(c->theta);

        return (struct reco_xing){ c->theta, st * cos(c->phi), st * sin(c->phi), cos(c->theta),
                                   (uint32_t)track };
}

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

/* The good track whose crossing (ecl or klm) is nearest to (theta, phi), if
 * nearer than cut; ties to the lower index.  Returns -1 for none. */
static int32_t s_nearest(const struct reco *r, const struct reco_xing *xs, size_t n_xs,
                         bool use_klm, double theta, double phi, double cut)
{
        size_t lo = 0, hi = n_xs;
        double best = cut;
        int32_t best_i = -1;
        double st = sin(theta);
        double vx = st * cos(phi), vy = st * sin(phi), vz = cos(theta);
        double min_dot = cos(fmin(cut, KIN_PI)) - DOT_SLACK;

        if (!(cut > 0))
                return -1;
        if (theta >= 0.0 && theta <= KIN_PI) {
                double from = theta - cut - WINDOW_SLACK_RAD;
                double to = theta + cut + WINDOW_SLACK_RAD;

                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;

                        if (xs[mid].theta < from)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                hi = n_xs;
                for (size_t k = lo; k < hi && xs[k].theta <= to; k++) {
                        const struct reco_track *t = &r->tracks[xs[k].track];
                        const struct kin_crossing *c = use_klm ? &t->klm : &t->ecl;
                        double d;

                        if (xs[k].ux * vx + xs[k].uy * vy + xs[k].uz * vz < min_dot)
                                continue;
                        d = kin_angle(c->theta, c->phi, theta, phi);

                        if (d < best || (d == best && best_i >= 0 &&
                                         (int32_t)xs[k].track < best_i)) {
                                best = d;
                                best_i = (int32_t)xs[k].track;
                        }
                }
                return best_i;
        }
        /* Outside [0, pi] the window bound does not hold: scan them all. */
        for (size_t i = 0; i < r->n_tracks; i++) {
                const struct reco_track *t = &r->tracks[i];
                const struct kin_crossing *c = use_klm ? &t->klm : &t->ecl;
                double d;

                if (!(use_klm ? t->at_klm : t->at_ecl))
                        continue;
                d = kin_angle(c->theta, c->phi, theta, phi);
                if (d < best) {
                        best = d;
                        best_i = (int32_t)i;
                }
        }
        return best_i;
}

void reco_run(struct reco *r, const struct physics_config *cfg,
              const struct kin_beams *beams,
              const struct frag_track *tracks, size_t n_tracks,
              const struct frag_cluster *clusters, size_t n_clusters,
              const struct frag_muon *muons, size_t n_muons)
{
        struct reco_xing *ecl = s_xing(r, 0), *klm = s_xing(r, 1);
        size_t n_ecl = 0, n_klm = 0;

        r->n_tracks = 0;
        r->n_bad_tracks = 0;
        r->n_photons = 0;
        r->charge_sum = 0;
        r->e_extra_gev = 0.0;

        for (size_t i = 0; i < n_tracks; i++) {
                const struct frag_track *f = &tracks[i];
                struct reco_track *t = &r->tracks[r->n_tracks];
                double px = f->px_kev / 1e6, py = f->py_kev / 1e6, pz = f->pz_kev / 1e6;
                double pt = hypot(px, py);

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
                t->phi0 = atan2(py, px);
                t->d0_cm = f->d0_um / 1e4;
                t->z0_cm = f->z0_um / 1e4;
                t->prompt = fabs(t->d0_cm) < cfg->prompt_d0_cm &&
                            fabs(t->z0_cm) < cfg->prompt_z0_cm;
                t->at_ecl = kin_helix_cross(pt, pz, t->phi0, t->q, cfg->b_field_t,
                                            cfg->r_ecl_cm, &t->ecl);
                t->at_klm = kin_helix_cross(pt, pz, t->phi0, t->q, cfg->b_field_t,
                                            cfg->r_klm_cm, &t->klm);
                if (t->at_ecl)
                        ecl[n_ecl++] = s_make_xing(&t->ecl, r->n_tracks);
                if (t->at_klm)
                        klm[n_klm++] = s_make_xing(&t->klm, r->n_tracks);
                r->charge_sum += t->q;
                r->n_tracks++;
        }
        s_sort(ecl, n_ecl);
        s_sort(klm, n_klm);

        for (size_t i = 0; i < n_muons; i++) {
                int32_t k;

                if (muons[i].layers < cfg->muon_min_layers)
                        continue;
                k = s_nearest(r, klm, n_klm, true, muons[i].theta_urad / 1e6,
                              muons[i].phi_urad / 1e6, cfg->muon_match_rad);
                if (k >= 0)
                        r->tracks[k].muon = true;
        }

        for (size_t i = 0; i < n_clusters; i++) {
                double e = clusters[i].energy_kev / 1e6;
                double theta = clusters[i].theta_urad / 1e6;
                double phi = clusters[i].phi_urad / 1e6;
                int32_t k = s_nearest(r, ecl, n_ecl, false, theta, phi, cfg->cluster_match_rad);

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
                        g->p4 = kin_p4_massless(e, theta, phi);
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
        r->theta_miss_rad = kin_p4_theta(r->p_miss);
}
