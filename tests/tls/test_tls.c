/* test_tls.c - TLS: calls on every codec and over HTTP CONNECT, mutual TLS
 * and the caller's identity, the authorize hook, session resumption, a
 * large message, each verification failure and protocol mismatch with its
 * own error, a handshake that stalls, and Go's crypto/tls both ways.
 *
 * Certificates are made at start in a fresh directory (certs.c) and removed
 * at the end. The Go peer (gotls.go, GOTLS in the environment) is optional:
 * without it the Go tests report SKIP.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "certs.h"
#include "interop.rpc.h"
#include "rpc.h"
#include "sup_peer.h"
#include "sup_server.h"

static char certdir[256];

/* slow_build: valgrind (RPC_UNDER_VALGRIND) or ThreadSanitizer, where a
 * large message shrinks. */
#if defined(__SANITIZE_THREAD__)
#define TLS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TLS_TSAN 1
#endif
#endif
#ifndef TLS_TSAN
#define TLS_TSAN 0
#endif

static bool slow_build(void)
{
	const char *v = getenv("RPC_UNDER_VALGRIND");
	return TLS_TSAN || (v != NULL && v[0] != '\0' && v[0] != '0');
}

/* cert is the path of a file of certdir (a static buffer per slot). */
static const char *cert(int slot, const char *name)
{
	static char paths[8][320];

	snprintf(paths[slot], sizeof paths[slot], "%s/%s", certdir, name);
	return paths[slot];
}

/* ---- the service --------------------------------------------------------- */

/* interop.rpc's Arith (Go's own net/rpc test service, which gotls.go serves
 * and calls: Add, Mul with a Reply{C}), not the suites' (tests/support/
 * sup_arith.h); Add records the caller's identity for the assertions. */

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static rpc_peer seen;       /* the last caller; strings copied below */
static char seen_subject[256], seen_sans[256];

static rpc_error *arith_add(void *self, const interop_Args *a, interop_Reply *r)
{
	rpc_peer p;

	(void)self;
	if (!rpc_server_call_peer(&p))
		return rpc_error_new("no peer in a handler");
	pthread_mutex_lock(&seen_mu);
	seen = p;
	snprintf(seen_subject, sizeof seen_subject, "%s", p.subject);
	snprintf(seen_sans, sizeof seen_sans, "%s", p.sans);
	pthread_mutex_unlock(&seen_mu);
	r->C = a->A + a->B;
	return NULL;
}

static rpc_error *arith_mul(void *self, const interop_Args *a, interop_Reply *r)
{
	(void)self;
	r->C = a->A * a->B;
	return NULL;
}

static rpc_error *arith_unused(void *self, const interop_Args *a,
                               interop_Reply *r)
{
	(void)self;
	(void)a;
	(void)r;
	return rpc_error_new("not in this test");
}

static rpc_error *arith_string(void *self, const interop_Args *a, char **r)
{
	(void)self;
	if (asprintf(r, "%lld+%lld=%lld", (long long)a->A, (long long)a->B,
	             (long long)(a->A + a->B)) < 0)
		return rpc_error_new("out of memory");
	return NULL;
}

static rpc_error *arith_scan(void *self, const char *a, interop_Reply *r)
{
	(void)self;
	r->C = atoll(a);
	return NULL;
}

static const interop_Arith_handlers arith = {
    .Add = arith_add,
    .Mul = arith_mul,
    .Div = arith_unused,
    .String = arith_string,
    .Scan = arith_scan,
    .Error = arith_unused,
    .SleepMilli = arith_unused,
};

static rpc_error *echo_echo(void *self, const interop_Everything *a,
                            interop_Everything *r)
{
	(void)self;
	return interop_Everything_copy(r, a) ? NULL
	                                     : rpc_error_new("out of memory");
}

static const interop_Echo_handlers echo = {.Echo = echo_echo};

/* ---- a server with a log kept for the assertions ----------------------- */

typedef struct tserver {
	rpc_server *srv;
	sup_server sv;     /* the accepting thread */
	rpc_listener *lis; /* sv.lis */
	pthread_mutex_t mu;
	char log[8192]; /* the lines logged so far */
} tserver;

static void tserver_log(void *ud, const char *line)
{
	tserver *t = ud;

	pthread_mutex_lock(&t->mu);
	size_t n = strlen(t->log);
	snprintf(t->log + n, sizeof t->log - n, "%s\n", line);
	pthread_mutex_unlock(&t->mu);
}

/* tserver_logged waits (at most 5 s) for a log line containing text. */
static bool tserver_logged(tserver *t, const char *text)
{
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&t->mu);
		bool found = strstr(t->log, text) != NULL;
		pthread_mutex_unlock(&t->mu);
		if (found)
			return true;
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "log has no '%s':\n%s", text, t->log);
	return false;
}

/* tserver_start serves Arith and Echo with codec on 127.0.0.1, over TLS
 * with tls (borrowed; NULL: plain), with more options from o (may be
 * NULL). */
