/* SPDX-License-Identifier: Apache-2.0 */
/* config: INI sections [daemon], [source.NAME], [builder], [physics] and
 * [prescale] over defaults.  config_scan checks the text first and hands
 * libinih a copy it cannot misread; libinih does the parsing; this module
 * only maps keys to fields and checks values.  Of a source it knows only the driver
 * key: the rest go to the driver's key table (driver.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "auth.h"
#include "config_scan.h"
#include "tagger.h"

#define DEFAULT_BUFFER_BYTES    (256ull << 20)

struct load_ctx {
        struct darkdaq_config *cfg;
        const config_scan_t *scan;      /* the lines of keys, for whole-file checks */
        char msg[256];                  /* the first error, without its line */
        bool busy_high_given, busy_low_given;
};

void config_default(struct darkdaq_config *cfg)
{
        memset(cfg, 0, sizeof *cfg);
        struct daemon_config *d = &cfg->daemon;
        snprintf(d->control, sizeof d->control, "ipc://" CONFIG_RUNTIME_DIR "/control");
        snprintf(d->monitor, sizeof d->monitor, "ipc://" CONFIG_RUNTIME_DIR "/monitor");
        snprintf(d->storage, sizeof d->storage, "ipc://" CONFIG_RUNTIME_DIR "/storage");
        d->sender_id = 1;
        d->storage_buffer_bytes = DEFAULT_BUFFER_BYTES;
        d->busy_high_bytes = DEFAULT_BUFFER_BYTES / 4 * 3;
        d->busy_low_bytes = DEFAULT_BUFFER_BYTES / 4;
        d->stop_timeout_ms = 10000;
        d->silence_warn_ms = 2000;
        d->storage_warn_ms = 5000;
        d->heartbeat_ms = 1000;
        d->monitor_hwm = 1000;
        d->ring_bytes = 4u << 20;
        snprintf(d->metrics, sizeof d->metrics, "127.0.0.1:9464");
        snprintf(d->state_dir, sizeof d->state_dir, "/var/lib/darkdaq/daemon");
        builder_config_default(&cfg->builder);
        physics_config_default(&cfg->physics);
}

uint64_t config_source_boards(const struct source_config *s)
{
        const struct driver *d = driver_find(s->driver);
        return d && d->boards ? d->boards(s->options) : 0;
}

const void *config_source_option(const struct source_config *s, const char *key, size_t size)
{
        return driver_option(driver_find(s->driver), s->options, key, size);
}

uint64_t config_expected_sources(const struct darkdaq_config *cfg)
{
        uint64_t m = 0;
        if (cfg->sources_given)
                return cfg->builder.expected;
        for (size_t i = 0; i < cfg->n_sources; i++) {
                uint64_t b = config_source_boards(&cfg->sources[i]);
                if (!b)
                        return 0;
                m |= b;
        }
        return m;
}

void config_clear(struct darkdaq_config *cfg)
{
        free(cfg->text);
        cfg->text = NULL;
}

int config_parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *ret)
{
        char *end;
        errno = 0;
        if (*v == '-' || *v == '\0')
                return -EINVAL;
        unsigned long long x = strtoull(v, &end, 0);
        if (errno || *end || x < min || x > max)
                return -EINVAL;
        *ret = x;
        return 0;
}

