/* pam_sessiond.so: the PAM session module that registers logins with
 * ginit's sessiond over login1's CreateSession, as pam_systemd and
 * pam_elogind do. open_session asks for a session, exports its variables
 * into the PAM environment and keeps the session's FIFO in the PAM
 * handle; close_session releases the session and closes the FIFO.
 * Failure policy: log and let the login proceed (unless strict). The
 * request's logic is logic.c, the bus client bus.c; this file is what
 * touches libpam and the system. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "bus.h"
#include "logic.h"

/* The key of the module's data in the PAM handle. */
#define PAMSD_DATA "pam_sessiond.session"
/* Used when DBUS_SYSTEM_BUS_ADDRESS is unset. */
#define DEFAULT_SYSTEM_BUS "unix:path=/run/dbus/system_bus_socket"
/* How long a login waits for sessiond (connecting plus one call) before
 * giving up and, unless strict, proceeding without a session. */
#define TIMEOUT_SEC 25
/* Where local X servers listen. */
#define X11_SOCKET_DIR "/tmp/.X11-unix"
/* The entry points libpam looks up: the only symbols the module exports
 * (it is built with -fvisibility=hidden and pam/exports.map). */
#define PAMSD_EXPORT __attribute__((visibility("default")))

/* One PAM call's state: the handle and the parsed options. */
struct call {
	pam_handle_t *pamh;
	struct pamsd_options opts;
};

static void logv(struct call *c, int prio, const char *fmt, va_list ap)
{
	pam_vsyslog(c->pamh, prio, fmt, ap);
}

static void logf_(struct call *c, int prio, const char *fmt, ...) PAMSD_PRINTF(3, 4);
static void logf_(struct call *c, int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	logv(c, prio, fmt, ap);
	va_end(ap);
}

static void debugf(struct call *c, const char *fmt, ...) PAMSD_PRINTF(2, 3);
static void debugf(struct call *c, const char *fmt, ...)
{
	if (!c->opts.debug)
		return;
	va_list ap;
	va_start(ap, fmt);
	logv(c, LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* fail applies the failure policy: log, then succeed unless strict. Not
 * reaching sessiond at all is a warning (a machine without it), any
 * other failure an error. */
static int fail(struct call *c, const struct pamsd_err *err, const char *consequence)
{
	int prio = err->kind == PAMSD_ERR_UNREACHABLE ? LOG_WARNING : LOG_ERR;
	if (c->opts.strict) {
		logf_(c, prio, "%s", err->msg);
		return PAM_SESSION_ERR;
	}
	logf_(c, prio, "%s; %s", err->msg, consequence);
	return PAM_SUCCESS;
}

#define NO_SESSION "continuing without a session"
#define IGNORED "ignored"

static void unknown_option(void *ctx, const char *arg)
{
	char q[256];
	logf_(ctx, LOG_WARNING, "ignoring unknown or malformed option %s", pamsd_quote(arg, q, sizeof q));
}

static void begin(struct call *c, pam_handle_t *pamh, int argc, const char **argv)
{
	c->pamh = pamh;
	pamsd_parse_options(argc, argv, &c->opts, unknown_option, c);
}

static void deadline_in(struct timespec *d, int sec)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += sec;
}

/* bus_address reads the environment through secure_getenv: in a set-uid
 * program it belongs to the invoking user, and the bus must not come from
 * there. */
static const char *bus_address(void)
{
	const char *a = secure_getenv("DBUS_SYSTEM_BUS_ADDRESS");
	return a != NULL && a[0] != '\0' ? a : DEFAULT_SYSTEM_BUS;
}

/* The data kept in the handle from open_session to close_session. */
struct kept {
	int fd; /* the session's reference FIFO, -1 if none */
	int existing;
	char id[];
};

/* Runs at pam_end, or when the data is replaced: the FIFO is closed
 * exactly once, whichever comes first (also in a child that forked after
 * open_session). */
static void kept_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	struct kept *k = data;
	(void)pamh;
	(void)error_status;
	if (k == NULL)
		return;
	if (k->fd >= 0)
		close(k->fd);
	free(k);
}

