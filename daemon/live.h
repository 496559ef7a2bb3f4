/* SPDX-License-Identifier: Apache-2.0 */
/* live: darkdaqd's live service, the core thread.  One zmq_poll loop over
 * the control REP socket, the store's ack PULL socket, the storage PUSH
 * socket (when records wait) and the source rings' wake fds; it takes items
 * from the rings into the builder, tags each event, encodes records, and
 * hands them to publish (storage and monitor); run control as control.h
 * decides.  SIGHUP reloads what it can (live_set_config_path).
 * SIGTERM/SIGINT end a run cleanly (trailer sent, its ACK awaited
 * within stop_timeout_ms) and then the loop.  GET /metrics (libmicrohttpd's
 * thread) renders a snapshot of the counters that this thread refreshes
 * under a mutex, at most SNAPSHOT_MS old and fresh after every command.  Logs one line per significant
 * event to stderr, rate-limited. */
#ifndef DARKDAQ_LIVE_H
#define DARKDAQ_LIVE_H

#include <stddef.h>

#include "config.h"

typedef struct live live_t;

/* Blocks SIGTERM and SIGINT (taken through a signalfd), starts auth (the
 * [auth] keys and the ZAP handler), binds the control, monitor, storage and
 * storage_ack sockets of cfg (control and storage through
 * auth_apply_server), then the /metrics endpoint if [daemon] metrics is set.
 * Last it reads the last run started from [daemon] state_dir (runstate.h),
 * so that start goes on from there; each start records its run number there
 * before the run header goes out.
 * cfg must outlive the live object.  Returns 0 and *ret, or -errno with err
 * naming the file or endpoint: -EPERM when [auth] cannot be used (a key
 * file, or a non-local endpoint without keys: a configuration error), other
 * values when an endpoint cannot be bound or state_dir cannot be used. */
int live_new(live_t **ret, const struct darkdaq_config *cfg, char *err, size_t errlen);

/* Tells the service manager READY=1 (notify.h), then serves until SIGTERM
 * or SIGINT, sending STATUS= on state changes, WATCHDOG=1 at half the
 * watchdog interval from this loop, and STOPPING=1 at the signal.  Returns the exit status: 0 (a run going
 * on was stopped cleanly and its trailer confirmed, or there was none), 1
 * (the store did not confirm the last trailer in time). */
int live_run(live_t *l);

/* The file cfg was loaded from (it must outlive l): SIGHUP then reads it
 * again and applies [prescale] and [daemon] silence_warn_ms at once, logs
 * every other change as needing a restart, and lists the reload in the
 * trailer of the run going on, which goes on.  Without it SIGHUP only logs. */
void live_set_config_path(live_t *l, const char *path);

/* Accepts NULL.  Returns NULL. */
live_t *live_free(live_t *l);

#endif
