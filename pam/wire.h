/* The D-Bus wire format, as much as pam_sessiond.so needs: building a
 * method call and reading the messages that come back. Pure (no I/O),
 * so pam/ctest tests and fuzzes it; pam/bus.c does the socket side. */
#ifndef PAM_SESSIOND_WIRE_H
#define PAM_SESSIOND_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "logic.h"

/* The largest message read: far above any reply login1 or the bus
 * sends to the module, and a bound on what a hostile bus can make it
 * buffer. */
#define PAMSD_WIRE_MAX (1u << 20)

enum {
	PAMSD_MSG_CALL = 1,
	PAMSD_MSG_RETURN = 2,
	PAMSD_MSG_ERROR = 3,
	PAMSD_MSG_SIGNAL = 4,
};

/* A growing output buffer; oom is set once an append failed. */
struct pamsd_wbuf {
	uint8_t *p;
	size_t len, cap;
	int oom;
};

PAMSD_HIDDEN void pamsd_wbuf_free(struct pamsd_wbuf *w);
PAMSD_HIDDEN void pamsd_put_u32(struct pamsd_wbuf *w, uint32_t v);
/* pamsd_put_str appends a string (s, o) at its alignment. */
PAMSD_HIDDEN void pamsd_put_str(struct pamsd_wbuf *w, const char *s);
PAMSD_HIDDEN void pamsd_put_align(struct pamsd_wbuf *w, size_t a);

/* pamsd_wire_call appends a little-endian method call with the given
 * body (already marshalled from offset 0, signature sig, "" for none).
 * dest may be NULL. */
PAMSD_HIDDEN void pamsd_wire_call(struct pamsd_wbuf *w, uint32_t serial, const char *dest, const char *path,
				  const char *iface, const char *member, const char *sig, const struct pamsd_wbuf *body);

/* One received message. Strings point into the buffer parsed (each is
 * NUL-terminated there); NULL when the header lacks the field. */
struct pamsd_msg {
	uint8_t type;
	int big_endian;
	uint32_t serial;
	int has_reply_serial;
	uint32_t reply_serial;
	const char *error_name;
	const char *signature; /* "" when absent */
	uint32_t unix_fds;
	const uint8_t *body;
	uint32_t body_len;
};

/* pamsd_wire_parse reads the message at the start of b: its length when
 * it is all there (m filled), 0 when more bytes are needed, -1 when it is
 * malformed or longer than PAMSD_WIRE_MAX. */
PAMSD_HIDDEN long pamsd_wire_parse(const uint8_t *b, size_t n, struct pamsd_msg *m);

/* CreateSession's reply body (soshusub); fd_index is the h argument, an
 * index into the message's descriptors. */
struct pamsd_create_reply {
	const char *id, *object_path, *runtime_path, *seat;
	uint32_t fd_index, uid, vtnr, existing;
};

/* pamsd_wire_create_reply reads m's body; 0 or -1 (wrong signature or
 * malformed, why set). */
PAMSD_HIDDEN int pamsd_wire_create_reply(const struct pamsd_msg *m, struct pamsd_create_reply *r, const char **why);

/* pamsd_wire_error_text is an error message's first argument when it is
 * a string, else "". */
PAMSD_HIDDEN const char *pamsd_wire_error_text(const struct pamsd_msg *m);

/* pamsd_valid_utf8 is whether s is UTF-8 as D-Bus wants it (no
 * surrogates, no overlong forms, nothing above U+10FFFF); a bus drops a
 * client that sends anything else. */
PAMSD_HIDDEN int pamsd_valid_utf8(const char *s);

#endif
