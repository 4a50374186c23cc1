/* test_parser.c - the AST the parser builds: every construct, doc comments,
 * locations, and the syntax errors it reports (with recovery). */
#include <pthread.h>

#include "helpers.h"

static const char *src_dir; /* tests/idl in the source tree */

/* ---- all.rpc: every construct -------------------------------------- */

static idl_program *all_prog;

static void all_setup(void)
{
	capture cap = {0};
	idl_options o = {.diag = capture_fn, .diag_ctx = &cap};
	int cwd = open(".", O_RDONLY | O_DIRECTORY);
	int rc;

	ck_assert_int_ge(cwd, 0);
	ck_assert_int_eq(chdir(src_dir), 0);
	rc = idl_load("all.rpc", &o, &all_prog);
	ck_assert_int_eq(fchdir(cwd), 0);
	close(cwd);
	ck_assert_msg(rc == 0, "all.rpc: %s", cap.text ? cap.text : "");
	capture_fini(&cap);
}

static void all_teardown(void)
{
	idl_program_free(all_prog);
	all_prog = NULL;
}

static const ast_decl *find_decl(const ast_file *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n_decls; i++)
		if (strcmp(f->decls[i]->name, name) == 0)
			return f->decls[i];
	ck_abort_msg("no declaration '%s' in %s", name, f->path);
	return NULL;
}

static const ast_field *find_field(const ast_decl *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n_fields; i++)
		if (strcmp(d->fields[i].name, name) == 0)
			return &d->fields[i];
	ck_abort_msg("no field '%s' in %s", name, d->name);
	return NULL;
}

static const ast_method *find_method(const ast_decl *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n_methods; i++)
		if (strcmp(d->methods[i].name, name) == 0)
			return &d->methods[i];
	ck_abort_msg("no method '%s' in %s", name, d->name);
	return NULL;
}

START_TEST(test_parser_all_file)
{
	const ast_file *f = all_prog->main;

	ck_assert_uint_eq(all_prog->n_files, 2);
	ck_assert_ptr_eq(all_prog->files[0], f);
	ck_assert_str_eq(f->path, "all.rpc");
	ck_assert_str_eq(f->package, "all");
	ck_assert_int_eq(f->package_loc.line, 7);
	ck_assert_int_eq(f->package_loc.col, 1);
	ck_assert_str_eq(f->doc, "Package doc: a file that exercises the whole "
	                         "language.\nSecond line of the package doc.");
	ck_assert_uint_eq(f->n_imports, 1);
	ck_assert_str_eq(f->imports[0].path, "common.rpc");
	ck_assert_ptr_eq(f->imports[0].file, all_prog->files[1]);
	ck_assert_str_eq(all_prog->files[1]->package, "common");
	ck_assert_uint_eq(all_prog->n_deps, 2);
	ck_assert_str_eq(all_prog->deps[0], "all.rpc");
	ck_assert_str_eq(all_prog->deps[1], "common.rpc");
	/* declarations in source order */
	ck_assert_uint_eq(f->n_decls, 22);
	ck_assert_str_eq(f->decls[0]->name, "Args");
	ck_assert_int_eq(f->decls[0]->kind, AST_STRUCT);
	ck_assert_str_eq(f->decls[2]->name, "Op");
	ck_assert_int_eq(f->decls[2]->kind, AST_ENUM);
	ck_assert_str_eq(f->decls[5]->name, "Arith");
	ck_assert_int_eq(f->decls[5]->kind, AST_SERVICE);
	ck_assert_ptr_eq(f->decls[5]->file, f);
	ck_assert_str_eq(ast_decl_package(f->decls[5]), "all");
}
END_TEST

/* a oneof: its members are fields of the struct, in place, numbered in
 * the struct's space, and know their oneof */
