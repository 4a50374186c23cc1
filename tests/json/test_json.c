/* test_json.c - the JSON-RPC codec on its own: framing of the unframed
 * stream, the envelope and id echo, every field kind, Go's number and
 * string rules, and malformed input. Run under valgrind or ASan: a leak or
 * a bad access fails. The byte-for-byte comparison with Go itself is in
 * test_json_go.c. */
#include <pthread.h>
#include <stdio.h>

#include "helpers.h"

/* ---- helpers -------------------------------------------------------------- */

/* enc_value encodes m as a client request's params element and returns the
 * whole request. */
static char *enc_request(const rpc_type *t, const ProtobufCMessage *m)
{
	session c;
	char *out;

	session_open(&c, false, 0);
	out = write_ok(&c, "S.M", 1, NULL, t, m);
	session_close(&c);
	return out;
}

/* enc_fail encodes m expecting an error; returns its message (malloc'd). */
static char *enc_fail(const rpc_type *t, const ProtobufCMessage *m)
{
	session c;
	rpc_error *err = NULL;
	char *out, *msg;

	session_open(&c, false, 0);
	out = session_write(&c, "S.M", 1, NULL, t, m, &err);
	session_close(&c);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(err);
	msg = xstrdup(rpc_error_message(err));
	rpc_error_free(err);
	return msg;
}

/* dec_params decodes the params element of a request with the given
 * params text into m (initialised); returns NULL or the error message
 * (malloc'd). */
static char *dec_params(const char *params, const rpc_type *t,
                        ProtobufCMessage *m)
{
	session s;
	rpci_msg msg;
	rpc_error *err;
	char *req, *text = NULL;
	size_t n = strlen(params) + 64;

	req = malloc(n);
	ck_assert_ptr_nonnull(req);
	snprintf(req, n, "{\"method\":\"S.M\",\"params\":%s,\"id\":1}", params);
	session_open(&s, true, 0);
	read_ok(&s, req, &msg);
	err = rpc_codec_json.read_body(s.state, &msg, t, m);
	if (err != NULL) {
		text = xstrdup(rpc_error_message(err));
		rpc_error_free(err);
	}
	rpc_codec_json.msg_clear(s.state, &msg);
	session_close(&s);
	free(req);
	return text;
}

static void assert_params(const rpc_type *t, const ProtobufCMessage *m,
                          const char *want)
{
	char *req = enc_request(t, m), *expect;
	size_t n = strlen(want) + 64;

	expect = malloc(n);
	ck_assert_ptr_nonnull(expect);
	snprintf(expect, n, "{\"method\":\"S.M\",\"params\":[%s],\"id\":1}\n",
	         want);
	ck_assert_str_eq(req, expect);
	free(req);
	free(expect);
}

static void assert_body_error(const char *params, const rpc_type *t,
                              const char *want)
{
	ProtobufCMessage *m = rpci_message_new(t->desc);
	char *err;

	ck_assert_ptr_nonnull(m);
	err = dec_params(params, t, m);
	ck_assert_msg(err != NULL, "%s decoded without error", params);
	ck_assert_str_eq(err, want);
	free(err);
	rpci_message_free(m);
}

/* ---- framing -------------------------------------------------------------- */

START_TEST(test_read_every_prefix_asks_for_more)
{
	static const char req[] =
		"{\"method\":\"A.B\",\"params\":[{\"A\":1,\"s\":\"x\\\"}\"}],"
		"\"id\":-1.5e3}";
	session s;
	size_t n, used;
	rpci_msg msg;
	rpc_error *err = NULL;

	session_open(&s, true, 0);
	for (n = 0; n < sizeof req - 1; n++) {
		rpci_read_status st = rpc_codec_json.read(
			s.state, (const uint8_t *)req, n, &used, &msg, &err);

		ck_assert_msg(st == RPCI_READ_AGAIN, "prefix %zu: status %d", n,
		              (int)st);
	}
	read_ok(&s, req, &msg);
	ck_assert_str_eq(msg.service_method, "A.B");
	rpc_codec_json.msg_clear(s.state, &msg);
	session_close(&s);
}
END_TEST

/* A large message arriving a little at a time: the scan resumes where it
 * stopped (at a token boundary), and the result is the same. */
START_TEST(test_read_resumes_across_chunks)
{
	Jt__Everything e = JT__EVERYTHING__INIT, back = JT__EVERYTHING__INIT;
	session c, s;
	rpci_msg msg;
	rpc_error *err = NULL;
	char *req;
	size_t n, len, used = 0, i;
	rpci_read_status st = RPCI_READ_AGAIN;

	full_everything(&e);
	free(e.nums);
	e.n_nums = 20000;
	e.nums = calloc(e.n_nums, sizeof *e.nums);
	ck_assert_ptr_nonnull(e.nums);
	for (i = 0; i < e.n_nums; i++)
		e.nums[i] = (int64_t)(i * 7919) - 50000;
	session_open(&c, false, 0);
	req = write_ok(&c, "Big.Call", 9, NULL, &type_every, &e.base);
	session_close(&c);
	len = strlen(req);
	ck_assert_uint_gt(len, 100000);
	session_open(&s, true, 0);
	for (n = 1; n <= len && st == RPCI_READ_AGAIN; n += n % 3 == 0 ? 997 : 1)
		st = rpc_codec_json.read(s.state, (const uint8_t *)req, n, &used,
		                         &msg, &err);
	if (st == RPCI_READ_AGAIN)
		st = rpc_codec_json.read(s.state, (const uint8_t *)req, len,
		                         &used, &msg, &err);
	ck_assert_int_eq(st, RPCI_READ_OK);
	ck_assert_uint_eq(used, len);
	ck_assert_str_eq(msg.service_method, "Big.Call");
	ck_assert_ptr_null(rpc_codec_json.read_body(s.state, &msg, &type_every,
	                                            &back.base));
	ck_assert_uint_eq(back.n_nums, 20000);
	for (i = 0; i < e.n_nums; i++)
		ck_assert(back.nums[i] == e.nums[i]);
	ck_assert_str_eq(back.name, e.name);
	rpc_codec_json.msg_clear(s.state, &msg);
	session_close(&s);
	rpc_message_free_contents(&e.base);
	rpc_message_free_contents(&back.base);
	free(req);
}
END_TEST

