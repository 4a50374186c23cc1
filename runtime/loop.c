/* loop.c - event loops, the poller role and the monitor that hands it on.
 *
 * Each loop is an epoll set with one or more threads. At any time at most
 * one of them holds the poller role: it waits in epoll_wait, reads and
 * decodes what arrived (conn.c), queues the requests on the loop and then
 * runs them itself, one after another, encoding and writing each reply.
 * A request therefore goes from socket to handler to socket without
 * changing threads, which is what makes a synchronous call cheap.
 *
 * A handler may block. The monitor thread looks at every loop once per
 * tick; when the same call has been running since its last look, it takes
 * the role away (gen++) and gives it to an idle follower, or starts a new
 * thread, which goes on with the queue and the epoll set. The slow thread
 * finishes its call, writes its reply and becomes a follower. So a slow
 * handler delays other calls by about one tick, never more.
 *
 * Followers beyond one per loop leave after idling LOOP_IDLE_EXIT_S.
 *
 * While requests come in less than LOOP_SPIN_NS apart, the poller polls
 * epoll without sleeping for up to that long before it blocks: waking a
 * sleeping CPU (on a VM, an inter-processor interrupt and an exit) costs
 * the waking peer and the woken poller more than the polling does. The
 * first wait that finds nothing ends it, so an idle or quiet server never
 * polls, and a process allowed a single CPU never does (it would keep its
 * peer off the CPU). Vain spins in a row also keep the next short waits
 * from spinning, 0, 1, 3, 7 and at most 15 of them: with 128 calls in
 * flight the requests come in batches further apart than the window, and
 * the poller spent 0.48 epoll_wait calls per call (about a third of the
 * server's CPU) spinning in vain every other batch. A fixed backoff of 16
 * after any vain spin cut that to 0.03, but cost one connection making
 * one call at a time up to 30% of its calls per second, as its spins
 * mostly succeed and one miss then put 16 calls to sleep; a successful
 * spin starts the count again.
 *
 * Deadlines (conn.c) live in per-loop lists sorted by construction; the
 * poller expires them before each wait and waits no longer than the
 * nearest. A flusher that starts the first write deadline of a loop wakes
 * its poller. Connections that must be looked at without an epoll event
 * (reading resumes after a pause, a new connection's idle deadline) are
 * put on the loop's resume list, also with a wake-up.
 *
 * The monitor sleeps when nothing has run for a while; a poller that starts
 * a call wakes it. in_handler is set under the loop's mutex before the
 * poller looks at mon_idle, and the monitor sets mon_idle before it looks
 * at in_handler under the same mutex, so one of them always sees the other.
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "server_internal.h"

enum {
	LOOP_EVENTS = 64,
	LOOP_SCRATCH = 64 * 1024, /* bytes one read may bring */
	LOOP_TICK_US = 1000,      /* the monitor's period */
	LOOP_IDLE_TICKS = 200,    /* quiet ticks before the monitor sleeps */
	LOOP_IDLE_EXIT_S = 5,     /* an extra follower idle this long leaves */
	LOOP_SPIN_NS = 50000,     /* see loop_poll */
	LOOP_BUDGET_MS = 10,      /* recheck of the budget while paused */
};

rpc_error *rpci_loop_init(rpci_loop *lp, rpc_server *srv)
{
	memset(lp, 0, sizeof(*lp));
	lp->srv = srv;
	lp->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lp->epfd < 0)
		return rpci_error_errno(errno, "rpc: epoll_create1");
	lp->scratch = malloc(LOOP_SCRATCH);
	if (lp->scratch == NULL) {
		close(lp->epfd);
		return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	lp->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (lp->evfd < 0) {
		int e = errno;
		free(lp->scratch);
		close(lp->epfd);
		return rpci_error_errno(e, "rpc: eventfd");
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, lp->evfd, &ev) < 0) {
		int e = errno;
		close(lp->evfd);
		free(lp->scratch);
		close(lp->epfd);
		return rpci_error_errno(e, "rpc: epoll_ctl");
	}
	pthread_mutex_init(&lp->mu, NULL);
	pthread_cond_init(&lp->cv, NULL);
	pthread_mutex_init(&lp->tmu, NULL);
	atomic_init(&lp->has_wtimers, false);
	cpu_set_t cpus;
	/* Spinning on the only CPU would keep the peer off it. */
	lp->may_spin = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 &&
	               CPU_COUNT(&cpus) > 1;
	return NULL;
}

