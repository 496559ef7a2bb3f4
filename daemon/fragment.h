/* SPDX-License-Identifier: Apache-2.0 */
/* fragment: the board-interface v1 fragment codec (proto/README.md s.1).
 * Validates fragments, iterates their blocks and decodes records in place.
 * Pure: no I/O, no logging, no allocation. */
#ifndef DARKDAQ_FRAGMENT_H
#define DARKDAQ_FRAGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAG_MAGIC          0x52464B44u /* "DKFR" */
#define FRAG_END_MAGIC      0x4E454B44u /* "DKEN" */
#define FRAG_VERSION        1
#define FRAG_HEADER_BYTES   32
#define FRAG_TRAILER_BYTES  8
#define FRAG_OVERHEAD       (FRAG_HEADER_BYTES + FRAG_TRAILER_BYTES)
#define FRAG_MAX_PAYLOAD    1048576u
#define FRAG_MAX_BYTES      (FRAG_MAX_PAYLOAD + FRAG_OVERHEAD)
#define FRAG_MAX_SOURCE     63
#define FRAG_BLOCK_HEADER   8

/* Header flag bits. */
#define FRAG_BUSY_SEEN      0x0001u
#define FRAG_TRUNCATED      0x0002u
#define FRAG_TEST_PATTERN   0x0004u
#define FRAG_KNOWN_FLAGS    0x0007u

/* Block types and record sizes. */
enum frag_block_type {
        FRAG_BLOCK_TRACK = 1,
        FRAG_BLOCK_CLUSTER = 2,
        FRAG_BLOCK_MUON = 3,
        FRAG_BLOCK_RAW = 255,
};
#define FRAG_TRACK_BYTES    24
#define FRAG_CLUSTER_BYTES  16
#define FRAG_MUON_BYTES     12

/* Every way a fragment can be bad, one code each (proto/README.md s.1,
 * "What makes a fragment bad"), plus the stream reader's own. */
enum frag_err {
        FRAG_OK = 0,
        FRAG_E_MAGIC,           /* header magic wrong */
        FRAG_E_HEADER_CUT,      /* fewer than 32 bytes after a header magic */
        FRAG_E_VERSION,         /* version != 1 */
        FRAG_E_SOURCE,          /* source_id > 63 */
        FRAG_E_PAYLOAD_ALIGN,   /* payload_bytes % 4 != 0 */
        FRAG_E_PAYLOAD_SIZE,    /* payload_bytes > 1 MiB */
        FRAG_E_RESERVED,        /* header reserved != 0 */
        FRAG_E_TRAILER_MAGIC,   /* no "DKEN" where payload_bytes puts it */
        FRAG_E_CUT,             /* fragment cut by the end of the stream */
        FRAG_E_CRC,             /* CRC mismatch */
        FRAG_E_FLAGS,           /* flag bits 3..15 set */
        FRAG_E_BLOCK_CUT,       /* block header runs past the payload */
        FRAG_E_BLOCK_OVERRUN,   /* block records run past the payload */
        FRAG_E_BLOCK_ALIGN,     /* block_bytes % 4 != 0 */
        FRAG_E_BLOCK_SIZE,      /* block_bytes != count * record size */
        FRAG_E_RAW_COUNT,       /* RAW block with count != 0 */
        FRAG_E_MUON_RESERVED,   /* MUON record reserved != 0 */
        FRAG_E_CHARGE,          /* TRACK charge not +1 or -1 */
        FRAG_E_COUNT_
};

struct frag_error {
        enum frag_err code;
        uint32_t where;         /* byte offset inside the fragment */
        uint64_t value;         /* the offending value */
        uint64_t expected;      /* what it should have been, where one value is */
};

struct frag_header {
        uint32_t magic;
        uint8_t version;
        uint8_t source_id;
        uint16_t flags;
        uint32_t trigger;
        uint32_t payload_bytes;
        uint64_t trigger_time;  /* trigger-clock ticks */
        uint32_t trigger_bits;
        uint32_t reserved;
};

/* Summary of a good fragment's payload. */
struct frag_info {
        uint32_t n_blocks;
        uint32_t n_tracks;
        uint32_t n_clusters;
        uint32_t n_muons;
        uint32_t raw_bytes;
        uint32_t n_unknown_blocks;      /* skipped: newer firmware's types */
};

struct frag_block {
        uint16_t type;
        uint16_t count;
        uint32_t bytes;                 /* bytes of records */
        const uint8_t *records;         /* points into the fragment */
};

struct frag_block_iter {
        const uint8_t *next;
        const uint8_t *end;
};

struct frag_track {
        int32_t px_kev, py_kev, pz_kev;
        int32_t d0_um, z0_um;
        int8_t charge;
        uint8_t quality;
        uint16_t n_hits;
};

