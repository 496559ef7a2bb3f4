/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of record: builder outputs and tag results to darkdaq.Record and back
 * through protobuf-c's packed form, field by field; and sha256. */
#include <math.h>

#include "check.h"
#include "record.h"
#include "sha256.h"

/* Packs rec and unpacks it again, as a reader would see it. */
static Darkdaq__Record *s_round_trip(const Darkdaq__Record *rec)
{
        size_t n = protobuf_c_message_get_packed_size(&rec->base);
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf)
                return NULL;
        protobuf_c_message_pack(&rec->base, buf);
        Darkdaq__Record *back = darkdaq__record__unpack(NULL, n, buf);
        free(buf);
        return back;
}

static uint8_t frag_a[48], frag_b[52], frag_c[40];

static struct built_frag frags[3];

static void s_event(struct built_event *ev)
{
        for (size_t i = 0; i < sizeof frag_a; i++)
                frag_a[i] = (uint8_t)(i * 7 + 1);
        for (size_t i = 0; i < sizeof frag_b; i++)
                frag_b[i] = (uint8_t)(255 - i);
        memset(frag_c, 0xA5, sizeof frag_c);
        frags[0] = (struct built_frag){ frag_a, sizeof frag_a, 0, 0x0001, true, 0, 4096 };
        frags[1] = (struct built_frag){ frag_b, sizeof frag_b, 2, 0x0000, true, 2, 123456789012ull };
        frags[2] = (struct built_frag){ frag_c, sizeof frag_c, 2, 0x0006, false, 2, 77 };
        memset(ev, 0, sizeof *ev);
        ev->trigger = 4294967295u;
        ev->time_ticks = 0x123456789abcdefull;
        ev->trigger_bits = 0x105;
        ev->status = EV_INCOMPLETE | EV_DUPLICATE | EV_CORRUPT | EV_BUSY_SEEN | EV_TEST_PATTERN;
        ev->sources = (1ull << 0) | (1ull << 2) | (1ull << 63);
        ev->missing = (1ull << 1) | (1ull << 2) | (1ull << 40);
        ev->frags = frags;
        ev->n_frags = 3;
}

static const struct tag_dv_candidate dv_cands[2] = {
        { 0.7681918732898839, 0.04690488767256928, 0.00012025320203180867, 0.8704927621649897,
          1.0193512605625554, 0.980386361263488, true },
        { 2.423138441377163, -0.17469043496964587, 7.907405233487097e-05, 2.1030358582226767,
          0.6503266708022883, 0.5873714358885521, false },
};

static void s_tags(struct tag_result *t)
{
        memset(t, 0, sizeof *t);
        t->fired = (1u << TAG_COUNT_) - 1;      /* every tag, to see every field */
        t->n_tracks = 5;
        t->charge_sum = -3;
        t->n_photons = 2;
        t->e_extra_gev = 0.0;
        t->e_miss_gev = -0.10974515220291639;
        t->zprime.recoil_m2_gev2 = 9.013311922188429;
        t->zprime.recoil_theta_rad = 0.948093584153113;
        t->mumutautau.recoil_m_gev[0] = 4.523584228648475;
        t->mumutautau.recoil_m_gev[1] = 5.835281620202734;
        t->mumutautau.n = 2;
        t->fourmu.dimuon_m_gev[0] = 1.999280768716508;
        t->fourmu.dimuon_m_gev[1] = 2.854314175291956;
        t->fourmu.dimuon_m_gev[2] = 4.513302212854907;
        t->fourmu.dimuon_m_gev[3] = 5.830836474056943;
        t->fourmu.n = 4;
        memcpy(t->tau1x3.lepton, "mu", 3);
        t->tau1x3.thrust = 0.9678061202663777;
        t->tau1x3.x_lepton = 0.8886842482331315;
        t->dv.c = dv_cands;
        t->dv.n = 2;
        t->missing.e_miss_gev = 6.84905305942434;
        t->missing.theta_miss_rad = 1.3820280199212038;
        t->missing.m2_miss_gev2 = 37.331377466110084;
        t->single_photon.photon_e_gev = 5.036759823095501;
        t->single_photon.recoil_m2_gev2 = 5.353660305246748;
        t->three_photon.diphoton_m_gev[0] = 0.9947037058723471;
        t->three_photon.diphoton_m_gev[1] = 3.8340506600964295;
        t->three_photon.diphoton_m_gev[2] = 9.676193102941427;
}

