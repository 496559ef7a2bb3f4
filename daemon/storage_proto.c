/* SPDX-License-Identifier: Apache-2.0 */
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

void storage_data_prefix(uint8_t out[STORAGE_DATA_PREFIX], const struct storage_data *d)
{
        s_put32(out, STORAGE_DATA_MAGIC);
        s_put32(out + 4, d->run);
        s_put32(out + 8, d->session);
        s_put32(out + 12, d->sender);
        s_put64(out + 16, d->seq);
}

void storage_data_set_session(uint8_t prefix[STORAGE_DATA_PREFIX], uint32_t session)
{
        s_put32(prefix + 8, session);
}

int storage_data_parse(const void *msg, size_t size, struct storage_data *ret,
                       const uint8_t **payload, size_t *len)
{
        const uint8_t *p = msg;
        if (size < STORAGE_DATA_PREFIX || s_get32(p) != STORAGE_DATA_MAGIC)
                return -EBADMSG;
        ret->run = s_get32(p + 4);
        ret->session = s_get32(p + 8);
        ret->sender = s_get32(p + 12);
        ret->seq = s_get64(p + 16);
        *payload = p + STORAGE_DATA_PREFIX;
        *len = size - STORAGE_DATA_PREFIX;
        return 0;
}

void storage_ctl_encode(uint8_t out[STORAGE_CTL_BYTES], const struct storage_ctl *c)
{
        s_put32(out, STORAGE_CTL_MAGIC);
        s_put32(out + 4, (uint32_t)c->kind);
        s_put32(out + 8, c->session);
        s_put32(out + 12, c->run);
        s_put32(out + 16, c->sender);
        s_put32(out + 20, 0);
        s_put64(out + 24, c->seq);
}

int storage_ctl_parse(const void *msg, size_t size, struct storage_ctl *ret)
{
        const uint8_t *p = msg;
        if (size != STORAGE_CTL_BYTES || s_get32(p) != STORAGE_CTL_MAGIC || s_get32(p + 20) != 0)
                return -EBADMSG;
        uint32_t kind = s_get32(p + 4), session = s_get32(p + 8);
        if (kind < STORAGE_HELLO || kind > STORAGE_KIND_MAX)
                return -EBADMSG;
        if ((kind == STORAGE_HELLO) != (session == 0))
                return -EBADMSG;
        ret->kind = (enum storage_kind)kind;
        ret->session = session;
        ret->run = s_get32(p + 12);
        ret->sender = s_get32(p + 16);
        ret->seq = s_get64(p + 24);
        return 0;
}

const char *storage_kind_name(enum storage_kind k)
{
        static const char *const names[] = { "?", "HELLO", "WELCOME", "ACK", "FULL", "RESUME",
                                             "NAK" };
        return (unsigned)k <= STORAGE_KIND_MAX ? names[k] : "?";
}
