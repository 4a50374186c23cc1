/* test_compiler.c - the template engine, the rpcgen-c command line and the
 * golden files.
 *
 * rpcgen-c and the goldens are found through the environment (RPCGEN_C,
 * GOLDEN_DIR; meson sets both). Every run of rpcgen-c is a child process
 * waited for by pid, with its output captured in files of a temporary
 * folder that the test removes.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "depfile.h"
#include "tmpl.h"

/* ---- helpers ------------------------------------------------------------- */

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	tmpl_buf b = {0};
	char chunk[4096];
	size_t n;
	tmpl_buf_add(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		tmpl_buf_add(&b, chunk, n);
	fclose(f);
	return b.data;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static char *path_join(const char *a, const char *b)
{
	char *p;
	ck_assert_int_ge(asprintf(&p, "%s/%s", a, b), 0);
	return p;
}

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* A scratch folder: in/ for inputs, out/ for outputs, logs beside. */
typedef struct scratch {
	char root[256];
	char *in, *out, *stdout_path, *stderr_path;
} scratch;

static void scratch_init(scratch *s)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(s->root, sizeof s->root, "%s/rpcgen-test-XXXXXX",
	         tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(s->root));
	s->in = path_join(s->root, "in");
	s->out = path_join(s->root, "out");
	s->stdout_path = path_join(s->root, "stdout");
	s->stderr_path = path_join(s->root, "stderr");
	ck_assert_int_eq(mkdir(s->in, 0777), 0);
	ck_assert_int_eq(mkdir(s->out, 0777), 0);
}

