/* SPDX-License-Identifier: Apache-2.0 */
/* usb_board: one readout board on USB through libusb-1.0 (see usb_board.h).
 * Owns a private libusb context, the board's handle and its transfers.  The
 * hot-plug callback only sets flags: opening and closing happen in
 * usb_board_handle_events, outside libusb's event handling. */
#include "usb_board.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libusb.h>

#include "clock.h"

enum s_state {
        S_NONE,         /* no board open */
        S_OPEN,         /* open, bulk transfers in flight */
        S_CLOSING,      /* cancelled, waiting for the transfers to come back */
};

enum { S_CTL_RUN, S_CTL_BUSY, S_N_CTL };

struct s_bulk {
        struct libusb_transfer *xfer;   /* allocated once, reused across replugs */
        bool in_flight;                 /* submitted, callback not yet run */
        usb_board_t *b;                 /* owner */
};

struct s_ctl {
        struct libusb_transfer *xfer;   /* allocated once */
        uint8_t setup[LIBUSB_CONTROL_SETUP_SIZE]; /* the request, wLength 0 */
        bool in_flight;                 /* submitted, callback not yet run */
        bool dirty;                     /* asked again while in flight */
        uint16_t sent;                  /* wValue of the request in flight */
};

struct usb_board {
        libusb_context *usb;            /* private context */
        struct usb_board_callbacks cb;  /* the caller's callbacks */
        void *ctx;                      /* their argument */
        uint16_t vid, pid;              /* the board to match */
        char *serial;                   /* NULL = any */
        unsigned n_bulk;                /* bulk transfers */
        size_t bulk_bytes;              /* bytes per bulk transfer */
        unsigned ctl_timeout_ms;        /* RUN/BUSY timeout */
        unsigned retry_ms;              /* reopen delay after a failure */
        unsigned max_errors;            /* errors in a row before giving up */
        unsigned close_timeout_ms;      /* bound on waiting for cancellation */
        bool has_hotplug;               /* libusb can tell arrivals */
        libusb_hotplug_callback_handle hotplug; /* registration */
        bool hotplug_registered;        /* hotplug is valid */

        pthread_mutex_t lock;           /* guards the fields below it */
        enum s_state state;             /* of the handle */
        libusb_device_handle *h;        /* the open board, S_OPEN/S_CLOSING */
        struct s_ctl ctl[S_N_CTL];      /* RUN and BUSY requests */
        bool want_run;                  /* RUN as last asked */
        bool want_busy;                 /* BUSY as last asked */
        uint64_t busy_since_ns;         /* when BUSY went on (CLOCK_MONOTONIC) */
        struct usb_board_counters st;   /* counters */

        /* Event thread only. */
        struct s_bulk *bulk;            /* n_bulk transfers */
        unsigned bulk_in_flight;        /* how many are submitted */
        unsigned errors_in_row;         /* transfer errors since a success */
        libusb_device *dev;             /* the open board (referenced) */
        bool left;                      /* hot-plug: dev left */
        bool scan;                      /* hot-plug: something arrived */
        uint64_t retry_at_ns;           /* reopen attempt due, 0 = none */
        uint64_t closing_since_ns;      /* S_CLOSING entered */
        bool close_unplugged;           /* the close is an unplug, not a failure */
        bool ever_attached;             /* a board was attached before */
        char why[256];                  /* the detached() message */
        char name[128];                 /* usb_board_name() */
        bool quiet;                     /* freeing: no more callbacks */
        struct pollfd *fds;             /* usb_board_pollfds() cache */
        size_t n_fds;                   /* entries in fds */
        atomic_bool fds_stale;          /* libusb added or removed a pollfd */
};

static int s_errno(int lr)
{
        switch (lr) {
        case LIBUSB_ERROR_IO: return -EIO;
        case LIBUSB_ERROR_INVALID_PARAM: return -EINVAL;
        case LIBUSB_ERROR_ACCESS: return -EACCES;
        case LIBUSB_ERROR_NO_DEVICE: return -ENODEV;
        case LIBUSB_ERROR_NOT_FOUND: return -ENOENT;
        case LIBUSB_ERROR_BUSY: return -EBUSY;
        case LIBUSB_ERROR_TIMEOUT: return -ETIMEDOUT;
        case LIBUSB_ERROR_OVERFLOW: return -EOVERFLOW;
        case LIBUSB_ERROR_PIPE: return -EPIPE;
        case LIBUSB_ERROR_INTERRUPTED: return -EINTR;
        case LIBUSB_ERROR_NO_MEM: return -ENOMEM;
        case LIBUSB_ERROR_NOT_SUPPORTED: return -ENOTSUP;
        default: return -EIO;
        }
}

