/* view.c - builds the view of one .rpc file for the templates.
 *
 * The view is the whole generated file as data: the messages to emit (the
 * file's structs, a synthesised entry message per map field as protoc-c
 * makes for proto3 maps, and a one-field wrapper message per non-struct
 * argument or reply type), their fields in declaration order for the C
 * struct and sorted by number and by name for the descriptors, the enums
 * with their values sorted by number and by name, and the services with
 * their methods in source order (stubs) and sorted by name (the method
 * table the runtime searches).
 *
 * What stays true: every object of a kind carries every key of that kind
 * (an absent doc is ""), so a template never falls through to an outer
 * object's member by accident; no name is mangled in a template.
 *
 * Wrapper names: <T>Value for a scalar, string, bytes or enum T, <E>List for
 * list<E>, <K><V>Map for map<K, V>, where a type's part is its name with
 * the first letter in upper case ("Int64", "Op"; "CommonPoint" for
 * common.Point seen from another package). A wrapper that a same-package
 * imported file already generates is used from there, not emitted again.
 */
#include "view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctype_map.h"

/* One field of a message to emit. */
typedef struct vfield {
	const char *name;
	int64_t number;
	const char *doc;
	const ast_type *type; /* may be a list or a map */
	bool optional;
	const ast_lit *def; /* [default = V], or NULL */
	const char *entry;  /* maps: C name of the entry message */
	size_t decl_index;
	const ast_oneof *oneof;       /* the oneof it is a member of, or NULL */
	bool oneof_first, oneof_last; /* its first or last member */
} vfield;

typedef enum vmsg_kind { VM_STRUCT, VM_ENTRY, VM_WRAPPER } vmsg_kind;

typedef struct vmsg {
	vmsg_kind kind;
	const char *name;  /* "Args", "CountsEntry", "Int64Value" */
	const char *cname; /* "arith_Args" */
	const char *full;  /* "arith.Args" */
	const char *doc;
	const char *rpc_name; /* IDL spelling: "Args", "int64", "list<Args>" */
	const char *form;     /* RPC_FORM_... */
	vfield *fields;
	size_t n_fields;
} vmsg;

typedef struct vbuild {
	tmpl_arena *a;
	const idl_program *prog;
	const ast_file *file;
	tmpl_buf *err;
	int errors;
	vmsg *msgs;
	size_t n_msgs, cap_msgs;
	const char **imported_wrappers; /* wrapper names made by imports */
	size_t n_imported_wrappers;
} vbuild;

static void view_error(vbuild *b, const ast_loc *loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* view_error reports "file:line:col: error: msg", then the source line and
 * a caret, as the front end does. */
static void view_error(vbuild *b, const ast_loc *loc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	view_diag(b->a, b->err, b->file->path, loc, msg);
	b->errors++;
}

void view_diag(tmpl_arena *a, tmpl_buf *err, const char *fallback,
               const ast_loc *loc, const char *msg)
{
	const char *file = loc && loc->file ? loc->file : fallback;
	int line = loc ? loc->line : 0, col = loc ? loc->col : 0;
	char *text =
	    tmpl_printf(a, "%s:%d:%d: error: %s\n", file, line, col, msg);
	tmpl_buf_add(err, text, strlen(text));

	FILE *f = line > 0 ? fopen(file, "r") : NULL;
	if (f == NULL)
		return;
	char src[1024];
	int at = 0;
	while (fgets(src, sizeof src, f) != NULL) {
		size_t n = strlen(src);
		bool whole = n > 0 && src[n - 1] == '\n';
		if (++at == line) {
			if (whole)
				src[--n] = '\0';
			tmpl_buf_add(err, src, n);
			tmpl_buf_add(err, "\n", 1);
			for (int i = 1; i < col && (size_t)(i - 1) < n; i++)
				tmpl_buf_add(
				    err, src[i - 1] == '\t' ? "\t" : " ", 1);
			tmpl_buf_add(err, "^\n", 2);
			break;
		}
		while (!whole && fgets(src, sizeof src, f) != NULL) {
			n = strlen(src);
			whole = n > 0 && src[n - 1] == '\n';
		}
	}
	fclose(f);
}

/* ---- text helpers -------------------------------------------------------- */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* strip_rpc returns the base name of path without its ".rpc" suffix. */
static const char *strip_rpc(tmpl_arena *a, const char *path)
{
	char *s = tmpl_strdup(a, base_name(path));
	size_t n = strlen(s);
	if (n > 4 && strcmp(s + n - 4, ".rpc") == 0)
		s[n - 4] = '\0';
	return s;
}

/* doc_lines formats doc text as comment lines: C ("/ * a\n<ind> * b * /")
 * when c is true, else proto ("// a\n<ind>// b"). "" when there is none. */
static const char *doc_fmt(tmpl_arena *a, const char *doc, const char *indent,
                           bool c)
{
	if (doc == NULL)
		return "";
	tmpl_buf out = {0};
	const char *p = doc;
	bool first = true;
	bool any = false;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *s = p;
		while (n > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
		                 s[n - 1] == '\r'))
			n--;
		if (!first) {
			tmpl_buf_add(&out, "\n", 1);
			tmpl_buf_add(&out, indent, strlen(indent));
			tmpl_buf_add(&out, c ? " *" : "//", 2);
		} else {
			tmpl_buf_add(&out, c ? "/*" : "//", 2);
		}
		if (n > 0) {
			tmpl_buf_add(&out, " ", 1);
			any = true;
		}
		for (size_t i = 0; i < n; i++) {
			/* a C comment must not end early, nest ("/" "*" is
			 * -Wcomment) or hold a trigraph */
			bool split = c && i + 1 < n &&
			             ((s[i] == '*' && s[i + 1] == '/') ||
			              (s[i] == '/' && s[i + 1] == '*') ||
			              (s[i] == '?' && s[i + 1] == '?'));
			tmpl_buf_add(&out, &s[i], 1);
			if (split)
				tmpl_buf_add(&out, " ", 1);
		}
		first = false;
		p = e ? e + 1 : p + strlen(p);
	}
	if (c)
		tmpl_buf_add(&out, " */", 3);
	const char *r = any ? tmpl_strdup(a, out.data) : "";
	tmpl_buf_fini(&out);
	return r;
}

static const char *c_doc(vbuild *b, const char *doc, const char *indent)
{
	return doc_fmt(b->a, doc, indent, true);
}

static const char *proto_doc(vbuild *b, const char *doc, const char *indent)
{
	return doc_fmt(b->a, doc, indent, false);
}

