/* rpc.h - librpc, Go's net/rpc for C.
 *
 * librpc lets a C program export services whose methods other programs
 * call across a network connection, the way Go's net/rpc does. A service
 * is described in a .rpc file; rpcgen-c turns it into C types, a blocking
 * and an asynchronous client stub per method, and a handler table for the
 * server. A method has the shape of Go's rule: two parameters, the
 * arguments and a pointer to the reply, and an error result.
 *
 *   // arith.rpc
 *   package arith;
 *   struct Args { int64 A; int64 B; }
 *   struct Quotient { int64 Quo; int64 Rem; }
 *   service Arith {
 *       Multiply(Args args, int64 *reply);
 *       Divide(Args args, Quotient *reply);
 *   }
 *
 * The server fills a handler table, registers it and serves a listener:
 *
 *   static rpc_error *multiply(void *self, const arith_Args *args,
 *                              int64_t *reply)
 *   {
 *           *reply = args->A * args->B;
 *           return NULL;
 *   }
 *
 *   static rpc_error *divide(void *self, const arith_Args *args,
 *                            arith_Quotient *reply)
 *   {
 *           if (args->B == 0)
 *                   return rpc_error_new("divide by zero");
 *           reply->Quo = args->A / args->B;
 *           reply->Rem = args->A % args->B;
 *           return NULL;
 *   }
 *
 *   static const arith_Arith_handlers handlers = {
 *           .Multiply = multiply, .Divide = divide,
 *   };
 *
 *   rpc_server *srv;  rpc_listener *l;
 *   rpc_server_new(NULL, &srv);
 *   arith_Arith_register(srv, &handlers, NULL);
 *   rpc_listen("tcp:127.0.0.1:1234", &l);
 *   rpc_server_accept(srv, l);             // serves until l is closed
 *
 * The client dials and calls, blocking or asynchronously:
 *
 *   rpc_client *c;
 *   rpc_error *err = rpc_dial("tcp:127.0.0.1:1234", NULL, &c);
 *   arith_Args args = ARITH_ARGS_INIT;
 *   args.A = 7; args.B = 8;
 *   int64_t product;
 *   err = arith_Arith_Multiply(c, &args, &product);   // product == 56
 *
 *   rpc_done *done = rpc_done_new_queue();
 *   arith_Quotient q = ARITH_QUOTIENT_INIT;
 *   err = arith_Arith_Divide_go(c, &args, &q, done, NULL);
 *   rpc_call *call = rpc_done_wait(done, -1);         // or poll rpc_done_fd
 *   if (rpc_call_error(call) != NULL)
 *           puts(rpc_error_message(rpc_call_error(call)));
 *   rpc_call_free(call);
 *
 * A call can have a deadline (RPC_ERR_TIMEOUT when it passes) and can be
 * cancelled; a call started with no done is the caller's to wait for:
 *
 *   rpc_call_options o = {.timeout_ms = 250};
 *   err = arith_Arith_Multiply_opts(c, &o, &args, &product);
 *   err = arith_Arith_Divide_go_opts(c, NULL, &args, &q, NULL, &call);
 *   if (!rpc_call_wait(call, 100))                    // not done in 100 ms
 *           rpc_call_cancel(call);                    // RPC_ERR_CANCELED
 *   rpc_call_free(call);
 *   rpc_done_free(done);
 *   rpc_client_free(c);
 *
 * Errors are values (rpc_error): NULL is success, anything else is freed
 * by whoever receives it. An error the server's handler returned arrives
 * as RPC_ERR_SERVER with the handler's text; local failures have their own
 * kinds (RPC_ERR_SHUTDOWN "connection is shut down", RPC_ERR_UNEXPECTED_EOF
 * "unexpected EOF", ...). Every pointer parameter says who owns it.
 *
 * A replicated service is called through a balanced client, which the
 * same stubs take: rpc_dial("srv:_arith._tcp.example.internal", NULL, &c)
 * (or "dns:NAME:PORT", "list:H:P,H:P"); see rpc_dial_balanced and
 * docs/scaling.md.
 *
 * Wire formats: the native protobuf codec (docs/framing.md) by default,
 * Go's gob and JSON-RPC codecs for talking to Go programs.
 *
 * The sections marked [generated-code ABI] are what code emitted by
 * rpcgen-c depends on; they change only together with the templates and
 * RPC_ABI_VERSION.
 */
#ifndef RPC_H
#define RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* RPC_API marks what librpc exports; everything else in the library is
 * built with hidden visibility. */
#if defined(__GNUC__)
#define RPC_API __attribute__((visibility("default")))
#else
#define RPC_API
#endif

/* ---- versions [generated-code ABI] ------------------------------------ */

#define RPC_VERSION_MAJOR  0
#define RPC_VERSION_MINOR  1
#define RPC_VERSION_PATCH  0
#define RPC_VERSION_STRING "0.1.0"

/* RPC_ABI_VERSION changes whenever the structures below change shape.
 * Generated files check it at compile time (#if RPC_ABI_VERSION != N
 * #error ...) and rpc_server_register() checks rpc_service_desc.abi. */
#define RPC_ABI_VERSION 2

/* ---- errors -------------------------------------------------------------- */

