/* done.c - where asynchronous calls complete: a queue or a callback; and
 * the completion of blocking and owned calls, which wake their waiter.
 *
 * A queue's eventfd is readable exactly while the queue is non-empty: it is
 * signalled when the first call arrives and drained when the last one is
 * taken, both under the queue's lock, so a burst of completions costs one
 * write and one read, not one per call. The eventfd is only made when
 * rpc_done_fd is first asked for, so a queue that is only waited on with
 * rpc_done_wait costs no eventfd syscalls at all.
 *
 * A call's completed flag is set before it is delivered, so that
 * rpc_call_cancel can tell a finished call without touching its client
 * (which may be gone by then). An owned call (started with no done) keeps
 * its waiter beside it; rpc_call_wait sleeps on it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "pending.h"

struct rpc_done {
	void (*cb)(rpc_call *call, void *ud); /* NULL for a queue */
	void *ud;
	pthread_mutex_t mu; /* protects head, tail */
	pthread_cond_t cv;  /* signalled when a call is queued */
	rpc_call *head, *tail;
	unsigned waiting; /* threads inside a wait on cv; guarded by mu */
	int efd;          /* -1 until rpc_done_fd; guarded by mu */
	bool forward;     /* rpci_done_new_forward: cb hands calls on at once */
};

rpc_done *rpc_done_new_queue(void)
{
	pthread_condattr_t attr;
	rpc_done *d = calloc(1, sizeof *d);

	if (d == NULL)
		return NULL;
	d->efd = -1;
	if (pthread_mutex_init(&d->mu, NULL) != 0)
		goto fail_mu;
	if (pthread_condattr_init(&attr) != 0)
		goto fail_attr;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&d->cv, &attr) != 0)
		goto fail_cv;
	pthread_condattr_destroy(&attr);
	return d;

fail_cv:
	pthread_condattr_destroy(&attr);
fail_attr:
	pthread_mutex_destroy(&d->mu);
fail_mu:
	free(d);
	return NULL;
}

rpc_done *rpc_done_new_callback(void (*cb)(rpc_call *call, void *ud), void *ud)
{
	rpc_done *d;

	if (cb == NULL)
		return NULL;
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return NULL;
	d->cb = cb;
	d->ud = ud;
	d->efd = -1;
	return d;
}

static void done_signal(int efd)
{
	uint64_t one = 1;
	ssize_t n;

	do
		n = write(efd, &one, sizeof one);
	while (n < 0 && errno == EINTR);
}

rpc_done *rpci_done_new_forward(void (*cb)(rpc_call *call, void *ud), void *ud)
{
	rpc_done *d = rpc_done_new_callback(cb, ud);

	if (d != NULL)
		d->forward = true;
	return d;
}

int rpc_done_fd(rpc_done *d)
{
	int fd;

	if (d->cb != NULL)
		return -1;
	pthread_mutex_lock(&d->mu);
	if (d->efd < 0) {
		d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->efd >= 0 && d->head != NULL)
			done_signal(d->efd);
	}
	fd = d->efd;
	pthread_mutex_unlock(&d->mu);
	return fd;
}

bool rpci_done_is_callback(const rpc_done *d)
{
	return d->cb != NULL && !d->forward;
}

/* done_append queues the calls first..last (linked through next) on the
 * queue d. */
