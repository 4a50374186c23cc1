/* server.c - the accepting server of tests (sup_server.h). */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sup_server.h"

static void *server_accept_main(void *arg)
{
	sup_server *s = arg;

	return s->http ? rpc_server_accept_http(s->srv, s->lis, NULL, NULL)
	               : rpc_server_accept(s->srv, s->lis);
}

rpc_error *sup_server_start(sup_server *s, rpc_server *srv, const char *address,
                            bool http)
{
	rpc_listener *lis;
	rpc_error *err;

	memset(s, 0, sizeof *s);
	err = rpc_listen(address, &lis);
	if (err != NULL)
		return err;
	return sup_server_start_listener(s, srv, lis, http);
}

rpc_error *sup_server_start_listener(sup_server *s, rpc_server *srv,
                                     rpc_listener *lis, bool http)
{
	memset(s, 0, sizeof *s);
	s->srv = srv;
	s->http = http;
	s->lis = lis;
	if (pthread_create(&s->acceptor, NULL, server_accept_main, s) != 0) {
		rpc_listener_free(s->lis);
		s->lis = NULL;
		return rpc_error_new("sup_server_start: pthread_create failed");
	}
	s->running = true;
	return NULL;
}

rpc_error *sup_server_stop(sup_server *s)
{
	void *ret = NULL;

	if (s->lis != NULL)
		rpc_listener_close(s->lis);
	if (s->running)
		pthread_join(s->acceptor, &ret);
	s->running = false;
	rpc_listener_free(s->lis);
	s->lis = NULL;
	return ret;
}

bool sup_have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6};
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	bool ok;

	if (fd < 0)
		return false;
	a.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

static void *pair_serve(void *arg)
{
	sup_pair *p = arg;

	rpc_error_free(rpc_server_serve_codec(p->srv, p->server_fd, p->codec));
	return NULL;
}

rpc_error *sup_pair_open(sup_pair *p, const rpc_codec *codec,
                         rpc_error *(*reg)(rpc_server *srv, void *ud), void *ud)
{
	rpc_server_options so = {.codec = codec, .threads = 1};
	rpc_client_options co = {.codec = codec};
	rpc_error *err;
	int sv[2];

	memset(p, 0, sizeof *p);
	p->codec = codec;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return rpc_error_new("socketpair failed");
	if ((err = rpc_server_new(&so, &p->srv)) != NULL ||
	    (err = reg(p->srv, ud)) != NULL) {
		rpc_server_free(p->srv);
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	p->server_fd = sv[0];
	if (pthread_create(&p->thread, NULL, pair_serve, p) != 0) {
		rpc_server_free(p->srv);
		close(sv[0]);
		close(sv[1]);
		return rpc_error_new("pthread_create failed");
	}
	if ((err = rpc_client_new_fd(sv[1], &co, &p->cli)) != NULL) {
		close(sv[1]); /* the server's read ends: its thread returns */
		pthread_join(p->thread, NULL);
		rpc_server_free(p->srv);
		return err;
	}
	return NULL;
}

void sup_pair_close(sup_pair *p)
{
	rpc_client_free(p->cli);
	pthread_join(p->thread, NULL);
	rpc_server_free(p->srv);
}
