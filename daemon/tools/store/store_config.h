/* SPDX-License-Identifier: Apache-2.0 */
/* store_config: darkdaq-store's INI file, section [store], over defaults.
 * libinih parses; this module maps keys to fields and checks values, like
 * daemon/config.c does for darkdaqd.  No I/O beyond reading the file. */
#ifndef DARKDAQ_STORE_CONFIG_H
#define DARKDAQ_STORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct store_config {
        char data[256];                 /* DEALER, connects to darkdaqd's storage ROUTER */
        char dir[4096];                 /* run files go here (required) */
        uint64_t max_file_bytes;        /* rotate before a file would pass this */
        uint64_t max_file_seconds;      /* rotate a file open this long; 0: never */
        uint64_t min_free_bytes;        /* below this free in dir: FULL, stop taking data */
        uint64_t resume_margin_bytes;   /* after FULL: RESUME once min_free_bytes + this is free */
        uint64_t silence_close_ms;      /* close an open run silent this long; 0: never */
        uint64_t ack_interval_ms;       /* fsync + ACK at most this often while data flows */
        char client_key[4096];          /* CURVE: this store's secret key file ("": none) */
        char server_public_key[4096];   /* CURVE: the daemon's public key file ("": none) */
        bool require_curve;             /* CURVE on a local endpoint too */
        uint64_t heartbeat_ms;          /* ZeroMQ heartbeats on the data socket; 0: none */
        uint64_t link_log_ms;           /* a line on the link's state this often; 0: never */
        bool insecure;                  /* data may be tcp:// on loopback (or ipc://@) without
                                         * CURVE: every local user reaches it */
};

void store_config_default(struct store_config *c);

/* Loads path over the defaults.  Returns 0, or -errno with err holding
 * "FILE:LINE: unknown key ..." / "FILE: cannot open ..." (usage errors).
 * A data endpoint every local user reaches (tcp:// on loopback, ipc://@) is
 * refused unless insecure = yes. */
int store_config_load(struct store_config *c, const char *path, char *err, size_t errlen);

/* CURVE on a local endpoint too: require_curve with both key files. */
bool store_config_curve(const struct store_config *c);

/* The keys with their defaults and one line each, as an INI file. */
void store_config_print_defaults(FILE *out);

#endif
