/* SPDX-License-Identifier: Apache-2.0 */
/* darkdaq-sim: the physics simulator and board stand-in.  Parses options,
 * opens the output sinks and runs generator -> detector -> writer for each
 * trigger, writing truth.jsonl beside the raw files.  The only module here
 * that prints or exits. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "detector.h"
#include "gen.h"
#include "physics_config.h"
#include "rng.h"
#include "sink.h"
#include "truth.h"
#include "writer.h"

#define PROG            "darkdaq-sim"
#define STREAM_GEN      1
#define STREAM_DET      2
#define STREAM_TIME     3
#define TIME_START      123456789u      /* ticks of the first trigger's clock */
#define TIME_MIN_GAP    100             /* dead time between triggers, ticks */
#define TIME_MEAN_GAP   900.0           /* mean of the exponential part, ticks */

struct options {
        uint64_t n_events;
        uint64_t seed;
        const char *process;
        double mass_gev;
        double ctau_cm;
        const char *out_dir;
        bool interleaved;
        bool noise;
        uint32_t first_trigger;
        bool stream;                    /* --stream: one board's bytes to stdout */
        unsigned board;                 /* --board, with --stream */
        double rate_hz;                 /* --rate, with --stream; 0: as fast as possible */
        const char *pcie_path;          /* --pcie: play the FPGA on this ring file */
        uint64_t ring_bytes;            /* --ring-bytes, with --pcie */
        unsigned pcie_timeout_ms;       /* --pcie-timeout-ms: wait for room, then drop */
        struct sim_writer_config w;
};

static volatile sig_atomic_t s_stop;

static void s_on_term(int sig)
{
        (void)sig;
        s_stop = 1;
}

