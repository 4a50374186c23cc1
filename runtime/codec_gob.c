/* codec_gob.c - the gob codec: Go net/rpc's default wire format.
 *
 * One gob stream per direction. A request is a Request{ServiceMethod, Seq}
 * value followed by the argument value; a response is Response{ServiceMethod,
 * Seq, Error} followed by the reply (struct{}{} when Error is set). Type
 * definitions travel before their first use (gob_types.c).
 *
 * Reading: read() first scans, without changing any state, for two complete
 * value messages (header and body) and the type definitions around them; if
 * they are not all there it asks for more bytes. Only then does it record the
 * definitions, decode the header and keep the body's bytes undecoded in
 * msg->body, borrowed from the input. A bad definition or header ends the
 * stream; a body that does not fit the expected type fails in read_body alone,
 * and since the message's byte count is known the stream stays in step.
 * Once the stream has interface types, the body is read through first
 * (gob_take_body): Go continues an interface value whose type is new to
 * the stream in later messages, which belong to the body; such a body is
 * put back together in a buffer of its own. A read that finds part of it
 * missing takes back the definitions it recorded.
 *
 * Bodies are decoded by field name (the gob name is the protobuf field name
 * with its first letter upper-cased) into protobuf-c messages; every count is
 * checked against the bytes left before anything is allocated, and nesting
 * is bounded by GOB_MAX_DEPTH. Writing follows gob's rules: zero-valued
 * struct fields are left out, a bare (top-level) value is always sent.
 * Reader and writer state are separate fields of gob_state.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gob.h"

#define GOB_CALL_SLACK 4096

#define AT(msg, off, type) ((type *)((char *)(msg) + (off)))

/* A body: its type id and its bytes, borrowed from the input given to read
 * (codec.h), so a large body is copied once, into the message decoded. */
typedef struct gob_body {
	int64_t id;
	size_t len;
	const uint8_t *data;
	uint8_t *own; /* NULL, or the bytes data points at (a value Go split
	                 across messages, put back together; an rpci_buf's
	                 data, freed with rpci_big_free) */
} gob_body;

typedef struct gob_state {
	bool server;
	size_t max_frame;
	/* read side */
	gob_rtable rt;
	/* write side */
	gob_stable st;
	rpci_buf scratch;
	rpci_buf value;
	size_t count_room; /* the room the last body's byte count took
	                      (gob_write_body), 0 before the first */
	/* read: after RPCI_READ_AGAIN in the middle of a split body, the
	 * input length needed before trying again (the input is the same,
	 * nothing having been consumed), else 0 */
	size_t again;
} gob_state;

static rpc_error *gob_err(const char *fmt, const char *a, const char *b)
{
	return rpci_error(RPC_ERR_PROTOCOL, fmt, a, b);
}

static rpc_error *gob_bad(void)
{
	return rpci_error(RPC_ERR_PROTOCOL,
	                  "gob: truncated or malformed value");
}

/* ---- state --------------------------------------------------------------- */

