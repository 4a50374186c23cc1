/* codec_json.c - the JSON-RPC codec, wire-compatible with Go's
 * net/rpc/jsonrpc.
 *
 * A client sends {"method":"Arith.Multiply","params":[ARG],"id":SEQ} and a
 * server answers {"id":ID,"result":R,"error":null} or
 * {"id":ID,"result":null,"error":"text"}, each followed by a newline as Go's
 * json.Encoder writes it. The stream has no framing: read() scans for the
 * end of one complete top-level value (validating its syntax as Go's
 * scanner does, bounding its size by max_frame and its nesting by
 * JSON_MAX_DEPTH), then picks the header out of it. A server echoes any JSON
 * id verbatim: it numbers requests with its own counter and keeps a
 * seq -> id map, shared by reader and writer under a mutex.
 *
 * Bodies are driven by protobuf-c descriptors, encoded the way Go's
 * encoding/json encodes the equivalent Go struct: keys are the field names
 * with the first letter upper-cased, fields in descriptor (number) order,
 * bytes as padded base64, floats in Go's shortest form, strings with Go's
 * HTML-safe escaping, maps with keys sorted, empty lists, maps and bytes as
 * null inside a struct. Decoding matches keys exactly, then folding case as
 * Go does, ignores unknown keys, and never truncates: a number out of range of
 * its field, or of the wrong JSON kind, is an error that names the field as
 * Go does. Numbers are kept as their text until a field's type is known, so
 * 64-bit integers are exact.
 *
 * The JSON syntax (scanner, UTF-8, cursor) is in json_syntax.c and the
 * Go-compatible writer (quoting, floats, base64) in json_write.c (json.h);
 * this file holds the header handling, the body codec and the ops table.
 *
 * We parse JSON ourselves rather than with jansson: jansson rejects
 * integers above INT64_MAX (uint64 must round-trip) and cannot hand back
 * the raw text of a value (Go echoes ids verbatim).
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
#include "json_value.h"

/* ---- state --------------------------------------------------------------- */

typedef struct json_id {
	uint64_t seq;
	char *raw; /* compacted JSON text of the request's id; NULL: none */
	struct json_id *next;
} json_id;

typedef struct json_state {
	bool server;
	size_t max_frame;
	pthread_mutex_t mu; /* protects seq and the id table */
	uint64_t seq;       /* server: last sequence number handed out */
	json_id **buckets;  /* server: seq -> raw id, chained */
	size_t n_buckets;   /* a power of two, or 0 */
	size_t n_ids;
	scan_resume scan; /* read side: where the last scan stopped */
} json_state;

