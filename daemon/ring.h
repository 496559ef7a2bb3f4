/* SPDX-License-Identifier: Apache-2.0 */
/* ring: a bounded single-producer/single-consumer queue of variable-length
 * messages between a source thread and the core thread.  Lock-free (C11
 * acquire/release on two counters); a sleeping consumer is woken through an
 * eventfd it polls, a producer waiting for room through a second one.  It
 * owns its memory (allocated once); it does no logging. */
#ifndef DARKDAQ_RING_H
#define DARKDAQ_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ring ring_t;

/* A ring of capacity bytes (rounded up to a power of two, at least 4 KiB).
 * The largest message it takes is ring_max_message().  NULL on failure
 * (errno set). */
ring_t *ring_new(size_t capacity);
/* Accepts NULL.  Returns NULL. */
ring_t *ring_free(ring_t *r);

size_t ring_capacity(const ring_t *r);
/* Largest len ring_reserve() can ever satisfy: capacity / 2 - 8. */
size_t ring_max_message(const ring_t *r);

/* ---- producer side (one thread) ---- */

/* Room for a message of len bytes, 8-aligned, or NULL when the ring is too
 * full now (or len > ring_max_message()).  Nothing is visible to the
 * consumer until ring_commit(). */
void *ring_reserve(ring_t *r, size_t len);
/* Publishes the message reserved last, of len bytes (<= the reserved len),
 * and wakes the consumer if it sleeps. */
void ring_commit(ring_t *r, size_t len);

/* The same without the wake: a producer that publishes a batch commits
 * quietly and then calls ring_notify() once (one wake-up per batch instead
 * of one per message, which otherwise costs a syscall and a context switch
 * per fragment). */
void ring_commit_quiet(ring_t *r, size_t len);
/* Wakes the consumer if it sleeps. */
void ring_notify(ring_t *r);
/* Waits until len bytes may be reserved, or timeout_ms passes (-1: no
 * bound), or ring_interrupt() is called.  Returns true when there is room. */
bool ring_wait_room(ring_t *r, size_t len, int timeout_ms);
/* Wakes a producer waiting in ring_wait_room() (from any thread). */
void ring_interrupt(ring_t *r);

/* ---- consumer side (one thread) ---- */

/* The oldest message and its length, or NULL when empty.  It stays valid
 * until ring_release(). */
const void *ring_peek(ring_t *r, size_t *ret_len);
/* Drops the message ring_peek() returned and wakes a waiting producer. */
void ring_release(ring_t *r);
/* Call before sleeping on ring_wake_fd(): returns false if a message is
 * already there (do not sleep), true if the fd will become readable at the
 * next commit.  The consumer then reads the fd (ring_clear_wake()). */
bool ring_prepare_sleep(ring_t *r);
int ring_wake_fd(const ring_t *r);
void ring_clear_wake(ring_t *r);

/* Bytes in use now (for status; approximate from a third thread). */
size_t ring_used(const ring_t *r);

#endif
