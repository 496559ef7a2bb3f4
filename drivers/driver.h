/* driver: the transports a source reads board bytes from, chrony-style: one
 * `const struct driver` per file (file.c, sim.c), chosen by name from the
 * configuration.  A driver moves bytes and drives RUN and BUSY; it never
 * parses fragments (the stream reader does) and never logs (it returns
 * -errno and a message in err; the caller logs once). */
#ifndef DARKDAQ_DRIVER_H
#define DARKDAQ_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

/* read() returns this at the end of the stream (a file without follow read
 * to its end, a simulated board that sent its last trigger or was stopped). */
#define DRIVER_END      (-1000000)

/* read() returns this when the board's stream broke (a USB board unplugged)
 * after every byte that arrived before the break: the source ends the
 * stream reader's undecided bytes as junk and goes on reading. */
#define DRIVER_RESET    (-1000001)

/* read() returns this with a line for the log in err (the board left, came
 * back, a transfer error), in order with the bytes around it: the source
 * passes it to the core, which logs it naming the source, and reads on. */
#define DRIVER_NOTE     (-1000002)

/* A driver's health, for status and metrics. */
struct driver_health {
        uint64_t reconnects;            /* the board came back after it left */
        uint64_t unplugs;               /* the board left */
        uint64_t errors;                /* transfer or request errors */
        uint64_t upstream_dropped;      /* fragments lost before the host (PCIe DROPPED) */
        bool overflow;                  /* PCIe STATUS.OVERFLOW */
        bool attached;                  /* a board is there now */
};

typedef struct driver_handle driver_handle_t;

/* Threads: open, start, stop and close run on the core thread; read on the
 * source's own thread; busy on the core thread while read runs (a driver
 * keeps BUSY in an atomic).  stop may also run while read runs. */
struct driver {
        const char *name;               /* the configuration's driver = NAME */
        /* Prepares cfg's source (checks the path or program).  Returns 0 and
         * *ret (err then holds a note for the log, or ""; e.g. a board not
         * there yet), or -errno with err filled. */
        int (*open)(driver_handle_t **ret, const struct source_config *cfg,
                    char *err, size_t errlen);
        /* RUN on: the board starts sending, from the beginning of a run. */
        int (*start)(driver_handle_t *h, char *err, size_t errlen);
        /* RUN off: the board stops sending; read then returns what is still in
         * flight and DRIVER_END. */
        void (*stop)(driver_handle_t *h);
        /* BUSY on or off: throttle the board (it may still send what it has). */
        void (*busy)(driver_handle_t *h, bool on);
        /* Reads up to len bytes (len >= FRAG_MAX_BYTES), waiting at most
         * timeout_ms.  Returns bytes (> 0), 0 on timeout, DRIVER_END,
         * DRIVER_RESET, DRIVER_NOTE (err filled), or -errno (err filled). */
        ssize_t (*read)(driver_handle_t *h, void *buf, size_t len, int timeout_ms,
                        char *err, size_t errlen);
        /* Stops if needed and frees h.  Accepts NULL. */
        void (*close)(driver_handle_t *h);
        /* Optional: fills *ret (zeroed by the caller).  Runs on the source's
         * thread, between reads. */
        void (*health)(driver_handle_t *h, struct driver_health *ret);
};

extern const struct driver driver_file;
extern const struct driver driver_sim;
extern const struct driver driver_pcie;
extern const struct driver driver_usb;

/* Adds a driver to the table (tests, out-of-tree transports).  Returns 0,
 * -EEXIST for a name already there, -ENOSPC when the table is full. */
int driver_register(const struct driver *d);

/* The driver called name, or NULL. */
const struct driver *driver_find(const char *name);

#endif
