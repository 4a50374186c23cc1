/* helpers.h - shared by the IDL front-end tests: load .rpc text from
 * memory and capture the diagnostics as one string. */
#ifndef IDL_TEST_HELPERS_H
#define IDL_TEST_HELPERS_H

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ast.h"

/* Captured diagnostics: every callback's text, appended. */
typedef struct capture {
	char *text;
	size_t len;
	int calls;
} capture;

static inline void capture_fn(void *ctx, const char *text)
{
	capture *c = ctx;
	size_t n = strlen(text);
	char *p = realloc(c->text, c->len + n + 1);

	if (!p) /* no ck_assert: --regen calls this outside any test */
		abort();
	memcpy(p + c->len, text, n + 1);
	c->text = p;
	c->len += n;
	c->calls++;
}

static inline void capture_fini(capture *c)
{
	free(c->text);
	memset(c, 0, sizeof(*c));
}

/* A scratch folder, made per test and entered, so diagnostics name files
 * by short relative paths ("main.rpc:1:1: ..."). */
typedef struct scratch {
	char dir[64];
	int cwd;
	char *files[16];
	int n_files;
} scratch;

static inline void scratch_enter(scratch *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/idl-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	s->cwd = open(".", O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(s->cwd, 0);
	ck_assert_int_eq(chdir(s->dir), 0);
}

/* scratch_write writes name (relative, may be in a subfolder that
 * scratch_mkdir made) with text. */
static inline void scratch_write(scratch *s, const char *name, const char *text)
{
	FILE *f = fopen(name, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_lt(s->n_files, 16);
	s->files[s->n_files++] = strdup(name);
}

static inline void scratch_mkdir(scratch *s, const char *name)
{
	(void)s;
	ck_assert_int_eq(mkdir(name, 0700), 0);
}

static inline void scratch_leave(scratch *s)
{
	int i;

	for (i = s->n_files - 1; i >= 0; i--) {
		unlink(s->files[i]);
		free(s->files[i]);
	}
	/* subfolders made by tests, deepest first */
	rmdir("inc/sub");
	rmdir("inc");
	rmdir("sub");
	ck_assert_int_eq(fchdir(s->cwd), 0);
	close(s->cwd);
	ck_assert_int_eq(rmdir(s->dir), 0);
}

/* load_text writes text as main.rpc in a fresh scratch folder and loads
 * it. Returns idl_load's result; diagnostics land in *cap, the program in
 * *out (NULL on error). */
static inline int load_text(const char *text, capture *cap, idl_program **out)
{
	scratch s;
	idl_options o = {.diag = capture_fn, .diag_ctx = cap};
	int rc;

	scratch_enter(&s);
	scratch_write(&s, "main.rpc", text);
	rc = idl_load("main.rpc", &o, out);
	scratch_leave(&s);
	return rc;
}

/* expect_error loads text, expects exactly n errors and the diagnostics
 * to contain want. */
#define expect_error(src_, n_, want_)                                          \
	do {                                                                   \
		capture cap_ = {0};                                            \
		idl_program *p_ = (idl_program *)1;                            \
		int rc_ = load_text((src_), &cap_, &p_);                       \
		ck_assert_ptr_null(p_);                                        \
		ck_assert_msg(rc_ == (n_), "want %d errors, got %d:\n%s",      \
		              (n_), rc_, cap_.text ? cap_.text : "");          \
		ck_assert_msg(cap_.text &&strstr(cap_.text, (want_)),          \
		              "want \"%s\" in:\n%s", (want_),                  \
		              cap_.text ? cap_.text : "(nothing)");            \
		capture_fini(&cap_);                                           \
	} while (0)

#endif