static void s_set_name(usb_board_t *b)
{
        int n = snprintf(b->name, sizeof b->name, "usb %04x:%04x", b->vid, b->pid);
        if (b->serial && n > 0 && (size_t)n < sizeof b->name)
                n += snprintf(b->name + n, sizeof b->name - (size_t)n, " serial %s", b->serial);
        if (b->dev && n > 0 && (size_t)n < sizeof b->name)
                snprintf(b->name + n, sizeof b->name - (size_t)n, " (bus %u dev %u)",
                         libusb_get_bus_number(b->dev), libusb_get_device_address(b->dev));
}

const char *usb_board_name(const usb_board_t *b)
{
        return b->name;
}

__attribute__((format(printf, 2, 3)))
static void s_log(usb_board_t *b, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        int n;

        if (!b->cb.log || b->quiet)
                return;
        n = snprintf(msg, sizeof msg, "%s: ", b->name);
        if (n < 0 || (size_t)n >= sizeof msg)
                n = 0;
        va_start(ap, fmt);
        vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
        va_end(ap);
        b->cb.log(b->ctx, msg);
}

static void s_count_error(usb_board_t *b)
{
        pthread_mutex_lock(&b->lock);
        b->st.errors++;
        pthread_mutex_unlock(&b->lock);
}

/* ---- closing ---------------------------------------------------------- */

/* Starts giving the handle up: no resubmission from here on; every transfer
 * still in flight is cancelled and comes back through its callback (its
 * data, if any, still delivered).  s_process finishes once all are back. */
