/* rpc_call.c - the rpc-call command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"

#ifndef RPCGEN_VERSION
#define RPCGEN_VERSION "0.0.0"
#endif

static const char usage_text[] =
    "Usage: rpc-call [options] --idl FILE.rpc ADDRESS Service.Method "
    "[JSON|@FILE|-]\n"
    "       rpc-call [options] --idl FILE.rpc --list\n"
    "       rpc-call [options] --idl FILE.rpc --describe TYPE\n"
    "       rpc-call [options] --http [PATH] ADDRESS --list\n"
    "\n"
    "Calls Service.Method at ADDRESS with the JSON argument (from the\n"
    "command line, from FILE with @FILE, or from standard input when it is\n"
    "- or absent: each JSON value there is one call on the same\n"
    "connection) and prints the reply as JSON, as Go's encoding/json\n"
    "prints the equivalent Go value. ADDRESS is HOST:PORT, tcp:HOST:PORT,\n"
    "tls:HOST:PORT or unix:PATH.\n"
    "\n"
    "Options:\n"
    "  --idl FILE.rpc       the interface (types, services) of the server\n"
    "  -I DIR               search DIR for imports (repeatable)\n"
    "  --codec NAME         protobuf (default), gob or json\n"
    "  --http [PATH]        connect with HTTP CONNECT PATH (default\n"
    "                       /_goRPC_), as Go's DialHTTP\n"
    "  --debug-path PATH    the debug page for --list without --idl\n"
    "                       (default /debug/rpc)\n"
    "  --tls                speak TLS (as a tls: ADDRESS does), trusting\n"
    "                       the system's CAs; each option below implies it\n"
    "  --ca FILE            trust the CAs in FILE (PEM) instead\n"
    "  --cert FILE          present this certificate (mutual TLS)\n"
    "  --key FILE           its private key (default: in --cert's file)\n"
    "  --server-name NAME   verify the server as NAME, not ADDRESS's host\n"
    "  --insecure           do not verify the server at all\n"
    "  --timeout MS         give up after MS milliseconds per call (and\n"
    "                       for the dial): exit 2\n"
    "  --repeat N           make the call N times and print a latency\n"
    "                       summary on standard error\n"
    "  --concurrency K      with K calls in flight at once on the one\n"
    "                       connection\n"
    "  --progress           a progress line on long runs even when\n"
    "                       standard error is not a terminal\n"
    "  --raw                print the reply body's wire bytes, not JSON\n"
    "  --list               list services and methods: from the .rpc\n"
    "                       file, or with --http and no --idl from the\n"
    "                       server's debug page\n"
    "  --describe TYPE      show the fields of a struct or enum\n"
    "  -h, --help           show this help and exit\n"
    "  --version            show the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 the server returned an error (its text on\n"
    "standard error), 2 bad usage, bad .rpc file, bad JSON or a transport\n"
    "error.\n";

static int main_usage(const char *fmt, const char *arg)
{
	fputs("rpc-call: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'rpc-call --help'.\n", stderr);
	return CALL_FAILED;
}

/* main_number parses a positive decimal for option opt. */
static bool main_number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 || v > max ||
	    s[0] == '-')
		return false;
	*out = v;
	return true;
}

