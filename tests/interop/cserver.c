/* cserver.c - our server for the Go-client interop test: the services of
 * interop.rpc (those of Go's net/rpc server_test.go, plus Echo) on librpc,
 * through the stubs rpcgen-c generates.
 *
 *   interop-cserver
 *
 * Listens on 127.0.0.1 with free ports and prints one line per listener,
 * then "ready":
 *
 *   gob 127.0.0.1:PORT       plain RPC, gob codec
 *   json 127.0.0.1:PORT      plain RPC, JSON codec (net/rpc/jsonrpc)
 *   http 127.0.0.1:PORT      HTTP CONNECT on /_goRPC_, debug page /debug/rpc
 *   httppath 127.0.0.1:PORT  HTTP CONNECT on /foo, debug page /bar
 *   protobuf 127.0.0.1:PORT  plain RPC, native framing: Go's clients
 *                            dialling it learn of the codec mismatch
 *
 * Runs until its standard input reaches end of file, or SIGTERM/SIGINT;
 * then shuts down cleanly (every object freed) and exits 0.
 *
 *   interop-cserver --run PROGRAM [ARG...]
 *
 * is the test: once ready it runs PROGRAM ARG... gob=ADDR json=ADDR
 * http=ADDR httppath=ADDR protobuf=ADDR (the Go client), waits for it,
 * shuts down cleanly and exits with its status. This way the C server is
 * what runs under valgrind in `meson test --setup valgrind`. An empty
 * PROGRAM (no Go toolchain) exits 77 at once: SKIP.
 */
#include <errno.h>
#include <spawn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "interop.rpc.h"

/* ---- Arith --------------------------------------------------------------- */

/* interop.rpc's Arith: Go's own net/rpc test service (Add, Mul, Div with a
 * Reply{C}, String, Scan, Error, SleepMilli), which goclient.go calls, not
 * the suites' Arith (tests/support/sup_arith.h). */

static rpc_error *arith_add(void *self, const interop_Args *args,
                            interop_Reply *reply)
{
	(void)self;
	reply->C = args->A + args->B;
	return NULL;
}

static rpc_error *arith_mul(void *self, const interop_Args *args,
                            interop_Reply *reply)
{
	(void)self;
	reply->C = args->A * args->B;
	return NULL;
}

static rpc_error *arith_div(void *self, const interop_Args *args,
                            interop_Reply *reply)
{
	(void)self;
	if (args->B == 0)
		return rpc_error_new("divide by zero");
	reply->C = args->A / args->B;
	return NULL;
}

static rpc_error *arith_string(void *self, const interop_Args *args,
                               char **reply)
{
	char buf[80];
	(void)self;
	snprintf(buf, sizeof buf, "%lld+%lld=%lld", (long long)args->A,
	         (long long)args->B, (long long)(args->A + args->B));
	*reply = rpc_strdup(buf);
	return *reply ? NULL : rpc_error_new("out of memory");
}

/* arith_scan reads a decimal integer the way fmt.Sscan does for an int,
 * with Go's error text when there is none. */
static rpc_error *arith_scan(void *self, const char *args,
                             interop_Reply *reply)
{
	(void)self;
	const char *p = args;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	const char *digits = p + (*p == '+' || *p == '-');
	if (*digits < '0' || *digits > '9')
		return rpc_error_new("expected integer");
	char *end;
	errno = 0;
	long long v = strtoll(p, &end, 10);
	if (errno == ERANGE)
		return rpc_error_new("strconv.ParseInt: parsing \"%.*s\": "
		                     "value out of range",
		                     (int)(end - p), p);
	reply->C = v;
	return NULL;
}

static rpc_error *arith_error(void *self, const interop_Args *args,
                              interop_Reply *reply)
{
	(void)self;
	(void)args;
	(void)reply;
	return rpc_error_new("ERROR");
}

