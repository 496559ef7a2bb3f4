/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of runfile: write a run file (version 2, and version 1) and read it
 * back; a file cut at every byte of its last frame; rotation and seqs;
 * damaged frames skipped with a report and the frames after them read;
 * seq gaps, duplicates, forgeries, second headers, early trailers and
 * counts; garbage; recognising run files.  With DARKDAQ_RUNFILE_SAMPLE=PATH, sample_file also leaves a
 * small run file there (for tests/test_reader.py). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "crc32c.h"
#include "record.h"
#include "runfile.h"

/* A fresh directory of its own under $TMPDIR. */
static char *s_tmpdir(void)
{
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        char *dir;
        if (asprintf(&dir, "%s/test_runfile.XXXXXX", base) < 0)
                return NULL;
        if (!mkdtemp(dir)) {
                free(dir);
                return NULL;
        }
        return dir;
}

static void s_rmdir(char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                char *p;
                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&p, "%s/%s", dir, de->d_name) >= 0) {
                        unlink(p);
                        free(p);
                }
        }
        if (d)
                closedir(d);
        rmdir(dir);
        free(dir);
}

static uint8_t *s_slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
        if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
                free(b);
                b = NULL;
        }
        fclose(f);
        *len = (size_t)n;
        return b;
}

static uint8_t frag_bytes[4][200];
static struct built_frag frags[4];

/* Event number i: 4 fragments of 40 + 8i bytes (mod 160), tags by i. */
static void s_event(unsigned i, struct built_event *ev, struct tag_result *t)
{
        for (int s = 0; s < 4; s++) {
                uint32_t n = 40 + (8 * i + 4 * (unsigned)s) % 160;
                for (uint32_t k = 0; k < n; k++)
                        frag_bytes[s][k] = (uint8_t)(i * 31 + (unsigned)s * 7 + k);
                frags[s] = (struct built_frag){ frag_bytes[s], n, (uint8_t)s, 0, true,
                                                (uint32_t)s, 1000ull * i };
        }
        memset(ev, 0, sizeof *ev);
        ev->trigger = 100 + i;
        ev->time_ticks = 123456000 + 17ull * i;
        ev->trigger_bits = 256 + i % 13;
        ev->status = i % 5 == 4 ? (EV_INCOMPLETE | EV_CORRUPT) : EV_COMPLETE;
        ev->sources = 0xF;
        ev->missing = i % 5 == 4 ? 0x2 : 0;
        ev->frags = frags;
        ev->n_frags = 4;
        memset(t, 0, sizeof *t);
        t->n_tracks = i % 7;
        t->charge_sum = (int32_t)(i % 3) - 1;
        t->e_miss_gev = 0.5 * i;
        if (i % 3 == 0) {
                t->fired |= 1u << TAG_ZPRIME_INVISIBLE;
                t->zprime.recoil_m2_gev2 = 9.0 + i / 1000.0;
                t->zprime.recoil_theta_rad = 1.25;
        }
        if (i % 4 == 1) {
                t->fired |= 1u << TAG_MISSING_ENERGY | 1u << TAG_IDM_DARK_HIGGS;
                t->missing.e_miss_gev = 0.5 * i;
        }
}

static Darkdaq__Record *s_header(record_enc_t *e, uint32_t run)
{
        struct record_run_info info = { .run = run, .start_time_ns = 1700000000000000000ull,
                                        .config_text = "[builder]\nbuild_timeout_ms = 500\n",
                                        .sources = 0xF };
        return record_run_header(e, &info);
}

static unsigned g_version = 2;  /* the format s_write_file() writes */

/* Writes a run file at path: header, n events, a late, a junk, a corrupt,
 * trailer; sender 5, seqs from 0. */
static int s_write_file(const char *path, unsigned n_events)
{
        record_enc_t *e = record_enc_new();
        runfile_writer_t *w;
        struct runfile_writer_opts o = { .path = path, .sender = 5, .version = g_version };
        if (!e)
                return -ENOMEM;
        int r = runfile_writer_open(&w, &o, s_header(e, 7));
        if (r < 0) {
                record_enc_free(e);
                return r;
        }
        for (unsigned i = 0; i < n_events && r == 0; i++) {
                struct built_event ev;
                struct tag_result t;
                s_event(i, &ev, &t);
                r = runfile_writer_write(w, record_event(e, &ev, &t));
        }
        uint8_t raw[40] = "DKFR";
        struct built_late l = { 1, 500, 2, 90, raw, 40 };
        struct built_junk j = { 0, 4096, raw, 12, "no header magic" };
        struct built_corrupt c = { 3, 8192, 3, 99, raw, 40, "crc mismatch" };
        if (r == 0)
                r = runfile_writer_write(w, record_late(e, &l));
        if (r == 0)
                r = runfile_writer_write(w, record_junk(e, &j));
        if (r == 0)
                r = runfile_writer_write(w, record_corrupt(e, &c));
        struct builder_counters bc;
        memset(&bc, 0, sizeof bc);
        bc.events = n_events;
        struct record_totals tot = { .counters = &bc, .end_reason = "end of input" };
        if (r == 0)
                r = runfile_writer_close(w, record_trailer(e, &tot));
        else
                runfile_writer_free(w);
        record_enc_free(e);
        return r;
}

