/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of check.h itself: each macro passes a good value and flags a bad
 * one, saying what came back, and evaluates its arguments once.  A
 * deliberate failure runs with stderr caught in a file and is then undone. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static FILE *s_caught;          /* where stderr goes while a failure is provoked */
static int s_saved_stderr;      /* the real stderr meanwhile */
static int s_failed_before;     /* check_failed_now before it */
static char s_said[512];        /* what the provoked failure printed */
static int s_calls;             /* calls of s_ret, for evaluated-once */
static bool s_went_on;          /* a REQUIRE let its function go on */

static int s_ret(int r)
{
        s_calls++;
        return r;
}

static void s_catch_begin(void)
{
        s_failed_before = check_failed_now;
        check_failed_now = 0;
        s_said[0] = '\0';
        fflush(stderr);
        s_caught = tmpfile();
        s_saved_stderr = dup(2);
        if (s_caught && s_saved_stderr >= 0)
                dup2(fileno(s_caught), 2);
}

/* Whether the check in between failed; its message is in s_said. */
static bool s_catch_end(void)
{
        bool failed = check_failed_now;

        fflush(stderr);
        if (s_saved_stderr >= 0) {
                dup2(s_saved_stderr, 2);
                close(s_saved_stderr);
        }
        if (s_caught) {
                size_t n;
                rewind(s_caught);
                n = fread(s_said, 1, sizeof s_said - 1, s_caught);
                s_said[n] = '\0';
                fclose(s_caught);
        }
        check_failed_now = s_failed_before;
        return failed;
}

/* stmt must fail and print text. */
#define FAILS_SAYING(stmt, text)                                             \
        do {                                                                 \
                s_catch_begin();                                             \
                stmt;                                                        \
                bool failed_ = s_catch_end();                                \
                CHECK(failed_);                                              \
                if (!strstr(s_said, text))                                   \
                        fprintf(stderr, "said \"%s\", not \"%s\"\n", s_said, \
                                text);                                       \
                CHECK(strstr(s_said, text) != NULL);                         \
        } while (0)

/* stmt must pass and print nothing. */
#define PASSES(stmt)                                                         \
        do {                                                                 \
                s_catch_begin();                                             \
                stmt;                                                        \
                bool failed_ = s_catch_end();                                \
                CHECK(!failed_);                                             \
                CHECK_STR(s_said, "");                                       \
        } while (0)

/* "-22 (Invalid argument)" in this libc's words. */
static const char *s_errno_text(int r)
{
        static char buf[4][128];
        static int i;
        char *b = buf[i++ % 4];
        snprintf(b, sizeof buf[0], "%d (%s)", r, strerror(-r));
        return b;
}

TEST(check_ok_wants_zero_or_more)
{
        PASSES(CHECK_OK(s_ret(0)));
        PASSES(CHECK_OK(s_ret(7)));
        FAILS_SAYING(CHECK_OK(s_ret(-EINVAL)), "CHECK_OK(s_ret(-EINVAL)) failed: ");
        FAILS_SAYING(CHECK_OK(s_ret(-EINVAL)), s_errno_text(-EINVAL));
}

TEST(check_ok_zero_wants_exactly_zero)
{
        PASSES(CHECK_OK_ZERO(s_ret(0)));
        FAILS_SAYING(CHECK_OK_ZERO(s_ret(1)), "CHECK_OK_ZERO(s_ret(1)) failed: 1\n");
        FAILS_SAYING(CHECK_OK_ZERO(s_ret(-ENOENT)), s_errno_text(-ENOENT));
}

TEST(check_errno_wants_that_errno)
{
        char want[300];

        PASSES(CHECK_ERRNO(s_ret(-EINVAL), -EINVAL));
        snprintf(want, sizeof want, "CHECK_ERRNO(s_ret(-ENOENT), -EINVAL) failed: %s, want %s\n",
                 s_errno_text(-ENOENT), s_errno_text(-EINVAL));
        FAILS_SAYING(CHECK_ERRNO(s_ret(-ENOENT), -EINVAL), want);
        snprintf(want, sizeof want, "failed: 0, want %s\n", s_errno_text(-EBADMSG));
        FAILS_SAYING(CHECK_ERRNO(s_ret(0), -EBADMSG), want);
        FAILS_SAYING(CHECK_ERRNO(s_ret(1), -EBADMSG), "failed: 1, want ");
}

