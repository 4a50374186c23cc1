/* test_desc.c - desc.h on its own: kinds and sizes, scalars written at
 * the limits of each C type, presence for each label (required, proto3,
 * optional with and without a has_ flag, repeated, oneof), zero values,
 * the map rule, arrays and Go's names. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "desc.h"
#include "internal.h"
#include "rt.pb-c.h"
#include "rt2.pb-c.h"

static const ProtobufCFieldDescriptor *kinds_field(const char *name)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(
	        &rt2__kinds__descriptor, name);

	ck_assert_ptr_nonnull(f);
	return f;
}

static rpci_scalar int_of(int64_t i)
{
	return (rpci_scalar){.kind = RPCI_KIND_INT, .v.i = i};
}

static rpci_scalar uint_of(uint64_t u)
{
	return (rpci_scalar){.kind = RPCI_KIND_UINT, .v.u = u};
}

static rpci_scalar float_of(double d)
{
	return (rpci_scalar){.kind = RPCI_KIND_FLOAT, .v.d = d};
}

/* zero asks rpci_field_zero about field name of Kinds at p (out of line,
 * so that the compiler does not follow the other kinds' branches into p). */
static __attribute__((noinline)) bool zero(const char *name, const void *p)
{
	return rpci_field_zero(kinds_field(name), p);
}

START_TEST(test_desc_kinds_and_sizes)
{
	static const struct {
		const char *name;
		rpci_kind kind;
		size_t size;
		const char *go;
	} want[] = {
	    {"r32", RPCI_KIND_INT, 4, "int32"},
	    {"u32", RPCI_KIND_UINT, 4, "uint32"},
	    {"i64", RPCI_KIND_INT, 8, "int64"},
	    {"u64", RPCI_KIND_UINT, 8, "uint64"},
	    {"f", RPCI_KIND_FLOAT, sizeof(float), "float32"},
	    {"d", RPCI_KIND_FLOAT, sizeof(double), "float64"},
	    {"b", RPCI_KIND_BOOL, sizeof(protobuf_c_boolean), "bool"},
	    {"e", RPCI_KIND_INT, sizeof(int), "int32"},
	    {"s", RPCI_KIND_STRING, sizeof(char *), "string"},
	    {"y", RPCI_KIND_BYTES, sizeof(ProtobufCBinaryData), "[]uint8"},
	    {"sub", RPCI_KIND_MESSAGE, sizeof(ProtobufCMessage *), NULL},
	    {"list", RPCI_KIND_INT, 4, "int32"},
	};

	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const ProtobufCFieldDescriptor *f = kinds_field(want[i].name);

		ck_assert_msg(rpci_field_kind(f) == want[i].kind, "%s",
		              want[i].name);
		ck_assert_uint_eq(rpci_field_size(f), want[i].size);
		if (want[i].go == NULL)
			ck_assert_ptr_null(rpci_field_go_scalar(f));
		else
			ck_assert_str_eq(rpci_field_go_scalar(f), want[i].go);
	}
}
END_TEST

START_TEST(test_desc_write_int32_limits)
{
	Rt2__Kinds k = RT2__KINDS__INIT;
	const ProtobufCFieldDescriptor *f = kinds_field("o32");
	const ProtobufCFieldDescriptor *e = kinds_field("e");

	ck_assert(rpci_field_write(f, &k.o32, int_of(INT32_MAX)));
	ck_assert_int_eq(k.o32, INT32_MAX);
	ck_assert(!rpci_field_write(f, &k.o32, int_of((int64_t)INT32_MAX + 1)));
	ck_assert_int_eq(k.o32, INT32_MAX); /* a refused write changes nothing */
	ck_assert(rpci_field_write(f, &k.o32, int_of(INT32_MIN)));
	ck_assert_int_eq(k.o32, INT32_MIN);
	ck_assert(!rpci_field_write(f, &k.o32, int_of((int64_t)INT32_MIN - 1)));
	ck_assert(!rpci_field_write(f, &k.o32, int_of(INT64_MIN)));
	ck_assert(!rpci_field_write(f, &k.o32, int_of(INT64_MAX)));
	ck_assert_int_eq(k.o32, INT32_MIN);
	ck_assert_int_eq(rpci_field_read(f, &k.o32).v.i, INT32_MIN);
	ck_assert(rpci_field_read(f, &k.o32).kind == RPCI_KIND_INT);

	/* an enum is an int32 */
	ck_assert(rpci_field_write(e, &k.e, int_of(1)));
	ck_assert_int_eq(k.e, RT2__COLOR__BLUE);
	ck_assert(!rpci_field_write(e, &k.e, int_of((int64_t)INT32_MAX + 1)));
	ck_assert_int_eq(rpci_field_read(e, &k.e).v.i, 1);
}
END_TEST

