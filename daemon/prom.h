/* SPDX-License-Identifier: Apache-2.0 */
/* prom: a writer of the Prometheus text exposition format (version 0.0.4)
 * into a growable buffer: HELP and TYPE lines, counter and gauge samples
 * with labels, label values and help text escaped.  Pure: no I/O, no
 * locking; one writer per thread.
 *
 *     prom_family(p, "darkdaq_source_fragments_total", PROM_COUNTER,
 *                 "Fragments read, per source.");
 *     for (each source)
 *             prom_u64(p, s->fragments, "source", s->name, NULL);
 *
 * writes
 *     # HELP darkdaq_source_fragments_total Fragments read, per source.
 *     # TYPE darkdaq_source_fragments_total counter
 *     darkdaq_source_fragments_total{source="klm"} 1234
 *
 * Samples belong to the family named last, so a family's samples are always
 * together.  A mistake (a bad metric or label name, a family named twice, a
 * sample before any family) or running out of memory is remembered: the
 * text is then incomplete and prom_error() says why; the caller checks once
 * at the end.  Label sets within a family are not checked for repeats. */
#ifndef DARKDAQ_PROM_H
#define DARKDAQ_PROM_H

#include <stddef.h>
#include <stdint.h>

typedef struct prom prom_t;

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_UNTYPED };

/* An empty writer, or NULL (errno ENOMEM). */
prom_t *prom_new(void);
/* Accepts NULL; returns NULL. */
prom_t *prom_free(prom_t *p);
/* Empties the text, forgets the families and the error; keeps the memory. */
void prom_reset(prom_t *p);

/* The text so far (NUL-terminated; its length in *ret_len if not NULL). */
const char *prom_text(const prom_t *p, size_t *ret_len);
/* 0, or the first error: -ENOMEM, or -EINVAL for a mistake of the caller's. */
int prom_error(const prom_t *p);
/* Why prom_error() is not 0 ("" when it is), e.g. "bad label name \"1x\"". */
const char *prom_error_text(const prom_t *p);

/* Starts family name ([a-zA-Z_:][a-zA-Z0-9_:]*): writes its HELP line (help
 * may be NULL: none) and its TYPE line.  A counter's name should end in
 * _total. */
void prom_family(prom_t *p, const char *name, enum prom_type type, const char *help);

/* A sample of the current family: value, then label name/value pairs ending
 * with NULL.  Label names: [a-zA-Z_][a-zA-Z0-9_]*, not starting "__";
 * values: any UTF-8 text (backslash, double quote and newline escaped). */
void prom_u64(prom_t *p, uint64_t value, ...) __attribute__((sentinel));
void prom_i64(prom_t *p, int64_t value, ...) __attribute__((sentinel));
/* NaN, +Inf and -Inf are written as Prometheus spells them; other values
 * in the shortest form that reads back exactly. */
void prom_double(prom_t *p, double value, ...) __attribute__((sentinel));

/* Same, with n_labels pairs in labels[2 * i] (name), labels[2 * i + 1]
 * (value): for label sets built at run time. */
void prom_u64_labels(prom_t *p, uint64_t value, const char *const *labels, size_t n_labels);
void prom_double_labels(prom_t *p, double value, const char *const *labels, size_t n_labels);

#endif
