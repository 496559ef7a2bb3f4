/* SPDX-License-Identifier: Apache-2.0 */
/* runfile: the run file of proto/README.md s.2.  Version 2 (written): an
 * 8-byte file header (magic "DKRN", u32 version 2), then frames of sync
 * word, length, the record's (sender, seq), CRC-32C over all of them and the
 * payload, payload = one packed darkdaq.Record.  Version 1 (read): frames of
 * u32 length, u32 CRC-32C of the payload, payload.  The first record is a run
 * header, the last a run trailer.  The writer owns files, rotation, buffering
 * and fsync; the reader works on a memory image (a file is mapped, or read
 * in first) and is pure there, so it can be fuzzed; it never trusts a length
 * or a byte it reads, and after a bad frame it resynchronises on the next
 * good one, reporting what it skipped. */
#ifndef DARKDAQ_RUNFILE_H
#define DARKDAQ_RUNFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "darkdaq.pb-c.h"

#define RUNFILE_FRAME_HEADER    8u              /* v1: length + CRC */
#define RUNFILE_MAX_RECORD      (256u << 20)    /* larger lengths are not believed */
#define RUNFILE_FILE_MAGIC      0x4E524B44u     /* "DKRN", bytes 0..3 of a v2 file */
#define RUNFILE_VERSION         2u              /* bytes 4..7 */
#define RUNFILE_FILE_HEADER     8u              /* magic + version */
#define RUNFILE_SYNC            0x53524B44u     /* "DKRS", bytes 0..3 of a v2 frame */
#define RUNFILE_FRAME2_HEADER   24u             /* sync, length, sender, seq, CRC */
#define RUNFILE_NO_SEQ          UINT64_MAX      /* a record that carries no seq */

/* Writes the 8-byte v1 frame header for len payload bytes at payload. */
void runfile_frame_header(uint8_t out[RUNFILE_FRAME_HEADER], const void *payload,
                          uint32_t len);

/* Writes the 24-byte v2 frame header: sync, len, sender, seq, and the CRC-32C
 * of those 20 bytes followed by the len bytes at payload. */
void runfile_frame2_header(uint8_t out[RUNFILE_FRAME2_HEADER], const void *payload,
                           uint32_t len, uint32_t sender, uint64_t seq);

/* Writes the 8-byte v2 file header. */
void runfile_file_header(uint8_t out[RUNFILE_FILE_HEADER]);

/* ---- writer -------------------------------------------------------------- */

/* Writes all n bytes to fd, going on after short writes and EINTR.
 * Returns 0 or -errno. */
int runfile_write_all(int fd, const void *buf, size_t n);

typedef struct runfile_writer runfile_writer_t;

/* Asked for the trailer of a file closed by rotation; returns a run-trailer
 * Record (e.g. record_trailer() with the builder's counters so far) or NULL
 * for a trailer with no counts.  The writer then sets records_in_file,
 * continued = true, end_reason = "rotate", and end_time_ns if it is 0. */
typedef Darkdaq__Record *(*runfile_trailer_fn)(void *ctx);

struct runfile_writer_opts {
        const char *path;               /* write this one file (replaced if it exists) */
        const char *dir;                /* or, path NULL: run-NNNNNN-SSS.dkr here,
                                           SSS from 000; existing files are an error */
        uint64_t max_file_bytes;        /* dir only: start a new file rather than
                                           pass this size (plus the trailer); 0: never */
        runfile_trailer_fn trailer;     /* rotation trailers; may be NULL */
        void *trailer_ctx;              /* passed to trailer */
        uint32_t sender;                /* v2 frames carry (sender, seq): the header of
                                           the first file is seq 0, each record the next;
                                           a rotation's trailer and header carry none */
        unsigned version;               /* 0 or 2: version 2; 1: version 1 (tests) */
};

/* Opens the first file and writes header (a Record holding a run header; the
 * writer keeps a copy and sets file_sequence in each file's).  Returns 0 and
 * *ret, or -errno: -EINVAL (bad opts or header, rotation with path),
 * -EEXIST (dir: that run file exists), an open() error. */
