/* SPDX-License-Identifier: Apache-2.0 */
/* usb_board_mock: plays up to MOCK_MAX_BOARDS USB readout boards (1209:0001)
 * for other processes, which run with umockdev's preload library and this
 * testbed's directory in UMOCKDEV_DIR.  It owns the testbed and one ioctl
 * handler per board; a board sends the bytes of a raw stream file on bulk IN
 * 0x81 while RUN is on (and BUSY off, unless told to ignore it), and records
 * every RUN and BUSY request.
 * It does only what its commands say: one per line on stdin, one answer line
 * on stdout (see s_usage).  Run it under umockdev-wrapper. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib-object.h>
#include <linux/ioctl.h>        /* before linux/usbdevice_fs.h */
#include <linux/usbdevice_fs.h>
#include <umockdev.h>

#define MOCK_MAX_BOARDS 8

static const char s_usage[] =
        "usage: usb_board_mock (under umockdev-wrapper); prints \"ready UMOCKDEV_DIR\",\n"
        "then takes one command per line on stdin and answers one line:\n"
        "  add K SERIAL FILE   board K (0..7, usb 1-(K+1), bus 1 dev K+2) with that serial\n"
        "                      number, sending FILE's bytes; not plugged yet\n"
        "  plug K              the board appears (hot-plug add)\n"
        "  unplug K            it leaves (hot-plug remove); pending transfers end -ESHUTDOWN\n"
        "  limit K OFFSET      send no byte at or past OFFSET of FILE (default: its end)\n"
        "  seek K OFFSET       the next byte sent is FILE's byte OFFSET (those skipped\n"
        "                      are triggers the board missed)\n"
        "  throttle K 0|1      1 (default): BUSY stops the board sending; 0: it sends\n"
        "                      what it holds whatever BUSY says\n"
        "  status K            one JSON line: plugged, gen (plugs so far), pos, limit, len,\n"
        "                      run, busy, claims, serial_reads, pending, and requests:\n"
        "                      [[gen, bRequest, wValue], ...] of every RUN and BUSY\n"
        "  quit                (also at the end of stdin)\n"
        "Answers: \"ok\", the JSON line, or \"error MESSAGE\".\n";

/* Bulk IN transfer sizes, in turn (each cut to the urb's buffer and the
 * limit): fragments are split at odd places. */
static const size_t s_chunks[] = { 65536, 1021, 7, 32771, 65536, 4093 };

struct request {
        int gen;                        /* plug generation it reached */
        uint8_t request;                /* bRequest: 1 RUN, 2 BUSY */
        uint16_t value;                 /* wValue */
};

struct board {
        bool added;                     /* `add` was given */
        unsigned k;                     /* its index */
        char serial[64];                /* answered to GET_DESCRIPTOR(string 3) */
        char syspath[128];              /* /sys/devices/.../usb1/1-(K+1) */
        char devnode[64];               /* /dev/bus/usb/001/(K+2) */
        char *record;                   /* the udev record add_from_string takes */
        UMockdevIoctlBase *handler;     /* its usbdevfs ioctls */
        uint8_t *data;                  /* the stream file */
        size_t len;                     /* its bytes */
        size_t pos;                     /* next byte to send */
        size_t limit;                   /* send no further than this */
        unsigned chunk_i;               /* next entry of s_chunks */
        bool throttle;                  /* BUSY stops the sending */
        bool plugged;                   /* answers, else ENODEV */
        int gen;                        /* plugs so far */
        bool run, busy;                 /* as last set on this plug */
        struct request *req;            /* every RUN/BUSY request */
        size_t n_req, cap_req;
        unsigned claims;                /* CLAIMINTERFACE calls */
        unsigned serial_reads;          /* GET_DESCRIPTOR of the serial string */
        GQueue pending;                 /* bulk IN urbs waiting for data */
        GQueue done;                    /* urbs ready to be reaped */
};

/* A board may be open several times (one daemon source streams from it while
 * another reads its serial number): each urb belongs to the client (the
 * open file) that submitted it, and only that client reaps or discards it. */
#define S_CLIENT "usb_board_mock-client"

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;     /* guards s_boards */
static struct board s_boards[MOCK_MAX_BOARDS];
static UMockdevTestbed *s_tb;

/* ---- the boards' side: runs on umockdev's thread ------------------------ */

