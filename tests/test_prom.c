/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of prom: the exact text of families and samples, escaping, number
 * forms, and the mistakes it refuses. */
#include <errno.h>
#include <math.h>

#include "check.h"
#include "prom.h"

TEST(families_and_samples)
{
        prom_t *p = prom_new();
        const char *const dyn[] = { "source", "svd", "flag", "crc" };
        size_t len;

        REQUIRE(p);
        prom_family(p, "darkdaq_source_fragments_total", PROM_COUNTER, "Fragments read, per source.");
        prom_u64(p, 1234, "source", "klm", NULL);
        prom_u64(p, UINT64_MAX, "source", "cdc", NULL);
        prom_family(p, "darkdaq_ring_occupancy_bytes", PROM_GAUGE, NULL);
        prom_u64(p, 0, NULL);
        prom_family(p, "darkdaq_errors_total", PROM_COUNTER, "Errors.");
        prom_u64_labels(p, 3, dyn, 2);
        prom_family(p, "darkdaq_temperature_celsius", PROM_GAUGE, "Signed.");
        prom_i64(p, -40, NULL);
        prom_family(p, "darkdaq:recorded", PROM_UNTYPED, "Colons are allowed in metric names.");
        prom_double(p, 0.5, NULL);
        CHECK_OK_ZERO(prom_error(p));
        CHECK_STR(prom_text(p, &len),
                  "# HELP darkdaq_source_fragments_total Fragments read, per source.\n"
                  "# TYPE darkdaq_source_fragments_total counter\n"
                  "darkdaq_source_fragments_total{source=\"klm\"} 1234\n"
                  "darkdaq_source_fragments_total{source=\"cdc\"} 18446744073709551615\n"
                  "# TYPE darkdaq_ring_occupancy_bytes gauge\n"
                  "darkdaq_ring_occupancy_bytes 0\n"
                  "# HELP darkdaq_errors_total Errors.\n"
                  "# TYPE darkdaq_errors_total counter\n"
                  "darkdaq_errors_total{source=\"svd\",flag=\"crc\"} 3\n"
                  "# HELP darkdaq_temperature_celsius Signed.\n"
                  "# TYPE darkdaq_temperature_celsius gauge\n"
                  "darkdaq_temperature_celsius -40\n"
                  "# HELP darkdaq:recorded Colons are allowed in metric names.\n"
                  "# TYPE darkdaq:recorded untyped\n"
                  "darkdaq:recorded 0.5\n");
        CHECK_EQ_U(len, strlen(prom_text(p, NULL)));

        /* reset: empty, and the same family may be written again */
        prom_reset(p);
        CHECK_STR(prom_text(p, &len), "");
        CHECK_EQ_U(len, 0);
        prom_family(p, "darkdaq_errors_total", PROM_COUNTER, NULL);
        CHECK_OK_ZERO(prom_error(p));
        prom_free(p);
}

TEST(escaping)
{
        prom_t *p = prom_new();

        REQUIRE(p);
        prom_family(p, "x_total", PROM_COUNTER, "back\\slash, \"quotes\" stay,\nnew line");
        prom_u64(p, 1, "tag", "a\\b\"c\nd", "empty", "", NULL);
        prom_u64(p, 2, "tag", "ünïcödé {}=,", NULL);
        CHECK_STR(prom_text(p, NULL),
                  "# HELP x_total back\\\\slash, \"quotes\" stay,\\nnew line\n"
                  "# TYPE x_total counter\n"
                  "x_total{tag=\"a\\\\b\\\"c\\nd\",empty=\"\"} 1\n"
                  "x_total{tag=\"ünïcödé {}=,\"} 2\n");
        prom_free(p);
}

TEST(numbers)
{
        prom_t *p = prom_new();

        REQUIRE(p);
        prom_family(p, "v", PROM_GAUGE, NULL);
        prom_double(p, 0.1, NULL);
        prom_double(p, 1e21, NULL);
        prom_double(p, -2.5e-7, NULL);
        prom_double(p, 1.0 / 3.0, NULL);
        prom_double(p, 42, NULL);
        prom_double(p, NAN, NULL);
        prom_double(p, INFINITY, NULL);
        prom_double(p, -INFINITY, NULL);
        CHECK_STR(prom_text(p, NULL),
                  "# TYPE v gauge\n"
                  "v 0.1\nv 1e+21\nv -2.5e-07\nv 0.33333333333333331\nv 42\n"
                  "v NaN\nv +Inf\nv -Inf\n");
        prom_free(p);
}

/* The first mistake sticks and names itself; nothing after it is written. */
static void s_expect_error(prom_t *p, const char *why)
{
        CHECK_ERRNO(prom_error(p), -EINVAL);
        if (!strstr(prom_error_text(p), why))
                fprintf(stderr, "error text \"%s\" lacks \"%s\"\n", prom_error_text(p), why);
        CHECK(strstr(prom_error_text(p), why) != NULL);
        prom_reset(p);
        CHECK_OK_ZERO(prom_error(p));
}

TEST(mistakes)
{
        prom_t *p = prom_new();
        size_t len;

        REQUIRE(p);
        prom_u64(p, 1, NULL);
        s_expect_error(p, "before any family");

        prom_family(p, "9lives", PROM_GAUGE, NULL);
        s_expect_error(p, "bad metric name \"9lives\"");
        prom_family(p, "has-dash", PROM_GAUGE, NULL);
        s_expect_error(p, "bad metric name");
        prom_family(p, "", PROM_GAUGE, NULL);
        s_expect_error(p, "bad metric name");

        prom_family(p, "ok", PROM_GAUGE, NULL);
        prom_u64(p, 1, "a:b", "x", NULL);
        s_expect_error(p, "bad label name \"a:b\"");
        prom_family(p, "ok", PROM_GAUGE, NULL);
        prom_u64(p, 1, "__name__", "x", NULL);
        s_expect_error(p, "bad label name \"__name__\"");
        prom_family(p, "ok", PROM_GAUGE, NULL);
        prom_u64(p, 1, "1st", "x", NULL);
        s_expect_error(p, "bad label name");

        prom_family(p, "twice", PROM_GAUGE, NULL);
        prom_u64(p, 1, NULL);
        prom_family(p, "twice", PROM_GAUGE, NULL);
        prom_text(p, &len);
        CHECK_EQ_U(len, strlen("# TYPE twice gauge\ntwice 1\n"));
        prom_u64(p, 2, NULL);   /* ignored after the error */
        prom_text(p, &len);
        CHECK_EQ_U(len, strlen("# TYPE twice gauge\ntwice 1\n"));
        s_expect_error(p, "written twice");
        prom_free(p);
        CHECK(prom_free(NULL) == NULL);
}

TEST(grows)
{
        prom_t *p = prom_new();
        char name[32], value[32];

        REQUIRE(p);
        prom_family(p, "many_total", PROM_COUNTER, "Lots of samples.");
        for (unsigned i = 0; i < 5000; i++) {
                snprintf(value, sizeof(value), "s%u", i);
                prom_u64(p, i, "source", value, NULL);
        }
        for (unsigned i = 0; i < 300; i++) {
                snprintf(name, sizeof(name), "family_%u", i);
                prom_family(p, name, PROM_GAUGE, NULL);
                prom_u64(p, i, NULL);
        }
        CHECK_OK_ZERO(prom_error(p));
        CHECK(strstr(prom_text(p, NULL), "many_total{source=\"s4999\"} 4999\n") != NULL);
        CHECK(strstr(prom_text(p, NULL), "\nfamily_299 299\n") != NULL);
        prom_free(p);
}

TEST_MAIN()
