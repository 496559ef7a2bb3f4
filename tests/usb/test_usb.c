/* SPDX-License-Identifier: Apache-2.0 */
/* test_usb: usb_board against a board mocked with umockdev, no hardware. This
 * process is the board: a umockdev testbed holds its sysfs record and an ioctl
 * handler (run by umockdev on its own thread) answers libusb's usbdevfs
 * ioctls. Run under umockdev-wrapper (LD_PRELOAD=libumockdev-preload.so.0)
 * with TMPDIR set. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <glib-object.h>
#include <linux/ioctl.h>        /* before linux/usbdevice_fs.h */
#include <linux/usbdevice_fs.h>
#include <umockdev.h>

#include "../check.h"
#include "../frag_build.h"
#include "stream.h"
#include "usb_board.h"

#define SYSPATH "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1"
#define DEVNODE "/dev/bus/usb/001/002"
#define SERIAL  "DK-0042"

static const char s_record[] =
        "P: /devices/pci0000:00/0000:00:14.0/usb1/1-1\n"
        "N: bus/usb/001/002\n"
        "E: SUBSYSTEM=usb\n"
        "E: DRIVER=usb\n"
        "E: DEVTYPE=usb_device\n"
        "E: BUSNUM=001\n"
        "E: DEVNUM=002\n"
        "E: DEVNAME=/dev/bus/usb/001/002\n"
        "A: busnum=1\\n\n"
        "A: devnum=2\\n\n"
        "A: bConfigurationValue=1\\n\n"
        "A: speed=480\\n\n"
        "A: idVendor=1209\\n\n"
        "A: idProduct=0001\\n\n"
        "H: descriptors=120100020000004009120100000101020301"
        "0902190001010080320904000001ff00000007058102000200\n";

