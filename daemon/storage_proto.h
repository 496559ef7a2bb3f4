/* storage_proto: the messages between darkdaqd and darkdaq-store, the
 * lossless storage channel of interfaces.md s.5.  Pure encode/decode; the
 * sockets live in the programs.
 *
 * Data, daemon PUSH (bind, [daemon] storage, default tcp://127.0.0.1:5557)
 * -> store PULL (connect): one ZeroMQ message per record:
 *     u32 magic "DKSM" | u32 run | u64 seq | packed darkdaq.Record
 *   seq counts the records of a run from 0 (its run header) up, +1 per
 *   record; the run trailer is the run's last record.
 *
 * Acks, store PUSH (connect) -> daemon PULL (bind, [daemon] storage_ack,
 * default tcp://127.0.0.1:5558): one message each:
 *     u32 magic "DKSA" | u32 kind | u32 run | u32 reserved 0 | u64 seq
 *   HELLO   the store (re)started: the daemon sends again every record it
 *           has not had an ACK for (the store skips any it already wrote);
 *   ACK     every record of run up to seq is on disk (fsync'd);
 *   FULL    the store stopped taking data (disk below its floor): the daemon
 *           holds records and throttles the boards;
 *   RESUME  the store takes data again.
 * The daemon keeps each record until it is acknowledged, so a store killed
 * mid-run loses nothing that the daemon still holds. */
#ifndef DARKDAQ_STORAGE_PROTO_H
#define DARKDAQ_STORAGE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORAGE_DATA_MAGIC   0x4D534B44u        /* "DKSM" */
#define STORAGE_ACK_MAGIC    0x41534B44u        /* "DKSA" */
#define STORAGE_DATA_PREFIX  16u
#define STORAGE_ACK_BYTES    24u

enum storage_ack_kind {
        STORAGE_HELLO = 1,
        STORAGE_ACK = 2,
        STORAGE_FULL = 3,
        STORAGE_RESUME = 4,
};

struct storage_ack {
        enum storage_ack_kind kind;
        uint32_t run;
        uint64_t seq;
};

/* Writes the 16-byte data prefix. */
void storage_data_prefix(uint8_t out[STORAGE_DATA_PREFIX], uint32_t run, uint64_t seq);

/* Parses a data message; on success *payload and *len point at the packed Record
 * inside msg.  Returns 0 or -EBADMSG (wrong size or magic). */
int storage_data_parse(const void *msg, size_t size, uint32_t *run, uint64_t *seq,
                       const uint8_t **payload, size_t *len);

void storage_ack_encode(uint8_t out[STORAGE_ACK_BYTES], const struct storage_ack *a);

/* Returns 0 or -EBADMSG (size, magic, kind or reserved wrong). */
int storage_ack_parse(const void *msg, size_t size, struct storage_ack *ret);

#endif
