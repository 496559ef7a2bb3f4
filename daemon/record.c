/* SPDX-License-Identifier: Apache-2.0 */
/* record: builder outputs and tagger results as darkdaq.Record messages.
 * Owns the encoder's reusable message storage; does no I/O and never copies
 * fragment bytes (ProtobufCBinaryData points at the caller's). */
#include "record.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

#ifndef DARKDAQ_VERSION
#define DARKDAQ_VERSION "unknown"
#endif

_Static_assert(TAG_COUNT_ == 9, "proto Tags has one field per enum tag_id");
_Static_assert(EV_STATUS_COUNT == 8, "proto Status has one value per ev_status bit");

#define N_BUILDER_COUNTS 21
#define MAX_COUNTS (N_BUILDER_COUNTS + 3 * 64 + TAG_COUNT_)
#define COUNT_NAME_BYTES 32

struct record_enc {
        /* run header */
        Darkdaq__Record hdr_rec;
        Darkdaq__RunHeader hdr;
        uint32_t hdr_sources[64];
        char hdr_hash[SHA256_HEX_BYTES];

        /* event */
        Darkdaq__Record ev_rec;
        Darkdaq__Event ev;
        Darkdaq__Status status[EV_STATUS_COUNT];
        uint32_t sources[64];
        uint32_t missing[64];
        Darkdaq__Fragment *frags;       /* frag_cap messages */
        Darkdaq__Fragment **frag_ptrs;  /* frag_cap pointers into frags */
        size_t frag_cap;
        Darkdaq__Tags tags;
        Darkdaq__ZprimeInvisible zprime;
        Darkdaq__MumuTautau mumutautau;
        double mumutautau_m[4];
        Darkdaq__FourMuon fourmu;
        double fourmu_m[4];
        Darkdaq__Tau1x3 tau1x3;
        char lepton[4];
        Darkdaq__DisplacedVertex dv;
        Darkdaq__DvCandidate *dv_cands; /* dv_cap messages */
        Darkdaq__DvCandidate **dv_ptrs; /* dv_cap pointers into dv_cands */
        size_t dv_cap;
        Darkdaq__MissingEnergy missing_e;
        Darkdaq__IdmDarkHiggs idm;
        Darkdaq__SinglePhoton single_photon;
        Darkdaq__ThreePhoton three_photon;
        double three_photon_m[3];
        struct record_counters c;       /* record_get_counters() */
        uint8_t *pack;                  /* record_event_pack()'s output */
        size_t pack_cap;
        size_t *sizes;                  /* its nested messages' lengths */
        size_t sizes_cap;

        /* late, junk, corrupt */
        Darkdaq__Record late_rec;
        Darkdaq__Late late;
        Darkdaq__Record junk_rec;
        Darkdaq__Junk junk;
        Darkdaq__Record corrupt_rec;
        Darkdaq__Corrupt corrupt;

        /* run trailer */
        Darkdaq__Record trl_rec;
        Darkdaq__RunTrailer trl;
        Darkdaq__Count counts[MAX_COUNTS];
        Darkdaq__Count *count_ptrs[MAX_COUNTS];
        char count_names[MAX_COUNTS][COUNT_NAME_BYTES];
        Darkdaq__OutOfStep oos[64];
        Darkdaq__OutOfStep *oos_ptrs[64];
        char end_reason[64];
        char *hdr_text;                 /* config text made valid UTF-8, when it was not */
        char reason_buf[256];           /* a junk or corrupt reason made valid UTF-8 */
};

static const char *const status_names[EV_STATUS_COUNT] = {
        "complete", "incomplete", "duplicate", "corrupt",
        "time_mismatch", "truncated", "busy_seen", "test_pattern",
};

const char *record_status_name(unsigned status)
{
        return status < EV_STATUS_COUNT ? status_names[status] : NULL;
}

const char *record_tag_name(unsigned tag)
{
        const ProtobufCFieldDescriptor *f;
        if (tag >= TAG_COUNT_)
                return NULL;
        f = protobuf_c_message_descriptor_get_field(&darkdaq__tags__descriptor, tag + 1);
        return f ? f->name : NULL;
}

record_enc_t *record_enc_new(void)
{
        record_enc_t *e = calloc(1, sizeof *e);
        if (!e)
                return NULL;
        return e;
}

record_enc_t *record_enc_free(record_enc_t *e)
{
        if (!e)
                return NULL;
        free(e->frags);
        free(e->frag_ptrs);
        free(e->dv_cands);
        free(e->dv_ptrs);
        free(e->pack);
        free(e->sizes);
        free(e->hdr_text);
        free(e);
        return NULL;
}

void record_get_counters(const record_enc_t *e, struct record_counters *ret)
{
        *ret = e->c;
}

