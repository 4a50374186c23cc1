/* test_gob.c - the gob codec: numbers, C to C round trips, stream handling,
 * malformed input, and interoperation with Go's encoding/gob.
 *
 * Run as `test_gob unit`, `test_gob interop` or `test_gob e2e`. The interop
 * and e2e cases run the Go peer named by $GOBPEER (tests/gob/gobpeer.go,
 * built by meson); without it they are skipped (exit 77, which meson
 * reports as SKIP). e2e makes real calls over TCP on 127.0.0.1: our client
 * against a Go net/rpc server, a Go net/rpc client against our server.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arrays.rpc.h"
#include "codec.h"
#include "sup_peer.h"
#include "sup_server.h"
#include "gob.h"
#include "gobopt.pb-c.h"
#include "gobtest.pb-c.h"

#define MAX_FRAME (1u << 20)

static const rpc_type T_ARGS = {"Args", &main__args__descriptor,
                                RPC_FORM_MESSAGE};
static const rpc_type T_EVERY = {"Everything", &main__everything__descriptor,
                                 RPC_FORM_MESSAGE};
static const rpc_type T_OPT = {"Optionals", &main__optionals__descriptor,
                               RPC_FORM_MESSAGE};
static const rpc_type T_QUO = {"Quotient", &main__quotient__descriptor,
                               RPC_FORM_MESSAGE};
static const rpc_type T_NODE = {"Node", &main__node__descriptor,
                                RPC_FORM_MESSAGE};
static const rpc_type T_INT64 = {"int64", &main__int64_value__descriptor,
                                 RPC_FORM_VALUE};
static const rpc_type T_INT32 = {"int32", &main__int32_value__descriptor,
                                 RPC_FORM_VALUE};
static const rpc_type T_STRING = {"string", &main__string_value__descriptor,
                                  RPC_FORM_VALUE};
static const rpc_type T_INTLIST = {"list<int64>", &main__int_list__descriptor,
                                   RPC_FORM_WRAPPED};
static const rpc_type T_ARGSLIST = {"list<Args>", &main__args_list__descriptor,
                                    RPC_FORM_WRAPPED};
static const rpc_type T_STRINTMAP = {
    "map<string, int64>", &main__str_int_map__descriptor, RPC_FORM_WRAPPED};

/* ---- helpers ------------------------------------------------------------- */

static void hexdump(const char *what, const uint8_t *p, size_t n)
{
	size_t i;

	fprintf(stderr, "%s (%zu bytes):", what, n);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", p[i]);
	fprintf(stderr, "\n");
}

static void expect_bytes(const char *what, const uint8_t *got, size_t ngot,
                         const uint8_t *want, size_t nwant)
{
	if (ngot == nwant && (nwant == 0 || memcmp(got, want, nwant) == 0))
		return;
	fprintf(stderr, "%s: byte mismatch\n", what);
	hexdump("  got", got, ngot);
	hexdump("  want", want, nwant);
	ck_abort_msg("%s: bytes differ (see hex dumps)", what);
}

static void *state(bool server, size_t max_frame)
{
	void *s = NULL;
	rpc_error *err = rpc_codec_gob.state_new(server, max_frame, &s);

	ck_assert_ptr_null(err);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void put_msg(rpci_buf *out, rpci_buf *body)
{
	ck_assert(rpci_gob_message(out, body));
	body->len = 0;
}

/* wr writes one call or reply and fails the test on error. */
static void wr(void *s, const char *sm, uint64_t seq, const char *error,
               const rpc_type *t, const void *body, rpci_buf *out)
{
	rpci_header h = {.service_method = sm, .seq = seq, .error = error};
	rpc_error *err = rpc_codec_gob.write(s, &h, t, body, out);

	ck_assert_msg(err == NULL, "write: %s", rpc_error_message(err));
}

/* rd reads one message that must be there. */
static size_t rd(void *s, const uint8_t *in, size_t len, rpci_msg *m)
{
	rpc_error *err = NULL;
	size_t used = 0;
	rpci_read_status st = rpc_codec_gob.read(s, in, len, &used, m, &err);

	ck_assert_msg(st == RPCI_READ_OK, "read: status %d: %s", (int)st,
	              err ? rpc_error_message(err) : "");
	ck_assert_uint_gt(used, 0);
	return used;
}

static void body_ok(void *s, rpci_msg *m, const rpc_type *t, void *dst)
{
	rpc_error *err = rpc_codec_gob.read_body(s, m, t, dst);

	ck_assert_msg(err == NULL, "read_body: %s", rpc_error_message(err));
}

/* body_fails expects a body error starting with "gob: " and containing what. */
static void body_fails(void *s, rpci_msg *m, const rpc_type *t, void *dst,
                       const char *what)
{
	rpc_error *err = rpc_codec_gob.read_body(s, m, t, dst);

	ck_assert_msg(err != NULL, "read_body accepted a bad body (%s)", what);
	ck_assert_msg(strncmp(rpc_error_message(err), "gob: ", 5) == 0 &&
	                  strstr(rpc_error_message(err), what) != NULL,
	              "error '%s' lacks '%s'", rpc_error_message(err), what);
	rpc_error_free(err);
}

static void read_fails(void *s, const uint8_t *in, size_t len, const char *what)
{
	rpc_error *err = NULL;
	rpci_msg m;
	size_t used = 0;
	rpci_read_status st = rpc_codec_gob.read(s, in, len, &used, &m, &err);

	ck_assert_int_eq(st, RPCI_READ_ERROR);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strncmp(rpc_error_message(err), "gob: ", 5) == 0 &&
	                  strstr(rpc_error_message(err), what) != NULL,
	              "error '%s' lacks '%s'", rpc_error_message(err), what);
	rpc_error_free(err);
}

/* ---- the "everything" value (the same as gobpeer.go's fullEverything) ---- */

static Main__Args ev_inner = MAIN__ARGS__INIT;
static Main__Args ev_item0 = MAIN__ARGS__INIT, ev_item1 = MAIN__ARGS__INIT,
                  ev_item2 = MAIN__ARGS__INIT;
static Main__Args *ev_items[3] = {&ev_item0, &ev_item1, &ev_item2};
static int64_t ev_nums[] = {0, -1, 1, (int64_t)1 << 62};
static char *ev_strs[] = {"a", "", "ccc"};
static protobuf_c_boolean ev_bools[] = {1, 0, 1};
static double ev_dbls[] = {0, 17, -0.5};
static uint8_t ev_nine = 9;
static ProtobufCBinaryData ev_blobs[] = {{0, NULL}, {1, &ev_nine}};
static uint32_t ev_u32s[] = {0, 128, 65536};
static float ev_fls[] = {0.25f, -2};
static Main__Op ev_kinds[] = {MAIN__OP__MUL, MAIN__OP__NEG, MAIN__OP__ADD};
static int32_t ev_i32s[] = {-7};
static uint8_t ev_blob[] = {0, 1, 2, 255};
static Main__Everything__CountsEntry ev_c =
    MAIN__EVERYTHING__COUNTS_ENTRY__INIT;
static Main__Everything__CountsEntry *ev_cp[] = {&ev_c};
static Main__Everything__NamesEntry ev_n = MAIN__EVERYTHING__NAMES_ENTRY__INIT;
static Main__Everything__NamesEntry *ev_np[] = {&ev_n};
static Main__Args ev_bfa = MAIN__ARGS__INIT;
static Main__Everything__ByFlagEntry ev_b =
    MAIN__EVERYTHING__BY_FLAG_ENTRY__INIT;
static Main__Everything__ByFlagEntry *ev_bp[] = {&ev_b};
static Main__Everything__WeightsEntry ev_w =
    MAIN__EVERYTHING__WEIGHTS_ENTRY__INIT;
static Main__Everything__WeightsEntry *ev_wp[] = {&ev_w};
static Main__Args ev_ana = MAIN__ARGS__INIT;
static Main__Everything__ArgsByNameEntry ev_a =
    MAIN__EVERYTHING__ARGS_BY_NAME_ENTRY__INIT;
static Main__Everything__ArgsByNameEntry *ev_ap[] = {&ev_a};

static void fill_everything(Main__Everything *e)
{
	main__everything__init(e);
	e->flag = 1;
	e->i32 = INT32_MIN;
	e->i64 = INT64_MIN;
	e->u32 = UINT32_MAX;
	e->u64 = UINT64_MAX;
	e->s32 = -17;
	e->s64 = (int64_t)1 << 40;
	e->f32 = 7;
	e->f64 = (uint64_t)1 << 63;
	e->sf32 = -1;
	e->sf64 = -((int64_t)1 << 50);
	e->fl = 1.5f;
	e->db = -3.25e100;
	e->name = "h\xc3\xa9llo, gob";
	e->blob.data = ev_blob;
	e->blob.len = sizeof ev_blob;
	e->kind = MAIN__OP__NEG;
	ev_inner.a = 6;
	ev_inner.b = 7;
	e->inner = &ev_inner;
	ev_item0.a = 1;
	ev_item0.b = 2;
	ev_item2.a = -3;
	e->n_items = 3;
	e->items = ev_items;
	e->n_nums = 4;
	e->nums = ev_nums;
	e->n_strs = 3;
	e->strs = ev_strs;
	e->n_bools = 3;
	e->bools = ev_bools;
	e->n_dbls = 3;
	e->dbls = ev_dbls;
	e->n_blobs = 2;
	e->blobs = ev_blobs;
	e->n_u32s = 3;
	e->u32s = ev_u32s;
	e->n_fls = 2;
	e->fls = ev_fls;
	e->n_kinds = 3;
	e->kinds = ev_kinds;
	e->n_i32s = 1;
	e->i32s = ev_i32s;
	ev_c.key = "x";
	ev_c.value = 3;
	e->n_counts = 1;
	e->counts = ev_cp;
	ev_n.key = -2;
	ev_n.value = "minus two";
	e->n_names = 1;
	e->names = ev_np;
	ev_bfa.a = 1;
	ev_b.key = 1;
	ev_b.value = &ev_bfa;
	e->n_by_flag = 1;
	e->by_flag = ev_bp;
	ev_w.key = 42;
	ev_w.value = 0.125;
	e->n_weights = 1;
	e->weights = ev_wp;
	ev_ana.b = 9;
	ev_a.key = "k";
	ev_a.value = &ev_ana;
	e->n_args_by_name = 1;
	e->args_by_name = ev_ap;
}

