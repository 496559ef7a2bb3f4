/* SPDX-License-Identifier: Apache-2.0 */
/* replay: reads recorded raw files, stream reader → builder, in the order of
 * the event builder's rules (builder.h): a first pass for the expected set
 * and each source's last file, then the files in turn, one fragment from each.  File I/O
 * only: the builder decides, the sink publishes, the caller logs. */
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream.h"

#define REPLAY_CHUNK_DEFAULT (256u << 10)

struct rfile {
        const char *path;
        int fd;                         /* -1 when not open */
        stream_t *st;
        uint8_t *buf;
        size_t len, pos;                /* bytes in buf, bytes of them fed */
        uint64_t sources;               /* bit s: a trusted header of source s */
        bool eof, done;
};

struct scan_ctx {
        uint64_t good;                  /* sources of good fragments */
        uint64_t trusted;               /* ... and of bad ones with a good CRC */
};

struct feed_ctx {
        builder_t *b;
        uint32_t stream;
        bool pause;                     /* stop the feed after a fragment */
        int err;                        /* builder_add's failure */
};

void replay_options_default(struct replay_options *opt)
{
        memset(opt, 0, sizeof(*opt));
        builder_config_default(&opt->builder);
        opt->chunk_bytes = REPLAY_CHUNK_DEFAULT;
}

static int s_fail(char *err, size_t errlen, const char *path, const char *what, int e)
{
        if (err && errlen)
                snprintf(err, errlen, "%s: %s: %s", path, what, strerror(e));
        return -e;
}

/* read() that retries on EINTR.  Returns bytes read, 0 at the end, -errno. */
static ssize_t s_read(int fd, void *buf, size_t len)
{
        for (;;) {
                ssize_t r = read(fd, buf, len);
                if (r >= 0)
                        return r;
                if (errno != EINTR)
                        return -errno;
        }
}

static int s_scan_cb(void *ctx, const struct stream_item *it)
{
        struct scan_ctx *c = ctx;
        if (it->kind == STREAM_FRAGMENT)
                c->good |= 1ull << it->hdr.source_id;
        if (it->kind == STREAM_FRAGMENT || (it->kind == STREAM_BAD_FRAGMENT && it->crc_ok))
                c->trusted |= 1ull << it->hdr.source_id;
        return 0;
}

/* First pass over one file: which sources it carries. */
static int s_scan(const char *path, uint8_t *buf, size_t chunk, struct scan_ctx *c,
                  char *err, size_t errlen)
{
        stream_t *st = stream_new();
        int fd, r = 0;

        if (!st)
                return s_fail(err, errlen, path, "reading", ENOMEM);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = s_fail(err, errlen, path, "cannot open", errno);
                stream_free(st);
                return r;
        }
        for (;;) {
                ssize_t n = s_read(fd, buf, chunk);
                if (n < 0) {
                        r = s_fail(err, errlen, path, "cannot read", (int)-n);
                        break;
                }
                if (n == 0) {
                        stream_finish(st, s_scan_cb, c);
                        break;
                }
                r = stream_feed(st, buf, (size_t)n, s_scan_cb, c, NULL);
                if (r < 0) {
                        r = s_fail(err, errlen, path, "reading", -r);
                        break;
                }
        }
        close(fd);
        stream_free(st);
        return r;
}

static int s_feed_cb(void *ctx, const struct stream_item *it)
{
        struct feed_ctx *c = ctx;
        int r = builder_add(c->b, c->stream, it, 0);
        if (r < 0) {
                c->err = r;
                return r;
        }
        if (c->pause && (it->kind == STREAM_FRAGMENT || it->kind == STREAM_BAD_FRAGMENT))
                return 1;
        return 0;
}

/* Feeds file f until one fragment has gone to the builder, or to its end
 * (then ends the sources whose last file it is).  Returns 0 or -errno. */