/* CHECK for a function that returns nothing. */
#define CHECK_VOID(expr)                                                    \
        do {                                                                  \
                if (!(expr)) {                                                \
                        fprintf(stderr, "%s:%d: REQUIRE(%s) failed\n",        \
                                __FILE__, __LINE__, #expr);                   \
                        check_failed_now = 1;                                 \
                }                                                             \
        } while (0)

/* ---- the fake board (its handler runs on umockdev's thread) ------------- */

struct ctl_rec {
        int gen;                        /* plug generation the request reached */
        uint8_t type, request;          /* bmRequestType, bRequest */
        uint16_t value, index;          /* wValue, wIndex */
};

static struct fake {
        pthread_mutex_t lock;           /* guards everything below */
        UMockdevTestbed *tb;            /* the testbed */
        UMockdevIoctlBase *handler;     /* the ioctl handler */
        bool plugged;                   /* answers, else ENODEV */
        int gen;                        /* 1 after the first plug, +1 per replug */
        bool run;                       /* RUN as last set on this plug */
        bool busy;                      /* BUSY as last set on this plug */
        struct ctl_rec ctl[64];         /* vendor requests seen */
        int n_ctl;
        int serial_reads;               /* GET_DESCRIPTOR of the serial string */
        int claims;                     /* CLAIMINTERFACE calls */
        int clear_halts;                /* CLEAR_HALT calls */
        int fail_next;                  /* bulk urbs still to fail */
        int fail_status;                /* with this urb status (-EPIPE: stall) */
        bool hold;                      /* unplugged: reap nothing until a discard */
        int discards;                   /* DISCARDURB calls after the unplug */
        GQueue pending;                 /* bulk IN urbs waiting for data */
        GQueue done;                    /* urbs ready to be reaped */
        const uint8_t *data;            /* the byte stream the board sends */
        size_t len;                     /* its bytes */
        size_t limit;                   /* send no further than this, for now */
        size_t pos;                     /* bytes sent */
        unsigned chunk_i;               /* next chunk size */
        const char *serial;             /* answered to GET_DESCRIPTOR */
} F;

/* Odd transfer sizes: a fragment is split everywhere. */
static const size_t s_chunks[] = { 1, 7, 333, 4096, 2, 61, 1021, 3, 4093, 509, 17, 2048, 5 };

static void s_queue_done(GQueue *q, UMockdevIoctlData *urb_data, int status, int actual)
{
        struct usbdevfs_urb *urb = (struct usbdevfs_urb *)urb_data->data;

        urb->status = status;
        urb->actual_length = actual;
        g_queue_push_tail(q, urb_data);
}

/* Fills a pending bulk urb with up to n of the next stream bytes. */
static size_t s_fill(UMockdevIoctlData *urb_data, size_t n)
{
        struct usbdevfs_urb *urb = (struct usbdevfs_urb *)urb_data->data;

        if (n > (size_t)urb->buffer_length)
                n = (size_t)urb->buffer_length;
        if (n > F.limit - F.pos)
                n = F.limit - F.pos;
        memcpy(urb->buffer, F.data + F.pos, n);
        F.pos += n;
        urb->status = 0;
        urb->actual_length = (int)n;
        return n;
}

static size_t s_string_desc(uint8_t *out, size_t room, uint16_t index)
{
        uint8_t d[64];
        size_t n = 2;

        if (index == 0) {               /* the language list: en-US */
                d[n++] = 0x09;
                d[n++] = 0x04;
        } else {
                const char *s = index == 3 ? F.serial : "darkdaq";
                for (size_t i = 0; s[i] && n + 2 <= sizeof d; i++) {
                        d[n++] = (uint8_t)s[i];
                        d[n++] = 0;
                }
        }
        d[0] = (uint8_t)n;
        d[1] = 3;
        if (n > room)
                n = room;
        memcpy(out, d, n);
        return n;
}

static gboolean s_handle_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client,
                               gpointer unused)
{
        UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
        gulong request = umockdev_ioctl_client_get_request(client);
        gboolean handled = TRUE;

        (void)handler;
        (void)unused;
        pthread_mutex_lock(&F.lock);
        if (!F.plugged) {
                /* Like the kernel after a disconnect: reap what is done, then
                 * ENODEV for everything. */
                if (request == USBDEVFS_DISCARDURB) {
                        F.discards++;
                        F.hold = false;
                }
                if ((request == USBDEVFS_REAPURB || request == USBDEVFS_REAPURBNDELAY) &&
                    F.hold) {
                        umockdev_ioctl_client_complete(client, -1, EAGAIN);
                } else if ((request == USBDEVFS_REAPURB || request == USBDEVFS_REAPURBNDELAY) &&
                    !g_queue_is_empty(&F.done)) {
                        UMockdevIoctlData *urb_data = g_queue_pop_head(&F.done);
                        UMockdevIoctlData *ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
                        umockdev_ioctl_data_set_ptr(ptr, 0, urb_data);
                        umockdev_ioctl_data_unref(urb_data);
                        umockdev_ioctl_client_complete(client, 0, 0);
                } else {
                        umockdev_ioctl_client_complete(client, -1, ENODEV);
                }
                pthread_mutex_unlock(&F.lock);
                return TRUE;
        }

        switch (request) {
        case USBDEVFS_GET_CAPABILITIES: {
                UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);
                *(guint32 *)d->data = USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                                      USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
                umockdev_ioctl_client_complete(client, 0, 0);
                break;
        }
        case USBDEVFS_CLAIMINTERFACE:
                F.claims++;
                umockdev_ioctl_client_complete(client, 0, 0);
                break;
        case USBDEVFS_CLEAR_HALT:
                F.clear_halts++;
                umockdev_ioctl_client_complete(client, 0, 0);
                break;
        case USBDEVFS_RELEASEINTERFACE:
        case USBDEVFS_RESET:
        case USBDEVFS_RESETEP:
        case USBDEVFS_SETINTERFACE:
                umockdev_ioctl_client_complete(client, 0, 0);
                break;

        case USBDEVFS_SUBMITURB: {
                UMockdevIoctlData *urb_data = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
                struct usbdevfs_urb *urb = (struct usbdevfs_urb *)urb_data->data;
                UMockdevIoctlData *buf = umockdev_ioctl_data_resolve(
                        urb_data, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
                        (gsize)urb->buffer_length, NULL);
                (void)buf;      /* owned by urb_data; urb->buffer now points into it */

                if (urb->type == USBDEVFS_URB_TYPE_CONTROL && urb->buffer_length >= 8) {
                        uint8_t *s = urb->buffer;
                        uint8_t type = s[0], req = s[1];
                        uint16_t value = (uint16_t)(s[2] | s[3] << 8);
                        uint16_t index = (uint16_t)(s[4] | s[5] << 8);
                        uint16_t length = (uint16_t)(s[6] | s[7] << 8);
                        int actual = 0;

                        if (type == 0x80 && req == 6 && (value >> 8) == 3) {
                                if ((value & 0xff) == 3)
                                        F.serial_reads++;
                                actual = (int)s_string_desc(s + 8, length, value & 0xff);
                        } else if (F.n_ctl < (int)(sizeof F.ctl / sizeof F.ctl[0])) {
                                F.ctl[F.n_ctl++] = (struct ctl_rec){ F.gen, type, req, value, index };
                                if (type == 0x40 && req == 1)
                                        F.run = value;
                                if (type == 0x40 && req == 2)
                                        F.busy = value;
                        }
                        s_queue_done(&F.done, urb_data, 0, actual);
                } else if (urb->type == USBDEVFS_URB_TYPE_BULK && urb->endpoint == 0x81) {
                        g_queue_push_tail(&F.pending, urb_data);
                } else {
                        umockdev_ioctl_data_unref(urb_data);
                        umockdev_ioctl_client_complete(client, -1, EINVAL);
                        break;
                }
                umockdev_ioctl_client_complete(client, 0, 0);
                break;
        }

        case USBDEVFS_REAPURB:
        case USBDEVFS_REAPURBNDELAY: {
                UMockdevIoctlData *urb_data = NULL;

                if (!g_queue_is_empty(&F.done)) {
                        urb_data = g_queue_pop_head(&F.done);
                } else if (F.run && F.fail_next > 0 && !g_queue_is_empty(&F.pending)) {
                        urb_data = g_queue_pop_head(&F.pending);
                        F.fail_next--;
                        ((struct usbdevfs_urb *)urb_data->data)->status = F.fail_status;
                        ((struct usbdevfs_urb *)urb_data->data)->actual_length = 0;
                } else if (F.run && F.pos < F.limit && !g_queue_is_empty(&F.pending)) {
                        urb_data = g_queue_pop_head(&F.pending);
                        s_fill(urb_data, s_chunks[F.chunk_i++ % (sizeof s_chunks / sizeof s_chunks[0])]);
                }
                if (urb_data) {
                        UMockdevIoctlData *ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
                        umockdev_ioctl_data_set_ptr(ptr, 0, urb_data);
                        umockdev_ioctl_data_unref(urb_data);
                        umockdev_ioctl_client_complete(client, 0, 0);
                } else {
                        umockdev_ioctl_client_complete(client, -1, EAGAIN);
                }
                break;
        }

        case USBDEVFS_DISCARDURB: {
                gulong addr = (gulong)*(void **)arg->data;
                GList *l;

                for (l = F.pending.head; l; l = l->next)
                        if (((UMockdevIoctlData *)l->data)->client_addr == addr)
                                break;
                if (l) {
                        UMockdevIoctlData *urb_data = l->data;
                        g_queue_delete_link(&F.pending, l);
                        s_queue_done(&F.done, urb_data, -ENOENT, 0);
                        umockdev_ioctl_client_complete(client, 0, 0);
                } else {
                        umockdev_ioctl_client_complete(client, -1, EINVAL);
                }
                break;
        }

        default:
                handled = FALSE;
                break;
        }
        pthread_mutex_unlock(&F.lock);
        return handled;
}

