/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes storage_data_parse() and storage_ctl_parse() on arbitrary bytes:
 * no crash, no read outside the input; whatever parses encodes back to the
 * same bytes, and the payload of a data message is the input after its
 * 24-byte prefix. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *payload;
        size_t len;
        struct storage_data d;
        struct storage_ctl c;

        if (storage_data_parse(data, size, &d, &payload, &len) == 0) {
                uint8_t pre[STORAGE_DATA_PREFIX];
                if (payload != data + STORAGE_DATA_PREFIX || len != size - STORAGE_DATA_PREFIX)
                        abort();
                storage_data_prefix(pre, &d);
                if (memcmp(pre, data, sizeof pre))
                        abort();
        }
        if (storage_ctl_parse(data, size, &c) == 0) {
                uint8_t buf[STORAGE_CTL_BYTES];
                storage_ctl_encode(buf, &c);
                if (memcmp(buf, data, sizeof buf))
                        abort();
        }
        return 0;
}
