/* storage_proto: encode and decode the storage channel's messages
 * (storage_proto.h).  Pure: byte order is little-endian, explicit. */
#include "storage_proto.h"

#include <errno.h>
#include <string.h>

static void s_put32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static void s_put64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t s_get32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t s_get64(const uint8_t *p)
{
        return (uint64_t)s_get32(p) | (uint64_t)s_get32(p + 4) << 32;
}

void storage_data_prefix(uint8_t out[STORAGE_DATA_PREFIX], uint32_t run, uint64_t seq)
{
        s_put32(out, STORAGE_DATA_MAGIC);
        s_put32(out + 4, run);
        s_put64(out + 8, seq);
}

int storage_data_parse(const void *msg, size_t size, uint32_t *run, uint64_t *seq,
                       const uint8_t **payload, size_t *len)
{
        const uint8_t *p = msg;
        if (size < STORAGE_DATA_PREFIX || s_get32(p) != STORAGE_DATA_MAGIC)
                return -EBADMSG;
        *run = s_get32(p + 4);
        *seq = s_get64(p + 8);
        *payload = p + STORAGE_DATA_PREFIX;
        *len = size - STORAGE_DATA_PREFIX;
        return 0;
}

void storage_ack_encode(uint8_t out[STORAGE_ACK_BYTES], const struct storage_ack *a)
{
        s_put32(out, STORAGE_ACK_MAGIC);
        s_put32(out + 4, (uint32_t)a->kind);
        s_put32(out + 8, a->run);
        s_put32(out + 12, 0);
        s_put64(out + 16, a->seq);
}

int storage_ack_parse(const void *msg, size_t size, struct storage_ack *ret)
{
        const uint8_t *p = msg;
        if (size != STORAGE_ACK_BYTES || s_get32(p) != STORAGE_ACK_MAGIC || s_get32(p + 12) != 0)
                return -EBADMSG;
        uint32_t kind = s_get32(p + 4);
        if (kind < STORAGE_HELLO || kind > STORAGE_RESUME)
                return -EBADMSG;
        ret->kind = (enum storage_ack_kind)kind;
        ret->run = s_get32(p + 8);
        ret->seq = s_get64(p + 16);
        return 0;
}