static void s_begin_close(usb_board_t *b, bool unplugged, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void s_begin_close(usb_board_t *b, bool unplugged, const char *fmt, ...)
{
        va_list ap;
        int n;

        pthread_mutex_lock(&b->lock);
        if (b->state != S_OPEN) {
                pthread_mutex_unlock(&b->lock);
                return;
        }
        b->state = S_CLOSING;
        for (int i = 0; i < S_N_CTL; i++)
                if (b->ctl[i].in_flight)
                        libusb_cancel_transfer(b->ctl[i].xfer);
        pthread_mutex_unlock(&b->lock);

        b->close_unplugged = unplugged;
        b->closing_since_ns = clock_mono_ns();
        n = snprintf(b->why, sizeof b->why, "%s: ", b->name);
        if (n < 0 || (size_t)n >= sizeof b->why)
                n = 0;
        va_start(ap, fmt);
        vsnprintf(b->why + n, sizeof b->why - (size_t)n, fmt, ap);
        va_end(ap);

        for (unsigned i = 0; i < b->n_bulk; i++)
                if (b->bulk[i].in_flight)
                        libusb_cancel_transfer(b->bulk[i].xfer);
}

static bool s_all_back(usb_board_t *b)
{
        bool back = b->bulk_in_flight == 0;

        pthread_mutex_lock(&b->lock);
        for (int i = 0; i < S_N_CTL; i++)
                back = back && !b->ctl[i].in_flight;
        pthread_mutex_unlock(&b->lock);
        return back;
}

/* Releases and closes the handle.  Transfers that never came back (forced
 * close) are forgotten by libusb_close; they are idle afterwards. */
static void s_close_handle(usb_board_t *b)
{
        libusb_device_handle *h;

        pthread_mutex_lock(&b->lock);
        h = b->h;
        b->h = NULL;
        b->state = S_NONE;
        for (int i = 0; i < S_N_CTL; i++) {
                b->ctl[i].in_flight = false;
                b->ctl[i].dirty = false;
        }
        b->st.attached = false;
        pthread_mutex_unlock(&b->lock);

        for (unsigned i = 0; i < b->n_bulk; i++)
                b->bulk[i].in_flight = false;
        b->bulk_in_flight = 0;
        if (h) {
                libusb_release_interface(h, USB_BOARD_INTERFACE);
                libusb_close(h);
        }
        if (b->dev)
                libusb_unref_device(b->dev);
        b->dev = NULL;
        b->left = false;
        s_set_name(b);
}

static void s_finish_close(usb_board_t *b)
{
        bool unplugged = b->close_unplugged;

        s_close_handle(b);
        pthread_mutex_lock(&b->lock);
        if (unplugged)
                b->st.unplugs++;
        else
                b->st.failures++;
        pthread_mutex_unlock(&b->lock);
        if (unplugged)
                b->scan = true;         /* another matching board may be there */
        else
                b->retry_at_ns = clock_mono_ns() + (uint64_t)b->retry_ms * 1000000u;
        b->cb.detached(b->ctx, b->why);
}

/* ---- transfers -------------------------------------------------------- */

static const char *s_status_name(enum libusb_transfer_status s)
{
        switch (s) {
        case LIBUSB_TRANSFER_COMPLETED: return "completed";
        case LIBUSB_TRANSFER_ERROR: return "transfer error";
        case LIBUSB_TRANSFER_TIMED_OUT: return "timed out";
        case LIBUSB_TRANSFER_CANCELLED: return "cancelled";
        case LIBUSB_TRANSFER_STALL: return "stalled";
        case LIBUSB_TRANSFER_NO_DEVICE: return "no device";
        case LIBUSB_TRANSFER_OVERFLOW: return "overflow";
        }
        return "unknown status";
}

static void LIBUSB_CALL s_bulk_cb(struct libusb_transfer *x)
{
        struct s_bulk *sb = x->user_data;
        usb_board_t *b = sb->b;
        bool open;
        int r;

        sb->in_flight = false;
        b->bulk_in_flight--;

        /* Data first, whatever the status: a cancelled or cut transfer may
         * still hold bytes the board sent, and they come before anything
         * that follows. */
        if (x->actual_length > 0 && !b->quiet) {
                pthread_mutex_lock(&b->lock);
                b->st.bytes += (uint64_t)x->actual_length;
                pthread_mutex_unlock(&b->lock);
                b->cb.bytes(b->ctx, x->buffer, (size_t)x->actual_length);
        }

        pthread_mutex_lock(&b->lock);
        open = b->state == S_OPEN;
        if (x->status == LIBUSB_TRANSFER_COMPLETED)
                b->st.transfers++;
        pthread_mutex_unlock(&b->lock);

        switch (x->status) {
        case LIBUSB_TRANSFER_COMPLETED:
                b->errors_in_row = 0;
                break;
        case LIBUSB_TRANSFER_CANCELLED:
                return;         /* only s_begin_close cancels */
        case LIBUSB_TRANSFER_NO_DEVICE:
                s_begin_close(b, true, "unplugged (bulk transfer: no device); "
                              "waiting for it to come back");
                return;
        default:
                s_count_error(b);
                if (!open)
                        return;
                if (++b->errors_in_row >= b->max_errors) {
                        s_begin_close(b, false, "%u bulk transfer errors in a row "
                                      "(last: %s); closing it, reopening in %u ms",
                                      b->errors_in_row, s_status_name(x->status),
                                      b->retry_ms);
                        return;
                }
                if (x->status == LIBUSB_TRANSFER_STALL) {
                        s_log(b, "bulk endpoint 0x%02x stalled; clearing the halt "
                              "and resubmitting", USB_BOARD_EP_IN);
                        r = libusb_clear_halt(x->dev_handle, USB_BOARD_EP_IN);
                        if (r == LIBUSB_ERROR_NO_DEVICE) {
                                s_begin_close(b, true, "unplugged (clear halt: no device); "
                                              "waiting for it to come back");
                                return;
                        }
                } else {
                        s_log(b, "bulk transfer failed (%s); resubmitting (%u errors in a row, "
                              "giving up at %u)", s_status_name(x->status),
                              b->errors_in_row, b->max_errors);
                }
                break;
        }
        if (!open)
                return;

        r = libusb_submit_transfer(x);
        if (r == 0) {
                sb->in_flight = true;
                b->bulk_in_flight++;
        } else if (r == LIBUSB_ERROR_NO_DEVICE) {
                s_begin_close(b, true, "unplugged (resubmit: no device); "
                              "waiting for it to come back");
        } else {
                s_count_error(b);
                s_begin_close(b, false, "cannot resubmit a bulk transfer (%s); "
                              "closing it, reopening in %u ms",
                              libusb_error_name(r), b->retry_ms);
        }
}

/* Submits ctl slot i with its current wanted value if the board is open and
 * the slot idle, else marks it to be sent when the slot comes back.  Called
 * with b->lock held.  Returns a libusb error code. */
static int s_ctl_kick(usb_board_t *b, int i)
{
        struct s_ctl *c = &b->ctl[i];
        uint16_t value;
        int r;

        if (b->state != S_OPEN)
                return 0;
        if (c->in_flight) {
                c->dirty = true;
                return 0;
        }
        value = i == S_CTL_RUN ? b->want_run : b->want_busy;
        libusb_fill_control_setup(c->setup, USB_BOARD_REQ_TYPE,
                                  i == S_CTL_RUN ? USB_BOARD_REQ_RUN : USB_BOARD_REQ_BUSY,
                                  value, 0, 0);
        c->xfer->dev_handle = b->h;
        r = libusb_submit_transfer(c->xfer);
        if (r == 0) {
                c->in_flight = true;
                c->dirty = false;
                c->sent = value;
        }
        return r;
}

static void LIBUSB_CALL s_ctl_cb(struct libusb_transfer *x)
{
        usb_board_t *b = x->user_data;
        int i = x == b->ctl[S_CTL_RUN].xfer ? S_CTL_RUN : S_CTL_BUSY;
        const char *what = i == S_CTL_RUN ? "RUN" : "BUSY";
        struct s_ctl *c = &b->ctl[i];
        bool again, open;
        int r = 0;

        pthread_mutex_lock(&b->lock);
        c->in_flight = false;
        open = b->state == S_OPEN;
        if (x->status == LIBUSB_TRANSFER_COMPLETED) {
                if (i == S_CTL_RUN)
                        b->st.run_requests++;
                else
                        b->st.busy_requests++;
        } else if (x->status != LIBUSB_TRANSFER_CANCELLED) {
                b->st.errors++;
        }
        again = c->dirty && open;
        if (again)
                r = s_ctl_kick(b, i);
        pthread_mutex_unlock(&b->lock);

        if (x->status == LIBUSB_TRANSFER_NO_DEVICE) {
                s_begin_close(b, true, "unplugged (%s request: no device); "
                              "waiting for it to come back", what);
                return;
        }
        if (x->status != LIBUSB_TRANSFER_COMPLETED && x->status != LIBUSB_TRANSFER_CANCELLED)
                s_log(b, "%s=%u request %s; the value stays remembered and is sent "
                      "again on the next change or replug", what, c->sent,
                      s_status_name(x->status));
        if (r != 0)
                s_log(b, "cannot submit the %s request (%s); sent again on the "
                      "next change or replug", what, libusb_error_name(r));
}

static int s_request(usb_board_t *b, int i, bool on)
{
        const char *what = i == S_CTL_RUN ? "RUN" : "BUSY";
        int r;

        pthread_mutex_lock(&b->lock);
        if (i == S_CTL_RUN) {
                b->want_run = on;
                b->st.run = on;
        } else {
                if (on && !b->want_busy)
                        b->busy_since_ns = clock_mono_ns();
                if (!on && b->want_busy)
                        b->st.busy_ns += clock_mono_ns() - b->busy_since_ns;
                b->want_busy = on;
                b->st.busy = on;
        }
        r = s_ctl_kick(b, i);
        if (r != 0 && r != LIBUSB_ERROR_NO_DEVICE)
                b->st.errors++;
        pthread_mutex_unlock(&b->lock);

        /* No device: the departure is being noticed; the value is re-sent
         * to the board when it comes back. */
        if (r == 0 || r == LIBUSB_ERROR_NO_DEVICE)
                return 0;
        s_log(b, "cannot submit the %s=%d request (%s); sent again on the next "
              "change or replug", what, on, libusb_error_name(r));
        return s_errno(r);
}

int usb_board_run(usb_board_t *b, bool on)
{
        return s_request(b, S_CTL_RUN, on);
}

int usb_board_busy(usb_board_t *b, bool on)
{
        return s_request(b, S_CTL_BUSY, on);
}

/* ---- opening ---------------------------------------------------------- */

static void s_where(libusb_device *dev, char *out, size_t len)
{
        uint8_t ports[8];
        int np = libusb_get_port_numbers(dev, ports, (int)sizeof ports);
        int n = snprintf(out, len, "usb %u", libusb_get_bus_number(dev));

        for (int i = 0; i < np && n > 0 && (size_t)n < len; i++)
                n += snprintf(out + n, len - (size_t)n, "%c%u", i ? '.' : '-', ports[i]);
        if (n > 0 && (size_t)n < len)
                snprintf(out + n, len - (size_t)n, " (bus %u dev %u)",
                         libusb_get_bus_number(dev), libusb_get_device_address(dev));
}

/* Tries to make dev the board.  Returns 1 if attached, 0 if dev is not the
 * board (another vid:pid or serial), -1 on an error worth a retry. */
static int s_try_open(usb_board_t *b, libusb_device *dev)
{
        struct libusb_device_descriptor d;
        libusb_device_handle *h = NULL;
        char where[96];
        int r;

        b->left = false;
        if (libusb_get_device_descriptor(dev, &d) != 0 ||
            d.idVendor != b->vid || d.idProduct != b->pid)
                return 0;

        b->dev = dev;   /* for the name in messages; referenced below if kept */
        s_set_name(b);
        r = libusb_open(dev, &h);
        if (r != 0) {
                s_log(b, "cannot open (%s)%s; retrying in %u ms", libusb_error_name(r),
                      r == LIBUSB_ERROR_ACCESS ? ": check the udev rule" : "", b->retry_ms);
                goto fail;
        }
        if (b->serial) {
                unsigned char sn[128];
                r = d.iSerialNumber ? libusb_get_string_descriptor_ascii(h, d.iSerialNumber,
                                                                         sn, sizeof sn)
                                    : LIBUSB_ERROR_NOT_FOUND;
                if (r < 0) {
                        s_log(b, "cannot read the serial number of the %04x:%04x board "
                              "there (%s); retrying in %u ms", b->vid, b->pid,
                              libusb_error_name(r), b->retry_ms);
                        goto fail;
                }
                if ((size_t)r != strlen(b->serial) || memcmp(sn, b->serial, (size_t)r)) {
                        libusb_close(h);
                        b->dev = NULL;
                        b->left = false;
                        s_set_name(b);
                        return 0;       /* another board of the same type */
                }
        }
        r = libusb_claim_interface(h, USB_BOARD_INTERFACE);
        if (r != 0) {
                s_log(b, "cannot claim interface %d (%s); retrying in %u ms",
                      USB_BOARD_INTERFACE, libusb_error_name(r), b->retry_ms);
                goto fail;
        }

        libusb_ref_device(dev);
        pthread_mutex_lock(&b->lock);
        b->h = h;
        b->state = S_OPEN;
        b->st.attached = true;
        b->st.attaches++;
        if (b->ever_attached)
                b->st.reconnects++;
        pthread_mutex_unlock(&b->lock);
        b->ever_attached = true;
        b->errors_in_row = 0;
        b->retry_at_ns = 0;

        for (unsigned i = 0; i < b->n_bulk; i++) {
                struct libusb_transfer *x = b->bulk[i].xfer;
                libusb_fill_bulk_transfer(x, h, USB_BOARD_EP_IN, x->buffer,
                                          (int)b->bulk_bytes, s_bulk_cb, &b->bulk[i], 0);
                r = libusb_submit_transfer(x);
                if (r != 0)
                        break;
                b->bulk[i].in_flight = true;
                b->bulk_in_flight++;
        }
        s_where(dev, where, sizeof where);
        if (r != 0) {
                /* Tell the caller it attached, so that the detach that
                 * follows pairs with it. */
                b->cb.attached(b->ctx, where);
                if (r == LIBUSB_ERROR_NO_DEVICE)
                        s_begin_close(b, true, "unplugged (submit: no device); "
                                      "waiting for it to come back");
                else
                        s_begin_close(b, false, "cannot submit bulk transfers (%s); "
                                      "closing it, reopening in %u ms",
                                      libusb_error_name(r), b->retry_ms);
                return 1;
        }

        /* RUN and BUSY as last asked, now that the transfers are there to
         * take the data. */
        pthread_mutex_lock(&b->lock);
        if (b->want_run)
                r = s_ctl_kick(b, S_CTL_RUN);
        if (r == 0 && b->want_busy)
                r = s_ctl_kick(b, S_CTL_BUSY);
        if (r != 0 && r != LIBUSB_ERROR_NO_DEVICE)
                b->st.errors++;
        pthread_mutex_unlock(&b->lock);
        if (r != 0 && r != LIBUSB_ERROR_NO_DEVICE)
                s_log(b, "cannot re-send RUN/BUSY (%s); sent again on the next change",
                      libusb_error_name(r));
        b->cb.attached(b->ctx, where);
        return 1;

fail:
        if (h)
                libusb_close(h);
        b->dev = NULL;
        b->left = false;
        s_set_name(b);
        return -1;
}

/* Looks for the board among the devices present. */
static void s_scan(usb_board_t *b)
{
        libusb_device **list;
        ssize_t n = libusb_get_device_list(b->usb, &list);
        bool retry = false;

        b->scan = false;
        b->retry_at_ns = 0;
        if (n < 0) {
                s_log(b, "cannot list USB devices (%s); retrying in %u ms",
                      libusb_error_name((int)n), b->retry_ms);
                retry = true;
                n = 0;
                list = NULL;
        }
        for (ssize_t i = 0; i < n; i++) {
                int r = s_try_open(b, list[i]);
                if (r > 0) {
                        retry = false;
                        break;
                }
                retry = retry || r < 0;
        }
        if (list)
                libusb_free_device_list(list, 1);
        if (retry || (!b->has_hotplug && b->state == S_NONE))
                b->retry_at_ns = clock_mono_ns() + (uint64_t)b->retry_ms * 1000000u;
}

static int LIBUSB_CALL s_hotplug_cb(libusb_context *usb, libusb_device *dev,
                                    libusb_hotplug_event ev, void *arg)
{
        usb_board_t *b = arg;

        (void)usb;
        if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED)
                b->scan = true;
        else if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT && dev == b->dev)
                b->left = true;
        return 0;
}

