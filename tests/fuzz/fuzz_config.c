/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the configuration loader (pre-scan, libinih, every section's keys,
 * the drivers' key tables) on arbitrary bytes: no crash, no read outside the
 * input, and nothing accepted that the pre-scan must refuse: a file that
 * loads holds no NUL or control byte and no line longer than
 * CONFIG_SCAN_MAX_LINE outside comments; a refusal names a line. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int s_space(uint8_t c)
{
        return c == ' ' || c == '\t' || c == '\r';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct darkdaq_config cfg;       /* large: not on the stack */
        char err[512] = "";
        /* a copy of exactly size bytes, so that ASan catches any overread */
        char *buf = malloc(size ? size : 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        config_default(&cfg);
        int r = config_load_text(&cfg, buf, size, "f.ini", err, sizeof err);
        if (r == 0) {
                size_t i = size >= 3 && !memcmp(data, "\xef\xbb\xbf", 3) ? 3 : 0;  /* BOM */
                while (i < size) {
                        size_t start = i, end;
                        while (i < size && data[i] != '\n') {
                                if (data[i] < 0x20 && data[i] != '\t' && data[i] != '\r')
                                        abort();        /* NUL or control byte accepted */
                                i++;
                        }
                        end = i++;
                        while (start < end && s_space(data[start]))
                                start++;
                        while (end > start && s_space(data[end - 1]))
                                end--;
                        if (end - start > CONFIG_SCAN_MAX_LINE && data[start] != '#' &&
                            data[start] != ';')
                                abort();        /* a line libinih would split */
                }
                if (!cfg.text)
                        abort();
        } else if (r == -EINVAL && strncmp(err, "f.ini:", 6) != 0) {
                abort();                        /* a refusal without its line */
        }
        config_clear(&cfg);
        free(buf);
        return 0;
}
