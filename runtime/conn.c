/* conn.c - one served connection: admitting requests, calling, replying,
 * and the limits that keep a peer from costing more than its share.
 *
 * The read side belongs to the poller of the connection's loop: it reads
 * whatever has arrived, cuts it into requests with the codec one at a time,
 * looks each up, decodes its body and queues it on the loop. Before each
 * request it checks the connection's limits (requests in flight, reply
 * bytes unsent); over them, reading stops and the bytes not yet admitted
 * stay in the connection's input buffer until a call finishes or the
 * output drains (the resumer puts the connection on its loop's resume
 * list). Before each read it checks the server-wide budget of buffered
 * bytes; over it, the connection holding the most is closed and reading
 * waits. Lookup and body errors become requests that carry their error
 * text, answered with the request's sequence number; only a header the
 * codec cannot read ends the connection.
 *
 * The write side belongs to whoever holds wmu: a thread that finished a
 * call encodes its reply into out; the first thread to find nobody
 * flushing becomes the flusher and writes without waiting until out is
 * empty or the socket is full. What is left waits for EPOLLOUT, when the
 * poller flushes it. No thread ever waits for a peer. A request whose
 * connection already has max_conn_out unsent when its turn to run comes is
 * parked on the connection, not run, and queued again once half of that
 * has gone (or the connection died), so a peer that does not read costs
 * max_conn_out plus the replies of calls already running.
 *
 * Deadlines: a partial frame (rt in loop->rtimers), an idle connection (rt
 * in loop->itimers, when idle_timeout is set) and output that makes no
 * progress (wt in loop->wtimers) each close the connection when they pass.
 *
 * What stays true: every admitted request (queued, parked or running)
 * holds one count of active and one of inflight; the connection is in its
 * loop's epoll set exactly while polled, which holds one count of active
 * that only the poller drops, and it stays polled while replies wait to be
 * written; a write timer runs only while polled; a connection on its
 * loop's resume list is polled or has parked requests; every byte a
 * connection holds in buffers or admitted requests is counted in held and
 * in srv->buffered. Lock order: srv->mu, wmu, then loop->mu or loop->tmu.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "server_internal.h"

enum {
	CONN_IN_MIN = 16 * 1024,
	CONN_HTTP_HEAD_MAX = 8 * 1024,
	CONN_HTTP_LINE_WAIT = 1024, /* conn_mismatch: the most it waits for */
	CONN_OUT_KEEP = 64 * 1024,  /* larger idle output buffers are freed */
	CONN_IN_KEEP =
	    1024 * 1024, /* larger input buffers mostly empty shrink */
	CONN_IN_STEP = 1024 * 1024,     /* growth for a request of known length
	                                       beyond what has arrived (at least) */
	CONN_IN_HUGE = 2 * 1024 * 1024, /* a huge page: big steps end on one */
};

#define CONN_DEADLINE RPCI_DEADLINE_TEXT

/* The running call's deadline and caller, for rpc_server_call_deadline
 * and rpc_server_call_peer. */
static _Thread_local bool conn_in_call;
static _Thread_local int64_t conn_call_deadline;
static _Thread_local const rpci_conn *conn_call_conn;

int64_t rpci_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t rpci_now_ms(void)
{
	return rpci_now_ns() / 1000000;
}

/* ---- requests ------------------------------------------------------------ */

static char *conn_strdup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

#define CONN_NOMEM "rpc: out of memory"

static size_t conn_align(size_t n)
{
	size_t a = _Alignof(max_align_t);
	return (n + a - 1) / a * a;
}

/* rpci_req_prepare makes the request of msg. The request, its argument and
 * reply messages and its service-method string are one allocation. */
rpci_req *rpci_req_prepare(rpc_server *srv, const rpc_codec *codec,
                           void *cstate, rpci_msg *msg)
{
	const char *sm = msg->service_method != NULL ? msg->service_method : "";
	size_t sm_len = strlen(sm), size, args_at = 0, reply_at = 0;
	const rpc_method *mm = NULL;
	char *errmsg = NULL;
	rpci_method *m;
	rpci_req *req;
	rpc_error *err;

	int64_t deadline = 0;
	if (msg->timeout_us != 0) {
		int64_t now = rpci_now_ns();
		deadline = msg->timeout_us > (uint64_t)(INT64_MAX - now) / 1000
		               ? INT64_MAX
		               : now + (int64_t)msg->timeout_us * 1000;
	}

	m = rpci_registry_lookup(&srv->reg, sm, &errmsg);
	size = conn_align(sizeof(*req));
	if (m != NULL) {
		mm = m->m;
		args_at = size;
		size += conn_align(mm->args->desc->sizeof_message);
		reply_at = size;
		size += conn_align(mm->reply->desc->sizeof_message);
	}
	req = calloc(1, size + sm_len + 1);
	if (req == NULL) {
		free(errmsg);
		return NULL;
	}
	req->seq = msg->seq;
	req->deadline_ns = deadline;
	req->service_method = (char *)req + size;
	memcpy(req->service_method, sm, sm_len + 1);
	if (m == NULL) {
		codec->read_body(cstate, msg, NULL, NULL); /* discard it */
		req->bad = true;
		req->errmsg = errmsg != NULL ? errmsg : conn_strdup(CONN_NOMEM);
		return req;
	}
	req->args = (ProtobufCMessage *)((char *)req + args_at);
	mm->args->desc->message_init(req->args);
	err = codec->read_body(cstate, msg, mm->args, req->args);
	if (err == NULL)
		err = rpci_arrays_settle(req->args);
	if (err != NULL) {
		req->bad = true;
		req->errmsg = conn_strdup(rpc_error_message(err));
		rpc_error_free(err);
		rpc_message_free_contents(req->args);
		req->args = NULL;
		return req;
	}
	req->reply = (ProtobufCMessage *)((char *)req + reply_at);
	mm->reply->desc->message_init(req->reply);
	req->method = m;
	return req;
}

/* conn_value is what a handler sees of a decoded message of type t. */
static void *conn_value(const rpc_type *t, ProtobufCMessage *msg)
{
	if (t->form == RPC_FORM_VALUE)
		return (char *)msg + rpci_value_field(t)->offset;
	return msg;
}

void rpci_req_call(rpci_req *req)
{
	rpci_method *m = req->method;
	rpc_error *err;

	if (m == NULL)
		return;
	if (req->deadline_ns != 0 && rpci_now_ns() >= req->deadline_ns) {
		req->errmsg = conn_strdup(CONN_DEADLINE);
		return;
	}
	conn_in_call = true;
	conn_call_deadline = req->deadline_ns;
	conn_call_conn = req->conn;
	rpc_server *srv = req->conn != NULL ? req->conn->srv : NULL;
	if (srv != NULL && srv->authorize != NULL) {
		rpc_peer peer;
		rpc_server_call_peer(&peer);
		if (!srv->authorize(srv->authorize_ud, req->service_method,
		                    &peer)) {
			char text[512];
			conn_in_call = false;
			conn_call_conn = NULL;
			atomic_fetch_add_explicit(&m->denied, 1,
			                          memory_order_relaxed);
			if (peer.subject[0] != '\0')
				snprintf(text, sizeof text,
				         "rpc: %s: permission denied for %s",
				         req->service_method, peer.subject);
			else
				snprintf(text, sizeof text,
				         "rpc: %s: permission denied for an "
				         "unauthenticated caller",
				         req->service_method);
			rpci_server_log(srv, "%s", text);
			req->errmsg = conn_strdup(text);
			return;
		}
	}
	uint64_t start = rpci_method_begin(m); /* counts the call */
	err = m->m->invoke(m->svc->handlers, m->svc->self,
	                   conn_value(m->m->args, req->args),
	                   conn_value(m->m->reply, req->reply));
	conn_in_call = false;
	conn_call_conn = NULL;
	/* The handler only borrowed its argument (docs/runtime.md): free it
	 * now, before the reply is encoded, so that a large call never holds
	 * its argument, its reply and the encoded reply at once. */
	rpc_message_free_contents(req->args);
	req->args = NULL;
	rpci_method_end(m, start, err);
	if (err != NULL) {
		const char *text = rpc_error_message(err);
		/* as Go: an error with empty text counts as success */
		if (text != NULL && text[0] != '\0')
			req->errmsg = conn_strdup(text);
		rpc_error_free(err);
	}
}