static void tserver_start(tserver *t, const rpc_codec *codec, rpc_tls *tls,
                          bool http, const rpc_server_options *o)
{
	rpc_server_options opts = o != NULL ? *o : (rpc_server_options){0};
	rpc_listener *lis;

	memset(t, 0, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
	opts.codec = codec;
	opts.log = tserver_log;
	opts.log_ud = t;
	ck_assert_ptr_null(rpc_server_new(&opts, &t->srv));
	ck_assert_ptr_null(interop_Arith_register(t->srv, &arith, NULL));
	ck_assert_ptr_null(interop_Echo_register(t->srv, &echo, NULL));
	rpc_error *err = tls != NULL
	                     ? rpc_listen_tls("tls:127.0.0.1:0", tls, &lis)
	                     : rpc_listen("tcp:127.0.0.1:0", &lis);
	ck_assert_msg(err == NULL, "listen: %s", rpc_error_message(err));
	ck_assert_ptr_null(sup_server_start_listener(&t->sv, t->srv, lis, http));
	t->lis = t->sv.lis;
}

static void tserver_stop(tserver *t)
{
	rpc_error_free(sup_server_stop(&t->sv));
	rpc_server_free(t->srv);
	pthread_mutex_destroy(&t->mu);
}

static rpc_tls *server_tls(const char *name, const char *ca, bool require)
{
	char c[64], k[64];
	rpc_tls *t;

	snprintf(c, sizeof c, "%s.pem", name);
	snprintf(k, sizeof k, "%s.key", name);
	rpc_tls_options o = {.cert_file = cert(0, c),
	                     .key_file = cert(1, k),
	                     .ca_file = ca != NULL ? cert(2, ca) : NULL,
	                     .require_client_cert = require};
	rpc_error *err = rpc_tls_server_new(&o, &t);
	ck_assert_msg(err == NULL, "server tls: %s", rpc_error_message(err));
	return t;
}

/* client_tls trusts ca.pem, and presents client.pem when with_cert. */
static rpc_tls *client_tls(bool with_cert, const char *server_name)
{
	rpc_tls *t;
	rpc_tls_options o = {.ca_file = cert(3, "ca.pem"),
	                     .cert_file =
	                         with_cert ? cert(4, "client.pem") : NULL,
	                     .key_file = with_cert ? cert(5, "client.key") : NULL,
	                     .server_name = server_name};
	rpc_error *err = rpc_tls_client_new(&o, &t);
	ck_assert_msg(err == NULL, "client tls: %s", rpc_error_message(err));
	return t;
}

/* tserver_start_cert is tserver_start over TLS with the certificate
 * name.pem (a server that asks for no client certificate). */
static void tserver_start_cert(tserver *t, const rpc_codec *codec,
                               const char *name, bool http,
                               const rpc_server_options *o)
{
	rpc_tls *st = server_tls(name, NULL, false);

	tserver_start(t, codec, st, http, o);
	rpc_tls_free(st); /* the listener keeps its own */
}

/* tls_dial dials t (over HTTP CONNECT when http) with codec, trusting
 * ca.pem and presenting no certificate. */
static rpc_client *tls_dial(tserver *t, const rpc_codec *codec, bool http)
{
	rpc_tls *ct = client_tls(false, NULL);
	rpc_client_options o = {.codec = codec, .tls = ct};
	rpc_client *c = NULL;
	rpc_error *err =
	    http ? rpc_dial_http(rpc_listener_address(t->lis), NULL, &o, &c)
	         : rpc_dial(rpc_listener_address(t->lis), &o, &c);

	ck_assert_msg(err == NULL, "dial %s: %s", rpc_listener_address(t->lis),
	              rpc_error_message(err));
	rpc_tls_free(ct); /* the client keeps its own */
	return c;
}

static void assert_add(rpc_client *c, int64_t a, int64_t b)
{
	interop_Args args = INTEROP_ARGS_INIT;
	interop_Reply reply = INTEROP_REPLY_INIT;

	args.A = a;
	args.B = b;
	rpc_error *err = interop_Arith_Add(c, &args, &reply);
	ck_assert_msg(err == NULL, "Add: %s", rpc_error_message(err));
	ck_assert_int_eq(reply.C, a + b);
}

/* ---- calls --------------------------------------------------------------- */

static const rpc_codec *const codecs[] = {&rpc_codec_protobuf, &rpc_codec_gob,
                                          &rpc_codec_json};

START_TEST(test_tls_calls)
{
	const rpc_codec *codec = codecs[_i];
	tserver t;
	rpc_client *c;
	rpc_tls_info info;

	tserver_start_cert(&t, codec, "server", false, NULL);
	ck_assert_str_eq(rpc_listener_address(t.lis),
	                 strstr(rpc_listener_address(t.lis), "tls:127.0.0.1:"));
	c = tls_dial(&t, codec, false);
	for (int i = 0; i < 50; i++)
		assert_add(c, i, 1000);
	pthread_mutex_lock(&seen_mu);
	ck_assert(seen.tls);
	ck_assert(!seen.verified);
	ck_assert_str_eq(seen_subject, "");
	pthread_mutex_unlock(&seen_mu);
	ck_assert(rpc_client_tls_info(c, &info));
	ck_assert(info.verified);
	ck_assert_msg(strstr(info.peer, "CN=server") != NULL, "peer %s",
	              info.peer);
	ck_assert_msg(strncmp(info.version, "TLSv1.", 6) == 0, "%s",
	              info.version);

	/* many calls in flight at once: the reader and the writers share
	 * the connection's TLS state */
	enum { N = 200 };
	rpc_done *d = rpc_done_new_queue();
	interop_Args args[N];
	interop_Reply replies[N];
	for (int i = 0; i < N; i++) {
		interop_Args_init(&args[i]);
		interop_Reply_init(&replies[i]);
		args[i].A = i;
		args[i].B = 7;
		ck_assert_ptr_null(interop_Arith_Mul_go(c, &args[i], &replies[i],
		                                        d, NULL));
	}
	for (int i = 0; i < N; i++) {
		rpc_call *call = rpc_done_wait(d, 10000);
		ck_assert_ptr_nonnull(call);
		ck_assert_ptr_null(rpc_call_error(call));
		rpc_call_free(call);
	}
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(replies[i].C, i * 7);
	rpc_done_free(d);
	rpc_client_free(c);
	tserver_stop(&t);
}
END_TEST

/* A 4 MiB message each way: many records, partial writes, reads that
 * leave decrypted bytes inside OpenSSL. */
START_TEST(test_tls_large)
{
	const rpc_codec *codec = codecs[_i];
	interop_Everything in = INTEROP_EVERYTHING_INIT;
	interop_Everything out = INTEROP_EVERYTHING_INIT;
	size_t len = slow_build() ? 256u << 10 : 4u << 20;
	tserver t;
	rpc_client *c;

	tserver_start_cert(&t, codec, "server", false, NULL);
	c = tls_dial(&t, codec, false);
	in.Blob.data = malloc(len);
	ck_assert_ptr_nonnull(in.Blob.data);
	in.Blob.len = len;
	for (size_t i = 0; i < len; i++)
		in.Blob.data[i] = (uint8_t)(i * 7 + (i >> 12));
	for (int round = 0; round < 2; round++) {
		rpc_error *err = interop_Echo_Echo(c, &in, &out);
		ck_assert_msg(err == NULL, "Echo: %s", rpc_error_message(err));
		ck_assert_uint_eq(out.Blob.len, len);
		ck_assert(memcmp(out.Blob.data, in.Blob.data, len) == 0);
		interop_Everything_free_contents(&out);
	}
	interop_Everything_free_contents(&in);
	rpc_client_free(c);
	tserver_stop(&t);
}
END_TEST

START_TEST(test_tls_http_connect)
{
	tserver t;
	rpc_client *c;

	tserver_start_cert(&t, &rpc_codec_gob, "server", true, NULL);
	c = tls_dial(&t, &rpc_codec_gob, true);
	for (int i = 0; i < 20; i++)
		assert_add(c, i, -5);
	rpc_client_free(c);
	tserver_stop(&t);
}
END_TEST

/* A balanced client dials each endpoint with the same configuration. */
START_TEST(test_tls_balanced)
{
	rpc_tls *st = server_tls("server", NULL, false);
	rpc_tls *ct = client_tls(false, NULL);
	tserver t[2];
	rpc_client *c;
	char addr[256];

	tserver_start(&t[0], &rpc_codec_protobuf, st, false, NULL);
	tserver_start(&t[1], &rpc_codec_protobuf, st, false, NULL);
	rpc_tls_free(st);
	snprintf(addr, sizeof addr, "list:%s,%s",
	         rpc_listener_address(t[0].lis) + 4,
	         rpc_listener_address(t[1].lis) + 4);
	rpc_client_options o = {.tls = ct};
	rpc_error *err = rpc_dial(addr, &o, &c);
	ck_assert_msg(err == NULL, "%s", rpc_error_message(err));
	rpc_tls_free(ct); /* the balancer keeps its own */
	for (int i = 0; i < 40; i++)
		assert_add(c, i, 2);
	ck_assert_uint_gt(rpc_server_num_calls(t[0].srv, "Arith.Add"), 0);
	ck_assert_uint_gt(rpc_server_num_calls(t[1].srv, "Arith.Add"), 0);
	rpc_client_free(c);
	tserver_stop(&t[0]);
	tserver_stop(&t[1]);
}
END_TEST

/* ---- identities ---------------------------------------------------------- */

static bool deny_mul(void *ud, const char *sm, const rpc_peer *peer)
{
	(void)ud;
	/* alice may add, nobody may multiply */
	if (strcmp(sm, "Arith.Mul") == 0)
		return false;
	return peer->verified && strstr(peer->subject, "CN=alice") != NULL;
}

START_TEST(test_tls_mutual)
{
	rpc_tls *st = server_tls("server", "ca.pem", true);
	rpc_tls *with = client_tls(true, NULL);
	rpc_tls *without = client_tls(false, NULL);
	rpc_server_options so = {.authorize = deny_mul};
	interop_Args args = INTEROP_ARGS_INIT;
	interop_Reply reply = INTEROP_REPLY_INIT;
	tserver t;
	rpc_client *c;
	rpc_error *err;

	tserver_start(&t, &rpc_codec_protobuf, st, false, &so);
	rpc_tls_free(st);

	rpc_client_options o = {.tls = with};
	ck_assert_ptr_null(rpc_dial(rpc_listener_address(t.lis), &o, &c));
	assert_add(c, 2, 3);
	pthread_mutex_lock(&seen_mu);
	ck_assert(seen.tls && seen.verified);
	ck_assert_msg(strstr(seen_subject, "CN=alice") != NULL, "subject %s",
	              seen_subject);
	ck_assert_str_eq(seen_sans, "DNS:alice.example");
	pthread_mutex_unlock(&seen_mu);
	/* refused by the hook: an error of its own, the connection lives */
	args.A = 6;
	args.B = 7;
	err = interop_Arith_Mul(c, &args, &reply);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SERVER);
	ck_assert_msg(strstr(rpc_error_message(err),
	                     "Arith.Mul: permission denied for") != NULL &&
	                  strstr(rpc_error_message(err), "CN=alice") != NULL,
	              "%s", rpc_error_message(err));
	rpc_error_free(err);
	ck_assert(tserver_logged(&t, "Arith.Mul: permission denied"));
	ck_assert_uint_eq(rpc_server_num_calls(t.srv, "Arith.Mul"), 0);
	assert_add(c, 4, 5);
	rpc_client_free(c);

	/* no certificate: refused in the handshake; with TLS 1.3 the client
	 * may learn it only at its first read */
	o.tls = without;
	err = rpc_dial(rpc_listener_address(t.lis), &o, &c);
	if (err == NULL) {
		err = interop_Arith_Add(c, &args, &reply);
		rpc_client_free(c);
	}
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(rpc_error_kind_of(err) == RPC_ERR_TLS ||
	                  rpc_error_kind_of(err) == RPC_ERR_UNEXPECTED_EOF,
	              "kind %s: %s",
	              rpc_error_kind_name(rpc_error_kind_of(err)),
	              rpc_error_message(err));
	rpc_error_free(err);
	ck_assert(tserver_logged(&t, "peer did not return a certificate"));

	rpc_tls_free(with);
	rpc_tls_free(without);
	tserver_stop(&t);
}
END_TEST

