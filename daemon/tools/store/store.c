/* SPDX-License-Identifier: Apache-2.0 */
/* store: runs, dedup, rotation, trailers, ACKs and restart recovery of
 * darkdaq-store (store.h).  Records are written packed, as they came; only
 * headers (once per file) and trailers (once per file) are unpacked.
 *
 * What is on disk, by seq: every frame of a run file (version 2) carries its
 * record's (sender, seq), records are written strictly in seq order (one
 * that skips ahead is dropped and the daemon is asked to send again), so a
 * dead store's file says by itself which seqs it holds; recovery never
 * infers a seq by counting frames.  The sidecar of each closed file keeps
 * first_seq and last_seq, which is how a run seen again after a restart
 * continues without duplicates. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "clock.h"
#include "crc32c.h"
#include "runfile.h"
#include "sha256.h"
#include "store_file.h"

#define MAX_RUNS        64              /* run states kept (closed ones are evicted) */
#define LOG_EVERY_MS    1000u           /* at most one line per second for floods */
#define HELLO_EVERY_MS  1000u           /* asking for a resend, at most this often */
#define TRAILER_ROOM    4096u           /* kept free below max_file_bytes for a trailer */
/* Kept free on the disk beyond min_free_bytes so that the open file can
 * always be closed (trailer, sidecar and its temporary, a page each on
 * tmpfs), and what opening a file takes besides its header. */
#define CLOSE_ROOM      (32u << 10)
#define OPEN_ROOM       (16u << 10)
#define COUNT_KINDS     4

static const char *const k_kind_names[COUNT_KINDS] = { "events", "late", "junk", "corrupt" };

struct run_state {
        bool used;
        uint32_t run;                   /* run number */
        Darkdaq__Record *hdr;           /* the run's header (protobuf-c heap), or NULL */
        bool hdr_synth;                 /* made by the store: the daemon's was not seen */
        bool seq_known;                 /* last_seq is valid */
        uint64_t last_seq;              /* highest seq written; all before it are too */
        bool durable_known;             /* durable_seq is valid */
        uint64_t durable_seq;           /* highest seq fsync'd (or refused): what ACKs cover */
        uint64_t acked_seq;             /* last ACK sent (valid if acked) */
        bool acked;
        bool ack_due;                   /* records written or skipped since the last ACK */
        bool mid_run;                   /* started at a seq > 0 knowing nothing on disk */
        uint64_t mid_run_first;         /* the lowest seq written since then */
        uint32_t next_sequence;         /* SSS of the next file */
        store_file_t *f;                /* the open file, or NULL */
        store_file_t *broken;           /* cut back after an error, to be closed; or NULL */
        uint64_t file_opened_ms;        /* monotonic */
        uint64_t file_max_bytes;        /* the open file's limits, as configured when it opened */
        uint64_t file_max_seconds;
        uint64_t last_rx_ms;            /* monotonic: last record of this run */
        uint64_t skipped, dropped;      /* duplicates and out-of-order records, to log */
        uint64_t skip_lo, skip_hi;      /* seq range of the skipped ones not yet logged */
        uint64_t pending_ms;            /* when the skips or drops not yet logged began */
        uint32_t rx_session;            /* the session rx_hi belongs to */
        uint64_t rx_hi;                 /* highest seq received in it: ACKs go no further */
        uint32_t conflict_session;      /* a different header came in this session: refused */
};

struct store {
        const struct store_config *cfg;
        int dir_fd;                     /* cfg->dir */
        store_send_fn send;
        void *send_ctx;
        struct run_state runs[MAX_RUNS];
        struct run_state *last;         /* the run of the last record (a cache) */
        uint64_t last_ack_ms;           /* monotonic */
        uint64_t last_hello_ms;
        bool want_hello;
        bool paused;
        uint64_t bytes_since_check;     /* written since free_at_check was read */
        uint64_t free_at_check;         /* bytes free in dir at the last statvfs */
        bool free_known;                /* free_at_check is valid */
        uint64_t records_written;       /* records appended to files, since start */
        uint8_t *scratch;               /* headers and trailers packed here */
        size_t scratch_cap;
        uint32_t session, sender;       /* ours (WELCOME), and the daemon's sender id */
        uint8_t *arena;                 /* every record is unpacked here to check it */
        size_t arena_cap, arena_used;
        bool arena_short;               /* the last unpack ran out of arena */
        uint64_t logged_ms;             /* drops of the counters below, logged this often */
        struct store_counters c;
};

void store_log(const char *fmt, ...)
{
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        fprintf(stderr, "darkdaq-store: %s\n", line);
}

int store_new(store_t **ret, const struct store_config *cfg, store_send_fn send, void *ctx)
{
        store_t *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->cfg = cfg;
        s->send = send;
        s->send_ctx = ctx;
        s->dir_fd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0) {
                int r = -errno;
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

static void s_run_clear(struct run_state *r)
{
        if (r->hdr)
                darkdaq__record__free_unpacked(r->hdr, NULL);
        store_file_abandon(r->f);
        store_file_abandon(r->broken);
        memset(r, 0, sizeof *r);
}

store_t *store_free(store_t *s)
{
        if (!s)
                return NULL;
        for (int i = 0; i < MAX_RUNS; i++)
                s_run_clear(&s->runs[i]);
        close(s->dir_fd);
        free(s->scratch);
        free(s->arena);
        free(s);
        return NULL;
}

static uint8_t *s_scratch(store_t *s, size_t n)
{
        if (n > s->scratch_cap) {
                uint8_t *p = realloc(s->scratch, n);
                if (!p)
                        return NULL;
                s->scratch = p;
                s->scratch_cap = n;
        }
        return s->scratch;
}

/* A heap copy of a Record (pack, unpack), so that every kept header is
 * freed the same way. */
static Darkdaq__Record *s_copy(store_t *s, const Darkdaq__Record *rec)
{
        size_t n = darkdaq__record__get_packed_size(rec);
        uint8_t *buf = s_scratch(s, n ? n : 1);
        if (!buf)
                return NULL;
        darkdaq__record__pack(rec, buf);
        return darkdaq__record__unpack(NULL, n, buf);
}

static void s_send(store_t *s, enum storage_kind kind, uint32_t run, uint64_t seq)
{
        struct storage_ctl c = { .kind = kind, .session = kind == STORAGE_HELLO ? 0 : s->session,
                                 .run = run, .sender = s->sender, .seq = seq };
        if (kind != STORAGE_HELLO && !s->session)
                return;         /* nobody to say it to yet */
        s->send(s->send_ctx, &c);
}

/* ACKs what is on disk, as far as this session has sent it: the daemon
 * refuses an ACK beyond what it sent in the session. */
static void s_ack(store_t *s, struct run_state *r)
{
        if (!r->durable_known || !s->session || r->rx_session != s->session)
                return;
        uint64_t seq = r->durable_seq < r->rx_hi ? r->durable_seq : r->rx_hi;
        s_send(s, STORAGE_ACK, r->run, seq);
        r->acked = true;
        r->acked_seq = r->durable_seq;
        r->ack_due = r->durable_seq < r->last_seq;
}

/* Everything written of r is durable now (a sync or a close succeeded, or
 * there was nothing to write). */
static void s_durable(struct run_state *r)
{
        r->durable_known = r->seq_known;
        r->durable_seq = r->last_seq;
}

/* A write, fsync or close failed: what was written after the last durable
 * record is lost to the store; the daemon sends it again. */
static void s_roll_back(store_t *s, struct run_state *r)
{
        r->seq_known = r->durable_known;
        r->last_seq = r->durable_seq;
        s->want_hello = true;
}

/* The seq as text, or "none" (one call per log line: a static buffer). */
static const char *s_seq_text(bool known, uint64_t seq)
{
        static char buf[24];
        if (!known)
                return "none";
        snprintf(buf, sizeof buf, "%" PRIu64, seq);
        return buf;
}

/* ---- what a dead store left ------------------------------------------------ */

/* A listing of dir from its start (a dup shares the offset of dir_fd, which
 * the last listing left at the end). */
static DIR *s_list(store_t *s)
{
        int fd = dup(s->dir_fd);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                if (fd >= 0)
                        close(fd);
                return NULL;
        }
        rewinddir(d);
        return d;
}