int runfile_writer_open(runfile_writer_t **ret, const struct runfile_writer_opts *o,
                        const Darkdaq__Record *header);

/* Appends one record (rotating first when it would pass max_file_bytes).
 * Frames are packed into a reusable buffer and written in large chunks; no
 * allocation unless a record is larger than any before.  Returns 0 or
 * -errno; a write error is sticky: every later call returns it. */
int runfile_writer_write(runfile_writer_t *w, const Darkdaq__Record *rec);

/* The same for a record already packed (the storage writer receives them
 * packed); len <= RUNFILE_MAX_RECORD.  The payload is not parsed. */
int runfile_writer_write_packed(runfile_writer_t *w, const void *payload, size_t len);

/* Hands buffered frames to the kernel (no fsync).  Call it now and then so
 * that a crash loses little; a reader recovers every whole frame anyway. */
int runfile_writer_flush(runfile_writer_t *w);

/* Writes trailer (records_in_file and continued = false set here; NULL: a
 * trailer with no counts and end_reason "stop"), fsyncs, closes and frees w.
 * Returns 0 or the first -errno met (w is freed either way). */
int runfile_writer_close(runfile_writer_t *w, Darkdaq__Record *trailer);

/* Abandons w without a trailer (buffered frames are still written), like a
 * crash would leave the file.  Accepts NULL.  Returns NULL. */
runfile_writer_t *runfile_writer_free(runfile_writer_t *w);

/* The file being written now, its sequence number, and its size so far
 * (buffered frames included). */
const char *runfile_writer_path(const runfile_writer_t *w);
uint32_t runfile_writer_sequence(const runfile_writer_t *w);
uint64_t runfile_writer_file_bytes(const runfile_writer_t *w);

/* Writes the name of file seq of run into buf: "run-000012-003.dkr". */
int runfile_name(char *buf, size_t size, uint32_t run, uint32_t seq);

/* ---- reader -------------------------------------------------------------- */

/* A frame as read: where, which version, the record's (sender, seq). */
struct runfile_frame {
        uint64_t offset;                /* of its frame header */
        uint32_t size;                  /* payload bytes */
        uint32_t sender;                /* v1: 0 */
        uint64_t seq;                   /* v1, or a record the store made: RUNFILE_NO_SEQ */
};

/* What a reader found wrong and went past.  Damage at the very end of the
 * image (nothing good after it) is not reported here but is the stop. */
enum runfile_report_kind {
        RUNFILE_REPORT_SKIPPED = 1,     /* bad bytes skipped up to the next good frame */
        RUNFILE_REPORT_GAP,             /* seqs missing before this frame */
        RUNFILE_REPORT_DUPLICATE,       /* a seq already read: not returned again */
        RUNFILE_REPORT_RESYNC_SEQ,      /* found after damage, not the seq expected */
        RUNFILE_REPORT_SECOND_HEADER,   /* a run header that is not the first frame */
        RUNFILE_REPORT_EARLY_TRAILER,   /* a frame after a run trailer */
        RUNFILE_REPORT_COUNT,           /* a trailer's records_in_file differs from what was read */
};

struct runfile_report {
        enum runfile_report_kind kind;
        uint64_t offset;                /* where the damage begins / the frame concerned */
        uint64_t skipped;               /* SKIPPED: bytes skipped; else 0 */
        char reason[192];               /* for people; names offsets and seqs */
};

/* Called for each report, in file order, before the frame after it is
 * returned. */
typedef void (*runfile_report_fn)(void *ctx, const struct runfile_report *rep);

/* Seq expectations over the files of one run: the caller keeps one and
 * gives it to each file's reader in turn, so a continuation file that
 * starts at seq k after one that ended at k-1 is no gap. */
#define RUNFILE_SENDERS 8
struct runfile_seqs {
        unsigned n;                     /* senders seen */
        struct {
                uint32_t sender;
                uint64_t next;          /* the seq expected next */
                uint64_t pending;       /* a seq found by resynchronisation that was
                                           not the one expected, not yet believed;
                                           RUNFILE_NO_SEQ: none (set by the reader) */
        } s[RUNFILE_SENDERS];
};