static UMockdevIoctlClient *s_client_of(UMockdevIoctlData *urb_data)
{
        return g_object_get_data(G_OBJECT(urb_data), S_CLIENT);
}

/* Takes the first urb of client c out of q, or NULL.  Urbs of clients that
 * have gone (the file closed) are dropped on the way. */
static UMockdevIoctlData *s_take(GQueue *q, UMockdevIoctlClient *c)
{
        GList *l = q->head;

        while (l) {
                GList *next = l->next;
                UMockdevIoctlData *urb_data = l->data;
                UMockdevIoctlClient *owner = s_client_of(urb_data);

                if (owner == c) {
                        g_queue_delete_link(q, l);
                        return urb_data;
                }
                if (!umockdev_ioctl_client_get_connected(owner)) {
                        g_queue_delete_link(q, l);
                        umockdev_ioctl_data_unref(urb_data);
                }
                l = next;
        }
        return NULL;
}

static void s_done(struct board *b, UMockdevIoctlData *urb_data, int status, int actual)
{
        struct usbdevfs_urb *urb = (struct usbdevfs_urb *)urb_data->data;

        urb->status = status;
        urb->actual_length = actual;
        g_queue_push_tail(&b->done, urb_data);
}

static size_t s_string_desc(const struct board *b, uint8_t *out, size_t room, uint16_t index)
{
        uint8_t d[2 + 2 * 64];
        size_t n = 2;

        if (index == 0) {               /* the language list: en-US */
                d[n++] = 0x09;
                d[n++] = 0x04;
        } else {
                const char *s = index == 3 ? b->serial : "darkdaq";
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

static void s_record_request(struct board *b, uint8_t request, uint16_t value)
{
        if (b->n_req == b->cap_req) {
                size_t cap = b->cap_req ? 2 * b->cap_req : 64;
                struct request *p = realloc(b->req, cap * sizeof *p);
                if (!p)
                        abort();
                b->req = p;
                b->cap_req = cap;
        }
        b->req[b->n_req++] = (struct request){ b->gen, request, value };
        if (request == 1)
                b->run = value;
        else if (request == 2)
                b->busy = value;
}

static void s_submit(struct board *b, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
        UMockdevIoctlData *urb_data =
                umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
        struct usbdevfs_urb *urb = (struct usbdevfs_urb *)urb_data->data;

        g_object_set_data_full(G_OBJECT(urb_data), S_CLIENT, g_object_ref(client),
                               g_object_unref);

        /* urb->buffer now points into the resolved copy, owned by urb_data */
        umockdev_ioctl_data_resolve(urb_data, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
                                    (gsize)urb->buffer_length, NULL);
        if (urb->type == USBDEVFS_URB_TYPE_CONTROL && urb->buffer_length >= 8) {
                uint8_t *s = urb->buffer;
                uint16_t value = (uint16_t)(s[2] | s[3] << 8);
                uint16_t length = (uint16_t)(s[6] | s[7] << 8);
                int actual = 0;

                if (s[0] == 0x80 && s[1] == 6 && value >> 8 == 3) {
                        b->serial_reads += (value & 0xff) == 3;
                        actual = (int)s_string_desc(b, s + 8, length, value & 0xff);
                } else if (s[0] == 0x40) {
                        s_record_request(b, s[1], value);
                }
                s_done(b, urb_data, 0, actual);
        } else if (urb->type == USBDEVFS_URB_TYPE_BULK && urb->endpoint == 0x81) {
                g_queue_push_tail(&b->pending, urb_data);
        } else {
                umockdev_ioctl_data_unref(urb_data);
                umockdev_ioctl_client_complete(client, -1, EINVAL);
                return;
        }
        umockdev_ioctl_client_complete(client, 0, 0);
}

/* Client c's first done urb, else its first pending bulk urb filled with
 * the next bytes when the board may send; NULL if neither. */
static UMockdevIoctlData *s_reapable(struct board *b, UMockdevIoctlClient *c)
{
        UMockdevIoctlData *urb_data = s_take(&b->done, c);
        struct usbdevfs_urb *urb;
        size_t n;

        if (urb_data)
                return urb_data;
        if (!b->plugged || !b->run || (b->busy && b->throttle) || b->pos >= b->limit ||
            !(urb_data = s_take(&b->pending, c)))
                return NULL;
        urb = (struct usbdevfs_urb *)urb_data->data;
        n = s_chunks[b->chunk_i++ % (sizeof s_chunks / sizeof s_chunks[0])];
        if (n > (size_t)urb->buffer_length)
                n = (size_t)urb->buffer_length;
        if (n > b->limit - b->pos)
                n = b->limit - b->pos;
        memcpy(urb->buffer, b->data + b->pos, n);
        b->pos += n;
        urb->status = 0;
        urb->actual_length = (int)n;
        return urb_data;
}

static void s_reap(struct board *b, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
        UMockdevIoctlData *urb_data = s_reapable(b, client);

        if (urb_data) {
                UMockdevIoctlData *ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer),
                                                                     NULL);
                umockdev_ioctl_data_set_ptr(ptr, 0, urb_data);
                umockdev_ioctl_data_unref(urb_data);
                umockdev_ioctl_client_complete(client, 0, 0);
        } else {
                umockdev_ioctl_client_complete(client, -1, b->plugged ? EAGAIN : ENODEV);
        }
}

