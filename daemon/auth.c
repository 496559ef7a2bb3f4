/* SPDX-License-Identifier: Apache-2.0 */
/* auth: CURVE keys and the ZAP handler for darkdaq's non-local sockets.
 * Owns the keys read from the configuration and one thread answering ZAP
 * requests; it never touches the sockets it protects after configuring them. */
#include "auth.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"

#define KEY_BYTES       32
#define ZAP_ENDPOINT    "inproc://zeromq.zap.01"
#define ZAP_FRAMES      7       /* version, id, domain, address, identity, mechanism, key */
#define ZAP_FRAME_MAX   256

typedef uint8_t key_t32[KEY_BYTES];

struct auth {
        void *ctx;                      /* the ZeroMQ context, not owned */
        bool require_curve;             /* CURVE on local endpoints too */
        bool have_keys;                 /* server secret key and client list read */
        char secret_z85[AUTH_KEY_Z85_LEN + 1];  /* this server's secret key */
        pthread_mutex_t keys_lock;      /* guards allowed, roles, n_allowed, cap_allowed
                                         * once the ZAP thread runs (auth_reload_clients) */
        bool keys_lock_init;
        key_t32 *allowed;               /* client public keys, binary */
        uint8_t *roles;                 /* per key: bit r, it may reach sockets of role r */
        uint8_t adding_roles;           /* the roles of the list being read */
        size_t n_allowed;               /* entries in allowed */
        size_t cap_allowed;             /* allocated entries */
        char log_name[64];              /* prefix of log lines */
        void *zap;                      /* REP on ZAP_ENDPOINT, used by the thread only */
        void *pipe_main;                /* PAIR, the stop request is sent here */
        void *pipe_thread;              /* PAIR, the thread's end */
        pthread_t thread;               /* the ZAP handler */
        bool thread_started;            /* thread is joinable */
        _Atomic uint64_t refusals;      /* ZAP requests answered 400 */
        /* rate limit of refusal log lines (ZAP thread only) */
        uint64_t log_window_ms;         /* start of the current window, CLOCK_MONOTONIC */
        unsigned log_lines;             /* lines logged in the window */
        uint64_t log_suppressed;        /* lines not logged since the last one logged */
};

static const char Z85_CHARS[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

static void s_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void s_err(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;

        if (!err || !errlen)
                return;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
}

/* ---- endpoints ---- */

static bool s_host_is_loopback(const char *host, size_t len)
{
        char buf[INET6_ADDRSTRLEN + 8];
        struct in_addr a4;
        struct in6_addr a6;

        if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
                host++;
                len -= 2;
        }
        if (len == 0 || len >= sizeof(buf))
                return false;
        memcpy(buf, host, len);
        buf[len] = '\0';
        if (strcasecmp(buf, "localhost") == 0 || strcmp(buf, "lo") == 0)
                return true;
        if (inet_pton(AF_INET, buf, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, buf, &a6) == 1) {
                if (IN6_IS_ADDR_LOOPBACK(&a6))
                        return true;
                return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
        }
        return false;
}

/* One "HOST:PORT" of a tcp endpoint. */
static bool s_tcp_addr_is_loopback(const char *s, size_t len)
{
        const char *colon = NULL;

        if (len > 0 && s[0] == '[') {
                const char *close = memchr(s, ']', len);
                if (!close || close + 1 >= s + len || close[1] != ':')
                        return false;
                return s_host_is_loopback(s, (size_t)(close - s) + 1);
        }
        for (size_t i = 0; i < len; i++)
                if (s[i] == ':')
                        colon = s + i;
        if (!colon)
                return false;
        return s_host_is_loopback(s, (size_t)(colon - s));
}

bool auth_endpoint_is_local(const char *endpoint)
{
        const char *addr, *semi;

        if (!endpoint)
                return false;
        if (strncmp(endpoint, "ipc://", 6) == 0 || strncmp(endpoint, "inproc://", 9) == 0)
                return true;
        if (strncmp(endpoint, "tcp://", 6) != 0)
                return false;
        addr = endpoint + 6;
        semi = strchr(addr, ';');
        if (semi)
                return s_tcp_addr_is_loopback(addr, (size_t)(semi - addr)) &&
                       s_tcp_addr_is_loopback(semi + 1, strlen(semi + 1));
        return s_tcp_addr_is_loopback(addr, strlen(addr));
}

bool auth_endpoint_is_open_local(const char *endpoint)
{
        if (!endpoint)
                return false;
        if (strncmp(endpoint, "ipc://@", 7) == 0)
                return true;
        return strncmp(endpoint, "tcp://", 6) == 0 && auth_endpoint_is_local(endpoint);
}

