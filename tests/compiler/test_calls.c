/* test_calls.c - the checked-in golden all.rpc.c and common.rpc.c, linked
 * with librpc, make real calls: every argument and reply form (struct,
 * scalar, string, bytes, enum, list, map, imported struct) through the
 * generated stubs, trampolines and method tables, over a socketpair, with
 * each codec (iterations 0, 1, 2: protobuf, gob, JSON).
 *
 * The server serves one end of a socketpair in a thread of the test; the
 * client owns the other end. Both are freed, and the thread joined, before
 * each test ends.
 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "all.rpc.h"
#include "all_handlers.h"
#include "sup_server.h"

/* ---- handlers ------------------------------------------------------------ */

static rpc_error *arith_tally(void *self, const all_Everything *e,
                              all_StringInt64Map *reply)
{
	(void)self;
	const char *keys[] = {"nums", "names", "maybe"};
	int64_t vals[] = {(int64_t)e->n_Nums, (int64_t)e->n_Names,
	                  e->has_Maybe ? e->Maybe : -1};
	reply->value = calloc(3, sizeof *reply->value);
	if (reply->value == NULL)
		return rpc_error_new("out of memory");
	for (size_t i = 0; i < 3; i++) {
		all_StringInt64Map_ValueEntry *ent = malloc(sizeof *ent);
		if (ent == NULL)
			return rpc_error_new("out of memory");
		all_StringInt64Map_ValueEntry_init(ent);
		ent->key = rpc_strdup(keys[i]);
		ent->value = vals[i];
		reply->value[reply->n_value++] = ent;
	}
	return NULL;
}

static rpc_error *arith_move(void *self, const common_Point *p,
                             common_Point *reply)
{
	(void)self;
	reply->X = p->X + 1;
	reply->Y = p->Y - 1;
	return NULL;
}

static rpc_error *arith_echo(void *self, const char *s,
                             ProtobufCBinaryData *reply)
{
	(void)self;
	reply->len = strlen(s);
	reply->data = (uint8_t *)rpc_strdup(s);
	return NULL;
}

static rpc_error *arith_expand(void *self, all_Op op, all_ArgsList *reply)
{
	(void)self;
	size_t n = op == ALL_OP_NEG ? 2 : 1;
	reply->value = calloc(n, sizeof *reply->value);
	if (reply->value == NULL)
		return rpc_error_new("out of memory");
	for (size_t i = 0; i < n; i++) {
		all_Args *a = malloc(sizeof *a);
		if (a == NULL)
			return rpc_error_new("out of memory");
		all_Args_init(a);
		a->A = (int64_t)op;
		a->B = (int64_t)i;
		reply->value[reply->n_value++] = a;
	}
	return NULL;
}

static rpc_error *echo_echo(void *self, const char *in, char **out)
{
	(void)self;
	*out = rpc_strdup(in);
	return NULL;
}

static const all_Arith_handlers arith_handlers = {
    .Multiply = arith_multiply,
    .Divide = arith_divide,
    .Negate = arith_negate,
    .Sort = arith_sort,
    .Sum = arith_sum,
    .Tally = arith_tally,
    .Move = arith_move,
    .Echo = arith_echo,
    .Expand = arith_expand,
};

static const all_Echo_handlers echo_handlers = {.Echo = echo_echo};
static const all_Echo_handlers no_handlers = {.Echo = NULL};

static rpc_error *config_echo(void *self, const all_Defaults *d,
                              all_Defaults *reply)
{
	(void)self;
	return all_Defaults_copy(reply, d) ? NULL
	                                   : rpc_error_new("out of memory");
}

static const all_Config_handlers config_handlers = {.Echo = config_echo};

/* ---- fixture ------------------------------------------------------------- */

static const rpc_codec *const codecs[] = {&rpc_codec_protobuf, &rpc_codec_gob,
                                          &rpc_codec_json};

typedef sup_pair pair;

/* register_all serves every service of all.rpc, and Echo again as "Nope"
 * with no handlers */