static int s_u64(const char *v, uint64_t max, uint64_t *ret)
{
        return config_parse_u64(v, 0, max, ret);
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

int config_parse_str(const char *v, char *out, size_t size)
{
        size_t n = strlen(v);
        if (n == 0 || n >= size)
                return -EINVAL;
        memcpy(out, v, n + 1);
        return 0;
}

int config_parse_endpoint(const char *v, char *out, size_t size)
{
        if (strncmp(v, "tcp://", 6) && strncmp(v, "ipc://", 6) && strncmp(v, "inproc://", 9))
                return -EINVAL;
        return config_parse_str(v, out, size);
}

int config_parse_bool(const char *v, bool *ret)
{
        if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
                *ret = true;
        else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

int config_parse_double(const char *v, double min, double max, double *ret)
{
        char *end;
        errno = 0;
        double x = strtod(v, &end);
        if (end == v || *end || errno || !(x >= min && x <= max))
                return -EINVAL;
        *ret = x;
        return 0;
}

/* "HOST:PORT" or "[IPV6]:PORT" (resolved when the daemon starts), or "". */
static int s_http_addr(const char *v, char *out, size_t size)
{
        const char *colon = strrchr(v, ':');
        if (!v[0]) {
                out[0] = '\0';
                return 0;
        }
        if (!colon || colon == v || !colon[1] || strspn(colon + 1, "0123456789") !=
            strlen(colon + 1) || atoi(colon + 1) > 65535)
                return -EINVAL;
        return config_parse_str(v, out, size);
}

static int s_daemon_key(struct load_ctx *c, const char *key, const char *value)
{
        struct daemon_config *d = &c->cfg->daemon;
        uint64_t x;

        if (!strcmp(key, "metrics"))
                return s_http_addr(value, d->metrics, sizeof d->metrics);
        if (!strcmp(key, "state_dir"))
                return config_parse_str(value, d->state_dir, sizeof d->state_dir);
        if (!strcmp(key, "control"))
                return config_parse_endpoint(value, d->control, sizeof d->control);
        if (!strcmp(key, "monitor"))
                return config_parse_endpoint(value, d->monitor, sizeof d->monitor);
        if (!strcmp(key, "storage"))
                return config_parse_endpoint(value, d->storage, sizeof d->storage);
        if (!strcmp(key, "insecure"))
                return config_parse_bool(value, &d->insecure);
        if (!strcmp(key, "sender_id")) {
                if (s_u64(value, UINT32_MAX, &x) < 0 || x == 0)
                        return -EINVAL;
                d->sender_id = (uint32_t)x;
                return 0;
        }
        if (!strcmp(key, "storage_buffer_bytes")) {
                if (s_u64(value, 1ull << 40, &x) < 0 || x < (1u << 20))
                        return -EINVAL;
                d->storage_buffer_bytes = x;
                return 0;
        }
        if (!strcmp(key, "busy_high_bytes") || !strcmp(key, "busy_low_bytes")) {
                if (s_u64(value, 1ull << 40, &x) < 0)
                        return -EINVAL;
                if (key[5] == 'h') {
                        d->busy_high_bytes = x;
                        c->busy_high_given = true;
                } else {
                        d->busy_low_bytes = x;
                        c->busy_low_given = true;
                }
                return 0;
        }
        if (!strcmp(key, "heartbeat_ms")) {
                if (s_u64(value, 3600u * 1000, &x) < 0)
                        return -EINVAL;
                d->heartbeat_ms = (uint32_t)x;
                return 0;
        }
        uint32_t *ms = !strcmp(key, "stop_timeout_ms") ? &d->stop_timeout_ms
                       : !strcmp(key, "silence_warn_ms") ? &d->silence_warn_ms
                       : !strcmp(key, "storage_warn_ms") ? &d->storage_warn_ms : NULL;
        if (ms) {
                if (s_u64(value, 24u * 3600 * 1000, &x) < 0 || x == 0)
                        return -EINVAL;
                *ms = (uint32_t)x;
                return 0;
        }
        if (!strcmp(key, "monitor_hwm")) {
                if (s_u64(value, 1u << 24, &x) < 0 || x == 0)
                        return -EINVAL;
                d->monitor_hwm = (uint32_t)x;
                return 0;
        }
        if (!strcmp(key, "ring_bytes")) {
                if (s_u64(value, 1ull << 32, &x) < 0 || x < (4u << 20))
                        return -EINVAL;
                d->ring_bytes = x;
                return 0;
        }
        return -ENOENT;
}

static int s_auth_key(struct auth_section *a, const char *key, const char *value)
{
        if (!strcmp(key, "server_key"))
                return value[0] ? config_parse_str(value, a->server_key, sizeof a->server_key)
                                : (a->server_key[0] = '\0', 0);
        if (!strcmp(key, "allowed_clients"))
                return value[0] ? config_parse_str(value, a->allowed_clients, sizeof a->allowed_clients)
                                : (a->allowed_clients[0] = '\0', 0);
        char *list = !strcmp(key, "control_clients") ? a->control_clients :
                     !strcmp(key, "storage_clients") ? a->storage_clients :
                     !strcmp(key, "monitor_clients") ? a->monitor_clients : NULL;
        if (list)
                return value[0] ? config_parse_str(value, list, CONFIG_PATH_MAX)
                                : (list[0] = '\0', 0);
        if (!strcmp(key, "require_curve"))
                return config_parse_bool(value, &a->require_curve);
        return -ENOENT;
}

/* Keeps the first error only: libinih goes on after one, and a later line's
 * message must not stand beside the first error's line. */
__attribute__((format(printf, 2, 3)))
static void s_msg(struct load_ctx *c, const char *fmt, ...)
{
        va_list ap;
        if (c->msg[0])
                return;
        va_start(ap, fmt);
        vsnprintf(c->msg, sizeof c->msg, fmt, ap);
        va_end(ap);
}

/* The source of section "source.NAME", created at its first key. */
static struct source_config *s_source(struct load_ctx *c, const char *name, int *err)
{
        struct darkdaq_config *cfg = c->cfg;
        for (size_t i = 0; i < cfg->n_sources; i++)
                if (!strcmp(cfg->sources[i].name, name))
                        return &cfg->sources[i];
        size_t n = strlen(name);
        bool ok = n > 0 && n < CONFIG_NAME_MAX;
        for (size_t i = 0; ok && i < n; i++)
                ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
                     (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-';
        if (!ok) {
                s_msg(c, "bad source name [source.%s]: 1..%d of "
                         "A-Z a-z 0-9 _ -", name, CONFIG_NAME_MAX - 1);
                *err = -EINVAL;
                return NULL;
        }
        if (cfg->n_sources == CONFIG_MAX_SOURCES) {
                s_msg(c, "too many sources (at most %d)",
                         CONFIG_MAX_SOURCES);
                *err = -EINVAL;
                return NULL;
        }
        struct source_config *s = &cfg->sources[cfg->n_sources++];
        memset(s, 0, sizeof *s);
        memcpy(s->name, name, n + 1);
        return s;
}

/* The registered drivers' names, separated by sep. */
static const char *s_driver_names(char *out, size_t size, const char *sep)
{
        const struct driver *d;
        size_t at = 0;

        out[0] = '\0';
        for (size_t i = 0; (d = driver_at(i)) && at < size; i++) {
                int n = snprintf(out + at, size - at, "%s%s", i ? sep : "", d->name);
                at += n > 0 ? (size_t)n : 0;
        }
        return out;
}

static int s_source_key(struct load_ctx *c, const char *name, const char *key, const char *value)
{
        int err = 0;
        struct source_config *s = s_source(c, name, &err);
        const struct driver *d;
        const struct driver_key *k;
        char names[160];

        if (!s)
                return err;
        if (!strcmp(key, "driver")) {
                if (s->driver[0]) {
                        s_msg(c, "key \"driver\" set twice in [source.%s]",
                                 name);
                        return -EINVAL;
                }
                d = driver_find(value);
                if (!d) {
                        s_msg(c, "unknown driver \"%s\" in [source.%s]; "
                                 "the drivers are %s", value, name,
                                 s_driver_names(names, sizeof names, ", "));
                        return -EINVAL;
                }
                if (driver_options_default(d, s->options) < 0)
                        return -EINVAL;
                snprintf(s->driver, sizeof s->driver, "%s", value);
                return 0;
        }
        if (!s->driver[0]) {
                s_msg(c, "key \"%s\" before \"driver\" in [source.%s]: "
                         "driver = %s comes first", key, name,
                         s_driver_names(names, sizeof names, " | "));
                return -EINVAL;
        }
        d = driver_find(s->driver);
        k = d ? driver_key_find(d, key) : NULL;
        if (!k)
                return -ENOENT;
        if (driver_key_set(k, s->options, value) < 0)
                return -EINVAL;
        if (k->valid) {
                char why[200] = "";
                if (k->valid(value, why, sizeof why) < 0) {
                        s_msg(c, "%s = \"%s\" in [source.%s]: %s", key, value, name, why);
                        return -EINVAL;
                }
        }
        s->keys_set |= 1ull << (k - d->keys);
        return 0;
}

/* What no single line can say of source s; boards: the ids sources before it
 * play, to which it adds its own. */
static int s_validate_source(const struct darkdaq_config *cfg, const struct source_config *s,
                             uint64_t *boards, const char *name, char *err, size_t errlen)
{
        const struct driver *d = driver_find(s->driver);
        char why[200] = "";

        if (!d)
                return 0;       /* config_load() takes no source without its driver */
        for (size_t i = 0; d->keys && d->keys[i].name; i++) {
                if (d->keys[i].required && !(s->keys_set >> i & 1)) {
                        snprintf(err, errlen, "%s: [source.%s] (driver %s) needs %s", name,
                                 s->name, s->driver, d->keys[i].name);
                        return -EINVAL;
                }
        }
        if (!d->boards && !cfg->sources_given) {
                snprintf(err, errlen, "%s: [source.%s] is a %s source: [builder] "
                         "sources must then list the expected source ids", name, s->name,
                         s->driver);
                return -EINVAL;
        }
        if (d->check && d->check(s->options, why, sizeof why) < 0) {
                snprintf(err, errlen, "%s: [source.%s]: %s", name, s->name, why);
                return -EINVAL;
        }
        if (d->boards) {
                uint64_t mine = d->boards(s->options), both = *boards & mine;
                if (both) {
                        snprintf(err, errlen, "%s: [source.%s]: board %d is played by "
                                 "another source too", name, s->name, __builtin_ctzll(both));
                        return -EINVAL;
                }
                *boards |= mine;
        }
        return 0;
}

/* The line of key in section (of the section with key NULL), else of the
 * section, else the last line: where a whole-file message points. */
static unsigned s_line(const struct load_ctx *c, const char *section, const char *key)
{
        unsigned l = key ? config_scan_line(c->scan, section, key) : 0;
        if (!l)
                l = config_scan_line(c->scan, section, NULL);
        return l ? l : config_scan_lines(c->scan);
}

/* The line of the first of keys (NULL-terminated) the section sets. */
static unsigned s_line_any(const struct load_ctx *c, const char *section, const char *const *keys)
{
        for (; *keys; keys++)
                if (config_scan_line(c->scan, section, *keys))
                        return config_scan_line(c->scan, section, *keys);
        return s_line(c, section, NULL);
}

/* Pairs of physics keys where the first must not exceed the second. */
static int s_validate_physics(const struct load_ctx *c, const char *name, char *err,
                              size_t errlen)
{
        static const char *const pairs[][2] = {
                { "barrel_theta_min_rad", "barrel_theta_max_rad" },
                { "zprime_m2_min_gev2", "zprime_m2_max_gev2" },
                { "dv_rxy_min_cm", "dv_rxy_max_cm" },
                { "dv_open_min_rad", "dv_open_max_rad" },
        };
        const struct physics_config *pc = &c->cfg->physics;
        for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
                const struct physics_config_key *lo = physics_config_find(pairs[i][0]);
                const struct physics_config_key *hi = physics_config_find(pairs[i][1]);
                double a, b;
                memcpy(&a, (const char *)pc + lo->offset, sizeof a);
                memcpy(&b, (const char *)pc + hi->offset, sizeof b);
                if (a <= b)
                        continue;
                const char *given = config_scan_line(c->scan, "physics", pairs[i][1]) ?
                                    pairs[i][1] : pairs[i][0];
                char va[32], vb[32];
                snprintf(err, errlen, "%s:%u: key \"%s\" in [physics]: %s (%s) must not exceed "
                         "%s (%s)", name, s_line(c, "physics", given), given, pairs[i][0],
                         physics_config_format(pc, lo, va, sizeof va), pairs[i][1],
                         physics_config_format(pc, hi, vb, sizeof vb));
                return -EINVAL;
        }
        return 0;
}

/* What no single line can say: run after the whole file is read. */
static int s_validate(struct load_ctx *c, const char *name, char *err, size_t errlen)
{
        struct darkdaq_config *cfg = c->cfg;
        struct daemon_config *d = &cfg->daemon;
        uint64_t boards = 0;

        if (!c->busy_high_given)
                d->busy_high_bytes = d->storage_buffer_bytes / 4 * 3;
        if (!c->busy_low_given)
                d->busy_low_bytes = d->storage_buffer_bytes / 4;
        if (d->busy_high_bytes > d->storage_buffer_bytes || d->busy_low_bytes >= d->busy_high_bytes) {
                snprintf(err, errlen, "%s:%u: [daemon] needs busy_low_bytes (%" PRIu64 ") < "
                         "busy_high_bytes (%" PRIu64 ") <= storage_buffer_bytes (%" PRIu64 ")",
                         name, s_line_any(c, "daemon", (const char *[]){ "busy_low_bytes",
                                          "busy_high_bytes", "storage_buffer_bytes", NULL }),
                         d->busy_low_bytes, d->busy_high_bytes, d->storage_buffer_bytes);
                return -EINVAL;
        }
        const struct auth_section *as = &cfg->auth;
        const char *list = as->allowed_clients[0] ? "allowed_clients" :
                           as->control_clients[0] ? "control_clients" :
                           as->storage_clients[0] ? "storage_clients" :
                           as->monitor_clients[0] ? "monitor_clients" : NULL;
        if (!as->server_key[0] != !list) {
                snprintf(err, errlen, "%s:%u: [auth] needs both server_key and allowed_clients "
                         "(or control_clients, storage_clients, monitor_clients), or neither "
                         "(%s is set)", name, s_line(c, "auth", NULL),
                         as->server_key[0] ? "server_key" : list);
                return -EINVAL;
        }
        if (cfg->auth.require_curve && !cfg->auth.server_key[0]) {
                snprintf(err, errlen, "%s:%u: [auth] require_curve = yes needs server_key and "
                         "allowed_clients", name, s_line(c, "auth", "require_curve"));
                return -EINVAL;
        }
        for (size_t i = 0; i < cfg->n_sources; i++) {
                char sec[CONFIG_NAME_MAX + 8], where[300];
                snprintf(sec, sizeof sec, "source.%s", cfg->sources[i].name);
                snprintf(where, sizeof where, "%s:%u", name, s_line(c, sec, NULL));
                if (s_validate_source(cfg, &cfg->sources[i], &boards, where, err, errlen) < 0)
                        return -EINVAL;
        }
        if (s_validate_physics(c, name, err, errlen) < 0)
                return -EINVAL;
        const char *open_key, *open_ep = config_open_endpoint(cfg, &open_key);
        if (open_ep && !d->insecure) {
                snprintf(err, errlen, "%s:%u: key \"%s\" in [daemon]: %s is served without "
                         "CURVE, so every local user can reach it; use an ipc:// endpoint "
                         "(default ipc://" CONFIG_RUNTIME_DIR "/%s), or [auth] server_key, "
                         "allowed_clients and require_curve = yes, or allow it with insecure = "
                         "yes in [daemon]", name, s_line(c, "daemon", open_key), open_key,
                         open_ep, open_key);
                return -EINVAL;
        }
        return 0;
}

static int s_handler(void *user, const char *section, const char *key, const char *value)
{
        struct load_ctx *c = user;
        int r;

        if (!strcmp(section, "daemon")) {
                r = s_daemon_key(c, key, value);
        } else if (!strncmp(section, "source.", 7)) {
                r = s_source_key(c, section + 7, key, value);
        } else if (!strcmp(section, "builder")) {
                r = s_builder_key(c->cfg, key, value);
        } else if (!strcmp(section, "auth")) {
                r = s_auth_key(&c->cfg->auth, key, value);
        } else if (!strcmp(section, "physics")) {
                r = physics_config_set(&c->cfg->physics, key, value);
        } else if (!strcmp(section, "prescale")) {
                char full[128];
                snprintf(full, sizeof full, "prescale.%s", key);
                r = physics_config_set(&c->cfg->physics, full, value);
        } else {
                if (!c->msg[0])
                        s_msg(c, "unknown section [%s] (key \"%s\"); "
                                 "sections are [daemon], [source.NAME], [builder], [physics], [prescale], "
                                 "[auth]", section, key);
                return 0;
        }
        if (r == 0)
                return 1;
        if (!c->msg[0]) {
                if (r == -ENOENT)
                        s_msg(c, "unknown key \"%s\" in [%s]%s", key,
                                 section, !strncmp(section, "source.", 7) ?
                                 " for its driver (darkdaqd --print-config lists them)" : "");
                else if (r == -ERANGE) {
                        const struct physics_config_key *k = physics_config_find(key);
                        s_msg(c, "value %s of key \"%s\" in [%s] is outside its physical "
                              "range %g..%g%s%s", value, key, section, k ? k->min : 0,
                              k ? k->max : 0, k && k->unit[0] ? " " : "", k ? k->unit : "");
                }
                else
                        s_msg(c, "bad value \"%s\" for key \"%s\" in [%s]",
                                 value, key, section);
        }
        return 0;
}

int config_load_text(struct darkdaq_config *cfg, const char *text, size_t len, const char *name,
                     char *err, size_t errlen)
{
        struct load_ctx c = { .cfg = cfg };
        config_scan_t *scan = NULL;
        unsigned at;
        char why[256];
        int r = config_scan_new(&scan, text, len, &at, why, sizeof why);

        if (r < 0) {
                if (r == -ENOMEM)
                        snprintf(err, errlen, "%s: out of memory", name);
                else
                        snprintf(err, errlen, "%s:%u: %s", name, at, why);
                return r;
        }
        c.scan = scan;
        int line = ini_parse_string(config_scan_text(scan), s_handler, &c);
        if (line != 0) {
                snprintf(err, errlen, "%s:%d: %s", name, line,
                         c.msg[0] ? c.msg : "syntax error (expected [section] or key = value)");
                r = -EINVAL;
        } else if (s_validate(&c, name, err, errlen) < 0) {
                r = -EINVAL;
        } else {
                cfg->lines = config_scan_lines(scan);
                free(cfg->text);
                cfg->text = strndup(text, len);
                r = cfg->text ? 0 : -ENOMEM;
        }
        config_scan_free(scan);
        return r;
}

int config_load_string(struct darkdaq_config *cfg, const char *text, const char *name,
                       char *err, size_t errlen)
{
        return config_load_text(cfg, text, strlen(text), name, err, errlen);
}

const char *config_open_endpoint(const struct darkdaq_config *cfg, const char **ret_key)
{
        const struct daemon_config *d = &cfg->daemon;
        const char *const keys[] = { "control", "monitor", "storage" };
        const char *const eps[] = { d->control, d->monitor, d->storage };

        if (cfg->auth.require_curve && cfg->auth.server_key[0])
                return NULL;
        for (size_t i = 0; i < 3; i++)
                if (auth_endpoint_is_open_local(eps[i])) {
                        *ret_key = keys[i];
                        return eps[i];
                }
        return NULL;
}

int config_check_live(const struct darkdaq_config *cfg, const char *name, char *err,
                      size_t errlen)
{
        char names[160];
        if (cfg->n_sources)
                return 0;
        snprintf(err, errlen, "%s:%u: no [source.NAME] section (key driver = %s): the live "
                 "daemon reads at least one source", name, cfg->lines ? cfg->lines : 1,
                 s_driver_names(names, sizeof names, " | "));
        return -EINVAL;
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
        r = config_load_text(cfg, text, len, path, err, errlen);
        free(text);
        return r;
}

/* One commented [source.NAME] block per driver, from its key table. */
static void s_print_sources(FILE *out)
{
        const struct driver *d;
        char line[256];
        size_t n_unknown = 0, i_unknown = 0;

        fputs("# One section per source, in stream order; driver comes first.\n", out);
        for (size_t i = 0; (d = driver_at(i)); i++) {
                fprintf(out, "%s# [source.NAME]\n", i ? "#\n" : "");
                snprintf(line, sizeof line, "driver = %s", d->name);
                fprintf(out, "# %-23s # %s\n", line, d->help ? d->help : "");
                for (const struct driver_key *k = d->keys; k && k->name; k++) {
                        snprintf(line, sizeof line, "%s = %s", k->name, k->def ? k->def : "");
                        fprintf(out, "# %-23s # %s%s\n", line, k->required ? "required: " : "",
                                k->help);
                }
                n_unknown += !d->boards;
        }
        if (!n_unknown)
                return;
        fputs("# (", out);
        for (size_t i = 0; (d = driver_at(i)); i++) {
                if (d->boards)
                        continue;
                i_unknown++;
                fprintf(out, "%s%s", i_unknown == 1 ? "" : i_unknown == n_unknown ? " and " : ", ",
                        d->name);
        }
        fprintf(out, " source%s need [builder] sources)\n\n", n_unknown == 1 ? "" : "s");
}

void config_print_defaults(FILE *out)
{
        struct darkdaq_config dc;
        config_default(&dc);
        const struct daemon_config *d = &dc.daemon;
        fprintf(out, "[daemon]\n"
                "control = %s    # REP: run control (darkdaq-ctl)\n"
                "monitor = %s    # PUB: sampled records, topic = tag name or \"all\"\n"
                "storage = %s    # ROUTER: the storage channel to darkdaq-store (records, "
                "its HELLO/ACK/FULL/RESUME/NAK)\n"
                "sender_id = %" PRIu32 "    # this daemon's id in every record it sends (1..2^32-1)\n"
                "storage_buffer_bytes = %" PRIu64 "    # records held until the store ACKs "
                "them, at most (>= 1 MiB)\n"
                "busy_high_bytes = %" PRIu64 "    # held above this: BUSY on every source "
                "(default 3/4 of the buffer)\n"
                "busy_low_bytes = %" PRIu64 "    # held below this: BUSY cleared (default 1/4)\n"
                "stop_timeout_ms = %" PRIu32 "    # stop: bound on the wait for sources and "
                "the store's ACK of the trailer\n"
                "silence_warn_ms = %" PRIu32 "    # a source silent this long in a run: log "
                "line, status, counter\n"
                "storage_warn_ms = %" PRIu32 "    # records held this long with no store to "
                "take them: log line, status, metric\n"
                "heartbeat_ms = %" PRIu32 "    # ZeroMQ heartbeats on the control, storage and "
                "monitor sockets; a peer silent 3 times this long is gone; 0: none\n"
                "monitor_hwm = %" PRIu32 "    # monitor send high-water mark (messages); "
                "beyond it samples are dropped and counted\n"
                "ring_bytes = %" PRIu64 "    # each source's ring to the core (>= 4 MiB)\n"
                "metrics = %s    # HTTP GET /metrics (Prometheus), HOST:PORT or "
                "[IPV6]:PORT; empty: off\n"
                "state_dir = %s    # the last run started (file last_run): start gives "
                "the next; the spool (file spool): records held for the store at exit\n"
                "insecure = no    # yes: allow tcp:// on loopback (or ipc://@NAME) without "
                "CURVE,\n"
                "                 # which every local user reaches (logged at start)\n\n"
                "[auth]\n"
                "# Local endpoints (ipc://, inproc://, tcp:// on loopback) are served in the\n"
                "# clear (tcp:// on loopback only with [daemon] insecure = yes); any other\n"
                "# control, storage or monitor endpoint needs CURVE keys (else darkdaqd exits\n"
                "# 2).  Keys: darkdaq-keygen NAME writes NAME.key and NAME.pub.\n"
                "server_key =    # the daemon's secret key file (NAME.key); empty: none\n"
                "allowed_clients =    # file or directory of the clients' public keys "
                "(NAME.pub), allowed on every socket\n"
                "control_clients =    # the same, allowed on the control socket only\n"
                "storage_clients =    # the same, on the storage sockets only (stores)\n"
                "monitor_clients =    # the same, on the monitor socket only (monitors)\n"
                "require_curve = no    # yes: CURVE on local endpoints too (tests)\n\n",
                d->control, d->monitor, d->storage, d->sender_id, d->storage_buffer_bytes,
                d->busy_high_bytes, d->busy_low_bytes, d->stop_timeout_ms, d->silence_warn_ms,
                d->storage_warn_ms, d->heartbeat_ms, d->monitor_hwm, d->ring_bytes, d->metrics, d->state_dir);
        s_print_sources(out);
        struct builder_config b;
        builder_config_default(&b);
        fprintf(out, "[builder]\n"
                "# sources = 0,1,2,3      expected source ids (replay: every source found;\n"
                "#                        live: the sim sources' boards; needed with file "
                "sources)\n"
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
