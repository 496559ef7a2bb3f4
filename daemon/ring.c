/* SPDX-License-Identifier: Apache-2.0 */
/* ring: two monotonic byte counters (head: consumer, tail: producer) over a
 * power-of-two buffer.  Each message is an 8-byte length word and its bytes,
 * padded to 8; a message never wraps: when it would, the producer writes a
 * skip word and starts again at offset 0.  Wake-ups use the "announce, then
 * re-check" protocol with sequentially consistent fences, so a commit that
 * races with the consumer going to sleep is never missed. */
#include "ring.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define RING_SKIP       UINT64_MAX
#define RING_MIN        4096u

struct ring {
        uint8_t *buf;                   /* capacity bytes */
        size_t cap;                     /* power of two */
        _Alignas(64) _Atomic uint64_t head;     /* consumer: bytes released */
        _Atomic int consumer_sleeping;  /* set by the consumer before it polls */
        _Alignas(64) _Atomic uint64_t tail;     /* producer: bytes committed */
        _Atomic int producer_waiting;   /* set by the producer before it polls */
        uint64_t reserved_at;           /* producer: where the reserved message starts */
        uint64_t peek_end;              /* consumer: head after ring_release() */
        int wake_fd;                    /* consumer's eventfd */
        int room_fd;                    /* producer's eventfd */
};

static size_t s_pad(size_t n)
{
        return (n + 7) & ~(size_t)7;
}

ring_t *ring_new(size_t capacity)
{
        ring_t *r = calloc(1, sizeof(*r));
        size_t cap = RING_MIN;

        if (!r)
                return NULL;
        while (cap < capacity)
                cap <<= 1;
        r->cap = cap;
        r->wake_fd = r->room_fd = -1;
        r->buf = aligned_alloc(64, cap);
        r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        r->room_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (!r->buf || r->wake_fd < 0 || r->room_fd < 0)
                return ring_free(r);
        return r;
}

ring_t *ring_free(ring_t *r)
{
        if (!r)
                return NULL;
        if (r->wake_fd >= 0)
                close(r->wake_fd);
        if (r->room_fd >= 0)
                close(r->room_fd);
        free(r->buf);
        free(r);
        return NULL;
}

size_t ring_capacity(const ring_t *r)
{
        return r->cap;
}

size_t ring_max_message(const ring_t *r)
{
        return r->cap / 2 - 8;
}

static void s_signal(int fd)
{
        uint64_t one = 1;
        ssize_t n = write(fd, &one, sizeof one);
        (void)n;                        /* EAGAIN: the counter is already non-zero */
}

static void s_drain(int fd)
{
        uint64_t v;
        ssize_t n = read(fd, &v, sizeof v);
        (void)n;
}

/* Where a message of len bytes would start, or UINT64_MAX if no room. */
static uint64_t s_place(ring_t *r, size_t len, uint64_t tail, uint64_t head)
{
        size_t need = 8 + s_pad(len);
        size_t pos = (size_t)(tail & (r->cap - 1));
        uint64_t at = tail;

        if (len > ring_max_message(r))
                return UINT64_MAX;
        if (pos + need > r->cap)
                at = tail + (r->cap - pos);     /* skip to offset 0 */
        if (at + need - head > r->cap)
                return UINT64_MAX;
        return at;
}

void *ring_reserve(ring_t *r, size_t len)
{
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
        uint64_t at = s_place(r, len, tail, head);

        if (at == UINT64_MAX)
                return NULL;
        if (at != tail)
                memcpy(r->buf + (tail & (r->cap - 1)), &(uint64_t){ RING_SKIP }, 8);
        r->reserved_at = at;
        return r->buf + (at & (r->cap - 1)) + 8;
}

void ring_commit_quiet(ring_t *r, size_t len)
{
        uint64_t at = r->reserved_at, v = len;

        memcpy(r->buf + (at & (r->cap - 1)), &v, 8);
        /* release: the bytes and length are written before the tail moves */
        atomic_store_explicit(&r->tail, at + 8 + s_pad(len), memory_order_release);
}

void ring_notify(ring_t *r)
{
        /* pairs with the fence in ring_prepare_sleep(): either the consumer
         * sees the new tail, or we see it sleeping */
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load_explicit(&r->consumer_sleeping, memory_order_relaxed) &&
            atomic_exchange(&r->consumer_sleeping, 0))
                s_signal(r->wake_fd);
}

void ring_commit(ring_t *r, size_t len)
{
        ring_commit_quiet(r, len);
        ring_notify(r);
}

bool ring_wait_room(ring_t *r, size_t len, int timeout_ms)
{
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

        if (len > ring_max_message(r))
                return false;
        atomic_store(&r->producer_waiting, 1);
        atomic_thread_fence(memory_order_seq_cst);
        if (s_place(r, len, tail, atomic_load(&r->head)) != UINT64_MAX) {
                atomic_store(&r->producer_waiting, 0);
                return true;
        }
        struct pollfd p = { .fd = r->room_fd, .events = POLLIN };
        poll(&p, 1, timeout_ms);
        s_drain(r->room_fd);
        atomic_store(&r->producer_waiting, 0);
        return s_place(r, len, tail, atomic_load(&r->head)) != UINT64_MAX;
}

void ring_interrupt(ring_t *r)
{
        s_signal(r->room_fd);
}

const void *ring_peek(ring_t *r, size_t *ret_len)
{
        uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        uint64_t len;

        if (head == tail)
                return NULL;
        memcpy(&len, r->buf + (head & (r->cap - 1)), 8);
        if (len == RING_SKIP) {
                head += r->cap - (head & (r->cap - 1));
                memcpy(&len, r->buf + (head & (r->cap - 1)), 8);
        }
        r->peek_end = head + 8 + s_pad((size_t)len);
        *ret_len = (size_t)len;
        return r->buf + (head & (r->cap - 1)) + 8;
}

void ring_release(ring_t *r)
{
        /* release: the consumer is done with the bytes before the producer may reuse them */
        atomic_store_explicit(&r->head, r->peek_end, memory_order_release);
        atomic_thread_fence(memory_order_seq_cst);
        /* Wake a waiting producer once, when half the ring is free: room
         * for any message (ring_max_message() is half the ring), and one
         * wake-up per half ring rather than one per message released. */
        if (atomic_load_explicit(&r->producer_waiting, memory_order_relaxed) &&
            atomic_load_explicit(&r->tail, memory_order_relaxed) - r->peek_end <= r->cap / 2 &&
            atomic_exchange(&r->producer_waiting, 0))
                s_signal(r->room_fd);
}

bool ring_prepare_sleep(ring_t *r)
{
        atomic_store(&r->consumer_sleeping, 1);
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load(&r->tail) != atomic_load_explicit(&r->head, memory_order_relaxed)) {
                atomic_store(&r->consumer_sleeping, 0);
                return false;
        }
        return true;
}

int ring_wake_fd(const ring_t *r)
{
        return r->wake_fd;
}

void ring_clear_wake(ring_t *r)
{
        atomic_store(&r->consumer_sleeping, 0);
        s_drain(r->wake_fd);
}

size_t ring_used(const ring_t *r)
{
        return (size_t)(atomic_load_explicit(&((ring_t *)r)->tail, memory_order_relaxed) -
                        atomic_load_explicit(&((ring_t *)r)->head, memory_order_relaxed));
}
