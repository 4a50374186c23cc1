/* client.c - the client: sequence numbers, pending calls, reading replies.
 *
 * A call takes the next sequence number and enters the pending table under
 * c->mu, then is encoded into the shared write buffer under c->wmu (held
 * across both, so requests leave in sequence order). Whoever finds no
 * flush in progress becomes the flusher and writes the buffer until it is
 * empty, so concurrent callers share one write (group commit) and no
 * caller waits on another's syscall for long. While the holder of the
 * reader role (below) is handling a batch of replies, requests are only
 * queued: it writes them all when the batch is done. A batch that
 * completed calls into done-queues (handed over together at its end, one
 * wake-up) waits for as many new requests as calls it completed, which is
 * what a pipelined caller sends: on a plain socket the reader thread
 * leaves it open and polls again, and the request that makes the count
 * writes them all (client_batch_end); with TLS the role holder lingers
 * for them (client_linger). Either waits CLIENT_LINGER_NS times
 * CLIENT_LINGER_WINDOWS at most (a consumer woken once for a whole batch
 * takes longer than one window to answer 128 calls); so 128 calls in
 * flight cost about one write and one read per 128 calls instead of one
 * write per call. When the wait runs out, batches are not held for the
 * next CLIENT_LINGER_BACKOFF, so callers that do not answer completions
 * with new calls lose little.
 *
 * Reading replies is a role one thread holds at a time (c->reading). The
 * client's reader thread (Go's input loop) takes it whenever calls are
 * pending and nobody else reads. A blocking call on a client with no
 * asynchronous call pending takes the role itself when it is free and reads
 * until its own reply has come, completing whatever other replies arrive
 * meanwhile; that saves two thread switches per call. It hands the role back
 * by waking the reader thread if calls are still pending. Whoever holds the
 * role when the connection ends marks the client shut down and completes
 * every pending call, under the same lock that admits new calls: a call is
 * either in the table before shutdown (and completed then) or refused at
 * once, never lost or completed twice. A failed write shuts the socket
 * down, which ends the reading, which fails the calls whose requests went
 * with it.
 *
 * Ending early. A call leaves the pending table exactly once, under c->mu,
 * and whoever takes it out completes it: the reply's reader, the end of
 * the connection, its deadline or rpc_call_cancel. The reader decodes into
 * the reply only a call it took out, so a call that ended early never has
 * its reply written; its late reply finds no call and is dropped. Deadlines
 * cost only the calls that have one. A blocking call watches its own: as
 * the reader it polls the socket until then, otherwise it sleeps on its
 * condition variable until then, and then takes itself out. Asynchronous
 * calls with a deadline sit in a min-heap (c->timers); the reader thread
 * watches the earliest, by polling the socket with a timeout while it
 * reads, or by a timed wait while it is parked. c->rtimer is the deadline
 * it is waiting for; a call with an earlier one wakes it (the condition
 * variable when parked, else c->wake_fd, an eventfd in its poll set).
 * Writes are bounded by SO_SNDTIMEO (write_timeout_ms): a server that
 * takes no byte for that long ends the connection, and the pending calls
 * fail with that timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "balancer.h"
#include "codec.h"
#include "internal.h"
#include "pending.h"
#include "tls.h"
#include "transport.h"

#define CLIENT_READ_CHUNK (64 * 1024)
/* CLIENT_READ_STEP bounds how far ahead of what has arrived the reply
 * buffer grows for a reply of known length (or what has arrived, when that
 * is more). The buffer is kept for the next reply, as Go's gob decoder
 * keeps its own: fresh pages for every large reply cost more than the
 * copy. */
#define CLIENT_READ_STEP (1024 * 1024)
/* How long the reader lingers after a batch of completions for the
 * requests they prompt, and how many batches it skips lingering after a
 * linger that was not worth it. */
#define CLIENT_LINGER_NS      50000L
#define CLIENT_LINGER_WINDOWS 4
#define CLIENT_LINGER_BACKOFF 64

struct rpc_client {
	rpci_balancer *bal; /* non-NULL: a balanced client (balancer.c), and
	                       nothing below is used */
	int fd;
	int wake_fd; /* eventfd: wakes the reader thread's poll */
	const rpc_codec *codec;
	void *cstate;
	pthread_t reader;
	int call_timeout_ms; /* 0: none */

	pthread_mutex_t mu; /* protects the fields down to rcv */
	uint64_t seq;
	rpci_pending pending;
	rpci_timers timers; /* asynchronous calls that have a deadline */
	int64_t rtimer;     /* the deadline the reader thread waits for */
	size_t n_async;     /* pending calls that complete through a done or
	                       are owned: those the reader thread serves */
	bool closing;       /* the user called close */
	bool shutdown;      /* the connection ended: no new calls */
	bool reading;       /* someone holds the reader role */
	bool parked;        /* the reader thread waits on rcv */
	pthread_cond_t rcv;

	/* The read side, used only by the holder of the reader role. */
	uint8_t *rbuf;
	size_t rlen, rcap;
	bool replied; /* a reply was read: the server speaks our codec */

	void (*log)(void *ud, const char *line);
	void *log_ud;

	pthread_mutex_t wmu; /* protects wbuf, wspare, flushing, wfailed,
	                        wtimeout, rbusy */
	rpci_buf wbuf;       /* encoded requests not yet written */
	rpci_buf wspare;     /* the flusher's buffer, swapped with wbuf */
	bool flushing;
	bool wfailed;
	rpc_error *wtimeout;  /* why writing failed, if it timed out */
	int write_timeout_ms; /* 0: none */
	bool rbusy;      /* the role holder handles replies and flushes after,
	                    or the batch is open (below) */
	bool rwaiting;   /* the role holder lingers on wcv (below) */
	size_t deferred; /* requests left for the role holder's flush */
	size_t want;     /* the count the lingering role holder waits for, or
	                    that closes an open batch */
	bool deferred_sync; /* a blocking call's request is among them */
	bool open;          /* a batch left open: the reader thread is back at
	                       its poll, and the request that makes deferred
	                       reach want writes them all (plain sockets) */
	int64_t open_until; /* when the reader thread closes it regardless */
	unsigned no_linger; /* batches to go before lingering again */
	pthread_cond_t wcv; /* deferred reached want */

	/* TLS (tls.c); ssl is NULL on a plain connection. tls_mu is held
	 * around every step on ssl: the reader role reads while the
	 * flusher writes. The socket is then non-blocking, and every wait
	 * is a poll. tls_rwant: the last read step waits for room to write
	 * (reader role only). */
	SSL *ssl;
	rpc_tls *tls; /* a reference, with ssl */
	pthread_mutex_t tls_mu;
	bool tls_rwant;
};

/* A wrapper message for an RPC_FORM_VALUE type, on the stack when small. */
typedef struct client_wrapper {
	union {
		ProtobufCMessage msg;
		max_align_t align;
		unsigned char bytes[128];
	} local;
	ProtobufCMessage *msg;
} client_wrapper;

