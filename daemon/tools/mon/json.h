/* SPDX-License-Identifier: Apache-2.0 */
/* json: a small reader of JSON text into a tree, enough for darkdaqd's
 * status reply: objects, arrays, strings (\uXXXX kept only below 0x80,
 * others become '?'), numbers (non-negative integers also kept exactly as
 * uint64), true, false, null.  Nesting depth is bounded.  Pure. */
#ifndef DARKDAQ_MON_JSON_H
#define DARKDAQ_MON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

typedef struct json json_t;
struct json {
        enum json_type type;
        char *key;                      /* member name inside an object, else NULL */
        double num;                     /* JSON_NUMBER */
        uint64_t u64;                   /* JSON_NUMBER that is an integer 0..2^64-1 */
        bool is_u64;                    /* u64 is exact */
        bool b;                         /* JSON_BOOL */
        char *str;                      /* JSON_STRING, NUL-terminated */
        json_t *child;                  /* first element or member */
        json_t *next;                   /* next sibling */
        size_t n;                       /* elements or members */
};

/* Parses len bytes of text.  Returns the tree, or NULL (out of memory or
 * not JSON) with *ret_offset (if given) at the byte where it stopped. */
json_t *json_parse(const char *text, size_t len, size_t *ret_offset);
/* Accepts NULL.  Returns NULL. */
json_t *json_free(json_t *j);

/* The member key of object j, or NULL (also when j is NULL or no object). */
const json_t *json_get(const json_t *j, const char *key);
/* A member by a dotted path: json_path(j, "builder.late"). */
const json_t *json_path(const json_t *j, const char *path);
/* Element i of array j, or NULL. */
const json_t *json_at(const json_t *j, size_t i);
/* The value as a number / counter / string / bool, or dflt when j is NULL
 * or of another type. */
double json_number(const json_t *j, double dflt);
uint64_t json_u64(const json_t *j, uint64_t dflt);
const char *json_string(const json_t *j, const char *dflt);
bool json_bool(const json_t *j, bool dflt);

#endif