static void s_read_back(unsigned version)
{
        g_version = version;
        char *dir = s_tmpdir();
        REQUIRE(dir);
        char path[512];
        snprintf(path, sizeof path, "%s/out.dkr", dir);
        REQUIRE_OK_ZERO(s_write_file(path, 50));

        runfile_reader_t *r;
        REQUIRE_OK_ZERO(runfile_reader_open(&r, path));
        const Darkdaq__Record *rec;
        uint64_t off, prev_off = 0;
        unsigned n = 0, events = 0;
        while (runfile_reader_next(r, &rec, &off) > 0) {
                CHECK(n == 0 ? off == (version == 2 ? 8 : 0) : off > prev_off);
                prev_off = off;
                const struct runfile_frame *fr = runfile_reader_frame(r);
                CHECK_EQ_U(fr->offset, off);
                CHECK_EQ_U(fr->sender, version == 2 ? 5 : 0);
                CHECK_EQ_U(fr->seq, version == 2 ? n : RUNFILE_NO_SEQ);
                if (n == 0) {
                        REQUIRE(rec->body_case == DARKDAQ__RECORD__BODY_RUN_HEADER);
                        CHECK_EQ_U(rec->run_header->run, 7);
                        CHECK_EQ_U(rec->run_header->file_sequence, 0);
                        CHECK_STR(rec->run_header->config_text,
                                  "[builder]\nbuild_timeout_ms = 500\n");
                        CHECK_EQ_U(strlen(rec->run_header->config_hash), 64);
                        CHECK_EQ_U(rec->run_header->n_sources, 4);
                } else if (n <= 50) {
                        struct built_event ev;
                        struct tag_result t;
                        s_event(n - 1, &ev, &t);
                        REQUIRE(rec->body_case == DARKDAQ__RECORD__BODY_EVENT);
                        const Darkdaq__Event *m = rec->event;
                        CHECK_EQ_U(m->trigger, ev.trigger);
                        CHECK_EQ_U(m->time_ticks, ev.time_ticks);
                        CHECK_EQ_U(m->n_fragments, 4);
                        CHECK_EQ_U(m->fragments[3]->raw.len, frags[3].bytes);
                        CHECK(memcmp(m->fragments[3]->raw.data, frags[3].data,
                                     frags[3].bytes) == 0);
                        CHECK(m->e_miss_gev == t.e_miss_gev);
                        CHECK(!!m->tags->zprime_invisible == !!(t.fired & 1));
                        events++;
                } else if (n == 51) {
                        CHECK(rec->body_case == DARKDAQ__RECORD__BODY_LATE);
                } else if (n == 52) {
                        CHECK(rec->body_case == DARKDAQ__RECORD__BODY_JUNK);
                } else if (n == 53) {
                        CHECK(rec->body_case == DARKDAQ__RECORD__BODY_CORRUPT);
                } else if (n == 54) {
                        REQUIRE(rec->body_case == DARKDAQ__RECORD__BODY_RUN_TRAILER);
                        CHECK_EQ_U(rec->run_trailer->records_in_file, 55);
                        CHECK(!rec->run_trailer->continued);
                        CHECK_STR(rec->run_trailer->end_reason, "end of input");
                        CHECK(rec->run_trailer->end_time_ns > 0);
                }
                n++;
        }
        CHECK_EQ_U(n, 55);
        CHECK_EQ_U(events, 50);
        const struct runfile_stop *st = runfile_reader_stop(r);
        CHECK(st->kind == RUNFILE_END);
        CHECK_EQ_U(st->offset, runfile_reader_size(r));
        CHECK_EQ_U(st->frame, 55);
        /* Stopped stays stopped. */
        CHECK_EQ_I(runfile_reader_next(r, &rec, &off), 0);
        CHECK_EQ_U(runfile_reader_reports(r), 0);
        CHECK_EQ_U(runfile_reader_version(r), version);
        runfile_reader_free(r);
        s_rmdir(dir);
        g_version = 2;
}

TEST(write_and_read_back)
{
        s_read_back(2);
        s_read_back(1);
}

static uint32_t s_get32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool s_is_v2(const uint8_t *b, size_t len)
{
        return len >= 8 && s_get32(b) == RUNFILE_FILE_MAGIC;
}

/* Frame header bytes of an image's format. */
static size_t s_hb(const uint8_t *b, size_t len)
{
        return s_is_v2(b, len) ? RUNFILE_FRAME2_HEADER : RUNFILE_FRAME_HEADER;
}

/* Offsets of the frames of a well-formed image (either version). */
static size_t s_frames(const uint8_t *b, size_t len, size_t *offs, size_t max)
{
        bool v2 = s_is_v2(b, len);
        size_t n = 0, pos = v2 ? 8 : 0, hb = s_hb(b, len);
        while (pos + hb <= len && n < max) {
                offs[n++] = pos;
                pos += hb + s_get32(b + pos + (v2 ? 4 : 0));
        }
        return n;
}

