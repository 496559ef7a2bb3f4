/* SPDX-License-Identifier: Apache-2.0 */
/* darkdaq-mon: the live view for the shift crew.  Polls darkdaqd's status
 * over the control socket, subscribes to the monitor stream ("all": every
 * event the daemon publishes) for the histograms, and shows both in the
 * terminal (tty.c) and/or over HTTP (web.c).  One thread does all the
 * ZeroMQ work; libmicrohttpd's thread only reads the model. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "auth.h"
#include "clock.h"
#include "auth.h"
#include "config.h"
#include "ctlclient.h"
#include "model.h"
#include "tty.h"
#include "web.h"

#define PROG            "darkdaq-mon"
#define DRAW_MS         250             /* the terminal redraws 4 times a second */
#define STATUS_MS       500             /* status requests */
#define DRAIN_MAX       4096            /* monitor messages taken per loop turn */

static volatile sig_atomic_t s_quit, s_export, s_suspend, s_redraw;

static void s_on_signal(int sig)
{
        switch (sig) {
        case SIGUSR1: s_export = 1; break;
        case SIGTSTP: s_suspend = 1; break;
        case SIGWINCH: s_redraw = 1; break;
        default: s_quit = sig; break;
        }
}

static void s_usage(FILE *f)
{
        fputs("usage: " PROG " [OPTION]...\n"
              "The live view of darkdaqd for the shift: run state, per-source rates and\n"
              "errors, builder counters, per-tag counts and rates, BUSY, alarms, and\n"
              "histograms (Z' recoil mass, E*miss, four_muon dimuon masses, displaced r_xy)\n"
              "filled from the monitor stream, in the terminal and/or in a browser.\n"
              "\n"
              "  -c, --control E       darkdaqd's control socket (default\n"
              "                        ipc://" CONFIG_RUNTIME_DIR "/control)\n"
              "  -m, --monitor E       darkdaqd's monitor socket (default\n"
              "                        ipc://" CONFIG_RUNTIME_DIR "/monitor)\n"
              "      --insecure        allow tcp:// on loopback (or ipc://@NAME) without\n"
              "                        CURVE: any local user can listen there\n"
              "  -H, --http ADDR:PORT  serve the web page there too (e.g. 127.0.0.1:8080):\n"
              "                        /, /status.json, /histograms.json, /histograms.csv\n"
              "  -n, --no-tty          no terminal view (with --http, or just to export)\n"
              "  -j, --export-json F   write the histograms as JSON to F on exit and on `e'\n"
              "  -v, --export-csv F    the same as CSV (name,low,high,count,run,sampled_fraction)\n"
              "  -t, --timeout-ms T    a status request unanswered after T ms means the daemon\n"
              "                        is unreachable (default 1500)\n"
              "  -k, --client-key F    CURVE: this monitor's secret key file (darkdaq-keygen);\n"
              "                        needed for non-local endpoints, with:\n"
              "  -s, --server-public-key F\n"
              "                        CURVE: the daemon's public key file\n"
              "      --require-curve   CURVE on local endpoints too\n"
              "  -h, --help            this text\n"
              "  -V, --version         the version\n"
              "\n"
              "Keys: q quit, r reset the histograms, e export them (to the files given, else\n"
              "to darkdaq-mon-run-NNNNNN.json and .csv here).  SIGUSR1 exports too.\n"
              "Histograms hold one run each (reset when the run changes) and are built from\n"
              "the monitor stream, which may drop events when the monitor is slow: the view\n"
              "shows the fraction of the daemon's events they saw.\n"
              "\n"
              "Exit status: 0 done, 1 cannot start (the reason is printed), 2 usage error.\n",
              f);
}

/* Reports a usage error.  Returns -EINVAL, for s_parse_argv() to pass on. */
static int s_usage_error(const char *what)
{
        fprintf(stderr, PROG ": %s\nTry '" PROG " --help'.\n", what);
        return -EINVAL;
}

