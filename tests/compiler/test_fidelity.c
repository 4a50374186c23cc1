/* test_fidelity.c - the descriptors rpcgen-c emits encode exactly like the
 * ones protoc-c makes from the .proto that rpcgen-c --emit-proto writes.
 *
 * Each case fills our all_Everything (or a wrapper) and protoc-c's
 * All__Everything with the same values, packs both and compares the bytes
 * (a mismatch prints both hex dumps); then it unpacks our bytes through our
 * descriptor and checks every field against what was packed. The view of
 * protoc-c has proto3 `optional` as a one-field oneof (see
 * proto_for_protoc_c.py), which is the same on the wire.
 */
#include <check.h>
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "all.pb-c.h"
#include "all.rpc.h"
#include "kinds.pb-c.h"
#include "kinds.rpc.h"

/* The generated register functions call rpc_server_register; this test
 * never registers, so a weak stand-in lets it link while the runtime's
 * server is absent (the real one wins when librpc has it). */
__attribute__((weak)) rpc_error *
rpc_server_register(rpc_server *srv, const rpc_service_desc *desc,
                    const void *handlers, void *self, const char *name)
{
	(void)srv;
	(void)desc;
	(void)handlers;
	(void)self;
	(void)name;
	return rpc_error_new("rpc: no server in this test");
}

/* ---- helpers ------------------------------------------------------------- */

static void hex_dump(const char *label, const uint8_t *p, size_t n)
{
	fprintf(stderr, "%s (%zu bytes):", label, n);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", p[i]);
	fputc('\n', stderr);
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*len ? *len : 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

static bool msg_equal(const ProtobufCMessageDescriptor *d, const void *a,
                      const void *b);

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_ENUM:
	case PROTOBUF_C_TYPE_FLOAT:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return sizeof(void *);
	}
}

static bool value_equal(const ProtobufCFieldDescriptor *f, const void *a,
                        const void *b)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *x = *(char *const *)a, *y = *(char *const *)b;
		return strcmp(x ? x : "", y ? y : "") == 0;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *x = a, *y = b;
		return x->len == y->len &&
		       (x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const void *x = *(void *const *)a, *y = *(void *const *)b;
		if (x == NULL || y == NULL)
			return x == y;
		return msg_equal(f->descriptor, x, y);
	}
	case PROTOBUF_C_TYPE_BOOL:
		return !*(const protobuf_c_boolean *)a ==
		       !*(const protobuf_c_boolean *)b;
	default:
		return memcmp(a, b, elem_size(f->type)) == 0;
	}
}

/* msg_equal compares two messages of d field by field, as the wire sees
 * them (presence, counts, values). */
static bool msg_equal(const ProtobufCMessageDescriptor *d, const void *a,
                      const void *b)
{
	const char *pa = a, *pb = b;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t na =
			    *(const size_t *)(pa + f->quantifier_offset);
			size_t nb =
			    *(const size_t *)(pb + f->quantifier_offset);
			if (na != nb)
				return false;
			const char *ea = *(char *const *)(pa + f->offset);
			const char *eb = *(char *const *)(pb + f->offset);
			size_t sz = elem_size(f->type);
			for (size_t j = 0; j < na; j++) {
				if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
					const void *x = ((void *const *)ea)[j];
					const void *y = ((void *const *)eb)[j];
					if (!msg_equal(f->descriptor, x, y))
						return false;
				} else if (!value_equal(f, ea + j * sz,
				                        eb + j * sz)) {
					return false;
				}
			}
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0) {
			uint32_t ca = *(const uint32_t *)(pa +
			                                  f->quantifier_offset);
			uint32_t cb = *(const uint32_t *)(pb +
			                                  f->quantifier_offset);
			if (ca != cb)
				return false;
			if (ca != f->id)
				continue;
			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				if (!msg_equal(f->descriptor,
				               *(void *const *)(pa + f->offset),
				               *(void *const *)(pb + f->offset)))
					return false;
				continue;
			}
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
		           f->quantifier_offset != 0) {
			protobuf_c_boolean ha =
			    *(const protobuf_c_boolean *)(pa +
			                                  f->quantifier_offset);
			protobuf_c_boolean hb =
			    *(const protobuf_c_boolean *)(pb +
			                                  f->quantifier_offset);
			if (!ha != !hb)
				return false;
			if (!ha)
				continue;
		}
		if (f->type == PROTOBUF_C_TYPE_STRING &&
		    f->label == PROTOBUF_C_LABEL_OPTIONAL) {
			const char *x = *(char *const *)(pa + f->offset);
			const char *y = *(char *const *)(pb + f->offset);
			if ((x == NULL) != (y == NULL))
				return false;
			if (x == NULL)
				continue;
		}
		if (!value_equal(f, pa + f->offset, pb + f->offset))
			return false;
	}
	return true;
}

/* check_same packs ours and theirs, compares the bytes, then unpacks ours
 * and compares the result with ours. */
