/* test_oom.c - walk every allocation of idl_load and make each one fail in
 * turn: the load must then fail cleanly (an error reported, *out NULL, no
 * leak, no crash) and never succeed with something silently missing.
 *
 * The allocation functions are wrapped at link time (-Wl,--wrap=...), so
 * only calls from our code and flex/bison's generated code are counted;
 * allocations inside libc (fopen's FILE) are not. */
#include <errno.h>
#include <stdarg.h>

#include "helpers.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
char *__real_realpath(const char *path, char *resolved);
int __real_vasprintf(char **s, const char *fmt, va_list ap);

static long oom_count;   /* allocations seen since armed */
static long oom_fail_at; /* 0: never fail; n: fail the n-th */
static int oom_failed;

static int oom_fail(void)
{
	if (oom_fail_at == 0)
		return 0;
	if (++oom_count == oom_fail_at) {
		oom_failed = 1;
		return 1;
	}
	return 0;
}

void *__wrap_malloc(size_t n)
{
	return oom_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	return oom_fail() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
	return oom_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return oom_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return oom_fail() ? NULL : __real_strndup(s, n);
}

char *__wrap_realpath(const char *path, char *resolved)
{
	if (oom_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_realpath(path, resolved);
}

int __wrap_vasprintf(char **s, const char *fmt, va_list ap)
{
	return oom_fail() ? -1 : __real_vasprintf(s, fmt, ap);
}

int __wrap_asprintf(char **s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (oom_fail())
		return -1;
	va_start(ap, fmt);
	n = __real_vasprintf(s, fmt, ap);
	va_end(ap);
	return n;
}

static const char *src_dir;
static int diag_calls;
static int diag_bad; /* a callback text without "error" */

/* A callback that allocates nothing (no ck_assert either: Check may be
 * linked statically and then allocates through the wrappers too). */
static void oom_diag(void *ctx, const char *text)
{
	(void)ctx;
	if (!strstr(text, "error"))
		diag_bad++;
	diag_calls++;
}

/* walk loads path (relative to dir) with the n-th allocation failing, for
 * n = 1, 2, ... until a load sees no failure; returns that n. */
static long walk(const char *dir, const char *path, int want_rc0)
{
	idl_options o = {.diag = oom_diag};
	int cwd = open(".", O_RDONLY | O_DIRECTORY);
	idl_program *prog;
	long n;
	int rc;

	ck_assert_int_ge(cwd, 0);
	ck_assert_int_eq(chdir(dir), 0);
	for (n = 1; n < 1000000; n++) {
		prog = (idl_program *)1;
		diag_calls = 0;
		diag_bad = 0;
		oom_count = 0;
		oom_failed = 0;
		oom_fail_at = n;
		rc = idl_load(path, &o, &prog);
		oom_fail_at = 0;
		if (!oom_failed)
			break;
		/* a failed allocation must fail the load, visibly */
		ck_assert_msg(rc > 0, "%s: allocation %ld failed, load passed",
		              path, n);
		ck_assert_ptr_null(prog);
		ck_assert_int_ge(diag_calls, 1);
		ck_assert_int_eq(diag_bad, 0);
	}
	ck_assert_int_eq(rc == 0, want_rc0);
	if (rc == 0)
		idl_program_free(prog);
	ck_assert_int_eq(fchdir(cwd), 0);
	close(cwd);
	return n;
}

START_TEST(test_oom_all_rpc)
{
	long n = walk(src_dir, "all.rpc", 1);

	/* all.rpc and common.rpc take hundreds of allocations */
	ck_assert_int_gt(n, 100);
}
END_TEST

START_TEST(test_oom_with_errors)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/diag", src_dir);
	ck_assert_int_gt(walk(dir, "several_errors.rpc", 0), 10);
	ck_assert_int_gt(walk(dir, "syntax_recovery.rpc", 0), 10);
	ck_assert_int_gt(walk(dir, "import_cycle.rpc", 0), 10);
	ck_assert_int_gt(walk(dir, "unterminated_string.rpc", 0), 3);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("idl-oom");
	TCase *tc;
	SRunner *sr;
	int failed;

	if (argc != 2) {
		fprintf(stderr, "usage: %s TESTS_IDL_DIR\n", argv[0]);
		return 2;
	}
	src_dir = argv[1];
	tc = tcase_create("allocation failures");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_oom_all_rpc);
	tcase_add_test(tc, test_oom_with_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