static void check_everything(const Main__Everything *e)
{
	ck_assert(e->flag);
	ck_assert_int_eq(e->i32, INT32_MIN);
	ck_assert(e->i64 == INT64_MIN);
	ck_assert_uint_eq(e->u32, UINT32_MAX);
	ck_assert(e->u64 == UINT64_MAX);
	ck_assert_int_eq(e->s32, -17);
	ck_assert(e->s64 == (int64_t)1 << 40);
	ck_assert_uint_eq(e->f32, 7);
	ck_assert(e->f64 == (uint64_t)1 << 63);
	ck_assert_int_eq(e->sf32, -1);
	ck_assert(e->sf64 == -((int64_t)1 << 50));
	ck_assert(e->fl == 1.5f);
	ck_assert(e->db == -3.25e100);
	ck_assert_str_eq(e->name, "h\xc3\xa9llo, gob");
	ck_assert_uint_eq(e->blob.len, 4);
	ck_assert_mem_eq(e->blob.data, ev_blob, 4);
	ck_assert_int_eq(e->kind, MAIN__OP__NEG);
	ck_assert_ptr_nonnull(e->inner);
	ck_assert(e->inner->a == 6 && e->inner->b == 7);
	ck_assert_uint_eq(e->n_items, 3);
	ck_assert(e->items[0]->a == 1 && e->items[0]->b == 2);
	ck_assert(e->items[1]->a == 0 && e->items[1]->b == 0);
	ck_assert(e->items[2]->a == -3 && e->items[2]->b == 0);
	ck_assert_uint_eq(e->n_nums, 4);
	ck_assert_mem_eq(e->nums, ev_nums, sizeof ev_nums);
	ck_assert_uint_eq(e->n_strs, 3);
	ck_assert_str_eq(e->strs[0], "a");
	ck_assert_str_eq(e->strs[1], "");
	ck_assert_str_eq(e->strs[2], "ccc");
	ck_assert_uint_eq(e->n_bools, 3);
	ck_assert(e->bools[0] && !e->bools[1] && e->bools[2]);
	ck_assert_uint_eq(e->n_dbls, 3);
	ck_assert(e->dbls[0] == 0 && e->dbls[1] == 17 && e->dbls[2] == -0.5);
	ck_assert_uint_eq(e->n_blobs, 2);
	ck_assert_uint_eq(e->blobs[0].len, 0);
	ck_assert(e->blobs[1].len == 1 && e->blobs[1].data[0] == 9);
	ck_assert_uint_eq(e->n_u32s, 3);
	ck_assert_mem_eq(e->u32s, ev_u32s, sizeof ev_u32s);
	ck_assert_uint_eq(e->n_fls, 2);
	ck_assert(e->fls[0] == 0.25f && e->fls[1] == -2);
	ck_assert_uint_eq(e->n_kinds, 3);
	ck_assert(e->kinds[0] == MAIN__OP__MUL &&
	          e->kinds[1] == MAIN__OP__NEG && e->kinds[2] == MAIN__OP__ADD);
	ck_assert(e->n_i32s == 1 && e->i32s[0] == -7);
	ck_assert_uint_eq(e->n_counts, 1);
	ck_assert_str_eq(e->counts[0]->key, "x");
	ck_assert(e->counts[0]->value == 3);
	ck_assert_uint_eq(e->n_names, 1);
	ck_assert(e->names[0]->key == -2);
	ck_assert_str_eq(e->names[0]->value, "minus two");
	ck_assert_uint_eq(e->n_by_flag, 1);
	ck_assert(e->by_flag[0]->key && e->by_flag[0]->value->a == 1);
	ck_assert_uint_eq(e->n_weights, 1);
	ck_assert(e->weights[0]->key == 42 && e->weights[0]->value == 0.125);
	ck_assert_uint_eq(e->n_args_by_name, 1);
	ck_assert_str_eq(e->args_by_name[0]->key, "k");
	ck_assert(e->args_by_name[0]->value->b == 9);
}

/* ---- numbers ------------------------------------------------------------- */

START_TEST(test_gob_uint_encoding)
{
	static const struct {
		uint64_t v;
		uint8_t n, b[9];
	} cases[] = {
	    {0, 1, {0x00}},
	    {7, 1, {0x07}},
	    {127, 1, {0x7f}},
	    {128, 2, {0xff, 0x80}},
	    {256, 3, {0xfe, 0x01, 0x00}},
	    {(uint64_t)1 << 63, 9, {0xf8, 0x80, 0, 0, 0, 0, 0, 0, 0}},
	    {UINT64_MAX,
	     9,
	     {0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rpci_buf b = {0};
		gob_reader r = {NULL, 0, 0, NULL};
		uint64_t v;

		ck_assert(rpci_gob_put_uint(&b, cases[i].v));
		expect_bytes("uint", b.data, b.len, cases[i].b, cases[i].n);
		r = (gob_reader){b.data, b.len, 0, NULL};
		ck_assert(rpci_gob_read_uint(&r, &v));
		ck_assert(v == cases[i].v && r.pos == b.len);
		rpci_buf_fini(&b);
	}
}
END_TEST

START_TEST(test_gob_int_encoding)
{
	static const struct {
		int64_t v;
		uint8_t n, b[9];
	} cases[] = {
	    {0, 1, {0x00}},
	    {-1, 1, {0x01}},
	    {1, 1, {0x02}},
	    {-129, 3, {0xfe, 0x01, 0x01}},
	    {INT64_MIN,
	     9,
	     {0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	    {INT64_MAX,
	     9,
	     {0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rpci_buf b = {0};
		gob_reader r = {NULL, 0, 0, NULL};
		int64_t v;

		ck_assert(rpci_gob_put_int(&b, cases[i].v));
		expect_bytes("int", b.data, b.len, cases[i].b, cases[i].n);
		r = (gob_reader){b.data, b.len, 0, NULL};
		ck_assert(rpci_gob_read_int(&r, &v));
		ck_assert(v == cases[i].v);
		rpci_buf_fini(&b);
	}
}
END_TEST

START_TEST(test_gob_float_encoding)
{
	/* doc.go: 17.0 is 0x4031000000000000, reversed 0x3140: fe 31 40. */
	static const uint8_t want[] = {0xfe, 0x31, 0x40};
	rpci_buf b = {0};
	gob_reader r = {NULL, 0, 0, NULL};
	double d;

	ck_assert(rpci_gob_put_float(&b, 17.0));
	expect_bytes("float", b.data, b.len, want, sizeof want);
	r = (gob_reader){b.data, b.len, 0, NULL};
	ck_assert(rpci_gob_read_float(&r, &d));
	ck_assert(d == 17.0);
	rpci_buf_fini(&b);
}
END_TEST

START_TEST(test_gob_uint_rejects_malformed)
{
	static const uint8_t nine[] = {0xf7, 1, 2, 3, 4, 5, 6, 7, 8, 9};
	static const uint8_t cut[] = {0xfe, 0x01};
	gob_reader r = {nine, sizeof nine, 0, NULL};
	uint64_t v;

	ck_assert(!rpci_gob_read_uint(&r, &v));
	r = (gob_reader){cut, sizeof cut, 0, NULL};
	ck_assert(!rpci_gob_read_uint(&r, &v));
	r = (gob_reader){cut, 0, 0, NULL};
	ck_assert(!rpci_gob_read_uint(&r, &v));
}
END_TEST

/* ---- round trips --------------------------------------------------------- */

START_TEST(test_gob_roundtrip_everything)
{
	void *c = state(false, MAX_FRAME), *s = state(true, MAX_FRAME);
	Main__Everything in, out = MAIN__EVERYTHING__INIT;
	rpci_buf buf = {0};
	rpci_msg m;

	fill_everything(&in);
	wr(c, "Test.Everything", 5, NULL, &T_EVERY, &in, &buf);
	ck_assert_uint_eq(rd(s, buf.data, buf.len, &m), buf.len);
	ck_assert_str_eq(m.service_method, "Test.Everything");
	ck_assert(m.seq == 5);
	body_ok(s, &m, &T_EVERY, &out);
	check_everything(&out);
	rpc_message_free_contents(&out.base);
	rpc_codec_gob.msg_clear(s, &m);
	rpci_buf_fini(&buf);
	rpc_codec_gob.state_free(c);
	rpc_codec_gob.state_free(s);
}
END_TEST

START_TEST(test_gob_roundtrip_bare_values)
{
	void *c = state(false, MAX_FRAME), *s = state(true, MAX_FRAME);
	Main__Int64Value i64 = MAIN__INT64_VALUE__INIT,
	                 i64o = MAIN__INT64_VALUE__INIT;
	Main__StringValue str = MAIN__STRING_VALUE__INIT,
	                  stro = MAIN__STRING_VALUE__INIT;
	Main__IntList il = MAIN__INT_LIST__INIT, ilo = MAIN__INT_LIST__INIT;
	Main__ArgsList al = MAIN__ARGS_LIST__INIT, alo = MAIN__ARGS_LIST__INIT;
	Main__StrIntMap mp = MAIN__STR_INT_MAP__INIT,
	                mpo = MAIN__STR_INT_MAP__INIT;
	Main__StrIntMap__ValueEntry e1 = MAIN__STR_INT_MAP__VALUE_ENTRY__INIT;
	Main__StrIntMap__ValueEntry *ents[] = {&e1};
	Main__Args a1 = MAIN__ARGS__INIT;
	Main__Args *args[] = {&a1};
	int64_t nums[] = {1, -2, 3};
	rpci_buf buf = {0};
	size_t pos = 0;
	rpci_msg m;

	i64.value = 42;
	str.value = "bare string";
	il.n_value = 3;
	il.value = nums;
	a1.b = 2;
	al.n_value = 1;
	al.value = args;
	e1.key = "one";
	e1.value = 1;
	mp.n_value = 1;
	mp.value = ents;
	wr(s, "Arith.Multiply", 3, NULL, &T_INT64, &i64, &buf);
	/* with an error the body is Go's struct{}{}, whatever is passed */
	wr(s, "Arith.Divide", 4, "divide by zero", &T_INT64, &i64, &buf);
	wr(s, "Test.String", 5, NULL, &T_STRING, &str, &buf);
	wr(s, "Test.List", 6, NULL, &T_INTLIST, &il, &buf);
	wr(s, "Test.Args", 7, NULL, &T_ARGSLIST, &al, &buf);
	wr(s, "Test.Map", 8, NULL, &T_STRINTMAP, &mp, &buf);

	pos += rd(c, buf.data + pos, buf.len - pos, &m);
	ck_assert(m.seq == 3 && (m.error == NULL || m.error[0] == '\0'));
	body_ok(c, &m, &T_INT64, &i64o);
	ck_assert(i64o.value == 42);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, buf.data + pos, buf.len - pos, &m);
	ck_assert_str_eq(m.error, "divide by zero");
	ck_assert_str_eq(m.service_method, "Arith.Divide");
	body_ok(c, &m, &T_ARGS, NULL); /* discard */
	body_fails(c, &m, &T_INT64, &i64o, "type mismatch: received struct");
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, buf.data + pos, buf.len - pos, &m);
	body_ok(c, &m, &T_STRING, &stro);
	ck_assert_str_eq(stro.value, "bare string");
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, buf.data + pos, buf.len - pos, &m);
	body_ok(c, &m, &T_INTLIST, &ilo);
	ck_assert_uint_eq(ilo.n_value, 3);
	ck_assert_mem_eq(ilo.value, nums, sizeof nums);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, buf.data + pos, buf.len - pos, &m);
	body_ok(c, &m, &T_ARGSLIST, &alo);
	ck_assert(alo.n_value == 1 && alo.value[0]->a == 0 &&
	          alo.value[0]->b == 2);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, buf.data + pos, buf.len - pos, &m);
	ck_assert_uint_eq(pos, buf.len);
	body_ok(c, &m, &T_STRINTMAP, &mpo);
	ck_assert_uint_eq(mpo.n_value, 1);
	ck_assert_str_eq(mpo.value[0]->key, "one");
	ck_assert(mpo.value[0]->value == 1);
	rpc_codec_gob.msg_clear(c, &m);

	rpc_message_free_contents(&stro.base);
	rpc_message_free_contents(&ilo.base);
	rpc_message_free_contents(&alo.base);
	rpc_message_free_contents(&mpo.base);
	rpci_buf_fini(&buf);
	rpc_codec_gob.state_free(c);
	rpc_codec_gob.state_free(s);
}
END_TEST

/* An optional set to zero is left out, as Go leaves out *int32 -> 0: it
 * arrives unset (docs/gob.md). */
START_TEST(test_gob_optional_zero_arrives_unset)
{
	void *c = state(false, MAX_FRAME), *s = state(true, MAX_FRAME);
	Main__Optionals in = MAIN__OPTIONALS__INIT, out = MAIN__OPTIONALS__INIT;
	rpci_buf buf = {0};
	size_t pos;
	rpci_msg m;

	in.has_maybe = 1;
	in.maybe = -4;
	in.maybe_s = "s";
	wr(c, "Test.Opt", 1, NULL, &T_OPT, &in, &buf);
	in.maybe = 0;
	in.maybe_s = NULL;
	in.has_maybe_b = 1; /* false */
	wr(c, "Test.Opt", 2, NULL, &T_OPT, &in, &buf);

	pos = rd(s, buf.data, buf.len, &m);
	body_ok(s, &m, &T_OPT, &out);
	ck_assert(out.has_maybe && out.maybe == -4);
	ck_assert_str_eq(out.maybe_s, "s");
	ck_assert(!out.has_maybe_d && !out.has_maybe_b);
	rpc_message_free_contents(&out.base);
	rpc_codec_gob.msg_clear(s, &m);

	rd(s, buf.data + pos, buf.len - pos, &m);
	body_ok(s, &m, &T_OPT, &out);
	ck_assert(!out.has_maybe && !out.has_maybe_b);
	ck_assert_ptr_null(out.maybe_s);
	rpc_message_free_contents(&out.base);
	rpc_codec_gob.msg_clear(s, &m);
	rpci_buf_fini(&buf);
	rpc_codec_gob.state_free(c);
	rpc_codec_gob.state_free(s);
}
END_TEST

/* ---- the stream ---------------------------------------------------------- */

/* count_messages counts the gob messages in buf and their negative ids. */
static void count_messages(const uint8_t *p, size_t n, int *msgs, int *defs)
{
	gob_reader r = {p, n, 0, NULL};
	uint64_t len;
	int64_t id;

	*msgs = *defs = 0;
	while (r.pos < n) {
		ck_assert(rpci_gob_read_uint(&r, &len));
		gob_reader in = {p + r.pos, (size_t)len, 0, NULL};
		ck_assert(rpci_gob_read_int(&in, &id));
		r.pos += (size_t)len;
		++*msgs;
		*defs += id < 0;
	}
}

START_TEST(test_gob_types_sent_once)
{
	void *c = state(false, MAX_FRAME);
	Main__Args a = MAIN__ARGS__INIT;
	rpci_buf b1 = {0}, b2 = {0};
	int msgs, defs;

	a.a = 6;
	wr(c, "Arith.Multiply", 0, NULL, &T_ARGS, &a, &b1);
	wr(c, "Arith.Multiply", 1, NULL, &T_ARGS, &a, &b2);
	count_messages(b1.data, b1.len, &msgs, &defs);
	ck_assert_int_eq(msgs, 4); /* Request def, header, Args def, body */
	ck_assert_int_eq(defs, 2);
	count_messages(b2.data, b2.len, &msgs, &defs);
	ck_assert_int_eq(msgs, 2);
	ck_assert_int_eq(defs, 0);
	rpci_buf_fini(&b1);
	rpci_buf_fini(&b2);
	rpc_codec_gob.state_free(c);
}
END_TEST

/* Bodies of every width of byte count, one after another on one stream
 * (the writer reuses the room the last count took: the value moves when
 * the width changes, either way, and not when it stays): each count is the
 * shortest, as Go writes it, and every body reads back whole. */
START_TEST(test_gob_body_counts_of_every_width)
{
	static const size_t sizes[] = {5,   200, 70000, 20,  5000000,
	                               100, 100, 70000, 300, 5000000};
	void *s = state(true, 64u << 20), *c = state(false, 64u << 20);
	rpci_buf buf = {0};

	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		Main__StringValue str = MAIN__STRING_VALUE__INIT,
		                  got = MAIN__STRING_VALUE__INIT;
		char *text = malloc(sizes[k] + 1);
		ck_assert_ptr_nonnull(text);
		memset(text, 'a' + (int)k, sizes[k]);
		text[sizes[k]] = '\0';
		str.value = text;
		buf.len = 0;
		wr(s, "Test.String", k + 1, NULL, &T_STRING, &str, &buf);

		/* every count in the stream is the shortest form */
		gob_reader r = {buf.data, buf.len, 0, NULL};
		while (r.pos < buf.len) {
			size_t at = r.pos;
			uint64_t len;
			rpci_buf min = {0};
			ck_assert(rpci_gob_read_uint(&r, &len));
			ck_assert(rpci_gob_put_uint(&min, len));
			ck_assert_uint_eq(min.len, r.pos - at);
			ck_assert(memcmp(min.data, buf.data + at, min.len) == 0);
			rpci_buf_fini(&min);
			ck_assert_uint_le(len, buf.len - r.pos);
			r.pos += (size_t)len;
		}

		rpci_msg m;
		memset(&m, 0, sizeof m);
		ck_assert_uint_eq(rd(c, buf.data, buf.len, &m), buf.len);
		ck_assert_uint_eq(m.seq, k + 1);
		body_ok(c, &m, &T_STRING, &got);
		ck_assert_ptr_nonnull(got.value);
		ck_assert_uint_eq(strlen(got.value), sizes[k]);
		ck_assert(memcmp(got.value, text, sizes[k]) == 0);
		rpc_codec_gob.msg_clear(c, &m);
		rpc_message_free_contents(&got.base);
		free(text);
	}
	rpci_buf_fini(&buf);
	rpc_codec_gob.state_free(s);
	rpc_codec_gob.state_free(c);
}
END_TEST

