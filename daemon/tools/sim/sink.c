/* SPDX-License-Identifier: Apache-2.0 */
/* sim_sink: the file/descriptor sink, with its own 64 KiB buffer and a
 * write(2) loop that survives short writes and EINTR. */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "clock.h"
#include "pcie_ring.h"
#include <string.h>
#include <unistd.h>

#define FD_SINK_BUFFER  65536

struct fd_sink {
        sim_sink_t base;                /* first: the public part */
        int fd;
        int close_fd;                   /* close fd when the sink closes */
        int error;                      /* first -errno seen, sticky */
        size_t used;                    /* bytes waiting in buf */
        char *name;                     /* owned copy */
        unsigned char buf[FD_SINK_BUFFER];
};

static int s_write_all(int fd, const unsigned char *p, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static int s_flush(struct fd_sink *f)
{
        if (!f->error && f->used)
                f->error = s_write_all(f->fd, f->buf, f->used);
        f->used = 0;
        return f->error;
}

static int s_fd_write(sim_sink_t *s, const void *buf, size_t len)
{
        struct fd_sink *f = (struct fd_sink *)s;

        if (f->error)
                return f->error;
        if (f->used + len > sizeof(f->buf)) {
                if (s_flush(f))
                        return f->error;
                if (len >= sizeof(f->buf))
                        return f->error = s_write_all(f->fd, buf, len);
        }
        memcpy(f->buf + f->used, buf, len);
        f->used += len;
        return 0;
}

static int s_fd_flush(sim_sink_t *s)
{
        return s_flush((struct fd_sink *)s);
}

static int s_null_write(sim_sink_t *s, const void *buf, size_t len)
{
        (void)s, (void)buf, (void)len;
        return 0;
}

static int s_null_flush(sim_sink_t *s)
{
        (void)s;
        return 0;
}

static int s_null_close(sim_sink_t *s)
{
        free(s);
        return 0;
}

sim_sink_t *sim_sink_null_new(const char *name)
{
        sim_sink_t *s = malloc(sizeof(*s));

        if (s)
                *s = (sim_sink_t){ s_null_write, s_null_close, name, s_null_flush };
        return s;
}

static int s_fd_close(sim_sink_t *s)
{
        struct fd_sink *f = (struct fd_sink *)s;
        int r = s_flush(f);

        if (f->close_fd && close(f->fd) < 0 && !r)
                r = -errno;
        free(f->name);
        free(f);
        return r;
}

sim_sink_t *sim_sink_fd_new(int fd, const char *name, int close_fd)
{
        struct fd_sink *f = calloc(1, sizeof(*f));

        if (!f)
                return NULL;
        f->name = strdup(name);
        if (!f->name) {
                free(f);
                return NULL;
        }
        f->fd = fd;
        f->close_fd = close_fd;
        f->base = (sim_sink_t){ s_fd_write, s_fd_close, f->name, s_fd_flush };
        return &f->base;
}

sim_sink_t *sim_sink_file_open(const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        sim_sink_t *s;

        if (fd < 0)
                return NULL;
        s = sim_sink_fd_new(fd, path, 1);
        if (!s) {
                int e = errno;

                close(fd);
                errno = e;
        }
        return s;
}

int sim_sink_close(sim_sink_t *s)
{
        return s ? s->close(s) : 0;
}

/* ---- the FPGA side of a PCIe ring file ---- */

struct pcie_sink {
        sim_sink_t base;
        struct pcie_ring ring;
        void *map;
        size_t map_len;
        unsigned timeout_ms;
        uint64_t dropped;
        char *name;
};

static void s_pause_briefly(void)
{
        struct timespec ts = { 0, 200000 };     /* the FPGA polls; 0.2 ms */
        nanosleep(&ts, NULL);
}

static int s_pcie_write(sim_sink_t *s, const void *buf, size_t len)
{
        struct pcie_sink *p = (struct pcie_sink *)s;
        uint64_t deadline = 0;

        if (len > p->ring.size) {
                pcie_fpga_drop(&p->ring);
                p->dropped++;
                return 0;
        }
        for (;;) {
                int r = pcie_fpga_write(&p->ring, buf, len);
                if (r == 1)
                        return 0;
                if (r == -EAGAIN) {             /* not running: wait for RUN */
                        s_pause_briefly();
                        deadline = 0;
                        continue;
                }
                uint64_t now = clock_mono_ms();
                if (!deadline)
                        deadline = now + p->timeout_ms;
                if (now >= deadline) {
                        pcie_fpga_drop(&p->ring);
                        p->dropped++;
                        return 0;
                }
                s_pause_briefly();
        }
}

static int s_pcie_flush(sim_sink_t *s)
{
        (void)s;
        return 0;
}

static int s_pcie_close(sim_sink_t *s)
{
        struct pcie_sink *p = (struct pcie_sink *)s;
        int r = msync(p->map, p->map_len, MS_SYNC) < 0 ? -errno : 0;
        munmap(p->map, p->map_len);
        free(p->name);
        free(p);
        return r;
}

sim_sink_t *sim_sink_pcie_new(const char *path, uint64_t ring_bytes, unsigned timeout_ms)
{
        struct pcie_sink *p = calloc(1, sizeof(*p));
        int fd = -1, e;

        if (!p)
                return NULL;
        p->map_len = pcie_map_bytes(ring_bytes);
        p->timeout_ms = timeout_ms;
        p->name = strdup(path);
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (!p->name || fd < 0 || ftruncate(fd, (off_t)p->map_len) < 0)
                goto fail;
        p->map = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p->map == MAP_FAILED)
                goto fail;
        close(fd);
        if (pcie_fpga_init(&p->ring, p->map, ring_bytes) < 0) {
                munmap(p->map, p->map_len);
                errno = EINVAL;
                fd = -1;
                goto fail;
        }
        p->base = (sim_sink_t){ s_pcie_write, s_pcie_close, p->name, s_pcie_flush };
        return &p->base;
fail:
        e = errno;
        if (fd >= 0)
                close(fd);
        free(p->name);
        free(p);
        errno = e;
        return NULL;
}

uint64_t sim_sink_pcie_dropped(const sim_sink_t *s)
{
        return ((const struct pcie_sink *)s)->dropped;
}
