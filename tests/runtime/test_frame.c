/* test_frame.c - native framing and the protobuf codec. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "frame.h"
#include "internal.h"
#include "rt.pb-c.h"

static const rpc_type type_args = {"Args", &rt__args__descriptor,
                                   RPC_FORM_MESSAGE};
static const rpc_type type_int64 = {"int64", &rt__int64__descriptor,
                                    RPC_FORM_VALUE};

/* frame_encode builds one frame with the codec. */
static void frame_encode(rpci_buf *out, const char *sm, uint64_t seq,
                         const char *error, const ProtobufCMessage *body,
                         size_t max)
{
	const rpc_codec *k = &rpc_codec_protobuf;
	void *st;
	rpci_header h = {.service_method = sm, .seq = seq, .error = error};

	ck_assert_ptr_null(k->state_new(false, max, &st));
	ck_assert_ptr_null(
	    k->write(st, &h, body ? &type_args : NULL, body, out));
	k->state_free(st);
}

START_TEST(test_varint_round_trip)
{
	static const uint64_t vals[] = {
	    0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, UINT64_MAX};
	uint8_t b[RPCI_VARINT_MAX];
	uint64_t v;
	size_t i, n;

	for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		n = rpci_varint_put(b, vals[i]);
		ck_assert_uint_eq(rpci_varint_get(b, n, &v), n);
		ck_assert_uint_eq(v, vals[i]);
		if (n > 1)
			ck_assert_uint_eq(rpci_varint_get(b, n - 1, &v), 0);
	}
	memset(b, 0xff, sizeof b);
	ck_assert_uint_eq(rpci_varint_get(b, sizeof b, &v), SIZE_MAX);
}
END_TEST

START_TEST(test_frame_round_trip)
{
	Rt__Args args = RT__ARGS__INIT;
	rpci_buf out = {0};
	rpci_frame f;
	rpc_error *err = NULL;
	size_t used = 0;

	args.a = 7;
	args.b = 8;
	frame_encode(&out, "Arith.Multiply", 5, NULL, &args.base, 0);
	ck_assert_int_eq(
	    rpci_frame_read(out.data, out.len, 1024, false, &used, &f, &err),
	    RPCI_READ_OK);
	ck_assert_uint_eq(used, out.len);
	ck_assert_uint_eq(f.service_method_len, 14);
	ck_assert(memcmp(f.service_method, "Arith.Multiply", 14) == 0);
	ck_assert_uint_eq(f.seq, 5);
	ck_assert_uint_eq(f.error_len, 0);
	ck_assert_uint_eq(f.body_len, 4); /* 08 07 10 08 */
	ck_assert(memcmp(f.body, "\x08\x07\x10\x08", 4) == 0);
	rpci_buf_fini(&out);
}
END_TEST

/* The worked example of docs/framing.md, byte for byte. */
START_TEST(test_frame_doc_example)
{
	static const uint8_t req[] = {0x00, 0x00, 0x00, 0x15, 0x0e, 'A',  'r',
	                              'i',  't',  'h',  '.',  'M',  'u',  'l',
	                              't',  'i',  'p',  'l',  'y',  0x00, 0x00,
	                              0x08, 0x07, 0x10, 0x08};
	static const uint8_t resp[] = {
	    0x00, 0x00, 0x00, 0x13, 0x0e, 'A', 'r', 'i',  't',  'h',  '.', 'M',
	    'u',  'l',  't',  'i',  'p',  'l', 'y', 0x00, 0x00, 0x08, 0x38};
	static const uint8_t fail[] = "\x00\x00\x00\x1f\x0e"
	                              "Arith.Multiply"
	                              "\x00\x0e"
	                              "divide by zero";
	Rt__Args args = RT__ARGS__INIT;
	Rt__Int64 v = RT__INT64__INIT;
	rpci_buf out = {0};

	args.a = 7;
	args.b = 8;
	frame_encode(&out, "Arith.Multiply", 0, NULL, &args.base, 0);
	ck_assert_uint_eq(out.len, sizeof req);
	ck_assert(memcmp(out.data, req, sizeof req) == 0);
	out.len = 0;
	v.value = 56;
	frame_encode(&out, "Arith.Multiply", 0, "", &v.base, 0);
	ck_assert_uint_eq(out.len, sizeof resp);
	ck_assert(memcmp(out.data, resp, sizeof resp) == 0);
	out.len = 0;
	frame_encode(&out, "Arith.Multiply", 0, "divide by zero", NULL, 0);
	ck_assert_uint_eq(out.len, sizeof fail - 1);
	ck_assert(memcmp(out.data, fail, sizeof fail - 1) == 0);
	rpci_buf_fini(&out);
}
END_TEST

