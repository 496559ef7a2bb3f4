/* SPDX-License-Identifier: Apache-2.0 */
/* tty: each frame is built in memory and written with one write(): cursor
 * home, every line followed by erase-to-end-of-line, erase below at the
 * end.  Nothing is cleared first, so the screen does not flicker.  Lines
 * are cut at the terminal's width, counting only visible characters. */
#include "tty.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "sbuf.h"

#define A_ALARM "\033[1;37;41m"
#define A_HEAD  "\033[7m"
#define A_BOLD  "\033[1m"
#define A_DIM   "\033[2m"
#define A_GOOD  "\033[1;32m"
#define A_WARN  "\033[1;33m"
#define A_OFF   "\033[0m"

static struct termios s_saved;
static bool s_open;

static void s_write_all(const char *s, size_t n)
{
        while (n) {
                ssize_t w = write(STDOUT_FILENO, s, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return;
                s += w;
                n -= (size_t)w;
        }
}

static int s_enter(void)
{
        struct termios raw = s_saved;

        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
                return -errno;
        static const char on[] = "\033[?1049h\033[?25l\033[H\033[2J";
        s_write_all(on, sizeof on - 1);
        return 0;
}

int tty_open(void)
{
        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
                return -ENOTTY;
        if (tcgetattr(STDIN_FILENO, &s_saved) < 0)
                return -errno;
        int r = s_enter();
        if (r == 0)
                s_open = true;
        return r;
}

void tty_close(void)
{
        static const char off[] = "\033[0m\033[?25h\033[?1049l";

        if (!s_open)
                return;
        s_write_all(off, sizeof off - 1);
        tcsetattr(STDIN_FILENO, TCSANOW, &s_saved);
        s_open = false;
}

void tty_suspend(void)
{
        if (!s_open)
                return;
        tty_close();
        raise(SIGSTOP);
        if (tcgetattr(STDIN_FILENO, &s_saved) == 0 && s_enter() == 0)
                s_open = true;
}

int tty_key(void)
{
        unsigned char ch;

        if (!s_open)
                return -1;
        return read(STDIN_FILENO, &ch, 1) == 1 ? ch : -1;
}

/* ---- the screen ---- */

struct scr {
        sbuf_t out;
        int w, h;                       /* terminal size */
        int row, col;                   /* where the next character goes */
        bool full;                      /* the last line is written */
};

__attribute__((format(printf, 3, 4)))
static void s_text(struct scr *s, const char *attr, const char *fmt, ...)
{
        char buf[1024];
        va_list ap;

        if (s->full)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        int room = s->w - s->col, n = (int)strlen(buf);
        if (n > room)
                n = room;
        if (n <= 0)
                return;
        if (attr)
                sbuf_printf(&s->out, "%s", attr);
        sbuf_add(&s->out, buf, (size_t)n);
        if (attr)
                sbuf_printf(&s->out, A_OFF);
        s->col += n;
}

static void s_nl(struct scr *s)
{
        if (s->full)
                return;
        sbuf_printf(&s->out, "\033[K");
        if (s->row + 1 >= s->h) {
                s->full = true;
                return;
        }
        sbuf_printf(&s->out, "\r\n");
        s->row++;
        s->col = 0;
}

static void s_pad_to(struct scr *s, int col)
{
        if (col > s->col)
                s_text(s, NULL, "%*s", col - s->col, "");
}

static uint64_t s_u(const json_t *j, const char *path)
{
        return json_u64(json_path(j, path), 0);
}

/* "name N" with N highlighted when it should be zero and is not. */
static void s_counter(struct scr *s, const char *name, uint64_t v, bool zero_wanted)
{
        s_text(s, NULL, "%s ", name);
        if (zero_wanted && v)
                s_text(s, A_ALARM, "%" PRIu64, v);
        else
                s_text(s, NULL, "%" PRIu64, v);
        s_text(s, NULL, "  ");
}

static void s_header(struct scr *s, const model_t *m)
{
        char clock[16];
        time_t t = time(NULL);
        struct tm tm;

        localtime_r(&t, &tm);
        strftime(clock, sizeof clock, "%H:%M:%S", &tm);
        char line[1024];
        snprintf(line, sizeof line, " darkdaq-mon %s   control %.256s   monitor %.256s%s%.128s", DARKDAQ_VERSION,
                 m->control_ep, m->monitor_ep, m->web_url[0] ? "   web " : "", m->web_url);
        int pad = s->w - (int)strlen(line) - (int)strlen(clock) - 1;
        if (pad >= 1)
                s_text(s, A_HEAD, "%s%*s%s ", line, pad, "", clock);
        else
                s_text(s, A_HEAD, "%-*s", s->w, line);
        s_nl(s);
}

static void s_run_line(struct scr *s, const model_t *m, int64_t now_ms)
{
        const json_t *st = m->status;
        char msg[400];

        model_unreachable_text(m, now_ms, msg, sizeof msg);
        if (msg[0]) {
                s_text(s, A_ALARM, " %s ", msg);
                s_nl(s);
                if (!st) {
                        s_text(s, A_DIM, "   waiting for darkdaqd to answer `status`...");
                        s_nl(s);
                        return;
                }
                s_text(s, A_DIM, "   last known state below");
                s_nl(s);
        }
        if (!st)
                return;
        const char *state = json_string(json_get(st, "state"), "?");
        bool running = !strcmp(state, "running");
        bool busy = json_bool(json_get(st, "busy"), false);
        s_text(s, A_BOLD, "RUN %" PRIu64 "  ", s_u(st, "run"));
        s_text(s, !strcmp(state, "error") ? A_ALARM : running ? A_GOOD : A_WARN, "%s", state);
        s_text(s, NULL, "  %.1f s   events %" PRIu64 "  %.1f/s   records %" PRIu64 "   BUSY ",
               json_number(json_get(st, "run_seconds"), 0), s_u(st, "builder.events"),
               json_number(json_path(st, "builder.event_rate_hz"), 0), s_u(st, "records"));
        s_text(s, busy ? A_WARN : NULL, "%s", busy ? "ASSERTED" : "clear");
        s_nl(s);
        const char *err = json_string(json_get(st, "error"), "");
        if (err[0]) {
                s_text(s, A_ALARM, " error: %s ", err);
                s_nl(s);
        }
}

static void s_sources(struct scr *s, const model_t *m)
{
        const json_t *srcs = json_get(m->status, "sources");
        size_t i = 0;

        s_text(s, A_BOLD, "%-14s %-6s %9s %7s %12s %6s %6s %8s  %s", "source", "driver", "frag/s",
               "MB/s", "fragments", "bad", "junk", "busy_ms", "state");
        s_nl(s);
        if (!srcs || !srcs->n) {
                s_text(s, A_DIM, "(no sources open: configure first)");
                s_nl(s);
        }
        for (const json_t *x = srcs ? srcs->child : NULL; x; x = x->next, i++) {
                const struct model_source_rate *r = i < m->n_rates ? &m->rates[i] : NULL;
                uint64_t bad = s_u(x, "bad"), junk = s_u(x, "junk");
                const char *err = json_string(json_get(x, "error"), "");
                s_text(s, NULL, "%-14.14s %-6.6s %9.1f %7.2f %12" PRIu64 " ",
                       json_string(json_get(x, "name"), "?"), json_string(json_get(x, "driver"), ""),
                       r ? r->frag_hz : 0, r ? r->bytes_hz / 1e6 : 0, s_u(x, "fragments"));
                s_text(s, bad ? A_ALARM : NULL, "%6" PRIu64, bad);
                s_text(s, NULL, " ");
                s_text(s, junk ? A_ALARM : NULL, "%6" PRIu64, junk);
                s_text(s, NULL, " %8" PRIu64 "  ", s_u(x, "busy_ms"));
                bool ended = json_bool(json_get(x, "ended"), false);
                bool srun = json_bool(json_get(x, "running"), false);
                s_text(s, NULL, "%s", ended ? "ended" : srun ? "running" : "idle");
                if (json_bool(json_get(x, "silent"), false))
                        s_text(s, A_WARN, " SILENT");
                if (json_bool(json_get(x, "busy"), false))
                        s_text(s, A_WARN, " BUSY");
                if (err[0])
                        s_text(s, A_ALARM, " error: %s", err);
                s_nl(s);
        }
}

static void s_builder(struct scr *s, const model_t *m)
{
        const json_t *st = m->status;
        const json_t *oos = json_get(st, "out_of_step");

        s_text(s, A_BOLD, "builder  ");
        s_counter(s, "events", s_u(st, "builder.events"), false);
        s_counter(s, "complete", s_u(st, "builder.complete"), false);
        s_counter(s, "incomplete", s_u(st, "builder.incomplete"), false);
        s_counter(s, "duplicate", s_u(st, "builder.duplicate"), false);
        s_counter(s, "open", s_u(st, "builder.open_events"), false);
        s_nl(s);
        s_text(s, NULL, "         ");
        s_counter(s, "late", s_u(st, "builder.late"), true);
        s_counter(s, "corrupt", s_u(st, "builder.corrupt"), true);
        s_counter(s, "corrupt_events", s_u(st, "builder.corrupt_events"), true);
        s_counter(s, "junk", s_u(st, "builder.junk"), true);
        s_counter(s, "time_mismatch", s_u(st, "builder.time_mismatch"), true);
        s_counter(s, "truncated", s_u(st, "builder.truncated"), true);
        s_counter(s, "out_of_step", oos ? oos->n : 0, true);
        s_nl(s);
        s_text(s, A_BOLD, "monitor  ");
        s_counter(s, "sent", s_u(st, "monitor.sent"), false);
        s_counter(s, "dropped", s_u(st, "monitor.dropped"), true);
        s_text(s, A_BOLD, " storage  ");
        s_counter(s, "held", s_u(st, "storage.held_records"), false);
        s_counter(s, "acked", s_u(st, "storage.acked"), false);
        if (json_bool(json_path(st, "storage.store_full"), false))
                s_text(s, A_WARN, "STORE FULL");
        if (json_bool(json_path(st, "storage.gone"), false))
                s_text(s, A_WARN, "STORAGE GONE %.1f s",
                       (double)s_u(st, "storage.gone_ms") / 1000.0);
        s_nl(s);
}

static void s_tags(struct scr *s, const model_t *m)
{
        const json_t *tags = json_get(m->status, "tags");
        int per = s->w / 44 > 0 ? s->w / 44 : 1, k = 0;

        for (int c = 0; c < per; c++) {
                s_pad_to(s, c * 44);
                s_text(s, A_BOLD, "%-18s %12s %10s", "tag", "events", "rate/s");
        }
        s_nl(s);
        for (const json_t *t = tags ? tags->child : NULL; t; t = t->next, k++) {
                s_pad_to(s, (k % per) * 44);
                s_text(s, NULL, "%-18.18s %12" PRIu64 " %10.2f", t->key, s_u(t, "count"),
                       json_number(json_get(t, "rate_hz"), 0));
                if (k % per == per - 1)
                        s_nl(s);
        }
        if (k % per)
                s_nl(s);
}

static void s_alarms(struct scr *s, const model_t *m)
{
        s_text(s, A_BOLD, "alarms   ");
        if (!m->n_alarms)
                s_text(s, A_GOOD, "none");
        for (size_t i = 0; i < m->n_alarms; i++) {
                const struct model_alarm *a = &m->alarms[i];
                if (a->delta)
                        s_text(s, A_ALARM, "ALARM %s %" PRIu64 " (+%" PRIu64 ")", a->name,
                               a->value, a->delta);
                else
                        s_text(s, A_ALARM, "ALARM %s %" PRIu64, a->name, a->value);
                s_text(s, NULL, " ");
        }
        s_nl(s);
}

/* Line `line` (0 title, 1..hh bars, hh+1 axis) of one histogram box. */
static void s_hist_line(struct scr *s, const histogram_t *h, int line, int hh, int bw)
{
        uint64_t cols[256], max = 0;
        int start = s->col;
        size_t ncols = histogram_rebin(h, (size_t)(bw - 9 > 1 ? bw - 9 : 1) < 256 ?
                                       (size_t)(bw - 9 > 1 ? bw - 9 : 1) : 256, cols, NULL);

        for (size_t c = 0; c < ncols; c++)
                if (cols[c] > max)
                        max = cols[c];
        if (line == 0) {
                s_text(s, A_BOLD, "%.*s", bw, histogram_title(h));
                s_text(s, NULL, "  n=%" PRIu64, histogram_entries(h));
                if (histogram_underflow(h) + histogram_overflow(h))
                        s_text(s, A_DIM, " +%" PRIu64 " outside",
                               histogram_underflow(h) + histogram_overflow(h));
        } else if (line <= hh) {
                int level = hh - line + 1;
                if (line == 1)
                        s_text(s, NULL, "%7" PRIu64 " |", max);
                else
                        s_text(s, NULL, "%7s |", "");
                for (size_t c = 0; c < ncols; c++) {
                        uint64_t v = cols[c];
                        int fill = v ? (int)ceil((double)v * hh / (double)max) : 0;
                        s_text(s, NULL, "%c", fill >= level ? '#' : ' ');
                }
        } else {
                char lo[24], hi[40];
                snprintf(lo, sizeof lo, "%g", histogram_edge(h, 0));
                snprintf(hi, sizeof hi, "%g %s", histogram_edge(h, histogram_nbins(h)),
                         histogram_unit(h));
                int gap = (int)ncols - (int)strlen(lo) - (int)strlen(hi);
                s_text(s, NULL, "%7s +%s%*s%s", "", lo, gap > 1 ? gap : 1, "", hi);
        }
        if (s->col > start + bw)
                return;
        s_pad_to(s, start + bw);
}

static void s_histograms(struct scr *s, const model_t *m)
{
        double frac = model_sampled_fraction(m);
        char fr[32];

        if (isnan(frac))
                snprintf(fr, sizeof fr, "-");
        else
                snprintf(fr, sizeof fr, "%.1f%%", 100 * frac);
        s_text(s, A_BOLD, "histograms");
        s_text(s, NULL, " of run %" PRIu32 " from the monitor stream: %" PRIu64 " of %" PRIu64
               " events seen, sampled ", m->hist_run, m->seen_at_status, model_events_counted(m));
        s_text(s, isnan(frac) || frac >= 0.999 ? A_BOLD : A_WARN, "%s", fr);
        s_nl(s);

        int per = s->w >= 170 ? 4 : s->w >= 70 ? 2 : 1;
        int grid_rows = (MODEL_H_COUNT + per - 1) / per;
        int avail = s->h - s->row - 2;          /* keep the footer */
        int hh = avail / grid_rows - 3;
        int bw = (s->w - (per - 1) * 3) / per;
        if (hh > 12)
                hh = 12;
        if (hh < 2) {
                s_text(s, A_DIM, "(a taller terminal shows the histograms)");
                s_nl(s);
                return;
        }
        for (int gr = 0; gr < grid_rows; gr++) {
                for (int line = 0; line < hh + 2; line++) {
                        for (int c = 0; c < per; c++) {
                                int i = gr * per + c;
                                if (i >= MODEL_H_COUNT)
                                        break;
                                s_pad_to(s, c * (bw + 3));
                                s_hist_line(s, m->h[i], line, hh, bw);
                        }
                        s_nl(s);
                }
                s_nl(s);
        }
}

void tty_draw(model_t *m, int64_t now_ms)
{
        struct winsize ws;
        struct scr s = { .w = 80, .h = 24 };

        if (!s_open)
                return;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
                s.w = ws.ws_col;
                s.h = ws.ws_row;
        }
        sbuf_printf(&s.out, "\033[H");
        model_lock(m);
        s_header(&s, m);
        s_run_line(&s, m, now_ms);
        if (m->status) {
                s_sources(&s, m);
                s_builder(&s, m);
                s_tags(&s, m);
                s_alarms(&s, m);
        }
        s_histograms(&s, m);
        /* the footer on the last line */
        while (!s.full && s.row < s.h - 1)
                s_nl(&s);
        s_text(&s, A_DIM, "q quit  r reset histograms  e export");
        if (m->message[0])
                s_text(&s, NULL, "   %s", m->message);
        model_unlock(m);
        sbuf_printf(&s.out, "\033[K\033[J");
        s_write_all(sbuf_text(&s.out), s.out.len);
        sbuf_free(&s.out);
}
