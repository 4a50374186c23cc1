/* test_json_layers.c - the JSON syntax (json_syntax.c) and the writer
 * (json_write.c) on their own, below the codec: where the scanner says a
 * value ends, that it resumes at any split of its input, Go's error texts,
 * the nesting bound, UTF-8; the writer's quoting, floats and base64, byte
 * for byte as Go's encoding/json writes them. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "json.h"

/* scan_all scans in[0..len) in one go. */
static scan_status scan_all(const char *in, size_t len, size_t *start,
                            size_t *end, char *err, size_t errlen)
{
	scanner sc = {.in = (const uint8_t *)in, .len = len};
	scan_resume r;
	scan_status st;

	rpci_json_scan_reset(&r);
	st = rpci_json_scan(&sc, &r, start, end);
	if (err != NULL)
		snprintf(err, errlen, "%s", sc.err);
	return st;
}

START_TEST(test_json_scan_finds_value_end)
{
	static const char in[] = " \n{\"a\":[1,-2.5e+3,\"x\\u00e9\\n\",true,"
	                         "false,null],\"b\":{}} [2]";
	size_t start = 0, end = 0;

	ck_assert_int_eq(scan_all(in, strlen(in), &start, &end, NULL, 0),
	                 SCAN_OK);
	ck_assert_uint_eq(start, 2);
	ck_assert_uint_eq(end, strlen(in) - 4);
}
END_TEST

/* Fed one more byte at a time, with the same resume state, the scanner
 * asks for more until the value is whole, then ends where a single scan
 * ends. */
START_TEST(test_json_scan_resumes_at_every_split)
{
	static const char in[] =
	    "{\"method\":\"A.B\",\"params\":[{\"s\":\"a\\\"b\",\"n\":[1.5e3,"
	    "-0,true]}],\"id\":\"x\"}\n";
	size_t len = strlen(in), s1, e1, s2, e2, n;
	scan_resume r;
	scan_status st = SCAN_AGAIN;

	ck_assert_int_eq(scan_all(in, len, &s1, &e1, NULL, 0), SCAN_OK);
	rpci_json_scan_reset(&r);
	for (n = 0; n <= len && st == SCAN_AGAIN; n++) {
		scanner sc = {.in = (const uint8_t *)in, .len = n};

		st = rpci_json_scan(&sc, &r, &s2, &e2);
	}
	ck_assert_int_eq(st, SCAN_OK);
	ck_assert_uint_eq(s2, s1);
	ck_assert_uint_eq(e2, e1);
	ck_assert_uint_eq(n - 1, e1); /* OK as soon as the value is whole */
}
END_TEST

/* A long string cut at any point is not scanned again from its quote:
 * the resume state notes how far it was valid (within one escape of the
 * end), and an error after the cut is still found, at every split. */
START_TEST(test_json_scan_long_string_resumes_inside)
{
	enum { N = 4096 };
	static const char *const tails[] = {
	    "ab\\u00e9\\n\\\\\\\"cd\"", /* valid: ab\u00e9\n\\\"cd" */
	    "ab\\u00G9\"",              /* a bad \u hex digit */
	    "ab\\x\"",                  /* a bad escape */
	    "ab\001\"",                 /* a control character */
	};
	char *in = malloc(N + 64);
	size_t s, e, n;

	ck_assert_ptr_nonnull(in);
	for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
		in[0] = '"';
		memset(in + 1, 'x', N);
		strcpy(in + 1 + N, tails[t]);
		size_t len = strlen(in);
		scan_status want = scan_all(in, len, &s, &e, NULL, 0);
		scan_resume r;
		scan_status st = SCAN_AGAIN;

		ck_assert_int_eq(want, t == 0 ? SCAN_OK : SCAN_ERROR);
		rpci_json_scan_reset(&r);
		for (n = 1; n <= len && st == SCAN_AGAIN; n += 7) {
			scanner sc = {.in = (const uint8_t *)in, .len = n};

			st = rpci_json_scan(&sc, &r, &s, &e);
			if (st == SCAN_AGAIN)
				ck_assert_uint_ge(r.str_next + 6, n);
		}
		if (st == SCAN_AGAIN) { /* the last step went past the end */
			scanner sc = {.in = (const uint8_t *)in, .len = len};

			st = rpci_json_scan(&sc, &r, &s, &e);
		}
		ck_assert_int_eq(st, want);
	}
	free(in);
}
END_TEST

START_TEST(test_json_scan_go_error_texts)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"[1,]", "invalid character ']' looking for beginning of value"},
	    {"{\"a\" 1}", "invalid character '1' after object key"},
	    {"{\"a\":1 \"b\"}",
	     "invalid character '\"' after object key:value pair"},
	    {"[1 2]", "invalid character '2' after array element"},
	    {"tru]", "invalid character ']' in literal true (expecting 'e')"},
	    {"\"\\x\"", "invalid character 'x' in string escape code"},
	    {"{1:2}",
	     "invalid character '1' looking for beginning of object key "
	     "string"},
	};
	char err[128];
	size_t i, s, e;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_int_eq(scan_all(cases[i].in, strlen(cases[i].in), &s,
		                          &e, err, sizeof err),
		                 SCAN_ERROR);
		ck_assert_str_eq(err, cases[i].want);
	}
}
END_TEST

