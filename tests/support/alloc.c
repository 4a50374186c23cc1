/* alloc.c - the allocation wrappers behind sup_alloc.h.
 *
 * The linker sends our code's malloc, calloc, realloc, free, strdup,
 * strndup, asprintf and vasprintf to __wrap_NAME, and __real_NAME to the
 * real ones. A thread-local countdown makes one allocation fail; a global
 * atomic counter tracks the objects made and freed through the wrappers,
 * so a test can assert that a walk leaves nothing behind, in every build
 * (plain, sanitizers, valgrind). */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "sup_alloc.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **s, const char *fmt, va_list ap);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_vasprintf(char **s, const char *fmt, va_list ap);
int __wrap_asprintf(char **s, const char *fmt, ...);

/* volatile: the compiler may assume malloc touches no other memory. */
static _Thread_local volatile long alloc_countdown = -1;
static _Thread_local volatile bool alloc_hit;
static atomic_long alloc_live;
static atomic_bool alloc_seen; /* a wrapper ran */

static bool alloc_fail_now(void)
{
	atomic_store_explicit(&alloc_seen, true, memory_order_relaxed);
	if (alloc_countdown < 0)
		return false;
	if (alloc_countdown-- > 0)
		return false;
	alloc_hit = true;
	errno = ENOMEM;
	return true;
}

static void *alloc_made(void *p)
{
	if (p != NULL)
		atomic_fetch_add_explicit(&alloc_live, 1, memory_order_relaxed);
	return p;
}

void *__wrap_malloc(size_t n)
{
	return alloc_fail_now() ? NULL : alloc_made(__real_malloc(n));
}

void *__wrap_calloc(size_t n, size_t m)
{
	return alloc_fail_now() ? NULL : alloc_made(__real_calloc(n, m));
}

void *__wrap_realloc(void *p, size_t n)
{
	void *q;

	if (p != NULL && n == 0) {
		/* frees p, as glibc does */
		atomic_fetch_sub_explicit(&alloc_live, 1, memory_order_relaxed);
		return __real_realloc(p, n);
	}
	if (alloc_fail_now())
		return NULL;
	q = __real_realloc(p, n);
	return p == NULL ? alloc_made(q) : q;
}

void __wrap_free(void *p)
{
	if (p != NULL)
		atomic_fetch_sub_explicit(&alloc_live, 1, memory_order_relaxed);
	__real_free(p);
}

char *__wrap_strdup(const char *s)
{
	return alloc_fail_now() ? NULL : alloc_made(__real_strdup(s));
}

char *__wrap_strndup(const char *s, size_t n)
{
	return alloc_fail_now() ? NULL : alloc_made(__real_strndup(s, n));
}

int __wrap_vasprintf(char **s, const char *fmt, va_list ap)
{
	int n;

	if (alloc_fail_now())
		return -1;
	n = __real_vasprintf(s, fmt, ap);
	if (n >= 0)
		alloc_made(*s);
	return n;
}

int __wrap_asprintf(char **s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = __wrap_vasprintf(s, fmt, ap);
	va_end(ap);
	return n;
}

void sup_alloc_arm(long n)
{
	alloc_hit = false;
	alloc_countdown = n;
}

bool sup_alloc_disarm(void)
{
	alloc_countdown = -1;
	return alloc_hit;
}

long sup_alloc_live(void)
{
	return atomic_load(&alloc_live);
}

bool sup_alloc_wrapped(void)
{
	void *volatile p;
	bool hit;

	sup_alloc_arm(0);
	p = malloc(1);
	hit = sup_alloc_disarm();
	free(p);
	return hit && p == NULL;
}
