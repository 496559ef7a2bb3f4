/* SPDX-License-Identifier: Apache-2.0 */
/* columns: run-file frames and the protobuf wire format of darkdaq.Record
 * decoded into event rows (see columns.h).  Pure: the caller owns every
 * buffer; proto3 rules: last scalar wins, packed or unpacked repeated
 * fields both read, unknown fields skipped. */
#include "columns.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define F(name, dtype) { #name, dtype, offsetof(struct columns_event, name) }
#define FS(name, i) { #name, "?", offsetof(struct columns_event, status) + (i) }
#define FT(name, i) { #name, "?", offsetof(struct columns_event, tag) + (i) }

/* In the order a physicist reads them: identity, status, event scalars,
 * then each tag's flag and quantities, in darkdaq.Tags order. */
const struct columns_field columns_fields[] = {
        F(run, "<u4"), F(trigger, "<u4"), F(time_ticks, "<u8"), F(trigger_bits, "<u4"),
        FS(complete, 0), FS(incomplete, 1), FS(duplicate, 2), FS(corrupt, 3),
        FS(time_mismatch, 4), FS(truncated, 5), FS(busy_seen, 6), FS(test_pattern, 7),
        F(n_sources, "<u4"), F(n_missing, "<u4"), F(n_fragments, "<u4"),
        F(n_tracks, "<u4"), F(charge_sum, "<i4"), F(n_photons, "<u4"),
        F(e_extra_gev, "<f8"), F(e_miss_gev, "<f8"),
        FT(zprime_invisible, 0), F(zprime_invisible_recoil_m2_gev2, "<f8"),
        F(zprime_invisible_recoil_m_gev, "<f8"), F(zprime_invisible_recoil_theta_rad, "<f8"),
        FT(mumu_tautau, 1), F(mumu_tautau_n, "<u4"),
        FT(four_muon, 2), F(four_muon_n, "<u4"),
        FT(tau_1x3, 3), F(tau_1x3_lepton, "S4"), F(tau_1x3_thrust, "<f8"),
        F(tau_1x3_x_lepton, "<f8"),
        FT(displaced_vertex, 4), F(displaced_vertex_n, "<u4"),
        FT(missing_energy, 5), F(missing_energy_e_miss_gev, "<f8"),
        F(missing_energy_theta_miss_rad, "<f8"), F(missing_energy_m2_miss_gev2, "<f8"),
        FT(idm_dark_higgs, 6),
        FT(single_photon, 7), F(single_photon_photon_e_gev, "<f8"),
        F(single_photon_recoil_m2_gev2, "<f8"), F(single_photon_recoil_m_gev, "<f8"),
        FT(three_photon, 8), F(three_photon_n, "<u4"),
};
const size_t columns_n_fields = sizeof columns_fields / sizeof columns_fields[0];

/* ---- CRC-32C: slicing by 8 ------------------------------------------------ */

static uint32_t s_table[8][256];
static int s_table_ready;

static void s_crc_init(void)
{
        for (uint32_t i = 0; i < 256; i++) {
                uint32_t c = i;
                for (int k = 0; k < 8; k++)
                        c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
                s_table[0][i] = c;
        }
        for (uint32_t i = 0; i < 256; i++)
                for (int t = 1; t < 8; t++)
                        s_table[t][i] = (s_table[t - 1][i] >> 8) ^
                                        s_table[0][s_table[t - 1][i] & 0xFF];
        s_table_ready = 1;
}

uint32_t columns_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
        if (!s_table_ready)
                s_crc_init();   /* idempotent: a race writes the same values */
        uint32_t c = ~crc;
        while (len >= 8) {
                uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                                   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
                c = s_table[7][lo & 0xFF] ^ s_table[6][lo >> 8 & 0xFF] ^
                    s_table[5][lo >> 16 & 0xFF] ^ s_table[4][lo >> 24] ^
                    s_table[3][p[4]] ^ s_table[2][p[5]] ^ s_table[1][p[6]] ^ s_table[0][p[7]];
                p += 8;
                len -= 8;
        }
        while (len--)
                c = s_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
        return ~c;
}