struct opts {
        const char *control, *monitor, *http, *json, *csv;
        bool no_tty;
        bool insecure;          /* tcp:// on loopback without CURVE is fine */
        int timeout_ms;
        struct auth_client_config ac;   /* CURVE keys, for both sockets */
};

static void s_export_now(model_t *m, const struct opts *o)
{
        char json[64], csv[64];

        if (o->json || o->csv) {
                model_export(m, o->json, o->csv);
                return;
        }
        model_lock(m);
        uint32_t run = m->hist_run;
        model_unlock(m);
        snprintf(json, sizeof json, "darkdaq-mon-run-%06" PRIu32 ".json", run);
        snprintf(csv, sizeof csv, "darkdaq-mon-run-%06" PRIu32 ".csv", run);
        model_export(m, json, csv);
}

/* Takes what the monitor socket holds, up to DRAIN_MAX messages. */
static void s_drain(void *sub, model_t *m)
{
        zmq_msg_t topic, body;

        for (int i = 0; i < DRAIN_MAX; i++) {
                int more = 0;
                size_t ml = sizeof more;
                zmq_msg_init(&topic);
                if (zmq_msg_recv(&topic, sub, ZMQ_DONTWAIT) < 0) {
                        zmq_msg_close(&topic);
                        return;
                }
                zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
                if (!more) {
                        zmq_msg_close(&topic);
                        continue;
                }
                zmq_msg_init(&body);
                if (zmq_msg_recv(&body, sub, 0) >= 0)
                        model_on_record(m, zmq_msg_data(&topic), zmq_msg_size(&topic),
                                        zmq_msg_data(&body), zmq_msg_size(&body));
                zmq_msg_close(&body);
                /* a message of more than two parts is not ours: skip the rest */
                for (;;) {
                        zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &ml);
                        if (!more)
                                break;
                        zmq_msg_init(&body);
                        zmq_msg_recv(&body, sub, 0);
                        zmq_msg_close(&body);
                }
                zmq_msg_close(&topic);
        }
}

/* Waits for the monitor socket, the status reply and (with the terminal
 * view) a key: at most 100 ms, and not past the next redraw. */
static void s_wait(void *sub, ctlclient_t *ctl, bool tty, int64_t next_draw)
{
        int64_t now = (int64_t)clock_mono_ms();
        zmq_pollitem_t items[3] = {
                { sub, 0, ZMQ_POLLIN, 0 },
                { ctlclient_socket(ctl), 0, ZMQ_POLLIN, 0 },
                { NULL, STDIN_FILENO, ZMQ_POLLIN, 0 },
        };
        int n = items[1].socket ? 2 : 1;
        if (tty) {
                items[n] = (zmq_pollitem_t){ NULL, STDIN_FILENO, ZMQ_POLLIN, 0 };
                n++;
        }
        int wait = ctlclient_wait_ms(ctl, now);
        if (tty && next_draw - now < wait)
                wait = next_draw > now ? (int)(next_draw - now) : 0;
        if (wait > 100)
                wait = 100;
        zmq_poll(items, n, wait);
}

/* The status reply, if one came, into the model together with the samples
 * the monitor stream holds; a request that timed out marks the daemon
 * unreachable. */
static void s_take_status(model_t *m, ctlclient_t *ctl, void *sub, int64_t now)
{
        const char *text;
        int len = ctlclient_recv(ctl, now, &text);
        /* after the reply: the samples the daemon sent before it are
         * mostly here now, so the sampled fraction compares like with like */
        s_drain(sub, m);
        if (len > 0 && model_on_status(m, text, (size_t)len, now) < 0) {
                model_lock(m);
                snprintf(m->message, sizeof m->message, "status reply of %d bytes is "
                         "not JSON: ignored", len);
                model_unlock(m);
        }
        if (ctlclient_tick(ctl, now))
                model_on_timeout(m);
}

/* The keys pressed: q quits, r resets the histograms, e exports them; any
 * key redraws. */
