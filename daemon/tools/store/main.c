/* SPDX-License-Identifier: Apache-2.0 */
/* darkdaq-store: the storage writer.  Connects a DEALER socket to
 * darkdaqd's storage ROUTER (channel v2, storage_proto.h), writes every
 * record into run files (store.c) and says HELLO/ACK/FULL/RESUME/NAK on the
 * same socket.  This file owns the socket, signals and the loop. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <zmq.h>

#include "auth.h"
#include "clock.h"
#include "linkwatch.h"
#include "notify.h"
#include "sha256.h"
#include "storage_proto.h"
#include "store.h"
#include "store_config.h"

#define BATCH_MAX               4096            /* messages read between timer checks */
#define DISK_CHECK_MS           1000            /* statvfs this often ... */
#define DISK_CHECK_BYTES        (64ull << 20)   /* ... or after writing this much */
#define LOG_EVERY_MS            1000
#define STATUS_EVERY_MS         1000            /* STATUS= for systemctl status, this often */

struct sender {
        void *push;                     /* the DEALER: data in, acks out */
        linkwatch_t *link;              /* its watch, for the counts; NULL before it exists */
        uint64_t failed;                /* sends that found the queue full */
        uint64_t logged_ms;
};

static void s_send(void *ctx, const struct storage_ctl *a)
{
        struct sender *sd = ctx;
        uint8_t buf[STORAGE_CTL_BYTES];
        storage_ctl_encode(buf, a);
        if (zmq_send(sd->push, buf, sizeof buf, ZMQ_DONTWAIT) == (int)sizeof buf) {
                linkwatch_count(sd->link, true, sizeof buf);
                return;
        }
        sd->failed++;
        uint64_t now = clock_mono_ms();
        if (now - sd->logged_ms >= LOG_EVERY_MS) {
                store_log("ack socket: %" PRIu64 " message(s) not sent (%s): the daemon is not "
                          "reading; it sends again what it has no ACK for", sd->failed,
                          zmq_strerror(zmq_errno()));
                sd->failed = 0;
                sd->logged_ms = now;
        }
}

static void s_usage(FILE *out)
{
        fputs("usage: darkdaq-store -c FILE\n"
              "The storage writer: receives darkdaqd's lossless record stream and writes\n"
              "run files run-NNNNNN-SSS.dkr (NAME.part while open, renamed when closed), each\n"
              "with a sidecar NAME.json (counts, CRC-32C of the file, end_reason).\n"
              "\n"
              "  -c, --config FILE  the configuration (INI, section [store]; below)\n"
              "  -h, --help         this text\n"
              "  -V, --version      the version\n"
              "\n"
              "Configuration keys and defaults:\n", out);
        store_config_print_defaults(out);
        fputs("\n"
              "Protocol (storage channel v2, proto/storage-channel.md): HELLO until the\n"
              "daemon's WELCOME names our session; it then sends every record not yet\n"
              "ACKed, the run header first; records of a run already on disk are skipped, a\n"
              "record that does not parse goes to run-NNNNNN.rejects and is NAKed.  ACK (highest seq fsync'd) at most every ack_interval_ms, and at once\n"
              "after a run trailer; an ACK covers only records fsync'd in a file whose\n"
              "writes succeeded.  Free space is checked against what each write needs:\n"
              "below min_free_bytes FULL, no intake, RESUME once min_free_bytes +\n"
              "resume_margin_bytes are free.  A write, fsync or close that fails cuts the\n"
              "file back to its last fsync'd frame, sends FULL, closes the file once the\n"
              "disk check passes and asks the daemon to send the rest again.  A run silent for silence_close_ms is closed (end_reason \"silence\").\n"
              "SIGTERM/SIGINT close every open file (end_reason \"signal\").  SIGHUP reloads\n"
              "min_free_bytes, silence_close_ms, ack_interval_ms, and max_file_bytes and\n"
              "max_file_seconds for the files opened after it; dir and data need a\n"
              "restart.  Under systemd (Type=notify): READY=1, STATUS=, WATCHDOG=1 at half\n"
              "WatchdogSec=, STOPPING=1.  At start, files a\n"
              "killed store left as NAME.part are read to their last whole frame and renamed\n"
              "to NAME without a trailer; the run continues in the next file.\n"
              "Exit status: 0 stopped by a signal, 1 runtime failure, 2 usage or\n"
              "configuration error.\n", out);
}

