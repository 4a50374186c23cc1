/* message.c - freeing decoded messages and moving wrapped values.
 *
 * rpc_message_free_contents walks a message's descriptor the way
 * libprotobuf-c's free_unpacked does, but leaves the struct itself alone
 * so it works on messages the caller embeds or keeps on the stack. Pointers
 * that decoding did not allocate (protobuf-c's shared empty string and a
 * field's default value) are never freed.
 *
 * rpc_message_copy and rpc_message_equal (below) walk it the same way.
 *
 * Array fields (internal.h) are inline: free, copy and compare read the
 * array itself; a view is freed only when it is a decoder's buffer (set
 * and not pointing at the message's own array), and a copy leaves it unset.
 * rpci_arrays_settle and rpci_arrays_arm (at the end) move between the
 * inline array and the view libprotobuf-c and the codecs see.
 *
 * RPC_FORM_VALUE types cross the C API as the bare C value of the wrapper's
 * field 1; rpci_value_wrap and rpci_value_unwrap move it in and out.
 *
 * What a decoder made for a server may be a big block (big.c: a large
 * string, bytes or list), so everything freed here goes through
 * rpci_big_free, which frees a malloc'd block with free; copies are
 * always malloc'd.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "codec.h"
#include "desc.h"
#include "internal.h"

#define MESSAGE_AT(msg, off, type) ((type *)((char *)(msg) + (off)))

static void message_free_string(const ProtobufCFieldDescriptor *f, char *s)
{
	if (s != NULL && s != protobuf_c_empty_string && s != f->default_value)
		rpci_big_free(s);
}

static void message_free_bytes(const ProtobufCFieldDescriptor *f,
                               ProtobufCBinaryData *b)
{
	const ProtobufCBinaryData *def = f->default_value;

	if (b->data != NULL && (def == NULL || def->data != b->data))
		rpci_big_free(b->data);
}

static void message_free_sub(const ProtobufCFieldDescriptor *f,
                             ProtobufCMessage *m)
{
	if (m != NULL && m != f->default_value)
		rpci_message_free(m);
}

void rpci_message_free_value(const ProtobufCFieldDescriptor *f, void *p)
{
	switch (rpci_field_kind(f)) {
	case RPCI_KIND_STRING:
		message_free_string(f, *(char **)p);
		break;
	case RPCI_KIND_BYTES:
		message_free_bytes(f, p);
		break;
	case RPCI_KIND_MESSAGE:
		message_free_sub(f, *(ProtobufCMessage **)p);
		break;
	default:
		break;
	}
}

static void message_free_repeated(const ProtobufCFieldDescriptor *f, void *msg)
{
	size_t n = *MESSAGE_AT(msg, f->quantifier_offset, size_t);
	void *arr = *MESSAGE_AT(msg, f->offset, void *);
	size_t size = rpci_field_size(f), i;

	if (arr == NULL)
		return;
	for (i = 0; i < n; i++)
		rpci_message_free_value(f, (char *)arr + i * size);
	rpci_big_free(arr);
}

void rpci_message_clear_list(const ProtobufCFieldDescriptor *f,
                             ProtobufCMessage *msg)
{
	message_free_repeated(f, msg);
	*MESSAGE_AT(msg, f->offset, void *) = NULL;
	*MESSAGE_AT(msg, f->quantifier_offset, size_t) = 0;
}

/* message_free_array frees the elements of array field f and its view
 * when that is a decoder's buffer. */
static void message_free_array(const ProtobufCFieldDescriptor *f, void *msg)
{
	char *at = rpci_array_at(f, msg);
	size_t size = rpci_field_size(f);

	if (*MESSAGE_AT(msg, f->offset, void *) != at)
		message_free_repeated(f, msg);
	for (uint32_t k = 0; k < rpci_array_len(f); k++)
		rpci_message_free_value(f, at + k * size);
}

