/* resolve.c - turning a balanced address into endpoints.
 *
 * "list:H:P,H:P" is parsed once and resolves to itself (a name in it is
 * looked up when it is dialed). "dns:NAME:PORT" asks for every A and AAAA
 * address of NAME; "srv:NAME" asks for NAME's SRV records and then for the
 * addresses of each target. DNS goes through a c-ares channel owned by the
 * resolver and driven by whoever polls it (the balancer's thread): nothing
 * here blocks or makes a thread. What stays true: one resolution runs at a
 * time; it ends (rpci_resolver_done) exactly once, after every query it
 * started has called back; its endpoints are deduplicated by address and
 * its TTL is the smallest of the records it used.
 */
#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "balancer.h"
#include "internal.h"

#define RESOLVE_TRIES 2
#define RESOLVE_T_SRV 33
#define RESOLVE_C_IN  1

enum { RESOLVE_LIST, RESOLVE_DNS, RESOLVE_SRV };

struct rpci_resolver {
	int kind;
	char *name;               /* DNS: the name asked for */
	uint16_t port;            /* RESOLVE_DNS */
	rpci_endpoint_addr *list; /* RESOLVE_LIST: the parsed list */
	size_t n_list;
	ares_channel ch; /* RESOLVE_DNS, RESOLVE_SRV */

	/* The running resolution. */
	bool running;
	bool finished;
	int outstanding; /* queries not yet called back */
	rpci_endpoint_addr *eps;
	size_t n_eps, cap_eps;
	uint32_t ttl;
	int status;       /* the first c-ares failure, ARES_SUCCESS if none */
	char failed[256]; /* what failed, for the error */
	bool nomem;
};

/* What an address query was for. */
typedef struct resolve_query {
	rpci_resolver *r;
	uint16_t port, priority, weight;
} resolve_query;

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
static int resolve_init_status;

static void resolve_library_init(void)
{
	resolve_init_status = ares_library_init(ARES_LIB_INIT_ALL);
}

bool rpci_balancer_address(const char *address)
{
	return address != NULL && (strncmp(address, "list:", 5) == 0 ||
	                           strncmp(address, "dns:", 4) == 0 ||
	                           strncmp(address, "srv:", 4) == 0);
}

void rpci_endpoints_free(rpci_endpoint_addr *eps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(eps[i].address);
	free(eps);
}

/* resolve_add appends address (taking it) unless already there. */
static void resolve_add(rpci_resolver *r, char *address, uint16_t priority,
                        uint16_t weight)
{
	rpci_endpoint_addr *grown;

	if (address == NULL) {
		r->nomem = true;
		return;
	}
	for (size_t i = 0; i < r->n_eps; i++) {
		if (strcmp(r->eps[i].address, address) == 0) {
			free(address);
			return;
		}
	}
	if (r->n_eps == r->cap_eps) {
		size_t cap = r->cap_eps == 0 ? 8 : r->cap_eps * 2;

		grown = realloc(r->eps, cap * sizeof *grown);
		if (grown == NULL) {
			free(address);
			r->nomem = true;
			return;
		}
		r->eps = grown;
		r->cap_eps = cap;
	}
	r->eps[r->n_eps++] = (rpci_endpoint_addr){
	    .address = address, .priority = priority, .weight = weight};
}

static void resolve_fail(rpci_resolver *r, int status, const char *what)
{
	if (r->status == ARES_SUCCESS) {
		r->status = status;
		snprintf(r->failed, sizeof r->failed, "%s", what);
	}
}

static void resolve_ttl(rpci_resolver *r, int ttl)
{
	if (ttl < 0)
		ttl = 0;
	if ((uint32_t)ttl < r->ttl)
		r->ttl = (uint32_t)ttl;
}

/* resolve_query_done notes that one query called back. */
static void resolve_query_done(rpci_resolver *r)
{
	if (--r->outstanding == 0)
		r->finished = true;
}

static void resolve_addr_cb(void *arg, int status, int timeouts,
                            struct ares_addrinfo *res)
{
	resolve_query *q = arg;
	rpci_resolver *r = q->r;
	char host[INET6_ADDRSTRLEN], *a;

