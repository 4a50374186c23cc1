/* driver.h - one run of rpcgen-c: load, check, build the view, render,
 * write every output or none. */
#ifndef RPCGEN_DRIVER_H
#define RPCGEN_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct driver_opts {
	const char *input;               /* the .rpc file */
	const char *out_dir;             /* where outputs go ("." by default);
	                                    created when missing */
	const char *const *include_dirs; /* -I, in order */
	size_t n_include_dirs;
	bool emit_proto;          /* also write <base>.proto */
	bool emit_go;             /* also write <base>.rpc.go; Go's rules
	                             become errors */
	bool go_only;             /* --emit-go-only: no .rpc.h, .rpc.c
	                             (emit_go is set too) */
	bool werror;              /* -Werror: warnings are errors */
	const char *go_package;   /* --go-package NAME, or NULL */
	const char *depfile;      /* -M FILE, or NULL */
	const char *template_dir; /* --template-dir, or NULL */
} driver_opts;

/* driver_run compiles o->input. Diagnostics go to stderr. Returns the exit
 * status: 0 when every output was written, 1 when the input (or a
 * template) is bad or an output cannot be written, in which case no output
 * file is created or changed. */
int driver_run(const driver_opts *o);

#endif
