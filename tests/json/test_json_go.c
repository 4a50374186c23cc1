/* test_json_go.c - the JSON codec against Go's own net/rpc/jsonrpc.
 *
 * gofixture.go (built with `go build` at build time) runs the real Go
 * codecs. Two checks:
 *   vectors: Go's bytes for fixture values equal ours byte for byte, and we
 *            decode Go's bytes back to values that re-encode to the same
 *            bytes;
 *   decode:  a table of inputs (our own encodings and hand-written edge
 *            cases) goes through both implementations, and what each
 *            understood (the value re-encoded, or the error text) must be
 *            identical, line for line.
 * Without Go (JSON_GOFIXTURE unset) the program exits 77: meson's "skip".
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "jbuiltin.rpc.h"
#include "sup_peer.h"
#include "sup_server.h"

/* run_go2 runs the fixture program with arguments arg [arg2], input on
 * its stdin, and returns its stdout (malloc'd). Fails on a bad exit or
 * after 60 seconds. */
static char *run_go2(const char *arg, const char *arg2, const char *input)
{
	const char *prog = sup_peer_path("JSON_GOFIXTURE");
	const char *args[] = {arg, arg2, NULL};
	char err[256];
	char *out;

	ck_assert_ptr_nonnull(prog);
	out = sup_peer_run(prog, args, input, strlen(input), 60, NULL, err,
	                   sizeof err);
	ck_assert_msg(out != NULL, "gofixture %s: %s", arg, err);
	return out;
}

static char *run_go(const char *arg, const char *input)
{
	return run_go2(arg, NULL, input);
}

/* assert_same compares two texts and, on a mismatch, shows both and the
 * first differing byte. */
static void assert_same(const char *what, const char *go, const char *ours)
{
	size_t i = 0;

	if (strcmp(go, ours) == 0)
		return;
	while (go[i] == ours[i])
		i++;
	ck_abort_msg("%s differs at byte %zu (go 0x%02x, ours 0x%02x)\n"
	             "go:   %s\nours: %s",
	             what, i, (unsigned char)go[i], (unsigned char)ours[i], go,
	             ours);
}

/* ---- vectors ---------------------------------------------------------- */

typedef struct vector {
	const char *name;
	const char *request;  /* responses: the request Go's server read */
	const char *method;   /* requests */
	uint64_t seq;         /* requests */
	const char *error;    /* responses */
	const rpc_type *type;
} vector;

static const vector vectors[] = {
	{"req_args", NULL, "Arith.Multiply", 7, NULL, &type_args},
	{"req_full", NULL, "Svc.Full", 1, NULL, &type_every},
	{"req_zero", NULL, "Svc.Zero", 2, NULL, &type_every},
	{"req_int64", NULL, "Arith.Square", 3, NULL, &type_int64},
	{"req_string", NULL, "Echo.String", 4, NULL, &type_string},
	{"req_list", NULL, "Svc.List", 5, NULL, &type_list},
	{"req_map", NULL, "Svc.Map", 6, NULL, &type_map},
	{"req_bytes", NULL, "Svc.Bytes", 8, NULL, &type_bytes},
	{"req_uint64", NULL, "Svc.U", UINT64_MAX, NULL, &type_uint64},
	{"resp_full_strid", "{\"method\":\"Svc.Full\",\"params\":[null],\"id\":\"abc\"}",
	 NULL, 0, NULL, &type_every},
	{"resp_err_objid",
	 "{\"method\":\"X.Y\",\"params\":[],\"id\": { \"a\" : [1, 2.50, \"<&>\"] } }",
	 NULL, 0, "rpc: can't find service X.Y <&>", NULL},
	{"resp_int64_bigid",
	 "{\"method\":\"A.B\",\"params\":[1],\"id\":12345678901234567890123}", NULL,
	 0, NULL, &type_int64},
	{"resp_noid", "{\"method\":\"A.B\",\"params\":[1]}", NULL, 0, NULL,
	 &type_string},
	{"resp_nullid", "{\"method\":\"A.B\",\"params\":[1],\"id\":null}", NULL, 0,
	 NULL, &type_bool},
	{"resp_list", "{\"id\":1}", NULL, 0, NULL, &type_list},
	{"resp_double", "{\"id\":2}", NULL, 0, NULL, &type_double},
	{"resp_opt_set", "{\"id\":3}", NULL, 0, NULL, &type_opt},
	{"resp_opt_unset", "{\"id\":4}", NULL, 0, NULL, &type_opt},
};

#define N_VECTORS (sizeof vectors / sizeof vectors[0])