void rpc_message_free_contents(ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc;
	const ProtobufCFieldDescriptor *f;
	unsigned i;

	if (msg == NULL || msg->descriptor == NULL)
		return;
	desc = msg->descriptor;
	for (i = 0; i < desc->n_fields; i++) {
		f = &desc->fields[i];
		if (rpci_field_is_oneof(f) && !rpci_field_present(f, msg))
			continue;
		if (rpci_array_len(f) > 0) {
			message_free_array(f, msg);
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			message_free_repeated(f, msg);
			continue;
		}
		rpci_message_free_value(f, MESSAGE_AT(msg, f->offset, char));
	}
	for (i = 0; i < msg->n_unknown_fields; i++)
		rpci_big_free(msg->unknown_fields[i].data);
	rpci_big_free(msg->unknown_fields);
	if (desc->message_init != NULL) {
		desc->message_init(msg);
	} else {
		memset(msg, 0, desc->sizeof_message);
		msg->descriptor = desc;
	}
}

/* message_release gives the whole pages of p[0..n), a malloc'd block about
 * to be freed, back to the kernel, marked for huge pages. Why: glibc raises
 * its mmap threshold to the size of the first large mmapped block freed,
 * so later large replies come from a thread's arena and stay there when
 * freed (two arenas kept 48 MiB after 16 MiB echoes). Emptying the pages
 * first keeps the arena's address space but not its memory. Marked for
 * huge pages, the next reply placed there faults 2 MiB at a time: without
 * the mark, 16 MiB echoes ran at half the rate (4,100 page faults per
 * call) for a peak 0.3x lower. The block's contents are dead, and malloc
 * writes its own fields after this, in free. */
static size_t message_release(void *p, size_t n)
{
	size_t len;

	if (n < RPCI_BIG || rpci_big_owns(p))
		return 0; /* every reply's fields pass here: small ones first */
	p = rpci_page_span(p, n, &len);
	if (len == 0)
		return 0;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, len, MADV_HUGEPAGE);
#endif
	(void)madvise(p, len, MADV_DONTNEED);
	return len;
}

size_t rpci_message_release(ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc;
	size_t n = 0;

	if (msg == NULL || msg->descriptor == NULL)
		return 0;
	desc = msg->descriptor;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		void *p = MESSAGE_AT(msg, f->offset, char);

		if (f->label == PROTOBUF_C_LABEL_REPEATED ||
		    rpci_array_len(f) > 0 ||
		    (rpci_field_is_oneof(f) && !rpci_field_present(f, msg)))
			continue;
		if (rpci_field_kind(f) == RPCI_KIND_BYTES) {
			ProtobufCBinaryData *b = p;
			const ProtobufCBinaryData *def = f->default_value;
			if (b->data != NULL &&
			    (def == NULL || def->data != b->data))
				n += message_release(b->data, b->len);
		} else if (rpci_field_kind(f) == RPCI_KIND_STRING) {
			char *s = *(char **)p;
			if (s != NULL && s != protobuf_c_empty_string &&
			    s != f->default_value)
				n += message_release(s, malloc_usable_size(s));
		}
	}
	return n;
}

void rpci_message_zero_defaults(ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		void *p = MESSAGE_AT(msg, f->offset, void);
		size_t n = rpci_field_size(f);

		if (f->label != PROTOBUF_C_LABEL_REQUIRED ||
		    f->default_value == NULL)
			continue;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			if (*(char **)p == f->default_value)
				*(const char **)p = protobuf_c_empty_string;
		} else if (f->type != PROTOBUF_C_TYPE_MESSAGE &&
		           f->type != PROTOBUF_C_TYPE_BYTES &&
		           memcmp(p, f->default_value, n) == 0) {
			memset(p, 0, n);
		}
	}
}

ProtobufCMessage *rpci_message_new(const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m = malloc(desc->sizeof_message);

	if (m == NULL)
		return NULL;
	if (desc->message_init != NULL) {
		desc->message_init(m);
	} else {
		memset(m, 0, desc->sizeof_message);
		m->descriptor = desc;
	}
	return m;
}

