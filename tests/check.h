/* SPDX-License-Identifier: Apache-2.0 */
/* check: the unit-test harness.  A test file defines TEST(name) functions
 * and ends with TEST_MAIN(); each CHECK that fails prints file:line, the
 * expression and what came back, marks the test failed and goes on.  The
 * program prints one line per test and exits 1 if any failed; tests/run.sh
 * adds them up. */
#ifndef DARKDAQ_CHECK_H
#define DARKDAQ_CHECK_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*check_fn)(void);
struct check_test { const char *name; check_fn fn; };

extern int check_failed_now;
extern struct check_test check_tests[256];
extern int check_n_tests;

#define TEST(name)                                                           \
        static void test_##name(void);                                       \
        __attribute__((constructor)) static void reg_##name(void)            \
        {                                                                    \
                check_tests[check_n_tests++] =                               \
                        (struct check_test){ #name, test_##name };           \
        }                                                                    \
        static void test_##name(void)

#define CHECK(expr)                                                          \
        do {                                                                 \
                if (!(expr)) {                                               \
                        fprintf(stderr, "%s:%d: CHECK(%s) failed\n",         \
                                __FILE__, __LINE__, #expr);                  \
                        check_failed_now = 1;                                \
                }                                                            \
        } while (0)

#define CHECK_EQ_U(a, b)                                                     \
        do {                                                                 \
                uint64_t ca_ = (uint64_t)(a), cb_ = (uint64_t)(b);           \
                if (ca_ != cb_) {                                            \
                        fprintf(stderr, "%s:%d: %s == %s failed: %" PRIu64   \
                                " != %" PRIu64 "\n", __FILE__, __LINE__,     \
                                #a, #b, ca_, cb_);                           \
                        check_failed_now = 1;                                \
                }                                                            \
        } while (0)

#define CHECK_EQ_I(a, b)                                                     \
        do {                                                                 \
                int64_t ca_ = (int64_t)(a), cb_ = (int64_t)(b);              \
                if (ca_ != cb_) {                                            \
                        fprintf(stderr, "%s:%d: %s == %s failed: %" PRId64   \
                                " != %" PRId64 "\n", __FILE__, __LINE__,     \
                                #a, #b, ca_, cb_);                           \
                        check_failed_now = 1;                                \
                }                                                            \
        } while (0)

#define CHECK_STR(a, b)                                                      \
        do {                                                                 \
                const char *ca_ = (a), *cb_ = (b);                           \
                if (strcmp(ca_, cb_) != 0) {                                 \
                        fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n",         \
                                __FILE__, __LINE__, ca_, cb_);               \
                        check_failed_now = 1;                                \
                }                                                            \
        } while (0)

/* Stops the current test (for a precondition that the rest depends on). */
#define REQUIRE(expr)                                                        \
        do {                                                                 \
                if (!(expr)) {                                               \
                        fprintf(stderr, "%s:%d: REQUIRE(%s) failed\n",       \
                                __FILE__, __LINE__, #expr);                  \
                        check_failed_now = 1;                                \
                        return;                                              \
                }                                                            \
        } while (0)

/* Error returns, by the project's rule (STYLE.md): a fallible function
 * returns >= 0 on success (0, or a count) and -errno on failure.
 *   CHECK_OK(expr)            expr >= 0
 *   CHECK_OK_ZERO(expr)       expr == 0 exactly
 *   CHECK_ERRNO(expr, -EBAR)  expr == -EBAR exactly
 *   CHECK_FAIL(expr)          expr < 0, any error
 *   REQUIRE_OK, REQUIRE_OK_ZERO: the same, and stop the current test.
 * A failure prints the value that came back, with its strerror when
 * negative.  Not for libc's -1-and-errno returns.  Each macro evaluates its
 * arguments once. */
static inline void check_report_result(const char *file, int line, const char *check,
                                       const char *expr, int64_t got)
{
        if (got < 0)
                fprintf(stderr, "%s:%d: %s(%s) failed: %" PRId64 " (%s)\n", file, line,
                        check, expr, got, strerror((int)-got));
        else
                fprintf(stderr, "%s:%d: %s(%s) failed: %" PRId64 "\n", file, line,
                        check, expr, got);
        check_failed_now = 1;
}

static inline void check_report_errno(const char *file, int line, const char *expr,
                                      const char *want_text, int64_t got, int64_t want)
{
        char got_text[128] = "";

        if (got < 0)
                snprintf(got_text, sizeof got_text, " (%s)", strerror((int)-got));
        fprintf(stderr, "%s:%d: CHECK_ERRNO(%s, %s) failed: %" PRId64 "%s, want %" PRId64
                " (%s)\n", file, line, expr, want_text, got, got_text, want,
                strerror((int)-want));
        check_failed_now = 1;
}

#define CHECK_RESULT_(check, expr, text, want, or_else)                      \
        do {                                                                 \
                int64_t cr_ = (int64_t)(expr);                               \
                if (!(want)) {                                               \
                        check_report_result(__FILE__, __LINE__, check, text, \
                                            cr_);                            \
                        or_else;                                             \
                }                                                            \
        } while (0)

#define CHECK_OK(expr)          CHECK_RESULT_("CHECK_OK", expr, #expr, cr_ >= 0, )
#define CHECK_OK_ZERO(expr)     CHECK_RESULT_("CHECK_OK_ZERO", expr, #expr, cr_ == 0, )
#define CHECK_FAIL(expr)        CHECK_RESULT_("CHECK_FAIL", expr, #expr, cr_ < 0, )
#define REQUIRE_OK(expr)        CHECK_RESULT_("REQUIRE_OK", expr, #expr, cr_ >= 0, return)
#define REQUIRE_OK_ZERO(expr)   CHECK_RESULT_("REQUIRE_OK_ZERO", expr, #expr, cr_ == 0, return)

#define CHECK_ERRNO(expr, want)                                              \
        do {                                                                 \
                int64_t cr_ = (int64_t)(expr), cw_ = (int64_t)(want);        \
                if (cr_ != cw_)                                              \
                        check_report_errno(__FILE__, __LINE__, #expr, #want, \
                                           cr_, cw_);                        \
        } while (0)

/* Directory of the reference data (tests/data: streams and the expected output
 * of an independent implementation). */
#define TEST_DATA(rel) (getenv("DARKDAQ_TEST_DATA") ? getenv("DARKDAQ_TEST_DATA") : "tests/data"), rel

#define TEST_MAIN()                                                          \
        int check_failed_now;                                                \
        struct check_test check_tests[256];                                  \
        int check_n_tests;                                                   \
        int main(int argc, char **argv)                                      \
        {                                                                    \
                int failed = 0;                                              \
                for (int i = 0; i < check_n_tests; i++) {                    \
                        if (argc > 1 && !strstr(check_tests[i].name, argv[1])) \
                                continue;                                    \
                        check_failed_now = 0;                                \
                        check_tests[i].fn();                                 \
                        printf("%s %s\n", check_failed_now ? "FAIL" : "ok  ", \
                               check_tests[i].name);                         \
                        failed += check_failed_now;                          \
                }                                                            \
                return failed ? 1 : 0;                                       \
        }

#endif
