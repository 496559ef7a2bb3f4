/* SPDX-License-Identifier: Apache-2.0 */
/* record_event_pack(), and record_event_head_write() + record_event_finish(),
 * must give exactly the bytes protobuf-c packs for record_event()'s message: on every event of every reference directory
 * (tagged), and on synthetic results that fire every tag with zero and
 * non-zero values, and parse back to the same message. */
#include "check.h"
#include "physics_config.h"
#include "record.h"
#include "replay.h"
#include "tagger.h"

struct cmp_ctx {
        record_enc_t *a, *b;
        tagger_t *tagger;
        uint64_t events, differ;
};

static bool s_same_bytes(record_enc_t *a, record_enc_t *b, const struct built_event *ev,
                         const struct tag_result *res)
{
        static uint8_t want[1 << 20];
        const Darkdaq__Record *rec = record_event(a, ev, res);
        size_t n = protobuf_c_message_get_packed_size(&rec->base);
        if (n > sizeof want)
                return false;
        protobuf_c_message_pack(&rec->base, want);
        size_t len = 0;
        const uint8_t *got = record_event_pack(b, ev, res, &len);
        if (!got || len != n || memcmp(got, want, n) != 0)
                return false;

        /* in two halves: the same bytes, and the tagger's fragments found
         * in the head */
        static uint8_t head[1 << 20];
        uint32_t off[64];
        size_t head_len = record_event_head_size(b, ev);
        if (head_len == 0 || head_len > sizeof head || ev->n_tag_frags > 64)
                return false;
        record_event_head_write(b, ev, head, off);
        for (size_t k = 0, i = 0; k < ev->n_tag_frags; k++) {
                while (i < ev->n_frags && ev->frags[i].data != ev->tag_frags[k])
                        i++;
                if (i == ev->n_frags || off[k] + ev->frags[i].bytes > head_len ||
                    memcmp(head + off[k], ev->frags[i].data, ev->frags[i].bytes) != 0)
                        return false;
        }
        got = record_event_finish(b, head, head_len, res, &len);
        return got && len == n && memcmp(got, want, n) == 0;
}

static void s_event(void *ctx, const struct built_event *ev)
{
        struct cmp_ctx *c = ctx;
        struct tag_input in = { ev->tag_frags, ev->n_tag_frags };
        struct tag_result res;
        tagger_run(c->tagger, &in, &res);
        c->events++;
        c->differ += !s_same_bytes(c->a, c->b, ev, &res);
        c->differ += !s_same_bytes(c->a, c->b, ev, NULL);
}
static void s_late(void *ctx, const struct built_late *l) { (void)ctx; (void)l; }
static void s_junk(void *ctx, const struct built_junk *j) { (void)ctx; (void)j; }
static void s_corrupt(void *ctx, const struct built_corrupt *c) { (void)ctx; (void)c; }

TEST(reference_events_pack_as_protobuf_c_does)
{
        static const char *dirs[][5] = {
                { "mix-clean", "board-0.raw", "board-1.raw", "board-2.raw", "board-3.raw" },
                { "mix-faults", "board-0.raw", "board-1.raw", "board-2.raw", "board-3.raw" },
                { "desync", "board-0.raw", "board-1.raw", "board-2.raw", "board-3.raw" },
                { "wrap", "board-0.raw", "board-1.raw", "board-2.raw", "board-3.raw" },
                { "zprime-m3", "board-0.raw", "board-1.raw", "board-2.raw", "board-3.raw" },
                { "interleaved", "all.raw", NULL, NULL, NULL },
                { "crafted", "content.raw", NULL, NULL, NULL },
        };
        struct physics_config pc;
        physics_config_default(&pc);
        struct cmp_ctx c = { record_enc_new(), record_enc_new(), tagger_new(&pc), 0, 0 };
        REQUIRE(c.a && c.b && c.tagger);
        for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
                char paths[4][512];
                const char *pp[4];
                size_t n = 0;
                for (size_t i = 1; i < 5 && dirs[d][i]; i++, n++) {
                        snprintf(paths[n], sizeof paths[n], "%s/%s/%s", TEST_DATA(dirs[d][0]),
                                 dirs[d][i]);
                        pp[n] = paths[n];
                }
                struct replay_options opt;
                replay_options_default(&opt);
                struct builder_sink sink = { &c, s_event, s_late, s_junk, s_corrupt };
                char err[256];
                CHECK_OK_ZERO(replay_run(&opt, pp, n, &sink, NULL, err, sizeof err));
        }
        CHECK_EQ_U(c.events, 500 + 500 + 200 + 300 + 200 + 300 + 4);
        CHECK_EQ_U(c.differ, 0);
        tagger_free(c.tagger);
        record_enc_free(c.a);
        record_enc_free(c.b);
}

TEST(every_tag_and_zero_values)
{
        static const uint8_t frag[40] = { 'D', 'K', 'F', 'R', 1, 3 };
        struct built_frag frags[2] = {
                { frag, sizeof frag, 3, 0x5, true, 2, 1ull << 40 },
                { frag, 0, 0, 0, false, 0, 0 },
        };
        struct tag_dv_candidate cands[3] = {
                { 1.5, -2.5, 0.01, 0.3, 1.1, 0.9, true },
                { 0, 0, 0, 0, 0, 0, false },
                { -0.0, 1e-300, 1e300, 3.0, 2.0, 1.0, false },
        };
        struct built_event ev = { .trigger = 0xFFFFFFFFu, .time_ticks = 1ull << 63,
                                  .trigger_bits = 0, .status = 0xFF, .sources = (1ull << 63) | 1,
                                  .missing = 1ull << 63, .frags = frags, .n_frags = 2 };
        struct tag_result t = { .fired = (1u << TAG_COUNT_) - 1, .n_tracks = 4,
                                .charge_sum = -3, .n_photons = 0, .e_extra_gev = 0,
                                .e_miss_gev = -1.25 };
        t.zprime.recoil_m2_gev2 = -0.5;
        t.mumutautau.n = 2;
        t.mumutautau.recoil_m_gev[0] = 3.6;
        t.mumutautau.recoil_m_gev[1] = 0;
        t.fourmu.n = 0;
        memcpy(t.tau1x3.lepton, "mu", 3);
        t.tau1x3.thrust = 0.9;
        t.dv.c = cands;
        t.dv.n = 3;
        t.missing.e_miss_gev = 5;
        t.single_photon.photon_e_gev = 2;
        t.three_photon.diphoton_m_gev[2] = 1;
        record_enc_t *a = record_enc_new(), *b = record_enc_new();
        CHECK(s_same_bytes(a, b, &ev, &t));
        t.charge_sum = 2;
        t.tau1x3.lepton[0] = '\0';
        t.dv.n = 0;
        CHECK(s_same_bytes(a, b, &ev, &t));
        t.fired = 0;
        ev.status = 0;
        ev.sources = 0;
        ev.missing = 0;
        ev.n_frags = 0;
        CHECK(s_same_bytes(a, b, &ev, &t));
        CHECK(s_same_bytes(a, b, &ev, NULL));
        record_enc_free(a);
        record_enc_free(b);
}

TEST_MAIN()
