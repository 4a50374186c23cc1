/* fuzz_frame.c - fuzz target for the native framing and protobuf codec.
 *
 * The input is a byte stream as a client or server would receive it: the
 * target takes frames from it until it runs out or the codec gives up, and
 * decodes every body as a message with every kind of field. Nothing may
 * crash, leak or read out of bounds.
 *
 * Built as fuzz_frame with clang's libFuzzer (not run by meson), and as
 * fuzz_frame_replay (-DFRAME_FUZZ_MAIN), which meson runs over the corpus
 * files, all their prefixes and all their one-byte corruptions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "internal.h"
#include "rt.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const rpc_type fuzz_everything = {
    "Everything", &rt__everything__descriptor, RPC_FORM_MESSAGE};
static const rpc_type fuzz_string = {"string", &rt__string__descriptor,
                                     RPC_FORM_VALUE};

static void fuzz_stream(const uint8_t *data, size_t size, bool server,
                        size_t max_frame)
{
	const rpc_codec *k = &rpc_codec_protobuf;
	Rt__Everything e;
	Rt__String s;
	rpc_error *err = NULL;
	rpci_msg msg;
	size_t off = 0, used;
	void *st;

	if (k->state_new(server, max_frame, &st) != NULL)
		return;
	for (;;) {
		memset(&msg, 0, sizeof msg);
		if (k->read(st, data + off, size - off, &used, &msg, &err) !=
		    RPCI_READ_OK)
			break;
		if (used == 0 || used > size - off)
			abort();
		off += used;
		rt__everything__init(&e);
		rpc_error_free(
		    k->read_body(st, &msg, &fuzz_everything, &e.base));
		rpc_message_free_contents(&e.base);
		rt__string__init(&s);
		rpc_error_free(k->read_body(st, &msg, &fuzz_string, &s.base));
		rpc_message_free_contents(&s.base);
		rpc_error_free(k->read_body(st, &msg, &fuzz_string, NULL));
		k->msg_clear(st, &msg);
	}
	rpc_error_free(err);
	k->state_free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_stream(data, size, false, 0);
	fuzz_stream(data, size, true, 64);
	return 0;
}

#ifdef FRAME_FUZZ_MAIN
#include "sup_replay.h"

int main(int argc, char **argv)
{
	return sup_replay_main("fuzz_frame_replay", argc, argv, LLVMFuzzerTestOneInput,
	                       SUP_REPLAY_PREFIXES | SUP_REPLAY_FLIPS);
}
#endif