START_TEST(test_read_back_to_back_messages)
{
	static const char two[] =
		"  {\"method\":\"A.B\",\"params\":[1],\"id\":\"x\"}\n\r\t "
		"{\"method\":\"C.D\",\"params\":[2],\"id\":7}\n";
	session s;
	rpci_msg msg;
	rpc_error *err = NULL;
	size_t used = 0, off;

	session_open(&s, true, 0);
	ck_assert_int_eq(rpc_codec_json.read(s.state, (const uint8_t *)two,
	                                     sizeof two - 1, &used, &msg, &err),
	                 RPCI_READ_OK);
	ck_assert_str_eq(msg.service_method, "A.B");
	ck_assert_uint_eq(msg.seq, 1);
	/* the white space after a message is consumed with it */
	ck_assert_int_eq(two[used], '{');
	rpc_codec_json.msg_clear(s.state, &msg);
	off = used;
	ck_assert_int_eq(rpc_codec_json.read(s.state, (const uint8_t *)two + off,
	                                     sizeof two - 1 - off, &used, &msg,
	                                     &err),
	                 RPCI_READ_OK);
	ck_assert_str_eq(msg.service_method, "C.D");
	ck_assert_uint_eq(msg.seq, 2);
	ck_assert_uint_eq(off + used, sizeof two - 1);
	rpc_codec_json.msg_clear(s.state, &msg);
	session_close(&s);
}
END_TEST

START_TEST(test_read_bounded_by_max_frame)
{
	session s;
	char big[200], *m;
	rpci_msg msg;
	rpc_error *err = NULL;
	size_t used;

	session_open(&s, true, 64);
	memset(big, ' ', sizeof big);
	memcpy(big + 100, "{\"method\":\"", 11);
	big[sizeof big - 1] = '\0';
	/* an incomplete message already over the limit */
	ck_assert_int_eq(rpc_codec_json.read(s.state, (const uint8_t *)big,
	                                     sizeof big - 1, &used, &msg, &err),
	                 RPCI_READ_ERROR);
	ck_assert_str_eq(rpc_error_message(err),
	                 "rpc: json: message larger than 64 bytes");
	rpc_error_free(err);
	/* a complete one over the limit */
	m = read_error(&s, "{\"method\":\"A.B\",\"params\":[\"0123456789012345678"
	                   "901234567890123456789\"],\"id\":1}");
	ck_assert_str_eq(m, "rpc: json: message larger than 64 bytes");
	free(m);
	/* under the limit is fine */
	read_ok(&s, "{\"method\":\"A.B\",\"params\":[1],\"id\":1}", &msg);
	rpc_codec_json.msg_clear(s.state, &msg);
	session_close(&s);
}
END_TEST

START_TEST(test_read_bounded_depth)
{
	session s;
	rpci_buf b = {0};
	rpci_msg msg;
	char *m;
	int i;

	session_open(&s, true, 0);
	/* envelope + params + 98 = 100 levels: accepted */
	ck_assert(rpci_buf_append(&b, "{\"params\":[", 11));
	for (i = 0; i < 98; i++)
		ck_assert(rpci_buf_append(&b, "[", 1));
	for (i = 0; i < 98; i++)
		ck_assert(rpci_buf_append(&b, "]", 1));
	ck_assert(rpci_buf_append(&b, "]}", 3));
	read_ok(&s, (char *)b.data, &msg);
	rpc_codec_json.msg_clear(s.state, &msg);
	/* one more: refused before anything is allocated */
	b.len = 0;
	ck_assert(rpci_buf_append(&b, "{\"params\":[", 11));
	for (i = 0; i < 99; i++)
		ck_assert(rpci_buf_append(&b, "[", 1));
	ck_assert(rpci_buf_append(&b, "", 1));
	m = read_error(&s, (char *)b.data);
	ck_assert_str_eq(m, "rpc: json: nesting deeper than 100");
	free(m);
	rpci_buf_fini(&b);
	session_close(&s);
}
END_TEST

START_TEST(test_read_syntax_errors_as_go_words_them)
{
	static const struct {
		const char *in, *err;
	} cases[] = {
		{"x", "invalid character 'x' looking for beginning of value"},
		{"{\"a\":1,]",
		 "invalid character ']' looking for beginning of object key "
		 "string"},
		{"{\"a\" 1}", "invalid character '1' after object key"},
		{"{\"a\":1 \"b\"}",
		 "invalid character '\"' after object key:value pair"},
		{"[1 2]", "invalid character '2' after array element"},
		{"\"\\q\"", "invalid character 'q' in string escape code"},
		{"\"a\nb\"", "invalid character '\\n' in string literal"},
		{"tru!", "invalid character '!' in literal true (expecting 'e')"},
		{"nul1", "invalid character '1' in literal null (expecting 'l')"},
		{"-x", "invalid character 'x' in numeric literal"},
		{"[1.]", "invalid character ']' after decimal point in numeric "
		         "literal"},
		{"[1e+]", "invalid character ']' in exponent of numeric literal"},
		{"[\"\\u00zz\"]",
		 "invalid character 'z' in \\u hexadecimal character escape"},
		{"\x01", "invalid character '\\x01' looking for beginning of value"},
	};
	session s;
	size_t i;

	session_open(&s, true, 0);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *m = read_error(&s, cases[i].in);

		ck_assert_str_eq(m, cases[i].err);
		free(m);
	}
	session_close(&s);
}
END_TEST

/* A deterministic fuzz: mutated messages never crash, hang or leak, and
 * every outcome is one of the three statuses. */
