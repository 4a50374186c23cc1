/* rpc.h - librpc, Go's net/rpc for C.
 *
 * CONTRACT DRAFT: the sections marked [generated-code ABI] are what the
 * code emitted by rpcgen-c depends on; change them only together with the
 * templates. The rest of the API (manual, client, server, transports) is
 * owned by runtime/ and may be refined there.
 */
#ifndef RPC_H
#define RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions [generated-code ABI] ------------------------------------ */

#define RPC_VERSION_MAJOR 0
#define RPC_VERSION_MINOR 1
#define RPC_VERSION_PATCH 0
#define RPC_VERSION_STRING "0.1.0"

/* RPC_ABI_VERSION changes whenever the structures below change shape.
 * Generated files check it at compile time (#if RPC_ABI_VERSION != N
 * #error ...) and rpc_server_register() checks rpc_service_desc.abi. */
#define RPC_ABI_VERSION 1

/* ---- errors -------------------------------------------------------------- */

/* X(kind, default message). RPC_OK is 0 and never names an error object. */
#define RPC_ERROR_KINDS(X)                                                   \
	X(RPC_OK, "ok")                                                      \
	X(RPC_ERR_SERVER, "rpc: server error")   /* remote: the server's text */ \
	X(RPC_ERR_SHUTDOWN, "connection is shut down")                       \
	X(RPC_ERR_UNEXPECTED_EOF, "unexpected EOF")                          \
	X(RPC_ERR_PROTOCOL, "rpc: protocol error")                           \
	X(RPC_ERR_IO, "rpc: i/o error")                                      \
	X(RPC_ERR_TIMEOUT, "rpc: timeout")                                   \
	X(RPC_ERR_NOMEM, "rpc: out of memory")                               \
	X(RPC_ERR_INVALID, "rpc: invalid argument")

typedef enum rpc_error_kind {
#define RPC_X_ENUM(k, msg) k,
	RPC_ERROR_KINDS(RPC_X_ENUM)
#undef RPC_X_ENUM
} rpc_error_kind;

/* rpc_error is an error value: a kind, a message and, for RPC_ERR_IO, an
 * errno. Functions that fail return a new rpc_error the caller frees with
 * rpc_error_free(); NULL means success. */
typedef struct rpc_error rpc_error;

/* rpc_error_new makes a handler's error: its text is what the client sees
 * (as an RPC_ERR_SERVER error). Caller owns it; a handler returns it and the
 * runtime frees it. Never returns NULL (out of memory yields a shared static
 * error that rpc_error_free ignores). */
rpc_error *rpc_error_new(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;
rpc_error_kind rpc_error_kind_of(const rpc_error *err);
const char *rpc_error_message(const rpc_error *err); /* valid until rpc_error_free */
int rpc_error_errno(const rpc_error *err);           /* 0 unless RPC_ERR_IO */
const char *rpc_error_kind_name(rpc_error_kind kind);
void rpc_error_free(rpc_error *err);                 /* accepts NULL */

/* ---- types and methods [generated-code ABI] ------------------------------ */

/* How an argument or reply type crosses the C API and the wire. Every type
 * is a protobuf-c message on the protobuf wire; types that are not structs
 * travel there inside a one-field wrapper message whose field 1 is named
 * "value". */
typedef enum rpc_form {
	RPC_FORM_MESSAGE = 0, /* a struct: the C API passes the message */
	RPC_FORM_VALUE = 1,   /* a scalar, string, bytes or enum: the C API
	                         passes a pointer to the wrapper's field type
	                         (int64_t *, char **, ProtobufCBinaryData *,
	                         protobuf_c_boolean *, ...); gob and JSON send
	                         the value bare */
	RPC_FORM_WRAPPED = 2, /* a list or map: the C API passes the wrapper
	                         message; gob and JSON send field 1 bare */
} rpc_form;

typedef struct rpc_type {
	const char *name; /* the IDL spelling: "Args", "int64", "list<Args>" */
	const ProtobufCMessageDescriptor *desc;
	rpc_form form;
} rpc_type;

/* rpc_invoke_fn calls one user handler. args and reply point at C values of
 * the method's types (after unwrapping RPC_FORM_VALUE). */
typedef rpc_error *rpc_invoke_fn(const void *handlers, void *self,
                                 const void *args, void *reply);

typedef struct rpc_method {
	const char *name; /* "Multiply" */
	const rpc_type *args;
	const rpc_type *reply;
	rpc_invoke_fn *invoke;
} rpc_method;

typedef struct rpc_service_desc {
	uint32_t abi;              /* RPC_ABI_VERSION it was generated for */
	const char *name;          /* "Arith": the default registration name */
	const char *package;       /* "arith" or NULL; never on the wire */
	size_t n_methods;
	const rpc_method *methods; /* sorted by name (strcmp order) */
} rpc_service_desc;

/* rpc_message_free_contents frees everything inside *msg that decoding
 * allocated (strings, bytes, lists, maps, nested messages, unknown fields),
 * recursively, then re-initialises it to its defaults. It does not free msg
 * itself. Accepts NULL. Memory inside messages is always malloc'd. */
void rpc_message_free_contents(ProtobufCMessage *msg);

/* rpc_value_free_contents frees what decoding allocated inside a value of
 * type t held at value (a message for RPC_FORM_MESSAGE/WRAPPED; the wrapper
 * field's C type for RPC_FORM_VALUE, e.g. the char * of a string). */
void rpc_value_free_contents(const rpc_type *t, void *value);

/* ---- codecs -------------------------------------------------------------- */

/* A codec is the wire format of one connection. All three speak the same
 * generated types; choose one per client and per server connection. */
typedef struct rpc_codec rpc_codec;
extern const rpc_codec rpc_codec_protobuf; /* native framing (docs/framing.md) */
extern const rpc_codec rpc_codec_gob;      /* Go net/rpc default */
extern const rpc_codec rpc_codec_json;     /* Go net/rpc/jsonrpc */

/* RPC_DEFAULT_MAX_FRAME is the largest message a connection accepts when
 * its options say 0: a longer frame (or gob/JSON message) ends the
 * connection with an error before anything is allocated for it. */
#define RPC_DEFAULT_MAX_FRAME ((size_t)64 * 1024 * 1024)

/* ---- client [generated-code ABI: rpc_client_call, rpc_client_go] ----------- */

typedef struct rpc_client rpc_client;
typedef struct rpc_call rpc_call;
typedef struct rpc_done rpc_done;

/* rpc_client_call makes one blocking call of service_method ("Arith.Multiply")
 * with method m's types. args is borrowed for the duration of the call;
 * reply is overwritten with the decoded reply (what it held before is not
 * freed) and what decoding allocated is the caller's, freed with the type's
 * free_contents function. Returns NULL on success, else an error the caller
 * frees; RPC_ERR_SERVER errors carry the server's text. */
rpc_error *rpc_client_call(rpc_client *c, const char *service_method,
                           const rpc_method *m, const void *args, void *reply);

/* rpc_client_go starts an asynchronous call. args is borrowed for the
 * duration of the call to rpc_client_go only (it is encoded before this
 * returns); reply must stay valid until the call completes. On success
 * returns NULL, sets *call (if call is not NULL) and the call completes
 * exactly once through done. On failure returns an error and the call
 * never completes. */
rpc_error *rpc_client_go(rpc_client *c, const char *service_method,
                         const rpc_method *m, const void *args, void *reply,
                         rpc_done *done, rpc_call **call);

#ifdef __cplusplus
}
#endif
#endif
