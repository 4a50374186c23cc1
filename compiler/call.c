/* call.c - rpc-call's work: list, describe, call.
 *
 * A call decodes its JSON argument once into a message of the method's
 * argument type (run-time descriptors, dyndesc.c), hands it to
 * rpc_client_call exactly as a generated stub would (RPC_FORM_VALUE types
 * as a pointer to the wrapper's field 1), and prints the reply through the
 * JSON codec's encoder. --repeat and --concurrency run the same call from K
 * threads on one connection and time each call. --timeout is each call's
 * deadline (rpc_call_options.timeout_ms: the native codec tells the server
 * too) and the dial's; a monitor thread prints progress and, should the
 * dial hang past --timeout (an HTTP CONNECT never answered), exits 2.
 *
 * --raw swaps in a codec that forwards to the real one and keeps a copy of
 * the last reply body it read (for gob, whose bodies the codec keeps
 * decoded, the whole last message: type definitions, header and body).
 */
#include "call.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ast.h"
#include "codec.h"
#include "dyndesc.h"
#include "internal.h"
#include "json_value.h"
#include "tls.h"
#include "transport.h"

#define CALL_MAX_INPUT ((size_t)64 * 1024 * 1024)
#define CALL_HTTP_MS   10000 /* --list over HTTP without --timeout */

static void call_err(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static void call_err(const char *fmt, ...)
{
	va_list ap;

	fputs("rpc-call: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t call_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool call_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* ---- --raw: a codec that keeps the last reply body ------------------------
 */

static const rpc_codec *raw_inner;
static pthread_mutex_t raw_mu = PTHREAD_MUTEX_INITIALIZER;
static rpci_buf raw_last;

static void raw_keep(const void *p, size_t n)
{
	pthread_mutex_lock(&raw_mu);
	raw_last.len = 0;
	if (n > 0 && !rpci_buf_append(&raw_last, p, n))
		raw_last.len = 0;
	pthread_mutex_unlock(&raw_mu);
}

static rpc_error *raw_state_new(bool server, size_t max_frame, void **state)
{
	return raw_inner->state_new(server, max_frame, state);
}

static void raw_state_free(void *state)
{
	raw_inner->state_free(state);
}

static rpci_read_status raw_read(void *state, const uint8_t *in, size_t len,
                                 size_t *used, rpci_msg *msg, rpc_error **err)
{
	rpci_read_status st = raw_inner->read(state, in, len, used, msg, err);

	if (st == RPCI_READ_OK && raw_inner == &rpc_codec_gob)
		raw_keep(in, *used);
	return st;
}

static size_t raw_need(void *state, const uint8_t *in, size_t len)
{
	return raw_inner->need != NULL ? raw_inner->need(state, in, len) : 0;
}

static rpc_error *raw_read_body(void *state, rpci_msg *msg, const rpc_type *t,
                                ProtobufCMessage *dst)
{
	if (dst != NULL && raw_inner != &rpc_codec_gob)
		raw_keep(msg->body, msg->body != NULL ? msg->body_len : 0);
	return raw_inner->read_body(state, msg, t, dst);
}

static void raw_msg_clear(void *state, rpci_msg *msg)
{
	raw_inner->msg_clear(state, msg);
}

static rpc_error *raw_write(void *state, const rpci_header *h,
                            const rpc_type *t, const ProtobufCMessage *body,
                            rpci_buf *out)
{
	return raw_inner->write(state, h, t, body, out);
}

static const rpc_codec raw_codec = {
    .abi = RPC_CODEC_ABI,
    .name = "raw",
    .state_new = raw_state_new,
    .state_free = raw_state_free,
    .read = raw_read,
    .need = raw_need,
    .read_body = raw_read_body,
    .msg_clear = raw_msg_clear,
    .write = raw_write,
};

/* ---- input -----------------------------------------------------------------
 */

/* call_read_fd reads all of fd (bounded) into a NUL-terminated buffer. */
static char *call_read_fd(int fd, size_t *len)
{
	rpci_buf b = {0};
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || b.len + (size_t)n > CALL_MAX_INPUT ||
		    !rpci_buf_append(&b, chunk, (size_t)n)) {
			rpci_buf_fini(&b);
			return NULL;
		}
		if (n == 0)
			break;
	}
	if (!rpci_buf_append(&b, "", 1)) {
		rpci_buf_fini(&b);
		return NULL;
	}
	*len = b.len - 1;
	return (char *)b.data;
}

/* call_value_end finds where the first JSON value of s[0..n) ends, by
 * brackets and strings alone (the codec checks the rest): returns its
 * length, or 0 when it is not complete yet. *start is where it begins. */
static size_t call_value_end(const char *s, size_t n, size_t *start)
{
	size_t i = 0, depth = 0;
	bool in_str = false;

	while (i < n && strchr(" \t\r\n", s[i]) != NULL)
		i++;
	*start = i;
	for (; i < n; i++) {
		char ch = s[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
			if (!in_str && depth == 0)
				return i + 1;
			continue;
		}
		if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			if (depth > 0 && --depth == 0)
				return i + 1;
			if (depth == 0)
				return i + 1; /* stray: let the codec say so */
		} else if (depth == 0 && strchr(" \t\r\n", ch) != NULL) {
			return i; /* a bare number or literal */
		}
	}
	return 0;
}

