/* SPDX-License-Identifier: Apache-2.0 */
/* runfile: the run file of proto/README.md s.2.  A run file is a sequence of
 * frames: u32 length (LE), u32 CRC-32C of the payload, payload = one packed
 * darkdaq.Record; the first record is a run header, the last a run trailer.
 * The writer owns files, rotation, buffering and fsync; the reader works on
 * a memory image (a file is mapped, or read in first) and is pure there,
 * so it can be fuzzed; it never trusts a length or a byte it reads. */
#ifndef DARKDAQ_RUNFILE_H
#define DARKDAQ_RUNFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "darkdaq.pb-c.h"

#define RUNFILE_FRAME_HEADER    8u              /* length + CRC */
#define RUNFILE_MAX_RECORD      (256u << 20)    /* larger lengths are not believed */

/* Writes the 8-byte frame header for len payload bytes at payload. */
void runfile_frame_header(uint8_t out[RUNFILE_FRAME_HEADER], const void *payload,
                          uint32_t len);

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

enum runfile_stop_kind {
        RUNFILE_READING = 0,            /* not stopped yet */
        RUNFILE_END,                    /* clean end, on a frame boundary */
        RUNFILE_HEADER_CUT,             /* fewer than 8 bytes left for a frame header */
        RUNFILE_CUT,                    /* payload cut by the end of the file */
        RUNFILE_TOO_BIG,                /* length above RUNFILE_MAX_RECORD */
        RUNFILE_CRC,                    /* CRC-32C mismatch */
        RUNFILE_PARSE,                  /* payload is not a darkdaq.Record */
        RUNFILE_NOMEM,                  /* out of memory while parsing */
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
 * has stopped: at the end, or at the first frame that is cut, too big,
 * fails its CRC or does not parse; runfile_reader_stop() says which. */
int runfile_reader_next(runfile_reader_t *r, const Darkdaq__Record **ret,
                        uint64_t *ret_offset);

const struct runfile_stop *runfile_reader_stop(const runfile_reader_t *r);

/* Size of the file or buffer being read. */
uint64_t runfile_reader_size(const runfile_reader_t *r);

/* Whether the first n bytes of a file look like a run file: a first frame
 * whose payload is a Record holding a run header (checked by CRC and parse
 * when the whole frame is within n; by length and field tag otherwise).
 * Raw board streams, which start with "DKFR", never do.  Pass 4 KiB or more
 * (or the whole file).  Pure. */
bool runfile_is_run_file(const uint8_t *head, size_t n);

#endif
