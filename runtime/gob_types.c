/* gob_types.c - gob numbers and the two type tables of a gob connection.
 *
 * Numbers: an unsigned integer below 128 is one byte; a larger one is the
 * negated count of its big-endian bytes, then the bytes. A signed integer
 * travels as an unsigned one with the sign in bit 0 (complemented when
 * negative). A float is its IEEE-754 float64 bits byte-reversed, sent as an
 * unsigned integer, so that common small floats stay short.
 *
 * Read side: every type definition the peer sends (a wireType value after a
 * negative id) is parsed into a gob_wtype. References between types are
 * checked when a value uses them, so forward and recursive references work.
 *
 * Write side: gob_stable gives each type the id Go would give it in a fresh
 * process that encodes the same values in the same order (a struct takes
 * its id before its fields, a slice or map after its elements), names it as
 * Go would, and sends each definition once per stream, outer type first,
 * then the types inside it in field order, as Go's Encoder does. That makes
 * our stream byte-identical to Go's for the same values.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gob.h"

/* ---- numbers ------------------------------------------------------------- */

bool rpci_gob_read_uint(gob_reader *r, uint64_t *v)
{
	uint64_t x = 0;
	unsigned n, i;
	uint8_t b;

	if (r->pos >= r->len)
		return false;
	b = r->p[r->pos++];
	if (b <= 0x7f) {
		*v = b;
		return true;
	}
	n = 256u - b;
	if (n > 8 || n > r->len - r->pos)
		return false;
	for (i = 0; i < n; i++)
		x = x << 8 | r->p[r->pos++];
	*v = x;
	return true;
}

bool rpci_gob_read_int(gob_reader *r, int64_t *v)
{
	uint64_t u;

	if (!rpci_gob_read_uint(r, &u))
		return false;
	if (u & 1)
		*v = (int64_t) ~(u >> 1);
	else
		*v = (int64_t)(u >> 1);
	return true;
}

static uint64_t gob_swap64(uint64_t x)
{
	uint64_t y = 0;
	int i;

	for (i = 0; i < 8; i++) {
		y = y << 8 | (x & 0xff);
		x >>= 8;
	}
	return y;
}

bool rpci_gob_read_float(gob_reader *r, double *v)
{
	uint64_t u;

	if (!rpci_gob_read_uint(r, &u))
		return false;
	u = gob_swap64(u);
	memcpy(v, &u, sizeof *v);
	return true;
}

bool rpci_gob_read_bytes(gob_reader *r, const uint8_t **p, size_t *n)
{
	uint64_t len;

	if (!rpci_gob_read_uint(r, &len) || len > r->len - r->pos)
		return false;
	*p = r->p + r->pos;
	*n = (size_t)len;
	r->pos += (size_t)len;
	return true;
}

bool rpci_gob_read_count(gob_reader *r, uint64_t *n)
{
	return rpci_gob_read_uint(r, n) && *n <= r->len - r->pos;
}

bool rpci_gob_read_string(gob_reader *r, char **s, bool *oom)
{
	const uint8_t *p;
	size_t n;

	*oom = false;
	if (!rpci_gob_read_bytes(r, &p, &n))
		return false;
	*s = malloc(n + 1);
	if (*s == NULL) {
		*oom = true;
		return false;
	}
	memcpy(*s, p, n);
	(*s)[n] = '\0';
	return true;
}

bool rpci_gob_put_uint(rpci_buf *b, uint64_t v)
{
	uint8_t tmp[9];
	int n = 0, i;

	if (v <= 0x7f) {
		tmp[0] = (uint8_t)v;
		return rpci_buf_append(b, tmp, 1);
	}
	for (i = 7; i >= 0; i--) {
		uint8_t byte = (uint8_t)(v >> (8 * i));
		if (n > 0 || byte != 0)
			tmp[1 + n++] = byte;
	}
	tmp[0] = (uint8_t)(256 - n);
	return rpci_buf_append(b, tmp, (size_t)n + 1);
}

bool rpci_gob_put_int(rpci_buf *b, int64_t v)
{
	uint64_t u;

	if (v < 0)
		u = ((uint64_t)~v << 1) | 1;
	else
		u = (uint64_t)v << 1;
	return rpci_gob_put_uint(b, u);
}

bool rpci_gob_put_float(rpci_buf *b, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof u);
	return rpci_gob_put_uint(b, gob_swap64(u));
}

