/* sup_replay.h - the replay half of a libFuzzer target: a plain program
 * that feeds the target's LLVMFuzzerTestOneInput every input file of its
 * corpus (and every prefix of each, or each with one byte flipped), so
 * that meson runs the corpus as a test under the sanitizers and valgrind
 * without clang's libFuzzer.
 *
 *	#ifdef X_FUZZ_MAIN
 *	int main(int argc, char **argv)
 *	{
 *		return sup_replay_main("fuzz_x_replay", argc, argv,
 *		                       LLVMFuzzerTestOneInput,
 *		                       SUP_REPLAY_PREFIXES);
 *	}
 *	#endif
 */
#ifndef SUPPORT_REPLAY_H
#define SUPPORT_REPLAY_H

#include <stddef.h>
#include <stdint.h>

typedef int sup_fuzz_fn(const uint8_t *data, size_t size);

/* flags: SUP_REPLAY_PREFIXES also replays every proper prefix of a file;
 * SUP_REPLAY_FLIPS the file with each byte changed (xor 0xff, then xor
 * 0x81). */
#define SUP_REPLAY_PREFIXES 0x1u
#define SUP_REPLAY_FLIPS    0x2u

/* sup_replay_main calls one on the whole of every file named in
 * argv[1..argc) (a directory: each file in it whose name does not begin
 * with '.'), and on the variants flags asks for. The file's bytes are in a
 * malloc'd buffer of exactly their size, so a read past the end is seen by
 * the sanitizers. Prints "NAME: replayed N inputs". Returns the exit
 * status: 0, or 1 when a file cannot be read or no file was named. */
int sup_replay_main(const char *name, int argc, char **argv, sup_fuzz_fn *one,
                    unsigned flags);

#endif
