/* test_message.c - the error model, freeing decoded messages, value
 * wrappers. Run under valgrind or ASan: a leak or a bad free fails. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rt.pb-c.h"
#include "rt2.pb-c.h"

static const rpc_type type_string = {"string", &rt__string__descriptor,
                                     RPC_FORM_VALUE};
static const rpc_type type_bytes = {"bytes", &rt__bytes__descriptor,
                                    RPC_FORM_VALUE};
static const rpc_type type_bool = {"bool", &rt__bool__descriptor,
                                   RPC_FORM_VALUE};
static const rpc_type type_list = {"list<int64>", &rt__int64_list__descriptor,
                                   RPC_FORM_WRAPPED};

START_TEST(test_error_kinds_and_messages)
{
	rpc_error *e;

	ck_assert_str_eq(rpc_error_kind_name(RPC_ERR_SHUTDOWN),
	                 "RPC_ERR_SHUTDOWN");
	ck_assert_ptr_null(rpc_error_kind_name((rpc_error_kind)999));
	e = rpci_error(RPC_ERR_SHUTDOWN, NULL);
	ck_assert_str_eq(rpc_error_message(e), "connection is shut down");
	rpc_error_free(e);
	e = rpci_error(RPC_ERR_UNEXPECTED_EOF, NULL);
	ck_assert_str_eq(rpc_error_message(e), "unexpected EOF");
	ck_assert_int_eq(rpc_error_errno(e), 0);
	rpc_error_free(e);
	e = rpc_error_new("division by %s", "zero");
	ck_assert_int_eq(rpc_error_kind_of(e), RPC_ERR_SERVER);
	ck_assert_str_eq(rpc_error_message(e), "division by zero");
	rpc_error_free(e);
	ck_assert_int_eq(rpc_error_kind_of(NULL), RPC_OK);
	rpc_error_free(NULL);
}
END_TEST

START_TEST(test_error_errno_and_dup)
{
	rpc_error *e = rpci_error_errno(ECONNREFUSED, "rpc: dial"), *d;

	ck_assert_int_eq(rpc_error_kind_of(e), RPC_ERR_IO);
	ck_assert_int_eq(rpc_error_errno(e), ECONNREFUSED);
	ck_assert_str_eq(rpc_error_message(e), "rpc: dial: Connection refused");
	d = rpci_error_dup(e);
	ck_assert_ptr_ne(d, e);
	ck_assert_int_eq(rpc_error_kind_of(d), RPC_ERR_IO);
	ck_assert_int_eq(rpc_error_errno(d), ECONNREFUSED);
	ck_assert_str_eq(rpc_error_message(d), rpc_error_message(e));
	rpc_error_free(e);
	rpc_error_free(d);
	ck_assert_ptr_null(rpci_error_dup(NULL));
}
END_TEST

START_TEST(test_error_oom_is_static)
{
	rpc_error *e = rpci_error_errno(ENOMEM, "x");

	ck_assert_int_eq(rpc_error_kind_of(e), RPC_ERR_NOMEM);
	ck_assert_str_eq(rpc_error_message(e), "rpc: out of memory");
	ck_assert_ptr_eq(rpci_error_dup(e), e);
	rpc_error_free(e); /* ignored */
	ck_assert_str_eq(rpc_error_message(e), "rpc: out of memory");
}
END_TEST

/* everything_packed builds a message with every kind of allocated field and
 * returns its encoding (caller frees). */
