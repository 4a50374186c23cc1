/* test_big.c - big blocks (big.c) and rpc_buf across RPCI_BIG.
 *
 * Every test ends with no big block alive (rpci_big_live): a leaked
 * mapping is invisible to ASan and valgrind, so the count is the check. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "internal.h"

#define MIB        ((size_t)1 << 20)
#define HUGE_ALIGN (2 * MIB)

/* fill writes byte i as pat(i, seed) at every 4093rd offset and at the
 * last one; check_fill checks those of p[0..n). */
static uint8_t pat(size_t i, unsigned seed)
{
	return (uint8_t)(i * 31 + seed);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += 4093)
		p[i] = pat(i, seed);
	if (n > 0)
		p[n - 1] = pat(n - 1, seed);
}

static void check_fill(const uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += 4093)
		ck_assert_uint_eq(p[i], pat(i, seed));
}

static void check_none_alive(void)
{
	size_t bytes = 1;
	ck_assert_uint_eq(rpci_big_live(&bytes), 0);
	ck_assert_uint_eq(bytes, 0);
}

START_TEST(test_big_alloc_free_around_the_threshold)
{
	static const size_t sizes[] = {1,
	                               RPCI_BIG - 1,
	                               RPCI_BIG,
	                               RPCI_BIG + 1,
	                               RPCI_BIG + 4095,
	                               RPCI_BIG + 4096,
	                               3 * RPCI_BIG + 12345,
	                               16 * MIB + 17};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i], bytes = 0;
		uint8_t *p = rpci_big_alloc(n);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % HUGE_ALIGN, 0);
		ck_assert(rpci_big_owns(p));
		ck_assert_uint_eq(rpci_big_live(&bytes), 1);
		ck_assert_uint_ge(bytes, n < RPCI_BIG ? RPCI_BIG : n);
		fill(p, n, (unsigned)i);
		check_fill(p, n, (unsigned)i);
		ck_assert_uint_eq(p[n - 1], pat(n - 1, (unsigned)i));
		rpci_big_free(p);
		check_none_alive();
	}
}
END_TEST

START_TEST(test_big_malloc_picks_by_size)
{
	uint8_t *small = rpci_big_malloc(RPCI_BIG - 1);
	uint8_t *big = rpci_big_malloc(RPCI_BIG);
	ck_assert_ptr_nonnull(small);
	ck_assert_ptr_nonnull(big);
	ck_assert(!rpci_big_owns(small));
	ck_assert(rpci_big_owns(big));
	ck_assert_uint_eq(rpci_big_live(NULL), 1);
	fill(small, RPCI_BIG - 1, 3);
	fill(big, RPCI_BIG, 4);
	/* rpci_big_free takes both kinds */
	rpci_big_free(small);
	rpci_big_free(big);
	rpci_big_free(NULL);
	check_none_alive();
	/* a malloc'd block is freed with free while big blocks are alive */
	big = rpci_big_alloc(RPCI_BIG);
	small = malloc(100);
	ck_assert(!rpci_big_owns(small));
	rpci_big_free(small);
	rpci_big_free(big);
	check_none_alive();
}
END_TEST

START_TEST(test_big_realloc_keeps_bytes_both_ways)
{
	/* small -> big -> bigger -> smaller big -> small, odd sizes */
	static const size_t steps[] = {1000,        RPCI_BIG + 3,  9 * MIB + 77,
	                               5 * MIB + 1, RPCI_BIG,      RPCI_BIG - 1,
	                               12345,       7 * MIB + 4097};
	uint8_t *p = NULL;
	size_t len = 0;

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		size_t n = steps[i], keep = len < n ? len : n;
		uint8_t *q = rpci_big_realloc(p, len, n);
		ck_assert_ptr_nonnull(q);
		ck_assert(rpci_big_owns(q) == (n >= RPCI_BIG));
		ck_assert_uint_eq(rpci_big_live(NULL), n >= RPCI_BIG ? 1 : 0);
		if (n >= RPCI_BIG)
			ck_assert_uint_eq((uintptr_t)q % HUGE_ALIGN, 0);
		check_fill(q, keep, 7); /* what was kept */
		fill(q, n, 7);
		p = q;
		len = n;
	}
	rpci_big_free(p);
	check_none_alive();
}
END_TEST

