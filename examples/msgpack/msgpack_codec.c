/* msgpack_codec.c - MessagePack-RPC over rpc_codec.h (see msgpack_codec.h
 * for the wire; docs/codecs.md walks through it).
 *
 * Why the mapping is what it is:
 *
 *  - seq is msgid and service_method is method: the two envelopes have the
 *    same parts. A response has no method on the wire; librpc's client
 *    matches replies by seq alone, so read leaves service_method "" there
 *    and the client-side state needs no seq -> method table.
 *  - A response's error is nil or a string, its result nil on error. An
 *    error of another type (other servers send [code, text]) fails that
 *    call with a text naming the type; the connection lives on.
 *  - Bodies are maps keyed by the descriptor's field names: a struct in
 *    Python, Ruby or JavaScript is a dict, and names survive field
 *    renumbering. Builtin arguments and replies (RPC_FORM_VALUE and
 *    RPC_FORM_WRAPPED) are field 1 of a wrapper message in C, and bare on
 *    the wire, as with gob and JSON.
 *
 * Reading. MessagePack-RPC has no length prefix, so read first scans the
 * bytes (mp_scan) to find where the message ends, allocating nothing
 * and checking every announced length and count against max_frame; the
 * scan stops where the bytes run out and resumes there on the next read
 * (the state keeps its offset), so a big message arriving in pieces costs
 * O(n) in all, not O(n^2). need is NULL: the length is known only once
 * the last byte has arrived. The whole message is then read in place with
 * a cursor (mp_cur): the envelope at once, the body (which borrows the
 * input until msg_clear) only in read_body, straight into the protobuf-c
 * message. msgpack-c's msgpack_unpack_next would build an object tree of
 * 24 bytes per object first (24 x max_frame for a message of small
 * integers); msgpack-c serves for writing (msgpack_packer).
 *
 * What stays true: the scan rejects a message longer than max_frame
 * before anything is allocated for it, and every object the cursor reads
 * lies inside the scanned message; nothing recurses on the input's
 * nesting (skipping counts objects, as the scan does) except decoding a
 * struct inside a struct, bounded by MP_MAX_DEPTH; every decoded pointer
 * is attached to the destination message as soon as it is allocated, so
 * rpc_message_free_contents frees a half-decoded message.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "msgpack_codec.h"

#define MP_AT(m, off, type) ((type *)((char *)(m) + (off)))

/* MP_MAX_DEPTH bounds structs nested in structs in one body: the
 * argument or result is level 1. */
#define MP_MAX_DEPTH 32

enum { MP_REQUEST = 0, MP_RESPONSE = 1, MP_NOTIFY = 2 };

/* mp_state is one connection's. Only read touches scan_off and scan_left
 * (the read side); write uses server alone, which never changes. */
typedef struct mp_state {
	bool server;
	size_t max_frame;
	size_t scan_off;    /* bytes of the message at in[0] scanned so far */
	uint64_t scan_left; /* objects still to scan after scan_off; 0: none
	                       started */
} mp_state;

/* ---- the cursor ------------------------------------------------------------
 */

typedef enum mp_kind_t {
	MP_NIL,
	MP_BOOL,
	MP_UINT, /* a non-negative integer: u */
	MP_INT,  /* a negative integer: i */
	MP_FLOAT,
	MP_STR,
	MP_BIN,
	MP_ARRAY, /* n elements follow */
	MP_MAP,   /* n key-value pairs follow */
	MP_EXT,
	MP_BAD, /* 0xc1, or past the end */
} mp_kind_t;

/* mp_obj is one object's header; a string's, binary's or extension's
 * payload is ptr[0..n). */
typedef struct mp_obj {
	mp_kind_t kind;
	bool b;
	uint64_t u;
	int64_t i;
	double f;
	const uint8_t *ptr;
	uint64_t n;
} mp_obj;

/* mp_cur reads objects from p up to end (a message the scan found whole). */
typedef struct mp_cur {
	const uint8_t *p, *end;
} mp_cur;

static uint64_t mp_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* mp_next reads one object's header (and a scalar's, string's or binary's
 * payload) at c->p; MP_BAD when it does not fit before c->end. */