static void scratch_fini(scratch *s)
{
	nftw(s->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(s->in);
	free(s->out);
	free(s->stdout_path);
	free(s->stderr_path);
}

static const char *rpcgen(void)
{
	const char *p = getenv("RPCGEN_C");
	ck_assert_msg(p != NULL, "RPCGEN_C is not set");
	return p;
}

static const char *golden_dir(void)
{
	const char *p = getenv("GOLDEN_DIR");
	ck_assert_msg(p != NULL, "GOLDEN_DIR is not set");
	return p;
}

/* run_rpcgen runs rpcgen-c with args (NULL-terminated, without argv[0]),
 * stdout and stderr into the scratch logs; returns its exit status. */
static int run_rpcgen(scratch *s, const char *const *args)
{
	const char *argv[32];
	size_t n = 0;
	argv[n++] = rpcgen();
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o =
		    open(s->stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		int e =
		    open(s->stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
		if (o < 0 || e < 0)
			_exit(127);
		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static size_t dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static char *log_text(const char *path)
{
	char *t = read_all(path);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* ---- template engine ----------------------------------------------------- */

/* render parses and renders src against v; returns the output (or the
 * error text when ok is false), malloc'd. */
static char *render(const char *src, const tmpl_val *v, bool *ok)
{
	tmpl_buf out = {0}, err = {0};
	tmpl *t = NULL;
	int rc = tmpl_parse("t.tmpl", src, strlen(src), &t, &err);
	if (rc == 0)
		rc = tmpl_render(t, v, &out, &err);
	tmpl_free(t);
	*ok = rc == 0;
	tmpl_buf_add(&out, "", 0);
	tmpl_buf_add(&err, "", 0);
	if (*ok) {
		tmpl_buf_fini(&err);
		return out.data;
	}
	tmpl_buf_fini(&out);
	return err.data;
}

START_TEST(test_tmpl_variables_are_substituted)
{
	tmpl_arena *a = tmpl_arena_new();
	tmpl_val *v = tmpl_obj(a);
	tmpl_set_str(a, v, "x", "world");
	tmpl_set_strf(a, v, "n", "%d", 42);
	bool ok;
	char *r = render("hello {{x}} {{ n }}!", v, &ok);
	ck_assert(ok);
	ck_assert_str_eq(r, "hello world 42!");
	free(r);
	tmpl_arena_free(a);
}
END_TEST

START_TEST(test_tmpl_sections_iterate_lists)
{
	tmpl_arena *a = tmpl_arena_new();
	tmpl_val *v = tmpl_obj(a);
	tmpl_val *l = tmpl_set_list(a, v, "items");
	const char *names[] = {"a", "b", "c"};
	for (int i = 0; i < 3; i++)
		tmpl_set_str(a, tmpl_push(a, l), "name", names[i]);
	tmpl_set_str(a, v, "sep", ", ");
	bool ok;
	char *r = render("[{{#items}}{{@index}}={{name}}{{^@last}}{{sep}}"
	                 "{{/@last}}{{/items}}]",
	                 v, &ok);
	ck_assert(ok);
	ck_assert_str_eq(r, "[0=a, 1=b, 2=c]");
	free(r);
	ck_assert_uint_eq(tmpl_list_len(l), 3);
	tmpl_arena_free(a);
}
END_TEST

START_TEST(test_tmpl_conditionals_follow_value_kinds)
{
	tmpl_arena *a = tmpl_arena_new();
	tmpl_val *v = tmpl_obj(a);
	tmpl_set_bool(a, v, "yes", true);
	tmpl_set_bool(a, v, "no", false);
	tmpl_set_str(a, v, "empty", "");
	tmpl_set_str(a, v, "full", "x");
	tmpl_set_list(a, v, "none");
	bool ok;
	char *r = render("{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{^no}}n{{/no}}"
	                 "{{#empty}}E{{/empty}}{{^empty}}e{{/empty}}"
	                 "{{#full}}F{{/full}}{{^none}}0{{/none}}",
	                 v, &ok);
	ck_assert(ok);
	ck_assert_str_eq(r, "YneF0");
	free(r);
	tmpl_arena_free(a);
}
END_TEST

START_TEST(test_tmpl_standalone_tags_take_their_line)
{
	tmpl_arena *a = tmpl_arena_new();
	tmpl_val *v = tmpl_obj(a);
	tmpl_val *l = tmpl_set_list(a, v, "xs");
	tmpl_set_str(a, tmpl_push(a, l), "x", "1");
	tmpl_set_str(a, tmpl_push(a, l), "x", "2");
	bool ok;
	char *r = render("begin\n{{! a comment }}\n  {{#xs}}\n\tv{{x}};\n"
	                 "  {{/xs}}\nend\n",
	                 v, &ok);
	ck_assert(ok);
	ck_assert_str_eq(r, "begin\n\tv1;\n\tv2;\nend\n");
	free(r);
	tmpl_arena_free(a);
}
END_TEST

START_TEST(test_tmpl_names_resolve_outwards)
{
	tmpl_arena *a = tmpl_arena_new();
	tmpl_val *v = tmpl_obj(a);
	tmpl_set_str(a, v, "outer", "O");
	tmpl_val *l = tmpl_set_list(a, v, "xs");
	tmpl_set_str(a, tmpl_push(a, l), "outer", "I");
	tmpl_push(a, l);
	bool ok;
	char *r = render("{{#xs}}{{outer}}{{/xs}}", v, &ok);
	ck_assert(ok);
	ck_assert_str_eq(r, "IO");
	free(r);
	tmpl_arena_free(a);
}
END_TEST

START_TEST(test_tmpl_unknown_name_fails_with_location)
{
	tmpl_arena *a = tmpl_arena_new();
	tmpl_val *v = tmpl_obj(a);
	bool ok;
	char *r = render("line one\n  x {{nope}}\n", v, &ok);
	ck_assert(!ok);
	ck_assert_str_eq(r, "t.tmpl:2:5: error: unknown name 'nope'\n");
	free(r);
	r = render("{{#missing}}x{{/missing}}", v, &ok);
	ck_assert(!ok);
	ck_assert_str_eq(r, "t.tmpl:1:1: error: unknown name 'missing'\n");
	free(r);
	tmpl_arena_free(a);
}
END_TEST

START_TEST(test_tmpl_syntax_errors_are_reported)
{
	tmpl_arena *a = tmpl_arena_new();
	tmpl_val *v = tmpl_obj(a);
	tmpl_set_bool(a, v, "x", true);
	bool ok;
	char *r = render("a\n{{#x}}never closed", v, &ok);
	ck_assert(!ok);
	ck_assert_str_eq(r, "t.tmpl:2:1: error: section 'x' is not closed\n");
	free(r);
	r = render("{{#x}}{{/y}}", v, &ok);
	ck_assert(!ok);
	ck_assert_str_eq(r, "t.tmpl:1:7: error: unexpected '{{/y}}'\n");
	free(r);
	r = render("{{x", v, &ok);
	ck_assert(!ok);
	ck_assert_str_eq(r, "t.tmpl:1:1: error: '{{' without '}}'\n");
	free(r);
	r = render("{{x}}", v, &ok); /* a boolean is not text */
	ck_assert(!ok);
	ck_assert_str_eq(r, "t.tmpl:1:1: error: not a string: 'x'\n");
	free(r);
	tmpl_arena_free(a);
}
END_TEST

START_TEST(test_tmpl_random_input_never_crashes)
{
	/* random text over the engine's own alphabet: every run either
	 * renders or reports an error with a location */
	static const char alphabet[] = "{{}}#^/!@ xyl\n";
	tmpl_arena *a = tmpl_arena_new();
	tmpl_val *v = tmpl_obj(a);
	tmpl_set_str(a, v, "x", "X");
	tmpl_set_bool(a, v, "y", true);
	tmpl_val *l = tmpl_set_list(a, v, "l");
	tmpl_set_str(a, tmpl_push(a, l), "x", "1");
	unsigned seed = 12345;
	for (int round = 0; round < 3000; round++) {
		char src[48];
		seed = seed * 1103515245u + 12345u;
		size_t n = (seed >> 16) % (sizeof src - 1);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			src[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
		}
		src[n] = '\0';
		bool ok;
		char *r = render(src, v, &ok);
		ck_assert_ptr_nonnull(r);
		if (!ok)
			ck_assert_msg(strncmp(r, "t.tmpl:", 7) == 0 &&
			                  strstr(r, ": error: ") != NULL,
			              "bad error text for '%s': %s", src, r);
		free(r);
	}
	tmpl_arena_free(a);
}
END_TEST

/* ---- golden files -------------------------------------------------------- */

static const char *const goldens[] = {"arith", "all",   "common", "nopkg",
                                      "base",  "imp",   "kinds",  "arrays"};
#define N_GOLDENS (int)(sizeof goldens / sizeof goldens[0])

/* compare_file fails with a unified diff when out/name differs from the
 * golden copy. */
static void compare_file(scratch *s, const char *name)
{
	char *want_path = path_join(golden_dir(), name);
	char *got_path = path_join(s->out, name);
	char *want = read_all(want_path);
	char *got = read_all(got_path);
	ck_assert_msg(want != NULL, "missing golden %s", want_path);
	ck_assert_msg(got != NULL, "rpcgen-c did not write %s", got_path);
	if (strcmp(want, got) != 0) {
		char *cmd;
		ck_assert_int_ge(asprintf(&cmd, "diff -u '%s' '%s' >&2",
		                          want_path, got_path),
		                 0);
		if (system(cmd) == -1)
			perror("diff");
		free(cmd);
		ck_abort_msg("%s differs from its golden copy (regenerate "
		             "with tests/compiler/regen-golden.sh BUILD_DIR "
		             "and review the diff)",
		             name);
	}
	free(want);
	free(got);
	free(want_path);
	free(got_path);
}

START_TEST(test_golden_outputs_match)
{
	scratch s;
	scratch_init(&s);
	const char *g = goldens[_i];
	char *input, *h, *c, *p, *go;
	ck_assert_int_ge(asprintf(&input, "%s/%s.rpc", golden_dir(), g), 0);
	const char *args[] = {"--emit-proto", "--emit-go", "-I",  golden_dir(),
	                      "-o",           s.out,       input, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 0);
	ck_assert_int_ge(asprintf(&h, "%s.rpc.h", g), 0);
	ck_assert_int_ge(asprintf(&c, "%s.rpc.c", g), 0);
	ck_assert_int_ge(asprintf(&p, "%s.proto", g), 0);
	ck_assert_int_ge(asprintf(&go, "%s.rpc.go", g), 0);
	compare_file(&s, h);
	compare_file(&s, c);
	compare_file(&s, p);
	compare_file(&s, go);
	ck_assert_uint_eq(dir_entries(s.out), 4);
	free(go);
	free(h);
	free(c);
	free(p);
	free(input);
	scratch_fini(&s);
}
END_TEST

/* ---- command line -------------------------------------------------------- */

START_TEST(test_cli_help_and_version_exit_0)
{
	scratch s;
	scratch_init(&s);
	const char *help[] = {"--help", NULL};
	ck_assert_int_eq(run_rpcgen(&s, help), 0);
	char *out = log_text(s.stdout_path);
	ck_assert_ptr_nonnull(
	    strstr(out, "Usage: rpcgen-c [options] FILE.rpc"));
	ck_assert_ptr_nonnull(strstr(out, "--emit-proto"));
	ck_assert_ptr_nonnull(strstr(out, "--template-dir"));
	ck_assert_ptr_nonnull(strstr(out, "--emit-go"));
	ck_assert_ptr_nonnull(strstr(out, "--go-package NAME"));
	free(out);
	const char *version[] = {"--version", NULL};
	ck_assert_int_eq(run_rpcgen(&s, version), 0);
	out = log_text(s.stdout_path);
	ck_assert_str_eq(out, "rpcgen-c " RPCGEN_VERSION "\n");
	free(out);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_cli_bad_usage_exits_2)
{
	scratch s;
	scratch_init(&s);
	const char *none[] = {NULL};
	const char *unknown[] = {"--frobnicate", "x.rpc", NULL};
	const char *two[] = {"a.rpc", "b.rpc", NULL};
	const char *noarg[] = {"x.rpc", "-o", NULL};
	ck_assert_int_eq(run_rpcgen(&s, none), 2);
	char *err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(err, "no input file"));
	free(err);
	ck_assert_int_eq(run_rpcgen(&s, unknown), 2);
	err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(err, "unknown option '--frobnicate'"));
	free(err);
	ck_assert_int_eq(run_rpcgen(&s, two), 2);
	ck_assert_int_eq(run_rpcgen(&s, noarg), 2);
	ck_assert_uint_eq(dir_entries(s.out), 0);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_cli_bad_input_exits_1_and_writes_nothing)
{
	scratch s;
	scratch_init(&s);
	char *bad = path_join(s.in, "bad.rpc");
	char *dep = path_join(s.out, "bad.d");
	write_file(bad, "package p;\nstruct A { int64 X; }\n"
	                "service S { M(Nope a, A *r); }\n");
	const char *args[] = {"--emit-proto", "-M", dep, "-o",
	                      s.out,          bad,  NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 1);
	char *err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(err, "bad.rpc:3:"));
	ck_assert_ptr_nonnull(strstr(err, "error:"));
	free(err);
	ck_assert_uint_eq(dir_entries(s.out), 0);

	char *missing = path_join(s.in, "missing.rpc");
	const char *args2[] = {"-o", s.out, missing, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args2), 1);
	ck_assert_uint_eq(dir_entries(s.out), 0);

	/* an output folder that cannot be made (a file is in the way):
	 * nothing is created */
	char *nodir = path_join(s.stdout_path, "dir");
	char *good = path_join(golden_dir(), "arith.rpc");
	const char *args3[] = {"-o", nodir, good, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args3), 1);
	ck_assert_uint_eq(dir_entries(s.out), 0);
	free(nodir);
	free(good);
	free(missing);
	free(bad);
	free(dep);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_cli_wrapper_collision_exits_1)
{
	scratch s;
	scratch_init(&s);
	char *in = path_join(s.in, "coll.rpc");
	write_file(in, "package p;\nstruct Int64Value { int64 value; }\n"
	               "service S { M(Int64Value a, int64 *r); }\n");
	const char *args[] = {"-o", s.out, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 1);
	char *err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(
	    err, "coll.rpc:3:29: error: the wrapper message 'Int64Value' "
	         "generated for 'int64' collides with a declared type"));
	ck_assert_uint_eq(dir_entries(s.out), 0);
	free(err);
	free(in);
	scratch_fini(&s);
}
END_TEST

