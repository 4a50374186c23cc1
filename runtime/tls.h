/* tls.h - TLS on OpenSSL for the client, the server and the HTTP dialer
 * (private to librpc; docs/tls.md).
 *
 * An rpc_tls (rpc.h) is an OpenSSL context with librpc's settings and, for
 * clients, a small cache of sessions to resume. The functions below run one
 * step of a handshake, a read or a write on a non-blocking socket and say
 * what the step waits for; callers poll (the client, the dialer) or wait
 * for epoll (the server's loops). Nothing here locks an SSL: its users
 * make sure no two threads touch one at once.
 */
#ifndef RPCI_TLS_H
#define RPCI_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "rpc.h"

typedef struct ssl_st SSL;

/* RPCI_TLS_RECORD is the most plain text one TLS record carries: a read
 * with this much room returns all that OpenSSL has decrypted. */
#define RPCI_TLS_RECORD 16384

typedef enum rpci_tls_status {
	RPCI_TLS_OK,
	RPCI_TLS_WANT_READ,  /* wait until the socket is readable */
	RPCI_TLS_WANT_WRITE, /* wait until the socket is writable */
	RPCI_TLS_EOF,        /* the peer closed */
	RPCI_TLS_ERROR,      /* *err says why (caller frees) */
} rpci_tls_status;

/* rpci_tls_ref takes a reference to t; rpc_tls_free drops one. */
rpc_tls *rpci_tls_ref(rpc_tls *t);

/* rpci_tls_is_server tells a server context from a client one. */
bool rpci_tls_is_server(const rpc_tls *t);

/* rpci_tls_client_ssl makes the client end of a connection on fd to
 * host:port (host is what the server's certificate must name, unless t
 * names another or skips verification; NULL for a unix socket, which then
 * needs t's server name). Offers the session t keeps for host:port. On
 * success *out (caller frees with rpci_tls_ssl_free) is ready for
 * rpci_tls_handshake. */
rpc_error *rpci_tls_client_ssl(rpc_tls *t, int fd, const char *host,
                               const char *port, SSL **out);

/* rpci_tls_server_ssl makes the server end of a connection on fd; NULL
 * when out of memory. Caller frees with rpci_tls_ssl_free. */
SSL *rpci_tls_server_ssl(rpc_tls *t, int fd);

/* rpci_tls_ssl_free frees ssl, after sending a close_notify (if it can
 * without waiting) when polite: not after an error. Accepts NULL. */
void rpci_tls_ssl_free(SSL *ssl, bool polite);

/* One step of the handshake, a read or a write. read sets *n to the bytes
 * read (OK only); write to the bytes written (OK only, at least one). On
 * RPCI_TLS_ERROR *err is an RPC_ERR_TLS (or RPC_ERR_IO) error naming
 * OpenSSL's reason, prefixed with what. */
rpci_tls_status rpci_tls_handshake(SSL *ssl, const char *what, rpc_error **err);
rpci_tls_status rpci_tls_read(SSL *ssl, void *buf, size_t cap, size_t *n,
                              rpc_error **err);
rpci_tls_status rpci_tls_write(SSL *ssl, const void *p, size_t len, size_t *n,
                               rpc_error **err);

/* rpci_tls_pending: ssl holds bytes already received that a read would
 * return without the socket being readable. */
bool rpci_tls_pending(SSL *ssl);

/* rpci_tls_connect makes the client end (rpci_tls_client_ssl) and runs
 * its handshake to the end on fd, waiting at most timeout_ms (negative:
 * no limit; RPC_ERR_TIMEOUT). fd is left non-blocking. */
rpc_error *rpci_tls_connect(rpc_tls *t, int fd, const char *host,
                            const char *port, int timeout_ms, SSL **out);

/* rpci_tls_write_all and rpci_tls_read_some write all of p, or read what
 * comes (at least one byte), on the non-blocking fd of ssl, waiting at
 * most timeout_ms for each step (negative: no limit). read_some sets *n
 * to 0 at end of stream. */
rpc_error *rpci_tls_write_all(SSL *ssl, const void *p, size_t len,
                              int timeout_ms);
rpc_error *rpci_tls_read_some(SSL *ssl, void *buf, size_t cap, size_t *n,
                              int timeout_ms);

/* rpci_tls_wait waits until fd is ready for what st asks (WANT_READ or
 * WANT_WRITE), at most timeout_ms (negative: no limit). false on timeout
 * or error (errno set; ETIMEDOUT for the timeout). */
bool rpci_tls_wait(int fd, rpci_tls_status st, int timeout_ms);

/* rpci_tls_peer fills p (strings malloc'd; rpci_tls_peer_fini frees them)
 * with what ssl knows of its peer after the handshake. */
typedef struct rpci_tls_peer_info {
	char *subject; /* RFC 2253, "" when no verified certificate */
	char *sans;    /* "DNS:a,IP:1.2.3.4", "" when none */
	bool verified;
} rpci_tls_peer_info;
bool rpci_tls_peer(SSL *ssl, rpci_tls_peer_info *p);
void rpci_tls_peer_fini(rpci_tls_peer_info *p);

/* rpci_tls_describe writes "TLSv1.3 TLS_AES_128_GCM_SHA256" and whether
 * the session was resumed into info (rpc.h). */
void rpci_tls_describe(SSL *ssl, rpc_tls_info *info);

/* ---- the client's side (client.c) ---- */

/* rpci_client_wants_tls: a dial of address with opts speaks TLS. */
bool rpci_client_wants_tls(const char *address, const rpc_client_options *opts);

/* rpci_client_tls_handshake runs the client handshake on the connected
 * socket fd to address with opts->tls (or, when NULL, a configuration
 * trusting the system's store), within timeout_ms (negative: none). On
 * success *ssl (caller frees with rpci_tls_ssl_free) is ready and *tls is
 * a reference the caller drops with rpc_tls_free. */
rpc_error *rpci_client_tls_handshake(int fd, const char *address,
                                     const rpc_client_options *opts,
                                     int timeout_ms, rpc_tls **tls, SSL **ssl);

/* rpci_client_new_tls is rpc_client_new_fd on a TLS connection whose
 * handshake is done; on success the client owns ssl and takes its own
 * reference to tls. */
rpc_error *rpci_client_new_tls(int fd, SSL *ssl, rpc_tls *tls,
                               const rpc_client_options *opts,
                               rpc_client **out);

#endif
