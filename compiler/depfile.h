/* depfile.h - make-style dependency files (-M). */
#ifndef RPCGEN_DEPFILE_H
#define RPCGEN_DEPFILE_H

#include "tmpl.h"

/* depfile_write appends "t1 t2: d1 d2 ...\n" to out, one dependency per
 * continued line, with make's escapes for spaces, '#' and '$'. All
 * arguments are borrowed for the duration of the call. */
void depfile_write(tmpl_buf *out, const char *const *targets, size_t n_targets,
                   const char *const *deps, size_t n_deps);

#endif