START_TEST(test_parser_all_oneof)
{
	const ast_decl *d = all_prog->main->decls[19];
	const ast_oneof *o;

	ck_assert_str_eq(d->name, "Shape");
	ck_assert_uint_eq(d->n_fields, 8);
	ck_assert_uint_eq(d->n_oneofs, 1);
	o = &d->oneofs[0];
	ck_assert_str_eq(o->name, "kind");
	ck_assert_str_eq(o->doc, "What kind of shape it is.");
	ck_assert_int_eq(o->loc.line, 165);
	ck_assert_int_eq(o->loc.col, 5);
	ck_assert_uint_eq(o->first, 1);
	ck_assert_uint_eq(o->n_members, 6);
	ck_assert_ptr_null(ast_field_oneof(d, &d->fields[0]));
	for (size_t i = 1; i <= 6; i++)
		ck_assert_ptr_eq(ast_field_oneof(d, &d->fields[i]), o);
	ck_assert_ptr_null(ast_field_oneof(d, &d->fields[7]));
	ck_assert_str_eq(d->fields[1].name, "Radius");
	ck_assert_int_eq(d->fields[1].number, 2);
	ck_assert_str_eq(d->fields[3].type->resolved->name, "Args");
	ck_assert_str_eq(d->fields[7].name, "Tail");
}
END_TEST

/* const declarations and field defaults: the literal as written */
START_TEST(test_parser_all_consts_defaults)
{
	const ast_file *f = all_prog->main;
	const ast_decl *d;
	const ast_field *x;

	d = f->decls[7];
	ck_assert_int_eq(d->kind, AST_CONST);
	ck_assert_str_eq(d->name, "MAX_ITEMS");
	ck_assert_int_eq(d->ctype->kind, AST_T_INT32);
	ck_assert_int_eq(d->value.kind, AST_L_INT);
	ck_assert_uint_eq(d->value.mag, 100);
	ck_assert(!d->value.neg);
	ck_assert_str_eq(d->doc, "The most items one call may carry.");
	d = f->decls[8];
	ck_assert(d->value.neg);
	ck_assert_uint_eq(d->value.mag, (uint64_t)INT64_MAX + 1);
	d = f->decls[10];
	ck_assert_uint_eq(d->value.mag, UINT64_MAX);
	ck_assert(!d->value.huge);
	d = f->decls[11];
	ck_assert_int_eq(d->value.kind, AST_L_STRING);
	ck_assert_str_eq(d->value.text, "hello \"world\"\t?" "?!");
	d = f->decls[12];
	ck_assert_int_eq(d->value.kind, AST_L_NAME);
	ck_assert_str_eq(d->value.text, "false");
	d = f->decls[13];
	ck_assert_str_eq(d->name, "Defaults");
	x = &d->fields[0];
	ck_assert_uint_eq(x->n_opts, 1);
	ck_assert_str_eq(x->opts[0].name, "default");
	ck_assert_ptr_eq(x->def, &x->opts[0].value);
	ck_assert_uint_eq(x->def->mag, 3);
	ck_assert_int_eq(x->def->loc.line, 130);
	ck_assert_int_eq(x->def->loc.col, 34);
	ck_assert(d->fields[1].def->neg);
	ck_assert_str_eq(d->fields[6].def->text, "MUL");
	ck_assert_ptr_null(d->fields[7].def);
	ck_assert_ptr_null(d->fields[8].def);
	ck_assert_int_eq(d->fields[10].def->kind, AST_L_FLOAT);
	ck_assert(d->fields[10].def->neg);
	ck_assert_str_eq(d->fields[10].def->text, "2.5e3");
	d = f->decls[17];
	ck_assert_str_eq(d->name, "HALF");
	ck_assert_int_eq(d->ctype->kind, AST_T_FLOAT);
	ck_assert_int_eq(d->value.kind, AST_L_FLOAT);
	ck_assert_str_eq(d->value.text, "0.5");
}
END_TEST