const char *view_line_doc(tmpl_arena *a, const char *doc, const char *indent)
{
	return doc_fmt(a, doc, indent, false);
}

static bool is_c_keyword(const char *s)
{
	static const char *const kw[] = {
	    "auto",     "break",    "case",     "char",   "const",   "continue",
	    "default",  "do",       "double",   "else",   "enum",    "extern",
	    "float",    "for",      "goto",     "if",     "inline",  "int",
	    "long",     "register", "restrict", "return", "short",   "signed",
	    "sizeof",   "static",   "struct",   "switch", "typedef", "union",
	    "unsigned", "void",     "volatile", "while",  "bool",    "true",
	    "false",    "NULL",
	};
	for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
		if (strcmp(s, kw[i]) == 0)
			return true;
	return false;
}

/* ---- messages ------------------------------------------------------------ */

static const char *pkg_or_empty(const ast_file *f)
{
	return f->package ? f->package : "";
}

static const char *full_name(vbuild *b, const char *name)
{
	if (b->file->package)
		return tmpl_printf(b->a, "%s.%s", b->file->package, name);
	return name;
}

static const char *local_cname(vbuild *b, const char *name)
{
	if (b->file->package)
		return tmpl_printf(b->a, "%s_%s", b->file->package, name);
	return name;
}

static vmsg *msg_add(vbuild *b)
{
	if (b->n_msgs == b->cap_msgs) {
		b->cap_msgs = b->cap_msgs ? 2 * b->cap_msgs : 16;
		vmsg *m = tmpl_alloc(b->a, b->cap_msgs * sizeof *m);
		if (b->n_msgs)
			memcpy(m, b->msgs, b->n_msgs * sizeof *m);
		b->msgs = m;
	}
	vmsg *m = &b->msgs[b->n_msgs++];
	memset(m, 0, sizeof *m);
	return m;
}

static bool is_container(const ast_type *t)
{
	return t->kind == AST_T_LIST || t->kind == AST_T_MAP ||
	       t->kind == AST_T_ARRAY;
}

/* check_elem rejects what protobuf cannot say: containers of containers. */
static bool check_container(vbuild *b, const ast_type *t)
{
	if (t->kind == AST_T_LIST && is_container(t->elem)) {
		view_error(b, &t->loc,
		           "a list of lists or maps has no protobuf encoding");
		return false;
	}
	if (t->kind == AST_T_MAP && is_container(t->elem)) {
		view_error(b, &t->loc,
		           "a map of lists or maps has no protobuf encoding");
		return false;
	}
	return true;
}

/* add_entry adds the entry message of map type t for the field named
 * field of the message named owner (short names, "Everything" and
 * "Counts"); returns its C name. */
static const char *add_entry(vbuild *b, const char *owner, const char *field,
                             const ast_type *t)
{
	const char *name =
	    tmpl_printf(b->a, "%sEntry", ctype_camel(b->a, field));
	const char *owner_full = full_name(b, owner);
	vmsg *m = msg_add(b);
	m->kind = VM_ENTRY;
	m->name = name;
	m->cname = tmpl_printf(b->a, "%s_%s", local_cname(b, owner), name);
	m->full = tmpl_printf(b->a, "%s.%s", owner_full, name);
	m->doc = NULL;
	m->n_fields = 2;
	m->fields = tmpl_alloc(b->a, 2 * sizeof *m->fields);
	m->fields[0] = (vfield){.name = "key", .number = 1, .type = t->key};
	m->fields[1] = (vfield){
	    .name = "value", .number = 2, .type = t->elem, .decl_index = 1};
	return m->cname;
}

static void add_struct(vbuild *b, const ast_decl *d)
{
	vfield *fields = tmpl_alloc(b->a, (d->n_fields + 1) * sizeof *fields);
	for (size_t i = 0; i < d->n_fields; i++) {
		const ast_field *f = &d->fields[i];
		vfield *v = &fields[i];
		v->name = f->name;
		v->number = f->number;
		v->doc = f->doc;
		v->type = f->type;
		v->optional = f->optional;
		v->def = f->def;
		v->decl_index = i;
		v->oneof = ast_field_oneof(d, f);
		if (v->oneof != NULL) {
			v->oneof_first = i == v->oneof->first;
			v->oneof_last =
			    i + 1 == v->oneof->first + v->oneof->n_members;
		}
		if (is_c_keyword(f->name))
			view_error(b, &f->loc, "field name '%s' is a C keyword",
			           f->name);
		if (!check_container(b, f->type))
			continue;
		if (f->optional && is_container(f->type))
			view_error(b, &f->loc,
			           "a list or map cannot be optional");
		if (f->type->kind == AST_T_MAP)
			v->entry = add_entry(b, d->name, f->name, f->type);
	}
	vmsg *m = msg_add(b);
	m->kind = VM_STRUCT;
	m->name = d->name;
	m->cname = ctype_decl_cname(b->a, d);
	m->full = full_name(b, d->name);
	m->doc = d->doc;
	m->rpc_name = d->name;
	m->form = "RPC_FORM_MESSAGE";
	m->fields = fields;
	m->n_fields = d->n_fields;
}

/* wrapper_name names the wrapper message of non-struct type t. */
static const char *wrapper_name(vbuild *b, const ast_type *t)
{
	ctype_info k, v;
	switch (t->kind) {
	case AST_T_LIST:
		ctype_elem(b->a, b->file, t->elem, &v);
		return tmpl_printf(b->a, "%sList", v.camel);
	case AST_T_ARRAY:
		ctype_elem(b->a, b->file, t->elem, &v);
		return tmpl_printf(b->a, "%sArray%u", v.camel, (unsigned)t->n);
	case AST_T_MAP:
		ctype_elem(b->a, b->file, t->key, &k);
		ctype_elem(b->a, b->file, t->elem, &v);
		return tmpl_printf(b->a, "%s%sMap", k.camel, v.camel);
	default:
		ctype_elem(b->a, b->file, t, &v);
		return tmpl_printf(b->a, "%sValue", v.camel);
	}
}

static bool needs_wrapper(const ast_type *t)
{
	return !(t->kind == AST_T_NAMED && t->resolved &&
	         t->resolved->kind == AST_STRUCT);
}

static bool same_pkg(const ast_file *x, const ast_file *y)
{
	if (x->package == NULL || y->package == NULL)
		return x->package == y->package;
	return strcmp(x->package, y->package) == 0;
}