static void s_read_keys(model_t *m)
{
        for (int k; (k = tty_key()) >= 0; ) {
                if (k == 'q' || k == 'Q')
                        s_quit = 1;
                else if (k == 'r' || k == 'R')
                        model_reset_histograms(m);
                else if (k == 'e' || k == 'E')
                        s_export = 1;
                s_redraw = 1;
        }
}

/* Connects, then shows the daemon until q or a signal.  Returns the exit
 * status: 0, 1 when it cannot start or an export fails, 2 for an endpoint
 * or terminal that cannot be used. */
static int s_run(const struct opts *o)
{
        char err[512];
        void *zctx = zmq_ctx_new();
        void *sub = NULL;
        ctlclient_t *ctl = NULL;
        web_t *web = NULL;
        model_t *m = model_new(o->control, o->monitor);
        bool tty = !o->no_tty;
        int rc = 1, hwm = 10000, linger = 0, r;

        if (!zctx || !m) {
                fprintf(stderr, PROG ": out of memory\n");
                goto out;
        }
        if ((r = ctlclient_new(&ctl, zctx, o->control, STATUS_MS, o->timeout_ms, &o->ac, err,
                               sizeof err)) < 0) {
                fprintf(stderr, PROG ": %s; not started\n", err);
                rc = r == -EINVAL || r == -EPROTONOSUPPORT || r == -EPERM ? 2 : 1;
                goto out;
        }
        sub = zmq_socket(zctx, ZMQ_SUB);
        if (sub) {
                zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
                zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
                zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "all", 3);
                if ((r = auth_apply_client(sub, o->monitor, &o->ac, err, sizeof err)) < 0) {
                        fprintf(stderr, PROG ": monitor endpoint %s: %s%s; not started\n",
                                o->monitor, err, r == -EPERM ? " (a non-local endpoint needs "
                                "--client-key and --server-public-key)" : "");
                        rc = 2;
                        goto out;
                }
        }
        if (!sub || zmq_connect(sub, o->monitor) < 0) {
                fprintf(stderr, PROG ": monitor endpoint %s: %s; not started\n", o->monitor,
                        zmq_strerror(zmq_errno()));
                rc = 2;
                goto out;
        }
        if (o->http) {
                if (web_new(&web, o->http, m, err, sizeof err) < 0) {
                        fprintf(stderr, PROG ": %s; not started\n", err);
                        goto out;
                }
                char host[128];
                snprintf(host, sizeof host, "%s", o->http);
                char *colon = strrchr(host, ':');
                if (colon)
                        *colon = '\0';
                snprintf(m->web_url, sizeof m->web_url, "http://%.96s:%u/", host, web_port(web));
                fprintf(stderr, PROG ": serving %s\n", m->web_url);
        }
        if (tty && (r = tty_open()) < 0) {
                fprintf(stderr, PROG ": %s: the terminal view needs a terminal (use --no-tty "
                        "with --http)\n", r == -ENOTTY ? "stdin or stdout is not a terminal"
                                                       : strerror(-r));
                rc = 2;
                goto out;
        }

        int64_t next_draw = 0;
        while (!s_quit) {
                s_wait(sub, ctl, tty, next_draw);
                int64_t now = (int64_t)clock_mono_ms();
                s_take_status(m, ctl, sub, now);
                if (tty)
                        s_read_keys(m);
                if (s_export) {
                        s_export = 0;
                        s_export_now(m, o);
                }
                if (s_suspend) {
                        s_suspend = 0;
                        tty_suspend();
                        s_redraw = 1;
                }
                if (tty && (now >= next_draw || s_redraw)) {
                        s_redraw = 0;
                        tty_draw(m, now);
                        next_draw = now + DRAW_MS;
                }
        }
        rc = 0;
