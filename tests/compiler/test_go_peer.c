/* test_go_peer.c - the Go code of `rpcgen-c --emit-go` talks to librpc
 * over gob and over JSON, both ways, for golden/all.rpc.
 *
 * Before the suite runs, main() generates all.rpc.go (as package main)
 * into a temporary folder, puts gopeer/peer.go beside it and builds it with
 * `go build` (GO111MODULE=off, GOCACHE from the environment). Without go
 * (GO empty or missing) the program exits 77: skipped.
 *
 * Each test runs once per codec (loop index 0: gob, 1: JSON).
 * - go_client: our server (the checked-in golden all.rpc.c) on
 *   127.0.0.1:0 in a thread; `peer client CODEC ADDR` calls every method
 *   through the generated ArithClient / EchoClient / ConfigClient /
 *   ShapesClient and checks the replies (a zero Defaults comes back zero:
 *   no [default]; each oneof member; a member set to zero lost over gob;
 *   two members set answered with an error, the connection serving on).
 * - go_server: `peer server CODEC` serves an ArithService and an EchoService
 * via the generated RegisterArith / RegisterEcho and prints its address; our
 *   golden stubs call it and check the replies; closing its stdin ends it,
 *   and the test waits for it by pid (killing it by pid if it lingers).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "all.rpc.h"
#include "all_handlers.h"

static char peer_dir[256]; /* the temporary folder */
static char peer_bin[512]; /* the built peer */

static const struct {
	const char *name; /* as peer.go spells it */
	const rpc_codec *codec;
	const char *ok; /* what the Go client prints */
} codecs[] = {
    {"gob", &rpc_codec_gob, "ok 26 checks\n"},
    {"json", &rpc_codec_json, "ok 25 checks\n"}, /* no Tally */
};

/* ---- handlers (our server) ----------------------------------------------- */

/* tally_put adds key = value to the map reply. */
static int tally_put(all_StringInt64Map *r, const char *key, int64_t value)
{
	all_StringInt64Map_ValueEntry *e = malloc(sizeof *e);
	if (e == NULL)
		return -1;
	all_StringInt64Map_ValueEntry_init(e);
	e->key = rpc_strdup(key);
	e->value = value;
	r->value[r->n_value++] = e;
	return e->key ? 0 : -1;
}

/* h_tally reports what arrived of every kind of field the Go side sets. */
static rpc_error *h_tally(void *self, const all_Everything *e,
                          all_StringInt64Map *reply)
{
	(void)self;
	reply->value = calloc(32, sizeof *reply->value);
	if (reply->value == NULL)
		return rpc_error_new("out of memory");
	int64_t counts_k = -1, places_home = -1, ops_neg = -100;
	for (size_t i = 0; i < e->n_Counts; i++)
		if (strcmp(e->Counts[i]->key, "k") == 0)
			counts_k = e->Counts[i]->value;
	for (size_t i = 0; i < e->n_Places; i++)
		if (strcmp(e->Places[i]->key, "home") == 0 &&
		    e->Places[i]->value)
			places_home =
			    e->Places[i]->value->X + e->Places[i]->value->Y;
	for (size_t i = 0; i < e->n_OpsByName; i++)
		if (strcmp(e->OpsByName[i]->key, "neg") == 0)
			ops_neg = e->OpsByName[i]->value;
	struct {
		const char *k;
		int64_t v;
	} kv[] = {
	    {"flag", e->Flag},
	    {"i", e->I},
	    {"u", e->U},
	    {"f2", (int64_t)(e->F * 2)},
	    {"name", (int64_t)strlen(e->Name)},
	    {"blob", (int64_t)e->Blob.len},
	    {"kind", e->Kind},
	    {"inner", e->Inner ? e->Inner->A * e->Inner->B : -1},
	    {"where", e->Where ? e->Where->X + e->Where->Y : -1},
	    {"paint", e->Paint},
	    {"nums", (int64_t)e->n_Nums},
	    {"names", (int64_t)e->n_Names},
	    {"items", (int64_t)e->n_Items},
	    {"ops0", e->n_Ops ? (int64_t)e->Ops[0] : -100},
	    {"path", (int64_t)e->n_Path},
	    {"counts.k", counts_k},
	    {"places.home", places_home},
	    {"opsbyname.neg", ops_neg},
	    {"maybe", e->has_Maybe ? e->Maybe : -1},
	    {"maybename", e->MaybeName ? (int64_t)strlen(e->MaybeName) : -1},
	    {"maybel", e->has_MaybeL ? e->MaybeL : -1},
	};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
		if (tally_put(reply, kv[i].k, kv[i].v) < 0)
			return rpc_error_new("out of memory");
	return NULL;
}

