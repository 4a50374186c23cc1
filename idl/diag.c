/* diag.c - diagnostics text.
 *
 * An error and the notes that follow it form one block:
 *
 *     arith.rpc:7:5: error: duplicate field 'A' in struct 'Args'
 *         int64 A = 3;
 *         ^
 *     arith.rpc:6:5: note: previous definition was here
 *         int64 A = 1;
 *         ^
 *
 * A warning is the same with "warning:"; under idl_options.werror it is
 * counted and labelled as an error and its first line ends in
 * " [-Werror]", as gcc does.
 *
 * Each block is handed to the user's callback in one call (default: written
 * to stderr). Blocks wait until diag_flush, which sorts them by position so
 * the checker's rule-by-rule order does not show; the sort is stable, so
 * blocks at one position keep the order they were reported in. The caret
 * line keeps the tabs of the source line so the caret lines up.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct diag_block {
	char *text; /* owned */
	size_t len;
	size_t file; /* index of the file in load order; 0 without a file */
	int line, col;
	size_t seq; /* report order, for a stable sort */
};

static void diag_default(void *ctx, const char *text)
{
	(void)ctx;
	fputs(text, stderr);
}

/* diag_append adds len bytes of s to the last block. */
static void diag_append(idl_loader *ld, const char *s, size_t len)
{
	struct diag_block *b;
	char *p;

	if (ld->oom || ld->n_blocks == 0)
		return;
	b = &ld->blocks[ld->n_blocks - 1];
	p = realloc(b->text, b->len + len + 1);
	if (!p) {
		ld->oom = 1;
		return;
	}
	memcpy(p + b->len, s, len);
	b->len += len;
	p[b->len] = '\0';
	b->text = p;
}

/* diag_source finds the file a location points into; *index gets its
 * place in load order, counted from 1. */
static const idl_src *diag_source(idl_loader *ld, const char *file,
                                  size_t *index)
{
	size_t i;

	*index = 0;
	if (!file)
		return NULL;
	for (i = 0; i < ld->n_srcs; i++) {
		const idl_src *s = ld->srcs[i];

		if (s->file && (s->file->path == file ||
		                strcmp(s->file->path, file) == 0)) {
			*index = i + 1;
			return s;
		}
	}
	return NULL;
}

/* diag_quote adds the source line of loc and a caret under its column. */
static void diag_quote(idl_loader *ld, const ast_loc *loc)
{
	size_t index, len, i, pad;
	const idl_src *s = diag_source(ld, loc->file, &index);
	const char *line, *end, *stop;
	struct diag_block *b;
	char *caret;
	int n;

	if (!s || loc->line < 1)
		return;
	line = s->buf;
	stop = s->buf + s->len;
	for (n = 1; n < loc->line && line < stop; n++) {
		const char *nl = memchr(line, '\n', (size_t)(stop - line));

		if (!nl)
			return;
		line = nl + 1;
	}
	end = memchr(line, '\n', (size_t)(stop - line));
	if (!end)
		end = stop;
	if (end > line && end[-1] == '\r')
		end--;
	len = (size_t)(end - line);
	/* the caret line: the line's tabs kept, everything else a space */
	pad = loc->col > 1 ? (size_t)loc->col - 1 : 0;
	caret = malloc(pad + 3);
	if (!caret) {
		ld->oom = 1;
		return;
	}
	for (i = 0; i < pad; i++)
		caret[i] = i < len && line[i] == '\t' ? '\t' : ' ';
	memcpy(caret + pad, "^\n", 3);
	diag_append(ld, line, len);
	if (!ld->oom) {
		/* the text goes out as a C string: no NUL inside */
		b = &ld->blocks[ld->n_blocks - 1];
		for (i = b->len - len; i < b->len; i++)
			if (b->text[i] == '\0')
				b->text[i] = ' ';
	}
	diag_append(ld, "\n", 1);
	diag_append(ld, caret, pad + 2);
	free(caret);
}