START_TEST(test_parser_all_struct_numbers)
{
	const ast_file *f = all_prog->main;
	const ast_decl *args = find_decl(f, "Args");
	const ast_decl *quo = find_decl(f, "Quotient");
	const ast_decl *nested = find_decl(f, "Nested");

	ck_assert_uint_eq(args->n_fields, 2);
	ck_assert(args->fields[0].explicit_number);
	ck_assert_int_eq(args->fields[1].number, 2);
	ck_assert_int_eq(args->fields[1].number_loc.line, 19);
	ck_assert_int_eq(args->fields[1].number_loc.col, 15);
	ck_assert(!quo->fields[0].explicit_number);
	ck_assert_int_eq(quo->fields[0].number, 1);
	ck_assert_int_eq(quo->fields[1].number, 2);
	ck_assert_int_eq(nested->fields[0].number, 3);
	ck_assert_int_eq(nested->fields[1].number, 7);
	ck_assert_int_eq(nested->fields[2].number, 15);
}
END_TEST

START_TEST(test_parser_all_scalars_and_optional)
{
	static const struct {
		const char *name;
		ast_type_kind kind;
	} want[] = {
	    {"Flag", AST_T_BOOL}, {"I", AST_T_INT32},     {"L", AST_T_INT64},
	    {"U", AST_T_UINT32},  {"UL", AST_T_UINT64},   {"F", AST_T_FLOAT},
	    {"D", AST_T_DOUBLE},  {"Name", AST_T_STRING}, {"Blob", AST_T_BYTES},
	};
	const ast_decl *e = find_decl(all_prog->main, "Everything");
	const ast_field *x;
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		x = find_field(e, want[i].name);
		ck_assert_int_eq(x->type->kind, want[i].kind);
		ck_assert(!x->optional);
		ck_assert_int_eq(x->number, (int64_t)i + 1);
		ck_assert_str_eq(ast_type_kind_name(x->type->kind),
		                 want[i].name[0] == 'F' &&
		                         want[i].name[1] == 'l'
		                     ? "bool"
		                     : ast_type_kind_name(want[i].kind));
	}
	x = find_field(e, "Maybe");
	ck_assert(x->optional);
	ck_assert_int_eq(x->type->kind, AST_T_INT32);
	ck_assert_int_eq(x->loc.col, 5); /* the 'optional' keyword */
	x = find_field(e, "MaybeOp");
	ck_assert(x->optional);
	ck_assert_int_eq(x->type->kind, AST_T_NAMED);
	ck_assert_int_eq(x->type->resolved->kind, AST_ENUM);
}
END_TEST

START_TEST(test_parser_all_named_types)
{
	const ast_file *f = all_prog->main;
	const ast_file *common = all_prog->files[1];
	const ast_decl *e = find_decl(f, "Everything");
	const ast_field *x;

	x = find_field(e, "Kind");
	ck_assert_str_eq(x->type->name, "Op");
	ck_assert_ptr_eq(x->type->resolved, find_decl(f, "Op"));
	x = find_field(e, "Inner");
	ck_assert_ptr_eq(x->type->resolved, find_decl(f, "Args"));
	x = find_field(e, "Where");
	ck_assert_str_eq(x->type->name, "common.Point");
	ck_assert_ptr_eq(x->type->resolved, find_decl(common, "Point"));
	ck_assert_str_eq(ast_decl_package(x->type->resolved), "common");
	x = find_field(e, "Paint");
	ck_assert_ptr_eq(x->type->resolved, find_decl(common, "Color"));
	ck_assert_int_eq(x->type->loc.line, 56);
	ck_assert_int_eq(x->type->loc.col, 5);
}
END_TEST