bool rpci_gob_put_bytes(rpci_buf *b, const void *p, size_t n)
{
	return rpci_gob_put_uint(b, n) && (n == 0 || rpci_buf_append(b, p, n));
}

bool rpci_gob_message(rpci_buf *out, const rpci_buf *body)
{
	return rpci_gob_put_uint(out, body->len) &&
	       rpci_buf_append(out, body->data, body->len);
}

/* ---- types received ------------------------------------------------------ */

enum { DEF_OK = 0, DEF_BAD = -1, DEF_OOM = -2 };

/* def_next steps to the next field of a struct value: 1 and *f set, or 0
 * at the end, or DEF_BAD. */
static int def_next(gob_reader *r, int64_t *f, int64_t max)
{
	uint64_t d;

	if (!rpci_gob_read_uint(r, &d))
		return DEF_BAD;
	if (d == 0)
		return 0;
	if (d > (uint64_t)(max - *f))
		return DEF_BAD;
	*f += (int64_t)d;
	return 1;
}

static int def_string(gob_reader *r, char **s)
{
	bool oom;

	free(*s);
	*s = NULL;
	if (!rpci_gob_read_string(r, s, &oom))
		return oom ? DEF_OOM : DEF_BAD;
	return DEF_OK;
}

/* CommonType { Name string; Id typeId } */
static int def_common(gob_reader *r, gob_wtype *w)
{
	int64_t f = -1, ignored;
	int rc;

	while ((rc = def_next(r, &f, 1)) == 1) {
		if (f == 0) {
			if ((rc = def_string(r, &w->name)) != DEF_OK)
				return rc;
		} else if (!rpci_gob_read_int(r, &ignored)) {
			return DEF_BAD;
		}
	}
	return rc;
}

/* fieldType { Name string; Id typeId } */
static int def_field(gob_reader *r, gob_wfield *fld)
{
	int64_t f = -1;
	int rc;

	while ((rc = def_next(r, &f, 1)) == 1) {
		if (f == 0) {
			if ((rc = def_string(r, &fld->name)) != DEF_OK)
				return rc;
		} else if (!rpci_gob_read_int(r, &fld->id)) {
			return DEF_BAD;
		}
	}
	return rc;
}

/* structType { CommonType; Field []*fieldType } */
static int def_struct(gob_reader *r, gob_wtype *w)
{
	int64_t f = -1;
	uint64_t n, i;
	int rc;

	while ((rc = def_next(r, &f, 1)) == 1) {
		if (f == 0) {
			if ((rc = def_common(r, w)) != DEF_OK)
				return rc;
			continue;
		}
		if (w->fields != NULL || !rpci_gob_read_count(r, &n))
			return DEF_BAD;
		if (n == 0)
			continue;
		w->fields = calloc((size_t)n, sizeof *w->fields);
		if (w->fields == NULL)
			return DEF_OOM;
		w->n_fields = (size_t)n;
		for (i = 0; i < n; i++)
			if ((rc = def_field(r, &w->fields[i])) != DEF_OK)
				return rc;
	}
	return rc;
}

/* arrayType { CommonType; Elem typeId; Len int }, sliceType { CommonType;
 * Elem typeId }, mapType { CommonType; Key typeId; Elem typeId } and
 * gobEncoderType { CommonType }: all a CommonType then up to two ints. */
static int def_composite(gob_reader *r, gob_wtype *w)
{
	int64_t f = -1, v;
	int64_t max = w->kind == GOB_K_OPAQUE  ? 0
	              : w->kind == GOB_K_SLICE ? 1
	                                       : 2;
	int rc;

	while ((rc = def_next(r, &f, max)) == 1) {
		if (f == 0) {
			if ((rc = def_common(r, w)) != DEF_OK)
				return rc;
			continue;
		}
		if (!rpci_gob_read_int(r, &v))
			return DEF_BAD;
		if (w->kind == GOB_K_MAP)
			*(f == 1 ? &w->key : &w->elem) = v;
		else if (f == 1)
			w->elem = v;
		else
			w->len = v;
	}
	return rc;
}

static void def_wtype_fini(gob_wtype *w)
{
	size_t i;

	free(w->name);
	for (i = 0; i < w->n_fields; i++)
		free(w->fields[i].name);
	free(w->fields);
	memset(w, 0, sizeof *w);
}

