/* SPDX-License-Identifier: Apache-2.0 */
/* driver: the table of drivers by name (the ones in drivers/, from a table
 * the Makefile generates, then those registered at run time) and the reading
 * of a driver's keys into its options struct, by the driver's key table. */
#include "driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const struct driver *s_extra[8];

int driver_register(const struct driver *d)
{
        char err[128];

        if (driver_find(d->name))
                return -EEXIST;
        if (driver_check(d, err, sizeof err) < 0)
                return -EINVAL;
        for (size_t i = 0; i < sizeof s_extra / sizeof s_extra[0]; i++) {
                if (!s_extra[i]) {
                        s_extra[i] = d;
                        return 0;
                }
        }
        return -ENOSPC;
}

const struct driver *driver_at(size_t i)
{
        size_t n = 0;
        while (driver_table[n])
                n++;
        if (i < n)
                return driver_table[i];
        i -= n;
        return i < sizeof s_extra / sizeof s_extra[0] ? s_extra[i] : NULL;
}

const struct driver *driver_find(const char *name)
{
        const struct driver *d;
        for (size_t i = 0; (d = driver_at(i)); i++)
                if (!strcmp(d->name, name))
                        return d;
        return NULL;
}

const struct driver_key *driver_key_find(const struct driver *d, const char *name)
{
        for (const struct driver_key *k = d->keys; k && k->name; k++)
                if (!strcmp(k->name, name))
                        return k;
        return NULL;
}

/* The largest value an integer field of size bytes holds; 0: no such size. */
static uint64_t s_size_max(size_t size)
{
        switch (size) {
        case 1: return UINT8_MAX;
        case 2: return UINT16_MAX;
        case 4: return UINT32_MAX;
        case 8: return UINT64_MAX;
        default: return 0;
        }
}

static void s_store_uint(void *field, size_t size, uint64_t x)
{
        switch (size) {
        case 1: { uint8_t v = (uint8_t)x; memcpy(field, &v, 1); break; }
        case 2: { uint16_t v = (uint16_t)x; memcpy(field, &v, 2); break; }
        case 4: { uint32_t v = (uint32_t)x; memcpy(field, &v, 4); break; }
        default: memcpy(field, &x, 8);
        }
}

/* Hex digits, with or without 0x, in [min, max]. */
static int s_parse_hex(const char *v, uint64_t min, uint64_t max, uint64_t *ret)
{
        char *end;
        errno = 0;
        if (*v == '-')
                return -EINVAL;
        unsigned long long x = strtoull(v, &end, 16);
        if (errno || end == v || *end || x < min || x > max)
                return -EINVAL;
        *ret = x;
        return 0;
}

int driver_key_set(const struct driver_key *k, void *options, const char *value)
{
        void *field = (unsigned char *)options + k->offset;
        uint64_t x;
        double f;
        bool b;

        switch (k->type) {
        case DRIVER_KEY_UINT:
                if (config_parse_u64(value, k->min, k->max, &x) < 0 || (k->step && x % k->step))
                        return -EINVAL;
                s_store_uint(field, k->size, x);
                return 0;
        case DRIVER_KEY_HEX:
                if (s_parse_hex(value, k->min, k->max, &x) < 0)
                        return -EINVAL;
                s_store_uint(field, k->size, x);
                return 0;
        case DRIVER_KEY_DOUBLE:
                if (config_parse_double(value, k->fmin, k->fmax, &f) < 0)
                        return -EINVAL;
                memcpy(field, &f, sizeof f);
                return 0;
        case DRIVER_KEY_BOOL:
                if (config_parse_bool(value, &b) < 0)
                        return -EINVAL;
                memcpy(field, &b, sizeof b);
                return 0;
        case DRIVER_KEY_STRING:
                if (k->charset && strspn(value, k->charset) != strlen(value))
                        return -EINVAL;
                return config_parse_str(value, field, k->size);
        }
        return -EINVAL;
}

int driver_options_default(const struct driver *d, void *options)
{
        memset(options, 0, d->options_size);
        for (const struct driver_key *k = d->keys; k && k->name; k++)
                if (k->def && driver_key_set(k, options, k->def) < 0)
                        return -EINVAL;
        return 0;
}

const void *driver_option(const struct driver *d, const void *options, const char *name,
                          size_t size)
{
        const struct driver_key *k = d ? driver_key_find(d, name) : NULL;
        if (!k || (size && size != k->size))
                return NULL;
        return (const unsigned char *)options + k->offset;
}

/* Why key k of d cannot be, or NULL. */
static const char *s_key_fault(const struct driver *d, const struct driver_key *k)
{
        if (!k->help)
                return "has no help";
        if (k->offset > d->options_size || k->size > d->options_size - k->offset)
                return "lies outside the options struct";
        switch (k->type) {
        case DRIVER_KEY_UINT:
        case DRIVER_KEY_HEX:
                if (!s_size_max(k->size))
                        return "is an integer of a size other than 1, 2, 4 or 8 bytes";
                if (k->max > s_size_max(k->size) || k->min > k->max)
                        return "has a range its field cannot hold";
                break;
        case DRIVER_KEY_DOUBLE:
                if (k->size != sizeof(double) || !(k->fmin <= k->fmax))
                        return "is a double of another size or with an empty range";
                break;
        case DRIVER_KEY_BOOL:
                if (k->size != sizeof(bool))
                        return "is a bool of another size";
                break;
        case DRIVER_KEY_STRING:
                if (k->size < 2)
                        return "is a string field too small for a character";
                break;
        default:
                return "has no known type";
        }
        return NULL;
}

int driver_check(const struct driver *d, char *err, size_t errlen)
{
        _Alignas(max_align_t) unsigned char scratch[DRIVER_OPTIONS_MAX];
        size_t n = 0;

        if (!d->name || !d->name[0] || strlen(d->name) >= DRIVER_NAME_MAX) {
                snprintf(err, errlen, "driver \"%s\": a name of 1..%d characters is needed",
                         d->name ? d->name : "", DRIVER_NAME_MAX - 1);
                return -EINVAL;
        }
        if (d->options_size > DRIVER_OPTIONS_MAX) {
                snprintf(err, errlen, "driver \"%s\": options of %zu bytes, more than %d",
                         d->name, d->options_size, DRIVER_OPTIONS_MAX);
                return -EINVAL;
        }
        for (const struct driver_key *k = d->keys; k && k->name; k++, n++) {
                const char *why = n == DRIVER_KEYS_MAX ? "is one key too many" : s_key_fault(d, k);
                for (const struct driver_key *o = d->keys; !why && o != k; o++)
                        if (!strcmp(o->name, k->name))
                                why = "is there twice";
                if (!why && k->def && driver_key_set(k, scratch, k->def) < 0)
                        why = "has a default that does not parse";
                if (why) {
                        snprintf(err, errlen, "driver \"%s\": key \"%s\" %s", d->name, k->name,
                                 why);
                        return -EINVAL;
                }
        }
        return 0;
}
