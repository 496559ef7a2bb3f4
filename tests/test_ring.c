/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the SPSC ring: order and contents, wrap-around with skip words,
 * refusal when full, the wake-up fds, and two threads passing a million
 * messages of varied length: each arrives once, in order, intact. */
#include <poll.h>
#include <pthread.h>

#include "check.h"
#include "ring.h"

TEST(fifo_and_lengths)
{
        ring_t *r = ring_new(4096);
        REQUIRE(r);
        CHECK_EQ_U(ring_capacity(r), 4096);
        for (unsigned i = 0; i < 10; i++) {
                uint8_t *p = ring_reserve(r, i + 1);
                REQUIRE(p);
                memset(p, (int)i, i + 1);
                ring_commit(r, i + 1);
        }
        for (unsigned i = 0; i < 10; i++) {
                size_t len;
                const uint8_t *p = ring_peek(r, &len);
                REQUIRE(p);
                CHECK_EQ_U(len, i + 1);
                CHECK_EQ_U(p[i], i);
                ring_release(r);
        }
        size_t len;
        CHECK(ring_peek(r, &len) == NULL);
        CHECK_EQ_U(ring_used(r), 0);
        ring_free(r);
}

TEST(full_then_room_and_wrap)
{
        ring_t *r = ring_new(4096);
        REQUIRE(r);
        CHECK(ring_reserve(r, ring_max_message(r) + 1) == NULL);
        unsigned n = 0;
        while (ring_reserve(r, 1000)) {
                ring_commit(r, 1000);
                n++;
        }
        CHECK_EQ_U(n, 4);               /* 4 x 1008 bytes fit in 4096 */
        CHECK(!ring_wait_room(r, 1000, 0));
        size_t len;
        CHECK(ring_peek(r, &len) != NULL);
        ring_release(r);
        CHECK(ring_wait_room(r, 1000, 0));
        /* many rounds of odd sizes: messages never straddle the end */
        for (unsigned i = 0; i < 1000; i++) {
                size_t want = 1 + (i * 37) % 1500;
                uint8_t *p;
                while (!(p = ring_reserve(r, want))) {
                        REQUIRE(ring_peek(r, &len));
                        ring_release(r);
                }
                memset(p, (int)(i & 0xff), want);
                p[want - 1] = (uint8_t)(i >> 3);
                ring_commit(r, want);
        }
        unsigned last = 0;
        while (ring_peek(r, &len))
                ring_release(r), last++;
        CHECK(last > 0);
        ring_free(r);
}

TEST(wake_fd_signals_a_commit)
{
        ring_t *r = ring_new(4096);
        REQUIRE(r);
        struct pollfd p = { .fd = ring_wake_fd(r), .events = POLLIN };
        CHECK(ring_prepare_sleep(r));
        CHECK_EQ_U(poll(&p, 1, 0), 0);
        ring_reserve(r, 8);
        ring_commit(r, 8);
        CHECK_EQ_U(poll(&p, 1, 0), 1);
        ring_clear_wake(r);
        CHECK(!ring_prepare_sleep(r));  /* a message waits: do not sleep */
        ring_free(r);
}

#define N_MESSAGES 1000000u

static void *s_producer(void *arg)
{
        ring_t *r = arg;
        for (uint32_t i = 0; i < N_MESSAGES; i++) {
                size_t len = 4 + (i * 2654435761u >> 20) % 300;
                uint8_t *p;
                while (!(p = ring_reserve(r, len)))
                        ring_wait_room(r, len, 1000);
                memcpy(p, &i, 4);
                for (size_t k = 4; k < len; k++)
                        p[k] = (uint8_t)(i + k);
                ring_commit(r, len);
        }
        return NULL;
}

TEST(two_threads_every_message_once_in_order)
{
        ring_t *r = ring_new(1 << 14);
        pthread_t t;
        uint32_t next = 0;
        unsigned bad = 0;
        REQUIRE(r);
        REQUIRE(pthread_create(&t, NULL, s_producer, r) == 0);
        while (next < N_MESSAGES) {
                size_t len;
                const uint8_t *p = ring_peek(r, &len);
                if (!p) {
                        if (ring_prepare_sleep(r)) {
                                struct pollfd pf = { .fd = ring_wake_fd(r), .events = POLLIN };
                                poll(&pf, 1, 1000);
                                ring_clear_wake(r);
                        }
                        continue;
                }
                uint32_t i;
                memcpy(&i, p, 4);
                if (i != next || len != 4 + (i * 2654435761u >> 20) % 300)
                        bad++;
                for (size_t k = 4; k < len; k++)
                        if (p[k] != (uint8_t)(i + k))
                                bad++;
                next = i + 1;
                ring_release(r);
        }
        pthread_join(t, NULL);
        CHECK_EQ_U(bad, 0);
        CHECK_EQ_U(next, N_MESSAGES);
        size_t len;
        CHECK(ring_peek(r, &len) == NULL);
        ring_free(r);
}

TEST_MAIN()
