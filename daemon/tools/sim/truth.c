/* SPDX-License-Identifier: Apache-2.0 */
/* sim_truth: JSON text for truth.jsonl.  Strings are fixed identifiers of
 * the simulator (no escaping needed); numbers round-trip. */
#include "truth.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sim_truth_number(double x, char *buf, size_t size)
{
        if (!isfinite(x)) {
                snprintf(buf, size, "null");
                return buf;
        }
        for (int prec = 1; prec <= 17; prec++) {
                snprintf(buf, size, "%.*g", prec, x);
                if (strtod(buf, NULL) == x)
                        break;
        }
        if (!strpbrk(buf, ".eE") && strlen(buf) + 2 < size)
                strcat(buf, ".0");
        return buf;
}

struct out {
        char *buf;
        size_t size, len;
};

static void s_add(struct out *o, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(o->len < o->size ? o->buf + o->len : NULL,
                      o->len < o->size ? o->size - o->len : 0, fmt, ap);
        va_end(ap);
        if (n > 0)
                o->len += (size_t)n;
}

size_t sim_truth_format(char *buf, size_t size, const struct sim_event *ev, uint32_t trigger,
                        const struct sim_fault *faults, unsigned n_faults)
{
        struct out o = { buf, size, 0 };
        char num[40];

        if (size)
                buf[0] = '\0';
        s_add(&o, "{\"process\": \"%s\"", ev->process);
        for (unsigned i = 0; i < ev->n_params; i++) {
                const struct sim_param *p = &ev->params[i];

                if (p->str)
                        s_add(&o, ", \"%s\": \"%s\"", p->key, p->str);
                else
                        s_add(&o, ", \"%s\": %s", p->key,
                              sim_truth_number(p->value, num, sizeof(num)));
        }
        s_add(&o, ", \"trigger\": %u, \"faults\": [", (unsigned)trigger);
        for (unsigned i = 0; i < n_faults; i++)
                s_add(&o, "%s\"%s:%u\"", i ? ", " : "", sim_fault_name(faults[i].kind),
                      (unsigned)faults[i].board);
        s_add(&o, "]}\n");
        return o.len;
}
