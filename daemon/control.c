/* SPDX-License-Identifier: Apache-2.0 */
/* control: the parser reads at most CONTROL_MAX_REQUEST bytes, accepts only
 * printable ASCII, and never reads past len; the state machine is a switch
 * over (state, command).  Replies are built with a bounded appender. */
#include "control.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonstr.h"

static const char *const s_cmds[] = { "configure", "start", "stop", "status", "reset" };
static const char *const s_states[] = { "idle", "configured", "running", "error" };

const char *control_cmd_name(enum control_cmd c)
{
        return (unsigned)c < 5 ? s_cmds[c] : "?";
}

const char *control_state_name(enum control_state s)
{
        return (unsigned)s < 4 ? s_states[s] : "?";
}

/* ---- parsing ---------------------------------------------------------- */

struct cursor {
        const char *p, *end;
};

static void s_ws(struct cursor *c)
{
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
                c->p++;
}

/* A word of [a-z-] or digits up to whitespace; copied into out. */
static bool s_word(struct cursor *c, char *out, size_t size)
{
        size_t n = 0;
        s_ws(c);
        while (c->p < c->end && *c->p != ' ' && *c->p != '\t' && *c->p != '\n' && *c->p != '\r') {
                if (n + 1 >= size)
                        return false;
                out[n++] = *c->p++;
        }
        out[n] = '\0';
        return n > 0;
}

static int s_u32(const char *s, uint32_t *ret)
{
        uint64_t v = 0;
        if (!*s || strlen(s) > 10)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t)(*s - '0');
        }
        if (v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t)v;
        return 0;
}

static int s_cmd(const char *w, enum control_cmd *ret)
{
        for (unsigned i = 0; i < 5; i++)
                if (!strcmp(w, s_cmds[i])) {
                        *ret = (enum control_cmd)i;
                        return 0;
                }
        return -EINVAL;
}

