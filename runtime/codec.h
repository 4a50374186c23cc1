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

/* rpci_big_advise asks the kernel to back the untouched memory p[0..n) with
 * huge pages when n is at least RPCI_BIG (a no-op elsewhere): a large
 * message's buffers are fresh memory, and faulting them in 4 KiB pages
 * costs more than copying them. Errors are ignored. */
#define RPCI_BIG ((size_t)4 * 1024 * 1024)
void rpci_big_advise(void *p, size_t n);

/* rpci_codec_check refuses a codec built for another RPC_CODEC_ABI (or
 * missing an op): NULL when codec may be used. */
rpc_error *rpci_codec_check(const rpc_codec *codec);

#endif
