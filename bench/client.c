/* client.c - bench-client, the librpc load generator driven by bench/run.py.
 *
 * Same flags and output line as go/client.go, so the harness treats both
 * alike: it calls Arith.Multiply for a fixed time, one call at a time
 * ("sync"), with DEPTH calls in flight on one connection ("inflight"), or on
 * CONNS connections at once ("conns"), checks every reply, and prints
 * "calls N seconds S cpu_us U". Mode "large" calls Types.Echo one call at
 * a time instead, with a bytes field of -size bytes and a list of -items
 * small structs, and checks every reply; it makes at least one call.
 */
#define _POSIX_C_SOURCE 200809L /* sigwait, poll, clock_gettime in strict C11 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "arith.rpc.h"
#include "large.rpc.h"

struct opts {
	const char *addr;
	const rpc_codec *codec;
	const char *mode;
	int depth;
	int conns;
	double seconds;
	size_t size;
	int items;
	rpc_tls *tls; /* -tls DIR: trust DIR/ca.pem */
	bool fresh; /* -fresh 1: no session resumed (no_resume): every dial
	               of dial mode is a full handshake */
	size_t max_frame; /* -maxframe BYTES: 0 the default */
};

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long bench_cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
	       (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
}

static void bench_die(const char *what, const rpc_error *err)
{
	fprintf(stderr, "bench-client: %s: %s\n", what,
	        err ? rpc_error_message(err) : "failed");
	exit(1);
}

static rpc_client *bench_dial(const struct opts *o)
{
	rpc_client_options copts = {
	    .codec = o->codec, .tls = o->tls, .max_frame = o->max_frame};
	rpc_client *c = NULL;
	rpc_error *err = rpc_dial(o->addr, &copts, &c);
	if (err)
		bench_die(o->addr, err);
	return c;
}

struct sync_job {
	const struct opts *o;
	double deadline;
	long long calls;
};

static void *bench_sync(void *arg)
{
	struct sync_job *job = arg;
	rpc_client *c = bench_dial(job->o);
	for (int64_t i = 0; bench_now() < job->deadline; i++) {
		arith_Args args = ARITH_ARGS_INIT;
		int64_t reply = 0;
		args.A = i;
		args.B = 7;
		rpc_error *err = arith_Arith_Multiply(c, &args, &reply);
		if (err)
			bench_die("Arith.Multiply", err);
		if (reply != i * 7) {
			fprintf(stderr, "bench-client: bad reply %lld\n",
			        (long long)reply);
			exit(1);
		}
		job->calls++;
	}
	rpc_client_free(c);
	return NULL;
}

/* bench_dials dials, makes one call and hangs up, until deadline: the
 * connection (and TLS handshake) rate. */
static long long bench_dials(const struct opts *o, double deadline)
{
	long long n = 0;

	do {
		rpc_error *err;
		rpc_client *c = bench_dial(o);
		arith_Args args = ARITH_ARGS_INIT;
		int64_t reply = 0;
		args.A = n;
		args.B = 7;
		if ((err = arith_Arith_Multiply(c, &args, &reply)))
			bench_die("Arith.Multiply", err);
		if (reply != n * 7)
			bench_die("bad reply", NULL);
		rpc_client_free(c);
		n++;
	} while (bench_now() < deadline);
	return n;
}

static long long bench_inflight(const struct opts *o, double deadline)
{
	rpc_client *c = bench_dial(o);
	rpc_done *q = rpc_done_new_queue();
	int64_t *replies = calloc((size_t)o->depth, sizeof *replies);
	int64_t *operands = calloc((size_t)o->depth, sizeof *operands);
	if (!q || !replies || !operands)
		bench_die("setup", NULL);
	int64_t next = 0;
	long long calls = 0;
	int outstanding = 0;

	for (int k = 0; k < o->depth; k++) {
		arith_Args args = ARITH_ARGS_INIT;
		args.A = operands[k] = next++;
		args.B = 7;
		rpc_error *err =
			arith_Arith_Multiply_go(c, &args, &replies[k], q, NULL);
		if (err)
			bench_die("Arith.Multiply", err);
		outstanding++;
	}
	while (outstanding > 0) {
		rpc_call *call = rpc_done_wait(q, -1);
		if (!call)
			bench_die("rpc_done_wait", NULL);
		outstanding--;
		if (rpc_call_error(call))
			bench_die("Arith.Multiply", rpc_call_error(call));
		int64_t *reply = rpc_call_reply(call);
		size_t k = (size_t)(reply - replies);
		if (*reply != operands[k] * 7) {
			fprintf(stderr, "bench-client: bad reply\n");
			exit(1);
		}
		rpc_call_free(call);
		calls++;
		if (bench_now() < deadline) {
			arith_Args args = ARITH_ARGS_INIT;
			args.A = operands[k] = next++;
			args.B = 7;
			rpc_error *err = arith_Arith_Multiply_go(
				c, &args, &replies[k], q, NULL);
			if (err)
				bench_die("Arith.Multiply", err);
			outstanding++;
		}
	}
	rpc_client_free(c);
	rpc_done_free(q);
	free(replies);
	free(operands);
	return calls;
}

