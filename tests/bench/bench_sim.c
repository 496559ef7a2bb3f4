/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark: darkdaq-sim --stream as a board stand-in, paced at 10 kHz,
 * 100 kHz and 1 MHz, against its unpaced rate in the same run.  Times each
 * run from its first byte to its end, as a reader of its stdout sees it, and
 * prints achieved / requested.  Never fails on speed.  Issue 24: within 1 %
 * up to the unpaced rate, which bounds every paced one. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double s_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs the simulator for n triggers at rate_hz (0: unpaced) and returns the
 * triggers per second between its first byte and its last, or -1. */
static double s_run(const char *sim, unsigned long n, double rate_hz)
{
        static char buf[1 << 20];
        char n_arg[32], rate_arg[32];
        int fd[2];

        snprintf(n_arg, sizeof n_arg, "%lu", n);
        snprintf(rate_arg, sizeof rate_arg, "%.0f", rate_hz);
        if (pipe(fd) < 0)
                return -1;
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                dup2(fd[1], STDOUT_FILENO);
                close(fd[0]);
                close(fd[1]);
                execl(sim, sim, "--stream", "--board", "0", "-n", n_arg, "--seed", "5",
                      "--rate", rate_arg, (char *)NULL);
                _exit(127);
        }
        close(fd[1]);
        double first = 0, last = 0;
        for (;;) {
                ssize_t got = read(fd[0], buf, sizeof buf);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        break;
                last = s_now();
                if (first == 0)
                        first = last;
        }
        close(fd[0]);
        int status;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || last <= first)
                return -1;
        /* trigger 0 goes out at the start, trigger n - 1 at the end */
        return (double)(n - 1) / (last - first);
}

int main(void)
{
        const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
        static const double rates[] = { 10e3, 100e3, 1e6 };
        char sim[4096];

        snprintf(sim, sizeof sim, "%s/bin/darkdaq-sim", build);
        if (access(sim, X_OK) < 0) {
                fprintf(stderr, "bench_sim: %s: %s\n", sim, strerror(errno));
                return 1;
        }
        double unpaced = 0;
        for (int r = 0; r < 3; r++) {
                double got = s_run(sim, 200000, 0);
                unpaced = got > unpaced ? got : unpaced;
        }
        printf("darkdaq-sim --stream, one board of four: unpaced %.0f triggers/s (best of 3)\n",
               unpaced);
        for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
                /* about a second of stream, at most what the unpaced rate
                 * gives in two */
                unsigned long n = (unsigned long)rates[k];
                if (n > 2 * unpaced)
                        n = (unsigned long)(2 * unpaced);
                double got = s_run(sim, n, rates[k]);
                printf("  --rate %-8.0f %8lu triggers  %9.0f /s  achieved/requested %.4f"
                       "  (/unpaced %.3f)\n", rates[k], n, got, got / rates[k], got / unpaced);
        }
        return 0;
}