bool rpc_server_call_deadline(struct timespec *out)
{
	if (!conn_in_call || conn_call_deadline == 0)
		return false;
	if (out != NULL) {
		out->tv_sec = (time_t)(conn_call_deadline / 1000000000);
		out->tv_nsec = (long)(conn_call_deadline % 1000000000);
	}
	return true;
}

bool rpc_server_call_peer(rpc_peer *out)
{
	const rpci_conn *c = conn_call_conn;

	if (!conn_in_call)
		return false;
	if (out != NULL) {
		bool tls = c != NULL && c->tls != NULL && c->tls->hs_done;
		out->tls = tls;
		out->verified = tls && c->tls->peer.verified;
		out->subject = tls && c->tls->peer.subject != NULL
		                   ? c->tls->peer.subject
		                   : "";
		out->sans =
		    tls && c->tls->peer.sans != NULL ? c->tls->peer.sans : "";
	}
	return true;
}

void rpci_req_encode(rpci_req *req, const rpc_codec *codec, void *cstate,
                     rpci_buf *out)
{
	rpci_header h = {
	    .service_method = req->service_method,
	    .seq = req->seq,
	    .error = req->errmsg,
	};
	rpc_error *err;

	if (req->errmsg != NULL || req->method == NULL) {
		if (h.error == NULL) /* strdup of the text failed */
			h.error = CONN_NOMEM;
		err = codec->write(cstate, &h, NULL, NULL, out);
	} else {
		ProtobufCMessage *armed = NULL;

		if (!rpci_arrays_arm(req->reply, &armed))
			err = rpci_error(RPC_ERR_NOMEM, NULL);
		else
			err = codec->write(cstate, &h, req->method->m->reply,
			                   armed != NULL ? armed : req->reply,
			                   out);
		rpci_message_free(armed);
		if (err != NULL) {
			/* the reply could not be encoded: tell the caller why
			 */
			h.error = rpc_error_message(err);
			rpc_error *err2 =
			    codec->write(cstate, &h, NULL, NULL, out);
			rpc_error_free(err);
			err = err2;
		}
	}
	rpc_error_free(err);
}

void rpci_req_free(rpci_req *req)
{
	if (req == NULL)
		return;
	/* the messages live inside req's block: free what they point to */
	if (req->args != NULL)
		rpc_message_free_contents(req->args);
	if (req->reply != NULL) {
		/* the handler's malloc: large fields go back to the kernel
		 * (docs/performance.md, Peak memory of a large call) */
		rpci_message_release(req->reply);
		rpc_message_free_contents(req->reply);
	}
	free(req->errmsg);
	free(req);
}

/* ---- accounting ---------------------------------------------------------- */

static void conn_held_add(rpci_conn *c, size_t n)
{
	if (n == 0)
		return;
	atomic_fetch_add(&c->held, n);
	atomic_fetch_add(&c->srv->buffered, n);
}

static void conn_held_sub(rpci_conn *c, size_t n)
{
	if (n == 0)
		return;
	atomic_fetch_sub(&c->held, n);
	atomic_fetch_sub(&c->srv->buffered, n);
}

/* conn_in_cap makes c->in cap bytes (0: frees it), keeping its bytes.
 * From RPCI_BIG bytes on it is a big block (big.c), unmapped when the
 * request it held is taken. */
static bool conn_in_cap(rpci_conn *c, size_t cap)
{
	if (cap == 0) {
		rpci_big_free(c->in);
		c->in = NULL;
		c->in_len = 0;
	} else {
		uint8_t *p = rpci_big_realloc(c->in, c->in_len, cap);
		if (p == NULL)
			return false;
		c->in = p;
	}
	if (cap > c->in_cap)
		conn_held_add(c, cap - c->in_cap);
	else
		conn_held_sub(c, c->in_cap - cap);
	c->in_cap = cap;
	return true;
}

/* conn_out_account brings held up to date with the output buffers. Under
 * wmu. */
static void conn_out_account(rpci_conn *c)
{
	size_t now = c->out.cap + c->wbuf.cap;
	if (now > c->out_acct)
		conn_held_add(c, now - c->out_acct);
	else
		conn_held_sub(c, c->out_acct - now);
	c->out_acct = now;
}

/* conn_pending: replies wait to be written. Under wmu. */
static bool conn_pending(const rpci_conn *c)
{
	return !c->wdead && (c->wbuf_off < c->wbuf.len || c->out.len > 0);
}

/* conn_drop_out drops every unsent reply (the flusher at work drops its
 * own buffer when it sees wdead). Under wmu. */
static void conn_drop_out(rpci_conn *c)
{
	rpci_buf_fini(&c->out);
	if (!c->flushing) {
		rpci_buf_fini(&c->wbuf);
		c->wbuf_off = 0;
	}
	atomic_store(&c->unsent, 0);
	conn_out_account(c);
}

/* ---- timers -------------------------------------------------------------- */

static void conn_tadd(rpci_tlist *l, rpci_timer *t, int64_t deadline)
{
	t->deadline_ms = deadline;
	t->next = NULL;
	t->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = t;
	else
		l->head = t;
	l->tail = t;
}

static void conn_tdel(rpci_tlist *l, rpci_timer *t)
{
	if (t->deadline_ms == 0)
		return;
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		l->head = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	else
		l->tail = t->prev;
	t->prev = t->next = NULL;
	t->deadline_ms = 0;
}

/* conn_rt_stop takes c's read timer (frame or idle) off its list. */
static void conn_rt_stop(rpci_conn *c)
{
	if (c->rt.deadline_ms != 0)
		conn_tdel(c->rt_idle ? &c->loop->itimers : &c->loop->rtimers,
		          &c->rt);
}

/* conn_rt_set (re)starts c's read timer after a read: the frame deadline
 * while a partial request waits (restarted when a request completed), the
 * idle deadline otherwise, none while paused. Poller only. */
static void conn_rt_set(rpci_conn *c, bool progress)
{
	rpc_server *srv = c->srv;
	bool partial =
	    (c->in_len > 0 || (c->tls != NULL && !c->tls->hs_done)) &&
	    atomic_load(&c->pause) == 0;

	if (partial) {
		if (c->rt.deadline_ms != 0 && !c->rt_idle && !progress)
			return; /* the same frame is still coming */
		conn_rt_stop(c);
		c->rt_idle = false;
		conn_tadd(&c->loop->rtimers, &c->rt,
		          rpci_now_ms() + srv->frame_timeout_ms);
		return;
	}
	conn_rt_stop(c);
	if (srv->idle_timeout_ms > 0 && atomic_load(&c->pause) == 0) {
		c->rt_idle = true;
		conn_tadd(&c->loop->itimers, &c->rt,
		          rpci_now_ms() + srv->idle_timeout_ms);
	}
}

/* conn_wt_update (re)starts the write deadline while replies wait, on
 * progress or when none runs, and stops it once they are gone. Under
 * wmu. */
static void conn_wt_update(rpci_conn *c, bool progress)
{
	rpci_loop *lp = c->loop;
	bool pending = conn_pending(c) && c->polled;
	bool wake = false;

	if (!pending && c->wt.deadline_ms == 0)
		return;
	if (pending && c->wt.deadline_ms != 0 && !progress)
		return;
	pthread_mutex_lock(&lp->tmu);
	conn_tdel(&lp->wtimers, &c->wt);
	if (pending) {
		wake = lp->wtimers.head == NULL; /* the poller's wait changes */
		conn_tadd(&lp->wtimers, &c->wt,
		          rpci_now_ms() + c->srv->write_timeout_ms);
	}
	atomic_store(&lp->has_wtimers, lp->wtimers.head != NULL);
	pthread_mutex_unlock(&lp->tmu);
	if (wake)
		rpci_loop_wake(lp);
}

