/* emit.h - renders the generated files from the templates. */
#ifndef RPCGEN_EMIT_H
#define RPCGEN_EMIT_H

#include "tmpl.h"

/* emit_render renders the template named name ("header.tmpl") against
 * view and appends the text to out. The template comes from
 * template_dir/name when template_dir is not NULL and that file exists,
 * else from the templates built into rpcgen-c. Returns 0, or -1 after
 * appending "template:line:col: error: ..." (or an I/O error) to err. */
int emit_render(const char *template_dir, const char *name,
                const tmpl_val *view, tmpl_buf *out, tmpl_buf *err);

#endif
