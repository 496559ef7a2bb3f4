/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of auth: which endpoints are local, key files, and CURVE + ZAP on a
 * real REP socket (require_curve forces CURVE onto loopback, the only
 * network here): the listed key gets a reply, another key and a client
 * without CURVE get none, and the refusal is counted and logged. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "auth.h"
#include "check.h"

#define WAIT_MS 5000    /* bound on every wait for something that must happen */

TEST(endpoint_is_local)
{
        CHECK(auth_endpoint_is_local("ipc:///run/darkdaq/control"));
        CHECK(auth_endpoint_is_local("inproc://x"));
        CHECK(auth_endpoint_is_local("tcp://127.0.0.1:5555"));
        CHECK(auth_endpoint_is_local("tcp://127.3.2.1:5555"));
        CHECK(auth_endpoint_is_local("tcp://localhost:5555"));
        CHECK(auth_endpoint_is_local("tcp://LOCALHOST:5555"));
        CHECK(auth_endpoint_is_local("tcp://[::1]:5555"));
        CHECK(auth_endpoint_is_local("tcp://[::ffff:127.0.0.1]:5555"));
        CHECK(auth_endpoint_is_local("tcp://lo:5555"));
        CHECK(auth_endpoint_is_local("tcp://127.0.0.1:*"));
        CHECK(auth_endpoint_is_local("tcp://127.0.0.1:0;127.0.0.1:5555"));
        CHECK(!auth_endpoint_is_local("tcp://0.0.0.0:5555"));
        CHECK(!auth_endpoint_is_local("tcp://*:5555"));
        CHECK(!auth_endpoint_is_local("tcp://[::]:5555"));
        CHECK(!auth_endpoint_is_local("tcp://192.168.1.10:5555"));
        CHECK(!auth_endpoint_is_local("tcp://128.0.0.1:5555"));
        CHECK(!auth_endpoint_is_local("tcp://eth0:5555"));
        CHECK(!auth_endpoint_is_local("tcp://daq.example.org:5555"));
        CHECK(!auth_endpoint_is_local("tcp://localhost.example.org:5555"));
        CHECK(!auth_endpoint_is_local("tcp://127.0.0.1"));
        CHECK(!auth_endpoint_is_local("tcp://[::1"));
        CHECK(!auth_endpoint_is_local("tcp://10.0.0.1:0;127.0.0.1:5555"));
        CHECK(!auth_endpoint_is_local("tcp://127.0.0.1:0;10.0.0.1:5555"));
        CHECK(!auth_endpoint_is_local("pgm://127.0.0.1;239.192.1.1:5555"));
        CHECK(!auth_endpoint_is_local("ws://127.0.0.1:5555"));
        CHECK(!auth_endpoint_is_local("tcp://"));
        CHECK(!auth_endpoint_is_local(""));
        CHECK(!auth_endpoint_is_local(NULL));
}

/* Every local user reaches these without CURVE: loopback tcp and abstract
 * ipc; a socket file in a directory, inproc and the network do not count. */
TEST(endpoint_is_open_local)
{
        CHECK(auth_endpoint_is_open_local("tcp://127.0.0.1:5555"));
        CHECK(auth_endpoint_is_open_local("tcp://[::1]:5555"));
        CHECK(auth_endpoint_is_open_local("tcp://localhost:5555"));
        CHECK(auth_endpoint_is_open_local("ipc://@darkdaq"));
        CHECK(!auth_endpoint_is_open_local("ipc:///run/darkdaq/control"));
        CHECK(!auth_endpoint_is_open_local("inproc://x"));
        CHECK(!auth_endpoint_is_open_local("tcp://0.0.0.0:5555"));
        CHECK(!auth_endpoint_is_open_local("tcp://192.168.1.10:5555"));
        CHECK(!auth_endpoint_is_open_local(""));
        CHECK(!auth_endpoint_is_open_local(NULL));
}

/* A bound ipc socket becomes 0770 whatever the umask; other endpoints and
 * abstract sockets are left alone; a missing file is an error. */
TEST(chmod_ipc_makes_the_socket_0770)
{
        char dir[] = "/tmp/ddqauthXXXXXX", ep[64];
        struct stat st;
        REQUIRE(mkdtemp(dir) != NULL);
        snprintf(ep, sizeof ep, "ipc://%s/s", dir);
        mode_t old = umask(0027);
        void *z = zmq_ctx_new(), *s = zmq_socket(z, ZMQ_REP);
        REQUIRE(zmq_bind(s, ep) == 0);
        umask(old);
        REQUIRE(stat(ep + 6, &st) == 0);
        CHECK_EQ_U(st.st_mode & 07777, 0750);
        CHECK_EQ_I(auth_chmod_ipc(ep), 0);
        REQUIRE(stat(ep + 6, &st) == 0);
        CHECK_EQ_U(st.st_mode & 07777, 0770);
        CHECK_EQ_I(auth_chmod_ipc("tcp://127.0.0.1:5555"), 0);
        CHECK_EQ_I(auth_chmod_ipc("ipc://@darkdaq-test"), 0);
        zmq_close(s);
        zmq_ctx_term(z);
        unlink(ep + 6);
        CHECK_EQ_I(auth_chmod_ipc(ep), -ENOENT);
        rmdir(dir);
}

