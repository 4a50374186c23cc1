/* test_c_client.c - our client (librpc + stubs generated from interop.rpc)
 * against Go's real net/rpc server (goserver.go).
 *
 * main() starts the Go server named by $GOSERVER once, reads the addresses
 * it prints, runs the suite and stops the server by pid (closing its stdin,
 * then SIGTERM). Without $GOSERVER (no Go toolchain) it exits 77: SKIP.
 *
 * Every test runs once per way of reaching Go (a Check loop test over
 * conn_modes): gob, jsonrpc, HTTP CONNECT on /_goRPC_ (gob) and HTTP
 * CONNECT on /foo (Go's second server, DialHTTPPath).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "interop.rpc.h"

extern char **environ;

/* ---- the Go server ------------------------------------------------------- */

/* go_server is one running Go server process. */
struct go_server {
	pid_t pid;
	int in; /* its stdin: closing it stops the server */
	char gob[128], json[128], http[128];
};

/* The shared server every test talks to, started by main(). */
static struct go_server go = {.pid = -1, .in = -1};
static const char *go_path;

/* read_line reads one line from fd into buf (without the newline), waiting
 * at most deadline_ms for each byte. Returns false on EOF, error or
 * timeout. */
static bool read_line(int fd, char *buf, size_t size, int deadline_ms)
{
	size_t n = 0;
	while (n + 1 < size) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, deadline_ms) <= 0)
			return false;
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r <= 0)
			return false;
		if (ch == '\n')
			break;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return true;
}

/* go_server_stop ends a server we started: EOF on its stdin, SIGTERM to
 * its pid, and reaps it. */
static void go_server_stop(struct go_server *g)
{
	if (g->in >= 0)
		close(g->in);
	g->in = -1;
	if (g->pid > 0) {
		kill(g->pid, SIGTERM);
		waitpid(g->pid, NULL, 0);
	}
	g->pid = -1;
}

/* go_server_start runs the program at path and reads the addresses it
 * prints up to "ready". On failure everything is undone. */
