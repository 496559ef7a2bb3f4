/* SPDX-License-Identifier: Apache-2.0 */
/* metrics: GET /metrics over libmicrohttpd.  Owns the listening socket, the
 * libmicrohttpd daemon, the one thread that runs it (its own loop, so that
 * it can cut connections that take too long to send their headers) and the
 * render buffer, which only that thread touches. */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECTION_LIMIT        64
#define PER_ADDRESS_LIMIT       8       /* one address cannot take every connection */
#define CONNECTION_TIMEOUT_S    10      /* inactivity */
#define HEADER_TIMEOUT_MS       5000    /* from accept to a whole request head */
#define LOOP_TICK_MS            250     /* the header deadlines are checked this often */

/* One connection from accept to close (libmicrohttpd's socket context). */
struct conn {
        int fd;
        uint64_t accepted_ms;           /* CLOCK_MONOTONIC */
        bool head_done;                 /* the handler saw its request */
        bool cut;                       /* shut down for missing its deadline */
        struct conn *prev, *next;
};

struct metrics {
        struct MHD_Daemon *mhd;         /* owns the listening socket once started */
        metrics_render_fn render;       /* the caller's callback */
        void *ctx;                      /* its argument */
        prom_t *out;                    /* render buffer, libmicrohttpd's thread only */
        uint16_t port;                  /* listened on */
        char name[128];                 /* "HOST:PORT" as configured, for messages */
        _Atomic uint64_t scrapes;       /* GET/HEAD /metrics answered */
        struct conn *conns;             /* open connections, the loop's thread only */
        pthread_t thread;
        bool thread_started;
        int stop_pipe[2];               /* written once by metrics_free() */
};

static uint64_t s_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
        metrics_t *m = cls;

        fprintf(stderr, "metrics %s: ", m->name);
        vfprintf(stderr, fmt, ap);
}

static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned status, const char *type,
                               const char *body, size_t len)
{
        struct MHD_Response *r =
                MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;

        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
        metrics_t *m = cls;
        const char *text;
        size_t len;
        int rc;

        (void)version;
        (void)upload_data;
        (void)con_cls;
        *upload_data_size = 0;
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        if (ci && ci->socket_context)
                ((struct conn *)ci->socket_context)->head_done = true;
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
                static const char msg[] = "only GET and HEAD\n";
                return s_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", msg, sizeof(msg) - 1);
        }
        if (strcmp(url, "/metrics") != 0) {
                static const char msg[] = "not found: the metrics are at /metrics\n";
                return s_reply(c, MHD_HTTP_NOT_FOUND, "text/plain", msg, sizeof(msg) - 1);
        }
        prom_reset(m->out);
        rc = m->render(m->out, m->ctx);
        if (rc < 0 || prom_error(m->out)) {
                char msg[256];
                snprintf(msg, sizeof(msg), "metrics could not be rendered: %s\n",
                         prom_error(m->out) ? prom_error_text(m->out) : strerror(-rc));
                return s_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", msg, strlen(msg));
        }
        atomic_fetch_add_explicit(&m->scrapes, 1, memory_order_relaxed);
        text = prom_text(m->out, &len);
        return s_reply(c, MHD_HTTP_OK, METRICS_CONTENT_TYPE, text, len);
}

/* libmicrohttpd's thread: a connection opens or closes. */
static void s_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                     enum MHD_ConnectionNotificationCode toe)
{
        metrics_t *m = cls;
        struct conn *k = *socket_context;

        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
                k = calloc(1, sizeof *k);
                if (!k || !ci)
                        return;         /* not watched: the inactivity timeout still holds */
                k->fd = ci->connect_fd;
                k->accepted_ms = s_now_ms();
                k->next = m->conns;
                if (m->conns)
                        m->conns->prev = k;
                m->conns = k;
                *socket_context = k;
        } else if (k) {
                if (k->prev)
                        k->prev->next = k->next;
                else
                        m->conns = k->next;
                if (k->next)
                        k->next->prev = k->prev;
                free(k);
                *socket_context = NULL;
        }
}

/* Cuts each connection that has not sent a whole request head within
 * HEADER_TIMEOUT_MS of its accept, however steadily it trickles: shutdown()
 * makes libmicrohttpd see the end and close it on this same thread, so the
 * descriptor is still the connection's own. */
static void s_cut_slow(metrics_t *m, uint64_t now)
{
        for (struct conn *k = m->conns; k; k = k->next) {
                if (!k->head_done && !k->cut && now - k->accepted_ms >= HEADER_TIMEOUT_MS) {
                        shutdown(k->fd, SHUT_RDWR);
                        k->cut = true;
                }
        }
}

static void *s_loop(void *arg)
{
        metrics_t *m = arg;
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        struct pollfd p[2] = { { .fd = di ? di->epoll_fd : -1, .events = POLLIN },
                               { .fd = m->stop_pipe[0], .events = POLLIN } };

        for (;;) {
                MHD_UNSIGNED_LONG_LONG to;
                int ms = LOOP_TICK_MS;
                if (MHD_get_timeout(m->mhd, &to) == MHD_YES && to < (MHD_UNSIGNED_LONG_LONG)ms)
                        ms = (int)to;
                if (poll(p, 2, ms) < 0 && errno != EINTR)
                        break;
                if (p[1].revents)
                        break;
                MHD_run(m->mhd);
                s_cut_slow(m, s_now_ms());
        }
        return NULL;
}

