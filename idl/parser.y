/* parser.y - grammar of the .rpc language.
 *
 * A pure parser: all state is in the idl_parse passed to idlp_parse. Grammar
 * actions only build the AST (names, duplicates, types and numbers are the
 * checker's business), so the grammar accepts keywords as names and lets the
 * checker say "'int32' is a reserved word". Syntax errors read
 * "expected X before Y", at Y, or just past the previous token when a
 * closer like ';' is missing and Y starts a later line (the ';' is shown
 * where it belongs). After an error the parser resumes at the next ';'
 * inside a body or the next '}' at the top level, and reports again only
 * once three tokens have been accepted. A word found where keywords were
 * wanted gets a "did you mean 'struct'?" note when it is a near miss.
 */
%define api.pure full
%define api.prefix {idlp_}
%define api.location.type {idl_lloc}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {void *scanner}
%parse-param {idl_parse *p}

%code requires {
#include "internal.h"

typedef struct idl_num {
	int set;   /* "= N" was written */
	int64_t v; /* saturated to int64 */
	idl_lloc loc;
} idl_num;
}

%code provides {
int idl_yylex(IDLP_STYPE *lval, IDLP_LTYPE *lloc, void *scanner);
}

%code {
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define idlp_lex idl_yylex

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                        \
	do {                                                               \
		if (N) {                                                   \
			(Cur).first_line = YYRHSLOC(Rhs, 1).first_line;    \
			(Cur).first_column = YYRHSLOC(Rhs, 1).first_column; \
			(Cur).last_line = YYRHSLOC(Rhs, N).last_line;      \
			(Cur).last_column = YYRHSLOC(Rhs, N).last_column;  \
			(Cur).doc = YYRHSLOC(Rhs, 1).doc;                  \
		} else {                                                   \
			(Cur).first_line = (Cur).last_line =               \
				YYRHSLOC(Rhs, 0).last_line;                \
			(Cur).first_column = (Cur).last_column =           \
				YYRHSLOC(Rhs, 0).last_column;              \
			(Cur).doc = -1;                                    \
		}                                                          \
	} while (0)

static void idlp_error(const idl_lloc *l, void *scanner, idl_parse *p,
		       const char *msg);
static ast_loc parse_loc(idl_parse *p, idl_lloc l);
static char *parse_doc(idl_parse *p, idl_lloc l);
static char *parse_strdup(idl_parse *p, const char *s);
static char *parse_join(idl_parse *p, char *a, char *b);
static ast_type *parse_type(idl_parse *p, ast_type_kind k, idl_lloc l,
			    char *name, ast_type *key, ast_type *elem);
static ast_type *parse_array(idl_parse *p, ast_type *elem, ast_lit len);
static int parse_package(idl_parse *p, char *name, idl_lloc l);
static int parse_import(idl_parse *p, char *path, idl_lloc l);
static int parse_decl(idl_parse *p, ast_decl_kind k, char *name, idl_lloc l);
static int parse_field(idl_parse *p, bool opt, ast_type *t, char *name,
		       idl_num num, idl_lloc l);
static int parse_oneof(idl_parse *p, char *name, idl_lloc l);
static int parse_value(idl_parse *p, char *name, idl_num num, idl_lloc l);
static int parse_method(idl_parse *p, char *name, idl_lloc l);
static int parse_param(idl_parse *p, ast_type *t, bool ptr, char *name,
		       idl_lloc l);
static int parse_attr(idl_parse *p, char *name, idl_lloc l);
static int parse_const(idl_parse *p, ast_type *t, char *name, ast_lit v,
		       idl_lloc l);
static int parse_fopt(idl_parse *p, char *name, ast_lit v, idl_lloc l);
static void parse_drop_fopts(idl_parse *p);
static bool parse_huge(idl_parse *p, idl_lloc l);

#define NEED(x)             \
	do {                \
		if ((x) < 0) \
			YYNOMEM; \
	} while (0)
}

%union {
	char *str;
	uint64_t num;
	int64_t snum;
	idl_num onum;
	int flag;
	ast_type *type;
	ast_lit lit;
}

