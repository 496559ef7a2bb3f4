/* SPDX-License-Identifier: Apache-2.0 */
/* config_scan: one pass over the lines, each copied into the text for
 * libinih (trimmed) or blanked; every section and key goes into one table,
 * hashed by (section, key), which finds repeats and answers the line of a
 * key for messages that only the whole file can give. */
#include "config_scan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A section header (key_len 0, key_off 0) or a key, as offsets into the
 * trimmed text. */
struct entry {
        uint32_t sec_off, sec_len;
        uint32_t key_off, key_len;
        unsigned line;
};

struct config_scan {
        char *text;                     /* for libinih: NUL-terminated */
        struct entry *e;                /* every section and key, in file order */
        size_t n, cap;
        uint32_t *slot;                 /* hash table of entry index + 1; 0: empty */
        size_t n_slots;                 /* a power of two, > 2 * cap */
        unsigned lines;
};

static int s_fail(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static uint64_t s_hash(const char *sec, size_t sec_len, const char *key, size_t key_len)
{
        uint64_t h = 0xcbf29ce484222325ull;
        for (size_t i = 0; i < sec_len; i++)
                h = (h ^ (unsigned char)sec[i]) * 0x100000001b3ull;
        h = (h ^ 0x100) * 0x100000001b3ull;     /* no byte: separates section and key */
        for (size_t i = 0; i < key_len; i++)
                h = (h ^ (unsigned char)key[i]) * 0x100000001b3ull;
        return h;
}

/* The slot holding (sec, key), or the empty slot where it would go. */
static uint32_t *s_slot(const config_scan_t *s, const char *sec, size_t sec_len, const char *key,
                        size_t key_len)
{
        size_t i = s_hash(sec, sec_len, key, key_len) & (s->n_slots - 1);
        for (;; i = (i + 1) & (s->n_slots - 1)) {
                uint32_t v = s->slot[i];
                if (!v)
                        return &s->slot[i];
                const struct entry *e = &s->e[v - 1];
                if (e->sec_len == sec_len && e->key_len == key_len &&
                    !memcmp(s->text + e->sec_off, sec, sec_len) &&
                    !memcmp(s->text + e->key_off, key, key_len))
                        return &s->slot[i];
        }
}

static bool s_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r';
}

/* Takes one line (start..end, no newline) at line `line`, copying what
 * libinih should see to *out.  sec: the current section (offsets into the
 * text), updated by a header; keys: keys seen in it, so far. */
static int s_line(config_scan_t *s, const char *p, const char *end, unsigned line, char **out,
                  struct entry *sec, size_t *keys, unsigned *ret_line, char *err,
                  size_t errlen)
{
        while (p < end && s_space(*p))
                p++;
        while (end > p && s_space(end[-1]))
                end--;
        *ret_line = line;
        if (p == end || *p == '#' || *p == ';')
                return 0;                       /* blank or comment: libinih sees a blank line */
        size_t n = (size_t)(end - p);
        if (n > CONFIG_SCAN_MAX_LINE)
                return s_fail(err, errlen, "line of %zu characters: at most %d outside "
                              "comments", n, CONFIG_SCAN_MAX_LINE);
        uint32_t at = (uint32_t)(*out - s->text);
        memcpy(*out, p, n);
        *out += n;
        if (*p == '[') {
                const char *close = memchr(p, ']', n);
                if (!close)
                        return s_fail(err, errlen, "section header without \"]\"");
                if (close + 1 != end)
                        return s_fail(err, errlen, "text after \"]\" of [%.*s]: \"%.*s\"",
                                      (int)(close - p - 1), p + 1, (int)(end - close - 1),
                                      close + 1);
                if (close == p + 1)
                        return s_fail(err, errlen, "empty section name \"[]\"");
                if (sec->line && !*keys)
                        goto no_keys;
                uint32_t *slot = s_slot(s, p + 1, (size_t)(close - p - 1), "", 0);
                if (*slot)
                        return s_fail(err, errlen, "section [%.*s] again (first on line %u): "
                                      "each section is one block", (int)(close - p - 1), p + 1,
                                      s->e[*slot - 1].line);
                *sec = (struct entry){ .sec_off = at + 1, .sec_len = (uint32_t)(close - p - 1),
                                       .line = line };
                s->e[s->n++] = *sec;
                *slot = (uint32_t)s->n;
                *keys = 0;
                return 0;
        }
        const char *eq = memchr(p, '=', n);
        if (!eq)
                return s_fail(err, errlen, "expected [section] or key = value, not \"%.*s\"",
                              (int)(n < 40 ? n : 40), p);
        const char *kend = eq;
        while (kend > p && s_space(kend[-1]))
                kend--;
        int klen = (int)(kend - p);
        if (!klen)
                return s_fail(err, errlen, "no key before \"=\"");
        if (!sec->line)
                return s_fail(err, errlen, "key \"%.*s\" before any [section]", klen, p);
        for (const char *v = eq + 1; v < end; v++)
                if ((*v == '#' || *v == ';') && s_space(v[-1]))
                        return s_fail(err, errlen, "key \"%.*s\": a comment after the value "
                                      "(\"%.*s\"); comments go on lines of their own", klen,
                                      p, (int)(end - v < 20 ? end - v : 20), v);
        const char *sec_name = s->text + sec->sec_off;
        uint32_t *slot = s_slot(s, sec_name, sec->sec_len, p, (size_t)klen);
        if (*slot)
                return s_fail(err, errlen, "key \"%.*s\" set twice in [%.*s] (first on line %u)",
                              klen, p, (int)sec->sec_len, sec_name, s->e[*slot - 1].line);
        s->e[s->n++] = (struct entry){ .sec_off = sec->sec_off, .sec_len = sec->sec_len,
                                       .key_off = at, .key_len = (uint32_t)klen, .line = line };
        *slot = (uint32_t)s->n;
        ++*keys;
        return 0;
no_keys:
        *ret_line = sec->line;
        return s_fail(err, errlen, "section [%.*s] has no keys", (int)sec->sec_len,
                      s->text + sec->sec_off);
}