static int s_fail(char *err, size_t errlen, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

#define S_COMMANDS "commands: configure, start [--run N [--force]], stop, status [--text], reset"

static int s_parse_words(struct cursor *c, struct control_request *rq, char *err, size_t errlen)
{
        char w[64];
        if (!s_word(c, w, sizeof w))
                return s_fail(err, errlen, "empty or overlong command; " S_COMMANDS);
        if (s_cmd(w, &rq->cmd) < 0)
                return s_fail(err, errlen, "unknown command \"%.32s\"; " S_COMMANDS, w);
        while (s_word(c, w, sizeof w)) {
                if (rq->cmd == CONTROL_START && !strcmp(w, "--run") && !rq->run_given) {
                        if (!s_word(c, w, sizeof w) || s_u32(w, &rq->run) < 0)
                                return s_fail(err, errlen, "start --run needs a run number "
                                              "0..4294967295");
                        rq->run_given = true;
                } else if (rq->cmd == CONTROL_START && !strcmp(w, "--force") && !rq->force) {
                        rq->force = true;
                } else if (rq->cmd == CONTROL_STATUS && !strcmp(w, "--text") && !rq->text) {
                        rq->text = true;
                } else {
                        return s_fail(err, errlen, "%s: unexpected \"%.32s\"; " S_COMMANDS,
                                      s_cmds[rq->cmd], w);
                }
        }
        s_ws(c);
        if (c->p != c->end)
                return s_fail(err, errlen, "overlong word; " S_COMMANDS);
        return 0;
}

/* A JSON string without control characters; escapes \" and \\ only. */
static bool s_jstring(struct cursor *c, char *out, size_t size)
{
        size_t n = 0;
        if (c->p >= c->end || *c->p != '"')
                return false;
        c->p++;
        while (c->p < c->end && *c->p != '"') {
                char ch = *c->p++;
                if (ch == '\\') {
                        if (c->p >= c->end || (*c->p != '"' && *c->p != '\\'))
                                return false;
                        ch = *c->p++;
                }
                if (n + 1 >= size)
                        return false;
                out[n++] = ch;
        }
        if (c->p >= c->end)
                return false;
        c->p++;
        out[n] = '\0';
        return true;
}

static int s_parse_json(struct cursor *c, struct control_request *rq, char *err, size_t errlen)
{
        bool have_cmd = false, have_text = false, have_force = false;
        char key[32], val[64];

        c->p++;                                 /* '{' */
        s_ws(c);
        if (c->p < c->end && *c->p == '}')
                return s_fail(err, errlen, "JSON request without \"cmd\"");
        for (;;) {
                s_ws(c);
                if (!s_jstring(c, key, sizeof key))
                        return s_fail(err, errlen, "JSON request: expected a key string");
                s_ws(c);
                if (c->p >= c->end || *c->p != ':')
                        return s_fail(err, errlen, "JSON request: expected ':' after \"%s\"", key);
                c->p++;
                s_ws(c);
                size_t n = 0;
                bool is_str = c->p < c->end && *c->p == '"';
                if (is_str) {
                        if (!s_jstring(c, val, sizeof val))
                                return s_fail(err, errlen, "JSON request: bad string for \"%s\"",
                                              key);
                } else {
                        /* a number or word as JSON writes it, to name it if it is wrong */
                        while (c->p < c->end && ((*c->p >= '0' && *c->p <= '9') ||
                                                 (*c->p >= 'a' && *c->p <= 'z') ||
                                                 (*c->p >= 'A' && *c->p <= 'Z') ||
                                                 *c->p == '-' || *c->p == '+' || *c->p == '.')) {
                                if (n + 1 >= sizeof val)
                                        return s_fail(err, errlen, "JSON request: value of "
                                                      "\"%s\" too long", key);
                                val[n++] = *c->p++;
                        }
                        val[n] = '\0';
                        if (!n)
                                return s_fail(err, errlen, "JSON request: bad value for \"%s\"",
                                              key);
                }
                bool is_cmd = !strcmp(key, "cmd"), is_run = !strcmp(key, "run"),
                     is_text = !strcmp(key, "text");
                if ((is_cmd && have_cmd) || (is_run && rq->run_given) || (is_text && have_text))
                        return s_fail(err, errlen, "JSON request: key \"%s\" given twice", key);
                if (is_cmd && !is_str)
                        return s_fail(err, errlen, "JSON request: \"cmd\" must be a string, "
                                      "not %s; " S_COMMANDS, val);
                if (is_run && (is_str || strspn(val, "0123456789") != strlen(val)))
                        return s_fail(err, errlen, "JSON request: \"run\" must be written in "
                                      "decimal digits only (0..4294967295), not %s%s%s",
                                      is_str ? "the string \"" : "", val, is_str ? "\"" : "");
                if (is_text && (is_str || (strcmp(val, "true") && strcmp(val, "false"))))
                        return s_fail(err, errlen, "JSON request: \"text\" must be true or "
                                      "false, not %s%s%s", is_str ? "\"" : "", val,
                                      is_str ? "\"" : "");
                if (is_cmd) {
                        if (s_cmd(val, &rq->cmd) < 0)
                                return s_fail(err, errlen, "unknown command \"%.32s\"; "
                                              S_COMMANDS, val);
                        have_cmd = true;
                } else if (is_run) {
                        if (s_u32(val, &rq->run) < 0)
                                return s_fail(err, errlen, "\"run\" %s is beyond "
                                              "0..4294967295", val);
                        rq->run_given = true;
                } else if (is_text) {
                        rq->text = val[0] == 't';
                        have_text = true;
                } else if (!strcmp(key, "force") && !is_str && !have_force &&
                           (!strcmp(val, "true") || !strcmp(val, "false"))) {
                        rq->force = val[0] == 't';
                        have_force = true;
                } else {
                        return s_fail(err, errlen, "JSON request: unknown key \"%s\" "
                                      "(keys: cmd, run, force, text)", key);
                }
                s_ws(c);
                if (c->p < c->end && *c->p == ',') {
                        c->p++;
                        continue;
                }
                if (c->p < c->end && *c->p == '}') {
                        c->p++;
                        break;
                }
                return s_fail(err, errlen, "JSON request: expected ',' or '}'");
        }
        s_ws(c);
        if (c->p != c->end)
                return s_fail(err, errlen, "JSON request: text after the object");
        if (!have_cmd)
                return s_fail(err, errlen, "JSON request without \"cmd\"");
        if (rq->run_given && rq->cmd != CONTROL_START)
                return s_fail(err, errlen, "\"run\" goes with start only");
        if (have_force && rq->cmd != CONTROL_START)
                return s_fail(err, errlen, "\"force\" goes with start only");
        if (have_text && rq->cmd != CONTROL_STATUS)
                return s_fail(err, errlen, "\"text\" goes with status only");
        return 0;
}

int control_parse(const void *msg, size_t len, struct control_request *ret, char *err,
                  size_t errlen)
{
        const char *p = msg;
        struct control_request rq = { 0 };
        struct cursor c = { p, p + len };
        int r;

        if (len > CONTROL_MAX_REQUEST)
                return s_fail(err, errlen, "request of %zu bytes: at most %d", len,
                              CONTROL_MAX_REQUEST);
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)p[i] > 126 || ((unsigned char)p[i] < 32 && p[i] != '\t' &&
                                                  p[i] != '\n' && p[i] != '\r'))
                        return s_fail(err, errlen, "request holds byte 0x%02x at %zu: "
                                      "printable ASCII only", (unsigned char)p[i], i);
        s_ws(&c);
        r = c.p < c.end && *c.p == '{' ? s_parse_json(&c, &rq, err, errlen)
                                        : s_parse_words(&c, &rq, err, errlen);
        if (r == 0)
                *ret = rq;
        return r;
}