/* ---- epoll interest ------------------------------------------------------ */

/* conn_interest makes c's epoll interest match its state: EPOLLIN while
 * reading and not paused, EPOLLOUT while replies wait (or, once the reader
 * is gone, so that the poller comes to drop polled). Registers c again
 * when replies wait after the poller let it go. Under wmu. */
static void conn_interest(rpci_conn *c)
{
	bool pending = conn_pending(c);
	uint32_t ev = 0;

	if (!c->read_closed && atomic_load(&c->pause) == 0)
		ev |= EPOLLIN;
	if (pending || (c->read_closed && c->polled) ||
	    (!c->read_closed && c->tls != NULL && atomic_load(&c->tls->rwant)))
		ev |= EPOLLOUT;
	if (!c->polled) {
		if (!pending)
			return;
		struct epoll_event e = {.events = ev, .data.ptr = c};
		if (epoll_ctl(c->loop->epfd, EPOLL_CTL_ADD, c->fd, &e) < 0) {
			c->wdead = true;
			conn_drop_out(c);
			return;
		}
		/* the caller holds a count of active (a call's) */
		atomic_fetch_add(&c->active, 1);
		c->polled = true;
		c->ev = ev;
		return;
	}
	if (ev != c->ev) {
		struct epoll_event e = {.events = ev, .data.ptr = c};
		epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->fd, &e);
		c->ev = ev;
	}
}

/* ---- lifetime ------------------------------------------------------------ */

static void conn_push_resume(rpci_conn *c);
static void conn_evict(rpc_server *srv, size_t more);
static void conn_maybe_resume(rpci_conn *c);

/* conn_tls_new makes the TLS state of a connection on fd to a listener
 * with tls; NULL when out of memory. conn_tls_free frees it (NULL too). */
static rpci_conn_tls *conn_tls_new(rpc_tls *tls, int fd)
{
	rpci_conn_tls *t = calloc(1, sizeof *t);

	if (t == NULL)
		return NULL;
	t->ssl = rpci_tls_server_ssl(tls, fd);
	if (t->ssl == NULL) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->mu, NULL);
	atomic_init(&t->rwant, false);
	return t;
}