static bool client_wrapper_init(client_wrapper *w, const rpc_type *t)
{
	const ProtobufCMessageDescriptor *desc = t->desc;

	if (desc->sizeof_message > sizeof w->local) {
		w->msg = rpci_message_new(desc);
		return w->msg != NULL;
	}
	w->msg = &w->local.msg;
	if (desc->message_init != NULL) {
		desc->message_init(w->msg);
	} else {
		memset(w->msg, 0, desc->sizeof_message);
		w->msg->descriptor = desc;
	}
	return true;
}

/* client_wrapper_fini frees a heap wrapper's struct; its contents belong
 * to whoever they were moved to. */
static void client_wrapper_fini(client_wrapper *w)
{
	if (w->msg != &w->local.msg)
		free(w->msg);
}

/* client_write_all writes p[0..n). A socket with a write timeout
 * (SO_SNDTIMEO) fails with EAGAIN when no byte could be written for that
 * long: an RPC_ERR_TIMEOUT error. */
static rpc_error *client_write_all(int fd, const uint8_t *p, size_t n,
                                   int timeout_ms)
{
	ssize_t k;

	while (n > 0) {
		k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == ENOTSOCK)
			k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return rpci_error(RPC_ERR_TIMEOUT,
				                  "rpc: write timed out (no "
				                  "progress in %d ms)",
				                  timeout_ms);
			return rpci_error_errno(errno, "rpc: write");
		}
		p += k;
		n -= (size_t)k;
	}
	return NULL;
}

/* client_tls_write_all is client_write_all through TLS: each step under
 * tls_mu, the waits for room (at most write_timeout_ms each) without it. */
static rpc_error *client_tls_write_all(rpc_client *c, const uint8_t *p,
                                       size_t n)
{
	int wait = c->write_timeout_ms > 0 ? c->write_timeout_ms : -1;
	rpc_error *err = NULL;

	while (n > 0) {
		size_t w;
		pthread_mutex_lock(&c->tls_mu);
		rpci_tls_status st = rpci_tls_write(c->ssl, p, n, &w, &err);
		pthread_mutex_unlock(&c->tls_mu);
		if (st == RPCI_TLS_OK) {
			p += w;
			n -= w;
			continue;
		}
		if (st == RPCI_TLS_ERROR)
			return err;
		if (!rpci_tls_wait(c->fd, st, wait))
			return errno == ETIMEDOUT
			           ? rpci_error(RPC_ERR_TIMEOUT,
			                        "rpc: write timed out (no "
			                        "progress in %d ms)",
			                        c->write_timeout_ms)
			           : rpci_error_errno(errno, "rpc: write");
	}
	return NULL;
}

/* client_recv reads as read(2) does, through TLS when c speaks it
 * (EAGAIN: nothing to read yet; a TLS error sets *err): as many records
 * as have come and fit, one lock. Reader role only. */
static ssize_t client_recv(rpc_client *c, void *p, size_t cap, rpc_error **err)
{
	rpci_tls_status st;
	size_t n, got = 0;

	if (c->ssl == NULL)
		return read(c->fd, p, cap);
	pthread_mutex_lock(&c->tls_mu);
	do {
		st = rpci_tls_read(c->ssl, (uint8_t *)p + got, cap - got, &n,
		                   err);
		got += n;
	} while (st == RPCI_TLS_OK && got < cap);
	pthread_mutex_unlock(&c->tls_mu);
	c->tls_rwant = st == RPCI_TLS_WANT_WRITE;
	/* An end or a wait shows at the next read; an error ends the
	 * connection now, with whatever came before it. */
	if (got > 0 && st != RPCI_TLS_ERROR)
		return (ssize_t)got;
	switch (st) {
	case RPCI_TLS_OK:
		return (ssize_t)got;
	case RPCI_TLS_EOF:
		return 0;
	case RPCI_TLS_WANT_READ:
	case RPCI_TLS_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	default:
		errno = EPROTO;
		return -1;
	}
}

/* client_tls_ready: a TLS read would return bytes OpenSSL already holds,
 * which no poll of the socket would announce. */
static bool client_tls_ready(rpc_client *c)
{
	bool ready;

	if (c->ssl == NULL)
		return false;
	pthread_mutex_lock(&c->tls_mu);
	ready = rpci_tls_pending(c->ssl);
	pthread_mutex_unlock(&c->tls_mu);
	return ready;
}

/* client_take takes the call under seq out of the pending table and the
 * timer heap; c->mu is held. NULL if it is no longer there: whoever took
 * it completes it. */
static rpc_call *client_take(rpc_client *c, uint64_t seq)
{
	rpc_call *call = rpci_pending_take(&c->pending, seq);

	if (call != NULL) {
		rpci_timers_remove(&c->timers, call);
		if (call->async)
			c->n_async--;
	}
	return call;
}

/* client_end_early completes a call taken out before its reply with an
 * error of kind; no lock held. */
static void client_end_early(rpc_client *c, rpc_call *call, rpc_error_kind kind)
{
	if (kind == RPC_ERR_TIMEOUT && c->log != NULL) {
		char line[320];

		snprintf(line, sizeof line,
		         "rpc: call %.200s (seq %llu) timed out; a late reply "
		         "is dropped",
		         call->service_method ? call->service_method : "?",
		         (unsigned long long)call->seq);
		c->log(c->log_ud, line);
	}
	call->err = rpci_error(kind, NULL);
	rpci_call_complete(call);
}

/* client_wake tells the reader thread about a deadline earlier than the
 * one it waits for; c->mu is held. */
static void client_wake(rpc_client *c, int64_t deadline)
{
	uint64_t one = 1;
	ssize_t n;

	if (deadline >= c->rtimer)
		return;
	c->rtimer = deadline; /* one wake-up is enough */
	if (c->parked) {
		pthread_cond_signal(&c->rcv);
		return;
	}
	do
		n = write(c->wake_fd, &one, sizeof one);
	while (n < 0 && errno == EINTR);
}

/* client_flush writes wbuf until it is empty; c->wmu is held and
 * c->flushing set by the caller. */
static void client_flush(rpc_client *c)
{
	rpci_buf out;
	rpc_error *err;

	while (c->wbuf.len > 0 && !c->wfailed) {
		out = c->wbuf;
		c->wbuf = c->wspare;
		c->wbuf.len = 0;
		pthread_mutex_unlock(&c->wmu);
		err = c->ssl != NULL
		          ? client_tls_write_all(c, out.data, out.len)
		          : client_write_all(c->fd, out.data, out.len,
		                             c->write_timeout_ms);
		pthread_mutex_lock(&c->wmu);
		out.len = 0;
		c->wspare = out;
		if (err != NULL) {
			/* The reader sees the socket end and fails every
			 * pending call, including the ones just lost (with
			 * this error if it is a timeout, which the end of
			 * file would not tell). */
			if (rpc_error_kind_of(err) == RPC_ERR_TIMEOUT &&
			    c->wtimeout == NULL)
				c->wtimeout = err;
			else
				rpc_error_free(err);
			c->wfailed = true;
			c->wbuf.len = 0;
			shutdown(c->fd, SHUT_RDWR);
		}
	}
}

/* client_unregister takes the call under seq back out of the pending
 * table; false if it was no longer there (the connection ended, its
 * deadline passed or it was cancelled, and it was completed). */