static int keep(pam_handle_t *pamh, const char *id, int fd, int existing)
{
	size_t n = strlen(id);
	struct kept *k = malloc(sizeof *k + n + 1);
	if (k == NULL)
		return PAM_BUF_ERR;
	k->fd = fd;
	k->existing = existing;
	memcpy(k->id, id, n + 1);
	int r = pam_set_data(pamh, PAMSD_DATA, k, kept_cleanup);
	if (r != PAM_SUCCESS) {
		k->fd = -1; /* the caller still owns fd on failure */
		free(k);
	}
	return r;
}

static const struct kept *kept(pam_handle_t *pamh)
{
	const void *p = NULL;
	if (pam_get_data(pamh, PAMSD_DATA, &p) != PAM_SUCCESS)
		return NULL;
	return p;
}

/* drop forgets the kept data; replacing it runs kept_cleanup. */
static void drop(pam_handle_t *pamh)
{
	pam_set_data(pamh, PAMSD_DATA, NULL, NULL);
}

static const char *env_lookup(void *ctx, const char *name)
{
	struct call *c = ctx;
	/* The PAM environment first, then the process's (read now: the
	 * application may have changed it). */
	const char *v = pam_getenv(c->pamh, name);
	if (v != NULL && v[0] != '\0')
		return v;
	return getenv(name);
}

static void request_note(void *ctx, const char *msg)
{
	debugf(ctx, "%s", msg);
}

/* display_vt finds the virtual console of a local X display the way
 * pam_systemd does: the X server is the peer of the display's socket,
 * and its controlling terminal, if it is a VT ttyN, gives N. 0 when any
 * step does not apply. */
static uint32_t display_vt(void *ctx, const char *display)
{
	struct call *c = ctx;
	char q[128];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (pamsd_x11_socket(X11_SOCKET_DIR, display, sa.sun_path, sizeof sa.sun_path) != 0) {
		debugf(c, "no VT for display %s: not local", pamsd_quote(display, q, sizeof q));
		return 0;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		debugf(c, "no VT for display %s: socket: %s", display, strerror(errno));
		return 0;
	}
	uint32_t vt = 0;
	int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	if (r != 0 && (errno == EINPROGRESS || errno == EAGAIN)) {
		/* A server with a full backlog: wait a second at most. */
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int e = 0;
		socklen_t el = sizeof e;
		if (poll(&p, 1, 1000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0)
			r = 0;
		else
			errno = e != 0 ? e : ETIMEDOUT;
	}
	if (r != 0) {
		debugf(c, "no VT for display %s: connect %s: %s", display, sa.sun_path, strerror(errno));
		goto out;
	}
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		debugf(c, "no VT for display %s: peer credentials: %s", display, strerror(errno));
		goto out;
	}
	char path[64], stat[4096];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)cred.pid);
	int sf = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = sf < 0 ? -1 : read(sf, stat, sizeof stat);
	if (sf >= 0)
		close(sf);
	if (n < 0) {
		debugf(c, "no VT for display %s: X server: %s: %s", display, path, strerror(errno));
		goto out;
	}
	const char *why = NULL;
	vt = pamsd_vt_of_stat(stat, (size_t)n, &why);
	if (vt == 0)
		debugf(c, "no VT for display %s: X server pid %d: %s", display, (int)cred.pid, why);
out:
	close(fd);
	return vt;
}

/* lookup_uid maps a user name to its uid through the user database
 * (NSS). */
static int lookup_uid(const char *name, uid_t *uid, struct pamsd_err *err)
{
	long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t size = sz > 0 ? (size_t)sz : 1024;
	for (;;) {
		char *buf = malloc(size);
		if (buf == NULL) {
			pamsd_errorf(err, PAMSD_ERR_OTHER, "out of memory");
			return -1;
		}
		struct passwd pw, *res = NULL;
		int e = getpwnam_r(name, &pw, buf, size, &res);
		if (e == ERANGE && size < (1u << 20)) {
			free(buf);
			size *= 2;
			continue;
		}
		if (res != NULL)
			*uid = pw.pw_uid;
		free(buf);
		if (res != NULL)
			return 0;
		if (e != 0)
			pamsd_errorf(err, PAMSD_ERR_OTHER, "getpwnam: %s", strerror(e));
		else
			pamsd_errorf(err, PAMSD_ERR_OTHER, "unknown user");
		return -1;
	}
}

/* valid_runtime_dir checks that path is an absolute directory owned by
 * uid (not a symlink), so that we never point a user at somebody else's
 * directory. */
