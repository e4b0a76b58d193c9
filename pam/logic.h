/* The pure logic of pam_sessiond.so, kept apart from libpam and the bus
 * so that it is tested (and fuzzed) on its own through cgo in pam/ctest:
 * the module arguments, which arguments CreateSession gets (the ones
 * pam_systemd sends, deduced the same way), and small parsers. */
#ifndef PAM_SESSIOND_LOGIC_H
#define PAM_SESSIOND_LOGIC_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define PAMSD_HIDDEN __attribute__((visibility("hidden")))
#define PAMSD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PAMSD_HIDDEN
#define PAMSD_PRINTF(f, a)
#endif

/* bus_wait's default, seconds. */
#define PAMSD_DEFAULT_BUS_WAIT 5.0
/* The longest bus_wait accepted, seconds. */
#define PAMSD_MAX_BUS_WAIT 600.0

/* The module arguments from the PAM configuration line. The strings
 * point into the argument vector (valid for the PAM call). */
struct pamsd_options {
	/* Defaults; XDG_SESSION_CLASS, XDG_SESSION_TYPE and
	 * XDG_SESSION_DESKTOP (PAM environment, then process environment)
	 * take precedence, as with pam_systemd. NULL: none. */
	const char *class_, *type, *desktop;
	/* debug logs the CreateSession arguments and every step. */
	int debug;
	/* strict makes a failure to create or release the session fail the
	 * PAM call (PAM_SESSION_ERR) instead of logging it and succeeding. */
	int strict;
	/* bus_wait=SECONDS (0: off) bounds how long open_session waits for
	 * the user's session bus when the user has a service manager. */
	double bus_wait;
};

/* Called for each argument that is unknown or malformed: it is logged,
 * it never fails the login. */
typedef void (*pamsd_unknown_fn)(void *ctx, const char *arg);

/* pamsd_parse_options fills o from argv; a later argument wins. */
PAMSD_HIDDEN void pamsd_parse_options(int argc, const char *const *argv, struct pamsd_options *o,
				      pamsd_unknown_fn unknown, void *ctx);

/* pamsd_parse_bool accepts the spellings pam_systemd's debug= does;
 * returns 1 or 0, or -1 for anything else. */
PAMSD_HIDDEN int pamsd_parse_bool(const char *s);

/* pamsd_parse_seconds parses a decimal number of seconds in
 * [0, PAMSD_MAX_BUS_WAIT]; returns 0 on success, -1 otherwise. */
PAMSD_HIDDEN int pamsd_parse_seconds(const char *s, double *out);

/* pamsd_parse_u32 parses decimal digits only (no sign, no space) into a
 * 32-bit value; returns 0 on success, -1 otherwise. */
PAMSD_HIDDEN int pamsd_parse_u32(const char *s, uint32_t *out);

/* The PAM items CreateSession's arguments come from. */
enum pamsd_item {
	PAMSD_ITEM_SERVICE,
	PAMSD_ITEM_TTY,
	PAMSD_ITEM_RUSER,
	PAMSD_ITEM_RHOST,
	PAMSD_ITEM_XDISPLAY,
	PAMSD_NITEMS
};

/* CreateSession's arguments in the order of the D-Bus signature
 * uusssssussbssa(sv) (the properties array is always sent empty). The
 * strings are never NULL; they point into the inputs or are literals. */
struct pamsd_request {
	uint32_t uid, pid;
	const char *service, *type, *class_, *desktop, *seat;
	uint32_t vtnr;
	const char *tty, *display;
	int remote;
	const char *remote_user, *remote_host;
};

/* Everything the request is deduced from, already read from PAM. */
struct pamsd_inputs {
	uint32_t uid, pid;
	const struct pamsd_options *opts;
	/* The PAM items; NULL is a missing item. */
	const char *items[PAMSD_NITEMS];
	/* env looks a variable up in the PAM environment first and the
	 * process environment second; NULL or "" when neither has it. */
	const char *(*env)(void *ctx, const char *name);
	/* display_vt returns the VT of a local X display's server, 0 if it
	 * has none or cannot be found; NULL skips the lookup. */
	uint32_t (*display_vt)(void *ctx, const char *display);
	/* note receives what was adjusted (for debug logging); may be NULL. */
	void (*note)(void *ctx, const char *msg);
	void *ctx;
};

/* pamsd_build_request deduces CreateSession's arguments like
 * pam_systemd: the XDG_* variables override the module options; a
 * PAM_TTY with a colon is an X display, whose server's VT (if any) gives
 * seat0 and the vtnr; cron and ssh put placeholders into PAM_TTY that are
 * no terminals; a /dev/ prefix is dropped; a ttyN terminal is virtual
 * console N; the type follows from display or tty and the class from the
 * type. */
PAMSD_HIDDEN void pamsd_build_request(const struct pamsd_inputs *in, struct pamsd_request *r);

/* pamsd_vt_of_tty returns N for a virtual console "ttyN" (1..63), else 0. */
PAMSD_HIDDEN uint32_t pamsd_vt_of_tty(const char *tty);

/* pamsd_is_localhost reports whether a PAM_RHOST names this machine: the
 * RFC 6761 localhost names and localhost.localdomain, as systemd decides
 * "remote" (addresses such as 127.0.0.1 count as remote there too). */
PAMSD_HIDDEN int pamsd_is_localhost(const char *host);

/* pamsd_x11_socket writes the socket path dir/XN of a local display
 * (":N" or ":N.S") into buf; returns 0, or -1 for a remote or malformed
 * display or a path that does not fit. */
PAMSD_HIDDEN int pamsd_x11_socket(const char *dir, const char *display, char *buf, size_t size);

/* pamsd_vt_of_stat reads the controlling terminal (tty_nr, the 7th
 * field) of a /proc/PID/stat text of n bytes and returns N if it is the
 * VT ttyN (major 4, minor 1..63), else 0; *why says why not. */
PAMSD_HIDDEN uint32_t pamsd_vt_of_stat(const char *stat, size_t n, const char **why);

/* pamsd_escape_bus_address escapes s for a D-Bus address (every byte but
 * [-0-9A-Za-z_/.\*] becomes %xx) into buf; returns 0, or -1 if it does
 * not fit. */
PAMSD_HIDDEN int pamsd_escape_bus_address(const char *s, char *buf, size_t size);

/* pamsd_quote writes s as a double-quoted string with \" \\ and \xNN
 * escapes for control and non-ASCII bytes into buf (truncated, always
 * terminated, if it does not fit); returns buf. */
PAMSD_HIDDEN char *pamsd_quote(const char *s, char *buf, size_t size);

#endif
