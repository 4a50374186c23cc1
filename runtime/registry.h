/* registry.h - the server's service registry (private to librpc).
 *
 * Registration copies nothing the caller keeps: the descriptor, handler
 * table and self pointer are borrowed for the life of the registry. Lookup
 * is lock-free: the registry publishes an immutable, name-sorted snapshot
 * and registration replaces it under a mutex; old snapshots live until
 * rpci_registry_fini, so a lookup never sees freed memory.
 */
#ifndef RPCI_REGISTRY_H
#define RPCI_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>

#include "rpc.h"

/* RPCI_LAT_BUCKETS is the size of a method's latency histogram: four
 * buckets per power of two of microseconds, the last one open-ended. */
#define RPCI_LAT_BUCKETS 128

/* One registered method: its descriptor and its counters, for the debug
 * page (updated with relaxed atomics, no allocation per call). */
typedef struct rpci_method {
	const rpc_method *m;
	struct rpci_service *svc;
	atomic_uint_fast64_t calls;
	atomic_uint_fast64_t errors;    /* calls whose handler failed */
	atomic_uint_fast64_t denied;    /* calls the authorize hook refused */
	atomic_uint_fast64_t in_flight; /* handlers running now */
	atomic_uint_fast64_t lat[RPCI_LAT_BUCKETS]; /* handler times */
} rpci_method;

/* rpci_method_begin counts a call of m starting and returns its start time
 * (ns, monotonic; 0 when this call is not timed) for rpci_method_end,
 * which counts it finished with the handler's result err (borrowed; NULL,
 * or an error with empty text, is success, as in Go) and, when it was
 * timed, adds its time to the histogram. rpci_method_timed says whether
 * the call numbered n (from 0) of a method is timed: every one of the
 * first RPCI_LAT_EXACT, then one in RPCI_LAT_EVERY (registry.c says why). */
enum { RPCI_LAT_EXACT = 1024, RPCI_LAT_EVERY = 16 };
bool rpci_method_timed(uint64_t n);
uint64_t rpci_method_begin(rpci_method *m);
void rpci_method_end(rpci_method *m, uint64_t start, const rpc_error *err);

/* rpci_method_latency estimates the p-th percentile (0 < p <= 100) of m's
 * handler times in milliseconds from its histogram; 0 when no call has
 * finished. */
double rpci_method_latency(const rpci_method *m, double p);

/* One registered service. methods are sorted by name. */
typedef struct rpci_service {
	char *name;
	const rpc_service_desc *desc;
	const void *handlers;
	void *self;
	size_t n_methods;
	rpci_method *methods;
} rpci_service;

typedef struct rpci_snapshot {
	size_t n;
	rpci_service **services; /* sorted by name */
	struct rpci_snapshot *older;
} rpci_snapshot;

typedef struct rpci_registry {
	pthread_mutex_t mu; /* serialises registrations */
	_Atomic(rpci_snapshot *) current;
} rpci_registry;

void rpci_registry_init(rpci_registry *r);
void rpci_registry_fini(rpci_registry *r);

/* rpci_registry_add registers desc under name (NULL: desc->name). The
 * pointers are borrowed for the life of the registry. */
rpc_error *rpci_registry_add(rpci_registry *r, const rpc_service_desc *desc,
                             const void *handlers, void *self,
                             const char *name);

/* rpci_registry_lookup finds "Service.Method" (split at the last dot). On
 * failure returns NULL and sets *errmsg to Go's error text (caller frees). */
rpci_method *rpci_registry_lookup(rpci_registry *r, const char *sm,
                                  char **errmsg);

/* rpci_registry_snapshot returns the current services, sorted by name;
 * valid until rpci_registry_fini. */
const rpci_snapshot *rpci_registry_snapshot(rpci_registry *r);

#endif