static rpc_error *register_all(rpc_server *srv, void *ud)
{
	(void)ud;
	ck_assert_ptr_null(all_Arith_register(srv, &arith_handlers, NULL));
	ck_assert_ptr_null(all_Echo_register(srv, &echo_handlers, NULL));
	ck_assert_ptr_null(all_Config_register(srv, &config_handlers, NULL));
	ck_assert_ptr_null(all_Shapes_register(srv, &shapes_handlers, NULL));
	ck_assert_ptr_null(
	    all_Echo_register_name(srv, "Nope", &no_handlers, NULL));
	rpc_error *dup = all_Echo_register(srv, &echo_handlers, NULL);
	ck_assert_ptr_nonnull(dup); /* a name is registered once */
	rpc_error_free(dup);
	return NULL;
}

static void pair_open(pair *p, const rpc_codec *codec)
{
	ck_assert_ptr_null(sup_pair_open(p, codec, register_all, NULL));
}

static void pair_close(pair *p)
{
	sup_pair_close(p);
}

static void expect_ok(rpc_error *err)
{
	ck_assert_msg(err == NULL, "call failed: %s",
	              err ? rpc_error_message(err) : "");
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_calls_struct_and_scalar_forms)
{
	pair p;
	pair_open(&p, codecs[_i]);
	all_Args args = ALL_ARGS_INIT;
	args.A = 7;
	args.B = -8;
	int64_t product = 0;
	expect_ok(all_Arith_Multiply(p.cli, &args, &product));
	ck_assert_int_eq(product, -56);

	all_Quotient q = ALL_QUOTIENT_INIT;
	args.A = 17;
	args.B = 5;
	expect_ok(all_Arith_Divide(p.cli, &args, &q));
	ck_assert_int_eq(q.Quo, 3);
	ck_assert_int_eq(q.Rem, 2);
	all_Quotient_free_contents(&q);

	int64_t neg = 0;
	expect_ok(all_Arith_Negate(p.cli, INT64_MAX, &neg));
	ck_assert_int_eq(neg, -INT64_MAX);

	common_Point pt = COMMON_POINT_INIT, moved = COMMON_POINT_INIT;
	pt.X = 10;
	pt.Y = 20;
	expect_ok(all_Arith_Move(p.cli, &pt, &moved));
	ck_assert_int_eq(moved.X, 11);
	ck_assert_int_eq(moved.Y, 19);
	common_Point_free_contents(&moved);
	pair_close(&p);
}
END_TEST

START_TEST(test_calls_string_bytes_and_enum_forms)
{
	pair p;
	pair_open(&p, codecs[_i]);
	ProtobufCBinaryData blob = {0, NULL};
	expect_ok(all_Arith_Echo(p.cli, "h\xc3\xa9llo", &blob));
	ck_assert_uint_eq(blob.len, 6);
	ck_assert_mem_eq(blob.data, "h\xc3\xa9llo", 6);
	rpc_value_free_contents(&all_BytesValue_type, &blob);

	char *out = NULL;
	expect_ok(all_Echo_Echo(p.cli, "ping", &out));
	ck_assert_str_eq(out, "ping");
	rpc_value_free_contents(&all_StringValue_type, &out);

	all_ArgsList list = ALL_ARGSLIST_INIT;
	expect_ok(all_Arith_Expand(p.cli, ALL_OP_NEG, &list));
	ck_assert_uint_eq(list.n_value, 2);
	ck_assert_int_eq(list.value[0]->A, -1);
	ck_assert_int_eq(list.value[1]->B, 1);
	all_ArgsList_free_contents(&list);
	ck_assert_uint_eq(list.n_value, 0);
	pair_close(&p);
}
END_TEST