/* Reads "run-N-S.dkr" + suffix; returns 0 and run, seq. */
static int s_parse_name(const char *name, const char *suffix, uint32_t *run, uint32_t *seq)
{
        unsigned a, b;
        int n = -1;
        if (sscanf(name, "run-%u-%u.dkr%n", &a, &b, &n) != 2 || n < 0 ||
            strcmp(name + n, suffix) || strncmp(name, "run-", 4))
                return -EINVAL;
        *run = a;
        *seq = b;
        return 0;
}

static int s_file_crc(int dir_fd, const char *name, uint32_t *crc, uint64_t *bytes)
{
        int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
        uint8_t buf[1 << 16];
        ssize_t n;
        if (fd < 0)
                return -errno;
        *crc = 0;
        *bytes = 0;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
                *crc = crc32c(*crc, buf, (size_t)n);
                *bytes += (uint64_t)n;
        }
        int r = n < 0 ? -errno : 0;
        close(fd);
        return r;
}

static void s_recover_one(store_t *s, const char *part)
{
        char path[4200], name[64], stop[200];
        uint32_t run, sequence, crc;
        uint64_t bytes;
        bool trailer_last = false;
        struct store_file_counters c = { .first_seq = STORE_NO_SEQ, .last_seq = STORE_NO_SEQ };
        Darkdaq__Record *hdr = NULL;
        char *end_reason = NULL;
        runfile_reader_t *rd = NULL;
        const Darkdaq__Record *rec;

        if (s_parse_name(part, ".part", &run, &sequence) < 0)
                return;
        snprintf(name, sizeof name, "%.*s", (int)(strlen(part) - 5), part);
        snprintf(path, sizeof path, "%s/%s", s->cfg->dir, part);

        int r = runfile_reader_open(&rd, path);
        if (r < 0) {
                store_log("restart recovery: %s: cannot read: %s; left as it is", path,
                          strerror(-r));
                return;
        }
        while (runfile_reader_next(rd, &rec, NULL) > 0) {
                /* The seqs on disk are those the frames carry (version 2). */
                uint64_t fseq = runfile_reader_frame(rd)->seq;
                if (fseq != RUNFILE_NO_SEQ) {
                        if (c.first_seq == STORE_NO_SEQ)
                                c.first_seq = fseq;
                        c.last_seq = fseq;
                }
                c.records++;
                trailer_last = false;
                switch (rec->body_case) {
                case DARKDAQ__RECORD__BODY_RUN_HEADER:
                        if (c.records == 1 && !hdr)
                                hdr = s_copy(s, rec);
                        break;
                case DARKDAQ__RECORD__BODY_EVENT:
                        c.events++;
                        if (!c.have_trigger)
                                c.first_trigger = rec->event->trigger;
                        c.last_trigger = rec->event->trigger;
                        c.have_trigger = true;
                        break;
                case DARKDAQ__RECORD__BODY_LATE: c.late++; break;
                case DARKDAQ__RECORD__BODY_JUNK: c.junk++; break;
                case DARKDAQ__RECORD__BODY_CORRUPT: c.corrupt++; break;
                case DARKDAQ__RECORD__BODY_RUN_TRAILER:
                        trailer_last = true;
                        free(end_reason);
                        end_reason = strdup(rec->run_trailer->end_reason);
                        break;
                default: break;
                }
        }
        const struct runfile_stop *st = runfile_reader_stop(rd);
        bool whole = st->kind == RUNFILE_END && trailer_last;
        bool v2 = runfile_reader_version(rd) == 2;
        if (st->kind == RUNFILE_END)
                snprintf(stop, sizeof stop, "every frame whole (%" PRIu64 " bytes)", st->offset);
        else
                snprintf(stop, sizeof stop, "reading stopped at byte %" PRIu64 ": %s", st->offset,
                         st->reason);
        rd = runfile_reader_free(rd);

        if (faccessat(s->dir_fd, name, F_OK, 0) == 0) {
                store_log("restart recovery: %s: %s exists too; left as it is", path, name);
                goto out;
        }
        if (renameat(s->dir_fd, part, s->dir_fd, name) < 0 ||
            s_file_crc(s->dir_fd, name, &crc, &bytes) < 0 ||
            store_sidecar_write(s->dir_fd, name, run, sequence, &c, crc, bytes,
                                hdr ? hdr->run_header : NULL,
                                whole && end_reason ? end_reason : "crash") < 0) {
                store_log("restart recovery: %s: cannot rename or write its sidecar: %s",
                          path, strerror(errno));
                goto out;
        }
        fsync(s->dir_fd);
        char seqs[128];
        if (c.last_seq != STORE_NO_SEQ)
                snprintf(seqs, sizeof seqs, "seq %" PRIu64 "..%" PRIu64, c.first_seq, c.last_seq);
        else
                snprintf(seqs, sizeof seqs, "%s", v2 ? "no seq" :
                         "seq unknown (a version 1 file: its frames carry none): records "
                         "after the last ACK may be written again");
        store_log("restart recovery: %s, left by a store that stopped without closing it: "
                  "%" PRIu64 " whole records (%s), %s; renamed to %s %s; run %" PRIu32
                  " continues in a new file when the daemon sends again",
                  part, c.records, seqs, stop, name, whole ? "(it has its trailer)" :
                  "without a trailer", run);
out:
        free(end_reason);
        if (hdr)
                darkdaq__record__free_unpacked(hdr, NULL);
}

