/* test_client.c - the client against scripted fake servers, and its
 * deadlines against a silent listener (one that never accepts).
 *
 * The fake server speaks the native framing with the library's own codec
 * over one end of a socketpair (or a 127.0.0.1 socket); each test scripts
 * which replies it sends, in which order. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "frame.h"
#include "internal.h"
#include "rt.pb-c.h"
#include "transport.h"

static const rpc_type type_args = {"Args", &rt__args__descriptor,
                                   RPC_FORM_MESSAGE};
static const rpc_type type_quotient = {"Quotient", &rt__quotient__descriptor,
                                       RPC_FORM_MESSAGE};
static const rpc_type type_int64 = {"int64", &rt__int64__descriptor,
                                    RPC_FORM_VALUE};
static const rpc_type type_string = {"string", &rt__string__descriptor,
                                     RPC_FORM_VALUE};
static const rpc_method m_multiply = {"Multiply", &type_args, &type_int64, NULL,
                                      0};
static const rpc_method m_divide = {"Divide", &type_args, &type_quotient, NULL,
                                    0};
static const rpc_method m_echo = {"Echo", &type_string, &type_string, NULL, 0};
static const rpc_type type_list = {"list<int64>", &rt__int64_list__descriptor,
                                   RPC_FORM_WRAPPED};
static const rpc_method m_count = {"Count", &type_args, &type_list, NULL, 0};
static const rpc_type type_big = {"int64", &rt__big_int64__descriptor,
                                  RPC_FORM_VALUE};
static const rpc_method m_square_big = {"Square", &type_big, &type_big, NULL,
                                        0};

/* ---- the fake server ----------------------------------------------------- */

typedef struct fake {
	int fd;
	void *st;
	uint8_t buf[1 << 16];
	size_t len;
	size_t used; /* the last request's bytes: its body borrows them */
} fake;

static void fake_init(fake *f, int fd)
{
	f->fd = fd;
	f->len = 0;
	f->used = 0;
	ck_assert_ptr_null(rpc_codec_protobuf.state_new(true, 0, &f->st));
}

static void fake_fini(fake *f)
{
	rpc_codec_protobuf.state_free(f->st);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* fake_recv reads one request; false at end of stream. msg's body borrows
 * f->buf until the next fake_recv (codec.h). */
static bool fake_recv(fake *f, rpci_msg *msg)
{
	rpc_error *err = NULL;
	size_t used;
	ssize_t n;

	memmove(f->buf, f->buf + f->used, f->len - f->used);
	f->len -= f->used;
	f->used = 0;
	for (;;) {
		memset(msg, 0, sizeof *msg);
		switch (rpc_codec_protobuf.read(f->st, f->buf, f->len, &used,
		                                msg, &err)) {
		case RPCI_READ_OK:
			f->used = used;
			return true;
		case RPCI_READ_ERROR:
			rpc_error_free(err);
			return false;
		case RPCI_READ_AGAIN:
			break;
		}
		if (f->len == sizeof f->buf)
			return false;
		do
			n = read(f->fd, f->buf + f->len,
			         sizeof f->buf - f->len);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return false;
		f->len += (size_t)n;
	}
}

static void fake_write(fake *f, const void *p, size_t n)
{
	const uint8_t *q = p;
	ssize_t k;

	while (n > 0) {
		k = send(f->fd, q, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return; /* the client went away; the test notices */
		q += k;
		n -= (size_t)k;
	}
}

static void fake_send(fake *f, uint64_t seq, const char *error,
                      const rpc_type *t, const ProtobufCMessage *body)
{
	rpci_header h = {
	    .service_method = "Arith.Multiply", .seq = seq, .error = error};
	rpci_buf out = {0};

	ck_assert_ptr_null(rpc_codec_protobuf.write(f->st, &h, t, body, &out));
	fake_write(f, out.data, out.len);
	rpci_buf_fini(&out);
}

static void fake_send_int64(fake *f, uint64_t seq, int64_t v)
{
	Rt__Int64 w = RT__INT64__INIT;

	w.value = v;
	fake_send(f, seq, NULL, &type_int64, &w.base);
}

/* fake_args decodes a request's Args. */
static Rt__Args fake_args(fake *f, rpci_msg *msg)
{
	Rt__Args a = RT__ARGS__INIT;

	ck_assert_ptr_null(
	    rpc_codec_protobuf.read_body(f->st, msg, &type_args, &a.base));
	return a;
}

/* An echo server thread: Multiply answers A*B, Echo its string, Divide by
 * zero an error; it ends when the client hangs up. */
static void *fake_echo(void *arg)
{
	fake *f = arg;
	rpci_msg msg;

	while (fake_recv(f, &msg)) {
		if (strcmp(msg.service_method, "Echo.Echo") == 0) {
			Rt__String s = RT__STRING__INIT;

			rpc_codec_protobuf.read_body(f->st, &msg, &type_string,
			                             &s.base);
			fake_send(f, msg.seq, NULL, &type_string, &s.base);
			rpc_message_free_contents(&s.base);
		} else if (strcmp(msg.service_method, "List.Count") == 0) {
			Rt__Args a = fake_args(f, &msg);
			Rt__Int64List l = RT__INT64_LIST__INIT;
			int64_t nums[16];
			size_t i;

			for (i = 0; i < 16 && (int64_t)i < a.a; i++)
				nums[i] = (int64_t)i + 1;
			l.n_value = i;
			l.value = nums;
			fake_send(f, msg.seq, NULL, &type_list, &l.base);
		} else if (strcmp(msg.service_method, "Arith.Square") == 0) {
			Rt__Int64 v = RT__INT64__INIT;

			rpc_codec_protobuf.read_body(f->st, &msg, &type_int64,
			                             &v.base);
			fake_send_int64(f, msg.seq, v.value * v.value);
		} else if (strcmp(msg.service_method, "Arith.Divide") == 0) {
			Rt__Args a = fake_args(f, &msg);
			Rt__Quotient q = RT__QUOTIENT__INIT;

			if (a.b == 0) {
				fake_send(f, msg.seq, "divide by zero", NULL,
				          NULL);
			} else {
				q.quo = a.a / a.b;
				q.rem = a.a % a.b;
				fake_send(f, msg.seq, NULL, &type_quotient,
				          &q.base);
			}
		} else {
			Rt__Args a = fake_args(f, &msg);

			fake_send_int64(f, msg.seq, a.a * a.b);
		}
		rpc_codec_protobuf.msg_clear(f->st, &msg);
	}
	return NULL;
}

/* ---- fixture: a client on a socketpair, a fake on the other end ---------- */

static rpc_client *client;
static fake srv;
static pthread_t echo_thread;
static bool echo_running;

static void pair_setup(void)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	                 0);
	ck_assert_ptr_null(rpc_client_new_fd(sv[0], NULL, &client));
	fake_init(&srv, sv[1]);
	echo_running = false;
}

static void pair_teardown(void)
{
	rpc_client_free(client);
	client = NULL;
	if (echo_running)
		pthread_join(echo_thread, NULL);
	fake_fini(&srv);
}

static void start_echo(void)
{
	ck_assert_int_eq(pthread_create(&echo_thread, NULL, fake_echo, &srv),
	                 0);
	echo_running = true;
}

static rpc_error *go_multiply(rpc_done *d, int64_t a, int64_t b, int64_t *reply,
                              rpc_call **call)
{
	Rt__Args args = RT__ARGS__INIT;

	args.a = a;
	args.b = b;
	return rpc_client_go(client, "Arith.Multiply", &m_multiply, &args.base,
	                     reply, d, call);
}

