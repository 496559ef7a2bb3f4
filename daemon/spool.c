/* SPDX-License-Identifier: Apache-2.0 */
/* spool: the spool file's frames (spool.h).  The reader trusts no length
 * and no byte: a frame counts only when it lies whole in the image, its CRC
 * matches and its kind and data prefix make sense; after damage it looks
 * for the next such frame byte by byte.  The writer buffers frames and
 * makes the file durable before it takes the spool's name. */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"

#define WRITE_BUF       (1u << 20)      /* the writer's buffer */
#define MIN_BODY        (4u + STORAGE_DATA_PREFIX)
#define MAX_BODY        (MIN_BODY + SPOOL_MAX_RECORD)
#define KEEP_MAX        1000            /* spool.kept.1 .. spool.kept.999 */

static void s_put32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t s_get32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void spool_file_header(uint8_t out[SPOOL_FILE_HEADER], uint32_t sender)
{
        s_put32(out, SPOOL_MAGIC);
        s_put32(out + 4, SPOOL_VERSION);
        s_put32(out + 8, sender);
        s_put32(out + 12, crc32c(0, out, 12));
}

void spool_frame_head(uint8_t out[SPOOL_FRAME_HEAD], enum spool_kind kind,
                      const struct storage_data *d, const uint8_t *rec, size_t len)
{
        struct storage_data z = *d;
        z.session = 0;
        s_put32(out, (uint32_t)(MIN_BODY + len));
        s_put32(out + 8, (uint32_t)kind);
        storage_data_prefix(out + 12, &z);
        uint32_t crc = crc32c(0, out + SPOOL_FRAME_HEADER, MIN_BODY);
        s_put32(out + 4, crc32c(crc, rec, len));
}

/* ---- reading -------------------------------------------------------------- */

/* The cheap checks of a frame's body at b (at least MIN_BODY bytes): NULL
 * when they pass, else what is wrong. */
static const char *s_body_ok(const uint8_t *b)
{
        uint32_t kind = s_get32(b);
        const uint8_t *m = b + 4;
        if (kind != SPOOL_RUN_HEADER && kind != SPOOL_RECORD)
                return "unknown frame kind";
        if (s_get32(m) != STORAGE_DATA_MAGIC)
                return "no data message in the frame (magic)";
        if (s_get32(m + 8) != 0)
                return "a session in the frame's data message (spooled records have none)";
        uint64_t seq = (uint64_t)s_get32(m + 16) | (uint64_t)s_get32(m + 20) << 32;
        if (seq == STORAGE_NO_SEQ)
                return "a record without seq";
        if (kind == SPOOL_RUN_HEADER && seq != 0)
                return "a run header frame with seq > 0";
        return NULL;
}

/* Is there a whole good frame at off?  NULL and *ret when there is, else
 * what is wrong. */
static const char *s_frame_at(const struct spool_reader *r, size_t off, struct spool_frame *ret)
{
        size_t left = r->len - off;
        if (left < SPOOL_FRAME_HEADER)
                return "truncated: the frame's length and CRC are cut off";
        const uint8_t *p = r->buf + off;
        uint32_t len = s_get32(p);
        if (len < MIN_BODY)
                return "frame length too small for a record";
        if (len > MAX_BODY)
                return "frame length beyond any record";
        if (left - SPOOL_FRAME_HEADER < len)
                return "truncated: the frame is cut off";
        if (crc32c(0, p + SPOOL_FRAME_HEADER, len) != s_get32(p + 4))
                return "CRC mismatch";
        const char *why = s_body_ok(p + SPOOL_FRAME_HEADER);
        if (why)
                return why;
        ret->kind = (enum spool_kind)s_get32(p + SPOOL_FRAME_HEADER);
        ret->offset = off;
        ret->msg = p + SPOOL_FRAME_HEADER + 4;
        ret->msg_len = len - 4;
        storage_data_parse(ret->msg, ret->msg_len, &ret->d, &ret->rec, &ret->rec_len);
        return NULL;
}

/* The first offset from off on where a whole good frame starts, or the end. */
static size_t s_resync(const struct spool_reader *r, size_t off)
{
        struct spool_frame f;
        for (; off < r->len && r->len - off >= SPOOL_FRAME_HEAD; off++) {
                const uint8_t *b = r->buf + off + SPOOL_FRAME_HEADER;
                /* the cheap tests first: only a likely frame pays for its CRC */
                if ((b[0] != SPOOL_RUN_HEADER && b[0] != SPOOL_RECORD) || b[1] || b[2] || b[3] ||
                    s_get32(b + 4) != STORAGE_DATA_MAGIC)
                        continue;
                if (!s_frame_at(r, off, &f))
                        return off;
        }
        return r->len;
}