START_TEST(test_parser_all_containers)
{
	const ast_file *f = all_prog->main;
	const ast_decl *e = find_decl(f, "Everything");
	const ast_field *x;

	x = find_field(e, "Nums");
	ck_assert_int_eq(x->type->kind, AST_T_LIST);
	ck_assert_int_eq(x->type->elem->kind, AST_T_INT64);
	ck_assert_ptr_null(x->type->key);
	x = find_field(e, "Items");
	ck_assert_int_eq(x->type->elem->kind, AST_T_NAMED);
	ck_assert_ptr_eq(x->type->elem->resolved, find_decl(f, "Args"));
	x = find_field(e, "Path");
	ck_assert_str_eq(x->type->elem->name, "common.Point");
	ck_assert_ptr_nonnull(x->type->elem->resolved);
	x = find_field(e, "Blobs");
	ck_assert_int_eq(x->type->elem->kind, AST_T_BYTES);
	x = find_field(e, "Counts");
	ck_assert_int_eq(x->type->kind, AST_T_MAP);
	ck_assert_int_eq(x->type->key->kind, AST_T_STRING);
	ck_assert_int_eq(x->type->elem->kind, AST_T_INT64);
	ck_assert_int_eq(x->type->key->loc.col, 9);
	x = find_field(e, "ByBool");
	ck_assert_int_eq(x->type->key->kind, AST_T_BOOL);
	x = find_field(e, "ByInt64");
	ck_assert_int_eq(x->type->key->kind, AST_T_INT64);
	ck_assert_ptr_eq(x->type->elem->resolved, find_decl(f, "Args"));
	x = find_field(e, "Places");
	ck_assert_str_eq(x->type->elem->name, "common.Point");
}
END_TEST

START_TEST(test_parser_all_enum)
{
	const ast_decl *op = find_decl(all_prog->main, "Op");

	ck_assert_uint_eq(op->n_values, 4);
	ck_assert_str_eq(op->values[0].name, "ADD");
	ck_assert_int_eq(op->values[0].value, 0);
	ck_assert_str_eq(op->values[0].doc, "Addition.");
	ck_assert_int_eq(op->values[1].value_loc.line, 33);
	ck_assert_int_eq(op->values[1].value_loc.col, 11);
	ck_assert_ptr_null(op->values[2].doc);
	ck_assert_str_eq(op->values[3].name, "NEG");
	ck_assert_int_eq(op->values[3].value, -1);
}
END_TEST

/* T[N]: the element type, N as written, N as the checker read it */
START_TEST(test_parser_all_arrays)
{
	const ast_decl *d = find_decl(all_prog->main, "Fixed");
	const ast_type *t;

	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->n_fields, 2);
	t = d->fields[0].type;
	ck_assert_int_eq(t->kind, AST_T_ARRAY);
	ck_assert_int_eq(t->elem->kind, AST_T_INT64);
	ck_assert_int_eq(t->len->kind, AST_L_INT);
	ck_assert_uint_eq(t->len->mag, 2);
	ck_assert_uint_eq(t->n, 2);
	ck_assert_int_eq(t->len->loc.line, 186);
	ck_assert_int_eq(t->len->loc.col, 11);
	t = d->fields[1].type;
	ck_assert_int_eq(t->kind, AST_T_ARRAY);
	ck_assert_int_eq(t->elem->kind, AST_T_NAMED);
	ck_assert_str_eq(t->elem->resolved->name, "Point");
	ck_assert_int_eq(t->len->kind, AST_L_NAME);
	ck_assert_str_eq(t->len->text, "MAX_ITEMS");
	ck_assert_uint_eq(t->n, 100);
	ck_assert_str_eq(ast_type_kind_name(t->kind), "array");
}
END_TEST

START_TEST(test_parser_all_service)
{
	const ast_decl *s = find_decl(all_prog->main, "Arith");
	const ast_method *m;

	ck_assert_uint_eq(s->n_methods, 9);
	ck_assert_str_eq(s->methods[0].name, "Multiply"); /* source order */
	ck_assert_str_eq(s->doc,
	                 "Arithmetic, in the style of the net/rpc example.");
	m = find_method(s, "Multiply");
	ck_assert_str_eq(m->doc, "Multiply returns A*B.");
	ck_assert_uint_eq(m->n_params, 2);
	ck_assert(!m->params[0].pointer);
	ck_assert_str_eq(m->params[0].name, "args");
	ck_assert_ptr_eq(m->params[0].type->resolved,
	                 find_decl(all_prog->main, "Args"));
	ck_assert(m->params[1].pointer);
	ck_assert_str_eq(m->params[1].name, "reply");
	ck_assert_int_eq(m->params[1].type->kind, AST_T_INT64);
	ck_assert_int_eq(m->loc.line, 94);
	ck_assert_int_eq(m->loc.col, 5);
	m = find_method(s, "Sort");
	ck_assert_int_eq(m->params[0].type->kind, AST_T_LIST);
	ck_assert_int_eq(m->params[1].type->kind, AST_T_LIST);
	m = find_method(s, "Sum");
	ck_assert_int_eq(m->params[0].type->kind, AST_T_MAP);
	m = find_method(s, "Tally");
	ck_assert_int_eq(m->params[1].type->kind, AST_T_MAP);
	m = find_method(s, "Move");
	ck_assert_str_eq(m->params[1].type->name, "common.Point");
	ck_assert_ptr_nonnull(m->params[1].type->resolved);
}
END_TEST