static uint8_t *everything_packed(size_t *len)
{
	Rt__Everything e = RT__EVERYTHING__INIT;
	Rt__Inner inner = RT__INNER__INIT, i1 = RT__INNER__INIT,
	          i2 = RT__INNER__INIT;
	Rt__Inner *items[] = {&i1, &i2};
	char *names[] = {"a", "bb", ""};
	ProtobufCBinaryData blobs[] = {{3, (uint8_t *)"xyz"}, {0, NULL}};
	int64_t nums[] = {1, -2, 3};
	Rt__Everything__CountsEntry c1 = RT__EVERYTHING__COUNTS_ENTRY__INIT,
	                            c2 = RT__EVERYTHING__COUNTS_ENTRY__INIT;
	Rt__Everything__CountsEntry *counts[] = {&c1, &c2};
	Rt__Everything__ByNameEntry b1 = RT__EVERYTHING__BY_NAME_ENTRY__INIT;
	Rt__Everything__ByNameEntry *by_name[] = {&b1};
	Rt__Inner m = RT__INNER__INIT;
	uint8_t *buf;

	inner.name = "inner";
	inner.blob = (ProtobufCBinaryData){4, (uint8_t *)"blob"};
	i1.name = "one";
	i2.blob = (ProtobufCBinaryData){1, (uint8_t *)"2"};
	e.flag = 1;
	e.i = 7;
	e.name = "everything";
	e.blob = (ProtobufCBinaryData){5, (uint8_t *)"bytes"};
	e.inner = &inner;
	e.n_items = 2;
	e.items = items;
	e.n_names = 3;
	e.names = names;
	e.n_blobs = 2;
	e.blobs = blobs;
	e.n_nums = 3;
	e.nums = nums;
	c1.key = "k1";
	c1.value = 1;
	c2.key = "k2";
	c2.value = 2;
	e.n_counts = 2;
	e.counts = counts;
	b1.key = "m";
	b1.value = &m;
	m.name = "mapped";
	e.n_by_name = 1;
	e.by_name = by_name;
	e.choice_case = RT__EVERYTHING__CHOICE_M;
	e.m = &inner;
	*len = protobuf_c_message_get_packed_size(&e.base);
	buf = malloc(*len + 4);
	ck_assert_ptr_nonnull(buf);
	protobuf_c_message_pack(&e.base, buf);
	/* An unknown field (number 99, varint 5) rides along. */
	memcpy(buf + *len, "\x98\x06\x05", 3);
	*len += 3;
	return buf;
}

START_TEST(test_message_free_contents_everything)
{
	size_t len;
	uint8_t *buf = everything_packed(&len);
	Rt__Everything *e = (Rt__Everything *)protobuf_c_message_unpack(
	    &rt__everything__descriptor, NULL, len, buf);
	Rt__Everything holder;

	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->name, "everything");
	ck_assert_str_eq(e->m->name, "inner");
	ck_assert_uint_eq(e->base.n_unknown_fields, 1);
	ck_assert_uint_eq(e->n_by_name, 1);
	/* Move into a caller's struct, as the codec does, then free. */
	memcpy(&holder, e, sizeof holder);
	free(e);
	rpc_message_free_contents(&holder.base);
	ck_assert_ptr_null(holder.items);
	ck_assert_uint_eq(holder.n_items, 0);
	ck_assert_ptr_null(holder.inner);
	ck_assert_str_eq(holder.name, "");
	ck_assert_uint_eq(holder.base.n_unknown_fields, 0);
	/* Freeing an initialised message again is harmless. */
	rpc_message_free_contents(&holder.base);
	rpc_message_free_contents(NULL);
	free(buf);
}
END_TEST

START_TEST(test_message_new_free)
{
	size_t len;
	uint8_t *buf = everything_packed(&len);
	ProtobufCMessage *m = rpci_message_new(&rt__everything__descriptor);
	Rt__Everything *e;

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_eq(m->descriptor, &rt__everything__descriptor);
	rpci_message_free(m);
	e = (Rt__Everything *)protobuf_c_message_unpack(
	    &rt__everything__descriptor, NULL, len, buf);
	ck_assert_ptr_nonnull(e);
	rpci_message_free(&e->base);
	rpci_message_free(NULL);
	free(buf);
}
END_TEST