	(void)timeouts;
	if (status != ARES_SUCCESS) {
		resolve_fail(r, status, r->name);
	} else {
		for (struct ares_addrinfo_node *n = res->nodes; n != NULL;
		     n = n->ai_next) {
			a = NULL;
			if (n->ai_family == AF_INET) {
				const struct sockaddr_in *in =
				    (const struct sockaddr_in *)n->ai_addr;

				inet_ntop(AF_INET, &in->sin_addr, host,
				          sizeof host);
				if (asprintf(&a, "tcp:%s:%u", host, q->port) <
				    0)
					a = NULL;
			} else if (n->ai_family == AF_INET6) {
				const struct sockaddr_in6 *in6 =
				    (const struct sockaddr_in6 *)n->ai_addr;

				inet_ntop(AF_INET6, &in6->sin6_addr, host,
				          sizeof host);
				if (asprintf(&a, "tcp:[%s]:%u", host, q->port) <
				    0)
					a = NULL;
			} else {
				continue;
			}
			resolve_ttl(r, n->ai_ttl);
			resolve_add(r, a, q->priority, q->weight);
		}
	}
	if (res != NULL)
		ares_freeaddrinfo(res);
	free(q);
	resolve_query_done(r);
}

/* resolve_lookup asks for every address of host; the endpoints get port,
 * priority and weight. */
static void resolve_lookup(rpci_resolver *r, const char *host, uint16_t port,
                           uint16_t priority, uint16_t weight)
{
	struct ares_addrinfo_hints hints = {
	    .ai_flags = ARES_AI_NOSORT,
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	};
	resolve_query *q = malloc(sizeof *q);

	if (q == NULL) {
		r->nomem = true;
		return;
	}
	*q = (resolve_query){r, port, priority, weight};
	r->outstanding++;
	ares_getaddrinfo(r->ch, host, NULL, &hints, resolve_addr_cb, q);
}

/* resolve_srv_ttl is the smallest TTL of the SRV answers in abuf (c-ares
 * 1.18 parses SRV records without their TTLs). */
static void resolve_srv_ttl(rpci_resolver *r, const unsigned char *abuf,
                            int alen)
{
	const unsigned char *p = abuf + 12, *end = abuf + alen;
	unsigned qd, an, type, rdlen;
	char *name;
	long enclen;

	if (alen < 12)
		return;
	qd = (unsigned)abuf[4] << 8 | abuf[5];
	an = (unsigned)abuf[6] << 8 | abuf[7];
	for (unsigned i = 0; i < qd + an; i++) {
		if (ares_expand_name(p, abuf, alen, &name, &enclen) !=
		    ARES_SUCCESS)
			return;
		ares_free_string(name);
		p += enclen;
		if (i < qd) {
			p += 4;
			continue;
		}
		if (end - p < 10)
			return;
		type = (unsigned)p[0] << 8 | p[1];
		rdlen = (unsigned)p[8] << 8 | p[9];
		if (type == RESOLVE_T_SRV)
			resolve_ttl(r, (int)((uint32_t)p[4] << 24 |
			                     (uint32_t)p[5] << 16 |
			                     (uint32_t)p[6] << 8 | p[7]) &
			                   0x7fffffff);
		if ((size_t)(end - p) < 10 + (size_t)rdlen)
			return;
		p += 10 + rdlen;
	}
}

static void resolve_srv_cb(void *arg, int status, int timeouts,
                           unsigned char *abuf, int alen)
{
	rpci_resolver *r = arg;
	struct ares_srv_reply *srv = NULL;

	(void)timeouts;
	if (status == ARES_SUCCESS)
		status = ares_parse_srv_reply(abuf, alen, &srv);
	if (status != ARES_SUCCESS) {
		resolve_fail(r, status, r->name);
	} else {
		resolve_srv_ttl(r, abuf, alen);
		for (struct ares_srv_reply *s = srv; s != NULL; s = s->next)
			resolve_lookup(r, s->host, s->port, s->priority,
			               s->weight);
	}
	if (srv != NULL)
		ares_free_data(srv);
	resolve_query_done(r);
}