START_TEST(test_parser_all_docs)
{
	const ast_file *f = all_prog->main;
	const ast_decl *args = find_decl(f, "Args");
	const ast_decl *e = find_decl(f, "Everything");
	const ast_decl *point = find_decl(all_prog->files[1], "Point");

	ck_assert_str_eq(args->doc, "Operands, with explicit field numbers.");
	ck_assert_str_eq(args->fields[0].doc, "The first operand.");
	ck_assert_str_eq(find_field(e, "Inner")->doc, "A nested struct.");
	ck_assert_ptr_null(find_field(e, "Flag")->doc);
	ck_assert_str_eq(find_decl(f, "Op")->doc, "An operation.");
	ck_assert_str_eq(point->doc, "A point on the plane.");
	ck_assert_str_eq(point->fields[1].doc, "Vertical position.");
	ck_assert_str_eq(all_prog->files[1]->doc,
	                 "Shared types, imported by all.rpc.");
}
END_TEST

/* ---- small files --------------------------------------------------- */

static idl_program *load_ok(const char *text)
{
	capture cap = {0};
	idl_program *p = NULL;
	int rc = load_text(text, &cap, &p);

	ck_assert_msg(rc == 0, "unexpected errors:\n%s",
	              cap.text ? cap.text : "");
	ck_assert_ptr_nonnull(p);
	capture_fini(&cap);
	return p;
}

START_TEST(test_parser_empty_file)
{
	idl_program *p = load_ok("// nothing but a comment\n");

	ck_assert_ptr_null(p->main->package);
	ck_assert_uint_eq(p->main->n_decls, 0);
	ck_assert_uint_eq(p->main->n_imports, 0);
	idl_program_free(p);
}
END_TEST

START_TEST(test_parser_semicolon_after_decl)
{
	/* "struct A { ... };" as in C is accepted */
	idl_program *p = load_ok("struct A { int64 X; };\nenum E { Z = 0; };;\n"
	                         "service S { M(A a, A *r); };\n");

	ck_assert_uint_eq(p->main->n_decls, 3);
	idl_program_free(p);
}
END_TEST

START_TEST(test_parser_params_unnamed)
{
	idl_program *p = load_ok("service S { M(int64, string *); }\n");
	const ast_method *m = &p->main->decls[0]->methods[0];

	ck_assert_uint_eq(m->n_params, 2);
	ck_assert_ptr_null(m->params[0].name);
	ck_assert_ptr_null(m->params[1].name);
	ck_assert(m->params[1].pointer);
	ck_assert_int_eq(m->params[1].type->kind, AST_T_STRING);
	ck_assert_int_eq(m->params[1].loc.col, 22);
	idl_program_free(p);
}
END_TEST

START_TEST(test_parser_keeps_wrong_param_count)
{
	/* the parser keeps what was written; the checker complains */
	capture cap = {0};
	idl_program *p = NULL;

	ck_assert_int_eq(load_text("service S { M(int64 a, int64 b, int64 *c);"
	                           " }\n",
	                           &cap, &p),
	                 1);
	ck_assert_ptr_nonnull(strstr(cap.text, "not 3"));
	capture_fini(&cap);
}
END_TEST