/* ---- frames --------------------------------------------------------------- */

static uint32_t s_le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int columns_frame_v1(const uint8_t *buf, size_t len, const uint8_t **payload,
                     size_t *payload_len, size_t *frame_len, enum columns_stop *stop,
                     size_t *need, uint32_t *stored, uint32_t *computed)
{
        *need = COLUMNS_FRAME_HEADER;
        if (len < COLUMNS_FRAME_HEADER) {
                *stop = COLUMNS_MORE;
                return 0;
        }
        uint32_t n = s_le32(buf), crc = s_le32(buf + 4);
        if (n > COLUMNS_MAX_RECORD) {
                *stop = COLUMNS_TOO_LONG;
                *need = n;
                return -1;
        }
        *need = COLUMNS_FRAME_HEADER + (size_t)n;
        if (len - COLUMNS_FRAME_HEADER < n) {
                *stop = COLUMNS_MORE;
                return 0;
        }
        uint32_t have = columns_crc32c(0, buf + COLUMNS_FRAME_HEADER, n);
        if (have != crc) {
                *stop = COLUMNS_BAD_CRC;
                *stored = crc;
                *computed = have;
                return -1;
        }
        if (n == 0) {
                *stop = COLUMNS_EMPTY;
                return -1;
        }
        *payload = buf + COLUMNS_FRAME_HEADER;
        *payload_len = n;
        *frame_len = COLUMNS_FRAME_HEADER + (size_t)n;
        return 1;
}

static uint64_t s_le64(const uint8_t *p)
{
        return (uint64_t)s_le32(p) | (uint64_t)s_le32(p + 4) << 32;
}

int columns_frame_v2(const uint8_t *buf, size_t len, const uint8_t **payload,
                     size_t *payload_len, size_t *frame_len, enum columns_stop *stop,
                     size_t *need, uint32_t *stored, uint32_t *computed, uint32_t *sender,
                     uint64_t *seq)
{
        const size_t hb = COLUMNS_FRAME2_HEADER;
        *need = hb;
        if (len < 4 || (len >= 4 && s_le32(buf) != COLUMNS_SYNC)) {
                *stop = len < 4 ? COLUMNS_MORE : COLUMNS_BAD_SYNC;
                return len < 4 ? 0 : -1;
        }
        if (len < hb) {
                *stop = COLUMNS_MORE;
                return 0;
        }
        uint32_t n = s_le32(buf + 4), crc = s_le32(buf + 20);
        if (n > COLUMNS_MAX_RECORD) {
                *stop = COLUMNS_TOO_LONG;
                *need = n;
                return -1;
        }
        *need = hb + (size_t)n;
        if (len - hb < n) {
                *stop = COLUMNS_MORE;
                return 0;
        }
        uint32_t have = columns_crc32c(columns_crc32c(0, buf, 20), buf + hb, n);
        if (have != crc) {
                *stop = COLUMNS_BAD_CRC;
                *stored = crc;
                *computed = have;
                return -1;
        }
        if (n == 0) {
                *stop = COLUMNS_EMPTY;
                return -1;
        }
        *payload = buf + hb;
        *payload_len = n;
        *frame_len = hb + (size_t)n;
        *sender = s_le32(buf + 8);
        *seq = s_le64(buf + 12);
        return 1;
}

/* A varint at p[0..n): its length, or 0 when cut or too long. */
static size_t s_varint_at(const uint8_t *p, size_t n, uint64_t *ret)
{
        uint64_t v = 0;
        for (size_t i = 0; i < n && i < 10; i++) {
                v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
                if (!(p[i] & 0x80)) {
                        *ret = v;
                        return i + 1;
                }
        }
        return 0;
}