static void s_cut_test(unsigned version)
{
        g_version = version;
        char *dir = s_tmpdir();
        REQUIRE(dir);
        char path[512];
        snprintf(path, sizeof path, "%s/cut.dkr", dir);
        REQUIRE_OK_ZERO(s_write_file(path, 5));
        size_t len;
        uint8_t *img = s_slurp(path, &len);
        REQUIRE(img);
        size_t offs[64];
        size_t nf = s_frames(img, len, offs, 64);
        REQUIRE(nf == 10);
        size_t last = offs[nf - 1];
        size_t hb = s_hb(img, len);

        for (size_t cut = last; cut < len; cut++) {
                /* A copy of exactly cut bytes, so ASan sees any overread. */
                uint8_t *part = malloc(cut ? cut : 1);
                REQUIRE(part);
                memcpy(part, img, cut);
                runfile_reader_t *r = runfile_reader_new_mem(part, cut);
                REQUIRE(r);
                const Darkdaq__Record *rec;
                size_t n = 0;
                while (runfile_reader_next(r, &rec, NULL) > 0)
                        n++;
                const struct runfile_stop *st = runfile_reader_stop(r);
                CHECK_EQ_U(n, nf - 1);
                CHECK_EQ_U(st->offset, last);
                CHECK_EQ_U(st->frame, nf - 1);
                if (cut == last) {
                        CHECK(st->kind == RUNFILE_END);
                } else if (cut - last < hb) {
                        CHECK(st->kind == RUNFILE_HEADER_CUT);
                        CHECK(strstr(st->reason, "frame header cut at byte") != NULL);
                } else {
                        char want[128];
                        snprintf(want, sizeof want,
                                 "frame cut at byte %zu: header says %zu bytes, %zu present",
                                 last, len - last - hb, cut - last - hb);
                        CHECK(st->kind == RUNFILE_CUT);
                        CHECK_STR(st->reason, want);
                }
                CHECK_EQ_U(runfile_reader_reports(r), 0);
                runfile_reader_free(r);
                free(part);
        }

        /* The same through a real file, cut in the middle of the last frame. */
        REQUIRE(truncate(path, (off_t)(last + hb + 3)) == 0);
        runfile_reader_t *r;
        REQUIRE_OK_ZERO(runfile_reader_open(&r, path));
        const Darkdaq__Record *rec;
        size_t n = 0;
        while (runfile_reader_next(r, &rec, NULL) > 0)
                n++;
        CHECK_EQ_U(n, nf - 1);
        CHECK(runfile_reader_stop(r)->kind == RUNFILE_CUT);
        CHECK_EQ_U(runfile_reader_stop(r)->offset, last);
        runfile_reader_free(r);
        free(img);
        s_rmdir(dir);
        g_version = 2;
}

TEST(cut_at_every_byte_of_last_frame)
{
        s_cut_test(2);
        s_cut_test(1);
}

struct trailer_ctx {
        record_enc_t *enc;
        unsigned calls;
};

static Darkdaq__Record *s_rotation_trailer(void *ctx)
{
        struct trailer_ctx *t = ctx;
        struct record_totals tot = { .end_reason = "ignored" };
        t->calls++;
        return record_trailer(t->enc, &tot);
}