struct frag_cluster {
        uint32_t energy_kev;
        int32_t theta_urad, phi_urad;
        int16_t time_ns;
        uint16_t n_crystals;
};

struct frag_muon {
        int32_t theta_urad, phi_urad;
        uint8_t layers;
        uint8_t sector;
        uint16_t reserved;
};

static inline uint16_t frag_le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t frag_le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
               (uint32_t)p[3] << 24;
}

static inline uint64_t frag_le64(const uint8_t *p)
{
        return (uint64_t)frag_le32(p) | (uint64_t)frag_le32(p + 4) << 32;
}

/* Decodes the 32 header bytes at p (no checks). */
void frag_header_decode(const uint8_t *p, struct frag_header *ret);

/* Checks that a decoded header is well formed: magic, version, source_id,
 * payload_bytes, reserved.  Returns FRAG_OK or the first rule broken, with
 * *err filled (err may be NULL). */
enum frag_err frag_header_check(const struct frag_header *h, struct frag_error *err);

/* Validates one complete fragment of len bytes at p whose header has passed
 * frag_header_check() and len == 40 + payload_bytes: trailer magic, CRC, flag
 * bits, blocks, records.  On FRAG_OK fills *info (may be NULL).  *crc_ok (may
 * be NULL) tells whether the CRC matched, whatever else is wrong. */
enum frag_err frag_check_body(const uint8_t *p, size_t len, struct frag_info *info,
                              bool *crc_ok, struct frag_error *err);

/* Both of the above for len bytes at p; len must be the whole fragment. */
enum frag_err frag_check(const uint8_t *p, size_t len, struct frag_header *hdr,
                         struct frag_info *info, bool *crc_ok, struct frag_error *err);

/* Iterates the blocks of a good fragment (one that passed frag_check).
 * These and the record decoders are inline: the tagger calls them for a
 * handful of records per fragment, where a call costs as much as the
 * decoding. */
static inline void frag_blocks_begin(struct frag_block_iter *it, const uint8_t *frag)
{
        it->next = frag + FRAG_HEADER_BYTES;
        it->end = it->next + frag_le32(frag + 12);
}

static inline bool frag_blocks_next(struct frag_block_iter *it, struct frag_block *ret)
{
        if (it->end - it->next < FRAG_BLOCK_HEADER)
                return false;
        ret->type = frag_le16(it->next);
        ret->count = frag_le16(it->next + 2);
        ret->bytes = frag_le32(it->next + 4);
        ret->records = it->next + FRAG_BLOCK_HEADER;
        if (ret->bytes > (size_t)(it->end - ret->records))
                return false;   /* only for fragments that did not pass frag_check */
        it->next = ret->records + ret->bytes;
        return true;
}

/* Decode one record of a block of that type. */
static inline void frag_track_decode(const uint8_t *rec, struct frag_track *ret)
{
        ret->px_kev = (int32_t)frag_le32(rec);
        ret->py_kev = (int32_t)frag_le32(rec + 4);
        ret->pz_kev = (int32_t)frag_le32(rec + 8);
        ret->d0_um = (int32_t)frag_le32(rec + 12);
        ret->z0_um = (int32_t)frag_le32(rec + 16);
        ret->charge = (int8_t)rec[20];
        ret->quality = rec[21];
        ret->n_hits = frag_le16(rec + 22);
}

static inline void frag_cluster_decode(const uint8_t *rec, struct frag_cluster *ret)
{
        ret->energy_kev = frag_le32(rec);
        ret->theta_urad = (int32_t)frag_le32(rec + 4);
        ret->phi_urad = (int32_t)frag_le32(rec + 8);
        ret->time_ns = (int16_t)frag_le16(rec + 12);
        ret->n_crystals = frag_le16(rec + 14);
}

static inline void frag_muon_decode(const uint8_t *rec, struct frag_muon *ret)
{
        ret->theta_urad = (int32_t)frag_le32(rec);
        ret->phi_urad = (int32_t)frag_le32(rec + 4);
        ret->layers = rec[8];
        ret->sector = rec[9];
        ret->reserved = frag_le16(rec + 10);
}

/* Writes a message for people naming the rule and the value, e.g.
 * "version 7, expected 1".  Returns buf. */
const char *frag_error_format(const struct frag_error *err, char *buf, size_t size);

/* Short constant name of an error code, e.g. "crc" (for counters). */
const char *frag_err_name(enum frag_err code);

/* Flag name for bit b (0..2), as proto/README.md s.1 writes it. */
const char *frag_flag_name(unsigned bit);

/* Writes a fragment around a payload (for the simulator and tests): fills the
 * 32-byte header and 8-byte trailer at out and out + 32 + payload_bytes; the
 * payload must already be at out + 32.  Returns the fragment's size. */
size_t frag_encode(uint8_t *out, const struct frag_header *h);

#endif