static mp_obj mp_next(mp_cur *c)
{
	mp_obj o = {.kind = MP_BAD};
	size_t avail = (size_t)(c->end - c->p), head = 1, len = 0;
	const uint8_t *p = c->p;

	if (avail == 0)
		return o;
	uint8_t b = p[0];
	if (b <= 0x7f) {
		o.kind = MP_UINT;
		o.u = b;
	} else if (b >= 0xe0) {
		o.kind = MP_INT;
		o.i = (int8_t)b;
	} else if (b <= 0x8f) {
		o.kind = MP_MAP;
		o.n = b & 0x0f;
	} else if (b <= 0x9f) {
		o.kind = MP_ARRAY;
		o.n = b & 0x0f;
	} else if (b <= 0xbf) {
		o.kind = MP_STR;
		len = b & 0x1f;
	} else if (b == 0xc0) {
		o.kind = MP_NIL;
	} else if (b == 0xc2 || b == 0xc3) {
		o.kind = MP_BOOL;
		o.b = b == 0xc3;
	} else if (b == 0xc1) {
		return o;
	} else {
		/* the lengths of c4..df: bin, ext, float, uint, int, fixext,
		 * str, array, map */
		static const uint8_t lenbytes[] = {1, 2, 4, 1, 2, 4, 0, 0, 0, 0,
		                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		                                   0, 1, 2, 4, 2, 4, 2, 4};
		static const uint8_t fixed[] = {0,  0, 0, 1, 1, 1, 4, 8, 1, 2,
		                                4,  8, 1, 2, 4, 8, 2, 3, 5, 9,
		                                17, 0, 0, 0, 0, 0, 0, 0};
		int k = b - 0xc4;
		head = 1 + lenbytes[k];
		if (avail < head)
			return o;
		uint64_t n = mp_be(p + 1, lenbytes[k]);
		if (b >= 0xdc) {
			o.kind = b <= 0xdd ? MP_ARRAY : MP_MAP;
			o.n = n;
		} else if (b <= 0xc6 || (b >= 0xd9 && b <= 0xdb)) {
			o.kind = b <= 0xc6 ? MP_BIN : MP_STR;
			len = n;
		} else if (b <= 0xc9 || (b >= 0xd4 && b <= 0xd8)) {
			o.kind = MP_EXT;
			len = (b <= 0xc9 ? n : 0) + fixed[k];
		} else {
			len = fixed[k];
			if (avail - head < len)
				return o;
			uint64_t v = mp_be(p + head, (int)len);
			if (b == 0xca) {
				float f;
				uint32_t w = (uint32_t)v;
				memcpy(&f, &w, sizeof f);
				o.kind = MP_FLOAT;
				o.f = f;
			} else if (b == 0xcb) {
				memcpy(&o.f, &v, sizeof o.f);
				o.kind = MP_FLOAT;
			} else if (b <= 0xcf) {
				o.kind = MP_UINT;
				o.u = v;
			} else {
				/* sign-extend 1, 2, 4 or 8 bytes */
				int shift = 64 - 8 * (int)len;
				o.i = (int64_t)(v << shift) >> shift;
				o.kind = o.i < 0 ? MP_INT : MP_UINT;
				o.u = (uint64_t)o.i;
			}
		}
	}
	if (avail - head < len) {
		o.kind = MP_BAD;
		return o;
	}
	o.ptr = p + head;
	if (o.kind == MP_STR || o.kind == MP_BIN || o.kind == MP_EXT)
		o.n = len;
	c->p = p + head + len;
	return o;
}

/* mp_skip skips what follows the header o (an array's or map's contents)
 * with a counter, not recursion; false when the input ends first. */
static bool mp_skip(mp_cur *c, const mp_obj *o)
{
	uint64_t left = o->kind == MP_ARRAY ? o->n
	                : o->kind == MP_MAP ? 2 * o->n
	                                    : 0;

	while (left > 0) {
		if (left > (uint64_t)(c->end - c->p))
			return false; /* each object takes a byte at least */
		mp_obj e = mp_next(c);
		if (e.kind == MP_BAD)
			return false;
		left--;
		if (e.kind == MP_ARRAY)
			left += e.n;
		else if (e.kind == MP_MAP)
			left += 2 * e.n;
	}
	return true;
}

/* ---- errors -------------------------------------------------------------- */

static const char *mp_kind(const mp_obj *o)
{
	static const char *const names[] = {
	    [MP_NIL] = "nil",
	    [MP_BOOL] = "bool",
	    [MP_UINT] = "integer",
	    [MP_INT] = "integer",
	    [MP_FLOAT] = "float",
	    [MP_STR] = "string",
	    [MP_BIN] = "binary",
	    [MP_ARRAY] = "array",
	    [MP_MAP] = "map",
	    [MP_EXT] = "extension",
	    [MP_BAD] = "malformed data",
	};
	return names[o->kind];
}

static rpc_error *mp_want(const ProtobufCFieldDescriptor *f, const char *want,
                          const mp_obj *got)
{
	if (f == NULL) /* the whole argument or result */
		return rpc_error_new("msgpack: want %s, got %s", want,
		                     mp_kind(got));
	return rpc_error_new("msgpack: field \"%s\": want %s, got %s", f->name,
	                     want, mp_kind(got));
}

/* ---- state --------------------------------------------------------------- */