static rpc_error *arith_sleep_milli(void *self, const interop_Args *args,
                                    interop_Reply *reply)
{
	(void)self;
	(void)reply;
	if (args->A > 0 && args->A <= 300000) {
		struct timespec ts = {.tv_sec = args->A / 1000,
		                      .tv_nsec = (args->A % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static const interop_Arith_handlers arith_handlers = {
	.Add = arith_add,
	.Mul = arith_mul,
	.Div = arith_div,
	.String = arith_string,
	.Scan = arith_scan,
	.Error = arith_error,
	.SleepMilli = arith_sleep_milli,
};

static const interop_Embed_handlers embed_handlers = {
	.Exported = arith_add,
};

/* ---- BuiltinTypes -------------------------------------------------------- */

static rpc_error *builtin_map(void *self, const interop_Args *args,
                              interop_Int64Int64Map *reply)
{
	(void)self;
	interop_Int64Int64Map_ValueEntry *e = malloc(sizeof *e);
	interop_Int64Int64Map_ValueEntry **v = malloc(sizeof *v);
	if (!e || !v) {
		free(e);
		free(v);
		return rpc_error_new("out of memory");
	}
	interop_Int64Int64Map_ValueEntry_init(e);
	e->key = args->A;
	e->value = args->B;
	v[0] = e;
	reply->n_value = 1;
	reply->value = v;
	return NULL;
}

static rpc_error *builtin_slice(void *self, const interop_Args *args,
                                interop_Int64List *reply)
{
	(void)self;
	int64_t *v = malloc(2 * sizeof *v);
	if (!v)
		return rpc_error_new("out of memory");
	v[0] = args->A;
	v[1] = args->B;
	reply->n_value = 2;
	reply->value = v;
	return NULL;
}

static rpc_error *builtin_array(void *self, const interop_Args *args,
                                interop_Int64Array2 *reply)
{
	(void)self;
	reply->value[0] = args->A;
	reply->value[1] = args->B;
	return NULL;
}

static const interop_BuiltinTypes_handlers builtin_handlers = {
	.Map = builtin_map,
	.Slice = builtin_slice,
	.Array = builtin_array,
};

/* ---- Echo ---------------------------------------------------------------- */

/* echo_echo deep-copies args into reply through libprotobuf-c's own pack
 * and unpack (whose default allocator is malloc, as the runtime needs). */
static rpc_error *echo_echo(void *self, const interop_Everything *args,
                            interop_Everything *reply)
{
	(void)self;
	const ProtobufCMessage *in = &args->base;
	size_t n = protobuf_c_message_get_packed_size(in);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return rpc_error_new("out of memory");
	protobuf_c_message_pack(in, buf);
	ProtobufCMessage *out = protobuf_c_message_unpack(
		&interop_Everything_descriptor, NULL, n, buf);
	free(buf);
	if (!out)
		return rpc_error_new("echo: cannot copy the argument");
	*reply = *(interop_Everything *)out;
	free(out);
	return NULL;
}

static rpc_error *arrays_echo(void *self, const interop_Fixed *args,
                              interop_Fixed *reply)
{
	(void)self;
	return interop_Fixed_copy(reply, args) ? NULL
	                                       : rpc_error_new("out of memory");
}

static const interop_Arrays_handlers arrays_handlers = {.Echo = arrays_echo};

static const interop_Echo_handlers echo_handlers = {
	.Echo = echo_echo,
};

/* ---- Picker --------------------------------------------------------------- */

static rpc_error *picker_echo(void *self, const interop_Pick *args,
                              interop_Pick *reply)
{
	(void)self;
	return interop_Pick_copy(reply, args) ? NULL
	                                      : rpc_error_new("out of memory");
}

static const interop_Picker_handlers picker_handlers = {
	.Echo = picker_echo,
};

/* ---- serving ------------------------------------------------------------- */

enum { L_GOB, L_JSON, L_HTTP, L_HTTP_PATH, L_PROTOBUF, N_LISTENERS };
static const char *const listener_names[N_LISTENERS] = {
    "gob", "json", "http", "httppath", "protobuf"};

struct acceptor {
	rpc_server *srv;
	rpc_listener *l;
	int kind;
	pthread_t thread;
};

static void *accept_main(void *arg)
{
	struct acceptor *a = arg;
	rpc_error *err;
	switch (a->kind) {
	case L_HTTP:
		err = rpc_server_accept_http(a->srv, a->l, NULL, NULL);
		break;
	case L_HTTP_PATH:
		err = rpc_server_accept_http(a->srv, a->l, "/foo", "/bar");
		break;
	default:
		err = rpc_server_accept(a->srv, a->l);
		break;
	}
	if (err) {
		fprintf(stderr, "interop-cserver: accept %s: %s\n",
		        listener_names[a->kind], rpc_error_message(err));
		rpc_error_free(err);
	}
	return NULL;
}

/* stdin_main turns end of file on stdin into SIGTERM for main's sigwait. */
static void *stdin_main(void *arg)
{
	char buf[256];
	(void)arg;
	while (read(0, buf, sizeof buf) > 0)
		;
	kill(getpid(), SIGTERM);
	return NULL;
}

/* register_all registers what Go's startServer does (and Echo, Picker); the
 * server on /foo also has "newServer.Arith", as Go's startNewServer. */
static rpc_error *register_all(rpc_server *srv, bool new_server)
{
	rpc_error *err;
	if ((err = interop_Arith_register(srv, &arith_handlers, NULL)) ||
	    (err = interop_Embed_register(srv, &embed_handlers, NULL)) ||
	    (err = interop_Arith_register_name(srv, "net.rpc.Arith",
	                                       &arith_handlers, NULL)) ||
	    (err = interop_BuiltinTypes_register(srv, &builtin_handlers,
	                                         NULL)) ||
	    (err = interop_Echo_register(srv, &echo_handlers, NULL)) ||
	    (err = interop_Picker_register(srv, &picker_handlers, NULL)) ||
	    (err = interop_Arrays_register(srv, &arrays_handlers, NULL)))
		return err;
	if (new_server)
		return interop_Arith_register_name(srv, "newServer.Arith",
		                                   &arith_handlers, NULL);
	return NULL;
}

extern char **environ;

/* run_client runs argv[0..argc) with the listeners' addresses appended,
 * waits for it and returns its exit status (1 if it could not run). */
static int run_client(int argc, char **argv, struct acceptor *acc)
{
	char addr[N_LISTENERS][64];
	char **cargv = calloc((size_t)argc + N_LISTENERS + 1, sizeof *cargv);
	if (!cargv)
		return 1;
	for (int i = 0; i < argc; i++)
		cargv[i] = argv[i];
	for (int i = 0; i < N_LISTENERS; i++) {
		snprintf(addr[i], sizeof addr[i], "%s=127.0.0.1:%d",
		         listener_names[i], rpc_listener_port(acc[i].l));
		cargv[argc + i] = addr[i];
	}
	pid_t pid;
	int rc = posix_spawn(&pid, cargv[0], NULL, NULL, cargv, environ);
	free(cargv);
	if (rc != 0) {
		fprintf(stderr, "interop-cserver: cannot run %s: %s\n", argv[0],
		        strerror(rc));
		return 1;
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	fprintf(stderr, "interop-cserver: %s died of signal %d\n", argv[0],
	        WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return 1;
}

static void log_line(void *ud, const char *line)
{
	fprintf(stderr, "interop-cserver %s: %s\n", (const char *)ud, line);
}

int main(int argc, char **argv)
{
	bool run = argc > 1 && strcmp(argv[1], "--run") == 0;
	if (run && (argc < 3 || argv[2][0] == '\0')) {
		printf("SKIP: no Go toolchain, no Go client to run\n");
		return 77;
	}

	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	rpc_server *gob = NULL, *json = NULL, *foo = NULL, *pb = NULL;
	struct acceptor acc[N_LISTENERS] = {{0}};
	pthread_t reader;
	int status = 1, started = 0;
	rpc_error *err;

	rpc_server_options o = {.codec = &rpc_codec_gob, .log = log_line,
	                        .log_ud = (void *)"gob"};
	if ((err = rpc_server_new(&o, &gob)))
		goto fail;
	o.codec = &rpc_codec_json;
	o.log_ud = (void *)"json";
	if ((err = rpc_server_new(&o, &json)))
		goto fail;
	o.codec = &rpc_codec_gob;
	o.log_ud = (void *)"/foo";
	if ((err = rpc_server_new(&o, &foo)))
		goto fail;
	o.codec = &rpc_codec_protobuf;
	o.log_ud = (void *)"protobuf";
	if ((err = rpc_server_new(&o, &pb)))
		goto fail;
	if ((err = register_all(gob, false)) ||
	    (err = register_all(json, false)) ||
	    (err = register_all(foo, true)) || (err = register_all(pb, false)))
		goto fail;

	for (int i = 0; i < N_LISTENERS; i++) {
		acc[i].srv = i == L_JSON        ? json
		             : i == L_HTTP_PATH ? foo
		             : i == L_PROTOBUF  ? pb
		                                : gob;
		acc[i].kind = i;
		if ((err = rpc_listen("tcp:127.0.0.1:0", &acc[i].l)))
			goto fail;
		printf("%s 127.0.0.1:%d\n", listener_names[i],
		       rpc_listener_port(acc[i].l));
	}
	for (; started < N_LISTENERS; started++)
		if (pthread_create(&acc[started].thread, NULL, accept_main,
		                   &acc[started]) != 0)
			goto fail;
	printf("ready\n");
	fflush(stdout);

	if (run) {
		status = run_client(argc - 2, argv + 2, acc);
	} else {
		if (pthread_create(&reader, NULL, stdin_main, NULL) == 0)
			pthread_detach(reader);
		int sig = 0;
		sigwait(&stop, &sig);
		status = 0;
	}

fail:
	if (err) {
		fprintf(stderr, "interop-cserver: %s\n", rpc_error_message(err));
		rpc_error_free(err);
	}
	for (int i = 0; i < N_LISTENERS; i++) {
		if (acc[i].l)
			rpc_listener_close(acc[i].l);
		if (i < started)
			pthread_join(acc[i].thread, NULL);
		rpc_listener_free(acc[i].l);
	}
	rpc_server_free(gob);
	rpc_server_free(json);
	rpc_server_free(foo);
	rpc_server_free(pb);
	return status;
}