static bool client_unregister(rpc_client *c, uint64_t seq)
{
	rpc_call *found;

	pthread_mutex_lock(&c->mu);
	found = client_take(c, seq);
	pthread_mutex_unlock(&c->mu);
	return found != NULL;
}

/* client_send registers call under a new seq and sends its request, with
 * timeout_ms (0: none) as the time left. On success the call belongs to
 * whoever takes it out of the pending table, who completes it. A call
 * enters the pending table before it is encoded, so the reader finds it
 * whenever the reply comes; if encoding fails it leaves again, unless it
 * was completed first (then it has started after all). */
static void client_batch_close(rpc_client *c);

static rpc_error *client_send(rpc_client *c, rpc_call *call, const void *args,
                              int timeout_ms)
{
	const rpc_type *t = call->method->args;
	const ProtobufCMessage *body = args;
	client_wrapper w = {.msg = NULL};
	ProtobufCMessage *armed = NULL; /* owned: body with its arrays armed */
	rpci_header h = {.service_method = call->service_method};
	bool async = call->async;
	bool timed = async && call->deadline != 0;
	rpc_error *err = NULL;

	if (t->form == RPC_FORM_VALUE) {
		if (!client_wrapper_init(&w, t))
			return rpci_error(RPC_ERR_NOMEM, NULL);
		rpci_value_wrap(t, w.msg, args);
		body = w.msg;
	} else if (!rpci_arrays_arm(body, &armed)) {
		return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	pthread_mutex_lock(&c->wmu);
	pthread_mutex_lock(&c->mu);
	if (c->closing || c->shutdown) {
		err = rpci_error(RPC_ERR_SHUTDOWN, NULL);
	} else if ((timed && !rpci_timers_reserve(&c->timers)) ||
	           !rpci_pending_put(&c->pending, c->seq, call)) {
		err = rpci_error(RPC_ERR_NOMEM, NULL);
	} else {
		h.seq = call->seq = c->seq++;
		h.timeout_us = (uint64_t)timeout_ms * 1000;
		if (async)
			c->n_async++;
		/* A blocking call reads for itself, or the reader hands the
		 * role on when it leaves; an asynchronous one needs the
		 * reader thread. */
		if (async && c->parked && !c->reading)
			pthread_cond_signal(&c->rcv);
		if (timed) {
			rpci_timers_add(&c->timers, call);
			client_wake(c, call->deadline);
		}
	}
	pthread_mutex_unlock(&c->mu);
	/* From here on call may complete (and be freed) at any time. */
	if (err == NULL) {
		err = c->codec->write(c->cstate, &h, t,
		                      armed != NULL ? armed : body, &c->wbuf);
		if (err != NULL && !client_unregister(c, h.seq)) {
			/* The connection ended meanwhile and completed the
			 * call: it has started after all. */
			rpc_error_free(err);
			err = NULL;
		}
	}
	/* While the role holder handles a batch of replies, requests wait
	 * for its flush at the end of the batch: callers that answer
	 * completions with new calls then share one write. */
	if (err == NULL && !c->flushing && !c->rbusy) {
		c->flushing = true;
		client_flush(c);
		c->flushing = false;
	} else if (err == NULL && c->rbusy) {
		c->deferred++;
		/* A blocking call does not wait in an open batch: its caller
		 * may lead the reading next, and nobody would write. */
		c->deferred_sync |= !async;
		if (c->open && (c->deferred >= c->want || !async))
			client_batch_close(c);
		else if (c->deferred >= c->want && c->rwaiting)
			pthread_cond_signal(&c->wcv);
	}
	pthread_mutex_unlock(&c->wmu);
	if (w.msg != NULL)
		client_wrapper_fini(&w);
	rpci_message_free(armed);
	return err;
}

/* client_decode reads msg's body into call's reply. */
static rpc_error *client_decode(rpc_client *c, rpci_msg *msg, rpc_call *call)
{
	const rpc_type *t = call->method->reply;
	client_wrapper w;
	rpc_error *err;

	if (t->form != RPC_FORM_VALUE) {
		/* The reply is overwritten (rpc.h): reset it, so that fields a
		 * gob or JSON body leaves out read as zero, not as whatever the
		 * caller had there. */
		t->desc->message_init((ProtobufCMessage *)call->reply);
		err = c->codec->read_body(c->cstate, msg, t, call->reply);
		if (err == NULL &&
		    (err = rpci_arrays_settle(call->reply)) != NULL)
			rpc_message_free_contents(
			    call->reply); /* a wrong count */
		return err;
	}
	if (!client_wrapper_init(&w, t))
		return rpci_error(RPC_ERR_NOMEM, NULL);
	err = c->codec->read_body(c->cstate, msg, t, w.msg);
	if (err == NULL)
		err = rpci_value_unwrap(t, w.msg, call->reply);
	else
		rpc_message_free_contents(w.msg); /* whatever was decoded */
	client_wrapper_fini(&w);
	return err;
}

/* client_batch_begin opens the window in which requests wait for the
 * role holder's flush (see client_send); an open batch is the role
 * holder's again until its end. */
static void client_batch_begin(rpc_client *c)
{
	pthread_mutex_lock(&c->wmu);
	c->rbusy = true;
	c->open = false;
	pthread_mutex_unlock(&c->wmu);
}

/* client_batch_close ends the batch, writing what it deferred unless
 * another thread is already writing (which then writes it). c->wmu is
 * held. */
static void client_batch_close(rpc_client *c)
{
	bool busy = c->rbusy;

	/* before the flush, which lets go of wmu while it writes: a caller
	 * closing an open batch may meet the reader thread's next batch */
	c->open = false;
	c->want = 0;
	c->deferred = 0;
	c->deferred_sync = false;
	c->rbusy = false;
	if (busy && !c->flushing && c->wbuf.len > 0) {
		c->flushing = true;
		client_flush(c);
		c->flushing = false;
	}
}

/* client_linger waits, c->wmu held, up to CLIENT_LINGER_NS for the
 * callers of the queued completions of this batch to answer them with new
 * requests (one request per completion is the pattern of a pipelined
 * caller), so they leave in one write instead of one each. A linger that
 * times out short of that turns lingering off for a while. */
static void client_linger(rpc_client *c, size_t queued)
{
	struct timespec until;

	if (queued == 0 || c->deferred >= queued || !c->rbusy)
		return;
	if (c->no_linger > 0) {
		c->no_linger--;
		return;
	}
	c->want = queued;
	c->rwaiting = true;
	for (int window = 0; window < CLIENT_LINGER_WINDOWS; window++) {
		size_t seen = c->deferred;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += CLIENT_LINGER_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (c->deferred < queued)
			if (pthread_cond_timedwait(&c->wcv, &c->wmu, &until) !=
			    0)
				break;
		if (c->deferred >= queued || c->deferred == seen)
			break; /* all answered, or no answer for a window */
	}
	c->rwaiting = false;
	c->want = 0;
	if (c->deferred < queued)
		c->no_linger = CLIENT_LINGER_BACKOFF;
}

/* client_batch_end ends a batch that completed queued calls into
 * done-queues. On a plain socket the reader thread (open: true) leaves it
 * open instead, until as many requests have come as calls were completed:
 * their caller, woken once for the batch, then writes them all in one go
 * while the reader thread is back at its poll, and nobody sleeps on the
 * way (with TLS the role holder lingers for them, client_linger, as the
 * flush must wait for its read). An open batch that is not answered by
 * open_until is closed by the reader thread, which then stops leaving
 * batches open for CLIENT_LINGER_BACKOFF batches. A batch holding a
 * blocking call's request is never left open: the reader thread may let
 * go of the role before that caller takes it to read its reply. */
static void client_batch_end(rpc_client *c, size_t queued, bool open)
{
	pthread_mutex_lock(&c->wmu);
	if (c->ssl != NULL) {
		client_linger(c, queued);
	} else if (open && queued > 0 && c->rbusy && c->no_linger > 0) {
		c->no_linger--;
	} else if (open && queued > 0 && c->rbusy && !c->deferred_sync) {
		c->want += queued;
		if (c->deferred < c->want) {
			c->open = true;
			c->open_until =
			    rpci_now_ns() +
			    CLIENT_LINGER_NS * CLIENT_LINGER_WINDOWS;
			pthread_mutex_unlock(&c->wmu);
			return;
		}
	}
	client_batch_close(c);
	pthread_mutex_unlock(&c->wmu);
}

/* client_batch_expire closes an open batch whose time is up (reader
 * thread). Returns when the reader thread must look again: the open
 * batch's deadline, or INT64_MAX. */
static int64_t client_batch_expire(rpc_client *c)
{
	int64_t next = INT64_MAX;

	pthread_mutex_lock(&c->wmu);
	if (c->open && rpci_now_ns() >= c->open_until) {
		c->no_linger = CLIENT_LINGER_BACKOFF;
		client_batch_close(c);
	} else if (c->open) {
		next = c->open_until;
	}
	pthread_mutex_unlock(&c->wmu);
	return next;
}

/* client_handle matches one reply to its call and completes it, or, when
 * the call goes to a done-queue, appends it to the batch at *tail (the
 * caller completes the batch with rpci_calls_complete). True if the call
 * went to a done-queue. */
static bool client_handle(rpc_client *c, rpci_msg *msg, rpc_call ***tail)
{
	bool queued;

	rpc_call *call;

	pthread_mutex_lock(&c->mu);
	call = client_take(c, msg->seq);
	pthread_mutex_unlock(&c->mu);
	/* A callback may block: nothing may wait for the batch's end
	 * meanwhile. */
	if (call != NULL && call->done != NULL &&
	    rpci_done_is_callback(call->done))
		client_batch_end(c, 0, false);
	if (call == NULL || (msg->error != NULL && msg->error[0] != '\0')) {
		/* No one to give the body to (a reply to a call that ended
		 * early, or an error reply): drain it. */
		rpc_error_free(c->codec->read_body(c->cstate, msg, NULL, NULL));
		if (call == NULL)
			return false;
		call->err =
		    rpci_error(strcmp(msg->error, RPCI_DEADLINE_TEXT) == 0
		                   ? RPC_ERR_TIMEOUT
		                   : RPC_ERR_SERVER,
		               "%s", msg->error);
	} else {
		call->err = client_decode(c, msg, call);
	}
	queued = call->done != NULL && !rpci_done_is_callback(call->done);
	if (queued) {
		call->next = NULL;
		**tail = call;
		*tail = &call->next;
	} else {
		rpci_call_complete(call);
	}
	return queued;
}

/* client_end gives up the reader role because the connection ended for
 * err (NULL for end of file), marks the client shut down and completes
 * every pending call. Takes err. */
static void client_end(rpc_client *c, rpc_error *err)
{
	rpc_call *list = NULL, *call;
	bool closing;

	if (err == NULL) {
		pthread_mutex_lock(&c->wmu);
		if (c->wtimeout != NULL)
			err = rpci_error_dup(c->wtimeout);
		pthread_mutex_unlock(&c->wmu);
	}
	pthread_mutex_lock(&c->mu);
	c->reading = false;
	c->shutdown = true;
	closing = c->closing;
	while ((call = rpci_pending_take_any(&c->pending)) != NULL) {
		rpci_timers_remove(&c->timers, call);
		call->next = list;
		list = call;
	}
	c->n_async = 0;
	pthread_cond_signal(&c->rcv); /* the reader thread may exit */
	pthread_mutex_unlock(&c->mu);
	if (err != NULL && !closing && c->log != NULL) {
		char line[512];

		snprintf(line, sizeof line, "rpc: client protocol error: %s",
		         rpc_error_message(err));
		c->log(c->log_ud, line);
	}
	while ((call = list) != NULL) {
		list = call->next;
		call->next = NULL;
		if (closing)
			call->err = rpci_error(RPC_ERR_SHUTDOWN, NULL);
		else if (err == NULL)
			call->err = rpci_error(RPC_ERR_UNEXPECTED_EOF, NULL);
		else
			call->err = rpci_error_dup(err);
		rpci_call_complete(call);
	}
	rpc_error_free(err);
}

/* client_mismatch looks at the server's first bytes, c->rbuf[0..rlen),
 * which the codec could not read (failed), wants more of, or that the
 * connection ended in. When they are another protocol's it returns the
 * error that names the mismatch, else NULL. Only called before the first
 * reply. */
static rpc_error *client_mismatch(rpc_client *c, bool failed)
{
	rpci_sniff_kind kind = rpci_sniff(c->rbuf, c->rlen);
	const rpc_codec *peer = rpci_sniff_codec(kind);
	const char *own = c->codec->name;
	char line[80];

	if (kind == RPCI_SNIFF_UNKNOWN || kind == RPCI_SNIFF_MORE ||
	    peer == c->codec)
		return NULL;
	/* as the server's conn_mismatch: only gob's wait is cut short */
	if (!failed && c->codec != &rpc_codec_gob)
		return NULL;
	if (kind == RPCI_SNIFF_HTTP_RESPONSE && !failed &&
	    memchr(c->rbuf, '\n', c->rlen) == NULL && c->rlen < 1024)
		return NULL; /* wait for the status line, to show it */
	switch (kind) {
	case RPCI_SNIFF_HTTP_RESPONSE:
		return rpci_error(
		    RPC_ERR_PROTOCOL,
		    "rpc: the server answered with HTTP: %s (dial "
		    "with rpc_dial_http?)",
		    rpci_sniff_line(c->rbuf, c->rlen, line, sizeof line));
	case RPCI_SNIFF_HTTP_REQUEST:
		return rpci_error(
		    RPC_ERR_PROTOCOL,
		    "rpc: the server sent an HTTP request: %s",
		    rpci_sniff_line(c->rbuf, c->rlen, line, sizeof line));
	case RPCI_SNIFF_TLS_HELLO:
	case RPCI_SNIFF_TLS_ALERT:
		return rpci_error(
		    RPC_ERR_PROTOCOL,
		    "rpc: the server answered with TLS; this client "
		    "speaks plain %s",
		    own);
	default:
		return rpci_error(RPC_ERR_PROTOCOL,
		                  "rpc: the server answered in %s; this client "
		                  "speaks %s (rpc_client_options.codec)",
		                  peer->name, own);
	}
}

/* client_read_room makes room in c->rbuf for the next read. Once the codec
 * knows the length of the reply waiting there (codec.h, need), the buffer
 * grows at once to hold all of it (by at most CLIENT_READ_STEP or what has
 * arrived, whichever is more, at a time), so the rest is read straight into
 * place; else it doubles when full. It never shrinks. From RPCI_BIG bytes
 * on it is a big block (big.c). */
static bool client_read_room(rpc_client *c)
{
	size_t need = 0, cap = c->rcap;
	uint8_t *grown;

	if (c->codec->need != NULL)
		need = c->codec->need(c->cstate, c->rbuf, c->rlen);
	if (need > c->rlen) {
		size_t step =
		    c->rlen > CLIENT_READ_STEP ? c->rlen : CLIENT_READ_STEP;
		cap = need - c->rlen > step ? c->rlen + step : need;
		if (cap < c->rcap)
			cap = c->rcap;
	}
	if (cap == c->rlen)
		cap = c->rcap > SIZE_MAX / 2 ? 0 : c->rcap * 2;
	if (cap == c->rcap)
		return true;
	grown = cap == 0 ? NULL : rpci_big_realloc(c->rbuf, c->rlen, cap);
	if (grown == NULL)
		return false;
	c->rbuf = grown;
	c->rcap = cap;
	return true;
}

/* client_read_some reads once from the connection and handles every whole
 * reply that has arrived. The caller holds the reader role. Returns false
 * when the connection has ended; *err is then why (NULL: end of file). */
static bool client_read_some(rpc_client *c, bool reader, rpc_error **err)
{
	size_t off = 0, used, queued = 0;
	rpc_call *batch = NULL, **tail = &batch;
	rpci_read_status st;
	rpci_msg msg;
	ssize_t n;

	*err = NULL;
	if (!client_read_room(c)) {
		*err = rpci_error(RPC_ERR_NOMEM, NULL);
		return false;
	}
	/* Under TLS the batch opens before the read: requests made while
	 * the reader holds the SSL wait for its flush instead of for the
	 * lock. */
	if (c->ssl != NULL)
		client_batch_begin(c);
	n = client_recv(c, c->rbuf + c->rlen, c->rcap - c->rlen, err);
	if (n <= 0 && c->ssl != NULL) {
		int e = errno;
		client_batch_end(c, 0, false);
		errno = e;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n < 0 && *err != NULL)
		return false; /* TLS said why */
	if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE))) {
		/* the connection is gone: unexpected EOF, unless what came
		 * before says why */
		if (!c->replied && c->rlen > 0)
			*err = client_mismatch(c, true);
		return false;
	}
	if (n < 0) {
		*err = rpci_error_errno(errno, "rpc: read");
		return false;
	}
	c->rlen += (size_t)n;
	if (c->ssl == NULL)
		client_batch_begin(c);
	for (;;) {
		memset(&msg, 0, sizeof msg);
		st = c->codec->read(c->cstate, c->rbuf + off, c->rlen - off,
		                    &used, &msg, err);
		if (st != RPCI_READ_OK)
			break;
		off += used;
		c->replied = true;
		if (client_handle(c, &msg, &tail))
			queued++;
		c->codec->msg_clear(c->cstate, &msg);
	}
	/* The calls of done-queues are handed over together, after the
	 * whole read: a consumer woken by the first of them would otherwise
	 * contend with this thread for the queue's lock, and for the
	 * client's as it answers with new calls, while the rest are decoded
	 * (perf and strace of 128 calls in flight: 0.11 futex calls per
	 * call, most of them such hand-offs). */
	rpci_calls_complete(batch);
	client_batch_end(c, queued, reader);
	if (!c->replied) {
		rpc_error *why = client_mismatch(c, st == RPCI_READ_ERROR);
		if (why != NULL) {
			rpc_error_free(*err);
			*err = why;
			return false;
		}
	}
	if (st == RPCI_READ_ERROR)
		return false;
	if (off > 0) {
		/* what is left is less than one reply: moved once */
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	return true;
}

