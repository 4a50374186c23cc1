/* depfile.c - make-style dependency files.
 *
 * The rule names every output of one run and every .rpc file read (the
 * input and all imports), so make and ninja rebuild when any of them
 * changes.
 */
#include "depfile.h"

#include <string.h>

static void depfile_path(tmpl_buf *out, const char *p)
{
	for (; *p; p++) {
		if (*p == ' ' || *p == '#')
			tmpl_buf_add(out, "\\", 1);
		else if (*p == '$')
			tmpl_buf_add(out, "$", 1);
		tmpl_buf_add(out, p, 1);
	}
}

void depfile_write(tmpl_buf *out, const char *const *targets, size_t n_targets,
                   const char *const *deps, size_t n_deps)
{
	for (size_t i = 0; i < n_targets; i++) {
		if (i > 0)
			tmpl_buf_add(out, " ", 1);
		depfile_path(out, targets[i]);
	}
	tmpl_buf_add(out, ":", 1);
	for (size_t i = 0; i < n_deps; i++) {
		tmpl_buf_add(out, " \\\n  ", 5);
		depfile_path(out, deps[i]);
	}
	tmpl_buf_add(out, "\n", 1);
}
