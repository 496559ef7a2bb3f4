/* darkdaq-store: the storage writer.  Connects a PULL socket to darkdaqd's
 * storage PUSH and a PUSH socket to its storage_ack PULL, writes every
 * record into run files (store.c) and says HELLO/ACK/FULL/RESUME
 * (storage_proto.h).  This file owns the sockets, signals and the loop. */
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

#include "clock.h"
#include "storage_proto.h"
#include "store.h"
#include "store_config.h"

#define BATCH_MAX               4096            /* messages read between timer checks */
#define DISK_CHECK_MS           1000            /* statvfs this often ... */
#define DISK_CHECK_BYTES        (64ull << 20)   /* ... or after writing this much */
#define LOG_EVERY_MS            1000

struct sender {
        void *push;                     /* the ack socket */
        uint64_t failed;                /* sends that found the queue full */
        uint64_t logged_ms;
};

static void s_send(void *ctx, const struct storage_ack *a)
{
        struct sender *sd = ctx;
        uint8_t buf[STORAGE_ACK_BYTES];
        storage_ack_encode(buf, a);
        if (zmq_send(sd->push, buf, sizeof buf, ZMQ_DONTWAIT) == (int)sizeof buf)
                return;
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
              "Protocol (daemon/storage_proto.h): HELLO at start, so that the daemon sends\n"
              "again every record not yet ACKed; records of a run already on disk are\n"
              "skipped.  ACK (highest seq fsync'd) at most every ack_interval_ms, and at once\n"
              "after a run trailer.  Below min_free_bytes: FULL, no intake, RESUME when space\n"
              "returns.  A run silent for silence_close_ms is closed (end_reason \"silence\").\n"
              "SIGTERM/SIGINT close every open file (end_reason \"signal\").  At start, files a\n"
              "killed store left as NAME.part are read to their last whole frame and renamed\n"
              "to NAME without a trailer; the run continues in the next file.\n"
              "Exit status: 0 stopped by a signal, 1 runtime failure, 2 usage or\n"
              "configuration error.\n", out);
}

static void s_pause(store_t *s, const struct store_config *cfg, bool *paused, uint64_t now,
                    const char *why)
{
        if (*paused)
                return;
        *paused = true;
        store_set_paused(s, true, now);
        store_log("%s: FULL sent; taking no data (the daemon holds its records and throttles "
                  "the boards) until %s", why, cfg->min_free_bytes ? "the disk check passes" :
                  "the next disk check");
}