/* The work that is due outside libusb's event handling. */
static void s_process(usb_board_t *b)
{
        enum s_state state;

        pthread_mutex_lock(&b->lock);
        state = b->state;
        pthread_mutex_unlock(&b->lock);

        if (state == S_OPEN && b->left) {
                s_begin_close(b, true, "unplugged; waiting for it to come back");
                state = S_CLOSING;
        }
        if (state == S_CLOSING) {
                if (s_all_back(b)) {
                        s_finish_close(b);
                } else if (clock_mono_ns() - b->closing_since_ns >
                           (uint64_t)b->close_timeout_ms * 1000000u) {
                        s_log(b, "cancelled transfers not back after %u ms; closing "
                              "the handle anyway", b->close_timeout_ms);
                        s_finish_close(b);
                }
                pthread_mutex_lock(&b->lock);
                state = b->state;
                pthread_mutex_unlock(&b->lock);
        }
        if (state == S_NONE &&
            (b->scan || (b->retry_at_ns && clock_mono_ns() >= b->retry_at_ns)))
                s_scan(b);
}

/* Milliseconds until s_process has something to do by itself, -1 = never. */
static int s_own_timeout(usb_board_t *b)
{
        uint64_t now, due;
        enum s_state state;

        pthread_mutex_lock(&b->lock);
        state = b->state;
        pthread_mutex_unlock(&b->lock);
        if (state == S_OPEN && b->left)
                return 0;
        if (state == S_CLOSING) {
                if (s_all_back(b))
                        return 0;
                due = b->closing_since_ns + (uint64_t)b->close_timeout_ms * 1000000u;
        } else if (state == S_NONE) {
                if (b->scan)
                        return 0;
                if (!b->retry_at_ns)
                        return -1;
                due = b->retry_at_ns;
        } else {
                return -1;
        }
        now = clock_mono_ns();
        return due <= now ? 0 : (int)((due - now + 999999u) / 1000000u);
}

