/* SPDX-License-Identifier: Apache-2.0 */
/* notify: the service manager's notification protocol (sd_notify(3)) for
 * Type=notify units: READY=1, STATUS=..., WATCHDOG=1, STOPPING=1, and the
 * watchdog interval from WATCHDOG_USEC / WATCHDOG_PID.  Implemented here
 * (one datagram to the AF_UNIX socket named by NOTIFY_SOCKET, a path or an
 * abstract name starting '@'), not by linking libsystemd: the protocol is
 * small and documented as stable, and every darkdaq program links the same
 * libraries, so libsystemd would become a dependency of all of them.
 *
 * Without NOTIFY_SOCKET (not started by systemd) every call does nothing and
 * returns 0.  Calls are thread-safe (each opens, sends and closes its own
 * socket) and never block for long (the datagram is sent MSG_DONTWAIT). */
#ifndef DARKDAQ_NOTIFY_H
#define DARKDAQ_NOTIFY_H

#include <stdint.h>

/* Sends state, one or more "KEY=VALUE" lines, as one datagram.  Returns 1
 * when sent, 0 without NOTIFY_SOCKET, -errno on failure (the caller logs it
 * once and carries on: a lost notification is not fatal to the readout). */
int notify_send(const char *state);

/* "READY=1": start-up is finished, the sockets are bound. */
int notify_ready(void);
/* "STATUS=<text>" shown by systemctl status (one line; newlines become
 * spaces). */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "WATCHDOG=1": the main loop is alive.  Send it every
 * notify_watchdog_usec() / 2 from the loop itself. */
int notify_watchdog(void);
/* "STOPPING=1": shutting down (on SIGTERM, before the drain). */
int notify_stopping(void);

/* The watchdog interval in microseconds from WATCHDOG_USEC, or 0 when the
 * watchdog is off: unset, not a positive number, or WATCHDOG_PID is set to
 * another process's pid. */
uint64_t notify_watchdog_usec(void);

#endif
