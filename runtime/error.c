/* error.c - the rpc_error value.
 *
 * An error is a kind (from the RPC_ERROR_KINDS table in rpc.h), a message
 * and, for RPC_ERR_IO, an errno. Errors are heap objects the receiver
 * frees. When an error cannot be allocated, the constructors return a
 * shared static out-of-memory error instead, which rpc_error_free ignores;
 * so a constructor never returns NULL and callers need no second path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct rpc_error {
	rpc_error_kind kind;
	int errnum;
	char *message;
};

static char error_oom_text[] = "rpc: out of memory";
static rpc_error error_oom = {RPC_ERR_NOMEM, ENOMEM, error_oom_text};

static const char *const error_messages[] = {
#define RPC_X_MSG(k, msg) [k] = msg,
    RPC_ERROR_KINDS(RPC_X_MSG)
#undef RPC_X_MSG
};

static const char *const error_names[] = {
#define RPC_X_NAME(k, msg) [k] = #k,
    RPC_ERROR_KINDS(RPC_X_NAME)
#undef RPC_X_NAME
};

#define ERROR_N_KINDS (sizeof error_messages / sizeof error_messages[0])

static rpc_error *error_make(rpc_error_kind kind, int errnum, char *message)
{
	rpc_error *err;

	if (message == NULL)
		return &error_oom;
	err = malloc(sizeof *err);
	if (err == NULL) {
		free(message);
		return &error_oom;
	}
	err->kind = kind;
	err->errnum = errnum;
	err->message = message;
	return err;
}

static rpc_error *error_vmake(rpc_error_kind kind, const char *fmt, va_list ap)
{
	char *message = NULL;

	if (fmt == NULL)
		message =
		    strdup((size_t)kind < ERROR_N_KINDS ? error_messages[kind]
		                                        : "rpc: unknown error");
	else if (vasprintf(&message, fmt, ap) < 0)
		message = NULL;
	return error_make(kind, kind == RPC_ERR_NOMEM ? ENOMEM : 0, message);
}

rpc_error *rpc_error_new(const char *fmt, ...)
{
	va_list ap;
	rpc_error *err;

	va_start(ap, fmt);
	err = error_vmake(RPC_ERR_SERVER, fmt, ap);
	va_end(ap);
	return err;
}

rpc_error *rpci_error(rpc_error_kind kind, const char *fmt, ...)
{
	va_list ap;
	rpc_error *err;

	va_start(ap, fmt);
	err = error_vmake(kind, fmt, ap);
	va_end(ap);
	return err;
}

rpc_error *rpci_error_errno(int errnum, const char *what)
{
	char *message = NULL;

	if (errnum == ENOMEM)
		return &error_oom;
	if (asprintf(&message, "%s: %s", what, strerror(errnum)) < 0)
		message = NULL;
	return error_make(RPC_ERR_IO, errnum, message);
}

rpc_error *rpci_error_dup(const rpc_error *err)
{
	if (err == NULL)
		return NULL;
	if (err == &error_oom)
		return &error_oom;
	return error_make(err->kind, err->errnum, strdup(err->message));
}

rpc_error_kind rpc_error_kind_of(const rpc_error *err)
{
	return err == NULL ? RPC_OK : err->kind;
}

const char *rpc_error_message(const rpc_error *err)
{
	return err == NULL ? error_messages[RPC_OK] : err->message;
}

int rpc_error_errno(const rpc_error *err)
{
	return err == NULL ? 0 : err->errnum;
}

const char *rpc_error_kind_name(rpc_error_kind kind)
{
	if ((size_t)kind >= ERROR_N_KINDS)
		return NULL;
	return error_names[kind];
}

void rpc_error_free(rpc_error *err)
{
	if (err == NULL || err == &error_oom)
		return;
	free(err->message);
	free(err);
}
