/* test_diag.c - diagnostic goldens.
 *
 * For every diag/NAME.rpc, the diagnostics idl_load hands to the callback
 * must equal diag/NAME.err byte for byte, and idl_load must fail when they
 * hold an error and succeed when they hold only warnings. Files load from
 * inside diag/ (so diagnostics name them by short relative paths) with
 * "incpath" as the one -I folder. A first line
 * "// diag-options: go-errors werror" sets those idl_options (either
 * word may be left out).
 *
 *   test_idl_diag DIR           run the goldens in DIR
 *   test_idl_diag --regen DIR   rewrite every DIR/NAME.err (then review
 *                               the diff); see tests/idl/regen-diag.sh
 */
#include <dirent.h>

#include "helpers.h"

static char *diag_dir;
static char **names; /* NAME of each NAME.rpc, sorted */
static int n_names;

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d) {
		perror(dir);
		exit(2);
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (n > 4 && strcmp(e->d_name + n - 4, ".rpc") == 0) {
			names = realloc(names, sizeof(*names) * (n_names + 1));
			names[n_names++] = strndup(e->d_name, n - 4);
		}
	}
	closedir(d);
	qsort(names, n_names, sizeof(*names), cmp_names);
}

/* diag_options reads the "// diag-options: ..." first line of path. */
static void diag_options(const char *path, idl_options *o)
{
	char line[256] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	if (fgets(line, sizeof(line), f) &&
	    strncmp(line, "// diag-options:", 16) == 0) {
		o->go_errors = strstr(line, " go-errors") != NULL;
		o->werror = strstr(line, " werror") != NULL;
	}
	fclose(f);
}

/* has_error tells whether diagnostics text holds an error. */
static int has_error(const char *text)
{
	return strncmp(text, "error: ", 7) == 0 || strstr(text, ": error: ");
}

/* run loads NAME.rpc from diag_dir and returns the diagnostics text. */
static char *run(const char *name, int *rc)
{
	static const char *const inc[] = {"incpath"};
	capture cap = {0};
	idl_options o = {.include_dirs = inc,
	                 .n_include_dirs = 1,
	                 .diag = capture_fn,
	                 .diag_ctx = &cap};
	idl_program *prog = NULL;
	char path[256];
	int cwd = open(".", O_RDONLY | O_DIRECTORY);

	if (cwd < 0 || chdir(diag_dir) != 0) {
		perror(diag_dir);
		exit(2);
	}
	snprintf(path, sizeof(path), "%s.rpc", name);
	diag_options(path, &o);
	*rc = idl_load(path, &o, &prog);
	idl_program_free(prog);
	if (fchdir(cwd) != 0)
		exit(2);
	close(cwd);
	return cap.text ? cap.text : strdup("");
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(test_diag_golden)
{
	char path[512];
	char *got, *want;
	int rc;

	got = run(names[_i], &rc);
	snprintf(path, sizeof(path), "%s/%s.err", diag_dir, names[_i]);
	want = slurp(path);
	ck_assert_msg(want != NULL, "%s: missing golden (run regen-diag.sh)",
	              path);
	if (has_error(want))
		ck_assert_msg(rc > 0,
		              "%s.rpc: expected errors, idl_load returned 0",
		              names[_i]);
	else
		ck_assert_msg(rc == 0 && want[0] != '\0',
		              "%s.rpc: expected warnings only, idl_load "
		              "returned %d",
		              names[_i], rc);
	ck_assert_msg(
	    strcmp(got, want) == 0,
	    "%s.rpc: diagnostics differ\n--- want (%s)\n%s--- got\n%s",
	    names[_i], path, want, got);
	free(got);
	free(want);
}
END_TEST

static int regen(void)
{
	int i, rc;

	for (i = 0; i < n_names; i++) {
		char path[512];
		char *got = run(names[i], &rc);
		FILE *f;

		if (got[0] == '\0')
			fprintf(stderr, "warning: %s.rpc has no diagnostics\n",
			        names[i]);
		snprintf(path, sizeof(path), "%s/%s.err", diag_dir, names[i]);
		f = fopen(path, "wb");
		if (!f || fputs(got, f) < 0 || fclose(f) != 0) {
			perror(path);
			return 1;
		}
		free(got);
	}
	printf("wrote %d goldens in %s\n", n_names, diag_dir);
	return 0;
}

int main(int argc, char **argv)
{
	Suite *s;
	SRunner *sr;
	TCase *tc;
	int failed, i;

	if (argc == 3 && strcmp(argv[1], "--regen") == 0) {
		diag_dir = argv[2];
		scan(diag_dir);
		return regen();
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s [--regen] DIAG_DIR\n", argv[0]);
		return 2;
	}
	diag_dir = argv[1];
	scan(diag_dir);
	s = suite_create("idl-diag");
	tc = tcase_create("golden");
	tcase_add_loop_test(tc, test_diag_golden, 0, n_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	return n_names > 0 && failed == 0 ? 0 : 1;
}
