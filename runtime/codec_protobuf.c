/* codec_protobuf.c - the native codec: frames of frame.c, protobuf bodies.
 *
 * Bodies are libprotobuf-c's own encoding of the generated message (the
 * one-field wrapper for RPC_FORM_VALUE and RPC_FORM_WRAPPED types). Each
 * decoded message is one allocation holding the service-method and the
 * error text, so msg_clear frees one block; the undecoded body borrows the
 * caller's input (codec.h), so a large body is copied once, by
 * protobuf-c into the message it decodes to. Writing sizes the output from
 * get_packed_size and packs the body in place. The serving
 * side reads requests (whose options give msg->timeout_us), the calling
 * side responses; requests carry the caller's time left (frame.c). The state is
 * read-only after state_new, so reader and writer share it safely.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "frame.h"
#include "internal.h"

typedef struct pb_state {
	bool server;
	size_t max_frame;
} pb_state;

static rpc_error *pb_state_new(bool server, size_t max_frame, void **state)
{
	pb_state *s = malloc(sizeof *s);

	if (s == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	s->server = server;
	s->max_frame = max_frame == 0 ? RPC_DEFAULT_MAX_FRAME : max_frame;
	if (s->max_frame > UINT32_MAX)
		s->max_frame = UINT32_MAX;
	*state = s;
	return NULL;
}

static void pb_state_free(void *state)
{
	free(state);
}

static rpci_read_status pb_read(void *state, const uint8_t *in, size_t len,
                                size_t *used, rpci_msg *msg, rpc_error **err)
{
	pb_state *s = state;
	rpci_frame f;
	rpci_read_status st;
	char *block;

	st = rpci_frame_read(in, len, s->max_frame, s->server, used, &f, err);
	if (st != RPCI_READ_OK)
		return st;
	block = malloc(f.service_method_len + f.error_len + 2);
	if (block == NULL) {
		*err = rpci_error(RPC_ERR_NOMEM, NULL);
		return RPCI_READ_ERROR;
	}
	memcpy(block, f.service_method, f.service_method_len);
	block[f.service_method_len] = '\0';
	msg->service_method = block;
	block += f.service_method_len + 1;
	memcpy(block, f.error, f.error_len);
	block[f.error_len] = '\0';
	msg->error = block;
	msg->body = (void *)f.body; /* borrowed: see codec.h */
	msg->body_len = f.body_len;
	msg->seq = f.seq;
	msg->timeout_us = f.timeout_us;
	return RPCI_READ_OK;
}

static size_t pb_need(void *state, const uint8_t *in, size_t len)
{
	pb_state *s = state;

	return rpci_frame_need(in, len, s->max_frame);
}

/* Decoding notes a failure to allocate so that out of memory is not
 * reported as a bad body. A server owns the arguments it decodes and frees
 * them through rpc_message_free_contents when the handler returns, so
 * there a block of RPCI_BIG bytes or more (a large bytes or string field)
 * is a big block (big.c), unmapped when freed; a client's caller owns the
 * reply and may free() its fields, so there every block is malloc'd. */
typedef struct pb_alloc_state {
	bool failed;
	bool server;
} pb_alloc_state;

static void *pb_alloc(void *data, size_t n)
{
	pb_alloc_state *a = data;
	void *p;

	p = rpci_big_field_alloc(a->server, n);
	if (p == NULL)
		a->failed = true;
	return p;
}

static void pb_free(void *data, void *p)
{
	(void)data;
	rpci_big_free(p);
}

static rpc_error *pb_read_body(void *state, rpci_msg *msg, const rpc_type *t,
                               ProtobufCMessage *dst)
{
	pb_state *s = state;
	pb_alloc_state a = {false, s->server};
	ProtobufCAllocator alloc = {pb_alloc, pb_free, &a};
	ProtobufCMessage *m;

	if (dst == NULL || t == NULL)
		return NULL;
	assert(dst->descriptor == t->desc);
	m = protobuf_c_message_unpack(t->desc, &alloc, msg->body_len,
	                              msg->body);
	if (m == NULL && a.failed)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	if (m == NULL)
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "rpc: can't decode body as %s", t->name);
	/* libprotobuf-c allocates everything a message points to separately
	 * from the message struct, so the struct can move. */
	memcpy(dst, m, t->desc->sizeof_message);
	rpci_big_free(m);
	return NULL;
}

static void pb_msg_clear(void *state, rpci_msg *msg)
{
	(void)state;
	free(msg->service_method); /* the one block of pb_read */
	memset(msg, 0, sizeof *msg);
}

static rpc_error *pb_write(void *state, const rpci_header *h, const rpc_type *t,
                           const ProtobufCMessage *body, rpci_buf *out)
{
	pb_state *s = state;
	size_t start, n;

	(void)t;
	if (!rpci_frame_begin(out, h, &start))
		return rpci_error(RPC_ERR_NOMEM, NULL);
	if (body != NULL) {
		n = protobuf_c_message_get_packed_size(body);
		if (n > s->max_frame) {
			n += out->len - start - RPCI_FRAME_PREFIX;
			out->len = start;
			return rpci_error(RPC_ERR_PROTOCOL,
			                  "rpc: frame of %zu bytes exceeds the "
			                  "maximum of %zu",
			                  n, s->max_frame);
		}
		if (!rpci_buf_reserve(out, n)) {
			out->len = start;
			return rpci_error(RPC_ERR_NOMEM, NULL);
		}
		out->len += protobuf_c_message_pack(body, out->data + out->len);
	}
	return rpci_frame_finish(out, start, s->max_frame);
}

const rpc_codec rpc_codec_protobuf = {
    .abi = RPC_CODEC_ABI,
    .name = "protobuf",
    .state_new = pb_state_new,
    .state_free = pb_state_free,
    .read = pb_read,
    .need = pb_need,
    .read_body = pb_read_body,
    .msg_clear = pb_msg_clear,
    .write = pb_write,
};