/* The program's state: the store, its sockets and the loop's flags. */
struct loop {
        struct store_config *cfg;       /* SIGHUP changes the keys that allow it */
        const char *conf;               /* its file, read again on SIGHUP */
        store_t *s;
        struct sender sd;               /* the ack socket, for store.c's callback */
        void *zctx;
        void *pull;                     /* the DEALER (the same socket as sd.push) */
        linkwatch_t *link;              /* its connection: handshakes, refusals, heartbeats */
        uint64_t link_log_at_ms;        /* the last line on the link's state */
        int sigfd;                      /* SIGTERM and SIGINT; -1 before it is made */
        zmq_msg_t msg;                  /* the last data message received */
        bool paused;                    /* FULL sent: the data socket is not read */
        bool held;                      /* msg's record is not stored yet (no room for its file) */
        uint64_t next_disk_ms;          /* CLOCK_MONOTONIC of the next disk check */
        uint64_t wd_interval_ms;        /* WATCHDOG=1 this often; 0: no watchdog */
        uint64_t wd_next_ms;            /* CLOCK_MONOTONIC of the next WATCHDOG=1 */
        uint64_t status_at_ms;          /* the last STATUS= */
        uint64_t free_bytes;            /* in dir, at the last disk check */
        bool notify_failed;             /* a notification failed (logged once) */
};

/* Returns 1 to run with *ret_conf set, 0 after --help or --version, or
 * -EINVAL after a usage error (reported). */
static int s_parse_argv(int argc, char **argv, const char **ret_conf)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { 0 },
        };
        const char *conf = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
                switch (c) {
                case 'c':
                        conf = optarg;
                        break;
                case 'h':
                        s_usage(stdout);
                        return 0;
                case 'V':
                        printf("darkdaq-store %s\n", DARKDAQ_VERSION);
                        return 0;
                default:
                        s_usage(stderr);
                        return -EINVAL;
                }
        }
        if (!conf || optind < argc) {
                fputs(conf ? "darkdaq-store: unexpected argument\n" :
                      "darkdaq-store: no configuration given (-c FILE)\n", stderr);
                s_usage(stderr);
                return -EINVAL;
        }
        *ret_conf = conf;
        return 1;
}

/* The signal descriptor, the store and its two sockets.  Returns 0, or 1
 * after logging what failed (a runtime failure). */
static int s_open(struct loop *lp)
{
        const struct store_config *cfg = lp->cfg;

        /* Before ZeroMQ starts its threads, so that they inherit the mask. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        lp->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (lp->sigfd < 0) {
                store_log("signalfd: %s; exiting", strerror(errno));
                return 1;
        }

        int r = store_new(&lp->s, cfg, s_send, &lp->sd);
        if (r < 0) {
                store_log("dir %s: cannot open: %s; exiting", cfg->dir, strerror(-r));
                return 1;
        }
        lp->zctx = zmq_ctx_new();
        lp->pull = lp->sd.push = zmq_socket(lp->zctx, ZMQ_DEALER);
        int linger = 2000;
        zmq_setsockopt(lp->sd.push, ZMQ_LINGER, &linger, sizeof linger);
        linkwatch_heartbeat(lp->pull, (uint32_t)cfg->heartbeat_ms);
        char aerr[512];
        const struct auth_client_config ac = {
                .client_key_file = cfg->client_key[0] ? cfg->client_key : NULL,
                .server_public_file = cfg->server_public_key[0] ? cfg->server_public_key : NULL,
                .require_curve = cfg->require_curve,
        };
        int curve = auth_apply_client(lp->pull, cfg->data, &ac, aerr, sizeof aerr);
        if (curve < 0) {
                store_log("data %s: %s%s; exiting", cfg->data, aerr, curve == -EPERM ?
                          " (a non-local endpoint needs [store] client_key and "
                          "server_public_key)" : "");
                return curve == -EPERM || curve == -EINVAL ? 2 : 1;
        }
        if ((r = linkwatch_new(&lp->link, lp->zctx, lp->pull, "darkdaq-store", "data", cfg->data,
                               LINKWATCH_LOG_LINKS)) < 0 ||
            zmq_connect(lp->pull, cfg->data) < 0) {
                store_log("cannot connect to %s: %s; exiting", cfg->data,
                          zmq_strerror(r < 0 ? -r : zmq_errno()));
                return 1;
        }
        lp->sd.link = lp->link;
        lp->link_log_at_ms = clock_mono_ms();   /* the first line after link_log_ms */
        if (curve)
                store_log("data %s: CURVE, client key %s, server key %s", cfg->data,
                          cfg->client_key, cfg->server_public_key);
        store_log("darkdaq-store %s: dir %s, data %s (DEALER), max_file_bytes %"
                  PRIu64 ", max_file_seconds %" PRIu64 ", min_free_bytes %" PRIu64
                  ", resume_margin_bytes %" PRIu64 ", silence_close_ms %" PRIu64
                  ", ack_interval_ms %" PRIu64, DARKDAQ_VERSION, cfg->dir, cfg->data,
                  cfg->max_file_bytes, cfg->max_file_seconds, cfg->min_free_bytes,
                  cfg->resume_margin_bytes, cfg->silence_close_ms, cfg->ack_interval_ms);
        if (auth_endpoint_is_open_local(cfg->data) && !curve)
                store_log("insecure = yes: data %s is reached without CURVE; every local user "
                          "can reach it", cfg->data);
        return 0;
}

