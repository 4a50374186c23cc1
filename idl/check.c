/* check.c - the rules the grammar leaves out.
 *
 * Runs once every file is parsed, over files in import order (a file after
 * everything it imports, so a clash is reported where the second definition
 * is). Reports every error it finds and never stops early: each rule looks
 * at one node and needs only the names table, which is complete before any
 * rule runs.
 *
 * Names: types, services and consts share one namespace per package (files
 * without a package line share the empty package). An unqualified name resolves
 * in the current file's package, a qualified "pkg.Name" in package pkg, which
 * must be the current package or the package of a file imported here; the
 * declaring file itself must be the current file or one it imports.
 *
 * Go's rules (names Go cannot export, or that collide once capitalised)
 * are checked always: warnings, or errors when the Go output is wanted.
 *
 * Afterwards every named type has its declaration in `resolved` and every
 * field its number (its 1-based position when the struct gives none).
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CHECK_FIELD_MAX   536870911 /* 2^29 - 1 */
#define CHECK_RESERVED_LO 19000     /* protobuf's own range */
#define CHECK_RESERVED_HI 19999

typedef struct check_entry {
	const char *pkg; /* "" when the file has no package */
	const ast_decl *decl;
} check_entry;

typedef struct check_ctx {
	idl_loader *ld;
	check_entry *tab; /* open addressing, size a power of two */
	size_t cap;
	ast_file **order;          /* files, each after its imports */
	const char *reserved[100]; /* check_reserved_words, sorted */
	size_t n_order;
} check_ctx;

/* Words that cannot name anything: the language's keywords, C's keywords
 * (C11 and C23) and the macros every generated file sees. */
/* clang-format off */
static const char *const check_reserved_words[] = {
	/* the language */
	"package", "import", "struct", "enum", "service", "optional", "oneof", "list",
	"map", "bool", "int32", "int64", "uint32", "uint64", "float",
	"double", "string", "bytes",
	/* C */
	"auto", "break", "case", "char", "const", "continue", "default", "do",
	"else", "extern", "for", "goto", "if", "inline", "int", "long",
	"register", "restrict", "return", "short", "signed", "sizeof",
	"static", "switch", "typedef", "union", "unsigned", "void",
	"volatile", "while", "_Alignas", "_Alignof", "_Atomic", "_Bool",
	"_Complex", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert",
	"_Thread_local", "alignas", "alignof", "constexpr", "false",
	"nullptr", "static_assert", "thread_local", "true", "typeof",
	"typeof_unqual",
	/* macros of the standard headers generated code includes */
	"NULL", "EOF", "errno",
};
/* clang-format on */

static const char *check_decl_kind(ast_decl_kind k)
{
	return k == AST_STRUCT  ? "struct"
	       : k == AST_ENUM  ? "enum"
	       : k == AST_CONST ? "const"
	                        : "service";
}

/* check_decl_class names what two declarations of one name would both
 * be: a "duplicate type" is two structs or enums, or one of each. */
static const char *check_decl_class(ast_decl_kind k)
{
	return k == AST_STRUCT || k == AST_ENUM ? "type" : check_decl_kind(k);
}

static bool check_is_type(const ast_decl *d)
{
	return d->kind == AST_STRUCT || d->kind == AST_ENUM;
}

#define CHECK_N_RESERVED                                                       \
	(sizeof(check_reserved_words) / sizeof(check_reserved_words[0]))