TEST(rotation)
{
        char *dir = s_tmpdir();
        REQUIRE(dir);
        record_enc_t *e = record_enc_new();
        REQUIRE(e);
        struct trailer_ctx tc = { .enc = e };
        const uint64_t max = 3000;
        struct runfile_writer_opts o = { .dir = dir, .max_file_bytes = max,
                                         .trailer = s_rotation_trailer, .trailer_ctx = &tc,
                                         .sender = 9 };
        runfile_writer_t *w;
        REQUIRE_OK_ZERO(runfile_writer_open(&w, &o, s_header(e, 42)));
        CHECK(strstr(runfile_writer_path(w), "/run-000042-000.dkr") != NULL);
        for (unsigned i = 0; i < 60; i++) {
                struct built_event ev;
                struct tag_result t;
                s_event(i, &ev, &t);
                REQUIRE_OK_ZERO(runfile_writer_write(w, record_event(e, &ev, &t)));
        }
        unsigned last_seq = runfile_writer_sequence(w);
        CHECK(last_seq >= 3);
        CHECK_EQ_U(tc.calls, last_seq);
        struct record_totals tot = { .end_reason = "stop" };
        REQUIRE_OK_ZERO(runfile_writer_close(w, record_trailer(e, &tot)));

        /* A second writer for the same run must not overwrite its files. */
        CHECK_ERRNO(runfile_writer_open(&w, &o, s_header(e, 42)), -EEXIST);

        unsigned events = 0, expect_trigger = 100;
        uint64_t expect_seq = 0;
        struct runfile_seqs seqs = { 0 };
        for (unsigned seq = 0; seq <= last_seq; seq++) {
                char name[64], path[600];
                REQUIRE_OK_ZERO(runfile_name(name, sizeof name, 42, seq));
                snprintf(path, sizeof path, "%s/%s", dir, name);
                runfile_reader_t *r;
                REQUIRE_OK_ZERO(runfile_reader_open(&r, path));
                runfile_reader_set_seqs(r, &seqs);
                const Darkdaq__Record *rec, *last = NULL;
                unsigned n = 0;
                bool first_is_header = false;
                while (runfile_reader_next(r, &rec, NULL) > 0) {
                        /* The run's records are numbered from 0 across the files;
                         * the copies of the header and the rotation trailers
                         * are the writer's and carry no seq. */
                        const struct runfile_frame *fr = runfile_reader_frame(r);
                        CHECK_EQ_U(fr->sender, 9);
                        bool own = (seq > 0 && n == 0) ||
                                   (seq < last_seq &&
                                    rec->body_case == DARKDAQ__RECORD__BODY_RUN_TRAILER);
                        if (own) {
                                CHECK_EQ_U(fr->seq, RUNFILE_NO_SEQ);
                        } else {
                                CHECK_EQ_U(fr->seq, expect_seq);
                                expect_seq++;
                        }
                        if (n == 0)
                                first_is_header = rec->body_case ==
                                                          DARKDAQ__RECORD__BODY_RUN_HEADER &&
                                                  rec->run_header->file_sequence == seq &&
                                                  rec->run_header->run == 42;
                        if (rec->body_case == DARKDAQ__RECORD__BODY_EVENT) {
                                CHECK_EQ_U(rec->event->trigger, expect_trigger);
                                expect_trigger++;
                                events++;
                        }
                        n++;
                        last = rec;
                }
                CHECK(first_is_header);
                CHECK(runfile_reader_stop(r)->kind == RUNFILE_END);
                REQUIRE(last && last->body_case == DARKDAQ__RECORD__BODY_RUN_TRAILER);
                CHECK_EQ_U(last->run_trailer->records_in_file, n);
                CHECK(!!last->run_trailer->continued == (seq < last_seq));
                CHECK_STR(last->run_trailer->end_reason, seq < last_seq ? "rotate" : "stop");
                /* The limit holds but for the trailer. */
                uint64_t trailer_bytes = RUNFILE_FRAME2_HEADER +
                                         protobuf_c_message_get_packed_size(&last->base);
                CHECK(runfile_reader_size(r) - trailer_bytes <= max);
                /* A continuation file is no gap: seqs carried across files. */
                CHECK_EQ_U(runfile_reader_reports(r), 0);
                runfile_reader_free(r);
        }
        CHECK_EQ_U(events, 60);
        CHECK_EQ_U(expect_seq, 62);     /* header, 60 events, the last trailer */
        char name[64], path[600];
        runfile_name(name, sizeof name, 42, last_seq + 1);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        CHECK(access(path, F_OK) != 0);
        record_enc_free(e);
        s_rmdir(dir);
}

TEST(writer_options)
{
        record_enc_t *e = record_enc_new();
        REQUIRE(e);
        runfile_writer_t *w = NULL;
        struct runfile_writer_opts both = { .path = "/tmp/x", .dir = "/tmp" };
        struct runfile_writer_opts none = { 0 };
        struct runfile_writer_opts path_rot = { .path = "/tmp/x", .max_file_bytes = 100 };
        CHECK_ERRNO(runfile_writer_open(&w, &both, s_header(e, 1)), -EINVAL);
        CHECK_ERRNO(runfile_writer_open(&w, &none, s_header(e, 1)), -EINVAL);
        CHECK_ERRNO(runfile_writer_open(&w, &path_rot, s_header(e, 1)), -EINVAL);
        struct runfile_writer_opts ok = { .path = "/nonexistent-dir/x.dkr" };
        CHECK_ERRNO(runfile_writer_open(&w, &ok, s_header(e, 1)), -ENOENT);
        struct built_junk j = { 0, 0, (const uint8_t *)"x", 1, "r" };
        CHECK_ERRNO(runfile_writer_open(&w, &ok, record_junk(e, &j)), -EINVAL);
        CHECK(w == NULL);
        char name[64];
        CHECK_OK_ZERO(runfile_name(name, sizeof name, 12, 3));
        CHECK_STR(name, "run-000012-003.dkr");
        CHECK_FAIL(runfile_name(name, 8, 12, 3));
        record_enc_free(e);
}

/* A crash: frames written, no trailer; packed records written as given. */
TEST(no_trailer_and_packed)
{
        char *dir = s_tmpdir();
        REQUIRE(dir);
        char path[512];
        snprintf(path, sizeof path, "%s/crash.dkr", dir);
        record_enc_t *e = record_enc_new();
        REQUIRE(e);
        runfile_writer_t *w;
        struct runfile_writer_opts o = { .path = path };
        REQUIRE_OK_ZERO(runfile_writer_open(&w, &o, s_header(e, 3)));
        struct built_event ev;
        struct tag_result t;
        s_event(3, &ev, &t);
        Darkdaq__Record *rec = record_event(e, &ev, &t);
        size_t n = protobuf_c_message_get_packed_size(&rec->base);
        uint8_t *buf = malloc(n);
        REQUIRE(buf);
        protobuf_c_message_pack(&rec->base, buf);
        CHECK_OK_ZERO(runfile_writer_write_packed(w, buf, n));
        CHECK_OK_ZERO(runfile_writer_flush(w));
        struct stat sb;
        CHECK(stat(path, &sb) == 0 && runfile_writer_file_bytes(w) == (uint64_t)sb.st_size);
        runfile_writer_free(w);

        size_t len;
        uint8_t *img = s_slurp(path, &len);
        REQUIRE(img);
        runfile_reader_t *r = runfile_reader_new_mem(img, len);
        REQUIRE(r);
        const Darkdaq__Record *got;
        REQUIRE(runfile_reader_next(r, &got, NULL) == 1);
        CHECK(got->body_case == DARKDAQ__RECORD__BODY_RUN_HEADER);
        REQUIRE(runfile_reader_next(r, &got, NULL) == 1);
        REQUIRE(got->body_case == DARKDAQ__RECORD__BODY_EVENT);
        CHECK_EQ_U(got->event->trigger, 103);
        CHECK_EQ_I(runfile_reader_next(r, &got, NULL), 0);
        CHECK(runfile_reader_stop(r)->kind == RUNFILE_END);
        runfile_reader_free(r);
        free(img);
        free(buf);
        record_enc_free(e);
        s_rmdir(dir);
}