int auth_chmod_ipc(const char *endpoint)
{
        if (!endpoint || strncmp(endpoint, "ipc://", 6) || !endpoint[6] || endpoint[6] == '@')
                return 0;
        return chmod(endpoint + 6, 0770) < 0 ? -errno : 0;
}

/* ---- key files ---- */

/* 40 characters of the Z85 alphabet that decode (no group above 2^32 - 1). */
static bool s_is_z85_key(const char *s, size_t len)
{
        char copy[AUTH_KEY_Z85_LEN + 1];
        uint8_t bin[KEY_BYTES];

        if (len != AUTH_KEY_Z85_LEN)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!s[i] || !strchr(Z85_CHARS, s[i]))
                        return false;
        memcpy(copy, s, len);
        copy[len] = '\0';
        return zmq_z85_decode(bin, copy) != NULL;
}

static char *s_trim(char *s)
{
        char *end;

        while (*s == ' ' || *s == '\t')
                s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
                *--end = '\0';
        return s;
}

enum key_kind { KEY_NONE, KEY_PUBLIC, KEY_SECRET };

/* Classifies one line: a key (kind and its 40 characters in key), nothing
 * (comment, blank, zcert section or metadata line), or -EINVAL. */
static int s_parse_line(char *line, bool bare_ok, enum key_kind *kind, char key[AUTH_KEY_Z85_LEN + 1],
                        const char **why)
{
        char *s = s_trim(line), *eq, *name, *value;
        size_t vlen;

        *kind = KEY_NONE;
        /* no key begins with '#': Z85 "#xxxx" would exceed 32 bits */
        if (*s == '\0' || *s == '#')
                return 0;
        /* before looking for "name = value": '=' is a Z85 character too, and
         * a bare key holding one must not pass for metadata and be dropped */
        if (bare_ok && s_is_z85_key(s, strlen(s))) {
                memcpy(key, s, AUTH_KEY_Z85_LEN + 1);
                *kind = KEY_PUBLIC;
                return 0;
        }
        eq = strchr(s, '=');
        if (!eq) {
                if (strcmp(s, "curve") == 0 || strcmp(s, "metadata") == 0)
                        return 0;
                *why = bare_ok ? "neither a key line nor a 40-character Z85 key"
                               : "not a \"public-key = ...\" or \"secret-key = ...\" line";
                return -EINVAL;
        }
        *eq = '\0';
        name = s_trim(s);
        value = s_trim(eq + 1);
        vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
                value[vlen - 1] = '\0';
                value++;
                vlen -= 2;
        }
        if (strcmp(name, "public-key") == 0)
                *kind = KEY_PUBLIC;
        else if (strcmp(name, "secret-key") == 0)
                *kind = KEY_SECRET;
        else
                return 0;       /* zcert metadata */
        if (!s_is_z85_key(value, vlen)) {
                *why = "the key is not 40 characters of Z85";
                *kind = KEY_NONE;
                return -EINVAL;
        }
        memcpy(key, value, AUTH_KEY_Z85_LEN + 1);
        return 0;
}

int auth_read_key_file(const char *path, char ret_public[AUTH_KEY_Z85_LEN + 1],
                       char ret_secret[AUTH_KEY_Z85_LEN + 1], char *err, size_t errlen)
{
        char pub[AUTH_KEY_Z85_LEN + 1] = "", sec[AUTH_KEY_Z85_LEN + 1] = "";
        char key[AUTH_KEY_Z85_LEN + 1], derived[AUTH_KEY_Z85_LEN + 1];
        char *line = NULL;
        size_t cap = 0;
        unsigned lineno = 0;
        int rc = 0;
        FILE *f = fopen(path, "re");

        if (!f) {
                rc = -errno;
                s_err(err, errlen, "key file %s: %s", path, strerror(-rc));
                return rc;
        }
        while (getline(&line, &cap, f) >= 0) {
                enum key_kind kind;
                const char *why = "";

                lineno++;
                if (s_parse_line(line, false, &kind, key, &why) < 0) {
                        s_err(err, errlen, "key file %s:%u: %s", path, lineno, why);
                        rc = -EINVAL;
                        goto out;
                }
                if (kind == KEY_PUBLIC)
                        memcpy(pub, key, sizeof(pub));
                else if (kind == KEY_SECRET)
                        memcpy(sec, key, sizeof(sec));
        }
        if (ferror(f)) {
                rc = -EIO;
                s_err(err, errlen, "key file %s: read error", path);
                goto out;
        }
        if (sec[0]) {
                if (zmq_curve_public(derived, sec) != 0) {
                        rc = errno == ENOTSUP ? -ENOTSUP : -EINVAL;
                        s_err(err, errlen, "key file %s: cannot derive the public key: %s", path,
                              zmq_strerror(errno));
                        goto out;
                }
                if (pub[0] && strcmp(pub, derived) != 0) {
                        rc = -EINVAL;
                        s_err(err, errlen, "key file %s: public-key does not belong to secret-key",
                              path);
                        goto out;
                }
                memcpy(pub, derived, sizeof(pub));
        }
        if (ret_secret && !sec[0]) {
                rc = -EINVAL;
                s_err(err, errlen, "key file %s: no secret-key line", path);
                goto out;
        }
        if (ret_public && !pub[0]) {
                rc = -EINVAL;
                s_err(err, errlen, "key file %s: no public-key line", path);
                goto out;
        }
        if (ret_public)
                memcpy(ret_public, pub, sizeof(pub));
        if (ret_secret)
                memcpy(ret_secret, sec, sizeof(sec));
out:
        explicit_bzero(sec, sizeof(sec));
        if (line) {
                explicit_bzero(line, cap);
                free(line);
        }
        fclose(f);
        return rc;
}

