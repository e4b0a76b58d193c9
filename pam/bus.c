/* The login1 client of pam_sessiond.so over libdbus-1 (see bus.h). */
#define _GNU_SOURCE
#include "bus.h"

#include <dbus/dbus.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOGIN1_NAME "org.freedesktop.login1"
#define LOGIN1_PATH "/org/freedesktop/login1"
#define LOGIN1_MANAGER "org.freedesktop.login1.Manager"

struct pamsd_bus {
	DBusConnection *conn;
	struct timespec deadline;
};

void pamsd_errorf(struct pamsd_err *err, enum pamsd_err_kind kind, const char *fmt, ...)
{
	va_list ap;
	err->kind = kind;
	err->dial = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

void pamsd_err_prefix(struct pamsd_err *err, const char *fmt, ...)
{
	char prefix[512], old[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	/* A message too long for the buffer is cut. */
	if (snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old) < 0)
		err->msg[0] = '\0';
}

int pamsd_ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 1)
		return 1;
	if (ms > 0x7fffffff)
		return 0x7fffffff;
	return (int)ms;
}

struct pamsd_bus *pamsd_bus_open(const char *address, const struct timespec *deadline, struct pamsd_err *err)
{
	DBusError de;
	dbus_error_init(&de);
	DBusConnection *c = dbus_connection_open_private(address, &de);
	if (c == NULL) {
		pamsd_errorf(err, PAMSD_ERR_UNREACHABLE, "login1 not reachable: connect: %s",
			     dbus_error_is_set(&de) ? de.message : "out of memory");
		err->dial = 1;
		dbus_error_free(&de);
		return NULL;
	}
	/* Never _exit the PAM application when the bus goes. */
	dbus_connection_set_exit_on_disconnect(c, FALSE);
	struct pamsd_bus *b = malloc(sizeof *b);
	if (b == NULL) {
		dbus_connection_close(c);
		dbus_connection_unref(c);
		pamsd_errorf(err, PAMSD_ERR_OTHER, "connect: out of memory");
		err->dial = 1;
		return NULL;
	}
	b->conn = c;
	b->deadline = *deadline;
	/* The bus wants Hello first. Its reply is not waited for: the first
	 * method call follows in the same write, which saves a round trip
	 * (the bus answers in order; the unread reply goes with the
	 * connection). */
	DBusMessage *hello = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS, "Hello");
	if (hello == NULL || !dbus_connection_send(c, hello, NULL)) {
		if (hello != NULL)
			dbus_message_unref(hello);
		pamsd_bus_close(b);
		pamsd_errorf(err, PAMSD_ERR_OTHER, "connect: out of memory");
		err->dial = 1;
		return NULL;
	}
	dbus_message_unref(hello);
	return b;
}

void pamsd_bus_close(struct pamsd_bus *b)
{
	if (b == NULL)
		return;
	/* A private connection is closed before its last reference goes. */
	dbus_connection_close(b->conn);
	dbus_connection_unref(b->conn);
	free(b);
}

/* call_error classifies a failed call and names the D-Bus error in the
 * message, as logind's clients print it. */
static void call_error(struct pamsd_bus *b, DBusError *de, struct pamsd_err *err)
{
	const char *name = de->name != NULL ? de->name : "", *text = de->message != NULL ? de->message : "";
	enum pamsd_err_kind kind = PAMSD_ERR_OTHER;
	if (!dbus_connection_get_is_authenticated(b->conn)) {
		/* The bus never accepted us (refused, gone, or hanging in the
		 * authentication): as a failed connect. */
		pamsd_errorf(err, PAMSD_ERR_UNREACHABLE, "login1 not reachable: connect: %s: %s", name, text);
		err->dial = 1;
		return;
	}
	if (strcmp(name, DBUS_ERROR_SERVICE_UNKNOWN) == 0 || strcmp(name, DBUS_ERROR_NAME_HAS_NO_OWNER) == 0 ||
	    /* A login1 activation file left by systemd whose program fails. */
	    strncmp(name, "org.freedesktop.DBus.Error.Spawn.", 33) == 0)
		kind = PAMSD_ERR_UNREACHABLE;
	else if (strcmp(name, "org.freedesktop.login1.SessionBusy") == 0)
		kind = PAMSD_ERR_BUSY;
	else if (strcmp(name, "org.freedesktop.login1.NoSuchSession") == 0)
		kind = PAMSD_ERR_NO_SUCH_SESSION;
	static const char *const prefixes[] = {
		[PAMSD_ERR_OTHER] = "",
		[PAMSD_ERR_UNREACHABLE] = "login1 not reachable: ",
		[PAMSD_ERR_BUSY] = "already in a session: ",
		[PAMSD_ERR_NO_SUCH_SESSION] = "no such session: ",
	};
	pamsd_errorf(err, kind, "%s%s: %s", prefixes[kind], name, text);
}

/* call sends m (consumed) and waits for the reply until the deadline;
 * NULL with err set on failure. */
static DBusMessage *call(struct pamsd_bus *b, DBusMessage *m, struct pamsd_err *err)
{
	DBusError de;
	dbus_error_init(&de);
	DBusMessage *rep = dbus_connection_send_with_reply_and_block(b->conn, m, pamsd_ms_left(&b->deadline), &de);
	dbus_message_unref(m);
	if (rep == NULL) {
		if (!dbus_error_is_set(&de))
			dbus_set_error_const(&de, DBUS_ERROR_NO_MEMORY, "out of memory");
		call_error(b, &de, err);
		dbus_error_free(&de);
	}
	return rep;
}

