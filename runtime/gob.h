/* gob.h - pieces of the gob codec shared by codec_gob.c and gob_types.c
 * (private to librpc).
 *
 * gob is Go's self-describing stream format (encoding/gob, specified in
 * Go's src/encoding/gob/doc.go). A stream is a sequence of messages, each
 * an unsigned byte count followed by a signed type id: a negative id
 * introduces a type definition (a wireType value) for -id, a positive id a
 * value of that type. This header holds the number primitives, the table of
 * types received on a read stream and the table of types sent on a write
 * stream. See docs/gob.md for the mapping of protobuf-c types.
 */
#ifndef RPCI_GOB_H
#define RPCI_GOB_H

#include "codec.h"
#include "internal.h"

/* Predefined type ids (doc.go). */
enum {
	GOB_ID_BOOL = 1,
	GOB_ID_INT = 2,
	GOB_ID_UINT = 3,
	GOB_ID_FLOAT = 4,
	GOB_ID_BYTES = 5,
	GOB_ID_STRING = 6,
	GOB_ID_COMPLEX = 7,
	GOB_ID_INTERFACE = 8,
	GOB_FIRST_USER_ID = 64, /* user ids are > 64, as Go assigns them */
};

/* rpci_gob_builtin is the predefined type id of f's values (GOB_ID_INT for
 * every signed integer and enums, GOB_ID_UINT, _FLOAT, _BOOL, _STRING,
 * _BYTES), or 0 for a message. */
static inline int64_t rpci_gob_builtin(const ProtobufCFieldDescriptor *f)
{
	switch (rpci_field_kind(f)) {
	case RPCI_KIND_INT:
		return GOB_ID_INT;
	case RPCI_KIND_UINT:
		return GOB_ID_UINT;
	case RPCI_KIND_FLOAT:
		return GOB_ID_FLOAT;
	case RPCI_KIND_BOOL:
		return GOB_ID_BOOL;
	case RPCI_KIND_STRING:
		return GOB_ID_STRING;
	case RPCI_KIND_BYTES:
		return GOB_ID_BYTES;
	default:
		return 0;
	}
}

#define GOB_MAX_DEPTH 100  /* nesting bound for decoding and encoding */
#define GOB_MAX_TYPES 4096 /* type definitions accepted per stream */

/* ---- numbers ------------------------------------------------------------- */

typedef struct gob_cont gob_cont;

/* A cursor over bytes that are all present. The read functions return
 * false when the value is truncated or malformed; pos is then unspecified.
 * cont, when not NULL, lets rpci_gob_skip follow a value that Go split
 * across messages (see gob_cont); it is borrowed. */
typedef struct gob_reader {
	const uint8_t *p;
	size_t len;
	size_t pos;
	gob_cont *cont;
} gob_reader;

bool rpci_gob_read_uint(gob_reader *r, uint64_t *v);
bool rpci_gob_read_int(gob_reader *r, int64_t *v);
bool rpci_gob_read_float(gob_reader *r, double *v);
/* rpci_gob_read_bytes reads a length-prefixed byte string; *p points into r. */
bool rpci_gob_read_bytes(gob_reader *r, const uint8_t **p, size_t *n);
/* rpci_gob_read_count reads a slice/map count no larger than the bytes left
 * (every element takes at least one byte). */
bool rpci_gob_read_count(gob_reader *r, uint64_t *n);
/* rpci_gob_read_string returns a malloc'd NUL-terminated copy (caller frees) in
 * *s; false when truncated or out of memory (*oom tells which). */
bool rpci_gob_read_string(gob_reader *r, char **s, bool *oom);

/* Appenders return false on out of memory. */
bool rpci_gob_put_uint(rpci_buf *b, uint64_t v);
bool rpci_gob_put_int(rpci_buf *b, int64_t v);
bool rpci_gob_put_float(rpci_buf *b, double v);
bool rpci_gob_put_bytes(rpci_buf *b, const void *p, size_t n);

/* ---- types received (read side) ------------------------------------------ */

typedef enum gob_kind {
	GOB_K_STRUCT,
	GOB_K_SLICE,
	GOB_K_ARRAY,
	GOB_K_MAP,
	GOB_K_OPAQUE, /* GobEncoder, BinaryMarshaler, TextMarshaler: bytes */
} gob_kind;

typedef struct gob_wfield {
	char *name;
	int64_t id;
} gob_wfield;

typedef struct gob_wtype {
	int64_t id;
	gob_kind kind;
	char *name;
	int64_t elem; /* slice, array, map */
	int64_t key;  /* map */
	int64_t len;  /* array */
	size_t n_fields;
	gob_wfield *fields; /* struct */
} gob_wtype;

typedef struct gob_rtable {
	gob_wtype *v;
	size_t n, cap;
	bool interfaces; /* some type has an interface-typed part */
} gob_rtable;

