/* balancer.h - balanced clients (private to librpc).
 *
 * A balanced client is an rpc_client whose bal field is set: client.c's
 * public entry points hand it to the functions below, which spread calls
 * over ordinary clients, one per endpoint (balancer.c). resolve.c turns a
 * balanced address into endpoints.
 */
#ifndef RPCI_BALANCER_H
#define RPCI_BALANCER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "rpc.h"

typedef struct rpci_balancer rpci_balancer;

/* rpci_balancer_address tells a balanced address ("list:", "dns:",
 * "srv:") from a plain one. */
bool rpci_balancer_address(const char *address);

/* rpci_client_new_balanced makes the rpc_client shell of b (client.c);
 * NULL on out of memory. rpc_client_free frees b with it. */
rpc_client *rpci_client_new_balanced(rpci_balancer *b);

/* rpci_client_balancer returns c's balancer, NULL for a plain client. */
rpci_balancer *rpci_client_balancer(const rpc_client *c);

/* The balanced versions of rpc_client_call, rpc_client_go, rpc_client_close
 * and rpc_client_free (which also frees the shell); same contracts. */
rpc_error *rpci_balancer_call(rpci_balancer *b, const char *service_method,
                              const rpc_method *m, const rpc_call_options *opts,
                              const void *args, void *reply);
rpc_error *rpci_balancer_go(rpci_balancer *b, const char *service_method,
                            const rpc_method *m, const rpc_call_options *opts,
                            const void *args, void *reply, rpc_done *done,
                            rpc_call **call);
rpc_error *rpci_balancer_close(rpci_balancer *b);
void rpci_balancer_free(rpci_balancer *b);

/* ---- resolution (resolve.c) ---------------------------------------------- */

/* One endpoint a resolution found: a dialable "tcp:IP:PORT" address. */
typedef struct rpci_endpoint_addr {
	char *address;     /* malloc'd */
	uint16_t priority; /* SRV priority (lower first); 0 otherwise */
	uint16_t weight;   /* SRV weight; 1 otherwise */
} rpci_endpoint_addr;

typedef struct rpci_resolver rpci_resolver;

/* rpci_resolver_new parses address and prepares to resolve it, asking
 * dns_server (NULL: the system's) with a per-try timeout of timeout_ms. On
 * success *out is freed with rpci_resolver_free. */
rpc_error *rpci_resolver_new(const char *address, const char *dns_server,
                             unsigned timeout_ms, rpci_resolver **out);
void rpci_resolver_free(rpci_resolver *r); /* accepts NULL */

/* rpci_resolver_static is true for "list:" addresses, which are resolved
 * once (by the first rpci_resolver_start) and never again. */
bool rpci_resolver_static(const rpci_resolver *r);

/* rpci_resolver_busy is true while a resolution runs (until
 * rpci_resolver_done has handed it over). */
bool rpci_resolver_busy(const rpci_resolver *r);

/* rpci_resolver_start starts a resolution; false if one is running. */
bool rpci_resolver_start(rpci_resolver *r);

/* rpci_resolver_fds fills at most max pollfds (events set) the running
 * resolution waits on and returns their count; *timeout_ms is lowered to
 * when the resolver wants rpci_resolver_process called at the latest. */
int rpci_resolver_fds(rpci_resolver *r, struct pollfd *fds, int max,
                      int *timeout_ms);

/* rpci_resolver_process handles the descriptors poll reported (fds as
 * filled, with revents) and the resolver's timeouts. */
void rpci_resolver_process(rpci_resolver *r, const struct pollfd *fds, int n);

/* rpci_resolver_done returns true once the running resolution has ended
 * and hands over its result: on success *eps (caller frees with
 * rpci_endpoints_free) holds *n_eps > 0 endpoints and *ttl_s the smallest
 * TTL seen; on failure *err (caller frees) says why. */
bool rpci_resolver_done(rpci_resolver *r, rpci_endpoint_addr **eps,
                        size_t *n_eps, uint32_t *ttl_s, rpc_error **err);

void rpci_endpoints_free(rpci_endpoint_addr *eps, size_t n);

#endif