void rpci_message_free(ProtobufCMessage *msg)
{
	if (msg == NULL)
		return;
	rpc_message_free_contents(msg);
	rpci_big_free(msg);
}

const ProtobufCFieldDescriptor *rpci_value_field(const rpc_type *t)
{
	return protobuf_c_message_descriptor_get_field(t->desc, 1);
}

void rpci_value_wrap(const rpc_type *t, ProtobufCMessage *wrapper,
                     const void *value)
{
	const ProtobufCFieldDescriptor *f = rpci_value_field(t);

	memcpy(MESSAGE_AT(wrapper, f->offset, char), value, rpci_field_size(f));
	rpci_field_mark(f, wrapper);
}

rpc_error *rpci_value_unwrap(const rpc_type *t, ProtobufCMessage *wrapper,
                             void *value)
{
	const ProtobufCFieldDescriptor *f = rpci_value_field(t);
	void *field = MESSAGE_AT(wrapper, f->offset, char);
	size_t size = rpci_field_size(f);
	char *s;

	if (f->type == PROTOBUF_C_TYPE_STRING) {
		s = *(char **)field;
		if (s != NULL &&
		    (s == protobuf_c_empty_string || s == f->default_value)) {
			/* Not decoded: give the caller a string it may free. */
			s = strdup(s);
			if (s == NULL) {
				rpc_message_free_contents(wrapper);
				return rpci_error(RPC_ERR_NOMEM, NULL);
			}
			*(char **)field = s;
		}
	} else if (f->type == PROTOBUF_C_TYPE_BYTES) {
		const ProtobufCBinaryData *def = f->default_value;
		ProtobufCBinaryData *b = field;

		if (def != NULL && b->data == def->data && b->len > 0) {
			uint8_t *copy = malloc(b->len);

			if (copy == NULL) {
				rpc_message_free_contents(wrapper);
				return rpci_error(RPC_ERR_NOMEM, NULL);
			}
			memcpy(copy, def->data, b->len);
			b->data = copy;
		} else if (def != NULL && b->data == def->data) {
			b->data = NULL;
		}
	}
	memcpy(value, field, size);
	memset(field, 0, size); /* moved out: not freed with the wrapper */
	rpc_message_free_contents(wrapper);
	return NULL;
}

void rpc_value_free_contents(const rpc_type *t, void *value)
{
	const ProtobufCFieldDescriptor *f;

	if (t == NULL || value == NULL)
		return;
	if (t->form != RPC_FORM_VALUE) {
		rpc_message_free_contents(value);
		return;
	}
	f = rpci_value_field(t);
	if (f == NULL || f->label == PROTOBUF_C_LABEL_REPEATED)
		return;
	switch (rpci_field_kind(f)) {
	case RPCI_KIND_STRING:
		message_free_string(f, *(char **)value);
		*(char **)value = NULL;
		break;
	case RPCI_KIND_BYTES:
		message_free_bytes(f, value);
		memset(value, 0, sizeof(ProtobufCBinaryData));
		break;
	case RPCI_KIND_MESSAGE:
		message_free_sub(f, *(ProtobufCMessage **)value);
		*(ProtobufCMessage **)value = NULL;
		break;
	default:
		break;
	}
}

/* ---- copy and compare ----------------------------------------------------
 *
 * rpc_message_copy and rpc_message_equal walk the descriptor like
 * rpc_message_free_contents. A copy owns every pointer it holds except the
 * ones decoding would not allocate either (protobuf-c's shared empty
 * string, a field's default value), which it shares, so the same free
 * works on it. A copy under way is always a message free_contents can
 * free: it starts from the defaults and every pointer is stored only once
 * it is owned (arrays are zeroed before their elements are filled).
 */

