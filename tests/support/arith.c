/* arith.c - the Arith service of the suites (sup_arith.h). The handlers
 * are the union of those the suites had each written: every behaviour a
 * test asserts (the texts of errors, what Sleep, Slow and Nap answer and
 * count) is kept as it was. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sup_arith.h"

static rpc_error *arith_multiply(void *self, const sup_Args *args,
                                 int64_t *reply)
{
	(void)self;
	*reply = args->A * args->B;
	return NULL;
}

static rpc_error *arith_divide(void *self, const sup_Args *args,
                               sup_Quotient *reply)
{
	(void)self;
	if (args->B == 0)
		return rpc_error_new("divide by zero");
	reply->Quo = args->A / args->B;
	reply->Rem = args->A % args->B;
	return NULL;
}

static rpc_error *arith_add(void *self, const sup_Args *args, int64_t *reply)
{
	(void)self;
	*reply = args->A + args->B;
	return NULL;
}

static rpc_error *arith_echo(void *self, const char *s, char **reply)
{
	(void)self;
	*reply = rpc_strdup(s);
	return *reply != NULL ? NULL : rpc_error_new("out of memory");
}

/* ---- Sleep --------------------------------------------------------------- */

static atomic_int arith_sleeping;     /* Sleep calls running now */
static atomic_int arith_max_sleeping; /* the most that ran at once */

static rpc_error *arith_sleep(void *self, const sup_Args *args, int64_t *reply)
{
	struct timespec ts = {args->A / 1000, (args->A % 1000) * 1000000L};
	int now = atomic_fetch_add(&arith_sleeping, 1) + 1;
	int max = atomic_load(&arith_max_sleeping);

	(void)self;
	while (now > max &&
	       !atomic_compare_exchange_weak(&arith_max_sleeping, &max, now))
		;
	nanosleep(&ts, NULL);
	atomic_fetch_sub(&arith_sleeping, 1);
	*reply = args->B;
	return NULL;
}

int sup_arith_sleeping(void)
{
	return atomic_load(&arith_sleeping);
}

int sup_arith_max_sleeping(void)
{
	return atomic_load(&arith_max_sleeping);
}

void sup_arith_sleep_reset(void)
{
	atomic_store(&arith_max_sleeping, 0);
}

/* ---- Slow ---------------------------------------------------------------- */

static pthread_mutex_t slow_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cv = PTHREAD_COND_INITIALIZER;
static bool slow_released; /* slow_mu */
static int slow_running;   /* slow_mu */
static int slow_notify_fd = -1;

static rpc_error *arith_slow(void *self, const sup_Args *args, int64_t *reply)
{
	struct timespec until;

	(void)self;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += args->A / 1000;
	until.tv_nsec += (args->A % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&slow_mu);
	slow_running++;
	pthread_cond_broadcast(&slow_cv);
	if (slow_notify_fd >= 0) {
		char b = 's';
		if (write(slow_notify_fd, &b, 1) != 1)
			abort();
	}
	while (!slow_released &&
	       pthread_cond_timedwait(&slow_cv, &slow_mu, &until) == 0)
		;
	slow_running--;
	pthread_mutex_unlock(&slow_mu);
	*reply = args->B;
	return NULL;
}

void sup_arith_slow_reset(void)
{
	pthread_mutex_lock(&slow_mu);
	slow_released = false;
	slow_running = 0;
	pthread_mutex_unlock(&slow_mu);
}

void sup_arith_slow_release(void)
{
	pthread_mutex_lock(&slow_mu);
	slow_released = true;
	pthread_cond_broadcast(&slow_cv);
	pthread_mutex_unlock(&slow_mu);
}

bool sup_arith_slow_wait_running(int n)
{
	struct timespec until;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&slow_mu);
	while (slow_running < n &&
	       pthread_cond_timedwait(&slow_cv, &slow_mu, &until) == 0)
		;
	ok = slow_running >= n;
	pthread_mutex_unlock(&slow_mu);
	return ok;
}

void sup_arith_slow_notify(int notify_fd)
{
	slow_notify_fd = notify_fd;
}

/* ---- Nap, Fail, Repeat --------------------------------------------------- */

static atomic_int naps_running;

static rpc_error *arith_nap(void *self, const sup_Args *args, int64_t *reply)
{
	(void)self;
	atomic_fetch_add(&naps_running, 1);
	if (args->A > 0)
		usleep((useconds_t)args->A);
	*reply = args->B;
	atomic_fetch_sub(&naps_running, 1);
	return NULL;
}

int sup_arith_naps_running(void)
{
	return atomic_load(&naps_running);
}

static rpc_error *arith_fail(void *self, const char *msg,
                             protobuf_c_boolean *reply)
{
	(void)self;
	(void)reply;
	return rpc_error_new("%s", msg);
}

static rpc_error *arith_repeat(void *self, const sup_Args *args, char **reply)
{
	(void)self;
	if (args->A < 0 || args->A > 64 * 1024 * 1024)
		return rpc_error_new("repeat: bad count %" PRId64, args->A);
	*reply = malloc((size_t)args->A + 1);
	if (*reply == NULL)
		return rpc_error_new("repeat: out of memory");
	memset(*reply, 'a' + (int)(args->B % 26), (size_t)args->A);
	(*reply)[args->A] = '\0';
	return NULL;
}

/* ---- the service --------------------------------------------------------- */

const sup_Arith_handlers sup_arith_handlers = {
    .Multiply = arith_multiply,
    .Divide = arith_divide,
    .Add = arith_add,
    .Echo = arith_echo,
    .Sleep = arith_sleep,
    .Slow = arith_slow,
    .Nap = arith_nap,
    .Fail = arith_fail,
    .Repeat = arith_repeat,
};

rpc_error *sup_arith_register(rpc_server *srv)
{
	return sup_Arith_register(srv, &sup_arith_handlers, NULL);
}

const rpc_method *sup_arith_method(const char *name)
{
	for (size_t i = 0; i < sup_Arith_service.n_methods; i++)
		if (strcmp(sup_Arith_service.methods[i].name, name) == 0)
			return &sup_Arith_service.methods[i];
	return NULL;
}
