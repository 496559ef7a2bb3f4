/* SPDX-License-Identifier: Apache-2.0 */
/* ctlclient: asks darkdaqd for `status` over its control socket (REQ) every
 * period_ms and takes the reply without ever blocking.  A request that gets
 * no reply within timeout_ms is abandoned with its socket (a REQ socket that
 * missed a reply cannot send again) and the next one goes out on a fresh
 * socket, so the client recovers by itself when the daemon comes back. */
#ifndef DARKDAQ_MON_CTLCLIENT_H
#define DARKDAQ_MON_CTLCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"

typedef struct ctlclient ctlclient_t;

/* Connects to endpoint on zctx, with CURVE when ac says so (auth.h;
 * the key files are read at every reconnection).  Returns 0, or -errno with
 * err saying why (a malformed endpoint, a key that cannot be used: -EPERM
 * for a non-local endpoint without keys). */
int ctlclient_new(ctlclient_t **ret, void *zctx, const char *endpoint, int period_ms,
                  int timeout_ms, const struct auth_client_config *ac, char *err,
                  size_t errlen);
ctlclient_t *ctlclient_free(ctlclient_t *c);

/* Sends a request when one is due, gives up on one that is overdue.
 * Returns 1 when a request timed out just now, else 0. */
int ctlclient_tick(ctlclient_t *c, int64_t now_ms);
/* The socket to poll for POLLIN, NULL when no request is out. */
void *ctlclient_socket(ctlclient_t *c);
/* Milliseconds until tick() has something to do (>= 0). */
int ctlclient_wait_ms(const ctlclient_t *c, int64_t now_ms);
/* Takes the reply if there is one: returns its length and sets *ret_text to
 * a buffer the client owns (valid until the next call), or 0 when none,
 * or -errno. */
int ctlclient_recv(ctlclient_t *c, int64_t now_ms, const char **ret_text);

#endif