TEST(event_round_trip_every_field)
{
        struct built_event ev;
        struct tag_result t;
        s_event(&ev);
        s_tags(&t);
        record_enc_t *e = record_enc_new();
        REQUIRE(e);
        Darkdaq__Record *rec = record_event(e, &ev, &t);
        REQUIRE(rec);
        Darkdaq__Record *back = s_round_trip(rec);
        REQUIRE(back);
        REQUIRE(back->body_case == DARKDAQ__RECORD__BODY_EVENT);
        const Darkdaq__Event *m = back->event;
        CHECK_EQ_U(m->trigger, 4294967295u);
        CHECK_EQ_U(m->time_ticks, 0x123456789abcdefull);
        CHECK_EQ_U(m->trigger_bits, 0x105);

        REQUIRE(m->n_status == 5);
        CHECK(m->status[0] == DARKDAQ__STATUS__STATUS_INCOMPLETE);
        CHECK(m->status[1] == DARKDAQ__STATUS__STATUS_DUPLICATE);
        CHECK(m->status[2] == DARKDAQ__STATUS__STATUS_CORRUPT);
        CHECK(m->status[3] == DARKDAQ__STATUS__STATUS_BUSY_SEEN);
        CHECK(m->status[4] == DARKDAQ__STATUS__STATUS_TEST_PATTERN);

        REQUIRE(m->n_sources == 3);
        CHECK_EQ_U(m->sources[0], 0);
        CHECK_EQ_U(m->sources[1], 2);
        CHECK_EQ_U(m->sources[2], 63);
        REQUIRE(m->n_missing == 3);
        CHECK_EQ_U(m->missing[0], 1);
        CHECK_EQ_U(m->missing[1], 2);
        CHECK_EQ_U(m->missing[2], 40);

        REQUIRE(m->n_fragments == 3);
        for (size_t i = 0; i < 3; i++) {
                const Darkdaq__Fragment *f = m->fragments[i];
                CHECK_EQ_U(f->source, frags[i].source);
                CHECK_EQ_U(f->flags, frags[i].flags);
                CHECK(!!f->good == frags[i].good);
                CHECK_EQ_U(f->stream, frags[i].stream);
                CHECK_EQ_U(f->offset, frags[i].offset);
                CHECK_EQ_U(f->raw.len, frags[i].bytes);
                CHECK(memcmp(f->raw.data, frags[i].data, frags[i].bytes) == 0);
        }

        CHECK_EQ_U(m->n_tracks, 5);
        CHECK(m->charge_sum == -3);
        CHECK_EQ_U(m->n_photons, 2);
        CHECK(m->e_extra_gev == 0.0);
        CHECK(m->e_miss_gev == t.e_miss_gev);

        const Darkdaq__Tags *g = m->tags;
        REQUIRE(g);
        REQUIRE(g->zprime_invisible);
        CHECK(g->zprime_invisible->recoil_m2_gev2 == t.zprime.recoil_m2_gev2);
        CHECK(g->zprime_invisible->recoil_theta_rad == t.zprime.recoil_theta_rad);
        REQUIRE(g->mumu_tautau);
        REQUIRE(g->mumu_tautau->n_recoil_m_gev == 2);
        CHECK(g->mumu_tautau->recoil_m_gev[0] == t.mumutautau.recoil_m_gev[0]);
        CHECK(g->mumu_tautau->recoil_m_gev[1] == t.mumutautau.recoil_m_gev[1]);
        REQUIRE(g->four_muon);
        REQUIRE(g->four_muon->n_dimuon_m_gev == 4);
        for (int i = 0; i < 4; i++)
                CHECK(g->four_muon->dimuon_m_gev[i] == t.fourmu.dimuon_m_gev[i]);
        REQUIRE(g->tau_1x3);
        CHECK_STR(g->tau_1x3->lepton, "mu");
        CHECK(g->tau_1x3->thrust == t.tau1x3.thrust);
        CHECK(g->tau_1x3->x_lepton == t.tau1x3.x_lepton);
        REQUIRE(g->displaced_vertex);
        REQUIRE(g->displaced_vertex->n_candidates == 2);
        for (int i = 0; i < 2; i++) {
                const Darkdaq__DvCandidate *c = g->displaced_vertex->candidates[i];
                CHECK(c->r_xy_cm == dv_cands[i].r_xy_cm);
                CHECK(c->z_cm == dv_cands[i].z_cm);
                CHECK(c->doca_cm == dv_cands[i].doca_cm);
                CHECK(c->open_rad == dv_cands[i].open_rad);
                CHECK(c->m_pipi_gev == dv_cands[i].m_pipi_gev);
                CHECK(c->m_reduced_pipi_gev == dv_cands[i].m_reduced_pipi_gev);
                CHECK(!!c->points_to_ip == dv_cands[i].points_to_ip);
        }
        REQUIRE(g->missing_energy);
        CHECK(g->missing_energy->e_miss_gev == t.missing.e_miss_gev);
        CHECK(g->missing_energy->theta_miss_rad == t.missing.theta_miss_rad);
        CHECK(g->missing_energy->m2_miss_gev2 == t.missing.m2_miss_gev2);
        CHECK(g->idm_dark_higgs != NULL);
        REQUIRE(g->single_photon);
        CHECK(g->single_photon->photon_e_gev == t.single_photon.photon_e_gev);
        CHECK(g->single_photon->recoil_m2_gev2 == t.single_photon.recoil_m2_gev2);
        REQUIRE(g->three_photon);
        REQUIRE(g->three_photon->n_diphoton_m_gev == 3);
        for (int i = 0; i < 3; i++)
                CHECK(g->three_photon->diphoton_m_gev[i] == t.three_photon.diphoton_m_gev[i]);

        struct record_counters rc;
        record_get_counters(e, &rc);
        for (unsigned i = 0; i < TAG_COUNT_; i++)
                CHECK_EQ_U(rc.tags[i], 1);
        darkdaq__record__free_unpacked(back, NULL);
        record_enc_free(e);
}