/* a const's macro must not be another macro of the header: the include
 * guard, or the initialiser of a wrapper or map entry message */
START_TEST(test_cli_const_macro_clashes_exit_1)
{
	scratch s;
	scratch_init(&s);
	char *in = path_join(s.in, "p.rpc");
	write_file(in, "package p;\n"
	               "const int32 RPC_H = 1;\n"
	               "const int32 INT64VALUE_INIT = 2;\n"
	               "struct M { map<string, int64> Counts; }\n"
	               "const int32 M_COUNTSENTRY_INIT = 3;\n"
	               "service S { Get(int64 a, M *r); }\n");
	const char *args[] = {"-o", s.out, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 1);
	char *err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(err, "p.rpc:2:1: error: const 'RPC_H' "
	                                  "is 'P_RPC_H' in C, the include "
	                                  "guard of p.rpc.h"));
	ck_assert_ptr_nonnull(strstr(err, "p.rpc:3:1: error: const "
	                                  "'INT64VALUE_INIT' is "
	                                  "'P_INT64VALUE_INIT' in C, the "
	                                  "initialiser of the generated "
	                                  "message p_Int64Value"));
	ck_assert_ptr_nonnull(strstr(err, "p.rpc:5:1: error: const "
	                                  "'M_COUNTSENTRY_INIT'"));
	ck_assert_uint_eq(dir_entries(s.out), 0);
	free(err);
	free(in);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_cli_generated_name_clashes_exit_1)
{
	scratch s;
	scratch_init(&s);
	char *in = path_join(s.in, "clash.rpc");
	write_file(in, "package p;\nstruct A { int64 X; }\nservice S {\n"
	               "  M(A a, A *r);\n  M_go(A a, A *r);\n"
	               "  handlers(A a, A *r);\n  M_opts(A a, A *r);\n"
	               "  M_go_opts(A a, A *r);\n}\n");
	const char *args[] = {"-o", s.out, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 1);
	char *err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(err, "clash.rpc:5:3: error: method name "
	                                  "'M_go' clashes with the "
	                                  "asynchronous stub of method 'M'"));
	ck_assert_ptr_nonnull(strstr(err, "clash.rpc:6:3: error: method name "
	                                  "'handlers' clashes with the "
	                                  "generated S_handlers"));
	ck_assert_ptr_nonnull(strstr(err, "clash.rpc:7:3: error: method name "
	                                  "'M_opts' clashes with the "
	                                  "options stub of method 'M'"));
	ck_assert_ptr_nonnull(strstr(err, "clash.rpc:8:3: error: method name "
	                                  "'M_go_opts' clashes with the "
	                                  "options stub of method 'M_go'"));
	ck_assert_uint_eq(dir_entries(s.out), 0);
	free(err);
	free(in);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_cli_depfile_names_outputs_and_imports)
{
	scratch s;
	scratch_init(&s);
	char *dep = path_join(s.root, "all.d");
	char *input = path_join(golden_dir(), "all.rpc");
	const char *args[] = {"-o", s.out, "-M", dep, input, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 0);
	char *text = log_text(dep);
	char *want_head;
	ck_assert_int_ge(
	    asprintf(&want_head, "%s/all.rpc.h %s/all.rpc.c:", s.out, s.out),
	    0);
	ck_assert_msg(strncmp(text, want_head, strlen(want_head)) == 0,
	              "depfile starts with: %s", text);
	ck_assert_ptr_nonnull(strstr(text, "all.rpc \\\n"));
	ck_assert_ptr_nonnull(strstr(text, "common.rpc\n"));
	ck_assert_uint_eq(dir_entries(s.out), 2);
	free(want_head);
	free(text);
	free(input);
	free(dep);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_cli_include_dirs_are_searched)
{
	scratch s;
	scratch_init(&s);
	char *inc = path_join(s.in, "inc");
	ck_assert_int_eq(mkdir(inc, 0777), 0);
	char *common = path_join(inc, "common.rpc");
	char *src = path_join(golden_dir(), "common.rpc");
	char *text = log_text(src);
	write_file(common, text);
	free(text);
	char *main_rpc = path_join(s.in, "all.rpc");
	char *src2 = path_join(golden_dir(), "all.rpc");
	text = log_text(src2);
	write_file(main_rpc, text);
	free(text);

	const char *without[] = {"-o", s.out, main_rpc, NULL};
	ck_assert_int_eq(run_rpcgen(&s, without), 1);
	ck_assert_uint_eq(dir_entries(s.out), 0);
	const char *with[] = {"-I", s.root, "-I",     inc,
	                      "-o", s.out,  main_rpc, NULL};
	ck_assert_int_eq(run_rpcgen(&s, with), 0);
	compare_file(&s, "all.rpc.h");
	compare_file(&s, "all.rpc.c");
	free(inc);
	free(common);
	free(src);
	free(main_rpc);
	free(src2);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_depfile_escapes_make_specials)
{
	tmpl_buf b = {0};
	const char *targets[] = {"out dir/a.rpc.h", "out dir/a.rpc.c"};
	const char *deps[] = {"my dir/a.rpc", "x#1/$b.rpc"};
	depfile_write(&b, targets, 2, deps, 2);
	ck_assert_str_eq(b.data, "out\\ dir/a.rpc.h out\\ dir/a.rpc.c: \\\n"
	                         "  my\\ dir/a.rpc \\\n"
	                         "  x\\#1/$$b.rpc\n");
	tmpl_buf_fini(&b);
}
END_TEST

