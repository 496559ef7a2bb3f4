/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the PCIe DMA ring protocol: register checks; every fragment
 * exactly once, in order, through a 64 KiB ring whose end they wrap, between
 * two threads (this test also runs under ThreadSanitizer) and between two
 * processes sharing a regular file; OVERFLOW and DROPPED when the host stops
 * reading. */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

#include "check.h"
#include "frag_build.h"
#include "pcie_ring.h"
#include "stream.h"

#define RING (64u * 1024)

static double s_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

TEST(attach_checks_every_register)
{
        static uint8_t map[PCIE_REGS_BYTES + RING] __attribute__((aligned(64)));
        struct pcie_ring fpga, host;
        char err[160];
        REQUIRE_OK_ZERO(pcie_fpga_init(&fpga, map, RING));
        CHECK_OK_ZERO(pcie_ring_attach(&host, map, sizeof map, err, sizeof err));
        CHECK_EQ_U(host.size, RING);
        map[4] = 2;
        CHECK_ERRNO(pcie_ring_attach(&host, map, sizeof map, err, sizeof err), -EINVAL);
        CHECK(strstr(err, "VERSION") != NULL);
        map[4] = 1;
        map[0] = 'X';
        CHECK_ERRNO(pcie_ring_attach(&host, map, sizeof map, err, sizeof err), -EINVAL);
        CHECK(strstr(err, "ID") != NULL);
        map[0] = 'D';
        fb_put32(map + 8, RING + 4);
        CHECK_ERRNO(pcie_ring_attach(&host, map, sizeof map, err, sizeof err), -EINVAL);
        CHECK(strstr(err, "RING_BYTES") != NULL);
        fb_put32(map + 8, 2 * RING);
        CHECK_ERRNO(pcie_ring_attach(&host, map, sizeof map, err, sizeof err), -EINVAL);
        CHECK(strstr(err, "mapping") != NULL);
        CHECK_ERRNO(pcie_fpga_init(&fpga, map, 1000), -EINVAL);
}

struct reader {
        uint32_t next_trigger;
        uint64_t good, other;
};

static int s_check_item(void *ctx, const struct stream_item *it)
{
        struct reader *rd = ctx;
        if (it->kind == STREAM_FRAGMENT && it->hdr.trigger == rd->next_trigger) {
                rd->next_trigger++;
                rd->good++;
        } else {
                rd->other++;
        }
        return 0;
}

/* Reads until n fragments arrived or the bound (s) passes; returns bytes. */
static uint64_t s_host_read(struct pcie_ring *host, struct reader *rd, uint64_t n, double bound)
{
        stream_t *s = stream_new();
        uint64_t bytes = 0;
        double end = s_now() + bound;
        while (rd->good + rd->other < n && s_now() < end) {
                const uint8_t *p1, *p2;
                size_t n1, n2;
                int64_t avail = pcie_ring_peek(host, &p1, &n1, &p2, &n2);
                if (avail <= 0) {
                        if (avail < 0)
                                break;
                        sched_yield();
                        continue;
                }
                stream_feed(s, p1, n1, s_check_item, rd, NULL);
                stream_feed(s, p2, n2, s_check_item, rd, NULL);
                pcie_ring_consume(host, (uint64_t)avail);
                bytes += (uint64_t)avail;
        }
        stream_finish(s, s_check_item, rd);
        stream_free(s);
        return bytes;
}

/* Writes n fragments of varying size (5..~200 tracks) with triggers 0..n-1,
 * waiting (spinning) while the ring is full. */
static void s_fpga_write(struct pcie_ring *fpga, uint64_t n, double bound)
{
        static _Thread_local uint8_t frag[8192];
        double end = s_now() + bound;
        for (uint64_t t = 0; t < n && s_now() < end;) {
                size_t len = fb_fragment(frag, 1, (uint32_t)t, 5 + (unsigned)(t * 37 % 200));
                int r = pcie_fpga_write(fpga, frag, len);
                if (r == 1)
                        t++;
                else
                        sched_yield();
        }
}

struct writer_arg { struct pcie_ring *fpga; uint64_t n; };

static void *s_writer_thread(void *arg)
{
        struct writer_arg *w = arg;
        s_fpga_write(w->fpga, w->n, 120);
        return NULL;
}

