/* The login1 client of pam_sessiond.so, its own D-Bus client (wire.c):
 * one connection to the system bus per PAM call, used for one method
 * call and closed, every wait bounded by the caller's deadline. */
#ifndef PAM_SESSIOND_BUS_H
#define PAM_SESSIOND_BUS_H

#include <stdint.h>
#include <time.h>

#include "logic.h"

/* How a call failed, for the failure policy. */
enum pamsd_err_kind {
	PAMSD_ERR_OTHER,
	/* No bus, or nobody owns org.freedesktop.login1: the expected state
	 * on a machine without sessiond (a warning, not an error). */
	PAMSD_ERR_UNREACHABLE,
	/* The caller already is in a session (su, sudo inside a login). */
	PAMSD_ERR_BUSY,
	/* ReleaseSession of a session that has already ended. */
	PAMSD_ERR_NO_SUCH_SESSION,
};

struct pamsd_err {
	enum pamsd_err_kind kind;
	/* The connection itself failed (before any reply): the message is
	 * about the bus, not the method. */
	int dial;
	char msg[1024];
};

/* CreateSession's answer (signature soshusub). The strings are owned by
 * the reply (pamsd_reply_free). */
struct pamsd_reply {
	char *id, *object_path, *runtime_path, *seat;
	int fifo; /* received descriptor, owned by the caller; -1 if none */
	uint32_t uid, vtnr;
	int existing;
};

struct pamsd_bus;

/* pamsd_bus_open connects to the first unix: entry of address; NULL on
 * failure (err set). The connection authenticates during the first
 * call, whose write carries the authentication, Hello and the call. */
PAMSD_HIDDEN struct pamsd_bus *pamsd_bus_open(const char *address, const struct timespec *deadline,
					       struct pamsd_err *err);
PAMSD_HIDDEN void pamsd_bus_close(struct pamsd_bus *b);

/* pamsd_bus_create_session calls login1's CreateSession; 0 on success
 * (rep filled), -1 with err set. */
PAMSD_HIDDEN int pamsd_bus_create_session(struct pamsd_bus *b, const struct pamsd_request *r,
					  struct pamsd_reply *rep, struct pamsd_err *err);
/* pamsd_bus_release_session calls login1's ReleaseSession. */
PAMSD_HIDDEN int pamsd_bus_release_session(struct pamsd_bus *b, const char *id, struct pamsd_err *err);

PAMSD_HIDDEN void pamsd_reply_free(struct pamsd_reply *rep);

/* pamsd_errorf sets err's message; pamsd_err_prefix puts "prefix: " in
 * front of it. */
PAMSD_HIDDEN void pamsd_errorf(struct pamsd_err *err, enum pamsd_err_kind kind, const char *fmt, ...)
	PAMSD_PRINTF(3, 4);
PAMSD_HIDDEN void pamsd_err_prefix(struct pamsd_err *err, const char *fmt, ...) PAMSD_PRINTF(2, 3);

/* pamsd_ms_left is the time to deadline in milliseconds, at least 1. */
PAMSD_HIDDEN int pamsd_ms_left(const struct timespec *deadline);

#endif
