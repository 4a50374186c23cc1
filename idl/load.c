/* load.c - idl_load: read a .rpc file and everything it imports.
 *
 * Files are read whole, parsed, then their imports followed depth first, in
 * source order. A file is identified by its realpath, so it is read once
 * however many files import it; a file found again while its own imports
 * are still being followed closes an import cycle, reported with the chain.
 * An import is searched in the importing file's folder, then in each -I
 * folder in order.
 *
 * The checker only runs when every file was read and parsed without error
 * (otherwise it would report the same problem again as unknown types).
 * On any error the whole program is freed and *out is NULL.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* load_read reads path whole into *buf (NUL-terminated). Returns 0 or an
 * errno value. */
static int load_read(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL, *nb;
	size_t n = 0, cap = 0, got;
	int err;

	if (!f)
		return errno;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? 2 * cap : 8192;
			nb = realloc(b, cap + 1);
			if (!nb) {
				err = ENOMEM;
				goto fail;
			}
			b = nb;
		}
		errno = 0;
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		err = errno ? errno : EIO; /* EISDIR for a folder */
		goto fail;
	}
	fclose(f);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
fail:
	free(b);
	fclose(f);
	return err;
}

/* load_is_file says whether path names a regular file. */
static bool load_is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* load_join makes "dir/path"; an empty or "." dir gives path itself, and an
 * absolute path ignores dir. */
static char *load_join(const char *dir, size_t dlen, const char *path)
{
	char *s = NULL;

	if (path[0] == '/' || dlen == 0 || (dlen == 1 && dir[0] == '.'))
		return strdup(path);
	if (asprintf(&s, "%.*s%s%s", (int)dlen, dir,
	             dir[dlen - 1] == '/' ? "" : "/", path) < 0)
		return NULL;
	return s;
}

static idl_src *load_find(idl_loader *ld, const char *real)
{
	size_t i;

	for (i = 0; i < ld->n_srcs; i++)
		if (strcmp(ld->srcs[i]->real, real) == 0)
			return ld->srcs[i];
	return NULL;
}

/* load_cycle reports the import at loc, which leads back to target while
 * target's imports are being followed. The chain is rebuilt from the
 * loading stack: files still in IDL_SRC_LOADING, in load order, starting at
 * target. */
static void load_cycle(idl_loader *ld, const ast_loc *loc, idl_src **stack,
                       size_t depth, idl_src *target)
{
	char *chain = NULL, *next;
	size_t i;
	bool on = false;

	for (i = 0; i < depth; i++) {
		if (stack[i] == target)
			on = true;
		if (!on)
			continue;
		if (asprintf(&next, "%s%s%s", chain ? chain : "",
		             chain ? " -> " : "", stack[i]->file->path) < 0) {
			ld->oom = 1;
			free(chain);
			return;
		}
		free(chain);
		chain = next;
	}
	if (asprintf(&next, "%s -> %s", chain ? chain : "",
	             target->file->path) < 0) {
		ld->oom = 1;
		free(chain);
		return;
	}
	free(chain);
	diag_error(ld, loc, "import cycle: %s", next);
	free(next);
}

static int load_file(idl_loader *ld, char *path, const ast_loc *from,
                     idl_src **stack, size_t depth, idl_src **out);

/* load_imports follows the imports of s (which is stack[depth - 1]). */
static void load_imports(idl_loader *ld, idl_src *s, idl_src **stack,
                         size_t depth)
{
	ast_file *f = s->file;
	const char *slash = strrchr(f->path, '/');
	size_t dlen = slash ? (size_t)(slash - f->path) : 0;
	size_t i, j;

	if (slash == f->path)
		dlen = 1; /* "/x.rpc": the root folder */
	for (i = 0; i < f->n_imports && !ld->oom; i++) {
		ast_import *im = &f->imports[i];
		char *cand = NULL;
		idl_src *dep = NULL;

		cand = load_join(f->path, dlen, im->path);
		if (!cand) {
			ld->oom = 1;
			break;
		}
		for (j = 0; !load_is_file(cand) && ld->opts &&
		            j < ld->opts->n_include_dirs;
		     j++) {
			const char *d = ld->opts->include_dirs[j];

			free(cand);
			cand = load_join(d, strlen(d), im->path);
			if (!cand) {
				ld->oom = 1;
				break;
			}
		}
		if (!cand)
			break;
		if (!load_is_file(cand)) {
			diag_error(ld, &im->loc, "import '%s' not found",
			           im->path);
			free(cand);
			continue;
		}
		if (load_file(ld, cand, &im->loc, stack, depth, &dep) == 0)
			im->file = dep->file;
	}
}

