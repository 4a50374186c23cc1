/* server.c - the public server: lifecycle, registration, accepting,
 * serving connections and single requests, listeners.
 *
 * Shutdown order (rpc_server_shutdown, then the rest of rpc_server_free):
 * mark closing and wake every blocked accept; wait until no accept runs;
 * wake the loops, whose pollers stop reading every connection; wait until
 * each connection's calls have finished and replies been written (the
 * connection then closes itself) or the drain deadline passes, when every
 * connection left is cut (its replies dropped, its socket shut down). Then
 * rpc_server_free waits for the calls still running (a handler, not a
 * peer), stops the loops and joins their threads, stops the monitor, and
 * frees.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "server_internal.h"
#include "transport.h"

enum {
	SERVER_MAX_THREADS = 1024,
	SERVER_WRITE_TIMEOUT_MS = 30000,
	SERVER_FRAME_TIMEOUT_MS = 60000,
	SERVER_KEEPALIVE_S = 15,
	SERVER_MAX_CONN_INFLIGHT = 128,
};
#define SERVER_MAX_CONN_OUT ((size_t)1024 * 1024)
#define SERVER_MAX_BUFFERED ((size_t)128 * 1024 * 1024)

/* server_timeout: 0 is the default, negative none (about 24 days). */
static int server_timeout(int ms, int dflt)
{
	return ms == 0 ? dflt : ms < 0 ? INT_MAX / 2 : ms;
}

struct rpc_listener {
	int fd;
	char *address;
	char *unix_path; /* the socket file we created, or NULL */
	int port;
	atomic_bool closed;
	rpc_tls *tls; /* a reference; NULL: plain */
};

/* One accepting thread of rpc_server_start, on srv->started. */
struct rpci_started {
	struct rpci_started *next;
	rpc_server *srv;
	rpc_listener *l; /* borrowed */
	bool http;
	char *rpc_path;   /* owned; for http */
	char *debug_path; /* owned; for http */
	pthread_t t;
	rpc_error *err; /* what the accept loop returned */
};

/* One running rpc_server_accept, on the server's list for shutdown. */
struct rpci_accepting {
	struct rpci_accepting *next;
	rpc_listener *l;
};

