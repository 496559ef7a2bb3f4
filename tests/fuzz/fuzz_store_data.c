/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the store's handling of data-channel messages (store_message():
 * WELCOMEs, records, prefixes, sessions) without sockets: the input is a
 * sequence of messages, each u16 length + bytes, fed to a store writing into
 * a fresh temporary directory, after a WELCOME of session 1 / sender 1.
 * No crash, no leak; every run file it leaves reads back to its last frame. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runfile.h"
#include "storage_proto.h"
#include "store.h"
#include "store_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_discard(void *ctx, const struct storage_ctl *c)
{
        (void)ctx;
        (void)c;
}

static void s_clean(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        char path[4200];
        while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                size_t n = strlen(e->d_name);
                if (n > 4 && !strcmp(e->d_name + n - 4, ".dkr")) {
                        runfile_reader_t *rd;
                        const Darkdaq__Record *rec;
                        if (runfile_reader_open(&rd, path) == 0) {
                                while (runfile_reader_next(rd, &rec, NULL) > 0)
                                        ;
                                runfile_reader_free(rd);
                        }
                }
                unlink(path);
        }
        if (d)
                closedir(d);
        rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char dir[] = "/tmp/fuzz-store-XXXXXX";
        struct store_config cfg;
        store_t *s = NULL;
        uint8_t w[STORAGE_CTL_BYTES];

        if (!mkdtemp(dir))
                return 0;
        store_config_default(&cfg);
        snprintf(cfg.dir, sizeof cfg.dir, "%s", dir);
        cfg.min_free_bytes = 0;
        cfg.max_file_bytes = 4096;
        if (store_new(&s, &cfg, s_discard, NULL) == 0) {
                storage_ctl_encode(w, &(struct storage_ctl){ .kind = STORAGE_WELCOME,
                                                            .session = 1, .sender = 1 });
                store_message(s, w, sizeof w, 0);
                uint64_t now = 1;
                while (size >= 2) {
                        size_t n = (size_t)data[0] | (size_t)data[1] << 8;
                        data += 2;
                        size -= 2;
                        if (n > size)
                                n = size;
                        uint8_t *m = malloc(n ? n : 1);    /* exact size: ASan sees overreads */
                        memcpy(m, data, n);
                        store_message(s, m, n, now++);
                        free(m);
                        data += n;
                        size -= n;
                        store_tick(s, now);
                }
                store_close_all(s, "signal", now);
                store_free(s);
        }
        s_clean(dir);
        return 0;
}
