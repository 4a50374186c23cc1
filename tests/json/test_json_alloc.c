/* test_json_alloc.c - out of memory at every allocation of the JSON codec.
 *
 * The allocation functions are wrapped at link time (tests/support/sup_alloc.h):
 * when armed, the Nth allocation fails, and every allocation and free is
 * counted. Each test
 * walks N = 0, 1, 2, ... through one round (a server reading, decoding and
 * answering a request; a client writing one and decoding the answer) until
 * the round no longer reaches allocation N. At every N the round must fail
 * cleanly (an error, never a crash) or succeed, and leave exactly as many
 * live allocations as before it. The walks run in every build: plain,
 * sanitizers and valgrind. */
#include <errno.h>
#include <stdio.h>

#include "sup_alloc.h"
#include "helpers.h"

/* What a round saw that is wrong; checked once the round is disarmed
 * (Check itself allocates in its asserts). */
static const char *round_bad;

/* A full request and its answer, as the rounds send and receive them. */
static char *request_text;
static char *response_text;

static void texts_make(void)
{
	Jt__Everything e = JT__EVERYTHING__INIT;
	session c, s;
	rpci_msg msg;
	char *req, *resp;

	full_everything(&e);
	session_open(&c, false, 0);
	req = write_ok(&c, "Svc.Full", 1, NULL, &type_every, &e.base);
	session_close(&c);
	/* an id the server must echo: a string with escapes and white space */
	request_text = malloc(strlen(req) + 64);
	ck_assert_ptr_nonnull(request_text);
	strcpy(request_text, req);
	strcpy(strstr(request_text, "\"id\":1}") + 5,
	       " [\"<a>\", {\"k\": 1.50}] }\n");
	session_open(&s, true, 0);
	read_ok(&s, request_text, &msg);
	resp = write_ok(&s, NULL, msg.seq, NULL, &type_every, &e.base);
	rpc_codec_json.msg_clear(s.state, &msg);
	session_close(&s);
	/* the client reads an answer with a number id */
	response_text = malloc(strlen(resp) + 16);
	ck_assert_ptr_nonnull(response_text);
	strcpy(response_text, "{\"id\":1");
	strcat(response_text, strchr(resp, ']') + 1);
	free(req);
	free(resp);
	rpc_message_free_contents(&e.base);
}

static void texts_free(void)
{
	free(request_text);
	free(response_text);
}

/* server_round reads, decodes and answers one request. Returns whether
 * every step succeeded. */
static bool server_round(void)
{
	Jt__Everything e = JT__EVERYTHING__INIT;
	void *state = NULL;
	rpci_msg msg;
	rpci_buf out = {0};
	rpci_header h = {0};
	rpc_error *err = NULL;
	size_t used = 0;
	bool ok = false;

	if ((err = rpc_codec_json.state_new(true, 0, &state)) != NULL)
		goto out;
	memset(&msg, 0, sizeof msg);
	if (rpc_codec_json.read(state, (const uint8_t *)request_text,
	                        strlen(request_text), &used, &msg,
	                        &err) != RPCI_READ_OK) {
		if (err == NULL)
			round_bad = "read failed without an error";
		goto out;
	}
	err = rpc_codec_json.read_body(state, &msg, &type_every, &e.base);
	if (err == NULL) {
		h.seq = msg.seq;
		err = rpc_codec_json.write(state, &h, &type_every, &e.base, &out);
		ok = err == NULL;
		if (ok && (out.len < 40 ||
		           memcmp(out.data, "{\"id\":[\"\\u003ca\\u003e\",{\"k\":"
		                            "1.50}],\"result\":{", 40) != 0))
			round_bad = "the answer does not echo the id";
	}
	rpc_codec_json.msg_clear(state, &msg);
out:
	rpc_error_free(err);
	rpc_message_free_contents(&e.base);
	rpci_buf_fini(&out);
	rpc_codec_json.state_free(state);
	return ok;
}

/* client_round writes one request and reads and decodes the answer. */
static bool client_round(void)
{
	Jt__Everything e = JT__EVERYTHING__INIT, back = JT__EVERYTHING__INIT;
	void *state = NULL;
	rpci_msg msg;
	rpci_buf out = {0};
	rpci_header h = {.service_method = "Svc.Full", .seq = 1};
	rpc_error *err = NULL;
	size_t used = 0;
	bool ok = false;

	/* the value to send is made before the round is armed */
	if ((err = rpc_codec_json.state_new(false, 0, &state)) != NULL)
		goto out;
	memset(&msg, 0, sizeof msg);
	e.name = "a";
	e.ul = UINT64_MAX;
	e.d = 0.1;
	if ((err = rpc_codec_json.write(state, &h, &type_every, &e.base,
	                                &out)) != NULL)
		goto out;
	if (rpc_codec_json.read(state, (const uint8_t *)response_text,
	                        strlen(response_text), &used, &msg,
	                        &err) != RPCI_READ_OK) {
		if (err == NULL)
			round_bad = "read failed without an error";
		goto out;
	}
	err = rpc_codec_json.read_body(state, &msg, &type_every, &back.base);
	ok = err == NULL;
	if (ok && (back.ul != UINT64_MAX || back.n_byu != 2))
		round_bad = "decoded the wrong value";
	rpc_codec_json.msg_clear(state, &msg);
out:
	rpc_error_free(err);
	rpc_message_free_contents(&back.base);
	rpci_buf_fini(&out);
	rpc_codec_json.state_free(state);
	return ok;
}

/* walk runs round with allocation N failing, for N = 0, 1, ... */
static void walk(bool (*round)(void), const char *name)
{
	long n, failures = 0;

	for (n = 0; n < 100000; n++) {
		long live = sup_alloc_live();
		bool ok, hit;

		round_bad = NULL;
		sup_alloc_arm(n);
		ok = round();
		hit = sup_alloc_disarm();
		ck_assert_msg(round_bad == NULL, "%s: allocation %ld failing: %s",
		              name, n, round_bad);
		ck_assert_msg(sup_alloc_live() == live,
		              "%s: allocation %ld failing leaks %ld blocks", name,
		              n, sup_alloc_live() - live);
		if (!hit) {
			ck_assert_msg(ok, "%s: fails with no allocation failing",
			              name);
			break;
		}
		if (!ok)
			failures++;
	}
	ck_assert_msg(n > 10 && failures > 0, "%s: walked %ld points", name, n);
	printf("%s: %ld allocation points, each failing cleanly\n", name, n);
}

START_TEST(test_alloc_server_round)
{
	texts_make();
	walk(server_round, "server");
	texts_free();
}
END_TEST

START_TEST(test_alloc_client_round)
{
	texts_make();
	walk(client_round, "client");
	texts_free();
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	if (!sup_alloc_wrapped()) {
		puts("test_json_alloc: the allocation wrappers are not linked in");
		return 1;
	}
	s = suite_create("json_alloc");
	tc = tcase_create("oom");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_alloc_server_round);
	tcase_add_test(tc, test_alloc_client_round);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