/* Reports collected while reading. */
struct reports {
        unsigned n;
        struct runfile_report r[32];
};

static void s_collect(void *ctx, const struct runfile_report *rep)
{
        struct reports *rs = ctx;
        if (rs->n < 32)
                rs->r[rs->n] = *rep;
        rs->n++;
}

/* Reads an image to its stop; returns the records read (their offsets in
 * offs_out when not NULL), the reports in *reps when not NULL. */
static size_t s_read_rep(const uint8_t *b, size_t len, struct runfile_stop *ret,
                         struct reports *reps, uint64_t *offs_out, uint64_t *seqs_out)
{
        runfile_reader_t *r = runfile_reader_new_mem(b, len);
        const Darkdaq__Record *rec;
        uint64_t off;
        size_t n = 0;
        if (!r)
                return 0;
        if (reps) {
                memset(reps, 0, sizeof *reps);
                runfile_reader_set_report(r, s_collect, reps);
        }
        while (runfile_reader_next(r, &rec, &off) > 0) {
                if (offs_out && n < 64)
                        offs_out[n] = off;
                if (seqs_out && n < 64)
                        seqs_out[n] = runfile_reader_frame(r)->seq;
                n++;
        }
        *ret = *runfile_reader_stop(r);
        runfile_reader_free(r);
        return n;
}

static size_t s_read_all(const uint8_t *b, size_t len, struct runfile_stop *ret)
{
        return s_read_rep(b, len, ret, NULL, NULL, NULL);
}

/* The damage of one kind at frame k: every other frame is read, once, and
 * one SKIPPED report names the offset and the bytes skipped. */
static void s_expect_skip(const uint8_t *img, size_t len, const size_t *offs, size_t k,
                          size_t skipped)
{
        struct runfile_stop st;
        struct reports reps;
        uint64_t got[64];
        CHECK_EQ_U(s_read_rep(img, len, &st, &reps, got, NULL), 9);
        CHECK_EQ_U(st.kind, RUNFILE_END);
        REQUIRE(reps.n >= 1);
        CHECK_EQ_U(reps.r[0].kind, RUNFILE_REPORT_SKIPPED);
        CHECK_EQ_U(reps.r[0].offset, offs[k]);
        CHECK_EQ_U(reps.r[0].skipped, skipped);
        char want[64];
        snprintf(want, sizeof want, "bytes skipped to the next good frame at byte %zu",
                 offs[k] + skipped);
        CHECK(strstr(reps.r[0].reason, want) != NULL);
        for (size_t i = 0, j = 0; i < 10; i++)
                if (i != k)
                        CHECK_EQ_U(got[j++], offs[i]);
}

