/* SPDX-License-Identifier: Apache-2.0 */
/* json: recursive descent, depth bounded by JSON_MAX_DEPTH so that hostile
 * text cannot exhaust the stack. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH  32

struct cur {
        const char *p, *end, *start;
};

static void s_ws(struct cur *c)
{
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
                c->p++;
}

static bool s_lit(struct cur *c, const char *w)
{
        size_t n = strlen(w);
        if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n))
                return false;
        c->p += n;
        return true;
}

static int s_hex(char ch)
{
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

/* A string at c->p (the opening quote); a malloc'd copy. */
static char *s_string(struct cur *c)
{
        const char *q = c->p + 1;
        size_t cap = 0;
        char *out, *o;

        while (q < c->end && *q != '"') {
                if (*q == '\\')
                        q++;
                q++;
                cap++;
        }
        if (q >= c->end)
                return NULL;
        out = o = malloc(cap + 1);
        if (!out)
                return NULL;
        for (c->p++; *c->p != '"'; ) {
                char ch = *c->p++;
                if ((unsigned char)ch < 32)
                        goto bad;
                if (ch == '\\') {
                        ch = *c->p++;
                        switch (ch) {
                        case '"': case '\\': case '/': break;
                        case 'b': ch = '\b'; break;
                        case 'f': ch = '\f'; break;
                        case 'n': ch = '\n'; break;
                        case 'r': ch = '\r'; break;
                        case 't': ch = '\t'; break;
                        case 'u': {
                                int v = 0;
                                if (c->end - c->p < 4)
                                        goto bad;
                                for (int i = 0; i < 4; i++) {
                                        int h = s_hex(*c->p++);
                                        if (h < 0)
                                                goto bad;
                                        v = v * 16 + h;
                                }
                                ch = v < 0x80 && v > 0 ? (char)v : '?';
                                break;
                        }
                        default:
                                goto bad;
                        }
                }
                *o++ = ch;
        }
        c->p++;
        *o = '\0';
        return out;
bad:
        free(out);
        return NULL;
}

static json_t *s_value(struct cur *c, int depth);

static bool s_number(struct cur *c, json_t *j)
{
        const char *s = c->p;
        char buf[64], *end;
        size_t n;

        while (c->p < c->end && strchr("+-0123456789.eE", *c->p))
                c->p++;
        n = (size_t)(c->p - s);
        if (!n || n >= sizeof buf)
                return false;
        memcpy(buf, s, n);
        buf[n] = '\0';
        j->num = strtod(buf, &end);
        if (*end)
                return false;
        if (strspn(buf, "0123456789") == n && n <= 20) {
                unsigned long long v = strtoull(buf, &end, 10);
                j->u64 = v;
                j->is_u64 = !*end && (n < 20 || strcmp(buf, "18446744073709551615") <= 0);
        }
        j->type = JSON_NUMBER;
        return true;
}

static bool s_container(struct cur *c, json_t *j, int depth, bool obj)
{
        json_t **tail = &j->child;
        char close = obj ? '}' : ']';

        j->type = obj ? JSON_OBJECT : JSON_ARRAY;
        c->p++;
        s_ws(c);
        if (c->p < c->end && *c->p == close) {
                c->p++;
                return true;
        }
        for (;;) {
                char *key = NULL;
                s_ws(c);
                if (obj) {
                        if (c->p >= c->end || *c->p != '"' || !(key = s_string(c)))
                                return false;
                        s_ws(c);
                        if (c->p >= c->end || *c->p != ':') {
                                free(key);
                                return false;
                        }
                        c->p++;
                }
                json_t *v = s_value(c, depth + 1);
                if (!v) {
                        free(key);
                        return false;
                }
                v->key = key;
                *tail = v;
                tail = &v->next;
                j->n++;
                s_ws(c);
                if (c->p < c->end && *c->p == ',') {
                        c->p++;
                        continue;
                }
                if (c->p < c->end && *c->p == close) {
                        c->p++;
                        return true;
                }
                return false;
        }
}

static json_t *s_value(struct cur *c, int depth)
{
        json_t *j;
        bool ok;

        if (depth > JSON_MAX_DEPTH)
                return NULL;
        s_ws(c);
        if (c->p >= c->end || !(j = calloc(1, sizeof *j)))
                return NULL;
        switch (*c->p) {
        case '{':
                ok = s_container(c, j, depth, true);
                break;
        case '[':
                ok = s_container(c, j, depth, false);
                break;
        case '"':
                j->type = JSON_STRING;
                ok = (j->str = s_string(c)) != NULL;
                break;
        case 't':
                j->type = JSON_BOOL;
                ok = j->b = s_lit(c, "true");
                break;
        case 'f':
                j->type = JSON_BOOL;
                ok = s_lit(c, "false");
                break;
        case 'n':
                ok = s_lit(c, "null");
                break;
        default:
                ok = s_number(c, j);
                break;
        }
        if (!ok)
                return json_free(j);
        return j;
}

json_t *json_parse(const char *text, size_t len, size_t *ret_offset)
{
        struct cur c = { text, text + len, text };
        json_t *j = s_value(&c, 0);

        if (j) {
                s_ws(&c);
                if (c.p != c.end)
                        j = json_free(j);
        }
        if (ret_offset)
                *ret_offset = (size_t)(c.p - c.start);
        return j;
}

json_t *json_free(json_t *j)
{
        while (j) {
                json_t *next = j->next;
                json_free(j->child);
                free(j->key);
                free(j->str);
                free(j);
                j = next;
        }
        return NULL;
}

const json_t *json_get(const json_t *j, const char *key)
{
        if (!j || j->type != JSON_OBJECT)
                return NULL;
        for (const json_t *m = j->child; m; m = m->next)
                if (!strcmp(m->key, key))
                        return m;
        return NULL;
}

const json_t *json_path(const json_t *j, const char *path)
{
        char part[64];

        while (j && *path) {
                size_t n = strcspn(path, ".");
                if (n >= sizeof part)
                        return NULL;
                memcpy(part, path, n);
                part[n] = '\0';
                j = json_get(j, part);
                path += n + (path[n] == '.');
        }
        return j;
}

const json_t *json_at(const json_t *j, size_t i)
{
        if (!j || j->type != JSON_ARRAY)
                return NULL;
        const json_t *e = j->child;
        while (e && i--)
                e = e->next;
        return e;
}

double json_number(const json_t *j, double dflt)
{
        return j && j->type == JSON_NUMBER ? j->num : dflt;
}

uint64_t json_u64(const json_t *j, uint64_t dflt)
{
        if (!j || j->type != JSON_NUMBER)
                return dflt;
        if (j->is_u64)
                return j->u64;
        return j->num >= 0 && j->num < 18446744073709551616.0 ? (uint64_t)j->num : dflt;
}

const char *json_string(const json_t *j, const char *dflt)
{
        return j && j->type == JSON_STRING ? j->str : dflt;
}

bool json_bool(const json_t *j, bool dflt)
{
        return j && j->type == JSON_BOOL ? j->b : dflt;
}