/* ---- calling ---------------------------------------------------------------
 */

/* call_value points at what rpc_client_call takes for a message of type t:
 * the message, or field 1 of a RPC_FORM_VALUE wrapper. */
static void *call_value(const rpc_type *t, ProtobufCMessage *msg)
{
	if (t->form != RPC_FORM_VALUE)
		return msg;
	return (char *)msg + rpci_value_field(t)->offset;
}

typedef struct call_run {
	const call_opts *o;
	const dyn_method *m;
	const char *wire; /* "Service.Method" as sent */
	const void *args;
	pthread_mutex_t mu; /* protects c, first, server_err, fatal, stop */
	pthread_cond_t cv;  /* the monitor's tick; signalled when done */
	rpc_client *c;
	atomic_bool timed_out;
	bool stop;      /* the monitor ends */
	rpci_buf first; /* the reply of call 0, as JSON */
	bool have_first;
	char *server_err; /* first server error text */
	rpc_error *fatal; /* first local error */
	atomic_uint_fast64_t next, done, n_server_err;
	uint64_t total;
	uint64_t *lat; /* ns, per call number */
	uint64_t t0;
	_Atomic uint64_t *slots; /* per worker: start of its call, 0 idle */
	unsigned n_slots;
	bool show_progress, progress_shown;
} call_run;