static void conn_tls_free(rpci_conn_tls *t)
{
	if (t == NULL)
		return;
	rpci_tls_ssl_free(t->ssl, false); /* NULL once finished */
	rpci_tls_peer_fini(&t->peer);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static void conn_unref(rpci_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	if (c->codec != NULL)
		c->codec->state_free(c->cstate);
	rpci_buf_fini(&c->out);
	rpci_buf_fini(&c->wbuf);
	rpci_big_free(c->in);
	conn_held_sub(c, atomic_load(&c->held));
	conn_tls_free(c->tls);
	pthread_mutex_destroy(&c->wmu);
	free(c);
}

/* conn_finish runs once, when the reader is gone and no call is left. */
static void conn_finish(rpci_conn *c)
{
	rpc_server *srv = c->srv;

	pthread_mutex_lock(&srv->mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->n_conns--;
	/* its share of srv->evicting, if its read side did not settle it */
	srv->evicting -= c->evict_bytes;
	c->evict_bytes = 0;
	/* nobody reads or writes any more: a close_notify, unless the
	 * connection broke */
	if (c->tls != NULL) {
		rpci_tls_ssl_free(c->tls->ssl, c->tls->hs_done && !c->wdead);
		c->tls->ssl = NULL;
	}
	/* under srv->mu: rpci_conn_cut never shuts down a reused fd */
	close(c->fd);
	c->fd = -1;
	c->done = true;
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
	conn_unref(c);
}

void rpci_conn_call_done(rpci_conn *c)
{
	if (atomic_fetch_sub(&c->active, 1) == 1)
		conn_finish(c);
}

/* conn_release drops polled once the reader is gone and nothing is left
 * to write. Poller only; c may be freed when this returns. */
static void conn_release(rpci_conn *c)
{
	bool rel = false;

	pthread_mutex_lock(&c->wmu);
	if (c->polled && c->read_closed && !c->flushing && !conn_pending(c)) {
		epoll_ctl(c->loop->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		c->polled = false;
		c->ev = 0;
		conn_wt_update(c, false);
		rel = true;
	}
	pthread_mutex_unlock(&c->wmu);
	if (rel)
		rpci_conn_call_done(c);
}

void rpci_conn_read_close(rpci_conn *c)
{
	rpci_loop *lp = c->loop;
	rpc_server *srv = c->srv;

	if (c->read_closed)
		return;
	conn_rt_stop(c);
	conn_in_cap(c, 0);
	if (atomic_load(&c->pause) & RPCI_PAUSE_BUDGET)
		lp->budget_paused--;
	pthread_mutex_lock(&c->wmu);
	c->read_closed = true;
	c->backlog = false;
	atomic_store(&c->pause, 0);
	conn_interest(c);
	pthread_mutex_unlock(&c->wmu);
	/* After read_closed is set nobody puts c on the list again, unless
	 * to requeue parked requests, which keep c alive themselves. */
	pthread_mutex_lock(&c->wmu);
	bool parked = c->parked != NULL;
	pthread_mutex_unlock(&c->wmu);
	pthread_mutex_lock(&lp->mu);
	if (c->on_resume && !parked) {
		for (rpci_conn **p = &lp->resume; *p != NULL; p = &(*p)->rnext)
			if (*p == c) {
				*p = c->rnext;
				break;
			}
		c->on_resume = false;
	}
	pthread_mutex_unlock(&lp->mu);
	if (atomic_load(&c->evicted)) {
		pthread_mutex_lock(&srv->mu);
		srv->evicting -= c->evict_bytes;
		c->evict_bytes = 0;
		pthread_mutex_unlock(&srv->mu);
	}
	conn_release(c);
}

void rpci_conn_cut(rpci_conn *c)
{
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR); /* the poller sees the end */
	pthread_mutex_lock(&c->wmu);
	c->wdead = true;
	conn_drop_out(c);
	conn_wt_update(c, false);
	conn_interest(c);
	conn_maybe_resume(c); /* parked requests run, their replies dropped */
	pthread_mutex_unlock(&c->wmu);
}

/* conn_kill closes c at once: unsent replies dropped, reading stopped.
 * Poller only; c may be freed when this returns. */
static void conn_kill(rpci_conn *c)
{
	rpci_conn_cut(c);
	if (!c->read_closed)
		rpci_conn_read_close(c);
	else
		conn_release(c);
}

rpc_error *rpci_conn_start(rpc_server *srv, int fd, const rpc_codec *codec,
                           const rpci_http_paths *http, bool wait, rpc_tls *tls)
{
	rpci_conn *c = calloc(1, sizeof(*c));
	rpc_error *err;
	int fl;

	if (c == NULL) {
		close(fd);
		return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	c->srv = srv;
	c->fd = fd;
	c->http = http;
	c->mode = http != NULL ? RPCI_CONN_HTTP : RPCI_CONN_RPC;
	c->fresh = true;
	pthread_mutex_init(&c->wmu, NULL);
	atomic_init(&c->refs, 1);
	if (tls != NULL && (c->tls = conn_tls_new(tls, fd)) == NULL) {
		err = rpci_error(RPC_ERR_NOMEM, NULL);
		goto fail;
	}
	err = codec->state_new(true, srv->max_frame, &c->cstate);
	if (err != NULL)
		goto fail;
	c->codec = codec;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err = rpci_error_errno(errno, "rpc: serve");
		goto fail;
	}
	atomic_init(&c->active, 1); /* polled */
	atomic_init(&c->refs, wait ? 2 : 1);
	c->polled = true;
	c->ev = EPOLLIN;
	c->loop =
	    &srv->loops[atomic_fetch_add(&srv->next_loop, 1) % srv->n_loops];

	pthread_mutex_lock(&srv->mu);
	if (atomic_load(&srv->closing)) {
		pthread_mutex_unlock(&srv->mu);
		atomic_init(&c->refs, 1);
		err = rpci_error(RPC_ERR_SHUTDOWN, NULL);
		goto fail;
	}
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
	if (wait)
		srv->n_waiters++;
	/* Still under srv->mu, so that a shutdown's loop_close_conns sees c
	 * either not at all or already polled. From here on the loop may
	 * serve c, and finish it, at any time. */
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	err = NULL;
	if (epoll_ctl(c->loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = rpci_error_errno(errno, "rpc: serve: epoll");
		c->read_closed = true; /* never polled */
		c->polled = false;
	}
	bool idle = err == NULL && srv->idle_timeout_ms > 0;
	if (idle)
		atomic_fetch_add(&c->active, 1);
	pthread_mutex_unlock(&srv->mu);
	if (idle) {
		/* the poller starts its idle deadline (from the resume list;
		 * a connection already read-closed is not put there) */
		pthread_mutex_lock(&c->wmu);
		if (!c->read_closed)
			conn_push_resume(c);
		pthread_mutex_unlock(&c->wmu);
		rpci_conn_call_done(c);
	}
	if (err != NULL)
		rpci_conn_call_done(c);
	if (!wait)
		return err;

	pthread_mutex_lock(&srv->mu);
	while (!c->done)
		pthread_cond_wait(&srv->cv, &srv->mu);
	srv->n_waiters--;
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
	conn_unref(c);
	return err;

fail:
	conn_unref(c); /* frees c->tls */
	close(fd);
	return err;
}

/* ---- limits -------------------------------------------------------------- */

/* conn_limited: c is over its limits, with more requests admitted but
 * not counted yet. */
static bool conn_limited(const rpci_conn *c, unsigned more)
{
	return atomic_load(&c->inflight) + more >= c->srv->max_conn_inflight ||
	       atomic_load(&c->unsent) >= c->srv->max_conn_out;
}

/* conn_admit counts n requests of cost bytes admitted in one pass. */
static void conn_admit(rpci_conn *c, unsigned n, size_t cost)
{
	if (n == 0)
		return;
	conn_held_add(c, cost);
	atomic_fetch_add(&c->inflight, n);
	atomic_fetch_add(&c->active, n);
}

static void conn_push_resume(rpci_conn *c)
{
	rpci_loop *lp = c->loop;

	c->backlog = false;
	pthread_mutex_lock(&lp->mu);
	if (!c->on_resume) {
		c->on_resume = true;
		c->rnext = lp->resume;
		lp->resume = c;
	}
	pthread_mutex_unlock(&lp->mu);
	rpci_loop_wake(lp);
}

/* conn_maybe_resume sends parked requests back to the loop once half the
 * output has gone (or it never will), and lets a connection paused by its
 * limits read again once half its calls have finished too. Under wmu. */
static void conn_maybe_resume(rpci_conn *c)
{
	rpc_server *srv = c->srv;
	bool drained =
	    c->wdead || atomic_load(&c->unsent) <= srv->max_conn_out / 2;

	if (c->parked != NULL && drained)
		conn_push_resume(c);
	if ((atomic_load(&c->pause) & RPCI_PAUSE_LIMIT) == 0 || c->read_closed)
		return;
	if (atomic_load(&c->inflight) > srv->max_conn_inflight / 2 || !drained)
		return;
	atomic_fetch_and(&c->pause, ~(unsigned)RPCI_PAUSE_LIMIT);
	conn_interest(c);
	if (c->backlog)
		conn_push_resume(c);
}

/* conn_pause stops reading c while it is over its limits; false if it no
 * longer is. Poller only. */
static bool conn_pause(rpci_conn *c)
{
	rpc_server *srv = c->srv;
	bool limited, log;
	unsigned inflight;
	size_t unsent;

	pthread_mutex_lock(&c->wmu);
	atomic_fetch_or(&c->pause, RPCI_PAUSE_LIMIT);
	/* after setting the bit, so a resumer sees either it or this */
	limited = conn_limited(c, 0);
	inflight = atomic_load(&c->inflight);
	unsent = atomic_load(&c->unsent);
	if (limited) {
		c->backlog = true;
		conn_interest(c);
	} else {
		atomic_fetch_and(&c->pause, ~(unsigned)RPCI_PAUSE_LIMIT);
	}
	log = limited && !c->logged;
	if (log)
		c->logged = true;
	pthread_mutex_unlock(&c->wmu);
	if (log) {
		if (inflight >= srv->max_conn_inflight)
			rpci_server_log(
			    srv,
			    "rpc: connection paused: %u requests in "
			    "flight (max_conn_inflight)",
			    inflight);
		else
			rpci_server_log(
			    srv,
			    "rpc: connection paused: %zu reply bytes "
			    "unsent (max_conn_out)",
			    unsent);
	}
	return limited;
}

/* conn_evict closes the connection holding the most bytes, unless the
 * ones closed already will bring the server under its budget. */
static void conn_evict(rpc_server *srv, size_t more)
{
	rpci_conn *victim = NULL;
	size_t most = 0, total, held = 0;

	pthread_mutex_lock(&srv->mu);
	total = atomic_load(&srv->buffered) + more;
	if (total < srv->max_buffered + srv->evicting) {
		pthread_mutex_unlock(&srv->mu);
		return;
	}
	for (rpci_conn *c = srv->conns; c != NULL; c = c->next) {
		size_t h = atomic_load(&c->held);
		if (h > most && !atomic_load(&c->evicted) && !c->read_closed) {
			most = h;
			victim = c;
		}
	}
	if (victim != NULL) {
		atomic_store(&victim->evicted, true);
		rpci_conn_cut(victim);
		held = atomic_load(&victim->held);
		victim->evict_bytes = held;
		srv->evicting += held;
	}
	pthread_mutex_unlock(&srv->mu);
	if (victim != NULL)
		rpci_server_log(
		    srv,
		    "rpc: server buffers at %zu bytes (max_buffered "
		    "%zu): closing the connection holding %zu",
		    total, srv->max_buffered, most);
}

/* conn_budget is called before reading c (and growing its buffer by more
 * bytes) while that would put the server over its budget: frees memory by
 * closing the biggest holder, then pauses c if that was not enough. False:
 * do not read c now. Poller only. */
static bool conn_budget(rpci_conn *c, size_t more)
{
	rpc_server *srv = c->srv;

	conn_evict(srv, more);
	if (atomic_load(&c->evicted)) { /* c was the one closed */
		rpci_conn_read_close(c);
		return false;
	}
	if (atomic_load(&srv->buffered) + more < srv->max_buffered)
		return true;
	pthread_mutex_lock(&c->wmu);
	atomic_fetch_or(&c->pause, RPCI_PAUSE_BUDGET);
	conn_interest(c);
	pthread_mutex_unlock(&c->wmu);
	conn_rt_stop(c);
	c->loop->budget_paused++;
	return false;
}

void rpci_conn_budget_resume(rpci_loop *lp)
{
	rpc_server *srv = lp->srv;

	rpci_conn *list = NULL;

	if (atomic_load(&srv->buffered) >= srv->max_buffered / 8 * 7)
		return;
	pthread_mutex_lock(&srv->mu);
	for (rpci_conn *c = srv->conns; c != NULL && lp->budget_paused > 0;
	     c = c->next) {
		if (c->loop != lp ||
		    (atomic_load(&c->pause) & RPCI_PAUSE_BUDGET) == 0)
			continue;
		pthread_mutex_lock(&c->wmu);
		atomic_fetch_and(&c->pause, ~(unsigned)RPCI_PAUSE_BUDGET);
		conn_interest(c);
		pthread_mutex_unlock(&c->wmu);
		lp->budget_paused--;
		if (!c->on_resume) { /* c->rnext is free */
			c->rnext = list;
			list = c;
		}
	}
	pthread_mutex_unlock(&srv->mu);
	/* Outside srv->mu (loop mutexes come first). Only this thread can
	 * close these connections, so they are alive. Resuming restarts
	 * their frame deadline and reads what waits in their buffer. */
	while (list != NULL) {
		rpci_conn *c = list;
		list = c->rnext;
		pthread_mutex_lock(&c->wmu);
		conn_push_resume(c);
		pthread_mutex_unlock(&c->wmu);
	}
}

/* ---- reading ------------------------------------------------------------- */

/* conn_keep keeps the unconsumed tail p[0..n) of a read in c->in. Bytes
 * already at the start of c->in stay where they are; a tail behind
 * consumed requests moves to the front once (it is less than one request),
 * and a large buffer left mostly empty by that shrinks. */
static bool conn_keep(rpci_conn *c, const uint8_t *p, size_t n)
{
	if (p == c->in) {
		c->in_len = n;
		return true;
	}
	if (n > c->in_cap && !conn_in_cap(c, n < CONN_IN_MIN ? CONN_IN_MIN : n))
		return false;
	memmove(c->in, p, n);
	c->in_len = n;
	if (c->in_cap > CONN_IN_KEEP && n < c->in_cap / 4)
		conn_in_cap(c, n < CONN_IN_MIN ? CONN_IN_MIN : n); /* shrinks */
	return true;
}

/* conn_in_want is the capacity c->in needs for the next read. Once the
 * codec knows the length of the request waiting there (codec.h, need), c->in
 * grows at once to hold all of it, so the rest is read straight into place
 * in large reads and nothing is copied or parsed twice; but to no more than
 * CONN_IN_STEP or twice what has arrived, whichever is more, so a peer that
 * announces a large request and stops costs little more than it sent.
 * Otherwise (JSON, or a length not yet known): at least CONN_IN_MIN/4 bytes
 * free, by doubling. Never more than one maximal frame; SIZE_MAX when the
 * request waiting there is already that large. */
static size_t conn_in_want_plain(const rpci_conn *c);

static size_t conn_in_want(const rpci_conn *c)
{
	size_t cap = conn_in_want_plain(c);

	/* A TLS read returns at most a record, but all of what it decrypts
	 * must fit, or the rest waits inside OpenSSL where epoll cannot see
	 * it: a whole record's room (bounded: past the most a plain
	 * connection may hold by at most one record). */
	if (c->tls != NULL && cap != SIZE_MAX &&
	    cap - c->in_len < RPCI_TLS_RECORD)
		cap = c->in_len + RPCI_TLS_RECORD;
	return cap;
}

static size_t conn_in_want_plain(const rpci_conn *c)
{
	size_t most = c->srv->max_frame + CONN_IN_MIN, need = 0;

	if (c->mode != RPCI_CONN_HTTP && c->codec->need != NULL)
		need = c->codec->need(c->cstate, c->in, c->in_len);
	if (need > c->in_len) {
		size_t step =
		    c->in_len > CONN_IN_STEP ? c->in_len : CONN_IN_STEP;
		size_t cap = need - c->in_len > step ? c->in_len + step : need;
		/* A big block's pages are huge (big.c) only where whole
		 * 2 MiB spans of it are touched after it last grew; a step
		 * ending inside a span leaves that span in 4 KiB pages for
		 * good (measured: 2,000 more page faults per 16 MiB call).
		 * So a step that is not the last ends on a 2 MiB boundary. */
		if (cap < need && cap >= RPCI_BIG) {
			size_t up =
			    (cap + CONN_IN_HUGE - 1) & ~(CONN_IN_HUGE - 1);
			cap = up < need ? up : need;
		}
		if (cap > most)
			cap = most;
		if (cap > c->in_cap)
			return cap;
		if (c->in_cap > c->in_len)
			return c->in_cap;
	}
	if (c->in_cap - c->in_len >= CONN_IN_MIN / 4)
		return c->in_cap;
	if (c->in_cap >= most)
		return SIZE_MAX;
	size_t cap = c->in_cap == 0 ? CONN_IN_MIN : c->in_cap * 2;
	return cap < most ? cap : most;
}

static void conn_log_error(rpci_conn *c, const char *what, rpc_error *err)
{
	rpci_server_log(c->srv, "%s: %s", what, rpc_error_message(err));
	rpc_error_free(err);
}

/* conn_answer_codec answers the first request of a peer that speaks the
 * codec peer, p[0..len), with an error response in that codec, so that
 * its first call fails with text instead of a broken stream. Nothing is
 * sent unless the request arrived whole. */
static void conn_answer_codec(rpci_conn *c, const rpc_codec *peer,
                              const uint8_t *p, size_t len, const char *text)
{
	rpci_header h = {"", 0, text, 0};
	rpci_buf out = {NULL, 0, 0};
	rpci_msg msg;
	void *st = NULL;
	size_t used = 0;
	rpc_error *err = peer->state_new(true, c->srv->max_frame, &st);

	memset(&msg, 0, sizeof msg);
	if (err == NULL &&
	    peer->read(st, p, len, &used, &msg, &err) == RPCI_READ_OK) {
		h.service_method = msg.service_method;
		h.seq = msg.seq;
		err = peer->write(st, &h, NULL, NULL, &out);
		peer->msg_clear(st, &msg);
		if (err == NULL)
			rpci_conn_write(c, out.data, out.len);
	}
	rpc_error_free(err);
	if (st != NULL)
		peer->state_free(st);
	rpci_buf_fini(&out);
}

/* conn_mismatch looks at the first bytes of c's first request, p[0..len),
 * which c's codec could not read (failed) or wants more of. When they are
 * another protocol's, it logs what the peer speaks, answers it where that
 * is cheap (HTTP: a 400 response; another codec: an error response in it)
 * and returns true: the connection ends. Only ever called while c->fresh,
 * so it costs nothing once a connection is under way. */
static bool conn_mismatch(rpci_conn *c, const uint8_t *p, size_t len,
                          bool failed)
{
	rpci_sniff_kind kind = rpci_sniff(p, len);
	const rpc_codec *peer = rpci_sniff_codec(kind);
	const char *own = c->codec->name;
	char text[256], line[80];

	if (kind == RPCI_SNIFF_UNKNOWN || kind == RPCI_SNIFF_MORE ||
	    peer == c->codec)
		return false;
	/* A wait is cut short only where no first message of the codec's own
	 * starts like this: a gob stream opens with a type definition, but a
	 * native frame's length may be any bytes (a large frame), and JSON's
	 * scanner fails at the first byte that is not JSON. */
	if (!failed && c->codec != &rpc_codec_gob)
		return false;
	/* an HTTP request line is waited for (within bounds), to name it */
	if (kind == RPCI_SNIFF_HTTP_REQUEST && !failed &&
	    memchr(p, '\n', len) == NULL && len < CONN_HTTP_LINE_WAIT)
		return false;
	switch (kind) {
	case RPCI_SNIFF_HTTP_REQUEST: {
		char head[sizeof text + 128];
		const uint8_t *sp = memchr(p, ' ', len);
		size_t rl = len;
		int n;

		/* the method and the target, without the version */
		sp = sp != NULL
		         ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - p))
		         : NULL;
		if (sp != NULL)
			rl = (size_t)(sp - p);
		snprintf(text, sizeof text,
		         "rpc: client sent HTTP (%s), this listener speaks %s; "
		         "serve HTTP with rpc_server_accept_http",
		         rpci_sniff_line(p, rl, line, sizeof line), own);
		n = snprintf(head, sizeof head,
		             "HTTP/1.0 400 Bad Request\r\n"
		             "Content-Type: text/plain; charset=utf-8\r\n"
		             "Connection: close\r\n\r\n%s\n",
		             text);
		if (n > 0)
			rpci_conn_write(c, head,
			                (size_t)n < sizeof head
			                    ? (size_t)n
			                    : sizeof head - 1);
		break;
	}
	case RPCI_SNIFF_HTTP_RESPONSE:
		snprintf(
		    text, sizeof text,
		    "rpc: client sent an HTTP response (%s), this listener "
		    "speaks %s",
		    rpci_sniff_line(p, len, line, sizeof line), own);
		break;
	case RPCI_SNIFF_TLS_HELLO:
		snprintf(text, sizeof text,
		         "rpc: client sent a TLS ClientHello; this listener is "
		         "plain %s",
		         own);
		break;
	case RPCI_SNIFF_TLS_ALERT:
		snprintf(text, sizeof text,
		         "rpc: client sent a TLS alert; this listener is plain "
		         "%s",
		         own);
		break;
	default: {
		char answer[128];

		snprintf(text, sizeof text,
		         "rpc: client speaks %s, this listener speaks %s",
		         peer->name, own);
		snprintf(answer, sizeof answer,
		         "rpc: the server speaks %s, this client %s: use the "
		         "%s codec",
		         own, peer->name, own);
		conn_answer_codec(c, peer, p, len, answer);
		break;
	}
	}
	rpci_server_log(c->srv, "%s", text);
	return true;
}

/* conn_consume admits the complete requests at the start of p[0..len),
 * one at a time while c is under its limits. Returns the bytes consumed,
 * or SIZE_MAX when the connection is to end. */
static size_t conn_consume(rpci_conn *c, const uint8_t *p, size_t len,
                           rpci_req ***tail)
{
	size_t off = 0;

	if (c->mode == RPCI_CONN_HTTP) {
		bool complete = false;
		for (size_t i = 1; i < len && !complete; i++)
			if (p[i] == '\n' &&
			    (p[i - 1] == '\n' ||
			     (i >= 2 && p[i - 1] == '\r' && p[i - 2] == '\n')))
				complete = true;
		if (!complete && len > CONN_HTTP_HEAD_MAX) {
			rpci_server_log(c->srv,
			                "rpc: HTTP request head over %d bytes: "
			                "closing the connection",
			                CONN_HTTP_HEAD_MAX);
			return SIZE_MAX;
		}
		if (!complete)
			return 0;
		if (!rpci_http_serve_head(c, p, len, &off))
			return SIZE_MAX;
	}

	/* The counts of the requests admitted in this pass are added once,
	 * at the end or before pausing: nobody else sees them before. */
	unsigned n = 0;
	size_t cost = 0;
	while (off < len) {
		rpci_msg msg;
		rpc_error *err = NULL;
		size_t used = 0;
		rpci_read_status st;

		if (conn_limited(c, n)) {
			conn_admit(c, n, cost);
			n = 0;
			cost = 0;
			if (conn_pause(c))
				break;
		}
		memset(&msg, 0, sizeof(msg));
		st = c->codec->read(c->cstate, p + off, len - off, &used, &msg,
		                    &err);
		if (st != RPCI_READ_OK && c->fresh &&
		    conn_mismatch(c, p + off, len - off,
		                  st == RPCI_READ_ERROR)) {
			rpc_error_free(err);
			off = SIZE_MAX;
			break;
		}
		if (st == RPCI_READ_AGAIN)
			break;
		if (st == RPCI_READ_ERROR) {
			if (err != NULL)
				conn_log_error(c, "rpc: reading request", err);
			off = SIZE_MAX;
			break;
		}
		off += used;
		c->fresh = false;
		rpci_req *req =
		    rpci_req_prepare(c->srv, c->codec, c->cstate, &msg);
		c->codec->msg_clear(c->cstate, &msg);
		if (req == NULL) {
			rpci_server_log(c->srv, "rpc: out of memory");
			off = SIZE_MAX;
			break;
		}
		req->conn = c;
		req->cost = used;
		n++;
		cost += used;
		**tail = req;
		*tail = &req->next;
	}
	conn_admit(c, n, cost);
	return off;
}

/* conn_took admits what buf[0..len) holds (buf is c->in or the poller's
 * scratch) and keeps the rest in c->in. */
static void conn_took(rpci_conn *c, uint8_t *buf, size_t len, rpci_req ***tail)
{
	size_t used = conn_consume(c, buf, len, tail);

	if (used == SIZE_MAX) {
		rpci_conn_read_close(c);
		return;
	}
	if (used == len) {
		if (buf == c->in)
			conn_in_cap(c, 0);
	} else if (!conn_keep(c, buf + used, len - used)) {
		rpci_server_log(c->srv, "rpc: out of memory");
		rpci_conn_read_close(c);
		return;
	}
	conn_rt_set(c, used > 0);
}

/* conn_tls_want_write notes that a TLS step of the reader waits for the
 * socket to be writable, so that EPOLLOUT brings the poller back. */
static void conn_tls_want_write(rpci_conn *c)
{
	atomic_store(&c->tls->rwant, true);
	pthread_mutex_lock(&c->wmu);
	conn_interest(c);
	pthread_mutex_unlock(&c->wmu);
}

/* conn_plain_on_tls looks at the first bytes of a connection to a TLS
 * listener without taking them. When they are not a TLS record it logs
 * what the peer speaks, answers an HTTP request in plain HTTP, anyone
 * else with a TLS alert (which a librpc client names), and returns true:
 * the connection ends. */
static bool conn_plain_on_tls(rpci_conn *c)
{
	uint8_t p[64];
	char line[80];
	ssize_t n = recv(c->fd, p, sizeof p, MSG_PEEK | MSG_DONTWAIT);
	rpci_sniff_kind kind;
	const rpc_codec *peer;

	if (n == 0)
		return true; /* gone before a byte: nothing to tell */
	if (n < 0 || p[0] == 0x16 || p[0] == 0x15)
		return false;
	kind = rpci_sniff(p, (size_t)n);
	peer = rpci_sniff_codec(kind);
	if (kind == RPCI_SNIFF_HTTP_REQUEST) {
		static const char answer[] =
		    "HTTP/1.0 400 Bad Request\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Connection: close\r\n\r\n"
		    "Client sent an HTTP request to a TLS server.\n";
		rpci_server_log(
		    c->srv,
		    "rpc: tls: client sent plain HTTP (%s) to a "
		    "TLS listener",
		    rpci_sniff_line(p, (size_t)n, line, sizeof line));
		(void)send(c->fd, answer, sizeof answer - 1,
		           MSG_NOSIGNAL | MSG_DONTWAIT);
		return true;
	}
	/* alert, fatal, protocol_version */
	static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00,
	                                0x02, 0x02, 0x46};
	if (peer != NULL)
		rpci_server_log(
		    c->srv,
		    "rpc: tls: client speaks plain %s, this listener "
		    "speaks TLS",
		    peer->name);
	else
		rpci_server_log(
		    c->srv,
		    "rpc: tls: client sent no TLS ClientHello (first "
		    "byte 0x%02x): not TLS",
		    p[0]);
	(void)send(c->fd, alert, sizeof alert, MSG_NOSIGNAL | MSG_DONTWAIT);
	return true;
}

