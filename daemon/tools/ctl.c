/* SPDX-License-Identifier: Apache-2.0 */
/* darkdaq-ctl: run control from the shell.  Sends one command to darkdaqd's
 * control socket (REQ), waits a bounded time for the reply, and prints it for
 * people (status as a table) or as the daemon's JSON with --json.  With
 * --client-key and --server-public-key it speaks CURVE (auth.h), as a non-local
 * endpoint needs.  Before it asks, a plain connect() to an ipc:// or tcp://
 * endpoint (at most PROBE_MS) tells "nothing listens" from "slow to answer". */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "auth.h"
#include "config.h"
#include "linkwatch.h"

#define PROG "darkdaq-ctl"
#define PROBE_MS        1000    /* the connect check before the request, at most */
#define PROBE_RETRY_MS  50      /* between its tries while nothing listens */

static void s_usage(FILE *f)
{
        fputs("usage: " PROG " [OPTION]... COMMAND [OPTION]...\n"
              "Run control of darkdaqd.  Options may come before or after the command.\n"
              "COMMAND is one of\n"
              "  configure         open the configured sources (idle -> configured)\n"
              "  start [--run N [--force]]\n"
              "                    start run N (default: one more than the last, from 1);\n"
              "                    N not after the last run started needs --force\n"
              "  stop              stop the run; waits until the store confirms the trailer\n"
              "  status            state, sources, builder, tags, storage (a table)\n"
              "  reset             stop if running, close the sources (any -> idle)\n"
              "Repeating a command is safe: it answers ok and changes nothing.\n"
              "\n"
              "  -e, --endpoint E    the control socket (default ipc://" CONFIG_RUNTIME_DIR "/control)\n"
              "  -j, --json          print the daemon's JSON reply as it is\n"
              "  -t, --timeout-ms T  wait this long for the reply (default 15000: a stop\n"
              "                      waits up to stop_timeout_ms for the store)\n"
              "  -k, --client-key FILE\n"
              "                      this client's secret key file (darkdaq-keygen NAME:\n"
              "                      NAME.key); its NAME.pub must be in darkdaqd's [auth]\n"
              "                      allowed_clients\n"
              "  -s, --server-public-key FILE\n"
              "                      darkdaqd's public key file (the .pub of its\n"
              "                      server_key); --server-key is the same option\n"
              "      --require-curve CURVE on a local endpoint too (for darkdaqd's\n"
              "                      require_curve = yes); a non-local endpoint always\n"
              "                      uses it\n"
              "      --insecure      allow tcp:// on loopback (or ipc://@NAME) without CURVE,\n"
              "                      which every local user reaches (darkdaqd's [daemon]\n"
              "                      insecure = yes)\n"
              "  -h, --help          this text\n"
              "  -V, --version       the version\n"
              "\n"
              "Before the request, a connect check of up to 1 s: nothing listening on the\n"
              "endpoint is \"no answer from ENDPOINT\" at once, not after the timeout.\n"
              "\n"
              "Exit status: 0 done, 1 refused or failed (the message says why), nothing\n"
              "listening, or no answer within the timeout (also what a key darkdaqd does not\n"
              "allow gets), 2 usage error, including a key file that cannot be used and a\n"
              "tcp:// loopback endpoint without CURVE or --insecure.\n", f);
}

/* Reports a usage error.  Returns -EINVAL, for s_parse_argv() to pass on. */
static int s_usage_error(const char *what)
{
        fprintf(stderr, PROG ": %s\nTry '" PROG " --help'.\n", what);
        return -EINVAL;
}

/* The JSON string value of "key" in reply (no nesting needed: the members
 * looked at are top-level and come before any nested object). */
static bool s_member(const char *reply, const char *key, char *out, size_t size)
{
        char pat[64];
        snprintf(pat, sizeof pat, "\"%s\":", key);
        const char *p = strstr(reply, pat);
        size_t n = 0;
        if (!p)
                return false;
        p += strlen(pat);
        if (*p != '"') {
                while (*p && *p != ',' && *p != '}' && n + 1 < size)
                        out[n++] = *p++;
                out[n] = '\0';
                return true;
        }
        for (p++; *p && *p != '"' && n + 1 < size; p++) {
                if (*p == '\\' && p[1])
                        p++;
                out[n++] = *p;
        }
        out[n] = '\0';
        return true;
}

