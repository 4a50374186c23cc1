/* test_alloc.c - out of memory at every allocation of the client's paths.
 *
 * The allocation functions are wrapped at link time (tests/support/sup_alloc.h):
 * once armed in a thread, the Nth allocation that thread makes fails (once).
 * Each test walks N = 0, 1, 2, ... through one operation until it no longer
 * hits an allocation, checking at every point that the operation fails
 * cleanly (an error, nothing half-made) or succeeds, and that no object is
 * left alive once it is undone. The walks run in every build: plain,
 * sanitizers and valgrind. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sup_alloc.h"
#include "codec.h"
#include "internal.h"
#include "rt.pb-c.h"

static const rpc_type type_args = {"Args", &rt__args__descriptor,
                                   RPC_FORM_MESSAGE};
static const rpc_type type_int64 = {"int64", &rt__int64__descriptor,
                                    RPC_FORM_VALUE};
static const rpc_type type_string = {"string", &rt__string__descriptor,
                                     RPC_FORM_VALUE};
static const rpc_method m_multiply = {"Multiply", &type_args, &type_int64,
                                      NULL, 0};
static const rpc_method m_echo = {"Echo", &type_string, &type_string, NULL, 0};

/* A tiny server thread: answers Multiply with A*B, Echo with its string. */
static void *alloc_server(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t buf[4096];
	size_t len = 0, used;
	rpci_buf out = {0};
	rpc_error *err = NULL;
	rpci_msg msg;
	void *st;
	ssize_t n;

	if (rpc_codec_protobuf.state_new(true, 0, &st) != NULL)
		return NULL;
	while ((n = read(fd, buf + len, sizeof buf - len)) > 0) {
		len += (size_t)n;
		memset(&msg, 0, sizeof msg);
		while (rpc_codec_protobuf.read(st, buf, len, &used, &msg,
		                               &err) == RPCI_READ_OK) {
			rpci_header h = {.service_method = msg.service_method,
			                 .seq = msg.seq};

			if (strcmp(msg.service_method, "Echo.Echo") == 0) {
				Rt__String s = RT__STRING__INIT;

				rpc_codec_protobuf.read_body(
				    st, &msg, &type_string, &s.base);
				rpc_codec_protobuf.write(st, &h, &type_string,
				                         &s.base, &out);
				rpc_message_free_contents(&s.base);
			} else {
				Rt__Args a = RT__ARGS__INIT;
				Rt__Int64 r = RT__INT64__INIT;

				rpc_codec_protobuf.read_body(
				    st, &msg, &type_args, &a.base);
				r.value = a.a * a.b;
				rpc_codec_protobuf.write(st, &h, &type_int64,
				                         &r.base, &out);
			}
			rpc_codec_protobuf.msg_clear(st, &msg);
			memmove(buf, buf + used, len - used);
			len -= used;
			if (send(fd, out.data, out.len, MSG_NOSIGNAL) < 0)
				break;
			out.len = 0;
		}
		rpc_error_free(err);
		err = NULL;
	}
	rpci_buf_fini(&out);
	rpc_codec_protobuf.state_free(st);
	close(fd);
	return NULL;
}

typedef struct pair {
	rpc_client *c;
	pthread_t server;
} pair;

static void pair_open(pair *p)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	                 0);
	ck_assert_ptr_null(rpc_client_new_fd(sv[0], NULL, &p->c));
	ck_assert_int_eq(pthread_create(&p->server, NULL, alloc_server,
	                                (void *)(intptr_t)sv[1]),
	                 0);
}

static void pair_close(pair *p)
{
	rpc_client_free(p->c);
	pthread_join(p->server, NULL);
}

START_TEST(test_alloc_client_new)
{
	long live = sup_alloc_live();
	rpc_client *c = NULL;
	rpc_error *err;
	bool hit = true;
	long n;
	int sv[2];

	for (n = 0; hit; n++) {
		SUP_ASSERT_LIVE(live, n - 1);
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		sup_alloc_arm(n);
		err = rpc_client_new_fd(sv[0], NULL, &c);
		hit = sup_alloc_disarm();
		if (err != NULL) {
			ck_assert(hit);
			ck_assert_ptr_null(c);
			ck_assert_int_ne(rpc_error_kind_of(err), RPC_OK);
			rpc_error_free(err);
			close(sv[0]); /* still ours on failure */
		} else {
			rpc_client_free(c);
		}
		close(sv[1]);
	}
	ck_assert_int_gt(n, 1);
	SUP_ASSERT_LIVE(live, n);
}
END_TEST

