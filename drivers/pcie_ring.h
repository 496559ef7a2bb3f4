/* SPDX-License-Identifier: Apache-2.0 */
/* pcie_ring: both sides of the board's PCIe DMA ring (proto/README.md s.1
 * s.2) over any shared mapping: the device's, or a regular file or
 * shared-memory object with the same layout.  The host side hands the bytes
 * between RD_PTR and WR_PTR out in at most two contiguous pieces (the ring
 * wraps) without copying; the FPGA side (for darkdaq-sim and tests) writes
 * whole fragments and never past RD_PTR + RING_BYTES.  No I/O, no logging. */
#ifndef DARKDAQ_PCIE_RING_H
#define DARKDAQ_PCIE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCIE_REGS_BYTES   4096u
#define PCIE_REG_ID       0x00u
#define PCIE_REG_VERSION  0x04u
#define PCIE_REG_RING     0x08u
#define PCIE_REG_CTRL     0x0Cu
#define PCIE_REG_WR_PTR   0x10u
#define PCIE_REG_RD_PTR   0x18u
#define PCIE_REG_STATUS   0x20u
#define PCIE_REG_DROPPED  0x24u

#define PCIE_ID           0x43504B44u   /* "DKPC" */
#define PCIE_VERSION      1u
#define PCIE_MIN_RING     65536u
#define PCIE_CTRL_RUN     0x1u
#define PCIE_CTRL_BUSY    0x2u
#define PCIE_STATUS_OVERFLOW 0x1u

struct pcie_ring {
        uint8_t *regs;                  /* the mapping's first 4096 bytes */
        uint8_t *ring;                  /* RING_BYTES of stream */
        uint64_t size;                  /* RING_BYTES, a power of two */
        uint64_t rd;                    /* host: bytes consumed so far */
};

/* Bytes a mapping of a ring of ring_bytes needs. */
static inline size_t pcie_map_bytes(uint64_t ring_bytes)
{
        return PCIE_REGS_BYTES + (size_t)ring_bytes;
}

/* Host side.  Checks ID, VERSION and RING_BYTES (a power of two >= 65536,
 * fitting in map_len) and starts reading at the device's RD_PTR.  Returns 0
 * or -EINVAL with a message naming the register and its value in err. */
int pcie_ring_attach(struct pcie_ring *r, void *map, size_t map_len, char *err,
                     size_t errlen);

/* The unread bytes, as at most two pieces (p1, n1) then (p2, n2): WR_PTR is
 * read with acquire, so the data it covers is visible.  Returns n1 + n2, or
 * -EIO if WR_PTR is behind RD_PTR or more than RING_BYTES ahead (a device
 * that broke its contract). */
int64_t pcie_ring_peek(struct pcie_ring *r, const uint8_t **p1, size_t *n1,
                       const uint8_t **p2, size_t *n2);

/* Gives n bytes back to the device: RD_PTR stored with release, once the
 * host no longer needs them. */
void pcie_ring_consume(struct pcie_ring *r, uint64_t n);

/* CTRL bits RUN and BUSY. */
void pcie_ring_set_ctrl(struct pcie_ring *r, uint32_t bits, bool on);

/* STATUS.OVERFLOW and DROPPED: loss upstream of the host. */
bool pcie_ring_overflow(const struct pcie_ring *r);
uint32_t pcie_ring_dropped(const struct pcie_ring *r);

/* FPGA side.  Lays out the registers of a fresh mapping (ID, VERSION,
 * RING_BYTES, pointers 0).  ring_bytes must be a power of two >= 65536. */
int pcie_fpga_init(struct pcie_ring *r, void *map, uint64_t ring_bytes);

/* Writes one fragment if CTRL.RUN is set and it fits below RD_PTR +
 * RING_BYTES: data first, then WR_PTR with release.  Returns 1 written, 0 no
 * room (nothing written), -EAGAIN not running. */
int pcie_fpga_write(struct pcie_ring *r, const void *frag, size_t n);

/* A fragment the host had no room for: DROPPED + 1, STATUS.OVERFLOW set. */
void pcie_fpga_drop(struct pcie_ring *r);

/* CTRL as the host last wrote it. */
uint32_t pcie_fpga_ctrl(const struct pcie_ring *r);

#endif