/* collect_imported_wrappers lists the wrapper names that other files of
 * this package generate (their headers are included, so they are reused). */
static void collect_imported_wrappers(vbuild *b)
{
	const ast_file *main = b->file;
	for (size_t i = 0; i < b->prog->n_files; i++) {
		const ast_file *f = b->prog->files[i];
		if (f == main || !same_pkg(f, main))
			continue;
		vbuild sub = {.a = b->a, .prog = b->prog, .file = f};
		for (size_t j = 0; j < f->n_decls; j++) {
			const ast_decl *d = f->decls[j];
			if (d->kind != AST_SERVICE)
				continue;
			for (size_t k = 0; k < d->n_methods; k++) {
				const ast_method *me = &d->methods[k];
				for (size_t p = 0; p < me->n_params && p < 2;
				     p++) {
					const ast_type *t = me->params[p].type;
					if (!needs_wrapper(t))
						continue;
					const char **w = tmpl_alloc(
					    b->a, (b->n_imported_wrappers + 1) *
					              sizeof *w);
					if (b->n_imported_wrappers)
						memcpy(w, b->imported_wrappers,
						       b->n_imported_wrappers *
						           sizeof *w);
					w[b->n_imported_wrappers++] =
					    wrapper_name(&sub, t);
					b->imported_wrappers = w;
				}
			}
		}
	}
}