void rpci_server_log(rpc_server *srv, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (srv->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	srv->log(srv->log_ud, line);
}

struct rpci_thread {
	pthread_t t;
	bool exited;
};

bool rpci_server_spawn(rpc_server *srv, rpci_loop *lp)
{
	bool ok = false;

	pthread_mutex_lock(&srv->mu);
	/* reap threads that left: they hold no lock, so joining is quick */
	for (size_t i = 0; i < srv->n_threads; i++)
		if (srv->threads[i].exited) {
			pthread_join(srv->threads[i].t, NULL);
			srv->threads[i--] = srv->threads[--srv->n_threads];
		}
	if (srv->n_live >= srv->max_threads)
		goto out;
	if (srv->n_threads == srv->cap_threads) {
		size_t cap = srv->cap_threads ? srv->cap_threads * 2 : 8;
		struct rpci_thread *t = realloc(srv->threads, cap * sizeof(*t));
		if (t == NULL)
			goto out;
		srv->threads = t;
		srv->cap_threads = cap;
	}
	srv->threads[srv->n_threads].exited = false;
	if (pthread_create(&srv->threads[srv->n_threads].t, NULL,
	                   rpci_loop_thread, lp) != 0)
		goto out;
	srv->n_threads++;
	srv->n_live++;
	ok = true;
out:
	pthread_mutex_unlock(&srv->mu);
	return ok;
}

void rpci_server_thread_exit(rpc_server *srv)
{
	pthread_t self = pthread_self();

	pthread_mutex_lock(&srv->mu);
	for (size_t i = 0; i < srv->n_threads; i++)
		if (!srv->threads[i].exited &&
		    pthread_equal(srv->threads[i].t, self)) {
			srv->threads[i].exited = true;
			srv->n_live--;
			break;
		}
	pthread_mutex_unlock(&srv->mu);
}

rpc_error *rpc_server_new(const rpc_server_options *opts, rpc_server **out)
{
	rpc_server_options o = {0};
	rpc_server *srv;
	rpc_error *err = NULL;
	unsigned i = 0;

	if (out == NULL)
		return rpci_error(RPC_ERR_INVALID, NULL);
	*out = NULL;
	if (opts != NULL)
		o = *opts;
	if (o.codec != NULL && (err = rpci_codec_check(o.codec)) != NULL)
		return err;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	rpci_registry_init(&srv->reg);
	srv->codec = o.codec != NULL ? o.codec : &rpc_codec_protobuf;
	srv->max_frame = o.max_frame != 0 ? o.max_frame : RPC_DEFAULT_MAX_FRAME;
	srv->log = o.log;
	srv->log_ud = o.log_ud;
	srv->authorize = o.authorize;
	srv->authorize_ud = o.authorize_ud;
	srv->max_threads =
	    o.max_threads != 0 ? o.max_threads : SERVER_MAX_THREADS;
	srv->write_timeout_ms =
	    server_timeout(o.write_timeout_ms, SERVER_WRITE_TIMEOUT_MS);
	srv->frame_timeout_ms =
	    server_timeout(o.frame_timeout_ms, SERVER_FRAME_TIMEOUT_MS);
	srv->idle_timeout_ms = o.idle_timeout_ms > 0 ? o.idle_timeout_ms : 0;
	srv->keepalive_s = o.keepalive_s == 0  ? SERVER_KEEPALIVE_S
	                   : o.keepalive_s < 0 ? 0
	                                       : o.keepalive_s;
	srv->max_conn_out =
	    o.max_conn_out != 0 ? o.max_conn_out : SERVER_MAX_CONN_OUT;
	srv->max_conn_inflight = o.max_conn_inflight != 0
	                             ? o.max_conn_inflight
	                             : SERVER_MAX_CONN_INFLIGHT;
	srv->max_buffered = o.max_buffered;
	if (srv->max_buffered == 0) {
		srv->max_buffered = SERVER_MAX_BUFFERED;
		if (srv->max_frame <= SIZE_MAX / 2 &&
		    srv->max_buffered < 2 * srv->max_frame)
			srv->max_buffered = 2 * srv->max_frame;
	}
	atomic_init(&srv->buffered, 0);
	srv->n_loops = o.threads;
	if (srv->n_loops == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		srv->n_loops = n > 0 ? (unsigned)n : 1;
	}
	if (srv->n_loops > srv->max_threads)
		srv->n_loops = srv->max_threads;
	pthread_mutex_init(&srv->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&srv->mon_mu, NULL);
	pthread_cond_init(&srv->mon_cv, NULL);
	atomic_init(&srv->closing, false);
	atomic_init(&srv->mon_idle, false);
	atomic_init(&srv->next_loop, 0);
	srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->stop_fd < 0) {
		err = rpci_error_errno(errno, "rpc: server");
		goto fail_loops;
	}

	srv->loops = calloc(srv->n_loops, sizeof(*srv->loops));
	if (srv->loops == NULL) {
		err = rpci_error(RPC_ERR_NOMEM, NULL);
		goto fail_loops;
	}
	for (i = 0; i < srv->n_loops; i++) {
		err = rpci_loop_init(&srv->loops[i], srv);
		if (err != NULL)
			goto fail_loops;
	}
	if (pthread_create(&srv->monitor, NULL, rpci_monitor_thread, srv) !=
	    0) {
		err = rpci_error(RPC_ERR_NOMEM, "rpc: can't start a thread");
		goto fail_loops;
	}
	for (unsigned j = 0; j < srv->n_loops; j++)
		if (!rpci_server_spawn(srv, &srv->loops[j])) {
			rpc_server_free(srv);
			return rpci_error(RPC_ERR_NOMEM,
			                  "rpc: can't start a thread");
		}
	*out = srv;
	return NULL;

fail_loops:
	while (i-- > 0)
		rpci_loop_fini(&srv->loops[i]);
	free(srv->loops);
	if (srv->stop_fd >= 0)
		close(srv->stop_fd);
	pthread_cond_destroy(&srv->mon_cv);
	pthread_mutex_destroy(&srv->mon_mu);
	pthread_cond_destroy(&srv->cv);
	pthread_mutex_destroy(&srv->mu);
	rpci_registry_fini(&srv->reg);
	free(srv);
	return err;
}