%token PACKAGE "'package'" IMPORT "'import'" STRUCT "'struct'"
%token ENUM "'enum'" SERVICE "'service'" OPTIONAL "'optional'"
%token CONST "'const'" ONEOF "'oneof'"
%token LIST "'list'" MAP "'map'" BOOL "'bool'" INT32 "'int32'"
%token INT64 "'int64'" UINT32 "'uint32'" UINT64 "'uint64'"
%token FLOAT "'float'" DOUBLE "'double'" STRING "'string'" BYTES "'bytes'"
%token <str> IDENT "identifier"
%token <str> STRLIT "string literal"
%token <num> NUMBER "number"
%token <str> FLOATLIT "float literal"
/* character tokens in a fixed order: syntax errors list what is expected
 * in token order */
%token ';' '.' '}' '{' '=' '-' ')' '[' ']' ',' '(' '*' '<' '>'

%type <str> name pkgname opt_name
%type <type> type
%type <snum> snumber
%type <onum> opt_number
%type <flag> opt_star
%type <lit> literal

%destructor { free($$); } <str>
%destructor { ast_type_free($$); } <type>
%destructor { free($$.text); } <lit>

%%

file: opt_package imports decls ;

opt_package
	: %empty
	| PACKAGE pkgname ';'   { NEED(parse_package(p, $2, @1)); }
	;

pkgname
	: name                  { $$ = $1; }
	| pkgname '.' name      { $$ = parse_join(p, $1, $3); if (!$$) YYNOMEM; }
	;

imports
	: %empty
	| imports IMPORT STRLIT ';' { NEED(parse_import(p, $3, @2)); }
	;

decls
	: %empty
	| decls decl
	| decls ';'             /* C habit: "struct A { ... };" */
	;

decl
	: struct_head fields '}'
	| enum_head values '}'
	| service_head methods '}'
	| CONST type name '=' literal ';'
		{ NEED(parse_const(p, $2, $3, $5, @1)); }
	| CONST error ';'
	| error '}'
	;

struct_head: STRUCT name '{'    { NEED(parse_decl(p, AST_STRUCT, $2, @1)); } ;
enum_head: ENUM name '{'        { NEED(parse_decl(p, AST_ENUM, $2, @1)); } ;
service_head: SERVICE name '{'  { NEED(parse_decl(p, AST_SERVICE, $2, @1)); } ;

fields
	: %empty
	| fields field
	| fields oneof_head oneof_fields '}'    { p->oneof = 0; }
	;

oneof_head: ONEOF name '{'      { NEED(parse_oneof(p, $2, @1)); } ;

oneof_fields
	: %empty
	| oneof_fields field
	;

field
	: type name opt_number opt_fopts ';'
		{ NEED(parse_field(p, false, $1, $2, $3, @1)); }
	| OPTIONAL type name opt_number opt_fopts ';'
		{ NEED(parse_field(p, true, $2, $3, $4, @1)); }
	| error ';'             { parse_drop_fopts(p); }
	;

opt_fopts
	: %empty
	| '[' fopts ']'
	;

fopts
	: fopt
	| fopts ',' fopt
	;

fopt: name '=' literal          { NEED(parse_fopt(p, $1, $3, @1)); } ;

literal
	: NUMBER
		{ $$ = (ast_lit){.kind = AST_L_INT, .mag = $1,
		                 .huge = parse_huge(p, @1),
		                 .loc = parse_loc(p, @1)}; }
	| '-' NUMBER
		{ $$ = (ast_lit){.kind = AST_L_INT, .neg = true, .mag = $2,
		                 .huge = parse_huge(p, @2),
		                 .loc = parse_loc(p, @1)}; }
	| FLOATLIT
		{
			if (!$1)
				YYNOMEM;
			$$ = (ast_lit){.kind = AST_L_FLOAT, .text = $1,
			               .loc = parse_loc(p, @1)};
		}
	| '-' FLOATLIT
		{
			if (!$2)
				YYNOMEM;
			$$ = (ast_lit){.kind = AST_L_FLOAT, .neg = true,
			               .text = $2, .loc = parse_loc(p, @1)};
		}
	| STRLIT
		{
			if (!$1)
				YYNOMEM;
			$$ = (ast_lit){.kind = AST_L_STRING, .text = $1,
			               .loc = parse_loc(p, @1)};
		}
	| IDENT
		{
			if (!$1)
				YYNOMEM;
			$$ = (ast_lit){.kind = AST_L_NAME, .text = $1,
			               .loc = parse_loc(p, @1)};
		}
	;