static int valid_runtime_dir(const char *path, uid_t uid, char *why, size_t size)
{
	char q[256];
	struct stat st;
	if (path[0] != '/') {
		snprintf(why, size, "runtime path %s is not absolute", pamsd_quote(path, q, sizeof q));
		return 0;
	}
	if (lstat(path, &st) != 0) {
		snprintf(why, size, "lstat %s: %s", path, strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, size, "%s is not a directory", path);
		return 0;
	}
	if (st.st_uid != uid) {
		snprintf(why, size, "%s is owned by uid %u, not %u", path, (unsigned)st.st_uid, (unsigned)uid);
		return 0;
	}
	return 1;
}

/* wait_for_bus waits, at most the bus_wait option, until the session bus
 * in the runtime directory accepts connections, when the user has a
 * service manager there (its control socket, ginitctl) to bring the bus
 * up: the first command of the login can then use the bus. Without a
 * manager it does not wait; it never fails. */
static void wait_for_bus(struct call *c, const char *runtime)
{
	if (c->opts.bus_wait <= 0)
		return;
	char path[4096];
	struct stat st;
	snprintf(path, sizeof path, "%s/ginitctl", runtime);
	if (lstat(path, &st) != 0) {
		debugf(c, "no user manager in %s: not waiting for the session bus", runtime);
		return;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fits = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/bus", runtime) < (int)sizeof sa.sun_path;
	struct timespec deadline, now;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	long long ns = (long long)(c->opts.bus_wait * 1e9);
	deadline.tv_sec += ns / 1000000000;
	deadline.tv_nsec += ns % 1000000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	long pause_ms = 2;
	for (;;) {
		int e = ENAMETOOLONG;
		if (fits) {
			int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				logf_(c, LOG_WARNING, "wait for the session bus: socket: %s", strerror(errno));
				return;
			}
			int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
			e = errno;
			close(fd);
			if (r == 0)
				return;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec > deadline.tv_nsec)) {
			logf_(c, LOG_WARNING, "session bus %s/bus not ready after %gs (%s); continuing", runtime,
			      c->opts.bus_wait, strerror(e));
			return;
		}
		struct timespec p = {.tv_sec = 0, .tv_nsec = pause_ms * 1000000};
		nanosleep(&p, NULL);
		pause_ms = pause_ms * 2 > 50 ? 50 : pause_ms * 2;
	}
}

/* put_env sets name=value in the PAM environment unless value is empty
 * or already there. */
static int put_env(struct call *c, const char *name, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return PAM_SUCCESS;
	const char *old = pam_getenv(c->pamh, name);
	if (old != NULL && strcmp(old, value) == 0)
		return PAM_SUCCESS;
	size_t n = strlen(name), m = strlen(value);
	char *kv = malloc(n + m + 2);
	if (kv == NULL)
		return PAM_BUF_ERR;
	memcpy(kv, name, n);
	kv[n] = '=';
	memcpy(kv + n + 1, value, m + 1);
	int r = pam_putenv(c->pamh, kv);
	free(kv);
	return r;
}