/* The request with a deadline of docs/framing.md, byte for byte, and what
 * the serving side reads from it. */
START_TEST(test_frame_doc_example_timeout)
{
	static const uint8_t req[] = "\x00\x00\x00\x19\x0e"
	                             "Arith.Multiply"
	                             "\x00"
	                             "\x04\x08\xe0\xc6\x5b"
	                             "\x08\x07\x10\x08";
	const rpc_codec *k = &rpc_codec_protobuf;
	rpci_header h = {.service_method = "Arith.Multiply",
	                 .timeout_us = 1500000};
	Rt__Args args = RT__ARGS__INIT;
	rpci_buf out = {0};
	rpci_msg msg = {0};
	rpc_error *err = NULL;
	rpci_frame f;
	size_t used;
	void *st;

	args.a = 7;
	args.b = 8;
	ck_assert_ptr_null(k->state_new(false, 0, &st));
	ck_assert_ptr_null(k->write(st, &h, &type_args, &args.base, &out));
	k->state_free(st);
	ck_assert_uint_eq(out.len, sizeof req - 1);
	ck_assert(memcmp(out.data, req, sizeof req - 1) == 0);

	/* The server's codec gives the time left. */
	ck_assert_ptr_null(k->state_new(true, 0, &st));
	ck_assert_int_eq(k->read(st, out.data, out.len, &used, &msg, &err),
	                 RPCI_READ_OK);
	ck_assert_uint_eq(used, out.len);
	ck_assert_uint_eq(msg.timeout_us, 1500000);
	ck_assert_str_eq(msg.error, "");
	ck_assert_uint_eq(msg.body_len, 4);
	k->msg_clear(st, &msg);
	k->state_free(st);

	/* A reader from before request options (which read the slot as a
	 * text and ignored it in requests) still accepts the frame: the slot
	 * has no NUL byte. */
	ck_assert_int_eq(
	    rpci_frame_read(out.data, out.len, 1024, false, &used, &f, &err),
	    RPCI_READ_OK);
	ck_assert_uint_eq(f.error_len, 4);
	ck_assert(memchr(f.error, 0, f.error_len) == NULL);
	ck_assert_uint_eq(f.body_len, 4);
	rpci_buf_fini(&out);
}
END_TEST

/* Request options: no options is the old frame; unknown fields of every
 * wire type are skipped; a broken option is a malformed header. */