/* wireType { ArrayT, SliceT, StructT, MapT, GobEncoderT, BinaryMarshalerT,
 * TextMarshalerT }: exactly one is set. */
static int def_wire(gob_reader *r, gob_wtype *w)
{
	static const gob_kind kinds[] = {
	    GOB_K_ARRAY,  GOB_K_SLICE,  GOB_K_STRUCT, GOB_K_MAP,
	    GOB_K_OPAQUE, GOB_K_OPAQUE, GOB_K_OPAQUE};
	int64_t f = -1;
	bool seen = false;
	int rc;

	while ((rc = def_next(r, &f, 6)) == 1) {
		if (seen)
			return DEF_BAD;
		seen = true;
		w->kind = kinds[f];
		rc = w->kind == GOB_K_STRUCT ? def_struct(r, w)
		                             : def_composite(r, w);
		if (rc != DEF_OK)
			return rc;
	}
	if (rc == 0 && !seen)
		return DEF_BAD;
	return rc;
}

const gob_wtype *rpci_gob_rtable_find(const gob_rtable *t, int64_t id)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].id == id)
			return &t->v[i];
	return NULL;
}

/* rtable_define records the wireType at r as id; whole says it must be all
 * that is left in r. */
static rpc_error *rtable_define(gob_rtable *t, int64_t id, gob_reader *r,
                                bool whole)
{
	gob_wtype w;
	size_t i;
	int rc;

	if (id < GOB_FIRST_USER_ID)
		return rpci_error(
		    RPC_ERR_PROTOCOL,
		    "gob: type id %lld redefines a predefined type",
		    (long long)id);
	if (rpci_gob_rtable_find(t, id) != NULL)
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "gob: duplicate type received");
	if (t->n >= GOB_MAX_TYPES)
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "gob: too many types (limit %d per stream)",
		                  GOB_MAX_TYPES);
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		gob_wtype *v = realloc(t->v, cap * sizeof *v);
		if (v == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
		t->v = v;
		t->cap = cap;
	}
	memset(&w, 0, sizeof w);
	w.id = id;
	rc = def_wire(r, &w);
	if (rc == DEF_OK && whole && r->pos != r->len)
		rc = DEF_BAD;
	for (i = 0; rc == DEF_OK && i < w.n_fields; i++)
		if (w.fields[i].name == NULL || w.fields[i].id == 0)
			rc = DEF_BAD; /* every field has a name and a type */
	if (rc != DEF_OK) {
		def_wtype_fini(&w);
		if (rc == DEF_OOM)
			return rpci_error(RPC_ERR_NOMEM, NULL);
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "gob: malformed definition of type %lld",
		                  (long long)id);
	}
	for (i = 0; i < w.n_fields; i++)
		t->interfaces |= w.fields[i].id == GOB_ID_INTERFACE;
	t->interfaces |=
	    w.elem == GOB_ID_INTERFACE || w.key == GOB_ID_INTERFACE;
	t->v[t->n++] = w;
	return NULL;
}

rpc_error *rpci_gob_rtable_define(gob_rtable *t, int64_t id, gob_reader *r)
{
	return rtable_define(t, id, r, true);
}

void rpci_gob_rtable_truncate(gob_rtable *t, size_t n, bool interfaces)
{
	while (t->n > n)
		def_wtype_fini(&t->v[--t->n]);
	t->interfaces = interfaces;
}

void rpci_gob_rtable_fini(gob_rtable *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		def_wtype_fini(&t->v[i]);
	free(t->v);
	memset(t, 0, sizeof *t);
}

const char *rpci_gob_type_name(const gob_rtable *t, int64_t id)
{
	static const char *const builtin[] = {"?",      "bool",    "int",
	                                      "uint",   "float",   "[]byte",
	                                      "string", "complex", "interface"};
	const gob_wtype *w;

	if (id >= 1 && id <= GOB_ID_INTERFACE)
		return builtin[id];
	w = rpci_gob_rtable_find(t, id);
	if (w == NULL)
		return "undefined type";
	if (w->name != NULL && w->name[0] != '\0')
		return w->name;
	switch (w->kind) {
	case GOB_K_STRUCT:
		return "struct";
	case GOB_K_SLICE:
		return "slice";
	case GOB_K_ARRAY:
		return "array";
	case GOB_K_MAP:
		return "map";
	default:
		return "encoded value";
	}
}

static rpc_error *skip_bad(void)
{
	return rpci_error(RPC_ERR_PROTOCOL,
	                  "gob: truncated or malformed value");
}