START_TEST(test_gob_read_truncated_asks_again)
{
	void *c = state(false, MAX_FRAME), *s;
	Main__Everything in, out = MAIN__EVERYTHING__INIT;
	rpc_error *err;
	rpci_buf buf = {0};
	size_t first, k, used;
	rpci_msg m;

	fill_everything(&in);
	wr(c, "Test.Everything", 1, NULL, &T_EVERY, &in, &buf);
	first = buf.len;
	wr(c, "Test.Everything", 2, NULL, &T_EVERY, &in, &buf);
	s = state(true, MAX_FRAME);
	for (k = 0; k < first; k++) {
		err = NULL;
		ck_assert_int_eq(
		    rpc_codec_gob.read(s, buf.data, k, &used, &m, &err),
		    RPCI_READ_AGAIN);
		ck_assert_ptr_null(err);
		/* need: unknown, or a bound within the call, exact once the
		 * body's length is there */
		size_t need = rpc_codec_gob.need(s, buf.data, k);
		ck_assert(need == 0 || (need > k && need <= first));
		if (k == first - 1)
			ck_assert_uint_eq(need, first);
	}
	ck_assert_uint_eq(rd(s, buf.data, buf.len, &m), first);
	rpc_codec_gob.msg_clear(s, &m);
	for (k = first; k < buf.len; k++) {
		err = NULL;
		ck_assert_int_eq(rpc_codec_gob.read(s, buf.data + first,
		                                    k - first, &used, &m, &err),
		                 RPCI_READ_AGAIN);
	}
	ck_assert_uint_eq(rd(s, buf.data + first, buf.len - first, &m),
	                  buf.len - first);
	ck_assert(m.seq == 2);
	body_ok(s, &m, &T_EVERY, &out);
	check_everything(&out);
	rpc_message_free_contents(&out.base);
	rpc_codec_gob.msg_clear(s, &m);
	rpci_buf_fini(&buf);
	rpc_codec_gob.state_free(c);
	rpc_codec_gob.state_free(s);
}
END_TEST

/* ---- malformed input ----------------------------------------------------- */

/* Hand-made streams: put_struct_def writes the definition of a struct. */
static void put_struct_def(rpci_buf *out, int64_t id, const char *name,
                           size_t n, const char *const *names,
                           const int64_t *ids)
{
	rpci_buf b = {0};
	size_t i;

	ck_assert(rpci_gob_put_int(&b, -id));
	ck_assert(rpci_gob_put_uint(&b, 3) && rpci_gob_put_uint(&b, 1));
	ck_assert(rpci_gob_put_uint(&b, 1) && rpci_gob_put_bytes(&b, name, strlen(name)));
	ck_assert(rpci_gob_put_uint(&b, 1) && rpci_gob_put_int(&b, id) &&
	          rpci_gob_put_uint(&b, 0));
	ck_assert(rpci_gob_put_uint(&b, 1) && rpci_gob_put_uint(&b, n));
	for (i = 0; i < n; i++) {
		ck_assert(rpci_gob_put_uint(&b, 1) &&
		          rpci_gob_put_bytes(&b, names[i], strlen(names[i])));
		ck_assert(rpci_gob_put_uint(&b, 1) && rpci_gob_put_int(&b, ids[i]) &&
		          rpci_gob_put_uint(&b, 0));
	}
	ck_assert(rpci_gob_put_uint(&b, 0) && rpci_gob_put_uint(&b, 0));
	put_msg(out, &b);
	rpci_buf_fini(&b);
}

static const char *const req_names[] = {"ServiceMethod", "Seq"};
static const int64_t req_ids[] = {GOB_ID_STRING, GOB_ID_UINT};

/* put_request writes a Request header value (type 65 must be defined). */
static void put_request(rpci_buf *out, const char *sm, uint64_t seq)
{
	rpci_buf b = {0};

	ck_assert(rpci_gob_put_int(&b, 65) && rpci_gob_put_uint(&b, 1) &&
	          rpci_gob_put_bytes(&b, sm, strlen(sm)) && rpci_gob_put_uint(&b, 1) &&
	          rpci_gob_put_uint(&b, seq) && rpci_gob_put_uint(&b, 0));
	put_msg(out, &b);
	rpci_buf_fini(&b);
}

START_TEST(test_gob_body_wrong_type_keeps_stream)
{
	static const char *const names[] = {"A", "B"};
	static const int64_t ids[] = {GOB_ID_STRING, GOB_ID_INT};
	void *s = state(true, MAX_FRAME);
	Main__Args out = MAIN__ARGS__INIT;
	rpci_buf buf = {0}, b = {0};
	size_t pos;
	rpci_msg m;

	put_struct_def(&buf, 65, "Request", 2, req_names, req_ids);
	put_request(&buf, "Arith.Multiply", 1);
	put_struct_def(&buf, 66, "Args", 2, names, ids); /* A is a string */
	ck_assert(rpci_gob_put_int(&b, 66) && rpci_gob_put_uint(&b, 1) &&
	          rpci_gob_put_bytes(&b, "six", 3) && rpci_gob_put_uint(&b, 1) &&
	          rpci_gob_put_int(&b, 7) && rpci_gob_put_uint(&b, 0));
	put_msg(&buf, &b);
	/* a second call whose body is a bare int64: fine for Int64Value */
	put_request(&buf, "Arith.Multiply", 2);
	ck_assert(rpci_gob_put_int(&b, GOB_ID_INT) && rpci_gob_put_uint(&b, 0) &&
	          rpci_gob_put_int(&b, 99));
	put_msg(&buf, &b);

	pos = rd(s, buf.data, buf.len, &m);
	body_fails(s, &m, &T_ARGS, &out, "wrong type for field a");
	ck_assert(out.a == 0 && out.b == 0);
	rpc_codec_gob.msg_clear(s, &m);
	rd(s, buf.data + pos, buf.len - pos, &m);
	ck_assert(m.seq == 2);
	body_fails(s, &m, &T_ARGS, &out, "type mismatch");
	{
		Main__Int64Value v = MAIN__INT64_VALUE__INIT;
		body_ok(s, &m, &T_INT64, &v);
		ck_assert(v.value == 99);
	}
	rpc_codec_gob.msg_clear(s, &m);
	rpci_buf_fini(&b);
	rpci_buf_fini(&buf);
	rpc_codec_gob.state_free(s);
}
END_TEST