/* ---- serving in the background ------------------------------------------ */

void rpc_server_stop_async(rpc_server *srv)
{
	uint64_t one = 1;
	int saved = errno; /* a signal handler's caller sees errno unchanged */

	/* write(2) is async-signal-safe; a full counter (2^64 - 2 stops)
	 * means a stop is pending anyway */
	while (write(srv->stop_fd, &one, sizeof one) < 0 && errno == EINTR)
		;
	errno = saved;
}

static void *server_started_main(void *arg)
{
	struct rpci_started *s = arg;

	s->err = s->http ? rpc_server_accept_http(s->srv, s->l, s->rpc_path,
	                                          s->debug_path)
	                 : rpc_server_accept(s->srv, s->l);
	if (s->err != NULL)
		rpc_server_stop_async(s->srv); /* the waiter learns of it */
	return NULL;
}

/* server_start is rpc_server_start(_http). */
static rpc_error *server_start(rpc_server *srv, rpc_listener *l, bool http,
                               const char *rpc_path, const char *debug_path)
{
	struct rpci_started *s;

	if (srv == NULL || l == NULL)
		return rpci_error(RPC_ERR_INVALID, NULL);
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	s->srv = srv;
	s->l = l;
	s->http = http;
	if (http) {
		s->rpc_path =
		    strdup(rpc_path != NULL ? rpc_path : RPC_DEFAULT_RPC_PATH);
		s->debug_path = strdup(
		    debug_path != NULL ? debug_path : RPC_DEFAULT_DEBUG_PATH);
		if (s->rpc_path == NULL || s->debug_path == NULL) {
			free(s->rpc_path);
			free(s->debug_path);
			free(s);
			return rpci_error(RPC_ERR_NOMEM, NULL);
		}
	}
	pthread_mutex_lock(&srv->mu);
	if (atomic_load(&srv->closing)) {
		pthread_mutex_unlock(&srv->mu);
		free(s->rpc_path);
		free(s->debug_path);
		free(s);
		return rpci_error(RPC_ERR_SHUTDOWN, NULL);
	}
	if (pthread_create(&s->t, NULL, server_started_main, s) != 0) {
		pthread_mutex_unlock(&srv->mu);
		free(s->rpc_path);
		free(s->debug_path);
		free(s);
		return rpci_error(RPC_ERR_NOMEM, "rpc: can't start a thread");
	}
	s->next = srv->started;
	srv->started = s;
	pthread_mutex_unlock(&srv->mu);
	return NULL;
}

rpc_error *rpc_server_start(rpc_server *srv, rpc_listener *l)
{
	return server_start(srv, l, false, NULL, NULL);
}

rpc_error *rpc_server_start_http(rpc_server *srv, rpc_listener *l,
                                 const char *rpc_path, const char *debug_path)
{
	return server_start(srv, l, true, rpc_path, debug_path);
}

/* server_join_started closes the listeners of the started accepting
 * threads, joins them and frees them; the first error they returned goes
 * to *err (or is freed when err is NULL). */