void record_count_fired(record_enc_t *e, uint32_t fired)
{
        for (unsigned i = 0; i < TAG_COUNT_; i++)
                if (fired & (1u << i))
                        e->c.tags[i]++;
}

static size_t s_mask_to_ids(uint64_t mask, uint32_t ids[64])
{
        size_t n = 0;
        for (unsigned s = 0; s < 64; s++)
                if (mask & (UINT64_C(1) << s))
                        ids[n++] = s;
        return n;
}

/* The length of the valid UTF-8 sequence at p[0..n), or 0 if there is none
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t s_utf8_seq(const unsigned char *p, size_t n)
{
        unsigned char c = p[0];
        size_t k;
        uint32_t cp;
        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                k = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
                k = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
                k = 4, cp = c & 0x07;
        else
                return 0;
        if (n < k)
                return 0;
        for (size_t i = 1; i < k; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (p[i] & 0x3F);
        }
        if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
                return 0;
        return k;
}

size_t record_utf8_fix(const char *in, size_t n, char *out, size_t out_size, size_t *replaced)
{
        const unsigned char *p = (const unsigned char *)in;
        size_t o = 0, bad = 0, kept = 0;
        for (size_t i = 0; i < n;) {
                size_t k = s_utf8_seq(p + i, n - i);
                const char *src = k ? in + i : "\xEF\xBF\xBD";     /* U+FFFD */
                size_t len = k ? k : 3;
                bad += k == 0;
                i += k ? k : 1;
                if (out && kept == o && o + len < out_size) {
                        memcpy(out + o, src, len);
                        kept = o + len;
                }
                o += len;
        }
        if (out && out_size)
                out[kept] = '\0';
        if (replaced)
                *replaced = bad;
        return o;
}

/* s, or the encoder's reason buffer holding s made valid UTF-8. */
static const char *s_valid_reason(record_enc_t *e, const char *s)
{
        size_t bad, n = strlen(s);
        record_utf8_fix(s, n, NULL, 0, &bad);
        if (!bad)
                return s;
        record_utf8_fix(s, n, e->reason_buf, sizeof e->reason_buf, NULL);
        return e->reason_buf;
}

Darkdaq__Record *record_run_header(record_enc_t *e, const struct record_run_info *info)
{
        const char *text = info->config_text ? info->config_text : "";
        size_t n = strlen(text), bad = 0;
        darkdaq__record__init(&e->hdr_rec);
        darkdaq__run_header__init(&e->hdr);
        sha256_hex(text, n, e->hdr_hash);
        e->hdr.run = info->run;
        e->hdr.start_time_ns = info->start_time_ns;
        /* A string field must be valid UTF-8 (protobuf readers refuse it
         * otherwise): the text with replacements, and the bytes beside it. */
        size_t need = record_utf8_fix(text, n, NULL, 0, &bad);
        free(e->hdr_text);
        e->hdr_text = NULL;
        if (bad && (e->hdr_text = malloc(need + 1)) != NULL) {
                record_utf8_fix(text, n, e->hdr_text, need + 1, NULL);
                e->hdr.config_raw.data = (uint8_t *)text;
                e->hdr.config_raw.len = n;
                e->hdr.config_text_replaced = (uint32_t)bad;
                text = e->hdr_text;
        } else if (bad) {
                text = "";              /* out of memory: the bytes alone */
                e->hdr.config_raw.data = (uint8_t *)info->config_text;
                e->hdr.config_raw.len = n;
                e->hdr.config_text_replaced = (uint32_t)bad;
        }
        e->hdr.config_text = (char *)text;
        e->hdr.config_hash = e->hdr_hash;
        e->hdr.software_version = (char *)DARKDAQ_VERSION;
        e->hdr.file_sequence = info->file_sequence;
        e->hdr.n_sources = s_mask_to_ids(info->sources, e->hdr_sources);
        e->hdr.sources = e->hdr_sources;
        e->hdr_rec.body_case = DARKDAQ__RECORD__BODY_RUN_HEADER;
        e->hdr_rec.run_header = &e->hdr;
        return &e->hdr_rec;
}

/* Grows an array of messages and its array of pointers to them together. */
static int s_grow(void **msgs, void ***ptrs, size_t *cap, size_t need, size_t msg_size)
{
        size_t n = *cap ? *cap : 8;
        while (n < need)
                n *= 2;
        /* Pointers first: if the messages cannot move, the old pointers
         * still point at them. */
        void **p = realloc(*ptrs, n * sizeof *p);
        if (!p)
                return -ENOMEM;
        *ptrs = p;
        void *m = realloc(*msgs, n * msg_size);
        if (!m)
                return -ENOMEM;
        *msgs = m;
        for (size_t i = 0; i < n; i++)
                p[i] = (char *)m + i * msg_size;
        *cap = n;
        return 0;
}

