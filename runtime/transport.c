/* transport.c - address strings, dialing and listening.
 *
 * An address is "tcp:HOST:PORT", "unix:PATH" or the tcp shorthand
 * "HOST:PORT"; an IPv6 HOST is written in brackets ("tcp:[::1]:0"). Every
 * socket made here is close-on-exec; tcp sockets get TCP_NODELAY (the RPC
 * traffic is many small request/response frames) and listeners
 * SO_REUSEADDR. A listener reports the address it actually bound, with the
 * kernel's port when port 0 was asked, in the same syntax, so the string can
 * be handed to a client as is.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"
#include "transport.h"

enum { TRANSPORT_TCP, TRANSPORT_UNIX };

/* A parsed address. host and port point into buf (or at "" for an empty
 * host); path points into the caller's string. */
typedef struct transport_addr {
	int kind;
	char buf[512];
	const char *host;
	const char *port;
	const char *path;
} transport_addr;

/* transport_error makes the RPC_ERR_IO error of a failed dial or listen:
 * "rpc: OP ADDRESS: strerror(errnum)", with errnum kept for
 * rpc_error_errno. */
static rpc_error *transport_error(const char *op, const char *address,
                                  int errnum)
{
	char *what = NULL;
	if (asprintf(&what, "rpc: %s %s", op, address) < 0)
		return rpci_error_errno(errnum, op);
	rpc_error *err = rpci_error_errno(errnum, what);
	free(what);
	return err;
}

static rpc_error *transport_parse(const char *address, transport_addr *a)
{
	if (address == NULL)
		return rpci_error(RPC_ERR_INVALID, "rpc: address is NULL");
	memset(a, 0, sizeof(*a));
	if (strncmp(address, "unix:", 5) == 0) {
		a->kind = TRANSPORT_UNIX;
		a->path = address + 5;
		if (a->path[0] == '\0' ||
		    strlen(a->path) >=
		        sizeof(((struct sockaddr_un *)0)->sun_path))
			return rpci_error(RPC_ERR_INVALID,
			                  "rpc: bad unix socket path: %s",
			                  address);
		return NULL;
	}
	a->kind = TRANSPORT_TCP;
	const char *hp = address;
	if (strncmp(hp, "tcp:", 4) == 0)
		hp += 4;
	if (strlen(hp) >= sizeof(a->buf))
		return rpci_error(RPC_ERR_INVALID, "rpc: address too long");
	strcpy(a->buf, hp);
	char *s = a->buf;
	char *colon;
	if (s[0] == '[') {
		char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			goto bad;
		*close = '\0';
		a->host = s + 1;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			goto bad;
		/* an unbracketed IPv6 literal has several colons: refuse it */
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			goto bad;
		a->host = s;
	}
	*colon = '\0';
	a->port = colon + 1;
	if (a->port[0] == '\0' ||
	    strspn(a->port, "0123456789") != strlen(a->port) ||
	    strtoul(a->port, NULL, 10) > 65535)
		goto bad;
	return NULL;
bad:
	return rpci_error(RPC_ERR_INVALID, "rpc: bad address: %s", address);
}

static void transport_tcp_opts(int fd)
{
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static rpc_error *transport_dial_unix(const char *address, const char *path,
                                      int *fd)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return rpci_error_errno(errno, "rpc: socket");
	int r;
	do
		r = connect(s, (struct sockaddr *)&sun, sizeof(sun));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		int e = errno;
		close(s);
		return transport_error("dial", address, e);
	}
	*fd = s;
	return NULL;
}