int control_parse_parts(const void *first, size_t len, size_t n_parts,
                        struct control_request *ret, char *err, size_t errlen)
{
        if (n_parts != 1)
                return s_fail(err, errlen, "request of %zu message parts: one command is one "
                              "single-part message; nothing was done", n_parts);
        return control_parse(first, len, ret, err, errlen);
}

/* ---- state machine ------------------------------------------------------ */

void control_init(control_t *c)
{
        memset(c, 0, sizeof *c);
}

struct out {
        char *buf;
        size_t len, used;
};

static void s_put(struct out *o, const char *fmt, ...)
{
        va_list ap;
        if (o->used + 1 >= o->len)
                return;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
        va_end(ap);
        if (n > 0)
                o->used = o->used + (size_t)n < o->len ? o->used + (size_t)n : o->len - 1;
}

/* A JSON string of s (escaped), cut like s_put(). */
static void s_jstr(struct out *o, const char *s)
{
        if (o->used + 1 >= o->len)
                return;
        size_t n = jsonstr_quote(o->buf + o->used, o->len - o->used, s);
        o->used = o->used + n < o->len ? o->used + n : o->len - 1;
}

static void s_reply(const control_t *c, enum control_cmd cmd, bool ok, const char *message,
                    const char *extra, char *buf, size_t len)
{
        struct out o = { buf, len, 0 };
        buf[0] = '\0';
        s_put(&o, "{\"ok\":%s,\"command\":\"%s\",\"state\":\"%s\",\"run\":%" PRIu32 ",",
              ok ? "true" : "false", control_cmd_name(cmd), control_state_name(c->state), c->run);
        if (c->state == CONTROL_ERROR) {
                s_put(&o, "\"error\":");
                s_jstr(&o, c->reason);
                s_put(&o, ",");
        }
        if (extra && *extra)
                s_put(&o, "%s,", extra);
        s_put(&o, "\"message\":");
        s_jstr(&o, message);
        s_put(&o, "}");
}

void control_refuse(const control_t *c, enum control_cmd cmd, const char *message, char *reply,
                    size_t len)
{
        s_reply(c, cmd, false, message, NULL, reply, len);
}