START_TEST(test_big_realloc_grows_with_neighbours)
{
	/* a block that cannot grow in place moves (its pages, not a copy)
	 * and stays aligned */
	uint8_t *a = rpci_big_alloc(RPCI_BIG);
	uint8_t *b = rpci_big_alloc(RPCI_BIG);
	uint8_t *c = rpci_big_alloc(RPCI_BIG);
	ck_assert(a && b && c);
	fill(b, RPCI_BIG, 9);
	uint8_t *b2 = rpci_big_realloc(b, RPCI_BIG, 40 * MIB + 5);
	ck_assert_ptr_nonnull(b2);
	ck_assert_uint_eq((uintptr_t)b2 % HUGE_ALIGN, 0);
	check_fill(b2, RPCI_BIG, 9);
	memset(b2 + RPCI_BIG, 1, 40 * MIB + 5 - RPCI_BIG);
	ck_assert_uint_eq(rpci_big_live(NULL), 3);
	rpci_big_free(a);
	rpci_big_free(b2);
	rpci_big_free(c);
	check_none_alive();
}
END_TEST

START_TEST(test_big_many_alive)
{
	/* the registry grows past its first table (64 slots, half full) and
	 * empties again; the blocks are never touched, so cost no memory */
	enum { N = 100 };
	static uint8_t *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = rpci_big_alloc(RPCI_BIG + (size_t)i * 4096);
		ck_assert_ptr_nonnull(p[i]);
	}
	ck_assert_uint_eq(rpci_big_live(NULL), N);
	for (int i = 0; i < N; i += 2)
		rpci_big_free(p[i]);
	for (int i = 0; i < N; i++)
		ck_assert(rpci_big_owns(p[i]) == (i % 2 == 1));
	for (int i = 1; i < N; i += 2)
		rpci_big_free(p[i]);
	check_none_alive();
}
END_TEST

START_TEST(test_big_buf_crosses_the_threshold)
{
	rpc_buf b = {0};
	uint8_t chunk[65536];

	/* grow one chunk at a time across RPCI_BIG: the bytes move once */
	for (size_t i = 0; b.len < 2 * RPCI_BIG; i++) {
		memset(chunk, (int)(i & 255), sizeof chunk);
		ck_assert(rpc_buf_append(&b, chunk, sizeof chunk));
		ck_assert(rpci_big_owns(b.data) == (b.cap >= RPCI_BIG));
	}
	ck_assert_uint_eq(rpci_big_live(NULL), 1);
	for (size_t i = 0; i < b.len; i += sizeof chunk)
		ck_assert_uint_eq(b.data[i + 17], (uint8_t)(i / sizeof chunk));
	rpc_buf_fini(&b);
	ck_assert_ptr_null(b.data);
	check_none_alive();

	/* a single large reservation gets exactly its room, a big block */
	ck_assert(rpc_buf_reserve(&b, RPCI_BIG + 1));
	ck_assert_uint_eq(b.cap, RPCI_BIG + 1);
	ck_assert(rpci_big_owns(b.data));
	b.data[RPCI_BIG] = 1;
	rpc_buf_fini(&b);
	check_none_alive();

	/* a small buffer stays malloc'd */
	ck_assert(rpc_buf_append(&b, "x", 1));
	ck_assert(!rpci_big_owns(b.data));
	rpc_buf_fini(&b);
	rpc_buf_fini(NULL);
	check_none_alive();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("big");
	TCase *tc = tcase_create("alloc");
	tcase_add_test(tc, test_big_alloc_free_around_the_threshold);
	tcase_add_test(tc, test_big_malloc_picks_by_size);
	tcase_add_test(tc, test_big_realloc_keeps_bytes_both_ways);
	tcase_add_test(tc, test_big_realloc_grows_with_neighbours);
	tcase_add_test(tc, test_big_many_alive);
	suite_add_tcase(s, tc);
	tc = tcase_create("buf");
	tcase_add_test(tc, test_big_buf_crosses_the_threshold);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
