/* SPDX-License-Identifier: Apache-2.0 */
/* prom: Prometheus text exposition written into a growable buffer.  Owns the
 * buffer and the list of families written; no I/O, no locking. */
#include "prom.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROM_MAX_LABELS 16      /* label pairs of one sample through the variadic calls */

struct prom {
        char *buf;                      /* the text, NUL-terminated */
        size_t len;                     /* bytes of text */
        size_t cap;                     /* bytes allocated */
        char **families;                /* names of the families written */
        size_t n_families;              /* entries in families */
        size_t cap_families;            /* allocated entries */
        int error;                      /* first error, 0 if none */
        char error_text[128];           /* what it was */
};

static void s_fail(prom_t *p, int error, const char *fmt, const char *what)
{
        if (p->error)
                return;
        p->error = error;
        snprintf(p->error_text, sizeof(p->error_text), fmt, what);
}

static bool s_reserve(prom_t *p, size_t more)
{
        size_t cap;
        char *b;

        if (p->error)
                return false;
        if (p->len + more + 1 <= p->cap)
                return true;
        cap = p->cap ? p->cap : 4096;
        while (cap < p->len + more + 1)
                cap *= 2;
        b = realloc(p->buf, cap);
        if (!b) {
                s_fail(p, -ENOMEM, "%s", "out of memory");
                return false;
        }
        p->buf = b;
        p->cap = cap;
        return true;
}

static void s_put(prom_t *p, const char *s, size_t n)
{
        if (!s_reserve(p, n))
                return;
        memcpy(p->buf + p->len, s, n);
        p->len += n;
        p->buf[p->len] = '\0';
}

static void s_puts(prom_t *p, const char *s)
{
        s_put(p, s, strlen(s));
}

/* Escapes backslash and newline, and the double quote when quote is set. */
static void s_put_escaped(prom_t *p, const char *s, bool quote)
{
        const char *run = s;

        for (; *s; s++) {
                const char *esc = NULL;
                if (*s == '\\')
                        esc = "\\\\";
                else if (*s == '\n')
                        esc = "\\n";
                else if (quote && *s == '"')
                        esc = "\\\"";
                if (!esc)
                        continue;
                s_put(p, run, (size_t)(s - run));
                s_puts(p, esc);
                run = s + 1;
        }
        s_put(p, run, (size_t)(s - run));
}