/* ---- helpers ---- */

struct keys {
        char dir[64];                   /* temporary directory */
        char path[12][128];             /* files made, removed by s_cleanup */
        int n;
};

static const char *s_path(struct keys *k, const char *name)
{
        char full[sizeof(k->path[0])];

        snprintf(full, sizeof(full), "%s/%s", k->dir, name);
        memcpy(k->path[k->n], full, sizeof(full));
        return k->path[k->n++];
}

static void s_write(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        if (f) {
                fputs(text, f);
                fclose(f);
        }
}

static void s_cleanup(struct keys *k)
{
        while (k->n > 0)
                unlink(k->path[--k->n]);
        rmdir(k->dir);
}

/* Makes NAME.key and NAME.pub in k->dir; pub gets the public key. */
static int s_pair(struct keys *k, const char *name, char pub[AUTH_KEY_Z85_LEN + 1])
{
        char sec[AUTH_KEY_Z85_LEN + 1], n1[64], n2[64], err[256];
        const char *p1, *p2;

        snprintf(n1, sizeof(n1), "%s.key", name);
        snprintf(n2, sizeof(n2), "%s.pub", name);
        p1 = s_path(k, n1);
        p2 = s_path(k, n2);
        if (auth_keygen(pub, sec) < 0)
                return -1;
        return auth_write_key_files(p1, p2, pub, sec, err, sizeof(err));
}

TEST(key_files)
{
        struct keys k = { .dir = "/tmp/darkdaq-auth-XXXXXX" };
        char pub[AUTH_KEY_Z85_LEN + 1], pub2[AUTH_KEY_Z85_LEN + 1], sec[AUTH_KEY_Z85_LEN + 1];
        char other_pub[AUTH_KEY_Z85_LEN + 1], other_sec[AUTH_KEY_Z85_LEN + 1], text[512];
        char err[256] = "";
        struct stat st;

        REQUIRE(mkdtemp(k.dir));
        REQUIRE_OK_ZERO(s_pair(&k, "a", pub));
        CHECK(stat(k.path[0], &st) == 0 && (st.st_mode & 0777) == 0600);
        CHECK(stat(k.path[1], &st) == 0 && (st.st_mode & 0777) == 0644);

        CHECK_OK_ZERO(auth_read_key_file(k.path[0], pub2, sec, err, sizeof(err)));
        CHECK_STR(pub2, pub);
        CHECK_OK_ZERO(auth_read_key_file(k.path[1], pub2, NULL, err, sizeof(err)));
        CHECK_STR(pub2, pub);
        /* a public key file has no secret */
        CHECK_ERRNO(auth_read_key_file(k.path[1], NULL, sec, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "no secret-key") != NULL);
        /* never overwritten */
        CHECK_ERRNO(auth_write_key_files(k.path[0], s_path(&k, "x.pub"), pub, sec, err,
                                         sizeof(err)), -EEXIST);
        CHECK(access(k.path[2], F_OK) != 0);

        /* a CZMQ zcert secret file reads as it is; the public key is derived
         * when only the secret is given */
        REQUIRE_OK_ZERO(auth_keygen(other_pub, other_sec));
        snprintf(text, sizeof(text),
                 "#   ****  Generated by CZMQ  ****\n#   ZeroMQ CURVE **Secret** Certificate\n"
                 "metadata\n    name = \"daq\"\ncurve\n    secret-key = \"%s\"\n", other_sec);
        s_write(s_path(&k, "z.key"), text);
        CHECK_OK_ZERO(auth_read_key_file(k.path[3], pub2, sec, err, sizeof(err)));
        CHECK_STR(pub2, other_pub);
        CHECK_STR(sec, other_sec);

        /* a public key that does not belong to the secret one */
        snprintf(text, sizeof(text), "public-key = \"%s\"\nsecret-key = \"%s\"\n", pub, other_sec);
        s_write(s_path(&k, "bad1.key"), text);
        CHECK_ERRNO(auth_read_key_file(k.path[4], pub2, sec, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "does not belong") != NULL);

        /* a short key, a stray line: the file and line are named */
        s_write(s_path(&k, "bad2.key"), "# c\npublic-key = abc\n");
        CHECK_ERRNO(auth_read_key_file(k.path[5], pub2, NULL, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "bad2.key:2:") != NULL);
        s_write(s_path(&k, "bad3.key"), "hello\n");
        CHECK_ERRNO(auth_read_key_file(k.path[6], pub2, NULL, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "bad3.key:1:") != NULL);
        /* Z85 characters whose first group exceeds 32 bits */
        snprintf(text, sizeof(text), "public-key = \"$%039d\"\n", 0);
        s_write(s_path(&k, "bad4.key"), text);
        CHECK_ERRNO(auth_read_key_file(k.path[7], pub2, NULL, err, sizeof(err)), -EINVAL);
        CHECK_ERRNO(auth_read_key_file("/nonexistent/x.key", pub2, NULL, err, sizeof(err)), -ENOENT);
        s_cleanup(&k);
}

