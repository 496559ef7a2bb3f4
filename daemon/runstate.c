/* SPDX-License-Identifier: Apache-2.0 */
/* runstate: STATE_DIR/last_run, the last run number started.  Owns no state
 * between calls; the write goes through a temporary file and a rename, so a
 * crash at any point leaves either the old number or the new one. */
#include "runstate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAX       32      /* bytes of a state file read, at most */

int runstate_parse(const char *text, size_t len, uint32_t *ret)
{
        uint64_t v = 0;
        size_t i = 0;

        if (len && text[len - 1] == '\n')
                len--;
        if (len == 0 || len > 10)
                return -EINVAL;
        for (; i < len; i++) {
                if (text[i] < '0' || text[i] > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t)(text[i] - '0');
        }
        if (v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t)v;
        return 0;
}

int runstate_load(const char *dir, uint32_t *ret_run, char *err, size_t errlen)
{
        char path[4200], buf[STATE_MAX + 1];
        ssize_t n;
        int fd, r;

        if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
                r = -errno;
                snprintf(err, errlen, "state_dir %s: cannot create it: %s", dir, strerror(-r));
                return r;
        }
        snprintf(path, sizeof path, "%s/%s", dir, RUNSTATE_FILE);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                /* no run yet: the first save must be able to write here */
                if (access(dir, W_OK | X_OK) == 0)
                        return 0;
                r = -errno;
                snprintf(err, errlen, "state_dir %s: cannot write there: %s", dir,
                         strerror(-r));
                return r;
        }
        if (fd < 0) {
                r = -errno;
                snprintf(err, errlen, "%s: cannot read it: %s", path, strerror(-r));
                return r;
        }
        n = read(fd, buf, STATE_MAX + 1);
        r = n < 0 ? -errno : 0;
        close(fd);
        if (r < 0) {
                snprintf(err, errlen, "%s: cannot read it: %s", path, strerror(-r));
                return r;
        }
        if (runstate_parse(buf, (size_t)n, ret_run) < 0) {
                snprintf(err, errlen, "%s: not a run number (expected one decimal number "
                         "0..4294967295 and a newline); fix or remove it, knowing that run "
                         "numbers then start again from 1", path);
                return -EINVAL;
        }
        return 1;
}

int runstate_save(const char *dir, uint32_t run, char *err, size_t errlen)
{
        char tmp[4200], path[4200], text[16];
        const char *step = "open";
        int len = snprintf(text, sizeof text, "%" PRIu32 "\n", run);
        int fd, dfd = -1, r = 0;

        snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, RUNSTATE_FILE);
        snprintf(path, sizeof path, "%s/%s", dir, RUNSTATE_FILE);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd < 0)
                goto fail;
        step = "write";
        if (write(fd, text, (size_t)len) != len) {
                if (errno == 0)
                        errno = ENOSPC;
                goto fail;
        }
        step = "fsync";
        if (fsync(fd) < 0)
                goto fail;
        step = "close";
        r = close(fd);
        fd = -1;
        if (r < 0)
                goto fail;
        step = "rename";
        if (rename(tmp, path) < 0)
                goto fail;
        step = "fsync the directory of";
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
                goto fail;
        close(dfd);
        return 0;
fail:
        r = -errno;
        if (fd >= 0)
                close(fd);
        if (dfd >= 0)
                close(dfd);
        snprintf(err, errlen, "%s: cannot %s it: %s", strcmp(step, "rename") ? tmp : path, step,
                 strerror(-r));
        return r;
}
