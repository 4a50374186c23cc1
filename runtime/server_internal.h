/* server_internal.h - the server's private structures (private to librpc).
 *
 * docs/runtime.md describes the model; in short: a server has a few event
 * loops (loop.c), each an epoll set served by whichever of its threads
 * holds the poller role. The poller reads and decodes requests (conn.c) and
 * runs them itself, one after another; a monitor thread hands the poller
 * role to another thread when a call runs long, so a slow handler never
 * holds back other calls. Replies are encoded by the thread that ran the
 * call into the connection's output queue and written without waiting;
 * what the socket does not take is written by the poller when epoll says
 * the socket is writable. Every wait on a peer has a deadline, kept in
 * per-loop timer lists (docs/runtime.md, "Limits").
 */
#ifndef RPCI_SERVER_INTERNAL_H
#define RPCI_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "codec.h"
#include "registry.h"
#include "rpc.h"
#include "tls.h"

typedef struct rpci_conn rpci_conn;
typedef struct rpci_loop rpci_loop;

/* One request, from decoding to its reply. One allocation holds the
 * struct, the argument and reply messages and the service-method text. */
typedef struct rpci_req {
	struct rpci_req *next;
	rpci_conn *conn;     /* NULL for rpc_server_serve_request */
	rpci_method *method; /* NULL when errmsg was set by decoding */
	uint64_t seq;
	char *service_method;    /* in the block */
	char *errmsg;            /* owned: the reply's error text, or NULL */
	bool bad;                /* errmsg came from lookup or decoding */
	ProtobufCMessage *args;  /* in the block; NULL if not decoded, and
	                            once rpci_req_call ran the handler */
	ProtobufCMessage *reply; /* in the block; NULL if no call */
	int64_t deadline_ns;     /* CLOCK_MONOTONIC; 0: none */
	size_t cost;             /* bytes counted in the server's budget */
} rpci_req;

/* A deadline in one of a loop's timer lists. Every timer of a list has
 * the same timeout and is (re)started at the tail, so each list is sorted
 * by deadline and the poller looks only at its head. */
typedef struct rpci_timer {
	struct rpci_timer *prev, *next;
	int64_t deadline_ms; /* CLOCK_MONOTONIC; 0: not in a list */
} rpci_timer;

typedef struct rpci_tlist {
	rpci_timer *head, *tail;
} rpci_tlist;

/* The HTTP paths of one rpc_server_accept_http; live until the server. */
typedef struct rpci_http_paths {
	struct rpci_http_paths *next;
	char *rpc_path;
	char *debug_path; /* "" for none */
} rpci_http_paths;

enum { RPCI_CONN_RPC = 0, RPCI_CONN_HTTP = 1 };

/* Why a connection is not being read. */
enum {
	RPCI_PAUSE_LIMIT = 1, /* its in-flight or unsent limit */
	RPCI_PAUSE_BUDGET = 2 /* the server's buffer budget */
};

/* The TLS state of a served connection. mu is held around every step on
 * ssl: the poller reads, flushers write. hs_done and peer are the
 * poller's until the handshake is over, then read-only (calls read peer).
 * rwant: a read waits for the socket to be writable (the poller sets it,
 * conn_interest reads it under wmu). */
typedef struct rpci_conn_tls {
	SSL *ssl;
	pthread_mutex_t mu;
	bool hs_done;
	atomic_bool rwant;
	rpci_tls_peer_info peer;
} rpci_conn_tls;

struct rpci_conn {
	rpc_server *srv;
	rpci_loop *loop;
	int fd;
	const rpc_codec *codec;
	void *cstate;
	const rpci_http_paths *http;

	/* Read side: only the poller of loop touches these (read_closed and
	 * backlog are written under wmu too, which flushers read). */
	uint8_t mode;
	bool read_closed;
	bool backlog;        /* in holds whole requests not yet admitted */
	bool on_resume;      /* on loop->resume, under loop->mu */
	bool logged;         /* a pause was logged for it (under wmu) */
	bool rt_idle;        /* rt is in loop->itimers, not loop->rtimers */
	bool fresh;          /* no request read yet (conn.c: conn_mismatch) */
	atomic_bool evicted; /* closed to free the server's budget */
	bool done;           /* finished; under srv->mu */
	uint8_t *in;         /* NULL, or bytes not yet admitted as requests */
	size_t in_len, in_cap;
	rpci_timer rt;    /* frame or idle deadline (loop's poller) */
	rpci_conn *rnext; /* loop->resume */