static rpc_error *call_multiply(int64_t a, int64_t b, int64_t *reply)
{
	Rt__Args args = RT__ARGS__INIT;

	args.a = a;
	args.b = b;
	return rpc_client_call(client, "Arith.Multiply", &m_multiply,
	                       &args.base, reply);
}

/* ---- calls --------------------------------------------------------------- */

START_TEST(test_client_sync_call)
{
	int64_t product = 0;
	Rt__Args args = RT__ARGS__INIT;
	Rt__Quotient q = RT__QUOTIENT__INIT;
	char *in = "hello, world", *out = NULL;

	start_echo();
	ck_assert_ptr_null(call_multiply(7, 8, &product));
	ck_assert_int_eq(product, 56);
	args.a = 17;
	args.b = 5;
	ck_assert_ptr_null(
	    rpc_client_call(client, "Arith.Divide", &m_divide, &args.base, &q));
	ck_assert_int_eq(q.quo, 3);
	ck_assert_int_eq(q.rem, 2);
	ck_assert_ptr_null(
	    rpc_client_call(client, "Echo.Echo", &m_echo, &in, &out));
	ck_assert_str_eq(out, "hello, world");
	rpc_value_free_contents(&type_string, &out);
}
END_TEST

/* A list reply arrives in the caller's wrapper message. */
START_TEST(test_client_wrapped_list)
{
	Rt__Args args = RT__ARGS__INIT;
	Rt__Int64List l = RT__INT64_LIST__INIT;

	start_echo();
	args.a = 5;
	ck_assert_ptr_null(
	    rpc_client_call(client, "List.Count", &m_count, &args.base, &l));
	ck_assert_uint_eq(l.n_value, 5);
	ck_assert_int_eq(l.value[0], 1);
	ck_assert_int_eq(l.value[4], 5);
	rpc_value_free_contents(&type_list, &l);
	ck_assert_ptr_null(l.value);
}
END_TEST

/* Wrappers too large for the stack buffer go through the heap. */
START_TEST(test_client_large_wrapper)
{
	int64_t in = -12, out = 0;

	ck_assert_uint_gt(rt__big_int64__descriptor.sizeof_message, 128);
	start_echo();
	ck_assert_ptr_null(
	    rpc_client_call(client, "Arith.Square", &m_square_big, &in, &out));
	ck_assert_int_eq(out, 144);
}
END_TEST

START_TEST(test_client_sequence_numbers)
{
	rpc_done *d = rpc_done_new_queue();
	int64_t replies[3] = {0};
	rpc_call *calls[3], *c;
	rpci_msg msg;
	uint64_t i;
	int seen = 0;

	ck_assert_ptr_nonnull(d);
	for (i = 0; i < 3; i++)
		ck_assert_ptr_null(
		    go_multiply(d, (int64_t)i + 1, 10, &replies[i], &calls[i]));
	for (i = 0; i < 3; i++) {
		ck_assert(fake_recv(&srv, &msg));
		ck_assert_uint_eq(msg.seq, i);
		ck_assert_str_eq(msg.service_method, "Arith.Multiply");
		ck_assert_int_eq(fake_args(&srv, &msg).a, (int64_t)i + 1);
		rpc_codec_protobuf.msg_clear(srv.st, &msg);
	}
	/* Out of order: 2, 0, 1. Each reply lands in its own call. */
	fake_send_int64(&srv, 2, 30);
	fake_send_int64(&srv, 0, 10);
	fake_send_int64(&srv, 1, 20);
	for (i = 0; i < 3; i++) {
		c = rpc_done_wait(d, 10000);
		ck_assert_ptr_nonnull(c);
		ck_assert_ptr_null(rpc_call_error(c));
		ck_assert_str_eq(rpc_call_service_method(c), "Arith.Multiply");
		ck_assert(c == calls[0] || c == calls[1] || c == calls[2]);
		seen |= 1 << (int)((int64_t *)rpc_call_reply(c) - replies);
		rpc_call_free(c);
	}
	ck_assert_int_eq(seen, 7);
	ck_assert_int_eq(replies[0], 10);
	ck_assert_int_eq(replies[1], 20);
	ck_assert_int_eq(replies[2], 30);
	ck_assert_ptr_null(rpc_done_next(d));
	rpc_done_free(d);
}
END_TEST

START_TEST(test_client_server_error_text)
{
	rpc_done *d = rpc_done_new_queue();
	Rt__Int64 body = RT__INT64__INIT;
	int64_t reply = -1;
	rpc_call *c;
	rpci_msg msg;

	ck_assert_ptr_null(go_multiply(d, 1, 2, &reply, NULL));
	ck_assert(fake_recv(&srv, &msg));
	/* An error reply that also carries a body: the body is dropped. */
	body.value = 99;
	fake_send(&srv, msg.seq, "rpc: can't find method Arith.Multiply",
	          &type_int64, &body.base);
	rpc_codec_protobuf.msg_clear(srv.st, &msg);
	c = rpc_done_wait(d, 10000);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(rpc_error_kind_of(rpc_call_error(c)), RPC_ERR_SERVER);
	ck_assert_str_eq(rpc_error_message(rpc_call_error(c)),
	                 "rpc: can't find method Arith.Multiply");
	ck_assert_int_eq(reply, -1);
	rpc_call_free(c);
	rpc_done_free(d);
}
END_TEST

START_TEST(test_client_unknown_seq_ignored)
{
	rpc_done *d = rpc_done_new_queue();
	int64_t reply = 0;
	rpc_call *c;
	rpci_msg msg;

	ck_assert_ptr_null(go_multiply(d, 3, 4, &reply, NULL));
	ck_assert(fake_recv(&srv, &msg));
	fake_send_int64(&srv, 12345, 1);
	fake_send(&srv, 777, "stray error", NULL, NULL);
	fake_send_int64(&srv, msg.seq, 12);
	rpc_codec_protobuf.msg_clear(srv.st, &msg);
	c = rpc_done_wait(d, 10000);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(rpc_call_error(c));
	ck_assert_int_eq(reply, 12);
	rpc_call_free(c);
	ck_assert_ptr_null(rpc_done_wait(d, 50));
	rpc_done_free(d);
}
END_TEST

START_TEST(test_client_bad_body_fails_that_call)
{
	rpc_done *d = rpc_done_new_queue();
	int64_t r1 = 0, r2 = 0;
	rpc_call *c1, *c2, *c;
	rpci_msg msg;
	rpci_buf out = {0};
	size_t start;

	ck_assert_ptr_null(go_multiply(d, 1, 1, &r1, &c1));
	ck_assert_ptr_null(go_multiply(d, 2, 3, &r2, &c2));
	ck_assert(fake_recv(&srv, &msg));
	rpc_codec_protobuf.msg_clear(srv.st, &msg);
	ck_assert(fake_recv(&srv, &msg));
	rpc_codec_protobuf.msg_clear(srv.st, &msg);
	/* seq 0 gets a body that is not a message at all. */
	ck_assert(rpci_frame_begin(
	    &out, &(rpci_header){.service_method = "Arith.Multiply"}, &start));
	ck_assert(rpci_buf_append(&out, "\x08\x80\x80", 3));
	ck_assert_ptr_null(rpci_frame_finish(&out, start, 1024));
	fake_write(&srv, out.data, out.len);
	rpci_buf_fini(&out);
	c = rpc_done_wait(d, 10000);
	ck_assert_ptr_eq(c, c1);
	ck_assert_int_eq(rpc_error_kind_of(rpc_call_error(c)),
	                 RPC_ERR_PROTOCOL);
	rpc_call_free(c);
	/* The connection lives on. */
	fake_send_int64(&srv, 1, 6);
	c = rpc_done_wait(d, 10000);
	ck_assert_ptr_eq(c, c2);
	ck_assert_ptr_null(rpc_call_error(c));
	ck_assert_int_eq(r2, 6);
	rpc_call_free(c);
	rpc_done_free(d);
}
END_TEST