static bool go_server_start(struct go_server *g, const char *path)
{
	int in[2], out[2];
	*g = (struct go_server){.pid = -1, .in = -1};
	if (pipe2(in, O_CLOEXEC) != 0)
		return false;
	if (pipe2(out, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		return false;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	char *argv[] = {(char *)path, NULL};
	int rc = posix_spawn(&g->pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	g->in = in[1];
	if (rc != 0) {
		fprintf(stderr, "test_c_client: cannot start %s: %s\n", path,
		        strerror(rc));
		g->pid = -1;
		close(out[0]);
		go_server_stop(g);
		return false;
	}
	bool ok = false;
	char line[256];
	while (read_line(out[0], line, sizeof line, 60000)) {
		char *sp = strchr(line, ' ');
		if (strcmp(line, "ready") == 0) {
			ok = g->gob[0] && g->json[0] && g->http[0];
			break;
		}
		if (!sp)
			continue;
		*sp++ = '\0';
		if (strcmp(line, "gob") == 0)
			snprintf(g->gob, sizeof g->gob, "%s", sp);
		else if (strcmp(line, "json") == 0)
			snprintf(g->json, sizeof g->json, "%s", sp);
		else if (strcmp(line, "http") == 0)
			snprintf(g->http, sizeof g->http, "%s", sp);
	}
	close(out[0]);
	if (!ok) {
		fprintf(stderr, "test_c_client: %s did not say ready\n", path);
		go_server_stop(g);
	}
	return ok;
}

/* ---- connecting ---------------------------------------------------------- */

enum { MODE_GOB, MODE_JSON, MODE_HTTP, MODE_HTTP_PATH, N_MODES };
static const char *const mode_names[N_MODES] = {"gob", "json", "http",
                                                "http /foo"};

static rpc_client *dial_server(const struct go_server *g, int mode)
{
	rpc_client_options o = {.codec = &rpc_codec_gob};
	rpc_client *c = NULL;
	rpc_error *err = NULL;

	switch (mode) {
	case MODE_GOB:
		err = rpc_dial(g->gob, &o, &c);
		break;
	case MODE_JSON:
		o.codec = &rpc_codec_json;
		err = rpc_dial(g->json, &o, &c);
		break;
	case MODE_HTTP:
		err = rpc_dial_http(g->http, NULL, &o, &c);
		break;
	default:
		err = rpc_dial_http(g->http, "/foo", &o, &c);
		break;
	}
	ck_assert_msg(err == NULL, "%s: dial: %s", mode_names[mode],
	              rpc_error_message(err));
	ck_assert_ptr_nonnull(c);
	return c;
}

static rpc_client *dial_mode(int mode)
{
	return dial_server(&go, mode);
}

/* method_of finds a method of a generated service, for calls under a
 * service name other than the one the stubs use. */
static const rpc_method *method_of(const rpc_service_desc *s, const char *name)
{
	for (size_t i = 0; i < s->n_methods; i++)
		if (strcmp(s->methods[i].name, name) == 0)
			return &s->methods[i];
	ck_abort_msg("no method %s", name);
	return NULL;
}

/* expect_server_error checks err is a remote error with exactly text, and
 * frees it. */
#define expect_server_error(err, text)                                         \
	do {                                                                   \
		rpc_error *e_ = (err);                                         \
		ck_assert_msg(e_ != NULL, "%s: expected error %s", __func__,   \
		              text);                                           \
		ck_assert_str_eq(rpc_error_message(e_), text);                 \
		ck_assert_int_eq(rpc_error_kind_of(e_), RPC_ERR_SERVER);       \
		rpc_error_free(e_);                                            \
	} while (0)

#define expect_ok(err)                                                         \
	do {                                                                   \
		rpc_error *e_ = (err);                                         \
		ck_assert_msg(e_ == NULL, "%s: %s", mode_names[_i],            \
		              rpc_error_message(e_));                          \
	} while (0)

static interop_Args args_of(int64_t a, int64_t b)
{
	interop_Args x = INTEROP_ARGS_INIT;
	x.A = a;
	x.B = b;
	return x;
}

/* ---- calls --------------------------------------------------------------- */

START_TEST(test_arith_add_mul_div)
{
	rpc_client *c = dial_mode(_i);
	interop_Args a = args_of(7, 8);
	interop_Reply r = INTEROP_REPLY_INIT;

	expect_ok(interop_Arith_Add(c, &a, &r));
	ck_assert_int_eq(r.C, 15);
	expect_ok(interop_Arith_Mul(c, &a, &r));
	ck_assert_int_eq(r.C, 56);
	a = args_of(-17, 5);
	expect_ok(interop_Arith_Div(c, &a, &r));
	ck_assert_int_eq(r.C, -3);
	a = args_of(INT64_MAX - 1, 1);
	expect_ok(interop_Arith_Add(c, &a, &r));
	ck_assert_int_eq(r.C, INT64_MAX);
	/* A zero result: gob leaves the field out, it must still read 0. */
	interop_Reply_init(&r);
	a = args_of(5, -5);
	expect_ok(interop_Arith_Add(c, &a, &r));
	ck_assert_int_eq(r.C, 0);
	/* rpc_client_call overwrites *reply: a field the body leaves out (gob
	 * sends no zeroes) reads as zero, not as what was there before. */
	r.C = 99;
	expect_ok(interop_Arith_Add(c, &a, &r));
	ck_assert_int_eq(r.C, 0);
	rpc_client_free(c);
}
END_TEST

START_TEST(test_arith_string_reply)
{
	rpc_client *c = dial_mode(_i);
	interop_Args a = args_of(27, 35);
	char *s = NULL;

	expect_ok(interop_Arith_String(c, &a, &s));
	ck_assert_str_eq(s, "27+35=62");
	rpc_value_free_contents(&interop_StringValue_type, &s);
	a = args_of(-1, 0);
	s = NULL;
	expect_ok(interop_Arith_String(c, &a, &s));
	ck_assert_str_eq(s, "-1+0=-1");
	rpc_value_free_contents(&interop_StringValue_type, &s);
	rpc_client_free(c);
}
END_TEST

START_TEST(test_arith_scan_string_arg)
{
	rpc_client *c = dial_mode(_i);
	interop_Reply r = INTEROP_REPLY_INIT;

	expect_ok(interop_Arith_Scan(c, "12345", &r));
	ck_assert_int_eq(r.C, 12345);
	expect_ok(interop_Arith_Scan(c, "-9223372036854775808", &r));
	ck_assert_int_eq(r.C, INT64_MIN);
	/* fmt.Sscan's own error text comes back. */
	expect_server_error(interop_Arith_Scan(c, "twelve", &r),
	                    "expected integer");
	expect_server_error(interop_Arith_Scan(c, "99999999999999999999", &r),
	                    "strconv.ParseInt: parsing \"99999999999999999999\": "
	                    "value out of range");
	rpc_client_free(c);
}
END_TEST

START_TEST(test_arith_dotted_service_name)
{
	rpc_client *c = dial_mode(_i);
	interop_Args a = args_of(7, 8);
	interop_Reply r = INTEROP_REPLY_INIT;
	const rpc_method *add = method_of(&interop_Arith_service, "Add");

	expect_ok(rpc_client_call(c, "net.rpc.Arith.Add", add, &a, &r));
	ck_assert_int_eq(r.C, 15);
	if (_i == MODE_HTTP_PATH) {
		r.C = 0;
		expect_ok(rpc_client_call(c, "newServer.Arith.Add", add, &a,
		                          &r));
		ck_assert_int_eq(r.C, 15);
	} else {
		expect_server_error(
			rpc_client_call(c, "newServer.Arith.Add", add, &a, &r),
			"rpc: can't find service newServer.Arith.Add");
	}
	rpc_client_free(c);
}
END_TEST

START_TEST(test_embed_exported)
{
	rpc_client *c = dial_mode(_i);
	interop_Args a = args_of(7, 0);
	interop_Reply r = INTEROP_REPLY_INIT;

	expect_ok(interop_Embed_Exported(c, &a, &r));
	ck_assert_int_eq(r.C, 7);
	rpc_client_free(c);
}
END_TEST

START_TEST(test_builtin_map_slice_array)
{
	rpc_client *c = dial_mode(_i);
	interop_Args a = args_of(7, 8);
	interop_Int64Int64Map m = INTEROP_INT64INT64MAP_INIT;
	interop_Int64List l = INTEROP_INT64LIST_INIT;

	expect_ok(interop_BuiltinTypes_Map(c, &a, &m));
	ck_assert_uint_eq(m.n_value, 1);
	ck_assert_int_eq(m.value[0]->key, 7);
	ck_assert_int_eq(m.value[0]->value, 8);
	interop_Int64Int64Map_free_contents(&m);

	expect_ok(interop_BuiltinTypes_Slice(c, &a, &l));
	ck_assert_uint_eq(l.n_value, 2);
	ck_assert_int_eq(l.value[0], 7);
	ck_assert_int_eq(l.value[1], 8);
	interop_Int64List_free_contents(&l);

	/* Go replies with a [2]int array */
	interop_Int64Array2 arr = INTEROP_INT64ARRAY2_INIT;
	a = args_of(-1, 0);
	arr.value[1] = 5; /* overwritten */
	expect_ok(interop_BuiltinTypes_Array(c, &a, &arr));
	ck_assert_int_eq(arr.value[0], -1);
	ck_assert_int_eq(arr.value[1], 0);
	a = args_of(INT64_MIN, INT64_MAX);
	expect_ok(interop_BuiltinTypes_Array(c, &a, &arr));
	ck_assert_int_eq(arr.value[0], INT64_MIN);
	ck_assert_int_eq(arr.value[1], INT64_MAX);
	interop_Int64Array2_free_contents(&arr);
	rpc_client_free(c);
}
END_TEST

/* ---- arrays -------------------------------------------------------------- */

/* Go's Arrays.Echo ([2]int64, [2]string, [2]*Args, [3]Op, [1][]byte,
 * [2]float64 fields) returns what we send, in every mode. */
START_TEST(test_arrays_echo)
{
	rpc_client *c = dial_mode(_i);
	interop_Fixed in = INTEROP_FIXED_INIT, out = INTEROP_FIXED_INIT;
	interop_Args a0 = args_of(1, -2), a1 = args_of(0, 0);
	uint8_t blob[] = {0, 0xff};

	in.Pair[0] = INT64_MIN;
	in.Pair[1] = INT64_MAX;
	in.Names[0] = "h\xc3\xa9llo";
	in.Names[1] = "";
	in.Two[0] = &a0;
	in.Two[1] = &a1;
	in.Ops[0] = INTEROP_OP_NEG;
	in.Ops[2] = INTEROP_OP_SUB;
	in.Blob[0].data = blob;
	in.Blob[0].len = sizeof blob;
	in.D[0] = 0.5;
	in.D[1] = -1e300;
	in.Tail = 42;
	expect_ok(interop_Arrays_Echo(c, &in, &out));
	ck_assert(interop_Fixed_equal(&in, &out));
	ck_assert_int_eq(out.Pair[0], INT64_MIN);
	ck_assert_str_eq(out.Names[0], "h\xc3\xa9llo");
	ck_assert_int_eq(out.Two[0]->B, -2);
	ck_assert_int_eq(out.Ops[0], INTEROP_OP_NEG);
	ck_assert_uint_eq(out.Blob[0].len, 2);
	interop_Fixed_free_contents(&out);

	/* all zero, NULL elements included: sent as zeros, back as zeros */
	interop_Fixed zero = INTEROP_FIXED_INIT;
	expect_ok(interop_Arrays_Echo(c, &zero, &out));
	ck_assert(interop_Fixed_equal(&zero, &out));
	ck_assert_int_eq(out.Pair[1], 0);
	interop_Fixed_free_contents(&out);
	rpc_client_free(c);
}
END_TEST

/* ---- Echo over every type ------------------------------------------------ */

struct every_storage {
	interop_Args inner, items[3], place_a, place_b;
	interop_Args *item_ptrs[3];
	int64_t nums[4];
	char *tags[5];
	double weights[3];
	interop_Everything_CountsEntry counts[2], *count_ptrs[2];
	interop_Everything_NamesEntry names[2], *name_ptrs[2];
	interop_Everything_PlacesEntry places[2], *place_ptrs[2];
	uint8_t blob[5];
};

/* every_fill sets every field of e to a value that is not its zero, using
 * storage st (e borrows it). */
static void every_fill(interop_Everything *e, struct every_storage *st)
{
	interop_Everything_init(e);
	e->Flag = 1;
	e->I = INT32_MIN;
	e->L = INT64_MIN;
	e->U = UINT32_MAX;
	e->UL = UINT64_MAX;
	e->F = 1.5f;
	e->D = 3.141592653589793;
	e->Name = (char *)"héllo, \"wörld\" <&> \t\n";
	memcpy(st->blob, "\0\1\xff\x80z", 5);
	e->Blob.data = st->blob;
	e->Blob.len = 5;
	e->Kind = INTEROP_OP_NEG;
	st->inner = args_of(1, -2);
	e->Inner = &st->inner;
	for (int i = 0; i < 3; i++) {
		st->items[i] = args_of(i, 10 * i);
		st->item_ptrs[i] = &st->items[i];
	}
	e->n_Items = 3;
	e->Items = st->item_ptrs;
	st->nums[0] = 0;
	st->nums[1] = -1;
	st->nums[2] = INT64_MAX;
	st->nums[3] = INT64_MIN;
	e->n_Nums = 4;
	e->Nums = st->nums;
	st->tags[0] = (char *)"a";
	st->tags[1] = (char *)"";
	st->tags[2] = (char *)"ccc";
	st->tags[3] = (char *)"line\u2028sep\u2029 \x7f";
	st->tags[4] = (char *)"emoji \U0001F600 \xe2\x82\xac";
	e->n_Tags = 5;
	e->Tags = st->tags;
	st->weights[0] = 0.5;
	st->weights[1] = -1e300;
	st->weights[2] = 0;
	e->n_Weights = 3;
	e->Weights = st->weights;
	for (int i = 0; i < 2; i++) {
		interop_Everything_CountsEntry ce = INTEROP_EVERYTHING_COUNTSENTRY_INIT;
		interop_Everything_NamesEntry ne = INTEROP_EVERYTHING_NAMESENTRY_INIT;
		interop_Everything_PlacesEntry pe = INTEROP_EVERYTHING_PLACESENTRY_INIT;
		st->counts[i] = ce;
		st->names[i] = ne;
		st->places[i] = pe;
		st->count_ptrs[i] = &st->counts[i];
		st->name_ptrs[i] = &st->names[i];
		st->place_ptrs[i] = &st->places[i];
	}
	st->counts[0].key = (char *)"one";
	st->counts[0].value = 1;
	st->counts[1].key = (char *)"minus";
	st->counts[1].value = -1000000000000;
	e->n_Counts = 2;
	e->Counts = st->count_ptrs;
	st->names[0].key = 7;
	st->names[0].value = (char *)"seven";
	st->names[1].key = -1;
	st->names[1].value = (char *)"minus one";
	e->n_Names = 2;
	e->Names = st->name_ptrs;
	st->place_a = args_of(1, 2);
	st->place_b = args_of(3, 4);
	st->places[0].key = (char *)"a";
	st->places[0].value = &st->place_a;
	st->places[1].key = (char *)"b";
	st->places[1].value = &st->place_b;
	e->n_Places = 2;
	e->Places = st->place_ptrs;
	e->has_Maybe = 1;
	e->Maybe = -5;
	e->Note = (char *)"note";
	e->has_Ratio = 1;
	e->Ratio = 0.25;
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

/* every_check compares a reply with what every_fill sent; map entries may
 * come back in any order (Go's maps are unordered). */
static void every_check(const interop_Everything *e)
{
	ck_assert(e->Flag);
	ck_assert_int_eq(e->I, INT32_MIN);
	ck_assert_int_eq(e->L, INT64_MIN);
	ck_assert_uint_eq(e->U, UINT32_MAX);
	ck_assert_uint_eq(e->UL, UINT64_MAX);
	ck_assert(e->F == 1.5f);
	ck_assert(e->D == 3.141592653589793);
	ck_assert_str_eq(e->Name, "héllo, \"wörld\" <&> \t\n");
	ck_assert_uint_eq(e->Blob.len, 5);
	ck_assert_mem_eq(e->Blob.data, "\0\1\xff\x80z", 5);
	ck_assert_int_eq(e->Kind, INTEROP_OP_NEG);
	ck_assert_ptr_nonnull(e->Inner);
	ck_assert_int_eq(e->Inner->A, 1);
	ck_assert_int_eq(e->Inner->B, -2);
	ck_assert_uint_eq(e->n_Items, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_nonnull(e->Items[i]);
		ck_assert_int_eq(e->Items[i]->A, i);
		ck_assert_int_eq(e->Items[i]->B, 10 * i);
	}
	ck_assert_uint_eq(e->n_Nums, 4);
	ck_assert_int_eq(e->Nums[0], 0);
	ck_assert_int_eq(e->Nums[1], -1);
	ck_assert_int_eq(e->Nums[2], INT64_MAX);
	ck_assert_int_eq(e->Nums[3], INT64_MIN);
	ck_assert_uint_eq(e->n_Tags, 5);
	ck_assert_str_eq(e->Tags[0], "a");
	ck_assert_str_eq(str_or_empty(e->Tags[1]), "");
	ck_assert_str_eq(e->Tags[2], "ccc");
	ck_assert_str_eq(e->Tags[3], "line\u2028sep\u2029 \x7f");
	ck_assert_str_eq(e->Tags[4], "emoji \U0001F600 \xe2\x82\xac");
	ck_assert_uint_eq(e->n_Weights, 3);
	ck_assert(e->Weights[0] == 0.5);
	ck_assert(e->Weights[1] == -1e300);
	ck_assert(e->Weights[2] == 0);

	ck_assert_uint_eq(e->n_Counts, 2);
	for (size_t i = 0; i < 2; i++) {
		const interop_Everything_CountsEntry *ce = e->Counts[i];
		if (strcmp(ce->key, "one") == 0)
			ck_assert_int_eq(ce->value, 1);
		else if (strcmp(ce->key, "minus") == 0)
			ck_assert_int_eq(ce->value, -1000000000000);
		else
			ck_abort_msg("unexpected Counts key %s", ce->key);
	}
	ck_assert_str_ne(e->Counts[0]->key, e->Counts[1]->key);
	ck_assert_uint_eq(e->n_Names, 2);
	ck_assert_int_ne(e->Names[0]->key, e->Names[1]->key);
	for (size_t i = 0; i < 2; i++) {
		const interop_Everything_NamesEntry *ne = e->Names[i];
		if (ne->key == 7)
			ck_assert_str_eq(ne->value, "seven");
		else if (ne->key == -1)
			ck_assert_str_eq(ne->value, "minus one");
		else
			ck_abort_msg("unexpected Names key %" PRId64, ne->key);
	}
	ck_assert_uint_eq(e->n_Places, 2);
	ck_assert_str_ne(e->Places[0]->key, e->Places[1]->key);
	for (size_t i = 0; i < 2; i++) {
		const interop_Everything_PlacesEntry *pe = e->Places[i];
		ck_assert_ptr_nonnull(pe->value);
		if (strcmp(pe->key, "a") == 0) {
			ck_assert_int_eq(pe->value->A, 1);
			ck_assert_int_eq(pe->value->B, 2);
		} else if (strcmp(pe->key, "b") == 0) {
			ck_assert_int_eq(pe->value->A, 3);
			ck_assert_int_eq(pe->value->B, 4);
		} else {
			ck_abort_msg("unexpected Places key %s", pe->key);
		}
	}
	ck_assert(e->has_Maybe);
	ck_assert_int_eq(e->Maybe, -5);
	ck_assert_ptr_nonnull(e->Note);
	ck_assert_str_eq(e->Note, "note");
	ck_assert(e->has_Ratio);
	ck_assert(e->Ratio == 0.25);
}

START_TEST(test_echo_every_type)
{
	rpc_client *c = dial_mode(_i);
	struct every_storage st;
	interop_Everything e, r = INTEROP_EVERYTHING_INIT;

	every_fill(&e, &st);
	expect_ok(interop_Echo_Echo(c, &e, &r));
	every_check(&r);
	interop_Everything_free_contents(&r);
	rpc_client_free(c);
}
END_TEST

START_TEST(test_echo_zero_values)
{
	rpc_client *c = dial_mode(_i);
	interop_Everything e = INTEROP_EVERYTHING_INIT;
	interop_Everything r = INTEROP_EVERYTHING_INIT;

	expect_ok(interop_Echo_Echo(c, &e, &r));
	ck_assert(!r.Flag);
	ck_assert_int_eq(r.I, 0);
	ck_assert_int_eq(r.L, 0);
	ck_assert_uint_eq(r.UL, 0);
	ck_assert(r.D == 0);
	ck_assert_str_eq(str_or_empty(r.Name), "");
	ck_assert_uint_eq(r.Blob.len, 0);
	ck_assert_int_eq(r.Kind, INTEROP_OP_ADD);
	ck_assert_ptr_null(r.Inner);
	ck_assert_uint_eq(r.n_Items, 0);
	ck_assert_uint_eq(r.n_Nums, 0);
	ck_assert_uint_eq(r.n_Counts, 0);
	ck_assert_uint_eq(r.n_Places, 0);
	ck_assert(!r.has_Maybe);
	ck_assert_ptr_null(r.Note);
	ck_assert(!r.has_Ratio);
	interop_Everything_free_contents(&r);

	/* An empty but present nested struct stays present (Go: non-nil
	 * pointer to a zero struct). */
	interop_Args zero = INTEROP_ARGS_INIT;
	e.Inner = &zero;
	expect_ok(interop_Echo_Echo(c, &e, &r));
	ck_assert_ptr_nonnull(r.Inner);
	ck_assert_int_eq(r.Inner->A, 0);
	interop_Everything_free_contents(&r);
	rpc_client_free(c);
}
END_TEST

START_TEST(test_echo_optional_zero)
{
	rpc_client *c = dial_mode(_i);
	interop_Everything e = INTEROP_EVERYTHING_INIT;
	interop_Everything r = INTEROP_EVERYTHING_INIT;

	/* Optionals set to their zero value (docs/gob.md): gob leaves them
	 * out, as Go does for a pointer to zero, so they come back unset;
	 * JSON sends them and Go echoes them set. */
	e.has_Maybe = 1;
	e.Maybe = 0;
	e.Note = (char *)"";
	e.has_Ratio = 1;
	e.Ratio = 0;
	expect_ok(interop_Echo_Echo(c, &e, &r));
	if (_i == MODE_JSON) {
		ck_assert(r.has_Maybe);
		ck_assert_int_eq(r.Maybe, 0);
		ck_assert_ptr_nonnull(r.Note);
		ck_assert_str_eq(r.Note, "");
		ck_assert(r.has_Ratio);
		ck_assert(r.Ratio == 0);
	} else {
		ck_assert(!r.has_Maybe);
		ck_assert_ptr_null(r.Note);
		ck_assert(!r.has_Ratio);
	}
	interop_Everything_free_contents(&r);
	rpc_client_free(c);
}
END_TEST

START_TEST(test_echo_invalid_utf8)
{
	rpc_client *c = dial_mode(_i);
	interop_Everything e = INTEROP_EVERYTHING_INIT;
	interop_Everything r = INTEROP_EVERYTHING_INIT;

	/* gob carries a string's bytes as they are; Go's JSON turns each
	 * invalid byte into U+FFFD (encoding and decoding alike). */
	e.Name = (char *)"a\xff" "b\xc3";
	expect_ok(interop_Echo_Echo(c, &e, &r));
	if (_i == MODE_JSON)
		ck_assert_str_eq(r.Name, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	else
		ck_assert_str_eq(r.Name, "a\xff" "b\xc3");
	interop_Everything_free_contents(&r);
	rpc_client_free(c);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(test_error_handler_texts)
{
	rpc_client *c = dial_mode(_i);
	interop_Args a = args_of(7, 0);
	interop_Reply r = INTEROP_REPLY_INIT;

	expect_server_error(interop_Arith_Div(c, &a, &r), "divide by zero");
	expect_server_error(interop_Arith_Error(c, &a, &r), "ERROR");
	/* The connection lives on after error replies. */
	expect_ok(interop_Arith_Add(c, &a, &r));
	ck_assert_int_eq(r.C, 7);
	rpc_client_free(c);
}
END_TEST

START_TEST(test_error_unknown_names)
{
	rpc_client *c = dial_mode(_i);
	interop_Args a = args_of(7, 8);
	interop_Reply r = INTEROP_REPLY_INIT;
	const rpc_method *add = method_of(&interop_Arith_service, "Add");

	expect_server_error(rpc_client_call(c, "Arith2.Add", add, &a, &r),
	                    "rpc: can't find service Arith2.Add");
	expect_server_error(rpc_client_call(c, "Arith.Add2", add, &a, &r),
	                    "rpc: can't find method Arith.Add2");
	expect_server_error(rpc_client_call(c, "Arith.BadOperation", add, &a,
	                                    &r),
	                    "rpc: can't find method Arith.BadOperation");
	expect_server_error(rpc_client_call(c, "net.rpc.Arith.Nope", add, &a,
	                                    &r),
	                    "rpc: can't find method net.rpc.Arith.Nope");
	expect_server_error(rpc_client_call(c, "NoDot", add, &a, &r),
	                    "rpc: service/method request ill-formed: NoDot");
	expect_ok(interop_Arith_Mul(c, &a, &r));
	ck_assert_int_eq(r.C, 56);
	rpc_client_free(c);
}
END_TEST

START_TEST(test_error_bad_argument_type)
{
	rpc_client *c = dial_mode(_i);
	interop_Reply r = INTEROP_REPLY_INIT;
	const rpc_method *scan = method_of(&interop_Arith_service, "Scan");

	/* A string where Go's Arith.Add expects Args: Go's decoder refuses
	 * it (gob: "gob: decoding into local type *main.Args, received remote
	 * type string"; JSON: "json: cannot unmarshal string into Go value of
	 * type main.Args"), and the connection lives on. */
	const char *twelve = "12"; /* RPC_FORM_VALUE: a pointer to the char * */
	rpc_error *err = rpc_client_call(c, "Arith.Add", scan, &twelve, &r);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SERVER);
	ck_assert_msg(strstr(rpc_error_message(err), "type") != NULL,
	              "%s: %s", mode_names[_i], rpc_error_message(err));
	rpc_error_free(err);
	interop_Args a = args_of(2, 3);
	expect_ok(interop_Arith_Mul(c, &a, &r));
	ck_assert_int_eq(r.C, 6);
	rpc_client_free(c);
}
END_TEST

START_TEST(test_error_struct_of_wrong_type)
{
	rpc_client *c = dial_mode(_i);
	/* A method that sends a Reply where Go's Arith.Add wants Args. */
	const rpc_method add_reply = {.name = "Add",
	                              .args = &interop_Reply_type,
	                              .reply = &interop_Reply_type};
	interop_Reply in = INTEROP_REPLY_INIT, r = INTEROP_REPLY_INIT;
	in.C = 5;

	rpc_error *err = rpc_client_call(c, "Arith.Add", &add_reply, &in, &r);
	if (_i == MODE_JSON) {
		/* JSON has no types: {"C":5} is an Args of zeroes to Go. */
		ck_assert_msg(err == NULL, "%s", rpc_error_message(err));
		ck_assert_int_eq(r.C, 0);
	} else {
		expect_server_error(err, "gob: type mismatch: no fields matched "
		                         "compiling decoder for Args");
	}
	rpc_client_free(c);
}
END_TEST

START_TEST(test_error_reply_of_wrong_type)
{
	rpc_client *c = dial_mode(_i);
	interop_Args a = args_of(2, 3);
	interop_Reply r = INTEROP_REPLY_INIT;
	const rpc_method *add = method_of(&interop_Arith_service, "Add");

	/* Go's String answers a string where we expect a Reply: a local
	 * decoding error for that call only (Go's client: "reading body
	 * ..."), not a server error, and the connection stays in step. */
	rpc_error *err = rpc_client_call(c, "Arith.String", add, &a, &r);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(rpc_error_kind_of(err) != RPC_ERR_SERVER &&
	                      rpc_error_kind_of(err) != RPC_ERR_SHUTDOWN &&
	                      rpc_error_kind_of(err) != RPC_ERR_UNEXPECTED_EOF,
	              "%s: %s: %s", mode_names[_i],
	              rpc_error_kind_name(rpc_error_kind_of(err)),
	              rpc_error_message(err));
	rpc_error_free(err);
	interop_Reply_init(&r);
	expect_ok(interop_Arith_Mul(c, &a, &r));
	ck_assert_int_eq(r.C, 6);
	rpc_client_free(c);
}
END_TEST

START_TEST(test_error_http_wrong_path)
{
	rpc_client_options o = {.codec = &rpc_codec_gob};
	rpc_client *c = NULL;
	rpc_error *err = rpc_dial_http(go.http, "/nope", &o, &c);

	/* Go's mux answers 404: no client, an error naming the status. */
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(rpc_error_message(err), "404") != NULL, "%s",
	              rpc_error_message(err));
	rpc_error_free(err);
}
END_TEST

/* ---- concurrency --------------------------------------------------------- */

START_TEST(test_client_many_in_flight)
{
	enum { N = 100 };
	rpc_client *c = dial_mode(_i);
	interop_Args a[N];
	interop_Reply r[N];
	rpc_done *q = rpc_done_new_queue();
	ck_assert_ptr_nonnull(q);

	/* A slow call first: the others overtake it on the same connection. */
	interop_Args slow = args_of(50, 0);
	interop_Reply slow_r = INTEROP_REPLY_INIT;
	expect_ok(interop_Arith_SleepMilli_go(c, &slow, &slow_r, q, NULL));
	for (int i = 0; i < N; i++) {
		a[i] = args_of(i, 2 * i + 1);
		interop_Reply_init(&r[i]);
		if (i % 2)
			expect_ok(interop_Arith_Add_go(c, &a[i], &r[i], q, NULL));
		else
			expect_ok(interop_Arith_Mul_go(c, &a[i], &r[i], q, NULL));
	}
	bool seen[N] = {false}, slow_seen = false;
	for (int n = 0; n < N + 1; n++) {
		rpc_call *call = rpc_done_wait(q, 60000);
		ck_assert_msg(call != NULL, "%s: call %d never completed",
		              mode_names[_i], n);
		ck_assert_msg(rpc_call_error(call) == NULL, "%s: %s",
		              mode_names[_i],
		              rpc_error_message(rpc_call_error(call)));
		interop_Reply *rep = rpc_call_reply(call);
		if (rep == &slow_r) {
			ck_assert(!slow_seen);
			slow_seen = true;
		} else {
			int i = (int)(rep - r);
			ck_assert(i >= 0 && i < N && !seen[i]);
			seen[i] = true;
			ck_assert_int_eq(rep->C, i % 2 ? a[i].A + a[i].B
			                                : a[i].A * a[i].B);
		}
		rpc_call_free(call);
	}
	ck_assert(slow_seen);
	ck_assert_ptr_null(rpc_done_next(q));
	rpc_done_free(q);
	rpc_client_free(c);
}
END_TEST

enum { THREADS = 8, CALLS_PER_THREAD = 50 };

struct worker {
	rpc_client *c;
	int id;
	int bad; /* wrong results or errors seen */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < CALLS_PER_THREAD; i++) {
		interop_Args a = args_of(w->id * 1000, i);
		interop_Reply r = INTEROP_REPLY_INIT;
		rpc_error *err = interop_Arith_Add(w->c, &a, &r);
		if (err || r.C != w->id * 1000 + i)
			w->bad++;
		rpc_error_free(err);
	}
	return NULL;
}

START_TEST(test_client_concurrent_threads)
{
	rpc_client *c = dial_mode(_i);
	struct worker w[THREADS];
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.c = c, .id = i};
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_main, &w[i]),
		                 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(w[i].bad == 0, "%s: thread %d saw %d bad calls",
		              mode_names[_i], i, w[i].bad);
	}
	rpc_client_free(c);
}
END_TEST