/* call_monitor enforces --timeout on the dial and prints progress. */
static void *call_monitor(void *arg)
{
	call_run *r = arg;
	uint64_t limit = (uint64_t)r->o->timeout_ms * 1000000u;
	uint64_t last_progress = 0;

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		if (r->stop)
			break;
		uint64_t now = call_now_ns();
		uint64_t s = atomic_load(&r->slots[0]);
		if (limit > 0 && r->c == NULL && s != 0 && now - s >= limit) {
			/* still dialing */
			call_err("timeout after %ld ms", r->o->timeout_ms);
			_exit(CALL_FAILED);
		}
		if (r->show_progress && now - r->t0 >= 1000000000u &&
		    now - last_progress >= 500000000u) {
			last_progress = now;
			fprintf(stderr,
			        "\rrpc-call: %" PRIu64 "/%" PRIu64
			        " calls, %" PRIu64 " errors, %.1f s",
			        (uint64_t)atomic_load(&r->done), r->total,
			        (uint64_t)atomic_load(&r->n_server_err),
			        (double)(now - r->t0) / 1e9);
			r->progress_shown = true;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* call_once makes call number i from worker slot and records its outcome;
 * false when the run must stop (a local error). */
static bool call_once(call_run *r, unsigned slot, uint64_t i)
{
	const rpc_method *m = &r->m->method;
	ProtobufCMessage *reply = rpci_message_new(m->reply->desc);
	rpc_error *err;
	uint64_t t0;

	if (reply == NULL) {
		err = rpci_error(RPC_ERR_NOMEM, NULL);
		goto local;
	}
	t0 = call_now_ns();
	atomic_store(&r->slots[slot], t0);
	rpc_call_options co = {.timeout_ms = (int)r->o->timeout_ms};
	err = rpc_client_call_opts(r->c, r->wire, m, &co, r->args,
	                           call_value(m->reply, reply));
	if (err != NULL && rpc_error_kind_of(err) == RPC_ERR_TIMEOUT)
		atomic_store(&r->timed_out, true);
	atomic_store(&r->slots[slot], 0);
	if (r->lat != NULL)
		r->lat[i] = call_now_ns() - t0;
	atomic_fetch_add(&r->done, 1);
	if (err == NULL) {
		if (i == 0) {
			pthread_mutex_lock(&r->mu);
			err = r->o->raw ? NULL
			                : rpci_json_encode_value(
			                      m->reply, reply, &r->first);
			r->have_first = err == NULL;
			pthread_mutex_unlock(&r->mu);
			if (err != NULL)
				goto local;
		}
		rpci_message_free(reply);
		return true;
	}
	if (rpc_error_kind_of(err) == RPC_ERR_SERVER) {
		atomic_fetch_add(&r->n_server_err, 1);
		pthread_mutex_lock(&r->mu);
		if (r->server_err == NULL)
			r->server_err = strdup(rpc_error_message(err));
		pthread_mutex_unlock(&r->mu);
		rpc_error_free(err);
		rpci_message_free(reply);
		return true;
	}
local:
	pthread_mutex_lock(&r->mu);
	if (r->fatal == NULL)
		r->fatal = err;
	else
		rpc_error_free(err);
	pthread_mutex_unlock(&r->mu);
	rpci_message_free(reply);
	return false;
}

typedef struct call_worker {
	call_run *r;
	unsigned slot;
	pthread_t thread;
} call_worker;

static void *call_worker_main(void *arg)
{
	call_worker *w = arg;
	call_run *r = w->r;

	for (;;) {
		uint64_t i = atomic_fetch_add(&r->next, 1);
		if (i >= r->total)
			break;
		if (!call_once(r, w->slot, i)) {
			atomic_store(&r->next, r->total); /* the others stop */
			break;
		}
	}
	return NULL;
}

static int call_cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* call_summary prints the latency summary of a load run on stderr. */
static void call_summary(call_run *r, uint64_t elapsed)
{
	uint64_t n = atomic_load(&r->done);

	if (n == 0 || r->lat == NULL)
		return;
	qsort(r->lat, n, sizeof *r->lat, call_cmp_u64);
	double secs = (double)elapsed / 1e9;
	fprintf(stderr,
	        "rpc-call: %" PRIu64 " calls, %" PRIu64 " errors, "
	        "concurrency %u, %.3f s, %.0f calls/s, "
	        "p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
	        n, (uint64_t)atomic_load(&r->n_server_err), r->n_slots, secs,
	        secs > 0 ? (double)n / secs : 0.0,
	        (double)r->lat[(n - 1) * 50 / 100] / 1e6,
	        (double)r->lat[(n - 1) * 99 / 100] / 1e6,
	        (double)r->lat[n - 1] / 1e6);
}

/* call_tls_config makes the TLS configuration o's --tls options ask for
 * (*tls NULL when o has none: a "tls:" address then trusts the system's
 * store); the caller drops it with rpc_tls_free. */
static rpc_error *call_tls_config(const call_opts *o, rpc_tls **tls)
{
	*tls = NULL;
	if (!o->tls)
		return NULL;
	rpc_tls_options to = {.ca_file = o->tls_ca,
	                      .cert_file = o->tls_cert,
	                      .key_file = o->tls_key,
	                      .server_name = o->tls_server_name,
	                      .insecure_skip_verify = o->tls_insecure};
	return rpc_tls_client_new(&to, tls);
}

static rpc_error *call_dial(const call_opts *o, rpc_client **c)
{
	rpc_client_options co = {.codec = o->codec};

	if (o->timeout_ms > 0)
		co.dial_timeout_ms = (int)o->timeout_ms;

	if (o->raw) {
		raw_inner = o->codec;
		co.codec = &raw_codec;
	}
	rpc_tls *tls = NULL;
	rpc_error *err = call_tls_config(o, &tls);
	if (err != NULL)
		return err;
	co.tls = tls; /* the client keeps its own reference */
	err = o->http ? rpc_dial_http(o->address, o->http_path, &co, c)
	              : rpc_dial(o->address, &co, c);
	rpc_tls_free(tls);
	return err;
}

/* call_print_reply writes the reply of a finished call to stdout. */
static void call_print_reply(call_run *r)
{
	if (!r->have_first)
		return;
	if (r->o->raw) {
		pthread_mutex_lock(&raw_mu);
		fwrite(raw_last.data, 1, raw_last.len, stdout);
		pthread_mutex_unlock(&raw_mu);
	} else {
		fwrite(r->first.data, 1, r->first.len, stdout);
		fputc('\n', stdout);
	}
	fflush(stdout);
}

/* call_batch runs one argument value total times over r->c; returns the
 * exit status (and reports). */
static int call_batch(call_run *r, ProtobufCMessage *args, uint64_t total,
                      bool load)
{
	const call_opts *o = r->o;
	unsigned k = load ? o->concurrency : 1;
	call_worker *w = calloc(k, sizeof *w);
	int status = CALL_OK;

	r->args = call_value(r->m->method.args, args);
	r->total = total;
	atomic_store(&r->next, 0);
	atomic_store(&r->done, 0);
	atomic_store(&r->n_server_err, 0);
	r->first.len = 0;
	r->have_first = false;
	free(r->server_err);
	r->server_err = NULL;
	r->lat = load ? calloc(total, sizeof *r->lat) : NULL;
	if (w == NULL || (load && r->lat == NULL)) {
		free(w);
		free(r->lat);
		r->lat = NULL;
		call_err("out of memory");
		return CALL_FAILED;
	}
	r->t0 = call_now_ns();
	if (k == 1) {
		w[0].r = r;
		call_worker_main(&w[0]);
	} else {
		unsigned started = 0;
		for (; started < k; started++) {
			w[started].r = r;
			w[started].slot = started;
			if (pthread_create(&w[started].thread, NULL,
			                   call_worker_main, &w[started]) != 0)
				break;
		}
		for (unsigned i = 0; i < started; i++)
			pthread_join(w[i].thread, NULL);
	}
	uint64_t elapsed = call_now_ns() - r->t0;
	free(w);
	if (r->progress_shown) {
		fputc('\n', stderr);
		r->progress_shown = false;
	}
	if (atomic_load(&r->timed_out)) {
		call_err("timeout after %ld ms", o->timeout_ms);
		status = CALL_FAILED;
	} else if (r->fatal != NULL) {
		call_err("%s: %s", r->wire, rpc_error_message(r->fatal));
		status = CALL_FAILED;
	} else {
		call_print_reply(r);
		if (r->server_err != NULL) {
			if (load)
				call_err(
				    "server error (%" PRIu64 " of %" PRIu64
				    " calls): %s",
				    (uint64_t)atomic_load(&r->n_server_err),
				    total, r->server_err);
			else
				call_err("server error: %s", r->server_err);
			status = CALL_SERVER_ERROR;
		}
	}
	if (load)
		call_summary(r, elapsed);
	free(r->lat);
	r->lat = NULL;
	return status;
}

/* call_decode parses one JSON text as the method's argument; NULL after
 * reporting. where names the input ("argument", "stdin value 2"). */
static ProtobufCMessage *call_decode(const dyn_method *m, const char *json,
                                     size_t len, const char *where)
{
	const rpc_type *t = m->method.args;
	ProtobufCMessage *msg = rpci_message_new(t->desc);
	rpc_error *err;

	if (msg == NULL) {
		call_err("out of memory");
		return NULL;
	}
	err = rpci_json_decode_value(t, (const uint8_t *)json, len,
	                             RPCI_JSON_KNOWN_KEYS, msg);
	if (err != NULL) {
		call_err("bad %s (%s): %s", where, t->name,
		         rpc_error_message(err));
		rpc_error_free(err);
		rpci_message_free(msg);
		return NULL;
	}
	return msg;
}

static int call_method(const call_opts *o, const dyn_method *m,
                       const char *wire)
{
	call_run r = {.o = o, .m = m, .wire = wire};
	_Atomic uint64_t slots[1024];
	ProtobufCMessage *args = NULL;
	pthread_t monitor;
	bool monitoring;
	int status = CALL_OK;
	char *input = NULL;
	size_t len = 0;
	bool from_stdin = o->json == NULL || strcmp(o->json, "-") == 0;
	bool load = o->repeat > 1 || o->concurrency > 1;

	if (!from_stdin) {
		if (o->json[0] == '@') {
			FILE *f = fopen(o->json + 1, "rb");
			if (f == NULL) {
				call_err("%s: %s", o->json + 1,
				         strerror(errno));
				return CALL_FAILED;
			}
			input = call_read_fd(fileno(f), &len);
			fclose(f);
			if (input == NULL) {
				call_err("%s: cannot read", o->json + 1);
				return CALL_FAILED;
			}
		} else {
			len = strlen(o->json);
		}
		args = call_decode(m, input ? input : o->json, len, "argument");
		free(input);
		if (args == NULL)
			return CALL_FAILED;
	}

	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	r.n_slots = load ? o->concurrency : 1;
	r.slots = slots;
	for (unsigned i = 0; i < r.n_slots; i++)
		atomic_init(&slots[i], 0);
	r.show_progress = load && (o->progress || isatty(2));
	r.t0 = call_now_ns();
	/* the monitor only has work with a timeout or a progress line */
	monitoring = (o->timeout_ms > 0 || r.show_progress) &&
	             pthread_create(&monitor, NULL, call_monitor, &r) == 0;

	rpc_client *c = NULL;
	atomic_store(&slots[0], call_now_ns()); /* the dial counts too */
	rpc_error *err = call_dial(o, &c);
	atomic_store(&slots[0], 0);
	if (err != NULL) {
		call_err("%s: %s", o->address, rpc_error_message(err));
		rpc_error_free(err);
		status = CALL_FAILED;
		goto out;
	}
	pthread_mutex_lock(&r.mu);
	r.c = c;
	pthread_mutex_unlock(&r.mu);

	if (!from_stdin) {
		status = call_batch(&r, args, o->repeat, load);
		goto out;
	}
	/* values from stdin, each called as soon as it is complete */
	rpci_buf in = {0};
	char chunk[4096];
	unsigned n_values = 0;
	bool eof = false;
	while (status != CALL_FAILED) {
		size_t start,
		    end = call_value_end((char *)in.data, in.len, &start);
		if (end == 0 && eof) {
			if (start < in.len) /* a value cut short */
				end = in.len;
			else
				break;
		}
		if (end == 0) {
			ssize_t n = read(0, chunk, sizeof chunk);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				eof = true;
			else if (in.len + (size_t)n > CALL_MAX_INPUT ||
			         !rpci_buf_append(&in, chunk, (size_t)n)) {
				call_err("standard input: too long");
				status = CALL_FAILED;
			}
			continue;
		}
		char where[64];
		snprintf(where, sizeof where, "stdin value %u", ++n_values);
		args =
		    call_decode(m, (char *)in.data + start, end - start, where);
		memmove(in.data, in.data + end, in.len - end);
		in.len -= end;
		if (args == NULL) {
			status = CALL_FAILED;
			break;
		}
		int st = call_batch(&r, args, o->repeat, load);
		rpci_message_free(args);
		args = NULL;
		if (st > status)
			status = st;
	}
	rpci_buf_fini(&in);
	if (n_values == 0 && status == CALL_OK) {
		call_err("no JSON argument (give one, @FILE, or values on "
		         "standard input)");
		status = CALL_FAILED;
	}
out:
	pthread_mutex_lock(&r.mu);
	r.stop = true;
	pthread_cond_signal(&r.cv);
	pthread_mutex_unlock(&r.mu);
	if (monitoring)
		pthread_join(monitor, NULL);
	rpc_client_free(c);
	rpci_message_free(args);
	rpci_buf_fini(&r.first);
	free(r.server_err);
	rpc_error_free(r.fatal);
	pthread_cond_destroy(&r.cv);
	pthread_mutex_destroy(&r.mu);
	return status;
}

/* ---- listing and describing ------------------------------------------------
 */

/* call_doc prints doc as "// " lines at indent. */
static void call_doc(const char *doc, const char *indent)
{
	if (doc == NULL || doc[0] == '\0')
		return;
	for (const char *p = doc; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		printf("%s//%s%.*s\n", indent, n > 0 && p[0] != ' ' ? " " : "",
		       (int)n, p);
		p += n + (nl != NULL);
	}
}

static void call_list(dyn_schema *s)
{
	size_t n;
	const dyn_method *m = dyn_methods(s, &n);
	const ast_decl *svc = NULL;

	for (size_t i = 0; i < n; i++) {
		if (m[i].service != svc) {
			if (svc != NULL)
				printf("}\n\n");
			svc = m[i].service;
			call_doc(svc->doc, "");
			printf("service %s {\n", svc->name);
		}
		const ast_method *am = m[i].ast;
		call_doc(am->doc, "    ");
		printf("    %s(%s %s, %s *%s);\n", am->name,
		       dyn_type_spell(s, am->params[0].type),
		       am->params[0].name ? am->params[0].name : "args",
		       dyn_type_spell(s, am->params[1].type),
		       am->params[1].name ? am->params[1].name : "reply");
	}
	if (svc != NULL)
		printf("}\n");
}

static int call_describe(dyn_schema *s, const char *name)
{
	const ast_decl *d = dyn_decl_find(s, name);

	if (d == NULL) {
		call_err("no struct or enum named %s", name);
		return CALL_FAILED;
	}
	call_doc(d->doc, "");
	if (d->kind == AST_ENUM) {
		printf("enum %s {\n", d->name);
		for (size_t i = 0; i < d->n_values; i++) {
			call_doc(d->values[i].doc, "    ");
			printf("    %s = %lld;\n", d->values[i].name,
			       (long long)d->values[i].value);
		}
		printf("}\n");
		return CALL_OK;
	}
	printf("struct %s {\n", d->name);
	for (size_t i = 0; i < d->n_fields; i++) {
		const ast_field *f = &d->fields[i];
		const ast_oneof *one = ast_field_oneof(d, f);
		const char *ind = one ? "        " : "    ";
		if (one && one->first == i) {
			call_doc(one->doc, "    ");
			printf("    oneof %s {\n", one->name);
		}
		call_doc(f->doc, ind);
		printf(
		    "%s%s%s %s = %lld;\n", ind, f->optional ? "optional " : "",
		    dyn_type_spell(s, f->type), f->name, (long long)f->number);
		if (one && i + 1 == one->first + one->n_members)
			printf("    }\n");
	}
	printf("}\n");
	return CALL_OK;
}

/* ---- listing a server without its .rpc file: the debug page ----------------
 */

/* call_http_get fetches path from o->address with HTTP/1.0 GET, over TLS
 * when o asks for it (--tls) or the address says "tls:"; *body is malloc'd
 * (caller frees). Returns NULL or an error. */
static rpc_error *call_http_get(const call_opts *o, const char *path,
                                long timeout_ms, char **body, int *code)
{
	char req[1200];
	rpci_buf b = {0};
	int fd;
	SSL *ssl = NULL;
	rpc_tls *tls = NULL;
	uint64_t deadline = call_now_ns() + (uint64_t)timeout_ms * 1000000u;
	rpc_error *err = rpci_transport_dial(o->address, &fd);

	if (err != NULL)
		return err;
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\n\r\n", path);
	if (n < 0 || (size_t)n >= sizeof req) {
		close(fd);
		return rpci_error(RPC_ERR_INVALID, "debug path too long");
	}
	if (o->tls || strncmp(o->address, "tls:", 4) == 0) {
		rpc_client_options co = {0};
		if ((err = call_tls_config(o, &co.tls)) == NULL) {
			err = rpci_client_tls_handshake(
			    fd, o->address, &co, (int)timeout_ms, &tls, &ssl);
			rpc_tls_free(co.tls); /* tls holds its own */
		}
		if (err == NULL)
			err = rpci_tls_write_all(ssl, req, (size_t)n,
			                         (int)timeout_ms);
	} else if (!call_write_all(fd, (const uint8_t *)req, (size_t)n)) {
		err = rpci_error(RPC_ERR_IO, "cannot send the request");
	}
	while (err == NULL) {
		uint64_t now = call_now_ns();
		int left = now >= deadline
		               ? 0
		               : (int)((deadline - now) / 1000000u) + 1;
		size_t got = 0;

		if (!rpci_buf_reserve(&b, 65536)) {
			err = rpci_error(RPC_ERR_NOMEM, NULL);
			break;
		}
		if (ssl != NULL) {
			err =
			    left == 0
			        ? rpci_error(RPC_ERR_TIMEOUT,
			                     "timeout after %ld ms", timeout_ms)
			        : rpci_tls_read_some(ssl, b.data + b.len, 65536,
			                             &got, left);
		} else {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (left == 0 || poll(&p, 1, left) == 0) {
				err = rpci_error(RPC_ERR_TIMEOUT,
				                 "timeout after %ld ms",
				                 timeout_ms);
				break;
			}
			ssize_t r = read(fd, b.data + b.len, 65536);
			if (r < 0 && errno == EINTR)
				continue;
			got = r > 0 ? (size_t)r : 0;
		}
		if (err != NULL || got == 0)
			break;
		b.len += got;
		if (b.len > CALL_MAX_INPUT)
			break;
	}
	rpci_tls_ssl_free(ssl, err == NULL);
	rpc_tls_free(tls);
	close(fd);
	if (err != NULL) {
		rpci_buf_fini(&b);
		return err;
	}
	if (!rpci_buf_append(&b, "", 1)) {
		rpci_buf_fini(&b);
		return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	char *text = (char *)b.data;
	char *head_end = strstr(text, "\r\n\r\n");
	size_t skip = 4;
	if (head_end == NULL) {
		head_end = strstr(text, "\n\n");
		skip = 2;
	}
	if (strncmp(text, "HTTP/", 5) != 0 || head_end == NULL ||
	    strchr(text, ' ') == NULL) {
		rpci_buf_fini(&b);
		return rpci_error(RPC_ERR_PROTOCOL, "not an HTTP response");
	}
	*code = atoi(strchr(text, ' ') + 1);
	head_end += skip;
	memmove(text, head_end, strlen(head_end) + 1);
	*body = text;
	return NULL;
}

/* The debug page's JSON, read with the same machinery as a call: this
 * schema, descriptors at run time and the JSON codec. */
static const char call_debug_schema[] =
    "package debug;\n"
    "struct Method { string name; string args; string reply;\n"
    "  uint64 calls; uint64 errors; uint64 in_flight;\n"
    "  double p50_ms; double p99_ms; }\n"
    "struct Service { string name; list<Method> methods; }\n"
    "struct Page { list<Service> services; uint64 connections;\n"
    "  uint64 bytes_in; uint64 bytes_out; }\n";

/* call_field points at field name of m (and, for a list, *n at its
 * count). */
static void *call_field(const ProtobufCMessage *m, const char *name, size_t *n)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
	                                                    name);

	if (n != NULL)
		*n = *(const size_t *)((const char *)m + f->quantifier_offset);
	return (char *)m + f->offset;
}

#define CALL_STR(m, name) (*(char **)call_field(m, name, NULL))
#define CALL_U64(m, name) (*(uint64_t *)call_field(m, name, NULL))
#define CALL_DBL(m, name) (*(double *)call_field(m, name, NULL))

static void call_print_page(const ProtobufCMessage *page)
{
	size_t n_svc, n_m;
	ProtobufCMessage **svc =
	    *(ProtobufCMessage ***)call_field(page, "services", &n_svc);

	for (size_t i = 0; i < n_svc; i++) {
		const char *sname = CALL_STR(svc[i], "name");
		ProtobufCMessage **m =
		    *(ProtobufCMessage ***)call_field(svc[i], "methods", &n_m);
		printf("service %s\n", sname ? sname : "");
		for (size_t j = 0; j < n_m; j++)
			printf(
			    "    %s.%s(%s, *%s)  calls %" PRIu64
			    " errors %" PRIu64 " in-flight %" PRIu64
			    " p50 %.3f ms p99 %.3f ms\n",
			    sname ? sname : "", CALL_STR(m[j], "name"),
			    CALL_STR(m[j], "args"), CALL_STR(m[j], "reply"),
			    CALL_U64(m[j], "calls"), CALL_U64(m[j], "errors"),
			    CALL_U64(m[j], "in_flight"),
			    CALL_DBL(m[j], "p50_ms"), CALL_DBL(m[j], "p99_ms"));
	}
	printf("connections %" PRIu64 ", bytes in %" PRIu64
	       ", bytes out %" PRIu64 "\n",
	       CALL_U64(page, "connections"), CALL_U64(page, "bytes_in"),
	       CALL_U64(page, "bytes_out"));
}

/* call_decode_page reads the debug page's JSON into *page with the same
 * machinery as a call: call_debug_schema, run-time descriptors, the JSON
 * codec. */
static rpc_error *call_decode_page(const char *body, idl_program **prog,
                                   dyn_schema **s, ProtobufCMessage **page)
{
	char path[] = "/tmp/rpc-call-XXXXXX";
	int fd = mkstemp(path);
	char *msg;

	if (fd < 0)
		return rpci_error_errno(errno, "mkstemp");
	bool ok = call_write_all(fd, (const uint8_t *)call_debug_schema,
	                         sizeof call_debug_schema - 1);
	close(fd);
	int errors = ok ? idl_load(path, NULL, prog) : 1;
	unlink(path);
	if (errors != 0)
		return rpci_error(RPC_ERR_INVALID, "bad debug schema");
	if ((msg = dyn_schema_new(*prog, s)) != NULL) {
		free(msg);
		return rpci_error(RPC_ERR_NOMEM, NULL);
	}
	const rpc_type *t = dyn_struct_type(*s, "Page");
	if ((*page = rpci_message_new(t->desc)) == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	/* keys a newer server adds are skipped */
	return rpci_json_decode_value(t, (const uint8_t *)body, strlen(body), 0,
	                              *page);
}

/* call_put_html prints s[0..n) with Go's template escapes undone. */
static void call_put_html(const char *s, size_t n)
{
	static const char *const ent[][2] = {
	    {"&lt;", "<"},   {"&gt;", ">"},  {"&amp;", "&"},
	    {"&#34;", "\""}, {"&#39;", "'"},
	};

	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; k < sizeof ent / sizeof ent[0]; k++) {
			size_t el = strlen(ent[k][0]);
			if (i + el <= n && strncmp(s + i, ent[k][0], el) == 0) {
				fputs(ent[k][1], stdout);
				i += el - 1;
				break;
			}
		}
		if (k == sizeof ent / sizeof ent[0])
			putchar(s[i]);
	}
}

