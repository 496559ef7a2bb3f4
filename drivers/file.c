/* SPDX-License-Identifier: Apache-2.0 */
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
#include "config.h"
#include "fragment.h"

#define FILE_CHUNK      (256u << 10)
#define FILE_IDLE_MS    20              /* BUSY or end of a followed file: recheck period */

/* [source.NAME] with driver = file. */
struct file_options {
        char path[CONFIG_PATH_MAX];     /* the raw file */
        bool follow;                    /* at its end, wait for it to grow */
        double rate_hz;                 /* fragments per second; 0: as fast as possible */
        uint64_t stall_after_fragments; /* test aid: hold the thread once, after this many */
        uint64_t stall_ms;              /* ... for this long; 0: never */
};
_Static_assert(sizeof(struct file_options) <= DRIVER_OPTIONS_MAX, "file options too big");

static const struct driver_key s_keys[] = {
        { .name = "path", .type = DRIVER_KEY_STRING, DRIVER_FIELD(struct file_options, path),
          .required = true, .help = "the raw file to read" },
        { .name = "follow", .type = DRIVER_KEY_BOOL, DRIVER_FIELD(struct file_options, follow),
          .def = "no", .help = "yes: at the end, wait for the file to grow until stop" },
        { .name = "rate_hz", .type = DRIVER_KEY_DOUBLE, DRIVER_FIELD(struct file_options, rate_hz),
          .fmin = 0, .fmax = 1e9, .def = "0",
          .help = "fragments per second; 0: as fast as possible" },
        { .name = "stall_after_fragments", .type = DRIVER_KEY_UINT,
          DRIVER_FIELD(struct file_options, stall_after_fragments), .min = 0, .max = UINT64_MAX,
          .def = "0", .help = "test aid: after this many reads of a run, stall_ms applies once" },
        { .name = "stall_ms", .type = DRIVER_KEY_UINT, DRIVER_FIELD(struct file_options, stall_ms),
          .min = 0, .max = 3600000, .def = "0",
          .help = "test aid: the read then blocks this long, as a thread that gets no CPU "
                  "would (0: never)" },
        { .name = NULL }
};

struct driver_handle {
        char path[CONFIG_PATH_MAX];
        bool follow;
        double rate_hz;                 /* 0: as fast as possible */
        uint64_t stall_after, stall_ms; /* the test aid, once per run */
        bool stalled;                   /* it took place this run */
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

static int s_open(driver_handle_t **ret, const void *options, char *err, size_t errlen)
{
        const struct file_options *cfg = options;
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
        h->stall_after = cfg->stall_after_fragments;
        h->stall_ms = cfg->stall_ms;
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
        h->stalled = false;
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
        if (h->stall_ms && !h->stalled && h->delivered >= h->stall_after) {
                /* the test aid: a thread that gets no CPU, past any timeout */
                h->stalled = true;
                struct timespec ts = { .tv_sec = (time_t)(h->stall_ms / 1000),
                                       .tv_nsec = (long)(h->stall_ms % 1000) * 1000000 };
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
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
        .help = "read a recorded raw file",
        .keys = s_keys,
        .options_size = sizeof(struct file_options),
        .open = s_open,
        .start = s_start,
        .stop = s_stop,
        .busy = s_busy,
        .read = s_read,
        .close = s_close,
};