enum control_action control_decide(const control_t *c, const struct control_request *rq,
                                   uint32_t *ret_run, char *reply, size_t len)
{
        char msg[160];

        switch (rq->cmd) {
        case CONTROL_STATUS:
                return CONTROL_DO_STATUS;
        case CONTROL_RESET:
                if (c->state == CONTROL_IDLE) {
                        s_reply(c, rq->cmd, true, "already idle", NULL, reply, len);
                        return CONTROL_NOTHING;
                }
                return CONTROL_DO_RESET;
        case CONTROL_CONFIGURE:
                switch (c->state) {
                case CONTROL_IDLE:
                        return CONTROL_DO_CONFIGURE;
                case CONTROL_CONFIGURED:
                        s_reply(c, rq->cmd, true, "already configured", NULL, reply, len);
                        return CONTROL_NOTHING;
                case CONTROL_RUNNING:
                        s_reply(c, rq->cmd, false, "refused: a run is going on (stop first)",
                                NULL, reply, len);
                        return CONTROL_NOTHING;
                case CONTROL_ERROR:
                        s_reply(c, rq->cmd, false, "refused: in error (reset first)", NULL,
                                reply, len);
                        return CONTROL_NOTHING;
                }
                break;
        case CONTROL_START:
                switch (c->state) {
                case CONTROL_IDLE:
                        s_reply(c, rq->cmd, false, "refused: not configured (configure first)",
                                NULL, reply, len);
                        return CONTROL_NOTHING;
                case CONTROL_CONFIGURED:
                        if (rq->run_given && c->had_run && rq->run <= c->run && !rq->force) {
                                snprintf(msg, sizeof msg, "refused: run %" PRIu32 " is not after "
                                         "the last run started, %" PRIu32 " (start without "
                                         "--run takes the next; --force to use it anyway)",
                                         rq->run, c->run);
                                s_reply(c, rq->cmd, false, msg, NULL, reply, len);
                                return CONTROL_NOTHING;
                        }
                        if (!rq->run_given && c->had_run && c->run == UINT32_MAX) {
                                s_reply(c, rq->cmd, false, "refused: the last run started is "
                                        "4294967295, there is no next (start --run N --force)",
                                        NULL, reply, len);
                                return CONTROL_NOTHING;
                        }
                        *ret_run = rq->run_given ? rq->run : c->had_run ? c->run + 1 : 1;
                        return CONTROL_DO_START;
                case CONTROL_RUNNING:
                        if (rq->run_given && rq->run != c->run) {
                                snprintf(msg, sizeof msg, "refused: run %" PRIu32 " is going on "
                                         "(stop it first)", c->run);
                                s_reply(c, rq->cmd, false, msg, NULL, reply, len);
                        } else {
                                snprintf(msg, sizeof msg, "already running run %" PRIu32, c->run);
                                s_reply(c, rq->cmd, true, msg, NULL, reply, len);
                        }
                        return CONTROL_NOTHING;
                case CONTROL_ERROR:
                        s_reply(c, rq->cmd, false, "refused: in error (reset first)", NULL,
                                reply, len);
                        return CONTROL_NOTHING;
                }
                break;
        case CONTROL_STOP:
                if (c->state == CONTROL_RUNNING)
                        return CONTROL_DO_STOP;
                s_reply(c, rq->cmd, true, c->state == CONTROL_ERROR ? "not running (in error: "
                        "reset to leave it)" : "not running", NULL, reply, len);
                return CONTROL_NOTHING;
        }
        s_reply(c, rq->cmd, false, "unknown command", NULL, reply, len);
        return CONTROL_NOTHING;
}

void control_done(control_t *c, enum control_action a, uint32_t run, int result,
                  const char *message, const char *extra, char *reply, size_t len)
{
        enum control_cmd cmd = CONTROL_STATUS;

        if (result < 0) {
                control_fault(c, message);
        } else {
                switch (a) {
                case CONTROL_DO_CONFIGURE:
                        c->state = CONTROL_CONFIGURED;
                        break;
                case CONTROL_DO_START:
                        c->state = CONTROL_RUNNING;
                        c->run = run;
                        c->had_run = true;
                        break;
                case CONTROL_DO_STOP:
                        c->state = CONTROL_CONFIGURED;
                        break;
                case CONTROL_DO_RESET:
                        c->state = CONTROL_IDLE;
                        c->reason[0] = '\0';
                        break;
                default:
                        break;
                }
        }
        switch (a) {
        case CONTROL_DO_CONFIGURE: cmd = CONTROL_CONFIGURE; break;
        case CONTROL_DO_START: cmd = CONTROL_START; break;
        case CONTROL_DO_STOP: cmd = CONTROL_STOP; break;
        case CONTROL_DO_RESET: cmd = CONTROL_RESET; break;
        default: break;
        }
        s_reply(c, cmd, result >= 0, message, extra, reply, len);
}

void control_fault(control_t *c, const char *reason)
{
        c->state = CONTROL_ERROR;
        snprintf(c->reason, sizeof c->reason, "%s", reason ? reason : "fault");
}

/* ---- status --------------------------------------------------------------- */

static const char *s_b(bool v)
{
        return v ? "true" : "false";
}