TEST(config_errors)
{
        struct keys k = { .dir = "/tmp/darkdaq-auth-XXXXXX" };
        char pub[AUTH_KEY_Z85_LEN + 1], err[256] = "";
        void *ctx = zmq_ctx_new();
        auth_t *a, *x = NULL;

        REQUIRE(mkdtemp(k.dir));
        REQUIRE_OK_ZERO(s_pair(&k, "server", pub));
        REQUIRE_OK_ZERO(s_pair(&k, "client", pub));

        /* no keys: local endpoints only */
        REQUIRE_OK_ZERO(auth_new(&a, ctx, &(struct auth_config){ 0 }, err, sizeof(err)));
        void *s = zmq_socket(ctx, ZMQ_REP);
        CHECK_OK_ZERO(auth_apply_server(a, s, "tcp://127.0.0.1:5555", err, sizeof(err)));
        CHECK_OK_ZERO(auth_apply_server(a, s, "ipc:///tmp/x", err, sizeof(err)));
        CHECK_ERRNO(auth_apply_server(a, s, "tcp://0.0.0.0:5555", err, sizeof(err)), -EPERM);
        CHECK(strstr(err, "tcp://0.0.0.0:5555 is not local") != NULL);
        CHECK_ERRNO(auth_apply_server(NULL, s, "tcp://*:5555", err, sizeof(err)), -EPERM);
        CHECK_OK_ZERO(auth_apply_client(s, "tcp://127.0.0.1:5555", NULL, err, sizeof(err)));
        CHECK_ERRNO(auth_apply_client(s, "tcp://10.1.2.3:5555", NULL, err, sizeof(err)), -EPERM);
        CHECK_ERRNO(auth_apply_client(s, "tcp://10.1.2.3:5555",
                                      &(struct auth_client_config){ .client_key_file = k.path[2],
                                                                    .server_public_file = "/nonexistent" },
                                      err, sizeof(err)), -ENOENT);
        CHECK_EQ_I(auth_apply_client(s, "tcp://10.1.2.3:5555",
                                     &(struct auth_client_config){ .client_key_file = k.path[2],
                                                                   .server_public_file = k.path[1] },
                                     err, sizeof(err)), 1);
        zmq_close(s);
        a = auth_free(a);

        /* half a configuration */
        CHECK_FAIL(auth_new(&x, ctx, &(struct auth_config){ .server_key_file = k.path[0] }, err,
                            sizeof(err)));
        CHECK(strstr(err, "allowed_clients") != NULL);
        CHECK_FAIL(auth_new(&x, ctx, &(struct auth_config){ .allowed_clients = k.path[3] }, err,
                            sizeof(err)));
        CHECK_FAIL(auth_new(&x, ctx, &(struct auth_config){ .require_curve = true }, err,
                            sizeof(err)));
        /* a secret key among the allowed clients */
        CHECK_FAIL(auth_new(&x, ctx, &(struct auth_config){ .server_key_file = k.path[0],
                                                             .allowed_clients = k.path[2] }, err,
                            sizeof(err)));
        CHECK(strstr(err, "holds a secret key") != NULL);
        /* a directory with no key */
        char empty[96];
        snprintf(empty, sizeof(empty), "%s/empty", k.dir);
        REQUIRE(mkdir(empty, 0700) == 0);
        CHECK_FAIL(auth_new(&x, ctx, &(struct auth_config){ .server_key_file = k.path[0],
                                                             .allowed_clients = empty }, err,
                            sizeof(err)));
        CHECK(strstr(err, "no key listed") != NULL);
        rmdir(empty);

        /* a list file: zcert lines and bare keys; twice the same key counts
         * once; a 40-character comment is no key (no Z85 key begins '#') */
        char list[512];
        const char *lp = s_path(&k, "clients.txt");
        snprintf(list, sizeof(list), "# allowed\n%s\n\npublic-key = \"%s\"\n"
                 "#%039d\n", pub, pub, 0);
        s_write(lp, list);
        CHECK_OK_ZERO(auth_new(&a, ctx, &(struct auth_config){ .server_key_file = k.path[0],
                                                               .allowed_clients = lp },
                               err, sizeof(err)));
        CHECK_EQ_U(auth_allowed_count(a), 1);
        /* one ZAP handler per context */
        CHECK_FAIL(auth_new(&x, ctx, &(struct auth_config){ .server_key_file = k.path[0],
                                                             .allowed_clients = lp }, err,
                            sizeof(err)));
        CHECK(strstr(err, "zeromq.zap.01") != NULL);
        a = auth_free(a);
        CHECK(a == NULL);
        zmq_ctx_term(ctx);
        s_cleanup(&k);
}