enum runfile_stop_kind {
        RUNFILE_READING = 0,            /* not stopped yet */
        RUNFILE_END,                    /* clean end, on a frame boundary */
        RUNFILE_HEADER_CUT,             /* fewer than 8 bytes left for a frame header */
        RUNFILE_CUT,                    /* payload cut by the end of the file */
        RUNFILE_TOO_BIG,                /* length above RUNFILE_MAX_RECORD */
        RUNFILE_CRC,                    /* CRC-32C mismatch */
        RUNFILE_PARSE,                  /* payload is not a darkdaq.Record */
        RUNFILE_NOMEM,                  /* out of memory while parsing */
        RUNFILE_VERSION_UNKNOWN,        /* a file magic with a version not known */
};

/* Where and why reading stopped. */
struct runfile_stop {
        enum runfile_stop_kind kind;
        uint64_t offset;                /* of the frame not read (size at END) */
        uint64_t frame;                 /* its index from 0 (frames read at END) */
        char reason[128];               /* for people, e.g. "frame cut at byte 812:
                                           header says 96 bytes, 40 present" */
};

typedef struct runfile_reader runfile_reader_t;

/* Opens path for reading (mapped; read into memory if it cannot be).
 * Returns 0 and *ret, or -errno. */
int runfile_reader_open(runfile_reader_t **ret, const char *path);

/* Reads len bytes at buf, which must stay valid and unchanged while the
 * reader lives (not copied).  Pure: no I/O.  NULL on out of memory. */
runfile_reader_t *runfile_reader_new_mem(const void *buf, size_t len);

/* Accepts NULL.  Returns NULL. */
runfile_reader_t *runfile_reader_free(runfile_reader_t *r);

/* Reads the next frame.  Returns 1 with *ret (valid until the next call)
 * and *ret_offset (may be NULL; the frame's byte offset), or 0 when reading
 * has stopped: at the end, or at damage that no good frame follows;
 * runfile_reader_stop() says which.  A bad frame (cut, too big, failing its
 * CRC, not parsing) with a good frame after it is reported (see
 * runfile_reader_set_report()) and reading goes on at that frame: the next
 * offset where a sync word (v1: a believable record shape), a length that
 * fits and a matching CRC agree, every byte offset tried.  A v2 frame whose
 * seq was read already is reported and skipped; one after a gap, or found by
 * resynchronisation with a seq other than the one expected, is reported and
 * returned. */
int runfile_reader_next(runfile_reader_t *r, const Darkdaq__Record **ret,
                        uint64_t *ret_offset);

/* The frame runfile_reader_next() returned last. */
const struct runfile_frame *runfile_reader_frame(const runfile_reader_t *r);

/* Sends reports to fn (NULL: only counted). */
void runfile_reader_set_report(runfile_reader_t *r, runfile_report_fn fn, void *ctx);

/* Uses *seqs (kept by the caller, outliving r) for the seq checks, instead
 * of a table of r's own; call before the first runfile_reader_next(). */
void runfile_reader_set_seqs(runfile_reader_t *r, struct runfile_seqs *seqs);

/* Reports made so far, and the format version of the file (1 or 2). */
uint64_t runfile_reader_reports(const runfile_reader_t *r);
unsigned runfile_reader_version(const runfile_reader_t *r);

const struct runfile_stop *runfile_reader_stop(const runfile_reader_t *r);

/* Size of the file or buffer being read, and its image (valid while r lives). */
uint64_t runfile_reader_size(const runfile_reader_t *r);
const uint8_t *runfile_reader_data(const runfile_reader_t *r);

/* Whether the first n bytes of a file look like a run file: version 2 by its
 * file magic alone (so a damaged header frame does not hide it); version 1
 * by a first frame whose payload is a Record holding a run header (checked
 * by CRC and parse when the whole frame is within n; by length and field tag
 * otherwise).  Raw board streams, which start with "DKFR", never do.  Pass
 * 4 KiB or more (or the whole file).  Pure. */
bool runfile_is_run_file(const uint8_t *head, size_t n);

#endif