static rpc_error *h_move(void *self, const common_Point *p, common_Point *reply)
{
	(void)self;
	reply->X = p->X + 1;
	reply->Y = p->Y - 1;
	return NULL;
}

static rpc_error *h_echo(void *self, const char *s, ProtobufCBinaryData *reply)
{
	(void)self;
	reply->len = strlen(s);
	reply->data = (uint8_t *)rpc_strdup(s);
	return reply->data ? NULL : rpc_error_new("out of memory");
}

static rpc_error *h_expand(void *self, all_Op op, all_ArgsList *reply)
{
	(void)self;
	size_t n = op == ALL_OP_NEG ? 2 : 1;
	reply->value = calloc(n, sizeof *reply->value);
	if (reply->value == NULL)
		return rpc_error_new("out of memory");
	for (size_t i = 0; i < n; i++) {
		all_Args *a = malloc(sizeof *a);
		if (a == NULL)
			return rpc_error_new("out of memory");
		all_Args_init(a);
		a->A = (int64_t)op;
		a->B = (int64_t)i;
		reply->value[reply->n_value++] = a;
	}
	return NULL;
}

static rpc_error *h_echo_echo(void *self, const char *in, char **out)
{
	(void)self;
	*out = rpc_strdup(in);
	return *out ? NULL : rpc_error_new("out of memory");
}

static const all_Arith_handlers arith_handlers = {
    .Multiply = arith_multiply,
    .Divide = arith_divide,
    .Negate = arith_negate,
    .Sort = arith_sort,
    .Sum = arith_sum,
    .Tally = h_tally,
    .Move = h_move,
    .Echo = h_echo,
    .Expand = h_expand,
};

static const all_Echo_handlers echo_handlers = {.Echo = h_echo_echo};

static rpc_error *h_config_echo(void *self, const all_Defaults *d,
                                all_Defaults *reply)
{
	(void)self;
	return all_Defaults_copy(reply, d) ? NULL
	                                   : rpc_error_new("out of memory");
}

static const all_Config_handlers config_handlers = {.Echo = h_config_echo};

/* ---- helpers ------------------------------------------------------------- */

/* run_wait runs argv (argv[0] a path) with stdout into out_path (or
 * inherited when NULL) and env extra settings; returns the exit status, or
 * -1 when it did not exit normally. */
