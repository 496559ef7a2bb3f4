/* sim_sink: the file/descriptor sink, with its own 64 KiB buffer and a
 * write(2) loop that survives short writes and EINTR. */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FD_SINK_BUFFER  65536

struct fd_sink {
        sim_sink_t base;                /* first: the public part */
        int fd;
        int close_fd;                   /* close fd when the sink closes */
        int error;                      /* first -errno seen, sticky */
        size_t used;                    /* bytes waiting in buf */
        char *name;                     /* owned copy */
        unsigned char buf[FD_SINK_BUFFER];
};

static int s_write_all(int fd, const unsigned char *p, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static int s_flush(struct fd_sink *f)
{
        if (!f->error && f->used)
                f->error = s_write_all(f->fd, f->buf, f->used);
        f->used = 0;
        return f->error;
}

static int s_fd_write(sim_sink_t *s, const void *buf, size_t len)
{
        struct fd_sink *f = (struct fd_sink *)s;

        if (f->error)
                return f->error;
        if (f->used + len > sizeof(f->buf)) {
                if (s_flush(f))
                        return f->error;
                if (len >= sizeof(f->buf))
                        return f->error = s_write_all(f->fd, buf, len);
        }
        memcpy(f->buf + f->used, buf, len);
        f->used += len;
        return 0;
}

static int s_fd_flush(sim_sink_t *s)
{
        return s_flush((struct fd_sink *)s);
}

static int s_null_write(sim_sink_t *s, const void *buf, size_t len)
{
        (void)s, (void)buf, (void)len;
        return 0;
}

static int s_null_flush(sim_sink_t *s)
{
        (void)s;
        return 0;
}

static int s_null_close(sim_sink_t *s)
{
        free(s);
        return 0;
}

sim_sink_t *sim_sink_null_new(const char *name)
{
        sim_sink_t *s = malloc(sizeof(*s));

        if (s)
                *s = (sim_sink_t){ s_null_write, s_null_close, name, s_null_flush };
        return s;
}

static int s_fd_close(sim_sink_t *s)
{
        struct fd_sink *f = (struct fd_sink *)s;
        int r = s_flush(f);

        if (f->close_fd && close(f->fd) < 0 && !r)
                r = -errno;
        free(f->name);
        free(f);
        return r;
}

sim_sink_t *sim_sink_fd_new(int fd, const char *name, int close_fd)
{
        struct fd_sink *f = calloc(1, sizeof(*f));

        if (!f)
                return NULL;
        f->name = strdup(name);
        if (!f->name) {
                free(f);
                return NULL;
        }
        f->fd = fd;
        f->close_fd = close_fd;
        f->base = (sim_sink_t){ s_fd_write, s_fd_close, f->name, s_fd_flush };
        return &f->base;
}

sim_sink_t *sim_sink_file_open(const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        sim_sink_t *s;

        if (fd < 0)
                return NULL;
        s = sim_sink_fd_new(fd, path, 1);
        if (!s) {
                int e = errno;

                close(fd);
                errno = e;
        }
        return s;
}

int sim_sink_close(sim_sink_t *s)
{
        return s ? s->close(s) : 0;
}
