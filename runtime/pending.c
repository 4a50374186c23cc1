/* pending.c - the pending-call table: seq -> call.
 *
 * Open addressing with Robin Hood linear probing: an entry never sits
 * further from its home slot (seq & mask) than the entry it passed. Sequence
 * numbers are handed out in order, so seq & mask spreads them without
 * hashing and nearly every entry sits at home; a lookup stops at the first
 * slot whose entry is closer to home than the probe, and a removal shifts
 * back only the entries displaced behind it (no tombstones), so both stay
 * O(1) however many calls are in flight. The table stays at most half full.
 *
 * The timer heap holds only the calls that have a deadline, so calls
 * without one cost nothing; each call carries its heap index, so a call
 * that ends by its reply or a cancel leaves the heap in O(log n).
 */
#include <stdlib.h>

#include "pending.h"

#define PENDING_MIN_CAP 64

void rpci_pending_init(rpci_pending *p)
{
	p->slots = NULL;
	p->mask = 0;
	p->count = 0;
}

void rpci_pending_fini(rpci_pending *p)
{
	if (p == NULL)
		return;
	free(p->slots);
	rpci_pending_init(p);
}

/* pending_dist is how far slot i is from the home of its entry. */
static size_t pending_dist(const rpci_pending_slot *slots, size_t mask,
                           size_t i)
{
	return (i - ((size_t)slots[i].seq & mask)) & mask;
}

static void pending_insert(rpci_pending_slot *slots, size_t mask, uint64_t seq,
                           void *val)
{
	rpci_pending_slot e = {seq, val}, t;
	size_t i = (size_t)seq & mask, d = 0, ed;

	for (;; i = (i + 1) & mask, d++) {
		if (slots[i].val == NULL) {
			slots[i] = e;
			return;
		}
		ed = pending_dist(slots, mask, i);
		if (ed < d) { /* take the slot of an entry nearer home */
			t = slots[i];
			slots[i] = e;
			e = t;
			d = ed;
		}
	}
}

static bool pending_grow(rpci_pending *p)
{
	size_t cap = p->slots == NULL ? PENDING_MIN_CAP : (p->mask + 1) * 2;
	rpci_pending_slot *slots = calloc(cap, sizeof *slots);
	size_t i;

	if (slots == NULL)
		return false;
	if (p->slots != NULL)
		for (i = 0; i <= p->mask; i++)
			if (p->slots[i].val != NULL)
				pending_insert(slots, cap - 1, p->slots[i].seq,
				               p->slots[i].val);
	free(p->slots);
	p->slots = slots;
	p->mask = cap - 1;
	return true;
}

bool rpci_pending_put(rpci_pending *p, uint64_t seq, void *val)
{
	if ((p->slots == NULL || (p->count + 1) * 2 > p->mask + 1) &&
	    !pending_grow(p))
		return false;
	pending_insert(p->slots, p->mask, seq, val);
	p->count++;
	return true;
}

/* pending_remove empties slot i and shifts back the entries after it that
 * are away from home. */
static void *pending_remove(rpci_pending *p, size_t i)
{
	void *val = p->slots[i].val;
	size_t j;

	for (;;) {
		j = (i + 1) & p->mask;
		if (p->slots[j].val == NULL ||
		    pending_dist(p->slots, p->mask, j) == 0)
			break;
		p->slots[i] = p->slots[j];
		i = j;
	}
	p->slots[i].val = NULL;
	p->count--;
	return val;
}

void *rpci_pending_take(rpci_pending *p, uint64_t seq)
{
	size_t i, d;

	if (p->slots == NULL)
		return NULL;
	for (i = (size_t)seq & p->mask, d = 0; p->slots[i].val != NULL;
	     i = (i + 1) & p->mask, d++) {
		if (pending_dist(p->slots, p->mask, i) < d)
			break; /* seq would have been placed here */
		if (p->slots[i].seq == seq)
			return pending_remove(p, i);
	}
	return NULL;
}

void *rpci_pending_take_any(rpci_pending *p)
{
	size_t i;

	if (p->count == 0)
		return NULL;
	for (i = 0; i <= p->mask; i++)
		if (p->slots[i].val != NULL)
			return pending_remove(p, i);
	return NULL;
}

/* ---- timers -------------------------------------------------------------- */

void rpci_timers_init(rpci_timers *t)
{
	t->heap = NULL;
	t->count = 0;
	t->cap = 0;
}

void rpci_timers_fini(rpci_timers *t)
{
	if (t == NULL)
		return;
	free(t->heap);
	rpci_timers_init(t);
}

bool rpci_timers_reserve(rpci_timers *t)
{
	size_t cap;
	rpc_call **heap;

	if (t->count < t->cap)
		return true;
	cap = t->cap == 0 ? 16 : t->cap * 2;
	heap = realloc(t->heap, cap * sizeof *heap);
	if (heap == NULL)
		return false;
	t->heap = heap;
	t->cap = cap;
	return true;
}

static void timers_set(rpci_timers *t, size_t i, rpc_call *call)
{
	t->heap[i] = call;
	call->timer = i;
}

static void timers_up(rpci_timers *t, size_t i)
{
	rpc_call *call = t->heap[i];
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (t->heap[parent]->deadline <= call->deadline)
			break;
		timers_set(t, i, t->heap[parent]);
		i = parent;
	}
	timers_set(t, i, call);
}

static void timers_down(rpci_timers *t, size_t i)
{
	rpc_call *call = t->heap[i];
	size_t child;

	for (;;) {
		child = 2 * i + 1;
		if (child >= t->count)
			break;
		if (child + 1 < t->count &&
		    t->heap[child + 1]->deadline < t->heap[child]->deadline)
			child++;
		if (call->deadline <= t->heap[child]->deadline)
			break;
		timers_set(t, i, t->heap[child]);
		i = child;
	}
	timers_set(t, i, call);
}

void rpci_timers_add(rpci_timers *t, rpc_call *call)
{
	t->heap[t->count] = call;
	call->timer = t->count++;
	timers_up(t, call->timer);
}

void rpci_timers_remove(rpci_timers *t, rpc_call *call)
{
	size_t i = call->timer;
	rpc_call *last;

	if (i == RPCI_NO_TIMER)
		return;
	call->timer = RPCI_NO_TIMER;
	last = t->heap[--t->count];
	if (i == t->count)
		return;
	t->heap[i] = last;
	last->timer = i;
	if (i > 0 && t->heap[(i - 1) / 2]->deadline > last->deadline)
		timers_up(t, i);
	else
		timers_down(t, i);
}

rpc_call *rpci_timers_first(const rpci_timers *t)
{
	return t->count > 0 ? t->heap[0] : NULL;
}