START_TEST(test_tls_resume)
{
	rpc_tls *ct = client_tls(false, NULL);
	rpc_tls_info info;
	tserver t;
	rpc_client *c;

	tserver_start_cert(&t, &rpc_codec_protobuf, "server", false, NULL);
	rpc_client_options o = {.tls = ct};
	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_null(
		    rpc_dial(rpc_listener_address(t.lis), &o, &c));
		assert_add(c, i, i); /* reads the session ticket too */
		ck_assert(rpc_client_tls_info(c, &info));
		ck_assert_msg(info.resumed == (i > 0), "dial %d resumed %d", i,
		              info.resumed);
		rpc_client_free(c);
	}
	rpc_tls_free(ct);
	/* no_resume: every dial a full handshake */
	rpc_tls_options no = {.ca_file = cert(3, "ca.pem"), .no_resume = true};
	ck_assert_ptr_null(rpc_tls_client_new(&no, &ct));
	o.tls = ct;
	for (int i = 0; i < 2; i++) {
		ck_assert_ptr_null(
		    rpc_dial(rpc_listener_address(t.lis), &o, &c));
		assert_add(c, i, i);
		ck_assert(rpc_client_tls_info(c, &info));
		ck_assert(!info.resumed);
		rpc_client_free(c);
	}
	rpc_tls_free(ct);
	tserver_stop(&t);
}
END_TEST

