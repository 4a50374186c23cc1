/* test_e2e.c - end to end through the stubs rpcgen-c generates from
 * e2e.rpc. TCases by concern:
 *   roundtrip    every kind of argument and reply, blocking, _go (done-queue
 *                and its fd) and callbacks, on every codec x transport
 *                (tcp 127.0.0.1, tcp ::1, unix); optionals, edge numbers
 *   limits       big payloads (16 MiB echoed on every codec); max_frame
 *                on requests and replies
 *   errors       Go's error texts (unknown service/method, ill-formed,
 *                handler errors, bad bodies), each on the right call
 *   registry     register_name, duplicate names
 *   order        a slow call overtaken by fast ones on one connection
 *   concurrency  50 threads x 1000 calls on one client, many clients,
 *                thousands of calls in flight
 *   connections  dial errors, a client gone mid-call, serve_codec,
 *                serve_request
 *   peer_death   a forked server killed mid-call; close
 *   hostile      raw bytes on sockets (docs/framing.md); a fake server
 *   http         CONNECT, 405, the debug page, HTTP/RPC mix-ups
 *   shutdown     rpc_server_free drains calls in flight
 *
 * The server runs in this process (an accept loop on its own thread), except
 * in the kill test where a forked child serves. Raw sockets speak the native
 * framing by hand where a test needs bytes no client would send. Under
 * valgrind (RPC_UNDER_VALGRIND=1) the load tests shrink. Every wait is
 * bounded; no test asserts on time. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.rpc.h"
#include "sup_arith.h"

/* ---- parameters ---------------------------------------------------------- */

static const rpc_codec *const codecs[] = {&rpc_codec_protobuf, &rpc_codec_gob,
                                          &rpc_codec_json};
static const char *const codec_names[] = {"protobuf", "gob", "json"};
#define N_CODECS 3

enum { T_TCP4, T_TCP6, T_UNIX, N_TRANSPORTS };
static const char *const transport_names[] = {"tcp4", "tcp6", "unix"};

static bool under_valgrind(void)
{
	const char *v = getenv("RPC_UNDER_VALGRIND");
	return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

/* ---- the handlers -------------------------------------------------------- */

/* Arith is the suites' (tests/support/sup_arith.h): Multiply, Divide, Add,
 * Slow (and its gate), Fail, Repeat, Nap. Echo's handlers follow. */

/* copy_message deep-copies in into out (same type, zeroed by the runtime)
 * through protobuf-c's pack and unpack: everything it allocates is malloc'd,
 * as the runtime requires of replies. */
static rpc_error *copy_message(const ProtobufCMessage *in, void *out)
{
	size_t n = protobuf_c_message_get_packed_size(in);
	uint8_t *buf = malloc(n ? n : 1);
	if (buf == NULL)
		return rpc_error_new("echo: out of memory");
	protobuf_c_message_pack(in, buf);
	ProtobufCMessage *copy =
		protobuf_c_message_unpack(in->descriptor, NULL, n, buf);
	free(buf);
	if (copy == NULL)
		return rpc_error_new("echo: cannot copy %s", in->descriptor->name);
	memcpy(out, copy, in->descriptor->sizeof_message);
	free(copy); /* the shell only: its contents now belong to out */
	return NULL;
}

static rpc_error *h_everything(void *self, const e2e_Everything *e,
                               e2e_Everything *reply)
{
	(void)self;
	return copy_message(&e->base, reply);
}
static rpc_error *h_struct(void *self, const sup_Args *a, sup_Args *reply)
{
	(void)self;
	return copy_message(&a->base, reply);
}
static rpc_error *h_int(void *self, int64_t x, int64_t *reply)
{
	(void)self;
	*reply = x;
	return NULL;
}
static rpc_error *h_str(void *self, const char *s, char **reply)
{
	(void)self;
	*reply = rpc_strdup(s);
	return *reply ? NULL : rpc_error_new("echo: out of memory");
}
static rpc_error *h_blob(void *self, ProtobufCBinaryData b,
                         ProtobufCBinaryData *reply)
{
	(void)self;
	if (b.len == 0)
		return NULL;
	reply->data = malloc(b.len);
	if (reply->data == NULL)
		return rpc_error_new("echo: out of memory");
	memcpy(reply->data, b.data, b.len);
	reply->len = b.len;
	return NULL;
}
static rpc_error *h_flag(void *self, protobuf_c_boolean b,
                         protobuf_c_boolean *reply)
{
	(void)self;
	*reply = b;
	return NULL;
}
static rpc_error *h_real(void *self, double d, double *reply)
{
	(void)self;
	*reply = d;
	return NULL;
}
static rpc_error *h_hue(void *self, e2e_Color c, e2e_Color *reply)
{
	(void)self;
	*reply = c;
	return NULL;
}
static rpc_error *h_ints(void *self, const e2e_Int64List *l,
                         e2e_Int64List *reply)
{
	(void)self;
	return copy_message(&l->base, reply);
}
static rpc_error *h_points(void *self, const e2e_PointList *l,
                           e2e_PointList *reply)
{
	(void)self;
	return copy_message(&l->base, reply);
}
static rpc_error *h_counts(void *self, const e2e_StringInt64Map *m,
                           e2e_StringInt64Map *reply)
{
	(void)self;
	return copy_message(&m->base, reply);
}

static const e2e_Echo_handlers echo_impl = {
	.Everything = h_everything,
	.Struct = h_struct,
	.Int = h_int,
	.Str = h_str,
	.Blob = h_blob,
	.Flag = h_flag,
	.Real = h_real,
	.Hue = h_hue,
	.Ints = h_ints,
	.Points = h_points,
	.Counts = h_counts,
};

/* method returns the generated descriptor of service.name. */
static const rpc_method *method(const rpc_service_desc *svc, const char *name)
{
	for (size_t i = 0; i < svc->n_methods; i++)
		if (strcmp(svc->methods[i].name, name) == 0)
			return &svc->methods[i];
	ck_abort_msg("no method %s.%s", svc->name, name);
	return NULL;
}

/* ---- fixture: a server accepting on its own thread ----------------------- */

typedef struct e2e_server {
	rpc_server *srv;
	rpc_listener *lis;
	pthread_t acceptor;
	bool http;
	bool running;
	const rpc_codec *codec;
} e2e_server;

static void *accept_main(void *arg)
{
	e2e_server *s = arg;
	return s->http ? rpc_server_accept_http(s->srv, s->lis, NULL, NULL)
	               : rpc_server_accept(s->srv, s->lis);
}

static void server_start(e2e_server *s, const rpc_codec *codec, int transport,
                         bool http)
{
	static int unix_seq;
	char addr[128];
	rpc_server_options o = {.codec = codec};

	memset(s, 0, sizeof(*s));
	s->http = http;
	s->codec = codec;
	sup_arith_slow_reset();
	switch (transport) {
	case T_TCP4:
		snprintf(addr, sizeof(addr), "tcp:127.0.0.1:0");
		break;
	case T_TCP6:
		snprintf(addr, sizeof(addr), "tcp:[::1]:0");
		break;
	default:
		snprintf(addr, sizeof(addr), "unix:/tmp/rpc-e2e-%ld-%d.sock",
		         (long)getpid(), unix_seq++);
		break;
	}
	ck_assert_ptr_null(rpc_server_new(&o, &s->srv));
	ck_assert_ptr_null(sup_arith_register(s->srv));
	ck_assert_ptr_null(e2e_Echo_register(s->srv, &echo_impl, NULL));
	rpc_error *err = rpc_listen(addr, &s->lis);
	ck_assert_msg(err == NULL, "listen %s (%s, %s): %s", addr,
	              transport_names[transport],
	              codec == &rpc_codec_gob ? codec_names[1]
	              : codec == &rpc_codec_json ? codec_names[2]
	                                         : codec_names[0],
	              err ? rpc_error_message(err) : "");
	ck_assert_int_eq(pthread_create(&s->acceptor, NULL, accept_main, s), 0);
	s->running = true;
}

/* server_join waits for the acceptor, which must return NULL. */
static void server_join(e2e_server *s)
{
	void *ret = (void *)1;
	if (!s->running)
		return;
	ck_assert_int_eq(pthread_join(s->acceptor, &ret), 0);
	s->running = false;
	ck_assert_msg(ret == NULL, "accept: %s",
	              rpc_error_message((rpc_error *)ret));
}

static void server_stop(e2e_server *s)
{
	sup_arith_slow_release();
	if (s->lis)
		rpc_listener_close(s->lis);
	server_join(s);
	rpc_server_free(s->srv);
	rpc_listener_free(s->lis);
	s->srv = NULL;
	s->lis = NULL;
}

static rpc_client *client_dial(e2e_server *s)
{
	rpc_client *c = NULL;
	rpc_client_options o = {.codec = s->codec};
	rpc_error *err = rpc_dial(rpc_listener_address(s->lis), &o, &c);
	ck_assert_msg(err == NULL, "dial %s: %s", rpc_listener_address(s->lis),
	              err ? rpc_error_message(err) : "");
	return c;
}

/* check_multiply makes one valid generated-stub call on c. */
static void check_multiply(rpc_client *c, int64_t a, int64_t b)
{
	sup_Args args = SUP_ARGS_INIT;
	int64_t r = 0;
	args.A = a;
	args.B = b;
	rpc_error *err = sup_Arith_Multiply(c, &args, &r);
	ck_assert_msg(err == NULL, "Multiply: %s",
	              err ? rpc_error_message(err) : "");
	ck_assert_int_eq(r, a * b);
}

/* check_server_error requires err to be the server's error text, and frees
 * it. */
static void check_server_error(rpc_error *err, const char *text)
{
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(rpc_error_kind_of(err) == RPC_ERR_SERVER,
	              "kind %s (%s), want RPC_ERR_SERVER",
	              rpc_error_kind_name(rpc_error_kind_of(err)),
	              rpc_error_message(err));
	ck_assert_str_eq(rpc_error_message(err), text);
	rpc_error_free(err);
}

static void check_kind(const rpc_error *err, rpc_error_kind kind)
{
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(rpc_error_kind_of(err) == kind, "kind %s (%s), want %s",
	              rpc_error_kind_name(rpc_error_kind_of(err)),
	              rpc_error_message(err), rpc_error_kind_name(kind));
}

/* ---- the Everything value ------------------------------------------------ */

/* An Everything with every field set, in storage that outlives the call. */
typedef struct everything_fixture {
	e2e_Everything e;
	sup_Args inner, item[2], *items[2];
	int64_t nums[4];
	char *names[3];
	e2e_Everything_CountsEntry count[2], *counts[2];
	e2e_Point place_pt[2];
	e2e_Everything_PlacesEntry place[2], *places[2];
	uint8_t blob[5];
} everything_fixture;

static void everything_fill(everything_fixture *f)
{
	static char n0[] = "alpha", n1[] = "", n2[] = "gr\xc3\xbc\xc3\x9f "
	                                              "dich";
	static char name[] = "Everything \xe2\x9c\x93", cname0[] = "one",
	            cname1[] = "two", maybe_name[] = "maybe";

	memset(f, 0, sizeof(*f));
	e2e_Everything_init(&f->e);
	sup_Args_init(&f->inner);
	f->e.Flag = 1;
	f->e.I = -123456;
	f->e.L = INT64_MIN + 1;
	f->e.U = 4000000000u;
	f->e.UL = UINT64_C(9007199254740993); /* 2^53 + 1 */
	f->e.F = 1.5f;
	f->e.D = -2.000244140625;
	f->e.Name = name;
	memcpy(f->blob, "\x00\x01\xff\x7f\x80", 5);
	f->e.Blob.data = f->blob;
	f->e.Blob.len = 5;
	f->e.Kind = E2E_COLOR_BLUE;
	f->inner.A = 6;
	f->inner.B = -7;
	f->e.Inner = &f->inner;
	for (int i = 0; i < 2; i++) {
		sup_Args_init(&f->item[i]);
		f->item[i].A = 10 + i;
		f->item[i].B = 20 + i;
		f->items[i] = &f->item[i];
	}
	f->e.n_Items = 2;
	f->e.Items = f->items;
	f->nums[0] = 0;
	f->nums[1] = -1;
	f->nums[2] = INT64_MAX;
	f->nums[3] = 300;
	f->e.n_Nums = 4;
	f->e.Nums = f->nums;
	f->names[0] = n0;
	f->names[1] = n1;
	f->names[2] = n2;
	f->e.n_Names = 3;
	f->e.Names = f->names;
	for (int i = 0; i < 2; i++) {
		e2e_Everything_CountsEntry_init(&f->count[i]);
		f->count[i].key = i ? cname1 : cname0;
		f->count[i].value = i ? -2 : 1;
		f->counts[i] = &f->count[i];
		e2e_Point_init(&f->place_pt[i]);
		f->place_pt[i].X = 100 * (i + 1);
		f->place_pt[i].Y = -100 * (i + 1);
		e2e_Everything_PlacesEntry_init(&f->place[i]);
		f->place[i].key = i ? -5 : 5;
		f->place[i].value = &f->place_pt[i];
		f->places[i] = &f->place[i];
	}
	f->e.n_Counts = 2;
	f->e.Counts = f->counts;
	f->e.n_Places = 2;
	f->e.Places = f->places;
	/* optionals set to non-zero values: gob cannot carry a set zero */
	f->e.has_Maybe = 1;
	f->e.Maybe = -42;
	f->e.MaybeName = maybe_name;
	f->e.has_MaybeD = 0; /* and one left unset */
}

static void bytes_eq(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
	ck_assert_uint_eq(a.len, b.len);
	if (a.len)
		ck_assert_int_eq(memcmp(a.data, b.data, a.len), 0);
}

static void everything_check(const e2e_Everything *want,
                             const e2e_Everything *got)
{
	ck_assert_int_eq(got->Flag, want->Flag);
	ck_assert_int_eq(got->I, want->I);
	ck_assert_int_eq(got->L, want->L);
	ck_assert_uint_eq(got->U, want->U);
	ck_assert_uint_eq(got->UL, want->UL);
	ck_assert(got->F == want->F);
	ck_assert(got->D == want->D);
	ck_assert_str_eq(got->Name, want->Name);
	bytes_eq(got->Blob, want->Blob);
	ck_assert_int_eq(got->Kind, want->Kind);
	if (want->Inner == NULL) {
		ck_assert_ptr_null(got->Inner);
	} else {
		ck_assert_ptr_nonnull(got->Inner);
		ck_assert_int_eq(got->Inner->A, want->Inner->A);
		ck_assert_int_eq(got->Inner->B, want->Inner->B);
	}
	ck_assert_uint_eq(got->n_Items, want->n_Items);
	for (size_t i = 0; i < want->n_Items; i++) {
		ck_assert_int_eq(got->Items[i]->A, want->Items[i]->A);
		ck_assert_int_eq(got->Items[i]->B, want->Items[i]->B);
	}
	ck_assert_uint_eq(got->n_Nums, want->n_Nums);
	for (size_t i = 0; i < want->n_Nums; i++)
		ck_assert_int_eq(got->Nums[i], want->Nums[i]);
	ck_assert_uint_eq(got->n_Names, want->n_Names);
	for (size_t i = 0; i < want->n_Names; i++)
		ck_assert_str_eq(got->Names[i], want->Names[i]);
	/* maps: any order */
	ck_assert_uint_eq(got->n_Counts, want->n_Counts);
	for (size_t i = 0; i < want->n_Counts; i++) {
		size_t j = 0;
		while (j < got->n_Counts &&
		       strcmp(got->Counts[j]->key, want->Counts[i]->key) != 0)
			j++;
		ck_assert_msg(j < got->n_Counts, "Counts lost key %s",
		              want->Counts[i]->key);
		ck_assert_int_eq(got->Counts[j]->value, want->Counts[i]->value);
	}
	ck_assert_uint_eq(got->n_Places, want->n_Places);
	for (size_t i = 0; i < want->n_Places; i++) {
		size_t j = 0;
		while (j < got->n_Places &&
		       got->Places[j]->key != want->Places[i]->key)
			j++;
		ck_assert_msg(j < got->n_Places, "Places lost key %" PRId64,
		              want->Places[i]->key);
		ck_assert_ptr_nonnull(got->Places[j]->value);
		ck_assert_int_eq(got->Places[j]->value->X,
		                 want->Places[i]->value->X);
		ck_assert_int_eq(got->Places[j]->value->Y,
		                 want->Places[i]->value->Y);
	}
	ck_assert_int_eq(got->has_Maybe, want->has_Maybe);
	if (want->has_Maybe)
		ck_assert_int_eq(got->Maybe, want->Maybe);
	if (want->MaybeName == NULL)
		ck_assert_ptr_null(got->MaybeName);
	else
		ck_assert_str_eq(got->MaybeName, want->MaybeName);
	ck_assert_int_eq(got->has_MaybeD, want->has_MaybeD);
	if (want->has_MaybeD)
		ck_assert(got->MaybeD == want->MaybeD);
}

/* ---- round trips --------------------------------------------------------- */

/* The arguments of one round of Echo calls, and room for the replies. */
typedef struct echo_round {
	everything_fixture ev;
	e2e_Everything ev_reply;
	e2e_Everything empty, empty_reply;
	sup_Args st, st_reply;
	int64_t i, i_reply;
	const char *s;
	char *s_reply;
	const char *s_empty;
	char *s_empty_reply;
	uint8_t blob[300];
	ProtobufCBinaryData b, b_reply;
	protobuf_c_boolean t, t_reply, f, f_reply;
	double d, d_reply;
	e2e_Color hue, hue_reply;
	int64_t ints[5];
	e2e_Int64List il, il_reply;
	e2e_Point pt[3], *pts[3];
	e2e_PointList pl, pl_reply;
	e2e_StringInt64Map_ValueEntry ent[3], *ents[3];
	e2e_StringInt64Map m, m_reply;
} echo_round;

static void round_fill(echo_round *r)
{
	static char k0[] = "a", k1[] = "bb", k2[] = "c c";
	memset(r, 0, sizeof(*r));
	everything_fill(&r->ev);
	e2e_Everything_init(&r->ev_reply);
	e2e_Everything_init(&r->empty);
	e2e_Everything_init(&r->empty_reply);
	sup_Args_init(&r->st);
	sup_Args_init(&r->st_reply);
	r->st.A = -1;
	r->st.B = INT64_MAX;
	r->i = INT64_MIN;
	r->s = "hello, \xe4\xb8\x96\xe7\x95\x8c \"quoted\" \\ \n";
	r->s_empty = "";
	for (size_t k = 0; k < sizeof(r->blob); k++)
		r->blob[k] = (uint8_t)(k * 7);
	r->b.data = r->blob;
	r->b.len = sizeof(r->blob);
	r->t = 1;
	r->f = 0;
	r->t_reply = 0;
	r->f_reply = 1;
	r->d = -1234.5e100;
	r->hue = E2E_COLOR_GREEN;
	r->ints[0] = 1;
	r->ints[1] = -1;
	r->ints[2] = INT64_MAX;
	r->ints[3] = INT64_MIN;
	r->ints[4] = 0;
	e2e_Int64List_init(&r->il);
	e2e_Int64List_init(&r->il_reply);
	r->il.n_value = 5;
	r->il.value = r->ints;
	for (int k = 0; k < 3; k++) {
		e2e_Point_init(&r->pt[k]);
		r->pt[k].X = k * 11;
		r->pt[k].Y = -k * 13;
		r->pts[k] = &r->pt[k];
		e2e_StringInt64Map_ValueEntry_init(&r->ent[k]);
		r->ent[k].key = k == 0 ? k0 : k == 1 ? k1 : k2;
		r->ent[k].value = (k - 1) * 1000000000000LL;
		r->ents[k] = &r->ent[k];
	}
	e2e_PointList_init(&r->pl);
	e2e_PointList_init(&r->pl_reply);
	r->pl.n_value = 3;
	r->pl.value = r->pts;
	e2e_StringInt64Map_init(&r->m);
	e2e_StringInt64Map_init(&r->m_reply);
	r->m.n_value = 3;
	r->m.value = r->ents;
}

static void round_check(echo_round *r)
{
	everything_check(&r->ev.e, &r->ev_reply);
	everything_check(&r->empty, &r->empty_reply);
	ck_assert_int_eq(r->st_reply.A, r->st.A);
	ck_assert_int_eq(r->st_reply.B, r->st.B);
	ck_assert_int_eq(r->i_reply, r->i);
	ck_assert_str_eq(r->s_reply, r->s);
	ck_assert_ptr_nonnull(r->s_empty_reply);
	ck_assert_str_eq(r->s_empty_reply, "");
	bytes_eq(r->b_reply, r->b);
	ck_assert_int_eq(r->t_reply, 1);
	ck_assert_int_eq(r->f_reply, 0);
	ck_assert(r->d_reply == r->d);
	ck_assert_int_eq(r->hue_reply, r->hue);
	ck_assert_uint_eq(r->il_reply.n_value, 5);
	for (int k = 0; k < 5; k++)
		ck_assert_int_eq(r->il_reply.value[k], r->ints[k]);
	ck_assert_uint_eq(r->pl_reply.n_value, 3);
	for (int k = 0; k < 3; k++) {
		ck_assert_int_eq(r->pl_reply.value[k]->X, r->pt[k].X);
		ck_assert_int_eq(r->pl_reply.value[k]->Y, r->pt[k].Y);
	}
	ck_assert_uint_eq(r->m_reply.n_value, 3);
	for (int k = 0; k < 3; k++) {
		size_t j = 0;
		while (j < 3 && strcmp(r->m_reply.value[j]->key,
		                       r->ent[k].key) != 0)
			j++;
		ck_assert_uint_lt(j, 3);
		ck_assert_int_eq(r->m_reply.value[j]->value, r->ent[k].value);
	}
}

/* round_free frees every reply with its type's free function. */
static void round_free(echo_round *r)
{
	e2e_Everything_free_contents(&r->ev_reply);
	e2e_Everything_free_contents(&r->empty_reply);
	sup_Args_free_contents(&r->st_reply);
	rpc_value_free_contents(&e2e_StringValue_type, &r->s_reply);
	rpc_value_free_contents(&e2e_StringValue_type, &r->s_empty_reply);
	rpc_value_free_contents(&e2e_BytesValue_type, &r->b_reply);
	e2e_Int64List_free_contents(&r->il_reply);
	e2e_PointList_free_contents(&r->pl_reply);
	e2e_StringInt64Map_free_contents(&r->m_reply);
}

#define CALL_OK(expr)                                                        \
	do {                                                                 \
		rpc_error *err_ = (expr);                                    \
		ck_assert_msg(err_ == NULL, "%s: %s", #expr,                 \
		              err_ ? rpc_error_message(err_) : "");          \
	} while (0)

START_TEST(test_e2e_roundtrip_blocking)
{
	int ci = _i / N_TRANSPORTS, ti = _i % N_TRANSPORTS;
	e2e_server s;
	echo_round *r = malloc(sizeof(*r));
	ck_assert_ptr_nonnull(r);
	server_start(&s, codecs[ci], ti, false);
	rpc_client *c = client_dial(&s);
	round_fill(r);

	CALL_OK(e2e_Echo_Everything(c, &r->ev.e, &r->ev_reply));
	CALL_OK(e2e_Echo_Everything(c, &r->empty, &r->empty_reply));
	CALL_OK(e2e_Echo_Struct(c, &r->st, &r->st_reply));
	CALL_OK(e2e_Echo_Int(c, r->i, &r->i_reply));
	CALL_OK(e2e_Echo_Str(c, r->s, &r->s_reply));
	CALL_OK(e2e_Echo_Str(c, r->s_empty, &r->s_empty_reply));
	CALL_OK(e2e_Echo_Blob(c, r->b, &r->b_reply));
	CALL_OK(e2e_Echo_Flag(c, r->t, &r->t_reply));
	CALL_OK(e2e_Echo_Flag(c, r->f, &r->f_reply));
	CALL_OK(e2e_Echo_Real(c, r->d, &r->d_reply));
	CALL_OK(e2e_Echo_Hue(c, r->hue, &r->hue_reply));
	CALL_OK(e2e_Echo_Ints(c, &r->il, &r->il_reply));
	CALL_OK(e2e_Echo_Points(c, &r->pl, &r->pl_reply));
	CALL_OK(e2e_Echo_Counts(c, &r->m, &r->m_reply));
	round_check(r);
	round_free(r);

	/* free_contents re-initialised the replies: a second round into the
	 * same storage works and leaks nothing */
	CALL_OK(e2e_Echo_Everything(c, &r->ev.e, &r->ev_reply));
	everything_check(&r->ev.e, &r->ev_reply);
	e2e_Everything_free_contents(&r->ev_reply);
	ck_assert_ptr_null(r->ev_reply.Inner);
	ck_assert_uint_eq(r->ev_reply.n_Items, 0);

	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Echo.Everything"), 3);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Echo.Flag"), 2);
	rpc_client_free(c);
	char path[128] = "";
	if (ti == T_UNIX) {
		const char *a = rpc_listener_address(s.lis);
		ck_assert_int_eq(strncmp(a, "unix:", 5), 0);
		snprintf(path, sizeof(path), "%s", a + 5);
		ck_assert_int_eq(access(path, F_OK), 0);
	}
	server_stop(&s);
	if (ti == T_UNIX) /* the listener removed its socket file */
		ck_assert_int_ne(access(path, F_OK), 0);
	free(r);
}
END_TEST

