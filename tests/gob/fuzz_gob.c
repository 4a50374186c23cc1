/* fuzz_gob.c - fuzz target for the gob decoder.
 *
 * The input is a gob stream as a server reads it: every call is taken with
 * read() and its body decoded as each test type in turn, the way the
 * runtime drives the codec, until the input runs out or breaks. Whatever
 * decodes is also encoded again, decoded, and encoded once more: the two
 * encodings must be equal (what we write, we read back the same), else the
 * target aborts.
 * Built with clang as a libFuzzer binary (fuzz_gob); with -DGOB_FUZZ_MAIN
 * it replays the files named on the command line (directories: each file
 * in them), which meson runs over tests/gob/fixtures and tests/gob/corpus
 * (inputs that once failed) as a plain test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "gobopt.pb-c.h"
#include "gobtest.pb-c.h"

static const rpc_type fuzz_types[] = {
    {"Everything", &main__everything__descriptor, RPC_FORM_MESSAGE},
    {"Args", &main__args__descriptor, RPC_FORM_MESSAGE},
    {"Node", &main__node__descriptor, RPC_FORM_MESSAGE},
    {"Optionals", &main__optionals__descriptor, RPC_FORM_MESSAGE},
    {"int64", &main__int64_value__descriptor, RPC_FORM_VALUE},
    {"string", &main__string_value__descriptor, RPC_FORM_VALUE},
    {"list<Args>", &main__args_list__descriptor, RPC_FORM_WRAPPED},
    {"map<string, int64>", &main__str_int_map__descriptor, RPC_FORM_WRAPPED},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_encode writes m as a call on a fresh stream into out. */
static void fuzz_encode(const rpc_type *t, const ProtobufCMessage *m,
                        rpci_buf *out)
{
	rpci_header h = {.service_method = "Fuzz.Echo", .seq = 1};
	void *st = NULL;
	rpc_error *err;

	if (rpc_codec_gob.state_new(false, 1 << 16, &st) != NULL)
		abort();
	err = rpc_codec_gob.write(st, &h, t, m, out);
	if (err != NULL) {
		fprintf(stderr,
		        "fuzz_gob: cannot encode what was decoded: %s\n",
		        rpc_error_message(err));
		abort();
	}
	rpc_codec_gob.state_free(st);
}

static void fuzz_reencode(const rpc_type *t, const ProtobufCMessage *m1)
{
	rpci_buf e1 = {0}, e2 = {0};
	ProtobufCMessage *m2 = malloc(t->desc->sizeof_message);
	void *st = NULL;
	rpc_error *err = NULL;
	size_t used;
	rpci_msg m;

	if (m2 == NULL || rpc_codec_gob.state_new(true, 1 << 20, &st) != NULL)
		abort();
	t->desc->message_init(m2);
	fuzz_encode(t, m1, &e1);
	if (rpc_codec_gob.read(st, e1.data, e1.len, &used, &m, &err) !=
	        RPCI_READ_OK ||
	    used != e1.len || (err = rpc_codec_gob.read_body(st, &m, t, m2))) {
		fprintf(stderr, "fuzz_gob: cannot decode our own %s: %s\n",
		        t->name, err ? rpc_error_message(err) : "read");
		abort();
	}
	fuzz_encode(t, m2, &e2);
	if (e1.len != e2.len || memcmp(e1.data, e2.data, e1.len) != 0) {
		fprintf(stderr,
		        "fuzz_gob: %s encodes differently after a round trip\n",
		        t->name);
		abort();
	}
	rpc_codec_gob.msg_clear(st, &m);
	rpc_codec_gob.state_free(st);
	rpc_message_free_contents(m2);
	free(m2);
	rpci_buf_fini(&e1);
	rpci_buf_fini(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *st = NULL;
	size_t pos = 0, used, i;
	rpc_error *err = NULL;
	rpci_msg m;

	if (rpc_codec_gob.state_new(true, 1 << 16, &st) != NULL)
		return 0;
	while (pos < size) {
		used = 0;
		err = NULL;
		if (rpc_codec_gob.read(st, data + pos, size - pos, &used, &m,
		                       &err) != RPCI_READ_OK)
			break;
		for (i = 0; i < sizeof fuzz_types / sizeof fuzz_types[0]; i++) {
			const rpc_type *t = &fuzz_types[i];
			ProtobufCMessage *dst = malloc(t->desc->sizeof_message);

			if (dst == NULL)
				break;
			t->desc->message_init(dst);
			err = rpc_codec_gob.read_body(st, &m, t, dst);
			if (err == NULL)
				fuzz_reencode(t, dst);
			rpc_error_free(err);
			err = NULL;
			rpc_message_free_contents(dst);
			free(dst);
		}
		rpc_codec_gob.msg_clear(st, &m);
		pos += used;
	}
	rpc_error_free(err);
	rpc_codec_gob.state_free(st);
	return 0;
}

#ifdef GOB_FUZZ_MAIN
#include "sup_replay.h"

int main(int argc, char **argv)
{
	return sup_replay_main("fuzz_gob_replay", argc, argv, LLVMFuzzerTestOneInput,
	                       SUP_REPLAY_PREFIXES);
}
#endif