static rpc_error *gob_state_new(bool server, size_t max_frame, void **state)
{
	gob_state *s = calloc(1, sizeof *s);

	*state = NULL;
	if (s == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	s->server = server;
	s->max_frame = max_frame;
	rpci_gob_stable_init(&s->st);
	*state = s;
	return NULL;
}

static void gob_state_free(void *state)
{
	gob_state *s = state;

	if (s == NULL)
		return;
	rpci_gob_rtable_fini(&s->rt);
	rpci_gob_stable_fini(&s->st);
	rpci_buf_fini(&s->scratch);
	rpci_buf_fini(&s->value);
	free(s);
}

static void gob_msg_clear(void *state, rpci_msg *msg)
{
	(void)state;
	if (msg == NULL)
		return;
	free(msg->service_method);
	free(msg->error);
	if (msg->body != NULL)
		rpci_big_free(((gob_body *)msg->body)->own);
	free(msg->body);
	memset(msg, 0, sizeof *msg);
}

/* ---- reading the stream -------------------------------------------------- */

/* frame_count reads a message's byte count: 1 (ok), 0 (need more), -1. */
static int frame_count(const uint8_t *in, size_t len, uint64_t *count,
                       size_t *hdr)
{
	unsigned n, i;

	if (len == 0)
		return 0;
	if (in[0] <= 0x7f) {
		*count = in[0];
		*hdr = 1;
		return 1;
	}
	n = 256u - in[0];
	if (n > 8)
		return -1;
	if (len < 1 + (size_t)n)
		return 0;
	*count = 0;
	for (i = 0; i < n; i++)
		*count = *count << 8 | in[1 + i];
	*hdr = 1 + n;
	return 1;
}

/* body_next steps to the next field of a struct value of n fields:
 * 1 with *f set, 0 at its end, -1 when malformed. */
static int body_next(gob_reader *r, int64_t *f, size_t n)
{
	uint64_t d;

	if (!rpci_gob_read_uint(r, &d))
		return -1;
	if (d == 0)
		return 0;
	if (d > (uint64_t)((int64_t)n - 1 - *f))
		return -1;
	*f += (int64_t)d;
	return 1;
}

static rpc_error *gob_header(gob_state *s, int64_t id, gob_reader *r,
                             rpci_msg *msg)
{
	const gob_wtype *w = rpci_gob_rtable_find(&s->rt, id);
	const gob_wfield *wf;
	char **dst;
	int64_t f = -1;
	rpc_error *err;
	bool oom;
	int rc;

	if (w == NULL || w->kind != GOB_K_STRUCT)
		return gob_err("gob: header is %s%s, not a struct",
		               rpci_gob_type_name(&s->rt, id), "");
	while ((rc = body_next(r, &f, w->n_fields)) == 1) {
		wf = &w->fields[f];
		dst = NULL;
		if (strcmp(wf->name, "ServiceMethod") == 0)
			dst = &msg->service_method;
		else if (strcmp(wf->name, "Error") == 0)
			dst = &msg->error;
		if (dst != NULL) {
			if (wf->id != GOB_ID_STRING)
				return gob_err(
				    "gob: header field %s is not a string%s",
				    wf->name, "");
			free(*dst);
			*dst = NULL;
			if (!rpci_gob_read_string(r, dst, &oom))
				return oom ? rpci_error(RPC_ERR_NOMEM, NULL)
				           : gob_bad();
		} else if (strcmp(wf->name, "Seq") == 0) {
			if (wf->id != GOB_ID_UINT)
				return gob_err(
				    "gob: header field %s is not a uint%s",
				    wf->name, "");
			if (!rpci_gob_read_uint(r, &msg->seq))
				return gob_bad();
		} else if ((err = rpci_gob_skip(&s->rt, wf->id, r, 1)) !=
		           NULL) {
			return err;
		}
	}
	if (rc < 0 || r->pos != r->len)
		return gob_bad();
	if (msg->service_method == NULL &&
	    (msg->service_method = strdup("")) == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	return NULL;
}

/* gob_call_limit bounds the bytes of one call or reply (its type
 * definitions, header and body): max_frame plus room for a header and
 * definitions, so that a peer cannot make us buffer without end. */
static size_t gob_call_limit(const gob_state *s)
{
	return s->max_frame > SIZE_MAX - GOB_CALL_SLACK
	           ? SIZE_MAX
	           : s->max_frame + GOB_CALL_SLACK;
}

/* gob_message_at parses the message at in[pos..len): 1 with its type id and
 * a reader over what follows the id, 0 when incomplete, or -1 and *err. */
static int gob_message_at(gob_state *s, const uint8_t *in, size_t len,
                          size_t *pos, int64_t *id, gob_reader *r,
                          rpc_error **err)
{
	uint64_t count;
	size_t hdr;
	int rc = frame_count(in + *pos, len - *pos, &count, &hdr);

	if (rc < 0) {
		*err = gob_err("gob: invalid message length%s%s", "", "");
		return -1;
	}
	if (rc == 0)
		return 0;
	if (count == 0 || count > s->max_frame) {
		*err = rpci_error(
		    RPC_ERR_PROTOCOL,
		    "gob: message length %llu out of range (limit %zu)",
		    (unsigned long long)count, s->max_frame);
		return -1;
	}
	if (*pos + hdr + count > gob_call_limit(s)) {
		*err =
		    rpci_error(RPC_ERR_PROTOCOL,
		               "gob: call of more than %zu bytes (limit %zu)",
		               gob_call_limit(s), s->max_frame);
		return -1;
	}
	if (count > len - *pos - hdr)
		return 0;
	r->p = in + *pos + hdr;
	r->len = (size_t)count;
	r->pos = 0;
	*pos += hdr + (size_t)count;
	if (!rpci_gob_read_int(r, id) || *id == 0) {
		*err = gob_err("gob: invalid type id%s%s", "", "");
		return -1;
	}
	return 1;
}

/* gob_defined_id is the type id that a definition sent as id < 0 defines:
 * -id, except that INT64_MIN, whose negation overflows, stays INT64_MIN (as
 * Go's wrapping -id leaves it), below every user id, so it is refused. */
static int64_t gob_defined_id(int64_t id)
{
	return id == INT64_MIN ? INT64_MIN : -id;
}

/* A split body being followed (gob.h, gob_cont): the messages after the
 * body's first are taken from in[*pos..len); the value's bytes, without
 * the definitions between them, are gathered in parts. */
typedef struct gob_split {
	gob_cont c; /* first: split_next gets the gob_split from it */
	gob_state *s;
	const uint8_t *in;
	size_t len;
	size_t *pos; /* offset in in of the next message */
	size_t seg;  /* where the value's part of the current message begins */
	rpci_buf parts;
	bool split;
	size_t need; /* set when the next message is not all there */
} gob_split;

static rpc_error *split_next(gob_cont *c, gob_reader *r, size_t seq)
{
	gob_split *sp = (gob_split *)c;
	rpc_error *err = NULL;
	size_t at = *sp->pos, hdr;
	uint64_t count;
	int64_t id;
	int rc;

	if (!rpci_buf_append(&sp->parts, r->p + sp->seg, seq - sp->seg))
		return rpci_error(RPC_ERR_NOMEM, NULL);
	sp->split = true;
	rc = gob_message_at(sp->s, sp->in, sp->len, sp->pos, &id, r, &err);
	if (rc < 0)
		return err;
	if (rc == 0) {
		if (frame_count(sp->in + at, sp->len - at, &count, &hdr) == 1)
			sp->need = at + hdr + (size_t)count;
		else
			sp->need = sp->len + 1;
		return gob_err("gob: value continues past the input%s%s", "",
		               "");
	}
	r->pos = 0; /* the caller reads the message's type id */
	sp->seg = 0;
	return NULL;
}

/* gob_take_body reads a body through when the stream has interface types,
 * as Go's decoder would: an interface holding a type new to the stream
 * brings that type's definitions (recorded here, as Go records them) and
 * splits the value across messages, which are taken too (*pos moves past
 * them) and the value put back together in b->own. 1: done, 0: more input
 * is needed (s->again says how much), -1: *err, the stream is broken.
 * A body that is not split and does not read through is left for
 * read_body to refuse, for that call alone. */
static int gob_take_body(gob_state *s, const uint8_t *in, size_t len,
                         size_t *pos, gob_body *b, rpc_error **err)
{
	const gob_wtype *w = rpci_gob_rtable_find(&s->rt, b->id);
	gob_split sp = {.c = {&s->rt, split_next},
	                .s = s,
	                .in = in,
	                .len = len,
	                .pos = pos};
	gob_reader r = {b->data, b->len, 0, &sp.c};
	rpc_error *e = NULL;
	uint64_t delta = 0;

	if ((w == NULL || w->kind != GOB_K_STRUCT) &&
	    (!rpci_gob_read_uint(&r, &delta) || delta != 0))
		e = gob_bad();
	if (e == NULL)
		e = rpci_gob_skip(&s->rt, b->id, &r, 0);
	if (sp.need != 0) {
		rpc_error_free(e);
		rpci_buf_fini(&sp.parts);
		s->again = sp.need;
		return 0;
	}
	if (!sp.split && (e == NULL || rpc_error_kind_of(e) != RPC_ERR_NOMEM)) {
		rpc_error_free(e);
		return 1;
	}
	if (e == NULL && r.pos != r.len)
		e = gob_err("gob: extra data after value of type %s%s",
		            rpci_gob_type_name(&s->rt, b->id), "");
	if (e == NULL &&
	    !rpci_buf_append(&sp.parts, r.p + sp.seg, r.len - sp.seg))
		e = rpci_error(RPC_ERR_NOMEM, NULL);
	if (e != NULL) {
		rpci_buf_fini(&sp.parts);
		*err = e;
		return -1;
	}
	b->own = sp.parts.data;
	b->data = b->own;
	b->len = sp.parts.len;
	return 1;
}

static rpci_read_status gob_read(void *state, const uint8_t *in, size_t len,
                                 size_t *used, rpci_msg *msg, rpc_error **err)
{
	gob_state *s = state;
	size_t pos = 0, end, n_types;
	int values = 0, rc;
	bool interfaces;
	gob_reader r = {NULL, 0, 0, NULL};
	gob_body *b;
	int64_t id;

	*err = NULL;
	if (len < s->again)
		return RPCI_READ_AGAIN;
	s->again = 0;
	/* Pass 1: are a header and a body all there? */
	while (values < 2) {
		rc = gob_message_at(s, in, len, &pos, &id, &r, err);
		if (rc < 0)
			return RPCI_READ_ERROR;
		if (rc == 0)
			return RPCI_READ_AGAIN;
		if (id > 0)
			values++;
	}
	end = pos;
	/* Pass 2: take them (and the rest of a body Go split). */
	memset(msg, 0, sizeof *msg);
	n_types = s->rt.n;
	interfaces = s->rt.interfaces;
	pos = 0;
	values = 0;
	rc = 1;
	while (pos < end) {
		gob_message_at(s, in, end, &pos, &id, &r, err);
		if (id < 0) {
			*err = rpci_gob_rtable_define(&s->rt,
			                              gob_defined_id(id), &r);
		} else if (values++ == 0) {
			*err = gob_header(s, id, &r, msg);
		} else if ((b = calloc(1, sizeof *b)) == NULL) {
			*err = rpci_error(RPC_ERR_NOMEM, NULL);
		} else {
			b->id = id;
			b->len = r.len - r.pos;
			b->data = r.p + r.pos;
			msg->body = b;
			if (s->rt.interfaces)
				rc = gob_take_body(s, in, len, &pos, b, err);
			msg->body_len = b->len;
		}
		if (*err != NULL || rc <= 0) {
			gob_msg_clear(s, msg);
			rpci_gob_rtable_truncate(&s->rt, n_types, interfaces);
			return rc == 0 ? RPCI_READ_AGAIN : RPCI_READ_ERROR;
		}
	}
	*used = pos;
	return RPCI_READ_OK;
}

/* gob_need walks the messages read's pass 1 would, changing nothing, to
 * the first one not all there: the bytes up to its end are needed (at
 * least; a definition or the header may be followed by more). */
static size_t gob_need(void *state, const uint8_t *in, size_t len)
{
	gob_state *s = state;
	size_t pos = 0, hdr;
	uint64_t count;
	int values = 0;

	if (s->again > len)
		return s->again; /* the rest of a split body */

	while (values < 2) {
		gob_reader r = {NULL, 0, 0, NULL};
		int64_t id;

		if (frame_count(in + pos, len - pos, &count, &hdr) != 1 ||
		    count == 0 || count > s->max_frame ||
		    pos + hdr > gob_call_limit(s) ||
		    count > gob_call_limit(s) - pos - hdr)
			return 0;
		if (count > len - pos - hdr)
			return pos + hdr + (size_t)count;
		r.p = in + pos + hdr;
		r.len = (size_t)count;
		r.pos = 0;
		if (!rpci_gob_read_int(&r, &id) || id == 0)
			return 0;
		pos += hdr + (size_t)count;
		if (id > 0)
			values++;
	}
	return 0; /* all there: read takes it */
}

/* ---- decoding bodies ----------------------------------------------------- */

static rpc_error *gob_mismatch(gob_state *s, const ProtobufCFieldDescriptor *f,
                               int64_t wid)
{
	return gob_err("gob: wrong type for field %s: received %s", f->name,
	               rpci_gob_type_name(&s->rt, wid));
}

static rpc_error *gob_range(const ProtobufCFieldDescriptor *f)
{
	return gob_err("gob: value out of range for field %s%s", f->name, "");
}

static rpc_error *dec_struct(gob_state *s, const gob_wtype *w,
                             ProtobufCMessage *m, gob_reader *r, int depth);

/* dec_elem decodes one value of wire type wid into p, the storage of one
 * element of f. */
static rpc_error *dec_elem(gob_state *s, int64_t wid,
                           const ProtobufCFieldDescriptor *f, void *p,
                           gob_reader *r, int depth)
{
	const gob_wtype *w;
	const uint8_t *bytes;
	ProtobufCMessage **mp;
	ProtobufCBinaryData *bd;
	char **sp;
	rpci_scalar v;
	uint64_t u = 0;
	size_t n;

	switch (rpci_field_kind(f)) {
	case RPCI_KIND_INT:
	case RPCI_KIND_UINT:
	case RPCI_KIND_FLOAT:
	case RPCI_KIND_BOOL:
		if (wid != rpci_gob_builtin(f))
			return gob_mismatch(s, f, wid);
		v.kind = rpci_field_kind(f);
		if (v.kind == RPCI_KIND_INT ? !rpci_gob_read_int(r, &v.v.i)
		    : v.kind == RPCI_KIND_FLOAT
		        ? !rpci_gob_read_float(r, &v.v.d)
		        : !rpci_gob_read_uint(r, &u))
			return gob_bad();
		if (v.kind == RPCI_KIND_UINT)
			v.v.u = u;
		else if (v.kind == RPCI_KIND_BOOL)
			v.v.b = u != 0;
		if (!rpci_field_write(f, p, v))
			return gob_range(f);
		return NULL;
	case RPCI_KIND_STRING:
		if (wid != GOB_ID_STRING)
			return gob_mismatch(s, f, wid);
		if (!rpci_gob_read_bytes(r, &bytes, &n))
			return gob_bad();
		if (memchr(bytes, '\0', n) != NULL)
			return gob_err(
			    "gob: string with a NUL byte in field %s%s",
			    f->name, "");
		sp = p;
		rpci_message_free_value(f, sp);
		*sp = rpci_big_field_alloc(s->server, n + 1);
		if (*sp == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
		memcpy(*sp, bytes, n);
		(*sp)[n] = '\0';
		return NULL;
	case RPCI_KIND_BYTES:
		if (wid != GOB_ID_BYTES)
			return gob_mismatch(s, f, wid);
		if (!rpci_gob_read_bytes(r, &bytes, &n))
			return gob_bad();
		bd = p;
		rpci_message_free_value(f, bd);
		bd->data = NULL;
		bd->len = 0;
		if (n > 0) {
			if ((bd->data = rpci_big_field_alloc(s->server, n)) ==
			    NULL)
				return rpci_error(RPC_ERR_NOMEM, NULL);
			memcpy(bd->data, bytes, n);
			bd->len = n;
		}
		return NULL;
	case RPCI_KIND_MESSAGE:
		w = rpci_gob_rtable_find(&s->rt, wid);
		if (w == NULL || w->kind != GOB_K_STRUCT)
			return gob_mismatch(s, f, wid);
		mp = p;
		if (*mp == NULL) {
			if ((*mp = rpci_message_new(f->descriptor)) == NULL)
				return rpci_error(RPC_ERR_NOMEM, NULL);
			/* gob leaves zero values out: absent means zero */
			rpci_message_zero_defaults(*mp);
		}
		return dec_struct(s, w, *mp, r, depth + 1);
	default:
		return gob_err("gob: field %s has an unsupported type%s",
		               f->name, "");
	}
}

/* dec_list decodes a slice (or array) into repeated field f of m. */
static rpc_error *dec_list(gob_state *s, const gob_wtype *w,
                           const ProtobufCFieldDescriptor *f, void *m,
                           gob_reader *r, int depth)
{
	size_t size = rpci_field_size(f), k;
	rpc_error *err;
	uint64_t n;
	char *arr;

	if (!rpci_gob_read_count(r, &n))
		return gob_bad();
	if (*AT(m, f->offset, void *) != NULL)
		return gob_err("gob: field %s received twice%s", f->name, "");
	if (n == 0)
		return NULL;
	if ((arr = calloc((size_t)n, size)) == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	*AT(m, f->offset, void *) = arr;
	*AT(m, f->quantifier_offset, size_t) = (size_t)n;
	for (k = 0; k < n; k++)
		if ((err = dec_elem(s, w->elem, f, arr + k * size, r, depth)))
			return err;
	return NULL;
}

/* dec_map decodes a gob map into map field f (repeated XxxEntry) of m. */
static rpc_error *dec_map(gob_state *s, const gob_wtype *w,
                          const ProtobufCFieldDescriptor *f,
                          const ProtobufCFieldDescriptor *kf,
                          const ProtobufCFieldDescriptor *vf, void *m,
                          gob_reader *r, int depth)
{
	ProtobufCMessage **arr, *e;
	rpc_error *err;
	uint64_t n, k;

	if (!rpci_gob_read_count(r, &n))
		return gob_bad();
	if (*AT(m, f->offset, void *) != NULL)
		return gob_err("gob: field %s received twice%s", f->name, "");
	if (n == 0)
		return NULL;
	if ((arr = calloc((size_t)n, sizeof *arr)) == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	*AT(m, f->offset, void *) = arr;
	*AT(m, f->quantifier_offset, size_t) = (size_t)n;
	for (k = 0; k < n; k++) {
		if ((e = arr[k] = rpci_message_new(f->descriptor)) == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
		if ((err = dec_elem(s, w->key, kf, AT(e, kf->offset, void), r,
		                    depth)))
			return err;
		rpci_field_mark(kf, e);
		if ((err = dec_elem(s, w->elem, vf, AT(e, vf->offset, void), r,
		                    depth)))
			return err;
		rpci_field_mark(vf, e);
	}
	return NULL;
}

/* dec_field decodes a value of wire type wid into field f of m. */
static rpc_error *dec_field(gob_state *s, int64_t wid,
                            const ProtobufCFieldDescriptor *f, void *m,
                            gob_reader *r, int depth)
{
	const ProtobufCFieldDescriptor *kf, *vf;
	const gob_wtype *w = rpci_gob_rtable_find(&s->rt, wid);
	rpc_error *err;

	if (depth > GOB_MAX_DEPTH)
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "gob: value nested too deep");
	if (rpci_field_map(f, &kf, &vf)) {
		if (w == NULL || w->kind != GOB_K_MAP)
			return gob_mismatch(s, f, wid);
		return dec_map(s, w, f, kf, vf, m, r, depth);
	}
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		if (w == NULL ||
		    (w->kind != GOB_K_SLICE && w->kind != GOB_K_ARRAY))
			return gob_mismatch(s, f, wid);
		/* as Go, an array only from an array of its length (a
		 * slice's count is checked by rpci_arrays_settle) */
		if (w->kind == GOB_K_ARRAY && rpci_array_len(f) > 0 &&
		    w->len != (int64_t)rpci_array_len(f))
			return rpci_error(RPC_ERR_PROTOCOL,
			                  "gob: wrong type for field %s: "
			                  "received [%" PRId64 "] for [%" PRIu32
			                  "]",
			                  f->name, w->len, rpci_array_len(f));
		return dec_list(s, w, f, m, r, depth);
	}
	if (rpci_field_is_oneof(f) && rpci_oneof_case(f, m) != 0) {
		/* a Go peer set two pointers of one oneof: its bug, which
		 * keeping either value would hide (docs/mapping.md) */
		const ProtobufCMessageDescriptor *d =
		    ((const ProtobufCMessage *)m)->descriptor;
		const ProtobufCFieldDescriptor *o =
		    protobuf_c_message_descriptor_get_field(
		        d, rpci_oneof_case(f, m));
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "gob: field %s.%s: another member of its "
		                  "oneof (%s) is set",
		                  d->short_name, f->name, o ? o->name : "?");
	}
	if ((err = dec_elem(s, wid, f, AT(m, f->offset, void), r, depth)))
		return err;
	rpci_field_mark(f, m);
	return NULL;
}

/* dec_lookup finds the field named name; a peer with the same struct sends
 * field k as wire field k, so that index is tried first. */
static const ProtobufCFieldDescriptor *
dec_lookup(const ProtobufCMessageDescriptor *d, const char *name, int64_t k)
{
	unsigned i;

	if (k < (int64_t)d->n_fields &&
	    rpci_field_go_named(name, d->fields[k].name))
		return &d->fields[k];
	for (i = 0; i < d->n_fields; i++)
		if (rpci_field_go_named(name, d->fields[i].name))
			return &d->fields[i];
	return NULL;
}

/* dec_fields_match says whether a struct of wire type w can be decoded
 * into a message of d: as in Go, some wire field must match a field by
 * name unless one side has no fields (so a Reply is not taken for an
 * Args of zeroes, while struct{}{} still reads as zeroes). */
static bool dec_fields_match(const gob_wtype *w,
                             const ProtobufCMessageDescriptor *d)
{
	size_t i;

	if (w->n_fields == 0 || d->n_fields == 0)
		return true;
	for (i = 0; i < w->n_fields; i++)
		if (dec_lookup(d, w->fields[i].name, (int64_t)i) != NULL)
			return true;
	return false;
}

static rpc_error *dec_struct(gob_state *s, const gob_wtype *w,
                             ProtobufCMessage *m, gob_reader *r, int depth)
{
	const ProtobufCFieldDescriptor *pf;
	const gob_wfield *wf;
	rpc_error *err;
	int64_t f = -1;
	int rc;

	if (depth > GOB_MAX_DEPTH)
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "gob: value nested too deep");
	while ((rc = body_next(r, &f, w->n_fields)) == 1) {
		wf = &w->fields[f];
		pf = dec_lookup(m->descriptor, wf->name, f);
		if (pf == NULL)
			err = rpci_gob_skip(&s->rt, wf->id, r, depth + 1);
		else
			err = dec_field(s, wf->id, pf, m, r, depth);
		if (err != NULL)
			return err;
	}
	if (rc != 0)
		return gob_bad();
	/* Checked after the value so that a malformed one fails as such. */
	if (!dec_fields_match(w, m->descriptor))
		return gob_err(
		    "gob: type mismatch: no fields matched compiling "
		    "decoder for %s%s",
		    m->descriptor->short_name, "");
	return NULL;
}

static rpc_error *gob_read_body(void *state, rpci_msg *msg, const rpc_type *t,
                                ProtobufCMessage *dst)
{
	gob_state *s = state;
	const gob_body *b = msg->body;
	const ProtobufCFieldDescriptor *f;
	const gob_wtype *w;
	rpc_error *err;
	gob_reader r = {NULL, 0, 0, NULL};
	uint64_t delta;

	if (dst == NULL)
		return NULL;
	if (b == NULL)
		return gob_err("gob: message has no body%s%s", "", "");
	r.p = b->data;
	r.len = b->len;
	r.pos = 0;
	w = rpci_gob_rtable_find(&s->rt, b->id);
	if (t->form == RPC_FORM_MESSAGE) {
		if (w == NULL || w->kind != GOB_K_STRUCT)
			return gob_err(
			    "gob: type mismatch: received %s, want struct %s",
			    rpci_gob_type_name(&s->rt, b->id), t->name);
		/* gob leaves zero values out: absent means zero, not the
		 * field's [default] */
		rpci_message_zero_defaults(dst);
		err = dec_struct(s, w, dst, &r, 0);
	} else if ((f = rpci_value_field(t)) == NULL) {
		return rpci_error(RPC_ERR_INVALID,
		                  "gob: type %s has no field 1", t->name);
	} else if (w != NULL && w->kind == GOB_K_STRUCT) {
		return gob_err("gob: type mismatch: received %s, want %s",
		               rpci_gob_type_name(&s->rt, b->id), t->name);
	} else if (!rpci_gob_read_uint(&r, &delta) || delta != 0) {
		return gob_err("gob: corrupted bare value of type %s%s",
		               rpci_gob_type_name(&s->rt, b->id), "");
	} else {
		err = dec_field(s, b->id, f, dst, &r, 0);
	}
	if (err == NULL && r.pos != r.len)
		err = gob_err("gob: extra data after value of type %s%s",
		              rpci_gob_type_name(&s->rt, b->id), "");
	if (err != NULL)
		rpc_message_free_contents(dst);
	return err;
}

/* ---- encoding ------------------------------------------------------------ */

static rpc_error *gob_nomem(void)
{
	return rpci_error(RPC_ERR_NOMEM, NULL);
}

static rpc_error *enc_struct(rpci_buf *b, const ProtobufCMessage *m, int depth);

/* enc_room gives a large string or bytes field of n bytes its room and a
 * little more at once (rpci_buf_reserve gives a large reservation exactly
 * what it asks for), so the few bytes after it, and a wider byte count
 * (gob_body_end), do not make the buffer grow again. */
static bool enc_room(rpci_buf *b, size_t n)
{
	return n < RPCI_BIG || rpci_buf_reserve(b, n + 64);
}

static rpc_error *enc_elem(rpci_buf *b, const ProtobufCFieldDescriptor *f,
                           const void *p, int depth)
{
	const ProtobufCBinaryData *bd;
	const char *str;
	size_t n;
	bool ok;

	switch (rpci_field_kind(f)) {
	case RPCI_KIND_INT:
		ok = rpci_gob_put_int(b, rpci_field_read(f, p).v.i);
		break;
	case RPCI_KIND_UINT:
		ok = rpci_gob_put_uint(b, rpci_field_read(f, p).v.u);
		break;
	case RPCI_KIND_BOOL:
		ok = rpci_gob_put_uint(b, rpci_field_read(f, p).v.b ? 1 : 0);
		break;
	case RPCI_KIND_FLOAT:
		ok = rpci_gob_put_float(b, rpci_field_read(f, p).v.d);
		break;
	case RPCI_KIND_STRING:
		str = *(const char *const *)p;
		n = str != NULL ? strlen(str) : 0;
		ok = enc_room(b, n) && rpci_gob_put_bytes(b, str, n);
		break;
	case RPCI_KIND_BYTES:
		bd = p;
		if (bd->len > 0 && bd->data == NULL)
			return gob_err("gob: field %s: bytes without data%s",
			               f->name, "");
		ok = enc_room(b, bd->len) &&
		     rpci_gob_put_bytes(b, bd->data, bd->len);
		break;
	case RPCI_KIND_MESSAGE:
		return enc_struct(b, *(const ProtobufCMessage *const *)p,
		                  depth + 1);
	default:
		return gob_err("gob: field %s has an unsupported type%s",
		               f->name, "");
	}
	return ok ? NULL : gob_nomem();
}

/* enc_field writes the value of field f of m (a list or map with its count);
 * the caller decided it is to be sent. */
static rpc_error *enc_field(rpci_buf *b, const ProtobufCFieldDescriptor *f,
                            const void *m, int depth)
{
	const ProtobufCFieldDescriptor *kf, *vf;
	const ProtobufCMessage *e;
	size_t n, k, size;
	rpc_error *err;
	const char *arr;

	if (depth > GOB_MAX_DEPTH)
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "gob: message nested too deep");
	if (f->label != PROTOBUF_C_LABEL_REPEATED)
		return enc_elem(b, f, AT(m, f->offset, const void), depth);
	n = *AT(m, f->quantifier_offset, const size_t);
	arr = *AT(m, f->offset, const char *const);
	if (n > 0 && arr == NULL)
		return gob_err("gob: field %s: elements missing%s", f->name,
		               "");
	if (!rpci_gob_put_uint(b, n))
		return gob_nomem();
	if (rpci_field_map(f, &kf, &vf)) {
		for (k = 0; k < n; k++) {
			e = ((const ProtobufCMessage *const *)arr)[k];
			if (e == NULL)
				return gob_err(
				    "gob: field %s: NULL map entry%s", f->name,
				    "");
			if ((err =
			         enc_elem(b, kf, AT(e, kf->offset, const void),
			                  depth)) ||
			    (err = enc_elem(
			         b, vf, AT(e, vf->offset, const void), depth)))
				return err;
		}
		return NULL;
	}
	size = rpci_field_size(f);
	for (k = 0; k < n; k++)
		if ((err = enc_elem(b, f, arr + k * size, depth)))
			return err;
	return NULL;
}

/* enc_present: is field f of m sent? gob leaves out zero values. */
static bool enc_present(const ProtobufCFieldDescriptor *f, const void *m)
{
	if (!rpci_field_present(f, m))
		return false;
	return f->label == PROTOBUF_C_LABEL_REPEATED ||
	       !rpci_field_zero(f, AT(m, f->offset, const void));
}

static rpc_error *enc_struct(rpci_buf *b, const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d;
	rpc_error *err;
	long last = -1;
	unsigned i;

	if (depth > GOB_MAX_DEPTH)
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "gob: message nested too deep");
	if (m != NULL) {
		d = m->descriptor;
		for (i = 0; i < d->n_fields; i++) {
			if (!enc_present(&d->fields[i], m))
				continue;
			if (!rpci_gob_put_uint(b, (uint64_t)((long)i - last)))
				return gob_nomem();
			if ((err = enc_field(b, &d->fields[i], m, depth)))
				return err;
			last = (long)i;
		}
	}
	return rpci_gob_put_uint(b, 0) ? NULL : gob_nomem();
}

