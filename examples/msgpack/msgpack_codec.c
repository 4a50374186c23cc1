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
 * Reading in two passes. MessagePack-RPC has no length prefix, so read
 * first scans the bytes (msgpack_scan) to find where the message ends,
 * allocating nothing and checking every announced length against
 * max_frame; the scan stops where the bytes run out and resumes there on
 * the next read (the state keeps its offset), so a big message arriving
 * in pieces costs O(n) in all, not O(n^2). Only a whole message goes to
 * msgpack-c's msgpack_unpack_next, whose object tree (at most one object
 * per byte of input, strings pointing into the input) becomes the
 * message's body until msg_clear. need is NULL: the length is known only
 * once the last byte has arrived.
 *
 * The cost of that simplicity: the tree takes sizeof(msgpack_object)
 * (24 bytes on 64-bit machines) per object, so a message of max_frame
 * bytes of small integers holds about 24 x max_frame bytes while it is
 * read, and the decoded list up to 8 x more (an int64 per 1-byte integer,
 * as with protobuf's packed varints). Bounded, but set max_frame with
 * that factor in mind; a production codec would decode straight from the
 * bytes.
 *
 * What stays true: the scan rejects a message longer than max_frame
 * before anything is allocated for it; nesting is bounded by msgpack-c's
 * stack (32 levels: deeper is a parse error), which also bounds read_body's
 * recursion; every decoded pointer is attached to the destination message
 * as soon as it is allocated, so rpc_message_free_contents frees a
 * half-decoded message.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "msgpack_codec.h"

#define MP_AT(m, off, type) ((type *)((char *)(m) + (off)))

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

/* mp_body is rpc_codec_msg.body: the parsed message and the value that
 * read_body decodes (a request's params array, a response's result). */
typedef struct mp_body {
	msgpack_unpacked up;
	const msgpack_object *value;
} mp_body;

/* ---- errors -------------------------------------------------------------- */

static const char *mp_kind(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return "nil";
	case MSGPACK_OBJECT_BOOLEAN:
		return "bool";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return "integer";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return "float";
	case MSGPACK_OBJECT_STR:
		return "string";
	case MSGPACK_OBJECT_BIN:
		return "binary";
	case MSGPACK_OBJECT_ARRAY:
		return "array";
	case MSGPACK_OBJECT_MAP:
		return "map";
	default:
		return "extension";
	}
}

static rpc_error *mp_want(const ProtobufCFieldDescriptor *f, const char *want,
                          const msgpack_object *got)
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

static uint64_t scan_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* msgpack_scan resumes the scan of the message at in[0..len) where the
 * last call stopped. Each object header names how many bytes of payload
 * follow and how many objects it contains (an array n, a map 2n): one
 * counter of objects still to come replaces a stack. Every object takes at
 * least one byte, so a count or a length past max_frame is refused at
 * once. On SCAN_DONE the message is in[0..*end). */
static scan_result msgpack_scan(mp_state *s, const uint8_t *in, size_t len,
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
			uint64_t n = scan_be(in + off + 1, t[i].lenbytes);
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
	mp_body *b = msg->body;

	(void)state;
	if (b != NULL) {
		msgpack_unpacked_destroy(&b->up);
		free(b);
	}
	free(msg->service_method);
	free(msg->error);
	memset(msg, 0, sizeof *msg);
}

/* mp_envelope checks [type, msgid, method | error, params | result] and
 * fills msg; b->value is set. Returns a static text on a bad header. */
