/* desc.h - reading a message by its descriptor (private to librpc).
 *
 * Every question the runtime asks of a protobuf-c field descriptor is
 * answered here, once, as protobuf-c answers them in protobuf-c.c: what
 * kind of value a field holds and how many bytes its C storage takes,
 * whether it carries a quantifier and whether it is present, whether a map
 * field is a map, where an array's inline storage is, how Go names a
 * scalar type and a field, and how one scalar is read from and written to
 * its C storage. message.c, codec_gob.c, gob_types.c and codec_json.c use
 * these and keep no copies; what stays in a codec is its wire format (gob's
 * type ids, JSON's quoting and base64).
 *
 * What stays true:
 * - Presence follows protobuf-c's layout: a oneof member is present when
 *   the oneof's case (at quantifier_offset, a uint32_t) is its id; an
 *   optional scalar, enum or bytes field has a has_ flag (a
 *   protobuf_c_boolean at quantifier_offset); a repeated field has a count
 *   (a size_t at quantifier_offset); required fields, proto3 fields
 *   (label NONE) and optional strings and messages (present by their
 *   pointer) have no quantifier and are always present here, their value
 *   telling the rest (rpci_field_zero).
 * - Scalars are read into, and written from, an rpci_scalar of the field's
 *   kind; a write that does not fit the field's C type (an int32, a
 *   uint32 or a float) changes nothing and returns false, and the caller
 *   words the error as its wire has always worded it.
 * - Nothing here allocates, and nothing here prints.
 *
 * The functions on the decoding and encoding paths are static inline so
 * that a codec's inner loop costs what its own switch did.
 */
#ifndef RPCI_DESC_H
#define RPCI_DESC_H

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#define RPCI_DESC_AT(msg, off, type) ((type *)((char *)(msg) + (off)))

/* ---- kinds and sizes ----------------------------------------------------- */

/* What a field's C storage holds, whatever its protobuf encoding. */
typedef enum rpci_kind {
	RPCI_KIND_INT,     /* int32, sint32, sfixed32, enum, int64, sint64,
	                      sfixed64 */
	RPCI_KIND_UINT,    /* uint32, fixed32, uint64, fixed64 */
	RPCI_KIND_FLOAT,   /* float, double */
	RPCI_KIND_BOOL,    /* bool (a protobuf_c_boolean) */
	RPCI_KIND_STRING,  /* char *, NULL or NUL-terminated */
	RPCI_KIND_BYTES,   /* ProtobufCBinaryData */
	RPCI_KIND_MESSAGE, /* ProtobufCMessage * */
	RPCI_KIND_UNKNOWN, /* a type this runtime does not know */
} rpci_kind;

/* An enum is stored as an int; the runtime reads it as an int32_t. */
static_assert(sizeof(int) == sizeof(int32_t), "enums are 32 bits");

/* rpci_field_kind is the kind of field f's values. */
static inline rpci_kind rpci_field_kind(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return RPCI_KIND_INT;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return RPCI_KIND_UINT;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return RPCI_KIND_FLOAT;
	case PROTOBUF_C_TYPE_BOOL:
		return RPCI_KIND_BOOL;
	case PROTOBUF_C_TYPE_STRING:
		return RPCI_KIND_STRING;
	case PROTOBUF_C_TYPE_BYTES:
		return RPCI_KIND_BYTES;
	case PROTOBUF_C_TYPE_MESSAGE:
		return RPCI_KIND_MESSAGE;
	}
	return RPCI_KIND_UNKNOWN;
}

/* rpci_field_size is the size of one value of field f in C (one element
 * of a list or array; the whole value of a singular field, and the C value
 * RPC_FORM_VALUE passes): 4 or 8 for numbers, sizeof(protobuf_c_boolean)
 * for bool, sizeof(int) for enums, a pointer for strings and messages,
 * sizeof(ProtobufCBinaryData) for bytes; 0 for an unknown type. */
static inline size_t rpci_field_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return sizeof(int32_t);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(int64_t);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

/* ---- scalars ------------------------------------------------------------- */

/* One number or bool, tagged with its kind (RPCI_KIND_INT, _UINT, _FLOAT
 * or _BOOL). A float field reads as the double it converts to. */
typedef struct rpci_scalar {
	rpci_kind kind;
	union {
		int64_t i;
		uint64_t u;
		double d;
		bool b;
	} v;
} rpci_scalar;

/* rpci_field_read reads the scalar of field f (kind INT, UINT, FLOAT or
 * BOOL) stored at p. */
