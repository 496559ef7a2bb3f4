/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the spool file: frames read back as written; a cut at every
 * length and a flipped byte at every offset lose only the frame they hit,
 * each reported where it is; which frames can be sent after a loss; the
 * writer's file (temporary name, rename, a record larger than its buffer,
 * a failure naming the file), keeping a copy and removing it. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "crc32c.h"
#include "spool.h"

#define SENDER  5
#define FRAMES  24

struct built {
        uint8_t *buf;
        size_t len;
        size_t off[FRAMES + 1];         /* each frame's offset; off[FRAMES] = len */
        struct storage_data d[FRAMES];
        enum spool_kind kind[FRAMES];
};

static size_t s_rec_len(unsigned i)
{
        return 1 + (i * 37) % 300;
}

static uint8_t s_pattern(unsigned i, size_t k)
{
        return (uint8_t)(i * 29 + k * 3 + 1);
}

/* Two runs: header of 8, records 10..19 of 8; header of 9, records 0..11. */
static void s_build(struct built *b)
{
        size_t cap = SPOOL_FILE_HEADER + FRAMES * (SPOOL_FRAME_HEAD + 300);
        b->buf = malloc(cap);
        spool_file_header(b->buf, SENDER);
        b->len = SPOOL_FILE_HEADER;
        for (unsigned i = 0; i < FRAMES; i++) {
                uint8_t rec[300];
                bool first = i < 11;
                b->kind[i] = i == 0 || i == 11 ? SPOOL_RUN_HEADER : SPOOL_RECORD;
                b->d[i] = (struct storage_data){ .run = first ? 8 : 9, .session = 77,
                                                 .sender = SENDER,
                                                 .seq = b->kind[i] == SPOOL_RUN_HEADER ? 0 :
                                                        first ? 9 + i : i - 12 };
                size_t n = s_rec_len(i);
                for (size_t k = 0; k < n; k++)
                        rec[k] = s_pattern(i, k);
                b->off[i] = b->len;
                spool_frame_head(b->buf + b->len, b->kind[i], &b->d[i], rec, n);
                memcpy(b->buf + b->len + SPOOL_FRAME_HEAD, rec, n);
                b->len += SPOOL_FRAME_HEAD + n;
        }
        b->off[FRAMES] = b->len;
}

static bool s_frame_is(const struct built *b, unsigned i, const struct spool_frame *f)
{
        if (f->offset != b->off[i] || f->kind != b->kind[i] || f->d.run != b->d[i].run ||
            f->d.seq != b->d[i].seq || f->d.sender != SENDER || f->d.session != 0 ||
            f->rec_len != s_rec_len(i) || f->msg_len != STORAGE_DATA_PREFIX + f->rec_len ||
            f->rec != f->msg + STORAGE_DATA_PREFIX)
                return false;
        for (size_t k = 0; k < f->rec_len; k++)
                if (f->rec[k] != s_pattern(i, k))
                        return false;
        return true;
}

/* Reads img whole: which of b's frames came back (bitmask), the damage. */
static uint32_t s_read(const struct built *b, const uint8_t *img, size_t len, unsigned *damaged,
                       uint64_t *first_damage, const char **why)
{
        struct spool_reader r;
        struct spool_frame f;
        struct spool_damage d;
        uint32_t seen = 0;
        size_t last = 0;
        int k;
        *damaged = 0;
        spool_reader_init(&r, img, len);
        while ((k = spool_reader_next(&r, &f, &d)) != 0) {
                if (k < 0) {
                        if (!(*damaged)++) {
                                *first_damage = d.offset;
                                *why = d.why;
                        }
                        CHECK((d.resume > d.offset || d.resume == len) && d.resume <= len);
                        continue;
                }
                CHECK(f.offset >= last && f.offset + SPOOL_FRAME_HEAD + f.rec_len <= len);
                last = f.offset + 1;
                unsigned i = 0;
                while (i < FRAMES && b->off[i] != f.offset)
                        i++;
                CHECK(i < FRAMES && s_frame_is(b, i, &f));
                if (i < FRAMES)
                        seen |= 1u << i;
        }
        return seen;
}