opt_number
	: %empty                { $$.set = 0; $$.v = 0; $$.loc = @$; }
	| '=' snumber           { $$.set = 1; $$.v = $2; $$.loc = @2; }
	;

snumber
	: NUMBER                { $$ = $1 > INT64_MAX ? INT64_MAX : (int64_t)$1; }
	| '-' NUMBER            { $$ = $2 > INT64_MAX ? INT64_MIN : -(int64_t)$2; }
	;

values
	: %empty
	| values value
	;

value
	: name '=' snumber ';'
		{ idl_num n = { 1, $3, @3 }; NEED(parse_value(p, $1, n, @1)); }
	| error ';'
	;

methods
	: %empty
	| methods method
	;

method
	: method_head params ')' opt_attrs ';'
	| error ';'
	;

opt_attrs
	: %empty
	| '[' attrs ']'
	;

attrs
	: name                  { NEED(parse_attr(p, $1, @1)); }
	| attrs ',' name        { NEED(parse_attr(p, $3, @3)); }
	;

method_head: name '('           { NEED(parse_method(p, $1, @1)); } ;

params
	: %empty
	| param_list
	;

param_list
	: param
	| param_list ',' param
	;

param: type opt_star opt_name   { NEED(parse_param(p, $1, $2, $3, @1)); } ;

opt_star
	: %empty                { $$ = 0; }
	| '*'                   { $$ = 1; }
	;

opt_name
	: %empty                { $$ = NULL; }
	| name                  { $$ = $1; }
	;

type
	: BOOL      { $$ = parse_type(p, AST_T_BOOL, @1, NULL, NULL, NULL); if (!$$) YYNOMEM; }
	| INT32     { $$ = parse_type(p, AST_T_INT32, @1, NULL, NULL, NULL); if (!$$) YYNOMEM; }
	| INT64     { $$ = parse_type(p, AST_T_INT64, @1, NULL, NULL, NULL); if (!$$) YYNOMEM; }
	| UINT32    { $$ = parse_type(p, AST_T_UINT32, @1, NULL, NULL, NULL); if (!$$) YYNOMEM; }
	| UINT64    { $$ = parse_type(p, AST_T_UINT64, @1, NULL, NULL, NULL); if (!$$) YYNOMEM; }
	| FLOAT     { $$ = parse_type(p, AST_T_FLOAT, @1, NULL, NULL, NULL); if (!$$) YYNOMEM; }
	| DOUBLE    { $$ = parse_type(p, AST_T_DOUBLE, @1, NULL, NULL, NULL); if (!$$) YYNOMEM; }
	| STRING    { $$ = parse_type(p, AST_T_STRING, @1, NULL, NULL, NULL); if (!$$) YYNOMEM; }
	| BYTES     { $$ = parse_type(p, AST_T_BYTES, @1, NULL, NULL, NULL); if (!$$) YYNOMEM; }
	| IDENT     { $$ = parse_type(p, AST_T_NAMED, @1, $1, NULL, NULL); if (!$$) YYNOMEM; }
	| IDENT '.' IDENT
		{
			char *q = parse_join(p, $1, $3);
			if (!q)
				YYNOMEM;
			$$ = parse_type(p, AST_T_NAMED, @1, q, NULL, NULL);
			if (!$$)
				YYNOMEM;
		}
	| LIST '<' type '>'
		{ $$ = parse_type(p, AST_T_LIST, @1, NULL, NULL, $3); if (!$$) YYNOMEM; }
	| MAP '<' type ',' type '>'
		{ $$ = parse_type(p, AST_T_MAP, @1, NULL, $3, $5); if (!$$) YYNOMEM; }
	| type '[' literal ']'
		{ $$ = parse_array(p, $1, $3); if (!$$) YYNOMEM; }
	;

