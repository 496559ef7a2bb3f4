/* SPDX-License-Identifier: Apache-2.0 */
/* storage_proto: the messages of the storage channel (version 2) between
 * darkdaqd and darkdaq-store; proto/storage-channel.md says who sends what
 * when.  Pure encode/decode; the sockets live in the programs.
 *
 * One socket pair: the daemon's ROUTER binds ([daemon] storage), each store
 * connects a DEALER ([store] data).  ROUTER frames the peer's identity in
 * front of each message; the store sees only the message.
 *
 * Data, daemon -> store, one message per record:
 *     u32 magic "DKS2" | u32 run | u32 session | u32 sender | u64 seq | Record
 *   seq counts the records of (run, sender) from 0 (its run header) up.
 *
 * Control, either way, one message each (32 bytes):
 *     u32 magic "DKSC" | u32 kind | u32 session | u32 run | u32 sender |
 *     u32 reserved 0 | u64 seq
 *   store -> daemon: HELLO (session 0: give me a session), ACK (every record
 *   of (run, sender) up to seq is on disk or refused), FULL, RESUME, NAK
 *   (record seq was refused: kept in the reject file, not in the run file);
 *   daemon -> store: WELCOME (session: yours; every later message names it).
 *   Anything naming another session, or coming from a connection that does
 *   not own the session, counts for nothing. */
#ifndef DARKDAQ_STORAGE_PROTO_H
#define DARKDAQ_STORAGE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORAGE_DATA_MAGIC   0x32534B44u        /* "DKS2" */
#define STORAGE_CTL_MAGIC    0x43534B44u        /* "DKSC" */
#define STORAGE_DATA_PREFIX  24u
#define STORAGE_CTL_BYTES    32u
#define STORAGE_NO_SEQ       UINT64_MAX         /* a record the store made itself */

enum storage_kind {
        STORAGE_HELLO = 1,
        STORAGE_WELCOME = 2,
        STORAGE_ACK = 3,
        STORAGE_FULL = 4,
        STORAGE_RESUME = 5,
        STORAGE_NAK = 6,
};
#define STORAGE_KIND_MAX STORAGE_NAK

/* A control message. */
struct storage_ctl {
        enum storage_kind kind;
        uint32_t session;               /* 0 only in HELLO */
        uint32_t run;
        uint32_t sender;
        uint64_t seq;
};

/* The prefix of a data message. */
struct storage_data {
        uint32_t run;
        uint32_t session;
        uint32_t sender;
        uint64_t seq;
};

/* Writes the 24-byte data prefix. */
void storage_data_prefix(uint8_t out[STORAGE_DATA_PREFIX], const struct storage_data *d);
/* Rewrites the session of a prefix storage_data_prefix() wrote. */
void storage_data_set_session(uint8_t prefix[STORAGE_DATA_PREFIX], uint32_t session);

/* Parses a data message; on success *ret gets the prefix and *payload, *len
 * the packed Record inside msg.  Returns 0 or -EBADMSG (too short, wrong
 * magic). */
int storage_data_parse(const void *msg, size_t size, struct storage_data *ret,
                       const uint8_t **payload, size_t *len);

void storage_ctl_encode(uint8_t out[STORAGE_CTL_BYTES], const struct storage_ctl *c);

/* Returns 0 or -EBADMSG (size, magic, kind or reserved wrong; session 0 in
 * anything but HELLO, or not 0 in HELLO). */
int storage_ctl_parse(const void *msg, size_t size, struct storage_ctl *ret);

/* "HELLO", "ACK", ...; "?" for a value outside the enum. */
const char *storage_kind_name(enum storage_kind k);

#endif