static int s_add_allowed(auth_t *a, const char *z85)
{
        key_t32 bin;

        if (!zmq_z85_decode(bin, z85))
                return -EINVAL;
        for (size_t i = 0; i < a->n_allowed; i++) {
                if (memcmp(a->allowed[i], bin, KEY_BYTES) == 0) {
                        a->roles[i] |= a->adding_roles;
                        return 0;
                }
        }
        if (a->n_allowed == a->cap_allowed) {
                size_t cap = a->cap_allowed ? a->cap_allowed * 2 : 16;
                key_t32 *p = realloc(a->allowed, cap * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                a->allowed = p;
                uint8_t *q = realloc(a->roles, cap);
                if (!q)
                        return -ENOMEM;
                a->roles = q;
                a->cap_allowed = cap;
        }
        a->roles[a->n_allowed] = a->adding_roles;
        memcpy(a->allowed[a->n_allowed++], bin, KEY_BYTES);
        return 0;
}

static int s_read_allowed_file(auth_t *a, const char *path, char *err, size_t errlen)
{
        char key[AUTH_KEY_Z85_LEN + 1];
        char *line = NULL;
        size_t cap = 0;
        unsigned lineno = 0;
        int rc = 0;
        FILE *f = fopen(path, "re");

        if (!f) {
                rc = -errno;
                s_err(err, errlen, "allowed client keys %s: %s", path, strerror(-rc));
                return rc;
        }
        while (getline(&line, &cap, f) >= 0) {
                enum key_kind kind;
                const char *why = "";

                lineno++;
                if (s_parse_line(line, true, &kind, key, &why) < 0) {
                        s_err(err, errlen, "allowed client keys %s:%u: %s", path, lineno, why);
                        rc = -EINVAL;
                        break;
                }
                if (kind == KEY_SECRET) {
                        s_err(err, errlen, "allowed client keys %s:%u: holds a secret key; "
                              "give the server only the client's public key (NAME.pub)", path, lineno);
                        rc = -EINVAL;
                        break;
                }
                if (kind == KEY_PUBLIC && (rc = s_add_allowed(a, key)) < 0) {
                        s_err(err, errlen, "allowed client keys %s:%u: %s", path, lineno,
                              strerror(-rc));
                        break;
                }
        }
        free(line);
        fclose(f);
        return rc;
}

static int s_name_cmp(const void *x, const void *y)
{
        return strcmp(*(char *const *)x, *(char *const *)y);
}

static int s_read_allowed(auth_t *a, const char *path, char *err, size_t errlen)
{
        struct stat st;
        DIR *d;
        struct dirent *de;
        char **names = NULL;
        size_t n = 0, cap = 0;
        int rc = 0;

        if (stat(path, &st) != 0) {
                rc = -errno;
                s_err(err, errlen, "allowed client keys %s: %s", path, strerror(-rc));
                return rc;
        }
        if (!S_ISDIR(st.st_mode))
                return s_read_allowed_file(a, path, err, errlen);
        d = opendir(path);
        if (!d) {
                rc = -errno;
                s_err(err, errlen, "allowed client keys %s: %s", path, strerror(-rc));
                return rc;
        }
        while ((de = readdir(d))) {
                char *full;
                struct stat fst;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&full, "%s/%s", path, de->d_name) < 0) {
                        rc = -ENOMEM;
                        break;
                }
                if (stat(full, &fst) != 0 || !S_ISREG(fst.st_mode)) {
                        free(full);
                        continue;
                }
                if (n == cap) {
                        char **p = realloc(names, (cap ? cap * 2 : 16) * sizeof(*p));
                        if (!p) {
                                free(full);
                                rc = -ENOMEM;
                                break;
                        }
                        names = p;
                        cap = cap ? cap * 2 : 16;
                }
                names[n++] = full;
        }
        closedir(d);
        if (rc < 0)
                s_err(err, errlen, "allowed client keys %s: out of memory", path);
        if (n > 1)
                qsort(names, n, sizeof(*names), s_name_cmp);
        for (size_t i = 0; i < n; i++) {
                if (rc == 0)
                        rc = s_read_allowed_file(a, names[i], err, errlen);
                free(names[i]);
        }
        free(names);
        return rc;
}