START_TEST(test_cli_template_dir_overrides_embedded)
{
	scratch s;
	scratch_init(&s);
	char *tmpl = path_join(s.in, "header.tmpl");
	write_file(tmpl, "// custom header for {{source}} ({{guard}})\n");
	char *input = path_join(golden_dir(), "arith.rpc");
	const char *args[] = {"--template-dir", s.in, "-o", s.out, input, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 0);
	char *h = path_join(s.out, "arith.rpc.h");
	char *text = log_text(h);
	ck_assert_str_eq(text,
	                 "// custom header for arith.rpc (ARITH_RPC_H)\n");
	free(text);
	/* templates missing from the folder come from the binary */
	compare_file(&s, "arith.rpc.c");
	free(h);
	free(input);
	free(tmpl);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_cli_unknown_template_name_fails_with_location)
{
	scratch s;
	scratch_init(&s);
	char *tmpl = path_join(s.in, "source.tmpl");
	write_file(tmpl,
	           "/* ok */\n{{#services}}\n  {{s_nmae}}\n{{/services}}\n");
	char *input = path_join(golden_dir(), "arith.rpc");
	const char *args[] = {
	    "--template-dir", s.in, "--emit-proto", "-o", s.out, input, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 1);
	char *err = log_text(s.stderr_path);
	char *want;
	ck_assert_int_ge(
	    asprintf(&want, "%s:3:3: error: unknown name 's_nmae'\n", tmpl), 0);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(dir_entries(s.out), 0);
	free(want);
	free(err);
	free(input);
	free(tmpl);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_cli_replaces_outputs_atomically)
{
	scratch s;
	scratch_init(&s);
	char *input = path_join(golden_dir(), "arith.rpc");
	char *h = path_join(s.out, "arith.rpc.h");
	write_file(h, "stale\n");
	const char *args[] = {"-o", s.out, input, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 0);
	compare_file(&s, "arith.rpc.h");
	ck_assert_uint_eq(dir_entries(s.out), 2); /* no temporaries left */
	struct stat st;
	ck_assert_int_eq(stat(h, &st), 0);
	ck_assert_uint_ne(st.st_mode & 0444, 0);
	free(h);
	free(input);
	scratch_fini(&s);
}
END_TEST

