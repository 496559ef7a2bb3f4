/* SPDX-License-Identifier: Apache-2.0 */
/* usb: a source that reads a board over USB (libusb bulk transfers, hot
 * plug), through usb_board.c.  The libusb events are handled in the
 * source's own thread, inside read().  An unplugged board ends its stream
 * with DRIVER_RESET after every byte that arrived before the unplug, so the
 * cut fragment becomes junk and every complete one is kept; the board is
 * picked up again when it returns.  What usb_board has to say (the board
 * left, came back, an error) comes out of read() as DRIVER_NOTE lines. */
#include "driver.h"

#include <errno.h>
#include <stdarg.h>
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

#define S_NOTES         8               /* log lines held for read() */
#define S_NOTE_BYTES    320

struct driver_handle {
        usb_board_t *board;
        char label[96];                 /* "usb 1209:0001 serial X", for notes */
        uint8_t *pending;               /* bytes delivered by callbacks, not yet read */
        size_t n_pending, cap, at;
        bool reset;                     /* the board left after the pending bytes */
        bool failed;                    /* out of memory holding bytes */
        _Atomic bool running;
        _Atomic bool busy;              /* BUSY as last asked */
        int idle_after_stop;            /* empty reads since RUN went off */
        bool ever_attached;             /* a board was attached before */
        char notes[S_NOTES][S_NOTE_BYTES];      /* log lines, oldest at note_at */
        unsigned note_at, n_notes;
        unsigned notes_dropped;         /* lines lost to a full queue */
};

/* Queues a line for read() to return as DRIVER_NOTE (callbacks only: the
 * thread inside usb_board_handle_events). */
__attribute__((format(printf, 2, 3)))
static void s_note(driver_handle_t *h, const char *fmt, ...)
{
        va_list ap;

        if (h->n_notes == S_NOTES) {
                h->notes_dropped++;
                return;
        }
        va_start(ap, fmt);
        vsnprintf(h->notes[(h->note_at + h->n_notes) % S_NOTES], S_NOTE_BYTES, fmt, ap);
        va_end(ap);
        h->n_notes++;
}

/* Moves the oldest note into buf; false if there is none. */
static bool s_pop_note(driver_handle_t *h, char *buf, size_t len)
{
        if (h->n_notes == 0) {
                if (!h->notes_dropped)
                        return false;
                snprintf(buf, len, "%s: %u more messages were dropped (they came faster "
                         "than they are logged)", h->label, h->notes_dropped);
                h->notes_dropped = 0;
                return true;
        }
        snprintf(buf, len, "%s", h->notes[h->note_at]);
        h->note_at = (h->note_at + 1) % S_NOTES;
        h->n_notes--;
        return true;
}

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
        driver_handle_t *h = ctx;
        bool run = atomic_load(&h->running), busy = atomic_load(&h->busy);

        /* usb_board has sent RUN and BUSY as they were last asked */
        s_note(h, "%s: %s at %s%s%s", h->label, h->ever_attached ? "back" : "attached", where,
               !run ? "" : busy ? "; RUN and BUSY sent" : "; RUN sent",
               run && h->ever_attached ? " again" : "");
        h->ever_attached = true;
}

static void s_detached(void *ctx, const char *why)
{
        driver_handle_t *h = ctx;

        s_note(h, "%s; a fragment it cut off is junk", why);
        h->reset = true;
}

static void s_log(void *ctx, const char *msg)
{
        s_note(ctx, "%s", msg);
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
                                          .detached = s_detached, .log = s_log };
        struct usb_board_counters st;
        char note[S_NOTE_BYTES] = "";
        int r = usb_board_new(&h->board, &uc, &cb, h, err, errlen);
        if (r < 0) {
                free(h);
                return r;
        }
        snprintf(h->label, sizeof h->label, "%s", usb_board_name(h->board));
        /* Take the board now if it is there, so that configure can say
         * whether it is; the attach itself needs no line in the log. */
        usb_board_handle_events(h->board, 0);
        usb_board_get_counters(h->board, &st);
        while (s_pop_note(h, note, sizeof note))
                ;       /* the last one, if any, says why it was not taken */
        if (st.attached)
                err[0] = '\0';
        else if (note[0] && !h->ever_attached)
                snprintf(err, errlen, "%s: not present or not usable (%s); it is taken "
                         "when it appears", h->label, note);
        else
                snprintf(err, errlen, "%s: not present; it is taken when it appears",
                         h->label);
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
        atomic_store(&h->busy, on);
        usb_board_busy(h->board, on);
}

/* Bytes first, then the notes that came with them, then the reset: every
 * byte before an unplug is read before the stream ends. */
static ssize_t s_read(driver_handle_t *h, void *buf, size_t len, int timeout_ms, char *err,
                      size_t errlen)
{
        if (h->at == h->n_pending) {
                h->at = h->n_pending = 0;
                if (s_pop_note(h, err, errlen))
                        return DRIVER_NOTE;
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
                        if (h->n_notes || h->notes_dropped || h->reset)
                                return 0;       /* said by the next read */
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