void store_recover(store_t *s)
{
        DIR *d = s_list(s);
        struct dirent *e;
        char **parts = NULL;
        size_t n = 0;

        if (!d) {
                store_log("restart recovery: cannot list %s: %s", s->cfg->dir, strerror(errno));
                return;
        }
        while ((e = readdir(d))) {
                size_t len = strlen(e->d_name);
                uint32_t a, b;
                if (len > 9 && !strcmp(e->d_name + len - 9, ".json.tmp")) {
                        unlinkat(s->dir_fd, e->d_name, 0);
                        continue;
                }
                if (s_parse_name(e->d_name, ".part", &a, &b) < 0)
                        continue;
                char **p = realloc(parts, (n + 1) * sizeof *parts);
                if (!p)
                        break;
                parts = p;
                parts[n] = strdup(e->d_name);
                if (parts[n])
                        n++;
        }
        closedir(d);
        for (size_t i = 0; i < n; i++) {
                s_recover_one(s, parts[i]);
                free(parts[i]);
        }
        free(parts);
}

/* What dir already holds of run: the next file sequence, the highest seq
 * on disk, the run's header. */
static void s_lookup(store_t *s, struct run_state *r)
{
        DIR *d = s_list(s);
        struct dirent *e;
        bool any = false;
        uint32_t max_seq = 0;

        if (!d)
                return;
        while ((e = readdir(d))) {
                uint32_t run, sq;
                if ((s_parse_name(e->d_name, "", &run, &sq) == 0 ||
                     s_parse_name(e->d_name, ".json", &run, &sq) == 0 ||
                     s_parse_name(e->d_name, ".part", &run, &sq) == 0) && run == r->run) {
                        if (!any || sq > max_seq)
                                max_seq = sq;
                        any = true;
                }
        }
        closedir(d);
        if (!any)
                return;
        r->next_sequence = max_seq + 1;
        for (uint32_t sq = max_seq + 1; sq-- > 0 && max_seq - sq < 1000;) {
                char name[64];
                uint64_t first, last, t0;
                runfile_name(name, sizeof name, r->run, sq);
                if (!r->hdr) {
                        char path[4200];
                        runfile_reader_t *rd;
                        const Darkdaq__Record *rec;
                        snprintf(path, sizeof path, "%s/%s", s->cfg->dir, name);
                        if (runfile_reader_open(&rd, path) == 0) {
                                if (runfile_reader_next(rd, &rec, NULL) > 0 &&
                                    rec->body_case == DARKDAQ__RECORD__BODY_RUN_HEADER)
                                        r->hdr = s_copy(s, rec);
                                runfile_reader_free(rd);
                        }
                }
                if (!r->seq_known && store_sidecar_read(s->dir_fd, name, &first, &last, &t0) == 0 &&
                    last != STORE_NO_SEQ) {
                        r->seq_known = true;
                        r->last_seq = last;
                        s_durable(r);
                }
                if (r->hdr && r->seq_known)
                        break;
        }
        store_log("run %" PRIu32 ": %u file(s) already in %s; %s; next file sequence %03" PRIu32,
                  r->run, max_seq + 1, s->cfg->dir, r->seq_known ? "continuing after the "
                  "highest seq on disk" : "no seq known on disk (records may be written twice)",
                  r->next_sequence);
        if (r->seq_known) {
                r->acked = false;
                r->ack_due = true;
        }
}

/* ---- the run table ---------------------------------------------------------- */

static struct run_state *s_find(store_t *s, uint32_t run)
{
        if (s->last && s->last->used && s->last->run == run)
                return s->last;
        for (int i = 0; i < MAX_RUNS; i++)
                if (s->runs[i].used && s->runs[i].run == run)
                        return &s->runs[i];
        return NULL;
}

static int s_close(store_t *s, struct run_state *r, const char *reason, bool continued,
                   uint64_t now_ms);
static bool s_room(store_t *s, uint64_t need);

static struct run_state *s_get(store_t *s, uint32_t run, uint64_t now_ms)
{
        struct run_state *r = s_find(s, run), *victim = NULL;
        if (r)
                return r;
        for (int i = 0; i < MAX_RUNS && !r; i++)
                if (!s->runs[i].used)
                        r = &s->runs[i];
        if (!r) {               /* evict the quietest, a closed one if any */
                for (int i = 0; i < MAX_RUNS; i++) {
                        struct run_state *x = &s->runs[i];
                        if (!victim || (!x->f && victim->f) ||
                            (!x->f == !victim->f && x->last_rx_ms < victim->last_rx_ms))
                                victim = x;
                }
                if (victim->f)
                        s_close(s, victim, "silence", false, now_ms);
                s_run_clear(victim);
                r = victim;
        }
        r->used = true;
        r->run = run;
        r->last_rx_ms = now_ms;
        s_lookup(s, r);
        return r;
}

/* ---- files ------------------------------------------------------------------- */

static const Darkdaq__RunHeader *s_hdr(const struct run_state *r)
{
        return r->hdr ? r->hdr->run_header : NULL;
}

static int s_open(store_t *s, struct run_state *r, uint64_t header_seq, uint64_t first_seq,
                  uint64_t now_ms)
{
        int err = 0;
        for (int tries = 0; tries < 1000; tries++) {
                r->hdr->run_header->file_sequence = r->next_sequence;
                size_t n = darkdaq__record__get_packed_size(r->hdr);
                uint8_t *buf = s_scratch(s, n ? n : 1);
                if (!buf)
                        return -ENOMEM;
                darkdaq__record__pack(r->hdr, buf);
                (void)first_seq;        /* the frames carry their seqs */
                err = store_file_open_as(&r->f, s->dir_fd, r->run, r->next_sequence, buf, n,
                                         header_seq, s->sender);
                s->bytes_since_check += n + OPEN_ROOM;
                if (err != 0 && err != -EEXIST)
                        break;          /* nothing made: the number is not burnt */
                r->next_sequence++;
                if (err == 0) {
                        r->file_opened_ms = now_ms;
                        /* a reload's new limits take effect from the next file */
                        r->file_max_bytes = s->cfg->max_file_bytes;
                        r->file_max_seconds = s->cfg->max_file_seconds;
                        store_log("run %" PRIu32 ": writing %s/%s.part%s", r->run, s->cfg->dir,
                                  store_file_name(r->f), r->hdr_synth ?
                                  " (header made by the store: the daemon's was not seen)" : "");
                        return 0;
                }
        }
        char name[64];
        runfile_name(name, sizeof name, r->run, r->next_sequence);
        store_log("run %" PRIu32 ": cannot create %s/%s.part: %s; taking no data until the "
                  "disk is checked again", r->run, s->cfg->dir, name, strerror(-err));
        return err;
}

