/* test_pending.c - the pending-call table. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

/* Values are the addresses of this array's elements. */
static char vals[4096];

START_TEST(test_pending_put_take)
{
	rpci_pending p;

	rpci_pending_init(&p);
	ck_assert_ptr_null(rpci_pending_take(&p, 0));
	ck_assert(rpci_pending_put(&p, 0, &vals[0]));
	ck_assert(rpci_pending_put(&p, 1, &vals[1]));
	ck_assert_ptr_eq(rpci_pending_take(&p, 1), &vals[1]);
	ck_assert_ptr_null(rpci_pending_take(&p, 1));
	ck_assert_ptr_null(rpci_pending_take(&p, 99));
	ck_assert_ptr_eq(rpci_pending_take(&p, 0), &vals[0]);
	ck_assert_uint_eq(p.count, 0);
	rpci_pending_fini(&p);
	rpci_pending_fini(NULL);
}
END_TEST

START_TEST(test_pending_grow_keeps_entries)
{
	rpci_pending p;
	uint64_t i;

	rpci_pending_init(&p);
	for (i = 0; i < 3000; i++)
		ck_assert(rpci_pending_put(&p, i, &vals[i]));
	ck_assert_uint_eq(p.count, 3000);
	ck_assert_uint_le(p.count * 2, p.mask + 1);
	for (i = 0; i < 3000; i += 2)
		ck_assert_ptr_eq(rpci_pending_take(&p, i), &vals[i]);
	for (i = 1; i < 3000; i += 2)
		ck_assert_ptr_eq(rpci_pending_take(&p, i), &vals[i]);
	ck_assert_uint_eq(p.count, 0);
	rpci_pending_fini(&p);
}
END_TEST

/* Keys that collide (same low bits) exercise probing and the backward
 * shift on removal. */
START_TEST(test_pending_collisions)
{
	rpci_pending p;
	uint64_t keys[12];
	size_t i, j;

	rpci_pending_init(&p);
	ck_assert(rpci_pending_put(&p, 1, &vals[0]));
	for (i = 0; i < 12; i++) {
		keys[i] = 64 * (i + 1) + (i % 3); /* homes 0, 1, 2 */
		ck_assert(rpci_pending_put(&p, keys[i], &vals[i + 1]));
	}
	/* Remove in a scrambled order; the rest stay reachable. */
	for (i = 0; i < 12; i++) {
		size_t k = (i * 5) % 12;

		ck_assert_ptr_eq(rpci_pending_take(&p, keys[k]), &vals[k + 1]);
		for (j = 0; j < 12; j++) {
			size_t m = (j * 5) % 12;
			void *v;

			if (j <= i)
				continue;
			v = rpci_pending_take(&p, keys[m]);
			ck_assert_ptr_eq(v, &vals[m + 1]);
			ck_assert(rpci_pending_put(&p, keys[m], v));
		}
	}
	ck_assert_ptr_eq(rpci_pending_take(&p, 1), &vals[0]);
	ck_assert_uint_eq(p.count, 0);
	rpci_pending_fini(&p);
}
END_TEST

START_TEST(test_pending_take_any_drains)
{
	rpci_pending p;
	size_t i, n = 0;
	char seen[100] = {0};
	char *v;

	rpci_pending_init(&p);
	ck_assert_ptr_null(rpci_pending_take_any(&p));
	for (i = 0; i < 100; i++)
		ck_assert(rpci_pending_put(&p, i * 7, &vals[i]));
	while ((v = rpci_pending_take_any(&p)) != NULL) {
		ck_assert_int_eq(seen[v - vals], 0);
		seen[v - vals] = 1;
		n++;
	}
	ck_assert_uint_eq(n, 100);
	ck_assert_uint_eq(p.count, 0);
	rpci_pending_fini(&p);
}
END_TEST

/* A long-lived pending call stays findable while seqs run far past it. */
START_TEST(test_pending_sliding_window)
{
	rpci_pending p;
	uint64_t seq;

	rpci_pending_init(&p);
	ck_assert(rpci_pending_put(&p, 0, &vals[0]));
	for (seq = 1; seq < 100000; seq++) {
		ck_assert(rpci_pending_put(&p, seq, &vals[1 + seq % 100]));
		if (seq >= 128)
			ck_assert_ptr_eq(rpci_pending_take(&p, seq - 127),
			                 &vals[1 + (seq - 127) % 100]);
	}
	ck_assert_ptr_eq(rpci_pending_take(&p, 0), &vals[0]);
	ck_assert_uint_eq(p.count, 127);
	rpci_pending_fini(&p);
}
END_TEST

/* Against a plain array as the model: random puts and takes agree. Keys
 * crowd onto 13 home slots, the worst case for probing. */
#define KEY(k) ((k)*4096 + (k) % 13)

START_TEST(test_pending_random_model)
{
	static char model[1024];
	rpci_pending p;
	unsigned seed = 7;
	uint64_t key;
	size_t i, live = 0;
	void *v;

	memset(model, 0, sizeof model);
	rpci_pending_init(&p);
	for (i = 0; i < 50000; i++) {
		/* Keys spread over 1024 values, many sharing low bits. */
		key = (uint64_t)(rand_r(&seed) % 1024);
		if (model[key]) {
			v = rpci_pending_take(&p, KEY(key));
			ck_assert_ptr_eq(v, &vals[key]);
			model[key] = 0;
			live--;
		} else if (rand_r(&seed) % 2 == 0) {
			ck_assert(rpci_pending_put(&p, KEY(key), &vals[key]));
			model[key] = 1;
			live++;
		} else {
			ck_assert_ptr_null(rpci_pending_take(&p, KEY(key)));
		}
		ck_assert_uint_eq(p.count, live);
	}
	while ((v = rpci_pending_take_any(&p)) != NULL) {
		ck_assert_int_eq(model[(char *)v - vals], 1);
		model[(char *)v - vals] = 0;
	}
	for (i = 0; i < sizeof model; i++)
		ck_assert_int_eq(model[i], 0);
	rpci_pending_fini(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pending");
	TCase *tc = tcase_create("table");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_pending_put_take);
	tcase_add_test(tc, test_pending_grow_keeps_entries);
	tcase_add_test(tc, test_pending_collisions);
	tcase_add_test(tc, test_pending_take_any_drains);
	tcase_add_test(tc, test_pending_sliding_window);
	tcase_add_test(tc, test_pending_random_model);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
