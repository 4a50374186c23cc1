/* helpers.h - shared by the JSON codec tests: codec sessions on both sides,
 * the rpc_types of jt.proto, and the "full" fixture that gofixture.go
 * builds the same way in Go. */
#ifndef JSON_TEST_HELPERS_H
#define JSON_TEST_HELPERS_H

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "internal.h"
#include "jt.pb-c.h"
#include "jt2.pb-c.h"

static const rpc_type type_args = {"Args", &jt__args__descriptor,
                                   RPC_FORM_MESSAGE};
static const rpc_type type_every = {"Everything", &jt__everything__descriptor,
                                    RPC_FORM_MESSAGE};
static const rpc_type type_boolmap = {"BoolMap", &jt__bool_map__descriptor,
                                      RPC_FORM_MESSAGE};
static const rpc_type type_node = {"Node", &jt__node__descriptor,
                                   RPC_FORM_MESSAGE};
static const rpc_type type_opt = {"Opt", &jt2__opt__descriptor,
                                  RPC_FORM_MESSAGE};
static const rpc_type type_pick = {"Pick", &jt2__pick__descriptor,
                                   RPC_FORM_MESSAGE};
static const rpc_type type_int64 = {"int64", &jt__int64_value__descriptor,
                                    RPC_FORM_VALUE};
static const rpc_type type_int32 = {"int32", &jt__int32_value__descriptor,
                                    RPC_FORM_VALUE};
static const rpc_type type_uint64 = {"uint64", &jt__uint64_value__descriptor,
                                     RPC_FORM_VALUE};
static const rpc_type type_string = {"string", &jt__string_value__descriptor,
                                     RPC_FORM_VALUE};
static const rpc_type type_bytes = {"bytes", &jt__bytes_value__descriptor,
                                    RPC_FORM_VALUE};
static const rpc_type type_double = {"double", &jt__double_value__descriptor,
                                     RPC_FORM_VALUE};
static const rpc_type type_bool = {"bool", &jt__bool_value__descriptor,
                                   RPC_FORM_VALUE};
static const rpc_type type_list = {"list<Args>", &jt__args_list__descriptor,
                                   RPC_FORM_WRAPPED};
static const rpc_type type_map = {"map<string,int64>",
                                  &jt__counts_map__descriptor,
                                  RPC_FORM_WRAPPED};

/* A codec session: one side of one connection. */
typedef struct session {
	void *state;
	bool server;
} session;

static inline void session_open(session *s, bool server, size_t max_frame)
{
	rpc_error *err = rpc_codec_json.state_new(server, max_frame, &s->state);

	ck_assert_ptr_null(err);
	s->server = server;
}

static inline void session_close(session *s)
{
	rpc_codec_json.state_free(s->state);
	s->state = NULL;
}

/* session_write encodes one request (client) or response (server) and
 * returns it as a malloc'd NUL-terminated string, or NULL with *err set. */
static inline char *session_write(session *s, const char *method,
                                  uint64_t seq, const char *error,
                                  const rpc_type *t,
                                  const ProtobufCMessage *body,
                                  rpc_error **err)
{
	rpci_buf b = {0};
	rpci_header h = {.service_method = method, .seq = seq, .error = error};

	*err = rpc_codec_json.write(s->state, &h, t, body, &b);
	if (*err != NULL) {
		ck_assert_uint_eq(b.len, 0); /* nothing half-written */
		rpci_buf_fini(&b);
		return NULL;
	}
	ck_assert(rpci_buf_append(&b, "", 1));
	return (char *)b.data;
}

static inline char *write_ok(session *s, const char *method, uint64_t seq,
                             const char *error, const rpc_type *t,
                             const ProtobufCMessage *body)
{
	rpc_error *err = NULL;
	char *out = session_write(s, method, seq, error, t, body, &err);

	ck_assert_msg(err == NULL, "write failed: %s", rpc_error_message(err));
	return out;
}

/* session_read reads exactly one message from text, which must be consumed
 * whole. Returns the status; *err is set on RPCI_READ_ERROR. */
static inline rpci_read_status session_read(session *s, const char *text,
                                            rpci_msg *msg, rpc_error **err)
{
	size_t used = 0, len = strlen(text);
	rpci_read_status st;

	*err = NULL;
	memset(msg, 0, sizeof *msg);
	st = rpc_codec_json.read(s->state, (const uint8_t *)text, len, &used,
	                         msg, err);
	if (st == RPCI_READ_OK)
		ck_assert_uint_eq(used, len);
	return st;
}

static inline void read_ok(session *s, const char *text, rpci_msg *msg)
{
	rpc_error *err;
	rpci_read_status st = session_read(s, text, msg, &err);

	ck_assert_msg(st == RPCI_READ_OK, "read of %s: status %d: %s", text,
	              (int)st, err != NULL ? rpc_error_message(err) : "");
}

/* read_error reads text expecting a stream error; returns its message
 * (malloc'd). */
static inline char *read_error(session *s, const char *text)
{
	rpci_msg msg;
	rpc_error *err;
	char *m;
	rpci_read_status st = session_read(s, text, &msg, &err);

	ck_assert_msg(st == RPCI_READ_ERROR, "read of %s: status %d", text,
	              (int)st);
	ck_assert_ptr_nonnull(err);
	m = strdup(rpc_error_message(err));
	rpc_error_free(err);
	return m;
}

static inline char *xstrdup(const char *s)
{
	char *d = strdup(s);

	ck_assert_ptr_nonnull(d);
	return d;
}