START_TEST(test_e2e_roundtrip_go)
{
	int ci = _i / N_TRANSPORTS, ti = _i % N_TRANSPORTS;
	enum { N = 14 };
	e2e_server s;
	echo_round *r = malloc(sizeof(*r));
	rpc_done *q = rpc_done_new_queue();
	rpc_call *calls[N];
	bool seen[N] = {false};
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(q);
	server_start(&s, codecs[ci], ti, false);
	rpc_client *c = client_dial(&s);
	round_fill(r);

	int n = 0;
	CALL_OK(e2e_Echo_Everything_go(c, &r->ev.e, &r->ev_reply, q, &calls[n++]));
	CALL_OK(e2e_Echo_Everything_go(c, &r->empty, &r->empty_reply, q,
	                               &calls[n++]));
	CALL_OK(e2e_Echo_Struct_go(c, &r->st, &r->st_reply, q, &calls[n++]));
	CALL_OK(e2e_Echo_Int_go(c, r->i, &r->i_reply, q, &calls[n++]));
	CALL_OK(e2e_Echo_Str_go(c, r->s, &r->s_reply, q, &calls[n++]));
	CALL_OK(e2e_Echo_Str_go(c, r->s_empty, &r->s_empty_reply, q,
	                        &calls[n++]));
	CALL_OK(e2e_Echo_Blob_go(c, r->b, &r->b_reply, q, &calls[n++]));
	CALL_OK(e2e_Echo_Flag_go(c, r->t, &r->t_reply, q, &calls[n++]));
	CALL_OK(e2e_Echo_Flag_go(c, r->f, &r->f_reply, q, &calls[n++]));
	CALL_OK(e2e_Echo_Real_go(c, r->d, &r->d_reply, q, &calls[n++]));
	CALL_OK(e2e_Echo_Hue_go(c, r->hue, &r->hue_reply, q, &calls[n++]));
	CALL_OK(e2e_Echo_Ints_go(c, &r->il, &r->il_reply, q, &calls[n++]));
	CALL_OK(e2e_Echo_Points_go(c, &r->pl, &r->pl_reply, q, &calls[n++]));
	CALL_OK(e2e_Echo_Counts_go(c, &r->m, &r->m_reply, q, &calls[n++]));
	ck_assert_int_eq(n, N);

	/* each call completes exactly once, without error; the queue's fd
	 * polls readable while completed calls wait in it */
	int qfd = rpc_done_fd(q);
	ck_assert_int_ge(qfd, 0);
	for (int k = 0; k < N; k++) {
		struct pollfd pf = {.fd = qfd, .events = POLLIN};
		ck_assert_int_eq(poll(&pf, 1, 10000), 1);
		rpc_call *done = rpc_done_next(q);
		ck_assert_ptr_nonnull(done);
		int j = 0;
		while (j < N && calls[j] != done)
			j++;
		ck_assert_int_lt(j, N);
		ck_assert(!seen[j]);
		seen[j] = true;
		ck_assert_msg(rpc_call_error(done) == NULL, "%s: %s",
		              rpc_call_service_method(done),
		              rpc_error_message(rpc_call_error(done)));
		rpc_call_free(done);
	}
	ck_assert_ptr_null(rpc_done_next(q));
	round_check(r);
	round_free(r);
	rpc_client_free(c);
	rpc_done_free(q);
	server_stop(&s);
	free(r);
}
END_TEST

/* ---- error texts --------------------------------------------------------- */

