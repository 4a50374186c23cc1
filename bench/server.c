/* server.c - bench-server, the librpc side of bench/run.py.
 *
 * Same flags and output as go/server.go: serves Arith.Multiply and
 * Types.Echo (the large shapes; it copies its argument, as a handler must
 * that does not own it) on -addr
 * (default 127.0.0.1:0) with -codec protobuf|gob|json (and -loops N, the
 * server's event loops, default one per CPU), prints
 * "listening HOST:PORT" and runs until SIGTERM or SIGINT.
 */
#define _POSIX_C_SOURCE 200809L /* sigwait, poll, clock_gettime in strict C11 */

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arith.rpc.h"
#include "large.rpc.h"

static rpc_error *bench_multiply(void *self, const arith_Args *args,
                                 int64_t *reply)
{
	(void)self;
	*reply = args->A * args->B;
	return NULL;
}

static rpc_error *bench_unused(void *self, const arith_Args *args,
                               int64_t *reply)
{
	(void)self;
	(void)args;
	(void)reply;
	return rpc_error_new("not part of the benchmark");
}

static const arith_Arith_handlers bench_handlers = {
	.Multiply = bench_multiply,
	.Add = bench_unused,
};

static rpc_error *bench_echo(void *self, const large_Blob *args,
                             large_Blob *reply)
{
	(void)self;
	return large_Blob_copy(reply, args) ? NULL
	                                    : rpc_error_new("out of memory");
}

static const large_Types_handlers bench_large = {
    .Echo = bench_echo,
};

struct bench_acceptor {
	rpc_server *srv;
	rpc_listener *l;
};

static void *bench_accept(void *arg)
{
	struct bench_acceptor *a = arg;
	rpc_error_free(rpc_server_accept(a->srv, a->l));
	return NULL;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1:0";
	rpc_tls *tls = NULL;
	rpc_error *err = NULL;
	rpc_server_options opts = {.codec = &rpc_codec_protobuf};
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i] + (argv[i][0] == '-') +
		                (argv[i][0] == '-' && argv[i][1] == '-');
		if (strcmp(k, "addr") == 0)
			addr = argv[i + 1];
		else if (strcmp(k, "tls") == 0) {
			char cert[4096], key[4096];
			snprintf(cert, sizeof cert, "%s/server.pem", argv[i + 1]);
			snprintf(key, sizeof key, "%s/server.key", argv[i + 1]);
			rpc_tls_options to = {.cert_file = cert, .key_file = key};
			rpc_tls_free(tls);
			if ((err = rpc_tls_server_new(&to, &tls))) {
				fprintf(stderr, "bench-server: %s\n",
				        rpc_error_message(err));
				return 1;
			}
		} else if (strcmp(k, "maxframe") == 0)
			opts.max_frame = (size_t)atoll(argv[i + 1]);
		else if (strcmp(k, "loops") == 0)
			opts.threads = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(k, "codec") == 0 && strcmp(argv[i + 1], "gob") == 0)
			opts.codec = &rpc_codec_gob;
		else if (strcmp(k, "codec") == 0 && strcmp(argv[i + 1], "json") == 0)
			opts.codec = &rpc_codec_json;
		else if (strcmp(k, "codec") != 0 ||
		         strcmp(argv[i + 1], "protobuf") != 0) {
			fprintf(stderr, "usage: bench-server [-addr HOST:PORT] "
			                "[-codec protobuf|gob|json] [-loops N] "
			                "[-tls CERTDIR]\n");
			return 2;
		}
	}

	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	struct bench_acceptor a = {0};
	err = rpc_server_new(&opts, &a.srv);
	if (!err)
		err = arith_Arith_register(a.srv, &bench_handlers, NULL);
	if (!err)
		err = large_Types_register(a.srv, &bench_large, NULL);
	if (!err)
		err = tls != NULL ? rpc_listen_tls(addr, tls, &a.l)
		                  : rpc_listen(addr, &a.l);
	rpc_tls_free(tls);
	if (err) {
		fprintf(stderr, "bench-server: %s\n", rpc_error_message(err));
		return 1;
	}
	/* Print the address the way Go's net.Addr does: HOST:PORT. */
	const char *bound = rpc_listener_address(a.l);
	printf("listening %s\n", strncmp(bound, "tcp:", 4) == 0 ||
	                                   strncmp(bound, "tls:", 4) == 0
	                              ? bound + 4
	                              : bound);
	fflush(stdout);

	pthread_t th;
	pthread_create(&th, NULL, bench_accept, &a);
	int sig;
	sigwait(&stop, &sig);
	rpc_listener_close(a.l);
	pthread_join(th, NULL);
	rpc_listener_free(a.l);
	rpc_server_free(a.srv);
	return 0;
}
