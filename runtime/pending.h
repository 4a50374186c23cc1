/* pending.h - calls in flight on a client (private to librpc).
 *
 * The pending table maps a request's sequence number to its call until the
 * reply arrives, the call ends early (deadline, cancel) or the connection
 * ends. The timer heap orders the pending calls that have a deadline.
 * rpc_call and rpc_done are defined here so client.c and done.c share
 * them.
 */
#ifndef RPCI_PENDING_H
#define RPCI_PENDING_H

#include <pthread.h>
#include <stdatomic.h>

#include "rpc.h"

/* Open addressing (Robin Hood linear probing) keyed by seq; at most half
 * full. A slot is empty when val is NULL. Not locked: the client's mutex
 * guards it. */
typedef struct rpci_pending_slot {
	uint64_t seq;
	void *val;
} rpci_pending_slot;

typedef struct rpci_pending {
	rpci_pending_slot *slots;
	size_t mask; /* capacity - 1; capacity is a power of two */
	size_t count;
} rpci_pending;

void rpci_pending_init(rpci_pending *p);
/* rpci_pending_fini frees the table, not the values. Accepts NULL. */
void rpci_pending_fini(rpci_pending *p);
/* rpci_pending_put adds val (not NULL) under seq, which must not be in the
 * table. The table borrows val. Returns false on out of memory. */
bool rpci_pending_put(rpci_pending *p, uint64_t seq, void *val);
/* rpci_pending_take removes and returns the value under seq, or NULL. */
void *rpci_pending_take(rpci_pending *p, uint64_t seq);
/* rpci_pending_take_any removes and returns some value, or NULL if empty. */
void *rpci_pending_take_any(rpci_pending *p);

/* Where a blocking call's caller sleeps: on the caller's stack. */
typedef struct rpci_sync {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool completed; /* guarded by mu */
} rpci_sync;

#define RPCI_NO_TIMER SIZE_MAX

struct rpc_call {
	struct rpc_call *next;      /* done-queue link, guarded by its lock */
	const char *service_method; /* async: in this call's own allocation */
	const rpc_method *method;
	void *reply;        /* the caller's, filled by the reader */
	rpc_error *err;     /* set once, before completion */
	rpc_done *done;     /* NULL for a blocking call and an owned one */
	rpci_sync *sync;    /* the waiter of a blocking or an owned call */
	rpc_client *client; /* for rpc_call_cancel, until completion */
	uint64_t seq;
	/* A balanced client's call (balancer.c): the user's done, which the
	 * endpoint's done hands the call on to, and the retry state of an
	 * idempotent call; NULL otherwise. */
	rpc_done *then;
	void *retry;
	int64_t deadline; /* CLOCK_MONOTONIC nanoseconds; 0: none */
	size_t timer;     /* index in the client's timer heap, or
	                     RPCI_NO_TIMER; guarded by the client's mutex */
	bool async;       /* not a blocking call: needs the reader thread */
	bool owned;       /* started with no done: sync is the call's own */
	atomic_bool completed; /* set when it completes, before delivery */
};

/* The timer heap: a binary min-heap of calls by deadline; each call knows
 * its index (call->timer), so any call leaves in O(log n). Not locked: the
 * client's mutex guards it. */
typedef struct rpci_timers {
	rpc_call **heap;
	size_t count, cap;
} rpci_timers;

void rpci_timers_init(rpci_timers *t);
/* rpci_timers_fini frees the heap, not the calls. Accepts NULL. */
void rpci_timers_fini(rpci_timers *t);
/* rpci_timers_reserve makes room for one more call; false on out of
 * memory. */
bool rpci_timers_reserve(rpci_timers *t);
/* rpci_timers_add adds call (call->deadline set, room reserved). */
void rpci_timers_add(rpci_timers *t, rpc_call *call);
/* rpci_timers_remove takes call out if it is in; sets call->timer to
 * RPCI_NO_TIMER. */
void rpci_timers_remove(rpci_timers *t, rpc_call *call);
/* rpci_timers_first is the call with the earliest deadline, NULL if none. */
rpc_call *rpci_timers_first(const rpci_timers *t);

/* rpci_done_is_callback tells a callback done from a queue. A forwarding
 * done counts as a queue. */
bool rpci_done_is_callback(const rpc_done *d);

/* rpci_done_new_forward makes a callback done whose cb only hands each
 * call on (to another done) without blocking, so the client treats it as
 * a queue and keeps batching its writes (balancer.c). Freed with
 * rpc_done_free; NULL on out of memory. */
rpc_done *rpci_done_new_forward(void (*cb)(rpc_call *call, void *ud), void *ud);

/* rpci_call_complete hands a finished call to its owner: wakes the blocking
 * caller or the owner of an owned call, or delivers it to its done. No
 * library lock may be held. */
void rpci_call_complete(rpc_call *call);

/* rpci_calls_complete completes a list of finished calls (linked through
 * next) in order, as rpci_call_complete each; a run of calls to one
 * done-queue is appended under one lock with one wake-up. */
void rpci_calls_complete(rpc_call *list);

#endif
