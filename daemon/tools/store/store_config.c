/* SPDX-License-Identifier: Apache-2.0 */
/* store_config: [store] keys of darkdaq-store's configuration file
 * (store_config.h).  The first bad line is reported as FILE:LINE. */
#include "store_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "auth.h"
#include "config.h"

struct load_ctx {
        struct store_config *cfg;
        char msg[320];                  /* the first error, without its line */
        bool dir_given;
};

void store_config_default(struct store_config *c)
{
        memset(c, 0, sizeof *c);
        snprintf(c->data, sizeof c->data, "ipc://" CONFIG_RUNTIME_DIR "/storage");
        c->max_file_bytes = 1ull << 30;
        c->max_file_seconds = 3600;
        c->min_free_bytes = 1ull << 30;
        c->resume_margin_bytes = 64ull << 20;
        c->silence_close_ms = 30000;
        c->ack_interval_ms = 100;
        c->heartbeat_ms = 1000;
        c->link_log_ms = 60000;
}

static int s_key(struct load_ctx *c, const char *key, const char *v)
{
        struct store_config *s = c->cfg;
        if (!strcmp(key, "data"))
                return config_parse_endpoint(v, s->data, sizeof s->data);
        if (!strcmp(key, "insecure"))
                return config_parse_bool(v, &s->insecure);
        if (!strcmp(key, "dir")) {
                c->dir_given = true;
                return config_parse_str(v, s->dir, sizeof s->dir);
        }
        if (!strcmp(key, "max_file_bytes"))     /* room for a header, a record, a trailer */
                return config_parse_u64(v, 1024, UINT64_MAX, &s->max_file_bytes);
        if (!strcmp(key, "max_file_seconds"))
                return config_parse_u64(v, 0, UINT32_MAX, &s->max_file_seconds);
        if (!strcmp(key, "min_free_bytes"))
                return config_parse_u64(v, 0, UINT64_MAX, &s->min_free_bytes);
        if (!strcmp(key, "resume_margin_bytes"))
                return config_parse_u64(v, 0, UINT64_MAX, &s->resume_margin_bytes);
        if (!strcmp(key, "silence_close_ms"))
                return config_parse_u64(v, 0, UINT32_MAX, &s->silence_close_ms);
        if (!strcmp(key, "ack_interval_ms"))
                return config_parse_u64(v, 1, 60000, &s->ack_interval_ms);
        if (!strcmp(key, "client_key"))
                return config_parse_str(v, s->client_key, sizeof s->client_key);
        if (!strcmp(key, "server_public_key"))
                return config_parse_str(v, s->server_public_key, sizeof s->server_public_key);
        if (!strcmp(key, "require_curve"))
                return config_parse_bool(v, &s->require_curve);
        if (!strcmp(key, "heartbeat_ms"))
                return config_parse_u64(v, 0, 3600000, &s->heartbeat_ms);
        if (!strcmp(key, "link_log_ms"))
                return config_parse_u64(v, 0, UINT32_MAX, &s->link_log_ms);
        return -ENOENT;
}

static int s_handler(void *user, const char *section, const char *key, const char *value)
{
        struct load_ctx *c = user;
        int r;

        if (strcmp(section, "store")) {
                if (!c->msg[0])
                        snprintf(c->msg, sizeof c->msg, "unknown section [%s] (key \"%s\"); "
                                 "darkdaq-store reads only [store]", section, key);
                return 0;
        }
        r = s_key(c, key, value);
        if (r == 0)
                return 1;
        if (!c->msg[0]) {
                if (r == -ENOENT)
                        snprintf(c->msg, sizeof c->msg, "unknown key \"%s\" in [store] "
                                 "(darkdaq-store --help lists them)", key);
                else
                        snprintf(c->msg, sizeof c->msg, "bad value \"%s\" for key \"%s\" in [store]",
                                 value, key);
        }
        return 0;
}