/* Absent proto2 fields point at their default values: never freed. */
START_TEST(test_message_defaults_not_freed)
{
	Rt2__Defaults d = RT2__DEFAULTS__INIT, *got;
	uint8_t buf[16];
	size_t len;

	d.r = 3;
	len = protobuf_c_message_pack(&d.base, buf);
	got = (Rt2__Defaults *)protobuf_c_message_unpack(
	    &rt2__defaults__descriptor, NULL, len, buf);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got->s, "hello");
	ck_assert_uint_eq(got->b.len, 2);
	rpci_message_free(&got->base);
}
END_TEST

START_TEST(test_value_string_unwrap_owned)
{
	Rt__String w = RT__STRING__INIT;
	char *s = NULL, *in = "hi";

	/* An absent string comes out as an empty string the caller frees. */
	ck_assert_ptr_null(rpci_value_unwrap(&type_string, &w.base, &s));
	ck_assert_str_eq(s, "");
	rpc_value_free_contents(&type_string, &s);
	ck_assert_ptr_null(s);

	rpci_value_wrap(&type_string, &w.base, &in);
	ck_assert_ptr_eq(w.value, in);
	w.value = strdup("decoded");
	ck_assert_ptr_null(rpci_value_unwrap(&type_string, &w.base, &s));
	ck_assert_str_eq(s, "decoded");
	ck_assert_str_eq(w.value, ""); /* moved out */
	rpc_value_free_contents(&type_string, &s);
}
END_TEST

START_TEST(test_value_bytes_and_bool)
{
	Rt__Bytes wb = RT__BYTES__INIT;
	Rt__Bool wbool = RT__BOOL__INIT;
	ProtobufCBinaryData b = {0, NULL};
	protobuf_c_boolean flag = 1, out = 0;
	uint8_t *data = malloc(3);

	ck_assert_ptr_nonnull(data);
	memcpy(data, "abc", 3);
	wb.value = (ProtobufCBinaryData){3, data};
	ck_assert_ptr_null(rpci_value_unwrap(&type_bytes, &wb.base, &b));
	ck_assert_uint_eq(b.len, 3);
	ck_assert(memcmp(b.data, "abc", 3) == 0);
	rpc_value_free_contents(&type_bytes, &b);
	ck_assert_ptr_null(b.data);

	rpci_value_wrap(&type_bool, &wbool.base, &flag);
	ck_assert_int_eq(wbool.value, 1);
	ck_assert_ptr_null(rpci_value_unwrap(&type_bool, &wbool.base, &out));
	ck_assert_int_eq(out, 1);
	ck_assert_uint_eq(rpci_field_size(rpci_value_field(&type_bool)),
	                  sizeof(protobuf_c_boolean));
}
END_TEST

START_TEST(test_value_free_contents_wrapped)
{
	Rt__Int64List l = RT__INT64_LIST__INIT;

	l.n_value = 4;
	l.value = calloc(4, sizeof *l.value);
	ck_assert_ptr_nonnull(l.value);
	rpc_value_free_contents(&type_list, &l);
	ck_assert_ptr_null(l.value);
	ck_assert_uint_eq(l.n_value, 0);
	rpc_value_free_contents(NULL, &l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("message");
	TCase *tc;
	SRunner *sr;
	int failed;

	tc = tcase_create("errors");
	tcase_add_test(tc, test_error_kinds_and_messages);
	tcase_add_test(tc, test_error_errno_and_dup);
	tcase_add_test(tc, test_error_oom_is_static);
	suite_add_tcase(s, tc);

	tc = tcase_create("free_contents");
	tcase_add_test(tc, test_message_free_contents_everything);
	tcase_add_test(tc, test_message_new_free);
	tcase_add_test(tc, test_message_defaults_not_freed);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_test(tc, test_value_string_unwrap_owned);
	tcase_add_test(tc, test_value_bytes_and_bool);
	tcase_add_test(tc, test_value_free_contents_wrapped);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