size_t control_status_json(const control_t *c, const struct control_status *s, char *buf,
                           size_t len)
{
        struct out o = { buf, len, 0 };
        buf[0] = '\0';
        s_put(&o, "{\"ok\":true,\"command\":\"status\",\"state\":\"%s\",\"run\":%" PRIu32
              ",\"running\":%s,\"run_seconds\":%.3f,\"error\":", control_state_name(c->state),
              c->run, s_b(c->state == CONTROL_RUNNING), (double)s->run_ms / 1000.0);
        s_jstr(&o, c->state == CONTROL_ERROR ? c->reason : "");
        s_put(&o, ",\"busy\":%s,\"records\":%" PRIu64 ",\"sources\":[", s_b(s->busy), s->records);
        for (size_t i = 0; i < s->n_sources; i++) {
                const struct control_source_status *x = &s->sources[i];
                s_put(&o, "%s{\"name\":", i ? "," : "");
                s_jstr(&o, x->name);
                s_put(&o, ",\"stream\":%zu,\"driver\":", i);
                s_jstr(&o, x->driver);
                s_put(&o, ",\"bytes\":%" PRIu64 ",\"fragments\":%" PRIu64 ",\"bad\":%" PRIu64
                      ",\"junk\":%" PRIu64 ",\"junk_bytes\":%" PRIu64 ",\"ring_waits\":%" PRIu64
                      ",\"busy\":%s,\"busy_ms\":%" PRIu64 ",\"silent_ms\":%" PRIu64
                      ",\"silent\":%s,\"silences\":%" PRIu64 ",\"running\":%s,\"ended\":%s,"
                      "\"error\":", x->c.bytes, x->c.fragments, x->c.bad, x->c.junk,
                      x->c.junk_bytes, x->c.ring_waits, s_b(x->c.busy), x->c.busy_ms,
                      x->silent_ms, s_b(x->silent), x->silences, s_b(x->c.running),
                      s_b(x->ended));
                s_jstr(&o, x->error);
                s_put(&o, ",\"resets\":%" PRIu64 ",\"attached\":%s,\"reconnects\":%" PRIu64
                      ",\"unplugs\":%" PRIu64 ",\"driver_errors\":%" PRIu64
                      ",\"upstream_dropped\":%" PRIu64 ",\"overflow\":%s", x->c.resets,
                      s_b(x->c.health.attached), x->c.health.reconnects, x->c.health.unplugs,
                      x->c.health.errors, x->c.health.upstream_dropped,
                      s_b(x->c.health.overflow));
                s_put(&o, ",\"stalled\":%s,\"stalls\":%" PRIu64, s_b(x->stalled), x->stalls);
                s_put(&o, "}");
        }
        s_put(&o, "],\"builder\":{");
        if (s->builder) {
                const struct builder_counters *b = s->builder;
                s_put(&o, "\"events\":%" PRIu64 ",\"complete\":%" PRIu64 ",\"incomplete\":%"
                      PRIu64 ",\"duplicate\":%" PRIu64 ",\"corrupt_events\":%" PRIu64
                      ",\"time_mismatch\":%" PRIu64 ",\"truncated\":%" PRIu64 ",\"busy_seen\":%"
                      PRIu64 ",\"fragments\":%" PRIu64 ",\"late\":%" PRIu64 ",\"junk\":%" PRIu64
                      ",\"junk_bytes\":%" PRIu64 ",\"corrupt\":%" PRIu64 ",\"forced_by_events\":%"
                      PRIu64 ",\"forced_by_bytes\":%" PRIu64 ",\"forced_by_timeout\":%" PRIu64
                      ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64 ","
                      "\"late_without_event\":%" PRIu64 ",",
                      b->events, b->complete, b->incomplete, b->duplicate, b->corrupt_events,
                      b->time_mismatch, b->truncated, b->busy_seen, b->fragments, b->late,
                      b->junk, b->junk_bytes, b->corrupt, b->forced_by_events,
                      b->forced_by_bytes, b->forced_by_timeout, b->bytes_in, b->bytes_out,
                      b->late_without_event);
        }
        s_put(&o, "\"open_events\":%zu,\"open_bytes\":%" PRIu64 ",\"event_rate_hz\":%.1f},"
              "\"tags\":{", s->open_events, s->open_bytes, s->event_rate_hz);
        for (unsigned t = 0; t < TAG_COUNT_; t++)
                s_put(&o, "%s\"%s\":{\"count\":%" PRIu64 ",\"rate_hz\":%.2f}", t ? "," : "",
                      tag_name((enum tag_id)t), s->tag_counts ? s->tag_counts[t] : 0,
                      s->tag_rate_hz[t]);
        s_put(&o, "}");
        if (s->pub) {
                const struct publish_counters *p = s->pub;
                s_put(&o, ",\"storage\":{\"gone\":%s,\"gone_ms\":%" PRIu64
                      ",\"buffer_bytes\":%" PRIu64 ",\"held_bytes\":%" PRIu64
                      ",\"held_records\":%" PRIu64 ",\"max_held_bytes\":%" PRIu64
                      ",\"records\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"resent\":%" PRIu64
                      ",\"acked\":%" PRIu64 ",\"spilled\":%" PRIu64 ",\"hellos\":%" PRIu64
                      ",\"store_full\":%s,\"ack_run\":%" PRIu32 ",\"ack_seq\":%" PRIu64
                      ",\"session\":%" PRIu32 ",\"sessions\":%" PRIu64 ",\"forged\":%" PRIu64
                      ",\"refused_hellos\":%" PRIu64 ",\"bad_acks\":%" PRIu64
                      ",\"refused_records\":%" PRIu64 ",\"resent_on_connect\":%" PRIu64
                      ",\"resent_on_silence\":%" PRIu64 ",\"spool_loaded\":%" PRIu64
                      ",\"spooled_records\":%" PRIu64 "}"
                      ",\"monitor\":{\"sent\":%" PRIu64 ",\"dropped\":%" PRIu64 "}",
                      s_b(s->storage_gone), s->storage_gone_ms,
                      s->storage_buffer_bytes, p->held_bytes, p->held_records, p->max_held_bytes,
                      p->records, p->sent, p->resent, p->acked, p->spilled, p->hellos,
                      s_b(p->store_full), p->ack_run, p->ack_seq, p->session, p->sessions,
                      p->forged, p->refused_hellos, p->bad_acks, p->refused_records,
                      p->resent_on_connect, p->resent_on_silence, p->spool_loaded,
                      p->spool_held, p->monitor_sent,
                      p->monitor_dropped);
        }
        s_put(&o, ",\"links\":{");
        for (size_t i = 0; i < s->n_links; i++) {
                const struct linkwatch_counters *k = &s->links[i];
                char peer[6 * LINKWATCH_ADDR_MAX + 3], refused[6 * LINKWATCH_ADDR_MAX + 3];
                jsonstr_quote(peer, sizeof peer, k->peer);
                jsonstr_quote(refused, sizeof refused, k->last_refused);
                s_put(&o, "%s\"%s\":{\"connected\":%" PRIu32 ",\"gone\":%s,\"state_ms\":%"
                      PRIu64 ",\"peer\":%s,\"connections\":%" PRIu64 ",\"disconnects\":%"
                      PRIu64 ",\"refused_auth\":%" PRIu64 ",\"refused_protocol\":%" PRIu64
                      ",\"last_refused\":%s,\"msgs_in\":%" PRIu64 ",\"bytes_in\":%" PRIu64
                      ",\"msgs_out\":%" PRIu64 ",\"bytes_out\":%" PRIu64 "}", i ? "," : "",
                      s->link_names[i], k->connected, s_b(k->gone), s->links_age_ms[i], peer,
                      k->connections, k->disconnects, k->refused_auth, k->refused_protocol,
                      refused, k->msgs_in, k->bytes_in, k->msgs_out, k->bytes_out);
        }
        s_put(&o, "}");
        s_put(&o, ",\"auth\":{\"keys\":%s,\"allowed_clients\":%" PRIu64 ",\"refusals\":%"
              PRIu64 "}", s_b(s->auth_keys), s->auth_clients, s->auth_refusals);
        s_put(&o, ",\"out_of_step\":[");
        for (size_t i = 0; i < s->n_oos; i++)
                s_put(&o, "%s{\"source\":%u,\"offset\":%" PRId32 ",\"first_trigger\":%" PRIu32 "}",
                      i ? "," : "", s->oos[i].source, s->oos[i].offset, s->oos[i].first_trigger);
        s_put(&o, "]}");
        return o.used;
}

