/* SPDX-License-Identifier: Apache-2.0 */
/* darkdaq-keygen: makes CURVE key pairs for darkdaq's non-local sockets.
 * For each NAME it writes NAME.key (public and secret key, mode 0600) and
 * NAME.pub (public key, 0644) in the format of auth.h; it never overwrites. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"

static void s_usage(FILE *f)
{
        fputs("usage: darkdaq-keygen NAME...\n"
              "Writes NAME.key (CURVE public and secret key, mode 0600) and NAME.pub\n"
              "(public key only) for each NAME; existing files are never overwritten.\n"
              "The server's NAME.key goes to its server_key; each client's NAME.pub goes\n"
              "into the server's allowed_clients directory, the server's NAME.pub to the\n"
              "clients' server_public_key.\n"
              "\n"
              "  -h, --help     this text\n"
              "      --version  the version\n", f);
}

int main(int argc, char **argv)
{
        int i;

        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        s_usage(stdout);
                        return 0;
                }
                if (strcmp(argv[i], "--version") == 0) {
                        printf("darkdaq-keygen %s\n", DARKDAQ_VERSION);
                        return 0;
                }
                if (strcmp(argv[i], "--") == 0) {
                        i++;
                        break;
                }
                fprintf(stderr, "darkdaq-keygen: unknown option %s\n", argv[i]);
                s_usage(stderr);
                return 2;
        }
        if (i == argc) {
                s_usage(stderr);
                return 2;
        }
        for (; i < argc; i++) {
                char pub[AUTH_KEY_Z85_LEN + 1], sec[AUTH_KEY_Z85_LEN + 1];
                char path_key[4096], path_pub[4096], err[512];
                int rc;

                snprintf(path_key, sizeof(path_key), "%s.key", argv[i]);
                snprintf(path_pub, sizeof(path_pub), "%s.pub", argv[i]);
                rc = auth_keygen(pub, sec);
                if (rc < 0) {
                        fprintf(stderr, "darkdaq-keygen: cannot make a key pair: %s\n",
                                rc == -ENOTSUP ? "libzmq has no CURVE support" : strerror(-rc));
                        return 1;
                }
                rc = auth_write_key_files(path_key, path_pub, pub, sec, err, sizeof(err));
                memset(sec, 0, sizeof(sec));
                if (rc < 0) {
                        fprintf(stderr, "darkdaq-keygen: %s; no key written for %s\n", err, argv[i]);
                        return 1;
                }
                printf("%s %s\n", path_pub, pub);
        }
        return 0;
}