/* skip_interface steps over an interface value as Go's decoder ignores
 * one: the concrete type's name ("" for nil), then its type id, preceded by
 * the definitions of types new to the stream (each followed by a byte count
 * when more follows in the same message), then the value with its byte
 * count. When the message ends after a definition, Go's encoder carries on
 * in the next message: r->cont follows it; without one the value reads as
 * truncated. */
static rpc_error *skip_interface(gob_reader *r)
{
	const uint8_t *p;
	rpc_error *err;
	gob_wtype w;
	uint64_t u;
	int64_t id;
	size_t n, seq;
	int rc;

	if (!rpci_gob_read_bytes(r, &p, &n))
		return skip_bad();
	if (n == 0)
		return NULL;
	seq = r->pos;
	for (;;) {
		if (!rpci_gob_read_int(r, &id) || id == 0)
			return skip_bad();
		if (id > 0)
			break;
		if (r->cont != NULL) {
			/* -INT64_MIN overflows; INT64_MIN is refused */
			err = rtable_define(r->cont->t,
			                    id == INT64_MIN ? INT64_MIN : -id,
			                    r, false);
			if (err != NULL)
				return err;
		} else {
			memset(&w, 0, sizeof w);
			rc = def_wire(r, &w);
			def_wtype_fini(&w);
			if (rc == DEF_OOM)
				return rpci_error(RPC_ERR_NOMEM, NULL);
			if (rc != DEF_OK)
				return skip_bad();
		}
		if (r->pos < r->len) {
			if (!rpci_gob_read_uint(r, &u))
				return skip_bad();
		} else if (r->cont != NULL) {
			if ((err = r->cont->next(r->cont, r, seq)) != NULL)
				return err;
			seq = 0;
		}
	}
	return rpci_gob_read_bytes(r, &p, &n) ? NULL : skip_bad();
}

rpc_error *rpci_gob_skip(const gob_rtable *t, int64_t id, gob_reader *r,
                         int depth)
{
	const gob_wtype *w;
	const gob_wfield *fields;
	size_t n_fields;
	int64_t key, elem;
	gob_kind kind;
	const uint8_t *p;
	uint64_t u, n, i;
	int64_t f = -1;
	rpc_error *err;
	size_t len;
	int rc;

	if (depth > GOB_MAX_DEPTH)
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "gob: value nested too deep");
	switch (id) {
	case GOB_ID_BOOL:
	case GOB_ID_INT:
	case GOB_ID_UINT:
	case GOB_ID_FLOAT:
		return rpci_gob_read_uint(r, &u) ? NULL : skip_bad();
	case GOB_ID_COMPLEX:
		return rpci_gob_read_uint(r, &u) && rpci_gob_read_uint(r, &u)
		           ? NULL
		           : skip_bad();
	case GOB_ID_BYTES:
	case GOB_ID_STRING:
		return rpci_gob_read_bytes(r, &p, &len) ? NULL : skip_bad();
	case GOB_ID_INTERFACE:
		return skip_interface(r);
	default:
		break;
	}
	w = rpci_gob_rtable_find(t, id);
	if (w == NULL)
		return rpci_error(RPC_ERR_PROTOCOL, "gob: unknown type id %lld",
		                  (long long)id);
	/* w is not used once a part is skipped: a definition recorded there
	 * (r->cont) may move the table; the fields array stays put */
	fields = w->fields;
	n_fields = w->n_fields;
	kind = w->kind;
	key = w->key;
	elem = w->elem;
	switch (kind) {
	case GOB_K_STRUCT:
		while ((rc = def_next(r, &f, (int64_t)n_fields - 1)) == 1)
			if ((err =
			         rpci_gob_skip(t, fields[f].id, r, depth + 1)))
				return err;
		return rc == 0 ? NULL : skip_bad();
	case GOB_K_SLICE:
	case GOB_K_ARRAY:
	case GOB_K_MAP:
		/* A value Go split goes on past r's end, so its counts are
		 * not bounded by r's bytes; nothing is allocated here, and
		 * each element takes at least a byte of the input. */
		if (r->cont != NULL ? !rpci_gob_read_uint(r, &n)
		                    : !rpci_gob_read_count(r, &n))
			return skip_bad();
		for (i = 0; i < n; i++) {
			if (kind == GOB_K_MAP &&
			    (err = rpci_gob_skip(t, key, r, depth + 1)))
				return err;
			if ((err = rpci_gob_skip(t, elem, r, depth + 1)))
				return err;
		}
		return NULL;
	default:
		return rpci_gob_read_bytes(r, &p, &len) ? NULL : skip_bad();
	}
}

