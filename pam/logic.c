/* The pure logic of pam_sessiond.so (see logic.h): no libpam, no I/O,
 * no system calls. */
#include "logic.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* has_prefix returns what follows prefix in s, or NULL. */
static const char *has_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

int pamsd_parse_bool(const char *s)
{
	static const char *const yes[] = {"1", "yes", "y", "true", "t", "on"};
	static const char *const no[] = {"0", "no", "n", "false", "f", "off"};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

int pamsd_parse_seconds(const char *s, double *out)
{
	/* Plain decimal notation only: strtod alone would also take leading
	 * space, "inf", "nan" and hexadecimal. */
	int digits = 0;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			digits = 1;
		else if (strchr(".eE+-", *p) == NULL)
			return -1;
	}
	if (!digits || s[0] == '-' || s[0] == 'e' || s[0] == 'E')
		return -1;
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || !(v >= 0 && v <= PAMSD_MAX_BUS_WAIT))
		return -1;
	*out = v;
	return 0;
}

int pamsd_parse_u32(const char *s, uint32_t *out)
{
	if (s == NULL || *s == '\0')
		return -1;
	uint64_t v = 0;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

void pamsd_parse_options(int argc, const char *const *argv, struct pamsd_options *o,
			 pamsd_unknown_fn unknown, void *ctx)
{
	memset(o, 0, sizeof *o);
	o->bus_wait = PAMSD_DEFAULT_BUS_WAIT;
	for (int i = 0; argv != NULL && i < argc; i++) {
		const char *a = argv[i], *v;
		if (a == NULL)
			continue;
		int ok = 1;
		if ((v = has_prefix(a, "class=")) != NULL) {
			o->class_ = v;
		} else if ((v = has_prefix(a, "type=")) != NULL) {
			o->type = v;
		} else if ((v = has_prefix(a, "desktop=")) != NULL) {
			o->desktop = v;
		} else if ((v = has_prefix(a, "bus_wait=")) != NULL) {
			double sec;
			if (pamsd_parse_seconds(v, &sec) == 0)
				o->bus_wait = sec;
			else
				ok = 0;
		} else if (strcmp(a, "debug") == 0 || strcmp(a, "strict") == 0) {
			*(a[0] == 'd' ? &o->debug : &o->strict) = 1;
		} else if ((v = has_prefix(a, "debug=")) != NULL || (v = has_prefix(a, "strict=")) != NULL) {
			int b = pamsd_parse_bool(v);
			if (b >= 0)
				*(a[0] == 'd' ? &o->debug : &o->strict) = b;
			else
				ok = 0;
		} else if (strcmp(a, "class") == 0 || strcmp(a, "type") == 0 || strcmp(a, "desktop") == 0) {
			/* Without a value: no default. */
			*(a[0] == 'c' ? &o->class_ : a[0] == 't' ? &o->type : &o->desktop) = NULL;
		} else {
			ok = 0;
		}
		if (!ok && unknown != NULL)
			unknown(ctx, a);
	}
}

uint32_t pamsd_vt_of_tty(const char *tty)
{
	const char *d = has_prefix(tty, "tty");
	uint32_t n;
	if (d == NULL || d[0] == '\0' || d[0] == '0' || pamsd_parse_u32(d, &n) != 0 || n > 63)
		return 0;
	return n;
}

/* has_suffix_ci reports whether s ends in suffix, ignoring ASCII case. */
static int has_suffix_ci(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);
	return n >= m && strncasecmp(s + n - m, suffix, m) == 0;
}

int pamsd_is_localhost(const char *host)
{
	size_t n = strlen(host);
	if (n > 0 && host[n - 1] == '.')
		n--; /* the root's dot */
	static const char *const names[] = {"localhost", "localhost.localdomain"};
	for (size_t i = 0; i < 2; i++) {
		size_t m = strlen(names[i]);
		if (n == m && strncasecmp(host, names[i], m) == 0)
			return 1;
	}
	return has_suffix_ci(host, n, ".localhost") || has_suffix_ci(host, n, ".localhost.localdomain");
}