/* What s_open() made, in reverse; also after a partial s_open(). */
static void s_close(struct loop *lp)
{
        zmq_msg_close(&lp->msg);
        lp->link = linkwatch_free(lp->link);
        if (lp->pull)
                zmq_close(lp->pull);
        if (lp->zctx)
                zmq_ctx_term(lp->zctx);
        lp->s = store_free(lp->s);
        if (lp->sigfd >= 0)
                close(lp->sigfd);
}

static void s_pause(struct loop *lp, uint64_t now, const char *why)
{
        if (lp->paused)
                return;
        lp->paused = true;
        store_set_paused(lp->s, true, now);
        store_log("%s: FULL sent; taking no data (the daemon holds its records and throttles "
                  "the boards) until dir %s has %" PRIu64 " bytes free (min_free_bytes, "
                  "resume_margin_bytes and room to close files)%s", why, lp->cfg->dir,
                  store_disk_wanted(lp->s), store_has_broken(lp->s) ?
                  " and the file the error left is closed" : "");
}

/* Offers the held record to the store again.  Returns false while there is
 * still no room for its file. */
static bool s_store_held(struct loop *lp, uint64_t now)
{
        return store_message(lp->s, zmq_msg_data(&lp->msg), zmq_msg_size(&lp->msg), now) !=
               -EAGAIN;
}

/* Pauses at once when an error left a file to close.  Every DISK_CHECK_MS,
 * or after DISK_CHECK_BYTES: pauses when the disk is below min_free_bytes;
 * resumes when min_free_bytes + resume_margin_bytes are free, once the
 * files errors left are closed and the held record (if any) is stored. */
static void s_check_disk(struct loop *lp, uint64_t now)
{
        const struct store_config *cfg = lp->cfg;

        if (!lp->paused && store_has_broken(lp->s)) {
                s_pause(lp, now, "a write, fsync or close failed");
                lp->next_disk_ms = now + DISK_CHECK_MS;
                return;
        }
        if (now < lp->next_disk_ms && store_bytes_since_check(lp->s) < DISK_CHECK_BYTES)
                return;
        uint64_t avail = 0;
        bool ok = store_disk_ok(lp->s, &avail);
        lp->next_disk_ms = now + DISK_CHECK_MS;
        lp->free_bytes = avail;
        if (!lp->paused && !ok) {
                char why[4400];
                snprintf(why, sizeof why, "dir %s has %" PRIu64 " bytes free, "
                         "below min_free_bytes %" PRIu64, cfg->dir, avail,
                         cfg->min_free_bytes);
                s_pause(lp, now, why);
        } else if (lp->paused && ok) {
                if (store_retry(lp->s, now) < 0)
                        return;         /* logged; tried again at the next check */
                if (lp->held && s_store_held(lp, now))
                        lp->held = false;
                if (!lp->held && !store_has_broken(lp->s)) {
                        lp->paused = false;
                        store_set_paused(lp->s, false, now);
                        store_log("dir %s has %" PRIu64 " bytes free (min_free_bytes"
                                  " %" PRIu64 ", resume_margin_bytes %" PRIu64 "): RESUME sent, "
                                  "taking data again", cfg->dir, avail, cfg->min_free_bytes,
                                  cfg->resume_margin_bytes);
                }
        }
}

/* ---- the service manager (sd_notify) ---- */

