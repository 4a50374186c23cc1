/* pool_server.c - one replica for the balanced-client suite.
 *
 *   pool_server ADDRESS ID
 *
 * Serves pool.Replica on ADDRESS ("tcp:127.0.0.2:7000") answering every
 * call with ID, until killed. A separate process so that a test can
 * SIGKILL it for real.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pool.rpc.h"

static int64_t server_id;

static rpc_error *server_who(void *self, int64_t x, int64_t *reply)
{
	(void)self;
	(void)x;
	*reply = server_id;
	return NULL;
}

static rpc_error *server_slow(void *self, int64_t ms, int64_t *reply)
{
	struct timespec ts = {.tv_sec = ms / 1000,
	                      .tv_nsec = (ms % 1000) * 1000000L};

	(void)self;
	if (ms > 0 && ms < 10000)
		nanosleep(&ts, NULL);
	*reply = server_id;
	return NULL;
}

static const pool_Replica_handlers server_handlers = {
    .Who = server_who,
    .Get = server_who,
    .Slow = server_slow,
    .SlowGet = server_slow,
};

int main(int argc, char **argv)
{
	rpc_server_options o = {.threads = 1};
	rpc_server *srv;
	rpc_listener *l;
	rpc_error *err;

	if (argc != 3) {
		fprintf(stderr, "usage: pool_server ADDRESS ID\n");
		return 2;
	}
	server_id = strtoll(argv[2], NULL, 10);
	err = rpc_server_new(&o, &srv);
	if (err == NULL)
		err = pool_Replica_register(srv, &server_handlers, NULL);
	if (err == NULL)
		err = rpc_listen(argv[1], &l);
	if (err == NULL)
		err = rpc_server_accept(srv, l);
	if (err != NULL) {
		fprintf(stderr, "pool_server %s: %s\n", argv[1],
		        rpc_error_message(err));
		return 1;
	}
	return 0;
}