/* conn_handshake runs the next step of c's TLS handshake: true once it
 * is over and reading may go on. Poller only; c may be freed when it
 * returns false. */
static bool conn_handshake(rpci_conn *c)
{
	rpc_error *err = NULL;
	rpci_tls_status st;

	if (c->fresh && conn_plain_on_tls(c)) {
		rpci_conn_read_close(c);
		return false;
	}
	c->fresh = false; /* what follows is TLS: nothing to sniff */
	pthread_mutex_lock(&c->tls->mu);
	st = rpci_tls_handshake(c->tls->ssl, "rpc: tls handshake", &err);
	pthread_mutex_unlock(&c->tls->mu);
	switch (st) {
	case RPCI_TLS_OK:
		if (!rpci_tls_peer(c->tls->ssl, &c->tls->peer)) {
			rpci_server_log(c->srv, "rpc: out of memory");
			rpci_conn_read_close(c);
			return false;
		}
		c->tls->hs_done = true;
		c->fresh = true; /* the first request may still be sniffed */
		conn_rt_set(c, true);
		return true;
	case RPCI_TLS_WANT_WRITE:
		conn_tls_want_write(c);
		conn_rt_set(c, false);
		return false;
	case RPCI_TLS_WANT_READ:
		conn_rt_set(c, false); /* within frame_timeout of its start */
		return false;
	default:
		rpci_server_log(c->srv, "%s",
		                err != NULL ? rpc_error_message(err)
		                            : "rpc: tls handshake failed");
		rpc_error_free(err);
		rpci_conn_read_close(c);
		return false;
	}
}