START_TEST(test_client_invalid_arguments)
{
	rpc_error *err;
	rpc_client *c;
	int64_t r = 0;
	int fd;

	err = rpc_client_call(client, "Arith.Multiply", NULL, &r, &r);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_INVALID);
	rpc_error_free(err);
	err = go_multiply(NULL, 1, 1, &r, NULL);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_INVALID);
	rpc_error_free(err);
	c = client;
	err = rpc_client_new_fd(-1, NULL, &c);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_INVALID);
	ck_assert_ptr_null(c);
	rpc_error_free(err);
	fd = dup(srv.fd);
	close(fd);
	err = rpc_client_new_fd(fd, NULL, &c);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_IO);
	ck_assert_int_eq(rpc_error_errno(err), EBADF);
	rpc_error_free(err);
}
END_TEST

/* ---- connection end and close -------------------------------------------- */

START_TEST(test_client_connection_drop_fails_each_once)
{
	rpc_done *d = rpc_done_new_queue();
	int64_t replies[5];
	rpc_call *calls[5], *c;
	rpc_error *err;
	rpci_msg msg;
	int i, j, seen[5] = {0};

	for (i = 0; i < 5; i++)
		ck_assert_ptr_null(
		    go_multiply(d, i, i, &replies[i], &calls[i]));
	/* Answer one, then hang up mid-way through a second reply. */
	for (i = 0; i < 5; i++) {
		ck_assert(fake_recv(&srv, &msg));
		rpc_codec_protobuf.msg_clear(srv.st, &msg);
	}
	fake_send_int64(&srv, 4, 16);
	fake_write(&srv, "\x00\x00\x00\x20\x0e", 5);
	close(srv.fd);
	srv.fd = -1;
	for (i = 0; i < 5; i++) {
		c = rpc_done_wait(d, 10000);
		ck_assert_ptr_nonnull(c);
		for (j = 0; j < 5 && calls[j] != c; j++)
			;
		ck_assert_int_lt(j, 5);
		ck_assert_int_eq(seen[j]++, 0);
		if (j == 4) {
			ck_assert_ptr_null(rpc_call_error(c));
		} else {
			ck_assert_int_eq(rpc_error_kind_of(rpc_call_error(c)),
			                 RPC_ERR_UNEXPECTED_EOF);
			ck_assert_str_eq(rpc_error_message(rpc_call_error(c)),
			                 "unexpected EOF");
		}
		rpc_call_free(c);
	}
	ck_assert_ptr_null(rpc_done_wait(d, 50));
	/* The client is shut down now. */
	err = go_multiply(d, 1, 1, &replies[0], &c);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SHUTDOWN);
	ck_assert_ptr_null(c);
	rpc_error_free(err);
	rpc_done_free(d);
}
END_TEST

START_TEST(test_client_calls_after_close)
{
	rpc_error *err;
	int64_t r = 0;

	start_echo();
	ck_assert_ptr_null(call_multiply(2, 2, &r));
	ck_assert_ptr_null(rpc_client_close(client));
	err = call_multiply(2, 3, &r);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SHUTDOWN);
	ck_assert_str_eq(rpc_error_message(err), "connection is shut down");
	rpc_error_free(err);
	err = rpc_client_close(client);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SHUTDOWN);
	rpc_error_free(err);
	ck_assert_int_eq(r, 4);
}
END_TEST

START_TEST(test_client_close_completes_pending_with_shutdown)
{
	rpc_done *d = rpc_done_new_queue();
	int64_t replies[3];
	rpc_call *c;
	int i;

	for (i = 0; i < 3; i++)
		ck_assert_ptr_null(go_multiply(d, i, i, &replies[i], NULL));
	ck_assert_ptr_null(rpc_client_close(client));
	for (i = 0; i < 3; i++) {
		c = rpc_done_wait(d, 10000);
		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(rpc_error_kind_of(rpc_call_error(c)),
		                 RPC_ERR_SHUTDOWN);
		rpc_call_free(c);
	}
	ck_assert_ptr_null(rpc_done_next(d));
	rpc_done_free(d);
}
END_TEST

START_TEST(test_client_free_completes_pending)
{
	rpc_done *d = rpc_done_new_queue();
	int64_t reply;
	rpc_call *c;

	ck_assert_ptr_null(go_multiply(d, 1, 1, &reply, NULL));
	rpc_client_free(client);
	client = NULL;
	c = rpc_done_next(d); /* free waited for the reader: it is there */
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(rpc_error_kind_of(rpc_call_error(c)),
	                 RPC_ERR_SHUTDOWN);
	rpc_call_free(c);
	rpc_done_free(d);
}
END_TEST

static void log_line(void *ud, const char *line)
{
	snprintf(ud, 256, "%s", line);
}

START_TEST(test_client_oversized_reply_ends_connection)
{
	char logged[256] = "";
	rpc_client_options opts = {
	    .max_frame = 64, .log = log_line, .log_ud = logged};
	rpc_client *small;
	rpc_done *d = rpc_done_new_queue();
	char big[200], *in = "x", *out = NULL;
	Rt__String s = RT__STRING__INIT;
	int sv[2];
	fake f;
	rpci_msg msg;
	rpc_call *c;

	/* A non-blocking descriptor works too: the client makes it block. */
	ck_assert_int_eq(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_ptr_null(rpc_client_new_fd(sv[0], &opts, &small));
	ck_assert_int_eq(fcntl(sv[1], F_SETFL, 0), 0);
	fake_init(&f, sv[1]);
	ck_assert_ptr_null(
	    rpc_client_go(small, "Echo.Echo", &m_echo, &in, &out, d, NULL));
	ck_assert(fake_recv(&f, &msg));
	memset(big, 'b', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	s.value = big;
	fake_send(&f, msg.seq, NULL, &type_string, &s.base);
	rpc_codec_protobuf.msg_clear(f.st, &msg);
	c = rpc_done_wait(d, 10000);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(rpc_error_kind_of(rpc_call_error(c)),
	                 RPC_ERR_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(rpc_error_message(rpc_call_error(c)),
	                             "exceeds the maximum of 64"));
	ck_assert_ptr_null(out);
	rpc_call_free(c);
	rpc_client_free(small);
	ck_assert_str_eq(logged, "rpc: client protocol error: rpc: frame of "
	                         "219 bytes exceeds the maximum of 64");
	fake_fini(&f);
	rpc_done_free(d);
}
END_TEST

/* ---- async completion ---------------------------------------------------- */

START_TEST(test_client_done_fd_polling)
{
	rpc_done *d = rpc_done_new_queue();
	struct pollfd p = {.fd = rpc_done_fd(d), .events = POLLIN};
	int64_t r1 = 0, r2 = 0;
	rpci_msg msg;
	rpc_call *c;

	ck_assert_int_ge(p.fd, 0);
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	ck_assert_ptr_null(go_multiply(d, 2, 5, &r1, NULL));
	ck_assert_ptr_null(go_multiply(d, 3, 5, &r2, NULL));
	ck_assert(fake_recv(&srv, &msg));
	fake_send_int64(&srv, msg.seq, 10);
	rpc_codec_protobuf.msg_clear(srv.st, &msg);
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert(p.revents & POLLIN);
	ck_assert(fake_recv(&srv, &msg));
	fake_send_int64(&srv, msg.seq, 15);
	rpc_codec_protobuf.msg_clear(srv.st, &msg);
	/* Wait for the second completion, then drain: readable until the
	 * queue is empty, and only until then. */
	c = rpc_done_wait(d, 10000);
	ck_assert_ptr_nonnull(c);
	rpc_call_free(c);
	c = rpc_done_wait(d, 10000);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	rpc_call_free(c);
	ck_assert_int_eq(r1, 10);
	ck_assert_int_eq(r2, 15);
	ck_assert_ptr_null(rpc_done_wait(d, 0));
	rpc_done_free(d);
}
END_TEST

typedef struct cb_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int count;
	int errors;
	pthread_t thread;
} cb_state;

static void on_done(rpc_call *call, void *ud)
{
	cb_state *s = ud;

	pthread_mutex_lock(&s->mu);
	if (rpc_call_error(call) != NULL)
		s->errors++;
	s->count++;
	s->thread = pthread_self();
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	rpc_call_free(call);
}

START_TEST(test_client_callbacks)
{
	cb_state s = {.count = 0};
	rpc_done *d;
	int64_t replies[20];
	int i;

	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	d = rpc_done_new_callback(on_done, &s);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(rpc_done_fd(d), -1);
	start_echo();
	for (i = 0; i < 20; i++)
		ck_assert_ptr_null(go_multiply(d, i, 2, &replies[i], NULL));
	pthread_mutex_lock(&s.mu);
	while (s.count < 20)
		pthread_cond_wait(&s.cv, &s.mu);
	pthread_mutex_unlock(&s.mu);
	ck_assert_int_eq(s.errors, 0);
	ck_assert(!pthread_equal(s.thread, pthread_self()));
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(replies[i], 2 * i);
	rpc_client_free(client);
	client = NULL;
	ck_assert_int_eq(s.count, 20);
	rpc_done_free(d);
	pthread_cond_destroy(&s.cv);
	pthread_mutex_destroy(&s.mu);
}
END_TEST

/* Callbacks that start the next call: 64 chains of 100 calls each. */
typedef struct chain_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	rpc_done *d;
	int64_t replies[64];
	int left[64];
	int finished;
	int errors;
} chain_state;

