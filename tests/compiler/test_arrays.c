/* test_arrays.c - fixed-size arrays (golden/arrays.rpc) through librpc:
 * every element kind as a struct field, arrays as arguments and replies,
 * arrays inside lists and nested structs, with each codec (iterations 0, 1,
 * 2: protobuf, gob, JSON) over a socketpair; X_copy and X_equal on arrays;
 * a wrong count refused with an error naming the field, in a request (the
 * server answers that call and serves the next) and in a reply.
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

#include "arrays.rpc.h"
#include "sup_server.h"

/* ---- handlers ------------------------------------------------------------ */

static rpc_error *h_pair(void *self, const arrays_Int64Array2 *in,
                         arrays_Int64Array2 *reply)
{
	(void)self;
	reply->value[0] = in->value[1];
	reply->value[1] = in->value[0];
	return NULL;
}

static rpc_error *h_names(void *self, const arrays_StringArray2 *in,
                          arrays_StringArray2 *reply)
{
	(void)self;
	for (int i = 0; i < 2; i++) {
		reply->value[i] = rpc_strdup(in->value[1 - i]);
		if (reply->value[i] == NULL)
			return rpc_error_new("out of memory");
	}
	return NULL;
}

static rpc_error *h_echo(void *self, const arrays_Fixed *in,
                         arrays_Fixed *reply)
{
	(void)self;
	return arrays_Fixed_copy(reply, in) ? NULL
	                                    : rpc_error_new("out of memory");
}

static rpc_error *h_nest(void *self, const arrays_Outer *in,
                         arrays_Outer *reply)
{
	(void)self;
	return arrays_Outer_copy(reply, in) ? NULL
	                                    : rpc_error_new("out of memory");
}

static rpc_error *h_count(void *self, const arrays_Int64List *in,
                          int64_t *reply)
{
	(void)self;
	*reply = (int64_t)in->n_value;
	return NULL;
}

static rpc_error *h_seq(void *self, int64_t n, arrays_Int64List *reply)
{
	(void)self;
	if (n < 0 || n > 10)
		return rpc_error_new("bad n");
	reply->value = calloc((size_t)n + 1, sizeof *reply->value);
	if (reply->value == NULL)
		return rpc_error_new("out of memory");
	for (int64_t i = 0; i < n; i++)
		reply->value[reply->n_value++] = i + 1;
	return NULL;
}

static rpc_error *h_single(void *self, const arrays_Int64Array1 *in,
                           int64_t *reply)
{
	(void)self;
	*reply = in->value[0];
	return NULL;
}

static const arrays_Arrays_handlers handlers = {
    .Pair = h_pair,
    .Names = h_names,
    .Echo = h_echo,
    .Nest = h_nest,
    .Count = h_count,
    .Seq = h_seq,
    .Single = h_single,
};

/* ---- fixture ------------------------------------------------------------- */

static const rpc_codec *const codecs[] = {&rpc_codec_protobuf, &rpc_codec_gob,
                                          &rpc_codec_json};

typedef sup_pair pair;

static rpc_error *register_arrays(rpc_server *srv, void *ud)
{
	(void)ud;
	return arrays_Arrays_register(srv, &handlers, NULL);
}