TEST(two_threads_every_fragment_once_wrapping_the_ring)
{
        static uint8_t map[PCIE_REGS_BYTES + RING] __attribute__((aligned(64)));
        struct pcie_ring fpga, host;
        char err[160];
        const uint64_t n = 200000;
        REQUIRE_OK_ZERO(pcie_fpga_init(&fpga, map, RING));
        REQUIRE_OK_ZERO(pcie_ring_attach(&host, map, sizeof map, err, sizeof err));
        struct writer_arg w = { &fpga, n };
        pthread_t th;
        CHECK_ERRNO(pcie_fpga_write(&fpga, map, 8), -EAGAIN);   /* not running */
        pcie_ring_set_ctrl(&host, PCIE_CTRL_RUN, true);
        REQUIRE(pthread_create(&th, NULL, s_writer_thread, &w) == 0);
        struct reader rd = { 0, 0, 0 };
        uint64_t bytes = s_host_read(&host, &rd, n, 120);
        pthread_join(th, NULL);
        CHECK_EQ_U(rd.good, n);
        CHECK_EQ_U(rd.other, 0);
        CHECK(bytes > 100 * (uint64_t)RING);    /* wrapped the ring many times */
        CHECK(!pcie_ring_overflow(&host));
        CHECK_EQ_U(pcie_ring_dropped(&host), 0);
}

TEST(overflow_and_dropped_when_the_host_stops)
{
        static uint8_t map[PCIE_REGS_BYTES + RING] __attribute__((aligned(64)));
        static uint8_t frag[8192];
        struct pcie_ring fpga, host;
        char err[160];
        REQUIRE_OK_ZERO(pcie_fpga_init(&fpga, map, RING));
        REQUIRE_OK_ZERO(pcie_ring_attach(&host, map, sizeof map, err, sizeof err));
        pcie_ring_set_ctrl(&host, PCIE_CTRL_RUN | PCIE_CTRL_BUSY, true);
        CHECK_EQ_U(pcie_fpga_ctrl(&fpga), PCIE_CTRL_RUN | PCIE_CTRL_BUSY);
        pcie_ring_set_ctrl(&host, PCIE_CTRL_BUSY, false);
        CHECK_EQ_U(pcie_fpga_ctrl(&fpga), PCIE_CTRL_RUN);
        uint32_t written = 0, dropped = 0;
        for (uint32_t t = 0; t < 100; t++) {
                size_t len = fb_fragment(frag, 0, t, 100);      /* 2.5 KiB each */
                if (pcie_fpga_write(&fpga, frag, len) == 1) {
                        written++;
                } else {
                        pcie_fpga_drop(&fpga);
                        dropped++;
                }
        }
        CHECK(written > 0 && dropped > 0);
        CHECK(pcie_ring_overflow(&host));
        CHECK_EQ_U(pcie_ring_dropped(&host), dropped);
        const uint8_t *p1, *p2;
        size_t n1, n2;
        CHECK(pcie_ring_peek(&host, &p1, &n1, &p2, &n2) <= RING);
        /* a device that claims more than a ring's worth is caught */
        fb_put32(map + PCIE_REG_WR_PTR, 10 * RING);
        CHECK_ERRNO(pcie_ring_peek(&host, &p1, &n1, &p2, &n2), -EIO);
}

TEST(two_processes_through_a_regular_file)
{
        char path[] = "/tmp/darkdaq-pcie-XXXXXX";
        int fd = mkstemp(path);
        REQUIRE(fd >= 0);
        unlink(path);
        size_t len = pcie_map_bytes(RING);
        REQUIRE(ftruncate(fd, (off_t)len) == 0);
        uint8_t *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        REQUIRE(map != MAP_FAILED);
        struct pcie_ring fpga, host;
        char err[160];
        const uint64_t n = 50000;
        REQUIRE_OK_ZERO(pcie_fpga_init(&fpga, map, RING));
        REQUIRE_OK_ZERO(pcie_ring_attach(&host, map, len, err, sizeof err));
        pcie_ring_set_ctrl(&host, PCIE_CTRL_RUN, true);
        fflush(stdout);         /* the child must not print the parent's buffer */
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
                /* the FPGA: its own mapping of the same file */
                uint8_t *m2 = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                struct pcie_ring f2 = { m2, m2 + PCIE_REGS_BYTES, RING, 0 };
                s_fpga_write(&f2, n, 120);
                _exit(0);
        }
        struct reader rd = { 0, 0, 0 };
        s_host_read(&host, &rd, n, 120);
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK_EQ_U(rd.good, n);
        CHECK_EQ_U(rd.other, 0);
        munmap(map, len);
        close(fd);
}

TEST_MAIN()
