/* sup_alloc.h - allocation-failure harness and live-object count for tests.
 *
 * A test program linked with support_alloc_dep has malloc, calloc, realloc,
 * free, strdup, strndup, asprintf and vasprintf wrapped at link time
 * (-Wl,--wrap=NAME): every call made from the test and from the static
 * librpc linked into it goes through this harness; calls made inside libc,
 * libcheck or libprotobuf-c do not. The wrappers call the real functions, so
 * the harness works unchanged under AddressSanitizer, ThreadSanitizer and
 * valgrind (which replace the real ones).
 *
 * Walk every failure point of an operation:
 *
 *	long live = sup_alloc_live();
 *	for (n = 0, hit = true; hit; n++) {
 *		sup_alloc_arm(n);
 *		err = operation();
 *		hit = sup_alloc_disarm();
 *		... check that err is NULL or an out-of-memory error ...
 *		... undo the operation ...
 *		SUP_ASSERT_LIVE(live, n);
 *	}
 */
#ifndef SUPPORT_ALLOC_H
#define SUPPORT_ALLOC_H

#include <stdbool.h>

/* sup_alloc_arm makes the calling thread's allocation number n (from 0)
 * fail, once, with errno ENOMEM. Other threads are not affected. */
void sup_alloc_arm(long n);

/* sup_alloc_disarm stops failing in the calling thread; true if the armed
 * allocation was reached (and failed). */
bool sup_alloc_disarm(void);

/* sup_alloc_live is the number of objects allocated through the wrappers,
 * by any thread, and not yet freed through them. */
long sup_alloc_live(void);

/* sup_alloc_wrapped is true when the wrappers are linked in and reached
 * (a program that links support_alloc_dep checks it once at start). */
bool sup_alloc_wrapped(void);

/* SUP_ASSERT_LIVE fails the Check test when the live count is not `live`
 * (taken with sup_alloc_live before the walk); step names the walk's N. */
#define SUP_ASSERT_LIVE(live, step)                                            \
	ck_assert_msg(sup_alloc_live() == (live),                              \
	              "step %ld of the walk: %ld objects left alive",          \
	              (long)(step), sup_alloc_live() - (long)(live))

#endif
