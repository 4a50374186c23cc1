/* dyndesc.c - protobuf-c descriptors from a loaded program, at run time.
 *
 * The layout rules are rpcgen-c's (view.c, ctype_map.c, templates/): a
 * struct is ProtobufCMessage base followed by its fields in declaration
 * order; a list or map field is "size_t n_X; T *X;" (a map's T is a pointer
 * to its entry message "<Field>Entry" with key = 1, value = 2); an optional
 * scalar, enum or bytes field is "protobuf_c_boolean has_X; T X;"; a
 * oneof is an int-sized case ("X_case") and then an anonymous union of its
 * members, each at the union's offset; a non-struct argument or reply travels
 * in a wrapper message ("Int64Value", "ArgsList", "StringInt64Map") whose field
 * 1 is "value". Offsets follow the C rules for those members (each aligned to
 * its own alignment, the whole rounded up to the largest), so a message built
 * here has the bytes a generated struct would have. Field descriptors are
 * sorted by number, with an index sorted by name and runs of consecutive
 * numbers, as protobuf-c wants.
 *
 * Every object lives in one arena, freed with the schema; descriptors are
 * made for all structs and enums first and filled in afterwards, so that
 * fields may refer to any of them (a struct may hold a list of itself).
 */
#include "dyndesc.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "ctype_map.h"
#include "tmpl.h"

typedef struct dyn_decl {
	const ast_decl *d;
	ProtobufCMessageDescriptor *md; /* structs */
	ProtobufCEnumDescriptor *ed;    /* enums */
	rpc_type type;                  /* structs: RPC_FORM_MESSAGE */
} dyn_decl;

typedef struct dyn_wrapper {
	const char *full;
	rpc_type *type;
} dyn_wrapper;

struct dyn_schema {
	tmpl_arena *a;
	const idl_program *prog;
	dyn_decl *decls;
	size_t n_decls;
	dyn_wrapper *wrappers;
	size_t n_wrappers, cap_wrappers;
	dyn_method *methods;
	size_t n_methods;
	bool too_many; /* more messages than init slots */
};

/* One field to lay out, in declaration order. */
typedef struct dyn_field {
	const char *name;
	int64_t number;
	const ast_type *type;
	bool optional;
	const ast_lit *def;                      /* [default = V], or NULL */
	const ProtobufCMessageDescriptor *entry; /* maps */
	size_t oneof_n; /* the first member of a oneof: how many it has */
	bool in_oneof;  /* a member of a oneof */
} dyn_field;

/* ---- message_init ---------------------------------------------------------
 *
 * librpc calls desc->message_init to reset a message, as generated code
 * always has one; but the function gets only the message, whose descriptor
 * field it is about to write. So each run-time descriptor takes one of a
 * fixed set of init functions, each bound to a slot of a table holding its
 * descriptor. Slots are never reused (a tool loads a schema or two). */

#define DYN_MAX_INITS 4096

static const ProtobufCMessageDescriptor *dyn_init_desc[DYN_MAX_INITS];
static size_t dyn_n_inits;

/* dyn_scalar_size is the size of a scalar or enum member of type t. */
static size_t dyn_scalar_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

/* dyn_init_at does what a generated X_init does: every member zero, except
 * the descriptor, non-optional strings outside a oneof (the shared empty
 * string) and
 * fields with a default (a required field's default_value). */
static void dyn_init_at(size_t slot, ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = dyn_init_desc[slot];

	memset(m, 0, d->sizeof_message);
	m->descriptor = d;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *p = (char *)m + f->offset;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0)
			continue; /* unset: the case and union are zero */
		if (f->type == PROTOBUF_C_TYPE_STRING &&
		    (f->label == PROTOBUF_C_LABEL_NONE ||
		     f->label == PROTOBUF_C_LABEL_REQUIRED))
			*(const void **)p = f->label == PROTOBUF_C_LABEL_NONE
			                        ? protobuf_c_empty_string
			                        : f->default_value;
		else if (f->label == PROTOBUF_C_LABEL_REQUIRED)
			memcpy(p, f->default_value, dyn_scalar_size(f->type));
	}
}