/* message_copy_one copies one value of field f's type from src to dst
 * (dst holds zeroes or a default). Returns false when out of memory. */
static bool message_copy_one(const ProtobufCFieldDescriptor *f, void *dst,
                             const void *src)
{
	switch (rpci_field_kind(f)) {
	case RPCI_KIND_STRING: {
		const char *s = *(char *const *)src;

		if (s == NULL || s == protobuf_c_empty_string ||
		    s == f->default_value) {
			*(const char **)dst = s;
			return true;
		}
		char *d = strdup(s);
		*(char **)dst = d;
		return d != NULL;
	}
	case RPCI_KIND_BYTES: {
		const ProtobufCBinaryData *s = src, *def = f->default_value;
		ProtobufCBinaryData *d = dst;

		if (s->data == NULL || s->len == 0 ||
		    (def != NULL && s->data == def->data)) {
			*d = *s;
			if (s->len == 0 &&
			    (def == NULL || s->data != def->data))
				d->data = NULL;
			return true;
		}
		d->data = malloc(s->len);
		if (d->data == NULL)
			return false;
		memcpy(d->data, s->data, s->len);
		d->len = s->len;
		return true;
	}
	case RPCI_KIND_MESSAGE: {
		const ProtobufCMessage *s = *(ProtobufCMessage *const *)src;
		ProtobufCMessage *d;

		if (s == NULL || s == f->default_value) {
			*(const ProtobufCMessage **)dst = s;
			return true;
		}
		d = rpci_message_new(s->descriptor);
		if (d == NULL)
			return false;
		if (!rpc_message_copy(d, s)) {
			free(d);
			return false;
		}
		*(ProtobufCMessage **)dst = d;
		return true;
	}
	default:
		memcpy(dst, src, rpci_field_size(f));
		return true;
	}
}

static bool message_copy_fields(ProtobufCMessage *dst,
                                const ProtobufCMessage *src)
{
	const ProtobufCMessageDescriptor *desc = src->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		size_t size = rpci_field_size(f);

		if (rpci_array_len(f) > 0) {
			const char *from = rpci_array_at(f, src);
			char *to = rpci_array_at(f, dst);

			for (uint32_t k = 0; k < rpci_array_len(f); k++)
				if (!message_copy_one(f, to + k * size,
				                      from + k * size))
					return false;
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *MESSAGE_AT(src, f->quantifier_offset,
			                       const size_t);
			const char *from =
			    *MESSAGE_AT(src, f->offset, char *const);
			char *to;

			if (n == 0 || from == NULL)
				continue;
			to = calloc(n, size);
			if (to == NULL)
				return false;
			*MESSAGE_AT(dst, f->offset, char *) = to;
			*MESSAGE_AT(dst, f->quantifier_offset, size_t) = n;
			for (size_t k = 0; k < n; k++)
				if (!message_copy_one(f, to + k * size,
				                      from + k * size))
					return false;
			continue;
		}
		if (!rpci_field_present(f, src))
			continue;
		if (!message_copy_one(f, MESSAGE_AT(dst, f->offset, char),
		                      MESSAGE_AT(src, f->offset, const char)))
			return false;
		rpci_field_mark(f, dst);
	}
	if (src->n_unknown_fields > 0) {
		size_t n = src->n_unknown_fields;
		ProtobufCMessageUnknownField *u = calloc(n, sizeof(*u));

		if (u == NULL)
			return false;
		dst->unknown_fields = u;
		dst->n_unknown_fields = (unsigned)n;
		for (size_t k = 0; k < n; k++) {
			u[k] = src->unknown_fields[k];
			u[k].data = NULL;
			if (src->unknown_fields[k].len == 0)
				continue;
			u[k].data = malloc(u[k].len);
			if (u[k].data == NULL)
				return false;
			memcpy(u[k].data, src->unknown_fields[k].data,
			       u[k].len);
		}
	}
	return true;
}

