/* SPDX-License-Identifier: Apache-2.0 */
/* Replays every reference directory in tests/data and compares the
 * event-building fields with its expected.jsonl: events in order (trigger,
 * time_ticks, trigger_bits, sources, status, missing), late, junk and
 * corrupt records as sets.  Tag fields are tested elsewhere. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "replay.h"

/* A record as a canonical line; lists of them are compared. */
struct lines {
        char **v;
        size_t n, cap;
};

static void lines_add(struct lines *l, const char *s)
{
        if (l->n == l->cap) {
                l->cap = l->cap ? 2 * l->cap : 256;
                l->v = realloc(l->v, l->cap * sizeof(*l->v));
        }
        l->v[l->n++] = strdup(s);
}

static void lines_free(struct lines *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

struct got {
        struct lines events, others;
};

static void mask_str(char *buf, size_t size, uint64_t m)
{
        size_t k = 0;
        buf[0] = 0;
        for (unsigned s = 0; s < 64; s++)
                if (m >> s & 1)
                        k += (size_t)snprintf(buf + k, size - k, "%s%u", k ? "," : "", s);
}

static void status_str(char *buf, size_t size, uint32_t st)
{
        size_t k = 0;
        buf[0] = 0;
        for (unsigned b = 0; b < EV_STATUS_COUNT; b++)
                if (st >> b & 1)
                        k += (size_t)snprintf(buf + k, size - k, "%s%s", k ? "," : "",
                                              ev_status_name(b));
}

static void event_line(char *buf, size_t size, uint32_t trigger, uint64_t time,
                       uint32_t bits, uint64_t sources, uint32_t status, uint64_t missing)
{
        char s[256], st[256], m[256];
        mask_str(s, sizeof(s), sources);
        status_str(st, sizeof(st), status);
        mask_str(m, sizeof(m), missing);
        snprintf(buf, size, "event %u time=%" PRIu64 " bits=%u sources=[%s] status=[%s] missing=[%s]",
                 trigger, time, bits, s, st, m);
}

static void on_event(void *ctx, const struct built_event *ev)
{
        struct got *g = ctx;
        char buf[1024];
        event_line(buf, sizeof(buf), ev->trigger, ev->time_ticks, ev->trigger_bits, ev->sources,
                   ev->status, (ev->status & EV_INCOMPLETE) ? ev->missing : 0);
        lines_add(&g->events, buf);
}

static void on_late(void *ctx, const struct built_late *l)
{
        struct got *g = ctx;
        char buf[256];
        snprintf(buf, sizeof(buf), "late source=%u trigger=%u", l->source, l->trigger);
        lines_add(&g->others, buf);
}

static void on_junk(void *ctx, const struct built_junk *j)
{
        struct got *g = ctx;
        char buf[256];
        snprintf(buf, sizeof(buf), "junk stream=%u offset=%" PRIu64 " bytes=%zu", j->stream,
                 j->offset, j->bytes);
        lines_add(&g->others, buf);
}

static void on_corrupt(void *ctx, const struct built_corrupt *c)
{
        struct got *g = ctx;
        char buf[256];
        snprintf(buf, sizeof(buf), "corrupt stream=%u offset=%" PRIu64 " bytes=%u source=%u trigger=%u",
                 c->stream, c->offset, c->bytes, c->source, c->trigger);
        lines_add(&g->others, buf);
}

/* ---- a reader for the known shape of expected.jsonl ----------------------- */

/* The value after "key": in line, or NULL. */
static const char *json_val(const char *line, const char *key)
{
        char k[64];
        snprintf(k, sizeof(k), "\"%s\"", key);
        const char *p = strstr(line, k);
        if (!p)
                return NULL;
        p += strlen(k);
        while (*p == ' ' || *p == ':')
                p++;
        return p;
}

static uint64_t json_u64(const char *line, const char *key, bool *ok)
{
        const char *p = json_val(line, key);
        if (!p) {
                *ok = false;
                return 0;
        }
        return strtoull(p, NULL, 10);
}

/* A list of small numbers as a bit mask. */
static uint64_t json_mask(const char *line, const char *key)
{
        const char *p = json_val(line, key);
        uint64_t m = 0;
        if (!p || *p != '[')
                return 0;
        for (p++; *p && *p != ']';) {
                char *end;
                unsigned long v = strtoul(p, &end, 10);
                if (end == p) {
                        p++;
                        continue;
                }
                m |= 1ull << v;
                p = end;
        }
        return m;
}

static uint32_t json_status(const char *line)
{
        const char *p = json_val(line, "status");
        uint32_t st = 0;
        if (!p || *p != '[')
                return 0;
        const char *end = strchr(p, ']');
        for (unsigned b = 0; b < EV_STATUS_COUNT; b++) {
                char q[64];
                snprintf(q, sizeof(q), "\"%s\"", ev_status_name(b));
                const char *f = strstr(p, q);
                if (f && f < end)
                        st |= 1u << b;
        }
        return st;
}

static bool read_expected(const char *path, struct got *want)
{
        FILE *f = fopen(path, "r");
        char *line = NULL;
        size_t cap = 0;
        bool ok = true;

        if (!f)
                return false;
        while (getline(&line, &cap, f) > 0) {
                char buf[1024];
                const char *type = json_val(line, "type");
                if (!type)
                        continue;
                if (!strncmp(type, "\"event\"", 7)) {
                        event_line(buf, sizeof(buf), (uint32_t)json_u64(line, "trigger", &ok),
                                   json_u64(line, "time_ticks", &ok),
                                   (uint32_t)json_u64(line, "trigger_bits", &ok),
                                   json_mask(line, "sources"), json_status(line),
                                   json_mask(line, "missing"));
                        lines_add(&want->events, buf);
                } else if (!strncmp(type, "\"late\"", 6)) {
                        snprintf(buf, sizeof(buf), "late source=%u trigger=%u",
                                 (unsigned)json_u64(line, "source", &ok),
                                 (unsigned)json_u64(line, "trigger", &ok));
                        lines_add(&want->others, buf);
                } else if (!strncmp(type, "\"junk\"", 6)) {
                        snprintf(buf, sizeof(buf), "junk stream=%u offset=%" PRIu64 " bytes=%zu",
                                 (unsigned)json_u64(line, "stream", &ok),
                                 json_u64(line, "offset", &ok),
                                 (size_t)json_u64(line, "bytes", &ok));
                        lines_add(&want->others, buf);
                } else if (!strncmp(type, "\"corrupt\"", 9)) {
                        snprintf(buf, sizeof(buf),
                                 "corrupt stream=%u offset=%" PRIu64 " bytes=%u source=%u trigger=%u",
                                 (unsigned)json_u64(line, "stream", &ok),
                                 json_u64(line, "offset", &ok),
                                 (unsigned)json_u64(line, "bytes", &ok),
                                 (unsigned)json_u64(line, "source", &ok),
                                 (unsigned)json_u64(line, "trigger", &ok));
                        lines_add(&want->others, buf);
                }
        }
        free(line);
        fclose(f);
        return ok;
}

/* Prints up to a few differences of two lists in order; returns how many. */
static size_t diff_lines(const char *dir, const char *what, const struct lines *got,
                         const struct lines *want)
{
        size_t n = got->n > want->n ? got->n : want->n, bad = 0;
        for (size_t i = 0; i < n; i++) {
                const char *g = i < got->n ? got->v[i] : "(none)";
                const char *w = i < want->n ? want->v[i] : "(none)";
                if (!strcmp(g, w))
                        continue;
                if (bad++ < 5)
                        fprintf(stderr, "%s %s #%zu:\n  got  %s\n  want %s\n", dir, what, i, g, w);
        }
        return bad;
}

/* The same for two sorted lists compared as sets (with repeats). */
static size_t diff_sets(const char *dir, const struct lines *got, const struct lines *want)
{
        size_t i = 0, j = 0, bad = 0;
        while (i < got->n || j < want->n) {
                int c = i == got->n ? 1 : j == want->n ? -1 : strcmp(got->v[i], want->v[j]);
                if (!c) {
                        i++, j++;
                        continue;
                }
                if (bad++ < 8)
                        fprintf(stderr, "%s: %s only %s\n", dir, c < 0 ? "got" : "want",
                                c < 0 ? got->v[i] : want->v[j]);
                if (c < 0)
                        i++;
                else
                        j++;
        }
        return bad;
}

/* Replays one directory; returns the number of differences (-1: could not). */
static long replay_dir(const char *data, const char *name, struct replay_summary *sum,
                       size_t *n_records)
{
        char dir[PATH_MAX], path[PATH_MAX + 300];
        char *raws[64];
        size_t n = 0;
        struct got got = { 0 }, want = { 0 };
        long bad;
        struct dirent *de;
        DIR *d;

        snprintf(dir, sizeof(dir), "%s/%s", data, name);
        if (!(d = opendir(dir)))
                return -1;
        while ((de = readdir(d)) && n < 64) {
                size_t l = strlen(de->d_name);
                if (l > 4 && !strcmp(de->d_name + l - 4, ".raw")) {
                        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                        raws[n++] = strdup(path);
                }
        }
        closedir(d);
        qsort(raws, n, sizeof(*raws), cmp_str);

        struct replay_options opt;
        struct builder_sink sink = { &got, on_event, on_late, on_junk, on_corrupt };
        char err[512];
        replay_options_default(&opt);
        int r = replay_run(&opt, (const char *const *)raws, n, &sink, sum, err, sizeof(err));
        snprintf(path, sizeof(path), "%s/expected.jsonl", dir);
        if (r < 0 || !read_expected(path, &want)) {
                fprintf(stderr, "%s: %s\n", dir, r < 0 ? err : "cannot read expected.jsonl");
                bad = -1;
                goto out;
        }
        if (got.others.n)
                qsort(got.others.v, got.others.n, sizeof(char *), cmp_str);
        if (want.others.n)
                qsort(want.others.v, want.others.n, sizeof(char *), cmp_str);
        bad = (long)diff_lines(name, "event", &got.events, &want.events);
        bad += (long)diff_sets(name, &got.others, &want.others);
        *n_records = want.events.n + want.others.n;
out:
        for (size_t i = 0; i < n; i++)
                free(raws[i]);
        lines_free(&got.events);
        lines_free(&got.others);
        lines_free(&want.events);
        lines_free(&want.others);
        return bad;
}

static off_t dir_raw_bytes(const char *data, const char *name)
{
        char dir[PATH_MAX], path[PATH_MAX + 300];
        struct dirent *de;
        off_t total = 0;
        DIR *d;
        snprintf(dir, sizeof(dir), "%s/%s", data, name);
        if (!(d = opendir(dir)))
                return -1;
        while ((de = readdir(d))) {
                struct stat sb;
                size_t l = strlen(de->d_name);
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                if (l > 4 && !strcmp(de->d_name + l - 4, ".raw") && !stat(path, &sb))
                        total += sb.st_size;
        }
        closedir(d);
        return total;
}

TEST(every_reference_directory)
{
        const char *data = getenv("DARKDAQ_TEST_DATA") ? getenv("DARKDAQ_TEST_DATA") : "tests/data";
        DIR *d = opendir(data);
        struct dirent *de;
        char *names[64];
        size_t n = 0;

        REQUIRE(d);
        while ((de = readdir(d)) && n < 64) {
                char p[PATH_MAX];
                struct stat sb;
                snprintf(p, sizeof(p), "%s/%s", data, de->d_name);
                if (de->d_name[0] != '.' && !stat(p, &sb) && S_ISDIR(sb.st_mode))
                        names[n++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof(*names), cmp_str);
        CHECK(n >= 7);
        for (size_t i = 0; i < n; i++) {
                struct replay_summary sum;
                size_t records = 0;
                long bad = replay_dir(data, names[i], &sum, &records);
                printf("     %-12s %s (%zu records)\n", names[i],
                       bad == 0 ? "matches" : "DIFFERS", records);
                CHECK_EQ_I(bad, 0);
                if (bad >= 0) {
                        /* Every byte read comes out once. */
                        CHECK_EQ_U(sum.counters.bytes_in, sum.bytes_read);
                        CHECK_EQ_U(sum.counters.bytes_out, sum.bytes_read);
                        CHECK_EQ_U(sum.bytes_read, dir_raw_bytes(data, names[i]));
                }
                free(names[i]);
        }
}

TEST(desync_diagnosis)
{
        const char *data = getenv("DARKDAQ_TEST_DATA") ? getenv("DARKDAQ_TEST_DATA") : "tests/data";
        struct replay_summary sum;
        size_t records = 0;
        REQUIRE(replay_dir(data, "desync", &sum, &records) == 0);
        REQUIRE(sum.n_out_of_step == 1);
        CHECK_EQ_U(sum.out_of_step[0].source, 2);
        CHECK_EQ_I(sum.out_of_step[0].offset, 1);
        CHECK_EQ_U(sum.out_of_step[0].first_trigger, 101);
        CHECK_EQ_U(sum.counters.time_mismatch, 99);
        CHECK_EQ_U(sum.counters.out_of_step, 1);
}

TEST(no_diagnosis_without_desync)
{
        const char *data = getenv("DARKDAQ_TEST_DATA") ? getenv("DARKDAQ_TEST_DATA") : "tests/data";
        static const char *const dirs[] = { "mix-clean", "mix-faults", "wrap", "interleaved" };
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                struct replay_summary sum;
                size_t records = 0;
                REQUIRE(replay_dir(data, dirs[i], &sum, &records) == 0);
                CHECK_EQ_U(sum.n_out_of_step, 0);
        }
}

static uint8_t *slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        uint8_t *p = NULL;
        size_t cap = 0;
        *len = 0;
        if (!f)
                return NULL;
        for (;;) {
                if (*len == cap)
                        p = realloc(p, cap = cap ? 2 * cap : 65536);
                size_t n = fread(p + *len, 1, cap - *len, f);
                if (!n)
                        break;
                *len += n;
        }
        fclose(f);
        return p;
}