void spool_reader_init(struct spool_reader *r, const void *buf, size_t len)
{
        memset(r, 0, sizeof *r);
        r->buf = buf;
        r->len = len;
}

static const char *s_file_header(struct spool_reader *r)
{
        if (r->len < SPOOL_FILE_HEADER)
                return "too short for a spool file header";
        if (s_get32(r->buf) != SPOOL_MAGIC)
                return "not a spool file (magic)";
        if (crc32c(0, r->buf, 12) != s_get32(r->buf + 12))
                return "file header CRC mismatch";
        if (s_get32(r->buf + 4) != SPOOL_VERSION)
                return "a spool version this daemon does not read";
        r->header_ok = true;
        r->sender = s_get32(r->buf + 8);
        return NULL;
}

int spool_reader_next(struct spool_reader *r, struct spool_frame *ret, struct spool_damage *dmg)
{
        const char *why;
        if (!r->started) {
                r->started = true;
                why = s_file_header(r);
                if (why) {
                        dmg->offset = 0;
                        dmg->why = why;
                        r->off = s_resync(r, 1);
                        dmg->resume = r->off;
                        return -EBADMSG;
                }
                r->off = SPOOL_FILE_HEADER;
        }
        if (r->off >= r->len)
                return 0;
        why = s_frame_at(r, r->off, ret);
        if (!why) {
                r->off += SPOOL_FRAME_HEADER + (size_t)s_get32(r->buf + r->off);
                return 1;
        }
        dmg->offset = r->off;
        dmg->why = why;
        r->off = s_resync(r, r->off + 1);
        dmg->resume = r->off;
        return -EBADMSG;
}

void spool_order_init(struct spool_order *o, uint32_t sender)
{
        memset(o, 0, sizeof *o);
        o->sender = sender;
}

enum spool_verdict spool_order_take(struct spool_order *o, const struct spool_frame *f)
{
        if (f->d.sender != o->sender)
                return SPOOL_OTHER_SENDER;
        if (f->kind == SPOOL_RUN_HEADER) {
                o->in_run = true;
                o->run = f->d.run;
                o->seq_known = false;
                return SPOOL_SEND;
        }
        if (!o->in_run || o->run != f->d.run)
                return SPOOL_NO_HEADER;
        if (o->seq_known && f->d.seq != o->next_seq)
                return SPOOL_AFTER_GAP;
        o->seq_known = true;
        o->next_seq = f->d.seq + 1;
        return SPOOL_SEND;
}

const char *spool_verdict_text(enum spool_verdict v)
{
        switch (v) {
        case SPOOL_SEND:
                return "sent";
        case SPOOL_OTHER_SENDER:
                return "another sender's (sender_id changed)";
        case SPOOL_NO_HEADER:
                return "its run's header frame is lost";
        case SPOOL_AFTER_GAP:
                return "a record before it in its run is lost, and the store takes a run's "
                       "records only in order";
        }
        return "?";
}

/* ---- the file ------------------------------------------------------------------ */

struct spool_writer {
        int fd;
        char tmp[4200], path[4200], dir[4096];
        uint8_t *buf;
        size_t used;
        int64_t bytes;                  /* written so far, buffered included */
        int err;                        /* the first error, sticky */
        const char *step;               /* ... and the step it came from */
};

