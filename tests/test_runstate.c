/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the run-number state file: the parser's bounds, a save that a
 * later load reads back, a missing file, a damaged one, a directory that
 * cannot be written, and that no temporary file is left behind. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "runstate.h"

static int s_parse(const char *text, uint32_t *run)
{
        return runstate_parse(text, strlen(text), run);
}

TEST(parse)
{
        uint32_t run = 0;
        CHECK_OK_ZERO(s_parse("12\n", &run));
        CHECK_EQ_U(run, 12);
        CHECK_OK_ZERO(s_parse("4294967295", &run));
        CHECK_EQ_U(run, 4294967295u);
        CHECK_OK_ZERO(s_parse("0\n", &run));
        CHECK_EQ_U(run, 0);
        const char *bad[] = { "", "\n", "4294967296\n", "12\n\n", " 12\n", "12 \n", "-1\n",
                              "0x10\n", "99999999999\n", "1\0002" };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                run = 77;
                CHECK_ERRNO(runstate_parse(bad[i], i == 9 ? 3 : strlen(bad[i]), &run), -EINVAL);
                CHECK_EQ_U(run, 77);    /* written only on success */
        }
}

static void s_tmpdir(char *dir, size_t len)
{
        const char *t = getenv("TMPDIR");
        snprintf(dir, len, "%s/runstate-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir))
                CHECK(!"mkdtemp");
}

TEST(save_then_load)
{
        char dir[256], sub[300], path[400], err[512];
        uint32_t run = 0;
        s_tmpdir(dir, sizeof dir);
        snprintf(sub, sizeof sub, "%s/daemon", dir);
        /* a missing state_dir is created, and holds no run yet */
        CHECK_EQ_I(runstate_load(sub, &run, err, sizeof err), 0);
        CHECK_OK_ZERO(runstate_save(sub, 41, err, sizeof err));
        CHECK_EQ_I(runstate_load(sub, &run, err, sizeof err), 1);
        CHECK_EQ_U(run, 41);
        CHECK_OK_ZERO(runstate_save(sub, 42, err, sizeof err));
        CHECK_EQ_I(runstate_load(sub, &run, err, sizeof err), 1);
        CHECK_EQ_U(run, 42);
        snprintf(path, sizeof path, "%s/last_run.tmp", sub);
        CHECK(access(path, F_OK) < 0);
        /* a damaged file is an error naming it */
        snprintf(path, sizeof path, "%s/last_run", sub);
        FILE *f = fopen(path, "w");
        fputs("forty\n", f);
        fclose(f);
        CHECK_ERRNO(runstate_load(sub, &run, err, sizeof err), -EINVAL);
        CHECK(strstr(err, path) && strstr(err, "not a run number"));
        unlink(path);
        rmdir(sub);
        rmdir(dir);
}

TEST(unwritable_dir_is_an_error_naming_it)
{
        char err[512];
        uint32_t run;
        if (geteuid() == 0)
                return;         /* root writes anywhere */
        CHECK(runstate_load("/proc/darkdaq-no-such", &run, err, sizeof err) < 0);
        CHECK(strstr(err, "/proc/darkdaq-no-such") != NULL);
        CHECK(runstate_save("/proc", 3, err, sizeof err) < 0);
        CHECK(strstr(err, "/proc/last_run.tmp") != NULL);
}

TEST_MAIN()