START_TEST(test_read_mutations_never_crash)
{
	static const char *const seeds[] = {
		("{\"method\":\"A.B\",\"params\":[{\"Flag\":true,\"I\":-1,\"UL\":"
		"18446744073709551615,\"F\":0.5,\"Name\":\"\\u00e9\\ud83d\\ude00\","
		"\"Blob\":\"AAE=\",\"Inner\":{\"A\":1},\"Items\":[{\"B\":2},null],"
		"\"Nums\":[1,2],\"Counts\":{\"a\":1},\"ByNum\":{\"-3\":\"x\"},"
		"\"ByU\":{\"5\":{\"A\":5}},\"Ds\":[1e300,-0],\"Names\":[\"a\"]}],"
		"\"id\":{\"k\":[1,\"2\"]}}"),
		("{\"id\":3,\"result\":{\"Kinds\":[1,2],\"Blobs\":[\"AQ==\",null],"
		"\"Bs\":[true,false],\"Fs\":[1.5]},\"error\":null}"),
		"{\"id\":4,\"result\":null,\"error\":\"boom\"}",
	};
	uint32_t rnd = 12345;
	int iter;

	for (iter = 0; iter < 3000; iter++) {
		const char *seed = seeds[iter % 3];
		size_t n = strlen(seed), used = 0, pos;
		char buf[1024];
		session s;
		rpci_msg msg;
		rpc_error *err = NULL;
		rpci_read_status st;
		int k, edits;

		memcpy(buf, seed, n);
		edits = 1 + iter % 4;
		for (k = 0; k < edits && n > 1; k++) {
			rnd = rnd * 1103515245u + 12345u;
			pos = (rnd >> 8) % n;
			switch ((rnd >> 4) % 4) {
			case 0: /* replace a byte */
				buf[pos] = "{}[]\",:\\0-e.nu \x80\xff"[(rnd >> 20) % 18];
				break;
			case 1: /* delete a byte */
				memmove(buf + pos, buf + pos + 1, n - pos - 1);
				n--;
				break;
			case 2: /* truncate */
				n = pos + 1;
				break;
			default: /* duplicate a byte */
				if (n + 1 < sizeof buf) {
					memmove(buf + pos + 1, buf + pos, n - pos);
					n++;
				}
			}
		}
		session_open(&s, iter % 3 == 0, 4096);
		st = rpc_codec_json.read(s.state, (const uint8_t *)buf, n, &used,
		                         &msg, &err);
		ck_assert(st == RPCI_READ_OK || st == RPCI_READ_AGAIN ||
		          st == RPCI_READ_ERROR);
		if (st == RPCI_READ_ERROR) {
			ck_assert_ptr_nonnull(err);
			rpc_error_free(err);
		} else if (st == RPCI_READ_OK) {
			Jt__Everything e = JT__EVERYTHING__INIT;

			ck_assert_uint_le(used, n);
			rpc_error_free(rpc_codec_json.read_body(
				s.state, &msg, &type_every, &e.base));
			rpc_message_free_contents(&e.base);
			rpc_codec_json.msg_clear(s.state, &msg);
		}
		session_close(&s);
	}
}
END_TEST

/* ---- envelope and ids ----------------------------------------------------- */

START_TEST(test_client_request_bytes)
{
	Jt__Args a = JT__ARGS__INIT;
	session c;
	char *out;

	a.a = 7;
	a.b = 8;
	session_open(&c, false, 0);
	out = write_ok(&c, "Arith.Multiply", 0, NULL, &type_args, &a.base);
	ck_assert_str_eq(out, "{\"method\":\"Arith.Multiply\",\"params\":[{\"A\":7,"
	                      "\"B\":8}],\"id\":0}\n");
	free(out);
	/* no body: params [null] */
	out = write_ok(&c, "A.<b>", 5, NULL, NULL, NULL);
	ck_assert_str_eq(out, "{\"method\":\"A.\\u003cb\\u003e\",\"params\":"
	                      "[null],\"id\":5}\n");
	free(out);
	session_close(&c);
}
END_TEST

START_TEST(test_server_echoes_any_id)
{
	static const struct {
		const char *id, *echo;
	} ids[] = {
		{"\"abc\"", "\"abc\""},
		{"42", "42"},
		{"-1.50e+3", "-1.50e+3"},
		{"123456789012345678901234567890", "123456789012345678901234567890"},
		{" { \"a\" : [ 1 , \"x y\" ] } ", "{\"a\":[1,\"x y\"]}"},
		{"\"<&>\"", "\"\\u003c\\u0026\\u003e\""},
		{"\"\xe2\x80\xa8\"", "\"\\u2028\""},
		{"null", "null"},
		{"true", "true"},
		{"[]", "[]"},
	};
	session s;
	size_t i;
	rpci_msg msg;
	char req[256], want[256], *out;

	session_open(&s, true, 0);
	for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		snprintf(req, sizeof req,
		         "{\"method\":\"A.B\",\"params\":[],\"id\":%s}", ids[i].id);
		read_ok(&s, req, &msg);
		ck_assert_uint_eq(msg.seq, i + 1); /* our own counter */
		out = write_ok(&s, NULL, msg.seq, NULL, &type_int64, NULL);
		snprintf(want, sizeof want,
		         "{\"id\":%s,\"result\":null,\"error\":null}\n",
		         ids[i].echo);
		ck_assert_str_eq(out, want);
		free(out);
		rpc_codec_json.msg_clear(s.state, &msg);
	}
	/* no id at all: null, as Go */
	read_ok(&s, "{\"method\":\"A.B\",\"params\":[]}", &msg);
	out = write_ok(&s, NULL, msg.seq, "boom", NULL, NULL);
	ck_assert_str_eq(out, "{\"id\":null,\"result\":null,\"error\":\"boom\"}\n");
	free(out);
	rpc_codec_json.msg_clear(s.state, &msg);
	session_close(&s);
}
END_TEST

START_TEST(test_server_answers_out_of_order_and_once)
{
	session s;
	rpci_msg msg;
	rpc_error *err = NULL;
	char req[128], want[128], *out;
	int i;

	session_open(&s, true, 0);
	for (i = 0; i < 1000; i++) {
		snprintf(req, sizeof req, "{\"method\":\"A.B\",\"id\":\"r%d\"}", i);
		read_ok(&s, req, &msg);
		ck_assert_uint_eq(msg.seq, (uint64_t)i + 1);
		rpc_codec_json.msg_clear(s.state, &msg);
	}
	for (i = 999; i >= 0; i -= 2) {
		out = write_ok(&s, NULL, (uint64_t)i + 1, "e", NULL, NULL);
		snprintf(want, sizeof want,
		         "{\"id\":\"r%d\",\"result\":null,\"error\":\"e\"}\n", i);
		ck_assert_str_eq(out, want);
		free(out);
	}
	/* answered already, or never asked */
	ck_assert_ptr_null(session_write(&s, NULL, 1000, "e", NULL, NULL, &err));
	ck_assert_str_eq(rpc_error_message(err),
	                 "invalid sequence number in response");
	rpc_error_free(err);
	ck_assert_ptr_null(session_write(&s, NULL, 5000, "e", NULL, NULL, &err));
	rpc_error_free(err);
	/* 500 ids still pending: freed with the state */
	session_close(&s);
}
END_TEST

typedef struct relay {
	session *s;
	int n;
	uint64_t seqs[256];
	int head;
	pthread_mutex_t mu;
} relay;

static void *relay_reader(void *arg)
{
	relay *r = arg;
	rpci_msg msg;
	char req[64];
	int i;

	for (i = 0; i < r->n; i++) {
		snprintf(req, sizeof req, "{\"method\":\"A.B\",\"id\":%d}", i);
		read_ok(r->s, req, &msg);
		pthread_mutex_lock(&r->mu);
		r->seqs[r->head++ % 256] = msg.seq;
		pthread_mutex_unlock(&r->mu);
		rpc_codec_json.msg_clear(r->s->state, &msg);
	}
	return NULL;
}