static void server_join_started(rpc_server *srv, rpc_error **err)
{
	struct rpci_started *list;

	pthread_mutex_lock(&srv->mu);
	list = srv->started;
	srv->started = NULL;
	pthread_mutex_unlock(&srv->mu);
	for (struct rpci_started *s = list; s != NULL; s = s->next)
		rpc_listener_close(s->l);
	while (list != NULL) {
		struct rpci_started *s = list;
		list = s->next;
		pthread_join(s->t, NULL);
		if (err != NULL && *err == NULL)
			*err = s->err;
		else
			rpc_error_free(s->err);
		free(s->rpc_path);
		free(s->debug_path);
		free(s);
	}
}

rpc_error *rpc_server_wait(rpc_server *srv)
{
	struct pollfd p;
	uint64_t n;
	rpc_error *err = NULL;

	if (srv == NULL)
		return rpci_error(RPC_ERR_INVALID, NULL);
	p.fd = srv->stop_fd;
	p.events = POLLIN;
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	(void)!read(srv->stop_fd, &n, sizeof n); /* the next wait waits */
	server_join_started(srv, &err);
	return err;
}

/* server_drain is rpc_server_shutdown; returns the connections cut. */
static size_t server_drain(rpc_server *srv, int timeout_ms)
{
	struct timespec dl;
	size_t cut = 0;

	/* 1. no more connections */
	pthread_mutex_lock(&srv->mu);
	atomic_store(&srv->closing, true);
	for (struct rpci_accepting *a = srv->accepting; a != NULL; a = a->next)
		shutdown(a->l->fd, SHUT_RDWR);
	while (srv->n_accepting > 0)
		pthread_cond_wait(&srv->cv, &srv->mu);
	pthread_mutex_unlock(&srv->mu);

	/* 2. stop reading, let the calls in flight finish and reply */
	for (unsigned i = 0; i < srv->n_loops; i++)
		rpci_loop_wake(&srv->loops[i]);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	if (timeout_ms >= 0) {
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&srv->mu);
	while (srv->n_conns > 0) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&srv->cv, &srv->mu);
		} else if (pthread_cond_timedwait(&srv->cv, &srv->mu, &dl) ==
		           ETIMEDOUT) {
			/* 3. the deadline: cut what is left */
			for (rpci_conn *c = srv->conns; c != NULL;
			     c = c->next) {
				rpci_conn_cut(c);
				cut++;
			}
			break;
		}
	}
	pthread_mutex_unlock(&srv->mu);
	if (cut > 0)
		rpci_server_log(srv,
		                "rpc: shutdown: %zu connections cut after %d "
		                "ms",
		                cut, timeout_ms);
	return cut;
}

rpc_error *rpc_server_shutdown(rpc_server *srv, int timeout_ms, size_t *cut)
{
	size_t n;

	if (cut != NULL)
		*cut = 0;
	if (srv == NULL)
		return rpci_error(RPC_ERR_INVALID, NULL);
	rpc_server_stop_async(srv); /* a waiter returns */
	n = server_drain(srv, timeout_ms);
	if (cut != NULL)
		*cut = n;
	if (n > 0)
		return rpci_error(RPC_ERR_TIMEOUT,
		                  "rpc: shutdown: %zu connections cut at the "
		                  "deadline",
		                  n);
	return NULL;
}

