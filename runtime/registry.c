/* registry.c - registered services and the Service.Method lookup.
 *
 * The checks Go's Register makes by reflection are mostly done by rpcgen-c
 * at compile time; what is left is checked here: the ABI version, a name,
 * at least one method, no duplicate method, no duplicate service. The error
 * texts are Go's where Go has one.
 *
 * What stays true: a published snapshot is never modified or freed before
 * rpci_registry_fini, and each service keeps its methods sorted by name, so
 * lookups are a pair of binary searches with no lock.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "registry.h"

void rpci_registry_init(rpci_registry *r)
{
	pthread_mutex_init(&r->mu, NULL);
	atomic_init(&r->current, NULL);
}

static void registry_service_free(rpci_service *s)
{
	if (s == NULL)
		return;
	free(s->methods);
	free(s->name);
	free(s);
}

void rpci_registry_fini(rpci_registry *r)
{
	rpci_snapshot *snap = atomic_load(&r->current);

	/* services are shared between snapshots: the newest holds them all */
	if (snap != NULL)
		for (size_t i = 0; i < snap->n; i++)
			registry_service_free(snap->services[i]);
	while (snap != NULL) {
		rpci_snapshot *older = snap->older;
		free(snap->services);
		free(snap);
		snap = older;
	}
	atomic_store(&r->current, NULL);
	pthread_mutex_destroy(&r->mu);
}

static int registry_method_cmp(const void *a, const void *b)
{
	const rpci_method *x = a, *y = b;
	return strcmp(x->m->name, y->m->name);
}

static rpci_service *registry_find(const rpci_snapshot *snap, const char *name,
                                   size_t len, size_t *pos)
{
	size_t lo = 0, hi = snap == NULL ? 0 : snap->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *n = snap->services[mid]->name;
		int c = strncmp(n, name, len);
		if (c == 0 && n[len] != '\0')
			c = 1;
		if (c == 0) {
			if (pos != NULL)
				*pos = mid;
			return snap->services[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos != NULL)
		*pos = lo;
	return NULL;
}

rpc_error *rpci_registry_add(rpci_registry *r, const rpc_service_desc *desc,
                             const void *handlers, void *self, const char *name)
{
	rpci_service *s = NULL;
	rpci_snapshot *snap = NULL, *cur;
	rpc_error *err = NULL;
	size_t pos;

	if (desc == NULL)
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc.Register: service descriptor is NULL");
	if (name == NULL)
		name = desc->name;
	if (name == NULL || name[0] == '\0')
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc.Register: no service name for type %s",
		                  desc->name != NULL ? desc->name
		                                     : "(unnamed)");
	if (desc->abi != RPC_ABI_VERSION)
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc.Register: service %s was generated for "
		                  "ABI %u but librpc has ABI %d",
		                  name, (unsigned)desc->abi, RPC_ABI_VERSION);
	if (desc->n_methods == 0 || desc->methods == NULL)
		return rpci_error(
		    RPC_ERR_INVALID,
		    "rpc.Register: type %s has no exported methods "
		    "of suitable type",
		    name);
	if (handlers == NULL)
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc.Register: service %s has no handlers",
		                  name);

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto nomem;
	s->name = strdup(name);
	s->methods = calloc(desc->n_methods, sizeof(*s->methods));
	if (s->name == NULL || s->methods == NULL)
		goto nomem;
	s->desc = desc;
	s->handlers = handlers;
	s->self = self;
	s->n_methods = desc->n_methods;
	for (size_t i = 0; i < desc->n_methods; i++) {
		const rpc_method *m = &desc->methods[i];
		if (m->name == NULL || m->name[0] == '\0' || m->args == NULL ||
		    m->reply == NULL || m->invoke == NULL ||
		    m->args->desc == NULL || m->reply->desc == NULL) {
			err = rpci_error(
			    RPC_ERR_INVALID,
			    "rpc.Register: service %s: method %zu is "
			    "incomplete",
			    name, i);
			goto fail;
		}
		s->methods[i].m = m;
		s->methods[i].svc = s;
		atomic_init(&s->methods[i].calls, 0);
	}
	qsort(s->methods, s->n_methods, sizeof(*s->methods),
	      registry_method_cmp);
	for (size_t i = 1; i < s->n_methods; i++)
		if (strcmp(s->methods[i - 1].m->name, s->methods[i].m->name) ==
		    0) {
			err = rpci_error(RPC_ERR_INVALID,
			                 "rpc.Register: service %s: method %s "
			                 "defined twice",
			                 name, s->methods[i].m->name);
			goto fail;
		}

	pthread_mutex_lock(&r->mu);
	cur = atomic_load(&r->current);
	if (registry_find(cur, name, strlen(name), &pos) != NULL) {
		pthread_mutex_unlock(&r->mu);
		err = rpci_error(RPC_ERR_INVALID,
		                 "rpc: service already defined: %s", name);
		goto fail;
	}
	snap = calloc(1, sizeof(*snap));
	if (snap != NULL)
		snap->services =
		    malloc(((cur ? cur->n : 0) + 1) * sizeof(*snap->services));
	if (snap == NULL || snap->services == NULL) {
		pthread_mutex_unlock(&r->mu);
		goto nomem;
	}
	snap->n = (cur ? cur->n : 0) + 1;
	for (size_t i = 0, j = 0; i < snap->n; i++)
		snap->services[i] = i == pos ? s : cur->services[j++];
	snap->older = cur;
	atomic_store_explicit(&r->current, snap, memory_order_release);
	pthread_mutex_unlock(&r->mu);
	return NULL;