/* The reader adds ids while the writer takes them: the table is shared. */
START_TEST(test_server_ids_shared_by_reader_and_writer)
{
	session s;
	relay r = {.s = &s, .n = 200};
	pthread_t t;
	int done = 0, spins = 0;

	session_open(&s, true, 0);
	pthread_mutex_init(&r.mu, NULL);
	ck_assert_int_eq(pthread_create(&t, NULL, relay_reader, &r), 0);
	while (done < r.n && spins++ < 10000000) {
		uint64_t seq = 0;
		char *out, want[64];

		pthread_mutex_lock(&r.mu);
		if (done < r.head)
			seq = r.seqs[done % 256];
		pthread_mutex_unlock(&r.mu);
		if (seq == 0)
			continue;
		out = write_ok(&s, NULL, seq, "x", NULL, NULL);
		snprintf(want, sizeof want,
		         "{\"id\":%d,\"result\":null,\"error\":\"x\"}\n",
		         (int)seq - 1);
		ck_assert_str_eq(out, want);
		free(out);
		done++;
	}
	pthread_join(t, NULL);
	ck_assert_int_eq(done, r.n);
	pthread_mutex_destroy(&r.mu);
	session_close(&s);
}
END_TEST

START_TEST(test_server_header_errors)
{
	session s;
	rpci_msg msg;
	rpc_error *err;
	char *m;
	Jt__Args a = JT__ARGS__INIT;

	session_open(&s, true, 0);
	m = read_error(&s, "{\"method\":5}");
	ck_assert_str_eq(m, "json: cannot unmarshal number into Go struct field "
	                    "serverRequest.method of type string");
	free(m);
	m = read_error(&s, "[1]");
	ck_assert_str_eq(m, "json: cannot unmarshal array into Go value of type "
	                    "jsonrpc.serverRequest");
	free(m);
	/* no params: an error for that call only */
	read_ok(&s, "{\"method\":\"A.B\",\"id\":1}", &msg);
	err = rpc_codec_json.read_body(s.state, &msg, &type_args, &a.base);
	ck_assert_str_eq(rpc_error_message(err),
	                 "jsonrpc: request body missing params");
	rpc_error_free(err);
	/* ... unless the body is discarded */
	ck_assert_ptr_null(rpc_codec_json.read_body(s.state, &msg, &type_args,
	                                            NULL));
	rpc_codec_json.msg_clear(s.state, &msg);
	/* keys ignore case */
	read_ok(&s, "{\"Method\":\"A.B\",\"PARAMS\":[{\"a\":3}],\"iD\":1}", &msg);
	ck_assert_str_eq(msg.service_method, "A.B");
	ck_assert_ptr_null(rpc_codec_json.read_body(s.state, &msg, &type_args,
	                                            &a.base));
	ck_assert_int_eq(a.a, 3);
	rpc_codec_json.msg_clear(s.state, &msg);
	session_close(&s);
}
END_TEST

START_TEST(test_client_reads_responses_as_go)
{
	session c;
	rpci_msg msg;
	char *m;
	Jt__Int64Value v = JT__INT64_VALUE__INIT;

	session_open(&c, false, 0);
	read_ok(&c, "{\"id\":18446744073709551615,\"result\":42,\"error\":null}",
	        &msg);
	ck_assert_uint_eq(msg.seq, UINT64_MAX);
	ck_assert_ptr_null(msg.error);
	ck_assert_ptr_null(rpc_codec_json.read_body(c.state, &msg, &type_int64,
	                                            &v.base));
	ck_assert_int_eq(v.value, 42);
	rpc_codec_json.msg_clear(c.state, &msg);

	read_ok(&c, "{\"id\":2,\"result\":null,\"error\":\"division by zero\"}",
	        &msg);
	ck_assert_uint_eq(msg.seq, 2);
	ck_assert_str_eq(msg.error, "division by zero");
	rpc_codec_json.msg_clear(c.state, &msg);

	read_ok(&c, "{\"id\":3,\"error\":\"\"}", &msg);
	ck_assert_str_eq(msg.error, "unspecified error");
	rpc_codec_json.msg_clear(c.state, &msg);

	m = read_error(&c, "{\"id\":4,\"result\":null,\"error\":null}");
	ck_assert_str_eq(m, "invalid error <nil>");
	free(m);
	m = read_error(&c, "{\"id\":4,\"result\":1,\"error\":[1, 2]}");
	ck_assert_str_eq(m, "invalid error [1,2]");
	free(m);
	m = read_error(&c, "{\"id\":\"4\",\"result\":1}");
	ck_assert_str_eq(m, "json: cannot unmarshal string into Go struct field "
	                    "clientResponse.id of type uint64");
	free(m);
	m = read_error(&c, "{\"id\":-4,\"result\":1}");
	ck_assert_str_eq(m, "json: cannot unmarshal number -4 into Go struct "
	                    "field clientResponse.id of type uint64");
	free(m);
	session_close(&c);
}
END_TEST

/* ---- values ----------------------------------------------------------------- */

START_TEST(test_roundtrip_every_field_kind)
{
	Jt__Everything e = JT__EVERYTHING__INIT, back = JT__EVERYTHING__INIT;
	char *req, *again, *params, *end;
	size_t i;

	full_everything(&e);
	req = enc_request(&type_every, &e.base);
	params = strstr(req, "\"params\":");
	ck_assert_ptr_nonnull(params);
	params += 9;
	end = strstr(req, ",\"id\":1}\n");
	ck_assert_ptr_nonnull(end);
	*end = '\0';
	ck_assert_ptr_null(dec_params(params, &type_every, &back.base));
	ck_assert(back.flag);
	ck_assert_int_eq(back.i, INT32_MIN);
	ck_assert(back.l == INT64_MIN);
	ck_assert_uint_eq(back.u, UINT32_MAX);
	ck_assert(back.ul == UINT64_MAX);
	ck_assert(back.f == 0.1f);
	ck_assert(back.d == 3.141592653589793);
	ck_assert_str_eq(back.name, e.name);
	ck_assert_uint_eq(back.blob.len, e.blob.len);
	ck_assert(memcmp(back.blob.data, e.blob.data, e.blob.len) == 0);
	ck_assert_int_eq(back.kind, JT__OP__MUL);
	ck_assert_int_eq(back.inner->a, -1);
	ck_assert_uint_eq(back.n_items, 2);
	ck_assert_int_eq(back.items[1]->b, 4);
	ck_assert_uint_eq(back.n_nums, 3);
	ck_assert(back.nums[2] == INT64_MAX);
	ck_assert_uint_eq(back.n_counts, 4);
	ck_assert_uint_eq(back.n_ds, e.n_ds);
	for (i = 0; i < e.n_ds; i++)
		ck_assert(memcmp(&back.ds[i], &e.ds[i], sizeof(double)) == 0);
	for (i = 0; i < e.n_fs; i++)
		ck_assert(memcmp(&back.fs[i], &e.fs[i], sizeof(float)) == 0);
	ck_assert_uint_eq(back.n_blobs, 3);
	ck_assert_uint_eq(back.blobs[1].len, 0);
	ck_assert_uint_eq(back.n_byu, 2);
	ck_assert_str_eq(back.lower, "low");
	/* and it encodes to the same text */
	again = enc_request(&type_every, &back.base);
	*end = ',';
	ck_assert_str_eq(again, req);
	free(again);
	free(req);
	rpc_message_free_contents(&e.base);
	rpc_message_free_contents(&back.base);
}
END_TEST