bool rpc_message_copy(ProtobufCMessage *dst, const ProtobufCMessage *src)
{
	const ProtobufCMessageDescriptor *desc = src->descriptor;

	if (desc->message_init != NULL) {
		desc->message_init(dst);
	} else {
		memset(dst, 0, desc->sizeof_message);
		dst->descriptor = desc;
	}
	if (message_copy_fields(dst, src))
		return true;
	rpc_message_free_contents(dst);
	return false;
}

static bool message_equal_one(const ProtobufCFieldDescriptor *f, const void *a,
                              const void *b)
{
	switch (rpci_field_kind(f)) {
	case RPCI_KIND_STRING: {
		const char *x = *(char *const *)a, *y = *(char *const *)b;

		if (x == NULL || y == NULL)
			return x == y;
		return strcmp(x, y) == 0;
	}
	case RPCI_KIND_BYTES: {
		const ProtobufCBinaryData *x = a, *y = b;

		return x->len == y->len &&
		       (x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
	}
	case RPCI_KIND_MESSAGE: {
		const ProtobufCMessage *x = *(ProtobufCMessage *const *)a;
		const ProtobufCMessage *y = *(ProtobufCMessage *const *)b;

		if (x == NULL || y == NULL)
			return x == y;
		return rpc_message_equal(x, y);
	}
	case RPCI_KIND_FLOAT:
		return rpci_field_read(f, a).v.d == rpci_field_read(f, b).v.d;
	case RPCI_KIND_BOOL:
		return rpci_field_read(f, a).v.b == rpci_field_read(f, b).v.b;
	default:
		return memcmp(a, b, rpci_field_size(f)) == 0;
	}
}

/* message_equal_elem compares array elements: a NULL string or message
 * is equal to an empty one, as the wire sends it (message_arm). */
static bool message_equal_elem(const ProtobufCFieldDescriptor *f, const void *a,
                               const void *b)
{
	const void *x, *y;
	ProtobufCMessage *empty;
	bool eq;

	if (f->type != PROTOBUF_C_TYPE_STRING &&
	    f->type != PROTOBUF_C_TYPE_MESSAGE)
		return message_equal_one(f, a, b);
	x = *(const void *const *)a;
	y = *(const void *const *)b;
	if (f->type == PROTOBUF_C_TYPE_STRING && (x == NULL || y == NULL)) {
		x = x != NULL ? x : "";
		y = y != NULL ? y : "";
		return strcmp(x, y) == 0;
	}
	if (f->type != PROTOBUF_C_TYPE_MESSAGE || (x == NULL) == (y == NULL))
		return message_equal_one(f, a, b);
	empty = rpci_message_new(f->descriptor);
	if (empty == NULL)
		return false;
	eq = rpc_message_equal(empty, x != NULL ? x : y);
	rpci_message_free(empty);
	return eq;
}

/* message_equal_map compares two maps of n entries each as maps: every
 * entry of x has an entry of y with the same key and an equal value, in
 * any order (the entry at the same index is tried first). */
static bool message_equal_map(const ProtobufCFieldDescriptor *f,
                              const ProtobufCMessage *const *x,
                              const ProtobufCMessage *const *y, size_t n)
{
	const ProtobufCMessageDescriptor *d = f->descriptor;
	const ProtobufCFieldDescriptor *key = &d->fields[0];
	const ProtobufCFieldDescriptor *val = &d->fields[1];

	for (size_t k = 0; k < n; k++) {
		const char *kx = MESSAGE_AT(x[k], key->offset, const char);
		const ProtobufCMessage *match = NULL;

		if (message_equal_one(
		        key, kx, MESSAGE_AT(y[k], key->offset, const char)))
			match = y[k];
		for (size_t j = 0; match == NULL && j < n; j++)
			if (message_equal_one(
			        key, kx,
			        MESSAGE_AT(y[j], key->offset, const char)))
				match = y[j];
		if (match == NULL ||
		    !message_equal_one(
		        val, MESSAGE_AT(x[k], val->offset, const char),
		        MESSAGE_AT(match, val->offset, const char)))
			return false;
	}
	return true;
}

bool rpc_message_equal(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	const ProtobufCMessageDescriptor *desc;

	if (a == b)
		return true;
	if (a == NULL || b == NULL || a->descriptor != b->descriptor)
		return false;
	desc = a->descriptor;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];

		if (rpci_array_len(f) > 0) {
			size_t size = rpci_field_size(f);
			const char *x = rpci_array_at(f, a);
			const char *y = rpci_array_at(f, b);

			for (uint32_t k = 0; k < rpci_array_len(f); k++)
				if (!message_equal_elem(f, x + k * size,
				                        y + k * size))
					return false;
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n =
			    *MESSAGE_AT(a, f->quantifier_offset, const size_t);
			size_t size = rpci_field_size(f);
			const char *x = *MESSAGE_AT(a, f->offset, char *const);
			const char *y = *MESSAGE_AT(b, f->offset, char *const);

			if (n !=
			    *MESSAGE_AT(b, f->quantifier_offset, const size_t))
				return false;
			if (n > 0 && rpci_field_map(f, NULL, NULL)) {
				if (!message_equal_map(
				        f, (const ProtobufCMessage *const *)x,
				        (const ProtobufCMessage *const *)y, n))
					return false;
				continue;
			}
			for (size_t k = 0; k < n; k++)
				if (!message_equal_one(f, x + k * size,
				                       y + k * size))
					return false;
			continue;
		}
		bool pa = rpci_field_present(f, a),
		     pb = rpci_field_present(f, b);
		if (pa != pb)
			return false;
		if (pa &&
		    !message_equal_one(f, MESSAGE_AT(a, f->offset, const char),
		                       MESSAGE_AT(b, f->offset, const char)))
			return false;
	}
	return true;
}