/* resolve_parse_list splits "H:P,H:P" into r->list. */
static rpc_error *resolve_parse_list(rpci_resolver *r, const char *list,
                                     const char *address)
{
	const char *p = list, *comma;
	char *item;

	while (*p != '\0') {
		comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);

		if (n == 0 || memchr(p, ':', n) == NULL)
			return rpci_error(RPC_ERR_INVALID,
			                  "rpc: bad address: %s", address);
		if (asprintf(&item, "tcp:%.*s", (int)n, p) < 0)
			return rpci_error(RPC_ERR_NOMEM, NULL);
		r->eps = r->list;
		r->n_eps = r->cap_eps = r->n_list;
		resolve_add(r, item, 0, 1);
		r->list = r->eps;
		r->n_list = r->n_eps;
		r->eps = NULL;
		r->n_eps = r->cap_eps = 0;
		if (r->nomem)
			return rpci_error(RPC_ERR_NOMEM, NULL);
		p += n;
		if (*p == ',')
			p++;
	}
	if (r->n_list == 0)
		return rpci_error(RPC_ERR_INVALID, "rpc: bad address: %s",
		                  address);
	return NULL;
}

static rpc_error *resolve_channel(rpci_resolver *r, const char *dns_server,
                                  unsigned timeout_ms)
{
	struct ares_options o = {
	    .timeout = (int)timeout_ms,
	    .tries = RESOLVE_TRIES,
	};
	int st;

	pthread_once(&resolve_once, resolve_library_init);
	if (resolve_init_status != ARES_SUCCESS)
		return rpci_error(RPC_ERR_IO, "rpc: c-ares: %s",
		                  ares_strerror(resolve_init_status));
	st = ares_init_options(&r->ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (st != ARES_SUCCESS)
		return rpci_error(st == ARES_ENOMEM ? RPC_ERR_NOMEM
		                                    : RPC_ERR_IO,
		                  "rpc: c-ares: %s", ares_strerror(st));
	if (dns_server != NULL && (st = ares_set_servers_ports_csv(
	                               r->ch, dns_server)) != ARES_SUCCESS) {
		ares_destroy(r->ch);
		r->ch = NULL;
		return rpci_error(RPC_ERR_INVALID, "rpc: bad dns server %s: %s",
		                  dns_server, ares_strerror(st));
	}
	return NULL;
}

rpc_error *rpci_resolver_new(const char *address, const char *dns_server,
                             unsigned timeout_ms, rpci_resolver **out)
{
	rpci_resolver *r;
	rpc_error *err = NULL;
	const char *rest, *colon;
	unsigned long port;
	char *end;

	*out = NULL;
	if (!rpci_balancer_address(address))
		return rpci_error(RPC_ERR_INVALID, "rpc: bad address: %s",
		                  address != NULL ? address : "(null)");
	r = calloc(1, sizeof *r);
	if (r == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	rest = strchr(address, ':') + 1;
	if (strncmp(address, "list:", 5) == 0) {
		r->kind = RESOLVE_LIST;
		err = resolve_parse_list(r, rest, address);
	} else if (strncmp(address, "dns:", 4) == 0) {
		r->kind = RESOLVE_DNS;
		colon = strrchr(rest, ':');
		if (colon == NULL || colon == rest || colon[1] == '\0' ||
		    (port = strtoul(colon + 1, &end, 10)) > 65535 ||
		    *end != '\0') {
			err = rpci_error(
			    RPC_ERR_INVALID,
			    "rpc: bad address: %s (want dns:NAME:PORT)",
			    address);
		} else {
			r->port = (uint16_t)port;
			r->name = strndup(rest, (size_t)(colon - rest));
			if (r->name == NULL)
				err = rpci_error(RPC_ERR_NOMEM, NULL);
		}
	} else {
		r->kind = RESOLVE_SRV;
		if (*rest == '\0' || strchr(rest, ':') != NULL)
			err = rpci_error(RPC_ERR_INVALID,
			                 "rpc: bad address: %s "
			                 "(want srv:_service._tcp.DOMAIN)",
			                 address);
		else if ((r->name = strdup(rest)) == NULL)
			err = rpci_error(RPC_ERR_NOMEM, NULL);
	}
	if (err == NULL && r->kind != RESOLVE_LIST)
		err = resolve_channel(r, dns_server, timeout_ms);
	if (err != NULL) {
		rpci_resolver_free(r);
		return err;
	}
	*out = r;
	return NULL;
}

void rpci_resolver_free(rpci_resolver *r)
{
	if (r == NULL)
		return;
	if (r->ch != NULL)
		ares_destroy(r->ch); /* calls back what is outstanding */
	rpci_endpoints_free(r->list, r->n_list);
	rpci_endpoints_free(r->eps, r->n_eps);
	free(r->name);
	free(r);
}

bool rpci_resolver_static(const rpci_resolver *r)
{
	return r->kind == RESOLVE_LIST;
}

bool rpci_resolver_busy(const rpci_resolver *r)
{
	return r->running;
}

bool rpci_resolver_start(rpci_resolver *r)
{
	if (r->running)
		return false;
	r->running = true;
	r->finished = false;
	r->status = ARES_SUCCESS;
	r->nomem = false;
	r->ttl = UINT32_MAX;
	r->n_eps = 0;
	if (r->kind == RESOLVE_LIST) {
		for (size_t i = 0; i < r->n_list; i++)
			resolve_add(r, strdup(r->list[i].address), 0, 1);
		r->ttl = 0;
		r->finished = true;
		return true;
	}
	/* Held up by one so callbacks run from inside the calls below
	 * cannot end the resolution early. */
	r->outstanding = 1;
	if (r->kind == RESOLVE_DNS)
		resolve_lookup(r, r->name, r->port, 0, 1);
	else {
		r->outstanding++;
		ares_query(r->ch, r->name, RESOLVE_C_IN, RESOLVE_T_SRV,
		           resolve_srv_cb, r);
	}
	resolve_query_done(r);
	return true;
}

int rpci_resolver_fds(rpci_resolver *r, struct pollfd *fds, int max,
                      int *timeout_ms)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct timeval tv, *tvp;
	unsigned bits;
	int n = 0, ms;

	if (r->ch == NULL || !r->running || r->finished)
		return 0;
	/* c-ares's ARES_GETSOCK_* macros shift a signed 1 into the sign bit */
	bits = (unsigned)ares_getsock(r->ch, socks, ARES_GETSOCK_MAXNUM);
	for (int i = 0; i < ARES_GETSOCK_MAXNUM && n < max; i++) {
		short ev = 0;

		if ((bits >> i) & 1u)
			ev |= POLLIN;
		if ((bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u)
			ev |= POLLOUT;
		if (ev == 0)
			continue;
		fds[n++] = (struct pollfd){.fd = socks[i], .events = ev};
	}
	tvp = ares_timeout(r->ch, NULL, &tv);
	if (tvp != NULL) {
		ms = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
		if (*timeout_ms < 0 || ms < *timeout_ms)
			*timeout_ms = ms;
	}
	return n;
}

void rpci_resolver_process(rpci_resolver *r, const struct pollfd *fds, int n)
{
	if (r->ch == NULL || !r->running || r->finished)
		return;
	for (int i = 0; i < n; i++) {
		short rev = fds[i].revents;

		if (rev == 0)
			continue;
		ares_process_fd(r->ch,
		                (rev & (POLLIN | POLLERR | POLLHUP)) != 0
		                    ? fds[i].fd
		                    : ARES_SOCKET_BAD,
		                (rev & (POLLOUT | POLLERR | POLLHUP)) != 0
		                    ? fds[i].fd
		                    : ARES_SOCKET_BAD);
	}
	/* timeouts */
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

bool rpci_resolver_done(rpci_resolver *r, rpci_endpoint_addr **eps,
                        size_t *n_eps, uint32_t *ttl_s, rpc_error **err)
{
	if (!r->running || !r->finished)
		return false;
	r->running = false;
	*eps = NULL;
	*n_eps = 0;
	*err = NULL;
	*ttl_s = r->ttl == UINT32_MAX ? 0 : r->ttl;
	if (r->nomem) {
		*err = rpci_error(RPC_ERR_NOMEM, NULL);
	} else if (r->n_eps == 0) {
		/* Some records may have resolved while others failed: what
		 * resolved is used; nothing at all is an error. */
		*err = rpci_error(RPC_ERR_UNAVAILABLE, "rpc: resolve %s: %s",
		                  r->failed[0] != '\0' ? r->failed : r->name,
		                  r->status != ARES_SUCCESS
		                      ? ares_strerror(r->status)
		                      : "no addresses");
	}
	if (*err != NULL) {
		rpci_endpoints_free(r->eps, r->n_eps);
	} else {
		*eps = r->eps;
		*n_eps = r->n_eps;
	}
	r->eps = NULL;
	r->n_eps = r->cap_eps = 0;
	return true;
}
