/* SPDX-License-Identifier: Apache-2.0 */
/* store_file: a run file being written by darkdaq-store, from NAME.part to
 * NAME and NAME.json (store_file.h).  Frames go through one buffer; the
 * file's CRC-32C follows every byte, so closing never reads the file back. */
#include "store_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crc32c.h"
#include "runfile.h"

#define BUF_BYTES       (256u << 10)    /* frames are written in chunks of this */

struct store_file {
        int fd;                         /* NAME.part */
        int dir_fd;                     /* the run directory (not owned) */
        uint32_t run;                   /* run number */
        uint32_t sequence;              /* SSS */
        char name[32];                  /* "run-NNNNNN-SSS.dkr" */
        uint8_t *buf;                   /* frames not yet written */
        size_t len;                     /* bytes in buf */
        uint64_t bytes;                 /* file size, buf included */
        uint32_t crc;                   /* CRC-32C of the bytes so far */
        struct store_file_counters c;   /* what the file holds */
        uint32_t sender;                /* the sender its frames name */
        int err;                        /* first write error; sticky */
        /* What the last successful sync made durable: on an error the file
         * is cut back to it (store_file_cut), so that nothing written after
         * it (a torn frame, frames an fsync failed on) reaches a reader. */
        uint64_t durable_bytes;
        uint32_t durable_crc;
        struct store_file_counters durable_c;
        bool needs_cut;                 /* bytes beyond durable_bytes may be in the file */
        bool content_done;              /* trailer written, fsync'd and closed: all durable */
        bool renamed;                   /* NAME.part is NAME */
        bool sidecar_done;              /* NAME.json written */
        char end_reason[64];            /* the trailer's, once content_done */
};

enum store_kind store_kind_of(const uint8_t *rec, size_t len)
{
        if (len == 0)
                return STORE_KIND_OTHER;
        switch (rec[0]) {
        case 0x0a: return STORE_KIND_HEADER;
        case 0x12: return STORE_KIND_EVENT;
        case 0x1a: return STORE_KIND_LATE;
        case 0x22: return STORE_KIND_JUNK;
        case 0x2a: return STORE_KIND_CORRUPT;
        case 0x32: return STORE_KIND_TRAILER;
        default: return STORE_KIND_OTHER;
        }
}

static int s_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
                if (*p >= end)
                        return -EBADMSG;
                uint8_t b = *(*p)++;
                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *ret = v;
                        return 0;
                }
        }
        return -EBADMSG;
}

int store_event_trigger(const uint8_t *rec, size_t len, uint32_t *ret)
{
        const uint8_t *p = rec, *end = rec + len;
        uint64_t tag, n, v;

        if (len == 0 || rec[0] != 0x12)
                return -EBADMSG;
        p++;
        if (s_varint(&p, end, &n) < 0 || n > (uint64_t)(end - p))
                return -EBADMSG;
        end = p + n;
        while (p < end) {       /* the Event's fields; trigger (1) comes first */
                if (s_varint(&p, end, &tag) < 0)
                        return -EBADMSG;
                switch (tag & 7) {
                case 0:
                        if (s_varint(&p, end, &v) < 0)
                                return -EBADMSG;
                        if (tag >> 3 == 1) {
                                *ret = (uint32_t)v;
                                return 0;
                        }
                        break;
                case 1:
                        if (end - p < 8)
                                return -EBADMSG;
                        p += 8;
                        break;
                case 2:
                        if (s_varint(&p, end, &n) < 0 || n > (uint64_t)(end - p))
                                return -EBADMSG;
                        p += n;
                        break;
                case 5:
                        if (end - p < 4)
                                return -EBADMSG;
                        p += 4;
                        break;
                default:
                        return -EBADMSG;
                }
        }
        *ret = 0;
        return 0;
}

static int s_flush(store_file_t *f)
{
        if (f->err)
                return f->err;
        int r = runfile_write_all(f->fd, f->buf, f->len);
        f->len = 0;
        if (r < 0) {
                f->err = r;
                f->needs_cut = true;    /* maybe a torn frame on disk */
        }
        return r;
}

/* One v2 frame carrying (sender, seq); large records bypass the buffer
 * rather than growing it. */
