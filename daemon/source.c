/* SPDX-License-Identifier: Apache-2.0 */
/* source: the source thread.  Counters are written by the thread with relaxed
 * atomics and read by the core for status; the items themselves cross in the
 * ring (acquire/release). */
#include "source.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "driver.h"

#define SOURCE_BUF_BYTES        (FRAG_MAX_BYTES + 4096)

struct source {
        char name[CONFIG_NAME_MAX];
        uint32_t index;                 /* stream index */
        const struct driver *drv;
        driver_handle_t *h;
        ring_t *ring;
        stream_t *st;                   /* this run's reader */
        uint8_t *buf;                   /* driver reads land here */
        pthread_t thread;
        bool thread_live;               /* thread created and not joined */
        _Atomic bool abort;             /* exit now */
        char error[256];                /* why the stream ended early */
        /* counters */
        _Atomic uint64_t bytes, fragments, bad, junk, junk_bytes, ring_waits;
        _Atomic uint64_t resets;
        /* the driver's health, published by the source thread */
        _Atomic uint64_t h_reconnects, h_unplugs, h_errors, h_dropped;
        _Atomic bool h_overflow, h_attached;
        _Atomic uint64_t last_activity_ms;
        _Atomic uint64_t alive_ms;      /* the thread's liveness stamp (source_alive_ms) */
        bool busy;                      /* core thread only */
        uint64_t busy_since_ms, busy_ms;        /* core thread only */
};

