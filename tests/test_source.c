/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the source thread with a scripted driver: what a driver hands
 * over reaches the ring as stream items, in order, and a DRIVER_RESET (a USB
 * board unplugged mid-fragment) turns the cut fragment into a bad item while
 * every complete fragment before and after it is kept, offsets running on. */
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "check.h"
#include "config.h"
#include "driver.h"
#include "frag_build.h"
#include "source.h"

/* The script: chunks of bytes, a reset, more bytes, then the end. */
static uint8_t s_bytes[4096];
static size_t s_len_a, s_len_b, s_len_total;

struct driver_handle {
        int step;
};

static int s_open(driver_handle_t **ret, const void *options, char *err, size_t errlen)
{
        (void)options;
        (void)err;
        (void)errlen;
        *ret = calloc(1, sizeof(**ret));
        return *ret ? 0 : -ENOMEM;
}

static int s_start(driver_handle_t *h, char *err, size_t errlen)
{
        (void)err;
        (void)errlen;
        h->step = 0;
        return 0;
}

static void s_stop(driver_handle_t *h) { (void)h; }
static void s_busy(driver_handle_t *h, bool on) { (void)h; (void)on; }
static void s_close(driver_handle_t *h) { free(h); }

static ssize_t s_read(driver_handle_t *h, void *buf, size_t len, int timeout_ms, char *err,
                      size_t errlen)
{
        (void)len;
        (void)timeout_ms;
        (void)err;
        (void)errlen;
        switch (h->step++) {
        case 0: /* two whole fragments and half of a third */
                memcpy(buf, s_bytes, s_len_a);
                return (ssize_t)s_len_a;
        case 1:
                return DRIVER_RESET;
        case 2: /* the board is back: two whole fragments */
                memcpy(buf, s_bytes + s_len_a, s_len_b);
                return (ssize_t)s_len_b;
        default:
                return DRIVER_END;
        }
}

static void s_health(driver_handle_t *h, struct driver_health *ret)
{
        ret->unplugs = h->step >= 2;
        ret->reconnects = h->step >= 3;
        ret->attached = true;
}

static const struct driver driver_script = {
        .name = "script", .open = s_open, .start = s_start, .stop = s_stop, .busy = s_busy,
        .read = s_read, .close = s_close, .health = s_health,
};

TEST(reset_makes_the_cut_fragment_bad_and_keeps_the_rest)
{
        size_t f1 = fb_fragment(s_bytes, 2, 1, 1);
        size_t f2 = fb_fragment(s_bytes + f1, 2, 2, 2);
        static uint8_t third[512];
        size_t f3 = fb_fragment(third, 2, 3, 3);
        memcpy(s_bytes + f1 + f2, third, f3 / 2);              /* cut by the unplug */
        s_len_a = f1 + f2 + f3 / 2;
        size_t f4 = fb_fragment(s_bytes + s_len_a, 2, 4, 1);
        size_t f5 = fb_fragment(s_bytes + s_len_a + f4, 2, 5, 1);
        s_len_b = f4 + f5;
        s_len_total = s_len_a + s_len_b;

        REQUIRE_OK_ZERO(driver_register(&driver_script));
        CHECK_ERRNO(driver_register(&driver_script), -EEXIST);
        struct source_config cfg;
        memset(&cfg, 0, sizeof cfg);
        snprintf(cfg.name, sizeof cfg.name, "usb-like");
        snprintf(cfg.driver, sizeof cfg.driver, "script");
        source_t *src = NULL;
        char err[256];
        REQUIRE_OK_ZERO(source_new(&src, &cfg, 0, 1u << 20, err, sizeof err));
        REQUIRE_OK_ZERO(source_start(src, err, sizeof err));

        ring_t *ring = source_ring(src);
        uint32_t good[8];
        size_t n_good = 0, n_bad = 0, bytes = 0;
        uint64_t next_offset = 0;
        bool ended = false, offsets_ok = true;
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (!ended) {
                size_t len;
                const struct source_msg *m = ring_peek(ring, &len);
                if (!m) {
                        clock_gettime(CLOCK_MONOTONIC, &now);
                        if (now.tv_sec - t0.tv_sec > 30)
                                break;          /* a hang: the checks below fail */
                        sched_yield();
                        continue;
                }
                if (m->kind == SOURCE_MSG_END) {
                        ended = true;
                } else {
                        offsets_ok &= m->item.offset == next_offset;
                        next_offset += m->item.bytes;
                        bytes += m->item.bytes;
                        if (m->item.kind == STREAM_FRAGMENT && n_good < 8)
                                good[n_good++] = m->item.hdr.trigger;
                        else if (m->item.kind != STREAM_FRAGMENT)
                                n_bad++;
                }
                ring_release(ring);
        }
        source_join(src);
        CHECK(ended);
        CHECK_EQ_U(n_good, 4);
        CHECK(n_good == 4 && good[0] == 1 && good[1] == 2 && good[2] == 4 && good[3] == 5);
        CHECK_EQ_U(n_bad, 1);                  /* the cut third fragment */
        CHECK(offsets_ok);
        CHECK_EQ_U(bytes, s_len_total);          /* every byte once */
        struct source_counters c;
        source_get_counters(src, 0, &c);
        CHECK_EQ_U(c.resets, 1);
        CHECK_EQ_U(c.health.unplugs, 1);
        CHECK_EQ_U(c.fragments, 4);
        source_free(src);
}

TEST_MAIN()
