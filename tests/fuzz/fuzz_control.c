/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the control command parser on arbitrary bytes: no crash, no read
 * outside the input; an accepted request is one of the five commands with
 * options only where they belong, and deciding it in every state writes a
 * reply that is one JSON object.  An input whose first byte is 0..3 is a
 * message of that many parts (the rest split evenly): any count but one
 * is refused whole, whatever the parts hold. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct control_request rq;
        char err[256], reply[1024];
        /* a copy of exactly size bytes, so that ASan catches any overread */
        uint8_t *buf = malloc(size ? size : 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        size_t n_parts = 1, first = size;
        const uint8_t *part = buf;
        if (size > 0 && data[0] < 4) {
                n_parts = data[0];
                part = buf + 1;
                first = n_parts ? (size - 1) / n_parts : 0;
        }
        err[0] = '\0';
        int r = control_parse_parts(part, first, n_parts, &rq, err, sizeof err);
        if (n_parts != 1 && r != -EINVAL)
                abort();
        if (r == 0) {
                if ((unsigned)rq.cmd > CONTROL_RESET)
                        abort();
                if (rq.run_given && rq.cmd != CONTROL_START)
                        abort();
                if (rq.text && rq.cmd != CONTROL_STATUS)
                        abort();
                if (rq.force && rq.cmd != CONTROL_START)
                        abort();
                for (int st = CONTROL_IDLE; st <= CONTROL_ERROR; st++) {
                        control_t c;
                        uint32_t run = 0;
                        control_init(&c);
                        c.state = (enum control_state)st;
                        c.had_run = size & 1;   /* with and without a last run */
                        c.run = c.had_run ? 7 : 0;
                        reply[0] = '\0';
                        enum control_action a = control_decide(&c, &rq, &run, reply, sizeof reply);
                        /* run numbers only go up unless forced */
                        if (a == CONTROL_DO_START && c.had_run && run <= c.run && !rq.force)
                                abort();
                        if (a == CONTROL_NOTHING) {
                                size_t n = strlen(reply);
                                if (n < 2 || reply[0] != '{' || reply[n - 1] != '}')
                                        abort();
                        }
                }
        } else if (strlen(err) == 0) {
                abort();
        }
        free(buf);
        return 0;
}
