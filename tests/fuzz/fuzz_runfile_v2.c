/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the run-file reader's resynchronisation (version 2): the input
 * makes a run file of junk records whose raw bytes it chooses (so it can
 * hide frame-shaped forgeries in them), numbered by seq, then damages it
 * (bytes overwritten, bytes inserted).  Asserts: every frame wholly before
 * the damage and every frame wholly after it is returned, in order, once,
 * at its offset (unless a frame that is not the writer's was returned, which
 * must then have been reported); a returned frame that is not one the
 * writer wrote comes only after a report, with no frame of the writer's
 * returned in between; frames never overlap; damage that changed bytes of a
 * frame is reported or is the stop. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 64

static size_t s_varint(uint8_t *p, uint64_t v)
{
        size_t n = 0;
        do {
                p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
                v >>= 7;
        } while (v);
        return n;
}

/* Whether the frame [o, e) is untouched by bytes [a, b) changed and ins
 * bytes inserted at a. */
static bool s_whole(size_t o, size_t e, size_t a, size_t b, unsigned ins)
{
        if (b > a && o < b && e > a)
                return false;
        return !(ins && o < a && a < e);
}

struct seen {
        uint64_t reports;               /* reports so far */
};

static void s_on_report(void *ctx, const struct runfile_report *rep)
{
        struct seen *s = ctx;
        (void)rep;
        s->reports++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 8)
                return 0;
        /* Control bytes: how many frames, where the damage goes. */
        unsigned nf = 1 + data[0] % MAX_FRAMES;
        uint32_t dmg_at = (uint32_t)data[1] | (uint32_t)data[2] << 8;
        unsigned dmg_len = data[3];
        unsigned ins_len = data[4] % 32;
        const uint8_t *in = data + 5;
        size_t in_len = size - 5;

        /* The writer's file: nf junk records, payload bytes from the input. */
        size_t cap = RUNFILE_FILE_HEADER + nf * (RUNFILE_FRAME2_HEADER + 16 + 64);
        uint8_t *img = malloc(cap + ins_len);
        size_t off[MAX_FRAMES], end[MAX_FRAMES];
        if (!img)
                return 0;
        runfile_file_header(img);
        size_t len = RUNFILE_FILE_HEADER, src = 0;
        for (unsigned i = 0; i < nf; i++) {
                size_t take = in_len ? in[i % in_len] % 64 : 0;
                uint8_t inner[16], outer[16];
                size_t ki = 0, ko = 0;
                inner[ki++] = 0x1a;             /* Junk.raw */
                ki += s_varint(inner + ki, take);
                outer[ko++] = 0x22;             /* Record.junk */
                ko += s_varint(outer + ko, ki + take);
                uint8_t *pl = img + len + RUNFILE_FRAME2_HEADER;
                memcpy(pl, outer, ko);
                memcpy(pl + ko, inner, ki);
                for (size_t j = 0; j < take; j++)
                        pl[ko + ki + j] = in[(src + j) % in_len];
                src += take;
                size_t plen = ko + ki + take;
                runfile_frame2_header(img + len, pl, (uint32_t)plen, 3, i);
                off[i] = len;
                len += RUNFILE_FRAME2_HEADER + plen;
                end[i] = len;
        }
        uint8_t *orig = malloc(len);
        if (!orig) {
                free(img);
                return 0;
        }
        memcpy(orig, img, len);

        /* Damage: dmg_len bytes overwritten at dmg_at (with input bytes
         * turned), then ins_len bytes inserted there. */
        size_t a = RUNFILE_FILE_HEADER + dmg_at % (len - RUNFILE_FILE_HEADER + 1);
        size_t b = a + dmg_len < len ? a + dmg_len : len;
        for (size_t k = a; k < b; k++)
                img[k] ^= (uint8_t)(in_len ? in[k % in_len] | 1 : 0x5a);
        memmove(img + a + ins_len, img + a, len - a);
        for (unsigned k = 0; k < ins_len; k++)
                img[a + k] = (uint8_t)(0xA5 ^ k);
        size_t dlen = len + ins_len;
        bool changed = b > a || ins_len > 0;

        runfile_reader_t *r = runfile_reader_new_mem(img, dlen);
        struct seen seen = { 0 };
        bool got[MAX_FRAMES] = { false };
        bool foreign = false;
        uint64_t reports_at_last_own = 0, last_end = 0;
        const Darkdaq__Record *rec;
        uint64_t o;
        if (!r)
                goto out;
        runfile_reader_set_report(r, s_on_report, &seen);
        while (runfile_reader_next(r, &rec, &o) > 0) {
                const struct runfile_frame *fr = runfile_reader_frame(r);
                if (o < last_end)
                        abort();                /* frames overlap or go back */
                last_end = o + RUNFILE_FRAME2_HEADER + fr->size;
                /* Which of the writer's frames is this: at its place in
                 * the damaged image, with its bytes (damage may leave a
                 * frame as it was)? */
                int own = -1;
                for (unsigned i = 0; i < nf && own < 0; i++) {
                        size_t at = off[i] < a ? off[i] : off[i] + ins_len;
                        if (at + (end[i] - off[i]) <= dlen && at == o && fr->seq == i &&
                            fr->size == end[i] - off[i] - RUNFILE_FRAME2_HEADER &&
                            memcmp(img + at, orig + off[i], end[i] - off[i]) == 0)
                                own = (int)i;
                }
                if (own >= 0) {
                        if (got[own])
                                abort();        /* returned twice */
                        got[own] = true;
                        reports_at_last_own = seen.reports;
                } else {
                        /* Not the writer's: only after a report, none of
                         * the writer's frames read since. */
                        if (seen.reports == reports_at_last_own)
                                abort();
                        foreign = true;
                }
        }
        const struct runfile_stop *st = runfile_reader_stop(r);
        if (st->kind == RUNFILE_READING)
                abort();
        for (unsigned i = 0; i < nf; i++) {
                bool whole = s_whole(off[i], end[i], a, b, ins_len);
                if (whole && end[i] <= a && !got[i])
                        abort();        /* an intact frame before the damage lost */
                if (whole && !got[i] && !foreign)
                        abort();        /* an intact frame after the damage lost */
        }
        /* Damage inside a frame of the writer's never passes silently. */
        if (changed && seen.reports == 0 && st->kind == RUNFILE_END && !foreign) {
                for (unsigned i = 0; i < nf; i++)
                        if (!got[i])
                                abort();
        }
        runfile_reader_free(r);
out:
        free(orig);
        free(img);
        return 0;
}