/* client_expire takes out the calls whose deadline has passed; c->mu is
 * held. Returns them as a list (through call->next) to complete. */
static rpc_call *client_expire(rpc_client *c)
{
	rpc_call *list = NULL, *call;
	int64_t now;

	if (c->timers.count == 0)
		return NULL;
	now = rpci_now_ns();
	while ((call = rpci_timers_first(&c->timers)) != NULL &&
	       call->deadline <= now) {
		client_take(c, call->seq);
		call->next = list;
		list = call;
	}
	return list;
}

/* client_complete_expired completes a list of client_expire; no lock held. */
static void client_complete_expired(rpc_client *c, rpc_call *list)
{
	rpc_call *call;

	while ((call = list) != NULL) {
		list = call->next;
		call->next = NULL;
		client_end_early(c, call, RPC_ERR_TIMEOUT);
	}
}

/* client_poll_read waits until the socket is readable, the wake eventfd
 * fires or until (ns, INT64_MAX: none) passes, and reads if there is
 * something to read; an open batch's deadline (client_batch_end) ends the
 * wait too, to close it. The caller is the reader thread. Returns false
 * when the connection has ended, as client_read_some. */
static bool client_poll_read(rpc_client *c, int64_t until, rpc_error **err)
{
	struct pollfd p[2] = {
	    {.fd = c->fd, .events = c->tls_rwant ? POLLOUT : POLLIN},
	    {.fd = c->wake_fd, .events = POLLIN}};
	int64_t open_until = client_batch_expire(c);
	uint64_t count;
	int n;

	*err = NULL;
	if (client_tls_ready(c))
		return client_read_some(c, true, err);
	if (open_until < until) {
		/* a batch's deadline is a fraction of a millisecond away */
		int64_t left = open_until - rpci_now_ns();
		struct timespec ts = {0, left > 0 ? (long)left : 0};

		n = ppoll(p, 2, &ts, NULL);
	} else {
		n = poll(p, 2, rpci_ms_left(until));
	}
	if (n < 0 && errno != EINTR) {
		*err = rpci_error_errno(errno, "rpc: poll");
		return false;
	}
	if (n <= 0)
		return true;
	if (p[1].revents != 0)
		while (read(c->wake_fd, &count, sizeof count) < 0 &&
		       errno == EINTR)
			;
	if (p[0].revents != 0)
		return client_read_some(c, true, err);
	if (open_until != INT64_MAX)
		(void)client_batch_expire(c);
	return true;
}