/* One good frame at q, whole in buf: 1; not one: 0; begun, not whole: 2. */
static int s_good_at(unsigned version, const uint8_t *buf, size_t len, size_t q, size_t *need)
{
        const uint8_t *pl, *body;
        size_t pn, fl, bn;
        enum columns_stop st;
        uint32_t a, b, snd;
        uint64_t sq;
        size_t left = len - q;
        int r;
        if (version == 1) {
                if (left < COLUMNS_FRAME_HEADER + 12) {
                        *need = COLUMNS_FRAME_HEADER + 12;
                        return 2;
                }
                uint32_t n = s_le32(buf + q);
                const uint8_t *p = buf + q + COLUMNS_FRAME_HEADER;
                uint64_t sub;
                size_t k;
                /* no sync word: the shape of a Record first, CRC only then */
                if (n < 2 || n > COLUMNS_MAX_RECORD || (p[0] & 7) != 2 || p[0] < 0x0a ||
                    p[0] > 0x32 || (k = s_varint_at(p + 1, n - 1 < 10 ? n - 1 : 10, &sub)) == 0 ||
                    1 + k + sub != n)
                        return 0;
                r = columns_frame_v1(buf + q, left, &pl, &pn, &fl, &st, need, &a, &b);
        } else {
                if (left < 4) {
                        *need = COLUMNS_FRAME2_HEADER;
                        return 2;
                }
                if (s_le32(buf + q) != COLUMNS_SYNC)
                        return 0;
                r = columns_frame_v2(buf + q, left, &pl, &pn, &fl, &st, need, &a, &b, &snd, &sq);
        }
        if (r == 0)
                return 2;
        if (r < 0)
                return 0;
        return columns_record_body(pl, pn, &body, &bn) >= 0 ? 1 : 0;
}

long columns_resync(unsigned version, const uint8_t *buf, size_t len, size_t from,
                    size_t *keep, size_t *need)
{
        size_t first_open = SIZE_MAX, open_need = 0, nd = 0;
        for (size_t q = from; q < len; q++) {
                int g = s_good_at(version, buf, len, q, &nd);
                if (g == 1)
                        return (long)q;
                if (g == 2 && first_open == SIZE_MAX) {
                        first_open = q;
                        open_need = nd;
                }
        }
        *keep = first_open == SIZE_MAX ? len : first_open;
        *need = first_open == SIZE_MAX ? 0 : open_need;
        return -1;
}

/* ---- wire format ---------------------------------------------------------- */

struct rd {
        const uint8_t *p, *end;
};

static int s_varint(struct rd *r, uint64_t *v)
{
        uint64_t x = 0;
        for (int shift = 0; shift < 64; shift += 7) {
                if (r->p == r->end)
                        return -1;
                uint8_t b = *r->p++;
                x |= (uint64_t)(b & 0x7F) << shift;
                if (!(b & 0x80)) {
                        *v = x;
                        return 0;
                }
        }
        return -1;
}

/* The next field's number and wire type; for LEN fields *sub is its body. */
static int s_field(struct rd *r, uint32_t *num, unsigned *wt, uint64_t *v, struct rd *sub)
{
        uint64_t key;
        if (s_varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF)
                return -1;
        *num = (uint32_t)(key >> 3);
        *wt = key & 7;
        switch (*wt) {
        case 0:
                return s_varint(r, v);
        case 1:
                if (r->end - r->p < 8)
                        return -1;
                memcpy(v, r->p, 8);     /* little-endian hosts only (x86, arm64) */
                r->p += 8;
                return 0;
        case 2:
                if (s_varint(r, v) < 0 || *v > (uint64_t)(r->end - r->p))
                        return -1;
                sub->p = r->p;
                sub->end = r->p + *v;
                r->p += *v;
                return 0;
        case 5:
                if (r->end - r->p < 4)
                        return -1;
                *v = s_le32(r->p);
                r->p += 4;
                return 0;
        default:
                return -1;      /* groups are not in this schema */
        }
}

static double s_dbl(uint64_t v)
{
        double d;
        memcpy(&d, &v, sizeof d);
        return d;
}