/* build fills m (of v->type, initialised) with the vector's value. */
static void build(const vector *v, ProtobufCMessage *m)
{
	const char *n = v->name;

	if (strcmp(n, "req_args") == 0) {
		((Jt__Args *)m)->a = 7;
		((Jt__Args *)m)->b = 8;
	} else if (strcmp(n, "req_full") == 0 ||
	           strcmp(n, "resp_full_strid") == 0) {
		full_everything((Jt__Everything *)m);
	} else if (strcmp(n, "req_int64") == 0) {
		((Jt__Int64Value *)m)->value = -5;
	} else if (strcmp(n, "resp_int64_bigid") == 0) {
		((Jt__Int64Value *)m)->value = 42;
	} else if (strcmp(n, "req_string") == 0) {
		((Jt__StringValue *)m)->value = xstrdup("a<b>");
	} else if (strcmp(n, "resp_noid") == 0) {
		((Jt__StringValue *)m)->value = xstrdup("ok");
	} else if (strcmp(n, "req_list") == 0 || strcmp(n, "resp_list") == 0) {
		Jt__ArgsList *l = (Jt__ArgsList *)m;
		bool req = n[2] == 'q';

		l->n_value = 1;
		l->value = calloc(1, sizeof *l->value);
		ck_assert_ptr_nonnull(l->value);
		l->value[0] = req ? new_args(1, 2) : new_args(5, 6);
	} else if (strcmp(n, "req_map") == 0) {
		Jt__CountsMap *c = (Jt__CountsMap *)m;
		int i;

		c->n_value = 2;
		c->value = calloc(2, sizeof *c->value);
		ck_assert_ptr_nonnull(c->value);
		for (i = 0; i < 2; i++) {
			c->value[i] = (Jt__CountsMap__ValueEntry *)rpci_message_new(
				&jt__counts_map__value_entry__descriptor);
			ck_assert_ptr_nonnull(c->value[i]);
			c->value[i]->key = xstrdup(i == 0 ? "z" : "a");
			c->value[i]->value = i == 0 ? 1 : 2;
		}
	} else if (strcmp(n, "req_bytes") == 0) {
		((Jt__BytesValue *)m)->value.len = 2;
		((Jt__BytesValue *)m)->value.data = xmemdup("hi", 2);
	} else if (strcmp(n, "req_uint64") == 0) {
		((Jt__Uint64Value *)m)->value = UINT64_MAX;
	} else if (strcmp(n, "resp_nullid") == 0) {
		((Jt__BoolValue *)m)->value = 1;
	} else if (strcmp(n, "resp_double") == 0) {
		((Jt__DoubleValue *)m)->value = 1e21;
	} else if (strcmp(n, "resp_opt_set") == 0) {
		Jt2__Opt *o = (Jt2__Opt *)m;

		o->has_maybe = 1;
		o->maybe = 7;
		o->s = xstrdup("s<");
		o->has_u = 1;
		o->u = UINT64_MAX;
		o->r = 1;
		o->has_b = 1; /* set, and empty */
	} else if (strcmp(n, "resp_opt_unset") == 0) {
		((Jt2__Opt *)m)->r = 2;
	}
}

/* ours encodes vector v with our codec. */
static char *ours(const vector *v)
{
	session s;
	ProtobufCMessage *m = NULL;
	char *out;

	if (v->type != NULL) {
		m = rpci_message_new(v->type->desc);
		ck_assert_ptr_nonnull(m);
		build(v, m);
	}
	session_open(&s, v->request != NULL, 0);
	if (v->request == NULL) {
		out = write_ok(&s, v->method, v->seq, NULL, v->type, m);
	} else {
		rpci_msg msg;

		read_ok(&s, v->request, &msg);
		out = write_ok(&s, NULL, msg.seq, v->error, v->type, m);
		rpc_codec_json.msg_clear(s.state, &msg);
	}
	session_close(&s);
	rpci_message_free(m);
	return out;
}

/* go_vector finds name's line in Go's output; returns it with its
 * newline (malloc'd). */
static char *go_vector(const char *all, const char *name)
{
	size_t n = strlen(name);
	const char *p = all, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		if (strncmp(p, name, n) == 0 && p[n] == '\t') {
			char *line = strndup(p + n + 1, (size_t)(nl - p - n));

			ck_assert_ptr_nonnull(line);
			return line;
		}
		p = nl + 1;
	}
	ck_abort_msg("gofixture printed no vector %s", name);
	return NULL;
}

START_TEST(test_go_vectors_encode_identically)
{
	char *all = run_go("vectors", "");
	size_t i;

	for (i = 0; i < N_VECTORS; i++) {
		char *go = go_vector(all, vectors[i].name);
		char *mine = ours(&vectors[i]);

		assert_same(vectors[i].name, go, mine);
		free(go);
		free(mine);
	}
	free(all);
}
END_TEST

/* Our decoder reads Go's bytes back to the same value: decoding then
 * re-encoding gives Go's bytes again. */
START_TEST(test_go_vectors_decode_to_same_values)
{
	char *all = run_go("vectors", "");
	size_t i;

	for (i = 0; i < N_VECTORS; i++) {
		const vector *v = &vectors[i];
		char *go = go_vector(all, v->name), *again = NULL;
		session s, r;
		rpci_msg msg;
		ProtobufCMessage *m = NULL;

		if (v->type != NULL) {
			m = rpci_message_new(v->type->desc);
			ck_assert_ptr_nonnull(m);
		}
		if (v->request == NULL) {
			/* a request: read it as a server, write it as a client */
			session_open(&s, true, 0);
			read_ok(&s, go, &msg);
			ck_assert_str_eq(msg.service_method, v->method);
			ck_assert_ptr_null(rpc_codec_json.read_body(s.state, &msg,
			                                            v->type, m));
			session_open(&r, false, 0);
			again = write_ok(&r, v->method, v->seq, NULL, v->type, m);
		} else if (strstr(go, "{\"id\":") == go && go[6] >= '0' &&
		           go[6] <= '4' && go[7] == ',') {
			/* a response with a small number id: read it as a
			 * client, answer the same id as a server */
			char req[32];
			rpci_msg rq;

			session_open(&s, false, 0);
			read_ok(&s, go, &msg);
			ck_assert_ptr_null(msg.error);
			ck_assert_ptr_null(rpc_codec_json.read_body(s.state, &msg,
			                                            v->type, m));
			session_open(&r, true, 0);
			snprintf(req, sizeof req, "{\"id\":%llu}",
			         (unsigned long long)msg.seq);
			read_ok(&r, req, &rq);
			again = write_ok(&r, NULL, rq.seq, NULL, v->type, m);
			rpc_codec_json.msg_clear(r.state, &rq);
		} else {
			rpci_message_free(m);
			free(go);
			continue; /* ids our client cannot take: see decode */
		}
		assert_same(v->name, go, again);
		rpc_codec_json.msg_clear(s.state, &msg);
		session_close(&s);
		session_close(&r);
		rpci_message_free(m);
		free(again);
		free(go);
	}
	free(all);
}
END_TEST