/* conn_recv reads into p[0..cap) from c, through TLS when c speaks it,
 * as read(2) does: EAGAIN when nothing can be read now. Under TLS it reads
 * the records that have come while a whole one still fits (so that
 * nothing decrypted stays inside OpenSSL, unseen by epoll). A TLS error is
 * logged here and reported as ECONNRESET, which is not logged again. */
static ssize_t conn_recv(rpci_conn *c, uint8_t *p, size_t cap)
{
	rpc_error *err = NULL;
	rpci_tls_status st;
	size_t n, got = 0;

	if (c->tls == NULL)
		return read(c->fd, p, cap);
	pthread_mutex_lock(&c->tls->mu);
	do {
		st = rpci_tls_read(c->tls->ssl, p + got, cap - got, &n, &err);
		got += n;
	} while (st == RPCI_TLS_OK && cap - got >= RPCI_TLS_RECORD);
	pthread_mutex_unlock(&c->tls->mu);
	if (got > 0 && st != RPCI_TLS_ERROR) {
		/* an end or a wait shows at the next read (the socket's end
		 * keeps it readable); an error ends the connection now */
		if (st == RPCI_TLS_WANT_WRITE)
			conn_tls_want_write(c);
		return (ssize_t)got;
	}
	switch (st) {
	case RPCI_TLS_OK:
		return (ssize_t)got;
	case RPCI_TLS_EOF:
		return 0;
	case RPCI_TLS_WANT_WRITE:
		conn_tls_want_write(c);
		/* fall through */
	case RPCI_TLS_WANT_READ:
		errno = EAGAIN;
		return -1;
	default:
		if (rpc_error_kind_of(err) == RPC_ERR_IO) {
			errno = rpc_error_errno(err);
		} else {
			rpci_server_log(c->srv, "%s", rpc_error_message(err));
			errno = ECONNRESET;
		}
		rpc_error_free(err);
		return -1;
	}
}