START_TEST(test_frame_request_options)
{
	static const uint8_t none[] = "\x00\x00\x00\x06\x03"
	                              "A.B\x07\x00";
	/* field 2 varint, field 3 fixed64, field 4 bytes (with a NUL),
	 * field 5 fixed32, then field 1 = 300. */
	static const uint8_t unknown[] =
	    "\x00\x00\x00\x1d\x03"
	    "A.B\x07"
	    "\x17\x10\x05\x19\x01\x02\x03\x04\x05\x06\x07\x08"
	    "\x22\x02\x00\x00\x2d\x01\x02\x03\x04\x08\xac\x02";
	static const uint8_t bad_wire[] = "\x00\x00\x00\x08\x03"
	                                  "A.B\x07\x02\x0b\x00";
	static const uint8_t bad_len[] = "\x00\x00\x00\x08\x03"
	                                 "A.B\x07\x02\x22\x05";
	static const uint8_t field1_bytes[] = "\x00\x00\x00\x09\x03"
	                                      "A.B\x07\x03\x0a\x01x";
	const uint8_t *bad[] = {bad_wire, bad_len, field1_bytes};
	const size_t bad_n[] = {sizeof bad_wire - 1, sizeof bad_len - 1,
	                        sizeof field1_bytes - 1};
	rpci_frame f;
	rpc_error *err = NULL;
	size_t used, i;

	ck_assert_int_eq(
	    rpci_frame_read(none, sizeof none - 1, 1024, true, &used, &f, &err),
	    RPCI_READ_OK);
	ck_assert_uint_eq(f.timeout_us, 0);
	ck_assert_uint_eq(f.seq, 7);
	ck_assert_int_eq(rpci_frame_read(unknown, sizeof unknown - 1, 1024,
	                                 true, &used, &f, &err),
	                 RPCI_READ_OK);
	ck_assert_uint_eq(f.timeout_us, 300);
	ck_assert_uint_eq(f.body_len, 0);
	for (i = 0; i < 3; i++) {
		err = NULL;
		ck_assert_int_eq(rpci_frame_read(bad[i], bad_n[i], 1024, true,
		                                 &used, &f, &err),
		                 RPCI_READ_ERROR);
		ck_assert_ptr_nonnull(
		    strstr(rpc_error_message(err), "malformed frame header"));
		rpc_error_free(err);
	}
}
END_TEST

START_TEST(test_frame_partial_input_again)
{
	Rt__Args args = RT__ARGS__INIT;
	rpci_buf out = {0};
	rpci_frame f;
	rpc_error *err = NULL;
	size_t used = 0, n;

	args.a = 1;
	frame_encode(&out, "A.B", 1, "", &args.base, 0);
	for (n = 0; n < out.len; n++) {
		ck_assert_int_eq(
		    rpci_frame_read(out.data, n, 1024, false, &used, &f, &err),
		    RPCI_READ_AGAIN);
		ck_assert_ptr_null(err);
		/* the whole frame's size once the prefix is there */
		ck_assert_uint_eq(rpci_frame_need(out.data, n, 1024),
		                  n < RPCI_FRAME_PREFIX ? 0 : out.len);
	}
	ck_assert_int_eq(
	    rpci_frame_read(out.data, n, 1024, false, &used, &f, &err),
	    RPCI_READ_OK);
	rpci_buf_fini(&out);
}
END_TEST

START_TEST(test_frame_oversized_length)
{
	static const uint8_t big[] = {0x00, 0x10, 0x00, 0x01};
	rpci_frame f;
	rpc_error *err = NULL;
	size_t used = 0;

	/* Only the 4-byte prefix is there: rejected before buffering, and
	 * need asks for nothing. */
	ck_assert_uint_eq(rpci_frame_need(big, sizeof big, 1024), 0);
	ck_assert_int_eq(
	    rpci_frame_read(big, sizeof big, 1024, false, &used, &f, &err),
	    RPCI_READ_ERROR);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_PROTOCOL);
	ck_assert_str_eq(rpc_error_message(err),
	                 "rpc: frame of 1048577 bytes exceeds the maximum of "
	                 "1024");
	rpc_error_free(err);
}
END_TEST

START_TEST(test_frame_write_oversized)
{
	const rpc_codec *k = &rpc_codec_protobuf;
	Rt__String s = RT__STRING__INIT;
	rpci_header h = {.service_method = "E.E"};
	const rpc_type t = {"string", &rt__string__descriptor, RPC_FORM_VALUE};
	rpci_buf out = {0};
	rpc_error *err;
	char text[200];
	void *st;

	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	s.value = text;
	ck_assert_ptr_null(k->state_new(false, 100, &st));
	err = k->write(st, &h, &t, &s.base, &out);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_PROTOCOL);
	ck_assert_ptr_nonnull(
	    strstr(rpc_error_message(err), "exceeds the maximum of 100"));
	ck_assert_uint_eq(out.len, 0);
	rpc_error_free(err);
	k->state_free(st);
	rpci_buf_fini(&out);
}
END_TEST