static void done_append(rpc_done *d, rpc_call *first, rpc_call *last)
{
	last->next = NULL;
	pthread_mutex_lock(&d->mu);
	if (d->tail == NULL) {
		d->head = first;
		if (d->efd >= 0)
			done_signal(d->efd);
	} else {
		d->tail->next = first;
	}
	d->tail = last;
	/* Nobody waiting (the consumer is busy with earlier calls): no
	 * wake-up to pay for. */
	if (d->waiting > 0)
		pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static void done_deliver(rpc_done *d, rpc_call *call)
{
	if (d->cb != NULL)
		d->cb(call, d->ud);
	else
		done_append(d, call, call);
}

void rpci_call_complete(rpc_call *call)
{
	rpci_sync *s = call->sync;

	atomic_store_explicit(&call->completed, true, memory_order_release);
	if (s == NULL) {
		done_deliver(call->done, call);
		return;
	}
	pthread_mutex_lock(&s->mu);
	s->completed = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void rpci_calls_complete(rpc_call *list)
{
	rpc_call *first, *last;
	rpc_done *d;

	while ((first = list) != NULL) {
		d = first->done;
		list = first->next;
		first->next = NULL;
		if (first->sync != NULL || d == NULL || d->cb != NULL) {
			rpci_call_complete(first);
			continue;
		}
		last = first;
		atomic_store_explicit(&first->completed, true,
		                      memory_order_release);
		while (list != NULL && list->done == d && list->sync == NULL) {
			atomic_store_explicit(&list->completed, true,
			                      memory_order_release);
			last->next = list;
			last = list;
			list = list->next;
		}
		done_append(d, first, last);
	}
}

/* done_deadline is now plus ms on the monotonic clock. */
static struct timespec done_deadline(int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

bool rpc_call_wait(rpc_call *call, int timeout_ms)
{
	rpci_sync *s = call->sync;
	struct timespec until;
	bool done;

	if (!call->owned)
		return atomic_load_explicit(&call->completed,
		                            memory_order_acquire);
	if (timeout_ms > 0)
		until = done_deadline(timeout_ms);
	pthread_mutex_lock(&s->mu);
	while (!s->completed && timeout_ms != 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&s->cv, &s->mu);
		else if (pthread_cond_timedwait(&s->cv, &s->mu, &until) ==
		         ETIMEDOUT)
			break;
	}
	done = s->completed;
	pthread_mutex_unlock(&s->mu);
	return done;
}

/* done_pop takes the head; d->mu is held. */
static rpc_call *done_pop(rpc_done *d)
{
	rpc_call *call = d->head;
	uint64_t count;

	if (call == NULL)
		return NULL;
	d->head = call->next;
	call->next = NULL;
	if (d->head == NULL) {
		d->tail = NULL;
		while (d->efd >= 0 && read(d->efd, &count, sizeof count) < 0 &&
		       errno == EINTR)
			;
	}
	return call;
}

rpc_call *rpc_done_next(rpc_done *d)
{
	rpc_call *call;

	if (d->cb != NULL)
		return NULL;
	pthread_mutex_lock(&d->mu);
	call = done_pop(d);
	pthread_mutex_unlock(&d->mu);
	return call;
}

rpc_call *rpc_done_wait(rpc_done *d, int timeout_ms)
{
	struct timespec deadline;
	rpc_call *call;

	if (d->cb != NULL)
		return NULL;
	if (timeout_ms > 0)
		deadline = done_deadline(timeout_ms);
	pthread_mutex_lock(&d->mu);
	while (d->head == NULL && timeout_ms != 0) {
		int rc = 0;

		d->waiting++;
		if (timeout_ms < 0)
			pthread_cond_wait(&d->cv, &d->mu);
		else
			rc = pthread_cond_timedwait(&d->cv, &d->mu, &deadline);
		d->waiting--;
		if (rc == ETIMEDOUT)
			break;
	}
	call = done_pop(d);
	pthread_mutex_unlock(&d->mu);
	return call;
}

void rpc_done_free(rpc_done *d)
{
	rpc_call *call;

	if (d == NULL)
		return;
	if (d->cb == NULL) {
		while ((call = d->head) != NULL) {
			d->head = call->next;
			rpc_call_free(call);
		}
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		if (d->efd >= 0)
			close(d->efd);
	}
	free(d);
}

const rpc_error *rpc_call_error(const rpc_call *call)
{
	return call->err;
}

void *rpc_call_reply(const rpc_call *call)
{
	return call->reply;
}

const char *rpc_call_service_method(const rpc_call *call)
{
	return call->service_method;
}

void rpc_call_free(rpc_call *call)
{
	if (call == NULL)
		return;
	if (call->owned) {
		/* Not completed yet: end it; if its reply is being decoded,
		 * that finishes first. */
		rpc_call_cancel(call);
		rpc_call_wait(call, -1);
		pthread_cond_destroy(&call->sync->cv);
		pthread_mutex_destroy(&call->sync->mu);
	}
	rpc_error_free(call->err);
	free(call); /* the service-method string (and an owned call's
	               waiter) share the allocation */
}