/* ---- both decoders on one table ------------------------------------------ */

typedef struct dcase {
	const char *dir;  /* "req" or "resp" */
	const char *type; /* a gofixture type name */
	const char *json; /* one line */
} dcase;

static const dcase dcases[] = {
	/* keys: exact, case-insensitive, last wins, unknown ignored, nulls */
	{"req", "Args", "{\"method\":\"Arith.Multiply\",\"params\":[{\"a\":1,\"B\":2}],\"id\":1}"},
	{"req", "Args", "{\"METHOD\":\"A.B\",\"Params\":[{\"A\":1,\"a\":2}],\"ID\":1}"},
	{"req", "Args", "{\"method\":\"A.B\",\"params\":[{\"A\":1,\"zz\":[1,{\"x\":null}],\"B\":null}],\"id\":1}"},
	{"req", "Args", " {\"method\" : \"A.B\" , \"params\" : [ { \"A\" : -7 } , 5 ] , \"id\" : [1] } "},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Inner\":null,\"Nums\":[1,null,3],\"Names\":[null,\"a\"],\"Items\":[null]}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"paramſ\":[{\"\u017f32\":5,\"\u212aINDS\":[1],\"ſ64\":6,\"\u212a\":1,\"Kind\u212a\":2}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"lower\":\"x\",\"LOWER\":\"y\",\"ul\":18446744073709551615,\"Ds\":[1E2,-0.0,2.5e-3],\"Fs\":[0.1,3.4028234e38]}],\"id\":1}"},
	/* strings: escapes, surrogates, invalid UTF-8, HTML characters */
	{"req", "string", "{\"method\":\"A.B\",\"params\":[\"\\ud83d\\ude00 \\ud800 x \\u00e9 \\/ \\b\\f <&> \xff\xc3 \xe2\x80\xa9\"],\"id\":1}"},
	{"req", "bytes", "{\"method\":\"A.B\",\"params\":[\"AAEC/f7/YQ==\"],\"id\":1}"},
	{"req", "bytes", "{\"method\":\"A.B\",\"params\":[\"AAEC\\r\\n/f7/\"],\"id\":1}"},
	/* numbers that do not fit, or are not numbers */
	{"req", "Args", "{\"method\":\"A.B\",\"params\":[{\"A\":\"1\"}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"I\":3000000000}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"I\":-2147483649}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"I\":1.5}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"U\":-1}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"UL\":18446744073709551616}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"L\":-9223372036854775809}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"L\":1e3}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"F\":1e39}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"D\":1e400}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Flag\":1}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Name\":5}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Kind\":\"MUL\"}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Inner\":{\"A\":\"x\"}}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Inner\":[]}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Items\":[{\"A\":1},{\"B\":\"x\"}]}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Items\":{}}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Nums\":[\"x\"]}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Counts\":{\"a\":\"x\"}}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Counts\":[]}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"ByNum\":{\"x\":\"s\"}}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"ByU\":{\"-1\":{}}}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"ByNum\":{\"x\":{}}}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Blob\":\"!!!!\"}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Blob\":\"AQ=\"}],\"id\":1}"},
	{"req", "Everything", "{\"method\":\"A.B\",\"params\":[{\"Blob\":5}],\"id\":1}"},
	{"req", "int64", "{\"method\":\"A.B\",\"params\":[\"5\"],\"id\":1}"},
	{"req", "int64", "{\"method\":\"A.B\",\"params\":[18446744073709551615],\"id\":1}"},
	{"req", "uint64", "{\"method\":\"A.B\",\"params\":[18446744073709551615],\"id\":1}"},
	{"req", "Args", "{\"method\":\"A.B\",\"params\":[\"x\"],\"id\":1}"},
	{"req", "list", "{\"method\":\"A.B\",\"params\":[{}],\"id\":1}"},
	/* the envelope */
	{"req", "Args", "{\"method\":\"A.B\",\"params\":{\"A\":1},\"id\":1}"},
	{"req", "Args", "{\"method\":\"A.B\",\"params\":[],\"id\":1}"},
	{"req", "Args", "{\"method\":\"A.B\",\"id\":1}"},
	{"req", "Args", "{\"method\":\"A.B\",\"params\":null,\"id\":1}"},
	{"req", "Args", "{\"method\":5,\"params\":[],\"id\":1}"},
	{"req", "Args", "[1]"},
	{"req", "Args", "\"x\""},
	{"req", "Args", "null"},
	/* syntax */
	{"req", "Args", "{\"method\":\"A.B\",]"},
	{"req", "Args", "x"},
	{"req", "Args", "{\"a\" 1}"},
	{"req", "Args", "{\"a\":1 \"b\"}"},
	{"req", "Args", "{\"a\":[1 2]}"},
	{"req", "Args", "{\"a\":\"\\q\"}"},
	{"req", "Args", "{\"a\":\"\\u12x4\"}"},
	{"req", "Args", "{\"a\":tru!}"},
	{"req", "Args", "{\"a\":-x}"},
	{"req", "Args", "{\"a\":1.x}"},
	{"req", "Args", "{\"a\":1ex}"},
	{"req", "Args", "{\"a\":01}"},
	{"req", "Args", "{\"a\":\"x\x01\"}"},
	{"req", "Args", "{\"a\":\"x\x07\"}"},
	{"req", "Args", "{\"a\":\"x\x0b\"}"},
	{"req", "Args", "\\"},
	{"req", "Args", "'"},
	{"req", "Args", "\x7f"},
	{"req", "Args", "\xff"},
	{"req", "Args", "\x80"},
	{"req", "Args", "\xa0"},
	{"req", "Args", "\xad"},
	{"req", "Args", "\xe9"},
	{"req", "Args", "{\"method\":\"A.B\""},
	{"req", "Args", "   "},
	/* responses */
	{"resp", "Args", "{\"id\":1,\"result\":{\"A\":5},\"error\":null}"},
	{"resp", "Args", "{\"Id\":2,\"RESULT\":{\"b\":7}}"},
	{"resp", "Args", "{\"id\":1,\"result\":null,\"error\":\"boom\"}"},
	{"resp", "Args", "{\"id\":1,\"result\":{\"A\":1},\"error\":\"x\"}"},
	{"resp", "Args", "{\"id\":1,\"result\":null,\"error\":null}"},
	{"resp", "Args", "{\"id\":1}"},
	{"resp", "Args", "{\"id\":1,\"error\":\"\"}"},
	{"resp", "Args", "{\"id\":1,\"result\":5,\"error\":5}"},
	{"resp", "Args", "{\"id\":1,\"result\":5,\"error\":true}"},
	{"resp", "Args", "{\"id\":\"x\",\"result\":1}"},
	{"resp", "Args", "{\"id\":-1,\"result\":1}"},
	{"resp", "Args", "{\"id\":1.0,\"result\":1}"},
	{"resp", "Args", "{\"id\":12345678901234567890123,\"result\":1}"},
	{"resp", "uint64", "{\"id\":18446744073709551615,\"result\":18446744073709551615,\"error\":null}"},
	{"resp", "int64", "{\"id\":1,\"result\":18446744073709551615,\"error\":null}"},
	{"resp", "Opt", "{\"id\":1,\"result\":{\"Maybe\":null,\"S\":\"\",\"U\":0,\"R\":3}}"},
	{"resp", "Opt", "{\"id\":1,\"result\":{\"Maybe\":2147483648}}"},
	{"resp", "Opt", "{\"id\":1,\"result\":{\"B\":\"\",\"R\":1}}"},
	{"resp", "Opt", "{\"id\":1,\"result\":{\"B\":null,\"R\":1}}"},
	{"resp", "Opt", "{\"id\":1,\"result\":{\"B\":\"aGk=\",\"R\":1}}"},
	{"resp", "map", "{\"id\":1,\"result\":{\"b\":1,\"a\":2,\"\\u003c\":3}}"},
	{"resp", "double", "{\"id\":1,\"result\":1e-320}"},
	{"resp", "Args", "{\"id\":1,\"result\":{\"A\":1}"},
};