/* A bare key line holding '=' (a Z85 character) is a key, not metadata:
 * such a client used to be dropped from the list without a word. */
TEST(bare_key_with_an_equals_sign_is_listed)
{
        struct keys k = { .dir = "/tmp/darkdaq-auth-XXXXXX" };
        char pub[AUTH_KEY_Z85_LEN + 1], sec[AUTH_KEY_Z85_LEN + 1], spub[AUTH_KEY_Z85_LEN + 1];
        char err[256] = "", list[128];
        void *ctx = zmq_ctx_new();
        int tries = 0;

        REQUIRE(mkdtemp(k.dir));
        REQUIRE_OK_ZERO(s_pair(&k, "server", spub));
        do {            /* about 4 keys in 10 hold an '=' */
                REQUIRE_OK_ZERO(auth_keygen(pub, sec));
        } while (!strchr(pub, '=') && ++tries < 1000);
        REQUIRE(strchr(pub, '=') != NULL);
        const char *lp = s_path(&k, "clients.txt");
        snprintf(list, sizeof(list), "%s\n", pub);
        s_write(lp, list);
        auth_t *a;
        REQUIRE_OK_ZERO(auth_new(&a, ctx, &(struct auth_config){ .server_key_file = k.path[0],
                                                                 .allowed_clients = lp },
                                 err, sizeof(err)));
        CHECK_EQ_U(auth_allowed_count(a), 1);
        a = auth_free(a);
        zmq_ctx_term(ctx);
        s_cleanup(&k);
}

/* Reads monitor events until one in mask arrives (true) or WAIT_MS passes. */
static bool s_wait_event(void *mon, int mask)
{
        for (;;) {
                zmq_pollitem_t it = { mon, 0, ZMQ_POLLIN, 0 };
                uint8_t ev[6];
                char addr[256];
                uint16_t id;

                if (zmq_poll(&it, 1, WAIT_MS) != 1)
                        return false;
                if (zmq_recv(mon, ev, sizeof(ev), 0) != 6)
                        return false;
                zmq_recv(mon, addr, sizeof(addr), 0);
                memcpy(&id, ev, sizeof(id));
                if (id & mask)
                        return true;
        }
}

static bool s_readable(void *sock, long timeout_ms)
{
        zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
        return zmq_poll(&it, 1, timeout_ms) == 1;
}

static void *s_req(void *ctx, const char *ep, const char *key_file, const char *server_pub)
{
        void *req = zmq_socket(ctx, ZMQ_REQ);
        int zero = 0, never = -1;
        char err[256];

        zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof(zero));
        /* one attempt, so that one refused client is one ZAP request */
        zmq_setsockopt(req, ZMQ_RECONNECT_IVL, &never, sizeof(never));
        if (key_file && auth_apply_client(req, ep,
                                          &(struct auth_client_config){ .client_key_file = key_file,
                                                                        .server_public_file = server_pub,
                                                                        .require_curve = true },
                                          err, sizeof(err)) != 1) {
                fprintf(stderr, "%s\n", err);
                zmq_close(req);
                return NULL;
        }
        zmq_connect(req, ep);
        return req;
}