TEST(event_only_fired_tags_present)
{
        struct built_event ev;
        struct tag_result t;
        s_event(&ev);
        ev.status = EV_COMPLETE;
        ev.missing = 0;
        s_tags(&t);
        t.fired = 1u << TAG_IDM_DARK_HIGGS | 1u << TAG_TAU_1X3;
        memcpy(t.tau1x3.lepton, "e", 2);
        record_enc_t *e = record_enc_new();
        REQUIRE(e);
        Darkdaq__Record *back = s_round_trip(record_event(e, &ev, &t));
        REQUIRE(back && back->event && back->event->tags);
        const Darkdaq__Tags *g = back->event->tags;
        CHECK(g->idm_dark_higgs != NULL);       /* empty message, still present */
        CHECK(g->tau_1x3 && strcmp(g->tau_1x3->lepton, "e") == 0);
        CHECK(!g->zprime_invisible && !g->mumu_tautau && !g->four_muon);
        CHECK(!g->displaced_vertex && !g->missing_energy && !g->single_photon);
        CHECK(!g->three_photon);
        REQUIRE(back->event->n_status == 1);
        CHECK(back->event->status[0] == DARKDAQ__STATUS__STATUS_COMPLETE);
        CHECK_EQ_U(back->event->n_missing, 0);
        darkdaq__record__free_unpacked(back, NULL);

        /* No tag result at all: no tags, no quantities. */
        back = s_round_trip(record_event(e, &ev, NULL));
        REQUIRE(back && back->event);
        CHECK(!back->event->tags || !back->event->tags->idm_dark_higgs);
        CHECK_EQ_U(back->event->n_tracks, 0);
        darkdaq__record__free_unpacked(back, NULL);
        record_enc_free(e);
}

TEST(event_arrays_reused)
{
        struct built_event ev;
        struct tag_result t;
        s_event(&ev);
        s_tags(&t);
        record_enc_t *e = record_enc_new();
        REQUIRE(e);
        Darkdaq__Record *r1 = record_event(e, &ev, &t);
        REQUIRE(r1);
        Darkdaq__Fragment **f1 = r1->event->fragments;
        Darkdaq__DvCandidate **c1 = r1->event->tags->displaced_vertex->candidates;
        ev.n_frags = 2;
        t.dv.n = 1;
        Darkdaq__Record *r2 = record_event(e, &ev, &t);
        REQUIRE(r2);
        CHECK(r2->event->fragments == f1);
        CHECK(r2->event->tags->displaced_vertex->candidates == c1);
        CHECK_EQ_U(r2->event->n_fragments, 2);

        /* A bigger event grows the arrays once. */
        static struct built_frag many[100];
        for (int i = 0; i < 100; i++)
                many[i] = frags[i % 3];
        ev.frags = many;
        ev.n_frags = 100;
        Darkdaq__Record *back = s_round_trip(record_event(e, &ev, &t));
        REQUIRE(back);
        CHECK_EQ_U(back->event->n_fragments, 100);
        CHECK_EQ_U(back->event->fragments[99]->raw.len, frags[0].bytes);
        darkdaq__record__free_unpacked(back, NULL);
        record_enc_free(e);
}

