/* call.h - what rpc-call does once its command line is parsed.
 *
 * call_main loads the .rpc file, builds its descriptors (dyndesc.h) and
 * then lists, describes or calls. Arguments and replies are converted
 * between JSON and messages by librpc's JSON codec (json_value.h), so a
 * value reads and prints as Go's encoding/json has it on the jsonrpc wire.
 */
#ifndef RPCGEN_CALL_H
#define RPCGEN_CALL_H

#include <stdbool.h>
#include <stddef.h>

#include "rpc.h"

/* Exit statuses. */
enum {
	CALL_OK = 0,
	CALL_SERVER_ERROR = 1, /* the server answered with an error */
	CALL_FAILED = 2,       /* usage, IDL, input or transport error */
};

typedef struct call_opts {
	const char *idl;         /* --idl FILE.rpc, or NULL */
	const char *const *incs; /* -I DIR, in order */
	size_t n_incs;
	const char *address;    /* ADDRESS */
	const char *method;     /* Service.Method */
	const char *json;       /* JSON, @FILE, "-" or NULL (stdin) */
	const rpc_codec *codec; /* --codec */
	bool http;              /* --http */
	const char *http_path;  /* --http PATH, or NULL */
	const char *debug_path; /* --debug-path, or NULL */
	long timeout_ms;        /* --timeout MS, 0: none */
	unsigned long repeat;   /* --repeat N (>= 1) */
	unsigned concurrency;   /* --concurrency K (>= 1) */
	bool progress;          /* --progress */
	bool raw;               /* --raw */
	bool list;              /* --list */
	const char *describe;   /* --describe TYPE, or NULL */
	/* TLS (--tls, or any of the options after it): trust tls_ca (NULL:
	 * the system's store), present tls_cert/tls_key, verify the server
	 * as tls_server_name (NULL: the address's host), or not at all. */
	bool tls;
	const char *tls_ca, *tls_cert, *tls_key, *tls_server_name;
	bool tls_insecure;
} call_opts;

/* call_main does what o says and returns the exit status; every message
 * goes to stderr as "rpc-call: ...", replies to stdout. */
int call_main(const call_opts *o);

#endif
