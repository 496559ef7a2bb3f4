/* SPDX-License-Identifier: Apache-2.0 */
/* linkwatch: a socket monitor (ZeroMQ's inproc event stream) per watched
 * socket.  An event is two frames: u16 event, u32 value (LE, host order in
 * practice), then the endpoint.  ACCEPTED/CONNECTED and DISCONNECTED carry
 * the connection's fd; a handshake's success or failure does not, so it is
 * given to the oldest connection still waiting for its handshake (one I/O
 * thread handles a socket's connections in order). */
#include "linkwatch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <zmq.h>

#define LOG_EVERY_MS    1000u

enum { PEER_FREE, PEER_PENDING, PEER_UP };

struct peer {
        int state;
        int fd;
        uint64_t order;                 /* when it connected, in events */
        char addr[LINKWATCH_ADDR_MAX];
};

enum log_kind { LOG_LINK, LOG_REFUSED, LOG_RETRY, LOG_KINDS_ };

struct linkwatch {
        void *sock, *pair;
        char program[32], channel[32], endpoint[256];
        unsigned flags;
        struct peer peers[LINKWATCH_PEERS];
        uint64_t order;
        uint64_t logged_ms[LOG_KINDS_];
        uint64_t unlogged[LOG_KINDS_];
        struct linkwatch_counters c;
};

void linkwatch_heartbeat(void *sock, uint32_t ms)
{
        int ivl = (int)ms, timeout = (int)(3 * ms);
        if (!ms)
                return;
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
        zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &timeout, sizeof timeout);
}

void linkwatch_peer_name(int fd, char *out, size_t size)
{
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        char ip[INET6_ADDRSTRLEN];

        out[0] = '\0';
        if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
                return;
        if (ss.ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
                if (inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip))
                        snprintf(out, size, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
        } else if (ss.ss_family == AF_INET6) {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
                if (inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip))
                        snprintf(out, size, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
        } else if (ss.ss_family == AF_UNIX) {
                snprintf(out, size, "local");
        }
}

int linkwatch_new(linkwatch_t **ret, void *zctx, void *sock, const char *program,
                  const char *channel, const char *endpoint, unsigned flags)
{
        linkwatch_t *w = calloc(1, sizeof *w);
        char ep[64];
        int linger = 0;

        if (!w)
                return -ENOMEM;
        w->sock = sock;
        w->flags = flags;
        snprintf(w->program, sizeof w->program, "%s", program);
        snprintf(w->channel, sizeof w->channel, "%s", channel);
        snprintf(w->endpoint, sizeof w->endpoint, "%s", endpoint ? endpoint : "");
        snprintf(ep, sizeof ep, "inproc://darkdaq-linkwatch-%p", (void *)w);
        int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                     ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
        if (zmq_socket_monitor(sock, ep, events) < 0) {
                int r = -zmq_errno();
                free(w);
                return r;
        }
        w->pair = zmq_socket(zctx, ZMQ_PAIR);
        if (!w->pair || zmq_connect(w->pair, ep) < 0) {
                int r = -zmq_errno();
                linkwatch_free(w);
                return r;
        }
        zmq_setsockopt(w->pair, ZMQ_LINGER, &linger, sizeof linger);
        *ret = w;
        return 0;
}

linkwatch_t *linkwatch_free(linkwatch_t *w)
{
        if (!w)
                return NULL;
        zmq_socket_monitor(w->sock, NULL, 0);
        if (w->pair)
                zmq_close(w->pair);
        free(w);
        return NULL;
}

void *linkwatch_socket(linkwatch_t *w)
{
        return w->pair;
}

const char *linkwatch_channel(const linkwatch_t *w)
{
        return w->channel;
}

void linkwatch_get_counters(const linkwatch_t *w, struct linkwatch_counters *ret)
{
        *ret = w->c;
}

void linkwatch_count(linkwatch_t *w, bool out, size_t bytes)
{
        if (!w)
                return;
        if (out) {
                w->c.msgs_out++;
                w->c.bytes_out += bytes;
        } else {
                w->c.msgs_in++;
                w->c.bytes_in += bytes;
        }
}