static void fake_plug(void)
{
        pthread_mutex_lock(&F.lock);
        F.plugged = true;
        F.hold = false;
        F.gen++;
        F.run = F.busy = false;
        pthread_mutex_unlock(&F.lock);
        /* The handler first, so that libusb can open the node on "add". */
        CHECK_VOID(umockdev_testbed_attach_ioctl(F.tb, DEVNODE, F.handler, NULL));
        CHECK_VOID(umockdev_testbed_add_from_string(F.tb, s_record, NULL));
}

/* The board goes away as the kernel sees it: urbs already filled stay
 * reapable, then every pending urb ends with -ESHUTDOWN.  With
 * complete_rest, the pending urbs are first filled with the rest of the
 * stream (transfers that completed just before the unplug).  With hold,
 * nothing is reaped until libusb tries to discard an urb (the module cancels
 * its transfers once it has seen the hot-plug departure). */
static void fake_unplug(bool complete_rest, bool hold)
{
        pthread_mutex_lock(&F.lock);
        F.hold = hold;
        F.discards = 0;
        while (!g_queue_is_empty(&F.pending)) {
                UMockdevIoctlData *urb_data = g_queue_pop_head(&F.pending);
                if (complete_rest && F.run && F.pos < F.limit) {
                        s_fill(urb_data, SIZE_MAX);
                        g_queue_push_tail(&F.done, urb_data);
                } else {
                        s_queue_done(&F.done, urb_data, -ESHUTDOWN, 0);
                }
        }
        F.plugged = false;
        pthread_mutex_unlock(&F.lock);
        /* The uevent first: remove_device() alone sends none. */
        umockdev_testbed_uevent(F.tb, SYSPATH, "remove");
        umockdev_testbed_remove_device(F.tb, SYSPATH);
        umockdev_testbed_detach_ioctl(F.tb, DEVNODE, NULL);
}