static int s_write_all(int fd, const uint8_t *p, size_t n)
{
        while (n) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -ENOSPC;
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

static int s_fsync_dir(const char *dir)
{
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
        if (dfd < 0)
                return -errno;
        if (fsync(dfd) < 0)
                r = -errno;
        close(dfd);
        return r;
}

void spool_path(const char *dir, char *buf, size_t len)
{
        snprintf(buf, len, "%s/%s", dir, SPOOL_FILE);
}

int spool_writer_open(spool_writer_t **ret, const char *dir, uint32_t sender, char *err,
                      size_t errlen)
{
        spool_writer_t *w = calloc(1, sizeof *w);
        if (w)
                w->buf = malloc(WRITE_BUF);
        if (!w || !w->buf) {
                if (w)
                        free(w);
                snprintf(err, errlen, "%s/%s.tmp: out of memory", dir, SPOOL_FILE);
                return -ENOMEM;
        }
        snprintf(w->dir, sizeof w->dir, "%s", dir);
        snprintf(w->tmp, sizeof w->tmp, "%s/%s.tmp", dir, SPOOL_FILE);
        spool_path(dir, w->path, sizeof w->path);
        w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (w->fd < 0) {
                int r = -errno;
                snprintf(err, errlen, "%s: cannot create it: %s", w->tmp, strerror(-r));
                free(w->buf);
                free(w);
                return r;
        }
        spool_file_header(w->buf, sender);
        w->used = SPOOL_FILE_HEADER;
        w->bytes = SPOOL_FILE_HEADER;
        *ret = w;
        return 0;
}

static void s_flush(spool_writer_t *w)
{
        if (!w->err && w->used) {
                int r = s_write_all(w->fd, w->buf, w->used);
                if (r < 0) {
                        w->err = r;
                        w->step = "write";
                }
        }
        w->used = 0;
}

int spool_writer_add(spool_writer_t *w, enum spool_kind kind, const struct storage_data *d,
                     const uint8_t *rec, size_t len)
{
        if (w->err)
                return w->err;
        if (len > SPOOL_MAX_RECORD) {
                w->err = -EMSGSIZE;
                w->step = "write a record of that size to";
                return w->err;
        }
        if (WRITE_BUF - w->used < SPOOL_FRAME_HEAD)
                s_flush(w);
        spool_frame_head(w->buf + w->used, kind, d, rec, len);
        w->used += SPOOL_FRAME_HEAD;
        if (len <= WRITE_BUF - w->used) {
                memcpy(w->buf + w->used, rec, len);
                w->used += len;
        } else {
                s_flush(w);
                if (!w->err) {
                        int r = s_write_all(w->fd, rec, len);
                        if (r < 0) {
                                w->err = r;
                                w->step = "write";
                        }
                }
        }
        w->bytes += (int64_t)(SPOOL_FRAME_HEAD + len);
        return w->err;
}

int64_t spool_writer_commit(spool_writer_t *w, char *err, size_t errlen)
{
        s_flush(w);
        if (!w->err && fsync(w->fd) < 0) {
                w->err = -errno;
                w->step = "fsync";
        }
        int fd = w->fd;
        w->fd = -1;
        if (close(fd) < 0 && !w->err) {
                w->err = -errno;
                w->step = "close";
        }
        if (!w->err && rename(w->tmp, w->path) < 0) {
                w->err = -errno;
                w->step = "rename";
        }
        if (w->err) {
                snprintf(err, errlen, "%s: cannot %s it: %s", w->tmp, w->step, strerror(-w->err));
                unlink(w->tmp);
        } else {
                int r = s_fsync_dir(w->dir);
                if (r < 0) {
                        w->err = r;
                        snprintf(err, errlen, "%s: cannot fsync its directory: %s", w->path,
                                 strerror(-r));
                }
        }
        int64_t out = w->err ? w->err : w->bytes;
        free(w->buf);
        free(w);
        return out;
}

spool_writer_t *spool_writer_abort(spool_writer_t *w)
{
        if (!w)
                return NULL;
        if (w->fd >= 0)
                close(w->fd);
        unlink(w->tmp);
        free(w->buf);
        free(w);
        return NULL;
}

int spool_read(const char *dir, uint8_t **ret_buf, size_t *ret_len, char *err, size_t errlen)
{
        char path[4200];
        struct stat st;
        uint8_t *buf = NULL;
        size_t got = 0;
        int r = 0;

        spool_path(dir, path, sizeof path);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return 0;
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = -errno;
                goto fail;
        }
        buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
        if (!buf) {
                r = -ENOMEM;
                goto fail;
        }
        while (got < (size_t)st.st_size) {
                ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        goto fail;
                }
                if (k == 0)
                        break;          /* shorter than it said: read what is there */
                got += (size_t)k;
        }
        close(fd);
        *ret_buf = buf;
        *ret_len = got;
        return 1;
fail:
        snprintf(err, errlen, "%s: cannot read it: %s", path, strerror(-r));
        if (fd >= 0)
                close(fd);
        free(buf);
        return r;
}

int spool_remove(const char *dir, char *err, size_t errlen)
{
        char path[4200];
        spool_path(dir, path, sizeof path);
        if (unlink(path) < 0) {
                if (errno == ENOENT)
                        return 0;       /* none: nothing to make durable */
                int r = -errno;
                snprintf(err, errlen, "%s: cannot remove it: %s", path, strerror(-r));
                return r;
        }
        int r = s_fsync_dir(dir);
        if (r < 0)
                snprintf(err, errlen, "%s: removed, but its directory cannot be fsync'd: %s",
                         path, strerror(-r));
        return r;
}

int spool_keep(const char *dir, char *kept, size_t kept_len, char *err, size_t errlen)
{
        char path[4200];
        int r = -EEXIST;
        spool_path(dir, path, sizeof path);
        for (int n = 1; n < KEEP_MAX && r == -EEXIST; n++) {
                snprintf(kept, kept_len, "%s/%s.kept.%d", dir, SPOOL_FILE, n);
                r = link(path, kept) < 0 ? -errno : 0;
        }
        if (r == 0)
                r = s_fsync_dir(dir);
        if (r < 0)
                snprintf(err, errlen, "%s: cannot keep a copy of it as %s.kept.N: %s", path,
                         SPOOL_FILE, strerror(-r));
        return r;
}