/* ---- types sent ---------------------------------------------------------- */

void rpci_gob_stable_init(gob_stable *t)
{
	memset(t, 0, sizeof *t);
	t->last_id = GOB_FIRST_USER_ID;
	t->gen = 1;
}

void rpci_gob_stable_fini(gob_stable *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].go);
		free(t->v[i].name);
	}
	free(t->v);
	memset(t, 0, sizeof *t);
}

/* st_go_elem spells the Go type of one element of f ("int64", "*pkg.Args"). */
static char *st_go_elem(const ProtobufCFieldDescriptor *f)
{
	const ProtobufCMessageDescriptor *d;
	const char *pkg, *dot;
	char *s;

	if (rpci_field_go_scalar(f) != NULL)
		return strdup(rpci_field_go_scalar(f));
	d = f->descriptor;
	pkg = d->package_name != NULL && d->package_name[0] ? d->package_name
	                                                    : "main";
	if ((dot = strrchr(pkg, '.')) != NULL)
		pkg = dot + 1;
	if (asprintf(&s, "*%s.%s", pkg, d->short_name) < 0)
		return NULL;
	return s;
}

/* st_push appends a zeroed entry; returns its index or -1. */
static long st_push(gob_stable *t, gob_skind kind)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		gob_stype *v = realloc(t->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	memset(&t->v[t->n], 0, sizeof t->v[t->n]);
	t->v[t->n].kind = kind;
	return (long)t->n++;
}

/* The build functions return true with *id set (0 while the type is still
 * being built, e.g. a slice whose element refers back to it) and *idx the
 * entry (-1 for predefined types), or false on out of memory. */
static bool st_struct(gob_stable *t, const ProtobufCMessageDescriptor *d,
                      bool named, int64_t *id);
static bool st_field(gob_stable *t, const ProtobufCFieldDescriptor *f, bool top,
                     int64_t *id, long *idx);

static bool st_elem(gob_stable *t, const ProtobufCFieldDescriptor *f,
                    bool named, int64_t *id)
{
	if (rpci_field_kind(f) == RPCI_KIND_MESSAGE)
		return st_struct(t, f->descriptor, named, id);
	*id = rpci_gob_builtin(f);
	return true;
}

static bool st_struct(gob_stable *t, const ProtobufCMessageDescriptor *d,
                      bool named, int64_t *id)
{
	int64_t fid;
	long i, fidx;
	unsigned k;

	for (i = 0; i < (long)t->n; i++) {
		if (t->v[i].kind == GOB_S_MESSAGE && t->v[i].desc == d) {
			*id = t->v[i].id;
			return true;
		}
	}
	if ((i = st_push(t, GOB_S_MESSAGE)) < 0)
		return false;
	t->v[i].desc = d;
	t->v[i].id = ++t->last_id;
	t->v[i].name = strdup(named ? d->short_name : "");
	if (t->v[i].name == NULL)
		return false;
	*id = t->v[i].id;
	for (k = 0; k < d->n_fields; k++) {
		if (!st_field(t, &d->fields[k], false, &fid, &fidx))
			return false;
		if (fidx >= 0 && fid == 0)
			t->v[fidx].id = ++t->last_id;
	}
	return true;
}

