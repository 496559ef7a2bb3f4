/* SPDX-License-Identifier: Apache-2.0 */
/* Live throughput: darkdaq-sim's raw files -> darkdaqd -c (file sources) ->
 * this program as the store (PULL, run file written with the run-file
 * writer, ACKs) -> a run file, in events per second, and its ratio to
 * darkdaqd --replay of the same files measured in the same run (target
 * >= 0.7); each the best of three, all files on tmpfs.  Prints figures;
 * never fails on speed.  BENCH_LIVE_EVENTS sets the size (default 200000). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "runfile.h"
#include "storage_proto.h"

extern char **environ;

static double s_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int s_port(void)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
        socklen_t len = sizeof a;
        bind(fd, (struct sockaddr *)&a, sizeof a);
        getsockname(fd, (struct sockaddr *)&a, &len);
        close(fd);
        return ntohs(a.sin_port);
}

static pid_t s_spawn(char **argv, const char *out)
{
        posix_spawn_file_actions_t fa;
        pid_t pid;
        posix_spawn_file_actions_init(&fa);
        if (out)
                posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
                pid = -1;
        posix_spawn_file_actions_destroy(&fa);
        return pid;
}

static double s_tv(struct timeval tv)
{
        return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* Runs argv to its end; *cpu_s gets its user + system CPU seconds. */
static int s_run(char **argv, double *cpu_s)
{
        struct rusage ru;
        int st;
        pid_t pid = s_spawn(argv, "/dev/null");
        if (pid < 0 || wait4(pid, &st, 0, &ru) < 0)
                return -1;
        if (cpu_s)
                *cpu_s = s_tv(ru.ru_utime) + s_tv(ru.ru_stime);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* CPU seconds process pid has used so far, all threads (/proc). */
static double s_proc_cpu(pid_t pid)
{
        char path[64], buf[1024], *p;
        unsigned long long ut = 0, st = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        f = fopen(path, "r");
        if (!f)
                return 0;
        p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
        fclose(f);
        /* after "(comm)": state ppid pgrp session tty tpgid flags minflt
         * cminflt majflt cmajflt utime stime */
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                         &ut, &st) != 2)
                return 0;
        return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double s_self_cpu(void)
{
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return s_tv(ru.ru_utime) + s_tv(ru.ru_stime);
}

static int s_request(void *req, const char *cmd)
{
        return zmq_send(req, cmd, strlen(cmd), 0) < 0 ? -1 : 0;
}

/* One live run with a fresh daemon: seconds until the store has all n
 * events (0 when they did not all arrive). */