static void s_copy_doubles(double *dst, const double *src, size_t n)
{
        memcpy(dst, src, n * sizeof *dst);
}

static void s_event_tags(record_enc_t *e, const struct tag_result *t)
{
        Darkdaq__Tags *tags = &e->tags;
        darkdaq__tags__init(tags);
        e->ev.tags = tags;
        if (!t)
                return;
        for (unsigned i = 0; i < TAG_COUNT_; i++)
                if (t->fired & (1u << i))
                        e->c.tags[i]++;
        if (t->fired & (1u << TAG_ZPRIME_INVISIBLE)) {
                darkdaq__zprime_invisible__init(&e->zprime);
                e->zprime.recoil_m2_gev2 = t->zprime.recoil_m2_gev2;
                e->zprime.recoil_theta_rad = t->zprime.recoil_theta_rad;
                tags->zprime_invisible = &e->zprime;
        }
        if (t->fired & (1u << TAG_MUMU_TAUTAU)) {
                size_t n = t->mumutautau.n < 4 ? t->mumutautau.n : 4;
                darkdaq__mumu_tautau__init(&e->mumutautau);
                s_copy_doubles(e->mumutautau_m, t->mumutautau.recoil_m_gev, n);
                e->mumutautau.n_recoil_m_gev = n;
                e->mumutautau.recoil_m_gev = e->mumutautau_m;
                tags->mumu_tautau = &e->mumutautau;
        }
        if (t->fired & (1u << TAG_FOUR_MUON)) {
                size_t n = t->fourmu.n < 4 ? t->fourmu.n : 4;
                darkdaq__four_muon__init(&e->fourmu);
                s_copy_doubles(e->fourmu_m, t->fourmu.dimuon_m_gev, n);
                e->fourmu.n_dimuon_m_gev = n;
                e->fourmu.dimuon_m_gev = e->fourmu_m;
                tags->four_muon = &e->fourmu;
        }
        if (t->fired & (1u << TAG_TAU_1X3)) {
                darkdaq__tau1x3__init(&e->tau1x3);
                size_t n = strnlen(t->tau1x3.lepton, sizeof t->tau1x3.lepton);
                memcpy(e->lepton, t->tau1x3.lepton, n);
                e->lepton[n] = '\0';
                e->tau1x3.lepton = e->lepton;
                e->tau1x3.thrust = t->tau1x3.thrust;
                e->tau1x3.x_lepton = t->tau1x3.x_lepton;
                tags->tau_1x3 = &e->tau1x3;
        }
        if (t->fired & (1u << TAG_DISPLACED_VERTEX)) {
                darkdaq__displaced_vertex__init(&e->dv);
                /* Candidates were grown for before; see record_event(). */
                for (size_t i = 0; i < t->dv.n; i++) {
                        const struct tag_dv_candidate *c = &t->dv.c[i];
                        Darkdaq__DvCandidate *m = &e->dv_cands[i];
                        darkdaq__dv_candidate__init(m);
                        m->r_xy_cm = c->r_xy_cm;
                        m->z_cm = c->z_cm;
                        m->doca_cm = c->doca_cm;
                        m->open_rad = c->open_rad;
                        m->m_pipi_gev = c->m_pipi_gev;
                        m->m_reduced_pipi_gev = c->m_reduced_pipi_gev;
                        m->points_to_ip = c->points_to_ip;
                }
                e->dv.n_candidates = t->dv.n;
                e->dv.candidates = e->dv_ptrs;
                tags->displaced_vertex = &e->dv;
        }
        if (t->fired & (1u << TAG_MISSING_ENERGY)) {
                darkdaq__missing_energy__init(&e->missing_e);
                e->missing_e.e_miss_gev = t->missing.e_miss_gev;
                e->missing_e.theta_miss_rad = t->missing.theta_miss_rad;
                e->missing_e.m2_miss_gev2 = t->missing.m2_miss_gev2;
                tags->missing_energy = &e->missing_e;
        }
        if (t->fired & (1u << TAG_IDM_DARK_HIGGS)) {
                darkdaq__idm_dark_higgs__init(&e->idm);
                tags->idm_dark_higgs = &e->idm;
        }
        if (t->fired & (1u << TAG_SINGLE_PHOTON)) {
                darkdaq__single_photon__init(&e->single_photon);
                e->single_photon.photon_e_gev = t->single_photon.photon_e_gev;
                e->single_photon.recoil_m2_gev2 = t->single_photon.recoil_m2_gev2;
                tags->single_photon = &e->single_photon;
        }
        if (t->fired & (1u << TAG_THREE_PHOTON)) {
                darkdaq__three_photon__init(&e->three_photon);
                s_copy_doubles(e->three_photon_m, t->three_photon.diphoton_m_gev, 3);
                e->three_photon.n_diphoton_m_gev = 3;
                e->three_photon.diphoton_m_gev = e->three_photon_m;
                tags->three_photon = &e->three_photon;
        }
}