static void *client_reader(void *arg)
{
	rpc_client *c = arg;
	rpc_call *expired;
	rpc_error *err;
	int64_t until;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		if ((expired = client_expire(c)) != NULL) {
			pthread_mutex_unlock(&c->mu);
			client_complete_expired(c, expired);
			pthread_mutex_lock(&c->mu);
			continue;
		}
		if (c->shutdown)
			break;
		until = c->timers.count > 0
		            ? rpci_timers_first(&c->timers)->deadline
		            : INT64_MAX;
		c->rtimer = until;
		if (c->reading || (c->pending.count == 0 && !c->closing)) {
			/* Someone else reads (a blocking caller), or there is
			 * nothing to read for: wait, minding the deadlines of
			 * asynchronous calls meanwhile. */
			c->parked = true;
			if (until == INT64_MAX) {
				pthread_cond_wait(&c->rcv, &c->mu);
			} else {
				struct timespec ts = {
				    .tv_sec = (time_t)(until / 1000000000),
				    .tv_nsec = (long)(until % 1000000000)};

				pthread_cond_timedwait(&c->rcv, &c->mu, &ts);
			}
			c->parked = false;
			continue;
		}
		c->reading = true;
		pthread_mutex_unlock(&c->mu);
		if (!client_poll_read(c, until, &err)) {
			client_end(c, err);
			return NULL;
		}
		pthread_mutex_lock(&c->mu);
		c->reading = false;
	}
	c->rtimer = INT64_MAX;
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static bool client_sync_done(rpci_sync *s)
{
	bool done;

	pthread_mutex_lock(&s->mu);
	done = s->completed;
	pthread_mutex_unlock(&s->mu);
	return done;
}

