/* balancer.c - balanced clients: one rpc_client per endpoint, calls spread
 * over them.
 *
 * A balancer owns a list of endpoints (resolve.c says which) and a thread.
 * The thread resolves the address (again on the TTL and after a failure),
 * dials endpoints that have no connection (with exponential backoff and
 * jitter after failures), polls every live connection for a hang-up so an
 * idle endpoint that dies is noticed within milliseconds, and reaps: a
 * dead connection once its calls have finished, a vanished endpoint once it
 * has drained (or its drain timeout has run out). Callers pick an endpoint
 * under b->mu, count themselves into its inflight and make the call on its
 * client without any balancer lock.
 *
 * What stays true:
 * - Only the thread adds or frees endpoints and their clients, and it frees
 *   a client only when no call is in flight on it, so a caller's endpoint
 *   and client stay valid from its pick to its finish.
 * - A call is made on one endpoint at a time and completes exactly once:
 *   asynchronous calls complete through the endpoint's callback done, which
 *   books the call and hands it on to the user's done (call->then).
 * - A request that never left (the endpoint's client refused it with
 *   RPC_ERR_SHUTDOWN because its connection had ended) is sent elsewhere,
 *   whatever the method. One that may have left is retried only for
 *   RPC_METHOD_IDEMPOTENT methods, once, on another endpoint. An
 *   asynchronous call's arguments are only borrowed until rpc_client_go
 *   returns, so an idempotent one keeps a packed copy (bal_retry) to send
 *   again; its retry runs under a second rpc_call, whose result is moved
 *   into the first, the one the caller knows, which then completes.
 * Lock order: b->mu, then an endpoint client's locks (rpc_client_close);
 * never the other way round, since a client calls out with no lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "balancer.h"
#include "internal.h"
#include "pending.h"
#include "tls.h"

/* Defaults of rpc_balance_options (docs/scaling.md, "Limits"). */
#define BAL_BACKOFF_MIN_MS     50
#define BAL_BACKOFF_MAX_MS     5000
#define BAL_RESOLVE_MIN_MS     1000
#define BAL_RESOLVE_MAX_MS     300000
#define BAL_CONNECT_TIMEOUT_MS 2000
#define BAL_DNS_TIMEOUT_MS     1000
#define BAL_DRAIN_TIMEOUT_MS   30000
/* A connection that dies sooner than this after its dial counts as a
 * failed dial (a proxy that accepts and hangs up must not make a hot
 * loop). */
#define BAL_STABLE_MS 1000
/* How many times a call whose request never left is sent elsewhere. */
#define BAL_MAX_REROUTES 4
/* Poll slots for the resolver's sockets. */
#define BAL_RESOLVER_FDS 16

#define BAL_MS 1000000LL

typedef struct bal_ep {
	char *address; /* "tcp:IP:PORT" */
	uint16_t priority;
	uint16_t weight; /* >= 1 */
	rpc_client *c;   /* NULL while not connected */
	int fd;          /* c's socket (c owns it), polled; -1 */
	/* c's dones for asynchronous calls: [0] forwards to a queue inside
	 * the client's batch (so its writes stay batched), [1] to a callback
	 * (the client ends its batch first, as callbacks may block) */
	rpc_done *done[2];
	bool up;           /* c takes new calls */
	bool gone;         /* not in the last resolution: draining */
	bool closed;       /* the balancer closed c under calls in flight */
	bool seen;         /* in the resolution being applied */
	size_t inflight;   /* calls picked and not yet finished */
	unsigned failures; /* dials failed in a row */
	int64_t next_dial; /* when to dial again (c == NULL) */
	int64_t dialed_at;
	int64_t gone_since;
	int64_t cw; /* smooth weighted round robin: current weight */
	struct rpci_balancer *b;
} bal_ep;

struct rpci_balancer {
	pthread_mutex_t mu; /* protects everything down to then_cv */
	bal_ep **eps;
	size_t n_eps, cap_eps;
	size_t rr;            /* least-pending tie breaker */
	bool closing;         /* rpc_client_close was called */
	bool stopping;        /* the thread is to end */
	bool ready;           /* the first resolution and dials are done */
	bool want_resolve;    /* an endpoint failed: resolve again soon */
	rpc_error *first_err; /* why the first round found nothing */
	uint64_t resolutions;
	pthread_cond_t ready_cv;
	pthread_cond_t then_cv; /* an asynchronous call got its then */

	/* Used by the thread only. */
	rpci_resolver *res;
	int64_t next_resolve, last_resolve;
	int round; /* 0: first resolution, 1: first dials, 2: running */
	uint64_t rng;
	rpc_error *dial_err; /* the last dial failure */

	int wakefd;
	pthread_t thread;
	bool joined; /* the thread has been joined */

	rpc_client_options copts;
	rpc_balance_policy policy;
	unsigned backoff_min, backoff_max, resolve_min, resolve_max;
	unsigned connect_timeout, drain_timeout;
};

static int64_t bal_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void bal_wake(rpci_balancer *b)
{
	uint64_t one = 1;
	ssize_t n;

	do
		n = write(b->wakefd, &one, sizeof one);
	while (n < 0 && errno == EINTR);
}