void rpci_loop_fini(rpci_loop *lp)
{
	close(lp->evfd);
	close(lp->epfd);
	free(lp->scratch);
	pthread_mutex_destroy(&lp->tmu);
	pthread_cond_destroy(&lp->cv);
	pthread_mutex_destroy(&lp->mu);
}

void rpci_loop_wake(rpci_loop *lp)
{
	uint64_t one = 1;
	ssize_t r = write(lp->evfd, &one, sizeof(one));
	(void)r; /* a full counter is still a wake-up */
}

void rpci_loop_stop(rpci_loop *lp)
{
	pthread_mutex_lock(&lp->mu);
	lp->stop = true;
	pthread_cond_broadcast(&lp->cv);
	pthread_mutex_unlock(&lp->mu);
	rpci_loop_wake(lp);
}

/* loop_close_conns stops reading every connection of lp (shutdown). */
static void loop_close_conns(rpci_loop *lp)
{
	rpc_server *srv = lp->srv;
	rpci_conn **v, *one;
	size_t n = 0;

	pthread_mutex_lock(&srv->mu);
	v = malloc((srv->n_conns + 1) * sizeof(*v));
	for (rpci_conn *c = srv->conns; v != NULL && c != NULL; c = c->next)
		if (c->loop == lp && !c->read_closed) {
			/* keep c alive: it may finish once read-closed */
			atomic_fetch_add(&c->active, 1);
			v[n++] = c;
		}
	pthread_mutex_unlock(&srv->mu);
	for (size_t i = 0; i < n; i++) {
		rpci_conn_read_close(v[i]);
		rpci_conn_call_done(v[i]);
	}
	free(v);
	if (v != NULL)
		return;
	/* out of memory: one connection per pass over the list */
	do {
		one = NULL;
		pthread_mutex_lock(&srv->mu);
		for (rpci_conn *c = srv->conns; c != NULL && one == NULL;
		     c = c->next)
			if (c->loop == lp && !c->read_closed) {
				atomic_fetch_add(&c->active, 1);
				one = c;
			}
		pthread_mutex_unlock(&srv->mu);
		if (one != NULL) {
			rpci_conn_read_close(one);
			rpci_conn_call_done(one);
		}
	} while (one != NULL);
}