int columns_record_body(const uint8_t *p, size_t n, const uint8_t **body, size_t *body_len)
{
        struct rd r = { p, p + n }, sub = { 0 }, last = { p, p };
        uint32_t num;
        unsigned wt;
        uint64_t v;
        int kind = COLUMNS_NONE;
        while (r.p < r.end) {
                if (s_field(&r, &num, &wt, &v, &sub) < 0)
                        return -1;
                if (num >= 1 && num <= 6) {
                        if (wt != 2)
                                return -1;
                        kind = (int)num;        /* oneof: the last one wins */
                        last = sub;
                }
        }
        *body = last.p;
        *body_len = (size_t)(last.end - last.p);
        return kind;
}

int columns_run_header(const uint8_t *p, size_t n, uint32_t *run)
{
        struct rd r = { p, p + n }, sub;
        uint32_t num;
        unsigned wt;
        uint64_t v;
        while (r.p < r.end) {
                if (s_field(&r, &num, &wt, &v, &sub) < 0)
                        return -1;
                if (num == 1 && wt == 0)
                        *run = (uint32_t)v;
        }
        return 0;
}

/* A double field (wire type 1) of a tag message into *dst. */
static int s_double_field(unsigned wt, uint64_t v, double *dst)
{
        if (wt != 1)
                return -1;
        *dst = s_dbl(v);
        return 0;
}

/* Appends a repeated double (packed or one element) to out's values. */
static int s_values(struct columns_out *o, unsigned wt, uint64_t v, const struct rd *sub,
                    uint32_t run, uint32_t trigger, uint32_t list, uint32_t *count)
{
        if (wt == 1) {
                if (o->n_values == o->cap_values)
                        return -ENOSPC;
                o->values[o->n_values++] = (struct columns_value){
                        .value = s_dbl(v), .run = run, .trigger = trigger,
                        .index = (*count)++, .list = list };
                return 0;
        }
        if (wt != 2 || (sub->end - sub->p) % 8)
                return -EINVAL;
        for (const uint8_t *q = sub->p; q < sub->end; q += 8) {
                uint64_t x;
                if (o->n_values == o->cap_values)
                        return -ENOSPC;
                memcpy(&x, q, 8);
                o->values[o->n_values++] = (struct columns_value){
                        .value = s_dbl(x), .run = run, .trigger = trigger,
                        .index = (*count)++, .list = list };
        }
        return 0;
}

/* Repeated uint32/enum (packed or one element): each through fn. */
static int s_ints(unsigned wt, uint64_t v, const struct rd *sub, void (*fn)(void *, uint64_t),
                  int (*room)(void *), void *arg)
{
        if (wt == 0) {
                if (room && room(arg) < 0)
                        return -ENOSPC;
                fn(arg, v);
                return 0;
        }
        if (wt != 2)
                return -EINVAL;
        struct rd r = *sub;
        while (r.p < r.end) {
                uint64_t x;
                if (s_varint(&r, &x) < 0)
                        return -EINVAL;
                if (room && room(arg) < 0)
                        return -ENOSPC;
                fn(arg, x);
        }
        return 0;
}

struct ctx {
        struct columns_event *row;
        struct columns_out *out;
        uint32_t list;
        uint32_t *count;
};

static void s_status(void *arg, uint64_t x)
{
        struct ctx *c = arg;
        if (x < COLUMNS_STATUS_COUNT)
                c->row->status[x] = 1;
}

static int s_room(void *arg)
{
        struct ctx *c = arg;
        return c->out->n_values < c->out->cap_values ? 0 : -1;
}

static void s_id(void *arg, uint64_t x)
{
        struct ctx *c = arg;
        c->out->values[c->out->n_values++] = (struct columns_value){
                .value = (double)(uint32_t)x, .run = c->row->run, .index = (*c->count)++,
                .list = c->list };
}

static int s_dv(struct rd r, struct columns_event *row, struct columns_out *o)
{
        struct columns_dv d = { .run = row->run, .index = row->displaced_vertex_n };
        struct rd sub;
        uint32_t num;
        unsigned wt;
        uint64_t v;
        double *dst[7] = { NULL, &d.r_xy_cm, &d.z_cm, &d.doca_cm, &d.open_rad, &d.m_pipi_gev,
                           &d.m_reduced_pipi_gev };
        while (r.p < r.end) {
                if (s_field(&r, &num, &wt, &v, &sub) < 0)
                        return -EINVAL;
                if (num >= 1 && num <= 6 && s_double_field(wt, v, dst[num]) < 0)
                        return -EINVAL;
                if (num == 7 && wt == 0)
                        d.points_to_ip = v != 0;
        }
        if (o->n_dv == o->cap_dv)
                return -ENOSPC;
        o->dv[o->n_dv++] = d;
        row->displaced_vertex_n++;
        return 0;
}