/* ---- arrays: settle after decoding, arm for encoding ---------------------
 *
 * Both walk a message and every message it holds: singular fields, list
 * elements, map entries and array elements.
 */

/* message_each_sub calls fn on every message msg holds directly, stopping
 * at the first that returns non-NULL, which it returns. */
static void *message_each_sub(ProtobufCMessage *msg,
                              void *(*fn)(ProtobufCMessage *, void *),
                              void *ctx)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		ProtobufCMessage **subs;
		size_t n;
		void *r;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (rpci_array_len(f) > 0) {
			subs = rpci_array_at(f, msg);
			n = rpci_array_len(f);
		} else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			subs = *MESSAGE_AT(msg, f->offset, ProtobufCMessage **);
			n = *MESSAGE_AT(msg, f->quantifier_offset, size_t);
		} else {
			if (!rpci_field_present(f, msg))
				continue;
			subs = MESSAGE_AT(msg, f->offset, ProtobufCMessage *);
			n = 1;
		}
		for (size_t k = 0; subs != NULL && k < n; k++)
			if (subs[k] != NULL && subs[k] != f->default_value &&
			    (r = fn(subs[k], ctx)) != NULL)
				return r;
	}
	return NULL;
}

/* message_reaches_array tells whether a message of desc can hold an array
 * anywhere: in its own fields or in those of the messages it can hold. It
 * reads descriptors only, never a message's values, so that settling and
 * arming cost nothing on a call whose types have no arrays (most), however
 * long its lists. seen (n of cap used) stops cycles; a type graph larger
 * than cap answers true, and the walk over the values decides. */
static bool message_reaches_array(const ProtobufCMessageDescriptor *desc,
                                  const ProtobufCMessageDescriptor **seen,
                                  size_t *n, size_t cap)
{
	for (size_t i = 0; i < *n; i++)
		if (seen[i] == desc)
			return false; /* being answered further up */
	if (*n == cap)
		return true;
	seen[(*n)++] = desc;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];

		if (rpci_array_len(f) > 0)
			return true;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
		    message_reaches_array(f->descriptor, seen, n, cap))
			return true;
	}
	return false;
}