/* client_time_out ends the blocking call if it is still pending, as its
 * deadline has passed; no lock held. */
static void client_time_out(rpc_client *c, rpc_call *call)
{
	if (client_unregister(c, call->seq))
		client_end_early(c, call, RPC_ERR_TIMEOUT);
}

/* client_readable waits until the socket is readable or deadline (ns)
 * passes; false then. */
static bool client_readable(rpc_client *c, int64_t deadline)
{
	struct pollfd p = {.fd = c->fd,
	                   .events = c->tls_rwant ? POLLOUT : POLLIN};
	int n;

	if (client_tls_ready(c))
		return true;
	do
		n = poll(&p, 1, rpci_ms_left(deadline));
	while (n < 0 && errno == EINTR);
	return n != 0; /* an error: let the read tell */
}

/* client_wait waits for the blocking call to complete, reading replies
 * itself while it can (see the top of the file), until its deadline if it
 * has one. */
static void client_wait(rpc_client *c, rpc_call *call)
{
	rpci_sync *s = call->sync;
	struct timespec ts;
	rpc_error *err;
	bool lead;

	pthread_mutex_lock(&c->mu);
	lead = !c->reading && !c->shutdown && c->n_async == 0 &&
	       !client_sync_done(s);
	if (lead)
		c->reading = true;
	pthread_mutex_unlock(&c->mu);
	if (lead) {
		while (!client_sync_done(s)) {
			/* a TLS socket does not block: wait here */
			if ((call->deadline != 0 || c->ssl != NULL) &&
			    !client_readable(c, call->deadline != 0
			                            ? call->deadline
			                            : INT64_MAX)) {
				client_time_out(c, call);
				break;
			}
			if (!client_read_some(c, false, &err)) {
				client_end(c, err);
				lead = false;
				break;
			}
		}
	}
	if (lead) {
		pthread_mutex_lock(&c->mu);
		c->reading = false;
		if (c->parked && (c->pending.count > 0 || c->closing))
			pthread_cond_signal(&c->rcv);
		pthread_mutex_unlock(&c->mu);
	}
	pthread_mutex_lock(&s->mu);
	if (call->deadline != 0) {
		ts.tv_sec = (time_t)(call->deadline / 1000000000);
		ts.tv_nsec = (long)(call->deadline % 1000000000);
		while (!s->completed)
			if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) ==
			    ETIMEDOUT)
				break;
		if (!s->completed) {
			pthread_mutex_unlock(&s->mu);
			client_time_out(c, call);
			pthread_mutex_lock(&s->mu);
		}
	}
	/* Completed, or being completed by whoever took it out. */
	while (!s->completed)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

static int client_cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);

	if (rc != 0)
		return rc;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}

/* client_new makes a client on fd; with ssl (and tls, its configuration),
 * a TLS client on the connection whose handshake is done: it then owns
 * ssl and a reference to tls, on success only. */
static rpc_error *client_new(int fd, SSL *ssl, rpc_tls *tls,
                             const rpc_client_options *opts, rpc_client **out)
{
	rpc_client *c;
	rpc_error *err;
	sigset_t all, old;
	int rc, flags;

	*out = NULL;
	if (fd < 0)
		return rpci_error(RPC_ERR_INVALID, "rpc: invalid descriptor %d",
		                  fd);
	/* Reading and writing block; an event loop's descriptor may not.
	 * Under TLS the socket stays non-blocking and every wait polls. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || (ssl == NULL && (flags & O_NONBLOCK) != 0 &&
	                  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0))
		return rpci_error_errno(errno, "rpc: client descriptor");
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	c->fd = fd;
	c->wake_fd = -1;
	c->rtimer = INT64_MAX;
	if (opts != NULL) {
		c->log = opts->log;
		c->log_ud = opts->log_ud;
		if (opts->call_timeout_ms > 0)
			c->call_timeout_ms = opts->call_timeout_ms;
	}
	c->write_timeout_ms = RPC_DEFAULT_WRITE_TIMEOUT_MS;
	if (opts != NULL && opts->write_timeout_ms != 0)
		c->write_timeout_ms =
		    opts->write_timeout_ms > 0 ? opts->write_timeout_ms : 0;
	if (c->write_timeout_ms > 0 && ssl == NULL) {
		/* Bounds each write's wait for room; a descriptor that is not
		 * a socket keeps blocking writes. */
		struct timeval tv = {.tv_sec = c->write_timeout_ms / 1000,
		                     .tv_usec =
		                         (c->write_timeout_ms % 1000) * 1000};

		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	}
	c->codec = opts != NULL && opts->codec != NULL ? opts->codec
	                                               : &rpc_codec_protobuf;
	err = rpci_codec_check(c->codec);
	if (err != NULL)
		goto fail_state;
	err = c->codec->state_new(false,
	                          opts != NULL && opts->max_frame != 0
	                              ? opts->max_frame
	                              : RPC_DEFAULT_MAX_FRAME,
	                          &c->cstate);
	if (err != NULL)
		goto fail_state;
	rpci_pending_init(&c->pending);
	rpci_timers_init(&c->timers);
	if ((rc = pthread_mutex_init(&c->mu, NULL)) != 0)
		goto fail_mu;
	pthread_mutex_init(&c->tls_mu, NULL);
	c->ssl = ssl;
	if ((rc = pthread_mutex_init(&c->wmu, NULL)) != 0)
		goto fail_wmu;
	if ((rc = client_cond_init_mono(&c->rcv)) != 0)
		goto fail_rcv;
	if ((rc = client_cond_init_mono(&c->wcv)) != 0)
		goto fail_wcv;
	c->rcap = CLIENT_READ_CHUNK;
	c->rbuf = malloc(c->rcap);
	if (c->rbuf == NULL) {
		rc = ENOMEM;
		goto fail_rbuf;
	}
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		rc = errno;
		goto fail_wake;
	}
	/* The reader takes no signals: they belong to the application. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&c->reader, NULL, client_reader, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		goto fail_thread;
	c->tls = rpci_tls_ref(tls);
	*out = c;
	return NULL;

fail_thread:
	close(c->wake_fd);
fail_wake:
	rpci_big_free(c->rbuf);
fail_rbuf:
	pthread_cond_destroy(&c->wcv);
fail_wcv:
	pthread_cond_destroy(&c->rcv);
fail_rcv:
	pthread_mutex_destroy(&c->wmu);
fail_wmu:
	pthread_mutex_destroy(&c->tls_mu);
	pthread_mutex_destroy(&c->mu);
fail_mu:
	err = rc == ENOMEM ? rpci_error(RPC_ERR_NOMEM, NULL)
	                   : rpci_error_errno(rc, "rpc: client thread");
	c->codec->state_free(c->cstate);
fail_state:
	free(c);
	return err;
}

rpc_error *rpc_client_new_fd(int fd, const rpc_client_options *opts,
                             rpc_client **out)
{
	rpc_tls *tls;
	SSL *ssl;
	rpc_error *err;

	if (opts == NULL || opts->tls == NULL || fd < 0)
		return client_new(fd, NULL, NULL, opts, out);
	/* TLS: the handshake first, bounded as a dial's; no address, so
	 * the server is verified by opts->tls's server_name */
	*out = NULL;
	int ms = opts->dial_timeout_ms == 0 ? RPC_DEFAULT_DIAL_TIMEOUT_MS
	                                    : opts->dial_timeout_ms;
	err = rpci_client_tls_handshake(fd, NULL, opts, ms < 0 ? -1 : ms, &tls,
	                                &ssl);
	if (err != NULL)
		return err;
	err = client_new(fd, ssl, tls, opts, out);
	if (err != NULL)
		rpci_tls_ssl_free(ssl, false);
	rpc_tls_free(tls); /* the client took its own */
	return err;
}