START_TEST(test_calls_list_and_map_forms)
{
	pair p;
	pair_open(&p, codecs[_i]);
	int64_t nums[] = {3, -1, 2};
	all_Int64List in = ALL_INT64LIST_INIT, sorted = ALL_INT64LIST_INIT;
	in.n_value = 3;
	in.value = nums;
	expect_ok(all_Arith_Sort(p.cli, &in, &sorted));
	ck_assert_uint_eq(sorted.n_value, 3);
	ck_assert_int_eq(sorted.value[0], -1);
	ck_assert_int_eq(sorted.value[2], 3);
	all_Int64List_free_contents(&sorted);

	all_StringInt64Map_ValueEntry e1 = ALL_STRINGINT64MAP_VALUEENTRY_INIT;
	all_StringInt64Map_ValueEntry e2 = ALL_STRINGINT64MAP_VALUEENTRY_INIT;
	all_StringInt64Map_ValueEntry *ents[] = {&e1, &e2};
	e1.key = "a";
	e1.value = 40;
	e2.key = "b";
	e2.value = 2;
	all_StringInt64Map m = ALL_STRINGINT64MAP_INIT;
	m.n_value = 2;
	m.value = ents;
	all_Quotient q = ALL_QUOTIENT_INIT;
	expect_ok(all_Arith_Sum(p.cli, &m, &q));
	ck_assert_int_eq(q.Quo, 42);
	ck_assert_int_eq(q.Rem, 2);

	all_Everything e = ALL_EVERYTHING_INIT;
	char *names[] = {"x"};
	e.n_Nums = 3;
	e.Nums = nums;
	e.n_Names = 1;
	e.Names = names;
	e.has_Maybe = 1;
	e.Maybe = 0;
	all_StringInt64Map tally = ALL_STRINGINT64MAP_INIT;
	expect_ok(all_Arith_Tally(p.cli, &e, &tally));
	ck_assert_uint_eq(tally.n_value, 3);
	for (size_t i = 0; i < tally.n_value; i++) {
		const all_StringInt64Map_ValueEntry *t = tally.value[i];
		if (strcmp(t->key, "nums") == 0)
			ck_assert_int_eq(t->value, 3);
		else if (strcmp(t->key, "names") == 0)
			ck_assert_int_eq(t->value, 1);
		else if (codecs[_i] != &rpc_codec_gob)
			ck_assert_int_eq(t->value, 0); /* optional set to 0 */
		/* gob, like Go, never sends a zero value: an optional set
		 * to 0 arrives unset */
	}
	all_StringInt64Map_free_contents(&tally);
	pair_close(&p);
}
END_TEST

START_TEST(test_calls_errors_reach_the_client)
{
	pair p;
	pair_open(&p, codecs[_i]);
	all_Args args = ALL_ARGS_INIT;
	args.A = 1;
	all_Quotient q = ALL_QUOTIENT_INIT;
	rpc_error *err = all_Arith_Divide(p.cli, &args, &q);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SERVER);
	ck_assert_str_eq(rpc_error_message(err), "divide by zero");
	rpc_error_free(err);

	/* a NULL handler, registered under another name */
	const char *in = "x";
	char *out = NULL;
	err = rpc_client_call(p.cli, "Nope.Echo", &all_Echo_service.methods[0],
	                      &in, &out);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(rpc_error_message(err),
	                 "rpc: method Echo.Echo not implemented");
	rpc_error_free(err);
	ck_assert_ptr_null(out);
	pair_close(&p);
}
END_TEST

START_TEST(test_calls_go_completes_through_done)
{
	pair p;
	pair_open(&p, codecs[_i]);
	rpc_done *done = rpc_done_new_queue();
	ck_assert_ptr_nonnull(done);
	int64_t r1 = 0, r2 = 0;
	all_Args args = ALL_ARGS_INIT;
	args.A = 6;
	args.B = 7;
	rpc_call *c1 = NULL, *c2 = NULL;
	expect_ok(all_Arith_Multiply_go(p.cli, &args, &r1, done, &c1));
	expect_ok(all_Arith_Negate_go(p.cli, 5, &r2, done, &c2));
	ck_assert_ptr_nonnull(c1);
	ck_assert_ptr_nonnull(c2);
	for (int i = 0; i < 2; i++) {
		rpc_call *c = rpc_done_wait(done, 60000);
		ck_assert_ptr_nonnull(c);
		ck_assert(c == c1 || c == c2);
		rpc_call_free(c);
	}
	ck_assert_int_eq(r1, 42);
	ck_assert_int_eq(r2, -5);
	pair_close(&p);
	rpc_done_free(done);
}
END_TEST

