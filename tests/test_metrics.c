/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of metrics: a server on a free loopback port, fetched over a plain
 * TCP socket: GET /metrics gives the rendered text (checked line by line
 * against the exposition format), other paths 404, other methods 405, a
 * failing render 500; it listens on the configured address only.
 * With DARKDAQ_METRICS_BODY=FILE, serves_metrics also writes the body it
 * fetched to FILE: tests/test_metrics.py parses it with prometheus_client. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "metrics.h"

#define WAIT_MS 5000

/* What a daemon would keep: a snapshot of its counters, refreshed by its
 * loop under the mutex, read by the render callback on the HTTP thread. */
struct snapshot {
        pthread_mutex_t lock;
        uint64_t fragments[2];          /* per source */
        uint64_t events[3];             /* per status flag */
        uint64_t ring_bytes[2];         /* per source */
        double busy_s;                  /* BUSY asserted, seconds */
        bool fail;                      /* render returns an error */
};

static const char *const SOURCES[] = { "klm", "svd \"tricky\" \\ name\nx" };
static const char *const FLAGS[] = { "complete", "incomplete", "corrupt" };

static int s_render(prom_t *out, void *ctx)
{
        struct snapshot *s = ctx, copy;

        pthread_mutex_lock(&s->lock);
        copy = *s;
        pthread_mutex_unlock(&s->lock);
        if (copy.fail)
                return -EIO;
        prom_family(out, "darkdaq_source_fragments_total", PROM_COUNTER, "Fragments read, per source.");
        for (int i = 0; i < 2; i++)
                prom_u64(out, copy.fragments[i], "source", SOURCES[i], NULL);
        prom_family(out, "darkdaq_events_total", PROM_COUNTER, "Events built, per status flag.");
        for (int i = 0; i < 3; i++)
                prom_u64(out, copy.events[i], "status", FLAGS[i], NULL);
        prom_family(out, "darkdaq_ring_occupancy_bytes", PROM_GAUGE, "Bytes waiting in each source's ring.");
        for (int i = 0; i < 2; i++)
                prom_u64(out, copy.ring_bytes[i], "source", SOURCES[i], NULL);
        prom_family(out, "darkdaq_busy_seconds_total", PROM_COUNTER, "Time BUSY was asserted.");
        prom_double(out, copy.busy_s, NULL);
        return 0;
}

/* One HTTP exchange on 127.0.0.1:port; the whole response in resp.  Returns
 * the status code, or -1. */
static int s_fetch(const char *addr, uint16_t port, const char *request, char *resp, size_t cap)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        size_t got = 0;
        int fd, status = -1;

        inet_pton(AF_INET, addr, &sa.sin_addr);
        resp[0] = '\0';
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
                close(fd);
                return -1;
        }
        for (;;) {      /* HTTP/1.0: the server closes after the response */
                struct pollfd pfd = { fd, POLLIN, 0 };
                ssize_t n;

                if (poll(&pfd, 1, WAIT_MS) != 1)
                        break;
                n = read(fd, resp + got, cap - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
                if (got == cap - 1)
                        break;
        }
        resp[got] = '\0';
        close(fd);
        if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
                return -1;
        return status;
}

static const char *s_body(const char *resp)
{
        const char *b = strstr(resp, "\r\n\r\n");
        return b ? b + 4 : "";
}

static bool s_is_name(const char **s, bool colon_ok)
{
        const char *p = *s;

        if (!(isalpha((unsigned char)*p) || *p == '_' || (colon_ok && *p == ':')))
                return false;
        while (isalnum((unsigned char)*p) || *p == '_' || (colon_ok && *p == ':'))
                p++;
        *s = p;
        return true;
}

static bool s_is_value(const char *s)
{
        char *end;

        if (strcmp(s, "NaN") == 0 || strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0)
                return true;
        strtod(s, &end);
        return end != s && *end == '\0';
}

/* Strict check of one exposition: HELP/TYPE comments, then samples of the
 * family just typed, labels quoted with only \\ \" \n escapes. */