static double s_live(const char *dir, char *daemon, char raw[4][700], uint64_t n,
                     double *cpu_daemon, double *cpu_store)
{
        char conf[700], run_out[700];
        int pc = s_port(), pm = s_port(), ps = s_port(), pa = s_port();
        snprintf(conf, sizeof conf, "%s/d.ini", dir);
        FILE *f = fopen(conf, "w");
        if (!f)
                return 0;
        fprintf(f, "[daemon]\nmetrics =\ncontrol = tcp://127.0.0.1:%d\nmonitor = tcp://127.0.0.1:%d\n"
                "storage = tcp://127.0.0.1:%d\nstorage_ack = tcp://127.0.0.1:%d\n"
                "state_dir = %s/state\n[builder]\nsources = 0-3\n", pc, pm, ps, pa, dir);
        for (int b = 0; b < 4; b++)
                fprintf(f, "[source.b%d]\ndriver = file\npath = %s\n", b, raw[b]);
        fclose(f);
        char *d_argv[] = { daemon, "-c", conf, NULL };
        pid_t dpid = s_spawn(d_argv, NULL);
        void *ctx = zmq_ctx_new();
        void *pull = zmq_socket(ctx, ZMQ_PULL), *push = zmq_socket(ctx, ZMQ_PUSH);
        void *req = zmq_socket(ctx, ZMQ_REQ);
        char ep[64];
        int linger = 0;
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", ps);
        zmq_connect(pull, ep);
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", pa);
        zmq_connect(push, ep);
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", pc);
        zmq_connect(req, ep);
        zmq_setsockopt(req, ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
        uint8_t ack[STORAGE_ACK_BYTES];
        storage_ack_encode(ack, &(struct storage_ack){ STORAGE_HELLO, 0, 0 });
        zmq_send(push, ack, sizeof ack, 0);
        char reply[65536];
        s_request(req, "configure");
        zmq_recv(req, reply, sizeof reply, 0);
        snprintf(run_out, sizeof run_out, "%s/live.dkr", dir);
        runfile_writer_t *w = NULL;
        uint64_t events = 0, next = 0;
        int stage = 0;                  /* 0 running, 1 stop sent, 2 stop answered */
        double t_start = s_now(), t_built = 0;
        double d_cpu0 = s_proc_cpu(dpid), s_cpu0 = s_self_cpu();
        s_request(req, "start --run 1");
        zmq_recv(req, reply, sizeof reply, 0);
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        while (stage < 2 && s_now() - t_start < 600) {
                zmq_pollitem_t it[2] = { { pull, 0, ZMQ_POLLIN, 0 }, { req, 0, ZMQ_POLLIN, 0 } };
                zmq_poll(it, 2, 1000);
                if (it[1].revents & ZMQ_POLLIN) {
                        zmq_recv(req, reply, sizeof reply, 0);
                        stage = 2;
                }
                int got = 0;
                uint32_t run = 0;
                while (got < 1024 && zmq_msg_recv(&msg, pull, ZMQ_DONTWAIT) >= 0) {
                        const uint8_t *payload;
                        size_t len;
                        uint64_t seq;
                        if (storage_data_parse(zmq_msg_data(&msg), zmq_msg_size(&msg), &run, &seq,
                                               &payload, &len) < 0 || seq != next)
                                continue;
                        next++;
                        got++;
                        if (!w) {
                                Darkdaq__Record *h = darkdaq__record__unpack(NULL, len, payload);
                                struct runfile_writer_opts o = { .path = run_out };
                                if (!h || runfile_writer_open(&w, &o, h) < 0)
                                        return 0;
                                darkdaq__record__free_unpacked(h, NULL);
                        } else if (payload[0] == 0x32) {
                                Darkdaq__Record *t = darkdaq__record__unpack(NULL, len, payload);
                                runfile_writer_close(w, t);
                                darkdaq__record__free_unpacked(t, NULL);
                                w = NULL;
                        } else {
                                runfile_writer_write_packed(w, payload, len);
                                events += payload[0] == 0x12;
                        }
                }
                if (got) {
                        if (w)
                                runfile_writer_flush(w);
                        storage_ack_encode(ack, &(struct storage_ack){ STORAGE_ACK, run,
                                                                        next - 1 });
                        zmq_send(push, ack, sizeof ack, 0);
                }
                if (stage == 0 && events == n) {
                        t_built = s_now() - t_start;
                        *cpu_daemon = s_proc_cpu(dpid) - d_cpu0;
                        *cpu_store = s_self_cpu() - s_cpu0;
                        s_request(req, "stop");
                        stage = 1;
                }
        }
        zmq_msg_close(&msg);
        kill(dpid, SIGTERM);
        waitpid(dpid, NULL, 0);
        zmq_close(pull);
        zmq_close(push);
        zmq_close(req);
        zmq_ctx_term(ctx);
        if (!t_built)
                printf("bench_live: only %" PRIu64 " of %" PRIu64 " events arrived\n", events, n);
        unlink(run_out);
        return t_built;
}

int main(void)
{
        const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
        uint64_t n = getenv("BENCH_LIVE_EVENTS") ? strtoull(getenv("BENCH_LIVE_EVENTS"), NULL, 10)
                                                 : 200000;
        /* files on tmpfs, as bench_pipeline's: the figures are then the
         * software's, not this machine's disk */
        char dir[64], bin[512], sim[600], daemon[600];
        char nbuf[32], replay_out[700], raw[4][700];
        snprintf(dir, sizeof dir, "%s/darkdaq-bench-live-XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(dir))
                return 1;
        snprintf(bin, sizeof bin, "%s/bin", build);
        snprintf(sim, sizeof sim, "%s/darkdaq-sim", bin);
        snprintf(daemon, sizeof daemon, "%s/darkdaqd", bin);
        snprintf(nbuf, sizeof nbuf, "%" PRIu64, n);
        char *sim_argv[] = { sim, "-n", nbuf, "--seed", "3", "-o", dir, NULL };
        if (s_run(sim_argv, NULL) != 0) {
                fprintf(stderr, "bench_live: %s failed\n", sim);
                return 1;
        }
        for (int b = 0; b < 4; b++)
                snprintf(raw[b], sizeof raw[b], "%s/board-%d.raw", dir, b);
        snprintf(replay_out, sizeof replay_out, "%s/replay.dkr", dir);
        char *rep_argv[] = { daemon, "--replay", raw[0], raw[1], raw[2], raw[3], "-o", replay_out,
                             NULL };
        double t_replay = 1e9, t_built = 1e9, t, c_replay = 0, c_daemon = 0, c_store = 0;

        /* each three times, the best kept: first writes into tmpfs pages
         * this machine has not used yet cost page allocation, which is
         * neither path's */
        for (int rep = 0; rep < 3; rep++) {
                double t0 = s_now();

                double c, cd = 0, cs = 0;

                if (s_run(rep_argv, &c) != 0) {
                        fprintf(stderr, "bench_live: replay failed\n");
                        return 1;
                }
                t = s_now() - t0;
                if (t < t_replay) {
                        t_replay = t;
                        c_replay = c;
                }
                unlink(replay_out);
                t = s_live(dir, daemon, raw, n, &cd, &cs);
                if (t <= 0)
                        return 1;
                if (t < t_built) {
                        t_built = t;
                        c_daemon = cd;
                        c_store = cs;
                }
        }
        double r_replay = (double)n / t_replay, r_live = (double)n / t_built;
        printf("replay   %" PRIu64 " events in %.3f s: %.0f events/s (darkdaqd --replay, 4 files)\n",
               n, t_replay, r_replay);
        printf("live     %" PRIu64 " events in %.3f s: %.0f events/s (file sources -> darkdaqd "
               "-> store -> run file)\n", n, t_built, r_live);
        printf("ratio    live/replay = %.2f (target >= 0.7)\n", r_live / r_replay);
        printf("CPU      per event: replay %.2f us; live %.2f us (daemon %.2f, store %.2f) "
               "on %ld cores\n", c_replay / (double)n * 1e6, (c_daemon + c_store) / (double)n * 1e6,
               c_daemon / (double)n * 1e6, c_store / (double)n * 1e6, sysconf(_SC_NPROCESSORS_ONLN));
        char cmd[800];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                return 0;
        return 0;
}
