/* tmpl.h - the template engine and its data model (the "view").
 *
 * A view is a tree of values: strings, booleans, lists of objects and
 * objects (ordered name -> value maps). Every value and string of a view
 * lives in one arena and is freed with it. Templates are parsed once and
 * rendered against a view into a growable string. The template language is
 * described at the top of tmpl.c and in docs/generated-code.md.
 */
#ifndef RPCGEN_TMPL_H
#define RPCGEN_TMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- arena --------------------------------------------------------------- */

typedef struct tmpl_arena tmpl_arena;

/* tmpl_arena_new returns an empty arena (caller frees with
 * tmpl_arena_free). Allocation failure anywhere in the arena ends the
 * process with "rpcgen-c: out of memory" (this is a command-line tool). */
tmpl_arena *tmpl_arena_new(void);
void tmpl_arena_free(tmpl_arena *a);             /* accepts NULL */
void *tmpl_alloc(tmpl_arena *a, size_t size);    /* zeroed, owned by a */
char *tmpl_strdup(tmpl_arena *a, const char *s); /* owned by a */
char *tmpl_printf(tmpl_arena *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- values -------------------------------------------------------------- */

typedef enum tmpl_kind {
	TMPL_STR,
	TMPL_BOOL,
	TMPL_LIST, /* of objects */
	TMPL_OBJ,
} tmpl_kind;

typedef struct tmpl_val tmpl_val;

/* Constructors; the result is owned by the arena. */
tmpl_val *tmpl_obj(tmpl_arena *a);
tmpl_val *tmpl_list(tmpl_arena *a);

/* tmpl_set* add (or replace) obj's member key. key is borrowed for the
 * lifetime of the arena (in practice a string literal); strings are
 * copied. */
void tmpl_set(tmpl_arena *a, tmpl_val *obj, const char *key, tmpl_val *v);
void tmpl_set_str(tmpl_arena *a, tmpl_val *obj, const char *key, const char *s);
void tmpl_set_strf(tmpl_arena *a, tmpl_val *obj, const char *key,
                   const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
void tmpl_set_bool(tmpl_arena *a, tmpl_val *obj, const char *key, bool b);
/* tmpl_set_list creates an empty list member and returns it. */
tmpl_val *tmpl_set_list(tmpl_arena *a, tmpl_val *obj, const char *key);
/* tmpl_push appends a new empty object to list and returns it. */
tmpl_val *tmpl_push(tmpl_arena *a, tmpl_val *list);
size_t tmpl_list_len(const tmpl_val *list);

/* ---- output buffer ------------------------------------------------------- */

typedef struct tmpl_buf {
	char *data; /* NUL-terminated; malloc'd */
	size_t len;
	size_t cap;
} tmpl_buf;

void tmpl_buf_add(tmpl_buf *b, const char *s, size_t n);
void tmpl_buf_fini(tmpl_buf *b); /* frees data; accepts a zeroed buffer */

/* ---- templates ----------------------------------------------------------- */

typedef struct tmpl tmpl;

/* tmpl_parse parses text (len bytes; borrowed for the lifetime of the
 * template) named name (used in messages; borrowed likewise). On success
 * returns 0 and sets *out (caller frees with tmpl_free). On a syntax error
 * returns -1 and appends "name:line:col: error: ..." to err. */
int tmpl_parse(const char *name, const char *text, size_t len, tmpl **out,
               tmpl_buf *err);
void tmpl_free(tmpl *t); /* accepts NULL */

/* tmpl_render renders t against view (an object) and appends the text to
 * out. On an unknown name or a type mismatch returns -1 and appends
 * "name:line:col: error: unknown name 'x'" (or similar) to err; out then
 * holds a partial result. */
int tmpl_render(const tmpl *t, const tmpl_val *view, tmpl_buf *out,
                tmpl_buf *err);

#endif
