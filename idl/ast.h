/* ast.h - the syntax tree of a .rpc file, shared by the parser, the
 * checker and the code generators.
 *
 * Ownership: every node, string and array reachable from an idl_program is
 * owned by that program and freed by idl_program_free(). Nodes never point
 * outside their program. Every node carries the location of its first token.
 */
#ifndef IDL_AST_H
#define IDL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ast_loc {
	const char *file; /* path as given/found; owned by the program */
	int line;         /* 1-based */
	int col;          /* 1-based, in bytes */
} ast_loc;

typedef enum ast_type_kind {
	AST_T_BOOL,
	AST_T_INT32,
	AST_T_INT64,
	AST_T_UINT32,
	AST_T_UINT64,
	AST_T_FLOAT,
	AST_T_DOUBLE,
	AST_T_STRING,
	AST_T_BYTES,
	AST_T_NAMED, /* a struct or enum, possibly qualified: "common.Point" */
	AST_T_LIST,  /* list<elem> */
	AST_T_MAP,   /* map<key, elem> */
	AST_T_ARRAY, /* elem[N]: a fixed-size array */
} ast_type_kind;

struct ast_decl;
struct ast_file;
struct ast_lit;

/* The largest N of an array type T[N]: a message is bounded by its frame,
 * and a C struct holding T[N] inline should stay a reasonable size. */
#define IDL_ARRAY_MAX 65536

typedef struct ast_type {
	ast_type_kind kind;
	ast_loc loc;
	char *name; /* AST_T_NAMED: as written, "Point" or "common.Point" */
	struct ast_decl
	    *resolved; /* AST_T_NAMED: set by the checker (struct or enum) */
	struct ast_type *key;  /* AST_T_MAP: the key type */
	struct ast_type *elem; /* AST_T_LIST, AST_T_ARRAY: element;
	                          AST_T_MAP: value */
	struct ast_lit *len;   /* AST_T_ARRAY: N as written (an integer or
	                          the name of a const) */
	uint32_t n;            /* AST_T_ARRAY: N, set by the checker (0 when
	                          it is invalid) */
} ast_type;

/* A literal: the value of a const, or of a field's default. What it must
 * be depends on the type it is given to; the checker says. */
typedef enum ast_lit_kind {
	AST_L_INT,    /* N or -N, decimal or 0x */
	AST_L_FLOAT,  /* 1.5, -2.5e-3, 1e9: digits, a '.' and digits, and/or
	                 an exponent */
	AST_L_STRING, /* "text" */
	AST_L_NAME,   /* a word: true, false, or an enum value */
} ast_lit_kind;

typedef struct ast_lit {
	ast_lit_kind kind;
	bool neg;     /* AST_L_INT: written with a leading '-' */
	bool huge;    /* AST_L_INT: the number written exceeds UINT64_MAX */
	uint64_t mag; /* AST_L_INT: the number without its sign (UINT64_MAX
	                 when huge) */
	char *text;   /* AST_L_STRING: the bytes, escapes resolved;
	                 AST_L_NAME: the word; AST_L_FLOAT: the number as
	                 written, without its sign */
	ast_loc loc;
} ast_lit;

/* A field option: a "name = value" in the brackets after a field,
 * "int32 x = 1 [default = 7];". */
typedef struct ast_fopt {
	char *name;
	ast_loc loc;
	ast_lit value;
} ast_fopt;

typedef struct ast_field {
	char *name;
	ast_loc loc;
	char *doc; /* joined text of the /// lines before it, or NULL */
	ast_type *type;
	bool optional;        /* written "optional" */
	bool explicit_number; /* written "= N" */
	int64_t number;       /* the protobuf field number: as written, or its
	                         1-based position when the struct has none
	                         (filled in by the checker) */
	ast_loc number_loc;   /* location of N when explicit */
	size_t n_opts;        /* as written; the checker knows the names */
	ast_fopt *opts;
	const ast_lit *def; /* [default = V]: set by the checker, points
	                       into opts; NULL when the field has none */
	size_t oneof;       /* 1 + the index in its struct's oneofs of the
	                       oneof it is a member of; 0: none */
} ast_field;

/* A oneof: "oneof kind { int32 x = 3; string s = 4; }" inside a struct.
 * Its members are fields of the struct (they share its names and
 * numbers), n_members of them from fields[first], in source order. */
typedef struct ast_oneof {
	char *name;
	ast_loc loc;
	char *doc;
	size_t first;     /* index of the first member in the fields */
	size_t n_members; /* may be 0 (an error the checker reports) */
} ast_oneof;