static void s_usage(FILE *f)
{
        fprintf(f,
"Usage: " PROG " -n N -o DIR [options]\n"
"       " PROG " --stream --board K [--rate HZ] [-n N] [options]\n"
"Simulates e+e- collisions at the beams of daemon/physics/README.md and writes what the\n"
"readout boards would send: DIR/board-0.raw .. board-K-1.raw (board 0 tracks,\n"
"1 clusters, 2 muons, 3.. RAW blocks), or DIR/all.raw with --interleaved, and\n"
"DIR/truth.jsonl (one line per trigger: process, true parameters, faults).\n"
"With --stream it is one live board instead: board K's byte stream goes to\n"
"stdout (the bytes of DIR/board-K.raw for the same options), paced at --rate\n"
"triggers per second; -n 0 streams until SIGTERM, which ends it after a\n"
"whole trigger.  The same seed on every board gives boards that agree.\n"
"The same options and seed give byte-identical files (integer random stream,\n"
"no FMA contraction; libm's exp/log/sin/cos as in glibc).\n"
"\n"
"  -n, --events N          triggers to write (default 1000)\n"
"  -o, --output DIR        output directory (created if missing)\n"
"  -s, --seed S            random seed, 0..2^64-1 (default 1)\n"
"  -p, --process P         a process, \"mix\", or a weighted list such as\n"
"                          \"zprime:2,bhabha:1\" (default mix)\n"
"  -m, --mass M            mass parameter (GeV) of every selected process\n"
"                          that takes one (default: each process's own)\n"
"      --ctau-cm C         proper decay length of S (displaced) and h' (idm),\n"
"                          cm (default 5)\n"
"      --boards K          boards 1..64 (default 4)\n"
"      --raw-bytes B       RAW block bytes of boards >= 3, a multiple of 4\n"
"                          (default 64)\n"
"      --first-trigger T   trigger number of the first trigger, 0..2^32-1\n"
"                          (default 1); numbers wrap from 2^32-1 to 0\n"
"      --interleaved       one stream DIR/all.raw, board order shuffled per trigger\n"
"      --no-noise          no low-energy (< 0.05 GeV) noise clusters\n"
"      --stream            write one board's stream to stdout, no files\n"
"      --board K           with --stream: the board, 0..boards-1 (default 0)\n"
"      --rate HZ           with --stream: triggers per second (default 0: as\n"
"                          fast as the reader takes them)\n"
"      --pcie PATH         like --stream, but play the board's FPGA on a PCIe\n"
"                          DMA ring file at PATH (registers + ring, created):\n"
"                          waits for RUN, never writes past RD_PTR + RING_BYTES\n"
"      --ring-bytes N      with --pcie: ring size, a power of two >= 65536\n"
"                          (default 1048576)\n"
"      --pcie-timeout-ms T with --pcie: how long a fragment waits for room\n"
"                          before it is dropped, DROPPED and OVERFLOW set\n"
"                          (default 1000)\n"
"\n"
"Faults, each a probability per fragment (0..1, default 0), recorded in\n"
"truth.jsonl as \"kind:board\":\n"
"      --crc-errors P      one bit of payload or CRC flipped      (crc)\n"
"      --missing P         the fragment is not sent                (missing)\n"
"      --duplicates P      the fragment is sent twice             (dup)\n"
"      --late P            sent after the board's fragment %d triggers later (late)\n"
"      --junk P            4..64 garbage bytes before the fragment (junk)\n"
"      --truncated P       TRUNCATED flag set                      (truncflag)\n"
"      --busy P            BUSY_SEEN flag set                      (busy)\n"
"  crc, dup and late exclude each other; a missing fragment has no other fault\n"
"  but junk.\n"
"      --desync-board B    board B misses trigger index I (from 0) of\n"
"      --desync-at I       --desync-at and stays one behind: its later fragments\n"
"                          carry the trigger number one lower (desync)\n"
"\n"
"  -h, --help              this text\n"
"  -V, --version           the version\n"
"\n"
"Processes (weight in \"mix\"):\n", SIM_WRITER_LATE_BY);
        for (unsigned id = 0; sim_process_name(id); id++)
                fprintf(f, "  %-14s %3g  %s\n", sim_process_name(id),
                        sim_process_mix_weight(id), sim_process_help(id));
        fprintf(f,
"\nTrigger time starts at %u ticks and grows by %d + Exp(mean %g) ticks per\n"
"trigger; trigger bits: 0x100 always, 0x1 two tracks, 0x2 cluster sum >= 1 GeV,\n"
"0x4 a cluster >= 1 GeV, 0x8 a MUON record.\n"
"Exit status: 0 done, 1 output error (the path is named), 2 usage error.\n",
                TIME_START, TIME_MIN_GAP, TIME_MEAN_GAP);
}

static void s_usage_error(const char *fmt, const char *opt, const char *arg)
{
        fprintf(stderr, PROG ": ");
        fprintf(stderr, fmt, opt, arg);
        fprintf(stderr, "\nTry '" PROG " --help'.\n");
        exit(2);
}

static uint64_t s_uint(const char *opt, const char *arg, uint64_t max)
{
        char *end;
        unsigned long long v;

        errno = 0;
        if (!arg[0] || arg[0] == '-' || arg[0] == '+' || arg[0] == ' ')
                s_usage_error("%s: \"%s\" is not a non-negative integer", opt, arg);
        v = strtoull(arg, &end, 0);
        if (*end || errno)
                s_usage_error("%s: \"%s\" is not a non-negative integer", opt, arg);
        if (v > max) {
                char text[64];

                snprintf(text, sizeof(text), "%s (at most %llu)", arg, (unsigned long long)max);
                s_usage_error("%s: %s is out of range", opt, text);
        }
        return v;
}

static double s_double(const char *opt, const char *arg, double lo, double hi)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(arg, &end);
        if (end == arg || *end || errno || !isfinite(v))
                s_usage_error("%s: \"%s\" is not a number", opt, arg);
        if (v < lo || v > hi) {
                char text[96];

                snprintf(text, sizeof(text), "%s (allowed %g..%g)", arg, lo, hi);
                s_usage_error("%s: %s is out of range", opt, text);
        }
        return v;
}