static bool name_in(const char *name, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* package_has_decl tells whether a struct or enum of this package is
 * named name (a wrapper of that name would collide with it). */
static bool package_has_decl(vbuild *b, const char *name)
{
	for (size_t i = 0; i < b->prog->n_files; i++) {
		const ast_file *f = b->prog->files[i];
		if (!same_pkg(f, b->file))
			continue;
		for (size_t j = 0; j < f->n_decls; j++)
			if ((f->decls[j]->kind == AST_STRUCT ||
			     f->decls[j]->kind == AST_ENUM) &&
			    strcmp(f->decls[j]->name, name) == 0)
				return true;
	}
	return false;
}

/* wrapper_for returns the C name of the wrapper of t, adding the wrapper
 * message when this file is the one to emit it. */
static const char *wrapper_for(vbuild *b, const ast_type *t, const ast_loc *loc)
{
	const char *name = wrapper_name(b, t);
	const char *cname = local_cname(b, name);
	for (size_t i = 0; i < b->n_msgs; i++)
		if (b->msgs[i].kind == VM_WRAPPER &&
		    strcmp(b->msgs[i].name, name) == 0)
			return cname;
	if (name_in(name, b->imported_wrappers, b->n_imported_wrappers))
		return cname;
	if (package_has_decl(b, name)) {
		view_error(b, loc,
		           "the wrapper message '%s' generated for '%s' "
		           "collides with a declared type of that name",
		           name, ctype_spell(b->a, t));
		return cname;
	}
	if (!check_container(b, t))
		return cname;
	const char *entry = NULL;
	if (t->kind == AST_T_MAP)
		entry = add_entry(b, name, "value", t);
	vmsg *m = msg_add(b);
	m->kind = VM_WRAPPER;
	m->name = name;
	m->cname = cname;
	m->full = full_name(b, name);
	m->rpc_name = ctype_spell(b->a, t);
	m->doc = tmpl_printf(
	    b->a, "The protobuf wire form of %s arguments and replies.",
	    m->rpc_name);
	m->form = is_container(t) ? "RPC_FORM_WRAPPED" : "RPC_FORM_VALUE";
	m->n_fields = 1;
	m->fields = tmpl_alloc(b->a, sizeof *m->fields);
	m->fields[0] =
	    (vfield){.name = "value", .number = 1, .type = t, .entry = entry};
	return cname;
}

/* ---- message view -------------------------------------------------------- */

static const char *decl_with(const char *ctype, const char *stars,
                             const char *name, tmpl_arena *a)
{
	size_t n = strlen(ctype);
	bool ptr = n > 0 && ctype[n - 1] == '*';
	return tmpl_printf(a, "%s%s%s%s", ctype, ptr ? "" : " ", stars, name);
}

static int cmp_field_number(const void *x, const void *y)
{
	const vfield *const *a = x, *const *b = y;
	return (*a)->number < (*b)->number ? -1 : (*a)->number > (*b)->number;
}

static int cmp_field_name(const void *x, const void *y)
{
	const vfield *const *a = x, *const *b = y;
	return strcmp((*a)->name, (*b)->name);
}

/* view_oneof_member adds to member object mo of field f what the C
 * struct needs around a oneof member: before the first one the case
 * ("all_Shape_kind_case kind_case;") and "union {", after the last one
 * "};"; in the _INIT macro one initialiser for the case and the union, at
 * the first member. */
static void view_oneof_member(vbuild *b, const vmsg *m, const vfield *f,
                              tmpl_val *mo)
{
	tmpl_arena *a = b->a;
	const ast_oneof *one = f->oneof;

	tmpl_set_bool(a, mo, "f_oneof", one != NULL);
	tmpl_set_bool(a, mo, "f_open", f->oneof_first);
	tmpl_set_bool(a, mo, "f_close", f->oneof_last);
	tmpl_set_bool(a, mo, "f_skip_init", one != NULL && !f->oneof_first);
	tmpl_set_str(a, mo, "f_init_name", one ? one->name : f->name);
	tmpl_set_str(a, mo, "o_doc", c_doc(b, one ? one->doc : NULL, "\t"));
	tmpl_set_str(a, mo, "f_member_doc",
	             c_doc(b, one ? f->doc : NULL, "\t\t"));
	if (one == NULL) {
		tmpl_set_str(a, mo, "o_case_decl", "");
		return;
	}
	const char *ctype = tmpl_printf(a, "%s_%s_case", m->cname, one->name);
	tmpl_set_strf(a, mo, "o_case_decl", "%s %s_case", ctype, one->name);
	if (f->oneof_first)
		tmpl_set_strf(a, mo, "f_init", "%s__NOT_SET, {0}",
		              ctype_upper(a, tmpl_printf(a, "%s_%s", m->cname,
		                                         one->name)));
}

/* view_oneofs lists the case enums of message m's oneofs: one constant
 * per member, the member's field number, after <STRUCT>_<ONEOF>__NOT_SET
 * (0), as protoc-c names them. */
static void view_oneofs(vbuild *b, const vmsg *m, tmpl_val *o)
{
	tmpl_arena *a = b->a;
	tmpl_val *list = tmpl_set_list(a, o, "m_oneofs");

	for (size_t i = 0; i < m->n_fields; i++) {
		const vfield *f = &m->fields[i];
		if (f->oneof == NULL || !f->oneof_first)
			continue;
		const ast_oneof *one = f->oneof;
		const char *upper = ctype_upper(
		    a, tmpl_printf(a, "%s_%s", m->cname, one->name));
		tmpl_val *oo = tmpl_push(a, list);
		tmpl_set_strf(a, oo, "o_ctype", "%s_%s_case", m->cname,
		              one->name);
		tmpl_set_str(a, oo, "o_upper", upper);
		tmpl_set_strf(a, oo, "o_title",
		              "/* Which member of oneof %s is set. */",
		              one->name);
		tmpl_val *cases = tmpl_set_list(a, oo, "o_cases");
		for (size_t k = i; k < i + one->n_members; k++) {
			tmpl_val *co = tmpl_push(a, cases);
			tmpl_set_strf(a, co, "c_name", "%s_%s", upper,
			              ctype_upper(a, m->fields[k].name));
			tmpl_set_strf(a, co, "c_number", "%lld",
			              (long long)m->fields[k].number);
		}
	}
}

static void view_fields(vbuild *b, const vmsg *m, tmpl_val *o)
{
	tmpl_arena *a = b->a;
	tmpl_val *members = tmpl_set_list(a, o, "members");
	tmpl_val *by_number = tmpl_set_list(a, o, "by_number");
	tmpl_val *by_name = tmpl_set_list(a, o, "by_name");
	tmpl_val *ranges = tmpl_set_list(a, o, "ranges");
	tmpl_val *defaults = tmpl_set_list(a, o, "m_defaults");
	size_t n = m->n_fields;
	const vfield **sorted = tmpl_alloc(a, (n + 1) * sizeof *sorted);
	for (size_t i = 0; i < n; i++)
		sorted[i] = &m->fields[i];
	qsort(sorted, n, sizeof *sorted, cmp_field_number);

	for (size_t i = 0; i < n; i++) {
		const vfield *f = &m->fields[i];
		const ast_type *t = f->type;
		tmpl_val *mo = tmpl_push(a, members);
		ctype_info ci;
		bool array = t->kind == AST_T_ARRAY;
		bool count = is_container(t) && !array;
		const ast_type *elem =
		    t->kind == AST_T_LIST || array ? t->elem : t;
		ctype_elem(a, b->file, elem, &ci);
		bool has =
		    f->optional && !count && !ci.is_string && !ci.is_struct;
		const char *decl, *init;
		if (array) {
			/* the view (internal.h) before the array */
			decl = tmpl_printf(
			    a, "%s%s%s[%u]", ci.ctype,
			    ci.ctype[strlen(ci.ctype) - 1] == '*' ? "" : " ",
			    f->name, (unsigned)t->n);
			init = ci.is_bytes ? "0, NULL, {{0, NULL}}"
			                   : "0, NULL, {0}";
			tmpl_set_str(
			    a, mo, "f_view",
			    decl_with(ci.ctype, "*",
			              tmpl_printf(a, "rpci_%s", f->name), a));
		} else if (t->kind == AST_T_MAP) {
			decl = tmpl_printf(a, "%s **%s", f->entry, f->name);
			init = "0, NULL";
		} else if (t->kind == AST_T_LIST) {
			decl = decl_with(ci.ctype, "*", f->name, a);
			init = "0, NULL";
		} else {
			decl = decl_with(ci.ctype, "", f->name, a);
			init = f->optional && ci.is_string ? "NULL" : ci.init;
			if (has)
				init = tmpl_printf(a, "0, %s", init);
		}
		if (f->def != NULL) {
			/* the value lives in the .c, where the descriptor's
			 * default_value points: the runtime never frees a
			 * string that is its field's default */
			const char *dn =
			    tmpl_printf(a, "%s_%s_default", m->cname, f->name);
			const char *lit = ctype_lit_c(a, t, f->def);
			tmpl_val *dv = tmpl_push(a, defaults);
			if (ci.is_string) {
				init = tmpl_printf(a, "(char *)%s", dn);
				tmpl_set_strf(a, dv, "d_h",
				              "extern const char %s[];", dn);
				tmpl_set_strf(a, dv, "d_c",
				              "const char %s[] = %s;", dn, lit);
			} else {
				init = lit;
				tmpl_set_str(a, dv, "d_h", "");
				tmpl_set_strf(
				    a, dv, "d_c", "static const %s %s = %s;",
				    ci.is_enum ? "int" : ci.ctype, dn, lit);
			}
		}
		if (!array)
			tmpl_set_str(a, mo, "f_view", "");
		tmpl_set_str(a, mo, "f_member", f->name);
		tmpl_set_str(a, mo, "f_decl", decl);
		tmpl_set_bool(a, mo, "f_count", count);
		tmpl_set_bool(a, mo, "f_has", has);
		tmpl_set_str(a, mo, "f_init", init);
		tmpl_set_str(a, mo, "doc", c_doc(b, f->doc, "\t"));
		view_oneof_member(b, m, f, mo);
	}

	for (size_t i = 0; i < n; i++) {
		const vfield *f = sorted[i];
		const ast_type *t = f->type;
		tmpl_val *fo = tmpl_push(a, by_number);
		ctype_info ci;
		const ast_type *elem =
		    t->kind == AST_T_LIST || t->kind == AST_T_ARRAY ? t->elem
		                                                    : t;
		ctype_elem(a, b->file, elem, &ci);
		const char *label = "PROTOBUF_C_LABEL_NONE";
		const char *member = f->name;
		const char *array = "";
		const char *quant = "";
		const char *pbtype = ci.pbtype;
		const char *desc = ci.descriptor;
		const char *def =
		    ci.is_string ? "&protobuf_c_empty_string" : "";
		const char *flags = "";
		if (t->kind == AST_T_MAP) {
			label = "PROTOBUF_C_LABEL_REPEATED";
			quant = tmpl_printf(a, "offsetof(%s, n_%s)", m->cname,
			                    f->name);
			pbtype = "PROTOBUF_C_TYPE_MESSAGE";
			desc = tmpl_printf(a, "&%s_descriptor", f->entry);
			def = "";
		} else if (t->kind == AST_T_ARRAY) {
			/* libprotobuf-c sees the view as a list; N in
			 * reserved_flags tells the runtime (internal.h) */
			label = "PROTOBUF_C_LABEL_REPEATED";
			quant = tmpl_printf(a, "offsetof(%s, rpci_n_%s)",
			                    m->cname, f->name);
			member = tmpl_printf(a, "rpci_%s", f->name);
			array = tmpl_printf(a, "%u", (unsigned)t->n);
			if (ci.packable)
				flags = "PROTOBUF_C_FIELD_FLAG_PACKED";
		} else if (t->kind == AST_T_LIST) {
			label = "PROTOBUF_C_LABEL_REPEATED";
			quant = tmpl_printf(a, "offsetof(%s, n_%s)", m->cname,
			                    f->name);
			if (ci.packable)
				flags = "PROTOBUF_C_FIELD_FLAG_PACKED";
		} else if (f->optional) {
			label = "PROTOBUF_C_LABEL_OPTIONAL";
			if (!ci.is_string && !ci.is_struct)
				quant = tmpl_printf(a, "offsetof(%s, has_%s)",
				                    m->cname, f->name);
			def = "";
		} else if (f->oneof != NULL) {
			/* the case holds the member's number; protobuf-c
			 * packs a member when the case names it, strings
			 * and submessages when not NULL */
			quant = tmpl_printf(a, "offsetof(%s, %s_case)",
			                    m->cname, f->oneof->name);
			flags = "PROTOBUF_C_FIELD_FLAG_ONEOF";
			def = "";
		} else if (f->def != NULL) {
			/* always sent (a 0 must not read back as the
			 * default); when absent, unpacking keeps the
			 * default that init put there */
			label = "PROTOBUF_C_LABEL_REQUIRED";
			def = tmpl_printf(a, "%s%s_%s_default",
			                  ci.is_string ? "" : "&", m->cname,
			                  f->name);
		}
		tmpl_set_str(a, fo, "f_name", f->name);
		tmpl_set_strf(a, fo, "f_number", "%lld", (long long)f->number);
		tmpl_set_str(a, fo, "f_label", label);
		tmpl_set_str(a, fo, "f_pbtype", pbtype);
		tmpl_set_str(a, fo, "f_quant", quant);
		tmpl_set_str(a, fo, "f_member", member);
		tmpl_set_str(a, fo, "f_array", array);
		tmpl_set_str(a, fo, "f_desc", desc);
		tmpl_set_str(a, fo, "f_default", def);
		tmpl_set_str(a, fo, "f_flags", flags);
	}

	/* indices into the by-number array, sorted by name */
	const vfield **named = tmpl_alloc(a, (n + 1) * sizeof *named);
	memcpy(named, sorted, n * sizeof *named);
	qsort(named, n, sizeof *named, cmp_field_name);
	for (size_t i = 0; i < n; i++) {
		size_t idx = 0;
		while (sorted[idx] != named[i])
			idx++;
		tmpl_val *no = tmpl_push(a, by_name);
		tmpl_set_strf(a, no, "f_index", "%zu", idx);
		tmpl_set_str(a, no, "f_name", named[i]->name);
	}

	/* runs of consecutive numbers: { first number, its index } */
	size_t n_ranges = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && sorted[i]->number == sorted[i - 1]->number + 1)
			continue;
		tmpl_val *ro = tmpl_push(a, ranges);
		tmpl_set_strf(a, ro, "r_pair", "{%lld, %zu}",
		              (long long)sorted[i]->number, i);
		n_ranges++;
	}
	tmpl_set_strf(a, o, "n_fields", "%zu", n);
	tmpl_set_bool(a, o, "has_fields", n > 0);
	tmpl_set_strf(a, o, "n_ranges", "%zu", n_ranges);
}

