/* frame.c - native framing: length-prefixed frames with a small header.
 *
 *   frame   = length (u32, big-endian) payload
 *   payload = varint len, service-method bytes
 *             varint seq
 *             varint len, slot bytes: responses: the error text;
 *                                     requests: options (below)
 *             body bytes (the rest of the payload)
 *   options = protobuf fields; field 1, varint: the caller's time left in
 *             microseconds. Unknown fields are skipped by wire type.
 *
 * Requests used to carry an always empty error in the third slot and
 * readers of that time ignored it; so a request without options is the
 * old frame byte for byte, and an old server reading a request with a
 * timeout sees a short "error" without NUL bytes (a non-zero varint has
 * none) and ignores it. The reader never trusts a length: the frame length
 * is checked against the configured maximum before the caller is asked to
 * buffer more, and every inner length is checked against what is left of
 * the payload. Header strings may not contain NUL bytes, so they can be
 * handed on as C strings.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "internal.h"

size_t rpci_varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

size_t rpci_varint_get(const uint8_t *p, size_t len, uint64_t *v)
{
	uint64_t r = 0;
	size_t i;

	for (i = 0; i < RPCI_VARINT_MAX; i++) {
		if (i == len)
			return 0;
		if (i == RPCI_VARINT_MAX - 1 && p[i] > 1)
			return SIZE_MAX; /* bits beyond 64 */
		r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			*v = r;
			return i + 1;
		}
	}
	return SIZE_MAX;
}

static uint32_t frame_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* frame_bytes takes one varint-prefixed byte string from p[*off..end). */
static bool frame_bytes(const uint8_t *p, size_t end, size_t *off,
                        const char **s, size_t *slen)
{
	uint64_t n;
	size_t k = rpci_varint_get(p + *off, end - *off, &n);

	if (k == 0 || k == SIZE_MAX)
		return false;
	*off += k;
	if (n > end - *off)
		return false;
	*s = (const char *)(p + *off);
	*slen = (size_t)n;
	*off += (size_t)n;
	return true;
}

/* frame_string is frame_bytes for a text without NUL bytes. */
static bool frame_string(const uint8_t *p, size_t end, size_t *off,
                         const char **s, size_t *slen)
{
	return frame_bytes(p, end, off, s, slen) &&
	       memchr(*s, '\0', *slen) == NULL;
}

/* frame_options reads a request's options from p[0..n). */
static bool frame_options(const uint8_t *p, size_t n, uint64_t *timeout_us)
{
	uint64_t key, v;
	size_t off = 0, k;

	*timeout_us = 0;
	while (off < n) {
		k = rpci_varint_get(p + off, n - off, &key);
		if (k == 0 || k == SIZE_MAX || key >> 3 == 0)
			return false;
		off += k;
		switch (key & 7) {
		case 0: /* varint */
			k = rpci_varint_get(p + off, n - off, &v);
			if (k == 0 || k == SIZE_MAX)
				return false;
			off += k;
			if (key >> 3 == 1)
				*timeout_us = v;
			break;
		case 1: /* 64-bit */
			if (n - off < 8)
				return false;
			off += 8;
			break;
		case 2: /* length-delimited */
			k = rpci_varint_get(p + off, n - off, &v);
			if (k == 0 || k == SIZE_MAX || v > n - off - k)
				return false;
			off += k + (size_t)v;
			break;
		case 5: /* 32-bit */
			if (n - off < 4)
				return false;
			off += 4;
			break;
		default:
			return false;
		}
		if (key >> 3 == 1 && (key & 7) != 0)
			return false; /* field 1 is a varint */
	}
	return true;
}

size_t rpci_frame_need(const uint8_t *in, size_t len, size_t max_frame)
{
	size_t n;

	if (len < RPCI_FRAME_PREFIX)
		return 0;
	n = frame_get_u32(in);
	return n > max_frame ? 0 : RPCI_FRAME_PREFIX + n;
}