static void s_log(linkwatch_t *w, enum log_kind k, uint64_t now, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void s_log(linkwatch_t *w, enum log_kind k, uint64_t now, const char *fmt, ...)
{
        char line[512];
        va_list ap;

        if (w->logged_ms[k] && now - w->logged_ms[k] < LOG_EVERY_MS) {
                w->unlogged[k]++;
                return;
        }
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        if (w->unlogged[k])
                fprintf(stderr, "%s: %s %s: %s (and %" PRIu64 " more like it in the last "
                        "second)\n", w->program, w->channel, w->endpoint, line, w->unlogged[k]);
        else
                fprintf(stderr, "%s: %s %s: %s\n", w->program, w->channel, w->endpoint, line);
        w->logged_ms[k] = now;
        w->unlogged[k] = 0;
}

static struct peer *s_find(linkwatch_t *w, int fd)
{
        for (size_t i = 0; i < LINKWATCH_PEERS; i++)
                if (w->peers[i].state != PEER_FREE && w->peers[i].fd == fd)
                        return &w->peers[i];
        return NULL;
}

/* The connection waiting longest for its handshake, or NULL. */
static struct peer *s_oldest_pending(linkwatch_t *w)
{
        struct peer *best = NULL;
        for (size_t i = 0; i < LINKWATCH_PEERS; i++)
                if (w->peers[i].state == PEER_PENDING &&
                    (!best || w->peers[i].order < best->order))
                        best = &w->peers[i];
        return best;
}

static void s_set_connected(linkwatch_t *w, uint64_t now)
{
        uint32_t n = 0;
        for (size_t i = 0; i < LINKWATCH_PEERS; i++)
                n += w->peers[i].state == PEER_UP;
        if (n != w->c.connected)
                w->c.since_ms = now;
        w->c.connected = n;
        w->c.gone = w->c.ever_connected && n == 0;
}

static unsigned s_event(linkwatch_t *w, uint16_t ev, int32_t value, uint64_t now)
{
        bool server = w->flags & LINKWATCH_SERVER, links = w->flags & LINKWATCH_LOG_LINKS;
        struct peer *p;
        unsigned what = 0;

        switch (ev) {
        case ZMQ_EVENT_ACCEPTED:
        case ZMQ_EVENT_CONNECTED:
                w->c.connections++;
                p = s_find(w, value);
                for (size_t i = 0; !p && i < LINKWATCH_PEERS; i++)
                        if (w->peers[i].state == PEER_FREE)
                                p = &w->peers[i];
                if (!p) {       /* table full: the oldest entry gives way */
                        p = &w->peers[0];
                        for (size_t i = 1; i < LINKWATCH_PEERS; i++)
                                if (w->peers[i].order < p->order)
                                        p = &w->peers[i];
                }
                p->state = PEER_PENDING;
                p->fd = value;
                p->order = ++w->order;
                linkwatch_peer_name(value, p->addr, sizeof p->addr);
                break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
                w->c.handshakes++;
                p = s_oldest_pending(w);
                if (p) {
                        p->state = PEER_UP;
                        snprintf(w->c.peer, sizeof w->c.peer, "%s", p->addr);
                }
                if (links)
                        s_log(w, LOG_LINK, now, "%s %s%s", server ? "peer" : "connected to",
                              p && p->addr[0] ? p->addr : "(address unknown)",
                              w->c.gone ? ": back" : server ? " connected" : "");
                w->c.ever_connected = true;
                s_set_connected(w, now);
                what |= LINKWATCH_HANDSHAKE;
                break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
                if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                        w->c.refused_auth++;
                else
                        w->c.refused_protocol++;
                p = s_oldest_pending(w);
                if (p) {
                        snprintf(w->c.last_refused, sizeof w->c.last_refused, "%s", p->addr);
                        p->state = PEER_FREE;
                }
                if (server)
                        s_log(w, LOG_REFUSED, now, "handshake with %s refused: %s",
                              p && p->addr[0] ? p->addr : "a peer (address unknown)",
                              ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                              ? "its client key is not allowed on this socket"
                              : "no CURVE, or it does not know this server's public key");
                else
                        s_log(w, LOG_REFUSED, now, "handshake failed (wrong server key? %s)",
                              ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                              ? "the server refused our client key"
                              : "or CURVE on one side only");
                break;
        case ZMQ_EVENT_DISCONNECTED:
                p = s_find(w, value);
                if (p && p->state == PEER_UP) {
                        w->c.disconnects++;
                        p->state = PEER_FREE;
                        s_set_connected(w, now);
                        what |= LINKWATCH_LOST;
                        if (!w->c.connected)
                                what |= LINKWATCH_ALL_GONE;
                        if (links)
                                s_log(w, LOG_LINK, now, "%s %s gone (connection closed, reset "
                                      "or silent for 3 heartbeats)%s", server ? "peer" :
                                      "connection to", p->addr[0] ? p->addr : "(address unknown)",
                                      w->c.connected ? "" : "; no peer connected now");
                } else if (p) {
                        p->state = PEER_FREE;   /* it never finished its handshake */
                }
                break;
        case ZMQ_EVENT_CONNECT_RETRIED:
                w->c.retries++;
                break;
        default:
                break;
        }
        return what;
}

unsigned linkwatch_drain(linkwatch_t *w, uint64_t now_ms)
{
        unsigned what = 0;
        zmq_msg_t m;

        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, w->pair, ZMQ_DONTWAIT) >= 0) {
                uint16_t ev = 0;
                int32_t value = -1;
                if (zmq_msg_size(&m) == 6) {
                        const uint8_t *d = zmq_msg_data(&m);
                        memcpy(&ev, d, 2);
                        memcpy(&value, d + 2, 4);
                }
                while (zmq_msg_more(&m) && zmq_msg_recv(&m, w->pair, ZMQ_DONTWAIT) >= 0)
                        ;       /* the endpoint: we know it */
                what |= s_event(w, ev, value, now_ms);
        }
        zmq_msg_close(&m);
        return what;
}
