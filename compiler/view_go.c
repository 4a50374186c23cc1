/* view_go.c - the keys of the Go output (templates/go.tmpl).
 *
 * The Go file of X.rpc is one Go package's view of X.rpc's types and
 * services, for a Go net/rpc peer: structs with exported fields whose names
 * are the IDL names with the first letter upper-cased (the names gob and
 * JSON match), enums as named int32 types, a typed client and a server
 * interface per service. Go names: a type keeps its IDL name with the first
 * letter upper-cased; enum constants are <Type>_<VALUE>; per service S:
 * SClient, NewSClient, SService, RegisterS.
 *
 * Imports: a file of the same IDL package is taken to be generated into the
 * same Go package, so its types are referred to, not emitted. Types of other
 * packages are copied into this file with the package as a prefix
 * (common.Point -> CommonPoint), except those that a same-package imported
 * file already copies (its Go file sits in the same Go package).
 *
 * What stays true: every object of a kind carries every key of that kind,
 * as in view.c; nothing here changes the C view's keys.
 */
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctype_map.h"

typedef struct gbuild {
	tmpl_arena *a;
	const idl_program *prog;
	const ast_file *file;
	tmpl_buf *err;
	int errors;
	/* top-level Go names so far, to report collisions */
	const char **names;
	const ast_loc **locs;
	size_t n_names, cap_names;
} gbuild;

