/* certs.c - bench-certs DIR: writes the TLS shapes' certificates into DIR
 * (the TLS tests' set, tests/tls/certs.h), made fresh for each run. */
#include <stdio.h>

#include "certs.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bench-certs DIR\n");
		return 2;
	}
	return certs_make(argv[1]) ? 0 : 1;
}
