/* SPDX-License-Identifier: Apache-2.0 */
/* ctlclient: the reply buffer holds the largest status the daemon makes
 * (tens of kB with many sources); a longer reply is truncated by ZeroMQ and
 * then fails to parse, which the model reports. */
#include "ctlclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#define REPLY_MAX       (1u << 20)

struct ctlclient {
        void *zctx;                     /* not owned */
        void *req;                      /* the current REQ socket */
        char endpoint[256];
        struct auth_client_config ac;   /* its strings are the caller's, for our life */
        char err[256];                  /* why the last s_open failed */
        int period_ms, timeout_ms;
        bool waiting;                   /* a request is out */
        int64_t sent_ms;                /* when it went */
        int64_t next_ms;                /* when the next one goes */
        char *reply;                    /* REPLY_MAX + 1 */
};

static int s_open(ctlclient_t *c)
{
        int linger = 0;

        c->req = zmq_socket(c->zctx, ZMQ_REQ);
        if (!c->req)
                return -zmq_errno();
        zmq_setsockopt(c->req, ZMQ_LINGER, &linger, sizeof linger);
        int r = auth_apply_client(c->req, c->endpoint, &c->ac, c->err, sizeof c->err);
        if (r < 0) {
                zmq_close(c->req);
                c->req = NULL;
                return r;
        }
        if (zmq_connect(c->req, c->endpoint) < 0) {
                int e = zmq_errno();
                zmq_close(c->req);
                c->req = NULL;
                return -e;
        }
        return 0;
}

int ctlclient_new(ctlclient_t **ret, void *zctx, const char *endpoint, int period_ms,
                  int timeout_ms, const struct auth_client_config *ac, char *err,
                  size_t errlen)
{
        ctlclient_t *c = calloc(1, sizeof *c);
        int r;

        if (!c || !(c->reply = malloc(REPLY_MAX + 1))) {
                free(c);
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        c->zctx = zctx;
        snprintf(c->endpoint, sizeof c->endpoint, "%s", endpoint);
        c->period_ms = period_ms;
        c->timeout_ms = timeout_ms;
        if (ac)
                c->ac = *ac;
        if ((r = s_open(c)) < 0) {
                snprintf(err, errlen, "control endpoint %s: %s%s", endpoint,
                         c->err[0] ? c->err : zmq_strerror(-r), r == -EPERM ? " (a non-local "
                         "endpoint needs --client-key and --server-public-key)" : "");
                ctlclient_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

ctlclient_t *ctlclient_free(ctlclient_t *c)
{
        if (!c)
                return NULL;
        if (c->req)
                zmq_close(c->req);
        free(c->reply);
        free(c);
        return NULL;
}

int ctlclient_tick(ctlclient_t *c, int64_t now_ms)
{
        if (c->waiting) {
                if (now_ms - c->sent_ms < c->timeout_ms)
                        return 0;
                zmq_close(c->req);
                c->req = NULL;
                c->waiting = false;
                c->next_ms = now_ms;
                s_open(c);      /* the endpoint was good once: this fails only without memory */
                return 1;
        }
        if (now_ms >= c->next_ms && c->req) {
                if (zmq_send(c->req, "status", 6, ZMQ_DONTWAIT) == 6) {
                        c->waiting = true;
                        c->sent_ms = now_ms;
                }
                c->next_ms = now_ms + c->period_ms;
        }
        return 0;
}

void *ctlclient_socket(ctlclient_t *c)
{
        return c->waiting ? c->req : NULL;
}

int ctlclient_wait_ms(const ctlclient_t *c, int64_t now_ms)
{
        int64_t at = c->waiting ? c->sent_ms + c->timeout_ms : c->next_ms;
        return at > now_ms ? (int)(at - now_ms) : 0;
}

int ctlclient_recv(ctlclient_t *c, int64_t now_ms, const char **ret_text)
{
        if (!c->waiting)
                return 0;
        int n = zmq_recv(c->req, c->reply, REPLY_MAX, ZMQ_DONTWAIT);
        if (n < 0)
                return zmq_errno() == EAGAIN ? 0 : -zmq_errno();
        if (n > (int)REPLY_MAX)
                n = (int)REPLY_MAX;
        c->reply[n] = '\0';
        c->waiting = false;
        /* keep the period from the send, not from the reply */
        if (c->next_ms < now_ms)
                c->next_ms = now_ms;
        *ret_text = c->reply;
        return n;
}