/* apply keeps the FIFO and exports the session's variables. */
static int apply(struct call *c, uid_t uid, const struct pamsd_request *req, struct pamsd_reply *rep)
{
	struct pamsd_err err;
	int fd = -1;
	if (rep->fifo >= 0) {
		/* A descriptor above stdio, close-on-exec: the session shell must
		 * not inherit it, and an application that closed 0-2 must not
		 * get it as its stdin. */
		fd = fcntl(rep->fifo, F_DUPFD_CLOEXEC, 3);
		int e = errno;
		close(rep->fifo);
		if (fd < 0) {
			pamsd_errorf(&err, PAMSD_ERR_OTHER, "session %s: duplicate FIFO descriptor %d: %s", rep->id,
				     rep->fifo, strerror(e));
			rep->fifo = -1;
			return fail(c, &err, NO_SESSION);
		}
		rep->fifo = -1;
	}
	int r = keep(c->pamh, rep->id, fd, rep->existing);
	if (r != PAM_SUCCESS) {
		if (fd >= 0)
			close(fd);
		pamsd_errorf(&err, PAMSD_ERR_OTHER, "session %s: keep FIFO in the PAM handle: %s", rep->id,
			     pam_strerror(c->pamh, r));
		return fail(c, &err, NO_SESSION);
	}
	char qseat[128];
	debugf(c, "session %s (%s) created, runtime %s, seat %s, vtnr %u, existing %s", rep->id, rep->object_path,
	       rep->runtime_path, pamsd_quote(rep->seat, qseat, sizeof qseat), (unsigned)rep->vtnr,
	       rep->existing ? "true" : "false");

	char bus[8192] = "", vtnr[16] = "";
	const char *runtime = NULL;
	/* A runtime directory is only exported for the user it belongs to: a
	 * session that already existed may be another user's. */
	if (rep->uid == uid) {
		char why[512];
		if (valid_runtime_dir(rep->runtime_path, uid, why, sizeof why)) {
			wait_for_bus(c, rep->runtime_path);
			runtime = rep->runtime_path;
			char path[4096];
			struct stat st;
			int w = snprintf(path, sizeof path, "%s/bus", runtime);
			if (w > 0 && (size_t)w < sizeof path && lstat(path, &st) == 0) {
				memcpy(bus, "unix:path=", 10);
				if (pamsd_escape_bus_address(path, bus + 10, sizeof bus - 10) != 0)
					bus[0] = '\0';
			}
		} else {
			logf_(c, LOG_WARNING, "not setting XDG_RUNTIME_DIR: %s", why);
		}
	}
	if (rep->vtnr > 0)
		snprintf(vtnr, sizeof vtnr, "%u", (unsigned)rep->vtnr);
	const char *vars[][2] = {
		{"XDG_SESSION_ID", rep->id},
		{"XDG_RUNTIME_DIR", runtime},
		{"DBUS_SESSION_BUS_ADDRESS", bus},
		{"XDG_SESSION_TYPE", req->type},
		{"XDG_SESSION_CLASS", req->class_},
		{"XDG_SESSION_DESKTOP", req->desktop},
		{"XDG_SEAT", rep->seat},
		{"XDG_VTNR", vtnr},
	};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		r = put_env(c, vars[i][0], vars[i][1]);
		if (r != PAM_SUCCESS) {
			pamsd_errorf(&err, PAMSD_ERR_OTHER, "session %s: set %s in the PAM environment: %s", rep->id,
				     vars[i][0], pam_strerror(c->pamh, r));
			return fail(c, &err, "continuing");
		}
	}
	return PAM_SUCCESS;
}

static const char *get_item(pam_handle_t *pamh, int item, int *rc)
{
	const void *p = NULL;
	*rc = pam_get_item(pamh, item, &p);
	return *rc == PAM_SUCCESS ? p : NULL;
}

