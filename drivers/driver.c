/* driver: the table of drivers by name. */
#include "driver.h"

#include <errno.h>
#include <string.h>

static const struct driver *const s_drivers[] = { &driver_file, &driver_sim, &driver_pcie,
                                                   &driver_usb };

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

const struct driver *driver_find(const char *name)
{
        for (size_t i = 0; i < sizeof s_extra / sizeof s_extra[0] && s_extra[i]; i++)
                if (!strcmp(s_extra[i]->name, name))
                        return s_extra[i];
        for (size_t i = 0; i < sizeof s_drivers / sizeof s_drivers[0]; i++)
                if (!strcmp(s_drivers[i]->name, name))
                        return s_drivers[i];
        return NULL;
}