START_TEST(test_gob_body_out_of_range)
{
	void *c = state(false, MAX_FRAME), *s = state(true, MAX_FRAME);
	Main__Int64Value big = MAIN__INT64_VALUE__INIT;
	Main__Int32Value small = MAIN__INT32_VALUE__INIT;
	rpci_buf buf = {0};
	rpci_msg m;

	big.value = (int64_t)1 << 40;
	wr(c, "T.M", 1, NULL, &T_INT64, &big, &buf);
	rd(s, buf.data, buf.len, &m);
	body_fails(s, &m, &T_INT32, &small, "out of range");
	ck_assert_int_eq(small.value, 0);
	body_fails(s, &m, &T_STRING,
	           &(Main__StringValue)MAIN__STRING_VALUE__INIT, "wrong type");
	rpc_codec_gob.msg_clear(s, &m);
	rpci_buf_fini(&buf);
	rpc_codec_gob.state_free(c);
	rpc_codec_gob.state_free(s);
}
END_TEST

START_TEST(test_gob_absurd_lengths)
{
	static const uint8_t huge[] = {0xf8, 0x7f, 0xff, 0xff, 0xff,
	                               0xff, 0xff, 0xff, 0xff};
	static const uint8_t bad_count[] = {0xf7};
	static const uint8_t empty[] = {0x00};
	void *s = state(true, 1024);
	Main__IntList out = MAIN__INT_LIST__INIT;
	Main__StringValue sv = MAIN__STRING_VALUE__INIT;
	rpci_buf buf = {0}, b = {0};
	rpci_msg m;

	read_fails(s, huge, sizeof huge, "out of range");
	read_fails(s, bad_count, sizeof bad_count, "invalid message length");
	read_fails(s, empty, sizeof empty, "out of range");
	/* 2000 bytes > max_frame 1024, before any of them arrive */
	ck_assert(rpci_gob_put_uint(&buf, 2000));
	read_fails(s, buf.data, buf.len, "out of range");
	buf.len = 0;

	/* type definitions without end: refused once past the call limit */
	{
		int64_t id;
		for (id = 65; id < 365; id++)
			put_struct_def(&buf, id, "Request", 2, req_names,
			               req_ids);
		read_fails(s, buf.data, buf.len, "call of more than");
		buf.len = 0;
	}

	/* a slice that claims 2^40 elements, a string that claims 2^30 bytes */
	put_struct_def(&buf, 65, "Request", 2, req_names, req_ids);
	ck_assert(rpci_gob_put_int(&b, -66) && rpci_gob_put_uint(&b, 2) &&
	          rpci_gob_put_uint(&b, 1) && rpci_gob_put_uint(&b, 2) &&
	          rpci_gob_put_int(&b, 66) && rpci_gob_put_uint(&b, 0) &&
	          rpci_gob_put_uint(&b, 1) && rpci_gob_put_int(&b, GOB_ID_INT) &&
	          rpci_gob_put_uint(&b, 0) && rpci_gob_put_uint(&b, 0));
	put_msg(&buf, &b); /* type 66 = []int */
	put_request(&buf, "T.M", 1);
	ck_assert(rpci_gob_put_int(&b, 66) && rpci_gob_put_uint(&b, 0) &&
	          rpci_gob_put_uint(&b, (uint64_t)1 << 40) && rpci_gob_put_int(&b, 1));
	put_msg(&buf, &b);
	put_request(&buf, "T.M", 2);
	ck_assert(rpci_gob_put_int(&b, GOB_ID_STRING) && rpci_gob_put_uint(&b, 0) &&
	          rpci_gob_put_uint(&b, (uint64_t)1 << 30) &&
	          rpci_gob_put_uint(&b, 0x41));
	put_msg(&buf, &b);

	{
		size_t pos = rd(s, buf.data, buf.len, &m);
		body_fails(s, &m, &T_INTLIST, &out, "malformed");
		ck_assert_uint_eq(out.n_value, 0);
		rpc_codec_gob.msg_clear(s, &m);
		rd(s, buf.data + pos, buf.len - pos, &m);
		body_fails(s, &m, &T_STRING, &sv, "malformed");
		rpc_codec_gob.msg_clear(s, &m);
	}
	rpci_buf_fini(&b);
	rpci_buf_fini(&buf);
	rpc_codec_gob.state_free(s);
}
END_TEST

/* put_node_chain writes a Node value nested depth deep (type 66). */
static void put_node_chain(rpci_buf *buf, int depth)
{
	static const char *const names[] = {"V", "Next"};
	static const int64_t ids[] = {GOB_ID_INT, 66};
	rpci_buf b = {0};
	int i;

	put_struct_def(buf, 66, "Node", 2, names, ids);
	put_request(buf, "Test.Node", 1);
	ck_assert(rpci_gob_put_int(&b, 66));
	for (i = 0; i < depth; i++)
		ck_assert(rpci_gob_put_uint(&b, 1) && rpci_gob_put_int(&b, i + 1) &&
		          rpci_gob_put_uint(&b, 1));
	ck_assert(rpci_gob_put_uint(&b, 0));
	for (i = 0; i < depth; i++)
		ck_assert(rpci_gob_put_uint(&b, 0));
	put_msg(buf, &b);
	rpci_buf_fini(&b);
}

START_TEST(test_gob_deep_nesting_bounded)
{
	void *s = state(true, MAX_FRAME);
	Main__Node out = MAIN__NODE__INIT;
	Main__Args args = MAIN__ARGS__INIT;
	rpci_buf buf = {0};
	const Main__Node *n;
	rpci_msg m;
	int i;

	put_struct_def(&buf, 65, "Request", 2, req_names, req_ids);
	put_node_chain(&buf, GOB_MAX_DEPTH - 1);
	rd(s, buf.data, buf.len, &m);
	body_ok(s, &m, &T_NODE, &out);
	for (i = 1, n = &out; i <= GOB_MAX_DEPTH - 1; i++, n = n->next) {
		ck_assert_ptr_nonnull(n);
		ck_assert(n->v == i);
	}
	ck_assert(n->v == 0 && n->next == NULL);
	rpc_message_free_contents(&out.base);
	rpc_codec_gob.msg_clear(s, &m);
	rpc_codec_gob.state_free(s);

	s = state(true, MAX_FRAME);
	buf.len = 0;
	put_struct_def(&buf, 65, "Request", 2, req_names, req_ids);
	put_node_chain(&buf, 5000);
	rd(s, buf.data, buf.len, &m);
	body_fails(s, &m, &T_NODE, &out, "too deep");
	ck_assert_ptr_null(out.next);
	body_fails(s, &m, &T_ARGS, &args,
	           "too deep"); /* skipping is bounded too */
	rpc_codec_gob.msg_clear(s, &m);
	rpci_buf_fini(&buf);
	rpc_codec_gob.state_free(s);
}
END_TEST

START_TEST(test_gob_undefined_type_id)
{
	static const char *const names[] = {"A", "Zz"};
	static const int64_t ids[] = {GOB_ID_INT, 70};
	void *s = state(true, MAX_FRAME);
	Main__Args out = MAIN__ARGS__INIT;
	rpci_buf buf = {0}, b = {0};
	rpci_msg m;
	size_t pos;

	put_struct_def(&buf, 65, "Request", 2, req_names, req_ids);
	put_request(&buf, "T.M", 1);
	ck_assert(rpci_gob_put_int(&b, 99) &&
	          rpci_gob_put_uint(&b, 0)); /* 99: never defined */
	put_msg(&buf, &b);
	put_request(&buf, "T.M", 2);
	put_struct_def(&buf, 66, "Args", 2, names,
	               ids); /* field of unknown 70 */
	ck_assert(rpci_gob_put_int(&b, 66) && rpci_gob_put_uint(&b, 1) &&
	          rpci_gob_put_int(&b, 5) && rpci_gob_put_uint(&b, 1) &&
	          rpci_gob_put_uint(&b, 3) && rpci_gob_put_uint(&b, 0));
	put_msg(&buf, &b);

	pos = rd(s, buf.data, buf.len, &m);
	body_fails(s, &m, &T_ARGS, &out, "undefined type");
	rpc_codec_gob.msg_clear(s, &m);
	rd(s, buf.data + pos, buf.len - pos, &m);
	body_fails(s, &m, &T_ARGS, &out, "unknown type id 70");
	ck_assert(out.a == 0);
	rpc_codec_gob.msg_clear(s, &m);

	/* a header of an undefined type ends the stream */
	buf.len = 0;
	ck_assert(rpci_gob_put_int(&b, 77) && rpci_gob_put_uint(&b, 0));
	put_msg(&buf, &b);
	ck_assert(rpci_gob_put_int(&b, GOB_ID_INT) && rpci_gob_put_uint(&b, 0) &&
	          rpci_gob_put_int(&b, 1));
	put_msg(&buf, &b);
	read_fails(s, buf.data, buf.len, "header is undefined type");
	rpci_buf_fini(&b);
	rpci_buf_fini(&buf);
	rpc_codec_gob.state_free(s);
}
END_TEST

START_TEST(test_gob_bad_type_definitions)
{
	static const uint8_t garbage_def[] = {0x04, 0xff, 0x81, 0x09, 0x00};
	void *s = state(true, MAX_FRAME);
	rpci_buf buf = {0};

	ck_assert(rpci_buf_append(&buf, garbage_def, sizeof garbage_def));
	put_request(&buf, "T.M", 1);
	put_request(&buf, "T.M", 2);
	read_fails(s, buf.data, buf.len, "malformed definition");
	rpc_codec_gob.state_free(s);

	s = state(true, MAX_FRAME);
	buf.len = 0;
	put_struct_def(&buf, 20, "Mine", 2, req_names, req_ids);
	put_request(&buf, "T.M", 1);
	put_request(&buf, "T.M", 2);
	read_fails(s, buf.data, buf.len, "predefined");
	rpc_codec_gob.state_free(s);

	/* a struct field without a name (found by fuzzing) */
	s = state(true, MAX_FRAME);
	buf.len = 0;
	{
		rpci_buf b = {0};
		ck_assert(rpci_gob_put_int(&b, -65) && rpci_gob_put_uint(&b, 3) &&
		          rpci_gob_put_uint(&b, 1) && rpci_gob_put_uint(&b, 2) &&
		          rpci_gob_put_int(&b, 65) && rpci_gob_put_uint(&b, 0) &&
		          rpci_gob_put_uint(&b, 1) && rpci_gob_put_uint(&b, 1) &&
		          rpci_gob_put_uint(&b, 2) &&
		          rpci_gob_put_int(&b, GOB_ID_STRING) &&
		          rpci_gob_put_uint(&b, 0) && rpci_gob_put_uint(&b, 0) &&
		          rpci_gob_put_uint(&b, 0));
		put_msg(&buf, &b);
		rpci_buf_fini(&b);
	}
	put_request(&buf, "T.M", 1);
	put_request(&buf, "T.M", 2);
	read_fails(s, buf.data, buf.len, "malformed definition");
	rpc_codec_gob.state_free(s);

	s = state(true, MAX_FRAME);
	buf.len = 0;
	put_struct_def(&buf, 65, "Request", 2, req_names, req_ids);
	put_struct_def(&buf, 65, "Request", 2, req_names, req_ids);
	put_request(&buf, "T.M", 1);
	put_request(&buf, "T.M", 2);
	read_fails(s, buf.data, buf.len, "duplicate type");
	rpc_codec_gob.state_free(s);
	rpci_buf_fini(&buf);
}
END_TEST

/* Every single-byte corruption of a valid stream is handled: an error, a
 * request for more bytes or a decoded value, never a crash or a leak. */