name
	: IDENT     { $$ = $1; if (!$$) YYNOMEM; }
	| PACKAGE   { $$ = parse_strdup(p, "package"); if (!$$) YYNOMEM; }
	| IMPORT    { $$ = parse_strdup(p, "import"); if (!$$) YYNOMEM; }
	| STRUCT    { $$ = parse_strdup(p, "struct"); if (!$$) YYNOMEM; }
	| ENUM      { $$ = parse_strdup(p, "enum"); if (!$$) YYNOMEM; }
	| SERVICE   { $$ = parse_strdup(p, "service"); if (!$$) YYNOMEM; }
	| OPTIONAL  { $$ = parse_strdup(p, "optional"); if (!$$) YYNOMEM; }
	| CONST     { $$ = parse_strdup(p, "const"); if (!$$) YYNOMEM; }
	| ONEOF     { $$ = parse_strdup(p, "oneof"); if (!$$) YYNOMEM; }
	| LIST      { $$ = parse_strdup(p, "list"); if (!$$) YYNOMEM; }
	| MAP       { $$ = parse_strdup(p, "map"); if (!$$) YYNOMEM; }
	| BOOL      { $$ = parse_strdup(p, "bool"); if (!$$) YYNOMEM; }
	| INT32     { $$ = parse_strdup(p, "int32"); if (!$$) YYNOMEM; }
	| INT64     { $$ = parse_strdup(p, "int64"); if (!$$) YYNOMEM; }
	| UINT32    { $$ = parse_strdup(p, "uint32"); if (!$$) YYNOMEM; }
	| UINT64    { $$ = parse_strdup(p, "uint64"); if (!$$) YYNOMEM; }
	| FLOAT     { $$ = parse_strdup(p, "float"); if (!$$) YYNOMEM; }
	| DOUBLE    { $$ = parse_strdup(p, "double"); if (!$$) YYNOMEM; }
	| STRING    { $$ = parse_strdup(p, "string"); if (!$$) YYNOMEM; }
	| BYTES     { $$ = parse_strdup(p, "bytes"); if (!$$) YYNOMEM; }
	;

%%

static ast_loc parse_loc(idl_parse *p, idl_lloc l)
{
	ast_loc a = {p->file->path, l.first_line, l.first_column};

	return a;
}

/* parse_doc takes the doc block attached to l's first token, if any. */
static char *parse_doc(idl_parse *p, idl_lloc l)
{
	char *d;

	if (l.doc < 0 || (size_t)l.doc >= p->n_docs)
		return NULL;
	d = p->docs[l.doc];
	p->docs[l.doc] = NULL;
	return d;
}

static char *parse_strdup(idl_parse *p, const char *s)
{
	char *d = strdup(s);

	if (!d)
		p->nomem = 1;
	return d;
}

/* parse_join makes "a.b" and frees a and b. */
static char *parse_join(idl_parse *p, char *a, char *b)
{
	char *s = NULL;

	if (a && b && asprintf(&s, "%s.%s", a, b) < 0)
		s = NULL;
	if (!s)
		p->nomem = 1;
	free(a);
	free(b);
	return s;
}

/* parse_type makes a type node; takes ownership of name, key and elem
 * whatever happens. */
static ast_type *parse_type(idl_parse *p, ast_type_kind k, idl_lloc l,
			    char *name, ast_type *key, ast_type *elem)
{
	ast_type *t = NULL;

	if ((k != AST_T_NAMED || name) && (k != AST_T_LIST || elem) &&
	    (k != AST_T_MAP || (key && elem)))
		t = ast_type_new(k, parse_loc(p, l));
	if (!t) {
		p->nomem = 1;
		free(name);
		ast_type_free(key);
		ast_type_free(elem);
		return NULL;
	}
	t->name = name;
	t->key = key;
	t->elem = elem;
	return t;
}

/* parse_array makes elem[len], at elem's location; takes ownership of
 * elem and len's text whatever happens. The checker reads len. */
