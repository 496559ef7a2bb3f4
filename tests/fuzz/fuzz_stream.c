/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the stream reader: whatever the bytes and however they are split,
 * every input byte is accounted for exactly once, in order (as a good
 * fragment, a bad fragment or junk), good fragments pass frag_check, and a
 * split feed decides exactly what a whole feed decides.  The first input
 * byte seeds the split sizes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

#define MAX_ITEMS 65536

struct log {
        size_t n;
        uint64_t next;                  /* offset the next item must start at */
        struct { uint64_t offset; size_t bytes; int kind; } it[MAX_ITEMS];
};

static int s_item(void *ctx, const struct stream_item *item)
{
        struct log *l = ctx;

        if (item->offset != l->next || item->bytes == 0)
                abort();
        if (item->kind == STREAM_FRAGMENT &&
            frag_check(item->data, item->bytes, NULL, NULL, NULL, NULL) != FRAG_OK)
                abort();
        if (item->kind == STREAM_BAD_MAGIC && item->bytes != 4)
                abort();
        if (item->kind != STREAM_JUNK && item->kind != STREAM_CUT_FRAGMENT && item->bytes % 4)
                abort();
        /* touch every byte: ASan catches a pointer past the data */
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < item->bytes; i++)
                sink ^= item->data[i];
        (void)sink;
        l->next += item->bytes;
        if (l->n < MAX_ITEMS) {
                l->it[l->n].offset = item->offset;
                l->it[l->n].bytes = item->bytes;
                l->it[l->n].kind = item->kind;
        }
        l->n++;
        return 0;
}

static struct log whole, split;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint32_t seed = size ? data[0] * 2654435761u + 1 : 1;
        stream_t *s;

        memset(&whole, 0, sizeof whole);
        memset(&split, 0, sizeof split);

        s = stream_new();
        stream_feed(s, data, size, s_item, &whole, NULL);
        stream_finish(s, s_item, &whole);
        if (whole.next != size || stream_held(s) != 0)
                abort();
        stream_free(s);

        s = stream_new();
        for (size_t pos = 0; pos < size;) {
                seed = seed * 1103515245u + 12345u;
                size_t n = 1 + (seed >> 16) % 67;
                if (n > size - pos)
                        n = size - pos;
                /* the reader may take its feed in place: hand it a copy it
                 * cannot keep, so a stale pointer shows up under ASan */
                uint8_t *piece = malloc(n);
                memcpy(piece, data + pos, n);
                stream_feed(s, piece, n, s_item, &split, NULL);
                free(piece);
                pos += n;
        }
        stream_finish(s, s_item, &split);
        stream_free(s);
        if (split.next != size || split.n != whole.n)
                abort();
        for (size_t i = 0; i < whole.n && i < MAX_ITEMS; i++)
                if (whole.it[i].offset != split.it[i].offset ||
                    whole.it[i].bytes != split.it[i].bytes ||
                    whole.it[i].kind != split.it[i].kind)
                        abort();
        return 0;
}
