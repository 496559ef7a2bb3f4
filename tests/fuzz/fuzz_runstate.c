/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the state-file parser on arbitrary bytes: no crash, no read outside
 * the input; an accepted file is exactly the number printed back (with or
 * without its newline). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint32_t run = 0;
        char *buf = malloc(size ? size : 1), text[16];
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        if (runstate_parse(buf, size, &run) == 0) {
                int n = snprintf(text, sizeof text, "%" PRIu32 "\n", run);
                /* leading zeros are the only other spelling accepted */
                size_t i = 0;
                while (i + 1 < size && buf[i] == '0' && buf[i + 1] >= '0' && buf[i + 1] <= '9')
                        i++;
                size_t len = size - i;
                if (!(len == (size_t)n && !memcmp(buf + i, text, len)) &&
                    !(len == (size_t)n - 1 && !memcmp(buf + i, text, len)))
                        abort();
        }
        free(buf);
        return 0;
}