START_TEST(test_gob_mutated_stream_never_crashes)
{
	void *c = state(false, MAX_FRAME);
	Main__Everything in;
	rpci_buf buf = {0};
	size_t k, used;
	int x, ok = 0;

	fill_everything(&in);
	wr(c, "Test.Everything", 1, NULL, &T_EVERY, &in, &buf);
	for (k = 0; k < buf.len; k++) {
		for (x = 0; x < 3; x++) {
			static const uint8_t flips[] = {0x01, 0x80, 0xff};
			void *s = state(true, 4096);
			Main__Everything out = MAIN__EVERYTHING__INIT;
			rpc_error *err = NULL, *berr;
			rpci_msg m;

			buf.data[k] ^= flips[x];
			if (rpc_codec_gob.read(s, buf.data, buf.len, &used, &m,
			                       &err) == RPCI_READ_OK) {
				berr = rpc_codec_gob.read_body(s, &m, &T_EVERY,
				                               &out.base);
				ok += berr == NULL;
				rpc_error_free(berr);
				rpc_message_free_contents(&out.base);
				rpc_codec_gob.msg_clear(s, &m);
			}
			rpc_error_free(err);
			buf.data[k] ^= flips[x];
			rpc_codec_gob.state_free(s);
		}
	}
	ck_assert_int_gt(ok, 0); /* some flips (in values) still decode */
	rpci_buf_fini(&buf);
	rpc_codec_gob.state_free(c);
}
END_TEST

START_TEST(test_gob_random_input_never_crashes)
{
	uint32_t seed = 12345;
	uint8_t in[64];
	int iter;
	size_t k, used;

	for (iter = 0; iter < 3000; iter++) {
		void *s = state(iter & 1, 4096);
		Main__Everything out = MAIN__EVERYTHING__INIT;
		rpc_error *err = NULL;
		rpci_msg m;
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % sizeof in;
		for (k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			in[k] = (uint8_t)(seed >> 16);
			if (k % 7 == 0)
				in[k] &= 0x3f; /* plausible small counts */
		}
		if (rpc_codec_gob.read(s, in, n, &used, &m, &err) ==
		    RPCI_READ_OK) {
			rpc_error_free(rpc_codec_gob.read_body(s, &m, &T_EVERY,
			                                       &out.base));
			rpc_message_free_contents(&out.base);
			rpc_codec_gob.msg_clear(s, &m);
		}
		rpc_error_free(err);
		rpc_codec_gob.state_free(s);
	}
	ck_assert_int_eq(iter, 3000);
}
END_TEST

/* ---- interop with Go ----------------------------------------------------- */

static const char *peer(void)
{
	return sup_peer_path("GOBPEER");
}

/* live_go: the Go peer runs (interop mode); otherwise the Go streams come
 * from the checked-in fixtures (tests/gob/fixtures, $GOB_FIXTURES). */
static bool live_go;