START_TEST(test_frame_truncated_header)
{
	/* Length 3 but the service-method claims 9 bytes. */
	static const uint8_t bad[] = {0x00, 0x00, 0x00, 0x03, 0x09, 'A', 'B'};
	/* Seq varint runs past the end of the frame. */
	static const uint8_t bad2[] = {0x00, 0x00, 0x00, 0x03, 0x01, 'A', 0x80};
	/* Empty payload: no header at all. */
	static const uint8_t bad3[] = {0x00, 0x00, 0x00, 0x00};
	const uint8_t *cases[] = {bad, bad2, bad3};
	const size_t lens[] = {sizeof bad, sizeof bad2, sizeof bad3};
	rpci_frame f;
	rpc_error *err;
	size_t used, i;

	for (i = 0; i < 3; i++) {
		err = NULL;
		ck_assert_int_eq(rpci_frame_read(cases[i], lens[i], 1024, false,
		                                 &used, &f, &err),
		                 RPCI_READ_ERROR);
		ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_PROTOCOL);
		ck_assert_ptr_nonnull(
		    strstr(rpc_error_message(err), "malformed frame header"));
		rpc_error_free(err);
	}
}
END_TEST

START_TEST(test_frame_garbage)
{
	uint8_t junk[64];
	rpci_frame f;
	rpc_error *err;
	size_t used, i, n;
	unsigned seed = 1;
	rpci_read_status st;

	/* Random bytes never crash: each is AGAIN, ERROR or a frame that
	 * lies inside the input. */
	for (i = 0; i < 2000; i++) {
		for (n = 0; n < sizeof junk; n++)
			junk[n] = (uint8_t)rand_r(&seed);
		junk[0] = 0;
		junk[1] = 0;
		junk[2] = 0;
		err = NULL;
		st = rpci_frame_read(junk, sizeof junk, 1 << 20, i % 2 == 0,
		                     &used, &f, &err);
		if (st == RPCI_READ_OK)
			ck_assert_uint_le(used, sizeof junk);
		else if (st == RPCI_READ_ERROR)
			ck_assert_ptr_nonnull(err);
		rpc_error_free(err);
	}
	/* A NUL inside the service-method is malformed. */
	{
		static const uint8_t nul[] = {0, 0, 0, 5, 2, 'A', 0, 0, 0};
		err = NULL;
		ck_assert_int_eq(rpci_frame_read(nul, sizeof nul, 64, false,
		                                 &used, &f, &err),
		                 RPCI_READ_ERROR);
		rpc_error_free(err);
	}
}
END_TEST

START_TEST(test_codec_header_body_round_trip)
{
	const rpc_codec *k = &rpc_codec_protobuf;
	Rt__Args args = RT__ARGS__INIT, got = RT__ARGS__INIT;
	rpci_header h = {.service_method = "Arith.Multiply",
	                 .seq = 300,
	                 .error = "rpc: some error"};
	rpci_buf out = {0};
	rpci_msg msg = {0};
	rpc_error *err = NULL;
	size_t used;
	void *st;

	args.a = -3;
	args.b = 1LL << 40;
	ck_assert_ptr_null(k->state_new(false, 0, &st));
	ck_assert_ptr_null(k->write(st, &h, &type_args, &args.base, &out));
	/* Two frames back to back: read takes exactly one. */
	ck_assert(rpci_buf_append(&out, out.data, out.len));
	ck_assert_int_eq(k->read(st, out.data, out.len, &used, &msg, &err),
	                 RPCI_READ_OK);
	ck_assert_uint_eq(used, out.len / 2);
	ck_assert_str_eq(msg.service_method, "Arith.Multiply");
	ck_assert_uint_eq(msg.seq, 300);
	ck_assert_str_eq(msg.error, "rpc: some error");
	ck_assert_ptr_null(k->read_body(st, &msg, &type_args, &got.base));
	ck_assert_int_eq(got.a, -3);
	ck_assert_int_eq(got.b, 1LL << 40);
	k->msg_clear(st, &msg);
	ck_assert_ptr_null(msg.service_method);
	k->state_free(st);
	rpci_buf_fini(&out);
}
END_TEST

