/* fuzz_load.c - libFuzzer target for the whole front end: the input is
 * written as main.rpc in a scratch folder (next to a fixed lib.rpc it may
 * import) and loaded. Any crash, leak or sanitizer report is a bug; errors
 * in the input are expected.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Iidl -IBUILD/idl tests/idl/fuzz_load.c idl/ast.c idl/diag.c idl/load.c idl/check.c \
 *     BUILD/idl/lexer.c BUILD/idl/parser.c -o fuzz_load
 *   ./fuzz_load -dict=tests/idl/fuzz.dict tests/idl/diag   # corpus: goldens
 *
 * Built without libFuzzer (IDL_FUZZ_MAIN), it runs each file named on the
 * command line once: a regression runner for crashers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ast.h"

static void fuzz_quiet(void *ctx, const char *text)
{
	(void)ctx;
	(void)text;
}

static char fuzz_dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	idl_options o = {.diag = fuzz_quiet};
	idl_program *prog = NULL;
	FILE *f;

	if (!fuzz_dir[0]) {
		snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/idl-fuzz-XXXXXX");
		if (!mkdtemp(fuzz_dir) || chdir(fuzz_dir) != 0)
			abort();
		f = fopen("lib.rpc", "w");
		if (!f)
			abort();
		fputs("package lib;\nstruct P { int64 X; }\nenum E { Z = 0; }\n",
		      f);
		fclose(f);
	}
	f = fopen("main.rpc", "wb");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	if (idl_load("main.rpc", &o, &prog) == 0 && !prog)
		abort(); /* success must give a program */
	idl_program_free(prog);
	return 0;
}

#ifdef IDL_FUZZ_MAIN
int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		static uint8_t buf[1 << 20];
		size_t n;

		if (!f) {
			perror(argv[i]);
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	return 0;
}
#endif