static long long bench_large(const struct opts *o, double deadline)
{
	rpc_client *c = bench_dial(o);
	large_Blob args = LARGE_BLOB_INIT;
	long long calls = 0;

	args.Data.len = o->size;
	args.Data.data = malloc(o->size > 0 ? o->size : 1);
	args.n_Items = (size_t)o->items;
	args.Items = calloc(args.n_Items + 1, sizeof *args.Items);
	if (!args.Data.data || !args.Items)
		bench_die("setup", NULL);
	for (size_t i = 0; i < o->size; i++)
		args.Data.data[i] = (uint8_t)(i * 131 + 7);
	for (size_t i = 0; i < args.n_Items; i++) {
		large_Item *it = malloc(sizeof *it);
		char name[32];
		if (!it)
			bench_die("setup", NULL);
		large_Item_init(it);
		it->Id = (int64_t)i;
		snprintf(name, sizeof name, "item-%zu", i);
		it->Name = rpc_strdup(name);
		it->Score = (double)i / 4;
		args.Items[i] = it;
	}
	do {
		large_Blob reply = LARGE_BLOB_INIT;
		rpc_error *err = large_Types_Echo(c, &args, &reply);
		if (err)
			bench_die("Types.Echo", err);
		if (reply.Data.len != args.Data.len ||
		    (o->size > 0 && (reply.Data.data[0] != args.Data.data[0] ||
		                     reply.Data.data[o->size - 1] !=
		                         args.Data.data[o->size - 1])) ||
		    reply.n_Items != args.n_Items ||
		    (args.n_Items > 0 && reply.Items[args.n_Items - 1]->Id !=
		                             (int64_t)args.n_Items - 1)) {
			fprintf(stderr, "bench-client: bad echo\n");
			exit(1);
		}
		large_Blob_free_contents(&reply);
		calls++;
	} while (bench_now() < deadline);
	large_Blob_free_contents(&args);
	rpc_client_free(c);
	return calls;
}

static const rpc_codec *bench_codec(const char *name)
{
	if (strcmp(name, "protobuf") == 0)
		return &rpc_codec_protobuf;
	if (strcmp(name, "gob") == 0)
		return &rpc_codec_gob;
	if (strcmp(name, "json") == 0)
		return &rpc_codec_json;
	fprintf(stderr, "bench-client: unknown codec '%s'\n", name);
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = {.codec = &rpc_codec_protobuf,
	                 .mode = "sync",
	                 .depth = 128,
	                 .conns = 8,
	                 .seconds = 2};
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i] + (argv[i][0] == '-') +
		                (argv[i][0] == '-' && argv[i][1] == '-');
		const char *v = argv[i + 1];
		if (strcmp(k, "addr") == 0)
			o.addr = v;
		else if (strcmp(k, "codec") == 0)
			o.codec = bench_codec(v);
		else if (strcmp(k, "mode") == 0)
			o.mode = v;
		else if (strcmp(k, "depth") == 0)
			o.depth = atoi(v);
		else if (strcmp(k, "conns") == 0)
			o.conns = atoi(v);
		else if (strcmp(k, "seconds") == 0)
			o.seconds = atof(v);
		else if (strcmp(k, "size") == 0)
			o.size = (size_t)atoll(v);
		else if (strcmp(k, "items") == 0)
			o.items = atoi(v);
		else if (strcmp(k, "fresh") == 0)
			o.fresh = atoi(v) != 0;
		else if (strcmp(k, "maxframe") == 0)
			o.max_frame = (size_t)atoll(v);
		else if (strcmp(k, "tls") == 0) {
			char ca[4096];
			snprintf(ca, sizeof ca, "%s/ca.pem", v);
			/* -fresh comes before -tls (bench/run.py) */
			rpc_tls_options to = {.ca_file = ca, .no_resume = o.fresh};
			rpc_error *err = rpc_tls_client_new(&to, &o.tls);
			if (err)
				bench_die("tls", err);
		} else {
			fprintf(stderr, "bench-client: unknown flag %s\n", argv[i]);
			return 2;
		}
	}
	if (!o.addr || o.depth < 1 || o.conns < 1 || o.items < 0) {
		fprintf(stderr, "usage: bench-client -addr HOST:PORT [-codec "
		                "protobuf|gob|json] [-mode sync|inflight|conns] "
		                "[-depth N] [-conns N] [-seconds S] [-mode large "
		                "-size BYTES -items N] [-mode dial] [-tls CERTDIR "
		                "[-fresh 1]]\n");
		return 2;
	}

	long long cpu0 = bench_cpu_us();
	double start = bench_now(), deadline = start + o.seconds;
	long long calls = 0;
	if (strcmp(o.mode, "sync") == 0) {
		struct sync_job job = {.o = &o, .deadline = deadline};
		bench_sync(&job);
		calls = job.calls;
	} else if (strcmp(o.mode, "inflight") == 0) {
		calls = bench_inflight(&o, deadline);
	} else if (strcmp(o.mode, "large") == 0) {
		calls = bench_large(&o, deadline);
	} else if (strcmp(o.mode, "dial") == 0) {
		calls = bench_dials(&o, deadline);
	} else if (strcmp(o.mode, "conns") == 0) {
		pthread_t *th = calloc((size_t)o.conns, sizeof *th);
		struct sync_job *jobs = calloc((size_t)o.conns, sizeof *jobs);
		if (!th || !jobs)
			bench_die("setup", NULL);
		for (int k = 0; k < o.conns; k++) {
			jobs[k] = (struct sync_job){.o = &o, .deadline = deadline};
			if (pthread_create(&th[k], NULL, bench_sync, &jobs[k]))
				bench_die("pthread_create", NULL);
		}
		for (int k = 0; k < o.conns; k++) {
			pthread_join(th[k], NULL);
			calls += jobs[k].calls;
		}
		free(th);
		free(jobs);
	} else {
		fprintf(stderr, "bench-client: unknown mode '%s'\n", o.mode);
		return 2;
	}
	printf("calls %lld seconds %.6f cpu_us %lld\n", calls,
	       bench_now() - start, bench_cpu_us() - cpu0);
	rpc_tls_free(o.tls);
	return 0;
}