static void on_chain(rpc_call *call, void *ud)
{
	chain_state *s = ud;
	int64_t *r = rpc_call_reply(call);
	int k = (int)(r - s->replies);
	bool ok = rpc_call_error(call) == NULL && *r == (int64_t)k * s->left[k];

	rpc_call_free(call);
	pthread_mutex_lock(&s->mu);
	if (!ok)
		s->errors++;
	pthread_mutex_unlock(&s->mu);
	if (--s->left[k] > 0) {
		rpc_error *err = go_multiply(s->d, k, s->left[k], r, NULL);

		if (err == NULL)
			return;
		rpc_error_free(err);
		ok = false;
	}
	pthread_mutex_lock(&s->mu);
	if (!ok)
		s->errors++;
	s->finished++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

START_TEST(test_client_callback_chains)
{
	chain_state s = {.finished = 0};
	int k;

	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	s.d = rpc_done_new_callback(on_chain, &s);
	ck_assert_ptr_nonnull(s.d);
	start_echo();
	for (k = 0; k < 64; k++) {
		s.left[k] = 100;
		ck_assert_ptr_null(
		    go_multiply(s.d, k, s.left[k], &s.replies[k], NULL));
	}
	pthread_mutex_lock(&s.mu);
	while (s.finished < 64)
		pthread_cond_wait(&s.cv, &s.mu);
	pthread_mutex_unlock(&s.mu);
	ck_assert_int_eq(s.errors, 0);
	rpc_client_free(client);
	client = NULL;
	rpc_done_free(s.d);
	pthread_cond_destroy(&s.cv);
	pthread_mutex_destroy(&s.mu);
}
END_TEST

/* ---- concurrency --------------------------------------------------------- */

#define N_THREADS 50
#define N_CALLS   1000

static void *hammer(void *arg)
{
	intptr_t id = (intptr_t)arg, bad = 0;
	int64_t r;
	rpc_error *err;
	int i;

	for (i = 0; i < N_CALLS; i++) {
		r = -1;
		err = call_multiply(id, i, &r);
		if (err != NULL || r != id * i)
			bad++;
		rpc_error_free(err);
	}
	return (void *)bad;
}

START_TEST(test_client_many_threads)
{
	pthread_t th[N_THREADS];
	void *bad;
	intptr_t i;

	start_echo();
	for (i = 0; i < N_THREADS; i++)
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, hammer, (void *)(i + 1)), 0);
	for (i = 0; i < N_THREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], &bad), 0);
		ck_assert_ptr_null(bad);
	}
}
END_TEST

/* Blocking calls read their own replies only while no asynchronous call
 * is pending; mixing both must still complete every call exactly once. */
static void *async_hammer(void *arg)
{
	rpc_done *d = arg;
	int64_t replies[16];
	rpc_call *c;
	intptr_t bad = 0;
	int i, k, out = 0;

	for (i = 0; i < N_CALLS; i += 16) {
		for (k = 0; k < 16; k++) {
			replies[k] = -1;
			if (go_multiply(d, i + k, 3, &replies[k], NULL) == NULL)
				out++;
			else
				bad++;
		}
		for (; out > 0; out--) {
			c = rpc_done_wait(d, 30000);
			if (c == NULL || rpc_call_error(c) != NULL) {
				bad++;
			} else {
				k = (int)((int64_t *)rpc_call_reply(c) -
				          replies);
				if (replies[k] != (int64_t)(i + k) * 3)
					bad++;
			}
			rpc_call_free(c);
		}
	}
	return (void *)bad;
}

START_TEST(test_client_mixed_sync_async)
{
	pthread_t th[9];
	rpc_done *d = rpc_done_new_queue();
	void *bad;
	intptr_t i;

	start_echo();
	ck_assert_int_eq(pthread_create(&th[0], NULL, async_hammer, d), 0);
	for (i = 1; i < 9; i++)
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, hammer, (void *)(i + 1)), 0);
	for (i = 0; i < 9; i++) {
		ck_assert_int_eq(pthread_join(th[i], &bad), 0);
		ck_assert_ptr_null(bad);
	}
	ck_assert_ptr_null(rpc_done_next(d));
	rpc_done_free(d);
}
END_TEST

/* After a read that completed calls into a done-queue, the reader thread
 * leaves the batch open until as many new requests have come (client.c,
 * client_batch_end). round_async makes n calls, waits for all of them, and
 * checks their replies. */
static void round_async(rpc_done *d, int64_t base, int n)
{
	int64_t replies[16];
	rpc_call *c;

	ck_assert_int_le(n, 16);
	for (int k = 0; k < n; k++) {
		replies[k] = -1;
		ck_assert_ptr_null(go_multiply(d, base + k, 5, &replies[k], NULL));
	}
	for (int k = 0; k < n; k++) {
		c = rpc_done_wait(d, 30000);
		ck_assert_ptr_nonnull(c);
		ck_assert_ptr_null(rpc_call_error(c));
		int64_t *r = rpc_call_reply(c);
		ck_assert_int_eq(*r, (base + (r - replies)) * 5);
		rpc_call_free(c);
	}
}

/* Fewer requests than completions: the open batch is written when its
 * time is up, and past the backoff (64 batches) too. */