START_TEST(test_alloc_sync_call)
{
	long live = sup_alloc_live();
	Rt__Args args = RT__ARGS__INIT;
	rpc_error *err;
	bool hit = true;
	int64_t r;
	long n;
	pair p;

	args.a = 6;
	args.b = 7;
	for (n = 0; hit; n++) {
		SUP_ASSERT_LIVE(live, n - 1);
		pair_open(&p);
		r = 0;
		sup_alloc_arm(n);
		err = rpc_client_call(p.c, "Arith.Multiply", &m_multiply,
		                      &args.base, &r);
		hit = sup_alloc_disarm();
		if (err != NULL) {
			ck_assert(hit);
			ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_NOMEM);
			rpc_error_free(err);
		} else {
			ck_assert_int_eq(r, 42);
		}
		/* After a failure sending, the client still works; after one
		 * reading (the calling thread reads its own reply), the
		 * connection has ended and later calls are refused. */
		r = 0;
		err = rpc_client_call(p.c, "Arith.Multiply", &m_multiply,
		                      &args.base, &r);
		if (err != NULL) {
			ck_assert_int_eq(rpc_error_kind_of(err),
			                 RPC_ERR_SHUTDOWN);
			rpc_error_free(err);
		} else {
			ck_assert_int_eq(r, 42);
		}
		pair_close(&p);
	}
	ck_assert_int_gt(n, 1);
	SUP_ASSERT_LIVE(live, n);
}
END_TEST

START_TEST(test_alloc_go_never_completes_on_failure)
{
	rpc_done *d = rpc_done_new_queue();
	long live = sup_alloc_live(); /* with d */
	char *in = "echo me", *out;
	rpc_call *call, *got;
	rpc_error *err;
	bool hit = true;
	long n;
	pair p;

	ck_assert_ptr_nonnull(d);
	for (n = 0; hit; n++) {
		SUP_ASSERT_LIVE(live, n - 1);
		pair_open(&p);
		out = NULL;
		sup_alloc_arm(n);
		err = rpc_client_go(p.c, "Echo.Echo", &m_echo, &in, &out, d,
		                    &call);
		hit = sup_alloc_disarm();
		if (err != NULL) {
			ck_assert(hit);
			ck_assert_ptr_null(call);
			ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_NOMEM);
			rpc_error_free(err);
			pair_close(&p);
			/* A call whose start failed never completes. */
			ck_assert_ptr_null(rpc_done_next(d));
			continue;
		}
		got = rpc_done_wait(d, 10000);
		ck_assert_ptr_eq(got, call);
		ck_assert_ptr_null(rpc_call_error(got));
		ck_assert_str_eq(out, "echo me");
		rpc_call_free(got);
		rpc_value_free_contents(&type_string, &out);
		pair_close(&p);
	}
	ck_assert_int_gt(n, 1);
	SUP_ASSERT_LIVE(live, n);
	rpc_done_free(d);
}
END_TEST

static void alloc_on_done(rpc_call *call, void *ud)
{
	(void)ud;
	rpc_call_free(call);
}

START_TEST(test_alloc_done_new)
{
	long live = sup_alloc_live();
	rpc_done *d;
	bool hit = true;
	long n;

	for (n = 0; hit; n++) {
		SUP_ASSERT_LIVE(live, n - 1);
		sup_alloc_arm(n);
		d = rpc_done_new_queue();
		hit = sup_alloc_disarm();
		ck_assert(d != NULL || hit);
		rpc_done_free(d);
	}
	sup_alloc_arm(0);
	d = rpc_done_new_callback(alloc_on_done, NULL);
	ck_assert(sup_alloc_disarm());
	ck_assert_ptr_null(d);
	SUP_ASSERT_LIVE(live, n);
}
END_TEST

START_TEST(test_alloc_errors_fall_back_to_static)
{
	long live = sup_alloc_live();
	rpc_error *e;
	bool hit = true;
	long n;

	for (n = 0; hit; n++) {
		SUP_ASSERT_LIVE(live, n - 1);
		sup_alloc_arm(n);
		e = rpc_error_new("handler %d", 1);
		hit = sup_alloc_disarm();
		if (rpc_error_kind_of(e) == RPC_ERR_NOMEM) {
			ck_assert(hit);
			ck_assert_str_eq(rpc_error_message(e),
			                 "rpc: out of memory");
		} else {
			ck_assert_int_eq(rpc_error_kind_of(e), RPC_ERR_SERVER);
			ck_assert_str_eq(rpc_error_message(e), "handler 1");
		}
		rpc_error_free(e);
	}
	ck_assert_int_gt(n, 1);
	SUP_ASSERT_LIVE(live, n);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	if (!sup_alloc_wrapped()) {
		fprintf(stderr, "test_alloc: the allocation wrappers are not "
		                "linked in\n");
		return EXIT_FAILURE;
	}
	s = suite_create("alloc");
	tc = tcase_create("client");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_alloc_client_new);
	tcase_add_test(tc, test_alloc_sync_call);
	tcase_add_test(tc, test_alloc_go_never_completes_on_failure);
	tcase_add_test(tc, test_alloc_done_new);
	tcase_add_test(tc, test_alloc_errors_fall_back_to_static);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
