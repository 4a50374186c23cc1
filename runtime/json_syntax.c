/* json_syntax.c - JSON syntax for the JSON-RPC codec (json.h).
 *
 * The scanner finds where one complete top-level value ends in a stream
 * without framing, validating its syntax as Go's scanner does and with
 * Go's error texts ("invalid character 'x' looking for beginning of
 * value"), bounding nesting by JSON_MAX_DEPTH. It stops only at token
 * boundaries and records where (scan_resume), so that a message arriving
 * in many reads is scanned once, linearly. The cursor (jcur) then reads
 * values out of accepted text, still checking every bound. Nothing here
 * allocates except rpci_json_cur_string's result.
 */
#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "internal.h"
#include "json.h"

void rpci_json_scan_reset(scan_resume *r)
{
	r->pos = 0;
	r->start = 0;
	r->at = SCAN_AT_START;
	r->depth = 0;
	r->str_next = 0;
}

/* ---- UTF-8 -------------------------------------------------------------- */

/* rpci_json_utf8_decode decodes one rune at s[0..n) as Go's utf8.DecodeRune
 * does. Returns its length, or 0 if the bytes are not valid UTF-8. */
size_t rpci_json_utf8_decode(const uint8_t *s, size_t n, uint32_t *r)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xBF;
	size_t len, i;
	uint32_t v;

	if (c < 0x80) {
		*r = c;
		return 1;
	} else if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
		v = v << 6 | (s[i] & 0x3F);
	}
	*r = v;
	return len;
}

