/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of run control: the parser (words and JSON, bounds, refusals), every
 * transition of proto/storage-channel.md, repeats that change nothing, faults, and
 * the status object. */
#include <errno.h>

#include "check.h"
#include "control.h"

static int s_parse(const char *text, struct control_request *rq)
{
        char err[256];
        return control_parse(text, strlen(text), rq, err, sizeof err);
}

TEST(parse_words_and_json)
{
        struct control_request rq;
        REQUIRE_OK_ZERO(s_parse("configure", &rq));
        CHECK_EQ_U(rq.cmd, CONTROL_CONFIGURE);
        REQUIRE_OK_ZERO(s_parse("  start --run 12\n", &rq));
        CHECK_EQ_U(rq.cmd, CONTROL_START);
        CHECK(rq.run_given);
        CHECK_EQ_U(rq.run, 12);
        REQUIRE_OK_ZERO(s_parse("start", &rq));
        CHECK(!rq.run_given);
        REQUIRE_OK_ZERO(s_parse("status --text", &rq));
        CHECK(rq.text);
        REQUIRE_OK_ZERO(s_parse("{\"cmd\": \"start\", \"run\": 4294967295}", &rq));
        CHECK_EQ_U(rq.run, 4294967295u);
        REQUIRE_OK_ZERO(s_parse("{\"cmd\":\"status\",\"text\":true}", &rq));
        CHECK(rq.text && rq.cmd == CONTROL_STATUS);
        REQUIRE_OK_ZERO(s_parse("{\"cmd\":\"reset\"}", &rq));
        CHECK_EQ_U(rq.cmd, CONTROL_RESET);
}

TEST(parse_refuses_bad_text)
{
        struct control_request rq;
        char err[256] = "";
        const char *bad[] = {
                "", "   ", "launch", "start --run", "start --run -1", "start --run 4294967296",
                "start --run 1 --run 2", "stop --run 3", "status --text --text", "configure now",
                "{", "{}", "{\"cmd\":1}", "{\"cmd\":\"start\",\"run\":\"7\"}",
                "{\"cmd\":\"stop\",\"run\":7}", "{\"cmd\":\"start\"} x", "{\"cmd\":\"start\",}",
                "{\"cmd\":\"start\",\"cmd\":\"stop\"}", "{\"cmd\":\"st\\u0061rt\"}",
                "{\"what\":\"start\"}", "start\x01",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                int r = control_parse(bad[i], strlen(bad[i]), &rq, err, sizeof err);
                if (r != -EINVAL)
                        fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
                CHECK_ERRNO(r, -EINVAL);
                CHECK(err[0] != '\0');
        }
        char big[CONTROL_MAX_REQUEST + 1];
        memset(big, ' ', sizeof big);
        memcpy(big, "stop", 4);
        CHECK_ERRNO(control_parse(big, sizeof big, &rq, err, sizeof err), -EINVAL);
        CHECK(strstr(err, "at most") != NULL);
        /* bytes past len are never read: "stop" then garbage outside len */
        CHECK_OK_ZERO(control_parse("stopXXXX", 4, &rq, err, sizeof err));
        CHECK_EQ_U(rq.cmd, CONTROL_STOP);
        CHECK_ERRNO(control_parse("stop\0x", 6, &rq, err, sizeof err), -EINVAL);
}

