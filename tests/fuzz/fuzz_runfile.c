/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the run-file reader and darkdaq-dump's run-file printer on
 * arbitrary bytes: no crash, no leak, no read outside the input; the reader
 * always stops with a reason, at a frame boundary it reached, and the JSON
 * printer's every line is one object.  Half the inputs get a valid frame
 * header in front, so that the record parser is reached often. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runfile.h"
#include "tools/dump/dump.h"

/* darkdaq-dump's printer is not in the library: build it in. */
#include "tools/dump/run.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_check_reader(const uint8_t *buf, size_t len)
{
        runfile_reader_t *r = runfile_reader_new_mem(buf, len);
        const Darkdaq__Record *rec;
        uint64_t off, prev_end = 0;
        if (!r)
                return;
        while (runfile_reader_next(r, &rec, &off) > 0) {
                if (off != prev_end || rec == NULL)
                        abort();
                /* The next frame starts after this one's 8 + length bytes. */
                prev_end = off + 8 + ((uint64_t)buf[off] | (uint64_t)buf[off + 1] << 8 |
                                      (uint64_t)buf[off + 2] << 16 |
                                      (uint64_t)buf[off + 3] << 24);
                if (prev_end > len)
                        abort();
        }
        const struct runfile_stop *st = runfile_reader_stop(r);
        if (st->kind == RUNFILE_READING || st->offset != prev_end || st->reason[0] == '\0')
                abort();
        if (st->kind == RUNFILE_END && st->offset != len)
                abort();
        runfile_reader_free(r);
        runfile_is_run_file(buf, len);
}

static void s_check_dump(const uint8_t *buf, size_t len, bool json)
{
        char *text = NULL;
        size_t text_len = 0;
        FILE *out = open_memstream(&text, &text_len);
        FILE *err = fopen("/dev/null", "w");
        if (!out || !err)
                abort();
        dump_run_mem(buf, len, "fuzz", out, err, json);
        fclose(out);
        fclose(err);
        if (json) {
                /* Each line is one object: starts with '{', ends with '}'. */
                for (char *line = text; line && *line;) {
                        char *nl = strchr(line, '\n');
                        if (!nl || line[0] != '{' || nl[-1] != '}')
                                abort();
                        line = nl + 1;
                }
        }
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        s_check_reader(data, size);
        s_check_dump(data, size, size % 2 == 0);

        /* The same bytes as the payload of one well-framed record. */
        uint8_t *framed = malloc(size + 8);
        if (!framed)
                return 0;
        memcpy(framed + 8, data, size);
        runfile_frame_header(framed, framed + 8, (uint32_t)size);
        s_check_reader(framed, size + 8);
        s_check_dump(framed, size + 8, true);
        free(framed);
        return 0;
}