static void go_error(gbuild *b, const ast_loc *loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void go_error(gbuild *b, const ast_loc *loc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	view_diag(b->a, b->err, b->file->path, loc, msg);
	b->errors++;
}

static bool go_same_pkg(const ast_file *x, const ast_file *y)
{
	if (x->package == NULL || y->package == NULL)
		return x->package == y->package;
	return strcmp(x->package, y->package) == 0;
}

static bool go_is_keyword(const char *s)
{
	static const char *const kw[] = {
	    "break",     "case",   "chan",    "const",       "continue",
	    "default",   "defer",  "else",    "fallthrough", "for",
	    "func",      "go",     "goto",    "if",          "import",
	    "interface", "map",    "package", "range",       "return",
	    "select",    "struct", "switch",  "type",        "var",
	};
	for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
		if (strcmp(s, kw[i]) == 0)
			return true;
	return false;
}

/* go_plain_param tells whether an IDL parameter name can be used as is for
 * a Go parameter of a generated method: not a keyword, not a predeclared
 * name the body might need, not a name the body uses. */
static bool go_plain_param(const char *s)
{
	static const char *const taken[] = {
	    "c",      "rpc",    "err",     "reply",   "args",   "bool",
	    "byte",   "error",  "float32", "float64", "int32",  "int64",
	    "string", "uint32", "uint64",  "new",     "nil",    "true",
	    "false",  "map",    "len",     "make",    "append", "iota",
	};
	if (s == NULL || s[0] == '\0' || (s[0] >= 'A' && s[0] <= 'Z') ||
	    s[0] == '_' || go_is_keyword(s))
		return false;
	for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
		if (strcmp(s, taken[i]) == 0)
			return false;
	return true;
}

/* go_upper1 returns s with its first letter in upper case. */
static const char *go_upper1(tmpl_arena *a, const char *s)
{
	char *r = tmpl_strdup(a, s);
	if (r[0] >= 'a' && r[0] <= 'z')
		r[0] = (char)(r[0] - 'a' + 'A');
	return r;
}

static bool go_exported(const char *s)
{
	return s[0] >= 'A' && s[0] <= 'Z';
}

/* go_decl_name is the Go name of struct or enum d: its name with the first
 * letter upper-cased, prefixed with its package's (first letter
 * upper-cased) when d belongs to another package than the file's. */
static const char *go_decl_name(gbuild *b, const ast_decl *d)
{
	const char *n = go_upper1(b->a, d->name);
	if (d->file == NULL || go_same_pkg(d->file, b->file) ||
	    d->file->package == NULL)
		return n;
	return tmpl_printf(b->a, "%s%s", go_upper1(b->a, d->file->package), n);
}

/* go_type spells IDL type t in Go; structs are pointers. */
static const char *go_type(gbuild *b, const ast_type *t)
{
	switch (t->kind) {
	case AST_T_BOOL:
		return "bool";
	case AST_T_INT32:
		return "int32";
	case AST_T_INT64:
		return "int64";
	case AST_T_UINT32:
		return "uint32";
	case AST_T_UINT64:
		return "uint64";
	case AST_T_FLOAT:
		return "float32";
	case AST_T_DOUBLE:
		return "float64";
	case AST_T_STRING:
		return "string";
	case AST_T_BYTES:
		return "[]byte";
	case AST_T_NAMED:
		if (t->resolved->kind == AST_STRUCT)
			return tmpl_printf(b->a, "*%s",
			                   go_decl_name(b, t->resolved));
		return go_decl_name(b, t->resolved);
	case AST_T_LIST:
		return tmpl_printf(b->a, "[]%s", go_type(b, t->elem));
	case AST_T_MAP:
		return tmpl_printf(b->a, "map[%s]%s", go_type(b, t->key),
		                   go_type(b, t->elem));
	case AST_T_ARRAY:
		return tmpl_printf(b->a, "[%u]%s", (unsigned)t->n,
		                   go_type(b, t->elem));
	}
	return "?";
}

static bool go_is_struct(const ast_type *t)
{
	return t->kind == AST_T_NAMED && t->resolved &&
	       t->resolved->kind == AST_STRUCT;
}

/* go_name_add records top-level Go name n declared at loc, for
 * go_check_names. */
static void go_name_add(gbuild *b, const char *n, const ast_loc *loc)
{
	if (b->n_names == b->cap_names) {
		b->cap_names = b->cap_names ? 2 * b->cap_names : 32;
		const char **nn = tmpl_alloc(b->a, b->cap_names * sizeof *nn);
		const ast_loc **nl =
		    tmpl_alloc(b->a, b->cap_names * sizeof *nl);
		if (b->n_names) {
			memcpy(nn, b->names, b->n_names * sizeof *nn);
			memcpy(nl, b->locs, b->n_names * sizeof *nl);
		}
		b->names = nn;
		b->locs = nl;
	}
	b->locs[b->n_names] = loc;
	b->names[b->n_names++] = n;
}

static const char *const *go_sort_names; /* for go_cmp_index only */

static int go_cmp_index(const void *x, const void *y)
{
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	int c = strcmp(go_sort_names[i], go_sort_names[j]);
	return c ? c : (i > j) - (i < j);
}

/* go_check_names reports, in declaration order, every top-level Go name
 * that an earlier declaration already made (sorting, not pairwise: large
 * files have thousands of names). */
static void go_check_names(gbuild *b)
{
	size_t n = b->n_names;
	size_t *idx = tmpl_alloc(b->a, (n + 1) * sizeof *idx);
	bool *dup = tmpl_alloc(b->a, (n + 1) * sizeof *dup);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	go_sort_names = b->names;
	qsort(idx, n, sizeof *idx, go_cmp_index);
	go_sort_names = NULL;
	for (size_t i = 1; i < n; i++)
		if (strcmp(b->names[idx[i]], b->names[idx[i - 1]]) == 0)
			dup[idx[i]] = true;
	for (size_t i = 0; i < n; i++)
		if (dup[i])
			go_error(b, b->locs[i],
			         "the Go name '%s' is generated twice in this "
			         "file (see docs/generated-code.md, Go output)",
			         b->names[i]);
}

/* ---- types --------------------------------------------------------------- */

/* go_field_doc is field f's comment lines: its doc, then, for a field with
 * a default, a line that says so (Go has no field defaults). */
static const char *go_field_doc(gbuild *b, const ast_field *f)
{
	const char *doc = view_line_doc(b->a, f->doc, "\t");
	if (f->def == NULL)
		return doc;
	const char *v = ctype_lit_go(b->a, f->type, f->def);
	if (f->type->kind == AST_T_NAMED)
		v = tmpl_printf(b->a, "%s_%s",
		                go_decl_name(b, f->type->resolved), v);
	return tmpl_printf(b->a,
	                   "%s%s// Default %s in C: set by init, and by "
	                   "protobuf decoding when absent.",
	                   doc, doc[0] ? "\n\t" : "", v);
}

/* go_oneof_doc is the comment above the first member of a oneof: its
 * doc, then which fields are its members (Go has no oneof: each member is
 * a pointer, nil when it is not the one set). */
static const char *go_oneof_doc(gbuild *b, const ast_decl *d,
                                const ast_oneof *one, const char **names,
                                const char *field_doc)
{
	tmpl_arena *a = b->a;
	const char *doc = view_line_doc(a, one->doc, "\t");
	const char *list = "";
	for (size_t k = 0; k < one->n_members; k++)
		list = tmpl_printf(a, "%s%s%s", list,
		                   k == 0                    ? ""
		                   : k + 1 == one->n_members ? " and "
		                                             : ", ",
		                   names[one->first + k]);
	(void)d;
	doc = tmpl_printf(a,
	                  "%s%s// Oneof %s: at most one of %s is set "
	                  "(non-nil).",
	                  doc, doc[0] ? "\n\t" : "", one->name, list);
	if (field_doc[0])
		doc = tmpl_printf(a, "%s\n\t%s", doc, field_doc);
	return doc;
}

static void go_struct(gbuild *b, const ast_decl *d, tmpl_val *o)
{
	tmpl_arena *a = b->a;
	tmpl_set_list(a, o, "g_values");
	tmpl_val *fl = tmpl_set_list(a, o, "g_fields");
	size_t n = d->n_fields;
	const char **names = tmpl_alloc(a, (n + 1) * sizeof *names);
	for (size_t i = 0; i < n; i++) {
		const ast_field *f = &d->fields[i];
		/* names Go cannot export or that collide were reported by
		 * the front end (idl_options.go_errors) */
		names[i] = go_upper1(a, f->name);
	}
	/* gofmt aligns the types of a run of fields that no comment line
	 * interrupts */
	size_t start = 0;
	while (start < n) {
		size_t end = start + 1;
		while (end < n && d->fields[end].doc == NULL &&
		       d->fields[end].def == NULL &&
		       !(d->fields[end].oneof &&
		         ast_field_oneof(d, &d->fields[end])->first == end))
			end++;
		size_t width = 0;
		for (size_t i = start; i < end; i++)
			if (strlen(names[i]) > width)
				width = strlen(names[i]);
		for (size_t i = start; i < end; i++) {
			const ast_field *f = &d->fields[i];
			tmpl_val *fo = tmpl_push(a, fl);
			const char *t = go_type(b, f->type);
			const ast_oneof *one = ast_field_oneof(d, f);
			const char *doc = go_field_doc(b, f);
			if ((f->optional || one) && !go_is_struct(f->type))
				t = tmpl_printf(a, "*%s", t);
			if (one && one->first == i)
				doc = go_oneof_doc(b, d, one, names, doc);
			tmpl_set_str(a, fo, "g_field", names[i]);
			tmpl_set_strf(a, fo, "g_pad", "%*s",
			              (int)(width - strlen(names[i]) + 1), "");
			tmpl_set_str(a, fo, "g_type", t);
			tmpl_set_str(a, fo, "go_doc", doc);
		}
		start = end;
	}
	tmpl_set_bool(a, o, "g_has_fields", n > 0);
}

static void go_enum(gbuild *b, const ast_decl *d, const char *tname,
                    tmpl_val *o)
{
	tmpl_arena *a = b->a;
	tmpl_set_list(a, o, "g_fields");
	tmpl_set_bool(a, o, "g_has_fields", false);
	tmpl_val *vl = tmpl_set_list(a, o, "g_values");
	size_t n = d->n_values;
	size_t start = 0;
	while (start < n) {
		size_t end = start + 1;
		while (end < n && d->values[end].doc == NULL)
			end++;
		size_t width = 0;
		for (size_t i = start; i < end; i++)
			if (strlen(d->values[i].name) > width)
				width = strlen(d->values[i].name);
		for (size_t i = start; i < end; i++) {
			const ast_enum_value *v = &d->values[i];
			tmpl_val *vo = tmpl_push(a, vl);
			const char *c = tmpl_printf(a, "%s_%s", tname, v->name);
			go_name_add(b, c, &v->loc);
			tmpl_set_str(a, vo, "g_const", c);
			tmpl_set_strf(a, vo, "g_pad", "%*s",
			              (int)(width - strlen(v->name) + 1), "");
			tmpl_set_strf(a, vo, "g_number", "%lld",
			              (long long)v->value);
			tmpl_set_str(a, vo, "go_doc",
			             view_line_doc(a, v->doc, "\t"));
		}
		start = end;
	}
}

static void go_types_of(gbuild *b, const ast_file *f, tmpl_val *list)
{
	tmpl_arena *a = b->a;
	for (size_t i = 0; i < f->n_decls; i++) {
		const ast_decl *d = f->decls[i];
		if (d->kind == AST_SERVICE || d->kind == AST_CONST)
			continue;
		const char *tname = go_decl_name(b, d);
		if (!go_exported(tname))
			go_error(b, &d->loc,
			         "type name '%s' has no exported Go spelling",
			         d->name);
		go_name_add(b, tname, &d->loc);
		tmpl_val *o = tmpl_push(a, list);
		tmpl_set_str(a, o, "g_name", tname);
		tmpl_set_str(a, o, "go_doc", view_line_doc(a, d->doc, ""));
		tmpl_set_bool(a, o, "g_struct", d->kind == AST_STRUCT);
		tmpl_set_bool(a, o, "g_enum", d->kind == AST_ENUM);
		if (d->kind == AST_STRUCT)
			go_struct(b, d, o);
		else
			go_enum(b, d, tname, o);
	}
}

/* go_consts lists the consts of the main file: typed Go constants named
 * like types (first letter upper-cased), in runs gofmt aligns. */
static void go_consts(gbuild *b, tmpl_val *view)
{
	tmpl_arena *a = b->a;
	const ast_file *f = b->file;
	tmpl_val *list = tmpl_set_list(a, view, "go_consts");
	const ast_decl **k = tmpl_alloc(a, (f->n_decls + 1) * sizeof *k);
	size_t n = 0;
	for (size_t i = 0; i < f->n_decls; i++)
		if (f->decls[i]->kind == AST_CONST)
			k[n++] = f->decls[i];
	size_t start = 0;
	while (start < n) {
		size_t end = start + 1;
		while (end < n && k[end]->doc == NULL)
			end++;
		size_t wn = 0, wt = 0;
		for (size_t i = start; i < end; i++) {
			size_t ln = strlen(k[i]->name);
			size_t lt = strlen(go_type(b, k[i]->ctype));
			wn = ln > wn ? ln : wn;
			wt = lt > wt ? lt : wt;
		}
		for (size_t i = start; i < end; i++) {
			const ast_decl *d = k[i];
			const char *name = go_upper1(a, d->name);
			const char *t = go_type(b, d->ctype);
			if (!go_exported(name))
				go_error(b, &d->loc,
				         "const name '%s' has no exported Go "
				         "spelling",
				         d->name);
			go_name_add(b, name, &d->loc);
			tmpl_val *o = tmpl_push(a, list);
			tmpl_set_str(a, o, "gc_name", name);
			tmpl_set_strf(a, o, "gc_pad", "%*s",
			              (int)(wn - strlen(name) + 1), "");
			tmpl_set_str(a, o, "gc_type", t);
			tmpl_set_strf(a, o, "gc_tpad", "%*s",
			              (int)(wt - strlen(t) + 1), "");
			tmpl_set_str(a, o, "gc_value",
			             ctype_lit_go(a, d->ctype, &d->value));
			tmpl_set_str(a, o, "go_doc",
			             view_line_doc(a, d->doc, "\t"));
		}
		start = end;
	}
	tmpl_set_bool(a, view, "go_has_consts", n > 0);
}

/* ---- which files ----------------------------------------------------------
 */

static size_t go_index(const gbuild *b, const ast_file *f)
{
	for (size_t i = 0; i < b->prog->n_files; i++)
		if (b->prog->files[i] == f)
			return i;
	return b->prog->n_files;
}

/* go_reach marks in seen every file reachable from f through imports. */
static void go_reach(const gbuild *b, const ast_file *f, bool *seen)
{
	size_t i = go_index(b, f);
	if (i == b->prog->n_files || seen[i])
		return;
	seen[i] = true;
	for (size_t k = 0; k < f->n_imports; k++)
		if (f->imports[k].file != NULL)
			go_reach(b, f->imports[k].file, seen);
}

/* go_foreign marks in out the files whose types this Go file copies: the
 * other-package files reachable from the main file, less those reachable
 * from a same-package imported file (whose Go file copies them). */
static void go_foreign(const gbuild *b, bool *out)
{
	size_t n = b->prog->n_files;
	bool *seen = tmpl_alloc(b->a, (n + 1) * sizeof *seen);
	go_reach(b, b->file, seen);
	for (size_t i = 0; i < n; i++)
		out[i] = seen[i] && !go_same_pkg(b->prog->files[i], b->file);
	for (size_t i = 0; i < n; i++) {
		const ast_file *s = b->prog->files[i];
		if (!seen[i] || s == b->file || !go_same_pkg(s, b->file))
			continue;
		bool *via = tmpl_alloc(b->a, (n + 1) * sizeof *via);
		go_reach(b, s, via);
		for (size_t j = 0; j < n; j++)
			if (via[j])
				out[j] = false;
	}
}

/* ---- services ------------------------------------------------------------ */

static void go_service(gbuild *b, const ast_decl *d, tmpl_val *o)
{
	tmpl_arena *a = b->a;
	const char *s = go_upper1(a, d->name);
	if (!go_exported(s))
		go_error(b, &d->loc,
		         "service name '%s' has no exported Go spelling",
		         d->name);
	tmpl_set_str(a, o, "gs_name", s);
	tmpl_set_str(a, o, "gs_wire", d->name);
	tmpl_set_str(a, o, "go_doc", view_line_doc(a, d->doc, ""));
	static const char *const made[] = {"%sClient", "New%sClient",
	                                   "%sService", "Register%s"};
	for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
		go_name_add(b, tmpl_printf(a, made[i], s), &d->loc);

	tmpl_val *ml = tmpl_set_list(a, o, "gs_methods");
	for (size_t i = 0; i < d->n_methods; i++) {
		const ast_method *m = &d->methods[i];
		if (m->n_params != 2)
			continue; /* view_build has reported it */
		if (strcmp(m->name, "Client") == 0)
			go_error(b, &m->loc,
			         "method name 'Client' clashes with the "
			         "*rpc.Client field of the generated %sClient",
			         s);
		const ast_param *pa = &m->params[0], *pr = &m->params[1];
		const char *an = go_plain_param(pa->name) ? pa->name : "args";
		const char *rn =
		    go_plain_param(pr->name) && strcmp(pr->name, an) != 0
		        ? pr->name
		        : "reply";
		if (strcmp(an, rn) == 0)
			an = "args";
		bool rs = go_is_struct(pr->type);
		const char *rt = go_type(b, pr->type);
		tmpl_val *mo = tmpl_push(a, ml);
		tmpl_set_str(a, mo, "gm_name", m->name);
		tmpl_set_strf(a, mo, "gm_wire", "%s.%s", d->name, m->name);
		tmpl_set_str(a, mo, "gm_arg", an);
		tmpl_set_str(a, mo, "gm_arg_type", go_type(b, pa->type));
		tmpl_set_str(a, mo, "gm_reply", rn);
		/* the interface's reply: always a pointer, never **T */
		tmpl_set_str(a, mo, "gm_reply_type",
		             rs ? rt : tmpl_printf(a, "*%s", rt));
		/* the client's result: *T for a struct, else the value */
		tmpl_set_str(a, mo, "gm_result", rt);
		tmpl_set_str(a, mo, "gm_reply_elem", rs ? rt + 1 : rt);
		tmpl_set_bool(a, mo, "gm_struct_reply", rs);
		tmpl_set_str(a, mo, "go_doc", view_line_doc(a, m->doc, ""));
		tmpl_set_str(a, mo, "go_member_doc",
		             view_line_doc(a, m->doc, "\t"));
	}
}

/* ---- the file ------------------------------------------------------------ */

/* go_package_of makes a Go package name of an IDL package or a file base
 * name: characters other than letters, digits and '_' become '_'; a name
 * that starts with a digit gets "rpc_" before it; a Go keyword gets "_"
 * after it. */
static const char *go_package_of(tmpl_arena *a, const char *s)
{
	char *p = tmpl_strdup(a, s[0] ? s : "rpc");
	for (char *q = p; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '_'))
			*q = '_';
	if (p[0] >= '0' && p[0] <= '9')
		return tmpl_printf(a, "rpc_%s", p);
	if (go_is_keyword(p) || strcmp(p, "_") == 0)
		return tmpl_printf(a, "%s_", p);
	return p;
}