static void s_log_closed(const struct run_state *r, const char *name, const char *reason,
                         const struct store_file_counters *c, uint64_t bytes, int err)
{
        if (err < 0 && r->broken && store_file_closed(r->broken)) {
                store_log("run %" PRIu32 ": closing %s (%s) failed after its data was on disk: "
                          "%s; its records count as stored, renaming it and its sidecar are "
                          "tried again once the disk check passes", r->run, name, reason,
                          strerror(-err));
                return;
        }
        if (err < 0) {
                struct store_file_counters d = { .last_seq = STORE_NO_SEQ };
                if (r->broken)
                        store_file_get_durable(r->broken, &d);
                store_log("run %" PRIu32 ": closing %s (%s) failed: %s; cut back to its last "
                          "durable frame (%" PRIu64 " records), closed once the disk check "
                          "passes; records after seq %s are asked for again", r->run, name,
                          reason, strerror(-err), d.records, s_seq_text(r->durable_known,
                                                                         r->durable_seq));
                return;
        }
        store_log("run %" PRIu32 ": closed %s (%s): %" PRIu64 " records, %" PRIu64 " events, %"
                  PRIu64 " late, %" PRIu64 " junk, %" PRIu64 " corrupt, %" PRIu64 " bytes",
                  r->run, name, reason, c->records, c->events, c->late, c->junk, c->corrupt,
                  bytes);
}

/* Packs a trailer whose counts are this file's, keeping the daemon's other
 * counts (from, may be NULL) and its run totals of the four kinds as
 * run_NAME where they differ. */
static int s_pack_trailer(store_t *s, const struct run_state *r, const Darkdaq__RunTrailer *from,
                          const char *reason, bool continued, uint8_t **ret, size_t *ret_len)
{
        struct store_file_counters c;
        store_file_get_counters(r->f, &c);
        const uint64_t mine[COUNT_KINDS] = { c.events, c.late, c.junk, c.corrupt };
        size_t nfrom = from ? from->n_counts : 0, n = 0;
        Darkdaq__Count *cs = calloc(nfrom + 2 * COUNT_KINDS + 1, sizeof *cs);
        Darkdaq__Count **cp = calloc(nfrom + 2 * COUNT_KINDS + 1, sizeof *cp);
        char run_names[COUNT_KINDS][16];
        bool seen[COUNT_KINDS] = { false };
        Darkdaq__RunTrailer t = DARKDAQ__RUN_TRAILER__INIT;
        Darkdaq__Record rec = DARKDAQ__RECORD__INIT;
        int err = -ENOMEM;

        if (!cs || !cp)
                goto out;
        for (size_t i = 0; i < nfrom; i++) {
                const Darkdaq__Count *x = from->counts[i];
                darkdaq__count__init(&cs[n]);
                cs[n].name = x->name;
                cs[n].value = x->value;
                for (int k = 0; k < COUNT_KINDS; k++) {
                        if (strcmp(x->name, k_kind_names[k]))
                                continue;
                        seen[k] = true;
                        cs[n].value = mine[k];
                        if (x->value != mine[k]) {
                                n++;
                                snprintf(run_names[k], sizeof run_names[k], "run_%s",
                                         k_kind_names[k]);
                                darkdaq__count__init(&cs[n]);
                                cs[n].name = run_names[k];
                                cs[n].value = x->value;
                        }
                }
                n++;
        }
        for (int k = 0; k < COUNT_KINDS; k++) {
                if (seen[k])
                        continue;
                darkdaq__count__init(&cs[n]);
                cs[n].name = (char *)k_kind_names[k];
                cs[n].value = mine[k];
                n++;
        }
        if (!from) {
                darkdaq__count__init(&cs[n]);
                cs[n].name = (char *)"closed_by_store";
                cs[n].value = 1;
                n++;
        }
        for (size_t i = 0; i < n; i++)
                cp[i] = &cs[i];
        if (from) {
                t.end_time_ns = from->end_time_ns;
                t.n_out_of_step = from->n_out_of_step;
                t.out_of_step = from->out_of_step;
                t.end_reason = from->end_reason;
                t.n_reloads = from->n_reloads;
                t.reloads = from->reloads;
        } else {
                t.end_reason = (char *)reason;
        }
        if (t.end_time_ns == 0)
                t.end_time_ns = clock_real_ns();
        t.n_counts = n;
        t.counts = cp;
        t.records_in_file = c.records + 1;
        t.continued = continued;
        rec.body_case = DARKDAQ__RECORD__BODY_RUN_TRAILER;
        rec.run_trailer = &t;
        size_t len = darkdaq__record__get_packed_size(&rec);
        uint8_t *buf = s_scratch(s, len);
        if (!buf)
                goto out;
        darkdaq__record__pack(&rec, buf);
        *ret = buf;
        *ret_len = len;
        err = 0;
out:
        free(cs);
        free(cp);
        return err;
}

/* After store_file_close() of r->f returned err: a failed close keeps the
 * file as r->broken (cut back to its durable frames unless its contents got
 * on disk), and what was not durable is asked for again. */
static void s_close_failed(store_t *s, struct run_state *r, int err)
{
        (void)err;
        if (r->broken)          /* cannot happen: a new file opens only once it is closed */
                store_file_abandon(r->broken);
        r->broken = r->f;
        r->f = NULL;
        if (store_file_closed(r->broken)) {
                s_durable(r);
                r->ack_due = true;
        } else {
                s_roll_back(s, r);
        }
}

