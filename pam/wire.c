/* The D-Bus wire format for pam_sessiond.so (see wire.h). */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

void pamsd_wbuf_free(struct pamsd_wbuf *w)
{
	free(w->p);
	w->p = NULL;
	w->len = w->cap = 0;
}

static uint8_t *grow(struct pamsd_wbuf *w, size_t n)
{
	if (w->oom)
		return NULL;
	if (w->len + n > w->cap) {
		size_t c = w->cap ? w->cap : 256;
		while (c < w->len + n)
			c *= 2;
		uint8_t *p = realloc(w->p, c);
		if (p == NULL) {
			w->oom = 1;
			return NULL;
		}
		w->p = p;
		w->cap = c;
	}
	uint8_t *at = w->p + w->len;
	w->len += n;
	return at;
}

void pamsd_put_align(struct pamsd_wbuf *w, size_t a)
{
	size_t pad = (a - w->len % a) % a;
	uint8_t *p = grow(w, pad);
	if (p != NULL)
		memset(p, 0, pad);
}

static void put_u8(struct pamsd_wbuf *w, uint8_t v)
{
	uint8_t *p = grow(w, 1);
	if (p != NULL)
		*p = v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

void pamsd_put_u32(struct pamsd_wbuf *w, uint32_t v)
{
	pamsd_put_align(w, 4);
	uint8_t *p = grow(w, 4);
	if (p != NULL)
		put_le32(p, v);
}

void pamsd_put_str(struct pamsd_wbuf *w, const char *s)
{
	size_t n = strlen(s);
	pamsd_put_u32(w, (uint32_t)n);
	uint8_t *p = grow(w, n + 1);
	if (p != NULL)
		memcpy(p, s, n + 1);
}

static void put_sig(struct pamsd_wbuf *w, const char *s)
{
	size_t n = strlen(s);
	put_u8(w, (uint8_t)n);
	uint8_t *p = grow(w, n + 1);
	if (p != NULL)
		memcpy(p, s, n + 1);
}

/* field appends one header field (code, variant of type t). */
static void field(struct pamsd_wbuf *w, uint8_t code, const char *t, const char *v)
{
	pamsd_put_align(w, 8);
	put_u8(w, code);
	put_sig(w, t);
	if (t[0] == 'g')
		put_sig(w, v);
	else
		pamsd_put_str(w, v);
}

void pamsd_wire_call(struct pamsd_wbuf *w, uint32_t serial, const char *dest, const char *path, const char *iface,
		     const char *member, const char *sig, const struct pamsd_wbuf *body)
{
	/* Messages are appended at 8-aligned offsets: alignment is relative
	 * to the message's start. */
	pamsd_put_align(w, 8);
	size_t start = w->len;
	uint8_t *h = grow(w, 16);
	if (h == NULL)
		return;
	h[0] = 'l', h[1] = PAMSD_MSG_CALL, h[2] = 0, h[3] = 1;
	put_le32(h + 4, (uint32_t)body->len);
	put_le32(h + 8, serial);
	size_t fields = w->len;
	field(w, 1, "o", path);
	field(w, 2, "s", iface);
	field(w, 3, "s", member);
	if (dest != NULL)
		field(w, 6, "s", dest);
	if (sig[0] != '\0')
		field(w, 8, "g", sig);
	if (w->oom)
		return;
	put_le32(w->p + start + 12, (uint32_t)(w->len - fields));
	pamsd_put_align(w, 8);
	uint8_t *b = grow(w, body->len);
	if (b != NULL && body->len > 0)
		memcpy(b, body->p, body->len);
}

/* A reader over one message; alignment is relative to base. */
struct rd {
	const uint8_t *base;
	size_t pos, end;
	int be, bad;
};

static void rd_align(struct rd *r, size_t a)
{
	size_t p = (r->pos + a - 1) / a * a;
	if (p > r->end)
		r->bad = 1;
	else
		r->pos = p;
}

static const uint8_t *rd_take(struct rd *r, size_t n)
{
	if (r->bad || n > r->end - r->pos) {
		r->bad = 1;
		return NULL;
	}
	const uint8_t *p = r->base + r->pos;
	r->pos += n;
	return p;
}

static uint32_t get32(const uint8_t *p, int be)
{
	if (be)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint32_t rd_u32(struct rd *r)
{
	rd_align(r, 4);
	const uint8_t *p = rd_take(r, 4);
	return p == NULL ? 0 : get32(p, r->be);
}

/* rd_str reads a string or object path: NUL-terminated, none inside. */
static const char *rd_str(struct rd *r)
{
	uint32_t n = rd_u32(r);
	const uint8_t *p = rd_take(r, (size_t)n + 1);
	if (p == NULL || p[n] != 0 || memchr(p, 0, n) != NULL) {
		r->bad = 1;
		return NULL;
	}
	return (const char *)p;
}

static const char *rd_sig(struct rd *r)
{
	const uint8_t *n = rd_take(r, 1);
	if (n == NULL)
		return NULL;
	const uint8_t *p = rd_take(r, (size_t)*n + 1);
	if (p == NULL || p[*n] != 0 || memchr(p, 0, *n) != NULL) {
		r->bad = 1;
		return NULL;
	}
	return (const char *)p;
}

/* The containers' nesting is bounded, as the spec bounds it (32 arrays
 * and 32 structs deep). */
#define MAX_DEPTH 64

/* sig_next is the end of the one complete type at s, NULL if s does not
 * start with one. */
static const char *sig_next(const char *s, int depth)
{
	if (depth > MAX_DEPTH)
		return NULL;
	switch (*s) {
	case 'y': case 'b': case 'n': case 'q': case 'i': case 'u': case 'x': case 't':
	case 'd': case 's': case 'o': case 'g': case 'h': case 'v':
		return s + 1;
	case 'a':
		return sig_next(s + 1, depth + 1);
	case '(': {
		const char *p = s + 1;
		if (*p == ')')
			return NULL;
		while (*p != ')') {
			p = sig_next(p, depth + 1);
			if (p == NULL)
				return NULL;
		}
		return p + 1;
	}
	case '{': {
		/* A dict entry: a basic key and one value, only inside an array
		 * (the caller's business: it is read the same either way). */
		const char *p = sig_next(s + 1, depth + 1);
		if (p == NULL || p != s + 2)
			return NULL;
		p = sig_next(p, depth + 1);
		if (p == NULL || *p != '}')
			return NULL;
		return p + 1;
	}
	default:
		return NULL;
	}
}

static size_t align_of(char c)
{
	switch (c) {
	case 'n': case 'q': return 2;
	case 'b': case 'i': case 'u': case 'h': case 's': case 'o': case 'a': return 4;
	case 'x': case 't': case 'd': case '(': case '{': return 8;
	default: return 1;
	}
}

/* skip reads past one value of the complete type at *s and moves *s past
 * the type. */
static void skip(struct rd *r, const char **s, int depth)
{
	const char *t = *s, *next = sig_next(t, 0);
	if (next == NULL || depth > MAX_DEPTH) {
		r->bad = 1;
		return;
	}
	*s = next;
	switch (*t) {
	case 'y': rd_take(r, 1); break;
	case 'n': case 'q': rd_align(r, 2); rd_take(r, 2); break;
	case 'b': case 'i': case 'u': case 'h': rd_u32(r); break;
	case 'x': case 't': case 'd': rd_align(r, 8); rd_take(r, 8); break;
	case 's': case 'o': rd_str(r); break;
	case 'g': rd_sig(r); break;
	case 'v': {
		const char *vs = rd_sig(r);
		if (vs == NULL)
			return;
		const char *end = sig_next(vs, 0);
		if (end == NULL || *end != '\0') {
			r->bad = 1;
			return;
		}
		skip(r, &vs, depth + 1);
		break;
	}
	case 'a': {
		uint32_t n = rd_u32(r);
		rd_align(r, align_of(t[1]));
		if (r->bad || n > r->end - r->pos) {
			r->bad = 1;
			return;
		}
		size_t stop = r->pos + n;
		while (!r->bad && r->pos < stop) {
			const char *e = t + 1;
			skip(r, &e, depth + 1);
		}
		if (r->pos != stop)
			r->bad = 1;
		break;
	}
	case '(': case '{': {
		rd_align(r, 8);
		const char *e = t + 1;
		while (!r->bad && *e != ')' && *e != '}')
			skip(r, &e, depth + 1);
		break;
	}
	}
}

long pamsd_wire_parse(const uint8_t *b, size_t n, struct pamsd_msg *m)
{
	if (n < 16)
		return 0;
	if ((b[0] != 'l' && b[0] != 'B') || b[3] != 1)
		return -1;
	int be = b[0] == 'B';
	uint32_t body_len = get32(b + 4, be), fields_len = get32(b + 12, be);
	if (body_len > PAMSD_WIRE_MAX || fields_len > PAMSD_WIRE_MAX)
		return -1;
	size_t hdr = (16 + (size_t)fields_len + 7) / 8 * 8, total = hdr + body_len;
	if (total > PAMSD_WIRE_MAX)
		return -1;
	if (n < total)
		return 0;
	memset(m, 0, sizeof *m);
	m->type = b[1];
	m->big_endian = be;
	m->serial = get32(b + 8, be);
	m->signature = "";
	if (m->type < PAMSD_MSG_CALL || m->type > PAMSD_MSG_SIGNAL || m->serial == 0)
		return -1;
	struct rd r = {.base = b, .pos = 16, .end = 16 + (size_t)fields_len, .be = be};
	while (!r.bad && r.pos < r.end) {
		rd_align(&r, 8);
		const uint8_t *code = rd_take(&r, 1);
		const char *vs = rd_sig(&r);
		if (code == NULL || vs == NULL)
			break;
		const char *end = sig_next(vs, 0);
		if (end == NULL || *end != '\0') {
			r.bad = 1;
			break;
		}
		/* The fields' types are fixed by the spec; a known code with
		 * another type is a broken message. Unknown fields are skipped. */
		static const char known[] = {0, 'o', 's', 's', 's', 'u', 's', 's', 'g', 'u'};
		if (*code >= 1 && *code <= 9 && (vs[0] != known[*code] || vs[1] != '\0')) {
			r.bad = 1;
			break;
		}
		switch (*code) {
		case 4: m->error_name = rd_str(&r); break;
		case 5: m->reply_serial = rd_u32(&r), m->has_reply_serial = 1; break;
		case 8: m->signature = rd_sig(&r); break;
		case 9: m->unix_fds = rd_u32(&r); break;
		default: skip(&r, &vs, 0); break;
		}
	}
	if (r.bad || r.pos != r.end)
		return -1;
	if (m->signature == NULL)
		return -1;
	if (m->type == PAMSD_MSG_ERROR && (m->error_name == NULL || !m->has_reply_serial))
		return -1;
	if (m->type == PAMSD_MSG_RETURN && !m->has_reply_serial)
		return -1;
	m->body = b + hdr;
	m->body_len = body_len;
	return (long)total;
}

/* body_reader reads m's body; alignment is relative to its start, which
 * is 8-aligned in the message. */
static struct rd body_reader(const struct pamsd_msg *m)
{
	return (struct rd){.base = m->body, .pos = 0, .end = m->body_len, .be = m->big_endian};
}

int pamsd_wire_create_reply(const struct pamsd_msg *m, struct pamsd_create_reply *out, const char **why)
{
	if (strcmp(m->signature, "soshusub") != 0) {
		*why = "signature";
		return -1;
	}
	struct rd r = body_reader(m);
	out->id = rd_str(&r);
	out->object_path = rd_str(&r);
	out->runtime_path = rd_str(&r);
	out->fd_index = rd_u32(&r);
	out->uid = rd_u32(&r);
	out->seat = rd_str(&r);
	out->vtnr = rd_u32(&r);
	out->existing = rd_u32(&r);
	if (r.bad || out->existing > 1) {
		*why = "malformed body";
		return -1;
	}
	return 0;
}

const char *pamsd_wire_error_text(const struct pamsd_msg *m)
{
	if (m->signature[0] != 's')
		return "";
	struct rd r = body_reader(m);
	const char *s = rd_str(&r);
	return s != NULL && !r.bad ? s : "";
}

int pamsd_valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t c = *p;
		int n;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, c &= 0x07;
		} else {
			return 0;
		}
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i] & 0x3f);
		}
		static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
		if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}
