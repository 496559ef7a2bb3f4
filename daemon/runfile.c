/* SPDX-License-Identifier: Apache-2.0 */
/* runfile: frames of packed darkdaq.Records in run files (proto/README.md
 * s.2).  The writer's file layer (open, write, fsync, rotate) is the only
 * I/O here; the frame reader works on a memory image and trusts nothing. */
#include "runfile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "crc32c.h"

#define WRITE_CHUNK     (256u << 10)    /* frames are handed to write() in chunks */
#define ARENA_MIN       (64u << 10)

static uint32_t s_le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
}

static uint64_t s_le64(const uint8_t *p)
{
        return (uint64_t)s_le32(p) | (uint64_t)s_le32(p + 4) << 32;
}

static void s_put_le32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

void runfile_frame_header(uint8_t out[RUNFILE_FRAME_HEADER], const void *payload,
                          uint32_t len)
{
        s_put_le32(out, len);
        s_put_le32(out + 4, crc32c(0, payload, len));
}

void runfile_frame2_header(uint8_t out[RUNFILE_FRAME2_HEADER], const void *payload,
                           uint32_t len, uint32_t sender, uint64_t seq)
{
        s_put_le32(out, RUNFILE_SYNC);
        s_put_le32(out + 4, len);
        s_put_le32(out + 8, sender);
        s_put_le32(out + 12, (uint32_t)seq);
        s_put_le32(out + 16, (uint32_t)(seq >> 32));
        s_put_le32(out + 20, crc32c(crc32c(0, out, 20), payload, len));
}

void runfile_file_header(uint8_t out[RUNFILE_FILE_HEADER])
{
        s_put_le32(out, RUNFILE_FILE_MAGIC);
        s_put_le32(out + 4, RUNFILE_VERSION);
}

