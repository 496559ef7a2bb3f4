/* SPDX-License-Identifier: Apache-2.0 */
/* darkdaq-dump: prints raw board-interface streams and run files, each
 * recognised by its content, as text for people or as JSON lines
 * (proto/README.md s.1). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump.h"
#include "raw.h"

static void s_usage(FILE *out)
{
        fputs("usage: darkdaq-dump [--json | --csv] [--raw] FILE...\n"
              "Prints raw board-interface streams (as the boards send them) and darkdaq\n"
              "run files (.dkr), telling them apart by content.\n"
              "\n"
              "  -j, --json     one JSON object per line (proto/README.md)\n"
              "  -c, --csv      run files only: one CSV row per event over all FILEs, with\n"
              "                 the columns of the Python package's darkdaq.events()\n"
              "  -r, --raw      read every FILE as a raw board stream, even one that holds\n"
              "                 no good fragment\n"
              "  -h, --help     this text\n"
              "  -V, --version  the version\n"
              "\n"
              "Raw files: every byte is accounted for once, as a good fragment, a bad\n"
              "fragment with its reason, or a junk run.  Run files: one object per record;\n"
              "a damaged frame is reported (offset, reason, bytes skipped) and reading\n"
              "goes on at the next good frame; seqs are checked across the files of a run.\n"
              "A file that is neither a run file nor holds a good fragment in its first\n"
              "4 MiB is refused (without --raw).\n"
              "Exit status: 0 printed, 1 a file could not be read, was damaged or is of\n"
              "no known kind, 2 usage.\n", out);
}

/* Returns 1 to run with *ret_json and *ret_csv set and optind at the first
 * file, 0 after --help or --version, or -EINVAL after a usage error
 * (reported). */
static bool s_force_raw;        /* --raw */

static int s_parse_argv(int argc, char **argv, bool *ret_json, bool *ret_csv)
{
        static const struct option opts[] = {
                { "json", no_argument, NULL, 'j' },
                { "csv", no_argument, NULL, 'c' },
                { "raw", no_argument, NULL, 'r' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { 0 },
        };
        bool json = false, csv = false;
        int c;

        while ((c = getopt_long(argc, argv, "jcrhV", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        s_force_raw = true;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'c':
                        csv = true;
                        break;
                case 'h':
                        s_usage(stdout);
                        return 0;
                case 'V':
                        printf("darkdaq-dump %s\n", DARKDAQ_VERSION);
                        return 0;
                default:
                        s_usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind >= argc) {
                fputs("darkdaq-dump: no file given\n", stderr);
                s_usage(stderr);
                return -EINVAL;
        }
        if (json && csv) {
                fputs("darkdaq-dump: --json and --csv exclude each other\n", stderr);
                return -EINVAL;
        }
        if (csv && s_force_raw) {
                fputs("darkdaq-dump: --raw and --csv exclude each other\n", stderr);
                return -EINVAL;
        }
        *ret_json = json;
        *ret_csv = csv;
        return 1;
}

#define PROBE_BYTES (4u << 20)  /* a raw stream shows a good fragment within this */

/* Prints the file at path as a run file or a raw stream, by its first
 * bytes.  Returns 0, or -1 when it could not be read, was damaged or is of
 * no known kind (reported). */
static int s_dump(const char *path, bool json, bool csv)
{
        uint8_t head[4096];
        ssize_t n;
        struct stat sb;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "darkdaq-dump: %s: cannot open: %s\n", path, strerror(errno));
                return -1;
        }
        if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
                close(fd);
                fprintf(stderr, "darkdaq-dump: %s: is a directory, not a run file or a raw "
                        "stream\n", path);
                return -1;
        }
        n = read(fd, head, sizeof head);
        close(fd);
        if (n < 0) {
                fprintf(stderr, "darkdaq-dump: %s: cannot read: %s\n", path, strerror(errno));
                return -1;
        }
        bool run = !s_force_raw && dump_is_run_file(head, (size_t)n);
        if (!run && !csv && !s_force_raw) {
                int p = dump_raw_probe(path, PROBE_BYTES);
                if (p < 0) {
                        fprintf(stderr, "darkdaq-dump: %s: cannot read: %s\n", path,
                                strerror(-p));
                        return -1;
                }
                if (p == 0) {
                        fprintf(stderr, "darkdaq-dump: %s: not a run file, and no good fragment "
                                "in its first %u MiB (%s): not a raw board stream either; "
                                "--raw reads it as one\n", path, PROBE_BYTES >> 20,
                                n == 0 ? "it is empty" : "all of it would be junk");
                        return -1;
                }
        }
        if (csv && !run) {
                fprintf(stderr, "darkdaq-dump: %s: not a run file: --csv prints the events "
                        "of run files only\n", path);
                return -1;
        }
        int r = csv ? dump_csv_file(path, stdout)
                : run ? dump_run_file(path, stdout, json) : dump_raw_file(path, stdout, json);
        return r != 0 ? -1 : 0;
}

/* Every file in turn, then stdout flushed.  Returns the exit status: 0, or
 * 1 when a file could not be read or the output not written. */
static int s_run(char **paths, int n, bool json, bool csv)
{
        int status = 0;

        if (csv)
                dump_csv_header(stdout);
        for (int i = 0; i < n; i++)
                if (s_dump(paths[i], json, csv) < 0)
                        status = 1;
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "darkdaq-dump: writing output: %s\n", strerror(errno));
                return 1;
        }
        return status;
}

int main(int argc, char **argv)
{
        bool json = false, csv = false;
        int r = s_parse_argv(argc, argv, &json, &csv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        return s_run(argv + optind, argc - optind, json, csv);
}