TEST(late_junk_corrupt)
{
        uint8_t bytes[20];
        for (int i = 0; i < 20; i++)
                bytes[i] = (uint8_t)(i + 100);
        record_enc_t *e = record_enc_new();
        REQUIRE(e);

        struct built_late l = { .stream = 3, .offset = 999, .source = 7, .trigger = 15,
                                .data = bytes, .bytes = 20 };
        Darkdaq__Record *b = s_round_trip(record_late(e, &l));
        REQUIRE(b && b->body_case == DARKDAQ__RECORD__BODY_LATE);
        CHECK_EQ_U(b->late->stream, 3);
        CHECK_EQ_U(b->late->offset, 999);
        CHECK_EQ_U(b->late->source, 7);
        CHECK_EQ_U(b->late->trigger, 15);
        CHECK(b->late->raw.len == 20 && memcmp(b->late->raw.data, bytes, 20) == 0);
        darkdaq__record__free_unpacked(b, NULL);

        struct built_junk j = { .stream = 1, .offset = 4096, .data = bytes, .bytes = 12,
                                .reason = "no header magic" };
        b = s_round_trip(record_junk(e, &j));
        REQUIRE(b && b->body_case == DARKDAQ__RECORD__BODY_JUNK);
        CHECK_EQ_U(b->junk->stream, 1);
        CHECK_EQ_U(b->junk->offset, 4096);
        CHECK(b->junk->raw.len == 12 && memcmp(b->junk->raw.data, bytes, 12) == 0);
        CHECK_STR(b->junk->reason, "no header magic");
        darkdaq__record__free_unpacked(b, NULL);

        struct built_corrupt c = { .stream = 2, .offset = 8192, .source = 3, .trigger = 99,
                                   .data = bytes, .bytes = 16, .reason = "crc mismatch" };
        b = s_round_trip(record_corrupt(e, &c));
        REQUIRE(b && b->body_case == DARKDAQ__RECORD__BODY_CORRUPT);
        CHECK_EQ_U(b->corrupt->stream, 2);
        CHECK_EQ_U(b->corrupt->offset, 8192);
        CHECK_EQ_U(b->corrupt->source, 3);
        CHECK_EQ_U(b->corrupt->trigger, 99);
        CHECK(b->corrupt->raw.len == 16 && memcmp(b->corrupt->raw.data, bytes, 16) == 0);
        CHECK_STR(b->corrupt->reason, "crc mismatch");
        darkdaq__record__free_unpacked(b, NULL);
        record_enc_free(e);
}

