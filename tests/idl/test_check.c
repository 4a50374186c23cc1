/* test_check.c - the checker's rules, one test per rule, and what it fills
 * in on success (resolved types, implicit field numbers, imports). */
#include "helpers.h"

static idl_program *load_ok(const char *text)
{
	capture cap = {0};
	idl_program *p = NULL;
	int rc = load_text(text, &cap, &p);

	ck_assert_msg(rc == 0, "unexpected errors:\n%s",
	              cap.text ? cap.text : "");
	capture_fini(&cap);
	return p;
}

/* ---- method contract ------------------------------------------------ */

START_TEST(test_check_contract_two_params)
{
	expect_error("service S { M(int64 a); }\n", 1,
	             "main.rpc:1:13: error: method 'M' of service 'S' must "
	             "have exactly two parameters (args, *reply), not 1");
	expect_error("service S { M(); }\n", 1, "not 0");
	expect_error("service S { M(int64 a, int64 b, int64 *c); }\n", 1,
	             "not 3");
}
END_TEST

START_TEST(test_check_contract_reply_pointer)
{
	expect_error("service S { M(int64 a, int64 r); }\n", 1,
	             "main.rpc:1:24: error: second parameter of method 'M' "
	             "must be a pointer");
}
END_TEST

START_TEST(test_check_contract_args_not_pointer)
{
	expect_error("service S { M(int64 *a, int64 *r); }\n", 1,
	             "main.rpc:1:15: error: first parameter of method 'M' "
	             "must not be a pointer");
}
END_TEST

START_TEST(test_check_service_no_methods)
{
	expect_error("service S { }\n", 1, "service 'S' has no methods");
}
END_TEST

/* ---- names ---------------------------------------------------------- */

START_TEST(test_check_unknown_type)
{
	expect_error("struct A { B b; list<C> c; map<string, D> d; }\n", 3,
	             "main.rpc:1:12: error: unknown type 'B'");
	expect_error("service S { M(X a, int64 *r); }\n", 1,
	             "unknown type 'X'");
}
END_TEST

START_TEST(test_check_duplicate_type)
{
	expect_error("struct A { int64 x; }\nenum A { Z = 0; }\n", 1,
	             "main.rpc:2:1: error: duplicate type 'A'\n"
	             "enum A { Z = 0; }\n"
	             "^\n"
	             "main.rpc:1:1: note: previous definition was here\n"
	             "struct A { int64 x; }\n"
	             "^\n");
}
END_TEST

START_TEST(test_check_duplicate_service)
{
	expect_error("service S { M(int64 a, int64 *r); }\n"
	             "service S { N(int64 a, int64 *r); }\n",
	             1, "main.rpc:2:1: error: duplicate service 'S'");
}
END_TEST

START_TEST(test_check_type_service_clash)
{
	expect_error("struct S { int64 x; }\n"
	             "service S { N(int64 a, int64 *r); }\n",
	             1, "service 'S' has the same name as struct 'S'");
	expect_error("struct A { S s; }\n"
	             "service S { N(int64 a, int64 *r); }\n",
	             1, "'S' is a service, not a type");
}
END_TEST

START_TEST(test_check_duplicate_field)
{
	expect_error("struct A { int64 x; string y; bool x; }\n", 1,
	             "main.rpc:1:31: error: duplicate field 'x' in struct "
	             "'A'");
}
END_TEST