static void loop_clock(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static long loop_ns(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000L +
	       (b->tv_nsec - a->tv_nsec);
}

/* loop_poll waits for events and queues what they bring. Called by the
 * role holder without lp->mu. */
static void loop_poll(rpci_loop *lp)
{
	struct epoll_event evs[LOOP_EVENTS];
	rpci_req *head = NULL, **tail = &head;
	struct timespec t0, t;
	int n;

	bool woken = false;
	int wait = -1;

	if (lp->rtimers.head != NULL || lp->itimers.head != NULL ||
	    lp->budget_paused > 0 || atomic_load(&lp->has_wtimers)) {
		wait = rpci_conn_timers(lp, rpci_now_ms());
		if (lp->budget_paused > 0) {
			rpci_conn_budget_resume(lp);
			if (lp->budget_paused > 0 &&
			    (wait < 0 || wait > LOOP_BUDGET_MS))
				wait = LOOP_BUDGET_MS;
		}
	}
	n = 0;
	if (lp->spin) {
		/* Requests have been coming faster than the spin window:
		 * look again for up to that long before sleeping, as waking
		 * a sleeping CPU costs more than the looking. */
		loop_clock(&t0);
		do {
			n = epoll_wait(lp->epfd, evs, LOOP_EVENTS, 0);
			loop_clock(&t);
		} while (n == 0 && loop_ns(&t0, &t) < LOOP_SPIN_NS);
		lp->spin = n > 0;
		if (n > 0) {
			lp->spin_fails = 0;
		} else {
			/* 0, 1, 3, 7, 15 short waits not spun */
			unsigned f = lp->spin_fails < 4 ? lp->spin_fails : 4;
			lp->spin_fails++;
			lp->spin_skip = (1u << f) - 1;
		}
	}
	if (n == 0) {
		if (lp->may_spin)
			loop_clock(&t0);
		n = epoll_wait(lp->epfd, evs, LOOP_EVENTS, wait);
		if (lp->may_spin && n > 0) {
			/* spin from now on if this wait was short */
			loop_clock(&t);
			lp->spin = loop_ns(&t0, &t) < LOOP_SPIN_NS;
			if (lp->spin && lp->spin_skip > 0) {
				lp->spin_skip--;
				lp->spin = false;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		rpci_conn *c = evs[i].data.ptr;
		if (c == NULL) {
			woken = true;
			continue;
		}
		rpci_conn_event(c, evs[i].events, lp->scratch, LOOP_SCRATCH,
		                &tail);
	}
	/* Only after the events: closing may finish and free a connection
	 * that has an event in evs. */
	if (woken) {
		uint64_t v;
		ssize_t r = read(lp->evfd, &v, sizeof(v));
		(void)r;
		if (atomic_load(&lp->srv->closing))
			loop_close_conns(lp);
		for (;;) { /* one at a time: a resumer may push again */
			pthread_mutex_lock(&lp->mu);
			rpci_conn *c = lp->resume;
			if (c != NULL) {
				lp->resume = c->rnext;
				c->on_resume = false;
			}
			pthread_mutex_unlock(&lp->mu);
			if (c == NULL)
				break;
			rpci_conn_resume(c, &tail);
		}
	}
	if (head == NULL)
		return;
	pthread_mutex_lock(&lp->mu);
	if (lp->tail != NULL)
		lp->tail->next = head;
	else
		lp->head = head;
	lp->tail = (rpci_req *)((char *)tail - offsetof(rpci_req, next));
	pthread_mutex_unlock(&lp->mu);
}

void *rpci_loop_thread(void *arg)
{
	rpci_loop *lp = arg;
	rpc_server *srv = lp->srv;

	pthread_mutex_lock(&lp->mu);
	for (;;) {
		while (!lp->stop && lp->poller_taken) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += LOOP_IDLE_EXIT_S;
			lp->idle++;
			int r = pthread_cond_timedwait(&lp->cv, &lp->mu, &ts);
			lp->idle--;
			if (r == ETIMEDOUT && !lp->stop && lp->poller_taken &&
			    lp->idle > 0) {
				/* another follower is idle too: one spare
				 * per loop is enough */
				pthread_mutex_unlock(&lp->mu);
				rpci_server_thread_exit(srv);
				return NULL;
			}
		}
		if (lp->stop)
			break;
		lp->poller_taken = true;
		uint64_t gen = lp->gen;
		if (lp->head == NULL) {
			pthread_mutex_unlock(&lp->mu);
			loop_poll(lp);
			pthread_mutex_lock(&lp->mu);
		}
		while (lp->head != NULL && lp->gen == gen) {
			rpci_req *req = lp->head;
			rpci_conn *c = req->conn;
			lp->head = req->next;
			if (lp->head == NULL)
				lp->tail = NULL;
			req->next = NULL;
			if (atomic_load(&c->unsent) >= srv->max_conn_out) {
				/* c's peer is not taking its replies: the
				 * call waits on c, not on this thread */
				pthread_mutex_unlock(&lp->mu);
				bool parked = rpci_conn_park(c, req);
				pthread_mutex_lock(&lp->mu);
				if (parked)
					continue;
				if (lp->gen != gen) { /* not ours to run */
					req->next = lp->head;
					lp->head = req;
					if (lp->tail == NULL)
						lp->tail = req;
					break;
				}
			}
			lp->in_handler = true;
			lp->calls++;
			pthread_mutex_unlock(&lp->mu);

			if (atomic_load(&srv->mon_idle))
				rpci_monitor_wake(srv);
			rpci_req_call(req);
			rpci_conn_reply(c, req);

			pthread_mutex_lock(&lp->mu);
			if (lp->gen == gen && lp->head != NULL &&
			    lp->head->conn == c) {
				/* the next request of c will flush both */
				lp->in_handler = false;
				pthread_mutex_unlock(&lp->mu);
				rpci_conn_req_done(c);
				pthread_mutex_lock(&lp->mu);
				continue;
			}
			pthread_mutex_unlock(&lp->mu);
			rpci_conn_flush(c);
			pthread_mutex_lock(&lp->mu);
			bool mine = lp->gen == gen;
			if (mine)
				lp->in_handler = false;
			pthread_mutex_unlock(&lp->mu);
			rpci_conn_req_done(c);
			pthread_mutex_lock(&lp->mu);
			if (!mine)
				break;
		}
		if (lp->gen == gen)
			lp->poller_taken = false;
	}
	pthread_mutex_unlock(&lp->mu);
	return NULL;
}

/* ---- the monitor --------------------------------------------------------- */

void rpci_monitor_wake(rpc_server *srv)
{
	pthread_mutex_lock(&srv->mon_mu);
	atomic_store(&srv->mon_idle, false);
	pthread_cond_signal(&srv->mon_cv);
	pthread_mutex_unlock(&srv->mon_mu);
}

/* monitor_check looks at lp once; true if a call ran or is running. */
static bool monitor_check(rpc_server *srv, rpci_loop *lp)
{
	bool busy, stuck = false, spawn = false;

	pthread_mutex_lock(&lp->mu);
	busy = lp->in_handler || lp->calls != lp->seen;
	if (lp->poller_taken && lp->in_handler && lp->calls == lp->seen) {
		/* the same call since the last tick: hand the role on */
		lp->gen++;
		lp->poller_taken = false;
		lp->in_handler = false;
		if (lp->idle > 0)
			pthread_cond_signal(&lp->cv);
		else
			spawn = true;
	}
	lp->seen = lp->calls;
	pthread_mutex_unlock(&lp->mu);
	/* outside lp->mu: no loop mutex is held while taking srv->mu */
	if (spawn && !rpci_server_spawn(srv, lp))
		stuck = true; /* the next thread to finish takes the role */
	if (stuck)
		rpci_server_log(srv, "rpc: no thread to take over from a slow "
		                     "call (max_threads reached)");
	return busy;
}

void *rpci_monitor_thread(void *arg)
{
	rpc_server *srv = arg;
	unsigned quiet = 0;

	pthread_mutex_lock(&srv->mon_mu);
	while (!srv->mon_stop) {
		if (atomic_load(&srv->mon_idle)) {
			pthread_cond_wait(&srv->mon_cv, &srv->mon_mu);
			quiet = 0;
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += LOOP_TICK_US * 1000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&srv->mon_cv, &srv->mon_mu, &ts);
		if (srv->mon_stop)
			break;
		pthread_mutex_unlock(&srv->mon_mu);
		bool busy = false;
		for (unsigned i = 0; i < srv->n_loops; i++)
			busy |= monitor_check(srv, &srv->loops[i]);
		pthread_mutex_lock(&srv->mon_mu);
		quiet = busy ? 0 : quiet + 1;
		if (quiet >= LOOP_IDLE_TICKS) {
			atomic_store(&srv->mon_idle, true);
			/* look again: a call may have started meanwhile */
			pthread_mutex_unlock(&srv->mon_mu);
			busy = false;
			for (unsigned i = 0; i < srv->n_loops; i++) {
				rpci_loop *lp = &srv->loops[i];
				pthread_mutex_lock(&lp->mu);
				busy |= lp->in_handler;
				pthread_mutex_unlock(&lp->mu);
			}
			pthread_mutex_lock(&srv->mon_mu);
			if (busy)
				atomic_store(&srv->mon_idle, false);
			quiet = 0;
		}
	}
	pthread_mutex_unlock(&srv->mon_mu);
	return NULL;
}