static uint8_t *read_fixture(const char *c, size_t *n)
{
	const char *dir = getenv("GOB_FIXTURES");
	char path[1024];
	uint8_t *buf;
	long len;
	FILE *f;

	if (dir == NULL)
		dir = GOB_FIXTURES_DIR;
	snprintf(path, sizeof path, "%s/%s.gob", dir, c);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert(fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert(fread(buf, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return buf;
}

/* run_peer runs `gobpeer MODE CASE` with in (if any) on stdin and returns
 * its stdout (malloc'd, NUL-terminated); the peer must exit 0. */
static uint8_t *run_peer(const char *mode, const char *c, const uint8_t *in,
                         size_t inlen, size_t *outlen)
{
	const char *args[] = {mode, c, NULL};
	char err[256];
	char *out = sup_peer_run(peer(), args, in, in != NULL ? inlen : 0, 120,
	                         outlen, err, sizeof err);

	ck_assert_msg(out != NULL, "%s", err);
	return (uint8_t *)out;
}

/* go_reads_ours checks that Go decodes our stream into what it decodes from
 * its own stream for the same case. */
static void go_reads_ours(const char *c, const uint8_t *ours, size_t n)
{
	size_t glen, jlen, ojlen;
	uint8_t *gostream, *want, *got;

	if (!live_go)
		return;
	gostream = run_peer("write", c, NULL, 0, &glen);
	want = run_peer("read", c, gostream, glen, &jlen);
	got = run_peer("read", c, ours, n, &ojlen);

	ck_assert_uint_gt(jlen, 0);
	ck_assert_msg(strcmp((char *)got, (char *)want) == 0,
	              "Go decodes our %s stream as\n%s\nbut its own as\n%s", c,
	              (char *)got, (char *)want);
	free(gostream);
	free(want);
	free(got);
}

/* go_stream returns Go's stream for case c (caller frees). */
static uint8_t *go_stream(const char *c, size_t *n)
{
	return live_go ? run_peer("write", c, NULL, 0, n) : read_fixture(c, n);
}

/* Go's current output is what the fixtures hold (maps.gob aside: Go
 * writes maps in random order). */
START_TEST(test_gob_go_fixtures_current)
{
	static const char *const cases[] = {"args",      "everything", "zero",
	                                    "optionals", "v2",         "nested",
	                                    "replies",   "iface",      "iface-calls",
	                                    "iface-reply", "arrays"};
	size_t i, n, fn;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t *go = run_peer("write", cases[i], NULL, 0, &n);
		uint8_t *fx = read_fixture(cases[i], &fn);
		expect_bytes(cases[i], fx, fn, go, n);
		free(go);
		free(fx);
	}
}
END_TEST

START_TEST(test_gob_go_args)
{
	void *s = state(true, MAX_FRAME), *c = state(false, MAX_FRAME);
	Main__Args a = MAIN__ARGS__INIT, out = MAIN__ARGS__INIT;
	rpci_buf ours = {0};
	size_t n, pos;
	uint8_t *go = go_stream("args", &n);
	rpci_msg m;

	pos = rd(s, go, n, &m);
	ck_assert_str_eq(m.service_method, "Arith.Multiply");
	ck_assert(m.seq == 0);
	body_ok(s, &m, &T_ARGS, &out);
	ck_assert(out.a == 6 && out.b == 7);
	rpc_codec_gob.msg_clear(s, &m);
	pos += rd(s, go + pos, n - pos, &m);
	ck_assert_uint_eq(pos, n);
	ck_assert(m.seq == 1);
	body_ok(s, &m, &T_ARGS, &out);
	ck_assert(out.a == -1 && out.b == (int64_t)1 << 40);
	rpc_codec_gob.msg_clear(s, &m);

	a.a = 6;
	a.b = 7;
	wr(c, "Arith.Multiply", 0, NULL, &T_ARGS, &a, &ours);
	a.a = -1;
	a.b = (int64_t)1 << 40;
	wr(c, "Arith.Multiply", 1, NULL, &T_ARGS, &a, &ours);
	expect_bytes("args stream", ours.data, ours.len, go, n);
	go_reads_ours("args", ours.data, ours.len);
	free(go);
	rpci_buf_fini(&ours);
	rpc_codec_gob.state_free(s);
	rpc_codec_gob.state_free(c);
}
END_TEST

START_TEST(test_gob_go_everything)
{
	void *s = state(true, MAX_FRAME), *c = state(false, MAX_FRAME);
	Main__Everything in, out = MAIN__EVERYTHING__INIT;
	rpci_buf ours = {0};
	size_t n;
	uint8_t *go = go_stream("everything", &n);
	rpci_msg m;

	ck_assert_uint_eq(rd(s, go, n, &m), n);
	ck_assert_str_eq(m.service_method, "Test.Everything");
	ck_assert(m.seq == 5);
	body_ok(s, &m, &T_EVERY, &out);
	check_everything(&out);
	rpc_message_free_contents(&out.base);
	rpc_codec_gob.msg_clear(s, &m);

	fill_everything(&in);
	wr(c, "Test.Everything", 5, NULL, &T_EVERY, &in, &ours);
	expect_bytes("everything stream", ours.data, ours.len, go, n);
	go_reads_ours("everything", ours.data, ours.len);
	free(go);
	rpci_buf_fini(&ours);
	rpc_codec_gob.state_free(s);
	rpc_codec_gob.state_free(c);
}
END_TEST

START_TEST(test_gob_go_zero_values)
{
	void *s = state(true, MAX_FRAME), *c = state(false, MAX_FRAME);
	Main__Everything e = MAIN__EVERYTHING__INIT,
	                 out = MAIN__EVERYTHING__INIT;
	Main__Args a = MAIN__ARGS__INIT, ao = MAIN__ARGS__INIT;
	rpci_buf ours = {0};
	size_t n, pos;
	uint8_t *go = go_stream("zero", &n);
	rpci_msg m;

	pos = rd(s, go, n, &m);
	body_ok(s, &m, &T_EVERY, &out);
	ck_assert(out.i64 == 0 && out.inner == NULL && out.n_items == 0);
	ck_assert_str_eq(out.name, "");
	rpc_codec_gob.msg_clear(s, &m);
	rd(s, go + pos, n - pos, &m);
	ck_assert_str_eq(m.service_method, "");
	ck_assert(m.seq == 1);
	body_ok(s, &m, &T_ARGS, &ao);
	ck_assert(ao.a == 0 && ao.b == 0);
	rpc_codec_gob.msg_clear(s, &m);

	wr(c, "Test.Zero", 0, NULL, &T_EVERY, &e, &ours);
	wr(c, "", 1, NULL, &T_ARGS, &a, &ours);
	expect_bytes("zero stream", ours.data, ours.len, go, n);
	go_reads_ours("zero", ours.data, ours.len);
	free(go);
	rpci_buf_fini(&ours);
	rpc_codec_gob.state_free(s);
	rpc_codec_gob.state_free(c);
}
END_TEST

static int64_t count_of(const Main__Everything *e, const char *key)
{
	size_t i;

	for (i = 0; i < e->n_counts; i++)
		if (strcmp(e->counts[i]->key, key) == 0)
			return e->counts[i]->value;
	ck_abort_msg("key %s missing", key);
	return 0;
}

START_TEST(test_gob_go_maps)
{
	void *s = state(true, MAX_FRAME), *c = state(false, MAX_FRAME);
	Main__Everything out = MAIN__EVERYTHING__INIT;
	rpci_buf ours = {0};
	size_t n, i;
	uint8_t *go = go_stream("maps", &n);
	rpci_msg m;
	int seen = 0;

	rd(s, go, n, &m);
	body_ok(s, &m, &T_EVERY, &out);
	ck_assert_uint_eq(out.n_counts, 4);
	ck_assert(count_of(&out, "a") == 1 && count_of(&out, "b") == -2 &&
	          count_of(&out, "") == 0 &&
	          count_of(&out, "dd") == (int64_t)1 << 33);
	ck_assert_uint_eq(out.n_names, 3);
	ck_assert_uint_eq(out.n_by_flag, 2);
	for (i = 0; i < 2; i++) {
		if (out.by_flag[i]->key)
			seen += out.by_flag[i]->value->a == 1;
		else
			seen += out.by_flag[i]->value->b == 2;
	}
	ck_assert_int_eq(seen, 2);
	ck_assert_uint_eq(out.n_weights, 2);
	ck_assert_uint_eq(out.n_args_by_name, 2);
	rpc_codec_gob.msg_clear(s, &m);

	/* send back what we decoded: Go must see the same maps */
	wr(c, "Test.Maps", 2, NULL, &T_EVERY, &out, &ours);
	go_reads_ours("maps", ours.data, ours.len);
	rpc_message_free_contents(&out.base);
	free(go);
	rpci_buf_fini(&ours);
	rpc_codec_gob.state_free(s);
	rpc_codec_gob.state_free(c);
}
END_TEST

START_TEST(test_gob_go_optionals)
{
	void *s = state(true, MAX_FRAME), *c = state(false, MAX_FRAME);
	Main__Optionals in = MAIN__OPTIONALS__INIT, out = MAIN__OPTIONALS__INIT;
	rpci_buf ours = {0};
	size_t n, pos;
	uint8_t *go = go_stream("optionals", &n);
	rpci_msg m;

	pos = rd(s, go, n, &m);
	body_ok(s, &m, &T_OPT, &out);
	ck_assert(out.has_maybe && out.maybe == -4);
	ck_assert_str_eq(out.maybe_s, "s");
	ck_assert(!out.has_maybe_d);
	rpc_message_free_contents(&out.base);
	rpc_codec_gob.msg_clear(s, &m);
	rd(s, go + pos, n - pos, &m);
	body_ok(s, &m, &T_OPT, &out);
	ck_assert(!out.has_maybe); /* Go sent &0 as nothing */
	rpc_message_free_contents(&out.base);
	rpc_codec_gob.msg_clear(s, &m);

	in.has_maybe = 1;
	in.maybe = -4;
	in.maybe_s = "s";
	wr(c, "Test.Opt", 1, NULL, &T_OPT, &in, &ours);
	in.maybe = 0;
	in.maybe_s = NULL;
	wr(c, "Test.Opt", 2, NULL, &T_OPT, &in, &ours);
	expect_bytes("optionals stream", ours.data, ours.len, go, n);
	go_reads_ours("optionals", ours.data, ours.len);
	free(go);
	rpci_buf_fini(&ours);
	rpc_codec_gob.state_free(s);
	rpc_codec_gob.state_free(c);
}
END_TEST

START_TEST(test_gob_go_newer_struct_fields_by_name)
{
	void *s = state(true, MAX_FRAME);
	Main__Args out = MAIN__ARGS__INIT;
	size_t n;
	uint8_t *go = go_stream("v2", &n);
	rpci_msg m;

	ck_assert_uint_eq(rd(s, go, n, &m), n);
	ck_assert(m.seq == 9);
	body_ok(s, &m, &T_ARGS, &out);
	ck_assert(out.a == 3 && out.b == 2);
	rpc_codec_gob.msg_clear(s, &m);
	free(go);
	rpc_codec_gob.state_free(s);
}
END_TEST

/* Interface fields are skipped, also when Go splits the value across
 * messages (an interface holding a type new to the stream: the message
 * ends after the type's definition, the value goes on in the next). */
START_TEST(test_gob_go_interface_fields_skipped)
{
	void *s = state(true, MAX_FRAME);
	Main__Args out = MAIN__ARGS__INIT;
	size_t n, pos;
	uint8_t *go = go_stream("iface", &n);
	rpci_msg m;

	pos = rd(s, go, n, &m);
	body_ok(s, &m, &T_ARGS, &out);
	ck_assert(out.a == 1 && out.b == 2);
	rpc_codec_gob.msg_clear(s, &m);
	pos += rd(s, go + pos, n - pos, &m);
	body_ok(s, &m, &T_ARGS, &out);
	ck_assert(out.a == 3 && out.b == 4);
	rpc_codec_gob.msg_clear(s, &m);
	pos += rd(s, go + pos, n - pos, &m);
	ck_assert(m.seq == 3);
	body_ok(s, &m, &T_ARGS, &out);
	ck_assert(out.a == 5 && out.b == 6);
	rpc_codec_gob.msg_clear(s, &m);
	ck_assert_uint_eq(pos, n);
	free(go);
	rpc_codec_gob.state_free(s);
}
END_TEST

/* rd_prefixes reads one call from in[0..len) by offering every prefix in
 * turn: each one shorter than the call must be answered RPCI_READ_AGAIN
 * with nothing recorded (else the whole call would then bring duplicate
 * types), with need() 0 or a length still within the input. */
static size_t rd_prefixes(void *s, const uint8_t *in, size_t len,
                          rpci_msg *m)
{
	size_t k, used = 0, need;
	rpc_error *err = NULL;
	rpci_read_status st;

	for (k = 0; k < len; k++) {
		st = rpc_codec_gob.read(s, in, k, &used, m, &err);
		ck_assert_msg(st == RPCI_READ_AGAIN, "prefix %zu: %d %s", k,
		              (int)st, err ? rpc_error_message(err) : "");
		need = rpc_codec_gob.need(s, in, k);
		ck_assert(need == 0 || (need > k && need <= len));
		if (rpc_codec_gob.read(s, in, k + 1, &used, m, &err) ==
		    RPCI_READ_OK)
			break;
	}
	ck_assert_uint_lt(k, len);
	ck_assert_uint_eq(used, k + 1);
	return used;
}

/* What gobpeer call-iface sends (fixture iface-calls): a call to a method
 * that does not exist whose argument holds Quotient, new to the stream, in
 * an interface; a plain call; a call whose argument's interface fields
 * (Extra, with its slice and map types, sent mid-stream) Args lacks; a
 * plain call. Each is taken whole, bodies skip or decode, and every
 * prefix of a call asks for more. */
START_TEST(test_gob_go_interface_new_types_in_calls)
{
	void *s = state(true, MAX_FRAME);
	Main__Args out = MAIN__ARGS__INIT;
	size_t n, pos;
	uint8_t *go = go_stream("iface-calls", &n);
	rpci_msg m;

	pos = rd_prefixes(s, go, n, &m);
	ck_assert_str_eq(m.service_method, "Arith.Nope");
	ck_assert_ptr_null(rpc_codec_gob.read_body(s, &m, NULL, NULL));
	rpc_codec_gob.msg_clear(s, &m);
	pos += rd_prefixes(s, go + pos, n - pos, &m);
	ck_assert_str_eq(m.service_method, "Arith.Multiply");
	ck_assert(m.seq == 1);
	body_ok(s, &m, &T_ARGS, &out);
	ck_assert(out.a == 6 && out.b == 7);
	rpc_codec_gob.msg_clear(s, &m);
	pos += rd_prefixes(s, go + pos, n - pos, &m);
	ck_assert(m.seq == 2);
	body_ok(s, &m, &T_ARGS, &out);
	ck_assert(out.a == 3 && out.b == 4);
	rpc_codec_gob.msg_clear(s, &m);
	pos += rd_prefixes(s, go + pos, n - pos, &m);
	ck_assert(m.seq == 3);
	body_ok(s, &m, &T_ARGS, &out);
	ck_assert(out.a == 2 && out.b == 5);
	rpc_codec_gob.msg_clear(s, &m);
	ck_assert_uint_eq(pos, n);
	free(go);
	rpc_codec_gob.state_free(s);
}
END_TEST

/* The client side: Go's Arith.Tagged reply holds an interface of a type
 * new to the stream, which our Quotient lacks (fixture iface-reply). */
START_TEST(test_gob_go_interface_new_type_in_reply)
{
	void *c = state(false, MAX_FRAME);
	Main__Quotient q = MAIN__QUOTIENT__INIT;
	Main__Int64Value v = MAIN__INT64_VALUE__INIT;
	size_t n, pos;
	uint8_t *go = go_stream("iface-reply", &n);
	rpci_msg m;

	pos = rd_prefixes(c, go, n, &m);
	ck_assert_str_eq(m.service_method, "Arith.Tagged");
	ck_assert(m.seq == 1);
	body_ok(c, &m, &T_QUO, &q);
	ck_assert(q.quo == 3 && q.rem == 2);
	rpc_codec_gob.msg_clear(c, &m);
	pos += rd(c, go + pos, n - pos, &m);
	ck_assert(m.seq == 2);
	body_ok(c, &m, &T_INT64, &v);
	ck_assert(v.value == 42);
	rpc_codec_gob.msg_clear(c, &m);
	ck_assert_uint_eq(pos, n);
	free(go);
	rpc_codec_gob.state_free(c);
}
END_TEST

/* flood_stream builds a call whose argument (a WithAny, from Go's
 * iface-calls stream) holds an interface value followed by n type
 * definitions, one message each, as Go sends them, then the rest of the
 * value. */
static void flood_stream(rpci_buf *out, int n)
{
	size_t gn, at;
	uint8_t *go = go_stream("iface-calls", &gn);
	rpci_buf body = {0};
	int64_t id = 100;
	int i;

	/* Go's stream up to the WithAny value: the definitions of Request,
	 * WithAny and []interface {}, and the header */
	for (at = 0; at + 3 < gn; at++)
		if (go[at + 1] == 0xff && go[at + 2] == 0x84 &&
		    go[at + 3] == 0x01)
			break; /* the first value message of type 66 */
	ck_assert_uint_lt(at + 3, gn);
	ck_assert(rpci_buf_append(out, go, at));
	ck_assert(rpci_gob_put_int(&body, 66));
	ck_assert(rpci_gob_put_uint(&body, 1)); /* A */
	ck_assert(rpci_gob_put_int(&body, 1));
	ck_assert(rpci_gob_put_uint(&body, 1)); /* Any */
	ck_assert(rpci_gob_put_bytes(&body, "x", 1));
	for (i = 0; i < n; i++, id++) {
		/* -id, wireType{SliceT: {CommonType{"x", id}, Elem: int}} */
		ck_assert(rpci_gob_put_int(&body, -id));
		ck_assert(rpci_gob_put_uint(&body, 2));
		ck_assert(rpci_gob_put_uint(&body, 1));
		ck_assert(rpci_gob_put_uint(&body, 1));
		ck_assert(rpci_gob_put_bytes(&body, "x", 1));
		ck_assert(rpci_gob_put_uint(&body, 1));
		ck_assert(rpci_gob_put_int(&body, id));
		ck_assert(rpci_gob_put_uint(&body, 0));
		ck_assert(rpci_gob_put_uint(&body, 1));
		ck_assert(rpci_gob_put_int(&body, GOB_ID_INT));
		ck_assert(rpci_gob_put_uint(&body, 0));
		ck_assert(rpci_gob_put_uint(&body, 0));
		put_msg(out, &body);
	}
	/* the value goes on: type 100, its byte count, []int{7}; B */
	ck_assert(rpci_gob_put_int(&body, 100));
	ck_assert(rpci_gob_put_uint(&body, 3));
	ck_assert(rpci_gob_put_uint(&body, 0));
	ck_assert(rpci_gob_put_uint(&body, 1));
	ck_assert(rpci_gob_put_int(&body, 7));
	ck_assert(rpci_gob_put_uint(&body, 1)); /* B */
	ck_assert(rpci_gob_put_int(&body, 2));
	ck_assert(rpci_gob_put_uint(&body, 0));
	put_msg(out, &body);
	rpci_buf_fini(&body);
	free(go);
}

/* Definitions that arrive inside an interface value count against the
 * stream's limits: at most GOB_MAX_TYPES types, and one call's bytes. */
START_TEST(test_gob_interface_type_flood_bounded)
{
	void *s = state(true, MAX_FRAME);
	Main__Args out = MAIN__ARGS__INIT;
	rpci_buf in = {0};
	rpci_msg m;

	/* enough to grow the type table while the value is read through:
	 * taken, and the value skipped */
	flood_stream(&in, 40);
	ck_assert_uint_eq(rd(s, in.data, in.len, &m), in.len);
	body_ok(s, &m, &T_ARGS, &out);
	ck_assert(out.a == 1 && out.b == 2);
	rpc_codec_gob.msg_clear(s, &m);
	rpc_codec_gob.state_free(s);
	in.len = 0;

	/* more than GOB_MAX_TYPES */
	s = state(true, MAX_FRAME);
	flood_stream(&in, GOB_MAX_TYPES);
	read_fails(s, in.data, in.len, "too many types (limit 4096 per stream)");
	rpc_codec_gob.state_free(s);

	/* more than one call may hold */
	s = state(true, 4096);
	read_fails(s, in.data, in.len, "call of more than");
	rpc_codec_gob.state_free(s);
	rpci_buf_fini(&in);
}
END_TEST

START_TEST(test_gob_go_recursive_type)
{
	void *s = state(true, MAX_FRAME), *c = state(false, MAX_FRAME);
	Main__Node out = MAIN__NODE__INIT;
	rpci_buf ours = {0};
	const Main__Node *p;
	size_t n;
	uint8_t *go = go_stream("nested", &n);
	rpci_msg m;
	int v = 19;

	rd(s, go, n, &m);
	body_ok(s, &m, &T_NODE, &out);
	for (p = &out; p != NULL; p = p->next)
		ck_assert(p->v == v--);
	ck_assert_int_eq(v, -1);
	rpc_codec_gob.msg_clear(s, &m);
	wr(c, "Test.Node", 3, NULL, &T_NODE, &out, &ours);
	expect_bytes("nested stream", ours.data, ours.len, go, n);
	go_reads_ours("nested", ours.data, ours.len);
	rpc_message_free_contents(&out.base);
	free(go);
	rpci_buf_fini(&ours);
	rpc_codec_gob.state_free(s);
	rpc_codec_gob.state_free(c);
}
END_TEST

START_TEST(test_gob_go_replies)
{
	void *s = state(true, MAX_FRAME), *c = state(false, MAX_FRAME);
	Main__Int64Value i64 = MAIN__INT64_VALUE__INIT;
	Main__StringValue str = MAIN__STRING_VALUE__INIT;
	Main__IntList il = MAIN__INT_LIST__INIT;
	Main__ArgsList al = MAIN__ARGS_LIST__INIT;
	Main__StrIntMap mp = MAIN__STR_INT_MAP__INIT;
	Main__Args args = MAIN__ARGS__INIT;
	rpci_buf ours = {0};
	size_t n, pos = 0;
	uint8_t *go = go_stream("replies", &n);
	rpci_msg m;

	pos += rd(c, go + pos, n - pos, &m);
	ck_assert(m.seq == 3);
	body_ok(c, &m, &T_INT64, &i64);
	ck_assert(i64.value == 42);
	wr(s, m.service_method, m.seq, m.error, &T_INT64, &i64, &ours);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, go + pos, n - pos, &m);
	ck_assert_str_eq(m.error, "divide by zero");
	body_ok(c, &m, &T_ARGS, NULL);
	body_ok(c, &m, &T_ARGS, &args); /* struct{} into Args: all zero */
	ck_assert(args.a == 0 && args.b == 0);
	wr(s, m.service_method, m.seq, m.error, NULL, NULL, &ours);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, go + pos, n - pos, &m);
	body_ok(c, &m, &T_ARGS, &args);
	ck_assert(args.a == 3 && args.b == 1);
	wr(s, m.service_method, m.seq, m.error, &T_ARGS, &args, &ours);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, go + pos, n - pos, &m);
	body_ok(c, &m, &T_INTLIST, &il);
	ck_assert(il.n_value == 3 && il.value[0] == 1 && il.value[1] == -2 &&
	          il.value[2] == 3);
	wr(s, m.service_method, m.seq, m.error, &T_INTLIST, &il, &ours);
	rpc_message_free_contents(&il.base);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, go + pos, n - pos, &m);
	body_ok(c, &m, &T_ARGSLIST, &al);
	ck_assert(al.n_value == 2 && al.value[0]->a == 1 &&
	          al.value[1]->b == 2);
	wr(s, m.service_method, m.seq, m.error, &T_ARGSLIST, &al, &ours);
	rpc_message_free_contents(&al.base);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, go + pos, n - pos, &m);
	body_ok(c, &m, &T_STRINTMAP, &mp);
	ck_assert(mp.n_value == 1 && mp.value[0]->value == 1);
	ck_assert_str_eq(mp.value[0]->key, "one");
	wr(s, m.service_method, m.seq, m.error, &T_STRINTMAP, &mp, &ours);
	rpc_message_free_contents(&mp.base);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, go + pos, n - pos, &m);
	body_ok(c, &m, &T_STRING, &str);
	ck_assert_str_eq(str.value, "bare string");
	wr(s, m.service_method, m.seq, m.error, &T_STRING, &str, &ours);
	rpc_message_free_contents(&str.base);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, go + pos, n - pos, &m);
	i64.value = 7;
	body_ok(c, &m, &T_INT64, &i64);
	ck_assert(i64.value == 0); /* a bare zero is sent */
	wr(s, m.service_method, m.seq, m.error, &T_INT64, &i64, &ours);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, go + pos, n - pos, &m);
	body_ok(c, &m, &T_INTLIST, &il);
	ck_assert_uint_eq(il.n_value, 0);
	wr(s, m.service_method, m.seq, m.error, &T_INTLIST, &il, &ours);
	rpc_codec_gob.msg_clear(c, &m);
	ck_assert_uint_eq(pos, n);

	expect_bytes("replies stream", ours.data, ours.len, go, n);
	go_reads_ours("replies", ours.data, ours.len);
	free(go);
	rpci_buf_fini(&ours);
	rpc_codec_gob.state_free(s);
	rpc_codec_gob.state_free(c);
}
END_TEST