TEST(source_split_across_files_is_read_file_by_file)
{
        /* mix-clean with board 0 cut in two files at a fragment boundary,
         * both given before the other boards: the second part must wait
         * for the first, and the events come out the same. */
        const char *data = getenv("DARKDAQ_TEST_DATA") ? getenv("DARKDAQ_TEST_DATA") : "tests/data";
        char path[PATH_MAX], part[2][64];
        size_t len, cut = 0;
        snprintf(path, sizeof(path), "%s/mix-clean/board-0.raw", data);
        uint8_t *raw = slurp(path, &len);
        REQUIRE(raw && len > 1000);
        while (cut < len / 2)
                cut += 40 + (size_t)(raw[cut + 12] | raw[cut + 13] << 8 | raw[cut + 14] << 16);
        for (int i = 0; i < 2; i++) {
                snprintf(part[i], sizeof(part[i]), "/tmp/darkdaq-test-replay-XXXXXX");
                int fd = mkstemp(part[i]);
                REQUIRE(fd >= 0);
                const uint8_t *p = i ? raw + cut : raw;
                size_t n = i ? len - cut : cut;
                CHECK_EQ_I(write(fd, p, n), (ssize_t)n);
                close(fd);
        }
        char b[3][PATH_MAX];
        const char *paths[5] = { part[0], part[1], b[0], b[1], b[2] };
        for (int i = 0; i < 3; i++)
                snprintf(b[i], sizeof(b[i]), "%s/mix-clean/board-%d.raw", data, i + 1);
        struct got got = { 0 }, want = { 0 };
        struct builder_sink sink = { &got, on_event, on_late, on_junk, on_corrupt };
        struct replay_options opt;
        struct replay_summary sum;
        char err[512];
        replay_options_default(&opt);
        int r = replay_run(&opt, paths, 5, &sink, &sum, err, sizeof(err));
        CHECK_OK_ZERO(r);
        snprintf(path, sizeof(path), "%s/mix-clean/expected.jsonl", data);
        REQUIRE(read_expected(path, &want));
        CHECK_EQ_U(got.others.n, 0);
        CHECK_EQ_U(diff_lines("split", "event", &got.events, &want.events), 0);
        CHECK_EQ_U(sum.counters.bytes_out, sum.bytes_read);
        unlink(part[0]);
        unlink(part[1]);
        free(raw);
        lines_free(&got.events);
        lines_free(&got.others);
        lines_free(&want.events);
        lines_free(&want.others);
}

TEST(unreadable_file_names_it)
{
        const char *paths[] = { "tests/data/no-such-dir/board-0.raw" };
        struct replay_options opt;
        char err[512] = "";
        replay_options_default(&opt);
        int r = replay_run(&opt, paths, 1, NULL, NULL, err, sizeof(err));
        CHECK_ERRNO(r, -ENOENT);
        CHECK(strstr(err, "no-such-dir/board-0.raw") != NULL);
}

TEST_MAIN()