Darkdaq__Record *record_event(record_enc_t *e, const struct built_event *ev,
                              const struct tag_result *tags)
{
        Darkdaq__Event *m = &e->ev;

        /* Grow first, so that a failure leaves nothing half counted. */
        if (ev->n_frags > e->frag_cap &&
            s_grow((void **)&e->frags, (void ***)&e->frag_ptrs, &e->frag_cap,
                   ev->n_frags, sizeof *e->frags) < 0)
                return NULL;
        if (tags && (tags->fired & (1u << TAG_DISPLACED_VERTEX)) && tags->dv.n > e->dv_cap &&
            s_grow((void **)&e->dv_cands, (void ***)&e->dv_ptrs, &e->dv_cap,
                   tags->dv.n, sizeof *e->dv_cands) < 0)
                return NULL;

        darkdaq__record__init(&e->ev_rec);
        darkdaq__event__init(m);
        m->trigger = ev->trigger;
        m->time_ticks = ev->time_ticks;
        m->trigger_bits = ev->trigger_bits;
        m->n_status = 0;
        for (unsigned b = 0; b < EV_STATUS_COUNT; b++)
                if (ev->status & (1u << b))
                        e->status[m->n_status++] = (Darkdaq__Status)b;
        m->status = e->status;
        m->n_sources = s_mask_to_ids(ev->sources, e->sources);
        m->sources = e->sources;
        m->n_missing = s_mask_to_ids(ev->missing, e->missing);
        m->missing = e->missing;
        for (size_t i = 0; i < ev->n_frags; i++) {
                const struct built_frag *f = &ev->frags[i];
                Darkdaq__Fragment *fm = &e->frags[i];
                darkdaq__fragment__init(fm);
                fm->source = f->source;
                fm->flags = f->flags;
                fm->good = f->good;
                fm->stream = f->stream;
                fm->offset = f->offset;
                fm->raw.data = (uint8_t *)f->data;
                fm->raw.len = f->bytes;
        }
        m->n_fragments = ev->n_frags;
        m->fragments = e->frag_ptrs;
        if (tags) {
                m->n_tracks = tags->n_tracks;
                m->charge_sum = tags->charge_sum;
                m->n_photons = tags->n_photons;
                m->e_extra_gev = tags->e_extra_gev;
                m->e_miss_gev = tags->e_miss_gev;
        }
        s_event_tags(e, tags);
        e->ev_rec.body_case = DARKDAQ__RECORD__BODY_EVENT;
        e->ev_rec.event = m;
        return &e->ev_rec;
}

Darkdaq__Record *record_late(record_enc_t *e, const struct built_late *late)
{
        darkdaq__record__init(&e->late_rec);
        darkdaq__late__init(&e->late);
        e->late.source = late->source;
        e->late.trigger = late->trigger;
        e->late.stream = late->stream;
        e->late.offset = late->offset;
        e->late.raw.data = (uint8_t *)late->data;
        e->late.raw.len = late->bytes;
        e->late_rec.body_case = DARKDAQ__RECORD__BODY_LATE;
        e->late_rec.late = &e->late;
        return &e->late_rec;
}

Darkdaq__Record *record_junk(record_enc_t *e, const struct built_junk *junk)
{
        darkdaq__record__init(&e->junk_rec);
        darkdaq__junk__init(&e->junk);
        e->junk.stream = junk->stream;
        e->junk.offset = junk->offset;
        e->junk.raw.data = (uint8_t *)junk->data;
        e->junk.raw.len = junk->bytes;
        e->junk.reason = (char *)s_valid_reason(e, junk->reason ? junk->reason : "");
        e->junk_rec.body_case = DARKDAQ__RECORD__BODY_JUNK;
        e->junk_rec.junk = &e->junk;
        return &e->junk_rec;
}

Darkdaq__Record *record_corrupt(record_enc_t *e, const struct built_corrupt *c)
{
        darkdaq__record__init(&e->corrupt_rec);
        darkdaq__corrupt__init(&e->corrupt);
        e->corrupt.stream = c->stream;
        e->corrupt.offset = c->offset;
        e->corrupt.raw.data = (uint8_t *)c->data;
        e->corrupt.raw.len = c->bytes;
        e->corrupt.source = c->source;
        e->corrupt.trigger = c->trigger;
        e->corrupt.reason = (char *)s_valid_reason(e, c->reason ? c->reason : "");
        e->corrupt_rec.body_case = DARKDAQ__RECORD__BODY_CORRUPT;
        e->corrupt_rec.corrupt = &e->corrupt;
        return &e->corrupt_rec;
}

