/* ctype_map.h - how IDL types become C types, protobuf-c field kinds and
 * proto3 type names.
 *
 * The naming rule lives here, once: a declaration's C name is
 * "<package>_<Name>" ("arith_Args"), or "<Name>" when its file has no
 * package; macros and enum constants are the upper-case of the same
 * ("ARITH_ARGS_INIT", "ARITH_OP_ADD"). Every string returned is owned by
 * the arena passed in.
 */
#ifndef RPCGEN_CTYPE_MAP_H
#define RPCGEN_CTYPE_MAP_H

#include "ast.h"
#include "tmpl.h"

/* The C side of one element type (a scalar, string, bytes, enum or struct;
 * never a list or map). */
typedef struct ctype_info {
	const char *ctype;      /* "int64_t", "char *", "arith_Args *" */
	const char *value_type; /* by-value parameter type: "int64_t",
	                           "const char *", ... (structs: unused) */
	const char *pbtype;     /* "PROTOBUF_C_TYPE_INT64" */
	const char *init;       /* "0", "(char *)protobuf_c_empty_string",
	                           "{0, NULL}", "ARITH_OP_ADD", "NULL" */
	const char *descriptor; /* "&arith_Op_descriptor" or "" */
	const char *proto;      /* proto3 spelling: "int64", "common.Point" */
	const char *camel;      /* for wrapper names: "Int64", "CommonPoint" */
	bool is_struct;
	bool is_enum;
	bool is_string;
	bool is_bytes;
	bool packable; /* numeric, bool or enum: packed when repeated */
} ctype_info;

/* ctype_decl_cname returns "<package>_<Name>" or "<Name>". */
const char *ctype_decl_cname(tmpl_arena *a, const ast_decl *d);

/* ctype_upper returns s in upper case. */
const char *ctype_upper(tmpl_arena *a, const char *s);

/* ctype_camel returns s with its first letter in upper case and each
 * "_x" turned into "X" (protobuf's rule for map entry names). */
const char *ctype_camel(tmpl_arena *a, const char *s);

/* ctype_elem describes element type t as seen from file (the file whose
 * code is generated: names of its own package are not qualified in
 * proto3 and wrapper names). t must not be a list or map. */
void ctype_elem(tmpl_arena *a, const ast_file *file, const ast_type *t,
                ctype_info *out);

/* ctype_spell returns the IDL spelling of t: "int64", "list<Args>",
 * "map<string, common.Point>". */
const char *ctype_spell(tmpl_arena *a, const ast_type *t);

/* ctype_lit_c spells literal v, checked against type t (bool, an integer,
 * string or an enum), as a C constant expression of t's range:
 * "100", "(-5)", "INT64_C(7)", "(-2147483647 - 1)", "true", "\"text\"",
 * "ARITH_OP_MUL". Usable in #if for integers and bools. */
const char *ctype_lit_c(tmpl_arena *a, const ast_type *t, const ast_lit *v);

/* ctype_lit_go spells v in Go: "-5", "true", "\"text\"", and for an
 * enum the bare value name. */
const char *ctype_lit_go(tmpl_arena *a, const ast_type *t, const ast_lit *v);

/* ctype_lit_idl spells v as it could be written in the .rpc file (for
 * comments in the .proto): "-5", "MUL", "\"text\"". */
const char *ctype_lit_idl(tmpl_arena *a, const ast_lit *v);

#endif