#define N_DCASES (sizeof dcases / sizeof dcases[0])

static const rpc_type *type_named(const char *name)
{
	static const struct {
		const char *name;
		const rpc_type *t;
	} types[] = {
		{"Args", &type_args},     {"Everything", &type_every},
		{"Opt", &type_opt},       {"int64", &type_int64},
		{"uint64", &type_uint64}, {"string", &type_string},
		{"bytes", &type_bytes},   {"bool", &type_bool},
		{"double", &type_double}, {"list", &type_list},
		{"map", &type_map},
	};
	size_t i;

	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(types[i].name, name) == 0)
			return types[i].t;
	ck_abort_msg("no type %s", name);
	return NULL;
}

/* encode_value writes m as Go's json.Marshal would: our request's params
 * element, cut out of the envelope. */
static char *encode_value(const rpc_type *t, const ProtobufCMessage *m)
{
	static const char head[] = "{\"method\":\"\",\"params\":[";
	static const char tail[] = "],\"id\":0}\n";
	session c;
	char *req, *v;
	size_t n;

	session_open(&c, false, 0);
	req = write_ok(&c, "", 0, NULL, t, m);
	session_close(&c);
	n = strlen(req);
	ck_assert(strncmp(req, head, strlen(head)) == 0);
	ck_assert_str_eq(req + n - strlen(tail), tail);
	v = strndup(req + strlen(head), n - strlen(head) - strlen(tail));
	ck_assert_ptr_nonnull(v);
	free(req);
	return v;
}

/* enc_request_line is our request for m (malloc'd, newline-terminated). */
static char *enc_request_line(const rpc_type *t, const ProtobufCMessage *m)
{
	session c;
	char *req;

	session_open(&c, false, 0);
	req = write_ok(&c, "A.B", 1, NULL, t, m);
	session_close(&c);
	return req;
}