void rpc_server_free(rpc_server *srv)
{
	if (srv == NULL)
		return;

	/* 1.-3. rpc_server_shutdown; then wait for the calls still running
	 * (their connections are cut: no peer holds them up) */
	server_drain(srv, RPC_DEFAULT_DRAIN_MS);
	pthread_mutex_lock(&srv->mu);
	while (srv->n_conns > 0 || srv->n_waiters > 0)
		pthread_cond_wait(&srv->cv, &srv->mu);
	pthread_mutex_unlock(&srv->mu);

	/* 4. stop the threads */
	for (unsigned i = 0; i < srv->n_loops; i++)
		rpci_loop_stop(&srv->loops[i]);
	pthread_mutex_lock(&srv->mon_mu);
	srv->mon_stop = true;
	pthread_cond_signal(&srv->mon_cv);
	pthread_mutex_unlock(&srv->mon_mu);
	pthread_join(srv->monitor, NULL);
	/* the accepting threads of rpc_server_start returned in the drain */
	server_join_started(srv, NULL);
	close(srv->stop_fd);
	/* the monitor is gone, so n_threads no longer grows */
	for (size_t i = 0; i < srv->n_threads; i++)
		pthread_join(srv->threads[i].t, NULL);

	/* 5. free */
	for (unsigned i = 0; i < srv->n_loops; i++) {
		rpci_req *r = srv->loops[i].head;
		while (r != NULL) { /* cannot happen: conns drained */
			rpci_req *next = r->next;
			rpci_req_free(r);
			r = next;
		}
		rpci_loop_fini(&srv->loops[i]);
	}
	free(srv->loops);
	free(srv->threads);
	while (srv->http != NULL) {
		rpci_http_paths *p = srv->http;
		srv->http = p->next;
		free(p->rpc_path);
		free(p->debug_path);
		free(p);
	}
	rpci_registry_fini(&srv->reg);
	pthread_cond_destroy(&srv->mon_cv);
	pthread_mutex_destroy(&srv->mon_mu);
	pthread_cond_destroy(&srv->cv);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}

rpc_error *rpc_server_register(rpc_server *srv, const rpc_service_desc *desc,
                               const void *handlers, void *self,
                               const char *name)
{
	if (srv == NULL)
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc.Register: server is NULL");
	return rpci_registry_add(&srv->reg, desc, handlers, self, name);
}

uint64_t rpc_server_num_calls(rpc_server *srv, const char *service_method)
{
	char *errmsg = NULL;
	rpci_method *m;

	if (srv == NULL || service_method == NULL)
		return 0;
	m = rpci_registry_lookup(&srv->reg, service_method, &errmsg);
	free(errmsg);
	return m != NULL ? atomic_load(&m->calls) : 0;
}

char *rpc_strdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* ---- listeners and accepting --------------------------------------------- */

/* server_listen is rpc_listen, with tls (a reference the listener takes
 * over; NULL: plain) for rpc_listen_tls. */
static rpc_error *server_listen(const char *address, rpc_tls *tls,
                                rpc_listener **out)
{
	rpc_listener *l;
	rpc_error *err;
	char *tcp = NULL;

	if (out == NULL) {
		rpc_tls_free(tls);
		return rpci_error(RPC_ERR_INVALID, NULL);
	}
	*out = NULL;
	if (address != NULL && strncmp(address, "tls:", 4) == 0) {
		if (tls == NULL)
			return rpci_error(RPC_ERR_INVALID,
			                  "rpc: listen %s: a TLS address needs "
			                  "rpc_listen_tls and a certificate",
			                  address);
		tcp = malloc(strlen(address) + 1);
		if (tcp == NULL) {
			rpc_tls_free(tls);
			return rpci_error(RPC_ERR_NOMEM, NULL);
		}
		memcpy(tcp, "tcp:", 4);
		strcpy(tcp + 4, address + 4);
		address = tcp;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		free(tcp);
		rpc_tls_free(tls);
		return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	l->tls = tls;
	err = rpci_transport_listen(address, &l->fd, &l->address);
	free(tcp);
	if (err != NULL) {
		rpc_tls_free(tls);
		free(l);
		return err;
	}
	if (tls != NULL && strncmp(l->address, "tcp:", 4) == 0)
		memcpy(l->address, "tls:", 4); /* what rpc_dial takes */
	atomic_init(&l->closed, false);
	if (strncmp(l->address, "unix:", 5) == 0) {
		l->unix_path = strdup(l->address + 5);
		if (l->unix_path == NULL) {
			unlink(l->address + 5);
			close(l->fd);
			free(l->address);
			rpc_tls_free(l->tls);
			free(l);
			return rpci_error(RPC_ERR_NOMEM, NULL);
		}
	} else {
		const char *colon = strrchr(l->address, ':');
		l->port = colon != NULL ? atoi(colon + 1) : 0;
	}
	*out = l;
	return NULL;
}

rpc_error *rpc_listen(const char *address, rpc_listener **out)
{
	return server_listen(address, NULL, out);
}

rpc_error *rpc_listen_tls(const char *address, rpc_tls *tls, rpc_listener **out)
{
	if (tls == NULL || !rpci_tls_is_server(tls))
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc: rpc_listen_tls needs a server TLS "
		                  "configuration (rpc_tls_server_new)");
	return server_listen(address, rpci_tls_ref(tls), out);
}

