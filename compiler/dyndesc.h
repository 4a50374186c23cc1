/* dyndesc.h - protobuf-c descriptors built at run time from a loaded .rpc
 * file, for rpc-call.
 *
 * dyn_schema_new lays out every struct, enum, map entry and argument or
 * reply wrapper of a program exactly as rpcgen-c would generate them (same
 * names, field order, offsets, n_x/x lists, has_x flags, rpc_type forms), so
 * that librpc's codecs handle messages of these descriptors as they handle
 * generated ones. Each descriptor has a message_init that does what a
 * generated X_init does (strings "", everything else zero) except that an
 * enum starts at 0, not at its first declared value (Go's zero value; the
 * codecs send either the same way).
 */
#ifndef RPCGEN_DYNDESC_H
#define RPCGEN_DYNDESC_H

#include "ast.h"
#include "rpc.h"

typedef struct dyn_schema dyn_schema;

/* One method of a service of the program. */
typedef struct dyn_method {
	const ast_decl *service; /* borrowed from the program */
	const ast_method *ast;
	rpc_method method; /* args and reply point into the schema */
	char *wire_name;   /* "Arith.Multiply" */
} dyn_method;

/* dyn_schema_new builds the descriptors of prog, which is borrowed until
 * dyn_schema_free. On success returns NULL and sets *out (caller frees
 * with dyn_schema_free); on failure returns a malloc'd message (caller
 * frees) and *out is NULL. */
char *dyn_schema_new(const idl_program *prog, dyn_schema **out);

void dyn_schema_free(dyn_schema *s); /* accepts NULL */

/* dyn_methods lists every method of every service of the program's main
 * file, services and methods in source order; valid until
 * dyn_schema_free. */
const dyn_method *dyn_methods(const dyn_schema *s, size_t *n);

/* dyn_method_find finds "Service.Method"; NULL if there is none. */
const dyn_method *dyn_method_find(const dyn_schema *s, const char *name);

/* dyn_decl_find finds a struct or enum by name ("Args" or "pkg.Args") in
 * any file of the program; NULL if there is none. */
const ast_decl *dyn_decl_find(const dyn_schema *s, const char *name);

/* dyn_struct_type returns the rpc_type (RPC_FORM_MESSAGE) of the struct
 * named name, as dyn_decl_find finds it; NULL if there is none. Valid until
 * dyn_schema_free. */
const rpc_type *dyn_struct_type(const dyn_schema *s, const char *name);

/* dyn_type_spell returns the IDL spelling of t ("list<Args>"); valid until
 * dyn_schema_free. */
const char *dyn_type_spell(dyn_schema *s, const ast_type *t);

#endif
