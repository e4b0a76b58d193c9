/* The login1 client of pam_sessiond.so (see bus.h): its own small D-Bus
 * client over one unix socket, EXTERNAL authentication with descriptor
 * passing, Hello and one method call written together, and the reply
 * read with the descriptor it carries. No libdbus: loading it (and the
 * libraries it pulls in) and its connection setup were most of the
 * module's cost in a login. */
#define _GNU_SOURCE
#include "bus.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wire.h"

#define LOGIN1_NAME "org.freedesktop.login1"
#define LOGIN1_PATH "/org/freedesktop/login1"
#define LOGIN1_MANAGER "org.freedesktop.login1.Manager"
#define DBUS_NAME "org.freedesktop.DBus"

/* Descriptors kept from the socket until a message claims them. */
#define MAX_FDS 16

struct pamsd_bus {
	int fd;
	struct timespec deadline;
	char where[128]; /* the socket, for messages */
	uint8_t *in;
	size_t in_len, in_cap;
	int fds[MAX_FDS];
	int nfds;
	/* authed: the bus said OK (and answered NEGOTIATE_UNIX_FD). */
	int authed, sent_auth;
	uint32_t serial;
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

static int expired(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

static int unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* unix_addr fills sa from the first unix:path= or unix:abstract= entry
 * of a D-Bus address list; -1 with why set when there is none. */
static int unix_addr(const char *address, struct sockaddr_un *sa, socklen_t *len, const char **why)
{
	*why = "no unix:path= or unix:abstract= address";
	for (const char *e = address; *e != '\0';) {
		const char *end = strchr(e, ';');
		size_t elen = end != NULL ? (size_t)(end - e) : strlen(e);
		if (elen > 5 && strncmp(e, "unix:", 5) == 0) {
			for (const char *kv = e + 5; kv < e + elen;) {
				const char *comma = memchr(kv, ',', (size_t)(e + elen - kv));
				const char *kend = comma != NULL ? comma : e + elen;
				int abstract = strncmp(kv, "abstract=", 9) == 0;
				if (abstract || strncmp(kv, "path=", 5) == 0) {
					const char *v = kv + (abstract ? 9 : 5);
					size_t o = abstract ? 1 : 0;
					memset(sa, 0, sizeof *sa);
					sa->sun_family = AF_UNIX;
					for (; v < kend; v++) {
						int c = (unsigned char)*v;
						if (c == '%') {
							int h = v + 2 < kend ? unhex(v[1]) : -1, l = h >= 0 ? unhex(v[2]) : -1;
							if (l < 0) {
								*why = "malformed % escape";
								return -1;
							}
							c = h << 4 | l;
							v += 2;
						}
						if (o >= sizeof sa->sun_path - 1) {
							*why = "socket path too long";
							return -1;
						}
						sa->sun_path[o++] = (char)c;
					}
					*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + o + (abstract ? 0 : 1));
					return 0;
				}
				kv = kend + 1;
			}
		}
		if (end == NULL)
			break;
		e = end + 1;
	}
	return -1;
}

struct pamsd_bus *pamsd_bus_open(const char *address, const struct timespec *deadline, struct pamsd_err *err)
{
	struct sockaddr_un sa;
	socklen_t salen;
	const char *why;
	if (unix_addr(address, &sa, &salen, &why) != 0) {
		pamsd_errorf(err, PAMSD_ERR_UNREACHABLE, "login1 not reachable: connect: %s", why);
		err->dial = 1;
		return NULL;
	}
	struct pamsd_bus *b = calloc(1, sizeof *b);
	if (b == NULL) {
		pamsd_errorf(err, PAMSD_ERR_OTHER, "connect: out of memory");
		err->dial = 1;
		return NULL;
	}
	b->deadline = *deadline;
	snprintf(b->where, sizeof b->where, "%s%s", sa.sun_path[0] == '\0' ? "@" : "",
		 sa.sun_path[0] == '\0' ? sa.sun_path + 1 : sa.sun_path);
	b->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r = b->fd < 0 ? -1 : connect(b->fd, (struct sockaddr *)&sa, salen);
	if (r != 0 && b->fd >= 0 && (errno == EAGAIN || errno == EINPROGRESS)) {
		/* A bus with a full backlog: wait for it, to the deadline. */
		struct pollfd p = {.fd = b->fd, .events = POLLOUT};
		int e = 0;
		socklen_t el = sizeof e;
		int n;
		while ((n = poll(&p, 1, pamsd_ms_left(&b->deadline))) < 0 && errno == EINTR)
			;
		if (n == 1 && getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0)
			r = 0;
		else
			errno = n == 0 ? ETIMEDOUT : e != 0 ? e : errno;
	}
	if (r != 0) {
		pamsd_errorf(err, PAMSD_ERR_UNREACHABLE, "login1 not reachable: connect %s: %s", b->where,
			     strerror(errno));
		err->dial = 1;
		pamsd_bus_close(b);
		return NULL;
	}
	return b;
}

void pamsd_bus_close(struct pamsd_bus *b)
{
	if (b == NULL)
		return;
	if (b->fd >= 0)
		close(b->fd);
	for (int i = 0; i < b->nfds; i++)
		close(b->fds[i]);
	free(b->in);
	free(b);
}

/* fail_io sets err for a connection that broke or stalled: before the
 * bus accepted us it is an unreachable bus, as a failed connect. */
static void fail_io(struct pamsd_bus *b, struct pamsd_err *err, const char *what)
{
	if (!b->authed) {
		pamsd_errorf(err, PAMSD_ERR_UNREACHABLE, "login1 not reachable: connect %s: authentication: %s",
			     b->where, what);
		err->dial = 1;
		return;
	}
	pamsd_errorf(err, PAMSD_ERR_OTHER, "org.freedesktop.DBus.Error.NoReply: %s", what);
}

/* wait_fd polls for ev until the deadline: 1 ready, 0 timed out. */
static int wait_fd(struct pamsd_bus *b, short ev)
{
	for (;;) {
		if (expired(&b->deadline))
			return 0;
		struct pollfd p = {.fd = b->fd, .events = ev};
		int n = poll(&p, 1, pamsd_ms_left(&b->deadline));
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return 1; /* the read or write that follows says why */
	}
}

static int send_all(struct pamsd_bus *b, const uint8_t *p, size_t n, struct pamsd_err *err)
{
	while (n > 0) {
		/* MSG_NOSIGNAL: a bus that went away must not SIGPIPE the
		 * application. */
		ssize_t w = send(b->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w, n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			if (!wait_fd(b, POLLOUT)) {
				fail_io(b, err, "timed out writing to the bus");
				return -1;
			}
			continue;
		}
		char m[256];
		snprintf(m, sizeof m, "write: %s", strerror(errno));
		fail_io(b, err, m);
		return -1;
	}
	return 0;
}

/* fill reads what the socket has (waiting for it, to the deadline),
 * keeping received descriptors in order. 0, or -1 with err set. */
static int fill(struct pamsd_bus *b, struct pamsd_err *err)
{
	if (b->in_cap - b->in_len < 4096) {
		size_t c = b->in_cap ? b->in_cap * 2 : 8192;
		if (c > PAMSD_WIRE_MAX + 8192) {
			fail_io(b, err, "message too long");
			return -1;
		}
		uint8_t *p = realloc(b->in, c);
		if (p == NULL) {
			fail_io(b, err, "out of memory");
			return -1;
		}
		b->in = p, b->in_cap = c;
	}
	for (;;) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		} cm;
		struct iovec iov = {.iov_base = b->in + b->in_len, .iov_len = b->in_cap - b->in_len};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				    .msg_controllen = sizeof cm.buf};
		ssize_t n = recvmsg(b->fd, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!wait_fd(b, POLLIN)) {
				fail_io(b, err, "no answer from the bus in time");
				return -1;
			}
			continue;
		}
		if (n < 0) {
			char m[256];
			snprintf(m, sizeof m, "read: %s", strerror(errno));
			fail_io(b, err, m);
			return -1;
		}
		int lost = (mh.msg_flags & MSG_CTRUNC) != 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
				if (b->nfds < MAX_FDS)
					b->fds[b->nfds++] = fd;
				else
					close(fd), lost = 1;
			}
		}
		if (lost) {
			fail_io(b, err, "too many descriptors from the bus");
			return -1;
		}
		if (n == 0) {
			fail_io(b, err, "the bus closed the connection");
			return -1;
		}
		b->in_len += (size_t)n;
		return 0;
	}
}