START_TEST(test_check_method_attributes)
{
	idl_program *p = load_ok("service S {\n"
	                         "    Get(int64 a, int64 *r) [idempotent];\n"
	                         "    Put(int64 a, int64 *r);\n"
	                         "}\n");
	const ast_decl *d = p->main->decls[0];

	ck_assert(d->methods[0].idempotent);
	ck_assert_uint_eq(d->methods[0].n_attrs, 1);
	ck_assert_int_eq(d->methods[0].attrs[0].loc.line, 2);
	ck_assert_int_eq(d->methods[0].attrs[0].loc.col, 29);
	ck_assert(!d->methods[1].idempotent);
	idl_program_free(p);
	expect_error("service S { M(int64 a, int64 *r) [retry]; }\n", 1,
	             "main.rpc:1:35: error: unknown attribute 'retry' of "
	             "method 'M'; known: idempotent");
	expect_error("service S { M(int64 a, int64 *r) [idempotent, "
	             "idempotent]; }\n",
	             1, "duplicate attribute 'idempotent'");
	expect_error("service S { M(int64 a, int64 *r) []; }\n", 1,
	             "expected identifier before ']'");
}
END_TEST
START_TEST(test_check_duplicate_method)
{
	expect_error("service S { M(int64 a, int64 *r); "
	             "M(int64 a, int64 *r); }\n",
	             1, "duplicate method 'M' in service 'S'");
}
END_TEST

START_TEST(test_check_reserved_words)
{
	static const char *const words[] = {
	    "int",    "char",     "for",     "while",  "default",
	    "struct", "union",    "typedef", "static", "register",
	    "signed", "unsigned", "void",    "return", "int64",
	    "string", "optional", "bool",    "true",   "NULL"};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		char text[128], want[128];

		snprintf(text, sizeof(text), "struct A { int64 %s; }\n",
		         words[i]);
		snprintf(want, sizeof(want),
		         "reserved word '%s' cannot be used as a field name",
		         words[i]);
		expect_error(text, 1, want);
	}
	expect_error("struct union { int64 x; }\n", 1, "as a struct name");
	expect_error("enum E { case = 0; }\n", 1, "as an enum value name");
	expect_error("service goto { M(int64 a, int64 *r); }\n", 1,
	             "as a service name");
	expect_error("service S { if(int64 a, int64 *r); }\n", 1,
	             "as a method name");
	expect_error("package extern;\n", 1, "as a package name");
	expect_error("struct __x { int64 _Y; }\n", 2, "reserved in C");
}
END_TEST

START_TEST(test_check_package_identifier)
{
	expect_error("package a.b;\n", 1,
	             "package name 'a.b' is not a valid C identifier");
}
END_TEST

START_TEST(test_check_generated_name_clash)
{
	idl_program *p;

	expect_error("struct S { list<int64> L; int64 n_L; }\n", 1,
	             "field 'n_L' clashes with the count of list or map "
	             "field 'L'");
	expect_error("struct S { optional bool B; bool has_B; }\n", 1,
	             "field 'has_B' clashes with the presence flag");
	/* no clash without the list or the optional */
	p = load_ok("struct S { int64 L; int64 n_L; bool B; bool has_B; "
	            "optional string T; string has_T; }\n");
	idl_program_free(p);
}
END_TEST

/* ---- types ---------------------------------------------------------- */

START_TEST(test_check_map_keys)
{
	static const char *const bad[] = {
	    "double",           "float", "bytes", "E", "S", "list<int64>",
	    "map<int32, int32>"};
	static const char *const good[] = {"bool",   "int32",  "int64",
	                                   "uint32", "uint64", "string"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[160];

		snprintf(text, sizeof(text),
		         "enum E { Z = 0; }\nstruct S { map<%s, int64> m; }\n",
		         bad[i]);
		expect_error(text, 1, "invalid map key type");
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char text[160];
		idl_program *p;

		snprintf(text, sizeof(text), "struct S { map<%s, S> m; }\n",
		         good[i]);
		p = load_ok(text);
		ck_assert_ptr_eq(
		    p->main->decls[0]->fields[0].type->elem->resolved,
		    p->main->decls[0]);
		idl_program_free(p);
	}
}
END_TEST