static inline rpci_scalar rpci_field_read(const ProtobufCFieldDescriptor *f,
                                          const void *p)
{
	rpci_scalar s = {.kind = rpci_field_kind(f)};
	bool wide = rpci_field_size(f) == 8;

	switch (s.kind) {
	case RPCI_KIND_INT:
		s.v.i = wide ? *(const int64_t *)p : *(const int32_t *)p;
		break;
	case RPCI_KIND_UINT:
		s.v.u = wide ? *(const uint64_t *)p : *(const uint32_t *)p;
		break;
	case RPCI_KIND_FLOAT:
		s.v.d = wide ? *(const double *)p : *(const float *)p;
		break;
	case RPCI_KIND_BOOL:
		s.v.b = *(const protobuf_c_boolean *)p != 0;
		break;
	default:
		assert(!"rpci_field_read: not a scalar");
		break;
	}
	return s;
}

/* rpci_field_write stores s, of field f's kind, at p. A value outside the
 * range of f's C type (an int32 or enum, a uint32, a finite float beyond
 * FLT_MAX) leaves p alone and returns false: "out of range", for the
 * caller to word. Infinities and NaN fit a float. */
static inline bool rpci_field_write(const ProtobufCFieldDescriptor *f, void *p,
                                    rpci_scalar s)
{
	bool wide = rpci_field_size(f) == 8;

	assert(s.kind == rpci_field_kind(f));
	switch (s.kind) {
	case RPCI_KIND_INT:
		if (wide) {
			*(int64_t *)p = s.v.i;
		} else {
			if (s.v.i < INT32_MIN || s.v.i > INT32_MAX)
				return false;
			*(int32_t *)p = (int32_t)s.v.i;
		}
		return true;
	case RPCI_KIND_UINT:
		if (wide) {
			*(uint64_t *)p = s.v.u;
		} else {
			if (s.v.u > UINT32_MAX)
				return false;
			*(uint32_t *)p = (uint32_t)s.v.u;
		}
		return true;
	case RPCI_KIND_FLOAT:
		if (wide) {
			*(double *)p = s.v.d;
		} else {
			if (isfinite(s.v.d) && fabs(s.v.d) > FLT_MAX)
				return false;
			*(float *)p = (float)s.v.d;
		}
		return true;
	case RPCI_KIND_BOOL:
		*(protobuf_c_boolean *)p = s.v.b;
		return true;
	default:
		assert(!"rpci_field_write: not a scalar");
		return false;
	}
}

/* rpci_field_zero says whether the value of field f at p is Go's zero
 * value: 0, false, a NULL or empty string, empty bytes, a NULL message.
 * (-0.0 is zero, as 0 == -0.0.) */
static inline bool rpci_field_zero(const ProtobufCFieldDescriptor *f,
                                   const void *p)
{
	switch (rpci_field_kind(f)) {
	case RPCI_KIND_INT:
	case RPCI_KIND_UINT:
		return rpci_field_size(f) == 8 ? *(const uint64_t *)p == 0
		                               : *(const uint32_t *)p == 0;
	case RPCI_KIND_FLOAT:
		return rpci_field_size(f) == 8 ? *(const double *)p == 0
		                               : *(const float *)p == 0;
	case RPCI_KIND_BOOL:
		return *(const protobuf_c_boolean *)p == 0;
	case RPCI_KIND_STRING: {
		const char *s = *(const char *const *)p;

		return s == NULL || s[0] == '\0';
	}
	case RPCI_KIND_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	case RPCI_KIND_MESSAGE:
		return *(const void *const *)p == NULL;
	default:
		return *(const uint32_t *)p == 0;
	}
}

/* ---- presence ------------------------------------------------------------ */