/* ---- the ZAP handler ---- */

struct zap_request {
        char frame[ZAP_FRAMES][ZAP_FRAME_MAX];  /* the frames, NUL-terminated (key: binary) */
        size_t len[ZAP_FRAMES];                 /* their lengths (truncated to ZAP_FRAME_MAX - 1) */
        int n;                                  /* frames received */
};

static void s_log_refusal(auth_t *a, const struct zap_request *r, const char *why)
{
        uint64_t now = clock_mono_ms();
        char key[AUTH_KEY_Z85_LEN + 1] = "-";

        if (now - a->log_window_ms >= AUTH_LOG_WINDOW_MS) {
                a->log_window_ms = now;
                a->log_lines = 0;
        }
        if (++a->log_lines > AUTH_LOG_PER_WINDOW) {
                a->log_suppressed++;
                return;
        }
        if (r->n >= 7 && r->len[6] == KEY_BYTES && !zmq_z85_encode(key, (const uint8_t *)r->frame[6],
                                                                   KEY_BYTES))
                strcpy(key, "?");
        fprintf(stderr, "%s: auth: refused %s connection from %s key %s (%s), connection closed",
                a->log_name, r->n >= 6 ? r->frame[5] : "?", r->n >= 4 && r->len[3] ? r->frame[3] : "?",
                key, why);
        if (a->log_suppressed)
                fprintf(stderr, "; %" PRIu64 " earlier refusals not logged", a->log_suppressed);
        fputc('\n', stderr);
        a->log_suppressed = 0;
}

/* The ZAP domain of each role's sockets. */
static const char *const s_domains[AUTH_ROLES] = {
        [AUTH_ROLE_ANY] = AUTH_ZAP_DOMAIN,
        [AUTH_ROLE_CONTROL] = AUTH_ZAP_DOMAIN "-control",
        [AUTH_ROLE_STORAGE] = AUTH_ZAP_DOMAIN "-storage",
        [AUTH_ROLE_MONITOR] = AUTH_ZAP_DOMAIN "-monitor",
};

/* The role whose domain is d, or -1. */
static int s_role_of_domain(const char *d)
{
        for (int r = 0; r < AUTH_ROLES; r++)
                if (!strcmp(d, s_domains[r]))
                        return r;
        return -1;
}

static bool s_key_allowed(auth_t *a, int role, const void *key, size_t len)
{
        bool ok = false;
        if (len != KEY_BYTES || role < 0)
                return false;
        pthread_mutex_lock(&a->keys_lock);
        for (size_t i = 0; i < a->n_allowed; i++)
                if (memcmp(a->allowed[i], key, KEY_BYTES) == 0) {
                        ok = a->roles[i] >> role & 1;
                        break;
                }
        pthread_mutex_unlock(&a->keys_lock);
        return ok;
}

static void s_send(void *sock, const void *data, size_t len, bool more)
{
        zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0);
}

