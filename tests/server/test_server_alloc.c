/* test_server_alloc.c - the server when memory runs out, at every point.
 *
 * The allocation functions are wrapped at link time (tests/support/sup_alloc.h):
 * once armed in a thread, that thread's Nth allocation fails. Each test
 * walks N = 0, 1, 2, ... through one operation (making a server,
 * registering, listening, serving one request) until the operation no
 * longer reaches allocation N, and checks at every N that it either
 * succeeded or failed with an error, leaving no object alive once undone.
 * The walks run in every build: plain, sanitizers and valgrind. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sup_alloc.h"
#include "sup_arith.h"
#include "codec.h"
#include "rpc.h"
#include "srv.pb-c.h"

#define arm sup_alloc_arm
#define disarm sup_alloc_disarm

/* ---- the service: the suites' Arith (sup_arith.h) ------------------------ */

/* What send_request encodes: Arith's argument types over srv.proto. */
static const rpc_type type_args = {"Args", &srv__args__descriptor,
                                   RPC_FORM_MESSAGE};
static const rpc_type type_string = {"string", &srv__string__descriptor,
                                     RPC_FORM_VALUE};

enum { WALK_MAX = 10000 };

START_TEST(test_alloc_server_new)
{
	long live = sup_alloc_live();
	long n;
	for (n = 0; n < WALK_MAX; n++) {
		rpc_server *srv = NULL;
		arm(n);
		rpc_error *err = rpc_server_new(NULL, &srv);
		bool hit = disarm();
		if (err != NULL) {
			ck_assert(hit);
			ck_assert_ptr_null(srv);
			rpc_error_free(err);
			SUP_ASSERT_LIVE(live, n);
			continue;
		}
		rpc_server_free(srv);
		SUP_ASSERT_LIVE(live, n);
		if (!hit)
			break;
	}
	ck_assert_int_lt(n, WALK_MAX);
}
END_TEST

START_TEST(test_alloc_register_and_listen)
{
	long live0 = sup_alloc_live(), live;
	rpc_server *srv = NULL;
	long n;
	ck_assert_ptr_null(rpc_server_new(NULL, &srv));
	live = sup_alloc_live();
	for (n = 0; n < WALK_MAX; n++) {
		arm(n);
		rpc_error *err = sup_arith_register(srv);
		bool hit = disarm();
		if (err == NULL)
			break; /* registered: a second walk step would be a dup */
		ck_assert(hit);
		rpc_error_free(err);
		SUP_ASSERT_LIVE(live, n);
	}
	ck_assert_int_lt(n, WALK_MAX);
	/* registered exactly once */
	rpc_error *dup = sup_arith_register(srv);
	ck_assert_ptr_nonnull(dup);
	ck_assert_str_eq(rpc_error_message(dup),
	                 "rpc: service already defined: Arith");
	rpc_error_free(dup);

	live = sup_alloc_live();
	for (n = 0; n < WALK_MAX; n++) {
		rpc_listener *l = NULL;
		arm(n);
		rpc_error *err = rpc_listen("tcp:127.0.0.1:0", &l);
		bool hit = disarm();
		if (err != NULL) {
			ck_assert(hit);
			ck_assert_ptr_null(l);
			rpc_error_free(err);
			SUP_ASSERT_LIVE(live, n);
			continue;
		}
		ck_assert_int_gt(rpc_listener_port(l), 0);
		rpc_listener_free(l);
		SUP_ASSERT_LIVE(live, n);
		if (!hit)
			break;
	}
	ck_assert_int_lt(n, WALK_MAX);
	rpc_server_free(srv);
	SUP_ASSERT_LIVE(live0, n);
}
END_TEST

/* send_request writes one request frame on fd. */
static void send_request(int fd, void *st, uint64_t seq, bool echo)
{
	rpci_buf out = {0};
	rpci_header h = {.service_method = echo ? "Arith.Echo" : "Arith.Multiply",
	                 .seq = seq};
	Srv__Args args = SRV__ARGS__INIT;
	Srv__String s = SRV__STRING__INIT;
	args.a = 6;
	args.b = 7;
	s.value = "a string to copy";
	ck_assert_ptr_null(rpc_codec_protobuf.write(
	    st, &h, echo ? &type_string : &type_args,
	    echo ? &s.base : &args.base, &out));
	ck_assert_int_eq(send(fd, out.data, out.len, MSG_NOSIGNAL),
	                 (ssize_t)out.len);
	rpci_buf_fini(&out);
}

/* drain reads whatever replies have arrived. */
static void drain(int fd)
{
	uint8_t buf[4096];
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

START_TEST(test_alloc_serve_request)
{
	long live = sup_alloc_live();
	rpc_server *srv = NULL;
	rpc_server_codec *sc = NULL;
	void *st = NULL;
	int sv[2];
	ck_assert_ptr_null(rpc_server_new(NULL, &srv));
	ck_assert_ptr_null(sup_arith_register(srv));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_ptr_null(rpc_server_codec_new(sv[0], NULL, 0, &sc));
	ck_assert_ptr_null(rpc_codec_protobuf.state_new(false, 0, &st));
	for (int echo = 0; echo < 2; echo++) {
		long n;
		for (n = 0; n < WALK_MAX; n++) {
			send_request(sv[1], st, (uint64_t)n, echo);
			arm(n);
			rpc_error *err = rpc_server_serve_request(srv, sc);
			bool hit = disarm();
			drain(sv[1]);
			if (err != NULL) {
				/* answered with an error, or not at all */
				ck_assert(hit);
				rpc_error_free(err);
				continue;
			}
			if (!hit)
				break;
		}
		ck_assert_int_lt(n, WALK_MAX);
	}
	ck_assert_uint_gt(rpc_server_num_calls(srv, "Arith.Multiply"), 0);
	rpc_codec_protobuf.state_free(st);
	rpc_server_codec_free(sc);
	close(sv[1]);
	rpc_server_free(srv);
	SUP_ASSERT_LIVE(live, 0);
}
END_TEST

int main(void)
{
	if (!sup_alloc_wrapped()) {
		fprintf(stderr, "test_server_alloc: the allocation wrappers "
		                "are not linked in\n");
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("server_alloc");
	TCase *tc = tcase_create("out_of_memory");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_alloc_server_new);
	tcase_add_test(tc, test_alloc_register_and_listen);
	tcase_add_test(tc, test_alloc_serve_request);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed_n = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed_n == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