static void s_count(record_enc_t *e, const char *name, uint64_t value)
{
        size_t i = e->trl.n_counts;
        if (i >= MAX_COUNTS)
                return;
        Darkdaq__Count *c = &e->counts[i];
        darkdaq__count__init(c);
        snprintf(e->count_names[i], COUNT_NAME_BYTES, "%s", name);
        c->name = e->count_names[i];
        c->value = value;
        e->count_ptrs[i] = c;
        e->trl.n_counts = i + 1;
}

Darkdaq__Record *record_trailer(record_enc_t *e, const struct record_totals *t)
{
        darkdaq__record__init(&e->trl_rec);
        darkdaq__run_trailer__init(&e->trl);
        e->trl.end_time_ns = t->end_time_ns;
        e->trl.counts = e->count_ptrs;
        if (t->counters) {
                const struct builder_counters *c = t->counters;
                s_count(e, "events", c->events);
                s_count(e, "complete", c->complete);
                s_count(e, "incomplete", c->incomplete);
                s_count(e, "duplicate", c->duplicate);
                s_count(e, "corrupt_events", c->corrupt_events);
                s_count(e, "time_mismatch", c->time_mismatch);
                s_count(e, "truncated", c->truncated);
                s_count(e, "busy_seen", c->busy_seen);
                s_count(e, "test_pattern", c->test_pattern);
                s_count(e, "fragments", c->fragments);
                s_count(e, "good_fragments", c->good_fragments);
                s_count(e, "late", c->late);
                s_count(e, "junk", c->junk);
                s_count(e, "junk_bytes", c->junk_bytes);
                s_count(e, "corrupt", c->corrupt);
                s_count(e, "forced_by_events", c->forced_by_events);
                s_count(e, "forced_by_bytes", c->forced_by_bytes);
                s_count(e, "forced_by_timeout", c->forced_by_timeout);
                s_count(e, "bytes_in", c->bytes_in);
                s_count(e, "bytes_out", c->bytes_out);
                s_count(e, "out_of_step", c->out_of_step);
                for (unsigned s = 0; s < 64; s++) {
                        char name[COUNT_NAME_BYTES];
                        if (!c->per_source_fragments[s] && !c->per_source_late[s] &&
                            !c->per_source_missing[s])
                                continue;
                        snprintf(name, sizeof name, "source_%u_fragments", s);
                        s_count(e, name, c->per_source_fragments[s]);
                        snprintf(name, sizeof name, "source_%u_late", s);
                        s_count(e, name, c->per_source_late[s]);
                        snprintf(name, sizeof name, "source_%u_missing", s);
                        s_count(e, name, c->per_source_missing[s]);
                }
        }
        if (t->refused_by_store)
                s_count(e, "refused_by_store", t->refused_by_store);
        const uint64_t *tc = t->tag_counts ? t->tag_counts : e->c.tags;
        for (unsigned i = 0; i < TAG_COUNT_; i++) {
                char name[COUNT_NAME_BYTES];
                snprintf(name, sizeof name, "tag_%s", record_tag_name(i));
                s_count(e, name, tc[i]);
        }
        size_t n_oos = t->n_oos < 64 ? t->n_oos : 64;
        for (size_t i = 0; i < n_oos; i++) {
                darkdaq__out_of_step__init(&e->oos[i]);
                e->oos[i].source = t->oos[i].source;
                e->oos[i].offset = t->oos[i].offset;
                e->oos[i].first_trigger = t->oos[i].first_trigger;
                e->oos_ptrs[i] = &e->oos[i];
        }
        e->trl.n_out_of_step = n_oos;
        e->trl.out_of_step = e->oos_ptrs;
        snprintf(e->end_reason, sizeof e->end_reason, "%s",
                 t->end_reason ? t->end_reason : "");
        e->trl.end_reason = e->end_reason;
        e->trl_rec.body_case = DARKDAQ__RECORD__BODY_RUN_TRAILER;
        e->trl_rec.run_trailer = &e->trl;
        return &e->trl_rec;
}

/* ---- record_event_pack: the proto3 wire format, written directly ----
 * Each message is written by a function that either counts (w->p NULL) or
 * writes.  The counting pass keeps each nested message's length in sizes[],
 * in the order the messages are met, and the writing pass takes them from
 * there for the length prefixes: every field is visited twice, not once per
 * level of nesting.  Field
 * rules are protobuf-c's for proto3: scalars equal to zero and empty
 * strings, bytes and repeated fields are left out; message fields that are
 * set are always written; repeated scalars are packed. */

struct pbw {
        uint8_t *p;                     /* NULL: count only */
        size_t n;
        size_t *sizes;                  /* nested messages' lengths, in order */
        size_t i;                       /* next entry of sizes */
};

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2 };