/* gob_send_value appends the definitions id needs, then the value message
 * built by the caller in s->value. */
static rpc_error *gob_send_value(gob_state *s, int64_t id, rpci_buf *out)
{
	if (id == 0 || !rpci_gob_stable_send(&s->st, id, &s->scratch, out) ||
	    !rpci_gob_message(out, &s->value))
		return gob_nomem();
	return NULL;
}

/* gob_body_end writes the byte count of the value message encoded at
 * out[at + room..out->len) into the room of room bytes left for it at at,
 * and moves the value against it when the count takes another width. The
 * count is known only once the value is encoded (a value is never held in
 * a second buffer); the room is the width of the last body's count, so a
 * connection whose bodies keep their size moves nothing. Returns the
 * count's width, or 0 when out could not grow (out is then as it was,
 * room included). */
static size_t gob_body_end(rpci_buf *out, size_t at, size_t room)
{
	size_t n = out->len - at - room;
	uint8_t count[9];
	rpci_buf c = {count, 0, sizeof count}; /* never grows */

	(void)rpci_gob_put_uint(&c, n);
	if (c.len > room && !rpci_buf_reserve(out, c.len - room))
		return 0;
	if (c.len != room)
		memmove(out->data + at + c.len, out->data + at + room, n);
	memcpy(out->data + at, count, c.len);
	out->len = at + c.len + n;
	return c.len;
}