static void bal_log(rpci_balancer *b, const char *fmt, const char *address)
{
	char line[512];

	if (b->copts.log == NULL)
		return;
	snprintf(line, sizeof line, fmt, address);
	b->copts.log(b->copts.log_ud, line);
}

/* The retry state of an asynchronous idempotent call. */
typedef struct bal_retry {
	uint8_t *packed; /* the arguments, packed as protobuf */
	size_t len;
	rpc_call *first; /* the caller's call, while its retry runs */
} bal_retry;

/* ---- picking and booking (callers) ------------------------------------- */

static bool bal_usable(const bal_ep *ep, const bal_ep *avoid)
{
	return ep->up && !ep->gone && ep != avoid;
}

/* bal_pick chooses the endpoint of a call among the usable ones of the
 * best (lowest) priority and counts the call in; NULL if there is none.
 * b->mu is held. */
static bal_ep *bal_pick(rpci_balancer *b, const bal_ep *avoid)
{
	bal_ep *best = NULL, *ep;
	int64_t total = 0;
	uint32_t prio = UINT32_MAX;
	size_t n = b->n_eps;

	for (size_t i = 0; i < n; i++)
		if (bal_usable(b->eps[i], avoid) && b->eps[i]->priority < prio)
			prio = b->eps[i]->priority;
	if (prio == UINT32_MAX)
		return NULL;
	if (b->policy == RPC_BALANCE_LEAST_PENDING) {
		uint64_t score, best_score = UINT64_MAX;
		size_t start = b->rr++;

		for (size_t k = 0; k < n; k++) {
			ep = b->eps[(start + k) % n];
			if (!bal_usable(ep, avoid) || ep->priority != prio)
				continue;
			score = ((uint64_t)ep->inflight << 16) / ep->weight;
			if (score < best_score) {
				best_score = score;
				best = ep;
			}
		}
	} else {
		/* Smooth weighted round robin (nginx): each turn every
		 * candidate gains its weight, the richest is chosen and pays
		 * the total; equal weights make it plain round robin. */
		for (size_t i = 0; i < n; i++) {
			ep = b->eps[i];
			if (!bal_usable(ep, avoid) || ep->priority != prio)
				continue;
			ep->cw += ep->weight;
			total += ep->weight;
			if (best == NULL || ep->cw > best->cw)
				best = ep;
		}
		best->cw -= total;
	}
	best->inflight++;
	return best;
}

/* bal_conn_error tells the errors of a call whose connection ended.
 * RPC_ERR_PROTOCOL is not one of them: a reply body that does not decode
 * fails its call and the connection lives on; a connection that a
 * protocol error does end refuses the next call with RPC_ERR_SHUTDOWN,
 * which marks it down and sends that call elsewhere. */
static bool bal_conn_error(rpc_error_kind k)
{
	return k == RPC_ERR_UNEXPECTED_EOF || k == RPC_ERR_SHUTDOWN ||
	       k == RPC_ERR_IO;
}

/* bal_book counts a finished call out of ep and marks ep down when the
 * call says its connection ended. Returns true when the request never
 * left (so it may go elsewhere whatever the method). b->mu is held; *wake
 * is set when the thread has work. */
static bool bal_book(rpci_balancer *b, bal_ep *ep, const rpc_error *err,
                     bool *wake)
{
	rpc_error_kind k = rpc_error_kind_of(err);

	ep->inflight--;
	if (err != NULL && bal_conn_error(k) && ep->up && !ep->closed) {
		ep->up = false;
		b->want_resolve = true;
		*wake = true;
	}
	if (ep->inflight == 0 && (!ep->up || ep->gone))
		*wake = true;
	return k == RPC_ERR_SHUTDOWN && !ep->closed && !b->closing;
}

static rpc_error *bal_unavailable(rpci_balancer *b)
{
	if (b->closing)
		return rpci_error(RPC_ERR_SHUTDOWN, NULL);
	return rpci_error(RPC_ERR_UNAVAILABLE, NULL);
}

rpc_error *rpci_balancer_call(rpci_balancer *b, const char *service_method,
                              const rpc_method *m, const rpc_call_options *opts,
                              const void *args, void *reply)
{
	rpc_error *err, *first = NULL;
	bal_ep *ep, *avoid = NULL;
	bool idem = (m->flags & RPC_METHOD_IDEMPOTENT) != 0, wake, unsent;
	rpc_client *c;

	for (int attempt = 0; attempt <= BAL_MAX_REROUTES; attempt++) {
		pthread_mutex_lock(&b->mu);
		ep = b->closing ? NULL : bal_pick(b, avoid);
		if (ep == NULL) {
			err = first != NULL ? first : bal_unavailable(b);
			pthread_mutex_unlock(&b->mu);
			return err;
		}
		c = ep->c;
		pthread_mutex_unlock(&b->mu);

		err = rpc_client_call_opts(c, service_method, m, opts, args,
		                           reply);

		wake = false;
		pthread_mutex_lock(&b->mu);
		unsent = bal_book(b, ep, err, &wake);
		pthread_mutex_unlock(&b->mu);
		if (wake)
			bal_wake(b);
		if (err == NULL || !bal_conn_error(rpc_error_kind_of(err))) {
			rpc_error_free(first);
			return err;
		}
		avoid = ep;
		if (unsent) {
			/* It never left: send it elsewhere. */
			rpc_error_free(err);
			continue;
		}
		if (!idem || first != NULL) {
			/* It may have run: at most once, or retried once. */
			rpc_error_free(first);
			return err;
		}
		first = err; /* failed as is unless another endpoint answers */
	}
	rpc_error_free(first);
	return rpci_error(RPC_ERR_UNAVAILABLE, NULL);
}