/* understood says what our codec made of one case, in gofixture's words. */
static void understood(const dcase *dc, rpci_buf *out)
{
	const rpc_type *t = type_named(dc->type);
	bool server = strcmp(dc->dir, "req") == 0;
	ProtobufCMessage *m = rpci_message_new(t->desc);
	session s;
	rpci_msg msg;
	rpc_error *err = NULL;
	rpci_read_status st;
	char *line = NULL;
	const char *p;

	ck_assert_ptr_nonnull(m);
	session_open(&s, server, 0);
	st = session_read(&s, dc->json, &msg, &err);
	if (st == RPCI_READ_AGAIN) {
		/* the input ended: Go says EOF, or unexpected EOF mid-value */
		for (p = dc->json; *p != '\0' && strchr(" \t\r\n", *p); p++)
			;
		ck_assert(asprintf(&line, "err %s\n",
		         *p == '\0' ? "EOF" : "unexpected EOF") >= 0);
	} else if (st == RPCI_READ_ERROR) {
		ck_assert(asprintf(&line, "err %s\n", rpc_error_message(err)) >= 0);
		rpc_error_free(err);
	} else if (!server && msg.error != NULL) {
		ck_assert(asprintf(&line, "rerr %llu %s\n",
		         (unsigned long long)msg.seq, msg.error) >= 0);
	} else if ((err = rpc_codec_json.read_body(s.state, &msg, t, m)) !=
	           NULL) {
		ck_assert(asprintf(&line, "bodyerr %s\n",
		         rpc_error_message(err)) >= 0);
		rpc_error_free(err);
	} else {
		char *v = encode_value(t, m);

		if (server)
			ck_assert(asprintf(&line, "ok %s %s\n",
			         msg.service_method, v) >= 0);
		else
			ck_assert(asprintf(&line, "ok %llu %s\n",
			         (unsigned long long)msg.seq, v) >= 0);
		free(v);
	}
	if (st == RPCI_READ_OK)
		rpc_codec_json.msg_clear(s.state, &msg);
	session_close(&s);
	rpci_message_free(m);
	ck_assert(rpci_buf_append(out, line, strlen(line)));
	free(line);
}

/* compare_lines_named compares two outputs line by line. */
static void compare_lines_named(const char *what, const char *go,
                                const char *mine)
{
	const char *g = go, *o = mine;
	int n = 1;

	while (*g != '\0' || *o != '\0') {
		const char *ge = strchr(g, '\n'), *oe = strchr(o, '\n');
		char *gl, *ol;

		ck_assert_msg(ge != NULL && oe != NULL,
		              "%s: answers end early at line %d", what, n);
		gl = strndup(g, (size_t)(ge - g));
		ol = strndup(o, (size_t)(oe - o));
		ck_assert_msg(strcmp(gl, ol) == 0, "%s line %d\ngo:   %s\nours: %s",
		              what, n, gl, ol);
		free(gl);
		free(ol);
		g = ge + 1;
		o = oe + 1;
		n++;
	}
}

/* compare_lines runs input through gofixture decode and compares its
 * answers with ours, line by line. */
static void compare_lines(const char *input, const char *mine)
{
	char *go = run_go("decode", input);
	const char *g = go, *o = mine, *in = input;
	int n = 1;

	while (*g != '\0' || *o != '\0') {
		const char *ge = strchr(g, '\n'), *oe = strchr(o, '\n');
		const char *ie = strchr(in, '\n');
		char *gl, *ol;

		ck_assert_msg(ge != NULL && oe != NULL && ie != NULL,
		              "answers end early at line %d", n);
		gl = strndup(g, (size_t)(ge - g));
		ol = strndup(o, (size_t)(oe - o));
		ck_assert_msg(strcmp(gl, ol) == 0,
		              "line %d: %.*s\ngo:   %s\nours: %s", n,
		              (int)(ie - in), in, gl, ol);
		free(gl);
		free(ol);
		g = ge + 1;
		o = oe + 1;
		in = ie + 1;
		n++;
	}
	free(go);
}

START_TEST(test_go_decoder_and_ours_agree_on_edge_cases)
{
	rpci_buf input = {0}, mine = {0};
	size_t i;

	for (i = 0; i < N_DCASES; i++) {
		const char *parts[] = {dcases[i].dir, " ", dcases[i].type, " ",
		                       dcases[i].json, "\n"};
		size_t k;

		for (k = 0; k < 6; k++)
			ck_assert(rpci_buf_append(&input, parts[k],
			                          strlen(parts[k])));
		understood(&dcases[i], &mine);
	}
	ck_assert(rpci_buf_append(&input, "", 1));
	ck_assert(rpci_buf_append(&mine, "", 1));
	compare_lines((char *)input.data, (char *)mine.data);
	rpci_buf_fini(&input);
	rpci_buf_fini(&mine);
}
END_TEST

/* Random float64 and float32 bit patterns: Go reads our numbers back to
 * the same values and writes them exactly as we did (its shortest form). */