/* main_run is main with incs, room for every -I (main owns it). */
static int main_run(int argc, char **argv, const char **incs)
{
	call_opts o = {
	    .codec = &rpc_codec_protobuf, .repeat = 1, .concurrency = 1};
	const char *pos[3];
	size_t n_pos = 0;
	unsigned long v;

	o.incs = incs;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		const char *eq;
		char name[32];

		if (a[0] != '-' || strcmp(a, "-") == 0 ||
		    (a[1] >= '0' && a[1] <= '9')) { /* JSON: -5 */
			if (n_pos == 3)
				return main_usage("unexpected argument '%s'",
				                  a);
			pos[n_pos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			for (i++; i < argc; i++) {
				if (n_pos == 3)
					return main_usage(
					    "unexpected argument '%s'",
					    argv[i]);
				pos[n_pos++] = argv[i];
			}
			break;
		}
		/* --name=value or --name value; -I DIR or -IDIR */
		eq = strchr(a, '=');
		if (strncmp(a, "-I", 2) == 0 && a[2] != '\0') {
			incs[o.n_incs++] = a + 2;
			continue;
		}
		snprintf(name, sizeof name, "%.*s",
		         (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
		if (eq)
			val = eq + 1;
#define MAIN_VALUE()                                                           \
	do {                                                                   \
		if (val == NULL) {                                             \
			if (i + 1 >= argc)                                     \
				return main_usage("option %s wants a value",   \
				                  name);                       \
			val = argv[++i];                                       \
		}                                                              \
	} while (0)
		if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
			fputs(usage_text, stdout);
			return CALL_OK;
		} else if (strcmp(name, "--version") == 0) {
			printf("rpc-call %s\n", RPCGEN_VERSION);
			return CALL_OK;
		} else if (strcmp(name, "-I") == 0) {
			MAIN_VALUE();
			incs[o.n_incs++] = val;
		} else if (strcmp(name, "--idl") == 0) {
			MAIN_VALUE();
			o.idl = val;
		} else if (strcmp(name, "--codec") == 0) {
			MAIN_VALUE();
			if (strcmp(val, "protobuf") == 0)
				o.codec = &rpc_codec_protobuf;
			else if (strcmp(val, "gob") == 0)
				o.codec = &rpc_codec_gob;
			else if (strcmp(val, "json") == 0)
				o.codec = &rpc_codec_json;
			else
				return main_usage(
				    "unknown codec '%s' (protobuf, gob, json)",
				    val);
		} else if (strcmp(name, "--http") == 0) {
			o.http = true;
			/* an optional PATH: the next word if it is one */
			if (val == NULL && i + 1 < argc &&
			    argv[i + 1][0] == '/')
				val = argv[++i];
			o.http_path = val;
		} else if (strcmp(name, "--debug-path") == 0) {
			MAIN_VALUE();
			o.debug_path = val;
		} else if (strcmp(name, "--tls") == 0) {
			o.tls = true;
		} else if (strcmp(name, "--ca") == 0) {
			MAIN_VALUE();
			o.tls = true;
			o.tls_ca = val;
		} else if (strcmp(name, "--cert") == 0) {
			MAIN_VALUE();
			o.tls = true;
			o.tls_cert = val;
		} else if (strcmp(name, "--key") == 0) {
			MAIN_VALUE();
			o.tls = true;
			o.tls_key = val;
		} else if (strcmp(name, "--server-name") == 0) {
			MAIN_VALUE();
			o.tls = true;
			o.tls_server_name = val;
		} else if (strcmp(name, "--insecure") == 0) {
			o.tls = true;
			o.tls_insecure = true;
		} else if (strcmp(name, "--timeout") == 0) {
			MAIN_VALUE();
			if (!main_number(val, 24ul * 3600 * 1000, &v))
				return main_usage("--timeout wants a number of "
				                  "milliseconds, not '%s'",
				                  val);
			o.timeout_ms = (long)v;
		} else if (strcmp(name, "--repeat") == 0) {
			MAIN_VALUE();
			if (!main_number(val, 100000000ul, &v))
				return main_usage("--repeat wants a count from "
				                  "1 to 100000000, not '%s'",
				                  val);
			o.repeat = v;
		} else if (strcmp(name, "--concurrency") == 0) {
			MAIN_VALUE();
			if (!main_number(val, 1024, &v))
				return main_usage("--concurrency wants a count "
				                  "from 1 to 1024, not '%s'",
				                  val);
			o.concurrency = (unsigned)v;
		} else if (strcmp(name, "--progress") == 0) {
			o.progress = true;
		} else if (strcmp(name, "--raw") == 0) {
			o.raw = true;
		} else if (strcmp(name, "--list") == 0) {
			o.list = true;
		} else if (strcmp(name, "--describe") == 0) {
			MAIN_VALUE();
			o.describe = val;
		} else {
			return main_usage("unknown option '%s'", a);
		}
#undef MAIN_VALUE
	}

	if (o.list || o.describe != NULL) {
		if (o.list && o.describe != NULL)
			return main_usage("%s", "--list and --describe exclude "
			                        "each other");
		if (o.idl == NULL && o.describe != NULL)
			return main_usage("%s", "--describe needs --idl");
		if (o.idl == NULL && (!o.http || n_pos != 1))
			return main_usage("%s", "--list without --idl needs "
			                        "--http and ADDRESS (it reads "
			                        "the server's debug page)");
		if (o.idl != NULL && n_pos > 0)
			return main_usage("unexpected argument '%s'", pos[0]);
		o.address = n_pos > 0 ? pos[0] : NULL;
	} else {
		if (o.idl == NULL)
			return main_usage("%s", "--idl FILE.rpc is required");
		if (n_pos < 2)
			return main_usage("%s", "want ADDRESS Service.Method "
			                        "[JSON]");
		o.address = pos[0];
		o.method = pos[1];
		o.json = n_pos > 2 ? pos[2] : NULL;
		if (o.raw && o.repeat > 1)
			return main_usage(
			    "%s", "--raw prints one reply; no --repeat");
	}
	int status = call_main(&o);
	return status;
}

int main(int argc, char **argv)
{
	const char **incs = calloc((size_t)argc + 1, sizeof *incs);
	int status;

	if (incs == NULL)
		return CALL_FAILED;
	status = main_run(argc, argv, incs);
	free(incs);
	return status;
}
