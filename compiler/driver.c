/* driver.c - one run of rpcgen-c.
 *
 * The order is load and check (idl/), build the view, render every output
 * into memory, then write: each output goes to a temporary file beside its
 * final name and all are renamed only when every one of them was written.
 * On any error the temporaries are removed, so a failed run leaves the
 * output folder as it found it. A missing output folder is created (with
 * its parents) once everything has rendered, just before the writes.
 */
#include "driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ast.h"
#include "depfile.h"
#include "emit.h"
#include "view.h"

#ifndef RPCGEN_VERSION
#define RPCGEN_VERSION "0.0.0"
#endif

#define DRIVER_MAX_OUTPUTS 5

typedef struct driver_out {
	const char *path; /* final name */
	char *tmp;        /* temporary name while unrenamed, else NULL */
	tmpl_buf text;
} driver_out;

static const char *driver_join(tmpl_arena *a, const char *dir, const char *name)
{
	if (dir == NULL || strcmp(dir, ".") == 0)
		return tmpl_strdup(a, name);
	size_t n = strlen(dir);
	if (n > 0 && dir[n - 1] == '/')
		return tmpl_printf(a, "%s%s", dir, name);
	return tmpl_printf(a, "%s/%s", dir, name);
}

/* driver_base returns the file name of path without ".rpc". */
static const char *driver_base(tmpl_arena *a, const char *path)
{
	const char *s = strrchr(path, '/');
	char *b = tmpl_strdup(a, s ? s + 1 : path);
	size_t n = strlen(b);
	if (n > 4 && strcmp(b + n - 4, ".rpc") == 0)
		b[n - 4] = '\0';
	return b;
}

/* driver_write_tmp writes out->text to a new temporary file next to
 * out->path. Returns 0 or -1 (reported). */
static int driver_write_tmp(driver_out *out)
{
	size_t n = strlen(out->path) + 16;
	char *tmp = malloc(n);
	if (tmp == NULL)
		return -1;
	const char *slash = strrchr(out->path, '/');
	int dirlen = slash ? (int)(slash - out->path + 1) : 0;
	snprintf(tmp, n, "%.*s.%s.XXXXXX", dirlen, out->path,
	         slash ? slash + 1 : out->path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "rpcgen-c: error: %s: %s\n", out->path,
		        strerror(errno));
		free(tmp);
		return -1;
	}
	out->tmp = tmp;
	const char *p = out->text.data ? out->text.data : "";
	size_t left = out->text.len;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "rpcgen-c: error: %s: %s\n", out->path,
			        strerror(errno));
			close(fd);
			return -1;
		}
		p += w;
		left -= (size_t)w;
	}
	/* mkstemp makes 0600; outputs get the usual 0666 & ~umask */
	mode_t um = umask(0);
	umask(um);
	if (fchmod(fd, 0666 & ~um) != 0 || close(fd) != 0) {
		fprintf(stderr, "rpcgen-c: error: %s: %s\n", out->path,
		        strerror(errno));
		return -1;
	}
	return 0;
}

/* driver_mkdirs creates dir and its missing parents (mkdir -p). Returns
 * 0 or -1 (reported). */
static int driver_mkdirs(const char *dir)
{
	struct stat st;
	size_t n = strlen(dir);
	char *p = malloc(n + 1);
	if (p == NULL) {
		fputs("rpcgen-c: out of memory\n", stderr);
		return -1;
	}
	memcpy(p, dir, n + 1);
	for (char *q = p + 1; q <= p + n; q++) {
		if (*q != '/' && *q != '\0')
			continue;
		char c = *q;
		*q = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr,
			        "rpcgen-c: error: cannot create '%s': %s\n", p,
			        strerror(errno));
			free(p);
			return -1;
		}
		*q = c;
	}
	free(p);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "rpcgen-c: error: cannot create '%s': %s\n",
		        dir, strerror(errno ? errno : ENOTDIR));
		return -1;
	}
	return 0;
}

static int driver_commit(driver_out *outs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (driver_write_tmp(&outs[i]) < 0)
			return -1;
	for (size_t i = 0; i < n; i++) {
		if (rename(outs[i].tmp, outs[i].path) != 0) {
			fprintf(stderr, "rpcgen-c: error: %s: %s\n",
			        outs[i].path, strerror(errno));
			return -1;
		}
		free(outs[i].tmp);
		outs[i].tmp = NULL;
	}
	return 0;
}

int driver_run(const driver_opts *o)
{
	idl_program *prog = NULL;
	tmpl_arena *a = tmpl_arena_new();
	tmpl_buf err = {0};
	driver_out outs[DRIVER_MAX_OUTPUTS];
	size_t n_outs = 0;
	int rc = 1;

	memset(outs, 0, sizeof outs);
	idl_options io = {
	    .include_dirs = o->include_dirs,
	    .n_include_dirs = o->n_include_dirs,
	    .go_errors = o->emit_go,
	    .werror = o->werror,
	};
	if (idl_load(o->input, &io, &prog) != 0)
		goto out;

	const char *base = driver_base(a, o->input);
	tmpl_val *view = view_build(a, prog, base, RPCGEN_VERSION, &err);
	if (view == NULL)
		goto out;

	if (o->emit_go &&
	    view_go_add(a, prog, base, o->go_package, view, &err) < 0)
		goto out;

	static const char *const names[][2] = {
	    {"header.tmpl", ".rpc.h"},
	    {"source.tmpl", ".rpc.c"},
	    {"proto.tmpl", ".proto"},
	    {"go.tmpl", ".rpc.go"},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if ((i < 2 && o->go_only) || (i == 2 && !o->emit_proto) ||
		    (i == 3 && !o->emit_go))
			continue;
		driver_out *d = &outs[n_outs++];
		d->path = driver_join(
		    a, o->out_dir, tmpl_printf(a, "%s%s", base, names[i][1]));
		if (emit_render(o->template_dir, names[i][0], view, &d->text,
		                &err) < 0)
			goto out;
	}
	if (o->depfile != NULL) {
		const char *targets[DRIVER_MAX_OUTPUTS];
		for (size_t i = 0; i < n_outs; i++)
			targets[i] = outs[i].path;
		driver_out *d = &outs[n_outs++];
		d->path = o->depfile;
		depfile_write(&d->text, targets, n_outs - 1,
		              (const char *const *)prog->deps, prog->n_deps);
	}
	/* the one thing written before the outputs: their folder */
	if (o->out_dir != NULL && driver_mkdirs(o->out_dir) < 0)
		goto out;
	if (driver_commit(outs, n_outs) < 0)
		goto out;
	rc = 0;
out:
	if (err.len > 0)
		fputs(err.data, stderr);
	for (size_t i = 0; i < n_outs; i++) {
		if (outs[i].tmp != NULL) {
			unlink(outs[i].tmp);
			free(outs[i].tmp);
		}
		tmpl_buf_fini(&outs[i].text);
	}
	tmpl_buf_fini(&err);
	tmpl_arena_free(a);
	idl_program_free(prog);
	return rc;
}
