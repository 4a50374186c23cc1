/* bench_gob.c - gob codec speed, side by side with Go's encoding/gob.
 *
 * Each operation writes one call (Request header + body) on a client
 * stream and reads it back on a server stream: header, then body decoded
 * into a fresh message, then freed. Type definitions go out once, so the
 * steady state is measured, as `gobpeer bench` does with Go's
 * Encoder/Decoder on the same values. Not a test; run by hand:
 *
 *   ninja -C build tests/gob/bench_gob tests/gob/gobpeer
 *   build/tests/gob/bench_gob && build/tests/gob/gobpeer bench
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "codec.h"
#include "gobtest.pb-c.h"

static const rpc_type T_ARGS = {"Args", &main__args__descriptor,
                                RPC_FORM_MESSAGE};
static const rpc_type T_EVERY = {"Everything", &main__everything__descriptor,
                                 RPC_FORM_MESSAGE};

static double bench_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void bench_fail(const char *what)
{
	fprintf(stderr, "bench_gob: %s\n", what);
	exit(1);
}

static void bench_run(const char *name, const rpc_type *t,
                      const ProtobufCMessage *in, int n)
{
	rpci_header h = {.service_method = "Arith.Multiply"};
	void *c = NULL, *s = NULL;
	rpci_buf buf = {0};
	double t0;
	int i;

	if (rpc_codec_gob.state_new(false, 1 << 20, &c) ||
	    rpc_codec_gob.state_new(true, 1 << 20, &s))
		bench_fail("state");
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		ProtobufCMessage *out = malloc(t->desc->sizeof_message);
		rpc_error *err = NULL;
		size_t used;
		rpci_msg m;

		buf.len = 0;
		h.seq = (uint64_t)i;
		if (out == NULL || rpc_codec_gob.write(c, &h, t, in, &buf) ||
		    rpc_codec_gob.read(s, buf.data, buf.len, &used, &m, &err) !=
		        RPCI_READ_OK)
			bench_fail("write/read");
		t->desc->message_init(out);
		if (rpc_codec_gob.read_body(s, &m, t, out))
			bench_fail("read_body");
		rpc_message_free_contents(out);
		free(out);
		rpc_codec_gob.msg_clear(s, &m);
	}
	printf("C  %-10s %8.0f ns/op (write+read, header+body), %zu bytes/op\n",
	       name, (bench_now() - t0) / n * 1e9, buf.len);
	rpci_buf_fini(&buf);
	rpc_codec_gob.state_free(c);
	rpc_codec_gob.state_free(s);
}

int main(void)
{
	Main__Args a = MAIN__ARGS__INIT;
	Main__Everything e = MAIN__EVERYTHING__INIT;
	static uint8_t fx[1 << 16];
	rpc_error *err = NULL;
	void *s = NULL;
	size_t n, used;
	rpci_msg m;
	FILE *f;

	a.a = 6;
	a.b = 7;
	bench_run("Args", &T_ARGS, &a.base, 1000000);

	/* Everything: the value of Go's fixture, decoded */
	f = fopen(GOB_FIXTURES_DIR "/everything.gob", "rb");
	if (f == NULL)
		bench_fail(GOB_FIXTURES_DIR "/everything.gob");
	n = fread(fx, 1, sizeof fx, f);
	fclose(f);
	if (rpc_codec_gob.state_new(true, 1 << 20, &s) ||
	    rpc_codec_gob.read(s, fx, n, &used, &m, &err) != RPCI_READ_OK ||
	    rpc_codec_gob.read_body(s, &m, &T_EVERY, &e.base))
		bench_fail("fixture");
	rpc_codec_gob.msg_clear(s, &m);
	rpc_codec_gob.state_free(s);
	bench_run("Everything", &T_EVERY, &e.base, 200000);
	rpc_message_free_contents(&e.base);
	return 0;
}