static const char *mp_envelope(mp_state *s, mp_body *b, rpc_codec_msg *msg,
                               bool *nomem)
{
	const msgpack_object *root = &b->up.data, *a;
	uint64_t want = s->server ? MP_REQUEST : MP_RESPONSE;

	if (root->type != MSGPACK_OBJECT_ARRAY)
		return "msgpack: a message is an array";
	a = root->via.array.ptr;
	if (root->via.array.size == 3 && s->server &&
	    a[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    a[0].via.u64 == MP_NOTIFY)
		return "msgpack: notifications are not supported (net/rpc "
		       "answers every call)";
	if (root->via.array.size != 4)
		return "msgpack: a message is an array of 4";
	if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    a[0].via.u64 != want)
		return s->server ? "msgpack: want a request (type 0)"
		                 : "msgpack: want a response (type 1)";
	if (a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return "msgpack: msgid is not an unsigned integer";
	msg->seq = a[1].via.u64;
	if (s->server) {
		if (a[2].type != MSGPACK_OBJECT_STR)
			return "msgpack: method is not a string";
		if (memchr(a[2].via.str.ptr, '\0', a[2].via.str.size) != NULL)
			return "msgpack: method holds a NUL character";
		msg->service_method =
		    mp_strdup(a[2].via.str.ptr, a[2].via.str.size);
		b->value = &a[3];
	} else {
		msg->service_method = mp_strdup("", 0);
		if (a[2].type == MSGPACK_OBJECT_STR) {
			msg->error =
			    mp_strdup(a[2].via.str.ptr, a[2].via.str.size);
			*nomem = msg->error == NULL;
		} else if (a[2].type != MSGPACK_OBJECT_NIL) {
			char text[80];
			snprintf(text, sizeof text,
			         "msgpack: the server's error is a%s %s, want "
			         "nil or string",
			         a[2].type == MSGPACK_OBJECT_ARRAY ? "n" : "",
			         mp_kind(&a[2]));
			msg->error = mp_strdup(text, strlen(text));
			*nomem = msg->error == NULL;
		}
		b->value = &a[3];
	}
	if (msg->service_method == NULL)
		*nomem = true;
	return NULL;
}

static rpc_read_status mp_read(void *state, const uint8_t *in, size_t len,
                               size_t *used, rpc_codec_msg *msg,
                               rpc_error **err)
{
	mp_state *s = state;
	const char *why = NULL;
	size_t end = 0, off = 0;
	bool nomem = false;
	mp_body *b;

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
	switch (msgpack_scan(s, in, len, &end, &why)) {
	case SCAN_MORE:
		return RPC_READ_AGAIN;
	case SCAN_BAD:
		*err = rpc_error_new("%s", why);
		return RPC_READ_ERROR;
	case SCAN_DONE:
		break;
	}
	b = calloc(1, sizeof *b);
	if (b == NULL) {
		*err = rpc_error_new("msgpack: out of memory");
		return RPC_READ_ERROR;
	}
	msgpack_unpacked_init(&b->up);
	msg->body = b;
	switch (msgpack_unpack_next(&b->up, (const char *)in, end, &off)) {
	case MSGPACK_UNPACK_SUCCESS:
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		why = "msgpack: out of memory, or nested deeper than 32";
		break;
	default:
		why = "msgpack: malformed message";
		break;
	}
	if (why == NULL && off != end)
		why = "msgpack: malformed message";
	if (why == NULL)
		why = mp_envelope(s, b, msg, &nomem);
	if (why == NULL && nomem)
		why = "msgpack: out of memory";
	if (why != NULL) {
		mp_msg_clear(s, msg);
		*err = rpc_error_new("%s", why);
		return RPC_READ_ERROR;
	}
	msg->body_len = end;
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

static rpc_error *mp_dec_message(const ProtobufCFieldDescriptor *f,
                                 const msgpack_object *v, ProtobufCMessage *m);

/* mp_int reads an integer in [lo, hi]; a negative one as int64. */
static rpc_error *mp_int(const ProtobufCFieldDescriptor *f,
                         const msgpack_object *v, int64_t lo, uint64_t hi,
                         uint64_t *u, int64_t *i)
{
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (v->via.u64 > hi)
			goto range;
		*u = v->via.u64;
		*i = (int64_t)v->via.u64;
		return NULL;
	}
	if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		if (v->via.i64 < lo)
			goto range;
		*i = v->via.i64;
		*u = (uint64_t)v->via.i64;
		return NULL;
	}
	return mp_want(f, "integer", v);
range:
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return rpc_error_new("msgpack: field \"%s\": %" PRIu64
		                     " out of range",
		                     f->name, v->via.u64);
	return rpc_error_new("msgpack: field \"%s\": %" PRId64 " out of range",
	                     f->name, v->via.i64);
}

static rpc_error *mp_float(const ProtobufCFieldDescriptor *f,
                           const msgpack_object *v, double *d)
{
	switch (v->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*d = v->via.f64;
		return NULL;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: /* other languages write 2, not
	                                         2.0 */
		*d = (double)v->via.u64;
		return NULL;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*d = (double)v->via.i64;
		return NULL;
	default:
		return mp_want(f, "float", v);
	}
}

/* mp_dec_one decodes v into the single value at p (a field or a list
 * element) of f's type. */