/* Closes r's file with a trailer the store makes, and ACKs what is on disk. */
static int s_close(store_t *s, struct run_state *r, const char *reason, bool continued,
                   uint64_t now_ms)
{
        uint8_t *buf;
        size_t len;
        char name[64];
        (void)now_ms;

        if (!r->f)
                return 0;
        snprintf(name, sizeof name, "%s", store_file_name(r->f));
        struct store_file_counters c;
        store_file_get_counters(r->f, &c);
        uint64_t bytes = store_file_bytes(r->f);
        int err = s_pack_trailer(s, r, NULL, reason, continued, &buf, &len);
        if (err == 0) {
                c.records++;
                bytes += RUNFILE_FRAME_HEADER + len;
                s->bytes_since_check += RUNFILE_FRAME_HEADER + len + CLOSE_ROOM;
                err = store_file_close(r->f, buf, len, STORE_NO_SEQ, s_hdr(r), reason);
        }
        if (err < 0) {
                s_close_failed(s, r, err);
                s_log_closed(r, name, reason, &c, bytes, err);
                return err;
        }
        r->f = NULL;
        s_durable(r);
        s_log_closed(r, name, reason, &c, bytes, err);
        s_ack(s, r);
        return 0;
}

/* The daemon's run trailer: this file's counts in it, then close and ACK. */
static int s_close_daemon(store_t *s, struct run_state *r, const uint8_t *rec, size_t len,
                          uint64_t seq)
{
        Darkdaq__Record *t = darkdaq__record__unpack(NULL, len, rec);
        const uint8_t *out = rec;
        size_t out_len = len;
        uint8_t *buf;
        char name[64], reason[64];
        int err = 0;

        snprintf(reason, sizeof reason, "%s", t && t->run_trailer && t->run_trailer->end_reason ?
                 t->run_trailer->end_reason : "stop");
        if (t && t->body_case == DARKDAQ__RECORD__BODY_RUN_TRAILER &&
            s_pack_trailer(s, r, t->run_trailer, NULL, false, &buf, &out_len) == 0)
                out = buf;
        else
                store_log("run %" PRIu32 ": the daemon's trailer (seq %" PRIu64 ") does not "
                          "parse; written as it came", r->run, seq);
        if (t)
                darkdaq__record__free_unpacked(t, NULL);
        snprintf(name, sizeof name, "%s", store_file_name(r->f));
        struct store_file_counters c;
        store_file_get_counters(r->f, &c);
        uint64_t bytes = store_file_bytes(r->f) + RUNFILE_FRAME_HEADER + out_len;
        c.records++;
        s->bytes_since_check += RUNFILE_FRAME_HEADER + out_len + CLOSE_ROOM;
        err = store_file_close(r->f, out, out_len, seq, s_hdr(r), reason);
        if (err < 0) {
                /* contents on disk: the trailer is, too */
                if (store_file_closed(r->f)) {
                        r->last_seq = seq;
                        r->seq_known = true;
                }
                s_close_failed(s, r, err);
                s_log_closed(r, name, reason, &c, bytes, err);
                return err;
        }
        r->f = NULL;
        r->last_seq = seq;
        r->seq_known = true;
        s_durable(r);
        s_log_closed(r, name, reason, &c, bytes, err);
        s_ack(s, r);
        return 0;
}

/* A write or fsync of r->f failed: the file is cut back to its last
 * durable frame and kept as r->broken, to be closed once the disk check
 * passes; everything after it is asked for again. */
static void s_write_failed(store_t *s, struct run_state *r, const char *what, int err)
{
        char name[64];
        snprintf(name, sizeof name, "%s", store_file_name(r->f));
        if (r->broken)          /* cannot happen: a new file opens only once it is closed */
                store_file_abandon(r->broken);
        r->broken = r->f;
        r->f = NULL;
        int cut = store_file_cut(r->broken);
        struct store_file_counters d;
        store_file_get_durable(r->broken, &d);
        s_roll_back(s, r);
        store_log("run %" PRIu32 ": %s %s/%s.part failed: %s; %s its last durable frame (%"
                  PRIu64 " records); records after seq %s are asked for again, the file is "
                  "closed once the disk check passes", r->run, what, s->cfg->dir, name,
                  strerror(-err), cut < 0 ? "cutting it back failed too, tried again later, to"
                  : "cut back to", d.records, s_seq_text(r->durable_known, r->durable_seq));
        if (cut < 0)
                store_log("run %" PRIu32 ": cutting %s/%s.part back: %s", r->run, s->cfg->dir,
                          name, strerror(-cut));
}

/* Closes the file an error left (r->broken) with a trailer of the store's
 * (end_reason "error", continued), or removes it when nothing but its
 * header is in it; its number is then the next file's.  Returns 0 or
 * -errno (it stays, to be tried again). */
static int s_finish_broken(store_t *s, struct run_state *r, uint64_t now_ms)
{
        store_file_t *f = r->broken;
        struct store_file_counters d;
        char name[64];

        if (!f)
                return 0;
        snprintf(name, sizeof name, "%s", store_file_name(f));
        store_file_get_durable(f, &d);
        if (!store_file_closed(f) && d.records <= 1) {
                uint32_t sequence = store_file_sequence(f);
                int err = store_file_remove(f);
                if (err < 0) {
                        store_log("run %" PRIu32 ": removing %s/%s.part (nothing but its header "
                                  "on disk) failed: %s; tried again later", r->run, s->cfg->dir,
                                  name, strerror(-err));
                        return err;
                }
                r->broken = NULL;
                if (!r->f && r->next_sequence == sequence + 1)
                        r->next_sequence = sequence;
                store_log("run %" PRIu32 ": removed %s/%s.part: nothing but its header was on "
                          "disk; its number is the next file's", r->run, s->cfg->dir, name);
                return 0;
        }
        /* only with no file open: r->last_seq is then durable_seq */
        r->f = f;
        r->broken = NULL;
        return s_close(s, r, "error", true, now_ms);
}


/* ---- records ----------------------------------------------------------------- */

static void s_log_skips(struct run_state *r, uint64_t now_ms, bool force)
{
        if (!(r->skipped || r->dropped) || (!force && now_ms - r->pending_ms < LOG_EVERY_MS))
                return;
        if (r->skipped)
                store_log("run %" PRIu32 ": skipped %" PRIu64 " re-sent records already on disk "
                          "(seq %" PRIu64 "..%" PRIu64 ")", r->run, r->skipped, r->skip_lo,
                          r->skip_hi);
        if (r->dropped)
                store_log("run %" PRIu32 ": dropped %" PRIu64 " records that came ahead of seq %"
                          PRIu64 "; asked the daemon to send again (HELLO)", r->run, r->dropped,
                          r->last_seq + 1);
        r->skipped = r->dropped = 0;
}

/* Is the header h (checked) the run's header on disk? */
static bool s_same_header(const struct run_state *r, const Darkdaq__Record *h)
{
        const Darkdaq__RunHeader *a = h->run_header, *b = r->hdr ? r->hdr->run_header : NULL;
        if (!b || r->hdr_synth)
                return !b;
        return a->start_time_ns == b->start_time_ns && !strcmp(a->config_hash, b->config_hash) &&
               !strcmp(a->software_version, b->software_version);
}