/* load_file reads, parses and follows the imports of path (takes ownership
 * of path). from is the import statement that named it (NULL for the main
 * file). Returns 0 with *out set, or -1 after reporting. */
static int load_file(idl_loader *ld, char *path, const ast_loc *from,
                     idl_src **stack, size_t depth, idl_src **out)
{
	idl_program *prog = ld->prog;
	idl_parse p;
	idl_src *s = NULL;
	char *real;
	int err;

	real = realpath(path, NULL);
	if (!real) {
		err = errno;
		diag_error(ld, from, "cannot open '%s': %s", path,
		           strerror(err));
		free(path);
		return -1;
	}
	s = load_find(ld, real);
	if (s) {
		free(real);
		free(path);
		if (s->state == IDL_SRC_LOADING) {
			load_cycle(ld, from, stack, depth, s);
			return -1;
		}
		*out = s;
		return 0;
	}
	if (ast_grow(&ld->srcs, ld->n_srcs, sizeof(*ld->srcs)) < 0 ||
	    ast_grow(&prog->files, prog->n_files, sizeof(*prog->files)) < 0 ||
	    ast_grow(&prog->deps, prog->n_deps, sizeof(*prog->deps)) < 0 ||
	    !(s = calloc(1, sizeof(*s)))) {
		ld->oom = 1;
		free(real);
		free(path);
		return -1;
	}
	s->real = real;
	ld->srcs[ld->n_srcs++] = s;
	if (!(s->file = calloc(1, sizeof(*s->file)))) {
		ld->oom = 1;
		free(path);
		return -1;
	}
	s->file->path = path;
	prog->files[prog->n_files++] = s->file;
	if (!(prog->deps[prog->n_deps] = strdup(path))) {
		ld->oom = 1;
		return -1;
	}
	prog->n_deps++;
	err = load_read(path, &s->buf, &s->len);
	if (err) {
		if (err == ENOMEM)
			ld->oom = 1;
		else
			diag_error(ld, from, "cannot read '%s': %s", path,
			           strerror(err));
		return -1;
	}
	memset(&p, 0, sizeof(p));
	p.ld = ld;
	p.file = s->file;
	p.src = s->buf;
	p.len = s->len;
	idl_parse_file(&p);
	if (p.nomem)
		ld->oom = 1;
	if (depth >= 256) {
		diag_error(ld, from, "imports nested too deeply");
		return -1;
	}
	s->state = IDL_SRC_LOADING;
	stack[depth] = s;
	load_imports(ld, s, stack, depth + 1);
	s->state = IDL_SRC_DONE;
	*out = s;
	return 0;
}

int idl_load(const char *path, const idl_options *opts, idl_program **out)
{
	idl_program *prog;
	idl_loader *ld;
	idl_src *stack[257];
	idl_src *main_src = NULL;
	char *p;
	int errors;

	*out = NULL;
	prog = calloc(1, sizeof(*prog));
	ld = calloc(1, sizeof(*ld));
	p = strdup(path);
	if (!prog || !ld || !p) {
		free(prog);
		free(ld);
		free(p);
		if (opts && opts->diag)
			opts->diag(opts->diag_ctx, "error: out of memory\n");
		else
			fputs("error: out of memory\n", stderr);
		return 1;
	}
	prog->priv = ld;
	ld->opts = opts;
	ld->prog = prog;
	if (load_file(ld, p, NULL, stack, 0, &main_src) == 0)
		prog->main = main_src->file;
	if (ld->errors == 0 && !ld->oom && prog->main)
		check_program(ld);
	diag_flush(ld);
	if (ld->oom) {
		/* nothing can be formatted any more: a fixed text */
		ld->errors++;
		if (opts && opts->diag)
			opts->diag(opts->diag_ctx, "error: out of memory\n");
		else
			fputs("error: out of memory\n", stderr);
	}
	errors = ld->errors;
	if (errors == 0 && !prog->main)
		errors = 1;
	if (errors > 0) {
		idl_program_free(prog);
		return errors;
	}
	*out = prog;
	return 0;
}

void idl_program_free(idl_program *prog)
{
	idl_loader *ld;
	size_t i;

	if (!prog)
		return;
	ld = prog->priv;
	if (ld) {
		for (i = 0; i < ld->n_srcs; i++) {
			free(ld->srcs[i]->real);
			free(ld->srcs[i]->buf);
			free(ld->srcs[i]);
		}
		free(ld->srcs);
		diag_free(ld);
		free(ld);
	}
	for (i = 0; i < prog->n_files; i++)
		ast_file_free(prog->files[i]);
	free(prog->files);
	for (i = 0; i < prog->n_deps; i++)
		free(prog->deps[i]);
	free(prog->deps);
	free(prog);
}
