/* SPDX-License-Identifier: Apache-2.0 */
/* sim_writer: encodes fragments with frag_encode() and decides, from its
 * own random streams, which ones to corrupt, drop, repeat or delay.  The
 * physics never depends on the fault rates: same seed, same events. */
#include "writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#define STREAM_FAULTS   101
#define STREAM_ORDER    102
#define STREAM_RAW      103
#define JUNK_MAX_WORDS  16

static const char *const s_fault_names[SIM_FAULT_COUNT_] = {
        [SIM_FAULT_CRC] = "crc",
        [SIM_FAULT_MISSING] = "missing",
        [SIM_FAULT_DUP] = "dup",
        [SIM_FAULT_LATE] = "late",
        [SIM_FAULT_JUNK] = "junk",
        [SIM_FAULT_TRUNC] = "truncflag",
        [SIM_FAULT_BUSY] = "busy",
        [SIM_FAULT_DESYNC] = "desync",
};

/* A fragment held back by a LATE fault. */
struct late {
        uint64_t due;           /* written after the board's fragment of this index */
        unsigned board;
        size_t len;
        uint8_t *bytes;
        struct late *next;      /* in order of creation */
};

/* What one board does for the current trigger. */
struct board_plan {
        bool present;           /* a fragment is encoded */
        bool dup, late, crc;
        uint32_t trigger;       /* number the board puts in its header */
        uint16_t flags;
        unsigned junk_words;    /* 0 = none */
        uint32_t junk[JUNK_MAX_WORDS];
        uint64_t crc_pick;      /* which payload/CRC bit to flip */
        size_t len;             /* encoded size */
};

struct sim_writer {
        struct sim_writer_config cfg;
        sim_sink_t **sinks;             /* n_boards of them, or one */
        unsigned n_sinks;
        struct sim_rng faults;          /* fault decisions and junk bytes */
        struct sim_rng order;           /* interleaved board order */
        struct sim_rng raw;             /* RAW block contents */
        uint8_t *buf[SIM_WRITER_MAX_BOARDS];    /* one encoded fragment per board */
        size_t buf_size;
        struct board_plan plan[SIM_WRITER_MAX_BOARDS];
        struct late *late_head, *late_tail;
        const char *failed;             /* sink name of the first write error */
};

const char *sim_fault_name(unsigned kind)
{
        return kind < SIM_FAULT_COUNT_ ? s_fault_names[kind] : "?";
}

sim_writer_t *sim_writer_free(sim_writer_t *w)
{
        if (!w)
                return NULL;
        for (unsigned b = 0; b < SIM_WRITER_MAX_BOARDS; b++)
                free(w->buf[b]);
        while (w->late_head) {
                struct late *l = w->late_head;

                w->late_head = l->next;
                free(l->bytes);
                free(l);
        }
        free(w->sinks);
        free(w);
        return NULL;
}

sim_writer_t *sim_writer_new(const struct sim_writer_config *cfg, sim_sink_t **sinks,
                             unsigned n_sinks)
{
        sim_writer_t *w;
        size_t records = SIM_MAX_TRACKS * FRAG_TRACK_BYTES;

        if (cfg->n_boards < 1 || cfg->n_boards > SIM_WRITER_MAX_BOARDS ||
            (n_sinks != 1 && n_sinks != cfg->n_boards) || cfg->raw_bytes % 4 ||
            cfg->raw_bytes > FRAG_MAX_PAYLOAD - FRAG_BLOCK_HEADER)
                return NULL;
        w = calloc(1, sizeof(*w));
        if (!w)
                return NULL;
        w->cfg = *cfg;
        if (SIM_MAX_CLUSTERS * FRAG_CLUSTER_BYTES > records)
                records = SIM_MAX_CLUSTERS * FRAG_CLUSTER_BYTES;
        if (cfg->raw_bytes > records)
                records = cfg->raw_bytes;
        w->buf_size = FRAG_OVERHEAD + FRAG_BLOCK_HEADER + records;
        w->sinks = calloc(n_sinks, sizeof(*w->sinks));
        if (!w->sinks)
                return sim_writer_free(w);
        memcpy(w->sinks, sinks, n_sinks * sizeof(*sinks));
        w->n_sinks = n_sinks;
        for (unsigned b = 0; b < cfg->n_boards; b++) {
                w->buf[b] = malloc(w->buf_size);
                if (!w->buf[b])
                        return sim_writer_free(w);
        }
        sim_rng_seed(&w->faults, cfg->seed, STREAM_FAULTS);
        sim_rng_seed(&w->order, cfg->seed, STREAM_ORDER);
        sim_rng_seed(&w->raw, cfg->seed, STREAM_RAW);
        return w;
}