static inline void *xmemdup(const void *p, size_t n)
{
	void *d = malloc(n == 0 ? 1 : n);

	ck_assert_ptr_nonnull(d);
	memcpy(d, p, n);
	return d;
}

static inline Jt__Args *new_args(int64_t a, int64_t b)
{
	Jt__Args *x = (Jt__Args *)rpci_message_new(&jt__args__descriptor);

	ck_assert_ptr_nonnull(x);
	x->a = a;
	x->b = b;
	return x;
}

static inline Jt__Everything__CountsEntry *new_count(const char *k, int64_t v)
{
	Jt__Everything__CountsEntry *e =
		(Jt__Everything__CountsEntry *)rpci_message_new(
			&jt__everything__counts_entry__descriptor);

	ck_assert_ptr_nonnull(e);
	e->key = xstrdup(k);
	e->value = v;
	return e;
}

/* full_everything fills e (initialised) with the values of full() in
 * gofixture.go; everything is malloc'd, freed by rpc_message_free_contents. */
static inline void full_everything(Jt__Everything *e)
{
	static const uint8_t blob[] = {0, 1, 2, 253, 254, 255, 'a'};
	static const int64_t nums[] = {1, -2, INT64_MAX};
	static const char *const counts_k[] = {"b", "a", "<", ""};
	static const int64_t counts_v[] = {2, 1, 3, 0};
	static const char *const names[] = {"x", "", "\xc3\xbc"};
	static const double ds[] = {0, -0.0, 1e21, 1e20, 123456789, 1e-6,
	                            1e-7, 5e-324, DBL_MAX,
	                            0.30000000000000004, 100, 1.5e300,
	                            -2.5e-10, 12345.678};
	static const float fs[] = {FLT_MAX, 1e-7f, 16777216.0f, 0.1f,
	                           1.0000001f, -0.5f, 1e21f};
	static const int kinds[] = {0, 1, 7};
	size_t i;

	e->flag = 1;
	e->i = INT32_MIN;
	e->l = INT64_MIN;
	e->u = UINT32_MAX;
	e->ul = UINT64_MAX;
	e->f = 0.1f;
	e->d = 3.141592653589793;
	e->name = xstrdup("h\xc3\xa9llo <b>&amp; \xe2\x80\xa8 \"q\" \\ \n\t\x01 "
	                  "\xe2\x98\x83 \x7f");
	e->blob.len = sizeof blob;
	e->blob.data = xmemdup(blob, sizeof blob);
	e->kind = JT__OP__MUL;
	e->inner = new_args(-1, 1);
	e->n_items = 2;
	e->items = calloc(2, sizeof *e->items);
	ck_assert_ptr_nonnull(e->items);
	e->items[0] = new_args(1, 2);
	e->items[1] = new_args(3, 4);
	e->n_nums = 3;
	e->nums = xmemdup(nums, sizeof nums);
	e->n_counts = 4;
	e->counts = calloc(4, sizeof *e->counts);
	ck_assert_ptr_nonnull(e->counts);
	for (i = 0; i < 4; i++)
		e->counts[i] = new_count(counts_k[i], counts_v[i]);
	e->s32 = -5;
	e->s64 = -6;
	e->f32 = 7;
	e->f64 = 8;
	e->sf32 = -9;
	e->sf64 = -10;
	e->n_names = 3;
	e->names = calloc(3, sizeof *e->names);
	ck_assert_ptr_nonnull(e->names);
	for (i = 0; i < 3; i++)
		e->names[i] = xstrdup(names[i]);
	e->n_blobs = 3;
	e->blobs = calloc(3, sizeof *e->blobs);
	ck_assert_ptr_nonnull(e->blobs);
	e->blobs[0].len = 1;
	e->blobs[0].data = xmemdup("\x01", 1);
	e->blobs[2].len = 2;
	e->blobs[2].data = xmemdup("\xff\xfe", 2);
	e->n_ds = sizeof ds / sizeof ds[0];
	e->ds = xmemdup(ds, sizeof ds);
	e->n_bs = 2;
	e->bs = calloc(2, sizeof *e->bs);
	ck_assert_ptr_nonnull(e->bs);
	e->bs[0] = 1;
	e->n_bynum = 3;
	e->bynum = calloc(3, sizeof *e->bynum);
	ck_assert_ptr_nonnull(e->bynum);
	for (i = 0; i < 3; i++) {
		static const int64_t k[] = {10, 9, -1};
		static const char *const v[] = {"ten", "nine", "minus"};

		e->bynum[i] = (Jt__Everything__ByNumEntry *)rpci_message_new(
			&jt__everything__by_num_entry__descriptor);
		ck_assert_ptr_nonnull(e->bynum[i]);
		e->bynum[i]->key = k[i];
		e->bynum[i]->value = xstrdup(v[i]);
	}
	e->n_byu = 2;
	e->byu = calloc(2, sizeof *e->byu);
	ck_assert_ptr_nonnull(e->byu);
	for (i = 0; i < 2; i++) {
		e->byu[i] = (Jt__Everything__ByUEntry *)rpci_message_new(
			&jt__everything__by_uentry__descriptor);
		ck_assert_ptr_nonnull(e->byu[i]);
		e->byu[i]->key = i == 0 ? UINT64_MAX : 0;
		e->byu[i]->value = i == 0 ? new_args(1, 1) : new_args(0, 0);
	}
	e->n_kinds = 3;
	e->kinds = xmemdup(kinds, sizeof kinds);
	e->n_fs = sizeof fs / sizeof fs[0];
	e->fs = xmemdup(fs, sizeof fs);
	e->lower = xstrdup("low");
}

#endif