TEST(frames_read_back_as_written)
{
        struct built b;
        unsigned damaged;
        uint64_t at = 0;
        const char *why = NULL;
        s_build(&b);
        CHECK_EQ_U(s_read(&b, b.buf, b.len, &damaged, &at, &why), (1u << FRAMES) - 1);
        CHECK_EQ_U(damaged, 0);
        /* the layout of proto/storage-channel.md, byte by byte */
        CHECK(!memcmp(b.buf, "DKSP\1\0\0\0\5\0\0\0", 12));
        uint32_t crc;
        memcpy(&crc, b.buf + 12, 4);
        CHECK_EQ_U(crc, crc32c(0, b.buf, 12));
        const uint8_t *f = b.buf + b.off[1];
        uint32_t len, fcrc;
        memcpy(&len, f, 4);
        memcpy(&fcrc, f + 4, 4);
        CHECK_EQ_U(len, 4 + STORAGE_DATA_PREFIX + s_rec_len(1));
        CHECK_EQ_U(fcrc, crc32c(0, f + 8, len));
        CHECK(!memcmp(f + 8, "\2\0\0\0DKS2\10\0\0\0\0\0\0\0\5\0\0\0\12\0\0\0\0\0\0\0", 28));
        /* only a file header: nothing, no damage */
        CHECK_EQ_U(s_read(&b, b.buf, SPOOL_FILE_HEADER, &damaged, &at, &why), 0);
        CHECK_EQ_U(damaged, 0);
        free(b.buf);
}

TEST(a_cut_at_every_length_keeps_every_whole_frame_before_it)
{
        struct built b;
        s_build(&b);
        for (size_t cut = 0; cut < b.len; cut++) {
                unsigned damaged, whole = 0;
                uint64_t at = 0;
                const char *why = NULL;
                uint8_t *img = malloc(cut ? cut : 1);
                memcpy(img, b.buf, cut);
                while (whole < FRAMES && b.off[whole + 1] <= cut)
                        whole++;
                uint32_t seen = s_read(&b, img, cut, &damaged, &at, &why);
                CHECK_EQ_U(seen, (1u << whole) - 1);
                if (cut < SPOOL_FILE_HEADER) {
                        CHECK(damaged == 1 && at == 0);
                } else if (cut == b.off[whole]) {
                        CHECK_EQ_U(damaged, 0);         /* a cut between frames */
                } else {
                        CHECK(damaged == 1 && at == b.off[whole] && !strncmp(why, "truncated", 9));
                }
                free(img);
        }
        free(b.buf);
}

TEST(a_flipped_byte_anywhere_loses_only_its_own_frame)
{
        struct built b;
        s_build(&b);
        uint8_t *img = malloc(b.len);
        for (size_t at = 0; at < b.len; at++) {
                for (unsigned bit = 0; bit < 8; bit += 3) {
                        unsigned damaged;
                        uint64_t first = 0;
                        const char *why = NULL;
                        memcpy(img, b.buf, b.len);
                        img[at] ^= (uint8_t)(1u << bit);
                        unsigned hit = FRAMES;
                        for (unsigned i = 0; i < FRAMES; i++)
                                if (at >= b.off[i] && at < b.off[i + 1])
                                        hit = i;
                        uint32_t want = (1u << FRAMES) - 1;
                        if (hit < FRAMES)
                                want &= ~(1u << hit);
                        CHECK_EQ_U(s_read(&b, img, b.len, &damaged, &first, &why), want);
                        CHECK_EQ_U(damaged, 1);
                        CHECK_EQ_U(first, hit < FRAMES ? b.off[hit] : 0);
                }
        }
        free(img);
        free(b.buf);
}

static enum spool_verdict s_take(struct spool_order *o, enum spool_kind kind, uint32_t run,
                                 uint32_t sender, uint64_t seq)
{
        struct spool_frame f = { .kind = kind, .d = { .run = run, .sender = sender, .seq = seq } };
        return spool_order_take(o, &f);
}

TEST(only_frames_the_store_can_take_in_order_are_sent)
{
        struct spool_order o;
        spool_order_init(&o, SENDER);
        CHECK_EQ_I(s_take(&o, SPOOL_RECORD, 8, SENDER, 4), SPOOL_NO_HEADER);
        CHECK_EQ_I(s_take(&o, SPOOL_RUN_HEADER, 8, SENDER, 0), SPOOL_SEND);
        CHECK_EQ_I(s_take(&o, SPOOL_RECORD, 8, SENDER, 4), SPOOL_SEND);  /* any first seq */
        CHECK_EQ_I(s_take(&o, SPOOL_RECORD, 8, SENDER, 5), SPOOL_SEND);
        CHECK_EQ_I(s_take(&o, SPOOL_RECORD, 8, SENDER, 7), SPOOL_AFTER_GAP);    /* 6 lost */
        CHECK_EQ_I(s_take(&o, SPOOL_RECORD, 8, SENDER, 8), SPOOL_AFTER_GAP);    /* and after */
        CHECK_EQ_I(s_take(&o, SPOOL_RECORD, 9, SENDER, 0), SPOOL_NO_HEADER);    /* 9's header lost */
        CHECK_EQ_I(s_take(&o, SPOOL_RUN_HEADER, 10, SENDER, 0), SPOOL_SEND);
        CHECK_EQ_I(s_take(&o, SPOOL_RECORD, 10, SENDER, 0), SPOOL_SEND);
        CHECK_EQ_I(s_take(&o, SPOOL_RECORD, 10, SENDER + 1, 1), SPOOL_OTHER_SENDER);
        CHECK_EQ_I(s_take(&o, SPOOL_RUN_HEADER, 11, SENDER + 1, 0), SPOOL_OTHER_SENDER);
        CHECK_EQ_I(s_take(&o, SPOOL_RECORD, 10, SENDER, 1), SPOOL_SEND);
        CHECK(strstr(spool_verdict_text(SPOOL_AFTER_GAP), "lost") != NULL);
}