TEST(curve_zap_allows_listed_key_only)
{
        struct keys k = { .dir = "/tmp/darkdaq-auth-XXXXXX" };
        char pub_s[AUTH_KEY_Z85_LEN + 1], pub_a[AUTH_KEY_Z85_LEN + 1], pub_b[AUTH_KEY_Z85_LEN + 1];
        char err[256] = "", ep[128], buf[64], clients[96], logpath[96], log[4096] = "";
        size_t eplen = sizeof(ep);
        int zero = 0, saved_stderr, logfd;
        void *ctx = zmq_ctx_new();

        REQUIRE(mkdtemp(k.dir));
        REQUIRE_OK_ZERO(s_pair(&k, "server", pub_s));   /* path 0, 1 */
        REQUIRE_OK_ZERO(s_pair(&k, "a", pub_a));        /* path 2, 3 */
        REQUIRE_OK_ZERO(s_pair(&k, "b", pub_b));        /* path 4, 5 */
        /* the allowed list is a directory holding a.pub */
        snprintf(clients, sizeof(clients), "%s/clients", k.dir);
        REQUIRE(mkdir(clients, 0700) == 0);
        const char *allowed_a = s_path(&k, "clients/a.pub");
        snprintf(buf, sizeof(buf), "public-key = \"%s\"\n", pub_a);
        s_write(allowed_a, buf);

        auth_t *a;
        REQUIRE_OK_ZERO(auth_new(&a, ctx, &(struct auth_config){ .server_key_file = k.path[0],
                                                                 .allowed_clients = clients,
                                                                 .require_curve = true,
                                                                 .log_name = "test_auth" },
                                 err, sizeof(err)));
        CHECK_EQ_U(auth_allowed_count(a), 1);

        void *rep = zmq_socket(ctx, ZMQ_REP);
        zmq_setsockopt(rep, ZMQ_LINGER, &zero, sizeof(zero));
        CHECK_EQ_I(auth_apply_server(a, rep, "tcp://127.0.0.1:*", err, sizeof(err)), 1);
        REQUIRE(zmq_bind(rep, "tcp://127.0.0.1:*") == 0);
        zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, ep, &eplen);
        REQUIRE(zmq_socket_monitor(rep, "inproc://test-auth-mon", ZMQ_EVENT_ALL) == 0);
        void *mon = zmq_socket(ctx, ZMQ_PAIR);
        REQUIRE(zmq_connect(mon, "inproc://test-auth-mon") == 0);

        /* client A: listed */
        void *ca = s_req(ctx, ep, k.path[2], k.path[1]);
        REQUIRE(ca);
        CHECK_EQ_I(zmq_send(ca, "ping", 4, 0), 4);
        CHECK(s_readable(rep, WAIT_MS));
        CHECK_EQ_I(zmq_recv(rep, buf, sizeof(buf), ZMQ_DONTWAIT), 4);
        CHECK_EQ_I(zmq_send(rep, "pong", 4, 0), 4);
        CHECK(s_readable(ca, WAIT_MS));
        CHECK(zmq_recv(ca, buf, sizeof(buf), ZMQ_DONTWAIT) == 4 && memcmp(buf, "pong", 4) == 0);
        CHECK_EQ_U(auth_refusals(a), 0);
        zmq_close(ca);

        /* client B: a valid key pair, not listed.  Its refusal is logged to
         * stderr, caught in a file here. */
        snprintf(logpath, sizeof(logpath), "%s/stderr.log", k.dir);
        s_path(&k, "stderr.log");
        logfd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
        REQUIRE(logfd >= 0);
        fflush(stderr);
        saved_stderr = dup(2);
        dup2(logfd, 2);
        void *cb = s_req(ctx, ep, k.path[4], k.path[1]);
        REQUIRE(cb);
        CHECK_EQ_I(zmq_send(cb, "ping", 4, 0), 4);
        /* the server fails the handshake after the ZAP reply */
        CHECK(s_wait_event(mon, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));
        fflush(stderr);
        dup2(saved_stderr, 2);
        close(saved_stderr);
        CHECK(pread(logfd, log, sizeof(log) - 1, 0) > 0);
        close(logfd);
        CHECK(!s_readable(cb, 200));
        CHECK(!s_readable(rep, 0));
        CHECK_EQ_U(auth_refusals(a), 1);
        CHECK(strstr(log, "test_auth: auth: refused CURVE connection from 127.0.0.1 key ") != NULL);
        CHECK(strstr(log, pub_b) != NULL);
        zmq_close(cb);

        /* a client without CURVE: the mechanisms differ, no ZAP request */
        void *cn = s_req(ctx, ep, NULL, NULL);
        REQUIRE(cn);
        CHECK_EQ_I(zmq_send(cn, "ping", 4, 0), 4);
        CHECK(s_wait_event(mon, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL));
        CHECK(!s_readable(cn, 200));
        CHECK(!s_readable(rep, 0));
        CHECK_EQ_U(auth_refusals(a), 1);
        zmq_close(cn);

        /* A again: still served */
        ca = s_req(ctx, ep, k.path[2], k.path[1]);
        REQUIRE(ca);
        CHECK_EQ_I(zmq_send(ca, "ping", 4, 0), 4);
        CHECK(s_readable(rep, WAIT_MS));
        CHECK_EQ_I(zmq_recv(rep, buf, sizeof(buf), ZMQ_DONTWAIT), 4);
        zmq_close(ca);

        zmq_socket_monitor(rep, NULL, 0);
        zmq_close(mon);
        zmq_close(rep);
        a = auth_free(a);
        zmq_ctx_term(ctx);
        rmdir(clients);
        s_cleanup(&k);
}

