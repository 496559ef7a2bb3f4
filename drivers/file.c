/* file: a source that reads a recorded raw file as if a board sent it:
 * optionally paced at rate_hz fragments per second, optionally following a
 * file that grows (tail -f), pausing while BUSY.  Reads only; never parses
 * beyond a header's length field (for pacing). */
#include "driver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fragment.h"

#define FILE_CHUNK      (256u << 10)
#define FILE_IDLE_MS    20              /* BUSY or end of a followed file: recheck period */

struct driver_handle {
        char path[CONFIG_PATH_MAX];
        bool follow;
        double rate_hz;                 /* 0: as fast as possible */
        int fd;                         /* -1 outside a run */
        _Atomic bool busy;              /* BUSY asserted */
        _Atomic bool running;           /* RUN on */
        uint64_t pos;                   /* bytes delivered this run */
        uint64_t delivered;             /* paced deliveries this run */
        uint64_t t0_ns;                 /* CLOCK_MONOTONIC at start */
};

static void s_wait_ms(int ms)
{
        poll(NULL, 0, ms);
}

static int s_open(driver_handle_t **ret, const struct source_config *cfg, char *err,
                  size_t errlen)
{
        if (access(cfg->path, R_OK) < 0) {
                int e = errno;
                snprintf(err, errlen, "%s: cannot read: %s", cfg->path, strerror(e));
                return -e;
        }
        driver_handle_t *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        snprintf(h->path, sizeof h->path, "%s", cfg->path);
        h->follow = cfg->follow;
        h->rate_hz = cfg->rate_hz;
        h->fd = -1;
        *ret = h;
        return 0;
}

static int s_start(driver_handle_t *h, char *err, size_t errlen)
{
        if (h->fd >= 0)
                close(h->fd);
        h->fd = open(h->path, O_RDONLY | O_CLOEXEC);
        if (h->fd < 0) {
                int e = errno;
                snprintf(err, errlen, "%s: cannot open: %s", h->path, strerror(e));
                return -e;
        }
        h->pos = h->delivered = 0;
        h->t0_ns = clock_mono_ns();
        atomic_store(&h->running, true);
        return 0;
}

static void s_stop(driver_handle_t *h)
{
        atomic_store(&h->running, false);
}

static void s_busy(driver_handle_t *h, bool on)
{
        atomic_store(&h->busy, on);
}

/* pread of up to len bytes at h->pos; returns bytes, or -errno. */
static ssize_t s_pread(driver_handle_t *h, void *buf, size_t len)
{
        for (;;) {
                ssize_t n = pread(h->fd, buf, len, (off_t)h->pos);
                if (n >= 0 || errno != EINTR)
                        return n < 0 ? -errno : n;
        }
}

/* One fragment (by its header's length) or one 4-byte word that begins none. */
static size_t s_next_size(const uint8_t *hdr, size_t have)
{
        struct frag_header fh;
        if (have < FRAG_HEADER_BYTES)
                return have;
        frag_header_decode(hdr, &fh);
        if (frag_header_check(&fh, NULL) != FRAG_OK)
                return 4;
        return FRAG_OVERHEAD + fh.payload_bytes;
}

static ssize_t s_read(driver_handle_t *h, void *buf, size_t len, int timeout_ms, char *err,
                      size_t errlen)
{
        ssize_t n;

        if (!atomic_load(&h->running) || h->fd < 0)
                return DRIVER_END;
        if (atomic_load(&h->busy)) {
                s_wait_ms(timeout_ms < FILE_IDLE_MS ? timeout_ms : FILE_IDLE_MS);
                return 0;
        }
        if (h->rate_hz > 0) {
                uint64_t due = h->t0_ns + (uint64_t)((double)h->delivered * 1e9 / h->rate_hz);
                uint64_t now = clock_mono_ns();
                if (now < due) {
                        uint64_t ms = (due - now + 999999) / 1000000;
                        s_wait_ms(ms < (uint64_t)timeout_ms ? (int)ms : timeout_ms);
                        if (clock_mono_ns() < due)
                                return 0;
                }
                n = s_pread(h, buf, FRAG_HEADER_BYTES);
                if (n > 0) {
                        size_t want = s_next_size(buf, (size_t)n);
                        n = s_pread(h, buf, want < len ? want : len);
                        if (n > 0 && (size_t)n < want && h->follow)
                                n = 0;          /* wait for the rest of it */
                }
        } else {
                n = s_pread(h, buf, len < FILE_CHUNK ? len : FILE_CHUNK);
        }
        if (n < 0) {
                snprintf(err, errlen, "%s: read error at byte %llu: %s", h->path,
                         (unsigned long long)h->pos, strerror((int)-n));
                return n;
        }
        if (n == 0) {
                if (!h->follow)
                        return DRIVER_END;
                s_wait_ms(timeout_ms < FILE_IDLE_MS ? timeout_ms : FILE_IDLE_MS);
                return 0;
        }
        h->pos += (uint64_t)n;
        h->delivered++;
        return n;
}

static void s_close(driver_handle_t *h)
{
        if (!h)
                return;
        if (h->fd >= 0)
                close(h->fd);
        free(h);
}

const struct driver driver_file = {
        .name = "file",
        .open = s_open,
        .start = s_start,
        .stop = s_stop,
        .busy = s_busy,
        .read = s_read,
        .close = s_close,
};
