/* SPDX-License-Identifier: Apache-2.0 */
/* spool: STATE_DIR/spool, the records darkdaqd held for the store when it
 * exited, so that a restarted daemon sends them (proto/storage-channel.md,
 * "The spool").  Encoding, the frame reader and the check of which frames
 * can be sent are pure (no I/O: tested and fuzzed alone); the writer and
 * the file helpers do the I/O, each write of the file through a temporary
 * name, fsync, rename and an fsync of the directory.
 *
 * File (all little-endian):
 *     u32 magic "DKSP" | u32 version 1 | u32 sender | u32 CRC-32C of those 12
 * then frames:
 *     u32 length L | u32 CRC-32C of the L bytes | L bytes:
 *         u32 kind | a storage data message (storage_proto.h) with session 0
 *   kind 1: a run's header, kept to be sent first in each session;
 *   kind 2: a record the store had not acknowledged, in the order held. */
#ifndef DARKDAQ_SPOOL_H
#define DARKDAQ_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage_proto.h"

#define SPOOL_FILE              "spool"
#define SPOOL_MAGIC             0x50534B44u     /* "DKSP" */
#define SPOOL_VERSION           1u
#define SPOOL_FILE_HEADER       16u
#define SPOOL_FRAME_HEADER      8u              /* length + CRC */
#define SPOOL_FRAME_HEAD        (SPOOL_FRAME_HEADER + 4u + STORAGE_DATA_PREFIX)
#define SPOOL_MAX_RECORD        (256u << 20)    /* larger records are not believed */

enum spool_kind {
        SPOOL_RUN_HEADER = 1,
        SPOOL_RECORD = 2,
};

/* ---- encoding (pure) ---------------------------------------------------- */

void spool_file_header(uint8_t out[SPOOL_FILE_HEADER], uint32_t sender);

/* Writes what goes before the packed Record rec[0..len) in a frame of kind
 * for d (its session is written as 0): length, CRC (over rec too), kind and
 * the data message's prefix.  The frame is these bytes, then rec. */
void spool_frame_head(uint8_t out[SPOOL_FRAME_HEAD], enum spool_kind kind,
                      const struct storage_data *d, const uint8_t *rec, size_t len);

/* ---- reading (pure) ------------------------------------------------------- */

struct spool_frame {
        enum spool_kind kind;
        uint64_t offset;                /* of the frame in the file */
        struct storage_data d;          /* run, sender, seq; session 0 */
        const uint8_t *msg;             /* the data message, inside the image */
        size_t msg_len;                 /* prefix + record */
        const uint8_t *rec;             /* the packed Record inside it */
        size_t rec_len;
};

/* Damage met: what and where, and where reading went on. */
struct spool_damage {
        uint64_t offset;                /* of the bad bytes */
        uint64_t resume;                /* the next whole good frame, or the end */
        const char *why;                /* a constant string */
};

struct spool_reader {
        const uint8_t *buf;             /* the file's image (not owned) */
        size_t len;
        size_t off;                     /* the next frame */
        bool started;                   /* the file header was looked at */
        bool header_ok;                 /* the file header checked out */
        uint32_t sender;                /* the file header's, if header_ok */
};

/* Starts reading an image of len bytes.  The file header is checked by the
 * first spool_reader_next(), which reports it as damage if it is bad and
 * then looks for frames after it. */
void spool_reader_init(struct spool_reader *r, const void *buf, size_t len);

/* The next frame: 1 and *ret; 0 at the end; -EBADMSG when bytes at
 * dmg->offset are not a whole good frame (or not a good file header): the
 * reader has then moved to dmg->resume, the next offset where a whole frame
 * checks out (length in bounds, CRC, kind, data prefix), or the end, and
 * the next call goes on from there.  Never reads outside the image; every
 * call moves forward. */
int spool_reader_next(struct spool_reader *r, struct spool_frame *ret, struct spool_damage *dmg);

/* Which frames can be sent: the store takes a run's records only after its
 * header and in order of seq, so a frame that follows a lost one of its run
 * cannot be sent.  Frames are offered in file order. */
struct spool_order {
        uint32_t sender;                /* this daemon's: others' frames are not sent */
        bool in_run;                    /* a header frame opened the section */
        uint32_t run;                   /* ... of this run */
        bool seq_known;
        uint64_t next_seq;              /* the seq the next record must have */
};

enum spool_verdict {
        SPOOL_SEND,                     /* hold it (a header: keep it as the run's) */
        SPOOL_OTHER_SENDER,             /* another daemon's (sender_id changed) */
        SPOOL_NO_HEADER,                /* its run's header frame is lost */
        SPOOL_AFTER_GAP,                /* a record before it in its run is lost */
};

void spool_order_init(struct spool_order *o, uint32_t sender);
enum spool_verdict spool_order_take(struct spool_order *o, const struct spool_frame *f);
const char *spool_verdict_text(enum spool_verdict v);

/* ---- the file (I/O) ------------------------------------------------------- */

typedef struct spool_writer spool_writer_t;

/* Creates dir/spool.tmp (replacing one left over) for sender.  Returns 0
 * and *ret, or -errno with err naming the file and the step. */
int spool_writer_open(spool_writer_t **ret, const char *dir, uint32_t sender, char *err,
                      size_t errlen);
/* Appends a frame of kind for d and the packed Record rec[0..len)
 * (buffered).  Returns 0 or -errno; errors are sticky (commit reports the
 * first). */
int spool_writer_add(spool_writer_t *w, enum spool_kind kind, const struct storage_data *d,
                     const uint8_t *rec, size_t len);
/* Writes the rest, fsyncs, closes, renames dir/spool.tmp to dir/spool and
 * fsyncs dir; frees w.  Returns the file's size in bytes (> 0), or -errno
 * with err naming the file and the step that failed (the temporary file
 * is removed, an older dir/spool is intact). */
int64_t spool_writer_commit(spool_writer_t *w, char *err, size_t errlen);
/* Removes the temporary file and frees w.  Accepts NULL.  Returns NULL. */
spool_writer_t *spool_writer_abort(spool_writer_t *w);

/* dir/spool into buf. */
void spool_path(const char *dir, char *buf, size_t len);

/* Reads dir/spool whole into *ret_buf (malloc'd), *ret_len.  Returns 1, 0
 * when there is none, or -errno with err naming the file. */
int spool_read(const char *dir, uint8_t **ret_buf, size_t *ret_len, char *err, size_t errlen);

/* Removes dir/spool and fsyncs dir.  Returns 0 (also when there was none)
 * or -errno with err naming the file. */
int spool_remove(const char *dir, char *err, size_t errlen);

/* Keeps dir/spool also as dir/spool.kept.N (a hard link, N from 1, the
 * first name free), fsyncs dir, and writes that name to kept.  Returns 0 or
 * -errno with err naming the file. */
int spool_keep(const char *dir, char *kept, size_t kept_len, char *err, size_t errlen);

#endif