	/* Write side. wmu protects out, wbuf, wbuf_off, flushing, wdead,
	 * polled, ev, out_acct and serialises the codec's write. */
	pthread_mutex_t wmu;
	rpci_buf out;  /* encoded replies waiting to be written */
	rpci_buf wbuf; /* the buffer being written, from wbuf_off */
	size_t wbuf_off;
	size_t out_acct; /* out.cap + wbuf.cap as counted in held */
	bool flushing;   /* a thread is writing; it also writes what is added */
	bool wdead;      /* a write failed or timed out: replies are dropped */
	bool polled;     /* in the epoll set; holds one count of active */
	uint32_t ev;     /* the epoll interest set */
	rpci_timer wt;   /* write deadline, in loop->wtimers under loop->tmu */
	rpci_req *parked; /* admitted requests waiting for the output to
	                     drain, in order */

	atomic_uint pause;    /* RPCI_PAUSE_* bits: reading stopped */
	atomic_uint inflight; /* requests admitted, reply not yet sent */
	atomic_size_t unsent; /* reply bytes not yet written */
	atomic_size_t held;   /* bytes counted in srv->buffered */
	size_t evict_bytes;   /* its share of srv->evicting, under srv->mu */

	/* Lifetime. active counts the epoll registration (polled: until the
	 * reader is gone and nothing is left to write) and the calls in
	 * flight; at 0 the connection is finished: fd closed, taken off the
	 * server's list, done set. Only the loop's poller drops polled's
	 * count, so a connection with an event in its hands stays alive.
	 * refs counts holders of the memory: 1 while active, plus
	 * rpc_server_serve_conn's waiter. */
	atomic_uint active;
	atomic_uint refs;
	rpci_conn *prev, *next; /* srv->conns, under srv->mu */

	/* TLS (tls.c); NULL on a plain connection, so that one costs a
	 * pointer. */
	rpci_conn_tls *tls;
};

struct rpci_loop {
	rpc_server *srv;
	int epfd;
	int evfd;           /* wakes the poller: shutdown */
	pthread_mutex_t mu; /* protects everything below */
	pthread_cond_t cv;  /* followers wait here for the poller role */
	bool poller_taken;
	bool in_handler; /* the role holder is running a call */
	bool stop;
	uint64_t gen;          /* bumped when the monitor takes the role away */
	uint64_t calls;        /* calls started by role holders */
	uint64_t seen;         /* the monitor's last look at calls */
	unsigned idle;         /* followers waiting on cv */
	rpci_req *head, *tail; /* decoded requests waiting to run */
	rpci_conn *resume;     /* connections whose backlog is to be read */
	unsigned budget_paused; /* connections paused for the budget */
	uint8_t *scratch;       /* the role holder's read buffer */
	bool may_spin;          /* more than one CPU to run on */
	bool spin; /* poll before sleeping (role holder only; loop.c) */
	unsigned spin_skip;  /* short waits left not to spin (same) */
	unsigned spin_fails; /* vain spins in a row (same) */

	/* Deadlines. The poller owns rtimers (frame) and itimers (idle);
	 * tmu protects wtimers (write), which flushers on any thread use. */
	rpci_tlist rtimers, itimers;
	pthread_mutex_t tmu;
	rpci_tlist wtimers;
	atomic_bool has_wtimers;
};

struct rpc_server {
	rpci_registry reg;
	const rpc_codec *codec;
	size_t max_frame;
	void (*log)(void *ud, const char *line);
	void *log_ud;
	bool (*authorize)(void *ud, const char *service_method,
	                  const rpc_peer *peer);
	void *authorize_ud;

	/* Limits (rpc_server_options with the defaults filled in). */
	int write_timeout_ms, frame_timeout_ms, idle_timeout_ms;
	int keepalive_s; /* 0: off */
	size_t max_conn_out, max_buffered;
	unsigned max_conn_inflight;
	atomic_size_t buffered; /* bytes held by all connections */

	unsigned n_loops;
	rpci_loop *loops;
	atomic_uint next_loop;
	atomic_bool closing;

	pthread_mutex_t mu; /* protects the fields below */
	pthread_cond_t cv;  /* any change of them; CLOCK_MONOTONIC */
	rpci_conn *conns;
	size_t n_conns;
	unsigned n_waiters;   /* rpc_server_serve_conn callers */
	unsigned n_accepting; /* rpc_server_accept callers */
	struct rpci_accepting *accepting;
	struct rpci_thread *threads; /* live, and exited but not joined */
	size_t n_threads, cap_threads;
	unsigned n_live, max_threads;
	rpci_http_paths *http;
	size_t evicting; /* bytes held by connections closed for the budget
	                    that their pollers have not freed yet */