START_TEST(test_check_nested_containers)
{
	expect_error("struct S { list<list<int64>> m; }\n", 1,
	             "list<list<...>> is not supported; wrap the inner list "
	             "in a struct");
	expect_error("struct S { list<map<string, int64>> m; }\n", 1,
	             "list<map<...>> is not supported");
	expect_error("struct S { map<string, list<int64>> m; }\n", 1,
	             "map<..., list<...>> is not supported");
	expect_error("struct S { map<string, map<string, int64>> m; }\n", 1,
	             "map<..., map<...>> is not supported");
	expect_error("service X { M(list<list<int64>> a, int64 *r); }\n", 1,
	             "list<list<...>> is not supported");
}
END_TEST

START_TEST(test_check_optional_kinds)
{
	idl_program *p;

	expect_error("struct S { optional S s; }\n", 1,
	             "field 's' cannot be optional");
	expect_error("struct S { optional list<int64> l; }\n", 1,
	             "cannot be optional");
	expect_error("struct S { optional map<string, int64> m; }\n", 1,
	             "cannot be optional");
	p = load_ok("enum E { Z = 0; }\nstruct S { optional E e; optional "
	            "bytes b; optional string s; optional double d; }\n");
	ck_assert(p->main->decls[1]->fields[0].optional);
	idl_program_free(p);
}
END_TEST

/* ---- numbers -------------------------------------------------------- */

START_TEST(test_check_implicit_numbers)
{
	idl_program *p = load_ok("struct S { int64 a; int64 b; int64 c; }\n");
	const ast_decl *d = p->main->decls[0];

	ck_assert_int_eq(d->fields[0].number, 1);
	ck_assert_int_eq(d->fields[1].number, 2);
	ck_assert_int_eq(d->fields[2].number, 3);
	ck_assert(!d->fields[2].explicit_number);
	idl_program_free(p);
}
END_TEST

START_TEST(test_check_mixed_numbers)
{
	expect_error("struct S { int64 a = 1; int64 b; }\n", 1,
	             "main.rpc:1:25: error: mixed explicit and implicit field "
	             "numbers in struct 'S'");
	expect_error("struct S { int64 a; int64 b = 2; }\n", 1,
	             "main.rpc:1:21: error: mixed explicit");
}
END_TEST

START_TEST(test_check_number_range)
{
	idl_program *p;

	expect_error("struct S { int64 a = 0; }\n", 1,
	             "field number 0 of 'a' is out of range (1..536870911)");
	expect_error("struct S { int64 a = -5; }\n", 1,
	             "field number -5 of 'a' is out of range");
	expect_error("struct S { int64 a = 536870912; }\n", 1, "out of range");
	expect_error("struct S { int64 a = 19000; int64 b = 19999; }\n", 2,
	             "field number 19999 of 'b' is reserved by protobuf "
	             "(19000..19999)");
	p = load_ok("struct S { int64 a = 536870911; int64 b = 18999; "
	            "int64 c = 20000; int64 d = 1; }\n");
	ck_assert_int_eq(p->main->decls[0]->fields[0].number, 536870911);
	idl_program_free(p);
}
END_TEST

START_TEST(test_check_duplicate_number)
{
	expect_error("struct S { int64 a = 1; int64 b = 2; int64 c = 1; }\n", 1,
	             "duplicate field number 1 in struct 'S'");
}
END_TEST

/* ---- enums ---------------------------------------------------------- */

START_TEST(test_check_enum_first_zero)
{
	expect_error("enum E { A = 1; B = 0; }\n", 1,
	             "the first value of enum 'E' must be 0 (proto3 rule), "
	             "not 1");
	expect_error("enum E { }\n", 1, "enum 'E' has no values");
}
END_TEST

START_TEST(test_check_enum_duplicates)
{
	expect_error("enum E { A = 0; B = 1; A = 2; }\n", 1,
	             "duplicate enum value 'A' in enum 'E'");
	expect_error("enum E { A = 0; B = 1; C = 1; }\n", 1,
	             "duplicate value 1 in enum 'E' ('B' and 'C')");
}
END_TEST