static void view_message(vbuild *b, const vmsg *m, tmpl_val *o)
{
	tmpl_arena *a = b->a;
	tmpl_set_str(a, o, "m_cname", m->cname);
	tmpl_set_str(a, o, "m_name", m->name);
	tmpl_set_str(a, o, "m_full", m->full);
	const char *local = m->full;
	if (b->file->package)
		local += strlen(b->file->package) + 1;
	if (m->kind == VM_STRUCT)
		tmpl_set_strf(a, o, "m_title", "struct %s", m->name);
	else if (m->kind == VM_ENTRY)
		tmpl_set_strf(a, o, "m_title", "map entry %s", local);
	else
		tmpl_set_strf(a, o, "m_title", "%s: the wire form of %s",
		              m->name, m->rpc_name);
	tmpl_set_strf(a, o, "m_init", "%s_INIT", ctype_upper(a, m->cname));
	tmpl_set_str(a, o, "doc", c_doc(b, m->doc, ""));
	tmpl_set_bool(a, o, "m_user", m->kind != VM_ENTRY);
	tmpl_set_bool(a, o, "m_wrapper", m->kind == VM_WRAPPER);
	/* users hold structs and list/map wrappers, never a value wrapper */
	tmpl_set_bool(a, o, "m_free",
	              m->kind == VM_STRUCT ||
	                  (m->kind == VM_WRAPPER &&
	                   strcmp(m->form, "RPC_FORM_WRAPPED") == 0));
	tmpl_set_str(a, o, "m_rpc_name", m->rpc_name ? m->rpc_name : "");
	tmpl_set_str(a, o, "m_form", m->form ? m->form : "");
	view_fields(b, m, o);
	view_oneofs(b, m, o);
}

/* proto_type spells field f's type in proto3 with its label. */
static const char *proto_field(vbuild *b, const vfield *f)
{
	ctype_info k, v;
	const ast_type *t = f->type;
	switch (t->kind) {
	case AST_T_LIST:
		ctype_elem(b->a, b->file, t->elem, &v);
		return tmpl_printf(b->a, "repeated %s", v.proto);
	case AST_T_ARRAY:
		ctype_elem(b->a, b->file, t->elem, &v);
		return tmpl_printf(b->a, "repeated %s", v.proto);
	case AST_T_MAP:
		ctype_elem(b->a, b->file, t->key, &k);
		ctype_elem(b->a, b->file, t->elem, &v);
		return tmpl_printf(b->a, "map<%s, %s>", k.proto, v.proto);
	default:
		ctype_elem(b->a, b->file, t, &v);
		if (f->optional)
			return tmpl_printf(b->a, "optional %s", v.proto);
		return v.proto;
	}
}

/* view_poneof: a oneof member sits in "oneof name { ... }", one tab
 * deeper. */