START_TEST(test_go_agrees_on_random_floats)
{
	Jt__Everything e = JT__EVERYTHING__INIT;
	rpci_buf input = {0}, mine = {0};
	uint64_t x = 0x9E3779B97F4A7C15u;
	size_t n = 2000;
	dcase dc;
	char *enc, *nl;

	e.ds = calloc(n, sizeof *e.ds);
	e.fs = calloc(n, sizeof *e.fs);
	ck_assert(e.ds != NULL && e.fs != NULL);
	while (e.n_ds < n) {
		double d;
		float f;
		uint32_t b32;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(&d, &x, sizeof d);
		b32 = (uint32_t)(x >> 32);
		memcpy(&f, &b32, sizeof f);
		if (e.n_ds % 4 == 3) /* also values of everyday size */
			d = (double)(x % 100000000) / 1000.0;
		if (isfinite(d) && isfinite(f)) {
			e.ds[e.n_ds++] = d;
			e.fs[e.n_fs++] = f;
		}
	}
	enc = enc_request_line(&type_every, &e.base);
	nl = strchr(enc, '\n');
	*nl = '\0';
	dc.dir = "req";
	dc.type = "Everything";
	dc.json = enc;
	ck_assert(rpci_buf_append(&input, "req Everything ", 15));
	ck_assert(rpci_buf_append(&input, enc, strlen(enc)));
	ck_assert(rpci_buf_append(&input, "\n", 1));
	understood(&dc, &mine);
	ck_assert(rpci_buf_append(&input, "", 1));
	ck_assert(rpci_buf_append(&mine, "", 1));
	compare_lines((char *)input.data, (char *)mine.data);
	rpci_buf_fini(&input);
	rpci_buf_fini(&mine);
	free(enc);
	rpc_message_free_contents(&e.base);
}
END_TEST

/* Go's jsonrpc decodes every message we write into the same value. */
START_TEST(test_go_decodes_our_encodings)
{
	rpci_buf input = {0}, mine = {0};
	size_t i;

	for (i = 0; i < N_VECTORS; i++) {
		const vector *v = &vectors[i];
		static const struct {
			const char *name, *type;
		} go_types[] = {
			{"req_args", "Args"},        {"req_full", "Everything"},
			{"req_zero", "Everything"},  {"req_int64", "int64"},
			{"req_string", "string"},    {"req_list", "list"},
			{"req_map", "map"},          {"req_bytes", "bytes"},
			{"req_uint64", "uint64"},    {"resp_list", "list"},
			{"resp_double", "double"},   {"resp_opt_set", "Opt"},
			{"resp_opt_unset", "Opt"},   {"resp_err_objid", "Args"},
			{"resp_full_strid", "Everything"},
			{"resp_nullid", "bool"},
		};
		dcase dc;
		char *enc, *nl;
		size_t k;

		for (k = 0; k < sizeof go_types / sizeof go_types[0]; k++)
			if (strcmp(go_types[k].name, v->name) == 0)
				break;
		if (k == sizeof go_types / sizeof go_types[0])
			continue;
		enc = ours(v);
		nl = strchr(enc, '\n');
		ck_assert_ptr_nonnull(nl);
		*nl = '\0';
		dc.dir = v->request == NULL ? "req" : "resp";
		dc.type = go_types[k].type;
		dc.json = enc;
		ck_assert(rpci_buf_append(&input, dc.dir, strlen(dc.dir)));
		ck_assert(rpci_buf_append(&input, " ", 1));
		ck_assert(rpci_buf_append(&input, dc.type, strlen(dc.type)));
		ck_assert(rpci_buf_append(&input, " ", 1));
		ck_assert(rpci_buf_append(&input, enc, strlen(enc)));
		ck_assert(rpci_buf_append(&input, "\n", 1));
		understood(&dc, &mine);
		free(enc);
	}
	ck_assert(rpci_buf_append(&input, "", 1));
	ck_assert(rpci_buf_append(&mine, "", 1));
	compare_lines((char *)input.data, (char *)mine.data);
	rpci_buf_fini(&input);
	rpci_buf_fini(&mine);
}
END_TEST


/* ---- end to end over TCP ----------------------------------------------------- */

static const rpc_type type_quo = {"Quotient", &jt__quotient__descriptor,
                                  RPC_FORM_MESSAGE};
static const rpc_type type_int64list = {"list<int64>",
                                        &jt__int64_list__descriptor,
                                        RPC_FORM_WRAPPED};

/* A Go net/rpc server with the jsonrpc codec: runs until its stdin closes;
 * addr: "tcp:127.0.0.1:PORT". */
typedef sup_peer go_server;

static void go_server_start(go_server *g)
{
	const char *args[] = {"serve", NULL};

	ck_assert_msg(sup_peer_start(g, sup_peer_path("JSON_GOFIXTURE"), args),
	              "gofixture serve printed no address");
}

static void go_server_stop(go_server *g)
{
	ck_assert_msg(sup_peer_stop(g), "gofixture serve did not exit 0");
}

static void call_fails(rpc_client *c, const char *sm, const rpc_method *m,
                       const void *args, void *reply, const char *want)
{
	rpc_error *err = rpc_client_call(c, sm, m, args, reply);

	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SERVER);
	ck_assert_str_eq(rpc_error_message(err), want);
	rpc_error_free(err);
}

static void call_ok(rpc_client *c, const char *sm, const rpc_method *m,
                    const void *args, void *reply)
{
	rpc_error *err = rpc_client_call(c, sm, m, args, reply);

	ck_assert_msg(err == NULL, "%s: %s", sm, rpc_error_message(err));
}

static const rpc_method m_multiply = {"Multiply", &type_args, &type_int64,
                                      NULL, 0};
