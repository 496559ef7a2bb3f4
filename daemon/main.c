/* SPDX-License-Identifier: Apache-2.0 */
/* darkdaqd: the darkdaq daemon.  -c FILE alone: the live service (live.c:
 * sources -> builder -> tagger -> storage and monitor, run control on the
 * control socket).  --replay: the offline mode (offline.c), which reads
 * recorded raw files through stream readers into the builder, tags every
 * event, writes everything (events, late, junk, corrupt records) to a run
 * file, then prints a one-line summary.  This file only parses options. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "live.h"
#include "offline.h"

static void s_usage(FILE *out)
{
        fputs("usage: darkdaqd -c CONFIG\n"
              "       darkdaqd --replay FILE... -o RUNFILE [--run N] [-c CONFIG]\n"
              "       darkdaqd --print-config\n"
              "The darkdaq readout daemon.  With -c alone it is the live service: it reads\n"
              "the configured sources ([source.NAME]), builds and tags events, sends every\n"
              "record to darkdaq-store (storage socket, lossless) and samples to the\n"
              "monitor socket, and obeys darkdaq-ctl on the control socket (states idle,\n"
              "configured, running, error).  SIGTERM or SIGINT stop a run cleanly (trailer\n"
              "sent and confirmed by the store, within stop_timeout_ms), then it exits.\n"
              "It serves Prometheus metrics at http://[daemon]metrics/metrics, speaks the\n"
              "sd_notify protocol when NOTIFY_SOCKET is set (READY=1, STATUS=, WATCHDOG=1\n"
              "at half of WATCHDOG_USEC, STOPPING=1), and serves non-local control and\n"
              "storage endpoints only with CURVE keys ([auth]).\n"
              "--replay builds and tags events offline from\n"
              "recorded raw board streams (per-board files or interleaved ones), in the\n"
              "order the event builder's rules fix, and writes a run file.\n"
              "\n"
              "  -r, --replay        the remaining arguments are raw files to replay\n"
              "  -o, --output FILE   the run file to write (replaced if it exists)\n"
              "  -n, --run N         run number in the run file (default 0)\n"
              "  -c, --config FILE   INI configuration: [daemon], [source.NAME], [builder],\n"
              "                      [physics], [prescale], [auth]\n"
              "      --print-config  print every configuration key with its default\n"
              "  -h, --help          this text\n"
              "  -V, --version       the version\n"
              "\n"
              "Exit status: 0 done, 1 unreadable input or unwritable output, or (live) an\n"
              "endpoint that cannot be bound or a last trailer the store did not confirm\n"
              "(the message says which), 2 usage or a configuration that cannot be used\n"
              "(keys that cannot be read, a non-local endpoint without CURVE keys, tcp:// on\n"
              "loopback without CURVE unless [daemon] insecure = yes).\n",
              out);
}

struct options {
        bool replay;                    /* --replay; else the live service */
        const char *cfg_path;           /* -c; NULL: none */
        const char *out_path;           /* --replay's run file */
        uint32_t run;                   /* --replay's run number */
        char **files;                   /* --replay's raw files ... */
        size_t n_files;                 /* ... and how many */
};

/* Returns 1 to run with *o filled, 0 after --help, --version or
 * --print-config, or -EINVAL after a usage error (reported). */
static int s_parse_argv(int argc, char **argv, struct options *o)
{
        static const struct option opts[] = {
                { "replay", no_argument, NULL, 'r' },
                { "output", required_argument, NULL, 'o' },
                { "run", required_argument, NULL, 'n' },
                { "config", required_argument, NULL, 'c' },
                { "print-config", no_argument, NULL, 'P' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { 0 },
        };
        int c;

        *o = (struct options){ 0 };
        while ((c = getopt_long(argc, argv, "ro:n:c:hV", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        o->replay = true;
                        break;
                case 'o':
                        o->out_path = optarg;
                        break;
                case 'n': {
                        char *end;
                        errno = 0;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (errno || *end || *optarg == '-' || v > UINT32_MAX) {
                                fprintf(stderr, "darkdaqd: --run: \"%s\" is not a run number "
                                        "(0..4294967295)\n", optarg);
                                return -EINVAL;
                        }
                        o->run = (uint32_t)v;
                        break;
                }
                case 'c':
                        o->cfg_path = optarg;
                        break;
                case 'P':
                        config_print_defaults(stdout);
                        return 0;
                case 'h':
                        s_usage(stdout);
                        return 0;
                case 'V':
                        printf("darkdaqd %s\n", DARKDAQ_VERSION);
                        return 0;
                default:
                        s_usage(stderr);
                        return -EINVAL;
                }
        }
        if (!o->replay && (!o->cfg_path || optind < argc)) {
                fputs(optind < argc ? "darkdaqd: unexpected arguments (raw files go "
                      "with --replay)\n" : "darkdaqd: -c CONFIG is needed for the live "
                      "service\n", stderr);
                s_usage(stderr);
                return -EINVAL;
        }
        if (o->replay && (optind >= argc || !o->out_path)) {
                fputs(optind >= argc ? "darkdaqd: --replay needs at least one raw file\n"
                                     : "darkdaqd: --replay needs -o RUNFILE\n", stderr);
                s_usage(stderr);
                return -EINVAL;
        }
        o->files = argv + optind;
        o->n_files = (size_t)(argc - optind);
        return 1;
}

/* The live service on o->cfg_path until a signal.  Returns the exit status:
 * live_run()'s, 1 when it cannot start, 2 for a configuration that cannot
 * be used. */
static int s_run_live(const struct options *o)
{
        struct darkdaq_config cfg;
        char err[512];
        int status;

        config_default(&cfg);
        if (config_load(&cfg, o->cfg_path, err, sizeof err) < 0 ||
            config_check_live(&cfg, o->cfg_path, err, sizeof err) < 0) {
                fprintf(stderr, "darkdaqd: %s\n", err);
                config_clear(&cfg);
                return 2;
        }
        live_t *l = NULL;
        int r = live_new(&l, &cfg, err, sizeof err);
        if (r < 0) {
                fprintf(stderr, "darkdaqd: %s%s\n", err, r == -EPERM ?
                        " (configuration: see [auth] in darkdaqd --print-config)" : "");
                config_clear(&cfg);
                return r == -EPERM ? 2 : 1;
        }
        live_set_config_path(l, o->cfg_path);
        status = live_run(l);
        live_free(l);
        config_clear(&cfg);
        return status;
}

/* --replay, with the defaults or o->cfg_path.  Returns the exit status:
 * offline_run()'s, or 2 for a configuration that cannot be used. */
static int s_run_replay(const struct options *o)
{
        struct darkdaq_config cfg;
        char err[512];
        int status;

        config_default(&cfg);
        if (o->cfg_path && config_load(&cfg, o->cfg_path, err, sizeof err) < 0) {
                fprintf(stderr, "darkdaqd: %s\n", err);
                config_clear(&cfg);
                return 2;
        }
        status = offline_run(&cfg, (const char *const *)o->files, o->n_files, o->out_path,
                             o->run);
        config_clear(&cfg);
        return status;
}

int main(int argc, char **argv)
{
        struct options o;
        int r = s_parse_argv(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        return o.replay ? s_run_replay(&o) : s_run_live(&o);
}
