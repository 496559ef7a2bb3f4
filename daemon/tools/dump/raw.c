/* SPDX-License-Identifier: Apache-2.0 */
/* raw: prints a raw board-interface stream, every byte accounted for once:
 * good fragments, bad fragments with their reason, junk runs.  Reads the file
 * in large pieces through the stream reader; holds nothing else. */
#include "raw.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fragment.h"
#include "jsonstr.h"
#include "stream.h"

#define READ_BYTES (1u << 20)

struct raw_ctx {
        FILE *out;
        const char *path;
        bool json;
        uint64_t per_source[FRAG_MAX_SOURCE + 1];
        uint64_t bad_by_err[FRAG_E_COUNT_];
        uint64_t good, bad, junk_runs, junk_bytes;
        uint64_t junk_at, junk_len;     /* a junk run not yet printed */
};

static void s_json_string(FILE *out, const char *s)
{
        char small[512];
        size_t n = jsonstr_quote(small, sizeof small, s);
        char *big = n < sizeof small ? NULL : malloc(n + 1);

        if (big)
                jsonstr_quote(big, n + 1, s);
        fputs(big ? big : small, out);  /* out of memory: cut, still a string start */
        free(big);
}

static void s_block_name(uint16_t type, char *buf, size_t size)
{
        switch (type) {
        case FRAG_BLOCK_TRACK:   snprintf(buf, size, "track"); break;
        case FRAG_BLOCK_CLUSTER: snprintf(buf, size, "cluster"); break;
        case FRAG_BLOCK_MUON:    snprintf(buf, size, "muon"); break;
        case FRAG_BLOCK_RAW:     snprintf(buf, size, "raw"); break;
        default:                 snprintf(buf, size, "type_%u", type); break;
        }
}

/* Block counts per type, in order of first appearance. */
static void s_print_blocks(FILE *out, const uint8_t *frag, bool json)
{
        struct { uint16_t type; uint64_t n; } seen[64];
        size_t n_seen = 0;
        struct frag_block_iter it;
        struct frag_block b;

        frag_blocks_begin(&it, frag);
        while (frag_blocks_next(&it, &b)) {
                uint64_t n = b.type == FRAG_BLOCK_RAW ? b.bytes : b.count;
                size_t i;
                for (i = 0; i < n_seen && seen[i].type != b.type; i++)
                        ;
                if (i == n_seen) {
                        if (n_seen == 64)
                                continue;       /* more types than any firmware has */
                        seen[n_seen].type = b.type;
                        seen[n_seen++].n = 0;
                }
                seen[i].n += n;
        }
        fputs(json ? "{" : "", out);
        for (size_t i = 0; i < n_seen; i++) {
                char name[16];
                s_block_name(seen[i].type, name, sizeof name);
                if (json)
                        fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "", name, seen[i].n);
                else
                        fprintf(out, " %s=%" PRIu64, name, seen[i].n);
        }
        fputs(json ? "}" : "", out);
}

static void s_print_flags(FILE *out, uint16_t flags, bool json)
{
        bool first = true;
        fputs(json ? "[" : "", out);
        for (unsigned b = 0; b < 3; b++) {
                if (!(flags & (1u << b)))
                        continue;
                fprintf(out, json ? "%s\"%s\"" : "%s%s", first ? "" : ",", frag_flag_name(b));
                first = false;
        }
        fputs(json ? "]" : "", out);
}

/* The reader hands out junk runs longer than STREAM_MAX_JUNK_RUN in pieces;
 * runs are printed whole. */
static void s_flush_junk(struct raw_ctx *c)
{
        if (!c->junk_len)
                return;
        c->junk_runs++;
        if (c->json)
                fprintf(c->out, "{\"type\":\"junk\",\"offset\":%" PRIu64 ",\"bytes\":%" PRIu64
                        "}\n", c->junk_at, c->junk_len);
        else
                fprintf(c->out, "%10" PRIu64 " %8" PRIu64 "  junk\n", c->junk_at, c->junk_len);
        c->junk_len = 0;
}

static void s_json_item(struct raw_ctx *c, const struct stream_item *it, const char *why)
{
        FILE *out = c->out;

        fprintf(out, "{\"type\":\"fragment\",\"offset\":%" PRIu64 ",\"bytes\":%zu",
                it->offset, it->bytes);
        if (it->kind != STREAM_BAD_MAGIC)
                fprintf(out, ",\"source\":%u,\"trigger\":%" PRIu32, it->hdr.source_id,
                        it->hdr.trigger);
        if (it->kind == STREAM_FRAGMENT) {
                fputs(",\"flags\":", out);
                s_print_flags(out, it->hdr.flags, true);
                fprintf(out, ",\"payload_bytes\":%" PRIu32 ",\"blocks\":", it->hdr.payload_bytes);
                s_print_blocks(out, it->data, true);
                fputs(",\"ok\":true}\n", out);
                return;
        }
        fputs(",\"ok\":false,\"error\":", out);
        s_json_string(out, why);
        fputs("}\n", out);
}