START_TEST(test_parser_docs_on_everything)
{
	idl_program *p =
	    load_ok("/// file\npackage p;\n"
	            "/// S doc\nstruct S {\n  /// f doc\n"
	            "  optional int32 F;\n}\n"
	            "/// E doc\nenum E {\n  /// v doc\n  V = 0;\n}\n"
	            "/// svc\nservice V {\n  /// m1\n  /// m2\n"
	            "  M(S s, S *r);\n}\n");
	const ast_file *f = p->main;

	ck_assert_str_eq(f->doc, "file");
	ck_assert_str_eq(f->decls[0]->doc, "S doc");
	ck_assert_str_eq(f->decls[0]->fields[0].doc, "f doc");
	ck_assert_str_eq(f->decls[1]->doc, "E doc");
	ck_assert_str_eq(f->decls[1]->values[0].doc, "v doc");
	ck_assert_str_eq(f->decls[2]->doc, "svc");
	ck_assert_str_eq(f->decls[2]->methods[0].doc, "m1\nm2");
	idl_program_free(p);
}
END_TEST

START_TEST(test_parser_doc_not_on_import)
{
	/* a doc before an import belongs to nothing and is dropped */
	idl_program *p;
	capture cap = {0};
	scratch s;
	idl_options o = {.diag = capture_fn, .diag_ctx = &cap};

	scratch_enter(&s);
	scratch_write(&s, "b.rpc", "struct B { int64 X; }\n");
	scratch_write(&s, "main.rpc",
	              "/// lost\nimport \"b.rpc\";\nstruct A { B b; }\n");
	ck_assert_int_eq(idl_load("main.rpc", &o, &p), 0);
	scratch_leave(&s);
	ck_assert_ptr_null(p->main->doc);
	ck_assert_ptr_null(p->main->decls[0]->doc);
	idl_program_free(p);
	capture_fini(&cap);
}
END_TEST

START_TEST(test_parser_nested_generics)
{
	/* '>>' closes two lists' worth of angle brackets */
	idl_program *p = load_ok("struct S { map<string, int64> M; "
	                         "list<S> L; }\n"
	                         "service X { M(map<int32, S> a, "
	                         "list<S> *r); }\n");
	const ast_type *t = p->main->decls[1]->methods[0].params[0].type;

	ck_assert_int_eq(t->kind, AST_T_MAP);
	ck_assert_int_eq(t->key->kind, AST_T_INT32);
	ck_assert_ptr_eq(t->elem->resolved, p->main->decls[0]);
	idl_program_free(p);
}
END_TEST

START_TEST(test_parser_syntax_messages)
{
	expect_error("struct A { int64 X }\n", 1,
	             "main.rpc:1:20: error: expected ';' or '=' before '}'\n"
	             "struct A { int64 X }\n"
	             "                   ^\n");
	/* a missing ';' at the end of a line is shown where it belongs */
	expect_error("struct A {\n  int64 X\n}\n", 1,
	             "main.rpc:2:10: error: expected ';' or '=' before '}'\n"
	             "  int64 X\n"
	             "         ^\n");
	expect_error("struct { }\n", 1,
	             "main.rpc:1:8: error: expected identifier before '{'");
	expect_error("struct A { int64 X; ", 1,
	             "expected type, 'optional', 'oneof' or '}' before end of file");
	expect_error("servic A { }\n", 1, "error: unexpected 'servic'");
	expect_error("service A { M(int64 a int64 *b); }\n", 1,
	             "expected ')' or ',' before 'int64'");
	expect_error("enum E { A; }\n", 1, "expected '=' before ';'");
	expect_error("import foo;\n", 1,
	             "expected string literal before 'foo'");
}
END_TEST

START_TEST(test_parser_recovery_reports_several)
{
	/* one error per broken field or method, all in one run */
	expect_error("struct A {\n  int64 X\n  int64 Y;\n  int64 Z;\n"
	             "  int64 W;\n  int64 = 3;\n}\n"
	             "service S { M(int64 a,); N(int64 a, int64 *b); }\n",
	             3, "main.rpc:6:9: error: expected identifier before '='");
}
END_TEST