/* Receives one request (all its frames) and answers it. */
static void s_zap_handle(auth_t *a)
{
        struct zap_request r;
        const char *status = "400", *text = "", *why = NULL;
        char user[sizeof AUTH_STATUS_ONLY + AUTH_KEY_Z85_LEN] = "";
        int more = 1;
        size_t more_len = sizeof(more);

        memset(&r, 0, sizeof(r));
        while (more) {
                zmq_msg_t m;

                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, a->zap, 0) < 0) {
                        zmq_msg_close(&m);
                        return;
                }
                if (r.n < ZAP_FRAMES) {
                        size_t len = zmq_msg_size(&m);
                        if (len > ZAP_FRAME_MAX - 1)
                                len = ZAP_FRAME_MAX - 1;
                        memcpy(r.frame[r.n], zmq_msg_data(&m), len);
                        r.frame[r.n][len] = '\0';
                        r.len[r.n] = len;
                }
                r.n++;
                zmq_msg_close(&m);
                if (zmq_getsockopt(a->zap, ZMQ_RCVMORE, &more, &more_len) != 0)
                        more = 0;
        }
        if (r.n < 6 || strcmp(r.frame[0], "1.0") != 0) {
                status = "500";
                text = "malformed ZAP request";
                why = text;
        } else if (s_role_of_domain(r.frame[2]) >= 0 && strcmp(r.frame[5], "CURVE") == 0) {
                int role = s_role_of_domain(r.frame[2]);
                if (r.n >= 7 && s_key_allowed(a, role, r.frame[6], r.len[6])) {
                        status = "200";
                        text = "OK";
                        zmq_z85_encode(user, (const uint8_t *)r.frame[6], KEY_BYTES);
                } else if (r.n >= 7 && role == AUTH_ROLE_CONTROL &&
                           s_key_allowed(a, AUTH_ROLE_MONITOR, r.frame[6], r.len[6])) {
                        /* a monitor's key on the control socket: it may ask
                         * for status, nothing else (the control socket reads
                         * the User-Id of each request) */
                        status = "200";
                        text = "OK";
                        memcpy(user, AUTH_STATUS_ONLY, sizeof AUTH_STATUS_ONLY - 1);
                        zmq_z85_encode(user + sizeof AUTH_STATUS_ONLY - 1,
                                       (const uint8_t *)r.frame[6], KEY_BYTES);
                } else {
                        text = s_key_allowed(a, AUTH_ROLE_ANY, r.frame[6], r.len[6]) ||
                               s_key_allowed(a, AUTH_ROLE_CONTROL, r.frame[6], r.len[6]) ||
                               s_key_allowed(a, AUTH_ROLE_STORAGE, r.frame[6], r.len[6]) ||
                               s_key_allowed(a, AUTH_ROLE_MONITOR, r.frame[6], r.len[6])
                               ? "client key not allowed on this socket" : "client key not allowed";
                        why = text;
                }
        } else if (r.len[2] == 0 && strcmp(r.frame[5], "NULL") == 0) {
                status = "200";         /* a local socket left open on purpose */
                text = "OK";
        } else {
                text = "mechanism or domain not allowed";
                why = text;
        }
        if (status[0] != '2') {
                atomic_fetch_add_explicit(&a->refusals, 1, memory_order_relaxed);
                s_log_refusal(a, &r, why);
        }
        s_send(a->zap, "1.0", 3, true);
        s_send(a->zap, r.n >= 2 ? r.frame[1] : "", r.n >= 2 ? r.len[1] : 0, true);
        s_send(a->zap, status, 3, true);
        s_send(a->zap, text, strlen(text), true);
        s_send(a->zap, user, strlen(user), true);
        s_send(a->zap, "", 0, false);
}

