/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of notify without systemd: the test binds an AF_UNIX datagram socket
 * with SO_PASSCRED and starts a child with NOTIFY_SOCKET, WATCHDOG_USEC=200000
 * and WATCHDOG_PID set; the child runs a small main loop calling notify_*; the
 * test waits on the datagrams (never sleeps) and checks READY=1 first and from
 * the child, WATCHDOG=1 gaps below the interval, STOPPING=1 on SIGTERM. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "notify.h"

#define WATCHDOG_USEC   200000
#define WAIT_MS         5000    /* bound on the wait for any one datagram */
#define N_WATCHDOGS     8

static uint64_t s_now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A datagram socket at addr (path or "@abstract") that passes credentials. */
static int s_listen(const char *addr)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len = strlen(addr);
        int one = 1, fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -1;
        memcpy(sa.sun_path, addr, len);
        if (addr[0] == '@')
                sa.sun_path[0] = '\0';
        else
                len++;
        if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0 ||
            bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) != 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* Waits up to WAIT_MS for one datagram: its text and sender pid.  Returns
 * its length, or -1 when none came. */
static int s_recv(int fd, char *buf, size_t cap, pid_t *ret_pid)
{
        struct pollfd pfd = { fd, POLLIN, 0 };
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(struct ucred))];
        } ctrl;
        struct iovec iov = { buf, cap - 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                              .msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf) };
        ssize_t n;

        *ret_pid = 0;
        if (poll(&pfd, 1, WAIT_MS) != 1)
                return -1;
        n = recvmsg(fd, &msg, 0);
        if (n < 0)
                return -1;
        buf[n] = '\0';
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                        struct ucred cred;
                        memcpy(&cred, CMSG_DATA(c), sizeof(cred));
                        *ret_pid = cred.pid;
                }
        return (int)n;
}

static volatile sig_atomic_t child_stop;

static void s_on_term(int sig)
{
        (void)sig;
        child_stop = 1;
}

/* The child: a daemon's main loop in miniature, paced by poll() timeouts. */
static void s_child_loop(const char *addr)
{
        struct sigaction sa = { .sa_handler = s_on_term };
        char pid[32];
        uint64_t usec, next;

        sigaction(SIGTERM, &sa, NULL);  /* no SA_RESTART: poll() returns EINTR */
        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        setenv("NOTIFY_SOCKET", addr, 1);
        setenv("WATCHDOG_USEC", "200000", 1);
        setenv("WATCHDOG_PID", pid, 1);
        usec = notify_watchdog_usec();
        if (usec != WATCHDOG_USEC)
                _exit(3);
        if (notify_ready() != 1 || notify_status("running, %d sources", 2) != 1)
                _exit(4);
        next = s_now_us() + usec / 2;
        while (!child_stop) {
                uint64_t now = s_now_us();
                if (now >= next) {
                        notify_watchdog();
                        next += usec / 2;
                        continue;
                }
                poll(NULL, 0, (int)((next - now + 999) / 1000));
        }
        notify_stopping();
        _exit(0);
}

TEST(ready_watchdog_stopping_from_child)
{
        char dir[] = "/tmp/darkdaq-notify-XXXXXX", addr[64], buf[256];
        uint64_t t_ready = 0, t_last = 0, max_gap = 0;
        int fd, n_watchdog = 0, status = -1, n;
        pid_t child, from;

        REQUIRE(mkdtemp(dir));
        snprintf(addr, sizeof(addr), "%s/notify", dir);
        fd = s_listen(addr);
        REQUIRE(fd >= 0);
        child = fork();
        REQUIRE(child >= 0);
        if (child == 0) {
                close(fd);
                s_child_loop(addr);
        }

        n = s_recv(fd, buf, sizeof(buf), &from);
        CHECK(n > 0);
        CHECK_STR(buf, "READY=1");
        CHECK_EQ_U(from, child);
        t_ready = t_last = s_now_us();
        while (n_watchdog < N_WATCHDOGS && s_recv(fd, buf, sizeof(buf), &from) > 0) {
                uint64_t now = s_now_us();
                CHECK_EQ_U(from, child);
                if (strncmp(buf, "STATUS=", 7) == 0) {
                        CHECK_STR(buf, "STATUS=running, 2 sources");
                        continue;
                }
                CHECK_STR(buf, "WATCHDOG=1");
                if (now - t_last > max_gap)
                        max_gap = now - t_last;
                t_last = now;
                n_watchdog++;
        }
        CHECK_EQ_U(n_watchdog, N_WATCHDOGS);
        if (max_gap >= WATCHDOG_USEC)
                fprintf(stderr, "largest WATCHDOG=1 gap %" PRIu64 " us\n", max_gap);
        CHECK(max_gap < WATCHDOG_USEC);
        /* paced at half the interval, not faster */
        CHECK(t_last - t_ready >= (uint64_t)(N_WATCHDOGS - 1) * WATCHDOG_USEC / 2);

        CHECK(kill(child, SIGTERM) == 0);
        bool stopping = false;
        while (!stopping && s_recv(fd, buf, sizeof(buf), &from) > 0) {
                CHECK_EQ_U(from, child);
                stopping = strcmp(buf, "STOPPING=1") == 0;
                if (!stopping)
                        CHECK_STR(buf, "WATCHDOG=1");
        }
        CHECK(stopping);
        CHECK_EQ_I(waitpid(child, &status, 0), child);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        close(fd);
        unlink(addr);
        rmdir(dir);
}