START_TEST(test_json_scan_depth_bound)
{
	char in[2 * JSON_MAX_DEPTH + 4];
	size_t s, e;
	char err[128];
	int i;

	for (i = 0; i < JSON_MAX_DEPTH; i++) {
		in[i] = '[';
		in[JSON_MAX_DEPTH + i] = ']';
	}
	ck_assert_int_eq(
	    scan_all(in, 2 * JSON_MAX_DEPTH, &s, &e, err, sizeof err), SCAN_OK);
	memmove(in + 1, in, 2 * JSON_MAX_DEPTH);
	in[0] = '[';
	in[2 * JSON_MAX_DEPTH + 1] = ']';
	ck_assert_int_eq(
	    scan_all(in, 2 * JSON_MAX_DEPTH + 2, &s, &e, err, sizeof err),
	    SCAN_ERROR);
}
END_TEST

START_TEST(test_json_utf8_decode)
{
	static const struct {
		const char *in;
		size_t len;
		uint32_t rune;
	} cases[] = {
	    {"a", 1, 'a'},
	    {"\xc3\xa9", 2, 0xe9},
	    {"\xe2\x80\xa8", 3, 0x2028},
	    {"\xf0\x9f\x98\x80", 4, 0x1f600},
	    {"\xc0\x80", 0, 0},         /* overlong */
	    {"\xed\xa0\x80", 0, 0},     /* surrogate */
	    {"\xf4\x90\x80\x80", 0, 0}, /* above U+10FFFF */
	    {"\xe2\x80", 0, 0},         /* truncated */
	    {"\xff", 0, 0},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint32_t r = 0;
		size_t n = rpci_json_utf8_decode((const uint8_t *)cases[i].in,
		                                 strlen(cases[i].in), &r);

		ck_assert_uint_eq(n, cases[i].len);
		if (n != 0)
			ck_assert_uint_eq(r, cases[i].rune);
	}
}
END_TEST

/* written runs f on a fresh writer and returns the text (caller frees). */
static char *written(void (*f)(jw *w, const void *arg), const void *arg,
                     bool *failed)
{
	rpci_buf b = {0};
	jw w = {.b = &b};
	char *s;

	f(&w, arg);
	*failed = w.err != NULL;
	rpc_error_free(w.err);
	ck_assert(!w.oom);
	s = malloc(b.len + 1);
	ck_assert_ptr_nonnull(s);
	if (b.len > 0)
		memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	rpci_buf_fini(&b);
	return s;
}

static void write_quote(jw *w, const void *arg)
{
	rpci_json_jw_quote(w, arg, strlen(arg));
}

START_TEST(test_json_write_quote_as_go)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"plain", "\"plain\""},
	    {"<a&b>", "\"\\u003ca\\u0026b\\u003e\""},
	    {"q\"\\/", "\"q\\\"\\\\/\""},
	    {"\n\r\t\x01\x1f", "\"\\n\\r\\t\\u0001\\u001f\""},
	    {"\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\""},
	    {"bad\xff", "\"bad\\ufffd\""},
	    {"\xc3\xa9", "\"\xc3\xa9\""},
	};
	size_t i;
	bool failed;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *s = written(write_quote, cases[i].in, &failed);

		ck_assert(!failed);
		ck_assert_str_eq(s, cases[i].want);
		free(s);
	}
}
END_TEST

typedef struct float_case {
	double v;
	bool single;
	const char *want; /* NULL: an error */
} float_case;

static void write_float(jw *w, const void *arg)
{
	const float_case *c = arg;

	rpci_json_jw_float(w, c->v, c->single);
}

START_TEST(test_json_write_floats_as_go)
{
	static const float_case cases[] = {
	    {0, false, "0"},
	    {0.1, false, "0.1"},
	    {-2.5, false, "-2.5"},
	    {1e20, false, "100000000000000000000"},
	    {1e21, false, "1e+21"},
	    {0.000001, false, "0.000001"},
	    {1e-7, false, "1e-7"},
	    {123456789.125, false, "123456789.125"},
	    {5e-324, false, "5e-324"},
	    {1.7976931348623157e308, false, "1.7976931348623157e+308"},
	    {0.1f, true, "0.1"},
	    {3.4028234663852886e38, true, "3.4028235e+38"},
	    {NAN, false, NULL},
	    {INFINITY, false, NULL},
	};
	size_t i;
	bool failed;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *s = written(write_float, &cases[i], &failed);

		if (cases[i].want == NULL) {
			ck_assert_msg(failed, "case %zu: no error", i);
		} else {
			ck_assert_msg(!failed, "case %zu: error", i);
			ck_assert_str_eq(s, cases[i].want);
		}
		free(s);
	}
}
END_TEST

static void write_base64(jw *w, const void *arg)
{
	rpci_json_jw_base64(w, arg, strlen(arg));
}

START_TEST(test_json_write_base64)
{
	static const char *const cases[][2] = {
	    {"", "\"\""},        {"f", "\"Zg==\""},        {"fo", "\"Zm8=\""},
	    {"foo", "\"Zm9v\""}, {"\xfb\xff", "\"+/8=\""},
	};
	size_t i;
	bool failed;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *s = written(write_base64, cases[i][0], &failed);

		ck_assert(!failed);
		ck_assert_str_eq(s, cases[i][1]);
		free(s);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json_layers");
	TCase *tc = tcase_create("syntax");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_json_scan_finds_value_end);
	tcase_add_test(tc, test_json_scan_resumes_at_every_split);
	tcase_add_test(tc, test_json_scan_long_string_resumes_inside);
	tcase_add_test(tc, test_json_scan_go_error_texts);
	tcase_add_test(tc, test_json_scan_depth_bound);
	tcase_add_test(tc, test_json_utf8_decode);
	suite_add_tcase(s, tc);
	tc = tcase_create("writer");
	tcase_add_test(tc, test_json_write_quote_as_go);
	tcase_add_test(tc, test_json_write_floats_as_go);
	tcase_add_test(tc, test_json_write_base64);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