/* arr_write writes an array reply as the runtime does: armed (internal.h). */
static void arr_write(void *s, const rpci_msg *m, const rpc_type *t,
                      const void *body, rpci_buf *out)
{
	ProtobufCMessage *armed = NULL;

	ck_assert(rpci_arrays_arm(body, &armed));
	ck_assert_ptr_nonnull(armed);
	wr(s, m->service_method, m->seq, m->error, t, armed, out);
	rpci_message_free(armed);
}

/* Go's [2]int64 and [2]string replies (wireType.ArrayT) decode into our
 * arrays, and ours are Go's bytes. */
START_TEST(test_gob_go_arrays)
{
	void *s = state(true, MAX_FRAME), *c = state(false, MAX_FRAME);
	arrays_Int64Array2 a = ARRAYS_INT64ARRAY2_INIT;
	arrays_StringArray2 sa = ARRAYS_STRINGARRAY2_INIT;
	rpci_buf ours = {0};
	size_t n, pos = 0;
	uint8_t *go = go_stream("arrays", &n);
	rpci_msg m;

	pos += rd(c, go + pos, n - pos, &m);
	body_ok(c, &m, &arrays_Int64Array2_type, &a);
	ck_assert_ptr_null(rpci_arrays_settle(&a.base));
	ck_assert(a.value[0] == 7 && a.value[1] == -8);
	arr_write(s, &m, &arrays_Int64Array2_type, &a, &ours);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, go + pos, n - pos, &m);
	body_ok(c, &m, &arrays_Int64Array2_type, &a);
	ck_assert_ptr_null(rpci_arrays_settle(&a.base));
	ck_assert(a.value[0] == 0 && a.value[1] == 0); /* sent, as zeros */
	arr_write(s, &m, &arrays_Int64Array2_type, &a, &ours);
	rpc_codec_gob.msg_clear(c, &m);

	pos += rd(c, go + pos, n - pos, &m);
	body_ok(c, &m, &arrays_StringArray2_type, &sa);
	ck_assert_ptr_null(rpci_arrays_settle(&sa.base));
	ck_assert_str_eq(sa.value[0], "");
	ck_assert_str_eq(sa.value[1], "b");
	arr_write(s, &m, &arrays_StringArray2_type, &sa, &ours);
	rpc_message_free_contents(&sa.base);
	rpc_codec_gob.msg_clear(c, &m);
	ck_assert_uint_eq(pos, n);

	expect_bytes("arrays stream", ours.data, ours.len, go, n);
	go_reads_ours("arrays", ours.data, ours.len);

	/* Go's [2]int64 read as an int64[1]: refused, as Go does */
	void *c2 = state(false, MAX_FRAME);
	arrays_Int64Array1 one = ARRAYS_INT64ARRAY1_INIT;
	rd(c2, go, n, &m);
	rpc_error *err =
	    rpc_codec_gob.read_body(c2, &m, &arrays_Int64Array1_type,
	                            &one.base);
	rpc_message_free_contents(&one.base);
	rpc_codec_gob.msg_clear(c2, &m);
	rpc_codec_gob.state_free(c2);
	free(go);
	rpci_buf_fini(&ours);
	rpc_codec_gob.state_free(s);
	rpc_codec_gob.state_free(c);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(rpc_error_message(err), "received [2] for [1]"),
	              "%s", rpc_error_message(err));
	rpc_error_free(err);
}
END_TEST

/* ---- end to end over TCP ------------------------------------------------- */

static const rpc_method M_DIVIDE = {"Divide", &T_ARGS, &T_QUO, NULL, 0};
static const rpc_method M_ECHO = {"Echo", &T_EVERY, &T_EVERY, NULL, 0};
static const rpc_method M_MULTIPLY = {"Multiply", &T_ARGS, &T_INT64, NULL, 0};
static const rpc_method M_SUM = {"Sum", &T_INTLIST, &T_INT64, NULL, 0};

/* A Go net/rpc server (gobpeer serve): runs until its stdin closes. */
typedef sup_peer go_server;

static void go_server_start(go_server *g, const char *how)
{
	const char *args[] = {how, NULL};

	ck_assert_msg(sup_peer_start(g, peer(), args),
	              "gobpeer %s printed no address", how);
}

static void go_server_stop(go_server *g)
{
	ck_assert_msg(sup_peer_stop(g), "gobpeer serve did not exit 0");
}

static void call_fails(rpc_client *c, const char *sm, const rpc_method *m,
                       const void *args, void *reply, const char *want)
{
	rpc_error *err = rpc_client_call(c, sm, m, args, reply);

	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SERVER);
	ck_assert_str_eq(rpc_error_message(err), want);
	rpc_error_free(err);
}

static void call_ok(rpc_client *c, const char *sm, const rpc_method *m,
                    const void *args, void *reply)
{
	rpc_error *err = rpc_client_call(c, sm, m, args, reply);

	ck_assert_msg(err == NULL, "%s: %s", sm, rpc_error_message(err));
}

/* _i == 0: plain TCP (rpc.Accept / rpc_dial); 1: HTTP CONNECT
 * (rpc.HandleHTTP / rpc_dial_http). */