struct options {
        const char *endpoint;           /* the control socket */
        bool json;                      /* print the daemon's JSON as it is */
        bool insecure;                  /* an open local endpoint without CURVE is fine */
        const char *run;                /* start --run N, as given; NULL: none */
        bool force;                     /* start --force */
        long timeout_ms;                /* wait this long for the reply */
        struct auth_client_config ac;   /* CURVE keys, if any */
        char req[256];                  /* the request to send */
};

/* The command (argv[0..argc-1], options already taken out) as the request
 * to send.  Returns 0, or -EINVAL after a usage error (reported). */
static int s_parse_command(int argc, char **argv, struct options *o)
{
        char *end;

        if (argc < 1)
                return s_usage_error("a command is needed: configure, start, stop, status, reset");
        const char *cmd = argv[0];
        if (strcmp(cmd, "configure") && strcmp(cmd, "start") && strcmp(cmd, "stop") &&
            strcmp(cmd, "status") && strcmp(cmd, "reset")) {
                fprintf(stderr, PROG ": unknown command \"%s\"\n", cmd);
                return s_usage_error("commands: configure, start [--run N], stop, status, reset");
        }
        if (argc != 1)
                return s_usage_error("unexpected argument after the command");
        if (strcmp(cmd, "start") && (o->run || o->force))
                return s_usage_error("--run and --force go with start only");
        if (o->force && !o->run)
                return s_usage_error("start --force needs --run N");
        if (o->run) {
                unsigned long run;
                errno = 0;
                run = strtoul(o->run, &end, 10);
                if (errno || *end || !o->run[0] || o->run[0] == '-' || run > 4294967295ul)
                        return s_usage_error("--run: a run number 0..4294967295");
                snprintf(o->req, sizeof o->req, "start --run %lu%s", run,
                         o->force ? " --force" : "");
        } else if (!strcmp(cmd, "status") && !o->json) {
                snprintf(o->req, sizeof o->req, "status --text");
        } else {
                snprintf(o->req, sizeof o->req, "%s", cmd);
        }
        return 0;
}

/* Returns 1 to run with *o filled, 0 after --help or --version, or -EINVAL
 * after a usage error (reported). */