START_TEST(test_desc_write_uint32_limits)
{
	Rt2__Kinds k = RT2__KINDS__INIT;
	const ProtobufCFieldDescriptor *f = kinds_field("u32");

	ck_assert(rpci_field_write(f, &k.u32, uint_of(UINT32_MAX)));
	ck_assert_uint_eq(k.u32, UINT32_MAX);
	ck_assert(!rpci_field_write(f, &k.u32, uint_of((uint64_t)UINT32_MAX + 1)));
	ck_assert(!rpci_field_write(f, &k.u32, uint_of(UINT64_MAX)));
	ck_assert_uint_eq(k.u32, UINT32_MAX);
	ck_assert(rpci_field_write(f, &k.u32, uint_of(0)));
	ck_assert_uint_eq(rpci_field_read(f, &k.u32).v.u, 0);
}
END_TEST

START_TEST(test_desc_write_64_bit_limits)
{
	Rt2__Kinds k = RT2__KINDS__INIT;
	const ProtobufCFieldDescriptor *i = kinds_field("i64");
	const ProtobufCFieldDescriptor *u = kinds_field("u64");

	ck_assert(rpci_field_write(i, &k.i64, int_of(INT64_MIN)));
	ck_assert_int_eq(rpci_field_read(i, &k.i64).v.i, INT64_MIN);
	ck_assert(rpci_field_write(i, &k.i64, int_of(INT64_MAX)));
	ck_assert_int_eq(k.i64, INT64_MAX);
	ck_assert(rpci_field_write(u, &k.u64, uint_of(UINT64_MAX)));
	ck_assert_uint_eq(rpci_field_read(u, &k.u64).v.u, UINT64_MAX);
}
END_TEST

START_TEST(test_desc_write_float_limits)
{
	Rt2__Kinds k = RT2__KINDS__INIT;
	const ProtobufCFieldDescriptor *f = kinds_field("f");
	const ProtobufCFieldDescriptor *d = kinds_field("d");

	ck_assert(rpci_field_write(f, &k.f, float_of(FLT_MAX)));
	ck_assert(k.f == FLT_MAX);
	ck_assert(rpci_field_write(f, &k.f, float_of(-FLT_MAX)));
	ck_assert(!rpci_field_write(f, &k.f, float_of((double)FLT_MAX * 2)));
	ck_assert(!rpci_field_write(f, &k.f, float_of(-DBL_MAX)));
	ck_assert(k.f == -FLT_MAX);
	ck_assert(rpci_field_write(f, &k.f, float_of(INFINITY)));
	ck_assert(isinf(k.f));
	ck_assert(rpci_field_write(f, &k.f, float_of(NAN)));
	ck_assert(isnan(rpci_field_read(f, &k.f).v.d));
	ck_assert(rpci_field_write(f, &k.f, float_of(1.5)));
	ck_assert(rpci_field_read(f, &k.f).v.d == 1.5);

	ck_assert(rpci_field_write(d, &k.d, float_of(DBL_MAX)));
	ck_assert(rpci_field_read(d, &k.d).v.d == DBL_MAX);
}
END_TEST