static rpc_error *mp_state_new(bool server, size_t max_frame, void **state)
{
	mp_state *s = calloc(1, sizeof *s);

	if (s == NULL)
		return rpc_error_new("msgpack: out of memory");
	s->server = server;
	s->max_frame = max_frame;
	*state = s;
	return NULL;
}

static void mp_state_free(void *state)
{
	free(state);
}

/* ---- reading: the scan --------------------------------------------------- */

typedef enum { SCAN_DONE, SCAN_MORE, SCAN_BAD } scan_result;

/* mp_scan resumes the scan of the message at in[0..len) where the
 * last call stopped. Each object header names how many bytes of payload
 * follow and how many objects it contains (an array n, a map 2n): one
 * counter of objects still to come replaces a stack. Every object takes at
 * least one byte, so a count or a length past max_frame is refused at
 * once. On SCAN_DONE the message is in[0..*end). */
static scan_result mp_scan(mp_state *s, const uint8_t *in, size_t len,
                           size_t *end, const char **why)
{
	size_t off = s->scan_off, max = s->max_frame;
	uint64_t left = s->scan_left;

	if (left == 0) {
		off = 0;
		left = 1;
	}
	while (left > 0) {
		uint64_t payload = 0, objects = 0;
		size_t head = 1;
		uint8_t b;

		if (off >= len)
			break;
		b = in[off];
		if (b <= 0x7f || b >= 0xe0 || (b >= 0xc2 && b <= 0xc3) ||
		    b == 0xc0) {
			/* fixint, nil, bool */
		} else if (b <= 0x8f) {
			objects = 2 * (uint64_t)(b & 0x0f);
		} else if (b <= 0x9f) {
			objects = b & 0x0f;
		} else if (b <= 0xbf) {
			payload = b & 0x1f;
		} else if (b == 0xc1) {
			*why = "msgpack: byte 0xc1 is never used";
			return SCAN_BAD;
		} else {
			/* the rest carry a big-endian length or a fixed size */
			static const struct {
				uint8_t lenbytes, fixed, kind;
			} t[] = {
			    /* c4-c6 bin */ {1, 0, 0},
			    {2, 0, 0},
			    {4, 0, 0},
			    /* c7-c9 ext */ {1, 1, 0},
			    {2, 1, 0},
			    {4, 1, 0},
			    /* ca-cb float */ {0, 4, 0},
			    {0, 8, 0},
			    /* cc-cf uint */ {0, 1, 0},
			    {0, 2, 0},
			    {0, 4, 0},
			    {0, 8, 0},
			    /* d0-d3 int */ {0, 1, 0},
			    {0, 2, 0},
			    {0, 4, 0},
			    {0, 8, 0},
			    /* d4-d8 fixext */ {0, 2, 0},
			    {0, 3, 0},
			    {0, 5, 0},
			    {0, 9, 0},
			    {0, 17, 0},
			    /* d9-db str */ {1, 0, 0},
			    {2, 0, 0},
			    {4, 0, 0},
			    /* dc-dd array */ {2, 0, 1},
			    {4, 0, 1},
			    /* de-df map */ {2, 0, 2},
			    {4, 0, 2},
			};
			int i = b - 0xc4;
			head = 1 + t[i].lenbytes;
			if (len - off < head)
				break;
			uint64_t n = mp_be(in + off + 1, t[i].lenbytes);
			if (t[i].kind == 1)
				objects = n;
			else if (t[i].kind == 2)
				objects = 2 * n;
			else
				payload =
				    t[i].lenbytes ? n + t[i].fixed : t[i].fixed;
		}
		if (payload > max || objects > max) {
			*why = "msgpack: a length in the message exceeds the "
			       "maximum frame size";
			return SCAN_BAD;
		}
		if (len - off < head + payload)
			break;
		off += head + (size_t)payload;
		left = left - 1 + objects;
		if (off > max || left > max - off) {
			*why =
			    "msgpack: message exceeds the maximum frame size";
			return SCAN_BAD;
		}
	}
	if (left > 0) {
		if (off >= max) {
			*why =
			    "msgpack: message exceeds the maximum frame size";
			return SCAN_BAD;
		}
		s->scan_off = off;
		s->scan_left = left;
		return SCAN_MORE;
	}
	s->scan_off = 0;
	s->scan_left = 0;
	*end = off;
	return SCAN_DONE;
}

/* ---- reading: the envelope ----------------------------------------------- */