static int s_frame(store_file_t *f, const uint8_t *rec, size_t len, uint32_t sender,
                   uint64_t seq)
{
        uint8_t hdr[RUNFILE_FRAME2_HEADER];
        int r;

        if (f->err)
                return f->err;
        if (len > RUNFILE_MAX_RECORD)
                return -EMSGSIZE;
        runfile_frame2_header(hdr, rec, (uint32_t)len, sender, seq);
        f->crc = crc32c(f->crc, hdr, sizeof hdr);
        f->crc = crc32c(f->crc, rec, len);
        f->bytes += sizeof hdr + len;
        f->c.records++;
        if (f->len + sizeof hdr + len > BUF_BYTES && (r = s_flush(f)) < 0)
                return r;
        if (sizeof hdr + len > BUF_BYTES) {
                if ((r = runfile_write_all(f->fd, hdr, sizeof hdr)) < 0 ||
                    (r = runfile_write_all(f->fd, rec, len)) < 0) {
                        f->err = r;
                        f->needs_cut = true;
                }
                return r;
        }
        memcpy(f->buf + f->len, hdr, sizeof hdr);
        if (len)
                memcpy(f->buf + f->len + sizeof hdr, rec, len);
        f->len += sizeof hdr + len;
        return 0;
}

static void s_count(store_file_t *f, const uint8_t *rec, size_t len, uint64_t seq)
{
        uint32_t trig;
        switch (store_kind_of(rec, len)) {
        case STORE_KIND_EVENT:
                f->c.events++;
                if (store_event_trigger(rec, len, &trig) == 0) {
                        if (!f->c.have_trigger)
                                f->c.first_trigger = trig;
                        f->c.last_trigger = trig;
                        f->c.have_trigger = true;
                }
                break;
        case STORE_KIND_LATE: f->c.late++; break;
        case STORE_KIND_JUNK: f->c.junk++; break;
        case STORE_KIND_CORRUPT: f->c.corrupt++; break;
        default: break;
        }
        if (seq != STORE_NO_SEQ) {
                if (f->c.first_seq == STORE_NO_SEQ)
                        f->c.first_seq = seq;
                f->c.last_seq = seq;
        }
}