START_TEST(test_check_enum_range)
{
	idl_program *p;

	expect_error("enum E { A = 0; B = 2147483648; }\n", 1,
	             "value 2147483648 of 'B' is out of range for int32");
	expect_error("enum E { A = 0; B = -2147483649; }\n", 1,
	             "out of range for int32");
	p = load_ok("enum E { A = 0; B = 2147483647; C = -2147483648; }\n");
	ck_assert_int_eq(p->main->decls[0]->values[2].value, INT32_MIN);
	idl_program_free(p);
}
END_TEST

/* ---- several files ------------------------------------------------- */

START_TEST(test_check_imports_resolve)
{
	capture cap = {0};
	idl_options o = {.diag = capture_fn, .diag_ctx = &cap};
	idl_program *p = NULL;
	scratch s;
	const ast_decl *a;

	scratch_enter(&s);
	scratch_mkdir(&s, "sub");
	scratch_write(&s, "sub/geo.rpc",
	              "package geo;\nimport \"more.rpc\";\n"
	              "struct Point { int64 X; }\nstruct Seg { Extra e; }\n");
	scratch_write(&s, "sub/more.rpc",
	              "package geo;\nstruct Extra { int64 Y; }\n");
	scratch_write(&s, "main.rpc",
	              "package app;\nimport \"sub/geo.rpc\";\n"
	              "import \"sub/more.rpc\";\n"
	              "struct A { geo.Point p; geo.Extra e; app.B b; B c; }\n"
	              "struct B { int64 z; }\n");
	ck_assert_int_eq(idl_load("main.rpc", &o, &p), 0);
	scratch_leave(&s);
	ck_assert_ptr_nonnull(p);
	/* more.rpc is read once though imported twice */
	ck_assert_uint_eq(p->n_files, 3);
	ck_assert_uint_eq(p->n_deps, 3);
	ck_assert_str_eq(p->deps[1], "sub/geo.rpc");
	ck_assert_str_eq(p->deps[2], "sub/more.rpc");
	ck_assert_ptr_eq(p->files[0]->imports[1].file, p->files[2]);
	ck_assert_ptr_eq(p->files[1]->imports[0].file, p->files[2]);
	a = p->main->decls[0];
	ck_assert_str_eq(a->fields[0].type->resolved->name, "Point");
	ck_assert_str_eq(ast_decl_package(a->fields[0].type->resolved), "geo");
	ck_assert_str_eq(a->fields[1].type->resolved->name, "Extra");
	ck_assert_ptr_eq(a->fields[2].type->resolved, p->main->decls[1]);
	ck_assert_ptr_eq(a->fields[3].type->resolved, p->main->decls[1]);
	/* geo.rpc uses Extra unqualified: same package, imported */
	ck_assert_ptr_nonnull(p->files[1]->decls[1]->fields[0].type->resolved);
	idl_program_free(p);
	capture_fini(&cap);
}
END_TEST

START_TEST(test_check_include_dirs)
{
	static const char *const inc[] = {"nothere", "inc"};
	capture cap = {0};
	idl_options o = {.include_dirs = inc,
	                 .n_include_dirs = 2,
	                 .diag = capture_fn,
	                 .diag_ctx = &cap};
	idl_program *p = NULL;
	scratch s;

	scratch_enter(&s);
	scratch_mkdir(&s, "inc");
	scratch_mkdir(&s, "sub");
	scratch_write(&s, "inc/lib.rpc",
	              "package lib;\nstruct L { int64 x; }\n");
	/* the importing file's folder comes first: sub/lib.rpc wins */
	scratch_write(&s, "sub/lib.rpc",
	              "package lib;\nstruct M { int64 x; }\n");
	scratch_write(&s, "sub/main.rpc",
	              "import \"lib.rpc\";\nstruct A { lib.M m; }\n");
	scratch_write(&s, "main.rpc",
	              "import \"lib.rpc\";\nstruct A { lib.L l; }\n");
	ck_assert_int_eq(idl_load("main.rpc", &o, &p), 0);
	ck_assert_str_eq(p->deps[1], "inc/lib.rpc");
	idl_program_free(p);
	ck_assert_int_eq(idl_load("sub/main.rpc", &o, &p), 0);
	ck_assert_str_eq(p->deps[1], "sub/lib.rpc");
	idl_program_free(p);
	scratch_leave(&s);
	ck_assert_ptr_null(cap.text);
}
END_TEST

