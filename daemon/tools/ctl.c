/* SPDX-License-Identifier: Apache-2.0 */
/* darkdaq-ctl: run control from the shell.  Sends one command to darkdaqd's
 * control socket (REQ), waits a bounded time for the reply, and prints it for
 * people (status as a table) or as the daemon's JSON with --json.  With
 * --client-key and --server-key it speaks CURVE (auth.h), as a non-local
 * endpoint needs. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "auth.h"

#define PROG "darkdaq-ctl"

static void s_usage(FILE *f)
{
        fputs("usage: " PROG " [--endpoint E] [--json] [--timeout-ms T]\n"
              "                   [--client-key FILE --server-key FILE [--require-curve]] COMMAND\n"
              "Run control of darkdaqd.  COMMAND is one of\n"
              "  configure         open the configured sources (idle -> configured)\n"
              "  start [--run N [--force]]\n"
              "                    start run N (default: one more than the last, from 1);\n"
              "                    N not after the last run started needs --force\n"
              "  stop              stop the run; waits until the store confirms the trailer\n"
              "  status            state, sources, builder, tags, storage (a table)\n"
              "  reset             stop if running, close the sources (any -> idle)\n"
              "Repeating a command is safe: it answers ok and changes nothing.\n"
              "\n"
              "  -e, --endpoint E    the control socket (default tcp://127.0.0.1:5555)\n"
              "  -j, --json          print the daemon's JSON reply as it is\n"
              "  -t, --timeout-ms T  wait this long for the reply (default 15000: a stop\n"
              "                      waits up to stop_timeout_ms for the store)\n"
              "  -k, --client-key FILE\n"
              "                      this client's secret key file (darkdaq-keygen NAME:\n"
              "                      NAME.key); its NAME.pub must be in darkdaqd's [auth]\n"
              "                      allowed_clients\n"
              "  -s, --server-key FILE\n"
              "                      darkdaqd's public key file (the .pub of its\n"
              "                      server_key)\n"
              "      --require-curve CURVE on a local endpoint too (for darkdaqd's\n"
              "                      require_curve = yes); a non-local endpoint always\n"
              "                      uses it\n"
              "  -h, --help          this text\n"
              "  -V, --version       the version\n"
              "\n"
              "Exit status: 0 done, 1 refused or failed (the message says why) or no answer\n"
              "within the timeout (also what a key darkdaqd does not allow gets), 2 usage\n"
              "error, including a key file that cannot be used.\n", f);
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
        long timeout_ms;                /* wait this long for the reply */
        struct auth_client_config ac;   /* CURVE keys, if any */
        char req[256];                  /* the request to send */
};

/* The command and its arguments (argv[0..argc-1]) as the request to send.
 * Returns 0, or -EINVAL after a usage error (reported). */
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
        if (!strcmp(cmd, "start") && argc > 1) {
                unsigned long run;
                bool force = argc == 4 && !strcmp(argv[3], "--force");
                if ((argc != 3 && !force) || strcmp(argv[1], "--run"))
                        return s_usage_error("start takes only --run N [--force]");
                errno = 0;
                run = strtoul(argv[2], &end, 10);
                if (errno || *end || argv[2][0] == '-' || run > 4294967295ul)
                        return s_usage_error("--run: a run number 0..4294967295");
                snprintf(o->req, sizeof o->req, "start --run %lu%s", run, force ? " --force" : "");
        } else if (argc != 1) {
                return s_usage_error("unexpected argument after the command");
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
                { "server-key", required_argument, NULL, 's' },
                { "require-curve", no_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { 0 },
        };
        char *end;
        int c;

        *o = (struct options){ .endpoint = "tcp://127.0.0.1:5555", .timeout_ms = 15000 };
        while ((c = getopt_long(argc, argv, "+e:jt:k:s:hV", opts, NULL)) != -1) {
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
        int r = s_parse_command(argc - optind, argv + optind, o);
        return r < 0 ? r : 1;
}

/* Sends o->req on sock and waits up to o->timeout_ms for the reply.
 * Returns it (malloc'd, NUL-terminated, its length in *ret_len), or NULL
 * when none came (reported) or there is no memory. */
static char *s_ask(void *sock, const struct options *o, size_t *ret_len)
{
        zmq_send(sock, o->req, strlen(o->req), 0);
        zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, o->timeout_ms) <= 0) {
                fprintf(stderr, PROG ": no answer from darkdaqd at %s within %ld ms (is it "
                        "running, on that endpoint?)\n", o->endpoint, o->timeout_ms);
                return NULL;
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
        int linger = 0, rc = 1;
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
        if (auth_apply_client(sock, o->endpoint, &o->ac, aerr, sizeof aerr) < 0) {
                fprintf(stderr, PROG ": %s: %s\n", o->endpoint, aerr);
                rc = 2;
        } else if (zmq_connect(sock, o->endpoint) < 0) {
                fprintf(stderr, PROG ": cannot use endpoint %s: %s\n", o->endpoint,
                        zmq_strerror(zmq_errno()));
                rc = 2;
        } else {
                size_t n = 0;
                char *reply = s_ask(sock, o, &n);
                if (reply)
                        rc = s_print_reply(reply, n, o->json);
                free(reply);
        }
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
