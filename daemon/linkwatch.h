/* SPDX-License-Identifier: Apache-2.0 */
/* linkwatch: what happens on the connections of one ZeroMQ socket between
 * programs, seen through a socket monitor: connections made and lost (a
 * peer quiet for three heartbeats is a connection closed by ZeroMQ's
 * heartbeat timeout: "peer gone"), handshakes that failed (a refused client
 * key, a wrong server key, CURVE on one side only), and the peer's address
 * (getpeername of the connection's fd).  Every program watches each of its
 * sockets that crosses hosts with one: darkdaqd its control, storage and
 * monitor sockets, darkdaq-store its data socket, darkdaq-ctl and
 * darkdaq-mon theirs.  Logging goes to stderr, prefixed with the program's
 * name, at most one line per kind of event per second. */
#ifndef DARKDAQ_LINKWATCH_H
#define DARKDAQ_LINKWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINKWATCH_ADDR_MAX      64      /* "[ffff:...]:65535" and a NUL */
#define LINKWATCH_PEERS         16      /* connections whose address is kept */

/* What one socket's connections did (CLOCK_MONOTONIC ms). */
struct linkwatch_counters {
        uint64_t connections;           /* connections made (accepted or connected) */
        uint64_t handshakes;            /* ... whose handshake succeeded */
        uint64_t disconnects;           /* connections lost (closed, reset, heartbeat timeout) */
        uint64_t refused_auth;          /* handshakes refused: a client key not allowed */
        uint64_t refused_protocol;      /* ... failed otherwise: wrong server key, no CURVE */
        uint64_t retries;               /* connect attempts that found nobody (client side) */
        uint32_t connected;             /* connections up now */
        bool ever_connected;
        bool gone;                      /* had a connection and has none now */
        uint64_t since_ms;              /* when connected last changed */
        uint64_t msgs_in, bytes_in;     /* messages (and their bytes) the program took */
        uint64_t msgs_out, bytes_out;   /* ... and sent, as counted by linkwatch_count */
        char peer[LINKWATCH_ADDR_MAX];  /* the last peer that connected, "" if none */
        char last_refused[LINKWATCH_ADDR_MAX];  /* the last peer refused, "" if none */
};

typedef struct linkwatch linkwatch_t;

/* Heartbeats on sock every ms, a connection closed after 3 * ms without a
 * message from its peer (ZMQ_HEARTBEAT_IVL, _TIMEOUT, _TTL).  Set before
 * bind or connect.  ms 0: none. */
void linkwatch_heartbeat(void *sock, uint32_t ms);

/* Watches sock (bound or connected to endpoint) on zctx.  program and
 * channel name its log lines ("darkdaqd", "storage").  flags:
 * LINKWATCH_SERVER (it binds: peers connect to it), LINKWATCH_LOG_LINKS (log
 * each connection made and lost, not only refusals: for channels with one
 * long-lived peer, not for run control's short requests).  Returns 0 and
 * *ret or -errno. */
#define LINKWATCH_SERVER        1u
#define LINKWATCH_LOG_LINKS     2u
int linkwatch_new(linkwatch_t **ret, void *zctx, void *sock, const char *program,
                  const char *channel, const char *endpoint, unsigned flags);
/* Stops watching (before the socket closes).  Accepts NULL.  Returns NULL. */
linkwatch_t *linkwatch_free(linkwatch_t *w);

/* The monitor's PAIR socket, to poll for ZMQ_POLLIN beside the program's own. */
void *linkwatch_socket(linkwatch_t *w);

/* Takes every event queued, counts and logs it.  Returns a bit set of what
 * happened: LINKWATCH_HANDSHAKE (a handshake succeeded: a peer came or came
 * back), LINKWATCH_LOST (a connection was lost), LINKWATCH_ALL_GONE (the
 * last connection went).  now_ms: clock_mono_ms(). */
#define LINKWATCH_HANDSHAKE     1u
#define LINKWATCH_LOST          2u
#define LINKWATCH_ALL_GONE      4u
unsigned linkwatch_drain(linkwatch_t *w, uint64_t now_ms);

void linkwatch_get_counters(const linkwatch_t *w, struct linkwatch_counters *ret);

/* Counts one message of bytes bytes taken from (out false) or sent on (out
 * true) the watched socket.  The program calls it where it receives and
 * sends; ZeroMQ does not count per socket. */
void linkwatch_count(linkwatch_t *w, bool out, size_t bytes);
const char *linkwatch_channel(const linkwatch_t *w);

/* "ip:port" of a socket fd's peer into out (IPv6 as [ip]:port; "" for a
 * socket without one, such as ipc://: the peer is a local process).  Pure
 * apart from getpeername(). */
void linkwatch_peer_name(int fd, char *out, size_t size);

#endif
