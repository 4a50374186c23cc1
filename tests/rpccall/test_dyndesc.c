/* test_dyndesc.c - run-time descriptors against generated ones.
 *
 *   test_dyndesc GOLDEN_DIR
 *
 * Loads golden/all.rpc, golden/kinds.rpc and golden/arrays.rpc with dyndesc.c and compares
 * every descriptor reachable from every method with what rpcgen-c
 * generated for the same file (the checked-in goldens, compiled in):
 * names, message size, every field's number, label, type, offset,
 * quantifier offset, flags and default, the by-name index, the number
 * ranges, enums value by value, and each method's rpc_type name and form.
 * Then a message made with each run-time descriptor's message_init reads
 * like a generated one after its X_init.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "all.rpc.h"
#include "ast.h"
#include "dyndesc.h"
#include "arrays.rpc.h"
#include "kinds.rpc.h"

static int failures, checks;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		checks++;                                                      \
		if (!(cond)) {                                                 \
			failures++;                                            \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);            \
			printf(__VA_ARGS__);                                   \
			printf("\n");                                          \
		}                                                              \
	} while (0)

static const void *seen[4096];
static size_t n_seen;

static bool visited(const void *d)
{
	for (size_t i = 0; i < n_seen; i++)
		if (seen[i] == d)
			return true;
	if (n_seen < sizeof seen / sizeof seen[0])
		seen[n_seen++] = d;
	return false;
}

static void cmp_enum(const ProtobufCEnumDescriptor *g,
                     const ProtobufCEnumDescriptor *d)
{
	CHECK(strcmp(g->name, d->name) == 0, "enum %s vs %s", g->name, d->name);
	CHECK(strcmp(g->c_name, d->c_name) == 0, "enum c_name %s", g->name);
	CHECK(g->n_values == d->n_values, "enum %s n_values", g->name);
	for (unsigned i = 0; i < g->n_values && i < d->n_values; i++) {
		CHECK(strcmp(g->values[i].name, d->values[i].name) == 0 &&
		          strcmp(g->values[i].c_name, d->values[i].c_name) ==
		              0 &&
		          g->values[i].value == d->values[i].value,
		      "enum %s value %u", g->name, i);
		CHECK(strcmp(g->values_by_name[i].name,
		             d->values_by_name[i].name) == 0 &&
		          g->values_by_name[i].index ==
		              d->values_by_name[i].index,
		      "enum %s by name %u", g->name, i);
	}
	CHECK(g->n_value_ranges == d->n_value_ranges, "enum %s ranges",
	      g->name);
	for (unsigned i = 0; i <= g->n_value_ranges && i <= d->n_value_ranges;
	     i++)
		CHECK(g->value_ranges[i].start_value ==
		              d->value_ranges[i].start_value &&
		          g->value_ranges[i].orig_index ==
		              d->value_ranges[i].orig_index,
		      "enum %s range %u", g->name, i);
}

static void cmp_message(const ProtobufCMessageDescriptor *g,
                        const ProtobufCMessageDescriptor *d)
{
	if (visited(g))
		return;
	CHECK(strcmp(g->name, d->name) == 0, "message %s vs %s", g->name,
	      d->name);
	CHECK(strcmp(g->short_name, d->short_name) == 0 &&
	          strcmp(g->c_name, d->c_name) == 0 &&
	          strcmp(g->package_name, d->package_name) == 0,
	      "message %s names", g->name);
	CHECK(g->sizeof_message == d->sizeof_message,
	      "message %s size %zu vs %zu", g->name, g->sizeof_message,
	      d->sizeof_message);
	CHECK(g->n_fields == d->n_fields, "message %s n_fields", g->name);
	for (unsigned i = 0; i < g->n_fields && i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *gf = &g->fields[i];
		const ProtobufCFieldDescriptor *df = &d->fields[i];
		CHECK(strcmp(gf->name, df->name) == 0 && gf->id == df->id,
		      "%s field %u: %s=%u vs %s=%u", g->name, i, gf->name,
		      gf->id, df->name, df->id);
		CHECK(gf->label == df->label && gf->type == df->type,
		      "%s.%s label/type", g->name, gf->name);
		CHECK(gf->offset == df->offset, "%s.%s offset %u vs %u",
		      g->name, gf->name, gf->offset, df->offset);
		CHECK(gf->quantifier_offset == df->quantifier_offset,
		      "%s.%s quantifier offset %u vs %u", g->name, gf->name,
		      gf->quantifier_offset, df->quantifier_offset);
		CHECK(gf->flags == df->flags, "%s.%s flags", g->name, gf->name);
		CHECK(gf->reserved_flags == df->reserved_flags,
		      "%s.%s array length %u vs %u", g->name, gf->name,
		      gf->reserved_flags, df->reserved_flags);
		CHECK((gf->default_value == NULL) ==
		          (df->default_value == NULL),
		      "%s.%s default", g->name, gf->name);
		CHECK((gf->descriptor == NULL) == (df->descriptor == NULL),
		      "%s.%s descriptor", g->name, gf->name);
		if (gf->descriptor == NULL || df->descriptor == NULL)
			continue;
		if (gf->type == PROTOBUF_C_TYPE_MESSAGE)
			cmp_message(gf->descriptor, df->descriptor);
		else if (!visited(gf->descriptor))
			cmp_enum(gf->descriptor, df->descriptor);
	}
	for (unsigned i = 0; i < g->n_fields && i < d->n_fields; i++)
		CHECK(g->fields_sorted_by_name[i] ==
		          d->fields_sorted_by_name[i],
		      "%s by name %u", g->name, i);
	CHECK(g->n_field_ranges == d->n_field_ranges, "%s ranges", g->name);
	for (unsigned i = 0;
	     g->field_ranges != NULL && d->field_ranges != NULL &&
	     i <= g->n_field_ranges && i <= d->n_field_ranges;
	     i++)
		CHECK(g->field_ranges[i].start_value ==
		              d->field_ranges[i].start_value &&
		          g->field_ranges[i].orig_index ==
		              d->field_ranges[i].orig_index,
		      "%s range %u", g->name, i);

	/* message_init: the same member values as the generated X_init
	 * (enums aside: generated code starts them at the first value) */
	ProtobufCMessage *gm = calloc(1, g->sizeof_message);
	ProtobufCMessage *dm = calloc(1, d->sizeof_message);
	g->message_init(gm);
	CHECK(d->message_init != NULL, "%s has no message_init", d->name);
	if (d->message_init != NULL)
		d->message_init(dm);
	CHECK(dm->descriptor == d, "%s init: descriptor", d->name);
	for (unsigned i = 0; i < g->n_fields && i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &g->fields[i];
		size_t n = f->label == PROTOBUF_C_LABEL_REPEATED
		               ? sizeof(void *)
		           : f->type == PROTOBUF_C_TYPE_BYTES
		               ? sizeof(ProtobufCBinaryData)
		           : f->type == PROTOBUF_C_TYPE_STRING ||
		                   f->type == PROTOBUF_C_TYPE_MESSAGE
		               ? sizeof(void *)
		               : 4;
		if (f->type == PROTOBUF_C_TYPE_ENUM &&
		    f->default_value == NULL)
			continue;
		if (f->type == PROTOBUF_C_TYPE_INT64 ||
		    f->type == PROTOBUF_C_TYPE_UINT64 ||
		    f->type == PROTOBUF_C_TYPE_DOUBLE)
			n = 8;
		if (f->type == PROTOBUF_C_TYPE_STRING &&
		    f->label == PROTOBUF_C_LABEL_REQUIRED) {
			/* a default string: the same text, each its own */
			const char *a = *(char **)((char *)gm + f->offset);
			const char *b = *(char **)((char *)dm + f->offset);
			CHECK(a != NULL && b != NULL && strcmp(a, b) == 0 &&
			          a == f->default_value &&
			          b == d->fields[i].default_value,
			      "%s.%s init default", g->name, f->name);
			continue;
		}
		CHECK(memcmp((char *)gm + f->offset, (char *)dm + f->offset,
		             n) == 0,
		      "%s.%s init value", g->name, f->name);
	}
	free(gm);
	free(dm);
}

