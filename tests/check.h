/* check: the unit-test harness.  A test file defines TEST(name) functions
 * and ends with TEST_MAIN(); each CHECK that fails prints file:line and the
 * expression, marks the test failed and goes on.  The program prints one
 * line per test and exits 1 if any failed; tests/run.sh adds them up. */
#ifndef DARKDAQ_CHECK_H
#define DARKDAQ_CHECK_H

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

/* Directory of the reference data copied from ../shared/data. */
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