START_TEST(test_uint64_max_is_exact)
{
	Jt__Uint64Value v = JT__UINT64_VALUE__INIT;
	Jt__Everything e = JT__EVERYTHING__INIT;

	v.value = UINT64_MAX;
	assert_params(&type_uint64, &v.base, "18446744073709551615");
	v.value = 0;
	ck_assert_ptr_null(dec_params("[18446744073709551615]", &type_uint64,
	                              &v.base));
	ck_assert(v.value == UINT64_MAX);
	ck_assert_ptr_null(dec_params("[{\"UL\":18446744073709551614,"
	                              "\"L\":-9223372036854775808}]",
	                              &type_every, &e.base));
	ck_assert(e.ul == UINT64_MAX - 1);
	ck_assert(e.l == INT64_MIN);
	rpc_message_free_contents(&e.base);
	assert_body_error("[18446744073709551616]", &type_uint64,
	                  "json: cannot unmarshal number 18446744073709551616 "
	                  "into Go value of type uint64");
}
END_TEST

START_TEST(test_floats_shortest_as_go)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{0.1, "0.1"},
		{1e21, "1e+21"},
		{1e20, "100000000000000000000"},
		{123456789, "123456789"},
		{1e-6, "0.000001"},
		{1e-7, "1e-7"},
		{-2.5e-10, "-2.5e-10"},
		{5e-324, "5e-324"},
		{DBL_MAX, "1.7976931348623157e+308"},
		{0.30000000000000004, "0.30000000000000004"},
		{-0.0, "-0"},
		{100, "100"},
		{1.5, "1.5"},
		{1e100, "1e+100"},
	};
	Jt__DoubleValue d = JT__DOUBLE_VALUE__INIT;
	Jt__Everything e = JT__EVERYTHING__INIT;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char params[64];

		d.value = cases[i].v;
		assert_params(&type_double, &d.base, cases[i].text);
		snprintf(params, sizeof params, "[%s]", cases[i].text);
		d.value = 42;
		ck_assert_ptr_null(dec_params(params, &type_double, &d.base));
		ck_assert(memcmp(&d.value, &cases[i].v, sizeof(double)) == 0);
	}
	/* long spellings are read in full, as in Go: 1 and 600 zeros e-600 */
	{
		char params[700];

		memset(params, '0', sizeof params);
		memcpy(params, "[1", 2);
		memcpy(params + 602, "e-600]", 7);
		ck_assert_ptr_null(dec_params(params, &type_double, &d.base));
		ck_assert(d.value == 1.0);
	}
	/* float32 is shortest as a float32, not as a double */
	ck_assert_ptr_null(dec_params("[{\"F\":0.1,\"Fs\":[3.4028235e+38,1e-7]}]",
	                              &type_every, &e.base));
	ck_assert(e.f == 0.1f);
	ck_assert(e.fs[0] == FLT_MAX);
	rpc_message_free_contents(&e.base);
}
END_TEST

START_TEST(test_nan_and_inf_are_refused)
{
	Jt__DoubleValue d = JT__DOUBLE_VALUE__INIT;
	Jt__Everything e = JT__EVERYTHING__INIT;
	char *m;

	d.value = NAN;
	m = enc_fail(&type_double, &d.base);
	ck_assert_str_eq(m, "json: unsupported value: NaN");
	free(m);
	d.value = -INFINITY;
	m = enc_fail(&type_double, &d.base);
	ck_assert_str_eq(m, "json: unsupported value: -Inf");
	free(m);
	e.f = INFINITY;
	m = enc_fail(&type_every, &e.base);
	ck_assert_str_eq(m, "json: unsupported value: +Inf");
	free(m);
}
END_TEST

START_TEST(test_out_of_range_and_wrong_kind_are_errors)
{
	assert_body_error("[{\"I\":2147483648}]", &type_every,
	                  "json: cannot unmarshal number 2147483648 into Go "
	                  "struct field Everything.I of type int32");
	assert_body_error("[{\"U\":4294967296}]", &type_every,
	                  "json: cannot unmarshal number 4294967296 into Go "
	                  "struct field Everything.U of type uint32");
	assert_body_error("[{\"F32\":-1}]", &type_every,
	                  "json: cannot unmarshal number -1 into Go struct "
	                  "field Everything.F32 of type uint32");
	assert_body_error("[{\"L\":1.0}]", &type_every,
	                  "json: cannot unmarshal number 1.0 into Go struct "
	                  "field Everything.L of type int64");
	assert_body_error("[{\"A\":\"1\"}]", &type_args,
	                  "json: cannot unmarshal string into Go struct field "
	                  "Args.A of type int64");
	assert_body_error("[{\"Inner\":{\"B\":true}}]", &type_every,
	                  "json: cannot unmarshal bool into Go struct field "
	                  "Args.Inner.B of type int64");
	assert_body_error("[{\"Nums\":[1,\"2\"]}]", &type_every,
	                  "json: cannot unmarshal string into Go struct field "
	                  "Everything.Nums of type int64");
	assert_body_error("[{\"Counts\":[]}]", &type_every,
	                  "json: cannot unmarshal array into Go struct field "
	                  "Everything.Counts of type map[string]int64");
	assert_body_error("[\"5\"]", &type_int32,
	                  "json: cannot unmarshal string into Go value of type "
	                  "int32");
	assert_body_error("[[1]]", &type_args,
	                  "json: cannot unmarshal array into Go value of type "
	                  "Args");
	assert_body_error("{\"A\":1}", &type_args,
	                  "json: cannot unmarshal object into Go value of type "
	                  "[1]interface {}");
	assert_body_error("[{\"Blob\":\"AQ=\"}]", &type_every,
	                  "illegal base64 data at input byte 3");
	assert_body_error("[{\"Name\":\"a\\u0000b\"}]", &type_every,
	                  "rpc: json: string field Name holds a NUL character");
}
END_TEST