int pamsd_x11_socket(const char *dir, const char *display, char *buf, size_t size)
{
	if (display[0] != ':')
		return -1;
	const char *num = display + 1;
	size_t len = strcspn(num, ".");
	if (len == 0 || strspn(num, "0123456789") < len)
		return -1;
	int w = snprintf(buf, size, "%s/X%.*s", dir, (int)len, num);
	return w < 0 || (size_t)w >= size ? -1 : 0;
}

uint32_t pamsd_vt_of_stat(const char *stat, size_t n, const char **why)
{
	*why = "malformed stat";
	/* The command name may contain anything, ")" too: the fields start
	 * after its last ")". */
	size_t i = n;
	while (i > 0 && stat[i - 1] != ')')
		i--;
	if (i == 0)
		return 0;
	/* After the name: state ppid pgrp session tty_nr. */
	char field[32];
	int k = 0;
	while (i < n) {
		while (i < n && (stat[i] == ' ' || stat[i] == '\t' || stat[i] == '\n'))
			i++;
		size_t start = i;
		while (i < n && stat[i] != ' ' && stat[i] != '\t' && stat[i] != '\n')
			i++;
		if (i == start)
			break;
		if (++k == 5) {
			if (i - start >= sizeof field) {
				*why = "tty_nr out of range";
				return 0;
			}
			memcpy(field, stat + start, i - start);
			field[i - start] = '\0';
			break;
		}
	}
	if (k < 5)
		return 0;
	char *end = NULL;
	errno = 0;
	long long nr = strtoll(field, &end, 10);
	if (errno != 0 || end == field || *end != '\0') {
		*why = "tty_nr is no number";
		return 0;
	}
	long long major = (nr >> 8) & 0xfff, minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
	if (major != 4 || minor < 1 || minor > 63) {
		*why = "controlling terminal is no virtual console";
		return 0;
	}
	*why = NULL;
	return (uint32_t)minor;
}

int pamsd_escape_bus_address(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t j = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		unsigned char c = *p;
		int plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    strchr("-_/.\\*", c) != NULL;
		size_t need = plain ? 1 : 3;
		if (j + need >= size)
			return -1;
		if (plain) {
			buf[j++] = (char)c;
		} else {
			buf[j++] = '%';
			buf[j++] = hex[c >> 4];
			buf[j++] = hex[c & 0xf];
		}
	}
	if (size == 0)
		return -1;
	buf[j] = '\0';
	return 0;
}

