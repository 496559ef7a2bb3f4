/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the configuration loader: defaults, each section, and errors that
 * name the line and the key. */
#include <errno.h>

#include "check.h"
#include "config_scan.h"
#include "config.h"
#include "tagger.h"

/* A source's key as its driver stores it, read as type (a key the driver
 * lacks fails the test and reads as zero). */
#define OPT(type, src, key)     (*(const type *)s_opt(&(src), key, sizeof(type)))
#define OPT_STR(src, key)       ((const char *)s_opt(&(src), key, 0))

static const void *s_opt(const struct source_config *s, const char *key, size_t size)
{
        static _Alignas(max_align_t) const char none[DRIVER_OPTIONS_MAX];
        const void *p = config_source_option(s, key, size);
        if (!p) {
                fprintf(stderr, "[source.%s]: no key \"%s\" of %zu bytes\n", s->name, key, size);
                check_failed_now = 1;
                return none;
        }
        return p;
}

TEST(defaults)
{
        struct darkdaq_config c;
        config_default(&c);
        CHECK_EQ_U(c.builder.build_timeout_ms, 500);
        CHECK_EQ_U(c.builder.time_tolerance_ticks, 0);
        CHECK(!c.sources_given);
        CHECK(c.physics.track_min_pt_gev == 0.10);
        CHECK(c.physics.muon_match_rad == 0.10);
        CHECK_STR(c.daemon.control, "ipc:///run/darkdaq/control");
        CHECK_STR(c.daemon.monitor, "ipc:///run/darkdaq/monitor");
        CHECK_STR(c.daemon.storage, "ipc:///run/darkdaq/storage");
        CHECK(!c.daemon.insecure);
        CHECK_EQ_U(c.daemon.sender_id, 1);
        CHECK_EQ_U(c.daemon.storage_buffer_bytes, 256u << 20);
        CHECK_EQ_U(c.daemon.busy_high_bytes, 192u << 20);
        CHECK_EQ_U(c.daemon.busy_low_bytes, 64u << 20);
        CHECK_EQ_U(c.daemon.stop_timeout_ms, 10000);
        CHECK_EQ_U(c.daemon.silence_warn_ms, 2000);
        CHECK_EQ_U(c.daemon.monitor_hwm, 1000);
        CHECK_STR(c.daemon.metrics, "127.0.0.1:9464");
        CHECK_STR(c.auth.server_key, "");
        CHECK_STR(c.auth.allowed_clients, "");
        CHECK(!c.auth.require_curve);
        CHECK_EQ_U(c.n_sources, 0);
        config_clear(&c);
}

TEST(metrics_and_auth)
{
        struct darkdaq_config c;
        char err[256] = "";
        config_default(&c);
        int r = config_load_string(&c,
                "[daemon]\nmetrics = [::1]:9500\n"
                "[auth]\nserver_key = /etc/darkdaq/server.key\n"
                "allowed_clients = /etc/darkdaq/clients\nrequire_curve = yes\n",
                "t.ini", err, sizeof err);
        if (r)
                fprintf(stderr, "%s\n", err);
        REQUIRE_OK_ZERO(r);
        CHECK_STR(c.daemon.metrics, "[::1]:9500");
        CHECK_STR(c.auth.server_key, "/etc/darkdaq/server.key");
        CHECK_STR(c.auth.allowed_clients, "/etc/darkdaq/clients");
        CHECK(c.auth.require_curve);
        config_clear(&c);

        /* an empty metrics address turns the endpoint off */
        config_default(&c);
        REQUIRE_OK_ZERO(config_load_string(&c, "[daemon]\nmetrics =\n", "t.ini", err, sizeof err));
        CHECK_STR(c.daemon.metrics, "");
        config_clear(&c);
}

TEST(print_config_documents_the_new_keys)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        REQUIRE(f != NULL);
        config_print_defaults(f);
        fclose(f);
        CHECK(strstr(text, "metrics = 127.0.0.1:9464") != NULL);
        CHECK(strstr(text, "[auth]") != NULL);
        CHECK(strstr(text, "server_key =") != NULL);
        CHECK(strstr(text, "allowed_clients =") != NULL);
        CHECK(strstr(text, "require_curve = no") != NULL);
        free(text);
}

/* tcp:// on loopback or an abstract ipc:// socket without CURVE: refused
 * with the line, the key and the fix, unless insecure = yes or CURVE is
 * required with keys; other endpoints are not this check's business. */