START_TEST(test_client_open_batch_unanswered)
{
	rpc_done *d = rpc_done_new_queue();

	start_echo();
	for (int i = 0; i < 80; i++) {
		round_async(d, i * 100, 8);
		round_async(d, i * 100 + 50, 1);
	}
	rpc_done_free(d);
}
END_TEST

/* A blocking call made while a batch is open is written at once: its
 * caller may lead the reading next (no asynchronous call is pending), and
 * with the request held back nobody would write it. */
START_TEST(test_client_open_batch_blocking_call)
{
	rpc_done *d = rpc_done_new_queue();
	int64_t r;

	start_echo();
	for (int i = 0; i < 50; i++) {
		round_async(d, i * 100, 8);
		r = -1;
		ck_assert_ptr_null(call_multiply(i, 7, &r));
		ck_assert_int_eq(r, i * 7);
	}
	rpc_done_free(d);
}
END_TEST

/* A server that closes an idle connection: the next call fails (it may
 * see the end only once it reads) and later ones are refused. */
START_TEST(test_client_idle_server_close)
{
	rpc_error *err;
	int64_t r = 0;

	close(srv.fd);
	srv.fd = -1;
	err = call_multiply(1, 2, &r);
	ck_assert_ptr_nonnull(err);
	ck_assert(rpc_error_kind_of(err) == RPC_ERR_UNEXPECTED_EOF ||
	          rpc_error_kind_of(err) == RPC_ERR_SHUTDOWN);
	rpc_error_free(err);
	err = call_multiply(1, 2, &r);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SHUTDOWN);
	rpc_error_free(err);
}
END_TEST

/* ---- dialing ------------------------------------------------------------- */

START_TEST(test_client_dial_tcp)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	char addr[64];
	int lfd, cfd;
	rpc_client *c;
	fake f;
	pthread_t t;
	int64_t r = 0;
	Rt__Args args = RT__ARGS__INIT;
	rpc_error *err;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(addr, sizeof addr, "tcp:127.0.0.1:%d", ntohs(sa.sin_port));
	ck_assert_ptr_null(rpc_dial(addr, NULL, &c));
	cfd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(cfd, 0);
	close(lfd);
	fake_init(&f, cfd);
	ck_assert_int_eq(pthread_create(&t, NULL, fake_echo, &f), 0);
	args.a = 6;
	args.b = 7;
	ck_assert_ptr_null(
	    rpc_client_call(c, "Arith.Multiply", &m_multiply, &args.base, &r));
	ck_assert_int_eq(r, 42);
	rpc_client_free(c);
	pthread_join(t, NULL);
	fake_fini(&f);

	/* Nobody listens there any more. */
	err = rpc_dial(addr, NULL, &c);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_null(c);
	rpc_error_free(err);
}
END_TEST

/* ---- deadlines and cancellation ------------------------------------------ */

/* Timing assertions have generous slack: a call that times out after T ms
 * must not return before T, and must return within T + SLACK_MS. */
#define SLACK_MS 1000

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void assert_kind(const rpc_error *err, rpc_error_kind kind)
{
	ck_assert_msg(err != NULL && rpc_error_kind_of(err) == kind,
	              "want %s, got %s (%s)", rpc_error_kind_name(kind),
	              err ? rpc_error_kind_name(rpc_error_kind_of(err))
	                  : "NULL",
	              err ? rpc_error_message(err) : "");
}

/* A silent server: a listener on 127.0.0.1 port 0 that never accepts; the
 * kernel completes the connection and takes the requests, nobody answers. */
static rpc_listener *silent;

static void silent_setup(void)
{
	ck_assert_ptr_null(rpc_listen("tcp:127.0.0.1:0", &silent));
}

static void silent_teardown(void)
{
	rpc_listener_free(silent);
	silent = NULL;
}

static rpc_client *silent_dial(int call_timeout_ms)
{
	rpc_client_options o = {.call_timeout_ms = call_timeout_ms};
	rpc_client *c = NULL;

	ck_assert_ptr_null(rpc_dial(rpc_listener_address(silent), &o, &c));
	return c;
}

static rpc_error *multiply_opts(rpc_client *c, int timeout_ms, int64_t *r)
{
	Rt__Args args = RT__ARGS__INIT;
	rpc_call_options o = {.timeout_ms = timeout_ms};

	args.a = 6;
	args.b = 7;
	return rpc_client_call_opts(c, "Arith.Multiply", &m_multiply, &o,
	                            &args.base, r);
}

START_TEST(test_client_timeout_silent_server)
{
	rpc_client *c = silent_dial(0);
	int64_t r = -1, t0, dt;
	rpc_error *err;
	int i;

	/* Twice: the connection stays usable after a timeout. */
	for (i = 0; i < 2; i++) {
		t0 = now_ms();
		err = multiply_opts(c, 200, &r);
		dt = now_ms() - t0;
		assert_kind(err, RPC_ERR_TIMEOUT);
		ck_assert_str_eq(rpc_error_message(err), "rpc: timeout");
		rpc_error_free(err);
		ck_assert_int_ge(dt, 200);
		ck_assert_int_lt(dt, 200 + SLACK_MS);
		ck_assert_int_eq(r, -1); /* the reply was not touched */
	}
	rpc_client_free(c);
}
END_TEST

START_TEST(test_client_default_timeout)
{
	rpc_client *c = silent_dial(150);
	Rt__Args args = RT__ARGS__INIT;
	int64_t r = 0, t0, dt;
	rpc_error *err;

	t0 = now_ms();
	err = rpc_client_call(c, "Arith.Multiply", &m_multiply, &args.base, &r);
	dt = now_ms() - t0;
	assert_kind(err, RPC_ERR_TIMEOUT);
	rpc_error_free(err);
	ck_assert_int_ge(dt, 150);
	ck_assert_int_lt(dt, 150 + SLACK_MS);
	/* A call's own timeout wins over the client's. */
	t0 = now_ms();
	err = multiply_opts(c, 400, &r);
	dt = now_ms() - t0;
	assert_kind(err, RPC_ERR_TIMEOUT);
	rpc_error_free(err);
	ck_assert_int_ge(dt, 400);
	ck_assert_int_lt(dt, 400 + SLACK_MS);
	rpc_client_free(c);
}
END_TEST

/* A call that times out says so through the client's log hook, once,
 * whether it was blocking or asynchronous. */
static void count_timeout_lines(void *ud, const char *line)
{
	if (strstr(line, "rpc: call Arith.Multiply (seq ") == line &&
	    strstr(line, ") timed out; a late reply is dropped") != NULL)
		atomic_fetch_add((atomic_int *)ud, 1);
}

START_TEST(test_client_timeout_logged)
{
	atomic_int lines = 0;
	rpc_client_options o = {.log = count_timeout_lines, .log_ud = &lines};
	rpc_call_options co = {.timeout_ms = 50};
	Rt__Args args = RT__ARGS__INIT;
	rpc_done *d = rpc_done_new_queue();
	rpc_client *c = NULL;
	rpc_call *k;
	int64_t r = 0, r2 = 0;

	ck_assert_ptr_null(rpc_dial(rpc_listener_address(silent), &o, &c));
	rpc_error *err = rpc_client_call_opts(c, "Arith.Multiply", &m_multiply,
	                                      &co, &args.base, &r);
	assert_kind(err, RPC_ERR_TIMEOUT);
	rpc_error_free(err);
	ck_assert_int_eq(atomic_load(&lines), 1);
	ck_assert_ptr_null(rpc_client_go_opts(c, "Arith.Multiply", &m_multiply,
	                                      &co, &args.base, &r2, d, NULL));
	k = rpc_done_wait(d, 10000);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(rpc_error_kind_of(rpc_call_error(k)), RPC_ERR_TIMEOUT);
	rpc_call_free(k);
	ck_assert_int_eq(atomic_load(&lines), 2);
	rpc_client_free(c);
	rpc_done_free(d);
}
END_TEST

