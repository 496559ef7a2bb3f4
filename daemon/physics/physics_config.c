/* SPDX-License-Identifier: Apache-2.0 */
/* physics_config: the key table (name, type, field, unit, help), the
 * defaults daemon/physics/README.md lists, and strict parsing of values.
 * Keys marked "(darkdaq addition)" name numbers the selection used to write
 * inline; their defaults keep it as it was. */
#include "physics_config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tags.h"

/* Each key with the range of values that is physics (a negative beam
 * energy, a cut beyond the detector or sqrt(s) is a mistake, not a choice). */
#define D(field, lo, hi, unit, help) \
        { #field, PHYSICS_KEY_DOUBLE, offsetof(struct physics_config, field), unit, help, \
          lo, hi }
#define U(field, lo, hi, unit, help) \
        { #field, PHYSICS_KEY_UNSIGNED, offsetof(struct physics_config, field), unit, help, \
          lo, hi }
#define P(tag) \
        { "prescale." #tag, PHYSICS_KEY_PRESCALE, \
          offsetof(struct physics_config, prescale) + TAG_##tag##_ * sizeof(uint32_t), "", \
          "monitor stream samples every Nth event with tag " #tag, 1, UINT32_MAX }

/* Upper-case tag ids under lower-case names, for the P() table rows. */
enum {
        TAG_zprime_invisible_ = TAG_ZPRIME_INVISIBLE,
        TAG_mumu_tautau_ = TAG_MUMU_TAUTAU,
        TAG_four_muon_ = TAG_FOUR_MUON,
        TAG_tau_1x3_ = TAG_TAU_1X3,
        TAG_displaced_vertex_ = TAG_DISPLACED_VERTEX,
        TAG_missing_energy_ = TAG_MISSING_ENERGY,
        TAG_idm_dark_higgs_ = TAG_IDM_DARK_HIGGS,
        TAG_single_photon_ = TAG_SINGLE_PHOTON,
        TAG_three_photon_ = TAG_THREE_PHOTON,
};

_Static_assert(TAG_COUNT_ == PHYSICS_N_TAGS, "PHYSICS_N_TAGS must equal TAG_COUNT_");

static const struct physics_config_key s_keys[] = {
        D(b_field_t, 0.1, 5, "T", "solenoid field along +z"),
        D(e_her_gev, 1, 20, "GeV", "electron (HER) beam energy"),
        D(e_ler_gev, 1, 20, "GeV", "positron (LER) beam energy"),
        D(crossing_angle_mrad, 0, 200, "mrad", "full crossing angle; each beam tilted by half to +x"),
        D(r_ecl_cm, 10, 1000, "cm", "calorimeter radius for cluster matching"),
        D(r_klm_cm, 10, 1000, "cm", "muon system radius for muon matching"),
        D(track_min_pt_gev, 0, 10, "GeV/c", "good track: pt >= this"),
        U(track_min_hits, 0, 1000, "", "good track: n_hits >= this"),
        D(prompt_d0_cm, 0, 100, "cm", "prompt track: |d0| < this"),
        D(prompt_z0_cm, 0, 100, "cm", "prompt track: |z0| < this"),
        U(muon_min_layers, 0, 100, "", "MUON records with layers >= this identify muons"),
        D(muon_match_rad, 0, M_PI, "rad", "muon record to track crossing at r_klm: distance < this"),
        D(cluster_match_rad, 0, M_PI, "rad", "cluster to track crossing at r_ecl: distance < this"),
        D(electron_eop_min, 0, 10, "", "electron: matched cluster energy / |p| >= this"),
        D(photon_min_gev, 0, 20, "GeV", "photon: unmatched cluster energy >= this (lab)"),
        D(extra_cluster_min_gev, 0, 20, "GeV", "E_extra sums unmatched clusters >= this (lab)"),
        D(barrel_theta_min_rad, 0, M_PI, "rad", "barrel acceptance, lower edge (inclusive)"),
        D(barrel_theta_max_rad, 0, M_PI, "rad", "barrel acceptance, upper edge (inclusive)"),
        D(zprime_extra_max_gev, 0, 20, "GeV", "zprime_invisible: E_extra < this"),
        D(zprime_m2_min_gev2, -400, 400, "GeV^2", "zprime_invisible: recoil mass squared >= this"),
        D(zprime_m2_max_gev2, -400, 400, "GeV^2", "zprime_invisible: recoil mass squared <= this"),
        D(mumutautau_mrec_min_gev, 0, 20, "GeV", "mumu_tautau: dimuon recoil mass >= this"),
        U(fourmu_min_muons, 0, 4, "", "four_muon: at least this many of the 4 tracks are muons"),
        D(fourmu_photon_max_gev, 0, 20, "GeV",
          "four_muon: no photon with lab E >= this (darkdaq addition)"),
        D(fourmu_extra_max_gev, 0, 20, "GeV", "four_muon: E_extra < this"),
        D(fourmu_sqrt_s_window_gev, 0, 20, "GeV", "four_muon: |m(4 mu) - sqrt(s)| <= this"),
        D(dv_track_d0_min_cm, 0, 100, "cm", "displaced_vertex: tracks with |d0| >= this take part"),
        D(dv_max_turn_rad, 0, 2 * M_PI, "rad", "displaced_vertex: drop points reached by |alpha| >= this"),
        D(dv_doca_max_cm, 0, 100, "cm", "displaced_vertex: doca <= this"),
        D(dv_rxy_min_cm, 0, 200, "cm", "displaced_vertex: r_xy >= this"),
        D(dv_rxy_max_cm, 0, 200, "cm", "displaced_vertex: r_xy <= this"),
        D(dv_open_min_rad, 0, M_PI, "rad", "displaced_vertex: opening angle > this"),
        D(dv_open_max_rad, 0, M_PI, "rad", "displaced_vertex: opening angle < this"),
        D(veto_ks_gev, 0, 10, "GeV", "displaced_vertex: K0S veto, |m_pipi - m_KS| < this"),
        D(veto_lambda_gev, 0, 10, "GeV", "displaced_vertex: Lambda veto, |m_ppi - m_Lambda| < this"),
        D(veto_phi_gev, 0, 10, "GeV", "displaced_vertex: phi veto, |m_KK - m_phi| < this"),
        D(dv_pointing_max_rad, 0, M_PI, "rad", "displaced_vertex: points_to_ip when the angle < this"),
        U(dv_max_tracks, 0, 4096, "",
          "displaced_vertex: skip the pair search when more tracks take part (darkdaq addition)"),
        D(missing_e_min_gev, 0, 20, "GeV", "missing_energy: E*_miss >= this"),
        D(idm_missing_e_min_gev, 0, 20, "GeV", "idm_dark_higgs: E*_miss >= this"),
        D(single_photon_min_gev, 0, 20, "GeV", "single_photon: photon E* >= this"),
        D(single_photon_extra_max_gev, 0, 20, "GeV",
          "single_photon: E_extra minus the photon < this (darkdaq addition)"),
        D(three_photon_min_gev, 0, 20, "GeV",
          "three_photon: each photon E* >= this (darkdaq addition)"),
        D(three_photon_window_gev, 0, 20, "GeV", "three_photon: |sum E* - sqrt(s)| <= this"),
        P(zprime_invisible),
        P(mumu_tautau),
        P(four_muon),
        P(tau_1x3),
        P(displaced_vertex),
        P(missing_energy),
        P(idm_dark_higgs),
        P(single_photon),
        P(three_photon),
};

#define N_KEYS (sizeof(s_keys) / sizeof(s_keys[0]))

void physics_config_default(struct physics_config *cfg)
{
        memset(cfg, 0, sizeof(*cfg));
        cfg->b_field_t = 1.5;
        cfg->e_her_gev = 7.004;
        cfg->e_ler_gev = 4.002;
        cfg->crossing_angle_mrad = 83.0;
        cfg->r_ecl_cm = 125.0;
        cfg->r_klm_cm = 200.0;
        cfg->track_min_pt_gev = 0.10;
        cfg->track_min_hits = 10;
        cfg->prompt_d0_cm = 0.5;
        cfg->prompt_z0_cm = 2.0;
        cfg->muon_min_layers = 3;
        cfg->muon_match_rad = 0.10;
        cfg->cluster_match_rad = 0.05;
        cfg->electron_eop_min = 0.8;
        cfg->photon_min_gev = 0.10;
        cfg->extra_cluster_min_gev = 0.05;
        cfg->barrel_theta_min_rad = 0.5619;
        cfg->barrel_theta_max_rad = 2.2461;
        cfg->zprime_extra_max_gev = 0.4;
        cfg->zprime_m2_min_gev2 = -0.5;
        cfg->zprime_m2_max_gev2 = 64.0;
        cfg->mumutautau_mrec_min_gev = 3.554;
        cfg->fourmu_min_muons = 3;
        cfg->fourmu_photon_max_gev = 0.2;
        cfg->fourmu_extra_max_gev = 0.4;
        cfg->fourmu_sqrt_s_window_gev = 0.5;
        cfg->dv_track_d0_min_cm = 0.02;
        cfg->dv_max_turn_rad = M_PI / 2.0;
        cfg->dv_doca_max_cm = 0.2;
        cfg->dv_rxy_min_cm = 0.2;
        cfg->dv_rxy_max_cm = 60.0;
        cfg->dv_open_min_rad = 0.1;
        cfg->dv_open_max_rad = M_PI - 0.1;
        cfg->veto_ks_gev = 0.020;
        cfg->veto_lambda_gev = 0.005;
        cfg->veto_phi_gev = 0.010;
        cfg->dv_pointing_max_rad = 0.1;
        cfg->dv_max_tracks = 64;
        cfg->missing_e_min_gev = 4.0;
        cfg->idm_missing_e_min_gev = 4.0;
        cfg->single_photon_min_gev = 1.0;
        cfg->single_photon_extra_max_gev = 0.2;
        cfg->three_photon_min_gev = 0.25;
        cfg->three_photon_window_gev = 1.0;
        for (int i = 0; i < PHYSICS_N_TAGS; i++)
                cfg->prescale[i] = 1;
}

size_t physics_config_key_count(void)
{
        return N_KEYS;
}

const struct physics_config_key *physics_config_key_at(size_t i)
{
        return i < N_KEYS ? &s_keys[i] : NULL;
}

const struct physics_config_key *physics_config_find(const char *key)
{
        for (size_t i = 0; i < N_KEYS; i++)
                if (strcmp(s_keys[i].name, key) == 0)
                        return &s_keys[i];
        return NULL;
}

/* A whole double, finite: "1.5", "pi", "pi/2", "pi-0.1". */
static int s_parse_double(const char *s, double *ret)
{
        char *end;
        double v;

        while (*s == ' ' || *s == '\t')
                s++;
        if (strncmp(s, "pi", 2) == 0) {
                s += 2;
                v = M_PI;
                if (*s == '/' || *s == '-') {
                        char op = *s++;
                        double w;

                        errno = 0;
                        w = strtod(s, &end);
                        if (end == s || errno)
                                return -EINVAL;
                        if (op == '/' && w == 0)
                                return -EINVAL;
                        v = op == '/' ? v / w : v - w;
                        s = end;
                }
        } else {
                errno = 0;
                v = strtod(s, &end);
                if (end == s || errno == ERANGE)
                        return -EINVAL;
                s = end;
        }
        while (*s == ' ' || *s == '\t')
                s++;
        if (*s != '\0' || !isfinite(v))
                return -EINVAL;
        *ret = v;
        return 0;
}

static int s_parse_unsigned(const char *s, unsigned long max, unsigned long *ret)
{
        char *end;
        unsigned long v;

        while (*s == ' ' || *s == '\t')
                s++;
        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || v > max)
                return -EINVAL;
        while (*end == ' ' || *end == '\t')
                end++;
        if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int physics_config_set(struct physics_config *cfg, const char *key, const char *value)
{
        const struct physics_config_key *k = physics_config_find(key);
        char *field;
        double d;
        unsigned long u;
        int r;

        if (!k)
                return -ENOENT;
        if (!value)
                return -EINVAL;
        field = (char *)cfg + k->offset;
        switch (k->type) {
        case PHYSICS_KEY_DOUBLE:
                r = s_parse_double(value, &d);
                if (r < 0)
                        return r;
                if (!(d >= k->min && d <= k->max))
                        return -ERANGE;
                memcpy(field, &d, sizeof(d));
                return 0;
        case PHYSICS_KEY_UNSIGNED:
                r = s_parse_unsigned(value, UINT_MAX, &u);
                if (r < 0)
                        return r;
                if (u < k->min || u > k->max)
                        return -ERANGE;
                *(unsigned *)(void *)field = (unsigned)u;
                return 0;
        case PHYSICS_KEY_PRESCALE:
                r = s_parse_unsigned(value, UINT32_MAX, &u);
                if (r < 0 || u == 0)
                        return -EINVAL;
                *(uint32_t *)(void *)field = (uint32_t)u;
                return 0;
        }
        return -EINVAL;
}

const char *physics_config_format(const struct physics_config *cfg,
                                  const struct physics_config_key *k,
                                  char *buf, size_t size)
{
        const char *field = (const char *)cfg + k->offset;

        if (size == 0)
                return buf;
        switch (k->type) {
        case PHYSICS_KEY_DOUBLE: {
                double d;

                memcpy(&d, field, sizeof(d));
                /* the shortest form that reads back the same double */
                for (int prec = 1; prec <= 17; prec++) {
                        snprintf(buf, size, "%.*g", prec, d);
                        if (strtod(buf, NULL) == d)
                                break;
                }
                break;
        }
        case PHYSICS_KEY_UNSIGNED:
                snprintf(buf, size, "%u", *(const unsigned *)(const void *)field);
                break;
        case PHYSICS_KEY_PRESCALE:
                snprintf(buf, size, "%u", (unsigned)*(const uint32_t *)(const void *)field);
                break;
        default:
                buf[0] = '\0';
        }
        return buf;
}
