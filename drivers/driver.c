/* driver: the table of drivers by name: the ones in drivers/ (a table the
 * Makefile generates), then those registered at run time. */
#include "driver.h"

#include <errno.h>
#include <string.h>

static const struct driver *s_extra[8];

int driver_register(const struct driver *d)
{
        if (driver_find(d->name))
                return -EEXIST;
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
