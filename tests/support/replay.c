/* replay.c - sup_replay_main: a fuzz target's corpus replayed as a test
 * (sup_replay.h). */
#include "sup_replay.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* replay_read returns the bytes of path (malloc'd, exactly *len of them;
 * one byte when the file is empty, so that the pointer is not NULL), or
 * NULL when it cannot be read. */
static uint8_t *replay_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc(n > 0 ? (size_t)n : 1)) != NULL &&
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		*len = (size_t)n;
	fclose(f);
	return buf;
}

static int replay_file(const char *name, const char *path, sup_fuzz_fn *one,
                       unsigned flags)
{
	size_t len = 0, i;
	uint8_t *buf = replay_read(path, &len);

	if (buf == NULL) {
		fprintf(stderr, "%s: cannot read %s\n", name, path);
		return 1;
	}
	one(buf, len);
	if (flags & SUP_REPLAY_PREFIXES) {
		for (i = 0; i < len; i++) {
			/* a buffer of exactly i bytes: ASan sees an
			 * overread of the prefix */
			uint8_t *p = malloc(i > 0 ? i : 1);
			if (p == NULL)
				break;
			memcpy(p, buf, i);
			one(p, i);
			free(p);
		}
	}
	if (flags & SUP_REPLAY_FLIPS) {
		for (i = 0; i < len; i++) {
			buf[i] ^= 0xff;
			one(buf, len);
			buf[i] ^= 0x7e; /* now the byte xor 0x81 */
			one(buf, len);
			buf[i] ^= 0x81;
		}
	}
	free(buf);
	return 0;
}

int sup_replay_main(const char *name, int argc, char **argv, sup_fuzz_fn *one,
                    unsigned flags)
{
	int bad = 0, files = 0;

	for (int i = 1; i < argc; i++) {
		struct stat sb;
		struct dirent *e;
		char path[4096];
		DIR *d;

		if (stat(argv[i], &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			bad |= replay_file(name, argv[i], one, flags);
			files++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			fprintf(stderr, "%s: cannot open %s\n", name, argv[i]);
			return 1;
		}
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", argv[i],
			         e->d_name);
			bad |= replay_file(name, path, one, flags);
			files++;
		}
		closedir(d);
	}
	printf("%s: replayed %d inputs\n", name, files);
	return bad != 0 || files == 0;
}