static ast_type *parse_array(idl_parse *p, ast_type *elem, ast_lit len)
{
	ast_type *t = ast_type_new(AST_T_ARRAY, elem->loc);
	ast_lit *l = malloc(sizeof *l);

	if (!t || !l) {
		p->nomem = 1;
		free(t);
		free(l);
		free(len.text);
		ast_type_free(elem);
		return NULL;
	}
	*l = len;
	t->elem = elem;
	t->len = l;
	return t;
}

static int parse_package(idl_parse *p, char *name, idl_lloc l)
{
	free(p->file->package);
	p->file->package = name;
	p->file->package_loc = parse_loc(p, l);
	free(p->file->doc);
	p->file->doc = parse_doc(p, l);
	return 0;
}

static int parse_import(idl_parse *p, char *path, idl_lloc l)
{
	ast_file *f = p->file;
	ast_import *im;

	if (!path || ast_grow(&f->imports, f->n_imports, sizeof(*im)) < 0) {
		free(path);
		p->nomem = 1;
		return -1;
	}
	im = &f->imports[f->n_imports++];
	memset(im, 0, sizeof(*im));
	im->path = path;
	im->loc = parse_loc(p, l);
	return 0;
}

static int parse_decl(idl_parse *p, ast_decl_kind k, char *name, idl_lloc l)
{
	ast_file *f = p->file;
	ast_decl *d;

	if (ast_grow(&f->decls, f->n_decls, sizeof(*f->decls)) < 0 ||
	    !(d = calloc(1, sizeof(*d)))) {
		free(name);
		p->nomem = 1;
		return -1;
	}
	d->kind = k;
	d->name = name;
	d->loc = parse_loc(p, l);
	d->doc = parse_doc(p, l);
	d->file = f;
	f->decls[f->n_decls++] = d;
	p->cur = d;
	p->oneof = 0;
	return 0;
}

/* parse_oneof opens a oneof in the struct being parsed: the fields that
 * follow, up to its '}', are its members. */
static int parse_oneof(idl_parse *p, char *name, idl_lloc l)
{
	ast_decl *d = p->cur;
	ast_oneof *o;

	if (!name || !d || d->kind != AST_STRUCT ||
	    ast_grow(&d->oneofs, d->n_oneofs, sizeof(*o)) < 0) {
		free(name);
		p->nomem = 1;
		return -1;
	}
	o = &d->oneofs[d->n_oneofs++];
	memset(o, 0, sizeof(*o));
	o->name = name;
	o->loc = parse_loc(p, l);
	o->doc = parse_doc(p, l);
	o->first = d->n_fields;
	p->oneof = d->n_oneofs;
	return 0;
}

static int parse_field(idl_parse *p, bool opt, ast_type *t, char *name,
		       idl_num num, idl_lloc l)
{
	ast_decl *d = p->cur;
	ast_field *fl;

	if (!d || d->kind != AST_STRUCT ||
	    ast_grow(&d->fields, d->n_fields, sizeof(*fl)) < 0) {
		ast_type_free(t);
		free(name);
		p->nomem = 1;
		return -1;
	}
	fl = &d->fields[d->n_fields++];
	memset(fl, 0, sizeof(*fl));
	fl->name = name;
	fl->loc = parse_loc(p, l);
	fl->doc = parse_doc(p, l);
	fl->type = t;
	fl->optional = opt;
	fl->oneof = p->oneof;
	if (p->oneof)
		d->oneofs[p->oneof - 1].n_members++;
	fl->explicit_number = num.set;
	fl->number = num.v;
	if (num.set)
		fl->number_loc = parse_loc(p, num.loc);
	/* the options in brackets were parsed before this action runs */
	fl->opts = p->fopts;
	fl->n_opts = p->n_fopts;
	p->fopts = NULL;
	p->n_fopts = 0;
	return 0;
}

/* parse_fopt keeps a field option until parse_field takes it; takes
 * ownership of name and v's text whatever happens. */
static int parse_fopt(idl_parse *p, char *name, ast_lit v, idl_lloc l)
{
	ast_fopt *o;

	if (!name || ast_grow(&p->fopts, p->n_fopts, sizeof(*o)) < 0) {
		free(name);
		free(v.text);
		p->nomem = 1;
		return -1;
	}
	o = &p->fopts[p->n_fopts++];
	o->name = name;
	o->loc = parse_loc(p, l);
	o->value = v;
	return 0;
}