static int run_wait(const char *const *argv, const char *out_path)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out_path != NULL) {
			int fd =
			    open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
			if (fd < 0)
				_exit(127);
			dup2(fd, 1);
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = calloc(1, 65536);
	if (buf != NULL)
		fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

/* ---- Go client, our server ----------------------------------------------- */

typedef struct acceptor {
	rpc_server *srv;
	rpc_listener *l;
} acceptor;

static void *accept_thread(void *arg)
{
	acceptor *a = arg;
	rpc_error_free(rpc_server_accept(a->srv, a->l));
	return NULL;
}

START_TEST(test_go_client_calls_our_server)
{
	acceptor a = {0};
	rpc_server_options so = {.codec = codecs[_i].codec, .threads = 1};
	ck_assert_ptr_null(rpc_server_new(&so, &a.srv));
	ck_assert_ptr_null(all_Arith_register(a.srv, &arith_handlers, NULL));
	ck_assert_ptr_null(all_Echo_register(a.srv, &echo_handlers, NULL));
	ck_assert_ptr_null(
	    all_Config_register(a.srv, &config_handlers, NULL));
	ck_assert_ptr_null(all_Shapes_register(a.srv, &shapes_handlers, NULL));
	ck_assert_ptr_null(rpc_listen("tcp:127.0.0.1:0", &a.l));
	const char *addr = rpc_listener_address(a.l);
	ck_assert_ptr_nonnull(strstr(addr, "tcp:127.0.0.1:"));
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, accept_thread, &a), 0);

	char out_path[600];
	snprintf(out_path, sizeof out_path, "%s/client-%s.out", peer_dir,
	         codecs[_i].name);
	const char *argv[] = {peer_bin, "client", codecs[_i].name, addr + 4,
	                      NULL};
	int rc = run_wait(argv, out_path);

	rpc_listener_close(a.l);
	pthread_join(th, NULL);
	rpc_listener_free(a.l);
	rpc_server_free(a.srv);

	char *out = slurp(out_path);
	ck_assert_ptr_nonnull(out);
	ck_assert_msg(rc == 0, "peer client (%s) exited %d: %s",
	              codecs[_i].name, rc, out);
	ck_assert_str_eq(out, codecs[_i].ok);
	free(out);
}
END_TEST

/* ---- our client, Go server ----------------------------------------------- */

typedef struct go_server {
	pid_t pid;
	int stdin_fd;
	char addr[192];
} go_server;

