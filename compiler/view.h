/* view.h - the data model the templates render: every name already
 * mangled, every list already sorted (see docs/generated-code.md for the
 * names a template may use).
 */
#ifndef RPCGEN_VIEW_H
#define RPCGEN_VIEW_H

#include "ast.h"
#include "tmpl.h"

/* view_build builds the view of prog's main file. base is the output base
 * name ("arith" for arith.rpc.h) and version the compiler's version; both
 * are borrowed for the duration of the call. Returns the view (owned by a),
 * or NULL after appending "file:line:col: error: ..." lines to err. */
tmpl_val *view_build(tmpl_arena *a, const idl_program *prog, const char *base,
                     const char *version, tmpl_buf *err);

/* view_diag appends "file:line:col: error: msg", the source line and a
 * caret to err (the file is loc's, else fallback). Strings are borrowed. */
void view_diag(tmpl_arena *a, tmpl_buf *err, const char *fallback,
               const ast_loc *loc, const char *msg);

/* view_line_doc formats doc text as "// " comment lines, each line after
 * the first preceded by indent; "" when there is no doc. Owned by a. */
const char *view_line_doc(tmpl_arena *a, const char *doc, const char *indent);

/* view_go_add adds the keys of the Go output (go.tmpl) to view, built by
 * view_build for the same prog: go_package (go_package when not NULL, else
 * the IDL package, else base sanitised), go_doc, go_has_services,
 * go_files[] and go_services[] (see docs/generated-code.md). Returns 0, or
 * -1 after appending "file:line:col: error: ..." lines to err (names with
 * no exported Go spelling, Go names that collide). */
int view_go_add(tmpl_arena *a, const idl_program *prog, const char *base,
                const char *go_package, tmpl_val *view, tmpl_buf *err);

#endif