const char *rpc_listener_address(const rpc_listener *l)
{
	return l != NULL ? l->address : NULL;
}

int rpc_listener_port(const rpc_listener *l)
{
	return l != NULL ? l->port : 0;
}

void rpc_listener_close(rpc_listener *l)
{
	if (l == NULL || atomic_exchange(&l->closed, true))
		return;
	shutdown(l->fd, SHUT_RDWR); /* wakes a blocked accept */
	if (l->unix_path != NULL)
		unlink(l->unix_path);
}

void rpc_listener_free(rpc_listener *l)
{
	if (l == NULL)
		return;
	rpc_listener_close(l);
	close(l->fd);
	rpc_tls_free(l->tls);
	free(l->unix_path);
	free(l->address);
	free(l);
}

static rpc_error *server_accept(rpc_server *srv, rpc_listener *l,
                                const rpci_http_paths *http)
{
	struct rpci_accepting self = {.l = l};
	rpc_error *err = NULL;
	unsigned delay_ms = 0;

	pthread_mutex_lock(&srv->mu);
	if (atomic_load(&srv->closing)) {
		pthread_mutex_unlock(&srv->mu);
		return NULL;
	}
	self.next = srv->accepting;
	srv->accepting = &self;
	srv->n_accepting++;
	pthread_mutex_unlock(&srv->mu);

	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			if (atomic_load(&l->closed) ||
			    atomic_load(&srv->closing))
				break;
			if (e == EINTR || e == ECONNABORTED || e == EAGAIN)
				continue;
			if (e == EMFILE || e == ENFILE || e == ENOBUFS ||
			    e == ENOMEM) {
				/* as Go: back off and try again */
				delay_ms = delay_ms == 0 ? 5 : delay_ms * 2;
				if (delay_ms > 1000)
					delay_ms = 1000;
				rpci_server_log(srv,
				                "rpc: accept: %s; retrying in "
				                "%u ms",
				                strerror(e), delay_ms);
				struct timespec ts = {
				    .tv_sec = delay_ms / 1000,
				    .tv_nsec = (delay_ms % 1000) * 1000000L,
				};
				nanosleep(&ts, NULL);
				continue;
			}
			err = rpci_error_errno(e, "rpc: accept");
			break;
		}
		delay_ms = 0;
		if (l->unix_path == NULL) {
			int one = 1;
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			                 sizeof(one));
			if (srv->keepalive_s > 0)
				rpci_transport_keepalive(fd, srv->keepalive_s);
		}
		rpc_error *e =
		    rpci_conn_start(srv, fd, srv->codec, http, false, l->tls);
		if (e != NULL) {
			rpci_server_log(srv, "rpc: serving a connection: %s",
			                rpc_error_message(e));
			rpc_error_free(e);
		}
	}

	pthread_mutex_lock(&srv->mu);
	for (struct rpci_accepting **p = &srv->accepting; *p != NULL;
	     p = &(*p)->next)
		if (*p == &self) {
			*p = self.next;
			break;
		}
	srv->n_accepting--;
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
	return err;
}