TEST(open_local_endpoints_need_insecure)
{
        static const struct {
                const char *text;
                bool ok;
                const char *words;
        } cases[] = {
                { "[daemon]\nmetrics =\ncontrol = tcp://127.0.0.1:7000\n", false,
                  "t.ini:3: key \"control\" in [daemon]: tcp://127.0.0.1:7000 is served without "
                  "CURVE" },
                { "[daemon]\nmonitor = tcp://[::1]:7000\n", false, "t.ini:2: key \"monitor\"" },
                { "[daemon]\nstorage = tcp://localhost:7000\n", false, "insecure = yes" },
                { "[daemon]\nstorage = ipc://@darkdaq\n", false, "t.ini:2: key \"storage\"" },
                { "[daemon]\nstorage = tcp://127.0.0.1:7000\ninsecure = yes\n", true, NULL },
                { "[daemon]\ncontrol = tcp://127.0.0.1:7000\n[auth]\nserver_key = s.key\n"
                  "allowed_clients = c\nrequire_curve = yes\n", true, NULL },
                { "[daemon]\ncontrol = tcp://127.0.0.1:7000\n[auth]\nserver_key = s.key\n"
                  "allowed_clients = c\n", false, "require_curve = yes" },
                { "[daemon]\ncontrol = ipc:///tmp/x/control\nmonitor = inproc://m\n", true, NULL },
                /* not local: [auth] decides when the socket is bound */
                { "[daemon]\ncontrol = tcp://0.0.0.0:7000\n", true, NULL },
                { "[daemon]\ninsecure = maybe\n", false, "t.ini:2: bad value" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct darkdaq_config c;
                char err[512] = "";
                config_default(&c);
                int r = config_load_string(&c, cases[i].text, "t.ini", err, sizeof err);
                if (cases[i].ok) {
                        CHECK_EQ_I(r, 0);
                        if (r)
                                fprintf(stderr, "case %zu: %s\n", i, err);
                } else {
                        CHECK_EQ_I(r, -EINVAL);
                        CHECK(strstr(err, cases[i].words) != NULL);
                        if (!strstr(err, cases[i].words))
                                fprintf(stderr, "case %zu: %s\n", i, err);
                }
                config_clear(&c);
        }
}

TEST(daemon_and_sources)
{
        struct darkdaq_config c;
        char err[256] = "";
        config_default(&c);
        int r = config_load_string(&c,
                "[daemon]\ncontrol = tcp://127.0.0.1:7000\ninsecure = yes\n"
                "storage_buffer_bytes = 8388608\n"
                "stop_timeout_ms = 500\nsilence_warn_ms = 100\nmonitor_hwm = 10\n"
                "[source.trk]\ndriver = sim\nboard = 0\nseed = 9\nevents = 100\n"
                "rate_hz = 50.5\nprocess = zprime:2,bhabha:1\n"
                "[source.ecl]\ndriver = sim\nboard = 1\nraw_bytes = 128\nboards = 2\n",
                "t.ini", err, sizeof err);
        if (r)
                fprintf(stderr, "%s\n", err);
        REQUIRE_OK_ZERO(r);
        CHECK_STR(c.daemon.control, "tcp://127.0.0.1:7000");
        CHECK_EQ_U(c.daemon.storage_buffer_bytes, 8u << 20);
        /* busy thresholds follow the buffer when not given */
        CHECK_EQ_U(c.daemon.busy_high_bytes, 6u << 20);
        CHECK_EQ_U(c.daemon.busy_low_bytes, 2u << 20);
        CHECK_EQ_U(c.daemon.stop_timeout_ms, 500);
        CHECK_EQ_U(c.daemon.silence_warn_ms, 100);
        CHECK_EQ_U(c.daemon.monitor_hwm, 10);
        REQUIRE(c.n_sources == 2);
        CHECK_STR(c.sources[0].name, "trk");
        CHECK_STR(c.sources[0].driver, "sim");
        CHECK_EQ_U(OPT(uint64_t, c.sources[0], "seed"), 9);
        CHECK_EQ_U(OPT(uint64_t, c.sources[0], "events"), 100);
        CHECK(OPT(double, c.sources[0], "rate_hz") == 50.5);
        CHECK_STR(OPT_STR(c.sources[0], "process"), "zprime:2,bhabha:1");
        CHECK_EQ_U(OPT(unsigned, c.sources[1], "board"), 1);
        CHECK_EQ_U(OPT(uint32_t, c.sources[1], "raw_bytes"), 128);
        CHECK_EQ_U(OPT(unsigned, c.sources[1], "boards"), 2);
        CHECK_EQ_U(OPT(uint64_t, c.sources[1], "seed"), 1);
        CHECK_EQ_U(config_expected_sources(&c), 0x3);
        config_clear(&c);

        config_default(&c);
        r = config_load_string(&c, "[builder]\nsources = 0-3\n[source.raw]\ndriver = file\n"
                               "path = /tmp/x.raw\nfollow = yes\n", "t.ini", err, sizeof err);
        REQUIRE_OK_ZERO(r);
        CHECK_STR(OPT_STR(c.sources[0], "path"), "/tmp/x.raw");
        CHECK(OPT(bool, c.sources[0], "follow"));
        CHECK(OPT(double, c.sources[0], "rate_hz") == 0);
        CHECK_EQ_U(config_expected_sources(&c), 0xf);
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
        REQUIRE_OK_ZERO(r);
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
        CHECK_ERRNO(config_load_string(&c, text, "x.ini", err, sizeof err), -EINVAL);
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
        s_bad("[physics\n", "x.ini:1", "without \"]\"");
        s_bad("[daemon]\ncontrol = 127.0.0.1:5\n", "x.ini:2", "control");
        s_bad("[daemon]\nstorage_buffer_bytes = 12\n", "x.ini:2", "storage_buffer_bytes");
        s_bad("[daemon]\nstop_timeout_ms = soon\n", "x.ini:2", "stop_timeout_ms");
        s_bad("[daemon]\nfrobnicate = 1\n", "x.ini:2", "frobnicate");
        s_bad("[source.a]\ndriver = usb3\n", "x.ini:2", "driver");
        s_bad("[source.a]\nboard = 1\n", "x.ini:2", "driver");
        s_bad("[source.a]\ndriver = sim\npath = /x\n", "x.ini:3", "path");
        s_bad("[source.a]\ndriver = file\nboard = 1\n", "x.ini:3", "board");
        s_bad("[source.a]\ndriver = file\nfollow = maybe\n", "x.ini:3", "follow");
        s_bad("[source.a]\ndriver = sim\nrate_hz = -1\n", "x.ini:3", "rate_hz");
        s_bad("[source.a]\ndriver = sim\nboard = 64\n", "x.ini:3", "board");
        s_bad("[source.a b]\ndriver = sim\n", "x.ini:2", "source name");
        s_bad("[source.a]\ndriver = sim\n[source.b]\ndriver = sim\n", "x.ini", "board 0");
        s_bad("[source.a]\ndriver = file\n", "x.ini", "path");
        s_bad("[source.a]\ndriver = file\npath = /x\n", "x.ini", "[builder] sources");
        s_bad("[daemon]\nstorage_buffer_bytes = 2097152\nbusy_low_bytes = 2000000\n"
              "busy_high_bytes = 1000000\n", "x.ini", "busy_low_bytes");
        s_bad("[daemon]\nmetrics = 9464\n", "x.ini:2", "metrics");
        s_bad("[daemon]\nmetrics = localhost:http\n", "x.ini:2", "metrics");
        s_bad("[auth]\nrequire_curve = perhaps\n", "x.ini:2", "require_curve");
        s_bad("[auth]\npublic_key = x\n", "x.ini:2", "public_key");
        s_bad("[auth]\nserver_key = /k\n", "x.ini", "allowed_clients");
        s_bad("[auth]\nallowed_clients = /d\n", "x.ini", "server_key");
        s_bad("[auth]\nrequire_curve = yes\n", "x.ini", "require_curve");
}

/* The valid base of tests/config-mutations/ loads (each mutation
 * beside it is refused: test_config_mutations.py). */
TEST(mutations_base_loads)
{
        struct darkdaq_config c;
        char err[512] = "";
        config_default(&c);
        int r = config_load(&c, "tests/config-mutations/base.ini", err, sizeof err);
        if (r)
                fprintf(stderr, "%s\n", err);
        REQUIRE_OK_ZERO(r);
        CHECK_OK_ZERO(config_check_live(&c, "base.ini", err, sizeof err));
        CHECK_EQ_U(c.n_sources, 2);
        config_clear(&c);
}

/* A comment line is read whole and ignored, however long: a key at its end
 * stays commented out (libinih alone split it and made the key live). */
TEST(long_comment_lines_stay_comments)
{
        struct darkdaq_config c;
        char err[512] = "";
        size_t n = 100 * 1024;
        char *text = malloc(n + 200);
        REQUIRE(text != NULL);
        strcpy(text, "[daemon]\n# ");
        size_t at = strlen(text);
        memset(text + at, 'x', n);
        strcpy(text + at + n, " control = tcp://127.0.0.1:1\nstop_timeout_ms = 7\n");
        config_default(&c);
        REQUIRE_OK_ZERO(config_load_string(&c, text, "x.ini", err, sizeof err));
        CHECK(strcmp(c.daemon.control, "ipc:///run/darkdaq/control") == 0);
        CHECK_EQ_U(c.daemon.stop_timeout_ms, 7);
        config_clear(&c);
        free(text);
}

/* CONFIG_SCAN_MAX_LINE characters are read as one line; one more is refused. */
TEST(line_limit_at_the_edge)
{
        struct darkdaq_config c;
        char err[512] = "", text[400];
        for (int extra = 0; extra <= 1; extra++) {
                int pad = CONFIG_SCAN_MAX_LINE + extra - (int)strlen("stop_timeout_ms = ") - 4;
                snprintf(text, sizeof text, "[daemon]\nstop_timeout_ms = %*s1234\n", pad, "");
                CHECK_EQ_U(strlen(strchr(text, '\n') + 1) - 1, CONFIG_SCAN_MAX_LINE + extra);
                config_default(&c);
                int r = config_load_string(&c, text, "x.ini", err, sizeof err);
                if (!extra) {
                        CHECK_OK_ZERO(r);
                        CHECK_EQ_U(c.daemon.stop_timeout_ms, 1234);
                } else {
                        CHECK_ERRNO(r, -EINVAL);
                        CHECK(strstr(err, "x.ini:2: line of 199 characters") != NULL);
                }
                config_clear(&c);
        }
}

/* What the pre-scan says, and that it never lets libinih see a NUL. */
TEST(scan_refusals_and_lines)
{
        config_scan_t *s = NULL;
        unsigned line = 0;
        char err[256];
        const char text[] = "[a]\n  x = 1\n; c\n[b]\ny=2\n";
        REQUIRE_OK_ZERO(config_scan_new(&s, text, sizeof text - 1, &line, err, sizeof err));
        CHECK(strcmp(config_scan_text(s), "[a]\nx = 1\n\n[b]\ny=2\n") == 0);
        CHECK_EQ_U(config_scan_line(s, "a", "x"), 2);
        CHECK_EQ_U(config_scan_line(s, "b", NULL), 4);
        CHECK_EQ_U(config_scan_line(s, "b", "x"), 0);
        CHECK_EQ_U(config_scan_lines(s), 6);
        s = config_scan_free(s);
        CHECK_ERRNO(config_scan_new(&s, "[a]\nx = 1\0\ny = 2\n", 17, &line, err, sizeof err),
                    -EINVAL);
        CHECK_EQ_U(line, 2);
        CHECK(strstr(err, "NUL") != NULL);
        CHECK_ERRNO(config_scan_new(&s, "[a]\nx = 1\n[a]\ny = 1\n", 20, &line, err,
                                    sizeof err), -EINVAL);
        CHECK_EQ_U(line, 3);
        CHECK(s == NULL);
        /* a key of another section may have the same name */
        REQUIRE_OK_ZERO(config_scan_new(&s, "[a]\nx=1\n[b]\nx=1", 15, &line, err, sizeof err));
        s = config_scan_free(s);
        CHECK(config_scan_free(NULL) == NULL);
}

/* Doubles print in the shortest form that reads back the same. */
TEST(print_config_doubles_are_shortest)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        REQUIRE(f != NULL);
        config_print_defaults(f);
        fclose(f);
        CHECK(strstr(out, "track_min_pt_gev = 0.1 ") != NULL);
        CHECK(strstr(out, "0.10000000000000001") == NULL);
        CHECK(strstr(out, "dv_max_turn_rad = 1.5707963267948966 ") != NULL);
        free(out);
}