/* parse_huge tells whether the number at l was past UINT64_MAX (the lexer
 * remembers the last such number; one token of lookahead cannot hide it). */
static bool parse_huge(idl_parse *p, idl_lloc l)
{
	return p->huge_line == l.first_line && p->huge_col == l.first_column;
}

/* parse_drop_fopts frees options no field took (after a syntax error). */
static void parse_drop_fopts(idl_parse *p)
{
	size_t i;

	for (i = 0; i < p->n_fopts; i++) {
		free(p->fopts[i].name);
		free(p->fopts[i].value.text);
	}
	free(p->fopts);
	p->fopts = NULL;
	p->n_fopts = 0;
}

/* parse_const adds "const T NAME = V;"; takes ownership of t, name and
 * v's text whatever happens. */
static int parse_const(idl_parse *p, ast_type *t, char *name, ast_lit v,
		       idl_lloc l)
{
	if (parse_decl(p, AST_CONST, name, l) < 0) {
		ast_type_free(t);
		free(v.text);
		return -1;
	}
	p->cur->ctype = t;
	p->cur->value = v;
	p->cur = NULL;
	return 0;
}

static int parse_oneof(idl_parse *p, char *name, idl_lloc l);
static int parse_value(idl_parse *p, char *name, idl_num num, idl_lloc l)
{
	ast_decl *d = p->cur;
	ast_enum_value *v;

	if (!d || d->kind != AST_ENUM ||
	    ast_grow(&d->values, d->n_values, sizeof(*v)) < 0) {
		free(name);
		p->nomem = 1;
		return -1;
	}
	v = &d->values[d->n_values++];
	memset(v, 0, sizeof(*v));
	v->name = name;
	v->loc = parse_loc(p, l);
	v->doc = parse_doc(p, l);
	v->value = num.v;
	v->value_loc = parse_loc(p, num.loc);
	return 0;
}

static int parse_method(idl_parse *p, char *name, idl_lloc l)
{
	ast_decl *d = p->cur;
	ast_method *m;

	if (!d || d->kind != AST_SERVICE ||
	    ast_grow(&d->methods, d->n_methods, sizeof(*m)) < 0) {
		free(name);
		p->nomem = 1;
		return -1;
	}
	m = &d->methods[d->n_methods++];
	memset(m, 0, sizeof(*m));
	m->name = name;
	m->loc = parse_loc(p, l);
	m->doc = parse_doc(p, l);
	return 0;
}

static int parse_param(idl_parse *p, ast_type *t, bool ptr, char *name,
		       idl_lloc l)
{
	ast_decl *d = p->cur;
	ast_method *m;
	ast_param *pa;

	if (!d || d->kind != AST_SERVICE || d->n_methods == 0) {
		ast_type_free(t);
		free(name);
		return 0; /* after a syntax error: nothing to attach to */
	}
	m = &d->methods[d->n_methods - 1];
	if (ast_grow(&m->params, m->n_params, sizeof(*pa)) < 0) {
		ast_type_free(t);
		free(name);
		p->nomem = 1;
		return -1;
	}
	pa = &m->params[m->n_params++];
	pa->type = t;
	pa->pointer = ptr;
	pa->name = name;
	pa->loc = parse_loc(p, l);
	return 0;
}

/* parse_attr adds an attribute to the method being parsed; the checker
 * knows which words mean something. */
static int parse_attr(idl_parse *p, char *name, idl_lloc l)
{
	ast_decl *d = p->cur;
	ast_method *m;

	if (!d || d->kind != AST_SERVICE || d->n_methods == 0) {
		free(name);
		return 0; /* after a syntax error: nothing to attach to */
	}
	m = &d->methods[d->n_methods - 1];
	if (ast_grow(&m->attrs, m->n_attrs, sizeof(*m->attrs)) < 0) {
		free(name);
		p->nomem = 1;
		return -1;
	}
	m->attrs[m->n_attrs].name = name;
	m->attrs[m->n_attrs].loc = parse_loc(p, l);
	m->n_attrs++;
	return 0;
}

