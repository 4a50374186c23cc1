/* ctype_map.c - C type mapping of IDL types.
 *
 * Scalars map to the C types libprotobuf-c uses for proto3 fields (bool is
 * protobuf_c_boolean, string is char *, bytes is ProtobufCBinaryData), enums
 * to their generated C enum, structs to a pointer to their generated
 * struct. Lists and maps are laid out by the view (view.c), which asks this
 * module about their element types only.
 */
#include "ctype_map.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const char *ctype_decl_cname(tmpl_arena *a, const ast_decl *d)
{
	const char *pkg = ast_decl_package(d);
	if (pkg != NULL && pkg[0] != '\0')
		return tmpl_printf(a, "%s_%s", pkg, d->name);
	return tmpl_strdup(a, d->name);
}

const char *ctype_upper(tmpl_arena *a, const char *s)
{
	char *u = tmpl_strdup(a, s);
	for (char *p = u; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return u;
}

const char *ctype_camel(tmpl_arena *a, const char *s)
{
	char *c = tmpl_strdup(a, s);
	char *w = c;
	bool up = true;
	for (const char *p = s; *p; p++) {
		if (*p == '_') {
			up = true;
			continue;
		}
		*w++ = up ? (char)toupper((unsigned char)*p) : *p;
		up = false;
	}
	*w = '\0';
	return c;
}

static bool same_package(const ast_file *file, const ast_decl *d)
{
	const char *p1 = file ? file->package : NULL;
	const char *p2 = ast_decl_package(d);
	if (p1 == NULL || p2 == NULL)
		return p1 == p2;
	return strcmp(p1, p2) == 0;
}

void ctype_elem(tmpl_arena *a, const ast_file *file, const ast_type *t,
                ctype_info *out)
{
	memset(out, 0, sizeof *out);
	out->descriptor = "";
	out->init = "0";
	out->packable = true;
	switch (t->kind) {
	case AST_T_BOOL:
		out->ctype = "protobuf_c_boolean";
		out->pbtype = "PROTOBUF_C_TYPE_BOOL";
		out->proto = "bool";
		break;
	case AST_T_INT32:
		out->ctype = "int32_t";
		out->pbtype = "PROTOBUF_C_TYPE_INT32";
		out->proto = "int32";
		break;
	case AST_T_INT64:
		out->ctype = "int64_t";
		out->pbtype = "PROTOBUF_C_TYPE_INT64";
		out->proto = "int64";
		break;
	case AST_T_UINT32:
		out->ctype = "uint32_t";
		out->pbtype = "PROTOBUF_C_TYPE_UINT32";
		out->proto = "uint32";
		break;
	case AST_T_UINT64:
		out->ctype = "uint64_t";
		out->pbtype = "PROTOBUF_C_TYPE_UINT64";
		out->proto = "uint64";
		break;
	case AST_T_FLOAT:
		out->ctype = "float";
		out->pbtype = "PROTOBUF_C_TYPE_FLOAT";
		out->proto = "float";
		break;
	case AST_T_DOUBLE:
		out->ctype = "double";
		out->pbtype = "PROTOBUF_C_TYPE_DOUBLE";
		out->proto = "double";
		break;
	case AST_T_STRING:
		out->ctype = "char *";
		out->value_type = "const char *";
		out->pbtype = "PROTOBUF_C_TYPE_STRING";
		out->init = "(char *)protobuf_c_empty_string";
		out->proto = "string";
		out->is_string = true;
		out->packable = false;
		break;
	case AST_T_BYTES:
		out->ctype = "ProtobufCBinaryData";
		out->pbtype = "PROTOBUF_C_TYPE_BYTES";
		out->init = "{0, NULL}";
		out->proto = "bytes";
		out->is_bytes = true;
		out->packable = false;
		break;
	case AST_T_NAMED: {
		const ast_decl *d = t->resolved;
		const char *cname = ctype_decl_cname(a, d);
		bool local = same_package(file, d);
		const char *pkg = ast_decl_package(d);
		out->proto = local || pkg == NULL
		                 ? d->name
		                 : tmpl_printf(a, "%s.%s", pkg, d->name);
		out->camel =
		    local || pkg == NULL
		        ? d->name
		        : tmpl_printf(a, "%s%s", ctype_camel(a, pkg), d->name);
		out->descriptor = tmpl_printf(a, "&%s_descriptor", cname);
		if (d->kind == AST_ENUM) {
			out->ctype = cname;
			out->pbtype = "PROTOBUF_C_TYPE_ENUM";
			out->init =
			    d->n_values > 0
			        ? tmpl_printf(a, "%s_%s", ctype_upper(a, cname),
			                      d->values[0].name)
			        : "0";
			out->is_enum = true;
		} else {
			out->ctype = tmpl_printf(a, "%s *", cname);
			out->pbtype = "PROTOBUF_C_TYPE_MESSAGE";
			out->init = "NULL";
			out->is_struct = true;
			out->packable = false;
		}
		break;
	}
	default:
		/* lists and maps are the view's business */
		out->ctype = "void *";
		out->pbtype = "PROTOBUF_C_TYPE_MESSAGE";
		out->proto = "?";
		out->packable = false;
		break;
	}
	if (out->value_type == NULL)
		out->value_type = out->ctype;
	if (out->camel == NULL)
		out->camel = ctype_camel(a, out->proto);
}

const char *ctype_spell(tmpl_arena *a, const ast_type *t)
{
	switch (t->kind) {
	case AST_T_NAMED:
		return tmpl_strdup(a, t->name);
	case AST_T_LIST:
		return tmpl_printf(a, "list<%s>", ctype_spell(a, t->elem));
	case AST_T_ARRAY:
		return tmpl_printf(a, "%s[%u]", ctype_spell(a, t->elem),
		                   (unsigned)t->n);
	case AST_T_MAP:
		return tmpl_printf(a, "map<%s, %s>", ctype_spell(a, t->key),
		                   ctype_spell(a, t->elem));
	default:
		return ast_type_kind_name(t->kind);
	}
}

/* ---- literals: const values and field defaults ------------------------ */

/* lit_quote spells s as a double-quoted literal: C's escapes when c, else
 * Go's (which has no trigraphs, and wants valid UTF-8: bytes past ASCII
 * become \x escapes). */
static const char *lit_quote(tmpl_arena *a, const char *s, bool c)
{
	tmpl_buf out = {0};
	const char *r;

	tmpl_buf_add(&out, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[8];

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			tmpl_buf_add(&out, esc, 2);
		} else if (*p == '\n') {
			tmpl_buf_add(&out, "\\n", 2);
		} else if (*p == '\t') {
			tmpl_buf_add(&out, "\\t", 2);
		} else if (*p < 0x20 || *p == 0x7f || (!c && *p >= 0x80)) {
			/* octal: a following digit cannot extend it */
			snprintf(esc, sizeof esc, c ? "\\%03o" : "\\x%02x", *p);
			tmpl_buf_add(&out, esc, strlen(esc));
		} else if (c && *p == '?' && p[1] == '?') {
			tmpl_buf_add(&out, "?\\", 2); /* no trigraph */
		} else {
			tmpl_buf_add(&out, (const char *)p, 1);
		}
	}
	tmpl_buf_add(&out, "\"", 1);
	r = tmpl_strdup(a, out.data);
	tmpl_buf_fini(&out);
	return r;
}