static void fake_send(const uint8_t *data, size_t len, size_t limit)
{
        pthread_mutex_lock(&F.lock);
        F.data = data;
        F.len = len;
        F.limit = limit;
        F.pos = 0;
        pthread_mutex_unlock(&F.lock);
}

static void fake_limit(size_t limit)
{
        pthread_mutex_lock(&F.lock);
        F.limit = limit;
        pthread_mutex_unlock(&F.lock);
}

static void fake_setup(const char *serial)
{
        static bool once;

        if (!once) {
                pthread_mutex_init(&F.lock, NULL);
                once = true;
        }
        pthread_mutex_lock(&F.lock);
        F.tb = umockdev_testbed_new();
        F.handler = umockdev_ioctl_base_new();
        g_signal_connect_after(F.handler, "handle-ioctl", G_CALLBACK(s_handle_ioctl), NULL);
        F.plugged = false;
        F.gen = 0;
        F.n_ctl = 0;
        F.serial_reads = 0;
        F.claims = 0;
        F.clear_halts = 0;
        F.fail_next = 0;
        F.chunk_i = 0;
        F.serial = serial;
        F.data = NULL;
        F.len = F.limit = F.pos = 0;
        g_queue_init(&F.pending);
        g_queue_init(&F.done);
        pthread_mutex_unlock(&F.lock);
}

static void fake_teardown(void)
{
        pthread_mutex_lock(&F.lock);
        while (!g_queue_is_empty(&F.pending))
                umockdev_ioctl_data_unref(g_queue_pop_head(&F.pending));
        while (!g_queue_is_empty(&F.done))
                umockdev_ioctl_data_unref(g_queue_pop_head(&F.done));
        pthread_mutex_unlock(&F.lock);
        g_clear_object(&F.handler);
        g_clear_object(&F.tb);
}

/* The last vendor request bRequest req seen on plug generation gen, or -1. */
static int fake_last(int gen, uint8_t req)
{
        int v = -1;

        pthread_mutex_lock(&F.lock);
        for (int i = 0; i < F.n_ctl; i++)
                if (F.ctl[i].gen == gen && F.ctl[i].request == req)
                        v = F.ctl[i].value;
        pthread_mutex_unlock(&F.lock);
        return v;
}

static void fake_fail(int n, int status)
{
        pthread_mutex_lock(&F.lock);
        F.fail_next = n;
        F.fail_status = status;
        pthread_mutex_unlock(&F.lock);
}

/* How many vendor requests bRequest req with wValue value were seen. */
static int fake_count(uint8_t req, uint16_t value)
{
        int n = 0;

        pthread_mutex_lock(&F.lock);
        for (int i = 0; i < F.n_ctl; i++)
                n += F.ctl[i].request == req && F.ctl[i].value == value;
        pthread_mutex_unlock(&F.lock);
        return n;
}

static size_t fake_pos(void)
{
        pthread_mutex_lock(&F.lock);
        size_t pos = F.pos;
        pthread_mutex_unlock(&F.lock);
        return pos;
}

static int fake_serial_reads(void)
{
        pthread_mutex_lock(&F.lock);
        int n = F.serial_reads;
        pthread_mutex_unlock(&F.lock);
        return n;
}

static int fake_discards(void)
{
        pthread_mutex_lock(&F.lock);
        int n = F.discards;
        pthread_mutex_unlock(&F.lock);
        return n;
}

static unsigned fake_pending(void)
{
        pthread_mutex_lock(&F.lock);
        unsigned n = g_queue_get_length(&F.pending);
        pthread_mutex_unlock(&F.lock);
        return n;
}

/* ---- the consumer: usb_board callbacks feeding a stream reader ------------ */