rpci_read_status rpci_frame_read(const uint8_t *in, size_t len,
                                 size_t max_frame, bool request, size_t *used,
                                 rpci_frame *f, rpc_error **err)
{
	size_t n, off, end, k;
	rpci_frame fr;

	if (len < RPCI_FRAME_PREFIX)
		return RPCI_READ_AGAIN;
	n = frame_get_u32(in);
	if (n > max_frame) {
		*err = rpci_error(RPC_ERR_PROTOCOL,
		                  "rpc: frame of %zu bytes exceeds the maximum "
		                  "of %zu",
		                  n, max_frame);
		return RPCI_READ_ERROR;
	}
	if (len - RPCI_FRAME_PREFIX < n)
		return RPCI_READ_AGAIN;
	off = RPCI_FRAME_PREFIX;
	end = RPCI_FRAME_PREFIX + n;
	if (!frame_string(in, end, &off, &fr.service_method,
	                  &fr.service_method_len))
		goto malformed;
	k = rpci_varint_get(in + off, end - off, &fr.seq);
	if (k == 0 || k == SIZE_MAX)
		goto malformed;
	off += k;
	fr.timeout_us = 0;
	if (request) {
		if (!frame_bytes(in, end, &off, &fr.error, &fr.error_len) ||
		    !frame_options((const uint8_t *)fr.error, fr.error_len,
		                   &fr.timeout_us))
			goto malformed;
		fr.error = "";
		fr.error_len = 0;
	} else if (!frame_string(in, end, &off, &fr.error, &fr.error_len)) {
		goto malformed;
	}
	fr.body = in + off;
	fr.body_len = end - off;
	*f = fr;
	*used = end;
	return RPCI_READ_OK;

malformed:
	*err =
	    rpci_error(RPC_ERR_PROTOCOL,
	               "rpc: malformed frame header (frame of %zu bytes)", n);
	return RPCI_READ_ERROR;
}

static bool frame_put_string(rpci_buf *out, const char *s)
{
	size_t n = s == NULL ? 0 : strlen(s);
	uint8_t v[RPCI_VARINT_MAX];

	return rpci_buf_append(out, v, rpci_varint_put(v, n)) &&
	       rpci_buf_append(out, s, n);
}

/* frame_put_options writes a request's options slot: field 1, the time
 * left. */
static bool frame_put_options(rpci_buf *out, uint64_t timeout_us)
{
	uint8_t v[1 + 1 + RPCI_VARINT_MAX];
	size_t n = rpci_varint_put(v + 2, timeout_us);

	v[0] = (uint8_t)(n + 1); /* the slot's length: at most 11 */
	v[1] = 0x08;             /* field 1, varint */
	return rpci_buf_append(out, v, n + 2);
}

bool rpci_frame_begin(rpci_buf *out, const rpci_header *h, size_t *start)
{
	static const uint8_t zero[RPCI_FRAME_PREFIX];
	size_t old = out->len;
	uint8_t v[RPCI_VARINT_MAX];

	assert(h->timeout_us == 0 || h->error == NULL || h->error[0] == '\0');
	if (!rpci_buf_append(out, zero, sizeof zero) ||
	    !frame_put_string(out, h->service_method) ||
	    !rpci_buf_append(out, v, rpci_varint_put(v, h->seq)) ||
	    !(h->timeout_us != 0 ? frame_put_options(out, h->timeout_us)
	                         : frame_put_string(out, h->error))) {
		out->len = old;
		return false;
	}
	*start = old;
	return true;
}

rpc_error *rpci_frame_finish(rpci_buf *out, size_t start, size_t max_frame)
{
	size_t n = out->len - start - RPCI_FRAME_PREFIX;
	uint8_t *p = out->data + start;

	if (n > max_frame || n > UINT32_MAX) {
		out->len = start;
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "rpc: frame of %zu bytes exceeds the maximum "
		                  "of %zu",
		                  n, max_frame);
	}
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	return NULL;
}
