/* SPDX-License-Identifier: Apache-2.0 */
/* auth: who may connect to darkdaq's ZeroMQ sockets.  Local endpoints
 * (ipc://, inproc://, tcp:// on loopback) stay open as before; any other
 * endpoint gets CURVE encryption and a ZAP handler (RFC 27) that lets in only
 * the client public keys listed in the configuration.  It owns the key
 * material and the ZAP thread; it never opens the sockets it protects.
 *
 * Key files (text; '#' starts a comment; blank lines ignored).  A key is a
 * Z85 string of 40 characters, written either as a line
 *     public-key = "Z85..."        or        secret-key = "Z85..."
 * (quotes optional, any indentation: CZMQ's zcert files read as they are)
 * or, in a list of allowed clients only, as a bare 40-character line.
 *   - a secret key file holds secret-key (and may hold its public-key, which
 *     must then match); keep it mode 0600.  darkdaq-keygen NAME writes
 *     NAME.key (both keys, 0600) and NAME.pub (public key only, 0644).
 *   - allowed_clients names a file listing public keys (every public-key
 *     line and every bare key line counts; secret-key lines are refused) or
 *     a directory whose regular files not starting with '.' are each read
 *     that way (so the clients' NAME.pub files can be copied in).
 *
 * The ZAP handler runs in its own thread, bound to inproc://zeromq.zap.01 of
 * the context given to auth_new() (one auth_t per context).  It answers:
 *   domain "darkdaq[-ROLE]", mechanism CURVE, key listed
 *   for the role (allowed_clients: every role)            -> 200 (accepted)
 *   empty domain, mechanism NULL (a local socket)        -> 200
 *   anything else                                        -> 400, counted in
 *   auth_refusals() and logged "NAME: auth: refused ... from ADDRESS key KEY"
 *   (at most AUTH_LOG_PER_WINDOW lines per AUTH_LOG_WINDOW_MS; the next line
 *   after a quiet spell says how many were not logged). */
#ifndef DARKDAQ_AUTH_H
#define DARKDAQ_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_KEY_Z85_LEN        40      /* characters of a Z85 CURVE key */
#define AUTH_ZAP_DOMAIN         "darkdaq"
#define AUTH_LOG_WINDOW_MS      10000
#define AUTH_LOG_PER_WINDOW     10

typedef struct auth auth_t;

/* The User-Id (ZMQ message property) of a request on a control socket that
 * came from a key allowed on the monitor socket only: it may ask for status,
 * nothing else.  Other CURVE requests carry their client key (Z85). */
#define AUTH_STATUS_ONLY        "status-only:"

/* The kinds of socket a client key may be allowed on: each has a ZAP domain
 * of its own ("darkdaq-control", ...), so that a monitor's key cannot stop
 * the run or pose as a store.  AUTH_ROLE_ANY ("darkdaq") takes only the keys
 * of allowed_clients, which are allowed on every socket. */
enum auth_role {
        AUTH_ROLE_ANY,
        AUTH_ROLE_CONTROL,              /* run control (REP) */
        AUTH_ROLE_STORAGE,              /* the storage channel */
        AUTH_ROLE_MONITOR,              /* the monitor stream (XPUB) */
        AUTH_ROLES
};

/* The serving side's settings (the daemon's control and storage sockets,
 * the store's sockets that bind). */
struct auth_config {
        const char *server_key_file;    /* secret key file; NULL: none */
        const char *allowed_clients;    /* file or directory of client public keys, allowed on
                                         * every socket; NULL: none */
        const char *control_clients;    /* the same, allowed on control sockets only */
        const char *storage_clients;    /* ... on storage sockets only */
        const char *monitor_clients;    /* ... on the monitor socket only */
        bool require_curve;             /* CURVE on local endpoints too (tests, paranoia) */
        const char *log_name;           /* prefix of log lines; NULL: "darkdaq" */
};

/* The connecting side's settings (darkdaq-ctl, darkdaq-store, darkdaq-mon). */
struct auth_client_config {
        const char *client_key_file;    /* this client's secret key file; NULL: none */
        const char *server_public_file; /* the server's public key file; NULL: none */
        bool require_curve;             /* CURVE on local endpoints too */
};

/* True for ipc:// and inproc:// endpoints and for tcp:// whose host is
 * loopback (127.0.0.0/8, localhost, ::1, ::ffff:127.x.y.z, interface "lo";
 * with a "source;destination" pair both must be).  Anything else, including
 * tcp://0.0.0.0, tcp://(star), an interface name or other transports: false. */
bool auth_endpoint_is_local(const char *endpoint);