/* A CURVE client socket of type type on ep, one connection attempt. */
static void *s_client(void *ctx, int type, const char *ep, const char *key_file,
                      const char *server_pub)
{
        void *c = zmq_socket(ctx, type);
        int zero = 0, never = -1;
        char err[256];

        zmq_setsockopt(c, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_setsockopt(c, ZMQ_RECONNECT_IVL, &never, sizeof(never));
        if (auth_apply_client(c, ep, &(struct auth_client_config){ .client_key_file = key_file,
                                                                   .server_public_file = server_pub,
                                                                   .require_curve = true },
                              err, sizeof(err)) != 1) {
                fprintf(stderr, "%s\n", err);
                zmq_close(c);
                return NULL;
        }
        zmq_connect(c, ep);
        return c;
}

/* A served socket of role role on loopback, with a monitor of its events. */
static void *s_served(void *ctx, auth_t *a, int type, enum auth_role role, const char *mon_ep,
                      void **mon, char *ep, size_t eplen)
{
        char err[256];
        int zero = 0;
        void *s = zmq_socket(ctx, type);

        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
        if (auth_apply_server_role(a, s, "tcp://127.0.0.1:*", role, err, sizeof(err)) != 1 ||
            zmq_bind(s, "tcp://127.0.0.1:*") != 0) {
                zmq_close(s);
                return NULL;
        }
        zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &eplen);
        zmq_socket_monitor(s, mon_ep, ZMQ_EVENT_ALL);
        *mon = zmq_socket(ctx, ZMQ_PAIR);
        zmq_connect(*mon, mon_ep);
        return s;
}

/* Keys allowed on one kind of socket only: a monitor's key cannot reach the
 * control socket, a control key not the monitor stream; allowed_clients'
 * keys reach both. */
TEST(per_socket_client_lists)
{
        struct keys k = { .dir = "/tmp/darkdaq-auth-XXXXXX" };
        char pub_s[AUTH_KEY_Z85_LEN + 1], pub_c[AUTH_KEY_Z85_LEN + 1];
        char pub_m[AUTH_KEY_Z85_LEN + 1], pub_all[AUTH_KEY_Z85_LEN + 1];
        char err[256] = "", ep[128], mep[128], buf[96];
        void *ctx = zmq_ctx_new(), *mon_c, *mon_m;

        REQUIRE(mkdtemp(k.dir));
        REQUIRE_OK_ZERO(s_pair(&k, "server", pub_s));   /* path 0, 1 */
        REQUIRE_OK_ZERO(s_pair(&k, "ctl", pub_c));      /* path 2, 3 */
        REQUIRE_OK_ZERO(s_pair(&k, "mon", pub_m));      /* path 4, 5 */
        REQUIRE_OK_ZERO(s_pair(&k, "all", pub_all));    /* path 6, 7 */
        const char *control = s_path(&k, "control.list");
        const char *monitor = s_path(&k, "monitor.list");
        const char *every = s_path(&k, "every.list");
        snprintf(buf, sizeof(buf), "public-key = \"%s\"\n", pub_c);
        s_write(control, buf);
        snprintf(buf, sizeof(buf), "public-key = \"%s\"\n", pub_m);
        s_write(monitor, buf);
        snprintf(buf, sizeof(buf), "public-key = \"%s\"\n", pub_all);
        s_write(every, buf);
        auth_t *a;
        REQUIRE_OK_ZERO(auth_new(&a, ctx, &(struct auth_config){ .server_key_file = k.path[0],
                                                                 .allowed_clients = every,
                                                                 .control_clients = control,
                                                                 .monitor_clients = monitor,
                                                                 .require_curve = true,
                                                                 .log_name = "test_auth" },
                                 err, sizeof(err)));
        CHECK_EQ_U(auth_allowed_count(a), 3);

        void *rep = s_served(ctx, a, ZMQ_REP, AUTH_ROLE_CONTROL, "inproc://roles-c", &mon_c, ep,
                             sizeof(ep));
        void *xpub = s_served(ctx, a, ZMQ_XPUB, AUTH_ROLE_MONITOR, "inproc://roles-m", &mon_m,
                              mep, sizeof(mep));
        REQUIRE(rep && xpub);
        /* control: its own key and allowed_clients' key are served */
        for (int i = 0; i < 2; i++) {
                void *c = s_client(ctx, ZMQ_REQ, ep, k.path[i ? 6 : 2], k.path[1]);
                REQUIRE(c);
                CHECK_EQ_I(zmq_send(c, "ping", 4, 0), 4);
                CHECK(s_readable(rep, WAIT_MS));
                CHECK_EQ_I(zmq_recv(rep, buf, sizeof(buf), ZMQ_DONTWAIT), 4);
                CHECK_EQ_I(zmq_send(rep, "pong", 4, 0), 4);
                CHECK(s_readable(c, WAIT_MS));
                zmq_close(c);
        }
        CHECK_EQ_U(auth_refusals(a), 0);
        /* ... the monitor's key gets there too, marked status-only in its
         * User-Id, so that the control socket refuses all but status */
        int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
        fflush(stderr);
        dup2(devnull, 2);
        void *cm = s_client(ctx, ZMQ_REQ, ep, k.path[4], k.path[1]);
        REQUIRE(cm);
        CHECK_EQ_I(zmq_send(cm, "stop", 4, 0), 4);
        CHECK(s_readable(rep, WAIT_MS));
        zmq_msg_t req;
        zmq_msg_init(&req);
        CHECK_EQ_I(zmq_msg_recv(&req, rep, ZMQ_DONTWAIT), 4);
        const char *uid = zmq_msg_gets(&req, "User-Id");
        CHECK(uid && !strncmp(uid, AUTH_STATUS_ONLY, strlen(AUTH_STATUS_ONLY)) &&
              !strcmp(uid + strlen(AUTH_STATUS_ONLY), pub_m));
        zmq_msg_close(&req);
        CHECK_EQ_I(zmq_send(rep, "no", 2, 0), 2);
        CHECK(s_readable(cm, WAIT_MS));
        CHECK_EQ_U(auth_refusals(a), 0);
        zmq_close(cm);
        /* monitor: the monitor's key subscribes (the XPUB sees it) */
        void *sm = s_client(ctx, ZMQ_SUB, mep, k.path[4], k.path[1]);
        REQUIRE(sm);
        zmq_setsockopt(sm, ZMQ_SUBSCRIBE, "all", 3);
        CHECK(s_readable(xpub, WAIT_MS));
        CHECK_EQ_I(zmq_recv(xpub, buf, sizeof(buf), ZMQ_DONTWAIT), 4);    /* \x01all */
        zmq_close(sm);
        /* ... the control key does not */
        void *sc = s_client(ctx, ZMQ_SUB, mep, k.path[2], k.path[1]);
        REQUIRE(sc);
        zmq_setsockopt(sc, ZMQ_SUBSCRIBE, "all", 3);
        CHECK(s_wait_event(mon_m, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));
        CHECK_EQ_U(auth_refusals(a), 1);
        zmq_close(sc);
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        close(devnull);

        zmq_socket_monitor(rep, NULL, 0);
        zmq_socket_monitor(xpub, NULL, 0);
        zmq_close(mon_c);
        zmq_close(mon_m);
        zmq_close(rep);
        zmq_close(xpub);
        a = auth_free(a);
        zmq_ctx_term(ctx);
        s_cleanup(&k);
}