static void view_poneof(vbuild *b, const vfield *f, tmpl_val *fo)
{
	tmpl_arena *a = b->a;
	const ast_oneof *one = f->oneof;

	tmpl_set_bool(a, fo, "p_open", f->oneof_first);
	tmpl_set_bool(a, fo, "p_close", f->oneof_last);
	tmpl_set_str(a, fo, "p_oneof", one ? one->name : "");
	tmpl_set_str(a, fo, "p_oneof_doc",
	             proto_doc(b, one ? one->doc : NULL, "\t"));
	tmpl_set_str(a, fo, "p_indent", one ? "\t" : "");
}

static void view_pmessage(vbuild *b, const vmsg *m, tmpl_val *o)
{
	tmpl_arena *a = b->a;
	tmpl_set_str(a, o, "p_name", m->name);
	tmpl_set_str(a, o, "proto_doc", proto_doc(b, m->doc, ""));
	tmpl_val *fl = tmpl_set_list(a, o, "p_fields");
	for (size_t i = 0; i < m->n_fields; i++) {
		const vfield *f = &m->fields[i];
		tmpl_val *fo = tmpl_push(a, fl);
		tmpl_set_str(a, fo, "p_type", proto_field(b, f));
		tmpl_set_str(a, fo, "p_field", f->name);
		tmpl_set_strf(a, fo, "p_number", "%lld", (long long)f->number);
		tmpl_set_str(a, fo, "p_default",
		             f->def ? ctype_lit_idl(b->a, f->def) : "");
		tmpl_set_str(a, fo, "p_array",
		             f->type->kind == AST_T_ARRAY
		                 ? tmpl_printf(a, "%u", (unsigned)f->type->n)
		                 : "");
		tmpl_set_str(a, fo, "proto_doc",
		             proto_doc(b, f->doc, f->oneof ? "\t\t" : "\t"));
		view_poneof(b, f, fo);
	}
}

/* ---- enums --------------------------------------------------------------- */

static int cmp_value_number(const void *x, const void *y)
{
	const ast_enum_value *const *a = x, *const *b = y;
	if ((*a)->value != (*b)->value)
		return (*a)->value < (*b)->value ? -1 : 1;
	return 0;
}

static int cmp_value_name(const void *x, const void *y)
{
	const ast_enum_value *const *a = x, *const *b = y;
	return strcmp((*a)->name, (*b)->name);
}

static void view_enum(vbuild *b, const ast_decl *d, tmpl_val *o)
{
	tmpl_arena *a = b->a;
	const char *cname = ctype_decl_cname(a, d);
	const char *upper = ctype_upper(a, cname);
	size_t n = d->n_values;
	if (n == 0)
		view_error(b, &d->loc, "enum '%s' has no values", d->name);
	tmpl_set_str(a, o, "e_cname", cname);
	tmpl_set_str(a, o, "e_upper", upper);
	tmpl_set_str(a, o, "e_name", d->name);
	tmpl_set_str(a, o, "e_full", full_name(b, d->name));
	tmpl_set_str(a, o, "doc", c_doc(b, d->doc, ""));
	tmpl_set_str(a, o, "proto_doc", proto_doc(b, d->doc, ""));
	tmpl_set_strf(a, o, "n_values", "%zu", n);

	tmpl_val *vals = tmpl_set_list(a, o, "values");
	for (size_t i = 0; i < n; i++) {
		const ast_enum_value *v = &d->values[i];
		tmpl_val *vo = tmpl_push(a, vals);
		tmpl_set_strf(a, vo, "v_cname", "%s_%s", upper, v->name);
		tmpl_set_str(a, vo, "v_name", v->name);
		tmpl_set_strf(a, vo, "v_number", "%lld", (long long)v->value);
		tmpl_set_str(a, vo, "doc", c_doc(b, v->doc, "\t"));
		tmpl_set_str(a, vo, "proto_doc", proto_doc(b, v->doc, "\t"));
	}

	const ast_enum_value **sorted = tmpl_alloc(a, (n + 1) * sizeof *sorted);
	for (size_t i = 0; i < n; i++)
		sorted[i] = &d->values[i];
	/* stable for equal numbers: insertion sort keeps source order */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i;
		     j > 0 && cmp_value_number(&sorted[j - 1], &sorted[j]) > 0;
		     j--) {
			const ast_enum_value *t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	tmpl_val *bn = tmpl_set_list(a, o, "by_number");
	for (size_t i = 0; i < n; i++) {
		tmpl_val *vo = tmpl_push(a, bn);
		tmpl_set_str(a, vo, "v_name", sorted[i]->name);
		tmpl_set_strf(a, vo, "v_cname", "%s_%s", upper,
		              sorted[i]->name);
		tmpl_set_strf(a, vo, "v_number", "%lld",
		              (long long)sorted[i]->value);
	}
	const ast_enum_value **named = tmpl_alloc(a, (n + 1) * sizeof *named);
	if (n)
		memcpy(named, sorted, n * sizeof *named);
	qsort(named, n, sizeof *named, cmp_value_name);
	tmpl_val *bm = tmpl_set_list(a, o, "by_name");
	for (size_t i = 0; i < n; i++) {
		size_t idx = 0;
		while (sorted[idx] != named[i])
			idx++;
		tmpl_val *vo = tmpl_push(a, bm);
		tmpl_set_str(a, vo, "v_name", named[i]->name);
		tmpl_set_strf(a, vo, "v_index", "%zu", idx);
	}
	tmpl_val *rl = tmpl_set_list(a, o, "ranges");
	size_t n_ranges = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && sorted[i]->value == sorted[i - 1]->value + 1)
			continue;
		tmpl_val *ro = tmpl_push(a, rl);
		tmpl_set_strf(a, ro, "r_pair", "{%lld, %zu}",
		              (long long)sorted[i]->value, i);
		n_ranges++;
	}
	tmpl_set_strf(a, o, "n_ranges", "%zu", n_ranges);
}

/* ---- services ------------------------------------------------------------ */