START_TEST(test_desc_bool)
{
	Rt2__Kinds k = RT2__KINDS__INIT;
	const ProtobufCFieldDescriptor *f = kinds_field("b");

	ck_assert(rpci_field_write(
	    f, &k.b, (rpci_scalar){.kind = RPCI_KIND_BOOL, .v.b = true}));
	ck_assert_int_eq(k.b, 1);
	ck_assert(rpci_field_read(f, &k.b).v.b);
	k.b = 7; /* any non-zero protobuf_c_boolean is true */
	ck_assert(rpci_field_read(f, &k.b).v.b);
	ck_assert(!zero("b", &k.b));
	k.b = 0;
	ck_assert(!rpci_field_read(f, &k.b).v.b);
	ck_assert(zero("b", &k.b));
}
END_TEST

START_TEST(test_desc_presence_labels)
{
	Rt2__Kinds k = RT2__KINDS__INIT;
	Rt__Args a = RT__ARGS__INIT;
	const ProtobufCFieldDescriptor *req = kinds_field("r32");
	const ProtobufCFieldDescriptor *opt = kinds_field("o32");
	const ProtobufCFieldDescriptor *ostr = kinds_field("s");
	const ProtobufCFieldDescriptor *omsg = kinds_field("sub");
	const ProtobufCFieldDescriptor *obytes = kinds_field("y");
	const ProtobufCFieldDescriptor *list = kinds_field("list");
	const ProtobufCFieldDescriptor *none =
	    protobuf_c_message_descriptor_get_field_by_name(
	        &rt__args__descriptor, "A");
	int32_t elems[2] = {1, 2};

	/* required: no quantifier, always present */
	ck_assert(!rpci_field_quantified(req));
	ck_assert(rpci_field_present(req, &k));
	/* proto3 (label NONE): the same */
	ck_assert_ptr_nonnull(none);
	ck_assert(!rpci_field_quantified(none));
	ck_assert(rpci_field_present(none, &a));
	a.a = 5;
	rpci_field_mark(none, &a); /* nothing to mark */
	rpci_field_unmark(none, &a);
	ck_assert_int_eq(a.a, 5);
	ck_assert_int_eq(a.b, 0);

	/* optional scalar and bytes: a has_ flag */
	ck_assert(rpci_field_has_flag(opt));
	ck_assert(rpci_field_has_flag(obytes));
	ck_assert(rpci_field_quantified(opt));
	ck_assert(!rpci_field_present(opt, &k));
	rpci_field_mark(opt, &k);
	ck_assert_int_eq(k.has_o32, 1);
	ck_assert(rpci_field_present(opt, &k));
	rpci_field_unmark(opt, &k);
	ck_assert_int_eq(k.has_o32, 0);
	ck_assert(!rpci_field_present(opt, &k));

	/* optional string and message: by their pointer, no flag */
	ck_assert(!rpci_field_has_flag(ostr));
	ck_assert(!rpci_field_has_flag(omsg));
	ck_assert(!rpci_field_quantified(ostr));
	ck_assert(rpci_field_present(ostr, &k));
	ck_assert(rpci_field_present(omsg, &k));
	ck_assert(zero("sub", &k.sub));

	/* repeated: its count */
	ck_assert(rpci_field_quantified(list));
	ck_assert(!rpci_field_has_flag(list));
	ck_assert(!rpci_field_present(list, &k));
	k.list = elems;
	k.n_list = 2;
	ck_assert(rpci_field_present(list, &k));
}
END_TEST