TEST(missing_file)
{
        struct darkdaq_config c;
        char err[256];
        config_default(&c);
        CHECK_ERRNO(config_load(&c, "/nonexistent/darkdaq.ini", err, sizeof err), -ENOENT);
        CHECK(strstr(err, "/nonexistent/darkdaq.ini") != NULL);
        config_clear(&c);
}

TEST(pcie_and_usb_sources)
{
        struct darkdaq_config c;
        char err[256];
        config_default(&c);
        REQUIRE_OK_ZERO(config_load_string(&c,
                "[builder]\nsources = 0-1\n"
                "[source.ring]\ndriver = pcie\npath = /dev/dkpcie0\n"
                "[source.klm]\ndriver = usb\nvid = 1209\npid = 00ff\nserial = DK-7\n",
                "d.ini", err, sizeof err));
        CHECK_EQ_U(c.n_sources, 2);
        CHECK_STR(OPT_STR(c.sources[0], "path"), "/dev/dkpcie0");
        CHECK_EQ_U(OPT(uint16_t, c.sources[1], "vid"), 0x1209);
        CHECK_EQ_U(OPT(uint16_t, c.sources[1], "pid"), 0x00ff);
        CHECK_STR(OPT_STR(c.sources[1], "serial"), "DK-7");
        config_clear(&c);
        s_bad("[builder]\nsources = 0\n[source.r]\ndriver = pcie\nfollow = yes\n", "x.ini:5",
              "follow");
        s_bad("[builder]\nsources = 0\n[source.u]\ndriver = usb\nvid = zz\n", "x.ini:5", "vid");
        s_bad("[builder]\nsources = 0\n[source.r]\ndriver = pcie\n", "x.ini", "needs path");
        s_bad("[source.u]\ndriver = usb\n", "x.ini", "[builder]");
}

TEST_MAIN()
