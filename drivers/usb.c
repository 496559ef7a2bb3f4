/* usb: a source that reads a board over USB (libusb bulk transfers, hot
 * plug), through usb_board.c.  The libusb events are handled in the
 * source's own thread, inside read().  An unplugged board ends its stream
 * with DRIVER_RESET after every byte that arrived before the unplug, so the
 * cut fragment becomes junk and every complete one is kept; the board is
 * picked up again when it returns. */
#include "driver.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "usb_board.h"

/* [source.NAME] with driver = usb. */
struct usb_options {
        uint16_t vid, pid;              /* the board's vendor and product id */
        char serial[128];               /* "": any board of vid:pid */
};
_Static_assert(sizeof(struct usb_options) <= DRIVER_OPTIONS_MAX, "usb options too big");

static const struct driver_key s_keys[] = {
        { .name = "vid", .type = DRIVER_KEY_HEX, DRIVER_FIELD(struct usb_options, vid),
          .min = 1, .max = 0xFFFF, .def = "1209", .help = "vendor id, hex" },
        { .name = "pid", .type = DRIVER_KEY_HEX, DRIVER_FIELD(struct usb_options, pid),
          .min = 1, .max = 0xFFFF, .def = "0001", .help = "product id, hex" },
        { .name = "serial", .type = DRIVER_KEY_STRING, DRIVER_FIELD(struct usb_options, serial),
          .help = "serial number; empty: any board of vid:pid" },
        { .name = NULL }
};

struct driver_handle {
        usb_board_t *board;
        uint8_t *pending;               /* bytes delivered by callbacks, not yet read */
        size_t n_pending, cap, at;
        bool reset;                     /* the board left after the pending bytes */
        bool failed;                    /* out of memory holding bytes */
        _Atomic bool running;
        int idle_after_stop;            /* empty reads since RUN went off */
};

static void s_bytes(void *ctx, const uint8_t *data, size_t n)
{
        driver_handle_t *h = ctx;
        if (h->n_pending + n > h->cap) {
                size_t cap = h->cap ? h->cap : 1u << 20;
                while (cap < h->n_pending + n)
                        cap *= 2;
                uint8_t *p = realloc(h->pending, cap);
                if (!p) {
                        h->failed = true;
                        return;
                }
                h->pending = p;
                h->cap = cap;
        }
        memcpy(h->pending + h->n_pending, data, n);
        h->n_pending += n;
}

static void s_attached(void *ctx, const char *where)
{
        (void)ctx;
        (void)where;
}

static void s_detached(void *ctx, const char *why)
{
        driver_handle_t *h = ctx;
        (void)why;
        h->reset = true;
}

static int s_open(driver_handle_t **ret, const void *options, char *err, size_t errlen)
{
        const struct usb_options *cfg = options;
        driver_handle_t *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        struct usb_board_config uc = { .vid = cfg->vid, .pid = cfg->pid,
                                       .serial = cfg->serial[0] ? cfg->serial : NULL };
        struct usb_board_callbacks cb = { .bytes = s_bytes, .attached = s_attached,
                                          .detached = s_detached };
        int r = usb_board_new(&h->board, &uc, &cb, h, err, errlen);
        if (r < 0) {
                free(h);
                return r;
        }
        *ret = h;
        return 0;
}

static int s_start(driver_handle_t *h, char *err, size_t errlen)
{
        int r = usb_board_run(h->board, true);
        if (r < 0) {
                snprintf(err, errlen, "%s: RUN request failed: %s", usb_board_name(h->board),
                         strerror(-r));
                return r;
        }
        h->idle_after_stop = 0;
        atomic_store(&h->running, true);
        return 0;
}

static void s_stop(driver_handle_t *h)
{
        usb_board_run(h->board, false);
        atomic_store(&h->running, false);
}

static void s_busy(driver_handle_t *h, bool on)
{
        usb_board_busy(h->board, on);
}

static ssize_t s_read(driver_handle_t *h, void *buf, size_t len, int timeout_ms, char *err,
                      size_t errlen)
{
        if (h->at == h->n_pending) {
                h->at = h->n_pending = 0;
                if (h->reset) {
                        h->reset = false;
                        return DRIVER_RESET;
                }
                if (h->failed) {
                        snprintf(err, errlen, "%s: out of memory holding transfers",
                                 usb_board_name(h->board));
                        return -ENOMEM;
                }
                int r = usb_board_handle_events(h->board, timeout_ms);
                if (r < 0) {
                        snprintf(err, errlen, "%s: %s", usb_board_name(h->board), strerror(-r));
                        return r;
                }
                if (h->n_pending == 0) {
                        /* after RUN off, what was in flight has come by the
                         * second empty wait */
                        if (!atomic_load(&h->running) && ++h->idle_after_stop >= 2)
                                return DRIVER_END;
                        return 0;
                }
        }
        size_t n = h->n_pending - h->at < len ? h->n_pending - h->at : len;
        memcpy(buf, h->pending + h->at, n);
        h->at += n;
        return (ssize_t)n;
}

static void s_health(driver_handle_t *h, struct driver_health *ret)
{
        struct usb_board_counters st;
        usb_board_get_counters(h->board, &st);
        ret->reconnects = st.reconnects;
        ret->unplugs = st.unplugs;
        ret->errors = st.errors;
        ret->attached = st.attached;
}

static void s_close(driver_handle_t *h)
{
        if (!h)
                return;
        usb_board_free(h->board);
        free(h->pending);
        free(h);
}

const struct driver driver_usb = {
        .name = "usb",
        .help = "a board on USB (bulk IN 0x81), hot-plug",
        .keys = s_keys,
        .options_size = sizeof(struct usb_options),
        .open = s_open,
        .start = s_start,
        .stop = s_stop,
        .busy = s_busy,
        .read = s_read,
        .close = s_close,
        .health = s_health,
};