static bool s_valid_exposition(const char *text)
{
        char family[128] = "", line[1024];
        const char *p = text;
        int n_samples = 0;

        if (!*text || text[strlen(text) - 1] != '\n')
                return false;
        while (*p) {
                const char *nl = strchr(p, '\n'), *s;
                size_t len = (size_t)(nl - p);

                if (len >= sizeof(line))
                        return false;
                memcpy(line, p, len);
                line[len] = '\0';
                p = nl + 1;
                s = line;
                if (strncmp(s, "# HELP ", 7) == 0 || strncmp(s, "# TYPE ", 7) == 0) {
                        bool type = s[2] == 'T';
                        const char *name = s + 7;
                        s = name;
                        if (!s_is_name(&s, true) || *s != ' ')
                                return false;
                        if (type) {
                                snprintf(family, sizeof(family), "%.*s", (int)(s - name), name);
                                s++;
                                if (strcmp(s, "counter") && strcmp(s, "gauge") && strcmp(s, "untyped"))
                                        return false;
                        }
                        continue;
                }
                const char *name = s;
                if (!s_is_name(&s, true))
                        return false;
                if ((size_t)(s - name) != strlen(family) || strncmp(name, family, strlen(family)))
                        return false;   /* a sample outside its family */
                if (*s == '{') {
                        s++;
                        for (;;) {
                                if (!s_is_name(&s, false) || *s++ != '=' || *s++ != '"')
                                        return false;
                                while (*s && *s != '"') {
                                        if (*s == '\\') {
                                                s++;
                                                if (*s != '\\' && *s != '"' && *s != 'n')
                                                        return false;
                                        }
                                        s++;
                                }
                                if (*s++ != '"')
                                        return false;
                                if (*s == ',') {
                                        s++;
                                        continue;
                                }
                                if (*s++ != '}')
                                        return false;
                                break;
                        }
                }
                if (*s++ != ' ' || !s_is_value(s))
                        return false;
                n_samples++;
        }
        return n_samples > 0;
}

TEST(strict_checker_rejects_bad_lines)
{
        CHECK(s_valid_exposition("# TYPE a counter\na 1\n"));
        CHECK(!s_valid_exposition("# TYPE a counter\na 1"));
        CHECK(!s_valid_exposition("# TYPE a counter\nb 1\n"));
        CHECK(!s_valid_exposition("# TYPE a counter\na{x=\"1\" 1\n"));
        CHECK(!s_valid_exposition("# TYPE a counter\na{x=\"\\t\"} 1\n"));
        CHECK(!s_valid_exposition("# TYPE a counter\na one\n"));
        CHECK(!s_valid_exposition("# TYPE a countre\na 1\n"));
}