static bool s_valid_name(const char *s, bool colon_ok)
{
        if (!s || !*s)
                return false;
        for (size_t i = 0; s[i]; i++) {
                char c = s[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                          (colon_ok && c == ':') || (i > 0 && c >= '0' && c <= '9');
                if (!ok)
                        return false;
        }
        return true;
}

prom_t *prom_new(void)
{
        prom_t *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        if (!s_reserve(p, 0)) {
                free(p);
                errno = ENOMEM;
                return NULL;
        }
        p->buf[0] = '\0';
        return p;
}

static void s_forget_families(prom_t *p)
{
        for (size_t i = 0; i < p->n_families; i++)
                free(p->families[i]);
        p->n_families = 0;
}

prom_t *prom_free(prom_t *p)
{
        if (!p)
                return NULL;
        s_forget_families(p);
        free(p->families);
        free(p->buf);
        free(p);
        return NULL;
}

void prom_reset(prom_t *p)
{
        s_forget_families(p);
        p->len = 0;
        if (p->buf)
                p->buf[0] = '\0';
        p->error = 0;
        p->error_text[0] = '\0';
}

const char *prom_text(const prom_t *p, size_t *ret_len)
{
        if (ret_len)
                *ret_len = p->len;
        return p->buf ? p->buf : "";
}

int prom_error(const prom_t *p)
{
        return p->error;
}

const char *prom_error_text(const prom_t *p)
{
        return p->error_text;
}

void prom_family(prom_t *p, const char *name, enum prom_type type, const char *help)
{
        static const char *const type_names[] = { "counter", "gauge", "untyped" };
        char *copy;

        if (p->error)
                return;
        if (!s_valid_name(name, true)) {
                s_fail(p, -EINVAL, "bad metric name \"%s\"", name ? name : "(null)");
                return;
        }
        if ((unsigned)type > PROM_UNTYPED) {
                s_fail(p, -EINVAL, "bad type of family \"%s\"", name);
                return;
        }
        for (size_t i = 0; i < p->n_families; i++)
                if (strcmp(p->families[i], name) == 0) {
                        s_fail(p, -EINVAL, "family \"%s\" written twice", name);
                        return;
                }
        if (p->n_families == p->cap_families) {
                size_t cap = p->cap_families ? p->cap_families * 2 : 32;
                char **f = realloc(p->families, cap * sizeof(*f));
                if (!f) {
                        s_fail(p, -ENOMEM, "%s", "out of memory");
                        return;
                }
                p->families = f;
                p->cap_families = cap;
        }
        copy = strdup(name);
        if (!copy) {
                s_fail(p, -ENOMEM, "%s", "out of memory");
                return;
        }
        p->families[p->n_families++] = copy;
        if (help) {
                s_puts(p, "# HELP ");
                s_puts(p, name);
                s_puts(p, " ");
                s_put_escaped(p, help, false);
                s_puts(p, "\n");
        }
        s_puts(p, "# TYPE ");
        s_puts(p, name);
        s_puts(p, " ");
        s_puts(p, type_names[type]);
        s_puts(p, "\n");
}

/* Writes "NAME{labels} VALUE\n" for the current family. */
static void s_sample(prom_t *p, const char *value, const char *const *labels, size_t n_labels)
{
        if (p->error)
                return;
        if (p->n_families == 0) {
                s_fail(p, -EINVAL, "%s", "a sample before any family");
                return;
        }
        for (size_t i = 0; i < n_labels; i++) {
                const char *lname = labels[2 * i];
                if (!s_valid_name(lname, false) || strncmp(lname, "__", 2) == 0) {
                        s_fail(p, -EINVAL, "bad label name \"%s\"", lname ? lname : "(null)");
                        return;
                }
                if (!labels[2 * i + 1]) {
                        s_fail(p, -EINVAL, "label \"%s\" has no value", lname);
                        return;
                }
        }
        s_puts(p, p->families[p->n_families - 1]);
        if (n_labels) {
                s_puts(p, "{");
                for (size_t i = 0; i < n_labels; i++) {
                        if (i)
                                s_puts(p, ",");
                        s_puts(p, labels[2 * i]);
                        s_puts(p, "=\"");
                        s_put_escaped(p, labels[2 * i + 1], true);
                        s_puts(p, "\"");
                }
                s_puts(p, "}");
        }
        s_puts(p, " ");
        s_puts(p, value);
        s_puts(p, "\n");
}

static void s_format_double(char out[40], double v)
{
        if (isnan(v)) {
                strcpy(out, "NaN");
        } else if (isinf(v)) {
                strcpy(out, v > 0 ? "+Inf" : "-Inf");
        } else {
                snprintf(out, 40, "%.15g", v);
                if (strtod(out, NULL) != v)
                        snprintf(out, 40, "%.17g", v);
        }
}

/* Collects the NULL-terminated name/value pairs of a variadic call. */
static size_t s_collect(prom_t *p, va_list ap, const char *labels[2 * PROM_MAX_LABELS])
{
        size_t n = 0;
        const char *name;

        while ((name = va_arg(ap, const char *))) {
                if (n == PROM_MAX_LABELS) {
                        s_fail(p, -EINVAL, "more than %s label pairs", "16");
                        return 0;
                }
                labels[2 * n] = name;
                labels[2 * n + 1] = va_arg(ap, const char *);
                if (!labels[2 * n + 1]) {
                        s_fail(p, -EINVAL, "label \"%s\" has no value", name);
                        return 0;
                }
                n++;
        }
        return n;
}

/* One sample of the formatted value v with the label pairs of ap. */
static void s_sample_va(prom_t *p, const char *v, va_list ap)
{
        const char *labels[2 * PROM_MAX_LABELS];
        size_t n = s_collect(p, ap, labels);
        s_sample(p, v, labels, n);
}

void prom_u64_labels(prom_t *p, uint64_t value, const char *const *labels, size_t n_labels)
{
        char v[32];

        snprintf(v, sizeof(v), "%" PRIu64, value);
        s_sample(p, v, labels, n_labels);
}

void prom_double_labels(prom_t *p, double value, const char *const *labels, size_t n_labels)
{
        char v[40];

        s_format_double(v, value);
        s_sample(p, v, labels, n_labels);
}

void prom_u64(prom_t *p, uint64_t value, ...)
{
        char v[32];
        va_list ap;

        snprintf(v, sizeof(v), "%" PRIu64, value);
        va_start(ap, value);
        s_sample_va(p, v, ap);
        va_end(ap);
}

void prom_i64(prom_t *p, int64_t value, ...)
{
        char v[32];
        va_list ap;

        snprintf(v, sizeof(v), "%" PRId64, value);
        va_start(ap, value);
        s_sample_va(p, v, ap);
        va_end(ap);
}

void prom_double(prom_t *p, double value, ...)
{
        char v[40];
        va_list ap;

        s_format_double(v, value);
        va_start(ap, value);
        s_sample_va(p, v, ap);
        va_end(ap);
}
