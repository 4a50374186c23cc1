/* sup_server.h - a server accepting on a listener of its own, for tests: the
 * listener (usually on port 0: "tcp:127.0.0.1:0", or one the test made) and
 * a thread running rpc_server_accept (or rpc_server_accept_http) until
 * sup_server_stop.
 *
 *	sup_server s;
 *	ck_assert_ptr_null(rpc_server_new(NULL, &srv));
 *	... register services ...
 *	ck_assert_ptr_null(sup_server_start(&s, srv, "tcp:127.0.0.1:0", false));
 *	... rpc_dial(rpc_listener_address(s.lis), ...) ...
 *	ck_assert_ptr_null(sup_server_stop(&s));
 *	rpc_server_free(srv);
 */
#ifndef SUPPORT_SERVER_H
#define SUPPORT_SERVER_H

#include <pthread.h>
#include <stdbool.h>

#include "rpc.h"

typedef struct sup_server {
	rpc_server *srv;   /* borrowed from the caller */
	rpc_listener *lis; /* valid until sup_server_stop */
	pthread_t acceptor;
	bool http; /* rpc_server_accept_http (default paths) */
	bool running;
} sup_server;

/* sup_server_start listens on address and starts accepting on it for srv
 * (borrowed; it must outlive sup_server_stop). Returns NULL, or the error of
 * rpc_listen (caller frees with rpc_error_free; nothing is left running). */
rpc_error *sup_server_start(sup_server *s, rpc_server *srv, const char *address,
                            bool http);

/* sup_server_start_listener starts accepting for srv (borrowed, as above)
 * on lis, a listener made by the caller (rpc_listen_tls, say), which it
 * takes: sup_server_stop frees it, and so does a failure. Returns NULL or an
 * error (caller frees with rpc_error_free). */
rpc_error *sup_server_start_listener(sup_server *s, rpc_server *srv,
                                     rpc_listener *lis, bool http);

/* sup_server_stop closes the listener, waits for the accepting thread and
 * frees the listener. Returns what the accepting loop returned: NULL when
 * it ended cleanly (caller frees an error with rpc_error_free). */
rpc_error *sup_server_stop(sup_server *s);

/* sup_pair is a server and a client joined by a socketpair, the server
 * serving its end with rpc_server_serve_codec in a thread of its own. */
typedef struct sup_pair {
	rpc_server *srv; /* owned: freed by sup_pair_close */
	rpc_client *cli; /* owned: freed by sup_pair_close */
	pthread_t thread;
	int server_fd;
	const rpc_codec *codec;
} sup_pair;

/* sup_pair_open makes a one-thread server on codec, lets reg(srv, ud)
 * register its services, and joins a client on codec to it. Returns NULL,
 * or the first error (caller frees; nothing is left running or open). */
rpc_error *sup_pair_open(sup_pair *p, const rpc_codec *codec,
                         rpc_error *(*reg)(rpc_server *srv, void *ud),
                         void *ud);

/* sup_pair_close frees the client (so the server's read ends and its
 * thread returns), joins that thread and frees the server. */
void sup_pair_close(sup_pair *p);

/* sup_have_ipv6_loopback is true when this machine can listen on ::1; a
 * test that needs it reports SKIP (exit 77) otherwise. */
bool sup_have_ipv6_loopback(void);

#endif
