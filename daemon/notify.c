/* SPDX-License-Identifier: Apache-2.0 */
/* notify: sd_notify(3)'s datagram protocol over AF_UNIX, without libsystemd.
 * Owns nothing between calls; reads NOTIFY_SOCKET, WATCHDOG_USEC and
 * WATCHDOG_PID from the environment each time. */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define STATUS_MAX 512  /* bytes of a STATUS= text, the rest is cut */

int notify_send(const char *state)
{
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t plen, len = strlen(state);
        socklen_t salen;
        ssize_t n;
        int fd, rc;

        if (!path || !path[0])
                return 0;
        plen = strlen(path);
        if (path[0] != '/' && path[0] != '@')
                return -EAFNOSUPPORT;   /* e.g. vsock:, which systemd 252 does not use */
        if (plen > sizeof(sa.sun_path) || (path[0] == '/' && plen == sizeof(sa.sun_path)))
                return -EINVAL;
        memcpy(sa.sun_path, path, plen);
        if (path[0] == '@')
                sa.sun_path[0] = '\0';  /* abstract: no NUL terminator, length counts */
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '/'));

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        n = sendto(fd, state, len, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa, salen);
        rc = n < 0 ? -errno : (size_t)n == len ? 1 : -EMSGSIZE;
        close(fd);
        return rc;
}

int notify_ready(void)
{
        return notify_send("READY=1");
}

int notify_status(const char *fmt, ...)
{
        char buf[sizeof("STATUS=") + STATUS_MAX];
        va_list ap;

        memcpy(buf, "STATUS=", 7);
        va_start(ap, fmt);
        vsnprintf(buf + 7, sizeof(buf) - 7, fmt, ap);
        va_end(ap);
        for (char *p = buf + 7; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        return notify_send(buf);
}

int notify_watchdog(void)
{
        return notify_send("WATCHDOG=1");
}

int notify_stopping(void)
{
        return notify_send("STOPPING=1");
}

static int s_parse_u64(const char *s, unsigned long long *ret)
{
        char *end;
        unsigned long long v;

        if (!s || !*s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

uint64_t notify_watchdog_usec(void)
{
        unsigned long long usec, pid;
        const char *p = getenv("WATCHDOG_PID");

        if (s_parse_u64(getenv("WATCHDOG_USEC"), &usec) < 0 || usec == 0)
                return 0;
        if (p && (s_parse_u64(p, &pid) < 0 || pid != (unsigned long long)getpid()))
                return 0;
        return usec;
}