static void go_server_start(go_server *g, const char *codec)
{
	int in[2], out[2];
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	g->pid = fork();
	ck_assert_int_ge(g->pid, 0);
	if (g->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl(peer_bin, peer_bin, "server", codec, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	g->stdin_fd = in[1];
	/* one line: "listening HOST:PORT" */
	char line[160] = {0};
	size_t n = 0;
	while (n + 1 < sizeof line) {
		ssize_t r = read(out[0], line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(out[0]);
	ck_assert_msg(strncmp(line, "listening 127.0.0.1:", 20) == 0,
	              "peer server said: '%s'", line);
	snprintf(g->addr, sizeof g->addr, "tcp:%s", line + 10);
}

/* go_server_stop closes the server's stdin (it exits) and waits for it by
 * pid, killing it by pid after about 10 s. */
static void go_server_stop(go_server *g)
{
	close(g->stdin_fd);
	int status;
	for (int i = 0; i < 1000; i++) {
		pid_t r = waitpid(g->pid, &status, WNOHANG);
		if (r == g->pid)
			return;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	kill(g->pid, SIGKILL);
	waitpid(g->pid, &status, 0);
}

START_TEST(test_our_client_calls_go_server)
{
	go_server g;
	go_server_start(&g, codecs[_i].name);
	rpc_client_options co = {.codec = codecs[_i].codec};
	rpc_client *c = NULL;
	rpc_error *err = rpc_dial(g.addr, &co, &c);
	ck_assert_msg(err == NULL, "dial %s: %s", g.addr,
	              err ? rpc_error_message(err) : "");

	all_Args args = ALL_ARGS_INIT;
	args.A = 6;
	args.B = 7;
	int64_t p = 0;
	ck_assert_ptr_null(all_Arith_Multiply(c, &args, &p));
	ck_assert_int_eq(p, 42);

	all_Quotient q = ALL_QUOTIENT_INIT;
	args.A = 17;
	args.B = 5;
	ck_assert_ptr_null(all_Arith_Divide(c, &args, &q));
	ck_assert_int_eq(q.Quo, 3);
	ck_assert_int_eq(q.Rem, 2);
	all_Quotient_free_contents(&q);
	args.B = 0;
	err = all_Arith_Divide(c, &args, &q);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SERVER);
	ck_assert_str_eq(rpc_error_message(err), "divide by zero");
	rpc_error_free(err);
	all_Quotient_free_contents(&q);

	int64_t n = 0;
	ck_assert_ptr_null(all_Arith_Negate(c, 9, &n));
	ck_assert_int_eq(n, -9);

	int64_t nums[] = {5, -3, 4};
	all_Int64List in = ALL_INT64LIST_INIT, sorted = ALL_INT64LIST_INIT;
	in.n_value = 3;
	in.value = nums;
	ck_assert_ptr_null(all_Arith_Sort(c, &in, &sorted));
	ck_assert_uint_eq(sorted.n_value, 3);
	ck_assert_int_eq(sorted.value[0], -3);
	ck_assert_int_eq(sorted.value[2], 5);
	all_Int64List_free_contents(&sorted);

	all_Everything e = ALL_EVERYTHING_INIT;
	all_Args inner = ALL_ARGS_INIT;
	inner.A = 3;
	inner.B = 5;
	common_Point where = COMMON_POINT_INIT;
	where.X = 1;
	where.Y = 2;
	int64_t enums[] = {1, 2};
	e.Inner = &inner;
	e.Where = &where;
	e.Paint = COMMON_COLOR_GREEN;
	e.n_Nums = 2;
	e.Nums = enums;
	e.has_Maybe = true;
	e.Maybe = 11;
	all_StringInt64Map t = ALL_STRINGINT64MAP_INIT;
	ck_assert_ptr_null(all_Arith_Tally(c, &e, &t));
	struct {
		const char *k;
		int64_t want;
	} want[] = {{"inner", 15},
	            {"where", 3},
	            {"paint", 1},
	            {"nums", 2},
	            {"maybe", 11}};
	int found = 0;
	for (size_t i = 0; i < t.n_value; i++) {
		for (size_t j = 0; j < sizeof want / sizeof want[0]; j++) {
			if (strcmp(t.value[i]->key, want[j].k) != 0)
				continue;
			ck_assert_msg(t.value[i]->value == want[j].want,
			              "Tally %s = %lld", want[j].k,
			              (long long)t.value[i]->value);
			found++;
		}
	}
	ck_assert_int_eq(found, 5);
	all_StringInt64Map_free_contents(&t);

	common_Point mv = COMMON_POINT_INIT;
	ck_assert_ptr_null(all_Arith_Move(c, &where, &mv));
	ck_assert_int_eq(mv.X, 2);
	ck_assert_int_eq(mv.Y, 1);
	common_Point_free_contents(&mv);

	ProtobufCBinaryData b = {0, NULL};
	ck_assert_ptr_null(all_Arith_Echo(c, "raw", &b));
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.data, "raw", 3), 0);
	free(b.data);

	all_ArgsList l = ALL_ARGSLIST_INIT;
	ck_assert_ptr_null(all_Arith_Expand(c, ALL_OP_NEG, &l));
	ck_assert_uint_eq(l.n_value, 2);
	ck_assert_int_eq(l.value[1]->A, -1);
	ck_assert_int_eq(l.value[1]->B, 1);
	all_ArgsList_free_contents(&l);

	char *s = NULL;
	ck_assert_ptr_null(all_Echo_Echo(c, "héllo", &s));
	ck_assert_str_eq(s, "héllo");
	free(s);

	/* oneofs: each member kind and none, through Go's struct of
	 * pointers; the Go server names the member it got */
	for (int k = 0; k < SHAPE_KINDS; k++) {
		all_Shape sh = ALL_SHAPE_INIT, r = ALL_SHAPE_INIT;
		all_Args box = ALL_ARGS_INIT;
		uint8_t raw[2];
		char *w = NULL;

		shape_make(&sh, k, &box, raw);
		ck_assert_ptr_null(all_Shapes_Echo(c, &sh, &r));
		ck_assert_msg(all_Shape_equal(&sh, &r), "Shapes.Echo kind %d",
		              k);
		all_Shape_free_contents(&r);
		ck_assert_ptr_null(all_Shapes_Which(c, &sh, &w));
		ck_assert_str_eq(w, shape_member(&sh));
		free(w);
	}
	/* a member set to zero: Go's gob leaves it out, JSON sends it */
	{
		all_Shape sh = ALL_SHAPE_INIT;
		char *w = NULL;

		sh.kind_case = ALL_SHAPE_KIND_MODE;
		sh.Mode = ALL_OP_ADD;
		ck_assert_ptr_null(all_Shapes_Which(c, &sh, &w));
		ck_assert_str_eq(w, _i == 0 ? "" : "Mode");
		free(w);
	}

	rpc_client_free(c);
	go_server_stop(&g);
}
END_TEST

/* ---- building the peer --------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* build_peer generates all.rpc.go into peer_dir and builds peer_bin.
 * Returns 0, or -1 after saying why on stderr. */
static int build_peer(const char *go)
{
	const char *rpcgen = getenv("RPCGEN_C");
	const char *golden = getenv("GOLDEN_DIR");
	const char *src = getenv("GO_PEER_SRC");
	if (!rpcgen || !golden || !src) {
		fputs("RPCGEN_C, GOLDEN_DIR and GO_PEER_SRC must be set\n",
		      stderr);
		return -1;
	}
	char input[600], peer_go[600];
	snprintf(input, sizeof input, "%s/all.rpc", golden);
	snprintf(peer_go, sizeof peer_go, "%s/peer.go", peer_dir);
	const char *gen[] = {rpcgen, "--emit-go", "--go-package", "main", "-I",
	                     golden, "-o",        peer_dir,       input,  NULL};
	if (run_wait(gen, NULL) != 0) {
		fputs("rpcgen-c --emit-go failed\n", stderr);
		return -1;
	}
	char *text = slurp(src);
	FILE *f = fopen(peer_go, "wb");
	if (text == NULL || f == NULL) {
		fprintf(stderr, "cannot copy %s\n", src);
		free(text);
		if (f)
			fclose(f);
		return -1;
	}
	fputs(text, f);
	fclose(f);
	free(text);
	setenv("GO111MODULE", "off", 1);
	setenv("CGO_ENABLED", "0", 1);
	setenv("GOFLAGS", "", 1);
	if (getenv("GOCACHE") == NULL) {
		char cache[600];
		snprintf(cache, sizeof cache, "%s/gocache", peer_dir);
		setenv("GOCACHE", cache, 1);
	}
	char gopath[600], all_go[600];
	snprintf(gopath, sizeof gopath, "%s/gopath", peer_dir);
	setenv("GOPATH", gopath, 1);
	snprintf(peer_bin, sizeof peer_bin, "%s/peer", peer_dir);
	snprintf(all_go, sizeof all_go, "%s/all.rpc.go", peer_dir);
	const char *build[] = {go,      "build", "-o", peer_bin,
	                       peer_go, all_go,  NULL};
	if (run_wait(build, NULL) != 0) {
		fputs("go build of the peer failed\n", stderr);
		return -1;
	}
	return 0;
}

int main(void)
{
	const char *go = getenv("GO");
	if (go == NULL || go[0] == '\0' || access(go, X_OK) != 0) {
		puts("go not found: skipped");
		return 77;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(peer_dir, sizeof peer_dir, "%s/rpcgen-gopeer-XXXXXX",
	         tmp ? tmp : "/tmp");
	if (mkdtemp(peer_dir) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	signal(SIGPIPE, SIG_IGN);
	int failed = 1;
	if (build_peer(go) == 0) {
		Suite *s = suite_create("go_peer");
		TCase *tc = tcase_create("go_client");
		tcase_add_loop_test(tc, test_go_client_calls_our_server, 0, 2);
		suite_add_tcase(s, tc);
		tc = tcase_create("go_server");
		tcase_add_loop_test(tc, test_our_client_calls_go_server, 0, 2);
		suite_add_tcase(s, tc);
		SRunner *sr = srunner_create(s);
		srunner_run_all(sr, CK_NORMAL);
		failed = srunner_ntests_failed(sr);
		srunner_free(sr);
	}
	nftw(peer_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