static void check_same(const ProtobufCMessage *ours,
                       const ProtobufCMessage *theirs)
{
	size_t n1, n2;
	uint8_t *b1 = pack(ours, &n1);
	uint8_t *b2 = pack(theirs, &n2);
	bool same = n1 == n2 && memcmp(b1, b2, n1) == 0;
	if (!same) {
		hex_dump("rpcgen-c descriptors", b1, n1);
		hex_dump("protoc-c descriptors", b2, n2);
	}
	ck_assert_msg(same, "packed bytes differ for %s",
	              ours->descriptor->name);

	ProtobufCMessage *back =
	    protobuf_c_message_unpack(ours->descriptor, NULL, n1, b1);
	ck_assert_ptr_nonnull(back);
	ck_assert_msg(msg_equal(ours->descriptor, ours, back),
	              "%s does not survive pack and unpack",
	              ours->descriptor->name);
	/* protoc-c's descriptors read our bytes too */
	ProtobufCMessage *theirs_back =
	    protobuf_c_message_unpack(theirs->descriptor, NULL, n1, b1);
	ck_assert_ptr_nonnull(theirs_back);
	size_t n3;
	uint8_t *b3 = pack(theirs_back, &n3);
	ck_assert_mem_eq(b3, b1, n1);
	ck_assert_uint_eq(n3, n1);
	free(b3);
	protobuf_c_message_free_unpacked(theirs_back, NULL);
	protobuf_c_message_free_unpacked(back, NULL);
	free(b1);
	free(b2);
}

/* ---- cases over Everything ----------------------------------------------- */

typedef void fill_fn(all_Everything *o, All__Everything *t);

static void fill_zero(all_Everything *o, All__Everything *t)
{
	(void)o;
	(void)t;
}

static void fill_scalars(all_Everything *o, All__Everything *t)
{
	o->Flag = t->flag = 1;
	o->I = t->i = -123456;
	o->L = t->l = -9876543210LL;
	o->U = t->u = 4000000000U;
	o->UL = t->ul = 18000000000000000000ULL;
	o->F = t->f = -1.5f;
	o->D = t->d = 3.141592653589793;
}

static void fill_limits_max(all_Everything *o, All__Everything *t)
{
	o->I = t->i = INT32_MAX;
	o->L = t->l = INT64_MAX;
	o->U = t->u = UINT32_MAX;
	o->UL = t->ul = UINT64_MAX;
	o->F = t->f = FLT_MAX;
	o->D = t->d = DBL_MAX;
}

static void fill_limits_min(all_Everything *o, All__Everything *t)
{
	o->I = t->i = INT32_MIN;
	o->L = t->l = INT64_MIN;
	o->U = t->u = 1;
	o->UL = t->ul = 1;
	o->F = t->f = -FLT_MAX;
	o->D = t->d = -DBL_MIN;
}

static void fill_text(all_Everything *o, All__Everything *t)
{
	static uint8_t blob[] = {0, 1, 2, 0xff, 0, 0x80};
	o->Name = t->name =
	    "h\xc3\xa9llo, \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8c\x8d";
	o->Blob.data = t->blob.data = blob;
	o->Blob.len = t->blob.len = sizeof blob;
}

static void fill_enums(all_Everything *o, All__Everything *t)
{
	o->Kind = ALL_OP_NEG;
	t->kind = ALL__OP__NEG;
	o->Paint = COMMON_COLOR_BLUE;
	t->paint = COMMON__COLOR__BLUE;
}

static void fill_nested(all_Everything *o, All__Everything *t)
{
	static all_Args oa = ALL_ARGS_INIT;
	static All__Args ta = ALL__ARGS__INIT;
	static common_Point op = COMMON_POINT_INIT;
	static Common__Point tp = COMMON__POINT__INIT;
	oa.A = ta.a = -5;
	oa.B = ta.b = 7;
	op.X = tp.x = INT64_MIN;
	op.Y = tp.y = 0;
	o->Inner = &oa;
	t->inner = &ta;
	o->Where = &op;
	t->where = &tp;
}

static void fill_nested_empty(all_Everything *o, All__Everything *t)
{
	static all_Args oa = ALL_ARGS_INIT;
	static All__Args ta = ALL__ARGS__INIT;
	o->Inner = &oa; /* present but all zero: an empty submessage */
	t->inner = &ta;
}

static void fill_lists(all_Everything *o, All__Everything *t)
{
	static int64_t nums[] = {0, -1, 1, INT64_MIN, INT64_MAX};
	static char *names[] = {"", "a", "\xe2\x82\xac uro"};
	static uint8_t b0[] = {9, 0, 9};
	static ProtobufCBinaryData blobs[] = {{0, NULL}, {3, b0}};
	static double weights[] = {0.0, -0.5, 1e300};
	static all_Op oops[] = {ALL_OP_NEG, ALL_OP_MUL, ALL_OP_ADD};
	static All__Op tops[] = {ALL__OP__NEG, ALL__OP__MUL, ALL__OP__ADD};
	static all_Args oa1 = ALL_ARGS_INIT, oa2 = ALL_ARGS_INIT;
	static All__Args ta1 = ALL__ARGS__INIT, ta2 = ALL__ARGS__INIT;
	static all_Args *oitems[] = {&oa1, &oa2};
	static All__Args *titems[] = {&ta1, &ta2};
	static common_Point op1 = COMMON_POINT_INIT;
	static Common__Point tp1 = COMMON__POINT__INIT;
	static common_Point *opath[] = {&op1};
	static Common__Point *tpath[] = {&tp1};
	oa1.A = ta1.a = 1;
	oa2.B = ta2.b = -2;
	op1.X = tp1.x = 3;
	op1.Y = tp1.y = -4;

	o->n_Nums = t->n_nums = 5;
	o->Nums = t->nums = nums;
	o->n_Names = t->n_names = 3;
	o->Names = t->names = names;
	o->n_Blobs = t->n_blobs = 2;
	o->Blobs = t->blobs = blobs;
	o->n_Weights = t->n_weights = 3;
	o->Weights = t->weights = weights;
	o->n_Ops = t->n_ops = 3;
	o->Ops = oops;
	t->ops = tops;
	o->n_Items = t->n_items = 2;
	o->Items = oitems;
	t->items = titems;
	o->n_Path = t->n_path = 1;
	o->Path = opath;
	t->path = tpath;
}

