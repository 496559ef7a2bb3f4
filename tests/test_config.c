/* Tests of the configuration loader: defaults, each section, and errors that
 * name the line and the key. */
#include <errno.h>

#include "check.h"
#include "config.h"
#include "tagger.h"

TEST(defaults)
{
        struct darkdaq_config c;
        config_default(&c);
        CHECK_EQ_U(c.builder.build_timeout_ms, 500);
        CHECK_EQ_U(c.builder.time_tolerance_ticks, 0);
        CHECK(!c.sources_given);
        CHECK(c.physics.track_min_pt_gev == 0.10);
        CHECK(c.physics.muon_match_rad == 0.10);
        config_clear(&c);
}

TEST(sections_set_their_keys)
{
        struct darkdaq_config c;
        char err[256];
        config_default(&c);
        int r = config_load_string(&c,
                "# comment\n[builder]\nsources = 0-2, 5\nbuild_timeout_ms = 250\n"
                "time_tolerance_ticks = 3\n[physics]\ntrack_min_pt_gev = 0.2\n"
                "[prescale]\nmissing_energy = 10\n", "t.ini", err, sizeof err);
        REQUIRE(r == 0);
        CHECK_EQ_U(c.builder.expected, 0x27);
        CHECK(c.sources_given);
        CHECK_EQ_U(c.builder.build_timeout_ms, 250);
        CHECK_EQ_U(c.builder.time_tolerance_ticks, 3);
        CHECK(c.physics.track_min_pt_gev == 0.2);
        CHECK_EQ_U(c.physics.prescale[TAG_MISSING_ENERGY], 10);
        CHECK(strstr(c.text, "track_min_pt_gev") != NULL);
        config_clear(&c);
}

static void s_bad(const char *text, const char *want1, const char *want2)
{
        struct darkdaq_config c;
        char err[256] = "";
        config_default(&c);
        CHECK_EQ_U(config_load_string(&c, text, "x.ini", err, sizeof err), (uint64_t)-EINVAL);
        if (!strstr(err, want1) || !strstr(err, want2))
                fprintf(stderr, "message was: %s\n", err);
        CHECK(strstr(err, want1) != NULL);
        CHECK(strstr(err, want2) != NULL);
        config_clear(&c);
}

TEST(errors_name_file_line_and_key)
{
        s_bad("[physics]\n\nno_such = 1\n", "x.ini:3", "no_such");
        s_bad("[builder]\nbuild_timeout_ms = -5\n", "x.ini:2", "build_timeout_ms");
        s_bad("[builder]\nsources = 64\n", "x.ini:2", "sources");
        s_bad("[builder]\nmax_open_events = 0\n", "x.ini:2", "max_open_events");
        s_bad("[physics]\nmuon_match_rad = fast\n", "x.ini:2", "muon_match_rad");
        s_bad("[prescale]\nzprime_invisible = 0\n", "x.ini:2", "zprime_invisible");
        s_bad("[nonsense]\na = 1\n", "x.ini:2", "[nonsense]");
        s_bad("[physics\n", "x.ini:1", "syntax");
}

TEST(missing_file)
{
        struct darkdaq_config c;
        char err[256];
        config_default(&c);
        CHECK(config_load(&c, "/nonexistent/darkdaq.ini", err, sizeof err) == -ENOENT);
        CHECK(strstr(err, "/nonexistent/darkdaq.ini") != NULL);
        config_clear(&c);
}

TEST_MAIN()