static void s_put16(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void s_put32(uint8_t *p, uint32_t v)
{
        s_put16(p, v);
        s_put16(p + 2, v >> 16);
}

/* A random word that is neither fragment magic (no false headers). */
static uint32_t s_word(struct sim_rng *r)
{
        uint32_t v = (uint32_t)(sim_rng_u64(r) >> 32);

        return v == FRAG_MAGIC || v == FRAG_END_MAGIC ? v ^ 0x01010101u : v;
}

/* The block of board b at p (after the block header at p - 8); returns the
 * block's record bytes, and writes type and count into the header. */
static uint32_t s_block(sim_writer_t *w, unsigned b, const struct sim_records *rec,
                        uint8_t *hdr)
{
        uint8_t *p = hdr + FRAG_BLOCK_HEADER;
        uint32_t type, count = 0, bytes;

        if (b == 0) {
                type = FRAG_BLOCK_TRACK;
                count = rec->n_tracks;
                for (unsigned i = 0; i < count; i++, p += FRAG_TRACK_BYTES) {
                        const struct frag_track *t = &rec->tracks[i];

                        s_put32(p, (uint32_t)t->px_kev);
                        s_put32(p + 4, (uint32_t)t->py_kev);
                        s_put32(p + 8, (uint32_t)t->pz_kev);
                        s_put32(p + 12, (uint32_t)t->d0_um);
                        s_put32(p + 16, (uint32_t)t->z0_um);
                        p[20] = (uint8_t)t->charge;
                        p[21] = t->quality;
                        s_put16(p + 22, t->n_hits);
                }
                bytes = count * FRAG_TRACK_BYTES;
        } else if (b == 1) {
                type = FRAG_BLOCK_CLUSTER;
                count = rec->n_clusters;
                for (unsigned i = 0; i < count; i++, p += FRAG_CLUSTER_BYTES) {
                        const struct frag_cluster *c = &rec->clusters[i];

                        s_put32(p, c->energy_kev);
                        s_put32(p + 4, (uint32_t)c->theta_urad);
                        s_put32(p + 8, (uint32_t)c->phi_urad);
                        s_put16(p + 12, (uint16_t)c->time_ns);
                        s_put16(p + 14, c->n_crystals);
                }
                bytes = count * FRAG_CLUSTER_BYTES;
        } else if (b == 2) {
                type = FRAG_BLOCK_MUON;
                count = rec->n_muons;
                for (unsigned i = 0; i < count; i++, p += FRAG_MUON_BYTES) {
                        const struct frag_muon *m = &rec->muons[i];

                        s_put32(p, (uint32_t)m->theta_urad);
                        s_put32(p + 4, (uint32_t)m->phi_urad);
                        p[8] = m->layers;
                        p[9] = m->sector;
                        s_put16(p + 10, 0);
                }
                bytes = count * FRAG_MUON_BYTES;
        } else {
                type = FRAG_BLOCK_RAW;
                bytes = w->cfg.raw_bytes;
                for (uint32_t i = 0; i < bytes; i += 4)
                        s_put32(p + i, s_word(&w->raw));
        }
        s_put16(hdr, type);
        s_put16(hdr + 2, count);
        s_put32(hdr + 4, bytes);
        return bytes;
}

/* Draws every board's faults with a fixed number of draws per board, so a
 * rate changes only the decisions of its own kind. */
static void s_plan(sim_writer_t *w, uint64_t index, uint32_t trigger,
                   struct sim_fault *faults, unsigned *n_faults)
{
        const double *rate = w->cfg.rate;

        for (unsigned b = 0; b < w->cfg.n_boards; b++) {
                struct board_plan *pl = &w->plan[b];
                double u[SIM_FAULT_DESYNC];
                bool desync_here = (int)b == w->cfg.desync_board && index == w->cfg.desync_at;
                bool late_ok = index + SIM_WRITER_LATE_BY < w->cfg.n_triggers;

                for (unsigned k = 0; k < SIM_FAULT_DESYNC; k++)
                        u[k] = sim_rng_uniform(&w->faults);
                memset(pl, 0, sizeof(*pl));
                pl->junk_words = 1 + (unsigned)sim_rng_below(&w->faults, JUNK_MAX_WORDS);
                for (unsigned i = 0; i < JUNK_MAX_WORDS; i++)
                        pl->junk[i] = s_word(&w->faults);
                pl->crc_pick = sim_rng_u64(&w->faults);

                pl->trigger = trigger;
                if ((int)b == w->cfg.desync_board && index > w->cfg.desync_at)
                        pl->trigger = trigger - 1;
                pl->present = !desync_here && !(u[SIM_FAULT_MISSING] < rate[SIM_FAULT_MISSING]);
                if (!(u[SIM_FAULT_JUNK] < rate[SIM_FAULT_JUNK]))
                        pl->junk_words = 0;
                if (pl->present) {
                        if (u[SIM_FAULT_CRC] < rate[SIM_FAULT_CRC])
                                pl->crc = true;
                        else if (u[SIM_FAULT_DUP] < rate[SIM_FAULT_DUP])
                                pl->dup = true;
                        else if (late_ok && u[SIM_FAULT_LATE] < rate[SIM_FAULT_LATE])
                                pl->late = true;
                        if (u[SIM_FAULT_TRUNC] < rate[SIM_FAULT_TRUNC])
                                pl->flags |= FRAG_TRUNCATED;
                        if (u[SIM_FAULT_BUSY] < rate[SIM_FAULT_BUSY])
                                pl->flags |= FRAG_BUSY_SEEN;
                }

#define S_REPORT(cond, kind) \
        do { if (cond) faults[(*n_faults)++] = (struct sim_fault){ (kind), (uint8_t)b }; } while (0)
                S_REPORT(pl->crc, SIM_FAULT_CRC);
                S_REPORT(!pl->present && !desync_here, SIM_FAULT_MISSING);
                S_REPORT(pl->dup, SIM_FAULT_DUP);
                S_REPORT(pl->late, SIM_FAULT_LATE);
                S_REPORT(pl->junk_words, SIM_FAULT_JUNK);
                S_REPORT(pl->flags & FRAG_TRUNCATED, SIM_FAULT_TRUNC);
                S_REPORT(pl->flags & FRAG_BUSY_SEEN, SIM_FAULT_BUSY);
                S_REPORT(desync_here, SIM_FAULT_DESYNC);
#undef S_REPORT
        }
}

static int s_out(sim_writer_t *w, unsigned b, const void *p, size_t len)
{
        sim_sink_t *s = w->sinks[w->n_sinks == 1 ? 0 : b];
        int r = sim_sink_write(s, p, len);

        if (r < 0 && !w->failed)
                w->failed = s->name;
        return r;
}

static int s_hold_late(sim_writer_t *w, unsigned b, uint64_t due)
{
        struct late *l = calloc(1, sizeof(*l));

        if (!l || !(l->bytes = malloc(w->plan[b].len))) {
                free(l);
                return -ENOMEM;
        }
        memcpy(l->bytes, w->buf[b], w->plan[b].len);
        l->len = w->plan[b].len;
        l->board = b;
        l->due = due;
        if (w->late_tail)
                w->late_tail->next = l;
        else
                w->late_head = l;
        w->late_tail = l;
        return 0;
}

/* Writes the held fragments of board b (or of every board, b < 0) due by
 * index (all of them when all is set). */
static int s_release_late(sim_writer_t *w, int b, uint64_t index, bool all)
{
        struct late **pp = &w->late_head, *prev = NULL;

        while (*pp) {
                struct late *l = *pp;

                if ((b < 0 || l->board == (unsigned)b) && (all || l->due <= index)) {
                        int r = s_out(w, l->board, l->bytes, l->len);

                        if (r < 0)
                                return r;
                        *pp = l->next;
                        if (w->late_tail == l)
                                w->late_tail = prev;
                        free(l->bytes);
                        free(l);
                } else {
                        prev = l;
                        pp = &l->next;
                }
        }
        return 0;
}

/* Junk, the fragment, its copy; holds a late one back. */
static int s_emit_board(sim_writer_t *w, unsigned b, uint64_t index)
{
        struct board_plan *pl = &w->plan[b];
        int r = 0;

        if (pl->junk_words) {
                uint8_t junk[JUNK_MAX_WORDS * 4];

                for (unsigned i = 0; i < pl->junk_words; i++)
                        s_put32(junk + 4 * i, pl->junk[i]);
                r = s_out(w, b, junk, 4 * pl->junk_words);
        }
        if (r < 0 || !pl->present)
                return r;
        if (pl->late)
                return s_hold_late(w, b, index + SIM_WRITER_LATE_BY);
        r = s_out(w, b, w->buf[b], pl->len);
        if (r == 0 && pl->dup)
                r = s_out(w, b, w->buf[b], pl->len);
        return r;
}

int sim_writer_trigger(sim_writer_t *w, uint64_t index, uint32_t trigger, uint64_t time_ticks,
                       const struct sim_records *rec, struct sim_fault *faults,
                       unsigned *n_faults)
{
        unsigned order[SIM_WRITER_MAX_BOARDS];
        unsigned n = w->cfg.n_boards;
        int r;

        *n_faults = 0;
        s_plan(w, index, trigger, faults, n_faults);
        for (unsigned b = 0; b < n; b++) {
                struct board_plan *pl = &w->plan[b];
                uint8_t *f = w->buf[b];
                uint32_t bytes = s_block(w, b, rec, f + FRAG_HEADER_BYTES);
                struct frag_header h = {
                        .magic = FRAG_MAGIC,
                        .version = FRAG_VERSION,
                        .source_id = (uint8_t)b,
                        .flags = pl->flags,
                        .trigger = pl->trigger,
                        .payload_bytes = FRAG_BLOCK_HEADER + bytes,
                        .trigger_time = time_ticks,
                        .trigger_bits = rec->trigger_bits,
                };

                pl->len = frag_encode(f, &h);
                if (pl->crc) {
                        /* one bit of the payload or of the CRC word */
                        size_t span = h.payload_bytes + 4;
                        size_t at = FRAG_HEADER_BYTES + (size_t)(pl->crc_pick % span);

                        f[at] ^= (uint8_t)(1u << ((pl->crc_pick >> 32) % 8));
                }
        }

        for (unsigned b = 0; b < n; b++)
                order[b] = b;
        if (w->n_sinks == 1) {
                for (unsigned i = n; i > 1; i--) {
                        unsigned j = (unsigned)sim_rng_below(&w->order, i), t = order[i - 1];

                        order[i - 1] = order[j];
                        order[j] = t;
                }
        }
        for (unsigned i = 0; i < n; i++) {
                r = s_emit_board(w, order[i], index);
                if (r == 0 && w->n_sinks > 1)
                        r = s_release_late(w, (int)order[i], index, false);
                if (r < 0)
                        return r;
        }
        return w->n_sinks == 1 ? s_release_late(w, -1, index, false) : 0;
}

int sim_writer_finish(sim_writer_t *w)
{
        return s_release_late(w, -1, 0, true);
}

const char *sim_writer_failed(const sim_writer_t *w)
{
        return w->failed;
}