START_TEST(test_codec_read_body_null_discards)
{
	const rpc_codec *k = &rpc_codec_protobuf;
	Rt__Args args = RT__ARGS__INIT;
	rpci_header h = {.service_method = "A.B", .seq = 1};
	rpci_buf out = {0};
	rpci_msg msg = {0};
	rpc_error *err = NULL;
	size_t used;
	void *st;

	args.a = 9;
	ck_assert_ptr_null(k->state_new(false, 0, &st));
	ck_assert_ptr_null(k->write(st, &h, &type_args, &args.base, &out));
	ck_assert_int_eq(k->read(st, out.data, out.len, &used, &msg, &err),
	                 RPCI_READ_OK);
	ck_assert_ptr_null(k->read_body(st, &msg, &type_args, NULL));
	ck_assert_ptr_null(k->read_body(st, &msg, NULL, NULL));
	k->msg_clear(st, &msg);
	k->state_free(st);
	rpci_buf_fini(&out);
}
END_TEST

START_TEST(test_codec_empty_body_for_errors)
{
	const rpc_codec *k = &rpc_codec_protobuf;
	rpci_header h = {.service_method = "A.B", .seq = 2, .error = "bad"};
	rpci_buf out = {0};
	rpci_msg msg = {0};
	rpc_error *err = NULL;
	size_t used;
	void *st;

	ck_assert_ptr_null(k->state_new(false, 0, &st));
	ck_assert_ptr_null(k->write(st, &h, NULL, NULL, &out));
	ck_assert_int_eq(k->read(st, out.data, out.len, &used, &msg, &err),
	                 RPCI_READ_OK);
	ck_assert_uint_eq(msg.body_len, 0);
	ck_assert_str_eq(msg.error, "bad");
	k->msg_clear(st, &msg);
	k->state_free(st);
	rpci_buf_fini(&out);
}
END_TEST

START_TEST(test_codec_bad_body_fails_that_call_only)
{
	const rpc_codec *k = &rpc_codec_protobuf;
	Rt__Args args = RT__ARGS__INIT, got = RT__ARGS__INIT;
	rpci_header h = {.service_method = "A.B", .seq = 1};
	rpci_buf out = {0};
	rpci_msg msg = {0};
	rpc_error *err = NULL;
	size_t used, start;
	void *st;

	ck_assert_ptr_null(k->state_new(true, 0, &st));
	/* A frame whose body is a truncated varint field... */
	ck_assert(
	    rpci_frame_begin(&out, &(rpci_header){.service_method = "A.B", .seq = 1}, &start));
	ck_assert(rpci_buf_append(&out, "\x08\xff", 2));
	ck_assert_ptr_null(rpci_frame_finish(&out, start, 1024));
	/* ...followed by a good one. */
	args.a = 4;
	h.seq = 2;
	ck_assert_ptr_null(k->write(st, &h, &type_args, &args.base, &out));

	ck_assert_int_eq(k->read(st, out.data, out.len, &used, &msg, &err),
	                 RPCI_READ_OK);
	err = k->read_body(st, &msg, &type_args, &got.base);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_PROTOCOL);
	ck_assert_str_eq(rpc_error_message(err),
	                 "rpc: can't decode body as Args");
	rpc_error_free(err);
	k->msg_clear(st, &msg);

	start = used;
	ck_assert_int_eq(
	    k->read(st, out.data + start, out.len - start, &used, &msg, &err),
	    RPCI_READ_OK);
	ck_assert_uint_eq(msg.seq, 2);
	ck_assert_ptr_null(k->read_body(st, &msg, &type_args, &got.base));
	ck_assert_int_eq(got.a, 4);
	k->msg_clear(st, &msg);
	k->state_free(st);
	rpci_buf_fini(&out);
}
END_TEST

