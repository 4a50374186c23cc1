/* server_internal.h - the server's private structures (private to librpc).
 *
 * docs/runtime.md describes the model; in short: a server has a few event
 * loops (loop.c), each an epoll set served by whichever of its threads
 * holds the poller role. The poller reads and decodes requests (conn.c) and
 * runs them itself, one after another; a monitor thread hands the poller
 * role to another thread when a call runs long, so a slow handler never
 * holds back other calls. Replies are encoded and written by the thread that
 * ran the call, under the connection's write lock.
 */
#ifndef RPCI_SERVER_INTERNAL_H
#define RPCI_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "codec.h"
#include "registry.h"
#include "rpc.h"

typedef struct rpci_conn rpci_conn;
typedef struct rpci_loop rpci_loop;

/* One request, from decoding to its reply. One allocation holds the
 * struct, the argument and reply messages and the service-method text. */
typedef struct rpci_req {
	struct rpci_req *next;
	rpci_conn *conn;         /* NULL for rpc_server_serve_request */
	rpci_method *method;     /* NULL when errmsg was set by decoding */
	uint64_t seq;
	char *service_method;    /* in the block */
	char *errmsg;            /* owned: the reply's error text, or NULL */
	bool bad;                /* errmsg came from lookup or decoding */
	ProtobufCMessage *args;  /* in the block; NULL if not decoded */
	ProtobufCMessage *reply; /* in the block; NULL if no call */
} rpci_req;

/* The HTTP paths of one rpc_server_accept_http; live until the server. */
typedef struct rpci_http_paths {
	struct rpci_http_paths *next;
	char *rpc_path;
	char *debug_path; /* "" for none */
} rpci_http_paths;

enum { RPCI_CONN_RPC = 0, RPCI_CONN_HTTP = 1 };

struct rpci_conn {
	rpc_server *srv;
	rpci_loop *loop;
	int fd;
	const rpc_codec *codec;
	void *cstate;
	const rpci_http_paths *http;

	/* Read side: only the poller of loop touches these. */
	int mode;
	bool read_closed;
	uint8_t *in;   /* NULL, or the start of a request not yet complete */
	size_t in_len, in_cap;

	/* Write side. wmu protects out, wbuf, flushing and wdead, and
	 * serialises the codec's write. */
	pthread_mutex_t wmu;
	rpci_buf out;  /* encoded replies waiting to be written */
	rpci_buf wbuf; /* the flusher's buffer being written */
	bool flushing; /* a thread is writing; it also writes what is added */
	bool wdead;    /* a write failed: replies are dropped */
	bool paused;   /* reading stopped until out drains */

	/* Lifetime. active counts the reader (until read_closed) and the
	 * calls in flight; at 0 the connection is finished: fd closed, taken
	 * off the server's list, done set. refs counts holders of the memory:
	 * 1 while active, plus rpc_server_serve_conn's waiter. */
	atomic_uint active;
	atomic_uint refs;
	bool done;                   /* under srv->mu */
	rpci_conn *prev, *next;      /* srv->conns, under srv->mu */
};

struct rpci_loop {
	rpc_server *srv;
	int epfd;
	int evfd; /* wakes the poller: shutdown */
	pthread_mutex_t mu; /* protects everything below */
	pthread_cond_t cv;  /* followers wait here for the poller role */
	bool poller_taken;
	bool in_handler; /* the role holder is running a call */
	bool stop;
	uint64_t gen;   /* bumped when the monitor takes the role away */
	uint64_t calls; /* calls started by role holders */
	uint64_t seen;  /* the monitor's last look at calls */
	unsigned idle;  /* followers waiting on cv */
	rpci_req *head, *tail; /* decoded requests waiting to run */
	uint8_t *scratch;      /* the role holder's read buffer */
	bool may_spin; /* more than one CPU to run on */
	bool spin;     /* poll before sleeping (role holder only; loop.c) */
};

struct rpc_server {
	rpci_registry reg;
	const rpc_codec *codec;
	size_t max_frame;
	void (*log)(void *ud, const char *line);
	void *log_ud;

	unsigned n_loops;
	rpci_loop *loops;
	atomic_uint next_loop;
	atomic_bool closing;

