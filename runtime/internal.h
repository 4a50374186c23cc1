/* internal.h - helpers shared inside librpc (not installed).
 *
 * Error constructors and message helpers used by the client, the server and
 * every codec. Implemented in error.c and message.c.
 */
#ifndef RPCI_INTERNAL_H
#define RPCI_INTERNAL_H

#include "rpc.h"

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

/* rpci_message_free frees the contents of msg and msg itself. Accepts NULL. */
void rpci_message_free(ProtobufCMessage *msg);

/* rpci_value_field returns the descriptor of the single field of a wrapper
 * type (t->form != RPC_FORM_MESSAGE), i.e. field number 1, "value". */
const ProtobufCFieldDescriptor *rpci_value_field(const rpc_type *t);

#endif