void idl_parse_error(idl_parse *p, const idl_lloc *l, const char *fmt, ...)
{
	char *msg = NULL;
	ast_loc at = parse_loc(p, *l);
	va_list ap;

	p->errors++;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg) {
		p->nomem = 1;
		return;
	}
	diag_error(p->ld, &at, "%s", msg);
	free(msg);
}

static void idlp_error(const idl_lloc *l, void *scanner, idl_parse *p,
		       const char *msg)
{
	(void)scanner;
	if (p->nomem)
		return; /* an action ran out of memory: the loader says so */
	if (strstr(msg, "exhausted"))
		/* bison's stack reached YYMAXDEPTH: absurd nesting */
		idl_parse_error(p, l, "input nested too deeply");
	else
		idl_parse_error(p, l, "%s", msg);
}

/* Token groups that syntax errors name as one thing. */
static bool parse_is_kw(yysymbol_kind_t k)
{
	return k >= YYSYMBOL_PACKAGE && k <= YYSYMBOL_BYTES;
}

static bool parse_starts_type(yysymbol_kind_t k)
{
	return (k >= YYSYMBOL_LIST && k <= YYSYMBOL_BYTES) ||
	       k == YYSYMBOL_IDENT;
}

/* parse_sym_kind finds the token bison names name, or -1. */
static int parse_sym_kind(const char *name)
{
	int i;

	for (i = 0; i < YYNTOKENS; i++)
		if (strcmp(yysymbol_name((yysymbol_kind_t)i), name) == 0)
			return i;
	return -1;
}

/* parse_sym_name is bison's name without the double quotes of aliases. */
static void parse_sym_name(char *out, size_t n, yysymbol_kind_t k)
{
	const char *s = yysymbol_name(k);
	size_t len = strlen(s);

	if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
		snprintf(out, n, "%.*s", (int)(len - 2), s + 1);
	else
		snprintf(out, n, "%s", s);
}

