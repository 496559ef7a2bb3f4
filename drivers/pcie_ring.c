/* SPDX-License-Identifier: Apache-2.0 */
/* pcie_ring: the DMA ring protocol.  The registers live in memory another
 * agent writes, so every access goes through __atomic builtins: WR_PTR is
 * read with acquire (the data it covers was written before it) and RD_PTR
 * stored with release (the host has finished with the bytes below it); the
 * FPGA side does the mirror image. */
#include "pcie_ring.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static inline uint32_t *s_reg32(const struct pcie_ring *r, unsigned off)
{
        return (uint32_t *)(void *)(r->regs + off);
}

static inline uint64_t *s_reg64(const struct pcie_ring *r, unsigned off)
{
        return (uint64_t *)(void *)(r->regs + off);
}

int pcie_ring_attach(struct pcie_ring *r, void *map, size_t map_len, char *err, size_t errlen)
{
        struct pcie_ring t = { .regs = map };
        uint32_t id, version, size;

        if (map_len < PCIE_REGS_BYTES + PCIE_MIN_RING) {
                snprintf(err, errlen, "mapping of %zu bytes is smaller than the registers and "
                         "the smallest ring (%u bytes)", map_len, PCIE_REGS_BYTES + PCIE_MIN_RING);
                return -EINVAL;
        }
        id = __atomic_load_n(s_reg32(&t, PCIE_REG_ID), __ATOMIC_RELAXED);
        version = __atomic_load_n(s_reg32(&t, PCIE_REG_VERSION), __ATOMIC_RELAXED);
        size = __atomic_load_n(s_reg32(&t, PCIE_REG_RING), __ATOMIC_RELAXED);
        if (id != PCIE_ID) {
                snprintf(err, errlen, "register ID is 0x%08" PRIx32 ", expected \"DKPC\" "
                         "(0x%08x)", id, PCIE_ID);
                return -EINVAL;
        }
        if (version != PCIE_VERSION) {
                snprintf(err, errlen, "register VERSION is %" PRIu32 ", expected 1", version);
                return -EINVAL;
        }
        if (size < PCIE_MIN_RING || (size & (size - 1))) {
                snprintf(err, errlen, "register RING_BYTES is %" PRIu32 ", expected a power of "
                         "two >= 65536", size);
                return -EINVAL;
        }
        if (map_len < pcie_map_bytes(size)) {
                snprintf(err, errlen, "register RING_BYTES is %" PRIu32 " but the mapping holds "
                         "only %zu bytes of ring", size, map_len - PCIE_REGS_BYTES);
                return -EINVAL;
        }
        t.ring = t.regs + PCIE_REGS_BYTES;
        t.size = size;
        t.rd = __atomic_load_n(s_reg64(&t, PCIE_REG_RD_PTR), __ATOMIC_RELAXED);
        *r = t;
        return 0;
}

int64_t pcie_ring_peek(struct pcie_ring *r, const uint8_t **p1, size_t *n1,
                       const uint8_t **p2, size_t *n2)
{
        uint64_t wr = __atomic_load_n(s_reg64(r, PCIE_REG_WR_PTR), __ATOMIC_ACQUIRE);
        uint64_t avail = wr - r->rd;

        *p1 = *p2 = r->ring;
        *n1 = *n2 = 0;
        if (wr < r->rd || avail > r->size)
                return -EIO;
        uint64_t at = r->rd & (r->size - 1);
        uint64_t first = r->size - at < avail ? r->size - at : avail;
        *p1 = r->ring + at;
        *n1 = (size_t)first;
        *n2 = (size_t)(avail - first);
        return (int64_t)avail;
}

void pcie_ring_consume(struct pcie_ring *r, uint64_t n)
{
        r->rd += n;
        __atomic_store_n(s_reg64(r, PCIE_REG_RD_PTR), r->rd, __ATOMIC_RELEASE);
}

void pcie_ring_set_ctrl(struct pcie_ring *r, uint32_t bits, bool on)
{
        uint32_t *ctrl = s_reg32(r, PCIE_REG_CTRL);
        if (on)
                __atomic_fetch_or(ctrl, bits, __ATOMIC_RELEASE);
        else
                __atomic_fetch_and(ctrl, ~bits, __ATOMIC_RELEASE);
}

bool pcie_ring_overflow(const struct pcie_ring *r)
{
        return __atomic_load_n(s_reg32(r, PCIE_REG_STATUS), __ATOMIC_ACQUIRE) &
               PCIE_STATUS_OVERFLOW;
}

uint32_t pcie_ring_dropped(const struct pcie_ring *r)
{
        return __atomic_load_n(s_reg32(r, PCIE_REG_DROPPED), __ATOMIC_ACQUIRE);
}

int pcie_fpga_init(struct pcie_ring *r, void *map, uint64_t ring_bytes)
{
        if (ring_bytes < PCIE_MIN_RING || (ring_bytes & (ring_bytes - 1)) || ring_bytes > UINT32_MAX)
                return -EINVAL;
        r->regs = map;
        r->ring = r->regs + PCIE_REGS_BYTES;
        r->size = ring_bytes;
        r->rd = 0;
        memset(r->regs, 0, PCIE_REGS_BYTES);
        __atomic_store_n(s_reg32(r, PCIE_REG_VERSION), PCIE_VERSION, __ATOMIC_RELAXED);
        __atomic_store_n(s_reg32(r, PCIE_REG_RING), (uint32_t)ring_bytes, __ATOMIC_RELAXED);
        /* ID last: a host that sees it sees the rest */
        __atomic_store_n(s_reg32(r, PCIE_REG_ID), PCIE_ID, __ATOMIC_RELEASE);
        return 0;
}

int pcie_fpga_write(struct pcie_ring *r, const void *frag, size_t n)
{
        uint32_t ctrl = __atomic_load_n(s_reg32(r, PCIE_REG_CTRL), __ATOMIC_ACQUIRE);
        uint64_t wr = __atomic_load_n(s_reg64(r, PCIE_REG_WR_PTR), __ATOMIC_RELAXED);
        uint64_t rd = __atomic_load_n(s_reg64(r, PCIE_REG_RD_PTR), __ATOMIC_ACQUIRE);

        if (!(ctrl & PCIE_CTRL_RUN))
                return -EAGAIN;
        if (n > r->size - (wr - rd))
                return 0;
        uint64_t at = wr & (r->size - 1);
        size_t first = r->size - at < n ? (size_t)(r->size - at) : n;
        memcpy(r->ring + at, frag, first);
        memcpy(r->ring, (const uint8_t *)frag + first, n - first);
        __atomic_store_n(s_reg64(r, PCIE_REG_WR_PTR), wr + n, __ATOMIC_RELEASE);
        return 1;
}

void pcie_fpga_drop(struct pcie_ring *r)
{
        __atomic_fetch_add(s_reg32(r, PCIE_REG_DROPPED), 1, __ATOMIC_RELEASE);
        __atomic_fetch_or(s_reg32(r, PCIE_REG_STATUS), PCIE_STATUS_OVERFLOW, __ATOMIC_RELEASE);
}

uint32_t pcie_fpga_ctrl(const struct pcie_ring *r)
{
        return __atomic_load_n(s_reg32(r, PCIE_REG_CTRL), __ATOMIC_ACQUIRE);
}