static int s_parse_argv(int argc, char **argv, struct options *o)
{
        static const struct option opts[] = {
                { "endpoint", required_argument, NULL, 'e' },
                { "json", no_argument, NULL, 'j' },
                { "timeout-ms", required_argument, NULL, 't' },
                { "client-key", required_argument, NULL, 'k' },
                { "server-public-key", required_argument, NULL, 's' },
                { "server-key", required_argument, NULL, 's' },    /* its old name */
                { "require-curve", no_argument, NULL, 'c' },
                { "insecure", no_argument, NULL, 'i' },
                { "run", required_argument, NULL, 'r' },
                { "force", no_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { 0 },
        };
        char *end;
        int c;

        *o = (struct options){ .endpoint = "ipc://" CONFIG_RUNTIME_DIR "/control",
                               .timeout_ms = 15000 };
        /* no leading '+': options may follow the command (getopt permutes) */
        while ((c = getopt_long(argc, argv, "e:jt:k:s:hV", opts, NULL)) != -1) {
                switch (c) {
                case 'e':
                        o->endpoint = optarg;
                        break;
                case 'j':
                        o->json = true;
                        break;
                case 't':
                        errno = 0;
                        o->timeout_ms = strtol(optarg, &end, 10);
                        if (errno || *end || o->timeout_ms <= 0 || o->timeout_ms > 86400000)
                                return s_usage_error("--timeout-ms: a number of milliseconds, "
                                                     "1..86400000");
                        break;
                case 'k':
                        o->ac.client_key_file = optarg;
                        break;
                case 's':
                        o->ac.server_public_file = optarg;
                        break;
                case 'c':
                        o->ac.require_curve = true;
                        break;
                case 'i':
                        o->insecure = true;
                        break;
                case 'r':
                        o->run = optarg;
                        break;
                case 'f':
                        o->force = true;
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
        if (auth_endpoint_is_open_local(o->endpoint) && !o->ac.require_curve && !o->insecure) {
                fprintf(stderr, PROG ": endpoint %s is reached without CURVE, and any local "
                        "user can listen there and pose as darkdaqd; use darkdaqd's ipc:// "
                        "endpoint (default ipc://" CONFIG_RUNTIME_DIR "/control), or "
                        "--client-key, --server-key and --require-curve, or --insecure\n",
                        o->endpoint);
                return -EINVAL;
        }
        int r = s_parse_command(argc - optind, argv + optind, o);
        return r < 0 ? r : 1;
}

/* Connects fd to addr within PROBE_MS.  Returns 0 or -errno (-ETIMEDOUT). */
static int s_connect_within(int fd, const struct sockaddr *addr, socklen_t len)
{
        int e = 0;
        socklen_t el = sizeof e;

        if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
                return -errno;
        if (connect(fd, addr, len) == 0)
                return 0;
        if (errno != EINPROGRESS)
                return -errno;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int n = poll(&p, 1, PROBE_MS);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ETIMEDOUT;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
                return -errno;
        return -e;
}

/* A plain connect() to an ipc:// path (or @name) or a tcp:// host:port,
 * closed at once: whether anything listens there.  Returns 0 (it does, or
 * the endpoint is of a kind not probed), or -errno of the connect. */
static int s_probe_once(const char *ep)
{
        int fd, r = 0;

        if (!strncmp(ep, "ipc://", 6)) {
                struct sockaddr_un un = { .sun_family = AF_UNIX };
                size_t n = strlen(ep + 6);
                if (n == 0 || n >= sizeof un.sun_path)
                        return 0;       /* zmq_connect() says what is wrong with it */
                memcpy(un.sun_path, ep + 6, n);
                if (un.sun_path[0] == '@')
                        un.sun_path[0] = '\0';
                if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
                        return 0;
                r = s_connect_within(fd, (struct sockaddr *)&un,
                                     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
                close(fd);
                return r;
        }
        if (strncmp(ep, "tcp://", 6))
                return 0;
        const char *addr = strchr(ep + 6, ';') ? strchr(ep + 6, ';') + 1 : ep + 6;
        const char *colon = strrchr(addr, ':');
        char host[256];
        size_t hl;
        if (!colon || colon == addr)
                return 0;
        hl = (size_t)(colon - addr);
        if (addr[0] == '[' && hl >= 2 && addr[hl - 1] == ']') {
                addr++;
                hl -= 2;
        }
        if (hl >= sizeof host)
                return 0;
        memcpy(host, addr, hl);
        host[hl] = '\0';
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
        if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
                return 0;       /* an interface name, say: ZeroMQ resolves it */
        if ((fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol)) >= 0) {
                r = s_connect_within(fd, res->ai_addr, res->ai_addrlen);
                close(fd);
        }
        freeaddrinfo(res);
        return r;
}

/* s_probe_once() again every PROBE_RETRY_MS while nothing listens, for up
 * to PROBE_MS in all (a daemon that is starting binds within that). */
static int s_probe(const char *ep)
{
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                int r = s_probe_once(ep);
                if (r != -ECONNREFUSED && r != -ENOENT)
                        return r;
                clock_gettime(CLOCK_MONOTONIC, &now);
                long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
                if (ms + PROBE_RETRY_MS > PROBE_MS)
                        return r;
                poll(NULL, 0, PROBE_RETRY_MS);
        }
}

/* Sends o->req on sock and waits up to o->timeout_ms for the reply.
 * Returns it (malloc'd, NUL-terminated, its length in *ret_len), or NULL
 * when none came (reported) or there is no memory. */
static char *s_ask(void *sock, linkwatch_t *w, const struct options *o, size_t *ret_len)
{
        zmq_send(sock, o->req, strlen(o->req), 0);
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                clock_gettime(CLOCK_MONOTONIC, &t);
                long left = o->timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 +
                                             (t.tv_nsec - t0.tv_nsec) / 1000000);
                zmq_pollitem_t it[2] = { { sock, 0, ZMQ_POLLIN, 0 },
                                         { linkwatch_socket(w), 0, ZMQ_POLLIN, 0 } };
                if (left <= 0 || zmq_poll(it, 2, left) < 0) {
                        fprintf(stderr, PROG ": no answer from darkdaqd at %s within %ld ms (is "
                                "it running, on that endpoint?)\n", o->endpoint, o->timeout_ms);
                        return NULL;
                }
                if (it[0].revents & ZMQ_POLLIN)
                        break;
                /* a refused handshake: the watch has said so (wrong server
                 * key?); waiting longer would only retry it */
                struct linkwatch_counters c;
                linkwatch_drain(w, 0);
                linkwatch_get_counters(w, &c);
                if (c.refused_auth || c.refused_protocol) {
                        fprintf(stderr, PROG ": no answer from %s: the handshake failed (%s)\n",
                                o->endpoint, c.refused_auth ? "darkdaqd does not allow this "
                                "client key" : "wrong server public key, or CURVE on one side "
                                "only");
                        return NULL;
                }
        }
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int n = zmq_msg_recv(&msg, sock, 0);
        if (n < 0) {
                fprintf(stderr, PROG ": receiving from %s: %s\n", o->endpoint,
                        zmq_strerror(zmq_errno()));
                zmq_msg_close(&msg);
                return NULL;
        }
        char *reply = malloc((size_t)n + 1);
        if (reply) {
                memcpy(reply, zmq_msg_data(&msg), (size_t)n);
                reply[n] = '\0';
                *ret_len = (size_t)n;
        }
        zmq_msg_close(&msg);
        return reply;
}