START_TEST(test_keys_match_as_go)
{
	Jt__Everything e = JT__EVERYTHING__INIT;

	/* any case; unknown keys skipped; the last of duplicates wins */
	ck_assert_ptr_null(dec_params(
		"[{\"flag\":true,\"NAME\":\"n\",\"nope\":{\"x\":[1,2,{}]},"
		"\"lower\":\"a\",\"Lower\":\"b\",\"i\":1,\"I\":2}]",
		&type_every, &e.base));
	ck_assert(e.flag);
	ck_assert_str_eq(e.name, "n");
	ck_assert_str_eq(e.lower, "b");
	ck_assert_int_eq(e.i, 2);
	rpc_message_free_contents(&e.base);
	/* Go folds the Kelvin sign to k and the long s to s */
	ck_assert_ptr_null(dec_params("[{\"\u212aind\":1,\"\u017f32\":-3,"
	                              "\"Ki\":9}]",
	                              &type_every, &e.base));
	ck_assert_int_eq(e.kind, 1);
	ck_assert_int_eq(e.s32, -3);
	rpc_message_free_contents(&e.base);
}
END_TEST

START_TEST(test_null_and_empty)
{
	Jt__Everything e = JT__EVERYTHING__INIT;
	Jt2__Opt o = JT2__OPT__INIT;
	Jt__ArgsList l = JT__ARGS_LIST__INIT;
	Jt__CountsMap c = JT__COUNTS_MAP__INIT;
	Jt__BytesValue b = JT__BYTES_VALUE__INIT;
	char *req;

	/* inside a struct, empty lists, maps and bytes are Go's nil: null */
	req = enc_request(&type_every, &e.base);
	ck_assert_ptr_nonnull(strstr(req, "\"Blob\":null,\"Kind\":0,\"Inner\":null,"
	                                  "\"Items\":null,\"Nums\":null,"
	                                  "\"Counts\":null,"));
	free(req);
	/* bare, they are empty: a Go client takes a null result as an error */
	assert_params(&type_list, &l.base, "[]");
	assert_params(&type_map, &c.base, "{}");
	assert_params(&type_bytes, &b.base, "\"\"");
	/* optional values: null when unset, and null unsets them */
	o.r = 1;
	assert_params(&type_opt, &o.base,
	              "{\"Maybe\":null,\"S\":null,\"U\":null,\"R\":1,"
	              "\"B\":null}");
	o.has_b = 1; /* set but empty: Go's non-nil pointer to an empty slice */
	assert_params(&type_opt, &o.base,
	              "{\"Maybe\":null,\"S\":null,\"U\":null,\"R\":1,"
	              "\"B\":\"\"}");
	o.has_b = 0;
	ck_assert_ptr_null(dec_params("[{\"B\":\"\"}]", &type_opt, &o.base));
	ck_assert(o.has_b && o.b.len == 0);
	ck_assert_ptr_null(dec_params("[{\"B\":null}]", &type_opt, &o.base));
	ck_assert(!o.has_b);
	ck_assert_ptr_null(dec_params("[{\"Maybe\":0,\"U\":5}]", &type_opt,
	                              &o.base));
	ck_assert(o.has_maybe && o.maybe == 0 && o.has_u && o.u == 5);
	ck_assert_ptr_null(dec_params("[{\"Maybe\":null,\"U\":null,\"S\":null}]",
	                              &type_opt, &o.base));
	ck_assert(!o.has_maybe && !o.has_u);
	ck_assert_ptr_null(o.s);
	/* null anywhere leaves zero; null elements are zero elements */
	ck_assert_ptr_null(dec_params(
		"[{\"Items\":[null,{\"A\":1}],\"Names\":[null],\"Blob\":null,"
		"\"Inner\":null,\"Counts\":null,\"I\":null}]",
		&type_every, &e.base));
	ck_assert_uint_eq(e.n_items, 2);
	ck_assert_int_eq(e.items[0]->a, 0);
	ck_assert_int_eq(e.items[1]->a, 1);
	ck_assert_str_eq(e.names[0], "");
	ck_assert_ptr_null(e.inner);
	rpc_message_free_contents(&e.base);
	/* and both null and [] read back as empty */
	ck_assert_ptr_null(dec_params("[{\"Nums\":[],\"Items\":null}]",
	                              &type_every, &e.base));
	ck_assert_uint_eq(e.n_nums, 0);
	ck_assert_uint_eq(e.n_items, 0);
	rpc_message_free_contents(&e.base);
	ck_assert_ptr_null(dec_params("[null]", &type_list, &l.base));
	ck_assert_uint_eq(l.n_value, 0);
}
END_TEST

START_TEST(test_maps_sorted_and_keyed_as_go)
{
	Jt__BoolMap m = JT__BOOL_MAP__INIT, back = JT__BOOL_MAP__INIT;
	Jt__Everything e = JT__EVERYTHING__INIT;
	char *req;
	int i;

	full_everything(&e);
	req = enc_request(&type_every, &e.base);
	/* sorted by the key's text, as Go sorts: "-1" < "10" < "9" */
	ck_assert_ptr_nonnull(strstr(req, "\"ByNum\":{\"-1\":\"minus\",\"10\":"
	                                  "\"ten\",\"9\":\"nine\"}"));
	ck_assert_ptr_nonnull(strstr(req, "\"Counts\":{\"\":0,\"\\u003c\":3,"
	                                  "\"a\":1,\"b\":2}"));
	free(req);
	rpc_message_free_contents(&e.base);
	/* bool keys (Go cannot): "true"/"false" */
	m.n_byflag = 2;
	m.byflag = calloc(2, sizeof *m.byflag);
	ck_assert_ptr_nonnull(m.byflag);
	for (i = 0; i < 2; i++) {
		m.byflag[i] = (Jt__BoolMap__ByFlagEntry *)rpci_message_new(
			&jt__bool_map__by_flag_entry__descriptor);
		ck_assert_ptr_nonnull(m.byflag[i]);
		m.byflag[i]->key = i == 0;
		m.byflag[i]->value = i + 1;
	}
	assert_params(&type_boolmap, &m.base,
	              "{\"ByFlag\":{\"false\":2,\"true\":1}}");
	ck_assert_ptr_null(dec_params("[{\"ByFlag\":{\"true\":5}}]",
	                              &type_boolmap, &back.base));
	ck_assert_uint_eq(back.n_byflag, 1);
	ck_assert(back.byflag[0]->key);
	ck_assert_int_eq(back.byflag[0]->value, 5);
	rpc_message_free_contents(&back.base);
	rpc_message_free_contents(&m.base);
	assert_body_error("[{\"ByFlag\":{\"yes\":5}}]", &type_boolmap,
	                  "json: cannot unmarshal number yes into Go struct "
	                  "field BoolMap.ByFlag of type bool");
}
END_TEST