static int s_step(struct rfile *f, uint32_t index, builder_t *b, const int32_t *last_file_of,
                  size_t chunk, uint64_t *bytes_read, char *err, size_t errlen)
{
        struct feed_ctx c = { .b = b, .stream = index, .pause = true };

        if (f->fd < 0) {
                f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
                if (f->fd < 0)
                        return s_fail(err, errlen, f->path, "cannot open", errno);
        }
        for (;;) {
                if (f->pos < f->len) {
                        size_t used = 0;
                        int r = stream_feed(f->st, f->buf + f->pos, f->len - f->pos, s_feed_cb,
                                            &c, &used);
                        f->pos += used;
                        if (r < 0)
                                return s_fail(err, errlen, f->path, "replaying", -r);
                        if (r > 0)
                                return 0;
                }
                if (f->eof)
                        break;
                ssize_t n = s_read(f->fd, f->buf, chunk);
                if (n < 0)
                        return s_fail(err, errlen, f->path, "cannot read", (int)-n);
                *bytes_read += (uint64_t)n;
                f->len = (size_t)n;
                f->pos = 0;
                f->eof = n == 0;
        }
        c.pause = false;
        int r = stream_finish(f->st, s_feed_cb, &c);
        if (r < 0)
                return s_fail(err, errlen, f->path, "replaying", -r);
        close(f->fd);
        f->fd = -1;
        f->done = true;
        for (unsigned s = 0; s < 64; s++)
                if (last_file_of[s] >= 0 && (uint32_t)last_file_of[s] == index)
                        builder_source_ended(b, s);
        return 0;
}

/* May file j be read now: no earlier unfinished file carries one of its
 * sources? */
static bool s_ready(const struct rfile *files, size_t j)
{
        for (size_t i = 0; i < j; i++)
                if (!files[i].done && (files[i].sources & files[j].sources))
                        return false;
        return true;
}

int replay_run(const struct replay_options *opt, const char *const *paths, size_t n,
               const struct builder_sink *sink, struct replay_summary *ret,
               char *err, size_t errlen)
{
        size_t chunk = opt->chunk_bytes ? opt->chunk_bytes : REPLAY_CHUNK_DEFAULT;
        struct rfile *files = calloc(n ? n : 1, sizeof(*files));
        uint8_t *scan_buf = malloc(chunk);
        uint64_t good = 0, bytes_read = 0;
        struct builder_config cfg = opt->builder;
        builder_t *b = NULL;
        int r = 0;

        int32_t last_of[64];            /* each source's last file, or -1 */
        for (unsigned s = 0; s < 64; s++)
                last_of[s] = -1;

        if (!files || !scan_buf) {
                r = s_fail(err, errlen, n ? paths[0] : "replay", "reading", ENOMEM);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                struct scan_ctx c = { 0 };
                files[i].path = paths[i];
                files[i].fd = -1;
                r = s_scan(paths[i], scan_buf, chunk, &c, err, errlen);
                if (r < 0)
                        goto out;
                files[i].sources = c.trusted;
                good |= c.good;
                for (unsigned s = 0; s < 64; s++)
                        if (c.trusted >> s & 1)
                                last_of[s] = (int32_t)i;
        }
        if (!opt->expected_given)
                cfg.expected = good;
        cfg.build_timeout_ms = 0;
        b = builder_new(&cfg, sink);
        if (!b) {
                r = s_fail(err, errlen, n ? paths[0] : "replay", "replaying", ENOMEM);
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                files[i].st = stream_new();
                files[i].buf = malloc(chunk);
                if (!files[i].st || !files[i].buf) {
                        r = s_fail(err, errlen, paths[i], "replaying", ENOMEM);
                        goto out;
                }
        }
        for (;;) {
                bool any = false;
                for (size_t j = 0; j < n; j++) {
                        if (files[j].done || !s_ready(files, j))
                                continue;
                        any = true;
                        r = s_step(&files[j], (uint32_t)j, b, last_of, chunk, &bytes_read,
                                   err, errlen);
                        if (r < 0)
                                goto out;
                }
                if (!any)
                        break;
        }
        builder_flush(b);
        if (ret) {
                const struct builder_out_of_step *oos;
                memset(ret, 0, sizeof(*ret));
                ret->files = n;
                ret->bytes_read = bytes_read;
                ret->expected = cfg.expected;
                builder_get_counters(b, &ret->counters);
                ret->n_out_of_step = builder_out_of_step(b, &oos);
                memcpy(ret->out_of_step, oos, ret->n_out_of_step * sizeof(*oos));
        }
out:
        for (size_t i = 0; files && i < n; i++) {
                if (files[i].fd >= 0)
                        close(files[i].fd);
                stream_free(files[i].st);
                free(files[i].buf);
        }
        builder_free(b);
        free(files);
        free(scan_buf);
        return r;
}
