/* dump.c - idl-dump: load a .rpc file and print its AST as indented text.
 *
 *   idl-dump [-I DIR]... FILE          print the tree (golden: all.ast)
 *   idl-dump --time N [-I DIR]... FILE load FILE N times, print timings
 *   --go-errors, --werror              set those idl_options
 *
 * Exit status 1 when the file has errors (diagnostics on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ast.h"

static void dump_type(FILE *o, const ast_type *t)
{
	switch (t->kind) {
	case AST_T_NAMED:
		fprintf(o, "%s", t->name);
		if (t->resolved)
			fprintf(o, "{%s %s%s%s}",
			        t->resolved->kind == AST_STRUCT ? "struct"
			                                        : "enum",
			        ast_decl_package(t->resolved)
			            ? ast_decl_package(t->resolved)
			            : "",
			        ast_decl_package(t->resolved) ? "." : "",
			        t->resolved->name);
		break;
	case AST_T_LIST:
		fprintf(o, "list<");
		dump_type(o, t->elem);
		fprintf(o, ">");
		break;
	case AST_T_MAP:
		fprintf(o, "map<");
		dump_type(o, t->key);
		fprintf(o, ", ");
		dump_type(o, t->elem);
		fprintf(o, ">");
		break;
	case AST_T_ARRAY:
		dump_type(o, t->elem);
		fprintf(o, "[%u]", (unsigned)t->n);
		break;
	default:
		fprintf(o, "%s", ast_type_kind_name(t->kind));
	}
	fprintf(o, "@%d:%d", t->loc.line, t->loc.col);
}

static void dump_doc(FILE *o, const char *indent, const char *doc)
{
	const char *p;

	if (!doc)
		return;
	fprintf(o, "%sdoc \"", indent);
	for (p = doc; *p; p++) {
		if (*p == '\n')
			fprintf(o, "\\n");
		else if (*p == '"' || *p == '\\')
			fprintf(o, "\\%c", *p);
		else
			fputc(*p, o);
	}
	fprintf(o, "\"\n");
}

static void dump_lit(FILE *o, const ast_lit *v)
{
	const char *p;

	switch (v->kind) {
	case AST_L_INT:
		fprintf(o, "%s%llu", v->neg ? "-" : "",
		        (unsigned long long)v->mag);
		break;
	case AST_L_STRING:
		fputc('"', o);
		for (p = v->text; *p; p++) {
			if (*p == '\n')
				fprintf(o, "\\n");
			else if (*p == '"' || *p == '\\')
				fprintf(o, "\\%c", *p);
			else
				fputc(*p, o);
		}
		fputc('"', o);
		break;
	case AST_L_NAME:
		fprintf(o, "%s", v->text);
		break;
	case AST_L_FLOAT:
		fprintf(o, "%s%s", v->neg ? "-" : "", v->text);
		break;
	}
	fprintf(o, "@%d:%d", v->loc.line, v->loc.col);
}

static void dump_file(FILE *o, const ast_file *f)
{
	size_t i, j, k;

	fprintf(o, "file %s\n", f->path);
	if (f->package)
		fprintf(o, "  package %s @%d:%d\n", f->package,
		        f->package_loc.line, f->package_loc.col);
	dump_doc(o, "  ", f->doc);
	for (i = 0; i < f->n_imports; i++)
		fprintf(o, "  import \"%s\" -> %s @%d:%d\n", f->imports[i].path,
		        f->imports[i].file ? f->imports[i].file->path : "?",
		        f->imports[i].loc.line, f->imports[i].loc.col);
	for (i = 0; i < f->n_decls; i++) {
		const ast_decl *d = f->decls[i];
		static const char *const kinds[] = {"struct", "enum",
		                                    "service", "const"};

		fprintf(o, "  %s %s @%d:%d\n", kinds[d->kind], d->name,
		        d->loc.line, d->loc.col);
		if (d->kind == AST_CONST) {
			fprintf(o, "    = ");
			dump_type(o, d->ctype);
			fprintf(o, " ");
			dump_lit(o, &d->value);
			fprintf(o, "\n");
		}
		dump_doc(o, "    ", d->doc);
		for (j = 0; j < d->n_fields; j++) {
			const ast_field *x = &d->fields[j];

			const ast_oneof *one = ast_field_oneof(d, x);

			if (one != NULL && x == &d->fields[one->first]) {
				fprintf(o, "    oneof %s (%zu members) @%d:%d\n",
				        one->name, one->n_members,
				        one->loc.line, one->loc.col);
				dump_doc(o, "      ", one->doc);
			}
			fprintf(o, "    field %s = %lld%s%s%s%s @%d:%d: ",
			        x->name, (long long)x->number,
			        x->explicit_number ? " (explicit)" : "",
			        x->optional ? " optional" : "",
			        one ? " in " : "", one ? one->name : "",
			        x->loc.line, x->loc.col);
			dump_type(o, x->type);
			if (x->def) {
				fprintf(o, " default ");
				dump_lit(o, x->def);
			}
			fprintf(o, "\n");
			dump_doc(o, "      ", x->doc);
		}
		for (j = 0; j < d->n_values; j++) {
			const ast_enum_value *v = &d->values[j];

			fprintf(o, "    value %s = %lld @%d:%d\n", v->name,
			        (long long)v->value, v->loc.line, v->loc.col);
			dump_doc(o, "      ", v->doc);
		}
		for (j = 0; j < d->n_methods; j++) {
			const ast_method *m = &d->methods[j];

			fprintf(o, "    method %s @%d:%d\n", m->name,
			        m->loc.line, m->loc.col);
			dump_doc(o, "      ", m->doc);
			for (k = 0; k < m->n_params; k++) {
				const ast_param *p = &m->params[k];

				fprintf(o, "      param %s%s: ",
				        p->pointer ? "*" : "",
				        p->name ? p->name : "(unnamed)");
				dump_type(o, p->type);
				fprintf(o, "\n");
			}
		}
	}
}

int main(int argc, char **argv)
{
	const char *inc[32];
	idl_options o = {.include_dirs = inc};
	idl_program *prog = NULL;
	const char *path = NULL;
	long times = 0, n;
	struct timespec t0, t1;
	size_t i;
	int a, rc;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-I") == 0 && a + 1 < argc &&
		    o.n_include_dirs < 32)
			inc[o.n_include_dirs++] = argv[++a];
		else if (strcmp(argv[a], "--time") == 0 && a + 1 < argc)
			times = strtol(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--go-errors") == 0)
			o.go_errors = true;
		else if (strcmp(argv[a], "--werror") == 0)
			o.werror = true;
		else
			path = argv[a];
	}
	if (!path) {
		fprintf(stderr,
		        "usage: idl-dump [--time N] [--go-errors] [--werror] "
		        "[-I DIR]... FILE\n");
		return 2;
	}
	if (times > 0) {
		double best = 1e30, total = 0;

		for (n = 0; n < times; n++) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			rc = idl_load(path, &o, &prog);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (rc)
				return 1;
			idl_program_free(prog);
			double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			            (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
			total += ms;
			if (ms < best)
				best = ms;
		}
		printf("idl_load %s: %ld runs, best %.2f ms, mean %.2f ms\n",
		       path, times, best, total / (double)times);
		return 0;
	}
	if (idl_load(path, &o, &prog) != 0)
		return 1;
	for (i = 0; i < prog->n_files; i++)
		dump_file(stdout, prog->files[i]);
	for (i = 0; i < prog->n_deps; i++)
		printf("dep %s\n", prog->deps[i]);
	idl_program_free(prog);
	return 0;
}
