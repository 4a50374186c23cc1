/* server.c - the Arith server: Go's net/rpc example, in C.
 *
 *   arith-server [--tls CERT.pem KEY.pem] [RPC_ADDRESS [HTTP_ADDRESS]]
 *
 * Serves Arith on RPC_ADDRESS (default tcp:127.0.0.1:0, plain RPC with the
 * native protobuf codec) and on HTTP_ADDRESS (default tcp:127.0.0.1:0: RPC
 * over HTTP CONNECT on /_goRPC_ and the debug page on /debug/rpc), prints
 * "listening RPC_ADDR HTTP_ADDR" with the bound ports, and runs until
 * SIGINT or SIGTERM. With --tls both listeners speak TLS with that
 * certificate (docs/tls.md), and say so: "tls:127.0.0.1:PORT".
 */
#include <string.h>

#define _POSIX_C_SOURCE 200809L /* sigwait, poll, clock_gettime in strict C11 */

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arith.rpc.h"

static rpc_error *arith_multiply(void *self, const arith_Args *args,
                                 int64_t *reply)
{
	(void)self;
	*reply = args->A * args->B;
	return NULL;
}

static rpc_error *arith_divide(void *self, const arith_Args *args,
                               arith_Quotient *reply)
{
	(void)self;
	if (args->B == 0)
		return rpc_error_new("divide by zero");
	reply->Quo = args->A / args->B;
	reply->Rem = args->A % args->B;
	return NULL;
}

static rpc_error *arith_add(void *self, const arith_Args *args,
                            int64_t *reply)
{
	(void)self;
	*reply = args->A + args->B;
	return NULL;
}

static const arith_Arith_handlers arith_handlers = {
	.Multiply = arith_multiply,
	.Divide = arith_divide,
	.Add = arith_add,
};

struct acceptor {
	rpc_server *srv;
	rpc_listener *l;
	bool http;
	pthread_t thread;
};

static void *accept_main(void *arg)
{
	struct acceptor *a = arg;
	rpc_error *err = a->http ? rpc_server_accept_http(a->srv, a->l, NULL, NULL)
	                         : rpc_server_accept(a->srv, a->l);
	if (err) {
		fprintf(stderr, "arith-server: accept: %s\n",
		        rpc_error_message(err));
		rpc_error_free(err);
	}
	return NULL;
}

static int fail(const char *what, rpc_error *err)
{
	fprintf(stderr, "arith-server: %s: %s\n", what, rpc_error_message(err));
	rpc_error_free(err);
	return 1;
}

int main(int argc, char **argv)
{
	rpc_tls *tls = NULL;
	rpc_error *err = NULL;
	if (argc > 3 && strcmp(argv[1], "--tls") == 0) {
		rpc_tls_options to = {.cert_file = argv[2], .key_file = argv[3]};
		if ((err = rpc_tls_server_new(&to, &tls)))
			return fail("tls", err);
		argc -= 3;
		argv += 3;
	}
	const char *rpc_addr = argc > 1 ? argv[1] : "tcp:127.0.0.1:0";
	const char *http_addr = argc > 2 ? argv[2] : "tcp:127.0.0.1:0";

	/* Block the stop signals before any thread starts, so that only
	 * sigwait below receives them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	rpc_server *srv = NULL;
	err = rpc_server_new(NULL, &srv);
	if (err)
		return fail("server", err);
	if ((err = arith_Arith_register(srv, &arith_handlers, NULL)))
		return fail("register", err);

	struct acceptor acc[2] = {{.srv = srv}, {.srv = srv, .http = true}};
	if ((err = tls ? rpc_listen_tls(rpc_addr, tls, &acc[0].l)
	               : rpc_listen(rpc_addr, &acc[0].l)))
		return fail(rpc_addr, err);
	if ((err = tls ? rpc_listen_tls(http_addr, tls, &acc[1].l)
	               : rpc_listen(http_addr, &acc[1].l)))
		return fail(http_addr, err);
	rpc_tls_free(tls); /* the listeners keep their own */
	printf("listening %s %s\n", rpc_listener_address(acc[0].l),
	       rpc_listener_address(acc[1].l));
	fflush(stdout);

	for (int i = 0; i < 2; i++)
		pthread_create(&acc[i].thread, NULL, accept_main, &acc[i]);

	int sig = 0;
	sigwait(&stop, &sig);

	for (int i = 0; i < 2; i++) {
		rpc_listener_close(acc[i].l);
		pthread_join(acc[i].thread, NULL);
		rpc_listener_free(acc[i].l);
	}
	printf("Arith.Multiply served %llu calls\n",
	       (unsigned long long)rpc_server_num_calls(srv, "Arith.Multiply"));
	rpc_server_free(srv);
	return 0;
}