static void consume(struct pamsd_bus *b, size_t n)
{
	memmove(b->in, b->in + n, b->in_len - n);
	b->in_len -= n;
}

/* auth_lines reads the bus's answers to AUTH and NEGOTIATE_UNIX_FD. */
static int auth_lines(struct pamsd_bus *b, struct pamsd_err *err)
{
	int answers = 0;
	while (answers < 2) {
		uint8_t *nl = b->in_len > 0 ? memchr(b->in, '\n', b->in_len) : NULL;
		if (nl == NULL) {
			if (b->in_len > 4096) {
				fail_io(b, err, "line too long");
				return -1;
			}
			if (fill(b, err) != 0)
				return -1;
			continue;
		}
		size_t n = (size_t)(nl - b->in) + 1;
		char line[256];
		size_t l = n - 1 < sizeof line - 1 ? n - 1 : sizeof line - 1;
		memcpy(line, b->in, l);
		line[l] = '\0';
		if (l > 0 && line[l - 1] == '\r')
			line[l - 1] = '\0';
		consume(b, n);
		if (answers == 0 && strncmp(line, "OK ", 3) == 0) {
			answers++;
			continue;
		}
		if (answers == 1 && (strcmp(line, "AGREE_UNIX_FD") == 0 || strncmp(line, "ERROR", 5) == 0)) {
			/* Without descriptor passing the FIFO does not come: the
			 * reply says so (UNIX_FDS), and the session works without. */
			answers++;
			continue;
		}
		for (char *p = line; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		char m[300];
		snprintf(m, sizeof m, "refused: \"%s\"", line);
		fail_io(b, err, m);
		return -1;
	}
	b->authed = 1;
	return 0;
}

/* call_error classifies an error reply, naming the D-Bus error in the
 * message as logind's clients print it. */
static void call_error(const char *name, const char *text, struct pamsd_err *err)
{
	enum pamsd_err_kind kind = PAMSD_ERR_OTHER;
	if (strcmp(name, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 ||
	    strcmp(name, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0 ||
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

/* call sends login1's method with body and reads its reply into *m
 * (pointing into b->in, valid until the next call), its descriptors
 * moved to fds (*nfds of them). The first call also authenticates and
 * says Hello, all in one write: the bus answers in order. 0, or -1 with
 * err set (an error reply is a failure too). */
static int call(struct pamsd_bus *b, const char *method, const char *sig, const struct pamsd_wbuf *body,
		struct pamsd_msg *m, int *fds, int *nfds, struct pamsd_err *err)
{
	struct pamsd_wbuf w = {0};
	if (!b->sent_auth) {
		char auth[64];
		unsigned uid = (unsigned)geteuid();
		char dec[16], *p = auth;
		int n = snprintf(dec, sizeof dec, "%u", uid);
		p += sprintf(p, "%cAUTH EXTERNAL ", '\0');
		for (int i = 0; i < n; i++)
			p += sprintf(p, "%02x", (unsigned char)dec[i]);
		p += sprintf(p, "\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n");
		size_t alen = (size_t)(p - auth);
		/* Hello follows the text in the same buffer (each message is
		 * aligned relative to its own start). */
		struct pamsd_wbuf empty = {0};
		pamsd_wire_call(&w, ++b->serial, DBUS_NAME, "/org/freedesktop/DBus", DBUS_NAME, "Hello", "", &empty);
		if (!w.oom) {
			uint8_t *all = malloc(alen + w.len);
			if (all != NULL) {
				memcpy(all, auth, alen);
				memcpy(all + alen, w.p, w.len);
				free(w.p);
				w.p = all;
				w.len += alen;
				w.cap = w.len;
			} else {
				w.oom = 1;
			}
		}
		b->sent_auth = 1;
	}
	struct pamsd_wbuf c = {0};
	uint32_t serial = ++b->serial;
	pamsd_wire_call(&c, serial, LOGIN1_NAME, LOGIN1_PATH, LOGIN1_MANAGER, method, sig, body);
	int r = -1;
	if (w.oom || c.oom) {
		pamsd_errorf(err, PAMSD_ERR_OTHER, "out of memory");
		goto out;
	}
	/* One write for the authentication, Hello and the call. */
	if (w.len > 0) {
		uint8_t *all = realloc(w.p, w.len + c.len);
		if (all == NULL) {
			pamsd_errorf(err, PAMSD_ERR_OTHER, "out of memory");
			goto out;
		}
		memcpy(all + w.len, c.p, c.len);
		w.p = all, w.len += c.len, w.cap = w.len;
	}
	if (w.len > 0 ? send_all(b, w.p, w.len, err) != 0 : send_all(b, c.p, c.len, err) != 0)
		goto out;
	if (!b->authed && auth_lines(b, err) != 0)
		goto out;
	for (;;) {
		long n = b->in_len > 0 ? pamsd_wire_parse(b->in, b->in_len, m) : 0;
		if (n < 0) {
			fail_io(b, err, "malformed message from the bus");
			goto out;
		}
		if (n == 0) {
			if (fill(b, err) != 0)
				goto out;
			continue;
		}
		/* Each message owns the next UNIX_FDS descriptors. */
		if (m->unix_fds > (uint32_t)b->nfds) {
			fail_io(b, err, "a message's descriptors did not come");
			goto out;
		}
		int k = (int)m->unix_fds;
		int mine = (m->type == PAMSD_MSG_RETURN || m->type == PAMSD_MSG_ERROR) && m->reply_serial == serial;
		for (int i = 0; i < k; i++) {
			if (mine)
				fds[i] = b->fds[i];
			else
				close(b->fds[i]);
		}
		memmove(b->fds, b->fds + k, (size_t)(b->nfds - k) * sizeof(int));
		b->nfds -= k;
		if (!mine) {
			consume(b, (size_t)n);
			continue;
		}
		*nfds = k;
		if (m->type == PAMSD_MSG_ERROR) {
			call_error(m->error_name, pamsd_wire_error_text(m), err);
			for (int i = 0; i < k; i++)
				close(fds[i]);
			*nfds = 0;
			goto out;
		}
		/* The reply stays in b->in for the caller (one call a
		 * connection). */
		r = 0;
		goto out;
	}
out:
	pamsd_wbuf_free(&w);
	pamsd_wbuf_free(&c);
	return r;
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
		/* The bus would drop a connection sending a string that is not
		 * UTF-8. */
		if (!pamsd_valid_utf8(strs[i])) {
			pamsd_errorf(err, PAMSD_ERR_OTHER, "argument %s is not valid UTF-8", names[i]);
			return -1;
		}
	}
	struct pamsd_wbuf body = {0};
	pamsd_put_u32(&body, r->uid);
	pamsd_put_u32(&body, r->pid);
	pamsd_put_str(&body, r->service);
	pamsd_put_str(&body, r->type);
	pamsd_put_str(&body, r->class_);
	pamsd_put_str(&body, r->desktop);
	pamsd_put_str(&body, r->seat);
	pamsd_put_u32(&body, r->vtnr);
	pamsd_put_str(&body, r->tty);
	pamsd_put_str(&body, r->display);
	pamsd_put_u32(&body, r->remote ? 1 : 0);
	pamsd_put_str(&body, r->remote_user);
	pamsd_put_str(&body, r->remote_host);
	/* An empty a(sv): its length, then the padding to its elements'
	 * alignment. */
	pamsd_put_u32(&body, 0);
	pamsd_put_align(&body, 8);
	if (body.oom) {
		pamsd_wbuf_free(&body);
		pamsd_errorf(err, PAMSD_ERR_OTHER, "out of memory");
		return -1;
	}
	struct pamsd_msg m;
	int fds[MAX_FDS], nfds = 0;
	int rc = call(b, "CreateSession", "uusssssussbssa(sv)", &body, &m, fds, &nfds, err);
	pamsd_wbuf_free(&body);
	if (rc != 0)
		return -1;
	struct pamsd_create_reply cr;
	const char *why;
	if (pamsd_wire_create_reply(&m, &cr, &why) != 0) {
		if (strcmp(why, "signature") == 0)
			pamsd_errorf(err, PAMSD_ERR_OTHER, "reply has signature \"%s\", want \"soshusub\"", m.signature);
		else
			pamsd_errorf(err, PAMSD_ERR_OTHER, "reply: %s", why);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -1;
	}
	if (cr.fd_index >= (uint32_t)nfds) {
		pamsd_errorf(err, PAMSD_ERR_OTHER, "reply: descriptor %u of %d", (unsigned)cr.fd_index, nfds);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -1;
	}
	for (int i = 0; i < nfds; i++)
		if ((uint32_t)i != cr.fd_index)
			close(fds[i]);
	rep->fifo = fds[cr.fd_index];
	rep->uid = cr.uid;
	rep->vtnr = cr.vtnr;
	rep->existing = (int)cr.existing;
	rep->id = strdup(cr.id);
	rep->object_path = strdup(cr.object_path);
	rep->runtime_path = strdup(cr.runtime_path);
	rep->seat = strdup(cr.seat);
	if (rep->id == NULL || rep->object_path == NULL || rep->runtime_path == NULL || rep->seat == NULL) {
		pamsd_reply_free(rep);
		pamsd_errorf(err, PAMSD_ERR_OTHER, "reply: out of memory");
		return -1;
	}
	return 0;
}

int pamsd_bus_release_session(struct pamsd_bus *b, const char *id, struct pamsd_err *err)
{
	if (!pamsd_valid_utf8(id)) {
		pamsd_errorf(err, PAMSD_ERR_OTHER, "session id is not valid UTF-8");
		return -1;
	}
	struct pamsd_wbuf body = {0};
	pamsd_put_str(&body, id);
	if (body.oom) {
		pamsd_wbuf_free(&body);
		pamsd_errorf(err, PAMSD_ERR_OTHER, "out of memory");
		return -1;
	}
	struct pamsd_msg m;
	int fds[MAX_FDS], nfds = 0;
	int rc = call(b, "ReleaseSession", "s", &body, &m, fds, &nfds, err);
	pamsd_wbuf_free(&body);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return rc;
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