static bool reserved_param(const char *s)
{
	static const char *const names[] = {"c", "done", "call", "self",
	                                    "opts"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return is_c_keyword(s);
}

typedef struct vparam {
	const char *type_c; /* the rpc_type: "arith_Args_type" */
	const char *proto;  /* "Args", "Int64Value" */
	const char *in;  /* parameter as an argument: "const arith_Args *a" */
	const char *out; /* parameter as a reply: "int64_t *reply" */
	const char *ref; /* how a stub passes it on: "a" or "&a" */
	const char *invoke; /* how a trampoline passes args on */
} vparam;

static void view_param(vbuild *b, const ast_param *p, const char *name,
                       vparam *out)
{
	tmpl_arena *a = b->a;
	const ast_type *t = p->type;
	if (!needs_wrapper(t)) {
		const char *cname = ctype_decl_cname(a, t->resolved);
		ctype_info ci;
		ctype_elem(a, b->file, t, &ci);
		out->type_c = tmpl_printf(a, "%s_type", cname);
		out->proto = ci.proto;
		out->in = tmpl_printf(a, "const %s *%s", cname, name);
		out->out = tmpl_printf(a, "%s *%s", cname, name);
		out->ref = name;
		out->invoke = "args";
		return;
	}
	const char *w = wrapper_for(b, t, &p->loc);
	const char *wname = wrapper_name(b, t);
	out->type_c = tmpl_printf(a, "%s_type", w);
	out->proto = wname;
	if (is_container(t)) {
		out->in = tmpl_printf(a, "const %s *%s", w, name);
		out->out = tmpl_printf(a, "%s *%s", w, name);
		out->ref = name;
		out->invoke = "args";
		return;
	}
	ctype_info ci;
	ctype_elem(a, b->file, t, &ci);
	out->in = decl_with(ci.value_type, "", name, a);
	out->out = decl_with(ci.ctype, "*", name, a);
	out->ref = tmpl_printf(a, "&%s", name);
	out->invoke = ci.is_string
	                  ? "*(char *const *)args"
	                  : tmpl_printf(a, "*(const %s *)args", ci.ctype);
}

typedef struct vmethod {
	const ast_method *m;
	const char *args_name, *reply_name;
	vparam args, reply;
	size_t index; /* in the name-sorted table */
} vmethod;

static int cmp_vmethod(const void *x, const void *y)
{
	const vmethod *const *a = x, *const *b = y;
	return strcmp((*a)->m->name, (*b)->m->name);
}

static void method_obj(vbuild *b, const char *svc_c, const ast_decl *svc,
                       const vmethod *vm, tmpl_val *o)
{
	tmpl_arena *a = b->a;
	tmpl_set_str(a, o, "x_name", vm->m->name);
	tmpl_set_strf(a, o, "x_stub", "%s_%s", svc_c, vm->m->name);
	tmpl_set_strf(a, o, "x_wire", "%s.%s", svc->name, vm->m->name);
	tmpl_set_strf(a, o, "x_index", "%zu", vm->index);
	tmpl_set_str(a, o, "x_args_param", vm->args.in);
	tmpl_set_str(a, o, "x_reply_param", vm->reply.out);
	tmpl_set_str(a, o, "x_args_ref", vm->args.ref);
	tmpl_set_str(a, o, "x_reply_ref", vm->reply_name);
	tmpl_set_str(a, o, "x_invoke_args", vm->args.invoke);
	tmpl_set_str(a, o, "x_flags",
	             vm->m->idempotent ? "RPC_METHOD_IDEMPOTENT" : "0");
	tmpl_set_str(a, o, "x_args_type", vm->args.type_c);
	tmpl_set_str(a, o, "x_reply_type", vm->reply.type_c);
	tmpl_set_str(a, o, "x_args_proto", vm->args.proto);
	tmpl_set_str(a, o, "x_reply_proto", vm->reply.proto);
	tmpl_set_str(a, o, "doc", c_doc(b, vm->m->doc, ""));
	tmpl_set_str(a, o, "member_doc", c_doc(b, vm->m->doc, "\t"));
	tmpl_set_str(a, o, "proto_doc", proto_doc(b, vm->m->doc, "\t"));
}

/* check_method_name rejects a method whose generated names would clash
 * with another generated name of its service: S_register,
 * S_register_name, S_handlers, S_service, S_methods, the trampolines
 * S_invoke_M and the stubs S_M_go, S_M_opts and S_M_go_opts. */
static void check_method_name(vbuild *b, const ast_decl *svc,
                              const ast_method *m)
{
	static const char *const taken[] = {"register", "register_name",
	                                    "handlers", "service", "methods"};
	for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
		if (strcmp(m->name, taken[i]) == 0) {
			view_error(
			    b, &m->loc,
			    "method name '%s' clashes with the generated "
			    "%s_%s",
			    m->name, svc->name, taken[i]);
			return;
		}
	}
	if (strncmp(m->name, "invoke_", 7) == 0) {
		view_error(b, &m->loc,
		           "method name '%s' clashes with the generated "
		           "trampoline names (invoke_M)",
		           m->name);
		return;
	}
	static const char *const suffixes[] = {"_go", "_opts", "_go_opts"};
	size_t n = strlen(m->name);
	for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
		size_t sn = strlen(suffixes[k]);
		if (n <= sn || strcmp(m->name + n - sn, suffixes[k]) != 0)
			continue;
		for (size_t i = 0; i < svc->n_methods; i++) {
			const char *o = svc->methods[i].name;
			if (strlen(o) == n - sn &&
			    strncmp(o, m->name, n - sn) == 0) {
				view_error(b, &m->loc,
				           "method name '%s' clashes with the "
				           "%s stub of method '%s'",
				           m->name,
				           k == 0 ? "asynchronous" : "options",
				           o);
				return;
			}
		}
	}
}

static void view_service(vbuild *b, const ast_decl *d, tmpl_val *o)
{
	tmpl_arena *a = b->a;
	const char *svc_c = ctype_decl_cname(a, d);
	size_t n = d->n_methods;
	vmethod *vms = tmpl_alloc(a, (n + 1) * sizeof *vms);
	const vmethod **sorted = tmpl_alloc(a, (n + 1) * sizeof *sorted);
	for (size_t i = 0; i < n; i++) {
		vmethod *vm = &vms[i];
		vm->m = &d->methods[i];
		if (vm->m->n_params != 2) {
			view_error(b, &vm->m->loc,
			           "method '%s' needs two parameters",
			           vm->m->name);
			return;
		}
		check_method_name(b, d, vm->m);
		const ast_param *pa = &vm->m->params[0];
		const ast_param *pr = &vm->m->params[1];
		vm->args_name =
		    pa->name && !reserved_param(pa->name) ? pa->name : "args";
		vm->reply_name = pr->name && !reserved_param(pr->name) &&
		                         strcmp(pr->name, vm->args_name)
		                     ? pr->name
		                     : "reply";
		if (strcmp(vm->args_name, vm->reply_name) == 0)
			vm->args_name = "args";
		view_param(b, pa, vm->args_name, &vm->args);
		view_param(b, pr, vm->reply_name, &vm->reply);
		sorted[i] = vm;
	}
	qsort(sorted, n, sizeof *sorted, cmp_vmethod);
	for (size_t i = 0; i < n; i++)
		vms[sorted[i] - vms].index = i;

	tmpl_set_str(a, o, "s_cname", svc_c);
	tmpl_set_str(a, o, "s_name", d->name);
	tmpl_set_str(a, o, "doc", c_doc(b, d->doc, ""));
	tmpl_set_str(a, o, "proto_doc", proto_doc(b, d->doc, ""));
	tmpl_set_strf(a, o, "n_methods", "%zu", n);
	tmpl_set_bool(a, o, "has_methods", n > 0);
	tmpl_val *ml = tmpl_set_list(a, o, "methods");
	for (size_t i = 0; i < n; i++)
		method_obj(b, svc_c, d, &vms[i], tmpl_push(a, ml));
	tmpl_val *sl = tmpl_set_list(a, o, "sorted");
	for (size_t i = 0; i < n; i++)
		method_obj(b, svc_c, d, sorted[i], tmpl_push(a, sl));
}

