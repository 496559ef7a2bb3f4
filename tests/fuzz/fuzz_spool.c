/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the spool reader (spool.h) on arbitrary bytes: no crash, no read
 * outside the input, every call moves forward; each frame it returns lies
 * whole in the input and encodes back to the same bytes; damage is
 * reported in order with a resume point inside the input; the frames then
 * go through the check of which can be sent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct spool_reader r;
        struct spool_order o;
        struct spool_frame f;
        struct spool_damage d;
        uint8_t head[SPOOL_FRAME_HEAD];
        uint64_t next = 0;      /* nothing may come before this offset */
        size_t calls = 0;
        int k;

        /* a copy of exactly size bytes: ASan catches any read past it */
        uint8_t *img = malloc(size ? size : 1);
        if (!img)
                return 0;
        memcpy(img, data, size);
        spool_reader_init(&r, img, size);
        spool_order_init(&o, size ? img[0] : 1);
        while ((k = spool_reader_next(&r, &f, &d)) != 0) {
                if (++calls > size + 2)
                        abort();                /* no progress */
                if (k < 0) {
                        if (d.offset < next || d.resume > size || !d.why ||
                            (d.resume <= d.offset && d.resume != size))
                                abort();
                        next = d.resume;
                        continue;
                }
                if (k != 1 || f.offset < next || f.rec_len > size ||
                    f.offset + SPOOL_FRAME_HEAD + f.rec_len > size ||
                    f.msg != img + f.offset + SPOOL_FRAME_HEADER + 4 ||
                    f.rec != f.msg + STORAGE_DATA_PREFIX ||
                    f.msg_len != STORAGE_DATA_PREFIX + f.rec_len || f.d.session != 0)
                        abort();
                spool_frame_head(head, f.kind, &f.d, f.rec, f.rec_len);
                if (memcmp(head, img + f.offset, sizeof head))
                        abort();
                next = f.offset + SPOOL_FRAME_HEAD + f.rec_len;
                (void)spool_verdict_text(spool_order_take(&o, &f));
        }
        free(img);
        return 0;
}