int runfile_name(char *buf, size_t size, uint32_t run, uint32_t seq)
{
        int n = snprintf(buf, size, "run-%06u-%03u.dkr", run, seq);
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- writer -------------------------------------------------------------- */

struct runfile_writer {
        int fd;                         /* current file; -1 between files */
        int dir_fd;                     /* dir mode: the directory (fsync); else -1 */
        char *dir;                      /* dir mode: the directory's name */
        char *path;                     /* current file's name */
        uint64_t max_file_bytes;        /* 0: never rotate */
        runfile_trailer_fn trailer;     /* rotation trailers, or NULL */
        void *trailer_ctx;
        Darkdaq__Record *header;        /* own copy; file_sequence set per file */
        uint32_t run;                   /* from the header, for names */
        uint32_t seq;                   /* current file's sequence */
        uint64_t file_bytes;            /* current file, buffered frames included */
        uint64_t file_records;          /* current file's records so far */
        unsigned version;               /* 1 or 2 */
        uint32_t sender;                /* v2: every frame's sender */
        uint64_t next_seq;              /* v2: the seq of the next record */
        uint8_t *buf;                   /* frames not yet written */
        size_t cap;                     /* buf's size */
        size_t len;                     /* bytes in buf */
        int err;                        /* first write error; sticky */
        Darkdaq__Record dflt_rec;       /* trailer when the caller gives none */
        Darkdaq__RunTrailer dflt_trl;
};

int runfile_write_all(int fd, const void *buf, size_t n)
{
        const uint8_t *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

static int s_flush_buf(runfile_writer_t *w)
{
        if (w->err)
                return w->err;
        if (w->len == 0 || w->fd < 0)
                return 0;
        int r = runfile_write_all(w->fd, w->buf, w->len);
        w->len = 0;
        if (r < 0)
                w->err = r;
        return r;
}

static size_t s_hdr_bytes(const runfile_writer_t *w)
{
        return w->version == 1 ? RUNFILE_FRAME_HEADER : RUNFILE_FRAME2_HEADER;
}

/* Appends one frame carrying seq: packs msg, or copies packed, into the
 * buffer. */
static int s_append(runfile_writer_t *w, const ProtobufCMessage *msg,
                    const void *packed, size_t size, uint64_t seq)
{
        size_t hb = s_hdr_bytes(w);
        size_t need = hb + size;
        if (w->err)
                return w->err;
        if (size > RUNFILE_MAX_RECORD)
                return -EMSGSIZE;
        if (w->len + need > w->cap) {
                int r = s_flush_buf(w);
                if (r < 0)
                        return r;
                if (need > w->cap) {
                        uint8_t *b = realloc(w->buf, need);
                        if (!b)
                                return -ENOMEM;
                        w->buf = b;
                        w->cap = need;
                }
        }
        uint8_t *frame = w->buf + w->len;
        uint8_t *payload = frame + hb;
        if (msg)
                protobuf_c_message_pack(msg, payload);
        else if (size)
                memcpy(payload, packed, size);
        if (w->version == 1)
                runfile_frame_header(frame, payload, (uint32_t)size);
        else
                runfile_frame2_header(frame, payload, (uint32_t)size, w->sender, seq);
        w->len += need;
        w->file_bytes += need;
        w->file_records++;
        if (w->len >= WRITE_CHUNK)
                return s_flush_buf(w);
        return 0;
}

static int s_start_file(runfile_writer_t *w)
{
        int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
        if (w->dir) {
                char name[64];
                int r = runfile_name(name, sizeof name, w->run, w->seq);
                if (r < 0)
                        return r;
                free(w->path);
                if (asprintf(&w->path, "%s/%s", w->dir, name) < 0) {
                        w->path = NULL;
                        return -ENOMEM;
                }
                flags |= O_EXCL;
        } else {
                flags |= O_TRUNC;
        }
        w->fd = open(w->path, flags, 0644);
        if (w->fd < 0)
                return -errno;
        w->file_bytes = 0;
        w->file_records = 0;
        w->header->run_header->file_sequence = w->seq;
        if (w->version != 1) {
                if (w->len + RUNFILE_FILE_HEADER > w->cap) {
                        int r = s_flush_buf(w);
                        if (r < 0)
                                return r;
                }
                runfile_file_header(w->buf + w->len);
                w->len += RUNFILE_FILE_HEADER;
                w->file_bytes += RUNFILE_FILE_HEADER;
        }
        /* The run's header is record 0; its copies at the head of later
         * files are the writer's own and carry no seq. */
        uint64_t seq = RUNFILE_NO_SEQ;
        if (w->seq == 0)
                seq = w->next_seq++;
        return s_append(w, &w->header->base, NULL,
                        protobuf_c_message_get_packed_size(&w->header->base), seq);
}

/* Writes out, fsyncs and closes the current file (and fsyncs its directory,
 * so that a new file's name survives a crash too). */
static int s_finish_file(runfile_writer_t *w)
{
        int r = s_flush_buf(w);
        if (w->fd >= 0) {
                if (fsync(w->fd) < 0 && r == 0)
                        r = -errno;
                if (close(w->fd) < 0 && r == 0)
                        r = -errno;
                w->fd = -1;
        }
        if (w->dir_fd >= 0 && fsync(w->dir_fd) < 0 && r == 0 && errno != EINVAL)
                r = -errno;
        if (r < 0 && !w->err)
                w->err = r;
        return r;
}

static int s_write_trailer(runfile_writer_t *w, Darkdaq__Record *trl, bool continued)
{
        if (!trl || trl->body_case != DARKDAQ__RECORD__BODY_RUN_TRAILER || !trl->run_trailer) {
                darkdaq__record__init(&w->dflt_rec);
                darkdaq__run_trailer__init(&w->dflt_trl);
                w->dflt_trl.end_reason = (char *)"stop";
                w->dflt_rec.body_case = DARKDAQ__RECORD__BODY_RUN_TRAILER;
                w->dflt_rec.run_trailer = &w->dflt_trl;
                trl = &w->dflt_rec;
        }
        Darkdaq__RunTrailer *t = trl->run_trailer;
        t->records_in_file = w->file_records + 1;
        t->continued = continued;
        if (continued)
                t->end_reason = (char *)"rotate";
        if (t->end_time_ns == 0)
                t->end_time_ns = clock_real_ns();
        return s_append(w, &trl->base, NULL, protobuf_c_message_get_packed_size(&trl->base),
                        continued ? RUNFILE_NO_SEQ : w->next_seq++);
}

static int s_rotate(runfile_writer_t *w)
{
        Darkdaq__Record *trl = w->trailer ? w->trailer(w->trailer_ctx) : NULL;
        int r = s_write_trailer(w, trl, true);
        if (r < 0)
                return r;
        r = s_finish_file(w);
        if (r < 0)
                return r;
        w->seq++;
        r = s_start_file(w);
        if (r < 0 && !w->err)
                w->err = r;
        return r;
}

int runfile_writer_open(runfile_writer_t **ret, const struct runfile_writer_opts *o,
                        const Darkdaq__Record *header)
{
        if (!o || (!o->path == !o->dir) || (o->path && o->max_file_bytes) || !header ||
            header->body_case != DARKDAQ__RECORD__BODY_RUN_HEADER || !header->run_header ||
            (o->version != 0 && o->version != 1 && o->version != 2))
                return -EINVAL;
        runfile_writer_t *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->fd = -1;
        w->dir_fd = -1;
        w->max_file_bytes = o->max_file_bytes;
        w->trailer = o->trailer;
        w->trailer_ctx = o->trailer_ctx;
        w->run = header->run_header->run;
        w->version = o->version == 1 ? 1 : 2;
        w->sender = o->sender;

        /* A deep copy by packing and unpacking: the header is written again
         * at the head of every file. */
        int r = -ENOMEM;
        size_t n = protobuf_c_message_get_packed_size(&header->base);
        uint8_t *tmp = malloc(n ? n : 1);
        if (!tmp)
                goto fail;
        protobuf_c_message_pack(&header->base, tmp);
        w->header = darkdaq__record__unpack(NULL, n, tmp);
        free(tmp);
        if (!w->header)
                goto fail;
        w->cap = WRITE_CHUNK;
        w->buf = malloc(w->cap);
        if (!w->buf)
                goto fail;
        if (o->dir) {
                w->dir = strdup(o->dir);
                if (!w->dir)
                        goto fail;
                w->dir_fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (w->dir_fd < 0) {
                        r = -errno;
                        goto fail;
                }
        } else {
                w->path = strdup(o->path);
                if (!w->path)
                        goto fail;
        }
        r = s_start_file(w);
        if (r < 0)
                goto fail;
        *ret = w;
        return 0;
fail:
        if (w->fd >= 0 && w->path)
                unlink(w->path);        /* a file without its header is no run file */
        runfile_writer_free(w);
        return r;
}

int runfile_writer_write(runfile_writer_t *w, const Darkdaq__Record *rec)
{
        size_t size = protobuf_c_message_get_packed_size(&rec->base);
        if (w->err)
                return w->err;
        if (w->max_file_bytes && w->file_records > 1 &&
            w->file_bytes + s_hdr_bytes(w) + size > w->max_file_bytes) {
                int r = s_rotate(w);
                if (r < 0)
                        return r;
        }
        return s_append(w, &rec->base, NULL, size, w->next_seq++);
}

int runfile_writer_write_packed(runfile_writer_t *w, const void *payload, size_t len)
{
        if (w->err)
                return w->err;
        if (w->max_file_bytes && w->file_records > 1 &&
            w->file_bytes + s_hdr_bytes(w) + len > w->max_file_bytes) {
                int r = s_rotate(w);
                if (r < 0)
                        return r;
        }
        return s_append(w, NULL, payload, len, w->next_seq++);
}

int runfile_writer_flush(runfile_writer_t *w)
{
        return s_flush_buf(w);
}

int runfile_writer_close(runfile_writer_t *w, Darkdaq__Record *trailer)
{
        int r = w->err;
        if (r == 0)
                r = s_write_trailer(w, trailer, false);
        int r2 = s_finish_file(w);
        if (r == 0)
                r = r2;
        runfile_writer_free(w);
        return r;
}

runfile_writer_t *runfile_writer_free(runfile_writer_t *w)
{
        if (!w)
                return NULL;
        if (w->fd >= 0) {
                s_flush_buf(w);
                close(w->fd);
        }
        if (w->dir_fd >= 0)
                close(w->dir_fd);
        if (w->header)
                darkdaq__record__free_unpacked(w->header, NULL);
        free(w->buf);
        free(w->dir);
        free(w->path);
        free(w);
        return NULL;
}

const char *runfile_writer_path(const runfile_writer_t *w)
{
        return w->path;
}

uint32_t runfile_writer_sequence(const runfile_writer_t *w)
{
        return w->seq;
}

uint64_t runfile_writer_file_bytes(const runfile_writer_t *w)
{
        return w->file_bytes;
}

/* ---- reader -------------------------------------------------------------- */

/* A bump allocator for unpacking: one record's messages at a time, reset at
 * the next; after the largest record it is one block, reused. */
struct arena_chunk {
        struct arena_chunk *next;
        size_t size;                    /* bytes in data */
        size_t used;
        max_align_t data[];
};

struct runfile_reader {
        const uint8_t *data;            /* the image */
        size_t size;
        void *map;                      /* data when mapped, for munmap */
        uint8_t *owned;                 /* data when read in, for free */
        size_t pos;                     /* next frame's offset */
        uint64_t frame;                 /* next frame's index */
        unsigned version;               /* 0 until the first call; then 1 or 2 */
        struct runfile_stop stop;
        struct runfile_frame last;      /* the frame returned last */
        Darkdaq__Record *rec;           /* last record, in the arena */
        ProtobufCAllocator alloc;       /* the arena, for protobuf-c */
        struct arena_chunk *chunks;     /* newest first */
        runfile_report_fn report;       /* or NULL */
        void *report_ctx;
        uint64_t reports;               /* made so far */
        struct runfile_seqs own_seqs;   /* seqs points here unless the caller gives one */
        struct runfile_seqs *seqs;
        bool resynced;                  /* the frame at pos was found by resynchronisation */
        uint64_t returned;              /* frames returned from this file */
        bool after_trailer;             /* the last frame returned was a run trailer */
        uint64_t trailer_offset;        /* its offset */
};

static void *s_arena_alloc(void *ctx, size_t size)
{
        runfile_reader_t *r = ctx;
        const size_t align = sizeof(max_align_t);
        size = (size + align - 1) / align * align;
        struct arena_chunk *c = r->chunks;
        if (!c || c->size - c->used < size) {
                size_t n = c ? c->size * 2 : ARENA_MIN;
                while (n < size)
                        n *= 2;
                struct arena_chunk *nc = malloc(sizeof *nc + n);
                if (!nc)
                        return NULL;
                nc->next = c;
                nc->size = n;
                nc->used = 0;
                r->chunks = c = nc;
        }
        void *p = (uint8_t *)c->data + c->used;
        c->used += size;
        return p;
}

static void s_arena_free(void *ctx, void *p)
{
        (void)ctx;
        (void)p;
}

static void s_arena_release(runfile_reader_t *r)
{
        while (r->chunks) {
                struct arena_chunk *next = r->chunks->next;
                free(r->chunks);
                r->chunks = next;
        }
}

static void s_arena_reset(runfile_reader_t *r)
{
        if (r->chunks && r->chunks->next) {
                size_t total = 0;
                for (struct arena_chunk *c = r->chunks; c; c = c->next)
                        total += c->size;
                s_arena_release(r);
                struct arena_chunk *nc = malloc(sizeof *nc + total);
                if (nc) {
                        nc->next = NULL;
                        nc->size = total;
                        nc->used = 0;
                        r->chunks = nc;
                }
        } else if (r->chunks) {
                r->chunks->used = 0;
        }
        r->rec = NULL;
}

static runfile_reader_t *s_reader_new(void)
{
        runfile_reader_t *r = calloc(1, sizeof *r);
        if (!r)
                return NULL;
        r->alloc.alloc = s_arena_alloc;
        r->alloc.free = s_arena_free;
        r->alloc.allocator_data = r;
        r->seqs = &r->own_seqs;
        return r;
}

runfile_reader_t *runfile_reader_new_mem(const void *buf, size_t len)
{
        runfile_reader_t *r = s_reader_new();
        if (!r)
                return NULL;
        r->data = buf;
        r->size = buf ? len : 0;
        return r;
}

static int s_read_all(int fd, uint8_t **ret, size_t *ret_len)
{
        size_t cap = 1 << 16, len = 0;
        uint8_t *b = malloc(cap);
        if (!b)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        uint8_t *nb = realloc(b, cap * 2);
                        if (!nb) {
                                free(b);
                                return -ENOMEM;
                        }
                        b = nb;
                        cap *= 2;
                }
                ssize_t k = read(fd, b + len, cap - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = -errno;
                        free(b);
                        return e;
                }
                if (k == 0)
                        break;
                len += (size_t)k;
        }
        *ret = b;
        *ret_len = len;
        return 0;
}

