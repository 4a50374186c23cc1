/* pending.h - calls in flight on a client (private to librpc).
 *
 * The pending table maps a request's sequence number to its call until the
 * reply arrives or the connection ends. rpc_call and rpc_done are defined
 * here so client.c and done.c share them.
 */
#ifndef RPCI_PENDING_H
#define RPCI_PENDING_H

#include <pthread.h>

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

struct rpc_call {
	struct rpc_call *next;      /* done-queue link, guarded by its lock */
	const char *service_method; /* async: in this call's own allocation */
	const rpc_method *method;
	void *reply;     /* the caller's, filled by the reader */
	rpc_error *err;  /* set once, before completion */
	rpc_done *done;  /* NULL for a blocking call */
	rpci_sync *sync; /* a blocking call's waiter */
	uint64_t seq;
	/* A balanced client's call (balancer.c): the user's done, which the
	 * endpoint's done hands the call on to, and the retry state of an
	 * idempotent call; NULL otherwise. */
	rpc_done *then;
	void *retry;
};

/* rpci_done_is_callback tells a callback done from a queue. A forwarding
 * done counts as a queue. */
bool rpci_done_is_callback(const rpc_done *d);

/* rpci_done_new_forward makes a callback done whose cb only hands each
 * call on (to another done) without blocking, so the client treats it as
 * a queue and keeps batching its writes (balancer.c). Freed with
 * rpc_done_free; NULL on out of memory. */
rpc_done *rpci_done_new_forward(void (*cb)(rpc_call *call, void *ud),
                                void *ud);

/* rpci_call_complete hands a finished call to its owner: wakes the blocking
 * caller, or delivers it to its done. No library lock may be held. */
void rpci_call_complete(rpc_call *call);

#endif