	pthread_mutex_t mu; /* protects the fields below */
	pthread_cond_t cv;  /* any change of them */
	rpci_conn *conns;
	size_t n_conns;
	unsigned n_waiters;   /* rpc_server_serve_conn callers */
	unsigned n_accepting; /* rpc_server_accept callers */
	struct rpci_accepting *accepting;
	struct rpci_thread *threads; /* live, and exited but not joined */
	size_t n_threads, cap_threads;
	unsigned n_live, max_threads;
	rpci_http_paths *http;

	/* The monitor thread. mon_mu protects mon_stop; mon_idle is read
	 * without it by pollers. */
	pthread_t monitor;
	pthread_mutex_t mon_mu;
	pthread_cond_t mon_cv;
	bool mon_stop;
	atomic_bool mon_idle;

	/* The debug page's traffic counters: bytes read from and written to
	 * served connections (conn.c), relaxed atomics. */
	atomic_uint_fast64_t bytes_in, bytes_out;
};

/* rpci_count adds n to one of the debug page's counters. */
static inline void rpci_count(atomic_uint_fast64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* server.c */
void rpci_server_log(rpc_server *srv, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* rpci_server_spawn starts a loop thread; false when the cap is reached or
 * pthread_create fails. */
bool rpci_server_spawn(rpc_server *srv, rpci_loop *lp);
/* rpci_server_thread_exit is the last thing a loop thread that leaves
 * before shutdown does (its slot is joined by the next spawn). */
void rpci_server_thread_exit(rpc_server *srv);

/* request.c-like helpers, in conn.c */
rpci_req *rpci_req_prepare(rpc_server *srv, const rpc_codec *codec,
                           void *cstate, rpci_msg *msg);
void rpci_req_call(rpci_req *req);
void rpci_req_encode(rpci_req *req, const rpc_codec *codec, void *cstate,
                     rpci_buf *out);
void rpci_req_free(rpci_req *req);

/* conn.c */
rpc_error *rpci_conn_start(rpc_server *srv, int fd, const rpc_codec *codec,
                           const rpci_http_paths *http, bool wait);
/* rpci_conn_readable handles epoll events on c: reads once (into scratch,
 * the poller's buffer, unless part of a request waits in c->in) and appends
 * the complete requests to *tail; or pauses reading while too many replies
 * wait to be sent. */
void rpci_conn_readable(rpci_conn *c, uint32_t events, uint8_t *scratch,
                        size_t scratch_cap, rpci_req ***tail);
void rpci_conn_read_close(rpci_conn *c);
void rpci_conn_reply(rpci_conn *c, rpci_req *req);
void rpci_conn_flush(rpci_conn *c);
void rpci_conn_call_done(rpci_conn *c);
/* rpci_write_all writes p[0..n) to fd, waiting while it would block;
 * false on error. The _timed form gives up after timeout_ms (-1: never)
 * without progress. */
bool rpci_write_all(int fd, const uint8_t *p, size_t n);
bool rpci_write_all_timed(int fd, const uint8_t *p, size_t n, int timeout_ms);

/* loop.c */
rpc_error *rpci_loop_init(rpci_loop *lp, rpc_server *srv);
void rpci_loop_fini(rpci_loop *lp);
void *rpci_loop_thread(void *arg);
void rpci_loop_wake(rpci_loop *lp);
void rpci_loop_stop(rpci_loop *lp);
void *rpci_monitor_thread(void *arg);
void rpci_monitor_wake(rpc_server *srv);

/* http.c: in[0..len) starts with a complete HTTP request head; answers
 * it. Returns false when the connection is to end; true when it is now an
 * RPC connection, with *used set to the length of the head. */
bool rpci_http_serve_head(rpci_conn *c, const uint8_t *in, size_t len,
                          size_t *used);

/* debug.c: the debug page (caller frees), or NULL on out of memory. */
char *rpci_debug_page(rpc_server *srv, size_t *len);
/* debug.c: the same as JSON, for rpc-call --list (caller frees). */
char *rpci_debug_page_json(rpc_server *srv, size_t *len);

#endif
