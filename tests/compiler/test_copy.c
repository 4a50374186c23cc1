/* test_copy.c - the generated X_copy and X_equal (rpc_message_copy and
 * rpc_message_equal) on the golden all.rpc: a deep copy of every field kind
 * (scalars, strings, bytes, enums, nested structs, lists, maps, optional
 * fields) outlives its source, equal tells equal values from different
 * ones, and a copy that runs out of memory at any allocation fails
 * cleanly. Meaningful under ASan (use after free, leaks); the allocation
 * walk interposes malloc and skips itself under sanitizers. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "all.rpc.h"

#if defined(__SANITIZE_ADDRESS__)
#define COPY_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define COPY_SANITIZED 1
#endif
#endif

#ifndef COPY_SANITIZED
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static volatile long alloc_countdown = -1;
static volatile bool alloc_hit;

static bool alloc_fail_now(void)
{
	if (alloc_countdown < 0 || alloc_countdown-- > 0)
		return false;
	alloc_hit = true;
	errno = ENOMEM;
	return true;
}

void *malloc(size_t n)
{
	return alloc_fail_now() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return alloc_fail_now() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	return alloc_fail_now() ? NULL : __libc_realloc(p, n);
}
#endif

/* ---- a value with every field kind, on the heap ------------------------- */

static char *dup_str(const char *s)
{
	char *d = strdup(s);
	ck_assert_ptr_nonnull(d);
	return d;
}

static ProtobufCBinaryData dup_bytes(const char *s)
{
	ProtobufCBinaryData b = {strlen(s), (uint8_t *)dup_str(s)};
	return b;
}

static void *array(size_t n, size_t size)
{
	void *p = calloc(n, size);
	ck_assert_ptr_nonnull(p);
	return p;
}

static all_Args *new_args(int64_t a, int64_t b)
{
	all_Args *x = array(1, sizeof *x);
	all_Args_init(x);
	x->A = a;
	x->B = b;
	return x;
}

static common_Point *new_point(int64_t x, int64_t y)
{
	common_Point *p = array(1, sizeof *p);
	common_Point_init(p);
	p->X = x;
	p->Y = y;
	return p;
}

/* fill_everything sets every field of e (from ALL_EVERYTHING_INIT) to a
 * non-default value in malloc'd memory; k varies the values. */
static void fill_everything(all_Everything *e, int k)
{
	e->Flag = 1;
	e->I = -32 - k;
	e->L = -64;
	e->U = 32;
	e->UL = UINT64_MAX;
	e->F = 1.5f;
	e->D = -2.25;
	e->Name = dup_str("name");
	e->Blob = dup_bytes("blob\x01");
	e->Kind = ALL_OP_MUL;
	e->Inner = new_args(6, 7);
	e->Where = new_point(1, 2);
	e->Paint = COMMON_COLOR_BLUE;
	e->n_Nums = 3;
	e->Nums = array(3, sizeof *e->Nums);
	e->Nums[0] = 1, e->Nums[1] = 2, e->Nums[2] = 3;
	e->n_Names = 2;
	e->Names = array(2, sizeof *e->Names);
	e->Names[0] = dup_str("a");
	e->Names[1] = dup_str("");
	e->n_Blobs = 2;
	e->Blobs = array(2, sizeof *e->Blobs);
	e->Blobs[0] = dup_bytes("x");
	e->n_Items = 2;
	e->Items = array(2, sizeof *e->Items);
	e->Items[0] = new_args(1, 2);
	e->Items[1] = new_args(3, 4);
	e->n_Ops = 1;
	e->Ops = array(1, sizeof *e->Ops);
	e->Ops[0] = ALL_OP_NEG;
	e->n_Path = 1;
	e->Path = array(1, sizeof *e->Path);
	e->Path[0] = new_point(5, 6);
	e->n_Weights = 1;
	e->Weights = array(1, sizeof *e->Weights);
	e->Weights[0] = 0.5;
	e->n_Counts = 2;
	e->Counts = array(2, sizeof *e->Counts);
	for (int i = 0; i < 2; i++) {
		e->Counts[i] = array(1, sizeof **e->Counts);
		all_Everything_CountsEntry_init(e->Counts[i]);
		e->Counts[i]->key = dup_str(i ? "two" : "one");
		e->Counts[i]->value = i + 1;
	}
	e->n_ByInt64 = 1;
	e->ByInt64 = array(1, sizeof *e->ByInt64);
	e->ByInt64[0] = array(1, sizeof **e->ByInt64);
	all_Everything_ByInt64Entry_init(e->ByInt64[0]);
	e->ByInt64[0]->key = 9;
	e->ByInt64[0]->value = new_args(9, 9);
	e->n_ByUint64 = 1;
	e->ByUint64 = array(1, sizeof *e->ByUint64);
	e->ByUint64[0] = array(1, sizeof **e->ByUint64);
	all_Everything_ByUint64Entry_init(e->ByUint64[0]);
	e->ByUint64[0]->key = 1;
	e->ByUint64[0]->value = dup_bytes("v");
	e->has_Maybe = 1;
	e->Maybe = 0; /* set, to its zero value */
	e->has_MaybeD = 1;
	e->MaybeD = 3.0;
	e->MaybeName = dup_str("maybe");
	e->has_MaybeBlob = 1;
	e->MaybeBlob = dup_bytes("mb");
	e->has_MaybeOp = 1;
	e->MaybeOp = ALL_OP_SUB;
}

