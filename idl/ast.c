/* ast.c - constructors and destructors of syntax tree nodes.
 *
 * Every node is malloc'd on its own and freed by its parent; the destructors
 * accept NULL and partially built nodes (what the parser leaves behind after
 * a syntax error), so a file can always be freed as it is.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int ast_grow(void *arr, size_t n, size_t elem)
{
	void **p = arr;
	size_t cap;
	void *q;

	if (n != 0 && (n & (n - 1)) != 0)
		return 0; /* capacity is the next power of two: room left */
	cap = n ? 2 * n : 1;
	if (cap > SIZE_MAX / elem)
		return -1;
	q = realloc(*p, cap * elem);
	if (!q)
		return -1;
	*p = q;
	return 0;
}

ast_type *ast_type_new(ast_type_kind kind, ast_loc loc)
{
	ast_type *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->kind = kind;
	t->loc = loc;
	return t;
}

void ast_type_free(ast_type *t)
{
	if (!t)
		return;
	ast_type_free(t->key);
	ast_type_free(t->elem);
	if (t->len)
		free(t->len->text);
	free(t->len);
	free(t->name);
	free(t);
}

void ast_decl_free(ast_decl *d)
{
	size_t i, j;

	if (!d)
		return;
	for (i = 0; i < d->n_fields; i++) {
		free(d->fields[i].name);
		free(d->fields[i].doc);
		ast_type_free(d->fields[i].type);
		for (j = 0; j < d->fields[i].n_opts; j++) {
			free(d->fields[i].opts[j].name);
			free(d->fields[i].opts[j].value.text);
		}
		free(d->fields[i].opts);
	}
	free(d->fields);
	for (i = 0; i < d->n_oneofs; i++) {
		free(d->oneofs[i].name);
		free(d->oneofs[i].doc);
	}
	free(d->oneofs);
	for (i = 0; i < d->n_values; i++) {
		free(d->values[i].name);
		free(d->values[i].doc);
	}
	free(d->values);
	for (i = 0; i < d->n_methods; i++) {
		ast_method *m = &d->methods[i];

		for (j = 0; j < m->n_params; j++) {
			ast_type_free(m->params[j].type);
			free(m->params[j].name);
		}
		free(m->params);
		for (j = 0; j < m->n_attrs; j++)
			free(m->attrs[j].name);
		free(m->attrs);
		free(m->name);
		free(m->doc);
	}
	free(d->methods);
	ast_type_free(d->ctype);
	free(d->value.text);
	free(d->name);
	free(d->doc);
	free(d);
}

void ast_file_free(ast_file *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->n_imports; i++)
		free(f->imports[i].path);
	free(f->imports);
	for (i = 0; i < f->n_decls; i++)
		ast_decl_free(f->decls[i]);
	free(f->decls);
	free(f->package);
	free(f->doc);
	free(f->path);
	free(f);
}

const char *ast_type_kind_name(ast_type_kind k)
{
	switch (k) {
	case AST_T_BOOL:
		return "bool";
	case AST_T_INT32:
		return "int32";
	case AST_T_INT64:
		return "int64";
	case AST_T_UINT32:
		return "uint32";
	case AST_T_UINT64:
		return "uint64";
	case AST_T_FLOAT:
		return "float";
	case AST_T_DOUBLE:
		return "double";
	case AST_T_STRING:
		return "string";
	case AST_T_BYTES:
		return "bytes";
	case AST_T_NAMED:
		return "named";
	case AST_T_LIST:
		return "list";
	case AST_T_MAP:
		return "map";
	case AST_T_ARRAY:
		return "array";
	}
	return "?";
}