/* Splits "HOST:PORT" / "[V6]:PORT" into host and port. */
int metrics_split_host_port(const char *addr_port, char *host, size_t hostlen, char *port,
                            size_t portlen)
{
        const char *colon, *h = addr_port;
        size_t hlen;

        if (addr_port[0] == '[') {
                const char *close = strchr(addr_port, ']');
                if (!close || close[1] != ':')
                        return -EINVAL;
                h = addr_port + 1;
                hlen = (size_t)(close - h);
                colon = close + 1;
        } else {
                colon = strrchr(addr_port, ':');
                if (!colon)
                        return -EINVAL;
                hlen = (size_t)(colon - addr_port);
        }
        if (hlen == 0 || hlen >= hostlen || !colon[1] || strlen(colon + 1) >= portlen ||
            strspn(colon + 1, "0123456789") != strlen(colon + 1) || atoi(colon + 1) > 65535)
                return -EINVAL;
        memcpy(host, h, hlen);
        host[hlen] = '\0';
        strcpy(port, colon + 1);
        return 0;
}

static int s_listen(metrics_t *m, const char *addr_port, char *err, size_t errlen)
{
        char host[128], port[16];
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
        struct addrinfo *res = NULL;
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof(ss);
        int fd, one = 1, rc;

        if (metrics_split_host_port(addr_port, host, sizeof(host), port, sizeof(port)) < 0 || atoi(port) > 65535) {
                s_err(err, errlen, "metrics %s: not HOST:PORT or [IPV6]:PORT", addr_port);
                return -EINVAL;
        }
        rc = getaddrinfo(host, port, &hints, &res);
        if (rc != 0) {
                s_err(err, errlen, "metrics %s: %s", addr_port, gai_strerror(rc));
                return -EINVAL;
        }
        fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
        if (fd < 0) {
                rc = -errno;
                goto fail;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (res->ai_family == AF_INET6)
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 16) != 0 ||
            getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
                rc = -errno;
                goto fail;
        }
        freeaddrinfo(res);
        m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
        return fd;
fail:
        s_err(err, errlen, "metrics %s: %s", addr_port, strerror(-rc));
        if (fd >= 0)
                close(fd);
        freeaddrinfo(res);
        return rc;
}

int metrics_new(metrics_t **ret, const char *addr_port, metrics_render_fn fn, void *ctx,
                char *err, size_t errlen)
{
        metrics_t *m;
        int fd;

        if (!addr_port || !addr_port[0])
                addr_port = METRICS_DEFAULT_ADDR;
        m = calloc(1, sizeof(*m));
        if (!m || !(m->out = prom_new())) {
                s_err(err, errlen, "metrics %s: out of memory", addr_port);
                metrics_free(m);
                return -ENOMEM;
        }
        m->render = fn;
        m->ctx = ctx;
        m->stop_pipe[0] = m->stop_pipe[1] = -1;
        atomic_init(&m->scrapes, 0);
        snprintf(m->name, sizeof(m->name), "%s", addr_port);
        fd = s_listen(m, addr_port, err, errlen);
        if (fd < 0) {
                metrics_free(m);
                return fd;
        }
        m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                  s_handler, m,
                                  MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, m,
                                  MHD_OPTION_LISTEN_SOCKET, fd,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                                  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_ADDRESS_LIMIT,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                                  MHD_OPTION_NOTIFY_CONNECTION, s_notify, m,
                                  MHD_OPTION_END);
        if (!m->mhd) {
                close(fd);
                s_err(err, errlen, "metrics %s: libmicrohttpd did not start", addr_port);
                metrics_free(m);
                return -EIO;
        }
        int r = pipe2(m->stop_pipe, O_CLOEXEC);
        if (r == 0) {
                r = -pthread_create(&m->thread, NULL, s_loop, m);
                m->thread_started = r == 0;
        } else {
                r = -errno;
                m->stop_pipe[0] = m->stop_pipe[1] = -1;
        }
        if (r < 0) {
                s_err(err, errlen, "metrics %s: cannot start its thread: %s", addr_port,
                      strerror(-r));
                metrics_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

metrics_t *metrics_free(metrics_t *m)
{
        if (!m)
                return NULL;
        if (m->thread_started) {
                ssize_t w = write(m->stop_pipe[1], "x", 1);
                (void)w;        /* a full pipe is already a stop */
                pthread_join(m->thread, NULL);
        }
        if (m->mhd)
                MHD_stop_daemon(m->mhd);       /* closes the connections: s_notify frees */
        if (m->thread_started) {
                close(m->stop_pipe[0]);
                close(m->stop_pipe[1]);
        }
        prom_free(m->out);
        free(m);
        return NULL;
}

uint16_t metrics_port(const metrics_t *m)
{
        return m->port;
}

uint64_t metrics_scrapes(const metrics_t *m)
{
        return atomic_load_explicit(&((metrics_t *)m)->scrapes, memory_order_relaxed);
}
