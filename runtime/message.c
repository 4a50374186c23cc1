/* message.c - freeing decoded messages and moving wrapped values.
 *
 * rpc_message_free_contents walks a message's descriptor the way
 * libprotobuf-c's free_unpacked does, but leaves the struct itself alone
 * so it works on messages the caller embeds or keeps on the stack. Pointers
 * that decoding did not allocate (protobuf-c's shared empty string and a
 * field's default value) are never freed.
 *
 * RPC_FORM_VALUE types cross the C API as the bare C value of the wrapper's
 * field 1; rpci_value_wrap and rpci_value_unwrap move it in and out.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MESSAGE_AT(msg, off, type) ((type *)((char *)(msg) + (off)))

static void message_free_string(const ProtobufCFieldDescriptor *f, char *s)
{
	if (s != NULL && s != protobuf_c_empty_string && s != f->default_value)
		free(s);
}

static void message_free_bytes(const ProtobufCFieldDescriptor *f,
                               ProtobufCBinaryData *b)
{
	const ProtobufCBinaryData *def = f->default_value;

	if (b->data != NULL && (def == NULL || def->data != b->data))
		free(b->data);
}

static void message_free_sub(const ProtobufCFieldDescriptor *f,
                             ProtobufCMessage *m)
{
	if (m != NULL && m != f->default_value)
		rpci_message_free(m);
}

static void message_free_repeated(const ProtobufCFieldDescriptor *f, void *msg)
{
	size_t n = *MESSAGE_AT(msg, f->quantifier_offset, size_t);
	void *arr = *MESSAGE_AT(msg, f->offset, void *);
	size_t i;

	if (arr == NULL)
		return;
	for (i = 0; i < n; i++) {
		switch (f->type) {
		case PROTOBUF_C_TYPE_STRING:
			message_free_string(f, ((char **)arr)[i]);
			break;
		case PROTOBUF_C_TYPE_BYTES:
			message_free_bytes(f, &((ProtobufCBinaryData *)arr)[i]);
			break;
		case PROTOBUF_C_TYPE_MESSAGE:
			message_free_sub(f, ((ProtobufCMessage **)arr)[i]);
			break;
		default:
			break;
		}
	}
	free(arr);
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
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
		    *MESSAGE_AT(msg, f->quantifier_offset, uint32_t) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			message_free_repeated(f, msg);
			continue;
		}
		switch (f->type) {
		case PROTOBUF_C_TYPE_STRING:
			message_free_string(
			    f, *MESSAGE_AT(msg, f->offset, char *));
			break;
		case PROTOBUF_C_TYPE_BYTES:
			message_free_bytes(
			    f, MESSAGE_AT(msg, f->offset, ProtobufCBinaryData));
			break;
		case PROTOBUF_C_TYPE_MESSAGE:
			message_free_sub(
			    f, *MESSAGE_AT(msg, f->offset, ProtobufCMessage *));
			break;
		default:
			break;
		}
	}
	for (i = 0; i < msg->n_unknown_fields; i++)
		free(msg->unknown_fields[i].data);
	free(msg->unknown_fields);
	if (desc->message_init != NULL) {
		desc->message_init(msg);
	} else {
		memset(msg, 0, desc->sizeof_message);
		msg->descriptor = desc;
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
	free(msg);
}

const ProtobufCFieldDescriptor *rpci_value_field(const rpc_type *t)
{
	return protobuf_c_message_descriptor_get_field(t->desc, 1);
}

size_t rpci_value_size(const ProtobufCFieldDescriptor *f)
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

void rpci_value_wrap(const rpc_type *t, ProtobufCMessage *wrapper,
                     const void *value)
{
	const ProtobufCFieldDescriptor *f = rpci_value_field(t);

	memcpy(MESSAGE_AT(wrapper, f->offset, char), value, rpci_value_size(f));
	if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0)
		*MESSAGE_AT(wrapper, f->quantifier_offset, uint32_t) = f->id;
	else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
	         f->type != PROTOBUF_C_TYPE_STRING &&
	         f->type != PROTOBUF_C_TYPE_MESSAGE)
		*MESSAGE_AT(wrapper, f->quantifier_offset, protobuf_c_boolean) =
		    1;
}

rpc_error *rpci_value_unwrap(const rpc_type *t, ProtobufCMessage *wrapper,
                             void *value)
{
	const ProtobufCFieldDescriptor *f = rpci_value_field(t);
	void *field = MESSAGE_AT(wrapper, f->offset, char);
	size_t size = rpci_value_size(f);
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
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		message_free_string(f, *(char **)value);
		*(char **)value = NULL;
		break;
	case PROTOBUF_C_TYPE_BYTES:
		message_free_bytes(f, value);
		memset(value, 0, sizeof(ProtobufCBinaryData));
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		message_free_sub(f, *(ProtobufCMessage **)value);
		*(ProtobufCMessage **)value = NULL;
		break;
	default:
		break;
	}
}