static bool st_field(gob_stable *t, const ProtobufCFieldDescriptor *f, bool top,
                     int64_t *id, long *idx)
{
	const ProtobufCFieldDescriptor *kf, *vf;
	bool is_map = rpci_field_map(f, &kf, &vf);
	char *go = NULL, *e1 = NULL, *e2 = NULL;
	int64_t key = 0, elem = 0;
	long i;
	int rc;

	*idx = -1;
	if (!is_map && f->label != PROTOBUF_C_LABEL_REPEATED) {
		if (rpci_field_kind(f) == RPCI_KIND_MESSAGE)
			return st_struct(t, f->descriptor, true, id);
		*id = rpci_gob_builtin(f);
		return true;
	}
	if (is_map) {
		e1 = st_go_elem(kf);
		e2 = st_go_elem(vf);
		rc = e1 && e2 ? asprintf(&go, "map[%s]%s", e1, e2) : -1;
	} else if (rpci_array_len(f) > 0) {
		e1 = st_go_elem(f);
		rc =
		    e1 ? asprintf(&go, "[%" PRIu32 "]%s", rpci_array_len(f), e1)
		       : -1;
	} else {
		e1 = st_go_elem(f);
		rc = e1 ? asprintf(&go, "[]%s", e1) : -1;
	}
	free(e1);
	free(e2);
	if (rc < 0)
		return false;
	for (i = 0; i < (long)t->n; i++) {
		if (t->v[i].go != NULL && strcmp(t->v[i].go, go) == 0) {
			free(go);
			*id = t->v[i].id;
			*idx = i;
			return true;
		}
	}
	if ((i = st_push(t, is_map                  ? GOB_S_MAP
	                    : rpci_array_len(f) > 0 ? GOB_S_ARRAY
	                                            : GOB_S_SLICE)) < 0) {
		free(go);
		return false;
	}
	t->v[i].len = rpci_array_len(f);
	t->v[i].go = go;
	t->v[i].name = strdup(top ? "" : go);
	if (t->v[i].name == NULL)
		return false;
	if (is_map) {
		if (!st_elem(t, kf, false, &key) ||
		    !st_elem(t, vf, false, &elem))
			return false;
	} else if (!st_elem(t, f, false, &elem)) {
		return false;
	}
	t->v[i].key = key;
	t->v[i].elem = elem;
	if (t->v[i].id == 0)
		t->v[i].id = ++t->last_id;
	*id = t->v[i].id;
	*idx = i;
	return true;
}

int64_t rpci_gob_stable_struct(gob_stable *t,
                               const ProtobufCMessageDescriptor *desc,
                               bool named)
{
	int64_t id;

	return st_struct(t, desc, named, &id) ? id : 0;
}

int64_t rpci_gob_stable_field(gob_stable *t, const ProtobufCFieldDescriptor *f,
                              bool top)
{
	int64_t id;
	long idx;

	if (!st_field(t, f, top, &id, &idx))
		return 0;
	if (id == 0 && idx >= 0)
		id = t->v[idx].id = ++t->last_id;
	return id;
}

int64_t rpci_gob_stable_special(gob_stable *t, gob_skind kind)
{
	static const char *const names[] = {[GOB_S_REQUEST] = "Request",
	                                    [GOB_S_RESPONSE] = "Response",
	                                    [GOB_S_EMPTY] = ""};
	long i;

	for (i = 0; i < (long)t->n; i++)
		if (t->v[i].kind == kind)
			return t->v[i].id;
	if ((i = st_push(t, kind)) < 0)
		return 0;
	t->v[i].name = strdup(names[kind]);
	if (t->v[i].name == NULL)
		return 0;
	return t->v[i].id = ++t->last_id;
}

static long st_find(const gob_stable *t, int64_t id)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].id == id)
			return (long)i;
	return -1;
}

/* CommonType{Name, Id} as a struct field value. */
static bool st_put_common(rpci_buf *b, const char *name, int64_t id)
{
	bool ok = true;

	if (name[0] != '\0')
		ok = rpci_gob_put_uint(b, 1) &&
		     rpci_gob_put_bytes(b, name, strlen(name)) &&
		     rpci_gob_put_uint(b, 1);
	else
		ok = rpci_gob_put_uint(b, 2);
	return ok && rpci_gob_put_int(b, id) && rpci_gob_put_uint(b, 0);
}

static bool st_put_field(rpci_buf *b, const char *name, bool exported,
                         int64_t id)
{
	size_t n = strlen(name);
	char c;

	if (n == 0)
		return rpci_gob_put_uint(b, 2) && rpci_gob_put_int(b, id) &&
		       rpci_gob_put_uint(b, 0);
	c = exported ? rpci_field_go_initial(name) : name[0];
	return rpci_gob_put_uint(b, 1) && rpci_gob_put_uint(b, n) &&
	       rpci_buf_append(b, &c, 1) &&
	       (n == 1 || rpci_buf_append(b, name + 1, n - 1)) &&
	       rpci_gob_put_uint(b, 1) && rpci_gob_put_int(b, id) &&
	       rpci_gob_put_uint(b, 0);
}