static void s_discard(struct board *b, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
        gulong addr = (gulong)*(void **)arg->data;
        GList *l;

        for (l = b->pending.head; l; l = l->next)
                if (((UMockdevIoctlData *)l->data)->client_addr == addr &&
                    s_client_of(l->data) == client)
                        break;
        if (!l) {
                umockdev_ioctl_client_complete(client, -1, EINVAL);
                return;
        }
        UMockdevIoctlData *urb_data = l->data;
        g_queue_delete_link(&b->pending, l);
        s_done(b, urb_data, -ENOENT, 0);
        umockdev_ioctl_client_complete(client, 0, 0);
}

static gboolean s_handle_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client,
                               gpointer arg_board)
{
        struct board *b = arg_board;
        UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
        gulong request = umockdev_ioctl_client_get_request(client);
        gboolean handled = TRUE;

        (void)handler;
        pthread_mutex_lock(&s_lock);
        if (!b->plugged) {
                /* like the kernel after a disconnect: what is done can still
                 * be reaped and discarded, everything else is ENODEV */
                if (request == USBDEVFS_REAPURB || request == USBDEVFS_REAPURBNDELAY)
                        s_reap(b, client, arg);
                else
                        umockdev_ioctl_client_complete(client, -1, ENODEV);
                pthread_mutex_unlock(&s_lock);
                return TRUE;
        }
        switch (request) {
        case USBDEVFS_GET_CAPABILITIES: {
                UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);
                *(guint32 *)d->data = USBDEVFS_CAP_BULK_CONTINUATION |
                                      USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                                      USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
                umockdev_ioctl_client_complete(client, 0, 0);
                break;
        }
        case USBDEVFS_CLAIMINTERFACE:
                b->claims++;
                umockdev_ioctl_client_complete(client, 0, 0);
                break;
        case USBDEVFS_RELEASEINTERFACE:
        case USBDEVFS_CLEAR_HALT:
        case USBDEVFS_RESET:
        case USBDEVFS_RESETEP:
        case USBDEVFS_SETINTERFACE:
                umockdev_ioctl_client_complete(client, 0, 0);
                break;
        case USBDEVFS_SUBMITURB:
                s_submit(b, client, arg);
                break;
        case USBDEVFS_REAPURB:
        case USBDEVFS_REAPURBNDELAY:
                s_reap(b, client, arg);
                break;
        case USBDEVFS_DISCARDURB:
                s_discard(b, client, arg);
                break;
        default:
                handled = FALSE;
                break;
        }
        pthread_mutex_unlock(&s_lock);
        return handled;
}

/* ---- the commands: the main thread -------------------------------------- */