START_TEST(test_desc_presence_oneof)
{
	Rt2__Kinds k = RT2__KINDS__INIT;
	const ProtobufCFieldDescriptor *pi = kinds_field("pi");
	const ProtobufCFieldDescriptor *ps = kinds_field("ps");

	ck_assert(rpci_field_is_oneof(pi));
	ck_assert(!rpci_field_has_flag(pi)); /* its case, not a has_ flag */
	ck_assert(rpci_field_quantified(pi));
	ck_assert(!rpci_field_present(pi, &k));
	ck_assert(!rpci_field_present(ps, &k));
	rpci_field_mark(pi, &k);
	ck_assert_int_eq(k.pick_case, RT2__KINDS__PICK_PI);
	ck_assert(rpci_field_present(pi, &k));
	ck_assert(!rpci_field_present(ps, &k));
	rpci_field_mark(ps, &k);
	ck_assert_int_eq(k.pick_case, RT2__KINDS__PICK_PS);
	ck_assert(!rpci_field_present(pi, &k));
	ck_assert(rpci_field_present(ps, &k));
	rpci_field_unmark(ps, &k);
	ck_assert_int_eq(k.pick_case, RT2__KINDS__PICK__NOT_SET);
	ck_assert(!rpci_field_present(ps, &k));
}
END_TEST

START_TEST(test_desc_zero)
{
	Rt2__Kinds k = RT2__KINDS__INIT;
	uint8_t byte = 1;
	char empty[] = "", full[] = "x";

	ck_assert(zero("i64", &k.i64));
	k.i64 = INT64_MIN; /* only the top bit */
	ck_assert(!zero("i64", &k.i64));
	k.u32 = 1u << 31;
	ck_assert(!zero("u32", &k.u32));
	k.d = -0.0;
	ck_assert(zero("d", &k.d));
	k.f = 1e-40f; /* a denormal is not zero */
	ck_assert(!zero("f", &k.f));
	ck_assert(zero("s", &k.s)); /* NULL */
	k.s = empty;
	ck_assert(zero("s", &k.s));
	k.s = full;
	ck_assert(!zero("s", &k.s));
	ck_assert(zero("y", &k.y));
	k.y.data = &byte;
	k.y.len = 1;
	ck_assert(!zero("y", &k.y));
	k.sub = &k;
	ck_assert(!zero("sub", &k.sub));
}
END_TEST

START_TEST(test_desc_map_rule)
{
	const ProtobufCFieldDescriptor *key = NULL, *value = NULL;

	ck_assert(rpci_field_map(kinds_field("m"), &key, &value));
	ck_assert_str_eq(key->name, "key");
	ck_assert_str_eq(value->name, "value");
	ck_assert(rpci_field_map(kinds_field("m"), NULL, NULL));
	/* a list of messages, a list of scalars, a singular message */
	ck_assert(!rpci_field_map(kinds_field("subs"), NULL, NULL));
	ck_assert(!rpci_field_map(kinds_field("list"), NULL, NULL));
	ck_assert(!rpci_field_map(kinds_field("sub"), NULL, NULL));
}
END_TEST

/* An array field as rpcgen-c lays it out: the view, then the array. */
typedef struct desc_arrays {
	ProtobufCMessage base;
	size_t rpci_n_i;
	int32_t *rpci_i;
	int32_t i[3];
	size_t rpci_n_l;
	int64_t *rpci_l;
	int64_t l[2];
	size_t rpci_n_d;
	double *rpci_d;
	double d[2];
	size_t rpci_n_y;
	ProtobufCBinaryData *rpci_y;
	ProtobufCBinaryData y[1];
	size_t rpci_n_s;
	char **rpci_s;
	char *s[2];
} desc_arrays;

static ProtobufCFieldDescriptor array_field(ProtobufCType type, size_t n_at,
                                            size_t view_at, uint32_t len)
{
	return (ProtobufCFieldDescriptor){
	    .name = "x",
	    .id = 1,
	    .label = PROTOBUF_C_LABEL_REPEATED,
	    .type = type,
	    .quantifier_offset = (unsigned)n_at,
	    .offset = (unsigned)view_at,
	    .reserved_flags = len,
	};
}