static char *mp_strdup(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static void mp_msg_clear(void *state, rpc_codec_msg *msg)
{
	(void)state;
	free(msg->service_method);
	free(msg->error);
	memset(msg, 0, sizeof *msg); /* body borrowed the input */
}

/* mp_envelope reads [type, msgid, method | error, params | result] from
 * the whole message at c and fills msg; the body is the last element, left
 * in place. Returns a static text on a bad header. */
static const char *mp_envelope(const mp_state *s, mp_cur *c, rpc_codec_msg *msg,
                               bool *nomem)
{
	uint64_t want = s->server ? MP_REQUEST : MP_RESPONSE;
	mp_obj root = mp_next(c), type, id, third;

	if (root.kind != MP_ARRAY)
		return "msgpack: a message is an array";
	type = mp_next(c);
	if (root.n == 3 && s->server && type.kind == MP_UINT &&
	    type.u == MP_NOTIFY)
		return "msgpack: notifications are not supported (net/rpc "
		       "answers every call)";
	if (root.n != 4)
		return "msgpack: a message is an array of 4";
	if (type.kind != MP_UINT || type.u != want)
		return s->server ? "msgpack: want a request (type 0)"
		                 : "msgpack: want a response (type 1)";
	id = mp_next(c);
	if (id.kind != MP_UINT)
		return "msgpack: msgid is not an unsigned integer";
	msg->seq = id.u;
	third = mp_next(c);
	if (s->server) {
		if (third.kind != MP_STR)
			return "msgpack: method is not a string";
		if (memchr(third.ptr, '\0', third.n) != NULL)
			return "msgpack: method holds a NUL character";
		msg->service_method =
		    mp_strdup((const char *)third.ptr, third.n);
	} else {
		msg->service_method = mp_strdup("", 0);
		if (third.kind == MP_STR) {
			msg->error =
			    mp_strdup((const char *)third.ptr, third.n);
			*nomem = msg->error == NULL;
		} else if (third.kind != MP_NIL) {
			char text[80];
			if (!mp_skip(c, &third))
				return "msgpack: malformed message";
			snprintf(text, sizeof text,
			         "msgpack: the server's error is a%s %s, want "
			         "nil or string",
			         third.kind == MP_ARRAY ? "n" : "",
			         mp_kind(&third));
			msg->error = mp_strdup(text, strlen(text));
			*nomem = msg->error == NULL;
		}
	}
	if (third.kind == MP_BAD)
		return "msgpack: malformed message";
	if (msg->service_method == NULL)
		*nomem = true;
	/* the body: the rest, which must be one object */
	msg->body = (void *)c->p;
	msg->body_len = (size_t)(c->end - c->p);
	mp_obj body = mp_next(c);
	if (body.kind == MP_BAD || !mp_skip(c, &body) || c->p != c->end)
		return "msgpack: malformed message";
	return NULL;
}

static rpc_read_status mp_read(void *state, const uint8_t *in, size_t len,
                               size_t *used, rpc_codec_msg *msg,
                               rpc_error **err)
{
	mp_state *s = state;
	const char *why = NULL;
	size_t end = 0;
	bool nomem = false;

	/* the same message, more bytes: a shorter input means a new one */
	if (s->scan_left > 0 && len < s->scan_off)
		s->scan_left = 0;
	/* the first byte must open an array: fail garbage at once */
	if (len > 0 && (s->scan_left == 0 || s->scan_off == 0) &&
	    !(in[0] >= 0x90 && in[0] <= 0x9f) && in[0] != 0xdc &&
	    in[0] != 0xdd) {
		*err = rpc_error_new("msgpack: a message is an array; the "
		                     "stream begins with byte 0x%02x",
		                     in[0]);
		return RPC_READ_ERROR;
	}
	switch (mp_scan(s, in, len, &end, &why)) {
	case SCAN_MORE:
		return RPC_READ_AGAIN;
	case SCAN_BAD:
		*err = rpc_error_new("%s", why);
		return RPC_READ_ERROR;
	case SCAN_DONE:
		break;
	}
	mp_cur c = {in, in + end};
	why = mp_envelope(s, &c, msg, &nomem);
	if (why == NULL && nomem)
		why = "msgpack: out of memory";
	if (why != NULL) {
		mp_msg_clear(s, msg);
		*err = rpc_error_new("%s", why);
		return RPC_READ_ERROR;
	}
	*used = end;
	return RPC_READ_OK;
}

/* ---- bodies: decoding ---------------------------------------------------- */

static bool mp_is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t n;

	if (d == NULL || d->n_fields != 2 || d->fields[0].id != 1 ||
	    d->fields[1].id != 2 || strcmp(d->fields[0].name, "key") != 0 ||
	    strcmp(d->fields[1].name, "value") != 0)
		return false;
	n = strlen(d->short_name);
	return n >= 5 && strcmp(d->short_name + n - 5, "Entry") == 0;
}

static bool mp_is_map(const ProtobufCFieldDescriptor *f)
{
	return f->label == PROTOBUF_C_LABEL_REPEATED &&
	       f->type == PROTOBUF_C_TYPE_MESSAGE &&
	       mp_is_map_entry(f->descriptor);
}

