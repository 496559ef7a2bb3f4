/* SPDX-License-Identifier: Apache-2.0 */
/* sim: a live simulated board.  RUN starts `darkdaq-sim --stream` as a
 * child process writing the board's byte stream into a pipe; BUSY makes the
 * driver stop reading, so the full pipe throttles the child as a board's
 * full buffer throttles its triggers; RUN off sends SIGTERM (the child ends
 * after a whole trigger) and the pipe is read to its end.  Owns the child:
 * it reaps it and, on close, kills it if it still runs. */
#include "driver.h"
#include "processes.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "fragment.h"

#define SIM_IDLE_MS     20
#define SIM_PIPE_BYTES  (1u << 20)

extern char **environ;

/* [source.NAME] with driver = sim: darkdaq-sim --stream's options. */
struct sim_options {
        unsigned board;                 /* board id 0..63 this source plays */
        unsigned boards;                /* boards in the simulated system */
        uint64_t seed;
        char process[128];              /* darkdaq-sim --process */
        uint64_t events;                /* 0: endless */
        double rate_hz;                 /* triggers per second; 0: as fast as possible */
        uint32_t raw_bytes;             /* RAW block bytes of boards >= 3 */
        char program[CONFIG_PATH_MAX];  /* darkdaq-sim; "": the one beside darkdaqd */
};
_Static_assert(sizeof(struct sim_options) <= DRIVER_OPTIONS_MAX, "sim options too big");

/* A process list darkdaq-sim takes: it would refuse others only when the
 * run starts. */
static int s_valid_process(const char *value, char *err, size_t errlen)
{
        double weight[SIM_P_COUNT_] = { 0 };
        char why[256];
        if (sim_process_parse(value, weight, why, sizeof why) == 0)
                return 0;
        /* why starts with the simulator's option, "--process: ", and may end
         * pointing at its --help: name the processes here instead */
        const char *w = strncmp(why, "--process: ", 11) ? why : why + 11;
        char *see = strstr(why, " (see --help)");
        if (see)
                *see = '\0';
        int n = snprintf(err, errlen, "%s", w);
        if (see)
                for (unsigned id = 0; sim_process_name(id) && n >= 0 && (size_t)n < errlen; id++)
                        n += snprintf(err + n, errlen - (size_t)n, "%s%s",
                                      id ? ", " : "; the processes are mix, ", sim_process_name(id));
        return -EINVAL;
}

static const struct driver_key s_keys[] = {
        { .name = "board", .type = DRIVER_KEY_UINT, DRIVER_FIELD(struct sim_options, board),
          .max = FRAG_MAX_SOURCE, .def = "0", .help = "the board id it plays (0..boards-1)" },
        { .name = "boards", .type = DRIVER_KEY_UINT, DRIVER_FIELD(struct sim_options, boards),
          .min = 1, .max = FRAG_MAX_SOURCE + 1, .def = "4",
          .help = "boards in the simulated system" },
        { .name = "seed", .type = DRIVER_KEY_UINT, DRIVER_FIELD(struct sim_options, seed),
          .max = UINT64_MAX, .def = "1", .help = "same seed on every board: they agree" },
        { .name = "process", .type = DRIVER_KEY_STRING, DRIVER_FIELD(struct sim_options, process),
          .charset = "abcdefghijklmnopqrstuvwxyz0123456789_:,.", .def = "mix",
          .help = "darkdaq-sim --process", .valid = s_valid_process },
        { .name = "events", .type = DRIVER_KEY_UINT, DRIVER_FIELD(struct sim_options, events),
          .max = UINT64_MAX / 2, .def = "0",
          .help = "triggers, then the source ends; 0: endless" },
        { .name = "rate_hz", .type = DRIVER_KEY_DOUBLE, DRIVER_FIELD(struct sim_options, rate_hz),
          .fmin = 0, .fmax = 1e9, .def = "0",
          .help = "triggers per second; 0: as fast as possible" },
        { .name = "raw_bytes", .type = DRIVER_KEY_UINT,
          DRIVER_FIELD(struct sim_options, raw_bytes), .max = FRAG_MAX_PAYLOAD - 8, .step = 4,
          .def = "64", .help = "RAW block bytes of boards >= 3" },
        { .name = "program", .type = DRIVER_KEY_STRING, DRIVER_FIELD(struct sim_options, program),
          .help = "darkdaq-sim to run; empty: the one beside darkdaqd" },
        { .name = NULL }
};

struct driver_handle {
        struct sim_options cfg;         /* a copy: board, seed, rate ... */
        char program[PATH_MAX];         /* darkdaq-sim to run */
        pid_t pid;                      /* the child, or 0 */
        int fd;                         /* read end of its stdout, or -1 */
        _Atomic bool busy;              /* BUSY asserted */
        _Atomic bool stopping;          /* RUN off: drain, ignore BUSY */
};

static int s_program(const struct sim_options *cfg, char *out, size_t size)
{
        if (cfg->program[0]) {
                snprintf(out, size, "%s", cfg->program);
                return 0;
        }
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0)
                return -errno;
        self[n] = '\0';
        snprintf(out, size, "%s/darkdaq-sim", dirname(self));
        return 0;
}

static int s_check(const void *options, char *err, size_t errlen)
{
        const struct sim_options *cfg = options;
        if (cfg->board >= cfg->boards) {
                snprintf(err, errlen, "board %u is not below boards %u", cfg->board, cfg->boards);
                return -EINVAL;
        }
        return 0;
}

static uint64_t s_boards(const void *options)
{
        const struct sim_options *cfg = options;
        return 1ull << cfg->board;
}

