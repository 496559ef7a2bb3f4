/* SPDX-License-Identifier: Apache-2.0 */
/* web: the listening socket is made here (so that a bad address or a port
 * in use is reported with its name before the view starts) and handed to
 * libmicrohttpd; every body is rendered per request under the model lock. */
#include "web.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "metrics.h"
#include "page.h"
#include "sbuf.h"

struct web {
        struct MHD_Daemon *mhd;         /* owns the listening socket once started */
        model_t *m;                     /* not owned */
        uint16_t port;                  /* listened on */
};

static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned status, const char *type,
                               const char *body, size_t len)
{
        struct MHD_Response *r =
                MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;

        if (!r)
                return MHD_NO;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
        web_t *w = cls;
        sbuf_t b = { 0 };
        enum MHD_Result r;

        (void)version;
        (void)upload_data;
        (void)con_cls;
        *upload_data_size = 0;
        if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
                static const char msg[] = "only GET and HEAD\n";
                return s_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", msg, sizeof msg - 1);
        }
        if (!strcmp(url, "/") || !strcmp(url, "/index.html"))
                return s_reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", page_html,
                               strlen(page_html));
        if (!strcmp(url, "/status.json"))
                model_status_json(w->m, (int64_t)clock_mono_ms(), &b);
        else if (!strcmp(url, "/histograms.json"))
                model_histograms_json(w->m, &b);
        else if (!strcmp(url, "/histograms.csv"))
                model_histograms_csv(w->m, &b);
        else {
                static const char msg[] = "not found: try /, /status.json, /histograms.json, "
                                          "/histograms.csv\n";
                return s_reply(c, MHD_HTTP_NOT_FOUND, "text/plain", msg, sizeof msg - 1);
        }
        if (b.failed)
                r = s_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n", 14);
        else
                r = s_reply(c, MHD_HTTP_OK, strstr(url, ".csv") ? "text/csv; charset=utf-8"
                                                                : "application/json",
                            sbuf_text(&b), b.len);
        sbuf_free(&b);
        return r;
}

static int s_listen(web_t *w, const char *addr_port, char *err, size_t errlen)
{
        char host[128], port[16];
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
        struct addrinfo *res = NULL;
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof ss;
        int fd = -1, one = 1, rc;

        if (metrics_split_host_port(addr_port, host, sizeof host, port, sizeof port) < 0) {
                snprintf(err, errlen, "--http %s: not HOST:PORT or [IPV6]:PORT", addr_port);
                return -EINVAL;
        }
        if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
                snprintf(err, errlen, "--http %s: %s", addr_port, gai_strerror(rc));
                return -EINVAL;
        }
        fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
        if (fd < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 16) != 0 ||
            getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
                rc = -errno;
                snprintf(err, errlen, "--http %s: %s", addr_port, strerror(-rc));
                if (fd >= 0)
                        close(fd);
                freeaddrinfo(res);
                return rc;
        }
        freeaddrinfo(res);
        w->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
        return fd;
}

int web_new(web_t **ret, const char *addr_port, model_t *m, char *err, size_t errlen)
{
        web_t *w = calloc(1, sizeof *w);
        int fd;

        if (!w) {
                snprintf(err, errlen, "--http %s: out of memory", addr_port);
                return -ENOMEM;
        }
        w->m = m;
        if ((fd = s_listen(w, addr_port, err, errlen)) < 0) {
                free(w);
                return fd;
        }
        w->mhd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, s_handler, w,
                                  MHD_OPTION_LISTEN_SOCKET, fd,
                                  MHD_OPTION_CONNECTION_LIMIT, 32u,
                                  MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
        if (!w->mhd) {
                close(fd);
                free(w);
                snprintf(err, errlen, "--http %s: libmicrohttpd did not start", addr_port);
                return -EIO;
        }
        *ret = w;
        return 0;
}

web_t *web_free(web_t *w)
{
        if (!w)
                return NULL;
        if (w->mhd)
                MHD_stop_daemon(w->mhd);
        free(w);
        return NULL;
}

uint16_t web_port(const web_t *w)
{
        return w->port;
}