/* ---- Go output ----------------------------------------------------------- */

/* out_text returns the text of out/name (which must exist), malloc'd. */
static char *out_text(scratch *s, const char *name)
{
	char *p = path_join(s->out, name);
	char *t = log_text(p);
	free(p);
	return t;
}

START_TEST(test_go_emit_writes_go_file_and_depfile_target)
{
	scratch s;
	scratch_init(&s);
	char *dep = path_join(s.root, "all.d");
	char *input = path_join(golden_dir(), "all.rpc");
	const char *args[] = {"--emit-go", "-o", s.out, "-M", dep, input, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 0);
	ck_assert_uint_eq(dir_entries(s.out), 3);
	compare_file(&s, "all.rpc.go");
	compare_file(&s, "all.rpc.h");
	compare_file(&s, "all.rpc.c");
	char *text = log_text(dep);
	char *want_head;
	ck_assert_int_ge(asprintf(&want_head,
	                          "%s/all.rpc.h %s/all.rpc.c %s/all.rpc.go:",
	                          s.out, s.out, s.out),
	                 0);
	ck_assert_msg(strncmp(text, want_head, strlen(want_head)) == 0,
	              "depfile starts with: %s", text);
	free(want_head);
	free(text);
	free(input);
	free(dep);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_go_package_option_and_defaults)
{
	scratch s;
	scratch_init(&s);
	char *arith = path_join(golden_dir(), "arith.rpc");
	const char *named[] = {"--emit-go", "--go-package", "peer", "-o",
	                       s.out,       arith,          NULL};
	ck_assert_int_eq(run_rpcgen(&s, named), 0);
	char *go = out_text(&s, "arith.rpc.go");
	ck_assert_ptr_nonnull(strstr(go, "\npackage peer\n"));
	ck_assert_ptr_nonnull(
	    strstr(go, "// Code generated by rpcgen-c " RPCGEN_VERSION
	               " from arith.rpc. DO NOT EDIT.\n"));
	free(go);

	/* the IDL package by default */
	const char *plain[] = {"--emit-go", "-o", s.out, arith, NULL};
	ck_assert_int_eq(run_rpcgen(&s, plain), 0);
	go = out_text(&s, "arith.rpc.go");
	ck_assert_ptr_nonnull(strstr(go, "\npackage arith\n"));
	free(go);

	/* no package: the file's base name, made a Go identifier */
	char *odd = path_join(s.in, "9-lives.rpc");
	write_file(odd, "struct Cat { int32 Lives; }\n");
	const char *base[] = {"--emit-go", "-o", s.out, odd, NULL};
	ck_assert_int_eq(run_rpcgen(&s, base), 0);
	go = out_text(&s, "9-lives.rpc.go");
	ck_assert_ptr_nonnull(strstr(go, "\npackage rpc_9_lives\n"));
	ck_assert_ptr_nonnull(
	    strstr(go, "type Cat struct {\n\tLives int32\n}"));
	/* no service: no import of net/rpc */
	ck_assert_ptr_null(strstr(go, "net/rpc"));
	free(go);
	free(odd);
	free(arith);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_go_bad_options_exit_2)
{
	scratch s;
	scratch_init(&s);
	char *arith = path_join(golden_dir(), "arith.rpc");
	const char *kw[] = {"--emit-go", "--go-package", "func", "-o",
	                    s.out,       arith,          NULL};
	ck_assert_int_eq(run_rpcgen(&s, kw), 2);
	char *err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(
	    strstr(err, "--go-package 'func' is not a Go package name"));
	free(err);
	const char *dash[] = {"--emit-go", "--go-package", "a-b", "-o",
	                      s.out,       arith,          NULL};
	ck_assert_int_eq(run_rpcgen(&s, dash), 2);
	const char *alone[] = {"--go-package", "peer", "-o",
	                       s.out,          arith,  NULL};
	ck_assert_int_eq(run_rpcgen(&s, alone), 2);
	err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(err, "--go-package needs --emit-go"));
	free(err);
	const char *noarg[] = {"--emit-go", arith, "--go-package", NULL};
	ck_assert_int_eq(run_rpcgen(&s, noarg), 2);
	ck_assert_uint_eq(dir_entries(s.out), 0);
	free(arith);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_go_unexported_names_exit_1_and_write_nothing)
{
	scratch s;
	scratch_init(&s);
	char *in = path_join(s.in, "low.rpc");
	write_file(in, "package p;\nstruct pair { int64 a; int64 A; }\n"
	               "service calc {\n  add(pair x, int64 *r);\n"
	               "  Client(pair x, int64 *r);\n}\n");
	/* fine for C: warnings, exit 0 */
	const char *c_only[] = {"-o", s.out, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, c_only), 0);
	ck_assert_uint_eq(dir_entries(s.out), 2);
	char *warn = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(warn, "low.rpc:2:24: warning: fields 'a' "
	                                   "and 'A' are both 'A' in Go, gob "
	                                   "and JSON\n"));
	ck_assert_ptr_nonnull(strstr(warn, "low.rpc:4:3: warning: method name "
	                                   "'add' is not exported in Go"));
	ck_assert_ptr_null(strstr(warn, "error"));
	free(warn);
	char *h = path_join(s.out, "low.rpc.h");
	char *c = path_join(s.out, "low.rpc.c");
	ck_assert_int_eq(remove(h), 0);
	ck_assert_int_eq(remove(c), 0);
	free(h);
	free(c);

	const char *wall[] = {"-Wall", "-o", s.out, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, wall), 2);
	ck_assert_uint_eq(dir_entries(s.out), 0);
	/* -Werror: the warnings are errors, nothing written */
	const char *werror[] = {"-Werror", "-o", s.out, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, werror), 1);
	ck_assert_uint_eq(dir_entries(s.out), 0);
	char *err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(err, "low.rpc:4:3: error: method name "
	                                  "'add' is not exported in Go: a Go "
	                                  "net/rpc server serves only methods "
	                                  "that start with an upper-case "
	                                  "letter [-Werror]\n"));
	free(err);

	const char *args[] = {"--emit-go", "-o", s.out, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 1);
	err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(err, "low.rpc:2:24: error: fields 'a' and "
	                                  "'A' are both 'A' in Go, gob and "
	                                  "JSON\n"));
	ck_assert_ptr_nonnull(strstr(err, "low.rpc:4:3: error: method name "
	                                  "'add' is not exported in Go"));
	ck_assert_uint_eq(dir_entries(s.out), 0);
	free(err);

	/* a Go-only clash, found once the front end's rules pass */
	write_file(in, "package p;\nstruct pair { int64 A; }\n"
	               "service calc {\n  Add(pair x, int64 *r);\n"
	               "  Client(pair x, int64 *r);\n}\n");
	ck_assert_int_eq(run_rpcgen(&s, args), 1);
	err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(err, "low.rpc:5:3: error: method name "
	                                  "'Client' clashes with the "
	                                  "*rpc.Client field of the generated "
	                                  "CalcClient"));
	ck_assert_uint_eq(dir_entries(s.out), 0);
	free(err);
	free(in);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_go_name_collisions_exit_1)
{
	scratch s;
	scratch_init(&s);
	char *common = path_join(s.in, "q.rpc");
	write_file(common, "package q;\nstruct Point { int64 X; }\n");
	char *in = path_join(s.in, "coll.rpc");
	write_file(in, "package p;\nimport \"q.rpc\";\n"
	               "struct QPoint { int64 X; }\n"
	               "struct SClient { q.Point P; }\n"
	               "enum E { V = 0; }\nstruct E_V { int32 N; }\n"
	               "service S { M(QPoint a, int64 *r); }\n");
	const char *args[] = {"--emit-go", "-o", s.out, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 1);
	char *err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(err, "error: the Go name 'E_V' is "
	                                  "generated twice"));
	ck_assert_ptr_nonnull(strstr(err, "q.rpc:2:1: error: the Go name "
	                                  "'QPoint' is generated twice"));
	ck_assert_ptr_nonnull(strstr(err, "coll.rpc:7:1: error: the Go name "
	                                  "'SClient' is generated twice"));
	ck_assert_uint_eq(dir_entries(s.out), 0);
	free(err);
	free(in);
	free(common);
	scratch_fini(&s);
}
END_TEST