/* call_list_html lists what Go's HTML debug page shows. */
static void call_list_html(const char *page)
{
	const char *p = page;
	const char *svc_tag = "Service ";

	while ((p = strstr(p, svc_tag)) != NULL) {
		p += strlen(svc_tag);
		size_t n = strcspn(p, "\n<");
		const char *svc = p;
		const char *next = strstr(p, svc_tag);
		printf("service %.*s\n", (int)n, svc);
		const char *q = p;
		const char *td = "<td align=left font=fixed>";
		while ((q = strstr(q, td)) != NULL &&
		       (next == NULL || q < next)) {
			q += strlen(td);
			size_t sn = strcspn(q, "<");
			const char *calls = strstr(q, "<td align=center>");
			long nc = calls ? atol(calls + 17) : 0;
			printf("    ");
			call_put_html(svc, n);
			putchar('.');
			call_put_html(q, sn);
			printf("  calls %ld\n", nc);
			q += sn;
		}
	}
}

static int call_list_remote(const call_opts *o)
{
	const char *dp = o->debug_path ? o->debug_path : RPC_DEFAULT_DEBUG_PATH;
	char path[1100];
	char *body = NULL;
	int code = 0;
	long ms = o->timeout_ms > 0 ? o->timeout_ms : CALL_HTTP_MS;

	snprintf(path, sizeof path, "%s?format=json", dp);
	rpc_error *err = call_http_get(o, path, ms, &body, &code);
	if (err != NULL) {
		call_err("%s: %s", o->address, rpc_error_message(err));
		rpc_error_free(err);
		return CALL_FAILED;
	}
	if (code != 200) {
		call_err("%s: GET %s: HTTP status %d", o->address, dp, code);
		free(body);
		return CALL_FAILED;
	}
	if (body[strspn(body, " \t\r\n")] != '{') {
		/* Go's server has only the HTML page */
		call_list_html(body);
		free(body);
		return CALL_OK;
	}

	idl_program *prog = NULL;
	dyn_schema *s = NULL;
	ProtobufCMessage *page = NULL;
	int status = CALL_OK;
	err = call_decode_page(body, &prog, &s, &page);
	if (err != NULL) {
		call_err("%s: debug page: %s", o->address,
		         rpc_error_message(err));
		rpc_error_free(err);
		status = CALL_FAILED;
	} else {
		call_print_page(page);
	}
	rpci_message_free(page);
	dyn_schema_free(s);
	idl_program_free(prog);
	free(body);
	return status;
}