static void pair_open(pair *p, const rpc_codec *codec)
{
	ck_assert_ptr_null(sup_pair_open(p, codec, register_arrays, NULL));
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

/* fixed_fill sets every array of f (strings and bytes borrow literals, so
 * f is not freed; the two structs are the caller's, on its stack). */
static void fixed_fill(arrays_Fixed *f, arrays_Pair *p0, arrays_Pair *p1)
{
	static uint8_t blob[] = {0, 1, 2, 0xff};

	f->Bools[1] = 1;
	for (int i = 0; i < 3; i++) {
		f->I32s[i] = -1000 * (i + 1);
		f->Floats[i] = 0.5f * (float)i;
	}
	f->I64s[0] = INT64_MIN;
	f->I64s[1] = INT64_MAX;
	f->U32s[0] = UINT32_MAX;
	f->U64s[1] = UINT64_MAX;
	f->Doubles[0] = -2.25;
	f->Strings[0] = "h\xc3\xa9llo";
	f->Strings[1] = ""; /* an empty element keeps its place */
	f->Blobs[1].data = blob;
	f->Blobs[1].len = sizeof blob;
	f->Levels[0] = ARRAYS_LEVEL_HIGH;
	f->Levels[2] = ARRAYS_LEVEL_MINUS;
	p0->K = "zero";
	p0->V = 0;
	p1->K = "one";
	p1->V = -1;
	f->Pairs[0] = p0;
	f->Pairs[1] = p1;
	f->Tail = 42;
}

/* ---- calls --------------------------------------------------------------- */

START_TEST(test_arrays_value_forms)
{
	pair p;
	pair_open(&p, codecs[_i]);
	arrays_Int64Array2 in = ARRAYS_INT64ARRAY2_INIT;
	arrays_Int64Array2 out = ARRAYS_INT64ARRAY2_INIT;
	in.value[0] = 7;
	in.value[1] = -8;
	expect_ok(arrays_Arrays_Pair(p.cli, &in, &out));
	ck_assert_int_eq(out.value[0], -8);
	ck_assert_int_eq(out.value[1], 7);
	arrays_Int64Array2_free_contents(&out);

	/* zeros, which gob leaves out, come back as zeros */
	in.value[0] = in.value[1] = 0;
	out.value[0] = 5;
	expect_ok(arrays_Arrays_Pair(p.cli, &in, &out));
	ck_assert_int_eq(out.value[0], 0);
	ck_assert_int_eq(out.value[1], 0);

	arrays_Int64Array1 one = ARRAYS_INT64ARRAY1_INIT;
	int64_t got = 0;
	one.value[0] = -77;
	expect_ok(arrays_Arrays_Single(p.cli, &one, &got));
	ck_assert_int_eq(got, -77);

	arrays_StringArray2 s = ARRAYS_STRINGARRAY2_INIT;
	arrays_StringArray2 r = ARRAYS_STRINGARRAY2_INIT;
	s.value[0] = "left";
	s.value[1] = NULL; /* sent as "" */
	expect_ok(arrays_Arrays_Names(p.cli, &s, &r));
	ck_assert_str_eq(r.value[0], "");
	ck_assert_str_eq(r.value[1], "left");
	arrays_StringArray2_free_contents(&r);
	ck_assert_ptr_null(r.value[1]);
	pair_close(&p);
}
END_TEST

START_TEST(test_arrays_every_element_kind)
{
	pair p;
	pair_open(&p, codecs[_i]);
	arrays_Fixed f = ARRAYS_FIXED_INIT, got = ARRAYS_FIXED_INIT;
	arrays_Pair p0 = ARRAYS_PAIR_INIT, p1 = ARRAYS_PAIR_INIT;
	fixed_fill(&f, &p0, &p1);
	expect_ok(arrays_Arrays_Echo(p.cli, &f, &got));
	ck_assert(arrays_Fixed_equal(&f, &got));
	ck_assert_int_eq(got.I64s[0], INT64_MIN);
	ck_assert_uint_eq(got.U64s[1], UINT64_MAX);
	ck_assert_str_eq(got.Strings[0], "h\xc3\xa9llo");
	ck_assert_uint_eq(got.Blobs[1].len, 4);
	ck_assert_uint_eq(got.Blobs[1].data[3], 0xff);
	ck_assert_int_eq(got.Levels[2], ARRAYS_LEVEL_MINUS);
	ck_assert_str_eq(got.Pairs[1]->K, "one");
	ck_assert_int_eq(got.Tail, 42);
	arrays_Fixed_free_contents(&got);

	/* the struct moved by assignment still encodes and frees */
	arrays_Fixed moved = ARRAYS_FIXED_INIT;
	expect_ok(arrays_Arrays_Echo(p.cli, &f, &got));
	moved = got;
	memset(&got, 0, sizeof got);
	ck_assert(arrays_Fixed_equal(&f, &moved));
	expect_ok(arrays_Arrays_Echo(p.cli, &moved, &got));
	ck_assert(arrays_Fixed_equal(&moved, &got));
	arrays_Fixed_free_contents(&moved);
	arrays_Fixed_free_contents(&got);
	pair_close(&p);
}
END_TEST

START_TEST(test_arrays_nested)
{
	pair p;
	pair_open(&p, codecs[_i]);
	arrays_Fixed f1 = ARRAYS_FIXED_INIT, f2 = ARRAYS_FIXED_INIT;
	arrays_Fixed one = ARRAYS_FIXED_INIT;
	arrays_Pair p0 = ARRAYS_PAIR_INIT, p1 = ARRAYS_PAIR_INIT;
	arrays_Fixed *many[] = {&f1, &f2};
	arrays_Outer o = ARRAYS_OUTER_INIT, got = ARRAYS_OUTER_INIT;
	fixed_fill(&f1, &p0, &p1);
	f2.I64s[1] = 99;
	one.Strings[1] = "inner";
	o.n_Many = 2;
	o.Many = many;
	o.One = &one;
	o.Own[0] = -3;
	expect_ok(arrays_Arrays_Nest(p.cli, &o, &got));
	ck_assert(arrays_Outer_equal(&o, &got));
	ck_assert_uint_eq(got.n_Many, 2);
	ck_assert_int_eq(got.Many[1]->I64s[1], 99);
	ck_assert_str_eq(got.One->Strings[1], "inner");
	ck_assert_int_eq(got.Own[0], -3);
	arrays_Outer_free_contents(&got);
	pair_close(&p);
}
END_TEST

/* A list of 3 sent to a method whose argument is int64[2]: the server
 * refuses that call, naming the field, and serves the next. */
START_TEST(test_arrays_wrong_count_request)
{
	pair p;
	pair_open(&p, codecs[_i]);
	const rpc_method liar = {.name = "Pair",
	                         .args = &arrays_Int64List_type,
	                         .reply = &arrays_Int64Array2_type};
	int64_t three[] = {1, 2, 3};
	arrays_Int64List in = ARRAYS_INT64LIST_INIT;
	arrays_Int64Array2 out = ARRAYS_INT64ARRAY2_INIT;
	in.n_value = 3;
	in.value = three;
	rpc_error *err =
	    rpc_client_call(p.cli, "Arrays.Pair", &liar, &in, &out);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SERVER);
	ck_assert_msg(strstr(rpc_error_message(err), "value has 3 elements; "
	                                             "its array type has 2"),
	              "%s", rpc_error_message(err));
	rpc_error_free(err);
	/* none at all is an absent array: zeros */
	in.n_value = 0;
	out.value[0] = 5;
	expect_ok(rpc_client_call(p.cli, "Arrays.Pair", &liar, &in, &out));
	ck_assert_int_eq(out.value[0], 0);
	/* the connection lives on */
	arrays_Int64Array2 two = ARRAYS_INT64ARRAY2_INIT;
	two.value[0] = 1;
	expect_ok(arrays_Arrays_Pair(p.cli, &two, &out));
	ck_assert_int_eq(out.value[1], 1);
	pair_close(&p);
}
END_TEST