static void conn_readable(rpci_conn *c, uint32_t events, uint8_t *scratch,
                          size_t scratch_cap, rpci_req ***tail)
{
	rpc_server *srv = c->srv;
	uint8_t *buf;
	size_t len;
	ssize_t n;

	if (c->read_closed)
		return;
	if (atomic_load(&c->pause) != 0) {
		/* a paused connection whose peer is gone ends now */
		if (events & (EPOLLHUP | EPOLLERR))
			rpci_conn_read_close(c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0)
		return;
	if (c->tls != NULL && !c->tls->hs_done && !conn_handshake(c))
		return;
	if (atomic_load(&srv->buffered) >= srv->max_buffered &&
	    !conn_budget(c, 0))
		return;
	/* Bytes go to the loop's scratch buffer unless part of a request is
	 * already waiting in c->in; so an idle connection holds no buffer. */
	if (c->in_len > 0) {
		size_t cap = conn_in_want(c);
		if (cap == SIZE_MAX) {
			rpci_server_log(srv, "rpc: request too large");
			rpci_conn_read_close(c);
			return;
		}
		if (cap > c->in_cap) {
			/* Growing counts against the budget before it happens,
			 * reserved at once so that two loops growing at the
			 * same time cannot both pass the check; conn_in_cap
			 * charges the growth itself, the reservation goes. */
			size_t more = cap - c->in_cap;
			if (atomic_fetch_add(&srv->buffered, more) + more >=
			    srv->max_buffered) {
				atomic_fetch_sub(&srv->buffered, more);
				if (!conn_budget(c, more))
					return;
				atomic_fetch_add(&srv->buffered, more);
			}
			bool grown = conn_in_cap(c, cap);
			atomic_fetch_sub(&srv->buffered, more);
			if (!grown) {
				rpci_server_log(srv, "rpc: out of memory");
				rpci_conn_read_close(c);
				return;
			}
		}
		buf = c->in;
		n = conn_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
	} else {
		buf = scratch;
		n = conn_recv(c, scratch, scratch_cap);
	}
	if (n == 0) {
		rpci_conn_read_close(c);
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno != ECONNRESET)
			rpci_server_log(srv, "rpc: read: %s", strerror(errno));
		rpci_conn_read_close(c);
		return;
	}
	rpci_count(&c->srv->bytes_in, (uint64_t)n);
	len = (buf == c->in ? c->in_len : 0) + (size_t)n;
	if (buf == c->in)
		c->in_len = len;
	conn_took(c, buf, len, tail);
}

bool rpci_conn_park(rpci_conn *c, rpci_req *req)
{
	pthread_mutex_lock(&c->wmu);
	if (c->wdead || atomic_load(&c->unsent) < c->srv->max_conn_out) {
		pthread_mutex_unlock(&c->wmu);
		return false;
	}
	/* in order; a short list (at most max_conn_inflight), rarely used,
	 * so no tail pointer in every connection */
	rpci_req **p = &c->parked;
	while (*p != NULL)
		p = &(*p)->next;
	req->next = NULL;
	*p = req;
	/* and read nothing more meanwhile */
	atomic_fetch_or(&c->pause, RPCI_PAUSE_LIMIT);
	c->backlog = true;
	conn_interest(c);
	size_t unsent = atomic_load(&c->unsent);
	bool log = !c->logged;
	c->logged = true;
	pthread_mutex_unlock(&c->wmu);
	if (log)
		rpci_server_log(
		    c->srv,
		    "rpc: connection paused: %zu reply bytes unsent "
		    "(max_conn_out)",
		    unsent);
	/* a reply left for this request to flush goes now */
	rpci_conn_flush(c);
	return true;
}

void rpci_conn_resume(rpci_conn *c, rpci_req ***tail)
{
	pthread_mutex_lock(&c->wmu);
	if (c->parked != NULL &&
	    (c->wdead || atomic_load(&c->unsent) <= c->srv->max_conn_out / 2)) {
		/* the parked requests still hold c (active) */
		rpci_req *last = c->parked;
		while (last->next != NULL)
			last = last->next;
		**tail = c->parked;
		*tail = &last->next;
		c->parked = NULL;
	}
	pthread_mutex_unlock(&c->wmu);
	if (c->read_closed || atomic_load(&c->pause) != 0)
		return;
	if (c->in_len > 0)
		conn_took(c, c->in, c->in_len, tail);
	else
		conn_rt_set(c, false); /* a new connection's idle deadline */
}

void rpci_conn_event(rpci_conn *c, uint32_t events, uint8_t *scratch,
                     size_t scratch_cap, rpci_req ***tail)
{
	/* a TLS read that waited for room to write goes on; EPOLLOUT stays
	 * only while replies wait */
	if ((events & EPOLLOUT) && c->tls != NULL &&
	    atomic_exchange(&c->tls->rwant, false)) {
		events |= EPOLLIN;
		pthread_mutex_lock(&c->wmu);
		conn_interest(c);
		pthread_mutex_unlock(&c->wmu);
	}
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		rpci_conn_flush(c);
	if (c->read_closed)
		conn_release(c);
	else /* reading may close, release and free c */
		conn_readable(c, events, scratch, scratch_cap, tail);
}

/* ---- deadlines ----------------------------------------------------------- */