	/* The monitor thread. mon_mu protects mon_stop; mon_idle is read
	 * without it by pollers. */
	pthread_t monitor;
	pthread_mutex_t mon_mu;
	pthread_cond_t mon_cv;
	bool mon_stop;
	atomic_bool mon_idle;

	/* rpc_server_start's accepting threads (under mu) and stop_fd, the
	 * eventfd rpc_server_stop_async writes and rpc_server_wait polls
	 * (also written by rpc_server_shutdown and by a started accept
	 * that fails for good). */
	struct rpci_started *started;
	int stop_fd;

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

/* rpci_now_ms/_ns: internal.h */

/* request.c-like helpers, in conn.c */
rpci_req *rpci_req_prepare(rpc_server *srv, const rpc_codec *codec,
                           void *cstate, rpci_msg *msg);
/* rpci_req_call runs req's handler, then frees req's args (the handler
 * only borrowed them), before the reply is encoded. */
void rpci_req_call(rpci_req *req);
void rpci_req_encode(rpci_req *req, const rpc_codec *codec, void *cstate,
                     rpci_buf *out);
void rpci_req_free(rpci_req *req);

/* conn.c */
/* rpci_conn_start serves fd (owned from here on); tls (borrowed; NULL:
 * plain) makes the connection speak TLS as its server. */
rpc_error *rpci_conn_start(rpc_server *srv, int fd, const rpc_codec *codec,
                           const rpci_http_paths *http, bool wait,
                           rpc_tls *tls);
/* rpci_conn_event handles epoll events on c (poller only): writes what
 * waits when writable; reads once (into scratch, the poller's buffer,
 * unless bytes wait in c->in) and appends the requests it admits to *tail.
 * c may be finished and freed when this returns. */
void rpci_conn_event(rpci_conn *c, uint32_t events, uint8_t *scratch,
                     size_t scratch_cap, rpci_req ***tail);
/* rpci_conn_resume admits the requests waiting in c->in after a pause
 * (poller only; c is taken off loop->resume by the caller). */
void rpci_conn_resume(rpci_conn *c, rpci_req ***tail);
/* rpci_conn_read_close stops reading c (poller only). */
void rpci_conn_read_close(rpci_conn *c);
void rpci_conn_reply(rpci_conn *c, rpci_req *req);
/* rpci_conn_write queues p[0..n) on c's output (copied) and flushes it
 * without waiting (http.c's responses). Poller only. */
void rpci_conn_write(rpci_conn *c, const void *p, size_t n);
/* rpci_conn_park keeps req on c, not run, while c's unsent replies are
 * over max_conn_out (false: run it now); the poller queues it again once
 * they drain. Any thread, no loop mutex held. */
bool rpci_conn_park(rpci_conn *c, rpci_req *req);
/* rpci_conn_flush writes what c's queue holds without waiting; what the
 * socket does not take waits for EPOLLOUT. Any thread. */
void rpci_conn_flush(rpci_conn *c);
/* rpci_conn_req_done ends one admitted request of c (after its reply was
 * queued): it may resume reading, and drops the request's active count. */
void rpci_conn_req_done(rpci_conn *c);
void rpci_conn_call_done(rpci_conn *c);
/* rpci_conn_timers expires lp's deadlines (poller only) and returns the
 * milliseconds until the next one, -1 for none. */
int rpci_conn_timers(rpci_loop *lp, int64_t now_ms);
/* rpci_conn_budget_resume resumes lp's connections paused for the budget
 * once the server is back under it (poller only). */
void rpci_conn_budget_resume(rpci_loop *lp);
/* rpci_conn_cut closes c now, dropping its unsent replies (any thread,
 * under srv->mu). */
void rpci_conn_cut(rpci_conn *c);
/* rpci_write_all writes p[0..n) to fd, waiting while it would block;
 * false on error. Only for a caller's own blocking socket (the HTTP
 * client's handshake, rpc_server_serve_request), never a served
 * connection. */
bool rpci_write_all(int fd, const uint8_t *p, size_t n);

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

/* debug.c: the debug page (caller frees with rpci_big_free: an rpci_buf's
 * data), or NULL on out of memory. */
char *rpci_debug_page(rpc_server *srv, size_t *len);
/* debug.c: the same as JSON, for rpc-call --list (likewise). */
char *rpci_debug_page_json(rpc_server *srv, size_t *len);

#endif