static int check_cmp_words(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *check_article(const char *what)
{
	/* "a oneof": it reads "one of" */
	if (strncmp(what, "one", 3) == 0)
		return "a";
	return strchr("aeiou", what[0]) ? "an" : "a";
}

/* check_reserved tells whether check_name rejects name. */
static bool check_reserved(const check_ctx *c, const char *name)
{
	return bsearch(&name, c->reserved, CHECK_N_RESERVED, sizeof(char *),
	               check_cmp_words) ||
	       (name[0] == '_' &&
	        (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Z')));
}

/* check_name reports name when C or the language reserves it; what says
 * what it names ("struct", "field", ...). */
static void check_name(check_ctx *c, const char *name, const ast_loc *loc,
                       const char *what)
{
	if (!name)
		return;
	if (bsearch(&name, c->reserved, CHECK_N_RESERVED, sizeof(char *),
	            check_cmp_words)) {
		diag_error(c->ld, loc,
		           "reserved word '%s' cannot be used as %s %s name",
		           name, check_article(what), what);
		return;
	}
	if (name[0] == '_' &&
	    (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Z')))
		diag_error(c->ld, loc,
		           "'%s' is reserved in C (leading underscore and "
		           "capital letter or second underscore) and cannot "
		           "be used as %s %s name",
		           name, check_article(what), what);
}

/* ---- the names table ------------------------------------------------- */

static size_t check_hash(const char *pkg, const char *name)
{
	size_t h = 2166136261u;

	for (; *pkg; pkg++)
		h = (h ^ (unsigned char)*pkg) * 16777619u;
	h = (h ^ '.') * 16777619u;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

/* check_slot finds the entry for pkg.name, or the empty slot for it. */
static check_entry *check_slot(check_ctx *c, const char *pkg, const char *name)
{
	size_t i = check_hash(pkg, name) & (c->cap - 1);

	for (;;) {
		check_entry *e = &c->tab[i];

		if (!e->decl || (strcmp(e->pkg, pkg) == 0 &&
		                 strcmp(e->decl->name, name) == 0))
			return e;
		i = (i + 1) & (c->cap - 1);
	}
}

static const char *check_pkg(const ast_file *f)
{
	return f->package ? f->package : "";
}

/* check_order appends f after the files it imports (depth first). */
static void check_order(check_ctx *c, ast_file *f, bool *seen)
{
	size_t i, k;

	for (k = 0; k < c->ld->prog->n_files; k++)
		if (c->ld->prog->files[k] == f)
			break;
	if (k == c->ld->prog->n_files || seen[k])
		return;
	seen[k] = true;
	for (i = 0; i < f->n_imports; i++)
		if (f->imports[i].file)
			check_order(c, f->imports[i].file, seen);
	c->order[c->n_order++] = f;
}

/* check_declare enters every declaration of f in the names table. */
static void check_declare(check_ctx *c, ast_file *f)
{
	const char *pkg = check_pkg(f);
	size_t i;

	for (i = 0; i < f->n_decls; i++) {
		ast_decl *d = f->decls[i];
		check_entry *e;

		if (!d->name)
			continue;
		check_name(c, d->name, &d->loc, check_decl_kind(d->kind));
		e = check_slot(c, pkg, d->name);
		if (!e->decl) {
			e->pkg = pkg;
			e->decl = d;
			continue;
		}
		if (strcmp(check_decl_class(d->kind),
		           check_decl_class(e->decl->kind)) == 0)
			diag_error(c->ld, &d->loc, "duplicate %s '%s'",
			           check_decl_class(d->kind), d->name);
		else
			diag_error(c->ld, &d->loc,
			           "%s '%s' has the same name as %s '%s'",
			           check_decl_kind(d->kind), d->name,
			           check_decl_kind(e->decl->kind), d->name);
		diag_note(c->ld, &e->decl->loc, "previous definition was here");
	}
}

/* ---- types ------------------------------------------------------------ */

static bool check_imports_pkg(const ast_file *f, const char *pkg)
{
	size_t i;

	if (f->package && strcmp(f->package, pkg) == 0)
		return true;
	for (i = 0; i < f->n_imports; i++) {
		const ast_file *g = f->imports[i].file;

		if (g && g->package && strcmp(g->package, pkg) == 0)
			return true;
	}
	return false;
}

static bool check_visible(const ast_file *f, const ast_file *from)
{
	size_t i;

	if (f == from)
		return true;
	for (i = 0; i < f->n_imports; i++)
		if (f->imports[i].file == from)
			return true;
	return false;
}

/* ---- spelling suggestions --------------------------------------------- */

/* check_distance is the optimal string alignment distance between a and b
 * (insertions, deletions, substitutions and swaps of neighbours cost 1),
 * or SIZE_MAX for names longer than CHECK_SPELL_MAX. */
#define CHECK_SPELL_MAX 64

static size_t check_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t rows[3][CHECK_SPELL_MAX + 1];
	size_t *pp, *pr, *cur;

	if (la > CHECK_SPELL_MAX || lb > CHECK_SPELL_MAX)
		return SIZE_MAX;
	pp = rows[0];
	pr = rows[1];
	cur = rows[2];
	for (size_t j = 0; j <= lb; j++)
		pr[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t d = pr[j] + 1;

			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (pr[j - 1] + cost < d)
				d = pr[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < d)
				d = pp[j - 2] + 1;
			cur[j] = d;
		}
		size_t *t = pp;
		pp = pr;
		pr = cur;
		cur = t;
	}
	return pr[lb];
}

/* check_cutoff is the largest distance still worth suggesting between
 * names of these lengths (gcc's rule: about a third of the longer one). */
static size_t check_cutoff(size_t la, size_t lb)
{
	size_t max = la > lb ? la : lb, min = la > lb ? lb : la;

	if (max <= 1)
		return 0;
	if (max - min <= 1)
		return max / 3 > 1 ? max / 3 : 1;
	return (max + 2) / 3;
}

/* check_spell_best tells whether cand is a better suggestion for typed
 * than the best so far (*dist; SIZE_MAX: none yet) and if so records its
 * distance. The first of equally close candidates stays. */
bool check_spell_best(const char *typed, const char *cand, size_t *dist)
{
	size_t d;

	if (!cand || strcmp(typed, cand) == 0)
		return false;
	d = check_distance(typed, cand);
	if (d == SIZE_MAX || d > check_cutoff(strlen(typed), strlen(cand)) ||
	    d >= *dist)
		return false;
	*dist = d;
	return true;
}

/* check_suggest adds "did you mean" to an unknown type: for an unqualified
 * name, first a type of that name in a package imported here ('pkg.T'),
 * else the closest spelling among the built-in types, the types this file
 * sees in its own package, and those of imported packages; for pkg.Name,
 * the closest type of pkg this file sees. The note points at the
 * suggested declaration (no location for a built-in type). */
static void check_suggest(check_ctx *c, const ast_file *f, const char *pkg,
                          const char *name)
{
	static const char *const builtins[] = {
	    "bool",  "int32",  "int64",  "uint32", "uint64",
	    "float", "double", "string", "bytes",
	};
	const char *best = NULL, *best_pkg = NULL;
	const ast_loc *best_loc = NULL;
	size_t dist = SIZE_MAX, i, j;

	if (!pkg) {
		for (i = 0; i < f->n_imports; i++) {
			const ast_file *g = f->imports[i].file;

			if (!g || !g->package)
				continue;
			for (j = 0; j < g->n_decls; j++) {
				const ast_decl *d = g->decls[j];

				if (check_is_type(d) && d->name &&
				    strcmp(d->name, name) == 0) {
					diag_note(c->ld, &d->loc,
					          "did you mean '%s.%s'?",
					          g->package, name);
					return;
				}
			}
		}
		for (i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
			if (check_spell_best(name, builtins[i], &dist))
				best = builtins[i];
	}
	/* this file, then its imports: those of the wanted package (the
	 * file's own when unqualified), then, unqualified, the others */
	for (int pass = 0; pass < (pkg ? 1 : 2); pass++) {
		for (i = 0; i <= f->n_imports; i++) {
			const ast_file *g = i == 0 ? f : f->imports[i - 1].file;
			bool same;

			if (!g)
				continue;
			same = pkg ? g->package && strcmp(g->package, pkg) == 0
			           : strcmp(check_pkg(g), check_pkg(f)) == 0;
			if (pass == 0 ? !same : same || !g->package)
				continue;
			for (j = 0; j < g->n_decls; j++) {
				const ast_decl *d = g->decls[j];

				if (!check_is_type(d) ||
				    !check_spell_best(name, d->name, &dist))
					continue;
				best = d->name;
				best_pkg = pass == 1 || pkg ? g->package : NULL;
				best_loc = &d->loc;
			}
		}
	}
	if (best && best_pkg)
		diag_note(c->ld, best_loc, "did you mean '%s.%s'?", best_pkg,
		          best);
	else if (best)
		diag_note(c->ld, best_loc, "did you mean '%s'?", best);
}

static void check_resolve(check_ctx *c, ast_file *f, ast_type *t)
{
	const char *dot = strrchr(t->name, '.');
	const char *name = dot ? dot + 1 : t->name;
	char *pkg = NULL;
	check_entry *e;

	if (dot) {
		pkg = strndup(t->name, (size_t)(dot - t->name));
		if (!pkg) {
			c->ld->oom = 1;
			return;
		}
		if (!check_imports_pkg(f, pkg)) {
			diag_error(c->ld, &t->loc,
			           "package '%s' is not imported", pkg);
			free(pkg);
			return;
		}
	}
	e = check_slot(c, pkg ? pkg : check_pkg(f), name);
	free(pkg);
	pkg = NULL;
	if (!e->decl) {
		diag_error(c->ld, &t->loc, "unknown type '%s'", t->name);
		if (dot) {
			pkg = strndup(t->name, (size_t)(dot - t->name));
			if (!pkg) {
				c->ld->oom = 1;
				return;
			}
		}
		check_suggest(c, f, pkg, name);
		free(pkg);
		return;
	}
	if (!check_is_type(e->decl)) {
		diag_error(c->ld, &t->loc, "'%s' is %s %s, not a type", t->name,
		           check_article(check_decl_kind(e->decl->kind)),
		           check_decl_kind(e->decl->kind));
		diag_note(c->ld, &e->decl->loc, "'%s' is declared here",
		          e->decl->name);
		return;
	}
	if (!check_visible(f, e->decl->file)) {
		diag_error(c->ld, &t->loc,
		           "type '%s' is declared in '%s', which is not "
		           "imported here",
		           t->name, e->decl->file->path);
		return;
	}
	t->resolved = (ast_decl *)e->decl;
}

static bool check_key_kind(ast_type_kind k)
{
	switch (k) {
	case AST_T_BOOL:
	case AST_T_INT32:
	case AST_T_INT64:
	case AST_T_UINT32:
	case AST_T_UINT64:
	case AST_T_STRING:
		return true;
	default:
		return false;
	}
}

/* check_array_len sets t->n, the length of array t, from the integer or
 * the integer const written between its brackets: 1 to IDL_ARRAY_MAX. */
static void check_array_len(check_ctx *c, ast_file *f, ast_type *t)
{
	const ast_lit *l = t->len;
	const ast_decl *k = NULL;
	check_entry *e;

	if (l->kind == AST_L_NAME) {
		e = check_slot(c, check_pkg(f), l->text);
		if (!e->decl) {
			diag_error(c->ld, &l->loc,
			           "unknown const '%s' as array length",
			           l->text);
			return;
		}
		k = e->decl;
		if (k->kind != AST_CONST) {
			diag_error(c->ld, &l->loc,
			           "'%s' is %s %s, not a const; an array "
			           "length is an integer or an integer const",
			           l->text,
			           check_article(check_decl_kind(k->kind)),
			           check_decl_kind(k->kind));
			diag_note(c->ld, &k->loc, "'%s' is declared here",
			          k->name);
			return;
		}
		switch (k->ctype->kind) {
		case AST_T_INT32:
		case AST_T_INT64:
		case AST_T_UINT32:
		case AST_T_UINT64:
			break;
		default:
			diag_error(c->ld, &l->loc,
			           "const '%s' of type '%s' cannot be an array "
			           "length; an array length is an integer",
			           k->name, ast_type_kind_name(k->ctype->kind));
			diag_note(c->ld, &k->loc, "'%s' is declared here",
			          k->name);
			return;
		}
		l = &k->value;
		if (l->kind != AST_L_INT)
			return; /* the const's own error says why */
	} else if (l->kind != AST_L_INT) {
		diag_error(c->ld, &l->loc,
		           "array length must be an integer or an integer "
		           "const");
		return;
	}
	if (l->neg || l->mag == 0) {
		diag_error(c->ld, &t->len->loc,
		           "array length must be positive, not %s%llu",
		           l->neg && l->mag ? "-" : "",
		           (unsigned long long)l->mag);
	} else if (l->huge) {
		diag_error(c->ld, &t->len->loc,
		           "array length exceeds the maximum of %d",
		           IDL_ARRAY_MAX);
	} else if (l->mag > IDL_ARRAY_MAX) {
		diag_error(c->ld, &t->len->loc,
		           "array length %llu exceeds the maximum of %d",
		           (unsigned long long)l->mag, IDL_ARRAY_MAX);
	} else {
		t->n = (uint32_t)l->mag;
		return;
	}
	if (k)
		diag_note(c->ld, &k->loc, "'%s' is declared here", k->name);
}

/* check_type resolves the names in t and rejects what protobuf cannot
 * carry: lists and maps directly inside lists or map values, and keys that
 * are not integers, bools or strings. */
static void check_type(check_ctx *c, ast_file *f, ast_type *t)
{
	if (!t)
		return;
	switch (t->kind) {
	case AST_T_NAMED:
		check_resolve(c, f, t);
		break;
	case AST_T_ARRAY:
		if (t->elem->kind == AST_T_LIST || t->elem->kind == AST_T_MAP ||
		    t->elem->kind == AST_T_ARRAY)
			diag_error(c->ld, &t->elem->loc,
			           "an array of %ss is not supported; wrap the "
			           "%s in a struct",
			           ast_type_kind_name(t->elem->kind),
			           ast_type_kind_name(t->elem->kind));
		check_array_len(c, f, t);
		check_type(c, f, t->elem);
		break;
	case AST_T_LIST:
		if (t->elem->kind == AST_T_ARRAY)
			diag_error(c->ld, &t->elem->loc,
			           "list<T[N]> is not supported; wrap the "
			           "array in a struct");
		else if (t->elem->kind == AST_T_LIST)
			diag_error(c->ld, &t->elem->loc,
			           "list<list<...>> is not supported; wrap the "
			           "inner list in a struct");
		else if (t->elem->kind == AST_T_MAP)
			diag_error(c->ld, &t->elem->loc,
			           "list<map<...>> is not supported; wrap the "
			           "map in a struct");
		check_type(c, f, t->elem);
		break;
	case AST_T_MAP:
		if (!check_key_kind(t->key->kind))
			diag_error(c->ld, &t->key->loc,
			           "invalid map key type '%s'; keys must be "
			           "bool, int32, int64, uint32, uint64 or "
			           "string",
			           t->key->kind == AST_T_NAMED
			               ? t->key->name
			               : ast_type_kind_name(t->key->kind));
		if (t->elem->kind == AST_T_ARRAY)
			diag_error(c->ld, &t->elem->loc,
			           "map<..., T[N]> is not supported; wrap "
			           "the array in a struct");
		else if (t->elem->kind == AST_T_LIST)
			diag_error(c->ld, &t->elem->loc,
			           "map<..., list<...>> is not supported; wrap "
			           "the list in a struct");
		else if (t->elem->kind == AST_T_MAP)
			diag_error(c->ld, &t->elem->loc,
			           "map<..., map<...>> is not supported; wrap "
			           "the inner map in a struct");
		check_type(c, f, t->elem);
		break;
	default:
		break;
	}
}

/* ---- declarations ----------------------------------------------------- */

/* check_generated_names rejects fields named like the members protobuf-c
 * adds beside a field: n_X for a list or map X, has_X for an optional X
 * that is not a string. */
static void check_generated_names(check_ctx *c, const ast_decl *d)
{
	size_t i, j;

	for (i = 0; i < d->n_fields; i++) {
		const ast_field *x = &d->fields[i];
		const char *extra = NULL, *what = NULL;

		if (x->type->kind == AST_T_ARRAY) {
			extra = "rpci_";
			what = "the runtime's view of array";
		} else if (x->type->kind == AST_T_LIST ||
		           x->type->kind == AST_T_MAP) {
			extra = "n_";
			what = "the count of list or map";
		} else if (x->optional && x->type->kind != AST_T_STRING) {
			/* an optional string is a pointer that may be NULL */
			extra = "has_";
			what = "the presence flag of optional";
		} else {
			continue;
		}
		for (j = 0; j < d->n_fields; j++) {
			const char *n = d->fields[j].name;
			size_t len = strlen(extra);

			/* an array X has two: rpci_X and rpci_n_X */
			if (strncmp(n, extra, len) == 0 &&
			    (strcmp(n + len, x->name) == 0 ||
			     (x->type->kind == AST_T_ARRAY &&
			      strncmp(n + len, "n_", 2) == 0 &&
			      strcmp(n + len + 2, x->name) == 0))) {
				diag_error(
				    c->ld, &d->fields[j].loc,
				    "field '%s' clashes with %s field '%s' "
				    "in the generated C struct",
				    n, what, x->name);
				diag_note(c->ld, &x->loc,
				          "'%s' is declared here", x->name);
			}
		}
	}
}

/* ---- Go's rules --------------------------------------------------------- */

/* check_go reports a break of Go's rules: a warning, or an error when the
 * Go output is asked for (opts->go_errors), since Go then cannot carry it
 * (gob and JSON see only exported fields; a Go server serves only
 * exported methods). */
static void check_go(check_ctx *c, const ast_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check_go(check_ctx *c, const ast_loc *loc, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg) {
		c->ld->oom = 1;
		return;
	}
	if (c->ld->opts && c->ld->opts->go_errors)
		diag_error(c->ld, loc, "%s", msg);
	else
		diag_warning(c->ld, loc, "%s", msg);
	free(msg);
}

/* check_go_exported tells whether name, first letter upper-cased, is an
 * exported Go name (names here are ASCII: only a leading '_' fails). */
static bool check_go_exported(const char *name)
{
	return name[0] != '_';
}

/* check_go_fields: Go (gob, JSON) knows a field by its name with the
 * first letter upper-cased, which must be exported and unique. */
static void check_go_fields(check_ctx *c, const ast_decl *d)
{
	size_t i, j;

	for (i = 0; i < d->n_fields; i++) {
		const ast_field *x = &d->fields[i];

		if (!x->name || check_reserved(c, x->name))
			continue; /* an error already */
		if (!check_go_exported(x->name)) {
			check_go(c, &x->loc,
			         "field name '%s' has no exported Go spelling",
			         x->name);
			continue;
		}
		for (j = 0; j < i; j++) {
			const char *y = d->fields[j].name;

			if (y && strcmp(y, x->name) != 0 &&
			    toupper((unsigned char)y[0]) ==
			        toupper((unsigned char)x->name[0]) &&
			    strcmp(y + 1, x->name + 1) == 0) {
				check_go(c, &x->loc,
				         "fields '%s' and '%s' are both '%c%s' "
				         "in Go, gob and JSON",
				         y, x->name,
				         toupper((unsigned char)x->name[0]),
				         x->name + 1);
				diag_note(c->ld, &d->fields[j].loc,
				          "'%s' is declared here", y);
				break;
			}
		}
	}
}

/* check_go_method: Go's net/rpc serves only exported methods, by the name
 * as written (a call is "Service.Method"). */
static void check_go_method(check_ctx *c, const ast_method *m)
{
	if (m->name && !check_reserved(c, m->name) &&
	    !(m->name[0] >= 'A' && m->name[0] <= 'Z'))
		check_go(c, &m->loc,
		         "method name '%s' is not exported in Go: a Go net/rpc "
		         "server serves only methods that start with an "
		         "upper-case letter",
		         m->name);
}

/* ---- literals: const values and field defaults ------------------------ */

/* check_lit_what describes literal v for a message: "a string",
 * "'word'", "-5". */
static const char *check_lit_what(const ast_lit *v, char *buf, size_t n)
{
	switch (v->kind) {
	case AST_L_STRING:
		return "a string";
	case AST_L_NAME:
		snprintf(buf, n, "'%.40s%s'", v->text,
		         strlen(v->text) > 40 ? "..." : "");
		return buf;
	case AST_L_FLOAT:
		snprintf(buf, n, "%s%.40s%s", v->neg ? "-" : "", v->text,
		         strlen(v->text) > 40 ? "..." : "");
		return buf;
	case AST_L_INT:
		break;
	}
	if (v->huge)
		return "a number out of range";
	snprintf(buf, n, "%s%llu", v->neg ? "-" : "",
	         (unsigned long long)v->mag);
	return buf;
}

/* check_int_range gives the values integer type k holds. */
static void check_int_range(ast_type_kind k, int64_t *lo, uint64_t *hi)
{
	switch (k) {
	case AST_T_INT32:
		*lo = INT32_MIN;
		*hi = INT32_MAX;
		break;
	case AST_T_INT64:
		*lo = INT64_MIN;
		*hi = INT64_MAX;
		break;
	case AST_T_UINT32:
		*lo = 0;
		*hi = UINT32_MAX;
		break;
	default:
		*lo = 0;
		*hi = UINT64_MAX;
		break;
	}
}

/* check_lit holds literal v to the type it is given, t (a bool, an
 * integer, a string, or an enum for a default); what names its owner
 * ("const 'MAX'", "the default of field 'x'"). */
static void check_lit(check_ctx *c, const ast_type *t, const ast_lit *v,
                      const char *what)
{
	char buf[64];
	size_t dist = SIZE_MAX;
	const char *best = NULL;
	const ast_loc *best_loc = NULL;
	int64_t lo;
	uint64_t hi;
	size_t i;

	switch (t->kind) {
	case AST_T_BOOL:
		if (v->kind == AST_L_NAME && (strcmp(v->text, "true") == 0 ||
		                              strcmp(v->text, "false") == 0))
			return;
		diag_error(c->ld, &v->loc,
		           "%s of type bool needs true or false, not %s", what,
		           check_lit_what(v, buf, sizeof buf));
		if (v->kind == AST_L_NAME) {
			if (check_spell_best(v->text, "true", &dist))
				best = "true";
			if (check_spell_best(v->text, "false", &dist))
				best = "false";
			if (best)
				diag_note(c->ld, NULL, "did you mean '%s'?",
				          best);
		}
		return;
	case AST_T_STRING:
		if (v->kind != AST_L_STRING)
			diag_error(c->ld, &v->loc,
			           "%s of type string needs a string, not %s",
			           what, check_lit_what(v, buf, sizeof buf));
		return;
	case AST_T_FLOAT:
	case AST_T_DOUBLE:
		if (v->kind != AST_L_INT && v->kind != AST_L_FLOAT) {
			diag_error(c->ld, &v->loc,
			           "%s of type %s needs a number, not %s", what,
			           ast_type_kind_name(t->kind),
			           check_lit_what(v, buf, sizeof buf));
			return;
		}
		/* strtod reads the C locale's '.': the compiler never sets
		 * another; an integer past UINT64_MAX is out of any range */
		if ((v->kind == AST_L_INT && v->huge) ||
		    (v->kind == AST_L_FLOAT &&
		     (t->kind == AST_T_FLOAT ? isinf(strtof(v->text, NULL))
		                             : isinf(strtod(v->text, NULL)))))
			diag_error(c->ld, &v->loc,
			           "value %s of %s is out of range for %s",
			           check_lit_what(v, buf, sizeof buf), what,
			           ast_type_kind_name(t->kind));
		return;
	case AST_T_NAMED: /* an enum (the caller checked) */
		if (v->kind != AST_L_NAME) {
			diag_error(c->ld, &v->loc,
			           "%s of type %s needs the name of one of its "
			           "values, not %s",
			           what, t->name,
			           check_lit_what(v, buf, sizeof buf));
			return;
		}
		for (i = 0; i < t->resolved->n_values; i++) {
			const ast_enum_value *ev = &t->resolved->values[i];

			if (strcmp(ev->name, v->text) == 0)
				return;
			if (check_spell_best(v->text, ev->name, &dist)) {
				best = ev->name;
				best_loc = &ev->loc;
			}
		}
		diag_error(c->ld, &v->loc, "'%s' is not a value of enum '%s'",
		           v->text, t->name);
		if (best)
			diag_note(c->ld, best_loc, "did you mean '%s'?", best);
		return;
	default: /* an integer */
		break;
	}
	if (v->kind != AST_L_INT) {
		diag_error(c->ld, &v->loc,
		           "%s of type %s needs an integer, not %s", what,
		           ast_type_kind_name(t->kind),
		           check_lit_what(v, buf, sizeof buf));
		return;
	}
	check_int_range(t->kind, &lo, &hi);
	if (v->huge)
		diag_error(c->ld, &v->loc,
		           "value of %s is out of range for %s (%lld..%llu)",
		           what, ast_type_kind_name(t->kind), (long long)lo,
		           (unsigned long long)hi);
	else if (v->neg ? v->mag > (uint64_t)0 - (uint64_t)lo : v->mag > hi)
		diag_error(c->ld, &v->loc,
		           "value %s of %s is out of range for %s "
		           "(%lld..%llu)",
		           check_lit_what(v, buf, sizeof buf), what,
		           ast_type_kind_name(t->kind), (long long)lo,
		           (unsigned long long)hi);
}

/* check_const: a const is a bool, a number or a string, and its value
 * fits its type. */
static void check_const(check_ctx *c, ast_decl *d)
{
	char what[128];

	switch (d->ctype->kind) {
	case AST_T_BOOL:
	case AST_T_INT32:
	case AST_T_INT64:
	case AST_T_UINT32:
	case AST_T_UINT64:
	case AST_T_FLOAT:
	case AST_T_DOUBLE:
	case AST_T_STRING:
		break;
	default:
		diag_error(c->ld, &d->ctype->loc,
		           "const '%s' cannot be of type '%s'; a const is "
		           "bool, an integer, float, double or string",
		           d->name,
		           d->ctype->kind == AST_T_NAMED
		               ? d->ctype->name
		               : ast_type_kind_name(d->ctype->kind));
		return;
	}
	snprintf(what, sizeof what, "const '%.64s'", d->name);
	check_lit(c, d->ctype, &d->value, what);
}

/* check_defaults reads a field's options: [default = V] on a bool,
 * number, string or enum field that is not optional. */
static void check_defaults(check_ctx *c, const ast_decl *d, ast_field *fl)
{
	const ast_oneof *one = ast_field_oneof(d, fl);
	const ast_type *t = fl->type;
	char what[128];
	size_t i;

	for (i = 0; i < fl->n_opts; i++) {
		const ast_fopt *o = &fl->opts[i];

		if (strcmp(o->name, "default") != 0) {
			diag_error(c->ld, &o->loc,
			           "unknown option '%s' of field '%s'; known: "
			           "default",
			           o->name, fl->name);
			continue;
		}
		if (fl->def) {
			diag_error(c->ld, &o->loc,
			           "duplicate option '%s' of field '%s'",
			           o->name, fl->name);
			continue;
		}
		fl->def = &o->value;
		if (one != NULL) {
			diag_error(c->ld, &o->loc,
			           "member '%s' of oneof '%s' cannot have a "
			           "default: unset, it is absent",
			           fl->name, one->name);
			continue;
		}
		if (fl->optional) {
			diag_error(c->ld, &o->loc,
			           "optional field '%s' cannot have a default: "
			           "unset, it is absent",
			           fl->name);
			continue;
		}
		if (t->kind == AST_T_NAMED && !t->resolved)
			continue; /* unknown type: said already */
		if (t->kind == AST_T_BYTES || t->kind == AST_T_LIST ||
		    t->kind == AST_T_MAP || t->kind == AST_T_ARRAY ||
		    (t->kind == AST_T_NAMED && t->resolved->kind != AST_ENUM)) {
			diag_error(c->ld, &o->loc,
			           "field '%s' of type '%s' cannot have a "
			           "default; defaults are for bool, number, "
			           "string and enum fields",
			           fl->name,
			           t->kind == AST_T_NAMED
			               ? t->name
			               : ast_type_kind_name(t->kind));
			continue;
		}
		snprintf(what, sizeof what, "the default of field '%.64s'",
		         fl->name);
		check_lit(c, t, &o->value, what);
	}
}

/* check_upper_eq tells whether a and b spell the same in upper case. */
static bool check_upper_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (toupper((unsigned char)*a) != toupper((unsigned char)*b))
			return false;
	return *a == *b;
}

/* check_upper_eq2 tells whether a is x "_" y in upper case. */
static bool check_upper_eq2(const char *a, const char *x, const char *y)
{
	size_t n = strlen(x);

	if (strlen(a) <= n || a[n] != '_')
		return false;
	for (size_t i = 0; i < n; i++)
		if (toupper((unsigned char)a[i]) !=
		    toupper((unsigned char)x[i]))
			return false;
	return check_upper_eq(a + n + 1, y);
}

/* check_const_cname: a const is the macro <PACKAGE>_<NAME> in C, in upper
 * case like enum constants (<PACKAGE>_<ENUM>_<VALUE>) and initialisers
 * (<PACKAGE>_<STRUCT>_INIT): within its package it must not spell like
 * another const, an enum value or an initialiser. */
static void check_const_cname(check_ctx *c, const ast_decl *d)
{
	const char *pkg = check_pkg(d->file);
	char cname[256];
	size_t i, j, k;

	snprintf(cname, sizeof cname, "%s%s%s", pkg, *pkg ? "_" : "", d->name);
	for (char *q = cname; *q; q++)
		*q = (char)toupper((unsigned char)*q);
	for (i = 0; i < c->n_order; i++) {
		const ast_file *f = c->order[i];

		if (strcmp(check_pkg(f), pkg) != 0)
			continue;
		for (j = 0; j < f->n_decls; j++) {
			const ast_decl *o = f->decls[j];

			if (o == d)
				return; /* a clash is reported at the later */
			if (!o->name)
				continue;
			if (o->kind == AST_CONST &&
			    check_upper_eq(o->name, d->name) &&
			    strcmp(o->name, d->name) != 0) {
				diag_error(c->ld, &d->loc,
				           "const '%s' is '%s' in C, as is "
				           "const '%s'",
				           d->name, cname, o->name);
				diag_note(c->ld, &o->loc,
				          "'%s' is declared here", o->name);
				return;
			}
			if (o->kind == AST_STRUCT &&
			    check_upper_eq2(d->name, o->name, "INIT")) {
				diag_error(c->ld, &d->loc,
				           "const '%s' is '%s' in C, as is the "
				           "initialiser of struct '%s'",
				           d->name, cname, o->name);
				diag_note(c->ld, &o->loc,
				          "'%s' is declared here", o->name);
				return;
			}
			for (k = 0; o->kind == AST_ENUM && k < o->n_values;
			     k++) {
				const ast_enum_value *v = &o->values[k];

				if (!check_upper_eq2(d->name, o->name, v->name))
					continue;
				diag_error(c->ld, &d->loc,
				           "const '%s' is '%s' in C, as is "
				           "value '%s' of enum '%s'",
				           d->name, cname, v->name, o->name);
				diag_note(c->ld, &v->loc,
				          "'%s' is declared here", v->name);
				return;
			}
		}
	}
}

/* check_oneof_member: a member of a oneof is a single value, set or not:
 * neither a list nor a map (protobuf has no repeated member) nor
 * optional. */
static void check_oneof_member(check_ctx *c, const ast_decl *d,
                               const ast_field *fl)
{
	const ast_oneof *one = ast_field_oneof(d, fl);

	if (fl->type->kind == AST_T_LIST || fl->type->kind == AST_T_MAP ||
	    fl->type->kind == AST_T_ARRAY)
		diag_error(c->ld, &fl->loc,
		           "member '%s' of oneof '%s' cannot be %s %s: "
		           "protobuf has no repeated oneof member",
		           fl->name, one->name,
		           fl->type->kind == AST_T_ARRAY ? "an" : "a",
		           ast_type_kind_name(fl->type->kind));
	else if (fl->optional)
		diag_error(c->ld, &fl->loc,
		           "member '%s' of oneof '%s' cannot be optional: a "
		           "oneof tells which member is set",
		           fl->name, one->name);
}

/* check_oneofs: a oneof has members and a name of its own in its struct
 * (protobuf's rule: fields and oneofs share the message's names); in C
 * its case is the member <name>_case, which no field may spell. */
static void check_oneofs(check_ctx *c, const ast_decl *d)
{
	size_t i, j;

	for (i = 0; i < d->n_oneofs; i++) {
		const ast_oneof *o = &d->oneofs[i];

		check_name(c, o->name, &o->loc, "oneof");
		if (o->n_members == 0)
			diag_error(c->ld, &o->loc,
			           "oneof '%s' in struct '%s' has no members",
			           o->name, d->name);
		for (j = 0; j < i; j++) {
			if (strcmp(d->oneofs[j].name, o->name) == 0) {
				diag_error(c->ld, &o->loc,
				           "duplicate oneof '%s' in struct "
				           "'%s'",
				           o->name, d->name);
				diag_note(c->ld, &d->oneofs[j].loc,
				          "previous definition was here");
				break;
			}
		}
		if (j < i)
			continue; /* its clashes are the first one's */
		for (j = 0; j < d->n_fields; j++) {
			const ast_field *x = &d->fields[j];
			size_t n = strlen(o->name);

			if (strcmp(x->name, o->name) == 0) {
				diag_error(c->ld, &o->loc,
				           "oneof '%s' has the name of field "
				           "'%s' of struct '%s'",
				           o->name, x->name, d->name);
				diag_note(c->ld, &x->loc,
				          "'%s' is declared here", x->name);
			} else if (strncmp(x->name, o->name, n) == 0 &&
			           strcmp(x->name + n, "_case") == 0) {
				diag_error(
				    c->ld, &x->loc,
				    "field '%s' clashes with the case of "
				    "oneof '%s' in the generated C struct",
				    x->name, o->name);
				diag_note(c->ld, &o->loc,
				          "'%s' is declared here", o->name);
			}
		}
	}
}

/* ---- names the generated C shares in a package ----------------------------
 *
 * A package's upper-case C names (enum constants <PKG>_<ENUM>_<VALUE> and
 * <PKG>_<ENUM>, initialisers <PKG>_<STRUCT>_INIT, a oneof's case
 * constants <PKG>_<STRUCT>_<ONEOF>_<MEMBER>, _<ONEOF>__NOT_SET and
 * _<ONEOF>__CASE) share one space, and a oneof's case type
 * <pkg>_<Struct>_<oneof>_case shares the type names' space with structs
 * and enums. Names that spell alike there would not compile; they are
 * refused where the later one is declared. A const's macro is checked by
 * check_const_cname; two declarations of one name by check_declare. */
typedef struct check_cname {
	char *name; /* "c:" or "t:" then the C name */
	char *what; /* how to name its origin in a diagnostic */
	const ast_loc *loc;
	size_t seq;           /* declaration order */
	const ast_decl *decl; /* where it comes from */
	const char *x;        /* the IDL name it comes from, in decl */
} check_cname;

typedef struct check_cnames {
	check_cname *v;
	size_t n, cap;
	bool oom;
} check_cnames;

static void check_cname_add(check_cnames *t, bool type, const char *pkg,
                            const char *a, const char *b, const char *c3,
                            const ast_loc *loc, const ast_decl *decl,
                            const char *fmt, const char *x, const char *y)
{
	char name[512], what[256];
	int n = snprintf(name, sizeof name, "%s%s%s%s%s%s%s%s",
	                 type ? "t:" : "c:", pkg, *pkg ? "_" : "", a,
	                 b ? "_" : "", b ? b : "", c3 ? "_" : "", c3 ? c3 : "");

	if (n < 0 || (size_t)n >= sizeof name)
		return; /* too long to be a name anyone wrote twice */
	if (!type)
		for (char *q = name + 2; *q; q++)
			*q = (char)toupper((unsigned char)*q);
	snprintf(what, sizeof what, fmt, x, y);
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		check_cname *v = realloc(t->v, cap * sizeof(*v));
		if (v == NULL) {
			t->oom = true;
			return;
		}
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n].name = strdup(name);
	t->v[t->n].what = strdup(what);
	if (t->v[t->n].name == NULL || t->v[t->n].what == NULL) {
		free(t->v[t->n].name);
		free(t->v[t->n].what);
		t->oom = true;
		return;
	}
	t->v[t->n].loc = loc;
	t->v[t->n].seq = t->n;
	t->v[t->n].decl = decl;
	t->v[t->n].x = x;
	t->n++;
}

static int check_cname_cmp(const void *a, const void *b)
{
	const check_cname *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r != 0 ? r : (x->seq > y->seq) - (x->seq < y->seq);
}

static void check_cname_decl(check_cnames *t, const char *pkg,
                             const ast_decl *d)
{
	size_t i, j;

	if (d->kind == AST_ENUM) {
		check_cname_add(t, false, pkg, d->name, NULL, NULL, &d->loc, d,
		                "the size marker of enum '%s'%s", d->name, "");
		check_cname_add(t, true, pkg, d->name, NULL, NULL, &d->loc, d,
		                "enum '%s'%s", d->name, "");
		for (i = 0; i < d->n_values; i++)
			check_cname_add(
			    t, false, pkg, d->name, d->values[i].name, NULL,
			    &d->values[i].loc, d, "value '%s' of enum '%s'",
			    d->values[i].name, d->name);
		return;
	}
	if (d->kind != AST_STRUCT)
		return;
	check_cname_add(t, false, pkg, d->name, "INIT", NULL, &d->loc, d,
	                "the initialiser of struct '%s'%s", d->name, "");
	check_cname_add(t, true, pkg, d->name, NULL, NULL, &d->loc, d,
	                "struct '%s'%s", d->name, "");
	for (i = 0; i < d->n_oneofs; i++) {
		const ast_oneof *o = &d->oneofs[i];
		char o_case[256];

		for (j = 0; j < i; j++)
			if (strcmp(d->oneofs[j].name, o->name) == 0)
				break;
		if (j < i)
			continue; /* a duplicate oneof: check_oneofs said so */
		snprintf(o_case, sizeof o_case, "%s_case", o->name);
		check_cname_add(t, true, pkg, d->name, o_case, NULL, &o->loc, d,
		                "the case type of oneof '%s'%s", o->name, "");
		check_cname_add(
		    t, false, pkg, d->name, o->name, "_NOT_SET", &o->loc, d,
		    "the case 'not set' of oneof '%s'%s", o->name, "");
		check_cname_add(
		    t, false, pkg, d->name, o->name, "_CASE", &o->loc, d,
		    "the case enum's size marker of oneof '%s'%s", o->name, "");
		for (j = 0; j < o->n_members; j++) {
			const ast_field *fl = &d->fields[o->first + j];

			check_cname_add(t, false, pkg, d->name, o->name,
			                fl->name, &fl->loc, d,
			                "the case of member '%s' of oneof '%s'",
			                fl->name, o->name);
		}
	}
}

static void check_cnames_all(check_ctx *c)
{
	check_cnames t = {0};
	size_t i, j;

	for (i = 0; i < c->n_order; i++)
		for (j = 0; j < c->order[i]->n_decls; j++)
			if (c->order[i]->decls[j]->name)
				check_cname_decl(&t, check_pkg(c->order[i]),
				                 c->order[i]->decls[j]);
	if (t.oom)
		c->ld->oom = 1;
	else if (t.n > 0)
		qsort(t.v, t.n, sizeof(*t.v), check_cname_cmp);
	for (i = 1, j = 0; !t.oom && i < t.n; i++) {
		const check_cname *a = &t.v[j], *b = &t.v[i];

		if (strcmp(a->name, b->name) != 0) {
			j = i; /* the first of a run: the others report to it */
			continue;
		}
		if (a->decl != b->decl &&
		    strcmp(a->decl->name, b->decl->name) == 0)
			continue; /* a duplicate type: check_declare said so */
		if (a->decl == b->decl && strcmp(a->x, b->x) == 0)
			continue; /* a duplicate value or member: said too */
		diag_error(c->ld, b->loc, "%s is '%s' in C, as is %s", b->what,
		           b->name + 2, a->what);
		diag_note(c->ld, a->loc, "declared here");
	}
	for (i = 0; i < t.n; i++) {
		free(t.v[i].name);
		free(t.v[i].what);
	}
	free(t.v);
}

static void check_struct(check_ctx *c, ast_file *f, ast_decl *d)
{
	size_t i, j, n_explicit = 0;

	for (i = 0; i < d->n_fields; i++) {
		ast_field *fl = &d->fields[i];

		check_name(c, fl->name, &fl->loc, "field");
		if (fl->name && strcmp(fl->name, "base") == 0)
			diag_error(
			    c->ld, &fl->loc,
			    "field name 'base' is taken by the protobuf-c "
			    "message header");
		for (j = 0; j < i; j++) {
			if (strcmp(d->fields[j].name, fl->name) == 0) {
				diag_error(c->ld, &fl->loc,
				           "duplicate field '%s' in struct "
				           "'%s'",
				           fl->name, d->name);
				diag_note(c->ld, &d->fields[j].loc,
				          "previous definition was here");
				break;
			}
		}
		check_type(c, f, fl->type);
		check_defaults(c, d, fl);
		if (fl->oneof) {
			check_oneof_member(c, d, fl);
		} else if (fl->optional &&
		           (fl->type->kind == AST_T_LIST ||
		            fl->type->kind == AST_T_MAP ||
		            fl->type->kind == AST_T_ARRAY ||
		            (fl->type->resolved &&
		             fl->type->resolved->kind == AST_STRUCT)))
			diag_error(c->ld, &fl->loc,
			           "field '%s' cannot be optional: only "
			           "scalar, string, bytes and enum fields can",
			           fl->name);
		if (fl->explicit_number)
			n_explicit++;
	}
	check_oneofs(c, d);
	check_generated_names(c, d);
	check_go_fields(c, d);
	if (n_explicit == 0) {
		for (i = 0; i < d->n_fields; i++)
			d->fields[i].number = (int64_t)i + 1;
		return;
	}
	if (n_explicit != d->n_fields) {
		for (i = 1; i < d->n_fields; i++)
			if (d->fields[i].explicit_number !=
			    d->fields[0].explicit_number)
				break;
		diag_error(c->ld, &d->fields[i].loc,
		           "mixed explicit and implicit field numbers in "
		           "struct '%s': number every field or none",
		           d->name);
		return;
	}
	for (i = 0; i < d->n_fields; i++) {
		ast_field *fl = &d->fields[i];

		if (fl->number == INT64_MAX || fl->number == INT64_MIN) {
			/* saturated by the lexer: the literal itself is huge */
			diag_error(c->ld, &fl->number_loc,
			           "field number of '%s' is out of range "
			           "(1..%d)",
			           fl->name, CHECK_FIELD_MAX);
			continue;
		}
		if (fl->number < 1 || fl->number > CHECK_FIELD_MAX) {
			diag_error(c->ld, &fl->number_loc,
			           "field number %lld of '%s' is out of range "
			           "(1..%d)",
			           (long long)fl->number, fl->name,
			           CHECK_FIELD_MAX);
			continue;
		}
		if (fl->number >= CHECK_RESERVED_LO &&
		    fl->number <= CHECK_RESERVED_HI) {
			diag_error(c->ld, &fl->number_loc,
			           "field number %lld of '%s' is reserved by "
			           "protobuf (%d..%d)",
			           (long long)fl->number, fl->name,
			           CHECK_RESERVED_LO, CHECK_RESERVED_HI);
			continue;
		}
		for (j = 0; j < i; j++) {
			if (d->fields[j].number == fl->number) {
				diag_error(c->ld, &fl->number_loc,
				           "duplicate field number %lld in "
				           "struct '%s'",
				           (long long)fl->number, d->name);
				diag_note(c->ld, &d->fields[j].number_loc,
				          "previous use was here");
				break;
			}
		}
	}
}

static void check_enum(check_ctx *c, ast_decl *d)
{
	size_t i, j;

	if (d->n_values == 0) {
		diag_error(c->ld, &d->loc,
		           "enum '%s' has no values; proto3 needs a first "
		           "value of 0",
		           d->name);
		return;
	}
	if (d->values[0].value != 0)
		diag_error(c->ld, &d->values[0].value_loc,
		           "the first value of enum '%s' must be 0 (proto3 "
		           "rule), not %lld",
		           d->name, (long long)d->values[0].value);
	for (i = 0; i < d->n_values; i++) {
		ast_enum_value *v = &d->values[i];

		check_name(c, v->name, &v->loc, "enum value");
		if (v->value == INT64_MAX || v->value == INT64_MIN)
			diag_error(c->ld, &v->value_loc,
			           "value of '%s' is out of range for int32",
			           v->name);
		else if (v->value < INT32_MIN || v->value > INT32_MAX)
			diag_error(c->ld, &v->value_loc,
			           "value %lld of '%s' is out of range for "
			           "int32",
			           (long long)v->value, v->name);
		for (j = 0; j < i; j++) {
			if (strcmp(d->values[j].name, v->name) == 0) {
				diag_error(c->ld, &v->loc,
				           "duplicate enum value '%s' in enum "
				           "'%s'",
				           v->name, d->name);
				diag_note(c->ld, &d->values[j].loc,
				          "previous definition was here");
				break;
			}
		}
		for (j = 0; j < i; j++) {
			if (d->values[j].value == v->value) {
				diag_error(c->ld, &v->value_loc,
				           "duplicate value %lld in enum '%s' "
				           "('%s' and '%s')",
				           (long long)v->value, d->name,
				           d->values[j].name, v->name);
				diag_note(c->ld, &d->values[j].value_loc,
				          "previous use was here");
				break;
			}
		}
	}
}

/* check_method holds a method to the net/rpc contract: "func (t *T)
 * Method(args T1, reply *T2) error", i.e. two parameters, the second a
 * pointer the handler fills, the first a value it only reads. */
static void check_method(check_ctx *c, ast_file *f, ast_decl *d, ast_method *m)
{
	size_t i;

	check_name(c, m->name, &m->loc, "method");
	check_go_method(c, m);
	for (i = 0; i < m->n_attrs; i++) {
		const ast_attr *a = &m->attrs[i];

		if (strcmp(a->name, "idempotent") != 0) {
			diag_error(c->ld, &a->loc,
			           "unknown attribute '%s' of method '%s'; "
			           "known: idempotent",
			           a->name, m->name);
		} else if (m->idempotent) {
			diag_error(c->ld, &a->loc,
			           "duplicate attribute '%s' of method '%s'",
			           a->name, m->name);
		} else {
			m->idempotent = true;
		}
	}
	for (i = 0; i < m->n_params; i++) {
		check_name(c, m->params[i].name, &m->params[i].loc,
		           "parameter");
		check_type(c, f, m->params[i].type);
	}
	if (m->n_params != 2) {
		diag_error(c->ld, &m->loc,
		           "method '%s' of service '%s' must have exactly two "
		           "parameters (args, *reply), not %zu",
		           m->name, d->name, m->n_params);
		return;
	}
	if (m->params[0].pointer)
		diag_error(c->ld, &m->params[0].loc,
		           "first parameter of method '%s' must not be a "
		           "pointer: args are passed by value",
		           m->name);
	if (!m->params[1].pointer)
		diag_error(c->ld, &m->params[1].loc,
		           "second parameter of method '%s' must be a "
		           "pointer: the reply is written through it",
		           m->name);
}

static void check_service(check_ctx *c, ast_file *f, ast_decl *d)
{
	size_t i, j;

	if (d->n_methods == 0)
		diag_error(c->ld, &d->loc, "service '%s' has no methods",
		           d->name);
	for (i = 0; i < d->n_methods; i++) {
		ast_method *m = &d->methods[i];

		for (j = 0; j < i; j++) {
			if (strcmp(d->methods[j].name, m->name) == 0) {
				diag_error(c->ld, &m->loc,
				           "duplicate method '%s' in service "
				           "'%s'",
				           m->name, d->name);
				diag_note(c->ld, &d->methods[j].loc,
				          "previous definition was here");
				break;
			}
		}
		check_method(c, f, d, m);
	}
}

static void check_package(check_ctx *c, ast_file *f)
{
	if (!f->package)
		return;
	if (strchr(f->package, '.')) {
		diag_error(c->ld, &f->package_loc,
		           "package name '%s' is not a valid C identifier; "
		           "use '_' instead of '.'",
		           f->package);
		return;
	}
	check_name(c, f->package, &f->package_loc, "package");
}

void check_program(idl_loader *ld)
{
	idl_program *prog = ld->prog;
	check_ctx c = {.ld = ld};
	bool *seen = NULL;
	size_t i, j, n = 0;

	for (i = 0; i < prog->n_files; i++)
		n += prog->files[i]->n_decls;
	_Static_assert(CHECK_N_RESERVED <=
	                   sizeof(c.reserved) / sizeof(c.reserved[0]),
	               "check_ctx.reserved too small");
	memcpy(c.reserved, check_reserved_words, sizeof(check_reserved_words));
	qsort(c.reserved, CHECK_N_RESERVED, sizeof(char *), check_cmp_words);
	for (c.cap = 16; c.cap < 2 * n; c.cap *= 2)
		;
	c.tab = calloc(c.cap, sizeof(*c.tab));
	c.order = calloc(prog->n_files + 1, sizeof(*c.order));
	seen = calloc(prog->n_files + 1, sizeof(*seen));
	if (!c.tab || !c.order || !seen) {
		ld->oom = 1;
		goto done;
	}
	check_order(&c, prog->main, seen);
	for (i = 0; i < prog->n_files; i++) /* unreachable ones, if any */
		check_order(&c, prog->files[i], seen);
	for (i = 0; i < c.n_order; i++) {
		check_package(&c, c.order[i]);
		check_declare(&c, c.order[i]);
	}
	for (i = 0; i < c.n_order; i++) {
		ast_file *f = c.order[i];

		for (j = 0; j < f->n_decls; j++) {
			ast_decl *d = f->decls[j];

			if (d->kind == AST_CONST)
				check_const_cname(&c, d);
			if (d->kind == AST_STRUCT)
				check_struct(&c, f, d);
			else if (d->kind == AST_ENUM)
				check_enum(&c, d);
			else if (d->kind == AST_CONST)
				check_const(&c, d);
			else
				check_service(&c, f, d);
		}
	}
	check_cnames_all(&c);
done:
	free(seen);
	free(c.order);
	free(c.tab);
}
