/* SPDX-License-Identifier: Apache-2.0 */
/* sim_sink: where the simulator's bytes go.  A sink is a write and a close
 * function behind one pointer, so the writer never knows whether it feeds a
 * file, a pipe or (later) a socket or a PCIe ring file. */
#ifndef DARKDAQ_SIM_SINK_H
#define DARKDAQ_SIM_SINK_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_sink sim_sink_t;

struct sim_sink {
        /* Writes all len bytes.  Returns 0 or -errno. */
        int (*write)(sim_sink_t *s, const void *buf, size_t len);
        /* Flushes and releases s.  Returns 0 or -errno of the first failure. */
        int (*close)(sim_sink_t *s);
        const char *name;               /* the path or description, for messages */
        /* Hands buffered bytes on now.  Returns 0 or -errno. */
        int (*flush)(sim_sink_t *s);
};

/* Creates (truncates) the file at path, mode 0644, buffered.  Returns NULL
 * with errno set on failure. */
sim_sink_t *sim_sink_file_open(const char *path);

/* A buffered sink on an open descriptor (a pipe, stdout); close_fd tells
 * whether closing the sink closes fd.  Returns NULL with errno on failure. */
sim_sink_t *sim_sink_fd_new(int fd, const char *name, int close_fd);

static inline int sim_sink_write(sim_sink_t *s, const void *buf, size_t len)
{
        return s->write(s, buf, len);
}

/* A sink that discards everything (the boards a --stream run does not play). */
sim_sink_t *sim_sink_null_new(const char *name);

static inline int sim_sink_flush(sim_sink_t *s)
{
        return s->flush(s);
}

/* The FPGA side of a PCIe DMA ring on a regular file (proto/README.md s.1
 * s.2): creates path with the registers and a ring of ring_bytes, waits for
 * the host to set RUN, and writes each sink write as one whole piece, never
 * past RD_PTR + RING_BYTES.  When the host leaves no room for timeout_ms the
 * piece is dropped: DROPPED + 1 and STATUS.OVERFLOW, as the FPGA does.
 * Returns NULL with errno set on failure. */
sim_sink_t *sim_sink_pcie_new(const char *path, uint64_t ring_bytes, unsigned timeout_ms);

/* Pieces a PCIe sink dropped so far. */
uint64_t sim_sink_pcie_dropped(const sim_sink_t *s);

/* Closes s (NULL accepted: returns 0). */
int sim_sink_close(sim_sink_t *s);

#endif
