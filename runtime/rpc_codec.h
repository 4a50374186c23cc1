/* rpc_codec.h - writing a codec of your own (installed as
 * librpc/rpc_codec.h beside rpc.h; docs/codecs.md).
 *
 * A codec is the wire format of one connection: it turns the bytes that
 * arrived into messages and messages into bytes, as Go's ServerCodec and
 * ClientCodec do. librpc's own three (rpc_codec_protobuf, rpc_codec_gob,
 * rpc_codec_json) are built on exactly this interface; yours is used the
 * same way, given to rpc_server_options.codec, rpc_server_serve_codec or
 * rpc_client_options.codec.
 *
 * The interface is buffer-oriented, so the same codec serves the server's
 * event loops and the client's blocking reader: librpc owns the sockets
 * and the buffers, hands read whatever bytes have arrived, and read either
 * takes one whole message (header and body) from their start or says it
 * needs more. A request is (service_method, seq, body); a response is
 * (service_method, seq, error, body). Bodies are decoded only when asked
 * (read_body), into the generated type the method names, which is a
 * protobuf-c message: a codec walks its ProtobufCMessageDescriptor.
 *
 * Threading: read, need, read_body and msg_clear are called by one thread
 * at a time per connection; write by one thread at a time per connection.
 * A read and a write of one connection may run at the same moment, so a
 * codec keeps its read-side and write-side state apart (or locks).
 * Different connections have different states and run in parallel.
 *
 * Ownership: the state is the codec's from state_new to state_free. A
 * message filled by read owns what it points to until msg_clear, and its
 * body may borrow the input given to read (librpc keeps that input in
 * place until msg_clear). What read_body allocates inside dst is malloc'd
 * and belongs to dst (freed with rpc_message_free_contents). write appends
 * to out, which librpc owns. Errors returned are the caller's to free.
 *
 * Limits: max_frame (from state_new) is the largest message the codec
 * may accept or allocate for; a longer one is an RPC_READ_ERROR before
 * anything is allocated for it. A codec with no length prefix (need ==
 * NULL) is still bounded: librpc never buffers more than max_frame for
 * one message.
 */
#ifndef RPC_CODEC_H
#define RPC_CODEC_H

#include "rpc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* RPC_CODEC_ABI is the version of this interface. A codec sets
 * rpc_codec.abi to it; librpc refuses a codec built for another
 * ("rpc: codec NAME was built for codec ABI N, this librpc has M"). */
#define RPC_CODEC_ABI 1

/* rpc_buf is a growable byte buffer: write appends to one. Its data
 * belongs to the rpc_buf_ functions: grow it with rpc_buf_reserve, free it
 * with rpc_buf_fini, never with realloc or free (from 4 MiB of capacity on
 * it is mapped memory, not malloc'd). */
typedef struct rpc_buf {
	uint8_t *data; /* cap bytes; NULL when cap is 0 */
	size_t len;    /* bytes used */
	size_t cap;
} rpc_buf;

/* rpc_buf_reserve makes room for n more bytes (data may move); false when
 * out of memory (b unchanged). rpc_buf_append appends p[0..n). rpc_buf_fini
 * frees data and zeroes b. */
RPC_API bool rpc_buf_reserve(rpc_buf *b, size_t n);
RPC_API bool rpc_buf_append(rpc_buf *b, const void *p, size_t n);
RPC_API void rpc_buf_fini(rpc_buf *b);

/* rpc_codec_msg is one message read: filled by read, owned by the message
 * (freed by msg_clear) except where noted. */
typedef struct rpc_codec_msg {
	char *service_method; /* "Arith.Multiply"; may be "" */
	uint64_t seq;
	char *error;         /* responses: NULL or "" means no error */
	uint64_t timeout_us; /* requests: the caller's time left in
	                        microseconds; 0: none given */
	void *body;          /* the codec's own: the undecoded body; it may
	                        borrow the input given to read */
	size_t body_len;
} rpc_codec_msg;

/* rpc_codec_header is one message to write, borrowed for the call: a
 * request on the client's side, a response on the server's. */
typedef struct rpc_codec_header {
	const char *service_method;
	uint64_t seq;
	const char *error;   /* responses: NULL or "" for none */
	uint64_t timeout_us; /* requests: time left in microseconds, 0: none;
	                        a codec with no place for it ignores it */
} rpc_codec_header;

typedef enum rpc_read_status {
	RPC_READ_OK = 0,    /* one message taken (*used > 0) */
	RPC_READ_AGAIN = 1, /* more bytes needed; nothing taken */
	RPC_READ_ERROR = 2, /* the stream is broken: the connection ends */
} rpc_read_status;

struct rpc_codec {
	uint32_t abi;     /* RPC_CODEC_ABI */
	const char *name; /* "protobuf", "gob", "json", "msgpack", ... */

	/* state_new makes one connection's state; server is true on the
	 * serving side. state_free accepts NULL. */
	rpc_error *(*state_new)(bool server, size_t max_frame, void **state);
	void (*state_free)(void *state);

	/* read tries to take one message from in[0..len). On RPC_READ_OK it
	 * sets *used and fills *msg; on RPC_READ_ERROR it sets *err. */
	rpc_read_status (*read)(void *state, const uint8_t *in, size_t len,
	                        size_t *used, rpc_codec_msg *msg,
	                        rpc_error **err);

	/* need (may be NULL) tells, after read answered RPC_READ_AGAIN on
	 * in[0..len), how many bytes in must hold before read can take the
	 * message that begins there: more than len once the codec can tell
	 * (a length prefix has arrived), else 0. It changes no state. librpc
	 * then reads the rest straight into one buffer of that size. */
	size_t (*need)(void *state, const uint8_t *in, size_t len);

	/* read_body decodes msg's body as type t into dst, a message of
	 * t->desc the caller initialised; dst == NULL (t NULL) discards it.
	 * For t->form != RPC_FORM_MESSAGE (a bare int64, string, list...)
	 * the value is field 1 of t->desc's wrapper message. An error here
	 * is a bad body: the call is answered with its text and the
	 * connection lives on. */
	rpc_error *(*read_body)(void *state, rpc_codec_msg *msg,
	                        const rpc_type *t, ProtobufCMessage *dst);

	/* msg_clear frees what read put in msg and zeroes it. */
	void (*msg_clear)(void *state, rpc_codec_msg *msg);

	/* write appends one message to out: h, and body as type t (both
	 * NULL for an error response, which sends the codec's empty body,
	 * as Go does). An error leaves out as it was. */
	rpc_error *(*write)(void *state, const rpc_codec_header *h,
	                    const rpc_type *t, const ProtobufCMessage *body,
	                    rpc_buf *out);
};

#ifdef __cplusplus
}
#endif
#endif