START_TEST(test_e2e_error_unknown_service)
{
	e2e_server s;
	sup_Args args = SUP_ARGS_INIT;
	int64_t r = 0;
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	args.A = 2;
	args.B = 3;
	check_server_error(rpc_client_call(c, "Nope.Multiply",
	                                   method(&sup_Arith_service,
	                                          "Multiply"),
	                                   &args, &r),
	                   "rpc: can't find service Nope.Multiply");
	check_multiply(c, 4, 5);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

START_TEST(test_e2e_error_unknown_method)
{
	e2e_server s;
	sup_Args args = SUP_ARGS_INIT;
	int64_t r = 0;
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	check_server_error(rpc_client_call(c, "Arith.Nope",
	                                   method(&sup_Arith_service,
	                                          "Multiply"),
	                                   &args, &r),
	                   "rpc: can't find method Arith.Nope");
	/* a method of another service is not this one's */
	check_server_error(rpc_client_call(c, "Arith.Everything",
	                                   method(&sup_Arith_service,
	                                          "Multiply"),
	                                   &args, &r),
	                   "rpc: can't find method Arith.Everything");
	check_multiply(c, -4, 5);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

START_TEST(test_e2e_error_ill_formed)
{
	e2e_server s;
	sup_Args args = SUP_ARGS_INIT;
	int64_t r = 0;
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	check_server_error(rpc_client_call(c, "Multiply",
	                                   method(&sup_Arith_service,
	                                          "Multiply"),
	                                   &args, &r),
	                   "rpc: service/method request ill-formed: Multiply");
	check_multiply(c, 7, 8);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

START_TEST(test_e2e_error_handler_text)
{
	e2e_server s;
	sup_Args args = SUP_ARGS_INIT;
	sup_Quotient q = SUP_QUOTIENT_INIT;
	protobuf_c_boolean b = 0;
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	args.A = 17;
	args.B = 0;
	check_server_error(sup_Arith_Divide(c, &args, &q), "divide by zero");
	check_multiply(c, 1, 1);
	check_server_error(sup_Arith_Fail(c, "rpc: no \"such\" thing \xe2\x9c\x97",
	                                  &b),
	                   "rpc: no \"such\" thing \xe2\x9c\x97");
	check_multiply(c, 2, 2);
	args.B = 5;
	CALL_OK(sup_Arith_Divide(c, &args, &q));
	ck_assert_int_eq(q.Quo, 3);
	ck_assert_int_eq(q.Rem, 2);
	sup_Quotient_free_contents(&q);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* Errors and successes in flight together: each completion carries its own
 * call's outcome, so the error replies went back with the right seq. */
START_TEST(test_e2e_error_interleaved_seq)
{
	enum { N = 24 };
	e2e_server s;
	sup_Args args[N];
	int64_t replies[N];
	rpc_call *calls[N];
	bool seen[N] = {false};
	const rpc_method *mul = method(&sup_Arith_service, "Multiply");
	static const char *const names[4] = {"Arith.Multiply", "Nope.Multiply",
	                                     "Arith.Nope", "Multiply"};
	static const char *const texts[4] = {
		NULL, "rpc: can't find service Nope.Multiply",
		"rpc: can't find method Arith.Nope",
		"rpc: service/method request ill-formed: Multiply"};
	rpc_done *q = rpc_done_new_queue();
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	for (int k = 0; k < N; k++) {
		sup_Args_init(&args[k]);
		args[k].A = k;
		args[k].B = 1000;
		replies[k] = -1;
		CALL_OK(rpc_client_go(c, names[k % 4], mul, &args[k],
		                      &replies[k], q, &calls[k]));
	}
	for (int k = 0; k < N; k++) {
		rpc_call *done = rpc_done_wait(q, 10000);
		ck_assert_ptr_nonnull(done);
		int64_t *rep = rpc_call_reply(done);
		int j = (int)(rep - replies);
		ck_assert_int_ge(j, 0);
		ck_assert_int_lt(j, N);
		ck_assert_ptr_eq(calls[j], done);
		ck_assert(!seen[j]);
		seen[j] = true;
		ck_assert_str_eq(rpc_call_service_method(done), names[j % 4]);
		const rpc_error *err = rpc_call_error(done);
		if (texts[j % 4] == NULL) {
			ck_assert_ptr_null(err);
			ck_assert_int_eq(*rep, j * 1000);
		} else {
			check_kind(err, RPC_ERR_SERVER);
			ck_assert_str_eq(rpc_error_message(err), texts[j % 4]);
		}
		rpc_call_free(done);
	}
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Multiply"), N / 4);
	check_multiply(c, 3, 3);
	rpc_client_free(c);
	rpc_done_free(q);
	server_stop(&s);
}
END_TEST

/* ---- registration -------------------------------------------------------- */

START_TEST(test_e2e_register_name)
{
	e2e_server s;
	sup_Args args = SUP_ARGS_INIT;
	int64_t r = 0;
	server_start(&s, &rpc_codec_protobuf, T_TCP4, false);
	CALL_OK(sup_Arith_register_name(s.srv, "Calc", &sup_arith_handlers, NULL));
	rpc_client *c = client_dial(&s);
	args.A = 6;
	args.B = 7;
	CALL_OK(rpc_client_call(c, "Calc.Multiply",
	                        method(&sup_Arith_service, "Multiply"), &args,
	                        &r));
	ck_assert_int_eq(r, 42);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Calc.Multiply"), 1);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Multiply"), 0);
	check_multiply(c, 6, 7);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Multiply"), 1);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Calc.Multiply"), 1);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

START_TEST(test_e2e_register_duplicate)
{
	e2e_server s;
	rpc_error *err;
	server_start(&s, &rpc_codec_protobuf, T_TCP4, false);
	err = sup_arith_register(s.srv);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(rpc_error_message(err),
	                 "rpc: service already defined: Arith");
	rpc_error_free(err);
	/* an Echo under the name Arith is a duplicate too */
	err = e2e_Echo_register_name(s.srv, "Arith", &echo_impl, NULL);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(rpc_error_message(err),
	                 "rpc: service already defined: Arith");
	rpc_error_free(err);
	CALL_OK(sup_Arith_register_name(s.srv, "Calc", &sup_arith_handlers, NULL));
	err = sup_Arith_register_name(s.srv, "Calc", &sup_arith_handlers, NULL);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(rpc_error_message(err),
	                 "rpc: service already defined: Calc");
	rpc_error_free(err);
	/* the registry is unharmed */
	rpc_client *c = client_dial(&s);
	check_multiply(c, 9, 9);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* ---- out-of-order completion --------------------------------------------- */

START_TEST(test_e2e_out_of_order)
{
	enum { FAST = 8 };
	e2e_server s;
	sup_Args slow_args = SUP_ARGS_INIT, args[FAST];
	int64_t slow_reply = 0, replies[FAST];
	rpc_call *slow_call = NULL;
	rpc_done *q = rpc_done_new_queue();
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);

	slow_args.A = 20000; /* released by the test long before this */
	slow_args.B = 99;
	CALL_OK(sup_Arith_Slow_go(c, &slow_args, &slow_reply, q, &slow_call));
	ck_assert(sup_arith_slow_wait_running(1));
	for (int k = 0; k < FAST; k++) {
		sup_Args_init(&args[k]);
		args[k].A = k;
		args[k].B = k + 1;
		replies[k] = -1;
		CALL_OK(sup_Arith_Add_go(c, &args[k], &replies[k], q, NULL));
	}
	/* the fast calls, sent after the slow one, all complete before it */
	for (int k = 0; k < FAST; k++) {
		rpc_call *done = rpc_done_wait(q, 10000);
		ck_assert_ptr_nonnull(done);
		ck_assert_ptr_ne(done, slow_call);
		ck_assert_str_eq(rpc_call_service_method(done), "Arith.Add");
		ck_assert_ptr_null(rpc_call_error(done));
		int64_t *rep = rpc_call_reply(done);
		int j = (int)(rep - replies);
		ck_assert_int_eq(*rep, 2 * j + 1);
		rpc_call_free(done);
	}
	/* a blocking call on the same connection gets through too */
	check_multiply(c, 11, 12);
	ck_assert_ptr_null(rpc_done_next(q));
	sup_arith_slow_release();
	rpc_call *done = rpc_done_wait(q, 10000);
	ck_assert_ptr_eq(done, slow_call);
	ck_assert_ptr_null(rpc_call_error(done));
	ck_assert_int_eq(slow_reply, 99);
	rpc_call_free(done);
	rpc_client_free(c);
	rpc_done_free(q);
	server_stop(&s);
}
END_TEST

/* ---- many threads, one client -------------------------------------------- */

typedef struct load_arg {
	rpc_client *c;
	int id;
	int calls;
	atomic_int *bad;
} load_arg;

static void *load_main(void *p)
{
	load_arg *a = p;
	for (int k = 0; k < a->calls; k++) {
		sup_Args args = SUP_ARGS_INIT;
		args.A = a->id + 1;
		args.B = k;
		if (k % 4 == 3) {
			sup_Quotient q = SUP_QUOTIENT_INIT;
			args.A = (int64_t)k * 1000 + a->id;
			args.B = 1000;
			rpc_error *err = sup_Arith_Divide(a->c, &args, &q);
			if (err || q.Quo != k || q.Rem != a->id)
				atomic_fetch_add(a->bad, 1);
			rpc_error_free(err);
			sup_Quotient_free_contents(&q);
		} else {
			int64_t r = -1;
			rpc_error *err = sup_Arith_Multiply(a->c, &args, &r);
			if (err || r != (int64_t)(a->id + 1) * k)
				atomic_fetch_add(a->bad, 1);
			rpc_error_free(err);
		}
	}
	return NULL;
}

START_TEST(test_e2e_many_threads)
{
	int threads = under_valgrind() ? 10 : 50;
	int calls = under_valgrind() ? 100 : 1000;
	e2e_server s;
	pthread_t tid[50];
	load_arg la[50];
	atomic_int bad = 0;
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	for (int t = 0; t < threads; t++) {
		la[t] = (load_arg){c, t, calls, &bad};
		ck_assert_int_eq(pthread_create(&tid[t], NULL, load_main, &la[t]),
		                 0);
	}
	for (int t = 0; t < threads; t++)
		pthread_join(tid[t], NULL);
	ck_assert_int_eq(atomic_load(&bad), 0);
	uint64_t total = (uint64_t)threads * (uint64_t)calls;
	uint64_t divides = (uint64_t)threads * (uint64_t)(calls / 4);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Divide"), divides);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Multiply"),
	                  total - divides);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* ---- the server dies mid-call -------------------------------------------- */

/* read_full reads n bytes from fd, waiting up to 10 s for each. */
static bool read_full(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n > 0) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 10000) != 1)
			return false;
		ssize_t k = read(fd, b, n);
		if (k <= 0)
			return false;
		b += k;
		n -= (size_t)k;
	}
	return true;
}

/* serve_child is the forked server: it serves Arith on a free port, tells
 * the parent the port, then one byte per Slow call it starts. alarm bounds
 * its life should the parent fail to kill it. */
static void serve_child(const rpc_codec *codec, int to_parent)
{
	rpc_server *srv = NULL;
	rpc_listener *l = NULL;
	rpc_server_options o = {.codec = codec};
	alarm(60);
	sup_arith_slow_reset();
	sup_arith_slow_notify(to_parent);
	if (rpc_server_new(&o, &srv) ||
	    sup_arith_register(srv) ||
	    rpc_listen("tcp:127.0.0.1:0", &l))
		_exit(2);
	int port = rpc_listener_port(l);
	if (write(to_parent, &port, sizeof(port)) != sizeof(port))
		_exit(3);
	rpc_server_accept(srv, l);
	_exit(4);
}