static inline void s_pb_byte(struct pbw *w, uint8_t b)
{
        if (w->p)
                w->p[w->n] = b;
        w->n++;
}

static inline void s_pb_varint(struct pbw *w, uint64_t v)
{
        while (v >= 0x80) {
                s_pb_byte(w, (uint8_t)(v | 0x80));
                v >>= 7;
        }
        s_pb_byte(w, (uint8_t)v);
}

static inline size_t s_pb_varint_len(uint64_t v)
{
        size_t n = 1;
        while (v >= 0x80) {
                v >>= 7;
                n++;
        }
        return n;
}

static inline void s_pb_tag(struct pbw *w, unsigned field, unsigned type)
{
        s_pb_varint(w, (uint64_t)field << 3 | type);
}

static inline void s_pb_uint(struct pbw *w, unsigned field, uint64_t v)
{
        if (v) {
                s_pb_tag(w, field, PB_VARINT);
                s_pb_varint(w, v);
        }
}

static inline void s_pb_fixed64(struct pbw *w, uint64_t bits)
{
        if (w->p) {
                uint64_t le = htole64(bits);

                memcpy(w->p + w->n, &le, 8);
        }
        w->n += 8;
}

static inline void s_pb_double(struct pbw *w, unsigned field, double v)
{
        if (v != 0) {
                uint64_t bits;
                memcpy(&bits, &v, 8);
                s_pb_tag(w, field, PB_I64);
                s_pb_fixed64(w, bits);
        }
}

static void s_pb_bytes(struct pbw *w, unsigned field, const void *d, size_t n)
{
        if (!n)
                return;
        s_pb_tag(w, field, PB_LEN);
        s_pb_varint(w, n);
        if (w->p)
                memcpy(w->p + w->n, d, n);
        w->n += n;
}

static void s_pb_packed_doubles(struct pbw *w, unsigned field, const double *v, size_t n)
{
        if (!n)
                return;
        s_pb_tag(w, field, PB_LEN);
        s_pb_varint(w, 8 * n);
        for (size_t i = 0; i < n; i++) {
                uint64_t bits;
                memcpy(&bits, &v[i], 8);
                s_pb_fixed64(w, bits);
        }
}

/* Source ids of a mask, packed, ascending. */
static void s_pb_packed_mask(struct pbw *w, unsigned field, uint64_t mask)
{
        if (!mask)
                return;
        s_pb_tag(w, field, PB_LEN);
        s_pb_varint(w, (uint64_t)__builtin_popcountll(mask));     /* ids < 128: 1 byte each */
        if (!w->p) {
                w->n += (size_t)__builtin_popcountll(mask);
                return;
        }
        for (uint64_t m = mask; m; m &= m - 1)
                s_pb_byte(w, (uint8_t)__builtin_ctzll(m));
}

typedef void (*pb_msg_fn)(struct pbw *w, const void *ctx);

static void s_pb_msg(struct pbw *w, unsigned field, pb_msg_fn fn, const void *ctx)
{
        size_t k = w->i++;
        struct pbw sub = { w->p ? w->p + w->n : NULL, 0, w->sizes, w->i };

        if (w->p) {
                s_pb_tag(w, field, PB_LEN);
                s_pb_varint(w, w->sizes[k]);
                sub.p = w->p + w->n;
                fn(&sub, ctx);
        } else {
                fn(&sub, ctx);
                w->sizes[k] = sub.n;
                s_pb_tag(w, field, PB_LEN);
                s_pb_varint(w, sub.n);
        }
        w->i = sub.i;
        w->n += sub.n;
}

static void s_pb_fragment(struct pbw *w, const void *ctx)
{
        const struct built_frag *f = ctx;
        s_pb_uint(w, 1, f->source);
        s_pb_uint(w, 2, f->flags);
        s_pb_uint(w, 3, f->good);
        s_pb_uint(w, 4, f->stream);
        s_pb_uint(w, 5, f->offset);
        s_pb_bytes(w, 6, f->data, f->bytes);
}

static void s_pb_dv_candidate(struct pbw *w, const void *ctx)
{
        const struct tag_dv_candidate *c = ctx;
        s_pb_double(w, 1, c->r_xy_cm);
        s_pb_double(w, 2, c->z_cm);
        s_pb_double(w, 3, c->doca_cm);
        s_pb_double(w, 4, c->open_rad);
        s_pb_double(w, 5, c->m_pipi_gev);
        s_pb_double(w, 6, c->m_reduced_pipi_gev);
        s_pb_uint(w, 7, c->points_to_ip);
}

static void s_pb_zprime(struct pbw *w, const void *ctx)
{
        const struct tag_result *t = ctx;
        s_pb_double(w, 1, t->zprime.recoil_m2_gev2);
        s_pb_double(w, 2, t->zprime.recoil_theta_rad);
}

