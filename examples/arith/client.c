/* client.c - the Arith client: blocking calls, an error reply, asynchronous
 * calls through a pollable done-queue and a callback, RPC over HTTP, and the
 * shutdown error after close.
 *
 *   arith-client [--tls CA.pem] RPC_ADDRESS [HTTP_ADDRESS]
 *
 * With --tls it speaks TLS to a server started with arith-server --tls,
 * trusting the certificate authority in CA.pem (docs/tls.md).
 */
#define _POSIX_C_SOURCE 200809L /* sigwait, poll, clock_gettime in strict C11 */

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "arith.rpc.h"

static int fail(const char *what, rpc_error *err)
{
	fprintf(stderr, "arith-client: %s: %s\n", what, rpc_error_message(err));
	rpc_error_free(err);
	return 1;
}

/* Asynchronous calls through a done-queue whose fd sits in a poll loop, as
 * it would in a program's own event loop. */
static int add_async(rpc_client *c)
{
	enum { N = 4 };
	arith_Args args[N];
	int64_t sums[N];
	rpc_done *q = rpc_done_new_queue();
	if (!q)
		return 1;
	for (int i = 0; i < N; i++) {
		arith_Args_init(&args[i]);
		args[i].A = 10 * (i + 1);
		args[i].B = i + 1;
		rpc_error *err = arith_Arith_Add_go(c, &args[i], &sums[i], q, NULL);
		if (err) {
			rpc_done_free(q);
			return fail("Arith.Add", err);
		}
	}
	for (int done = 0; done < N;) {
		struct pollfd p = {.fd = rpc_done_fd(q), .events = POLLIN};
		if (poll(&p, 1, 5000) <= 0)
			break;
		rpc_call *call;
		while ((call = rpc_done_next(q))) {
			int64_t *sum = rpc_call_reply(call);
			int i = (int)(sum - sums);
			if (rpc_call_error(call))
				printf("Arith.Add failed: %s\n",
				       rpc_error_message(rpc_call_error(call)));
			else
				printf("async Arith.Add(%lld, %lld) = %lld\n",
				       (long long)args[i].A, (long long)args[i].B,
				       (long long)*sum);
			rpc_call_free(call);
			done++;
		}
	}
	rpc_done_free(q);
	return 0;
}

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

/* on_product runs on the client's reader thread when the call completes. */
static void on_product(rpc_call *call, void *ud)
{
	struct waiter *w = ud;
	const rpc_error *err = rpc_call_error(call);
	if (err)
		printf("callback: %s\n", rpc_error_message(err));
	else
		printf("callback: Arith.Multiply = %lld\n",
		       (long long)*(int64_t *)rpc_call_reply(call));
	rpc_call_free(call);
	pthread_mutex_lock(&w->mu);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static int multiply_callback(rpc_client *c)
{
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	                   false};
	rpc_done *cb = rpc_done_new_callback(on_product, &w);
	arith_Args args = ARITH_ARGS_INIT;
	int64_t product = 0;
	args.A = -6;
	args.B = 7;
	rpc_error *err = arith_Arith_Multiply_go(c, &args, &product, cb, NULL);
	if (err) {
		rpc_done_free(cb);
		return fail("Arith.Multiply", err);
	}
	pthread_mutex_lock(&w.mu);
	while (!w.done)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	rpc_done_free(cb);
	return 0;
}

int main(int argc, char **argv)
{
	rpc_client_options opts = {0};
	rpc_error *err = NULL;
	if (argc > 2 && strcmp(argv[1], "--tls") == 0) {
		rpc_tls_options to = {.ca_file = argv[2]};
		if ((err = rpc_tls_client_new(&to, &opts.tls)))
			return fail("tls", err);
		argc -= 2;
		argv += 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: arith-client [--tls CA.pem] RPC_ADDRESS "
		                "[HTTP_ADDRESS]\n");
		return 2;
	}
	rpc_client *c = NULL;
	err = rpc_dial(argv[1], &opts, &c);
	if (err)
		return fail(argv[1], err);

	arith_Args args = ARITH_ARGS_INIT;
	args.A = 7;
	args.B = 8;
	int64_t product = 0;
	if ((err = arith_Arith_Multiply(c, &args, &product)))
		return fail("Arith.Multiply", err);
	printf("Arith.Multiply(7, 8) = %lld\n", (long long)product);

	arith_Quotient q = ARITH_QUOTIENT_INIT;
	args.A = 17;
	args.B = 5;
	if ((err = arith_Arith_Divide(c, &args, &q)))
		return fail("Arith.Divide", err);
	printf("Arith.Divide(17, 5) = %lld rem %lld\n", (long long)q.Quo,
	       (long long)q.Rem);
	arith_Quotient_free_contents(&q);

	args.B = 0;
	err = arith_Arith_Divide(c, &args, &q);
	printf("Arith.Divide(17, 0) -> %s error: %s\n",
	       err ? rpc_error_kind_name(rpc_error_kind_of(err)) : "no",
	       err ? rpc_error_message(err) : "(none)");
	rpc_error_free(err);

	if (add_async(c) || multiply_callback(c))
		return 1;

	if ((err = rpc_client_close(c)))
		return fail("close", err);
	err = arith_Arith_Multiply(c, &args, &product);
	printf("after close: %s\n", err ? rpc_error_message(err) : "no error?");
	rpc_error_free(err);
	rpc_client_free(c);

	if (argc > 2) {
		if ((err = rpc_dial_http(argv[2], NULL, &opts, &c)))
			return fail(argv[2], err);
		args.A = 6;
		args.B = 9;
		if ((err = arith_Arith_Multiply(c, &args, &product)))
			return fail("Arith.Multiply over HTTP", err);
		printf("over HTTP CONNECT: Arith.Multiply(6, 9) = %lld\n",
		       (long long)product);
		rpc_client_free(c);
		bool tls = opts.tls != NULL || strncmp(argv[2], "tls:", 4) == 0;
		const char *hostport = strncmp(argv[2], "tcp:", 4) == 0 ||
		                               strncmp(argv[2], "tls:", 4) == 0
		                           ? argv[2] + 4
		                           : argv[2];
		printf("debug page: %s://%s/debug/rpc\n", tls ? "https" : "http",
		       hostport);
	}
	rpc_tls_free(opts.tls);
	return 0;
}
