/* codec.h - the codec ops table (private to librpc and its codecs).
 *
 * A codec turns one connection's bytes into messages and back. It is
 * buffer-oriented so that it serves blocking and event-loop I/O alike: the
 * transport hands it whatever bytes have arrived, the codec consumes one
 * whole message (header and body) at a time or asks for more. It mirrors Go's
 * ServerCodec/ClientCodec duties: a request is (service_method, seq, body);
 * a response is (service_method, seq, error, body); reading a body into
 * nothing discards it; freeing state is idempotent with respect to NULL.
 *
 * Threading: read/read_body are called by one reader at a time per
 * connection; write by one writer at a time per connection (the runtime
 * serialises writes). Reader and writer may run concurrently on the same
 * state, so a codec keeps its read-side and write-side state apart.
 */
#ifndef RPCI_CODEC_H
#define RPCI_CODEC_H

#include "rpc.h"

/* A growable output buffer. */
typedef struct rpci_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
} rpci_buf;

/* rpci_buf_reserve makes room for n more bytes; returns false on OOM. */
bool rpci_buf_reserve(rpci_buf *b, size_t n);
bool rpci_buf_append(rpci_buf *b, const void *p, size_t n);
void rpci_buf_fini(rpci_buf *b);

/* rpci_big_advise asks the kernel to back the untouched memory p[0..n) with
 * huge pages when n is at least RPCI_BIG (a no-op elsewhere): a large
 * message's buffers are fresh memory, and faulting them in 4 KiB pages
 * costs more than copying them. Errors are ignored. */
#define RPCI_BIG ((size_t)4 * 1024 * 1024)
void rpci_big_advise(void *p, size_t n);

/* One decoded message. All pointers are owned by the message and freed by
 * the codec's msg_clear. */
typedef struct rpci_msg {
	char *service_method; /* "Arith.Multiply"; may be "" */
	uint64_t seq;
	char *error;         /* responses: NULL or "" means no error */
	uint64_t timeout_us; /* requests: the caller's time left, in
	                        microseconds; 0: none given (only the native
	                        codec carries it; gob and JSON leave 0) */
	void *body;          /* codec-private: the undecoded body; it may
	                        borrow the input given to read, so the caller
	                        keeps that input unchanged until msg_clear */
	size_t body_len;
} rpci_msg;

/* Outgoing header: a request when error == NULL on the client side, a
 * response on the server side. Borrowed for the duration of write. */
typedef struct rpci_header {
	const char *service_method;
	uint64_t seq;
	const char *error; /* responses: NULL or "" for none */
	/* requests: time left in microseconds, 0: none; codecs without a
	 * deadline on the wire ignore it */
	uint64_t timeout_us;
} rpci_header;

typedef enum rpci_read_status {
	RPCI_READ_OK = 0,    /* one message consumed (*used > 0) */
	RPCI_READ_AGAIN = 1, /* need more bytes; nothing consumed */
	RPCI_READ_ERROR = 2, /* the stream is broken: end the connection */
} rpci_read_status;

struct rpc_codec {
	const char *name; /* "protobuf", "gob", "json" */

	/* Per-connection state. server is true on the serving side.
	 * max_frame bounds any single length the codec will allocate for. */
	rpc_error *(*state_new)(bool server, size_t max_frame, void **state);
	void (*state_free)(void *state); /* accepts NULL */

	/* read tries to take one message from in[0..len). On RPCI_READ_OK sets
	 * *used and fills *msg. On RPCI_READ_ERROR sets *err (caller frees). */
	rpci_read_status (*read)(void *state, const uint8_t *in, size_t len,
	                         size_t *used, rpci_msg *msg, rpc_error **err);

	/* need tells, after read answered RPCI_READ_AGAIN on in[0..len), how
	 * many bytes in must hold before read can take the message that
	 * begins at in[0]: a number greater than len once the codec can tell
	 * (a frame's length prefix has arrived), else 0. It changes no state
	 * and never returns more than a frame read would accept (a length
	 * over max_frame gives 0, and read reports it). May be NULL (JSON,
	 * whose messages carry no length): callers then grow step by step. */
	size_t (*need)(void *state, const uint8_t *in, size_t len);

	/* read_body decodes msg's body as type t into *dst, a message of
	 * t->desc initialised by the caller. For t->form != RPC_FORM_MESSAGE
	 * codecs that allow it (gob, JSON) read field 1 bare. dst == NULL
	 * discards the body. Returns NULL or an error (a bad body: the call
	 * is answered with the error text and the connection lives on). What
	 * decoding allocates inside dst is malloc'd and freed with
	 * rpc_message_free_contents. */
	rpc_error *(*read_body)(void *state, rpci_msg *msg, const rpc_type *t,
	                        ProtobufCMessage *dst);

	void (*msg_clear)(void *state, rpci_msg *msg);

	/* write appends one encoded message to out. body may be NULL (t then
	 * NULL too): the codec sends its empty body, as Go does with an error
	 * response. */
	rpc_error *(*write)(void *state, const rpci_header *h,
	                    const rpc_type *t, const ProtobufCMessage *body,
	                    rpci_buf *out);
};

#endif