START_TEST(test_e2e_server_killed)
{
	enum { N = 5 };
	const rpc_codec *codec = codecs[_i];
	int pfd[2], port = 0;
	char addr[64], started[N];
	sup_Args args = SUP_ARGS_INIT;
	int64_t replies[N], r = 0;
	rpc_call *calls[N];
	bool seen[N] = {false};
	rpc_client *c = NULL;
	rpc_client_options co = {.codec = codec};

	ck_assert_int_eq(pipe(pfd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		serve_child(codec, pfd[1]);
	}
	close(pfd[1]);
	bool up = read_full(pfd[0], &port, sizeof(port));
	if (!up) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	ck_assert(up);
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", port);
	CALL_OK(rpc_dial(addr, &co, &c));
	check_multiply(c, 3, 4);

	rpc_done *q = rpc_done_new_queue();
	args.A = 30000; /* the child dies long before */
	args.B = 1;
	for (int k = 0; k < N; k++) {
		replies[k] = -1;
		CALL_OK(sup_Arith_Slow_go(c, &args, &replies[k], q, &calls[k]));
	}
	bool all_started = read_full(pfd[0], started, N);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	int st = 0;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	close(pfd[0]);
	ck_assert(all_started);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	/* every pending call completes exactly once, with unexpected EOF */
	for (int k = 0; k < N; k++) {
		rpc_call *done = rpc_done_wait(q, 10000);
		ck_assert_ptr_nonnull(done);
		int j = (int)((int64_t *)rpc_call_reply(done) - replies);
		ck_assert_int_ge(j, 0);
		ck_assert_int_lt(j, N);
		ck_assert_ptr_eq(calls[j], done);
		ck_assert(!seen[j]);
		seen[j] = true;
		check_kind(rpc_call_error(done), RPC_ERR_UNEXPECTED_EOF);
		ck_assert_str_eq(rpc_error_message(rpc_call_error(done)),
		                 "unexpected EOF");
		ck_assert_int_eq(replies[j], -1);
		rpc_call_free(done);
	}
	ck_assert_ptr_null(rpc_done_wait(q, 50));

	/* later calls fail at once; an async one never completes */
	rpc_error *err = sup_Arith_Multiply(c, &args, &r);
	check_kind(err, RPC_ERR_SHUTDOWN);
	ck_assert_str_eq(rpc_error_message(err), "connection is shut down");
	rpc_error_free(err);
	rpc_call *late = NULL;
	err = sup_Arith_Multiply_go(c, &args, &r, q, &late);
	check_kind(err, RPC_ERR_SHUTDOWN);
	rpc_error_free(err);
	/* the user has not closed yet: the first close succeeds (as Go's
	 * Close after the reader ended), the second reports shutdown */
	ck_assert_ptr_null(rpc_client_close(c));
	err = rpc_client_close(c);
	check_kind(err, RPC_ERR_SHUTDOWN);
	rpc_error_free(err);
	rpc_client_free(c);
	ck_assert_ptr_null(rpc_done_next(q));
	rpc_done_free(q);
}
END_TEST

/* ---- close --------------------------------------------------------------- */

START_TEST(test_e2e_close)
{
	e2e_server s;
	sup_Args args = SUP_ARGS_INIT;
	int64_t r = 0, slow_reply = -1;
	rpc_call *slow_call = NULL;
	rpc_done *q = rpc_done_new_queue();
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	check_multiply(c, 2, 21);

	/* a call in flight completes with the shutdown error */
	args.A = 20000;
	args.B = 5;
	CALL_OK(sup_Arith_Slow_go(c, &args, &slow_reply, q, &slow_call));
	ck_assert(sup_arith_slow_wait_running(1));
	ck_assert_ptr_null(rpc_client_close(c));
	rpc_call *done = rpc_done_wait(q, 10000);
	ck_assert_ptr_eq(done, slow_call);
	check_kind(rpc_call_error(done), RPC_ERR_SHUTDOWN);
	ck_assert_str_eq(rpc_error_message(rpc_call_error(done)),
	                 "connection is shut down");
	rpc_call_free(done);

	/* later calls fail at once */
	rpc_error *err = sup_Arith_Multiply(c, &args, &r);
	check_kind(err, RPC_ERR_SHUTDOWN);
	ck_assert_str_eq(rpc_error_message(err), "connection is shut down");
	rpc_error_free(err);
	err = sup_Arith_Add_go(c, &args, &r, q, NULL);
	check_kind(err, RPC_ERR_SHUTDOWN);
	rpc_error_free(err);
	err = rpc_client_close(c);
	check_kind(err, RPC_ERR_SHUTDOWN);
	ck_assert_str_eq(rpc_error_message(err), "connection is shut down");
	rpc_error_free(err);
	rpc_client_free(c);
	ck_assert_ptr_null(rpc_done_next(q));
	rpc_done_free(q);

	/* the server is fine */
	sup_arith_slow_release();
	c = client_dial(&s);
	check_multiply(c, 5, 5);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* ---- hostile input on raw sockets (native framing) ----------------------- */

static int raw_connect(e2e_server *s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {10, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	sa.sin_port = htons((uint16_t)rpc_listener_port(s->lis));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void raw_write(int fd, const void *p, size_t n)
{
	ck_assert_int_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* raw_expect_closed reads until the server ends the connection (EOF or a
 * reset), requiring that no byte arrives first. */
static void raw_expect_closed(int fd)
{
	char b[64];
	ssize_t n = recv(fd, b, sizeof(b), 0);
	ck_assert_msg(n == 0 || (n < 0 && errno == ECONNRESET),
	              "want the connection closed, got %zd (%s)", n,
	              n < 0 ? strerror(errno) : "bytes");
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* frame_make writes a request frame into out (room for 4 + 64 + len(sm) +
 * blen bytes) and returns its length. */
static size_t frame_make(uint8_t *out, const char *sm, uint64_t seq,
                         const uint8_t *body, size_t blen)
{
	size_t n = 4, sl = strlen(sm);
	n += put_varint(out + n, sl);
	memcpy(out + n, sm, sl);
	n += sl;
	n += put_varint(out + n, seq);
	n += put_varint(out + n, 0);
	memcpy(out + n, body, blen);
	n += blen;
	uint32_t len = (uint32_t)(n - 4);
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	return n;
}

static uint64_t get_varint(const uint8_t *p, size_t len, size_t *i)
{
	uint64_t v = 0;
	for (int shift = 0; *i < len && shift < 64; shift += 7) {
		uint8_t b = p[(*i)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	ck_abort_msg("bad varint in a response");
	return 0;
}

/* raw_read_response reads one response frame: its seq, error text (into
 * err, NUL-terminated) and body (into body, length in *blen). */
static void raw_read_response(int fd, uint64_t *seq, char *err, size_t errcap,
                              uint8_t *body, size_t *blen)
{
	uint8_t hdr[4], payload[4096];
	size_t i = 0;
	ck_assert(read_full(fd, hdr, 4));
	size_t len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	             (size_t)hdr[2] << 8 | hdr[3];
	ck_assert_uint_le(len, sizeof(payload));
	ck_assert(read_full(fd, payload, len));
	uint64_t sl = get_varint(payload, len, &i);
	ck_assert_uint_le(i + sl, len);
	i += sl;
	*seq = get_varint(payload, len, &i);
	uint64_t el = get_varint(payload, len, &i);
	ck_assert_uint_le(i + el, len);
	ck_assert_uint_lt(el, errcap);
	memcpy(err, payload + i, el);
	err[el] = '\0';
	i += el;
	*blen = len - i;
	memcpy(body, payload + i, *blen);
}

static size_t args_body(uint8_t *buf, int64_t a, int64_t b)
{
	sup_Args args = SUP_ARGS_INIT;
	args.A = a;
	args.B = b;
	return protobuf_c_message_pack(&args.base, buf);
}

/* still_serving: a generated-stub call on a new connection works. */
static void still_serving(e2e_server *s)
{
	rpc_client *c = client_dial(s);
	check_multiply(c, 12, 13);
	rpc_client_free(c);
}

/* The server's log lines, kept for the hostile tests to read. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_text[4096];

static void log_line(void *ud, const char *line)
{
	(void)ud;
	pthread_mutex_lock(&log_mu);
	size_t n = strlen(log_text);
	snprintf(log_text + n, sizeof(log_text) - n, "%s\n", line);
	pthread_mutex_unlock(&log_mu);
}

static bool log_has(const char *text)
{
	pthread_mutex_lock(&log_mu);
	bool has = strstr(log_text, text) != NULL;
	pthread_mutex_unlock(&log_mu);
	return has;
}

static void hostile_start(e2e_server *s)
{
	rpc_server_options o = {.max_frame = 4096, .log = log_line};
	log_text[0] = '\0';
	memset(s, 0, sizeof(*s));
	s->codec = &rpc_codec_protobuf;
	sup_arith_slow_reset();
	ck_assert_ptr_null(rpc_server_new(&o, &s->srv));
	ck_assert_ptr_null(sup_arith_register(s->srv));
	ck_assert_ptr_null(rpc_listen("tcp:127.0.0.1:0", &s->lis));
	ck_assert_int_eq(pthread_create(&s->acceptor, NULL, accept_main, s), 0);
	s->running = true;
}

START_TEST(test_e2e_hostile_garbage)
{
	e2e_server s;
	hostile_start(&s);
	int fd = raw_connect(&s);
	/* "GARB" read as a length is 1.2 GB, far over max_frame (and no
	 * protocol that the server would name and answer) */
	static const char junk[] =
	    "GARBAGE / HTTP/1.0\r\n\r\n\xff\xfe\x00 garbage";
	raw_write(fd, junk, sizeof(junk));
	raw_expect_closed(fd);
	close(fd);
	still_serving(&s);
	server_stop(&s);
}
END_TEST

START_TEST(test_e2e_hostile_truncated)
{
	e2e_server s;
	uint8_t body[64], frame[256];
	hostile_start(&s);
	int fd = raw_connect(&s);
	size_t blen = args_body(body, 3, 4);
	size_t n = frame_make(frame, "Arith.Multiply", 1, body, blen);
	raw_write(fd, frame, n - 2); /* the end of the frame never comes */
	shutdown(fd, SHUT_WR);
	raw_expect_closed(fd); /* no reply, just closed */
	close(fd);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Multiply"), 0);
	still_serving(&s);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Multiply"), 1);
	server_stop(&s);
}
END_TEST

START_TEST(test_e2e_hostile_oversized)
{
	e2e_server s;
	hostile_start(&s);
	int fd = raw_connect(&s);
	/* a length of 4097, one over max_frame, followed by a few bytes */
	static const uint8_t big[] = {0x00, 0x00, 0x10, 0x01, 1, 2, 3};
	raw_write(fd, big, sizeof(big));
	raw_expect_closed(fd);
	close(fd);
	/* the connection closed after the line was logged */
	ck_assert_msg(log_has("rpc: frame of 4097 bytes exceeds the maximum of "
	                      "4096"),
	              "log: %s", log_text);
	still_serving(&s);
	server_stop(&s);
}
END_TEST

START_TEST(test_e2e_hostile_no_service)
{
	e2e_server s;
	uint8_t body[64], frame[256], rbody[256];
	char err[256];
	uint64_t seq = 0;
	size_t rlen = 0;
	hostile_start(&s);
	int fd = raw_connect(&s);
	size_t blen = args_body(body, 3, 4);

	/* a header naming no registered service: an error reply with its
	 * seq and an empty body; the connection lives on */
	size_t n = frame_make(frame, "Nope.Multiply", 41, body, blen);
	raw_write(fd, frame, n);
	raw_read_response(fd, &seq, err, sizeof(err), rbody, &rlen);
	ck_assert_uint_eq(seq, 41);
	ck_assert_str_eq(err, "rpc: can't find service Nope.Multiply");
	ck_assert_uint_eq(rlen, 0);

	/* an empty service/method names nothing at all: ill-formed */
	n = frame_make(frame, "", 42, body, blen);
	raw_write(fd, frame, n);
	raw_read_response(fd, &seq, err, sizeof(err), rbody, &rlen);
	ck_assert_uint_eq(seq, 42);
	ck_assert_str_eq(err, "rpc: service/method request ill-formed: ");
	ck_assert_uint_eq(rlen, 0);

	/* and a valid request on the same connection is answered */
	n = frame_make(frame, "Arith.Multiply", 43, body, blen);
	raw_write(fd, frame, n);
	raw_read_response(fd, &seq, err, sizeof(err), rbody, &rlen);
	ck_assert_uint_eq(seq, 43);
	ck_assert_str_eq(err, "");
	e2e_Int64Value *v = (e2e_Int64Value *)protobuf_c_message_unpack(
		&e2e_Int64Value_descriptor, NULL, rlen, rbody);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->value, 12);
	protobuf_c_message_free_unpacked(&v->base, NULL);
	close(fd);
	still_serving(&s);
	server_stop(&s);
}
END_TEST

/* Requests pipelined in one write, and one request trickled a byte at a
 * time: every one is answered once, with its own seq. */
START_TEST(test_e2e_hostile_pipelined_and_trickled)
{
	enum { N = 50 };
	e2e_server s;
	uint8_t body[64], rbody[256], *frames = malloc(N * 128);
	char err[256];
	size_t n = 0, rlen = 0;
	uint64_t seq = 0;
	bool seen[N] = {false};
	ck_assert_ptr_nonnull(frames);
	hostile_start(&s);
	int fd = raw_connect(&s);
	for (int k = 0; k < N; k++) {
		size_t blen = args_body(body, k, 3);
		n += frame_make(frames + n, "Arith.Multiply", 1000 + k, body,
		                blen);
	}
	raw_write(fd, frames, n);
	for (int k = 0; k < N; k++) {
		raw_read_response(fd, &seq, err, sizeof(err), rbody, &rlen);
		ck_assert_str_eq(err, "");
		ck_assert_uint_ge(seq, 1000);
		ck_assert_uint_lt(seq, 1000 + N);
		ck_assert(!seen[seq - 1000]);
		seen[seq - 1000] = true;
		e2e_Int64Value *v = (e2e_Int64Value *)protobuf_c_message_unpack(
			&e2e_Int64Value_descriptor, NULL, rlen, rbody);
		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(v->value, (int64_t)(seq - 1000) * 3);
		protobuf_c_message_free_unpacked(&v->base, NULL);
	}
	/* the largest seq there is, a byte at a time */
	size_t blen = args_body(body, 7, 7);
	n = frame_make(frames, "Arith.Multiply", UINT64_MAX, body, blen);
	for (size_t k = 0; k < n; k++)
		raw_write(fd, frames + k, 1);
	raw_read_response(fd, &seq, err, sizeof(err), rbody, &rlen);
	ck_assert_str_eq(err, "");
	ck_assert(seq == UINT64_MAX);
	close(fd);
	free(frames);
	still_serving(&s);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Multiply"), N + 2);
	server_stop(&s);
}
END_TEST

/* A NUL byte inside the service/method is a malformed header: the
 * connection ends without a reply. */
START_TEST(test_e2e_hostile_nul_in_header)
{
	e2e_server s;
	uint8_t body[64], frame[256];
	hostile_start(&s);
	int fd = raw_connect(&s);
	size_t blen = args_body(body, 1, 2);
	size_t n = frame_make(frame, "Arith.Multiply", 3, body, blen);
	frame[4 + 1 + 5] = '\0'; /* "Arith\0Multiply" */
	raw_write(fd, frame, n);
	raw_expect_closed(fd);
	close(fd);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Multiply"), 0);
	still_serving(&s);
	server_stop(&s);
}
END_TEST

/* JSON on the wire: an unknown service is answered with the request's id
 * (numbers and strings alike, as Go's jsonrpc echoes the raw id) and the
 * connection lives on. */
START_TEST(test_e2e_hostile_json_ids)
{
	e2e_server s;
	char buf[4096];
	size_t len = 0;
	server_start(&s, &rpc_codec_json, T_TCP4, false);
	int fd = raw_connect(&s);
	static const char req[] =
		"{\"method\":\"Nope.X\",\"params\":[{}],\"id\":7}\n"
		"{\"method\":\"Arith.Multiply\",\"params\":[{\"A\":6,\"B\":7}],"
		"\"id\":\"abc\"}\n";
	raw_write(fd, req, sizeof(req) - 1);
	/* two response lines */
	int lines = 0;
	while (lines < 2) {
		ck_assert_uint_lt(len, sizeof(buf) - 1);
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		ck_assert_int_gt(n, 0);
		for (ssize_t k = 0; k < n; k++)
			lines += buf[len + (size_t)k] == '\n';
		len += (size_t)n;
	}
	buf[len] = '\0';
	char *nl = strchr(buf, '\n');
	*nl = '\0';
	char *second = nl + 1;
	/* replies leave in any order */
	char *err_line = strstr(buf, "Nope.X") ? buf : second;
	char *ok_line = err_line == buf ? second : buf;
	ck_assert_msg(strstr(err_line, "\"id\":7") != NULL, "%s", err_line);
	ck_assert_msg(strstr(err_line, "\"error\":\"rpc: can't find service "
	                               "Nope.X\"") != NULL, "%s", err_line);
	ck_assert_msg(strstr(ok_line, "\"id\":\"abc\"") != NULL, "%s", ok_line);
	ck_assert_msg(strstr(ok_line, "\"result\":42") != NULL, "%s", ok_line);
	ck_assert_msg(strstr(ok_line, "\"error\":null") != NULL, "%s", ok_line);
	close(fd);
	still_serving(&s);
	server_stop(&s);
}
END_TEST

/* ---- a fake server: what the client does with odd replies ---------------- */

/* frame_make_response is frame_make with an error text. */
static size_t frame_make_response(uint8_t *out, const char *sm, uint64_t seq,
                                  const char *err, const uint8_t *body,
                                  size_t blen)
{
	size_t n = 4, sl = strlen(sm), el = strlen(err);
	n += put_varint(out + n, sl);
	memcpy(out + n, sm, sl);
	n += sl;
	n += put_varint(out + n, seq);
	n += put_varint(out + n, el);
	memcpy(out + n, err, el);
	n += el;
	memcpy(out + n, body, blen);
	n += blen;
	uint32_t len = (uint32_t)(n - 4);
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	return n;
}

/* read_request reads one request frame from fd and returns its seq. */
static uint64_t read_request(int fd)
{
	uint64_t seq = 0;
	char sm[256];
	uint8_t body[256];
	size_t blen = 0;
	/* a request has the response's layout, its error empty */
	raw_read_response(fd, &seq, sm, sizeof(sm), body, &blen);
	return seq;
}

static int fake_accept(int lfd)
{
	struct pollfd pf = {.fd = lfd, .events = POLLIN};
	ck_assert_int_eq(poll(&pf, 1, 10000), 1);
	int fd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

START_TEST(test_e2e_client_odd_replies)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char addr[64];
	uint8_t frame[256], body[16];
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", ntohs(sa.sin_port));

	rpc_client *c = NULL;
	rpc_done *q = rpc_done_new_queue();
	sup_Args args = SUP_ARGS_INIT;
	int64_t r = -1;
	rpc_call *call = NULL;
	CALL_OK(rpc_dial(addr, NULL, &c));
	int fd = fake_accept(lfd);
	CALL_OK(sup_Arith_Multiply_go(c, &args, &r, q, &call));
	uint64_t seq = read_request(fd);

	/* a reply to no call in flight is read and dropped */
	e2e_Int64Value v = E2E_INT64VALUE_INIT;
	v.value = 1234;
	size_t blen = protobuf_c_message_pack(&v.base, body);
	size_t n = frame_make_response(frame, "Arith.Multiply", seq + 100, "",
	                               body, blen);
	raw_write(fd, frame, n);
	/* an error reply with a body: the body is ignored */
	n = frame_make_response(frame, "Arith.Multiply", seq + 101, "boom",
	                        body, blen);
	raw_write(fd, frame, n);
	/* then the real one */
	v.value = 56;
	blen = protobuf_c_message_pack(&v.base, body);
	n = frame_make_response(frame, "Arith.Multiply", seq, "", body, blen);
	raw_write(fd, frame, n);
	rpc_call *done = rpc_done_wait(q, 10000);
	ck_assert_ptr_eq(done, call);
	ck_assert_ptr_null(rpc_call_error(done));
	ck_assert_int_eq(r, 56);
	rpc_call_free(done);
	ck_assert_ptr_null(rpc_done_next(q));

	/* a reply whose body is not an int64 fails that call only */
	CALL_OK(sup_Arith_Multiply_go(c, &args, &r, q, &call));
	seq = read_request(fd);
	static const uint8_t bad[] = {0x0f, 0xff, 0xff};
	n = frame_make_response(frame, "Arith.Multiply", seq, "", bad,
	                        sizeof(bad));
	raw_write(fd, frame, n);
	done = rpc_done_wait(q, 10000);
	ck_assert_ptr_eq(done, call);
	ck_assert_ptr_nonnull(rpc_call_error(done));
	ck_assert_int_ne(rpc_error_kind_of(rpc_call_error(done)),
	                 RPC_ERR_SERVER);
	rpc_call_free(done);
	CALL_OK(sup_Arith_Multiply_go(c, &args, &r, q, &call));
	seq = read_request(fd);
	n = frame_make_response(frame, "Arith.Multiply", seq, "", body, blen);
	raw_write(fd, frame, n);
	done = rpc_done_wait(q, 10000);
	ck_assert_ptr_eq(done, call);
	ck_assert_ptr_null(rpc_call_error(done));
	rpc_call_free(done);

	/* a malformed header ends the connection: pending calls fail */
	CALL_OK(sup_Arith_Multiply_go(c, &args, &r, q, &call));
	(void)read_request(fd);
	static const uint8_t junk[] = {0, 0, 0, 3, 0xff, 0xff, 0xff};
	raw_write(fd, junk, sizeof(junk));
	done = rpc_done_wait(q, 10000);
	ck_assert_ptr_eq(done, call);
	ck_assert_ptr_nonnull(rpc_call_error(done));
	ck_assert_int_ne(rpc_error_kind_of(rpc_call_error(done)),
	                 RPC_ERR_SERVER);
	rpc_call_free(done);
	rpc_error *err = sup_Arith_Multiply(c, &args, &r);
	check_kind(err, RPC_ERR_SHUTDOWN);
	rpc_error_free(err);
	rpc_client_free(c);
	rpc_done_free(q);
	close(fd);
	close(lfd);
}
END_TEST

/* Garbage on a gob or JSON connection ends it too; the server lives. */
START_TEST(test_e2e_hostile_garbage_codecs)
{
	e2e_server s;
	server_start(&s, codecs[_i], T_TCP4, false);
	int fd = raw_connect(&s);
	static const uint8_t junk[] = {0xff, 0x81, 0x03, '{', '}', '}', ']',
	                               0x00, 0x7f, 0xfe, 0x01, '"', '\n'};
	raw_write(fd, junk, sizeof(junk));
	shutdown(fd, SHUT_WR);
	raw_expect_closed(fd);
	close(fd);
	still_serving(&s);
	server_stop(&s);
}
END_TEST

/* ---- HTTP ---------------------------------------------------------------- */

/* http_get sends request on a new connection and returns the whole
 * response (caller frees). */
static char *http_get(e2e_server *s, const char *request)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	int fd = raw_connect(s);
	raw_write(fd, request, strlen(request));
	for (;;) {
		ck_assert_uint_lt(len, cap - 1);
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

START_TEST(test_e2e_http_connect)
{
	int ci = _i / N_TRANSPORTS, ti = _i % N_TRANSPORTS;
	e2e_server s;
	rpc_client *c = NULL;
	rpc_client_options o = {.codec = codecs[ci]};
	server_start(&s, codecs[ci], ti, true);
	CALL_OK(rpc_dial_http(rpc_listener_address(s.lis), NULL, &o, &c));
	check_multiply(c, 6, 9);
	int64_t x = 0;
	CALL_OK(e2e_Echo_Int(c, -77, &x));
	ck_assert_int_eq(x, -77);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

START_TEST(test_e2e_http_405)
{
	e2e_server s;
	server_start(&s, &rpc_codec_protobuf, T_TCP4, true);
	char *resp = http_get(&s, "GET /_goRPC_ HTTP/1.0\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(resp, " 405 Method Not Allowed\r\n"));
	size_t n = strlen(resp);
	ck_assert_uint_ge(n, 17);
	ck_assert_str_eq(resp + n - 17, "405 must CONNECT\n");
	free(resp);
	/* the server still takes CONNECT afterwards */
	rpc_client *c = NULL;
	CALL_OK(rpc_dial_http(rpc_listener_address(s.lis), NULL, NULL, &c));
	check_multiply(c, 2, 3);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* row finds the debug page's table row of a method and its call count. */
static void check_row(const char *section_start, const char *section_end,
                      const char *sig, unsigned calls)
{
	char want[256];
	snprintf(want, sizeof(want),
	         "<td align=left font=fixed>%s error</td>\n"
	         "\t\t\t<td align=center>%u</td>",
	         sig, calls);
	const char *p = strstr(section_start, want);
	ck_assert_msg(p != NULL && (section_end == NULL || p < section_end),
	              "debug page lacks row: %s", want);
}

START_TEST(test_e2e_http_debug_page)
{
	e2e_server s;
	rpc_client *c = NULL;
	sup_Args args = SUP_ARGS_INIT;
	sup_Quotient q = SUP_QUOTIENT_INIT;
	int64_t r;
	server_start(&s, &rpc_codec_protobuf, T_TCP4, true);
	CALL_OK(sup_Arith_register_name(s.srv, "Calc", &sup_arith_handlers, NULL));
	CALL_OK(rpc_dial_http(rpc_listener_address(s.lis), NULL, NULL, &c));
	for (int k = 0; k < 3; k++)
		check_multiply(c, k, 2);
	args.A = 8;
	args.B = 2;
	CALL_OK(sup_Arith_Add(c, &args, &r));
	CALL_OK(sup_Arith_Add(c, &args, &r));
	args.B = 0;
	check_server_error(sup_Arith_Divide(c, &args, &q), "divide by zero");
	args.B = 3;
	CALL_OK(rpc_client_call(c, "Calc.Divide",
	                        method(&sup_Arith_service, "Divide"), &args, &q));
	CALL_OK(e2e_Echo_Int(c, 5, &r));
	/* a failed lookup is no call */
	check_server_error(rpc_client_call(c, "Arith.Nope",
	                                   method(&sup_Arith_service, "Add"),
	                                   &args, &r),
	                   "rpc: can't find method Arith.Nope");
	rpc_client_free(c);

	char *page = http_get(&s, "GET /debug/rpc HTTP/1.0\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(page, " 200 OK\r\n"));
	char *body = strstr(page, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	char *arith = strstr(body, "Service Arith\n");
	char *calc = strstr(body, "Service Calc\n");
	char *echo = strstr(body, "Service Echo\n");
	ck_assert_ptr_nonnull(arith);
	ck_assert_ptr_nonnull(calc);
	ck_assert_ptr_nonnull(echo);
	ck_assert(arith < calc); /* services sorted by name */
	ck_assert(calc < echo);
	check_row(arith, calc, "Multiply(Args, *int64)", 3);
	check_row(arith, calc, "Add(Args, *int64)", 2);
	check_row(arith, calc, "Divide(Args, *Quotient)", 1);
	check_row(arith, calc, "Slow(Args, *int64)", 0);
	check_row(arith, calc, "Fail(string, *bool)", 0);
	check_row(calc, echo, "Divide(Args, *Quotient)", 1);
	check_row(calc, echo, "Multiply(Args, *int64)", 0);
	check_row(echo, NULL, "Int(int64, *int64)", 1);
	/* type names are HTML-escaped, as Go's template does */
	check_row(echo, NULL,
	          "Counts(map&lt;string, int64&gt;, *map&lt;string, int64&gt;)",
	          0);
	check_row(echo, NULL, "Points(list&lt;Point&gt;, *list&lt;Point&gt;)", 0);
	/* methods sorted by name within a service */
	ck_assert(strstr(arith, "Add(") < strstr(arith, "Divide("));
	ck_assert(strstr(arith, "Divide(") < strstr(arith, "Fail("));
	ck_assert(strstr(arith, "Fail(") < strstr(arith, "Multiply("));
	ck_assert(strstr(arith, "Multiply(") < strstr(arith, "Slow("));
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Multiply"), 3);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Calc.Divide"), 1);
	free(page);
	sup_Quotient_free_contents(&q);
	server_stop(&s);
}
END_TEST

/* ---- server shutdown ----------------------------------------------------- */

START_TEST(test_e2e_shutdown_drains)
{
	e2e_server s;
	sup_Args args = SUP_ARGS_INIT;
	int64_t slow_reply = -1, r = 0;
	rpc_call *slow_call = NULL;
	rpc_done *q = rpc_done_new_queue();
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	check_multiply(c, 1, 2);
	args.A = 200; /* nobody releases it: it sleeps 200 ms */
	args.B = 77;
	CALL_OK(sup_Arith_Slow_go(c, &args, &slow_reply, q, &slow_call));
	ck_assert(sup_arith_slow_wait_running(1));

	/* free while the call runs: it waits for the call, whose reply is
	 * sent, and the accept loop returns */
	rpc_server_free(s.srv);
	s.srv = NULL;
	server_join(&s);
	rpc_listener_free(s.lis);
	s.lis = NULL;

	rpc_call *done = rpc_done_wait(q, 10000);
	ck_assert_ptr_eq(done, slow_call);
	ck_assert_msg(rpc_call_error(done) == NULL, "slow call: %s",
	              rpc_error_message(rpc_call_error(done)));
	ck_assert_int_eq(slow_reply, 77);
	rpc_call_free(done);

	/* the connection is gone now */
	rpc_error *err = sup_Arith_Multiply(c, &args, &r);
	ck_assert_ptr_nonnull(err);
	ck_assert(rpc_error_kind_of(err) == RPC_ERR_SHUTDOWN ||
	          rpc_error_kind_of(err) == RPC_ERR_UNEXPECTED_EOF);
	rpc_error_free(err);
	rpc_client_free(c);
	rpc_done_free(q);
}
END_TEST

/* ---- callbacks ----------------------------------------------------------- */

typedef struct cb_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, bad;
} cb_state;

/* on_done runs on the client's reader thread: it checks the product and
 * frees the call. */
static void on_done(rpc_call *call, void *ud)
{
	cb_state *st = ud;
	int64_t *reply = rpc_call_reply(call);
	bool ok = rpc_call_error(call) == NULL &&
	          strcmp(rpc_call_service_method(call), "Arith.Multiply") == 0 &&
	          *reply % 1000 == 7;
	rpc_call_free(call);
	pthread_mutex_lock(&st->mu);
	st->done++;
	st->bad += !ok;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

START_TEST(test_e2e_roundtrip_callback)
{
	enum { N = 40 };
	e2e_server s;
	sup_Args args[N];
	int64_t replies[N];
	cb_state st = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
	               0};
	struct timespec until;
	rpc_done *d = rpc_done_new_callback(on_done, &st);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(rpc_done_fd(d), -1);
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	for (int k = 0; k < N; k++) {
		sup_Args_init(&args[k]);
		args[k].A = 1000 * k + 7;
		args[k].B = 1;
		CALL_OK(sup_Arith_Multiply_go(c, &args[k], &replies[k], d, NULL));
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&st.mu);
	while (st.done < N &&
	       pthread_cond_timedwait(&st.cv, &st.mu, &until) == 0)
		;
	int done = st.done, bad = st.bad;
	pthread_mutex_unlock(&st.mu);
	ck_assert_int_eq(done, N);
	ck_assert_int_eq(bad, 0);
	for (int k = 0; k < N; k++)
		ck_assert_int_eq(replies[k], 1000 * k + 7);
	rpc_client_free(c);
	rpc_done_free(d);
	server_stop(&s);
}
END_TEST

typedef struct shut_state {
	atomic_int shutdown, other;
} shut_state;

static void on_shut(rpc_call *call, void *ud)
{
	shut_state *st = ud;
	const rpc_error *err = rpc_call_error(call);
	if (err && rpc_error_kind_of(err) == RPC_ERR_SHUTDOWN)
		atomic_fetch_add(&st->shutdown, 1);
	else
		atomic_fetch_add(&st->other, 1);
	rpc_call_free(call);
}

/* Freeing a client with calls in flight completes each through its
 * callback before rpc_client_free returns. */
START_TEST(test_e2e_callback_on_free)
{
	enum { N = 4 };
	e2e_server s;
	sup_Args args = SUP_ARGS_INIT;
	int64_t replies[N];
	shut_state st = {0, 0};
	rpc_done *d = rpc_done_new_callback(on_shut, &st);
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	args.A = 20000;
	for (int k = 0; k < N; k++)
		CALL_OK(sup_Arith_Slow_go(c, &args, &replies[k], d, NULL));
	ck_assert(sup_arith_slow_wait_running(N));
	rpc_client_free(c);
	ck_assert_int_eq(atomic_load(&st.shutdown), N);
	ck_assert_int_eq(atomic_load(&st.other), 0);
	rpc_done_free(d);
	server_stop(&s);
}
END_TEST

/* One done-queue serves calls of two clients speaking different codecs to
 * two servers. */
START_TEST(test_e2e_queue_two_clients)
{
	e2e_server a, b;
	sup_Args args = SUP_ARGS_INIT;
	int64_t ra = 0, rb = 0;
	rpc_call *ca = NULL, *cb = NULL;
	rpc_done *q = rpc_done_new_queue();
	server_start(&a, codecs[_i], T_TCP4, false);
	server_start(&b, codecs[(_i + 1) % N_CODECS], T_UNIX, false);
	rpc_client *c1 = client_dial(&a), *c2 = client_dial(&b);
	args.A = 4;
	args.B = 5;
	CALL_OK(sup_Arith_Multiply_go(c1, &args, &ra, q, &ca));
	CALL_OK(sup_Arith_Add_go(c2, &args, &rb, q, &cb));
	for (int k = 0; k < 2; k++) {
		rpc_call *done = rpc_done_wait(q, 10000);
		ck_assert_ptr_nonnull(done);
		ck_assert(done == ca || done == cb);
		ck_assert_ptr_null(rpc_call_error(done));
		rpc_call_free(done);
	}
	ck_assert_int_eq(ra, 20);
	ck_assert_int_eq(rb, 9);
	rpc_client_free(c1);
	rpc_client_free(c2);
	rpc_done_free(q);
	server_stop(&a);
	server_stop(&b);
}
END_TEST

/* ---- bodies of the wrong type -------------------------------------------- */

START_TEST(test_e2e_error_bad_body)
{
	e2e_server s;
	protobuf_c_boolean b = 0;
	const char *text = "not an Args";
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	/* Echo.Struct takes Args: send it a string */
	rpc_error *err = rpc_client_call(c, "Echo.Struct",
	                                 method(&sup_Arith_service, "Fail"),
	                                 &text, &b);
	/* each codec's own text, as Go's codecs word it */
	static const char *const texts[N_CODECS] = {
		"rpc: can't decode body as Args",
		"gob: type mismatch: received string, want struct Args",
		"json: cannot unmarshal string into Go value of type Args",
	};
	check_server_error(err, texts[_i]);
	check_multiply(c, 8, 8);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* ---- sizes and limits ---------------------------------------------------- */

/* What each codec says of a message over a max_frame of 4096. */
static const char *const too_big[N_CODECS] = {
	"exceeds the maximum of 4096",
	"out of range (limit 4096)",
	"rpc: json: message larger than 4096 bytes",
};

START_TEST(test_e2e_big_payloads)
{
	size_t big = under_valgrind() ? 64 * 1024 : 1024 * 1024;
	size_t nints = under_valgrind() ? 2000 : 50000;
	e2e_server s;
	sup_Args args = SUP_ARGS_INIT;
	ProtobufCBinaryData blob = {big, malloc(big)}, blob_reply = {0, NULL};
	e2e_Int64List il = E2E_INT64LIST_INIT, il_reply = E2E_INT64LIST_INIT;
	char *str = NULL;
	ck_assert_ptr_nonnull(blob.data);
	for (size_t k = 0; k < big; k++)
		blob.data[k] = (uint8_t)(k * 31 + 1);
	il.n_value = nints;
	il.value = malloc(nints * sizeof(int64_t));
	ck_assert_ptr_nonnull(il.value);
	for (size_t k = 0; k < nints; k++)
		il.value[k] = (int64_t)(k * k) - 1000;
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);

	CALL_OK(e2e_Echo_Blob(c, blob, &blob_reply));
	bytes_eq(blob_reply, blob);
	args.A = (int64_t)big;
	args.B = 2;
	CALL_OK(sup_Arith_Repeat(c, &args, &str));
	ck_assert_uint_eq(strlen(str), big);
	ck_assert_int_eq(str[0], 'c');
	ck_assert_int_eq(str[big - 1], 'c');
	CALL_OK(e2e_Echo_Ints(c, &il, &il_reply));
	ck_assert_uint_eq(il_reply.n_value, nints);
	ck_assert_int_eq(memcmp(il_reply.value, il.value,
	                        nints * sizeof(int64_t)), 0);
	rpc_value_free_contents(&e2e_BytesValue_type, &blob_reply);
	rpc_value_free_contents(&e2e_StringValue_type, &str);
	e2e_Int64List_free_contents(&il_reply);
	free(blob.data);
	free(il.value);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* A 16 MiB bytes field there and back, twice on one connection (the
 * second reuses nothing the first grew), on every codec and over unix and
 * tcp: the input of both sides is read in large steps straight into a
 * buffer of the frame's size (codec.h, need), and every byte must arrive
 * where it belongs. */
/* ThreadSanitizer makes a 16 MiB JSON echo take minutes: 1 MiB there,
 * which still grows the buffers in several steps. */
#if defined(__SANITIZE_THREAD__)
#define E2E_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define E2E_TSAN 1
#endif
#endif
#ifndef E2E_TSAN
#define E2E_TSAN 0
#endif

START_TEST(test_e2e_echo_16mib)
{
	size_t big = under_valgrind() ? 256 * 1024
	             : E2E_TSAN       ? 1024 * 1024
	                              : 16 * 1024 * 1024;
	e2e_server s;
	ProtobufCBinaryData blob = {big, malloc(big)};
	ck_assert_ptr_nonnull(blob.data);
	for (size_t k = 0; k < big; k++)
		blob.data[k] = (uint8_t)(k * 131 + (k >> 16));
	server_start(&s, codecs[_i / 2], _i % 2 == 0 ? T_TCP4 : T_UNIX, false);
	rpc_client *c = client_dial(&s);
	for (int round = 0; round < 2; round++) {
		ProtobufCBinaryData reply = {0, NULL};
		CALL_OK(e2e_Echo_Blob(c, blob, &reply));
		bytes_eq(reply, blob);
		rpc_value_free_contents(&e2e_BytesValue_type, &reply);
	}
	free(blob.data);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* A request over the client's own max_frame fails that call only: the
 * native framing's sender refuses the frame (docs/framing.md). Only for
 * protobuf: the gob and JSON clients check max_frame on reading alone, so
 * they send the request, the server runs it, and the echoed reply then ends
 * the client's connection (see the suite's notes below). */
START_TEST(test_e2e_limit_client_request)
{
	e2e_server s;
	rpc_client *c = NULL;
	rpc_client_options o = {.codec = codecs[_i], .max_frame = 4096};
	char *big = malloc(8192), *reply = NULL;
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 8191);
	big[8191] = '\0';
	server_start(&s, codecs[_i], T_TCP4, false);
	CALL_OK(rpc_dial(rpc_listener_address(s.lis), &o, &c));
	rpc_error *err = e2e_Echo_Str(c, big, &reply);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(rpc_error_message(err), too_big[_i]),
	              "error: %s", rpc_error_message(err));
	ck_assert_ptr_null(reply);
	rpc_error_free(err);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Echo.Str"), 0);
	check_multiply(c, 4, 4); /* the connection lives on */
	free(big);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* A request over the server's max_frame ends that connection: its calls
 * fail with unexpected EOF; the server serves new connections. */
START_TEST(test_e2e_limit_server_request)
{
	e2e_server s;
	rpc_client *c = NULL;
	rpc_client_options co = {.codec = codecs[_i]};
	rpc_server_options so = {.codec = codecs[_i], .max_frame = 4096};
	char *big = malloc(8192), *reply = NULL;
	ck_assert_ptr_nonnull(big);
	memset(big, 'y', 8191);
	big[8191] = '\0';
	memset(&s, 0, sizeof(s));
	s.codec = codecs[_i];
	sup_arith_slow_reset();
	ck_assert_ptr_null(rpc_server_new(&so, &s.srv));
	ck_assert_ptr_null(sup_arith_register(s.srv));
	ck_assert_ptr_null(e2e_Echo_register(s.srv, &echo_impl, NULL));
	ck_assert_ptr_null(rpc_listen("tcp:127.0.0.1:0", &s.lis));
	ck_assert_int_eq(pthread_create(&s.acceptor, NULL, accept_main, &s), 0);
	s.running = true;

	CALL_OK(rpc_dial(rpc_listener_address(s.lis), &co, &c));
	check_multiply(c, 3, 3);
	rpc_error *err = e2e_Echo_Str(c, big, &reply);
	check_kind(err, RPC_ERR_UNEXPECTED_EOF);
	rpc_error_free(err);
	ck_assert_ptr_null(reply);
	err = e2e_Echo_Str(c, "small", &reply);
	check_kind(err, RPC_ERR_SHUTDOWN);
	rpc_error_free(err);
	rpc_client_free(c);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Echo.Str"), 0);
	still_serving(&s);
	free(big);
	server_stop(&s);
}
END_TEST

/* A reply over the client's max_frame ends the client's connection with
 * that error. */
START_TEST(test_e2e_limit_client_reply)
{
	e2e_server s;
	rpc_client *c = NULL;
	rpc_client_options o = {.codec = codecs[_i], .max_frame = 4096};
	sup_Args args = SUP_ARGS_INIT;
	char *reply = NULL;
	server_start(&s, codecs[_i], T_TCP4, false);
	CALL_OK(rpc_dial(rpc_listener_address(s.lis), &o, &c));
	args.A = 1000;
	CALL_OK(sup_Arith_Repeat(c, &args, &reply));
	ck_assert_uint_eq(strlen(reply), 1000);
	rpc_value_free_contents(&e2e_StringValue_type, &reply);
	args.A = 10000;
	rpc_error *err = sup_Arith_Repeat(c, &args, &reply);
	check_kind(err, RPC_ERR_PROTOCOL);
	ck_assert_msg(strstr(rpc_error_message(err), too_big[_i]),
	              "error: %s", rpc_error_message(err));
	rpc_error_free(err);
	ck_assert_ptr_null(reply);
	err = sup_Arith_Repeat(c, &args, &reply);
	check_kind(err, RPC_ERR_SHUTDOWN);
	rpc_error_free(err);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* ---- more clients, client death, single connections ---------------------- */

typedef struct client_arg {
	e2e_server *s;
	int id, calls;
	atomic_int *bad;
} client_arg;

static void *client_main(void *p)
{
	client_arg *a = p;
	rpc_client *c = NULL;
	rpc_client_options o = {.codec = a->s->codec};
	rpc_error *err = rpc_dial(rpc_listener_address(a->s->lis), &o, &c);
	if (err) {
		rpc_error_free(err);
		atomic_fetch_add(a->bad, a->calls);
		return NULL;
	}
	for (int k = 0; k < a->calls; k++) {
		int64_t r = 0;
		sup_Args args = SUP_ARGS_INIT;
		args.A = a->id;
		args.B = k;
		err = sup_Arith_Add(c, &args, &r);
		if (err || r != a->id + k)
			atomic_fetch_add(a->bad, 1);
		rpc_error_free(err);
	}
	rpc_client_free(c);
	return NULL;
}

START_TEST(test_e2e_many_clients)
{
	int clients = under_valgrind() ? 4 : 20;
	int calls = under_valgrind() ? 50 : 500;
	e2e_server s;
	pthread_t tid[20];
	client_arg ca[20];
	atomic_int bad = 0;
	server_start(&s, codecs[_i], _i == 2 ? T_UNIX : T_TCP4, false);
	for (int t = 0; t < clients; t++) {
		ca[t] = (client_arg){&s, t, calls, &bad};
		ck_assert_int_eq(pthread_create(&tid[t], NULL, client_main, &ca[t]),
		                 0);
	}
	for (int t = 0; t < clients; t++)
		pthread_join(tid[t], NULL);
	ck_assert_int_eq(atomic_load(&bad), 0);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Add"),
	                  (uint64_t)clients * (uint64_t)calls);
	server_stop(&s);
}
END_TEST

/* A client that goes away with calls running: the server finishes them,
 * drops their replies and keeps serving. */
START_TEST(test_e2e_client_gone_mid_call)
{
	enum { N = 3 };
	e2e_server s;
	sup_Args args = SUP_ARGS_INIT;
	int64_t replies[N];
	rpc_done *q = rpc_done_new_queue();
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	args.A = 20000;
	args.B = 3;
	for (int k = 0; k < N; k++)
		CALL_OK(sup_Arith_Slow_go(c, &args, &replies[k], q, NULL));
	ck_assert(sup_arith_slow_wait_running(N));
	rpc_client_free(c); /* closes: the calls complete with shutdown */
	for (int k = 0; k < N; k++) {
		rpc_call *done = rpc_done_next(q);
		ck_assert_ptr_nonnull(done);
		check_kind(rpc_call_error(done), RPC_ERR_SHUTDOWN);
		rpc_call_free(done);
	}
	ck_assert_ptr_null(rpc_done_next(q));
	rpc_done_free(q);
	sup_arith_slow_release(); /* the handlers answer a connection that is gone */
	still_serving(&s);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Slow"), N);
	server_stop(&s);
}
END_TEST

typedef struct conn_arg {
	rpc_server *srv;
	int fd;
	const rpc_codec *codec;
} conn_arg;

static void *serve_codec_main(void *p)
{
	conn_arg *a = p;
	return rpc_server_serve_codec(a->srv, a->fd, a->codec);
}

/* serve_codec on one end of a socketpair with a codec other than the
 * server's; a client made on the other end with rpc_client_new_fd. */
START_TEST(test_e2e_serve_codec_socketpair)
{
	int sv[2];
	pthread_t t;
	rpc_server *srv = NULL;
	rpc_client *c = NULL;
	rpc_client_options o = {.codec = codecs[_i]};
	char *str = NULL;
	ck_assert_ptr_null(rpc_server_new(NULL, &srv));
	CALL_OK(sup_arith_register(srv));
	CALL_OK(e2e_Echo_register(srv, &echo_impl, NULL));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	                 0);
	conn_arg a = {srv, sv[0], codecs[_i]};
	ck_assert_int_eq(pthread_create(&t, NULL, serve_codec_main, &a), 0);
	CALL_OK(rpc_client_new_fd(sv[1], &o, &c));
	check_multiply(c, 21, 2);
	CALL_OK(e2e_Echo_Str(c, "over a socketpair", &str));
	ck_assert_str_eq(str, "over a socketpair");
	rpc_value_free_contents(&e2e_StringValue_type, &str);
	rpc_client_free(c); /* hang up: serve_codec returns */
	void *ret = (void *)1;
	pthread_join(t, &ret);
	ck_assert_ptr_null(ret);
	rpc_server_free(srv);
}
END_TEST

/* serve_request (Go's ServeRequest): one request at a time, served in the
 * calling thread, for a client using the generated stubs. */
START_TEST(test_e2e_serve_request)
{
	int sv[2];
	rpc_server *srv = NULL;
	rpc_server_codec *sc = NULL;
	rpc_client *c = NULL;
	rpc_client_options o = {.codec = codecs[_i]};
	rpc_done *q = rpc_done_new_queue();
	sup_Args args = SUP_ARGS_INIT;
	int64_t r1 = 0, r2 = 0;
	ck_assert_ptr_null(rpc_server_new(NULL, &srv));
	CALL_OK(sup_arith_register(srv));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	                 0);
	CALL_OK(rpc_server_codec_new(sv[0], codecs[_i], 0, &sc));
	CALL_OK(rpc_client_new_fd(sv[1], &o, &c));
	args.A = 5;
	args.B = 6;
	CALL_OK(sup_Arith_Multiply_go(c, &args, &r1, q, NULL));
	CALL_OK(rpc_server_serve_request(srv, sc));
	rpc_call *done = rpc_done_wait(q, 10000);
	ck_assert_ptr_nonnull(done);
	ck_assert_ptr_null(rpc_call_error(done));
	ck_assert_int_eq(r1, 30);
	rpc_call_free(done);
	/* an unknown method: answered, and serve_request says so */
	CALL_OK(rpc_client_go(c, "Arith.Nope", method(&sup_Arith_service, "Add"),
	                      &args, &r2, q, NULL));
	rpc_error *err = rpc_server_serve_request(srv, sc);
	ck_assert_ptr_nonnull(err);
	rpc_error_free(err);
	done = rpc_done_wait(q, 10000);
	ck_assert_ptr_nonnull(done);
	check_kind(rpc_call_error(done), RPC_ERR_SERVER);
	ck_assert_str_eq(rpc_error_message(rpc_call_error(done)),
	                 "rpc: can't find method Arith.Nope");
	rpc_call_free(done);
	/* the client hangs up: a clean end of stream */
	rpc_client_free(c);
	err = rpc_server_serve_request(srv, sc);
	check_kind(err, RPC_ERR_UNEXPECTED_EOF);
	rpc_error_free(err);
	rpc_server_codec_free(sc);
	rpc_done_free(q);
	ck_assert_uint_eq(rpc_server_num_calls(srv, "Arith.Multiply"), 1);
	rpc_server_free(srv);
}
END_TEST

/* ---- edge values --------------------------------------------------------- */

/* An optional set to zero: protobuf and JSON keep its presence; gob cannot
 * say "present and zero" and drops it (docs/gob.md), as Go's gob does. */
START_TEST(test_e2e_optional_zero)
{
	e2e_server s;
	e2e_Everything e = E2E_EVERYTHING_INIT, r = E2E_EVERYTHING_INIT;
	char empty[] = "";
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	e.has_Maybe = 1;
	e.Maybe = 0;
	e.has_MaybeD = 1;
	e.MaybeD = 0.0;
	e.MaybeName = empty;
	CALL_OK(e2e_Echo_Everything(c, &e, &r));
	bool kept = codecs[_i] != &rpc_codec_gob;
	ck_assert_int_eq(r.has_Maybe, kept);
	ck_assert_int_eq(r.Maybe, 0);
	ck_assert_int_eq(r.has_MaybeD, kept);
	if (kept) {
		ck_assert_ptr_nonnull(r.MaybeName);
		ck_assert_str_eq(r.MaybeName, "");
	} else {
		ck_assert_ptr_null(r.MaybeName);
	}
	e2e_Everything_free_contents(&r);
	/* and unset stays unset everywhere */
	e.has_Maybe = 0;
	e.has_MaybeD = 0;
	e.MaybeName = NULL;
	CALL_OK(e2e_Echo_Everything(c, &e, &r));
	ck_assert_int_eq(r.has_Maybe, 0);
	ck_assert_int_eq(r.has_MaybeD, 0);
	ck_assert_ptr_null(r.MaybeName);
	e2e_Everything_free_contents(&r);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* Extreme numbers and an enum value the IDL does not name (enums are open,
 * as in proto3 and Go). */
START_TEST(test_e2e_edge_numbers)
{
	e2e_server s;
	e2e_Everything e = E2E_EVERYTHING_INIT, r = E2E_EVERYTHING_INIT;
	e2e_Color hue = E2E_COLOR_RED;
	double d = 0;
	int64_t x = 0;
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	e.I = INT32_MIN;
	e.L = INT64_MIN;
	e.U = UINT32_MAX;
	e.UL = UINT64_MAX;
	e.F = -3.4028234663852886e38f;
	e.D = 4.9406564584124654e-324;
	e.Kind = (e2e_Color)7;
	CALL_OK(e2e_Echo_Everything(c, &e, &r));
	ck_assert_int_eq(r.I, INT32_MIN);
	ck_assert_int_eq(r.L, INT64_MIN);
	ck_assert_uint_eq(r.U, UINT32_MAX);
	ck_assert_uint_eq(r.UL, UINT64_MAX);
	ck_assert(r.F == e.F);
	ck_assert(r.D == e.D);
	ck_assert_int_eq(r.Kind, 7);
	e2e_Everything_free_contents(&r);
	CALL_OK(e2e_Echo_Hue(c, (e2e_Color)7, &hue));
	ck_assert_int_eq(hue, 7);
	/* (not -0.0: libprotobuf-c, like gob, leaves a zero out of the
	 * wrapper, so it comes back as +0.0) */
	CALL_OK(e2e_Echo_Real(c, -1e-300, &d));
	ck_assert(d == -1e-300);
	CALL_OK(e2e_Echo_Int(c, INT64_MAX, &x));
	ck_assert_int_eq(x, INT64_MAX);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* Many calls in flight at once from one thread. */
START_TEST(test_e2e_many_in_flight)
{
	int n = under_valgrind() ? 500 : 5000;
	e2e_server s;
	sup_Args *args = calloc((size_t)n, sizeof(*args));
	int64_t *replies = calloc((size_t)n, sizeof(*replies));
	bool *seen = calloc((size_t)n, sizeof(*seen));
	rpc_done *q = rpc_done_new_queue();
	ck_assert(args && replies && seen && q);
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	for (int k = 0; k < n; k++) {
		sup_Args_init(&args[k]);
		args[k].A = k;
		args[k].B = -k;
		replies[k] = 1;
		CALL_OK(sup_Arith_Add_go(c, &args[k], &replies[k], q, NULL));
	}
	for (int k = 0; k < n; k++) {
		rpc_call *done = rpc_done_wait(q, 10000);
		ck_assert_ptr_nonnull(done);
		int j = (int)((int64_t *)rpc_call_reply(done) - replies);
		ck_assert_int_ge(j, 0);
		ck_assert_int_lt(j, n);
		ck_assert(!seen[j]);
		seen[j] = true;
		ck_assert_ptr_null(rpc_call_error(done));
		ck_assert_int_eq(replies[j], 0);
		rpc_call_free(done);
	}
	ck_assert_ptr_null(rpc_done_next(q));
	rpc_client_free(c);
	rpc_done_free(q);
	server_stop(&s);
	free(args);
	free(replies);
	free(seen);
}
END_TEST

/* HTTP and plain RPC mixed up: each side fails cleanly and the server
 * serves on. */
START_TEST(test_e2e_http_mismatch)
{
	e2e_server plain, web;
	rpc_client *c = NULL;
	int64_t r = 0;
	sup_Args args = SUP_ARGS_INIT;
	server_start(&plain, &rpc_codec_protobuf, T_TCP4, false);
	server_start(&web, &rpc_codec_protobuf, T_TCP4, true);

	/* CONNECT to a plain RPC server: its request line is no frame */
	rpc_error *err = rpc_dial_http(rpc_listener_address(plain.lis), NULL,
	                               NULL, &c);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_null(c);
	rpc_error_free(err);
	still_serving(&plain);

	/* plain RPC to an HTTP server: the server waits for the end of a
	 * request line that never comes (as Go's HTTP server does), so the
	 * call is still in flight when the client is freed: it completes
	 * with the shutdown error */
	rpc_done *q = rpc_done_new_queue();
	rpc_call *call = NULL;
	CALL_OK(rpc_dial(rpc_listener_address(web.lis), NULL, &c));
	CALL_OK(sup_Arith_Multiply_go(c, &args, &r, q, &call));
	rpc_client_free(c);
	rpc_call *done = rpc_done_next(q);
	ck_assert_ptr_eq(done, call);
	check_kind(rpc_call_error(done), RPC_ERR_SHUTDOWN);
	rpc_call_free(done);
	rpc_done_free(q);

	/* CONNECT on another path: 404 */
	err = rpc_dial_http(rpc_listener_address(web.lis), "/elsewhere", NULL,
	                    &c);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(rpc_error_message(err), "404") != NULL, "%s",
	              rpc_error_message(err));
	rpc_error_free(err);
	CALL_OK(rpc_dial_http(rpc_listener_address(web.lis), NULL, NULL, &c));
	check_multiply(c, 5, 6);
	rpc_client_free(c);
	server_stop(&plain);
	server_stop(&web);
}
END_TEST

/* Dialling nothing: I/O errors with their errno, at once. */
START_TEST(test_e2e_dial_errors)
{
	rpc_client *c = NULL;
	char addr[64], path[64];
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	/* a port that was free a moment ago */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", ntohs(sa.sin_port));
	rpc_error *err = rpc_dial(addr, NULL, &c); /* bound, not listening */
	close(fd);
	check_kind(err, RPC_ERR_IO);
	ck_assert_msg(strstr(rpc_error_message(err), strerror(ECONNREFUSED)),
	              "%s", rpc_error_message(err));
	ck_assert_int_eq(rpc_error_errno(err), ECONNREFUSED);
	ck_assert_ptr_null(c);
	rpc_error_free(err);
	snprintf(path, sizeof(path), "unix:/tmp/rpc-e2e-none-%ld.sock",
	         (long)getpid());
	err = rpc_dial(path, NULL, &c);
	check_kind(err, RPC_ERR_IO);
	ck_assert_msg(strstr(rpc_error_message(err), strerror(ENOENT)), "%s",
	              rpc_error_message(err));
	ck_assert_int_eq(rpc_error_errno(err), ENOENT);
	rpc_error_free(err);
	/* and a listener on a port in use */
	e2e_server s;
	rpc_listener *l = NULL;
	server_start(&s, &rpc_codec_protobuf, T_TCP4, false);
	err = rpc_listen(rpc_listener_address(s.lis), &l);
	check_kind(err, RPC_ERR_IO);
	ck_assert_msg(strstr(rpc_error_message(err), strerror(EADDRINUSE)),
	              "%s", rpc_error_message(err));
	ck_assert_int_eq(rpc_error_errno(err), EADDRINUSE);
	ck_assert_ptr_null(l);
	rpc_error_free(err);
	server_stop(&s);
}
END_TEST

/* Blocking handlers hold back no other call: with one event-loop thread,
 * 32 Slow calls on one connection all run at once, and calls on another
 * connection are answered meanwhile. */
START_TEST(test_e2e_blocked_handlers)
{
	enum { N = 32 };
	e2e_server s;
	rpc_server_options o = {.codec = codecs[_i], .threads = 1};
	rpc_client_options co = {.codec = codecs[_i]};
	sup_Args args = SUP_ARGS_INIT;
	int64_t replies[N];
	rpc_done *q = rpc_done_new_queue();
	rpc_client *c1 = NULL, *c2 = NULL;
	memset(&s, 0, sizeof(s));
	s.codec = codecs[_i];
	sup_arith_slow_reset();
	ck_assert_ptr_null(rpc_server_new(&o, &s.srv));
	CALL_OK(sup_arith_register(s.srv));
	CALL_OK(rpc_listen("tcp:127.0.0.1:0", &s.lis));
	ck_assert_int_eq(pthread_create(&s.acceptor, NULL, accept_main, &s), 0);
	s.running = true;
	CALL_OK(rpc_dial(rpc_listener_address(s.lis), &co, &c1));
	CALL_OK(rpc_dial(rpc_listener_address(s.lis), &co, &c2));
	args.A = 20000;
	for (int k = 0; k < N; k++) {
		args.B = k;
		CALL_OK(sup_Arith_Slow_go(c1, &args, &replies[k], q, NULL));
	}
	ck_assert(sup_arith_slow_wait_running(N));
	check_multiply(c2, 7, 7);
	check_multiply(c1, 8, 8); /* and on the busy connection too */
	sup_arith_slow_release();
	for (int k = 0; k < N; k++) {
		rpc_call *done = rpc_done_wait(q, 10000);
		ck_assert_ptr_nonnull(done);
		ck_assert_ptr_null(rpc_call_error(done));
		int j = (int)((int64_t *)rpc_call_reply(done) - replies);
		ck_assert_int_eq(replies[j], j);
		rpc_call_free(done);
	}
	rpc_client_free(c1);
	rpc_client_free(c2);
	rpc_done_free(q);
	server_stop(&s);
}
END_TEST

/* A callback may start the next asynchronous call on the same client:
 * a chain of calls, each started from the previous one's completion. */
typedef struct chain {
	rpc_client *c;
	rpc_done *d;
	sup_Args args;
	int64_t reply;
	int left, ok;
	bool failed, finished;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} chain;

static void chain_next(rpc_call *call, void *ud)
{
	chain *ch = ud;
	bool good = rpc_call_error(call) == NULL &&
	            ch->reply == ch->args.A + ch->args.B;
	rpc_call_free(call);
	pthread_mutex_lock(&ch->mu);
	ch->ok += good;
	bool more = good && --ch->left > 0;
	pthread_mutex_unlock(&ch->mu);
	if (more) {
		ch->args.A++;
		rpc_error *err = sup_Arith_Add_go(ch->c, &ch->args, &ch->reply,
		                                  ch->d, NULL);
		if (err == NULL)
			return;
		rpc_error_free(err);
		good = false;
	}
	pthread_mutex_lock(&ch->mu);
	ch->failed = !good;
	ch->finished = true;
	pthread_cond_signal(&ch->cv);
	pthread_mutex_unlock(&ch->mu);
}

START_TEST(test_e2e_callback_chain)
{
	enum { STEPS = 200 };
	e2e_server s;
	chain ch = {.left = STEPS, .mu = PTHREAD_MUTEX_INITIALIZER,
	            .cv = PTHREAD_COND_INITIALIZER};
	struct timespec until;
	server_start(&s, codecs[_i], T_TCP4, false);
	ch.c = client_dial(&s);
	ch.d = rpc_done_new_callback(chain_next, &ch);
	sup_Args_init(&ch.args);
	ch.args.B = 1000;
	CALL_OK(sup_Arith_Add_go(ch.c, &ch.args, &ch.reply, ch.d, NULL));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&ch.mu);
	while (!ch.finished &&
	       pthread_cond_timedwait(&ch.cv, &ch.mu, &until) == 0)
		;
	bool finished = ch.finished, failed = ch.failed;
	int ok = ch.ok;
	pthread_mutex_unlock(&ch.mu);
	ck_assert(finished);
	ck_assert(!failed);
	ck_assert_int_eq(ok, STEPS);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Add"), STEPS);
	rpc_client_free(ch.c);
	rpc_done_free(ch.d);
	server_stop(&s);
}
END_TEST

/* A client speaking another codec than the server's: the server never
 * crashes and serves on, and the call never succeeds. (Some pairs make
 * the server wait for bytes that never come, as Go's would; the call is
 * then ended by freeing the client.) */
START_TEST(test_e2e_codec_mismatch)
{
	/* _i walks the mismatched pairs only: server codec sci, and a client
	 * codec cci taken from the N_CODECS - 1 others */
	int sci = _i / (N_CODECS - 1), cci = _i % (N_CODECS - 1);
	e2e_server s;
	rpc_client *c = NULL;
	rpc_client_options o = {0};
	sup_Args args = SUP_ARGS_INIT;
	int64_t r = 0;
	rpc_call *call = NULL;
	if (cci >= sci)
		cci++;
	o.codec = codecs[cci];
	rpc_done *q = rpc_done_new_queue();
	server_start(&s, codecs[sci], T_TCP4, false);
	CALL_OK(rpc_dial(rpc_listener_address(s.lis), &o, &c));
	args.A = 3;
	args.B = 4;
	CALL_OK(sup_Arith_Multiply_go(c, &args, &r, q, &call));
	rpc_call *done = rpc_done_wait(q, 500);
	rpc_client_free(c);
	if (done == NULL)
		done = rpc_done_next(q);
	ck_assert_ptr_eq(done, call);
	ck_assert_ptr_nonnull(rpc_call_error(done));
	rpc_call_free(done);
	rpc_done_free(q);
	ck_assert_uint_eq(rpc_server_num_calls(s.srv, "Arith.Multiply"), 0);
	still_serving(&s);
	server_stop(&s);
}
END_TEST

/* ---- the suite ----------------------------------------------------------- */

/* ---- deadlines ----------------------------------------------------------- */

#define SLACK_MS 1000

static int64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A slow handler against the client's default timeout and a call's own,
 * through the generated _opts stubs, with every codec (gob and JSON have
 * no deadline on the wire: the client alone enforces it). The connection
 * serves on once the late replies are dropped. */
START_TEST(test_e2e_deadline_stubs)
{
	e2e_server s;
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client_options o = {.codec = codecs[_i], .call_timeout_ms = 150};
	rpc_client *c = NULL;
	CALL_OK(rpc_dial(rpc_listener_address(s.lis), &o, &c));
	sup_Args args = SUP_ARGS_INIT;
	int64_t r = -1;
	args.A = 10000; /* ms: until released */
	args.B = 5;

	int64_t t0 = mono_ms();
	rpc_error *err = sup_Arith_Slow(c, &args, &r);
	int64_t dt = mono_ms() - t0;
	check_kind(err, RPC_ERR_TIMEOUT);
	rpc_error_free(err);
	ck_assert_int_ge(dt, 150);
	ck_assert_int_lt(dt, 150 + SLACK_MS);

	rpc_call_options co = {.timeout_ms = 300};
	t0 = mono_ms();
	err = sup_Arith_Slow_opts(c, &co, &args, &r);
	dt = mono_ms() - t0;
	check_kind(err, RPC_ERR_TIMEOUT);
	rpc_error_free(err);
	ck_assert_int_ge(dt, 300);
	ck_assert_int_lt(dt, 300 + SLACK_MS);

	/* Owned: wait with a timeout, then cancel. */
	rpc_call *k = NULL;
	co.timeout_ms = RPC_NO_TIMEOUT;
	CALL_OK(sup_Arith_Slow_go_opts(c, &co, &args, &r, NULL, &k));
	ck_assert(!rpc_call_wait(k, 50));
	rpc_call_cancel(k);
	ck_assert(rpc_call_wait(k, 0));
	check_kind(rpc_call_error(k), RPC_ERR_CANCELED);
	rpc_call_free(k);

	/* The handlers answer now: late replies are dropped. */
	sup_arith_slow_release();
	ck_assert(sup_arith_slow_wait_running(0));
	co.timeout_ms = 5000;
	args.A = 1;
	CALL_OK(sup_Arith_Slow_opts(c, &co, &args, &r));
	ck_assert_int_eq(r, 5);
	check_multiply(c, 6, 7);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

/* Replies racing deadlines and cancels, against the real server: threads
 * making blocking calls (a client each: the server runs one connection's
 * calls one after the other, and timed-out calls still run there, so a
 * shared connection snowballs into timing out everything) whose handler
 * sleeps about as long as the timeout, and asynchronous ones (done-queue
 * and owned, some cancelled). Every call completes exactly once; a call
 * that did not succeed never has its reply written, even once the late
 * replies have all come; every connection serves on. */
enum { RACE_THREADS = 3, RACE_CALLS = 2000 / (RACE_THREADS + 1) };

typedef struct race_arg {
	rpc_client *c;
	unsigned seed;
	int64_t replies[RACE_CALLS];
	bool ok[RACE_CALLS];
	int n, n_ok, n_timeout;
	int64_t until;
} race_arg;

static void *race_blocking(void *p)
{
	race_arg *a = p;
	for (a->n = 0; a->n < RACE_CALLS && mono_ms() < a->until; a->n++) {
		sup_Args args = SUP_ARGS_INIT;
		rpc_call_options o = {.timeout_ms = 2};
		args.A = rand_r(&a->seed) % 1500; /* up to 1.5 ms */
		args.B = a->n;
		a->replies[a->n] = -1;
		rpc_error *err = sup_Arith_Nap_opts(a->c, &o, &args,
		                                    &a->replies[a->n]);
		if (err == NULL) {
			a->ok[a->n] = true;
			a->n_ok++;
		} else if (rpc_error_kind_of(err) == RPC_ERR_TIMEOUT) {
			a->n_timeout++;
		} else {
			rpc_error_free(err);
			return (void *)"unexpected error";
		}
		rpc_error_free(err);
	}
	return NULL;
}

START_TEST(test_e2e_deadline_race)
{
	e2e_server s;
	server_start(&s, codecs[_i], T_TCP4, false);
	rpc_client *c = client_dial(&s);
	static race_arg ra[RACE_THREADS];
	pthread_t th[RACE_THREADS];
	int64_t until = mono_ms() + 8000;
	for (int t = 0; t < RACE_THREADS; t++) {
		memset(&ra[t], 0, sizeof ra[t]);
		ra[t].c = client_dial(&s);
		ra[t].seed = (unsigned)t + 1;
		ra[t].until = until;
		ck_assert_int_eq(
		    pthread_create(&th[t], NULL, race_blocking, &ra[t]), 0);
	}

	/* This thread: batches of asynchronous calls. */
	enum { BATCH = 8 };
	static int64_t areplies[RACE_CALLS];
	static bool aok[RACE_CALLS];
	/* Static, so cleared here: without fork (valgrind) the codecs'
	 * iterations share them. */
	memset(areplies, 0, sizeof areplies);
	memset(aok, 0, sizeof aok);
	rpc_done *d = rpc_done_new_queue();
	unsigned seed = 99;
	int n = 0, n_ok = 0, n_end = 0;
	while (n + BATCH <= RACE_CALLS && mono_ms() < until) {
		rpc_call *k[BATCH];
		for (int i = 0; i < BATCH; i++) {
			sup_Args args = SUP_ARGS_INIT;
			/* Served one after the other: the later in the
			 * batch, the longer the timeout. */
			rpc_call_options o = {.timeout_ms = 1 + i / 2};
			args.A = rand_r(&seed) % 1000;
			args.B = n + i;
			areplies[n + i] = -1;
			CALL_OK(sup_Arith_Nap_go_opts(c, &o, &args,
			                              &areplies[n + i],
			                              i % 2 ? NULL : d, &k[i]));
		}
		usleep((useconds_t)(rand_r(&seed) % 2500));
		for (int i = 1; i < BATCH; i += 4)
			rpc_call_cancel(k[i]);
		for (int got = 0; got < BATCH / 2; got++) {
			rpc_call *q = rpc_done_wait(d, 10000);
			ck_assert_ptr_nonnull(q);
			int i = 0;
			while (i < BATCH && k[i] != q)
				i++;
			ck_assert_int_lt(i, BATCH);
			k[i] = NULL; /* completing twice would not match */
			if (rpc_call_error(q) == NULL) {
				aok[n + i] = true;
				n_ok++;
			} else {
				check_kind(rpc_call_error(q), RPC_ERR_TIMEOUT);
			}
			n_end++;
			rpc_call_free(q);
		}
		for (int i = 1; i < BATCH; i += 2) {
			ck_assert(rpc_call_wait(k[i], 10000));
			const rpc_error *e = rpc_call_error(k[i]);
			if (e == NULL) {
				aok[n + i] = true;
				n_ok++;
			} else {
				ck_assert(rpc_error_kind_of(e) == RPC_ERR_TIMEOUT ||
				          rpc_error_kind_of(e) == RPC_ERR_CANCELED);
			}
			n_end++;
			rpc_call_free(k[i]);
		}
		ck_assert_ptr_null(rpc_done_next(d));
		n += BATCH;
		/* Let the server catch up with the calls that ended early,
		 * so that timeouts do not snowball. */
		for (int w = 0; w < 100 && sup_arith_naps_running() > 0; w++)
			usleep(1000);
	}
	ck_assert_int_eq(n_end, n);

	int total = n, total_ok = n_ok;
	for (int t = 0; t < RACE_THREADS; t++) {
		void *bad = (void *)1;
		ck_assert_int_eq(pthread_join(th[t], &bad), 0);
		ck_assert_msg(bad == NULL, "%s", (const char *)bad);
		ck_assert_int_eq(ra[t].n_ok + ra[t].n_timeout, ra[t].n);
		total += ra[t].n;
		total_ok += ra[t].n_ok;
	}
	fprintf(stderr, "deadline race (%s): blocking %d calls, %d ok\n",
	        codec_names[_i], total - n, total_ok - n_ok);
	/* Let every late reply arrive and be dropped. */
	for (int w = 0; w < 500 && sup_arith_naps_running() > 0; w++)
		usleep(10000);
	usleep(50000);
	check_multiply(c, 6, 7);
	ck_assert_ptr_null(rpc_done_next(d));
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(areplies[i], aok[i] ? i : -1);
	for (int t = 0; t < RACE_THREADS; t++)
		for (int i = 0; i < ra[t].n; i++)
			ck_assert_int_eq(ra[t].replies[i],
			                 ra[t].ok[i] ? i : -1);
	for (int t = 0; t < RACE_THREADS; t++) {
		check_multiply(ra[t].c, 6, 7);
		rpc_client_free(ra[t].c);
	}
	fprintf(stderr, "deadline race (%s): %d calls, %d ok\n",
	        codec_names[_i], total, total_ok);
	rpc_done_free(d);
	rpc_client_free(c);
	server_stop(&s);
}
END_TEST

static Suite *e2e_suite(void)
{
	Suite *s = suite_create("e2e");
	TCase *tc;

	tc = tcase_create("roundtrip");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_e2e_roundtrip_blocking, 0,
	                    N_CODECS * N_TRANSPORTS);
	tcase_add_loop_test(tc, test_e2e_roundtrip_go, 0,
	                    N_CODECS * N_TRANSPORTS);
	tcase_add_loop_test(tc, test_e2e_roundtrip_callback, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_callback_on_free, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_queue_two_clients, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_optional_zero, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_edge_numbers, 0, N_CODECS);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_e2e_big_payloads, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_echo_16mib, 0, 2 * N_CODECS);
	tcase_add_loop_test(tc, test_e2e_limit_client_request, 0, 1);
	/* NOTE: not for gob and JSON (loop 1..3): their clients do not check
	 * a request against max_frame before sending; the call then fails
	 * with the reply's "message ... 4096" error after the server has run
	 * it, and the connection ends. Reported; not asserted either way. */
	tcase_add_loop_test(tc, test_e2e_limit_server_request, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_limit_client_reply, 0, N_CODECS);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_e2e_error_unknown_service, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_error_unknown_method, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_error_ill_formed, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_error_handler_text, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_error_interleaved_seq, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_error_bad_body, 0, N_CODECS);
	suite_add_tcase(s, tc);

	tc = tcase_create("registry");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_e2e_register_name);
	tcase_add_test(tc, test_e2e_register_duplicate);
	suite_add_tcase(s, tc);

	tc = tcase_create("order");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_e2e_out_of_order, 0, N_CODECS);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_e2e_many_threads, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_many_clients, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_many_in_flight, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_blocked_handlers, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_callback_chain, 0, N_CODECS);
	suite_add_tcase(s, tc);

	tc = tcase_create("connections");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_e2e_dial_errors);
	tcase_add_loop_test(tc, test_e2e_client_gone_mid_call, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_serve_codec_socketpair, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_serve_request, 0, N_CODECS);
	suite_add_tcase(s, tc);

	tc = tcase_create("peer_death");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_e2e_server_killed, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_close, 0, N_CODECS);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_e2e_hostile_garbage);
	tcase_add_test(tc, test_e2e_hostile_truncated);
	tcase_add_test(tc, test_e2e_hostile_oversized);
	tcase_add_test(tc, test_e2e_hostile_no_service);
	tcase_add_loop_test(tc, test_e2e_hostile_garbage_codecs, 1, N_CODECS);
	tcase_add_test(tc, test_e2e_hostile_pipelined_and_trickled);
	tcase_add_test(tc, test_e2e_hostile_nul_in_header);
	tcase_add_test(tc, test_e2e_hostile_json_ids);
	tcase_add_test(tc, test_e2e_client_odd_replies);
	tcase_add_loop_test(tc, test_e2e_codec_mismatch, 0,
	                    N_CODECS * (N_CODECS - 1));
	suite_add_tcase(s, tc);

	tc = tcase_create("http");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_e2e_http_connect, 0,
	                    N_CODECS * N_TRANSPORTS);
	tcase_add_test(tc, test_e2e_http_405);
	tcase_add_test(tc, test_e2e_http_debug_page);
	tcase_add_test(tc, test_e2e_http_mismatch);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadlines");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_e2e_deadline_stubs, 0, N_CODECS);
	tcase_add_loop_test(tc, test_e2e_deadline_race, 0, N_CODECS);
	suite_add_tcase(s, tc);

	tc = tcase_create("shutdown");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_e2e_shutdown_drains, 0, N_CODECS);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(e2e_suite());
	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
