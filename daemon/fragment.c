/* SPDX-License-Identifier: Apache-2.0 */
/* fragment: validation, block iteration and record decoding of board-interface
 * v1 fragments.  Checks run in the order the header, the trailer, the CRC and
 * then the content, so that a CRC failure is reported as such and the caller
 * knows whether the header can be trusted. */
#include "fragment.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "crc32c.h"

void frag_header_decode(const uint8_t *p, struct frag_header *ret)
{
        ret->magic = frag_le32(p);
        ret->version = p[4];
        ret->source_id = p[5];
        ret->flags = frag_le16(p + 6);
        ret->trigger = frag_le32(p + 8);
        ret->payload_bytes = frag_le32(p + 12);
        ret->trigger_time = frag_le64(p + 16);
        ret->trigger_bits = frag_le32(p + 24);
        ret->reserved = frag_le32(p + 28);
}

static enum frag_err s_fail(struct frag_error *err, enum frag_err code, uint32_t where,
                            uint64_t value, uint64_t expected)
{
        if (err) {
                err->code = code;
                err->where = where;
                err->value = value;
                err->expected = expected;
        }
        return code;
}

enum frag_err frag_header_check(const struct frag_header *h, struct frag_error *err)
{
        if (h->magic != FRAG_MAGIC)
                return s_fail(err, FRAG_E_MAGIC, 0, h->magic, FRAG_MAGIC);
        if (h->version != FRAG_VERSION)
                return s_fail(err, FRAG_E_VERSION, 4, h->version, FRAG_VERSION);
        if (h->source_id > FRAG_MAX_SOURCE)
                return s_fail(err, FRAG_E_SOURCE, 5, h->source_id, FRAG_MAX_SOURCE);
        if (h->payload_bytes % 4)
                return s_fail(err, FRAG_E_PAYLOAD_ALIGN, 12, h->payload_bytes, 0);
        if (h->payload_bytes > FRAG_MAX_PAYLOAD)
                return s_fail(err, FRAG_E_PAYLOAD_SIZE, 12, h->payload_bytes, FRAG_MAX_PAYLOAD);
        if (h->reserved != 0)
                return s_fail(err, FRAG_E_RESERVED, 28, h->reserved, 0);
        if (err)
                err->code = FRAG_OK;
        return FRAG_OK;
}

static enum frag_err s_check_records(const struct frag_block *b, uint32_t where,
                                     struct frag_error *err)
{
        if (b->type == FRAG_BLOCK_TRACK) {
                for (uint32_t i = 0; i < b->count; i++) {
                        int8_t q = (int8_t)b->records[i * FRAG_TRACK_BYTES + 20];
                        if (q != 1 && q != -1)
                                return s_fail(err, FRAG_E_CHARGE,
                                              where + i * FRAG_TRACK_BYTES + 20,
                                              (uint64_t)(int64_t)q, 1);
                }
        } else if (b->type == FRAG_BLOCK_MUON) {
                for (uint32_t i = 0; i < b->count; i++) {
                        uint16_t r = frag_le16(b->records + i * FRAG_MUON_BYTES + 10);
                        if (r)
                                return s_fail(err, FRAG_E_MUON_RESERVED,
                                              where + i * FRAG_MUON_BYTES + 10, r, 0);
                }
        }
        return FRAG_OK;
}

static uint32_t s_record_bytes(uint16_t type)
{
        switch (type) {
        case FRAG_BLOCK_TRACK:   return FRAG_TRACK_BYTES;
        case FRAG_BLOCK_CLUSTER: return FRAG_CLUSTER_BYTES;
        case FRAG_BLOCK_MUON:    return FRAG_MUON_BYTES;
        default:                 return 0;
        }
}