static bool message_may_hold_arrays(const ProtobufCMessageDescriptor *desc)
{
	const ProtobufCMessageDescriptor *seen[32];
	size_t n = 0;

	return message_reaches_array(desc, seen, &n, 32);
}

static void *message_settle(ProtobufCMessage *msg, void *ctx)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	(void)ctx;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		uint32_t len = rpci_array_len(f);

		if (len == 0)
			continue;
		size_t *n = MESSAGE_AT(msg, f->quantifier_offset, size_t);
		void **view = MESSAGE_AT(msg, f->offset, void *);
		char *at = rpci_array_at(f, msg);
		size_t size = rpci_field_size(f);

		if (*view == at)
			continue;
		if (*n != 0 && *n != len)
			return rpci_error(RPC_ERR_PROTOCOL,
			                  "rpc: field %s.%s has %zu elements; "
			                  "its array type has %" PRIu32,
			                  desc->short_name, f->name, *n, len);
		if (*n == 0) {
			rpci_big_free(*view);
			*view = NULL;
			continue;
		}
		for (uint32_t k = 0; k < len; k++)
			rpci_message_free_value(f, at + k * size);
		memcpy(at, *view, len * size);
		rpci_big_free(*view);
		*view = NULL;
		*n = 0;
	}
	return message_each_sub(msg, message_settle, NULL);
}

rpc_error *rpci_arrays_settle(ProtobufCMessage *msg)
{
	if (msg == NULL || !message_may_hold_arrays(msg->descriptor))
		return NULL;
	return message_settle(msg, NULL);
}

static void *message_find_array(ProtobufCMessage *msg, void *ctx)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	(void)ctx;
	for (unsigned i = 0; i < desc->n_fields; i++)
		if (rpci_array_len(&desc->fields[i]) > 0)
			return msg;
	return message_each_sub(msg, message_find_array, NULL);
}

/* message_arm points every array view of msg (a copy the runtime owns) at
 * its array, filling in the NULL elements a wire cannot carry. Returns
 * non-NULL when out of memory. */
static void *message_arm(ProtobufCMessage *msg, void *ctx)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		uint32_t len = rpci_array_len(f);
		void **at = rpci_array_at(f, msg);

		if (len == 0)
			continue;
		for (uint32_t k = 0;
		     k < len && (f->type == PROTOBUF_C_TYPE_STRING ||
		                 f->type == PROTOBUF_C_TYPE_MESSAGE);
		     k++) {
			if (at[k] != NULL)
				continue;
			if (f->type == PROTOBUF_C_TYPE_STRING)
				at[k] = (char *)protobuf_c_empty_string;
			else if ((at[k] = rpci_message_new(f->descriptor)) ==
			         NULL)
				return ctx;
		}
		*MESSAGE_AT(msg, f->quantifier_offset, size_t) = len;
		*MESSAGE_AT(msg, f->offset, void *) = at;
	}
	return message_each_sub(msg, message_arm, ctx);
}

bool rpci_arrays_arm(const ProtobufCMessage *msg, ProtobufCMessage **armed)
{
	ProtobufCMessage *copy;
	int nomem;

	*armed = NULL;
	if (msg == NULL || !message_may_hold_arrays(msg->descriptor) ||
	    message_find_array((ProtobufCMessage *)msg, NULL) == NULL)
		return true; /* only read: the cast is for the walker */
	copy = rpci_message_new(msg->descriptor);
	if (copy == NULL)
		return false;
	if (!rpc_message_copy(copy, msg)) {
		free(copy);
		return false;
	}
	if (message_arm(copy, &nomem) != NULL) {
		rpci_message_free(copy);
		return false;
	}
	*armed = copy;
	return true;
}
