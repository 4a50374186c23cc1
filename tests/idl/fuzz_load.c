/* fuzz_load.c - libFuzzer target for the whole front end: the input is
 * written as main.rpc in a scratch folder (next to a fixed lib.rpc it may
 * import) and loaded. Any crash, leak or sanitizer report is a bug; errors
 * in the input are expected.
 *
 *   CC=clang meson setup build && ninja -C build tests/idl/fuzz_idl_load
 *   build/tests/idl/fuzz_idl_load -dict=tests/idl/fuzz.dict CORPUS_DIR
 *   (CORPUS_DIR: an absolute path, seeded with the .rpc files of
 *   tests/idl/diag)
 *
 * Built without libFuzzer (IDL_FUZZ_MAIN), it runs each file named on the
 * command line once (absolute paths: it changes folder), then removes its
 * scratch folder: the 'idl-fuzz-replay' test runs it over the goldens.
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
		fputs(
		    "package lib;\nstruct P { int64 X; }\nenum E { Z = 0; }\n",
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
#include <dirent.h>

static int fuzz_replay(const char *path)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

/* main replays each FILE, and each *.rpc of each DIR (absolute paths). */
int main(int argc, char **argv)
{
	int i, n = 0;

	for (i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;

		if (!d) {
			if (fuzz_replay(argv[i]) < 0)
				return 2;
			n++;
			continue;
		}
		while ((e = readdir(d))) {
			char path[4096];
			size_t len = strlen(e->d_name);

			if (len < 5 || strcmp(e->d_name + len - 4, ".rpc") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
			         e->d_name);
			if (fuzz_replay(path) < 0)
				return 2;
			n++;
		}
		closedir(d);
	}
	if (fuzz_dir[0]) {
		unlink("main.rpc");
		unlink("lib.rpc");
		if (chdir("/") != 0 || rmdir(fuzz_dir) != 0)
			return 1;
	}
	printf("replayed %d inputs\n", n);
	return n > 0 ? 0 : 1;
}
#endif