enum {
        OPT_CTAU = 256, OPT_BOARDS, OPT_RAW, OPT_FIRST, OPT_INTERLEAVED, OPT_NO_NOISE,
        OPT_CRC, OPT_MISSING, OPT_DUP, OPT_LATE, OPT_JUNK, OPT_TRUNC, OPT_BUSY,
        OPT_DESYNC_BOARD, OPT_DESYNC_AT, OPT_STREAM, OPT_BOARD, OPT_RATE,
        OPT_PCIE, OPT_RING_BYTES, OPT_PCIE_TIMEOUT,
};

/* Fills *o from the command line; exits 0 after --help or --version, 2 after
 * a usage error (reported). */
static void s_parse_argv(int argc, char **argv, struct options *o)
{
        static const struct option longopts[] = {
                { "events", required_argument, NULL, 'n' },
                { "output", required_argument, NULL, 'o' },
                { "seed", required_argument, NULL, 's' },
                { "process", required_argument, NULL, 'p' },
                { "mass", required_argument, NULL, 'm' },
                { "ctau-cm", required_argument, NULL, OPT_CTAU },
                { "boards", required_argument, NULL, OPT_BOARDS },
                { "raw-bytes", required_argument, NULL, OPT_RAW },
                { "first-trigger", required_argument, NULL, OPT_FIRST },
                { "interleaved", no_argument, NULL, OPT_INTERLEAVED },
                { "no-noise", no_argument, NULL, OPT_NO_NOISE },
                { "crc-errors", required_argument, NULL, OPT_CRC },
                { "missing", required_argument, NULL, OPT_MISSING },
                { "duplicates", required_argument, NULL, OPT_DUP },
                { "late", required_argument, NULL, OPT_LATE },
                { "junk", required_argument, NULL, OPT_JUNK },
                { "truncated", required_argument, NULL, OPT_TRUNC },
                { "busy", required_argument, NULL, OPT_BUSY },
                { "desync-board", required_argument, NULL, OPT_DESYNC_BOARD },
                { "desync-at", required_argument, NULL, OPT_DESYNC_AT },
                { "stream", no_argument, NULL, OPT_STREAM },
                { "board", required_argument, NULL, OPT_BOARD },
                { "rate", required_argument, NULL, OPT_RATE },
                { "pcie", required_argument, NULL, OPT_PCIE },
                { "ring-bytes", required_argument, NULL, OPT_RING_BYTES },
                { "pcie-timeout-ms", required_argument, NULL, OPT_PCIE_TIMEOUT },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        bool have_desync_board = false, have_desync_at = false, have_board = false;
        bool have_rate = false;
        int c;

        *o = (struct options){
                .ring_bytes = 1u << 20,
                .pcie_timeout_ms = 1000,
                .n_events = 1000, .seed = 1, .process = "mix", .mass_gev = NAN,
                .ctau_cm = 5.0, .noise = true, .first_trigger = 1,
                .w = { .n_boards = 4, .raw_bytes = 64, .desync_board = -1 },
        };
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":n:o:s:p:m:hV", longopts, NULL)) != -1) {
                switch (c) {
                case 'n': o->n_events = s_uint("--events", optarg, UINT64_MAX / 2); break;
                case 'o': o->out_dir = optarg; break;
                case 's': o->seed = s_uint("--seed", optarg, UINT64_MAX); break;
                case 'p': o->process = optarg; break;
                case 'm': o->mass_gev = s_double("--mass", optarg, 0.0, 11.0); break;
                case OPT_CTAU: o->ctau_cm = s_double("--ctau-cm", optarg, 1e-6, 1e6); break;
                case OPT_BOARDS:
                        o->w.n_boards = (unsigned)s_uint("--boards", optarg, SIM_WRITER_MAX_BOARDS);
                        if (o->w.n_boards < 1)
                                s_usage_error("%s: %s is out of range (1..64)", "--boards", optarg);
                        break;
                case OPT_RAW:
                        o->w.raw_bytes = (uint32_t)s_uint("--raw-bytes", optarg,
                                                          FRAG_MAX_PAYLOAD - FRAG_BLOCK_HEADER);
                        if (o->w.raw_bytes % 4)
                                s_usage_error("%s: %s is not a multiple of 4", "--raw-bytes", optarg);
                        break;
                case OPT_FIRST:
                        o->first_trigger = (uint32_t)s_uint("--first-trigger", optarg, UINT32_MAX);
                        break;
                case OPT_INTERLEAVED: o->interleaved = true; break;
                case OPT_NO_NOISE: o->noise = false; break;
                case OPT_CRC: o->w.rate[SIM_FAULT_CRC] = s_double("--crc-errors", optarg, 0, 1); break;
                case OPT_MISSING: o->w.rate[SIM_FAULT_MISSING] = s_double("--missing", optarg, 0, 1); break;
                case OPT_DUP: o->w.rate[SIM_FAULT_DUP] = s_double("--duplicates", optarg, 0, 1); break;
                case OPT_LATE: o->w.rate[SIM_FAULT_LATE] = s_double("--late", optarg, 0, 1); break;
                case OPT_JUNK: o->w.rate[SIM_FAULT_JUNK] = s_double("--junk", optarg, 0, 1); break;
                case OPT_TRUNC: o->w.rate[SIM_FAULT_TRUNC] = s_double("--truncated", optarg, 0, 1); break;
                case OPT_BUSY: o->w.rate[SIM_FAULT_BUSY] = s_double("--busy", optarg, 0, 1); break;
                case OPT_DESYNC_BOARD:
                        o->w.desync_board = (int)s_uint("--desync-board", optarg, FRAG_MAX_SOURCE);
                        have_desync_board = true;
                        break;
                case OPT_DESYNC_AT:
                        o->w.desync_at = s_uint("--desync-at", optarg, UINT64_MAX);
                        have_desync_at = true;
                        break;
                case OPT_STREAM: o->stream = true; break;
                case OPT_BOARD:
                        o->board = (unsigned)s_uint("--board", optarg, FRAG_MAX_SOURCE);
                        have_board = true;
                        break;
                case OPT_PCIE:
                        o->pcie_path = optarg;
                        o->stream = true;
                        break;
                case OPT_RING_BYTES:
                        o->ring_bytes = s_uint("--ring-bytes", optarg, UINT32_MAX);
                        if (o->ring_bytes < 65536 || (o->ring_bytes & (o->ring_bytes - 1)))
                                s_usage_error("%s%s: must be a power of two >= 65536",
                                              "--ring-bytes", "");
                        break;
                case OPT_PCIE_TIMEOUT:
                        o->pcie_timeout_ms = (unsigned)s_uint("--pcie-timeout-ms", optarg,
                                                              UINT32_MAX);
                        break;
                case OPT_RATE:
                        o->rate_hz = s_double("--rate", optarg, 0, 1e9);
                        have_rate = true;
                        break;
                case 'h': s_usage(stdout); exit(0);
                case 'V': printf(PROG " " DARKDAQ_VERSION "\n"); exit(0);
                case ':': s_usage_error("%s%s: missing its value", argv[optind - 1], ""); break;
                default: s_usage_error("%s%s: unknown option", argv[optind - 1], ""); break;
                }
        }
        if (optind < argc)
                s_usage_error("%s%s: unexpected argument", argv[optind], "");
        if (o->stream && o->out_dir)
                s_usage_error("%s%s: not with --stream (it writes to stdout)", "--output", "");
        if (!o->stream && (have_board || have_rate))
                s_usage_error("%s%s: only with --stream", have_board ? "--board" : "--rate", "");
        if (!o->stream && !o->out_dir)
                s_usage_error("%s%s: required (the output directory)", "--output", "");
        if (o->stream && o->interleaved)
                s_usage_error("%s%s: not with --stream (one board per stream)", "--interleaved", "");
        if (o->stream && o->board >= o->w.n_boards)
                s_usage_error("%s%s: no such board (see --boards)", "--board", "");
        if (have_desync_board != have_desync_at)
                s_usage_error("%s%s: --desync-board and --desync-at go together",
                              have_desync_board ? "--desync-board" : "--desync-at", "");
        if (have_desync_board && o->w.desync_board >= (int)o->w.n_boards)
                s_usage_error("%s%s: no such board (see --boards)", "--desync-board", "");
        if (have_desync_at && o->n_events && o->w.desync_at >= o->n_events)
                s_usage_error("%s%s: the index must be below --events", "--desync-at", "");
        o->w.seed = o->seed;
        o->w.n_triggers = o->stream && o->n_events == 0 ? UINT64_MAX / 2 : o->n_events;
}

