/* sniff.c - what a peer speaks, from the first bytes it sent.
 *
 * A client of one codec dialling a listener of another fails in ways that
 * say nothing useful: a gob stream read as native framing is a frame of
 * 805,273,859 bytes, an HTTP response read as gob waits for 72 bytes that
 * never come. The server (conn.c) and the client (client.c) look at the
 * first bytes of a connection here, only when their codec could not read
 * its first message, and name the likely mismatch instead.
 *
 * Each protocol is recognised by how it must start:
 *   protobuf  a frame: 4-byte big-endian length below 16 MiB (first byte
 *             0, never the first byte of the others), then the
 *             service-method's length and printable text;
 *   gob       a message count, then a negative type id: every gob stream
 *             opens with the definition of net/rpc's Request or Response
 *             (id 65 and up: bytes ff 81.. or fe ...);
 *   json      '{' then '"' or '}' (whitespace allowed around);
 *   HTTP      a request line "METHOD " with one of HTTP's methods, or a
 *             response line "HTTP/";
 *   TLS       a record header: content type 22 (handshake; a ClientHello
 *             from a client) or 21 (alert), version 3.x.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const sniff_methods[] = {
    "GET ",     "POST ",  "PUT ",   "HEAD ",    "DELETE ",
    "OPTIONS ", "PATCH ", "TRACE ", "CONNECT ", "PRI ",
};

/* sniff_prefix: 1 when p[0..len) starts with s, -1 when it is a proper
 * prefix of s (more bytes could still make it), 0 otherwise. */
static int sniff_prefix(const uint8_t *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (memcmp(p, s, len < n ? len : n) != 0)
		return 0;
	return len >= n ? 1 : -1;
}

static size_t sniff_space(const uint8_t *p, size_t len, size_t i)
{
	while (i < len &&
	       (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i;
}

static rpci_sniff_kind sniff_protobuf(const uint8_t *p, size_t len)
{
	size_t n, sm;

	if (len < 5)
		return RPCI_SNIFF_MORE;
	n = (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	sm = p[4];
	/* the service-method's length, its seq and the error's length */
	if (sm == 0 || sm >= 0x80 || n < sm + 3)
		return RPCI_SNIFF_UNKNOWN;
	for (size_t i = 5; i < len && i < 5 + sm; i++)
		if (p[i] < 0x20 || p[i] >= 0x7f)
			return RPCI_SNIFF_UNKNOWN;
	return RPCI_SNIFF_PROTOBUF;
}

static rpci_sniff_kind sniff_gob(const uint8_t *p, size_t len)
{
	size_t i = 1;

	if (p[0] == 0xff) { /* a count of 128..255 in one more byte */
		if (len < 2)
			return RPCI_SNIFF_MORE;
		if (p[1] < 0x80)
			return RPCI_SNIFF_UNKNOWN;
		i = 2;
	} else if (p[0] >= 0x80) {
		return RPCI_SNIFF_UNKNOWN;
	}
	if (len <= i + 1)
		return RPCI_SNIFF_MORE;
	/* a negative id of 65..127 is ff and an odd byte of 0x81 and up;
	 * larger ones take two bytes after fe */
	if ((p[i] == 0xff && (p[i + 1] & 1) && p[i + 1] >= 0x81) ||
	    p[i] == 0xfe)
		return RPCI_SNIFF_GOB;
	return RPCI_SNIFF_UNKNOWN;
}

rpci_sniff_kind rpci_sniff(const uint8_t *p, size_t len)
{
	bool more = false;
	size_t i;

	if (len == 0)
		return RPCI_SNIFF_MORE;
	if (p[0] == 0x16 || p[0] == 0x15) {
		if (len < 3)
			return RPCI_SNIFF_MORE;
		if (p[1] == 0x03 && p[2] <= 0x04)
			return p[0] == 0x16 ? RPCI_SNIFF_TLS_HELLO
			                    : RPCI_SNIFF_TLS_ALERT;
	}
	for (i = 0; i < sizeof sniff_methods / sizeof *sniff_methods; i++) {
		int m = sniff_prefix(p, len, sniff_methods[i]);
		if (m > 0)
			return RPCI_SNIFF_HTTP_REQUEST;
		more |= m < 0;
	}
	switch (sniff_prefix(p, len, "HTTP/")) {
	case 1:
		return RPCI_SNIFF_HTTP_RESPONSE;
	case -1:
		return RPCI_SNIFF_MORE;
	default:
		break;
	}
	if (more)
		return RPCI_SNIFF_MORE;
	i = sniff_space(p, len, 0);
	if (i < len && p[i] == '{') {
		i = sniff_space(p, len, i + 1);
		if (i == len)
			return RPCI_SNIFF_MORE;
		return p[i] == '"' || p[i] == '}' ? RPCI_SNIFF_JSON
		                                  : RPCI_SNIFF_UNKNOWN;
	}
	if (i == len)
		return RPCI_SNIFF_MORE; /* whitespace so far */
	if (p[0] == 0)
		return sniff_protobuf(p, len);
	return sniff_gob(p, len);
}

const rpc_codec *rpci_sniff_codec(rpci_sniff_kind kind)
{
	switch (kind) {
	case RPCI_SNIFF_PROTOBUF:
		return &rpc_codec_protobuf;
	case RPCI_SNIFF_GOB:
		return &rpc_codec_gob;
	case RPCI_SNIFF_JSON:
		return &rpc_codec_json;
	default:
		return NULL;
	}
}

const char *rpci_sniff_line(const uint8_t *p, size_t len, char *buf, size_t cap)
{
	size_t n = 0, i;

	for (i = 0; i < len && p[i] != '\r' && p[i] != '\n' && n + 4 < cap; i++)
		buf[n++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	if (i < len && p[i] != '\r' && p[i] != '\n' && cap >= 4) {
		while (n + 4 > cap)
			n--;
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	if (cap > 0)
		buf[n < cap ? n : cap - 1] = '\0';
	return buf;
}
