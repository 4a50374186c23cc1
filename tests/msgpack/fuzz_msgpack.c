/* fuzz_msgpack.c - fuzz target for the example MessagePack-RPC codec
 * (examples/msgpack), driven only through the public codec interface
 * (rpc_codec.h), as librpc drives it.
 *
 * One input is fed to a server state and to a client state, whole and then
 * a few bytes more at a time (the resumable scan), and the body of every
 * message read is decoded as the argument and reply type of each method of
 * kv.rpc. Whatever decodes is written again, read back and decoded once
 * more, and written a second time: the two encodings must be equal (what
 * the codec writes, it reads back the same), else the target aborts.
 * Nothing may crash, leak or read out of bounds.
 *
 * Built two ways: with -fsanitize=fuzzer (clang) as a libFuzzer target
 * (fuzz_msgpack, run by .ci/fuzz), and with -DMSGPACK_FUZZ_MAIN as a replay
 * program that meson runs over tests/msgpack/fuzz-seeds and every prefix of
 * each seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.rpc.h"
#include "msgpack_codec.h"

#define FUZZ_MAX_FRAME (1u << 16)

/* how many bodies decoded: the replay fails when its seeds decode none */
static unsigned long fuzz_decoded;

/* fuzz_new_message returns a zeroed, initialised message of t's descriptor
 * (caller frees with fuzz_free_message), or NULL when out of memory. */
static ProtobufCMessage *fuzz_new_message(const rpc_type *t)
{
	ProtobufCMessage *m = calloc(1, t->desc->sizeof_message);

	if (m != NULL)
		protobuf_c_message_init(t->desc, m);
	return m;
}

static void fuzz_free_message(ProtobufCMessage *m)
{
	rpc_message_free_contents(m);
	free(m);
}

/* fuzz_write encodes body as a response (type t) into out; false when the
 * codec refuses it. */
static bool fuzz_write(const rpc_type *t, const ProtobufCMessage *body,
                       rpc_buf *out)
{
	void *st = NULL;
	rpc_codec_header h = {.service_method = "", .seq = 7};
	rpc_error *err;

	if (msgpack_codec.state_new(true, FUZZ_MAX_FRAME, &st) != NULL)
		return false;
	err = msgpack_codec.write(st, &h, t, body, out);
	msgpack_codec.state_free(st);
	if (err != NULL) {
		rpc_error_free(err);
		return false;
	}
	return true;
}

/* fuzz_reread reads the one response in in[0..len) as a client and decodes
 * its body as t; NULL when that fails. */
static ProtobufCMessage *fuzz_reread(const rpc_type *t, const uint8_t *in,
                                     size_t len)
{
	void *st = NULL;
	rpc_codec_msg msg = {0};
	rpc_error *err = NULL;
	size_t used = 0;
	ProtobufCMessage *m = NULL;

	if (msgpack_codec.state_new(false, FUZZ_MAX_FRAME, &st) != NULL)
		return NULL;
	if (msgpack_codec.read(st, in, len, &used, &msg, &err) ==
	    RPC_READ_OK) {
		m = fuzz_new_message(t);
		if (m != NULL &&
		    (err = msgpack_codec.read_body(st, &msg, t, m)) != NULL) {
			fuzz_free_message(m);
			m = NULL;
		}
		msgpack_codec.msg_clear(st, &msg);
	}
	rpc_error_free(err);
	msgpack_codec.state_free(st);
	return m;
}

/* fuzz_round_trip checks that m (decoded as t) encodes the same twice
 * around a decode. */
static void fuzz_round_trip(const rpc_type *t, const ProtobufCMessage *m)
{
	rpc_buf a = {0}, b = {0};
	ProtobufCMessage *again;

	if (!fuzz_write(t, m, &a))
		goto out; /* e.g. over max_frame once re-encoded */
	again = fuzz_reread(t, a.data, a.len);
	if (again == NULL) {
		fprintf(stderr, "fuzz_msgpack: %s: what we wrote does not "
		                "read back\n", t->name);
		abort();
	}
	if (!fuzz_write(t, again, &b) || a.len != b.len ||
	    memcmp(a.data, b.data, a.len) != 0) {
		fprintf(stderr, "fuzz_msgpack: %s: encodings differ after a "
		                "round trip\n", t->name);
		abort();
	}
	fuzz_free_message(again);
out:
	rpc_buf_fini(&a);
	rpc_buf_fini(&b);
}

static void fuzz_decode(void *st, rpc_codec_msg *msg, const rpc_type *t)
{
	ProtobufCMessage *m = fuzz_new_message(t);
	rpc_error *err;

	if (m == NULL)
		return;
	err = msgpack_codec.read_body(st, msg, t, m);
	if (err == NULL) {
		fuzz_decoded++;
		fuzz_round_trip(t, m);
	}
	rpc_error_free(err);
	fuzz_free_message(m);
}

static void fuzz_message(void *st, rpc_codec_msg *msg)
{
	size_t i;

	for (i = 0; i < kv_KV_service.n_methods; i++) {
		fuzz_decode(st, msg, kv_KV_service.methods[i].args);
		fuzz_decode(st, msg, kv_KV_service.methods[i].reply);
	}
	rpc_error_free(msgpack_codec.read_body(st, msg, NULL, NULL));
}

/* fuzz_feed reads data as one side would, step bytes more at a time. */
static void fuzz_feed(const uint8_t *data, size_t size, bool server,
                      size_t step)
{
	void *st = NULL;
	size_t off = 0, avail = 0;
	int guard = 0;

	if (msgpack_codec.state_new(server, FUZZ_MAX_FRAME, &st) != NULL)
		return;
	while (off < size && guard++ < 100000) {
		rpc_codec_msg msg = {0};
		rpc_error *err = NULL;
		size_t used = 0;
		rpc_read_status rs;

		avail = avail + step > size ? size : avail + step;
		rs = msgpack_codec.read(st, data + off, avail - off, &used,
		                        &msg, &err);
		if (rs == RPC_READ_ERROR) {
			rpc_error_free(err);
			break;
		}
		if (rs == RPC_READ_AGAIN) {
			if (avail == size)
				break;
			continue;
		}
		fuzz_message(st, &msg);
		msgpack_codec.msg_clear(st, &msg);
		off += used;
		if (avail < off)
			avail = off;
	}
	msgpack_codec.state_free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_feed(data, size, true, size);
	fuzz_feed(data, size, false, size);
	fuzz_feed(data, size, true, 5);
	fuzz_feed(data, size, false, 3);
	return 0;
}

#ifdef MSGPACK_FUZZ_MAIN
#include "sup_replay.h"

int main(int argc, char **argv)
{
	int rc = sup_replay_main("fuzz_msgpack_replay", argc, argv,
	                         LLVMFuzzerTestOneInput, SUP_REPLAY_PREFIXES);

	printf("%lu bodies decoded\n", fuzz_decoded);
	return rc != 0 || fuzz_decoded == 0;
}
#endif