int runfile_reader_open(runfile_reader_t **ret, const char *path)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        if (S_ISDIR(st.st_mode)) {
                close(fd);
                return -EISDIR;
        }
        runfile_reader_t *r = s_reader_new();
        if (!r) {
                close(fd);
                return -ENOMEM;
        }
        if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= SIZE_MAX) {
                void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
                if (m != MAP_FAILED) {
                        r->map = m;
                        r->data = m;
                        r->size = (size_t)st.st_size;
                }
        }
        if (!r->map && !(S_ISREG(st.st_mode) && st.st_size == 0)) {
                int e = s_read_all(fd, &r->owned, &r->size);
                if (e < 0) {
                        close(fd);
                        runfile_reader_free(r);
                        return e;
                }
                r->data = r->owned;
        }
        close(fd);
        *ret = r;
        return 0;
}

runfile_reader_t *runfile_reader_free(runfile_reader_t *r)
{
        if (!r)
                return NULL;
        s_arena_release(r);
        if (r->map)
                munmap(r->map, r->size);
        free(r->owned);
        free(r);
        return NULL;
}

static int s_stop(runfile_reader_t *r, enum runfile_stop_kind kind, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int s_stop(runfile_reader_t *r, enum runfile_stop_kind kind, const char *fmt, ...)
{
        va_list ap;
        r->stop.kind = kind;
        r->stop.offset = r->pos;
        r->stop.frame = r->frame;
        va_start(ap, fmt);
        vsnprintf(r->stop.reason, sizeof r->stop.reason, fmt, ap);
        va_end(ap);
        return 0;
}

static void s_report(runfile_reader_t *r, enum runfile_report_kind kind, uint64_t offset,
                     uint64_t skipped, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void s_report(runfile_reader_t *r, enum runfile_report_kind kind, uint64_t offset,
                     uint64_t skipped, const char *fmt, ...)
{
        struct runfile_report rep = { .kind = kind, .offset = offset, .skipped = skipped };
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(rep.reason, sizeof rep.reason, fmt, ap);
        va_end(ap);
        r->reports++;
        if (r->report)
                r->report(r->report_ctx, &rep);
}

void runfile_reader_set_report(runfile_reader_t *r, runfile_report_fn fn, void *ctx)
{
        r->report = fn;
        r->report_ctx = ctx;
}

void runfile_reader_set_seqs(runfile_reader_t *r, struct runfile_seqs *seqs)
{
        r->seqs = seqs ? seqs : &r->own_seqs;
}

uint64_t runfile_reader_reports(const runfile_reader_t *r)
{
        return r->reports;
}

unsigned runfile_reader_version(const runfile_reader_t *r)
{
        return r->version ? r->version : 1;
}

const struct runfile_frame *runfile_reader_frame(const runfile_reader_t *r)
{
        return &r->last;
}

/* Decodes a varint at p[0..n); returns its length, or 0 if cut or too long. */
static size_t s_varint(const uint8_t *p, size_t n, uint64_t *ret)
{
        uint64_t v = 0;
        for (size_t i = 0; i < n && i < 10; i++) {
                v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
                if (!(p[i] & 0x80)) {
                        *ret = v;
                        return i + 1;
                }
        }
        return 0;
}

/* Whether len bytes at p have the shape of a packed Record: one body field
 * (tags 1..6, length-delimited) whose length fills it exactly. */
static bool s_record_shape(const uint8_t *p, size_t len)
{
        uint64_t sub;
        if (len < 2 || (p[0] & 7) != 2 || p[0] < 0x0a || p[0] > 0x32)
                return false;
        size_t k = s_varint(p + 1, len - 1, &sub);
        return k != 0 && 1 + k + sub == len;
}

/* What a frame at q is: 0 whole with a matching CRC (*ret_len: payload
 * bytes), else a stop kind with *why. */
static enum runfile_stop_kind s_check(const runfile_reader_t *r, size_t q, uint32_t *ret_len,
                                      char *why, size_t why_size)
{
        size_t left = r->size - q;
        const uint8_t *p = r->data + q;
        size_t hb = r->version == 1 ? RUNFILE_FRAME_HEADER : RUNFILE_FRAME2_HEADER;
        uint32_t len, crc, have;

        if (left < hb) {
                snprintf(why, why_size, "frame header cut at byte %zu: %zu bytes needed, "
                         "%zu present", q, hb, left);
                return RUNFILE_HEADER_CUT;
        }
        if (r->version == 1) {
                len = s_le32(p);
                crc = s_le32(p + 4);
        } else {
                if (s_le32(p) != RUNFILE_SYNC) {
                        snprintf(why, why_size, "no frame sync word at byte %zu", q);
                        return RUNFILE_PARSE;
                }
                len = s_le32(p + 4);
                crc = s_le32(p + 20);
        }
        if (len > RUNFILE_MAX_RECORD) {
                snprintf(why, why_size, "frame %" PRIu64 " at byte %zu: length %" PRIu32
                         " is above the %u-byte limit", r->frame, q, len, RUNFILE_MAX_RECORD);
                return RUNFILE_TOO_BIG;
        }
        if (len > left - hb) {
                snprintf(why, why_size, "frame cut at byte %zu: header says %" PRIu32
                         " bytes, %zu present", q, len, left - hb);
                return RUNFILE_CUT;
        }
        if (r->version == 1)
                have = crc32c(0, p + hb, len);
        else
                have = crc32c(crc32c(0, p, 20), p + hb, len);
        if (have != crc) {
                snprintf(why, why_size, "crc mismatch at frame %" PRIu64 " offset %zu: stored %08"
                         PRIx32 ", computed %08" PRIx32, r->frame, q, crc, have);
                return RUNFILE_CRC;
        }
        if (len == 0) {
                snprintf(why, why_size, "record does not parse at frame %" PRIu64
                         " offset %zu: empty frame", r->frame, q);
                return RUNFILE_PARSE;
        }
        *ret_len = len;
        return RUNFILE_READING;
}

/* Unpacks the frame at q (checked) into r->rec; false if it does not parse. */
static bool s_unpack(runfile_reader_t *r, size_t q, uint32_t len)
{
        size_t hb = r->version == 1 ? RUNFILE_FRAME_HEADER : RUNFILE_FRAME2_HEADER;
        s_arena_reset(r);
        r->rec = darkdaq__record__unpack(&r->alloc, len, r->data + q + hb);
        return r->rec != NULL;
}

/* Whether a good frame (believable, whole, CRC, parses) starts at q; leaves
 * it unpacked in r->rec. */
static bool s_good_at(runfile_reader_t *r, size_t q, uint32_t *ret_len)
{
        char why[8];
        size_t hb = r->version == 1 ? RUNFILE_FRAME_HEADER : RUNFILE_FRAME2_HEADER;
        if (q >= r->size || r->size - q < hb + 2)
                return false;
        if (r->version == 1) {
                /* No sync word: a cheap look at the shape first, so that
                 * scanning a damaged stretch costs a CRC only where a frame
                 * is believable. */
                uint32_t len = s_le32(r->data + q);
                if (len < 2 || len > r->size - q - hb || !s_record_shape(r->data + q + hb, len))
                        return false;
        } else if (s_le32(r->data + q) != RUNFILE_SYNC) {
                return false;
        }
        return s_check(r, q, ret_len, why, sizeof why) == RUNFILE_READING &&
               s_unpack(r, q, *ret_len);
}

/* The offset of the next good frame after the bad one at bad, or SIZE_MAX:
 * every byte offset from bad + 1, the earliest good frame taken.  Not the
 * frame the bad one's length points to: a damaged length can point at a
 * frame boundary further on and skip intact frames; a forgery found first
 * inside the bad frame's payload is caught by the seq checks instead. */
static size_t s_resync(runfile_reader_t *r, size_t bad, uint32_t *ret_len)
{
        size_t hb = r->version == 1 ? RUNFILE_FRAME_HEADER : RUNFILE_FRAME2_HEADER;
        for (size_t q = bad + 1; q + hb + 2 <= r->size; q++) {
                if (r->version != 1) {
                        const uint8_t *hit = memmem(r->data + q, r->size - q, "DKRS", 4);
                        if (!hit)
                                break;
                        q = (size_t)(hit - r->data);
                }
                if (s_good_at(r, q, ret_len))
                        return q;
        }
        return SIZE_MAX;
}

/* The first call: which version, and where the frames begin. */
static int s_begin(runfile_reader_t *r)
{
        r->version = 1;
        if (r->size >= 4 && s_le32(r->data) == RUNFILE_FILE_MAGIC) {
                if (r->size < RUNFILE_FILE_HEADER)
                        return s_stop(r, RUNFILE_HEADER_CUT, "file header cut: %zu of 8 bytes",
                                      r->size);
                uint32_t v = s_le32(r->data + 4);
                if (v != RUNFILE_VERSION)
                        return s_stop(r, RUNFILE_VERSION_UNKNOWN, "run file format version %"
                                      PRIu32 " is not one this reader knows (1, 2)", v);
                r->version = 2;
                r->pos = RUNFILE_FILE_HEADER;
        } else if (r->size >= RUNFILE_FILE_HEADER + 4 &&
                   s_le32(r->data + RUNFILE_FILE_HEADER) == RUNFILE_SYNC) {
                r->version = 2;
                r->pos = RUNFILE_FILE_HEADER;
                s_report(r, RUNFILE_REPORT_SKIPPED, 0, RUNFILE_FILE_HEADER,
                         "file header damaged (not DKRN version 2) but a frame sync word "
                         "follows it: read as version 2");
        }
        return 1;
}

static struct runfile_seqs *s_seqs(runfile_reader_t *r)
{
        return r->seqs;
}

/* Seq checks of an accepted v2 frame.  Returns false for a duplicate (to be
 * skipped).  A frame found by resynchronisation with a seq other than the
 * one expected is reported and returned but not believed: the expectation
 * moves past it only when the frame after it follows it, so a forgery in a
 * payload does not make the real frames after it look like duplicates. */
static bool s_check_seq(runfile_reader_t *r, size_t q, uint32_t sender, uint64_t seq)
{
        struct runfile_seqs *t = s_seqs(r);
        unsigned i;
        if (seq == RUNFILE_NO_SEQ)
                return true;
        for (i = 0; i < t->n && t->s[i].sender != sender; i++)
                ;
        if (i == t->n) {
                if (t->n == RUNFILE_SENDERS)
                        return true;    /* too many senders to follow: not checked */
                t->n++;
                t->s[i].sender = sender;
                t->s[i].next = seq + 1;
                t->s[i].pending = RUNFILE_NO_SEQ;
                return true;
        }
        uint64_t want = t->s[i].next, pending = t->s[i].pending;
        t->s[i].pending = RUNFILE_NO_SEQ;
        if (seq == 0 && r->rec->body_case == DARKDAQ__RECORD__BODY_RUN_HEADER) {
                t->s[i].next = 1;               /* a new run of this sender */
                return true;
        }
        if (pending != RUNFILE_NO_SEQ && seq == pending + 1) {
                t->s[i].next = seq + 1;         /* the frame found was the writer's */
                return true;
        }
        if (seq < want) {
                s_report(r, RUNFILE_REPORT_DUPLICATE, q, 0,
                         "frame at byte %zu carries seq %" PRIu64 " of sender %" PRIu32
                         ", read already (%" PRIu64 " expected): not returned again",
                         q, seq, sender, want);
                return false;
        }
        if (seq > want && r->resynced) {
                s_report(r, RUNFILE_REPORT_RESYNC_SEQ, q, 0,
                         "frame found after damage at byte %zu carries seq %" PRIu64
                         " of sender %" PRIu32 ", %" PRIu64 " expected: seqs %" PRIu64
                         "..%" PRIu64 " missing, or this frame is not one the writer wrote",
                         q, seq, sender, want, want, seq - 1);
                t->s[i].pending = seq;
                return true;
        }
        if (seq > want)
                s_report(r, RUNFILE_REPORT_GAP, q, 0,
                         "seqs %" PRIu64 "..%" PRIu64 " of sender %" PRIu32
                         " missing before the frame at byte %zu", want, seq - 1, sender, q);
        t->s[i].next = seq + 1;
        return true;
}

/* Checks of the run's structure on a frame about to be returned. */
static void s_check_shape(runfile_reader_t *r, size_t q)
{
        const Darkdaq__Record *rec = r->rec;
        if (r->after_trailer)
                s_report(r, RUNFILE_REPORT_EARLY_TRAILER, r->trailer_offset, 0,
                         "run trailer at byte %" PRIu64 " is not the last frame: "
                         "a frame follows at byte %zu", r->trailer_offset, q);
        r->after_trailer = false;
        if (rec->body_case == DARKDAQ__RECORD__BODY_RUN_HEADER && r->returned > 0)
                s_report(r, RUNFILE_REPORT_SECOND_HEADER, q, 0,
                         "second run header at byte %zu (frame %" PRIu64 ")", q, r->frame);
        if (rec->body_case == DARKDAQ__RECORD__BODY_RUN_TRAILER && rec->run_trailer) {
                r->after_trailer = true;
                r->trailer_offset = q;
                uint64_t want = rec->run_trailer->records_in_file;
                if (want && want != r->returned + 1)
                        s_report(r, RUNFILE_REPORT_COUNT, q, 0,
                                 "run trailer at byte %zu counts %" PRIu64 " records in the "
                                 "file, %" PRIu64 " read", q, want, r->returned + 1);
        }
}

int runfile_reader_next(runfile_reader_t *r, const Darkdaq__Record **ret,
                        uint64_t *ret_offset)
{
        s_arena_reset(r);
        if (r->stop.kind != RUNFILE_READING)
                return 0;
        if (!r->version && s_begin(r) == 0)
                return 0;
        for (;;) {
                size_t q = r->pos;
                uint32_t len = 0;
                char why[sizeof r->stop.reason];
                if (q == r->size)
                        return s_stop(r, RUNFILE_END, "end of file after %" PRIu64 " frames",
                                      r->frame);
                enum runfile_stop_kind k = s_check(r, q, &len, why, sizeof why);
                if (k == RUNFILE_READING && !s_unpack(r, q, len)) {
                        k = RUNFILE_PARSE;
                        snprintf(why, sizeof why, "record does not parse at frame %" PRIu64
                                 " offset %zu", r->frame, q);
                }
                if (k != RUNFILE_READING) {
                        size_t next = s_resync(r, q, &len);
                        if (next == SIZE_MAX) {
                                s_arena_reset(r);
                                return s_stop(r, k, "%s", why);
                        }
                        s_report(r, RUNFILE_REPORT_SKIPPED, q, next - q,
                                 "%s; %zu bytes skipped to the next good frame at byte %zu",
                                 why, next - q, next);
                        r->pos = next;
                        r->resynced = true;
                        q = next;
                }
                /* r->rec holds the frame at q, len payload bytes. */
                size_t hb = r->version == 1 ? RUNFILE_FRAME_HEADER : RUNFILE_FRAME2_HEADER;
                const uint8_t *p = r->data + q;
                r->last.offset = q;
                r->last.size = len;
                r->last.sender = r->version == 1 ? 0 : s_le32(p + 8);
                r->last.seq = r->version == 1 ? RUNFILE_NO_SEQ : s_le64(p + 12);
                r->pos = q + hb + len;
                r->frame++;
                bool keep = s_check_seq(r, q, r->last.sender, r->last.seq);
                r->resynced = false;
                if (!keep)
                        continue;
                s_check_shape(r, q);
                r->returned++;
                if (ret_offset)
                        *ret_offset = q;
                *ret = r->rec;
                return 1;
        }
}

const struct runfile_stop *runfile_reader_stop(const runfile_reader_t *r)
{
        return &r->stop;
}

uint64_t runfile_reader_size(const runfile_reader_t *r)
{
        return r->size;
}

const uint8_t *runfile_reader_data(const runfile_reader_t *r)
{
        return r->data;
}

bool runfile_is_run_file(const uint8_t *head, size_t n)
{
        /* Version 2: the file magic says it, whatever follows. */
        if (head && n >= RUNFILE_FILE_HEADER && s_le32(head) == RUNFILE_FILE_MAGIC)
                return true;
        /* Record.run_header is field 1, length-delimited: tag byte 0x0A. */
        if (!head || n < RUNFILE_FRAME_HEADER + 2)
                return false;
        uint32_t len = s_le32(head);
        const uint8_t *payload = head + RUNFILE_FRAME_HEADER;
        size_t avail = n - RUNFILE_FRAME_HEADER;
        uint64_t sub;
        if (len < 2 || len > RUNFILE_MAX_RECORD || payload[0] != 0x0A)
                return false;
        size_t k = s_varint(payload + 1, avail - 1 < len - 1 ? avail - 1 : len - 1, &sub);
        if (k == 0 || 1 + k + sub != len)
                return false;
        if (avail < len)
                return true;
        if (crc32c(0, payload, len) != s_le32(head + 4))
                return false;
        Darkdaq__Record *rec = darkdaq__record__unpack(NULL, len, payload);
        bool ok = rec && rec->body_case == DARKDAQ__RECORD__BODY_RUN_HEADER;
        if (rec)
                darkdaq__record__free_unpacked(rec, NULL);
        return ok;
}