/* rpci_field_is_oneof says whether f is a member of a oneof. */
static inline bool rpci_field_is_oneof(const ProtobufCFieldDescriptor *f)
{
	return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

/* rpci_field_has_flag says whether f has a has_ flag: an optional field,
 * not in a oneof, holding a scalar, an enum or bytes. */
static inline bool rpci_field_has_flag(const ProtobufCFieldDescriptor *f)
{
	return f->label == PROTOBUF_C_LABEL_OPTIONAL &&
	       f->quantifier_offset != 0 && !rpci_field_is_oneof(f) &&
	       f->type != PROTOBUF_C_TYPE_STRING &&
	       f->type != PROTOBUF_C_TYPE_MESSAGE;
}

/* rpci_oneof_case reads the case of f's oneof in msg (the id of the member
 * set, 0 for none); rpci_oneof_set_case writes it. The case is a C enum
 * that libprotobuf-c stores as a uint32_t: memcpy, not a uint32_t lvalue,
 * so that a compiler's type-based aliasing cannot reorder the store
 * against a read of the enum member by name in the same function (clang
 * -O2 did, with these inline). */
static inline uint32_t rpci_oneof_case(const ProtobufCFieldDescriptor *f,
                                       const void *msg)
{
	uint32_t c;

	memcpy(&c, RPCI_DESC_AT(msg, f->quantifier_offset, const char),
	       sizeof c);
	return c;
}

static inline void rpci_oneof_set_case(const ProtobufCFieldDescriptor *f,
                                       void *msg, uint32_t c)
{
	memcpy(RPCI_DESC_AT(msg, f->quantifier_offset, char), &c, sizeof c);
}

/* rpci_field_quantified says whether f carries a quantifier: a has_ flag,
 * a oneof case or (repeated) a count. */
static inline bool rpci_field_quantified(const ProtobufCFieldDescriptor *f)
{
	return rpci_field_has_flag(f) || rpci_field_is_oneof(f) ||
	       f->label == PROTOBUF_C_LABEL_REPEATED;
}

/* rpci_field_present says whether field f of msg is present by its
 * quantifier: a oneof member is the set one, a has_ flag is set, a
 * repeated field has elements. A field without a quantifier is present. */
static inline bool rpci_field_present(const ProtobufCFieldDescriptor *f,
                                      const void *msg)
{
	if (rpci_field_is_oneof(f))
		return rpci_oneof_case(f, msg) == f->id;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *RPCI_DESC_AT(msg, f->quantifier_offset, const size_t) >
		       0;
	if (rpci_field_has_flag(f))
		return *RPCI_DESC_AT(msg, f->quantifier_offset,
		                     const protobuf_c_boolean) != 0;
	return true;
}

/* rpci_field_mark marks singular field f of msg present: sets its oneof's
 * case to f or its has_ flag; nothing for a field without either. */
static inline void rpci_field_mark(const ProtobufCFieldDescriptor *f, void *msg)
{
	if (rpci_field_is_oneof(f))
		rpci_oneof_set_case(f, msg, f->id);
	else if (rpci_field_has_flag(f))
		*RPCI_DESC_AT(msg, f->quantifier_offset, protobuf_c_boolean) =
		    1;
}

/* rpci_field_unmark undoes rpci_field_mark: clears the oneof's case (to
 * none) or the has_ flag. The value itself is left alone. */
static inline void rpci_field_unmark(const ProtobufCFieldDescriptor *f,
                                     void *msg)
{
	if (rpci_field_is_oneof(f))
		rpci_oneof_set_case(f, msg, 0);
	else if (rpci_field_has_flag(f))
		*RPCI_DESC_AT(msg, f->quantifier_offset, protobuf_c_boolean) =
		    0;
}

/* ---- maps and arrays ----------------------------------------------------- */

/* rpci_field_map tells a protobuf map field from a list: a repeated
 * message field whose entry type is named "<Field>Entry" (as protoc and
 * rpcgen-c name it) with exactly key = 1 (a scalar) and value = 2, neither
 * repeated. When true and key/value are not NULL, sets them to the entry's
 * two fields. The one rule every codec and message.c use. */
bool rpci_field_map(const ProtobufCFieldDescriptor *f,
                    const ProtobufCFieldDescriptor **key,
                    const ProtobufCFieldDescriptor **value);

/* Arrays. A field written T X[N] in the .rpc file is, in the generated
 * struct, a private view "size_t rpci_n_X; T *rpci_X;" followed by the
 * inline array "T X[N]". The protobuf descriptor names the view as an
 * ordinary repeated field, so libprotobuf-c and every codec's walker read
 * and write arrays as lists; reserved_flags holds N (0 on every other
 * field). libprotobuf-c never reads reserved_flags ("reserved for future
 * use" in protobuf-c.h; it is not one of its flags bits), so marking it is
 * invisible to protobuf-c's pack, unpack and check. internal.h has the
 * functions that move between the view and the array
 * (rpci_arrays_settle, rpci_arrays_arm). */

/* rpci_array_len is N when field f is an array, else 0. */
static inline uint32_t rpci_array_len(const ProtobufCFieldDescriptor *f)
{
	return f->label == PROTOBUF_C_LABEL_REPEATED ? f->reserved_flags : 0;
}

/* rpci_array_at points at the inline array of array field f in msg: the
 * first offset after the view's pointer aligned for the element type. */
void *rpci_array_at(const ProtobufCFieldDescriptor *f, const void *msg);

/* ---- Go's names ---------------------------------------------------------- */

/* rpci_field_go_scalar is the Go type of one value of f as Go's gob and
 * JSON errors print it ("int32", "float64", "[]uint8", ...), or NULL for a
 * message (each codec names those its own way). An enum is an int32. */
const char *rpci_field_go_scalar(const ProtobufCFieldDescriptor *f);

/* rpci_field_go_initial is the first letter of the Go name of the field
 * named name: the protobuf name with its first letter upper-cased (ASCII
 * only, whatever the locale); the rest of the name is unchanged. */
static inline char rpci_field_go_initial(const char *name)
{
	char c = name[0];

	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* rpci_field_go_named says whether go is the Go name of the field named
 * name (see rpci_field_go_initial): what gob's field names and JSON's keys
 * (before case folding) are matched by. */
static inline bool rpci_field_go_named(const char *go, const char *name)
{
	if (name[0] == '\0')
		return go[0] == '\0';
	return go[0] == rpci_field_go_initial(name) &&
	       strcmp(go + 1, name + 1) == 0;
}

#endif
