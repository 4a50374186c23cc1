/* main.c - the rpcgen-c command line. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#ifndef RPCGEN_VERSION
#define RPCGEN_VERSION "0.0.0"
#endif

static const char usage_text[] =
    "Usage: rpcgen-c [options] FILE.rpc\n"
    "\n"
    "Compiles an interface file into FILE.rpc.h and FILE.rpc.c: types,\n"
    "protobuf-c descriptors, client stubs and a server skeleton for\n"
    "librpc. On any error nothing is written.\n"
    "\n"
    "Options:\n"
    "  -o DIR               write outputs into DIR (default: .), made\n"
    "                       with its parents when missing\n"
    "  -I DIR               search DIR for imports (repeatable; after the\n"
    "                       importing file's folder)\n"
    "  --emit-proto         also write FILE.proto (proto3)\n"
    "  --emit-go            also write FILE.rpc.go: Go types, a typed\n"
    "                       net/rpc client and a server interface per\n"
    "                       service, for a Go peer (standard library only);\n"
    "                       Go's naming rules become errors\n"
    "  --emit-go-only       write FILE.rpc.go (as --emit-go) and no C\n"
    "  --go-package NAME    the Go package of FILE.rpc.go (default: the\n"
    "                       IDL package, else the file's base name)\n"
    "  -M, --depfile FILE   write a make-style dependency file\n"
    "  -Werror              treat warnings as errors\n"
    "  --template-dir DIR   take templates from DIR when present there\n"
    "  -h, --help           show this help and exit\n"
    "  --version            show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 bad input, 2 bad usage.\n";

/* main_go_ident tells whether s can name a Go package: an ASCII
 * identifier, not "_" and not a Go keyword. */
static bool main_go_ident(const char *s)
{
	static const char *const kw[] = {
	    "break",     "case",   "chan",    "const",       "continue",
	    "default",   "defer",  "else",    "fallthrough", "for",
	    "func",      "go",     "goto",    "if",          "import",
	    "interface", "map",    "package", "range",       "return",
	    "select",    "struct", "switch",  "type",        "var",
	};
	if (s[0] == '\0' || strcmp(s, "_") == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
		if (strcmp(s, kw[i]) == 0)
			return false;
	return true;
}

int main(int argc, char **argv)
{
	enum {
		OPT_EMIT_PROTO = 256,
		OPT_EMIT_GO,
		OPT_EMIT_GO_ONLY,
		OPT_GO_PACKAGE,
		OPT_TEMPLATE_DIR,
		OPT_VERSION
	};
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {"emit-proto", no_argument, NULL, OPT_EMIT_PROTO},
	    {"emit-go", no_argument, NULL, OPT_EMIT_GO},
	    {"emit-go-only", no_argument, NULL, OPT_EMIT_GO_ONLY},
	    {"go-package", required_argument, NULL, OPT_GO_PACKAGE},
	    {"depfile", required_argument, NULL, 'M'},
	    {"template-dir", required_argument, NULL, OPT_TEMPLATE_DIR},
	    {NULL, 0, NULL, 0},
	};
	driver_opts o = {.out_dir = "."};
	const char **incs = calloc((size_t)argc + 1, sizeof *incs);
	if (incs == NULL) {
		fputs("rpcgen-c: out of memory\n", stderr);
		return 1;
	}
	int c, status;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:I:M:W:", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			free(incs);
			return 0;
		case OPT_VERSION:
			printf("rpcgen-c %s\n", RPCGEN_VERSION);
			free(incs);
			return 0;
		case 'o':
			o.out_dir = optarg;
			break;
		case 'I':
			incs[o.n_include_dirs++] = optarg;
			break;
		case 'M':
			o.depfile = optarg;
			break;
		case 'W':
			if (strcmp(optarg, "error") != 0) {
				fprintf(stderr,
				        "rpcgen-c: unknown option '-W%s' (only "
				        "-Werror)\n",
				        optarg);
				goto usage;
			}
			o.werror = true;
			break;
		case OPT_EMIT_PROTO:
			o.emit_proto = true;
			break;
		case OPT_EMIT_GO:
			o.emit_go = true;
			break;
		case OPT_EMIT_GO_ONLY:
			o.emit_go = true;
			o.go_only = true;
			break;
		case OPT_GO_PACKAGE:
			if (!main_go_ident(optarg)) {
				fprintf(
				    stderr,
				    "rpcgen-c: --go-package '%s' is not a Go "
				    "package name\n",
				    optarg);
				goto usage;
			}
			o.go_package = optarg;
			break;
		case OPT_TEMPLATE_DIR:
			o.template_dir = optarg;
			break;
		case ':':
			fprintf(stderr,
			        "rpcgen-c: option '%s' needs an argument\n",
			        argv[optind - 1]);
			goto usage;
		default:
			fprintf(stderr, "rpcgen-c: unknown option '%s'\n",
			        argv[optind - 1]);
			goto usage;
		}
	}
	if (optind != argc - 1) {
		fputs(optind == argc ? "rpcgen-c: no input file\n"
		                     : "rpcgen-c: more than one input file\n",
		      stderr);
		goto usage;
	}
	if (o.go_package != NULL && !o.emit_go) {
		fputs("rpcgen-c: --go-package needs --emit-go or "
		      "--emit-go-only\n",
		      stderr);
		goto usage;
	}
	o.input = argv[optind];
	o.include_dirs = incs;
	status = driver_run(&o);
	free(incs);
	return status;
usage:
	fputs("Try 'rpcgen-c --help'.\n", stderr);
	free(incs);
	return 2;
}
