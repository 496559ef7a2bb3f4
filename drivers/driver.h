/* SPDX-License-Identifier: Apache-2.0 */
/* driver: the transports a source reads board bytes from, chrony-style: one
 * `const struct driver driver_NAME` per file in drivers/ (file.c, sim.c,
 * pcie.c, usb.c; the board helpers beside them define none), gathered into a
 * table the Makefile generates and chosen by name from the configuration.
 * Each driver owns its [source.NAME] keys: a table of them (name, type,
 * default, help) that the configuration reads into the driver's own options
 * struct, which open() is given.  A driver moves bytes and drives RUN and
 * BUSY; it never parses fragments (the stream reader does) and never logs
 * (it returns -errno and a message in err; the caller logs once). */
#ifndef DARKDAQ_DRIVER_H
#define DARKDAQ_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DRIVER_NAME_MAX         16      /* a driver's name, with its NUL */
#define DRIVER_OPTIONS_MAX      2048    /* a driver's options struct, at most */
#define DRIVER_KEYS_MAX         64      /* keys in a driver's table, at most */

/* What a key's value may be. */
enum driver_key_type {
        DRIVER_KEY_UINT,        /* decimal, 0x hex or 0 octal in [min, max], a multiple of step */
        DRIVER_KEY_HEX,         /* hex digits (0x optional) in [min, max] */
        DRIVER_KEY_DOUBLE,      /* a number in [fmin, fmax] */
        DRIVER_KEY_BOOL,        /* yes, true, 1 or no, false, 0 */
        DRIVER_KEY_STRING,      /* non-empty, shorter than the field, only charset's characters */
};

/* One key of a driver's [source.NAME] section and the field of the driver's
 * options struct it sets.  A table ends with a key whose name is NULL. */
struct driver_key {
        const char *name;               /* as written in the file */
        enum driver_key_type type;
        size_t offset, size;            /* the field (DRIVER_FIELD); integers: 1, 2, 4 or 8 bytes */
        uint64_t min, max;              /* UINT, HEX */
        uint64_t step;                  /* UINT: the value is a multiple of it; 0: any */
        double fmin, fmax;              /* DOUBLE */
        const char *charset;            /* STRING: the characters allowed; NULL: any */
        const char *def;                /* the default as the file says it; NULL: none (zero) */
        bool required;                  /* the section must set it */
        const char *help;               /* one line for darkdaqd --print-config */
        /* Optional, STRING: what the type cannot say of a value (a process
         * list that names no known process).  Pure: runs at load, on the
         * key's own line.  Returns 0, or -EINVAL with err saying why. */
        int (*valid)(const char *value, char *err, size_t errlen);
};

/* The .offset and .size of a driver_key for member field of struct type. */
#define DRIVER_FIELD(type, field) \
        .offset = offsetof(type, field), .size = sizeof(((type *)0)->field)

/* read() returns this at the end of the stream (a file without follow read
 * to its end, a simulated board that sent its last trigger or was stopped). */
#define DRIVER_END      (-1000000)

/* read() returns this when the board's stream broke (a USB board unplugged)
 * after every byte that arrived before the break: the source ends the
 * stream reader's undecided bytes as junk and goes on reading. */
#define DRIVER_RESET    (-1000001)

/* read() returns this when it has no bytes and cannot tell whether the
 * board had none: the board is a process on this host (sim) that wanted the
 * CPU and did not get it.  The source does not count that time as the
 * board's silence (source_alive_ms), as for a thread that got no CPU. */
#define DRIVER_NO_VERDICT (-1000002)

/* read() returns this with a line for the log in err (the board left, came
 * back, a transfer error), in order with the bytes around it: the source
 * passes it to the core, which logs it naming the source, and reads on. */
#define DRIVER_NOTE     (-1000003)

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

/* Threads: check and boards run while the configuration loads, on options
 * alone; open, start, stop and close run on the core thread; read on the
 * source's own thread; busy on the core thread while read runs (a driver
 * keeps BUSY in an atomic).  stop may also run while read runs. */
struct driver {
        const char *name;               /* the configuration's driver = NAME */
        const char *help;               /* what it reads, one line for --print-config */
        const struct driver_key *keys;  /* its keys; NULL: none */
        size_t options_size;            /* its options struct, <= DRIVER_OPTIONS_MAX */
        /* Optional: the rules between its keys, once the section is read.
         * Returns 0, or -EINVAL with err saying why (without file or section). */
        int (*check)(const void *options, char *err, size_t errlen);
        /* Optional: the board ids the source plays, known from its options
         * alone (sim).  Without it they cannot be known before a run, and
         * [builder] sources must list the expected ids. */
        uint64_t (*boards)(const void *options);
        /* Prepares the source its options describe (checks the path or
         * program).  options is the driver's options struct, defaults and
         * the file's keys applied.  Returns 0 and *ret (err then holds a
         * note for the log, or ""; e.g. a board not there yet), or -errno
         * with err filled. */
        int (*open)(driver_handle_t **ret, const void *options, char *err, size_t errlen);
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

/* Every driver in drivers/, NULL-terminated, in file-name order: the
 * Makefile writes it ($(BUILD)/gen/driver_table.c) from each drivers/NAME.c
 * that defines `const struct driver driver_NAME = {` at the start of a line.
 * Read it through driver_at(). */
extern const struct driver *const driver_table[];

/* Adds a driver to the table (tests, out-of-tree transports).  Returns 0,
 * -EEXIST for a name already there, -EINVAL for a table driver_check()
 * refuses, -ENOSPC when the table is full. */
int driver_register(const struct driver *d);

/* Checks d's name and key table: the name fits DRIVER_NAME_MAX, keys are
 * unique and at most DRIVER_KEYS_MAX, each field lies in options_size
 * (<= DRIVER_OPTIONS_MAX) with a size its type can hold, each default
 * parses.  Returns 0, or -EINVAL with err saying what is wrong. */
int driver_check(const struct driver *d, char *err, size_t errlen);

/* The driver called name, or NULL. */
const struct driver *driver_find(const char *name);

/* The i-th driver: drivers/ in file-name order, then the registered ones in
 * the order they came; NULL past the last. */
const struct driver *driver_at(size_t i);

/* d's key called name, or NULL. */
const struct driver_key *driver_key_find(const struct driver *d, const char *name);

/* Zeroes d's options struct (options_size bytes) and writes every key's
 * default into it.  Returns 0, or -EINVAL if a default does not parse (a
 * table driver_check() refuses). */
int driver_options_default(const struct driver *d, void *options);

/* Parses value as key k and writes it into its field of options.  Returns
 * 0, or -EINVAL (options unchanged) for a value k does not accept. */
int driver_key_set(const struct driver_key *k, void *options, const char *value);

/* The field of options behind d's key name, if it is size bytes (0: any
 * size, for strings); NULL if d has no such key or its field differs. */
const void *driver_option(const struct driver *d, const void *options, const char *name,
                          size_t size);

#endif