/* st_put_def encodes the wireType of entry i (after -id) into b. */
static bool st_put_def(gob_stable *t, long i, rpci_buf *b)
{
	static const char *const req[] = {"ServiceMethod", "Seq"};
	static const char *const resp[] = {"ServiceMethod", "Seq", "Error"};
	static const int64_t ids[] = {GOB_ID_STRING, GOB_ID_UINT,
	                              GOB_ID_STRING};
	gob_stype s = t->v[i];
	const char *const *names = NULL;
	size_t n = 0, k;
	int64_t fid;

	switch (s.kind) {
	case GOB_S_SLICE:
		return rpci_gob_put_uint(b, 2) && rpci_gob_put_uint(b, 1) &&
		       st_put_common(b, s.name, s.id) &&
		       rpci_gob_put_uint(b, 1) && rpci_gob_put_int(b, s.elem) &&
		       rpci_gob_put_uint(b, 0) && rpci_gob_put_uint(b, 0);
	case GOB_S_ARRAY: /* wireType.ArrayT: arrayType{CommonType, Elem,
	                     Len} */
		return rpci_gob_put_uint(b, 1) && rpci_gob_put_uint(b, 1) &&
		       st_put_common(b, s.name, s.id) &&
		       rpci_gob_put_uint(b, 1) && rpci_gob_put_int(b, s.elem) &&
		       rpci_gob_put_uint(b, 1) && rpci_gob_put_int(b, s.len) &&
		       rpci_gob_put_uint(b, 0) && rpci_gob_put_uint(b, 0);
	case GOB_S_MAP:
		return rpci_gob_put_uint(b, 4) && rpci_gob_put_uint(b, 1) &&
		       st_put_common(b, s.name, s.id) &&
		       rpci_gob_put_uint(b, 1) && rpci_gob_put_int(b, s.key) &&
		       rpci_gob_put_uint(b, 1) && rpci_gob_put_int(b, s.elem) &&
		       rpci_gob_put_uint(b, 0) && rpci_gob_put_uint(b, 0);
	case GOB_S_REQUEST:
		names = req;
		n = 2;
		break;
	case GOB_S_RESPONSE:
		names = resp;
		n = 3;
		break;
	case GOB_S_EMPTY:
		break;
	case GOB_S_MESSAGE:
		n = s.desc->n_fields;
		break;
	}
	if (!rpci_gob_put_uint(b, 3) || !rpci_gob_put_uint(b, 1) ||
	    !st_put_common(b, s.name, s.id))
		return false;
	if (n > 0) {
		if (!rpci_gob_put_uint(b, 1) || !rpci_gob_put_uint(b, n))
			return false;
		for (k = 0; k < n; k++) {
			if (names != NULL) {
				if (!st_put_field(b, names[k], false, ids[k]))
					return false;
				continue;
			}
			fid =
			    rpci_gob_stable_field(t, &s.desc->fields[k], false);
			if (fid == 0 ||
			    !st_put_field(b, s.desc->fields[k].name, true, fid))
				return false;
		}
	}
	return rpci_gob_put_uint(b, 0) && rpci_gob_put_uint(b, 0);
}

bool rpci_gob_stable_send(gob_stable *t, int64_t id, rpci_buf *scratch,
                          rpci_buf *out)
{
	long i = st_find(t, id);
	gob_stype s;
	unsigned k;
	int64_t fid;

	if (id <= GOB_FIRST_USER_ID)
		return true;
	if (i < 0)
		return false;
	if (t->v[i].sent)
		return true;
	scratch->len = 0;
	if (!rpci_gob_put_int(scratch, -id) || !st_put_def(t, i, scratch) ||
	    !rpci_gob_message(out, scratch))
		return false;
	t->v[i].sent = t->gen;
	s = t->v[i];
	switch (s.kind) {
	case GOB_S_MESSAGE:
		for (k = 0; k < s.desc->n_fields; k++) {
			fid =
			    rpci_gob_stable_field(t, &s.desc->fields[k], false);
			if (fid == 0 ||
			    !rpci_gob_stable_send(t, fid, scratch, out))
				return false;
		}
		return true;
	case GOB_S_MAP:
		if (!rpci_gob_stable_send(t, s.key, scratch, out))
			return false;
		/* fall through */
	case GOB_S_SLICE:
	case GOB_S_ARRAY:
		return rpci_gob_stable_send(t, s.elem, scratch, out);
	default:
		return true;
	}
}

void rpci_gob_stable_unsend(gob_stable *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].sent == t->gen)
			t->v[i].sent = 0;
}