/* ---- the event loop --------------------------------------------------- */

int usb_board_handle_events(usb_board_t *b, int timeout_ms)
{
        struct timeval tv;
        int own, r;

        s_process(b);
        own = s_own_timeout(b);
        if (own >= 0 && (timeout_ms < 0 || own < timeout_ms))
                timeout_ms = own;
        if (timeout_ms < 0)
                timeout_ms = 60000;
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        r = libusb_handle_events_timeout_completed(b->usb, &tv, NULL);
        s_process(b);
        if (r != 0 && r != LIBUSB_ERROR_INTERRUPTED && r != LIBUSB_ERROR_TIMEOUT)
                return s_errno(r);
        return 0;
}

int usb_board_next_timeout(usb_board_t *b)
{
        struct timeval tv;
        int own = s_own_timeout(b);
        int lib = -1;
        int r = libusb_get_next_timeout(b->usb, &tv);

        if (r == 1)
                lib = (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
        else if (r < 0)
                lib = 0;
        if (own < 0)
                return lib;
        if (lib < 0)
                return own;
        return own < lib ? own : lib;
}

static void LIBUSB_CALL s_pollfd_added(int fd, short events, void *arg)
{
        usb_board_t *b = arg;

        (void)fd;
        (void)events;
        atomic_store(&b->fds_stale, true);
}

static void LIBUSB_CALL s_pollfd_removed(int fd, void *arg)
{
        usb_board_t *b = arg;

        (void)fd;
        atomic_store(&b->fds_stale, true);
}

/* The list is cached and fetched again (allocating) only when libusb says
 * it changed, i.e. when a board comes or goes. */
int usb_board_pollfds(usb_board_t *b, struct pollfd *fds, size_t max)
{
        if (atomic_exchange(&b->fds_stale, false)) {
                const struct libusb_pollfd **pfds = libusb_get_pollfds(b->usb);
                size_t n = 0;
                struct pollfd *p;

                if (!pfds) {
                        atomic_store(&b->fds_stale, true);
                        return -ENOMEM;
                }
                while (pfds[n])
                        n++;
                p = realloc(b->fds, (n ? n : 1) * sizeof *p);
                if (!p) {
                        libusb_free_pollfds(pfds);
                        atomic_store(&b->fds_stale, true);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < n; i++)
                        p[i] = (struct pollfd){ .fd = pfds[i]->fd, .events = pfds[i]->events };
                libusb_free_pollfds(pfds);
                b->fds = p;
                b->n_fds = n;
        }
        for (size_t i = 0; i < b->n_fds && i < max; i++) {
                fds[i] = b->fds[i];
                fds[i].revents = 0;
        }
        return (int)b->n_fds;
}

void usb_board_get_counters(const usb_board_t *b, struct usb_board_counters *ret)
{
        /* Taking the lock does not change the board: const for the caller. */
        pthread_mutex_t *lock = (pthread_mutex_t *)&b->lock;

        pthread_mutex_lock(lock);
        *ret = b->st;
        if (b->want_busy)
                ret->busy_ns += clock_mono_ns() - b->busy_since_ns;
        pthread_mutex_unlock(lock);
}

/* ---- life ------------------------------------------------------------- */

int usb_board_new(usb_board_t **ret, const struct usb_board_config *cfg,
                  const struct usb_board_callbacks *cb, void *ctx, char *err, size_t errlen)
{
        static const struct usb_board_config defaults;
        usb_board_t *b;
        int r;

        if (!cfg)
                cfg = &defaults;
        if (!cb || !cb->bytes || !cb->attached || !cb->detached) {
                snprintf(err, errlen, "usb: bytes, attached and detached callbacks are required");
                return -EINVAL;
        }
        b = calloc(1, sizeof *b);
        if (!b) {
                snprintf(err, errlen, "usb: out of memory");
                return -ENOMEM;
        }
        pthread_mutex_init(&b->lock, NULL);
        b->cb = *cb;
        b->ctx = ctx;
        b->vid = cfg->vid ? cfg->vid : USB_BOARD_VID;
        b->pid = cfg->pid ? cfg->pid : USB_BOARD_PID;
        b->n_bulk = cfg->n_transfers ? cfg->n_transfers : 8;
        b->bulk_bytes = cfg->transfer_bytes ? cfg->transfer_bytes : 65536;
        b->ctl_timeout_ms = cfg->control_timeout_ms ? cfg->control_timeout_ms : 1000;
        b->retry_ms = cfg->retry_ms ? cfg->retry_ms : 1000;
        b->max_errors = cfg->max_errors ? cfg->max_errors : 10;
        b->close_timeout_ms = cfg->close_timeout_ms ? cfg->close_timeout_ms : 2000;
        if (cfg->serial && !(b->serial = strdup(cfg->serial)))
                goto nomem;
        s_set_name(b);
        if (b->bulk_bytes > (size_t)INT32_MAX) {
                snprintf(err, errlen, "%s: transfer_bytes %zu too large", b->name, b->bulk_bytes);
                usb_board_free(b);
                return -EINVAL;
        }

        r = libusb_init(&b->usb);
        if (r != 0) {
                b->usb = NULL;
                snprintf(err, errlen, "%s: cannot initialise libusb (%s); the board "
                         "cannot be used", b->name, libusb_error_name(r));
                usb_board_free(b);
                return s_errno(r);
        }

        b->bulk = calloc(b->n_bulk, sizeof *b->bulk);
        if (!b->bulk)
                goto nomem;
        for (unsigned i = 0; i < b->n_bulk; i++) {
                struct libusb_transfer *x = libusb_alloc_transfer(0);
                if (!x)
                        goto nomem;
                b->bulk[i].xfer = x;
                b->bulk[i].b = b;
                x->buffer = malloc(b->bulk_bytes);
                if (!x->buffer)
                        goto nomem;
        }
        for (int i = 0; i < S_N_CTL; i++) {
                struct libusb_transfer *x = libusb_alloc_transfer(0);
                if (!x)
                        goto nomem;
                b->ctl[i].xfer = x;
                libusb_fill_control_transfer(x, NULL, b->ctl[i].setup, s_ctl_cb, b,
                                             b->ctl_timeout_ms);
        }

        atomic_init(&b->fds_stale, true);
        libusb_set_pollfd_notifiers(b->usb, s_pollfd_added, s_pollfd_removed, b);

        b->has_hotplug = libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG);
        if (b->has_hotplug) {
                /* ENUMERATE: the boards already present arrive too (this
                 * only sets b->scan; opening waits for handle_events). */
                r = libusb_hotplug_register_callback(
                        b->usb, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
                        LIBUSB_HOTPLUG_ENUMERATE, b->vid, b->pid, LIBUSB_HOTPLUG_MATCH_ANY,
                        s_hotplug_cb, b, &b->hotplug);
                if (r != 0) {
                        snprintf(err, errlen, "%s: cannot register for hot-plug events (%s); "
                                 "the board cannot be used", b->name, libusb_error_name(r));
                        usb_board_free(b);
                        return s_errno(r);
                }
                b->hotplug_registered = true;
        }
        b->scan = true;
        *ret = b;
        return 0;

nomem:
        snprintf(err, errlen, "%s: out of memory", b->name);
        usb_board_free(b);
        return -ENOMEM;
}