TEST(abstract_socket_and_status_text)
{
        char addr[64], buf[700], long_text[600];
        pid_t from;
        int fd;

        snprintf(addr, sizeof(addr), "@darkdaq-test-notify-%d", (int)getpid());
        fd = s_listen(addr);
        REQUIRE(fd >= 0);
        setenv("NOTIFY_SOCKET", addr, 1);
        CHECK_EQ_I(notify_status("two\nlines"), 1);
        CHECK(s_recv(fd, buf, sizeof(buf), &from) > 0);
        CHECK_STR(buf, "STATUS=two lines");
        CHECK_EQ_U(from, getpid());
        /* a long status is cut, not refused */
        memset(long_text, 'x', sizeof(long_text) - 1);
        long_text[sizeof(long_text) - 1] = '\0';
        CHECK_EQ_I(notify_status("%s", long_text), 1);
        CHECK_EQ_U(s_recv(fd, buf, sizeof(buf), &from), strlen("STATUS=") + 512);
        CHECK_EQ_I(notify_send("READY=1\nSTATUS=both"), 1);
        CHECK(s_recv(fd, buf, sizeof(buf), &from) > 0);
        CHECK_STR(buf, "READY=1\nSTATUS=both");
        unsetenv("NOTIFY_SOCKET");
        close(fd);
}

TEST(without_or_with_a_bad_notify_socket)
{
        unsetenv("NOTIFY_SOCKET");
        CHECK_OK_ZERO(notify_ready());
        CHECK_OK_ZERO(notify_watchdog());
        CHECK_OK_ZERO(notify_stopping());
        setenv("NOTIFY_SOCKET", "", 1);
        CHECK_OK_ZERO(notify_ready());
        setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
        CHECK_ERRNO(notify_ready(), -ENOENT);
        setenv("NOTIFY_SOCKET", "relative/path", 1);
        CHECK_ERRNO(notify_ready(), -EAFNOSUPPORT);
        unsetenv("NOTIFY_SOCKET");
}

TEST(watchdog_interval)
{
        char pid[32];

        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        CHECK_EQ_U(notify_watchdog_usec(), 0);
        setenv("WATCHDOG_USEC", "200000", 1);
        CHECK_EQ_U(notify_watchdog_usec(), 200000);
        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        setenv("WATCHDOG_PID", pid, 1);
        CHECK_EQ_U(notify_watchdog_usec(), 200000);
        snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
        setenv("WATCHDOG_PID", pid, 1);
        CHECK_EQ_U(notify_watchdog_usec(), 0);  /* meant for another process */
        setenv("WATCHDOG_PID", "x", 1);
        CHECK_EQ_U(notify_watchdog_usec(), 0);
        unsetenv("WATCHDOG_PID");
        setenv("WATCHDOG_USEC", "0", 1);
        CHECK_EQ_U(notify_watchdog_usec(), 0);
        setenv("WATCHDOG_USEC", "-5", 1);
        CHECK_EQ_U(notify_watchdog_usec(), 0);
        setenv("WATCHDOG_USEC", "12abc", 1);
        CHECK_EQ_U(notify_watchdog_usec(), 0);
        setenv("WATCHDOG_USEC", "", 1);
        CHECK_EQ_U(notify_watchdog_usec(), 0);
        unsetenv("WATCHDOG_USEC");
}

TEST_MAIN()