static void s_damage_test(unsigned version)
{
        g_version = version;
        char *dir = s_tmpdir();
        REQUIRE(dir);
        char path[512];
        snprintf(path, sizeof path, "%s/d.dkr", dir);
        REQUIRE_OK_ZERO(s_write_file(path, 5));
        size_t len;
        uint8_t *img = s_slurp(path, &len);
        REQUIRE(img);
        size_t offs[64];
        REQUIRE(s_frames(img, len, offs, 64) == 10);
        size_t hb = s_hb(img, len);
        size_t f2 = offs[3] - offs[2];
        struct runfile_stop st;
        struct reports reps;

        /* A flipped payload byte in frame 2: reported, frames 3.. read. */
        img[offs[2] + hb + 5] ^= 0x10;
        s_expect_skip(img, len, offs, 2, f2);
        s_read_rep(img, len, &st, &reps, NULL, NULL);
        char want[64];
        snprintf(want, sizeof want, "crc mismatch at frame 2 offset %zu", offs[2]);
        CHECK(strncmp(reps.r[0].reason, want, strlen(want)) == 0);
        img[offs[2] + hb + 5] ^= 0x10;

        /* A flipped CRC byte. */
        img[offs[4] + hb - 2] ^= 1;
        s_expect_skip(img, len, offs, 4, offs[5] - offs[4]);
        img[offs[4] + hb - 2] ^= 1;

        /* A length past the end of the file, and one beyond belief: the
         * next frame is found by scanning. */
        size_t lo = version == 2 ? 4 : 0;
        img[offs[3] + lo + 2] ^= 0x01;
        s_expect_skip(img, len, offs, 3, offs[4] - offs[3]);
        img[offs[3] + lo + 2] ^= 0x01;
        uint8_t keep = img[offs[3] + lo + 3];
        img[offs[3] + lo + 3] = 0xFF;
        s_expect_skip(img, len, offs, 3, offs[4] - offs[3]);
        img[offs[3] + lo + 3] = keep;

        /* The same flipped byte in the last frame: nothing good after it,
         * so it is the stop, not a report. */
        img[offs[9] + hb + 1] ^= 0x10;
        CHECK_EQ_U(s_read_rep(img, len, &st, &reps, NULL, NULL), 9);
        CHECK_EQ_U(st.kind, RUNFILE_CRC);
        CHECK_EQ_U(st.offset, offs[9]);
        CHECK_EQ_U(reps.n, 0);
        img[offs[9] + hb + 1] ^= 0x10;

        /* 40 zeroed bytes from the middle of frame 1 into frame 2: both
         * frames lost and said, everything from frame 3 read. */
        {
                uint8_t *z = malloc(len);
                REQUIRE(z);
                memcpy(z, img, len);
                memset(z + offs[2] - 20, 0, 40);
                uint64_t got[64];
                CHECK_EQ_U(s_read_rep(z, len, &st, &reps, got, NULL), 8);
                CHECK_EQ_U(st.kind, RUNFILE_END);
                CHECK(reps.n >= 1);
                CHECK_EQ_U(reps.r[0].offset, offs[1]);
                CHECK_EQ_U(reps.r[0].skipped, offs[3] - offs[1]);
                CHECK_EQ_U(got[1], offs[3]);
                free(z);
        }

        /* Bytes appended after the trailer: a cut frame at the end. */
        {
                uint8_t *x = malloc(len + 100);
                REQUIRE(x);
                memcpy(x, img, len);
                memset(x + len, 0x5A, 100);
                CHECK_EQ_U(s_read_all(x, len + 100, &st), 10);
                CHECK(st.kind != RUNFILE_END);
                CHECK_EQ_U(st.offset, len);
                free(x);
        }
        free(img);
        s_rmdir(dir);
        g_version = 2;
}

TEST(damaged_frames)
{
        s_damage_test(2);
        s_damage_test(1);

        /* Good CRC, bad protobuf; and an empty frame (zeros after a crash). */
        struct runfile_stop st;
        uint8_t bad[8 + 6] = { 0 };
        memcpy(bad + 8, "\xff\xff\xff\xff\xff\xff", 6);
        runfile_frame_header(bad, bad + 8, 6);
        CHECK_EQ_U(s_read_all(bad, sizeof bad, &st), 0);
        CHECK_EQ_U(st.kind, RUNFILE_PARSE);
        CHECK(strstr(st.reason, "record does not parse at frame 0 offset 0") != NULL);
        uint8_t zeros[64] = { 0 };
        CHECK_EQ_U(s_read_all(zeros, sizeof zeros, &st), 0);
        CHECK_EQ_U(st.kind, RUNFILE_PARSE);

        /* An empty image, and NULL. */
        CHECK_EQ_U(s_read_all(zeros, 0, &st), 0);
        CHECK_EQ_U(st.kind, RUNFILE_END);
        CHECK_EQ_U(s_read_all(NULL, 5, &st), 0);
        CHECK_EQ_U(st.kind, RUNFILE_END);

        /* A file magic with another version. */
        uint8_t v9[16] = "DKRN\x09";
        CHECK_EQ_U(s_read_all(v9, sizeof v9, &st), 0);
        CHECK_EQ_U(st.kind, RUNFILE_VERSION_UNKNOWN);
}

/* Builds a v2 image frame by frame for the seq and structure tests. */
struct img {
        uint8_t b[8192];
        size_t len;
};

static void s_img_start(struct img *m)
{
        runfile_file_header(m->b);
        m->len = RUNFILE_FILE_HEADER;
}

static size_t s_img_frame(struct img *m, const Darkdaq__Record *rec, uint64_t seq)
{
        size_t n = protobuf_c_message_get_packed_size(&rec->base);
        size_t at = m->len;
        protobuf_c_message_pack(&rec->base, m->b + at + RUNFILE_FRAME2_HEADER);
        runfile_frame2_header(m->b + at, m->b + at + RUNFILE_FRAME2_HEADER, (uint32_t)n, 5, seq);
        m->len += RUNFILE_FRAME2_HEADER + n;
        return at;
}

static size_t s_img_event(struct img *m, record_enc_t *e, unsigned i, uint64_t seq)
{
        struct built_event ev;
        struct tag_result t;
        s_event(i, &ev, &t);
        return s_img_frame(m, record_event(e, &ev, &t), seq);
}

static size_t s_img_trailer(struct img *m, record_enc_t *e, uint64_t seq, uint64_t records)
{
        struct record_totals tot = { .end_reason = "stop" };
        Darkdaq__Record *t = record_trailer(e, &tot);
        t->run_trailer->records_in_file = records;
        return s_img_frame(m, t, seq);
}

static unsigned s_count_kind(const struct reports *r, enum runfile_report_kind k)
{
        unsigned n = 0;
        for (unsigned i = 0; i < r->n && i < 32; i++)
                n += r->r[i].kind == k;
        return n;
}

