/* fuzz_json.c - fuzz target for the JSON codec's readers.
 *
 * One input is fed to a server and to a client session, whole and then in
 * small pieces (exercising the resumable scan), and every message read is
 * decoded into each test type. Nothing may crash, leak or read out of
 * bounds; what the codec answers is not checked here.
 *
 * Built two ways: with -fsanitize=fuzzer (clang) as a libFuzzer target
 * (fuzz_json, not run by meson), and with -DJSON_FUZZ_MAIN as a replay
 * program that meson runs over the seed inputs and all their prefixes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "internal.h"
#include "jt.pb-c.h"
#include "jt2.pb-c.h"

static const rpc_type fuzz_types[] = {
	{"Everything", &jt__everything__descriptor, RPC_FORM_MESSAGE},
	{"Opt", &jt2__opt__descriptor, RPC_FORM_MESSAGE},
	{"BoolMap", &jt__bool_map__descriptor, RPC_FORM_MESSAGE},
	{"Node", &jt__node__descriptor, RPC_FORM_MESSAGE},
	{"int32", &jt__int32_value__descriptor, RPC_FORM_VALUE},
	{"string", &jt__string_value__descriptor, RPC_FORM_VALUE},
	{"bytes", &jt__bytes_value__descriptor, RPC_FORM_VALUE},
	{"double", &jt__double_value__descriptor, RPC_FORM_VALUE},
	{"list<Args>", &jt__args_list__descriptor, RPC_FORM_WRAPPED},
	{"map<string,int64>", &jt__counts_map__descriptor, RPC_FORM_WRAPPED},
};

#define N_FUZZ_TYPES (sizeof fuzz_types / sizeof fuzz_types[0])

static void fuzz_message(void *state, rpci_msg *msg, bool server)
{
	size_t i;

	for (i = 0; i < N_FUZZ_TYPES; i++) {
		ProtobufCMessage *m = rpci_message_new(fuzz_types[i].desc);

		if (m == NULL)
			continue;
		rpc_error_free(
			rpc_codec_json.read_body(state, msg, &fuzz_types[i], m));
		rpci_message_free(m);
	}
	rpc_error_free(rpc_codec_json.read_body(state, msg, NULL, NULL));
	if (server) {
		/* answer it, so the id table is exercised too */
		rpci_buf out = {0};
		rpci_header h = {.seq = msg->seq, .error = "x"};

		rpc_error_free(rpc_codec_json.write(state, &h, NULL, NULL, &out));
		rpci_buf_fini(&out);
	}
}

/* fuzz_feed reads data as one side would, step bytes more at a time. */
static void fuzz_feed(const uint8_t *data, size_t size, bool server,
                      size_t step)
{
	void *state = NULL;
	size_t off = 0, avail = 0;
	int guard = 0;

	if (rpc_codec_json.state_new(server, 1 << 16, &state) != NULL)
		return;
	while (off < size && guard++ < 100000) {
		rpci_msg msg;
		rpc_error *err = NULL;
		size_t used = 0;
		rpci_read_status st;

		avail = avail + step > size ? size : avail + step;
		memset(&msg, 0, sizeof msg);
		st = rpc_codec_json.read(state, data + off, avail - off, &used,
		                         &msg, &err);
		if (st == RPCI_READ_ERROR) {
			rpc_error_free(err);
			break;
		}
		if (st == RPCI_READ_AGAIN) {
			if (avail == size)
				break;
			continue;
		}
		fuzz_message(state, &msg, server);
		rpc_codec_json.msg_clear(state, &msg);
		off += used;
		if (avail < off)
			avail = off;
	}
	rpc_codec_json.state_free(state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_feed(data, size, true, size);
	fuzz_feed(data, size, false, size);
	fuzz_feed(data, size, true, 7);
	fuzz_feed(data, size, false, 3);
	return 0;
}

#ifdef JSON_FUZZ_MAIN
#include "sup_replay.h"

int main(int argc, char **argv)
{
	return sup_replay_main("fuzz_json_replay", argc, argv, LLVMFuzzerTestOneInput,
	                       SUP_REPLAY_PREFIXES);
}
#endif
