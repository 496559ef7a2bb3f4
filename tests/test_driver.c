/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the driver table and of drivers owning their keys: every driver
 * in drivers/ is in the generated table with a sound key table, and a driver
 * defined here, with keys of its own, is configured from an INI file through
 * driver_register() alone: its keys parse, defaults apply, its rules hold,
 * bad values name the file, line and key, and the messages list it. */
#include <errno.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "driver.h"

/* The test driver: a probe with a gain, a lane (the board id it plays), a
 * label, a threshold, a hex id and a host it must be told. */
struct probe_options {
        uint32_t gain;
        uint8_t lane;
        char label[16];
        bool invert;
        double threshold_mv;
        uint16_t id;
        char host[64];
};

static const struct driver_key s_probe_keys[] = {
        { .name = "gain", .type = DRIVER_KEY_UINT, DRIVER_FIELD(struct probe_options, gain),
          .min = 2, .max = 1000, .step = 2, .def = "10", .help = "even, 2..1000" },
        { .name = "lane", .type = DRIVER_KEY_UINT, DRIVER_FIELD(struct probe_options, lane),
          .max = 7, .def = "3", .help = "the board id it plays, below gain" },
        { .name = "label", .type = DRIVER_KEY_STRING, DRIVER_FIELD(struct probe_options, label),
          .charset = "abcdefghijklmnopqrstuvwxyz", .def = "probe", .help = "a-z" },
        { .name = "invert", .type = DRIVER_KEY_BOOL, DRIVER_FIELD(struct probe_options, invert),
          .def = "no", .help = "yes: negative pulses" },
        { .name = "threshold_mv", .type = DRIVER_KEY_DOUBLE,
          DRIVER_FIELD(struct probe_options, threshold_mv), .fmin = -50, .fmax = 50,
          .def = "1.5", .help = "mV" },
        { .name = "id", .type = DRIVER_KEY_HEX, DRIVER_FIELD(struct probe_options, id),
          .min = 1, .max = 0xFFFF, .def = "beef", .help = "hex" },
        { .name = "host", .type = DRIVER_KEY_STRING, DRIVER_FIELD(struct probe_options, host),
          .required = true, .help = "where the probe is" },
        { .name = NULL }
};

static int s_probe_check(const void *options, char *err, size_t errlen)
{
        const struct probe_options *o = options;
        if (o->lane >= o->gain) {
                snprintf(err, errlen, "lane %u is not below gain %u", o->lane, o->gain);
                return -EINVAL;
        }
        return 0;
}

static uint64_t s_probe_boards(const void *options)
{
        return 1ull << ((const struct probe_options *)options)->lane;
}

static int s_probe_open(driver_handle_t **ret, const void *options, char *err, size_t errlen)
{
        (void)ret;
        (void)options;
        snprintf(err, errlen, "a probe is never opened here");
        return -ENODEV;
}

static const struct driver driver_probe = {
        .name = "probe",
        .help = "a test probe",
        .keys = s_probe_keys,
        .options_size = sizeof(struct probe_options),
        .check = s_probe_check,
        .boards = s_probe_boards,
        .open = s_probe_open,
};

static void s_register_probe(void)
{
        static bool done;
        if (!done)
                CHECK_EQ_U(driver_register(&driver_probe), 0);
        done = true;
}

static const struct probe_options *s_probe(const struct darkdaq_config *c, size_t i)
{
        return (const struct probe_options *)c->sources[i].options;
}

/* Loads text as x.ini; returns config_load_string()'s result, err its message. */
static int s_load(struct darkdaq_config *c, const char *text, char *err, size_t errlen)
{
        config_default(c);
        err[0] = '\0';
        return config_load_string(c, text, "x.ini", err, errlen);
}

/* text fails to load with exactly the message want. */
static void s_refused(const char *text, const char *want)
{
        struct darkdaq_config c;
        char err[256];
        CHECK_ERRNO(s_load(&c, text, err, sizeof err), -EINVAL);
        CHECK_STR(err, want);
        config_clear(&c);
}