static void s_notified(struct loop *lp, int r, const char *what)
{
        if (r < 0 && !lp->notify_failed) {
                lp->notify_failed = true;
                store_log("sd_notify: sending %s to $NOTIFY_SOCKET failed: %s; storing goes on "
                          "(later failures are not logged)", what, strerror(-r));
        }
}

/* STATUS= when STATUS_EVERY_MS have passed (or force), WATCHDOG=1 when due. */
static void s_notify_tick(struct loop *lp, uint64_t now, bool force)
{
        if (force || now - lp->status_at_ms >= STATUS_EVERY_MS) {
                struct store_counters c;
                store_get_counters(lp->s, &c);
                lp->status_at_ms = now;
                struct linkwatch_counters k;
                linkwatch_get_counters(lp->link, &k);
                s_notified(lp, notify_status("%" PRIu64 " run%s open, %" PRIu64 " records "
                                             "written, %" PRIu64 " MiB free in %s%s; daemon %s%s",
                                             c.runs_open, c.runs_open == 1 ? "" : "s",
                                             c.records_written, lp->free_bytes >> 20,
                                             lp->cfg->dir, lp->paused ? ", FULL" : "",
                                             k.connected ? "connected " : k.ever_connected
                                             ? "link GONE, was " : "not connected yet",
                                             k.peer),
                           "STATUS=");
        }
        if (lp->wd_interval_ms && now >= lp->wd_next_ms) {
                s_notified(lp, notify_watchdog(), "WATCHDOG=1");
                lp->wd_next_ms = now + lp->wd_interval_ms;
        }
}

/* How long the poll may wait: until the store's next timer, the next disk
 * check or the next WATCHDOG=1, whichever comes first. */
static int s_timeout_ms(const struct loop *lp, uint64_t now)
{
        int timeout = store_tick(lp->s, now);
        int64_t to_disk = (int64_t)(lp->next_disk_ms - now);
        if (timeout < 0 || timeout > to_disk)
                timeout = (int)(to_disk > 0 ? to_disk : 0);
        if (lp->wd_interval_ms) {
                int64_t to_wd = (int64_t)(lp->wd_next_ms - now);
                if (timeout > to_wd)
                        timeout = (int)(to_wd > 0 ? to_wd : 0);
        }
        return timeout;
}

/* ---- SIGHUP ---- */

/* SHA-256 of the file at path as hex, or "unreadable". */
static void s_file_hash(const char *path, char hex[SHA256_HEX_BYTES])
{
        FILE *f = fopen(path, "re");
        snprintf(hex, SHA256_HEX_BYTES, "unreadable");
        if (!f)
                return;
        struct sha256 h;
        uint8_t buf[4096], d[SHA256_BYTES];
        size_t n;
        sha256_init(&h);
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
                sha256_update(&h, buf, n);
        if (!ferror(f)) {
                sha256_final(&h, d);
                for (int i = 0; i < SHA256_BYTES; i++)
                        snprintf(hex + 2 * i, 3, "%02x", d[i]);
        }
        fclose(f);
}

/* Reads the configuration again: applies the keys that can change while
 * runs are open, logs each change and each key that needs a restart.  A
 * file that cannot be used changes nothing. */