static int s_open(driver_handle_t **ret, const void *options, char *err, size_t errlen)
{
        const struct sim_options *cfg = options;
        driver_handle_t *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->cfg = *cfg;
        h->fd = -1;
        int r = s_program(cfg, h->program, sizeof h->program);
        if (r == 0 && access(h->program, X_OK) < 0)
                r = -errno;
        if (r < 0) {
                snprintf(err, errlen, "%s: cannot run the simulator: %s", h->program,
                         strerror(-r));
                free(h);
                return r;
        }
        *ret = h;
        return 0;
}

/* Waits for the child (blocking only when it is known to be ending). */
static int s_reap(driver_handle_t *h, char *err, size_t errlen)
{
        int status = 0, r = 0;

        if (h->pid <= 0)
                return 0;
        while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && !atomic_load(&h->stopping)) {
                snprintf(err, errlen, "%s (board %u) exited with status %d", h->program,
                         h->cfg.board, WEXITSTATUS(status));
                r = -EIO;
        } else if (WIFSIGNALED(status) && !atomic_load(&h->stopping)) {
                snprintf(err, errlen, "%s (board %u) killed by signal %d", h->program,
                         h->cfg.board, WTERMSIG(status));
                r = -EIO;
        }
        h->pid = 0;
        return r;
}

static void s_kill(driver_handle_t *h)
{
        if (h->fd >= 0)
                close(h->fd);
        h->fd = -1;
        if (h->pid > 0) {
                kill(h->pid, SIGKILL);
                while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        h->pid = 0;
}

static int s_start(driver_handle_t *h, char *err, size_t errlen)
{
        char board[16], boards[16], seed[32], events[32], rate[32], raw[16];
        int p[2], r;
        posix_spawn_file_actions_t fa;

        s_kill(h);
        atomic_store(&h->stopping, false);
        snprintf(board, sizeof board, "%u", h->cfg.board);
        snprintf(boards, sizeof boards, "%u", h->cfg.boards);
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)h->cfg.seed);
        snprintf(events, sizeof events, "%llu", (unsigned long long)h->cfg.events);
        snprintf(rate, sizeof rate, "%.17g", h->cfg.rate_hz);
        snprintf(raw, sizeof raw, "%u", h->cfg.raw_bytes);
        char *argv[] = { h->program, "--stream", "--board", board, "--boards", boards,
                         "--seed", seed, "-n", events, "--rate", rate,
                         "--process", h->cfg.process, "--raw-bytes", raw, NULL };

        if (pipe2(p, O_CLOEXEC) < 0) {
                r = -errno;
                snprintf(err, errlen, "board %u: pipe: %s", h->cfg.board, strerror(-r));
                return r;
        }
        fcntl(p[0], F_SETPIPE_SZ, SIM_PIPE_BYTES);      /* a bigger board buffer, if allowed */
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        /* the daemon blocks these for its signalfd: the child must not inherit that */
        posix_spawnattr_t attr;
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_init(&attr);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
        r = posix_spawn(&h->pid, h->program, &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(p[1]);
        if (r != 0) {
                close(p[0]);
                h->pid = 0;
                snprintf(err, errlen, "%s: cannot start: %s", h->program, strerror(r));
                return -r;
        }
        h->fd = p[0];
        return 0;
}

static void s_stop(driver_handle_t *h)
{
        atomic_store(&h->stopping, true);
        if (h->pid > 0)
                kill(h->pid, SIGTERM);
}

/* Does the board's process want the CPU (running or runnable) now?  A
 * board stand-in on an overloaded host that sends nothing while it is
 * runnable is starved, not silent. */
static bool s_child_runnable(const driver_handle_t *h)
{
        char path[64], buf[256];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)h->pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        const char *p = strrchr(buf, ')');      /* "pid (comm) S ..." */
        return p && p[1] == ' ' && p[2] == 'R';
}

static void s_busy(driver_handle_t *h, bool on)
{
        atomic_store(&h->busy, on);
}

static ssize_t s_read(driver_handle_t *h, void *buf, size_t len, int timeout_ms, char *err,
                      size_t errlen)
{
        if (h->fd < 0)
                return DRIVER_END;
        if (atomic_load(&h->busy) && !atomic_load(&h->stopping)) {
                poll(NULL, 0, timeout_ms < SIM_IDLE_MS ? timeout_ms : SIM_IDLE_MS);
                return 0;
        }
        struct pollfd p = { .fd = h->fd, .events = POLLIN };
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno != EINTR) {
                r = -errno;
                snprintf(err, errlen, "board %u: poll: %s", h->cfg.board, strerror(-r));
                return r;
        }
        if (r <= 0)
                return h->pid > 0 && s_child_runnable(h) ? DRIVER_NO_VERDICT : 0;
        ssize_t n = read(h->fd, buf, len);
        if (n < 0) {
                if (errno == EINTR || errno == EAGAIN)
                        return 0;
                r = -errno;
                snprintf(err, errlen, "board %u: read: %s", h->cfg.board, strerror(-r));
                return r;
        }
        if (n > 0)
                return n;
        close(h->fd);
        h->fd = -1;
        r = s_reap(h, err, errlen);
        return r < 0 ? r : DRIVER_END;
}

static void s_close(driver_handle_t *h)
{
        if (!h)
                return;
        s_kill(h);
        free(h);
}

const struct driver driver_sim = {
        .name = "sim",
        .help = "a live simulated board (darkdaq-sim --stream)",
        .keys = s_keys,
        .options_size = sizeof(struct sim_options),
        .check = s_check,
        .boards = s_boards,
        .open = s_open,
        .start = s_start,
        .stop = s_stop,
        .busy = s_busy,
        .read = s_read,
        .close = s_close,
};