enum frag_err frag_check_body(const uint8_t *p, size_t len, struct frag_info *info,
                              bool *crc_ok, struct frag_error *err)
{
        uint32_t payload = frag_le32(p + 12);
        uint16_t flags = frag_le16(p + 6);
        const uint8_t *trailer = p + FRAG_HEADER_BYTES + payload;
        struct frag_info sum = { 0 };
        uint32_t pos;

        if (crc_ok)
                *crc_ok = false;
        if (frag_le32(trailer + 4) != FRAG_END_MAGIC)
                return s_fail(err, FRAG_E_TRAILER_MAGIC, (uint32_t)(len - 4),
                              frag_le32(trailer + 4), FRAG_END_MAGIC);
        uint32_t want = frag_le32(trailer);
        uint32_t got = crc32c(0, p, FRAG_HEADER_BYTES + payload);
        if (want != got)
                return s_fail(err, FRAG_E_CRC, (uint32_t)(len - 8), want, got);
        if (crc_ok)
                *crc_ok = true;
        if (flags & ~FRAG_KNOWN_FLAGS)
                return s_fail(err, FRAG_E_FLAGS, 6, flags, flags & FRAG_KNOWN_FLAGS);

        for (pos = 0; pos < payload;) {
                struct frag_block b;
                uint32_t where = FRAG_HEADER_BYTES + pos;
                const uint8_t *h = p + where;

                if (payload - pos < FRAG_BLOCK_HEADER)
                        return s_fail(err, FRAG_E_BLOCK_CUT, where, payload - pos,
                                      FRAG_BLOCK_HEADER);
                b.type = frag_le16(h);
                b.count = frag_le16(h + 2);
                b.bytes = frag_le32(h + 4);
                b.records = h + FRAG_BLOCK_HEADER;
                pos += FRAG_BLOCK_HEADER;
                if (b.bytes > payload - pos)
                        return s_fail(err, FRAG_E_BLOCK_OVERRUN, where + 4, b.bytes,
                                      payload - pos);
                if (b.bytes % 4)
                        return s_fail(err, FRAG_E_BLOCK_ALIGN, where + 4, b.bytes, 0);
                uint32_t rec = s_record_bytes(b.type);
                if (rec && b.bytes != (uint32_t)b.count * rec)
                        return s_fail(err, FRAG_E_BLOCK_SIZE, where + 4, b.bytes,
                                      (uint64_t)b.count * rec);
                if (b.type == FRAG_BLOCK_RAW && b.count != 0)
                        return s_fail(err, FRAG_E_RAW_COUNT, where + 2, b.count, 0);
                enum frag_err e = s_check_records(&b, where + FRAG_BLOCK_HEADER, err);
                if (e)
                        return e;
                sum.n_blocks++;
                switch (b.type) {
                case FRAG_BLOCK_TRACK:   sum.n_tracks += b.count; break;
                case FRAG_BLOCK_CLUSTER: sum.n_clusters += b.count; break;
                case FRAG_BLOCK_MUON:    sum.n_muons += b.count; break;
                case FRAG_BLOCK_RAW:     sum.raw_bytes += b.bytes; break;
                default:                 sum.n_unknown_blocks++; break;
                }
                pos += b.bytes;
        }
        if (info)
                *info = sum;
        if (err)
                err->code = FRAG_OK;
        return FRAG_OK;
}

enum frag_err frag_check(const uint8_t *p, size_t len, struct frag_header *hdr,
                         struct frag_info *info, bool *crc_ok, struct frag_error *err)
{
        struct frag_header h;
        enum frag_err e;

        if (crc_ok)
                *crc_ok = false;
        if (len < FRAG_HEADER_BYTES)
                return s_fail(err, FRAG_E_HEADER_CUT, 0, len, FRAG_HEADER_BYTES);
        frag_header_decode(p, &h);
        if (hdr)
                *hdr = h;
        e = frag_header_check(&h, err);
        if (e)
                return e;
        if (len < (size_t)h.payload_bytes + FRAG_OVERHEAD)
                return s_fail(err, FRAG_E_CUT, 0, len, (uint64_t)h.payload_bytes + FRAG_OVERHEAD);
        return frag_check_body(p, (size_t)h.payload_bytes + FRAG_OVERHEAD, info, crc_ok, err);
}

static const char *const err_names[FRAG_E_COUNT_] = {
        [FRAG_OK] = "ok",
        [FRAG_E_MAGIC] = "magic",
        [FRAG_E_HEADER_CUT] = "header_cut",
        [FRAG_E_VERSION] = "version",
        [FRAG_E_SOURCE] = "source_id",
        [FRAG_E_PAYLOAD_ALIGN] = "payload_align",
        [FRAG_E_PAYLOAD_SIZE] = "payload_size",
        [FRAG_E_RESERVED] = "reserved",
        [FRAG_E_TRAILER_MAGIC] = "trailer_magic",
        [FRAG_E_CUT] = "cut",
        [FRAG_E_CRC] = "crc",
        [FRAG_E_FLAGS] = "flags",
        [FRAG_E_BLOCK_CUT] = "block_cut",
        [FRAG_E_BLOCK_OVERRUN] = "block_overrun",
        [FRAG_E_BLOCK_ALIGN] = "block_align",
        [FRAG_E_BLOCK_SIZE] = "block_size",
        [FRAG_E_RAW_COUNT] = "raw_count",
        [FRAG_E_MUON_RESERVED] = "muon_reserved",
        [FRAG_E_CHARGE] = "charge",
};

const char *frag_err_name(enum frag_err code)
{
        return (unsigned)code < FRAG_E_COUNT_ ? err_names[code] : "unknown";
}