TEST(every_driver_in_drivers_is_in_the_table_with_a_sound_key_table)
{
        static const char *const names[] = { "file", "pcie", "sim", "usb" };
        char err[256];
        const struct driver *d;
        size_t n = 0;

        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                CHECK(driver_find(names[i]) != NULL);
        for (size_t i = 0; (d = driver_at(i)); i++, n++) {
                err[0] = '\0';
                if (driver_check(d, err, sizeof err) < 0)
                        fprintf(stderr, "%s\n", err);
                CHECK_STR(err, "");
                CHECK(d->open && d->start && d->stop && d->busy && d->read && d->close);
                CHECK(d->help != NULL);
        }
        CHECK(n >= 4);
        CHECK(driver_find("no-such-driver") == NULL);
}

TEST(a_driver_from_a_test_file_is_configured_from_an_ini_file)
{
        struct darkdaq_config c;
        char err[256] = "", path[] = "/tmp/darkdaq-test-driver-XXXXXX";
        static const char text[] =
                "[source.p1]\ndriver = probe\nhost = daq-1\ngain = 42\nlane = 5\n"
                "threshold_mv = -12.5\nid = 0x12\ninvert = yes\n"
                "[source.p2]\ndriver = probe\nhost = daq-2\nlabel = spare\n";

        s_register_probe();
        int fd = mkstemp(path);
        REQUIRE(fd >= 0);
        REQUIRE(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
        close(fd);
        config_default(&c);
        int r = config_load(&c, path, err, sizeof err);
        unlink(path);
        if (r)
                fprintf(stderr, "%s\n", err);
        REQUIRE_OK_ZERO(r);
        REQUIRE(c.n_sources == 2);
        CHECK_STR(c.sources[0].driver, "probe");
        const struct probe_options *p1 = s_probe(&c, 0), *p2 = s_probe(&c, 1);
        CHECK_EQ_U(p1->gain, 42);
        CHECK_EQ_U(p1->lane, 5);
        CHECK(p1->threshold_mv == -12.5);
        CHECK_EQ_U(p1->id, 0x12);
        CHECK(p1->invert);
        CHECK_STR(p1->host, "daq-1");
        CHECK_STR(p1->label, "probe");          /* defaults */
        CHECK_EQ_U(p2->gain, 10);
        CHECK_EQ_U(p2->lane, 3);
        CHECK(p2->threshold_mv == 1.5);
        CHECK_EQ_U(p2->id, 0xbeef);
        CHECK(!p2->invert);
        CHECK_STR(p2->label, "spare");
        /* its boards() gives the expected sources without [builder] sources */
        CHECK_EQ_U(config_expected_sources(&c), 1u << 5 | 1u << 3);
        CHECK_EQ_U(config_source_boards(&c.sources[0]), 1u << 5);
        /* the options read by key, as the other tests do */
        const uint32_t *gain = config_source_option(&c.sources[0], "gain", sizeof(uint32_t));
        CHECK(gain != NULL && *gain == 42);
        CHECK(config_source_option(&c.sources[0], "gain", sizeof(uint64_t)) == NULL);
        CHECK(config_source_option(&c.sources[0], "path", 0) == NULL);
        config_clear(&c);
}

TEST(a_test_driver_s_bad_values_name_the_file_line_and_key)
{
        s_register_probe();
        s_refused("[source.p]\ndriver = probe\ngain = 1001\n",
                  "x.ini:3: bad value \"1001\" for key \"gain\" in [source.p]");
        s_refused("[source.p]\ndriver = probe\ngain = 7\n",
                  "x.ini:3: bad value \"7\" for key \"gain\" in [source.p]");
        s_refused("[source.p]\ndriver = probe\nlane = 8\n",
                  "x.ini:3: bad value \"8\" for key \"lane\" in [source.p]");
        s_refused("[source.p]\ndriver = probe\nlabel = Spare\n",
                  "x.ini:3: bad value \"Spare\" for key \"label\" in [source.p]");
        s_refused("[source.p]\ndriver = probe\nlabel = abcdefghijklmnop\n",
                  "x.ini:3: bad value \"abcdefghijklmnop\" for key \"label\" in [source.p]");
        s_refused("[source.p]\ndriver = probe\nthreshold_mv = -51\n",
                  "x.ini:3: bad value \"-51\" for key \"threshold_mv\" in [source.p]");
        s_refused("[source.p]\ndriver = probe\nid = 10000\n",
                  "x.ini:3: bad value \"10000\" for key \"id\" in [source.p]");
        s_refused("[source.p]\ndriver = probe\ninvert = maybe\n",
                  "x.ini:3: bad value \"maybe\" for key \"invert\" in [source.p]");
        s_refused("[source.p]\ndriver = probe\n\nfrequency = 5\n",
                  "x.ini:4: unknown key \"frequency\" in [source.p] for its driver "
                  "(darkdaqd --print-config lists them)");
        s_refused("[source.p]\ndriver = probe\npath = /x\n",
                  "x.ini:3: unknown key \"path\" in [source.p] for its driver "
                  "(darkdaqd --print-config lists them)");
        /* what no single line can say (at the section's line): its required key,
         * its check(), its boards */
        s_refused("[source.p]\ndriver = probe\n", "x.ini:1: [source.p] (driver probe) needs host");
        s_refused("[source.p]\ndriver = probe\nhost = h\ngain = 4\nlane = 5\n",
                  "x.ini:1: [source.p]: lane 5 is not below gain 4");
        s_refused("[source.p]\ndriver = probe\nhost = h\n[source.q]\ndriver = sim\nboard = 3\n",
                  "x.ini:4: [source.q]: board 3 is played by another source too");
}

TEST(the_messages_and_print_config_list_the_registered_driver)
{
        char *text = NULL;
        size_t len = 0;

        s_register_probe();
        s_refused("[source.a]\ndriver = usb3\n", "x.ini:2: unknown driver \"usb3\" in [source.a]; "
                  "the drivers are file, pcie, sim, usb, probe");
        s_refused("[source.a]\nhost = h\n", "x.ini:2: key \"host\" before \"driver\" in "
                  "[source.a]: driver = file | pcie | sim | usb | probe comes first");
        FILE *f = open_memstream(&text, &len);
        REQUIRE(f != NULL);
        config_print_defaults(f);
        fclose(f);
        CHECK(strstr(text, "\n# driver = probe          # a test probe\n"
                           "# gain = 10               # even, 2..1000\n") != NULL);
        CHECK(strstr(text, "\n# host =                  # required: where the probe is\n") != NULL);
        CHECK(strstr(text, "\n# path =                  # required: the raw file to read\n") != NULL);
        CHECK(strstr(text, "\n# vid = 1209              # vendor id, hex\n") != NULL);
        CHECK(strstr(text, "# (file, pcie and usb sources need [builder] sources)\n") != NULL);
        free(text);
}

/* A driver whose table is broken, one fault at a time. */
struct bad_options {
        uint32_t n;
        char s[8];
};

TEST(register_refuses_a_table_it_cannot_read)
{
        char err[256];
        struct driver_key keys[3] = {
                { .name = "n", .type = DRIVER_KEY_UINT, DRIVER_FIELD(struct bad_options, n),
                  .max = 10, .def = "1", .help = "n" },
                { .name = "s", .type = DRIVER_KEY_STRING, DRIVER_FIELD(struct bad_options, s),
                  .help = "s" },
                { .name = NULL },
        };
        struct driver d = { .name = "bad", .help = "bad", .keys = keys,
                            .options_size = sizeof(struct bad_options), .open = s_probe_open };

        s_register_probe();
        CHECK_EQ_U(driver_check(&d, err, sizeof err), 0);
        CHECK_ERRNO(driver_register(&driver_probe), -EEXIST);
        keys[0].def = "11";
        CHECK_ERRNO(driver_check(&d, err, sizeof err), -EINVAL);
        CHECK_STR(err, "driver \"bad\": key \"n\" has a default that does not parse");
        CHECK_ERRNO(driver_register(&d), -EINVAL);
        keys[0].def = "1";
        keys[0].max = 1ull << 32;
        CHECK_ERRNO(driver_check(&d, err, sizeof err), -EINVAL);
        keys[0].max = 10;
        keys[1].name = "n";
        CHECK_ERRNO(driver_check(&d, err, sizeof err), -EINVAL);
        CHECK_STR(err, "driver \"bad\": key \"n\" is there twice");
        keys[1].name = "s";
        keys[1].size = 64;
        CHECK_ERRNO(driver_check(&d, err, sizeof err), -EINVAL);
        keys[1].size = 8;
        d.options_size = DRIVER_OPTIONS_MAX + 1;
        CHECK_ERRNO(driver_check(&d, err, sizeof err), -EINVAL);
        d.options_size = sizeof(struct bad_options);
        d.name = "a-name-too-long-x";
        CHECK_ERRNO(driver_check(&d, err, sizeof err), -EINVAL);
        CHECK(driver_find("bad") == NULL);
}

TEST_MAIN()