/* SIGHUP's reload of the client lists: a key added to the directory is
 * served from then on, one removed is refused, a list that does not read
 * changes nothing and says where. */
TEST(client_lists_reload)
{
        struct keys k = { .dir = "/tmp/darkdaq-auth-XXXXXX" };
        char pub_s[AUTH_KEY_Z85_LEN + 1], pub_a[AUTH_KEY_Z85_LEN + 1], pub_b[AUTH_KEY_Z85_LEN + 1];
        char err[256] = "", ep[128], buf[96], clients[96], msg[256];
        void *ctx = zmq_ctx_new(), *mon;

        REQUIRE(mkdtemp(k.dir));
        REQUIRE_OK_ZERO(s_pair(&k, "server", pub_s));   /* path 0, 1 */
        REQUIRE_OK_ZERO(s_pair(&k, "a", pub_a));        /* path 2, 3 */
        REQUIRE_OK_ZERO(s_pair(&k, "b", pub_b));        /* path 4, 5 */
        snprintf(clients, sizeof(clients), "%s/clients", k.dir);
        REQUIRE(mkdir(clients, 0700) == 0);
        const char *allowed_a = s_path(&k, "clients/a.pub");    /* path 6 */
        const char *allowed_b = s_path(&k, "clients/b.pub");    /* path 7 */
        const char *junk = s_path(&k, "clients/junk.pub");      /* path 8 */
        snprintf(buf, sizeof(buf), "public-key = \"%s\"\n", pub_a);
        s_write(allowed_a, buf);
        struct auth_config cfg = { .server_key_file = k.path[0], .allowed_clients = clients,
                                   .require_curve = true, .log_name = "test_auth" };
        auth_t *a;
        REQUIRE_OK_ZERO(auth_new(&a, ctx, &cfg, err, sizeof(err)));
        void *rep = s_served(ctx, a, ZMQ_REP, AUTH_ROLE_CONTROL, "inproc://reload-c", &mon, ep,
                             sizeof(ep));
        REQUIRE(rep);
        int saved = dup(2), devnull = open("/dev/null", O_WRONLY);

        /* nothing changed on disk: nothing to say */
        CHECK_EQ_I(auth_reload_clients(a, &cfg, msg, sizeof(msg)), 0);
        /* b is refused until its key is in the directory and a reload ran */
        fflush(stderr);
        dup2(devnull, 2);
        void *cb = s_client(ctx, ZMQ_REQ, ep, k.path[4], k.path[1]);
        REQUIRE(cb);
        CHECK_EQ_I(zmq_send(cb, "ping", 4, 0), 4);
        CHECK(s_wait_event(mon, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));
        zmq_close(cb);
        fflush(stderr);
        dup2(saved, 2);
        snprintf(buf, sizeof(buf), "public-key = \"%s\"\n", pub_b);
        s_write(allowed_b, buf);
        CHECK_EQ_I(auth_reload_clients(a, &cfg, msg, sizeof(msg)), 1);
        CHECK(strstr(msg, "allowed client keys 1 -> 2") != NULL);
        CHECK_EQ_U(auth_allowed_count(a), 2);
        cb = s_client(ctx, ZMQ_REQ, ep, k.path[4], k.path[1]);
        REQUIRE(cb);
        CHECK_EQ_I(zmq_send(cb, "ping", 4, 0), 4);
        CHECK(s_readable(rep, WAIT_MS));
        CHECK_EQ_I(zmq_recv(rep, buf, sizeof(buf), ZMQ_DONTWAIT), 4);
        CHECK_EQ_I(zmq_send(rep, "pong", 4, 0), 4);
        CHECK(s_readable(cb, WAIT_MS));
        zmq_close(cb);
        /* a list that does not read: named, and the keys in force stay */
        s_write(junk, "public-key = \"not a key\"\n");
        CHECK(auth_reload_clients(a, &cfg, msg, sizeof(msg)) < 0);
        CHECK(strstr(msg, "junk.pub:1") != NULL);
        CHECK_EQ_U(auth_allowed_count(a), 2);
        unlink(junk);
        /* a removed: refused from the next connection on */
        unlink(allowed_a);
        CHECK_EQ_I(auth_reload_clients(a, &cfg, msg, sizeof(msg)), 1);
        CHECK_EQ_U(auth_allowed_count(a), 1);
        uint64_t before = auth_refusals(a);
        fflush(stderr);
        dup2(devnull, 2);
        void *ca = s_client(ctx, ZMQ_REQ, ep, k.path[2], k.path[1]);
        REQUIRE(ca);
        CHECK_EQ_I(zmq_send(ca, "ping", 4, 0), 4);
        CHECK(s_wait_event(mon, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));
        CHECK_EQ_U(auth_refusals(a), before + 1);
        zmq_close(ca);
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        close(devnull);

        zmq_socket_monitor(rep, NULL, 0);
        zmq_close(mon);
        zmq_close(rep);
        a = auth_free(a);
        zmq_ctx_term(ctx);
        rmdir(clients);
        s_cleanup(&k);
}