static int open_session(struct call *c)
{
	struct pamsd_err err;
	int rc;
	const char *user = get_item(c->pamh, PAM_USER, &rc);
	if (rc != PAM_SUCCESS) {
		pamsd_errorf(&err, PAMSD_ERR_OTHER, "open session: PAM_USER: pam_get_item(%d): %s", PAM_USER,
			     pam_strerror(c->pamh, rc));
		return fail(c, &err, NO_SESSION);
	}
	if (user == NULL || user[0] == '\0') {
		pamsd_errorf(&err, PAMSD_ERR_OTHER, "open session: PAM_USER is not set");
		return fail(c, &err, NO_SESSION);
	}
	char quser[256];
	uid_t uid;
	if (lookup_uid(user, &uid, &err) != 0) {
		pamsd_err_prefix(&err, "open session: look up user %s", pamsd_quote(user, quser, sizeof quser));
		return fail(c, &err, NO_SESSION);
	}
	struct pamsd_inputs in = {.uid = (uint32_t)uid, .pid = (uint32_t)getpid(), .opts = &c->opts,
				  .env = env_lookup, .display_vt = display_vt, .note = request_note, .ctx = c};
	static const int items[PAMSD_NITEMS] = {
		[PAMSD_ITEM_SERVICE] = PAM_SERVICE, [PAMSD_ITEM_TTY] = PAM_TTY, [PAMSD_ITEM_RUSER] = PAM_RUSER,
		[PAMSD_ITEM_RHOST] = PAM_RHOST, [PAMSD_ITEM_XDISPLAY] = PAM_XDISPLAY,
	};
	for (int i = 0; i < PAMSD_NITEMS; i++)
		in.items[i] = get_item(c->pamh, items[i], &rc);
	struct pamsd_request req;
	pamsd_build_request(&in, &req);
	if (c->opts.debug) {
		char q[9][256];
		debugf(c, "CreateSession uid=%u pid=%u service=%s type=%s class=%s desktop=%s seat=%s vtnr=%u tty=%s "
			  "display=%s remote=%s remote_user=%s remote_host=%s",
		       (unsigned)req.uid, (unsigned)req.pid, pamsd_quote(req.service, q[0], 256),
		       pamsd_quote(req.type, q[1], 256), pamsd_quote(req.class_, q[2], 256),
		       pamsd_quote(req.desktop, q[3], 256), pamsd_quote(req.seat, q[4], 256), (unsigned)req.vtnr,
		       pamsd_quote(req.tty, q[5], 256), pamsd_quote(req.display, q[6], 256),
		       req.remote ? "true" : "false", pamsd_quote(req.remote_user, q[7], 256),
		       pamsd_quote(req.remote_host, q[8], 256));
	}

	struct timespec deadline;
	deadline_in(&deadline, TIMEOUT_SEC);
	const char *addr = bus_address();
	struct pamsd_bus *b = pamsd_bus_open(addr, &deadline, &err);
	struct pamsd_reply rep = {.fifo = -1};
	int r = b == NULL ? -1 : pamsd_bus_create_session(b, &req, &rep, &err);
	/* The connection is not needed for the session's lifetime: only the
	 * FIFO is. */
	pamsd_bus_close(b);
	if (r != 0 && err.kind == PAMSD_ERR_BUSY) {
		debugf(c, "not creating a session: %s", err.msg);
		return PAM_SUCCESS;
	}
	if (r != 0) {
		if (err.dial)
			pamsd_err_prefix(&err, "open session for %s: system bus %s", user, addr);
		else
			pamsd_err_prefix(&err, "open session for %s: CreateSession", user);
		return fail(c, &err, NO_SESSION);
	}
	r = apply(c, uid, &req, &rep);
	pamsd_reply_free(&rep);
	return r;
}

static int close_session(struct call *c)
{
	const struct kept *k = kept(c->pamh);
	if (k == NULL) {
		debugf(c, "close session: no session was opened by this handle");
		return PAM_SUCCESS;
	}
	char qid[128];
	if (k->existing || k->id[0] == '\0') {
		debugf(c, "close session: session %s existed before, not releasing it", pamsd_quote(k->id, qid, sizeof qid));
		drop(c->pamh);
		return PAM_SUCCESS;
	}
	struct pamsd_err err;
	struct timespec deadline;
	deadline_in(&deadline, TIMEOUT_SEC);
	const char *addr = bus_address();
	struct pamsd_bus *b = pamsd_bus_open(addr, &deadline, &err);
	int r = b == NULL ? -1 : pamsd_bus_release_session(b, k->id, &err);
	pamsd_bus_close(b);
	int ret = PAM_SUCCESS;
	if (r != 0 && err.kind == PAMSD_ERR_NO_SUCH_SESSION) {
		/* Ended already, e.g. by loginctl terminate-session. */
		debugf(c, "close session %s: already gone", k->id);
	} else if (r != 0) {
		if (err.dial)
			pamsd_err_prefix(&err, "close session %s: system bus %s", k->id, addr);
		else
			pamsd_err_prefix(&err, "close session %s: ReleaseSession", k->id);
		ret = fail(c, &err, IGNORED);
	} else {
		debugf(c, "session %s released", k->id);
	}
	/* Release first, FIFO after: sessiond then sees an orderly end rather
	 * than an abandoned session. */
	drop(c->pamh);
	return ret;
}

PAMSD_EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct call c;
	(void)flags;
	begin(&c, pamh, argc, argv);
	return open_session(&c);
}

PAMSD_EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct call c;
	(void)flags;
	begin(&c, pamh, argc, argv);
	return close_session(&c);
}

/* A session module only: in the other stacks it neither grants nor
 * denies anything. */
PAMSD_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_IGNORE;
}

PAMSD_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_IGNORE;
}

PAMSD_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_IGNORE;
}

PAMSD_EXPORT int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh, (void)flags, (void)argc, (void)argv;
	return PAM_IGNORE;
}