static void s_add(_Atomic uint64_t *c, uint64_t n)
{
        atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* The thread ran just now: what it took from the driver is in the ring
 * (release: a core that sees the stamp sees those items). */
static void s_alive(source_t *s)
{
        atomic_store_explicit(&s->alive_ms, clock_mono_ms(), memory_order_release);
}

/* The driver's health, for source_get_counters. */
static void s_publish_health(source_t *s)
{
        struct driver_health hh = { 0 };

        if (!s->drv->health)
                return;
        s->drv->health(s->h, &hh);
        atomic_store_explicit(&s->h_reconnects, hh.reconnects, memory_order_relaxed);
        atomic_store_explicit(&s->h_unplugs, hh.unplugs, memory_order_relaxed);
        atomic_store_explicit(&s->h_errors, hh.errors, memory_order_relaxed);
        atomic_store_explicit(&s->h_dropped, hh.upstream_dropped, memory_order_relaxed);
        atomic_store_explicit(&s->h_overflow, hh.overflow, memory_order_relaxed);
        atomic_store_explicit(&s->h_attached, hh.attached, memory_order_relaxed);
}

int source_new(source_t **ret, const struct source_config *cfg, uint32_t index,
               size_t ring_bytes, char *err, size_t errlen)
{
        char e[256] = "";
        source_t *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        snprintf(s->name, sizeof s->name, "%s", cfg->name);
        s->index = index;
        s->drv = driver_find(cfg->driver);
        if (!s->drv) {
                snprintf(err, errlen, "source \"%s\": no driver \"%s\"", cfg->name, cfg->driver);
                free(s);
                return -EINVAL;
        }
        s->ring = ring_new(ring_bytes);
        s->buf = malloc(SOURCE_BUF_BYTES);
        if (!s->ring || !s->buf) {
                snprintf(err, errlen, "source \"%s\": out of memory", cfg->name);
                source_free(s);
                return -ENOMEM;
        }
        r = s->drv->open(&s->h, cfg->options, e, sizeof e);
        if (r < 0) {
                snprintf(err, errlen, "source \"%s\" (%s): %s", cfg->name, cfg->driver, e);
                source_free(s);
                return r;
        }
        if (e[0])
                snprintf(err, errlen, "source \"%s\" (%s): %s", cfg->name, cfg->driver, e);
        else if (errlen)
                err[0] = '\0';
        s_publish_health(s);    /* status tells from configure on whether the board is there */
        *ret = s;
        return 0;
}

source_t *source_free(source_t *s)
{
        if (!s)
                return NULL;
        source_abort(s);
        if (s->h)
                s->drv->close(s->h);
        stream_free(s->st);
        ring_free(s->ring);
        free(s->buf);
        free(s);
        return NULL;
}

/* Copies one item into the ring, waiting for room. */
static int s_push(void *ctx, const struct stream_item *it)
{
        source_t *s = ctx;
        size_t len = sizeof(struct source_msg) + it->bytes;
        struct source_msg *m;

        switch (it->kind) {
        case STREAM_FRAGMENT:
                s_add(&s->fragments, 1);
                break;
        case STREAM_JUNK:
                s_add(&s->junk, 1);
                s_add(&s->junk_bytes, it->bytes);
                break;
        default:
                s_add(&s->bad, 1);
        }
        while (!(m = ring_reserve(s->ring, len))) {
                s_add(&s->ring_waits, 1);
                if (atomic_load(&s->abort))
                        return 1;
                ring_notify(s->ring);   /* the batch so far: the core must drain it */
                s_alive(s);             /* waiting for the core is not a stall */
                ring_wait_room(s->ring, len, SOURCE_READ_TIMEOUT_MS);
        }
        m->kind = SOURCE_MSG_ITEM;
        m->reserved = 0;
        m->item = *it;
        m->item.data = NULL;
        memcpy(m + 1, it->data, it->bytes);
        ring_commit_quiet(s->ring, len);     /* s_thread wakes the core per read */
        return 0;
}

/* Passes a driver's line for the log to the core, in order with the items.
 * Returns 1 if aborted while waiting for room. */
static int s_note(source_t *s, const char *text)
{
        size_t n = strlen(text), len = sizeof(struct source_msg) + n;
        struct source_msg *m;

        while (!(m = ring_reserve(s->ring, len))) {
                if (atomic_load(&s->abort))
                        return 1;
                ring_notify(s->ring);
                ring_wait_room(s->ring, len, SOURCE_READ_TIMEOUT_MS);
        }
        memset(m, 0, sizeof *m);
        m->kind = SOURCE_MSG_NOTE;
        m->item.bytes = n;
        memcpy(m + 1, text, n);
        ring_commit(s->ring, len);
        return 0;
}

static void s_end(source_t *s)
{
        struct source_msg *m;
        while (!(m = ring_reserve(s->ring, sizeof *m))) {
                if (atomic_load(&s->abort))
                        return;
                ring_wait_room(s->ring, sizeof *m, SOURCE_READ_TIMEOUT_MS);
        }
        memset(m, 0, sizeof *m);
        m->kind = SOURCE_MSG_END;
        ring_commit(s->ring, sizeof *m);
}

static void *s_thread(void *arg)
{
        source_t *s = arg;
        char e[256];

        while (!atomic_load(&s->abort)) {
                e[0] = '\0';
                ssize_t n = s->drv->read(s->h, s->buf, SOURCE_BUF_BYTES, SOURCE_READ_TIMEOUT_MS,
                                         e, sizeof e);
                if (n > 0) {
                        s_add(&s->bytes, (uint64_t)n);
                        atomic_store_explicit(&s->last_activity_ms, clock_mono_ms(),
                                              memory_order_relaxed);
                        int r = stream_feed(s->st, s->buf, (size_t)n, s_push, s, NULL);
                        ring_notify(s->ring);
                        s_alive(s);
                        if (r < 0)
                                snprintf(s->error, sizeof s->error, "stream reader: %s",
                                         strerror(-r));
                        if (r != 0)
                                break;
                        continue;
                }
                s_publish_health(s);
                if (n == 0) {
                        s_alive(s);     /* ran, and the board had nothing: silence */
                        continue;
                }
                if (n == DRIVER_NO_VERDICT)
                        continue;       /* the board itself got no CPU: not its silence */
                if (n == DRIVER_NOTE) {
                        if (s_note(s, e) != 0)
                                break;
                        s_alive(s);
                        continue;
                }
                if (n == DRIVER_RESET) {
                        /* the board's stream broke: its cut fragment is junk,
                         * and the next bytes start a new stream at this offset */
                        s_add(&s->resets, 1);
                        int r = stream_finish(s->st, s_push, s);
                        ring_notify(s->ring);
                        if (r != 0)
                                break;
                        continue;
                }
                if (n != DRIVER_END)
                        snprintf(s->error, sizeof s->error, "%s", e[0] ? e : strerror((int)-n));
                break;
        }
        if (!atomic_load(&s->abort)) {
                stream_finish(s->st, s_push, s);
                s_end(s);
        }
        return NULL;
}

int source_start(source_t *s, char *err, size_t errlen)
{
        char e[256] = "";
        sigset_t all, old;
        int r;

        source_abort(s);
        stream_free(s->st);
        s->st = stream_new();
        if (!s->st) {
                snprintf(err, errlen, "source \"%s\": out of memory", s->name);
                return -ENOMEM;
        }
        /* drop what an aborted run left in the ring */
        size_t len;
        while (ring_peek(s->ring, &len))
                ring_release(s->ring);
        s->error[0] = '\0';
        atomic_store(&s->abort, false);
        s_alive(s);
        r = s->drv->start(s->h, e, sizeof e);
        if (r < 0) {
                snprintf(err, errlen, "source \"%s\" (%s): %s", s->name, s->drv->name, e);
                return r;
        }
        /* signals go to the core thread's signalfd, never to this one */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = pthread_create(&s->thread, NULL, s_thread, s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                s->drv->stop(s->h);
                snprintf(err, errlen, "source \"%s\": cannot start its thread: %s", s->name,
                         strerror(r));
                return -r;
        }
        {
                /* for top -H: the kernel keeps 15 bytes */
                char tname[16];
                size_t k = strnlen(s->name, 11);

                memcpy(tname, "src-", 4);
                memcpy(tname + 4, s->name, k);
                tname[4 + k] = '\0';
                pthread_setname_np(s->thread, tname);
        }
        s->thread_live = true;
        return 0;
}

void source_stop(source_t *s)
{
        s->drv->stop(s->h);
}

void source_abort(source_t *s)
{
        if (!s->thread_live)
                return;
        atomic_store(&s->abort, true);
        s->drv->stop(s->h);
        ring_interrupt(s->ring);
        pthread_join(s->thread, NULL);
        s->thread_live = false;
}

void source_join(source_t *s)
{
        if (!s->thread_live)
                return;
        pthread_join(s->thread, NULL);
        s->thread_live = false;
}

void source_busy(source_t *s, bool on)
{
        uint64_t now = clock_mono_ms();
        if (on == s->busy)
                return;
        if (on)
                s->busy_since_ms = now;
        else
                s->busy_ms += now - s->busy_since_ms;
        s->busy = on;
        s->drv->busy(s->h, on);
}

ring_t *source_ring(source_t *s)
{
        return s->ring;
}

const char *source_name(const source_t *s)
{
        return s->name;
}

const char *source_driver_name(const source_t *s)
{
        return s->drv->name;
}

const char *source_error(const source_t *s)
{
        return s->error;
}

void source_get_counters(const source_t *s, uint64_t now_ms, struct source_counters *ret)
{
        source_t *m = (source_t *)s;
        memset(ret, 0, sizeof *ret);
        ret->bytes = atomic_load_explicit(&m->bytes, memory_order_relaxed);
        ret->fragments = atomic_load_explicit(&m->fragments, memory_order_relaxed);
        ret->bad = atomic_load_explicit(&m->bad, memory_order_relaxed);
        ret->junk = atomic_load_explicit(&m->junk, memory_order_relaxed);
        ret->junk_bytes = atomic_load_explicit(&m->junk_bytes, memory_order_relaxed);
        ret->ring_waits = atomic_load_explicit(&m->ring_waits, memory_order_relaxed);
        ret->last_activity_ms = atomic_load_explicit(&m->last_activity_ms, memory_order_relaxed);
        ret->busy_ms = s->busy_ms + (s->busy ? now_ms - s->busy_since_ms : 0);
        ret->busy = s->busy;
        ret->running = s->thread_live;
        ret->resets = atomic_load_explicit(&m->resets, memory_order_relaxed);
        ret->health.reconnects = atomic_load_explicit(&m->h_reconnects, memory_order_relaxed);
        ret->health.unplugs = atomic_load_explicit(&m->h_unplugs, memory_order_relaxed);
        ret->health.errors = atomic_load_explicit(&m->h_errors, memory_order_relaxed);
        ret->health.upstream_dropped = atomic_load_explicit(&m->h_dropped, memory_order_relaxed);
        ret->health.overflow = atomic_load_explicit(&m->h_overflow, memory_order_relaxed);
        ret->health.attached = atomic_load_explicit(&m->h_attached, memory_order_relaxed);
}

uint64_t source_alive_ms(const source_t *s)
{
        return atomic_load_explicit(&s->alive_ms, memory_order_acquire);
}