START_TEST(test_check_import_errors)
{
	capture cap = {0};
	idl_options o = {.diag = capture_fn, .diag_ctx = &cap};
	idl_program *p = (idl_program *)1;
	scratch s;

	scratch_enter(&s);
	scratch_write(&s, "a.rpc", "import \"b.rpc\";\n");
	scratch_write(&s, "b.rpc", "import \"c.rpc\";\n");
	scratch_write(&s, "c.rpc", "import \"a.rpc\";\nimport \"zz.rpc\";\n");
	ck_assert_int_eq(idl_load("a.rpc", &o, &p), 2);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(strstr(cap.text,
	                             "c.rpc:1:1: error: import cycle: a.rpc -> "
	                             "b.rpc -> c.rpc -> a.rpc\n"));
	ck_assert_ptr_nonnull(
	    strstr(cap.text, "c.rpc:2:1: error: import 'zz.rpc' not found"));
	capture_fini(&cap);
	ck_assert_int_eq(idl_load("missing.rpc", &o, &p), 1);
	ck_assert_str_eq(cap.text, "error: cannot open 'missing.rpc': No "
	                           "such file or directory\n");
	scratch_leave(&s);
	capture_fini(&cap);
}
END_TEST

START_TEST(test_check_qualified_errors)
{
	capture cap = {0};
	idl_options o = {.diag = capture_fn, .diag_ctx = &cap};
	idl_program *p = NULL;
	scratch s;

	scratch_enter(&s);
	scratch_write(&s, "lib.rpc",
	              "package lib;\nstruct L { int64 x; }\n"
	              "service Svc { M(int64 a, int64 *r); }\n");
	scratch_write(&s, "main.rpc",
	              "package app;\nimport \"lib.rpc\";\n"
	              "struct A { other.X a; lib.Nope b; L c; lib.Svc d; "
	              "lib.L ok; }\n");
	ck_assert_int_eq(idl_load("main.rpc", &o, &p), 4);
	scratch_leave(&s);
	ck_assert_ptr_nonnull(
	    strstr(cap.text, "package 'other' is not imported"));
	ck_assert_ptr_nonnull(strstr(cap.text, "unknown type 'lib.Nope'"));
	/* unqualified names look in the file's own package only */
	ck_assert_ptr_nonnull(strstr(cap.text, "unknown type 'L'"));
	ck_assert_ptr_nonnull(strstr(cap.text, "'lib.Svc' is a service"));
	capture_fini(&cap);
}
END_TEST

START_TEST(test_check_duplicate_across_files)
{
	capture cap = {0};
	idl_options o = {.diag = capture_fn, .diag_ctx = &cap};
	idl_program *p = NULL;
	scratch s;

	scratch_enter(&s);
	scratch_write(&s, "one.rpc", "package p;\nstruct T { int64 x; }\n");
	scratch_write(&s, "two.rpc", "package q;\nstruct T { int64 x; }\n");
	scratch_write(&s, "main.rpc",
	              "package p;\nimport \"one.rpc\";\nimport \"two.rpc\";\n"
	              "struct T { q.T t; }\n");
	ck_assert_int_eq(idl_load("main.rpc", &o, &p), 1);
	scratch_leave(&s);
	/* same name in package q is fine; in package p it clashes */
	ck_assert_str_eq(cap.text, "main.rpc:4:1: error: duplicate type 'T'\n"
	                           "struct T { q.T t; }\n"
	                           "^\n"
	                           "one.rpc:2:1: note: previous definition was "
	                           "here\n"
	                           "struct T { int64 x; }\n"
	                           "^\n");
	capture_fini(&cap);
}
END_TEST

