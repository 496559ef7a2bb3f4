/* SPDX-License-Identifier: Apache-2.0 */
/* usb_board: one readout board on USB (proto/README.md s.1), through
 * libusb-1.0: asynchronous bulk IN with several transfers in flight, RUN and
 * BUSY vendor requests, hot-plug (unplug and replug at any time).  It moves
 * bytes and never parses them (the stream reader does); it never logs (it
 * hands phrased messages to the caller's callbacks). */
#ifndef DARKDAQ_USB_BOARD_H
#define DARKDAQ_USB_BOARD_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USB_BOARD_VID           0x1209
#define USB_BOARD_PID           0x0001
#define USB_BOARD_INTERFACE     0
#define USB_BOARD_EP_IN         0x81
#define USB_BOARD_REQ_TYPE      0x40    /* vendor, host to device, device */
#define USB_BOARD_REQ_RUN       0x01    /* wValue 1 start, 0 stop */
#define USB_BOARD_REQ_BUSY      0x02    /* wValue 1 busy, 0 clear */

/* Zero fields take the default named in their comment. */
struct usb_board_config {
        uint16_t vid;                   /* 0 = USB_BOARD_VID */
        uint16_t pid;                   /* 0 = USB_BOARD_PID */
        const char *serial;             /* NULL = any board of vid:pid; copied */
        unsigned n_transfers;           /* bulk transfers in flight; 0 = 8 */
        size_t transfer_bytes;          /* bytes per bulk transfer; 0 = 65536 */
        unsigned control_timeout_ms;    /* RUN/BUSY request timeout; 0 = 1000 */
        unsigned retry_ms;              /* reopen delay after a failure; 0 = 1000 */
        unsigned max_errors;            /* transfer errors in a row before the
                                           handle is given up; 0 = 10 */
        unsigned close_timeout_ms;      /* wait for cancelled transfers; 0 = 2000 */
};

/* Every callback runs on the thread inside usb_board_handle_events (never
 * inside usb_board_new or usb_board_free).  A callback may call
 * usb_board_run, usb_board_busy and usb_board_get_counters, not usb_board_free. */
struct usb_board_callbacks {
        /* The data of one completed bulk transfer, n > 0, in stream order.
         * data is valid during the call only. */
        void (*bytes)(void *ctx, const uint8_t *data, size_t n);
        /* A matching board was opened, its interface claimed, the bulk
         * transfers submitted and the remembered RUN/BUSY re-sent.  where:
         * "usb 1-2 (bus 1 dev 5)". */
        void (*attached)(void *ctx, const char *where);
        /* The board is gone (unplugged) or given up (failed).  Contract: every
         * byte of every transfer that completed has been passed to bytes()
         * before this call, and no byte of this board connection follows it.
         * The stream therefore ends here: the caller ends its stream reader
         * (stream_finish: a fragment cut by the unplug comes out as
         * STREAM_CUT_FRAGMENT, i.e. junk) and starts a fresh one for the
         * bytes after the next attached(); complete fragments delivered
         * before are kept.  why names the board and says what happens next. */
        void (*detached)(void *ctx, const char *why);
        /* Optional (may be NULL): a non-fatal problem (a transfer error, a
         * failed RUN/BUSY request, a board that cannot be opened), one line
         * naming the board and what happens next.  The caller logs it. */
        void (*log)(void *ctx, const char *msg);
};

struct usb_board_counters {
        uint64_t bytes;                 /* bytes delivered to bytes() */
        uint64_t transfers;             /* bulk transfers completed */
        uint64_t errors;                /* failed transfers and requests */
        uint64_t attaches;              /* boards opened, the first included */
        uint64_t reconnects;            /* attaches after a detach */
        uint64_t unplugs;               /* detaches because the board left */
        uint64_t failures;              /* detaches because the board failed */
        uint64_t run_requests;          /* RUN requests the board acknowledged */
        uint64_t busy_requests;         /* BUSY requests the board acknowledged */
        uint64_t busy_ns;               /* time with BUSY asserted (CLOCK_MONOTONIC) */
        bool attached;                  /* a board is open now */
        bool run;                       /* RUN as last asked */
        bool busy;                      /* BUSY as last asked */
};

typedef struct usb_board usb_board_t;

/* Creates the driver of the board cfg names (cfg NULL = all defaults) and
 * registers for its hot-plug events; the board need not be present.  It is
 * opened inside a later usb_board_handle_events (then attached() is called).
 * cb->bytes, cb->attached and cb->detached are required.  Returns 0 and
 * *ret, or -errno with err filled: -EINVAL (a callback missing,
 * transfer_bytes too large), libusb's error as -errno (libusb unusable),
 * -ENOMEM. */
int usb_board_new(usb_board_t **ret, const struct usb_board_config *cfg,
                  const struct usb_board_callbacks *cb, void *ctx, char *err, size_t errlen);

/* Cancels the transfers, waits (bounded) for them, releases and closes the
 * board, without calling any callback and without sending RUN 0.  Accepts
 * NULL; returns NULL. */
usb_board_t *usb_board_free(usb_board_t *b);

/* RUN on or off, BUSY on or off: remembered, and sent now as an asynchronous
 * vendor request if a board is attached, else when one attaches (RUN and
 * BUSY are re-sent only when on: a fresh board starts stopped and not
 * busy).  Requests made faster than the board answers are coalesced: the
 * last value wins.  Any thread.  Returns 0, or -errno if the request could
 * not be submitted (also reported through log()). */
int usb_board_run(usb_board_t *b, bool on);
int usb_board_busy(usb_board_t *b, bool on);

/* Event-loop integration.  usb_board_pollfds fills up to max entries of fds
 * with the descriptors to poll (revents cleared) and returns how many there
 * are (more than max: call again with more room).  They change when a board
 * comes and goes: fetch them before every poll.  usb_board_next_timeout
 * returns the milliseconds after which usb_board_handle_events must be
 * called even if no descriptor is ready, or -1 for no limit.  After poll
 * returns (ready or timed out), call usb_board_handle_events(b, 0). */
int usb_board_pollfds(usb_board_t *b, struct pollfd *fds, size_t max);
int usb_board_next_timeout(usb_board_t *b);

/* Handles what is ready, waiting at most timeout_ms for something to be:
 * completed transfers, hot-plug arrivals and departures, reopening.  The
 * callbacks run in here.  One thread at a time.  Returns 0 or -errno. */
int usb_board_handle_events(usb_board_t *b, int timeout_ms);

/* A consistent snapshot of the counters; any thread. */
void usb_board_get_counters(const usb_board_t *b, struct usb_board_counters *ret);

/* "usb 1209:0001 serial X (bus 1 dev 2)": the board's name as messages use
 * it (without the bus part while none is attached).  Valid until the next
 * usb_board_handle_events; event thread only. */
const char *usb_board_name(const usb_board_t *b);

#endif