START_TEST(test_parser_lex_error_no_cascade)
{
	/* after a lexical error, syntax errors are not piled on top */
	expect_error("import \"unterminated;\nstruct A { int64 X; }\n", 1,
	             "main.rpc:1:8: error: unterminated string\n");
}
END_TEST

START_TEST(test_parser_deep_nesting)
{
	/* absurd nesting is an error, not a crash */
	size_t depth = 8000, i, n = 0;
	char *text = malloc(depth * 6 + 64);

	ck_assert_ptr_nonnull(text);
	n += (size_t)sprintf(text + n, "struct S { ");
	for (i = 0; i < depth; i++)
		n += (size_t)sprintf(text + n, "list<");
	n += (size_t)sprintf(text + n, "int64");
	for (i = 0; i < depth; i++)
		text[n++] = '>';
	sprintf(text + n, " x; }\n");
	expect_error(text, 1, "error: input nested too deeply");
	free(text);
}
END_TEST

/* Nothing in the front end is global: loads in parallel threads give the
 * same trees. */
static void *load_all_rpc(void *arg)
{
	char path[4096];
	idl_options o = {.diag = NULL};
	long ok = 0;
	int i;

	(void)arg;
	snprintf(path, sizeof(path), "%s/all.rpc", src_dir);
	for (i = 0; i < 20; i++) {
		idl_program *p = NULL;

		if (idl_load(path, &o, &p) == 0 && p->main->n_decls == 22 &&
		    p->n_files == 2)
			ok++;
		idl_program_free(p);
	}
	return (void *)ok;
}

START_TEST(test_parser_parallel_loads)
{
	pthread_t t[4];
	void *ok;
	int i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(
		    pthread_create(&t[i], NULL, load_all_rpc, NULL), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ok), 0);
		ck_assert_int_eq((long)ok, 20);
	}
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("idl-parser");
	TCase *tc;
	SRunner *sr;
	int failed;

	if (argc != 2) {
		fprintf(stderr, "usage: %s TESTS_IDL_DIR\n", argv[0]);
		return 2;
	}
	src_dir = argv[1];

	tc = tcase_create("all.rpc");
	tcase_add_checked_fixture(tc, all_setup, all_teardown);
	tcase_add_test(tc, test_parser_all_file);
	tcase_add_test(tc, test_parser_all_consts_defaults);
	tcase_add_test(tc, test_parser_all_oneof);
	tcase_add_test(tc, test_parser_all_struct_numbers);
	tcase_add_test(tc, test_parser_all_scalars_and_optional);
	tcase_add_test(tc, test_parser_all_named_types);
	tcase_add_test(tc, test_parser_all_containers);
	tcase_add_test(tc, test_parser_all_enum);
	tcase_add_test(tc, test_parser_all_service);
	tcase_add_test(tc, test_parser_all_arrays);
	tcase_add_test(tc, test_parser_all_docs);
	suite_add_tcase(s, tc);

	tc = tcase_create("constructs");
	tcase_add_test(tc, test_parser_empty_file);
	tcase_add_test(tc, test_parser_params_unnamed);
	tcase_add_test(tc, test_parser_semicolon_after_decl);
	tcase_add_test(tc, test_parser_keeps_wrong_param_count);
	tcase_add_test(tc, test_parser_docs_on_everything);
	tcase_add_test(tc, test_parser_doc_not_on_import);
	tcase_add_test(tc, test_parser_nested_generics);
	tcase_add_test(tc, test_parser_parallel_loads);
	suite_add_tcase(s, tc);

	tc = tcase_create("syntax errors");
	tcase_add_test(tc, test_parser_syntax_messages);
	tcase_add_test(tc, test_parser_recovery_reports_several);
	tcase_add_test(tc, test_parser_lex_error_no_cascade);
	tcase_add_test(tc, test_parser_deep_nesting);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