struct tally {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, bad;
};

/* on_mul runs on the client's reader thread for each completed call. */
static void on_mul(rpc_call *call, void *ud)
{
	struct tally *t = ud;
	interop_Reply *r = rpc_call_reply(call);
	bool ok = rpc_call_error(call) == NULL && r->C == 6;
	rpc_call_free(call);
	pthread_mutex_lock(&t->mu);
	t->done++;
	t->bad += !ok;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

START_TEST(test_client_callbacks)
{
	enum { N = 50 };
	rpc_client *c = dial_mode(_i);
	struct tally t = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	                  0, 0};
	rpc_done *cb = rpc_done_new_callback(on_mul, &t);
	interop_Args a = args_of(2, 3);
	interop_Reply r[N];
	ck_assert_ptr_nonnull(cb);
	ck_assert_int_eq(rpc_done_fd(cb), -1);

	for (int i = 0; i < N; i++) {
		interop_Reply_init(&r[i]);
		expect_ok(interop_Arith_Mul_go(c, &a, &r[i], cb, NULL));
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	pthread_mutex_lock(&t.mu);
	while (t.done < N &&
	       pthread_cond_timedwait(&t.cv, &t.mu, &until) == 0)
		;
	int done = t.done, bad = t.bad;
	pthread_mutex_unlock(&t.mu);
	ck_assert_int_eq(done, N);
	ck_assert_int_eq(bad, 0);
	rpc_client_free(c);
	rpc_done_free(cb);
}
END_TEST

/* test_client_close_in_flight: closing our client while Go still holds
 * its calls completes each once with the shutdown error, as Go's
 * Client.Close does (ErrShutdown). */
START_TEST(test_client_close_in_flight)
{
	enum { N = 10 };
	rpc_client *c = dial_mode(_i);
	rpc_done *q = rpc_done_new_queue();
	interop_Args slow = args_of(120000, 0), a = args_of(1, 2);
	interop_Reply r[N], rr = INTEROP_REPLY_INIT;
	ck_assert_ptr_nonnull(q);

	for (int i = 0; i < N; i++) {
		interop_Reply_init(&r[i]);
		expect_ok(interop_Arith_SleepMilli_go(c, &slow, &r[i], q, NULL));
	}
	expect_ok(interop_Arith_Add(c, &a, &rr));
	ck_assert_int_eq(rr.C, 3);
	ck_assert_ptr_null(rpc_client_close(c));
	for (int n = 0; n < N; n++) {
		rpc_call *call = rpc_done_wait(q, 60000);
		ck_assert_ptr_nonnull(call);
		const rpc_error *err = rpc_call_error(call);
		ck_assert_ptr_nonnull(err);
		ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SHUTDOWN);
		rpc_call_free(call);
	}
	ck_assert_ptr_null(rpc_done_next(q));
	rpc_error *err = interop_Arith_Add(c, &a, &rr);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SHUTDOWN);
	rpc_error_free(err);
	rpc_client_free(c);
	rpc_done_free(q);
}
END_TEST