/* Asynchronous calls time out through their done, on the reader thread,
 * earliest first, while calls without a deadline wait on. */
START_TEST(test_client_async_timeout)
{
	rpc_client *c = silent_dial(0);
	rpc_done *d = rpc_done_new_queue();
	rpc_call_options o300 = {.timeout_ms = 300}, o100 = {.timeout_ms = 100},
	                 none = {.timeout_ms = RPC_NO_TIMEOUT};
	Rt__Args args = RT__ARGS__INIT;
	int64_t r1 = -1, r2 = -1, r3 = -1, t0, dt;
	rpc_call *k1, *k2, *k3, *got;

	t0 = now_ms();
	ck_assert_ptr_null(rpc_client_go_opts(c, "Arith.Multiply", &m_multiply,
	                                      &none, &args.base, &r3, d, &k3));
	ck_assert_ptr_null(rpc_client_go_opts(c, "Arith.Multiply", &m_multiply,
	                                      &o300, &args.base, &r1, d, &k1));
	ck_assert_ptr_null(rpc_client_go_opts(c, "Arith.Multiply", &m_multiply,
	                                      &o100, &args.base, &r2, d, &k2));
	got = rpc_done_wait(d, 5000);
	dt = now_ms() - t0;
	ck_assert_ptr_eq(got, k2);
	assert_kind(rpc_call_error(got), RPC_ERR_TIMEOUT);
	ck_assert_int_ge(dt, 100);
	ck_assert_int_lt(dt, 100 + SLACK_MS);
	ck_assert(rpc_call_wait(got, 0));
	rpc_call_free(got);
	got = rpc_done_wait(d, 5000);
	dt = now_ms() - t0;
	ck_assert_ptr_eq(got, k1);
	assert_kind(rpc_call_error(got), RPC_ERR_TIMEOUT);
	ck_assert_int_ge(dt, 300);
	ck_assert_int_lt(dt, 300 + SLACK_MS);
	rpc_call_free(got);
	/* The call without a deadline is still waiting... */
	ck_assert_ptr_null(rpc_done_wait(d, 200));
	/* ...until the client closes. */
	ck_assert_ptr_null(rpc_client_close(c));
	got = rpc_done_wait(d, 5000);
	ck_assert_ptr_eq(got, k3);
	assert_kind(rpc_call_error(got), RPC_ERR_SHUTDOWN);
	rpc_call_free(got);
	ck_assert_ptr_null(rpc_done_next(d));
	ck_assert_int_eq(r1, -1);
	ck_assert_int_eq(r2, -1);
	ck_assert_int_eq(r3, -1);
	rpc_client_free(c);
	rpc_done_free(d);
}
END_TEST

/* An owned call (no done): waited for with a timeout, cancelled, freed. */
START_TEST(test_client_owned_wait_cancel)
{
	rpc_client *c = silent_dial(0);
	Rt__Args args = RT__ARGS__INIT;
	rpc_call_options o = {.timeout_ms = 200};
	int64_t r = -1, t0, dt;
	rpc_call *k, *k2;
	rpc_error *err;

	/* done and call both NULL: refused. */
	err = rpc_client_go_opts(c, "Arith.Multiply", &m_multiply, NULL,
	                         &args.base, &r, NULL, NULL);
	assert_kind(err, RPC_ERR_INVALID);
	rpc_error_free(err);

	ck_assert_ptr_null(rpc_client_go_opts(c, "Arith.Multiply", &m_multiply,
	                                      NULL, &args.base, &r, NULL, &k));
	ck_assert(!rpc_call_wait(k, 0));
	t0 = now_ms();
	ck_assert(!rpc_call_wait(k, 100)); /* waiting is not cancelling */
	dt = now_ms() - t0;
	ck_assert_int_ge(dt, 100);
	ck_assert_int_lt(dt, 100 + SLACK_MS);
	rpc_call_cancel(k);
	ck_assert(rpc_call_wait(k, 0));
	assert_kind(rpc_call_error(k), RPC_ERR_CANCELED);
	ck_assert_str_eq(rpc_error_message(rpc_call_error(k)),
	                 "rpc: call canceled");
	rpc_call_cancel(k); /* completed: nothing happens */
	assert_kind(rpc_call_error(k), RPC_ERR_CANCELED);
	rpc_call_free(k);

	/* An owned call with a deadline completes by itself. */
	t0 = now_ms();
	ck_assert_ptr_null(rpc_client_go_opts(c, "Arith.Multiply", &m_multiply,
	                                      &o, &args.base, &r, NULL, &k));
	ck_assert(rpc_call_wait(k, -1));
	dt = now_ms() - t0;
	assert_kind(rpc_call_error(k), RPC_ERR_TIMEOUT);
	ck_assert_int_ge(dt, 200);
	ck_assert_int_lt(dt, 200 + SLACK_MS);
	rpc_call_free(k);

	/* Freeing a running owned call cancels it; closing completes one
	 * with RPC_ERR_SHUTDOWN, and it stays the owner's after the client
	 * is freed. */
	ck_assert_ptr_null(rpc_client_go_opts(c, "Arith.Multiply", &m_multiply,
	                                      NULL, &args.base, &r, NULL, &k));
	rpc_call_free(k);
	ck_assert_ptr_null(rpc_client_go_opts(c, "Arith.Multiply", &m_multiply,
	                                      NULL, &args.base, &r, NULL, &k2));
	rpc_client_free(c);
	ck_assert(rpc_call_wait(k2, 0));
	assert_kind(rpc_call_error(k2), RPC_ERR_SHUTDOWN);
	rpc_call_cancel(k2); /* completed: the freed client is not touched */
	rpc_call_free(k2);
	ck_assert_int_eq(r, -1);
}
END_TEST

/* Cancelling a call that has a done delivers it there, once. */
START_TEST(test_client_cancel_done_call)
{
	rpc_client *c = silent_dial(0);
	rpc_done *d = rpc_done_new_queue();
	Rt__Args args = RT__ARGS__INIT;
	int64_t r1 = -1, r2 = -1;
	rpc_call *k1, *k2, *got;

	ck_assert_ptr_null(rpc_client_go(c, "Arith.Multiply", &m_multiply,
	                                 &args.base, &r1, d, &k1));
	ck_assert_ptr_null(rpc_client_go(c, "Arith.Multiply", &m_multiply,
	                                 &args.base, &r2, d, &k2));
	rpc_call_cancel(k2);
	/* It is in the queue already: cancel completes on this thread. */
	got = rpc_done_next(d);
	ck_assert_ptr_eq(got, k2);
	assert_kind(rpc_call_error(got), RPC_ERR_CANCELED);
	rpc_call_cancel(got); /* completed: nothing happens */
	ck_assert_ptr_null(rpc_done_next(d));
	rpc_call_free(got);
	rpc_client_free(c);
	got = rpc_done_next(d);
	ck_assert_ptr_eq(got, k1);
	assert_kind(rpc_call_error(got), RPC_ERR_SHUTDOWN);
	rpc_call_free(got);
	ck_assert_ptr_null(rpc_done_next(d));
	rpc_done_free(d);
}
END_TEST

/* The request carries the time left; a reply that comes after the call
 * timed out is dropped without touching the reply (a canary stays), and
 * the connection serves the next call. Blocking and asynchronous. */