START_TEST(test_codec_value_wrapper)
{
	const rpc_codec *k = &rpc_codec_protobuf;
	Rt__Int64 w = RT__INT64__INIT, got = RT__INT64__INIT;
	rpci_header h = {.service_method = "A.B", .seq = 1};
	rpci_buf out = {0};
	rpci_msg msg = {0};
	rpc_error *err = NULL;
	int64_t v = -42, back = 0;
	size_t used;
	void *st;

	rpci_value_wrap(&type_int64, &w.base, &v);
	ck_assert_int_eq(w.value, -42);
	ck_assert_ptr_null(k->state_new(false, 0, &st));
	ck_assert_ptr_null(k->write(st, &h, &type_int64, &w.base, &out));
	ck_assert_int_eq(k->read(st, out.data, out.len, &used, &msg, &err),
	                 RPCI_READ_OK);
	ck_assert_ptr_null(k->read_body(st, &msg, &type_int64, &got.base));
	ck_assert_ptr_null(rpci_value_unwrap(&type_int64, &got.base, &back));
	ck_assert_int_eq(back, -42);
	k->msg_clear(st, &msg);
	k->state_free(st);
	rpci_buf_fini(&out);
}
END_TEST

/* ---- sniffing: what a peer speaks ---------------------------------------- */

static rpci_sniff_kind sniff_str(const char *s)
{
	return rpci_sniff((const uint8_t *)s, strlen(s));
}

/* The first message of each built-in codec is recognised as that codec,
 * and every proper prefix of it as that codec or as "more, please". */
START_TEST(test_sniff_codecs)
{
	const rpc_codec *codecs[] = {&rpc_codec_protobuf, &rpc_codec_gob};
	const rpci_sniff_kind kinds[] = {RPCI_SNIFF_PROTOBUF, RPCI_SNIFF_GOB};

	for (int i = 0; i < 2; i++)
		for (int server = 0; server < 2; server++) {
			rpci_header h = {"Arith.Multiply", 3,
			                 server ? "divide by zero" : NULL, 0};
			rpci_buf out = {NULL, 0, 0};
			void *st = NULL;
			ck_assert_ptr_null(codecs[i]->state_new(
			    server, RPC_DEFAULT_MAX_FRAME, &st));
			ck_assert_ptr_null(
			    codecs[i]->write(st, &h, NULL, NULL, &out));
			codecs[i]->state_free(st);
			ck_assert_int_eq(rpci_sniff(out.data, out.len),
			                 kinds[i]);
			ck_assert_ptr_eq(rpci_sniff_codec(kinds[i]), codecs[i]);
			for (size_t n = 0; n < out.len; n++) {
				rpci_sniff_kind k = rpci_sniff(out.data, n);
				ck_assert(k == kinds[i] ||
				          k == RPCI_SNIFF_MORE);
			}
			rpci_buf_fini(&out);
		}
	ck_assert_int_eq(
	    sniff_str(
	        "{\"method\":\"Arith.Multiply\",\"params\":[{}],\"id\":0}"),
	    RPCI_SNIFF_JSON);
	ck_assert_int_eq(sniff_str(" \n{ \"id\":0"), RPCI_SNIFF_JSON);
	ck_assert_int_eq(sniff_str("{}"), RPCI_SNIFF_JSON);
	ck_assert_int_eq(sniff_str("{ "), RPCI_SNIFF_MORE);
	ck_assert_int_eq(sniff_str("{x"), RPCI_SNIFF_UNKNOWN);
	ck_assert_ptr_eq(rpci_sniff_codec(RPCI_SNIFF_JSON), &rpc_codec_json);
	ck_assert_ptr_null(rpci_sniff_codec(RPCI_SNIFF_HTTP_REQUEST));
}
END_TEST

