/* driver: the table of drivers by name. */
#include "driver.h"

#include <string.h>

static const struct driver *const s_drivers[] = { &driver_file, &driver_sim, &driver_pcie,
                                                   &driver_usb };

const struct driver *driver_find(const char *name)
{
        for (size_t i = 0; i < sizeof s_drivers / sizeof s_drivers[0]; i++)
                if (!strcmp(s_drivers[i]->name, name))
                        return s_drivers[i];
        return NULL;
}
