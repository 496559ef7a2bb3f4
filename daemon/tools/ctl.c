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
              "  start [--run N]   start run N (default: one more than the last, from 1)\n"
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

static int s_usage_error(const char *what)
{
        fprintf(stderr, PROG ": %s\nTry '" PROG " --help'.\n", what);
        return 2;
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

int main(int argc, char **argv)
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
        const char *endpoint = "tcp://127.0.0.1:5555";
        bool json = false;
        struct auth_client_config ac = { 0 };
        char aerr[512];
        long timeout_ms = 15000;
        char req[256], *end;
        int c;

        while ((c = getopt_long(argc, argv, "+e:jt:k:s:hV", opts, NULL)) != -1) {
                switch (c) {
                case 'e':
                        endpoint = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 't':
                        errno = 0;
                        timeout_ms = strtol(optarg, &end, 10);
                        if (errno || *end || timeout_ms <= 0 || timeout_ms > 86400000)
                                return s_usage_error("--timeout-ms: a number of milliseconds, "
                                                     "1..86400000");
                        break;
                case 'k':
                        ac.client_key_file = optarg;
                        break;
                case 's':
                        ac.server_public_file = optarg;
                        break;
                case 'c':
                        ac.require_curve = true;
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
        if (optind >= argc)
                return s_usage_error("a command is needed: configure, start, stop, status, reset");
        const char *cmd = argv[optind];
        if (strcmp(cmd, "configure") && strcmp(cmd, "start") && strcmp(cmd, "stop") &&
            strcmp(cmd, "status") && strcmp(cmd, "reset")) {
                fprintf(stderr, PROG ": unknown command \"%s\"\n", cmd);
                return s_usage_error("commands: configure, start [--run N], stop, status, reset");
        }
        if (!strcmp(cmd, "start") && optind + 1 < argc) {
                unsigned long run;
                if (optind + 3 != argc || strcmp(argv[optind + 1], "--run"))
                        return s_usage_error("start takes only --run N");
                errno = 0;
                run = strtoul(argv[optind + 2], &end, 10);
                if (errno || *end || argv[optind + 2][0] == '-' || run > 4294967295ul)
                        return s_usage_error("--run: a run number 0..4294967295");
                snprintf(req, sizeof req, "start --run %lu", run);
        } else if (optind + 1 != argc) {
                return s_usage_error("unexpected argument after the command");
        } else if (!strcmp(cmd, "status") && !json) {
                snprintf(req, sizeof req, "status --text");
        } else {
                snprintf(req, sizeof req, "%s", cmd);
        }

        void *ctx = zmq_ctx_new();
        void *sock = zmq_socket(ctx, ZMQ_REQ);
        int linger = 0, rc = 1;
        zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
        if (auth_apply_client(sock, endpoint, &ac, aerr, sizeof aerr) < 0) {
                fprintf(stderr, PROG ": %s: %s\n", endpoint, aerr);
                zmq_close(sock);
                zmq_ctx_term(ctx);
                return 2;
        }
        if (zmq_connect(sock, endpoint) < 0) {
                fprintf(stderr, PROG ": cannot use endpoint %s: %s\n", endpoint,
                        zmq_strerror(zmq_errno()));
                zmq_close(sock);
                zmq_ctx_term(ctx);
                return 2;
        }
        zmq_send(sock, req, strlen(req), 0);
        zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, timeout_ms) <= 0) {
                fprintf(stderr, PROG ": no answer from darkdaqd at %s within %ld ms (is it "
                        "running, on that endpoint?)\n", endpoint, timeout_ms);
                goto out;
        }
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int n = zmq_msg_recv(&msg, sock, 0);
        if (n < 0) {
                fprintf(stderr, PROG ": receiving from %s: %s\n", endpoint,
                        zmq_strerror(zmq_errno()));
                zmq_msg_close(&msg);
                goto out;
        }
        char *reply = malloc((size_t)n + 1);
        if (!reply) {
                zmq_msg_close(&msg);
                goto out;
        }
        memcpy(reply, zmq_msg_data(&msg), (size_t)n);
        reply[n] = '\0';
        zmq_msg_close(&msg);
        char ok[8] = "", state[32] = "", message[1024] = "";
        bool is_json = reply[0] == '{';
        if (is_json)
                s_member(reply, "ok", ok, sizeof ok);
        rc = !is_json || !strcmp(ok, "true") ? 0 : 1;
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
        free(reply);
out:
        zmq_close(sock);
        zmq_ctx_term(ctx);
        return rc;
}