static void s_reload(struct loop *lp)
{
        struct store_config n, *c = lp->cfg;
        char err[512], changed[512] = "", restart[128] = "", hash[SHA256_HEX_BYTES];
        size_t cn = 0, rn = 0;

        store_config_default(&n);
        if (store_config_load(&n, lp->conf, err, sizeof err) < 0) {
                store_log("SIGHUP: %s; the configuration in use stays as it was", err);
                return;
        }
#define S_U64(key) do {                                                                 \
                if (n.key != c->key) {                                                  \
                        int w_ = snprintf(changed + cn, sizeof changed - cn, "%s%s %" PRIu64   \
                                          " -> %" PRIu64, cn ? ", " : "", #key, c->key, n.key); \
                        cn += w_ > 0 && (size_t)w_ < sizeof changed - cn ? (size_t)w_ : 0;   \
                        c->key = n.key;                                                 \
                }                                                                       \
        } while (0)
#define S_STR(key) do {                                                                 \
                if (strcmp(n.key, c->key)) {                                            \
                        int w_ = snprintf(restart + rn, sizeof restart - rn, "%s%s",     \
                                          rn ? ", " : "", #key);                        \
                        rn += w_ > 0 && (size_t)w_ < sizeof restart - rn ? (size_t)w_ : 0;   \
                }                                                                       \
        } while (0)
        S_U64(min_free_bytes);
        S_U64(resume_margin_bytes);
        S_U64(silence_close_ms);
        S_U64(ack_interval_ms);
        S_U64(max_file_bytes);
        S_U64(max_file_seconds);
        S_U64(link_log_ms);
        S_STR(dir);
        S_STR(data);
        S_STR(client_key);
        S_STR(server_public_key);
        if (n.heartbeat_ms != c->heartbeat_ms || n.require_curve != c->require_curve) {
                int w_ = snprintf(restart + rn, sizeof restart - rn, "%s%s", rn ? ", " : "",
                                  n.heartbeat_ms != c->heartbeat_ms ? "heartbeat_ms"
                                                                    : "require_curve");
                rn += w_ > 0 && (size_t)w_ < sizeof restart - rn ? (size_t)w_ : 0;
        }
#undef S_U64
#undef S_STR
        s_file_hash(lp->conf, hash);
        store_log("SIGHUP: reloaded %s (sha256 %s): %s%s%s%s", lp->conf, hash,
                  cn ? changed : "nothing changed that applies now",
                  strstr(changed, "max_file_") ? " (file limits from the next file)" : "",
                  rn ? "; needs a restart, not applied: " : "", restart);
        lp->next_disk_ms = 0;   /* min_free_bytes may have moved: check now */
}

/* Stores up to BATCH_MAX waiting data messages; stops early on a pause, or
 * when DISK_CHECK_BYTES were written since the last disk check. */
static void s_receive(struct loop *lp, uint64_t now)
{
        const struct store_config *cfg = lp->cfg;

        for (int i = 0; i < BATCH_MAX; i++) {
                if (zmq_msg_recv(&lp->msg, lp->pull, ZMQ_DONTWAIT) < 0)
                        break;
                linkwatch_count(lp->link, false, zmq_msg_size(&lp->msg));
                struct storage_data d = { 0 };
                const uint8_t *payload;
                size_t len;
                storage_data_parse(zmq_msg_data(&lp->msg), zmq_msg_size(&lp->msg), &d, &payload,
                                   &len);
                uint32_t run = d.run;
                int r = store_message(lp->s, zmq_msg_data(&lp->msg), zmq_msg_size(&lp->msg), now);
                if (r == -EAGAIN) {
                        uint64_t avail = 0;
                        store_disk_ok(lp->s, &avail);
                        char why[4400];
                        snprintf(why, sizeof why, "run %" PRIu32 ": dir %s has %" PRIu64
                                 " bytes free, too few above min_free_bytes %" PRIu64 " for "
                                 "the next record and closing its file", run, cfg->dir, avail,
                                 cfg->min_free_bytes);
                        lp->held = true;
                        s_pause(lp, now, why);
                        lp->next_disk_ms = now + DISK_CHECK_MS;
                        break;
                }
                if (r == -EIO) {
                        s_pause(lp, now, "a write, fsync or close failed");
                        lp->next_disk_ms = now + DISK_CHECK_MS;
                        break;
                }
                if (store_bytes_since_check(lp->s) >= DISK_CHECK_BYTES)
                        break;
        }
}

/* A handshake with the daemon (at start, or again: maybe a new daemon):
 * our session may be gone, ask for one.  Refusals and a lost link are
 * logged by the link watch; its state goes to the log every link_log_ms. */
static void s_connection_events(struct loop *lp, uint64_t now)
{
        if (linkwatch_drain(lp->link, now) & LINKWATCH_HANDSHAKE)
                store_reconnected(lp->s, now);
}

static void s_link_log(struct loop *lp, uint64_t now)
{
        struct linkwatch_counters k;
        if (!lp->cfg->link_log_ms || now - lp->link_log_at_ms < lp->cfg->link_log_ms)
                return;
        lp->link_log_at_ms = now;
        linkwatch_get_counters(lp->link, &k);
        store_log("data %s: %s%s%s for %.1f s; %" PRIu64 " connections, %" PRIu64 " lost, %"
                  PRIu64 " handshakes refused; in %" PRIu64 " messages (%" PRIu64 " bytes), out %"
                  PRIu64 " (%" PRIu64 " bytes)", lp->cfg->data,
                  k.connected ? "connected to " : k.ever_connected ? "link GONE (was " :
                  "never connected", k.connected || k.ever_connected ? k.peer : "",
                  !k.connected && k.ever_connected ? ")," : ",",
                  k.since_ms ? (double)(now - k.since_ms) / 1000.0 : 0.0, k.connections,
                  k.disconnects, k.refused_auth + k.refused_protocol, k.msgs_in, k.bytes_in,
                  k.msgs_out, k.bytes_out);
}

