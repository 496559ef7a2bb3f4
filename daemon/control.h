/* SPDX-License-Identifier: Apache-2.0 */
/* control: run control of proto/storage-channel.md as a pure state machine.
 * Command text in (untrusted: bounded, validated), the action the daemon
 * must take and the reply text out; it owns no socket, no thread, no clock.
 *
 * Wire format (one ZeroMQ message each way on the control REP socket):
 *   request, one message part (several parts are refused whole), at most
 *     CONTROL_MAX_REQUEST bytes of printable ASCII, either
 *     words:  configure | start [--run N [--force]] | stop | status [--text] | reset
 *     JSON:   {"cmd":"start","run":12}  (keys: cmd, run and "force":true with
 *             start, "text":true with status; strings without escapes other
 *             than \" and \\)
 *   reply, always one JSON object (status --text: a plain-text table):
 *     {"ok":true,"command":"start","state":"running","run":12,"message":"..."}
 *   ok false means refused (the state did not change) or failed (state error).
 *   status: {"ok":true,"state":...,"run":...,"error":...,"busy":...,
 *            "sources":[...],"builder":{...},"tags":{...},"storage":{...},
 *            "monitor":{...},"auth":{...},"out_of_step":[...]} (control_status_json).
 * States: idle -configure-> configured -start-> running -stop-> configured;
 * reset from any state -> idle; a fault -> error (reason in status).
 * Repeating a command is safe: configure when configured, start when running
 * (same or no run number), stop when not running, reset when idle each
 * answer ok and change nothing. */
#ifndef DARKDAQ_CONTROL_H
#define DARKDAQ_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder.h"
#include "linkwatch.h"
#include "publish.h"
#include "source.h"
#include "tags.h"

#define CONTROL_MAX_REQUEST     1024

enum control_cmd { CONTROL_CONFIGURE, CONTROL_START, CONTROL_STOP, CONTROL_STATUS, CONTROL_RESET };
enum control_state { CONTROL_IDLE, CONTROL_CONFIGURED, CONTROL_RUNNING, CONTROL_ERROR };

struct control_request {
        enum control_cmd cmd;
        bool run_given;                 /* start --run N */
        uint32_t run;
        bool force;                     /* start --force: a run number not after the last */
        bool text;                      /* status --text */
};

/* Parses len bytes of untrusted text.  Returns 0 with *ret, or -EINVAL with
 * a message in err ("unknown command \"x\"; ..."). */
int control_parse(const void *msg, size_t len, struct control_request *ret, char *err,
                  size_t errlen);

/* A request as it came off the socket: n_parts ZeroMQ message parts, the
 * first of them (first, len).  One message is one command: a request of one
 * part is control_parse(); any other number of parts is refused as a whole
 * (-EINVAL, err names the count), so that none of its parts runs. */
int control_parse_parts(const void *first, size_t len, size_t n_parts,
                        struct control_request *ret, char *err, size_t errlen);

const char *control_cmd_name(enum control_cmd c);
const char *control_state_name(enum control_state s);

/* What the daemon must do for a request. */
enum control_action {
        CONTROL_NOTHING,                /* the reply is ready: a repeat or a refusal */
        CONTROL_DO_CONFIGURE,           /* open the sources */
        CONTROL_DO_START,               /* start run *ret_run */
        CONTROL_DO_STOP,                /* stop the run */
        CONTROL_DO_RESET,               /* stop if running, close the sources */
        CONTROL_DO_STATUS,              /* reply with control_status_json/_text */
};

typedef struct control {
        enum control_state state;
        uint32_t run;                   /* the run going on, or the last one */
        bool had_run;                   /* some run was started */
        char reason[256];               /* CONTROL_ERROR: why */
} control_t;

void control_init(control_t *c);

/* Decides rq in the current state.  On CONTROL_NOTHING, reply holds the JSON
 * reply; on CONTROL_DO_START, *ret_run is the run to start (--run N, else
 * one more than the last run, from 1).  Run numbers only go up: --run N with
 * N not after the last run started (c->run once c->had_run) is refused,
 * naming the last run, unless rq->force. */
enum control_action control_decide(const control_t *c, const struct control_request *rq,
                                   uint32_t *ret_run, char *reply, size_t len);

/* Writes the reply of a refusal of cmd (ok false, the state unchanged) for a
 * reason the daemon found beyond control_decide(). */
void control_refuse(const control_t *c, enum control_cmd cmd, const char *message, char *reply,
                    size_t len);

/* The daemon did action a (for run, with DO_START): result 0 moves to the
 * next state, < 0 to error with `message` as the reason.  Writes the JSON
 * reply with message and, if not NULL, extra (members to add, such as
 * "\"store_confirmed\":true"). */
void control_done(control_t *c, enum control_action a, uint32_t run, int result,
                  const char *message, const char *extra, char *reply, size_t len);

/* A fault outside any command (a source failed): state error with reason. */
void control_fault(control_t *c, const char *reason);

/* What status shows of one source. */
struct control_source_status {
        const char *name, *driver;
        struct source_counters c;
        uint64_t silent_ms;             /* since its last bytes (running only) */
        bool silent;                    /* silent >= silence_warn_ms */
        bool ended;                     /* its stream ended this run */
        uint64_t silences;              /* silence warnings so far */
        bool stalled;                   /* its thread gets no CPU: silence not judged */
        uint64_t stalls;                /* times it stalled, since configure */
        const char *error;              /* "" if none */
};

struct control_status {
        uint64_t run_ms;                /* time since start (running) */
        const struct control_source_status *sources;
        size_t n_sources;
        const struct builder_counters *builder;  /* NULL outside a run */
        size_t open_events;
        uint64_t open_bytes;
        const uint64_t *tag_counts;     /* TAG_COUNT_, NULL outside a run */
        double tag_rate_hz[TAG_COUNT_]; /* over the last few seconds */
        double event_rate_hz;
        bool busy;
        const struct publish_counters *pub;
        uint64_t storage_buffer_bytes;
        bool storage_gone;              /* records held, no store taking them (storage_warn_ms) */
        uint64_t storage_gone_ms;       /* for how long */
        const struct linkwatch_counters *links; /* the channels between programs */
        const uint64_t *links_age_ms;   /* time since each one's connections changed */
        const char *const *link_names;
        size_t n_links;
        uint64_t records;               /* records of this run so far (next seq) */
        const struct builder_out_of_step *oos;
        size_t n_oos;
        bool auth_keys;                 /* CURVE keys configured ([auth]) */
        uint64_t auth_clients;          /* client keys allowed */
        uint64_t auth_refusals;         /* connections the ZAP handler refused */
};

/* Writes the status object (JSON) or a table for people.  Returns the length
 * written (truncated to len - 1 if it did not fit; the JSON then stays valid
 * only if len was large enough: 64 KiB fits 64 sources). */
size_t control_status_json(const control_t *c, const struct control_status *s, char *buf,
                           size_t len);
size_t control_status_text(const control_t *c, const struct control_status *s, char *buf,
                           size_t len);

#endif
