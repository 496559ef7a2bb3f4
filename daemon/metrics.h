/* SPDX-License-Identifier: Apache-2.0 */
/* metrics: the HTTP endpoint of proto/storage-channel.md: GET /metrics answers the
 * Prometheus text exposition produced by a callback (HEAD too); any other
 * path is 404, any other method 405.  It owns a libmicrohttpd daemon with
 * its own thread, listening on the one configured address only; it knows
 * nothing of what the numbers mean.
 *
 * Thread safety: the render callback runs on libmicrohttpd's thread, one
 * request at a time, while the daemon's loop goes on.  It must read only a
 * snapshot that the caller protects, e.g. a copy of the counters that the
 * loop refreshes under a mutex (or atomics), never the loop's live
 * structures. */
#ifndef DARKDAQ_METRICS_H
#define DARKDAQ_METRICS_H

#include <stdint.h>
#include <stddef.h>

#include "prom.h"

#define METRICS_DEFAULT_ADDR    "127.0.0.1:9464"
#define METRICS_CONTENT_TYPE    "text/plain; version=0.0.4; charset=utf-8"

typedef struct metrics metrics_t;

/* Writes the exposition into out (prom_family, prom_u64, ...).  Returns 0,
 * or < 0 to answer 500 instead (so does a prom_error() left in out).  ctx
 * is metrics_new()'s. */
typedef int (*metrics_render_fn)(prom_t *out, void *ctx);

/* Listens on addr_port: "HOST:PORT" or "[IPV6]:PORT" (NULL or "":
 * METRICS_DEFAULT_ADDR; port 0: any free port, see metrics_port()).  HOST
 * is an address or a name from /etc/hosts such as localhost, bound as given
 * (0.0.0.0 only if asked for).  Returns 0 and *ret, or -errno with err
 * saying what and where ("metrics 127.0.0.1:9464: Address already in use"):
 * -EINVAL for an address that is not HOST:PORT or does not resolve, the
 * socket's -errno (-EADDRINUSE, -EACCES, ...), -EIO when libmicrohttpd does
 * not start, -ENOMEM. */
int metrics_new(metrics_t **ret, const char *addr_port, metrics_render_fn fn, void *ctx,
                char *err, size_t errlen);

/* Stops the thread and closes the socket.  Accepts NULL; returns NULL. */
metrics_t *metrics_free(metrics_t *m);

/* The port listened on. */
uint16_t metrics_port(const metrics_t *m);

/* Requests for /metrics answered so far (any thread). */
uint64_t metrics_scrapes(const metrics_t *m);

/* Splits "HOST:PORT" or "[IPV6]:PORT" (port 0..65535) into host and port.
 * Returns 0 or -EINVAL. */
int metrics_split_host_port(const char *addr_port, char *host, size_t hostlen, char *port,
                            size_t portlen);

#endif