nomem:
	err = rpci_error(RPC_ERR_NOMEM, NULL);
fail:
	if (snap != NULL)
		free(snap->services);
	free(snap);
	registry_service_free(s);
	return err;
}

static char *registry_errmsg(const char *what, const char *sm)
{
	size_t a = strlen(what), b = strlen(sm);
	char *s = malloc(a + b + 1);

	if (s != NULL) {
		memcpy(s, what, a);
		memcpy(s + a, sm, b + 1);
	}
	return s;
}

rpci_method *rpci_registry_lookup(rpci_registry *r, const char *sm,
                                  char **errmsg)
{
	const char *dot = strrchr(sm, '.');
	const rpci_snapshot *snap;
	rpci_service *s;

	*errmsg = NULL;
	if (dot == NULL) {
		*errmsg = registry_errmsg(
		    "rpc: service/method request ill-formed: ", sm);
		return NULL;
	}
	snap = atomic_load_explicit(&r->current, memory_order_acquire);
	s = registry_find(snap, sm, (size_t)(dot - sm), NULL);
	if (s == NULL) {
		*errmsg = registry_errmsg("rpc: can't find service ", sm);
		return NULL;
	}
	const char *mname = dot + 1;
	size_t lo = 0, hi = s->n_methods;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->methods[mid].m->name, mname);
		if (c == 0)
			return &s->methods[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*errmsg = registry_errmsg("rpc: can't find method ", sm);
	return NULL;
}

const rpci_snapshot *rpci_registry_snapshot(rpci_registry *r)
{
	return atomic_load_explicit(&r->current, memory_order_acquire);
}

/* ---- per-method counters ---------------------------------------------------
 */

static uint64_t registry_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* registry_lat_bucket: values below 4 us have a bucket each; above, four
 * buckets per power of two (within 25% of the value). */
static size_t registry_lat_bucket(uint64_t us)
{
	unsigned e;
	size_t b;

	if (us < 4)
		return (size_t)us;
	e = 63u - (unsigned)__builtin_clzll(us);
	b = (size_t)(e - 1) * 4 + (size_t)((us >> (e - 2)) & 3);
	return b < RPCI_LAT_BUCKETS ? b : RPCI_LAT_BUCKETS - 1;
}

/* registry_lat_value is the middle of bucket b, in microseconds. */
static double registry_lat_value(size_t b)
{
	unsigned e;
	double lo;

	if (b < 4)
		return (double)b + 0.5;
	e = (unsigned)(b / 4) + 1;
	lo = (double)((4 + b % 4) << (e - 2));
	return lo + (double)(1ull << (e - 2)) / 2;
}

/* Reading the clock twice per call was 7-8% of the server's CPU with 128
 * small calls in flight (perf, clock_gettime under rpci_method_begin and
 * _end), for a histogram that only estimates percentiles. So a method's
 * first RPCI_LAT_EXACT calls are all timed, and after that one call in
 * RPCI_LAT_EVERY: the percentiles of a busy method come from a sample of
 * thousands, those of a quiet one from every call. */
bool rpci_method_timed(uint64_t n)
{
	return n < RPCI_LAT_EXACT || n % RPCI_LAT_EVERY == 0;
}

uint64_t rpci_method_begin(rpci_method *m)
{
	uint64_t n =
	    atomic_fetch_add_explicit(&m->calls, 1, memory_order_relaxed);

	atomic_fetch_add_explicit(&m->in_flight, 1, memory_order_relaxed);
	return rpci_method_timed(n) ? registry_now_ns() | 1 : 0;
}

void rpci_method_end(rpci_method *m, uint64_t start, const rpc_error *err)
{
	const char *text = err != NULL ? rpc_error_message(err) : NULL;
	bool failed = text != NULL && text[0] != '\0';

	if (start != 0) {
		uint64_t us = (registry_now_ns() - start) / 1000;
		atomic_fetch_add_explicit(&m->lat[registry_lat_bucket(us)], 1,
		                          memory_order_relaxed);
	}
	if (failed)
		atomic_fetch_add_explicit(&m->errors, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&m->in_flight, 1, memory_order_relaxed);
}

double rpci_method_latency(const rpci_method *m, double p)
{
	uint64_t counts[RPCI_LAT_BUCKETS], total = 0, seen = 0;
	size_t b;

	for (b = 0; b < RPCI_LAT_BUCKETS; b++) {
		counts[b] =
		    atomic_load_explicit(&m->lat[b], memory_order_relaxed);
		total += counts[b];
	}
	if (total == 0)
		return 0;
	uint64_t want = (uint64_t)((double)total * p / 100.0 + 0.5);
	if (want == 0)
		want = 1;
	for (b = 0; b < RPCI_LAT_BUCKETS; b++) {
		seen += counts[b];
		if (seen >= want)
			break;
	}
	if (b == RPCI_LAT_BUCKETS)
		b--;
	return registry_lat_value(b) / 1000.0;
}