static const rpc_method m_divide = {"Divide", &type_args, &type_quo, NULL, 0};
static const rpc_method m_echo = {"Echo", &type_every, &type_every, NULL, 0};
static const rpc_method m_sum = {"Sum", &type_int64list, &type_int64, NULL, 0};
static const rpc_method m_string = {"Multiply", &type_string, &type_int64,
                                    NULL, 0};

START_TEST(test_go_e2e_c_client_go_server)
{
	rpc_client_options opts = {.codec = &rpc_codec_json};
	Jt__Args a = JT__ARGS__INIT;
	Jt__Quotient q = JT__QUOTIENT__INIT;
	Jt__Everything in = JT__EVERYTHING__INIT, out = JT__EVERYTHING__INIT;
	Jt__Int64List il = JT__INT64_LIST__INIT;
	int64_t nums[] = {1, 2, 3, -10}, prod = 0, prods[20];
	char *six = "six", *sent, *got;
	rpc_client *c = NULL;
	rpc_done *done;
	rpc_error *err;
	go_server g;
	int i;

	go_server_start(&g);
	err = rpc_dial(g.addr, &opts, &c);
	ck_assert_msg(err == NULL, "dial %s: %s", g.addr, rpc_error_message(err));
	a.a = 6;
	a.b = 7;
	call_ok(c, "Arith.Multiply", &m_multiply, &a, &prod);
	ck_assert(prod == 42);
	a.b = 0;
	call_fails(c, "Arith.Divide", &m_divide, &a, &q, "divide by zero");
	a.a = 17;
	a.b = 5;
	call_ok(c, "Arith.Divide", &m_divide, &a, &q);
	ck_assert(q.quo == 3 && q.rem == 2);
	full_everything(&in);
	call_ok(c, "Arith.Echo", &m_echo, &in, &out);
	sent = encode_value(&type_every, &in.base);
	got = encode_value(&type_every, &out.base);
	assert_same("echo", sent, got);
	free(sent);
	free(got);
	rpc_message_free_contents(&in.base);
	rpc_message_free_contents(&out.base);
	il.n_value = 4;
	il.value = nums;
	call_ok(c, "Arith.Sum", &m_sum, &il, &prod);
	ck_assert(prod == -4);
	call_fails(c, "Arith.Nope", &m_multiply, &a, &prod,
	           "rpc: can't find method Arith.Nope");
	call_fails(c, "Nope.Multiply", &m_multiply, &a, &prod,
	           "rpc: can't find service Nope.Multiply");
	call_fails(c, "Arith.Multiply", &m_string, &six, &prod,
	           "json: cannot unmarshal string into Go value of type "
	           "main.Args");

	done = rpc_done_new_queue();
	ck_assert_ptr_nonnull(done);
	for (i = 0; i < 20; i++) {
		Jt__Args ai = JT__ARGS__INIT;

		ai.a = i;
		ai.b = 3;
		prods[i] = -1;
		err = rpc_client_go(c, "Arith.Multiply", &m_multiply, &ai,
		                    &prods[i], done, NULL);
		ck_assert_ptr_null(err);
	}
	for (i = 0; i < 20; i++) {
		rpc_call *call = rpc_done_wait(done, 30000);

		ck_assert_ptr_nonnull(call);
		ck_assert_ptr_null(rpc_call_error(call));
		rpc_call_free(call);
	}
	for (i = 0; i < 20; i++)
		ck_assert(prods[i] == 3 * i);
	rpc_done_free(done);
	/* jsonrpc's BuiltinTypes.Array: a reply of [1]int */
	jb_Int64Array1 arr = JB_INT64ARRAY1_INIT;
	arr.value[0] = 9;
	err = jb_BuiltinTypes_Array(c, -4, &arr);
	ck_assert_msg(err == NULL, "Array: %s", rpc_error_message(err));
	ck_assert(arr.value[0] == -4);
	jb_Int64List sl = JB_INT64LIST_INIT;
	err = jb_BuiltinTypes_Slice(c, 3, &sl);
	ck_assert_msg(err == NULL, "Slice: %s", rpc_error_message(err));
	ck_assert(sl.n_value == 1 && sl.value[0] == 3);
	jb_Int64List_free_contents(&sl);
	rpc_client_free(c);
	go_server_stop(&g);
}
END_TEST

/* Our server's Arith, dispatched as generated code would. Not the suites'
 * Arith (tests/support/sup_arith.h): gofixture's Go client compares what
 * our server answers with what Go's answers, and Go's Arith has Echo over
 * jt.proto's Everything and Sum over a list; sup_arith's Echo is over a
 * string and has no Sum. */
static rpc_error *arith_multiply(const void *h, void *self, const void *args,
                                 void *reply)
{
	const Jt__Args *a = args;

	(void)h;
	(void)self;
	*(int64_t *)reply = a->a * a->b;
	return NULL;
}

static rpc_error *arith_divide(const void *h, void *self, const void *args,
                               void *reply)
{
	const Jt__Args *a = args;
	Jt__Quotient *q = reply;

	(void)h;
	(void)self;
	if (a->b == 0)
		return rpc_error_new("divide by zero");
	q->quo = a->a / a->b;
	q->rem = a->a % a->b;
	return NULL;
}

/* Echo copies args into reply through the protobuf encoding, so that all
 * of reply is malloc'd, as the runtime requires. */