START_TEST(test_sniff_http_tls_junk)
{
	static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
	static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02};
	static const uint8_t junk[] = {0x16, 0x09, 0x01, 0x02};

	ck_assert_int_eq(sniff_str("GET / HTTP/1.1\r\n"),
	                 RPCI_SNIFF_HTTP_REQUEST);
	ck_assert_int_eq(sniff_str("CONNECT /_goRPC_ HTTP/1.0\n\n"),
	                 RPCI_SNIFF_HTTP_REQUEST);
	ck_assert_int_eq(sniff_str("POST "), RPCI_SNIFF_HTTP_REQUEST);
	ck_assert_int_eq(sniff_str("CONN"), RPCI_SNIFF_MORE);
	ck_assert_int_eq(sniff_str("P"), RPCI_SNIFF_MORE);
	ck_assert_int_eq(sniff_str("HTTP/1.0 200 OK\r\n"),
	                 RPCI_SNIFF_HTTP_RESPONSE);
	ck_assert_int_eq(sniff_str("HTT"), RPCI_SNIFF_MORE);
	ck_assert_int_eq(rpci_sniff(hello, sizeof hello), RPCI_SNIFF_TLS_HELLO);
	ck_assert_int_eq(rpci_sniff(hello, 2), RPCI_SNIFF_MORE);
	ck_assert_int_eq(rpci_sniff(alert, sizeof alert), RPCI_SNIFF_TLS_ALERT);
	ck_assert_int_eq(rpci_sniff(junk, sizeof junk), RPCI_SNIFF_UNKNOWN);
	ck_assert_int_eq(sniff_str("GARBAGE / HTTP/1.0"), RPCI_SNIFF_UNKNOWN);
	ck_assert_int_eq(sniff_str("GETS / HTTP/1.0"), RPCI_SNIFF_UNKNOWN);
	ck_assert_int_eq(sniff_str("hello"), RPCI_SNIFF_UNKNOWN);
	ck_assert_int_eq(sniff_str(""), RPCI_SNIFF_MORE);
	/* a frame whose service-method is not text is not the framing */
	ck_assert_int_eq(
	    rpci_sniff((const uint8_t *)"\0\0\0\x10\x03\x01\x02", 7),
	    RPCI_SNIFF_UNKNOWN);
}
END_TEST

START_TEST(test_sniff_line)
{
	char buf[16];
	const uint8_t *p = (const uint8_t *)"GET /a\x01 HTTP/1.1\r\nHost: x";

	ck_assert_str_eq(rpci_sniff_line(p, 6, buf, sizeof buf), "GET /a");
	ck_assert_str_eq(rpci_sniff_line(p, 8, buf, sizeof buf), "GET /a? ");
	ck_assert_str_eq(rpci_sniff_line(p, 25, buf, sizeof buf),
	                 "GET /a? HTTP...");
	char wide[64];
	ck_assert_str_eq(rpci_sniff_line(p, 25, wide, sizeof wide),
	                 "GET /a? HTTP/1.1");
}
END_TEST

static Suite *frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc;

	tc = tcase_create("framing");
	tcase_add_test(tc, test_varint_round_trip);
	tcase_add_test(tc, test_frame_round_trip);
	tcase_add_test(tc, test_frame_doc_example);
	tcase_add_test(tc, test_frame_doc_example_timeout);
	tcase_add_test(tc, test_frame_request_options);
	tcase_add_test(tc, test_frame_partial_input_again);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad_input");
	tcase_add_test(tc, test_frame_oversized_length);
	tcase_add_test(tc, test_frame_write_oversized);
	tcase_add_test(tc, test_frame_truncated_header);
	tcase_add_test(tc, test_frame_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("sniff");
	tcase_add_test(tc, test_sniff_codecs);
	tcase_add_test(tc, test_sniff_http_tls_junk);
	tcase_add_test(tc, test_sniff_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("codec_protobuf");
	tcase_add_test(tc, test_codec_header_body_round_trip);
	tcase_add_test(tc, test_codec_read_body_null_discards);
	tcase_add_test(tc, test_codec_empty_body_for_errors);
	tcase_add_test(tc, test_codec_bad_body_fails_that_call_only);
	tcase_add_test(tc, test_codec_value_wrapper);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(frame_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