/* consts are Go constants named like types: their names must be
 * exported and must not collide with the other top-level Go names */
START_TEST(test_go_const_names_exit_1)
{
	scratch s;
	scratch_init(&s);
	char *in = path_join(s.in, "k.rpc");
	write_file(in, "package p;\n"
	               "struct Point { int64 X; }\n"
	               "const int32 point = 1;\n"
	               "const int32 _hidden = 2;\n"
	               "service S { M(Point a, int64 *r); }\n"
	               "const string SClient = \"x\";\n");
	const char *args[] = {"--emit-go", "-o", s.out, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 1);
	char *err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(err, "k.rpc:3:1: error: the Go name "
	                                  "'Point' is generated twice"));
	ck_assert_ptr_nonnull(strstr(err, "k.rpc:4:1: error: const name "
	                                  "'_hidden' has no exported Go "
	                                  "spelling"));
	ck_assert_ptr_nonnull(strstr(err, "k.rpc:6:1: error: the Go name "
	                                  "'SClient' is generated twice"));
	ck_assert_uint_eq(dir_entries(s.out), 0);
	free(err);
	/* without --emit-go the same file is fine C */
	const char *c_args[] = {"-o", s.out, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, c_args), 0);
	free(in);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_go_foreign_types_are_copied_once_per_go_package)
{
	scratch s;
	scratch_init(&s);
	char *q = path_join(s.in, "q.rpc");
	write_file(q, "package q;\n/// A point.\nstruct Point { int64 X; }\n"
	              "enum Color { RED = 0; }\n");
	char *a = path_join(s.in, "a.rpc");
	write_file(a, "package p;\nimport \"q.rpc\";\n"
	              "struct A { q.Point P; list<q.Color> C; }\n");
	char *b = path_join(s.in, "b.rpc");
	write_file(b, "package p;\nimport \"a.rpc\";\nimport \"q.rpc\";\n"
	              "struct B { A A; q.Point P; }\n");
	const char *ga[] = {"--emit-go", "-o", s.out, a, NULL};
	const char *gb[] = {"--emit-go", "-o", s.out, b, NULL};
	ck_assert_int_eq(run_rpcgen(&s, ga), 0);
	ck_assert_int_eq(run_rpcgen(&s, gb), 0);
	char *ta = out_text(&s, "a.rpc.go");
	char *tb = out_text(&s, "b.rpc.go");
	ck_assert_ptr_nonnull(strstr(ta, "type A struct {\n\tP *QPoint\n"
	                                 "\tC []QColor\n}\n"));
	ck_assert_ptr_nonnull(strstr(ta, "// Types of package q (q.rpc), "
	                                 "copied here with the prefix Q.\n"
	                                 "\n// A point.\n"
	                                 "type QPoint struct {\n"));
	ck_assert_ptr_nonnull(strstr(ta, "\tQColor_RED QColor = 0\n"));
	/* b.rpc's Go file sits in the same Go package as a.rpc's */
	ck_assert_ptr_nonnull(strstr(tb, "type B struct {\n\tA *A\n"
	                                 "\tP *QPoint\n}\n"));
	ck_assert_ptr_null(strstr(tb, "type QPoint"));
	ck_assert_ptr_null(strstr(tb, "type A "));
	free(ta);
	free(tb);
	free(a);
	free(b);
	free(q);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_go_template_error_writes_nothing)
{
	scratch s;
	scratch_init(&s);
	char *tmpl = path_join(s.in, "go.tmpl");
	write_file(tmpl, "package {{go_package}}\n{{#go_services}}\n"
	                 "type {{gs_nmae}} int\n{{/go_services}}\n");
	char *input = path_join(golden_dir(), "arith.rpc");
	const char *args[] = {
	    "--template-dir", s.in, "--emit-go", "-o", s.out, input, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 1);
	char *err = log_text(s.stderr_path);
	char *want;
	ck_assert_int_ge(
	    asprintf(&want, "%s:3:6: error: unknown name 'gs_nmae'\n", tmpl),
	    0);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(dir_entries(s.out), 0);

	/* the same override, fixed, is used in place of the embedded one */
	write_file(tmpl, "package {{go_package}}\n{{#go_services}}\n"
	                 "type {{gs_name}}Stub int\n{{/go_services}}\n");
	ck_assert_int_eq(run_rpcgen(&s, args), 0);
	char *go = out_text(&s, "arith.rpc.go");
	ck_assert_str_eq(go, "package arith\ntype ArithStub int\n");
	ck_assert_uint_eq(dir_entries(s.out), 3);
	free(go);
	free(want);
	free(err);
	free(input);
	free(tmpl);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_cli_out_dir_is_created)
{
	scratch s;
	scratch_init(&s);
	char *in = path_join(s.in, "a.rpc");
	write_file(in, "package a;\nstruct Args { int64 A; }\n");
	char *deep = path_join(s.out, "x/y/z");
	const char *args[] = {"-o", deep, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 0);
	ck_assert_uint_eq(dir_entries(deep), 2);
	/* a bad input creates nothing, not even the folder */
	char *bad = path_join(s.in, "bad.rpc");
	write_file(bad, "struct Args { Nope A; }\n");
	char *other = path_join(s.out, "other");
	const char *args2[] = {"-o", other, bad, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args2), 1);
	ck_assert_int_ne(access(other, F_OK), 0);
	/* a file in the way is an error */
	char *file = path_join(s.out, "file");
	write_file(file, "");
	char *under = path_join(file, "sub");
	const char *args3[] = {"-o", under, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args3), 1);
	char *err = log_text(s.stderr_path);
	ck_assert_ptr_nonnull(strstr(err, "rpcgen-c: error: cannot create '"));
	free(err);
	free(under);
	free(file);
	free(other);
	free(bad);
	free(deep);
	free(in);
	scratch_fini(&s);
}
END_TEST