TEST(serves_metrics)
{
        struct snapshot snap = { .lock = PTHREAD_MUTEX_INITIALIZER,
                                 .fragments = { 1000, 999 }, .events = { 990, 9, 1 },
                                 .ring_bytes = { 4096, 0 }, .busy_s = 1.25 };
        char err[256] = "", resp[16384], expected[4096];
        const char *body;
        prom_t *p = prom_new();
        metrics_t *m = NULL;

        REQUIRE(metrics_new(&m, "127.0.0.1:0", s_render, &snap, err, sizeof(err)) == 0 && p);
        CHECK(metrics_port(m) != 0);
        CHECK_EQ_U(s_fetch("127.0.0.1", metrics_port(m), "GET /metrics HTTP/1.0\r\n\r\n", resp,
                           sizeof(resp)), 200);
        CHECK(strstr(resp, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != NULL);
        body = s_body(resp);
        s_render(p, &snap);
        snprintf(expected, sizeof(expected), "%s", prom_text(p, NULL));
        CHECK_STR(body, expected);
        CHECK(s_valid_exposition(body));
        CHECK(strstr(body, "darkdaq_source_fragments_total{source=\"svd \\\"tricky\\\" \\\\ name\\nx\"} 999\n"));
        CHECK(strstr(body, "darkdaq_busy_seconds_total 1.25\n"));
        CHECK_EQ_U(metrics_scrapes(m), 1);
        if (getenv("DARKDAQ_METRICS_BODY")) {
                FILE *f = fopen(getenv("DARKDAQ_METRICS_BODY"), "w");
                CHECK(f != NULL);
                if (f) {
                        fputs(body, f);
                        fclose(f);
                }
        }

        /* the loop moves on; the next scrape shows its new snapshot */
        pthread_mutex_lock(&snap.lock);
        snap.fragments[0] = 2000;
        pthread_mutex_unlock(&snap.lock);
        CHECK_EQ_U(s_fetch("127.0.0.1", metrics_port(m),
                           "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                           resp, sizeof(resp)), 200);
        CHECK(strstr(s_body(resp), "darkdaq_source_fragments_total{source=\"klm\"} 2000\n"));
        CHECK_EQ_U(metrics_scrapes(m), 2);

        /* HEAD: headers only */
        CHECK_EQ_U(s_fetch("127.0.0.1", metrics_port(m), "HEAD /metrics HTTP/1.0\r\n\r\n", resp,
                           sizeof(resp)), 200);
        CHECK_STR(s_body(resp), "");
        metrics_free(m);
        prom_free(p);
}

TEST(other_paths_methods_and_failures)
{
        struct snapshot snap = { .lock = PTHREAD_MUTEX_INITIALIZER };
        char err[256] = "", resp[4096];
        metrics_t *m = NULL;
        uint16_t port;

        REQUIRE_OK_ZERO(metrics_new(&m, "127.0.0.1:0", s_render, &snap, err, sizeof(err)));
        port = metrics_port(m);
        CHECK_EQ_U(s_fetch("127.0.0.1", port, "GET / HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 404);
        CHECK_EQ_U(s_fetch("127.0.0.1", port, "GET /metrics/x HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 404);
        CHECK_EQ_U(s_fetch("127.0.0.1", port, "GET /metricsx HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 404);
        /* a query string does not change the path */
        CHECK_EQ_U(s_fetch("127.0.0.1", port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 200);
        CHECK_EQ_U(s_fetch("127.0.0.1", port,
                           "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", resp, sizeof(resp)),
                   405);
        CHECK(strstr(resp, "\r\nAllow: GET, HEAD\r\n") != NULL);
        CHECK_EQ_U(s_fetch("127.0.0.1", port, "DELETE /metrics HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 405);
        pthread_mutex_lock(&snap.lock);
        snap.fail = true;
        pthread_mutex_unlock(&snap.lock);
        CHECK_EQ_U(s_fetch("127.0.0.1", port, "GET /metrics HTTP/1.0\r\n\r\n", resp, sizeof(resp)), 500);
        CHECK_EQ_U(metrics_scrapes(m), 1);
        metrics_free(m);
}

TEST(listens_on_configured_address_only)
{
        struct snapshot snap = { .lock = PTHREAD_MUTEX_INITIALIZER };
        char err[256] = "", resp[4096];
        metrics_t *m = NULL, *m2 = NULL;

        REQUIRE_OK_ZERO(metrics_new(&m, "127.0.0.1:0", s_render, &snap, err, sizeof(err)));
        /* 127.0.0.2 is loopback too, but not the address configured */
        CHECK(s_fetch("127.0.0.2", metrics_port(m), "GET /metrics HTTP/1.0\r\n\r\n", resp,
                      sizeof(resp)) == -1);
        CHECK_EQ_U(s_fetch("127.0.0.1", metrics_port(m), "GET /metrics HTTP/1.0\r\n\r\n", resp,
                           sizeof(resp)), 200);

        /* the same port again: refused, and the message says where */
        char addr[64];
        snprintf(addr, sizeof(addr), "127.0.0.1:%u", metrics_port(m));
        CHECK_FAIL(metrics_new(&m2, addr, s_render, &snap, err, sizeof(err)));
        CHECK(strstr(err, addr) != NULL && strstr(err, "Address already in use") != NULL);
        metrics_free(m);

        /* localhost resolves; the default is the spec's address */
        CHECK_OK_ZERO(metrics_new(&m, "localhost:0", s_render, &snap, err, sizeof(err)));
        metrics_free(m);
        CHECK_STR(METRICS_DEFAULT_ADDR, "127.0.0.1:9464");

        CHECK_FAIL(metrics_new(&m2, "127.0.0.1", s_render, &snap, err, sizeof(err)));
        CHECK(strstr(err, "not HOST:PORT") != NULL);
        CHECK_FAIL(metrics_new(&m2, "127.0.0.1:http", s_render, &snap, err, sizeof(err)));
        CHECK_FAIL(metrics_new(&m2, "127.0.0.1:70000", s_render, &snap, err, sizeof(err)));
        CHECK_FAIL(metrics_new(&m2, "[::1:9464", s_render, &snap, err, sizeof(err)));
        CHECK_FAIL(metrics_new(&m2, "no.such.host.invalid:9464", s_render, &snap, err, sizeof(err)));
        CHECK(strstr(err, "metrics no.such.host.invalid:9464: ") != NULL);
        CHECK(metrics_free(NULL) == NULL);
}

TEST_MAIN()