/* gob_write_body appends the body: the definitions its type needs, then
 * its value message, encoded straight into out. */
static rpc_error *gob_write_body(gob_state *s, const rpc_type *t,
                                 const ProtobufCMessage *body, rpci_buf *out)
{
	const ProtobufCFieldDescriptor *f = NULL;
	rpc_error *err;
	size_t at, room;
	int64_t id;

	s->value.len = 0;
	if (body == NULL || t == NULL) {
		id = rpci_gob_stable_special(&s->st, GOB_S_EMPTY);
		if (!rpci_gob_put_int(&s->value, id) ||
		    !rpci_gob_put_uint(&s->value, 0))
			return gob_nomem();
		return gob_send_value(s, id, out);
	}
	if (t->form == RPC_FORM_MESSAGE)
		id = rpci_gob_stable_struct(&s->st, t->desc, true);
	else if ((f = rpci_value_field(t)) != NULL)
		id = rpci_gob_stable_field(&s->st, f, true);
	else
		return rpci_error(RPC_ERR_INVALID,
		                  "gob: type %s has no field 1", t->name);
	room = s->count_room > 0 ? s->count_room : 1;
	if (id == 0 || !rpci_gob_stable_send(&s->st, id, &s->scratch, out) ||
	    !rpci_buf_reserve(out, room))
		return gob_nomem();
	at = out->len;
	out->len += room;
	if (!rpci_gob_put_int(out, id))
		return gob_nomem();
	if (f == NULL)
		err = enc_struct(out, body, 0);
	else
		err = rpci_gob_put_uint(out, 0) ? enc_field(out, f, body, 0)
		                                : gob_nomem();
	if (err != NULL)
		return err;
	if ((room = gob_body_end(out, at, room)) == 0)
		return gob_nomem();
	s->count_room = room;
	return NULL;
}