static size_t utf8_encode(uint32_t r, uint8_t *out)
{
	if (r < 0x80) {
		out[0] = (uint8_t)r;
		return 1;
	} else if (r < 0x800) {
		out[0] = (uint8_t)(0xC0 | r >> 6);
		out[1] = (uint8_t)(0x80 | (r & 0x3F));
		return 2;
	} else if (r < 0x10000) {
		out[0] = (uint8_t)(0xE0 | r >> 12);
		out[1] = (uint8_t)(0x80 | (r >> 6 & 0x3F));
		out[2] = (uint8_t)(0x80 | (r & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | r >> 18);
	out[1] = (uint8_t)(0x80 | (r >> 12 & 0x3F));
	out[2] = (uint8_t)(0x80 | (r >> 6 & 0x3F));
	out[3] = (uint8_t)(0x80 | (r & 0x3F));
	return 4;
}

/* ---- scanning: where does one value end? --------------------------------- */

bool rpci_json_is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* rpci_json_quote_char spells c the way Go's scanner error messages do (a byte
 * is taken as the rune of the same value, quoted by strconv.Quote). */
void rpci_json_quote_char(uint8_t c, char *out, size_t n)
{
	static const char esc[] = "\aa\bb\ff\nn\rr\tt\vv\\\\";
	const char *e = c != 0 ? strchr(esc, c) : NULL;

	if (c == '\'')
		snprintf(out, n, "'\\''");
	else if (e != NULL && (e - esc) % 2 == 0)
		snprintf(out, n, "'\\%c'", e[1]);
	else if (c < 0x20 || c == 0x7F)
		snprintf(out, n, "'\\x%02x'", c);
	else if (c < 0x7F)
		snprintf(out, n, "'%c'", c);
	else if (c <= 0xA0 || c == 0xAD) /* not printable: \u escape */
		snprintf(out, n, "'\\u%04x'", c);
	else /* Latin-1, printable: its UTF-8 */
		snprintf(out, n, "'%c%c'", 0xC0 | c >> 6, 0x80 | (c & 0x3F));
}

static scan_status scan_fail(scanner *sc, uint8_t c, const char *context)
{
	char q[16];

	rpci_json_quote_char(c, q, sizeof q);
	snprintf(sc->err, sizeof sc->err, "invalid character %s %s", q,
	         context);
	return SCAN_ERROR;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* scan_string: sc->pos is at the opening quote. A string the input ends
 * in is noted in r up to its last whole character or escape, and the
 * next scan of it goes on from there: scanning it from its quote on every
 * read made a 16 MiB JSON body quadratic. */
static scan_status scan_string(scanner *sc, scan_resume *r)
{
	size_t quote = sc->pos, i = quote + 1, esc;
	int k;

	if (r->str_next != 0 && r->str_quote == quote && r->str_next > i)
		i = r->str_next;
	r->str_next = 0;
	while (i < sc->len) {
		uint8_t c = sc->in[i];

		if (c == '"') {
			sc->pos = i + 1;
			return SCAN_OK;
		}
		if (c < 0x20)
			return scan_fail(sc, c, "in string literal");
		if (c != '\\') {
			i++;
			continue;
		}
		esc = i;
		if (++i >= sc->len)
			goto again;
		c = sc->in[i];
		if (strchr("\"\\/bfnrt", c) != NULL && c != '\0') {
			i++;
			continue;
		}
		if (c != 'u')
			return scan_fail(sc, c, "in string escape code");
		for (k = 0, i++; k < 4; k++, i++) {
			if (i >= sc->len)
				goto again;
			if (hexval(sc->in[i]) < 0)
				return scan_fail(
				    sc, sc->in[i],
				    "in \\u hexadecimal character escape");
		}
	}
	esc = i;
again:
	r->str_quote = quote;
	r->str_next = esc;
	return SCAN_AGAIN;
}

/* scan_number: sc->pos is at '-' or a digit. A number that reaches the end
 * of the input may go on: SCAN_AGAIN. */
static scan_status scan_number(scanner *sc)
{
	size_t i = sc->pos;
	const uint8_t *in = sc->in;

#define NEED()                                                                 \
	do {                                                                   \
		if (i >= sc->len)                                              \
			return SCAN_AGAIN;                                     \
	} while (0)
	if (in[i] == '-') {
		i++;
		NEED();
		if (!isdigit(in[i]))
			return scan_fail(sc, in[i], "in numeric literal");
	}
	if (in[i] == '0') {
		i++;
	} else {
		while (i < sc->len && isdigit(in[i]))
			i++;
	}
	NEED();
	if (in[i] == '.') {
		i++;
		NEED();
		if (!isdigit(in[i]))
			return scan_fail(
			    sc, in[i],
			    "after decimal point in numeric literal");
		while (i < sc->len && isdigit(in[i]))
			i++;
		NEED();
	}
	if (in[i] == 'e' || in[i] == 'E') {
		i++;
		NEED();
		if (in[i] == '+' || in[i] == '-') {
			i++;
			NEED();
		}
		if (!isdigit(in[i]))
			return scan_fail(sc, in[i],
			                 "in exponent of numeric literal");
		while (i < sc->len && isdigit(in[i]))
			i++;
		NEED();
	}
#undef NEED
	sc->pos = i;
	return SCAN_OK;
}

static scan_status scan_literal(scanner *sc, const char *word)
{
	size_t i, n = strlen(word);
	char ctx[48];

	for (i = 1; i < n; i++) {
		if (sc->pos + i >= sc->len)
			return SCAN_AGAIN;
		if (sc->in[sc->pos + i] != (uint8_t)word[i]) {
			snprintf(ctx, sizeof ctx,
			         "in literal %s (expecting '%c')", word,
			         word[i]);
			return scan_fail(sc, sc->in[sc->pos + i], ctx);
		}
	}
	sc->pos += n;
	return SCAN_OK;
}

static bool scan_space(scanner *sc)
{
	while (sc->pos < sc->len && rpci_json_is_space(sc->in[sc->pos]))
		sc->pos++;
	return sc->pos < sc->len;
}

/* rpci_json_scan finds one complete value in in[0..len) after optional white
 * space: [*start, *end). Iterative, so depth costs no C stack; resumable
 * through r. */
scan_status rpci_json_scan(scanner *sc, scan_resume *r, size_t *start,
                           size_t *end)
{
	size_t ck_pos;
	int ck_at, ck_depth;
	scan_status st;
	uint8_t c;

#define CHECKPOINT(where)                                                      \
	(ck_pos = sc->pos, ck_at = (where), ck_depth = r->depth)
#define AGAIN()                                                                \
	do {                                                                   \
		r->pos = ck_pos;                                               \
		r->at = ck_at;                                                 \
		r->depth = ck_depth;                                           \
		return SCAN_AGAIN;                                             \
	} while (0)
	if (r->pos > sc->len)
		rpci_json_scan_reset(r); /* not the bytes we saw: start over */
	sc->pos = r->pos;
	switch (r->at) {
	case SCAN_AT_VALUE:
		goto value;
	case SCAN_AT_AFTER:
		goto after;
	case SCAN_AT_KEY:
		goto key;
	default:
		break;
	}
	if (!scan_space(sc)) {
		CHECKPOINT(SCAN_AT_START);
		AGAIN();
	}
	r->start = sc->pos;
	r->depth = 0;
value:
	CHECKPOINT(SCAN_AT_VALUE);
	c = sc->in[sc->pos];
	switch (c) {
	case '{':
	case '[':
		if (r->depth == JSON_MAX_DEPTH) {
			snprintf(sc->err, sizeof sc->err,
			         "rpc: json: nesting deeper than %d",
			         JSON_MAX_DEPTH);
			return SCAN_ERROR;
		}
		r->stack[r->depth++] = (char)c;
		sc->pos++;
		if (!scan_space(sc))
			AGAIN();
		if (sc->in[sc->pos] == (c == '{' ? '}' : ']')) {
			sc->pos++;
			r->depth--;
			goto after;
		}
		if (c == '{')
			goto key;
		goto value;
	case '"':
		st = scan_string(sc, r);
		break;
	case 't':
		st = scan_literal(sc, "true");
		break;
	case 'f':
		st = scan_literal(sc, "false");
		break;
	case 'n':
		st = scan_literal(sc, "null");
		break;
	default:
		if (c == '-' || isdigit(c)) {
			st = scan_number(sc);
			break;
		}
		return scan_fail(sc, c, "looking for beginning of value");
	}
	if (st == SCAN_AGAIN)
		AGAIN();
	if (st != SCAN_OK)
		return st;
after:
	CHECKPOINT(SCAN_AT_AFTER);
	if (r->depth == 0) {
		*start = r->start;
		*end = sc->pos;
		return SCAN_OK;
	}
	if (!scan_space(sc))
		AGAIN();
	c = sc->in[sc->pos];
	if (r->stack[r->depth - 1] == '{') {
		if (c == ',') {
			sc->pos++;
			if (!scan_space(sc))
				AGAIN();
			goto key;
		}
		if (c != '}')
			return scan_fail(sc, c, "after object key:value pair");
	} else {
		if (c == ',') {
			sc->pos++;
			if (!scan_space(sc))
				AGAIN();
			goto value;
		}
		if (c != ']')
			return scan_fail(sc, c, "after array element");
	}
	sc->pos++;
	r->depth--;
	goto after;
key:
	CHECKPOINT(SCAN_AT_KEY);
	c = sc->in[sc->pos];
	if (c != '"')
		return scan_fail(sc, c,
		                 "looking for beginning of object key string");
	if ((st = scan_string(sc, r)) == SCAN_AGAIN)
		AGAIN();
	if (st != SCAN_OK)
		return st;
	if (!scan_space(sc))
		AGAIN();
	c = sc->in[sc->pos];
	if (c != ':')
		return scan_fail(sc, c, "after object key");
	sc->pos++;
	if (!scan_space(sc))
		AGAIN();
	goto value;
#undef CHECKPOINT
#undef AGAIN
}

/* ---- reading validated JSON -------------------------------------------------
 *
 * Everything below reads text rpci_json_scan accepted, but still checks every
 * bound: a mismatch is reported as a protocol error, never read past. */

void rpci_json_cur_space(jcur *c)
{
	while (c->p < c->end && rpci_json_is_space(*c->p))
		c->p++;
}

int rpci_json_cur_peek(jcur *c)
{
	rpci_json_cur_space(c);
	return c->p < c->end ? *c->p : -1;
}

bool rpci_json_cur_eat(jcur *c, uint8_t ch)
{
	if (rpci_json_cur_peek(c) != ch)
		return false;
	c->p++;
	return true;
}

/* rpci_json_cur_skip steps over one value; on success c->p is just past it. */
bool rpci_json_cur_skip(jcur *c)
{
	size_t depth = 0;
	int ch = rpci_json_cur_peek(c);

	if (ch < 0)
		return false;
	do {
		if (c->p >= c->end)
			return false;
		ch = *c->p;
		if (ch == '"') {
			for (c->p++; c->p < c->end && *c->p != '"'; c->p++)
				if (*c->p == '\\')
					c->p++;
			if (c->p >= c->end)
				return false;
			c->p++;
		} else if (ch == '{' || ch == '[') {
			depth++;
			c->p++;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0)
				return false;
			depth--;
			c->p++;
		} else if (ch == ',' || ch == ':' ||
		           rpci_json_is_space((uint8_t)ch)) {
			if (depth == 0)
				return false;
			c->p++;
		} else {
			/* a number or literal: up to the next delimiter */
			while (c->p < c->end &&
			       strchr(",:]} \t\r\n", *c->p) == NULL)
				c->p++;
		}
	} while (depth > 0);
	return true;
}

/* rpci_json_cur_string decodes the string at c->p as Go does (invalid UTF-8 and
 * lone surrogates become U+FFFD). *out is malloc'd and NUL-terminated; *has_nul
 * says whether the text itself holds a NUL. */
rpc_error *rpci_json_cur_string(jcur *c, char **out, size_t *out_len,
                                bool *has_nul)
{
	return rpci_json_cur_text(c, false, out, out_len, has_nul);
}

/* rpci_json_cur_text is rpci_json_cur_string; with big, *out comes from
 * rpci_big_malloc (a big block when large; free with rpci_big_free). The
 * buffer is sized for the worst case (3 bytes out per byte in); a big one
 * gives back the pages past the text. */
rpc_error *rpci_json_cur_text(jcur *c, bool big, char **out, size_t *out_len,
                              bool *has_nul)
{
	const uint8_t *s, *q;
	uint8_t *buf, *w;
	size_t n;
	uint32_t r, r2;

	if (!rpci_json_cur_eat(c, '"'))
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "rpc: json: string expected");
	for (q = c->p; q < c->end && *q != '"'; q++)
		if (*q == '\\')
			q++;
	if (q >= c->end)
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "rpc: json: unterminated string");
	n = (size_t)(q - c->p);
	if (n > (SIZE_MAX - 1) / 3)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	buf = big ? rpci_big_malloc(n * 3 + 1) : malloc(n * 3 + 1);
	if (buf == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	*has_nul = false;
	for (s = c->p, w = buf; s < q;) {
		if (*s == '\\' && s + 1 < q) {
			s++;
			switch (*s++) {
			case 'b':
				*w++ = '\b';
				continue;
			case 'f':
				*w++ = '\f';
				continue;
			case 'n':
				*w++ = '\n';
				continue;
			case 'r':
				*w++ = '\r';
				continue;
			case 't':
				*w++ = '\t';
				continue;
			case 'u':
				break;
			default:
				*w++ = s[-1];
				continue;
			}
			if (q - s < 4)
				goto bad;
			r = (uint32_t)(hexval(s[0]) << 12 | hexval(s[1]) << 8 |
			               hexval(s[2]) << 4 | hexval(s[3]));
			s += 4;
			if (r >= 0xD800 && r < 0xDC00 && q - s >= 6 &&
			    s[0] == '\\' && s[1] == 'u') {
				r2 = (uint32_t)(hexval(s[2]) << 12 |
				                hexval(s[3]) << 8 |
				                hexval(s[4]) << 4 |
				                hexval(s[5]));
				if (r2 >= 0xDC00 && r2 < 0xE000) {
					r = 0x10000 + ((r - 0xD800) << 10) +
					    (r2 - 0xDC00);
					s += 6;
				}
			}
			if (r >= 0xD800 && r < 0xE000)
				r = 0xFFFD;
			if (r == 0)
				*has_nul = true;
			w += utf8_encode(r, w);
		} else if (*s < 0x80) {
			*w++ = *s++;
		} else {
			size_t k =
			    rpci_json_utf8_decode(s, (size_t)(q - s), &r);

			if (k == 0) {
				w += utf8_encode(0xFFFD, w);
				s++;
			} else {
				memcpy(w, s, k);
				w += k;
				s += k;
			}
		}
	}
	*w = '\0';
	c->p = q + 1;
	if (big && (size_t)(w - buf) + 1 >= RPCI_BIG) {
		size_t used = (size_t)(w - buf) + 1;
		uint8_t *fit = rpci_big_realloc(buf, used, used);
		if (fit != NULL) /* else keep the larger block */
			w = fit + (w - buf), buf = fit;
	}
	*out = (char *)buf;
	if (out_len != NULL)
		*out_len = (size_t)(w - buf);
	return NULL;
bad:
	rpci_big_free(buf);
	return rpci_error(RPC_ERR_PROTOCOL, "rpc: json: bad string escape");
}

/* rpci_json_cur_number returns the text of the number at c->p. */
bool rpci_json_cur_number(jcur *c, const char **text, size_t *len)
{
	const uint8_t *s;
	int ch = rpci_json_cur_peek(c);

	if (ch != '-' && !(ch >= '0' && ch <= '9'))
		return false;
	for (s = c->p;
	     c->p < c->end && strchr("+-.eE0123456789", *c->p) != NULL &&
	     *c->p != '\0';
	     c->p++)
		;
	*text = (const char *)s;
	*len = (size_t)(c->p - s);
	return true;
}

/* rpci_json_kind_of names the JSON value at c->p the way Go's
 * UnmarshalTypeError does. */
const char *rpci_json_kind_of(jcur *c)
{
	switch (rpci_json_cur_peek(c)) {
	case '{':
		return "object";
	case '[':
		return "array";
	case '"':
		return "string";
	case 't':
	case 'f':
		return "bool";
	case 'n':
		return "null";
	default:
		return "number";
	}
}