/* mp_has_flag: optional scalars carry a has_ flag at quantifier_offset. */
static bool mp_has_flag(const ProtobufCFieldDescriptor *f)
{
	return f->label == PROTOBUF_C_LABEL_OPTIONAL &&
	       (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) == 0 &&
	       f->type != PROTOBUF_C_TYPE_STRING &&
	       f->type != PROTOBUF_C_TYPE_MESSAGE;
}

static size_t mp_elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default: /* 32-bit integers and enums */
		return 4;
	}
}

static rpc_error *mp_dec_message(const ProtobufCFieldDescriptor *f, mp_cur *c,
                                 const mp_obj *o, ProtobufCMessage *m,
                                 int depth);

/* mp_int reads an integer in [lo, hi]. */
static rpc_error *mp_int(const ProtobufCFieldDescriptor *f, const mp_obj *o,
                         int64_t lo, uint64_t hi, uint64_t *u, int64_t *i)
{
	if (o->kind == MP_UINT) {
		if (o->u > hi)
			return rpc_error_new("msgpack: field \"%s\": %" PRIu64
			                     " out of range",
			                     f->name, o->u);
		*u = o->u;
		*i = (int64_t)o->u;
		return NULL;
	}
	if (o->kind == MP_INT) {
		if (o->i < lo)
			return rpc_error_new("msgpack: field \"%s\": %" PRId64
			                     " out of range",
			                     f->name, o->i);
		*i = o->i;
		*u = (uint64_t)o->i;
		return NULL;
	}
	return mp_want(f, "integer", o);
}

static rpc_error *mp_float(const ProtobufCFieldDescriptor *f, const mp_obj *o,
                           double *d)
{
	switch (o->kind) {
	case MP_FLOAT:
		*d = o->f;
		return NULL;
	case MP_UINT: /* other languages write 2, not 2.0 */
		*d = (double)o->u;
		return NULL;
	case MP_INT:
		*d = (double)o->i;
		return NULL;
	default:
		return mp_want(f, "float", o);
	}
}

/* mp_dec_one decodes the object o (its contents follow at c) into the
 * single value at p (a field or a list element) of f's type. */
static rpc_error *mp_dec_one(const ProtobufCFieldDescriptor *f, mp_cur *c,
                             const mp_obj *o, void *p, int depth)
{
	rpc_error *err = NULL;
	uint64_t u = 0;
	int64_t i = 0;
	double d = 0;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		if (!(err = mp_int(f, o, INT32_MIN, INT32_MAX, &u, &i)))
			*(int32_t *)p = (int32_t)i;
		return err;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (!(err = mp_int(f, o, 0, UINT32_MAX, &u, &i)))
			*(uint32_t *)p = (uint32_t)u;
		return err;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (!(err = mp_int(f, o, INT64_MIN, INT64_MAX, &u, &i)))
			*(int64_t *)p = i;
		return err;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (!(err = mp_int(f, o, 0, UINT64_MAX, &u, &i)))
			*(uint64_t *)p = u;
		return err;
	case PROTOBUF_C_TYPE_BOOL:
		if (o->kind != MP_BOOL)
			return mp_want(f, "bool", o);
		*(protobuf_c_boolean *)p = o->b;
		return NULL;
	case PROTOBUF_C_TYPE_FLOAT:
		if (!(err = mp_float(f, o, &d)))
			*(float *)p = (float)d;
		return err;
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!(err = mp_float(f, o, &d)))
			*(double *)p = d;
		return err;
	case PROTOBUF_C_TYPE_STRING: {
		char *s;
		if (o->kind != MP_STR)
			return mp_want(f, "string", o);
		if (memchr(o->ptr, '\0', o->n) != NULL)
			return rpc_error_new("msgpack: field \"%s\": string "
			                     "holds a NUL character",
			                     f->name);
		if ((s = mp_strdup((const char *)o->ptr, o->n)) == NULL)
			return rpc_error_new("msgpack: out of memory");
		*(char **)p = s;
		return NULL;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *bd = p;
		if (o->kind != MP_BIN)
			return mp_want(f, "binary", o);
		bd->len = 0;
		bd->data = NULL;
		if (o->n > 0) {
			if ((bd->data = malloc(o->n)) == NULL)
				return rpc_error_new("msgpack: out of memory");
			memcpy(bd->data, o->ptr, o->n);
			bd->len = o->n;
		}
		return NULL;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *sd = f->descriptor;
		ProtobufCMessage *sub;
		if (o->kind != MP_MAP)
			return mp_want(f, "map", o);
		if (depth >= MP_MAX_DEPTH)
			return rpc_error_new("msgpack: field \"%s\": structs "
			                     "nested deeper than %d",
			                     f->name, MP_MAX_DEPTH);
		if ((sub = malloc(sd->sizeof_message)) == NULL)
			return rpc_error_new("msgpack: out of memory");
		sd->message_init(sub);
		*(ProtobufCMessage **)p = sub; /* attached before filled */
		return mp_dec_message(f, c, o, sub, depth + 1);
	}
	default:
		return rpc_error_new("msgpack: field \"%s\": unsupported type",
		                     f->name);
	}
}