rpc_error *rpc_server_accept(rpc_server *srv, rpc_listener *l)
{
	if (srv == NULL || l == NULL)
		return rpci_error(RPC_ERR_INVALID, NULL);
	return server_accept(srv, l, NULL);
}

rpc_error *rpc_server_accept_http(rpc_server *srv, rpc_listener *l,
                                  const char *rpc_path, const char *debug_path)
{
	rpci_http_paths *p;

	if (srv == NULL || l == NULL)
		return rpci_error(RPC_ERR_INVALID, NULL);
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	p->rpc_path =
	    strdup(rpc_path != NULL ? rpc_path : RPC_DEFAULT_RPC_PATH);
	p->debug_path =
	    strdup(debug_path != NULL ? debug_path : RPC_DEFAULT_DEBUG_PATH);
	if (p->rpc_path == NULL || p->debug_path == NULL) {
		free(p->rpc_path);
		free(p->debug_path);
		free(p);
		return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	pthread_mutex_lock(&srv->mu);
	p->next = srv->http;
	srv->http = p;
	pthread_mutex_unlock(&srv->mu);
	return server_accept(srv, l, p);
}

/* server_keepalive applies keepalive_s to a connection the caller
 * accepted itself, as to those rpc_server_accept accepts, when it is a
 * tcp socket. */
static void server_keepalive(rpc_server *srv, int fd)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof a;

	if (srv->keepalive_s > 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0 &&
	    (a.ss_family == AF_INET || a.ss_family == AF_INET6))
		rpci_transport_keepalive(fd, srv->keepalive_s);
}

rpc_error *rpc_server_serve_conn(rpc_server *srv, int fd)
{
	if (srv == NULL) {
		close(fd);
		return rpci_error(RPC_ERR_INVALID, NULL);
	}
	server_keepalive(srv, fd);
	return rpci_conn_start(srv, fd, srv->codec, NULL, true, NULL);
}

rpc_error *rpc_server_serve_codec(rpc_server *srv, int fd,
                                  const rpc_codec *codec)
{
	rpc_error *err;

	if (srv == NULL) {
		close(fd);
		return rpci_error(RPC_ERR_INVALID, NULL);
	}
	if (codec != NULL && (err = rpci_codec_check(codec)) != NULL) {
		close(fd);
		return err;
	}
	server_keepalive(srv, fd);
	return rpci_conn_start(srv, fd, codec != NULL ? codec : srv->codec,
	                       NULL, true, NULL);
}

rpc_error *rpc_server_serve_tls(rpc_server *srv, int fd, rpc_tls *tls,
                                const rpc_codec *codec)
{
	rpc_error *err;

	if (srv == NULL || tls == NULL || !rpci_tls_is_server(tls)) {
		close(fd);
		return rpci_error(RPC_ERR_INVALID,
		                  srv == NULL
		                      ? NULL
		                      : "rpc: rpc_server_serve_tls needs "
		                        "a server TLS configuration "
		                        "(rpc_tls_server_new)");
	}
	if (codec != NULL && (err = rpci_codec_check(codec)) != NULL) {
		close(fd);
		return err;
	}
	server_keepalive(srv, fd);
	return rpci_conn_start(srv, fd, codec != NULL ? codec : srv->codec,
	                       NULL, true, tls);
}

/* ---- one request at a time ----------------------------------------------- */

struct rpc_server_codec {
	int fd;
	const rpc_codec *codec;
	void *cstate;
	size_t max_frame;
	uint8_t *in; /* from RPCI_BIG bytes on, a big block (big.c) */
	size_t in_off, in_len, in_cap;
	rpci_buf out;
};