START_TEST(test_calls_opts_service_reaches_a_service_registered_under_another_name)
{
	pair p;
	pair_open(&p, codecs[_i]);
	/* Go's RegisterName("net.rpc.Arith", ...) */
	ck_assert_ptr_null(all_Arith_register_name(p.srv, "net.rpc.Arith",
	                                           &arith_handlers, NULL));
	all_Args args = ALL_ARGS_INIT;
	args.A = 6;
	args.B = 7;
	int64_t r = 0;
	rpc_call_options go_name = {.service = "net.rpc.Arith"};
	expect_ok(all_Arith_Multiply_opts(p.cli, &go_name, &args, &r));
	ck_assert_int_eq(r, 42);

	/* a name longer than the stubs' stack buffer */
	char name[300];
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	ck_assert_ptr_null(
	    all_Arith_register_name(p.srv, name, &arith_handlers, NULL));
	all_Quotient q = ALL_QUOTIENT_INIT;
	rpc_call_options long_name = {.service = name};
	expect_ok(all_Arith_Divide_opts(p.cli, &long_name, &args, &q));
	ck_assert_int_eq(q.Quo, 0);
	ck_assert_int_eq(q.Rem, 6);

	/* asynchronous */
	rpc_done *done = rpc_done_new_queue();
	ck_assert_ptr_nonnull(done);
	r = 0;
	rpc_call *call = NULL;
	expect_ok(all_Arith_Negate_go_opts(p.cli, &go_name, 5, &r, done, &call));
	rpc_call *c = rpc_done_wait(done, 60000);
	ck_assert_ptr_eq(c, call);
	ck_assert_str_eq(rpc_call_service_method(c), "net.rpc.Arith.Negate");
	ck_assert_ptr_null(rpc_call_error(c));
	rpc_call_free(c);
	ck_assert_int_eq(r, -5);

	/* a name nobody registered: the server says so */
	rpc_call_options nobody = {.service = "Nobody"};
	rpc_error *err = all_Arith_Multiply_opts(p.cli, &nobody, &args, &r);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SERVER);
	ck_assert_str_eq(rpc_error_message(err),
	                 "rpc: can't find service Nobody.Multiply");
	rpc_error_free(err);
	pair_close(&p);
	rpc_done_free(done);
}
END_TEST

/* [default = V] fields: a value, 0 included, travels as it is on every
 * codec; a field the sender leaves out reads back as its default on
 * protobuf and as zero on gob and JSON (Go's meaning of a missing field). */