static void *s_zap_thread(void *arg)
{
        auth_t *a = arg;

        for (;;) {
                zmq_pollitem_t items[2] = {
                        { a->zap, 0, ZMQ_POLLIN, 0 },
                        { a->pipe_thread, 0, ZMQ_POLLIN, 0 },
                };
                if (zmq_poll(items, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;          /* ETERM: the context is going away */
                }
                if (items[1].revents & ZMQ_POLLIN)
                        break;
                if (items[0].revents & ZMQ_POLLIN)
                        s_zap_handle(a);
        }
        return NULL;
}

static int s_start_zap(auth_t *a, char *err, size_t errlen)
{
        char pipe_ep[64];
        int linger = 0, rc;

        a->zap = zmq_socket(a->ctx, ZMQ_REP);
        a->pipe_main = zmq_socket(a->ctx, ZMQ_PAIR);
        a->pipe_thread = zmq_socket(a->ctx, ZMQ_PAIR);
        if (!a->zap || !a->pipe_main || !a->pipe_thread) {
                rc = -errno;
                s_err(err, errlen, "auth: cannot create the ZAP handler's sockets: %s",
                      zmq_strerror(errno));
                return rc;
        }
        zmq_setsockopt(a->zap, ZMQ_LINGER, &linger, sizeof(linger));
        zmq_setsockopt(a->pipe_main, ZMQ_LINGER, &linger, sizeof(linger));
        zmq_setsockopt(a->pipe_thread, ZMQ_LINGER, &linger, sizeof(linger));
        /* Bound before any CURVE socket exists: with no handler, libzmq would
         * let every client in. */
        if (zmq_bind(a->zap, ZAP_ENDPOINT) != 0) {
                rc = -errno;
                s_err(err, errlen, "auth: cannot bind %s (one auth_t per ZeroMQ context): %s",
                      ZAP_ENDPOINT, zmq_strerror(errno));
                return rc;
        }
        snprintf(pipe_ep, sizeof(pipe_ep), "inproc://darkdaq-auth-%p", (void *)a);
        if (zmq_bind(a->pipe_thread, pipe_ep) != 0 || zmq_connect(a->pipe_main, pipe_ep) != 0) {
                rc = -errno;
                s_err(err, errlen, "auth: cannot connect the ZAP thread's pipe: %s",
                      zmq_strerror(errno));
                return rc;
        }
        rc = pthread_create(&a->thread, NULL, s_zap_thread, a);
        if (rc != 0) {
                s_err(err, errlen, "auth: cannot start the ZAP thread: %s", strerror(rc));
                return -rc;
        }
        a->thread_started = true;
        return 0;
}

/* Reads every role's list of client keys into a (whose list is empty).
 * Returns 0 or -errno with err naming the file and line. */
static int s_read_lists(auth_t *a, const char *const lists[AUTH_ROLES], char *err,
                        size_t errlen)
{
        int r;

        for (int k = 0; k < AUTH_ROLES; k++) {
                if (!lists[k] || !lists[k][0])
                        continue;
                size_t before = a->n_allowed;
                /* allowed_clients: every socket; the others: their own */
                a->adding_roles = k == AUTH_ROLE_ANY ? (1u << AUTH_ROLES) - 1 : 1u << k;
                if ((r = s_read_allowed(a, lists[k], err, errlen)) < 0)
                        return r;
                if (a->n_allowed == before && k == AUTH_ROLE_ANY) {
                        s_err(err, errlen, "allowed client keys %s: no key listed, nobody could "
                              "connect", lists[k]);
                        return -EINVAL;
                }
        }
        if (a->n_allowed == 0) {
                s_err(err, errlen, "allowed client keys: no key listed in any list, nobody could "
                      "connect");
                return -EINVAL;
        }
        return 0;
}

/* ---- the object ---- */

int auth_new(auth_t **ret, void *zmq_ctx, const struct auth_config *cfg, char *err, size_t errlen)
{
        auth_t *a = calloc(1, sizeof(*a));
        bool has_server = cfg->server_key_file && cfg->server_key_file[0];
        const char *lists[AUTH_ROLES] = {
                [AUTH_ROLE_ANY] = cfg->allowed_clients,
                [AUTH_ROLE_CONTROL] = cfg->control_clients,
                [AUTH_ROLE_STORAGE] = cfg->storage_clients,
                [AUTH_ROLE_MONITOR] = cfg->monitor_clients,
        };
        bool has_clients = false;
        for (int k = 0; k < AUTH_ROLES; k++)
                has_clients |= lists[k] && lists[k][0];
        int r;

        if (!a) {
                s_err(err, errlen, "auth: out of memory");
                return -ENOMEM;
        }
        a->ctx = zmq_ctx;
        if (pthread_mutex_init(&a->keys_lock, NULL) != 0) {
                free(a);
                s_err(err, errlen, "auth: cannot make a mutex");
                return -ENOMEM;
        }
        a->keys_lock_init = true;
        a->require_curve = cfg->require_curve;
        snprintf(a->log_name, sizeof(a->log_name), "%s", cfg->log_name ? cfg->log_name : "darkdaq");
        atomic_init(&a->refusals, 0);
        if (has_server != has_clients) {
                s_err(err, errlen, "auth: %s is set but %s is not: CURVE needs both",
                      has_server ? "server_key" : "allowed_clients",
                      has_server ? "allowed_clients" : "server_key");
                auth_free(a);
                return -EINVAL;
        }
        if (!has_server) {
                if (a->require_curve) {
                        s_err(err, errlen, "auth: require_curve is set but server_key and "
                              "allowed_clients are not");
                        auth_free(a);
                        return -EINVAL;
                }
                *ret = a;
                return 0;
        }
        if (!zmq_has("curve")) {
                s_err(err, errlen, "auth: this libzmq has no CURVE support");
                auth_free(a);
                return -ENOTSUP;
        }
        if ((r = auth_read_key_file(cfg->server_key_file, NULL, a->secret_z85, err, errlen)) < 0) {
                auth_free(a);
                return r;
        }
        if ((r = s_read_lists(a, lists, err, errlen)) < 0) {
                auth_free(a);
                return r;
        }
        r = s_start_zap(a, err, errlen);
        if (r < 0) {
                auth_free(a);
                return r;
        }
        a->have_keys = true;
        *ret = a;
        return 0;
}

auth_t *auth_free(auth_t *a)
{
        if (!a)
                return NULL;
        if (a->thread_started) {
                zmq_send(a->pipe_main, "", 0, 0);
                pthread_join(a->thread, NULL);
        }
        if (a->zap)
                zmq_close(a->zap);
        if (a->pipe_main)
                zmq_close(a->pipe_main);
        if (a->pipe_thread)
                zmq_close(a->pipe_thread);
        explicit_bzero(a->secret_z85, sizeof(a->secret_z85));
        free(a->allowed);
        free(a->roles);
        if (a->keys_lock_init)
                pthread_mutex_destroy(&a->keys_lock);
        free(a);
        return NULL;
}

/* Is key i of x in y with the same roles? */
static bool s_key_in(const auth_t *x, size_t i, const auth_t *y)
{
        for (size_t j = 0; j < y->n_allowed; j++)
                if (!memcmp(x->allowed[i], y->allowed[j], KEY_BYTES))
                        return x->roles[i] == y->roles[j];
        return false;
}

int auth_reload_clients(auth_t *a, const struct auth_config *cfg, char *msg, size_t msglen)
{
        const char *lists[AUTH_ROLES] = {
                [AUTH_ROLE_ANY] = cfg->allowed_clients,
                [AUTH_ROLE_CONTROL] = cfg->control_clients,
                [AUTH_ROLE_STORAGE] = cfg->storage_clients,
                [AUTH_ROLE_MONITOR] = cfg->monitor_clients,
        };
        auth_t n = { 0 };
        size_t added = 0, removed = 0;
        int r;

        msg[0] = '\0';
        if (!a->have_keys)
                return 0;       /* no CURVE in use: lists only come with a restart */
        if ((r = s_read_lists(&n, lists, msg, msglen)) < 0) {
                free(n.allowed);
                free(n.roles);
                return r;
        }
        for (size_t i = 0; i < n.n_allowed; i++)
                added += !s_key_in(&n, i, a);
        pthread_mutex_lock(&a->keys_lock);
        for (size_t i = 0; i < a->n_allowed; i++)
                removed += !s_key_in(a, i, &n);
        size_t was = a->n_allowed;
        if (added || removed) {
                key_t32 *ok = a->allowed;
                uint8_t *or = a->roles;
                a->allowed = n.allowed;
                a->roles = n.roles;
                a->n_allowed = n.n_allowed;
                a->cap_allowed = n.cap_allowed;
                n.allowed = ok;
                n.roles = or;
        }
        pthread_mutex_unlock(&a->keys_lock);
        free(n.allowed);
        free(n.roles);
        if (!added && !removed)
                return 0;
        snprintf(msg, msglen, "allowed client keys %zu -> %zu (%zu new or with new sockets, "
                 "%zu gone or changed)", was, n.n_allowed, added, removed);
        return 1;
}

static int s_setopt(void *socket, int opt, const void *val, size_t len, const char *name,
                    const char *endpoint, char *err, size_t errlen)
{
        if (zmq_setsockopt(socket, opt, val, len) == 0)
                return 0;
        s_err(err, errlen, "endpoint %s: cannot set %s: %s", endpoint, name, zmq_strerror(errno));
        return -errno;
}

int auth_apply_server(auth_t *a, void *socket, const char *endpoint, char *err, size_t errlen)
{
        return auth_apply_server_role(a, socket, endpoint, AUTH_ROLE_ANY, err, errlen);
}

int auth_apply_server_role(auth_t *a, void *socket, const char *endpoint, enum auth_role role,
                           char *err, size_t errlen)
{
        int one = 1, rc;

        if (!(a && a->require_curve) && auth_endpoint_is_local(endpoint))
                return 0;
        if (!a || !a->have_keys) {
                s_err(err, errlen, "endpoint %s is not local: serving it needs CURVE "
                      "(server_key and allowed_clients)", endpoint);
                return -EPERM;
        }
        if ((rc = s_setopt(socket, ZMQ_CURVE_SERVER, &one, sizeof(one), "ZMQ_CURVE_SERVER",
                           endpoint, err, errlen)) < 0 ||
            (rc = s_setopt(socket, ZMQ_CURVE_SECRETKEY, a->secret_z85, AUTH_KEY_Z85_LEN + 1,
                           "ZMQ_CURVE_SECRETKEY", endpoint, err, errlen)) < 0 ||
            (rc = s_setopt(socket, ZMQ_ZAP_DOMAIN, s_domains[role], strlen(s_domains[role]),
                           "ZMQ_ZAP_DOMAIN", endpoint, err, errlen)) < 0)
                return rc;
        return 1;
}

int auth_apply_client(void *socket, const char *endpoint, const struct auth_client_config *cfg,
                      char *err, size_t errlen)
{
        char server_pub[AUTH_KEY_Z85_LEN + 1], pub[AUTH_KEY_Z85_LEN + 1], sec[AUTH_KEY_Z85_LEN + 1];
        int rc;

        if (!(cfg && cfg->require_curve) && auth_endpoint_is_local(endpoint))
                return 0;
        if (!cfg || !cfg->client_key_file || !cfg->client_key_file[0] || !cfg->server_public_file ||
            !cfg->server_public_file[0]) {
                s_err(err, errlen, "endpoint %s is not local: connecting needs CURVE "
                      "(client_key and server_public_key)", endpoint);
                return -EPERM;
        }
        if ((rc = auth_read_key_file(cfg->server_public_file, server_pub, NULL, err, errlen)) < 0)
                return rc;
        if ((rc = auth_read_key_file(cfg->client_key_file, pub, sec, err, errlen)) < 0)
                return rc;
        if ((rc = s_setopt(socket, ZMQ_CURVE_SERVERKEY, server_pub, AUTH_KEY_Z85_LEN + 1,
                           "ZMQ_CURVE_SERVERKEY", endpoint, err, errlen)) < 0 ||
            (rc = s_setopt(socket, ZMQ_CURVE_PUBLICKEY, pub, AUTH_KEY_Z85_LEN + 1,
                           "ZMQ_CURVE_PUBLICKEY", endpoint, err, errlen)) < 0 ||
            (rc = s_setopt(socket, ZMQ_CURVE_SECRETKEY, sec, AUTH_KEY_Z85_LEN + 1,
                           "ZMQ_CURVE_SECRETKEY", endpoint, err, errlen)) < 0) {
                explicit_bzero(sec, sizeof(sec));
                return rc;
        }
        explicit_bzero(sec, sizeof(sec));
        return 1;
}

uint64_t auth_refusals(const auth_t *a)
{
        return a ? atomic_load_explicit(&((auth_t *)a)->refusals, memory_order_relaxed) : 0;
}

size_t auth_allowed_count(auth_t *a)
{
        if (!a)
                return 0;
        pthread_mutex_lock(&a->keys_lock);
        size_t n = a->n_allowed;
        pthread_mutex_unlock(&a->keys_lock);
        return n;
}

int auth_keygen(char public_z85[AUTH_KEY_Z85_LEN + 1], char secret_z85[AUTH_KEY_Z85_LEN + 1])
{
        if (!zmq_has("curve"))
                return -ENOTSUP;
        if (zmq_curve_keypair(public_z85, secret_z85) != 0)
                return -errno;
        return 0;
}

static int s_write_new(const char *path, mode_t mode, const char *text, char *err, size_t errlen)
{
        size_t len = strlen(text), off = 0;
        int rc = 0;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

        if (fd < 0) {
                rc = -errno;
                s_err(err, errlen, "%s: %s", path, strerror(-rc));
                return rc;
        }
        while (off < len) {
                ssize_t n = write(fd, text + off, len - off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        rc = -errno;
                        break;
                }
                off += (size_t)n;
        }
        if (rc == 0 && fsync(fd) != 0)
                rc = -errno;
        if (close(fd) != 0 && rc == 0)
                rc = -errno;
        if (rc < 0) {
                s_err(err, errlen, "%s: %s; file removed", path, strerror(-rc));
                unlink(path);
        }
        return rc;
}

int auth_write_key_files(const char *path_secret, const char *path_public,
                         const char *public_z85, const char *secret_z85,
                         char *err, size_t errlen)
{
        char text[512];
        int rc;

        snprintf(text, sizeof(text),
                 "# darkdaq CURVE key pair: keep this file secret (mode 0600)\n"
                 "public-key = \"%s\"\nsecret-key = \"%s\"\n", public_z85, secret_z85);
        rc = s_write_new(path_secret, 0600, text, err, errlen);
        explicit_bzero(text, sizeof(text));
        if (rc < 0)
                return rc;
        snprintf(text, sizeof(text), "# darkdaq CURVE public key\npublic-key = \"%s\"\n", public_z85);
        rc = s_write_new(path_public, 0644, text, err, errlen);
        if (rc < 0)
                unlink(path_secret);
        return rc;
}
