/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the run-file reader and darkdaq-dump's run-file printer on
 * arbitrary bytes: no crash, no leak, no read outside the input; the reader
 * always stops with a reason; every byte between the frames it returns is
 * covered by a report (bad bytes skipped, or a duplicate frame); and the
 * JSON printer's every line is one object.  The inputs are also tried as
 * the payload of a valid v1 frame and of a v2 file's frame, so that the
 * record parser is reached often. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runfile.h"
#include "tools/dump/dump.h"

/* darkdaq-dump's printer is not in the library: build it in. */
#include "tools/dump/run.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the bytes read so far are accounted for up to. */
struct cover {
        const uint8_t *buf;
        uint64_t to;                    /* every byte before is a frame or reported */
        unsigned hb;                    /* frame header bytes */
};

static void s_cover(void *ctx, const struct runfile_report *rep)
{
        struct cover *c = ctx;
        if (rep->reason[0] == '\0')
                abort();
        if (rep->kind == RUNFILE_REPORT_SKIPPED && rep->offset == c->to)
                c->to += rep->skipped;
        else if (rep->kind == RUNFILE_REPORT_DUPLICATE && rep->offset == c->to)
                c->to += c->hb + ((uint64_t)c->buf[c->to + 4] | (uint64_t)c->buf[c->to + 5] << 8 |
                                  (uint64_t)c->buf[c->to + 6] << 16 |
                                  (uint64_t)c->buf[c->to + 7] << 24);
}

static void s_check_reader(const uint8_t *buf, size_t len)
{
        runfile_reader_t *r = runfile_reader_new_mem(buf, len);
        const Darkdaq__Record *rec;
        uint64_t off;
        struct cover c = { .buf = buf };
        if (!r)
                return;
        runfile_reader_set_report(r, s_cover, &c);
        bool first = true;
        while (runfile_reader_next(r, &rec, &off) > 0) {
                const struct runfile_frame *fr = runfile_reader_frame(r);
                unsigned v = runfile_reader_version(r);
                c.hb = v == 2 ? RUNFILE_FRAME2_HEADER : RUNFILE_FRAME_HEADER;
                if (first && v == 2 && c.to == 0)
                        c.to = RUNFILE_FILE_HEADER;
                first = false;
                if (off != c.to || rec == NULL || fr->offset != off)
                        abort();
                c.to = off + c.hb + fr->size;
                if (c.to > len)
                        abort();
        }
        const struct runfile_stop *st = runfile_reader_stop(r);
        if (st->kind == RUNFILE_READING || st->reason[0] == '\0')
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

        /* And as a v2 file: file header, one frame, the bytes again after it. */
        size_t n2 = RUNFILE_FILE_HEADER + RUNFILE_FRAME2_HEADER + 2 * size;
        uint8_t *v2 = malloc(n2);
        if (!v2)
                return 0;
        runfile_file_header(v2);
        memcpy(v2 + RUNFILE_FILE_HEADER + RUNFILE_FRAME2_HEADER, data, size);
        runfile_frame2_header(v2 + RUNFILE_FILE_HEADER, v2 + RUNFILE_FILE_HEADER +
                              RUNFILE_FRAME2_HEADER, (uint32_t)size, 1, size);
        memcpy(v2 + RUNFILE_FILE_HEADER + RUNFILE_FRAME2_HEADER + size, data, size);
        s_check_reader(v2, n2);
        s_check_dump(v2, n2, size % 3 == 0);
        free(v2);
        return 0;
}