/* ---- failures, each with its own error ----------------------------------- */

/* dial_fails dials a server presenting name.pem with client options o and
 * returns the error (caller frees). */
static rpc_error *dial_fails(const char *name, rpc_tls *ct)
{
	rpc_client_options o = {.tls = ct};
	tserver t;
	rpc_client *c = NULL;
	rpc_error *err;

	tserver_start_cert(&t, &rpc_codec_protobuf, name, false, NULL);
	err = rpc_dial(rpc_listener_address(t.lis), &o, &c);
	if (err == NULL) {
		/* the server, at least, must still be fine */
		rpc_client_free(c);
	}
	/* the server logs the client's refusal and keeps serving */
	rpc_tls *good = client_tls(false, "localhost");
	rpc_tls_options skip = {.insecure_skip_verify = true};
	rpc_tls *any;
	ck_assert_ptr_null(rpc_tls_client_new(&skip, &any));
	o.tls = any;
	ck_assert_ptr_null(rpc_dial(rpc_listener_address(t.lis), &o, &c));
	assert_add(c, 1, 1);
	rpc_client_free(c);
	rpc_tls_free(any);
	rpc_tls_free(good);
	tserver_stop(&t);
	return err;
}

static void assert_tls_error(rpc_error *err, const char *want)
{
	ck_assert_msg(err != NULL, "no error; want '%s'", want);
	ck_assert_msg(rpc_error_kind_of(err) == RPC_ERR_TLS &&
	                  strstr(rpc_error_message(err), want) != NULL,
	              "got %s '%s', want tls '%s'",
	              rpc_error_kind_name(rpc_error_kind_of(err)),
	              rpc_error_message(err), want);
	rpc_error_free(err);
}

