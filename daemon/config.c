/* config: INI sections [builder], [physics] and [prescale] over defaults.
 * libinih does the parsing; this module only maps keys to fields and
 * checks values. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "tagger.h"

struct load_ctx {
        struct darkdaq_config *cfg;
        char msg[256];                  /* the first error, without its line */
};

void config_default(struct darkdaq_config *cfg)
{
        memset(cfg, 0, sizeof *cfg);
        builder_config_default(&cfg->builder);
        physics_config_default(&cfg->physics);
}

void config_clear(struct darkdaq_config *cfg)
{
        free(cfg->text);
        cfg->text = NULL;
}

static int s_u64(const char *v, uint64_t max, uint64_t *ret)
{
        char *end;
        errno = 0;
        if (*v == '-' || *v == '\0')
                return -EINVAL;
        unsigned long long x = strtoull(v, &end, 0);
        if (errno || *end || x > max)
                return -EINVAL;
        *ret = x;
        return 0;
}

/* "0,1,2,3" or "0-3,5" */
static int s_sources(const char *v, uint64_t *ret)
{
        uint64_t mask = 0;
        const char *p = v;
        while (*p) {
                char *end;
                unsigned long a = strtoul(p, &end, 10), b;
                if (end == p || a > FRAG_MAX_SOURCE)
                        return -EINVAL;
                b = a;
                p = end;
                if (*p == '-') {
                        b = strtoul(p + 1, &end, 10);
                        if (end == p + 1 || b > FRAG_MAX_SOURCE || b < a)
                                return -EINVAL;
                        p = end;
                }
                for (unsigned long s = a; s <= b; s++)
                        mask |= 1ull << s;
                while (*p == ' ')
                        p++;
                if (*p == ',')
                        p++;
                else if (*p)
                        return -EINVAL;
                while (*p == ' ')
                        p++;
        }
        if (!mask)
                return -EINVAL;
        *ret = mask;
        return 0;
}

static int s_builder_key(struct darkdaq_config *cfg, const char *key, const char *value)
{
        struct builder_config *b = &cfg->builder;
        uint64_t x;

        if (!strcmp(key, "sources")) {
                if (s_sources(value, &b->expected) < 0)
                        return -EINVAL;
                cfg->sources_given = true;
                return 0;
        }
        if (!strcmp(key, "build_timeout_ms")) {
                if (s_u64(value, UINT32_MAX, &x) < 0)
                        return -EINVAL;
                b->build_timeout_ms = (uint32_t)x;
                return 0;
        }
        if (!strcmp(key, "max_open_events")) {
                if (s_u64(value, 1u << 24, &x) < 0 || x == 0)
                        return -EINVAL;
                b->max_open_events = (uint32_t)x;
                return 0;
        }
        if (!strcmp(key, "max_open_bytes")) {
                if (s_u64(value, UINT64_MAX, &x) < 0 || x < FRAG_MAX_BYTES)
                        return -EINVAL;
                b->max_open_bytes = x;
                return 0;
        }
        if (!strcmp(key, "time_tolerance_ticks")) {
                if (s_u64(value, UINT64_MAX, &x) < 0)
                        return -EINVAL;
                b->time_tolerance_ticks = x;
                return 0;
        }
        return -ENOENT;
}

static int s_handler(void *user, const char *section, const char *key, const char *value)
{
        struct load_ctx *c = user;
        int r;

        if (!strcmp(section, "builder")) {
                r = s_builder_key(c->cfg, key, value);
        } else if (!strcmp(section, "physics")) {
                r = physics_config_set(&c->cfg->physics, key, value);
        } else if (!strcmp(section, "prescale")) {
                char full[128];
                snprintf(full, sizeof full, "prescale.%s", key);
                r = physics_config_set(&c->cfg->physics, full, value);
        } else {
                if (!c->msg[0])
                        snprintf(c->msg, sizeof c->msg, "unknown section [%s] (key \"%s\"); "
                                 "sections are [builder], [physics], [prescale]", section, key);
                return 0;
        }
        if (r == 0)
                return 1;
        if (!c->msg[0]) {
                if (r == -ENOENT)
                        snprintf(c->msg, sizeof c->msg, "unknown key \"%s\" in [%s]", key, section);
                else
                        snprintf(c->msg, sizeof c->msg, "bad value \"%s\" for key \"%s\" in [%s]",
                                 value, key, section);
        }
        return 0;
}

int config_load_string(struct darkdaq_config *cfg, const char *text, const char *name,
                       char *err, size_t errlen)
{
        struct load_ctx c = { .cfg = cfg };
        int line = ini_parse_string(text, s_handler, &c);

        if (line != 0) {
                snprintf(err, errlen, "%s:%d: %s", name, line,
                         c.msg[0] ? c.msg : "syntax error (expected [section] or key = value)");
                return -EINVAL;
        }
        free(cfg->text);
        cfg->text = strdup(text);
        return cfg->text ? 0 : -ENOMEM;
}

int config_load(struct darkdaq_config *cfg, const char *path, char *err, size_t errlen)
{
        FILE *f = fopen(path, "re");
        char *text = NULL;
        size_t len = 0;
        int r;

        if (!f) {
                r = -errno;
                snprintf(err, errlen, "%s: cannot open configuration: %s", path, strerror(errno));
                return r;
        }
        FILE *mem = open_memstream(&text, &len);
        if (!mem) {
                fclose(f);
                return -ENOMEM;
        }
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
                fwrite(buf, 1, n, mem);
        r = ferror(f) ? -EIO : 0;
        fclose(f);
        fclose(mem);
        if (r < 0) {
                snprintf(err, errlen, "%s: read error", path);
                free(text);
                return r;
        }
        r = config_load_string(cfg, text, path, err, errlen);
        free(text);
        return r;
}

void config_print_defaults(FILE *out)
{
        struct builder_config b;
        builder_config_default(&b);
        fprintf(out, "[builder]\n"
                "# sources = 0,1,2,3      expected source ids (replay: every source found)\n"
                "build_timeout_ms = %" PRIu32 "\n"
                "max_open_events = %" PRIu32 "\n"
                "max_open_bytes = %" PRIu64 "\n"
                "time_tolerance_ticks = %" PRIu64 "\n\n[physics]\n",
                b.build_timeout_ms, b.max_open_events, b.max_open_bytes, b.time_tolerance_ticks);
        struct physics_config pc;
        physics_config_default(&pc);
        bool in_prescale = false;
        for (size_t i = 0; i < physics_config_key_count(); i++) {
                const struct physics_config_key *k = physics_config_key_at(i);
                char val[64];
                const char *name = k->name;
                if (!strncmp(name, "prescale.", 9)) {
                        if (!in_prescale)
                                fputs("\n[prescale]\n", out);
                        in_prescale = true;
                        name += 9;
                }
                fprintf(out, "%s = %s", name, physics_config_format(&pc, k, val, sizeof val));
                fprintf(out, "%*s# %s%s%s\n", (int)(40 - strlen(name) - strlen(val) > 0 ?
                                                     40 - strlen(name) - strlen(val) : 1), "",
                        k->unit && *k->unit ? k->unit : "", k->unit && *k->unit ? ", " : "",
                        k->help ? k->help : "");
        }
}