static void fill_maps(all_Everything *o, All__Everything *t)
{
	/* one entry of each key kind and each value kind */
	static all_Everything_ByBoolEntry ob1 = ALL_EVERYTHING_BYBOOLENTRY_INIT,
	                                  ob2 = ALL_EVERYTHING_BYBOOLENTRY_INIT;
	static All__Everything__ByBoolEntry
	    tb1 = ALL__EVERYTHING__BY_BOOL_ENTRY__INIT,
	    tb2 = ALL__EVERYTHING__BY_BOOL_ENTRY__INIT;
	static all_Everything_ByBoolEntry *obs[] = {&ob1, &ob2};
	static All__Everything__ByBoolEntry *tbs[] = {&tb1, &tb2};
	ob1.key = tb1.key = 1;
	ob1.value = tb1.value = "yes";
	ob2.key = tb2.key = 0;
	ob2.value = tb2.value = "";
	o->n_ByBool = t->n_bybool = 2;
	o->ByBool = obs;
	t->bybool = tbs;

	static all_Everything_ByInt32Entry oi =
	    ALL_EVERYTHING_BYINT32ENTRY_INIT;
	static All__Everything__ByInt32Entry ti =
	    ALL__EVERYTHING__BY_INT32_ENTRY__INIT;
	static all_Everything_ByInt32Entry *ois[] = {&oi};
	static All__Everything__ByInt32Entry *tis[] = {&ti};
	oi.key = ti.key = -1;
	oi.value = ti.value = INT64_MIN;
	o->n_ByInt32 = t->n_byint32 = 1;
	o->ByInt32 = ois;
	t->byint32 = tis;

	static all_Args oa = ALL_ARGS_INIT;
	static All__Args ta = ALL__ARGS__INIT;
	static all_Everything_ByInt64Entry ol =
	    ALL_EVERYTHING_BYINT64ENTRY_INIT;
	static All__Everything__ByInt64Entry tl =
	    ALL__EVERYTHING__BY_INT64_ENTRY__INIT;
	static all_Everything_ByInt64Entry *ols[] = {&ol};
	static All__Everything__ByInt64Entry *tls[] = {&tl};
	oa.A = ta.a = 42;
	ol.key = tl.key = INT64_MAX;
	ol.value = &oa;
	tl.value = &ta;
	o->n_ByInt64 = t->n_byint64 = 1;
	o->ByInt64 = ols;
	t->byint64 = tls;

	static all_Everything_ByUint32Entry ou =
	    ALL_EVERYTHING_BYUINT32ENTRY_INIT;
	static All__Everything__ByUint32Entry tu =
	    ALL__EVERYTHING__BY_UINT32_ENTRY__INIT;
	static all_Everything_ByUint32Entry *ous[] = {&ou};
	static All__Everything__ByUint32Entry *tus[] = {&tu};
	ou.key = tu.key = UINT32_MAX;
	ou.value = tu.value = -0.25;
	o->n_ByUint32 = t->n_byuint32 = 1;
	o->ByUint32 = ous;
	t->byuint32 = tus;

	static uint8_t bytes[] = {0xde, 0xad, 0, 0xbe, 0xef};
	static all_Everything_ByUint64Entry ov =
	    ALL_EVERYTHING_BYUINT64ENTRY_INIT;
	static All__Everything__ByUint64Entry tv =
	    ALL__EVERYTHING__BY_UINT64_ENTRY__INIT;
	static all_Everything_ByUint64Entry *ovs[] = {&ov};
	static All__Everything__ByUint64Entry *tvs[] = {&tv};
	ov.key = tv.key = UINT64_MAX;
	ov.value.data = tv.value.data = bytes;
	ov.value.len = tv.value.len = sizeof bytes;
	o->n_ByUint64 = t->n_byuint64 = 1;
	o->ByUint64 = ovs;
	t->byuint64 = tvs;

	static all_Everything_CountsEntry oc1 = ALL_EVERYTHING_COUNTSENTRY_INIT,
	                                  oc2 = ALL_EVERYTHING_COUNTSENTRY_INIT;
	static All__Everything__CountsEntry
	    tc1 = ALL__EVERYTHING__COUNTS_ENTRY__INIT,
	    tc2 = ALL__EVERYTHING__COUNTS_ENTRY__INIT;
	static all_Everything_CountsEntry *ocs[] = {&oc1, &oc2};
	static All__Everything__CountsEntry *tcs[] = {&tc1, &tc2};
	oc1.key = tc1.key = "\xce\xb1\xce\xb2";
	oc1.value = tc1.value = 1;
	oc2.key = tc2.key = "";
	oc2.value = tc2.value = -1;
	o->n_Counts = t->n_counts = 2;
	o->Counts = ocs;
	t->counts = tcs;

	static common_Point op = COMMON_POINT_INIT;
	static Common__Point tp = COMMON__POINT__INIT;
	static all_Everything_PlacesEntry opl = ALL_EVERYTHING_PLACESENTRY_INIT;
	static All__Everything__PlacesEntry tpl =
	    ALL__EVERYTHING__PLACES_ENTRY__INIT;
	static all_Everything_PlacesEntry *opls[] = {&opl};
	static All__Everything__PlacesEntry *tpls[] = {&tpl};
	op.X = tp.x = 10;
	opl.key = tpl.key = "home";
	opl.value = &op;
	tpl.value = &tp;
	o->n_Places = t->n_places = 1;
	o->Places = opls;
	t->places = tpls;

	static all_Everything_OpsByNameEntry oo =
	    ALL_EVERYTHING_OPSBYNAMEENTRY_INIT;
	static All__Everything__OpsByNameEntry to =
	    ALL__EVERYTHING__OPS_BY_NAME_ENTRY__INIT;
	static all_Everything_OpsByNameEntry *oos[] = {&oo};
	static All__Everything__OpsByNameEntry *tos[] = {&to};
	oo.key = to.key = "neg";
	oo.value = ALL_OP_NEG;
	to.value = ALL__OP__NEG;
	o->n_OpsByName = t->n_opsbyname = 1;
	o->OpsByName = oos;
	t->opsbyname = tos;
}

