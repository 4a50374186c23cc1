/* desc.c - the parts of desc.h that are not inline.
 *
 * The map rule, the alignment of an array's inline storage and Go's names
 * of scalar types: each answered here alone (desc.h says what stays true).
 */
#include <string.h>

#include "desc.h"

bool rpci_field_map(const ProtobufCFieldDescriptor *f,
                    const ProtobufCFieldDescriptor **key,
                    const ProtobufCFieldDescriptor **value)
{
	const ProtobufCMessageDescriptor *d = f->descriptor;
	size_t n;

	if (f->label != PROTOBUF_C_LABEL_REPEATED ||
	    f->type != PROTOBUF_C_TYPE_MESSAGE || d == NULL ||
	    d->short_name == NULL || d->n_fields != 2 || d->fields[0].id != 1 ||
	    d->fields[1].id != 2 || strcmp(d->fields[0].name, "key") != 0 ||
	    strcmp(d->fields[1].name, "value") != 0 ||
	    d->fields[0].label == PROTOBUF_C_LABEL_REPEATED ||
	    d->fields[1].label == PROTOBUF_C_LABEL_REPEATED ||
	    d->fields[0].type == PROTOBUF_C_TYPE_MESSAGE)
		return false;
	n = strlen(d->short_name);
	if (n < 5 || strcmp(d->short_name + n - 5, "Entry") != 0)
		return false;
	if (key != NULL)
		*key = &d->fields[0];
	if (value != NULL)
		*value = &d->fields[1];
	return true;
}

void *rpci_array_at(const ProtobufCFieldDescriptor *f, const void *msg)
{
	size_t at = f->offset + sizeof(void *);
	rpci_kind k = rpci_field_kind(f);
	size_t align = 1; /* strings, messages and 32 bits: never more than
	                     a pointer's */

	if (k == RPCI_KIND_BYTES)
		align = _Alignof(ProtobufCBinaryData);
	else if (k == RPCI_KIND_FLOAT && rpci_field_size(f) == 8)
		align = _Alignof(double);
	else if ((k == RPCI_KIND_INT || k == RPCI_KIND_UINT) &&
	         rpci_field_size(f) == 8)
		align = _Alignof(int64_t);
	at = (at + align - 1) / align * align;
	return (char *)msg + at;
}

const char *rpci_field_go_scalar(const ProtobufCFieldDescriptor *f)
{
	bool wide = rpci_field_size(f) == 8;

	switch (rpci_field_kind(f)) {
	case RPCI_KIND_INT:
		return wide ? "int64" : "int32";
	case RPCI_KIND_UINT:
		return wide ? "uint64" : "uint32";
	case RPCI_KIND_FLOAT:
		return wide ? "float64" : "float32";
	case RPCI_KIND_BOOL:
		return "bool";
	case RPCI_KIND_STRING:
		return "string";
	case RPCI_KIND_BYTES:
		return "[]uint8";
	default:
		return NULL;
	}
}