/* new_nested makes a Nested with an Everything, a Quotient and a child
 * that has an Everything of its own. */
static all_Nested *new_nested(void)
{
	all_Nested *n = array(1, sizeof *n);
	all_Nested_init(n);
	n->All = array(1, sizeof *n->All);
	all_Everything_init(n->All);
	fill_everything(n->All, 0);
	n->Q = array(1, sizeof *n->Q);
	all_Quotient_init(n->Q);
	n->Q->Quo = 4;
	n->n_Children = 1;
	n->Children = array(1, sizeof *n->Children);
	n->Children[0] = array(1, sizeof **n->Children);
	all_Nested_init(n->Children[0]);
	n->Children[0]->All = array(1, sizeof *n->All);
	all_Everything_init(n->Children[0]->All);
	fill_everything(n->Children[0]->All, 1);
	return n;
}

static void free_nested(all_Nested *n)
{
	all_Nested_free_contents(n);
	free(n);
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(test_copy_outlives_its_source)
{
	all_Nested *src = new_nested();
	all_Nested *ref = new_nested();
	all_Nested dst;
	ck_assert(all_Nested_copy(&dst, src));
	ck_assert(all_Nested_equal(&dst, src));
	/* nothing is shared: free the source, then read every field */
	ck_assert_ptr_ne(dst.All, src->All);
	ck_assert_ptr_ne(dst.All->Name, src->All->Name);
	ck_assert_ptr_ne(dst.All->Blob.data, src->All->Blob.data);
	ck_assert_ptr_ne(dst.All->Names, src->All->Names);
	ck_assert_ptr_ne(dst.All->Counts[0], src->All->Counts[0]);
	free_nested(src);
	ck_assert(all_Nested_equal(&dst, ref));
	const all_Everything *e = dst.All;
	ck_assert_str_eq(e->Name, "name");
	ck_assert_uint_eq(e->Blob.len, 5);
	ck_assert_mem_eq(e->Blob.data, "blob\x01", 5);
	ck_assert_int_eq(e->Inner->B, 7);
	ck_assert_int_eq(e->Where->Y, 2);
	ck_assert_int_eq(e->Nums[2], 3);
	ck_assert_str_eq(e->Names[1], "");
	ck_assert_uint_eq(e->Blobs[1].len, 0);
	ck_assert_int_eq(e->Items[1]->A, 3);
	ck_assert_int_eq(e->Path[0]->X, 5);
	ck_assert_str_eq(e->Counts[1]->key, "two");
	ck_assert_int_eq(e->ByInt64[0]->value->A, 9);
	ck_assert_mem_eq(e->ByUint64[0]->value.data, "v", 1);
	ck_assert(e->has_Maybe && e->Maybe == 0);
	ck_assert(!e->has_MaybeL);
	ck_assert_str_eq(e->MaybeName, "maybe");
	ck_assert_int_eq(dst.Q->Quo, 4);
	ck_assert_int_eq(dst.Children[0]->All->I, -33);
	ck_assert_ptr_null(dst.Children[0]->Q);
	all_Nested_free_contents(&dst);
	free_nested(ref);
}
END_TEST

START_TEST(test_copy_of_defaults_is_equal_and_needs_no_memory)
{
	all_Everything a = ALL_EVERYTHING_INIT, b;
	ck_assert(all_Everything_copy(&b, &a));
	ck_assert(all_Everything_equal(&a, &b));
	ck_assert_ptr_null(b.Inner);
	all_Everything_free_contents(&b);
	ck_assert(all_Everything_equal(NULL, NULL));
	ck_assert(!all_Everything_equal(&a, NULL));
}
END_TEST

/* Each change makes a copy unequal to the original. */
static void change(all_Everything *e, int what)
{
	switch (what) {
	case 0:
		e->Name[0] = 'N';
		break;
	case 1:
		e->Blob.data[4] = 2;
		break;
	case 2:
		e->n_Nums--;
		break;
	case 3:
		e->Names[0][0] = 'b';
		break;
	case 4:
		e->Items[1]->B = 0;
		break;
	case 5:
		e->Counts[1]->value = 7;
		break;
	case 6:
		e->ByInt64[0]->value->A = 1;
		break;
	case 7:
		e->has_Maybe = 0; /* unset differs from set to 0 */
		break;
	case 8:
		free(e->MaybeName);
		e->MaybeName = NULL;
		break;
	case 9:
		all_Args_free_contents(e->Inner);
		free(e->Inner);
		e->Inner = NULL;
		break;
	case 10:
		e->D = 0;
		break;
	case 11:
		e->Kind = ALL_OP_ADD;
		break;
	case 12:
		e->Where->X = 0;
		break;
	}
}

#define N_CHANGES 13

START_TEST(test_equal_sees_every_difference)
{
	all_Everything a = ALL_EVERYTHING_INIT, b;
	fill_everything(&a, 0);
	ck_assert(all_Everything_copy(&b, &a));
	ck_assert(all_Everything_equal(&a, &b));
	change(&b, _i);
	ck_assert_msg(!all_Everything_equal(&a, &b), "change %d unseen", _i);
	ck_assert(!all_Everything_equal(&b, &a));
	all_Everything_free_contents(&a);
	all_Everything_free_contents(&b);
}
END_TEST

START_TEST(test_equal_compares_maps_in_any_order)
{
	all_Everything a = ALL_EVERYTHING_INIT, b;
	fill_everything(&a, 0);
	ck_assert(all_Everything_copy(&b, &a));
	all_Everything_CountsEntry *t = b.Counts[0];
	b.Counts[0] = b.Counts[1];
	b.Counts[1] = t;
	ck_assert(all_Everything_equal(&a, &b));
	/* lists are ordered */
	int64_t n = b.Nums[0];
	b.Nums[0] = b.Nums[1];
	b.Nums[1] = n;
	ck_assert(!all_Everything_equal(&a, &b));
	all_Everything_free_contents(&a);
	all_Everything_free_contents(&b);
}
END_TEST

START_TEST(test_copy_out_of_memory_fails_cleanly)
{
#ifdef COPY_SANITIZED
	return; /* the sanitizer's allocator cannot be interposed */
#else
	all_Nested *src = new_nested();
	bool done = false;
	for (long k = 0; !done; k++) {
		all_Nested dst;
		alloc_hit = false;
		alloc_countdown = k;
		bool ok = all_Nested_copy(&dst, src);
		alloc_countdown = -1;
		if (!alloc_hit) {
			ck_assert(ok);
			done = true;
		} else {
			ck_assert_msg(!ok, "allocation %ld failed unseen", k);
			/* left at its defaults, nothing held */
			all_Nested init = ALL_NESTED_INIT;
			ck_assert(all_Nested_equal(&dst, &init));
			ck_assert_ptr_null(dst.All);
		}
		ck_assert(!ok || all_Nested_equal(&dst, src));
		all_Nested_free_contents(&dst);
		ck_assert_int_lt(k, 10000);
	}
	free_nested(src);
#endif
}
END_TEST

/* ---- oneofs -------------------------------------------------------------- */

/* shape_heap makes a Shape on the heap with member k set (1 Radius,
 * 2 Label, 3 Box, 4 Raw, 0 none), its pointers malloc'd as decoding
 * leaves them; freed with all_Shape_free_contents and free. */
static all_Shape *shape_heap(int k)
{
	all_Shape *s = malloc(sizeof *s);
	ck_assert_ptr_nonnull(s);
	all_Shape_init(s);
	s->Name = dup_str("shape");
	switch (k) {
	case 1:
		s->kind_case = ALL_SHAPE_KIND_RADIUS;
		s->Radius = 0x51; /* not a pointer: never freed */
		break;
	case 2:
		s->kind_case = ALL_SHAPE_KIND_LABEL;
		s->Label = dup_str("label");
		break;
	case 3:
		s->kind_case = ALL_SHAPE_KIND_BOX;
		s->Box = malloc(sizeof *s->Box);
		ck_assert_ptr_nonnull(s->Box);
		all_Args_init(s->Box);
		s->Box->A = 4;
		break;
	case 4:
		s->kind_case = ALL_SHAPE_KIND_RAW;
		s->Raw.data = (uint8_t *)dup_str("raw");
		s->Raw.len = 3;
		break;
	default:
		break;
	}
	return s;
}

/* A copy of each member kind is equal and outlives its source; freeing
 * follows the case only (a Radius whose bits would be a bad pointer as
 * Label is never freed); equal compares the case and then that member. */
START_TEST(test_copy_oneof_follows_the_case)
{
	for (int k = 0; k < 5; k++) {
		all_Shape *src = shape_heap(k), dst;
		ck_assert(all_Shape_copy(&dst, src));
		ck_assert(all_Shape_equal(&dst, src));
		ck_assert_int_eq(dst.kind_case, src->kind_case);
		all_Shape_free_contents(src);
		free(src);
		if (k == 2)
			ck_assert_str_eq(dst.Label, "label");
		if (k == 3)
			ck_assert_int_eq(dst.Box->A, 4);
		all_Shape_free_contents(&dst);
		ck_assert_int_eq(dst.kind_case, ALL_SHAPE_KIND__NOT_SET);
	}
	all_Shape *a = shape_heap(2), *b = shape_heap(2);
	ck_assert(all_Shape_equal(a, b));
	b->Label[0] = 'X';
	ck_assert(!all_Shape_equal(a, b)); /* same case, other value */
	all_Shape_free_contents(b);
	free(b);
	b = shape_heap(1);
	ck_assert(!all_Shape_equal(a, b)); /* another member */
	all_Shape_free_contents(b);
	free(b);
	b = shape_heap(0);
	ck_assert(!all_Shape_equal(a, b)); /* none */
	all_Shape_free_contents(b);
	free(b);
	all_Shape_free_contents(a);
	free(a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("copy");
	TCase *tc = tcase_create("copy");
	tcase_add_test(tc, test_copy_outlives_its_source);
	tcase_add_test(tc, test_copy_of_defaults_is_equal_and_needs_no_memory);
	tcase_add_test(tc, test_copy_out_of_memory_fails_cleanly);
	tcase_add_test(tc, test_copy_oneof_follows_the_case);
	suite_add_tcase(s, tc);
	tc = tcase_create("equal");
	tcase_add_loop_test(tc, test_equal_sees_every_difference, 0, N_CHANGES);
	tcase_add_test(tc, test_equal_compares_maps_in_any_order);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