/* optional fields set to their zero values are still sent */
static void fill_optional_zero(all_Everything *o, All__Everything *t)
{
	o->has_MaybeFlag = 1;
	t->__maybe_flag_case = ALL__EVERYTHING____MAYBE_FLAG_MAYBE_FLAG;
	o->has_Maybe = 1;
	t->__maybe_case = ALL__EVERYTHING____MAYBE_MAYBE;
	o->has_MaybeL = 1;
	t->__maybe_l_case = ALL__EVERYTHING____MAYBE_L_MAYBE_L;
	o->has_MaybeU = 1;
	t->__maybe_u_case = ALL__EVERYTHING____MAYBE_U_MAYBE_U;
	o->has_MaybeUL = 1;
	t->__maybe_ul_case = ALL__EVERYTHING____MAYBE_UL_MAYBE_UL;
	o->has_MaybeF = 1;
	t->__maybe_f_case = ALL__EVERYTHING____MAYBE_F_MAYBE_F;
	o->has_MaybeD = 1;
	t->__maybe_d_case = ALL__EVERYTHING____MAYBE_D_MAYBE_D;
	o->MaybeName = "";
	t->__maybe_name_case = ALL__EVERYTHING____MAYBE_NAME_MAYBE_NAME;
	t->maybename = "";
	o->has_MaybeBlob = 1;
	t->__maybe_blob_case = ALL__EVERYTHING____MAYBE_BLOB_MAYBE_BLOB;
	o->has_MaybeOp = 1;
	o->MaybeOp = ALL_OP_ADD;
	t->__maybe_op_case = ALL__EVERYTHING____MAYBE_OP_MAYBE_OP;
	t->maybeop = ALL__OP__ADD;
}

static void fill_optional_values(all_Everything *o, All__Everything *t)
{
	static uint8_t b[] = {1, 2, 3};
	fill_optional_zero(o, t);
	o->MaybeFlag = t->maybeflag = 1;
	o->Maybe = t->maybe = INT32_MIN;
	o->MaybeL = t->maybel = -1;
	o->MaybeU = t->maybeu = UINT32_MAX;
	o->MaybeUL = t->maybeul = UINT64_MAX;
	o->MaybeF = t->maybef = 0.5f;
	o->MaybeD = t->maybed = -2.0;
	o->MaybeName = t->maybename = "\xe2\x9c\x93";
	o->MaybeBlob.data = t->maybeblob.data = b;
	o->MaybeBlob.len = t->maybeblob.len = sizeof b;
	o->MaybeOp = ALL_OP_NEG;
	t->maybeop = ALL__OP__NEG;
}

/* unset optional fields are not sent even when the value is not zero */
static void fill_optional_unset(all_Everything *o, All__Everything *t)
{
	o->Maybe = 5;
	o->MaybeName = NULL;
	(void)t;
}

static void fill_everything(all_Everything *o, All__Everything *t)
{
	fill_scalars(o, t);
	fill_text(o, t);
	fill_enums(o, t);
	fill_nested(o, t);
	fill_lists(o, t);
	fill_maps(o, t);
	fill_optional_values(o, t);
}

