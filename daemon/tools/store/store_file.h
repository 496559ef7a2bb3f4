/* SPDX-License-Identifier: Apache-2.0 */
/* store_file: one run file as darkdaq-store writes it: NAME.part in the
 * run directory, run file version 2 (runfile.h's format): every frame
 * carries its record's (sender, seq), so that a restarted store knows from
 * the frames alone what a dead one left on disk.  Frames are appended
 * through one reused buffer, the CRC-32C of every byte kept as they pass,
 * per-kind counts for the trailer and the sidecar; then trailer, fsync,
 * rename to NAME and NAME.json beside it.  After a write, fsync or close
 * error the file is cut back to its last durable frame.  Each frame carries
 * its record's (sender, seq), so that a restarted store knows what a dead
 * one left on disk.  No logging: callers log what fails. */
#ifndef DARKDAQ_STORE_FILE_H
#define DARKDAQ_STORE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "darkdaq.pb-c.h"

#define STORE_NO_SEQ    UINT64_MAX      /* "no seq" in first/last seq fields */

/* Record kinds, from the first byte of a packed darkdaq.Record (its oneof
 * field's tag; proto3 writes it even for an empty body). */
enum store_kind {
        STORE_KIND_OTHER = 0,
        STORE_KIND_HEADER,
        STORE_KIND_EVENT,
        STORE_KIND_LATE,
        STORE_KIND_JUNK,
        STORE_KIND_CORRUPT,
        STORE_KIND_TRAILER,
};

/* The kind of a packed Record, without unpacking it.  Pure. */
enum store_kind store_kind_of(const uint8_t *rec, size_t len);

/* The trigger of a packed event Record (0 if absent, as proto3 omits it).
 * Returns 0 and *ret, or -EBADMSG.  Pure. */
int store_event_trigger(const uint8_t *rec, size_t len, uint32_t *ret);

/* What a file holds, for its trailer and sidecar. */
struct store_file_counters {
        uint64_t records;               /* frames, header (and trailer) included */
        uint64_t events, late, junk, corrupt;
        bool have_trigger;              /* an event was written */
        uint32_t first_trigger, last_trigger;
        uint64_t first_seq, last_seq;   /* seq of the data frames; STORE_NO_SEQ: none */
};

typedef struct store_file store_file_t;

/* Creates dir/NAME.part with header (packed, file_sequence already set) as
 * its first frame, carrying (sender, header_seq): header_seq 0 when the
 * header is the run's record 0, else STORE_NO_SEQ (the store's copy).  Every
 * later frame names sender too.  Returns 0 and *ret or -errno (-EEXIST when
 * NAME or NAME.part exists). */
int store_file_open_as(store_file_t **ret, int dir_fd, uint32_t run, uint32_t sequence,
                       const uint8_t *header, size_t header_len, uint64_t header_seq,
                       uint32_t sender);

/* store_file_open_as() with sender 0; first_seq is no longer used (the
 * frames carry their seqs). */
int store_file_open(store_file_t **ret, int dir_fd, uint32_t run, uint32_t sequence,
                    const uint8_t *header, size_t header_len, uint64_t header_seq,
                    uint64_t first_seq);

/* Appends one packed record that carries seq (STORE_NO_SEQ: one the store
 * made) in a frame naming the file's sender; counts it by kind.  Returns 0
 * or -errno (sticky). */
int store_file_append(store_file_t *f, const uint8_t *rec, size_t len, uint64_t seq);

/* Writes buffered frames and fdatasyncs: everything appended is on disk
 * and becomes the point store_file_cut() goes back to.  Returns 0 or
 * -errno (then nothing since the last successful sync counts as durable:
 * no retried fsync is trusted). */
int store_file_sync(store_file_t *f);

/* After an error: drops the buffer and cuts NAME.part back (ftruncate,
 * fsync) to what the last successful sync made durable, so that no torn
 * frame, and no frame the daemon will send again, stays in it; the counts
 * go back with it.  Reopens NAME.part when a failed close closed it.
 * Returns 0 (also when there is nothing to cut) or -errno (try again). */
int store_file_cut(store_file_t *f);

/* Appends trailer (a packed run-trailer Record; seq STORE_NO_SEQ when the
 * store made it), fsyncs, closes, renames NAME.part to NAME, writes
 * NAME.json with end_reason and the header's software_version and
 * config_hash and fsyncs the directory.  Returns 0
 * (f is freed) or the first -errno: f stays, to be closed again later (or
 * abandoned), and resumes where it stopped.  Until the close of the file
 * succeeded (store_file_closed()), a failure cuts the file back as
 * store_file_cut() does, trailer and all. */
int store_file_close(store_file_t *f, const uint8_t *trailer, size_t len, uint64_t seq,
                     const Darkdaq__RunHeader *header, const char *end_reason);

/* Has a store_file_close() made the contents durable (trailer written,
 * fsync'd and closed), although renaming or the sidecar may be due still? */
bool store_file_closed(const store_file_t *f);

/* Removes NAME.part (a file with nothing worth keeping)
 * and fsyncs the directory.  Returns 0 (f is freed) or -errno (f stays). */
int store_file_remove(store_file_t *f);

/* Abandons f: writes what is buffered (or, after an error, cuts back what
 * is not durable), closes, leaves NAME.part.  NULL ok. */
store_file_t *store_file_abandon(store_file_t *f);

/* Copies what f holds so far into *ret. */
void store_file_get_counters(const store_file_t *f, struct store_file_counters *ret);
/* Copies what the last successful sync made durable into *ret. */
void store_file_get_durable(const store_file_t *f, struct store_file_counters *ret);
uint64_t store_file_bytes(const store_file_t *f);      /* buffered bytes included */
size_t store_file_buffered(const store_file_t *f);     /* bytes not yet written */
uint32_t store_file_sequence(const store_file_t *f);
const char *store_file_name(const store_file_t *f);    /* "run-000012-003.dkr" */

/* Writes dir/NAME.json for a file of bytes bytes with CRC-32C crc (header
 * may be NULL: a file cut inside its first frame).  One atomic file write:
 * NAME.json.tmp, fsync, rename. */
int store_sidecar_write(int dir_fd, const char *name, uint32_t run, uint32_t sequence,
                        const struct store_file_counters *c, uint32_t crc, uint64_t bytes,
                        const Darkdaq__RunHeader *header, const char *end_reason);

/* Reads first_seq, last_seq and start_time_ns back from a sidecar this
 * program wrote (STORE_NO_SEQ / 0 when absent or null).  Returns 0 or -errno. */
int store_sidecar_read(int dir_fd, const char *name, uint64_t *first_seq, uint64_t *last_seq,
                       uint64_t *start_time_ns);

#endif