usb_board_t *usb_board_free(usb_board_t *b)
{
        if (!b)
                return NULL;
        if (b->usb) {
                if (b->hotplug_registered)
                        libusb_hotplug_deregister_callback(b->usb, b->hotplug);
                b->hotplug_registered = false;
                b->quiet = true;
                if (b->state == S_OPEN)
                        s_begin_close(b, false, "closing");
                if (b->state == S_CLOSING) {
                        uint64_t until = clock_mono_ns() + (uint64_t)b->close_timeout_ms * 1000000u;
                        while (!s_all_back(b) && clock_mono_ns() < until) {
                                struct timeval tv = { 0, 100000 };
                                libusb_handle_events_timeout_completed(b->usb, &tv, NULL);
                        }
                }
                s_close_handle(b);
                libusb_set_pollfd_notifiers(b->usb, NULL, NULL, NULL);
        }
        if (b->bulk) {
                for (unsigned i = 0; i < b->n_bulk; i++) {
                        if (!b->bulk[i].xfer)
                                continue;
                        free(b->bulk[i].xfer->buffer);
                        libusb_free_transfer(b->bulk[i].xfer);
                }
                free(b->bulk);
        }
        for (int i = 0; i < S_N_CTL; i++)
                libusb_free_transfer(b->ctl[i].xfer);
        if (b->usb)
                libusb_exit(b->usb);
        free(b->fds);
        free(b->serial);
        pthread_mutex_destroy(&b->lock);
        free(b);
        return NULL;
}
