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

#include "config.h"

struct load_ctx {
        struct store_config *cfg;
        char msg[320];                  /* the first error, without its line */
        bool dir_given;
};

void store_config_default(struct store_config *c)
{
        memset(c, 0, sizeof *c);
        snprintf(c->data, sizeof c->data, "tcp://127.0.0.1:5557");
        c->max_file_bytes = 1ull << 30;
        c->max_file_seconds = 3600;
        c->min_free_bytes = 1ull << 30;
        c->resume_margin_bytes = 64ull << 20;
        c->silence_close_ms = 30000;
        c->ack_interval_ms = 100;
}

static int s_key(struct load_ctx *c, const char *key, const char *v)
{
        struct store_config *s = c->cfg;
        if (!strcmp(key, "data"))
                return config_parse_endpoint(v, s->data, sizeof s->data);
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
        return 0;
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
                "data flows\n",
                d.data, d.max_file_bytes, d.max_file_seconds, d.min_free_bytes,
                d.resume_margin_bytes, d.silence_close_ms, d.ack_interval_ms);
}