TEST(run_header)
{
        record_enc_t *e = record_enc_new();
        REQUIRE(e);
        struct record_run_info info = { .run = 12, .start_time_ns = 1700000000123456789ull,
                                        .config_text = "abc", .sources = 0xF0000000000000F1ull,
                                        .file_sequence = 4 };
        Darkdaq__Record *b = s_round_trip(record_run_header(e, &info));
        REQUIRE(b && b->body_case == DARKDAQ__RECORD__BODY_RUN_HEADER);
        const Darkdaq__RunHeader *h = b->run_header;
        CHECK_EQ_U(h->run, 12);
        CHECK_EQ_U(h->start_time_ns, 1700000000123456789ull);
        CHECK_STR(h->config_text, "abc");
        CHECK_STR(h->config_hash,
                  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        CHECK_STR(h->software_version, DARKDAQ_VERSION);
        CHECK_EQ_U(h->file_sequence, 4);
        REQUIRE(h->n_sources == 9);
        CHECK_EQ_U(h->sources[0], 0);
        CHECK_EQ_U(h->sources[4], 7);
        CHECK_EQ_U(h->sources[5], 60);
        CHECK_EQ_U(h->sources[8], 63);
        darkdaq__record__free_unpacked(b, NULL);

        info.config_text = NULL;
        b = s_round_trip(record_run_header(e, &info));
        REQUIRE(b && b->run_header);
        CHECK_STR(b->run_header->config_text, "");
        CHECK_STR(b->run_header->config_hash,
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        darkdaq__record__free_unpacked(b, NULL);
        record_enc_free(e);
}

static uint64_t s_count(const Darkdaq__RunTrailer *t, const char *name)
{
        for (size_t i = 0; i < t->n_counts; i++)
                if (strcmp(t->counts[i]->name, name) == 0)
                        return t->counts[i]->value;
        return UINT64_MAX;
}

TEST(run_trailer)
{
        struct builder_counters c;
        memset(&c, 0, sizeof c);
        c.events = 500;
        c.complete = 490;
        c.incomplete = 10;
        c.corrupt_events = 3;
        c.late = 9;
        c.junk = 15;
        c.junk_bytes = 400;
        c.corrupt = 2;
        c.bytes_in = 123456;
        c.bytes_out = 123456;
        c.per_source_fragments[2] = 498;
        c.per_source_late[2] = 1;
        c.per_source_missing[3] = 4;
        struct builder_out_of_step oos[2] = { { 2, -1, 101 }, { 5, 3, 7 } };
        uint64_t tags[TAG_COUNT_] = { 11, 0, 0, 0, 0, 0, 0, 0, 42 };
        struct record_totals tot = { .counters = &c, .oos = oos, .n_oos = 2,
                                     .tag_counts = tags, .end_reason = "end of input",
                                     .end_time_ns = 1700000001000000000ull };
        record_enc_t *e = record_enc_new();
        REQUIRE(e);
        Darkdaq__Record *b = s_round_trip(record_trailer(e, &tot));
        REQUIRE(b && b->body_case == DARKDAQ__RECORD__BODY_RUN_TRAILER);
        const Darkdaq__RunTrailer *t = b->run_trailer;
        CHECK_EQ_U(t->end_time_ns, 1700000001000000000ull);
        CHECK_STR(t->end_reason, "end of input");
        CHECK_EQ_U(s_count(t, "events"), 500);
        CHECK_EQ_U(s_count(t, "complete"), 490);
        CHECK_EQ_U(s_count(t, "incomplete"), 10);
        CHECK_EQ_U(s_count(t, "duplicate"), 0);
        CHECK_EQ_U(s_count(t, "corrupt_events"), 3);
        CHECK_EQ_U(s_count(t, "late"), 9);
        CHECK_EQ_U(s_count(t, "junk"), 15);
        CHECK_EQ_U(s_count(t, "junk_bytes"), 400);
        CHECK_EQ_U(s_count(t, "corrupt"), 2);
        CHECK_EQ_U(s_count(t, "forced_by_timeout"), 0);
        CHECK_EQ_U(s_count(t, "bytes_in"), 123456);
        CHECK_EQ_U(s_count(t, "bytes_out"), 123456);
        CHECK_EQ_U(s_count(t, "source_2_fragments"), 498);
        CHECK_EQ_U(s_count(t, "source_2_late"), 1);
        CHECK_EQ_U(s_count(t, "source_3_missing"), 4);
        CHECK_EQ_U(s_count(t, "source_0_fragments"), UINT64_MAX);   /* all zero: left out */
        CHECK_EQ_U(s_count(t, "tag_zprime_invisible"), 11);
        CHECK_EQ_U(s_count(t, "tag_three_photon"), 42);
        CHECK_EQ_U(s_count(t, "tag_idm_dark_higgs"), 0);
        REQUIRE(t->n_out_of_step == 2);
        CHECK_EQ_U(t->out_of_step[0]->source, 2);
        CHECK(t->out_of_step[0]->offset == -1);
        CHECK_EQ_U(t->out_of_step[0]->first_trigger, 101);
        CHECK_EQ_U(t->out_of_step[1]->source, 5);
        CHECK(t->out_of_step[1]->offset == 3);
        darkdaq__record__free_unpacked(b, NULL);

        /* Without counters: the tags this encoder counted. */
        struct built_event ev;
        struct tag_result tr;
        s_event(&ev);
        s_tags(&tr);
        tr.fired = 1u << TAG_SINGLE_PHOTON;
        record_event(e, &ev, &tr);
        record_event(e, &ev, &tr);
        struct record_totals tot2 = { .end_reason = "stop" };
        b = s_round_trip(record_trailer(e, &tot2));
        REQUIRE(b && b->run_trailer);
        CHECK_EQ_U(s_count(b->run_trailer, "tag_single_photon"), 2);
        CHECK_EQ_U(s_count(b->run_trailer, "events"), UINT64_MAX);
        CHECK_EQ_U(b->run_trailer->n_out_of_step, 0);
        darkdaq__record__free_unpacked(b, NULL);
        record_enc_free(e);
}

TEST(names)
{
        CHECK_STR(record_status_name(0), "complete");
        CHECK_STR(record_status_name(7), "test_pattern");
        CHECK(record_status_name(8) == NULL);
        CHECK_STR(record_tag_name(TAG_ZPRIME_INVISIBLE), "zprime_invisible");
        CHECK_STR(record_tag_name(TAG_TAU_1X3), "tau_1x3");
        CHECK_STR(record_tag_name(TAG_THREE_PHOTON), "three_photon");
        CHECK(record_tag_name(TAG_COUNT_) == NULL);
}

TEST(sha256_vectors)
{
        char hex[SHA256_HEX_BYTES];
        sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
        CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        /* A million 'a', fed in uneven pieces. */
        struct sha256 s;
        uint8_t d[SHA256_BYTES];
        char a[1000];
        memset(a, 'a', sizeof a);
        sha256_init(&s);
        size_t left = 1000000, step = 1;
        while (left) {
                size_t n = step < left ? step : left;
                sha256_update(&s, a, n);
                left -= n;
                step = step % 900 + 13;        /* at most 912 < sizeof a */
        }
        sha256_final(&s, d);
        static const uint8_t want[8] = { 0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92 };
        CHECK(memcmp(d, want, 8) == 0);
}

TEST(utf8_fix)
{
        char out[64];
        size_t bad;
        /* valid text is copied as it is */
        CHECK_EQ_U(record_utf8_fix("caf\xc3\xa9", 5, out, sizeof out, &bad), 5);
        CHECK_EQ_U(bad, 0);
        CHECK_STR(out, "caf\xc3\xa9");
        /* a Latin-1 byte, a lone continuation, an overlong form, a surrogate,
         * a cut sequence: each invalid byte becomes U+FFFD */
        CHECK_EQ_U(record_utf8_fix("caf\xe9!", 5, out, sizeof out, &bad), 7);
        CHECK_EQ_U(bad, 1);
        CHECK_STR(out, "caf\xef\xbf\xbd!");
        record_utf8_fix("\x80", 1, out, sizeof out, &bad);
        CHECK_EQ_U(bad, 1);
        record_utf8_fix("\xc0\xaf", 2, out, sizeof out, &bad);
        CHECK_EQ_U(bad, 2);
        record_utf8_fix("\xed\xa0\x80", 3, out, sizeof out, &bad);
        CHECK_EQ_U(bad, 3);
        record_utf8_fix("ab\xe2\x82", 4, out, sizeof out, &bad);
        CHECK_EQ_U(bad, 2);
        /* cut to the buffer, never inside a sequence */
        CHECK_EQ_U(record_utf8_fix("\xe9\xe9\xe9", 3, out, 5, &bad), 9);
        CHECK_STR(out, "\xef\xbf\xbd");
}

TEST(run_header_with_invalid_utf8)
{
        record_enc_t *e = record_enc_new();
        REQUIRE(e);
        const char *cfg = "# caf\xe9\n[builder]\n";
        struct record_run_info info = { .run = 3, .config_text = cfg };
        Darkdaq__Record *rec = record_run_header(e, &info);
        const Darkdaq__RunHeader *h = rec->run_header;
        CHECK_STR(h->config_text, "# caf\xef\xbf\xbd\n[builder]\n");
        CHECK_EQ_U(h->config_text_replaced, 1);
        CHECK_EQ_U(h->config_raw.len, strlen(cfg));
        CHECK(memcmp(h->config_raw.data, cfg, strlen(cfg)) == 0);
        char hex[65];
        sha256_hex(cfg, strlen(cfg), hex);
        CHECK_STR(h->config_hash, hex);
        struct built_junk j = { 0, 0, (const uint8_t *)"x", 1, "bad \xff reason" };
        CHECK_STR(record_junk(e, &j)->junk->reason, "bad \xef\xbf\xbd reason");
        info.config_text = "[builder]\n";
        h = record_run_header(e, &info)->run_header;
        CHECK_EQ_U(h->config_raw.len, 0);
        CHECK_EQ_U(h->config_text_replaced, 0);
        record_enc_free(e);
}

TEST_MAIN()
