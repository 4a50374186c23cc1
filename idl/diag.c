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
 * The block is handed to the user's callback in one call (default: written
 * to stderr) when the next error starts or at diag_flush. The caret line
 * keeps the tabs of the source line so the caret lines up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void diag_default(void *ctx, const char *text)
{
	(void)ctx;
	fputs(text, stderr);
}

/* diag_append adds len bytes of s to the pending block. */
static void diag_append(idl_loader *ld, const char *s, size_t len)
{
	char *p;

	if (ld->oom)
		return;
	p = realloc(ld->pending, ld->pending_len + len + 1);
	if (!p) {
		ld->oom = 1;
		return;
	}
	memcpy(p + ld->pending_len, s, len);
	ld->pending_len += len;
	p[ld->pending_len] = '\0';
	ld->pending = p;
}

/* diag_source finds the text of the file a location points into. */
static const idl_src *diag_source(idl_loader *ld, const char *file)
{
	size_t i;

	if (!file)
		return NULL;
	for (i = 0; i < ld->n_srcs; i++) {
		const idl_src *s = ld->srcs[i];

		if (s->file && s->file->path == file)
			return s;
	}
	for (i = 0; i < ld->n_srcs; i++) {
		const idl_src *s = ld->srcs[i];

		if (s->file && strcmp(s->file->path, file) == 0)
			return s;
	}
	return NULL;
}

/* diag_quote adds the source line of loc and a caret under its column. */
static void diag_quote(idl_loader *ld, const ast_loc *loc)
{
	const idl_src *s = diag_source(ld, loc->file);
	const char *line, *end, *stop;
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
	diag_append(ld, line, (size_t)(end - line));
	diag_append(ld, "\n", 1);
	for (n = 1; n < loc->col; n++) {
		char c = line + n - 1 < end && line[n - 1] == '\t' ? '\t' : ' ';

		diag_append(ld, &c, 1);
	}
	diag_append(ld, "^\n", 2);
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

void diag_flush(idl_loader *ld)
{
	idl_diag_fn *fn = diag_default;
	void *ctx = NULL;

	if (ld->opts && ld->opts->diag) {
		fn = ld->opts->diag;
		ctx = ld->opts->diag_ctx;
	}
	if (ld->pending && ld->pending_len > 0)
		fn(ctx, ld->pending);
	free(ld->pending);
	ld->pending = NULL;
	ld->pending_len = 0;
}

void diag_error(idl_loader *ld, const ast_loc *loc, const char *fmt, ...)
{
	va_list ap;

	diag_flush(ld);
	ld->errors++;
	va_start(ap, fmt);
	diag_add(ld, "error", loc, fmt, ap);
	va_end(ap);
}

void diag_note(idl_loader *ld, const ast_loc *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(ld, "note", loc, fmt, ap);
	va_end(ap);
}