/* rpci_gob_rtable_define parses the wireType in r (the rest of a type message)
 * and records it as id. Errors ("gob: ...") are the stream's end. */
rpc_error *rpci_gob_rtable_define(gob_rtable *t, int64_t id, gob_reader *r);
/* rpci_gob_rtable_find returns the definition of a user id or NULL. */
const gob_wtype *rpci_gob_rtable_find(const gob_rtable *t, int64_t id);
void rpci_gob_rtable_fini(gob_rtable *t);

/* rpci_gob_rtable_truncate forgets the definitions after the first n and
 * sets the interfaces flag back to interfaces (a read taken back). */
void rpci_gob_rtable_truncate(gob_rtable *t, size_t n, bool interfaces);

/* A value split across messages. When an interface value holds a type new
 * to the stream, Go's encoder ends the message after that type's
 * definitions (one message each) and goes on with the value in the next
 * message. A reader with a gob_cont follows it: definitions met inside an
 * interface value are recorded in t (they count against GOB_MAX_TYPES),
 * and when a message ends right after one, next moves r onto the following
 * message (r->pos 0, at its type id). seq is where, in the message r read
 * until then, the definitions began. next returns NULL or an error. */
struct gob_cont {
	gob_rtable *t; /* borrowed */
	rpc_error *(*next)(gob_cont *c, gob_reader *r, size_t seq);
};

/* rpci_gob_skip reads past one value of type id (reading into nothing).
 * Definitions inside interface values are recorded when r->cont is set,
 * else parsed and dropped. */
rpc_error *rpci_gob_skip(const gob_rtable *t, int64_t id, gob_reader *r,
                         int depth);

/* rpci_gob_type_name describes an id for error messages ("int", "struct Args");
 * returns a static string or the definition's name. */
const char *rpci_gob_type_name(const gob_rtable *t, int64_t id);

/* ---- types sent (write side) --------------------------------------------- */

/* What a sent type stands for. Structs are identified by descriptor (or by
 * kind for the headers and the empty struct), slices, arrays and maps by
 * their Go spelling ("[]int64", "[2]int64", "map[string]*pkg.Args"), as Go
 * identifies types. */
typedef enum gob_skind {
	GOB_S_MESSAGE,  /* struct of a protobuf-c message */
	GOB_S_REQUEST,  /* net/rpc Request */
	GOB_S_RESPONSE, /* net/rpc Response */
	GOB_S_EMPTY,    /* struct{} (the body of an error response) */
	GOB_S_SLICE,
	GOB_S_MAP,
	GOB_S_ARRAY, /* an array field (internal.h): Go's [N]T */
} gob_skind;

typedef struct gob_stype {
	gob_skind kind;
	const ProtobufCMessageDescriptor *desc; /* GOB_S_MESSAGE */
	char *go;      /* slices and maps: the Go spelling (identity) */
	char *name;    /* CommonType.Name as Go would send it */
	int64_t id;    /* 0 while the elements are being built */
	int64_t elem;  /* slices, maps */
	int64_t key;   /* maps */
	uint32_t len;  /* arrays */
	unsigned sent; /* 0, or the write generation that sent it */
} gob_stype;

typedef struct gob_stable {
	gob_stype *v;
	size_t n, cap;
	int64_t last_id;
	unsigned gen; /* current write generation (> 0) */
} gob_stable;

void rpci_gob_stable_init(gob_stable *t);
void rpci_gob_stable_fini(gob_stable *t);

/* rpci_gob_stable_struct returns the id of the struct type for desc, building
 * it (and the types of its fields) on first use; named is false when Go would
 * reach it through a pointer element of a slice or map (its Name is then
 * ""). rpci_gob_stable_special does the same for the headers and struct{}.
 * rpci_gob_stable_field returns the id of field f's type, top says f is the
 * bare value of a wrapper (Go's top-level types carry no name). All return
 * 0 on out of memory. */
int64_t rpci_gob_stable_struct(gob_stable *t,
                               const ProtobufCMessageDescriptor *desc,
                               bool named);
int64_t rpci_gob_stable_special(gob_stable *t, gob_skind kind);
int64_t rpci_gob_stable_field(gob_stable *t, const ProtobufCFieldDescriptor *f,
                              bool top);

/* rpci_gob_stable_send appends the definitions of id and of the types inside it
 * that were not sent yet, each as a message of out, in Go's order. scratch
 * is a work buffer. Returns false on out of memory. Types sent are marked
 * with t->gen so that rpci_gob_stable_unsend can take a failed write back. */
bool rpci_gob_stable_send(gob_stable *t, int64_t id, rpci_buf *scratch,
                          rpci_buf *out);
void rpci_gob_stable_unsend(gob_stable *t);

/* rpci_gob_message writes one message of out: the byte count of body, then
 * body. */
bool rpci_gob_message(rpci_buf *out, const rpci_buf *body);

#endif