/* ---- the file ------------------------------------------------------------ */

static const char *guard_of(tmpl_arena *a, const char *base)
{
	char *g = (char *)ctype_upper(a, tmpl_printf(a, "%s_RPC_H", base));
	for (char *p = g; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			*p = '_';
	if (g[0] >= '0' && g[0] <= '9')
		return tmpl_printf(a, "RPC_%s", g);
	return g;
}

tmpl_val *view_build(tmpl_arena *a, const idl_program *prog, const char *base,
                     const char *version, tmpl_buf *err)
{
	const ast_file *file = prog->main;
	vbuild b = {.a = a, .prog = prog, .file = file, .err = err};
	tmpl_val *v = tmpl_obj(a);

	tmpl_set_str(a, v, "version", version);
	tmpl_set_str(a, v, "source", base_name(file->path));
	tmpl_set_strf(a, v, "header", "%s.rpc.h", base);
	tmpl_set_strf(a, v, "proto_file", "%s.proto", base);
	tmpl_set_str(a, v, "guard", guard_of(a, base));
	tmpl_set_str(a, v, "package", pkg_or_empty(file));
	tmpl_set_strf(a, v, "package_lit", file->package ? "\"%s\"" : "NULL",
	              pkg_or_empty(file));
	tmpl_set_str(a, v, "pkg_prefix",
	             file->package ? tmpl_printf(a, "%s_", file->package) : "");
	tmpl_set_str(a, v, "pkg_upper",
	             file->package
	                 ? ctype_upper(a, tmpl_printf(a, "%s_", file->package))
	                 : "");
	tmpl_set_str(a, v, "doc", c_doc(&b, file->doc, ""));
	tmpl_set_str(a, v, "proto_doc", proto_doc(&b, file->doc, ""));

	tmpl_val *imports = tmpl_set_list(a, v, "imports");
	for (size_t i = 0; i < file->n_imports; i++) {
		tmpl_val *io = tmpl_push(a, imports);
		const char *ib = strip_rpc(a, file->imports[i].path);
		tmpl_set_strf(a, io, "i_header", "%s.rpc.h", ib);
		tmpl_set_strf(a, io, "i_proto", "%s.proto", ib);
	}

	collect_imported_wrappers(&b);
	tmpl_val *consts = tmpl_set_list(a, v, "consts");
	for (size_t i = 0; i < file->n_decls; i++) {
		const ast_decl *d = file->decls[i];
		if (d->kind != AST_CONST)
			continue;
		tmpl_val *ko = tmpl_push(a, consts);
		tmpl_set_str(a, ko, "k_cname",
		             ctype_upper(a, ctype_decl_cname(a, d)));
		tmpl_set_str(a, ko, "k_value",
		             ctype_lit_c(a, d->ctype, &d->value));
		tmpl_set_strf(a, ko, "k_idl", "const %s %s = %s;",
		              ast_type_kind_name(d->ctype->kind), d->name,
		              ctype_lit_idl(a, &d->value));
		tmpl_set_str(a, ko, "doc", c_doc(&b, d->doc, ""));
		tmpl_set_str(a, ko, "proto_doc", proto_doc(&b, d->doc, ""));
	}
	tmpl_val *enums = tmpl_set_list(a, v, "enums");
	for (size_t i = 0; i < file->n_decls; i++) {
		const ast_decl *d = file->decls[i];
		if (d->kind == AST_STRUCT)
			add_struct(&b, d);
		else if (d->kind == AST_ENUM)
			view_enum(&b, d, tmpl_push(a, enums));
	}
	/* services after the structs: they append the wrapper messages */
	tmpl_val *services = tmpl_set_list(a, v, "services");
	for (size_t i = 0; i < file->n_decls; i++) {
		const ast_decl *d = file->decls[i];
		if (d->kind == AST_SERVICE)
			view_service(&b, d, tmpl_push(a, services));
	}
	/* a const's macro against the header's other macros the front end
	 * does not know: the include guard, and the initialisers of map
	 * entries and wrappers */
	for (size_t i = 0; i < file->n_decls; i++) {
		const ast_decl *d = file->decls[i];
		if (d->kind != AST_CONST)
			continue;
		const char *k = ctype_upper(a, ctype_decl_cname(a, d));
		if (strcmp(k, guard_of(a, base)) == 0)
			view_error(
			    &b, &d->loc,
			    "const '%s' is '%s' in C, the include guard of "
			    "%s.rpc.h",
			    d->name, k, base);
		for (size_t j = 0; j < b.n_msgs; j++) {
			const vmsg *m = &b.msgs[j];
			if (m->kind == VM_STRUCT ||
			    strcmp(k, tmpl_printf(a, "%s_INIT",
			                          ctype_upper(a, m->cname))) !=
			        0)
				continue;
			view_error(
			    &b, &d->loc,
			    "const '%s' is '%s' in C, the initialiser of "
			    "the generated message %s",
			    d->name, k, m->cname);
		}
	}
	if (b.errors)
		return NULL;

	tmpl_val *msgs = tmpl_set_list(a, v, "messages");
	tmpl_val *pmsgs = tmpl_set_list(a, v, "pmessages");
	for (size_t i = 0; i < b.n_msgs; i++) {
		view_message(&b, &b.msgs[i], tmpl_push(a, msgs));
		if (b.msgs[i].kind != VM_ENTRY)
			view_pmessage(&b, &b.msgs[i], tmpl_push(a, pmsgs));
	}
	return v;
}