TEST(seqs_and_structure)
{
        record_enc_t *e = record_enc_new();
        REQUIRE(e);
        struct img m;
        struct reports reps;
        struct runfile_stop st;
        uint64_t seqs[64];

        /* A duplicated frame: reported, returned once. */
        s_img_start(&m);
        s_img_frame(&m, s_header(e, 7), 0);
        s_img_event(&m, e, 0, 1);
        size_t a = s_img_event(&m, e, 1, 2);
        size_t dup_len = m.len - a;
        memcpy(m.b + m.len, m.b + a, dup_len);
        size_t dup_at = m.len;
        m.len += dup_len;
        s_img_event(&m, e, 2, 3);
        s_img_trailer(&m, e, 4, 5);
        CHECK_EQ_U(s_read_rep(m.b, m.len, &st, &reps, NULL, seqs), 5);
        CHECK_EQ_U(st.kind, RUNFILE_END);
        CHECK_EQ_U(reps.n, 1);
        CHECK_EQ_U(reps.r[0].kind, RUNFILE_REPORT_DUPLICATE);
        CHECK_EQ_U(reps.r[0].offset, dup_at);
        for (unsigned i = 0; i < 5; i++)
                CHECK_EQ_U(seqs[i], i);

        /* A missing frame: a gap, and the trailer's count does not hold. */
        s_img_start(&m);
        s_img_frame(&m, s_header(e, 7), 0);
        s_img_event(&m, e, 0, 1);
        s_img_event(&m, e, 2, 3);
        s_img_trailer(&m, e, 4, 5);
        CHECK_EQ_U(s_read_rep(m.b, m.len, &st, &reps, NULL, NULL), 4);
        CHECK_EQ_U(s_count_kind(&reps, RUNFILE_REPORT_GAP), 1);
        CHECK_EQ_U(s_count_kind(&reps, RUNFILE_REPORT_COUNT), 1);
        CHECK(strstr(reps.r[0].reason, "seqs 2..2 of sender 5 missing") != NULL);

        /* A second header and a trailer in the middle. */
        s_img_start(&m);
        s_img_frame(&m, s_header(e, 7), 0);
        s_img_event(&m, e, 0, 1);
        s_img_frame(&m, s_header(e, 7), 2);
        s_img_trailer(&m, e, 3, 4);
        s_img_event(&m, e, 1, 4);
        s_img_trailer(&m, e, 5, 6);
        CHECK_EQ_U(s_read_rep(m.b, m.len, &st, &reps, NULL, NULL), 6);
        CHECK_EQ_U(s_count_kind(&reps, RUNFILE_REPORT_SECOND_HEADER), 1);
        CHECK_EQ_U(s_count_kind(&reps, RUNFILE_REPORT_EARLY_TRAILER), 1);

        /* A frame forged inside a junk record's raw bytes, with a seq that is
         * not the next one: after a damaged frame, resynchronisation finds
         * the forgery, which is reported, never silently accepted; the real
         * frames after it are all read... */
        s_img_start(&m);
        s_img_frame(&m, s_header(e, 7), 0);
        s_img_event(&m, e, 0, 1);
        struct img forged;
        forged.len = 0;
        s_img_event(&forged, e, 9, 77);
        uint8_t raw[1200];
        memset(raw, 0xAB, sizeof raw);
        memcpy(raw + 100, forged.b, forged.len);
        struct built_junk j = { 0, 4096, raw, sizeof raw, "no header magic" };
        size_t junk_at = s_img_frame(&m, record_junk(e, &j), 2);
        s_img_event(&m, e, 1, 3);
        s_img_trailer(&m, e, 4, 5);
        /* ...damage the junk frame's length so the frame after it cannot be
         * found by the length: the scan meets the forgery first. */
        m.b[junk_at + 4] ^= 0x02;
        CHECK_EQ_U(s_read_rep(m.b, m.len, &st, &reps, NULL, seqs), 5);
        CHECK_EQ_U(reps.r[0].kind, RUNFILE_REPORT_SKIPPED);
        CHECK_EQ_U(reps.r[0].offset, junk_at);
        CHECK_EQ_U(seqs[2], 77);
        CHECK_EQ_U(seqs[3], 3);
        CHECK_EQ_U(seqs[4], 4);
        /* ...the rest of the junk frame is skipped again, and the real
         * frame found after it is said to follow a missing seq 2. */
        REQUIRE(reps.n == 4);
        CHECK_EQ_U(reps.r[1].kind, RUNFILE_REPORT_RESYNC_SEQ);
        CHECK(strstr(reps.r[1].reason, "seq 77") != NULL);
        CHECK_EQ_U(reps.r[2].kind, RUNFILE_REPORT_SKIPPED);
        CHECK_EQ_U(reps.r[3].kind, RUNFILE_REPORT_RESYNC_SEQ);
        CHECK(strstr(reps.r[3].reason, "seqs 2..2 missing") != NULL);
        CHECK_EQ_U(s_count_kind(&reps, RUNFILE_REPORT_DUPLICATE), 0);

        /* Damage that takes frames 1..2 whole: the frame found next, seq 3,
         * is reported, and the one after it (4) is believed without a gap. */
        s_img_start(&m);
        s_img_frame(&m, s_header(e, 7), 0);
        size_t d0 = s_img_event(&m, e, 0, 1);
        s_img_event(&m, e, 1, 2);
        size_t d1 = s_img_event(&m, e, 2, 3);
        s_img_event(&m, e, 3, 4);
        s_img_trailer(&m, e, 5, 6);
        memset(m.b + d0, 0x11, d1 - d0);
        CHECK_EQ_U(s_read_rep(m.b, m.len, &st, &reps, NULL, seqs), 4);
        CHECK_EQ_U(reps.r[0].kind, RUNFILE_REPORT_SKIPPED);
        CHECK_EQ_U(reps.r[0].skipped, d1 - d0);
        CHECK_EQ_U(s_count_kind(&reps, RUNFILE_REPORT_RESYNC_SEQ), 1);
        CHECK_EQ_U(s_count_kind(&reps, RUNFILE_REPORT_GAP), 0);
        record_enc_free(e);
}

