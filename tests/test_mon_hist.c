/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of histogram (darkdaq-mon's histograms): binning at and around the
 * edges, under/overflow and NaN, reset, rebinning for the terminal, and the
 * exact JSON and CSV text that physicists read back. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "histogram.h"

TEST(refuses_bad_arguments)
{
        CHECK(!histogram_new("x", NULL, NULL, 0, 0, 1));
        CHECK(!histogram_new("x", NULL, NULL, HISTOGRAM_MAX_BINS + 1, 0, 1));
        CHECK(!histogram_new("x", NULL, NULL, 10, 1, 1));
        CHECK(!histogram_new("x", NULL, NULL, 10, 2, 1));
        CHECK(!histogram_new("x", NULL, NULL, 10, 0, INFINITY));
        CHECK(!histogram_new("x", NULL, NULL, 10, NAN, 1));
        CHECK(!histogram_new("", NULL, NULL, 10, 0, 1));
        CHECK(!histogram_new("a b", NULL, NULL, 10, 0, 1));
        CHECK(!histogram_new("a\"b", NULL, NULL, 10, 0, 1));
        CHECK(histogram_free(NULL) == NULL);
}

TEST(bins_edges_underflow_overflow_nan)
{
        histogram_t *h = histogram_new("m", "mass", "GeV", 10, 0, 1);

        REQUIRE(h);
        CHECK_STR(histogram_title(h), "mass");
        CHECK_STR(histogram_unit(h), "GeV");
        CHECK_EQ_U(histogram_nbins(h), 10);
        CHECK(histogram_edge(h, 0) == 0 && histogram_edge(h, 10) == 1);
        /* every edge opens its own bin, even 0.3 and 0.7 whose division rounds */
        for (size_t i = 0; i < 10; i++)
                histogram_fill(h, histogram_edge(h, i));
        for (size_t i = 0; i < 10; i++)
                CHECK_EQ_U(histogram_count(h, i), 1);
        histogram_fill(h, 0.3);                 /* the literal, as a user types it */
        histogram_fill(h, nextafter(0.3, 0));   /* just below */
        CHECK_EQ_U(histogram_count(h, 3), 1 + (0.3 >= histogram_edge(h, 3)));
        histogram_fill(h, 0.99999999);
        CHECK_EQ_U(histogram_count(h, 9), 2);
        histogram_fill(h, -1e-12);
        histogram_fill(h, 1.0);                 /* hi is outside: [lo, hi) */
        histogram_fill(h, 1e300);
        histogram_fill(h, -INFINITY);
        histogram_fill(h, INFINITY);
        histogram_fill(h, NAN);
        CHECK_EQ_U(histogram_underflow(h), 2);
        CHECK_EQ_U(histogram_overflow(h), 3);
        CHECK_EQ_U(histogram_nan(h), 1);
        CHECK_EQ_U(histogram_entries(h), 13);
        uint64_t sum = 0;
        for (size_t i = 0; i < 10; i++)
                sum += histogram_count(h, i);
        CHECK_EQ_U(sum, histogram_entries(h));
        CHECK_EQ_U(histogram_count(h, 10), 0);  /* past the end reads 0 */
        histogram_reset(h);
        CHECK_EQ_U(histogram_entries(h) + histogram_underflow(h) + histogram_overflow(h) +
                   histogram_nan(h), 0);
        for (size_t i = 0; i < 10; i++)
                CHECK_EQ_U(histogram_count(h, i), 0);
        histogram_free(h);
}

TEST(rebin_for_narrow_screens)
{
        histogram_t *h = histogram_new("r", NULL, NULL, 80, 0, 8);
        uint64_t out[80];
        size_t group = 0;

        REQUIRE(h);
        for (size_t i = 0; i < 80; i++)
                for (size_t k = 0; k <= i; k++)
                        histogram_fill(h, 0.1 * (double)i + 0.05);
        CHECK_EQ_U(histogram_rebin(h, 80, out, &group), 80);
        CHECK_EQ_U(group, 1);
        CHECK_EQ_U(out[79], 80);
        CHECK_EQ_U(histogram_rebin(h, 30, out, &group), 27);    /* 3 bins a column */
        CHECK_EQ_U(group, 3);
        CHECK_EQ_U(out[0], 1 + 2 + 3);
        CHECK_EQ_U(out[26], 79 + 80);                           /* the last holds two */
        uint64_t sum = 0;
        for (size_t c = 0; c < 27; c++)
                sum += out[c];
        CHECK_EQ_U(sum, histogram_entries(h));
        CHECK_EQ_U(histogram_rebin(h, 1, out, &group), 1);
        CHECK_EQ_U(out[0], histogram_entries(h));
        CHECK_EQ_U(histogram_rebin(h, 0, out, NULL), 1);
        histogram_free(h);
}

TEST(json_text)
{
        histogram_t *h = histogram_new("e_miss_gev", "E*miss \"CMS\"", "GeV", 4, -0.2, 1);
        char buf[1024];

        REQUIRE(h);
        histogram_fill(h, 0.15);
        histogram_fill(h, 0.1);
        histogram_fill(h, -1);
        histogram_fill(h, NAN);
        size_t n = histogram_format_json(h, 0.5, buf, sizeof buf);
        CHECK_STR(buf, "{\"name\":\"e_miss_gev\",\"title\":\"E*miss \\\"CMS\\\"\",\"unit\":\"GeV\","
                       "\"edges\":[-0.2,0.1,0.4,0.7,1],\"counts\":[0,2,0,0],\"entries\":2,"
                       "\"underflow\":1,\"overflow\":0,\"nan\":1,\"sampled_fraction\":0.5}");
        CHECK_EQ_U(n, strlen(buf));
        histogram_format_json(h, NAN, buf, sizeof buf);
        CHECK(strstr(buf, "\"sampled_fraction\":null}") != NULL);
        histogram_free(h);
}

TEST(csv_text)
{
        histogram_t *h = histogram_new("rxy", NULL, "cm", 3, 0, 0.3);
        char buf[512];

        REQUIRE(h);
        histogram_fill(h, 0.25);
        histogram_fill(h, 0.2);
        histogram_format_csv(h, 12, 1, buf, sizeof buf);
        CHECK_STR(buf, "rxy,0,0.1,0,12,1\nrxy,0.1,0.2,0,12,1\nrxy,0.2,0.3,2,12,1\n");
        histogram_format_csv(h, 0, NAN, buf, sizeof buf);
        CHECK_STR(buf, "rxy,0,0.1,0,0,\nrxy,0.1,0.2,0,0,\nrxy,0.2,0.3,2,0,\n");
        CHECK_STR(HISTOGRAM_CSV_HEADER, "name,low,high,count,run,sampled_fraction\n");
        histogram_free(h);
}

TEST(format_is_like_snprintf)
{
        histogram_t *h = histogram_new("x", NULL, NULL, 100, 0, 1);
        char small[16], big[4096];

        REQUIRE(h);
        size_t need = histogram_format_json(h, 1, small, sizeof small);
        CHECK_EQ_U(strlen(small), sizeof small - 1);            /* cut, terminated */
        CHECK_EQ_U(histogram_format_json(h, 1, big, sizeof big), need);
        CHECK_EQ_U(strlen(big), need);
        CHECK(!strncmp(small, big, sizeof small - 1));
        CHECK_EQ_U(histogram_format_json(h, 1, NULL, 0), need); /* only measures */
        need = histogram_format_csv(h, 1, 1, small, sizeof small);
        CHECK_EQ_U(histogram_format_csv(h, 1, 1, big, sizeof big), need);
        CHECK_EQ_U(strlen(big), need);
        histogram_free(h);
}

TEST_MAIN()
