/* SPDX-License-Identifier: Apache-2.0 */
/* histogram: a fixed-binning 1-D histogram of doubles (equal-width bins over
 * [lo, hi), under- and overflow and NaN counted apart), its rebinning for
 * narrow displays, and its export as JSON and CSV text.  Pure: no I/O, no
 * locking, no allocation after histogram_new().
 *
 *     histogram_t *h = histogram_new("e_miss_gev", "E*miss (CMS)", "GeV", 110, 0, 11);
 *     histogram_fill(h, ev->e_miss_gev);
 *     n = histogram_format_json(h, sampled_fraction, buf, sizeof buf);
 *
 * The format functions work like snprintf: they write at most len bytes
 * (always NUL-terminated when len > 0) and return the length the whole text
 * needs, so a caller retries with a bigger buffer when the result >= len. */
#ifndef DARKDAQ_HISTOGRAM_H
#define DARKDAQ_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct histogram histogram_t;

#define HISTOGRAM_MAX_BINS      4096
/* The first line of histogram_format_csv() output. */
#define HISTOGRAM_CSV_HEADER    "name,low,high,count,run,sampled_fraction\n"

/* A histogram of nbins (1..HISTOGRAM_MAX_BINS) equal bins over [lo, hi)
 * (lo < hi, both finite).  name is a plain identifier for files and JSON
 * ([A-Za-z0-9_]), title and unit are for people.  NULL on bad arguments or
 * out of memory. */
histogram_t *histogram_new(const char *name, const char *title, const char *unit, size_t nbins,
                           double lo, double hi);
/* Accepts NULL.  Returns NULL. */
histogram_t *histogram_free(histogram_t *h);

/* Counts x in its bin: bin i holds lo + i*w <= x < lo + (i+1)*w; below lo
 * is underflow, at or above hi overflow, NaN is counted as nan. */
void histogram_fill(histogram_t *h, double x);
/* Every count back to zero. */
void histogram_reset(histogram_t *h);

const char *histogram_name(const histogram_t *h);
const char *histogram_title(const histogram_t *h);
const char *histogram_unit(const histogram_t *h);
size_t histogram_nbins(const histogram_t *h);
/* Edge i, 0..nbins: lo + i*(hi - lo)/nbins (exactly lo and hi at the ends). */
double histogram_edge(const histogram_t *h, size_t i);
uint64_t histogram_count(const histogram_t *h, size_t bin);
/* Fills that landed in a bin: the sum of the counts. */
uint64_t histogram_entries(const histogram_t *h);
uint64_t histogram_underflow(const histogram_t *h);
uint64_t histogram_overflow(const histogram_t *h);
uint64_t histogram_nan(const histogram_t *h);

/* Adds up runs of `group` neighbouring bins, group the smallest that gives
 * at most max_cols columns (max_cols >= 1; the last column may hold fewer
 * bins).  Writes the column sums to out (room for max_cols) and returns the
 * number of columns; *ret_group gets the group size. */
size_t histogram_rebin(const histogram_t *h, size_t max_cols, uint64_t *out, size_t *ret_group);

/* The histogram as one JSON object:
 *   {"name":..,"title":..,"unit":..,"edges":[nbins+1],"counts":[nbins],
 *    "entries":..,"underflow":..,"overflow":..,"nan":..,"sampled_fraction":..}
 * sampled_fraction NaN is written as null.  Edges with 10 significant
 * digits (0.3, not 0.30000000000000004). */
size_t histogram_format_json(const histogram_t *h, double sampled_fraction, char *buf,
                             size_t len);
/* One CSV row per bin, without the header (HISTOGRAM_CSV_HEADER):
 *   name,low,high,count,run,sampled_fraction
 * sampled_fraction NaN is an empty field. */
size_t histogram_format_csv(const histogram_t *h, uint32_t run, double sampled_fraction,
                            char *buf, size_t len);

#endif