static void diag_add(idl_loader *ld, const char *what, const ast_loc *loc,
                     const char *fmt, va_list ap)
{
	char *msg = NULL, *head = NULL;
	int n;

	if (vasprintf(&msg, fmt, ap) < 0) {
		ld->oom = 1;
		return;
	}
	if (loc && loc->file)
		n = asprintf(&head, "%s:%d:%d: %s: %s\n", loc->file, loc->line,
		             loc->col, what, msg);
	else
		n = asprintf(&head, "%s: %s\n", what, msg);
	free(msg);
	if (n < 0) {
		ld->oom = 1;
		return;
	}
	diag_append(ld, head, (size_t)n);
	free(head);
	if (loc && loc->file)
		diag_quote(ld, loc);
}

static int diag_cmp(const void *a, const void *b)
{
	const struct diag_block *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void diag_flush(idl_loader *ld)
{
	idl_diag_fn *fn = diag_default;
	void *ctx = NULL;
	size_t i;

	if (ld->opts && ld->opts->diag) {
		fn = ld->opts->diag;
		ctx = ld->opts->diag_ctx;
	}
	if (ld->n_blocks > 1)
		qsort(ld->blocks, ld->n_blocks, sizeof(*ld->blocks), diag_cmp);
	for (i = 0; i < ld->n_blocks; i++) {
		if (ld->blocks[i].text)
			fn(ctx, ld->blocks[i].text);
		free(ld->blocks[i].text);
	}
	free(ld->blocks);
	ld->blocks = NULL;
	ld->n_blocks = 0;
}

/* diag_open starts a new block at loc; returns 0, or -1 when out of
 * memory (ld->oom set). */
static int diag_open(idl_loader *ld, const ast_loc *loc)
{
	struct diag_block *b;

	if (ld->oom ||
	    ast_grow(&ld->blocks, ld->n_blocks, sizeof(*ld->blocks)) < 0) {
		ld->oom = 1;
		return -1;
	}
	b = &ld->blocks[ld->n_blocks++];
	memset(b, 0, sizeof(*b));
	b->seq = ld->n_blocks;
	if (loc) {
		diag_source(ld, loc->file, &b->file);
		b->line = loc->line;
		b->col = loc->col;
	}
	return 0;
}

void diag_error(idl_loader *ld, const ast_loc *loc, const char *fmt, ...)
{
	va_list ap;

	ld->errors++;
	if (diag_open(ld, loc) < 0)
		return;
	va_start(ap, fmt);
	diag_add(ld, "error", loc, fmt, ap);
	va_end(ap);
}

void diag_warning(idl_loader *ld, const ast_loc *loc, const char *fmt, ...)
{
	bool werror = ld->opts && ld->opts->werror;
	va_list ap;

	if (werror)
		ld->errors++;
	else
		ld->warnings++;
	if (diag_open(ld, loc) < 0)
		return;
	va_start(ap, fmt);
	diag_add(ld, werror ? "error" : "warning", loc, fmt, ap);
	va_end(ap);
	if (werror && !ld->oom) {
		/* gcc's mark: the error is a warning promoted by -Werror */
		struct diag_block *b = &ld->blocks[ld->n_blocks - 1];
		char *nl = b->text ? strchr(b->text, '\n') : NULL;
		static const char mark[] = " [-Werror]";
		size_t at;
		char *p;

		if (!nl)
			return;
		at = (size_t)(nl - b->text);
		p = realloc(b->text, b->len + sizeof(mark));
		if (!p) {
			ld->oom = 1;
			return;
		}
		nl = p + at;
		memmove(nl + sizeof(mark) - 1, nl,
		        b->len - (size_t)(nl - p) + 1);
		memcpy(nl, mark, sizeof(mark) - 1);
		b->text = p;
		b->len += sizeof(mark) - 1;
	}
}

void diag_note(idl_loader *ld, const ast_loc *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(ld, "note", loc, fmt, ap);
	va_end(ap);
}

void diag_free(idl_loader *ld)
{
	size_t i;

	for (i = 0; i < ld->n_blocks; i++)
		free(ld->blocks[i].text);
	free(ld->blocks);
	ld->blocks = NULL;
	ld->n_blocks = 0;
}