rpc_error *rpc_server_codec_new(int fd, const rpc_codec *codec,
                                size_t max_frame, rpc_server_codec **out)
{
	rpc_server_codec *sc;
	rpc_error *err;

	if (out == NULL || fd < 0)
		return rpci_error(RPC_ERR_INVALID, NULL);
	if (codec != NULL && (err = rpci_codec_check(codec)) != NULL)
		return err;
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	sc->fd = fd;
	sc->codec = codec != NULL ? codec : &rpc_codec_protobuf;
	sc->max_frame = max_frame != 0 ? max_frame : RPC_DEFAULT_MAX_FRAME;
	err = sc->codec->state_new(true, sc->max_frame, &sc->cstate);
	if (err != NULL) {
		free(sc);
		return err;
	}
	*out = sc;
	return NULL;
}

void rpc_server_codec_free(rpc_server_codec *sc)
{
	if (sc == NULL)
		return;
	sc->codec->state_free(sc->cstate);
	close(sc->fd);
	rpci_big_free(sc->in);
	rpci_buf_fini(&sc->out);
	free(sc);
}

/* server_codec_fill reads more bytes into sc->in (blocking). */
static rpc_error *server_codec_fill(rpc_server_codec *sc)
{
	if (sc->in_off == sc->in_len) {
		sc->in_off = sc->in_len = 0;
	} else if (sc->in_off > 0) {
		memmove(sc->in, sc->in + sc->in_off, sc->in_len - sc->in_off);
		sc->in_len -= sc->in_off;
		sc->in_off = 0;
	}
	if (sc->in_cap - sc->in_len < 4096) {
		if (sc->in_len > sc->max_frame + 65536)
			return rpci_error(RPC_ERR_PROTOCOL,
			                  "rpc: request too large");
		size_t cap = sc->in_cap == 0 ? 16384 : sc->in_cap * 2;
		uint8_t *p = rpci_big_realloc(sc->in, sc->in_len, cap);
		if (p == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
		sc->in = p;
		sc->in_cap = cap;
	}
	for (;;) {
		ssize_t n =
		    read(sc->fd, sc->in + sc->in_len, sc->in_cap - sc->in_len);
		if (n > 0) {
			sc->in_len += (size_t)n;
			return NULL;
		}
		if (n == 0)
			return sc->in_len == 0
			           ? rpci_error(RPC_ERR_UNEXPECTED_EOF, "EOF")
			           : rpci_error(RPC_ERR_UNEXPECTED_EOF, NULL);
		if (errno != EINTR)
			return rpci_error_errno(errno, "rpc: read");
	}
}

rpc_error *rpc_server_serve_request(rpc_server *srv, rpc_server_codec *sc)
{
	rpci_msg msg;
	rpci_req *req;
	rpc_error *err = NULL;

	if (srv == NULL || sc == NULL)
		return rpci_error(RPC_ERR_INVALID, NULL);
	for (;;) {
		size_t used = 0;
		rpci_read_status st;

		memset(&msg, 0, sizeof(msg));
		st =
		    sc->codec->read(sc->cstate, sc->in + sc->in_off,
		                    sc->in_len - sc->in_off, &used, &msg, &err);
		if (st == RPCI_READ_OK) {
			sc->in_off += used;
			break;
		}
		if (st == RPCI_READ_ERROR)
			return err != NULL ? err
			                   : rpci_error(RPC_ERR_PROTOCOL, NULL);
		err = server_codec_fill(sc);
		if (err != NULL)
			return err;
	}
	req = rpci_req_prepare(srv, sc->codec, sc->cstate, &msg);
	sc->codec->msg_clear(sc->cstate, &msg);
	if (req == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	rpci_req_call(req);
	if (req->bad)
		err = rpci_error(RPC_ERR_PROTOCOL, "%s", req->errmsg);
	sc->out.len = 0;
	rpci_req_encode(req, sc->codec, sc->cstate, &sc->out);
	rpci_req_free(req);
	if (!rpci_write_all(sc->fd, sc->out.data, sc->out.len)) {
		rpc_error_free(err);
		err = rpci_error_errno(errno, "rpc: write");
	}
	return err;
}