static rpc_error *json_state_new(bool server, size_t max_frame, void **state)
{
	json_state *s = calloc(1, sizeof *s);

	if (s == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	s->server = server;
	s->max_frame = max_frame == 0 ? RPC_DEFAULT_MAX_FRAME : max_frame;
	rpci_json_scan_reset(&s->scan);
	*state = s;
	return NULL;
}

static void json_state_free(void *state)
{
	json_state *s = state;
	json_id *id, *next;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_buckets; i++) {
		for (id = s->buckets[i]; id != NULL; id = next) {
			next = id->next;
			rpci_big_free(id->raw);
			free(id);
		}
	}
	free(s->buckets);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* ids_put records raw (taken) for a new sequence number and returns it in
 * *seq. Returns false on out of memory (raw is then freed). */
static bool ids_put(json_state *s, char *raw, uint64_t *seq)
{
	json_id *id = malloc(sizeof *id);
	bool ok = false;

	if (id == NULL) {
		rpci_big_free(raw);
		return false;
	}
	pthread_mutex_lock(&s->mu);
	if (s->n_ids >= s->n_buckets * 2) {
		size_t n = s->n_buckets == 0 ? 16 : s->n_buckets * 2, i;
		json_id **b = calloc(n, sizeof *b);
		json_id *e, *next;

		if (b == NULL)
			goto out;
		for (i = 0; i < s->n_buckets; i++) {
			for (e = s->buckets[i]; e != NULL; e = next) {
				next = e->next;
				e->next = b[e->seq & (n - 1)];
				b[e->seq & (n - 1)] = e;
			}
		}
		free(s->buckets);
		s->buckets = b;
		s->n_buckets = n;
	}
	id->seq = ++s->seq;
	id->raw = raw;
	id->next = s->buckets[id->seq & (s->n_buckets - 1)];
	s->buckets[id->seq & (s->n_buckets - 1)] = id;
	s->n_ids++;
	*seq = id->seq;
	ok = true;
out:
	pthread_mutex_unlock(&s->mu);
	if (!ok) {
		rpci_big_free(raw);
		free(id);
	}
	return ok;
}

/* ids_take removes seq's entry; returns false if there is none. *raw gets
 * the id text (caller frees; NULL for a request without id). */
static bool ids_take(json_state *s, uint64_t seq, char **raw)
{
	json_id **pp, *id = NULL;

	pthread_mutex_lock(&s->mu);
	if (s->n_buckets > 0) {
		for (pp = &s->buckets[seq & (s->n_buckets - 1)]; *pp != NULL;
		     pp = &(*pp)->next) {
			if ((*pp)->seq == seq) {
				id = *pp;
				*pp = id->next;
				s->n_ids--;
				break;
			}
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (id == NULL)
		return false;
	*raw = id->raw;
	free(id);
	return true;
}

/* ---- message bodies: descriptors ----------------------------------------- */

/* go_type names f's value (elem: one element of a list) as Go prints the
 * type of the equivalent Go field. */
static void go_type(const ProtobufCFieldDescriptor *f, bool elem, char *out,
                    size_t n)
{
	const char *name;

	if (!elem && rpci_field_map(f, NULL, NULL)) {
		char k[64], v[64];
		const ProtobufCMessageDescriptor *d = f->descriptor;

		go_type(&d->fields[0], true, k, sizeof k);
		go_type(&d->fields[1], true, v, sizeof v);
		snprintf(out, n, "map[%s]%s", k, v);
		return;
	}
	name = rpci_field_go_scalar(f);
	if (name == NULL)
		name = rpci_field_kind(f) == RPCI_KIND_MESSAGE
		           ? ((const ProtobufCMessageDescriptor *)f->descriptor)
		                 ->short_name
		           : "?";
	snprintf(out, n, "%s%s",
	         !elem && f->label == PROTOBUF_C_LABEL_REPEATED ? "[]" : "",
	         name);
}

/* ---- message bodies: encoding -------------------------------------------- */

static void enc_message(jw *w, const ProtobufCMessage *m);

/* enc_key writes "Name": for field f (Go's exported spelling). */
static void enc_key(jw *w, const ProtobufCFieldDescriptor *f)
{
	size_t n = strlen(f->name);
	char first = rpci_field_go_initial(f->name);
	rpci_json_jw_put(w, "\"", 1);
	if (n > 0) {
		rpci_json_jw_put(w, &first, 1);
		rpci_json_jw_put(w, f->name + 1, n - 1);
	}
	rpci_json_jw_put(w, "\":", 2);
}

/* enc_number spells the integer of f (kind INT or UINT) held at p. */
static void enc_number(const ProtobufCFieldDescriptor *f, const void *p,
                       char *num, size_t n)
{
	rpci_scalar v = rpci_field_read(f, p);

	if (v.kind == RPCI_KIND_INT)
		snprintf(num, n, "%lld", (long long)v.v.i);
	else
		snprintf(num, n, "%llu", (unsigned long long)v.v.u);
}

/* enc_one writes one value of f's type held at p. */
static void enc_one(jw *w, const ProtobufCFieldDescriptor *f, const void *p,
                    bool top)
{
	char num[32];

	switch (rpci_field_kind(f)) {
	case RPCI_KIND_INT:
	case RPCI_KIND_UINT:
		enc_number(f, p, num, sizeof num);
		break;
	case RPCI_KIND_FLOAT:
		rpci_json_jw_float(w, rpci_field_read(f, p).v.d,
		                   rpci_field_size(f) == sizeof(float));
		return;
	case RPCI_KIND_BOOL:
		rpci_json_jw_str(w,
		                 rpci_field_read(f, p).v.b ? "true" : "false");
		return;
	case RPCI_KIND_STRING:
		rpci_json_jw_cstr(w, *(char *const *)p);
		return;
	case RPCI_KIND_BYTES: {
		const ProtobufCBinaryData *b = p;

		if (b->len == 0 && !top)
			rpci_json_jw_str(w, "null"); /* Go's nil []byte */
		else
			rpci_json_jw_base64(w, b->data, b->len);
		return;
	}
	case RPCI_KIND_MESSAGE:
		if (*(ProtobufCMessage *const *)p == NULL)
			rpci_json_jw_str(w, "null");
		else
			enc_message(w, *(ProtobufCMessage *const *)p);
		return;
	default:
		rpci_json_jw_fail(
		    w, rpci_error(RPC_ERR_INVALID,
		                  "rpc: json: field %s has an unknown type",
		                  f->name));
		return;
	}
	rpci_json_jw_str(w, num);
}

/* map_key is one map entry with its key as Go would write it. */
typedef struct map_key {
	char *text;
	size_t len;
	const ProtobufCMessage *entry;
} map_key;

static int map_key_cmp(const void *a, const void *b)
{
	const map_key *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->text, y->text, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static void enc_map(jw *w, const ProtobufCFieldDescriptor *f, size_t n,
                    ProtobufCMessage *const *entries, bool top)
{
	const ProtobufCMessageDescriptor *d = f->descriptor;
	const ProtobufCFieldDescriptor *kf = &d->fields[0], *vf = &d->fields[1];
	map_key *keys;
	size_t i;
	char num[32];

	if (n == 0) {
		rpci_json_jw_str(w, top ? "{}" : "null");
		return;
	}
	keys = calloc(n, sizeof *keys);
	if (keys == NULL) {
		w->oom = true;
		return;
	}
	for (i = 0; i < n; i++) {
		const void *kp = JSON_AT(entries[i], kf->offset, char);
		const char *s = num;

		keys[i].entry = entries[i];
		switch (rpci_field_kind(kf)) {
		case RPCI_KIND_STRING:
			s = *(char *const *)kp;
			if (s == NULL)
				s = "";
			break;
		case RPCI_KIND_BOOL:
			s = rpci_field_read(kf, kp).v.b ? "true" : "false";
			break;
		case RPCI_KIND_INT:
		case RPCI_KIND_UINT:
			if (kf->type == PROTOBUF_C_TYPE_ENUM)
				goto bad_key; /* Go's maps here have no enum
				                 keys */
			enc_number(kf, kp, num, sizeof num);
			break;
		default:
		bad_key:
			rpci_json_jw_fail(
			    w,
			    rpci_error(RPC_ERR_INVALID,
			               "json: unsupported map key type in %s",
			               f->name));
			goto out;
		}
		keys[i].len = strlen(s);
		keys[i].text = strdup(s);
		if (keys[i].text == NULL) {
			w->oom = true;
			goto out;
		}
	}
	qsort(keys, n, sizeof *keys, map_key_cmp);
	rpci_json_jw_put(w, "{", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			rpci_json_jw_put(w, ",", 1);
		rpci_json_jw_quote(w, (const uint8_t *)keys[i].text,
		                   keys[i].len);
		rpci_json_jw_put(w, ":", 1);
		enc_one(w, vf, JSON_AT(keys[i].entry, vf->offset, char), false);
	}
	rpci_json_jw_put(w, "}", 1);
out:
	for (i = 0; i < n; i++)
		free(keys[i].text);
	free(keys);
}

/* enc_field writes the value of field f of m (top: f is the field of a
 * wrapper type, sent bare as a whole params or result). */
static void enc_field(jw *w, const ProtobufCFieldDescriptor *f,
                      const ProtobufCMessage *m, bool top)
{
	const void *p = JSON_AT(m, f->offset, char);

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *JSON_AT(m, f->quantifier_offset, size_t), i;
		const char *arr = *(char *const *)p;

		if (rpci_field_map(f, NULL, NULL)) {
			enc_map(w, f, n, (ProtobufCMessage *const *)arr, top);
			return;
		}
		if (n == 0) {
			rpci_json_jw_str(w, top ? "[]"
			                        : "null"); /* Go's nil slice */
			return;
		}
		rpci_json_jw_put(w, "[", 1);
		for (i = 0; i < n; i++) {
			if (i > 0)
				rpci_json_jw_put(w, ",", 1);
			if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    ((ProtobufCMessage *const *)arr)[i] == NULL) {
				rpci_json_jw_str(w, "null");
				continue;
			}
			enc_one(w, f, arr + i * rpci_field_size(f), true);
		}
		rpci_json_jw_put(w, "]", 1);
		return;
	}
	if (rpci_field_has_flag(f) && !rpci_field_present(f, m)) {
		rpci_json_jw_str(w, "null");
		return;
	}
	if (f->type == PROTOBUF_C_TYPE_STRING && *(char *const *)p == NULL &&
	    f->label == PROTOBUF_C_LABEL_OPTIONAL) {
		rpci_json_jw_str(w, "null");
		return;
	}
	/* a set optional or oneof member is a non-nil pointer in Go: empty
	 * bytes are "" */
	enc_one(w, f, p,
	        top || rpci_field_has_flag(f) || rpci_field_is_oneof(f));
}

static void enc_message(jw *w, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	unsigned i;
	bool first = true;

	if (++w->depth > JSON_MAX_DEPTH - 2) {
		rpci_json_jw_fail(
		    w, rpci_error(RPC_ERR_INVALID,
		                  "rpc: json: nesting deeper than %d",
		                  JSON_MAX_DEPTH));
		w->depth--;
		return;
	}
	rpci_json_jw_put(w, "{", 1);
	for (i = 0; i < d->n_fields && w->err == NULL; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (!first)
			rpci_json_jw_put(w, ",", 1);
		first = false;
		enc_key(w, f);
		/* a oneof member is a pointer field in Go: nil unless set */
		if (rpci_field_is_oneof(f) && !rpci_field_present(f, m))
			rpci_json_jw_str(w, "null");
		else
			enc_field(w, f, m, false);
	}
	rpci_json_jw_put(w, "}", 1);
	w->depth--;
}

/* enc_top writes a whole params element or result. */
static void enc_top(jw *w, const rpc_type *t, const ProtobufCMessage *body)
{
	const ProtobufCFieldDescriptor *f;

	if (body == NULL || t == NULL) {
		rpci_json_jw_str(w, "null");
		return;
	}
	if (t->form == RPC_FORM_MESSAGE) {
		enc_message(w, body);
		return;
	}
	f = rpci_value_field(t);
	if (f == NULL) {
		rpci_json_jw_fail(
		    w,
		    rpci_error(RPC_ERR_INVALID,
		               "rpc: json: type %s has no field 1", t->name));
		return;
	}
	enc_field(w, f, body, true);
}

/* ---- message bodies: decoding -------------------------------------------- */

/* A decoding context: the cursor plus what Go's errors name, the innermost
 * struct and the path of field names from the root. */
typedef struct jdec {
	jcur c;
	const char *strct;
	char path[256];
	size_t path_len;
	int depth;
	bool cli;        /* rpci_json_decode_value: errors name the path with
	                    list indices and map keys ("Points[3].X: want
	                    int64, got \"x\"") */
	bool known_keys; /* a key that names no field is an error */
	bool big;        /* a server's argument: large strings and bytes are
	                    big blocks (big.c), freed with the argument */
} jdec;

static void dec_path_push(jdec *d, const char *fmt, const char *s);
static rpc_error *dec_cli_type_error(jdec *d, const char *value, size_t vlen,
                                     const ProtobufCFieldDescriptor *f,
                                     bool elem);

static rpc_error *dec_type_error(jdec *d, const char *value, size_t vlen,
                                 const ProtobufCFieldDescriptor *f, bool elem)
{
	char type[160];

	if (d->cli)
		return dec_cli_type_error(d, value, vlen, f, elem);
	go_type(f, elem, type, sizeof type);
	if (d->strct != NULL)
		return rpci_error(
		    RPC_ERR_PROTOCOL,
		    "json: cannot unmarshal %.*s into Go struct field "
		    "%s.%s of type %s",
		    (int)vlen, value, d->strct, d->path, type);
	return rpci_error(
	    RPC_ERR_PROTOCOL,
	    "json: cannot unmarshal %.*s into Go value of type %s", (int)vlen,
	    value, type);
}

static rpc_error *dec_kind_error(jdec *d, const ProtobufCFieldDescriptor *f,
                                 bool elem)
{
	const char *k = rpci_json_kind_of(&d->c);

	if (d->cli && *k != 'o' && *k != 'a') {
		jcur probe = d->c; /* the token itself: "x", 1.5, true */

		if (rpci_json_cur_skip(&probe))
			return dec_type_error(d, (const char *)d->c.p,
			                      (size_t)(probe.p - d->c.p), f,
			                      elem);
	}
	return dec_type_error(d, k, strlen(k), f, elem);
}

/* dec_number_error: "number 1.5" as Go spells a number that does not fit. */
static rpc_error *dec_number_error(jdec *d, const char *text, size_t len,
                                   const ProtobufCFieldDescriptor *f)
{
	char v[80];

	snprintf(v, sizeof v, "%s%.*s", d->cli ? "" : "number ",
	         (int)(len > 64 ? 64 : len), text);
	return dec_type_error(d, v, strlen(v), f, true);
}

/* parse_int reads an integer literal (no fraction, no exponent) in
 * [min, max] or [0, umax] when is_unsigned. */
static bool parse_int(const char *s, size_t n, bool is_unsigned, int64_t min,
                      int64_t max, uint64_t umax, int64_t *iv, uint64_t *uv)
{
	bool neg = false;
	uint64_t v = 0, limit;
	size_t i = 0;

	if (n > 0 && s[0] == '-') {
		neg = true;
		i++;
	}
	if (i == n)
		return false;
	if (is_unsigned && neg)
		return false;
	limit = is_unsigned ? umax
	        : neg       ? (uint64_t)(-(min + 1)) + 1
	                    : (uint64_t)max;
	for (; i < n; i++) {
		unsigned dgt;

		if (s[i] < '0' || s[i] > '9')
			return false;
		dgt = (unsigned)(s[i] - '0');
		if (v > (limit - dgt) / 10)
			return false;
		v = v * 10 + dgt;
	}
	if (is_unsigned)
		*uv = v;
	else if (neg)
		*iv = v == 0 ? 0 : -(int64_t)(v - 1) - 1;
	else
		*iv = (int64_t)v;
	return true;
}

static int b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static size_t b64_skip_newlines(const uint8_t *s, size_t n, size_t si)
{
	while (si < n && (s[si] == '\r' || s[si] == '\n'))
		si++;
	return si;
}

/* b64_decode decodes s[0..n) in place as Go's base64.StdEncoding does:
 * padded, '\r' and '\n' ignored, errors at the same input offset as Go's
 * CorruptInputError. *olen gets the decoded length. */
static bool b64_decode(uint8_t *s, size_t n, size_t *olen, size_t *bad)
{
	size_t si = 0, o = 0;

	for (;;) {
		uint32_t q[4] = {0, 0, 0, 0}, v;
		int j, dlen = 4;

		for (j = 0; j < 4; j++) {
			uint8_t in;
			int x;

			if (si == n) {
				if (j == 0) {
					*olen = o;
					return true;
				}
				*bad = si - (size_t)j;
				return false;
			}
			in = s[si++];
			if ((x = b64_value(in)) >= 0) {
				q[j] = (uint32_t)x;
				continue;
			}
			if (in == '\n' || in == '\r') {
				j--;
				continue;
			}
			if (in != '=' || j < 2) {
				*bad = si - 1;
				return false;
			}
			if (j == 2) { /* "==" expected: the second one */
				si = b64_skip_newlines(s, n, si);
				if (si == n) {
					*bad = n;
					return false;
				}
				if (s[si] != '=') {
					*bad = si - 1;
					return false;
				}
				si++;
			}
			si = b64_skip_newlines(s, n, si);
			if (si < n) { /* trailing garbage */
				*bad = si;
				return false;
			}
			dlen = j;
			break;
		}
		v = q[0] << 18 | q[1] << 12 | q[2] << 6 | q[3];
		s[o++] = (uint8_t)(v >> 16);
		if (dlen >= 3)
			s[o++] = (uint8_t)(v >> 8);
		if (dlen == 4)
			s[o++] = (uint8_t)v;
		if (dlen < 4) {
			*olen = o;
			return true;
		}
	}
}

static rpc_error *dec_message(jdec *d, ProtobufCMessage *m);

/* dec_one decodes one non-null value of f's type into p. */
static rpc_error *dec_one(jdec *d, const ProtobufCFieldDescriptor *f, void *p)
{
	const char *text;
	size_t len;
	rpc_error *err;
	int ch = rpci_json_cur_peek(&d->c);

	switch (rpci_field_kind(f)) {
	case RPCI_KIND_INT:
	case RPCI_KIND_UINT: {
		rpci_scalar v = {.kind = rpci_field_kind(f)};

		if (!rpci_json_cur_number(&d->c, &text, &len))
			return dec_kind_error(d, f, true);
		if (!parse_int(text, len, v.kind == RPCI_KIND_UINT, INT64_MIN,
		               INT64_MAX, UINT64_MAX, &v.v.i, &v.v.u) ||
		    !rpci_field_write(f, p, v))
			return dec_number_error(d, text, len, f);
		return NULL;
	}
	case RPCI_KIND_FLOAT: {
		char small[64], *buf = small;
		bool single = rpci_field_size(f) == sizeof(float);
		rpci_scalar v = {.kind = RPCI_KIND_FLOAT};

		if (!rpci_json_cur_number(&d->c, &text, &len))
			return dec_kind_error(d, f, true);
		if (len >= sizeof small && (buf = malloc(len + 1)) == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
		memcpy(buf, text, len);
		buf[len] = '\0';
		v.v.d = rpci_json_strtod(buf, single);
		if (buf != small)
			free(buf);
		/* strtof gives a float or an infinity: the write fits */
		if (isinf(v.v.d) || !rpci_field_write(f, p, v))
			return dec_number_error(d, text, len, f);
		return NULL;
	}
	case RPCI_KIND_BOOL: {
		rpci_scalar v = {.kind = RPCI_KIND_BOOL, .v.b = ch == 't'};

		if (ch != 't' && ch != 'f')
			return dec_kind_error(d, f, true);
		rpci_field_write(f, p, v);
		rpci_json_cur_skip(&d->c);
		return NULL;
	}
	case RPCI_KIND_STRING: {
		char *s, **dst = p;
		bool nul;

		if (ch != '"')
			return dec_kind_error(d, f, true);
		if ((err = rpci_json_cur_text(&d->c, d->big, &s, NULL, &nul)) !=
		    NULL)
			return err;
		if (nul) {
			rpci_big_free(s);
			return rpci_error(
			    RPC_ERR_PROTOCOL,
			    "rpc: json: string field %s holds a NUL "
			    "character",
			    f->name);
		}
		rpci_message_free_value(f, dst);
		*dst = s;
		return NULL;
	}
	case RPCI_KIND_BYTES: {
		ProtobufCBinaryData *b = p;
		char *s;
		size_t n, o, bad;
		bool nul;

		if (ch != '"')
			return dec_kind_error(d, f, true);
		if ((err = rpci_json_cur_text(&d->c, d->big, &s, &n, &nul)) !=
		    NULL)
			return err;
		if (!b64_decode((uint8_t *)s, n, &o, &bad)) {
			rpci_big_free(s);
			return rpci_error(
			    RPC_ERR_PROTOCOL,
			    "illegal base64 data at input byte %zu", bad);
		}
		rpci_message_free_value(f, b);
		if (o == 0) {
			rpci_big_free(s);
			s = NULL;
		}
		b->data = (uint8_t *)s;
		b->len = o;
		return NULL;
	}
	case RPCI_KIND_MESSAGE: {
		ProtobufCMessage **mp = p;

		if (ch != '{')
			return dec_kind_error(d, f, true);
		if (*mp == NULL || *mp == f->default_value) {
			*mp = rpci_message_new(f->descriptor);
			if (*mp == NULL)
				return rpci_error(RPC_ERR_NOMEM, NULL);
			/* a Go struct starts at zero: no [default] */
			rpci_message_zero_defaults(*mp);
		}
		return dec_message(d, *mp);
	}
	default:
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "rpc: json: field %s has an unknown type",
		                  f->name);
	}
}

/* dec_null applies a JSON null to field f of m: as in Go, it empties lists,
 * maps, bytes, submessages and optional values and leaves the rest. */
static void dec_null(const ProtobufCFieldDescriptor *f, ProtobufCMessage *m)
{
	void *p = JSON_AT(m, f->offset, char);

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		rpci_message_clear_list(f, m);
		return;
	}
	rpci_field_unmark(f, m);
	if (f->type == PROTOBUF_C_TYPE_MESSAGE ||
	    f->type == PROTOBUF_C_TYPE_BYTES) {
		rpci_message_free_value(f, p);
		memset(p, 0, rpci_field_size(f));
	}
}

/* count_items counts the elements of the array or members of the object
 * at c (which it does not move). */
static bool count_items(const jcur *c, bool object, size_t *n)
{
	jcur probe = *c;

	*n = 0;
	if (!rpci_json_cur_eat(&probe, object ? '{' : '['))
		return false;
	if (rpci_json_cur_eat(&probe, object ? '}' : ']'))
		return true;
	for (;;) {
		if (object && (!rpci_json_cur_skip(&probe) ||
		               !rpci_json_cur_eat(&probe, ':')))
			return false;
		if (!rpci_json_cur_skip(&probe))
			return false;
		(*n)++;
		if (rpci_json_cur_eat(&probe, ','))
			continue;
		return rpci_json_cur_eat(&probe, object ? '}' : ']');
	}
}

static rpc_error *dec_bad_json(void)
{
	return rpci_error(RPC_ERR_PROTOCOL, "rpc: json: malformed body");
}

static rpc_error *dec_list(jdec *d, const ProtobufCFieldDescriptor *f,
                           ProtobufCMessage *m)
{
	size_t n, i, size = rpci_field_size(f);
	size_t *np = JSON_AT(m, f->quantifier_offset, size_t);
	char **arrp = JSON_AT(m, f->offset, char *);
	rpc_error *err;

	if (rpci_json_cur_peek(&d->c) != '[')
		return dec_kind_error(d, f, false);
	if (!count_items(&d->c, false, &n))
		return dec_bad_json();
	rpci_message_clear_list(f, m);
	rpci_json_cur_eat(&d->c, '[');
	if (n > 0) {
		*arrp = calloc(n, size);
		if (*arrp == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	for (i = 0; i < n; i++) {
		void *slot = *arrp + i * size;
		size_t path_len = d->path_len;
		char idx[32];

		*np = i + 1; /* a zeroed slot is safe to free */
		if (i > 0 && !rpci_json_cur_eat(&d->c, ','))
			return dec_bad_json();
		if (rpci_json_cur_peek(&d->c) == 'n') {
			rpci_json_cur_skip(&d->c);
			/* Go's zero element; protobuf-c lists hold no NULLs */
			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				*(ProtobufCMessage **)slot =
				    rpci_message_new(f->descriptor);
				if (*(ProtobufCMessage **)slot == NULL)
					return rpci_error(RPC_ERR_NOMEM, NULL);
				rpci_message_zero_defaults(
				    *(ProtobufCMessage **)slot);
			} else if (f->type == PROTOBUF_C_TYPE_STRING) {
				*(char **)slot = strdup("");
				if (*(char **)slot == NULL)
					return rpci_error(RPC_ERR_NOMEM, NULL);
			}
			continue;
		}
		if (d->cli) {
			snprintf(idx, sizeof idx, "%zu", i);
			dec_path_push(d, "[%s]", idx);
		}
		if ((err = dec_one(d, f, slot)) != NULL)
			return err;
		d->path_len = path_len;
		d->path[path_len] = '\0';
	}
	if (!rpci_json_cur_eat(&d->c, ']'))
		return dec_bad_json();
	return NULL;
}

/* dec_map_key sets the key field of a map entry from the JSON key text. */
static rpc_error *dec_map_key(jdec *d, const ProtobufCFieldDescriptor *kf,
                              ProtobufCMessage *entry, char **key, bool nul)
{
	void *p = JSON_AT(entry, kf->offset, char);
	rpci_scalar v = {.kind = rpci_field_kind(kf)};
	char value[80];

	switch (rpci_field_kind(kf)) {
	case RPCI_KIND_STRING:
		if (nul)
			return rpci_error(
			    RPC_ERR_PROTOCOL,
			    "rpc: json: map key holds a NUL character");
		*(char **)p = *key;
		*key = NULL;
		return NULL;
	case RPCI_KIND_BOOL:
		if (strcmp(*key, "true") != 0 && strcmp(*key, "false") != 0)
			break;
		v.v.b = **key == 't';
		rpci_field_write(kf, p, v);
		return NULL;
	case RPCI_KIND_INT:
	case RPCI_KIND_UINT:
		if (kf->type == PROTOBUF_C_TYPE_ENUM)
			goto unsupported; /* as encoding refuses them */
		if (!parse_int(*key, strlen(*key), v.kind == RPCI_KIND_UINT,
		               INT64_MIN, INT64_MAX, UINT64_MAX, &v.v.i,
		               &v.v.u) ||
		    !rpci_field_write(kf, p, v))
			break;
		return NULL;
	default:
	unsupported:
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "rpc: json: unsupported map key type");
	}
	snprintf(value, sizeof value, d->cli ? "\"%.64s\"" : "number %.64s",
	         *key);
	return dec_type_error(d, value, strlen(value), kf, true);
}

static rpc_error *dec_map(jdec *d, const ProtobufCFieldDescriptor *f,
                          ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	const ProtobufCFieldDescriptor *kf = &ed->fields[0],
	                               *vf = &ed->fields[1];
	size_t n, i;
	size_t *np = JSON_AT(m, f->quantifier_offset, size_t);
	ProtobufCMessage ***arrp = JSON_AT(m, f->offset, ProtobufCMessage **);
	rpc_error *err;

	if (rpci_json_cur_peek(&d->c) != '{')
		return dec_kind_error(d, f, false);
	if (!count_items(&d->c, true, &n))
		return dec_bad_json();
	rpci_message_clear_list(f, m);
	rpci_json_cur_eat(&d->c, '{');
	if (n > 0) {
		*arrp = calloc(n, sizeof **arrp);
		if (*arrp == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	for (i = 0; i < n; i++) {
		ProtobufCMessage *e;
		char *key = NULL;
		bool nul;

		if (i > 0 && !rpci_json_cur_eat(&d->c, ','))
			return dec_bad_json();
		e = rpci_message_new(ed);
		if (e == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
		(*arrp)[i] = e;
		*np = i + 1;
		if ((err = rpci_json_cur_string(&d->c, &key, NULL, &nul)) !=
		    NULL)
			return err;
		/* the value first, then the key: Go's order of errors */
		if (!rpci_json_cur_eat(&d->c, ':')) {
			free(key);
			return dec_bad_json();
		}
		size_t path_len = d->path_len;
		if (d->cli)
			dec_path_push(d, "[%s]", key);
		if (rpci_json_cur_peek(&d->c) == 'n') {
			rpci_json_cur_skip(&d->c);
		} else if ((err = dec_one(
		                d, vf, JSON_AT(e, vf->offset, char))) != NULL) {
			free(key);
			return err;
		} else {
			rpci_field_mark(vf, e);
		}
		err = dec_map_key(d, kf, e, &key, nul);
		free(key);
		if (err != NULL)
			return err;
		d->path_len = path_len;
		d->path[path_len] = '\0';
		rpci_field_mark(kf, e);
	}
	if (!rpci_json_cur_eat(&d->c, '}'))
		return dec_bad_json();
	return NULL;
}

/* dec_field decodes the value at the cursor into field f of m. */
static rpc_error *dec_field(jdec *d, const ProtobufCFieldDescriptor *f,
                            ProtobufCMessage *m)
{
	rpc_error *err;

	if (rpci_json_cur_peek(&d->c) == 'n') {
		rpci_json_cur_skip(&d->c);
		dec_null(f, m);
		return NULL;
	}
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return rpci_field_map(f, NULL, NULL) ? dec_map(d, f, m)
		                                     : dec_list(d, f, m);
	err = dec_one(d, f, JSON_AT(m, f->offset, char));
	if (err == NULL)
		rpci_field_mark(f, m);
	return err;
}

/* oneof_clear frees member f of m's oneof, the set one, and unsets the
 * oneof. */
static void oneof_clear(const ProtobufCFieldDescriptor *f, ProtobufCMessage *m)
{
	char **sp = JSON_AT(m, f->offset, char *);

	rpci_message_free_value(f, sp);
	memset(sp, 0, rpci_field_size(f));
	rpci_oneof_set_case(f, m, 0);
}

/* dec_oneof decodes member f of a oneof as Go decodes the pointer field
 * that stands for it: null leaves it nil (unsetting it if it was the set
 * member), a value sets it. A value for a second member of the same oneof
 * is an error, as gob's: a sender that sets two has a bug that choosing
 * one would hide. Whatever is decoded is the set member, even when
 * decoding fails half-way, so freeing m frees it. */
static rpc_error *dec_oneof(jdec *d, const ProtobufCFieldDescriptor *f,
                            ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;
	uint32_t cs = rpci_oneof_case(f, m);
	void *p = JSON_AT(m, f->offset, char);
	rpc_error *err;

	if (rpci_json_cur_peek(&d->c) == 'n') {
		if (!rpci_json_cur_skip(&d->c))
			return dec_bad_json();
		if (cs == f->id)
			oneof_clear(f, m);
		return NULL;
	}
	if (cs != 0 && cs != f->id) {
		const ProtobufCFieldDescriptor *o =
		    protobuf_c_message_descriptor_get_field(desc, cs);

		return rpci_error(RPC_ERR_PROTOCOL,
		                  "json: field %s.%s: another member of its "
		                  "oneof (%s) is set",
		                  desc->short_name, f->name,
		                  o != NULL ? o->name : "?");
	}
	if (cs == 0)
		memset(p, 0, rpci_field_size(f));
	err = dec_one(d, f, p);
	rpci_oneof_set_case(f, m, f->id);
	return err;
}

/* key_fold_eq compares a JSON key with an ASCII name as Go's decoder
 * folds case: ASCII letters either way, and the Kelvin sign (U+212A) and
 * long s (U+017F) for 'k' and 's'. */
static bool key_fold_eq(const char *key, const char *name)
{
	const unsigned char *k = (const unsigned char *)key;
	const unsigned char *n = (const unsigned char *)name;

	for (; *n != '\0'; n++) {
		int c = tolower(*n);

		if (c == 'k' && k[0] == 0xE2 && k[1] == 0x84 && k[2] == 0xAA) {
			k += 3;
			continue;
		}
		if (c == 's' && k[0] == 0xC5 && k[1] == 0xBF) {
			k += 2;
			continue;
		}
		if (*k == '\0' || *k >= 0x80 || tolower(*k) != c)
			return false;
		k++;
	}
	return *k == '\0';
}

/* key_is matches a JSON key to a field's name with its first letter
 * upper-cased (Go's exported name); fold: as key_fold_eq. */
static bool key_is(const char *key, const char *name, bool fold)
{
	if (fold)
		return key_fold_eq(key, name);
	return rpci_field_go_named(key, name);
}

static rpc_error *dec_message(jdec *d, ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;
	rpc_error *err = NULL;

	if (++d->depth > JSON_MAX_DEPTH)
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "rpc: json: nesting deeper than %d",
		                  JSON_MAX_DEPTH);
	if (!rpci_json_cur_eat(&d->c, '{'))
		return dec_bad_json();
	if (rpci_json_cur_eat(&d->c, '}')) {
		d->depth--;
		return NULL;
	}
	for (;;) {
		const ProtobufCFieldDescriptor *f = NULL;
		char *key;
		bool nul;
		unsigned i;

		if ((err = rpci_json_cur_string(&d->c, &key, NULL, &nul)) !=
		    NULL)
			return err;
		for (i = 0; !nul && f == NULL && i < desc->n_fields; i++)
			if (key_is(key, desc->fields[i].name, false))
				f = &desc->fields[i];
		for (i = 0; !nul && f == NULL && i < desc->n_fields; i++)
			if (key_is(key, desc->fields[i].name, true))
				f = &desc->fields[i];
		if (f == NULL && d->known_keys) {
			err = rpci_error(RPC_ERR_PROTOCOL,
			                 "%s%sunknown field \"%.64s\" in %s",
			                 d->path, d->path_len > 0 ? ": " : "",
			                 key, desc->short_name);
			free(key);
			return err;
		}
		free(key);
		if (!rpci_json_cur_eat(&d->c, ':'))
			return dec_bad_json();
		if (f == NULL) {
			if (!rpci_json_cur_skip(&d->c))
				return dec_bad_json();
		} else {
			const char *strct = d->strct;
			size_t len = d->path_len, n = strlen(f->name);

			if (len + n + 2 < sizeof d->path) {
				if (len > 0)
					d->path[d->path_len++] = '.';
				memcpy(d->path + d->path_len, f->name, n + 1);
				d->path[d->path_len] =
				    rpci_field_go_initial(f->name);
				d->path_len += n;
			}
			d->strct = desc->short_name;
			if (rpci_field_is_oneof(f))
				err = dec_oneof(d, f, m);
			else
				err = dec_field(d, f, m);
			d->strct = strct;
			d->path_len = len;
			d->path[len] = '\0';
			if (err != NULL)
				return err;
		}
		if (rpci_json_cur_eat(&d->c, ','))
			continue;
		if (rpci_json_cur_eat(&d->c, '}'))
			break;
		return dec_bad_json();
	}
	d->depth--;
	return NULL;
}

/* dec_top decodes a whole params element or result into dst. */
static rpc_error *dec_top(jdec *d, const rpc_type *t, ProtobufCMessage *dst)
{
	const ProtobufCFieldDescriptor *f;

	/* Go decodes into a zero value: an absent key is zero, not the
	 * field's [default] */
	if (t->form == RPC_FORM_MESSAGE)
		rpci_message_zero_defaults(dst);
	if (rpci_json_cur_peek(&d->c) == 'n')
		return NULL; /* null leaves the zero value, as in Go */
	if (t->form == RPC_FORM_MESSAGE) {
		if (rpci_json_cur_peek(&d->c) != '{')
			return rpci_error(
			    RPC_ERR_PROTOCOL,
			    "json: cannot unmarshal %s into Go value of "
			    "type %s",
			    rpci_json_kind_of(&d->c), t->desc->short_name);
		return dec_message(d, dst);
	}
	f = rpci_value_field(t);
	if (f == NULL)
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "rpc: json: type %s has no field 1", t->name);
	return dec_field(d, f, dst);
}

/* ---- the codec ----------------------------------------------------------- */

typedef struct jspan {
	const uint8_t *p;
	const uint8_t *end;
} jspan;

static bool span_null(const jspan *s)
{
	return s->p == NULL || *s->p == 'n';
}

/* hdr_fields finds the members named names[0..2] (exactly, else ignoring
 * ASCII case; the last one wins) of the top-level object [p, end). */
static rpc_error *hdr_fields(const uint8_t *p, const uint8_t *end,
                             const char *type, const char *const names[3],
                             jspan out[3])
{
	jcur c = {p, end};
	int ch = rpci_json_cur_peek(&c), i;
	rpc_error *err;

	memset(out, 0, 3 * sizeof *out);
	if (ch == 'n')
		return NULL;
	if (ch != '{')
		return rpci_error(
		    RPC_ERR_PROTOCOL,
		    "json: cannot unmarshal %s into Go value of type "
		    "jsonrpc.%s",
		    rpci_json_kind_of(&c), type);
	c.p++;
	if (rpci_json_cur_eat(&c, '}'))
		return NULL;
	for (;;) {
		char *key;
		bool nul;
		int idx = -1;
		const uint8_t *v;

		if ((err = rpci_json_cur_string(&c, &key, NULL, &nul)) != NULL)
			return err;
		for (i = 0; !nul && idx < 0 && i < 3; i++)
			if (strcmp(key, names[i]) == 0)
				idx = i;
		for (i = 0; !nul && idx < 0 && i < 3; i++)
			if (key_fold_eq(key, names[i]))
				idx = i;
		free(key);
		if (!rpci_json_cur_eat(&c, ':'))
			return dec_bad_json();
		rpci_json_cur_space(&c);
		v = c.p;
		if (!rpci_json_cur_skip(&c))
			return dec_bad_json();
		if (idx >= 0) {
			out[idx].p = v;
			out[idx].end = c.p;
		}
		if (rpci_json_cur_eat(&c, ','))
			continue;
		if (rpci_json_cur_eat(&c, '}'))
			return NULL;
		return dec_bad_json();
	}
}

static rpc_error *span_copy(const jspan *s, rpci_msg *msg)
{
	size_t n = (size_t)(s->end - s->p);

	msg->body = rpci_big_malloc(n + 1); /* json_msg_clear frees it */
	if (msg->body == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	memcpy(msg->body, s->p, n);
	((char *)msg->body)[n] = '\0';
	msg->body_len = n;
	return NULL;
}

static rpc_error *read_request(json_state *s, const uint8_t *p,
                               const uint8_t *end, rpci_msg *msg)
{
	static const char *const names[3] = {"method", "params", "id"};
	jspan f[3];
	rpc_error *err;
	char *raw = NULL;
	bool nul;

	if ((err = hdr_fields(p, end, "serverRequest", names, f)) != NULL)
		return err;
	if (!span_null(&f[0])) {
		jcur c = {f[0].p, f[0].end};

		if (*f[0].p != '"')
			return rpci_error(
			    RPC_ERR_PROTOCOL,
			    "json: cannot unmarshal %s into Go struct "
			    "field serverRequest.method of type string",
			    rpci_json_kind_of(&c));
		err =
		    rpci_json_cur_string(&c, &msg->service_method, NULL, &nul);
		if (err != NULL)
			return err;
	} else {
		msg->service_method = strdup("");
		if (msg->service_method == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	if (!span_null(&f[1]) && (err = span_copy(&f[1], msg)) != NULL)
		return err;
	if (!span_null(&f[2])) {
		raw = rpci_json_compact_raw(f[2].p, f[2].end);
		if (raw == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	if (!ids_put(s, raw, &msg->seq))
		return rpci_error(RPC_ERR_NOMEM, NULL);
	return NULL;
}

static rpc_error *read_response(const uint8_t *p, const uint8_t *end,
                                rpci_msg *msg)
{
	static const char *const names[3] = {"id", "result", "error"};
	jspan f[3];
	rpc_error *err;
	char *text = NULL;
	bool nul;

	if ((err = hdr_fields(p, end, "clientResponse", names, f)) != NULL)
		return err;
	if (!span_null(&f[0])) {
		jcur c = {f[0].p, f[0].end};
		const char *num;
		size_t len;
		int64_t iv;

		if (!rpci_json_cur_number(&c, &num, &len))
			return rpci_error(
			    RPC_ERR_PROTOCOL,
			    "json: cannot unmarshal %s into Go struct "
			    "field clientResponse.id of type uint64",
			    rpci_json_kind_of(&c));
		if (!parse_int(num, len, true, 0, 0, UINT64_MAX, &iv,
		               &msg->seq))
			return rpci_error(
			    RPC_ERR_PROTOCOL,
			    "json: cannot unmarshal number %.*s into Go "
			    "struct field clientResponse.id of type "
			    "uint64",
			    (int)(len > 64 ? 64 : len), num);
	}
	msg->service_method = strdup("");
	if (msg->service_method == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	if (!span_null(&f[1]) && (err = span_copy(&f[1], msg)) != NULL)
		return err;
	if (span_null(&f[2]) && msg->body != NULL)
		return NULL;
	/* Go: an error that is not a string, or no result and no error */
	if (span_null(&f[2]) || *f[2].p != '"') {
		char *raw = span_null(&f[2])
		                ? NULL
		                : rpci_json_compact_raw(f[2].p, f[2].end);

		err = rpci_error(RPC_ERR_PROTOCOL, "invalid error %s",
		                 raw != NULL ? raw : "<nil>");
		rpci_big_free(raw);
		return err;
	}
	{
		jcur c = {f[2].p, f[2].end};

		if ((err = rpci_json_cur_string(&c, &text, NULL, &nul)) != NULL)
			return err;
	}
	if (text[0] == '\0') {
		free(text);
		text = strdup("unspecified error");
		if (text == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	msg->error = text;
	return NULL;
}

static void json_msg_clear(void *state, rpci_msg *msg)
{
	(void)state;
	if (msg == NULL)
		return;
	free(msg->service_method);
	free(msg->error);
	rpci_big_free(msg->body);
	memset(msg, 0, sizeof *msg);
}

static rpci_read_status json_read(void *state, const uint8_t *in, size_t len,
                                  size_t *used, rpci_msg *msg, rpc_error **err)
{
	json_state *s = state;
	scanner sc = {.in = in, .len = len < s->max_frame ? len : s->max_frame};
	size_t start = 0, end = 0;
	rpc_error *e;

	switch (rpci_json_scan(&sc, &s->scan, &start, &end)) {
	case SCAN_AGAIN:
		if (len < s->max_frame)
			return RPCI_READ_AGAIN;
		rpci_json_scan_reset(&s->scan);
		*err = rpci_error(RPC_ERR_PROTOCOL,
		                  "rpc: json: message larger than %zu bytes",
		                  s->max_frame);
		return RPCI_READ_ERROR;
	case SCAN_ERROR:
		rpci_json_scan_reset(&s->scan);
		*err = rpci_error(RPC_ERR_PROTOCOL, "%s", sc.err);
		return RPCI_READ_ERROR;
	case SCAN_OK:
		rpci_json_scan_reset(&s->scan);
		break;
	}
	memset(msg, 0, sizeof *msg);
	e = s->server ? read_request(s, in + start, in + end, msg)
	              : read_response(in + start, in + end, msg);
	if (e != NULL) {
		json_msg_clear(s, msg);
		*err = e;
		return RPCI_READ_ERROR;
	}
	while (end < len && rpci_json_is_space(in[end]))
		end++;
	*used = end;
	return RPCI_READ_OK;
}

static rpc_error *json_read_body(void *state, rpci_msg *msg, const rpc_type *t,
                                 ProtobufCMessage *dst)
{
	json_state *s = state;
	jdec d = {0};
	rpc_error *err;

	if (dst == NULL)
		return NULL;
	if (msg->body == NULL) {
		if (s->server)
			return rpci_error(
			    RPC_ERR_PROTOCOL,
			    "jsonrpc: request body missing params");
		return NULL;
	}
	d.c.p = msg->body;
	d.c.end = d.c.p + msg->body_len;
	d.big = s->server;
	if (s->server) {
		/* params is an array whose first element is the argument */
		if (rpci_json_cur_peek(&d.c) != '[')
			return rpci_error(
			    RPC_ERR_PROTOCOL,
			    "json: cannot unmarshal %s into Go value of "
			    "type [1]interface {}",
			    rpci_json_kind_of(&d.c));
		d.c.p++;
		if (rpci_json_cur_peek(&d.c) == ']')
			return NULL;
	}
	err = dec_top(&d, t, dst);
	if (err == NULL)
		err = rpci_arrays_settle(dst);
	if (err != NULL)
		rpc_message_free_contents(dst);
	return err;
}

static rpc_error *json_write(void *state, const rpci_header *h,
                             const rpc_type *t, const ProtobufCMessage *body,
                             rpci_buf *out)
{
	json_state *s = state;
	size_t mark = out->len;
	jw w = {.b = out};
	char num[32];

	if (!s->server) {
		rpci_json_jw_str(&w, "{\"method\":");
		rpci_json_jw_cstr(
		    &w, h->service_method != NULL ? h->service_method : "");
		rpci_json_jw_str(&w, ",\"params\":[");
		enc_top(&w, t, body);
		snprintf(num, sizeof num, "],\"id\":%llu}\n",
		         (unsigned long long)h->seq);
		rpci_json_jw_str(&w, num);
	} else {
		char *raw = NULL;

		if (!ids_take(s, h->seq, &raw))
			return rpci_error(
			    RPC_ERR_PROTOCOL,
			    "invalid sequence number in response");
		rpci_json_jw_str(&w, "{\"id\":");
		rpci_json_jw_str(&w, raw != NULL ? raw : "null");
		rpci_big_free(raw);
		if (h->error != NULL && h->error[0] != '\0') {
			rpci_json_jw_str(&w, ",\"result\":null,\"error\":");
			rpci_json_jw_cstr(&w, h->error);
			rpci_json_jw_str(&w, "}\n");
		} else {
			rpci_json_jw_str(&w, ",\"result\":");
			enc_top(&w, t, body);
			rpci_json_jw_str(&w, ",\"error\":null}\n");
		}
	}
	if (w.err != NULL || w.oom) {
		out->len = mark;
		return w.err != NULL ? w.err : rpci_error(RPC_ERR_NOMEM, NULL);
	}
	return NULL;
}

const rpc_codec rpc_codec_json = {
    .abi = RPC_CODEC_ABI,
    .name = "json",
    .state_new = json_state_new,
    .state_free = json_state_free,
    .read = json_read,
    .read_body = json_read_body,
    .msg_clear = json_msg_clear,
    .write = json_write,
};

/* ---- one value, outside any RPC message (json_value.h) --------------------
 *
 * rpc-call converts its command-line JSON to a message and the reply back
 * with the codec's own walkers; these are thin wrappers around dec_top and
 * enc_top, with the scanner's syntax check in front of decoding. */

static void dec_path_push(jdec *d, const char *fmt, const char *s)
{
	size_t room = sizeof d->path - d->path_len;
	int n = snprintf(d->path + d->path_len, room, fmt, s);

	if (n > 0 && (size_t)n < room)
		d->path_len += (size_t)n;
	else
		d->path[d->path_len] = '\0';
}

static rpc_error *dec_cli_type_error(jdec *d, const char *value, size_t vlen,
                                     const ProtobufCFieldDescriptor *f,
                                     bool elem)
{
	char type[160];

	go_type(f, elem, type, sizeof type);
	if (vlen > 64)
		vlen = 64;
	return rpci_error(RPC_ERR_PROTOCOL, "%s%swant %s, got %.*s", d->path,
	                  d->path_len > 0 ? ": " : "", type, (int)vlen, value);
}

rpc_error *rpci_json_decode_value(const rpc_type *t, const uint8_t *json,
                                  size_t len, unsigned flags,
                                  ProtobufCMessage *dst)
{
	/* a trailing space ends a bare number, which the stream scanner
	 * would otherwise wait to see continue */
	uint8_t *text = malloc(len + 1);
	scanner sc = {.in = text, .len = len + 1};
	scan_resume r;
	size_t start = 0, end = 0;
	jdec d = {.cli = true,
	          .known_keys = (flags & RPCI_JSON_KNOWN_KEYS) != 0};
	rpc_error *err;
	scan_status st;

	if (text == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	memcpy(text, json, len);
	text[len] = ' ';
	rpci_json_scan_reset(&r);
	st = rpci_json_scan(&sc, &r, &start, &end);
	free(text);
	if (st == SCAN_AGAIN)
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "unexpected end of JSON input");
	if (st != SCAN_OK)
		return rpci_error(RPC_ERR_PROTOCOL, "%s at offset %zu", sc.err,
		                  sc.pos + 1);
	if (end > len)
		end = len;
	for (; end < len; end++)
		if (!rpci_json_is_space(json[end])) {
			char q[16];

			rpci_json_quote_char(json[end], q, sizeof q);
			return rpci_error(
			    RPC_ERR_PROTOCOL,
			    "invalid character %s after top-level "
			    "value at offset %zu",
			    q, end + 1);
		}
	d.c.p = json + start;
	d.c.end = json + len;
	if (t->form == RPC_FORM_MESSAGE && rpci_json_cur_peek(&d.c) != '{' &&
	    rpci_json_cur_peek(&d.c) != 'n')
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "want %s (an object), got %s", t->name,
		                  rpci_json_kind_of(&d.c));
	err = dec_top(&d, t, dst);
	if (err == NULL)
		err = rpci_arrays_settle(dst);
	if (err != NULL)
		rpc_message_free_contents(dst);
	return err;
}

rpc_error *rpci_json_encode_value(const rpc_type *t,
                                  const ProtobufCMessage *msg, rpci_buf *out)
{
	size_t mark = out->len;
	jw w = {.b = out};
	ProtobufCMessage *armed = NULL;

	if (!rpci_arrays_arm(msg, &armed))
		return rpci_error(RPC_ERR_NOMEM, NULL);
	enc_top(&w, t, armed != NULL ? armed : msg);
	rpci_message_free(armed);
	if (w.err != NULL || w.oom) {
		out->len = mark;
		return w.err != NULL ? w.err : rpci_error(RPC_ERR_NOMEM, NULL);
	}
	return NULL;
}