int main(int argc, char **argv)
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
                        return 2;
                }
        }
        if (!conf || optind < argc) {
                fputs(conf ? "darkdaq-store: unexpected argument\n" :
                      "darkdaq-store: no configuration given (-c FILE)\n", stderr);
                s_usage(stderr);
                return 2;
        }

        struct store_config cfg;
        char err[512];
        store_config_default(&cfg);
        if (store_config_load(&cfg, conf, err, sizeof err) < 0) {
                fprintf(stderr, "darkdaq-store: %s\n", err);
                return 2;
        }

        /* Before ZeroMQ starts its threads, so that they inherit the mask. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sigfd < 0) {
                store_log("signalfd: %s; exiting", strerror(errno));
                return 1;
        }

        struct sender sd = { 0 };
        store_t *s = NULL;
        int r = store_new(&s, &cfg, s_send, &sd);
        if (r < 0) {
                store_log("dir %s: cannot open: %s; exiting", cfg.dir, strerror(-r));
                return 1;
        }
        void *zctx = zmq_ctx_new();
        void *pull = zmq_socket(zctx, ZMQ_PULL);
        sd.push = zmq_socket(zctx, ZMQ_PUSH);
        int linger = 2000;
        zmq_setsockopt(sd.push, ZMQ_LINGER, &linger, sizeof linger);
        linger = 0;
        zmq_setsockopt(pull, ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_connect(pull, cfg.data) < 0 || zmq_connect(sd.push, cfg.ack) < 0) {
                store_log("cannot connect to %s or %s: %s; exiting", cfg.data, cfg.ack,
                          zmq_strerror(zmq_errno()));
                zmq_close(pull);
                zmq_close(sd.push);
                zmq_ctx_term(zctx);
                store_free(s);
                return 1;
        }
        store_log("darkdaq-store %s: dir %s, data %s (PULL), ack %s (PUSH), max_file_bytes %"
                  PRIu64 ", max_file_seconds %" PRIu64 ", min_free_bytes %" PRIu64
                  ", silence_close_ms %" PRIu64 ", ack_interval_ms %" PRIu64, DARKDAQ_VERSION,
                  cfg.dir, cfg.data, cfg.ack, cfg.max_file_bytes, cfg.max_file_seconds,
                  cfg.min_free_bytes, cfg.silence_close_ms, cfg.ack_interval_ms);

        uint64_t now = clock_mono_ms();
        store_recover(s);
        store_hello(s, now);

        zmq_msg_t msg;
        zmq_msg_init(&msg);
        bool paused = false, held = false, stop = false;
        uint64_t next_disk_ms = 0, bad = 0, bad_logged_ms = 0;
        const char *signame = "signal";
        int status = 0;

        while (!stop) {
                now = clock_mono_ms();
                if (now >= next_disk_ms || store_bytes_since_check(s) >= DISK_CHECK_BYTES) {
                        uint64_t avail = 0;
                        bool ok = store_disk_ok(s, &avail);
                        next_disk_ms = now + DISK_CHECK_MS;
                        if (!paused && !ok) {
                                char why[4400];
                                snprintf(why, sizeof why, "dir %s has %" PRIu64 " bytes free, "
                                         "below min_free_bytes %" PRIu64, cfg.dir, avail,
                                         cfg.min_free_bytes);
                                s_pause(s, &cfg, &paused, now, why);
                        } else if (paused && ok) {
                                if (held) {
                                        size_t len = zmq_msg_size(&msg);
                                        const uint8_t *payload;
                                        uint32_t run;
                                        uint64_t seq;
                                        storage_data_parse(zmq_msg_data(&msg), len, &run, &seq,
                                                           &payload, &len);
                                        if (store_data(s, run, seq, payload, len, now) != -EAGAIN)
                                                held = false;
                                }
                                if (!held) {
                                        paused = false;
                                        store_set_paused(s, false, now);
                                        store_log("dir %s has %" PRIu64 " bytes free (min_free_bytes"
                                                  " %" PRIu64 "): taking data again", cfg.dir,
                                                  avail, cfg.min_free_bytes);
                                }
                        }
                }
                int timeout = store_tick(s, now);
                int64_t to_disk = (int64_t)(next_disk_ms - now);
                if (timeout < 0 || timeout > to_disk)
                        timeout = (int)(to_disk > 0 ? to_disk : 0);

                zmq_pollitem_t items[2] = {
                        { .fd = sigfd, .events = ZMQ_POLLIN },
                        { .socket = pull, .events = ZMQ_POLLIN },
                };
                int n = zmq_poll(items, paused ? 1 : 2, timeout);
                if (n < 0) {
                        if (zmq_errno() == EINTR)
                                continue;
                        store_log("poll: %s; closing files and exiting", zmq_strerror(zmq_errno()));
                        status = 1;
                        break;
                }
                if (items[0].revents & ZMQ_POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
                                signame = si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
                        stop = true;
                        break;
                }
                if (paused || !(items[1].revents & ZMQ_POLLIN))
                        continue;
                now = clock_mono_ms();
                for (int i = 0; i < BATCH_MAX; i++) {
                        if (zmq_msg_recv(&msg, pull, ZMQ_DONTWAIT) < 0)
                                break;
                        const uint8_t *payload;
                        size_t len;
                        uint32_t run;
                        uint64_t seq;
                        if (storage_data_parse(zmq_msg_data(&msg), zmq_msg_size(&msg), &run, &seq,
                                               &payload, &len) < 0) {
                                bad++;
                                if (now - bad_logged_ms >= LOG_EVERY_MS) {
                                        store_log("data socket: %" PRIu64 " message(s) without "
                                                  "the DKSM prefix ignored", bad);
                                        bad = 0;
                                        bad_logged_ms = now;
                                }
                                continue;
                        }
                        r = store_data(s, run, seq, payload, len, now);
                        if (r == -EAGAIN) {
                                uint64_t avail = 0;
                                store_disk_ok(s, &avail);
                                char why[4400];
                                snprintf(why, sizeof why, "run %" PRIu32 ": a new file is due but "
                                         "dir %s has %" PRIu64 " bytes free, below min_free_bytes %"
                                         PRIu64, run, cfg.dir, avail, cfg.min_free_bytes);
                                held = true;
                                s_pause(s, &cfg, &paused, now, why);
                                next_disk_ms = now + DISK_CHECK_MS;
                                break;
                        }
                        if (r == -EIO) {
                                s_pause(s, &cfg, &paused, now, "a write failed");
                                next_disk_ms = now + DISK_CHECK_MS;
                                break;
                        }
                        if (store_bytes_since_check(s) >= DISK_CHECK_BYTES)
                                break;
                }
        }

        now = clock_mono_ms();
        int closed = store_close_all(s, "signal", now);
        store_log("%s: closed %d open file(s) with end_reason \"signal\"; exiting", signame,
                  closed);
        zmq_msg_close(&msg);
        zmq_close(pull);
        zmq_close(sd.push);
        zmq_ctx_term(zctx);
        store_free(s);
        close(sigfd);
        return status;
}