/* A v2 file whose header frame is damaged is still a run file, and its
 * events are read. */
TEST(damaged_header_frame)
{
        char *dir = s_tmpdir();
        REQUIRE(dir);
        char path[512];
        snprintf(path, sizeof path, "%s/h.dkr", dir);
        REQUIRE_OK_ZERO(s_write_file(path, 5));
        size_t len;
        uint8_t *img = s_slurp(path, &len);
        REQUIRE(img);
        img[8 + RUNFILE_FRAME2_HEADER + 3] ^= 0x55;
        CHECK(runfile_is_run_file(img, len));
        struct runfile_stop st;
        struct reports reps;
        CHECK_EQ_U(s_read_rep(img, len, &st, &reps, NULL, NULL), 9);
        CHECK_EQ_U(st.kind, RUNFILE_END);
        CHECK_EQ_U(reps.r[0].offset, 8);
        /* The file magic damaged too: the sync word after it still says v2. */
        img[1] ^= 0xFF;
        CHECK_EQ_U(s_read_rep(img, len, &st, &reps, NULL, NULL), 9);
        CHECK_EQ_U(st.kind, RUNFILE_END);
        free(img);
        s_rmdir(dir);
}

TEST(garbage_does_not_crash)
{
        uint64_t x = 0x9E3779B97F4A7C15ull;
        for (int round = 0; round < 2000; round++) {
                size_t len = (size_t)(round % 300);
                uint8_t *b = malloc(len + 1);
                REQUIRE(b);
                for (size_t i = 0; i < len; i++) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        b[i] = (uint8_t)x;
                }
                /* Now and then a believable frame header around the garbage,
                 * v1 or v2. */
                if (round % 4 == 1 && len >= 8)
                        runfile_frame_header(b, b + 8, (uint32_t)(len - 8));
                if (round % 4 == 3 && len >= 8 + RUNFILE_FRAME2_HEADER) {
                        runfile_file_header(b);
                        runfile_frame2_header(b + 8, b + 8 + RUNFILE_FRAME2_HEADER,
                                              (uint32_t)(len - 8 - RUNFILE_FRAME2_HEADER), 1,
                                              round);
                }
                struct runfile_stop st;
                s_read_all(b, len, &st);
                CHECK(st.kind != RUNFILE_READING);
                runfile_is_run_file(b, len);
                free(b);
        }
}

TEST(recognise_run_files)
{
        char *dir = s_tmpdir();
        REQUIRE(dir);
        char path[512];
        snprintf(path, sizeof path, "%s/r.dkr", dir);
        REQUIRE_OK_ZERO(s_write_file(path, 2));
        size_t len;
        uint8_t *img = s_slurp(path, &len);
        REQUIRE(img);
        CHECK(runfile_is_run_file(img, len));   /* v2: by its file magic */
        CHECK(runfile_is_run_file(img, 8));
        CHECK(!runfile_is_run_file(img, 7));
        free(img);
        g_version = 1;
        REQUIRE_OK_ZERO(s_write_file(path, 2));
        g_version = 2;
        img = s_slurp(path, &len);
        REQUIRE(img);
        CHECK(runfile_is_run_file(img, len));
        CHECK(runfile_is_run_file(img, 12));    /* frame not whole: by length and tag */
        CHECK(!runfile_is_run_file(img, 9));
        img[9] ^= 0x40;                         /* inner length no longer fits */
        CHECK(!runfile_is_run_file(img, len));
        img[9] ^= 0x40;
        img[20] ^= 1;                           /* CRC fails */
        CHECK(!runfile_is_run_file(img, len));
        free(img);

        char raw[512];
        snprintf(raw, sizeof raw, "%s/%s", TEST_DATA("mix-clean/board-0.raw"));
        img = s_slurp(raw, &len);
        REQUIRE(img);
        CHECK(!runfile_is_run_file(img, len < 4096 ? len : 4096));
        free(img);
        CHECK(!runfile_is_run_file((const uint8_t *)"DKFR", 4));
        s_rmdir(dir);
}

/* Leaves a run file for the Python reader's tests when asked to. */
TEST(sample_file)
{
        const char *path = getenv("DARKDAQ_RUNFILE_SAMPLE");
        if (!path)
                return;
        CHECK_OK_ZERO(s_write_file(path, 24));
}

TEST_MAIN()