static const struct {
	const char *name;
	fill_fn *fill;
} cases[] = {
    {"zero values", fill_zero},
    {"scalars", fill_scalars},
    {"max values", fill_limits_max},
    {"min values", fill_limits_min},
    {"unicode string and bytes", fill_text},
    {"enums", fill_enums},
    {"nested structs", fill_nested},
    {"empty nested struct", fill_nested_empty},
    {"lists", fill_lists},
    {"maps of every key kind", fill_maps},
    {"optional set to zero", fill_optional_zero},
    {"optional set", fill_optional_values},
    {"optional unset", fill_optional_unset},
    {"everything at once", fill_everything},
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

START_TEST(test_fidelity_everything_matches_protoc_c)
{
	all_Everything o = ALL_EVERYTHING_INIT;
	All__Everything t = ALL__EVERYTHING__INIT;
	fprintf(stderr, "case: %s\n", cases[_i].name);
	cases[_i].fill(&o, &t);
	check_same(&o.base, &t.base);
}
END_TEST

START_TEST(test_fidelity_empty_lists_send_nothing)
{
	all_Everything o = ALL_EVERYTHING_INIT;
	int64_t nums[1] = {7};
	o.n_Nums = 0;
	o.Nums = nums; /* a pointer with no elements is still empty */
	size_t n;
	uint8_t *b = pack(&o.base, &n);
	ck_assert_uint_eq(n, 0);
	free(b);
}
END_TEST

START_TEST(test_fidelity_nested_recursion)
{
	all_Nested o = ALL_NESTED_INIT, oc = ALL_NESTED_INIT;
	All__Nested t = ALL__NESTED__INIT, tc = ALL__NESTED__INIT;
	all_Quotient oq = ALL_QUOTIENT_INIT;
	All__Quotient tq = ALL__QUOTIENT__INIT;
	all_Everything oe = ALL_EVERYTHING_INIT;
	All__Everything te = ALL__EVERYTHING__INIT;
	all_Nested *ochildren[] = {&oc};
	All__Nested *tchildren[] = {&tc};
	fill_scalars(&oe, &te);
	oq.Quo = tq.quo = 3;
	oq.Rem = tq.rem = -1;
	o.All = &oe;
	t.all = &te;
	oc.Q = &oq;
	tc.q = &tq;
	o.n_Children = t.n_children = 1;
	o.Children = ochildren;
	t.children = tchildren;
	check_same(&o.base, &t.base);
}
END_TEST

/* ---- wrappers ------------------------------------------------------------ */

START_TEST(test_fidelity_wrappers_match_protoc_c)
{
	all_Int64Value oi = ALL_INT64VALUE_INIT;
	All__Int64Value ti = ALL__INT64_VALUE__INIT;
	oi.value = ti.value = -42;
	check_same(&oi.base, &ti.base);

	int64_t nums[] = {3, -3, 0};
	all_Int64List ol = ALL_INT64LIST_INIT;
	All__Int64List tl = ALL__INT64_LIST__INIT;
	ol.n_value = tl.n_value = 3;
	ol.value = tl.value = nums;
	check_same(&ol.base, &tl.base);

	all_StringInt64Map_ValueEntry oe = ALL_STRINGINT64MAP_VALUEENTRY_INIT;
	All__StringInt64Map__ValueEntry te =
	    ALL__STRING_INT64_MAP__VALUE_ENTRY__INIT;
	all_StringInt64Map_ValueEntry *oes[] = {&oe};
	All__StringInt64Map__ValueEntry *tes[] = {&te};
	oe.key = te.key = "k";
	oe.value = te.value = 9;
	all_StringInt64Map om = ALL_STRINGINT64MAP_INIT;
	All__StringInt64Map tm = ALL__STRING_INT64_MAP__INIT;
	om.n_value = tm.n_value = 1;
	om.value = oes;
	tm.value = tes;
	check_same(&om.base, &tm.base);

	all_StringValue os = ALL_STRINGVALUE_INIT;
	All__StringValue ts = ALL__STRING_VALUE__INIT;
	os.value = ts.value = "\xf0\x9f\x98\x80";
	check_same(&os.base, &ts.base);

	uint8_t raw[] = {0, 0};
	all_BytesValue ob = ALL_BYTESVALUE_INIT;
	All__BytesValue tb = ALL__BYTES_VALUE__INIT;
	ob.value.data = tb.value.data = raw;
	ob.value.len = tb.value.len = sizeof raw;
	check_same(&ob.base, &tb.base);

	all_OpValue oo = ALL_OPVALUE_INIT;
	All__OpValue to = ALL__OP_VALUE__INIT;
	oo.value = ALL_OP_NEG;
	to.value = ALL__OP__NEG;
	check_same(&oo.base, &to.base);

	all_Args oa = ALL_ARGS_INIT;
	All__Args ta = ALL__ARGS__INIT;
	all_Args *oas[] = {&oa, &oa};
	All__Args *tas[] = {&ta, &ta};
	oa.A = ta.a = 1;
	all_ArgsList oal = ALL_ARGSLIST_INIT;
	All__ArgsList tal = ALL__ARGS_LIST__INIT;
	oal.n_value = tal.n_value = 2;
	oal.value = oas;
	tal.value = tas;
	check_same(&oal.base, &tal.base);
}
END_TEST

/* ---- kinds.rpc: a list of each element kind, a map of each value kind -- */

START_TEST(test_fidelity_lists_of_each_kind)
{
	static protobuf_c_boolean bools[] = {1, 0, 1};
	static int32_t i32s[] = {INT32_MIN, -1, 0, INT32_MAX};
	static int64_t i64s[] = {INT64_MIN, INT64_MAX};
	static uint32_t u32s[] = {0, UINT32_MAX};
	static uint64_t u64s[] = {UINT64_MAX, 1};
	static float floats[] = {-0.0f, 1.25f, FLT_MIN};
	static double doubles[] = {DBL_MAX, -1e-300};
	static char *strings[] = {"", "\xd0\xb6", "plain"};
	static uint8_t raw[] = {0, 255};
	static ProtobufCBinaryData blobs[] = {{2, raw}, {0, NULL}};
	static kinds_Level olevels[] = {KINDS_LEVEL_MINUS, KINDS_LEVEL_HIGH};
	static Kinds__Level tlevels[] = {KINDS__LEVEL__MINUS,
	                                 KINDS__LEVEL__HIGH};
	kinds_Pair op = KINDS_PAIR_INIT;
	Kinds__Pair tp = KINDS__PAIR__INIT;
	kinds_Pair *opairs[] = {&op};
	Kinds__Pair *tpairs[] = {&tp};
	op.K = tp.k = "k";
	op.V = tp.v = -3;

	kinds_Lists o = KINDS_LISTS_INIT;
	Kinds__Lists t = KINDS__LISTS__INIT;
	check_same(&o.base, &t.base); /* every list empty */
	o.n_Bools = t.n_bools = 3;
	o.Bools = t.bools = bools;
	o.n_I32s = t.n_i32s = 4;
	o.I32s = t.i32s = i32s;
	o.n_I64s = t.n_i64s = 2;
	o.I64s = t.i64s = i64s;
	o.n_U32s = t.n_u32s = 2;
	o.U32s = t.u32s = u32s;
	o.n_U64s = t.n_u64s = 2;
	o.U64s = t.u64s = u64s;
	o.n_Floats = t.n_floats = 3;
	o.Floats = t.floats = floats;
	o.n_Doubles = t.n_doubles = 2;
	o.Doubles = t.doubles = doubles;
	o.n_Strings = t.n_strings = 3;
	o.Strings = t.strings = strings;
	o.n_Blobs = t.n_blobs = 2;
	o.Blobs = t.blobs = blobs;
	o.n_Levels = t.n_levels = 2;
	o.Levels = olevels;
	t.levels = tlevels;
	o.n_Pairs = t.n_pairs = 1;
	o.Pairs = opairs;
	t.pairs = tpairs;
	check_same(&o.base, &t.base);
}
END_TEST

/* MAP_ENTRY declares entry N of map field F on both sides. */
#define MAP_ENTRY(OT, OINIT, TT, TINIT, key_, oval, tval, F, f)                \
	OT o_##F = OINIT;                                                      \
	TT t_##F = TINIT;                                                      \
	OT *o_##F##s[] = {&o_##F};                                             \
	TT *t_##F##s[] = {&t_##F};                                             \
	o_##F.key = t_##F.key = key_;                                          \
	o_##F.value = oval;                                                    \
	t_##F.value = tval;                                                    \
	o.n_##F = t.n_##f = 1;                                                 \
	o.F = o_##F##s;                                                        \
	t.f = t_##F##s

START_TEST(test_fidelity_maps_of_each_value_kind)
{
	kinds_Maps o = KINDS_MAPS_INIT;
	Kinds__Maps t = KINDS__MAPS__INIT;
	uint8_t raw[] = {1, 0, 2};
	ProtobufCBinaryData blob = {3, raw};
	kinds_Pair op = KINDS_PAIR_INIT;
	Kinds__Pair tp = KINDS__PAIR__INIT;
	op.V = tp.v = 9;

	MAP_ENTRY(kinds_Maps_BoolsEntry, KINDS_MAPS_BOOLSENTRY_INIT,
	          Kinds__Maps__BoolsEntry, KINDS__MAPS__BOOLS_ENTRY__INIT, "b",
	          1, 1, Bools, bools);
	MAP_ENTRY(kinds_Maps_I32sEntry, KINDS_MAPS_I32SENTRY_INIT,
	          Kinds__Maps__I32sEntry, KINDS__MAPS__I32S_ENTRY__INIT, "i",
	          INT32_MIN, INT32_MIN, I32s, i32s);
	MAP_ENTRY(kinds_Maps_I64sEntry, KINDS_MAPS_I64SENTRY_INIT,
	          Kinds__Maps__I64sEntry, KINDS__MAPS__I64S_ENTRY__INIT, "", -1,
	          -1, I64s, i64s);
	MAP_ENTRY(kinds_Maps_U32sEntry, KINDS_MAPS_U32SENTRY_INIT,
	          Kinds__Maps__U32sEntry, KINDS__MAPS__U32S_ENTRY__INIT, "u",
	          UINT32_MAX, UINT32_MAX, U32s, u32s);
	MAP_ENTRY(kinds_Maps_U64sEntry, KINDS_MAPS_U64SENTRY_INIT,
	          Kinds__Maps__U64sEntry, KINDS__MAPS__U64S_ENTRY__INIT, "U",
	          UINT64_MAX, UINT64_MAX, U64s, u64s);
	MAP_ENTRY(kinds_Maps_FloatsEntry, KINDS_MAPS_FLOATSENTRY_INIT,
	          Kinds__Maps__FloatsEntry, KINDS__MAPS__FLOATS_ENTRY__INIT,
	          "f", -2.5f, -2.5f, Floats, floats);
	MAP_ENTRY(kinds_Maps_DoublesEntry, KINDS_MAPS_DOUBLESENTRY_INIT,
	          Kinds__Maps__DoublesEntry, KINDS__MAPS__DOUBLES_ENTRY__INIT,
	          "d", 0.0, 0.0, Doubles, doubles);
	MAP_ENTRY(kinds_Maps_StringsEntry, KINDS_MAPS_STRINGSENTRY_INIT,
	          Kinds__Maps__StringsEntry, KINDS__MAPS__STRINGS_ENTRY__INIT,
	          "\xe2\x98\x83", "snow \xe2\x98\x83", "snow \xe2\x98\x83",
	          Strings, strings);
	MAP_ENTRY(kinds_Maps_BlobsEntry, KINDS_MAPS_BLOBSENTRY_INIT,
	          Kinds__Maps__BlobsEntry, KINDS__MAPS__BLOBS_ENTRY__INIT, "x",
	          blob, blob, Blobs, blobs);
	MAP_ENTRY(kinds_Maps_LevelsEntry, KINDS_MAPS_LEVELSENTRY_INIT,
	          Kinds__Maps__LevelsEntry, KINDS__MAPS__LEVELS_ENTRY__INIT,
	          "l", KINDS_LEVEL_MINUS, KINDS__LEVEL__MINUS, Levels, levels);
	MAP_ENTRY(kinds_Maps_PairsEntry, KINDS_MAPS_PAIRSENTRY_INIT,
	          Kinds__Maps__PairsEntry, KINDS__MAPS__PAIRS_ENTRY__INIT, "p",
	          &op, &tp, Pairs, pairs);
	check_same(&o.base, &t.base);
}
END_TEST

START_TEST(test_fidelity_sparse_numbers_and_optional_string)
{
	kinds_Sparse o = KINDS_SPARSE_INIT;
	Kinds__Sparse t = KINDS__SPARSE__INIT;
	o.One = t.one = 1;
	o.Ten = t.ten = -10;
	o.Big = t.big = 7;
	check_same(&o.base, &t.base); /* Note unset: not sent */
	o.Note = "";
	t.__note_case = KINDS__SPARSE____NOTE_NOTE;
	t.note = "";
	check_same(&o.base, &t.base); /* set to "": sent */
	ck_assert_uint_eq(kinds_Sparse_descriptor.n_field_ranges,
	                  kinds__sparse__descriptor.n_field_ranges);
	for (unsigned i = 0; i <= kinds_Sparse_descriptor.n_field_ranges; i++) {
		ck_assert_int_eq(
		    kinds_Sparse_descriptor.field_ranges[i].start_value,
		    kinds__sparse__descriptor.field_ranges[i].start_value);
		ck_assert_uint_eq(
		    kinds_Sparse_descriptor.field_ranges[i].orig_index,
		    kinds__sparse__descriptor.field_ranges[i].orig_index);
	}
	for (unsigned i = 0; i <= kinds_Level_descriptor.n_value_ranges; i++) {
		ck_assert_int_eq(
		    kinds_Level_descriptor.value_ranges[i].start_value,
		    kinds__level__descriptor.value_ranges[i].start_value);
		ck_assert_uint_eq(
		    kinds_Level_descriptor.value_ranges[i].orig_index,
		    kinds__level__descriptor.value_ranges[i].orig_index);
	}
}
END_TEST

/* A oneof: our case enum and union against protoc-c's, with each member
 * set (a zero member too: set, it is sent) and none. */
START_TEST(test_fidelity_oneof_matches_protoc_c)
{
	for (int k = 0; k < 8; k++) {
		all_Shape o = ALL_SHAPE_INIT;
		All__Shape t = ALL__SHAPE__INIT;
		all_Args ob = ALL_ARGS_INIT;
		All__Args tb = ALL__ARGS__INIT;
		uint8_t raw[] = {0, 1, 2};

		o.Name = t.name = "s";
		o.Tail = t.tail = k;
		switch (k) {
		case 1:
			o.kind_case = ALL_SHAPE_KIND_RADIUS;
			t.kind_case = ALL__SHAPE__KIND_RADIUS;
			o.Radius = t.radius = -5;
			break;
		case 2:
			o.kind_case = ALL_SHAPE_KIND_LABEL;
			t.kind_case = ALL__SHAPE__KIND_LABEL;
			o.Label = t.label = "lbl";
			break;
		case 3:
			o.kind_case = ALL_SHAPE_KIND_BOX;
			t.kind_case = ALL__SHAPE__KIND_BOX;
			ob.A = tb.a = 3;
			o.Box = &ob;
			t.box = &tb;
			break;
		case 4:
			o.kind_case = ALL_SHAPE_KIND_RAW;
			t.kind_case = ALL__SHAPE__KIND_RAW;
			o.Raw.data = t.raw.data = raw;
			o.Raw.len = t.raw.len = sizeof raw;
			break;
		case 5:
			o.kind_case = ALL_SHAPE_KIND_MODE;
			t.kind_case = ALL__SHAPE__KIND_MODE;
			o.Mode = ALL_OP_NEG;
			t.mode = ALL__OP__NEG;
			break;
		case 6:
			o.kind_case = ALL_SHAPE_KIND_RATIO;
			t.kind_case = ALL__SHAPE__KIND_RATIO;
			o.Ratio = t.ratio = 0.25;
			break;
		case 7: /* set to zero: still the member that is set */
			o.kind_case = ALL_SHAPE_KIND_RADIUS;
			t.kind_case = ALL__SHAPE__KIND_RADIUS;
			break;
		default:
			break;
		}
		check_same(&o.base, &t.base);
	}
	/* two members in one protobuf message (two messages concatenated):
	 * the last one wins, protobuf's rule, and the first is freed */
	{
		all_Shape a = ALL_SHAPE_INIT, b = ALL_SHAPE_INIT;
		size_t na, nb;
		a.kind_case = ALL_SHAPE_KIND_LABEL;
		a.Label = "first";
		b.kind_case = ALL_SHAPE_KIND_RADIUS;
		b.Radius = 9;
		uint8_t *pa = pack(&a.base, &na), *pb = pack(&b.base, &nb);
		uint8_t *both = malloc(na + nb);
		ck_assert_ptr_nonnull(both);
		memcpy(both, pa, na);
		memcpy(both + na, pb, nb);
		all_Shape *r = (all_Shape *)protobuf_c_message_unpack(
		    &all_Shape_descriptor, NULL, na + nb, both);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(r->kind_case, ALL_SHAPE_KIND_RADIUS);
		ck_assert_int_eq(r->Radius, 9);
		protobuf_c_message_free_unpacked(&r->base, NULL);
		free(both);
		free(pa);
		free(pb);
	}
	/* the layouts differ on purpose: protoc-c puts oneofs after the
	 * other fields, we keep the order of the .rpc file */
	ck_assert_uint_lt(offsetof(all_Shape, kind_case),
	                  offsetof(all_Shape, Tail));
	ck_assert_uint_eq(offsetof(all_Shape, Radius),
	                  offsetof(all_Shape, Ratio));
}
END_TEST

START_TEST(test_fidelity_kinds_wrappers)
{
	float fl[] = {1.0f, -1.0f};
	kinds_FloatList ol = KINDS_FLOATLIST_INIT;
	Kinds__FloatList tl = KINDS__FLOAT_LIST__INIT;
	ol.n_value = tl.n_value = 2;
	ol.value = tl.value = fl;
	check_same(&ol.base, &tl.base);

	kinds_Int32FloatMap_ValueEntry oe = KINDS_INT32FLOATMAP_VALUEENTRY_INIT;
	Kinds__Int32FloatMap__ValueEntry te =
	    KINDS__INT32_FLOAT_MAP__VALUE_ENTRY__INIT;
	kinds_Int32FloatMap_ValueEntry *oes[] = {&oe};
	Kinds__Int32FloatMap__ValueEntry *tes[] = {&te};
	oe.key = te.key = -5;
	oe.value = te.value = 0.5f;
	kinds_Int32FloatMap om = KINDS_INT32FLOATMAP_INIT;
	Kinds__Int32FloatMap tm = KINDS__INT32_FLOAT_MAP__INIT;
	om.n_value = tm.n_value = 1;
	om.value = oes;
	tm.value = tes;
	check_same(&om.base, &tm.base);

	kinds_Empty oz = KINDS_EMPTY_INIT;
	Kinds__Empty tz = KINDS__EMPTY__INIT;
	check_same(&oz.base, &tz.base);
	ck_assert_uint_eq(kinds_Empty_descriptor.n_fields, 0);

	kinds_LevelValue ov = KINDS_LEVELVALUE_INIT;
	Kinds__LevelValue tv = KINDS__LEVEL_VALUE__INIT;
	ov.value = KINDS_LEVEL_MINUS;
	tv.value = KINDS__LEVEL__MINUS;
	check_same(&ov.base, &tv.base);
}
END_TEST

/* ---- descriptors --------------------------------------------------------- */

START_TEST(test_fidelity_descriptor_names_match_protoc_c)
{
	ck_assert_str_eq(all_Everything_descriptor.name,
	                 all__everything__descriptor.name);
	ck_assert_str_eq(all_Everything_CountsEntry_descriptor.name,
	                 all__everything__counts_entry__descriptor.name);
	ck_assert_str_eq(all_Op_descriptor.name, all__op__descriptor.name);
	ck_assert_uint_eq(all_Op_descriptor.n_value_ranges,
	                  all__op__descriptor.n_value_ranges);
	ck_assert_uint_eq(all_Everything_descriptor.n_field_ranges,
	                  all__everything__descriptor.n_field_ranges);
	for (unsigned i = 0; i < all_Everything_descriptor.n_fields; i++) {
		const ProtobufCFieldDescriptor *a =
		    &all_Everything_descriptor.fields[i];
		const ProtobufCFieldDescriptor *b =
		    &all__everything__descriptor.fields[i];
		ck_assert_str_eq(a->name, b->name);
		ck_assert_uint_eq(a->id, b->id);
		ck_assert_int_eq(a->type, b->type);
		ck_assert_uint_eq(a->flags & PROTOBUF_C_FIELD_FLAG_PACKED,
		                  b->flags & PROTOBUF_C_FIELD_FLAG_PACKED);
		ck_assert_uint_eq(
		    all_Everything_descriptor.fields_sorted_by_name[i],
		    all__everything__descriptor.fields_sorted_by_name[i]);
	}
	/* lookups through our descriptors */
	ck_assert_ptr_nonnull(protobuf_c_message_descriptor_get_field_by_name(
	    &all_Everything_descriptor, "OpsByName"));
	ck_assert_ptr_nonnull(protobuf_c_message_descriptor_get_field(
	    &all_Everything_descriptor, 1));
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(&all_Op_descriptor, -1);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v->name, "NEG");
	v = protobuf_c_enum_descriptor_get_value_by_name(&all_Op_descriptor,
	                                                 "SUB");
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->value, 2);
	all_Everything z = ALL_EVERYTHING_INIT;
	ck_assert(protobuf_c_message_check(&z.base));
}
END_TEST