size_t control_status_text(const control_t *c, const struct control_status *s, char *buf,
                           size_t len)
{
        struct out o = { buf, len, 0 };
        buf[0] = '\0';
        s_put(&o, "state    %s", control_state_name(c->state));
        if (c->state == CONTROL_ERROR)
                s_put(&o, " (%s)", c->reason);
        s_put(&o, "\nrun      %" PRIu32 "%s, %.1f s\nBUSY     %s\n", c->run,
              c->state == CONTROL_RUNNING ? " (running)" : "", (double)s->run_ms / 1000.0,
              s->busy ? "asserted" : "clear");
        s_put(&o, "\n%-16s %-6s %12s %10s %6s %6s %8s %9s  %s\n", "source", "driver", "bytes",
              "fragments", "bad", "junk", "busy_ms", "silent_ms", "state");
        for (size_t i = 0; i < s->n_sources; i++) {
                const struct control_source_status *x = &s->sources[i];
                s_put(&o, "%-16s %-6s %12" PRIu64 " %10" PRIu64 " %6" PRIu64 " %6" PRIu64
                      " %8" PRIu64 " %9" PRIu64 "  %s%s%s%s%s\n", x->name, x->driver, x->c.bytes,
                      x->c.fragments, x->c.bad, x->c.junk, x->c.busy_ms, x->silent_ms,
                      x->ended ? "ended" : x->c.running ? "running" : "idle",
                      x->stalled ? ", STALLED" : x->silent ? ", SILENT" : "",
                      x->c.health.unplugs && !x->c.health.attached ? ", UNPLUGGED" : "",
                      x->error[0] ? ", error: " : "", x->error);
        }
        if (s->builder) {
                const struct builder_counters *b = s->builder;
                s_put(&o, "\nevents   %" PRIu64 " (%" PRIu64 " complete, %" PRIu64 " incomplete, %"
                      PRIu64 " duplicate, %" PRIu64 " corrupt, %" PRIu64 " time_mismatch), %.1f/s;"
                      " open %zu\nrecords  %" PRIu64 " (late %" PRIu64 ", junk %" PRIu64
                      ", corrupt %" PRIu64 ")\n", b->events, b->complete, b->incomplete,
                      b->duplicate, b->corrupt_events, b->time_mismatch, s->event_rate_hz,
                      s->open_events, s->records, b->late, b->junk, b->corrupt);
        }
        s_put(&o, "\n%-20s %10s %10s\n", "tag", "events", "rate/s");
        for (unsigned t = 0; t < TAG_COUNT_; t++)
                s_put(&o, "%-20s %10" PRIu64 " %10.2f\n", tag_name((enum tag_id)t),
                      s->tag_counts ? s->tag_counts[t] : 0, s->tag_rate_hz[t]);
        if (s->pub)
                s_put(&o, "\nstorage  %" PRIu64 " of %" PRIu64 " bytes held (%" PRIu64
                      " records), %" PRIu64 " sent, %" PRIu64 " acked, %" PRIu64 " refused by "
                      "the store, %" PRIu64 " forged messages%s; %" PRIu64 " records from the "
                      "spool held\nmonitor  %" PRIu64
                      " sent, %" PRIu64 " dropped\n", s->pub->held_bytes, s->storage_buffer_bytes,
                      s->pub->held_records, s->pub->sent, s->pub->acked,
                      s->pub->refused_records, s->pub->forged,
                      s->pub->store_full ? ", store FULL" : "", s->pub->spool_held,
                      s->pub->monitor_sent,
                      s->pub->monitor_dropped);
        if (s->pub && s->storage_gone)
                s_put(&o, "STORAGE  GONE: records held for %.1f s with no store taking them\n",
                      (double)s->storage_gone_ms / 1000.0);
        s_put(&o, "auth     %s, %" PRIu64 " connection%s refused\n",
              s->auth_keys ? "CURVE keys configured" : "no keys (local endpoints only)",
              s->auth_refusals, s->auth_refusals == 1 ? "" : "s");
        for (size_t i = 0; i < s->n_links; i++) {
                const struct linkwatch_counters *k = &s->links[i];
                s_put(&o, "link     %-8s %" PRIu32 " connected%s%s%s, %" PRIu64 " lost, %" PRIu64
                      " refused (key) + %" PRIu64 " (handshake)%s%s\n", s->link_names[i],
                      k->connected, k->peer[0] ? ", last peer " : "", k->peer,
                      k->gone ? ", GONE" : "", k->disconnects, k->refused_auth,
                      k->refused_protocol, k->last_refused[0] ? ", last refused " : "",
                      k->last_refused);
        }
        for (size_t i = 0; i < s->n_oos; i++)
                s_put(&o, "out of step: source %u, offset %+" PRId32 " from trigger %" PRIu32 "\n",
                      s->oos[i].source, s->oos[i].offset, s->oos[i].first_trigger);
        return o.used;
}