rpc_error *rpci_transport_dial(const char *address, int *fd)
{
	transport_addr a;
	rpc_error *err = transport_parse(address, &a);
	if (err != NULL)
		return err;
	if (a.kind == TRANSPORT_UNIX)
		return transport_dial_unix(address, a.path, fd);

	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	/* an empty host dials the local system, as Go does */
	const char *host = a.host[0] == '\0' ? "localhost" : a.host;
	int gai = getaddrinfo(host, a.port, &hints, &res);
	if (gai == EAI_NONAME || gai == EAI_ADDRFAMILY || gai == EAI_FAMILY) {
		/* AI_ADDRCONFIG hides loopback-only families; retry without */
		hints.ai_flags = AI_NUMERICSERV;
		gai = getaddrinfo(host, a.port, &hints, &res);
	}
	if (gai != 0)
		return rpci_error(RPC_ERR_IO, "rpc: dial %s: %s", address,
		                  gai_strerror(gai));
	int last = ECONNREFUSED;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		               ai->ai_protocol);
		if (s < 0) {
			last = errno;
			continue;
		}
		int r;
		do
			r = connect(s, ai->ai_addr, ai->ai_addrlen);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			transport_tcp_opts(s);
			freeaddrinfo(res);
			*fd = s;
			return NULL;
		}
		last = errno;
		close(s);
	}
	freeaddrinfo(res);
	return transport_error("dial", address, last);
}

/* transport_format writes the "tcp:HOST:PORT" form of a bound sockaddr. */
static char *transport_format(const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	char out[INET6_ADDRSTRLEN + 16];
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, sizeof(out), "tcp:[%s]:%u", host, port);
	} else {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
		port = ntohs(in4->sin_port);
		snprintf(out, sizeof(out), "tcp:%s:%u", host, port);
	}
	return strdup(out);
}

static rpc_error *transport_listen_unix(const char *address, const char *path,
                                        int *fd, char **bound)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	char *name = malloc(strlen(path) + 6);
	if (name == NULL)
		return rpci_error(RPC_ERR_NOMEM, NULL);
	sprintf(name, "unix:%s", path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		free(name);
		return rpci_error_errno(errno, "rpc: socket");
	}
	if (bind(s, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(s, SOMAXCONN) < 0) {
		int e = errno;
		close(s);
		free(name);
		return transport_error("listen", address, e);
	}
	*fd = s;
	*bound = name;
	return NULL;
}

rpc_error *rpci_transport_listen(const char *address, int *fd, char **bound)
{
	transport_addr a;
	rpc_error *err = transport_parse(address, &a);
	if (err != NULL)
		return err;
	if (a.kind == TRANSPORT_UNIX)
		return transport_listen_unix(address, a.path, fd, bound);

	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	/* an empty host listens on every address (IPv6 first, dual stack) */
	int gai = getaddrinfo(a.host[0] == '\0' ? NULL : a.host, a.port, &hints,
	                      &res);
	if (gai != 0)
		return rpci_error(RPC_ERR_IO, "rpc: listen %s: %s", address,
		                  gai_strerror(gai));
	int last = EADDRNOTAVAIL;
	/* For an empty host, try IPv6 first: "::" with IPV6_V6ONLY off takes
	 * IPv4 too, as Go's ":PORT" does. */
	for (int pass = 0; pass < 2; pass++)
		for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
			bool v6 = ai->ai_family == AF_INET6;
			if (a.host[0] == '\0' ? v6 != (pass == 0) : pass == 1)
				continue;
			int s = socket(ai->ai_family,
			               ai->ai_socktype | SOCK_CLOEXEC,
			               ai->ai_protocol);
			if (s < 0) {
				last = errno;
				continue;
			}
			int one = 1;
			(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one,
			                 sizeof(one));
			if (ai->ai_family == AF_INET6 && a.host[0] == '\0') {
				int zero = 0;
				(void)setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY,
				                 &zero, sizeof(zero));
			}
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			if (bind(s, ai->ai_addr, ai->ai_addrlen) < 0 ||
			    listen(s, SOMAXCONN) < 0 ||
			    getsockname(s, (struct sockaddr *)&ss, &sl) < 0) {
				last = errno;
				close(s);
				continue;
			}
			transport_tcp_opts(
			    s); /* inherited by accepted sockets */
			char *name = transport_format((struct sockaddr *)&ss);
			if (name == NULL) {
				close(s);
				freeaddrinfo(res);
				return rpci_error(RPC_ERR_NOMEM, NULL);
			}
			freeaddrinfo(res);
			*fd = s;
			*bound = name;
			return NULL;
		}
	freeaddrinfo(res);
	return transport_error("listen", address, last);
}