out:
        tty_close();
        if (rc == 0 && (o->json || o->csv)) {
                if (model_export(m, o->json, o->csv) < 0)
                        rc = 1;
                fprintf(stderr, PROG ": %s\n", m->message);
        }
        web = web_free(web);
        if (sub)
                zmq_close(sub);
        ctl = ctlclient_free(ctl);
        if (zctx)
                zmq_ctx_term(zctx);
        model_free(m);
        return rc;
}

/* Returns 1 to run with *o filled, 0 after --help or --version, or -EINVAL
 * after a usage error (reported). */
static int s_parse_argv(int argc, char **argv, struct opts *o)
{
        static const struct option lopts[] = {
                { "control", required_argument, NULL, 'c' },
                { "monitor", required_argument, NULL, 'm' },
                { "http", required_argument, NULL, 'H' },
                { "no-tty", no_argument, NULL, 'n' },
                { "export-json", required_argument, NULL, 'j' },
                { "export-csv", required_argument, NULL, 'v' },
                { "timeout-ms", required_argument, NULL, 't' },
                { "client-key", required_argument, NULL, 'k' },
                { "server-public-key", required_argument, NULL, 's' },
                { "require-curve", no_argument, NULL, 'R' },
                { "insecure", no_argument, NULL, 'i' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { 0 },
        };
        char *end;
        long v;
        int c;

        *o = (struct opts){ .control = "ipc://" CONFIG_RUNTIME_DIR "/control",
                            .monitor = "ipc://" CONFIG_RUNTIME_DIR "/monitor",
                            .timeout_ms = 1500 };
        while ((c = getopt_long(argc, argv, "c:m:H:nj:v:t:k:s:hV", lopts, NULL)) != -1) {
                switch (c) {
                case 'c': o->control = optarg; break;
                case 'm': o->monitor = optarg; break;
                case 'H': o->http = optarg; break;
                case 'n': o->no_tty = true; break;
                case 'i': o->insecure = true; break;
                case 'j': o->json = optarg; break;
                case 'v': o->csv = optarg; break;
                case 'k': o->ac.client_key_file = optarg; break;
                case 's': o->ac.server_public_file = optarg; break;
                case 'R': o->ac.require_curve = true; break;
                case 't':
                        errno = 0;
                        v = strtol(optarg, &end, 10);
                        if (errno || *end || v < 50 || v > 600000)
                                return s_usage_error("--timeout-ms: milliseconds, 50..600000");
                        o->timeout_ms = (int)v;
                        break;
                case 'h':
                        s_usage(stdout);
                        return 0;
                case 'V':
                        printf(PROG " %s\n", DARKDAQ_VERSION);
                        return 0;
                default:
                        return s_usage_error("unknown option");
                }
        }
        if (optind != argc)
                return s_usage_error("unexpected argument");
        const char *open_ep = auth_endpoint_is_open_local(o->control) ? o->control :
                              auth_endpoint_is_open_local(o->monitor) ? o->monitor : NULL;
        bool curve = o->ac.require_curve && o->ac.client_key_file && o->ac.server_public_file;
        if (open_ep && !o->insecure && !curve) {
                fprintf(stderr, PROG ": endpoint %s has no CURVE, and any local user can "
                        "listen there and pose as darkdaqd; use darkdaqd's ipc:// endpoints "
                        "(default in " CONFIG_RUNTIME_DIR "), CURVE (--client-key, "
                        "--server-public-key, --require-curve), or --insecure\n", open_ep);
                return -EINVAL;
        }
        return 1;
}

/* Quit on SIGINT, SIGTERM and SIGHUP, export on SIGUSR1, redraw on
 * SIGWINCH, suspend on SIGTSTP (with the terminal view); no SIGPIPE. */
static void s_catch_signals(const struct opts *o)
{
        struct sigaction sa = { .sa_handler = s_on_signal };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        sigaction(SIGUSR1, &sa, NULL);
        sigaction(SIGWINCH, &sa, NULL);
        if (!o->no_tty)
                sigaction(SIGTSTP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
        struct opts o;
        int r = s_parse_argv(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        s_catch_signals(&o);
        return s_run(&o);
}