START_TEST(test_fidelity_free_contents_resets)
{
	all_Everything o = ALL_EVERYTHING_INIT;
	All__Everything t = ALL__EVERYTHING__INIT;
	fill_everything(&o, &t);
	size_t n;
	uint8_t *b = pack(&o.base, &n);
	all_Everything *back = (all_Everything *)protobuf_c_message_unpack(
	    &all_Everything_descriptor, NULL, n, b);
	ck_assert_ptr_nonnull(back);
	all_Everything copy = *back;
	free(back); /* contents now owned by copy */
	ck_assert_uint_eq(copy.n_Counts, 2);
	all_Everything_free_contents(&copy);
	ck_assert_uint_eq(copy.n_Counts, 0);
	ck_assert_ptr_null(copy.Inner);
	all_Everything_free_contents(NULL);
	free(b);
}
END_TEST

static Suite *fidelity_suite(void)
{
	Suite *s = suite_create("fidelity");
	TCase *tc = tcase_create("protoc-c");
	tcase_add_loop_test(tc, test_fidelity_everything_matches_protoc_c, 0,
	                    N_CASES);
	tcase_add_test(tc, test_fidelity_empty_lists_send_nothing);
	tcase_add_test(tc, test_fidelity_nested_recursion);
	tcase_add_test(tc, test_fidelity_wrappers_match_protoc_c);
	tcase_add_test(tc, test_fidelity_lists_of_each_kind);
	tcase_add_test(tc, test_fidelity_maps_of_each_value_kind);
	tcase_add_test(tc, test_fidelity_sparse_numbers_and_optional_string);
	tcase_add_test(tc, test_fidelity_kinds_wrappers);
	tcase_add_test(tc, test_fidelity_oneof_matches_protoc_c);
	suite_add_tcase(s, tc);
	tc = tcase_create("descriptors");
	tcase_add_test(tc, test_fidelity_descriptor_names_match_protoc_c);
	tcase_add_test(tc, test_fidelity_free_contents_resets);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fidelity_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