static void s_text_item(struct raw_ctx *c, const struct stream_item *it, const char *why)
{
        FILE *out = c->out;

        fprintf(out, "%10" PRIu64 " %8zu  ", it->offset, it->bytes);
        switch (it->kind) {
        case STREAM_FRAGMENT:
                fprintf(out, "source %2u trigger %10" PRIu32 " time %" PRIu64 " flags ",
                        it->hdr.source_id, it->hdr.trigger, it->hdr.trigger_time);
                s_print_flags(out, it->hdr.flags, false);
                fputs(it->hdr.flags & FRAG_KNOWN_FLAGS ? "" : "-", out);
                fputs(" blocks", out);
                s_print_blocks(out, it->data, false);
                fputc('\n', out);
                break;
        case STREAM_BAD_FRAGMENT:
        case STREAM_CUT_FRAGMENT:
                fprintf(out, "source %2u trigger %10" PRIu32 " BAD: %s\n", it->hdr.source_id,
                        it->hdr.trigger, why);
                break;
        case STREAM_BAD_MAGIC:
                fprintf(out, "BAD: %s\n", why);
                break;
        case STREAM_JUNK:
                break;
        }
}

static int s_item(void *ctx, const struct stream_item *it)
{
        struct raw_ctx *c = ctx;
        char why[160] = "";

        if (it->kind == STREAM_JUNK) {
                if (!c->junk_len)
                        c->junk_at = it->offset;
                c->junk_len += it->bytes;
                c->junk_bytes += it->bytes;
                return 0;
        }
        s_flush_junk(c);
        if (it->kind == STREAM_FRAGMENT) {
                c->good++;
                c->per_source[it->hdr.source_id]++;
        } else {
                c->bad++;
                c->bad_by_err[it->err.code < FRAG_E_COUNT_ ? it->err.code : 0]++;
                frag_error_format(&it->err, why, sizeof why);
                if (it->kind == STREAM_BAD_MAGIC && it->err.code != FRAG_E_HEADER_CUT &&
                    it->err.code != FRAG_E_CUT && it->err.code != FRAG_E_TRAILER_MAGIC &&
                    it->hdr.magic == FRAG_MAGIC && frag_header_check(&it->hdr, NULL) == FRAG_OK) {
                        /* a corrupt fragment not trusted: a good one starts inside */
                        size_t n = strlen(why);
                        snprintf(why + n, sizeof why - n, "; a good fragment starts inside");
                }
        }
        if (c->json)
                s_json_item(c, it, why);
        else
                s_text_item(c, it, why);
        return 0;
}

static void s_summary(struct raw_ctx *c, uint64_t size)
{
        FILE *out = c->out;

        fprintf(out, "%s: %" PRIu64 " bytes: %" PRIu64 " good fragments, %" PRIu64
                " bad, %" PRIu64 " junk bytes in %" PRIu64 " runs\n", c->path, size, c->good,
                c->bad, c->junk_bytes, c->junk_runs);
        for (unsigned s = 0; s <= FRAG_MAX_SOURCE; s++)
                if (c->per_source[s])
                        fprintf(out, "  source %2u: %" PRIu64 " fragments\n", s, c->per_source[s]);
        for (unsigned e = 1; e < FRAG_E_COUNT_; e++)
                if (c->bad_by_err[e])
                        fprintf(out, "  bad (%s): %" PRIu64 "\n", frag_err_name(e), c->bad_by_err[e]);
}

int dump_raw_file(const char *path, FILE *out, bool json)
{
        struct raw_ctx c = { .out = out, .path = path, .json = json };
        stream_t *s = NULL;
        uint8_t *buf = NULL;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                fprintf(stderr, "darkdaq-dump: %s: cannot open: %s\n", path, strerror(errno));
                return r;
        }
        s = stream_new();
        buf = malloc(READ_BYTES);
        if (!s || !buf) {
                fprintf(stderr, "darkdaq-dump: %s: out of memory\n", path);
                r = -ENOMEM;
                goto out;
        }
        for (;;) {
                ssize_t n = read(fd, buf, READ_BYTES);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        fprintf(stderr, "darkdaq-dump: %s: read error at byte %" PRIu64 ": %s\n",
                                path, stream_offset(s), strerror(errno));
                        break;
                }
                if (n == 0)
                        break;
                r = stream_feed(s, buf, (size_t)n, s_item, &c, NULL);
                if (r < 0) {
                        fprintf(stderr, "darkdaq-dump: %s: %s at byte %" PRIu64 "\n", path,
                                strerror(-r), stream_offset(s));
                        break;
                }
        }
        if (r == 0)
                r = stream_finish(s, s_item, &c);
        s_flush_junk(&c);
        if (!json)
                s_summary(&c, stream_offset(s));
out:
        free(buf);
        stream_free(s);
        close(fd);
        return r;
}

static int s_probe_item(void *ctx, const struct stream_item *it)
{
        (void)ctx;
        return it->kind == STREAM_FRAGMENT;     /* non-zero stops the feed */
}

int dump_raw_probe(const char *path, uint64_t limit)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        uint64_t done = 0;
        int r = 0;
        if (fd < 0)
                return -errno;
        stream_t *s = stream_new();
        uint8_t *buf = malloc(READ_BYTES);
        if (!s || !buf) {
                r = -ENOMEM;
                goto out;
        }
        while (done < limit && r == 0) {
                size_t want = limit - done < READ_BYTES ? (size_t)(limit - done) : READ_BYTES;
                ssize_t n = read(fd, buf, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                done += (uint64_t)n;
                r = stream_feed(s, buf, (size_t)n, s_probe_item, NULL, NULL);
        }
        if (r == 0)
                r = stream_finish(s, s_probe_item, NULL);
out:
        free(buf);
        stream_free(s);
        close(fd);
        return r < 0 ? r : r > 0;
}