static struct sink {
        stream_t *rd;                   /* the stream reader of this connection */
        uint32_t triggers[4096];        /* good fragments, in order */
        size_t n_frags;
        size_t n_cut;                   /* cut fragments (ended by a detach) */
        size_t n_other;                 /* junk, bad fragments, bad magic */
        uint64_t bytes;                 /* bytes delivered */
        uint64_t bytes_at_detach;       /* bytes when detached() came */
        size_t frags_at_detach;         /* good fragments when detached() came */
        int attached, detached;         /* callback counts */
        char events[16];                /* 'A' attached, 'D' detached, in order */
        char where[128], why[256];      /* the last messages */
} S;

static int s_item(void *ctx, const struct stream_item *it)
{
        (void)ctx;
        if (it->kind == STREAM_FRAGMENT && S.n_frags < sizeof S.triggers / sizeof S.triggers[0])
                S.triggers[S.n_frags++] = it->hdr.trigger;
        else if (it->kind == STREAM_CUT_FRAGMENT)
                S.n_cut++;
        else
                S.n_other++;
        return 0;
}

static void on_bytes(void *ctx, const uint8_t *data, size_t n)
{
        (void)ctx;
        S.bytes += n;
        CHECK_OK_ZERO(stream_feed(S.rd, data, n, s_item, NULL, NULL));
}

static void on_attached(void *ctx, const char *where)
{
        (void)ctx;
        S.attached++;
        strncat(S.events, "A", sizeof S.events - strlen(S.events) - 1);
        snprintf(S.where, sizeof S.where, "%s", where);
}

/* The contract of detached(): the connection's stream ends here. */
static void on_detached(void *ctx, const char *why)
{
        (void)ctx;
        S.detached++;
        strncat(S.events, "D", sizeof S.events - strlen(S.events) - 1);
        snprintf(S.why, sizeof S.why, "%s", why);
        S.bytes_at_detach = S.bytes;
        CHECK_OK_ZERO(stream_finish(S.rd, s_item, NULL));
        S.frags_at_detach = S.n_frags;
        stream_free(S.rd);
        S.rd = stream_new();
}

static char s_log_last[512];    /* the last log() message, "" = none */
static void on_log(void *ctx, const char *msg)
{
        (void)ctx;
        snprintf(s_log_last, sizeof s_log_last, "%s", msg);
}

static const struct usb_board_callbacks s_cb = { on_bytes, on_attached, on_detached, on_log };

static void sink_reset(void)
{
        stream_free(S.rd);
        memset(&S, 0, sizeof S);
        S.rd = stream_new();
        s_log_last[0] = 0;
}

/* ---- waiting on conditions ------------------------------------------------ */

static uint64_t s_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#define WAIT_MS 10000   /* generous: each wait usually ends in milliseconds */

/* Runs the board's events until cond holds or WAIT_MS pass; the value of cond. */
#define WAIT_FOR(b, cond)                                                     \
        ({                                                                    \
                uint64_t until_ = s_ms() + WAIT_MS;                           \
                while (!(cond) && s_ms() < until_)                            \
                        CHECK_OK_ZERO(usb_board_handle_events((b), 50));      \
                (bool)(cond);                                                 \
        })

/* A stream of fragments first..first+n-1 of varied sizes; returns its bytes
 * and the end offset of each fragment in ends[]. */
static size_t s_build(uint8_t *out, uint32_t first, unsigned n, size_t *ends)
{
        size_t len = 0;

        for (unsigned i = 0; i < n; i++) {
                len += fb_fragment(out + len, 3, first + i, (i * 7) % 23);
                if (ends)
                        ends[i] = len;
        }
        return len;
}