START_TEST(test_tls_untrusted)
{
	rpc_tls *ct = client_tls(false, NULL);
	assert_tls_error(dial_fails("untrusted", ct),
	                 "unable to get local issuer certificate");
	rpc_tls_free(ct);
}
END_TEST

START_TEST(test_tls_expired)
{
	rpc_tls *ct = client_tls(false, NULL);
	assert_tls_error(dial_fails("expired", ct), "certificate has expired");
	rpc_tls_free(ct);
}
END_TEST

START_TEST(test_tls_wrong_name)
{
	rpc_tls *ct = client_tls(false, NULL);
	assert_tls_error(dial_fails("wrongname", ct), "IP address mismatch");
	rpc_tls_free(ct);
	ct = client_tls(false, "localhost");
	assert_tls_error(dial_fails("wrongname", ct), "hostname mismatch");
	rpc_tls_free(ct);
	/* the name the certificate does carry */
	ct = client_tls(false, "other.example");
	ck_assert_ptr_null(dial_fails("wrongname", ct));
	rpc_tls_free(ct);
	/* and the server's usual one, by name instead of address */
	ct = client_tls(false, "localhost");
	ck_assert_ptr_null(dial_fails("server", ct));
	rpc_tls_free(ct);
}
END_TEST

START_TEST(test_tls_plain_client_on_tls_port)
{
	interop_Args args = INTEROP_ARGS_INIT;
	interop_Reply reply = INTEROP_REPLY_INIT;
	tserver t;
	rpc_client *c;
	char addr[128];

	tserver_start_cert(&t, &rpc_codec_gob, "server", false, NULL);
	snprintf(addr, sizeof addr, "tcp:%s", rpc_listener_address(t.lis) + 4);
	rpc_client_options o = {.codec = &rpc_codec_gob};
	ck_assert_ptr_null(rpc_dial(addr, &o, &c));
	rpc_error *err = interop_Arith_Add(c, &args, &reply);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(rpc_error_message(err), "TLS") != NULL,
	              "client error names TLS: %s", rpc_error_message(err));
	rpc_error_free(err);
	rpc_client_free(c);
	ck_assert(tserver_logged(
	    &t, "rpc: tls: client speaks plain gob, this listener speaks TLS"));
	tserver_stop(&t);
}
END_TEST

START_TEST(test_tls_client_on_plain_port)
{
	rpc_tls *ct = client_tls(false, NULL);
	tserver t;
	rpc_client *c = NULL;

	tserver_start(&t, &rpc_codec_protobuf, NULL, false, NULL);
	char addr[128];
	snprintf(addr, sizeof addr, "tls:%s", rpc_listener_address(t.lis) + 4);
	rpc_client_options o = {.tls = ct};
	rpc_error *err = rpc_dial(addr, &o, &c);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(rpc_error_kind_of(err) == RPC_ERR_TLS, "%s: %s",
	              rpc_error_kind_name(rpc_error_kind_of(err)),
	              rpc_error_message(err));
	rpc_error_free(err);
	ck_assert(tserver_logged(&t, "client sent a TLS ClientHello"));
	rpc_tls_free(ct);
	tserver_stop(&t);
}
END_TEST

/* A peer that sends the start of a ClientHello and stops is dropped by
 * frame_timeout, and a fresh client is served meanwhile. */