START_TEST(test_calls_defaults_travel)
{
	pair p;
	pair_open(&p, codecs[_i]);
	all_Defaults d, r;

	/* the defaults themselves */
	all_Defaults_init(&d);
	ck_assert_int_eq(d.Retries, 3);
	ck_assert_str_eq(d.Name, "anon");
	all_Defaults_init(&r);
	expect_ok(all_Config_Echo(p.cli, &d, &r));
	ck_assert(all_Defaults_equal(&d, &r));
	all_Defaults_free_contents(&r);

	/* zeros are not turned into defaults */
	d.Retries = 0;
	d.Offset = 0;
	d.Port = 0;
	d.Big = 0;
	d.Verbose = false;
	d.Name = (char *)"";
	d.Kind = ALL_OP_ADD;
	d.Plain = 0;
	d.Ratio = 0;
	d.Scale = 0;
	all_Defaults_init(&r);
	expect_ok(all_Config_Echo(p.cli, &d, &r));
	ck_assert_int_eq(r.Retries, 0);
	ck_assert_int_eq(r.Offset, 0);
	ck_assert_uint_eq(r.Port, 0);
	ck_assert_uint_eq(r.Big, 0);
	ck_assert_int_eq(r.Verbose, 0);
	ck_assert_str_eq(r.Name, "");
	ck_assert_int_eq(r.Kind, ALL_OP_ADD);
	ck_assert(r.Ratio == 0.0f && r.Scale == 0.0);
	all_Defaults_free_contents(&r);

	/* a peer that knows only Retries and Plain, at the top and in a
	 * nested struct */
	all_Partial part, inner;
	all_Partial *more[1] = {&inner};
	all_Partial_init(&part);
	all_Partial_init(&inner);
	part.Retries = 5;
	part.Plain = 9;
	inner.Retries = 6;
	part.n_More = 1;
	part.More = more;
	rpc_method m = {.name = "Echo",
	                .args = &all_Partial_type,
	                .reply = &all_Defaults_type};
	all_Defaults_init(&r);
	expect_ok(rpc_client_call(p.cli, "Config.Echo", &m, &part, &r));
	ck_assert_int_eq(r.Retries, 5);
	ck_assert_int_eq(r.Plain, 9);
	ck_assert_uint_eq(r.n_More, 1);
	ck_assert_int_eq(r.More[0]->Retries, 6);
	bool pb = codecs[_i] == &rpc_codec_protobuf;
	ck_assert_int_eq(r.More[0]->Port, (pb ? 8080 : 0));
	ck_assert_str_eq(r.More[0]->Name, (pb ? "anon" : ""));
	if (codecs[_i] == &rpc_codec_protobuf) {
		ck_assert_int_eq(r.Offset, -1);
		ck_assert_uint_eq(r.Port, 8080);
		ck_assert_uint_eq(r.Big, UINT64_MAX);
		ck_assert_int_eq(r.Verbose, 1);
		ck_assert_str_eq(r.Name, "anon");
		ck_assert_int_eq(r.Kind, ALL_OP_MUL);
		ck_assert(r.Ratio == 0.5f);
		ck_assert(r.Scale == -2500.0);
	} else {
		ck_assert_int_eq(r.Offset, 0);
		ck_assert_uint_eq(r.Port, 0);
		ck_assert_uint_eq(r.Big, 0);
		ck_assert_int_eq(r.Verbose, 0);
		ck_assert_str_eq(r.Name, "");
		ck_assert_int_eq(r.Kind, ALL_OP_ADD);
		ck_assert(r.Ratio == 0.0f);
		ck_assert(r.Scale == 0.0);
	}
	all_Defaults_free_contents(&r);
	pair_close(&p);
}
END_TEST

/* consts are C constant expressions of their type's width, usable in #if
 * (integers, bools) and in static initialisers */
#if ALL_ALL_BITS != 0xFFFFFFFFFFFFFFFFu || ALL_MIN_BALANCE != INT64_MIN ||      \
    ALL_MAX_ITEMS != 100 || ALL_PORT != 8080u || ALL_VERBOSE
#error "the consts of all.rpc are not what it says"
#endif
_Static_assert(sizeof(ALL_HALF) == sizeof(float), "float const is float");
_Static_assert(sizeof(ALL_ALL_BITS) == 8, "uint64 const is 64 bits");

/* A oneof travels with each member kind set and with none: the server
 * sees the case (Which) and echoes the member back (Echo). */
START_TEST(test_calls_oneof_members_travel)
{
	pair p;
	pair_open(&p, codecs[_i]);
	for (int k = 0; k < SHAPE_KINDS; k++) {
		all_Shape s = ALL_SHAPE_INIT, r = ALL_SHAPE_INIT;
		all_Args box = ALL_ARGS_INIT;
		uint8_t raw[2];
		char *which = NULL;

		shape_make(&s, k, &box, raw);
		expect_ok(all_Shapes_Echo(p.cli, &s, &r));
		ck_assert_msg(all_Shape_equal(&s, &r), "kind %d", k);
		ck_assert_int_eq(r.kind_case, s.kind_case);
		ck_assert_int_eq(r.Tail, 40 + k);
		expect_ok(all_Shapes_Which(p.cli, &s, &which));
		ck_assert_str_eq(which, shape_member(&s));
		free(which);
		all_Shape_free_contents(&r);
	}
	pair_close(&p);
}
END_TEST

