/* transport.h - addresses, listening and dialing (private to librpc).
 *
 * Addresses are strings: "tcp:HOST:PORT" (HOST a name, an IPv4 address or
 * an IPv6 address in brackets, "tcp:[::1]:0"), "unix:PATH", and "HOST:PORT"
 * as a shorthand for tcp. Port 0 picks a free port.
 */
#ifndef RPCI_TRANSPORT_H
#define RPCI_TRANSPORT_H

#include "rpc.h"

/* rpci_transport_dial connects to address. On success *fd is a connected,
 * blocking, close-on-exec socket (TCP_NODELAY and SO_KEEPALIVE for tcp)
 * the caller owns. The connect takes at most RPC_DEFAULT_DIAL_TIMEOUT_MS. */
rpc_error *rpci_transport_dial(const char *address, int *fd);

/* rpci_transport_dial_opts is rpci_transport_dial with a connect timeout
 * (0: RPC_DEFAULT_DIAL_TIMEOUT_MS, negative: none; running out of it is
 * RPC_ERR_TIMEOUT) and TCP keepalive on or off. */
rpc_error *rpci_transport_dial_opts(const char *address, int timeout_ms,
                                    bool keepalive, int *fd);

/* rpci_transport_listen binds and listens on address. On success *fd is the
 * listening socket (caller owns) and *bound (caller frees) is the address
 * actually bound, with the real port when 0 was asked. */
rpc_error *rpci_transport_listen(const char *address, int *fd, char **bound);

/* rpci_transport_host_port copies the host (without brackets) and port of
 * a tcp (or tls) address into host and port; false for a unix address, a
 * bad one, or one that does not fit. */
bool rpci_transport_host_port(const char *address, char *host, size_t hcap,
                              char *port, size_t pcap);

/* rpci_transport_keepalive turns TCP keepalive on for fd: the first probe
 * after secs idle, then one every secs (the kernel's count). */
void rpci_transport_keepalive(int fd, int secs);

#endif
