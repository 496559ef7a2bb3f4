/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_columns: the Python package's decoder (proto/darkdaq/columns.c) on
 * arbitrary bytes, framed as run file v1 and also taken as one Record:
 * no crash, no read outside the input, rows only within the room given. */
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
        return 0;
}