static int s_add(unsigned k, const char *serial, const char *path, char *err, size_t errlen)
{
        struct board *b = &s_boards[k];
        GError *gerr = NULL;
        gchar *data;
        gsize len;

        if (b->added) {
                snprintf(err, errlen, "board %u already added", k);
                return -EEXIST;
        }
        if (!g_file_get_contents(path, &data, &len, &gerr)) {
                snprintf(err, errlen, "%s", gerr->message);
                g_error_free(gerr);
                return -EIO;
        }
        b->k = k;
        snprintf(b->serial, sizeof b->serial, "%s", serial);
        snprintf(b->syspath, sizeof b->syspath,
                 "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-%u", k + 1);
        snprintf(b->devnode, sizeof b->devnode, "/dev/bus/usb/001/%03u", k + 2);
        b->record = g_strdup_printf(
                "P: /devices/pci0000:00/0000:00:14.0/usb1/1-%u\n"
                "N: bus/usb/001/%03u\n"
                "E: SUBSYSTEM=usb\n"
                "E: DRIVER=usb\n"
                "E: DEVTYPE=usb_device\n"
                "E: BUSNUM=001\n"
                "E: DEVNUM=%03u\n"
                "E: DEVNAME=/dev/bus/usb/001/%03u\n"
                "A: busnum=1\\n\n"
                "A: devnum=%u\\n\n"
                "A: bConfigurationValue=1\\n\n"
                "A: speed=480\\n\n"
                "A: idVendor=1209\\n\n"
                "A: idProduct=0001\\n\n"
                "H: descriptors=120100020000004009120100000101020301"
                "0902190001010080320904000001ff00000007058102000200\n",
                k + 1, k + 2, k + 2, k + 2, k + 2);
        b->handler = umockdev_ioctl_base_new();
        g_signal_connect_after(b->handler, "handle-ioctl", G_CALLBACK(s_handle_ioctl), b);
        pthread_mutex_lock(&s_lock);
        b->data = (uint8_t *)data;
        b->len = b->limit = len;
        b->pos = 0;
        b->throttle = true;
        g_queue_init(&b->pending);
        g_queue_init(&b->done);
        b->added = true;
        pthread_mutex_unlock(&s_lock);
        return 0;
}

static int s_plug(struct board *b, char *err, size_t errlen)
{
        pthread_mutex_lock(&s_lock);
        if (b->plugged) {
                pthread_mutex_unlock(&s_lock);
                snprintf(err, errlen, "board %u is plugged", b->k);
                return -EBUSY;
        }
        b->plugged = true;
        b->gen++;
        b->run = b->busy = false;       /* a fresh board starts stopped */
        pthread_mutex_unlock(&s_lock);
        /* the handler first, so that the node opens on "add" */
        if (!umockdev_testbed_attach_ioctl(s_tb, b->devnode, b->handler, NULL) ||
            !umockdev_testbed_add_from_string(s_tb, b->record, NULL)) {
                snprintf(err, errlen, "board %u: umockdev refused the device", b->k);
                return -EIO;
        }
        return 0;
}

static int s_unplug(struct board *b, char *err, size_t errlen)
{
        pthread_mutex_lock(&s_lock);
        if (!b->plugged) {
                pthread_mutex_unlock(&s_lock);
                snprintf(err, errlen, "board %u is not plugged", b->k);
                return -ENODEV;
        }
        while (!g_queue_is_empty(&b->pending))
                s_done(b, g_queue_pop_head(&b->pending), -ESHUTDOWN, 0);
        b->plugged = false;
        pthread_mutex_unlock(&s_lock);
        /* the uevent first: remove_device() alone sends none */
        umockdev_testbed_uevent(s_tb, b->syspath, "remove");
        umockdev_testbed_remove_device(s_tb, b->syspath);
        umockdev_testbed_detach_ioctl(s_tb, b->devnode, NULL);
        return 0;
}

static void s_status(struct board *b, GString *out)
{
        pthread_mutex_lock(&s_lock);
        g_string_append_printf(out, "{\"plugged\":%s,\"gen\":%d,\"pos\":%zu,\"limit\":%zu,"
                               "\"len\":%zu,\"run\":%d,\"busy\":%d,\"claims\":%u,"
                               "\"serial_reads\":%u,\"pending\":%u,\"requests\":[",
                               b->plugged ? "true" : "false", b->gen, b->pos, b->limit, b->len,
                               b->run, b->busy, b->claims, b->serial_reads,
                               g_queue_get_length(&b->pending));
        for (size_t i = 0; i < b->n_req; i++)
                g_string_append_printf(out, "%s[%d,%u,%u]", i ? "," : "", b->req[i].gen,
                                       b->req[i].request, b->req[i].value);
        g_string_append(out, "]}");
        pthread_mutex_unlock(&s_lock);
}

