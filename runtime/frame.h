/* frame.h - native framing of the protobuf codec (private to librpc).
 *
 * A frame is a 4-byte big-endian length N followed by N bytes: a header
 * (varint-prefixed service-method, varint sequence number, varint-prefixed
 * error text) and then the body, which runs to the end of the frame.
 * docs/framing.md describes it byte by byte.
 */
#ifndef RPCI_FRAME_H
#define RPCI_FRAME_H

#include "codec.h"

/* Bytes before the payload: the big-endian length. */
#define RPCI_FRAME_PREFIX 4

/* Longest varint: a 64-bit value in 7-bit groups. */
#define RPCI_VARINT_MAX 10

/* One frame parsed in place. Every pointer borrows the input buffer given
 * to rpci_frame_read and is valid while that buffer is. The strings are
 * not NUL-terminated; use the lengths. */
typedef struct rpci_frame {
	const char *service_method;
	size_t service_method_len;
	uint64_t seq;
	const char *error; /* responses; requests: "" */
	size_t error_len;
	uint64_t timeout_us; /* requests: option 1, 0 when absent */
	const uint8_t *body;
	size_t body_len;
} rpci_frame;

/* rpci_frame_read parses one frame from in[0..len): a request when
 * request is true (the server's side: the third slot holds options), else
 * a response (the client's side: the third slot is the error text). It
 * checks the length against max_frame before anything else, so a caller
 * that grows its input buffer on RPCI_READ_AGAIN never holds more than one
 * frame's worth. Returns RPCI_READ_OK (sets *used and *f), RPCI_READ_AGAIN
 * (the frame is incomplete; nothing set) or RPCI_READ_ERROR (sets *err,
 * which the caller frees: oversized or malformed frame). */
rpci_read_status rpci_frame_read(const uint8_t *in, size_t len,
                                 size_t max_frame, bool request, size_t *used,
                                 rpci_frame *f, rpc_error **err);

/* rpci_frame_need is the codec's need op for frames: RPCI_FRAME_PREFIX plus
 * the announced length once the prefix has arrived and the length is within
 * max_frame, else 0. */
size_t rpci_frame_need(const uint8_t *in, size_t len, size_t max_frame);

/* rpci_frame_begin appends the length placeholder and h's header to out
 * (the options of a request when h->timeout_us is not 0, which needs an
 * empty h->error; else the error text) and sets *start to the frame's offset in
 * out; the caller then appends the body and calls rpci_frame_finish. h is
 * borrowed for the duration of the call. Returns false on out of memory (out
 * keeps its old length). */
bool rpci_frame_begin(rpci_buf *out, const rpci_header *h, size_t *start);

/* rpci_frame_finish writes the length of the frame that begins at start.
 * A frame longer than max_frame is removed from out again and an error
 * (RPC_ERR_PROTOCOL, caller frees) returned. */
rpc_error *rpci_frame_finish(rpci_buf *out, size_t start, size_t max_frame);

/* rpci_varint_put writes v as a protobuf varint into p (room for
 * RPCI_VARINT_MAX bytes) and returns the number of bytes written. */
size_t rpci_varint_put(uint8_t *p, uint64_t v);

/* rpci_varint_get reads a varint from p[0..len) into *v. Returns the bytes
 * used, 0 if the input ends inside the varint, or SIZE_MAX if it is longer
 * than RPCI_VARINT_MAX bytes or overflows 64 bits. */
size_t rpci_varint_get(const uint8_t *p, size_t len, uint64_t *v);

#endif