char *pamsd_quote(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	if (size < 3) {
		if (size > 0)
			buf[0] = '\0';
		return buf;
	}
	size_t j = 0;
	buf[j++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		char e[4];
		size_t m = 0;
		if (*p == '"' || *p == '\\') {
			e[m++] = '\\';
			e[m++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			e[m++] = '\\';
			e[m++] = 'x';
			e[m++] = hex[*p >> 4];
			e[m++] = hex[*p & 0xf];
		} else {
			e[m++] = (char)*p;
		}
		if (j + m + 2 > size) /* room for the closing quote and NUL */
			break;
		memcpy(buf + j, e, m);
		j += m;
	}
	buf[j++] = '"';
	buf[j] = '\0';
	return buf;
}

/* env_or returns the variable's value, or fallback when it is unset or
 * empty. */
static const char *env_or(const struct pamsd_inputs *in, const char *name, const char *fallback)
{
	if (in->env != NULL) {
		const char *v = in->env(in->ctx, name);
		if (v != NULL && v[0] != '\0')
			return v;
	}
	return fallback;
}

static void note(const struct pamsd_inputs *in, const char *fmt, ...) PAMSD_PRINTF(2, 3);

static void note(const struct pamsd_inputs *in, const char *fmt, ...)
{
	if (in->note == NULL)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	in->note(in->ctx, msg);
}

static const char *item(const struct pamsd_inputs *in, enum pamsd_item it)
{
	return in->items[it] != NULL ? in->items[it] : "";
}

void pamsd_build_request(const struct pamsd_inputs *in, struct pamsd_request *r)
{
	const struct pamsd_options *o = in->opts;
	memset(r, 0, sizeof *r);
	r->uid = in->uid;
	r->pid = in->pid;
	r->service = item(in, PAMSD_ITEM_SERVICE);
	r->display = item(in, PAMSD_ITEM_XDISPLAY);
	r->remote_user = item(in, PAMSD_ITEM_RUSER);
	r->remote_host = item(in, PAMSD_ITEM_RHOST);
	r->seat = env_or(in, "XDG_SEAT", "");
	r->type = env_or(in, "XDG_SESSION_TYPE", o != NULL && o->type != NULL ? o->type : "");
	r->class_ = env_or(in, "XDG_SESSION_CLASS", o != NULL && o->class_ != NULL ? o->class_ : "");
	r->desktop = env_or(in, "XDG_SESSION_DESKTOP", o != NULL && o->desktop != NULL ? o->desktop : "");
	const char *vtnr = env_or(in, "XDG_VTNR", "");
	if (vtnr[0] != '\0' && pamsd_parse_u32(vtnr, &r->vtnr) != 0) {
		/* A malformed number is ignored (vtnr 0), as pam_systemd does. */
		char q[128];
		note(in, "ignoring XDG_VTNR=%s", pamsd_quote(vtnr, q, sizeof q));
		r->vtnr = 0;
	}

	const char *tty = item(in, PAMSD_ITEM_TTY), *rest;
	if (strchr(tty, ':') != NULL) {
		/* Display managers put the X display into PAM_TTY so that it
		 * shows up in utmp; it is no terminal. */
		if (r->display[0] == '\0')
			r->display = tty;
		tty = "";
	} else if (strcmp(tty, "cron") == 0) {
		/* cron sets PAM_TTY only to please other modules; its jobs have
		 * no terminal and are background sessions. */
		r->type = "unspecified";
		r->class_ = "background";
		tty = "";
	} else if (strcmp(tty, "ssh") == 0) {
		/* sshd registers the session before it knows whether it will
		 * allocate a pty. */
		r->type = "tty";
		r->class_ = "user";
		tty = "";
	} else if ((rest = has_prefix(tty, "/dev/")) != NULL) {
		tty = rest;
	}
	r->tty = tty;

	int seat0 = r->seat[0] == '\0' || strcmp(r->seat, "seat0") == 0;
	uint32_t n = pamsd_vt_of_tty(tty);
	if (n > 0 && r->vtnr == 0 && seat0)
		r->vtnr = n;
	/* An X server started on a VT (startx, xdm) makes its display a seat0
	 * session on that VT. */
	if (r->display[0] != '\0' && r->vtnr == 0 && seat0 && in->display_vt != NULL) {
		n = in->display_vt(in->ctx, r->display);
		if (n > 0) {
			r->vtnr = n;
			r->seat = "seat0";
			char q[128];
			note(in, "display %s is on VT %u", pamsd_quote(r->display, q, sizeof q), (unsigned)n);
		}
	}
	if (r->seat[0] != '\0' && strcmp(r->seat, "seat0") != 0 && r->vtnr != 0) {
		char q[128];
		note(in, "ignoring vtnr %u for %s, which is not seat0", (unsigned)r->vtnr, pamsd_quote(r->seat, q, sizeof q));
		r->vtnr = 0;
	}
	if (r->type[0] == '\0')
		r->type = r->display[0] != '\0' ? "x11" : r->tty[0] != '\0' ? "tty" : "unspecified";
	if (r->class_[0] == '\0')
		r->class_ = strcmp(r->type, "unspecified") == 0 ? "background" : "user";
	r->remote = r->remote_host[0] != '\0' && !pamsd_is_localhost(r->remote_host);
}