START_TEST(test_go_only_writes_only_go)
{
	scratch s;
	scratch_init(&s);
	char *in = path_join(s.in, "a.rpc");
	write_file(in, "package a;\nstruct Args { int64 A; }\n"
	               "service S { M(Args a, int64 *r); }\n");
	char *dep = path_join(s.root, "a.d");
	const char *args[] = {
	    "--emit-go-only", "-M", dep, "-o", s.out, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, args), 0);
	ck_assert_uint_eq(dir_entries(s.out), 1);
	char *go = path_join(s.out, "a.rpc.go");
	ck_assert_int_eq(access(go, F_OK), 0);
	char *d = log_text(dep);
	ck_assert_ptr_nonnull(strstr(d, "a.rpc.go"));
	ck_assert_ptr_null(strstr(d, "a.rpc.h"));
	free(d);
	const char *pkg[] = {
	    "--emit-go-only", "--go-package", "peer", "-o", s.out, in, NULL};
	ck_assert_int_eq(run_rpcgen(&s, pkg), 0);
	ck_assert_uint_eq(dir_entries(s.out), 1);
	char *text = log_text(go);
	ck_assert_ptr_nonnull(strstr(text, "package peer\n"));
	free(text);
	free(go);
	free(dep);
	free(in);
	scratch_fini(&s);
}
END_TEST