TEST(local_sockets_stay_open_beside_curve)
{
        struct keys k = { .dir = "/tmp/darkdaq-auth-XXXXXX" };
        char pub[AUTH_KEY_Z85_LEN + 1], err[256] = "", ep[128], buf[16];
        size_t eplen = sizeof(ep);
        int zero = 0;
        void *ctx = zmq_ctx_new();

        REQUIRE(mkdtemp(k.dir));
        REQUIRE_OK_ZERO(s_pair(&k, "server", pub));
        REQUIRE_OK_ZERO(s_pair(&k, "a", pub));
        auth_t *a;
        REQUIRE_OK_ZERO(auth_new(&a, ctx, &(struct auth_config){ .server_key_file = k.path[0],
                                                                 .allowed_clients = k.path[3] },
                                 err, sizeof(err)));
        void *rep = zmq_socket(ctx, ZMQ_REP);
        zmq_setsockopt(rep, ZMQ_LINGER, &zero, sizeof(zero));
        CHECK_OK_ZERO(auth_apply_server(a, rep, "tcp://127.0.0.1:*", err, sizeof(err)));
        REQUIRE(zmq_bind(rep, "tcp://127.0.0.1:*") == 0);
        zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, ep, &eplen);
        void *req = s_req(ctx, ep, NULL, NULL);
        CHECK_EQ_I(zmq_send(req, "hi", 2, 0), 2);
        CHECK(s_readable(rep, WAIT_MS));
        CHECK_EQ_I(zmq_recv(rep, buf, sizeof(buf), ZMQ_DONTWAIT), 2);
        CHECK_EQ_U(auth_refusals(a), 0);
        /* a wildcard bind gets CURVE without being asked */
        void *pub_sock = zmq_socket(ctx, ZMQ_PUB);
        CHECK_EQ_I(auth_apply_server(a, pub_sock, "tcp://*:0", err, sizeof(err)), 1);
        int is_server = 0;
        size_t len = sizeof(is_server);
        CHECK(zmq_getsockopt(pub_sock, ZMQ_CURVE_SERVER, &is_server, &len) == 0 && is_server == 1);
        zmq_close(pub_sock);
        zmq_close(req);
        zmq_close(rep);
        auth_free(a);
        zmq_ctx_term(ctx);
        s_cleanup(&k);
}

TEST_MAIN()