static int s_write_small(int dir_fd, const char *name, const char *text)
{
        int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        int r = runfile_write_all(fd, (const uint8_t *)text, strlen(text));
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

int store_file_open_as(store_file_t **ret, int dir_fd, uint32_t run, uint32_t sequence,
                       const uint8_t *header, size_t header_len, uint64_t header_seq,
                       uint32_t sender)
{
        char part[48];
        uint8_t fh[RUNFILE_FILE_HEADER];
        int r;
        store_file_t *f = calloc(1, sizeof *f);

        if (!f)
                return -ENOMEM;
        f->fd = -1;
        f->dir_fd = dir_fd;
        f->run = run;
        f->sequence = sequence;
        f->sender = sender;
        f->c.first_seq = f->c.last_seq = STORE_NO_SEQ;
        f->durable_c = f->c;
        if ((r = runfile_name(f->name, sizeof f->name, run, sequence)) < 0)
                goto fail;
        snprintf(part, sizeof part, "%s.part", f->name);
        if (faccessat(dir_fd, f->name, F_OK, 0) == 0) {
                r = -EEXIST;
                goto fail;
        }
        f->buf = malloc(BUF_BYTES);
        if (!f->buf) {
                r = -ENOMEM;
                goto fail;
        }
        f->fd = openat(dir_fd, part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (f->fd < 0) {
                r = -errno;
                goto fail;
        }
        if (fsync(dir_fd) < 0 && errno != EINVAL) {
                r = -errno;
                goto fail_unlink;
        }
        /* The file header, then the run header as the first frame. */
        runfile_file_header(fh);
        memcpy(f->buf, fh, sizeof fh);
        f->len = sizeof fh;
        f->bytes = sizeof fh;
        f->crc = crc32c(0, fh, sizeof fh);
        if ((r = s_frame(f, header, header_len, sender, header_seq)) < 0)
                goto fail_unlink;
        s_count(f, header, header_len, header_seq);
        *ret = f;
        return 0;
fail_unlink:
        unlinkat(dir_fd, part, 0);
fail:
        if (f->fd >= 0)
                close(f->fd);
        free(f->buf);
        free(f);
        return r;
}

int store_file_open(store_file_t **ret, int dir_fd, uint32_t run, uint32_t sequence,
                    const uint8_t *header, size_t header_len, uint64_t header_seq,
                    uint64_t first_seq)
{
        (void)first_seq;        /* the frames carry their seqs */
        return store_file_open_as(ret, dir_fd, run, sequence, header, header_len, header_seq, 0);
}

int store_file_append(store_file_t *f, const uint8_t *rec, size_t len, uint64_t seq)
{
        int r = s_frame(f, rec, len, f->sender, seq);
        if (r == 0)
                s_count(f, rec, len, seq);
        return r;
}

/* Everything written so far is durable: the point store_file_cut() goes
 * back to. */
static void s_mark_durable(store_file_t *f)
{
        f->durable_bytes = f->bytes;
        f->durable_crc = f->crc;
        f->durable_c = f->c;
}

int store_file_sync(store_file_t *f)
{
        int r = s_flush(f);
        if (r == 0 && fdatasync(f->fd) < 0)
                r = f->err = -errno;
        if (r < 0) {
                f->needs_cut = true;
                return r;
        }
        s_mark_durable(f);
        return 0;
}

int store_file_cut(store_file_t *f)
{
        char part[48];

        if (f->content_done || !f->needs_cut)
                return 0;
        f->len = 0;             /* the buffer's frames are not durable either */
        snprintf(part, sizeof part, "%s.part", f->name);
        if (f->fd < 0) {
                f->fd = openat(f->dir_fd, part, O_WRONLY | O_CLOEXEC);
                if (f->fd < 0)
                        return -errno;
        }
        /* The truncation must be on disk before anything after it is
         * acknowledged; this fsync is of the cut, not a retry of the one
         * that failed: nothing beyond durable_bytes is trusted. */
        if (ftruncate(f->fd, (off_t)f->durable_bytes) < 0 || fsync(f->fd) < 0)
                return -errno;
        if (lseek(f->fd, 0, SEEK_END) < 0)
                return -errno;
        f->bytes = f->durable_bytes;
        f->crc = f->durable_crc;
        f->c = f->durable_c;
        f->err = 0;
        f->needs_cut = false;
        return 0;
}

/* Trailer, flush, fsync, close: the file's contents are durable.  On an
 * error the file is cut back to what was durable before (the close's own
 * fsync is not trusted until close succeeded too). */
static int s_close_content(store_file_t *f, const uint8_t *trailer, size_t len, uint64_t seq,
                           const char *end_reason)
{
        int r;

        if (f->needs_cut && (r = store_file_cut(f)) < 0)
                return r;
        r = store_file_append(f, trailer, len, seq);
        if (r == 0)
                r = s_flush(f);
        if (r == 0 && fsync(f->fd) < 0)
                r = -errno;
        if (r == 0) {
                int fd = f->fd;
                f->fd = -1;
                if (close(fd) < 0)
                        r = -errno;
        }
        if (r < 0) {
                f->needs_cut = true;
                store_file_cut(f);      /* may fail: retried by the next close */
                return r;
        }
        s_mark_durable(f);
        f->content_done = true;
        snprintf(f->end_reason, sizeof f->end_reason, "%s", end_reason ? end_reason : "");
        return 0;
}

int store_file_close(store_file_t *f, const uint8_t *trailer, size_t len, uint64_t seq,
                     const Darkdaq__RunHeader *header, const char *end_reason)
{
        char part[48];
        int r;

        snprintf(part, sizeof part, "%s.part", f->name);
        if (!f->content_done && (r = s_close_content(f, trailer, len, seq, end_reason)) < 0)
                return r;
        if (!f->renamed) {
                if (renameat(f->dir_fd, part, f->dir_fd, f->name) < 0)
                        return -errno;
                f->renamed = true;
        }
        if (!f->sidecar_done) {
                /* the trailer's reason, also when a later call finishes */
                r = store_sidecar_write(f->dir_fd, f->name, f->run, f->sequence, &f->c, f->crc,
                                        f->bytes, header, f->end_reason);
                if (r < 0)
                        return r;
                f->sidecar_done = true;
        }
        if (fsync(f->dir_fd) < 0 && errno != EINVAL)
                return -errno;
        free(f->buf);
        free(f);
        return 0;
}

bool store_file_closed(const store_file_t *f)
{
        return f->content_done;
}

int store_file_remove(store_file_t *f)
{
        char part[48];

        snprintf(part, sizeof part, "%s.part", f->name);
        if (f->fd >= 0) {
                close(f->fd);
                f->fd = -1;
        }
        if (unlinkat(f->dir_fd, part, 0) < 0 && errno != ENOENT)
                return -errno;
        if (fsync(f->dir_fd) < 0 && errno != EINVAL)
                return -errno;
        free(f->buf);
        free(f);
        return 0;
}

store_file_t *store_file_abandon(store_file_t *f)
{
        if (!f)
                return NULL;
        if (f->needs_cut)
                store_file_cut(f);      /* what it cannot cut, restart recovery reads */
        else if (f->fd >= 0)
                s_flush(f);
        if (f->fd >= 0)
                close(f->fd);
        free(f->buf);
        free(f);
        return NULL;
}

void store_file_get_counters(const store_file_t *f, struct store_file_counters *ret)
{
        *ret = f->c;
}

void store_file_get_durable(const store_file_t *f, struct store_file_counters *ret)
{
        *ret = f->durable_c;
}

size_t store_file_buffered(const store_file_t *f)
{
        return f->len;
}

uint64_t store_file_bytes(const store_file_t *f)
{
        return f->bytes;
}

uint32_t store_file_sequence(const store_file_t *f)
{
        return f->sequence;
}

const char *store_file_name(const store_file_t *f)
{
        return f->name;
}

static void s_json_str(FILE *out, const char *s)
{
        if (!s) {
                fputs("null", out);
                return;
        }
        fputc('"', out);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(out, "\\%c", *p);
                else if (*p < 0x20)
                        fprintf(out, "\\u%04x", *p);
                else
                        fputc(*p, out);
        }
        fputc('"', out);
}

static void s_json_seq(FILE *out, const char *key, uint64_t v)
{
        if (v == STORE_NO_SEQ)
                fprintf(out, ",\"%s\":null", key);
        else
                fprintf(out, ",\"%s\":%" PRIu64, key, v);
}

int store_sidecar_write(int dir_fd, const char *name, uint32_t run, uint32_t sequence,
                        const struct store_file_counters *c, uint32_t crc, uint64_t bytes,
                        const Darkdaq__RunHeader *header, const char *end_reason)
{
        char *text = NULL, json[64], tmp[72];
        size_t n = 0;
        FILE *out = open_memstream(&text, &n);

        if (!out)
                return -ENOMEM;
        fprintf(out, "{\"run\":%" PRIu32 ",\"sequence\":%" PRIu32 ",\"file\":", run, sequence);
        s_json_str(out, name);
        if (c->have_trigger)
                fprintf(out, ",\"first_trigger\":%" PRIu32 ",\"last_trigger\":%" PRIu32,
                        c->first_trigger, c->last_trigger);
        else
                fputs(",\"first_trigger\":null,\"last_trigger\":null", out);
        fprintf(out, ",\"counts\":{\"events\":%" PRIu64 ",\"late\":%" PRIu64 ",\"junk\":%" PRIu64
                ",\"corrupt\":%" PRIu64 ",\"records\":%" PRIu64 "}", c->events, c->late, c->junk,
                c->corrupt, c->records);
        fprintf(out, ",\"crc32c\":\"%08" PRIx32 "\",\"bytes\":%" PRIu64 ",\"software_version\":",
                crc, bytes);
        s_json_str(out, header ? header->software_version : NULL);
        fputs(",\"config_hash\":", out);
        s_json_str(out, header ? header->config_hash : NULL);
        fputs(",\"end_reason\":", out);
        s_json_str(out, end_reason);
        fprintf(out, ",\"start_time_ns\":%" PRIu64, header ? header->start_time_ns : 0);
        s_json_seq(out, "first_seq", c->first_seq);
        s_json_seq(out, "last_seq", c->last_seq);
        fputs("}\n", out);
        if (fclose(out) != 0) {
                free(text);
                return -ENOMEM;
        }
        snprintf(json, sizeof json, "%s.json", name);
        snprintf(tmp, sizeof tmp, "%s.json.tmp", name);
        int r = s_write_small(dir_fd, tmp, text);
        free(text);
        if (r == 0 && renameat(dir_fd, tmp, dir_fd, json) < 0)
                r = -errno;
        if (r < 0)
                unlinkat(dir_fd, tmp, 0);
        return r;
}

static uint64_t s_json_u64(const char *text, const char *key, uint64_t absent)
{
        char pat[40];
        snprintf(pat, sizeof pat, "\"%s\":", key);
        const char *p = strstr(text, pat);
        if (!p)
                return absent;
        p += strlen(pat);
        if (*p < '0' || *p > '9')
                return absent;          /* null */
        return strtoull(p, NULL, 10);
}

int store_sidecar_read(int dir_fd, const char *name, uint64_t *first_seq, uint64_t *last_seq,
                       uint64_t *start_time_ns)
{
        char json[64], text[8192];
        snprintf(json, sizeof json, "%s.json", name);
        int fd = openat(dir_fd, json, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, text, sizeof text - 1);
        int e = errno;
        close(fd);
        if (n < 0)
                return -e;
        text[n] = '\0';
        *first_seq = s_json_u64(text, "first_seq", STORE_NO_SEQ);
        *last_seq = s_json_u64(text, "last_seq", STORE_NO_SEQ);
        *start_time_ns = s_json_u64(text, "start_time_ns", 0);
        return 0;
}
