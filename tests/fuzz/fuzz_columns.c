/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_columns: the Python package's decoder (proto/darkdaq/columns.c) on
 * arbitrary bytes, framed as run file v1 and v2 (with resynchronisation
 * after a bad frame) and also taken as one Record: no crash, no read
 * outside the input, rows only within the room given; a frame resync finds
 * is whole in the input and good, and it is never before where it looked. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../proto/darkdaq/columns.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_record(const uint8_t *p, size_t n)
{
        static struct columns_value values[16];
        static struct columns_dv dv[4];
        struct columns_out out = { values, 0, 16, dv, 0, 4 };
        struct columns_event row;
        const uint8_t *body;
        size_t bn;
        uint32_t run = 0;
        int k = columns_record_body(p, n, &body, &bn);
        if (k == COLUMNS_RUN_HEADER)
                (void)columns_run_header(body, bn, &run);
        if (k == COLUMNS_EVENT) {
                int e = columns_event_decode(body, bn, run, &row, &out);
                if (e == 0 && (out.n_values > out.cap_values || out.n_dv > out.cap_dv))
                        __builtin_trap();
                if (e != 0 && (out.n_values != 0 || out.n_dv != 0))
                        __builtin_trap();      /* a failed event moves nothing */
        }
        /* the same bytes as an Event body directly */
        struct columns_out o2 = { values, 0, 16, dv, 0, 4 };
        (void)columns_event_decode(p, n, 7, &row, &o2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        size_t pos = 0;
        s_record(data, size);
        while (pos < size) {
                const uint8_t *pl;
                size_t pn, fl, need;
                enum columns_stop stop;
                uint32_t stored, computed;
                if (columns_frame_v1(data + pos, size - pos, &pl, &pn, &fl, &stop, &need,
                                     &stored, &computed) <= 0)
                        break;
                s_record(pl, pn);
                pos += fl;
        }
        /* v2, going on past every bad frame the way the package does */
        for (unsigned version = 1; version <= 2; version++) {
                pos = 0;
                while (pos < size) {
                        const uint8_t *pl;
                        size_t pn, fl, need, keep;
                        enum columns_stop stop;
                        uint32_t stored, computed, sender;
                        uint64_t seq;
                        int r = version == 1 ?
                                columns_frame_v1(data + pos, size - pos, &pl, &pn, &fl, &stop,
                                                 &need, &stored, &computed) :
                                columns_frame_v2(data + pos, size - pos, &pl, &pn, &fl, &stop,
                                                 &need, &stored, &computed, &sender, &seq);
                        if (r > 0) {
                                if (fl > size - pos)
                                        __builtin_trap();
                                s_record(pl, pn);
                                pos += fl;
                                continue;
                        }
                        long q = columns_resync(version, data, size, pos + 1, &keep, &need);
                        if (q < 0) {
                                if (keep > size)
                                        __builtin_trap();
                                break;
                        }
                        if ((size_t)q <= pos || (size_t)q >= size)
                                __builtin_trap();
                        r = version == 1 ?
                                columns_frame_v1(data + q, size - (size_t)q, &pl, &pn, &fl, &stop,
                                                 &need, &stored, &computed) :
                                columns_frame_v2(data + q, size - (size_t)q, &pl, &pn, &fl, &stop,
                                                 &need, &stored, &computed, &sender, &seq);
                        if (r <= 0)
                                __builtin_trap();       /* resync found no good frame */
                        pos = (size_t)q;
                }
        }
        return 0;
}
