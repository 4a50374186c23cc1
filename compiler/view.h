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

#endif