START_TEST(test_strings_escaped_as_go)
{
	Jt__StringValue s = JT__STRING_VALUE__INIT;

	s.value = "<a href=\"x\">&\x7f\x1f\b\f\r\n\t\\ \xe2\x80\xa8\xe2\x80\xa9";
	assert_params(&type_string, &s.base,
	              "\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\x7f\\u001f"
	              "\\u0008\\u000c\\r\\n\\t\\\\ \\u2028\\u2029\"");
	/* invalid UTF-8 becomes U+FFFD, as in Go */
	s.value = "a\xff\xc3(\xed\xa0\x80z";
	assert_params(&type_string, &s.base,
	              "\"a\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffdz\"");
	s.value = NULL;
	ck_assert_ptr_null(dec_params("[\"\\ud83d\\ude00\\ud800\\u00e9\\/\"]",
	                              &type_string, &s.base));
	ck_assert_str_eq(s.value, "\xf0\x9f\x98\x80\xef\xbf\xbd\xc3\xa9/");
	free(s.value);
}
END_TEST

START_TEST(test_nesting_limit_on_both_sides)
{
	ProtobufCMessage *head = NULL;
	Jt__Node *n, back = JT__NODE__INIT;
	char *req, *params, *m;
	int i;

	for (i = 0; i < 98; i++) {
		n = (Jt__Node *)rpci_message_new(&jt__node__descriptor);
		ck_assert_ptr_nonnull(n);
		n->next = (Jt__Node *)head;
		head = &n->base;
	}
	req = enc_request(&type_node, head);
	params = strstr(req, "\"params\":");
	ck_assert_ptr_nonnull(params);
	*strstr(req, ",\"id\":1}\n") = '\0';
	ck_assert_ptr_null(dec_params(params + 9, &type_node, &back.base));
	ck_assert_ptr_nonnull(back.next);
	rpc_message_free_contents(&back.base);
	free(req);
	/* one more level cannot be sent */
	n = (Jt__Node *)rpci_message_new(&jt__node__descriptor);
	ck_assert_ptr_nonnull(n);
	n->next = (Jt__Node *)head;
	head = &n->base;
	m = enc_fail(&type_node, head);
	ck_assert_str_eq(m, "rpc: json: nesting deeper than 100");
	free(m);
	rpci_message_free(head);
}
END_TEST

START_TEST(test_bare_values_and_wrappers)
{
	Jt__Int64Value v = JT__INT64_VALUE__INIT;
	Jt__ArgsList l = JT__ARGS_LIST__INIT;
	Jt__CountsMap c = JT__COUNTS_MAP__INIT;
	Jt__BytesValue b = JT__BYTES_VALUE__INIT;
	Jt__BoolValue t = JT__BOOL_VALUE__INIT;
	Jt__Args a = JT__ARGS__INIT;

	ck_assert_ptr_null(dec_params("[5, \"ignored\"]", &type_int64, &v.base));
	ck_assert_int_eq(v.value, 5);
	ck_assert_ptr_null(dec_params("[[{\"A\":1},{\"B\":2}]]", &type_list,
	                              &l.base));
	ck_assert_uint_eq(l.n_value, 2);
	ck_assert_int_eq(l.value[1]->b, 2);
	rpc_message_free_contents(&l.base);
	ck_assert_ptr_null(dec_params("[{\"x\":1,\"y\":-2}]", &type_map, &c.base));
	ck_assert_uint_eq(c.n_value, 2);
	ck_assert_str_eq(c.value[1]->key, "y");
	ck_assert_int_eq(c.value[1]->value, -2);
	rpc_message_free_contents(&c.base);
	ck_assert_ptr_null(dec_params("[\"aGk=\"]", &type_bytes, &b.base));
	ck_assert_uint_eq(b.value.len, 2);
	ck_assert(memcmp(b.value.data, "hi", 2) == 0);
	rpc_message_free_contents(&b.base);
	ck_assert_ptr_null(dec_params("[true]", &type_bool, &t.base));
	ck_assert(t.value);
	/* [] and [null] leave the zero value */
	ck_assert_ptr_null(dec_params("[]", &type_args, &a.base));
	ck_assert_ptr_null(dec_params("[null]", &type_args, &a.base));
	ck_assert_int_eq(a.a, 0);
}
END_TEST

/* A failed decode leaves nothing allocated behind and the value reset. */
START_TEST(test_failed_decode_frees_partial_value)
{
	Jt__Everything e = JT__EVERYTHING__INIT;
	char *m;

	m = dec_params("[{\"Name\":\"n\",\"Items\":[{\"A\":1},{\"A\":2}],"
	               "\"Counts\":{\"a\":1},\"Nums\":[1,2,\"x\"]}]",
	               &type_every, &e.base);
	ck_assert_ptr_nonnull(m);
	free(m);
	ck_assert_uint_eq(e.n_items, 0);
	ck_assert_uint_eq(e.n_counts, 0);
	ck_assert_uint_eq(e.n_nums, 0);
	rpc_message_free_contents(&e.base);
}
END_TEST

/* A oneof is written as Go writes its struct of pointers: every member,
 * null unless it is the one set; a set member is written even when zero
 * (empty bytes as "", Go's non-nil pointer to an empty slice). */
START_TEST(test_oneof_written_as_go_pointers)
{
	Jt2__Pick p = JT2__PICK__INIT;
	Jt2__Opt o = JT2__OPT__INIT;

	assert_params(&type_pick, &p.base,
	              "{\"N\":null,\"S\":null,\"O\":null,\"B\":null}");
	p.choice_case = JT2__PICK__CHOICE_S;
	p.s = "x";
	assert_params(&type_pick, &p.base,
	              "{\"N\":null,\"S\":\"x\",\"O\":null,\"B\":null}");
	p.choice_case = JT2__PICK__CHOICE_N;
	p.n = 0;
	assert_params(&type_pick, &p.base,
	              "{\"N\":0,\"S\":null,\"O\":null,\"B\":null}");
	p.choice_case = JT2__PICK__CHOICE_B;
	p.b.len = 0;
	p.b.data = NULL;
	assert_params(&type_pick, &p.base,
	              "{\"N\":null,\"S\":null,\"O\":null,\"B\":\"\"}");
	p.choice_case = JT2__PICK__CHOICE_O;
	p.o = &o;
	o.r = 7;
	assert_params(&type_pick, &p.base,
	              "{\"N\":null,\"S\":null,\"O\":{\"Maybe\":null,"
	              "\"S\":null,\"U\":null,\"R\":7,\"B\":null},"
	              "\"B\":null}");
}
END_TEST