/* ---- checking a record without allocating ------------------------------------ */

static void *s_arena_alloc(void *data, size_t size)
{
        store_t *s = data;
        size = (size + 15) & ~(size_t)15;
        if (size > s->arena_cap - s->arena_used) {
                s->arena_short = true;
                return NULL;
        }
        void *p = s->arena + s->arena_used;
        s->arena_used += size;
        return p;
}

static void s_arena_free(void *data, void *ptr)
{
        (void)data;
        (void)ptr;
}

/* Unpacks rec into the arena (grown, rarely, when a record needs more).
 * Returns the Record, valid until the next call, or NULL: it does not parse. */
static const Darkdaq__Record *s_check(store_t *s, const uint8_t *rec, size_t len)
{
        ProtobufCAllocator al = { s_arena_alloc, s_arena_free, s };
        for (;;) {
                s->arena_used = 0;
                s->arena_short = false;
                Darkdaq__Record *r = darkdaq__record__unpack(&al, len, rec);
                if (r)
                        return r->body_case != DARKDAQ__RECORD__BODY__NOT_SET ? r : NULL;
                size_t want = s->arena_cap ? s->arena_cap * 2 : 1u << 16;
                if (!s->arena_short || want > (64u << 20) + 8 * len)
                        return NULL;
                uint8_t *p = realloc(s->arena, want);
                if (!p)
                        return NULL;
                s->arena = p;
                s->arena_cap = want;
        }
}

/* Keeps a refused record in dir/run-NNNNNN.rejects: per record u32 "DKRJ",
 * u32 length, u32 sender, u32 0, u64 seq, then its bytes; fsync'd. */