START_TEST(test_check_reports_all_in_order)
{
	capture cap = {0};
	idl_program *p = NULL;
	const char *a, *b, *c;

	ck_assert_int_eq(load_text("struct A { Z z; int64 z; }\n"
	                           "service S { M(int64 a, int64 r); }\n"
	                           "enum E { X = 1; }\n",
	                           &cap, &p),
	                 4);
	a = strstr(cap.text, "main.rpc:1:12:");
	b = strstr(cap.text, "main.rpc:2:24:");
	c = strstr(cap.text, "main.rpc:3:14:");
	ck_assert(a && b && c && a < b && b < c);
	capture_fini(&cap);
}
END_TEST

START_TEST(test_check_caret_keeps_tabs)
{
	/* columns count bytes; the caret line keeps the tabs so it lines up */
	expect_error("struct A {\n\t  B b;\n}\r\n", 1,
	             "main.rpc:2:4: error: unknown type 'B'\n"
	             "\t  B b;\n"
	             "\t  ^\n");
}
END_TEST

START_TEST(test_check_default_diag_is_stderr)
{
	/* with no callback the text goes to stderr; we only check that
	 * loading fails cleanly without one */
	idl_program *p = (idl_program *)1;
	scratch s;
	int err = dup(2), null = open("/dev/null", O_WRONLY);

	ck_assert_int_ge(err, 0);
	ck_assert_int_ge(null, 0);
	scratch_enter(&s);
	scratch_write(&s, "main.rpc", "struct A { B b; }\n");
	dup2(null, 2);
	ck_assert_int_eq(idl_load("main.rpc", NULL, &p), 1);
	dup2(err, 2);
	close(err);
	close(null);
	scratch_leave(&s);
	ck_assert_ptr_null(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("idl-check");
	TCase *tc;
	SRunner *sr;
	int failed;

	tc = tcase_create("contract");
	tcase_add_test(tc, test_check_contract_two_params);
	tcase_add_test(tc, test_check_contract_reply_pointer);
	tcase_add_test(tc, test_check_contract_args_not_pointer);
	tcase_add_test(tc, test_check_service_no_methods);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, test_check_unknown_type);
	tcase_add_test(tc, test_check_duplicate_type);
	tcase_add_test(tc, test_check_duplicate_service);
	tcase_add_test(tc, test_check_type_service_clash);
	tcase_add_test(tc, test_check_duplicate_field);
	tcase_add_test(tc, test_check_duplicate_method);
	tcase_add_test(tc, test_check_method_attributes);
	tcase_add_test(tc, test_check_reserved_words);
	tcase_add_test(tc, test_check_package_identifier);
	tcase_add_test(tc, test_check_generated_name_clash);
	suite_add_tcase(s, tc);

	tc = tcase_create("types");
	tcase_add_test(tc, test_check_map_keys);
	tcase_add_test(tc, test_check_nested_containers);
	tcase_add_test(tc, test_check_optional_kinds);
	suite_add_tcase(s, tc);

	tc = tcase_create("numbers");
	tcase_add_test(tc, test_check_implicit_numbers);
	tcase_add_test(tc, test_check_mixed_numbers);
	tcase_add_test(tc, test_check_number_range);
	tcase_add_test(tc, test_check_duplicate_number);
	suite_add_tcase(s, tc);

	tc = tcase_create("enums");
	tcase_add_test(tc, test_check_enum_first_zero);
	tcase_add_test(tc, test_check_enum_duplicates);
	tcase_add_test(tc, test_check_enum_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, test_check_imports_resolve);
	tcase_add_test(tc, test_check_include_dirs);
	tcase_add_test(tc, test_check_import_errors);
	tcase_add_test(tc, test_check_qualified_errors);
	tcase_add_test(tc, test_check_duplicate_across_files);
	tcase_add_test(tc, test_check_reports_all_in_order);
	tcase_add_test(tc, test_check_caret_keeps_tabs);
	tcase_add_test(tc, test_check_default_diag_is_stderr);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