static rpc_error *mp_dec_one(const ProtobufCFieldDescriptor *f,
                             const msgpack_object *v, void *p)
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
		if (!(err = mp_int(f, v, INT32_MIN, INT32_MAX, &u, &i)))
			*(int32_t *)p = (int32_t)i;
		return err;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (!(err = mp_int(f, v, 0, UINT32_MAX, &u, &i)))
			*(uint32_t *)p = (uint32_t)u;
		return err;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (!(err = mp_int(f, v, INT64_MIN, INT64_MAX, &u, &i)))
			*(int64_t *)p = i;
		return err;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (!(err = mp_int(f, v, 0, UINT64_MAX, &u, &i)))
			*(uint64_t *)p = u;
		return err;
	case PROTOBUF_C_TYPE_BOOL:
		if (v->type != MSGPACK_OBJECT_BOOLEAN)
			return mp_want(f, "bool", v);
		*(protobuf_c_boolean *)p = v->via.boolean;
		return NULL;
	case PROTOBUF_C_TYPE_FLOAT:
		if (!(err = mp_float(f, v, &d)))
			*(float *)p = (float)d;
		return err;
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!(err = mp_float(f, v, &d)))
			*(double *)p = d;
		return err;
	case PROTOBUF_C_TYPE_STRING: {
		char *s;
		if (v->type != MSGPACK_OBJECT_STR)
			return mp_want(f, "string", v);
		if (memchr(v->via.str.ptr, '\0', v->via.str.size) != NULL)
			return rpc_error_new("msgpack: field \"%s\": string "
			                     "holds a NUL character",
			                     f->name);
		if ((s = mp_strdup(v->via.str.ptr, v->via.str.size)) == NULL)
			return rpc_error_new("msgpack: out of memory");
		*(char **)p = s;
		return NULL;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *bd = p;
		if (v->type != MSGPACK_OBJECT_BIN)
			return mp_want(f, "binary", v);
		bd->len = 0;
		bd->data = NULL;
		if (v->via.bin.size > 0) {
			if ((bd->data = malloc(v->via.bin.size)) == NULL)
				return rpc_error_new("msgpack: out of memory");
			memcpy(bd->data, v->via.bin.ptr, v->via.bin.size);
			bd->len = v->via.bin.size;
		}
		return NULL;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *sd = f->descriptor;
		ProtobufCMessage *sub;
		if (v->type != MSGPACK_OBJECT_MAP)
			return mp_want(f, "map", v);
		if ((sub = malloc(sd->sizeof_message)) == NULL)
			return rpc_error_new("msgpack: out of memory");
		sd->message_init(sub);
		*(ProtobufCMessage **)p = sub; /* attached before filled */
		return mp_dec_message(f, v, sub);
	}
	default:
		return rpc_error_new("msgpack: field \"%s\": unsupported type",
		                     f->name);
	}
}

/* mp_dec_repeated decodes an array into a list field, or a map into a map
 * field (entries with key and value). The count grows as each element is
 * decoded, so a failure leaves a list rpc_message_free_contents frees. */
static rpc_error *mp_dec_repeated(const ProtobufCFieldDescriptor *f,
                                  const msgpack_object *v, ProtobufCMessage *m)
{
	size_t *np = MP_AT(m, f->quantifier_offset, size_t);
	void **arrp = MP_AT(m, f->offset, void *);
	bool map = mp_is_map(f);
	size_t n, es = mp_elem_size(f);
	rpc_error *err;

	if (map ? v->type != MSGPACK_OBJECT_MAP
	        : v->type != MSGPACK_OBJECT_ARRAY)
		return mp_want(f, map ? "map" : "array", v);
	n = map ? v->via.map.size : v->via.array.size;
	*np = 0;
	*arrp = NULL;
	if (n == 0)
		return NULL;
	/* n <= the message's length <= max_frame (msgpack_scan) */
	if ((*arrp = calloc(n, es)) == NULL)
		return rpc_error_new("msgpack: out of memory");
	for (size_t k = 0; k < n; k++) {
		char *slot = (char *)*arrp + k * es;
		if (!map) {
			err = mp_dec_one(f, &v->via.array.ptr[k], slot);
			if (err != NULL)
				return err;
			(*np)++;
			continue;
		}
		const ProtobufCMessageDescriptor *ed = f->descriptor;
		const msgpack_object_kv *kv = &v->via.map.ptr[k];
		ProtobufCMessage *e = malloc(ed->sizeof_message);
		if (e == NULL)
			return rpc_error_new("msgpack: out of memory");
		ed->message_init(e);
		*(ProtobufCMessage **)slot = e;
		(*np)++;
		if ((err = mp_dec_one(&ed->fields[0], &kv->key,
		                      MP_AT(e, ed->fields[0].offset, char))))
			return err;
		if (kv->val.type != MSGPACK_OBJECT_NIL &&
		    (err = mp_dec_one(&ed->fields[1], &kv->val,
		                      MP_AT(e, ed->fields[1].offset, char))))
			return err;
		if (mp_has_flag(&ed->fields[0]))
			*MP_AT(e, ed->fields[0].quantifier_offset,
			       protobuf_c_boolean) = 1;
		if (mp_has_flag(&ed->fields[1]))
			*MP_AT(e, ed->fields[1].quantifier_offset,
			       protobuf_c_boolean) = 1;
	}
	return NULL;
}