static void s_pb_mumutautau(struct pbw *w, const void *ctx)
{
        const struct tag_result *t = ctx;
        s_pb_packed_doubles(w, 1, t->mumutautau.recoil_m_gev,
                            t->mumutautau.n < 4 ? t->mumutautau.n : 4);
}

static void s_pb_fourmu(struct pbw *w, const void *ctx)
{
        const struct tag_result *t = ctx;
        s_pb_packed_doubles(w, 1, t->fourmu.dimuon_m_gev, t->fourmu.n < 4 ? t->fourmu.n : 4);
}

static void s_pb_tau1x3(struct pbw *w, const void *ctx)
{
        const struct tag_result *t = ctx;
        s_pb_bytes(w, 1, t->tau1x3.lepton, strnlen(t->tau1x3.lepton, sizeof t->tau1x3.lepton));
        s_pb_double(w, 2, t->tau1x3.thrust);
        s_pb_double(w, 3, t->tau1x3.x_lepton);
}

static void s_pb_dv(struct pbw *w, const void *ctx)
{
        const struct tag_result *t = ctx;
        for (size_t i = 0; i < t->dv.n; i++)
                s_pb_msg(w, 1, s_pb_dv_candidate, &t->dv.c[i]);
}

static void s_pb_missing(struct pbw *w, const void *ctx)
{
        const struct tag_result *t = ctx;
        s_pb_double(w, 1, t->missing.e_miss_gev);
        s_pb_double(w, 2, t->missing.theta_miss_rad);
        s_pb_double(w, 3, t->missing.m2_miss_gev2);
}

static void s_pb_empty(struct pbw *w, const void *ctx)
{
        (void)w;
        (void)ctx;
}

static void s_pb_single_photon(struct pbw *w, const void *ctx)
{
        const struct tag_result *t = ctx;
        s_pb_double(w, 1, t->single_photon.photon_e_gev);
        s_pb_double(w, 2, t->single_photon.recoil_m2_gev2);
}

static void s_pb_three_photon(struct pbw *w, const void *ctx)
{
        const struct tag_result *t = ctx;
        s_pb_packed_doubles(w, 1, t->three_photon.diphoton_m_gev, 3);
}

static const pb_msg_fn pb_tag_fns[TAG_COUNT_] = {
        [TAG_ZPRIME_INVISIBLE] = s_pb_zprime,
        [TAG_MUMU_TAUTAU] = s_pb_mumutautau,
        [TAG_FOUR_MUON] = s_pb_fourmu,
        [TAG_TAU_1X3] = s_pb_tau1x3,
        [TAG_DISPLACED_VERTEX] = s_pb_dv,
        [TAG_MISSING_ENERGY] = s_pb_missing,
        [TAG_IDM_DARK_HIGGS] = s_pb_empty,
        [TAG_SINGLE_PHOTON] = s_pb_single_photon,
        [TAG_THREE_PHOTON] = s_pb_three_photon,
};

/* darkdaq.Tags: field number = enum tag_id + 1. */
static void s_pb_tags(struct pbw *w, const void *ctx)
{
        const struct tag_result *t = ctx;
        if (!t)
                return;
        for (unsigned i = 0; i < TAG_COUNT_; i++)
                if (t->fired & (1u << i))
                        s_pb_msg(w, i + 1, pb_tag_fns[i], t);
}

/* Event fields 1-7: what the builder decided.  When off is not NULL (the
 * writing pass), off[k] gets where the k-th of ev->tag_frags' bytes start
 * in the output: they are fragments' bytes fields, in the same order. */
static void s_pb_event_head(struct pbw *w, const struct built_event *ev, uint32_t *off)
{
        size_t k = 0;

        s_pb_uint(w, 1, ev->trigger);
        s_pb_uint(w, 2, ev->time_ticks);
        s_pb_uint(w, 3, ev->trigger_bits);
        if (ev->status & ((1u << EV_STATUS_COUNT) - 1)) {
                s_pb_tag(w, 4, PB_LEN);
                s_pb_varint(w, (uint64_t)__builtin_popcount(ev->status & ((1u << EV_STATUS_COUNT) - 1)));
                for (unsigned b = 0; b < EV_STATUS_COUNT; b++)
                        if (ev->status & (1u << b))
                                s_pb_byte(w, (uint8_t)b);
        }
        s_pb_packed_mask(w, 5, ev->sources);
        s_pb_packed_mask(w, 6, ev->missing);
        for (size_t i = 0; i < ev->n_frags; i++) {
                const struct built_frag *f = &ev->frags[i];

                s_pb_msg(w, 7, s_pb_fragment, f);
                if (off && k < ev->n_tag_frags && ev->tag_frags[k] == f->data)
                        off[k++] = (uint32_t)(w->n - f->bytes);   /* bytes come last */
        }
}

