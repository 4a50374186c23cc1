/* tmpl.c - a small mustache-like template engine.
 *
 * The language:
 *
 *   {{name}}             the string value of name
 *   {{#name}}...{{/name}} a section: for a list, the body once per item with
 *                        the item's members in scope; for an object, once
 *                        with its members in scope; for a boolean, once if
 *                        true; for a string, once if not empty
 *   {{^name}}...{{/name}} the inverse: once if name is an empty list, false
 *                        or an empty string
 *   {{! text}}           a comment
 *   {{@first}} {{@last}} inside a list section: booleans for the first and
 *   {{@index}}           last item; @index is the 0-based position
 *
 * Names are looked up from the innermost section outwards. An unknown name,
 * a section over a name that is not a list, object, boolean or string, or
 * {{name}} on anything but a string is an error reported as
 * "template:line:col: error: ...". Nothing is escaped.
 *
 * Whitespace: a section, inverse, closing or comment tag that stands alone
 * on its line (only blanks around it) is removed together with that line,
 * so templates can put control tags on lines of their own.
 *
 * Invariant: a parsed template only points into its source text, which the
 * caller keeps alive; rendering never modifies a template or a view.
 */
#include "tmpl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena --------------------------------------------------------------- */

typedef struct arena_blk {
	struct arena_blk *next;
	size_t used, size;
	max_align_t data[];
} arena_blk;

struct tmpl_arena {
	arena_blk *blocks; /* the first has room left; others are full */
};

enum { ARENA_BLOCK = 64 * 1024 };