/* mp_dec_field decodes v into field f of m; nil leaves it as it was (its
 * default, or absent). */
static rpc_error *mp_dec_field(const ProtobufCFieldDescriptor *f,
                               const msgpack_object *v, ProtobufCMessage *m)
{
	rpc_error *err;

	if (v->type == MSGPACK_OBJECT_NIL)
		return NULL;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return mp_dec_repeated(f, v, m);
	if ((err = mp_dec_one(f, v, MP_AT(m, f->offset, char))))
		return err;
	if (mp_has_flag(f))
		*MP_AT(m, f->quantifier_offset, protobuf_c_boolean) = 1;
	if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0)
		*MP_AT(m, f->quantifier_offset, uint32_t) = f->id;
	return NULL;
}

/* mp_dec_message decodes the map v into m. Keys are field names; unknown
 * keys are skipped; a key given twice is an error (it would leak or
 * silently merge the first). f names the field m belongs to (NULL at the
 * top). */
static rpc_error *mp_dec_message(const ProtobufCFieldDescriptor *f,
                                 const msgpack_object *v, ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	unsigned char *seen;
	rpc_error *err = NULL;

	if (v->type != MSGPACK_OBJECT_MAP)
		return mp_want(f, "map", v);
	if ((seen = calloc(d->n_fields + 1, 1)) == NULL)
		return rpc_error_new("msgpack: out of memory");
	for (uint32_t k = 0; k < v->via.map.size && err == NULL; k++) {
		const msgpack_object_kv *kv = &v->via.map.ptr[k];
		const ProtobufCFieldDescriptor *ff;
		char name[256];

		if (kv->key.type != MSGPACK_OBJECT_STR) {
			err = rpc_error_new("msgpack: %s \"%s\": want string "
			                    "keys, got %s",
			                    f ? "field" : "message",
			                    f ? f->name : d->short_name,
			                    mp_kind(&kv->key));
			break;
		}
		if (kv->key.via.str.size >= sizeof name)
			continue; /* longer than any name: unknown */
		memcpy(name, kv->key.via.str.ptr, kv->key.via.str.size);
		name[kv->key.via.str.size] = '\0';
		ff = protobuf_c_message_descriptor_get_field_by_name(d, name);
		if (ff == NULL || strlen(name) != kv->key.via.str.size)
			continue;
		if (seen[ff - d->fields]++) {
			err = rpc_error_new(
			    "msgpack: field \"%s\" appears twice", ff->name);
			break;
		}
		err = mp_dec_field(ff, &kv->val, m);
	}
	free(seen);
	return err;
}

static rpc_error *mp_read_body(void *state, rpc_codec_msg *msg,
                               const rpc_type *t, ProtobufCMessage *dst)
{
	mp_state *s = state;
	const mp_body *b = msg->body;
	const msgpack_object *v;

	if (t == NULL || dst == NULL || b == NULL)
		return NULL; /* discard: nothing to do, the tree goes at clear
		              */
	v = b->value;
	if (s->server) {
		if (v->type != MSGPACK_OBJECT_ARRAY)
			return rpc_error_new(
			    "msgpack: params: want array, got %s", mp_kind(v));
		if (v->via.array.size != 1)
			return rpc_error_new("msgpack: params holds %" PRIu32
			                     " values, want 1",
			                     v->via.array.size);
		v = &v->via.array.ptr[0];
	}
	if (t->form == RPC_FORM_MESSAGE)
		return v->type == MSGPACK_OBJECT_NIL
		           ? NULL
		           : mp_dec_message(NULL, v, dst);
	/* a builtin: the bare value is field 1 of the wrapper */
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field(t->desc, 1);
	if (f == NULL)
		return rpc_error_new("msgpack: %s has no field 1", t->name);
	return mp_dec_field(f, v, dst);
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