/* lit_float spells number v as a floating literal as written ("1.5",
 * "1e9"; an integer gets ".0"), without its sign. */
static const char *lit_float(tmpl_arena *a, const ast_lit *v)
{
	if (v->kind == AST_L_FLOAT)
		return v->text;
	return tmpl_printf(a, "%llu.0", (unsigned long long)v->mag);
}

const char *ctype_lit_c(tmpl_arena *a, const ast_type *t, const ast_lit *v)
{
	const char *wrap = NULL;
	unsigned long long m = v->mag;

	switch (t->kind) {
	case AST_T_FLOAT:
	case AST_T_DOUBLE:
		return tmpl_printf(a, v->neg ? "(-%s%s)" : "%s%s",
		                   lit_float(a, v),
		                   t->kind == AST_T_FLOAT ? "f" : "");
	case AST_T_BOOL:
		return strcmp(v->text, "true") == 0 ? "true" : "false";
	case AST_T_STRING:
		return lit_quote(a, v->text, true);
	case AST_T_NAMED:
		return tmpl_printf(
		    a, "%s_%s",
		    ctype_upper(a, ctype_decl_cname(a, t->resolved)), v->text);
	case AST_T_INT64:
		wrap = "INT64_C";
		break;
	case AST_T_UINT32:
		wrap = "UINT32_C";
		break;
	case AST_T_UINT64:
		wrap = "UINT64_C";
		break;
	default:
		break;
	}
	if (!v->neg || m == 0)
		return wrap ? tmpl_printf(a, "%s(%llu)", wrap, m)
		            : tmpl_printf(a, "%llu", m);
	/* the most negative value has no positive literal of its type */
	if (t->kind == AST_T_INT32 && m == 2147483648ull)
		return "(-2147483647 - 1)";
	if (t->kind == AST_T_INT64 && m == 9223372036854775808ull)
		return "(-INT64_C(9223372036854775807) - 1)";
	return wrap ? tmpl_printf(a, "(-%s(%llu))", wrap, m)
	            : tmpl_printf(a, "(-%llu)", m);
}

const char *ctype_lit_go(tmpl_arena *a, const ast_type *t, const ast_lit *v)
{
	switch (t->kind) {
	case AST_T_BOOL:
		return strcmp(v->text, "true") == 0 ? "true" : "false";
	case AST_T_STRING:
		return lit_quote(a, v->text, false);
	case AST_T_NAMED:
		return v->text; /* the caller prefixes the enum's Go name */
	case AST_T_FLOAT:
	case AST_T_DOUBLE:
		return tmpl_printf(a, "%s%s", v->neg ? "-" : "",
		                   v->kind == AST_L_FLOAT ? v->text
		                                          : lit_float(a, v));
	default:
		return tmpl_printf(a, "%s%llu", v->neg && v->mag ? "-" : "",
		                   (unsigned long long)v->mag);
	}
}

const char *ctype_lit_idl(tmpl_arena *a, const ast_lit *v)
{
	switch (v->kind) {
	case AST_L_STRING:
		return lit_quote(a, v->text, true);
	case AST_L_NAME:
		return v->text;
	case AST_L_FLOAT:
		return tmpl_printf(a, "%s%s", v->neg ? "-" : "", v->text);
	default:
		return tmpl_printf(a, "%s%llu", v->neg && v->mag ? "-" : "",
		                   (unsigned long long)v->mag);
	}
}