/* True for a local endpoint that every local user reaches when it is served
 * without CURVE: tcp:// on loopback (auth_endpoint_is_local) and an abstract
 * ipc://@NAME, which no file mode guards.  An ipc:// path in a directory of
 * the service's group, and inproc://, are not: false for those and for every
 * non-local endpoint. */
bool auth_endpoint_is_open_local(const char *endpoint);

/* After zmq_bind of an ipc:// path: makes the socket file mode 0770, so that
 * the service's group reaches it whatever the umask (ZeroMQ creates it with
 * the process umask, 0750 under the units' UMask=0027).  Nothing for any
 * other endpoint.  Returns 0 or -errno of chmod(). */
int auth_chmod_ipc(const char *endpoint);

/* Reads the keys and, when a server key is given, starts the ZAP handler on
 * zmq_ctx.  With neither key file and require_curve off, the result serves
 * local endpoints only (auth_apply_server refuses the others).  A server key
 * without allowed clients, or the reverse, is an error.  Returns 0 and
 * *ret, or -errno with a message in err naming the file: -EINVAL for a
 * setting that cannot work or a key file's content, -ENOTSUP without CURVE
 * in libzmq, the file's -errno when it cannot be read, -ENOMEM. */
int auth_new(auth_t **ret, void *zmq_ctx, const struct auth_config *cfg, char *err, size_t errlen);

/* Stops the ZAP thread and closes its socket (before zmq_ctx_term of its
 * context).  Accepts NULL; returns NULL. */
auth_t *auth_free(auth_t *a);

/* Call on a socket that will bind (or otherwise serve) endpoint, before
 * zmq_bind.  Local endpoint and require_curve off: nothing, returns 0.
 * Otherwise sets ZMQ_CURVE_SERVER, ZMQ_CURVE_SECRETKEY and ZMQ_ZAP_DOMAIN
 * and returns 1; -EPERM (message in err) when no keys are configured, so a
 * non-local endpoint is never served in the clear; -errno from zmq_setsockopt. */
int auth_apply_server(auth_t *a, void *socket, const char *endpoint, char *err, size_t errlen);

/* The same for a socket of the given role: its ZAP domain lets in the keys
 * of allowed_clients and of the role's own list only. */
int auth_apply_server_role(auth_t *a, void *socket, const char *endpoint, enum auth_role role,
                           char *err, size_t errlen);

/* Call on a socket that will connect to endpoint, before zmq_connect.  Local
 * endpoint and require_curve off: nothing, returns 0.  Otherwise reads both
 * key files and sets ZMQ_CURVE_SERVERKEY, ZMQ_CURVE_PUBLICKEY and
 * ZMQ_CURVE_SECRETKEY, returns 1; -EPERM when a key file is not configured,
 * -errno / -EINVAL when one cannot be read (message in err). */
int auth_apply_client(void *socket, const char *endpoint, const struct auth_client_config *cfg,
                      char *err, size_t errlen);

/* ZAP requests refused so far (any thread). */
uint64_t auth_refusals(const auth_t *a);
/* Client keys listed (after auth_new). */
size_t auth_allowed_count(auth_t *a);

/* SIGHUP: reads the lists of allowed client keys of cfg again (files and
 * directories may have changed, or the keys naming them) and, if they all
 * read, puts them in force for every connection from now on (connections
 * already made stay).  server_key and require_curve are not reloaded; with
 * no CURVE in use nothing is.  Returns 1 with msg saying what changed, 0
 * (nothing changed), or -errno with msg naming the file and line (the keys
 * in force stay as they were). */
int auth_reload_clients(auth_t *a, const struct auth_config *cfg, char *msg, size_t msglen);

/* Makes a new CURVE key pair, Z85 (41 bytes with the NUL each).  Returns 0
 * or -errno (-ENOTSUP when libzmq was built without CURVE). */
int auth_keygen(char public_z85[AUTH_KEY_Z85_LEN + 1], char secret_z85[AUTH_KEY_Z85_LEN + 1]);

/* Writes path_secret (mode 0600: public-key and secret-key lines) and
 * path_public (mode 0644: the public-key line) in the format above, refusing
 * to overwrite either.  Returns 0 or -errno (message in err). */
int auth_write_key_files(const char *path_secret, const char *path_public,
                         const char *public_z85, const char *secret_z85,
                         char *err, size_t errlen);

/* Reads a key file: *ret_public / *ret_secret get the keys found (the public
 * key derived from the secret when only that is given); either pointer may
 * be NULL.  Returns 0, -EINVAL for bad content or a missing wanted key,
 * -errno when unreadable (message in err naming the file and line). */
int auth_read_key_file(const char *path, char ret_public[AUTH_KEY_Z85_LEN + 1],
                       char ret_secret[AUTH_KEY_Z85_LEN + 1], char *err, size_t errlen);

#endif