/* Event fields 8-13: the tagger's. */
static void s_pb_event_tail(struct pbw *w, const struct tag_result *t)
{
        if (t) {
                s_pb_uint(w, 8, t->n_tracks);
                if (t->charge_sum) {
                        s_pb_tag(w, 9, PB_VARINT);
                        s_pb_varint(w, ((uint32_t)t->charge_sum << 1) ^
                                       (uint32_t)(t->charge_sum >> 31));
                }
                s_pb_uint(w, 10, t->n_photons);
                s_pb_double(w, 11, t->e_extra_gev);
                s_pb_double(w, 12, t->e_miss_gev);
        }
        s_pb_msg(w, 13, s_pb_tags, t);
}

/* Grows *arr (of elements of elem bytes, *cap of them) to hold n,
 * doubling from first; false on out of memory (nothing changed). */
static bool s_room(void **arr, size_t *cap, size_t n, size_t elem, size_t first)
{
        size_t c;
        void *p;

        if (n <= *cap)
                return true;
        c = *cap ? *cap : first;
        while (c < n)
                c *= 2;
        if (c > SIZE_MAX / elem)
                return false;
        p = realloc(*arr, c * elem);
        if (!p)
                return false;
        *arr = p;
        *cap = c;
        return true;
}

static bool s_sizes_room(record_enc_t *e, size_t n_msgs)
{
        return s_room((void **)&e->sizes, &e->sizes_cap, n_msgs, sizeof(*e->sizes), 64);
}

static bool s_pack_room(record_enc_t *e, size_t total)
{
        return s_room((void **)&e->pack, &e->pack_cap, total, 1, 4096);
}

static void s_count_tags(record_enc_t *e, const struct tag_result *tags)
{
        if (tags)
                for (unsigned i = 0; i < TAG_COUNT_; i++)
                        if (tags->fired & (1u << i))
                                e->c.tags[i]++;
}

const uint8_t *record_event_pack(record_enc_t *e, const struct built_event *ev,
                                 const struct tag_result *tags, size_t *ret_len)
{
        size_t n_head, n_tail, total;

        if (!s_sizes_room(e, ev->n_frags + 1 + TAG_COUNT_ + (tags ? tags->dv.n : 0)))
                return NULL;
        struct pbw count = { NULL, 0, e->sizes, 0 };

        s_pb_event_head(&count, ev, NULL);
        n_head = count.n;
        s_pb_event_tail(&count, tags);
        n_tail = count.n - n_head;
        total = 1 + s_pb_varint_len(count.n) + count.n;     /* Record.event = 2 */
        if (!s_pack_room(e, total))
                return NULL;
        /* the Record's field 2 around the event, whose size is known */
        struct pbw w = { e->pack, 0, e->sizes, 0 };
        s_pb_tag(&w, 2, PB_LEN);
        s_pb_varint(&w, n_head + n_tail);
        s_pb_event_head(&w, ev, NULL);
        s_pb_event_tail(&w, tags);
        s_count_tags(e, tags);
        *ret_len = w.n;
        return e->pack;
}

size_t record_event_head_size(record_enc_t *e, const struct built_event *ev)
{
        struct pbw count = { NULL, 0, NULL, 0 };

        if (!s_sizes_room(e, ev->n_frags))
                return 0;
        count.sizes = e->sizes;
        s_pb_event_head(&count, ev, NULL);
        return count.n;
}

void record_event_head_write(record_enc_t *e, const struct built_event *ev, uint8_t *out,
                             uint32_t *ret_tag_off)
{
        struct pbw w = { out, 0, e->sizes, 0 };

        s_pb_event_head(&w, ev, ret_tag_off);
}

const uint8_t *record_event_finish(record_enc_t *e, const uint8_t *head, size_t head_len,
                                   const struct tag_result *tags, size_t *ret_len)
{
        size_t n_tail, total;

        if (!s_sizes_room(e, 1 + TAG_COUNT_ + (tags ? tags->dv.n : 0)))
                return NULL;
        struct pbw count = { NULL, 0, e->sizes, 0 };

        s_pb_event_tail(&count, tags);
        n_tail = count.n;
        total = 1 + s_pb_varint_len(head_len + n_tail) + head_len + n_tail;
        if (!s_pack_room(e, total))
                return NULL;
        struct pbw w = { e->pack, 0, e->sizes, 0 };
        s_pb_tag(&w, 2, PB_LEN);
        s_pb_varint(&w, head_len + n_tail);
        memcpy(w.p + w.n, head, head_len);
        w.n += head_len;
        s_pb_event_tail(&w, tags);
        s_count_tags(e, tags);
        *ret_len = w.n;
        return e->pack;
}