/* The line of path where key is set in [store] (the last such line), or 0. */
static unsigned s_key_line(const char *path, const char *key)
{
        FILE *f = fopen(path, "re");
        char line[1024];
        unsigned n = 0, at = 0;
        bool in_store = false;
        size_t kl = strlen(key);

        if (!f)
                return 0;
        while (fgets(line, sizeof line, f)) {
                const char *p = line + strspn(line, " \t");
                n++;
                if (*p == '[')
                        in_store = !strncmp(p, "[store]", 7);
                else if (in_store && !strncmp(p, key, kl) && strchr(" \t=", p[kl]))
                        at = n;
        }
        fclose(f);
        return at;
}

int store_config_load(struct store_config *cfg, const char *path, char *err, size_t errlen)
{
        struct load_ctx c = { .cfg = cfg };
        FILE *f = fopen(path, "re");

        if (!f) {
                int e = errno;
                snprintf(err, errlen, "%s: cannot open configuration: %s", path, strerror(e));
                return -e;
        }
        int line = ini_parse_file(f, s_handler, &c);
        fclose(f);
        if (line != 0) {
                snprintf(err, errlen, "%s:%d: %s", path, line,
                         line < 0 ? "cannot read the file" : c.msg[0] ? c.msg :
                         "syntax error (expected [section] or key = value)");
                return -EINVAL;
        }
        if (!c.dir_given) {
                snprintf(err, errlen, "%s: key \"dir\" in [store] is required (the directory "
                         "for run files)", path);
                return -EINVAL;
        }
        if (auth_endpoint_is_open_local(cfg->data) && !cfg->insecure && !store_config_curve(cfg)) {
                snprintf(err, errlen, "%s:%u: key \"data\" in [store]: %s has no CURVE, and any "
                         "local user can listen there and pose as darkdaqd; use an ipc:// "
                         "endpoint (default ipc://" CONFIG_RUNTIME_DIR "/storage), CURVE "
                         "(client_key, server_public_key and require_curve = yes), or allow it "
                         "with insecure = yes in [store]", path, s_key_line(path, "data"),
                         cfg->data);
                return -EINVAL;
        }
        return 0;
}

bool store_config_curve(const struct store_config *c)
{
        return c->require_curve && c->client_key[0] && c->server_public_key[0];
}

void store_config_print_defaults(FILE *out)
{
        struct store_config d;
        store_config_default(&d);
        fprintf(out, "[store]\n"
                "dir =                          # required: the directory for run files\n"
                "data = %s   # DEALER: connects to darkdaqd's storage (ROUTER, bind)\n"
                "max_file_bytes = %" PRIu64 "    # rotate before a file passes this size "
                "(>= 1024)\n"
                "max_file_seconds = %" PRIu64 "        # rotate a file open this long; 0: never\n"
                "min_free_bytes = %" PRIu64 "    # free space floor in dir: below it FULL, "
                "no intake\n"
                "resume_margin_bytes = %" PRIu64 "  # after FULL, RESUME once min_free_bytes "
                "+ this is free\n"
                "silence_close_ms = %" PRIu64 "       # close an open run with no record this "
                "long; 0: never\n"
                "ack_interval_ms = %" PRIu64 "          # fsync and ACK at most this often while "
                "data flows\n"
                "client_key =                   # CURVE: this store's secret key file "
                "(darkdaq-keygen); needed on a non-local data endpoint\n"
                "server_public_key =            # CURVE: the daemon's public key file\n"
                "require_curve = no             # yes: CURVE on a local endpoint too\n"
                "heartbeat_ms = %" PRIu64 "           # ZeroMQ heartbeats to the daemon; silent "
                "3 times this long: the link is gone; 0: none\n"
                "link_log_ms = %" PRIu64 "           # a log line on the link's state this "
                "often; 0: never\n"
                "insecure = no                  # yes: allow data on tcp:// loopback (or "
                "ipc://@NAME),\n"
                "                               # which every local user reaches (logged)\n",
                d.data, d.max_file_bytes, d.max_file_seconds, d.min_free_bytes,
                d.resume_margin_bytes, d.silence_close_ms, d.ack_interval_ms, d.heartbeat_ms,
                d.link_log_ms);
}
