/* SPDX-License-Identifier: Apache-2.0 */
/* config: darkdaqd's configuration file (INI, parsed by Debian's libinih):
 * the daemon's sockets and buffers ([daemon]), its sources ([source.NAME]:
 * driver = NAME, then the keys that driver owns), builder settings, the
 * tagger's cuts and beams, per-tag prescales, the CURVE keys of the sockets
 * it serves ([auth]).  Every key has a documented default; an unknown key or
 * a bad value is an error that names the file, the line and the key. */
#ifndef DARKDAQ_CONFIG_H
#define DARKDAQ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "builder.h"
#include "driver.h"
#include "physics_config.h"

#define CONFIG_MAX_SOURCES      64
#define CONFIG_NAME_MAX         32
#define CONFIG_PATH_MAX         1024
#define CONFIG_ENDPOINT_MAX     256
/* The runtime directory of the default endpoints (version 2 of the endpoint
 * table, proto/README.md): systemd's RuntimeDirectory=darkdaq, mode 0750,
 * group darkdaq; each socket in it is made 0770 after bind. */
#define CONFIG_RUNTIME_DIR      "/run/darkdaq"

/* [daemon]: the live service's sockets, buffers and timers. */
struct daemon_config {
        char control[CONFIG_ENDPOINT_MAX];      /* REP, run control */
        char monitor[CONFIG_ENDPOINT_MAX];      /* PUB, sampled records */
        char storage[CONFIG_ENDPOINT_MAX];      /* ROUTER: the storage channel (v2) */
        uint32_t sender_id;             /* this daemon's id in the records it sends */
        uint64_t storage_buffer_bytes;  /* records held unacknowledged, at most */
        uint64_t busy_high_bytes;       /* held above this: BUSY on every source */
        uint64_t busy_low_bytes;        /* held below this: BUSY cleared */
        uint32_t stop_timeout_ms;       /* stop: wait this long for sources and the store */
        uint32_t silence_warn_ms;       /* a running source silent this long is reported */
        uint32_t storage_warn_ms;       /* records held this long with no store: reported */
        uint32_t heartbeat_ms;          /* ZeroMQ heartbeats between programs; 0: none */
        uint32_t monitor_hwm;           /* monitor PUB send high-water mark, messages */
        uint64_t ring_bytes;            /* each source's ring to the core thread */
        char metrics[CONFIG_ENDPOINT_MAX];      /* HTTP GET /metrics, HOST:PORT; "": off */
        char state_dir[CONFIG_PATH_MAX];        /* the last run number (runstate.h) */
        bool insecure;                  /* tcp:// on loopback (or ipc://@) without CURVE
                                         * allowed: every local user reaches it */
};

/* [auth]: who may connect to the sockets that bind (auth.h).  Both key files
 * or neither; without them only local endpoints can be served. */
struct auth_section {
        char server_key[CONFIG_PATH_MAX];       /* the daemon's secret key file; "": none */
        char allowed_clients[CONFIG_PATH_MAX];  /* file or directory of client public keys,
                                                 * allowed on every socket */
        char control_clients[CONFIG_PATH_MAX];  /* the same, on the control socket only */
        char storage_clients[CONFIG_PATH_MAX];  /* ... the storage sockets only */
        char monitor_clients[CONFIG_PATH_MAX];  /* ... the monitor socket only */
        bool require_curve;                     /* CURVE on local endpoints too */
};

/* [source.NAME]: one source.  Its driver's keys (driver.h) fill options. */
struct source_config {
        char name[CONFIG_NAME_MAX];     /* NAME of the section */
        char driver[DRIVER_NAME_MAX];   /* driver = NAME, the first key */
        uint64_t keys_set;              /* bit i: the driver's key i was given */
        /* the driver's options struct: its defaults, then the section's keys */
        _Alignas(max_align_t) unsigned char options[DRIVER_OPTIONS_MAX];
};

struct darkdaq_config {
        struct daemon_config daemon;
        struct source_config sources[CONFIG_MAX_SOURCES];       /* in file order */
        size_t n_sources;
        struct builder_config builder;
        bool sources_given;             /* [builder] sources was set */
        struct physics_config physics;
        struct auth_section auth;
        char *text;                     /* the file as read ("" for defaults) */
        unsigned lines;                 /* of the file */
};

/* Fills cfg with every default. */
void config_default(struct darkdaq_config *cfg);

/* The builder's expected sources for the live daemon: [builder] sources if
 * given, else the boards the sources' drivers say they play (0 if a source's
 * driver cannot know, as for file: config_load() refuses such a file). */
uint64_t config_expected_sources(const struct darkdaq_config *cfg);

/* The board ids s plays as its driver knows them from its keys (sim); 0 if
 * the driver cannot know. */
uint64_t config_source_boards(const struct source_config *s);

/* The field behind key in s's options, if it is size bytes (0: any size, for
 * strings); NULL if s's driver has no such key (driver_option()). */
const void *config_source_option(const struct source_config *s, const char *key, size_t size);

/* Loads the INI file at path over the defaults.  Returns 0, -errno when the
 * file cannot be read, or -EINVAL for bad content; err then says
 * "PATH:LINE: ..." naming the key.  cfg->text is allocated (config_clear). */
int config_load(struct darkdaq_config *cfg, const char *path, char *err, size_t errlen);

/* Same, from len bytes of untrusted text (NULs included: each one is an
 * error); name appears in messages.  Before libinih reads it, config_scan
 * refuses a NUL, an over-long line, a key or section given twice, text after
 * "]", a comment after a value and a section without keys, each with its
 * line. */
int config_load_text(struct darkdaq_config *cfg, const char *text, size_t len, const char *name,
                     char *err, size_t errlen);
/* config_load_text() of a C string (tests). */
int config_load_string(struct darkdaq_config *cfg, const char *text, const char *name,
                       char *err, size_t errlen);

/* The first of the daemon's endpoints (control, monitor, storage) that every
 * local user would reach (auth_endpoint_is_open_local) without CURVE on it
 * ([auth] require_curve with keys); NULL when there is none.  Its key name
 * goes to *ret_key.  config_load() refuses such a file unless [daemon]
 * insecure = yes. */
const char *config_open_endpoint(const struct darkdaq_config *cfg, const char **ret_key);

/* What the live daemon needs beyond a loadable file (a replay takes its
 * sources from the command line): at least one source.  Returns 0, or
 * -EINVAL with "NAME:LINE: ..." in err. */
int config_check_live(const struct darkdaq_config *cfg, const char *name, char *err,
                      size_t errlen);

void config_clear(struct darkdaq_config *cfg);

/* Writes the documentation of every key with its default to out. */
void config_print_defaults(FILE *out);

/* Value parsers, also for the drivers' keys and the other programs'
 * configuration files; each returns 0 or -EINVAL and writes only on success.
 * An unsigned integer (decimal, 0x hex or 0 octal) in [min, max]; a number
 * in [min, max]; yes/true/1 or no/false/0; a non-empty string that fits in
 * size; a ZeroMQ endpoint (tcp://, ipc:// or inproc://) that fits. */
int config_parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *ret);
int config_parse_double(const char *v, double min, double max, double *ret);
int config_parse_bool(const char *v, bool *ret);
int config_parse_str(const char *v, char *out, size_t size);
int config_parse_endpoint(const char *v, char *out, size_t size);

#endif