int view_go_add(tmpl_arena *a, const idl_program *prog, const char *base,
                const char *go_package, tmpl_val *view, tmpl_buf *err)
{
	gbuild b = {.a = a, .prog = prog, .file = prog->main, .err = err};
	const ast_file *file = prog->main;

	const char *pkg = go_package;
	if (pkg == NULL)
		pkg = go_package_of(a, file->package ? file->package : base);
	tmpl_set_str(a, view, "go_package", pkg);
	tmpl_set_str(a, view, "go_doc", view_line_doc(a, file->doc, ""));

	tmpl_val *files = tmpl_set_list(a, view, "go_files");
	tmpl_val *fo = tmpl_push(a, files);
	tmpl_set_str(a, fo, "gf_note", "");
	go_types_of(&b, file, tmpl_set_list(a, fo, "gf_types"));

	size_t n = prog->n_files;
	bool *foreign = tmpl_alloc(a, (n + 1) * sizeof *foreign);
	go_foreign(&b, foreign);
	for (size_t i = 0; i < n; i++) {
		const ast_file *f = prog->files[i];
		/* a file without a package cannot be named from one with a
		 * package (only pkg.Name reaches another package) */
		if (!foreign[i] || f->package == NULL)
			continue;
		bool any = false;
		for (size_t j = 0; j < f->n_decls; j++)
			any |= f->decls[j]->kind == AST_STRUCT ||
			       f->decls[j]->kind == AST_ENUM;
		if (!any)
			continue;
		const char *slash = strrchr(f->path, '/');
		fo = tmpl_push(a, files);
		tmpl_set_strf(
		    a, fo, "gf_note",
		    "// Types of package %s (%s), copied here with the "
		    "prefix %s.",
		    f->package, slash ? slash + 1 : f->path,
		    go_upper1(a, f->package));
		go_types_of(&b, f, tmpl_set_list(a, fo, "gf_types"));
	}

	tmpl_val *services = tmpl_set_list(a, view, "go_services");
	for (size_t i = 0; i < file->n_decls; i++)
		if (file->decls[i]->kind == AST_SERVICE)
			go_service(&b, file->decls[i], tmpl_push(a, services));
	tmpl_set_bool(a, view, "go_has_services", tmpl_list_len(services) > 0);
	/* last: a clash between a const and a type or service is the
	 * const's */
	go_consts(&b, view);
	go_check_names(&b);
	return b.errors ? -1 : 0;
}