static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner,
				 idl_parse *p)
{
	yysymbol_kind_t exp[YYNTOKENS];
	bool seen[YYNTOKENS] = {false};
	const char *words[YYNTOKENS];
	char names[YYNTOKENS][32];
	char msg[512];
	char found[64];
	char kwords[YYNTOKENS][32];
	char typed[64];
	const char *hint = NULL;
	idl_lloc at;
	bool closer;
	int n, i, semi, nw = 0, kw = 0, ty = 0;
	size_t len;

	(void)scanner;
	if (p->last_len == 0) {
		snprintf(found, sizeof(found), "end of file");
	} else {
		int w = p->last_len < 40 ? (int)p->last_len : 40;

		snprintf(found, sizeof(found), "'%.*s%s'", w,
			 p->src + p->last_off,
			 p->last_len > (size_t)w ? "..." : "");
	}
	if (p->lex_errors > 0) {
		/* the lexer already said what is wrong; don't pile on */
		p->errors++;
		return 0;
	}
	n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
	for (i = 0; i < n; i++) {
		if (exp[i] >= 0 && exp[i] < YYNTOKENS)
			seen[exp[i]] = true;
	}
	/* between declarations a ';' is welcome but never what is missing */
	semi = parse_sym_kind("';'");
	if (seen[YYSYMBOL_YYEOF] && semi >= 0)
		seen[semi] = false;
	/* attributes are optional: '[' is never what is missing */
	i = parse_sym_kind("'['");
	if (i >= 0)
		seen[i] = false;
	/* when a closer (';' ')' '>' '}') is missing and the token found
	 * starts a later line, the closer belongs at the end of the previous
	 * line: point there */
	closer = false;
	for (i = 0; i < YYNTOKENS; i++) {
		const char *nm = yysymbol_name((yysymbol_kind_t)i);

		if (seen[i] &&
		    (strcmp(nm, "';'") == 0 || strcmp(nm, "')'") == 0 ||
		     strcmp(nm, "'>'") == 0 || strcmp(nm, "'}'") == 0))
			closer = true;
	}
	/* a word where keywords are wanted: maybe a misspelled one */
	if (p->last_tok == IDENT && p->last_len > 0 &&
	    p->last_len <= sizeof(typed) - 1) {
		size_t dist = SIZE_MAX;

		memcpy(typed, p->src + p->last_off, p->last_len);
		typed[p->last_len] = '\0';
		for (i = YYSYMBOL_PACKAGE; i <= YYSYMBOL_BYTES; i++) {
			size_t len;

			if (!seen[i])
				continue;
			/* bison's name is "'struct'": compare the word */
			parse_sym_name(kwords[i], sizeof(kwords[i]),
				       (yysymbol_kind_t)i);
			len = strlen(kwords[i]);
			if (len < 2)
				continue;
			kwords[i][len - 1] = '\0';
			if (check_spell_best(typed, kwords[i] + 1, &dist))
				hint = kwords[i] + 1;
		}
	}
	for (i = YYSYMBOL_PACKAGE; i <= YYSYMBOL_IDENT; i++) {
		if (seen[i] && parse_is_kw((yysymbol_kind_t)i))
			kw++;
		if (seen[i] && parse_starts_type((yysymbol_kind_t)i))
			ty++;
	}
	if (kw == YYSYMBOL_BYTES - YYSYMBOL_PACKAGE + 1 && seen[YYSYMBOL_IDENT]) {
		/* every word is welcome: a name */
		for (i = YYSYMBOL_PACKAGE; i <= YYSYMBOL_IDENT; i++)
			seen[i] = false;
		words[nw++] = "identifier";
	} else if (ty == YYSYMBOL_BYTES - YYSYMBOL_LIST + 2) {
		for (i = YYSYMBOL_LIST; i <= YYSYMBOL_IDENT; i++)
			seen[i] = false;
		words[nw++] = "type";
	}
	for (i = 0; i < YYNTOKENS; i++) {
		if (!seen[i])
			continue;
		parse_sym_name(names[i], sizeof(names[i]), (yysymbol_kind_t)i);
		words[nw++] = names[i];
	}
	if (nw == 0 || nw > 6) {
		snprintf(msg, sizeof(msg), "unexpected %s", found);
	} else {
		len = (size_t)snprintf(msg, sizeof(msg), "expected ");
		for (i = 0; i < nw && len < sizeof(msg); i++) {
			const char *sep = i == 0 ? "" : i == nw - 1 ? " or " : ", ";

			len += (size_t)snprintf(msg + len, sizeof(msg) - len,
						"%s%s", sep, words[i]);
		}
		if (len < sizeof(msg))
			snprintf(msg + len, sizeof(msg) - len, " before %s",
				 found);
	}
	at = *yypcontext_location(ctx);
	if (closer && p->last_len > 0 && p->prev_end_line > 0 &&
	    at.first_line > p->prev_end_line) {
		at.first_line = p->prev_end_line;
		at.first_column = p->prev_end_col;
	}
	idl_parse_error(p, &at, "%s", msg);
	if (hint)
		diag_note(p->ld, NULL, "did you mean '%s'?", hint);
	return 0;
}

int idl_parse_file(idl_parse *p)
{
	void *scanner = NULL;
	size_t i;
	int rc;

	p->line = 1;
	p->col = 1;
	p->pending_doc = -1;
	if (p->len > INT32_MAX) {
		idl_lloc l = {1, 1, 1, 1, -1};

		idl_parse_error(p, &l, "file too large");
		return p->errors;
	}
	if (idl_lex_open(p, &scanner) < 0) {
		p->nomem = 1;
	} else {
		rc = idlp_parse(scanner, p);
		if (rc != 0 && p->errors == 0 && !p->nomem)
			idl_parse_error(p, &(idl_lloc){1, 1, 1, 1, -1},
					"syntax error");
	}
	idl_lex_close(p, scanner);
	parse_drop_fopts(p);
	for (i = 0; i < p->n_docs; i++)
		free(p->docs[i]);
	free(p->docs);
	p->docs = NULL;
	p->n_docs = 0;
	return p->errors;
}
