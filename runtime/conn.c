/* conn.c - one served connection: decoding requests, calling, replying.
 *
 * The read side belongs to the poller of the connection's loop: it reads
 * whatever has arrived, cuts it into requests with the codec, looks each up
 * and decodes its body, and queues it on the loop. Lookup and body errors
 * become requests that carry their error text, answered like any other
 * call with the request's sequence number; only a header the codec cannot
 * read ends the connection (after the calls in flight have finished).
 *
 * The write side belongs to whoever holds wmu: a thread that finished a
 * call encodes its reply into out; the first thread to find nobody
 * flushing becomes the flusher and writes until out is empty, so replies
 * queued meanwhile leave in one write.
 *
 * What stays true: every queued request holds one count of active, and a
 * thread that leaves a reply in out without flushing it knows that a later
 * request of the same connection, still counted in active, will flush it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "server_internal.h"

enum {
	CONN_IN_MIN = 16 * 1024,
	CONN_HTTP_HEAD_MAX = 8 * 1024,
	CONN_OUT_MAX = 1024 * 1024, /* unsent replies before reading pauses */
	CONN_OUT_KEEP = 64 * 1024,  /* larger idle output buffers are freed */
};

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
	uint64_t start = rpci_method_begin(m); /* counts the call */
	err = m->m->invoke(m->svc->handlers, m->svc->self,
	                   conn_value(m->m->args, req->args),
	                   conn_value(m->m->reply, req->reply));
	rpci_method_end(m, start, err);
	if (err != NULL) {
		const char *text = rpc_error_message(err);
		/* as Go: an error with empty text counts as success */
		if (text != NULL && text[0] != '\0')
			req->errmsg = conn_strdup(text);
		rpc_error_free(err);
	}
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
		err = codec->write(cstate, &h, req->method->m->reply,
		                   req->reply, out);
		if (err != NULL) {
			/* the reply could not be encoded: tell the caller why */
			h.error = rpc_error_message(err);
			rpc_error *err2 = codec->write(cstate, &h, NULL, NULL, out);
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
	if (req->reply != NULL)
		rpc_message_free_contents(req->reply);
	free(req->errmsg);
	free(req);
}

/* ---- lifetime ------------------------------------------------------------ */

static void conn_unref(rpci_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	if (c->codec != NULL)
		c->codec->state_free(c->cstate);
	rpci_buf_fini(&c->out);
	rpci_buf_fini(&c->wbuf);
	free(c->in);
	pthread_mutex_destroy(&c->wmu);
	free(c);
}

/* conn_finish runs once, when the reader is gone and no call is left. */
static void conn_finish(rpci_conn *c)
{
	rpc_server *srv = c->srv;

	close(c->fd);
	c->fd = -1;
	pthread_mutex_lock(&srv->mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->n_conns--;
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

void rpci_conn_read_close(rpci_conn *c)
{
	if (c->read_closed)
		return;
	c->read_closed = true;
	epoll_ctl(c->loop->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	rpci_conn_call_done(c);
}

rpc_error *rpci_conn_start(rpc_server *srv, int fd, const rpc_codec *codec,
                           const rpci_http_paths *http, bool wait)
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
	pthread_mutex_init(&c->wmu, NULL);
	atomic_init(&c->refs, 1);
	err = codec->state_new(true, srv->max_frame, &c->cstate);
	if (err != NULL)
		goto fail;
	c->codec = codec;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err = rpci_error_errno(errno, "rpc: serve");
		goto fail;
	}
	atomic_init(&c->active, 1);
	atomic_init(&c->refs, wait ? 2 : 1);
	c->loop = &srv->loops[atomic_fetch_add(&srv->next_loop, 1) %
	                      srv->n_loops];

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
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	err = NULL;
	if (epoll_ctl(c->loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = rpci_error_errno(errno, "rpc: serve: epoll");
		c->read_closed = true; /* never polled */
	}
	pthread_mutex_unlock(&srv->mu);
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
	conn_unref(c);
	close(fd);
	return err;
}

/* ---- reading ------------------------------------------------------------- */

/* conn_keep keeps the unconsumed tail p[0..n) of a read in c->in. */
static bool conn_keep(rpci_conn *c, const uint8_t *p, size_t n)
{
	if (n > c->in_cap) {
		size_t cap = n < CONN_IN_MIN ? CONN_IN_MIN : n;
		uint8_t *q = realloc(c->in, cap);
		if (q == NULL)
			return false;
		c->in = q;
		c->in_cap = cap;
	}
	memmove(c->in, p, n);
	c->in_len = n;
	return true;
}

/* conn_in_room makes at least CONN_IN_MIN/4 bytes free at the end of in,
 * refusing to hold more than one maximal frame. */
static bool conn_in_room(rpci_conn *c)
{
	if (c->in_cap - c->in_len >= CONN_IN_MIN / 4)
		return true;
	if (c->in_len > c->srv->max_frame + CONN_IN_MIN)
		return false;
	size_t cap = c->in_cap == 0 ? CONN_IN_MIN : c->in_cap * 2;
	uint8_t *p = realloc(c->in, cap);
	if (p == NULL)
		return false;
	c->in = p;
	c->in_cap = cap;
	return true;
}

static void conn_log_error(rpci_conn *c, const char *what, rpc_error *err)
{
	rpci_server_log(c->srv, "%s: %s", what, rpc_error_message(err));
	rpc_error_free(err);
}

/* conn_consume turns the complete requests at the start of p[0..len) into
 * queued requests. Returns the bytes consumed, or SIZE_MAX when the
 * connection is to end. */
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
		if (!complete)
			return len > CONN_HTTP_HEAD_MAX ? SIZE_MAX : 0;
		if (!rpci_http_serve_head(c, p, len, &off))
			return SIZE_MAX;
	}

	while (off < len) {
		rpci_msg msg;
		rpc_error *err = NULL;
		size_t used = 0;
		rpci_read_status st;

		memset(&msg, 0, sizeof(msg));
		st = c->codec->read(c->cstate, p + off, len - off, &used, &msg,
		                    &err);
		if (st == RPCI_READ_AGAIN)
			break;
		if (st == RPCI_READ_ERROR) {
			if (err != NULL)
				conn_log_error(c, "rpc: reading request", err);
			return SIZE_MAX;
		}
		off += used;
		rpci_req *req = rpci_req_prepare(c->srv, c->codec, c->cstate,
		                                 &msg);
		c->codec->msg_clear(c->cstate, &msg);
		if (req == NULL) {
			rpci_server_log(c->srv, "rpc: out of memory");
			return SIZE_MAX;
		}
		req->conn = c;
		atomic_fetch_add(&c->active, 1);
		**tail = req;
		*tail = &req->next;
	}
	return off;
}

