/* darkdaqd: the darkdaq daemon.  -c FILE alone: the live service (live.c:
 * sources -> builder -> tagger -> storage and monitor, run control on the
 * control socket).  --replay: the offline mode (offline.c), which reads
 * recorded raw files through stream readers into the builder, tags every
 * event, writes everything (events, late, junk, corrupt records) to a run
 * file, then prints a one-line summary.  This file only parses options. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
              "order interfaces.md section 1 fixes, and writes a run file.\n"
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
              "(keys that cannot be read, a non-local endpoint without CURVE keys).\n",
              out);
}

int main(int argc, char **argv)
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
        struct darkdaq_config cfg;
        const char *out_path = NULL, *cfg_path = NULL;
        bool replay = false;
        uint32_t run = 0;
        char err[512];
        int c, status;

        config_default(&cfg);
        while ((c = getopt_long(argc, argv, "ro:n:c:hV", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        replay = true;
                        break;
                case 'o':
                        out_path = optarg;
                        break;
                case 'n': {
                        char *end;
                        errno = 0;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (errno || *end || *optarg == '-' || v > UINT32_MAX) {
                                fprintf(stderr, "darkdaqd: --run: \"%s\" is not a run number "
                                        "(0..4294967295)\n", optarg);
                                return 2;
                        }
                        run = (uint32_t)v;
                        break;
                }
                case 'c':
                        cfg_path = optarg;
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
                        return 2;
                }
        }
        if (!replay) {
                if (!cfg_path || optind < argc) {
                        fputs(optind < argc ? "darkdaqd: unexpected arguments (raw files go "
                              "with --replay)\n" : "darkdaqd: -c CONFIG is needed for the live "
                              "service\n", stderr);
                        s_usage(stderr);
                        return 2;
                }
                if (config_load(&cfg, cfg_path, err, sizeof err) < 0) {
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
                status = live_run(l);
                live_free(l);
                config_clear(&cfg);
                return status;
        }
        if (optind >= argc || !out_path) {
                fputs(optind >= argc ? "darkdaqd: --replay needs at least one raw file\n"
                                     : "darkdaqd: --replay needs -o RUNFILE\n", stderr);
                s_usage(stderr);
                return 2;
        }
        if (cfg_path && config_load(&cfg, cfg_path, err, sizeof err) < 0) {
                fprintf(stderr, "darkdaqd: %s\n", err);
                config_clear(&cfg);
                return 2;
        }
        status = offline_run(&cfg, (const char *const *)argv + optind, (size_t)(argc - optind),
                             out_path, run);
        config_clear(&cfg);
        return status;
}