/* Reading a oneof: null leaves a member unset (and unsets the set one), a
 * repeated key replaces its value, a second member is an error naming
 * both; what was decoded is freed with the message (the sanitizers and
 * valgrind watch). */
START_TEST(test_oneof_read_as_go_pointers)
{
	Jt2__Pick p = JT2__PICK__INIT;
	char *err;

	ck_assert_ptr_null(dec_params("[{\"N\":null,\"S\":\"a\"}]",
	                              &type_pick, &p.base));
	ck_assert_int_eq(p.choice_case, JT2__PICK__CHOICE_S);
	ck_assert_str_eq(p.s, "a");
	rpc_message_free_contents(&p.base);
	ck_assert_ptr_null(dec_params("[{\"S\":\"a\",\"S\":\"b\"}]",
	                              &type_pick, &p.base));
	ck_assert_int_eq(p.choice_case, JT2__PICK__CHOICE_S);
	ck_assert_str_eq(p.s, "b");
	rpc_message_free_contents(&p.base);
	ck_assert_ptr_null(dec_params("[{\"S\":\"a\",\"S\":null}]",
	                              &type_pick, &p.base));
	ck_assert_int_eq(p.choice_case, JT2__PICK__CHOICE__NOT_SET);
	rpc_message_free_contents(&p.base);
	ck_assert_ptr_null(dec_params("[{\"O\":{\"R\":1},\"O\":null}]",
	                              &type_pick, &p.base));
	ck_assert_int_eq(p.choice_case, JT2__PICK__CHOICE__NOT_SET);
	rpc_message_free_contents(&p.base);
	ck_assert_ptr_null(dec_params("[{\"B\":\"AAE=\",\"N\":null}]",
	                              &type_pick, &p.base));
	ck_assert_int_eq(p.choice_case, JT2__PICK__CHOICE_B);
	ck_assert_uint_eq(p.b.len, 2);
	rpc_message_free_contents(&p.base);
	ck_assert_ptr_null(
	    dec_params("[{\"O\":{\"R\":3}}]", &type_pick, &p.base));
	ck_assert_int_eq(p.choice_case, JT2__PICK__CHOICE_O);
	ck_assert_int_eq(p.o->r, 3);
	rpc_message_free_contents(&p.base);

	err = dec_params("[{\"N\":1,\"S\":\"x\"}]", &type_pick, &p.base);
	ck_assert_str_eq(err, "json: field Pick.S: another member of its "
	                      "oneof (N) is set");
	free(err);
	rpc_message_free_contents(&p.base);
	err = dec_params("[{\"O\":{\"R\":1},\"B\":\"AA==\"}]", &type_pick,
	                 &p.base);
	ck_assert_str_eq(err, "json: field Pick.B: another member of its "
	                      "oneof (O) is set");
	free(err);
	rpc_message_free_contents(&p.base);
	/* a member that fails half-way is still the one set, so the failed
	 * read frees it (and resets the message) */
	err = dec_params("[{\"O\":{\"S\":\"s\",\"R\":\"x\"}}]", &type_pick,
	                 &p.base);
	ck_assert_ptr_nonnull(err);
	free(err);
	ck_assert_int_eq(p.choice_case, JT2__PICK__CHOICE__NOT_SET);
	ck_assert_ptr_null(p.o);
	rpc_message_free_contents(&p.base);
}
END_TEST

/* Appending to a buffer that holds earlier output: a failed write leaves
 * the earlier bytes alone. */
START_TEST(test_failed_write_keeps_earlier_output)
{
	session c;
	rpci_buf b = {0};
	rpci_header h = {.service_method = "A.B", .seq = 1};
	Jt__DoubleValue d = JT__DOUBLE_VALUE__INIT;
	rpc_error *err;

	session_open(&c, false, 0);
	ck_assert(rpci_buf_append(&b, "earlier", 7));
	d.value = NAN;
	err = rpc_codec_json.write(c.state, &h, &type_double, &d.base, &b);
	ck_assert_ptr_nonnull(err);
	rpc_error_free(err);
	ck_assert_uint_eq(b.len, 7);
	ck_assert(memcmp(b.data, "earlier", 7) == 0);
	rpci_buf_fini(&b);
	session_close(&c);
	ck_assert_str_eq(rpc_codec_json.name, "json");
	rpc_codec_json.state_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json");
	TCase *tc;
	SRunner *sr;
	int failed;

	tc = tcase_create("framing");
	tcase_add_test(tc, test_read_every_prefix_asks_for_more);
	tcase_add_test(tc, test_read_resumes_across_chunks);
	tcase_add_test(tc, test_read_back_to_back_messages);
	tcase_add_test(tc, test_read_bounded_by_max_frame);
	tcase_add_test(tc, test_read_bounded_depth);
	tcase_add_test(tc, test_read_syntax_errors_as_go_words_them);
	tcase_add_test(tc, test_read_mutations_never_crash);
	suite_add_tcase(s, tc);

	tc = tcase_create("envelope");
	tcase_add_test(tc, test_client_request_bytes);
	tcase_add_test(tc, test_server_echoes_any_id);
	tcase_add_test(tc, test_server_answers_out_of_order_and_once);
	tcase_add_test(tc, test_server_ids_shared_by_reader_and_writer);
	tcase_add_test(tc, test_server_header_errors);
	tcase_add_test(tc, test_client_reads_responses_as_go);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_test(tc, test_roundtrip_every_field_kind);
	tcase_add_test(tc, test_uint64_max_is_exact);
	tcase_add_test(tc, test_floats_shortest_as_go);
	tcase_add_test(tc, test_nan_and_inf_are_refused);
	tcase_add_test(tc, test_out_of_range_and_wrong_kind_are_errors);
	tcase_add_test(tc, test_keys_match_as_go);
	tcase_add_test(tc, test_null_and_empty);
	tcase_add_test(tc, test_maps_sorted_and_keyed_as_go);
	tcase_add_test(tc, test_strings_escaped_as_go);
	tcase_add_test(tc, test_nesting_limit_on_both_sides);
	tcase_add_test(tc, test_bare_values_and_wrappers);
	tcase_add_test(tc, test_failed_decode_frees_partial_value);
	tcase_add_test(tc, test_oneof_written_as_go_pointers);
	tcase_add_test(tc, test_oneof_read_as_go_pointers);
	tcase_add_test(tc, test_failed_write_keeps_earlier_output);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
