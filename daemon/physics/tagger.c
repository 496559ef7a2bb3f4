/* SPDX-License-Identifier: Apache-2.0 */
/* tagger: the object behind tagger.h.  Decodes the records of an event's
 * fragments into arrays it owns and reuses, then runs reco and the tags;
 * keeps the per-tag counters.  No I/O, no logging. */
#include "tagger.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kinematics.h"
#include "reco.h"
#include "tags.h"

struct tagger {
        struct physics_config cfg;      /* copy given to tagger_new() */
        struct kin_beams beams;         /* from cfg */
        struct reco reco;               /* reconstruction and its scratch */
        struct tags_dv_store dv;        /* vertex candidates of the last event */
        struct frag_track *tracks;      /* decoded records of the last event */
        struct frag_cluster *clusters;
        struct frag_muon *muons;
        size_t cap_tracks, cap_clusters, cap_muons;
        struct tagger_counters counters; /* since tagger_new() */
};

tagger_t *tagger_new(const struct physics_config *cfg)
{
        tagger_t *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->cfg = *cfg;
        kin_beams_from_config(&t->beams, cfg);
        reco_init(&t->reco);
        return t;
}

tagger_t *tagger_free(tagger_t *t)
{
        if (!t)
                return NULL;
        reco_release(&t->reco);
        free(t->dv.c);
        free(t->tracks);
        free(t->clusters);
        free(t->muons);
        free(t);
        return NULL;
}

void tagger_get_counters(const tagger_t *t, struct tagger_counters *ret)
{
        *ret = t->counters;
}

const struct physics_config *tagger_config(const tagger_t *t)
{
        return &t->cfg;
}

/* Grows *arr (of elements of size sz) to hold n; false on out of memory. */
static bool s_grow(void **arr, size_t *cap, size_t n, size_t sz)
{
        size_t c;
        void *p;

        if (n <= *cap)
                return true;
        c = *cap ? *cap : 64;
        while (c < n)
                c *= 2;
        if (c > SIZE_MAX / sz)
                return false;
        p = realloc(*arr, c * sz);
        if (!p)
                return false;
        *arr = p;
        *cap = c;
        return true;
}

static size_t s_min(size_t a, size_t b)
{
        return a < b ? a : b;
}

/* Reconstructs and tags; fit tells whether every record found room. */
static int s_run(tagger_t *t, const struct frag_track *tracks, size_t n_tracks,
                 const struct frag_cluster *clusters, size_t n_clusters,
                 const struct frag_muon *muons, size_t n_muons, bool fit,
                 struct tag_result *out)
{
        int rc;

        if (reco_reserve(&t->reco, n_tracks, n_clusters) < 0) {
                fit = false;
                n_tracks = s_min(n_tracks, t->reco.cap_tracks);
                n_clusters = s_min(n_clusters, t->reco.cap_clusters);
        }
        reco_run(&t->reco, &t->cfg, &t->beams, tracks, n_tracks, clusters, n_clusters,
                 muons, n_muons);
        rc = tags_evaluate(&t->reco, &t->cfg, &t->beams, &t->dv, out);
        t->counters.events++;
        t->counters.tracks += n_tracks;
        t->counters.bad_tracks += t->reco.n_bad_tracks;
        t->counters.dv_skipped += out->dv_skipped;
        if (rc < 0 || !fit) {
                out->fired = 0;
                out->dv.n = 0;
                t->counters.no_memory++;
                return -ENOMEM;
        }
        for (int i = 0; i < TAG_COUNT_; i++)
                if (out->fired & 1u << i)
                        t->counters.fired[i]++;
        return 0;
}

int tagger_run_records(tagger_t *t,
                       const struct frag_track *tracks, size_t n_tracks,
                       const struct frag_cluster *clusters, size_t n_clusters,
                       const struct frag_muon *muons, size_t n_muons,
                       struct tag_result *out)
{
        return s_run(t, tracks, n_tracks, clusters, n_clusters, muons, n_muons, true, out);
}

int tagger_run(tagger_t *t, const struct tag_input *in, struct tag_result *out)
{
        size_t n_tr = 0, n_cl = 0, n_mu = 0;
        size_t i_tr = 0, i_cl = 0, i_mu = 0;
        bool fit = true;

        for (size_t f = 0; f < in->n_frags; f++) {
                struct frag_block_iter it;
                struct frag_block b;

                frag_blocks_begin(&it, in->frags[f]);
                while (frag_blocks_next(&it, &b)) {
                        if (b.type == FRAG_BLOCK_TRACK)
                                n_tr += b.count;
                        else if (b.type == FRAG_BLOCK_CLUSTER)
                                n_cl += b.count;
                        else if (b.type == FRAG_BLOCK_MUON)
                                n_mu += b.count;
                }
        }
        if (!s_grow((void **)&t->tracks, &t->cap_tracks, n_tr, sizeof(*t->tracks)) ||
            !s_grow((void **)&t->clusters, &t->cap_clusters, n_cl, sizeof(*t->clusters)) ||
            !s_grow((void **)&t->muons, &t->cap_muons, n_mu, sizeof(*t->muons)))
                fit = false;

        for (size_t f = 0; f < in->n_frags; f++) {
                struct frag_block_iter it;
                struct frag_block b;

                frag_blocks_begin(&it, in->frags[f]);
                while (frag_blocks_next(&it, &b)) {
                        const uint8_t *rec = b.records;
                        uint32_t k;

                        /* Up to the capacity only: less than all when growing failed. */
                        if (b.type == FRAG_BLOCK_TRACK) {
                                for (k = 0; k < b.count && i_tr < t->cap_tracks; k++)
                                        frag_track_decode(rec + k * FRAG_TRACK_BYTES,
                                                       &t->tracks[i_tr++]);
                        } else if (b.type == FRAG_BLOCK_CLUSTER) {
                                for (k = 0; k < b.count && i_cl < t->cap_clusters; k++)
                                        frag_cluster_decode(rec + k * FRAG_CLUSTER_BYTES,
                                                         &t->clusters[i_cl++]);
                        } else if (b.type == FRAG_BLOCK_MUON) {
                                for (k = 0; k < b.count && i_mu < t->cap_muons; k++)
                                        frag_muon_decode(rec + k * FRAG_MUON_BYTES,
                                                      &t->muons[i_mu++]);
                        }
                }
        }
        return s_run(t, t->tracks, i_tr, t->clusters, i_cl, t->muons, i_mu, fit, out);
}