/* A reply of 3 read as int64[2]: the call fails naming the field. */
START_TEST(test_arrays_wrong_count_reply)
{
	pair p;
	pair_open(&p, codecs[_i]);
	const rpc_method liar = {.name = "Seq",
	                         .args = &arrays_Int64Value_type,
	                         .reply = &arrays_Int64Array2_type};
	arrays_Int64Array2 out = ARRAYS_INT64ARRAY2_INIT;
	int64_t n = 3;
	rpc_error *err = rpc_client_call(p.cli, "Arrays.Seq", &liar, &n, &out);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(rpc_error_message(err), "value has 3 elements; "
	                                             "its array type has 2"),
	              "%s", rpc_error_message(err));
	rpc_error_free(err);
	n = 2;
	expect_ok(rpc_client_call(p.cli, "Arrays.Seq", &liar, &n, &out));
	ck_assert_int_eq(out.value[0], 1);
	ck_assert_int_eq(out.value[1], 2);
	pair_close(&p);
}
END_TEST

/* ---- copy and equal ------------------------------------------------------ */

START_TEST(test_arrays_copy_equal)
{
	arrays_Fixed f = ARRAYS_FIXED_INIT, c = ARRAYS_FIXED_INIT;
	arrays_Pair p0 = ARRAYS_PAIR_INIT, p1 = ARRAYS_PAIR_INIT;
	fixed_fill(&f, &p0, &p1);
	ck_assert(arrays_Fixed_copy(&c, &f));
	ck_assert(arrays_Fixed_equal(&f, &c));
	ck_assert_ptr_ne(c.Strings[0], f.Strings[0]); /* a deep copy */
	ck_assert_ptr_ne(c.Pairs[1], f.Pairs[1]);
	c.I32s[2]++;
	ck_assert(!arrays_Fixed_equal(&f, &c));
	c.I32s[2]--;
	c.Pairs[1]->V = 7;
	ck_assert(!arrays_Fixed_equal(&f, &c));
	c.Pairs[1]->V = -1;
	c.Blobs[1].data[0] = 9;
	ck_assert(!arrays_Fixed_equal(&f, &c));
	arrays_Fixed_free_contents(&c);
	ck_assert_ptr_null(c.Pairs[0]);
	ck_assert_int_eq(c.Tail, 0);
}
END_TEST

static Suite *arrays_suite(void)
{
	Suite *s = suite_create("arrays");
	TCase *calls = tcase_create("calls");
	tcase_set_timeout(calls, 60);
	tcase_add_loop_test(calls, test_arrays_value_forms, 0, 3);
	tcase_add_loop_test(calls, test_arrays_every_element_kind, 0, 3);
	tcase_add_loop_test(calls, test_arrays_nested, 0, 3);
	suite_add_tcase(s, calls);
	TCase *bad = tcase_create("wrong_count");
	tcase_set_timeout(bad, 60);
	tcase_add_loop_test(bad, test_arrays_wrong_count_request, 0, 3);
	tcase_add_loop_test(bad, test_arrays_wrong_count_reply, 0, 3);
	suite_add_tcase(s, bad);
	TCase *copy = tcase_create("copy");
	tcase_add_test(copy, test_arrays_copy_equal);
	suite_add_tcase(s, copy);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(arrays_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