static rpc_error *arith_echo(const void *h, void *self, const void *args,
                             void *reply)
{
	const ProtobufCMessage *in = args;
	ProtobufCMessage *copy;
	size_t n = protobuf_c_message_get_packed_size(in);
	uint8_t *buf = malloc(n + 1);

	(void)h;
	(void)self;
	if (buf == NULL)
		return rpc_error_new("out of memory");
	protobuf_c_message_pack(in, buf);
	copy = protobuf_c_message_unpack(in->descriptor, NULL, n, buf);
	free(buf);
	if (copy == NULL)
		return rpc_error_new("cannot copy");
	memcpy(reply, copy, in->descriptor->sizeof_message);
	free(copy);
	return NULL;
}

static rpc_error *arith_sum(const void *h, void *self, const void *args,
                            void *reply)
{
	const Jt__Int64List *l = args;
	int64_t sum = 0;
	size_t i;

	(void)h;
	(void)self;
	for (i = 0; i < l->n_value; i++)
		sum += l->value[i];
	*(int64_t *)reply = sum;
	return NULL;
}

static const rpc_method arith_methods[] = {
	{"Divide", &type_args, &type_quo, arith_divide, 0},
	{"Echo", &type_every, &type_every, arith_echo, 0},
	{"Multiply", &type_args, &type_int64, arith_multiply, 0},
	{"Sum", &type_int64list, &type_int64, arith_sum, 0},
};

static const rpc_service_desc arith_desc = {
	.abi = RPC_ABI_VERSION,
	.name = "Arith",
	.n_methods = 4,
	.methods = arith_methods,
};

/* jsonrpc's BuiltinTypes (jbuiltin.rpc), as Go's gofixture serves it. */
static rpc_error *builtin_map(void *self, int64_t i, jb_Int64Int64Map *reply)
{
	jb_Int64Int64Map_ValueEntry *e = malloc(sizeof *e);

	(void)self;
	reply->value = malloc(sizeof *reply->value);
	if (e == NULL || reply->value == NULL) {
		free(e);
		return rpc_error_new("out of memory");
	}
	jb_Int64Int64Map_ValueEntry_init(e);
	e->key = e->value = i;
	reply->value[0] = e;
	reply->n_value = 1;
	return NULL;
}

static rpc_error *builtin_slice(void *self, int64_t i, jb_Int64List *reply)
{
	(void)self;
	reply->value = malloc(sizeof *reply->value);
	if (reply->value == NULL)
		return rpc_error_new("out of memory");
	reply->value[0] = i;
	reply->n_value = 1;
	return NULL;
}

static rpc_error *builtin_array(void *self, int64_t i, jb_Int64Array1 *reply)
{
	(void)self;
	reply->value[0] = i;
	return NULL;
}

static const jb_BuiltinTypes_handlers builtin_handlers = {
    .Map = builtin_map,
    .Slice = builtin_slice,
    .Array = builtin_array,
};

/* Go's jsonrpc client gets the same answers from our server as from Go's. */
START_TEST(test_go_e2e_go_client_c_server)
{
	rpc_server_options opts = {.codec = &rpc_codec_json, .threads = 2};
	rpc_server *srv = NULL;
	rpc_error *err;
	sup_server s;
	char target[128], *mine, *want;
	go_server g;

	ck_assert_ptr_null(rpc_server_new(&opts, &srv));
	err = rpc_server_register(srv, &arith_desc, &arith_desc, NULL, NULL);
	ck_assert_msg(err == NULL, "register: %s", rpc_error_message(err));
	ck_assert_ptr_null(jb_BuiltinTypes_register(srv, &builtin_handlers, NULL));
	ck_assert_ptr_null(sup_server_start(&s, srv, "tcp:127.0.0.1:0", false));

	snprintf(target, sizeof target, "127.0.0.1:%d",
	         rpc_listener_port(s.lis));
	mine = run_go2("call", target, "");
	go_server_start(&g);
	want = run_go2("call", g.addr + 4, "");
	go_server_stop(&g);

	compare_lines_named("call", want, mine);
	ck_assert_ptr_nonnull(strstr(mine, "Async 20\n"));
	ck_assert_ptr_nonnull(strstr(mine, "Array [-4] ok\n"));
	ck_assert(rpc_server_num_calls(srv, "BuiltinTypes.Array") == 1);
	ck_assert(rpc_server_num_calls(srv, "Arith.Multiply") == 21);

	ck_assert_ptr_null(sup_server_stop(&s));
	rpc_server_free(srv);
	free(mine);
	free(want);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json_go");
	TCase *tc;
	SRunner *sr;
	int failed;
	const char *prog = getenv("JSON_GOFIXTURE");

	if (prog == NULL || access(prog, X_OK) != 0) {
		printf("SKIP: Go not found (JSON_GOFIXTURE unset or not "
		       "built): no comparison with Go's net/rpc/jsonrpc\n");
		return 77;
	}
	tc = tcase_create("vectors");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_go_vectors_encode_identically);
	tcase_add_test(tc, test_go_vectors_decode_to_same_values);
	suite_add_tcase(s, tc);
	tc = tcase_create("decode");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_go_decoder_and_ours_agree_on_edge_cases);
	tcase_add_test(tc, test_go_decodes_our_encodings);
	tcase_add_test(tc, test_go_agrees_on_random_floats);
	suite_add_tcase(s, tc);
	tc = tcase_create("e2e");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_go_e2e_c_client_go_server);
	tcase_add_test(tc, test_go_e2e_go_client_c_server);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