bool rpci_client_wants_tls(const char *address, const rpc_client_options *opts)
{
	return (opts != NULL && opts->tls != NULL) ||
	       (address != NULL && strncmp(address, "tls:", 4) == 0);
}

rpc_error *rpci_client_tls_handshake(int fd, const char *address,
                                     const rpc_client_options *opts,
                                     int timeout_ms, rpc_tls **tls, SSL **ssl)
{
	char host[256], port[8];
	bool tcp = rpci_transport_host_port(address, host, sizeof host, port,
	                                    sizeof port);
	rpc_error *err;

	*ssl = NULL;
	*tls = NULL;
	if (opts != NULL && opts->tls != NULL) {
		*tls = rpci_tls_ref(opts->tls);
	} else {
		err = rpc_tls_client_new(NULL, tls);
		if (err != NULL)
			return err;
	}
	err = rpci_tls_connect(*tls, fd, tcp ? host : NULL, tcp ? port : NULL,
	                       timeout_ms, ssl);
	if (err != NULL) {
		rpc_tls_free(*tls);
		*tls = NULL;
	}
	return err;
}

rpc_error *rpci_client_new_tls(int fd, SSL *ssl, rpc_tls *tls,
                               const rpc_client_options *opts, rpc_client **out)
{
	return client_new(fd, ssl, tls, opts, out);
}

bool rpc_client_tls_info(rpc_client *c, rpc_tls_info *out)
{
	if (c == NULL || c->bal != NULL || c->ssl == NULL || out == NULL)
		return false;
	pthread_mutex_lock(&c->tls_mu);
	rpci_tls_describe(c->ssl, out);
	pthread_mutex_unlock(&c->tls_mu);
	return true;
}

/* client_dial_left is what is left of timeout_ms (as
 * rpc_client_options.dial_timeout_ms: 0 the default, negative none)
 * since start (ns, monotonic); at least 1 when there is a limit. */
static int client_dial_left(int timeout_ms, int64_t start)
{
	if (timeout_ms < 0)
		return -1;
	if (timeout_ms == 0)
		timeout_ms = RPC_DEFAULT_DIAL_TIMEOUT_MS;
	int left = rpci_ms_left(start + (int64_t)timeout_ms * 1000000);
	return left < 1 ? 1 : left;
}

rpc_error *rpc_dial(const char *address, const rpc_client_options *opts,
                    rpc_client **out)
{
	rpc_error *err;
	int fd;

	*out = NULL;
	if (address == NULL)
		return rpci_error(RPC_ERR_INVALID, "rpc: no address to dial");
	if (rpci_balancer_address(address))
		return rpc_dial_balanced(address, opts, NULL, out);
	int dial_ms = opts != NULL ? opts->dial_timeout_ms : 0;
	int64_t start = rpci_now_ns();
	err = rpci_transport_dial_opts(
	    address, dial_ms, opts == NULL || !opts->no_keepalive, &fd);
	if (err != NULL)
		return err;
	if (rpci_client_wants_tls(address, opts)) {
		rpc_tls *tls;
		SSL *ssl;
		err = rpci_client_tls_handshake(
		    fd, address, opts, client_dial_left(dial_ms, start), &tls,
		    &ssl);
		if (err == NULL) {
			err = client_new(fd, ssl, tls, opts, out);
			if (err != NULL)
				rpci_tls_ssl_free(ssl, false);
			rpc_tls_free(tls); /* the client took its own */
		}
	} else {
		err = rpc_client_new_fd(fd, opts, out);
	}
	if (err != NULL)
		close(fd);
	return err;
}

rpc_client *rpci_client_new_balanced(rpci_balancer *b)
{
	rpc_client *c = calloc(1, sizeof *c);

	if (c != NULL)
		c->bal = b;
	return c;
}

rpci_balancer *rpci_client_balancer(const rpc_client *c)
{
	return c->bal;
}

rpc_error *rpc_client_close(rpc_client *c)
{
	if (c->bal != NULL)
		return rpci_balancer_close(c->bal);
	pthread_mutex_lock(&c->mu);
	if (c->closing) {
		pthread_mutex_unlock(&c->mu);
		return rpci_error(RPC_ERR_SHUTDOWN, NULL);
	}
	c->closing = true;
	if (c->parked)
		pthread_cond_signal(&c->rcv);
	pthread_mutex_unlock(&c->mu);
	/* Ends the reader, which completes what is pending. The descriptor
	 * stays open until rpc_client_free so it cannot be reused meanwhile. */
	shutdown(c->fd, SHUT_RDWR);
	return NULL;
}

void rpc_client_free(rpc_client *c)
{
	if (c == NULL)
		return;
	if (c->bal != NULL) {
		rpci_balancer_free(c->bal);
		free(c);
		return;
	}
	rpc_error_free(rpc_client_close(c));
	pthread_join(c->reader, NULL);
	/* a client closed without a failure ends its session cleanly, so
	 * that the next dial resumes it */
	rpci_tls_ssl_free(c->ssl, !c->wfailed && c->closing);
	rpc_tls_free(c->tls);
	pthread_mutex_destroy(&c->tls_mu);
	close(c->fd);
	close(c->wake_fd);
	c->codec->state_free(c->cstate);
	rpci_pending_fini(&c->pending);
	rpci_timers_fini(&c->timers);
	rpci_buf_fini(&c->wbuf);
	rpci_buf_fini(&c->wspare);
	rpc_error_free(c->wtimeout);
	rpci_big_free(c->rbuf);
	pthread_cond_destroy(&c->wcv);
	pthread_cond_destroy(&c->rcv);
	pthread_mutex_destroy(&c->wmu);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static rpc_error *client_check(rpc_client *c, const char *service_method,
                               const rpc_method *m, const void *args,
                               void *reply)
{
	if (c == NULL || service_method == NULL || m == NULL ||
	    m->args == NULL || m->reply == NULL || args == NULL ||
	    reply == NULL)
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc: call needs a client, a service-method, "
		                  "a method, args and a reply");
	return NULL;
}