static int s_reject_file(store_t *s, uint32_t run, uint32_t sender, uint64_t seq,
                         const uint8_t *rec, size_t len)
{
        char name[64];
        uint8_t h[24];
        uint32_t v[4] = { 0x4A524B44u, (uint32_t)len, sender, 0 };
        snprintf(name, sizeof name, "run-%06" PRIu32 ".rejects", run);
        int fd = openat(s->dir_fd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        for (int i = 0; i < 4; i++)
                for (int k = 0; k < 4; k++)
                        h[4 * i + k] = (uint8_t)(v[i] >> (8 * k));
        for (int k = 0; k < 8; k++)
                h[16 + k] = (uint8_t)(seq >> (8 * k));
        int r = 0;
        if (write(fd, h, sizeof h) != (ssize_t)sizeof h ||
            (len && write(fd, rec, len) != (ssize_t)len) || fsync(fd) < 0)
                r = errno ? -errno : -EIO;
        close(fd);
        return r;
}

static void s_count_log(store_t *s, uint64_t now_ms, const char *what)
{
        if (now_ms - s->logged_ms < LOG_EVERY_MS)
                return;
        s->logged_ms = now_ms;
        store_log("data socket: %s (so far: %" PRIu64 " bad messages, %" PRIu64 " of another "
                  "session, %" PRIu64 " of another sender, %" PRIu64 " refused records, %" PRIu64
                  " without a run header, %" PRIu64 " header conflicts)", what, s->c.bad_messages,
                  s->c.other_session, s->c.other_sender, s->c.rejected, s->c.headerless,
                  s->c.header_conflicts);
}

/* Frames in f so far, its header included (once per record: a small copy). */
static uint64_t s_records_in_file(const store_file_t *f)
{
        struct store_file_counters c;
        store_file_get_counters(f, &c);
        return c.records;
}

/* A record that does not read back: kept in the reject file, NAKed, and
 * settled as handled.  The file is closed after it, so that every file's
 * frames still carry consecutive seqs (what restart recovery relies on). */
static int s_refuse(store_t *s, struct run_state *r, uint32_t sender, uint64_t seq,
                    const uint8_t *rec, size_t len, const char *why, uint64_t now_ms)
{
        /* the file first: had its close failed after the reject was kept,
         * the record would be kept twice when it is sent again */
        if (r->f && s_close(s, r, "rotate", true, now_ms) < 0)
                return -EIO;
        int err = s_reject_file(s, r->run, sender, seq, rec, len);
        if (err < 0) {
                store_log("run %" PRIu32 ": record seq %" PRIu64 " %s, and run-%06" PRIu32
                          ".rejects cannot be written: %s; not acknowledged, asked again later",
                          r->run, seq, why, r->run, strerror(-err));
                s->want_hello = true;
                return -EIO;
        }
        s->c.rejected++;
        store_log("run %" PRIu32 ": record seq %" PRIu64 " (%zu bytes) %s: not written; kept in "
                  "%s/run-%06" PRIu32 ".rejects, NAK sent", r->run, seq, len, why, s->cfg->dir,
                  r->run);
        s_send(s, STORAGE_NAK, r->run, seq);
        r->last_seq = seq;
        r->seq_known = true;
        s_durable(r);
        r->ack_due = true;
        return 0;
}

static int s_data(store_t *s, const struct storage_data *d, const uint8_t *rec, size_t len,
                  uint64_t now_ms)
{
        uint32_t run = d->run;
        uint64_t seq = d->seq;
        int err;

        if (!s->session || d->session != s->session) {
                s->c.other_session++;
                s_count_log(s, now_ms, "a record not of our session dropped");
                return 0;
        }
        if (d->sender != s->sender || seq == STORAGE_NO_SEQ) {
                s->c.other_sender++;
                s_count_log(s, now_ms, "a record with a sender or seq that does not fit dropped");
                return 0;
        }
        const Darkdaq__Record *chk = s_check(s, rec, len);
        enum store_kind kind = store_kind_of(rec, len);
        bool is_header = chk && chk->body_case == DARKDAQ__RECORD__BODY_RUN_HEADER && seq == 0;
        struct run_state *r = s_find(s, run);

        if (!r && !is_header) {
                /* maybe on disk already: look, but open nothing without a header */
                r = s_get(s, run, now_ms);
                if (!r->hdr) {
                        s_run_clear(r);
                        if (s->last == r)
                                s->last = NULL;
                        s->c.headerless++;
                        s->want_hello = true;
                        s_count_log(s, now_ms, "a record of a run whose header was not seen "
                                    "dropped (no file opened; the daemon is asked again)");
                        return 0;
                }
        }
        if (!r)
                r = s_get(s, run, now_ms);
        s->last = r;
        r->last_rx_ms = now_ms;
        if (r->rx_session != s->session) {
                r->rx_session = s->session;
                r->rx_hi = seq;
                r->conflict_session = 0;
        } else if (seq > r->rx_hi) {
                r->rx_hi = seq;
        }
        if (r->conflict_session == s->session) {
                s->c.header_conflicts++;
                s_count_log(s, now_ms, "a record of a run whose header conflicts dropped");
                return 0;
        }
        if (is_header && chk->run_header->run != run) {
                return s_refuse(s, r, d->sender, seq, rec, len, "is a run header of another run",
                                now_ms);
        }
        if (is_header && r->hdr && !s_same_header(r, chk)) {
                store_log("run %" PRIu32 ": refused a run header that differs from the one on "
                          "disk (start time, config hash or version); run %" PRIu32 " takes no "
                          "records in this session", run, run);
                s->c.header_conflicts++;
                r->conflict_session = s->session;
                s_send(s, STORAGE_NAK, run, seq);
                return 0;
        }
        if ((r->seq_known && seq <= r->last_seq) || (r->seq_known && seq > r->last_seq + 1)) {
                if (!r->skipped && !r->dropped)
                        r->pending_ms = now_ms;
        }
        if (r->seq_known && seq <= r->last_seq) {
                if (!r->skipped || seq < r->skip_lo)
                        r->skip_lo = seq;
                if (!r->skipped || seq > r->skip_hi)
                        r->skip_hi = seq;
                r->skipped++;
                r->ack_due = true;
                s_log_skips(r, now_ms, false);
                return 0;
        }
        if ((r->seq_known && seq > r->last_seq + 1) || (!r->seq_known && !is_header && !r->f &&
                                                        seq != 0 && !r->hdr)) {
                /* Lost on the way, or sent before the daemon read our
                 * HELLO and so ahead of its resend: ask again (at most once
                 * a second; a resend that was under way anyway costs only
                 * records skipped as duplicates). */
                r->dropped++;
                s->want_hello = true;
                s_log_skips(r, now_ms, false);
                return 0;
        }
        s_log_skips(r, now_ms, true);
        if (!chk)
                return s_refuse(s, r, d->sender, seq, rec, len, "does not parse as a Record",
                                now_ms);
        if (!is_header && kind == STORE_KIND_HEADER)
                return s_refuse(s, r, d->sender, seq, rec, len, "is a run header with seq > 0",
                                now_ms);

        bool rotate = false;
        if (r->f && kind != STORE_KIND_TRAILER && s_records_in_file(r->f) > 1) {
                uint64_t cap = r->file_max_bytes;
                uint64_t room = cap > 2 * TRAILER_ROOM ? TRAILER_ROOM : cap / 4;
                bool by_size = store_file_bytes(r->f) + RUNFILE_FRAME_HEADER + len + room > cap;
                bool by_time = r->file_max_seconds &&
                               now_ms - r->file_opened_ms >= r->file_max_seconds * 1000;
                rotate = by_size || by_time;
        }
        /* Room for this write, for closing the file it goes to, and for
         * opening that file (its header) if it is a new one: checked before
         * anything is written, so that nothing is half done. */
        uint64_t need = RUNFILE_FRAME_HEADER + len;
        if (!r->f || rotate) {
                need += OPEN_ROOM;
                if (r->hdr && !is_header)
                        need += darkdaq__record__get_packed_size(r->hdr);
        }
        if (!s_room(s, need))
                return -EAGAIN;
        if (rotate && s_close(s, r, "rotate", true, now_ms) < 0)
                return -EIO;
        if (!r->f) {
                if (r->broken && s_finish_broken(s, r, now_ms) < 0)
                        return -EIO;
                if (is_header) {
                        Darkdaq__Record *h = darkdaq__record__unpack(NULL, len, rec);
                        if (!h)
                                return -ENOMEM;
                        if (r->hdr)
                                darkdaq__record__free_unpacked(r->hdr, NULL);
                        r->hdr = h;
                        r->hdr_synth = false;
                }
                if (!r->hdr) {
                        r->dropped++;
                        s->want_hello = true;
                        return 0;
                }
                if (!r->seq_known && !is_header && !r->mid_run) {
                        r->mid_run = true;
                        r->mid_run_first = seq;
                }
                err = s_open(s, r, is_header ? 0 : STORE_NO_SEQ, is_header ? 1 : seq, now_ms);
                if (err < 0) {
                        s->want_hello = true;
                        return -EIO;
                }
                if (is_header) {
                        r->last_seq = 0;
                        r->seq_known = true;
                        r->ack_due = true;
                        return 0;
                }
        }
        s->bytes_since_check += len + RUNFILE_FRAME_HEADER;
        if (kind == STORE_KIND_TRAILER)
                return s_close_daemon(s, r, rec, len, seq) < 0 ? -EIO : 0;
        err = store_file_append(r->f, rec, len, seq);
        if (err < 0) {
                s_write_failed(s, r, "writing", err);
                return -EIO;
        }
        r->last_seq = seq;
        r->seq_known = true;
        r->ack_due = true;
        s->records_written++;
        return 0;
}

int store_message(store_t *s, const uint8_t *msg, size_t len, uint64_t now_ms)
{
        struct storage_data d;
        struct storage_ctl c;
        const uint8_t *rec;
        size_t rlen;

        if (storage_data_parse(msg, len, &d, &rec, &rlen) == 0)
                return s_data(s, &d, rec, rlen, now_ms);
        if (storage_ctl_parse(msg, len, &c) == 0 && c.kind == STORAGE_WELCOME) {
                if (c.session != s->session || c.sender != s->sender) {
                        store_log("session %08" PRIx32 " (sender %" PRIu32 "): the daemon took "
                                  "our HELLO; it sends from its oldest unacknowledged record",
                                  c.session, c.sender);
                        s->session = c.session;
                        s->sender = c.sender;
                        s->c.sessions++;
                        for (int i = 0; i < MAX_RUNS; i++)
                                s->runs[i].rx_session = 0;
                        if (s->paused)
                                s_send(s, STORAGE_FULL, 0, 0);
                }
                return 0;
        }
        s->c.bad_messages++;
        s_count_log(s, now_ms, "a message that is neither a record nor a WELCOME ignored");
        return 0;
}

void store_reconnected(store_t *s, uint64_t now_ms)
{
        /* the session stays until a WELCOME names another: the same daemon
         * answers with the same one, and a new one sends nothing before
         * its WELCOME */
        store_hello(s, now_ms);
}

bool store_has_session(const store_t *s)
{
        return s->session != 0;
}

void store_get_counters(const store_t *s, struct store_counters *ret)
{
        *ret = s->c;
        ret->records_written = s->records_written;
        ret->runs_open = 0;
        for (size_t i = 0; i < MAX_RUNS; i++)
                if (s->runs[i].used && s->runs[i].f)
                        ret->runs_open++;
}

/* ---- timers ------------------------------------------------------------------- */

static uint64_t s_add(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* What must be free before a write of need bytes: the floor, room to close
 * the open file, and, once paused, the margin too (hysteresis). */
static uint64_t s_wanted(const store_t *s, uint64_t need)
{
        uint64_t w = s_add(s_add(s->cfg->min_free_bytes, CLOSE_ROOM), need);
        return s->paused ? s_add(w, s->cfg->resume_margin_bytes) : w;
}

/* Reads the free space of dir.  Returns false when it cannot tell.  The
 * frames still in the files' buffers count as written since: they are
 * not on the disk yet, but will be. */
static bool s_statvfs(store_t *s)
{
        struct statvfs v;
        s->bytes_since_check = 0;
        for (int i = 0; i < MAX_RUNS; i++)
                if (s->runs[i].used && s->runs[i].f)
                        s->bytes_since_check += store_file_buffered(s->runs[i].f);
        s->free_known = fstatvfs(s->dir_fd, &v) == 0;
        if (s->free_known)
                s->free_at_check = (uint64_t)v.f_bavail * v.f_frsize;
        return s->free_known;
}

/* Is there room for need bytes more?  By the last statvfs less what was
 * written since, and, when that says no, by a new statvfs. */
static bool s_room(store_t *s, uint64_t need)
{
        uint64_t want = s_wanted(s, need);
        if (s->free_known && s->free_at_check >= s_add(s->bytes_since_check, want))
                return true;
        if (!s_statvfs(s))
                return true;    /* cannot tell: writing will tell */
        return s->free_at_check >= s_add(s->bytes_since_check, want);
}

bool store_disk_ok(store_t *s, uint64_t *free_bytes)
{
        if (!s_statvfs(s))
                return true;    /* cannot tell: writing will tell */
        if (free_bytes)
                *free_bytes = s->free_at_check;
        return s->free_at_check >= s_add(s->bytes_since_check, s_wanted(s, 0));
}

uint64_t store_disk_wanted(const store_t *s)
{
        return s_wanted(s, 0);
}

uint64_t store_bytes_since_check(const store_t *s)
{
        return s->bytes_since_check;
}

void store_ack_now(store_t *s, uint64_t now_ms)
{
        for (int i = 0; i < MAX_RUNS; i++) {
                struct run_state *r = &s->runs[i];
                if (!r->used || !r->ack_due)
                        continue;
                if (r->f) {
                        int err = store_file_sync(r->f);
                        if (err < 0) {
                                s_write_failed(s, r, "writing out and syncing", err);
                                continue;
                        }
                        s_durable(r);
                }
                s_ack(s, r);
        }
        s->last_ack_ms = now_ms;
}

int store_tick(store_t *s, uint64_t now_ms)
{
        int64_t next = -1;
        bool due = false;

        for (int i = 0; i < MAX_RUNS; i++) {
                struct run_state *r = &s->runs[i];
                if (!r->used)
                        continue;
                s_log_skips(r, now_ms, false);
                due |= r->ack_due;
                if (!r->f || !s->cfg->silence_close_ms || s->paused)
                        continue;
                uint64_t quiet = now_ms - r->last_rx_ms;
                if (quiet >= s->cfg->silence_close_ms) {
                        store_log("run %" PRIu32 ": no record for %" PRIu64 " ms (silence_close_ms"
                                  " %" PRIu64 "; the daemon is gone?): closing %s with end_reason "
                                  "\"silence\"", r->run, quiet, s->cfg->silence_close_ms,
                                  store_file_name(r->f));
                        s_close(s, r, "silence", false, now_ms);
                        continue;
                }
                int64_t left = (int64_t)(s->cfg->silence_close_ms - quiet);
                if (next < 0 || left < next)
                        next = left;
        }
        if ((s->want_hello || !s->session) && !s->paused &&
            now_ms - s->last_hello_ms >= HELLO_EVERY_MS)
                store_hello(s, now_ms);
        if (!s->session) {
                int64_t left = (int64_t)(s->last_hello_ms + HELLO_EVERY_MS - now_ms);
                if (left < 0)
                        left = 0;
                if (next < 0 || left < next)
                        next = left;
        }
        if (due) {
                uint64_t since = now_ms - s->last_ack_ms;
                if (since >= s->cfg->ack_interval_ms) {
                        store_ack_now(s, now_ms);
                } else {
                        int64_t left = (int64_t)(s->cfg->ack_interval_ms - since);
                        if (next < 0 || left < next)
                                next = left;
                }
        }
        return next > INT32_MAX ? INT32_MAX : (int)next;
}

void store_hello(store_t *s, uint64_t now_ms)
{
        s_send(s, STORAGE_HELLO, 0, 0);
        s->want_hello = false;
        s->last_hello_ms = now_ms;
}

void store_set_paused(store_t *s, bool paused, uint64_t now_ms)
{
        if (paused == s->paused)
                return;
        s->paused = paused;
        if (paused) {
                store_ack_now(s, now_ms);
                s_send(s, STORAGE_FULL, 0, 0);
                return;
        }
        for (int i = 0; i < MAX_RUNS; i++)
                s->runs[i].last_rx_ms = now_ms;
        /* HELLO first: the daemon then sends from the oldest record not
         * ACKed, not from where it stopped */
        if (s->want_hello)
                store_hello(s, now_ms);
        s_send(s, STORAGE_RESUME, 0, 0);
}

bool store_has_broken(const store_t *s)
{
        for (int i = 0; i < MAX_RUNS; i++)
                if (s->runs[i].used && s->runs[i].broken)
                        return true;
        return false;
}

int store_retry(store_t *s, uint64_t now_ms)
{
        int err = 0;
        for (int i = 0; i < MAX_RUNS; i++) {
                struct run_state *r = &s->runs[i];
                if (r->used && r->broken && !r->f) {
                        int e = s_finish_broken(s, r, now_ms);
                        if (e < 0 && err == 0)
                                err = e;
                }
        }
        return err;
}

int store_close_all(store_t *s, const char *reason, uint64_t now_ms)
{
        int n = 0;
        for (int i = 0; i < MAX_RUNS; i++) {
                struct run_state *r = &s->runs[i];
                if (!r->used)
                        continue;
                if (r->f) {
                        s_close(s, r, reason, false, now_ms);
                        n++;
                } else if (r->ack_due) {
                        s_ack(s, r);
                }
                if (r->broken && !r->f)         /* a last try; else restart recovery's */
                        s_finish_broken(s, r, now_ms);
                s_log_skips(r, now_ms, true);
        }
        return n;
}