static DBusMessage *login1_call(const char *method)
{
	return dbus_message_new_method_call(LOGIN1_NAME, LOGIN1_PATH, LOGIN1_MANAGER, method);
}

int pamsd_bus_create_session(struct pamsd_bus *b, const struct pamsd_request *r, struct pamsd_reply *rep,
			     struct pamsd_err *err)
{
	memset(rep, 0, sizeof *rep);
	rep->fifo = -1;
	const char *strs[] = {r->service, r->type, r->class_, r->desktop, r->seat, r->tty, r->display,
			      r->remote_user, r->remote_host};
	static const char *const names[] = {"service", "type", "class", "desktop", "seat", "tty", "display",
					    "remote_user", "remote_host"};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		/* libdbus aborts the process on a string that is not UTF-8. */
		if (!dbus_validate_utf8(strs[i], NULL)) {
			pamsd_errorf(err, PAMSD_ERR_OTHER, "argument %s is not valid UTF-8", names[i]);
			return -1;
		}
	}
	DBusMessage *m = login1_call("CreateSession");
	if (m == NULL)
		goto oom;
	dbus_bool_t remote = r->remote ? TRUE : FALSE;
	DBusMessageIter it, props;
	if (!dbus_message_append_args(m, DBUS_TYPE_UINT32, &r->uid, DBUS_TYPE_UINT32, &r->pid,
				      DBUS_TYPE_STRING, &r->service, DBUS_TYPE_STRING, &r->type,
				      DBUS_TYPE_STRING, &r->class_, DBUS_TYPE_STRING, &r->desktop,
				      DBUS_TYPE_STRING, &r->seat, DBUS_TYPE_UINT32, &r->vtnr,
				      DBUS_TYPE_STRING, &r->tty, DBUS_TYPE_STRING, &r->display,
				      DBUS_TYPE_BOOLEAN, &remote, DBUS_TYPE_STRING, &r->remote_user,
				      DBUS_TYPE_STRING, &r->remote_host, DBUS_TYPE_INVALID))
		goto oom_m;
	dbus_message_iter_init_append(m, &it);
	if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "(sv)", &props))
		goto oom_m;
	if (!dbus_message_iter_close_container(&it, &props))
		goto oom_m;

	DBusMessage *reply = call(b, m, err);
	if (reply == NULL)
		return -1;
	/* The descriptor, if one came with a wrongly typed reply, goes with
	 * the message. */
	if (!dbus_message_has_signature(reply, "soshusub")) {
		pamsd_errorf(err, PAMSD_ERR_OTHER, "reply has signature \"%s\", want \"soshusub\"",
			     dbus_message_get_signature(reply));
		dbus_message_unref(reply);
		return -1;
	}
	const char *id, *path, *runtime, *seat;
	dbus_uint32_t uid, vtnr;
	dbus_bool_t existing;
	int fd = -1;
	DBusError de;
	dbus_error_init(&de);
	if (!dbus_message_get_args(reply, &de, DBUS_TYPE_STRING, &id, DBUS_TYPE_OBJECT_PATH, &path,
				   DBUS_TYPE_STRING, &runtime, DBUS_TYPE_UNIX_FD, &fd, DBUS_TYPE_UINT32, &uid,
				   DBUS_TYPE_STRING, &seat, DBUS_TYPE_UINT32, &vtnr, DBUS_TYPE_BOOLEAN, &existing,
				   DBUS_TYPE_INVALID)) {
		pamsd_errorf(err, PAMSD_ERR_OTHER, "reply: %s", dbus_error_is_set(&de) ? de.message : "unreadable");
		dbus_error_free(&de);
		dbus_message_unref(reply);
		return -1;
	}
	/* get_args gave us a duplicate of the descriptor: ours to close. */
	rep->fifo = fd;
	rep->uid = uid;
	rep->vtnr = vtnr;
	rep->existing = existing ? 1 : 0;
	rep->id = strdup(id);
	rep->object_path = strdup(path);
	rep->runtime_path = strdup(runtime);
	rep->seat = strdup(seat);
	dbus_message_unref(reply);
	if (rep->id == NULL || rep->object_path == NULL || rep->runtime_path == NULL || rep->seat == NULL) {
		pamsd_reply_free(rep);
		pamsd_errorf(err, PAMSD_ERR_OTHER, "reply: out of memory");
		return -1;
	}
	return 0;
oom_m:
	dbus_message_unref(m);
oom:
	pamsd_errorf(err, PAMSD_ERR_OTHER, "out of memory");
	return -1;
}

int pamsd_bus_release_session(struct pamsd_bus *b, const char *id, struct pamsd_err *err)
{
	if (!dbus_validate_utf8(id, NULL)) {
		pamsd_errorf(err, PAMSD_ERR_OTHER, "session id is not valid UTF-8");
		return -1;
	}
	DBusMessage *m = login1_call("ReleaseSession");
	if (m == NULL || !dbus_message_append_args(m, DBUS_TYPE_STRING, &id, DBUS_TYPE_INVALID)) {
		if (m != NULL)
			dbus_message_unref(m);
		pamsd_errorf(err, PAMSD_ERR_OTHER, "out of memory");
		return -1;
	}
	DBusMessage *reply = call(b, m, err);
	if (reply == NULL)
		return -1;
	dbus_message_unref(reply);
	return 0;
}

void pamsd_reply_free(struct pamsd_reply *rep)
{
	free(rep->id);
	free(rep->object_path);
	free(rep->runtime_path);
	free(rep->seat);
	rep->id = rep->object_path = rep->runtime_path = rep->seat = NULL;
	if (rep->fifo >= 0)
		close(rep->fifo);
	rep->fifo = -1;
}