START_TEST(test_client_late_reply_dropped)
{
	Rt__Args args = RT__ARGS__INIT;
	Rt__Quotient q, q2 = RT__QUOTIENT__INIT;
	rpc_call_options o = {.timeout_ms = 100};
	rpc_call *k;
	rpci_msg msg;
	rpc_error *err;
	int64_t r = 0;
	int i;

	for (i = 0; i < 2; i++) {
		rt__quotient__init(&q);
		q.quo = 0x5a5a5a5a;
		q.rem = -0x5a5a5a5a;
		args.a = 7;
		args.b = 2;
		if (i == 0) {
			/* Blocking: the fake is scripted after the call. */
			err = rpc_client_call_opts(client, "Arith.Divide",
			                           &m_divide, &o, &args.base,
			                           &q.base);
			assert_kind(err, RPC_ERR_TIMEOUT);
			rpc_error_free(err);
		} else {
			ck_assert_ptr_null(rpc_client_go_opts(
			    client, "Arith.Divide", &m_divide, &o, &args.base,
			    &q.base, NULL, &k));
			ck_assert(rpc_call_wait(k, 5000));
			assert_kind(rpc_call_error(k), RPC_ERR_TIMEOUT);
			rpc_call_free(k);
		}
		ck_assert(fake_recv(&srv, &msg));
		ck_assert_str_eq(msg.service_method, "Arith.Divide");
		ck_assert_uint_gt(msg.timeout_us, 0);
		ck_assert_uint_le(msg.timeout_us, 100000);
		q2.quo = 3;
		q2.rem = 1;
		fake_send(&srv, msg.seq, NULL, &type_quotient, &q2.base);
		rpc_codec_protobuf.msg_clear(srv.st, &msg);
		/* The next call is answered; the late reply was read (and
		 * dropped) before its reply. */
		start_echo();
		ck_assert_ptr_null(call_multiply(6, 7, &r));
		ck_assert_int_eq(r, 42);
		ck_assert_int_eq(q.quo, 0x5a5a5a5a);
		ck_assert_int_eq(q.rem, -0x5a5a5a5a);
		/* Stop the echo thread for the next round: a fresh pair. */
		pair_teardown();
		pair_setup();
	}
}
END_TEST

/* A call without a deadline sends no time left: the frame is the old one. */
START_TEST(test_client_no_deadline_on_wire)
{
	rpc_call_options none = {.timeout_ms = RPC_NO_TIMEOUT};
	Rt__Args args = RT__ARGS__INIT;
	rpci_msg msg;
	rpc_call *k;
	int64_t r;

	ck_assert_ptr_null(rpc_client_go_opts(client, "Arith.Multiply",
	                                      &m_multiply, &none, &args.base,
	                                      &r, NULL, &k));
	ck_assert(fake_recv(&srv, &msg));
	ck_assert_uint_eq(msg.timeout_us, 0);
	fake_send_int64(&srv, msg.seq, 5);
	rpc_codec_protobuf.msg_clear(srv.st, &msg);
	ck_assert(rpc_call_wait(k, 5000));
	ck_assert_ptr_null(rpc_call_error(k));
	ck_assert_int_eq(r, 5);
	rpc_call_free(k);
}
END_TEST

/* Replies racing deadlines and cancels: every call completes exactly once
 * and only a call that completed with success has its reply written. */
typedef struct race_call {
	int64_t reply;
	rpc_call *k;
} race_call;

static void *fake_echo_jitter(void *arg)
{
	fake *f = arg;
	rpci_msg msg;
	unsigned seed = 7;

	while (fake_recv(f, &msg)) {
		Rt__Args a = fake_args(f, &msg);

		if (rand_r(&seed) % 8 == 0)
			usleep((useconds_t)(rand_r(&seed) % 3000));
		fake_send_int64(f, msg.seq, a.a * a.b);
		rpc_codec_protobuf.msg_clear(f->st, &msg);
	}
	return NULL;
}

START_TEST(test_client_race_reply_timeout_cancel)
{
	enum { BATCH = 16 };
	race_call rc[BATCH];
	rpc_done *d = rpc_done_new_queue();
	Rt__Args args = RT__ARGS__INIT;
	int64_t t_end = now_ms() + 8000;
	size_t n = 0, ok = 0, timeouts = 0, cancels = 0, i, got;
	rpc_call *k;
	int64_t r;

	ck_assert_int_eq(
	    pthread_create(&echo_thread, NULL, fake_echo_jitter, &srv), 0);
	echo_running = true;
	while (n < 2000 && now_ms() < t_end) {
		for (i = 0; i < BATCH; i++) {
			rpc_call_options o = {
			    .timeout_ms = 1 + (int)((n / BATCH + i) % 4)};

			rc[i].reply = -1;
			args.a = (int64_t)(n + i);
			args.b = 3;
			ck_assert_ptr_null(rpc_client_go_opts(
			    client, "Arith.Multiply", &m_multiply, &o,
			    &args.base, &rc[i].reply, i % 4 == 3 ? NULL : d,
			    &rc[i].k));
		}
		for (i = 3; i < BATCH; i += 4) /* the owned ones */
			if (i % 8 == 3)
				rpc_call_cancel(rc[i].k);
		for (got = 0; got < BATCH - BATCH / 4; got++) {
			k = rpc_done_wait(d, 10000);
			ck_assert_ptr_nonnull(k);
			for (i = 0; i < BATCH && rc[i].k != k; i++)
				;
			ck_assert_uint_lt(i, BATCH);
			rc[i].k =
			    NULL; /* a second completion would not match */
			if (rpc_call_error(k) == NULL) {
				ck_assert_int_eq(rc[i].reply,
				                 (int64_t)(n + i) * 3);
				ok++;
			} else {
				ck_assert_int_eq(
				    rpc_error_kind_of(rpc_call_error(k)),
				    RPC_ERR_TIMEOUT);
				ck_assert_int_eq(rc[i].reply, -1);
				timeouts++;
			}
			rpc_call_free(k);
		}
		ck_assert_ptr_null(rpc_done_next(d));
		for (i = 3; i < BATCH; i += 4) {
			ck_assert(rpc_call_wait(rc[i].k, 10000));
			if (rpc_call_error(rc[i].k) == NULL) {
				ck_assert_int_eq(rc[i].reply,
				                 (int64_t)(n + i) * 3);
				ok++;
			} else if (rpc_error_kind_of(rpc_call_error(rc[i].k)) ==
			           RPC_ERR_CANCELED) {
				ck_assert_int_eq(rc[i].reply, -1);
				cancels++;
			} else {
				assert_kind(rpc_call_error(rc[i].k),
				            RPC_ERR_TIMEOUT);
				ck_assert_int_eq(rc[i].reply, -1);
				timeouts++;
			}
			rpc_call_free(rc[i].k);
		}
		n += BATCH;
	}
	/* Late replies still on their way are dropped; the connection
	 * serves on, and nothing completes twice. */
	usleep(50000);
	ck_assert_ptr_null(call_multiply(6, 7, &r));
	ck_assert_int_eq(r, 42);
	ck_assert_ptr_null(rpc_done_next(d));
	ck_assert_uint_eq(ok + timeouts + cancels, n);
	ck_assert_uint_ge(n, BATCH);
	fprintf(stderr,
	        "race: %zu calls, %zu ok, %zu timed out, %zu cancelled\n", n,
	        ok, timeouts, cancels);
	rpc_done_free(d);
}
END_TEST

/* A server that takes no bytes: the write of a large request gives up
 * after write_timeout_ms without progress, the connection ends, the call
 * fails with that timeout and the log says why. */
