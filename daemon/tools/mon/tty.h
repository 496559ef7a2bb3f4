/* SPDX-License-Identifier: Apache-2.0 */
/* tty: the full-screen terminal view, drawn with plain ANSI/VT100 escape
 * sequences (no curses, so no terminfo needed over ssh): the alternate
 * screen, cursor home, erase to end of line, reverse and colour for
 * highlights.  Owns the terminal's mode: raw input (no echo, no line
 * buffering, signals kept so ^C is SIGINT) while open, restored on close. */
#ifndef DARKDAQ_MON_TTY_H
#define DARKDAQ_MON_TTY_H

#include <stdint.h>

#include "model.h"

/* Takes over the terminal on stdin/stdout.  Returns 0, or -ENOTTY when
 * either is not a terminal, or -errno. */
int tty_open(void);
/* Gives the terminal back as it was (mode, main screen, cursor).  Safe to
 * call twice and when tty_open() failed. */
void tty_close(void);
/* For ^Z: gives the terminal back, stops the process, takes it over again
 * when continued. */
void tty_suspend(void);
/* The next key typed, or -1 when none is waiting. */
int tty_key(void);
/* Draws the whole screen from the model (locks it). */
void tty_draw(model_t *m, int64_t now_ms);

#endif