START_TEST(test_gob_e2e_c_client_go_server)
{
	rpc_client_options opts = {.codec = &rpc_codec_gob};
	Main__Args a = MAIN__ARGS__INIT;
	Main__Quotient q = MAIN__QUOTIENT__INIT;
	Main__Everything in, out = MAIN__EVERYTHING__INIT;
	Main__IntList il = MAIN__INT_LIST__INIT;
	int64_t nums[] = {1, 2, 3, -10}, prod = 0, prods[20];
	rpc_client *c = NULL;
	rpc_done *done;
	rpc_error *err;
	go_server g;
	int i;

	go_server_start(&g, _i ? "serve-http" : "serve");
	err = _i ? rpc_dial_http(g.addr, NULL, &opts, &c)
	         : rpc_dial(g.addr, &opts, &c);
	ck_assert_msg(err == NULL, "dial %s: %s", g.addr,
	              rpc_error_message(err));

	a.a = 6;
	a.b = 7;
	call_ok(c, "Arith.Multiply", &M_MULTIPLY, &a, &prod);
	ck_assert(prod == 42);
	a.a = 7;
	a.b = 0;
	call_fails(c, "Arith.Divide", &M_DIVIDE, &a, &q, "divide by zero");
	a.a = 17;
	a.b = 5;
	call_ok(c, "Arith.Divide", &M_DIVIDE, &a, &q);
	ck_assert(q.quo == 3 && q.rem == 2);
	fill_everything(&in);
	call_ok(c, "Arith.Echo", &M_ECHO, &in, &out);
	check_everything(&out);
	rpc_message_free_contents(&out.base);
	il.n_value = 4;
	il.value = nums;
	call_ok(c, "Arith.Sum", &M_SUM, &il, &prod);
	ck_assert(prod == -4);
	call_fails(c, "Arith.Nope", &M_MULTIPLY, &a, &prod,
	           "rpc: can't find method Arith.Nope");
	call_fails(c, "Nope.Multiply", &M_MULTIPLY, &a, &prod,
	           "rpc: can't find service Nope.Multiply");
	/* a reply of another type than expected fails that call only */
	a.a = 17;
	a.b = 5;
	err = rpc_client_call(c, "Arith.Divide", &M_MULTIPLY, &a, &prod);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(rpc_error_message(err), "gob: type mismatch") !=
	                  NULL,
	              "%s", rpc_error_message(err));
	rpc_error_free(err);
	a.a = 6;
	a.b = 7;
	call_ok(c, "Arith.Multiply", &M_MULTIPLY, &a, &prod);
	ck_assert(prod == 42);
	/* a reply with an interface field of a type new to the stream, which
	 * Quotient lacks; the connection goes on */
	a.a = 17;
	a.b = 5;
	q = (Main__Quotient)MAIN__QUOTIENT__INIT;
	call_ok(c, "Arith.Tagged", &M_DIVIDE, &a, &q);
	ck_assert(q.quo == 3 && q.rem == 2);
	a.a = 2;
	call_ok(c, "Arith.Multiply", &M_MULTIPLY, &a, &prod);
	ck_assert(prod == 10);

	done = rpc_done_new_queue();
	ck_assert_ptr_nonnull(done);
	for (i = 0; i < 20; i++) {
		Main__Args ai = MAIN__ARGS__INIT;
		ai.a = i;
		ai.b = 3;
		prods[i] = -1;
		err = rpc_client_go(c, "Arith.Multiply", &M_MULTIPLY, &ai,
		                    &prods[i], done, NULL);
		ck_assert_ptr_null(err);
	}
	for (i = 0; i < 20; i++) {
		rpc_call *call = rpc_done_wait(done, 30000);
		ck_assert_ptr_nonnull(call);
		ck_assert_ptr_null(rpc_call_error(call));
		rpc_call_free(call);
	}
	for (i = 0; i < 20; i++)
		ck_assert(prods[i] == 3 * i);
	rpc_done_free(done);
	rpc_client_free(c);
	go_server_stop(&g);
}
END_TEST

/* Our server's Arith, as generated code would dispatch it. Not the suites'
 * Arith (tests/support/sup_arith.h): gobpeer's Go client compares what our
 * server answers with what Go's answers, and Go's Arith has Echo over
 * gobtest.proto's Everything and Sum over a list, with these types' gob
 * names and fields; sup_arith's Echo is over a string and has no Sum. */
static rpc_error *arith_multiply(const void *h, void *self, const void *args,
                                 void *reply)
{
	const Main__Args *a = args;

	(void)h;
	(void)self;
	*(int64_t *)reply = a->a * a->b;
	return NULL;
}

static rpc_error *arith_divide(const void *h, void *self, const void *args,
                               void *reply)
{
	const Main__Args *a = args;
	Main__Quotient *q = reply;

	(void)h;
	(void)self;
	if (a->b == 0)
		return rpc_error_new("divide by zero");
	q->quo = a->a / a->b;
	q->rem = a->a % a->b;
	return NULL;
}

/* Echo copies args into reply through the protobuf encoding, so that
 * everything in reply is malloc'd as the runtime requires. */
static rpc_error *arith_echo(const void *h, void *self, const void *args,
                             void *reply)
{
	const ProtobufCMessage *in = args;
	ProtobufCMessage *copy;
	size_t n = protobuf_c_message_get_packed_size(in);
	uint8_t *buf = malloc(n + 1);

	(void)h;
	(void)self;
	if (buf == NULL)
		return rpc_error_new("out of memory");
	protobuf_c_message_pack(in, buf);
	copy = protobuf_c_message_unpack(in->descriptor, NULL, n, buf);
	free(buf);
	if (copy == NULL)
		return rpc_error_new("cannot copy");
	memcpy(reply, copy, in->descriptor->sizeof_message);
	free(copy);
	return NULL;
}

static rpc_error *arith_sum(const void *h, void *self, const void *args,
                            void *reply)
{
	const Main__IntList *l = args;
	int64_t sum = 0;
	size_t i;

	(void)h;
	(void)self;
	for (i = 0; i < l->n_value; i++)
		sum += l->value[i];
	*(int64_t *)reply = sum;
	return NULL;
}

static const rpc_method arith_methods[] = {
    {"Divide", &T_ARGS, &T_QUO, arith_divide, 0},
    {"Echo", &T_EVERY, &T_EVERY, arith_echo, 0},
    {"Multiply", &T_ARGS, &T_INT64, arith_multiply, 0},
    {"Sum", &T_INTLIST, &T_INT64, arith_sum, 0},
};

static const rpc_service_desc arith_desc = {
    .abi = RPC_ABI_VERSION,
    .name = "Arith",
    .n_methods = 4,
    .methods = arith_methods,
};

START_TEST(test_gob_e2e_go_client_c_server)
{
	rpc_server_options opts = {.codec = &rpc_codec_gob, .threads = 2};
	rpc_server *srv = NULL;
	rpc_error *err;
	sup_server s;
	char target[128];
	uint8_t *ours, *want;
	size_t n, wn;
	go_server g;

	ck_assert_ptr_null(rpc_server_new(&opts, &srv));
	err = rpc_server_register(srv, &arith_desc, &arith_desc, NULL, NULL);
	ck_assert_msg(err == NULL, "register: %s", rpc_error_message(err));
	ck_assert_ptr_null(sup_server_start(&s, srv, "tcp:127.0.0.1:0", _i));

	snprintf(target, sizeof target, "127.0.0.1:%d",
	         rpc_listener_port(s.lis));
	ours = run_peer(_i ? "call-http" : "call", target, NULL, 0, &n);

	go_server_start(&g, _i ? "serve-http" : "serve");
	want = run_peer(_i ? "call-http" : "call", g.addr + 4, NULL, 0, &wn);
	go_server_stop(&g);

	ck_assert_msg(strcmp((char *)ours, (char *)want) == 0,
	              "Go client got from our server:\n%s\nand from Go's:\n%s",
	              (char *)ours, (char *)want);
	ck_assert(strstr((char *)ours, "{\"error\":\"divide by zero\"}") !=
	          NULL);
	if (!_i) {
		free(ours);
		ours = run_peer("call-bad", target, NULL, 0, &n);
		ck_assert_str_eq((char *)ours,
		                 "error: gob: type mismatch: received string, "
		                 "want struct Args\nthen: 42 <nil>\n");
		/* interface values of types new to the stream, in the body of
		 * a method that does not exist and in a field Args lacks:
		 * answered as Go's server answers them, on one connection */
		free(ours);
		ours = run_peer("call-iface", target, NULL, 0, &n);
		go_server_start(&g, "serve");
		free(want);
		want = run_peer("call-iface", g.addr + 4, NULL, 0, &wn);
		go_server_stop(&g);
		ck_assert_str_eq((char *)ours, (char *)want);
		ck_assert_str_eq((char *)ours,
		                 "nope: rpc: can't find method Arith.Nope\n"
		                 "then: 42 <nil>\nextra: 12 <nil>\n"
		                 "then: 10 <nil>\n");
	}
	ck_assert_uint_eq(rpc_server_num_calls(srv, "Arith.Multiply"),
	                  _i ? 21 : 25);

	ck_assert_ptr_null(sup_server_stop(&s));
	rpc_server_free(srv);
	free(ours);
	free(want);
}
END_TEST

/* ---- main ---------------------------------------------------------------- */

static void add_go_tests(TCase *tc);

static Suite *unit_suite(void)
{
	Suite *s = suite_create("gob");
	TCase *tc;

	tc = tcase_create("numbers");
	tcase_add_test(tc, test_gob_uint_encoding);
	tcase_add_test(tc, test_gob_int_encoding);
	tcase_add_test(tc, test_gob_float_encoding);
	tcase_add_test(tc, test_gob_uint_rejects_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("roundtrip");
	tcase_add_test(tc, test_gob_roundtrip_everything);
	tcase_add_test(tc, test_gob_roundtrip_bare_values);
	tcase_add_test(tc, test_gob_optional_zero_arrives_unset);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_add_test(tc, test_gob_types_sent_once);
	tcase_add_test(tc, test_gob_body_counts_of_every_width);
	tcase_add_test(tc, test_gob_read_truncated_asks_again);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_gob_body_wrong_type_keeps_stream);
	tcase_add_test(tc, test_gob_body_out_of_range);
	tcase_add_test(tc, test_gob_absurd_lengths);
	tcase_add_test(tc, test_gob_deep_nesting_bounded);
	tcase_add_test(tc, test_gob_undefined_type_id);
	tcase_add_test(tc, test_gob_bad_type_definitions);
	tcase_add_test(tc, test_gob_interface_type_flood_bounded);
	tcase_add_test(tc, test_gob_mutated_stream_never_crashes);
	tcase_add_test(tc, test_gob_random_input_never_crashes);
	suite_add_tcase(s, tc);

	/* Go's streams from tests/gob/fixtures */
	tc = tcase_create("fixtures");
	add_go_tests(tc);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *interop_suite(void)
{
	Suite *s = suite_create("gob-interop");
	TCase *tc = tcase_create("go");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_gob_go_fixtures_current);
	add_go_tests(tc);
	suite_add_tcase(s, tc);
	return s;
}

static void add_go_tests(TCase *tc)
{
	tcase_add_test(tc, test_gob_go_args);
	tcase_add_test(tc, test_gob_go_everything);
	tcase_add_test(tc, test_gob_go_zero_values);
	tcase_add_test(tc, test_gob_go_maps);
	tcase_add_test(tc, test_gob_go_optionals);
	tcase_add_test(tc, test_gob_go_newer_struct_fields_by_name);
	tcase_add_test(tc, test_gob_go_interface_fields_skipped);
	tcase_add_test(tc, test_gob_go_interface_new_types_in_calls);
	tcase_add_test(tc, test_gob_go_interface_new_type_in_reply);
	tcase_add_test(tc, test_gob_go_recursive_type);
	tcase_add_test(tc, test_gob_go_replies);
	tcase_add_test(tc, test_gob_go_arrays);
}

static Suite *e2e_suite(void)
{
	Suite *s = suite_create("gob-e2e");
	TCase *tc = tcase_create("tcp");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_gob_e2e_c_client_go_server, 0, 2);
	tcase_add_loop_test(tc, test_gob_e2e_go_client_c_server, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "unit";
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	live_go = strcmp(mode, "unit") != 0;
	if (strcmp(mode, "unit") != 0 && peer() == NULL) {
		printf("SKIP: Go toolchain not found; gob %s tests not run\n",
		       mode);
		return 77;
	}
	sr = srunner_create(strcmp(mode, "interop") == 0 ? interop_suite()
	                    : strcmp(mode, "e2e") == 0   ? e2e_suite()
	                                                 : unit_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