/* Prints the reply of n bytes: as it is with --json or when it is not JSON,
 * else its message and state.  Returns the exit status: 0 unless the
 * daemon's JSON says ok false. */
static int s_print_reply(const char *reply, size_t n, bool json)
{
        char ok[8] = "", state[32] = "", message[1024] = "";
        bool is_json = reply[0] == '{';
        if (is_json)
                s_member(reply, "ok", ok, sizeof ok);
        int rc = !is_json || !strcmp(ok, "true") ? 0 : 1;
        if (json || !is_json) {
                fputs(reply, stdout);
                if (n == 0 || reply[n - 1] != '\n')
                        fputc('\n', stdout);
        } else {
                s_member(reply, "state", state, sizeof state);
                s_member(reply, "message", message, sizeof message);
                fprintf(rc ? stderr : stdout, "%s%s (state %s)\n", rc ? PROG ": " : "", message,
                        state);
        }
        return rc;
}

/* One request and its reply.  Returns the exit status: 2 for an endpoint
 * or key that cannot be used, 1 for no answer, else s_print_reply()'s. */
static int s_run(const struct options *o)
{
        char aerr[512];
        void *ctx = zmq_ctx_new();
        void *sock = zmq_socket(ctx, ZMQ_REQ);
        int linger = 0, rc = 1, probe;
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
        linkwatch_t *w = NULL;
        if (linkwatch_new(&w, ctx, sock, PROG, "control", o->endpoint, 0) < 0) {
                fprintf(stderr, PROG ": cannot watch the control socket: %s\n",
                        zmq_strerror(zmq_errno()));
                rc = 1;
        } else if (auth_apply_client(sock, o->endpoint, &o->ac, aerr, sizeof aerr) < 0) {
                fprintf(stderr, PROG ": %s: %s\n", o->endpoint, aerr);
                rc = 2;
        } else if (zmq_connect(sock, o->endpoint) < 0) {
                fprintf(stderr, PROG ": cannot use endpoint %s: %s\n", o->endpoint,
                        zmq_strerror(zmq_errno()));
                rc = 2;
        } else if ((probe = s_probe(o->endpoint)) < 0) {
                if (probe == -EACCES || probe == -EPERM)
                        fprintf(stderr, PROG ": no answer from %s: %s (is this user in the "
                                "service's group, darkdaq?)\n", o->endpoint, strerror(-probe));
                else
                        fprintf(stderr, PROG ": no answer from %s: %s (is darkdaqd running, "
                                "on that endpoint?)\n", o->endpoint,
                                probe == -ETIMEDOUT ? "connect timed out" : strerror(-probe));
        } else {
                size_t n = 0;
                char *reply = s_ask(sock, w, o, &n);
                if (reply)
                        rc = s_print_reply(reply, n, o->json);
                free(reply);
        }
        linkwatch_free(w);
        zmq_close(sock);
        zmq_ctx_term(ctx);
        return rc;
}

int main(int argc, char **argv)
{
        struct options o;
        int r = s_parse_argv(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        return s_run(&o);
}