/* client_timeout_ms is a call's timeout: opts's, else the client's; 0:
 * none. */
static int client_timeout_ms(const rpc_client *c, const rpc_call_options *opts)
{
	if (opts == NULL || opts->timeout_ms == 0)
		return c->call_timeout_ms;
	return opts->timeout_ms > 0 ? opts->timeout_ms : 0;
}

/* client_join makes "service.method" in buf (n bytes) when it fits, else
 * in malloc'd memory the caller frees; NULL when out of memory. */
static char *client_join(char *buf, size_t n, const char *service,
                         const char *method)
{
	size_t ls = strlen(service), lm = strlen(method);
	char *s = ls + lm + 2 <= n ? buf : malloc(ls + lm + 2);

	if (s == NULL)
		return NULL;
	memcpy(s, service, ls);
	s[ls] = '.';
	memcpy(s + ls + 1, method, lm + 1);
	return s;
}

rpc_error *rpc_client_call(rpc_client *c, const char *service_method,
                           const rpc_method *m, const void *args, void *reply)
{
	return rpc_client_call_opts(c, service_method, m, NULL, args, reply);
}

rpc_error *rpc_client_call_opts(rpc_client *c, const char *service_method,
                                const rpc_method *m,
                                const rpc_call_options *opts, const void *args,
                                void *reply)
{
	rpci_sync sync = {.completed = false};
	rpc_call call = {
	    .service_method = service_method,
	    .method = m,
	    .reply = reply,
	    .sync = &sync,
	    .client = c,
	    .timer = RPCI_NO_TIMER,
	};
	rpc_error *err;
	int timeout_ms;

	if (opts != NULL && opts->service != NULL) {
		char buf[128], *sm;
		rpc_call_options o = *opts;

		if (m == NULL || m->name == NULL)
			return client_check(c, NULL, NULL, args, reply);
		sm = client_join(buf, sizeof buf, opts->service, m->name);
		if (sm == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
		o.service = NULL;
		err = rpc_client_call_opts(c, sm, m, &o, args, reply);
		if (sm != buf)
			free(sm);
		return err;
	}
	err = client_check(c, service_method, m, args, reply);
	if (err != NULL)
		return err;
	if (c->bal != NULL)
		return rpci_balancer_call(c->bal, service_method, m, opts, args,
		                          reply);
	timeout_ms = client_timeout_ms(c, opts);
	pthread_mutex_init(&sync.mu, NULL);
	if (timeout_ms > 0) {
		client_cond_init_mono(&sync.cv);
		call.deadline = rpci_now_ns() + (int64_t)timeout_ms * 1000000;
	} else {
		pthread_cond_init(&sync.cv, NULL);
	}
	err = client_send(c, &call, args, timeout_ms);
	if (err == NULL) {
		client_wait(c, &call);
		err = call.err;
	}
	pthread_cond_destroy(&sync.cv);
	pthread_mutex_destroy(&sync.mu);
	return err;
}

rpc_error *rpc_client_go(rpc_client *c, const char *service_method,
                         const rpc_method *m, const void *args, void *reply,
                         rpc_done *done, rpc_call **call)
{
	if (done == NULL) {
		if (call != NULL)
			*call = NULL;
		return rpci_error(RPC_ERR_INVALID, "rpc: go needs a done");
	}
	return rpc_client_go_opts(c, service_method, m, NULL, args, reply, done,
	                          call);
}

/* An owned call and its waiter, in one allocation with the call's
 * service-method. */
typedef struct client_owned {
	rpc_call call;
	rpci_sync sync;
} client_owned;

rpc_error *rpc_client_go_opts(rpc_client *c, const char *service_method,
                              const rpc_method *m, const rpc_call_options *opts,
                              const void *args, void *reply, rpc_done *done,
                              rpc_call **call)
{
	client_owned *o = NULL;
	rpc_call *k;
	rpc_error *err;
	size_t n, head;
	int timeout_ms;

	if (call != NULL)
		*call = NULL;
	if (opts != NULL && opts->service != NULL) {
		char buf[128], *sm;
		rpc_call_options o = *opts;

		if (m == NULL || m->name == NULL)
			return client_check(c, NULL, NULL, args, reply);
		sm = client_join(buf, sizeof buf, opts->service, m->name);
		if (sm == NULL)
			return rpci_error(RPC_ERR_NOMEM, NULL);
		o.service = NULL;
		err = rpc_client_go_opts(c, sm, m, &o, args, reply, done, call);
		if (sm != buf)
			free(sm);
		return err;
	}
	err = client_check(c, service_method, m, args, reply);
	if (err == NULL && done == NULL && call == NULL)
		err = rpci_error(RPC_ERR_INVALID,
		                 "rpc: go needs a done or a call to return");
	if (err != NULL)
		return err;
	if (c->bal != NULL)
		return rpci_balancer_go(c->bal, service_method, m, opts, args,
		                        reply, done, call);
	n = strlen(service_method) + 1;
	head = done == NULL ? sizeof *o : sizeof *k;
	k = malloc(head + n);
	if (k == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	memcpy((char *)k + head, service_method, n);
	*k = (rpc_call){
	    .service_method = (const char *)k + head,
	    .method = m,
	    .reply = reply,
	    .done = done,
	    .client = c,
	    .timer = RPCI_NO_TIMER,
	    .async = true,
	};
	atomic_init(&k->completed, false);
	if (done == NULL) {
		o = (client_owned *)k;
		o->sync.completed = false;
		if (pthread_mutex_init(&o->sync.mu, NULL) != 0) {
			free(k);
			return rpci_error(RPC_ERR_NOMEM, NULL);
		}
		if (client_cond_init_mono(&o->sync.cv) != 0) {
			pthread_mutex_destroy(&o->sync.mu);
			free(k);
			return rpci_error(RPC_ERR_NOMEM, NULL);
		}
		k->sync = &o->sync;
		k->owned = true;
	}
	timeout_ms = client_timeout_ms(c, opts);
	if (timeout_ms > 0)
		k->deadline = rpci_now_ns() + (int64_t)timeout_ms * 1000000;
	if (call != NULL)
		*call = k;
	err = client_send(c, k, args, timeout_ms);
	if (err != NULL) {
		if (call != NULL)
			*call = NULL;
		if (o != NULL) {
			pthread_cond_destroy(&o->sync.cv);
			pthread_mutex_destroy(&o->sync.mu);
		}
		free(k);
	}
	return err;
}

void rpc_call_cancel(rpc_call *call)
{
	rpc_client *c;
	rpc_call *found;

	if (call == NULL ||
	    atomic_load_explicit(&call->completed, memory_order_acquire))
		return;
	c = call->client;
	pthread_mutex_lock(&c->mu);
	found = client_take(c, call->seq);
	pthread_mutex_unlock(&c->mu);
	if (found != NULL)
		client_end_early(c, found, RPC_ERR_CANCELED);
}
