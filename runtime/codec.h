/* codec.h - the codec ops table inside librpc (the interface itself is
 * public: rpc_codec.h, whose opening comment has the rules).
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
#include "rpc_codec.h"

/* The interface is public (rpc_codec.h); inside librpc its types keep
 * their rpci_ names. */
typedef rpc_buf rpci_buf;
#define rpci_buf_reserve rpc_buf_reserve
#define rpci_buf_append  rpc_buf_append
#define rpci_buf_fini    rpc_buf_fini

typedef rpc_codec_msg rpci_msg;
typedef rpc_codec_header rpci_header;
typedef rpc_read_status rpci_read_status;
#define RPCI_READ_OK    RPC_READ_OK
#define RPCI_READ_AGAIN RPC_READ_AGAIN
#define RPCI_READ_ERROR RPC_READ_ERROR

/* RPCI_BIG is where a block counts as large: from this size on, the
 * buffers librpc owns and the fields it decodes for a server are big
 * blocks (big.c), mapped from the kernel 2 MiB aligned with huge pages and
 * unmapped when freed. */
#define RPCI_BIG ((size_t)4 * 1024 * 1024)

/* rpci_big_alloc maps a big block of at least n bytes (n below RPCI_BIG
 * gets RPCI_BIG), its start 2 MiB aligned. NULL when out of memory; never
 * falls back to malloc. Free with rpci_big_free. */
void *rpci_big_alloc(size_t n);

/* rpci_big_malloc is rpci_big_alloc(n) when n is at least RPCI_BIG, else
 * malloc(n). Free with rpci_big_free. */
void *rpci_big_malloc(size_t n);

/* rpci_big_free frees p, a big block (unmapped at once) or a malloc'd one
 * (free). Accepts NULL. */
void rpci_big_free(void *p);

/* rpci_big_realloc makes p (NULL, malloc'd or a big block) n bytes,
 * keeping its first min(keep, n) bytes (keep is at most p's size): a big
 * block when n is at least RPCI_BIG, else malloc'd. Like realloc, NULL
 * when out of memory, and p is then unchanged. */
void *rpci_big_realloc(void *p, size_t keep, size_t n);

/* rpci_big_owns tells whether p is a big block. */
bool rpci_big_owns(const void *p);

/* rpci_big_live is the number of big blocks alive, and in *bytes (when not
 * NULL) what they map: tests check both return to 0, since ASan and
 * valgrind do not see a mapping that leaked. */
size_t rpci_big_live(size_t *bytes);

/* rpci_big_field_alloc allocates a decoded field's block (a string, bytes
 * or list) of n bytes: on a server, which owns the arguments it decodes
 * and frees them through rpc_message_free_contents, rpci_big_malloc; on a
 * client, whose caller owns the reply and may free() its fields, malloc,
 * advised for huge pages when large (rpci_big_advise). NULL when out of
 * memory. */
void *rpci_big_field_alloc(bool server, size_t n);

/* rpci_page_span is the start of the whole pages within p[0..n), and in
 * *len their length (0 when there are none). */
void *rpci_page_span(void *p, size_t n, size_t *len);

/* rpci_big_advise asks the kernel to back the untouched memory p[0..n) of
 * a malloc'd block with huge pages when n is at least RPCI_BIG (a no-op
 * elsewhere). Used where a large block stays malloc'd: the fields of a
 * reply a client decodes, which its caller owns and frees with free().
 * Errors are ignored. */
void rpci_big_advise(void *p, size_t n);

/* rpci_codec_check refuses a codec built for another RPC_CODEC_ABI (or
 * missing an op): NULL when codec may be used. */
rpc_error *rpci_codec_check(const rpc_codec *codec);

#endif