void rpci_conn_readable(rpci_conn *c, uint32_t events, uint8_t *scratch,
                        size_t scratch_cap, rpci_req ***tail)
{
	uint8_t *buf;
	size_t len, used;
	ssize_t n;

	if (c->read_closed)
		return;
	/* Back-pressure: a peer that sends requests but does not read the
	 * replies is not read from until they drain (conn_flush resumes). A
	 * peer that hung up is read to the end. */
	if ((events & (EPOLLHUP | EPOLLERR)) == 0) {
		pthread_mutex_lock(&c->wmu);
		if (c->out.len + c->wbuf.len >= CONN_OUT_MAX && !c->wdead) {
			struct epoll_event ev = {.events = 0, .data.ptr = c};
			c->paused = true;
			epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			pthread_mutex_unlock(&c->wmu);
			return;
		}
		pthread_mutex_unlock(&c->wmu);
	}
	/* Bytes go to the loop's scratch buffer unless part of a request is
	 * already waiting in c->in; so an idle connection holds no buffer. */
	if (c->in_len > 0) {
		if (!conn_in_room(c)) {
			rpci_server_log(c->srv, "rpc: request too large");
			rpci_conn_read_close(c);
			return;
		}
		buf = c->in;
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
	} else {
		buf = scratch;
		n = read(c->fd, scratch, scratch_cap);
	}
	if (n == 0) {
		rpci_conn_read_close(c);
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno != ECONNRESET)
			rpci_server_log(c->srv, "rpc: read: %s",
			                strerror(errno));
		rpci_conn_read_close(c);
		return;
	}
	rpci_count(&c->srv->bytes_in, (uint64_t)n);
	len = (buf == c->in ? c->in_len : 0) + (size_t)n;

	used = conn_consume(c, buf, len, tail);
	if (used == SIZE_MAX) {
		rpci_conn_read_close(c);
		return;
	}
	if (used == len && buf == c->in) {
		free(c->in);
		c->in = NULL;
		c->in_cap = c->in_len = 0;
	} else if (used < len && !conn_keep(c, buf + used, len - used)) {
		rpci_server_log(c->srv, "rpc: out of memory");
		rpci_conn_read_close(c);
	}
}

/* ---- writing ------------------------------------------------------------- */

bool rpci_write_all(int fd, const uint8_t *p, size_t n)
{
	return rpci_write_all_timed(fd, p, n, -1);
}

bool rpci_write_all_timed(int fd, const uint8_t *p, size_t n, int timeout_ms)
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
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int r = poll(&pfd, 1, timeout_ms);
			if ((r < 0 && errno != EINTR) || r == 0)
				return false; /* r == 0: timed out */
			continue;
		}
		return false;
	}
	return true;
}

void rpci_conn_reply(rpci_conn *c, rpci_req *req)
{
	pthread_mutex_lock(&c->wmu);
	if (!c->wdead)
		rpci_req_encode(req, c->codec, c->cstate, &c->out);
	pthread_mutex_unlock(&c->wmu);
	rpci_req_free(req);
}

void rpci_conn_flush(rpci_conn *c)
{
	pthread_mutex_lock(&c->wmu);
	if (c->flushing || c->out.len == 0) {
		pthread_mutex_unlock(&c->wmu);
		return;
	}
	c->flushing = true;
	while (c->out.len > 0 && !c->wdead) {
		rpci_buf t = c->wbuf;
		c->wbuf = c->out;
		c->out = t;
		c->out.len = 0;
		pthread_mutex_unlock(&c->wmu);
		bool ok = rpci_write_all(c->fd, c->wbuf.data, c->wbuf.len);
		rpci_count(&c->srv->bytes_out, ok ? c->wbuf.len : 0);
		pthread_mutex_lock(&c->wmu);
		c->wbuf.len = 0;
		if (!ok) {
			c->wdead = true;
			c->out.len = 0;
		}
		if (c->paused && (c->wdead || c->out.len < CONN_OUT_MAX / 2)) {
			/* the reader may be gone (ENOENT): then this is moot */
			struct epoll_event ev = {.events = EPOLLIN,
			                         .data.ptr = c};
			c->paused = false;
			epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->fd, &ev);
		}
	}
	if (c->wbuf.cap > CONN_OUT_KEEP)
		rpci_buf_fini(&c->wbuf);
	if (c->out.len == 0 && c->out.cap > CONN_OUT_KEEP)
		rpci_buf_fini(&c->out);
	c->flushing = false;
	pthread_mutex_unlock(&c->wmu);
}