#define ARRAY_FIELD(type, x, len)                                             \
	array_field(type, offsetof(desc_arrays, rpci_n_##x),                  \
	            offsetof(desc_arrays, rpci_##x), len)

START_TEST(test_desc_arrays)
{
	desc_arrays a;
	ProtobufCFieldDescriptor fi = ARRAY_FIELD(PROTOBUF_C_TYPE_INT32, i, 3);
	ProtobufCFieldDescriptor fl = ARRAY_FIELD(PROTOBUF_C_TYPE_SINT64, l, 2);
	ProtobufCFieldDescriptor fd = ARRAY_FIELD(PROTOBUF_C_TYPE_DOUBLE, d, 2);
	ProtobufCFieldDescriptor fy = ARRAY_FIELD(PROTOBUF_C_TYPE_BYTES, y, 1);
	ProtobufCFieldDescriptor fs = ARRAY_FIELD(PROTOBUF_C_TYPE_STRING, s, 2);
	ProtobufCFieldDescriptor plain = fi;

	memset(&a, 0, sizeof a);
	plain.reserved_flags = 0;
	ck_assert_uint_eq(rpci_array_len(&fi), 3);
	ck_assert_uint_eq(rpci_array_len(&plain), 0);
	ck_assert_ptr_eq(rpci_array_at(&fi, &a), a.i);
	ck_assert_ptr_eq(rpci_array_at(&fl, &a), a.l);
	ck_assert_ptr_eq(rpci_array_at(&fd, &a), a.d);
	ck_assert_ptr_eq(rpci_array_at(&fy, &a), a.y);
	ck_assert_ptr_eq(rpci_array_at(&fs, &a), a.s);
	/* an array is a repeated field to presence: its view's count */
	ck_assert(rpci_field_quantified(&fi));
	ck_assert(!rpci_field_present(&fi, &a));
	a.rpci_n_i = 3;
	a.rpci_i = a.i;
	ck_assert(rpci_field_present(&fi, &a));
	/* a singular field's reserved_flags is not a length */
	plain.label = PROTOBUF_C_LABEL_OPTIONAL;
	plain.reserved_flags = 3;
	ck_assert_uint_eq(rpci_array_len(&plain), 0);
}
END_TEST

START_TEST(test_desc_go_names)
{
	ck_assert_int_eq(rpci_field_go_initial("quo"), 'Q');
	ck_assert_int_eq(rpci_field_go_initial("Quo"), 'Q');
	ck_assert_int_eq(rpci_field_go_initial("_x"), '_');
	ck_assert_int_eq(rpci_field_go_initial("\xc3\xa9t\xc3\xa9"), '\xc3');
	ck_assert(rpci_field_go_named("Quo", "quo"));
	ck_assert(rpci_field_go_named("Quo", "Quo"));
	ck_assert(!rpci_field_go_named("quo", "quo"));
	ck_assert(!rpci_field_go_named("QUO", "quo"));
	ck_assert(!rpci_field_go_named("Qu", "quo"));
	ck_assert(rpci_field_go_named("", ""));
	ck_assert(!rpci_field_go_named("A", ""));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("desc");
	TCase *tc;
	SRunner *sr;
	int failed;

	tc = tcase_create("kinds");
	tcase_add_test(tc, test_desc_kinds_and_sizes);
	tcase_add_test(tc, test_desc_go_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("scalars");
	tcase_add_test(tc, test_desc_write_int32_limits);
	tcase_add_test(tc, test_desc_write_uint32_limits);
	tcase_add_test(tc, test_desc_write_64_bit_limits);
	tcase_add_test(tc, test_desc_write_float_limits);
	tcase_add_test(tc, test_desc_bool);
	tcase_add_test(tc, test_desc_zero);
	suite_add_tcase(s, tc);

	tc = tcase_create("presence");
	tcase_add_test(tc, test_desc_presence_labels);
	tcase_add_test(tc, test_desc_presence_oneof);
	suite_add_tcase(s, tc);

	tc = tcase_create("layout");
	tcase_add_test(tc, test_desc_map_rule);
	tcase_add_test(tc, test_desc_arrays);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