/* bal_pack copies args (of type t) into a new bal_retry; NULL if it
 * cannot (the call is then not retried). */
static bal_retry *bal_pack(const rpc_type *t, const void *args)
{
	const ProtobufCMessage *msg = args;
	ProtobufCMessage *w = NULL;
	ProtobufCMessage *armed = NULL; /* owned: args with arrays armed */
	bal_retry *r = calloc(1, sizeof *r);

	if (r == NULL)
		return NULL;
	if (t->form == RPC_FORM_VALUE) {
		w = rpci_message_new(t->desc);
		if (w == NULL) {
			free(r);
			return NULL;
		}
		rpci_value_wrap(t, w, args); /* borrows args' strings */
		msg = w;
	} else if (!rpci_arrays_arm(msg, &armed)) {
		free(r);
		return NULL;
	}
	if (armed != NULL)
		msg = armed;
	r->len = protobuf_c_message_get_packed_size(msg);
	r->packed = malloc(r->len > 0 ? r->len : 1);
	if (r->packed != NULL)
		protobuf_c_message_pack(msg, r->packed);
	free(w); /* the struct only: its contents are args' */
	rpci_message_free(armed);
	if (r->packed == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static void bal_retry_free(bal_retry *r)
{
	if (r != NULL)
		free(r->packed);
	free(r);
}

/* bal_retry_go sends call again on another endpoint than ep, from its
 * retry's packed arguments. True if the retry started (call is then not
 * completed now: the retry's completion completes it). */
static bool bal_retry_go(rpci_balancer *b, bal_ep *ep, rpc_call *call,
                         rpc_done *then, bal_retry *r)
{
	const rpc_type *t = call->method->args;
	ProtobufCMessage *msg;
	rpc_call *k = NULL;
	rpc_error *err;
	bal_ep *next;
	bool wake = false;
	rpc_client *c;
	rpc_done *d;

	/* The retry keeps the first call's deadline: what is left of it,
	 * and none (not the endpoint's default) when it had none. A call
	 * with no time left is not retried; its failure stands. */
	rpc_call_options o = {.timeout_ms = RPC_NO_TIMEOUT};
	if (call->deadline != 0) {
		int left = rpci_ms_left(call->deadline);
		if (left == 0)
			return false;
		o.timeout_ms = left;
	}
	pthread_mutex_lock(&b->mu);
	next = b->closing ? NULL : bal_pick(b, ep);
	c = next != NULL ? next->c : NULL;
	d = next != NULL ? next->done[rpci_done_is_callback(then)] : NULL;
	pthread_mutex_unlock(&b->mu);
	if (next == NULL)
		return false;
	msg = protobuf_c_message_unpack(t->desc, NULL, r->len, r->packed);
	if (msg != NULL && (err = rpci_arrays_settle(msg)) != NULL) {
		rpc_error_free(err); /* packed by bal_pack: cannot happen */
		rpci_message_free(msg);
		msg = NULL;
	}
	err =
	    msg == NULL
	        ? rpci_error(RPC_ERR_NOMEM, NULL)
	        : rpc_client_go_opts(
	              c, call->service_method, call->method, &o,
	              t->form == RPC_FORM_VALUE
	                  ? (void *)((char *)msg + rpci_value_field(t)->offset)
	                  : (void *)msg,
	              call->reply, d, &k);
	rpci_message_free(msg); /* malloc'd, as protobuf-c's default */
	pthread_mutex_lock(&b->mu);
	if (err == NULL) {
		r->first = call;
		k->retry = r;
		k->then = then;
		pthread_cond_broadcast(&b->then_cv);
	} else {
		(void)bal_book(b, next, err, &wake);
	}
	pthread_mutex_unlock(&b->mu);
	if (wake)
		bal_wake(b);
	rpc_error_free(err);
	return err == NULL;
}

/* bal_ep_complete is every endpoint's callback done: books the call,
 * retries it if it is idempotent and its connection died under it, and
 * hands it on to the done its caller gave. */
static void bal_ep_complete(rpc_call *call, void *ud)
{
	bal_ep *ep = ud;
	rpci_balancer *b = ep->b;
	bool wake = false, lost;
	rpc_done *then;
	bal_retry *r;

	pthread_mutex_lock(&b->mu);
	/* The reply may beat rpci_balancer_go to setting then. */
	while (call->then == NULL)
		pthread_cond_wait(&b->then_cv, &b->mu);
	then = call->then;
	r = call->retry;
	(void)bal_book(b, ep, call->err, &wake);
	lost = call->err != NULL &&
	       bal_conn_error(rpc_error_kind_of(call->err)) && !ep->closed &&
	       !b->closing;
	pthread_mutex_unlock(&b->mu);
	if (wake)
		bal_wake(b);
	call->then = NULL;
	call->retry = NULL;
	if (r != NULL && r->first == NULL && lost &&
	    bal_retry_go(b, ep, call, then, r))
		return; /* the retry completes call */
	if (r != NULL && r->first != NULL) {
		/* The retry's result is the first call's. */
		rpc_call *first = r->first;

		rpc_error_free(first->err); /* the failure retried */
		first->err = call->err;
		call->err = NULL;
		rpc_call_free(call);
		call = first;
	}
	bal_retry_free(r);
	call->done = then;
	rpci_call_complete(call);
}

rpc_error *rpci_balancer_go(rpci_balancer *b, const char *service_method,
                            const rpc_method *m, const rpc_call_options *opts,
                            const void *args, void *reply, rpc_done *done,
                            rpc_call **call)
{
	rpc_error *err;
	rpc_call *k = NULL;
	bal_ep *ep, *avoid = NULL;
	bool wake;
	rpc_client *c;
	rpc_done *d;
	bal_retry *r;

	if (done == NULL)
		return rpci_error(
		    RPC_ERR_INVALID,
		    "rpc: a call on a balanced client needs a done");
	r = (m->flags & RPC_METHOD_IDEMPOTENT) != 0 ? bal_pack(m->args, args)
	                                            : NULL;

	for (int attempt = 0; attempt <= BAL_MAX_REROUTES; attempt++) {
		pthread_mutex_lock(&b->mu);
		ep = b->closing ? NULL : bal_pick(b, avoid);
		if (ep == NULL) {
			err = bal_unavailable(b);
			pthread_mutex_unlock(&b->mu);
			bal_retry_free(r);
			return err;
		}
		c = ep->c;
		d = ep->done[rpci_done_is_callback(done)];
		pthread_mutex_unlock(&b->mu);

		err = rpc_client_go_opts(c, service_method, m, opts, args,
		                         reply, d, &k);

		pthread_mutex_lock(&b->mu);
		if (err == NULL) {
			k->retry = r;
			k->then = done;
			pthread_cond_broadcast(&b->then_cv);
			pthread_mutex_unlock(&b->mu);
			if (call != NULL)
				*call = k;
			return NULL;
		}
		/* Never started: it will not complete, book it here. */
		wake = false;
		bool unsent = bal_book(b, ep, err, &wake);
		pthread_mutex_unlock(&b->mu);
		if (wake)
			bal_wake(b);
		if (!unsent) {
			bal_retry_free(r);
			return err;
		}
		rpc_error_free(err);
		avoid = ep;
	}
	bal_retry_free(r);
	return rpci_error(RPC_ERR_UNAVAILABLE, NULL);
}

rpc_error *rpci_balancer_close(rpci_balancer *b)
{
	pthread_mutex_lock(&b->mu);
	if (b->closing) {
		pthread_mutex_unlock(&b->mu);
		return rpci_error(RPC_ERR_SHUTDOWN, NULL);
	}
	b->closing = true;
	for (size_t i = 0; i < b->n_eps; i++) {
		bal_ep *ep = b->eps[i];

		ep->up = false;
		if (ep->c != NULL) {
			ep->closed = true;
			rpc_error_free(rpc_client_close(ep->c));
		}
	}
	pthread_mutex_unlock(&b->mu);
	bal_wake(b);
	return NULL;
}

/* ---- the thread: dialing, resolving, reaping ---------------------------- */

/* bal_backoff is the delay before the next dial after failures failed
 * ones: backoff_min doubled per failure up to backoff_max, then a random
 * point in its upper half (jitter, so replicas that come back are not all
 * redialed by every client at once). */
static int64_t bal_backoff(rpci_balancer *b, unsigned failures)
{
	uint64_t ms = b->backoff_min;

	for (unsigned i = 1; i < failures && ms < b->backoff_max; i++)
		ms *= 2;
	if (ms > b->backoff_max)
		ms = b->backoff_max;
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	ms = ms / 2 + (ms > 1 ? b->rng % (ms - ms / 2) : 0);
	return (int64_t)ms * BAL_MS;
}

/* bal_connect connects to "tcp:HOST:PORT" ("tcp:[V6]:PORT") within
 * timeout_ms. On success *fd is a connected blocking socket. */
static rpc_error *bal_connect(const char *address, unsigned timeout_ms, int *fd)
{
	char host[256];
	const char *hp = address + 4, *port;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int s = -1, e = ECONNREFUSED, gai, one = 1;
	size_t hl;

	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');

		if (close == NULL || close[1] != ':')
			return rpci_error(RPC_ERR_INVALID,
			                  "rpc: bad address: %s", address);
		hl = (size_t)(close - hp - 1);
		hp++;
		port = close + 2;
	} else {
		port = strrchr(hp, ':');
		if (port == NULL)
			return rpci_error(RPC_ERR_INVALID,
			                  "rpc: bad address: %s", address);
		hl = (size_t)(port - hp);
		port++;
	}
	if (hl >= sizeof host)
		return rpci_error(RPC_ERR_INVALID, "rpc: address too long");
	memcpy(host, hp, hl);
	host[hl] = '\0';
	gai = getaddrinfo(hl == 0 ? "localhost" : host, port, &hints, &res);
	if (gai != 0)
		return rpci_error(RPC_ERR_IO, "rpc: dial %s: %s", address,
		                  gai_strerror(gai));
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t sl = sizeof e;
		int r;

		s = socket(ai->ai_family,
		           ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		           ai->ai_protocol);
		if (s < 0) {
			e = errno;
			continue;
		}
		r = connect(s, ai->ai_addr, ai->ai_addrlen);
		if (r < 0 && errno == EINPROGRESS) {
			pfd = (struct pollfd){.fd = s, .events = POLLOUT};
			do
				r = poll(&pfd, 1, (int)timeout_ms);
			while (r < 0 && errno == EINTR);
			if (r == 0) {
				errno = ETIMEDOUT;
				r = -1;
			} else if (r > 0 &&
			           getsockopt(s, SOL_SOCKET, SO_ERROR, &e,
			                      &sl) == 0 &&
			           e != 0) {
				errno = e;
				r = -1;
			} else if (r > 0) {
				r = 0;
			}
		}
		if (r == 0)
			break;
		e = errno;
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0) {
		char *what = NULL;
		rpc_error *err;

		if (asprintf(&what, "rpc: dial %s", address) < 0)
			return rpci_error_errno(e, "rpc: dial");
		err = rpci_error_errno(e, what);
		free(what);
		return err;
	}
	(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	*fd = s;
	return NULL;
}

/* bal_dial dials ep (which has no client) from the thread, no lock held. */
static void bal_dial(rpci_balancer *b, bal_ep *ep)
{
	rpc_client *c = NULL;
	rpc_done *done[2];
	rpc_error *err;
	int fd = -1;

	done[0] = rpci_done_new_forward(bal_ep_complete, ep);
	done[1] = rpc_done_new_callback(bal_ep_complete, ep);
	err = done[0] == NULL || done[1] == NULL
	          ? rpci_error(RPC_ERR_NOMEM, NULL)
	          : bal_connect(ep->address, b->connect_timeout, &fd);
	if (err == NULL && b->copts.tls != NULL) {
		rpc_tls *tls;
		SSL *ssl;
		err = rpci_client_tls_handshake(fd, ep->address, &b->copts,
		                                (int)b->connect_timeout, &tls,
		                                &ssl);
		if (err == NULL) {
			err = rpci_client_new_tls(fd, ssl, tls, &b->copts, &c);
			if (err != NULL)
				rpci_tls_ssl_free(ssl, false);
			rpc_tls_free(tls);
		}
		if (err != NULL)
			close(fd);
	} else if (err == NULL) {
		err = rpc_client_new_fd(fd, &b->copts, &c);
		if (err != NULL)
			close(fd);
	}
	pthread_mutex_lock(&b->mu);
	if (err == NULL && !b->closing) {
		ep->c = c;
		ep->fd = fd;
		ep->done[0] = done[0];
		ep->done[1] = done[1];
		ep->up = true;
		ep->closed = false;
		ep->dialed_at = bal_now();
		ep->cw = 0;
		pthread_mutex_unlock(&b->mu);
		bal_log(b, "rpc: balancer: endpoint %s up", ep->address);
		return;
	}
	ep->failures++;
	ep->next_dial = bal_now() + bal_backoff(b, ep->failures);
	pthread_mutex_unlock(&b->mu);
	if (err != NULL) {
		rpc_error_free(b->dial_err);
		b->dial_err = err;
	}
	rpc_client_free(c);
	rpc_done_free(done[0]);
	rpc_done_free(done[1]);
}

static bal_ep *bal_find(rpci_balancer *b, const char *address)
{
	for (size_t i = 0; i < b->n_eps; i++)
		if (strcmp(b->eps[i]->address, address) == 0)
			return b->eps[i];
	return NULL;
}

/* bal_apply makes the endpoints those of a resolution: new ones are added
 * (to be dialed at once), known ones updated, missing ones drained. b->mu
 * is held. Takes eps. */
static void bal_apply(rpci_balancer *b, rpci_endpoint_addr *eps, size_t n,
                      int64_t now)
{
	bal_ep *ep, **grown;

	for (size_t i = 0; i < b->n_eps; i++)
		b->eps[i]->seen = false;
	for (size_t i = 0; i < n; i++) {
		ep = bal_find(b, eps[i].address);
		if (ep == NULL) {
			if (b->n_eps == b->cap_eps) {
				size_t cap = b->cap_eps ? b->cap_eps * 2 : 8;

				grown = realloc(b->eps, cap * sizeof *grown);
				if (grown == NULL)
					continue;
				b->eps = grown;
				b->cap_eps = cap;
			}
			ep = calloc(1, sizeof *ep);
			if (ep == NULL)
				continue;
			ep->address = eps[i].address;
			eps[i].address = NULL;
			ep->b = b; /* set once: completions read it unlocked */
			ep->fd = -1;
			ep->next_dial = now;
			b->eps[b->n_eps++] = ep;
		}
		ep->seen = true;
		ep->gone = false;
		ep->priority = eps[i].priority;
		ep->weight = eps[i].weight > 0 ? eps[i].weight : 1;
	}
	for (size_t i = 0; i < b->n_eps; i++) {
		ep = b->eps[i];
		if (!ep->seen) {
			if (!ep->gone) {
				ep->gone = true;
				ep->gone_since = now;
			}
		}
	}
	rpci_endpoints_free(eps, n);
}

/* bal_resolved takes the result of a finished resolution. b->mu is held. */
static void bal_resolved(rpci_balancer *b, int64_t now)
{
	rpci_endpoint_addr *eps;
	size_t n;
	uint32_t ttl;
	rpc_error *err;
	int64_t wait;

	if (!rpci_resolver_done(b->res, &eps, &n, &ttl, &err))
		return;
	b->resolutions++;
	if (err != NULL) {
		/* Keep what we have; ask again at the floor. */
		wait = (int64_t)b->resolve_min * BAL_MS;
		if (b->round == 0) {
			b->first_err = err;
			b->round = 2;
			b->ready = true;
			pthread_cond_broadcast(&b->ready_cv);
		} else {
			rpc_error_free(err);
		}
	} else {
		bal_apply(b, eps, n, now);
		wait = (int64_t)ttl * 1000 * BAL_MS;
		if (b->round == 0)
			b->round = 1;
	}
	if (wait < (int64_t)b->resolve_min * BAL_MS)
		wait = (int64_t)b->resolve_min * BAL_MS;
	if (wait > (int64_t)b->resolve_max * BAL_MS)
		wait = (int64_t)b->resolve_max * BAL_MS;
	b->next_resolve = now + wait;
}

static void bal_ep_free(bal_ep *ep)
{
	rpc_client_free(ep->c);
	rpc_done_free(ep->done[0]);
	rpc_done_free(ep->done[1]);
	free(ep->address);
	free(ep);
}

/* A client the thread takes off an endpoint and frees with no lock held. */
typedef struct bal_corpse {
	rpc_client *c;
	rpc_done *done[2];
	bal_ep *ep; /* the whole endpoint when it is removed, else NULL */
} bal_corpse;

/* bal_reap takes off (into out, at most max) the clients of dead endpoints
 * and the endpoints that drained, closes those whose drain timed out, and
 * returns how many it took. b->mu is held. */
static size_t bal_reap(rpci_balancer *b, int64_t now, bal_corpse *out,
                       size_t max, int64_t *next)
{
	size_t n = 0, i = 0;
	bal_ep *ep;

	while (i < b->n_eps && n < max) {
		ep = b->eps[i];
		if (ep->gone && ep->inflight == 0) {
			out[n++] = (bal_corpse){.ep = ep};
			b->eps[i] = b->eps[--b->n_eps];
			continue;
		}
		if (ep->c != NULL && !ep->up && ep->inflight == 0) {
			out[n++] = (bal_corpse){
			    .c = ep->c, .done = {ep->done[0], ep->done[1]}};
			ep->c = NULL;
			ep->done[0] = ep->done[1] = NULL;
			ep->fd = -1;
			/* Redial at once after a connection that lived; back
			 * off after one that died young. */
			if (now - ep->dialed_at < BAL_STABLE_MS * BAL_MS)
				ep->failures++;
			else
				ep->failures = 0;
			ep->next_dial =
			    ep->failures == 0
			        ? now
			        : now + bal_backoff(b, ep->failures);
		}
		if (ep->gone && ep->c != NULL && !ep->closed) {
			int64_t until =
			    ep->gone_since + (int64_t)b->drain_timeout * BAL_MS;

			if (now >= until) {
				ep->closed = true;
				ep->up = false;
				rpc_error_free(rpc_client_close(ep->c));
			} else if (*next < 0 || until < *next) {
				*next = until;
			}
		}
		i++;
	}
	return n;
}

static void bal_down(rpci_balancer *b, int fd)
{
	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < b->n_eps; i++) {
		bal_ep *ep = b->eps[i];

		if (ep->fd == fd && ep->up) {
			ep->up = false;
			b->want_resolve = true;
			pthread_mutex_unlock(&b->mu);
			bal_log(b, "rpc: balancer: endpoint %s hung up",
			        ep->address);
			return;
		}
	}
	pthread_mutex_unlock(&b->mu);
}