START_TEST(test_tls_handshake_stall)
{
	rpc_tls *ct = client_tls(false, NULL);
	rpc_server_options so = {.frame_timeout_ms = 300};
	struct sockaddr_in a = {.sin_family = AF_INET};
	static const uint8_t partial[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
	tserver t;
	rpc_client *c;
	char b;

	tserver_start_cert(&t, &rpc_codec_protobuf, "server", false, &so);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	a.sin_port = htons((uint16_t)rpc_listener_port(t.lis));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(send(fd, partial, sizeof partial, 0),
	                 (ssize_t)sizeof partial);
	rpc_client_options o = {.tls = ct};
	ck_assert_ptr_null(rpc_dial(rpc_listener_address(t.lis), &o, &c));
	assert_add(c, 1, 2);
	/* closed within generous slack of the 300 ms */
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_int_le(recv(fd, &b, 1, 0), 0);
	close(fd);
	ck_assert(tserver_logged(&t, "tls handshake not complete within 300 "
	                             "ms (frame_timeout)"));
	assert_add(c, 3, 4);
	rpc_client_free(c);
	rpc_tls_free(ct);
	tserver_stop(&t);
}
END_TEST

START_TEST(test_tls_config_errors)
{
	rpc_tls *t = NULL;
	rpc_tls_options o = {0};
	rpc_error *err;
	rpc_listener *l;

	err = rpc_tls_server_new(&o, &t);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_INVALID);
	rpc_error_free(err);
	o.cert_file = cert(0, "no-such.pem");
	err = rpc_tls_server_new(&o, &t);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_TLS);
	ck_assert_msg(strstr(rpc_error_message(err), "certificate") != NULL,
	              "%s", rpc_error_message(err));
	rpc_error_free(err);
	/* a key that is not the certificate's */
	o.cert_file = cert(0, "server.pem");
	o.key_file = cert(1, "client.key");
	err = rpc_tls_server_new(&o, &t);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_TLS);
	ck_assert_msg(strstr(rpc_error_message(err), "private key") != NULL,
	              "%s", rpc_error_message(err));
	rpc_error_free(err);
	o.key_file = cert(1, "server.key");
	o.require_client_cert = true;
	err = rpc_tls_server_new(&o, &t);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_INVALID);
	rpc_error_free(err);
	/* a TLS address needs a certificate */
	err = rpc_listen("tls:127.0.0.1:0", &l);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_INVALID);
	rpc_error_free(err);
	/* a client configuration cannot listen */
	o = (rpc_tls_options){0};
	ck_assert_ptr_null(rpc_tls_client_new(&o, &t));
	err = rpc_listen_tls("tls:127.0.0.1:0", t, &l);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_INVALID);
	rpc_error_free(err);
	rpc_tls_free(t);
}
END_TEST

/* http_exchange sends req to port on 127.0.0.1 and returns what comes
 * back until the server closes (at most cap - 1 bytes, NUL-terminated). */
static void http_exchange(int port, const char *req, char *out, size_t cap)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	size_t n = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	for (int i = 0; i < 100 && n + 1 < cap; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t k = recv(fd, out + n, cap - 1 - n, 0);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	out[n] = '\0';
	close(fd);
}

/* A browser or curl speaking plain HTTP to a TLS port gets a plain 400. */
START_TEST(test_tls_plain_http_on_tls_port)
{
	char out[1024];
	tserver t;

	tserver_start_cert(&t, &rpc_codec_gob, "server", true, NULL);
	http_exchange(rpc_listener_port(t.lis), "GET /debug/rpc HTTP/1.0\r\n\r\n",
	              out, sizeof out);
	ck_assert_msg(strncmp(out, "HTTP/1.0 400 Bad Request\r\n", 26) == 0 &&
	                  strstr(out, "an HTTP request to a TLS server") != NULL,
	              "answer: %s", out);
	ck_assert(tserver_logged(&t, "rpc: tls: client sent plain HTTP (GET "
	                             "/debug/rpc HTTP/1.0) to a TLS listener"));
	tserver_stop(&t);
}
END_TEST

static bool deny_anonymous(void *ud, const char *sm, const rpc_peer *peer)
{
	(void)ud;
	(void)sm;
	return peer->verified;
}

/* Without TLS every caller is unauthenticated; a refusal is counted on
 * the debug page (HTML column and JSON field). */
START_TEST(test_tls_authorize_plain)
{
	rpc_server_options so = {.authorize = deny_anonymous};
	interop_Args args = INTEROP_ARGS_INIT;
	interop_Reply reply = INTEROP_REPLY_INIT;
	rpc_client_options o = {.codec = &rpc_codec_gob};
	char out[8192];
	tserver t;
	rpc_client *c;

	tserver_start(&t, &rpc_codec_gob, NULL, true, &so);
	ck_assert_ptr_null(rpc_dial_http(rpc_listener_address(t.lis), NULL, &o,
	                                 &c));
	for (int i = 0; i < 2; i++) {
		rpc_error *err = interop_Arith_Add(c, &args, &reply);
		ck_assert_ptr_nonnull(err);
		ck_assert_str_eq(rpc_error_message(err),
		                 "rpc: Arith.Add: permission denied for an "
		                 "unauthenticated caller");
		rpc_error_free(err);
	}
	rpc_client_free(c);
	http_exchange(rpc_listener_port(t.lis),
	              "GET /debug/rpc?format=json HTTP/1.0\r\n\r\n", out,
	              sizeof out);
	ck_assert_msg(strstr(out, "\"name\":\"Add\"") != NULL &&
	                  strstr(out, "\"calls\":0,\"errors\":0,\"denied\":2") !=
	                      NULL,
	              "debug JSON: %s", out);
	http_exchange(rpc_listener_port(t.lis), "GET /debug/rpc HTTP/1.0\r\n\r\n",
	              out, sizeof out);
	ck_assert_msg(strstr(out, "<th align=center>Denied</th>") != NULL, "%s",
	              out);
	tserver_stop(&t);
}
END_TEST

