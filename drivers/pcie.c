/* SPDX-License-Identifier: Apache-2.0 */
/* pcie: a source that reads a board's PCIe DMA ring: the device's mapping
 * (/dev/dkpcieN) or a regular file with the same layout that darkdaq-sim
 * --pcie writes.  RUN and BUSY go through CTRL; OVERFLOW and DROPPED (loss
 * upstream of the host) are reported through health().  The ring protocol
 * itself is pcie_ring.c. */
#include "driver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "pcie_ring.h"

#define PCIE_IDLE_MS    1               /* empty ring: recheck period */

/* [source.NAME] with driver = pcie. */
struct pcie_options {
        char path[CONFIG_PATH_MAX];     /* the device, or a ring file */
};
_Static_assert(sizeof(struct pcie_options) <= DRIVER_OPTIONS_MAX, "pcie options too big");

static const struct driver_key s_keys[] = {
        { .name = "path", .type = DRIVER_KEY_STRING, DRIVER_FIELD(struct pcie_options, path),
          .required = true,
          .help = "the device (/dev/dkpcie0) or a ring file of darkdaq-sim --pcie" },
        { .name = NULL }
};

struct driver_handle {
        char path[CONFIG_PATH_MAX];
        void *map;
        size_t map_len;
        struct pcie_ring ring;
        _Atomic bool running;           /* RUN on */
};

static int s_open(driver_handle_t **ret, const void *options, char *err, size_t errlen)
{
        const struct pcie_options *cfg = options;
        struct stat st;
        char e[160];
        int fd = open(cfg->path, O_RDWR | O_CLOEXEC);

        if (fd < 0) {
                int x = errno;
                snprintf(err, errlen, "%s: cannot open the PCIe ring: %s", cfg->path, strerror(x));
                return -x;
        }
        driver_handle_t *h = calloc(1, sizeof(*h));
        if (!h) {
                close(fd);
                return -ENOMEM;
        }
        snprintf(h->path, sizeof h->path, "%s", cfg->path);
        /* a device reports no size: map what its registers say it holds */
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
                h->map_len = (size_t)st.st_size;
        } else {
                uint32_t ring_bytes = 0;
                void *regs = mmap(NULL, PCIE_REGS_BYTES, PROT_READ, MAP_SHARED, fd, 0);
                if (regs != MAP_FAILED) {
                        memcpy(&ring_bytes, (uint8_t *)regs + PCIE_REG_RING, 4);
                        munmap(regs, PCIE_REGS_BYTES);
                }
                h->map_len = pcie_map_bytes(ring_bytes);
        }
        h->map = mmap(NULL, h->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (h->map == MAP_FAILED) {
                int x = errno;
                snprintf(err, errlen, "%s: cannot map %zu bytes: %s", cfg->path, h->map_len,
                         strerror(x));
                free(h);
                return -x;
        }
        if (pcie_ring_attach(&h->ring, h->map, h->map_len, e, sizeof e) < 0) {
                snprintf(err, errlen, "%s: not a PCIe ring: %s", cfg->path, e);
                munmap(h->map, h->map_len);
                free(h);
                return -EINVAL;
        }
        *ret = h;
        return 0;
}

static int s_start(driver_handle_t *h, char *err, size_t errlen)
{
        (void)err;
        (void)errlen;
        atomic_store(&h->running, true);
        pcie_ring_set_ctrl(&h->ring, PCIE_CTRL_RUN, true);
        return 0;
}

static void s_stop(driver_handle_t *h)
{
        pcie_ring_set_ctrl(&h->ring, PCIE_CTRL_RUN, false);
        atomic_store(&h->running, false);
}

static void s_busy(driver_handle_t *h, bool on)
{
        pcie_ring_set_ctrl(&h->ring, PCIE_CTRL_BUSY, on);
}

/* Copies what the ring holds (up to len) and gives it back to the FPGA at
 * once: the stream reader keeps what it still needs. */
static ssize_t s_read(driver_handle_t *h, void *buf, size_t len, int timeout_ms, char *err,
                      size_t errlen)
{
        for (int waited = 0;; waited += PCIE_IDLE_MS) {
                bool running = atomic_load(&h->running);
                const uint8_t *p1, *p2;
                size_t n1, n2;
                int64_t avail = pcie_ring_peek(&h->ring, &p1, &n1, &p2, &n2);
                if (avail < 0) {
                        snprintf(err, errlen, "%s: WR_PTR is behind RD_PTR or more than a ring "
                                 "ahead: the device broke the ring protocol", h->path);
                        return -EIO;
                }
                if (avail > 0) {
                        if (n1 > len)
                                n1 = len;
                        if (n2 > len - n1)
                                n2 = len - n1;
                        memcpy(buf, p1, n1);
                        memcpy((uint8_t *)buf + n1, p2, n2);
                        pcie_ring_consume(&h->ring, n1 + n2);
                        return (ssize_t)(n1 + n2);
                }
                if (!running)
                        return DRIVER_END;
                if (waited >= timeout_ms)
                        return 0;
                poll(NULL, 0, PCIE_IDLE_MS);
        }
}

static void s_health(driver_handle_t *h, struct driver_health *ret)
{
        ret->upstream_dropped = pcie_ring_dropped(&h->ring);
        ret->overflow = pcie_ring_overflow(&h->ring);
        ret->attached = true;
}

static void s_close(driver_handle_t *h)
{
        if (!h)
                return;
        s_stop(h);
        munmap(h->map, h->map_len);
        free(h);
}

const struct driver driver_pcie = {
        .name = "pcie",
        .help = "a board's PCIe DMA ring",
        .keys = s_keys,
        .options_size = sizeof(struct pcie_options),
        .open = s_open,
        .start = s_start,
        .stop = s_stop,
        .busy = s_busy,
        .read = s_read,
        .close = s_close,
        .health = s_health,
};