static void s_tmpdir(char *dir, size_t len)
{
        const char *t = getenv("TMPDIR");
        snprintf(dir, len, "%s/spool-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir))
                CHECK(!"mkdtemp");
}

TEST(the_writer_makes_the_file_by_rename_and_the_reader_reads_it)
{
        char dir[256], path[400], tmp[400], kept[400], err[4400];
        spool_writer_t *w;
        s_tmpdir(dir, sizeof dir);
        snprintf(path, sizeof path, "%s/spool", dir);
        snprintf(tmp, sizeof tmp, "%s/spool.tmp", dir);
        size_t big = (3u << 20) + 5;            /* larger than the writer's buffer */
        uint8_t *rec = malloc(big);
        for (size_t k = 0; k < big; k++)
                rec[k] = (uint8_t)(k * 13);
        REQUIRE_OK_ZERO(spool_writer_open(&w, dir, SENDER, err, sizeof err));
        CHECK(access(tmp, F_OK) == 0 && access(path, F_OK) < 0);
        struct storage_data d = { .run = 4, .sender = SENDER };
        CHECK_OK_ZERO(spool_writer_add(w, SPOOL_RUN_HEADER, &d, rec, 10));
        for (unsigned i = 0; i < 3; i++) {
                d.seq = 7 + i;
                CHECK_OK_ZERO(spool_writer_add(w, SPOOL_RECORD, &d, rec, i == 1 ? big : 100));
        }
        int64_t n = spool_writer_commit(w, err, sizeof err);
        CHECK_EQ_I(n, SPOOL_FILE_HEADER + 4 * SPOOL_FRAME_HEAD + 10 + 200 + big);
        CHECK(access(tmp, F_OK) < 0);
        uint8_t *img;
        size_t len;
        REQUIRE(spool_read(dir, &img, &len, err, sizeof err) == 1);
        CHECK_EQ_I(len, n);
        struct spool_reader r;
        struct spool_frame f;
        struct spool_damage dm;
        spool_reader_init(&r, img, len);
        unsigned frames = 0;
        while (spool_reader_next(&r, &f, &dm) == 1) {
                CHECK(f.kind == (frames ? SPOOL_RECORD : SPOOL_RUN_HEADER));
                CHECK(f.d.run == 4 && f.d.seq == (frames ? 6 + frames : 0));
                CHECK(!memcmp(f.rec, rec, f.rec_len));
                CHECK_EQ_U(f.rec_len, frames == 0 ? 10 : frames == 2 ? big : 100);
                frames++;
        }
        CHECK(frames == 4 && r.header_ok && r.sender == SENDER);
        free(img);

        /* a copy kept: spool.kept.1, then .2; the spool itself stays */
        CHECK_OK_ZERO(spool_keep(dir, kept, sizeof kept, err, sizeof err));
        CHECK(strstr(kept, "/spool.kept.1") && access(kept, F_OK) == 0);
        CHECK_OK_ZERO(spool_keep(dir, kept, sizeof kept, err, sizeof err));
        CHECK(strstr(kept, "/spool.kept.2") && access(path, F_OK) == 0);
        CHECK_OK_ZERO(spool_remove(dir, err, sizeof err));
        CHECK(access(path, F_OK) < 0);
        CHECK_OK_ZERO(spool_remove(dir, err, sizeof err));      /* none: fine */
        CHECK_EQ_I(spool_read(dir, &img, &len, err, sizeof err), 0);

        /* a spool.tmp that cannot be made: the error names it, no spool */
        REQUIRE(mkdir(tmp, 0700) == 0);
        CHECK_FAIL(spool_writer_open(&w, dir, SENDER, err, sizeof err));
        CHECK(strstr(err, tmp) && strstr(err, "cannot create it"));
        CHECK(access(path, F_OK) < 0);
        rmdir(tmp);

        /* a spool that is a directory cannot be read: the error names it */
        REQUIRE(mkdir(path, 0700) == 0);
        CHECK_FAIL(spool_read(dir, &img, &len, err, sizeof err));
        CHECK(strstr(err, path) && strstr(err, "cannot read it"));
        rmdir(path);
        for (int i = 1; i <= 2; i++) {
                snprintf(kept, sizeof kept, "%s/spool.kept.%d", dir, i);
                unlink(kept);
        }
        rmdir(dir);
        free(rec);
}

TEST_MAIN()