/* mp_dec_repeated decodes an array into a list field, or a map into a map
 * field (entries with key and value). The count grows as each element is
 * begun, so a failure leaves a list rpc_message_free_contents frees. */
static rpc_error *mp_dec_repeated(const ProtobufCFieldDescriptor *f, mp_cur *c,
                                  const mp_obj *o, ProtobufCMessage *m,
                                  int depth)
{
	size_t *np = MP_AT(m, f->quantifier_offset, size_t);
	void **arrp = MP_AT(m, f->offset, void *);
	bool map = mp_is_map(f);
	size_t es = mp_elem_size(f);
	rpc_error *err;

	if (o->kind != (map ? MP_MAP : MP_ARRAY))
		return mp_want(f, map ? "map" : "array", o);
	*np = 0;
	*arrp = NULL;
	if (o->n == 0)
		return NULL;
	/* each element takes a byte at least: n <= the message's length */
	if (o->n > (uint64_t)(c->end - c->p))
		return rpc_error_new("msgpack: malformed message");
	if ((*arrp = calloc((size_t)o->n, es)) == NULL)
		return rpc_error_new("msgpack: out of memory");
	for (uint64_t k = 0; k < o->n; k++) {
		char *slot = (char *)*arrp + k * es;
		mp_obj e = mp_next(c);
		if (e.kind == MP_BAD)
			return rpc_error_new("msgpack: malformed message");
		if (!map) {
			/* counted first: a struct element is attached before
			 * it is filled; a zeroed slot frees as nothing */
			(*np)++;
			if ((err = mp_dec_one(f, c, &e, slot, depth)))
				return err;
			continue;
		}
		const ProtobufCMessageDescriptor *ed = f->descriptor;
		const ProtobufCFieldDescriptor *kf = &ed->fields[0],
		                               *vf = &ed->fields[1];
		ProtobufCMessage *entry = malloc(ed->sizeof_message);
		if (entry == NULL)
			return rpc_error_new("msgpack: out of memory");
		ed->message_init(entry);
		*(ProtobufCMessage **)slot = entry;
		(*np)++;
		if ((err = mp_dec_one(kf, c, &e, MP_AT(entry, kf->offset, char),
		                      depth)))
			return err;
		mp_obj v = mp_next(c);
		if (v.kind == MP_BAD)
			return rpc_error_new("msgpack: malformed message");
		if (v.kind != MP_NIL &&
		    (err = mp_dec_one(vf, c, &v, MP_AT(entry, vf->offset, char),
		                      depth)))
			return err;
		if (mp_has_flag(kf))
			*MP_AT(entry, kf->quantifier_offset,
			       protobuf_c_boolean) = 1;
		if (mp_has_flag(vf))
			*MP_AT(entry, vf->quantifier_offset,
			       protobuf_c_boolean) = 1;
	}
	return NULL;
}

/* mp_dec_field decodes the object o into field f of m; nil leaves it as it
 * was (its default, or absent). */
static rpc_error *mp_dec_field(const ProtobufCFieldDescriptor *f, mp_cur *c,
                               const mp_obj *o, ProtobufCMessage *m, int depth)
{
	rpc_error *err;

	if (o->kind == MP_NIL)
		return NULL;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return mp_dec_repeated(f, c, o, m, depth);
	if ((err = mp_dec_one(f, c, o, MP_AT(m, f->offset, char), depth)))
		return err;
	if (mp_has_flag(f))
		*MP_AT(m, f->quantifier_offset, protobuf_c_boolean) = 1;
	if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0)
		*MP_AT(m, f->quantifier_offset, uint32_t) = f->id;
	return NULL;
}

/* mp_dec_message decodes the map o (its pairs follow at c) into m. Keys
 * are field names; unknown keys are skipped; a key given twice is an error
 * (it would leak or silently merge the first). f names the field m
 * belongs to (NULL at the top). */