static int bal_ms_until(int64_t when, int64_t now)
{
	int64_t ms = (when - now + BAL_MS - 1) / BAL_MS;

	return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

static void *bal_thread(void *arg)
{
	rpci_balancer *b = arg;
	struct pollfd *fds = NULL, *grown;
	size_t cap = 0, nfd, nres, ep0;
	bal_corpse corpses[16];
	bal_ep **dial = NULL;
	size_t n_dial, n_dead;
	int64_t now, next, resolve_at;
	int timeout = -1;
	bool first_dials;

	nres = ep0 = 0;

	for (;;) {
		now = bal_now();
		next = -1;
		pthread_mutex_lock(&b->mu);
		if (b->stopping) {
			pthread_mutex_unlock(&b->mu);
			break;
		}
		n_dead = bal_reap(b, now, corpses,
		                  sizeof corpses / sizeof corpses[0], &next);
		if (n_dead == sizeof corpses / sizeof corpses[0])
			next = now;
		/* Who to dial now, and when the next one is due. */
		free(dial);
		dial = malloc((b->n_eps + 1) * sizeof *dial);
		n_dial = 0;
		for (size_t i = 0; dial != NULL && i < b->n_eps; i++) {
			bal_ep *ep = b->eps[i];

			if (ep->c != NULL || ep->gone || b->closing)
				continue;
			if (ep->next_dial <= now)
				dial[n_dial++] = ep;
			else if (next < 0 || ep->next_dial < next)
				next = ep->next_dial;
		}
		first_dials = b->round == 1;
		/* Resolve on the TTL, and soon after a failure. */
		if (!b->closing &&
		    (b->round == 0 || !rpci_resolver_static(b->res)) &&
		    (now >= b->next_resolve ||
		     (b->want_resolve &&
		      now >= b->last_resolve +
		                 (int64_t)b->resolve_min * BAL_MS)) &&
		    rpci_resolver_start(b->res)) {
			b->want_resolve = false;
			b->last_resolve = now;
		}
		bal_resolved(b, now); /* a list resolves at once */
		pthread_mutex_unlock(&b->mu);

		for (size_t i = 0; i < n_dead; i++) {
			if (corpses[i].ep != NULL) {
				bal_log(b, "rpc: balancer: endpoint %s removed",
				        corpses[i].ep->address);
				bal_ep_free(corpses[i].ep);
			} else {
				rpc_client_free(corpses[i].c);
				rpc_done_free(corpses[i].done[0]);
				rpc_done_free(corpses[i].done[1]);
			}
		}
		for (size_t i = 0; i < n_dial; i++)
			bal_dial(b, dial[i]);
		if (first_dials) {
			pthread_mutex_lock(&b->mu);
			b->round = 2;
			b->ready = true;
			pthread_cond_broadcast(&b->ready_cv);
			pthread_mutex_unlock(&b->mu);
		}
		if (n_dial > 0 || b->round == 1)
			continue; /* dialing took time: look again */

		/* Poll: the wake-up, the resolver, every live connection. */
		pthread_mutex_lock(&b->mu);
		if (cap < 1 + BAL_RESOLVER_FDS + b->n_eps) {
			grown = realloc(fds, (1 + BAL_RESOLVER_FDS + b->n_eps) *
			                         sizeof *fds);
			if (grown != NULL) {
				fds = grown;
				cap = 1 + BAL_RESOLVER_FDS + b->n_eps;
			}
		}
		nfd = 0;
		if (fds != NULL) {
			fds[nfd++] =
			    (struct pollfd){.fd = b->wakefd, .events = POLLIN};
			timeout = next < 0 ? -1 : bal_ms_until(next, now);
			resolve_at = b->next_resolve;
			if (b->want_resolve &&
			    b->last_resolve + (int64_t)b->resolve_min * BAL_MS <
			        resolve_at)
				resolve_at = b->last_resolve +
				             (int64_t)b->resolve_min * BAL_MS;
			if (!b->closing && !rpci_resolver_static(b->res) &&
			    !rpci_resolver_busy(b->res)) {
				int t = bal_ms_until(resolve_at, now);

				if (timeout < 0 || t < timeout)
					timeout = t;
			}
			nres = (size_t)rpci_resolver_fds(
			    b->res, fds + nfd, BAL_RESOLVER_FDS, &timeout);
			nfd += nres;
			ep0 = nfd;
			for (size_t i = 0; i < b->n_eps && nfd < cap; i++)
				if (b->eps[i]->up && b->eps[i]->fd >= 0)
					fds[nfd++] = (struct pollfd){
					    .fd = b->eps[i]->fd,
					    .events = POLLRDHUP};
		}
		pthread_mutex_unlock(&b->mu);
		if (fds == NULL) {
			poll(NULL, 0, 10); /* out of memory: try again soon */
			continue;
		}
		if (poll(fds, nfd, timeout) < 0 && errno != EINTR)
			poll(NULL, 0, 10);
		if (fds[0].revents != 0) {
			uint64_t v;

			if (read(b->wakefd, &v, sizeof v) < 0) {
				/* EAGAIN: someone else's wake-up was read */
			}
		}
		rpci_resolver_process(b->res, fds + 1, (int)nres);
		for (size_t i = ep0; i < nfd; i++)
			if (fds[i].revents != 0)
				bal_down(b, fds[i].fd);
		pthread_mutex_lock(&b->mu);
		bal_resolved(b, bal_now());
		pthread_mutex_unlock(&b->mu);
	}
	free(dial);
	free(fds);
	return NULL;
}

/* ---- making and freeing ------------------------------------------------ */

static unsigned bal_opt(unsigned v, unsigned dflt)
{
	return v != 0 ? v : dflt;
}

/* bal_stop closes b and ends its thread; idempotent. */
static void bal_stop(rpci_balancer *b)
{
	if (b->joined)
		return;
	rpc_error_free(rpci_balancer_close(b));
	pthread_mutex_lock(&b->mu);
	b->stopping = true;
	pthread_mutex_unlock(&b->mu);
	bal_wake(b);
	pthread_join(b->thread, NULL);
	b->joined = true;
}

void rpci_balancer_free(rpci_balancer *b)
{
	if (b == NULL)
		return;
	bal_stop(b);
	/* The clients were closed: their calls complete as they are freed. */
	for (size_t i = 0; i < b->n_eps; i++)
		bal_ep_free(b->eps[i]);
	free(b->eps);
	rpci_resolver_free(b->res);
	rpc_error_free(b->first_err);
	rpc_error_free(b->dial_err);
	rpc_tls_free(b->copts.tls);
	close(b->wakefd);
	pthread_cond_destroy(&b->then_cv);
	pthread_cond_destroy(&b->ready_cv);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

rpc_error *rpc_dial_balanced(const char *address,
                             const rpc_client_options *opts,
                             const rpc_balance_options *bopts, rpc_client **out)
{
	rpc_balance_options bo = {.policy = RPC_BALANCE_ROUND_ROBIN};
	rpci_balancer *b;
	rpc_error *err;
	sigset_t all, old;
	size_t up = 0;
	int rc;

	*out = NULL;
	if (bopts != NULL)
		bo = *bopts;
	if (bo.policy != RPC_BALANCE_ROUND_ROBIN &&
	    bo.policy != RPC_BALANCE_LEAST_PENDING)
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc: unknown balance policy");
	b = calloc(1, sizeof *b);
	if (b == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	if (opts != NULL)
		b->copts = *opts;
	b->copts.tls =
	    rpci_tls_ref(b->copts.tls); /* the caller's is borrowed */
	b->policy = bo.policy;
	b->backoff_min = bal_opt(bo.backoff_min_ms, BAL_BACKOFF_MIN_MS);
	b->backoff_max = bal_opt(bo.backoff_max_ms, BAL_BACKOFF_MAX_MS);
	if (b->backoff_max < b->backoff_min)
		b->backoff_max = b->backoff_min;
	b->resolve_min = bal_opt(bo.resolve_min_ms, BAL_RESOLVE_MIN_MS);
	b->resolve_max = bal_opt(bo.resolve_max_ms, BAL_RESOLVE_MAX_MS);
	if (b->resolve_max < b->resolve_min)
		b->resolve_max = b->resolve_min;
	b->connect_timeout =
	    bal_opt(bo.connect_timeout_ms, BAL_CONNECT_TIMEOUT_MS);
	b->drain_timeout = bal_opt(bo.drain_timeout_ms, BAL_DRAIN_TIMEOUT_MS);
	b->rng = (uint64_t)bal_now() ^ (uint64_t)(uintptr_t)b ^
	         0x9e3779b97f4a7c15ULL;
	b->wakefd = -1;
	err = rpci_resolver_new(address, bo.dns_server,
	                        bal_opt(bo.dns_timeout_ms, BAL_DNS_TIMEOUT_MS),
	                        &b->res);
	if (err != NULL)
		goto fail_res;
	b->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->wakefd < 0) {
		err = rpci_error_errno(errno, "rpc: eventfd");
		goto fail_fd;
	}
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->ready_cv, NULL);
	pthread_cond_init(&b->then_cv, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&b->thread, NULL, bal_thread, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		err = rpci_error_errno(rc, "rpc: balancer thread");
		goto fail_thread;
	}
	pthread_mutex_lock(&b->mu);
	while (!b->ready)
		pthread_cond_wait(&b->ready_cv, &b->mu);
	for (size_t i = 0; i < b->n_eps; i++)
		up += b->eps[i]->up;
	pthread_mutex_unlock(&b->mu);
	if (up == 0) {
		bal_stop(b);
		/* Why: the resolution's failure, else the last dial's. */
		err = b->first_err != NULL ? b->first_err : b->dial_err;
		if (err == b->first_err)
			b->first_err = NULL;
		else
			b->dial_err = NULL;
		if (err == NULL)
			err = rpci_error(RPC_ERR_UNAVAILABLE, NULL);
		rpci_balancer_free(b);
		return err;
	}
	*out = rpci_client_new_balanced(b);
	if (*out == NULL) {
		rpci_balancer_free(b);
		return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	return NULL;

fail_thread:
	pthread_cond_destroy(&b->then_cv);
	pthread_cond_destroy(&b->ready_cv);
	pthread_mutex_destroy(&b->mu);
	close(b->wakefd);
fail_fd:
	rpci_resolver_free(b->res);
fail_res:
	rpc_tls_free(b->copts.tls);
	free(b);
	return err;
}

bool rpc_balance_stats_get(rpc_client *c, rpc_balance_stats *st)
{
	rpci_balancer *b = c != NULL ? rpci_client_balancer(c) : NULL;
	rpc_balance_stats s = {0};

	if (b == NULL)
		return false;
	pthread_mutex_lock(&b->mu);
	s.endpoints = b->n_eps;
	for (size_t i = 0; i < b->n_eps; i++)
		s.up += b->eps[i]->up && !b->eps[i]->gone;
	s.resolutions = b->resolutions;
	pthread_mutex_unlock(&b->mu);
	*st = s;
	return true;
}
