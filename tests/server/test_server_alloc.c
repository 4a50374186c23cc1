/* test_server_alloc.c - the server when memory runs out, at every point.
 *
 * malloc, calloc and realloc are replaced here by versions that, once armed
 * in a thread, fail that thread's Nth allocation. Each test walks N = 0, 1,
 * 2, ... through one operation (making a server, registering, listening,
 * serving one request) until the operation no longer reaches allocation N,
 * and checks at every N that it either succeeded or failed with an error,
 * leaving nothing behind (valgrind or the final leak check would say). The
 * sanitizers and valgrind replace the allocator themselves, so under them
 * the program skips (exit 77). */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec.h"
#include "rpc.h"
#include "srv.pb-c.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SRV_ALLOC_SKIP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||     \
	__has_feature(memory_sanitizer)
#define SRV_ALLOC_SKIP 1
#endif
#endif

#ifndef SRV_ALLOC_SKIP
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static __thread volatile long fail_at = -1; /* allocations left before */
static __thread volatile bool failed;

static bool alloc_should_fail(void)
{
	if (fail_at < 0)
		return false;
	if (fail_at-- > 0)
		return false;
	failed = true;
	errno = ENOMEM;
	return true;
}

void *malloc(size_t n)
{
	return alloc_should_fail() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return alloc_should_fail() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	return alloc_should_fail() ? NULL : __libc_realloc(p, n);
}

static void arm(long n)
{
	failed = false;
	fail_at = n;
}

/* disarm returns true if allocation n was reached (and failed). */
static bool disarm(void)
{
	fail_at = -1;
	return failed;
}

/* ---- a small service ------------------------------------------------------- */

static const rpc_type type_args = {"Args", &srv__args__descriptor,
                                   RPC_FORM_MESSAGE};
static const rpc_type type_int64 = {"int64", &srv__int64__descriptor,
                                    RPC_FORM_VALUE};
static const rpc_type type_string = {"string", &srv__string__descriptor,
                                     RPC_FORM_VALUE};

static rpc_error *inv_echo(const void *h, void *self, const void *a, void *r)
{
	(void)h;
	(void)self;
	*(char **)r = rpc_strdup(*(char *const *)a);
	return *(char **)r != NULL ? NULL : rpc_error_new("out of memory");
}

static rpc_error *inv_multiply(const void *h, void *self, const void *a,
                               void *r)
{
	const Srv__Args *args = a;
	(void)h;
	(void)self;
	*(int64_t *)r = args->a * args->b;
	return NULL;
}

static const rpc_method methods[] = {
	{"Echo", &type_string, &type_string, inv_echo},
	{"Multiply", &type_args, &type_int64, inv_multiply},
};
static const rpc_service_desc desc = {RPC_ABI_VERSION, "Arith", NULL, 2,
                                      methods};
static const int handlers; /* the invokers above need no table */

enum { WALK_MAX = 10000 };

START_TEST(test_alloc_server_new)
{
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
			continue;
		}
		rpc_server_free(srv);
		if (!hit)
			break;
	}
	ck_assert_int_lt(n, WALK_MAX);
}
END_TEST

START_TEST(test_alloc_register_and_listen)
{
	rpc_server *srv = NULL;
	long n;
	ck_assert_ptr_null(rpc_server_new(NULL, &srv));
	for (n = 0; n < WALK_MAX; n++) {
		arm(n);
		rpc_error *err = rpc_server_register(srv, &desc, &handlers, NULL,
		                                     NULL);
		bool hit = disarm();
		if (err == NULL)
			break; /* registered: a second walk step would be a dup */
		ck_assert(hit);
		rpc_error_free(err);
	}
	ck_assert_int_lt(n, WALK_MAX);
	/* registered exactly once */
	rpc_error *dup = rpc_server_register(srv, &desc, &handlers, NULL, NULL);
	ck_assert_ptr_nonnull(dup);
	ck_assert_str_eq(rpc_error_message(dup),
	                 "rpc: service already defined: Arith");
	rpc_error_free(dup);

	for (n = 0; n < WALK_MAX; n++) {
		rpc_listener *l = NULL;
		arm(n);
		rpc_error *err = rpc_listen("tcp:127.0.0.1:0", &l);
		bool hit = disarm();
		if (err != NULL) {
			ck_assert(hit);
			ck_assert_ptr_null(l);
			rpc_error_free(err);
			continue;
		}
		ck_assert_int_gt(rpc_listener_port(l), 0);
		rpc_listener_free(l);
		if (!hit)
			break;
	}
	ck_assert_int_lt(n, WALK_MAX);
	rpc_server_free(srv);
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
	rpc_server *srv = NULL;
	rpc_server_codec *sc = NULL;
	void *st = NULL;
	int sv[2];
	ck_assert_ptr_null(rpc_server_new(NULL, &srv));
	ck_assert_ptr_null(rpc_server_register(srv, &desc, &handlers, NULL,
	                                       NULL));
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
}
END_TEST

int main(void)
{
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

#else
int main(void)
{
	return 77; /* the sanitizer owns the allocator */
}
#endif