static rpc_error *mp_dec_message(const ProtobufCFieldDescriptor *f, mp_cur *c,
                                 const mp_obj *o, ProtobufCMessage *m,
                                 int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	unsigned char *seen;
	rpc_error *err = NULL;

	if (o->kind != MP_MAP)
		return mp_want(f, "map", o);
	if ((seen = calloc(d->n_fields + 1, 1)) == NULL)
		return rpc_error_new("msgpack: out of memory");
	for (uint64_t k = 0; k < o->n && err == NULL; k++) {
		const ProtobufCFieldDescriptor *ff = NULL;
		mp_obj key = mp_next(c), val;
		char name[256];

		if (key.kind != MP_STR) {
			err = key.kind == MP_BAD
			          ? rpc_error_new("msgpack: malformed message")
			          : rpc_error_new("msgpack: %s \"%s\": want "
			                          "string keys, got %s",
			                          f ? "field" : "message",
			                          f ? f->name : d->short_name,
			                          mp_kind(&key));
			break;
		}
		if (key.n < sizeof name) {
			memcpy(name, key.ptr, key.n);
			name[key.n] = '\0';
			if (strlen(name) == key.n)
				ff =
				    protobuf_c_message_descriptor_get_field_by_name(
				        d, name);
		}
		val = mp_next(c);
		if (val.kind == MP_BAD) {
			err = rpc_error_new("msgpack: malformed message");
			break;
		}
		if (ff == NULL) { /* unknown: skipped */
			if (!mp_skip(c, &val))
				err =
				    rpc_error_new("msgpack: malformed message");
			continue;
		}
		if (seen[ff - d->fields]++) {
			err = rpc_error_new(
			    "msgpack: field \"%s\" appears twice", ff->name);
			break;
		}
		if (val.kind == MP_NIL)
			continue;
		err = mp_dec_field(ff, c, &val, m, depth);
	}
	free(seen);
	return err;
}

static rpc_error *mp_read_body(void *state, rpc_codec_msg *msg,
                               const rpc_type *t, ProtobufCMessage *dst)
{
	const mp_state *s = state;
	mp_cur c = {msg->body, (const uint8_t *)msg->body + msg->body_len};
	mp_obj v;

	if (t == NULL || dst == NULL || msg->body == NULL)
		return NULL; /* discard: nothing to do */
	v = mp_next(&c);
	if (s->server) {
		if (v.kind != MP_ARRAY)
			return rpc_error_new(
			    "msgpack: params: want array, got %s", mp_kind(&v));
		if (v.n != 1)
			return rpc_error_new("msgpack: params holds %" PRIu64
			                     " values, want 1",
			                     v.n);
		v = mp_next(&c);
	}
	if (v.kind == MP_BAD)
		return rpc_error_new("msgpack: malformed message");
	if (t->form == RPC_FORM_MESSAGE)
		return v.kind == MP_NIL ? NULL
		                        : mp_dec_message(NULL, &c, &v, dst, 1);
	/* a builtin: the bare value is field 1 of the wrapper */
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field(t->desc, 1);
	if (f == NULL)
		return rpc_error_new("msgpack: %s has no field 1", t->name);
	return mp_dec_field(f, &c, &v, dst, 1);
}

/* ---- writing ------------------------------------------------------------- */

static int mp_buf_write(void *data, const char *p, size_t n)
{
	return rpc_buf_append(data, p, n) ? 0 : -1;
}

static int mp_enc_message(msgpack_packer *pk, const ProtobufCMessage *m);

