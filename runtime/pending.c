/* pending.c - the pending-call table: seq -> call.
 *
 * Sequence numbers are handed out in order, so seq & mask spreads them
 * without hashing. The table stays at most half full so probes are short;
 * removal shifts later entries of the same run back (no tombstones), so
 * a lookup can always stop at the first empty slot.
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

static void pending_insert(rpci_pending_slot *slots, size_t mask,
                           uint64_t seq, void *val)
{
	size_t i = (size_t)seq & mask;

	while (slots[i].val != NULL)
		i = (i + 1) & mask;
	slots[i].seq = seq;
	slots[i].val = val;
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
 * would otherwise become unreachable. */
static void *pending_remove(rpci_pending *p, size_t i)
{
	void *val = p->slots[i].val;
	size_t j = i, home;

	for (;;) {
		j = (j + 1) & p->mask;
		if (p->slots[j].val == NULL)
			break;
		home = (size_t)p->slots[j].seq & p->mask;
		/* Entry j may move to i unless its home lies in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			p->slots[i] = p->slots[j];
			i = j;
		}
	}
	p->slots[i].val = NULL;
	p->count--;
	return val;
}

void *rpci_pending_take(rpci_pending *p, uint64_t seq)
{
	size_t i;

	if (p->slots == NULL)
		return NULL;
	for (i = (size_t)seq & p->mask; p->slots[i].val != NULL;
	     i = (i + 1) & p->mask)
		if (p->slots[i].seq == seq)
			return pending_remove(p, i);
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