static rpc_error *gob_write(void *state, const rpci_header *h,
                            const rpc_type *t, const ProtobufCMessage *body,
                            rpci_buf *out)
{
	gob_state *s = state;
	size_t mark = out->len;
	rpci_buf *v = &s->value;
	rpc_error *err = NULL;
	long last = -1;
	int64_t id;

	s->st.gen++;
	id = rpci_gob_stable_special(&s->st, s->server ? GOB_S_RESPONSE
	                                               : GOB_S_REQUEST);
	v->len = 0;
	if (!rpci_gob_put_int(v, id))
		goto nomem;
	if (h->service_method != NULL && h->service_method[0] != '\0') {
		if (!rpci_gob_put_uint(v, 1) ||
		    !rpci_gob_put_bytes(v, h->service_method,
		                        strlen(h->service_method)))
			goto nomem;
		last = 0;
	}
	if (h->seq != 0) {
		if (!rpci_gob_put_uint(v, (uint64_t)(1 - last)) ||
		    !rpci_gob_put_uint(v, h->seq))
			goto nomem;
		last = 1;
	}
	if (s->server && h->error != NULL && h->error[0] != '\0') {
		if (!rpci_gob_put_uint(v, (uint64_t)(2 - last)) ||
		    !rpci_gob_put_bytes(v, h->error, strlen(h->error)))
			goto nomem;
		body = NULL; /* Go sends struct{}{} with an error */
	}
	if (!rpci_gob_put_uint(v, 0))
		goto nomem;
	if ((err = gob_send_value(s, id, out)) != NULL)
		goto fail;
	if ((err = gob_write_body(s, t, body, out)) != NULL)
		goto fail;
	return NULL;
nomem:
	err = gob_nomem();
fail:
	out->len = mark;
	rpci_gob_stable_unsend(&s->st);
	return err;
}

const rpc_codec rpc_codec_gob = {
    .abi = RPC_CODEC_ABI,
    .name = "gob",
    .state_new = gob_state_new,
    .state_free = gob_state_free,
    .read = gob_read,
    .need = gob_need,
    .read_body = gob_read_body,
    .msg_clear = gob_msg_clear,
    .write = gob_write,
};