int call_main(const call_opts *o)
{
	idl_program *prog = NULL;
	dyn_schema *s = NULL;
	int status = CALL_FAILED;
	char *msg;

	if (o->idl == NULL)
		return call_list_remote(o);
	idl_options io = {.include_dirs = o->incs, .n_include_dirs = o->n_incs};
	if (idl_load(o->idl, &io, &prog) != 0)
		return CALL_FAILED;
	if ((msg = dyn_schema_new(prog, &s)) != NULL) {
		call_err("%s", msg);
		free(msg);
		goto out;
	}
	if (o->list) {
		call_list(s);
		status = CALL_OK;
	} else if (o->describe != NULL) {
		status = call_describe(s, o->describe);
	} else {
		const dyn_method *m = dyn_method_find(s, o->method);
		const char *dot = strrchr(o->method, '.');
		if (m == NULL && dot != NULL) {
			/* a service registered under another name
			 * ("net.rpc.Arith.Add"): its last part is the IDL's */
			const char *svc = dot;
			while (svc > o->method && svc[-1] != '.')
				svc--;
			if (svc > o->method)
				m = dyn_method_find(s, svc);
		}
		if (m == NULL) {
			call_err("%s has no method %s (try --list)", o->idl,
			         o->method);
			goto out;
		}
		status = call_method(o, m, o->method);
	}
out:
	dyn_schema_free(s);
	idl_program_free(prog);
	return status;
}