/* X(kind, default message). RPC_OK is 0 and never names an error object. */
#define RPC_ERROR_KINDS(X)                                                     \
	X(RPC_OK, "ok")                                                        \
	X(RPC_ERR_SERVER, "rpc: server error") /* remote: the server's text */ \
	X(RPC_ERR_SHUTDOWN, "connection is shut down")                         \
	X(RPC_ERR_UNEXPECTED_EOF, "unexpected EOF")                            \
	X(RPC_ERR_PROTOCOL, "rpc: protocol error")                             \
	X(RPC_ERR_IO, "rpc: i/o error")                                        \
	X(RPC_ERR_TIMEOUT, "rpc: timeout")                                     \
	X(RPC_ERR_NOMEM, "rpc: out of memory")                                 \
	X(RPC_ERR_INVALID, "rpc: invalid argument")                            \
	X(RPC_ERR_UNAVAILABLE, "rpc: no endpoint available")                   \
	X(RPC_ERR_CANCELED, "rpc: call canceled")                              \
	X(RPC_ERR_TLS, "rpc: tls error") /* handshake, certificate, record */

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
RPC_API rpc_error *rpc_error_new(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
RPC_API rpc_error_kind rpc_error_kind_of(const rpc_error *err);
RPC_API const char *
rpc_error_message(const rpc_error *err); /* valid until rpc_error_free */
RPC_API int rpc_error_errno(const rpc_error *err); /* 0 unless RPC_ERR_IO */
RPC_API const char *rpc_error_kind_name(rpc_error_kind kind);
RPC_API void rpc_error_free(rpc_error *err); /* accepts NULL */

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

/* rpc_method.flags: RPC_METHOD_IDEMPOTENT marks a method written
 * "[idempotent]" in its .rpc file: a balanced client (rpc_dial_balanced)
 * may retry it once on another endpoint. */
#define RPC_METHOD_IDEMPOTENT 0x1u

typedef struct rpc_method {
	const char *name; /* "Multiply" */
	const rpc_type *args;
	const rpc_type *reply;
	rpc_invoke_fn *invoke;
	unsigned flags; /* RPC_METHOD_* bits */
} rpc_method;

typedef struct rpc_service_desc {
	uint32_t abi;        /* RPC_ABI_VERSION it was generated for */
	const char *name;    /* "Arith": the default registration name */
	const char *package; /* "arith" or NULL; never on the wire */
	size_t n_methods;
	const rpc_method *methods; /* sorted by name (strcmp order) */
} rpc_service_desc;

/* rpc_message_free_contents frees everything inside *msg that decoding
 * allocated (strings, bytes, lists, maps, nested messages, unknown fields,
 * the elements of fixed-size arrays),
 * recursively, then re-initialises it to its defaults. It does not free msg
 * itself. Accepts NULL. Memory inside messages is always malloc'd. */
RPC_API void rpc_message_free_contents(ProtobufCMessage *msg);

/* rpc_message_copy makes *dst a deep copy of *src (same descriptor; dst
 * points at sizeof_message bytes): every string, bytes, list, map and
 * nested message is copied into fresh malloc'd memory, so dst stays valid
 * after src is freed and is freed with rpc_message_free_contents (the
 * caller's), like a decoded message. What dst held before is overwritten,
 * not freed. src is borrowed for the duration of the call. Returns true,
 * or false when out of memory, with dst left at its defaults. Generated
 * code wraps it as X_copy(dst, src), e.g. for a handler to return data it
 * keeps: the runtime frees the reply after sending it. */
RPC_API bool rpc_message_copy(ProtobufCMessage *dst,
                              const ProtobufCMessage *src);

/* rpc_message_equal tells whether *a and *b have the same descriptor and
 * equal fields: strings and bytes by content, lists element by element,
 * maps by key in any order, nested messages recursively, an unset
 * optional field equal only to an unset one, floats with == (a NaN is
 * unequal to itself, as in Go), fixed-size arrays element by element (a
 * NULL string or message element equal to an empty one). Unknown fields
 * are not compared. Accepts NULL (equal only to NULL). Generated code
 * wraps it as X_equal(a, b). */
RPC_API bool rpc_message_equal(const ProtobufCMessage *a,
                               const ProtobufCMessage *b);

/* rpc_value_free_contents frees what decoding allocated inside a value of
 * type t held at value (a message for RPC_FORM_MESSAGE/WRAPPED; the wrapper
 * field's C type for RPC_FORM_VALUE, e.g. the char * of a string). */
RPC_API void rpc_value_free_contents(const rpc_type *t, void *value);

/* ---- codecs -------------------------------------------------------------- */

/* A codec is the wire format of one connection. All three speak the same
 * generated types; choose one per client and per server connection. */
typedef struct rpc_codec rpc_codec;
RPC_API extern const rpc_codec
    rpc_codec_protobuf; /* native framing (docs/framing.md) */
RPC_API extern const rpc_codec rpc_codec_gob;  /* Go net/rpc default */
RPC_API extern const rpc_codec rpc_codec_json; /* Go net/rpc/jsonrpc */

/* RPC_DEFAULT_MAX_FRAME is the largest message a connection accepts when
 * its options say 0: a longer frame (or gob/JSON message) ends the
 * connection with an error before anything is allocated for it. */
#define RPC_DEFAULT_MAX_FRAME ((size_t)64 * 1024 * 1024)

/* ---- TLS (docs/tls.md) --------------------------------------------------- */

/* rpc_tls is a TLS configuration on OpenSSL: this side's certificate, whom
 * to trust, how to verify the peer. One may serve any number of clients or
 * listeners, from any threads. TLS 1.2 and 1.3 with OpenSSL's default
 * secure ciphers; renegotiation is refused. A client or listener made with
 * it keeps a reference of its own, so the caller may rpc_tls_free it as
 * soon as they are made. */
typedef struct rpc_tls rpc_tls;

/* rpc_tls_options is a small value for the stack; zero means default.
 * Files are PEM. The strings are borrowed for the duration of the call
 * that takes the options. */
typedef struct rpc_tls_options {
	/* cert_file: this side's certificate chain (leaf first); a server
	 * needs one, a client gives one for mutual TLS. key_file: its
	 * private key (NULL: in cert_file). */
	const char *cert_file;
	const char *key_file;
	/* ca_file, ca_dir (a c_rehash directory): the certificate
	 * authorities trusted to sign the peer's certificate. A client with
	 * neither trusts the system's store. A server with either asks
	 * clients for a certificate and verifies the one sent. */
	const char *ca_file;
	const char *ca_dir;
	/* require_client_cert (server): mutual TLS; a client without a
	 * certificate that verifies is refused during the handshake. Needs
	 * ca_file or ca_dir. */
	bool require_client_cert;
	/* server_name (client): the name (DNS name or IP address) the
	 * server's certificate must carry, also sent as SNI. NULL: the host
	 * of the address dialed. */
	const char *server_name;
	/* insecure_skip_verify (client): accept any certificate from any
	 * server. Anyone on the path can then read and change the calls;
	 * for tests only, as Go's InsecureSkipVerify. */
	bool insecure_skip_verify;
	/* tls13_only: refuse TLS 1.2. */
	bool tls13_only;
	/* no_resume (client): keep no sessions, so every dial is a full
	 * handshake (by default the last session of each server is offered
	 * again, docs/tls.md). */
	bool no_resume;
} rpc_tls_options;

/* rpc_tls_client_new and rpc_tls_server_new make a configuration for one
 * side. opts is borrowed for the duration of the call. A file that cannot
 * be read, a key that does not match its certificate, a server without a
 * certificate or require_client_cert without a CA fail (RPC_ERR_TLS or
 * RPC_ERR_INVALID, with OpenSSL's reason). On success *out is freed by the
 * caller with rpc_tls_free. */
RPC_API rpc_error *rpc_tls_client_new(const rpc_tls_options *opts,
                                      rpc_tls **out);
RPC_API rpc_error *rpc_tls_server_new(const rpc_tls_options *opts,
                                      rpc_tls **out);

/* rpc_tls_free drops the caller's reference; the configuration goes when
 * the last client or listener using it does. Accepts NULL. */
RPC_API void rpc_tls_free(rpc_tls *t);

/* rpc_tls_info describes one TLS connection, a value the caller owns. */
typedef struct rpc_tls_info {
	char version[16]; /* "TLSv1.3" */
	char cipher[64];  /* "TLS_AES_256_GCM_SHA384" */
	bool resumed;     /* the session was resumed (no full handshake) */
	bool verified;    /* the peer's certificate was verified */
	char peer[256];   /* the peer certificate's subject, RFC 2253;
	                     "" when there is none (possibly cut short) */
} rpc_tls_info;

/* ---- client [generated-code ABI: rpc_client_call, rpc_client_go,
 *      rpc_client_call_opts, rpc_client_go_opts, rpc_call_options] ------- */

/* A client is one connection to a server. Any number of threads may make
 * calls on it at once; requests are sent in the order their sequence
 * numbers were given, replies may come back in any order. Replies are read
 * by a reader thread per client, or by a blocking caller itself while no
 * asynchronous call is pending (which saves two thread switches per call).
 * A connection the server closes while no call is pending is noticed by
 * the next call, which fails with RPC_ERR_UNEXPECTED_EOF; calls after that
 * fail with RPC_ERR_SHUTDOWN.
 *
 * The async contract: a call whose start fails (rpc_client_go returns an
 * error) never completes later. Otherwise the call completes exactly once,
 * with no library lock held, by whichever comes first: its reply (or the
 * server's error), its deadline (RPC_ERR_TIMEOUT), rpc_call_cancel
 * (RPC_ERR_CANCELED), or the end of the connection (RPC_ERR_UNEXPECTED_EOF
 * when the peer went away, RPC_ERR_SHUTDOWN when the client was closed).
 * A call that ends without its reply never has its reply written, then or
 * later: the reply that comes late is read and dropped, and the connection
 * lives on. Whoever receives a completed call (the done-queue's consumer
 * or the callback) owns it and frees it with rpc_call_free; a call started
 * with no done is its starter's from the start (rpc_client_go_opts).
 *
 * Deadlines: a call may have a timeout, from rpc_call_options or the
 * client's call_timeout_ms. It is measured from the start of the call on
 * the monotonic clock, and the native codec tells the server how much of
 * it is left (docs/framing.md); gob and JSON have no place for it on the
 * wire, so there only the client enforces it. A server that receives a
 * request whose deadline has already passed does not run it and answers
 * "rpc: deadline exceeded before the call started", which the client
 * reports as RPC_ERR_TIMEOUT. Only calls with a deadline cost anything:
 * the thread reading replies waits for the earliest one. */
typedef struct rpc_client rpc_client;
typedef struct rpc_call rpc_call;
typedef struct rpc_done rpc_done;

/* rpc_client_options is a small value for the stack; zero means default. */
typedef struct rpc_client_options {
	const rpc_codec *codec; /* NULL: rpc_codec_protobuf */
	size_t max_frame;       /* 0: RPC_DEFAULT_MAX_FRAME */
	/* log receives one line when the connection ends for a reason other
	 * than end of file or close ("rpc: client protocol error: ...", Go's
	 * debug log) and one per call whose deadline passes ("rpc: call S.M
	 * (seq N) timed out; ..."); line is borrowed for the duration of the
	 * call. Called on the thread reading replies or on the thread of a
	 * blocking call that timed out. NULL: the client logs nothing. */
	void (*log)(void *ud, const char *line);
	void *log_ud;
	/* call_timeout_ms is the timeout of calls whose options do not give
	 * one. 0 (or negative): none, as in Go; a call then waits for its
	 * reply as long as the connection lives (TCP keepalive notices a peer
	 * that vanished, not one that is alive and silent). */
	int call_timeout_ms;
	/* dial_timeout_ms bounds rpc_dial's connect (each address tried gets
	 * what is left). 0: RPC_DEFAULT_DIAL_TIMEOUT_MS; negative: none. */
	int dial_timeout_ms;
	/* write_timeout_ms bounds how long a request write waits for the
	 * server to take a byte (SO_SNDTIMEO): a server that stops reading
	 * for longer ends the connection, and every pending call fails with
	 * RPC_ERR_TIMEOUT "rpc: write timed out (no progress in N ms)".
	 * 0: RPC_DEFAULT_WRITE_TIMEOUT_MS; negative: none. */
	int write_timeout_ms;
	/* no_keepalive turns off TCP keepalive on the sockets rpc_dial makes
	 * (on by default with Go's timing: a probe after 15 s idle, then
	 * every 15 s; a peer that answers none of the system's count of
	 * probes ends the connection, RPC_ERR_IO "rpc: read: Connection timed
	 * out"). */
	bool no_keepalive;
	/* tls, when not NULL, makes rpc_dial (any address) and
	 * rpc_dial_http speak TLS with this configuration (from
	 * rpc_tls_client_new); a "tls:HOST:PORT" address without it uses
	 * one that trusts the system's store. Borrowed for the duration of
	 * the dial; the client keeps a reference. The handshake counts
	 * against dial_timeout_ms. */
	rpc_tls *tls;
} rpc_client_options;

/* RPC_DEFAULT_DIAL_TIMEOUT_MS is rpc_dial's connect timeout and
 * RPC_DEFAULT_WRITE_TIMEOUT_MS the client's write timeout when the options
 * say 0. */
#define RPC_DEFAULT_DIAL_TIMEOUT_MS  30000
#define RPC_DEFAULT_WRITE_TIMEOUT_MS 30000

/* rpc_call_options is one call's options, a small value for the stack;
 * zero means default. */
typedef struct rpc_call_options {
	/* timeout_ms: > 0 the call's timeout; 0: the client's
	 * call_timeout_ms; RPC_NO_TIMEOUT (any negative): none, whatever
	 * the client's. */
	int timeout_ms;
	/* service, when not NULL, is the name the server registered the
	 * service under (Go's RegisterName, e.g. "net.rpc.Arith"): the call
	 * goes to "service.M", M being the method's name, instead of the
	 * service_method given. Borrowed for the duration of the call. */
	const char *service;
} rpc_call_options;

#define RPC_NO_TIMEOUT (-1)

/* rpc_dial connects to address ("tcp:HOST:PORT", "HOST:PORT",
 * "unix:PATH", "tls:HOST:PORT": TLS over tcp, see opts->tls) and makes a client
 * on the connection; a balanced address
 * ("list:", "dns:", "srv:", below) makes a balanced client. opts (NULL for
 * the defaults) is borrowed for the duration of the call. A connect that
 * takes longer than opts->dial_timeout_ms fails with RPC_ERR_TIMEOUT. On
 * success *out is a client the caller frees with rpc_client_free. */
RPC_API rpc_error *rpc_dial(const char *address, const rpc_client_options *opts,
                            rpc_client **out);

/* rpc_client_tls_info describes c's TLS connection; false (and *out
 * untouched) when c does not speak TLS or is balanced. */
RPC_API bool rpc_client_tls_info(rpc_client *c, rpc_tls_info *out);

/* ---- balanced clients (docs/scaling.md) --------------------------------- */

/* A balanced client is an rpc_client that holds one connection per
 * endpoint of a replicated service and sends each call to one of them; the
 * generated stubs take it like any client. Its address names the replicas:
 *
 *   "list:HOST:PORT,HOST:PORT,..."  a static list
 *   "dns:NAME:PORT"                 every A and AAAA address of NAME
 *   "srv:_service._tcp.DOMAIN"      the SRV records of the name, with their
 *                                   priorities and weights
 *
 * DNS names are resolved asynchronously (c-ares) by the client's own
 * thread, again when their TTL runs out (within the floor and cap of the
 * options) and soon after an endpoint fails. Endpoints that appear are
 * dialed; endpoints that vanish are drained (their calls in flight finish)
 * and closed. A broken connection is redialed with exponential backoff and
 * jitter.
 *
 * Failure semantics: a call in flight on an endpoint that dies fails with
 * the usual error (RPC_ERR_UNEXPECTED_EOF), once; later calls avoid the dead
 * endpoint. A call (blocking or asynchronous) of a method marked
 * [idempotent] in its .rpc file is retried once on another endpoint
 * before it fails; no other call is ever retried once its request may
 * have left (at most once, as Go).
 * A call that finds no live endpoint fails at once with
 * RPC_ERR_UNAVAILABLE. */

/* rpc_balance_policy picks the endpoint of each call. */
typedef enum rpc_balance_policy {
	RPC_BALANCE_ROUND_ROBIN = 0,   /* in turn (weighted by SRV weight) */
	RPC_BALANCE_LEAST_PENDING = 1, /* fewest calls in flight per weight */
} rpc_balance_policy;

/* rpc_balance_options is a small value for the stack; zero means default
 * (the defaults are in the limits table of docs/scaling.md). */
typedef struct rpc_balance_options {
	rpc_balance_policy policy;
	/* dns_server is the DNS server to ask, "IP:PORT" or "IP" (several
	 * separated by commas); NULL: the system's (/etc/resolv.conf).
	 * Borrowed for the duration of rpc_dial_balanced. */
	const char *dns_server;
	unsigned backoff_min_ms;     /* first redial delay; 0: 50 */
	unsigned backoff_max_ms;     /* redial delay cap; 0: 5000 */
	unsigned resolve_min_ms;     /* re-resolve floor (TTL 0); 0: 1000 */
	unsigned resolve_max_ms;     /* re-resolve cap; 0: 300000 */
	unsigned connect_timeout_ms; /* one dial; 0: 2000 */
	unsigned dns_timeout_ms;     /* one DNS query try; 0: 1000 */
	unsigned drain_timeout_ms;   /* a vanished endpoint's calls; 0: 30000 */
} rpc_balance_options;

/* rpc_dial_balanced makes a balanced client for address (one of the forms
 * above). opts->log, if set, also gets a line per endpoint event ("rpc:
 * balancer: endpoint tcp:10.0.0.7:1234 up", "... hung up", "... removed")
 * from the client's own thread. It resolves the address and dials every
 * endpoint before it returns, and fails if the name cannot be resolved or no
 * endpoint can be dialed. opts applies to every endpoint's connection and bopts
 * to the balancing (either NULL for the defaults); both, and address, are
 * borrowed for the duration of the call. On success *out is a client the
 * caller frees with rpc_client_free. rpc_dial(address, opts, out) with a
 * balanced address is rpc_dial_balanced(address, opts, NULL, out). */
RPC_API rpc_error *rpc_dial_balanced(const char *address,
                                     const rpc_client_options *opts,
                                     const rpc_balance_options *bopts,
                                     rpc_client **out);

/* rpc_balance_stats describes a balanced client's endpoints right now. */
typedef struct rpc_balance_stats {
	size_t endpoints; /* known, including those being dialed or drained */
	size_t up;        /* connected and taking calls */
	uint64_t resolutions; /* DNS resolutions completed so far */
} rpc_balance_stats;

/* rpc_balance_stats_get fills *st for c; returns false (and leaves *st
 * alone) when c is not a balanced client. Borrowed for the duration of the
 * call. */
RPC_API bool rpc_balance_stats_get(rpc_client *c, rpc_balance_stats *st);

/* rpc_client_new_fd makes a client on the connected socket fd (made
 * blocking if it was not). Takes ownership of fd on success
 * (rpc_client_free closes it); on failure fd is still the caller's. opts as
 * for rpc_dial (the dial options do not apply), except that opts->tls
 * makes the client speak TLS on fd: the handshake runs first, within
 * dial_timeout_ms, and the server is verified by the configuration's
 * server_name (there is no address to take a name from; without one, or
 * insecure_skip_verify, it fails with RPC_ERR_INVALID). After a failed
 * handshake fd is the caller's but of no further use. */
RPC_API rpc_error *rpc_client_new_fd(int fd, const rpc_client_options *opts,
                                     rpc_client **out);

/* rpc_client_close shuts the connection down: calls in flight complete with
 * RPC_ERR_SHUTDOWN and later calls fail with it at once. A second close
 * returns an RPC_ERR_SHUTDOWN error (caller frees). c stays allocated
 * until rpc_client_free. */
RPC_API rpc_error *rpc_client_close(rpc_client *c);

/* rpc_client_free closes c if needed, waits until every call in flight has
 * completed and the reader thread has ended, and frees c. No other thread
 * may be using c (nor rpc_call_cancel one of its calls), and it must not be
 * called from one of c's callbacks. Accepts NULL. */
RPC_API void rpc_client_free(rpc_client *c);

/* rpc_client_call makes one blocking call of service_method ("Arith.Multiply")
 * with method m's types. args is borrowed for the duration of the call;
 * reply is overwritten with the decoded reply (what it held before is not
 * freed) and what decoding allocated is the caller's, freed with the type's
 * free_contents function. Returns NULL on success, else an error the caller
 * frees; RPC_ERR_SERVER errors carry the server's text.
 *
 * After an error the reply holds nothing the call allocated, so there is
 * nothing to free: on RPC_ERR_SERVER (the server's handler failed; its
 * reply is never sent) and on every error before a reply arrived
 * (shutdown, end of file, I/O, timeout, invalid arguments) *reply is as
 * the caller left it; when the reply's body could not be decoded
 * (RPC_ERR_PROTOCOL, RPC_ERR_NOMEM) a struct, list or map reply has been
 * reset to its defaults (X_INIT) and a scalar, string, bytes or enum reply
 * is as the caller left it. The same holds for rpc_client_go's reply when
 * its call completes with an error. The call's timeout is the client's
 * call_timeout_ms; on RPC_ERR_TIMEOUT reply is as it was before the call. */
RPC_API rpc_error *rpc_client_call(rpc_client *c, const char *service_method,
                                   const rpc_method *m, const void *args,
                                   void *reply);

/* rpc_client_call_opts is rpc_client_call with the call's options; opts
 * (NULL: defaults) is borrowed for the duration of the call. */
RPC_API rpc_error *rpc_client_call_opts(rpc_client *c,
                                        const char *service_method,
                                        const rpc_method *m,
                                        const rpc_call_options *opts,
                                        const void *args, void *reply);

/* rpc_client_go starts an asynchronous call. args is borrowed for the
 * duration of the call to rpc_client_go only (it is encoded before this
 * returns); reply must stay valid until the call completes. done (not
 * NULL) is borrowed until the call completes. On success returns NULL,
 * sets *call (if call is not NULL; the pointer is only good for matching
 * the completed call, as its receiver may free it at any time) and the call
 * completes exactly once through done. On failure returns an error the
 * caller frees and the call never completes. The call's timeout is the
 * client's call_timeout_ms. */
RPC_API rpc_error *rpc_client_go(rpc_client *c, const char *service_method,
                                 const rpc_method *m, const void *args,
                                 void *reply, rpc_done *done, rpc_call **call);

/* rpc_client_go_opts is rpc_client_go with the call's options (opts, NULL
 * for the defaults, is borrowed for the duration of the call), and done
 * may be NULL: the call is then its starter's, the way a Go *Call is.
 * call must not be NULL then, and *call is valid until rpc_call_free:
 * rpc_call_wait waits for it, rpc_call_cancel ends it, rpc_call_free
 * (which cancels it if it is still running) frees it. */
RPC_API rpc_error *rpc_client_go_opts(rpc_client *c, const char *service_method,
                                      const rpc_method *m,
                                      const rpc_call_options *opts,
                                      const void *args, void *reply,
                                      rpc_done *done, rpc_call **call);

/* rpc_call_wait waits up to timeout_ms milliseconds (negative: for ever, 0:
 * not at all) for call, started with no done, to complete; true once it
 * has (its result is then rpc_call_error's), false if the wait timed out
 * (the call runs on; waiting is not cancelling). For a call that has a done
 * it only tells whether the call has completed. call is borrowed. */
RPC_API bool rpc_call_wait(rpc_call *call, int timeout_ms);

/* rpc_call_cancel ends call, if it has not completed yet, with
 * RPC_ERR_CANCELED: it completes on the calling thread (a callback done
 * runs here) before this returns; its late reply is dropped. A call that
 * has completed, or whose reply is being decoded, is left as it is. call is
 * borrowed and must still be allocated: a call started with no done until
 * rpc_call_free, a call with a done only while its receiver has not freed
 * it (the consumer of a done-queue knows; with a callback done that is the
 * caller's to arrange). */
RPC_API void rpc_call_cancel(rpc_call *call);

/* A done is where asynchronous calls complete: a queue or a callback. One
 * done may serve many calls on many clients. */

/* rpc_done_new_queue makes a done-queue. Completed calls wait in it until
 * taken with rpc_done_next or rpc_done_wait. Returns NULL on out of memory;
 * the caller frees it with rpc_done_free. */
RPC_API rpc_done *rpc_done_new_queue(void);

/* rpc_done_new_callback makes a done that runs cb(call, ud) for each
 * completed call, with no library lock held, on the thread reading the
 * client's replies: its reader thread, a thread blocked in rpc_client_call
 * on the same client (which reads for itself when it can), or the thread
 * freeing the client. cb owns call and frees it with rpc_call_free. cb must
 * not block for long, since the client's replies wait for it, and must not
 * make blocking calls on that client; it may start asynchronous ones. ud is
 * borrowed until rpc_done_free. Returns NULL on out of memory; the caller
 * frees it with rpc_done_free. */
RPC_API rpc_done *rpc_done_new_callback(void (*cb)(rpc_call *call, void *ud),
                                        void *ud);

/* rpc_done_fd returns a descriptor that polls readable while the queue
 * holds completed calls, for a user's event loop; -1 for a callback done
 * (or if the descriptor cannot be made). It is made on the first request,
 * so queues only used with rpc_done_wait cost no descriptor. Valid until
 * rpc_done_free; do not read or close it. */
RPC_API int rpc_done_fd(rpc_done *d);

/* rpc_done_next takes one completed call from the queue, or returns NULL
 * if it is empty. The caller owns the call and frees it with
 * rpc_call_free. */
RPC_API rpc_call *rpc_done_next(rpc_done *d);

/* rpc_done_wait is rpc_done_next that waits up to timeout_ms milliseconds
 * (negative: for ever) for a call to complete. NULL on timeout. */
RPC_API rpc_call *rpc_done_wait(rpc_done *d, int timeout_ms);

/* rpc_done_free frees d and any calls still queued in it. Every call using
 * d must have completed (or its client been freed) first. Accepts NULL. */
RPC_API void rpc_done_free(rpc_done *d);

/* rpc_call_error returns a completed call's error, NULL on success;
 * borrowed, valid until rpc_call_free. */
RPC_API const rpc_error *rpc_call_error(const rpc_call *call);

/* rpc_call_reply returns the reply pointer given to rpc_client_go, filled
 * once the call succeeded. */
RPC_API void *rpc_call_reply(const rpc_call *call);

/* rpc_call_service_method returns the call's "Service.Method"; valid until
 * rpc_call_free. */
RPC_API const char *rpc_call_service_method(const rpc_call *call);

/* rpc_call_free frees a completed call (not its reply). A call started
 * with no done may be freed at any time: it is first cancelled and, if its
 * reply is being decoded, waited for. Accepts NULL. */
RPC_API void rpc_call_free(rpc_call *call);

/* ---- server [generated-code ABI: rpc_server, rpc_server_register] ------ */

/* rpc_server serves registered services on any number of connections.
 * Calls on one connection run concurrently and their replies may leave out
 * of order; a handler that blocks holds back no other call. Thread-safe. */
typedef struct rpc_server rpc_server;

/* rpc_peer (below) is who made a call. */
typedef struct rpc_peer rpc_peer;

/* rpc_server_options is a small value for the stack; zero means default. */
typedef struct rpc_server_options {
	const rpc_codec *codec; /* NULL: rpc_codec_protobuf; must outlive srv */
	size_t max_frame;       /* 0: RPC_DEFAULT_MAX_FRAME */
	unsigned threads;       /* event loops; 0: one per online CPU */
	unsigned max_threads;   /* cap on the server's call-running threads
	                           (loops plus those taking over from slow
	                           calls); 0: 1024 */
	/* log receives one line per internal or I/O error worth telling
	 * (Go's log.Print) and one each time a limit below acts; line is
	 * borrowed for the duration of the call. NULL: the server logs
	 * nothing. Called from any server thread. */
	void (*log)(void *ud, const char *line);
	void *log_ud;

	/* Limits: what one peer, or all of them, may cost the server. The
	 * table in docs/runtime.md gives each its default, what happens when
	 * it is reached and the line logged. 0 means the default; a negative
	 * timeout means none. */
	int write_timeout_ms; /* 0: 30000. A connection whose replies make
	                         no write progress this long is closed. */
	int frame_timeout_ms; /* 0: 60000. A request begun but not complete
	                         this long closes its connection. */
	int idle_timeout_ms;  /* 0: none. A connection with no call in
	                         flight that sends nothing this long is
	                         closed. */
	int keepalive_s;      /* 0: 15. TCP keepalive on accepted sockets
	                         (and tcp ones given to serve_conn),
	                         first probe after this long idle, then
	                         every this long; negative: off. */
	size_t max_conn_out;  /* 0: 1 MiB. Reply bytes a connection may
	                         leave unread before it is no longer read. */
	unsigned max_conn_inflight; /* 0: 128. Requests of one connection
	                          admitted and not yet answered before it is
	                          no longer read. */
	size_t max_buffered;        /* 0: 128 MiB, or 2 * max_frame if larger.
	                               Bytes all connections may hold in buffers
	                               and admitted requests; beyond it the server
	                               reads nothing and closes the connection
	                               holding the most. */

	/* authorize, when not NULL, is asked before each call whether peer
	 * (see rpc_server_call_peer; borrowed for the duration of the
	 * call) may call service_method. A call refused is not run: the
	 * client gets the server error "rpc: S.M: permission denied for
	 * SUBJECT" (or "for an unauthenticated caller"), the method's
	 * denied count on the debug page grows and the server logs a line.
	 * Called from any server thread, concurrently. */
	bool (*authorize)(void *ud, const char *service_method,
	                  const rpc_peer *peer);
	void *authorize_ud;
} rpc_server_options;

/* RPC_DEFAULT_DRAIN_MS bounds how long rpc_server_free waits for peers to
 * take the replies of calls in flight. */
#define RPC_DEFAULT_DRAIN_MS 5000

/* rpc_server_new makes a server. opts is borrowed for the duration of the
 * call (NULL: defaults). On success *out is a server the caller frees with
 * rpc_server_free. */
RPC_API rpc_error *rpc_server_new(const rpc_server_options *opts,
                                  rpc_server **out);

/* rpc_server_shutdown drains srv: it stops accepting (every
 * rpc_server_accept on srv returns) and reading requests, lets the calls
 * in flight finish and their replies be written, and after timeout_ms
 * milliseconds (negative: no limit) closes every connection still open,
 * dropping replies not yet sent; calls still running then finish into the
 * closed connection, unseen. Sets *cut (if cut is not NULL) to the number
 * of connections closed that way. Returns NULL when everything drained in
 * time, an RPC_ERR_TIMEOUT error (caller frees) when connections were
 * cut. Later connections are refused; srv is still freed with
 * rpc_server_free. A handler must not call it. */
RPC_API rpc_error *rpc_server_shutdown(rpc_server *srv, int timeout_ms,
                                       size_t *cut);

/* rpc_server_free shuts srv down as rpc_server_shutdown with
 * RPC_DEFAULT_DRAIN_MS (so a peer that does not read holds it up at most
 * that long), waits for the calls still running to return, and frees
 * everything. No other call on srv may start once this has begun, and a
 * handler must not call it. Accepts NULL. */
RPC_API void rpc_server_free(rpc_server *srv);

/* rpc_server_register publishes the methods of desc, served by handlers (a
 * generated handler table, e.g. arith_Arith_handlers) with self as their
 * first argument, under name (NULL: desc->name). desc, handlers and self
 * are borrowed until rpc_server_free. Fails (error caller frees) on an ABI
 * mismatch, an empty name, no methods, or a name already registered
 * ("rpc: service already defined: NAME").
 *
 * A handler receives args decoded from the request, borrowed for the
 * duration of the call, and reply zero-initialised. Everything a handler
 * stores in *reply must be malloc'd (see rpc_strdup): the runtime frees it
 * with the type's free function after the reply is sent. A handler returns
 * NULL or an error from rpc_error_new, whose text the client receives and
 * which the runtime frees; the reply is then not sent, and whatever the
 * handler had already put in *reply is freed by the runtime all the same
 * (a failing handler need not undo what it filled). An error with empty
 * text counts as success, as in Go. To return data the handler keeps, put
 * a copy in *reply (generated X_copy, rpc_message_copy). */
RPC_API rpc_error *rpc_server_register(rpc_server *srv,
                                       const rpc_service_desc *desc,
                                       const void *handlers, void *self,
                                       const char *name);

/* rpc_server_call_deadline tells a handler its call's deadline: when the
 * request carried the caller's time left (the native codec does; gob and
 * JSON never do), sets *out (if out is not NULL; borrowed for the duration
 * of the call) to the moment it runs out, on CLOCK_MONOTONIC, and returns
 * true. Returns false when the call has no deadline or the calling thread
 * is not running a handler. A request whose deadline has passed before
 * its handler would start is answered with "rpc: deadline exceeded before
 * the call started" and its handler is not called. */
RPC_API bool rpc_server_call_deadline(struct timespec *out);

/* rpc_peer is who made the call a handler is running. */
struct rpc_peer {
	bool tls;            /* the call came over TLS */
	bool verified;       /* the client's certificate was verified */
	const char *subject; /* its subject, RFC 2253 ("CN=alice,O=Example");
	                        "" when it sent none (and always without TLS) */
	const char *sans;    /* its subject alternative names,
	                        "DNS:alice.example,IP:127.0.0.1"; "" when none */
};

/* rpc_server_call_peer tells a handler (or the authorize hook) who its
 * caller is: fills *out, whose strings are borrowed for the duration of
 * the call, and returns true. Returns false when the calling thread is
 * not running a call. */
RPC_API bool rpc_server_call_peer(rpc_peer *out);

/* rpc_server_num_calls returns how many calls of service_method
 * ("Arith.Multiply") srv has started, 0 if there is no such method. */
RPC_API uint64_t rpc_server_num_calls(rpc_server *srv,
                                      const char *service_method);

/* rpc_strdup is strdup for handlers filling a reply; NULL on NULL. Caller
 * (or, inside a reply, the runtime) frees with free(). */
RPC_API char *rpc_strdup(const char *s);

/* rpc_listener is a listening socket. */
typedef struct rpc_listener rpc_listener;

/* rpc_listen listens on address ("tcp:HOST:PORT", "tcp:[::1]:0",
 * "unix:PATH", "HOST:PORT"; port 0 picks a free port). address is borrowed
 * for the duration of the call. On success *out is a listener the caller
 * frees with rpc_listener_free. */
RPC_API rpc_error *rpc_listen(const char *address, rpc_listener **out);

/* rpc_listen_tls is rpc_listen for TLS: every connection the listener
 * accepts (rpc_server_accept, rpc_server_accept_http) speaks TLS with tls
 * (from rpc_tls_server_new; the listener keeps a reference). address is
 * one of rpc_listen's or "tls:HOST:PORT"; rpc_listener_address then says
 * "tls:HOST:PORT" for tcp. The handshake is the server's loops' work and
 * must be done within frame_timeout_ms of its first byte. */
RPC_API rpc_error *rpc_listen_tls(const char *address, rpc_tls *tls,
                                  rpc_listener **out);

/* rpc_listener_address returns the address actually bound, in the syntax
 * of rpc_listen with the real port ("tcp:127.0.0.1:40213"); valid until
 * rpc_listener_free. */
RPC_API const char *rpc_listener_address(const rpc_listener *l);

/* rpc_listener_port returns the bound tcp port, 0 for unix sockets. */
RPC_API int rpc_listener_port(const rpc_listener *l);

/* rpc_listener_close stops l accepting: a blocked rpc_server_accept on it
 * returns. A unix socket file the listener created is removed. Idempotent;
 * may be called from any thread. */
RPC_API void rpc_listener_close(rpc_listener *l);

/* rpc_listener_free closes l and frees it. No rpc_server_accept may still
 * be running on l. Accepts NULL. */
RPC_API void rpc_listener_free(rpc_listener *l);

/* rpc_server_accept accepts connections on l and serves each (as
 * rpc_server_serve_conn, without waiting). It blocks until l is closed or
 * srv shut down, then returns NULL; it returns an error if accepting fails
 * for good. l is borrowed for the duration of the call. */
RPC_API rpc_error *rpc_server_accept(rpc_server *srv, rpc_listener *l);

/* rpc_server_accept_http is rpc_server_accept for HTTP clients, Go's
 * HandleHTTP: "CONNECT rpc_path" (NULL: RPC_DEFAULT_RPC_PATH) switches the
 * connection to RPC after "HTTP/1.0 200 Connected to Go RPC"; other methods
 * there get 405; "GET debug_path" (NULL: RPC_DEFAULT_DEBUG_PATH, "": none)
 * gets the debug page, and "GET debug_path?format=json" or
 * "GET debug_path.json" the same as JSON (docs/rpc-call.md); anything else
 * 404. The paths are copied. */
RPC_API rpc_error *rpc_server_accept_http(rpc_server *srv, rpc_listener *l,
                                          const char *rpc_path,
                                          const char *debug_path);

/* Serving without a thread of your own:
 *
 *	rpc_server_start(srv, l);         // returns at once
 *	... install a SIGTERM handler that calls rpc_server_stop_async(srv) ...
 *	rpc_error *err = rpc_server_wait(srv);  // until a stop
 *	rpc_server_free(srv);             // drains, as always
 *
 * rpc_server_start (and _http, with rpc_server_accept_http's arguments)
 * accepts on l in a thread of the server's, as rpc_server_accept would;
 * any number of listeners may be started. l is borrowed until
 * rpc_server_wait or rpc_server_free returns. Fails (caller frees) when
 * out of threads or when srv is shutting down. */
RPC_API rpc_error *rpc_server_start(rpc_server *srv, rpc_listener *l);
RPC_API rpc_error *rpc_server_start_http(rpc_server *srv, rpc_listener *l,
                                         const char *rpc_path,
                                         const char *debug_path);

/* rpc_server_stop_async asks rpc_server_wait to return. It is
 * async-signal-safe (one write(2) to an eventfd; errno is kept), so a
 * signal handler may call it, as may any thread. */
RPC_API void rpc_server_stop_async(rpc_server *srv);

/* rpc_server_wait blocks until rpc_server_stop_async (or
 * rpc_server_shutdown, or a started listener failing for good), then
 * closes the started listeners and waits for their threads: the server
 * accepts nothing more; connections already open go on being served
 * until rpc_server_shutdown or rpc_server_free. Returns NULL, or the error
 * a started accept loop ended with (caller frees). A stop that came
 * before the wait makes it return at once. */
RPC_API rpc_error *rpc_server_wait(rpc_server *srv);

#define RPC_DEFAULT_RPC_PATH   "/_goRPC_"
#define RPC_DEFAULT_DEBUG_PATH "/debug/rpc"

/* rpc_server_serve_conn serves the connected socket fd with the server's
 * codec and blocks until the peer hangs up (or srv shuts down) and the
 * connection's calls have finished. Takes ownership of fd (closed before
 * this returns) whether it succeeds or not. */
RPC_API rpc_error *rpc_server_serve_conn(rpc_server *srv, int fd);

/* rpc_server_serve_codec is rpc_server_serve_conn with codec (which must
 * outlive the connection) instead of the server's. */
RPC_API rpc_error *rpc_server_serve_codec(rpc_server *srv, int fd,
                                          const rpc_codec *codec);

/* rpc_server_serve_tls is rpc_server_serve_codec speaking TLS as the
 * server of fd with tls (from rpc_tls_server_new; borrowed for the call),
 * Go's ServeConn(tls.Server(conn, config)). The handshake must finish
 * within the server's frame_timeout_ms, as on a TLS listener. codec NULL:
 * the server's. Takes ownership of fd whether it succeeds or not. */
RPC_API rpc_error *rpc_server_serve_tls(rpc_server *srv, int fd, rpc_tls *tls,
                                        const rpc_codec *codec);

/* rpc_server_codec is one connection's codec state for
 * rpc_server_serve_request, Go's ServerCodec. */
typedef struct rpc_server_codec rpc_server_codec;

/* rpc_server_codec_new wraps the connected, blocking socket fd in codec
 * (NULL: rpc_codec_protobuf; max_frame 0: RPC_DEFAULT_MAX_FRAME). Takes
 * ownership of fd on success (closed by rpc_server_codec_free). On success
 * *out is freed by the caller with rpc_server_codec_free. */
RPC_API rpc_error *rpc_server_codec_new(int fd, const rpc_codec *codec,
                                        size_t max_frame,
                                        rpc_server_codec **out);

/* rpc_server_codec_free closes the socket and frees sc. Accepts NULL. */
RPC_API void rpc_server_codec_free(rpc_server_codec *sc);

/* rpc_server_serve_request reads one request from sc, calls it and writes
 * the reply, all in the calling thread (Go's ServeRequest). sc is borrowed
 * for the duration of the call and stays open. Returns NULL when the call
 * was served; an error (caller frees) if the request could not be read
 * (RPC_ERR_UNEXPECTED_EOF at a clean end of stream) or was answered with an
 * error (bad service, method or body). */
RPC_API rpc_error *rpc_server_serve_request(rpc_server *srv,
                                            rpc_server_codec *sc);

/* rpc_dial_http connects to an HTTP RPC server at address, sends
 * "CONNECT path HTTP/1.0" (path NULL: RPC_DEFAULT_RPC_PATH), requires the
 * status "200 Connected to Go RPC" and then speaks RPC as rpc_dial. The
 * connect and the CONNECT exchange together take at most
 * opts->dial_timeout_ms (RPC_ERR_TIMEOUT). The strings and opts are
 * borrowed for the duration of the call. On success
 * *out is a client the caller frees with rpc_client_free. */
RPC_API rpc_error *rpc_dial_http(const char *address, const char *path,
                                 const rpc_client_options *opts,
                                 rpc_client **out);

#ifdef __cplusplus
}
#endif
#endif