/* test_client_server_dies: a private Go server is killed (SIGKILL, by
 * pid) with calls in flight; each completes once with unexpected EOF, as
 * Go's client reports io.ErrUnexpectedEOF, and later calls fail with the
 * shutdown error (Go: ErrShutdown). */
START_TEST(test_client_server_dies)
{
	enum { N = 10 };
	struct go_server g;
	ck_assert(go_server_start(&g, go_path));
	rpc_client *c = dial_server(&g, _i);
	rpc_done *q = rpc_done_new_queue();
	ck_assert_ptr_nonnull(q);
	interop_Args slow = args_of(120000, 0), a = args_of(1, 2);
	interop_Reply r[N], rr = INTEROP_REPLY_INIT;

	for (int i = 0; i < N; i++) {
		interop_Reply_init(&r[i]);
		expect_ok(interop_Arith_SleepMilli_go(c, &slow, &r[i], q, NULL));
	}
	/* Requests go out in order: once Add is answered, Go has read every
	 * SleepMilli request and holds them in flight. */
	expect_ok(interop_Arith_Add(c, &a, &rr));
	ck_assert_int_eq(rr.C, 3);
	ck_assert_int_eq(kill(g.pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(g.pid, NULL, 0), g.pid);
	g.pid = -1;

	for (int n = 0; n < N; n++) {
		rpc_call *call = rpc_done_wait(q, 60000);
		ck_assert_msg(call != NULL, "%s: call %d never completed",
		              mode_names[_i], n);
		const rpc_error *err = rpc_call_error(call);
		ck_assert_ptr_nonnull(err);
		ck_assert_msg(rpc_error_kind_of(err) == RPC_ERR_UNEXPECTED_EOF,
		              "%s: %s (%s)", mode_names[_i],
		              rpc_error_kind_name(rpc_error_kind_of(err)),
		              rpc_error_message(err));
		rpc_call_free(call);
	}
	ck_assert_ptr_null(rpc_done_next(q));
	rpc_error *err = interop_Arith_Add(c, &a, &rr);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(rpc_error_kind_of(err) == RPC_ERR_SHUTDOWN,
	              "%s: after the server died: %s (%s)", mode_names[_i],
	              rpc_error_kind_name(rpc_error_kind_of(err)),
	              rpc_error_message(err));
	rpc_error_free(err);
	rpc_client_free(c);
	rpc_done_free(q);
	go_server_stop(&g);
}
END_TEST

/* ---- large values -------------------------------------------------------- */

START_TEST(test_echo_one_mib)
{
	enum { MIB = 1 << 20 };
	rpc_client *c = dial_mode(_i);
	char *s = malloc(MIB + 1);
	uint8_t *b = malloc(MIB);
	ck_assert(s && b);
	for (size_t i = 0; i < MIB; i++) {
		s[i] = (char)('a' + i % 26);
		b[i] = (uint8_t)(i * 7 + (i >> 11));
	}
	s[MIB] = '\0';

	interop_Everything e = INTEROP_EVERYTHING_INIT;
	interop_Everything r = INTEROP_EVERYTHING_INIT;
	e.Name = s;
	e.Blob.data = b;
	e.Blob.len = MIB;
	expect_ok(interop_Echo_Echo(c, &e, &r));
	ck_assert_uint_eq(strlen(r.Name), MIB);
	ck_assert(memcmp(r.Name, s, MIB) == 0);
	ck_assert_uint_eq(r.Blob.len, MIB);
	ck_assert(memcmp(r.Blob.data, b, MIB) == 0);
	interop_Everything_free_contents(&r);

	/* A list of 128 Ki numbers (1 MiB of int64). */
	enum { NUMS = MIB / 8 };
	int64_t *nums = malloc(NUMS * sizeof *nums);
	ck_assert_ptr_nonnull(nums);
	for (int64_t i = 0; i < NUMS; i++)
		nums[i] = (i % 2 ? -i : i) * 1000003;
	interop_Everything_init(&e);
	e.n_Nums = NUMS;
	e.Nums = nums;
	expect_ok(interop_Echo_Echo(c, &e, &r));
	ck_assert_uint_eq(r.n_Nums, NUMS);
	ck_assert(memcmp(r.Nums, nums, NUMS * sizeof *nums) == 0);
	interop_Everything_free_contents(&r);
	free(nums);

	/* The connection is still in step afterwards. */
	interop_Args a = args_of(1, 2);
	interop_Reply rr = INTEROP_REPLY_INIT;
	expect_ok(interop_Arith_Add(c, &a, &rr));
	ck_assert_int_eq(rr.C, 3);
	free(s);
	free(b);
	rpc_client_free(c);
}
END_TEST

/* ---- suite --------------------------------------------------------------- */

static Suite *interop_suite(void)
{
	Suite *s = suite_create("interop-c-client");
	TCase *tc;

	tc = tcase_create("calls");
	tcase_add_loop_test(tc, test_arith_add_mul_div, 0, N_MODES);
	tcase_add_loop_test(tc, test_arith_string_reply, 0, N_MODES);
	tcase_add_loop_test(tc, test_arith_scan_string_arg, 0, N_MODES);
	tcase_add_loop_test(tc, test_arith_dotted_service_name, 0, N_MODES);
	tcase_add_loop_test(tc, test_embed_exported, 0, N_MODES);
	tcase_add_loop_test(tc, test_builtin_map_slice_array, 0, N_MODES);
	tcase_add_loop_test(tc, test_arrays_echo, 0, N_MODES);
	tcase_add_loop_test(tc, test_echo_every_type, 0, N_MODES);
	tcase_add_loop_test(tc, test_echo_zero_values, 0, N_MODES);
	tcase_add_loop_test(tc, test_echo_optional_zero, 0, N_MODES);
	tcase_add_loop_test(tc, test_echo_invalid_utf8, 0, N_MODES);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_error_handler_texts, 0, N_MODES);
	tcase_add_loop_test(tc, test_error_unknown_names, 0, N_MODES);
	tcase_add_loop_test(tc, test_error_bad_argument_type, 0, N_MODES);
	tcase_add_loop_test(tc, test_error_struct_of_wrong_type, 0, N_MODES);
	tcase_add_loop_test(tc, test_error_reply_of_wrong_type, 0, N_MODES);
	tcase_add_test(tc, test_error_http_wrong_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_add_loop_test(tc, test_client_many_in_flight, 0, N_MODES);
	tcase_add_loop_test(tc, test_client_concurrent_threads, 0, N_MODES);
	tcase_add_loop_test(tc, test_client_callbacks, 0, N_MODES);
	tcase_add_loop_test(tc, test_client_close_in_flight, 0, N_MODES);
	tcase_add_loop_test(tc, test_client_server_dies, 0, N_MODES);
	suite_add_tcase(s, tc);

	tc = tcase_create("large");
	tcase_add_loop_test(tc, test_echo_one_mib, 0, N_MODES);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	go_path = getenv("GOSERVER");
	if (go_path == NULL || *go_path == '\0') {
		printf("SKIP: no Go toolchain (GOSERVER not set)\n");
		return 77;
	}
	if (!go_server_start(&go, go_path))
		return 1;
	SRunner *sr = srunner_create(interop_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	go_server_stop(&go);
	return failed ? 1 : 0;
}
