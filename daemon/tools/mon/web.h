/* SPDX-License-Identifier: Apache-2.0 */
/* web: darkdaq-mon's page over HTTP (libmicrohttpd, one internal thread):
 *   /                  one HTML page, inline CSS and JS, SVG histograms,
 *                      polling the two JSON bodies every 500 ms
 *   /status.json       the daemon's last status and the monitor's own numbers
 *   /histograms.json   the histograms (as --export-json writes them)
 *   /histograms.csv    the same as CSV (as --export-csv writes it)
 * Everything is served from here: no external scripts or fonts.  Reads the
 * model under its lock; never touches ZeroMQ. */
#ifndef DARKDAQ_MON_WEB_H
#define DARKDAQ_MON_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct web web_t;

/* Listens on addr_port ("HOST:PORT" or "[V6]:PORT"; port 0 picks one) and
 * serves m.  Returns 0 and *ret, or -errno with err naming the address. */
int web_new(web_t **ret, const char *addr_port, model_t *m, char *err, size_t errlen);
web_t *web_free(web_t *w);
/* The port listened on. */
uint16_t web_port(const web_t *w);

#endif