static char write_log[512];

static void write_log_line(void *ud, const char *line)
{
	(void)ud;
	snprintf(write_log, sizeof write_log, "%s", line);
}

START_TEST(test_client_write_timeout)
{
	rpc_client_options o = {.write_timeout_ms = 200, .log = write_log_line};
	size_t n = 32u << 20;
	char *big = malloc(n + 1), *back = NULL;
	rpc_client *c = NULL;
	rpc_error *err;
	int64_t t0, dt;

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', n);
	big[n] = '\0';
	write_log[0] = '\0';
	ck_assert_ptr_null(rpc_dial(rpc_listener_address(silent), &o, &c));
	t0 = now_ms();
	err = rpc_client_call(c, "Echo.Echo", &m_echo, &big, &back);
	dt = now_ms() - t0;
	assert_kind(err, RPC_ERR_TIMEOUT);
	ck_assert_str_eq(rpc_error_message(err),
	                 "rpc: write timed out (no progress in 200 ms)");
	rpc_error_free(err);
	ck_assert_int_ge(dt, 200);
	ck_assert_int_lt(dt, 200 + 5 * SLACK_MS);
	ck_assert_str_eq(write_log, "rpc: client protocol error: rpc: write "
	                            "timed out (no progress in 200 ms)");
	ck_assert_ptr_null(back);
	err = multiply_opts(c, 100, &t0);
	assert_kind(err, RPC_ERR_SHUTDOWN);
	rpc_error_free(err);
	rpc_client_free(c);
	free(big);
}
END_TEST

/* ---- dialing with options ------------------------------------------------ */

/* A connect that cannot finish times out. On loopback the only
 * deterministic way is a listener whose backlog is full (the kernel drops
 * further SYNs while nobody accepts); if this kernel completes the connect
 * anyway, the test says so and skips. */
/* rpc_dial_http to a listener that never answers the CONNECT: the dial
 * timeout covers the handshake too. */
START_TEST(test_client_dial_http_timeout)
{
	rpc_client_options o = {.dial_timeout_ms = 200};
	rpc_client *c = NULL;
	rpc_error *err;
	int64_t t0, dt;

	t0 = now_ms();
	err = rpc_dial_http(rpc_listener_address(silent), NULL, &o, &c);
	dt = now_ms() - t0;
	assert_kind(err, RPC_ERR_TIMEOUT);
	ck_assert_ptr_nonnull(
	    strstr(rpc_error_message(err), "no answer to CONNECT in 200 ms"));
	rpc_error_free(err);
	ck_assert_ptr_null(c);
	ck_assert_int_ge(dt, 190);
	ck_assert_int_lt(dt, 200 + SLACK_MS);
}
END_TEST

START_TEST(test_client_dial_timeout)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	rpc_client_options o = {.dial_timeout_ms = 200};
	int lfd, fill[8], nfill = 0, i;
	char addr[64];
	rpc_client *c = NULL;
	rpc_error *err;
	int64_t t0, dt;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(addr, sizeof addr, "tcp:127.0.0.1:%d", ntohs(sa.sin_port));
	/* Fill the accept queue with connections nobody accepts. */
	for (i = 0; i < 8; i++) {
		struct pollfd p;

		fill[i] = socket(AF_INET,
		                 SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		ck_assert_int_ge(fill[i], 0);
		nfill++;
		connect(fill[i], (struct sockaddr *)&sa, sizeof sa);
		p = (struct pollfd){.fd = fill[i], .events = POLLOUT};
		if (poll(&p, 1, 100) == 0)
			break; /* this one hangs: the queue is full */
	}
	t0 = now_ms();
	err = rpc_dial(addr, &o, &c);
	dt = now_ms() - t0;
	for (i = 0; i < nfill; i++)
		close(fill[i]);
	close(lfd);
	if (err == NULL) {
		rpc_client_free(c);
		fprintf(stderr, "test_client_dial_timeout: SKIP: the connect "
		                "completed with a full backlog\n");
		return;
	}
	assert_kind(err, RPC_ERR_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(rpc_error_message(err), "timed out"));
	rpc_error_free(err);
	ck_assert_ptr_null(c);
	ck_assert_int_ge(dt, 200);
	ck_assert_int_lt(dt, 200 + SLACK_MS);
}
END_TEST

/* Dialed tcp sockets have keepalive on unless the options say no. */
START_TEST(test_client_dial_keepalive)
{
	rpc_listener *l;
	int fd, on = -1;
	socklen_t len = sizeof on;

	ck_assert_ptr_null(rpc_listen("tcp:127.0.0.1:0", &l));
	ck_assert_ptr_null(
	    rpci_transport_dial_opts(rpc_listener_address(l), 0, true, &fd));
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &len),
	                 0);
	ck_assert_int_ne(on, 0);
	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &on, &len),
	                 0);
	ck_assert_int_eq(on, 15);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	ck_assert_ptr_null(
	    rpci_transport_dial_opts(rpc_listener_address(l), 0, false, &fd));
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &len),
	                 0);
	ck_assert_int_eq(on, 0);
	close(fd);
	rpc_listener_free(l);
}
END_TEST

static Suite *client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc;

	tc = tcase_create("calls");
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_add_test(tc, test_client_sync_call);
	tcase_add_test(tc, test_client_wrapped_list);
	tcase_add_test(tc, test_client_large_wrapper);
	tcase_add_test(tc, test_client_sequence_numbers);
	tcase_add_test(tc, test_client_server_error_text);
	tcase_add_test(tc, test_client_unknown_seq_ignored);
	tcase_add_test(tc, test_client_bad_body_fails_that_call);
	tcase_add_test(tc, test_client_invalid_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("shutdown");
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_add_test(tc, test_client_connection_drop_fails_each_once);
	tcase_add_test(tc, test_client_calls_after_close);
	tcase_add_test(tc, test_client_close_completes_pending_with_shutdown);
	tcase_add_test(tc, test_client_free_completes_pending);
	tcase_add_test(tc, test_client_oversized_reply_ends_connection);
	tcase_add_test(tc, test_client_idle_server_close);
	suite_add_tcase(s, tc);

	tc = tcase_create("async");
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_add_test(tc, test_client_done_fd_polling);
	tcase_add_test(tc, test_client_callbacks);
	tcase_add_test(tc, test_client_callback_chains);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_client_many_threads);
	tcase_add_test(tc, test_client_mixed_sync_async);
	tcase_add_test(tc, test_client_open_batch_unanswered);
	tcase_add_test(tc, test_client_open_batch_blocking_call);
	suite_add_tcase(s, tc);

	tc = tcase_create("dial");
	tcase_add_test(tc, test_client_dial_tcp);
	tcase_add_test(tc, test_client_dial_timeout);
	tcase_add_test(tc, test_client_dial_keepalive);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadlines_silent");
	tcase_add_checked_fixture(tc, silent_setup, silent_teardown);
	tcase_add_test(tc, test_client_timeout_silent_server);
	tcase_add_test(tc, test_client_default_timeout);
	tcase_add_test(tc, test_client_timeout_logged);
	tcase_add_test(tc, test_client_dial_http_timeout);
	tcase_add_test(tc, test_client_async_timeout);
	tcase_add_test(tc, test_client_owned_wait_cancel);
	tcase_add_test(tc, test_client_cancel_done_call);
	tcase_add_test(tc, test_client_write_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadlines");
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_client_late_reply_dropped);
	tcase_add_test(tc, test_client_no_deadline_on_wire);
	tcase_add_test(tc, test_client_race_reply_timeout_cancel);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