TEST(check_fail_wants_any_error)
{
        PASSES(CHECK_FAIL(s_ret(-EIO)));
        PASSES(CHECK_FAIL(s_ret(-ENAMETOOLONG)));
        PASSES(CHECK_FAIL(s_ret(-1)));
        FAILS_SAYING(CHECK_FAIL(s_ret(0)), "CHECK_FAIL(s_ret(0)) failed: 0\n");
        FAILS_SAYING(CHECK_FAIL(s_ret(3)), "failed: 3\n");
}

TEST(check_eq_prints_both_sides)
{
        int64_t big = INT64_MIN;
        uint64_t ubig = UINT64_MAX;

        PASSES(CHECK_EQ_I(s_ret(-1), -1));
        PASSES(CHECK_EQ_I(big, INT64_MIN));
        FAILS_SAYING(CHECK_EQ_I(s_ret(-1), 1), "s_ret(-1) == 1 failed: -1 != 1\n");
        FAILS_SAYING(CHECK_EQ_I(big, 0), "failed: -9223372036854775808 != 0\n");
        PASSES(CHECK_EQ_U(ubig, UINT64_MAX));
        FAILS_SAYING(CHECK_EQ_U(ubig, 1), "ubig == 1 failed: 18446744073709551615 != 1\n");
        PASSES(CHECK_STR("ab", "ab"));
        FAILS_SAYING(CHECK_STR("ab", "abc"), "\"ab\" != \"abc\"\n");
        PASSES(CHECK(s_ret(1)));
        FAILS_SAYING(CHECK(s_ret(0)), "CHECK(s_ret(0)) failed\n");
}

static void s_require_ok(int r)
{
        s_went_on = false;
        REQUIRE_OK(s_ret(r));
        s_went_on = true;
}

static void s_require_ok_zero(int r)
{
        s_went_on = false;
        REQUIRE_OK_ZERO(s_ret(r));
        s_went_on = true;
}

static void s_require(int r)
{
        s_went_on = false;
        REQUIRE(s_ret(r));
        s_went_on = true;
}

TEST(require_stops_the_test)
{
        PASSES(s_require_ok(2));
        CHECK(s_went_on);
        FAILS_SAYING(s_require_ok(-EPERM), "REQUIRE_OK(s_ret(r)) failed: ");
        CHECK(!s_went_on);
        PASSES(s_require_ok_zero(0));
        CHECK(s_went_on);
        FAILS_SAYING(s_require_ok_zero(2), "REQUIRE_OK_ZERO(s_ret(r)) failed: 2\n");
        CHECK(!s_went_on);
        FAILS_SAYING(s_require_ok_zero(-EPERM), s_errno_text(-EPERM));
        CHECK(!s_went_on);
        PASSES(s_require(1));
        CHECK(s_went_on);
        FAILS_SAYING(s_require(0), "REQUIRE(s_ret(r)) failed\n");
        CHECK(!s_went_on);
}

TEST(arguments_evaluated_once)
{
        s_calls = 0;
        PASSES(CHECK_OK(s_ret(0)));
        FAILS_SAYING(CHECK_OK(s_ret(-EIO)), "");
        PASSES(CHECK_OK_ZERO(s_ret(0)));
        FAILS_SAYING(CHECK_OK_ZERO(s_ret(-EIO)), "");
        PASSES(CHECK_FAIL(s_ret(-EIO)));
        FAILS_SAYING(CHECK_FAIL(s_ret(0)), "");
        CHECK_EQ_I(s_calls, 6);

        s_calls = 0;
        PASSES(CHECK_ERRNO(s_ret(-EIO), s_ret(-EIO)));
        FAILS_SAYING(CHECK_ERRNO(s_ret(-EIO), s_ret(-EAGAIN)), "");
        PASSES(CHECK_EQ_I(s_ret(4), s_ret(4)));
        FAILS_SAYING(CHECK_EQ_I(s_ret(4), s_ret(5)), "");
        PASSES(CHECK_EQ_U(s_ret(4), s_ret(4)));
        FAILS_SAYING(CHECK_EQ_U(s_ret(4), s_ret(5)), "");
        CHECK_EQ_I(s_calls, 12);

        s_calls = 0;
        s_require_ok(0);
        s_require_ok_zero(0);
        FAILS_SAYING(s_require_ok(-EIO), "");
        FAILS_SAYING(s_require_ok_zero(1), "");
        CHECK_EQ_I(s_calls, 4);
}

TEST_MAIN()