static rpci_conn *conn_of(rpci_timer *t, bool write)
{
	return (rpci_conn *)((char *)t - (write ? offsetof(rpci_conn, wt)
	                                        : offsetof(rpci_conn, rt)));
}

static int conn_until(const rpci_tlist *l, int64_t now, int wait)
{
	if (l->head == NULL)
		return wait;
	int64_t d = l->head->deadline_ms - now;
	if (d < 0)
		d = 0;
	return wait < 0 || d < wait ? (int)d : wait;
}

int rpci_conn_timers(rpci_loop *lp, int64_t now)
{
	rpc_server *srv = lp->srv;
	int wait = -1;

	while (lp->rtimers.head != NULL &&
	       lp->rtimers.head->deadline_ms <= now) {
		rpci_conn *c = conn_of(lp->rtimers.head, false);
		if (atomic_load(&c->pause) != 0) {
			/* paused by a flusher (a parked call): waiting for
			 * the peer to read is write_timeout's business */
			conn_rt_stop(c);
			continue;
		}
		if (c->tls != NULL && !c->tls->hs_done)
			rpci_server_log(
			    srv,
			    "rpc: tls handshake not complete within "
			    "%d ms (frame_timeout): closing the "
			    "connection",
			    srv->frame_timeout_ms);
		else
			rpci_server_log(
			    srv,
			    "rpc: request not complete within %d ms "
			    "(frame_timeout): closing the connection",
			    srv->frame_timeout_ms);
		conn_kill(c);
	}
	while (lp->itimers.head != NULL &&
	       lp->itimers.head->deadline_ms <= now) {
		rpci_conn *c = conn_of(lp->itimers.head, false);
		if (atomic_load(&c->inflight) > 0 ||
		    atomic_load(&c->unsent) > 0) {
			/* busy, not idle: look again later */
			conn_tdel(&lp->itimers, &c->rt);
			conn_tadd(&lp->itimers, &c->rt,
			          now + srv->idle_timeout_ms);
			continue;
		}
		rpci_server_log(srv,
		                "rpc: connection idle for %d ms "
		                "(idle_timeout): closing it",
		                srv->idle_timeout_ms);
		conn_kill(c);
	}
	if (atomic_load(&lp->has_wtimers)) {
		pthread_mutex_lock(&lp->tmu);
		while (lp->wtimers.head != NULL &&
		       lp->wtimers.head->deadline_ms <= now) {
			rpci_conn *c = conn_of(lp->wtimers.head, true);
			conn_tdel(&lp->wtimers, &c->wt);
			atomic_store(&lp->has_wtimers,
			             lp->wtimers.head != NULL);
			pthread_mutex_unlock(&lp->tmu);
			/* still polled: only this thread lets it go */
			rpci_server_log(srv,
			                "rpc: no write progress for %d ms "
			                "(write_timeout): closing the "
			                "connection",
			                srv->write_timeout_ms);
			conn_kill(c);
			pthread_mutex_lock(&lp->tmu);
		}
		wait = conn_until(&lp->wtimers, now, wait);
		pthread_mutex_unlock(&lp->tmu);
	}
	wait = conn_until(&lp->rtimers, now, wait);
	return conn_until(&lp->itimers, now, wait);
}

/* ---- writing ------------------------------------------------------------- */

bool rpci_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return false;
			continue;
		}
		return false;
	}
	return true;
}

/* conn_send writes p[0..n) without waiting: 0 when all went, 1 when the
 * socket is full, -1 on error; *sent says how much went. */
static int conn_send(rpci_conn *c, const uint8_t *p, size_t n, size_t *sent)
{
	int fd = c->fd;

	*sent = 0;
	if (c->tls != NULL) {
		rpc_error *err = NULL;
		rpci_tls_status st = RPCI_TLS_OK;
		pthread_mutex_lock(&c->tls->mu);
		while (n > 0) {
			size_t w;
			st = rpci_tls_write(c->tls->ssl, p, n, &w, &err);
			if (st != RPCI_TLS_OK)
				break;
			p += w;
			n -= w;
			*sent += w;
		}
		pthread_mutex_unlock(&c->tls->mu);
		if (st == RPCI_TLS_OK)
			return 0;
		if (st == RPCI_TLS_WANT_WRITE || st == RPCI_TLS_WANT_READ)
			return 1; /* EPOLLOUT (or the next read) comes back */
		if (err != NULL && rpc_error_kind_of(err) != RPC_ERR_IO)
			rpci_server_log(c->srv, "%s", rpc_error_message(err));
		rpc_error_free(err);
		return -1;
	}
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == ENOTSOCK)
			w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			*sent += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		return -1;
	}
	return 0;
}

void rpci_conn_write(rpci_conn *c, const void *p, size_t n)
{
	pthread_mutex_lock(&c->wmu);
	if (!c->wdead) {
		if (rpci_buf_append(&c->out, p, n))
			atomic_fetch_add(&c->unsent, n);
		conn_out_account(c);
	}
	pthread_mutex_unlock(&c->wmu);
	rpci_conn_flush(c);
}

void rpci_conn_reply(rpci_conn *c, rpci_req *req)
{
	pthread_mutex_lock(&c->wmu);
	if (!c->wdead) {
		size_t before = c->out.len;
		rpci_req_encode(req, c->codec, c->cstate, &c->out);
		atomic_fetch_add(&c->unsent, c->out.len - before);
		conn_out_account(c);
	}
	pthread_mutex_unlock(&c->wmu);
	conn_held_sub(c, req->cost);
	rpci_req_free(req);
	if (atomic_load(&c->srv->buffered) >= c->srv->max_buffered)
		conn_evict(c->srv, 0);
}

void rpci_conn_flush(rpci_conn *c)
{
	size_t progress = 0;

	pthread_mutex_lock(&c->wmu);
	if (c->flushing) {
		pthread_mutex_unlock(&c->wmu);
		return;
	}
	c->flushing = true;
	while (!c->wdead) {
		if (c->wbuf_off == c->wbuf.len) {
			if (c->out.len == 0)
				break;
			rpci_buf t = c->wbuf;
			c->wbuf = c->out;
			c->out = t;
			c->out.len = 0;
			c->wbuf_off = 0;
		}
		pthread_mutex_unlock(&c->wmu);
		size_t sent;
		int r = conn_send(c, c->wbuf.data + c->wbuf_off,
		                  c->wbuf.len - c->wbuf_off, &sent);
		rpci_count(&c->srv->bytes_out, sent);
		pthread_mutex_lock(&c->wmu);
		c->wbuf_off += sent;
		progress += sent;
		if (!c->wdead)
			atomic_fetch_sub(&c->unsent, sent);
		if (r < 0) {
			c->wdead =
			    true; /* the peer is gone: replies go nowhere */
			break;
		}
		if (r > 0)
			break; /* full: EPOLLOUT brings the poller back */
	}
	c->flushing = false;
	if (c->wdead) {
		conn_drop_out(c);
	} else if (c->wbuf_off == c->wbuf.len) {
		c->wbuf.len = 0;
		c->wbuf_off = 0;
		if (c->wbuf.cap > CONN_OUT_KEEP)
			rpci_buf_fini(&c->wbuf);
		if (c->out.len == 0 && c->out.cap > CONN_OUT_KEEP)
			rpci_buf_fini(&c->out);
	}
	conn_out_account(c);
	conn_maybe_resume(c);
	conn_interest(c);
	conn_wt_update(c, progress > 0);
	pthread_mutex_unlock(&c->wmu);
}

void rpci_conn_req_done(rpci_conn *c)
{
	atomic_fetch_sub(&c->inflight, 1);
	if (atomic_load(&c->pause) & RPCI_PAUSE_LIMIT) {
		pthread_mutex_lock(&c->wmu);
		conn_maybe_resume(c);
		pthread_mutex_unlock(&c->wmu);
	}
	rpci_conn_call_done(c);
}