static bool s_triggers_are(size_t from, uint32_t first, size_t n)
{
        if (S.n_frags < from + n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (S.triggers[from + i] != first + i)
                        return false;
        return true;
}

static uint8_t s_buf_a[1 << 18], s_buf_b[1 << 18];

/* ---- the tests ------------------------------------------------------------ */

TEST(usb_stream_run_busy)
{
        struct usb_board_config cfg = { .n_transfers = 4, .transfer_bytes = 4096 };
        struct usb_board_counters st;
        char err[256] = "";
        usb_board_t *b = NULL;
        size_t len = s_build(s_buf_a, 100, 300, NULL);

        fake_setup(SERIAL);
        sink_reset();
        fake_send(s_buf_a, len, len);
        fake_plug();
        CHECK_OK_ZERO(usb_board_new(&b, &cfg, &s_cb, NULL, err, sizeof err));
        if (!b) {
                fprintf(stderr, "%s\n", err);
                goto out;
        }
        /* Asked before the board is open: remembered, sent on attach. */
        CHECK_OK_ZERO(usb_board_run(b, true));
        CHECK(WAIT_FOR(b, S.attached == 1));
        CHECK(strstr(S.where, "usb 1-1") != NULL);
        CHECK(strstr(S.where, "bus 1 dev 2") != NULL);
        CHECK_STR(usb_board_name(b), "usb 1209:0001 (bus 1 dev 2)");
        CHECK(WAIT_FOR(b, fake_last(1, 1) == 1));

        /* Every fragment once, in order, whatever the transfer sizes. */
        CHECK(WAIT_FOR(b, S.n_frags == 300));
        CHECK(s_triggers_are(0, 100, 300));
        CHECK_EQ_U(S.n_other, 0);
        CHECK_EQ_U(S.bytes, len);
        CHECK_EQ_U(stream_held(S.rd), 0);

        CHECK_OK_ZERO(usb_board_busy(b, true));
        CHECK(WAIT_FOR(b, fake_last(1, 2) == 1));
        CHECK_OK_ZERO(usb_board_busy(b, false));
        CHECK(WAIT_FOR(b, fake_last(1, 2) == 0));
        CHECK_OK_ZERO(usb_board_run(b, false));
        CHECK(WAIT_FOR(b, fake_last(1, 1) == 0));
        pthread_mutex_lock(&F.lock);
        for (int i = 0; i < F.n_ctl; i++) {
                CHECK_EQ_U(F.ctl[i].type, 0x40);
                CHECK_EQ_U(F.ctl[i].index, 0);
        }
        CHECK_EQ_U(F.n_ctl, 4);         /* RUN 1, BUSY 1, BUSY 0, RUN 0 */
        CHECK_EQ_U(F.claims, 1);
        pthread_mutex_unlock(&F.lock);

        CHECK(WAIT_FOR(b, (usb_board_get_counters(b, &st),
                           st.busy_requests == 2 && st.run_requests == 2)));
        CHECK_EQ_U(st.bytes, len);
        CHECK(st.transfers >= len / 4096);
        CHECK_EQ_U(st.errors, 0);
        CHECK_EQ_U(st.attaches, 1);
        CHECK_EQ_U(st.reconnects, 0);
        CHECK_EQ_U(st.unplugs, 0);
        CHECK(st.attached);
        CHECK(!st.run && !st.busy);
        CHECK(st.busy_ns > 0);
        CHECK_EQ_U(S.detached, 0);
        CHECK_STR(s_log_last, "");      /* nothing went wrong */

        /* The loop a caller thread runs: poll the pollfds, then handle. */
        {
                struct pollfd fds[16];
                int n = usb_board_pollfds(b, fds, 16);
                CHECK(n >= 1 && n <= 16);
                int t = usb_board_next_timeout(b);
                CHECK(t >= -1);
                CHECK(poll(fds, (nfds_t)n, t < 0 || t > 100 ? 100 : t) >= 0);
                CHECK_OK_ZERO(usb_board_handle_events(b, 0));
        }
out:
        b = usb_board_free(b);
        CHECK(b == NULL);
        sink_reset();
        fake_teardown();
}

/* Twice: the board leaves mid-run with a fragment half sent and its last
 * 3000 bytes in transfers completed but not yet reaped.  The first time the
 * fake kernel holds those back until libusb has seen the hot-plug departure
 * and the module cancelled its transfers (data reaped while closing); the
 * second time they are reaped at once (the transfers tell of the departure
 * first).  Each time: every byte sent before the unplug reaches bytes()
 * before detached(), the cut fragment ends as a cut fragment, the board
 * comes back by itself with RUN and BUSY re-sent, and data flows again. */
TEST(usb_unplug_replug)
{
        struct usb_board_config cfg = { .serial = SERIAL, .n_transfers = 4, .transfer_bytes = 4096 };
        struct usb_board_counters st;
        static size_t ends[400];
        char err[256] = "";
        usb_board_t *b;
        uint64_t bytes_before = 0;
        size_t len, cut;

        fake_setup(SERIAL);
        sink_reset();
        fake_plug();
        REQUIRE_OK_ZERO(usb_board_new(&b, &cfg, &s_cb, NULL, err, sizeof err));
        CHECK_OK_ZERO(usb_board_run(b, true));
        CHECK_OK_ZERO(usb_board_busy(b, true));

        for (int cycle = 0; cycle < 2; cycle++) {
                bool hold = cycle == 0;
                uint32_t first = 1000u * (uint32_t)cycle;

                /* Fragments first..first+199 whole, and half of first+200. */
                len = s_build(s_buf_a, first, 201, ends);
                cut = ends[199] + (ends[200] - ends[199]) / 2;
                CHECK(len > cut);
                fake_send(s_buf_a, cut, cut - 3000);

                CHECK(WAIT_FOR(b, S.attached == cycle + 1));
                CHECK_STR(usb_board_name(b), "usb 1209:0001 serial " SERIAL " (bus 1 dev 2)");
                /* RUN and BUSY reach this plug's device without a call from us. */
                CHECK(WAIT_FOR(b, fake_last(cycle + 1, 1) == 1));
                CHECK(WAIT_FOR(b, fake_last(cycle + 1, 2) == 1));
                CHECK(WAIT_FOR(b, S.bytes == bytes_before + cut - 3000));
                CHECK(WAIT_FOR(b, fake_pending() == 4));
                CHECK(fake_serial_reads() >= cycle + 1);

                fake_limit(cut);
                fake_unplug(true, hold);
                CHECK_EQ_U(fake_pos(), cut);
                CHECK(WAIT_FOR(b, S.detached == cycle + 1));
                CHECK_STR(S.events, cycle == 0 ? "AD" : "ADAD");
                CHECK(strstr(S.why, "usb 1209:0001 serial " SERIAL " (bus 1 dev 2): unplugged") == S.why);
                if (hold)
                        CHECK(fake_discards() > 0);
                /* Everything the board sent before the unplug, and no more. */
                CHECK_EQ_U(S.bytes_at_detach, bytes_before + cut);
                CHECK_EQ_U(S.frags_at_detach, 200 * (cycle + 1));
                CHECK(s_triggers_are(200 * (size_t)cycle, first, 200));
                CHECK_EQ_U(S.n_cut, cycle + 1);         /* fragment first+200 */
                CHECK_EQ_U(S.n_other, 0);
                usb_board_get_counters(b, &st);
                CHECK(!st.attached);
                CHECK_EQ_U(st.unplugs, cycle + 1);
                CHECK_EQ_U(st.failures, 0);
                CHECK_EQ_U(st.reconnects, cycle);
                CHECK_EQ_U(st.bytes, bytes_before + cut);
                bytes_before += cut;

                fake_plug();
        }

        /* After the last replug: a fresh stream flows again. */
        len = s_build(s_buf_b, 5000, 150, NULL);
        fake_send(s_buf_b, len, len);
        CHECK(WAIT_FOR(b, S.attached == 3));
        CHECK_STR(S.events, "ADADA");
        CHECK(WAIT_FOR(b, fake_last(3, 1) == 1));
        CHECK(WAIT_FOR(b, fake_last(3, 2) == 1));
        CHECK(WAIT_FOR(b, S.n_frags == 550));
        CHECK(s_triggers_are(0, 0, 200));
        CHECK(s_triggers_are(200, 1000, 200));
        CHECK(s_triggers_are(400, 5000, 150));
        CHECK_EQ_U(S.n_other, 0);
        CHECK_EQ_U(S.bytes, bytes_before + len);
        usb_board_get_counters(b, &st);
        CHECK(st.attached);
        CHECK_EQ_U(st.attaches, 3);
        CHECK_EQ_U(st.reconnects, 2);
        CHECK_EQ_U(st.unplugs, 2);
        CHECK_EQ_U(st.errors, 0);
        CHECK_EQ_U(st.bytes, bytes_before + len);
        CHECK(st.run && st.busy);
        pthread_mutex_lock(&F.lock);
        CHECK_EQ_U(F.claims, 3);
        pthread_mutex_unlock(&F.lock);
        CHECK_STR(s_log_last, "");      /* an unplug is no error */

        b = usb_board_free(b);
        sink_reset();
        fake_teardown();
}

/* A stalled endpoint is cleared and the data goes on; errors in a row make
 * the module give the handle up (detached, a failure) and reopen the board,
 * still present, after retry_ms, re-sending RUN. */
TEST(usb_stall_and_errors)
{
        struct usb_board_config cfg = { .n_transfers = 4, .transfer_bytes = 4096,
                                        .max_errors = 3, .retry_ms = 20 };
        struct usb_board_counters st;
        char err[256] = "";
        usb_board_t *b;
        size_t len_a = s_build(s_buf_a, 0, 100, NULL);
        size_t len_b = s_build(s_buf_b, 200, 100, NULL);

        fake_setup(SERIAL);
        sink_reset();
        fake_send(s_buf_a, len_a, len_a);
        fake_fail(1, -EPIPE);           /* the first bulk urb stalls */
        fake_plug();
        REQUIRE_OK_ZERO(usb_board_new(&b, &cfg, &s_cb, NULL, err, sizeof err));
        CHECK_OK_ZERO(usb_board_run(b, true));
        CHECK(WAIT_FOR(b, S.n_frags == 100));
        CHECK(s_triggers_are(0, 0, 100));
        CHECK(strstr(s_log_last, "usb 1209:0001 (bus 1 dev 2): bulk endpoint 0x81 stalled; "
                                 "clearing the halt") == s_log_last);
        pthread_mutex_lock(&F.lock);
        CHECK_EQ_U(F.clear_halts, 1);
        pthread_mutex_unlock(&F.lock);
        usb_board_get_counters(b, &st);
        CHECK_EQ_U(st.errors, 1);
        CHECK_EQ_U(S.detached, 0);

        /* Three bus errors in a row: given up, then reopened. */
        fake_fail(3, -EPROTO);
        fake_send(s_buf_b, len_b, len_b);
        CHECK(WAIT_FOR(b, S.detached == 1));
        CHECK(strstr(S.why, "usb 1209:0001 (bus 1 dev 2): 3 bulk transfer errors in a row "
                            "(last: transfer error); closing it, reopening in 20 ms") == S.why);
        CHECK(WAIT_FOR(b, S.attached == 2));
        CHECK_STR(S.events, "ADA");
        CHECK(WAIT_FOR(b, fake_count(1, 1) == 2));
        CHECK(WAIT_FOR(b, S.n_frags == 200));
        CHECK(s_triggers_are(100, 200, 100));
        CHECK_EQ_U(S.n_other, 0);
        CHECK_EQ_U(S.n_cut, 0);
        usb_board_get_counters(b, &st);
        CHECK_EQ_U(st.errors, 4);
        CHECK_EQ_U(st.failures, 1);
        CHECK_EQ_U(st.unplugs, 0);
        CHECK_EQ_U(st.reconnects, 1);
        CHECK_EQ_U(st.bytes, len_a + len_b);

        b = usb_board_free(b);
        sink_reset();
        fake_teardown();
}

/* A board of the right vid:pid but another serial number is not taken. */
TEST(usb_other_serial_ignored)
{
        struct usb_board_config cfg = { .serial = "OTHER" };
        struct usb_board_counters st;
        char err[256] = "";
        usb_board_t *b;

        fake_setup(SERIAL);
        sink_reset();
        fake_plug();
        REQUIRE_OK_ZERO(usb_board_new(&b, &cfg, &s_cb, NULL, err, sizeof err));
        CHECK_OK_ZERO(usb_board_run(b, true));
        CHECK(WAIT_FOR(b, fake_serial_reads() >= 1));
        /* The serial number is read inside the scan that decides. */
        CHECK_OK_ZERO(usb_board_handle_events(b, 0));
        usb_board_get_counters(b, &st);
        CHECK(!st.attached);
        CHECK_EQ_U(st.attaches, 0);
        CHECK_EQ_U(S.attached, 0);
        pthread_mutex_lock(&F.lock);
        CHECK_EQ_U(F.claims, 0);
        CHECK_EQ_U(F.n_ctl, 0);
        pthread_mutex_unlock(&F.lock);
        b = usb_board_free(b);
        sink_reset();
        fake_teardown();
}

TEST(usb_new_errors_and_free_null)
{
        char err[256] = "";
        struct usb_board_callbacks none = { 0 };

        usb_board_t *b = NULL;

        CHECK(usb_board_free(NULL) == NULL);
        CHECK_FAIL(usb_board_new(&b, NULL, &none, NULL, err, sizeof err));
        CHECK(strstr(err, "callbacks") != NULL);
}

TEST_MAIN()