typedef struct ast_enum_value {
	char *name;
	ast_loc loc;
	char *doc;
	int64_t value;
	ast_loc value_loc;
} ast_enum_value;

typedef struct ast_param {
	ast_type *type;
	bool pointer; /* written with '*' */
	char *name;   /* may be NULL if omitted in the source */
	ast_loc loc;
} ast_param;

/* A method attribute: a word in the brackets after the parameters,
 * "Get(Key k, Value *reply) [idempotent];". */
typedef struct ast_attr {
	char *name;
	ast_loc loc;
} ast_attr;

typedef struct ast_method {
	char *name;
	ast_loc loc;
	char *doc;
	size_t n_params; /* the contract wants exactly 2; the parser keeps
	                    what was written so the checker can say so */
	ast_param *params;
	size_t n_attrs; /* as written; the checker knows the words */
	ast_attr *attrs;
	bool idempotent; /* [idempotent]: set by the checker */
} ast_method;

typedef enum ast_decl_kind {
	AST_STRUCT,
	AST_ENUM,
	AST_SERVICE,
	AST_CONST, /* "const int32 MAX = 10;": not a type; shares the
	              namespace of types and services */
} ast_decl_kind;

typedef struct ast_decl {
	ast_decl_kind kind;
	char *name;
	ast_loc loc;
	char *doc;
	struct ast_file *file; /* the file that declares it */
	size_t n_fields;       /* AST_STRUCT */
	ast_field *fields;
	size_t n_oneofs; /* AST_STRUCT, in source order */
	ast_oneof *oneofs;
	size_t n_values; /* AST_ENUM */
	ast_enum_value *values;
	size_t n_methods; /* AST_SERVICE, in source order */
	ast_method *methods;
	ast_type *ctype; /* AST_CONST: its type */
	ast_lit value;   /* AST_CONST: its value */
} ast_decl;

typedef struct ast_import {
	char *path; /* as written in the import statement */
	ast_loc loc;
	struct ast_file *file; /* set by the loader */
} ast_import;

typedef struct ast_file {
	char *path;    /* path used to open it */
	char *package; /* NULL when the file has no package line */
	ast_loc package_loc;
	char *doc; /* /// lines before the package line, or NULL */
	size_t n_imports;
	ast_import *imports;
	size_t n_decls; /* in source order */
	ast_decl **decls;
} ast_file;

/* A loaded and checked compilation: the main file and everything it imports. */
typedef struct idl_program {
	ast_file *main;
	size_t n_files; /* every loaded file, main first, each once */
	ast_file **files;
	size_t n_deps; /* paths of every file read (main and imports),
	                  for the depfile */
	char **deps;
	/* private bookkeeping of the loader (string pool, arenas) may follow */
	void *priv;
} idl_program;

/* Diagnostics sink. The front end never prints by itself: it formats
 * "file:line:col: error: message" (or "warning:"), the source line and a caret,
 * plus any "note:" lines, and hands the text to this callback (default:
 * stderr). */
typedef void idl_diag_fn(void *ctx, const char *text);

typedef struct idl_options {
	const char *const *include_dirs; /* -I, searched after the importing
	                                    file's folder, in order */
	size_t n_include_dirs;
	idl_diag_fn *diag; /* NULL: write to stderr */
	void *diag_ctx;
	bool go_errors; /* Go's rules (names Go cannot export, or that
	                   collide once capitalised) are errors, not
	                   warnings: rpcgen-c --emit-go */
	bool werror;    /* every warning is an error: rpcgen-c -Werror */
} idl_options;

/* idl_load reads, parses and checks path and its imports. On success
 * (warnings, if any, already reported) returns 0 and sets *out (caller
 * frees with idl_program_free). On any error (and on a warning under
 * opts->werror) reports every diagnostic it safely can through
 * opts->diag, returns the number of errors (> 0) and sets *out to NULL. */
int idl_load(const char *path, const idl_options *opts, idl_program **out);

void idl_program_free(idl_program *prog);

/* Convenience for generators. */
const char *ast_type_kind_name(ast_type_kind k); /* "int64", "list", ... */

/* The oneof field f of struct d is a member of, or NULL. */
static inline const ast_oneof *ast_field_oneof(const ast_decl *d,
                                               const ast_field *f)
{
	return f->oneof ? &d->oneofs[f->oneof - 1] : NULL;
}

/* Where a declaration's generated C names start: the package of the file
 * that declares it ("arith") or NULL. */
static inline const char *ast_decl_package(const ast_decl *d)
{
	return d->file ? d->file->package : NULL;
}

#endif