/* clang-format off */
#define DYN_I1(n)                                                            \
	static void dyn_init_##n(ProtobufCMessage *m)                        \
	{                                                                    \
		dyn_init_at(0x##n, m);                                       \
	}
#define DYN_I16(n)                                                           \
	DYN_I1(n##0) DYN_I1(n##1) DYN_I1(n##2) DYN_I1(n##3) DYN_I1(n##4)     \
	DYN_I1(n##5) DYN_I1(n##6) DYN_I1(n##7) DYN_I1(n##8) DYN_I1(n##9)     \
	DYN_I1(n##a) DYN_I1(n##b) DYN_I1(n##c) DYN_I1(n##d) DYN_I1(n##e)     \
	DYN_I1(n##f)
#define DYN_I256(n)                                                          \
	DYN_I16(n##0) DYN_I16(n##1) DYN_I16(n##2) DYN_I16(n##3)              \
	DYN_I16(n##4) DYN_I16(n##5) DYN_I16(n##6) DYN_I16(n##7)              \
	DYN_I16(n##8) DYN_I16(n##9) DYN_I16(n##a) DYN_I16(n##b)              \
	DYN_I16(n##c) DYN_I16(n##d) DYN_I16(n##e) DYN_I16(n##f)
DYN_I256(0) DYN_I256(1) DYN_I256(2) DYN_I256(3)
DYN_I256(4) DYN_I256(5) DYN_I256(6) DYN_I256(7)
DYN_I256(8) DYN_I256(9) DYN_I256(a) DYN_I256(b)
DYN_I256(c) DYN_I256(d) DYN_I256(e) DYN_I256(f)
#define DYN_P1(n) dyn_init_##n,
#define DYN_P16(n) DYN_P1(n##0) DYN_P1(n##1) DYN_P1(n##2) DYN_P1(n##3) \
	DYN_P1(n##4) DYN_P1(n##5) DYN_P1(n##6) DYN_P1(n##7) DYN_P1(n##8) \
	DYN_P1(n##9) DYN_P1(n##a) DYN_P1(n##b) DYN_P1(n##c) DYN_P1(n##d) \
	DYN_P1(n##e) DYN_P1(n##f)
#define DYN_P256(n) DYN_P16(n##0) DYN_P16(n##1) DYN_P16(n##2) \
	DYN_P16(n##3) DYN_P16(n##4) DYN_P16(n##5) DYN_P16(n##6) \
	DYN_P16(n##7) DYN_P16(n##8) DYN_P16(n##9) DYN_P16(n##a) \
	DYN_P16(n##b) DYN_P16(n##c) DYN_P16(n##d) DYN_P16(n##e) \
	DYN_P16(n##f)
static void (*const dyn_inits[DYN_MAX_INITS])(ProtobufCMessage *) = {
	DYN_P256(0) DYN_P256(1) DYN_P256(2) DYN_P256(3)
	DYN_P256(4) DYN_P256(5) DYN_P256(6) DYN_P256(7)
	DYN_P256(8) DYN_P256(9) DYN_P256(a) DYN_P256(b)
	DYN_P256(c) DYN_P256(d) DYN_P256(e) DYN_P256(f)
};
/* clang-format on */

static size_t dyn_align(size_t off, size_t a)
{
	return (off + a - 1) / a * a;
}

static dyn_decl *dyn_decl_of(dyn_schema *s, const ast_decl *d)
{
	for (size_t i = 0; i < s->n_decls; i++)
		if (s->decls[i].d == d)
			return &s->decls[i];
	return NULL;
}

static const char *dyn_full(dyn_schema *s, const ast_file *f, const char *n)
{
	return f->package ? tmpl_printf(s->a, "%s.%s", f->package, n) : n;
}

/* dyn_elem describes element type t: its protobuf-c type, descriptor, and
 * the size and alignment of its C member. */
static void dyn_elem(dyn_schema *s, const ast_type *t, ProtobufCType *type,
                     const void **desc, size_t *size, size_t *align)
{
	*desc = NULL;
	switch (t->kind) {
	case AST_T_BOOL:
		*type = PROTOBUF_C_TYPE_BOOL;
		*size = sizeof(protobuf_c_boolean);
		*align = alignof(protobuf_c_boolean);
		return;
	case AST_T_INT32:
		*type = PROTOBUF_C_TYPE_INT32;
		*size = *align = sizeof(int32_t);
		return;
	case AST_T_UINT32:
		*type = PROTOBUF_C_TYPE_UINT32;
		*size = *align = sizeof(uint32_t);
		return;
	case AST_T_INT64:
		*type = PROTOBUF_C_TYPE_INT64;
		*size = sizeof(int64_t);
		*align = alignof(int64_t);
		return;
	case AST_T_UINT64:
		*type = PROTOBUF_C_TYPE_UINT64;
		*size = sizeof(uint64_t);
		*align = alignof(uint64_t);
		return;
	case AST_T_FLOAT:
		*type = PROTOBUF_C_TYPE_FLOAT;
		*size = sizeof(float);
		*align = alignof(float);
		return;
	case AST_T_DOUBLE:
		*type = PROTOBUF_C_TYPE_DOUBLE;
		*size = sizeof(double);
		*align = alignof(double);
		return;
	case AST_T_STRING:
		*type = PROTOBUF_C_TYPE_STRING;
		*size = sizeof(char *);
		*align = alignof(char *);
		return;
	case AST_T_BYTES:
		*type = PROTOBUF_C_TYPE_BYTES;
		*size = sizeof(ProtobufCBinaryData);
		*align = alignof(ProtobufCBinaryData);
		return;
	case AST_T_NAMED: {
		dyn_decl *dd = dyn_decl_of(s, t->resolved);
		if (t->resolved->kind == AST_ENUM) {
			/* generated enums are forced to int size */
			*type = PROTOBUF_C_TYPE_ENUM;
			*desc = dd ? (const void *)dd->ed : NULL;
			*size = sizeof(int);
			*align = alignof(int);
		} else {
			*type = PROTOBUF_C_TYPE_MESSAGE;
			*desc = dd ? (const void *)dd->md : NULL;
			*size = sizeof(void *);
			*align = alignof(void *);
		}
		return;
	}
	default: /* containers are laid out by the caller */
		*type = PROTOBUF_C_TYPE_MESSAGE;
		*size = sizeof(void *);
		*align = alignof(void *);
		return;
	}
}

static bool dyn_is_container(const ast_type *t)
{
	return t->kind == AST_T_LIST || t->kind == AST_T_MAP ||
	       t->kind == AST_T_ARRAY;
}

static int dyn_cmp_number(const void *x, const void *y)
{
	const ProtobufCFieldDescriptor *a = x, *b = y;
	return a->id < b->id ? -1 : a->id > b->id;
}

static const ProtobufCFieldDescriptor *dyn_name_base;

static int dyn_cmp_name(const void *x, const void *y)
{
	const unsigned *a = x, *b = y;
	return strcmp(dyn_name_base[*a].name, dyn_name_base[*b].name);
}

/* dyn_default makes the default_value of a field of IDL type t (protobuf
 * type type) holding v: the string itself, or the value in its C type. */
static const void *dyn_default(dyn_schema *s, const ast_type *t,
                               ProtobufCType type, const ast_lit *v)
{
	if (type == PROTOBUF_C_TYPE_STRING)
		return tmpl_strdup(s->a, v->text);
	void *p = tmpl_alloc(s->a, 8);
	uint64_t u = v->mag;
	int64_t i = v->neg && u != 0 ? -(int64_t)(u - 1) - 1 : (int64_t)u;
	switch (t->kind) {
	case AST_T_BOOL:
		*(protobuf_c_boolean *)p = strcmp(v->text, "true") == 0;
		break;
	case AST_T_INT32:
		*(int32_t *)p = (int32_t)i;
		break;
	case AST_T_UINT32:
		*(uint32_t *)p = (uint32_t)u;
		break;
	case AST_T_INT64:
		*(int64_t *)p = i;
		break;
	case AST_T_UINT64:
		*(uint64_t *)p = u;
		break;
	case AST_T_FLOAT: /* as C reads the literal the generator writes */
		*(float *)p =
		    v->kind == AST_L_FLOAT ? strtof(v->text, NULL) : (float)u;
		if (v->neg)
			*(float *)p = -*(float *)p;
		break;
	case AST_T_DOUBLE:
		*(double *)p =
		    v->kind == AST_L_FLOAT ? strtod(v->text, NULL) : (double)u;
		if (v->neg)
			*(double *)p = -*(double *)p;
		break;
	case AST_T_NAMED: /* an enum: the checker found the value */
		for (size_t k = 0; k < t->resolved->n_values; k++)
			if (strcmp(t->resolved->values[k].name, v->text) == 0)
				*(int32_t *)p =
				    (int32_t)t->resolved->values[k].value;
		break;
	default:
		break;
	}
	return p;
}

/* dyn_fill lays out fields f[0..n) into md, a descriptor already allocated
 * (and possibly referred to by others). */
static void dyn_fill(dyn_schema *s, ProtobufCMessageDescriptor *md,
                     const char *full, const char *short_name,
                     const char *cname, const char *pkg, const dyn_field *f,
                     size_t n)
{
	ProtobufCFieldDescriptor *fd = tmpl_alloc(s->a, (n + 1) * sizeof *fd);
	size_t off = sizeof(ProtobufCMessage);
	size_t max_align = alignof(ProtobufCMessage);
	size_t case_off = 0, union_off = 0, union_end = 0, union_left = 0;

	for (size_t i = 0; i < n; i++) {
		if (f[i].oneof_n > 0) {
			/* "<Struct>_<oneof>_case <oneof>_case;" (an enum of
			 * int size), then an anonymous union of the members */
			size_t usize = 0, ualign = 1;
			for (size_t k = i; k < i + f[i].oneof_n; k++) {
				ProtobufCType ty;
				const void *de;
				size_t sz, al;
				dyn_elem(s, f[k].type, &ty, &de, &sz, &al);
				if (sz > usize)
					usize = sz;
				if (al > ualign)
					ualign = al;
			}
			off = dyn_align(off, alignof(int));
			case_off = off;
			off += sizeof(int);
			union_off = dyn_align(off, ualign);
			union_end = union_off + dyn_align(usize, ualign);
			union_left = f[i].oneof_n;
			if (ualign > max_align)
				max_align = ualign;
		}
		const ast_type *t = f[i].type;
		const ast_type *elem =
		    t->kind == AST_T_LIST || t->kind == AST_T_ARRAY ? t->elem
		                                                    : t;
		ProtobufCFieldDescriptor *d = &fd[i];
		ProtobufCType type;
		const void *desc;
		size_t size, align;

		dyn_elem(s, elem, &type, &desc, &size, &align);
		d->name = f[i].name;
		d->id = (uint32_t)f[i].number;
		d->label = PROTOBUF_C_LABEL_NONE;
		d->type = type;
		d->descriptor = desc;
		if (t->kind == AST_T_ARRAY) {
			/* as generated: the view, then the array itself
			 * (runtime/internal.h) */
			d->label = PROTOBUF_C_LABEL_REPEATED;
			d->reserved_flags = t->n;
			if (type == PROTOBUF_C_TYPE_STRING)
				d->default_value = &protobuf_c_empty_string;
			else if (type != PROTOBUF_C_TYPE_BYTES &&
			         type != PROTOBUF_C_TYPE_MESSAGE)
				d->flags = PROTOBUF_C_FIELD_FLAG_PACKED;
			off = dyn_align(off, alignof(size_t));
			d->quantifier_offset = (unsigned)off;
			off += sizeof(size_t);
			off = dyn_align(off, alignof(void *));
			d->offset = (unsigned)off;
			off += sizeof(void *);
			off = dyn_align(off, align) + (size_t)t->n * size;
			if (align > max_align)
				max_align = align;
			if (alignof(void *) > max_align)
				max_align = alignof(void *);
			continue;
		}
		if (dyn_is_container(t)) {
			d->label = PROTOBUF_C_LABEL_REPEATED;
			off = dyn_align(off, alignof(size_t));
			d->quantifier_offset = (unsigned)off;
			off += sizeof(size_t);
			size = sizeof(void *);
			align = alignof(void *);
			if (t->kind == AST_T_MAP) {
				d->type = PROTOBUF_C_TYPE_MESSAGE;
				d->descriptor = f[i].entry;
			} else if (type == PROTOBUF_C_TYPE_STRING) {
				d->default_value = &protobuf_c_empty_string;
			} else if (type != PROTOBUF_C_TYPE_STRING &&
			           type != PROTOBUF_C_TYPE_BYTES &&
			           type != PROTOBUF_C_TYPE_MESSAGE) {
				d->flags = PROTOBUF_C_FIELD_FLAG_PACKED;
			}
		} else if (f[i].optional) {
			d->label = PROTOBUF_C_LABEL_OPTIONAL;
			if (type != PROTOBUF_C_TYPE_STRING &&
			    type != PROTOBUF_C_TYPE_MESSAGE) {
				off =
				    dyn_align(off, alignof(protobuf_c_boolean));
				d->quantifier_offset = (unsigned)off;
				off += sizeof(protobuf_c_boolean);
			}
		} else if (f[i].in_oneof) {
			d->quantifier_offset = (unsigned)case_off;
			d->flags = PROTOBUF_C_FIELD_FLAG_ONEOF;
			d->offset = (unsigned)union_off;
			if (--union_left == 0)
				off = union_end;
			continue;
		} else if (f[i].def != NULL) {
			/* as generated: always sent, the default when absent */
			d->label = PROTOBUF_C_LABEL_REQUIRED;
			d->default_value = dyn_default(s, t, type, f[i].def);
		} else if (type == PROTOBUF_C_TYPE_STRING) {
			d->default_value = &protobuf_c_empty_string;
		}
		if (align > max_align)
			max_align = align;
		off = dyn_align(off, align);
		d->offset = (unsigned)off;
		off += size;
	}
	qsort(fd, n, sizeof *fd, dyn_cmp_number);

	unsigned *by_name = tmpl_alloc(s->a, (n + 1) * sizeof *by_name);
	for (size_t i = 0; i < n; i++)
		by_name[i] = (unsigned)i;
	dyn_name_base = fd;
	qsort(by_name, n, sizeof *by_name, dyn_cmp_name);

	ProtobufCIntRange *ranges = tmpl_alloc(s->a, (n + 1) * sizeof *ranges);
	size_t n_ranges = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && fd[i].id == fd[i - 1].id + 1)
			continue;
		ranges[n_ranges].start_value = (int)fd[i].id;
		ranges[n_ranges].orig_index = (unsigned)i;
		n_ranges++;
	}
	ranges[n_ranges].start_value = 0;
	ranges[n_ranges].orig_index = (unsigned)n;

	md->magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC;
	md->name = full;
	md->short_name = short_name;
	md->c_name = cname;
	md->package_name = pkg ? pkg : "";
	md->sizeof_message = dyn_align(off, max_align);
	md->n_fields = (unsigned)n;
	md->fields = fd;
	md->fields_sorted_by_name = by_name;
	md->n_field_ranges = (unsigned)n_ranges;
	md->field_ranges = ranges;
	if (dyn_n_inits < DYN_MAX_INITS) {
		dyn_init_desc[dyn_n_inits] = md;
		md->message_init = (ProtobufCMessageInit)dyn_inits[dyn_n_inits];
		dyn_n_inits++;
	} else {
		s->too_many = true;
	}
}

/* dyn_entry makes the entry message of map type t, named "<field>Entry"
 * inside the message owner_full/owner_cname. */
static ProtobufCMessageDescriptor *
dyn_entry(dyn_schema *s, const char *pkg, const char *owner_full,
          const char *owner_cname, const char *field, const ast_type *t)
{
	const char *name =
	    tmpl_printf(s->a, "%sEntry", ctype_camel(s->a, field));
	ProtobufCMessageDescriptor *md = tmpl_alloc(s->a, sizeof *md);
	dyn_field f[2] = {
	    {.name = "key", .number = 1, .type = t->key},
	    {.name = "value", .number = 2, .type = t->elem},
	};

	dyn_fill(s, md, tmpl_printf(s->a, "%s.%s", owner_full, name), name,
	         tmpl_printf(s->a, "%s_%s", owner_cname, name), pkg, f, 2);
	return md;
}

static void dyn_struct(dyn_schema *s, dyn_decl *dd)
{
	const ast_decl *d = dd->d;
	const char *pkg = ast_decl_package(d);
	const char *full = dyn_full(s, d->file, d->name);
	const char *cname = ctype_decl_cname(s->a, d);
	dyn_field *f = tmpl_alloc(s->a, (d->n_fields + 1) * sizeof *f);

	for (size_t i = 0; i < d->n_fields; i++) {
		const ast_field *af = &d->fields[i];
		f[i].name = af->name;
		f[i].number = af->number;
		f[i].type = af->type;
		f[i].optional = af->optional;
		f[i].def = af->def;
		f[i].in_oneof = af->oneof != 0;
		if (af->oneof && ast_field_oneof(d, af)->first == i)
			f[i].oneof_n = ast_field_oneof(d, af)->n_members;
		if (af->type->kind == AST_T_MAP)
			f[i].entry =
			    dyn_entry(s, pkg, full, cname, af->name, af->type);
	}
	dyn_fill(s, dd->md, full, d->name, cname, pkg, f, d->n_fields);
	dd->type.name = d->name;
	dd->type.desc = dd->md;
	dd->type.form = RPC_FORM_MESSAGE;
}

static int dyn_cmp_value(const void *x, const void *y)
{
	const ProtobufCEnumValue *a = x, *b = y;
	return a->value < b->value ? -1 : a->value > b->value;
}

static int dyn_cmp_value_name(const void *x, const void *y)
{
	const ProtobufCEnumValueIndex *a = x, *b = y;
	return strcmp(a->name, b->name);
}

static void dyn_enum(dyn_schema *s, dyn_decl *dd)
{
	const ast_decl *d = dd->d;
	const char *cname = ctype_decl_cname(s->a, d);
	const char *upper = ctype_upper(s->a, cname);
	size_t n = d->n_values;
	ProtobufCEnumValue *v = tmpl_alloc(s->a, (n + 1) * sizeof *v);
	ProtobufCEnumValueIndex *by_name =
	    tmpl_alloc(s->a, (n + 1) * sizeof *by_name);
	ProtobufCIntRange *ranges = tmpl_alloc(s->a, (n + 1) * sizeof *ranges);
	size_t n_ranges = 0;

	for (size_t i = 0; i < n; i++) {
		v[i].name = d->values[i].name;
		v[i].c_name =
		    tmpl_printf(s->a, "%s_%s", upper, d->values[i].name);
		v[i].value = (int)d->values[i].value;
	}
	qsort(v, n, sizeof *v, dyn_cmp_value);
	for (size_t i = 0; i < n; i++) {
		by_name[i].name = v[i].name;
		by_name[i].index = (unsigned)i;
		if (i > 0 && v[i].value == v[i - 1].value + 1)
			continue;
		ranges[n_ranges].start_value = v[i].value;
		ranges[n_ranges].orig_index = (unsigned)i;
		n_ranges++;
	}
	ranges[n_ranges].start_value = 0;
	ranges[n_ranges].orig_index = (unsigned)n;
	qsort(by_name, n, sizeof *by_name, dyn_cmp_value_name);

	ProtobufCEnumDescriptor *ed = dd->ed;
	ed->magic = PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC;
	ed->name = dyn_full(s, d->file, d->name);
	ed->short_name = d->name;
	ed->c_name = cname;
	ed->package_name = d->file->package ? d->file->package : "";
	ed->n_values = (unsigned)n;
	ed->values = v;
	ed->n_value_names = (unsigned)n;
	ed->values_by_name = by_name;
	ed->n_value_ranges = (unsigned)n_ranges;
	ed->value_ranges = ranges;
}

/* dyn_wrapper_name names the wrapper of t as view.c does, seen from file. */
static const char *dyn_wrapper_name(dyn_schema *s, const ast_file *file,
                                    const ast_type *t)
{
	ctype_info k, v;

	switch (t->kind) {
	case AST_T_LIST:
		ctype_elem(s->a, file, t->elem, &v);
		return tmpl_printf(s->a, "%sList", v.camel);
	case AST_T_MAP:
		ctype_elem(s->a, file, t->key, &k);
		ctype_elem(s->a, file, t->elem, &v);
		return tmpl_printf(s->a, "%s%sMap", k.camel, v.camel);
	case AST_T_ARRAY:
		ctype_elem(s->a, file, t->elem, &v);
		return tmpl_printf(s->a, "%sArray%u", v.camel, (unsigned)t->n);
	default:
		ctype_elem(s->a, file, t, &v);
		return tmpl_printf(s->a, "%sValue", v.camel);
	}
}

/* dyn_type returns the rpc_type of a method parameter type t of a service
 * declared in file: the struct's own, or a wrapper made once. */
static const rpc_type *dyn_type(dyn_schema *s, const ast_file *file,
                                const ast_type *t)
{
	if (t->kind == AST_T_NAMED && t->resolved->kind == AST_STRUCT)
		return &dyn_decl_of(s, t->resolved)->type;

	const char *name = dyn_wrapper_name(s, file, t);
	const char *full = dyn_full(s, file, name);
	for (size_t i = 0; i < s->n_wrappers; i++)
		if (strcmp(s->wrappers[i].full, full) == 0)
			return s->wrappers[i].type;

	const char *cname =
	    file->package ? tmpl_printf(s->a, "%s_%s", file->package, name)
	                  : name;
	dyn_field f = {.name = "value", .number = 1, .type = t};
	if (t->kind == AST_T_MAP)
		f.entry = dyn_entry(s, file->package, full, cname, "value", t);
	ProtobufCMessageDescriptor *md = tmpl_alloc(s->a, sizeof *md);
	dyn_fill(s, md, full, name, cname, file->package, &f, 1);

	rpc_type *rt = tmpl_alloc(s->a, sizeof *rt);
	rt->name = ctype_spell(s->a, t);
	rt->desc = md;
	rt->form = dyn_is_container(t) ? RPC_FORM_WRAPPED : RPC_FORM_VALUE;

	if (s->n_wrappers == s->cap_wrappers) {
		s->cap_wrappers = s->cap_wrappers ? 2 * s->cap_wrappers : 16;
		dyn_wrapper *w = tmpl_alloc(s->a, s->cap_wrappers * sizeof *w);
		if (s->n_wrappers)
			memcpy(w, s->wrappers, s->n_wrappers * sizeof *w);
		s->wrappers = w;
	}
	s->wrappers[s->n_wrappers].full = full;
	s->wrappers[s->n_wrappers].type = rt;
	s->n_wrappers++;
	return rt;
}

char *dyn_schema_new(const idl_program *prog, dyn_schema **out)
{
	dyn_schema *s = calloc(1, sizeof *s);

	*out = NULL;
	if (s == NULL || (s->a = tmpl_arena_new()) == NULL) {
		free(s);
		return strdup("out of memory");
	}
	s->prog = prog;

	size_t n_decls = 0, n_methods = 0;
	for (size_t i = 0; i < prog->n_files; i++)
		for (size_t j = 0; j < prog->files[i]->n_decls; j++) {
			const ast_decl *d = prog->files[i]->decls[j];
			if (d->kind == AST_SERVICE)
				n_methods += d->n_methods;
			else if (d->kind != AST_CONST)
				n_decls++;
		}
	s->decls = tmpl_alloc(s->a, (n_decls + 1) * sizeof *s->decls);
	s->methods = tmpl_alloc(s->a, (n_methods + 1) * sizeof *s->methods);
	for (size_t i = 0; i < prog->n_files; i++)
		for (size_t j = 0; j < prog->files[i]->n_decls; j++) {
			const ast_decl *d = prog->files[i]->decls[j];
			if (d->kind == AST_SERVICE || d->kind == AST_CONST)
				continue;
			dyn_decl *dd = &s->decls[s->n_decls++];
			dd->d = d;
			if (d->kind == AST_STRUCT)
				dd->md = tmpl_alloc(s->a, sizeof *dd->md);
			else
				dd->ed = tmpl_alloc(s->a, sizeof *dd->ed);
		}
	for (size_t i = 0; i < s->n_decls; i++) {
		if (s->decls[i].md != NULL)
			dyn_struct(s, &s->decls[i]);
		else
			dyn_enum(s, &s->decls[i]);
	}
	for (size_t i = 0; i < prog->n_files; i++) {
		const ast_file *file = prog->files[i];
		for (size_t j = 0; j < file->n_decls; j++) {
			const ast_decl *d = file->decls[j];
			if (d->kind != AST_SERVICE)
				continue;
			for (size_t k = 0; k < d->n_methods; k++) {
				const ast_method *am = &d->methods[k];
				dyn_method *m = &s->methods[s->n_methods++];
				m->service = d;
				m->ast = am;
				m->wire_name = tmpl_printf(s->a, "%s.%s",
				                           d->name, am->name);
				m->method.name = am->name;
				m->method.args =
				    dyn_type(s, file, am->params[0].type);
				m->method.reply =
				    dyn_type(s, file, am->params[1].type);
			}
		}
	}
	if (s->too_many) {
		dyn_schema_free(s);
		return strdup("too many message types (the limit is 4096)");
	}
	*out = s;
	return NULL;
}

void dyn_schema_free(dyn_schema *s)
{
	if (s == NULL)
		return;
	tmpl_arena_free(s->a);
	free(s);
}

const dyn_method *dyn_methods(const dyn_schema *s, size_t *n)
{
	*n = s->n_methods;
	return s->methods;
}

const dyn_method *dyn_method_find(const dyn_schema *s, const char *name)
{
	for (size_t i = 0; i < s->n_methods; i++)
		if (strcmp(s->methods[i].wire_name, name) == 0)
			return &s->methods[i];
	return NULL;
}

const ast_decl *dyn_decl_find(const dyn_schema *s, const char *name)
{
	for (size_t i = 0; i < s->n_decls; i++) {
		const ast_decl *d = s->decls[i].d;
		const char *pkg = ast_decl_package(d);
		size_t n = pkg ? strlen(pkg) : 0;

		if (strcmp(d->name, name) == 0)
			return d;
		if (pkg && strncmp(name, pkg, n) == 0 && name[n] == '.' &&
		    strcmp(name + n + 1, d->name) == 0)
			return d;
	}
	return NULL;
}

const rpc_type *dyn_struct_type(const dyn_schema *s, const char *name)
{
	const ast_decl *d = dyn_decl_find(s, name);

	for (size_t i = 0; d != NULL && i < s->n_decls; i++)
		if (s->decls[i].d == d && s->decls[i].md != NULL)
			return &s->decls[i].type;
	return NULL;
}

const char *dyn_type_spell(dyn_schema *s, const ast_type *t)
{
	return ctype_spell(s->a, t);
}