/* Polls the signal descriptor and (unless paused) the data socket until
 * SIGTERM or SIGINT, whose name goes to *signame.  Returns 0, or 1 when the
 * poll failed (logged). */
static int s_loop(struct loop *lp, const char **signame)
{
        for (;;) {
                uint64_t now = clock_mono_ms();
                s_check_disk(lp, now);
                s_notify_tick(lp, now, false);
                s_link_log(lp, now);
                int timeout = s_timeout_ms(lp, now);

                zmq_pollitem_t items[3] = {
                        { .fd = lp->sigfd, .events = ZMQ_POLLIN },
                        { .socket = linkwatch_socket(lp->link), .events = ZMQ_POLLIN },
                        { .socket = lp->pull, .events = ZMQ_POLLIN },
                };
                bool data = !lp->paused || !store_has_session(lp->s);
                int n = zmq_poll(items, data ? 3 : 2, timeout);
                if (n < 0) {
                        if (zmq_errno() == EINTR)
                                continue;
                        store_log("poll: %s; closing files and exiting", zmq_strerror(zmq_errno()));
                        return 1;
                }
                if (items[0].revents & ZMQ_POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(lp->sigfd, &si, sizeof si) != (ssize_t)sizeof si)
                                continue;
                        if (si.ssi_signo == SIGHUP) {
                                s_reload(lp);
                                continue;
                        }
                        *signame = si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
                        s_notified(lp, notify_stopping(), "STOPPING=1");
                        return 0;
                }
                if (items[1].revents & ZMQ_POLLIN)
                        s_connection_events(lp, clock_mono_ms());
                if (data && (items[2].revents & ZMQ_POLLIN))
                        s_receive(lp, clock_mono_ms());
        }
}

/* Loads the configuration (2 if it cannot be used), then stores until a
 * signal (0) or a runtime failure (1), and closes every open file. */
static int s_run(const char *conf)
{
        struct store_config cfg;
        char err[512];
        store_config_default(&cfg);
        if (store_config_load(&cfg, conf, err, sizeof err) < 0) {
                fprintf(stderr, "darkdaq-store: %s\n", err);
                return 2;
        }

        struct loop lp = { .cfg = &cfg, .conf = conf, .sigfd = -1 };
        zmq_msg_init(&lp.msg);
        int status = s_open(&lp);
        if (status == 0) {
                const char *signame = "signal";
                uint64_t now = clock_mono_ms();
                store_recover(lp.s);
                store_hello(lp.s, now);
                /* sockets up, directory checked and recovered: ready */
                store_disk_ok(lp.s, &lp.free_bytes);
                uint64_t wd_usec = notify_watchdog_usec();
                lp.wd_interval_ms = wd_usec ? (wd_usec / 2000 ? wd_usec / 2000 : 1) : 0;
                lp.wd_next_ms = now;
                s_notified(&lp, notify_ready(), "READY=1");
                s_notify_tick(&lp, now, true);
                if (lp.wd_interval_ms)
                        store_log("watchdog: WATCHDOG=1 every %" PRIu64 " ms", lp.wd_interval_ms);
                status = s_loop(&lp, &signame);
                now = clock_mono_ms();
                int closed = store_close_all(lp.s, "signal", now);
                struct store_counters c;
                store_get_counters(lp.s, &c);
                store_log("%s: closed %d open file(s) with end_reason \"signal\"; over this "
                          "store's life: %" PRIu64 " session(s), %" PRIu64 " bad messages, %"
                          PRIu64 " of another session, %" PRIu64 " of another sender, %" PRIu64
                          " refused records, %" PRIu64 " without a run header, %" PRIu64
                          " header conflicts; exiting", signame, closed, c.sessions,
                          c.bad_messages, c.other_session, c.other_sender, c.rejected,
                          c.headerless, c.header_conflicts);
        }
        s_close(&lp);
        return status;
}

int main(int argc, char **argv)
{
        const char *conf = NULL;
        int r = s_parse_argv(argc, argv, &conf);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        return s_run(conf);
}