int config_scan_new(config_scan_t **ret, const char *text, size_t len, unsigned *ret_line,
                    char *err, size_t errlen)
{
        config_scan_t *s;
        unsigned line = 1;
        int r = 0;

        *ret_line = 1;
        if (len > CONFIG_SCAN_MAX_BYTES)
                return s_fail(err, errlen, "%zu bytes: a configuration holds at most %u", len,
                              CONFIG_SCAN_MAX_BYTES);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)text[i];
                if (c == '\n') {
                        line++;
                } else if (c < 0x20 && c != '\t' && c != '\r') {
                        *ret_line = line;
                        return s_fail(err, errlen, "%s byte 0x%02x: a configuration is text",
                                      c ? "control" : "NUL", c);
                }
        }
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->lines = line;
        s->cap = line;
        for (s->n_slots = 16; s->n_slots <= 2 * s->cap; s->n_slots *= 2)
                ;
        s->text = malloc(len + 1);
        s->e = calloc(s->cap, sizeof *s->e);
        s->slot = calloc(s->n_slots, sizeof *s->slot);
        if (!s->text || !s->e || !s->slot) {
                config_scan_free(s);
                return -ENOMEM;
        }
        const char *p = text, *end = text + len;
        char *out = s->text;
        struct entry sec = { 0 };
        size_t keys = 0;
        if (end - p >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
                p += 3;                         /* a UTF-8 byte-order mark */
        for (line = 1; r == 0 && p <= end; line++) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *le = nl ? nl : end;
                r = s_line(s, p, le, line, &out, &sec, &keys, ret_line, err, errlen);
                if (nl)
                        *out++ = '\n';
                p = le + 1;
        }
        if (r == 0 && sec.line && !keys) {
                *ret_line = sec.line;
                r = s_fail(err, errlen, "section [%.*s] has no keys", (int)sec.sec_len,
                           s->text + sec.sec_off);
        }
        if (r < 0) {
                config_scan_free(s);
                return r;
        }
        *out = '\0';
        *ret = s;
        return 0;
}

config_scan_t *config_scan_free(config_scan_t *s)
{
        if (s) {
                free(s->text);
                free(s->e);
                free(s->slot);
                free(s);
        }
        return NULL;
}

const char *config_scan_text(const config_scan_t *s)
{
        return s->text;
}

unsigned config_scan_line(const config_scan_t *s, const char *section, const char *key)
{
        const uint32_t *slot = s_slot(s, section, strlen(section), key ? key : "",
                                      key ? strlen(key) : 0);
        return *slot ? s->e[*slot - 1].line : 0;
}

unsigned config_scan_lines(const config_scan_t *s)
{
        return s->lines;
}