static void *arena_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL) {
		fputs("rpcgen-c: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

tmpl_arena *tmpl_arena_new(void)
{
	tmpl_arena *a = arena_xmalloc(sizeof *a);
	a->blocks = NULL;
	return a;
}

void tmpl_arena_free(tmpl_arena *a)
{
	if (a == NULL)
		return;
	while (a->blocks) {
		arena_blk *next = a->blocks->next;
		free(a->blocks);
		a->blocks = next;
	}
	free(a);
}

void *tmpl_alloc(tmpl_arena *a, size_t size)
{
	const size_t align = sizeof(max_align_t);
	size = (size + align - 1) / align * align;
	arena_blk *b = a->blocks;
	if (b == NULL || b->size - b->used < size) {
		size_t cap = size > ARENA_BLOCK / 4 ? size : ARENA_BLOCK;
		arena_blk *nb = arena_xmalloc(sizeof *nb + cap);
		nb->used = 0;
		nb->size = cap;
		if (b != NULL && cap != ARENA_BLOCK) {
			/* a big one-off goes behind the current block */
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->blocks = nb;
		}
		b = nb;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

char *tmpl_strdup(tmpl_arena *a, const char *s)
{
	size_t n = strlen(s);
	char *p = tmpl_alloc(a, n + 1);
	memcpy(p, s, n + 1);
	return p;
}

static char *arena_vprintf(tmpl_arena *a, const char *fmt, va_list ap)
{
	va_list ap2;
	if (fmt == NULL) /* never; keeps gcc -fsanitize quiet */
		return tmpl_strdup(a, "");
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		n = 0;
	char *p = tmpl_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *tmpl_printf(tmpl_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

/* ---- values -------------------------------------------------------------- */

struct tmpl_val {
	tmpl_kind kind;
	const char *str;
	bool b;
	size_t n, cap;     /* list items or object members */
	tmpl_val **items;  /* TMPL_LIST */
	const char **keys; /* TMPL_OBJ */
	tmpl_val **vals;   /* TMPL_OBJ */
};

static tmpl_val *val_new(tmpl_arena *a, tmpl_kind kind)
{
	tmpl_val *v = tmpl_alloc(a, sizeof *v);
	v->kind = kind;
	return v;
}

tmpl_val *tmpl_obj(tmpl_arena *a)
{
	return val_new(a, TMPL_OBJ);
}

tmpl_val *tmpl_list(tmpl_arena *a)
{
	return val_new(a, TMPL_LIST);
}

/* val_grow makes room for one more item or member. */
static void val_grow(tmpl_arena *a, tmpl_val *v)
{
	if (v->n < v->cap)
		return;
	size_t cap = v->cap ? v->cap * 2 : 16;
	if (v->kind == TMPL_LIST) {
		tmpl_val **items = tmpl_alloc(a, cap * sizeof *items);
		if (v->n)
			memcpy(items, v->items, v->n * sizeof *items);
		v->items = items;
	} else {
		const char **keys = tmpl_alloc(a, cap * sizeof *keys);
		tmpl_val **vals = tmpl_alloc(a, cap * sizeof *vals);
		if (v->n) {
			memcpy(keys, v->keys, v->n * sizeof *keys);
			memcpy(vals, v->vals, v->n * sizeof *vals);
		}
		v->keys = keys;
		v->vals = vals;
	}
	v->cap = cap;
}

void tmpl_set(tmpl_arena *a, tmpl_val *obj, const char *key, tmpl_val *v)
{
	for (size_t i = 0; i < obj->n; i++) {
		if (strcmp(obj->keys[i], key) == 0) {
			obj->vals[i] = v;
			return;
		}
	}
	val_grow(a, obj);
	obj->keys[obj->n] = key;
	obj->vals[obj->n] = v;
	obj->n++;
}

void tmpl_set_str(tmpl_arena *a, tmpl_val *obj, const char *key, const char *s)
{
	tmpl_val *v = val_new(a, TMPL_STR);
	v->str = tmpl_strdup(a, s ? s : "");
	tmpl_set(a, obj, key, v);
}

void tmpl_set_strf(tmpl_arena *a, tmpl_val *obj, const char *key,
                   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tmpl_val *v = val_new(a, TMPL_STR);
	v->str = arena_vprintf(a, fmt, ap);
	va_end(ap);
	tmpl_set(a, obj, key, v);
}

void tmpl_set_bool(tmpl_arena *a, tmpl_val *obj, const char *key, bool b)
{
	tmpl_val *v = val_new(a, TMPL_BOOL);
	v->b = b;
	tmpl_set(a, obj, key, v);
}

tmpl_val *tmpl_set_list(tmpl_arena *a, tmpl_val *obj, const char *key)
{
	tmpl_val *v = tmpl_list(a);
	tmpl_set(a, obj, key, v);
	return v;
}

tmpl_val *tmpl_push(tmpl_arena *a, tmpl_val *list)
{
	val_grow(a, list);
	tmpl_val *o = tmpl_obj(a);
	list->items[list->n++] = o;
	return o;
}

size_t tmpl_list_len(const tmpl_val *list)
{
	return list->n;
}

/* ---- buffer -------------------------------------------------------------- */

void tmpl_buf_add(tmpl_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (d == NULL) {
			fputs("rpcgen-c: out of memory\n", stderr);
			exit(1);
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void buf_printf(tmpl_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void buf_printf(tmpl_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof tmp)
		n = sizeof tmp - 1;
	tmpl_buf_add(b, tmp, (size_t)n);
}

void tmpl_buf_fini(tmpl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ---- parsing ------------------------------------------------------------- */

typedef enum node_kind { N_TEXT, N_VAR, N_SECTION, N_INVERTED } node_kind;

typedef struct node {
	node_kind kind;
	const char *text; /* N_TEXT: into the source; else the name */
	size_t len;
	int line, col;
	struct node *children; /* sections */
	size_t n_children;
} node;

struct tmpl {
	const char *name;
	node root;
};

typedef struct parser {
	const char *name;
	const char *src;
	size_t len;
	size_t pos;
	tmpl_buf *err;
} parser;

static void loc_of(const parser *p, size_t at, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < at && i < p->len; i++) {
		if (p->src[i] == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static void node_add(node *parent, node child)
{
	if ((parent->n_children & (parent->n_children - 1)) == 0) {
		size_t cap = parent->n_children ? parent->n_children * 2 : 1;
		node *c = realloc(parent->children, cap * sizeof *c);
		if (c == NULL) {
			fputs("rpcgen-c: out of memory\n", stderr);
			exit(1);
		}
		parent->children = c;
	}
	parent->children[parent->n_children++] = child;
}

static void node_fini(node *n)
{
	for (size_t i = 0; i < n->n_children; i++)
		node_fini(&n->children[i]);
	free(n->children);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '@' || c == '-' ||
	       c == '.';
}

/* parse_body reads nodes into parent until "{{/close}}" (close != NULL) or
 * the end of the source. Returns 0 or -1 after reporting an error. */
static int parse_body(parser *p, node *parent, const char *close,
                      size_t close_len, size_t open_at)
{
	size_t text_start = p->pos;
	for (;;) {
		const char *open = NULL;
		if (p->pos < p->len)
			open = strstr(p->src + p->pos, "{{");
		if (open == NULL || (size_t)(open - p->src) >= p->len) {
			if (close != NULL) {
				int line, col;
				loc_of(p, open_at, &line, &col);
				buf_printf(p->err,
				           "%s:%d:%d: error: section '%.*s' is "
				           "not closed\n",
				           p->name, line, col, (int)close_len,
				           close);
				return -1;
			}
			if (p->len > text_start) {
				node t = {.kind = N_TEXT,
				          .text = p->src + text_start,
				          .len = p->len - text_start};
				node_add(parent, t);
			}
			p->pos = p->len;
			return 0;
		}
		size_t tag_at = (size_t)(open - p->src);
		const char *end = strstr(open + 2, "}}");
		int line, col;
		loc_of(p, tag_at, &line, &col);
		if (end == NULL) {
			buf_printf(p->err,
			           "%s:%d:%d: error: '{{' without '}}'\n",
			           p->name, line, col);
			return -1;
		}
		size_t tag_end = (size_t)(end - p->src) + 2;
		char sigil = open[2];
		const char *nm = open + 2;
		if (sigil == '#' || sigil == '^' || sigil == '/' ||
		    sigil == '!')
			nm++;
		while (nm < end && is_blank(*nm))
			nm++;
		const char *nm_end = nm;
		while (nm_end < end && is_name_char(*nm_end))
			nm_end++;
		const char *rest = nm_end;
		while (rest < end && is_blank(*rest))
			rest++;
		if (sigil != '!' && (nm_end == nm || rest != end)) {
			buf_printf(p->err, "%s:%d:%d: error: bad tag '%.*s'\n",
			           p->name, line, col, (int)(tag_end - tag_at),
			           open);
			return -1;
		}

		/* The standalone rule: a control tag alone on its line takes
		 * the whole line with it. */
		size_t text_end = tag_at;
		size_t resume = tag_end;
		if (sigil == '#' || sigil == '^' || sigil == '/' ||
		    sigil == '!') {
			size_t ls = tag_at;
			while (ls > 0 && is_blank(p->src[ls - 1]))
				ls--;
			bool at_line_start = ls == 0 || p->src[ls - 1] == '\n';
			size_t le = tag_end;
			while (le < p->len && is_blank(p->src[le]))
				le++;
			bool at_line_end = le == p->len || p->src[le] == '\n';
			if (at_line_start && at_line_end && ls >= text_start) {
				text_end = ls;
				resume = le < p->len ? le + 1 : le;
			}
		}
		if (text_end > text_start) {
			node t = {.kind = N_TEXT,
			          .text = p->src + text_start,
			          .len = text_end - text_start};
			node_add(parent, t);
		}
		p->pos = resume;
		text_start = resume;

		size_t nlen = (size_t)(nm_end - nm);
		switch (sigil) {
		case '!':
			break;
		case '/':
			if (close == NULL || nlen != close_len ||
			    memcmp(nm, close, nlen) != 0) {
				buf_printf(
				    p->err,
				    "%s:%d:%d: error: unexpected '{{/%.*s}}'"
				    "\n",
				    p->name, line, col, (int)nlen, nm);
				return -1;
			}
			return 0;
		case '#':
		case '^': {
			node s = {.kind = sigil == '#' ? N_SECTION : N_INVERTED,
			          .text = nm,
			          .len = nlen,
			          .line = line,
			          .col = col};
			if (parse_body(p, &s, nm, nlen, tag_at) < 0) {
				node_fini(&s);
				return -1;
			}
			node_add(parent, s);
			text_start = p->pos;
			break;
		}
		default: {
			node v = {.kind = N_VAR,
			          .text = nm,
			          .len = nlen,
			          .line = line,
			          .col = col};
			node_add(parent, v);
			break;
		}
		}
	}
}

int tmpl_parse(const char *name, const char *text, size_t len, tmpl **out,
               tmpl_buf *err)
{
	*out = NULL;
	tmpl *t = calloc(1, sizeof *t);
	if (t == NULL) {
		fputs("rpcgen-c: out of memory\n", stderr);
		exit(1);
	}
	t->name = name;
	parser p = {.name = name, .src = text, .len = len, .err = err};
	if (parse_body(&p, &t->root, NULL, 0, 0) < 0) {
		tmpl_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

void tmpl_free(tmpl *t)
{
	if (t == NULL)
		return;
	node_fini(&t->root);
	free(t);
}

/* ---- rendering ----------------------------------------------------------- */

/* One scope: an object, plus the list position when it is a list item. */
typedef struct scope {
	const tmpl_val *obj;
	bool in_list;
	size_t index, count;
	const struct scope *up;
} scope;

typedef struct renderer {
	const char *name;
	tmpl_buf *out;
	tmpl_buf *err;
} renderer;

/* Built-in names answer from the innermost list scope. */
static const tmpl_val *lookup(const scope *s, const char *nm, size_t len,
                              tmpl_val *tmp)
{
	if (len > 0 && nm[0] == '@') {
		for (; s; s = s->up) {
			if (!s->in_list)
				continue;
			if (len == 6 && memcmp(nm, "@first", 6) == 0) {
				tmp->kind = TMPL_BOOL;
				tmp->b = s->index == 0;
				return tmp;
			}
			if (len == 5 && memcmp(nm, "@last", 5) == 0) {
				tmp->kind = TMPL_BOOL;
				tmp->b = s->index + 1 == s->count;
				return tmp;
			}
			return NULL; /* @index is handled by the caller */
		}
		return NULL;
	}
	for (; s; s = s->up) {
		if (s->obj == NULL)
			continue;
		for (size_t i = 0; i < s->obj->n; i++) {
			const char *k = s->obj->keys[i];
			if (strlen(k) == len && memcmp(k, nm, len) == 0)
				return s->obj->vals[i];
		}
	}
	return NULL;
}

static int render_nodes(renderer *r, const node *parent, const scope *s);

static int render_error(renderer *r, const node *n, const char *what)
{
	buf_printf(r->err, "%s:%d:%d: error: %s '%.*s'\n", r->name, n->line,
	           n->col, what, (int)n->len, n->text);
	return -1;
}

static int render_node(renderer *r, const node *n, const scope *s)
{
	if (n->kind == N_TEXT) {
		tmpl_buf_add(r->out, n->text, n->len);
		return 0;
	}
	if (n->kind == N_VAR && n->len == 6 &&
	    memcmp(n->text, "@index", 6) == 0) {
		for (const scope *q = s; q; q = q->up) {
			if (q->in_list) {
				buf_printf(r->out, "%zu", q->index);
				return 0;
			}
		}
		return render_error(r, n, "unknown name");
	}
	tmpl_val tmp = {0};
	const tmpl_val *v = lookup(s, n->text, n->len, &tmp);
	if (v == NULL)
		return render_error(r, n, "unknown name");
	if (n->kind == N_VAR) {
		if (v->kind != TMPL_STR)
			return render_error(r, n, "not a string:");
		tmpl_buf_add(r->out, v->str, strlen(v->str));
		return 0;
	}
	bool truthy;
	switch (v->kind) {
	case TMPL_STR:
		truthy = v->str[0] != '\0';
		break;
	case TMPL_BOOL:
		truthy = v->b;
		break;
	case TMPL_LIST:
		truthy = v->n > 0;
		break;
	default:
		truthy = true;
		break;
	}
	if (n->kind == N_INVERTED)
		return truthy ? 0 : render_nodes(r, n, s);
	if (!truthy)
		return 0;
	if (v->kind == TMPL_LIST) {
		for (size_t i = 0; i < v->n; i++) {
			scope inner = {.obj = v->items[i],
			               .in_list = true,
			               .index = i,
			               .count = v->n,
			               .up = s};
			if (render_nodes(r, n, &inner) < 0)
				return -1;
		}
		return 0;
	}
	if (v->kind == TMPL_OBJ) {
		scope inner = {.obj = v, .up = s};
		return render_nodes(r, n, &inner);
	}
	return render_nodes(r, n, s);
}

static int render_nodes(renderer *r, const node *parent, const scope *s)
{
	for (size_t i = 0; i < parent->n_children; i++)
		if (render_node(r, &parent->children[i], s) < 0)
			return -1;
	return 0;
}

int tmpl_render(const tmpl *t, const tmpl_val *view, tmpl_buf *out,
                tmpl_buf *err)
{
	renderer r = {.name = t->name, .out = out, .err = err};
	scope top = {.obj = view};
	/* an empty output is still a valid string */
	tmpl_buf_add(out, "", 0);
	return render_nodes(&r, &t->root, &top);
}