/* ---- Go's crypto/tls ----------------------------------------------------- */

/* Go's client (tls.Dial + rpc.NewClient, jsonrpc.NewClient, HTTP CONNECT
 * over TLS, mutual TLS) against our TLS servers. */
START_TEST(test_tls_go_client)
{
	const char *gotls = sup_peer_path("GOTLS");
	if (gotls == NULL)
		return; /* counted as SKIP by main */
	rpc_tls *st = server_tls("server", NULL, false);
	rpc_tls *mt = server_tls("server", "ca.pem", true);
	tserver gob, json, http, mtls;
	char a[4][160], err[512];

	tserver_start(&gob, &rpc_codec_gob, st, false, NULL);
	tserver_start(&json, &rpc_codec_json, st, false, NULL);
	tserver_start(&http, &rpc_codec_gob, st, true, NULL);
	tserver_start(&mtls, &rpc_codec_gob, mt, false, NULL);
	rpc_tls_free(st);
	rpc_tls_free(mt);
	snprintf(a[0], sizeof a[0], "gob=%s", rpc_listener_address(gob.lis) + 4);
	snprintf(a[1], sizeof a[1], "json=%s",
	         rpc_listener_address(json.lis) + 4);
	snprintf(a[2], sizeof a[2], "http=%s",
	         rpc_listener_address(http.lis) + 4);
	snprintf(a[3], sizeof a[3], "mtls=%s",
	         rpc_listener_address(mtls.lis) + 4);
	const char *args[] = {"-dir", certdir, "client", a[0], a[1], a[2],
	                      a[3], NULL};
	char *out = sup_peer_run(gotls, args, NULL, 0, 120, NULL, err,
	                         sizeof err);
	ck_assert_msg(out != NULL, "Go client: %s", err);
	ck_assert_msg(strstr(out, "ok gob\nok json\nok http\nok mtls\n"
	                          "ok mtls-refused\n") != NULL,
	              "Go client said:\n%s", out);
	free(out);
	pthread_mutex_lock(&seen_mu);
	ck_assert_msg(strstr(seen_subject, "CN=alice") != NULL,
	              "last caller %s", seen_subject);
	pthread_mutex_unlock(&seen_mu);
	ck_assert(tserver_logged(&mtls, "peer did not return a certificate"));
	tserver_stop(&gob);
	tserver_stop(&json);
	tserver_stop(&http);
	tserver_stop(&mtls);
}
END_TEST

/* Our client against Go's tls.Listen + rpc.ServeConn / jsonrpc.ServeConn,
 * HTTP CONNECT over TLS and mutual TLS. */
START_TEST(test_tls_go_server)
{
	const char *gotls = sup_peer_path("GOTLS");
	if (gotls == NULL)
		return;
	static const char *const modes[] = {"gob", "json", "http", "mtls"};
	for (int m = 0; m < 4; m++) {
		const char *args[] = {"-dir", certdir, "server", modes[m], NULL};
		sup_peer p;
		rpc_tls *ct = client_tls(m == 3, NULL);
		rpc_client_options o = {
		    .codec = m == 1 ? &rpc_codec_json : &rpc_codec_gob,
		    .tls = ct};
		rpc_client *c;
		char addr[128];
		rpc_error *err;

		ck_assert_msg(sup_peer_start(&p, gotls, args), "Go server %s",
		              modes[m]);
		snprintf(addr, sizeof addr, "tls:%s", p.addr + 4);
		err = m == 2 ? rpc_dial_http(addr, NULL, &o, &c)
		             : rpc_dial(addr, &o, &c);
		ck_assert_msg(err == NULL, "%s: %s", modes[m],
		              rpc_error_message(err));
		for (int i = 0; i < 10; i++)
			assert_add(c, i, 40);
		rpc_client_free(c);
		rpc_tls_free(ct);
		if (m == 3) {
			/* without a certificate Go refuses us */
			ct = client_tls(false, NULL);
			o.tls = ct;
			interop_Args args2 = INTEROP_ARGS_INIT;
			interop_Reply reply = INTEROP_REPLY_INIT;
			err = rpc_dial(addr, &o, &c);
			if (err == NULL) {
				err = interop_Arith_Add(c, &args2, &reply);
				rpc_client_free(c);
			}
			ck_assert_ptr_nonnull(err);
			ck_assert_msg(rpc_error_kind_of(err) == RPC_ERR_TLS ||
			                  rpc_error_kind_of(err) ==
			                      RPC_ERR_UNEXPECTED_EOF,
			              "%s", rpc_error_message(err));
			rpc_error_free(err);
			rpc_tls_free(ct);
		}
		ck_assert(sup_peer_stop(&p));
	}
}
END_TEST

