/* config: darkdaqd's configuration file (INI, parsed by Debian's libinih):
 * builder settings, the tagger's cuts and beams, per-tag prescales.  Every
 * key has a documented default; an unknown key or a bad value is an error
 * that names the file, the line and the key. */
#ifndef DARKDAQ_CONFIG_H
#define DARKDAQ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "builder.h"
#include "physics_config.h"

struct darkdaq_config {
        struct builder_config builder;
        bool sources_given;             /* [builder] sources was set */
        struct physics_config physics;
        char *text;                     /* the file as read ("" for defaults) */
};

/* Fills cfg with every default. */
void config_default(struct darkdaq_config *cfg);

/* Loads the INI file at path over the defaults.  Returns 0, -errno when the
 * file cannot be read, or -EINVAL for bad content; err then says
 * "PATH:LINE: ..." naming the key.  cfg->text is allocated (config_clear). */
int config_load(struct darkdaq_config *cfg, const char *path, char *err, size_t errlen);

/* Same, from a string (tests); name appears in messages. */
int config_load_string(struct darkdaq_config *cfg, const char *text, const char *name,
                       char *err, size_t errlen);

void config_clear(struct darkdaq_config *cfg);

/* Writes the documentation of every key with its default to out. */
void config_print_defaults(FILE *out);

#endif