/* One tag's message (Tags field num) into row and out. */
static int s_tag(uint32_t num, struct rd r, struct columns_event *row, struct columns_out *o)
{
        struct rd sub;
        uint32_t f;
        unsigned wt;
        uint64_t v;
        int e;
        row->tag[num - 1] = 1;
        while (r.p < r.end) {
                if (s_field(&r, &f, &wt, &v, &sub) < 0)
                        return -EINVAL;
                double *dst = NULL;
                switch (num * 16 + f) {
                case 1 * 16 + 1: dst = &row->zprime_invisible_recoil_m2_gev2; break;
                case 1 * 16 + 2: dst = &row->zprime_invisible_recoil_theta_rad; break;
                case 2 * 16 + 1:
                        if ((e = s_values(o, wt, v, &sub, row->run, 0,
                                          COLUMNS_MUMU_TAUTAU_RECOIL_M, &row->mumu_tautau_n)))
                                return e;
                        break;
                case 3 * 16 + 1:
                        if ((e = s_values(o, wt, v, &sub, row->run, 0,
                                          COLUMNS_FOUR_MUON_DIMUON_M, &row->four_muon_n)))
                                return e;
                        break;
                case 4 * 16 + 1:
                        if (wt != 2)
                                return -EINVAL;
                        memset(row->tau_1x3_lepton, 0, sizeof row->tau_1x3_lepton);
                        memcpy(row->tau_1x3_lepton, sub.p,
                               v < sizeof row->tau_1x3_lepton ? v : sizeof row->tau_1x3_lepton);
                        break;
                case 4 * 16 + 2: dst = &row->tau_1x3_thrust; break;
                case 4 * 16 + 3: dst = &row->tau_1x3_x_lepton; break;
                case 5 * 16 + 1:
                        if (wt != 2)
                                return -EINVAL;
                        if ((e = s_dv(sub, row, o)))
                                return e;
                        break;
                case 6 * 16 + 1: dst = &row->missing_energy_e_miss_gev; break;
                case 6 * 16 + 2: dst = &row->missing_energy_theta_miss_rad; break;
                case 6 * 16 + 3: dst = &row->missing_energy_m2_miss_gev2; break;
                case 8 * 16 + 1: dst = &row->single_photon_photon_e_gev; break;
                case 8 * 16 + 2: dst = &row->single_photon_recoil_m2_gev2; break;
                case 9 * 16 + 1:
                        if ((e = s_values(o, wt, v, &sub, row->run, 0,
                                          COLUMNS_THREE_PHOTON_DIPHOTON_M, &row->three_photon_n)))
                                return e;
                        break;
                default:
                        break;
                }
                if (dst && s_double_field(wt, v, dst) < 0)
                        return -EINVAL;
        }
        return 0;
}

/* A fired tag's quantities start at 0 (proto3), those of the others NaN. */
static void s_tag_defaults(struct columns_event *row, uint32_t num)
{
        switch (num) {
        case 1:
                row->zprime_invisible_recoil_m2_gev2 = 0;
                row->zprime_invisible_recoil_theta_rad = 0;
                break;
        case 4:
                row->tau_1x3_thrust = row->tau_1x3_x_lepton = 0;
                break;
        case 6:
                row->missing_energy_e_miss_gev = row->missing_energy_theta_miss_rad = 0;
                row->missing_energy_m2_miss_gev2 = 0;
                break;
        case 8:
                row->single_photon_photon_e_gev = row->single_photon_recoil_m2_gev2 = 0;
                break;
        default:
                break;
        }
}