static void cmp_service(dyn_schema *s, const rpc_service_desc *svc)
{
	for (size_t i = 0; i < svc->n_methods; i++) {
		const rpc_method *gm = &svc->methods[i];
		char wire[256];
		snprintf(wire, sizeof wire, "%s.%s", svc->name, gm->name);
		const dyn_method *dm = dyn_method_find(s, wire);
		CHECK(dm != NULL, "no method %s", wire);
		if (dm == NULL)
			continue;
		const rpc_type *gt[2] = {gm->args, gm->reply};
		const rpc_type *dt[2] = {dm->method.args, dm->method.reply};
		for (int k = 0; k < 2; k++) {
			CHECK(strcmp(gt[k]->name, dt[k]->name) == 0 &&
			          gt[k]->form == dt[k]->form,
			      "%s %s type %s/%d vs %s/%d", wire,
			      k ? "reply" : "args", gt[k]->name, gt[k]->form,
			      dt[k]->name, dt[k]->form);
			cmp_message(gt[k]->desc, dt[k]->desc);
		}
	}
}

static dyn_schema *load(const char *dir, const char *name, idl_program **prog)
{
	char path[1024];
	dyn_schema *s = NULL;
	const char *inc[] = {dir};
	idl_options o = {.include_dirs = inc, .n_include_dirs = 1};

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (idl_load(path, &o, prog) != 0) {
		printf("FAIL cannot load %s\n", path);
		exit(1);
	}
	char *err = dyn_schema_new(*prog, &s);
	if (err != NULL) {
		printf("FAIL %s: %s\n", path, err);
		exit(1);
	}
	return s;
}

int main(int argc, char **argv)
{
	idl_program *p1, *p2, *p3;

	if (argc != 2) {
		fprintf(stderr, "usage: test_dyndesc GOLDEN_DIR\n");
		return 2;
	}
	dyn_schema *all = load(argv[1], "all.rpc", &p1);
	cmp_service(all, &all_Arith_service);
	cmp_service(all, &all_Echo_service);
	cmp_service(all, &all_Config_service);
	cmp_service(all, &all_Shapes_service);
	dyn_schema *kinds = load(argv[1], "kinds.rpc", &p2);
	cmp_service(kinds, &kinds_Kinds_service);
	/* a struct that no method uses is laid out too */
	const rpc_type *nested = dyn_struct_type(all, "Nested");
	CHECK(nested != NULL, "no struct Nested");
	if (nested != NULL)
		cmp_message(&all_Nested_descriptor, nested->desc);
	/* arrays: the view and the inline array at the generated offsets */
	dyn_schema *arrays = load(argv[1], "arrays.rpc", &p3);
	cmp_service(arrays, &arrays_Arrays_service);
	dyn_schema_free(all);
	dyn_schema_free(kinds);
	dyn_schema_free(arrays);
	idl_program_free(p1);
	idl_program_free(p2);
	idl_program_free(p3);
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
