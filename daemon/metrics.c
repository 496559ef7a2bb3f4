/* metrics: GET /metrics over libmicrohttpd.  Owns the listening socket, the
 * libmicrohttpd daemon (one internal thread) and the render buffer, which
 * only that thread touches. */
#include "metrics.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECTION_LIMIT        32
#define CONNECTION_TIMEOUT_S    10

struct metrics {
        struct MHD_Daemon *mhd;         /* owns the listening socket once started */
        metrics_render_fn render;       /* the caller's callback */
        void *ctx;                      /* its argument */
        prom_t *out;                    /* render buffer, libmicrohttpd's thread only */
        uint16_t port;                  /* listened on */
        char name[128];                 /* "HOST:PORT" as configured, for messages */
        _Atomic uint64_t scrapes;       /* GET/HEAD /metrics answered */
};

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
        atomic_init(&m->scrapes, 0);
        snprintf(m->name, sizeof(m->name), "%s", addr_port);
        fd = s_listen(m, addr_port, err, errlen);
        if (fd < 0) {
                metrics_free(m);
                return fd;
        }
        m->mhd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                  s_handler, m,
                                  MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, m,
                                  MHD_OPTION_LISTEN_SOCKET, fd,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                                  MHD_OPTION_END);
        if (!m->mhd) {
                close(fd);
                s_err(err, errlen, "metrics %s: libmicrohttpd did not start", addr_port);
                metrics_free(m);
                return -EIO;
        }
        *ret = m;
        return 0;
}

metrics_t *metrics_free(metrics_t *m)
{
        if (!m)
                return NULL;
        if (m->mhd)
                MHD_stop_daemon(m->mhd);
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