static int s_tags(struct rd r, struct columns_event *row, struct columns_out *o)
{
        struct rd sub;
        uint32_t num;
        unsigned wt;
        uint64_t v;
        int e;
        while (r.p < r.end) {
                if (s_field(&r, &num, &wt, &v, &sub) < 0)
                        return -EINVAL;
                if (num < 1 || num > 9)
                        continue;
                if (wt != 2)
                        return -EINVAL;
                if (!row->tag[num - 1])
                        s_tag_defaults(row, num);
                if ((e = s_tag(num, sub, row, o)))
                        return e;
        }
        return 0;
}

static double s_mass(double m2)
{
        return isnan(m2) ? m2 : sqrt(m2 > 0 ? m2 : 0);
}

int columns_event_decode(const uint8_t *p, size_t n, uint32_t run, struct columns_event *row,
                         struct columns_out *out)
{
        struct columns_out o = *out;
        struct rd r = { p, p + n }, sub;
        uint32_t num, n_src = 0, n_mis = 0;
        unsigned wt;
        uint64_t v;
        int e;

        memset(row, 0, sizeof *row);
        row->run = run;
        row->zprime_invisible_recoil_m2_gev2 = row->zprime_invisible_recoil_theta_rad = NAN;
        row->tau_1x3_thrust = row->tau_1x3_x_lepton = NAN;
        row->missing_energy_e_miss_gev = row->missing_energy_theta_miss_rad = NAN;
        row->missing_energy_m2_miss_gev2 = NAN;
        row->single_photon_photon_e_gev = row->single_photon_recoil_m2_gev2 = NAN;
        while (r.p < r.end) {
                if (s_field(&r, &num, &wt, &v, &sub) < 0)
                        return -EINVAL;
                struct ctx c = { row, &o, 0, NULL };
                e = 0;
                switch (num) {
                case 1: if (wt != 0) return -EINVAL; row->trigger = (uint32_t)v; break;
                case 2: if (wt != 0) return -EINVAL; row->time_ticks = v; break;
                case 3: if (wt != 0) return -EINVAL; row->trigger_bits = (uint32_t)v; break;
                case 4:
                        e = s_ints(wt, v, &sub, s_status, NULL, &c);
                        break;
                case 5:
                        c.list = COLUMNS_SOURCE;
                        c.count = &n_src;
                        e = s_ints(wt, v, &sub, s_id, s_room, &c);
                        break;
                case 6:
                        c.list = COLUMNS_MISSING;
                        c.count = &n_mis;
                        e = s_ints(wt, v, &sub, s_id, s_room, &c);
                        break;
                case 7: if (wt != 2) return -EINVAL; row->n_fragments++; break;
                case 8: if (wt != 0) return -EINVAL; row->n_tracks = (uint32_t)v; break;
                case 9:
                        if (wt != 0)
                                return -EINVAL;
                        row->charge_sum = (int32_t)((uint32_t)(v >> 1) ^ -(uint32_t)(v & 1));
                        break;
                case 10: if (wt != 0) return -EINVAL; row->n_photons = (uint32_t)v; break;
                case 11: e = s_double_field(wt, v, &row->e_extra_gev) ? -EINVAL : 0; break;
                case 12: e = s_double_field(wt, v, &row->e_miss_gev) ? -EINVAL : 0; break;
                case 13: if (wt != 2) return -EINVAL; e = s_tags(sub, row, &o); break;
                default: break;
                }
                if (e)
                        return e;
        }
        /* the trigger may come after the lists: stamp their rows now */
        for (size_t i = out->n_values; i < o.n_values; i++)
                o.values[i].trigger = row->trigger;
        for (size_t i = out->n_dv; i < o.n_dv; i++)
                o.dv[i].trigger = row->trigger;
        row->n_sources = n_src;
        row->n_missing = n_mis;
        row->zprime_invisible_recoil_m_gev = s_mass(row->zprime_invisible_recoil_m2_gev2);
        row->single_photon_recoil_m_gev = s_mass(row->single_photon_recoil_m2_gev2);
        *out = o;
        return 0;
}