/* ---- TLS on a connection the caller made (socketpair) -------------------- */

typedef struct fd_server {
	rpc_server *srv;
	rpc_tls *tls;
	int fd;
	rpc_error *err; /* what rpc_server_serve_tls returned */
} fd_server;

static void *fd_server_main(void *arg)
{
	fd_server *f = arg;

	f->err = rpc_server_serve_tls(f->srv, f->fd, f->tls, NULL);
	return NULL;
}

START_TEST(test_tls_serve_fd)
{
	fd_server f = {.tls = server_tls("server", NULL, false)};
	pthread_t th;
	int sv[2];
	rpc_client *c;
	rpc_tls_info info;

	ck_assert_ptr_null(rpc_server_new(NULL, &f.srv));
	ck_assert_ptr_null(interop_Arith_register(f.srv, &arith, NULL));

	/* calls on a socketpair: rpc_server_serve_tls and
	 * rpc_client_new_fd with a configuration naming the server */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f.fd = sv[0];
	ck_assert_int_eq(pthread_create(&th, NULL, fd_server_main, &f), 0);
	rpc_tls *ct = client_tls(false, "localhost");
	rpc_client_options o = {.tls = ct};
	rpc_error *err = rpc_client_new_fd(sv[1], &o, &c);
	ck_assert_msg(err == NULL, "new_fd: %s", rpc_error_message(err));
	assert_add(c, 20, 22);
	ck_assert(rpc_client_tls_info(c, &info));
	ck_assert_msg(strncmp(info.version, "TLS", 3) == 0, "version %s",
	              info.version);
	rpc_client_free(c); /* hangs up: the server's call returns */
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	rpc_error_free(f.err);
	rpc_tls_free(ct);

	/* no name to verify the server by: refused before a byte is sent;
	 * the fd stays the caller's */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ct = client_tls(false, NULL);
	o.tls = ct;
	err = rpc_client_new_fd(sv[1], &o, &c);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_INVALID);
	ck_assert_msg(strstr(rpc_error_message(err), "server_name") != NULL,
	              "%s", rpc_error_message(err));
	rpc_error_free(err);
	rpc_tls_free(ct);
	ck_assert_int_eq(close(sv[1]), 0);

	/* a client configuration cannot serve; the fd is closed anyway */
	ct = client_tls(false, NULL);
	err = rpc_server_serve_tls(f.srv, sv[0], ct, NULL);
	rpc_tls_free(ct);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_INVALID);
	ck_assert_msg(strstr(rpc_error_message(err), "rpc_tls_server_new") !=
	                  NULL,
	              "%s", rpc_error_message(err));
	rpc_error_free(err);
	errno = 0;
	ck_assert_int_eq(fcntl(sv[0], F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);

	rpc_server_free(f.srv);
	rpc_tls_free(f.tls);
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("calls");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_tls_calls, 0, 3);
	tcase_add_loop_test(tc, test_tls_large, 0, 3);
	tcase_add_test(tc, test_tls_http_connect);
	tcase_add_test(tc, test_tls_resume);
	tcase_add_test(tc, test_tls_balanced);
	tcase_add_test(tc, test_tls_serve_fd);
	suite_add_tcase(s, tc);

	tc = tcase_create("identity");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_tls_mutual);
	tcase_add_test(tc, test_tls_authorize_plain);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_tls_untrusted);
	tcase_add_test(tc, test_tls_expired);
	tcase_add_test(tc, test_tls_wrong_name);
	tcase_add_test(tc, test_tls_plain_client_on_tls_port);
	tcase_add_test(tc, test_tls_plain_http_on_tls_port);
	tcase_add_test(tc, test_tls_client_on_plain_port);
	tcase_add_test(tc, test_tls_handshake_stall);
	tcase_add_test(tc, test_tls_config_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("go");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_tls_go_client);
	tcase_add_test(tc, test_tls_go_server);
	suite_add_tcase(s, tc);
	return s;
}

static void rm_certdir(void)
{
	DIR *d = opendir(certdir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char p[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", certdir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(certdir);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	int failed;

	snprintf(certdir, sizeof certdir, "%s/rpc-tls-XXXXXX",
	         tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(certdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (!certs_make(certdir)) {
		rm_certdir();
		return 1;
	}
	SRunner *sr = srunner_create(tls_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rm_certdir();
	if (failed == 0 && sup_peer_path("GOTLS") == NULL) {
		printf("SKIP: Go's side of the TLS tests (no GOTLS); the rest "
		       "passed\n");
		return 77;
	}
	return failed == 0 ? 0 : 1;
}