/* A member set to its zero value: protobuf and JSON keep it set; gob, as
 * Go's gob does with a pointer to zero, leaves it out, so it arrives
 * unset (docs/mapping.md). */
START_TEST(test_calls_oneof_zero_member)
{
	pair p;
	pair_open(&p, codecs[_i]);
	bool gob = codecs[_i] == &rpc_codec_gob;
	all_Shape s = ALL_SHAPE_INIT, r = ALL_SHAPE_INIT;
	all_Args box = ALL_ARGS_INIT;

	s.kind_case = ALL_SHAPE_KIND_RADIUS;
	s.Radius = 0;
	expect_ok(all_Shapes_Echo(p.cli, &s, &r));
	ck_assert_int_eq(r.kind_case,
	                 gob ? ALL_SHAPE_KIND__NOT_SET : ALL_SHAPE_KIND_RADIUS);
	all_Shape_free_contents(&r);
	s.kind_case = ALL_SHAPE_KIND_LABEL;
	s.Label = (char *)"";
	expect_ok(all_Shapes_Echo(p.cli, &s, &r));
	ck_assert_int_eq(r.kind_case,
	                 gob ? ALL_SHAPE_KIND__NOT_SET : ALL_SHAPE_KIND_LABEL);
	if (!gob)
		ck_assert_str_eq(r.Label, "");
	all_Shape_free_contents(&r);
	/* an empty struct is a non-nil pointer: sent by every codec */
	s.kind_case = ALL_SHAPE_KIND_BOX;
	s.Box = &box;
	expect_ok(all_Shapes_Echo(p.cli, &s, &r));
	ck_assert_int_eq(r.kind_case, ALL_SHAPE_KIND_BOX);
	ck_assert_ptr_nonnull(r.Box);
	ck_assert_int_eq(r.Box->A, 0);
	all_Shape_free_contents(&r);
	pair_close(&p);
}
END_TEST

START_TEST(test_calls_consts_are_c_constants)
{
	static const char greeting[] = ALL_GREETING;
	ck_assert_str_eq(greeting, "hello \"world\"\t?" "?!");
	ck_assert(ALL_HALF == -0.5f);
	ck_assert(ALL_PI > 3.14159265358 && ALL_PI < 3.1415926536);
	ck_assert(ALL_AVOGADRO == 6.02214076e23);
	ck_assert(ALL_MIN_BALANCE < 0);
}
END_TEST

static Suite *calls_suite(void)
{
	Suite *s = suite_create("calls");
	int n = (int)(sizeof codecs / sizeof codecs[0]);
	TCase *tc = tcase_create("forms");
	tcase_add_loop_test(tc, test_calls_struct_and_scalar_forms, 0, n);
	tcase_add_loop_test(tc, test_calls_string_bytes_and_enum_forms, 0, n);
	tcase_add_loop_test(tc, test_calls_list_and_map_forms, 0, n);
	tcase_add_loop_test(tc, test_calls_defaults_travel, 0, n);
	tcase_add_loop_test(tc, test_calls_oneof_members_travel, 0, n);
	tcase_add_loop_test(tc, test_calls_oneof_zero_member, 0, n);
	tcase_add_test(tc, test_calls_consts_are_c_constants);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_calls_errors_reach_the_client, 0, n);
	suite_add_tcase(s, tc);
	tc = tcase_create("async");
	tcase_add_loop_test(tc, test_calls_go_completes_through_done, 0, n);
	suite_add_tcase(s, tc);
	tc = tcase_create("named");
	tcase_add_loop_test(
	    tc, test_calls_opts_service_reaches_a_service_registered_under_another_name,
	    0, n);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(calls_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