static int mp_enc_one(msgpack_packer *pk, const ProtobufCFieldDescriptor *f,
                      const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return msgpack_pack_int64(pk, *(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return msgpack_pack_uint64(pk, *(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return msgpack_pack_int64(pk, *(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return msgpack_pack_uint64(pk, *(const uint64_t *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)p ? msgpack_pack_true(pk)
		                                      : msgpack_pack_false(pk);
	case PROTOBUF_C_TYPE_FLOAT:
		return msgpack_pack_float(pk, *(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return msgpack_pack_double(pk, *(const double *)p);
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		size_t n = s ? strlen(s) : 0;
		if (msgpack_pack_str(pk, n) < 0)
			return -1;
		return msgpack_pack_str_body(pk, s ? s : "", n);
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *bd = p;
		if (msgpack_pack_bin(pk, bd->len) < 0)
			return -1;
		return msgpack_pack_bin_body(pk, bd->data, bd->len);
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
		return sub ? mp_enc_message(pk, sub) : msgpack_pack_nil(pk);
	}
	default:
		return -1;
	}
}

/* mp_enc_field writes field f of m: a list as an array, a map field as a
 * map, anything else as its value. */
static int mp_enc_field(msgpack_packer *pk, const ProtobufCFieldDescriptor *f,
                        const ProtobufCMessage *m)
{
	const void *p = MP_AT(m, f->offset, char);

	if (f->label != PROTOBUF_C_LABEL_REPEATED)
		return mp_enc_one(pk, f, p);
	size_t n = *MP_AT(m, f->quantifier_offset, size_t),
	       es = mp_elem_size(f);
	const char *arr = *(const char *const *)p;
	if (!mp_is_map(f)) {
		if (msgpack_pack_array(pk, n) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (mp_enc_one(pk, f, arr + i * es) < 0)
				return -1;
		return 0;
	}
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	if (msgpack_pack_map(pk, n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const ProtobufCMessage *e = ((ProtobufCMessage *const *)arr)[i];
		if (mp_enc_one(pk, &ed->fields[0],
		               MP_AT(e, ed->fields[0].offset, char)) < 0 ||
		    mp_enc_one(pk, &ed->fields[1],
		               MP_AT(e, ed->fields[1].offset, char)) < 0)
			return -1;
	}
	return 0;
}

/* mp_present: an unset optional, an unset oneof member and a NULL
 * submessage are left out of the map. */
static bool mp_present(const ProtobufCFieldDescriptor *f,
                       const ProtobufCMessage *m)
{
	if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0)
		return *MP_AT(m, f->quantifier_offset, uint32_t) == f->id;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return true;
	if (mp_has_flag(f))
		return *MP_AT(m, f->quantifier_offset, protobuf_c_boolean);
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *MP_AT(m, f->offset, ProtobufCMessage *) != NULL;
	if (f->type == PROTOBUF_C_TYPE_STRING &&
	    f->label == PROTOBUF_C_LABEL_OPTIONAL)
		return *MP_AT(m, f->offset, char *) != NULL;
	return true;
}

static int mp_enc_message(msgpack_packer *pk, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	size_t n = 0;

	for (unsigned i = 0; i < d->n_fields; i++)
		n += mp_present(&d->fields[i], m);
	if (msgpack_pack_map(pk, n) < 0)
		return -1;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (!mp_present(f, m))
			continue;
		size_t len = strlen(f->name);
		if (msgpack_pack_str(pk, len) < 0 ||
		    msgpack_pack_str_body(pk, f->name, len) < 0 ||
		    mp_enc_field(pk, f, m) < 0)
			return -1;
	}
	return 0;
}

/* mp_enc_value writes a body of type t: a struct as a map, a builtin as
 * the bare field 1 of its wrapper; nil when there is none. */
static int mp_enc_value(msgpack_packer *pk, const rpc_type *t,
                        const ProtobufCMessage *body)
{
	if (t == NULL || body == NULL)
		return msgpack_pack_nil(pk);
	if (t->form == RPC_FORM_MESSAGE)
		return mp_enc_message(pk, body);
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field(t->desc, 1);
	return f ? mp_enc_field(pk, f, body) : -1;
}

static rpc_error *mp_write(void *state, const rpc_codec_header *h,
                           const rpc_type *t, const ProtobufCMessage *body,
                           rpc_buf *out)
{
	const mp_state *s = state;
	size_t mark = out->len;
	msgpack_packer pk;
	int r;

	msgpack_packer_init(&pk, out, mp_buf_write);
	if (s->server) {
		bool failed = h->error != NULL && h->error[0] != '\0';
		r = msgpack_pack_array(&pk, 4);
		r = r < 0 ? r : msgpack_pack_int(&pk, MP_RESPONSE);
		r = r < 0 ? r : msgpack_pack_uint64(&pk, h->seq);
		if (failed) {
			size_t n = strlen(h->error);
			r = r < 0 ? r : msgpack_pack_str(&pk, n);
			r = r < 0 ? r : msgpack_pack_str_body(&pk, h->error, n);
			r = r < 0 ? r : msgpack_pack_nil(&pk);
		} else {
			r = r < 0 ? r : msgpack_pack_nil(&pk);
			r = r < 0 ? r : mp_enc_value(&pk, t, body);
		}
	} else {
		const char *sm = h->service_method ? h->service_method : "";
		size_t n = strlen(sm);
		r = msgpack_pack_array(&pk, 4);
		r = r < 0 ? r : msgpack_pack_int(&pk, MP_REQUEST);
		r = r < 0 ? r : msgpack_pack_uint64(&pk, h->seq);
		r = r < 0 ? r : msgpack_pack_str(&pk, n);
		r = r < 0 ? r : msgpack_pack_str_body(&pk, sm, n);
		r = r < 0 ? r : msgpack_pack_array(&pk, 1);
		r = r < 0 ? r : mp_enc_value(&pk, t, body);
	}
	if (r < 0) {
		out->len = mark;
		return rpc_error_new("msgpack: cannot encode %s (out of memory "
		                     "or an unsupported field type)",
		                     t ? t->name : "the message");
	}
	if (out->len - mark > s->max_frame) {
		size_t n = out->len - mark;
		out->len = mark;
		return rpc_error_new(
		    "msgpack: message of %zu bytes exceeds the "
		    "maximum frame size",
		    n);
	}
	return NULL;
}

const rpc_codec msgpack_codec = {
    .abi = RPC_CODEC_ABI,
    .name = "msgpack",
    .state_new = mp_state_new,
    .state_free = mp_state_free,
    .read = mp_read,
    .need = NULL,
    .read_body = mp_read_body,
    .msg_clear = mp_msg_clear,
    .write = mp_write,
};