const char *frag_error_format(const struct frag_error *e, char *buf, size_t size)
{
        uint64_t v = e->value, x = e->expected;

        switch (e->code) {
        case FRAG_OK:
                snprintf(buf, size, "ok");
                break;
        case FRAG_E_MAGIC:
                snprintf(buf, size, "header magic 0x%08" PRIx64 ", expected 0x%08" PRIx64, v, x);
                break;
        case FRAG_E_HEADER_CUT:
                snprintf(buf, size, "header cut by end of stream (%" PRIu64 " of 32 bytes)", v);
                break;
        case FRAG_E_VERSION:
                snprintf(buf, size, "version %" PRIu64 ", expected 1", v);
                break;
        case FRAG_E_SOURCE:
                snprintf(buf, size, "source_id %" PRIu64 ", above 63", v);
                break;
        case FRAG_E_PAYLOAD_ALIGN:
                snprintf(buf, size, "payload_bytes %" PRIu64 " not a multiple of 4", v);
                break;
        case FRAG_E_PAYLOAD_SIZE:
                snprintf(buf, size, "payload_bytes %" PRIu64 " above 1048576", v);
                break;
        case FRAG_E_RESERVED:
                snprintf(buf, size, "header reserved field 0x%08" PRIx64 ", expected 0", v);
                break;
        case FRAG_E_TRAILER_MAGIC:
                snprintf(buf, size, "trailer magic 0x%08" PRIx64 " at byte %u, expected \"DKEN\"",
                         v, e->where);
                break;
        case FRAG_E_CUT:
                snprintf(buf, size, "cut by end of stream (%" PRIu64 " of %" PRIu64 " bytes)", v, x);
                break;
        case FRAG_E_CRC:
                snprintf(buf, size, "crc mismatch (trailer 0x%08" PRIx64 ", computed 0x%08" PRIx64 ")",
                         v, x);
                break;
        case FRAG_E_FLAGS:
                snprintf(buf, size, "flag bits 3-15 set (flags 0x%04" PRIx64 ")", v);
                break;
        case FRAG_E_BLOCK_CUT:
                snprintf(buf, size, "block header at byte %u cut: %" PRIu64 " bytes of payload left",
                         e->where, v);
                break;
        case FRAG_E_BLOCK_OVERRUN:
                snprintf(buf, size, "block at byte %u runs past the payload: block_bytes %" PRIu64
                         ", %" PRIu64 " left", e->where - 4, v, x);
                break;
        case FRAG_E_BLOCK_ALIGN:
                snprintf(buf, size, "block at byte %u: block_bytes %" PRIu64 " not a multiple of 4",
                         e->where - 4, v);
                break;
        case FRAG_E_BLOCK_SIZE:
                snprintf(buf, size, "block at byte %u: block_bytes %" PRIu64
                         ", count x record size is %" PRIu64, e->where - 4, v, x);
                break;
        case FRAG_E_RAW_COUNT:
                snprintf(buf, size, "RAW block with a non-zero count (%" PRIu64 ") at byte %u",
                         v, e->where - 2);
                break;
        case FRAG_E_MUON_RESERVED:
                snprintf(buf, size, "MUON record reserved field not 0 (0x%04" PRIx64 ") at byte %u",
                         v, e->where);
                break;
        case FRAG_E_CHARGE:
                snprintf(buf, size, "TRACK charge not +1 or -1 (%" PRId64 ") at byte %u",
                         (int64_t)v, e->where);
                break;
        default:
                snprintf(buf, size, "error %d", (int)e->code);
                break;
        }
        return buf;
}

const char *frag_flag_name(unsigned bit)
{
        static const char *const names[] = { "busy_seen", "truncated", "test_pattern" };
        return bit < 3 ? names[bit] : "unknown";
}

static void s_put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

size_t frag_encode(uint8_t *out, const struct frag_header *h)
{
        s_put32(out, h->magic ? h->magic : FRAG_MAGIC);
        out[4] = h->version;
        out[5] = h->source_id;
        out[6] = (uint8_t)h->flags;
        out[7] = (uint8_t)(h->flags >> 8);
        s_put32(out + 8, h->trigger);
        s_put32(out + 12, h->payload_bytes);
        s_put32(out + 16, (uint32_t)h->trigger_time);
        s_put32(out + 20, (uint32_t)(h->trigger_time >> 32));
        s_put32(out + 24, h->trigger_bits);
        s_put32(out + 28, h->reserved);
        uint8_t *t = out + FRAG_HEADER_BYTES + h->payload_bytes;
        s_put32(t, crc32c(0, out, FRAG_HEADER_BYTES + h->payload_bytes));
        s_put32(t + 4, FRAG_END_MAGIC);
        return (size_t)h->payload_bytes + FRAG_OVERHEAD;
}
