/* internal.h - helpers shared inside librpc (not installed).
 *
 * Error constructors and message helpers used by the client, the server and
 * every codec. Implemented in error.c and message.c; the descriptor walker
 * they use is desc.h.
 */
#ifndef RPCI_INTERNAL_H
#define RPCI_INTERNAL_H

#include "desc.h"
#include "rpc.h"

/* RPCI_DEADLINE_TEXT is the error text a server answers a request with
 * when the caller's deadline passed before the call could start; a client
 * receiving it completes the call with RPC_ERR_TIMEOUT, as its own timer
 * would have. */
#define RPCI_DEADLINE_TEXT "rpc: deadline exceeded before the call started"

/* rpci_error makes an error of kind with a printf-style message; NULL fmt
 * uses the kind's default message. Never returns NULL (see rpc_error_new). */
rpc_error *rpci_error(rpc_error_kind kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* rpci_error_errno makes an RPC_ERR_IO error: "<what>: strerror(errnum)". */
rpc_error *rpci_error_errno(int errnum, const char *what);

/* rpci_error_dup copies err (kind, message, errno). */
rpc_error *rpci_error_dup(const rpc_error *err);

/* rpci_message_new allocates and initialises a message of desc (malloc +
 * desc->message_init). Returns NULL on out of memory. Caller frees with
 * rpci_message_free. */
ProtobufCMessage *rpci_message_new(const ProtobufCMessageDescriptor *desc);

/* rpci_message_zero_defaults sets every field of msg that holds its
 * [default = V] (a required field with a default_value) to its zero value:
 * Go's meaning of an absent field, which gob and JSON decoding follow (gob
 * leaves zero values out, so a 0 sent must not read back as the default).
 * Only fields equal to their default are touched; nothing is freed (a
 * default is never owned). Top level only: nested messages are the
 * decoder's to clear when it makes them. */
void rpci_message_zero_defaults(ProtobufCMessage *msg);

/* rpci_message_free_value frees what the value of field f at p owns (a
 * string, bytes' data, a message), except protobuf-c's shared empty string
 * and f's default value, which are never owned; *p is left as it is, for
 * the caller to overwrite. */
void rpci_message_free_value(const ProtobufCFieldDescriptor *f, void *p);

/* rpci_message_clear_list frees the elements and the array of repeated
 * field f of msg and leaves it empty (NULL, 0). */
void rpci_message_clear_list(const ProtobufCFieldDescriptor *f,
                             ProtobufCMessage *msg);

/* rpci_message_release prepares msg, whose contents are about to be freed,
 * for a server that keeps a malloc arena: the whole pages of every large
 * malloc'd string or bytes field at its top level go back to the kernel
 * now (MADV_DONTNEED), marked for huge pages (MADV_HUGEPAGE). Returns the
 * bytes given back. */
size_t rpci_message_release(ProtobufCMessage *msg);

/* rpci_message_free frees the contents of msg and msg itself. Accepts NULL. */
void rpci_message_free(ProtobufCMessage *msg);

/* rpci_now_ms/_ns read CLOCK_MONOTONIC (conn.c). */
int64_t rpci_now_ms(void);
int64_t rpci_now_ns(void);

/* rpci_deadline_ns is the deadline of a wait of timeout_ms (negative: none,
 * INT64_MAX) that starts now, on rpci_now_ns's clock. */
static inline int64_t rpci_deadline_ns(int timeout_ms)
{
	return timeout_ms < 0 ? INT64_MAX
	                      : rpci_now_ns() + (int64_t)timeout_ms * 1000000;
}

/* rpci_ms_left is what is left of deadline_ns (on rpci_now_ns's clock;
 * INT64_MAX: none) as a poll timeout: -1 for none, 0 once it has passed,
 * else the milliseconds left rounded up (so that a wait never ends before
 * the deadline), at most INT32_MAX. */
static inline int rpci_ms_left(int64_t deadline_ns)
{
	if (deadline_ns == INT64_MAX)
		return -1;
	int64_t left = deadline_ns - rpci_now_ns();
	if (left <= 0)
		return 0;
	left = (left + 999999) / 1000000;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Descriptors: kinds, sizes, presence, maps, arrays and scalars are
 * desc.h's. */

/* Arrays (desc.h: rpci_array_len, rpci_array_at). A message the user holds
 * has an unset view (0, NULL): the data is the inline array. Decoding
 * fills the view (a malloc'd buffer), then rpci_arrays_settle moves it
 * into the array; encoding works on an armed copy from rpci_arrays_arm,
 * whose views point at its own arrays. */

/* rpci_arrays_settle checks every array in msg and the messages it holds
 * (recursively) after decoding: a view of N elements moves into its array
 * (the view's buffer is freed, the view unset), an empty view leaves the
 * array at its zero value (an absent array, as gob sends an all-zero one);
 * any other count is refused with an RPC_ERR_PROTOCOL error naming the
 * field, and that view is left for rpc_message_free_contents to free.
 * Returns NULL or the error (caller frees). */
rpc_error *rpci_arrays_settle(ProtobufCMessage *msg);

/* rpci_arrays_arm readies msg for encoding. When msg holds no array
 * (recursively), sets *armed to NULL and msg is encoded as it is;
 * otherwise *armed is a deep copy whose array views point at its own
 * arrays (NULL strings read as "", NULL messages as empty ones): encode
 * that, then free it with rpci_message_free. msg is borrowed for the
 * duration of the call and never written (it may be shared between
 * threads). Returns false when out of memory. */
bool rpci_arrays_arm(const ProtobufCMessage *msg, ProtobufCMessage **armed);

/* rpci_value_field returns the descriptor of the single field of a wrapper
 * type (t->form != RPC_FORM_MESSAGE), i.e. field number 1, "value". */
const ProtobufCFieldDescriptor *rpci_value_field(const rpc_type *t);

/* rpci_value_wrap copies the C value at value into field 1 of wrapper, an
 * initialised message of t->desc, and marks it present. The copy is
 * shallow: wrapper borrows value's strings and bytes, so it is sent but
 * never freed. */
void rpci_value_wrap(const rpc_type *t, ProtobufCMessage *wrapper,
                     const void *value);

/* rpci_value_unwrap moves field 1 of a decoded wrapper into *value (the
 * caller's C value, overwritten without being freed) and frees the rest of
 * the wrapper's contents, leaving it initialised. A string or bytes value
 * moved out is always malloc'd, freed with rpc_value_free_contents. Returns
 * NULL or an out-of-memory error (the wrapper is then freed as well). */
rpc_error *rpci_value_unwrap(const rpc_type *t, ProtobufCMessage *wrapper,
                             void *value);

/* What a peer speaks, judged from the first bytes it sent (sniff.c). */
typedef enum rpci_sniff_kind {
	RPCI_SNIFF_UNKNOWN = 0, /* none of the below */
	RPCI_SNIFF_MORE,        /* too few bytes to tell */
	RPCI_SNIFF_PROTOBUF,    /* native framing (docs/framing.md) */
	RPCI_SNIFF_GOB,         /* Go's gob: a stream's first type definition */
	RPCI_SNIFF_JSON,        /* a JSON object */
	RPCI_SNIFF_HTTP_REQUEST,  /* "GET ", "CONNECT ", ... */
	RPCI_SNIFF_HTTP_RESPONSE, /* "HTTP/" */
	RPCI_SNIFF_TLS_HELLO,     /* a TLS handshake record (ClientHello) */
	RPCI_SNIFF_TLS_ALERT,     /* a TLS alert record */
} rpci_sniff_kind;

/* rpci_sniff tells what p[0..len), the first bytes a peer sent on a
 * connection, most likely is. It reads only those bytes. */
rpci_sniff_kind rpci_sniff(const uint8_t *p, size_t len);

/* rpci_sniff_codec is the built-in codec of kind, or NULL when kind is not
 * one of theirs. */
const rpc_codec *rpci_sniff_codec(rpci_sniff_kind kind);

/* rpci_sniff_line copies the first line of p[0..len) into buf (cap bytes,
 * NUL-terminated), unprintable bytes as '?', cut with "..." when it does not
 * fit; returns buf. */
const char *rpci_sniff_line(const uint8_t *p, size_t len, char *buf,
                            size_t cap);

#endif