static int s_parse_u64(const char *s, uint64_t *ret)
{
        char *end;

        errno = 0;
        uint64_t v = strtoull(s ? s : "", &end, 10);
        if (!s || errno || end == s || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* One command line; the answer goes to out.  Returns 1 for quit. */
static int s_command(char *line, GString *out)
{
        char err[256] = "";
        char *save = NULL;
        const char *cmd = strtok_r(line, " \t\n", &save);
        const char *ks = strtok_r(NULL, " \t\n", &save);
        const char *a1 = strtok_r(NULL, " \t\n", &save);
        const char *a2 = strtok_r(NULL, "\n", &save);
        struct board *b = NULL;
        uint64_t k = 0, v;
        int r = 0;

        if (!cmd || !strcmp(cmd, "quit"))
                return 1;
        if (s_parse_u64(ks, &k) < 0 || k >= MOCK_MAX_BOARDS) {
                g_string_append_printf(out, "error %s: board index 0..%d expected", cmd,
                                       MOCK_MAX_BOARDS - 1);
                return 0;
        }
        b = &s_boards[k];
        if (strcmp(cmd, "add") && !b->added) {
                g_string_append_printf(out, "error %s: board %" PRIu64 " was not added", cmd, k);
                return 0;
        }
        if (!strcmp(cmd, "add") && a1 && a2) {
                r = s_add((unsigned)k, a1, a2, err, sizeof err);
        } else if (!strcmp(cmd, "plug")) {
                r = s_plug(b, err, sizeof err);
        } else if (!strcmp(cmd, "unplug")) {
                r = s_unplug(b, err, sizeof err);
        } else if (!strcmp(cmd, "throttle") && s_parse_u64(a1, &v) == 0 && v <= 1) {
                pthread_mutex_lock(&s_lock);
                b->throttle = v;
                pthread_mutex_unlock(&s_lock);
        } else if ((!strcmp(cmd, "limit") || !strcmp(cmd, "seek")) && s_parse_u64(a1, &v) == 0) {
                pthread_mutex_lock(&s_lock);
                if (v > b->len) {
                        snprintf(err, sizeof err, "%s: offset %" PRIu64 " past the stream's %zu "
                                 "bytes", cmd, v, b->len);
                        r = -EINVAL;
                } else if (cmd[0] == 'l') {
                        b->limit = v;
                } else {
                        b->pos = v;
                }
                pthread_mutex_unlock(&s_lock);
        } else if (!strcmp(cmd, "status")) {
                s_status(b, out);
                return 0;
        } else {
                g_string_append_printf(out, "error bad command \"%s\" (see --help)", cmd);
                return 0;
        }
        if (r < 0)
                g_string_append_printf(out, "error %s", err);
        else
                g_string_append(out, "ok");
        return 0;
}

int main(int argc, char **argv)
{
        GString *out = g_string_new(NULL);
        char *line = NULL;
        size_t cap = 0;

        if (argc > 1) {
                fputs(s_usage, !strcmp(argv[1], "--help") ? stdout : stderr);
                return !strcmp(argv[1], "--help") ? 0 : 2;
        }
        s_tb = umockdev_testbed_new();
        if (!umockdev_in_mock_environment()) {
                fprintf(stderr, "usb_board_mock: not under umockdev-wrapper (no preload "
                        "library); exiting\n");
                g_object_unref(s_tb);
                return 1;
        }
        gchar *dir = umockdev_testbed_get_root_dir(s_tb);
        printf("ready %s\n", dir);
        fflush(stdout);
        g_free(dir);
        while (getline(&line, &cap, stdin) > 0) {
                g_string_truncate(out, 0);
                if (s_command(line, out))
                        break;
                printf("%s\n", out->str);
                fflush(stdout);
        }
        free(line);
        for (unsigned k = 0; k < MOCK_MAX_BOARDS; k++) {
                struct board *b = &s_boards[k];
                char err[256];

                if (!b->added)
                        continue;
                if (b->plugged)
                        s_unplug(b, err, sizeof err);
                while (!g_queue_is_empty(&b->pending))
                        umockdev_ioctl_data_unref(g_queue_pop_head(&b->pending));
                while (!g_queue_is_empty(&b->done))
                        umockdev_ioctl_data_unref(g_queue_pop_head(&b->done));
                g_clear_object(&b->handler);
                g_free(b->record);
                g_free(b->data);
                free(b->req);
        }
        g_clear_object(&s_tb);
        g_string_free(out, TRUE);
        return 0;
}