static Suite *compiler_suite(void)
{
	Suite *s = suite_create("compiler");
	TCase *tc = tcase_create("tmpl");
	tcase_add_test(tc, test_tmpl_variables_are_substituted);
	tcase_add_test(tc, test_tmpl_sections_iterate_lists);
	tcase_add_test(tc, test_tmpl_conditionals_follow_value_kinds);
	tcase_add_test(tc, test_tmpl_standalone_tags_take_their_line);
	tcase_add_test(tc, test_tmpl_names_resolve_outwards);
	tcase_add_test(tc, test_tmpl_unknown_name_fails_with_location);
	tcase_add_test(tc, test_tmpl_syntax_errors_are_reported);
	tcase_add_test(tc, test_tmpl_random_input_never_crashes);
	suite_add_tcase(s, tc);

	tc = tcase_create("golden");
	tcase_add_loop_test(tc, test_golden_outputs_match, 0, N_GOLDENS);
	suite_add_tcase(s, tc);

	tc = tcase_create("cli");
	tcase_add_test(tc, test_cli_help_and_version_exit_0);
	tcase_add_test(tc, test_cli_bad_usage_exits_2);
	tcase_add_test(tc, test_cli_bad_input_exits_1_and_writes_nothing);
	tcase_add_test(tc, test_cli_wrapper_collision_exits_1);
	tcase_add_test(tc, test_cli_const_macro_clashes_exit_1);
	tcase_add_test(tc, test_cli_generated_name_clashes_exit_1);
	tcase_add_test(tc, test_cli_depfile_names_outputs_and_imports);
	tcase_add_test(tc, test_cli_include_dirs_are_searched);
	tcase_add_test(tc, test_depfile_escapes_make_specials);
	tcase_add_test(tc, test_cli_template_dir_overrides_embedded);
	tcase_add_test(tc, test_cli_unknown_template_name_fails_with_location);
	tcase_add_test(tc, test_cli_replaces_outputs_atomically);
	tcase_add_test(tc, test_cli_out_dir_is_created);
	suite_add_tcase(s, tc);

	tc = tcase_create("go");
	tcase_add_test(tc, test_go_emit_writes_go_file_and_depfile_target);
	tcase_add_test(tc, test_go_package_option_and_defaults);
	tcase_add_test(tc, test_go_bad_options_exit_2);
	tcase_add_test(tc, test_go_unexported_names_exit_1_and_write_nothing);
	tcase_add_test(tc, test_go_const_names_exit_1);
	tcase_add_test(tc, test_go_name_collisions_exit_1);
	tcase_add_test(tc,
	               test_go_foreign_types_are_copied_once_per_go_package);
	tcase_add_test(tc, test_go_template_error_writes_nothing);
	tcase_add_test(tc, test_go_only_writes_only_go);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(compiler_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