/* --stream: the board's sink is stdout, every other board's a null sink. */
static int s_open_stream(const struct options *o, sim_sink_t **sinks)
{
        struct sigaction sa = { .sa_handler = s_on_term };

        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        for (unsigned b = 0; b < o->w.n_boards; b++) {
                if (b != o->board)
                        sinks[b] = sim_sink_null_new("null");
                else if (o->pcie_path)
                        sinks[b] = sim_sink_pcie_new(o->pcie_path, o->ring_bytes,
                                                     o->pcie_timeout_ms);
                else
                        sinks[b] = sim_sink_fd_new(STDOUT_FILENO, "stdout", 0);
                if (!sinks[b])
                        return -ENOMEM;
        }
        return 0;
}

/* --stream --rate: trigger i is due at t0 + i / rate.  Before trigger i,
 * when the clock has not yet made it due, flushes the triggers written so
 * far and sleeps until it is; the triggers that are due go out in one batch,
 * so that neither a write nor a sleep per trigger caps the rate (the clock's
 * tick and the timer's slack are made up by the next batch).  *n_due counts
 * the triggers due at the last look.  Returns 0 or the flush's -errno. */
static int s_pace(const struct options *o, sim_sink_t *sink, const struct timespec *t0,
                  uint64_t i, uint64_t *n_due)
{
        struct timespec now;

        if (i < *n_due)
                return 0;
        int r = sim_sink_flush(sink);
        if (r < 0)
                return r;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double since = (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) * 1e-9;
        *n_due = (uint64_t)(since * o->rate_hz) + 1;
        if (i < *n_due)
                return 0;

        double at = (double)i / o->rate_hz;
        struct timespec due = { t0->tv_sec + (time_t)at,
                                t0->tv_nsec + (long)((at - (double)(time_t)at) * 1e9) };

        if (due.tv_nsec >= 1000000000L) {
                due.tv_sec++;
                due.tv_nsec -= 1000000000L;
        }
        while (!s_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
                ;
        *n_due = i + 1;
        return 0;
}

/* mkdir -p: creates dir and its missing parents.  Returns 0 or -errno. */
static int s_mkdirs(const char *dir)
{
        char p[PATH_MAX];
        size_t n = strlen(dir);

        if (n == 0 || n >= sizeof(p))
                return -ENAMETOOLONG;
        memcpy(p, dir, n + 1);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int s_fail_path(const char *what, const char *path, int err)
{
        fprintf(stderr, PROG ": %s %s: %s\n", what, path, strerror(err));
        return 1;
}

/* What one run of the simulator works with. */
struct sim {
        struct physics_config cfg;
        struct sim_gen gen;
        struct sim_det det;
        struct sim_rng r_gen, r_det, r_time;
        struct sim_event *ev;           /* this trigger's particles */
        struct sim_records *rec;        /* ... and the records they give */
        sim_sink_t *sinks[SIM_WRITER_MAX_BOARDS];
        unsigned n_sinks;               /* one per board, or one interleaved */
        sim_sink_t *truth;              /* DIR/truth.jsonl; NULL with --stream */
        sim_writer_t *w;
        uint64_t time_ticks;            /* the trigger clock */
        uint64_t n_due;                 /* --stream --rate: triggers due by the clock (s_pace) */
};

/* The generator and detector model.  Returns 0, or 2 after an unusable
 * --process or --mass (reported). */
static int s_init_models(struct sim *sm, const struct options *o)
{
        char err[256];

        physics_config_default(&sm->cfg);
        if (sim_gen_init(&sm->gen, &sm->cfg, o->process, o->mass_gev, o->ctau_cm, err,
                         sizeof(err)) < 0) {
                fprintf(stderr, PROG ": %s\nTry '" PROG " --help'.\n", err);
                return 2;
        }
        sim_det_init(&sm->det, &sm->cfg);
        sm->det.noise = o->noise;
        return 0;
}

/* Creates the output directory with its parents, and checks it is one.
 * Returns 0, or 1 (reported). */
static int s_make_out_dir(const char *dir)
{
        struct stat st;
        int r = s_mkdirs(dir);

        if (r < 0)
                return s_fail_path("cannot create output directory", dir, -r);
        if (stat(dir, &st) < 0)
                return s_fail_path("cannot use output directory", dir, errno);
        if (!S_ISDIR(st.st_mode))
                return s_fail_path("cannot use output directory", dir, ENOTDIR);
        return 0;
}

/* The event buffers, a sink per board (or the stream's), the truth file and
 * the writer.  Returns 0, or 1 (reported); s_close() undoes either. */
static int s_open(struct sim *sm, const struct options *o)
{
        char path[PATH_MAX];

        sm->ev = malloc(sizeof(*sm->ev));
        sm->rec = malloc(sizeof(*sm->rec));
        if (!sm->ev || !sm->rec) {
                fprintf(stderr, PROG ": out of memory\n");
                return 1;
        }

        sm->n_sinks = o->interleaved ? 1 : o->w.n_boards;
        if (o->stream && s_open_stream(o, sm->sinks) < 0) {
                if (o->pcie_path)
                        fprintf(stderr, PROG ": %s: cannot create the PCIe ring file: %s\n",
                                o->pcie_path, strerror(errno));
                else
                        fprintf(stderr, PROG ": out of memory\n");
                return 1;
        }
        for (unsigned b = 0; !o->stream && b < sm->n_sinks; b++) {
                if (o->interleaved)
                        snprintf(path, sizeof(path), "%s/all.raw", o->out_dir);
                else
                        snprintf(path, sizeof(path), "%s/board-%u.raw", o->out_dir, b);
                sm->sinks[b] = sim_sink_file_open(path);
                if (!sm->sinks[b])
                        return s_fail_path("cannot create", path, errno);
        }
        if (!o->stream) {
                snprintf(path, sizeof(path), "%s/truth.jsonl", o->out_dir);
                sm->truth = sim_sink_file_open(path);
                if (!sm->truth)
                        return s_fail_path("cannot create", path, errno);
        }
        sm->w = sim_writer_new(&o->w, sm->sinks, sm->n_sinks);
        if (!sm->w) {
                fprintf(stderr, PROG ": out of memory\n");
                return 1;
        }
        return 0;
}

/* Trigger i (from 0): with --stream --rate first paced (s_pace), then
 * generated, through the detector, written as each board's fragments; then
 * its truth line.  Returns 0, or 1 (reported). */
static int s_trigger(struct sim *sm, const struct options *o, uint64_t i,
                     const struct timespec *t0)
{
        struct sim_fault faults[SIM_FAULT_COUNT_ * SIM_WRITER_MAX_BOARDS];
        uint32_t trigger = (uint32_t)(o->first_trigger + i);
        char line[4096];
        unsigned n_faults;
        size_t len;
        int r;

        sim_gen_event(&sm->gen, &sm->r_gen, sm->ev);
        sim_det_event(&sm->det, &sm->r_det, sm->ev, sm->rec);
        sm->time_ticks += TIME_MIN_GAP + (uint64_t)(TIME_MEAN_GAP * sim_rng_exp(&sm->r_time));
        if (o->stream && o->rate_hz > 0 &&
            (r = s_pace(o, sm->sinks[o->board], t0, i, &sm->n_due)) < 0)
                return s_fail_path("cannot write", "stdout", -r);
        r = sim_writer_trigger(sm->w, i, trigger, sm->time_ticks, sm->rec, faults, &n_faults);
        if (r < 0)
                return s_fail_path("cannot write", sim_writer_failed(sm->w), -r);
        if (o->stream)
                return 0;
        len = sim_truth_format(line, sizeof(line), sm->ev, trigger, faults, n_faults);
        r = sim_sink_write(sm->truth, line, len < sizeof(line) ? len : sizeof(line) - 1);
        if (r < 0)
                return s_fail_path("cannot write", sm->truth->name, -r);
        return 0;
}

/* Every trigger, until the count or SIGTERM, then the writer's last
 * fragments (the late ones).  Returns 0, or 1 (reported). */
static int s_generate(struct sim *sm, const struct options *o)
{
        struct timespec t0;
        int r;

        sim_rng_seed(&sm->r_gen, o->seed, STREAM_GEN);
        sim_rng_seed(&sm->r_det, o->seed, STREAM_DET);
        sim_rng_seed(&sm->r_time, o->seed, STREAM_TIME);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (uint64_t i = 0; i < o->w.n_triggers && !s_stop; i++) {
                r = s_trigger(sm, o, i, &t0);
                if (r)
                        return r;
        }
        r = sim_writer_finish(sm->w);
        if (r < 0)
                return s_fail_path("cannot write", sim_writer_failed(sm->w), -r);
        return 0;
}

/* Closes the writer and every sink, and says what was done.  rc is the
 * status so far; returns it, or 1 if it was 0 and a close failed. */
static int s_close(struct sim *sm, const struct options *o, int rc)
{
        uint64_t pcie_dropped = 0;
        int r;

        sm->w = sim_writer_free(sm->w);
        for (unsigned b = 0; b < SIM_WRITER_MAX_BOARDS; b++) {
                const char *name = sm->sinks[b] ? sm->sinks[b]->name : NULL;
                char keep[PATH_MAX];

                if (!sm->sinks[b])
                        continue;
                snprintf(keep, sizeof(keep), "%s", name);
                if (o->pcie_path && b == o->board)
                        pcie_dropped = sim_sink_pcie_dropped(sm->sinks[b]);
                r = sim_sink_close(sm->sinks[b]);
                if (r < 0 && !rc)
                        rc = s_fail_path("cannot write", keep, -r);
        }
        if (sm->truth) {
                char keep[PATH_MAX];

                snprintf(keep, sizeof(keep), "%s", sm->truth->name);
                r = sim_sink_close(sm->truth);
                if (r < 0 && !rc)
                        rc = s_fail_path("cannot write", keep, -r);
        }
        free(sm->ev);
        free(sm->rec);
        if (o->pcie_path)
                fprintf(stderr, PROG ": %s: %llu pieces dropped for want of room in the ring\n",
                        o->pcie_path, (unsigned long long)pcie_dropped);
        if (!rc && !o->stream)
                fprintf(stderr, PROG ": wrote %llu triggers to %s\n",
                        (unsigned long long)o->n_events, o->out_dir);
        return rc;
}

/* Returns the exit status: 0 done, 1 an output error, 2 a usage error. */
static int s_run(const struct options *o)
{
        struct sim sm = { .time_ticks = TIME_START };
        int rc = s_init_models(&sm, o);

        if (rc)
                return rc;
        if (!o->stream && (rc = s_make_out_dir(o->out_dir)))
                return rc;
        rc = s_open(&sm, o);
        if (!rc)
                rc = s_generate(&sm, o);
        return s_close(&sm, o, rc);
}

int main(int argc, char **argv)
{
        struct options o;

        s_parse_argv(argc, argv, &o);
        return s_run(&o);
}