/* Each refusal names what was wrong, not a neighbouring rule. */
TEST(parse_names_the_real_error)
{
        struct control_request rq;
        char err[256];
        const struct { const char *text, *says; } cases[] = {
                { "{\"cmd\":5}", "\"cmd\" must be a string, not 5" },
                { "{\"cmd\":\"start\",\"run\":1e3}", "decimal digits only (0..4294967295), not 1e3" },
                { "{\"cmd\":\"start\",\"run\":1.5}", "not 1.5" },
                { "{\"cmd\":\"start\",\"run\":-1}", "not -1" },
                { "{\"cmd\":\"start\",\"run\":\"7\"}", "not the string \"7\"" },
                { "{\"cmd\":\"start\",\"run\":4294967296}", "4294967296 is beyond 0..4294967295" },
                { "{\"cmd\":\"start\",\"cmd\":\"stop\"}", "key \"cmd\" given twice" },
                { "{\"cmd\":\"status\",\"text\":yes}", "\"text\" must be true or false, not yes" },
                { "{\"cmd\":\"status\",\"what\":1}", "unknown key \"what\"" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                err[0] = '\0';
                CHECK_ERRNO(control_parse(cases[i].text, strlen(cases[i].text), &rq, err,
                                          sizeof err), -EINVAL);
                if (!strstr(err, cases[i].says))
                        fprintf(stderr, "%s: said \"%s\", not \"%s\"\n", cases[i].text, err,
                                cases[i].says);
                CHECK(strstr(err, cases[i].says) != NULL);
        }
}

/* One message, one command: a request of several parts is refused whole. */
TEST(parse_parts_refuses_several)
{
        struct control_request rq = { .cmd = CONTROL_RESET };
        char err[256] = "";
        CHECK_OK_ZERO(control_parse_parts("stop", 4, 1, &rq, err, sizeof err));
        CHECK_EQ_U(rq.cmd, CONTROL_STOP);
        rq.cmd = CONTROL_RESET;
        CHECK_ERRNO(control_parse_parts("status", 6, 2, &rq, err, sizeof err), -EINVAL);
        CHECK(strstr(err, "2 message parts") != NULL);
        CHECK_EQ_U(rq.cmd, CONTROL_RESET);
        CHECK_ERRNO(control_parse_parts("", 0, 0, &rq, err, sizeof err), -EINVAL);
}

static enum control_action s_do(control_t *c, const char *text, char *reply, uint32_t *run)
{
        struct control_request rq;
        if (s_parse(text, &rq) != 0) {
                CHECK(!"parses");
                return CONTROL_NOTHING;
        }
        return control_decide(c, &rq, run, reply, 1024);
}

TEST(transitions_and_repeats)
{
        control_t c;
        char reply[1024];
        uint32_t run = 0;
        control_init(&c);
        CHECK_EQ_U(c.state, CONTROL_IDLE);

        CHECK_EQ_U(s_do(&c, "start", reply, &run), CONTROL_NOTHING);
        CHECK(strstr(reply, "\"ok\":false") && strstr(reply, "configure first"));
        CHECK_EQ_U(s_do(&c, "stop", reply, &run), CONTROL_NOTHING);
        CHECK(strstr(reply, "\"ok\":true") && strstr(reply, "not running"));
        CHECK_EQ_U(s_do(&c, "reset", reply, &run), CONTROL_NOTHING);
        CHECK(strstr(reply, "already idle") != NULL);

        CHECK_EQ_U(s_do(&c, "configure", reply, &run), CONTROL_DO_CONFIGURE);
        control_done(&c, CONTROL_DO_CONFIGURE, 0, 0, "configured 4 sources", NULL, reply, 1024);
        CHECK_EQ_U(c.state, CONTROL_CONFIGURED);
        CHECK(strstr(reply, "\"state\":\"configured\"") != NULL);
        CHECK_EQ_U(s_do(&c, "configure", reply, &run), CONTROL_NOTHING);
        CHECK(strstr(reply, "already configured") && strstr(reply, "\"ok\":true"));

        /* no run number: 1, then one more than the last */
        CHECK_EQ_U(s_do(&c, "start", reply, &run), CONTROL_DO_START);
        CHECK_EQ_U(run, 1);
        control_done(&c, CONTROL_DO_START, run, 0, "started", NULL, reply, 1024);
        CHECK_EQ_U(c.state, CONTROL_RUNNING);
        CHECK_EQ_U(s_do(&c, "start", reply, &run), CONTROL_NOTHING);
        CHECK(strstr(reply, "already running run 1") && strstr(reply, "\"ok\":true"));
        CHECK_EQ_U(s_do(&c, "start --run 1", reply, &run), CONTROL_NOTHING);
        CHECK(strstr(reply, "\"ok\":true") != NULL);
        CHECK_EQ_U(s_do(&c, "start --run 2", reply, &run), CONTROL_NOTHING);
        CHECK(strstr(reply, "\"ok\":false") != NULL);
        CHECK_EQ_U(s_do(&c, "configure", reply, &run), CONTROL_NOTHING);
        CHECK(strstr(reply, "stop first") != NULL);
        CHECK_EQ_U(s_do(&c, "stop", reply, &run), CONTROL_DO_STOP);
        control_done(&c, CONTROL_DO_STOP, c.run, 0, "stopped", "\"store_confirmed\":true", reply,
                     1024);
        CHECK_EQ_U(c.state, CONTROL_CONFIGURED);
        CHECK(strstr(reply, "\"store_confirmed\":true") != NULL);
        CHECK_EQ_U(s_do(&c, "stop", reply, &run), CONTROL_NOTHING);
        CHECK_EQ_U(s_do(&c, "start", reply, &run), CONTROL_DO_START);
        CHECK_EQ_U(run, 2);
        CHECK_EQ_U(s_do(&c, "start --run 40", reply, &run), CONTROL_DO_START);
        CHECK_EQ_U(run, 40);
        control_done(&c, CONTROL_DO_START, run, 0, "started", NULL, reply, 1024);
        CHECK_EQ_U(s_do(&c, "reset", reply, &run), CONTROL_DO_RESET);
        control_done(&c, CONTROL_DO_RESET, 0, 0, "reset", NULL, reply, 1024);
        CHECK_EQ_U(c.state, CONTROL_IDLE);
        CHECK_EQ_U(s_do(&c, "status", reply, &run), CONTROL_DO_STATUS);
}

TEST(run_numbers_only_go_up_unless_forced)
{
        control_t c;
        char reply[1024];
        uint32_t run = 0;
        struct control_request rq;
        control_init(&c);
        /* as a restarted daemon sets it from its state file: run 40 was the last */
        c.run = 40;
        c.had_run = true;
        CHECK_EQ_U(s_do(&c, "configure", reply, &run), CONTROL_DO_CONFIGURE);
        control_done(&c, CONTROL_DO_CONFIGURE, 0, 0, "configured", NULL, reply, 1024);
        CHECK_EQ_U(s_do(&c, "start --run 40", reply, &run), CONTROL_NOTHING);
        CHECK(strstr(reply, "\"ok\":false") && strstr(reply, "last run started, 40"));
        CHECK_EQ_U(c.state, CONTROL_CONFIGURED);
        CHECK_EQ_U(s_do(&c, "start --run 3", reply, &run), CONTROL_NOTHING);
        CHECK(strstr(reply, "run 3 is not after") != NULL);
        CHECK_EQ_U(s_do(&c, "{\"cmd\":\"start\",\"run\":39}", reply, &run), CONTROL_NOTHING);
        CHECK_EQ_U(s_do(&c, "start --run 40 --force", reply, &run), CONTROL_DO_START);
        CHECK_EQ_U(run, 40);
        CHECK_EQ_U(s_do(&c, "{\"cmd\":\"start\",\"run\":2,\"force\":true}", reply, &run),
                   CONTROL_DO_START);
        CHECK_EQ_U(run, 2);
        CHECK_EQ_U(s_do(&c, "start", reply, &run), CONTROL_DO_START);
        CHECK_EQ_U(run, 41);
        CHECK_EQ_U(s_do(&c, "start --run 41", reply, &run), CONTROL_DO_START);
        c.run = UINT32_MAX;
        CHECK_EQ_U(s_do(&c, "start", reply, &run), CONTROL_NOTHING);
        CHECK(strstr(reply, "no next") != NULL);
        /* --force and "force" go with start only */
        CHECK_ERRNO(s_parse("stop --force", &rq), -EINVAL);
        CHECK_ERRNO(s_parse("{\"cmd\":\"stop\",\"force\":true}", &rq), -EINVAL);
        CHECK_ERRNO(s_parse("start --force --force", &rq), -EINVAL);
}

TEST(faults_lead_to_error_until_reset)
{
        control_t c;
        char reply[1024];
        uint32_t run;
        control_init(&c);
        CHECK_EQ_U(s_do(&c, "configure", reply, &run), CONTROL_DO_CONFIGURE);
        control_done(&c, CONTROL_DO_CONFIGURE, 0, -ENOENT, "source \"a\": no such file", NULL,
                     reply, 1024);
        CHECK_EQ_U(c.state, CONTROL_ERROR);
        CHECK(strstr(reply, "\"ok\":false") && strstr(reply, "\"error\":\"source \\\"a\\\": no"));
        CHECK_EQ_U(s_do(&c, "configure", reply, &run), CONTROL_NOTHING);
        CHECK(strstr(reply, "reset first") != NULL);
        CHECK_EQ_U(s_do(&c, "start", reply, &run), CONTROL_NOTHING);
        CHECK_EQ_U(s_do(&c, "stop", reply, &run), CONTROL_NOTHING);
        CHECK_EQ_U(c.state, CONTROL_ERROR);
        CHECK_EQ_U(s_do(&c, "reset", reply, &run), CONTROL_DO_RESET);
        control_done(&c, CONTROL_DO_RESET, 0, 0, "reset", NULL, reply, 1024);
        CHECK_EQ_U(c.state, CONTROL_IDLE);
        CHECK_STR(c.reason, "");
        control_fault(&c, "source \"klm\" failed");
        CHECK_EQ_U(c.state, CONTROL_ERROR);
}

TEST(status_json_and_text)
{
        control_t c;
        struct control_source_status src[2] = {
                { .name = "trk", .driver = "sim", .c = { .bytes = 1000, .fragments = 10 },
                  .error = "" },
                { .name = "we\"ird", .driver = "file", .silent = true, .silent_ms = 2500,
                  .error = "" },
        };
        struct builder_counters bc = { .events = 10, .complete = 9, .incomplete = 1 };
        uint64_t tags[TAG_COUNT_] = { [TAG_MISSING_ENERGY] = 3 };
        struct publish_counters pc = { .held_bytes = 77, .acked = 5 };
        struct builder_out_of_step oos = { 2, 1, 101 };
        struct control_status s = {
                .run_ms = 1500, .sources = src, .n_sources = 2, .builder = &bc,
                .tag_counts = tags, .busy = true, .pub = &pc, .storage_buffer_bytes = 1000,
                .records = 12, .oos = &oos, .n_oos = 1,
        };
        char buf[8192];
        control_init(&c);
        c.state = CONTROL_RUNNING;
        c.run = 3;
        size_t n = control_status_json(&c, &s, buf, sizeof buf);
        CHECK_EQ_U(n, strlen(buf));
        CHECK(buf[0] == '{' && buf[n - 1] == '}');
        CHECK(strstr(buf, "\"state\":\"running\",\"run\":3") != NULL);
        CHECK(strstr(buf, "\"busy\":true") != NULL);
        CHECK(strstr(buf, "\"name\":\"we\\\"ird\"") != NULL);
        CHECK(strstr(buf, "\"missing_energy\":{\"count\":3") != NULL);
        CHECK(strstr(buf, "\"held_bytes\":77") != NULL);
        CHECK(strstr(buf, "{\"source\":2,\"offset\":1,\"first_trigger\":101}") != NULL);
        CHECK(strstr(buf, "\"silent\":true") != NULL);
        /* a short buffer truncates, never overflows */
        char small[64];
        CHECK_EQ_U(control_status_json(&c, &s, small, sizeof small), sizeof small - 1);
        n = control_status_text(&c, &s, buf, sizeof buf);
        CHECK(strstr(buf, "running") && strstr(buf, "trk") && strstr(buf, "SILENT"));
        CHECK(strstr(buf, "asserted") != NULL);
}

TEST_MAIN()
