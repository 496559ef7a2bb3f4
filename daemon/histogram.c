/* SPDX-License-Identifier: Apache-2.0 */
/* histogram: the bin of x is computed from (x - lo) / width and then moved
 * by one where rounding put it on the wrong side of an edge, so that a value
 * equal to an exported edge always lands in the bin that edge opens. */
#include "histogram.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonstr.h"

struct histogram {
        char name[64];                  /* identifier for files and JSON */
        char title[96];                 /* for people */
        char unit[16];                  /* of x: "GeV", "cm" */
        size_t nbins;                   /* 1..HISTOGRAM_MAX_BINS */
        double lo, hi;                  /* [lo, hi) */
        uint64_t under, over, nan;      /* fills outside the bins */
        uint64_t entries;               /* fills inside: sum of counts */
        uint64_t *counts;               /* nbins */
};

histogram_t *histogram_new(const char *name, const char *title, const char *unit, size_t nbins,
                           double lo, double hi)
{
        histogram_t *h;

        if (!name || !*name || strlen(name) >= sizeof h->name ||
            strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
            strlen(name) || nbins < 1 || nbins > HISTOGRAM_MAX_BINS || !isfinite(lo) ||
            !isfinite(hi) || !(lo < hi))
                return NULL;
        h = calloc(1, sizeof *h);
        if (!h || !(h->counts = calloc(nbins, sizeof *h->counts)))
                return histogram_free(h);
        snprintf(h->name, sizeof h->name, "%s", name);
        snprintf(h->title, sizeof h->title, "%s", title ? title : name);
        snprintf(h->unit, sizeof h->unit, "%s", unit ? unit : "");
        h->nbins = nbins;
        h->lo = lo;
        h->hi = hi;
        return h;
}

histogram_t *histogram_free(histogram_t *h)
{
        if (h) {
                free(h->counts);
                free(h);
        }
        return NULL;
}

double histogram_edge(const histogram_t *h, size_t i)
{
        if (i == 0)
                return h->lo;
        if (i >= h->nbins)
                return h->hi;
        return h->lo + (double)i * (h->hi - h->lo) / (double)h->nbins;
}

void histogram_fill(histogram_t *h, double x)
{
        if (isnan(x)) {
                h->nan++;
                return;
        }
        if (x < h->lo) {
                h->under++;
                return;
        }
        if (x >= h->hi) {
                h->over++;
                return;
        }
        double f = (x - h->lo) / (h->hi - h->lo) * (double)h->nbins;
        size_t i = f < (double)h->nbins ? (size_t)f : h->nbins - 1;
        if (i > 0 && x < histogram_edge(h, i))
                i--;
        else if (i + 1 < h->nbins && x >= histogram_edge(h, i + 1))
                i++;
        h->counts[i]++;
        h->entries++;
}

void histogram_reset(histogram_t *h)
{
        memset(h->counts, 0, h->nbins * sizeof *h->counts);
        h->under = h->over = h->nan = h->entries = 0;
}

const char *histogram_name(const histogram_t *h) { return h->name; }
const char *histogram_title(const histogram_t *h) { return h->title; }
const char *histogram_unit(const histogram_t *h) { return h->unit; }
size_t histogram_nbins(const histogram_t *h) { return h->nbins; }
uint64_t histogram_entries(const histogram_t *h) { return h->entries; }
uint64_t histogram_underflow(const histogram_t *h) { return h->under; }
uint64_t histogram_overflow(const histogram_t *h) { return h->over; }
uint64_t histogram_nan(const histogram_t *h) { return h->nan; }

uint64_t histogram_count(const histogram_t *h, size_t bin)
{
        return bin < h->nbins ? h->counts[bin] : 0;
}

size_t histogram_rebin(const histogram_t *h, size_t max_cols, uint64_t *out, size_t *ret_group)
{
        size_t group, cols;

        if (max_cols < 1)
                max_cols = 1;
        group = (h->nbins + max_cols - 1) / max_cols;
        cols = (h->nbins + group - 1) / group;
        for (size_t c = 0; c < cols; c++)
                out[c] = 0;
        for (size_t i = 0; i < h->nbins; i++)
                out[i / group] += h->counts[i];
        if (ret_group)
                *ret_group = group;
        return cols;
}

/* ---- text ---- */

struct out {
        char *buf;
        size_t len, need;               /* need: what the whole text takes */
};

__attribute__((format(printf, 2, 3)))
static void s_put(struct out *o, const char *fmt, ...)
{
        va_list ap;
        size_t room = o->need < o->len ? o->len - o->need : 0;

        va_start(ap, fmt);
        int n = vsnprintf(room ? o->buf + o->need : NULL, room, fmt, ap);
        va_end(ap);
        if (n > 0)
                o->need += (size_t)n;
}

static void s_jstr(struct out *o, const char *s)
{
        size_t room = o->need < o->len ? o->len - o->need : 0;

        o->need += jsonstr_quote(room ? o->buf + o->need : NULL, room, s);
}

static void s_finish(struct out *o)
{
        if (o->len)
                o->buf[o->need < o->len ? o->need : o->len - 1] = '\0';
}

size_t histogram_format_json(const histogram_t *h, double sampled_fraction, char *buf,
                             size_t len)
{
        struct out o = { buf, len, 0 };

        s_put(&o, "{\"name\":");
        s_jstr(&o, h->name);
        s_put(&o, ",\"title\":");
        s_jstr(&o, h->title);
        s_put(&o, ",\"unit\":");
        s_jstr(&o, h->unit);
        s_put(&o, ",\"edges\":[");
        for (size_t i = 0; i <= h->nbins; i++)
                s_put(&o, "%s%.10g", i ? "," : "", histogram_edge(h, i));
        s_put(&o, "],\"counts\":[");
        for (size_t i = 0; i < h->nbins; i++)
                s_put(&o, "%s%" PRIu64, i ? "," : "", h->counts[i]);
        s_put(&o, "],\"entries\":%" PRIu64 ",\"underflow\":%" PRIu64 ",\"overflow\":%" PRIu64
              ",\"nan\":%" PRIu64 ",\"sampled_fraction\":", h->entries, h->under, h->over,
              h->nan);
        if (isnan(sampled_fraction))
                s_put(&o, "null}");
        else
                s_put(&o, "%.6g}", sampled_fraction);
        s_finish(&o);
        return o.need;
}

size_t histogram_format_csv(const histogram_t *h, uint32_t run, double sampled_fraction,
                            char *buf, size_t len)
{
        struct out o = { buf, len, 0 };
        char frac[32] = "";

        if (!isnan(sampled_fraction))
                snprintf(frac, sizeof frac, "%.6g", sampled_fraction);
        for (size_t i = 0; i < h->nbins; i++)
                s_put(&o, "%s,%.10g,%.10g,%" PRIu64 ",%" PRIu32 ",%s\n", h->name,
                      histogram_edge(h, i), histogram_edge(h, i + 1), h->counts[i], run, frac);
        s_finish(&o);
        return o.need;
}
